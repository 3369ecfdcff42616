//! QR codes of referral links, as SVG or PNG, for the public `/qr/{slug}.{svg,png}` route and the
//! REST API. Both call [`QrQuery::parse`], [`etag`] and [`render`], so the options, the refusals
//! and the pixels are the same everywhere.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use qrcode::{EcLevel, QrCode, render::svg};
use sea_orm::EntityTrait;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{
    domain::color::Rgb,
    error::AppError,
    ssr::{
        entities::referrer,
        services::{links, referrers},
        state::AppState,
    },
};

/// Smallest and largest `size`, in pixels. Below 64 px a phone camera has to come very close to
/// a printed code; above 2048 px the PNG only grows (a print shop scales the SVG instead).
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 64..=2048;

/// The size when none is asked for.
pub const DEFAULT_SIZE: u32 = 256;

/// Light modules around the code, on each side: the 4 that ISO/IEC 18004 requires. Scanners find
/// the code by its finder patterns against this margin; a code printed edge to edge on a busy
/// flyer often does not scan.
pub const QUIET_ZONE: u32 = 4;

/// The least contrast ratio (WCAG 2 formula) between foreground and background.
///
/// 4.5:1 rather than WCAG's 3:1 for graphics: that figure is for a person looking at a screen,
/// while a QR code is read by a camera from a print, often under poor light, and cameras binarise
/// by luminance. At 3:1 a mid-grey code on white (`#949494`) passes; at 4.5:1 the foreground has
/// to be at least as dark as `#767676`, which on white leaves over 80% luminance difference
/// (ISO/IEC 18004's symbol-contrast grade A asks for 70%).
pub const MIN_CONTRAST: f64 = 4.5;

/// Bumped whenever the same link and options would render different bytes, so that every cached
/// copy revalidates.
const RENDERING_VERSION: &str = "1";

/// The image format, chosen by the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrFormat {
    /// Scalable vector graphics: for print and for inlining in a page.
    Svg,
    /// A PNG bitmap: for chat apps and anything that does not take SVG.
    Png,
}

impl QrFormat {
    /// The format of a file extension (`svg`, `png`, lower case), if it is one.
    pub fn from_extension(extension: &str) -> Option<QrFormat> {
        match extension {
            "svg" => Some(QrFormat::Svg),
            "png" => Some(QrFormat::Png),
            _ => None,
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            QrFormat::Svg => "svg",
            QrFormat::Png => "png",
        }
    }

    /// The media type for `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            QrFormat::Svg => "image/svg+xml",
            QrFormat::Png => "image/png",
        }
    }
}

/// How a code is drawn. Only [`QrQuery::parse`] builds one from user input, so the contrast rule
/// cannot be skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QrOptions {
    /// Width and height in pixels: exact for SVG (its `width`/`height`), approximate for PNG,
    /// whose modules are a whole number of pixels.
    pub size: u32,
    /// Dark modules.
    pub fg: Rgb,
    /// Light modules and the quiet zone.
    pub bg: Rgb,
    /// Leave room for a logo over the centre: error correction Q (25% of the code may be
    /// covered) instead of M (15%). The routes do not draw logos yet and leave this false.
    pub logo: bool,
}

impl Default for QrOptions {
    fn default() -> Self {
        QrOptions {
            size: DEFAULT_SIZE,
            fg: Rgb::BLACK,
            bg: Rgb::WHITE,
            logo: false,
        }
    }
}

impl QrOptions {
    fn ec_level(self) -> EcLevel {
        if self.logo { EcLevel::Q } else { EcLevel::M }
    }
}

/// The query string of a QR code request, as sent. Every field is text so that a bad value is
/// answered with [`QrQuery::parse`]'s message rather than a generic "cannot parse" rejection.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// Width and height in pixels, 64 to 2048 (default 256). PNG modules are whole pixels, so a
    /// PNG is the nearest multiple of the code's width.
    pub size: Option<String>,
    /// Dark colour, `rrggbb` or `%23rrggbb` (default `000000`).
    pub fg: Option<String>,
    /// Light colour, `rrggbb` or `%23rrggbb` (default `ffffff`). The foreground must be darker,
    /// with a contrast ratio of at least 4.5:1.
    pub bg: Option<String>,
    /// `1` to have the file downloaded (`Content-Disposition: attachment`).
    pub download: Option<String>,
}

