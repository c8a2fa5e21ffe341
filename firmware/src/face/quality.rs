//! Per-frame quality gates: a frame is used for matching only when it shows
//! one face, large and sharp enough, well lit and looking at the camera
//! (the capture conditions of ISO/IEC 19794-5 §7 and ISO/IEC 29794-5,
//! reduced to what five landmarks and a 112×112 crop can tell).
//!
//! Every failed gate names what the citizen should do ([`QualityIssue`]),
//! which the UI shows as guidance ("move closer", "hold still").

use super::pose::Pose;
use super::{BgrImage, Detection};
use serde::{Deserialize, Serialize};

/// Measurements of one face in one frame. No pixels: safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Quality {
    /// Distance between the eyes, in frame pixels.
    pub eye_distance_px: f32,
    /// Face box width over frame width.
    pub face_fraction: f32,
    /// Detector confidence.
    pub detector_score: f32,
    /// Variance of the Laplacian of the aligned crop's luminance (higher is
    /// sharper; motion blur and defocus bring it down).
    pub sharpness: f32,
    /// Mean luminance of the aligned crop, 0–255.
    pub brightness: f32,
    /// Standard deviation of the aligned crop's luminance.
    pub contrast: f32,
    /// Head pose.
    pub pose: Pose,
}

/// What keeps a frame from being used, and so what the citizen should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssue {
    /// No face in the frame: "look at the camera".
    NoFace,
    /// More than one face: "only one person, please".
    SeveralFaces,
    /// The face is too small: "come closer".
    TooFar,
    /// The face fills the frame: "move back a little".
    TooClose,
    /// The detector is unsure (partly hidden face, mask, hand).
    Uncertain,
    /// Blurred: "hold still".
    Blurred,
    /// Too dark.
    TooDark,
    /// Too bright or washed out.
    TooBright,
    /// Turned away, or looking up or down: "look straight at the camera".
    NotFrontal,
    /// Head tilted sideways.
    Tilted,
}

/// The gate values. Defaults suit a 640×480 camera at arm's length; boards
/// may tune them in the `[face]` table of their configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityGates {
    /// Minimum eye distance in frame pixels.
    pub min_eye_distance_px: f32,
    /// Maximum face box width over frame width.
    pub max_face_fraction: f32,
    /// Minimum detector score.
    pub min_detector_score: f32,
    /// Minimum Laplacian variance of the aligned crop.
    pub min_sharpness: f32,
    /// Lowest mean luminance.
    pub min_brightness: f32,
    /// Highest mean luminance.
    pub max_brightness: f32,
    /// Lowest luminance standard deviation (a flat, washed-out face).
    pub min_contrast: f32,
    /// Largest |yaw| (eye distances) for a frontal frame.
    pub max_yaw: f32,
    /// Pitch ratio range for a frontal frame.
    pub pitch_range: (f32, f32),
    /// Largest |roll| in degrees.
    pub max_roll_degrees: f32,
    /// Another face at least this fraction of the main face's box area
    /// counts as a second person (small faces far behind do not).
    pub second_face_area: f32,
}

impl Default for QualityGates {
    fn default() -> Self {
        QualityGates {
            min_eye_distance_px: 28.0,
            max_face_fraction: 0.85,
            min_detector_score: 0.75,
            min_sharpness: 20.0,
            min_brightness: 50.0,
            max_brightness: 215.0,
            min_contrast: 12.0,
            max_yaw: 0.18,
            pitch_range: (0.25, 0.8),
            max_roll_degrees: 20.0,
            second_face_area: 0.3,
        }
    }
}

impl QualityGates {
    /// The first gate the face fails regardless of pose, if any (pose is
    /// judged separately: the head-turn challenge wants turned frames).
    pub fn check_capture(&self, q: &Quality) -> Option<QualityIssue> {
        if q.eye_distance_px < self.min_eye_distance_px {
            Some(QualityIssue::TooFar)
        } else if q.face_fraction > self.max_face_fraction {
            Some(QualityIssue::TooClose)
        } else if q.detector_score < self.min_detector_score {
            Some(QualityIssue::Uncertain)
        } else if q.brightness < self.min_brightness {
            Some(QualityIssue::TooDark)
        } else if q.brightness > self.max_brightness || q.contrast < self.min_contrast {
            Some(QualityIssue::TooBright)
        } else if q.sharpness < self.min_sharpness {
            Some(QualityIssue::Blurred)
        } else if q.pose.roll_degrees.abs() > self.max_roll_degrees {
            Some(QualityIssue::Tilted)
        } else {
            None
        }
    }

    /// Whether the pose is frontal enough for matching.
    pub fn check_frontal(&self, pose: &Pose) -> Option<QualityIssue> {
        let (lo, hi) = self.pitch_range;
        if pose.yaw.abs() > self.max_yaw || pose.pitch < lo || pose.pitch > hi {
            Some(QualityIssue::NotFrontal)
        } else {
            None
        }
    }

    /// How many of `faces` count as people in front of the kiosk: the
    /// largest, and those at least `second_face_area` of its size.
    pub fn people(&self, faces: &[Detection]) -> usize {
        let largest = faces.iter().map(|f| f.bbox.area()).fold(0.0f32, f32::max);
        faces
            .iter()
            .filter(|f| largest > 0.0 && f.bbox.area() >= largest * self.second_face_area)
            .count()
    }
}

