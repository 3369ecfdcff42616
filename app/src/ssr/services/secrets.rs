//! Random tokens, hashes and keyed digests.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// A URL-safe random token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A uniformly random index in `0..n`, the randomness source handed to the pure domain code.
pub fn random_index(n: usize) -> usize {
    rand::rng().random_range(0..n)
}

/// Hex SHA-256 of `input`: for high-entropy secrets (API keys, tokens) a fast hash is enough.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

/// A keyed digest (HMAC-SHA256), hex, truncated to `len`. Used to hash IP addresses so raw
/// values are never stored, and to derive portal tokens.
pub fn keyed_digest(secret: &[u8], label: &str, value: &str, len: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let mut out = hex::encode(mac.finalize().into_bytes());
    out.truncate(len);
    out
}

/// Compares two secrets without stopping at the first difference, so timing reveals nothing
/// about how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The stored form of a client IP address: a keyed hash, so the address itself is never kept
/// yet two visits from one address still match.
pub fn ip_hash(secret: &[u8], ip: std::net::IpAddr) -> String {
    keyed_digest(secret, "ip", &ip.to_string(), 32)
}
