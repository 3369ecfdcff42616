//! Finding leads: one search box (a whole email or phone, an order id, a referral code, the start
//! of a name or email), day ranges and order, all in the page's address; and the CSV export of
//! the same view, streamed, behind the admin's session.

use app::{
    domain::roles::Role,
    ssr::{
        entities::lead,
        services::paging::{self, Order},
    },
};
use reqwest::{StatusCode, header};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// A campaign, two referrers and four leads: Élodie (by Jane's code, with order ORD-1001),
/// Ann (by Jane's code, a tagged Gmail address), a phone-only lead by Omar, and Bob by Omar.
async fn setup(app: &TestApp) -> (Value, Value, Vec<Value>) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let jane = app.referrer("spring", "Jane", "jane@example.com").await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    let mut leads = Vec::new();
    for body in [
        json!({"campaign": "spring", "name": "Élodie Durand", "email": "elodie@example.com",
               "referral_code": jane["code"],
               "order": {"order_id": "ORD-1001", "amount": 4900, "currency": "EUR"}}),
        json!({"campaign": "spring", "name": "Ann Lee", "email": "Ann.Lee+spring@gmail.com",
               "referral_code": jane["code"]}),
        json!({"campaign": "spring", "name": "=HYPERLINK(\"x\")", "phone": "+44 20 7946 0958",
               "referral_code": omar["code"]}),
        json!({"campaign": "spring", "name": "Bob", "email": "bob@example.org",
               "referral_code": omar["code"]}),
    ] {
        let response = app.post_api("/api/v1/leads", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        leads.push(response.json().await.unwrap());
    }
    (jane, omar, leads)
}

