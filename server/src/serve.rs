//! The server's accept loop, with what keeps slow or idle clients from holding every socket.
//!
//! Why not `axum::serve`: it gives hyper no timer, so hyper's header-read timeout never runs (a
//! client that sends half a request line holds its connection forever), and it accepts every
//! connection the kernel hands it. Here:
//! - a connection gets `header_timeout` to send each request's headers, and an idle keep-alive
//!   connection the same time to start its next request;
//! - at most `max_connections` are served at once; past that, new ones wait in the kernel's
//!   backlog until one closes (they are not refused, so a burst only waits);
//! - one client address may hold at most `max_connections_per_client` of them (trusted reverse
//!   proxies excepted, since they carry everyone's); more from it are closed at once, so one
//!   attacker cannot fill the whole cap and make everyone else wait;
//! - the process's open-files limit is raised to its hard limit at start, and the cap lowered to
//!   fit under it, so the cap, not the kernel's `EMFILE`, is what a flood meets;
//! - body and whole-request timeouts are layers of the router (`routes::deadline`).

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};

use app::ssr::state::PublicLimits;
use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// How long clients may take and how many may be connected at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections one client address may hold at once; 0 for no limit.
    pub max_connections_per_client: usize,
    /// Time to send a request's headers, and for an idle keep-alive connection to start its next.
    pub header_timeout: Duration,
    /// Longest pause between two parts of a request body.
    pub body_timeout: Duration,
    /// Time from a request's headers to its response's headers.
    pub request_timeout: Duration,
    /// The same for the CSV and file uploads, which may be hundreds of megabytes.
    pub upload_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            // Lowered at start when the open-files limit cannot hold this many.
            max_connections: 4096,
            // A browser opens about 6 per site; an office behind one address, a few dozen.
            max_connections_per_client: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Open files kept free for what is not a client connection: database connections, SQLite's
/// files, SMTP and outbound webhooks, logs.
const FILES_FOR_THE_REST: u64 = 256;

/// The connection cap that fits the process's open-files limit, after raising that limit as far
/// as the system allows.
fn connections_that_fit(wanted: usize) -> usize {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(files) => {
            let room = usize::try_from(files.saturating_sub(FILES_FOR_THE_REST))
                .unwrap_or(usize::MAX)
                .max(16);
            if room < wanted {
                tracing::warn!(
                    open_files = files,
                    max_connections = room,
                    "the open-files limit allows fewer connections than HANDOFF_MAX_CONNECTIONS; raise it (ulimit -n, LimitNOFILE=) to serve more at once"
                );
            }
            wanted.min(room)
        }
        Err(error) => {
            tracing::warn!(%error, "could not read the open-files limit");
            wanted
        }
    }
}

/// How many connections each client address holds.
#[derive(Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    /// Counts one more from `address`, unless it already holds `limit`.
    fn admit(&self, address: IpAddr, limit: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let held = open.entry(address).or_insert(0);
        if *held >= limit {
            return false;
        }
        *held += 1;
        true
    }

    fn release(&self, address: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = open.get_mut(&address) {
            *held -= 1;
            if *held == 0 {
                open.remove(&address);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// open connection finish its request in flight, and returns. Connections from `trusted_proxies`
/// are not limited per address.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ClientLimits,
    trusted_proxies: Vec<ipnet::IpNet>,
    counts: Arc<PublicLimits>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        // An HTTP/2 client that stops answering pings is gone.
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout)
        .max_concurrent_streams(100);
    let slots = Arc::new(Semaphore::new(connections_that_fit(
        limits.max_connections.max(1),
    )));
    let per_client = Arc::new(PerClient::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first, then the connection: past the cap, clients wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment rather than spin, and go on.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let address = remote.ip().to_canonical();
        let limited = limits.max_connections_per_client > 0
            && !trusted_proxies.iter().any(|net| net.contains(&address));
        if limited && !per_client.admit(address, limits.max_connections_per_client) {
            // Closed unanswered: an address this busy is not a person's browser.
            counts
                .connections
                .refused_per_client
                .fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        }
        // Small responses (redirects) go out at once rather than after Nagle's delay.
        let _ = stream.set_nodelay(true);
        counts.connections.open.fetch_add(1, Ordering::Relaxed);
        counts.connections.accepted.fetch_add(1, Ordering::Relaxed);
        let service = router
            .clone()
            // The client's address for `ConnectInfo`, put on each request as `axum::serve` does;
            // not `Router::layer`, which would wrap every route again for each connection.
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                request
            })
            .map_err(|never: Infallible| match never {});
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        let counts = counts.clone();
        let per_client = per_client.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and clients that hang up land here: normal, not worth a warning.
                tracing::debug!(%remote, error = %error, "connection ended with an error");
            }
            counts.connections.open.fetch_sub(1, Ordering::Relaxed);
            if limited {
                per_client.release(address);
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
