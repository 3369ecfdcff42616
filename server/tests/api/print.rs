//! The print studio's PDF through the REST API, checked as a print shop would: every page
//! rasterised by poppler's `pdftoppm`, every QR code on it decoded by a real decoder (zbar's
//! `zbarimg`: rqrr, used for single codes elsewhere, pairs finder patterns of neighbouring codes
//! on a full sheet into grids that do not exist) back to its referrer's full link, one code per
//! card, and the text read back by `pdftotext`.

use std::{path::PathBuf, process::Command};

use app::ssr::services::print::layout::{Imposition, Paper, Template, impose};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_databases};

/// A name that would break markup, with letters outside ASCII and the look-alikes.
pub(crate) const HOSTILE: &str = "<b>Zoë \"Bo\" O'Neil</b> & 0O1Il";

/// Runs a tool from Debian `package`, failing the test with the way to install it when it is
/// missing.
pub(crate) fn run(tool: &str, package: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} is needed to read the PDFs back ({e}); install it: apt-get install -y {package} \
             (scripts/setup.sh does)"
        )
    });
    assert!(
        output.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A PDF in a fresh directory of its own.
pub(crate) struct PdfFile {
    dir: PathBuf,
    path: PathBuf,
}

impl PdfFile {
    pub(crate) fn new(bytes: &[u8]) -> PdfFile {
        let dir = std::env::temp_dir().join(format!(
            "handoff-print-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("print.pdf");
        std::fs::write(&path, bytes).unwrap();
        PdfFile { dir, path }
    }

    /// Page count and page size in points, from `pdfinfo`.
    pub(crate) fn info(&self) -> (usize, (f64, f64)) {
        let text = String::from_utf8(
            run("pdfinfo", "poppler-utils", &[self.path.to_str().unwrap()]).stdout,
        )
        .unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .to_owned()
        };
        let pages = field("Pages:").parse().unwrap();
        let size = field("Page size:");
        let mut numbers = size
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok());
        (pages, (numbers.next().unwrap(), numbers.next().unwrap()))
    }

    /// The QR codes in each cell of each page, rasterised at `dpi`: one list per page, one
    /// entry per slot of `imposition` (the codes decoded in that piece's box, bleed included).
    /// Each box is decoded on its own: on a full sheet, decoders pair finder patterns of
    /// neighbouring codes, or skip one of ten.
    pub(crate) fn codes_per_cell(
        &self,
        imposition: &Imposition,
        dpi: u32,
    ) -> Vec<Vec<Vec<String>>> {
        let (pages, _) = self.info();
        let px = |mm: f32| (mm / 25.4 * dpi as f32).round() as i64;
        let (w, h) = imposition.piece;
        let grow = imposition.bleed + 1.0;
        (1..=pages)
            .map(|page| {
                imposition
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(cell, &(x, y))| {
                        let prefix = self.dir.join(format!("p{page}-c{cell}"));
                        let page = page.to_string();
                        let box_px = [x - grow, y - grow, w + 2.0 * grow, h + 2.0 * grow]
                            .map(|mm| px(mm).to_string());
                        let dpi = dpi.to_string();
                        let mut args = vec!["-png", "-gray", "-singlefile", "-r", &dpi];
                        args.extend(["-f", &page, "-l", &page]);
                        args.extend(["-x", &box_px[0], "-y", &box_px[1]]);
                        args.extend(["-W", &box_px[2], "-H", &box_px[3]]);
                        args.extend([self.path.to_str().unwrap(), prefix.to_str().unwrap()]);
                        run("pdftoppm", "poppler-utils", &args);
                        scan(&prefix.with_extension("png"))
                    })
                    .collect()
            })
            .collect()
    }

    /// The first page's box `name` (`TrimBox`, `BleedBox`) as left, bottom, right, top in
    /// points, from `pdfinfo -box`.
    pub(crate) fn page_box(&self, name: &str) -> [f64; 4] {
        let text = String::from_utf8(
            run(
                "pdfinfo",
                "poppler-utils",
                &["-box", self.path.to_str().unwrap()],
            )
            .stdout,
        )
        .unwrap();
        let line = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        let numbers: Vec<f64> = line
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        [numbers[0], numbers[1], numbers[2], numbers[3]]
    }

    /// The text, from `pdftotext`.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(
            run(
                "pdftotext",
                "poppler-utils",
                &["-enc", "UTF-8", self.path.to_str().unwrap(), "-"],
            )
            .stdout,
        )
        .unwrap()
    }
}

