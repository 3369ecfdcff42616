//! The pieces' layouts, drawn on any [`Canvas`]: the PDF ([`super::pdf`]), the SVG of the
//! preview, the HTML page and single-card downloads ([`super::svg`]) and the PNG
//! ([`super::png`]) all draw a piece through these functions, so every format shows the same
//! card. Units are millimetres from the piece's trim box's top-left corner, y down; font sizes
//! are points.

use qrcode::{EcLevel, QrCode};

use super::{
    PrintBranding, PrintPiece,
    fonts::{self, Typeface},
    layout::{Face, PT_PER_MM},
};
use crate::{domain::color::Rgb, error::AppError, ssr::services::qr::QUIET_ZONE};

/// Dark text on white.
pub const INK: Rgb = Rgb(0x11, 0x18, 0x27);
/// Labels: grey that still reads at 7:1 on white.
pub const MUTED: Rgb = Rgb(0x4b, 0x55, 0x63);

/// Millimetres per point: a font size in points as a length in millimetres.
pub fn pt(size: f32) -> f32 {
    size / PT_PER_MM
}

/// A 2D affine transform `[a, b, c, d, e, f]`: `x' = a·x + c·y + e`, `y' = b·x + d·y + f` (the
/// order PDF, SVG and tiny-skia all use).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine(pub [f32; 6]);

impl Affine {
    /// A shift by (`x`, `y`).
    pub fn translate(x: f32, y: f32) -> Affine {
        Affine([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// A uniform scale by `k`.
    pub fn scale(k: f32) -> Affine {
        Affine([k, 0.0, 0.0, k, 0.0, 0.0])
    }

    /// `self` applied after `inner`: a point goes through `inner` first.
    pub fn then(self, inner: Affine) -> Affine {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = inner.0;
        Affine([
            a * a2 + c * b2,
            b * a2 + d * b2,
            a * c2 + c * d2,
            b * c2 + d * d2,
            a * e2 + c * f2 + e,
            b * e2 + d * f2 + f,
        ])
    }
}

/// What a piece is drawn with. Each output format implements these few primitives; the layout
/// is the same for all.
pub trait Canvas {
    /// A filled rectangle.
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb);
    /// One line of `text` with its left end at `x` and its baseline at `y`, `size` in points.
    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb);
    /// The dark modules of a QR code, as black rectangles `(x, y, w, h)`.
    fn modules(&mut self, rects: &[(f32, f32, f32, f32)]);
    /// The campaign's logo stretched to the `w` x `h` box at (`x`, `y`) (its aspect ratio is
    /// already kept by the caller).
    fn logo(&mut self, x: f32, y: f32, w: f32, h: f32);
    /// Draws what follows through `transform`, until the matching [`Canvas::pop`].
    fn push(&mut self, transform: Affine);
    /// Ends the last [`Canvas::push`].
    fn pop(&mut self);
    /// Whether the canvas draws shapes at all. One that only notes the text (the PDF's first
    /// pass, which collects glyphs) says no, and QR codes are not even encoded for it.
    fn draws_shapes(&self) -> bool {
        true
    }
}

/// The dark modules of `link`'s QR code (error correction M) in a `side` mm square at (`x`,
/// `y`), quiet zone included: one rectangle per run of dark modules in a row, each a hair taller
/// than a module so no renderer shows seams between rows.
pub fn qr_modules(
    link: &str,
    x: f32,
    y: f32,
    side: f32,
) -> Result<Vec<(f32, f32, f32, f32)>, AppError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::internal("print::draw qr", e))?;
    let width = code.width();
    let quiet = QUIET_ZONE as usize;
    let module = side / (width + 2 * quiet) as f32;
    let colours = code.to_colors();
    let mut rects = Vec::with_capacity(width * 8);
    for (row, line) in colours.chunks_exact(width).enumerate() {
        let mut column = 0;
        while column < width {
            if line[column] != qrcode::Color::Dark {
                column += 1;
                continue;
            }
            let start = column;
            while column < width && line[column] == qrcode::Color::Dark {
                column += 1;
            }
            rects.push((
                x + (start + quiet) as f32 * module,
                y + (row + quiet) as f32 * module,
                (column - start) as f32 * module,
                module * 1.001,
            ));
        }
    }
    Ok(rects)
}