impl QrQuery {
    /// The drawing options these parameters ask for, or why they cannot be drawn.
    pub fn parse(&self) -> Result<QrOptions, AppError> {
        let defaults = QrOptions::default();
        let size = match self.size.as_deref().map(str::trim) {
            None | Some("") => defaults.size,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|size| SIZE_RANGE.contains(size))
                .ok_or_else(|| {
                    AppError::invalid(
                        "invalid_size",
                        "size",
                        format!(
                            "The size must be a whole number of pixels from {} to {}.",
                            SIZE_RANGE.start(),
                            SIZE_RANGE.end()
                        ),
                    )
                })?,
        };
        let colour = |value: Option<&str>, field: &str, default: Rgb| {
            match value.map(str::trim) {
            None | Some("") => Ok(default),
            Some(text) => Rgb::parse(text).ok_or_else(|| {
                AppError::invalid(
                    "invalid_color",
                    field,
                    format!(
                        "`{field}` must be a colour as six hex digits, like 1d4ed8 (or %231d4ed8 in a URL)."
                    ),
                )
            }),
        }
        };
        let fg = colour(self.fg.as_deref(), "fg", defaults.fg)?;
        let bg = colour(self.bg.as_deref(), "bg", defaults.bg)?;
        let ratio = fg.contrast(bg);
        if ratio < MIN_CONTRAST {
            return Err(AppError::invalid(
                "low_contrast",
                "fg",
                format!(
                    "{} on {} has a contrast ratio of {ratio:.1}:1; a QR code needs at least \
                     {MIN_CONTRAST}:1 to scan reliably. Darken the foreground or lighten the background.",
                    fg.hex(),
                    bg.hex()
                ),
            ));
        }
        if fg.luminance() > bg.luminance() {
            return Err(AppError::invalid(
                "light_on_dark",
                "fg",
                format!(
                    "The foreground ({}) must be darker than the background ({}): many scanners \
                     cannot read light-on-dark codes.",
                    fg.hex(),
                    bg.hex()
                ),
            ));
        }
        Ok(QrOptions {
            size,
            fg,
            bg,
            logo: false,
        })
    }

    /// Whether the file should be downloaded rather than shown: `download=1` or `true`.
    pub fn download(&self) -> bool {
        matches!(self.download.as_deref().map(str::trim), Some("1" | "true"))
    }
}

/// A referral link to draw, and the slug that names its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrTarget {
    /// The referrer's link slug (lower case, `[a-z0-9-]`).
    pub slug: String,
    /// The absolute referral link the code encodes.
    pub link: String,
}

impl QrTarget {
    /// A file name for `Content-Disposition`: `{slug}-qr.{ext}` (the slug needs no escaping).
    pub fn file_name(&self, format: QrFormat) -> String {
        format!("{}-qr.{}", self.slug, format.extension())
    }
}

/// The link of slug `slug`, or `None` when there is no such link. Goes through the same cache as
/// the redirect, so a code exists exactly when its link does (a paused campaign's link included:
/// printed codes outlive a pause).
pub async fn target_by_slug(state: &AppState, slug: &str) -> Result<Option<QrTarget>, AppError> {
    let slug = slug.to_ascii_lowercase();
    Ok(links::resolve(state, &slug).await?.map(|_| QrTarget {
        link: referrers::link(&state.settings, &slug),
        slug,
    }))
}

/// The link of referrer `id`; `NotFound` when there is no such referrer.
pub async fn target_by_referrer(state: &AppState, id: i64) -> Result<QrTarget, AppError> {
    let row = referrer::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("qr::target_by_referrer", e))?
        .ok_or_else(|| AppError::not_found("Referrer"))?;
    Ok(QrTarget {
        link: referrers::link(&state.settings, &row.slug),
        slug: row.slug,
    })
}

