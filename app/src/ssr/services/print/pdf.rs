//! The print-ready PDF, written with pdf-writer sheet by sheet as it is drawn, so a run of
//! thousands of cards goes out in a steady stream and never sits in memory whole: vector QR
//! codes, text as real text in embedded (and subset) fonts, exact sheet sizes, optional bleed,
//! trim box and crop marks.
//!
//! Why two passes: a subset font must be written with the glyphs it keeps, and those are known
//! only once every piece is laid out. The first pass lays the pieces out and only notes their
//! glyphs (cheap: nothing is kept but the glyph sets); the fonts and the logo are written first,
//! then every sheet is drawn and written out at once, and last the page tree, the catalog and
//! the cross-reference table.

use std::{collections::BTreeMap, io::Write};

use pdf_writer::{
    Chunk, Content, Filter, Finish, Name, Rect, Ref, Str, TextStr,
    types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap},
};
use skrifa::{
    FontRef, MetadataProvider,
    instance::{LocationRef, Size},
    raw::TableProvider,
};
use subsetter::GlyphRemapper;

use super::{
    PrintBranding, PrintLogo, PrintPiece,
    draw::{self, Affine, Canvas, pt},
    fonts::Typeface,
    layout::{Face, Imposition, PT_PER_MM},
};
use crate::{domain::color::Rgb, error::AppError};

/// The typefaces in the order their resource names (`/F0`, `/F1`, `/F2`) number them.
const TYPEFACES: [Typeface; 3] = [Typeface::Regular, Typeface::Bold, Typeface::Mono];
/// PDF glyph widths are in thousandths of the font size.
const PDF_UNITS_PER_EM: f32 = 1000.0;
const IDENTITY_H: &str = "Identity-H";
const SYSTEM_INFO: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

fn font_index(face: Typeface) -> usize {
    match face {
        Typeface::Regular => 0,
        Typeface::Bold => 1,
        Typeface::Mono => 2,
    }
}

fn font_name(index: usize) -> [u8; 2] {
    [b'F', b'0' + index as u8]
}

const LOGO: Name<'static> = Name(b"Logo");

/// The glyphs one typeface prints, numbered as its subset numbers them.
struct GlyphSet {
    remapper: GlyphRemapper,
    /// The text each subset glyph stands for, for copy and search (the ToUnicode map).
    unicode: BTreeMap<u16, char>,
}

impl GlyphSet {
    fn new() -> GlyphSet {
        GlyphSet {
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        }
    }

    fn used(&self) -> bool {
        self.remapper.num_gids() > 1
    }
}

/// The first pass: a canvas that draws nothing and notes every glyph.
struct Collect<'a> {
    fonts: &'a [FontRef<'static>; 3],
    glyphs: &'a mut [GlyphSet; 3],
}

impl Canvas for Collect<'_> {
    fn rect(&mut self, _: f32, _: f32, _: f32, _: f32, _: Rgb) {}

    fn text(&mut self, _: f32, _: f32, face: Typeface, _: f32, text: &str, _: Rgb) {
        let index = font_index(face);
        let charmap = self.fonts[index].charmap();
        let set = &mut self.glyphs[index];
        for c in text.chars() {
            // A character the font lacks prints as its .notdef box (glyph 0), as elsewhere.
            let glyph = charmap.map(c).map_or(0, |g| g.to_u32() as u16);
            let cid = set.remapper.remap(glyph);
            if glyph != 0 {
                set.unicode.entry(cid).or_insert(c);
            }
        }
    }

    fn modules(&mut self, _: &[(f32, f32, f32, f32)]) {}
    fn logo(&mut self, _: f32, _: f32, _: f32, _: f32) {}
    fn push(&mut self, _: Affine) {}
    fn pop(&mut self) {}

    fn draws_shapes(&self) -> bool {
        false
    }
}

