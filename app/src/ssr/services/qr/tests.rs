//! Unit tests of the QR rendering: options, refusals, pixels, and codes with a logo decoded
//! back by rqrr.

use super::*;

const LINK: &str = "http://127.0.0.1:3000/r/jane-7k4q";

fn query(size: Option<&str>, fg: Option<&str>, bg: Option<&str>) -> QrQuery {
    QrQuery {
        size: size.map(str::to_owned),
        fg: fg.map(str::to_owned),
        bg: bg.map(str::to_owned),
        download: None,
        logo: None,
    }
}

fn field_and_code(error: AppError) -> (String, String) {
    (
        error.field().unwrap_or_default().to_owned(),
        error.code().to_owned(),
    )
}

/// Decodes a PNG to one grey byte per pixel.
fn grey_pixels(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = ::png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(::png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, ::png::ColorType::Rgb);
    let grey = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8)
        .collect();
    (info.width as usize, info.height as usize, grey)
}

#[test]
fn no_parameters_mean_256_pixels_black_on_white_at_level_m() {
    let options = QrQuery::default().parse().unwrap();
    assert_eq!(options, QrOptions::default());
    assert_eq!(options.size, 256);
    assert_eq!((options.fg, options.bg), (Rgb::BLACK, Rgb::WHITE));
    assert_eq!(ec_level(None), EcLevel::M);
}

#[test]
fn colours_are_read_with_or_without_the_hash_in_either_case() {
    let options = query(Some(" 512 "), Some("#1D4ED8"), Some("fefce8"))
        .parse()
        .unwrap();
    assert_eq!(options.size, 512);
    assert_eq!(options.fg, Rgb(0x1d, 0x4e, 0xd8));
    assert_eq!(options.bg.hex(), "#fefce8");
}

#[test]
fn a_size_outside_64_to_2048_or_not_a_number_is_refused_on_the_size_field() {
    for bad in [
        "63",
        "2049",
        "0",
        "-5",
        "12.5",
        "big",
        "99999999999999999999",
    ] {
        let error = query(Some(bad), None, None).parse().unwrap_err();
        assert_eq!(
            field_and_code(error),
            ("size".into(), "invalid_size".into()),
            "{bad}"
        );
    }
    for good in ["64", "2048"] {
        assert!(query(Some(good), None, None).parse().is_ok(), "{good}");
    }
}

#[test]
fn an_unreadable_colour_is_refused_on_its_own_field() {
    let error = query(None, None, Some("white")).parse().unwrap_err();
    assert_eq!(field_and_code(error), ("bg".into(), "invalid_color".into()));
    let error = query(None, Some("#00ff"), None).parse().unwrap_err();
    assert_eq!(field_and_code(error), ("fg".into(), "invalid_color".into()));
}

#[test]
fn a_pair_below_4_5_to_1_is_refused_with_its_ratio_in_the_message() {
    // 3.03:1: enough for WCAG's graphics rule, not for a camera.
    let error = query(None, Some("949494"), Some("ffffff"))
        .parse()
        .unwrap_err();
    assert!(error.to_string().contains(":1"), "{error}");
    assert_eq!(field_and_code(error), ("fg".into(), "low_contrast".into()));
    assert!(
        query(None, Some("767676"), None).parse().is_ok(),
        "4.54:1 passes"
    );
    let same = query(None, Some("336699"), Some("336699")).parse();
    assert_eq!(same.unwrap_err().code(), "low_contrast");
}

#[test]
fn a_light_code_on_a_dark_background_is_refused_whatever_its_contrast() {
    let error = query(None, Some("ffffff"), Some("000000"))
        .parse()
        .unwrap_err();
    assert_eq!(field_and_code(error), ("fg".into(), "light_on_dark".into()));
}

#[test]
fn download_and_logo_are_asked_for_with_1_or_true_only() {
    let with = |v: &str| QrQuery {
        download: Some(v.to_owned()),
        ..QrQuery::default()
    };
    assert!(with("1").download() && with("true").download());
    assert!(!with("0").download() && !with("").download() && !QrQuery::default().download());
    let logo = |v: &str| QrQuery {
        logo: Some(v.to_owned()),
        ..QrQuery::default()
    };
    assert!(logo("1").logo() && logo(" true").logo());
    assert!(!logo("yes").logo() && !QrQuery::default().logo() && !with("1").logo());
}

