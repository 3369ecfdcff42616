//! What a campaign's portal says, who may frame it and who its emails come from: the admin's
//! "Portal" form.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use crate::{
    error::AppError,
    ssr::{
        entities::campaign,
        services::{
            campaigns::{self, http_url},
            emails::sender,
        },
        state::AppState,
    },
    types::{PortalBranding, PortalSettingsInput},
};

/// At most this many origins may frame a portal.
const MAX_FRAME_ANCESTORS: usize = 10;

fn text(field: &str, value: &str, max: usize) -> Result<Option<String>, AppError> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(AppError::invalid(
            "too_long",
            field,
            format!("Keep it under {max} characters."),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

/// Reads the origins that may frame the portal: each an `https://host[:port]` (or http for a
/// local test site) with nothing after the host. Returns them joined by spaces.
pub fn parse_frame_ancestors(value: &str) -> Result<Option<String>, AppError> {
    let mut origins = Vec::new();
    for entry in value
        .split([' ', ',', '\n', '\r', '\t'])
        .filter(|e| !e.is_empty())
    {
        let bad = || {
            AppError::invalid(
                "invalid_origin",
                "frame_ancestors",
                format!(
                    "\"{entry}\" is not a site address like https://shop.example.com (scheme and host, nothing after)."
                ),
            )
        };
        let url = url::Url::parse(entry).map_err(|_| bad())?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !bare
            || !url.username().is_empty()
        {
            return Err(bad());
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > MAX_FRAME_ANCESTORS {
        return Err(AppError::invalid(
            "too_many_origins",
            "frame_ancestors",
            format!("List at most {MAX_FRAME_ANCESTORS} sites."),
        ));
    }
    Ok((!origins.is_empty()).then(|| origins.join(" ")))
}

/// The `Content-Security-Policy` of the campaign's portal pages: no framing, unless the
/// campaign lists the sites that may.
pub fn frame_policy(row: &campaign::Model) -> String {
    match framing_origins(row) {
        Some(origins) => format!("frame-ancestors {origins}"),
        None => "frame-ancestors 'none'".to_owned(),
    }
}

/// The business's own sites that may frame the campaign's portal, if any.
fn framing_origins(row: &campaign::Model) -> Option<&str> {
    row.frame_ancestors.as_deref().filter(|f| !f.is_empty())
}

/// Whether some site may frame the campaign's portal (its session cookie must then reach a
/// frame: see `portal::session_cookie`).
pub fn is_framable(row: &campaign::Model) -> bool {
    framing_origins(row).is_some()
}

/// The campaign's portal settings as the admin's form shows them.
pub fn current(row: &campaign::Model) -> PortalSettingsInput {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    PortalSettingsInput {
        headline: v(&row.portal_headline),
        intro: v(&row.portal_intro),
        reward_text: v(&row.reward_text),
        terms_url: v(&row.terms_url),
        footer: v(&row.portal_footer),
        signup_open: row.signup_open.then(|| "on".to_owned()),
        frame_ancestors: v(&row.frame_ancestors),
        email_sender_name: v(&row.email_sender_name),
        email_reply_to: v(&row.email_reply_to),
    }
}

/// The portal settings of campaign `slug`.
pub async fn get(state: &AppState, slug: &str) -> Result<PortalSettingsInput, AppError> {
    campaigns::find_row(&state.db, slug)
        .await
        .map(|r| current(&r))
}

/// Saves the portal settings of campaign `slug`; nothing changes when one field is bad.
pub async fn update(
    state: &AppState,
    actor: &crate::ssr::services::audit::Actor,
    slug: &str,
    input: &PortalSettingsInput,
) -> Result<PortalBranding, AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    let headline = text("headline", &input.headline, 120)?;
    let intro = text("intro", &input.intro, 1000)?;
    let reward_text = text("reward_text", &input.reward_text, 500)?;
    let footer = text("footer", &input.footer, 500)?;
    let terms_url = match input.terms_url.trim() {
        "" => None,
        v => Some(http_url("terms_url", v)?),
    };
    let frame_ancestors = parse_frame_ancestors(&input.frame_ancestors)?;
    let sender_name = text("email_sender_name", &input.email_sender_name, 100)?;
    if sender_name
        .as_deref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(AppError::invalid(
            "invalid_sender_name",
            "email_sender_name",
            "Write the name on one line.",
        ));
    }
    let reply_to = sender::parse_address("email_reply_to", &input.email_reply_to)?;
    let mut active: campaign::ActiveModel = row.into();
    active.portal_headline = Set(headline);
    active.portal_intro = Set(intro);
    active.reward_text = Set(reward_text);
    active.portal_footer = Set(footer);
    active.terms_url = Set(terms_url);
    active.signup_open = Set(input.signup_open.is_some());
    active.frame_ancestors = Set(frame_ancestors);
    active.email_sender_name = Set(sender_name);
    active.email_reply_to = Set(reply_to);
    active.updated_at = Set(Utc::now());
    use crate::ssr::services::audit::{self, Change, Object};
    let err = |e| AppError::internal("portal::settings::update", e);
    let txn = crate::ssr::db::begin_write(&state.db).await.map_err(err)?;
    let model = active.update(&txn).await.map_err(err)?;
    audit::record(
        &txn,
        actor,
        Change {
            action: "campaign.portal_changed",
            campaign_id: Some(model.id),
            object: Object::Campaign(model.id),
            summary: format!(
                "Changed the portal of {} (sign-up {}).",
                model.name,
                if model.signup_open { "open" } else { "closed" }
            ),
        },
    )
    .await?;
    txn.commit().await.map_err(err)?;
    Ok(super::branding(&model, &state.settings.public_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_are_bare_origins() {
        assert_eq!(
            parse_frame_ancestors(
                "https://shop.example.com  https://app.example.com:8443,https://shop.example.com"
            )
            .unwrap(),
            Some("https://shop.example.com https://app.example.com:8443".to_owned())
        );
        assert_eq!(parse_frame_ancestors("  ").unwrap(), None);
        for bad in [
            "shop.example.com",
            "https://shop.example.com/path",
            "javascript:alert(1)",
            "https://a.example.com;script-src *",
            "https://u@h.example.com",
        ] {
            assert!(parse_frame_ancestors(bad).is_err(), "{bad}");
        }
    }
}
