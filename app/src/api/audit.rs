//! The audit log's server function.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{AuditEntry, Page},
};

/// One page of the audit log, newest first (owners and admins).
#[server(prefix = "/rpc", endpoint = "audit_log")]
pub async fn audit_log(
    campaign: Option<String>,
    after: Option<i64>,
) -> Result<Page<AuditEntry>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::audit},
        types::AuditFilter,
    };
    auth::require(Permission::ManageAdmins).await?;
    audit::list(&auth::state()?, &AuditFilter { campaign, after }).await
}
