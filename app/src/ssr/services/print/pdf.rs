//! The print-ready PDF, drawn with krilla: vector QR codes, text as real text in embedded (and
//! subset) fonts, exact sheet sizes, optional bleed and crop marks.

use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Rect, Transform},
    image::Image,
    metadata::Metadata,
    num::NormalizedF32,
    page::PageSettings,
    paint::{Fill, Stroke},
    surface::Surface,
    text::{Font, TextDirection},
};
use qrcode::{EcLevel, QrCode};

use super::{
    PrintBranding, PrintLogo, PrintPiece,
    fonts::{self, Typeface},
    layout::{Face, Imposition, PT_PER_MM},
};
use crate::{domain::color::Rgb, error::AppError, ssr::services::qr::QUIET_ZONE};

/// Dark text on white.
const INK: Rgb = Rgb(0x11, 0x18, 0x27);
/// Labels: grey that still reads at 7:1 on white.
const MUTED: Rgb = Rgb(0x4b, 0x55, 0x63);

/// Millimetres to PDF points, for font sizes given in points while drawing in millimetres.
fn pt(size: f32) -> f32 {
    size / PT_PER_MM
}

fn colour(rgb: Rgb) -> rgb::Color {
    rgb::Color::new(rgb.0, rgb.1, rgb.2)
}

fn fill(rgb: Rgb) -> Fill {
    Fill {
        paint: colour(rgb).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// The fonts, loaded into krilla once per document.
struct Faces {
    regular: Font,
    bold: Font,
    mono: Font,
}

impl Faces {
    fn load() -> Result<Faces, AppError> {
        let load = |face: Typeface| {
            Font::new(face.bytes().into(), 0)
                .ok_or_else(|| AppError::internal("print::pdf font", face.name()))
        };
        Ok(Faces {
            regular: load(Typeface::Regular)?,
            bold: load(Typeface::Bold)?,
            mono: load(Typeface::Mono)?,
        })
    }

    fn get(&self, face: Typeface) -> Font {
        match face {
            Typeface::Regular => self.regular.clone(),
            Typeface::Bold => self.bold.clone(),
            Typeface::Mono => self.mono.clone(),
        }
    }
}

/// Draws in millimetres on one piece, whose trim box's top-left corner is the origin.
struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    faces: &'a Faces,
}

impl Pen<'_, '_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
        let mut path = PathBuilder::new();
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            path.push_rect(rect);
        }
        if let Some(path) = path.finish() {
            self.surface.set_fill(Some(fill(rgb)));
            self.surface.set_stroke(None);
            self.surface.draw_path(&path);
        }
    }

    /// A white piece of `size` with its bleed, and the brand strip `strip` mm high across the
    /// top, reaching into the bleed on three sides.
    fn background(&mut self, (w, h): (f32, f32), bleed: f32, strip: f32, brand: Rgb) {
        self.rect(-bleed, -bleed, w + 2.0 * bleed, h + 2.0 * bleed, Rgb::WHITE);
        self.rect(-bleed, -bleed, w + 2.0 * bleed, strip + bleed, brand);
    }

    /// `text` with its left end at `x` and its baseline at `y`, `size` in points.
    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        if text.is_empty() {
            return;
        }
        self.surface.set_fill(Some(fill(rgb)));
        self.surface.draw_text(
            Point::from_xy(x, y),
            self.faces.get(face),
            pt(size),
            text,
            false,
            TextDirection::Auto,
        );
    }

    /// `text` centred on `centre`.
    fn centred(&mut self, centre: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        let width = pt(fonts::width(face, size, text));
        self.text(centre - width / 2.0, y, face, size, text, rgb);
    }

    /// Lines of `text` wrapped to `width` mm, at most `max_lines`, each `leading` mm below the
    /// last; left-aligned at `x` or centred on `x` when `centre`. Returns the last baseline.
    #[allow(clippy::too_many_arguments)]
    fn paragraph(
        &mut self,
        x: f32,
        first_baseline: f32,
        width: f32,
        face: Typeface,
        size: f32,
        leading: f32,
        max_lines: usize,
        centre: bool,
        text: &str,
        rgb: Rgb,
    ) -> f32 {
        let mut y = first_baseline;
        let lines = fonts::wrap(face, size, text, width * PT_PER_MM, max_lines);
        for (index, line) in lines.iter().enumerate() {
            y = first_baseline + index as f32 * leading;
            if centre {
                self.centred(x, y, face, size, line, rgb);
            } else {
                self.text(x, y, face, size, line, rgb);
            }
        }
        y
    }

    /// The QR code of `link`, quiet zone included, as vector squares in a `side` mm square at
    /// (`x`, `y`): one rectangle per run of dark modules in a row, on a white square.
    fn qr(&mut self, x: f32, y: f32, side: f32, link: &str) -> Result<(), AppError> {
        let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
            .map_err(|e| AppError::internal("print::pdf qr", e))?;
        let width = code.width();
        let modules = width + 2 * QUIET_ZONE as usize;
        let module = side / modules as f32;
        self.rect(x, y, side, side, Rgb::WHITE);
        let colours = code.to_colors();
        let mut path = PathBuilder::new();
        for (row, line) in colours.chunks_exact(width).enumerate() {
            let mut column = 0;
            while column < width {
                if line[column] == qrcode::Color::Dark {
                    let start = column;
                    while column < width && line[column] == qrcode::Color::Dark {
                        column += 1;
                    }
                    let left = x + (start + QUIET_ZONE as usize) as f32 * module;
                    let top = y + (row + QUIET_ZONE as usize) as f32 * module;
                    // A hair of overlap between rows so no renderer shows seams.
                    if let Some(rect) =
                        Rect::from_xywh(left, top, (column - start) as f32 * module, module * 1.001)
                    {
                        path.push_rect(rect);
                    }
                } else {
                    column += 1;
                }
            }
        }
        if let Some(path) = path.finish() {
            self.surface.set_fill(Some(fill(Rgb::BLACK)));
            self.surface.draw_path(&path);
        }
        Ok(())
    }

    /// The logo fitted into a `max_w` x `h` mm box whose left edge is `x` (or centred on `x`
    /// when `centre`) and top `y`.
    fn logo(&mut self, logo: &PrintLogo, x: f32, y: f32, max_w: f32, h: f32, centre: bool) {
        let (pw, ph) = logo.pixels;
        if pw == 0 || ph == 0 {
            return;
        }
        let aspect = pw as f32 / ph as f32;
        let (w, h) = if h * aspect > max_w {
            (max_w, max_w / aspect)
        } else {
            (h * aspect, h)
        };
        let left = if centre { x - w / 2.0 } else { x };
        if let Some(size) = krilla::geom::Size::from_wh(w, h) {
            self.surface
                .push_transform(&Transform::from_translate(left, y));
            self.surface.draw_image(logo.image.clone(), size);
            self.surface.pop();
        }
    }
}

