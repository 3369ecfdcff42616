//! Paper, templates and imposition: which sizes exist and where each piece goes on a sheet. Pure
//! arithmetic in millimetres, so it is tested on its own and shared by every output format.

use crate::error::AppError;

/// Points (the PDF unit) per millimetre.
pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// Bleed around each piece when crop marks are asked for: the background reaches this far past
/// the trim line, so a cut a little off does not leave a white edge. 3 mm is what print shops ask.
pub const BLEED_MM: f32 = 3.0;

/// Length of a crop mark, starting at the bleed edge and pointing away from the piece.
pub const MARK_MM: f32 = 4.0;

/// A sheet size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paper {
    /// ISO A4, 210 x 297 mm.
    A4,
    /// US Letter, 8.5 x 11 in.
    Letter,
}

impl Paper {
    /// Every paper, in the order the API lists them.
    pub const ALL: [Paper; 2] = [Paper::A4, Paper::Letter];

    /// The name in URLs and forms.
    pub fn name(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
        }
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            Paper::A4 => "A4 (210 x 297 mm)",
            Paper::Letter => "US Letter (8.5 x 11 in)",
        }
    }

    /// Width and height in millimetres, portrait.
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::Letter => (215.9, 279.4),
        }
    }

    /// The paper named `name` (any case), or an error that lists the allowed names.
    pub fn parse(name: &str) -> Result<Paper, AppError> {
        parse_named(&Paper::ALL, Paper::name, name, "paper")
    }
}

/// What is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// A business card, 85 x 55 mm: the QR code beside the code and the link.
    BusinessCard,
    /// An A6 flyer, 105 x 148 mm: headline, reward, a large QR code, the code and the link.
    Flyer,
    /// A poster filling the sheet: the flyer's layout at the paper's size.
    Poster,
    /// A table tent: an A5 sheet, 148 x 210 mm, folded across the middle to stand on a table,
    /// a business card's layout on each side.
    TableTent,
}

/// Which way a template arranges its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Face {
    /// Landscape: text on the left, the QR code on the right.
    Card,
    /// Portrait: everything stacked and centred.
    Flyer,
    /// Two landscape halves of a folded sheet, the top one upside down.
    Tent,
}

impl Template {
    /// Every template, in the order the API lists them.
    pub const ALL: [Template; 4] = [
        Template::BusinessCard,
        Template::Flyer,
        Template::Poster,
        Template::TableTent,
    ];

    /// The name in URLs and forms.
    pub fn name(self) -> &'static str {
        match self {
            Template::BusinessCard => "business-card",
            Template::Flyer => "flyer",
            Template::Poster => "poster",
            Template::TableTent => "table-tent",
        }
    }

    /// What people call it, for the studio.
    pub fn label(self) -> &'static str {
        match self {
            Template::BusinessCard => "Business card (85 x 55 mm)",
            Template::Flyer => "Flyer (A6)",
            Template::Poster => "Poster (whole sheet)",
            Template::TableTent => "Table tent (A5, folded)",
        }
    }

    /// The template named `name` (any case), or an error that lists the allowed names.
    pub fn parse(name: &str) -> Result<Template, AppError> {
        parse_named(&Template::ALL, Template::name, name, "template")
    }

    /// The trimmed size of one piece in millimetres on `paper`.
    pub fn size_mm(self, paper: Paper) -> (f32, f32) {
        match self {
            Template::BusinessCard => (85.0, 55.0),
            Template::Flyer => (105.0, 148.0),
            Template::Poster => paper.size_mm(),
            Template::TableTent => (148.0, 210.0),
        }
    }

    /// How the content is arranged.
    pub fn face(self) -> Face {
        match self {
            Template::BusinessCard => Face::Card,
            Template::Flyer | Template::Poster => Face::Flyer,
            Template::TableTent => Face::Tent,
        }
    }
}

/// The one of `items` whose `name` is `text` (trimmed, any case), or an `invalid_{field}` error
/// on `field` that lists every name.
fn parse_named<T: Copy>(
    items: &[T],
    name: fn(T) -> &'static str,
    text: &str,
    field: &str,
) -> Result<T, AppError> {
    let text = text.trim().to_ascii_lowercase();
    items
        .iter()
        .copied()
        .find(|item| name(*item) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = items.iter().map(|item| name(*item)).collect();
            AppError::invalid(
                &format!("invalid_{field}"),
                field,
                format!(
                    "Unknown {field} {text:?}. Use one of: {}.",
                    names.join(", ")
                ),
            )
        })
}

