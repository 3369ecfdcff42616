//! The admin's CSV uploads: plain routes beside the Leptos pages, behind the same session (they
//! sit in the admin half of the router, inside the session layer and the CSRF guard), so they
//! work with or without JavaScript.
//!
//! - `POST /admin/imports/upload`: the upload form (`multipart/form-data`: `campaign`, optional
//!   `default_event`, `file`). The file is streamed to `<data dir>/uploads/` (never held in
//!   memory; no body size limit but [`MAX_UPLOAD_BYTES`]), kept with `imports::stage`, its
//!   preview started, and the browser sent to `/admin/imports/{id}`. A refused upload goes back
//!   to `/admin/imports` with its error parked in the session for the page to show once.
//! - `GET /admin/imports/{id}/errors.csv`: the rows the last preview or import refused.
//! - `POST /admin/integrations/promotion-codes/import`: a file of promotion-code mappings
//!   (`campaign`, `file`), spooled the same way and imported at once by
//!   `inbound::import_promotion_codes`; what it did (or why the file was refused) is parked in the
//!   session and the browser sent back to the integrations page, which shows it once.

use app::{
    api::{
        imports::UPLOAD_ERROR_KEY,
        integrations::{
            PROMOTION_CODE_IMPORT_ACTION, PROMOTION_CODE_IMPORT_KEY, PromotionCodeImport,
        },
        referrers::{REFERRER_IMPORT_ACTION, REFERRER_IMPORT_KEY},
    },
    domain::roles::Permission,
    error::AppError,
    ssr::{
        auth,
        services::{
            audit::Actor,
            imports, inbound,
            referrer_import::{self, ImportOptions},
        },
        state::AppState,
    },
    types::ReferrerImport,
};
use axum::{
    Router,
    extract::{
        DefaultBodyLimit, Multipart, Path, State,
        multipart::{Field, MultipartError, MultipartRejection},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use tower_sessions::Session;

use super::{
    pages,
    uploads::{self, Spooled},
};

/// The most bytes of a form field other than the file (a campaign slug, an event name).
const MAX_FIELD_BYTES: usize = 1024;

/// The upload routes. Merged into the admin half of the router, so they get its session layer
/// and CSRF guard.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/imports/upload",
            // Uploads may be hundreds of megabytes: they are streamed to disk, never buffered.
            post(upload)
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(
                    crate::routes::deadline::for_upload,
                )),
        )
        .route("/admin/imports/{id}/errors.csv", get(errors_csv))
        .route(
            REFERRER_IMPORT_ACTION,
            // Spooled like every upload; the service refuses files over its limit.
            post(import_referrers)
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(
                    crate::routes::deadline::for_upload,
                )),
        )
        .route(
            PROMOTION_CODE_IMPORT_ACTION,
            // Spooled to disk like conversion uploads; the service refuses files over its limit.
            post(import_promotion_codes)
                .layer(DefaultBodyLimit::disable())
                .layer(axum::middleware::from_fn(
                    crate::routes::deadline::for_upload,
                )),
        )
}

/// `POST /admin/imports/upload`: keeps the file, starts its preview and goes to its page. Needs
/// a session whose role may manage leads.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(e) = auth::require_in(&state, &session, Permission::ManageLeads).await {
        return refused(e);
    }
    let mut form = UploadForm::default();
    let outcome = receive(&state, multipart, &mut form).await;
    match outcome {
        Ok(id) => Redirect::to(&format!("/admin/imports/{id}")).into_response(),
        Err(e @ (AppError::Unauthenticated | AppError::Forbidden)) => refused(e),
        Err(error) => {
            if let Err(e) = session.insert(UPLOAD_ERROR_KEY, &error).await {
                tracing::warn!(error = %e, "could not keep the upload error in the session");
            }
            // Back to the form with what was chosen and typed, so only the mistake needs fixing.
            let mut back = url::form_urlencoded::Serializer::new(String::new());
            if let Some(slug) = form.campaign.as_deref() {
                back.append_pair("campaign", slug);
            }
            if let Some(event) = form.default_event.as_deref() {
                back.append_pair("event", event);
            }
            let query = back.finish();
            let back = if query.is_empty() {
                "/admin/imports".to_owned()
            } else {
                format!("/admin/imports?{query}")
            };
            Redirect::to(&back).into_response()
        }
    }
}

/// What an upload form sent, besides the file.
#[derive(Debug, Default)]
struct UploadForm {
    campaign: Option<String>,
    /// The event name for rows without one (the conversions upload).
    default_event: Option<String>,
    /// The file's name, when one was chosen.
    filename: Option<String>,
    /// The Preview button was pressed (the promotion-code and referrer uploads): report, write
    /// nothing.
    dry_run: bool,
    /// Write each new referrer's link-and-code email (the referrer upload).
    send_welcome: bool,
}