/// The link as printed: without `https://`, which nobody types.
fn short_link(link: &str) -> &str {
    link.strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .unwrap_or(link)
}

/// One business card, 85 x 55 mm (or any landscape size): brand strip, headline, code, link and
/// name on the left, the QR code on the right.
fn card(
    pen: &mut Pen<'_, '_>,
    (w, h): (f32, f32),
    bleed: f32,
    brand: &PrintBranding,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    let pad = 4.0;
    let strip = 12.0;
    pen.background((w, h), bleed, strip, brand.brand_color);
    match &brand.logo {
        Some(logo) => pen.logo(logo, pad, 2.5, w - 2.0 * pad, strip - 5.0, false),
        None => {
            let name = fonts::fit_line(
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
                name.1,
                &name.0,
                brand.brand_text_color,
            );
        }
    }
    let qr_side = (h - strip - 2.0).min(38.0);
    let qr_x = w - qr_side - 1.0;
    pen.qr(
        qr_x,
        strip + (h - strip - qr_side) / 2.0,
        qr_side,
        &piece.link,
    )?;

    // The text column stops short of the code: its quiet zone must stay clear to scan.
    let column = qr_x - pad - 0.5;
    let mut y = strip + 5.5;
    if !brand.headline.is_empty() {
        y = pen.paragraph(
            pad,
            y,
            column,
            Typeface::Bold,
            7.5,
            3.2,
            2,
            false,
            &brand.headline,
            INK,
        ) + 5.0;
    }
    if let Some(code) = &piece.code {
        pen.text(pad, y, Typeface::Regular, 6.0, "Your code", MUTED);
        // A code is shrunk rather than cut: 4 pt still holds 40 characters in the column.
        let (code, size) = fonts::fit_line(Typeface::Mono, 15.0, 4.0, code, column * PT_PER_MM);
        y += pt(size) + 0.8;
        pen.text(pad, y, Typeface::Mono, size, &code, INK);
    }
    if let Some(name) = &piece.name {
        let (line, size) = fonts::fit_line(
            Typeface::Regular,
            7.0,
            5.0,
            &format!("From {name}"),
            column * PT_PER_MM,
        );
        pen.text(pad, h - pad - 3.2, Typeface::Regular, size, &line, INK);
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
/// centred: brand strip, headline, reward, a large QR code, the code, the link, the name.
fn flyer(
    pen: &mut Pen<'_, '_>,
    (w, h): (f32, f32),
    bleed: f32,
    brand: &PrintBranding,
    piece: &PrintPiece,
) -> Result<(), AppError> {
    // Laid out for A6 and scaled: a poster is the flyer at about twice the size (the smaller of
    // the two ratios, so a Letter poster, relatively shorter than A6, still fits).
    let k = (w / 105.0).min(h / 148.0);
    let centre = w / 2.0;
    let text_width = w - 16.0 * k;
    let strip = 20.0 * k;
    pen.background((w, h), bleed, strip, brand.brand_color);
    match &brand.logo {
        Some(logo) => pen.logo(logo, centre, 4.0 * k, text_width, 12.0 * k, true),
        None => {
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
    }
    let mut y = strip + 10.0 * k;
    if !brand.headline.is_empty() {
        y = pen.paragraph(
            centre,
            y,
            text_width,
            Typeface::Bold,
            17.0 * k,
            7.0 * k,
            2,
            true,
            &brand.headline,
            INK,
        ) + 6.5 * k;
    }
    if let Some(reward) = &brand.reward_text {
        pen.paragraph(
            centre,
            y,
            text_width,
            Typeface::Regular,
            9.5 * k,
            4.4 * k,
            3,
            true,
            reward,
            INK,
        );
    }
    let qr_side = 52.0 * k;
    let qr_top = 60.0 * k;
    pen.qr(centre - qr_side / 2.0, qr_top, qr_side, &piece.link)?;
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

/// Thin registration-black lines for the crop marks.
fn draw_marks(surface: &mut Surface<'_>, imposition: &Imposition, slot: (f32, f32)) {
    let mut path = PathBuilder::new();
    for ((x1, y1), (x2, y2)) in imposition.crop_marks(slot) {
        path.move_to(x1, y1);
        path.line_to(x2, y2);
    }
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            paint: colour(Rgb::BLACK).into(),
            // 0.25 pt, the usual hairline for marks.
            width: 0.25 / PT_PER_MM,
            ..Default::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

/// The PDF of `pieces` laid out by `imposition` in `face`, one sheet per page. Each piece is
/// clipped to its bleed box, so nothing of one reaches the next.
pub fn render(
    face: Face,
    imposition: &Imposition,
    brand: &PrintBranding,
    pieces: &[PrintPiece],
    title: &str,
) -> Result<Vec<u8>, AppError> {
    let faces = Faces::load()?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .creator("Handoff".to_owned()),
    );
    let (sheet_w, sheet_h) = imposition.sheet;
    let per_sheet = imposition.per_sheet().max(1);
    for sheet in pieces.chunks(per_sheet) {
        let settings = PageSettings::from_wh(sheet_w * PT_PER_MM, sheet_h * PT_PER_MM)
            .ok_or_else(|| AppError::internal("print::pdf page", "bad sheet size"))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        // Millimetres from here on, y down.
        surface.push_transform(&Transform::from_scale(PT_PER_MM, PT_PER_MM));
        for (piece, slot) in sheet.iter().zip(&imposition.slots) {
            let (w, h) = imposition.piece;
            let bleed = imposition.bleed;
            surface.push_transform(&Transform::from_translate(slot.0, slot.1));
            let mut clip = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(-bleed, -bleed, w + 2.0 * bleed, h + 2.0 * bleed) {
                clip.push_rect(rect);
            }
            let clipped = match clip.finish() {
                Some(path) => {
                    surface.push_clip_path(&path, &Default::default());
                    true
                }
                None => false,
            };
            let mut pen = Pen {
                surface: &mut surface,
                faces: &faces,
            };
            match face {
                Face::Card => card(&mut pen, (w, h), bleed, brand, piece)?,
                Face::Flyer => flyer(&mut pen, (w, h), bleed, brand, piece)?,
            }
            if clipped {
                surface.pop();
            }
            surface.pop();
            if imposition.marks {
                draw_marks(&mut surface, imposition, *slot);
            }
        }
        surface.pop();
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| AppError::internal("print::pdf finish", format!("{e:?}")))
}

/// A logo ready for [`render`]: decoded by krilla from the uploaded PNG or JPEG.
pub fn logo_image(bytes: Vec<u8>, png: bool) -> Option<PrintLogo> {
    let image = if png {
        Image::from_png(bytes.into(), true).ok()?
    } else {
        Image::from_jpeg(bytes.into(), true).ok()?
    };
    Some(PrintLogo {
        pixels: image.size(),
        image,
    })
}
