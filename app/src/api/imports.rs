//! Upload server functions: the history, one upload's progress and report, and starting its
//! preview or import. The file itself arrives by a plain form post to `POST /admin/imports/upload`
//! (an axum route of the `server` crate: a file may be hundreds of megabytes, too big for a
//! server function), which parks any error in the session for [`take_upload_error`].

use leptos::prelude::*;

use crate::{error::AppError, types::ImportView};

/// Session key holding the error of the last upload until the uploads page has shown it once.
pub const UPLOAD_ERROR_KEY: &str = "import_upload_error";

/// The last 50 uploads, newest first.
#[server(prefix = "/rpc", endpoint = "imports")]
pub async fn list_imports() -> Result<Vec<ImportView>, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::imports},
    };
    auth::require(Permission::ViewData).await?;
    imports::history(&auth::state()?).await
}

/// One upload, with its live progress and the report of its last preview or import.
#[server(prefix = "/rpc", endpoint = "import")]
pub async fn get_import(id: i64) -> Result<ImportView, AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::imports},
    };
    auth::require(Permission::ViewData).await?;
    imports::view(&auth::state()?, id).await
}

/// Starts the preview of an upload again (after a failure): it runs in the background.
#[server(prefix = "/rpc", endpoint = "import_preview")]
pub async fn preview_import(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::imports},
    };
    auth::require(Permission::ManageLeads).await?;
    imports::start(&auth::state()?, id, true).await?;
    crate::api::redirect_back_with(&[("started", "preview")]);
    Ok(())
}

/// Starts the real import of a previewed upload: it runs in the background.
#[server(prefix = "/rpc", endpoint = "import_run")]
pub async fn run_import(id: i64) -> Result<(), AppError> {
    use crate::{
        domain::roles::Permission,
        ssr::{auth, services::imports},
    };
    auth::require(Permission::ManageLeads).await?;
    imports::start(&auth::state()?, id, false).await?;
    crate::api::redirect_back_with(&[("started", "import")]);
    Ok(())
}

/// Why the last upload of this session was refused, once: reading it forgets it.
#[server(prefix = "/rpc", endpoint = "import_upload_error")]
pub async fn take_upload_error() -> Result<Option<AppError>, AppError> {
    use crate::{domain::roles::Permission, ssr::auth};
    auth::require(Permission::ViewData).await?;
    auth::session()
        .await?
        .remove::<AppError>(UPLOAD_ERROR_KEY)
        .await
        .map_err(|e| AppError::internal("take_upload_error session", e))
}
