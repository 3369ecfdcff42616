//! The Content-Security-Policy of Handoff's own HTML pages, in one place: the Leptos pages
//! (admin and portal) carry it with the nonce Leptos puts on its inline hydration and resource
//! scripts; the plain server pages (friend form, messages) carry it without one, since they run
//! no script at all. Styles may be inline (`style` attributes set the campaign's colours).

use leptos::prelude::use_context;

/// The policy, allowing inline scripts only with `nonce` (none: no inline script at all).
pub fn policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; frame-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Puts the policy with this render's nonce on the response of the Leptos page being rendered
/// (called by the shell; headers set during the render are sent, since every route renders
/// fully before it is sent).
pub fn set_for_page() {
    let nonce = leptos::nonce::use_nonce();
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy(nonce.as_deref())) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
