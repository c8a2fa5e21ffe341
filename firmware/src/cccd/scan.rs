//! The card QR read by the kiosk's camera: QR codes decoded from a camera
//! frame ([`decode`]) and the policy that turns those texts into an access
//! key ([`CardQrScanner`]). Sans-IO: frames in, texts out; the runtime
//! owns the camera and the pace.
//!
//! The decoder is `rqrr` (a pure-Rust port of quirc: adaptive threshold,
//! finder patterns, perspective grid, Reed–Solomon correction) on the
//! frame's luminance. Of the pure-Rust decoders it is the small one already
//! used by this project's tests; `rxing` (a port of ZXing) reads more
//! symbologies than the kiosk needs at many times the code size, and
//! `bardecoder` is unmaintained.
//!
//! The policy (reference `icao-cccd.md` §B.4): only a text that parses as
//! a card QR ([`CardQr::parse`]: 7 fields on the 2021 CCCD, 10 or more on
//! the 2024 card) is taken, and only once it was read in
//! [`ScanPolicy::confirmations`] frames, so one misread frame never opens
//! a read. Any other QR (a VNeID or bank code, a receipt) is ignored and
//! counted, never logged. The QR is unsigned: it only builds the chip's
//! access key. A text already handed over is not handed over again until
//! the code has left the camera's view, so a card whose key was refused
//! is not tried over and over while it stays in front of the camera.
//!
//! Privacy: the texts are personal data (name, ID number, address). They
//! live in [`Zeroizing`] buffers, and so does the luminance copy of the
//! frame; the decoder's own working image is dropped with the call.

use super::qr::CardQr;
use crate::face::ImageView;
use zeroize::Zeroizing;

/// A borrowed 8-bit greyscale image, row-major, no padding.
#[derive(Clone, Copy)]
pub struct GreyView<'a> {
    width: u32,
    height: u32,
    data: &'a [u8],
}

impl core::fmt::Debug for GreyView<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GreyView({}×{})", self.width, self.height)
    }
}

/// Why pixels cannot be scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The buffer does not hold `width × height` pixels of the stated
    /// format, or the frame's format is unknown. Remedy: a camera backend
    /// bug; the frame is skipped.
    #[error("{width}×{height} {format} needs {expected} bytes, got {got}")]
    BadFrame {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The pixel format's name.
        format: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
}

impl<'a> GreyView<'a> {
    /// A view of `data`, which must hold exactly `width * height` bytes.
    pub fn new(width: u32, height: u32, data: &'a [u8]) -> Result<GreyView<'a>, ScanError> {
        let expected = width as usize * height as usize;
        if width == 0 || height == 0 || data.len() != expected {
            return Err(ScanError::BadFrame {
                width,
                height,
                format: "grey",
                expected,
                got: data.len(),
            });
        }
        Ok(GreyView {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
}

/// The luminance of a BGR image (BT.601 weights in fixed point), zeroized
/// on drop.
pub fn luma(image: ImageView<'_>) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        image.width() as usize * image.height() as usize,
    ));
    out.extend(image.data().chunks_exact(3).map(|p| {
        // 0.114 B + 0.587 G + 0.299 R, in 1/1024ths.
        let v = 117 * u32::from(p[0]) + 601 * u32::from(p[1]) + 306 * u32::from(p[2]);
        ((v + 512) >> 10).min(255) as u8
    }));
    out
}

/// Every QR code readable in `image`, as text (UTF-8 byte mode, as the
/// card's QR is written). Codes that are found but do not decode (blur,
/// damage, not UTF-8) are left out; an image without a code gives nothing.
pub fn decode(image: GreyView<'_>) -> Vec<Zeroizing<String>> {
    let (w, h) = (image.width as usize, image.height as usize);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| image.data[y * w + x]);
    let mut texts = Vec::new();
    for grid in prepared.detect_grids() {
        let mut bytes = Zeroizing::new(Vec::new());
        if grid.decode_to(&mut *bytes).is_err() {
            continue;
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            texts.push(Zeroizing::new(text.to_owned()));
        }
    }
    texts
}

/// Every QR code readable in a camera frame (BGR or grey).
pub fn decode_frame(frame: &kiosk_hal::camera::Frame) -> Result<Vec<Zeroizing<String>>, ScanError> {
    use kiosk_hal::camera::PixelFormat;
    match frame.pixel_format {
        Some(PixelFormat::Gray8) => Ok(decode(GreyView::new(
            frame.width,
            frame.height,
            &frame.data,
        )?)),
        Some(PixelFormat::Bgr8) => {
            let view = ImageView::new(frame.width, frame.height, &frame.data).map_err(|_| {
                ScanError::BadFrame {
                    width: frame.width,
                    height: frame.height,
                    format: "BGR",
                    expected: frame.width as usize * frame.height as usize * 3,
                    got: frame.data.len(),
                }
            })?;
            let grey = luma(view);
            Ok(decode(GreyView::new(frame.width, frame.height, &grey)?))
        }
        _ => Err(ScanError::BadFrame {
            width: frame.width,
            height: frame.height,
            format: "unknown format",
            expected: 0,
            got: frame.data.len(),
        }),
    }
}

/// How sure the scanner must be before it hands a text over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPolicy {
    /// Frames in which the same card QR must be read (at least 1).
    pub confirmations: u8,
    /// Frames without any card QR after which a candidate is forgotten and
    /// a text already handed over may be handed over again.
    pub forget_after: u8,
}

