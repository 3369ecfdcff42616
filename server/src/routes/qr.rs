//! `GET /qr/{slug}.svg` and `/qr/{slug}.png`: a referral link as a QR code. Public, because the
//! link it encodes is. [`respond`] is the HTTP half shared with the REST API's QR routes.

use app::{
    error::AppError,
    ssr::{
        services::{
            logos,
            qr::{self, QrFormat, QrLogo, QrOptions, QrQuery, QrTarget},
        },
        state::AppState,
    },
};
use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::routes::pages;

/// How long a public code may be reused without asking: a link changes only if the public URL
/// does, and the ETag makes the check after a day cheap.
const PUBLIC_CACHE: &str = "public, max-age=86400";

/// The same for an API response: `private`, because it was asked for with an API key and shared
/// caches must not hand it to others.
pub const PRIVATE_CACHE: &str = "private, max-age=86400";

fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "This QR code doesn't exist",
        "We couldn't find a referral link for this QR code. Check the address: it ends in .svg or .png after the link's name.",
    )
}

/// Serves the QR code of a referral link.
pub async fn show(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: Result<Query<QrQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // axum cannot match `{slug}.svg` within one segment, so the extension is split off here.
    let Some(format) = file
        .rsplit_once('.')
        .and_then(|(_, extension)| QrFormat::from_extension(extension))
    else {
        return not_found();
    };
    let slug = &file[..file.len() - format.extension().len() - 1];
    let Ok(Query(query)) = query else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "This QR code address is not valid",
            "The part after ? could not be read. Use size, fg, bg, logo and download, each once.",
        );
    };
    let options = match query.parse() {
        Ok(options) => options,
        Err(error) => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "This QR code can't be drawn",
                &error.to_string(),
            );
        }
    };
    let target = match qr::target_by_slug(&state, slug).await {
        Ok(Some(target)) => target,
        Ok(None) => return not_found(),
        Err(_) => return pages::internal_error(),
    };
    let Ok(logo) = logo(&state, &query, &target).await else {
        return pages::internal_error();
    };
    respond(
        &headers,
        &target,
        format,
        &options,
        logo.as_deref(),
        query.download(),
        PUBLIC_CACHE,
    )
    .unwrap_or_else(|_| pages::internal_error())
}

/// The logo to draw into `target`'s code: its campaign's uploaded logo when the query asks for
/// one (`logo=1`) and there is one, otherwise none.
pub async fn logo(
    state: &AppState,
    query: &QrQuery,
    target: &QrTarget,
) -> Result<Option<std::sync::Arc<QrLogo>>, AppError> {
    if query.logo() {
        logos::for_qr(state, target.campaign_id).await
    } else {
        Ok(None)
    }
}

/// The image response: `304 Not Modified` when `If-None-Match` names its ETag (without
/// rendering), otherwise the image with its type, ETag, `cache_control` and, when `download`,
/// `Content-Disposition: attachment`.
pub fn respond(
    request: &HeaderMap,
    target: &QrTarget,
    format: QrFormat,
    options: &QrOptions,
    logo: Option<&QrLogo>,
    download: bool,
    cache_control: &'static str,
) -> Result<Response, AppError> {
    let etag = qr::etag(&target.link, format, options, logo);
    let mut response = if if_none_match(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = qr::render(&target.link, format, options, logo)?;
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        if format == QrFormat::Svg {
            // The SVG holds no script; this keeps it inert should it ever be opened directly.
            // A logo is embedded as a `data:` image, the only thing it may load.
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
                ),
            );
        }
        if download {
            let disposition = format!("attachment; filename=\"{}\"", target.file_name(format));
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::try_from(disposition)
                    .map_err(|e| AppError::internal("qr content-disposition", e))?,
            );
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::try_from(etag).map_err(|e| AppError::internal("qr etag", e))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    Ok(response)
}

/// True when `If-None-Match` is `*` or lists `etag`. RFC 9110 compares weakly here, so
/// `W/"…"` matches too.
pub(super) fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_matches_listed_weak_and_wildcard_tags_only() {
        let tag = "\"abc\"";
        assert!(if_none_match(&with(&["\"abc\""]), tag));
        assert!(if_none_match(&with(&["\"x\", W/\"abc\""]), tag));
        assert!(if_none_match(&with(&["\"x\"", "\"abc\""]), tag));
        assert!(if_none_match(&with(&["*"]), tag));
        assert!(!if_none_match(&with(&[]), tag));
        assert!(!if_none_match(&with(&["\"abcd\"", "abc"]), tag));
    }
}
