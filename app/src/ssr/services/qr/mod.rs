//! QR codes of referral links, as SVG or PNG, for the public `/qr/{slug}.{svg,png}` route and the
//! REST API. Both call [`QrQuery::parse`], [`etag`] and [`render`], so the options, the refusals
//! and the pixels are the same everywhere.
//!
//! A code may carry the campaign's uploaded logo in its middle ([`QrLogo`]): it is then encoded
//! at error correction Q (a quarter of the code may be lost) instead of M, and the logo covers
//! about a twentieth of its modules, well inside what Q restores.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use base64::Engine as _;
use image::{RgbaImage, imageops};
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

/// The logo's square pad is this fraction of the code's width (quiet zone excluded), rounded to
/// whole modules. A fifth covers about 4% of the modules: error correction Q restores up to 25%
/// of the codewords, which leaves room for a smudge or a fold on top of the logo.
const LOGO_PAD_FRACTION: f64 = 0.2;

/// A prepared logo is kept at most this many pixels on its longest side: enough for the pad of
/// the largest PNG (a fifth of 2,048 px), and it keeps an SVG with the logo embedded small.
const LOGO_KEPT_SIDE: u32 = 512;

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
}

impl Default for QrOptions {
    fn default() -> Self {
        QrOptions {
            size: DEFAULT_SIZE,
            fg: Rgb::BLACK,
            bg: Rgb::WHITE,
        }
    }
}

/// The error correction level: M for a plain code (15% of it may be lost), Q when a logo covers
/// its middle (25%).
fn ec_level(logo: Option<&QrLogo>) -> EcLevel {
    if logo.is_some() {
        EcLevel::Q
    } else {
        EcLevel::M
    }
}

/// A campaign's uploaded logo, decoded and scaled down once, ready to be drawn into the middle
/// of its codes.
#[derive(Clone)]
pub struct QrLogo {
    /// The uploaded file's tag: it changes with the bytes, and is part of every code's ETag.
    etag: String,
    /// The logo, at most [`LOGO_KEPT_SIDE`] pixels on its longest side.
    image: RgbaImage,
    /// The same pixels as a PNG, for embedding in SVG codes.
    png: Vec<u8>,
}

impl std::fmt::Debug for QrLogo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrLogo")
            .field("etag", &self.etag)
            .field("width", &self.image.width())
            .field("height", &self.image.height())
            .finish()
    }
}

impl QrLogo {
    /// Decodes an uploaded logo (PNG or JPEG, as `logos::check` accepted it) whose tag is `etag`.
    pub fn prepare(etag: &str, bytes: &[u8]) -> Result<QrLogo, AppError> {
        let decoded =
            image::load_from_memory(bytes).map_err(|e| AppError::internal("qr::logo decode", e))?;
        let decoded = if decoded.width().max(decoded.height()) > LOGO_KEPT_SIDE {
            decoded.resize(
                LOGO_KEPT_SIDE,
                LOGO_KEPT_SIDE,
                imageops::FilterType::Triangle,
            )
        } else {
            decoded
        };
        let image = decoded.to_rgba8();
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| AppError::internal("qr::logo encode", e))?;
        Ok(QrLogo {
            etag: etag.to_owned(),
            image,
            png,
        })
    }

    /// The uploaded file's tag.
    pub fn etag(&self) -> &str {
        &self.etag
    }
}

/// Where a logo goes on a code, in modules from the image's top-left corner (quiet zone
/// included): a square pad in the light colour, and inside it, half a module in from each side,
/// the box the logo is fitted into.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LogoPlace {
    /// The pad's first module on each axis.
    pad_start: u32,
    /// The pad's side, in modules.
    pad_side: u32,
}

impl LogoPlace {
    /// The place for a code `width` modules wide (quiet zone excluded). Code widths are odd
    /// (21 + 4 per version), so an odd pad centres on whole modules.
    fn for_width(width: u32) -> LogoPlace {
        let mut pad_side = ((f64::from(width) * LOGO_PAD_FRACTION).round() as u32).max(3);
        if pad_side.is_multiple_of(2) {
            pad_side += 1;
        }
        LogoPlace {
            pad_start: QUIET_ZONE + (width - pad_side) / 2,
            pad_side,
        }
    }

