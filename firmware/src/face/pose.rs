//! Head pose from the five landmarks: enough to ask for a frontal face and
//! to check a head-turn challenge, with no 3-D model.
//!
//! Roll is the angle of the eye line. After undoing it, yaw is the nose's
//! sideways offset from the eyes' midpoint in eye distances (about
//! 0.6·tan(yaw angle): 0 frontal, ±0.25 near 20°), and the pitch ratio is
//! where the nose sits between the eye line (0) and the mouth line (1):
//! about 0.5 frontal, less looking up, more looking down.

use super::{Landmarks, Point};
use serde::Serialize;

/// A head pose estimate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Pose {
    /// Sideways turn, in eye distances: positive when the subject turned to
    /// their own left (the nose moves to the image's right in an unmirrored
    /// camera).
    pub yaw: f32,
    /// Nose height between the eye line (0) and the mouth line (1).
    pub pitch: f32,
    /// Tilt of the eye line in degrees, positive clockwise in the image.
    pub roll_degrees: f32,
}

impl Pose {
    /// The pose of a face, or `None` for degenerate landmarks (eyes on top
    /// of each other, mouth at the eye line).
    pub fn from_landmarks(l: &Landmarks) -> Option<Pose> {
        let eyes = l.right_eye.mid(l.left_eye);
        let dx = l.left_eye.x - l.right_eye.x;
        let dy = l.left_eye.y - l.right_eye.y;
        let eye_distance = dx.hypot(dy);
        if eye_distance.is_nan() || eye_distance < 1.0 {
            return None;
        }
        let roll = dy.atan2(dx);
        let (sin, cos) = (-roll).sin_cos();
        let level = |p: Point| {
            let (x, y) = (p.x - eyes.x, p.y - eyes.y);
            Point::new(x * cos - y * sin, x * sin + y * cos)
        };
        let nose = level(l.nose);
        let mouth = level(l.right_mouth.mid(l.left_mouth));
        if mouth.y.is_nan() || mouth.y <= 1.0 {
            return None;
        }
        let pose = Pose {
            yaw: nose.x / eye_distance,
            pitch: nose.y / mouth.y,
            roll_degrees: roll.to_degrees(),
        };
        (pose.yaw.is_finite() && pose.pitch.is_finite() && pose.roll_degrees.is_finite())
            .then_some(pose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontal face: eyes 60 px apart at y=100, nose 35 px below, mouth 70.
    fn frontal() -> Landmarks {
        Landmarks {
            right_eye: Point::new(100.0, 100.0),
            left_eye: Point::new(160.0, 100.0),
            nose: Point::new(130.0, 135.0),
            right_mouth: Point::new(108.0, 170.0),
            left_mouth: Point::new(152.0, 170.0),
        }
    }

    fn rotate(l: &Landmarks, degrees: f32) -> Landmarks {
        let c = Point::new(130.0, 130.0);
        let (s, co) = degrees.to_radians().sin_cos();
        let r = |p: Point| {
            let (x, y) = (p.x - c.x, p.y - c.y);
            Point::new(c.x + x * co - y * s, c.y + x * s + y * co)
        };
        Landmarks {
            right_eye: r(l.right_eye),
            left_eye: r(l.left_eye),
            nose: r(l.nose),
            right_mouth: r(l.right_mouth),
            left_mouth: r(l.left_mouth),
        }
    }

    #[test]
    fn a_frontal_face_has_no_yaw_and_a_middle_pitch() {
        let p = Pose::from_landmarks(&frontal()).unwrap();
        assert!(p.yaw.abs() < 1e-6);
        assert!((p.pitch - 0.5).abs() < 1e-6);
        assert!(p.roll_degrees.abs() < 1e-6);
    }

    #[test]
    fn turning_left_moves_the_nose_to_the_image_right() {
        let mut l = frontal();
        l.nose.x += 15.0;
        let p = Pose::from_landmarks(&l).unwrap();
        assert!((p.yaw - 0.25).abs() < 1e-6);
    }

    #[test]
    fn roll_is_measured_and_does_not_leak_into_yaw() {
        let mut l = frontal();
        l.nose.x += 15.0;
        let p = Pose::from_landmarks(&rotate(&l, 20.0)).unwrap();
        assert!((p.roll_degrees - 20.0).abs() < 1e-3);
        assert!((p.yaw - 0.25).abs() < 1e-4);
        assert!((p.pitch - 0.5).abs() < 1e-4);
    }

    #[test]
    fn degenerate_landmarks_have_no_pose() {
        let mut l = frontal();
        l.left_eye = l.right_eye;
        assert!(Pose::from_landmarks(&l).is_none());
        let mut l = frontal();
        l.right_mouth.y = 100.0;
        l.left_mouth.y = 100.0;
        assert!(Pose::from_landmarks(&l).is_none());
        let mut l = frontal();
        l.nose.x = f32::NAN;
        assert!(Pose::from_landmarks(&l).is_none());
    }
}
