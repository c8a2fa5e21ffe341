//! Decoding the raw outputs of the YuNet face detector (2023mar, OpenCV
//! Zoo `face_detection_yunet`), so that it runs through a plain `dnn::Net`.
//!
//! Debian bookworm's OpenCV 4.6 cannot run the 2023mar graph through
//! `cv::FaceDetectorYN` (that needs 4.8), and the decoding below is what
//! 4.8's `FaceDetectorYN` does, so the same code runs on both.
//!
//! The graph takes a 1×3×H×W BGR blob (values 0–255, H and W multiples of
//! 32; the shipped file is fixed at 640×640) and gives, for each stride s in
//! {8, 16, 32}, four tensors over the (H/s)×(W/s) grid of anchor points:
//! `cls_s` (N×1), `obj_s` (N×1), `bbox_s` (N×4: dx, dy, log w, log h) and
//! `kps_s` (N×10: five landmark offsets). For the anchor at (row, col):
//!
//! - score = sqrt(clamp(cls, 0, 1) · clamp(obj, 0, 1))
//! - box centre = ((col + dx)·s, (row + dy)·s), size = (e^dw·s, e^dh·s)
//! - landmark k = ((col + kx_k)·s, (row + ky_k)·s)
//!
//! then non-maximum suppression on the boxes.

use super::{Detection, Landmarks, Point, Rect};

/// The strides of YuNet's three heads.
pub const STRIDES: [u32; 3] = [8, 16, 32];

/// The output tensor names, in the order [`Outputs`] expects them.
pub const OUTPUT_NAMES: [&str; 12] = [
    "cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32",
    "kps_8", "kps_16", "kps_32",
];

/// The side of the shipped 2023mar graph's square input.
pub const INPUT_SIZE: u32 = 640;

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeConfig {
    /// Anchors scoring below this are dropped (OpenCV's default 0.9 is for
    /// demos; a kiosk camera wants faces found early and judged by the
    /// quality gates).
    pub score_threshold: f32,
    /// Boxes overlapping a better one by more than this IoU are dropped.
    pub nms_threshold: f32,
    /// At most this many faces are kept.
    pub top_k: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            score_threshold: 0.6,
            nms_threshold: 0.3,
            top_k: 50,
        }
    }
}

/// The twelve output tensors of one forward pass, flattened, by head.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `cls_8`, `cls_16`, `cls_32`.
    pub cls: [Vec<f32>; 3],
    /// `obj_8`, `obj_16`, `obj_32`.
    pub obj: [Vec<f32>; 3],
    /// `bbox_8`, `bbox_16`, `bbox_32`.
    pub bbox: [Vec<f32>; 3],
    /// `kps_8`, `kps_16`, `kps_32`.
    pub kps: [Vec<f32>; 3],
}

/// Why the outputs cannot be decoded: the graph is not the one we expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("YuNet output {head} has {got} values, expected {expected} for a {width}×{height} input")]
pub struct ShapeError {
    /// The tensor.
    pub head: &'static str,
    /// Its length.
    pub got: usize,
    /// The expected length.
    pub expected: usize,
    /// Input width.
    pub width: u32,
    /// Input height.
    pub height: u32,
}

/// Decodes the outputs of a forward pass on a `width`×`height` input into
/// detections in input pixels, best first.
pub fn decode(
    outputs: &Outputs,
    width: u32,
    height: u32,
    config: &DecodeConfig,
) -> Result<Vec<Detection>, ShapeError> {
    let mut found = Vec::new();
    for (i, &s) in STRIDES.iter().enumerate() {
        let cols = (width / s) as usize;
        let rows = (height / s) as usize;
        let n = cols * rows;
        for (head, values, per) in [
            (OUTPUT_NAMES[i], &outputs.cls[i], 1),
            (OUTPUT_NAMES[3 + i], &outputs.obj[i], 1),
            (OUTPUT_NAMES[6 + i], &outputs.bbox[i], 4),
            (OUTPUT_NAMES[9 + i], &outputs.kps[i], 10),
        ] {
            if values.len() != n * per {
                return Err(ShapeError {
                    head,
                    got: values.len(),
                    expected: n * per,
                    width,
                    height,
                });
            }
        }
        let s = s as f32;
        for row in 0..rows {
            for col in 0..cols {
                let idx = row * cols + col;
                let cls = outputs.cls[i][idx].clamp(0.0, 1.0);
                let obj = outputs.obj[i][idx].clamp(0.0, 1.0);
                let score = (cls * obj).sqrt();
                if score.is_nan() || score < config.score_threshold {
                    continue;
                }
                let b = &outputs.bbox[i][idx * 4..idx * 4 + 4];
                let cx = (col as f32 + b[0]) * s;
                let cy = (row as f32 + b[1]) * s;
                let w = b[2].exp() * s;
                let h = b[3].exp() * s;
                if !(w.is_finite() && h.is_finite()) {
                    continue;
                }
                let k = &outputs.kps[i][idx * 10..idx * 10 + 10];
                let p = |j: usize| {
                    Point::new((col as f32 + k[2 * j]) * s, (row as f32 + k[2 * j + 1]) * s)
                };
                found.push(Detection {
                    bbox: Rect {
                        x: cx - w / 2.0,
                        y: cy - h / 2.0,
                        width: w,
                        height: h,
                    },
                    landmarks: Landmarks {
                        right_eye: p(0),
                        left_eye: p(1),
                        nose: p(2),
                        right_mouth: p(3),
                        left_mouth: p(4),
                    },
                    score,
                });
            }
        }
    }
    Ok(nms(found, config.nms_threshold, config.top_k))
}

