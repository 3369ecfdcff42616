//! Webhook signatures: Stripe's `Stripe-Signature` scheme and the Standard Webhooks scheme
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), both HMAC-SHA256, both compared in
//! constant time, both with a five-minute tolerance against replays.
//!
//! Outbound webhooks are signed with [`standard::sign`]; inbound sources and Stripe are checked
//! with the `verify` functions before anything is written.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. The messages go back to the sender (they reveal nothing secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signature header is missing.
    #[error("The signature header is missing.")]
    MissingHeader,
    /// A header could not be read.
    #[error("The signature header is malformed.")]
    MalformedHeader,
    /// The timestamp is more than five minutes from now (a replay, or a wrong clock).
    #[error("The signature's timestamp is outside the five-minute tolerance.")]
    OutsideTolerance,
    /// No signature in the header matches the payload and secret.
    #[error("No signature matches the payload.")]
    NoMatch,
    /// The configured secret is unusable.
    #[error("The signing secret is not valid.")]
    InvalidSecret,
}

fn mac(key: &[u8]) -> Result<HmacSha256, SignatureError> {
    HmacSha256::new_from_slice(key).map_err(|_| SignatureError::InvalidSecret)
}

fn within_tolerance(timestamp: i64, now: i64) -> bool {
    (now - timestamp).abs() <= TOLERANCE_SECS
}

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, the HMAC of `"{t}.{body}"` with
/// the endpoint secret. Several `v1` entries are sent while a secret is being rolled; any match
/// passes.
pub mod stripe {
    use super::*;

    /// Checks `header` for `payload` with `secret` at `now` (unix seconds).
    pub fn verify(
        payload: &[u8],
        header: Option<&str>,
        secret: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::MissingHeader)?;
        let mut timestamp: Option<&str> = None;
        let mut signatures: Vec<Vec<u8>> = Vec::new();
        for part in header.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::MalformedHeader)?;
            match key {
                "t" => timestamp = Some(value),
                // A malformed v1 is skipped, as Stripe's libraries do; only v1 counts.
                "v1" => {
                    if let Ok(bytes) = hex::decode(value) {
                        signatures.push(bytes);
                    }
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MalformedHeader)?;
        let seconds: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::MalformedHeader)?;
        if signatures.is_empty() {
            return Err(SignatureError::NoMatch);
        }
        let mut expected = mac(secret.as_bytes())?;
        expected.update(timestamp.as_bytes());
        expected.update(b".");
        expected.update(payload);
        let expected = expected.finalize().into_bytes();
        let matched = signatures
            .iter()
            .any(|candidate| crate::ssr::services::secrets::constant_time_eq(candidate, &expected));
        if !matched {
            return Err(SignatureError::NoMatch);
        }
        // Checked after the signature, so a forged timestamp cannot probe the tolerance.
        if !within_tolerance(seconds, now) {
            return Err(SignatureError::OutsideTolerance);
        }
        Ok(())
    }

    /// The header Stripe would send (used by tests and by `handoff` examples).
    pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
        let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        m.update(timestamp.to_string().as_bytes());
        m.update(b".");
        m.update(payload);
        format!(
            "t={timestamp},v1={}",
            hex::encode(m.finalize().into_bytes())
        )
    }
}

/// Standard Webhooks (<https://www.standardwebhooks.com>): the secret is `whsec_` + base64 key;
/// the signature is `v1,<base64 HMAC of "{id}.{timestamp}.{body}">`, space-separated when several.
pub mod standard {
    use super::*;

