//! The sales desk (`/admin/sales` and its server functions) and `POST /api/v1/leads` with a
//! phone and an order: a code said aloud is read right or answered with "did you mean" and the
//! referrer's name; the duplicate rules are every other door's; bad input changes nothing; the
//! sales role records and sees only its own entries.

use app::{
    domain::roles::Role,
    ssr::entities::{conversion_event, lead, lead_event, reward},
};
use reqwest::{StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, one_typo},
    on_both_databases,
};

/// A campaign with name-based codes (`OLIVIA-7K4`), and two referrers. Olivia's code is all
/// look-alike letters in its name part (O, L, I), as a customer would say and a rep would type it.
async fn setup(app: &TestApp) -> (Value, Value) {
    app.campaign(json!({"name": "Spring", "slug": "spring", "code_style": "name_based"}))
        .await;
    let olivia = app
        .referrer("spring", "Olivia Lund", "olivia@example.com")
        .await;
    let omar = app.referrer("spring", "Omar", "omar@example.com").await;
    assert!(olivia["code"].as_str().unwrap().starts_with("OLIVIA-"));
    (olivia, omar)
}

/// The desk's form, every field present as the page sends it.
fn entry<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = [
        "campaign", "code", "name", "email", "phone", "note", "order_id", "amount", "currency",
    ]
    .into_iter()
    .map(|key| (key, ""))
    .collect();
    form[0].1 = "spring";
    for (key, value) in fields {
        match form.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => form.push((key, value)),
        }
    }
    form
}

async fn record(app: &TestApp, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    app.rpc("sales_record", &entry(fields)).await
}

async fn leads_in_db(app: &TestApp) -> u64 {
    lead::Entity::find().count(&app.db).await.unwrap()
}

async fn timeline(app: &TestApp, lead_id: i64) -> Vec<(String, String)> {
    lead_event::Entity::find()
        .filter(lead_event::Column::LeadId.eq(lead_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.detail))
        .collect()
}

