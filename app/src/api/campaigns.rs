//! Campaign server functions.

// A server function takes one argument per form field (that is how an `ActionForm` posts), and
// the campaign form has eight; the macro-generated client functions need the allowance too.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{domain::rules::CampaignRules, error::AppError, types::Campaign};

/// Every campaign (any role may read).
#[server(prefix = "/rpc", endpoint = "campaigns")]
pub async fn list_campaigns() -> Result<Vec<Campaign>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::campaigns},
    };
    auth::require(Permission::ViewData).await?;
    campaigns::list(&auth::state()?.db).await
}

/// One campaign by slug.
#[server(prefix = "/rpc", endpoint = "campaign")]
pub async fn get_campaign(slug: String) -> Result<Campaign, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::campaigns},
    };
    auth::require(Permission::ViewData).await?;
    campaigns::get(&auth::state()?.db, &slug).await
}

/// The overview of campaign `campaign` (a slug), or of every campaign without one: all-time
/// numbers, a chart by `by` (`day` or `week`), rewards, top referrers, clicks per channel.
#[server(prefix = "/rpc", endpoint = "campaign_overview")]
pub async fn campaign_overview(
    #[server(default)] campaign: Option<String>,
    #[server(default)] by: Option<String>,
) -> Result<crate::types::Overview, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::overview},
        types::Period,
    };
    auth::require(Permission::ViewData).await?;
    let period = Period::parse(by.as_deref()).ok_or_else(|| {
        AppError::invalid("invalid_period", "by", "Show the chart by day or by week.")
    })?;
    overview::overview(
        &auth::state()?.db,
        campaign.as_deref(),
        period,
        overview::today(),
    )
    .await
}

/// Creates a campaign from the admin form (the list then shows it). An unticked checkbox is absent
/// from a form post, so `codes_enabled` is "present or not".
#[server(prefix = "/rpc", endpoint = "campaign_create")]
pub async fn create_campaign(
    name: String,
    slug: Option<String>,
    landing_url: Option<String>,
    codes_enabled: Option<String>,
    code_style: Option<String>,
    code_prefix: Option<String>,
    brand_color: Option<String>,
    logo_url: Option<String>,
) -> Result<Campaign, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, campaigns},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let input = crate::types::CampaignInput {
        name,
        slug,
        landing_url,
        codes_enabled: Some(codes_enabled.is_some()),
        code_style,
        code_prefix,
        brand_color,
        logo_url,
    };
    let created = campaigns::create(&auth::state()?, &Actor::admin(&admin), &input).await?;
    crate::api::redirect_back_with(&[("created", &created.slug)]);
    Ok(created)
}

/// Saves the campaign edit form.
#[server(prefix = "/rpc", endpoint = "campaign_update")]
pub async fn update_campaign(
    slug: String,
    name: String,
    landing_url: Option<String>,
    codes_enabled: Option<String>,
    code_style: Option<String>,
    code_prefix: Option<String>,
    brand_color: Option<String>,
    logo_url: Option<String>,
) -> Result<Campaign, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, campaigns},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let input = crate::types::CampaignInput {
        name,
        slug: None,
        landing_url: Some(landing_url.unwrap_or_default()),
        codes_enabled: Some(codes_enabled.is_some()),
        code_style,
        code_prefix: Some(code_prefix.unwrap_or_default()),
        brand_color,
        logo_url: Some(logo_url.unwrap_or_default()),
    };
    campaigns::update(&auth::state()?, &Actor::admin(&admin), &slug, &input).await
}

/// Pauses (`paused = "true"`) or resumes a campaign.
#[server(prefix = "/rpc", endpoint = "campaign_pause")]
pub async fn set_campaign_paused(slug: String, paused: String) -> Result<Campaign, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{audit::Actor, campaigns},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    campaigns::set_paused(
        &auth::state()?,
        &Actor::admin(&admin),
        &slug,
        paused == "true",
    )
    .await
}

/// Gives a code to every referrer of the campaign who lacks one; returns how many.
#[server(prefix = "/rpc", endpoint = "campaign_generate_codes")]
pub async fn generate_codes(slug: String) -> Result<u64, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::referrers},
    };
    auth::require(Permission::ManageReferrers).await?;
    referrers::generate_missing_codes(&auth::state()?, &slug).await
}

/// A campaign's qualification rule and rewards.
#[server(prefix = "/rpc", endpoint = "campaign_rules")]
pub async fn get_campaign_rules(slug: String) -> Result<CampaignRules, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::rules},
    };
    auth::require(Permission::ViewData).await?;
    rules::get(&auth::state()?, &slug).await
}