    /// The key bytes of a `whsec_...` secret.
    pub fn key(secret: &str) -> Result<Vec<u8>, SignatureError> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        BASE64
            .decode(encoded.trim())
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or(SignatureError::InvalidSecret)
    }

    /// A fresh secret: `whsec_` and 24 random bytes in base64.
    pub fn generate_secret() -> String {
        let bytes: [u8; 24] = rand::random();
        format!("whsec_{}", BASE64.encode(bytes))
    }

    /// The `webhook-signature` value for a message.
    pub fn sign(
        secret: &str,
        message_id: &str,
        timestamp: i64,
        payload: &[u8],
    ) -> Result<String, SignatureError> {
        let mut m = mac(&key(secret)?)?;
        m.update(message_id.as_bytes());
        m.update(b".");
        m.update(timestamp.to_string().as_bytes());
        m.update(b".");
        m.update(payload);
        Ok(format!("v1,{}", BASE64.encode(m.finalize().into_bytes())))
    }

    /// Checks the three headers for `payload` with `secret` at `now` (unix seconds).
    pub fn verify(
        secret: &str,
        message_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        payload: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let message_id = message_id.ok_or(SignatureError::MissingHeader)?;
        let timestamp = timestamp.ok_or(SignatureError::MissingHeader)?;
        let signature = signature.ok_or(SignatureError::MissingHeader)?;
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureError::MalformedHeader)?;
        let mut m = mac(&key(secret)?)?;
        m.update(message_id.as_bytes());
        m.update(b".");
        m.update(timestamp.trim().as_bytes());
        m.update(b".");
        m.update(payload);
        let expected = m.finalize().into_bytes();
        let matched = signature
            .split_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|b64| BASE64.decode(b64).ok())
            .any(|candidate| {
                crate::ssr::services::secrets::constant_time_eq(&candidate, &expected)
            });
        if !matched {
            return Err(SignatureError::NoMatch);
        }
        if !within_tolerance(seconds, now) {
            return Err(SignatureError::OutsideTolerance);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    #[test]
    fn stripe_signatures() {
        let body = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let secret = "whsec_test_secret";
        let header = stripe::sign(body, secret, NOW);
        assert_eq!(stripe::verify(body, Some(&header), secret, NOW), Ok(()));
        assert_eq!(
            stripe::verify(b"{\"id\":\"evt_2\"}", Some(&header), secret, NOW),
            Err(SignatureError::NoMatch),
            "tampered body"
        );
        assert_eq!(
            stripe::verify(body, Some(&header), "whsec_other", NOW),
            Err(SignatureError::NoMatch),
            "wrong secret"
        );
        assert_eq!(
            stripe::verify(body, Some(&header), secret, NOW + 301),
            Err(SignatureError::OutsideTolerance),
            "old timestamp"
        );
        assert_eq!(
            stripe::verify(body, Some(&header), secret, NOW + 299),
            Ok(())
        );
        // During a secret roll Stripe sends one v1 per secret; any may match.
        let old = stripe::sign(body, "whsec_old", NOW);
        let rolled = format!("{},{}", old, header.split(',').nth(1).unwrap());
        assert_eq!(stripe::verify(body, Some(&rolled), secret, NOW), Ok(()));
        assert_eq!(
            stripe::verify(body, Some(&rolled), "whsec_old", NOW),
            Ok(())
        );
        assert_eq!(
            stripe::verify(body, None, secret, NOW),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            stripe::verify(body, Some("garbage"), secret, NOW),
            Err(SignatureError::MalformedHeader)
        );
        assert_eq!(
            stripe::verify(body, Some(&format!("t={NOW},v0=abc")), secret, NOW),
            Err(SignatureError::NoMatch),
            "v0 is never accepted"
        );
    }

    #[test]
    fn standard_webhook_signatures() {
        let secret = standard::generate_secret();
        assert!(secret.starts_with("whsec_"));
        let body = br#"{"email":"a@example.com"}"#;
        let sig = standard::sign(&secret, "msg_1", NOW, body).unwrap();
        let ts = NOW.to_string();
        let check = |id: &str, ts: &str, sig: &str, body: &[u8], now: i64| {
            standard::verify(&secret, Some(id), Some(ts), Some(sig), body, now)
        };
        assert_eq!(check("msg_1", &ts, &sig, body, NOW), Ok(()));
        assert_eq!(
            check("msg_1", &ts, &sig, b"{}", NOW),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            check("msg_2", &ts, &sig, body, NOW),
            Err(SignatureError::NoMatch),
            "the id is signed"
        );
        assert_eq!(
            check("msg_1", &ts, &sig, body, NOW - 400),
            Err(SignatureError::OutsideTolerance)
        );
        let other = standard::generate_secret();
        let wrong = standard::sign(&other, "msg_1", NOW, body).unwrap();
        assert_eq!(
            check("msg_1", &ts, &wrong, body, NOW),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            check("msg_1", &ts, &format!("{wrong} {sig}"), body, NOW),
            Ok(()),
            "several signatures during a rotation"
        );
        assert_eq!(
            standard::verify(&secret, None, Some(&ts), Some(&sig), body, NOW),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            standard::key("whsec_!!!"),
            Err(SignatureError::InvalidSecret)
        );
        // The example from the Standard Webhooks specification's reference implementation.
        let spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let spec = standard::sign(
            spec_secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(spec, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
