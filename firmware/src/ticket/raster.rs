//! A 1-bit raster the width of the paper, and drawing on it: text in the
//! bundled Noto Sans (so Vietnamese prints the same on every printer,
//! whatever its code pages), rules, and QR codes.
//!
//! Thermal printers print dots at 203 dpi (8 dots/mm): 576 dots across the
//! 72 mm printable width of 80 mm paper, 384 across 58 mm paper. A set bit is
//! a black dot, most significant bit first, rows padded to whole bytes: the
//! layout `GS v 0` expects (see [`super::escpos`]).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use unicode_normalization::UnicodeNormalization;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSans-Bold.ttf");

/// A problem drawing a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RasterError {
    /// The bundled font could not be parsed (a broken build). Remedy:
    /// rebuild from a clean checkout.
    #[error("the bundled font cannot be read")]
    Font,
    /// The QR payload is too long for any QR version. Remedy: shorten the
    /// status link.
    #[error("the QR payload of {0} bytes does not fit a QR code")]
    QrTooLong(usize),
    /// The raster would be larger than a ticket can be (a layout bug or
    /// absurd input). Remedy: shorten the texts.
    #[error("the ticket would be {0} dots long")]
    TooLong(u32),
}

/// The most dots a ticket may be long (about 50 cm).
pub const MAX_HEIGHT: u32 = 4000;

/// Paper widths the kiosk supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperWidth {
    /// 80 mm paper, 576 dots.
    Mm80,
    /// 58 mm paper, 384 dots.
    Mm58,
}

impl PaperWidth {
    /// From millimetres (80 or 58).
    pub fn from_mm(mm: u32) -> Option<PaperWidth> {
        match mm {
            80 => Some(PaperWidth::Mm80),
            58 => Some(PaperWidth::Mm58),
            _ => None,
        }
    }

    /// Printable dots across.
    pub fn dots(self) -> u32 {
        match self {
            PaperWidth::Mm80 => 576,
            PaperWidth::Mm58 => 384,
        }
    }
}

/// A 1-bit image: `true` is a black dot.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    /// Bytes per row.
    stride: usize,
    bits: Vec<u8>,
}

impl core::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Bitmap({}×{})", self.width, self.height)
    }
}

impl Bitmap {
    /// A white bitmap.
    pub fn new(width: u32, height: u32) -> Self {
        let stride = width.div_ceil(8) as usize;
        Bitmap {
            width,
            height,
            stride,
            bits: vec![0; stride * height as usize],
        }
    }

    /// A bitmap from packed rows (MSB first), as `GS v 0` carries them.
    /// `None` if `bits` is not `ceil(width/8) × height` bytes.
    pub fn from_packed(width: u32, height: u32, bits: Vec<u8>) -> Option<Self> {
        let stride = width.div_ceil(8) as usize;
        (bits.len() == stride * height as usize).then_some(Bitmap {
            width,
            height,
            stride,
            bits,
        })
    }

    /// Width in dots.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The packed rows.
    pub fn packed(&self) -> &[u8] {
        &self.bits
    }

    /// Whether the dot at (x, y) is black; outside is white.
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let i = y as usize * self.stride + (x / 8) as usize;
        self.bits.get(i).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// Blackens the dot at (x, y); outside is ignored.
    pub fn set(&mut self, x: u32, y: u32) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = y as usize * self.stride + (x / 8) as usize;
        if let Some(b) = self.bits.get_mut(i) {
            *b |= 0x80 >> (x % 8);
        }
    }

    /// Fills a rectangle.
    pub fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy);
            }
        }
    }

    /// Whitens a rectangle.
    pub fn clear(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                let i = yy as usize * self.stride + (xx / 8) as usize;
                if let Some(b) = self.bits.get_mut(i) {
                    *b &= !(0x80 >> (xx % 8));
                }
            }
        }
    }

    /// The number of black dots (the heat a thermal head spends).
    pub fn black_dots(&self) -> u64 {
        self.bits.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// Cuts the height to `height` (keeping the top).
    pub fn truncate(&mut self, height: u32) {
        if height < self.height {
            self.height = height;
            self.bits.truncate(self.stride * height as usize);
        }
    }
}

/// Font weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Noto Sans Regular.
    Regular,
    /// Noto Sans Bold.
    Bold,
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left at the margin.
    Left,
    /// Centred.
    Center,
}

/// Text style.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    /// Font weight.
    pub weight: Weight,
    /// Height of the font in dots (the em size).
    pub size: f32,
    /// Placement.
    pub align: Align,
    /// White text on a black band.
    pub inverse: bool,
}

