//! Email worker throughput: writes N rendered emails into the outbox of a fresh SQLite database,
//! then lets the real worker round (`workers::email::run_once`: claim, send over SMTP, record)
//! send them all to an SMTP server on loopback (the test suite's), and reports messages per
//! second. As a baseline it also sends the same messages with lettre alone, no database.
//!
//!   cargo run --release -p server --example bench_email [N]      (default 2000)

#[path = "../tests/api/smtp.rs"]
#[allow(dead_code)]
mod smtp;

use std::{sync::Arc, time::Instant};

use app::{
    domain::emails::EmailKind,
    ssr::{
        db,
        entities::email,
        services::emails::{
            compose::Rendered,
            queue::{self, Draft},
            smtp::{Mailer, SMTP_CONNECTIONS, SmtpUrl},
        },
        state::RuntimeSettings,
    },
};
use chrono::Utc;
use futures_util::StreamExt;
use sea_orm::EntityTrait;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("handoff-bench-email-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    let conn = db::connect(&url).await?;
    db::migrate(&conn).await?;

    let server = smtp::SmtpServer::start().await;
    let smtp_url = SmtpUrl::parse(&server.url()).map_err(anyhow::Error::msg)?;
    let mailer =
        Mailer::new(&smtp_url, "refer@shop.test".parse()?, None).map_err(anyhow::Error::msg)?;
    let settings = RuntimeSettings {
        public_url: "http://127.0.0.1:3000".into(),
        secret: Arc::from(&b"0123456789abcdef0123456789abcdef"[..]),
        secure_cookies: false,
        data_dir: dir.clone(),
        stripe_webhook_secret: None,
        trusted_proxies: Vec::new(),
        allow_private_networks: false,
        rate_limits: Default::default(),
        preview_copy_bytes: 0,
        email_sending: true,
        smtp_from: "refer@shop.test".into(),
        smtp_reply_to: None,
    };
    let html = format!("<p>{}</p>", "Your link and your code. ".repeat(120));
    let text = "Your link and your code. ".repeat(60);
    let drafts: Vec<Draft> = (0..n)
        .map(|i| Draft {
            kind: EmailKind::LinkAndCode,
            campaign_id: None,
            referrer_id: None,
            to: format!("r{i}@example.com"),
            rendered: Rendered {
                subject: format!("Your referral link and code ({i})"),
                html: html.clone(),
                text: text.clone(),
            },
            dedupe_key: None,
        })
        .collect();
    for chunk in drafts.chunks(500) {
        queue::enqueue(&conn, chunk.to_vec(), "bench.test", Utc::now()).await?;
    }

    let start = Instant::now();
    loop {
        let claimed = server::workers::email::run_once(&conn, &mailer, &settings).await?;
        if claimed == 0 {
            break;
        }
    }
    let worker_secs = start.elapsed().as_secs_f64();
    let received = server.wait_for(n, 10).await.len();
    assert_eq!(received, n, "every email arrived");

    // Baseline: the same messages with lettre alone, as many at a time as the worker, no database.
    let rows = email::Entity::find().all(&conn).await?;
    let start = Instant::now();
    futures_util::stream::iter(rows.iter())
        .map(|row| mailer.send(row, mailer.configured(), None))
        .buffer_unordered(SMTP_CONNECTIONS as usize)
        .collect::<Vec<_>>()
        .await;
    let bare_secs = start.elapsed().as_secs_f64();

    println!(
        "email worker: {n} emails in {worker_secs:.2} s = {:.0} messages/s (target >= 200)",
        n as f64 / worker_secs
    );
    println!(
        "lettre alone (baseline, same messages, no database): {:.0} messages/s; worker/baseline = {:.2}",
        n as f64 / bare_secs,
        bare_secs / worker_secs
    );
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