/// A strong entity tag (quoted) for the image of `link` in `format` with `options`: the same
/// inputs always render the same bytes, so a match lets the route answer 304 without rendering.
pub fn etag(link: &str, format: QrFormat, options: &QrOptions) -> String {
    let mut hash = Sha256::new();
    hash.update(
        format!(
            "qr-v{RENDERING_VERSION}\n{}\n{}\n{}\n{}\n{:?}\n",
            format.extension(),
            options.size,
            options.fg.hex(),
            options.bg.hex(),
            options.ec_level(),
        )
        .as_bytes(),
    );
    hash.update(link.as_bytes());
    let digest = hash.finalize();
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The image of `link` in `format`.
pub fn render(link: &str, format: QrFormat, options: &QrOptions) -> Result<Vec<u8>, AppError> {
    match format {
        QrFormat::Svg => svg(link, options).map(String::into_bytes),
        QrFormat::Png => png(link, options),
    }
}

fn encode(link: &str, options: &QrOptions) -> Result<QrCode, AppError> {
    // A link is a public URL plus a slug of at most 64 characters: far below the 2,331 bytes a
    // version-40 code holds at level M, so this fails only on a misconfigured public URL.
    QrCode::with_error_correction_level(link.as_bytes(), options.ec_level())
        .map_err(|e| AppError::internal("qr::encode", e))
}

/// The code of `link` as a standalone SVG document (no XML declaration, so it can also be inlined
/// in HTML). One user unit is one module, so the `viewBox` is the code's width plus the quiet
/// zone and the image scales cleanly; `width`/`height` are `options.size`.
pub fn svg(link: &str, options: &QrOptions) -> Result<String, AppError> {
    let code = encode(link, options)?;
    let (fg, bg) = (options.fg.hex(), options.bg.hex());
    let document = code
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color(&fg))
        .light_color(svg::Color(&bg))
        .build();
    // qrcode writes `<?xml …?><svg … width="N" height="N" viewBox="0 0 N N"
    // shape-rendering="crispEdges">`, with N in modules; a test pins that shape.
    let document = document
        .split_once("?>")
        .map_or(document.as_str(), |(_, rest)| rest);
    let modules = code.width() as u32 + 2 * QUIET_ZONE;
    Ok(document.replacen(
        &format!(r#" width="{modules}" height="{modules}""#),
        &format!(r#" width="{0}" height="{0}""#, options.size),
        1,
    ))
}

/// How many links' default SVGs [`default_svg`] keeps (about 10 KB each); when full it starts
/// over, which costs one encode per link.
const SVG_CACHE_LINKS: usize = 4096;

/// The code of `link` with the default options, as [`svg`] makes it, kept per link: the portal
/// page and the admin's referrer page show it on every view, and an encode costs about 0.45 ms
/// (BENCHMARKS, "QR codes"), more than the page's queries. A link never changes what it encodes,
/// so a kept SVG is never stale.
pub fn default_svg(link: &str) -> Result<String, AppError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<str>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(link).cloned()) {
        return Ok(hit.to_string());
    }
    let fresh = svg(link, &QrOptions::default())?;
    if let Ok(mut kept) = cache.lock() {
        if kept.len() >= SVG_CACHE_LINKS {
            kept.clear();
        }
        kept.insert(link.to_owned(), Arc::from(fresh.as_str()));
    }
    Ok(fresh)
}

