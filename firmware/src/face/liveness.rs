//! Liveness: is the face in front of the camera a live person?
//!
//! Two checks, combined by [`LivenessPolicy`]:
//!
//! - **Active challenge** ([`Challenge`]): the kiosk asks for a head turn
//!   to a side drawn at random for each attempt (the runtime passes the
//!   draw in; nothing here is random). The citizen looks straight, turns to
//!   the asked side, and looks straight again, while one face stays in view
//!   and moves smoothly. A printed photo or a still screen cannot turn: its
//!   landmarks keep their geometry when tilted or moved (a tilted print
//!   changes the yaw ratio by far less than a real turn of ~20°).
//!   Blinking is not offered: YuNet's five landmarks carry no eyelid.
//! - **Passive score**: MiniFASNet V2 (crop 2.7×) and V1SE (4.0×), the
//!   Silent-Face models, give a probability of "real" per frame; the
//!   median over the attempt's usable frames must reach a threshold. It
//!   runs only when both model files are configured.
//!
//! With both configured, both must pass. With neither, the kiosk cannot
//! tell a photo from a person, so a board config that disables both is
//! refused (`liveness.active = false` needs the passive models).
//!
//! **Missing model files** ([`LivenessPolicy::admit`]): before each
//! attempt the policy is asked whether a check may start with the passive
//! models the engine actually has. When the configuration requires passive
//! liveness ([`PassiveRequirement::Required`]) and a MiniFASNet file is
//! missing, or when no liveness check at all would run, the attempt is
//! refused with a typed [`LivenessRefusal`] (the runtime hands the citizen
//! to staff) — never a silent downgrade to a weaker check.

use super::Detection;
use super::pose::Pose;
use serde::{Deserialize, Serialize};

/// The side the citizen is asked to turn to (their own side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnDirection {
    /// Turn to your left.
    Left,
    /// Turn to your right.
    Right,
}

impl TurnDirection {
    /// The direction for a random byte (the runtime draws it).
    pub fn from_random(byte: u8) -> TurnDirection {
        if byte & 1 == 0 {
            TurnDirection::Left
        } else {
            TurnDirection::Right
        }
    }

    fn sign(self) -> f32 {
        match self {
            TurnDirection::Left => 1.0,
            TurnDirection::Right => -1.0,
        }
    }
}

/// Settings of the active challenge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengeConfig {
    /// Yaw (eye distances, see [`Pose`]) that counts as turned.
    pub turn_yaw: f32,
    /// Yaw below which the face counts as looking straight.
    pub frontal_yaw: f32,
    /// Consecutive turned frames needed.
    pub turned_frames: u32,
    /// The camera delivers mirrored frames (the subject's left on the
    /// image's left).
    pub mirrored: bool,
    /// Largest jump of the face centre between consecutive frames, in face
    /// widths; a larger one means the face was swapped and restarts the
    /// challenge.
    pub max_jump: f32,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            turn_yaw: 0.16,
            frontal_yaw: 0.1,
            turned_frames: 2,
            mirrored: false,
            max_jump: 0.6,
        }
    }
}

/// Where a challenge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeState {
    /// Waiting for a frontal face to start from.
    ExpectFrontal,
    /// Waiting for the turn.
    ExpectTurn,
    /// Turned: waiting for the face to come back to the camera.
    ExpectReturn,
    /// Done.
    Passed,
}

/// The head-turn challenge of one attempt.
#[derive(Debug, Clone)]
pub struct Challenge {
    config: ChallengeConfig,
    direction: TurnDirection,
    state: ChallengeState,
    turned: u32,
    last: Option<Detection>,
    /// The largest yaw seen in the asked direction (for the decision log).
    peak_yaw: f32,
}

impl Challenge {
    /// A challenge asking for a turn to `direction`.
    pub fn new(config: ChallengeConfig, direction: TurnDirection) -> Challenge {
        Challenge {
            config,
            direction,
            state: ChallengeState::ExpectFrontal,
            turned: 0,
            last: None,
            peak_yaw: 0.0,
        }
    }

    /// The asked direction.
    pub fn direction(&self) -> TurnDirection {
        self.direction
    }

    /// Where it stands.
    pub fn state(&self) -> ChallengeState {
        self.state
    }

    /// Whether it is done.
    pub fn passed(&self) -> bool {
        self.state == ChallengeState::Passed
    }

    /// The largest yaw seen toward the asked side.
    pub fn peak_yaw(&self) -> f32 {
        self.peak_yaw
    }