/// Where the pieces go on one sheet, in millimetres from the sheet's top-left corner.
#[derive(Clone, Debug, PartialEq)]
pub struct Imposition {
    /// The sheet's width and height.
    pub sheet: (f32, f32),
    /// One piece's trimmed width and height.
    pub piece: (f32, f32),
    /// The top-left corner of each piece's trim box, row by row.
    pub slots: Vec<(f32, f32)>,
    /// How far each piece's background reaches past its trim box (0 without crop marks).
    pub bleed: f32,
    /// Whether crop marks are drawn.
    pub marks: bool,
}

/// Lays out `template` on `paper`: as many pieces as fit in a centred grid. Without marks the
/// pieces touch, so a guillotine cut or a perforated sheet separates them (10 business cards on
/// A4 and on Letter, 4 A6 flyers on A4); with marks each piece gets its bleed and room for its
/// crop marks (8 business cards on A4 or Letter). A piece as large as the sheet (a poster)
/// fills it; with marks the sheet grows by the bleed and the marks' room on each side, one piece
/// to a sheet, as a print shop expects an oversized sheet to cut down.
pub fn impose(template: Template, paper: Paper, marks: bool) -> Imposition {
    let piece = template.size_mm(paper);
    let bleed = if marks { BLEED_MM } else { 0.0 };
    // Room a piece takes on the sheet beyond its trim box, on each side.
    let around = if marks { BLEED_MM + MARK_MM } else { 0.0 };
    let pitch = (piece.0 + 2.0 * around, piece.1 + 2.0 * around);
    let paper = paper.size_mm();
    let sheet = if pitch.0 > paper.0 + 0.01 || pitch.1 > paper.1 + 0.01 {
        pitch
    } else {
        paper
    };
    // A little tolerance: Letter is 279.4 mm and five cards are 275 mm, but float sums wobble.
    let fit = |length: f32, pitch: f32| ((length + 0.01) / pitch).floor().max(1.0) as usize;
    let (columns, rows) = (fit(sheet.0, pitch.0), fit(sheet.1, pitch.1));
    let left = (sheet.0 - columns as f32 * pitch.0) / 2.0 + around;
    let top = (sheet.1 - rows as f32 * pitch.1) / 2.0 + around;
    let slots = (0..rows)
        .flat_map(|row| {
            (0..columns)
                .map(move |column| (left + column as f32 * pitch.0, top + row as f32 * pitch.1))
        })
        .collect();
    Imposition {
        sheet,
        piece,
        slots,
        bleed,
        marks,
    }
}

impl Imposition {
    /// How many pieces one sheet holds.
    pub fn per_sheet(&self) -> usize {
        self.slots.len()
    }

