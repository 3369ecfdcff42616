//! Where Handoff's own outbound requests (webhooks, CRM calls) may go: public addresses only,
//! unless `HANDOFF_ALLOW_PRIVATE_NETWORKS` is set. An admin types those URLs, so without this an
//! admin account (or whoever took one over) could make the server call its own loopback
//! services, the private network behind it, or a cloud's metadata address, and read the answer
//! in the delivery log.
//!
//! The check is made on the address actually connected to: the HTTP client resolves names
//! through [`PublicOnly`], which drops every address that is not public, so a name that resolves
//! to a public address when the endpoint is saved and to a private one later (DNS rebinding)
//! still gets nowhere. Addresses written as IP literals never reach a resolver: [`check_url`]
//! refuses them before the request. Redirects are never followed.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is an address on the public internet: not loopback, private, link-local
/// (cloud metadata lives at 169.254.169.254), shared (CGNAT), multicast, broadcast,
/// documentation, benchmarking or otherwise reserved. IPv6 addresses that carry an IPv4 one
/// (mapped, NAT64) are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// Why a destination is refused: said in the delivery log and to the admin.
pub const PRIVATE_REFUSED: &str = "refused: the address is not a public one (loopback, private network, link-local or reserved). Set HANDOFF_ALLOW_PRIVATE_NETWORKS=true to allow it.";

/// Refuses `url` when its host is an IP literal or `localhost` that is not public (names are
/// checked when they are resolved, by [`PublicOnly`]). `Ok` when private networks are allowed.
pub fn check_url(url: &reqwest::Url, allow_private: bool) -> Result<(), &'static str> {
    if allow_private {
        return Ok(());
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !is_public_v4(ip) => Err(PRIVATE_REFUSED),
        Some(url::Host::Ipv6(ip)) if !is_public_v6(ip) => Err(PRIVATE_REFUSED),
        Some(url::Host::Domain(name))
            if name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost") =>
        {
            Err(PRIVATE_REFUSED)
        }
        _ => Ok(()),
    }
}

/// The refusal [`PublicOnly`] gave, when it is why `error` happened (a client error wraps it
/// several layers deep, and says only "error sending request" on top).
pub fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if text.contains(PRIVATE_REFUSED) {
            return Some(text);
        }
        current = e.source();
    }
    None
}

/// A resolver that answers only with public addresses; a name with none is an error that says
/// why.
#[derive(Clone, Copy, Debug, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                tracing::warn!(%host, addresses = ?found, "refused an outbound request to a non-public address");
                return Err(format!("{host}: {PRIVATE_REFUSED}").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client builder for outbound calls: no redirects (a redirect could lead anywhere,
/// and would carry credentials), no proxy from the environment (it would bypass the address
/// check), and unless `allow_private`, names resolved by [`PublicOnly`].
pub fn client_builder(allow_private: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(private)), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn literal_private_hosts_are_refused_unless_allowed() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        for refused in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost/hook",
            "http://api.localhost/hook",
            "http://0x7f000001/hook",
        ] {
            assert!(check_url(&url(refused), false).is_err(), "{refused}");
            assert!(check_url(&url(refused), true).is_ok(), "{refused}");
        }
        assert!(check_url(&url("https://hooks.example.com/x"), false).is_ok());
        assert!(check_url(&url("https://8.8.8.8/x"), false).is_ok());
    }

    #[tokio::test]
    async fn the_client_never_connects_to_a_name_that_resolves_to_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://localhost:{port}/hook");
        // Reachable: the client that allows private networks gets there.
        let allowed = client_builder(true).build().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), allowed.post(&url).send())
            .await;
        assert!(accept.await.unwrap().is_ok(), "the listener is reachable");
        // The default client refuses at resolution, and says why.
        let guarded = client_builder(false).build().unwrap();
        let error = guarded.post(&url).send().await.unwrap_err();
        let why = refusal(&error).expect("refused for its address");
        assert!(why.contains("not a public one"), "{why}");
    }

    #[tokio::test]
    async fn names_resolve_to_public_addresses_only() {
        let refused = PublicOnly
            .resolve("localhost".parse::<Name>().unwrap())
            .await;
        let error = refused.err().expect("localhost is refused").to_string();
        assert!(error.contains("not a public one"), "{error}");
    }
}
