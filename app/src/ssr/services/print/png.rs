//! One piece as a PNG, rasterized with tiny-skia from the same drawing as the PDF: anti-aliased
//! shapes, text as glyph outlines in the embedded fonts, the logo resampled.

use tiny_skia::{
    Color, FillRule, FilterQuality, IntSize, Paint, PathBuilder, Pixmap, PixmapPaint, Rect,
    Transform,
};

use super::{
    PrintBranding, PrintLogo, PrintPiece,
    draw::{self, Affine, Canvas},
    fonts::{self, PathSink, Typeface},
    layout::Face,
};
use crate::{domain::color::Rgb, error::AppError};

/// The most pixels on a side a piece's PNG may have (a poster at 300 dpi is 3,508 px tall).
pub const MAX_SIDE_PX: u32 = 4_000;

/// The dots per inch a PNG is drawn at when none is asked for: print quality.
pub const DEFAULT_DPI: u32 = 300;

fn paint(rgb: Rgb) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(rgb.0, rgb.1, rgb.2, 255);
    paint.anti_alias = true;
    paint
}

/// Glyph outlines into a tiny-skia path.
struct Outline(PathBuilder);

impl PathSink for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.line_to(x, y);
    }
    fn quad_to(&mut self, cx: f32, cy: f32, x: f32, y: f32) {
        self.0.quad_to(cx, cy, x, y);
    }
    fn curve_to(&mut self, c1x: f32, c1y: f32, c2x: f32, c2y: f32, x: f32, y: f32) {
        self.0.cubic_to(c1x, c1y, c2x, c2y, x, y);
    }
    fn close(&mut self) {
        self.0.close();
    }
}

/// A pixmap as a [`Canvas`]: `stack` holds the transform in force (millimetres to pixels,
/// then every [`Canvas::push`]).
struct PixmapCanvas<'a> {
    pixmap: &'a mut Pixmap,
    stack: Vec<Transform>,
    logo: Option<&'a Pixmap>,
}

impl PixmapCanvas<'_> {
    fn transform(&self) -> Transform {
        self.stack.last().copied().unwrap_or_default()
    }
}

impl Canvas for PixmapCanvas<'_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            let transform = self.transform();
            self.pixmap.fill_rect(rect, &paint(rgb), transform, None);
        }
    }

    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        let mut outline = Outline(PathBuilder::new());
        fonts::outline(face, size, text, x, y, &mut outline);
        if let Some(path) = outline.0.finish() {
            let transform = self.transform();
            self.pixmap
                .fill_path(&path, &paint(rgb), FillRule::Winding, transform, None);
        }
    }

    fn modules(&mut self, rects: &[(f32, f32, f32, f32)]) {
        let mut builder = PathBuilder::new();
        for &(x, y, w, h) in rects {
            if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                builder.push_rect(rect);
            }
        }
        if let Some(path) = builder.finish() {
            let transform = self.transform();
            self.pixmap.fill_path(
                &path,
                &paint(Rgb::BLACK),
                FillRule::Winding,
                transform,
                None,
            );
        }
    }

    fn logo(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let Some(logo) = self.logo else {
            return;
        };
        let transform = self
            .transform()
            .pre_translate(x, y)
            .pre_scale(w / logo.width() as f32, h / logo.height() as f32);
        let paint = PixmapPaint {
            quality: FilterQuality::Bicubic,
            ..PixmapPaint::default()
        };
        self.pixmap
            .draw_pixmap(0, 0, logo.as_ref(), &paint, transform, None);
    }

    fn push(&mut self, transform: Affine) {
        let [a, b, c, d, e, f] = transform.0;
        let next = self
            .transform()
            .pre_concat(Transform::from_row(a, b, c, d, e, f));
        self.stack.push(next);
    }

    fn pop(&mut self) {
        // The first transform (millimetres to pixels) is never popped.
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }
}

/// The logo as a premultiplied pixmap; `None` when it cannot be decoded.
fn logo_pixmap(logo: &PrintLogo) -> Option<Pixmap> {
    let decoded = image::load_from_memory(&logo.bytes).ok()?.to_rgba8();
    let (width, height) = decoded.dimensions();
    let mut data = decoded.into_raw();
    for pixel in data.chunks_exact_mut(4) {
        let alpha = u16::from(pixel[3]);
        for channel in &mut pixel[..3] {
            *channel = ((u16::from(*channel) * alpha + 127) / 255) as u8;
        }
    }
    Pixmap::from_vec(data, IntSize::from_wh(width, height)?)
}

/// The pixel size of a `size` mm piece at `dpi`.
pub fn pixel_size(size: (f32, f32), dpi: u32) -> (u32, u32) {
    let per_mm = dpi as f32 / 25.4;
    (
        (size.0 * per_mm).round().max(1.0) as u32,
        (size.1 * per_mm).round().max(1.0) as u32,
    )
}

/// `piece` as `face`, trimmed to `size` mm, at `dpi`, as PNG bytes.
pub fn piece(
    face: Face,
    size: (f32, f32),
    brand: &PrintBranding,
    piece: &PrintPiece,
    dpi: u32,
) -> Result<Vec<u8>, AppError> {
    let (width, height) = pixel_size(size, dpi);
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(AppError::invalid(
            "image_too_large",
            "dpi",
            format!(
                "At {dpi} dpi this piece is {width} x {height} px; the most is {MAX_SIDE_PX} px on a side. Ask for fewer dots per inch."
            ),
        ));
    }
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| AppError::internal("print::png pixmap", format!("{width}x{height}")))?;
    pixmap.fill(Color::WHITE);
    let logo = brand.logo.as_ref().and_then(logo_pixmap);
    let per_mm = width as f32 / size.0;
    let mut canvas = PixmapCanvas {
        pixmap: &mut pixmap,
        stack: vec![Transform::from_scale(per_mm, per_mm)],
        logo: logo.as_ref(),
    };
    draw::piece(&mut canvas, face, size, 0.0, brand, piece)?;
    pixmap
        .encode_png()
        .map_err(|e| AppError::internal("print::png encode", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_card_at_300_dpi_is_1004_by_650_pixels() {
        assert_eq!(pixel_size((85.0, 55.0), 300), (1004, 650));
        assert_eq!(pixel_size((85.0, 55.0), 96), (321, 208));
    }
}