/// Reads an upload form: its text fields into `form`, its file spooled to disk (`None` when no
/// file was chosen).
async fn read_form(
    state: &AppState,
    multipart: Result<Multipart, MultipartRejection>,
    form: &mut UploadForm,
) -> Result<Option<Spooled>, AppError> {
    let mut multipart = multipart.map_err(|_| no_file())?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(interrupted)? {
        match field.name() {
            Some("campaign") => {
                let text = small_text(field, || {
                    AppError::invalid(
                        "invalid_campaign",
                        "campaign",
                        "Choose the campaign from the list.",
                    )
                })
                .await?;
                form.campaign = Some(text.trim().to_owned()).filter(|s| !s.is_empty());
            }
            Some("default_event") => {
                let text = small_text(field, || {
                    AppError::invalid(
                        "invalid_event",
                        "default_event",
                        "An event name is at most 80 characters, like purchase.",
                    )
                })
                .await?;
                form.default_event = Some(text.trim().to_owned()).filter(|s| !s.is_empty());
            }
            Some("dry_run") => {
                let text = small_text(field, || {
                    AppError::invalid("invalid_dry_run", "dry_run", "Preview is true or false.")
                })
                .await?;
                form.dry_run = text.trim() == "true";
            }
            Some("send_welcome") => {
                let text = small_text(field, || {
                    AppError::invalid(
                        "invalid_send_welcome",
                        "send_welcome",
                        "Tick the box or leave it.",
                    )
                })
                .await?;
                form.send_welcome = !text.trim().is_empty();
            }
            Some("file") => {
                let Some(name) = upload_file_name(field.file_name()) else {
                    // No file chosen: browsers still send the part, with an empty name.
                    continue;
                };
                form.filename = Some(name);
                file = Some(uploads::spool_stream(field, &state.settings.data_dir).await?);
            }
            // Anything else is skipped (the next field starts after it).
            _ => {}
        }
    }
    Ok(file)
}

/// Reads the form, spools the file, stages it and starts its preview; returns the import's id.
async fn receive(
    state: &AppState,
    multipart: Result<Multipart, MultipartRejection>,
    form: &mut UploadForm,
) -> Result<i64, AppError> {
    let file = read_form(state, multipart, form).await?;
    let campaign = form.campaign.clone().ok_or_else(|| {
        AppError::invalid(
            "missing_campaign",
            "campaign",
            "Choose the campaign the conversions count for.",
        )
    })?;
    let spooled = file.ok_or_else(no_file)?;
    let filename = form.filename.clone().unwrap_or_default();
    let id = imports::stage(
        state,
        &campaign,
        &filename,
        &spooled.path,
        form.default_event.as_deref(),
    )
    .await?;
    // `stage` moved the file; dropping the spool removes what is left of it, if anything.
    drop(spooled);
    if let Err(e) = imports::start(state, id, true).await {
        // The upload's page offers to start the preview again.
        tracing::warn!(import = id, error = %e, "could not start the preview of an upload");
    }
    Ok(id)
}

/// `POST /admin/integrations/promotion-codes/import`: imports a file of promotion-code mappings
/// and goes back to the integrations page, which shows what came of it once. Needs a session
/// whose role may manage integrations.
pub async fn import_promotion_codes(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(e) = auth::require_in(&state, &session, Permission::ManageIntegrations).await {
        return refused(e);
    }
    let mut form = UploadForm::default();
    let result = async {
        let file = read_form(&state, multipart, &mut form).await?;
        let campaign = form.campaign.clone().ok_or_else(|| {
            AppError::invalid(
                "missing_campaign",
                "campaign",
                "Choose the campaign of the referrers.",
            )
        })?;
        let spooled = file.ok_or_else(no_file)?;
        // The spooled file is removed when `spooled` is dropped, after the import.
        inbound::import_promotion_codes(&state, &campaign, &spooled.path, form.dry_run).await
    }
    .await;
    let result = match result {
        Err(e @ (AppError::Unauthenticated | AppError::Forbidden)) => return refused(e),
        other => other,
    };
    let outcome = PromotionCodeImport::for_page(
        form.filename.unwrap_or_default(),
        form.campaign.unwrap_or_default(),
        result,
    );
    if let Err(e) = session.insert(PROMOTION_CODE_IMPORT_KEY, &outcome).await {
        tracing::warn!(error = %e, "could not keep the promotion-code import in the session");
    }
    Redirect::to("/admin/integrations#promo-import-heading").into_response()
}

