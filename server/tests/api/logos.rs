//! Campaign logos: uploaded on the campaign page (a plain multipart form), checked from their
//! bytes, kept in the database, served with their own type and `nosniff`, shown by the portal and
//! the emails, and removed again.

use app::{domain::roles::Role, ssr::entities::campaign_logo};
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// A `width` x `height` grey PNG.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![128; (width * height) as usize])
            .unwrap();
    }
    out
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn upload(app: &TestApp, slug: &str, filename: &str, bytes: &[u8]) -> reqwest::Response {
    app.post_multipart(
        &format!("/admin/campaigns/{slug}/logo"),
        &[],
        ("logo", filename, bytes),
    )
    .await
}

async fn logo_url(app: &TestApp) -> Value {
    app.get_json("/api/v1/campaigns/spring").await["logo_url"].clone()
}

async fn an_admin_uploads_a_logo_that_is_served_safely_and_shown_on_the_portal(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.log_in_as("owner@example.com", Role::Owner).await;
    let image = png(120, 40);

    let saved = upload(&app, "spring", "logo.png", &image).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{saved:?}");
    assert_eq!(
        location(&saved),
        "/admin/campaigns/spring?logo=saved#logo-heading"
    );
    let url = logo_url(&app).await.as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/logo/spring?v=", app.address)),
        "{url}"
    );

    // Served as what its bytes are, never sniffed, cacheable for long at its versioned address.
    let path = url.trim_start_matches(&app.address).to_owned();
    let served = app.get(&path).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(format!("{}{path}", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The portal entrance and the campaign page show it.
    let portal = app.get("/p/spring").await.text().await.unwrap();
    assert!(
        portal.contains(&format!("src=\"{}\"", url.replace('&', "&amp;"))),
        "the portal shows the logo"
    );
    let page = app
        .get("/admin/campaigns/spring?logo=saved")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Logo saved."));

    // A new logo gets a new address.
    let replaced = upload(&app, "spring", "logo2.png", &png(60, 20)).await;
    assert_eq!(replaced.status(), StatusCode::SEE_OTHER);
    let new_url = logo_url(&app).await.as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    assert_eq!(
        campaign_logo::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    let removed = app
        .client
        .post(format!(
            "{}/admin/campaigns/spring/logo/remove",
            app.address
        ))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&removed),
        "/admin/campaigns/spring?logo=removed#logo-heading"
    );
    assert_eq!(logo_url(&app).await, Value::Null);
    assert_eq!(
        app.get("/logo/spring").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn bad_logos_are_refused_with_the_reason_and_change_nothing(app: TestApp) {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.log_in_as("owner@example.com", Role::Owner).await;
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
    let mut too_big = png(10, 10);
    too_big.resize(600 * 1024, 0);
    let mut html_as_png = b"\x89PNG\r\n\x1a\n".to_vec();
    html_as_png.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let cases: [(&str, &[u8], &str); 5] = [
        ("logo.svg", svg, "svg_refused"),
        ("logo.png", &too_big, "file_too_large"),
        ("logo.png", &html_as_png, "not_an_image"),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00", "not_an_image"),
        ("logo.png", &png(5000, 1), "image_too_large"),
    ];
    for (name, bytes, code) in cases {
        let response = upload(&app, "spring", name, bytes).await;
        assert_eq!(
            location(&response),
            format!("/admin/campaigns/spring?logo_error={code}#logo-heading"),
            "{name}: {code}"
        );
    }
    // No file chosen: browsers send the part with an empty name.
    let empty = upload(&app, "spring", "", b"").await;
    assert!(location(&empty).contains("logo_error=missing_file"));
    let page = app
        .get("/admin/campaigns/spring?logo_error=svg_refused")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("SVG logos are not accepted"));
    assert_eq!(logo_url(&app).await, Value::Null, "nothing changed");
    assert_eq!(
        campaign_logo::Entity::find().count(&app.db).await.unwrap(),
        0
    );

    // An unknown campaign is not found; a viewer may not upload; nobody signed in is sent away.
    let unknown = upload(&app, "autumn", "logo.png", &png(10, 10)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    app.log_in_as("viewer@example.com", Role::Viewer).await;
    let viewer = upload(&app, "spring", "logo.png", &png(10, 10)).await;
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!(
            "{}/admin/campaigns/spring/logo/remove",
            app.address
        ))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&anonymous), "/admin/login");
    assert_eq!(
        campaign_logo::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

on_both_databases!(
    an_admin_uploads_a_logo_that_is_served_safely_and_shown_on_the_portal,
    bad_logos_are_refused_with_the_reason_and_change_nothing,
);
