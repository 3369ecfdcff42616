//! Campaign logos: uploaded on the campaign page, served to portals, friend pages and emails.
//!
//! - `GET /logo/{slug}`: the campaign's uploaded logo, public (it is on public pages), with the
//!   content type read from its bytes, `X-Content-Type-Options: nosniff`, a sandboxing CSP, and an
//!   ETag. Addresses carry `?v={etag}`, so they are cached for a year.
//! - `POST /admin/campaigns/{slug}/logo`: the upload form (`multipart/form-data`, field `logo`).
//! - `POST /admin/campaigns/{slug}/logo/remove`: back to no uploaded logo.
//!
//! Both posts sit in the admin half of the router (session and CSRF guard), need a role that may
//! manage campaigns, and send the browser back to the campaign page: `?logo=saved` or
//! `?logo=removed`, or `?logo_error={code}` whose sentence the page shows
//! (`domain::logo::LogoRefusal`). They work the same with or without JavaScript.

use app::{
    domain::{
        logo::{LogoRefusal, MAX_LOGO_BYTES},
        roles::Permission,
    },
    error::AppError,
    ssr::{
        auth,
        services::logos::{self, LOGO_FIELD},
        state::AppState,
    },
};
use axum::{
    Router,
    extract::{
        DefaultBodyLimit, Multipart, Path, RawQuery, State,
        multipart::{MultipartError, MultipartRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use tower_sessions::Session;

use super::{admin_imports::refused, qr::if_none_match};

/// The most a logo form may send. Larger than the logo limit, so that a logo just over it gets
/// the clear "larger than 512 KB" answer from the field reader rather than a cut-off body.
const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The public route.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/logo/{slug}", get(serve))
}

/// The admin routes. Merged into the admin half of the router, so they get its session layer
/// and CSRF guard.
pub fn admin_router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/campaigns/{slug}/logo",
            post(upload).layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/admin/campaigns/{slug}/logo/remove", post(remove))
}

/// `GET /logo/{slug}`.
async fn serve(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    request: HeaderMap,
) -> Response {
    let logo = match logos::find(&state, &slug).await {
        Ok(Some(logo)) => logo,
        Ok(None) => return (StatusCode::NOT_FOUND, "No logo here.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, slug, "could not load a campaign logo");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let etag = format!("\"{}\"", logo.etag);
    let fresh = if_none_match(&request, &etag);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // An address that names this version (`?v=`, as `logo_url` does) never changes what it
    // shows: a new logo gets a new address. Without it, caches check again after an hour.
    let versioned = query.as_deref().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "v" && v == logo.etag)
    });
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Opened on its own, the image can run nothing and reach nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let Ok(content_type) = HeaderValue::from_str(&logo.content_type) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    headers.insert(header::CONTENT_TYPE, content_type);
    (headers, logo.bytes).into_response()
}

/// The campaign page at its logo form, with `query`.
fn campaign_page(slug: &str, query: &str) -> String {
    let slug: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    format!("/admin/campaigns/{slug}?{query}#logo-heading")
}

/// The answer after an upload or a removal: back to the campaign page with what came of it.
fn back(slug: &str, result: Result<(), AppError>, done: &str) -> Response {
    match result {
        Ok(()) => Redirect::to(&campaign_page(slug, &format!("logo={done}"))).into_response(),
        Err(AppError::Invalid { code, .. }) if LogoRefusal::from_code(&code).is_some() => {
            Redirect::to(&campaign_page(slug, &format!("logo_error={code}"))).into_response()
        }
        Err(e) => refused(e),
    }
}

/// `POST /admin/campaigns/{slug}/logo`.
async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    if let Err(e) = auth::require_in(&state, &session, Permission::ManageCampaigns).await {
        return refused(e);
    }
    let result = async {
        let bytes = read_logo(multipart).await?;
        logos::store(&state, &slug, bytes).await.map(|_| ())
    }
    .await;
    back(&slug, result, "saved")
}

/// `POST /admin/campaigns/{slug}/logo/remove`.
async fn remove(
    State(state): State<AppState>,
    session: Session,
    Path(slug): Path<String>,
) -> Response {
    if let Err(e) = auth::require_in(&state, &session, Permission::ManageCampaigns).await {
        return refused(e);
    }
    back(&slug, logos::remove(&state, &slug).await, "removed")
}

fn broke_off(e: &MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        logos::refused(LogoRefusal::FileTooLarge)
    } else {
        logos::refused(LogoRefusal::Interrupted)
    }
}

/// The bytes of the form's `logo` file, read up to one byte past the limit (enough to know it is
/// too large without holding a huge upload).
async fn read_logo(multipart: Result<Multipart, MultipartRejection>) -> Result<Vec<u8>, AppError> {
    let mut multipart = multipart.map_err(|_| logos::refused(LogoRefusal::MissingFile))?;
    let mut logo = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| broke_off(&e))? {
        if field.name() != Some(LOGO_FIELD) {
            continue;
        }
        // No file chosen: browsers still send the part, with an empty name.
        if field.file_name().is_none_or(str::is_empty) {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| broke_off(&e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_LOGO_BYTES {
                return Err(logos::refused(LogoRefusal::FileTooLarge));
            }
        }
        logo = Some(bytes);
    }
    logo.ok_or_else(|| logos::refused(LogoRefusal::MissingFile))
}