    /// The logo's box: `(x, y, width, height)` in modules, fitted to the logo's aspect ratio.
    fn logo_box(self, logo: &RgbaImage) -> (f64, f64, f64, f64) {
        let room = f64::from(self.pad_side) - 1.0;
        let (w, h) = (f64::from(logo.width()), f64::from(logo.height()));
        let scale = room / w.max(h);
        let (bw, bh) = (w * scale, h * scale);
        let centre = f64::from(self.pad_start) + f64::from(self.pad_side) / 2.0;
        (centre - bw / 2.0, centre - bh / 2.0, bw, bh)
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
    /// `1` to draw the campaign's uploaded logo in the middle (the code is then encoded at error
    /// correction Q instead of M). A campaign without an uploaded logo gets a plain code.
    pub logo: Option<String>,
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
        Ok(QrOptions { size, fg, bg })
    }

    /// Whether the file should be downloaded rather than shown: `download=1` or `true`.
    pub fn download(&self) -> bool {
        is_yes(self.download.as_deref())
    }

    /// Whether the campaign's logo is asked for: `logo=1` or `true`.
    pub fn logo(&self) -> bool {
        is_yes(self.logo.as_deref())
    }
}

/// A query flag that is on: `1` or `true`.
fn is_yes(value: Option<&str>) -> bool {
    matches!(value.map(str::trim), Some("1" | "true"))
}

/// A referral link to draw, the slug that names its file, and its campaign (whose logo it may
/// carry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrTarget {
    /// The referrer's link slug (lower case, `[a-z0-9-]`).
    pub slug: String,
    /// The absolute referral link the code encodes.
    pub link: String,
    /// The referrer's campaign.
    pub campaign_id: i64,
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
    Ok(links::resolve(state, &slug).await?.map(|target| QrTarget {
        link: referrers::link(&state.settings, &slug),
        slug,
        campaign_id: target.campaign_id,
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
        campaign_id: row.campaign_id,
    })
}

