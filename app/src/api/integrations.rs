//! Integration server functions: inbound webhook sources (Zapier, Make, n8n, HubSpot,
//! Salesforce, custom JSON), Stripe, and outbound webhook endpoints.
//!
//! Secrets (a source's URL token and signing secret, an endpoint's signing secret) are shown
//! once: the create functions return them, and also park them in the session so that a form
//! posted without JavaScript (answered by a redirect) can show them once, as `keys.rs` does.
//!
//! A file of promotion-code mappings arrives by a plain form post to
//! `POST /admin/integrations/promotion-codes/import` (an axum route of the `server` crate, like
//! the conversion uploads), which parks what came of it in the session for
//! [`take_promotion_code_import`].

// Server function arguments are flat (one per form field), and an `allow` on a `#[server]`
// function does not reach the client function it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    types::{ConversionResult, InboundDelivery, InboundSource, PromotionCodeImportReport},
};

/// Where the promotion-code file form posts: an axum route of the `server` crate.
pub const PROMOTION_CODE_IMPORT_ACTION: &str = "/admin/integrations/promotion-codes/import";

/// Session key holding what the last promotion-code file import came to, until the
/// integrations page has shown it once.
pub const PROMOTION_CODE_IMPORT_KEY: &str = "promotion_code_import";

/// Promotion-code mappings listed on the integrations page (the newest, or those found).
pub const PROMOTION_CODES_SHOWN: u64 = 100;

/// Refused rows listed in a mapping import's report (the REST API's answer); the rest are counted.
pub const MAX_REPORTED_MAPPING_ERRORS: usize = 10_000;

/// Refused rows of a promotion-code file kept for the page (the session); the REST API answers
/// up to [`MAX_REPORTED_MAPPING_ERRORS`].
pub const SHOWN_MAPPING_ERRORS: usize = 200;

/// Session key holding a just-created inbound source until the page has shown it once.
#[cfg(feature = "ssr")]
const NEW_SOURCE: &str = "new_inbound_source";
/// Session key holding a just-created endpoint until the page has shown it once.
#[cfg(feature = "ssr")]
const NEW_ENDPOINT: &str = "new_webhook_endpoint";

/// The presets offered when creating a source, with their names for people. The service's
/// `inbound::PRESETS` is the authority (a test keeps the two equal).
pub const PRESET_CHOICES: [(&str, &str); 7] = [
    ("zapier", "Zapier"),
    ("make", "Make"),
    ("n8n", "n8n"),
    ("hubspot", "HubSpot deal workflow"),
    ("hubspot_contact", "HubSpot contact workflow"),
    ("salesforce", "Salesforce flow"),
    ("custom", "Custom JSON"),
];

/// The event types an outbound endpoint can receive, with what each one means. The outbox's
/// `EVENT_TYPES` is the authority (a test keeps the two equal).
pub const EVENT_CHOICES: [(&str, &str); 7] = [
    ("referrer.created", "a referrer joined"),
    ("lead.created", "a friend signed up"),
    ("lead.qualified", "a lead qualified"),
    ("reward.created", "a reward was earned"),
    ("reward.due", "a reward became due"),
    ("reward.issued", "a reward was issued"),
    ("reward.cancelled", "a reward was cancelled"),
];

/// The Stripe events Handoff handles, to select in Stripe's dashboard.
pub const STRIPE_EVENTS: [&str; 3] = [
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
];

/// The form field of an event type's checkbox (server function arguments are flat):
/// `lead.qualified` -> `lead_qualified`.
pub fn event_field(event_type: &str) -> String {
    event_type.replace('.', "_")
}

/// A source just created, with what is shown only now: its URL (holding its token) and its
/// signing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSource {
    /// Database id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The full URL to paste into Zapier, Make, n8n, HubSpot or Salesforce.
    pub url: String,
    /// The Standard Webhooks signing secret, when a signature is required.
    pub secret: Option<String>,
}

/// An outbound endpoint just created, with its signing secret (shown only now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEndpoint {
    /// Database id.
    pub id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// The Standard Webhooks signing secret.
    pub secret: String,
}

/// An outbound endpoint as listed (never its secret).
pub type EndpointRow = crate::types::Endpoint;

/// One delivery of an event to an outbound endpoint.
pub type DeliveryRow = crate::types::DeliveryLine;

/// A Stripe promotion code mapped to a referrer, with the referrer's name, email and code.
pub type PromotionCodeRow = crate::types::PromotionCodeMapping;