/// `POST /admin/referrers/import`: adds the referrers of a CSV file (or previews it) and goes
/// back to the Referrers tab, which shows what came of it once. Needs a session whose role may
/// manage referrers.
pub async fn import_referrers(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let admin = match auth::require_in(&state, &session, Permission::ManageReferrers).await {
        Ok(admin) => admin,
        Err(e) => return refused(e),
    };
    let mut form = UploadForm::default();
    let result = async {
        let file = read_form(&state, multipart, &mut form).await?;
        let campaign = form.campaign.clone().ok_or_else(|| {
            AppError::invalid(
                "missing_campaign",
                "campaign",
                "Choose the campaign to add the referrers to.",
            )
        })?;
        let spooled = file.ok_or_else(no_file)?;
        // The spooled file is removed when `spooled` is dropped, after the import.
        referrer_import::run(
            &state,
            &Actor::admin(&admin),
            &campaign,
            &spooled.path,
            form.filename.as_deref().unwrap_or_default(),
            ImportOptions {
                dry_run: form.dry_run,
                send_welcome: form.send_welcome,
            },
        )
        .await
    }
    .await;
    let outcome = ReferrerImport {
        filename: form.filename.unwrap_or_default(),
        campaign: form.campaign.unwrap_or_default(),
        result,
    };
    if let Err(e) = session.insert(REFERRER_IMPORT_KEY, &outcome).await {
        tracing::warn!(error = %e, "could not keep the referrer import in the session");
    }
    Redirect::to("/admin/referrers#bulk-add-heading").into_response()
}

fn no_file() -> AppError {
    AppError::invalid("missing_file", "file", "Choose a CSV file to upload.")
}

fn interrupted(e: MultipartError) -> AppError {
    AppError::invalid(
        "upload_interrupted",
        "file",
        format!("The upload did not arrive in full: {}", e.body_text()),
    )
}

/// A short text field; `refusal` when it is longer than [`MAX_FIELD_BYTES`] or not UTF-8.
async fn small_text(
    mut field: Field<'_>,
    refusal: impl Fn() -> AppError,
) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(interrupted)? {
        if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(refusal());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| refusal())
}

/// The name of an uploaded file as the history shows it: without any folder some browsers send,
/// without control characters, at most 255 characters; `None` when no file was chosen.
pub fn upload_file_name(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>()
        .trim()
        .to_owned();
    (!clean.is_empty()).then_some(clean)
}

/// `GET /admin/imports/{id}/errors.csv`: every row the upload's last run refused
/// (`line,column,reason`), as an attachment. Needs a session whose role may view data.
pub async fn errors_csv(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    let result = match auth::require_in(&state, &session, Permission::ViewData).await {
        Ok(_) => imports::error_report(&state, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"upload-{id}-refused-rows.csv\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            csv,
        )
            .into_response(),
        Err(e) => refused(e),
    }
}

/// The answer to a request that cannot go on.
pub(super) fn refused(error: AppError) -> Response {
    match error {
        AppError::Unauthenticated => Redirect::to("/admin/login").into_response(),
        e @ AppError::Forbidden => {
            pages::message(StatusCode::FORBIDDEN, "Not allowed", &e.to_string())
        }
        e @ AppError::NotFound { .. } => {
            pages::message(StatusCode::NOT_FOUND, "Not found", &e.to_string())
        }
        e @ (AppError::Invalid { .. } | AppError::Conflict { .. }) => {
            pages::message(StatusCode::BAD_REQUEST, "Cannot do that", &e.to_string())
        }
        _ => pages::internal_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uploaded_file_keeps_only_its_own_name() {
        assert_eq!(
            upload_file_name(Some("orders.csv")).as_deref(),
            Some("orders.csv")
        );
        assert_eq!(
            upload_file_name(Some(r"C:\Users\ann\orders march.csv")).as_deref(),
            Some("orders march.csv")
        );
        assert_eq!(
            upload_file_name(Some("../../etc/passwd")).as_deref(),
            Some("passwd")
        );
        assert_eq!(
            upload_file_name(Some("a\u{0}b\n.csv")).as_deref(),
            Some("ab.csv")
        );
        assert_eq!(upload_file_name(Some("")), None);
        assert_eq!(upload_file_name(Some("dir/")), None);
        assert_eq!(upload_file_name(None), None);
        assert_eq!(
            upload_file_name(Some(&"x".repeat(300))).map(|n| n.len()),
            Some(255)
        );
    }
}