impl Drop for PdfFile {
    fn drop(&mut self) {
        // HANDOFF_KEEP_PRINT=1 keeps the PDFs and page images to look at.
        if std::env::var_os("HANDOFF_KEEP_PRINT").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The text of every QR code in the image at `path`, by zbar's `zbarimg` (exit status 4: none).
pub(crate) fn scan(path: &std::path::Path) -> Vec<String> {
    let output = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "zbarimg is needed to decode the printed codes ({e}); install it: apt-get install -y \
                 zbar-tools (scripts/setup.sh does)"
            )
        });
    assert!(
        output.status.success() || output.status.code() == Some(4),
        "zbarimg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(crate) fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Campaign spring with `count` referrers (the first one with the hostile name); their JSON.
pub(crate) async fn referrers(app: &TestApp, count: usize) -> Vec<Value> {
    app.campaign(json!({"name": "Spring", "slug": "spring"}))
        .await;
    let mut made = Vec::new();
    for i in 0..count {
        let name = if i == 0 {
            HOSTILE.to_owned()
        } else {
            format!("Referrer {i}")
        };
        made.push(
            app.referrer("spring", &name, &format!("r{i}@example.com"))
                .await,
        );
    }
    made
}

async fn get_pdf(app: &TestApp, query: &str) -> reqwest::Response {
    app.get_api(&format!("/api/v1/campaigns/spring/print.pdf?{query}"))
        .await
}

async fn a_sheet_of_cards_scans_back_to_each_referrers_link_one_code_per_card(app: TestApp) {
    // 12 cards: a full A4 sheet of 10 and a partly filled second one.
    let made = referrers(&app, 12).await;
    let response = get_pdf(&app, "template=business-card&paper=a4").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "inline; filename=\"spring-business-card-a4.pdf\""
    );
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "private, no-store"
    );
    // Streamed as it is drawn: chunked, its length unknown up front.
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    assert_eq!(response.headers()[header::TRANSFER_ENCODING], "chunked");
    let pdf = PdfFile::new(&response.bytes().await.unwrap());
    let (pages, (width, height)) = pdf.info();
    assert_eq!(pages, 2);
    // A4 is 595.28 x 841.89 pt.
    assert!(
        (width - 595.28).abs() < 0.1 && (height - 841.89).abs() < 0.1,
        "{width} x {height}"
    );
    let cells = pdf.codes_per_cell(&impose(Template::BusinessCard, Paper::A4, false), 150);
    let per_cell: Vec<Vec<usize>> = cells
        .iter()
        .map(|page| page.iter().map(Vec::len).collect())
        .collect();
    // One code on each card; the second sheet's last eight places are empty.
    assert_eq!(per_cell, [vec![1; 10], [vec![1; 2], vec![0; 8]].concat()]);
    // In the order they were made (by id), each card carries its own referrer's full link.
    let decoded: Vec<String> = cells.into_iter().flatten().flatten().collect();
    // Printed codes carry the card channel, so their clicks count as from paper.
    let expected: Vec<String> = made
        .iter()
        .map(|r| format!("{}?ch=card", r["link"].as_str().unwrap()))
        .collect();
    assert_eq!(decoded, expected);

    let text = pdf.text();
    for referrer in &made {
        let code = referrer["code"].as_str().unwrap();
        assert!(text.contains(code), "the code {code} is text");
    }
    assert!(
        text.contains(HOSTILE),
        "the hostile name prints as the text it is:\n{text}"
    );
    assert!(text.contains("Refer a friend to Spring"), "the headline");
}