/// What the last file of promotion-code mappings posted in this session came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionCodeImport {
    /// The file's name as uploaded (empty when no file came).
    pub filename: String,
    /// The campaign chosen.
    pub campaign: String,
    /// What the import did, or why the file was refused as a whole.
    pub result: Result<PromotionCodeImportReport, AppError>,
}

impl PromotionCodeImport {
    /// The outcome as the page keeps it: at most [`SHOWN_MAPPING_ERRORS`] refused rows listed
    /// (the rest counted), so the session stays small.
    pub fn for_page(
        filename: String,
        campaign: String,
        result: Result<PromotionCodeImportReport, AppError>,
    ) -> Self {
        let result = result.map(|mut report| {
            if report.errors.len() > SHOWN_MAPPING_ERRORS {
                report.errors.truncate(SHOWN_MAPPING_ERRORS);
                report.errors_truncated = true;
            }
            report
        });
        PromotionCodeImport {
            filename,
            campaign,
            result,
        }
    }

    /// What the import did, in a sentence (`None` when the file was refused as a whole).
    pub fn summary(&self) -> Option<String> {
        let report = self.result.as_ref().ok()?;
        let rows = |n: u64| {
            if n == 1 {
                "1 row".to_owned()
            } else {
                format!("{n} rows")
            }
        };
        let mut parts = vec![format!("{} new", report.added)];
        if report.completed > 0 {
            parts.push(format!(
                "{} completed with the id or code they lacked",
                report.completed
            ));
        }
        parts.push(format!("{} already mapped", report.unchanged));
        parts.push(format!("{} refused", report.refused));
        let file = if self.filename.is_empty() {
            "the file"
        } else {
            &self.filename
        };
        Some(if report.dry_run {
            format!(
                "Preview of {file} ({}): {}. Nothing was written; import the file to map them.",
                rows(report.rows),
                parts.join(", "),
            )
        } else {
            format!(
                "Imported {file} ({}): {}.",
                rows(report.rows),
                parts.join(", ")
            )
        })
    }
}

/// How Stripe is set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeSettings {
    /// The endpoint URL to paste into Stripe.
    pub endpoint_url: String,
    /// The end of the stored signing secret (`…abcd`), when one is stored.
    pub secret_hint: Option<String>,
    /// True when `HANDOFF_STRIPE_WEBHOOK_SECRET` is set: it wins over the stored secret.
    pub secret_from_env: bool,
    /// The campaign Stripe events count for.
    pub campaign: Option<String>,
    /// Promotion codes mapped to referrers: the newest (or those the search found), at most
    /// [`PROMOTION_CODES_SHOWN`].
    pub promotion_codes: Vec<PromotionCodeRow>,
    /// How many mappings there are (or match the search) in all.
    pub promotion_codes_total: u64,
    /// The Stripe campaign's newest referrers (up to 50), to pick from when mapping a code:
    /// id and "name (email)".
    pub referrers: Vec<(i64, String)>,
}

/// Everything the integrations page lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationsOverview {
    /// The base of every source's URL: `{public_url}/webhooks/in/`.
    pub inbound_base: String,
    /// Inbound sources, newest first.
    pub sources: Vec<InboundSource>,
    /// Stripe.
    pub stripe: StripeSettings,
    /// Outbound endpoints.
    pub endpoints: Vec<EndpointRow>,
}

/// One inbound source and its delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDetail {
    /// The source.
    pub source: InboundSource,
    /// The base of its URL: `{public_url}/webhooks/in/` (the token itself is never shown again).
    pub inbound_base: String,
    /// The last 100 deliveries, newest first.
    pub deliveries: Vec<InboundDelivery>,
}

/// One outbound endpoint and its delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDetail {
    /// The endpoint.
    pub endpoint: EndpointRow,
    /// The last 100 deliveries, newest first.
    pub deliveries: Vec<DeliveryRow>,
}

/// What replaying an inbound delivery gave, in a sentence (`None`: ignored by design).
pub fn replay_message(result: &Option<Result<ConversionResult, AppError>>) -> String {
    match result {
        None => "Replayed: Handoff does not count this kind of event, so it was ignored.".into(),
        Some(Ok(r)) if r.duplicate => {
            "Replayed: this event was recorded before, so nothing changed.".into()
        }
        Some(Ok(r)) => format!(
            "Replayed: recorded for {}; outcome {}.",
            r.lead.email,
            r.outcome.replace('_', " ")
        ),
        Some(Err(e)) => format!("Replayed, but not recorded: {e}"),
    }
}

