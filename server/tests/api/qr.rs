//! QR codes of referral links: decoded back with a real decoder (rqrr; SVGs rasterised first by
//! librsvg's `rsvg-convert`), on the public `/qr/...` route and the REST API.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use app::domain::{api_access::ApiAccess, roles::Role};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    images::{decode_all, grey_pixels, pixels},
    on_both_databases,
};

/// A campaign with one referrer; returns the referrer's JSON.
async fn jane(app: &TestApp) -> Value {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    app.referrer("spring", "Jane Doe", "jane@example.com").await
}

/// The link slug of a referrer's JSON.
fn slug(referrer: &Value) -> String {
    let link = referrer["link"].as_str().unwrap();
    link.rsplit_once("/r/").unwrap().1.to_owned()
}

/// The text of the one QR code in a PNG.
fn decode_png(png_bytes: &[u8]) -> String {
    let mut codes = decode_all(png_bytes);
    assert_eq!(codes.len(), 1, "exactly one QR code in the image");
    codes.remove(0)
}

/// The text of the one QR code in an SVG, rasterised by `rsvg-convert` (librsvg2-bin).
fn decode_svg(svg: &str) -> String {
    decode_png(&rasterise(svg))
}

/// An SVG as a PNG, drawn by `rsvg-convert` (librsvg2-bin).
pub(crate) fn rasterise(svg: &str) -> Vec<u8> {
    let mut child = Command::new("rsvg-convert")
        .args(["--format", "png"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "rsvg-convert is needed to rasterise the SVG ({e}); install it: apt-get install -y librsvg2-bin \
                 (scripts/setup.sh does)"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(svg.as_bytes())
        .expect("write the SVG");
    let output = child.wait_with_output().expect("rsvg-convert runs");
    assert!(
        output.status.success(),
        "rsvg-convert failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The colour of a PNG's middle pixel, as (red, green, blue).
fn middle_colour(png_bytes: &[u8]) -> (u8, u8, u8) {
    let (w, h, channels, buf) = pixels(png_bytes);
    assert!(channels >= 3, "a colour image");
    let at = ((h / 2) * w + w / 2) * channels;
    (buf[at], buf[at + 1], buf[at + 2])
}

/// Uploads `png` as campaign spring's logo, as its admin page does.
async fn upload_logo(app: &TestApp, png: &[u8]) {
    let uploaded = app
        .post_multipart(
            "/admin/campaigns/spring/logo",
            &[],
            ("logo", "logo.png", png),
        )
        .await;
    assert_eq!(
        uploaded.headers()[header::LOCATION],
        "/admin/campaigns/spring?logo=saved#logo-heading"
    );
}

/// A `side` x `side` PNG: a red square on white.
fn red_logo(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..side * side)
            .flat_map(|i| {
                let (x, y) = (i % side, i / side);
                let edge = side / 8;
                if x < edge || y < edge || x >= side - edge || y >= side - edge {
                    [255, 255, 255]
                } else {
                    [220, 20, 20]
                }
            })
            .collect();
        writer.write_image_data(&pixels).unwrap();
    }
    out
}

fn content_type(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn a_referrers_svg_and_png_codes_scan_back_to_their_link(app: TestApp) {
    let jane = jane(&app).await;
    let link = jane["link"].as_str().unwrap();
    let slug = slug(&jane);

    let svg = app.get(&format!("/qr/{slug}.svg")).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert_eq!(content_type(&svg), "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.starts_with("<svg "), "no XML declaration: {svg:.80}");
    assert_eq!(decode_svg(&svg), link);

    let png = app.get(&format!("/qr/{slug}.png")).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(content_type(&png), "image/png");
    assert_eq!(decode_png(&png.bytes().await.unwrap()), link);

    let id = jane["id"].as_i64().unwrap();
    let api_svg = app.get_api(&format!("/api/v1/referrers/{id}/qr.svg")).await;
    assert_eq!(api_svg.status(), StatusCode::OK);
    assert_eq!(content_type(&api_svg), "image/svg+xml");
    assert_eq!(decode_svg(&api_svg.text().await.unwrap()), link);
    let api_png = app.get_api(&format!("/api/v1/referrers/{id}/qr.png")).await;
    assert_eq!(api_png.status(), StatusCode::OK);
    assert_eq!(decode_png(&api_png.bytes().await.unwrap()), link);
}

async fn an_unknown_slug_or_extension_is_not_found(app: TestApp) {
    let slug = slug(&jane(&app).await);
    for path in [
        "/qr/nobody-here.svg".to_owned(),
        "/qr/nobody-here.png".to_owned(),
        format!("/qr/{slug}.jpg"),
        format!("/qr/{slug}"),
        format!("/qr/{slug}.SVG"),
        "/qr/.svg".to_owned(),
        "/qr/..%2F..%2Fetc.png".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&response).starts_with("text/html"), "{path}");
        assert!(
            response.text().await.unwrap().contains("QR code"),
            "{path}: says what was not found"
        );
    }
}

async fn the_api_needs_a_key_and_answers_json_404_for_an_unknown_referrer(app: TestApp) {
    let id = jane(&app).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/referrers/{id}/qr.png");

    let anonymous = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let error: Value = anonymous.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unauthenticated");

    let (_, read_key) = app::ssr::services::api_keys::create(
        &app.db,
        &app::ssr::services::audit::Actor::command_line(),
        "read",
        ApiAccess::ReadOnly,
    )
    .await
    .unwrap();
    let read = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(&read_key)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK, "a read-only key suffices");

    for missing in [
        "/api/v1/referrers/999999/qr.svg",
        "/api/v1/referrers/999999/qr.png",
    ] {
        let response = app.get_api(missing).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "not_found", "{missing}");
    }
    let not_an_id = app.get_api("/api/v1/referrers/jane/qr.svg").await;
    assert_eq!(not_an_id.status(), StatusCode::BAD_REQUEST);
}