/// Saves the rules editor: the qualification rule and three reward rows (`r0_...` to `r2_...`,
/// a row with an empty kind is no reward). Rewards beyond the form's rows, which only the REST
/// API can add, are kept. An error names the form field at fault.
#[server(prefix = "/rpc", endpoint = "campaign_rules_save")]
pub async fn save_campaign_rules(
    slug: String,
    events: Option<String>,
    min_amount: Option<String>,
    min_currency: Option<String>,
    window_days: Option<String>,
    requires_approval: Option<String>,
    refund_unqualifies: Option<String>,
    auto_issue: Option<String>,
    r0_kind: Option<String>,
    r0_recipient: Option<String>,
    r0_amount: Option<String>,
    r0_currency: Option<String>,
    r0_percent: Option<String>,
    r0_cap: Option<String>,
    r0_description: Option<String>,
    r0_cadence: Option<String>,
    r0_every: Option<String>,
    r0_max: Option<String>,
    r0_hold: Option<String>,
    r1_kind: Option<String>,
    r1_recipient: Option<String>,
    r1_amount: Option<String>,
    r1_currency: Option<String>,
    r1_percent: Option<String>,
    r1_cap: Option<String>,
    r1_description: Option<String>,
    r1_cadence: Option<String>,
    r1_every: Option<String>,
    r1_max: Option<String>,
    r1_hold: Option<String>,
    r2_kind: Option<String>,
    r2_recipient: Option<String>,
    r2_amount: Option<String>,
    r2_currency: Option<String>,
    r2_percent: Option<String>,
    r2_cap: Option<String>,
    r2_description: Option<String>,
    r2_cadence: Option<String>,
    r2_every: Option<String>,
    r2_max: Option<String>,
    r2_hold: Option<String>,
) -> Result<CampaignRules, AppError> {
    use crate::{
        domain::{
            roles::Permission,
            rules_form::{REWARD_ROWS, RewardForm, RulesForm, form_field},
        },
        ssr::{
            auth,
            services::{audit::Actor, rules},
        },
    };
    let admin = auth::require(Permission::ManageCampaigns).await?;
    let state = auth::state()?;
    let row = |kind: Option<String>,
               recipient: Option<String>,
               amount: Option<String>,
               currency: Option<String>,
               percent: Option<String>,
               cap: Option<String>,
               description: Option<String>,
               cadence: Option<String>,
               every: Option<String>,
               max: Option<String>,
               hold: Option<String>| RewardForm {
        kind: kind.unwrap_or_default(),
        recipient: recipient.unwrap_or_default(),
        amount: amount.unwrap_or_default(),
        currency: currency.unwrap_or_default(),
        percent: percent.unwrap_or_default(),
        cap: cap.unwrap_or_default(),
        description: description.unwrap_or_default(),
        cadence: cadence.unwrap_or_default(),
        every: every.unwrap_or_default(),
        max: max.unwrap_or_default(),
        hold: hold.unwrap_or_default(),
    };
    let form = RulesForm {
        events: events.unwrap_or_default(),
        min_amount: min_amount.unwrap_or_default(),
        min_currency: min_currency.unwrap_or_default(),
        window_days: window_days.unwrap_or_default(),
        // An unticked checkbox is absent from the post.
        requires_approval: requires_approval.is_some(),
        refund_unqualifies: refund_unqualifies.is_some(),
        auto_issue: auto_issue.is_some(),
        rewards: vec![
            row(
                r0_kind,
                r0_recipient,
                r0_amount,
                r0_currency,
                r0_percent,
                r0_cap,
                r0_description,
                r0_cadence,
                r0_every,
                r0_max,
                r0_hold,
            ),
            row(
                r1_kind,
                r1_recipient,
                r1_amount,
                r1_currency,
                r1_percent,
                r1_cap,
                r1_description,
                r1_cadence,
                r1_every,
                r1_max,
                r1_hold,
            ),
            row(
                r2_kind,
                r2_recipient,
                r2_amount,
                r2_currency,
                r2_percent,
                r2_cap,
                r2_description,
                r2_cadence,
                r2_every,
                r2_max,
                r2_hold,
            ),
        ],
    };
    let current = rules::get(&state, &slug).await?;
    let extra = current.rewards.get(REWARD_ROWS..).unwrap_or_default();
    let wanted = form
        .to_rules(extra)
        .map_err(|e| AppError::invalid("invalid_rules", &e.field, e.message))?;
    let saved = rules::replace(&state, &Actor::admin(&admin), &slug, wanted)
        .await
        .map_err(|e| match e {
            // Already checked above, so only a rule the REST API added can land here.
            AppError::Invalid {
                code,
                field,
                message,
                suggestion,
            } => AppError::Invalid {
                field: field.map(|f| form_field(&f, &[])),
                code,
                message,
                suggestion,
            },
            e => e,
        })?;
    crate::api::redirect_back_with(&[("saved", "rules")]);
    Ok(saved)
}
