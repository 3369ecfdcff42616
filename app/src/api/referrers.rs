//! Referrer server functions.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{
        EmailProgress, Page, Referrer, ReferrerDetail, ReferrerFootprint, ReferrerMerged,
        ReferrerWithStats, WelcomeRun,
    },
};

/// One page of the Referrers tab. (Flat arguments: they travel as a plain query string.)
#[server(prefix = "/rpc", endpoint = "referrers")]
pub async fn list_referrers(
    campaign: Option<String>,
    search: Option<String>,
    after: Option<i64>,
    never_emailed: Option<bool>,
) -> Result<Page<ReferrerWithStats>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::referrers},
    };
    auth::require(Permission::ViewData).await?;
    let filter = crate::types::ReferrerFilter {
        campaign,
        search,
        after,
        never_emailed: never_emailed.unwrap_or(false),
        ..Default::default()
    };
    referrers::list(&auth::state()?, &filter).await
}

/// Adds a referrer (or finds the existing one with that email).
#[server(prefix = "/rpc", endpoint = "referrer_add")]
pub async fn add_referrer(
    campaign: String,
    name: String,
    email: String,
) -> Result<Referrer, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, referrers},
        },
    };
    let admin = auth::require(Permission::ManageReferrers).await?;
    let (added, _) = referrers::create(
        &auth::state()?,
        Some(&Actor::admin(&admin)),
        &campaign,
        &name,
        &email,
        referrers::Welcome::SendEmail,
    )
    .await?;
    crate::api::redirect_back_with(&[("added", &added.id.to_string())]);
    Ok(added)
}

/// A referrer's admin page.
#[server(prefix = "/rpc", endpoint = "referrer")]
pub async fn load_referrer(id: i64) -> Result<ReferrerDetail, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::referrers},
    };
    auth::require(Permission::ViewData).await?;
    referrers::detail(&auth::state()?, id).await
}

/// The referrer page's buttons: `email` is `link_and_code` (send the link-and-code email
/// again) or `sign_in` (send a fresh sign-in link).
#[server(prefix = "/rpc", endpoint = "referrer_email")]
pub async fn send_referrer_email(id: i64, email: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::emails::{self, ManualEmail},
        },
    };
    auth::require(Permission::ManageReferrers).await?;
    let which = match email.as_str() {
        "link_and_code" => ManualEmail::LinkAndCode,
        "sign_in" => ManualEmail::SignIn,
        _ => {
            return Err(AppError::invalid(
                "invalid_email_kind",
                "email",
                "Choose the link-and-code email or a sign-in link.",
            ));
        }
    };
    emails::send_to_referrer(&auth::state()?, id, which).await?;
    crate::api::redirect_back_with(&[("sent", &email)]);
    Ok(())
}

/// "Send the link-and-code email to every referrer of this campaign who has not had one".
/// Returns how many emails were written and where, for [`welcome_progress`].
#[server(prefix = "/rpc", endpoint = "referrers_welcome_all")]
pub async fn send_missing_welcomes(campaign: String) -> Result<WelcomeRun, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails},
    };
    auth::require(Permission::ManageReferrers).await?;
    let run = emails::send_missing_welcomes(&auth::state()?, &campaign).await?;
    crate::api::redirect_back_with(&[
        ("welcomed", &run.written.to_string()),
        ("since", &run.since.to_string()),
        ("until", &run.until.to_string()),
    ]);
    Ok(run)
}

/// How far the emails of one bulk send (see [`send_missing_welcomes`]) have gone out.
#[server(prefix = "/rpc", endpoint = "referrers_welcome_progress")]
pub async fn welcome_progress(
    campaign: String,
    since: i64,
    until: i64,
) -> Result<EmailProgress, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::emails},
    };
    auth::require(Permission::ViewData).await?;
    emails::welcome_progress(&auth::state()?.db, &campaign, since, until).await
}

/// Saves a referrer's name, email and note (the referrer page's "Details" form).
#[server(prefix = "/rpc", endpoint = "referrer_update")]
pub async fn update_referrer(
    id: i64,
    name: String,
    email: String,
    note: String,
) -> Result<Referrer, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{
                audit::Actor,
                referrer_changes::{self, ReferrerEdit},
            },
        },
    };
    let admin = auth::require(Permission::ManageReferrers).await?;
    let saved = referrer_changes::update(
        &auth::state()?,
        &Actor::admin(&admin),
        id,
        ReferrerEdit {
            name: Some(&name),
            email: Some(&email),
            note: Some(&note),
        },
    )
    .await?;
    crate::api::redirect_back_with(&[("saved", "details")]);
    Ok(saved)
}

