//! Headers every response gets unless its route set its own: HSTS when Handoff is served over
//! HTTPS, and on HTML pages `Cache-Control: no-store` (admin, portal and friend pages show
//! personal data, which a shared computer's cache must not keep) and the Content-Security-Policy
//! of pages without script (`app::ssr::content_policy`; Leptos pages set theirs with a nonce).

use app::ssr::content_policy;
use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// Whether the public URL is `https://`.
#[derive(Clone, Copy, Debug)]
pub struct ServedOverHttps(pub bool);

/// One year, the usual HSTS lifetime; subdomains are the business's to decide.
const HSTS: &str = "max-age=31536000";

/// Adds the headers to `request`'s response.
pub async fn add(State(https): State<ServedOverHttps>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if https.0 {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
            && let Ok(value) = HeaderValue::from_str(&content_policy::policy(None))
        {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}
