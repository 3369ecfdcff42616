//! Pieces and sheets as SVG, in millimetres: one card on its own (a download, or the studio's
//! preview shown as an image), and the sheets of the print page, which is HTML with `@page`
//! CSS so the browser's print matches the PDF's layout.

use std::fmt::Write as _;

use base64::Engine as _;

use super::{
    PrintBranding, PrintPiece,
    draw::{self, Affine, Canvas, pt},
    fonts::{self, PathSink, Typeface},
    layout::{Face, Imposition, PT_PER_MM},
};
use crate::{domain::color::Rgb, error::AppError};

/// How text is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextMode {
    /// As glyph outlines: the SVG needs no font, so it looks the same anywhere, also shown as
    /// an image (which may load nothing from outside). The text is kept in `aria-label`s.
    Outlines,
    /// As `<text>` in the print page's own fonts (`@font-face`), so the browser's PDF has real,
    /// selectable text; each run is held to the width the layout measured (`textLength`).
    Text,
}

/// The id the logo's `<image>` has in the `<defs>`, used by every piece that shows it.
const LOGO_ID: &str = "handoff-logo";

/// A number for SVG: three decimals at most, no trailing zeros.
fn n(value: f32) -> String {
    let mut text = format!("{value:.3}");
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    if text == "-0" { "0".to_owned() } else { text }
}

/// `text` safe in XML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Path data built from glyph outlines.
struct PathData(String);

impl PathSink for PathData {
    fn move_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "M{} {}", n(x), n(y));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "L{} {}", n(x), n(y));
    }
    fn quad_to(&mut self, cx: f32, cy: f32, x: f32, y: f32) {
        let _ = write!(self.0, "Q{} {} {} {}", n(cx), n(cy), n(x), n(y));
    }
    fn curve_to(&mut self, c1x: f32, c1y: f32, c2x: f32, c2y: f32, x: f32, y: f32) {
        let _ = write!(
            self.0,
            "C{} {} {} {} {} {}",
            n(c1x),
            n(c1y),
            n(c2x),
            n(c2y),
            n(x),
            n(y)
        );
    }
    fn close(&mut self) {
        self.0.push('Z');
    }
}

/// Writes SVG elements into a string.
struct SvgCanvas<'a> {
    out: &'a mut String,
    mode: TextMode,
    /// The logo's size in pixels (its `<image>` in the defs is that size).
    logo_pixels: Option<(u32, u32)>,
}

