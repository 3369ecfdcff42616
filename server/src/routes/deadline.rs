//! The whole-request timeout: a request must have its response's headers within the request
//! timeout, or it is answered `408 Request Timeout` and its handler dropped. A client that
//! trickles a body one byte at a time (each pause shorter than the body timeout) is stopped here.
//! Upload routes are given the longer upload timeout by [`for_upload`], a route layer that moves
//! the deadline set by the outer [`limit`].

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};
use tokio::time::Instant;

/// The two timeouts a request may get.
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeouts {
    /// Every request.
    pub request: Duration,
    /// Routes that take uploads.
    pub upload: Duration,
}

/// A request's deadline, which an upload route may move later.
#[derive(Clone)]
struct Deadline {
    started: Instant,
    at: Arc<Mutex<Instant>>,
    upload: Duration,
}

impl Deadline {
    fn get(&self) -> Instant {
        *self
            .at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Outermost middleware: runs the request against its deadline.
pub async fn limit(
    State(timeouts): State<RequestTimeouts>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let deadline = Deadline {
        started,
        at: Arc::new(Mutex::new(started + timeouts.request)),
        upload: timeouts.upload,
    };
    request.extensions_mut().insert(deadline.clone());
    let path = request.uri().path().to_owned();
    let mut running = std::pin::pin!(next.run(request));
    loop {
        let at = deadline.get();
        tokio::select! {
            response = &mut running => return response,
            () = tokio::time::sleep_until(at) => {
                // The route may have moved the deadline while this slept.
                if deadline.get() <= Instant::now() {
                    tracing::info!(%path, seconds = started.elapsed().as_secs(), "request timed out");
                    return timed_out();
                }
            }
        }
    }
}

/// Route layer for uploads: gives the request the upload timeout instead.
pub async fn for_upload(request: Request, next: Next) -> Response {
    if let Some(deadline) = request.extensions().get::<Deadline>() {
        let later = deadline.started + deadline.upload;
        let mut at = deadline
            .at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *at = (*at).max(later);
    }
    next.run(request).await
}

/// `408` with a plain page, and the connection closed (its request may be half read).
fn timed_out() -> Response {
    let mut response = super::pages::message(
        StatusCode::REQUEST_TIMEOUT,
        "Request timed out",
        "The request took too long to arrive. Try again.",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
