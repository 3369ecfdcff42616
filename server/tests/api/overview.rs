//! The campaign overview (`/admin`, the admin's first page): its numbers come from the
//! maintained counters and match what happened; the chart is server-drawn SVG; bad input and
//! roles without the right are refused.

use app::domain::roles::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_counters_agree, clicks_in_db},
    on_both_databases,
};

fn link_path(referrer: &Value) -> String {
    let link = referrer["link"].as_str().unwrap();
    url::Url::parse(link).unwrap().path().to_owned()
}

async fn lead(app: &TestApp, campaign: &str, email: &str, referrer: &Value) {
    let response = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": campaign, "email": email, "referral_code": referrer["code"]}),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

async fn the_overview_counts_what_happened(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.campaign(json!({"name": "Other", "slug": "other"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    let olga = app.referrer("other", "Olga", "olga@example.com").await;
    for referrer in [&jane, &jane, &olga] {
        assert!(
            app.get(&link_path(referrer))
                .await
                .status()
                .is_redirection()
        );
    }
    assert_eq!(clicks_in_db(&app, 3).await, 3);
    lead(&app, "spring", "f1@example.com", &jane).await;
    lead(&app, "spring", "f2@example.com", &jane).await;
    lead(&app, "spring", "f3@example.com", &omar).await;
    lead(&app, "other", "f4@example.com", &olga).await;
    // f1 buys: qualified, and Jane earns the campaign's reward.
    let bought = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "o-1", "event": "purchase",
                "email": "f1@example.com", "amount": 4900, "currency": "usd"}),
        )
        .await;
    assert_eq!(bought.status(), StatusCode::CREATED);

    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, spring) = app
        .rpc("campaign_overview", &[("campaign", "spring")])
        .await;
    assert_eq!(status, StatusCode::OK, "{spring}");
    assert_eq!(spring["campaign"], json!(["spring", "Spring"]));
    assert_eq!(
        spring["totals"],
        json!({"clicks": 2, "leads": 3, "qualified": 1})
    );
    let series = spring["series"].as_array().unwrap();
    assert_eq!(series.len(), 30);
    assert_eq!(
        series[29]["tally"], spring["totals"],
        "all of it happened today"
    );
    assert_eq!(
        series[0]["tally"],
        json!({"clicks": 0, "leads": 0, "qualified": 0})
    );
    let top = spring["top_referrers"].as_array().unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!(top[0]["name"], "Jane");
    assert_eq!(
        top[0]["tally"],
        json!({"clicks": 2, "leads": 2, "qualified": 1})
    );
    assert_eq!(top[1]["name"], "Omar");
    let rewards = spring["rewards"].as_array().unwrap();
    assert_eq!(rewards.len(), 1, "{rewards:?}");
    assert_eq!(rewards[0]["rewards"], 1);
    assert!(spring["channels"].to_string().contains(r#"["link",2]"#));
    let svg = spring["chart_svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<rect") && svg.contains("max 3"));

    // All campaigns together, by week.
    let (status, all) = app.rpc("campaign_overview", &[("by", "week")]).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["campaign"], Value::Null);
    assert_eq!(
        all["totals"],
        json!({"clicks": 3, "leads": 4, "qualified": 1})
    );
    let weeks = all["series"].as_array().unwrap();
    assert_eq!(weeks.len(), 26);
    assert_eq!(weeks[25]["tally"], all["totals"]);
    assert_eq!(all["top_referrers"][0]["name"], "Jane");
    assert_eq!(all["campaigns"].as_array().unwrap().len(), 2);

    // Bad input: a clear answer.
    let (status, bad) = app.rpc("campaign_overview", &[("by", "month")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad.to_string().contains("invalid_period"), "{bad}");
    let (status, _) = app.rpc("campaign_overview", &[("campaign", "nope")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page itself, as a browser without JavaScript gets it.
    let page = app.get("/admin?campaign=spring").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<svg class=\"tally-chart\""),
        "the chart is in the page"
    );
    assert!(html.contains("Top referrers") && html.contains(">Jane</a>"));
    assert!(html.contains("33.3 %"), "1 qualified of 3 leads");

    // A sales rep sees none of it.
    app.log_in_as("sales@example.com", Role::Sales).await;
    let (status, _) = app.rpc("campaign_overview", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert_counters_agree(&app).await;
}

on_both_databases!(the_overview_counts_what_happened);
