//! Lead server functions.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{ConversionResult, LeadDetail, LeadFilter, LeadsView},
};

/// One page of the Leads tab and how its search was understood. Every filter is a query
/// parameter of the page, so a view can be bookmarked and shared.
#[server(prefix = "/rpc", endpoint = "leads")]
pub async fn list_leads(#[server(default)] filter: LeadFilter) -> Result<LeadsView, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::lead_lists},
    };
    auth::require(Permission::ViewData).await?;
    // Only the sales desk lists by who entered a lead, for the rep's own entries.
    let filter = LeadFilter {
        entered_by: None,
        ..filter
    };
    lead_lists::view(&auth::state()?, &filter).await
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

/// Qualifies a lead by hand, or approves one waiting in review (with the amount of the event
/// that put it there). `reason` is optional and goes on the timeline.
#[server(prefix = "/rpc", endpoint = "lead_qualify")]
pub async fn qualify_lead(id: i64, reason: Option<String>) -> Result<ConversionResult, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{
                audit::Actor,
                conversions::{self, Decision},
            },
        },
    };
    let admin = auth::require(Permission::ManageLeads).await?;
    let reason = reason.unwrap_or_default();
    let result = conversions::decide(
        &auth::state()?,
        id,
        Decision::Qualify,
        &reason,
        &Actor::admin(&admin),
    )
    .await?;
    crate::api::redirect_back_with(&[("decided", "qualified")]);
    Ok(result)
}

/// Rejects a lead; `reason` is required and goes on the timeline. Rewards not yet issued are
/// cancelled.
#[server(prefix = "/rpc", endpoint = "lead_reject")]
pub async fn reject_lead(id: i64, reason: Option<String>) -> Result<ConversionResult, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{
            auth,
            services::{
                audit::Actor,
                conversions::{self, Decision},
            },
        },
    };
    let admin = auth::require(Permission::ManageLeads).await?;
    let reason = reason.unwrap_or_default();
    let result = conversions::decide(
        &auth::state()?,
        id,
        Decision::Reject,
        &reason,
        &Actor::admin(&admin),
    )
    .await?;
    crate::api::redirect_back_with(&[("decided", "rejected")]);
    Ok(result)
}