/// The second pass: a sheet's content stream, in millimetres with y down.
struct PdfCanvas<'a> {
    content: &'a mut Content,
    fonts: &'a [FontRef<'static>; 3],
    glyphs: &'a [GlyphSet; 3],
    has_logo: bool,
}

fn set_fill(content: &mut Content, rgb: Rgb) {
    content.set_fill_rgb(
        f32::from(rgb.0) / 255.0,
        f32::from(rgb.1) / 255.0,
        f32::from(rgb.2) / 255.0,
    );
}

impl Canvas for PdfCanvas<'_> {
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
        set_fill(self.content, rgb);
        self.content.rect(x, y, w, h);
        self.content.fill_nonzero();
    }

    fn text(&mut self, x: f32, y: f32, face: Typeface, size: f32, text: &str, rgb: Rgb) {
        let index = font_index(face);
        let charmap = self.fonts[index].charmap();
        let set = &self.glyphs[index];
        let mut codes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = charmap.map(c).map_or(0, |g| g.to_u32() as u16);
            let cid = set.remapper.get(glyph).unwrap_or(0);
            codes.extend_from_slice(&cid.to_be_bytes());
        }
        let size = pt(size);
        set_fill(self.content, rgb);
        self.content.begin_text();
        self.content.set_font(Name(&font_name(index)), 1.0);
        // The page runs y down; text is set upright by flipping it back.
        self.content.set_text_matrix([size, 0.0, 0.0, -size, x, y]);
        self.content.show(Str(&codes));
        self.content.end_text();
    }

    fn modules(&mut self, rects: &[(f32, f32, f32, f32)]) {
        if rects.is_empty() {
            return;
        }
        set_fill(self.content, Rgb::BLACK);
        for &(x, y, w, h) in rects {
            self.content.rect(x, y, w, h);
        }
        self.content.fill_nonzero();
    }

    fn logo(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if self.has_logo {
            self.content.save_state();
            // The image is the unit square, y up: stretch it over the box, its foot at the
            // box's bottom.
            self.content.transform([w, 0.0, 0.0, -h, x, y + h]);
            self.content.x_object(LOGO);
            self.content.restore_state();
        }
    }

    fn push(&mut self, transform: Affine) {
        self.content.save_state();
        self.content.transform(transform.0);
    }

    fn pop(&mut self) {
        self.content.restore_state();
    }
}

/// Thin registration-black lines for the crop marks.
fn draw_marks(content: &mut Content, imposition: &Imposition, slot: (f32, f32)) {
    content.set_stroke_rgb(0.0, 0.0, 0.0);
    // 0.25 pt, the usual hairline for marks.
    content.set_line_width(0.25 / PT_PER_MM);
    for ((x1, y1), (x2, y2)) in imposition.crop_marks(slot) {
        content.move_to(x1, y1);
        content.line_to(x2, y2);
    }
    content.stroke();
}

/// With crop marks, the sheet's trim box (the pieces' trimmed area: one piece, or the grid of
/// them) and its bleed box (that grown by the bleed), in PDF points (y up), for a print shop's
/// software to find the cut. Without marks, none: the sheet is the page.
pub fn boxes(imposition: &Imposition) -> Option<(Rect, Rect)> {
    if !imposition.marks || imposition.slots.is_empty() {
        return None;
    }
    let (w, h) = imposition.piece;
    let sheet_h = imposition.sheet.1;
    let left = imposition
        .slots
        .iter()
        .map(|s| s.0)
        .fold(f32::MAX, f32::min);
    let top = imposition
        .slots
        .iter()
        .map(|s| s.1)
        .fold(f32::MAX, f32::min);
    let right = imposition
        .slots
        .iter()
        .map(|s| s.0 + w)
        .fold(f32::MIN, f32::max);
    let bottom = imposition
        .slots
        .iter()
        .map(|s| s.1 + h)
        .fold(f32::MIN, f32::max);
    let rect = |grow: f32| {
        Rect::new(
            (left - grow) * PT_PER_MM,
            (sheet_h - bottom - grow) * PT_PER_MM,
            (right + grow) * PT_PER_MM,
            (sheet_h - top + grow) * PT_PER_MM,
        )
    };
    Some((rect(0.0), rect(imposition.bleed)))
}