/// The ids `GET /api/v1/leads?{query}` lists, in order.
async fn found(app: &TestApp, query: &str) -> Vec<i64> {
    let page = app.get_json(&format!("/api/v1/leads?{query}")).await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {page}"))
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

fn id(lead: &Value) -> i64 {
    lead["id"].as_i64().unwrap()
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn one_box_finds_a_lead_by_what_the_admin_has_at_hand(app: TestApp) {
    let (jane, omar, leads) = setup(&app).await;
    let [elodie, ann, phone, bob] = [&leads[0], &leads[1], &leads[2], &leads[3]];

    // A whole email, written any way that normalizes to the same address.
    assert_eq!(found(&app, "q=ANNLEE%40gmail.com").await, [id(ann)]);
    // The start of a name, in any case and script, or of an email.
    assert_eq!(
        found(&app, &format!("q={}", encoded("élo"))).await,
        [id(elodie)]
    );
    assert_eq!(
        found(&app, &format!("q={}", encoded("ÉLODIE D"))).await,
        [id(elodie)]
    );
    assert_eq!(found(&app, "q=bob%40").await, [id(bob)]);
    assert!(
        found(&app, "q=durand").await.is_empty(),
        "a prefix, not any part"
    );
    // An order id, exactly as given.
    assert_eq!(found(&app, "q=ORD-1001").await, [id(elodie)]);
    // A phone number, however it is spaced.
    assert_eq!(found(&app, "q=%2B44+(20)+7946-0958").await, [id(phone)]);
    // A referral code typed as a customer says it: the referrer's leads, newest first.
    let code = omar["code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', " ");
    assert_eq!(
        found(&app, &format!("q={}", encoded(&code))).await,
        [id(bob), id(phone)]
    );
    // With the other filters.
    let jane_id = jane["id"].as_i64().unwrap();
    assert_eq!(
        found(&app, &format!("q=a&referrer_id={jane_id}")).await,
        [id(ann)]
    );
    assert!(found(&app, "q=ann&status=qualified").await.is_empty());
}

async fn days_and_order_narrow_and_sort_the_list(app: TestApp) {
    let (_, _, leads) = setup(&app).await;
    let all: Vec<i64> = leads.iter().rev().map(id).collect();
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    assert_eq!(found(&app, "").await, all, "newest first by default");
    assert_eq!(
        found(&app, &format!("from={}&to={}", day(0), day(0))).await,
        all,
        "one day holds the whole day"
    );
    assert!(found(&app, &format!("from={}", day(1))).await.is_empty());
    assert!(found(&app, &format!("to={}", day(-1))).await.is_empty());
    let oldest: Vec<i64> = leads.iter().map(id).collect();
    assert_eq!(found(&app, "sort=oldest").await, oldest);

    // Keyset paging in both orders: no lead twice, none left out.
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (rows, next) = paging::keyset(
                &app.db,
                lead::Entity::find(),
                lead::Column::Id,
                after,
                order,
                3,
                |r| r.id,
                "test",
            )
            .await
            .unwrap();
            seen.extend(rows.iter().map(|r| r.id));
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        let mut want = oldest.clone();
        if order == Order::NewestFirst {
            want.reverse();
        }
        assert_eq!(seen, want, "{order:?}");
    }
}

async fn bad_filters_are_refused_with_the_field(app: TestApp) {
    setup(&app).await;
    for (query, code, field) in [
        ("from=2026-13-01", "invalid_date", "from"),
        ("to=yesterday", "invalid_date", "to"),
        ("from=2026-12-08&to=2026-12-01", "invalid_date_range", "to"),
        ("sort=largest", "invalid_sort", "sort"),
        ("status=won", "invalid_status", "status"),
    ] {
        let response = app.get_api(&format!("/api/v1/leads?{query}")).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
}

async fn the_leads_tab_says_what_its_search_matched(app: TestApp) {
    let (jane, _, leads) = setup(&app).await;
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    // The server function the hydrated page calls, with the filter as one value.
    let (status, view) = app.rpc("leads", &[("filter[search]", "ORD-1001")]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["page"]["items"][0]["id"], leads[0]["id"]);
    assert_eq!(view["search_note"], "Leads with the order id ORD-1001");

    let code = jane["code"].as_str().unwrap();
    let page = app
        .get(&format!("/admin/leads?q={}&sort=oldest", encoded(code)))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Leads credited to the code {code} (Jane)")),
        "the page says how it read the text"
    );
    assert!(page.contains("Ann Lee") && page.contains("Élodie Durand"));
    assert!(!page.contains(">Bob<"), "only Jane's leads");
    assert!(
        page.contains(&format!(
            "href=\"/admin/leads/export.csv?q={}&amp;sort=oldest\"",
            encoded(code)
        )),
        "the export link carries the view's filters"
    );
}

async fn the_export_holds_the_view_and_defuses_formulas(app: TestApp) {
    let (_, omar, _) = setup(&app).await;
    let export = |query: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/admin/leads/export.csv?{query}", app.address))
                .send()
                .await
                .unwrap()
        }
    };
    // No session: the login page.
    let response = export(String::new()).await;
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()[header::LOCATION], "/admin/login");

    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let response = export(format!("referrer_id={}", omar["id"])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"leads-all-")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        app::ssr::services::lead_lists::EXPORT_HEADER.trim_end()
    );
    assert_eq!(lines.len(), 3, "Omar's two leads: {text}");
    assert!(lines[1].contains("\"Bob\"") && lines[1].contains("\"bob@example.org\""));
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"x\"\")\"")
            && lines[2].contains("\"'+44 20 7946 0958\""),
        "a name or phone that would run as a formula is text: {}",
        lines[2]
    );

    // A bad filter is a page with the reason, not a broken file.
    let response = export("from=someday".into()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("year-month-day"));
}

