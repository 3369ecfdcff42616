//! Cross-site request forgery guard for the cookie-authenticated admin and portal (server
//! functions under `/rpc` and `/p/_rpc`, and the portal's sign-in button). Session cookies are `SameSite=Lax`, so browsers do not send them on cross-site
//! posts; this check is the second lock: a state-changing request whose `Origin` (or, failing
//! that, `Sec-Fetch-Site`) says it came from another site is refused.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The origins the admin is served from.
#[derive(Clone, Debug)]
pub struct AllowedOrigin {
    /// `scheme://host[:port]` of the public URL.
    pub public_origin: String,
}

fn same_origin(headers: &HeaderMap, allowed: &AllowedOrigin) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin == allowed.public_origin {
            return true;
        }
        // Also accept the address the request was actually sent to (a second name, or the
        // server's own address), scheme included: a page served over plain HTTP on the same
        // host is another origin than the HTTPS admin, and must not post to it.
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        return match (url::Url::parse(origin), host) {
            (Ok(url), Some(host)) => {
                let authority = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                };
                authority == host && url.scheme() == request_scheme(headers)
            }
            _ => false,
        };
    }
    // No Origin: old browsers and non-browser clients. Browsers that send Sec-Fetch-Site tell
    // us directly.
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site")
    )
}

/// The scheme the browser used: a reverse proxy's `X-Forwarded-Proto` (a cross-site form cannot
/// set it, and a proxy that terminates TLS does), else `http`, since Handoff itself speaks plain
/// HTTP.
fn request_scheme(headers: &HeaderMap) -> String {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "http".to_owned())
}

/// Refuses cross-site state-changing requests with 403.
pub async fn guard(State(allowed): State<AllowedOrigin>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || same_origin(request.headers(), &allowed) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        (
            StatusCode::FORBIDDEN,
            "Cross-site request refused. Submit the form from the Handoff admin itself.",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> AllowedOrigin {
        AllowedOrigin {
            public_origin: "https://refer.example.com".into(),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_public_origin_and_the_requested_host_are_same_origin() {
        assert!(same_origin(
            &headers(&[("origin", "https://refer.example.com")]),
            &allowed()
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            &allowed()
        ));
    }

    #[test]
    fn the_requested_host_must_also_match_the_scheme() {
        // A plain-HTTP page on the admin's own host is another origin.
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://admin.example.com"),
                ("host", "admin.example.com"),
                ("x-forwarded-proto", "https")
            ]),
            &allowed()
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "https://admin.example.com"),
                ("host", "admin.example.com"),
                ("x-forwarded-proto", "https")
            ]),
            &allowed()
        ));
        // Straight to Handoff (no proxy): plain HTTP is the only scheme it speaks.
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            &allowed()
        ));
    }

    #[test]
    fn another_origin_or_a_cross_site_fetch_is_refused() {
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "refer.example.com")
            ]),
            &allowed()
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &allowed()
        ));
        assert!(same_origin(&headers(&[]), &allowed()));
    }
}
