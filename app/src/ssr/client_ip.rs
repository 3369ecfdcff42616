//! The client's IP address, for the keyed IP hashes of clicks, leads and portal visits (the
//! `same_ip` and `ip_burst` fraud signals).
//!
//! It is the TCP peer's address, unless the peer is a reverse proxy listed in
//! `HANDOFF_TRUSTED_PROXIES`: then it is read from `X-Forwarded-For`. Why only then: anyone can
//! send that header, so believing it from an untrusted peer would let a fraudster pick the
//! address the fraud checks see; and behind a proxy the peer is always the proxy, so without the
//! header every sign-up would share one address and trip the burst signal.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
};

use crate::ssr::state::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;

/// The address of the client that made the request (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(ClientIp::of(parts, state))
    }
}

impl ClientIp {
    /// The client of the request with `parts` (server functions read their parts from context).
    pub fn of(parts: &Parts, state: &AppState) -> ClientIp {
        // The server is always started with connect info; without it (a router driven in
        // memory) there is no peer, and the unspecified address stands for "unknown".
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(peer)| peer.ip());
        ClientIp(client_address(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        ))
    }
}

/// The client's address for a request from `peer` with `headers`, believing `X-Forwarded-For`
/// only as far as the proxies in `trusted` wrote it.
///
/// The header lists the addresses each proxy saw, oldest first, and every proxy appends to it.
/// So it is read from the right: each hop that is a trusted proxy passes on to the one before
/// it, and the first hop that is not trusted is the client. Anything left of that was written by
/// the client itself and is ignored. A hop that is not an address stops the walk at the last
/// trusted one.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // A header line that is not text becomes one unreadable hop, which stops the walk: dropping
    // it instead could leave the client's own earlier lines to be read as the proxy's.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:443`), as proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &headers, &[]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let headers = forwarded(&["203.0.113.7"]);
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            client_address(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_last_untrusted_hop() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        // The client wrote a fake first entry; the edge proxy appended the real address, and an
        // inner proxy appended the edge's.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7, 10.0.0.5"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        // The same hops as separate header lines.
        let headers = forwarded(&["1.1.1.1", "203.0.113.7", "10.0.0.5"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn ports_ipv6_and_mapped_addresses_are_understood() {
        let trusted = nets(&["::1/128", "10.0.0.0/8"]);
        let headers = forwarded(&["[2001:db8::7]:443"]);
        assert_eq!(
            client_address(ip("::1"), &headers, &trusted),
            ip("2001:db8::7")
        );
        let headers = forwarded(&["203.0.113.7:4711"]);
        assert_eq!(
            client_address(ip("::ffff:10.1.2.3"), &headers, &trusted),
            ip("203.0.113.7"),
            "an IPv4 proxy seen through an IPv6 socket is still trusted"
        );
    }

    #[test]
    fn garbage_or_a_missing_header_leaves_the_last_trusted_hop() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                &forwarded(&["unknown, 10.0.0.5"]),
                &trusted
            ),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        let mut headers = forwarded(&["1.1.1.1"]);
        headers.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff, 10.0.0.5").unwrap(),
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers, &trusted),
            ip("127.0.0.1"),
            "a line that is not text stops the walk; the client's own line is not reached"
        );
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                &forwarded(&["10.0.0.9, 10.0.0.5"]),
                &trusted
            ),
            ip("10.0.0.9"),
            "when every hop is a proxy, the earliest one is the best answer"
        );
    }
}