    /// The crop marks of the piece at `slot`: line segments `((x1, y1), (x2, y2))` in
    /// millimetres, two at each corner, on the trim lines' extensions, from the bleed edge
    /// outwards (so none crosses the printed area).
    pub fn crop_marks(&self, slot: (f32, f32)) -> Vec<((f32, f32), (f32, f32))> {
        let (x, y) = slot;
        let (w, h) = self.piece;
        let (near, far) = (BLEED_MM, BLEED_MM + MARK_MM);
        let mut marks = Vec::with_capacity(8);
        for (cx, sx) in [(x, -1.0), (x + w, 1.0)] {
            for (cy, sy) in [(y, -1.0), (y + h, 1.0)] {
                // Horizontal mark on the trim line y = cy, outside in x.
                marks.push(((cx + sx * near, cy), (cx + sx * far, cy)));
                // Vertical mark on the trim line x = cx, outside in y.
                marks.push(((cx, cy + sy * near), (cx, cy + sy * far)));
            }
        }
        marks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(imposition: &Imposition, margin: f32) -> bool {
        let (sw, sh) = imposition.sheet;
        let (w, h) = imposition.piece;
        imposition.slots.iter().all(|&(x, y)| {
            x - margin >= -0.01
                && y - margin >= -0.01
                && x + w + margin <= sw + 0.01
                && y + h + margin <= sh + 0.01
        })
    }

    fn overlap(imposition: &Imposition, grow: f32) -> bool {
        let (w, h) = imposition.piece;
        let slots = &imposition.slots;
        slots.iter().enumerate().any(|(i, a)| {
            slots[i + 1..].iter().any(|b| {
                a.0 - grow < b.0 + w + grow - 0.01
                    && b.0 - grow < a.0 + w + grow - 0.01
                    && a.1 - grow < b.1 + h + grow - 0.01
                    && b.1 - grow < a.1 + h + grow - 0.01
            })
        })
    }

    #[test]
    fn ten_business_cards_fit_on_a4_and_on_letter_without_marks() {
        for paper in Paper::ALL {
            let sheet = impose(Template::BusinessCard, paper, false);
            assert_eq!(sheet.per_sheet(), 10, "{paper:?}");
            assert!(inside(&sheet, 0.0) && !overlap(&sheet, 0.0), "{paper:?}");
            assert_eq!(sheet.bleed, 0.0);
        }
    }

    #[test]
    fn with_marks_each_card_keeps_its_bleed_and_marks_on_the_sheet_and_apart() {
        let a4 = impose(Template::BusinessCard, Paper::A4, true);
        assert_eq!(a4.per_sheet(), 8);
        let letter = impose(Template::BusinessCard, Paper::Letter, true);
        assert_eq!(letter.per_sheet(), 8);
        for sheet in [a4, letter] {
            assert_eq!(sheet.bleed, BLEED_MM);
            assert!(inside(&sheet, BLEED_MM + MARK_MM));
            assert!(!overlap(&sheet, BLEED_MM + MARK_MM));
            for slot in &sheet.slots {
                let marks = sheet.crop_marks(*slot);
                assert_eq!(marks.len(), 8);
                let (w, h) = sheet.piece;
                for ((x1, y1), (x2, y2)) in marks {
                    // Each mark lies outside the bleed box.
                    for (x, y) in [(x1, y1), (x2, y2)] {
                        let outside_x =
                            x <= slot.0 - BLEED_MM + 0.01 || x >= slot.0 + w + BLEED_MM - 0.01;
                        let outside_y =
                            y <= slot.1 - BLEED_MM + 0.01 || y >= slot.1 + h + BLEED_MM - 0.01;
                        assert!(
                            outside_x || outside_y,
                            "mark point ({x}, {y}) inside the bleed"
                        );
                    }
                    assert!((x1 - x2).abs() + (y1 - y2).abs() - MARK_MM < 0.01);
                }
            }
        }
    }

    #[test]
    fn flyers_are_four_on_a4_and_a_poster_fills_the_sheet() {
        let flyers = impose(Template::Flyer, Paper::A4, false);
        assert_eq!(flyers.per_sheet(), 4);
        assert!(inside(&flyers, 0.0) && !overlap(&flyers, 0.0));
        assert_eq!(impose(Template::Flyer, Paper::A4, true).per_sheet(), 1);
        for paper in Paper::ALL {
            let poster = impose(Template::Poster, paper, false);
            assert_eq!(poster.slots, [(0.0, 0.0)]);
            assert_eq!(poster.piece, paper.size_mm());
            assert_eq!(poster.sheet, paper.size_mm());
            let marked = impose(Template::Poster, paper, true);
            let around = BLEED_MM + MARK_MM;
            assert_eq!(marked.slots, [(around, around)]);
            assert_eq!(
                marked.sheet,
                (
                    paper.size_mm().0 + 2.0 * around,
                    paper.size_mm().1 + 2.0 * around
                )
            );
            assert!(inside(&marked, around));
        }
    }

    #[test]
    fn a_table_tent_is_one_a5_sheet_to_a_page_with_or_without_marks() {
        for paper in Paper::ALL {
            for marks in [false, true] {
                let tent = impose(Template::TableTent, paper, marks);
                assert_eq!(tent.per_sheet(), 1, "{paper:?} {marks}");
                assert_eq!(tent.piece, (148.0, 210.0));
                let around = if marks { BLEED_MM + MARK_MM } else { 0.0 };
                assert!(inside(&tent, around));
            }
        }
    }

    #[test]
    fn names_parse_in_any_case_and_unknown_ones_list_the_allowed_values() {
        assert_eq!(
            Template::parse(" Business-Card ").unwrap(),
            Template::BusinessCard
        );
        assert_eq!(Paper::parse("LETTER").unwrap(), Paper::Letter);
        let error = Template::parse("tshirt").unwrap_err();
        assert_eq!(error.code(), "invalid_template");
        assert!(
            error
                .to_string()
                .contains("business-card, flyer, poster, table-tent"),
            "{error}"
        );
        let error = Paper::parse("a3").unwrap_err();
        assert_eq!(error.field(), Some("paper"));
        assert!(error.to_string().contains("a4, letter"), "{error}");
    }
}