async fn flyers_on_letter_with_marks_and_picked_referrers_in_order(app: TestApp) {
    let made = referrers(&app, 4).await;
    let ids: Vec<i64> = made.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let query = format!(
        "template=flyer&paper=letter&marks=1&names=0&referrer={}&referrer={}&referrer={}",
        ids[3], ids[1], ids[2]
    );
    let response = get_pdf(&app, &query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = PdfFile::new(&response.bytes().await.unwrap());
    let (pages, (width, height)) = pdf.info();
    // With bleed and marks an A6 flyer takes a Letter sheet (612 x 792 pt) of its own.
    assert_eq!(pages, 3);
    assert!(
        (width - 612.0).abs() < 0.1 && (height - 792.0).abs() < 0.1,
        "{width} x {height}"
    );
    // The trim box is the flyer's cut, the bleed box 3 mm (8.504 pt) around it.
    let imposition = impose(Template::Flyer, Paper::Letter, true);
    let (x, y) = imposition.slots[0];
    let pt = |mm: f32| f64::from(mm) * 72.0 / 25.4;
    let trim = pdf.page_box("TrimBox");
    let bleed = pdf.page_box("BleedBox");
    // PDF boxes count from the bottom-left corner.
    let expected_trim = [pt(x), 792.0 - pt(y + 148.0), pt(x + 105.0), 792.0 - pt(y)];
    for (got, want) in trim.iter().zip(expected_trim) {
        assert!(
            (got - want).abs() < 0.05,
            "trim box {trim:?}, expected {expected_trim:?}"
        );
    }
    for (i, (got, want)) in bleed.iter().zip(expected_trim).enumerate() {
        let grow = if i < 2 { -pt(3.0) } else { pt(3.0) };
        assert!((got - (want + grow)).abs() < 0.05, "bleed box {bleed:?}");
    }
    let cells = pdf.codes_per_cell(&imposition, 100);
    let order: Vec<Vec<Vec<String>>> = [3, 1, 2]
        .iter()
        .map(|&i| {
            vec![vec![format!(
                "{}?ch=flyer",
                made[i]["link"].as_str().unwrap()
            )]]
        })
        .collect();
    assert_eq!(cells, order, "one flyer a sheet, in the order picked");
    let text = pdf.text();
    assert!(!text.contains("Referrer 3"), "names=0 leaves names off");
    assert!(text.contains(made[3]["code"].as_str().unwrap()));
    assert!(
        !text.contains(made[0]["code"].as_str().unwrap()),
        "only the picked referrers"
    );
}

async fn bad_requests_are_refused_with_what_is_allowed(app: TestApp) {
    let made = referrers(&app, 1).await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let other = app.referrer("autumn", "Anna", "anna@example.com").await;

    let no_key = app
        .client
        .get(format!("{}/api/v1/campaigns/spring/print.pdf", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    let unknown = app.get_api("/api/v1/campaigns/nope/print.pdf").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    for (query, field, allowed) in [
        ("template=mug", "template", "business-card, flyer, poster"),
        ("paper=a3", "paper", "a4, letter"),
        (
            "size=big",
            "size",
            "template, paper, marks, names, referrer, search",
        ),
        ("marks=maybe", "marks", "1 or 0"),
        ("referrer=x", "referrer", "whole number"),
    ] {
        let response = get_pdf(&app, query).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(allowed),
            "{query}: {body}"
        );
    }
    // A referrer of another campaign is not printed under this one's name.
    let response = get_pdf(&app, &format!("referrer={}", other["id"])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_referrer", "{body}");
    assert!(
        get_pdf(&app, &format!("referrer={}", made[0]["id"]))
            .await
            .status()
            .is_success()
    );

    app.campaign(json!({"name": "Empty", "slug": "empty"}))
        .await;
    let empty = app.get_api("/api/v1/campaigns/empty/print.pdf").await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["error"]["code"], "nothing_to_print", "{body}");
}

async fn a_referrer_prints_a_sheet_of_their_own_card_from_the_portal(app: TestApp) {
    let made = referrers(&app, 2).await;
    app.campaign(json!({"name": "Autumn", "slug": "autumn"}))
        .await;
    let jane = &made[1];
    let session = crate::portal::session_for(&app, jane["id"].as_i64().unwrap()).await;
    let get = |path: &str, cookie: bool| {
        let request = app.client.get(format!("{}{path}", app.address));
        if cookie {
            request.header("Cookie", format!("handoff_portal={session}"))
        } else {
            request
        }
        .send()
    };

    let response = get("/p/spring/card.pdf?paper=letter", true).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "private, no-store"
    );
    let pdf = PdfFile::new(&response.bytes().await.unwrap());
    let (pages, (width, _)) = pdf.info();
    assert_eq!((pages, width.round()), (1, 612.0), "one Letter sheet");
    let cells = pdf.codes_per_cell(&impose(Template::BusinessCard, Paper::Letter, false), 150);
    let link = format!("{}?ch=card", jane["link"].as_str().unwrap());
    assert_eq!(cells, [vec![vec![link]; 10]], "ten of their own cards");
    let text = pdf.text();
    assert!(text.contains(jane["code"].as_str().unwrap()));
    assert!(
        !text.contains(made[0]["code"].as_str().unwrap()),
        "nobody else's card"
    );

    // Signed out, or signed in to another campaign: the entrance, no PDF.
    for (path, cookie) in [("/p/spring/card.pdf", false), ("/p/autumn/card.pdf", true)] {
        let response = get(path, cookie).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let entrance = path.trim_end_matches("/card.pdf");
        assert_eq!(response.headers()[header::LOCATION], entrance, "{path}");
    }
    let bad = get("/p/spring/card.pdf?paper=a3", true).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("a4, letter"));
    let unknown = get("/p/nope/card.pdf", true).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

async fn the_mail_merge_csv_lists_each_referrer_with_code_link_and_qr_addresses(app: TestApp) {
    let made = referrers(&app, 3).await;
    // A name a spreadsheet would run as a formula.
    let formula = app
        .referrer(
            "spring",
            "=HYPERLINK(\"http://evil.example\")",
            "f@example.com",
        )
        .await;
    let response = get_csv(&app, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"spring-mail-merge.csv\""
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["name", "email", "code", "link", "qr_png_url", "qr_svg_url"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    for (row, referrer) in rows.iter().zip(made.iter().chain([&formula])) {
        let link = referrer["link"].as_str().unwrap();
        let slug = link.rsplit_once("/r/").unwrap().1;
        assert_eq!(&row[1], referrer["email"].as_str().unwrap());
        assert_eq!(&row[2], referrer["code"].as_str().unwrap());
        assert_eq!(&row[3], link);
        assert_eq!(row[4], format!("{}/qr/{slug}.png?size=1024", app.address));
        assert_eq!(row[5], format!("{}/qr/{slug}.svg", app.address));
        // The QR address it lists serves that referrer's code.
        let png = app.get(row[4].trim_start_matches(&app.address)).await;
        assert_eq!(png.status(), StatusCode::OK);
    }
    assert_eq!(&rows[0][0], HOSTILE, "names are kept as they are");
    assert_eq!(
        &rows[3][0], "'=HYPERLINK(\"http://evil.example\")",
        "a formula is defused"
    );

    // The same picks as the PDF.
    let picked = get_csv(
        &app,
        &format!("referrer={}&referrer={}", made[2]["id"], made[0]["id"]),
    )
    .await
    .text()
    .await
    .unwrap();
    let codes: Vec<String> = csv::Reader::from_reader(picked.as_bytes())
        .records()
        .map(|r| r.unwrap()[2].to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            made[2]["code"].as_str().unwrap(),
            made[0]["code"].as_str().unwrap()
        ]
    );
    let other = get_csv(&app, "referrer=999999").await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn get_csv(app: &TestApp, query: &str) -> reqwest::Response {
    app.get_api(&format!("/api/v1/campaigns/spring/print.csv?{query}"))
        .await
}

on_both_databases!(
    a_sheet_of_cards_scans_back_to_each_referrers_link_one_code_per_card,
    bad_requests_are_refused_with_what_is_allowed,
    a_referrer_prints_a_sheet_of_their_own_card_from_the_portal,
    the_mail_merge_csv_lists_each_referrer_with_code_link_and_qr_addresses,
);

crate::on_sqlite!(flyers_on_letter_with_marks_and_picked_referrers_in_order);
