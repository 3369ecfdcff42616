//! The friend's attribution cookie: which referral link they arrived by, signed so it cannot be
//! edited to credit somebody else.

use app::ssr::services::{
    leads::LinkAttribution,
    secrets::{constant_time_eq, keyed_digest},
};
use chrono::{DateTime, Utc};

/// Cookie name.
pub const ATTRIBUTION_COOKIE: &str = "handoff_ref";

/// How long a click keeps its attribution: 30 days.
pub const ATTRIBUTION_MAX_AGE_SECS: i64 = 30 * 24 * 3600;

/// What the attribution cookie holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribution {
    /// The referrer whose link was clicked.
    pub referrer_id: i64,
    /// Unix seconds of the click.
    pub clicked_at: i64,
    /// The visitor's random id, kept across clicks.
    pub visitor_id: String,
}

impl Attribution {
    /// The service-level view of the click.
    pub fn to_link_attribution(&self) -> Option<LinkAttribution> {
        Some(LinkAttribution {
            referrer_id: self.referrer_id,
            clicked_at: DateTime::<Utc>::from_timestamp(self.clicked_at, 0)?,
        })
    }
}

fn mac(secret: &[u8], payload: &str) -> String {
    keyed_digest(secret, "attribution", payload, 32)
}

/// The cookie value: `referrer.time.visitor.mac`.
pub fn encode(secret: &[u8], attribution: &Attribution) -> String {
    let payload = format!(
        "{}.{}.{}",
        attribution.referrer_id, attribution.clicked_at, attribution.visitor_id
    );
    format!("{payload}.{}", mac(secret, &payload))
}

/// The attribution in a cookie value, if its signature holds and it has not expired.
pub fn decode(secret: &[u8], value: &str, now: DateTime<Utc>) -> Option<Attribution> {
    let (payload, signature) = value.rsplit_once('.')?;
    if !constant_time_eq(mac(secret, payload).as_bytes(), signature.as_bytes()) {
        return None;
    }
    let mut parts = payload.splitn(3, '.');
    let referrer_id = parts.next()?.parse().ok()?;
    let clicked_at: i64 = parts.next()?.parse().ok()?;
    let visitor_id = parts.next()?.to_owned();
    if now.timestamp() - clicked_at > ATTRIBUTION_MAX_AGE_SECS {
        return None;
    }
    Some(Attribution {
        referrer_id,
        clicked_at,
        visitor_id,
    })
}

/// The value of cookie `name` in the request headers.
pub use app::ssr::portal_session::read_cookie as read;

/// A `Set-Cookie` value for the attribution cookie.
pub fn set_cookie(value: &str, secure: bool) -> String {
    format!(
        "{ATTRIBUTION_COOKIE}={value}; Path=/; Max-Age={ATTRIBUTION_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

pub use app::ssr::portal_session::{
    PORTAL_COOKIE, PORTAL_MAX_AGE_SECS, encode_portal_visitor, portal_visitor, set_portal_cookie,
};

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, header};

    use super::*;

    #[test]
    fn a_signed_cookie_round_trips_and_an_edited_one_is_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let a = Attribution {
            referrer_id: 42,
            clicked_at: Utc::now().timestamp(),
            visitor_id: "v1".into(),
        };
        let value = encode(secret, &a);
        assert_eq!(decode(secret, &value, Utc::now()), Some(a));
        let forged = value.replacen("42.", "43.", 1);
        assert_eq!(decode(secret, &forged, Utc::now()), None);
        assert_eq!(
            decode(b"another secret another secret 12", &value, Utc::now()),
            None
        );
    }

    #[test]
    fn an_old_click_no_longer_attributes() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let a = Attribution {
            referrer_id: 1,
            clicked_at: Utc::now().timestamp() - ATTRIBUTION_MAX_AGE_SECS - 10,
            visitor_id: "v".into(),
        };
        assert_eq!(decode(secret, &encode(secret, &a), Utc::now()), None);
    }

    #[test]
    fn the_portal_cookie_names_its_referrer_and_refuses_edits() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let mut headers = HeaderMap::new();
        let value = encode_portal_visitor(secret, 7);
        headers.insert(
            header::COOKIE,
            format!("{PORTAL_COOKIE}={value}").parse().unwrap(),
        );
        assert_eq!(portal_visitor(&headers, secret), Some(7));
        let forged = value.replacen("7.", "8.", 1);
        headers.insert(
            header::COOKIE,
            format!("{PORTAL_COOKIE}={forged}").parse().unwrap(),
        );
        assert_eq!(portal_visitor(&headers, secret), None);
    }

    #[test]
    fn cookies_are_read_from_a_header_with_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; handoff_ref=x.y; b=2".parse().unwrap());
        assert_eq!(read(&headers, ATTRIBUTION_COOKIE), Some("x.y"));
        assert_eq!(read(&headers, "missing"), None);
    }
}