/// The code of `link` as a PNG: a two-colour palette at one bit per pixel (the smallest and
/// fastest form of a two-colour image), each module a square of whole pixels, the quiet zone
/// included, about `options.size` pixels wide.
pub fn png(link: &str, options: &QrOptions) -> Result<Vec<u8>, AppError> {
    let code = encode(link, options)?;
    let width = code.width();
    let dark = code.to_colors();
    let quiet = QUIET_ZONE as usize;
    let modules = width + 2 * quiet;
    // The whole-pixel module size nearest to the asked size (never 0).
    let scale = ((options.size as usize + modules / 2) / modules).max(1);
    let pixels = modules * scale;
    let row_bytes = pixels.div_ceil(8);

    let mut image = vec![0u8; row_bytes * pixels];
    for (y, row_modules) in dark.chunks_exact(width).enumerate() {
        let top = (y + quiet) * scale;
        let row = &mut image[top * row_bytes..(top + 1) * row_bytes];
        for (x, module) in row_modules.iter().enumerate() {
            if *module == qrcode::Color::Dark {
                let left = (x + quiet) * scale;
                for px in left..left + scale {
                    // Palette index 1 (the foreground), most significant bit first.
                    row[px / 8] |= 0x80 >> (px % 8);
                }
            }
        }
        // The module's other pixel rows are copies of its first.
        for copy in 1..scale {
            image.copy_within(
                top * row_bytes..(top + 1) * row_bytes,
                (top + copy) * row_bytes,
            );
        }
    }

    let side = u32::try_from(pixels).map_err(|e| AppError::internal("qr::png size", e))?;
    let mut out = Vec::with_capacity(image.len() / 4 + 128);
    let mut encoder = ::png::Encoder::new(&mut out, side, side);
    encoder.set_color(::png::ColorType::Indexed);
    encoder.set_depth(::png::BitDepth::One);
    let (Rgb(br, bgc, bb), Rgb(fr, fgc, fb)) = (options.bg, options.fg);
    encoder.set_palette(vec![br, bgc, bb, fr, fgc, fb]);
    encoder.set_compression(::png::Compression::Fast);
    let err = |e: ::png::EncodingError| AppError::internal("qr::png", e);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&image).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "http://127.0.0.1:3000/r/jane-7k4q";

    fn query(size: Option<&str>, fg: Option<&str>, bg: Option<&str>) -> QrQuery {
        QrQuery {
            size: size.map(str::to_owned),
            fg: fg.map(str::to_owned),
            bg: bg.map(str::to_owned),
            download: None,
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
        assert_eq!(options.ec_level(), EcLevel::M);
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
    fn download_is_asked_for_with_1_or_true_only() {
        let with = |v: &str| QrQuery {
            download: Some(v.to_owned()),
            ..QrQuery::default()
        };
        assert!(with("1").download() && with("true").download());
        assert!(!with("0").download() && !with("").download() && !QrQuery::default().download());
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

        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
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
            logo: false,
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

    #[test]
    fn a_logo_reserves_more_error_correction() {
        let with_logo = QrOptions {
            logo: true,
            ..QrOptions::default()
        };
        assert_eq!(with_logo.ec_level(), EcLevel::Q);
        assert_ne!(
            etag(LINK, QrFormat::Svg, &with_logo),
            etag(LINK, QrFormat::Svg, &QrOptions::default())
        );
    }

    #[test]
    fn the_etag_changes_with_link_format_and_every_option_and_only_with_them() {
        let base = QrOptions::default();
        let tag = etag(LINK, QrFormat::Png, &base);
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        assert_eq!(tag, etag(LINK, QrFormat::Png, &base));
        let others = [
            etag("http://127.0.0.1:3000/r/jane-7k4r", QrFormat::Png, &base),
            etag(LINK, QrFormat::Svg, &base),
            etag(LINK, QrFormat::Png, &QrOptions { size: 512, ..base }),
            etag(
                LINK,
                QrFormat::Png,
                &QrOptions {
                    fg: Rgb(0, 0, 1),
                    ..base
                },
            ),
            etag(
                LINK,
                QrFormat::Png,
                &QrOptions {
                    bg: Rgb(0xff, 0xff, 0xfe),
                    ..base
                },
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
        };
        assert_eq!(target.file_name(QrFormat::Svg), "jane-7k4q-qr.svg");
    }
}