on_both_databases!(
    a_referrers_svg_and_png_codes_scan_back_to_their_link,
    an_unknown_slug_or_extension_is_not_found,
    the_api_needs_a_key_and_answers_json_404_for_an_unknown_referrer,
    the_campaigns_uploaded_logo_is_drawn_in_the_middle_when_asked_and_still_scans,
);

async fn size_and_colours_are_applied_and_download_offers_a_named_file(app: TestApp) {
    let jane = jane(&app).await;
    let link = jane["link"].as_str().unwrap();
    let slug = slug(&jane);

    let response = app
        .get(&format!(
            "/qr/{slug}.png?size=512&fg=%231d4ed8&bg=fefce8&download=1"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{slug}-qr.png\"").as_str()
    );
    let png = response.bytes().await.unwrap();
    let (w, h, _) = grey_pixels(&png);
    assert_eq!(w, h);
    assert!((480..=560).contains(&w), "about 512 px: {w}");
    assert_eq!(decode_png(&png), link, "blue on cream still scans");

    let svg = app
        .get(&format!("/qr/{slug}.svg?size=1000&fg=1d4ed8"))
        .await;
    assert!(svg.headers().get(header::CONTENT_DISPOSITION).is_none());
    let svg = svg.text().await.unwrap();
    assert!(svg.contains(r#" width="1000" height="1000""#));
    assert!(svg.contains(r##"fill="#1d4ed8""##));
    assert_eq!(decode_svg(&svg), link);
}

async fn bad_sizes_and_colours_that_scan_poorly_are_refused_with_the_reason(app: TestApp) {
    let jane = jane(&app).await;
    let slug = slug(&jane);
    for (query, words) in [
        ("fg=aaaaaa", "contrast ratio"),
        ("fg=ffffff&bg=000000", "darker than the background"),
        ("size=10", "64 to 2048"),
        ("size=huge", "64 to 2048"),
        ("bg=white", "six hex digits"),
    ] {
        let response = app.get(&format!("/qr/{slug}.png?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = response.text().await.unwrap();
        assert!(page.contains(words), "{query}: {page}");
    }

    let id = jane["id"].as_i64().unwrap();
    let response = app
        .get_api(&format!(
            "/api/v1/referrers/{id}/qr.svg?fg=777777&bg=888888"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "low_contrast");
    assert_eq!(error["error"]["field"], "fg");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4.5:1")
    );
}

async fn a_repeat_request_with_the_etag_is_answered_304_without_a_body(app: TestApp) {
    let jane = jane(&app).await;
    let slug = slug(&jane);
    let path = format!("/qr/{slug}.svg?size=300");

    let first = app.get(&path).await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert_eq!(
        first.headers()[header::CACHE_CONTROL],
        "public, max-age=86400"
    );
    assert_eq!(app.get(&path).await.headers()[header::ETAG], etag.as_str());

    let again = app
        .client
        .get(format!("{}{path}", app.address))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::ETAG], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    let other_size = app.get(&format!("/qr/{slug}.svg?size=301")).await;
    assert_ne!(other_size.headers()[header::ETAG], etag.as_str());
    let png = app.get(&format!("/qr/{slug}.png?size=300")).await;
    assert_ne!(png.headers()[header::ETAG], etag.as_str());
    let stale = app
        .client
        .get(format!("{}{path}", app.address))
        .header(header::IF_NONE_MATCH, "\"0123\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);

    let id = jane["id"].as_i64().unwrap();
    let api = app
        .client
        .get(format!(
            "{}/api/v1/referrers/{id}/qr.svg?size=300",
            app.address
        ))
        .bearer_auth(&app.api_key)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        StatusCode::NOT_MODIFIED,
        "the same link and options are the same image"
    );
    assert_eq!(
        api.headers()[header::CACHE_CONTROL],
        "private, max-age=86400"
    );
}

async fn the_campaigns_uploaded_logo_is_drawn_in_the_middle_when_asked_and_still_scans(
    app: TestApp,
) {
    let jane = jane(&app).await;
    let (slug, id) = (slug(&jane), jane["id"].as_i64().unwrap());
    let link = jane["link"].as_str().unwrap();

    // No uploaded logo yet: `logo=1` draws the plain code, with the plain code's tag.
    let plain = app.get(&format!("/qr/{slug}.png")).await;
    let asked = app.get(&format!("/qr/{slug}.png?logo=1")).await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert_eq!(plain.headers()[header::ETAG], asked.headers()[header::ETAG]);
    let plain_svg_tag = app.get(&format!("/qr/{slug}.svg")).await.headers()[header::ETAG].clone();

    app.log_in_as("owner@example.com", Role::Owner).await;
    let with_logo_link = format!("/qr/{slug}.png?size=1024&amp;download=1&amp;logo=1");
    let admin_page = format!("/admin/referrers/{id}");
    let before = app.get(&admin_page).await.text().await.unwrap();
    assert!(before.contains(&format!("/qr/{slug}.png?size=1024&amp;download=1\"")));
    assert!(
        !before.contains(&with_logo_link),
        "no logo, no logo download"
    );

    upload_logo(&app, &red_logo(120)).await;

    let after = app.get(&admin_page).await.text().await.unwrap();
    assert!(
        after.contains(&with_logo_link),
        "the admin offers the code with the logo"
    );

    // Without `logo=1` nothing changes.
    let svg = app.get(&format!("/qr/{slug}.svg")).await;
    assert_eq!(svg.headers()[header::ETAG], plain_svg_tag);

    let png = app.get(&format!("/qr/{slug}.png?logo=1&size=512")).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(content_type(&png), "image/png");
    let png_tag = png.headers()[header::ETAG].clone();
    assert_ne!(png_tag, plain.headers()[header::ETAG]);
    let png = png.bytes().await.unwrap();
    assert_eq!(decode_png(&png), link);
    let (r, g, b) = middle_colour(&png);
    assert!(
        r > 180 && g < 80 && b < 80,
        "the logo's red in the middle: {r},{g},{b}"
    );

    let svg = app.get(&format!("/qr/{slug}.svg?logo=1")).await;
    assert_eq!(svg.status(), StatusCode::OK);
    let csp = svg.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src data:") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let svg = svg.text().await.unwrap();
    assert!(
        svg.contains("href=\"data:image/png;base64,"),
        "the logo is embedded"
    );
    assert_eq!(svg.matches("href=").count(), 1, "nothing else is linked");
    let raster = rasterise(&svg);
    assert_eq!(decode_png(&raster), link);
    let (r, g, b) = middle_colour(&raster);
    assert!(
        r > 180 && g < 80 && b < 80,
        "the logo's red in the middle: {r},{g},{b}"
    );

    // The API draws the same image.
    let api = app
        .get_api(&format!("/api/v1/referrers/{id}/qr.png?logo=1&size=512"))
        .await;
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(api.headers()[header::ETAG], png_tag);
    assert_eq!(api.bytes().await.unwrap(), png);

    // A new upload is a new image.
    upload_logo(&app, &red_logo(90)).await;
    let after = app.get(&format!("/qr/{slug}.png?logo=1&size=512")).await;
    assert_ne!(after.headers()[header::ETAG], png_tag);
    assert_eq!(decode_png(&after.bytes().await.unwrap()), link);

    // Removed: plain again.
    let removed = app
        .post_form("/admin/campaigns/spring/logo/remove", &[])
        .await;
    assert_eq!(
        removed.headers()[header::LOCATION],
        "/admin/campaigns/spring?logo=removed#logo-heading"
    );
    let gone = app.get(&format!("/qr/{slug}.png?logo=1")).await;
    assert_eq!(gone.headers()[header::ETAG], plain.headers()[header::ETAG]);
}

async fn the_openapi_document_describes_both_qr_routes(app: TestApp) {
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/referrers/{id}/qr.svg",
        "/api/v1/referrers/{id}/qr.png",
    ] {
        let get = &doc["paths"][path]["get"];
        assert!(get.is_object(), "{path} documented");
        let names: Vec<&str> = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["id", "size", "fg", "bg", "download", "logo"],
            "{path}"
        );
    }
}

crate::on_sqlite!(
    size_and_colours_are_applied_and_download_offers_a_named_file,
    bad_sizes_and_colours_that_scan_poorly_are_refused_with_the_reason,
    a_repeat_request_with_the_etag_is_answered_304_without_a_body,
    the_openapi_document_describes_both_qr_routes,
);
