//! Server functions: thin. Each one authorizes, calls a service, and returns wire types.
//! They live under `/rpc/...` so they never mix with the REST API at `/api/v1/...`.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod crm;
pub mod emails;
pub mod imports;
pub mod integrations;
pub mod keys;
pub mod leads;
pub mod portal;
pub mod print;
pub mod referrers;
pub mod rewards;
pub mod sales;
pub mod search;
pub mod widget;

/// After a form posted without JavaScript succeeded, sends the browser back to the page it came
/// from with `notice` set in the query (`?issued=3`), so the page can say what happened: without
/// JavaScript the action's return value never reaches the page. With JavaScript the action's
/// value says it, and nothing is redirected. (Failures need none of this: the server function
/// layer already sends them back in `__err`.)
#[cfg(feature = "ssr")]
pub(crate) fn redirect_back_with(notice: &[(&str, &str)]) {
    use axum::http::{header, request::Parts};
    if !is_plain_form_post() {
        return;
    }
    let Some(parts) = leptos::prelude::use_context::<Parts>() else {
        return;
    };
    let referer = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok());
    if let Some(target) = referer.and_then(|r| back_to(r, notice)) {
        leptos_axum::redirect(&target);
    }
}

/// Whether the server function was called by a plain HTML form (no JavaScript), whose page is
/// rendered again after a redirect rather than updated from the function's return value.
#[cfg(feature = "ssr")]
pub(crate) fn is_plain_form_post() -> bool {
    use axum::http::{header, request::Parts};
    // Only a plain form post asks for HTML; the wasm client asks for JSON.
    leptos::prelude::use_context::<Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    })
}

/// The admin page of `referer` (path and query only, so never another site) with the `notice`
/// pairs replacing any earlier ones and the error of an earlier failed post removed.
#[cfg(feature = "ssr")]
fn back_to(referer: &str, notice: &[(&str, &str)]) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    if !url.path().starts_with("/admin/") {
        return None;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "__err" && k != "__path" && !notice.iter().any(|(n, _)| n == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .extend_pairs(notice.iter().copied())
        .finish();
    Some(format!("{}?{query}", url.path()))
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::back_to;

    #[test]
    fn a_form_post_goes_back_to_its_page_with_the_notice() {
        assert_eq!(
            back_to(
                "http://h.example/admin/rewards?status=due&issued=1&__path=/rpc/x&__err=e30",
                &[("issued", "3")]
            )
            .as_deref(),
            Some("/admin/rewards?status=due&issued=3")
        );
        assert_eq!(
            back_to("http://h.example/admin/leads/7", &[("decided", "rejected")]).as_deref(),
            Some("/admin/leads/7?decided=rejected")
        );
    }

    #[test]
    fn only_admin_pages_are_gone_back_to() {
        assert_eq!(back_to("http://evil.example/phish", &[("a", "b")]), None);
        assert_eq!(back_to("not a url", &[("a", "b")]), None);
    }
}
