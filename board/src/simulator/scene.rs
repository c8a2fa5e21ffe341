//! Camera scenes for the simulator: what the kiosk's camera would see, made
//! from a text or from photos, for scenarios (`show_card_qr`,
//! `face_scene`), tests and `kioskctl bench qr`.
//!
//! - [`card_qr_frames`]: a citizen holds the card's QR up to the camera:
//!   a card-like white rectangle (security-print tint, a photo block, text
//!   lines, the QR code), scaled, slightly rotated and moving a little from
//!   frame to frame, in a 640 × 480 frame of a dim counter, with a thumb
//!   on the card, soft focus, uneven light and sensor noise.
//! - [`camera_frame`] and [`citizen_turning`]: a face photo composed into a
//!   640 × 480 frame at a chosen eye distance, and the frames of a citizen
//!   who follows the head-turn challenge (straight, right, straight, left,
//!   straight, so whichever side is asked the loop shows it).
//!
//! Everything is deterministic (noise from a fixed seed per frame), so a
//! scenario plays the same every time. The photos are public test
//! fixtures; the frames stay in memory.

use kiosk_firmware::face::{BgrImage, Detection, FaceEngine, FaceError};
use kiosk_hal::camera::Frame;

/// The camera's frame size.
pub const FRAME_WIDTH: u32 = 640;
/// The camera's frame size.
pub const FRAME_HEIGHT: u32 = 480;

/// Why a scene cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// The text does not fit in a QR code. Remedy: a shorter text.
    #[error("the text does not fit in a QR code: {0}")]
    Qr(String),
    /// No face in the photo. Remedy: another photo.
    #[error("no face in the photo")]
    NoFace,
    /// The face engine failed.
    #[error(transparent)]
    Engine(#[from] FaceError),
}

/// How the card is held up to the camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CardQrScene {
    /// The QR code's text.
    pub text: String,
    /// The side of the QR symbol (without its quiet zone) in frame pixels.
    pub size_px: f32,
    /// The card's rotation in degrees (clockwise).
    pub rotation_deg: f32,
    /// Blur: passes of a 3 × 3 box filter (0: sharp).
    pub blur: u8,
    /// Sensor noise: the largest change of a channel, in levels.
    pub noise: u8,
    /// Uneven light: how much darker the far corner is (0–1).
    pub light: f32,
}

impl CardQrScene {
    /// The card held square to the camera, the QR 150 px wide, noisy and
    /// unevenly lit (what the decoder reads reliably today; turned and
    /// blurred cards are read only in some frames).
    pub fn new(text: impl Into<String>) -> CardQrScene {
        CardQrScene {
            text: text.into(),
            size_px: 150.0,
            rotation_deg: 0.0,
            blur: 0,
            noise: 8,
            light: 0.35,
        }
    }
}

