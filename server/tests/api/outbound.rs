//! Outbound webhooks from the outbox to a real HTTP receiver: signatures, retries, replay, two
//! server processes sharing one database delivering every event exactly once, and a dead or
//! disabled endpoint's backlog never holding up a live one.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, Ordering},
    },
    time::Duration,
};

use app::ssr::{
    entities::{outbox_event, webhook_delivery},
    services::{deliveries, signatures::standard},
};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_sibling},
    on_both_databases,
};

/// What the receiver got: (webhook-id, webhook-timestamp, webhook-signature, body).
type Received = Arc<Mutex<Vec<(String, String, String, String)>>>;

struct Receiver {
    url: String,
    received: Received,
    status: Arc<AtomicU16>,
}

async fn receiver() -> Receiver {
    let received: Received = Arc::default();
    let status = Arc::new(AtomicU16::new(200));
    let router = Router::new()
        .route(
            "/hook",
            post(
                |State((log, status)): State<(Received, Arc<AtomicU16>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned()
                    };
                    log.lock().unwrap().push((
                        h("webhook-id"),
                        h("webhook-timestamp"),
                        h("webhook-signature"),
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
                },
            ),
        )
        .with_state((received.clone(), status.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Receiver {
        url,
        received,
        status,
    }
}

async fn wait_until<F: Fn() -> bool>(what: &str, condition: F) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn setup(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane", "jane@example.com").await
}

async fn buy(app: &TestApp, code: &Value, id: &str) {
    let response = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": id, "event": "purchase", "referral_code": code}),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
}

async fn events_arrive_signed_and_failures_are_retried(app: TestApp) {
    let jane = setup(&app).await;
    let hook = receiver().await;
    let (endpoint, secret) = deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        &hook.url,
        "CRM",
        &["lead.qualified".to_owned(), "reward.created".to_owned()],
    )
    .await
    .unwrap();
    buy(&app, &jane["code"], "o1").await;
    wait_until("two webhooks", || hook.received.lock().unwrap().len() >= 2).await;
    let got = hook.received.lock().unwrap().clone();
    let types: Vec<String> = got
        .iter()
        .map(|(_, _, _, body)| {
            serde_json::from_str::<Value>(body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        types.contains(&"lead.qualified".to_owned())
            && types.contains(&"reward.created".to_owned())
    );
    for (id, ts, sig, body) in &got {
        assert!(id.starts_with("msg_"));
        standard::verify(
            &secret,
            Some(id),
            Some(ts),
            Some(sig),
            body.as_bytes(),
            Utc::now().timestamp(),
        )
        .expect("a valid Standard Webhooks signature");
    }
    // The receiver has the requests before the worker records the answers: wait for the log.
    let mut log = Vec::new();
    for _ in 0..200 {
        log = deliveries::log(&app.state, endpoint.id).await.unwrap();
        if log.len() == 2 && log.iter().all(|d| d.status == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter()
            .all(|d| d.status == "delivered" && d.attempts == 1),
        "{log:?}"
    );

    // The receiver fails: the delivery stays pending with a later retry and the error logged.
    hook.status.store(500, Ordering::SeqCst);
    buy(&app, &jane["code"], "o2").await;
    let db = app.db.clone();
    for _ in 0..100 {
        let failed = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::LastStatus.eq(500))
            .count(&db)
            .await
            .unwrap();
        if failed >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = deliveries::log(&app.state, endpoint.id).await.unwrap();
    let failing: Vec<_> = log.iter().filter(|d| d.last_status == Some(500)).collect();
    assert_eq!(failing.len(), 2, "{log:?}");
    for d in &failing {
        assert_eq!(d.status, "pending");
        assert_eq!(d.attempts, 1);
        assert!(
            d.next_attempt_at > Utc::now(),
            "retried later, with backoff"
        );
    }
    let endpoints = deliveries::endpoints(&app.state).await.unwrap();
    assert!(endpoints[0].failing_since.is_some());
    assert!(
        endpoints[0].enabled,
        "one failure does not disable an endpoint"
    );

    // The receiver is fixed; a replay sends at once, with the same webhook-id.
    hook.status.store(200, Ordering::SeqCst);
    let before = hook.received.lock().unwrap().len();
    deliveries::replay(&app.state, failing[0].id).await.unwrap();
    wait_until("the replay", || {
        hook.received.lock().unwrap().len() > before
    })
    .await;
    let last = hook.received.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, failing[0].event_id);
    wait_until("the replay recorded", || {
        futures_block(deliveries::log(&app.state, endpoint.id))
            .iter()
            .any(|d| d.id == failing[0].id && d.status == "delivered")
    })
    .await;
    assert!(
        deliveries::endpoints(&app.state).await.unwrap()[0]
            .failing_since
            .is_none(),
        "a success clears the failure notice"
    );
    assert!(
        deliveries::create_endpoint(
            &app.state,
            &app::ssr::services::audit::Actor::command_line(),
            "ftp://x",
            "",
            &["lead.created".to_owned()]
        )
        .await
        .is_err()
    );
    assert!(
        deliveries::create_endpoint(
            &app.state,
            &app::ssr::services::audit::Actor::command_line(),
            &hook.url,
            "",
            &["lead.eaten".to_owned()]
        )
        .await
        .is_err()
    );
}

/// Runs a future to completion from a sync closure (the test runtime has spare threads).
fn futures_block<T>(
    future: impl std::future::Future<Output = Result<T, app::error::AppError>>,
) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future)).unwrap()
}

async fn two_processes_deliver_every_event_exactly_once(app: TestApp) {
    let jane = setup(&app).await;
    let hook = receiver().await;
    deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        &hook.url,
        "all",
        &["*".to_owned()],
    )
    .await
    .unwrap();
    let (_sibling, _stop) = spawn_sibling(&app).await;
    for i in 0..40 {
        buy(&app, &jane["code"], &format!("o{i}")).await;
    }
    let expected = webhook_delivery::Entity::find()
        .count(&app.db)
        .await
        .unwrap() as usize;
    assert!(
        expected >= 40 * 3,
        "lead.created, lead.qualified, reward.created, reward.due"
    );
    wait_until("every delivery", || {
        hook.received.lock().unwrap().len() >= expected
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = hook.received.lock().unwrap().clone();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for (id, ..) in &got {
        *per_id.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(got.len(), expected, "no event delivered twice");
    assert!(per_id.values().all(|n| *n == 1));
}

/// A receiver that answers 500 after `delay`, counting its requests: an endpoint that is down
/// and slow about it.
async fn slow_failing_receiver(delay: Duration) -> (String, Arc<Mutex<usize>>) {
    let hits: Arc<Mutex<usize>> = Arc::default();
    let router = Router::new()
        .route(
            "/hook",
            post(move |State(hits): State<Arc<Mutex<usize>>>| async move {
                *hits.lock().unwrap() += 1;
                tokio::time::sleep(delay).await;
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, hits)
}

/// Writes `n` due deliveries to `endpoint` of events nobody else receives, as a backlog that
/// built up while it was down.
async fn backlog(app: &TestApp, endpoint: i64, n: usize) {
    let now = Utc::now();
    for i in 0..n {
        let event = outbox_event::ActiveModel {
            event_id: Set(format!("msg_backlog_{endpoint}_{i}")),
            event_type: Set("lead.created".to_owned()),
            payload: Set(json!({"type": "lead.created", "data": {"id": i}}).to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
        webhook_delivery::ActiveModel {
            outbox_id: Set(event.id),
            endpoint_id: Set(endpoint),
            status: Set("pending".to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now - chrono::Duration::minutes(5)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

async fn a_dead_endpoints_backlog_never_delays_a_live_one(app: TestApp) {
    let jane = setup(&app).await;
    let actor = app::ssr::services::audit::Actor::command_line();
    let (slow_url, slow_hits) = slow_failing_receiver(Duration::from_millis(500)).await;
    let (dead, _) = deliveries::create_endpoint(
        &app.state,
        &actor,
        &slow_url,
        "down",
        &["reward.issued".to_owned()],
    )
    .await
    .unwrap();
    let (disabled, _) = deliveries::create_endpoint(
        &app.state,
        &actor,
        &slow_url,
        "off",
        &["reward.issued".to_owned()],
    )
    .await
    .unwrap();
    deliveries::set_enabled(&app.state, &actor, disabled.id, false)
        .await
        .unwrap();
    // 200 due deliveries to the dead endpoint: at 500 ms each, 8 at a time, 12.5 s of work
    // ahead of anything newer if the worker took the oldest first. 50 to the disabled one.
    backlog(&app, dead.id, 200).await;
    backlog(&app, disabled.id, 50).await;
    let hook = receiver().await;
    deliveries::create_endpoint(
        &app.state,
        &actor,
        &hook.url,
        "live",
        &["lead.qualified".to_owned()],
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    buy(&app, &jane["code"], "o-live").await;
    wait_until("the live endpoint's event", || {
        !hook.received.lock().unwrap().is_empty()
    })
    .await;
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(4),
        "the live endpoint waited {waited:?} behind the dead one's backlog"
    );
    assert!(
        *slow_hits.lock().unwrap() > 0,
        "the dead endpoint is still tried, at its share"
    );
    // Nothing of the disabled endpoint's backlog was claimed or tried.
    let touched = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(disabled.id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(touched.len(), 50);
    assert!(
        touched
            .iter()
            .all(|d| d.attempts == 0 && d.locked_until.is_none() && d.status == "pending"),
        "a disabled endpoint's deliveries wait untouched"
    );
}

on_both_databases!(
    events_arrive_signed_and_failures_are_retried,
    two_processes_deliver_every_event_exactly_once,
    a_dead_endpoints_backlog_never_delays_a_live_one,
);

/// An outbound endpoint's URL can be its own credential (a Zapier or Slack hook): a viewer sees
/// where it goes, not the URL, in the list and on its page (with its delivery log); an owner sees
/// it whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_where_an_endpoint_goes_but_not_its_url() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    const SECRET_PATH: &str = "hooks/catch/123/s3cr3t-path";
    // Nothing listens on port 9: the delivery fails and is in the log.
    let url = format!("http://127.0.0.1:9/{SECRET_PATH}");
    let (endpoint, _) = deliveries::create_endpoint(
        &app.state,
        &app::ssr::services::audit::Actor::command_line(),
        &url,
        "Zapier",
        &["referrer.created".to_owned()],
    )
    .await
    .unwrap();
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane", "jane@example.com").await;
    let id = endpoint.id.to_string();

    app.log_in_as("viewer@example.com", app::domain::roles::Role::Viewer)
        .await;
    let (status, list) = app.rpc("integrations", &[]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (status, detail) = app.rpc("webhook_endpoint", &[("id", &id)]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    for body in [&list, &detail] {
        let text = body.to_string();
        assert!(!text.contains("s3cr3t"), "a viewer sees the URL: {text}");
        assert!(text.contains("http://127.0.0.1:9/…"), "{text}");
    }
    assert!(
        !detail["deliveries"].as_array().unwrap().is_empty(),
        "the log is still shown"
    );

    app.log_in_as("owner@example.com", app::domain::roles::Role::Owner)
        .await;
    let (_, list) = app.rpc("integrations", &[]).await;
    let (_, detail) = app.rpc("webhook_endpoint", &[("id", &id)]).await;
    assert_eq!(list["endpoints"][0]["url"], url.as_str());
    assert_eq!(detail["endpoint"]["url"], url.as_str());
}

/// By default webhooks go to public addresses only: an endpoint at a loopback, private or
/// link-local address (cloud metadata) is refused when it is saved, and one saved earlier (or
/// while private networks were allowed) is refused when it is delivered, its receiver never
/// reached and the reason in the delivery log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_unless_allowed() {
    let app =
        crate::helpers::spawn_sqlite_with(&[("HANDOFF_ALLOW_PRIVATE_NETWORKS", "false")]).await;
    let jane = setup(&app).await;
    let hook = receiver().await;
    let actor = app::ssr::services::audit::Actor::command_line();
    let events = ["lead.qualified".to_owned()];
    for url in [
        hook.url.as_str(),
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://localhost:8080/hook",
        "http://10.0.0.7/hook",
    ] {
        let refused = deliveries::create_endpoint(&app.state, &actor, url, "", &events)
            .await
            .expect_err(url);
        assert!(
            refused.to_string().contains("public addresses only"),
            "{url}: {refused}"
        );
    }
    assert_eq!(
        app::ssr::entities::webhook_endpoint::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "nothing saved"
    );
    // Saved before the check existed: a public address, changed to the receiver's.
    let (endpoint, _) = deliveries::create_endpoint(
        &app.state,
        &actor,
        "https://hooks.example.com/x",
        "",
        &events,
    )
    .await
    .unwrap();
    app::ssr::entities::webhook_endpoint::Entity::update_many()
        .col_expr(
            app::ssr::entities::webhook_endpoint::Column::Url,
            sea_orm::sea_query::Expr::value(hook.url.clone()),
        )
        .filter(app::ssr::entities::webhook_endpoint::Column::Id.eq(endpoint.id))
        .exec(&app.db)
        .await
        .unwrap();
    buy(&app, &jane["code"], "o1").await;
    let mut refused = None;
    for _ in 0..200 {
        refused = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::LastError.is_not_null())
            .one(&app.db)
            .await
            .unwrap();
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("the delivery was attempted");
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a public one"),
        "{refused:?}"
    );
    assert!(hook.received.lock().unwrap().is_empty(), "never reached");
}