async fn a_sales_rep_records_a_said_code_and_sees_only_their_own_entries(app: TestApp) {
    let (olivia, omar) = setup(&app).await;
    let code = olivia["code"].as_str().unwrap();
    app.log_in_as("sales@example.com", Role::Sales).await;

    // Said aloud and typed in lower case with spaces: o, l and i are read as 0, 1 and 1.
    let said = code.to_lowercase().replace('-', " ");
    let (status, reply) = record(
        &app,
        &[
            ("code", &said),
            ("name", "Fatima Khan"),
            ("email", "fatima@example.com"),
            ("note", "Met at the trade fair, stand 12."),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let recorded = &reply["Recorded"];
    assert_eq!(recorded["created"], true);
    assert_eq!(recorded["lead"]["referrer_id"], olivia["id"]);
    assert_eq!(recorded["lead"]["referrer_name"], "Olivia Lund");
    assert_eq!(recorded["lead"]["source"], "sales");
    assert_eq!(recorded["lead"]["status"], "pending");
    let fatima = recorded["lead"]["id"].as_i64().unwrap();
    let story = timeline(&app, fatima).await;
    assert!(
        story
            .iter()
            .any(|(k, d)| k == "entered" && d == "Entered by sales@example.com at the sales desk."),
        "{story:?}"
    );
    assert!(story.contains(&("note".into(), "Met at the trade fair, stand 12.".into())));
    assert!(
        story
            .iter()
            .any(|(k, d)| k == "captured" && d.contains("at the sales desk")),
        "{story:?}"
    );

    // The same friend again with another code: the first referrer keeps the lead.
    let (_, again) = record(
        &app,
        &[
            ("code", omar["code"].as_str().unwrap()),
            ("email", "Fatima@Example.com"),
            ("note", "Called back about delivery."),
        ],
    )
    .await;
    assert_eq!(again["Recorded"]["created"], false);
    assert_eq!(again["Recorded"]["lead"]["id"], fatima);
    assert_eq!(again["Recorded"]["lead"]["referrer_id"], olivia["id"]);
    // What the rep wrote the second time is kept on her timeline, saying who.
    let story = timeline(&app, fatima).await;
    assert!(
        story.contains(&(
            "note".into(),
            "Called back about delivery. (noted by sales@example.com at the sales desk)".into()
        )),
        "{story:?}"
    );

    // A phone instead of an email; the same number spaced otherwise is the same friend.
    let (_, by_phone) = record(
        &app,
        &[
            ("code", omar["code"].as_str().unwrap()),
            ("phone", "+44 20 7946 0958"),
        ],
    )
    .await;
    assert_eq!(by_phone["Recorded"]["created"], true, "{by_phone}");
    assert_eq!(by_phone["Recorded"]["lead"]["phone"], "+44 20 7946 0958");
    assert_eq!(by_phone["Recorded"]["lead"]["email"], "");
    let (_, same_phone) = record(&app, &[("code", code), ("phone", "+44 (20) 7946-0958")]).await;
    assert_eq!(same_phone["Recorded"]["created"], false);
    assert_eq!(same_phone["Recorded"]["lead"]["referrer_id"], omar["id"]);

    // A near miss: "did you mean", with whose code it is, and nothing recorded.
    let before = leads_in_db(&app).await;
    let typo = one_typo(code).to_lowercase();
    let (status, confirm) = record(&app, &[("code", &typo), ("email", "noor@example.com")]).await;
    assert_eq!(status, StatusCode::OK, "{confirm}");
    assert_eq!(confirm["Confirm"]["code"], code);
    assert_eq!(confirm["Confirm"]["referrer_name"], "Olivia Lund");
    assert_eq!(leads_in_db(&app).await, before, "nothing recorded");
    // Confirmed: recorded for the code meant.
    let (_, confirmed) = record(
        &app,
        &[
            ("code", &typo),
            ("confirm", code),
            ("email", "noor@example.com"),
        ],
    )
    .await;
    assert_eq!(confirmed["Recorded"]["lead"]["referrer_id"], olivia["id"]);

    // A lead from another door is not the rep's.
    let from_api = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "email": "api@example.com", "referral_code": code}),
        )
        .await;
    assert_eq!(from_api.status(), StatusCode::CREATED);

    let (status, mine) = app.rpc("sales_entries", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let emails: Vec<String> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}{}",
                l["email"].as_str().unwrap(),
                l["phone"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        emails,
        ["noor@example.com", "+44 20 7946 0958", "fatima@example.com"],
        "newest first, only what this rep recorded"
    );

    // Another rep sees none of it.
    app.log_in_as("sales2@example.com", Role::Sales).await;
    let (_, theirs) = app.rpc("sales_entries", &[]).await;
    assert_eq!(theirs["items"], json!([]));
}

async fn an_order_at_the_desk_qualifies_the_referral_once(app: TestApp) {
    let (olivia, _) = setup(&app).await;
    let code = olivia["code"].as_str().unwrap();
    app.log_in_as("sales@example.com", Role::Sales).await;
    let order = [
        ("code", code),
        ("email", "fatima@example.com"),
        ("order_id", "A-1001"),
        ("amount", "49.90"),
        ("currency", "usd"),
    ];
    let (status, first) = record(&app, &order).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["Recorded"]["order_outcome"], "qualified");
    assert_eq!(first["Recorded"]["order_duplicate"], false);
    assert_eq!(first["Recorded"]["lead"]["status"], "qualified");
    let lead_id = first["Recorded"]["lead"]["id"].as_i64().unwrap();
    let event = conversion_event::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            event.source.as_str(),
            event.event_id.as_str(),
            event.amount_minor,
            event.currency.as_deref()
        ),
        ("sales", "A-1001", Some(4990), Some("USD"))
    );
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 1);
    // The reward names the friend, not "Lead 1".
    let rewards = app.get_json("/api/v1/rewards?campaign=spring").await;
    assert_eq!(rewards["items"][0]["lead_name"], "fatima@example.com");
    assert_eq!(rewards["items"][0]["lead_id"], lead_id);

    // The same order again: recognised, nothing new.
    let (_, again) = record(&app, &order).await;
    assert_eq!(again["Recorded"]["order_duplicate"], true, "{again}");
    assert_eq!(again["Recorded"]["lead"]["id"], lead_id);
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 1);

    // A phone-only friend qualifies by their order too.
    let (_, by_phone) = record(
        &app,
        &[
            ("code", code),
            ("phone", "555 0100 222"),
            ("order_id", "A-1002"),
            ("amount", "€20,00"),
        ],
    )
    .await;
    assert_eq!(
        by_phone["Recorded"]["lead"]["status"], "qualified",
        "{by_phone}"
    );
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 2);
    crate::helpers::assert_counters_agree(&app).await;
}