/// A small deterministic generator (xorshift64*), for noise and jitter.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1].
    fn signed(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// `n` frames of `scene`, each moved and turned a little (a hand is never
/// still), each with its own noise.
pub fn card_qr_frames(scene: &CardQrScene, n: usize) -> Result<Vec<Frame>, SceneError> {
    (0..n)
        .map(|i| card_qr_frame(scene, i as u64).map(|img| img.into_frame(i as u64)))
        .collect()
}

/// One frame of `scene`; `seed` moves the hand and draws the noise.
pub fn card_qr_frame(scene: &CardQrScene, seed: u64) -> Result<BgrImage, SceneError> {
    let code =
        qrcode::QrCode::new(scene.text.as_bytes()).map_err(|e| SceneError::Qr(e.to_string()))?;
    let n = code.width();
    let modules = code.to_colors();
    let mut rng = Rng::new(seed + 1);
    let qr = scene.size_px.max(1.0);
    // The card: 85.6 × 54 mm; the QR takes about 37 % of its width.
    let card_w = qr * 2.7;
    let card_h = card_w / 1.586;
    let qr_x = card_w - qr - 0.07 * card_w;
    let qr_y = 0.11 * card_h;
    let corner = 0.04 * card_w;
    let jitter = if seed == 0 { 0.0 } else { 1.0 };
    let (cx, cy) = (
        FRAME_WIDTH as f32 * 0.5 + 2.0 * jitter * rng.signed(),
        FRAME_HEIGHT as f32 * 0.52 + 2.0 * jitter * rng.signed(),
    );
    let angle = (scene.rotation_deg + 0.6 * jitter * rng.signed()).to_radians();
    let (sin, cos) = angle.sin_cos();
    let module = qr / n as f32;

    // What the card shows at (u, v) in card pixels, BGR.
    let card_at = |u: f32, v: f32| -> Option<[f32; 3]> {
        if u < 0.0 || v < 0.0 || u >= card_w || v >= card_h {
            return None;
        }
        // Rounded corners.
        let dx = (corner - u).max(u - (card_w - corner)).max(0.0);
        let dy = (corner - v).max(v - (card_h - corner)).max(0.0);
        if dx * dx + dy * dy > corner * corner {
            return None;
        }
        if u >= qr_x && v >= qr_y && u < qr_x + qr && v < qr_y + qr {
            let mx = ((u - qr_x) / module) as usize;
            let my = ((v - qr_y) / module) as usize;
            let dark = modules
                .get(my.min(n - 1) * n + mx.min(n - 1))
                .is_some_and(|c| *c == qrcode::Color::Dark);
            return Some(if dark {
                [38.0, 34.0, 30.0]
            } else {
                [236.0, 240.0, 242.0]
            });
        }
        // The photo block and text lines of the card's face, left of the QR
        // and clear of its quiet zone.
        let text_end = qr_x - 6.0 * module;
        if u > 0.05 * card_w && u < 0.27 * card_w && v > 0.28 * card_h && v < 0.85 * card_h {
            return Some([150.0, 146.0, 152.0]);
        }
        if u > 0.31 * card_w && u < text_end {
            let row = (v / card_h - 0.2) / 0.11;
            if (0.0..6.0).contains(&row) && row.fract() < 0.38 {
                return Some([90.0, 80.0, 70.0]);
            }
        }
        // Security print: a faint wave pattern on a pale blue-green.
        let wave = ((u * 0.09).sin() * (v * 0.07).cos()) * 5.0;
        Some([228.0 + wave, 232.0 + wave, 226.0 + wave])
    };

    let (w, h) = (FRAME_WIDTH as usize, FRAME_HEIGHT as usize);
    let mut px = vec![0f32; w * h * 3];
    // Two by two samples per pixel: the edges are smooth as in a lens.
    let offsets = [
        (-0.25f32, -0.25f32),
        (0.25, -0.25),
        (-0.25, 0.25),
        (0.25, 0.25),
    ];
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0f32; 3];
            for (ox, oy) in offsets {
                let (fx, fy) = (x as f32 + 0.5 + ox - cx, y as f32 + 0.5 + oy - cy);
                // Frame → card: undo the rotation about the card's centre.
                let u = cos * fx + sin * fy + card_w / 2.0;
                let v = -sin * fx + cos * fy + card_h / 2.0;
                let thumb = {
                    let (tu, tv) = (
                        (u - 0.1 * card_w) / (0.13 * card_w),
                        (v - card_h) / (0.2 * card_h),
                    );
                    tu * tu + tv * tv < 1.0
                };
                let c = if thumb {
                    [120.0, 150.0, 196.0]
                } else {
                    card_at(u, v).unwrap_or_else(|| {
                        // A dim counter and wall behind the card.
                        let t = y as f32 / h as f32;
                        [70.0 + 30.0 * t, 78.0 + 28.0 * t, 88.0 + 20.0 * t]
                    })
                };
                for (s, v) in sum.iter_mut().zip(c) {
                    *s += v / 4.0;
                }
            }
            px[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&sum);
        }
    }
    for _ in 0..scene.blur {
        px = box_blur(&px, w, h);
    }
    let light = scene.light.clamp(0.0, 1.0);
    let noise = f32::from(scene.noise);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            // Brighter at the top left (a ceiling light), darker away.
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let gain = 1.0 - light * (0.65 * fx + 0.35 * fy * fy);
            for ch in 0..3 {
                let v = px[(y * w + x) * 3 + ch] * gain + noise * rng.signed();
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    Ok(BgrImage::new(FRAME_WIDTH, FRAME_HEIGHT, out)?)
}