/// The higher-level strokes the layouts use, on top of a [`Canvas`].
struct Pen<'a> {
    canvas: &'a mut dyn Canvas,
    brand: &'a PrintBranding,
}

impl Pen<'_> {
    /// A white piece of `size` with its bleed, and the brand strip `strip` mm high across the
    /// top, reaching into the bleed on three sides.
    fn background(&mut self, (w, h): (f32, f32), bleed: f32, strip: f32) {
        let canvas = &mut *self.canvas;
        canvas.rect(-bleed, -bleed, w + 2.0 * bleed, h + 2.0 * bleed, Rgb::WHITE);
        canvas.rect(
            -bleed,
            -bleed,
            w + 2.0 * bleed,
            strip + bleed,
            self.brand.brand_color,
        );
    }

    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        if !text.is_empty() {
            self.canvas.text(x, y, face, size, text, rgb);
        }
    }

    /// `text` centred on `centre`.
    fn centred(&mut self, centre: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        let width = pt(fonts::width(face, size, text));
        self.text(centre - width / 2.0, y, face, size, text, rgb);
    }

    /// Lines of `text` wrapped to `style.width` mm, at most `style.max_lines`, each
    /// `style.leading` mm below the last; left-aligned at `x` or centred on `x`. Returns the
    /// last baseline (the first when there is no text).
    fn paragraph(&mut self, x: f32, first_baseline: f32, style: Paragraph, text: &str) -> f32 {
        let mut y = first_baseline;
        let lines = fonts::wrap(
            style.face,
            style.size,
            text,
            style.width * PT_PER_MM,
            style.max_lines,
        );
        for (index, line) in lines.iter().enumerate() {
            y = first_baseline + index as f32 * style.leading;
            if style.centre {
                self.centred(x, y, style.face, style.size, line, style.rgb);
            } else {
                self.text(x, y, style.face, style.size, line, style.rgb);
            }
        }
        y
    }

    /// The QR code of `link` on a white square, quiet zone included.
    fn qr(&mut self, x: f32, y: f32, side: f32, link: &str) -> Result<(), AppError> {
        self.canvas.rect(x, y, side, side, Rgb::WHITE);
        if !self.canvas.draws_shapes() {
            return Ok(());
        }
        let rects = qr_modules(link, x, y, side)?;
        self.canvas.modules(&rects);
        Ok(())
    }

    /// The logo fitted into a `max_w` x `h` mm box whose left edge is `x` (or centred on `x`
    /// when `centre`) and top `y`. Returns whether there was a logo to draw.
    fn logo(&mut self, x: f32, y: f32, max_w: f32, h: f32, centre: bool) -> bool {
        let Some(logo) = &self.brand.logo else {
            return false;
        };
        let (pw, ph) = logo.pixels;
        if pw == 0 || ph == 0 {
            return false;
        }
        let aspect = pw as f32 / ph as f32;
        let (w, h) = if h * aspect > max_w {
            (max_w, max_w / aspect)
        } else {
            (h * aspect, h)
        };
        let left = if centre { x - w / 2.0 } else { x };
        self.canvas.logo(left, y, w, h);
        true
    }
}

/// How a paragraph is set.
#[derive(Clone, Copy)]
struct Paragraph {
    face: Typeface,
    size: f32,
    leading: f32,
    width: f32,
    max_lines: usize,
    centre: bool,
    rgb: Rgb,
}

/// The link as printed: without `https://`, which nobody types.
pub fn short_link(link: &str) -> &str {
    link.strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .unwrap_or(link)
}

/// Draws `piece` as `face` in a trim box of `size` mm with `bleed` mm around it.
pub fn piece(
    canvas: &mut dyn Canvas,
    face: Face,
    size: (f32, f32),
    bleed: f32,
    brand: &PrintBranding,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    let mut pen = Pen { canvas, brand };
    match face {
        Face::Card => card(&mut pen, size, bleed, piece),
        Face::Flyer => flyer(&mut pen, size, bleed, piece),
        Face::Tent => tent(&mut pen, size, bleed, piece),
    }
}