impl Default for ScanPolicy {
    fn default() -> Self {
        ScanPolicy {
            confirmations: 2,
            forget_after: 3,
        }
    }
}

/// What the scanner saw, for the log and staff statistics: counts only,
/// never a text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanStats {
    /// Frames looked at.
    pub frames: u64,
    /// Frames in which a card QR was read.
    pub card_reads: u64,
    /// QR codes read that are not a card QR (ignored).
    pub ignored: u64,
    /// Texts handed over as access keys.
    pub accepted: u64,
}

/// The policy between the decoder and the session: see the module
/// documentation.
#[derive(Debug, Default)]
pub struct CardQrScanner {
    policy: ScanPolicy,
    candidate: Option<(Zeroizing<String>, u8)>,
    handed_over: Option<Zeroizing<String>>,
    absent: u8,
    stats: ScanStats,
}

impl CardQrScanner {
    /// A scanner with `policy`.
    pub fn new(policy: ScanPolicy) -> CardQrScanner {
        CardQrScanner {
            policy,
            ..CardQrScanner::default()
        }
    }

    /// The texts decoded from one frame; returns the card QR to use as the
    /// access key once it is sure of one.
    pub fn observe(&mut self, texts: &[Zeroizing<String>]) -> Option<Zeroizing<String>> {
        self.stats.frames += 1;
        let mut card: Option<&Zeroizing<String>> = None;
        for text in texts {
            if CardQr::parse(text).is_ok() {
                card = card.or(Some(text));
            } else {
                self.stats.ignored += 1;
            }
        }
        let Some(text) = card else {
            self.absent = self.absent.saturating_add(1);
            if self.absent >= self.policy.forget_after {
                self.candidate = None;
                self.handed_over = None;
            }
            return None;
        };
        self.absent = 0;
        self.stats.card_reads += 1;
        if self.handed_over.as_ref().is_some_and(|h| **h == **text) {
            return None;
        }
        let seen = match &self.candidate {
            Some((c, n)) if **c == **text => n.saturating_add(1),
            _ => 1,
        };
        if seen >= self.policy.confirmations.max(1) {
            self.candidate = None;
            self.handed_over = Some(text.clone());
            self.stats.accepted += 1;
            Some(text.clone())
        } else {
            self.candidate = Some((text.clone(), seen));
            None
        }
    }

    /// Counts since the last [`CardQrScanner::reset`].
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    /// Forgets every text (the journey ended) and the counts.
    pub fn reset(&mut self) {
        *self = CardQrScanner::new(self.policy);
    }