/// `…abcd`: enough of a secret to recognise it, never enough to use it. Short secrets show
/// nothing of themselves.
pub fn secret_hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

/// Checks a Stripe webhook signing secret as pasted: trimmed, `whsec_...`.
pub fn check_stripe_secret(secret: &str) -> Result<String, AppError> {
    let secret = secret.trim();
    if !secret.starts_with("whsec_") || secret.len() < 12 || secret.len() > 255 {
        return Err(AppError::invalid(
            "invalid_stripe_secret",
            "secret",
            "Paste the endpoint's signing secret from Stripe: it starts with whsec_.",
        ));
    }
    Ok(secret.to_owned())
}

/// The referrer a promotion-code form names: the typed id wins over the one picked from the list.
pub fn chosen_referrer(typed: &str, picked: &str) -> Result<i64, AppError> {
    let refuse = || {
        AppError::invalid(
            "invalid_referrer",
            "referrer_id",
            "Pick the referrer, or type their id (a number).",
        )
    };
    match (typed.trim(), picked.trim()) {
        ("", "") => Err(refuse()),
        ("", picked) => picked.parse().map_err(|_| refuse()),
        (typed, _) => typed.parse().map_err(|_| refuse()),
    }
}

/// Overview of every integration. `promotion_code_search` narrows the promotion codes listed to
/// those whose id, code or referrer's email starts with it.
#[server(prefix = "/rpc", endpoint = "integrations")]
pub async fn get_integrations(
    promotion_code_search: Option<String>,
) -> Result<IntegrationsOverview, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{deliveries, inbound, referrers, settings},
        },
    };
    let admin = auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    let sources = inbound::list_sources(&state).await?;
    // An endpoint's URL can be its credential (a Zapier or Slack hook): only those who may
    // change integrations see it whole.
    let whole = admin.role.allows(Permission::ManageIntegrations);
    let endpoints = deliveries::endpoints(&state)
        .await?
        .into_iter()
        .map(|e| if whole { e } else { e.for_viewer() })
        .collect();
    let (promotion_codes, promotion_codes_total) = inbound::promotion_codes(
        &state,
        promotion_code_search.as_deref(),
        PROMOTION_CODES_SHOWN,
    )
    .await?;
    let campaign = settings::get(&state.db, settings::STRIPE_CAMPAIGN).await?;
    let choices = match &campaign {
        Some(slug) => {
            let filter = crate::types::ReferrerFilter {
                campaign: Some(slug.clone()),
                ..Default::default()
            };
            match referrers::list(&state, &filter).await {
                Ok(page) => page
                    .items
                    .into_iter()
                    .map(|r| {
                        let label = format!("{} ({})", r.referrer.name, r.referrer.email);
                        (r.referrer.id, label)
                    })
                    .collect(),
                // The campaign was deleted since it was chosen.
                Err(AppError::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            }
        }
        None => Vec::new(),
    };
    let stripe = StripeSettings {
        endpoint_url: format!("{}/webhooks/stripe", state.settings.public_url),
        secret_hint: settings::get(&state.db, settings::STRIPE_WEBHOOK_SECRET)
            .await?
            .map(|s| secret_hint(&s)),
        secret_from_env: state.settings.stripe_webhook_secret.is_some(),
        campaign,
        promotion_codes,
        promotion_codes_total,
        referrers: choices,
    };
    Ok(IntegrationsOverview {
        inbound_base: inbound_base(&state),
        sources,
        stripe,
        endpoints,
    })
}

#[cfg(feature = "ssr")]
fn inbound_base(state: &crate::ssr::state::AppState) -> String {
    format!("{}/webhooks/in/", state.settings.public_url)
}

/// Creates an inbound source from a preset. Returns its URL and secret: the only time they are
/// shown. `signed` is the "require a signature" checkbox.
#[server(prefix = "/rpc", endpoint = "inbound_source_create")]
pub async fn create_inbound_source(
    campaign: String,
    name: String,
    preset: String,
    signed: Option<String>,
) -> Result<NewSource, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, inbound},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    let created = inbound::create_source(
        &state,
        &Actor::admin(&admin),
        &campaign,
        &name,
        &preset,
        signed.is_some(),
    )
    .await?;
    let new = NewSource {
        id: created.source.id,
        name: created.source.name,
        url: format!("{}{}", inbound_base(&state), created.token),
        secret: created.secret,
    };
    auth::session()
        .await?
        .insert(NEW_SOURCE, new.clone())
        .await
        .map_err(|e| AppError::internal("create_inbound_source session", e))?;
    Ok(new)
}