    /// Feeds one frame: `face` is the single person's face (`None` when the
    /// frame had no face or several), `pose` its pose.
    pub fn observe(&mut self, face: Option<(&Detection, Pose)>) {
        if self.passed() {
            return;
        }
        let Some((face, pose)) = face else {
            // Lost the face: start over from a frontal view.
            self.restart();
            return;
        };
        if let Some(last) = &self.last {
            let jump = last.bbox.centre().distance(face.bbox.centre());
            if jump > self.config.max_jump * last.bbox.width.max(1.0) {
                self.restart();
            }
        }
        self.last = Some(*face);
        let mirror = if self.config.mirrored { -1.0 } else { 1.0 };
        let toward = pose.yaw * mirror * self.direction.sign();
        self.peak_yaw = self.peak_yaw.max(toward);
        match self.state {
            ChallengeState::ExpectFrontal => {
                if pose.yaw.abs() <= self.config.frontal_yaw {
                    self.state = ChallengeState::ExpectTurn;
                }
            }
            ChallengeState::ExpectTurn => {
                if toward >= self.config.turn_yaw {
                    self.turned += 1;
                    if self.turned >= self.config.turned_frames {
                        self.state = ChallengeState::ExpectReturn;
                    }
                } else {
                    self.turned = 0;
                }
            }
            ChallengeState::ExpectReturn => {
                if pose.yaw.abs() <= self.config.frontal_yaw {
                    self.state = ChallengeState::Passed;
                }
            }
            ChallengeState::Passed => {}
        }
    }

    fn restart(&mut self) {
        self.state = ChallengeState::ExpectFrontal;
        self.turned = 0;
        self.last = None;
    }
}

/// How the liveness checks combine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LivenessPolicy {
    /// Ask for a head turn.
    pub active: bool,
    /// The active challenge's settings.
    pub challenge: ChallengeConfig,
    /// The median passive "real" probability needed, when the passive models
    /// are loaded.
    pub passive_threshold: f32,
}

impl Default for LivenessPolicy {
    fn default() -> Self {
        LivenessPolicy {
            active: true,
            challenge: ChallengeConfig::default(),
            passive_threshold: 0.5,
        }
    }
}

/// What the configuration asks of the passive models
/// (`face.passive_liveness` in the board configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassiveRequirement {
    /// Every face check needs them: without them no check starts.
    #[default]
    Required,
    /// Used when both files are there; without them the head turn alone
    /// decides (an explicit choice of the configuration, reported by
    /// `kioskctl doctor` and the staff panel).
    Auto,
    /// Not used.
    Off,
}

/// Why the liveness policy refuses to start a face check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LivenessRefusal {
    /// The configuration requires passive liveness, but these model files
    /// (file names only) were not loaded. Remedy: run `cargo xtask setup`,
    /// or install the verified files into the model folder, and restart.
    #[error("passive liveness is required but its model files are missing: {}", .missing.join(", "))]
    PassiveModelsMissing {
        /// The missing files' names.
        missing: Vec<String>,
    },
    /// Neither the head turn nor the passive models would run, so nothing
    /// tells a live face from a photo. Remedy: turn the head-turn challenge
    /// on, or install the passive model files.
    #[error(
        "no liveness check would run: the head turn is off and the passive models are not loaded"
    )]
    NoLivenessCheck,
}

impl LivenessPolicy {
    /// Whether a face check may start, given what the configuration asks of
    /// the passive models and which of their files the engine lacks
    /// (`missing_passive` empty: both loaded). Fails closed: a required
    /// model that is missing, or no liveness check at all, refuses.
    pub fn admit(
        &self,
        requirement: PassiveRequirement,
        missing_passive: &[String],
    ) -> Result<(), LivenessRefusal> {
        let passive_runs = match requirement {
            PassiveRequirement::Off => false,
            PassiveRequirement::Auto => missing_passive.is_empty(),
            PassiveRequirement::Required => {
                if !missing_passive.is_empty() {
                    return Err(LivenessRefusal::PassiveModelsMissing {
                        missing: missing_passive.to_vec(),
                    });
                }
                true
            }
        };
        if !passive_runs && !self.active {
            return Err(LivenessRefusal::NoLivenessCheck);
        }
        Ok(())
    }
}

