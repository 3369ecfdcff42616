//! Campaign server functions.

// A server function takes one argument per form field (that is how an `ActionForm` posts), and
// the campaign form has eight; the macro-generated client functions need the allowance too.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{error::AppError, types::Campaign};

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
        ssr::{auth, services::campaigns},
    };
    auth::require(Permission::ManageCampaigns).await?;
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
    campaigns::create(&auth::state()?, &input).await
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
        ssr::{auth, services::campaigns},
    };
    auth::require(Permission::ManageCampaigns).await?;
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
    campaigns::update(&auth::state()?, &slug, &input).await
}

/// Pauses (`paused = "true"`) or resumes a campaign.
#[server(prefix = "/rpc", endpoint = "campaign_pause")]
pub async fn set_campaign_paused(slug: String, paused: String) -> Result<Campaign, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::campaigns},
    };
    auth::require(Permission::ManageCampaigns).await?;
    campaigns::set_paused(&auth::state()?, &slug, paused == "true").await
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
