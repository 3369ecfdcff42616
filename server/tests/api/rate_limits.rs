//! Per-client limits on the public endpoints: past its bucket a client gets 429 with
//! `Retry-After` and the refusal is counted on `/metrics`, while another client address (behind
//! a trusted proxy) is served as before.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_sqlite_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_gets_429_with_retry_after_and_others_are_served() {
    let app = spawn_sqlite_with(&[
        (
            "HANDOFF_RATE_LIMITS",
            "redirects=5 friend_form=2 webhooks=3 api=4",
        ),
        ("HANDOFF_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let link = jane["link"].as_str().unwrap().to_owned();
    let path = link
        .split_once("/r/")
        .map(|(_, s)| format!("/r/{s}"))
        .unwrap();
    let from = |address: &'static str| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        async move {
            client
                .get(url)
                .header("x-forwarded-for", address)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(from("203.0.113.7").await.status(), StatusCode::FOUND);
    }
    let refused = from("203.0.113.7").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=12).contains(&wait),
        "one token in 12 s at 5 a minute: {wait}"
    );
    assert_eq!(
        from("198.51.100.9").await.status(),
        StatusCode::FOUND,
        "another address is not held back"
    );

    // The API answers in its own shape.
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            app.client
                .get(format!("{}/api/v1/campaigns", app.address))
                .header("x-forwarded-for", "203.0.113.8")
                .bearer_auth(&app.api_key)
                .send()
                .await
                .unwrap(),
        );
    }
    let refused = last.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    // Webhooks and the friend form count too.
    for (i, expected) in [
        StatusCode::NOT_FOUND,
        StatusCode::NOT_FOUND,
        StatusCode::NOT_FOUND,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let answer = app
            .client
            .post(format!("{}/webhooks/in/no-such-token", app.address))
            .header("x-forwarded-for", "203.0.113.9")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "webhook {i}");
    }
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = app
            .client
            .post(format!("{}/f/spring", app.address))
            .header("x-forwarded-for", "203.0.113.10")
            .form(&[("name", "Friend"), ("email", "not an email")])
            .send()
            .await
            .unwrap();
        statuses.push(answer.status());
    }
    assert_ne!(statuses[1], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("handoff_rate_limited_total{endpoint=\"redirects\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("handoff_rate_limited_total{endpoint=\"api\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("handoff_rate_limited_total{endpoint=\"webhooks\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("handoff_clicks_dropped_total 0"),
        "{metrics}"
    );
}