/// The source created last in this session, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "inbound_source_take_new")]
pub async fn take_new_inbound_source() -> Result<Option<NewSource>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ManageIntegrations).await?;
    auth::session()
        .await?
        .remove::<NewSource>(NEW_SOURCE)
        .await
        .map_err(|e| AppError::internal("take_new_inbound_source session", e))
}

/// Deletes a source and its log; its URL stops working at once.
#[server(prefix = "/rpc", endpoint = "inbound_source_delete")]
pub async fn delete_inbound_source(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, inbound},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    inbound::delete_source(&auth::state()?, &Actor::admin(&admin), id).await?;
    crate::api::redirect_back_with(&[("deleted", "source")]);
    Ok(())
}

/// A source and its delivery log.
#[server(prefix = "/rpc", endpoint = "inbound_source")]
pub async fn get_inbound_source(id: i64) -> Result<SourceDetail, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::inbound},
    };
    auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    Ok(SourceDetail {
        source: inbound::source(&state, id).await?,
        inbound_base: inbound_base(&state),
        deliveries: inbound::deliveries(&state, "source", Some(id)).await?,
    })
}

/// Replaces a source's field mapping (JSON pointers; empty: not sent) and default event.
#[server(prefix = "/rpc", endpoint = "inbound_source_mapping")]
pub async fn save_source_mapping(
    id: i64,
    event_id: String,
    email: String,
    referral_code: String,
    promotion_code: String,
    amount: String,
    amount_unit: String,
    currency: String,
    event: String,
    occurred_at: String,
    default_event: String,
) -> Result<InboundSource, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, inbound},
        },
        types::FieldMapping,
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let t = |s: String| s.trim().to_owned();
    let mapping = FieldMapping {
        event_id: t(event_id),
        email: t(email),
        referral_code: t(referral_code),
        promotion_code: t(promotion_code),
        amount: t(amount),
        amount_unit: t(amount_unit),
        currency: t(currency),
        event: t(event),
        occurred_at: t(occurred_at),
    };
    let source = inbound::set_mapping(
        &auth::state()?,
        &Actor::admin(&admin),
        id,
        &mapping,
        &default_event,
    )
    .await?;
    crate::api::redirect_back_with(&[("saved", "mapping")]);
    Ok(source)
}

/// Runs a logged inbound delivery (a source's or Stripe's) again; says what came of it.
#[server(prefix = "/rpc", endpoint = "inbound_replay")]
pub async fn replay_inbound_delivery(id: i64) -> Result<String, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::inbound},
    };
    auth::require(Permission::ManageIntegrations).await?;
    let received = inbound::replay(&auth::state()?, id).await?;
    crate::api::redirect_back_with(&[("replayed", &id.to_string())]);
    Ok(replay_message(&received.result))
}

/// Stripe's delivery log: the last 100 events, newest first.
#[server(prefix = "/rpc", endpoint = "stripe_deliveries")]
pub async fn stripe_deliveries() -> Result<Vec<InboundDelivery>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::inbound},
    };
    auth::require(Permission::ViewData).await?;
    inbound::deliveries(&auth::state()?, "stripe", None).await
}

/// Stores Stripe's webhook signing secret (never shown back, only its last characters).
#[server(prefix = "/rpc", endpoint = "stripe_secret")]
pub async fn save_stripe_secret(secret: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, settings},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let secret = check_stripe_secret(&secret)?;
    settings::set_stripe_secret(&auth::state()?.db, &Actor::admin(&admin), &secret).await?;
    crate::api::redirect_back_with(&[("saved", "stripe_secret")]);
    Ok(())
}

/// Sets the campaign Stripe events count for (unless an event's metadata names one).
#[server(prefix = "/rpc", endpoint = "stripe_campaign")]
pub async fn save_stripe_campaign(campaign: String) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, campaigns, settings},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let state = auth::state()?;
    let campaign = campaign.trim();
    if !campaign.is_empty() {
        // Refuses a campaign that does not exist.
        campaigns::find_row(&state.db, campaign).await?;
    }
    settings::set_stripe_campaign(&state.db, &Actor::admin(&admin), campaign).await?;
    crate::api::redirect_back_with(&[("saved", "stripe_campaign")]);
    Ok(())
}