/// Writes numbered objects to `out` one at a time, keeping only their offsets for the
/// cross-reference table.
struct ObjectWriter<W: Write> {
    out: W,
    /// Bytes written so far.
    position: usize,
    /// Each object's offset; object `n` at index `n - 1`.
    offsets: Vec<usize>,
    next: i32,
}

impl<W: Write> ObjectWriter<W> {
    fn new(out: W) -> ObjectWriter<W> {
        ObjectWriter {
            out,
            position: 0,
            offsets: Vec::new(),
            next: 1,
        }
    }

    fn reserve(&mut self) -> Ref {
        let id = Ref::new(self.next);
        self.next += 1;
        id
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        self.out.write_all(bytes).map_err(write_error)?;
        self.position += bytes.len();
        Ok(())
    }

    /// Writes `chunk`, which holds the single object `id`.
    fn object(&mut self, id: Ref, chunk: Chunk) -> Result<(), AppError> {
        debug_assert!(chunk.refs().eq([id]), "one object per chunk");
        let index = (id.get() - 1) as usize;
        if self.offsets.len() <= index {
            self.offsets.resize(index + 1, 0);
        }
        self.offsets[index] = self.position;
        self.raw(chunk.as_bytes())
    }

    /// The cross-reference table and trailer. pdf-writer only writes them for a file it holds
    /// whole, so these few lines of PDF syntax (ISO 32000-1, 7.5.4 and 7.5.5) are written here.
    fn finish(mut self, catalog: Ref, info: Ref) -> Result<(), AppError> {
        let start = self.position;
        let count = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {count}\n0000000000 65535 f\r\n");
        for (index, offset) in self.offsets.iter().enumerate() {
            if *offset == 0 {
                return Err(AppError::internal(
                    "print::pdf xref",
                    format!("object {} was never written", index + 1),
                ));
            }
            table.push_str(&format!("{offset:010} 00000 n\r\n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {count} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{start}\n%%EOF\n",
            catalog.get(),
            info.get()
        ));
        self.raw(table.as_bytes())?;
        self.out.flush().map_err(write_error)
    }
}

fn write_error(error: std::io::Error) -> AppError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        // The reader went away (a client that closed the download): nothing is wrong here.
        tracing::info!("print: the PDF's reader went away before it was whole");
        return AppError::Internal;
    }
    AppError::internal("print::pdf write", error)
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// The font's own PostScript name, from its name table, kept to the characters a PDF name may
/// hold without escapes: a font file swapped for another names itself.
fn postscript_name(font: &FontRef<'_>) -> Option<String> {
    let name: String = font
        .localized_strings(skrifa::string::StringId::POSTSCRIPT_NAME)
        .english_or_first()?
        .chars()
        .filter(|c| c.is_ascii_graphic() && !"[](){}<>/%#".contains(*c))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Writes the subset of `face` holding `glyphs` as a Type 0 font at `type0`.
fn write_font<W: Write>(
    out: &mut ObjectWriter<W>,
    type0: Ref,
    face: Typeface,
    font: &FontRef<'_>,
    glyphs: &GlyphSet,
) -> Result<(), AppError> {
    let failed =
        |what: &str| AppError::internal("print::pdf font", format!("{}: {what}", face.name()));
    let subset = subsetter::subset(face.bytes(), 0, &glyphs.remapper)
        .map_err(|e| failed(&format!("subset: {e}")))?;
    let subset_font = FontRef::new(&subset).map_err(|_| failed("subset unreadable"))?;
    let cff = subset_font.data_for_tag(skrifa::raw::types::Tag::new(b"CFF "));
    let (program, is_cff) = match &cff {
        Some(table) => (table.as_bytes(), true),
        None => (subset.as_slice(), false),
    };

    let units = f32::from(
        font.head()
            .map_err(|_| failed("no head table"))?
            .units_per_em(),
    );
    let to_pdf = |v: f32| v / units * PDF_UNITS_PER_EM;
    let metrics = font.metrics(Size::unscaled(), LocationRef::default());
    let advances = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    // A subset tag (six capitals) from the glyphs kept, as the PDF specification asks of a
    // subset font's name.
    let tag: String = {
        let mut hash: u64 = 1469598103934665603;
        for gid in glyphs.remapper.remapped_gids() {
            hash = (hash ^ u64::from(gid)).wrapping_mul(1099511628211);
        }
        (0..6)
            .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
            .collect()
    };
    let postscript = postscript_name(font).ok_or_else(|| failed("no PostScript name"))?;
    let base_font = format!("{tag}+{postscript}");

    let cid_ref = out.reserve();
    let descriptor_ref = out.reserve();
    let cmap_ref = out.reserve();
    let program_ref = out.reserve();

    let mut chunk = Chunk::new();
    let type0_name = if is_cff {
        format!("{base_font}-{IDENTITY_H}")
    } else {
        base_font.clone()
    };
    chunk
        .type0_font(type0)
        .base_font(Name(type0_name.as_bytes()))
        .encoding_predefined(Name(IDENTITY_H.as_bytes()))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);
    out.object(type0, chunk)?;

    let mut chunk = Chunk::new();
    let mut cid = chunk.cid_font(cid_ref);
    cid.subtype(if is_cff {
        CidFontType::Type0
    } else {
        CidFontType::Type2
    });
    cid.base_font(Name(base_font.as_bytes()));
    cid.system_info(SYSTEM_INFO);
    cid.font_descriptor(descriptor_ref);
    cid.default_width(0.0);
    if !is_cff {
        cid.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    // Every glyph of the subset in order: the subset numbers them 0, 1, 2, ...
    cid.widths().consecutive(
        0,
        glyphs.remapper.remapped_gids().map(|gid| {
            to_pdf(
                advances
                    .advance_width(skrifa::GlyphId::new(u32::from(gid)))
                    .unwrap_or(0.0),
            )
        }),
    );
    cid.finish();
    out.object(cid_ref, chunk)?;

    let mut flags = FontFlags::SYMBOLIC;
    if face == Typeface::Mono {
        flags.insert(FontFlags::FIXED_PITCH);
    }
    let bounds = metrics.bounds.unwrap_or_default();
    let mut chunk = Chunk::new();
    let mut descriptor = chunk.font_descriptor(descriptor_ref);
    descriptor
        .name(Name(base_font.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(
            to_pdf(bounds.x_min),
            to_pdf(bounds.y_min),
            to_pdf(bounds.x_max),
            to_pdf(bounds.y_max),
        ))
        .italic_angle(0.0)
        .ascent(to_pdf(metrics.ascent))
        .descent(to_pdf(metrics.descent))
        .cap_height(to_pdf(metrics.cap_height.unwrap_or(metrics.ascent)))
        .stem_v(if face == Typeface::Regular {
            80.0
        } else {
            140.0
        });
    if is_cff {
        descriptor.font_file3(program_ref);
    } else {
        descriptor.font_file2(program_ref);
    }
    descriptor.finish();
    out.object(descriptor_ref, chunk)?;

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), SYSTEM_INFO);
    for (cid, c) in &glyphs.unicode {
        cmap.pair(*cid, *c);
    }
    let cmap = deflate(&cmap.finish());
    let mut chunk = Chunk::new();
    chunk.cmap(cmap_ref, &cmap).filter(Filter::FlateDecode);
    out.object(cmap_ref, chunk)?;

    let program = deflate(program);
    let mut chunk = Chunk::new();
    let mut stream = chunk.stream(program_ref, &program);
    stream.filter(Filter::FlateDecode);
    if is_cff {
        stream.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    }
    stream.finish();
    out.object(program_ref, chunk)
}

