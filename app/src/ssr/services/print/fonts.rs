//! The typefaces printed material uses, embedded in the binary (the PDF embeds the subset it
//! needs), and the text measuring that fits lines to a width.
//!
//! - **Inter** (regular and bold; SIL Open Font License 1.1, `app/assets/fonts/Inter-LICENSE.txt`)
//!   for names, headlines and links.
//! - **JetBrains Mono** bold (`app/assets/fonts/JetBrainsMono-LICENSE.txt`) for referral codes:
//!   its zero is dotted, and 1, I and l each have their own shape, so a code read off a card is
//!   typed right.

use skrifa::{FontRef, MetadataProvider, instance::LocationRef, instance::Size};

/// One of the embedded typefaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typeface {
    /// Inter Regular.
    Regular,
    /// Inter Bold.
    Bold,
    /// JetBrains Mono Bold, for codes.
    Mono,
}

static INTER_REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/Inter-Regular.otf");
static INTER_BOLD: &[u8] = include_bytes!("../../../../assets/fonts/Inter-Bold.otf");
static JETBRAINS_MONO_BOLD: &[u8] =
    include_bytes!("../../../../assets/fonts/JetBrainsMono-Bold.ttf");

/// Marks text cut short.
const ELLIPSIS: &str = "…";

impl Typeface {
    /// The font file.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Typeface::Regular => INTER_REGULAR,
            Typeface::Bold => INTER_BOLD,
            Typeface::Mono => JETBRAINS_MONO_BOLD,
        }
    }

    /// The family and style, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Typeface::Regular => "Inter Regular",
            Typeface::Bold => "Inter Bold",
            Typeface::Mono => "JetBrains Mono Bold",
        }
    }
}

/// The advance width of `text` in `face` at `size` points, in points (no kerning: a line fitted
/// this way is at most a hair wider than drawn).
pub fn width(face: Typeface, size: f32, text: &str) -> f32 {
    let Ok(font) = FontRef::new(face.bytes()) else {
        return 0.0;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    let fallback = size * 0.6;
    text.chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|glyph| metrics.advance_width(glyph))
                .unwrap_or(fallback)
        })
        .sum()
}

/// `text` cut to fit `max_width` points at `size`, ending in an ellipsis when cut.
fn truncate(face: Typeface, size: f32, text: &str, max_width: f32) -> String {
    if width(face, size, text) <= max_width {
        return text.to_owned();
    }
    let mut cut: String = text.to_owned();
    while !cut.is_empty() {
        cut.pop();
        let candidate = format!("{}{ELLIPSIS}", cut.trim_end());
        if width(face, size, &candidate) <= max_width {
            return candidate;
        }
    }
    ELLIPSIS.to_owned()
}

/// One line of `text` in `max_width` points: at `max_size` when it fits, smaller down to
/// `min_size`, then cut with an ellipsis. Returns the line and its size.
pub fn fit_line(
    face: Typeface,
    max_size: f32,
    min_size: f32,
    text: &str,
    max_width: f32,
) -> (String, f32) {
    let text = text.trim();
    let natural = width(face, max_size, text);
    if natural <= max_width {
        return (text.to_owned(), max_size);
    }
    // Width is proportional to size; a hair under, so rounding does not tip it over.
    let size = (max_size * max_width / natural * 0.999).max(min_size);
    (truncate(face, size, text, max_width), size)
}

/// `text` broken into at most `max_lines` lines of at most `max_width` points at `size`, at
/// spaces (a word longer than a line is cut); the last line ends in an ellipsis when text is
/// left over.
pub fn wrap(
    face: Typeface,
    size: f32,
    text: &str,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || width(face, size, &candidate) <= max_width {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        // The rest joins the last line, which is then too wide (its next word did not fit
        // before) and so is cut with an ellipsis.
        let rest = lines.split_off(max_lines).join(" ");
        if let Some(last) = lines.last_mut() {
            *last = format!("{last} {rest}");
        }
    }
    lines
        .into_iter()
        .map(|line| truncate(face, size, &line, max_width))
        .collect()
}

/// Receives glyph outlines, in millimetres with y down (the layouts' units).
pub trait PathSink {
    /// Starts a contour.
    fn move_to(&mut self, x: f32, y: f32);
    /// A straight segment.
    fn line_to(&mut self, x: f32, y: f32);
    /// A quadratic curve.
    fn quad_to(&mut self, cx: f32, cy: f32, x: f32, y: f32);
    /// A cubic curve.
    fn curve_to(&mut self, c1x: f32, c1y: f32, c2x: f32, c2y: f32, x: f32, y: f32);
    /// Closes the contour.
    fn close(&mut self);
}

/// Moves a glyph's outline (font units scaled to millimetres, y up) to its place on the piece.
struct Placed<'a, S: PathSink> {
    sink: &'a mut S,
    x: f32,
    y: f32,
}