/// Maps a Stripe promotion code to a referrer: `referrer_id` typed, or `referrer` picked from
/// the list (the typed id wins).
#[server(prefix = "/rpc", endpoint = "stripe_promotion_code")]
pub async fn map_stripe_promotion_code(
    referrer_id: String,
    referrer: Option<String>,
    promotion_code_id: String,
    code: String,
) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, inbound},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let referrer_id = chosen_referrer(&referrer_id, referrer.as_deref().unwrap_or_default())?;
    inbound::map_promotion_code(
        &auth::state()?,
        &Actor::admin(&admin),
        referrer_id,
        Some(promotion_code_id.as_str()),
        Some(code.as_str()),
    )
    .await?;
    crate::api::redirect_back_with(&[("saved", "promotion_code")]);
    Ok(())
}

/// Deletes a promotion-code mapping: checkouts using the code are no longer credited by it.
#[server(prefix = "/rpc", endpoint = "stripe_promotion_code_delete")]
pub async fn delete_promotion_code(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, inbound},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    inbound::delete_promotion_code(&auth::state()?, &Actor::admin(&admin), id).await?;
    crate::api::redirect_back_with(&[("deleted", "promotion_code")]);
    Ok(())
}

/// What the last promotion-code file posted in this session came to, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "promotion_code_import_take")]
pub async fn take_promotion_code_import() -> Result<Option<PromotionCodeImport>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ManageIntegrations).await?;
    auth::session()
        .await?
        .remove::<PromotionCodeImport>(PROMOTION_CODE_IMPORT_KEY)
        .await
        .map_err(|e| AppError::internal("take_promotion_code_import session", e))
}

/// Creates an outbound endpoint for the ticked events (one checkbox argument per event type,
/// named by [`event_field`]). Returns its signing secret: the only time it is shown.
#[server(prefix = "/rpc", endpoint = "webhook_endpoint_create")]
pub async fn create_webhook_endpoint(
    url: String,
    description: String,
    referrer_created: Option<String>,
    lead_created: Option<String>,
    lead_qualified: Option<String>,
    reward_created: Option<String>,
    reward_due: Option<String>,
    reward_issued: Option<String>,
    reward_cancelled: Option<String>,
) -> Result<NewEndpoint, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, deliveries},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let ticked = [
        referrer_created,
        lead_created,
        lead_qualified,
        reward_created,
        reward_due,
        reward_issued,
        reward_cancelled,
    ];
    let events: Vec<String> = EVENT_CHOICES
        .iter()
        .zip(ticked)
        .filter(|(_, on)| on.is_some())
        .map(|((event, _), _)| (*event).to_owned())
        .collect();
    let (endpoint, secret) = deliveries::create_endpoint(
        &auth::state()?,
        &Actor::admin(&admin),
        &url,
        &description,
        &events,
    )
    .await?;
    let new = NewEndpoint {
        id: endpoint.id,
        url: endpoint.url,
        secret,
    };
    auth::session()
        .await?
        .insert(NEW_ENDPOINT, new.clone())
        .await
        .map_err(|e| AppError::internal("create_webhook_endpoint session", e))?;
    Ok(new)
}

/// The endpoint created last in this session, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "webhook_endpoint_take_new")]
pub async fn take_new_webhook_endpoint() -> Result<Option<NewEndpoint>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ManageIntegrations).await?;
    auth::session()
        .await?
        .remove::<NewEndpoint>(NEW_ENDPOINT)
        .await
        .map_err(|e| AppError::internal("take_new_webhook_endpoint session", e))
}

/// Enables (`enabled` = `true`) or disables an endpoint; enabling clears the failure notice.
#[server(prefix = "/rpc", endpoint = "webhook_endpoint_enable")]
pub async fn set_webhook_endpoint_enabled(
    id: i64,
    enabled: String,
) -> Result<EndpointRow, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, deliveries},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    let on = enabled == "true";
    let endpoint = deliveries::set_enabled(&auth::state()?, &Actor::admin(&admin), id, on).await?;
    crate::api::redirect_back_with(&[("endpoint", if on { "enabled" } else { "disabled" })]);
    Ok(endpoint)
}

/// Deletes an endpoint and its log.
#[server(prefix = "/rpc", endpoint = "webhook_endpoint_delete")]
pub async fn delete_webhook_endpoint(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, deliveries},
        },
    };
    let admin = auth::require(Permission::ManageIntegrations).await?;
    deliveries::delete_endpoint(&auth::state()?, &Actor::admin(&admin), id).await?;
    crate::api::redirect_back_with(&[("deleted", "endpoint")]);
    Ok(())
}

