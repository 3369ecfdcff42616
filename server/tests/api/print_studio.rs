//! The print studio beyond the PDF route: who may print (roles), the studio's own files behind
//! an admin session, the filters (search, joined after, never printed), the table tent, one
//! card as SVG and PNG, the print page's HTML, the saved texts, and the channel a printed QR
//! code's clicks are counted under.

use std::path::Path;

use app::domain::roles::Role;
use reqwest::{StatusCode, header};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Statement};
use serde_json::Value;

use crate::{
    helpers::{TestApp, clicks_in_db},
    on_both_databases,
    print::{PdfFile, rand_suffix, referrers, scan},
    qr::rasterise,
};

/// A server function called as a plain form post, as the studio's forms send it; its status.
async fn rpc(app: &TestApp, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}/rpc/{endpoint}", app.address))
        .header("Origin", &app.address)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The codes zbar finds in a PNG.
fn scan_png(png: &[u8]) -> Vec<String> {
    let path = std::env::temp_dir().join(format!(
        "handoff-card-{}-{}.png",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::write(&path, png).unwrap();
    let codes = scan(Path::new(&path));
    let _ = std::fs::remove_file(&path);
    codes
}

async fn a_marketer_prints_from_the_studio_a_viewer_cannot_and_nobody_signed_out_can(app: TestApp) {
    let made = referrers(&app, 3).await;
    let pdf = "/admin/print/spring/print.pdf?template=business-card&paper=a4";

    // Signed out: the login page.
    let response = app.get(pdf).await;
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()[header::LOCATION], "/admin/login");

    // A viewer sees data but prints nothing and saves no text.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    for path in [
        pdf,
        "/admin/print/spring/preview.svg",
        "/admin/print/spring/print.html",
        "/admin/print/spring/print.csv",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let card = format!("/admin/referrers/{}/card.png", made[1]["id"]);
    assert_eq!(app.get(&card).await.status(), StatusCode::FORBIDDEN);
    let texts = [
        ("campaign", "spring"),
        ("template", "flyer"),
        ("headline", "Viewers cannot"),
        ("body", ""),
    ];
    assert_eq!(
        rpc(&app, "print_texts_save", &texts).await.status(),
        StatusCode::FORBIDDEN
    );
    let page = app.get("/admin/print").await.text().await.unwrap();
    assert!(
        !page.contains("Preview: the first sheet"),
        "no studio for a viewer"
    );

    // A marketer prints every format.
    app.log_in_as("marketer@example.com", Role::Marketer).await;
    let page = app.get("/admin/print?campaign=spring").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Preview: the first sheet"),
        "the studio renders"
    );
    assert!(
        page.contains(r#"href="/admin/print""#),
        "the nav links the studio"
    );

    let response = app.get(pdf).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    let file = PdfFile::new(&response.bytes().await.unwrap());
    assert_eq!(file.info().0, 1);
    assert!(file.text().contains(made[2]["code"].as_str().unwrap()));

    let preview = app
        .get("/admin/print/spring/preview.svg?template=flyer")
        .await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(preview.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert!(
        preview.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let preview = preview.text().await.unwrap();
    // The first A4 sheet of flyers holds four; three referrers fill three places.
    assert_eq!(
        preview
            .matches(r#"role="img" aria-label="Spring, from "#)
            .count(),
        3
    );
    let codes = scan_png(&rasterise(&preview));
    assert_eq!(codes.len(), 3, "{codes:?}");

    let png = app.get(&format!("{card}?dpi=150")).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        scan_png(&png.bytes().await.unwrap()),
        [format!("{}?ch=card", made[1]["link"].as_str().unwrap())]
    );

    // The texts saved for a template print on it (and only on it).
    let texts = [
        ("campaign", "spring"),
        ("template", "flyer"),
        ("headline", "Coffee on us <3"),
        ("body", "Bring this flyer & get a free cup."),
    ];
    let saved = rpc(&app, "print_texts_save", &texts).await;
    assert!(saved.status().is_success(), "{}", saved.status());
    let flyers = app
        .get("/admin/print/spring/print.pdf?template=flyer")
        .await;
    let text = PdfFile::new(&flyers.bytes().await.unwrap()).text();
    assert!(text.contains("Coffee on us <3"), "{text}");
    assert!(
        text.contains("Bring this flyer & get a free cup."),
        "{text}"
    );
    let cards = app.get(pdf).await;
    let text = PdfFile::new(&cards.bytes().await.unwrap()).text();
    assert!(
        !text.contains("Coffee on us"),
        "the card keeps the portal's headline"
    );
    assert!(text.contains("Refer a friend to Spring"));
    let too_long = "x".repeat(121);
    let refused = rpc(
        &app,
        "print_texts_save",
        &[
            ("campaign", "spring"),
            ("template", "flyer"),
            ("headline", &too_long),
            ("body", ""),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // ...and changes nothing else: not a campaign, not a referrer.
    let update = rpc(
        &app,
        "campaign_update",
        &[("slug", "spring"), ("name", "Hijacked")],
    )
    .await;
    assert_eq!(update.status(), StatusCode::FORBIDDEN);
    let add = rpc(
        &app,
        "referrer_add",
        &[
            ("campaign", "spring"),
            ("name", "Mallory"),
            ("email", "m@example.com"),
        ],
    )
    .await;
    assert_eq!(add.status(), StatusCode::FORBIDDEN);
    let campaign = app.get_json("/api/v1/campaigns/spring").await;
    assert_eq!(campaign["name"], "Spring");
    let list = app.get_json("/api/v1/referrers?campaign=spring").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
}

/// How many referrers of spring the studio's filters pick (its count, which prints nothing).
async fn matches(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let mut fields = vec![("campaign", "spring")];
    fields.extend_from_slice(form);
    let response = rpc(app, "print_matches", &fields).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{form:?}: {status} {body}");
    body
}

async fn filters_pick_by_search_join_day_and_never_printed(app: TestApp) {
    let made = referrers(&app, 4).await;
    app.log_in_as("owner@example.com", Role::Owner).await;
    assert_eq!(matches(&app, &[]).await, 4);
    assert_eq!(matches(&app, &[("search", "referrer 2")]).await, 1);
    assert_eq!(
        matches(&app, &[("search", made[3]["code"].as_str().unwrap())]).await,
        1,
        "a code finds its referrer"
    );

    // Three joined long ago; the fourth recently.
    let old: Vec<i64> = made[..3]
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let backend = app.db.get_database_backend();
    let sql = format!(
        "UPDATE referrers SET created_at = '2020-01-01 00:00:00+00:00' WHERE id IN ({})",
        old.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    app.db
        .execute_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    assert_eq!(matches(&app, &[("joined_after", "2021-01-01")]).await, 1);

    assert_eq!(matches(&app, &[("never_printed", "true")]).await, 4);
    // Printing one referrer's card counts them as printed.
    let one = app
        .get_api(&format!(
            "/api/v1/campaigns/spring/print.pdf?referrer={}",
            made[1]["id"]
        ))
        .await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(matches(&app, &[("never_printed", "true")]).await, 3);
    // The rest, printed through the API's filter, are exactly those three.
    let rest = app
        .get_api("/api/v1/campaigns/spring/print.pdf?never_printed=1")
        .await;
    assert_eq!(rest.status(), StatusCode::OK);
    let file = PdfFile::new(&rest.bytes().await.unwrap());
    let imposition = app::ssr::services::print::layout::impose(
        app::ssr::services::print::layout::Template::BusinessCard,
        app::ssr::services::print::layout::Paper::A4,
        false,
    );
    let decoded: Vec<String> = file
        .codes_per_cell(&imposition, 150)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let expected: Vec<String> = [0, 2, 3]
        .iter()
        .map(|&i| format!("{}?ch=card", made[i]["link"].as_str().unwrap()))
        .collect();
    assert_eq!(decoded, expected);
    assert_eq!(matches(&app, &[("never_printed", "true")]).await, 0);
    let none = app
        .get_api("/api/v1/campaigns/spring/print.pdf?never_printed=1")
        .await;
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "nothing_to_print");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("matches"),
        "{body}"
    );
    let times: Vec<i32> = app::ssr::entities::referrer_print::Entity::find()
        .select_only()
        .column(app::ssr::entities::referrer_print::Column::Times)
        .filter(sea_orm::ColumnTrait::eq(
            &app::ssr::entities::referrer_print::Column::ReferrerId,
            made[1]["id"].as_i64().unwrap(),
        ))
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(times, [1]);

    // Bad filters are refused on their field; ids and filters do not mix.
    for (query, field, code) in [
        ("joined_after=yesterday", "joined_after", "invalid_date"),
        ("never_printed=maybe", "never_printed", "invalid_flag"),
        ("search=x&referrer=1", "referrer", "picked_and_filtered"),
        ("dpi=300", "dpi", "unknown_parameter"),
    ] {
        let response = app
            .get_api(&format!("/api/v1/campaigns/spring/print.csv?{query}"))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (
                body["error"]["field"].as_str(),
                body["error"]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{query}: {body}"
        );
    }
}

async fn a_table_tent_carries_a_code_on_each_half_and_cards_come_as_svg_png_and_html(app: TestApp) {
    let made = referrers(&app, 2).await;
    let link = |i: usize| made[i]["link"].as_str().unwrap().to_owned();

    let tents = app
        .get_api("/api/v1/campaigns/spring/print.pdf?template=table-tent&paper=letter")
        .await;
    assert_eq!(tents.status(), StatusCode::OK);
    let file = PdfFile::new(&tents.bytes().await.unwrap());
    assert_eq!(file.info(), (2, (612.0, 792.0)), "one tent a Letter sheet");
    let imposition = app::ssr::services::print::layout::impose(
        app::ssr::services::print::layout::Template::TableTent,
        app::ssr::services::print::layout::Paper::Letter,
        false,
    );
    let cells = file.codes_per_cell(&imposition, 100);
    let tent = |i: usize| vec![vec![format!("{}?ch=tent", link(i)); 2]];
    assert_eq!(cells, [tent(0), tent(1)], "both halves, one upside down");

    // One card as PNG, at the dpi asked, and as SVG, through the API.
    let id = made[1]["id"].as_i64().unwrap();
    let png = app
        .get_api(&format!("/api/v1/referrers/{id}/card.png?dpi=200"))
        .await;
    assert_eq!(png.status(), StatusCode::OK);
    let bytes = png.bytes().await.unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(&bytes[..]))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!(
        (info.width, info.height),
        (669, 433),
        "85 x 55 mm at 200 dpi"
    );
    assert_eq!(scan_png(&bytes), [format!("{}?ch=card", link(1))]);
    let svg = app
        .get_api(&format!(
            "/api/v1/referrers/{id}/card.svg?channel=0&template=flyer"
        ))
        .await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(svg.headers()[header::CONTENT_TYPE], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.contains(r#"width="105mm" height="148mm""#));
    assert_eq!(
        scan_png(&rasterise(&svg)),
        [link(1)],
        "channel=0: the bare link"
    );
    for (path, status) in [
        (
            format!("/api/v1/referrers/{id}/card.png?dpi=5000"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/referrers/999999/card.svg".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/referrers/{id}/card.svg?template=mug"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(app.get_api(&path).await.status(), status, "{path}");
    }
    let no_key = app
        .client
        .get(format!("{}/api/v1/referrers/{id}/card.png", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);

    // The print page: HTML sheets at the paper's size, its fonts served beside it.
    let html = app
        .get_api("/api/v1/campaigns/spring/print.html?paper=letter")
        .await;
    assert_eq!(html.status(), StatusCode::OK);
    assert_eq!(
        html.headers()[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; font-src 'self'; img-src data:; style-src 'unsafe-inline'",
        "no script may run; only its own fonts load"
    );
    let html = html.text().await.unwrap();
    assert!(html.contains("@page { size: 215.9mm 279.4mm; margin: 0; }"));
    assert!(html.contains(made[0]["code"].as_str().unwrap()));
    for font in [
        "inter-regular.otf",
        "inter-bold.otf",
        "jetbrains-mono-bold.ttf",
    ] {
        assert!(html.contains(&format!("/print/fonts/{font}")));
        let served = app.get(&format!("/print/fonts/{font}")).await;
        assert_eq!(served.status(), StatusCode::OK, "{font}");
        assert!(
            served.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("font/")
        );
    }
    assert_eq!(
        app.get("/print/fonts/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );

    // The referrer's own card on the portal is the same template.
    let session = crate::portal::session_for(&app, id).await;
    let own = app
        .client
        .get(format!("{}/p/spring/card.svg", app.address))
        .header("Cookie", format!("handoff_portal={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let own = own.text().await.unwrap();
    assert!(own.contains(r#"width="85mm" height="55mm""#));
    assert_eq!(scan_png(&rasterise(&own)), [format!("{}?ch=card", link(1))]);
    let signed_out = app.get("/p/spring/card.svg").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_out.headers()[header::LOCATION], "/p/spring");
}

async fn clicks_from_paper_count_under_their_channel_and_credit_the_same_referrer(app: TestApp) {
    let made = referrers(&app, 1).await;
    let link = made[0]["link"].as_str().unwrap();
    let path = link.trim_start_matches(&app.address).to_owned();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut locations = Vec::new();
    for query in ["", "?ch=card", "?ch=card", "?ch=FLYER", "?ch=%3Cscript%3E"] {
        let response = no_redirects
            .get(format!("{}{path}{query}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{query}");
        assert!(
            response.headers().contains_key(header::SET_COOKIE),
            "{query}: attributed"
        );
        locations.push(response.headers()[header::LOCATION].clone());
    }
    assert!(
        locations.windows(2).all(|w| w[0] == w[1]),
        "the channel changes nothing about where the friend goes"
    );
    assert_eq!(clicks_in_db(&app, 5).await, 5);
    let mut rows: Vec<(i64, String)> = app::ssr::entities::click::Entity::find()
        .select_only()
        .column(app::ssr::entities::click::Column::ReferrerId)
        .column(app::ssr::entities::click::Column::Channel)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    rows.sort();
    let id = made[0]["id"].as_i64().unwrap();
    let mut expected: Vec<(i64, String)> = ["link", "card", "card", "flyer", "other"]
        .iter()
        .map(|c| (id, (*c).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(rows, expected, "every click credits the same referrer");

    // The admin's referrer and campaign pages count them per channel.
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let page = app
        .get(&format!("/admin/referrers/{id}"))
        .await
        .text()
        .await
        .unwrap();
    for row in [
        "<th scope=\"row\">Shared link</th><td class=\"num\">1</td>",
        "<th scope=\"row\">Business cards</th><td class=\"num\">2</td>",
        "<th scope=\"row\">Flyers</th><td class=\"num\">1</td>",
        "<th scope=\"row\">Other</th><td class=\"num\">1</td>",
    ] {
        assert!(page.contains(row), "{row} in the referrer page");
    }
    let page = app
        .get("/admin/campaigns/spring")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<th scope=\"row\">Business cards</th><td class=\"num\">2</td>"));
    // And the referrer sees their clicks from paper on the portal.
    let session = crate::portal::session_for(&app, id).await;
    let portal = app
        .client
        .get(format!("{}/p/spring", app.address))
        .header("Cookie", format!("handoff_portal={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        portal.contains("<dt>From printed cards</dt><dd>4</dd>"),
        "the portal counts the four clicks from paper"
    );
}

on_both_databases!(
    a_marketer_prints_from_the_studio_a_viewer_cannot_and_nobody_signed_out_can,
    filters_pick_by_search_join_day_and_never_printed,
    clicks_from_paper_count_under_their_channel_and_credit_the_same_referrer,
);

crate::on_sqlite!(a_table_tent_carries_a_code_on_each_half_and_cards_come_as_svg_png_and_html);