impl Canvas for SvgCanvas<'_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
        let _ = write!(
            self.out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
            n(x),
            n(y),
            n(w),
            n(h),
            rgb.hex()
        );
    }

    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        match self.mode {
            TextMode::Outlines => {
                let mut data = PathData(String::with_capacity(text.len() * 200));
                fonts::outline(face, size, text, x, y, &mut data);
                let _ = write!(
                    self.out,
                    r#"<path role="img" aria-label="{}" fill="{}" d="{}"/>"#,
                    escape(text),
                    rgb.hex(),
                    data.0
                );
            }
            TextMode::Text => {
                let (family, weight) = match face {
                    Typeface::Regular => ("HandoffInter", 400),
                    Typeface::Bold => ("HandoffInter", 700),
                    Typeface::Mono => ("HandoffMono", 700),
                };
                let width = pt(fonts::width(face, size, text));
                let _ = write!(
                    self.out,
                    r#"<text x="{}" y="{}" font-family="{family}" font-weight="{weight}" font-size="{}" fill="{}" textLength="{}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                    n(x),
                    n(y),
                    n(size / PT_PER_MM),
                    rgb.hex(),
                    n(width),
                    escape(text)
                );
            }
        }
    }

    fn modules(&mut self, rects: &[(f32, f32, f32, f32)]) {
        self.out.push_str(r##"<path fill="#000" d=""##);
        for &(x, y, w, h) in rects {
            let _ = write!(self.out, "M{} {}h{}v{}h{}z", n(x), n(y), n(w), n(h), n(-w));
        }
        self.out.push_str(r#""/>"#);
    }

    fn logo(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let Some((pw, ph)) = self.logo_pixels else {
            return;
        };
        let _ = write!(
            self.out,
            r##"<use href="#{LOGO_ID}" transform="matrix({} 0 0 {} {} {})"/>"##,
            n(w / pw as f32),
            n(h / ph as f32),
            n(x),
            n(y)
        );
    }

    fn push(&mut self, transform: Affine) {
        let [a, b, c, d, e, f] = transform.0;
        let _ = write!(
            self.out,
            r#"<g transform="matrix({} {} {} {} {} {})">"#,
            n(a),
            n(b),
            n(c),
            n(d),
            n(e),
            n(f)
        );
    }

    fn pop(&mut self) {
        self.out.push_str("</g>");
    }
}

/// The `<defs>` with the logo as an embedded image, once per document (each piece `<use>`s
/// it); empty without a logo.
pub fn defs(brand: &PrintBranding) -> String {
    let Some(logo) = &brand.logo else {
        return String::new();
    };
    let (pw, ph) = logo.pixels;
    let mime = if logo.png { "image/png" } else { "image/jpeg" };
    format!(
        r#"<defs><image id="{LOGO_ID}" width="{pw}" height="{ph}" preserveAspectRatio="none" href="data:{mime};base64,{}"/></defs>"#,
        base64::engine::general_purpose::STANDARD.encode(&logo.bytes[..])
    )
}

/// One piece, trimmed to `size` mm, as a standalone SVG document (text as outlines, logo
/// embedded): the card download and the studio's preview.
pub fn piece(
    face: Face,
    size: (f32, f32),
    brand: &PrintBranding,
    piece: &PrintPiece,
) -> Result<String, AppError> {
    let (w, h) = size;
    let mut out = String::with_capacity(40_000);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}mm" height="{}mm" viewBox="0 0 {} {}" role="img" aria-label="{}">"#,
        n(w),
        n(h),
        n(w),
        n(h),
        escape(&piece_label(brand, piece))
    );
    out.push_str(&defs(brand));
    let mut canvas = SvgCanvas {
        out: &mut out,
        mode: TextMode::Outlines,
        logo_pixels: brand.logo.as_ref().map(|logo| logo.pixels),
    };
    draw::piece(&mut canvas, face, size, 0.0, brand, piece)?;
    out.push_str("</svg>");
    Ok(out)
}

/// What a piece says, for screen readers: the campaign, the referrer and the code.
fn piece_label(brand: &PrintBranding, piece: &PrintPiece) -> String {
    let mut label = brand.name.clone();
    if let Some(name) = &piece.name {
        label.push_str(&format!(", from {name}"));
    }
    if let Some(code) = &piece.code {
        label.push_str(&format!(", code {code}"));
    }
    label
}