/// One business card, 85 x 55 mm (or any landscape size of that height or more): brand strip,
/// headline, code, a line or two of body text, name and link on the left, the QR code on the
/// right.
fn card(
    pen: &mut Pen<'_>,
    (w, h): (f32, f32),
    bleed: f32,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    let brand = pen.brand;
    let pad = 4.0;
    let strip = 12.0;
    pen.background((w, h), bleed, strip);
    if !pen.logo(pad, 2.5, w - 2.0 * pad, strip - 5.0, false) {
        let (name, size) = fonts::fit_line(
            Typeface::Bold,
            10.0,
            6.0,
            &brand.name,
            (w - 2.0 * pad) * PT_PER_MM,
        );
        pen.text(
            pad,
            strip / 2.0 + 1.3,
            Typeface::Bold,
            size,
            &name,
            brand.brand_text_color,
        );
    }
    let qr_side = (h - strip - 2.0).min(38.0);
    let qr_x = w - qr_side - 1.0;
    pen.qr(
        qr_x,
        strip + (h - strip - qr_side) / 2.0,
        qr_side,
        &piece.qr_link,
    )?;

    // The text column stops short of the code: its quiet zone must stay clear to scan.
    let column = qr_x - pad - 0.5;
    let mut y = strip + 5.5;
    if !brand.headline.is_empty() {
        let style = Paragraph {
            face: Typeface::Bold,
            size: 7.5,
            leading: 3.2,
            width: column,
            max_lines: 2,
            centre: false,
            rgb: INK,
        };
        y = pen.paragraph(pad, y, style, &brand.headline) + 5.0;
    }
    if let Some(code) = &piece.code {
        pen.text(pad, y, Typeface::Regular, 6.0, "Your code", MUTED);
        // A code is shrunk rather than cut: 4 pt still holds 40 characters in the column.
        let (code, size) = fonts::fit_line(Typeface::Mono, 15.0, 4.0, code, column * PT_PER_MM);
        y += pt(size) + 0.8;
        pen.text(pad, y, Typeface::Mono, size, &code, INK);
        y += 4.0;
    }
    // The name and the link sit at the bottom; body text fills what room is left above them.
    let name_baseline = h - pad - 3.2;
    if let Some(body) = brand.body.as_deref().filter(|b| !b.trim().is_empty()) {
        let leading = 2.6;
        let room = name_baseline - 3.4 - y;
        if room >= 0.0 {
            let style = Paragraph {
                face: Typeface::Regular,
                size: 6.0,
                leading,
                width: column,
                max_lines: ((room / leading) as usize + 1).min(3),
                centre: false,
                rgb: INK,
            };
            pen.paragraph(pad, y, style, body);
        }
    }
    if let Some(name) = &piece.name {
        let (line, size) = fonts::fit_line(
            Typeface::Regular,
            7.0,
            5.0,
            &format!("From {name}"),
            column * PT_PER_MM,
        );
        pen.text(pad, name_baseline, Typeface::Regular, size, &line, INK);
    }
    let (link, size) = fonts::fit_line(
        Typeface::Regular,
        6.5,
        4.0,
        short_link(&piece.link),
        column * PT_PER_MM,
    );
    pen.text(pad, h - pad, Typeface::Regular, size, &link, INK);
    Ok(())
}