/// Writes the logo as an image XObject (its transparency as a soft mask) and returns its
/// number; `None` when the file cannot be read, and then no logo is drawn.
fn write_logo<W: Write>(
    out: &mut ObjectWriter<W>,
    logo: &PrintLogo,
) -> Result<Option<Ref>, AppError> {
    let format = if logo.png {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::Jpeg
    };
    let Ok(decoded) = image::load_from_memory_with_format(&logo.bytes, format) else {
        return Ok(None);
    };
    let id = out.reserve();
    let (width, height) = (decoded.width() as i32, decoded.height() as i32);
    let rgba = decoded.to_rgba8();
    let opaque = rgba.pixels().all(|p| p.0[3] == 255);
    let rgb: Vec<u8> = rgba
        .pixels()
        .flat_map(|p| [p.0[0], p.0[1], p.0[2]])
        .collect();
    let mask_ref = (!opaque).then(|| out.reserve());
    let data = deflate(&rgb);
    let mut chunk = Chunk::new();
    let mut image = chunk.image_xobject(id, &data);
    image.filter(Filter::FlateDecode);
    image.width(width).height(height).bits_per_component(8);
    image.color_space().device_rgb();
    if let Some(mask_ref) = mask_ref {
        image.s_mask(mask_ref);
    }
    image.finish();
    out.object(id, chunk)?;
    if let Some(mask_ref) = mask_ref {
        let alpha: Vec<u8> = rgba.pixels().map(|p| p.0[3]).collect();
        let data = deflate(&alpha);
        let mut chunk = Chunk::new();
        let mut mask = chunk.image_xobject(mask_ref, &data);
        mask.filter(Filter::FlateDecode);
        mask.width(width).height(height).bits_per_component(8);
        mask.color_space().device_gray();
        mask.finish();
        out.object(mask_ref, chunk)?;
    }
    Ok(Some(id))
}

