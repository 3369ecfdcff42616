//! The admin header's search box.

use leptos::prelude::*;

use crate::{error::AppError, types::SearchResults};

/// Campaigns, referrers and leads that `text` finds, a few of each.
#[server(prefix = "/rpc", endpoint = "search")]
pub async fn admin_search(text: String) -> Result<SearchResults, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::admin_search},
    };
    auth::require(Permission::ViewData).await?;
    admin_search::search(&auth::state()?, &text).await
}
