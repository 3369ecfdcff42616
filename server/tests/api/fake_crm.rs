//! What the fake CRMs (`crm.rs` for HubSpot, `salesforce.rs`) share: a log of the requests they
//! got, answers scripted by a test, serving a router on loopback, and waiting for the app's
//! sync worker.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::ssr::entities::crm_sync;
use axum::{
    Json, Router,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::helpers::TestApp;

/// One request a fake CRM got.
#[derive(Clone, Debug)]
pub(crate) struct Got {
    pub(crate) at: Instant,
    pub(crate) method: Method,
    pub(crate) path: String,
    /// The `Authorization` header, empty when absent.
    pub(crate) authorization: String,
    /// The JSON body, a form's fields as a JSON object, or null.
    pub(crate) body: Value,
}

/// A scripted answer: status, `Retry-After` seconds, body.
pub(crate) type Answer = (u16, Option<u64>, Value);

/// The requests a fake got, and the answers a test wants it to give next.
#[derive(Clone, Default)]
pub(crate) struct Traffic {
    got: Arc<Mutex<Vec<Got>>>,
    /// Answers for the next requests that consult it, in order; when empty, the CRM's own.
    pub(crate) script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Traffic {
    /// Records a request and returns its `Authorization` header.
    pub(crate) fn log(
        &self,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Value,
    ) -> String {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.got.lock().unwrap().push(Got {
            at: Instant::now(),
            method,
            path: uri.path().to_owned(),
            authorization: authorization.clone(),
            body,
        });
        authorization
    }

    /// The requests to `path`, oldest first.
    pub(crate) fn requests(&self, path: &str) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == path)
            .cloned()
            .collect()
    }

    /// The next scripted answer as a response, if the test scripted one.
    pub(crate) fn scripted(&self) -> Option<Response> {
        let (status, retry_after, body) = self.script.lock().unwrap().pop_front()?;
        let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().unwrap());
        }
        Some(response)
    }
}

/// Serves `router` on a loopback port until the test ends; returns its base URL.
pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

/// Waits up to 15 s for `condition`.
pub(crate) async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..300 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The CRM sync queue's rows.
pub(crate) async fn rows(app: &TestApp) -> Vec<crm_sync::Model> {
    crm_sync::Entity::find().all(&app.db).await.unwrap()
}

/// Waits until the queue's rows satisfy `condition`.
pub(crate) async fn wait_for_rows(
    app: &TestApp,
    what: &str,
    condition: impl Fn(&[crm_sync::Model]) -> bool,
) {
    for _ in 0..300 {
        if condition(&rows(app).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", rows(app).await);
}