impl<S: PathSink> skrifa::outline::OutlinePen for Placed<'_, S> {
    fn move_to(&mut self, x: f32, y: f32) {
        self.sink.move_to(self.x + x, self.y - y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.sink.line_to(self.x + x, self.y - y);
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        self.sink
            .quad_to(self.x + cx0, self.y - cy0, self.x + x, self.y - y);
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        self.sink.curve_to(
            self.x + cx0,
            self.y - cy0,
            self.x + cx1,
            self.y - cy1,
            self.x + x,
            self.y - y,
        );
    }
    fn close(&mut self) {
        self.sink.close();
    }
}

/// The outlines of `text` in `face` at `size` points, its left end at `x` and baseline at `y`
/// (millimetres), glyph by glyph with the same advances [`width`] measures: text as shapes, for
/// outputs that cannot carry fonts (an SVG shown as an image, a PNG).
pub fn outline(face: Typeface, size: f32, text: &str, x: f32, y: f32, sink: &mut impl PathSink) {
    let Ok(font) = FontRef::new(face.bytes()) else {
        return;
    };
    let size_mm = size * 25.4 / 72.0;
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size_mm), LocationRef::default());
    let glyphs = font.outline_glyphs();
    let fallback = size_mm * 0.6;
    let mut pen_x = x;
    for c in text.chars() {
        let Some(id) = charmap.map(c) else {
            pen_x += fallback;
            continue;
        };
        if let Some(glyph) = glyphs.get(id) {
            let settings =
                skrifa::outline::DrawSettings::unhinted(Size::new(size_mm), LocationRef::default());
            let mut placed = Placed {
                sink: &mut *sink,
                x: pen_x,
                y,
            };
            // A glyph that fails to draw is left out; the rest of the line still stands.
            let _ = glyph.draw(settings, &mut placed);
        }
        pen_x += metrics.advance_width(id).unwrap_or(fallback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typeface_loads_and_measures_in_proportion_to_size() {
        for face in [Typeface::Regular, Typeface::Bold, Typeface::Mono] {
            let ten = width(face, 10.0, "Jane Doe 0O1Il");
            assert!(ten > 30.0 && ten < 120.0, "{face:?}: {ten}");
            assert!((width(face, 20.0, "Jane Doe 0O1Il") - 2.0 * ten).abs() < 0.01);
        }
        // Monospaced: every character of a code is as wide as the next.
        assert!(
            (width(Typeface::Mono, 10.0, "0000") - width(Typeface::Mono, 10.0, "IlI1")).abs()
                < 0.01
        );
    }

    #[test]
    fn the_code_typeface_tells_look_alikes_apart() {
        // Each look-alike is its own glyph (a font that maps two of them to one shape fails).
        let font = FontRef::new(Typeface::Mono.bytes()).unwrap();
        let charmap = font.charmap();
        let glyphs: Vec<_> = "0O1Il".chars().map(|c| charmap.map(c).unwrap()).collect();
        for (i, a) in glyphs.iter().enumerate() {
            for b in &glyphs[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn a_line_shrinks_to_fit_then_is_cut_with_an_ellipsis() {
        let (line, size) = fit_line(Typeface::Regular, 10.0, 5.0, "short", 200.0);
        assert_eq!((line.as_str(), size), ("short", 10.0));
        let long = "refer.example-business.co.uk/r/jane-doe-7k4q";
        let natural = width(Typeface::Regular, 10.0, long);
        let (line, size) = fit_line(Typeface::Regular, 10.0, 5.0, long, natural * 0.8);
        assert_eq!(line, long);
        assert!((size - 8.0).abs() < 0.01, "{size}");
        let (line, size) = fit_line(Typeface::Regular, 10.0, 5.0, long, natural * 0.3);
        assert_eq!(size, 5.0);
        assert!(line.ends_with(ELLIPSIS) && width(Typeface::Regular, 5.0, &line) <= natural * 0.3);
    }

    #[test]
    fn text_wraps_at_spaces_into_the_lines_allowed() {
        let text = "Give your friends 10% off their first order and earn a reward";
        let max = width(Typeface::Bold, 10.0, "Give your friends 10%");
        let lines = wrap(Typeface::Bold, 10.0, text, max, 5);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert!(lines.iter().all(|l| width(Typeface::Bold, 10.0, l) <= max));
        let two = wrap(Typeface::Bold, 10.0, text, max, 2);
        assert_eq!(two.len(), 2);
        assert!(two[1].ends_with(ELLIPSIS), "{two:?}");
        assert!(two.iter().all(|l| width(Typeface::Bold, 10.0, l) <= max));
        assert!(wrap(Typeface::Bold, 10.0, "  ", max, 2).is_empty());
    }
}