/// Deactivates (`active=false`) or reactivates a referrer.
#[server(prefix = "/rpc", endpoint = "referrer_active")]
pub async fn set_referrer_active(id: i64, active: bool) -> Result<Referrer, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, referrer_changes},
        },
    };
    let admin = auth::require(Permission::ManageReferrers).await?;
    let saved =
        referrer_changes::set_active(&auth::state()?, &Actor::admin(&admin), id, active).await?;
    crate::api::redirect_back_with(&[(
        "saved",
        if active { "reactivated" } else { "deactivated" },
    )]);
    Ok(saved)
}

/// Gives a referrer a new code; the old one keeps working for `grace_days`.
#[server(prefix = "/rpc", endpoint = "referrer_replace_code")]
pub async fn replace_referrer_code(id: i64, grace_days: String) -> Result<Referrer, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, referrer_changes},
        },
    };
    let admin = auth::require(Permission::ManageReferrers).await?;
    let grace_days = referrer_changes::parse_grace_days(&grace_days)?;
    let saved =
        referrer_changes::replace_code(&auth::state()?, &Actor::admin(&admin), id, grace_days)
            .await?;
    crate::api::redirect_back_with(&[("saved", "code")]);
    Ok(saved)
}

/// What goes with a referrer if they are deleted (owners only).
#[server(prefix = "/rpc", endpoint = "referrer_footprint")]
pub async fn load_referrer_footprint(id: i64) -> Result<ReferrerFootprint, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::referrer_removal},
    };
    auth::require(Permission::DeleteReferrers).await?;
    let state = auth::state()?;
    // Read only to say the referrer exists; the counts follow.
    crate::ssr::services::referrers::get(&state, id).await?;
    referrer_removal::footprint(&state.db, id).await
}

/// Merges another record of the same person (found by its email, code or number) into this
/// one. `confirm` is the form's checkbox: the other record is gone afterwards.
#[server(prefix = "/rpc", endpoint = "referrer_merge")]
pub async fn merge_referrer(
    id: i64,
    other: String,
    confirm: Option<String>,
) -> Result<ReferrerMerged, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, referrer_removal},
        },
    };
    let admin = auth::require(Permission::ManageReferrers).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirmation_required",
            "confirm",
            "Tick the box to confirm: the other record is merged into this one and removed.",
        ));
    }
    let merged =
        referrer_removal::merge(&auth::state()?, &Actor::admin(&admin), id, &other).await?;
    crate::api::redirect_back_with(&[("saved", "merged")]);
    Ok(merged)
}

/// Deletes a referrer (owners only); `confirm_email` must be their email. Goes on to the
/// Referrers tab, which says who was deleted.
#[server(prefix = "/rpc", endpoint = "referrer_delete")]
pub async fn delete_referrer(id: i64, confirm_email: String) -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, referrer_removal},
        },
    };
    let admin = auth::require(Permission::DeleteReferrers).await?;
    let name = referrer_removal::delete(&auth::state()?, &Actor::admin(&admin), id, &confirm_email)
        .await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("deleted", &name)
        .finish();
    leptos_axum::redirect(&format!("/admin/referrers?{query}"));
    Ok(name)
}

/// Where the bulk-add form posts: an axum route of the `server` crate (a file upload).
pub const REFERRER_IMPORT_ACTION: &str = "/admin/referrers/import";

/// Session key holding what the last bulk add of referrers came to, until the Referrers tab has
/// shown it once.
pub const REFERRER_IMPORT_KEY: &str = "referrer_import";

/// What the last bulk add (or its preview) came to, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "referrer_import_take")]
pub async fn take_referrer_import() -> Result<Option<crate::types::ReferrerImport>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ManageReferrers).await?;
    auth::session()
        .await?
        .remove::<crate::types::ReferrerImport>(REFERRER_IMPORT_KEY)
        .await
        .map_err(|e| AppError::internal("take_referrer_import session", e))
}