impl Style {
    /// Regular, left aligned.
    pub const fn regular(size: f32) -> Style {
        Style {
            weight: Weight::Regular,
            size,
            align: Align::Left,
            inverse: false,
        }
    }

    /// Bold, centred.
    pub const fn heading(size: f32) -> Style {
        Style {
            weight: Weight::Bold,
            size,
            align: Align::Center,
            inverse: false,
        }
    }

    /// The same style, centred.
    pub const fn centered(self) -> Style {
        Style {
            align: Align::Center,
            ..self
        }
    }

    /// The same style, white on black.
    pub const fn inverse(self) -> Style {
        Style {
            inverse: true,
            ..self
        }
    }
}

/// Draws a ticket top to bottom on a growing canvas.
pub struct Canvas {
    bitmap: Bitmap,
    y: u32,
    margin: u32,
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl core::fmt::Debug for Canvas {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Canvas")
            .field("y", &self.y)
            .finish_non_exhaustive()
    }
}

impl Canvas {
    /// A canvas the width of `paper`, with a side margin of `margin` dots.
    pub fn new(paper: PaperWidth, margin: u32) -> Result<Self, RasterError> {
        Ok(Canvas {
            bitmap: Bitmap::new(paper.dots(), MAX_HEIGHT),
            y: 0,
            margin,
            regular: FontRef::try_from_slice(REGULAR).map_err(|_| RasterError::Font)?,
            bold: FontRef::try_from_slice(BOLD).map_err(|_| RasterError::Font)?,
        })
    }

    /// The line drawn so far ends here.
    pub fn y(&self) -> u32 {
        self.y
    }

    /// Leaves `dots` of white.
    pub fn space(&mut self, dots: u32) {
        self.y = self.y.saturating_add(dots);
    }

    /// Draws a horizontal rule `thickness` dots thick across the margins.
    pub fn rule(&mut self, thickness: u32) {
        let w = self.bitmap.width().saturating_sub(2 * self.margin);
        self.bitmap.fill(self.margin, self.y, w, thickness);
        self.y = self.y.saturating_add(thickness);
    }

    fn font(&self, weight: Weight) -> &FontRef<'static> {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// The width of `text` in `style`, in dots.
    pub fn measure(&self, text: &str, style: Style) -> f32 {
        let font = self.font(style.weight).as_scaled(PxScale::from(style.size));
        let mut width = 0.0;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        width
    }