/// One sheet of `pieces` laid out by `imposition`, as an `<svg>` element sized in millimetres:
/// each piece in its own nested `<svg>` (which clips it to its bleed box, as the PDF does), then
/// the crop marks. `standalone` adds the namespace and the logo's defs, for a document of its
/// own; inside the print page the defs are written once for every sheet.
pub fn sheet(
    face: Face,
    imposition: &Imposition,
    brand: &PrintBranding,
    pieces: &[PrintPiece],
    mode: TextMode,
    standalone: bool,
) -> Result<String, AppError> {
    let (sw, sh) = imposition.sheet;
    let (w, h) = imposition.piece;
    let bleed = imposition.bleed;
    let mut out = String::with_capacity(20_000 * pieces.len().max(1));
    let namespace = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"<svg{namespace} width="{}mm" height="{}mm" viewBox="0 0 {} {}">"#,
        n(sw),
        n(sh),
        n(sw),
        n(sh)
    );
    if standalone {
        out.push_str(&defs(brand));
    }
    for (piece, slot) in pieces.iter().zip(&imposition.slots) {
        let _ = write!(
            out,
            r#"<svg x="{}" y="{}" width="{}" height="{}" viewBox="{} {} {} {}" role="img" aria-label="{}">"#,
            n(slot.0 - bleed),
            n(slot.1 - bleed),
            n(w + 2.0 * bleed),
            n(h + 2.0 * bleed),
            n(-bleed),
            n(-bleed),
            n(w + 2.0 * bleed),
            n(h + 2.0 * bleed),
            escape(&piece_label(brand, piece))
        );
        let mut canvas = SvgCanvas {
            out: &mut out,
            mode,
            logo_pixels: brand.logo.as_ref().map(|logo| logo.pixels),
        };
        draw::piece(&mut canvas, face, (w, h), bleed, brand, piece)?;
        out.push_str("</svg>");
    }
    if imposition.marks {
        out.push_str(r##"<path fill="none" stroke="#000" stroke-width="0.088" d=""##);
        for slot in &imposition.slots[..pieces.len().min(imposition.slots.len())] {
            for ((x1, y1), (x2, y2)) in imposition.crop_marks(*slot) {
                let _ = write!(out, "M{} {}L{} {}", n(x1), n(y1), n(x2), n(y2));
            }
        }
        out.push_str(r#""/>"#);
    }
    out.push_str("</svg>");
    Ok(out)
}

/// The print page: every sheet of `pieces` as HTML whose `@page` is the sheet's size with no
/// margin, so printing it from a browser at 100 % gives the PDF's layout. Text is real text in
/// the embedded fonts, served at `font_base` (`/print/fonts`).
pub fn page(
    face: Face,
    imposition: &Imposition,
    brand: &PrintBranding,
    pieces: &[PrintPiece],
    title: &str,
    font_base: &str,
) -> Result<String, AppError> {
    let (sw, sh) = imposition.sheet;
    let per_sheet = imposition.per_sheet().max(1);
    let sheets = pieces.len().div_ceil(per_sheet);
    let mut out = String::with_capacity(20_000 * pieces.len().max(1) + 4_000);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
@font-face {{ font-family: HandoffInter; font-weight: 400; src: url("{font_base}/inter-regular.otf") format("opentype"); }}
@font-face {{ font-family: HandoffInter; font-weight: 700; src: url("{font_base}/inter-bold.otf") format("opentype"); }}
@font-face {{ font-family: HandoffMono; font-weight: 700; src: url("{font_base}/jetbrains-mono-bold.ttf") format("truetype"); }}
@page {{ size: {w}mm {h}mm; margin: 0; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: system-ui, sans-serif; }}
.sheet {{ width: {w}mm; height: {h}mm; overflow: hidden; break-after: page; background: #fff; }}
.sheet:last-of-type {{ break-after: auto; }}
.sheet > svg {{ display: block; }}
.defs {{ position: absolute; width: 0; height: 0; overflow: hidden; }}
@media screen {{
  body {{ background: #e5e7eb; padding: 1rem 0; }}
  .sheet {{ margin: 0 auto 1rem; box-shadow: 0 1px 4px rgb(0 0 0 / 0.25); }}
  .note {{ max-width: {w}mm; margin: 0 auto 1rem; color: #111827; }}
}}
@media print {{ .note {{ display: none; }} }}
</style>
</head>
<body>
<main>
<p class="note"><strong>{title}</strong>: {count} on {sheets} {sheet_word}. Print at 100 % (actual size) with margins set to none; your browser's print then matches the PDF.</p>
<svg class="defs" aria-hidden="true">{defs}</svg>
"#,
        title = escape(title),
        w = n(sw),
        h = n(sh),
        count = pieces_word(pieces.len()),
        sheet_word = if sheets == 1 { "sheet" } else { "sheets" },
        defs = defs(brand),
    );
    for (index, chunk) in pieces.chunks(per_sheet).enumerate() {
        let _ = write!(
            out,
            r#"<section class="sheet" aria-label="Sheet {} of {sheets}">"#,
            index + 1
        );
        out.push_str(&sheet(
            face,
            imposition,
            brand,
            chunk,
            TextMode::Text,
            false,
        )?);
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

fn pieces_word(count: usize) -> String {
    if count == 1 {
        "1 piece".to_owned()
    } else {
        format!("{count} pieces")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_text_is_escaped() {
        assert_eq!(n(1.0), "1");
        assert_eq!(n(2.5), "2.5");
        assert_eq!(n(0.12345), "0.123");
        assert_eq!(n(-0.0001), "0");
        assert_eq!(
            escape("<b>\"Tom\" & 'Jerry'</b>\u{1}"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt; "
        );
    }
}