/// The median of `values` (`None` when empty).
pub fn median(values: &[f32]) -> Option<f32> {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing_v2() -> Vec<String> {
        vec!["MiniFASNetV2.onnx".to_string()]
    }

    #[test]
    fn a_required_passive_model_that_is_missing_refuses_the_check_and_names_it() {
        let policy = LivenessPolicy::default();
        let refusal = policy
            .admit(PassiveRequirement::Required, &missing_v2())
            .unwrap_err();
        assert_eq!(
            refusal,
            LivenessRefusal::PassiveModelsMissing {
                missing: missing_v2()
            }
        );
        assert!(refusal.to_string().contains("MiniFASNetV2.onnx"));
    }

    #[test]
    fn a_required_passive_model_that_is_loaded_admits_the_check() {
        let policy = LivenessPolicy::default();
        assert_eq!(policy.admit(PassiveRequirement::Required, &[]), Ok(()));
    }

    #[test]
    fn auto_without_the_passive_models_runs_on_the_head_turn_only_when_it_is_on() {
        let mut policy = LivenessPolicy::default();
        assert_eq!(
            policy.admit(PassiveRequirement::Auto, &missing_v2()),
            Ok(())
        );
        policy.active = false;
        assert_eq!(
            policy.admit(PassiveRequirement::Auto, &missing_v2()),
            Err(LivenessRefusal::NoLivenessCheck)
        );
        assert_eq!(policy.admit(PassiveRequirement::Auto, &[]), Ok(()));
    }

    #[test]
    fn passive_off_and_head_turn_off_refuses_every_check() {
        let policy = LivenessPolicy {
            active: false,
            ..LivenessPolicy::default()
        };
        assert_eq!(
            policy.admit(PassiveRequirement::Off, &[]),
            Err(LivenessRefusal::NoLivenessCheck)
        );
    }
    use crate::face::Rect;

    fn face_at(x: f32) -> Detection {
        Detection {
            bbox: Rect {
                x,
                y: 100.0,
                width: 150.0,
                height: 180.0,
            },
            ..Detection::default()
        }
    }

    fn pose(yaw: f32) -> Pose {
        Pose {
            yaw,
            pitch: 0.5,
            roll_degrees: 0.0,
        }
    }

    fn run(c: &mut Challenge, yaws: &[f32]) {
        for &y in yaws {
            c.observe(Some((&face_at(200.0 + y * 40.0), pose(y))));
        }
    }

    #[test]
    fn straight_turn_straight_passes() {
        let mut c = Challenge::new(ChallengeConfig::default(), TurnDirection::Left);
        run(&mut c, &[0.0, 0.1, 0.22, 0.3, 0.15, 0.05]);
        assert!(c.passed());
        assert!((c.peak_yaw() - 0.3).abs() < 1e-6);
    }

    #[test]
    fn turning_to_the_wrong_side_does_not_pass() {
        let mut c = Challenge::new(ChallengeConfig::default(), TurnDirection::Right);
        run(&mut c, &[0.0, 0.25, 0.3, 0.3, 0.0]);
        assert_eq!(c.state(), ChallengeState::ExpectTurn);
        run(&mut c, &[-0.25, -0.3, 0.0]);
        assert!(c.passed());
    }

    #[test]
    fn a_still_face_never_passes() {
        let mut c = Challenge::new(ChallengeConfig::default(), TurnDirection::Left);
        run(&mut c, &[0.03; 50]);
        assert_eq!(c.state(), ChallengeState::ExpectTurn);
        assert!(!c.passed());
    }

    #[test]
    fn a_single_turned_frame_is_not_enough() {
        let mut c = Challenge::new(ChallengeConfig::default(), TurnDirection::Left);
        run(&mut c, &[0.0, 0.3, 0.0, 0.3, 0.0]);
        assert!(!c.passed());
    }

    #[test]
    fn losing_or_swapping_the_face_restarts() {
        let mut c = Challenge::new(ChallengeConfig::default(), TurnDirection::Left);
        run(&mut c, &[0.0, 0.3, 0.3]);
        assert_eq!(c.state(), ChallengeState::ExpectReturn);
        c.observe(None);
        assert_eq!(c.state(), ChallengeState::ExpectFrontal);
        run(&mut c, &[0.0, 0.3, 0.3]);
        // A face far away in the next frame is another face.
        c.observe(Some((&face_at(600.0), pose(0.0))));
        assert_eq!(c.state(), ChallengeState::ExpectTurn);
    }

    #[test]
    fn a_mirrored_camera_flips_the_sides() {
        let config = ChallengeConfig {
            mirrored: true,
            ..ChallengeConfig::default()
        };
        let mut c = Challenge::new(config, TurnDirection::Left);
        run(&mut c, &[0.0, -0.25, -0.25, 0.0]);
        assert!(c.passed());
    }

    #[test]
    fn the_median_ignores_nan_and_handles_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f32::NAN]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn random_bytes_pick_both_sides() {
        assert_eq!(TurnDirection::from_random(0), TurnDirection::Left);
        assert_eq!(TurnDirection::from_random(1), TurnDirection::Right);
    }
}