    /// Draws `text`, wrapped at word boundaries to the margins; returns the
    /// number of lines. Text is normalised to NFC first, so Vietnamese
    /// letters with two marks (ệ, ở, ữ) use the font's precomposed glyphs.
    pub fn text(&mut self, text: &str, style: Style) -> Result<u32, RasterError> {
        let text: String = text.nfc().collect();
        let available = self.bitmap.width().saturating_sub(2 * self.margin) as f32;
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.measure(&candidate, style) <= available || line.is_empty() {
                    line = candidate;
                } else {
                    lines.push(std::mem::take(&mut line));
                    line = word.to_owned();
                }
            }
            lines.push(line);
        }
        for line in &lines {
            self.line(line, style)?;
        }
        Ok(u32::try_from(lines.len()).unwrap_or(u32::MAX))
    }

    fn line(&mut self, text: &str, style: Style) -> Result<(), RasterError> {
        let scale = PxScale::from(style.size);
        let font = self.font(style.weight).clone();
        let scaled = font.as_scaled(scale);
        // Line box: ascent above the baseline, descent below, plus a little
        // air; Vietnamese stacked marks reach into the ascent.
        let ascent = scaled.ascent();
        let height = (scaled.ascent() - scaled.descent() + scaled.line_gap())
            .ceil()
            .max(1.0) as u32;
        if self.y.saturating_add(height) > MAX_HEIGHT {
            return Err(RasterError::TooLong(self.y.saturating_add(height)));
        }
        let width = self.measure(text, style);
        let area = self.bitmap.width().saturating_sub(2 * self.margin) as f32;
        let x0 = match style.align {
            Align::Left => self.margin as f32,
            Align::Center => self.margin as f32 + ((area - width) / 2.0).max(0.0),
        };
        let top = self.y;
        if style.inverse {
            self.bitmap.fill(self.margin, top, area as u32, height);
        }
        let baseline = top as f32 + ascent;
        let mut x = x0;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                x += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            previous = Some(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let inverse = style.inverse;
            let bitmap = &mut self.bitmap;
            outline.draw(|gx, gy, coverage| {
                // Threshold below one half: thin strokes and the small
                // Vietnamese marks survive the 1-bit conversion.
                if coverage >= 0.42 {
                    let px = bounds.min.x + gx as f32;
                    let py = bounds.min.y + gy as f32;
                    if px >= 0.0 && py >= 0.0 {
                        if inverse {
                            bitmap.clear(px as u32, py as u32, 1, 1);
                        } else {
                            bitmap.set(px as u32, py as u32);
                        }
                    }
                }
            });
        }
        self.y = top.saturating_add(height);
        Ok(())
    }

    /// Draws `payload` as a QR code (error correction M), `module` dots per
    /// module, centred, with the 4-module quiet zone.
    pub fn qr(&mut self, payload: &[u8], module: u32) -> Result<(), RasterError> {
        let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M)
            .map_err(|_| RasterError::QrTooLong(payload.len()))?;
        let n = u32::try_from(code.width()).map_err(|_| RasterError::QrTooLong(payload.len()))?;
        let quiet = 4 * module;
        let size = n * module + 2 * quiet;
        if self.y.saturating_add(size) > MAX_HEIGHT {
            return Err(RasterError::TooLong(self.y.saturating_add(size)));
        }
        let x0 = self.bitmap.width().saturating_sub(size) / 2 + quiet;
        let y0 = self.y + quiet;
        for (i, color) in code.to_colors().iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let i = u32::try_from(i).unwrap_or(0);
                self.bitmap
                    .fill(x0 + (i % n) * module, y0 + (i / n) * module, module, module);
            }
        }
        self.y += size;
        Ok(())
    }

    /// The finished bitmap, cut to what was drawn.
    pub fn finish(mut self) -> Bitmap {
        self.bitmap.truncate(self.y);
        self.bitmap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_packed_msb_first_and_rows_padded() {
        let mut b = Bitmap::new(10, 2);
        assert_eq!(b.stride(), 2);
        b.set(0, 0);
        b.set(9, 1);
        assert_eq!(b.packed(), &[0x80, 0x00, 0x00, 0x40]);
        assert!(b.get(9, 1) && !b.get(8, 1) && !b.get(100, 100));
        assert_eq!(b.black_dots(), 2);
        assert!(Bitmap::from_packed(10, 2, vec![0; 3]).is_none());
    }

    #[test]
    fn text_wraps_to_the_paper_and_grows_the_canvas() {
        let mut c = Canvas::new(PaperWidth::Mm58, 8).unwrap();
        let lines = c
            .text(
                "Trung tâm Phục vụ hành chính công tỉnh Mẫu, số 1 đường Mẫu",
                Style::regular(28.0),
            )
            .unwrap();
        assert!(lines >= 2, "{lines}");
        let bitmap = c.finish();
        assert_eq!(bitmap.width(), 384);
        assert!(bitmap.black_dots() > 500);
    }

    #[test]
    fn decomposed_vietnamese_prints_like_precomposed() {
        let draw = |s: &str| {
            let mut c = Canvas::new(PaperWidth::Mm80, 16).unwrap();
            c.text(s, Style::heading(40.0)).unwrap();
            c.finish()
        };
        // "Nguyễn" with ễ precomposed (U+1EC5) and decomposed (e + ̂ + ̃).
        assert_eq!(draw("Nguy\u{1EC5}n"), draw("Nguye\u{302}\u{303}n"));
    }

    #[test]
    fn inverse_text_is_white_on_black() {
        let mut c = Canvas::new(PaperWidth::Mm80, 16).unwrap();
        c.text("ƯU TIÊN", Style::heading(32.0).inverse()).unwrap();
        let b = c.finish();
        let area = u64::from(b.width() - 32) * u64::from(b.height());
        assert!(b.black_dots() > area / 2, "mostly black");
    }

    #[test]
    fn a_qr_code_has_its_finder_patterns() {
        let mut c = Canvas::new(PaperWidth::Mm80, 16).unwrap();
        c.qr(b"https://dichvucong.example/tra-cuu?ma=A012", 4)
            .unwrap();
        let b = c.finish();
        let size = b.height();
        let left = (b.width() - size) / 2;
        // Top-left finder: a dark 7×7 ring right after the quiet zone.
        assert!(b.get(left + 16, 16) && b.get(left + 16 + 27, 16));
        assert!(
            !b.get(left + 16 + 4, 16 + 4),
            "white ring inside the finder"
        );
        assert!(c_fits(&b));
    }

    fn c_fits(b: &Bitmap) -> bool {
        b.width() == 576 && b.height() < 400
    }

    #[test]
    fn a_payload_too_long_for_qr_is_an_error() {
        let mut c = Canvas::new(PaperWidth::Mm80, 16).unwrap();
        assert_eq!(c.qr(&[b'x'; 5000], 2), Err(RasterError::QrTooLong(5000)));
    }
}