/// A strong entity tag (quoted) for the image of `link` in `format` with `options` and `logo`:
/// the same inputs always render the same bytes, so a match lets the route answer 304 without
/// rendering.
pub fn etag(link: &str, format: QrFormat, options: &QrOptions, logo: Option<&QrLogo>) -> String {
    let mut hash = Sha256::new();
    hash.update(
        format!(
            "qr-v{RENDERING_VERSION}\n{}\n{}\n{}\n{}\n{:?}\n{}\n",
            format.extension(),
            options.size,
            options.fg.hex(),
            options.bg.hex(),
            ec_level(logo),
            logo.map_or("", QrLogo::etag),
        )
        .as_bytes(),
    );
    hash.update(link.as_bytes());
    let digest = hash.finalize();
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The image of `link` in `format`, with `logo` in its middle when given.
pub fn render(
    link: &str,
    format: QrFormat,
    options: &QrOptions,
    logo: Option<&QrLogo>,
) -> Result<Vec<u8>, AppError> {
    match (format, logo) {
        (QrFormat::Svg, None) => svg(link, options).map(String::into_bytes),
        (QrFormat::Svg, Some(logo)) => svg_with_logo(link, options, logo).map(String::into_bytes),
        (QrFormat::Png, None) => png(link, options),
        (QrFormat::Png, Some(logo)) => png_with_logo(link, options, logo),
    }
}

fn encode(link: &str, level: EcLevel) -> Result<QrCode, AppError> {
    // A link is a public URL plus a slug of at most 64 characters: far below the 1,663 bytes a
    // version-40 code holds at level Q, so this fails only on a misconfigured public URL.
    QrCode::with_error_correction_level(link.as_bytes(), level)
        .map_err(|e| AppError::internal("qr::encode", e))
}

/// The code of `link` as a standalone SVG document (no XML declaration, so it can also be inlined
/// in HTML). One user unit is one module, so the `viewBox` is the code's width plus the quiet
/// zone and the image scales cleanly; `width`/`height` are `options.size`.
pub fn svg(link: &str, options: &QrOptions) -> Result<String, AppError> {
    Ok(svg_of(&encode(link, ec_level(None))?, options))
}

/// [`svg`] with `logo` on a light pad in the middle, embedded as a PNG `data:` URL so the file
/// stands alone (an `<img>` of an SVG may not fetch anything else).
pub fn svg_with_logo(link: &str, options: &QrOptions, logo: &QrLogo) -> Result<String, AppError> {
    let code = encode(link, ec_level(Some(logo)))?;
    let document = svg_of(&code, options);
    let place = LogoPlace::for_width(code.width() as u32);
    let (x, y, w, h) = place.logo_box(&logo.image);
    let overlay = format!(
        r#"<rect x="{0}" y="{0}" width="{1}" height="{1}" fill="{2}"/><image x="{x:.3}" y="{y:.3}" width="{w:.3}" height="{h:.3}" preserveAspectRatio="xMidYMid meet" href="data:image/png;base64,{3}"/></svg>"#,
        place.pad_start,
        place.pad_side,
        options.bg.hex(),
        base64::engine::general_purpose::STANDARD.encode(&logo.png),
    );
    let body = document
        .trim_end()
        .strip_suffix("</svg>")
        .ok_or_else(|| AppError::internal("qr::svg_with_logo", "the SVG does not end in </svg>"))?;
    Ok(format!("{body}{overlay}"))
}

/// The document for an encoded `code`.
fn svg_of(code: &QrCode, options: &QrOptions) -> String {
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
    document.replacen(
        &format!(r#" width="{modules}" height="{modules}""#),
        &format!(r#" width="{0}" height="{0}""#, options.size),
        1,
    )
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
    let code = encode(link, ec_level(None))?;
    let width = code.width();
    let dark = code.to_colors();
    let quiet = QUIET_ZONE as usize;
    let (scale, pixels) = png_scale(width, options.size);
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
    let (Rgb(br, bgc, bb), Rgb(fr, fgc, fb)) = (options.bg, options.fg);
    encode_png(
        side,
        ::png::ColorType::Indexed,
        ::png::BitDepth::One,
        Some(vec![br, bgc, bb, fr, fgc, fb]),
        &image,
    )
}

/// A square PNG `side` pixels wide of `data` (rows of `color` at `depth`), deflated fast: these
/// images are mostly flat colour, where the fast setting costs a few percent of size.
fn encode_png(
    side: u32,
    color: ::png::ColorType,
    depth: ::png::BitDepth,
    palette: Option<Vec<u8>>,
    data: &[u8],
) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::with_capacity(data.len() / 4 + 128);
    let mut encoder = ::png::Encoder::new(&mut out, side, side);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if let Some(palette) = palette {
        encoder.set_palette(palette);
    }
    encoder.set_compression(::png::Compression::Fast);
    let err = |e: ::png::EncodingError| AppError::internal("qr::encode_png", e);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(data).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// The whole-pixel module size nearest to `size` (never 0) for a code `width` modules wide, and
/// the image's side in pixels, quiet zone included.
fn png_scale(width: usize, size: u32) -> (usize, usize) {
    let modules = width + 2 * QUIET_ZONE as usize;
    let scale = ((size as usize + modules / 2) / modules).max(1);
    (scale, modules * scale)
}

/// [`png`] with `logo` on a light pad in the middle, as an 8-bit RGB image (the logo's colours
/// do not fit a two-colour palette).
pub fn png_with_logo(link: &str, options: &QrOptions, logo: &QrLogo) -> Result<Vec<u8>, AppError> {
    let code = encode(link, ec_level(Some(logo)))?;
    let width = code.width();
    let (scale, pixels) = png_scale(width, options.size);
    let side = u32::try_from(pixels).map_err(|e| AppError::internal("qr::png size", e))?;
    let px = scale as u32;
    let (Rgb(br, bgc, bb), Rgb(fr, fgc, fb)) = (options.bg, options.fg);
    let (light, dark) = (
        image::Rgba([br, bgc, bb, 255]),
        image::Rgba([fr, fgc, fb, 255]),
    );
    let mut canvas = RgbaImage::from_pixel(side, side, light);
    for (index, module) in code.to_colors().iter().enumerate() {
        if *module == qrcode::Color::Dark {
            let (x, y) = ((index % width) as u32, (index / width) as u32);
            let (left, top) = ((x + QUIET_ZONE) * px, (y + QUIET_ZONE) * px);
            for py in top..top + px {
                for pxl in left..left + px {
                    canvas.put_pixel(pxl, py, dark);
                }
            }
        }
    }
    let place = LogoPlace::for_width(width as u32);
    let pad = place.pad_start * px..(place.pad_start + place.pad_side) * px;
    for y in pad.clone() {
        for x in pad.clone() {
            canvas.put_pixel(x, y, light);
        }
    }
    let (x, y, w, h) = place.logo_box(&logo.image);
    let scaled = imageops::resize(
        &logo.image,
        ((w * f64::from(px)).round() as u32).max(1),
        ((h * f64::from(px)).round() as u32).max(1),
        imageops::FilterType::Triangle,
    );
    imageops::overlay(
        &mut canvas,
        &scaled,
        (x * f64::from(px)).round() as i64,
        (y * f64::from(px)).round() as i64,
    );
    let rgb = image::DynamicImage::ImageRgba8(canvas).to_rgb8();
    encode_png(
        side,
        ::png::ColorType::Rgb,
        ::png::BitDepth::Eight,
        None,
        &rgb,
    )
}

#[cfg(test)]
mod tests;
