//! Lead server functions.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{Lead, LeadDetail, Page},
};

/// One page of the Leads tab.
#[server(prefix = "/rpc", endpoint = "leads")]
pub async fn list_leads(
    campaign: Option<String>,
    status: Option<String>,
    referrer_id: Option<i64>,
    after: Option<i64>,
) -> Result<Page<Lead>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::leads},
    };
    auth::require(Permission::ViewData).await?;
    let filter = crate::types::LeadFilter {
        campaign,
        status,
        referrer_id,
        after,
    };
    leads::list(&auth::state()?, &filter).await
}

/// A lead and the story of how it was credited.
#[server(prefix = "/rpc", endpoint = "lead")]
pub async fn get_lead(id: i64) -> Result<LeadDetail, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::leads},
    };
    auth::require(Permission::ViewData).await?;
    leads::detail(&auth::state()?, id).await
}
