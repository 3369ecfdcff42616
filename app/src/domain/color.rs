//! Colours people choose (brand colours, QR colours), and whether text stays readable on them
//! (WCAG 2 contrast ratio).

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);

    /// Reads `#rrggbb`, `rrggbb` or `#rgb` (case-insensitive).
    pub fn parse(input: &str) -> Option<Rgb> {
        let hex = input.trim().trim_start_matches('#');
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        match hex.len() {
            6 if hex.is_ascii() => Some(Rgb(
                channel(&hex[0..2])?,
                channel(&hex[2..4])?,
                channel(&hex[4..6])?,
            )),
            3 if hex.is_ascii() => {
                let twice = |s: &str| channel(s).map(|v| v * 17);
                Some(Rgb(
                    twice(&hex[0..1])?,
                    twice(&hex[1..2])?,
                    twice(&hex[2..3])?,
                ))
            }
            _ => None,
        }
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance, 0 (black) to 1 (white).
    pub fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// WCAG contrast ratio between two colours, 1 to 21.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// White or black, whichever reads better on this colour.
    pub fn readable_text(self) -> Rgb {
        if self.contrast(Rgb::WHITE) >= self.contrast(Rgb::BLACK) {
            Rgb::WHITE
        } else {
            Rgb::BLACK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_the_usual_spellings() {
        assert_eq!(Rgb::parse("#4338ca"), Some(Rgb(0x43, 0x38, 0xca)));
        assert_eq!(Rgb::parse("FFF"), Some(Rgb::WHITE));
        assert_eq!(Rgb::parse("#12345"), None);
        assert_eq!(Rgb::parse("#ggg"), None);
        assert_eq!(Rgb::parse("#éé"), None);
    }

    #[test]
    fn contrast_matches_the_wcag_examples() {
        assert!((Rgb::BLACK.contrast(Rgb::WHITE) - 21.0).abs() < 1e-9);
        assert!((Rgb::WHITE.contrast(Rgb::WHITE) - 1.0).abs() < 1e-9);
        // #767676 on white is the classic 4.54:1.
        let grey = Rgb::parse("#767676").unwrap();
        assert!((grey.contrast(Rgb::WHITE) - 4.54).abs() < 0.01);
    }

    #[test]
    fn text_on_a_dark_brand_is_white_and_on_a_light_one_black() {
        assert_eq!(Rgb::parse("#4338ca").unwrap().readable_text(), Rgb::WHITE);
        assert_eq!(Rgb::parse("#fde047").unwrap().readable_text(), Rgb::BLACK);
    }
}