/// One flyer (A6, or any portrait size: the poster is the same at A4 or Letter), everything
/// centred: brand strip, headline, body, a large QR code, the code, the link, the name.
fn flyer(
    pen: &mut Pen<'_>,
    (w, h): (f32, f32),
    bleed: f32,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    let brand = pen.brand;
    // Laid out for A6 and scaled: a poster is the flyer at about twice the size (the smaller of
    // the two ratios, so a Letter poster, relatively shorter than A6, still fits).
    let k = (w / 105.0).min(h / 148.0);
    let centre = w / 2.0;
    let text_width = w - 16.0 * k;
    let strip = 20.0 * k;
    pen.background((w, h), bleed, strip);
    if !pen.logo(centre, 4.0 * k, text_width, 12.0 * k, true) {
        let (name, size) = fonts::fit_line(
            Typeface::Bold,
            15.0 * k,
            8.0 * k,
            &brand.name,
            text_width * PT_PER_MM,
        );
        pen.centred(
            centre,
            strip / 2.0 + 2.0 * k,
            Typeface::Bold,
            size,
            &name,
            brand.brand_text_color,
        );
    }
    let mut y = strip + 10.0 * k;
    if !brand.headline.is_empty() {
        let style = Paragraph {
            face: Typeface::Bold,
            size: 17.0 * k,
            leading: 7.0 * k,
            width: text_width,
            max_lines: 2,
            centre: true,
            rgb: INK,
        };
        y = pen.paragraph(centre, y, style, &brand.headline) + 6.5 * k;
    }
    if let Some(body) = &brand.body {
        let style = Paragraph {
            face: Typeface::Regular,
            size: 9.5 * k,
            leading: 4.4 * k,
            width: text_width,
            max_lines: 3,
            centre: true,
            rgb: INK,
        };
        pen.paragraph(centre, y, style, body);
    }
    let qr_side = 52.0 * k;
    let qr_top = 60.0 * k;
    pen.qr(centre - qr_side / 2.0, qr_top, qr_side, &piece.qr_link)?;
    let mut y = qr_top + qr_side + 5.0 * k;
    if let Some(code) = &piece.code {
        pen.centred(centre, y, Typeface::Regular, 8.5 * k, "Use my code", MUTED);
        let (code, size) = fonts::fit_line(
            Typeface::Mono,
            22.0 * k,
            6.0 * k,
            code,
            text_width * PT_PER_MM,
        );
        y += pt(size) + 1.0 * k;
        pen.centred(centre, y, Typeface::Mono, size, &code, INK);
    }
    let (link, size) = fonts::fit_line(
        Typeface::Regular,
        9.0 * k,
        5.0 * k,
        short_link(&piece.link),
        text_width * PT_PER_MM,
    );
    pen.centred(centre, h - 12.0 * k, Typeface::Regular, size, &link, INK);
    if let Some(name) = &piece.name {
        let (line, size) = fonts::fit_line(
            Typeface::Regular,
            9.0 * k,
            6.0 * k,
            &format!("From {name}"),
            text_width * PT_PER_MM,
        );
        pen.centred(centre, h - 6.5 * k, Typeface::Regular, size, &line, MUTED);
    }
    Ok(())
}

/// A table tent: a portrait sheet (A5) folded across the middle to stand on a table, each half
/// a business card's layout scaled to fill it. The top half is drawn upside down, so once
/// folded both sides read upright and both brand strips meet at the fold (the tent's ridge).
fn tent(
    pen: &mut Pen<'_>,
    (w, h): (f32, f32),
    bleed: f32,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    let half = h / 2.0;
    let k = w / 85.0;
    // The card layout in card millimetres: 85 wide, as tall as a half allows.
    let card_size = (85.0, half / k);
    let card_bleed = bleed / k;
    // Front: the bottom half, its top at the fold.
    pen.canvas
        .push(Affine::translate(0.0, half).then(Affine::scale(k)));
    let front = card(pen, card_size, card_bleed, piece);
    pen.canvas.pop();
    front?;
    // Back: the top half, turned half a turn about its centre.
    let turn = Affine([-1.0, 0.0, 0.0, -1.0, w, half]);
    pen.canvas.push(turn.then(Affine::scale(k)));
    let back = card(pen, card_size, card_bleed, piece);
    pen.canvas.pop();
    back
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_compose_inner_first() {
        let shift_then_scale = Affine::scale(2.0).then(Affine::translate(1.0, 3.0));
        // (0, 0) is shifted to (1, 3), then doubled.
        assert_eq!(shift_then_scale.0, [2.0, 0.0, 0.0, 2.0, 2.0, 6.0]);
        let turn = Affine([-1.0, 0.0, 0.0, -1.0, 10.0, 4.0]);
        // A half turn twice is no turn.
        assert_eq!(turn.then(turn).0, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn qr_modules_fill_the_square_inside_its_quiet_zone() {
        let rects = qr_modules("https://example.com/r/abc", 10.0, 20.0, 29.0).unwrap();
        assert!(!rects.is_empty());
        // Version 2 (25 modules) plus 4 on each side: 33 modules over 29 mm.
        let module = 29.0 / 33.0;
        let min_x = rects.iter().map(|r| r.0).fold(f32::MAX, f32::min);
        let max_x = rects.iter().map(|r| r.0 + r.2).fold(f32::MIN, f32::max);
        assert!((min_x - (10.0 + 4.0 * module)).abs() < 0.01, "{min_x}");
        assert!(
            (max_x - (10.0 + 29.0 - 4.0 * module)).abs() < 0.01,
            "{max_x}"
        );
    }
}