#[test]
fn the_svg_has_no_xml_declaration_a_module_viewbox_and_the_asked_size() {
    let options = QrOptions {
        size: 300,
        fg: Rgb(0x1d, 0x4e, 0xd8),
        ..QrOptions::default()
    };
    let svg = svg(LINK, &options).unwrap();
    let modules = QrCode::new(LINK).unwrap().width() + 8;
    assert!(svg.starts_with("<svg "), "{}", &svg[..60]);
    assert!(svg.contains(r#" width="300" height="300""#), "{svg}");
    assert!(svg.contains(&format!(r#"viewBox="0 0 {modules} {modules}""#)));
    assert!(svg.contains(r#"shape-rendering="crispEdges""#));
    assert!(svg.contains(r##"fill="#1d4ed8""##) && svg.contains(r##"fill="#ffffff""##));
    // The quiet zone: no dark module starts before x or y = 4.
    let path = svg.split(r#" d=""#).nth(1).unwrap();
    let first = path.trim_start_matches('M').split('h').next().unwrap();
    let (x, y): (u32, u32) = {
        let mut it = first.split(' ').map(|n| n.parse().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    };
    assert_eq!(
        (x, y),
        (4, 4),
        "the finder pattern starts after the quiet zone"
    );
}

#[test]
fn the_png_has_a_four_module_quiet_zone_and_decodes_to_the_link() {
    let options = QrOptions::default();
    let png = png(LINK, &options).unwrap();
    let (w, h, grey) = grey_pixels(&png);
    assert_eq!(w, h);
    let modules = QrCode::new(LINK).unwrap().width() + 8;
    assert_eq!(w % modules, 0, "whole-pixel modules");
    let scale = w / modules;
    assert!(w.abs_diff(256) <= modules / 2 + 1, "{w} px is about 256");
    let quiet = 4 * scale;
    for y in 0..h {
        for x in 0..w {
            if x < quiet || y < quiet || x >= w - quiet || y >= h - quiet {
                assert_eq!(grey[y * w + x], 255, "quiet zone pixel ({x},{y})");
            }
        }
    }
    assert_eq!(
        grey[quiet * w + quiet],
        0,
        "the finder pattern's corner is dark"
    );

    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, LINK);
}

#[test]
fn the_png_palette_carries_the_asked_colours() {
    let options = QrOptions {
        fg: Rgb(0x1d, 0x4e, 0xd8),
        bg: Rgb(0xfe, 0xfc, 0xe8),
        size: 64,
    };
    let png = png(LINK, &options).unwrap();
    let decoder = ::png::Decoder::new(std::io::Cursor::new(&png));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!(info.bit_depth, ::png::BitDepth::One);
    assert_eq!(
        info.palette.as_deref(),
        Some(&[0xfe, 0xfc, 0xe8, 0x1d, 0x4e, 0xd8][..])
    );
    // 64 px asked: this link is a version-3 code (29 modules, 37 with the quiet zone), and
    // the nearest whole-pixel scale is 2.
    assert_eq!(info.width, 74);
}

/// A logo of `width` x `height` pixels in `format`: a red disc on transparent (PNG) or on
/// white (JPEG), so that its middle is red.
fn logo_file(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
    let image = RgbaImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        if (dx * dx + dy * dy).sqrt() < cx.min(cy) {
            image::Rgba([220, 20, 20, 255])
        } else if format == image::ImageFormat::Png {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([255, 255, 255, 255])
        }
    });
    let mut out = Vec::new();
    let mut cursor = std::io::Cursor::new(&mut out);
    if format == image::ImageFormat::Png {
        image.write_to(&mut cursor, format).unwrap();
    } else {
        image::DynamicImage::ImageRgba8(image)
            .to_rgb8()
            .write_to(&mut cursor, format)
            .unwrap();
    }
    out
}

/// Decodes the one code in an RGB or palette PNG.
fn decode_png(png: &[u8]) -> String {
    let (w, h, grey) = grey_pixels(png);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code found");
    grids[0].decode().expect("the code decodes").1
}

#[test]
fn a_logo_raises_error_correction_to_q_and_changes_the_etag_with_its_upload() {
    let logo = QrLogo::prepare("aa", &logo_file(40, 40, image::ImageFormat::Png)).unwrap();
    assert_eq!(ec_level(Some(&logo)), EcLevel::Q);
    let plain = etag(LINK, QrFormat::Svg, &QrOptions::default(), None);
    let with_logo = etag(LINK, QrFormat::Svg, &QrOptions::default(), Some(&logo));
    assert_ne!(plain, with_logo);
    let new_upload = QrLogo {
        etag: "bb".into(),
        ..logo.clone()
    };
    assert_ne!(
        with_logo,
        etag(
            LINK,
            QrFormat::Svg,
            &QrOptions::default(),
            Some(&new_upload)
        )
    );
}

#[test]
fn a_large_logo_is_kept_at_most_512_pixels_with_its_aspect_ratio() {
    let wide = QrLogo::prepare("w", &logo_file(1200, 300, image::ImageFormat::Jpeg)).unwrap();
    assert_eq!((wide.image.width(), wide.image.height()), (512, 128));
    let small = QrLogo::prepare("s", &logo_file(30, 60, image::ImageFormat::Png)).unwrap();
    assert_eq!((small.image.width(), small.image.height()), (30, 60));
    assert!(QrLogo::prepare("x", b"not an image").is_err());
}

#[test]
fn the_logo_pad_is_an_odd_fifth_of_the_code_centred_on_whole_modules() {
    for version in 1..=40u32 {
        let width = 17 + 4 * version;
        let place = LogoPlace::for_width(width);
        assert_eq!(place.pad_side % 2, 1, "version {version}");
        let fifth = f64::from(width) / 5.0;
        assert!(
            f64::from(place.pad_side) >= fifth - 1.0 && f64::from(place.pad_side) <= fifth + 2.0
        );
        let before = place.pad_start - QUIET_ZONE;
        let after = width - before - place.pad_side;
        assert_eq!(before, after, "centred, version {version}");
    }
    // A wide logo fills the pad's width less a module, centred.
    let place = LogoPlace::for_width(33);
    let (x, y, w, h) = place.logo_box(&RgbaImage::new(200, 100));
    assert_eq!((place.pad_start, place.pad_side), (17, 7));
    assert_eq!((w, h), (6.0, 3.0));
    assert_eq!((x, y), (17.5, 19.0));
}

#[test]
fn codes_with_a_logo_decode_to_the_link_at_every_size_and_length() {
    let links = [
        LINK.to_owned(),
        format!("https://refer.example-business.co.uk/r/{}", "a".repeat(64)),
    ];
    for format in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
        let logo = QrLogo::prepare("t", &logo_file(300, 200, format)).unwrap();
        for link in &links {
            for size in [128, 256, 1024] {
                let options = QrOptions {
                    size,
                    ..QrOptions::default()
                };
                let png = png_with_logo(link, &options, &logo).unwrap();
                assert_eq!(&decode_png(&png), link, "{format:?} {size} px");
                // The middle pixel is the logo's red, so the logo was drawn.
                let (w, h, _) = grey_pixels(&png);
                let decoded = image::load_from_memory(&png).unwrap().to_rgb8();
                let middle = decoded.get_pixel(w as u32 / 2, h as u32 / 2);
                assert!(middle[0] > 180 && middle[1] < 80, "{middle:?} at {size} px");
            }
        }
    }
}

#[test]
fn an_svg_with_a_logo_embeds_it_as_a_data_url_on_a_light_pad() {
    let logo = QrLogo::prepare("t", &logo_file(40, 40, image::ImageFormat::Png)).unwrap();
    let options = QrOptions {
        bg: Rgb(0xfe, 0xfc, 0xe8),
        ..QrOptions::default()
    };
    let svg = svg_with_logo(LINK, &options, &logo).unwrap();
    let width = QrCode::with_error_correction_level(LINK, EcLevel::Q)
        .unwrap()
        .width() as u32;
    let place = LogoPlace::for_width(width);
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
    assert!(svg.contains(&format!(
        r##"<rect x="{0}" y="{0}" width="{1}" height="{1}" fill="#fefce8"/>"##,
        place.pad_start, place.pad_side
    )));
    let data = svg
        .split(r#"href="data:image/png;base64,"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(png, logo.png);
    assert_eq!(svg.matches("<svg").count(), 1);
}

#[test]
fn the_etag_changes_with_link_format_and_every_option_and_only_with_them() {
    let base = QrOptions::default();
    let tag = etag(LINK, QrFormat::Png, &base, None);
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
    assert_eq!(tag, etag(LINK, QrFormat::Png, &base, None));
    let others = [
        etag(
            "http://127.0.0.1:3000/r/jane-7k4r",
            QrFormat::Png,
            &base,
            None,
        ),
        etag(LINK, QrFormat::Svg, &base, None),
        etag(LINK, QrFormat::Png, &QrOptions { size: 512, ..base }, None),
        etag(
            LINK,
            QrFormat::Png,
            &QrOptions {
                fg: Rgb(0, 0, 1),
                ..base
            },
            None,
        ),
        etag(
            LINK,
            QrFormat::Png,
            &QrOptions {
                bg: Rgb(0xff, 0xff, 0xfe),
                ..base
            },
            None,
        ),
    ];
    for other in others {
        assert_ne!(tag, other);
    }
}

#[test]
fn extensions_name_formats_and_nothing_else() {
    assert_eq!(QrFormat::from_extension("svg"), Some(QrFormat::Svg));
    assert_eq!(QrFormat::from_extension("png"), Some(QrFormat::Png));
    for other in ["SVG", "jpg", "", "svg.png"] {
        assert_eq!(QrFormat::from_extension(other), None);
    }
    assert_eq!(QrFormat::Png.content_type(), "image/png");
    let target = QrTarget {
        slug: "jane-7k4q".into(),
        link: LINK.into(),
        campaign_id: 1,
    };
    assert_eq!(target.file_name(QrFormat::Svg), "jane-7k4q-qr.svg");
}