async fn a_sales_rep_can_neither_search_nor_export(app: TestApp) {
    setup(&app).await;
    app.log_in_as("rep@example.com", Role::Sales).await;
    let (status, _) = app.rpc("leads", &[("filter[search]", "ann")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app
        .client
        .get(format!("{}/admin/leads/export.csv", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn the_header_search_finds_campaigns_referrers_and_leads(app: TestApp) {
    let (jane, _, leads) = setup(&app).await;
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let (status, found) = app.rpc("search", &[("text", " spr ")]).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["text"], "spr");
    assert_eq!(found["campaigns"][0]["slug"], "spring");
    assert_eq!(found["referrers"].as_array().unwrap().len(), 0);

    // A referrer's code finds the referrer and the leads credited to it.
    let code = jane["code"].as_str().unwrap();
    let (_, found) = app.rpc("search", &[("text", code)]).await;
    assert_eq!(found["referrers"][0]["id"], jane["id"]);
    let lead_ids: Vec<&Value> = found["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(lead_ids, [&leads[1]["id"], &leads[0]["id"]]);
    assert_eq!(found["more_leads"], false);

    // The page, without JavaScript: a GET of the header's form.
    let page = app.get("/admin/search?q=ann").await.text().await.unwrap();
    assert!(page.contains("Results for “ann”"), "{page}");
    assert!(page.contains(&format!("href=\"/admin/leads/{}\"", leads[1]["id"])));
    assert!(page.contains("name=\"q\""), "the header's search box");
    let page = app.get("/admin/search?q=zzz").await.text().await.unwrap();
    assert!(page.contains("Nothing matches “zzz”."));

    app.log_in_as("rep@example.com", Role::Sales).await;
    let (status, _) = app.rpc("search", &[("text", "ann")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `sort=amount`: the largest qualifying amount first (newest first among equals), paged by a
/// lead id cursor that resumes exactly after the lead it names.
async fn leads_sort_by_the_amount_they_qualified_with(app: TestApp) {
    let (_, _, leads) = setup(&app).await;
    for (email, event_id, amount) in [
        ("ann.lee+spring@gmail.com", "ORD-2", 4900),
        ("bob@example.org", "ORD-3", 1000),
    ] {
        let response = app
            .post_api(
                "/api/v1/conversions",
                &json!({"campaign": "spring", "event_id": event_id, "event": "purchase",
                        "email": email, "amount": amount, "currency": "USD"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let (elodie, ann, phone, bob) = (id(&leads[0]), id(&leads[1]), id(&leads[2]), id(&leads[3]));
    assert_eq!(
        found(&app, "campaign=spring&sort=amount").await,
        [ann, elodie, bob, phone],
        "4900 (newer first), 4900, 1000, none"
    );
    assert_eq!(
        found(&app, &format!("campaign=spring&sort=amount&after={ann}")).await,
        [elodie, bob, phone],
        "after a lead of an amount others share, the older ones of that amount come next"
    );
    assert_eq!(
        found(&app, &format!("sort=amount&after={elodie}")).await,
        [bob, phone]
    );
    assert_eq!(
        found(&app, "campaign=spring&sort=amount&status=qualified").await,
        [ann, elodie, bob]
    );
    let page = app.get_json("/api/v1/leads?sort=amount").await;
    assert_eq!(page["items"][0]["amount_minor"], 4900);
    assert_eq!(page["items"][0]["amount_currency"], "USD");
    assert_eq!(page["items"][1]["amount_currency"], "EUR");
    assert_eq!(page["items"][3]["amount_minor"], 0);
    assert_eq!(page["items"][3]["amount_currency"], Value::Null);

    let response = app.get_api("/api/v1/leads?sort=biggest").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("newest, oldest or amount")
    );

    // The tab shows the amount, and the export carries it.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let html = app
        .get("/admin/leads?campaign=spring&sort=amount")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<option value="amount" selected"#),
        "the order is shown"
    );
    assert!(html.contains(r#"<td data-label="Amount" class="num">EUR 49.00</td>"#));
    let csv = app
        .get("/admin/leads/export.csv?campaign=spring&sort=amount")
        .await
        .text()
        .await
        .unwrap();
    let second = csv.lines().nth(2).unwrap();
    assert!(second.contains(r#""49.00","EUR""#), "{csv}");
}

on_both_databases!(
    leads_sort_by_the_amount_they_qualified_with,
    the_header_search_finds_campaigns_referrers_and_leads,
    one_box_finds_a_lead_by_what_the_admin_has_at_hand,
    days_and_order_narrow_and_sort_the_list,
    bad_filters_are_refused_with_the_field,
    the_leads_tab_says_what_its_search_matched,
    the_export_holds_the_view_and_defuses_formulas,
    a_sales_rep_can_neither_search_nor_export,
);