fn box_blur(px: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; px.len()];
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0f32; 3];
            let mut n = 0.0;
            for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let i = (yy * w + xx) * 3;
                    sum[0] += px[i];
                    sum[1] += px[i + 1];
                    sum[2] += px[i + 2];
                    n += 1.0;
                }
            }
            let o = (y * w + x) * 3;
            out[o] = sum[0] / n;
            out[o + 1] = sum[1] / n;
            out[o + 2] = sum[2] / n;
        }
    }
    out
}

/// The largest face of an image.
pub fn main_face<E: FaceEngine + ?Sized>(
    engine: &mut E,
    img: &BgrImage,
) -> Result<Detection, SceneError> {
    engine
        .detect(img.view())?
        .into_iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        .ok_or(SceneError::NoFace)
}

/// A 640 × 480 camera frame showing the face of `img` with its eyes'
/// midpoint at (`cx`, `cy`) and `eye_distance` pixels between the eyes,
/// in front of a plain wall.
pub fn camera_frame<E: FaceEngine + ?Sized>(
    engine: &mut E,
    img: &BgrImage,
    eye_distance: f32,
    cx: f32,
    cy: f32,
) -> Result<BgrImage, SceneError> {
    let face = main_face(engine, img)?;
    let s = eye_distance / face.landmarks.eye_distance();
    let w = ((img.width() as f32 * s).round() as u32).max(1);
    let h = ((img.height() as f32 * s).round() as u32).max(1);
    let small = img.view().resized(w, h);
    let eyes = face.landmarks.right_eye.mid(face.landmarks.left_eye);
    let mut frame = BgrImage::filled(FRAME_WIDTH, FRAME_HEIGHT, [120, 130, 140]);
    frame.paste(
        small.view(),
        (cx - eyes.x * s).round() as i64,
        (cy - eyes.y * s).round() as i64,
    );
    Ok(frame)
}

/// A citizen at the camera who looks straight, turns right, looks
/// straight, turns left, looks straight: `frontal` is a photo of them
/// looking straight, `turned` one with the head turned (mirrored for the
/// other side). Fifteen frames, the head drifting a pixel a frame.
pub fn citizen_turning<E: FaceEngine + ?Sized>(
    engine: &mut E,
    frontal: &BgrImage,
    turned: &BgrImage,
) -> Result<Vec<BgrImage>, SceneError> {
    let mirrored = turned.view().mirrored();
    let mut frames = Vec::new();
    for (img, eye) in [
        (frontal, 64.0),
        (turned, 62.0),
        (frontal, 64.0),
        (&mirrored, 62.0),
        (frontal, 64.0),
    ] {
        for i in 0..3 {
            frames.push(camera_frame(engine, img, eye, 318.0 + i as f32, 200.0)?);
        }
    }
    Ok(frames)
}

/// Camera frames from images.
pub fn into_frames(images: Vec<BgrImage>) -> Vec<Frame> {
    images
        .into_iter()
        .enumerate()
        .map(|(i, f)| f.into_frame(i as u64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::cccd::scan::{GreyView, decode, luma};

    const QR_2021: &str =
        "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

    fn read(img: &BgrImage) -> Vec<String> {
        let grey = luma(img.view());
        decode(GreyView::new(img.width(), img.height(), &grey).unwrap())
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect()
    }

    #[test]
    fn the_default_card_scene_is_read_back() {
        let img = card_qr_frame(&CardQrScene::new(QR_2021), 3).unwrap();
        assert_eq!((img.width(), img.height()), (640, 480));
        assert_eq!(read(&img), [QR_2021]);
    }

    #[test]
    fn frames_differ_from_one_another_like_a_held_card() {
        let frames = card_qr_frames(&CardQrScene::new(QR_2021), 3).unwrap();
        assert_eq!(frames.len(), 3);
        assert_ne!(frames[0].data, frames[1].data);
        assert_eq!(frames[2].sequence, 2);
    }

    #[test]
    fn a_text_too_long_for_a_qr_code_is_refused() {
        let long = "x".repeat(8000);
        assert!(matches!(
            card_qr_frame(&CardQrScene::new(long), 0),
            Err(SceneError::Qr(_))
        ));
    }
}
