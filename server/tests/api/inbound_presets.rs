//! Each integration tool's example request body (`fixtures/inbound/`, rebuilt from the vendors'
//! documentation: see its README) posted to a source made with that tool's preset, unchanged:
//! the preset's mapping must read the event id, email, code, amount, currency, event and time
//! the tool sends, on both databases.

use app::ssr::{entities::conversion_event, services::inbound};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{helpers::TestApp, on_both_databases, webhooks::post_source};

/// What one fixture must map to.
struct Expected {
    file: &'static str,
    preset: &'static str,
    event_id: &'static str,
    email: Option<&'static str>,
    amount_minor: Option<i64>,
    currency: Option<&'static str>,
    event: &'static str,
    /// `None`: the time it arrived.
    occurred_at: Option<&'static str>,
}

const EXPECTED: [Expected; 6] = [
    Expected {
        file: "zapier.json",
        preset: "zapier",
        event_id: "5834110976153",
        email: Some("friend@example.com"),
        amount_minor: Some(24_900),
        currency: Some("USD"),
        event: "purchase",
        occurred_at: Some("2025-03-14T15:09:26Z"),
    },
    Expected {
        file: "make.json",
        preset: "make",
        event_id: "1001",
        email: Some("friend@example.com"),
        amount_minor: Some(24_900),
        currency: Some("USD"),
        event: "purchase",
        occurred_at: Some("2025-03-14T15:09:26Z"),
    },
    Expected {
        file: "n8n.json",
        preset: "n8n",
        event_id: "wc-1001",
        email: Some("friend@example.com"),
        amount_minor: Some(24_900),
        currency: Some("USD"),
        event: "purchase",
        occurred_at: Some("2025-03-14T15:09:26Z"),
    },
    Expected {
        file: "hubspot_deal.json",
        preset: "hubspot",
        event_id: "18204673342",
        // A deal has no email; the code names the referrer.
        email: None,
        amount_minor: Some(24_900),
        currency: Some("USD"),
        event: "qualified_lead",
        // `closedate`, in milliseconds.
        occurred_at: Some("2025-03-14T15:09:26Z"),
    },
    Expected {
        file: "hubspot_contact.json",
        preset: "hubspot_contact",
        event_id: "3234574",
        email: Some("friend@example.com"),
        amount_minor: None,
        currency: None,
        event: "qualified_lead",
        occurred_at: None,
    },
    Expected {
        file: "salesforce_flow.json",
        preset: "salesforce",
        event_id: "0065g00000XyZ12AAB",
        email: Some("friend@example.com"),
        amount_minor: Some(24_900),
        currency: Some("USD"),
        event: "contract_signed",
        occurred_at: Some("2025-03-14T00:00:00Z"),
    },
];

fn fixture(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/fixtures/inbound")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn every_tool_s_payload_maps_through_its_preset(app: TestApp) {
    app.campaign(serde_json::json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let code = jane["code"].as_str().unwrap();
    let actor = app::ssr::services::audit::Actor::command_line();
    // Every preset the admin can choose is covered here but `custom`, which is `zapier`'s.
    let covered: Vec<&str> = EXPECTED.iter().map(|e| e.preset).collect();
    for preset in inbound::PRESETS {
        assert!(
            preset == "custom" || covered.contains(&preset),
            "no example payload for the {preset} preset"
        );
    }
    for expected in &EXPECTED {
        let created = inbound::create_source(
            &app.state,
            &actor,
            "spring",
            expected.file,
            expected.preset,
            false,
        )
        .await
        .unwrap();
        let body = fixture(expected.file).replace("{{CODE}}", code);
        let arrived = Utc::now();
        let (status, answer) = post_source(&app, &created.token, &[], &body).await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{}: {status} {answer}",
            expected.file
        );
        let stored = conversion_event::Entity::find()
            .filter(conversion_event::Column::EventId.eq(expected.event_id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{}: no event {}", expected.file, expected.event_id));
        let what = expected.file;
        assert_eq!(stored.name, expected.event, "{what}");
        assert_eq!(stored.email.as_deref(), expected.email, "{what}");
        assert_eq!(stored.referrer_id, jane["id"].as_i64(), "{what}");
        assert_eq!(stored.amount_minor, expected.amount_minor, "{what}");
        assert_eq!(stored.currency.as_deref(), expected.currency, "{what}");
        match expected.occurred_at {
            Some(at) => assert_eq!(
                stored.occurred_at,
                DateTime::parse_from_rfc3339(at).unwrap(),
                "{what}"
            ),
            None => assert!(
                (stored.occurred_at - arrived).num_seconds().abs() < 60,
                "{what}: {}",
                stored.occurred_at
            ),
        }
        // Sent twice (a tool's retry), it is the same conversion.
        let (status, again) = post_source(&app, &created.token, &[], &body).await;
        assert_eq!(status, StatusCode::OK, "{what}: {again}");
    }
}

on_both_databases!(every_tool_s_payload_maps_through_its_preset);