    /// Whether it holds a text of a card.
    pub fn holds_personal_data(&self) -> bool {
        self.candidate.is_some() || self.handed_over.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QR_2021: &str =
        "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

    fn texts(t: &[&str]) -> Vec<Zeroizing<String>> {
        t.iter().map(|s| Zeroizing::new((*s).to_owned())).collect()
    }

    /// A QR code drawn straight into a grey image: `module` pixels per
    /// module, a 4-module quiet zone, on a white page.
    fn drawn(text: &str, module: usize) -> (u32, u32, Vec<u8>) {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let n = code.width();
        let colors = code.to_colors();
        let side = (n + 8) * module;
        let mut px = vec![255u8; side * side];
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = ((x / module) as isize - 4, (y / module) as isize - 4);
                if mx >= 0
                    && my >= 0
                    && (mx as usize) < n
                    && (my as usize) < n
                    && colors[my as usize * n + mx as usize] == qrcode::Color::Dark
                {
                    px[y * side + x] = 0;
                }
            }
        }
        (side as u32, side as u32, px)
    }

    #[test]
    fn a_drawn_card_qr_decodes_to_its_text_with_diacritics() {
        let (w, h, px) = drawn(QR_2021, 4);
        let got = decode(GreyView::new(w, h, &px).unwrap());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_str(), QR_2021);
    }

    #[test]
    fn a_blank_image_decodes_to_nothing() {
        let px = vec![200u8; 64 * 48];
        assert!(decode(GreyView::new(64, 48, &px).unwrap()).is_empty());
    }

    #[test]
    fn luminance_weighs_green_most_and_keeps_grey() {
        let bgr = [0, 255, 0, 255, 0, 0, 90, 90, 90];
        let view = ImageView::new(3, 1, &bgr).unwrap();
        let y = luma(view);
        assert_eq!(y[1], 29, "blue");
        assert_eq!(y[0], 150, "green");
        assert_eq!(y[2], 90, "grey stays grey");
    }

    #[test]
    fn frames_of_the_wrong_size_or_format_are_refused() {
        let mut frame = kiosk_hal::camera::Frame {
            width: 4,
            height: 4,
            pixel_format: Some(kiosk_hal::camera::PixelFormat::Bgr8),
            sequence: 0,
            data: vec![0; 47],
        };
        assert!(matches!(
            decode_frame(&frame),
            Err(ScanError::BadFrame { expected: 48, .. })
        ));
        frame.pixel_format = None;
        assert!(decode_frame(&frame).is_err());
        frame.pixel_format = Some(kiosk_hal::camera::PixelFormat::Gray8);
        frame.data = vec![255; 16];
        assert_eq!(decode_frame(&frame).unwrap().len(), 0);
    }

    #[test]
    fn a_card_qr_is_handed_over_once_seen_in_two_frames() {
        let mut s = CardQrScanner::new(ScanPolicy::default());
        assert_eq!(s.observe(&texts(&[QR_2021])), None);
        assert_eq!(
            s.observe(&texts(&[QR_2021])).as_deref().map(String::as_str),
            Some(QR_2021)
        );
        assert_eq!(s.stats().accepted, 1);
        assert!(s.holds_personal_data());
        s.reset();
        assert!(!s.holds_personal_data());
        assert_eq!(s.stats(), ScanStats::default());
    }

    #[test]
    fn a_misread_that_changes_the_text_starts_the_count_again() {
        let mut s = CardQrScanner::new(ScanPolicy::default());
        let other = QR_2021.replace("003090000001", "003090000002");
        assert_eq!(s.observe(&texts(&[QR_2021])), None);
        assert_eq!(s.observe(&texts(&[&other])), None);
        assert_eq!(s.observe(&texts(&[QR_2021])), None);
        assert!(s.observe(&texts(&[QR_2021])).is_some());
    }

    #[test]
    fn other_qr_codes_are_ignored_and_counted() {
        let mut s = CardQrScanner::new(ScanPolicy::default());
        for _ in 0..3 {
            assert_eq!(
                s.observe(&texts(&["https://vneid.gov.vn/x", "A001|B|C"])),
                None
            );
        }
        let stats = s.stats();
        assert_eq!((stats.frames, stats.ignored, stats.card_reads), (3, 6, 0));
        assert!(!s.holds_personal_data());
    }

    #[test]
    fn a_handed_over_text_comes_again_only_after_it_left_the_view() {
        let mut s = CardQrScanner::new(ScanPolicy {
            confirmations: 1,
            forget_after: 2,
        });
        assert!(s.observe(&texts(&[QR_2021])).is_some());
        assert_eq!(s.observe(&texts(&[QR_2021])), None, "still in view");
        assert_eq!(s.observe(&[]), None);
        assert_eq!(
            s.observe(&texts(&[QR_2021])),
            None,
            "one frame away is not enough"
        );
        assert_eq!(s.observe(&[]), None);
        assert_eq!(s.observe(&[]), None);
        assert!(s.observe(&texts(&[QR_2021])).is_some(), "shown again");
    }

    #[test]
    fn a_2024_card_qr_with_more_fields_is_taken() {
        let qr_2024 = "003155000002|155000002|Trần Thị Mẫu|20031955|Nữ|Thôn Mẫu, Xã Mẫu|10082024|Thôn Mẫu, Xã Mẫu||Trần Văn Cha|Lê Thị Mẹ";
        let mut s = CardQrScanner::new(ScanPolicy::default());
        s.observe(&texts(&[qr_2024]));
        assert!(s.observe(&texts(&[qr_2024])).is_some());
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_judged_without_panicking(t in "\\PC{0,120}") {
            let mut s = CardQrScanner::new(ScanPolicy::default());
            let _ = s.observe(&texts(&[&t]));
        }
    }
}