async fn bad_input_at_the_desk_gets_a_clear_message_and_changes_nothing(app: TestApp) {
    let (olivia, _) = setup(&app).await;
    let code = olivia["code"].as_str().unwrap();
    let long_note = "n".repeat(1001);
    app.log_in_as("sales@example.com", Role::Sales).await;
    // (the fields typed, the error's code, words its message has)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("code", code)], "missing_contact", "email or phone"),
        (
            vec![("code", code), ("phone", "call me")],
            "invalid_phone",
            "only digits",
        ),
        (
            vec![("code", code), ("email", "not-an-email")],
            "invalid_email",
            "",
        ),
        (
            vec![("email", "a@example.com")],
            "missing_referral_code",
            "Enter the referral code",
        ),
        (
            vec![("code", "ZZZZ ZZZZ ZZZZ"), ("email", "a@example.com")],
            "unknown_referral_code",
            "",
        ),
        (
            vec![("code", code), ("email", "a@example.com"), ("amount", "10")],
            "missing_order_id",
            "order id",
        ),
        (
            vec![
                ("code", code),
                ("email", "a@example.com"),
                ("order_id", "B-1"),
                ("amount", "ten"),
            ],
            "invalid_amount",
            "",
        ),
        (
            vec![
                ("code", code),
                ("email", "a@example.com"),
                ("order_id", "B-1"),
                ("amount", "10"),
                ("currency", "DOLLARS"),
            ],
            "invalid_currency",
            "",
        ),
        (
            vec![
                ("code", code),
                ("email", "a@example.com"),
                ("note", &long_note),
            ],
            "invalid_note",
            "1000 characters",
        ),
        (
            vec![
                ("campaign", "nope"),
                ("code", code),
                ("email", "a@example.com"),
            ],
            "not_found",
            "",
        ),
    ];
    for (fields, want_code, want_text) in cases {
        let (status, reply) = record(&app, &fields).await;
        assert!(
            status.is_client_error(),
            "{fields:?} answered {status}: {reply}"
        );
        let text = reply.to_string();
        assert!(text.contains(want_code), "{fields:?}: {text}");
        assert!(text.contains(want_text), "{fields:?}: {text}");
    }
    assert_eq!(leads_in_db(&app).await, 0, "nothing recorded");
    assert_eq!(
        conversion_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

async fn only_owners_admins_and_sales_reps_reach_the_desk(app: TestApp) {
    let (olivia, _) = setup(&app).await;
    let code = olivia["code"].as_str().unwrap().to_owned();
    let fields = [("code", code.as_str()), ("email", "a@example.com")];

    // Signed out.
    let (status, _) = record(&app, &fields).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for role in [Role::Viewer, Role::Marketer] {
        app.log_in_as(&format!("{role}@example.com"), role).await;
        for endpoint in ["sales_desk", "sales_entries"] {
            let (status, _) = app.rpc(endpoint, &[]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {endpoint}");
        }
        let (status, _) = record(&app, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} records");
    }
    assert_eq!(leads_in_db(&app).await, 0);

    // A sales rep reaches nothing else: not the data, not another page's server functions.
    app.log_in_as("sales@example.com", Role::Sales).await;
    for endpoint in ["leads", "referrers", "campaigns"] {
        let (status, _) = app.rpc(endpoint, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "sales {endpoint}");
    }
    let (status, desk) = app.rpc("sales_desk", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(desk["campaigns"], json!([["spring", "Spring"]]));
    assert_eq!(desk["can_view_leads"], false);
    let page = app.get("/admin/sales").await.text().await.unwrap();
    assert!(page.contains("Record referral"));
    assert!(
        !page.contains("href=\"/admin/leads\""),
        "the sales rep's navigation has only the desk"
    );

    // An admin may record too, and may open the lead.
    app.log_in_as("admin@example.com", Role::Admin).await;
    let (status, reply) = record(&app, &fields).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, desk) = app.rpc("sales_desk", &[]).await;
    assert_eq!(desk["can_view_leads"], true);
}

async fn without_javascript_a_near_miss_comes_back_filled_in_and_is_confirmed(app: TestApp) {
    let (olivia, _) = setup(&app).await;
    let code = olivia["code"].as_str().unwrap();
    app.log_in_as("sales@example.com", Role::Sales).await;
    let typo = one_typo(code);
    let form = entry(&[
        ("code", &typo),
        ("name", "Fatima <b>Khan</b>"),
        ("email", "fatima@example.com"),
        ("order_id", "A-7"),
    ]);
    let post = |form: Vec<(String, String)>| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/rpc/sales_record", app.address))
                .header("Origin", &app.address)
                .header("Accept", "text/html")
                .header("Referer", format!("{}/admin/sales", app.address))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let owned = |form: &[(&str, &str)]| -> Vec<(String, String)> {
        form.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let response = post(owned(&form)).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let back = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(back.starts_with("/admin/sales"), "{back}");
    let page = app.get(&back).await.text().await.unwrap();
    assert!(page.contains("Did you mean"), "the suggestion is shown");
    assert!(page.contains(code) && page.contains("Olivia Lund"));
    assert!(
        page.contains("value=\"fatima@example.com\""),
        "the form is filled in again"
    );
    assert!(
        page.contains("Fatima &lt;b&gt;Khan&lt;/b&gt;"),
        "what was typed comes back escaped"
    );
    assert_eq!(leads_in_db(&app).await, 0);

    // The rep presses "Yes": the form posts again with `confirm`.
    let mut confirmed = owned(&form);
    confirmed.push(("confirm".to_owned(), code.to_owned()));
    let response = post(confirmed).await;
    assert!(response.status().is_redirection());
    let back = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let id = lead::Entity::find().one(&app.db).await.unwrap().unwrap().id;
    assert!(back.contains(&format!("recorded={id}")), "{back}");
    let page = app.get(&back).await.text().await.unwrap();
    assert!(page.contains("Recorded;"), "the success is said");
    assert!(!page.contains("Did you mean"));
    assert!(
        !page.contains("value=\"fatima@example.com\""),
        "the form is empty"
    );
    assert!(page.contains("Fatima &lt;b&gt;Khan&lt;/b&gt; (fatima@example.com)"));
}

async fn the_api_records_a_phone_lead_with_its_order_once(app: TestApp) {
    let (olivia, _) = setup(&app).await;
    let body = json!({
        "campaign": "spring",
        "phone": "+1 (555) 010-0199",
        "name": "Sam",
        "referral_code": olivia["code"],
        "note": "Called in from the radio ad.",
        "order": {"order_id": "crm-9", "amount": 12000, "currency": "USD"},
    });
    let response = app.post_api("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lead: Value = response.json().await.unwrap();
    assert_eq!(lead["status"], "qualified");
    assert_eq!(lead["phone"], "+1 (555) 010-0199");
    assert_eq!(lead["source"], "api");
    let story = timeline(&app, lead["id"].as_i64().unwrap()).await;
    assert!(story.contains(&("note".into(), "Called in from the radio ad.".into())));

    // The order id is the API's event id: sent again through conversions, it is a duplicate.
    let again = app
        .post_api(
            "/api/v1/conversions",
            &json!({"campaign": "spring", "event_id": "crm-9", "event": "purchase", "referral_code": olivia["code"]}),
        )
        .await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(reward::Entity::find().count(&app.db).await.unwrap(), 1);

    // Neither email nor phone: refused, nothing recorded.
    let response = app
        .post_api(
            "/api/v1/leads",
            &json!({"campaign": "spring", "referral_code": olivia["code"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "missing_contact");
    assert_eq!(leads_in_db(&app).await, 1);
}

on_both_databases!(
    a_sales_rep_records_a_said_code_and_sees_only_their_own_entries,
    an_order_at_the_desk_qualifies_the_referral_once,
    bad_input_at_the_desk_gets_a_clear_message_and_changes_nothing,
    only_owners_admins_and_sales_reps_reach_the_desk,
    without_javascript_a_near_miss_comes_back_filled_in_and_is_confirmed,
    the_api_records_a_phone_lead_with_its_order_once,
);