/// Measures a face: `aligned` is the recogniser's crop, `face` the
/// detection in a `frame_width`-pixel-wide frame.
pub fn measure(aligned: &BgrImage, face: &Detection, pose: Pose, frame_width: u32) -> Quality {
    let luma = aligned.view().luma();
    let (w, h) = (aligned.width() as usize, aligned.height() as usize);
    let (brightness, contrast) = mean_std(luma.iter().map(|&v| f32::from(v)));
    Quality {
        eye_distance_px: face.landmarks.eye_distance(),
        face_fraction: face.bbox.width / frame_width.max(1) as f32,
        detector_score: face.score,
        sharpness: laplacian_variance(&luma, w, h),
        brightness,
        contrast,
        pose,
    }
}

fn mean_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let (mut n, mut sum, mut sq) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        let v = f64::from(v);
        n += 1.0;
        sum += v;
        sq += v * v;
    }
    if n == 0.0 {
        return (0.0, 0.0);
    }
    let mean = sum / n;
    let var = (sq / n - mean * mean).max(0.0);
    (mean as f32, var.sqrt() as f32)
}

/// Variance of the 4-neighbour Laplacian over the inner part of a
/// `w`×`h` luminance image (an eighth of each side is left out, so the
/// background at the crop's corners does not count).
pub fn laplacian_variance(luma: &[u8], w: usize, h: usize) -> f32 {
    if w < 3 || h < 3 || luma.len() != w * h {
        return 0.0;
    }
    let (mx, my) = ((w / 8).max(1), (h / 8).max(1));
    let at = |x: usize, y: usize| f32::from(luma[y * w + x]);
    let mut values = Vec::with_capacity(w * h);
    for y in my..h - my {
        for x in mx..w - mx {
            let l = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y);
            values.push(l);
        }
    }
    let (_, std) = mean_std(values.iter().copied());
    std * std
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Quality {
        Quality {
            eye_distance_px: 60.0,
            face_fraction: 0.3,
            detector_score: 0.92,
            sharpness: 150.0,
            brightness: 120.0,
            contrast: 40.0,
            pose: Pose {
                yaw: 0.02,
                pitch: 0.5,
                roll_degrees: 2.0,
            },
        }
    }

    #[test]
    fn a_good_frame_passes_every_gate() {
        let g = QualityGates::default();
        assert_eq!(g.check_capture(&good()), None);
        assert_eq!(g.check_frontal(&good().pose), None);
    }

    #[test]
    fn each_gate_names_what_to_do() {
        let g = QualityGates::default();
        type Spoil = fn(&mut Quality);
        let cases: [(Spoil, QualityIssue); 7] = [
            (|q| q.eye_distance_px = 12.0, QualityIssue::TooFar),
            (|q| q.face_fraction = 0.95, QualityIssue::TooClose),
            (|q| q.detector_score = 0.5, QualityIssue::Uncertain),
            (|q| q.brightness = 20.0, QualityIssue::TooDark),
            (|q| q.contrast = 3.0, QualityIssue::TooBright),
            (|q| q.sharpness = 2.0, QualityIssue::Blurred),
            (|q| q.pose.roll_degrees = -35.0, QualityIssue::Tilted),
        ];
        for (spoil, issue) in cases {
            let mut q = good();
            spoil(&mut q);
            assert_eq!(g.check_capture(&q), Some(issue));
        }
        let mut q = good();
        q.pose.yaw = 0.3;
        assert_eq!(g.check_capture(&q), None, "pose is judged apart");
        assert_eq!(g.check_frontal(&q.pose), Some(QualityIssue::NotFrontal));
        q.pose.yaw = 0.0;
        q.pose.pitch = 0.9;
        assert_eq!(g.check_frontal(&q.pose), Some(QualityIssue::NotFrontal));
    }

    #[test]
    fn small_faces_far_behind_are_not_a_second_person() {
        let face = |size: f32| Detection {
            bbox: crate::face::Rect {
                x: 0.0,
                y: 0.0,
                width: size,
                height: size,
            },
            ..Detection::default()
        };
        let g = QualityGates::default();
        assert_eq!(g.people(&[face(200.0), face(60.0)]), 1);
        assert_eq!(g.people(&[face(200.0), face(150.0)]), 2);
        assert_eq!(g.people(&[]), 0);
    }

    #[test]
    fn blur_lowers_the_laplacian_variance() {
        let (w, h) = (64, 64);
        let sharp: Vec<u8> = (0..w * h)
            .map(|i| {
                if (i % w / 4 + i / w / 4) % 2 == 0 {
                    40
                } else {
                    200
                }
            })
            .collect();
        let mut blurred = sharp.clone();
        for _ in 0..4 {
            let src = blurred.clone();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let s: u32 = [(0, 0), (1, 0), (0, 1), (2, 1), (1, 2)]
                        .iter()
                        .map(|(dx, dy)| u32::from(src[(y + dy - 1) * w + x + dx - 1]))
                        .sum::<u32>()
                        + u32::from(src[y * w + x]) * 3;
                    blurred[y * w + x] = (s / 8) as u8;
                }
            }
        }
        let a = laplacian_variance(&sharp, w, h);
        let b = laplacian_variance(&blurred, w, h);
        assert!(a > 4.0 * b, "sharp {a} vs blurred {b}");
        assert_eq!(laplacian_variance(&[1, 2], 2, 1), 0.0);
    }
}
