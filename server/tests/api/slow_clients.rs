//! Slow and idle clients cannot hold the server (issue 22 §1): a connection that does not send
//! its headers in time is closed, and so is an idle keep-alive one; a request whose body
//! trickles in is answered `408` at the request timeout (uploads get the longer upload timeout);
//! past the connection cap, new connections wait until one closes, and one address cannot hold
//! more than its share.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_sqlite_with};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// What the server sent until it closed the connection, or `None` if it was still open after
/// `limit`.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin), limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut got)).await {
        // A reset counts as closed too.
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let app = spawn_sqlite_with(&[("HANDOFF_TIMEOUTS", "headers=1")]).await;

    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: handoff\r\n")
        .await
        .unwrap();
    assert!(
        until_closed(&mut half, Duration::from_secs(6))
            .await
            .is_some(),
        "a client that never finishes its headers is cut off"
    );

    // A whole request is answered; the connection, kept alive and then idle, is closed after.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: handoff\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut idle, Duration::from_secs(6))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Writes `head`, then `bytes` bytes of body one at a time, `pause` apart (stopping when the
/// server has closed the connection).
async fn trickle(
    stream: &mut (impl AsyncWrite + Unpin),
    head: &str,
    bytes: usize,
    pause: Duration,
) {
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..bytes {
        if stream.write_all(b"a").await.is_err() {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_answered_408_but_an_upload_gets_its_longer_time() {
    let app = spawn_sqlite_with(&[("HANDOFF_TIMEOUTS", "request=2 body=30")]).await;

    // The friend form: each pause is far under the body timeout, the whole far over 2 s.
    let (mut reading, mut writing) = connect(&app).await.into_split();
    let head = "POST /f/spring HTTP/1.1\r\nHost: handoff\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
    let writer = tokio::spawn(async move {
        trickle(&mut writing, head, 40, Duration::from_millis(250)).await;
        writing
    });
    let answer = until_closed(&mut reading, Duration::from_secs(8))
        .await
        .expect("answered and closed");
    writer.abort();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A CSV upload to the API trickling as slowly is still being read after the request timeout.
    let mut upload = connect(&app).await;
    let head = format!(
        "POST /api/v1/conversions/import?campaign=spring HTTP/1.1\r\nHost: handoff\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n",
        app.api_key
    );
    trickle(&mut upload, &head, 12, Duration::from_millis(250)).await;
    assert!(
        until_closed(&mut upload, Duration::from_secs(1))
            .await
            .is_none(),
        "an upload is not cut off at the request timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_wait_for_a_free_one() {
    let app = spawn_sqlite_with(&[
        ("HANDOFF_MAX_CONNECTIONS", "2"),
        ("HANDOFF_TIMEOUTS", "headers=60"),
    ])
    .await;
    let fresh_client = || {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(1500))
            .build()
            .unwrap()
    };
    let first = connect(&app).await;
    let _second = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        fresh_client()
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .is_err(),
        "two idle connections fill the cap: a third waits"
    );
    drop(first);
    let metrics = fresh_client()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("served once a connection closed")
        .text()
        .await
        .unwrap();
    let accepted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("handoff_connections_accepted_total "))
        .expect("the accepted count on /metrics")
        .parse()
        .unwrap();
    assert!(accepted >= 3, "{metrics}");
    let open: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("handoff_connections_open "))
        .expect("the open count on /metrics")
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&open),
        "never more than the cap: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let app = spawn_sqlite_with(&[("HANDOFF_MAX_CONNECTIONS_PER_CLIENT", "2")]).await;
    let _first = connect(&app).await;
    let _second = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = connect(&app).await;
    assert_eq!(
        until_closed(&mut third, Duration::from_secs(3)).await,
        Some(String::new()),
        "the third from one address is closed unanswered"
    );
    // Another address (loopback has all of 127/8) is served as usual.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket
        .connect(app.address.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: handoff\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut other, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        app.state
            .public_limits
            .connections
            .refused_per_client
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