/// The typefaces, parsed once per document.
fn load_fonts() -> Result<[FontRef<'static>; 3], AppError> {
    let load = |face: Typeface| {
        FontRef::new(face.bytes()).map_err(|_| AppError::internal("print::pdf font", face.name()))
    };
    Ok([
        load(TYPEFACES[0])?,
        load(TYPEFACES[1])?,
        load(TYPEFACES[2])?,
    ])
}

/// Draws `pieces` laid out by `imposition` in `face`, one sheet per page, into `out` as a PDF,
/// sheet by sheet. Each piece is clipped to its bleed box, so nothing of one reaches the next.
pub fn write(
    out: impl Write,
    face: Face,
    imposition: &Imposition,
    brand: &PrintBranding,
    pieces: &[PrintPiece],
    title: &str,
) -> Result<(), AppError> {
    let fonts = load_fonts()?;
    let (w, h) = imposition.piece;
    let bleed = imposition.bleed;

    // Pass one: which glyphs print.
    let mut glyphs = [GlyphSet::new(), GlyphSet::new(), GlyphSet::new()];
    for piece in pieces {
        let mut collect = Collect {
            fonts: &fonts,
            glyphs: &mut glyphs,
        };
        draw::piece(&mut collect, face, (w, h), bleed, brand, piece)?;
    }

    let mut out = ObjectWriter::new(out);
    // The header; the second line's bytes above 127 tell tools the file is binary.
    out.raw(b"%PDF-1.7\n%\x80\x80\x80\x80\n\n")?;
    let catalog_ref = out.reserve();
    let pages_ref = out.reserve();
    let info_ref = out.reserve();
    let resources_ref = out.reserve();

    let mut used_fonts = Vec::new();
    for (index, face) in TYPEFACES.into_iter().enumerate() {
        if glyphs[index].used() {
            let type0 = out.reserve();
            write_font(&mut out, type0, face, &fonts[index], &glyphs[index])?;
            used_fonts.push((index, type0));
        }
    }
    let logo_ref = match &brand.logo {
        Some(logo) => write_logo(&mut out, logo)?,
        None => None,
    };

    let mut chunk = Chunk::new();
    let mut resources = chunk
        .indirect(resources_ref)
        .start::<pdf_writer::writers::Resources>();
    let mut font_dict = resources.fonts();
    for (index, type0) in &used_fonts {
        font_dict.pair(Name(&font_name(*index)), *type0);
    }
    font_dict.finish();
    if let Some(logo_ref) = logo_ref {
        resources.x_objects().pair(LOGO, logo_ref);
    }
    resources.finish();
    out.object(resources_ref, chunk)?;

    // Pass two: each sheet drawn and written out, then dropped.
    let (sheet_w, sheet_h) = imposition.sheet;
    let per_sheet = imposition.per_sheet().max(1);
    let page_boxes = boxes(imposition);
    let mut page_refs = Vec::with_capacity(pieces.len().div_ceil(per_sheet));
    for sheet in pieces.chunks(per_sheet) {
        let mut content = Content::new();
        // Millimetres from the top-left corner, y down, as the layouts are drawn.
        content.transform([PT_PER_MM, 0.0, 0.0, -PT_PER_MM, 0.0, sheet_h * PT_PER_MM]);
        for (piece, slot) in sheet.iter().zip(&imposition.slots) {
            content.save_state();
            content.transform([1.0, 0.0, 0.0, 1.0, slot.0, slot.1]);
            content.rect(-bleed, -bleed, w + 2.0 * bleed, h + 2.0 * bleed);
            content.clip_nonzero();
            content.end_path();
            let mut canvas = PdfCanvas {
                content: &mut content,
                fonts: &fonts,
                glyphs: &glyphs,
                has_logo: logo_ref.is_some(),
            };
            draw::piece(&mut canvas, face, (w, h), bleed, brand, piece)?;
            content.restore_state();
            if imposition.marks {
                draw_marks(&mut content, imposition, *slot);
            }
        }
        let data = deflate(&content.finish());
        let content_ref = out.reserve();
        let mut chunk = Chunk::new();
        chunk.stream(content_ref, &data).filter(Filter::FlateDecode);
        out.object(content_ref, chunk)?;

        let page_ref = out.reserve();
        let mut chunk = Chunk::new();
        let mut page = chunk.page(page_ref);
        page.parent(pages_ref)
            .media_box(Rect::new(
                0.0,
                0.0,
                sheet_w * PT_PER_MM,
                sheet_h * PT_PER_MM,
            ))
            .contents(content_ref)
            .pair(Name(b"Resources"), resources_ref);
        if let Some((trim, bleed)) = page_boxes {
            page.trim_box(trim).bleed_box(bleed);
        }
        page.finish();
        out.object(page_ref, chunk)?;
        page_refs.push(page_ref);
    }

    let mut chunk = Chunk::new();
    chunk
        .pages(pages_ref)
        .kids(page_refs.iter().copied())
        .count(page_refs.len() as i32);
    out.object(pages_ref, chunk)?;
    let mut chunk = Chunk::new();
    chunk
        .indirect(info_ref)
        .start::<pdf_writer::writers::DocumentInfo>()
        .title(TextStr(title))
        .creator(TextStr("Handoff"))
        .producer(TextStr("Handoff"));
    out.object(info_ref, chunk)?;
    let mut chunk = Chunk::new();
    chunk
        .indirect(catalog_ref)
        .start::<pdf_writer::writers::Catalog>()
        .pages(pages_ref);
    out.object(catalog_ref, chunk)?;
    out.finish(catalog_ref, info_ref)
}

/// [`write`] into memory: for a single referrer's sheet, small enough to hold.
pub fn render(
    face: Face,
    imposition: &Imposition,
    brand: &PrintBranding,
    pieces: &[PrintPiece],
    title: &str,
) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    write(&mut bytes, face, imposition, brand, pieces, title)?;
    Ok(bytes)
}
