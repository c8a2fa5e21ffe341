//! BGR images in memory: owned ([`BgrImage`], zeroized on drop) and
//! borrowed ([`ImageView`], e.g. a camera frame's buffer).
//!
//! Only the few pixel operations the face pipeline needs live here (pad,
//! crop, bilinear resize, mirror, luminance); models run in the engine.

use super::FaceError;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A borrowed 8-bit BGR image, row-major, no padding (OpenCV `CV_8UC3`).
#[derive(Clone, Copy)]
pub struct ImageView<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl core::fmt::Debug for ImageView<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ImageView({}×{})", self.width, self.height)
    }
}

impl<'a> ImageView<'a> {
    /// A view of `data`, which must hold exactly `width * height * 3` bytes.
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<ImageView<'a>, FaceError> {
        let expected = width as usize * height as usize * 3;
        if width == 0 || height == 0 || data.len() != expected {
            return Err(FaceError::BadFrame(format!(
                "{width}×{height} BGR needs {expected} bytes, got {}",
                data.len()
            )));
        }
        Ok(ImageView {
            width,
            height,
            data,
        })
    }

    /// A view of a camera frame (BGR frames as they are; grey frames are
    /// refused here and converted by [`BgrImage::from_frame`]).
    pub fn from_frame(frame: &'a kiosk_hal::camera::Frame) -> Result<ImageView<'a>, FaceError> {
        match frame.pixel_format {
            Some(kiosk_hal::camera::PixelFormat::Bgr8) => {
                ImageView::new(frame.width, frame.height, &frame.data)
            }
            other => Err(FaceError::BadFrame(format!(
                "pixel format {other:?} is not BGR"
            ))),
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    fn px(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// A copy of the rectangle at (`x`, `y`) of `w`×`h`, clipped to the image;
    /// `None` when nothing is left.
    pub fn crop(&self, x: i64, y: i64, w: u32, h: u32) -> Option<BgrImage> {
        let x0 = x.clamp(0, i64::from(self.width));
        let y0 = y.clamp(0, i64::from(self.height));
        let x1 = (x + i64::from(w)).clamp(0, i64::from(self.width));
        let y1 = (y + i64::from(h)).clamp(0, i64::from(self.height));
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let (x0, y0, x1, y1) = (x0 as usize, y0 as usize, x1 as usize, y1 as usize);
        let row = self.width as usize * 3;
        let mut data = Vec::with_capacity((x1 - x0) * (y1 - y0) * 3);
        for y in y0..y1 {
            data.extend_from_slice(&self.data[y * row + x0 * 3..y * row + x1 * 3]);
        }
        Some(BgrImage {
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
            data,
        })
    }

    /// The image with `border` pixels of the colour `bgr` added on every
    /// side.
    pub fn framed(&self, border: u32, bgr: [u8; 3]) -> BgrImage {
        let mut out = BgrImage::filled(self.width + 2 * border, self.height + 2 * border, bgr);
        out.paste(*self, i64::from(border), i64::from(border));
        out
    }

    /// The mean colour of the outermost rows and columns.
    pub fn edge_colour(&self) -> [u8; 3] {
        let mut sum = [0u64; 3];
        let mut n = 0u64;
        for y in 0..self.height {
            for x in 0..self.width {
                if x == 0 || y == 0 || x + 1 == self.width || y + 1 == self.height {
                    let p = self.px(x, y);
                    for c in 0..3 {
                        sum[c] += u64::from(p[c]);
                    }
                    n += 1;
                }
            }
        }
        sum.map(|s| (s / n.max(1)) as u8)
    }

    /// The image with `border` pixels added on every side, repeating the
    /// edge pixels.
    pub fn padded(&self, border: u32) -> BgrImage {
        let w = self.width + 2 * border;
        let h = self.height + 2 * border;
        let mut data = Vec::with_capacity(w as usize * h as usize * 3);
        for y in 0..h {
            let sy = y.saturating_sub(border).min(self.height - 1);
            for x in 0..w {
                let sx = x.saturating_sub(border).min(self.width - 1);
                data.extend_from_slice(&self.px(sx, sy));
            }
        }
        BgrImage {
            width: w,
            height: h,
            data,
        }
    }

    /// The image resized to `w`×`h` with bilinear interpolation (pixel
    /// centres aligned, as OpenCV's `INTER_LINEAR`).
    pub fn resized(&self, w: u32, h: u32) -> BgrImage {
        let (w, h) = (w.max(1), h.max(1));
        let sx = self.width as f32 / w as f32;
        let sy = self.height as f32 / h as f32;
        let mut data = Vec::with_capacity(w as usize * h as usize * 3);
        let max_x = (self.width - 1) as f32;
        let max_y = (self.height - 1) as f32;
        for y in 0..h {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, max_y);
            let y0 = fy.floor() as u32;
            let y1 = (y0 + 1).min(self.height - 1);
            let ty = fy - y0 as f32;
            for x in 0..w {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, max_x);
                let x0 = fx.floor() as u32;
                let x1 = (x0 + 1).min(self.width - 1);
                let tx = fx - x0 as f32;
                let (a, b, c, d) = (
                    self.px(x0, y0),
                    self.px(x1, y0),
                    self.px(x0, y1),
                    self.px(x1, y1),
                );
                for ch in 0..3 {
                    let top = f32::from(a[ch]) * (1.0 - tx) + f32::from(b[ch]) * tx;
                    let bottom = f32::from(c[ch]) * (1.0 - tx) + f32::from(d[ch]) * tx;
                    let v = top * (1.0 - ty) + bottom * ty;
                    data.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        BgrImage {
            width: w,
            height: h,
            data,
        }
    }

    /// The image mirrored left to right.
    pub fn mirrored(&self) -> BgrImage {
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..self.height {
            for x in (0..self.width).rev() {
                data.extend_from_slice(&self.px(x, y));
            }
        }
        BgrImage {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// Luminance (ITU-R BT.601 weights), one byte per pixel.
    pub fn luma(&self) -> Vec<u8> {
        self.data
            .chunks_exact(3)
            .map(|p| {
                let v = 0.114 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.299 * f32::from(p[2]);
                v.round().clamp(0.0, 255.0) as u8
            })
            .collect()
    }
}

/// An owned 8-bit BGR image. It may be a face: zeroized on drop, never
/// printed (its `Debug` shows the size only).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BgrImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl core::fmt::Debug for BgrImage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "BgrImage({}×{})", self.width, self.height)
    }
}

impl BgrImage {
    /// An image from its pixels (`width * height * 3` bytes).
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<BgrImage, FaceError> {
        ImageView::new(width, height, &data)?;
        Ok(BgrImage {
            width,
            height,
            data,
        })
    }

    /// A BGR copy of a camera frame (grey frames are expanded).
    pub fn from_frame(frame: &kiosk_hal::camera::Frame) -> Result<BgrImage, FaceError> {
        use kiosk_hal::camera::PixelFormat;
        match frame.pixel_format {
            Some(PixelFormat::Bgr8) => BgrImage::new(frame.width, frame.height, frame.data.clone()),
            Some(PixelFormat::Gray8) => {
                let expected = frame.width as usize * frame.height as usize;
                if frame.data.len() != expected {
                    return Err(FaceError::BadFrame(format!(
                        "{}×{} grey needs {expected} bytes, got {}",
                        frame.width,
                        frame.height,
                        frame.data.len()
                    )));
                }
                let data = frame.data.iter().flat_map(|&v| [v, v, v]).collect();
                BgrImage::new(frame.width, frame.height, data)
            }
            _ => Err(FaceError::BadFrame("unknown pixel format".into())),
        }
    }

    /// A borrowed view.
    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            width: self.width,
            height: self.height,
            data: &self.data,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Moves the image into a camera frame (for the simulator and tests).
    pub fn into_frame(self, sequence: u64) -> kiosk_hal::camera::Frame {
        kiosk_hal::camera::Frame {
            width: self.width,
            height: self.height,
            pixel_format: Some(kiosk_hal::camera::PixelFormat::Bgr8),
            sequence,
            data: self.data.clone(),
        }
    }

    /// Copies `src` onto this image with its top-left corner at (`x`, `y`),
    /// clipped to the image.
    pub fn paste(&mut self, src: ImageView<'_>, x: i64, y: i64) {
        for sy in 0..src.height {
            let ty = y + i64::from(sy);
            if ty < 0 || ty >= i64::from(self.height) {
                continue;
            }
            for sx in 0..src.width {
                let tx = x + i64::from(sx);
                if tx < 0 || tx >= i64::from(self.width) {
                    continue;
                }
                let t = (ty as usize * self.width as usize + tx as usize) * 3;
                self.data[t..t + 3].copy_from_slice(&src.px(sx, sy));
            }
        }
    }

    /// A uniform image.
    pub fn filled(width: u32, height: u32, bgr: [u8; 3]) -> BgrImage {
        let data = std::iter::repeat_n(bgr, width as usize * height as usize)
            .flatten()
            .collect();
        BgrImage {
            width: width.max(1),
            height: height.max(1),
            data,
        }
    }
}

/// Whether a JPEG 2000 codestream (raw, or inside a JP2 file) has a
/// component sampled at less than full resolution: its SIZ marker segment
/// (ISO/IEC 15444-1 §A.5.1) gives XRsiz/YRsiz above 1. OpenCV cannot decode
/// those; OpenJPEG can. Safe on any bytes (chip data is untrusted).
pub fn j2k_subsampled(data: &[u8]) -> bool {
    // SOC then SIZ: FF 4F FF 51, at the start of every codestream.
    let Some(at) = data.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51]) else {
        return false;
    };
    let siz = &data[at + 4..];
    // Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz(4 each) Csiz(2)
    let Some(csiz) = siz
        .get(36..38)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    else {
        return false;
    };
    (0..csiz).any(|c| {
        let at = 38 + 3 * c;
        matches!(siz.get(at + 1..at + 3), Some([x, y]) if *x > 1 || *y > 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn siz(comps: &[(u8, u8)]) -> Vec<u8> {
        let mut v = vec![0xFF, 0x4F, 0xFF, 0x51];
        let lsiz = 38 + 3 * comps.len() as u16;
        v.extend_from_slice(&lsiz.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&[0; 32]);
        v.extend_from_slice(&(comps.len() as u16).to_be_bytes());
        for (x, y) in comps {
            v.extend_from_slice(&[7, *x, *y]);
        }
        v
    }

    #[test]
    fn subsampled_components_are_found_in_the_siz_marker() {
        assert!(!j2k_subsampled(&siz(&[(1, 1), (1, 1), (1, 1)])));
        assert!(j2k_subsampled(&siz(&[(1, 1), (2, 2), (2, 2)])));
        let mut jp2 = b"\0\0\0\x0cjP  \r\n\x87\n....jp2c".to_vec();
        jp2.extend(siz(&[(1, 1), (2, 1), (2, 1)]));
        assert!(j2k_subsampled(&jp2));
        assert!(
            !j2k_subsampled(&siz(&[(1, 1), (2, 2)])[..45]),
            "truncated: no claim"
        );
        assert!(!j2k_subsampled(b"not a codestream"));
    }

    fn ramp(w: u32, h: u32) -> BgrImage {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[x as u8, y as u8, (x + y) as u8]);
            }
        }
        BgrImage::new(w, h, data).unwrap()
    }

    #[test]
    fn a_view_with_the_wrong_length_is_refused() {
        assert!(ImageView::new(2, 2, &[0; 11]).is_err());
        assert!(ImageView::new(0, 2, &[]).is_err());
        assert!(ImageView::new(2, 2, &[0; 12]).is_ok());
    }

    #[test]
    fn padding_repeats_the_edges() {
        let img = ramp(3, 2);
        let p = img.view().padded(2);
        assert_eq!((p.width(), p.height()), (7, 6));
        assert_eq!(p.view().px(0, 0), img.view().px(0, 0));
        assert_eq!(p.view().px(6, 5), img.view().px(2, 1));
        assert_eq!(p.view().px(3, 2), img.view().px(1, 0));
    }

    #[test]
    fn framing_adds_a_uniform_border_of_the_edge_colour() {
        let img = BgrImage::filled(4, 3, [9, 8, 7]);
        assert_eq!(img.view().edge_colour(), [9, 8, 7]);
        let f = img.view().framed(2, [1, 2, 3]);
        assert_eq!((f.width(), f.height()), (8, 7));
        assert_eq!(f.view().px(0, 0), [1, 2, 3]);
        assert_eq!(f.view().px(2, 2), [9, 8, 7]);
    }

    #[test]
    fn crops_are_clipped_and_empty_crops_are_none() {
        let img = ramp(10, 10);
        let c = img.view().crop(-2, 8, 5, 5).unwrap();
        assert_eq!((c.width(), c.height()), (3, 2));
        assert_eq!(c.view().px(0, 0), img.view().px(0, 8));
        assert!(img.view().crop(20, 0, 5, 5).is_none());
    }

    #[test]
    fn resizing_a_uniform_image_keeps_its_colour() {
        let img = BgrImage::filled(7, 5, [10, 20, 30]);
        let r = img.view().resized(13, 3);
        assert_eq!((r.width(), r.height()), (13, 3));
        assert!(r.data().chunks(3).all(|p| p == [10, 20, 30]));
    }

    #[test]
    fn mirroring_twice_is_the_identity() {
        let img = ramp(5, 4);
        let m = img.view().mirrored();
        assert_eq!(m.view().px(0, 0), img.view().px(4, 0));
        assert_eq!(m.view().mirrored(), img);
    }

    #[test]
    fn grey_frames_are_expanded_to_bgr() {
        let frame = kiosk_hal::camera::Frame {
            width: 2,
            height: 1,
            pixel_format: Some(kiosk_hal::camera::PixelFormat::Gray8),
            sequence: 0,
            data: vec![7, 9],
        };
        let img = BgrImage::from_frame(&frame).unwrap();
        assert_eq!(img.data(), &[7, 7, 7, 9, 9, 9]);
        assert!(ImageView::from_frame(&frame).is_err());
    }

    #[test]
    fn debug_never_shows_pixels() {
        let img = ramp(3, 3);
        assert_eq!(format!("{img:?}"), "BgrImage(3×3)");
    }
}
