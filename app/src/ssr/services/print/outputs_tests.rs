//! The pieces drawn to PNG and SVG: each QR code decodes (rqrr) to its referrer's link with the
//! template's channel, sizes are exact, hostile text stays text. The PDF's streaming and its
//! hand-written cross-reference table (what poppler reads back is tested in the server's tests).

use std::sync::Arc;

use super::{
    PrintBranding, PrintLogo, PrintPiece,
    layout::{Paper, Template, impose},
    pdf, png, svg,
};
use crate::domain::color::Rgb;

fn brand() -> PrintBranding {
    PrintBranding {
        name: "Northwind Coffee".to_owned(),
        brand_color: Rgb(0x1d, 0x4e, 0xd8),
        brand_text_color: Rgb::WHITE,
        headline: "Give a friend their first bag free".to_owned(),
        body: Some("You get 10.00 USD for every friend who buys.".to_owned()),
        logo: None,
    }
}

fn piece(name: &str) -> PrintPiece {
    let link = "https://refer.example.com/r/jane-doe-7k4q".to_owned();
    PrintPiece {
        name: Some(name.to_owned()),
        code: Some("JANE-7K4Q".to_owned()),
        qr_link: format!("{link}?ch=card"),
        link,
    }
}

/// Every QR code in a PNG, decoded.
fn decode_all(png_bytes: &[u8]) -> (u32, u32, Vec<String>) {
    let image = image::load_from_memory(png_bytes).unwrap().to_luma8();
    let (w, h) = image.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(wu, hu, |x, y| image.as_raw()[y * wu + x]);
    let codes = prepared
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("the code decodes").1)
        .collect();
    (w, h, codes)
}

#[test]
fn a_business_card_png_is_card_sized_at_300_dpi_and_its_code_holds_the_tagged_link() {
    let piece = piece("Jane Doe");
    let template = Template::BusinessCard;
    let png = png::piece(
        template.face(),
        template.size_mm(Paper::A4),
        &brand(),
        &piece,
        300,
    )
    .unwrap();
    let (w, h, codes) = decode_all(&png);
    assert_eq!((w, h), (1004, 650));
    assert_eq!(codes, std::slice::from_ref(&piece.qr_link));
}

#[test]
fn every_template_draws_readable_codes_and_a_table_tent_has_one_on_each_side() {
    for template in Template::ALL {
        let png = png::piece(
            template.face(),
            template.size_mm(Paper::A4),
            &brand(),
            &piece("Jane Doe"),
            100,
        )
        .unwrap();
        let (_, _, codes) = decode_all(&png);
        let expected = if template == Template::TableTent {
            2
        } else {
            1
        };
        assert_eq!(codes.len(), expected, "{template:?}");
        assert!(
            codes
                .iter()
                .all(|c| c == "https://refer.example.com/r/jane-doe-7k4q?ch=card"),
            "{template:?}: {codes:?}"
        );
    }
}

#[test]
fn a_dpi_past_the_pixel_limit_is_refused_on_its_field() {
    let template = Template::Poster;
    let error = png::piece(
        template.face(),
        template.size_mm(Paper::A4),
        &brand(),
        &piece("Jane"),
        1200,
    )
    .unwrap_err();
    assert_eq!(error.field(), Some("dpi"));
}

#[test]
fn svg_keeps_hostile_text_as_text_and_writes_no_markup_of_its_own() {
    let hostile = "<script>alert(1)</script> & \"Bob\"";
    let template = Template::BusinessCard;
    for text in [
        svg::piece(
            template.face(),
            template.size_mm(Paper::A4),
            &brand(),
            &piece(hostile),
        )
        .unwrap(),
        svg::page(
            template.face(),
            &super::layout::impose(template, Paper::A4, true),
            &brand(),
            &[piece(hostile), piece("Ann")],
            "Cards",
            "/print/fonts",
        )
        .unwrap(),
    ] {
        assert!(!text.contains("<script"), "raw markup leaked");
        assert!(
            text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;"),
            "the name is there, escaped"
        );
    }
}