/// Greedy non-maximum suppression: best score first, dropping boxes that
/// overlap a kept one by more than `iou`.
pub fn nms(mut faces: Vec<Detection>, iou: f32, top_k: usize) -> Vec<Detection> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for f in faces {
        if kept.len() >= top_k {
            break;
        }
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou) {
            kept.push(f);
        }
    }
    kept
}

/// How an image is fitted into the detector's square input: scaled by
/// `scale` (never up) and placed at the top-left, the rest zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Input pixels per image pixel.
    pub scale: f32,
    /// The scaled image's width.
    pub width: u32,
    /// The scaled image's height.
    pub height: u32,
}

impl Letterbox {
    /// The fit of a `width`×`height` image into a `side`×`side` input:
    /// scaled down to fit, never up.
    pub fn fit(width: u32, height: u32, side: u32) -> Letterbox {
        let w = width.max(1) as f32;
        let h = height.max(1) as f32;
        let scale = (side as f32 / w).min(side as f32 / h).min(1.0);
        Letterbox {
            scale,
            width: ((w * scale).round() as u32).clamp(1, side),
            height: ((h * scale).round() as u32).clamp(1, side),
        }
    }

    /// Maps a detection from input pixels back to image pixels.
    pub fn unmap(&self, d: &Detection) -> Detection {
        d.scaled(1.0 / self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(width: u32, height: u32) -> Outputs {
        let mut o = Outputs::default();
        for (i, &s) in STRIDES.iter().enumerate() {
            let n = ((width / s) * (height / s)) as usize;
            o.cls[i] = vec![0.0; n];
            o.obj[i] = vec![0.0; n];
            o.bbox[i] = vec![0.0; n * 4];
            o.kps[i] = vec![0.0; n * 10];
        }
        o
    }

    fn put(o: &mut Outputs, head: usize, idx: usize, score: f32, size_log: f32) {
        o.cls[head][idx] = score;
        o.obj[head][idx] = score;
        o.bbox[head][idx * 4..idx * 4 + 4].copy_from_slice(&[0.5, 0.25, size_log, size_log]);
        for j in 0..5 {
            o.kps[head][idx * 10 + 2 * j] = j as f32 * 0.1;
            o.kps[head][idx * 10 + 2 * j + 1] = -(j as f32) * 0.1;
        }
    }

    #[test]
    fn an_anchor_decodes_to_a_box_and_landmarks_in_input_pixels() {
        let mut o = empty(64, 64);
        // Stride 16 grid is 4×4: anchor (row 2, col 1) is index 9.
        put(&mut o, 1, 9, 0.9, 1.0f32.ln() + 2.0f32.ln());
        let d = decode(&o, 64, 64, &DecodeConfig::default()).unwrap();
        assert_eq!(d.len(), 1);
        let f = d[0];
        assert!((f.score - 0.9).abs() < 1e-6);
        // centre ((1 + 0.5)·16, (2 + 0.25)·16) = (24, 36); size 2·16 = 32.
        assert!((f.bbox.width - 32.0).abs() < 1e-3);
        assert!((f.bbox.x - 8.0).abs() < 1e-3);
        assert!((f.bbox.y - 20.0).abs() < 1e-3);
        assert_eq!(f.landmarks.right_eye, Point::new(16.0, 32.0));
        assert!((f.landmarks.left_mouth.x - (1.4 * 16.0)).abs() < 1e-3);
        assert!((f.landmarks.left_mouth.y - (1.6 * 16.0)).abs() < 1e-3);
    }

    #[test]
    fn low_scores_are_dropped_and_scores_are_clamped() {
        let mut o = empty(32, 32);
        put(&mut o, 0, 0, 0.5, 0.0);
        o.cls[0][1] = 7.0; // out of range: clamped to 1
        o.obj[0][1] = -3.0; // clamped to 0
        assert!(
            decode(&o, 32, 32, &DecodeConfig::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn overlapping_boxes_keep_the_best_one() {
        let mut o = empty(64, 64);
        put(&mut o, 0, 9, 0.8, 2.0);
        put(&mut o, 0, 10, 0.95, 2.0);
        put(&mut o, 2, 3, 0.7, 0.0); // far away: kept
        let d = decode(&o, 64, 64, &DecodeConfig::default()).unwrap();
        assert_eq!(d.len(), 2);
        assert!((d[0].score - 0.95).abs() < 1e-6);
        assert!((d[1].score - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_graph_of_another_shape_is_a_typed_error() {
        let mut o = empty(64, 64);
        o.kps[2].pop();
        let e = decode(&o, 64, 64, &DecodeConfig::default()).unwrap_err();
        assert_eq!(e.head, "kps_32");
    }

    #[test]
    fn the_letterbox_fits_large_images_and_never_enlarges() {
        let camera = Letterbox::fit(640, 480, 640);
        assert_eq!((camera.width, camera.height), (640, 480));
        let big = Letterbox::fit(2000, 3000, 640);
        assert!(big.height <= 640 && big.width <= 640);
        let small = Letterbox::fit(200, 250, 640);
        assert_eq!(small.scale, 1.0);
        let d = Detection {
            bbox: Rect {
                x: 10.0,
                y: 20.0,
                width: 30.0,
                height: 40.0,
            },
            ..Detection::default()
        };
        let back = big.unmap(&d);
        assert!((back.bbox.x * big.scale - 10.0).abs() < 1e-3);
    }
}
