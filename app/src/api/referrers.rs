//! Referrer server functions.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{Page, Referrer, ReferrerWithStats},
};

/// One page of the Referrers tab. (Flat arguments: they travel as a plain query string.)
#[server(prefix = "/rpc", endpoint = "referrers")]
pub async fn list_referrers(
    campaign: Option<String>,
    search: Option<String>,
    after: Option<i64>,
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
        ssr::{auth, services::referrers},
    };
    auth::require(Permission::ManageReferrers).await?;
    referrers::create(
        &auth::state()?,
        &campaign,
        &name,
        &email,
        referrers::Welcome::SendEmail,
    )
    .await
    .map(|(referrer, _)| referrer)
}