#[test]
fn the_print_page_sets_each_sheet_to_the_paper_and_text_as_real_text() {
    let template = Template::BusinessCard;
    let imposition = super::layout::impose(template, Paper::Letter, false);
    let pieces: Vec<PrintPiece> = (0..12).map(|i| piece(&format!("R{i}"))).collect();
    let page = svg::page(
        template.face(),
        &imposition,
        &brand(),
        &pieces,
        "Cards",
        "/print/fonts",
    )
    .unwrap();
    assert!(page.contains("@page { size: 215.9mm 279.4mm; margin: 0; }"));
    assert_eq!(page.matches(r#"<section class="sheet""#).count(), 2);
    assert_eq!(
        page.matches(r#"role="img" aria-label="Northwind"#).count(),
        12
    );
    assert!(page.contains(r#"font-family="HandoffMono" font-weight="700""#));
    assert!(page.contains(">JANE-7K4Q</text>"));
}

/// A writer that keeps every write apart, and can refuse everything past `fail_after` bytes
/// (the way a closed connection does).
#[derive(Default)]
struct Recorder {
    writes: Vec<Vec<u8>>,
    fail_after: Option<usize>,
}

impl Recorder {
    fn bytes(&self) -> Vec<u8> {
        self.writes.concat()
    }
}

impl std::io::Write for Recorder {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let so_far: usize = self.writes.iter().map(Vec::len).sum();
        if self.fail_after.is_some_and(|limit| so_far >= limit) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.writes.push(bytes.to_vec());
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cards(count: usize) -> Vec<PrintPiece> {
    (0..count)
        .map(|i| PrintPiece {
            name: Some(format!("Referrer {i}")),
            code: Some(format!("CODE{i:04}")),
            link: format!("https://refer.example.com/r/referrer-{i}"),
            qr_link: format!("https://refer.example.com/r/referrer-{i}?ch=card"),
        })
        .collect()
}

/// Checks the cross-reference table against the file: `startxref` points at it, and every entry
/// at the start of its own object. Returns the number of objects.
fn check_xref(file: &[u8]) -> usize {
    // Byte offsets: the file is binary, so it is searched as bytes, and only the table (ASCII)
    // is read as text.
    assert!(file.starts_with(b"%PDF-1.7\n"), "header");
    assert!(file.ends_with(b"%%EOF\n"), "trailer");
    let marker = b"startxref\n";
    let at = file
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("startxref");
    let start: usize = std::str::from_utf8(&file[at + marker.len()..])
        .unwrap()
        .lines()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("its offset");
    let table = std::str::from_utf8(&file[start..]).expect("the table is text");
    // Split on LF only: the entries end in CR LF, and the CR is part of their 20 bytes.
    let mut lines = table.split('\n');
    assert_eq!(lines.next(), Some("xref"));
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("0 "))
        .and_then(|n| n.parse().ok())
        .expect("subsection");
    assert_eq!(lines.next(), Some("0000000000 65535 f\r"));
    for id in 1..count {
        let entry = lines.next().expect("an entry per object");
        assert_eq!(
            entry.len(),
            19,
            "entries are 20 bytes with their CR LF: {entry:?}"
        );
        let offset: usize = entry[..10].parse().unwrap();
        assert!(entry.ends_with(" 00000 n\r"), "{entry:?}");
        let head = format!("{id} 0 obj");
        assert_eq!(
            &file[offset..offset + head.len()],
            head.as_bytes(),
            "object {id}"
        );
    }
    assert_eq!(lines.next(), Some("trailer"));
    assert!(table.contains(&format!("/Size {count} ")));
    count
}

#[test]
fn a_long_pdf_leaves_in_many_small_writes_with_a_table_that_finds_every_object() {
    let template = Template::BusinessCard;
    let imposition = impose(template, Paper::A4, true);
    let pieces = cards(150);
    let mut out = Recorder::default();
    pdf::write(
        &mut out,
        template.face(),
        &imposition,
        &brand(),
        &pieces,
        "Cards",
    )
    .unwrap();
    let file = out.bytes();
    // 150 cards at 8 a sheet: 19 pages, each a page and a content stream.
    let objects = check_xref(&file);
    assert!(objects > 2 * 19, "{objects}");
    assert_eq!(
        String::from_utf8_lossy(&file)
            .matches("/Type /Page\n")
            .count(),
        19
    );
    // Sheet by sheet: no single write holds more than a sheet's worth of the file (a document
    // built whole and written at the end would be one write).
    let largest = out.writes.iter().map(Vec::len).max().unwrap();
    assert!(out.writes.len() > 2 * 19, "{} writes", out.writes.len());
    assert!(
        largest * 10 < file.len(),
        "largest write {largest} of {}",
        file.len()
    );
    // The same file as the in-memory form.
    let whole = pdf::render(template.face(), &imposition, &brand(), &pieces, "Cards").unwrap();
    assert_eq!(whole, file);
}

#[test]
fn each_embedded_font_carries_its_own_postscript_name_as_a_subset() {
    let template = Template::BusinessCard;
    let imposition = impose(template, Paper::A4, false);
    let file = pdf::render(template.face(), &imposition, &brand(), &cards(2), "Cards").unwrap();
    let text = String::from_utf8_lossy(&file);
    // "/BaseFont /ABCDEF+Name": a six-capital subset tag, then the name from the font file.
    let names: Vec<&str> = text
        .match_indices("/BaseFont /")
        .map(|(at, _)| {
            let rest = &text[at + "/BaseFont /".len()..];
            let end = rest.find(['\n', ' ', '/', '>']).unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    for face in ["Inter-Regular", "Inter-Bold", "JetBrainsMono-Bold"] {
        assert!(
            names.iter().any(|n| {
                let (tag, name) = n.split_once('+').unwrap_or_default();
                tag.len() == 6
                    && tag.bytes().all(|b| b.is_ascii_uppercase())
                    && name.starts_with(face)
            }),
            "{face} in {names:?}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_stops_the_drawing() {
    let template = Template::BusinessCard;
    let imposition = impose(template, Paper::A4, false);
    let mut out = Recorder {
        fail_after: Some(50_000),
        ..Recorder::default()
    };
    let result = pdf::write(
        &mut out,
        template.face(),
        &imposition,
        &brand(),
        &cards(200),
        "x",
    );
    assert!(result.is_err());
    // It stopped at the first refused write: nothing past the limit but that one write.
    let written: usize = out.writes.iter().map(Vec::len).sum();
    let last = out.writes.last().map_or(0, Vec::len);
    assert!(written - last < 50_000, "{written}");
    assert!(
        written < 200_000,
        "kept drawing after the reader left: {written}"
    );
}

#[test]
fn a_pdf_with_a_transparent_logo_embeds_it_once_with_its_mask() {
    // A 4 x 2 PNG: red, the right half see-through.
    let mut pixels = image::RgbaImage::new(4, 2);
    for (x, _, pixel) in pixels.enumerate_pixels_mut() {
        *pixel = image::Rgba([255, 0, 0, if x < 2 { 255 } else { 0 }]);
    }
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgba8(pixels)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    let mut brand = brand();
    brand.logo = Some(PrintLogo {
        bytes: Arc::from(bytes),
        png: true,
        pixels: (4, 2),
    });
    let template = Template::BusinessCard;
    let file = pdf::render(
        template.face(),
        &impose(template, Paper::A4, false),
        &brand,
        &cards(10),
        "Logo",
    )
    .unwrap();
    check_xref(&file);
    let text = String::from_utf8_lossy(&file);
    assert_eq!(
        text.matches("/Subtype /Image").count(),
        2,
        "the logo and its mask, once"
    );
    assert!(text.contains("/SMask "));
    assert!(text.contains("/Logo "), "named in the resources");

    // A file that does not decode prints no logo and still makes a whole PDF.
    brand.logo = Some(PrintLogo {
        bytes: Arc::from(&b"not a png"[..]),
        png: true,
        pixels: (4, 2),
    });
    let file = pdf::render(
        template.face(),
        &impose(template, Paper::A4, false),
        &brand,
        &cards(1),
        "No logo",
    )
    .unwrap();
    check_xref(&file);
    assert!(!String::from_utf8_lossy(&file).contains("/Subtype /Image"));
}