/// An endpoint and its delivery log.
#[server(prefix = "/rpc", endpoint = "webhook_endpoint")]
pub async fn get_webhook_endpoint(id: i64) -> Result<EndpointDetail, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::deliveries},
    };
    let admin = auth::require(Permission::ViewData).await?;
    let state = auth::state()?;
    let endpoint = deliveries::endpoint(&state, id).await?;
    let deliveries = deliveries::log(&state, id).await?.into_iter().collect();
    Ok(EndpointDetail {
        endpoint: if admin.role.allows(Permission::ManageIntegrations) {
            endpoint
        } else {
            endpoint.for_viewer()
        },
        deliveries,
    })
}

/// Sends an outbound delivery again as soon as the worker gets to it.
#[server(prefix = "/rpc", endpoint = "webhook_replay")]
pub async fn replay_webhook_delivery(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::deliveries},
    };
    auth::require(Permission::ManageIntegrations).await?;
    deliveries::replay(&auth::state()?, id).await?;
    crate::api::redirect_back_with(&[("replayed", &id.to_string())]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_shows_only_its_last_four_characters() {
        assert_eq!(secret_hint("whsec_abcdefghijklmnop"), "…mnop");
        assert_eq!(secret_hint("whsec_short"), "…");
        assert_eq!(secret_hint(""), "…");
    }

    #[test]
    fn a_stripe_secret_is_a_whsec() {
        assert_eq!(
            check_stripe_secret("  whsec_0123456789abcdef \n").as_deref(),
            Ok("whsec_0123456789abcdef")
        );
        for bad in ["", "sk_live_0123456789", "whsec_", "0123456789abcdef"] {
            let err = check_stripe_secret(bad).unwrap_err();
            assert_eq!(err.field(), Some("secret"), "{bad}");
        }
    }

    #[test]
    fn a_typed_referrer_id_wins_over_the_picked_one() {
        assert_eq!(chosen_referrer("12", "7"), Ok(12));
        assert_eq!(chosen_referrer(" ", "7"), Ok(7));
        assert_eq!(
            chosen_referrer("", "").unwrap_err().field(),
            Some("referrer_id")
        );
        assert!(chosen_referrer("twelve", "7").is_err());
    }

    #[test]
    fn a_mapping_import_is_summed_up_in_a_sentence_and_kept_small() {
        let report = PromotionCodeImportReport {
            rows: 300,
            added: 2,
            unchanged: 1,
            refused: 297,
            errors: vec![
                crate::types::ImportError {
                    line: 2,
                    column: "code".into(),
                    reason: "Too long.".into(),
                };
                297
            ],
            ..Default::default()
        };
        let kept = PromotionCodeImport::for_page("codes.csv".into(), "spring".into(), Ok(report));
        assert_eq!(
            kept.summary().as_deref(),
            Some("Imported codes.csv (300 rows): 2 new, 1 already mapped, 297 refused.")
        );
        let kept = kept.result.unwrap();
        assert_eq!(kept.errors.len(), SHOWN_MAPPING_ERRORS);
        assert!(kept.errors_truncated);
        let refused = PromotionCodeImport::for_page(
            String::new(),
            "spring".into(),
            Err(AppError::invalid(
                "invalid_csv",
                "file",
                "The file is empty.",
            )),
        );
        assert_eq!(refused.summary(), None);
    }

    #[test]
    fn event_checkboxes_are_named_like_the_server_function_arguments() {
        let fields: Vec<String> = EVENT_CHOICES.iter().map(|(e, _)| event_field(e)).collect();
        assert_eq!(
            fields,
            [
                "referrer_created",
                "lead_created",
                "lead_qualified",
                "reward_created",
                "reward_due",
                "reward_issued",
                "reward_cancelled"
            ]
        );
    }

    #[test]
    fn replays_read_as_sentences() {
        assert!(replay_message(&None).contains("ignored"));
        let err = AppError::invalid("unattributable", "email", "No lead has this email.");
        assert_eq!(
            replay_message(&Some(Err(err))),
            "Replayed, but not recorded: No lead has this email."
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_choices_match_the_services() {
        use crate::ssr::services::{inbound, outbox};
        let presets: Vec<&str> = PRESET_CHOICES.iter().map(|(p, _)| *p).collect();
        assert_eq!(presets, inbound::PRESETS);
        let events: Vec<&str> = EVENT_CHOICES.iter().map(|(e, _)| *e).collect();
        assert_eq!(events, outbox::EVENT_TYPES);
    }
}
