//! One face-check attempt as a sans-IO machine (DESIGN.md §2).
//!
//! The runtime captures a frame, turns it into an
//! [`Observation`](super::analysis::Observation) with the engine, and hands
//! it in with `now`; the machine answers with guidance for the screen and,
//! in the end, a [`Decision`]. It never reads a clock: its deadline is a
//! timestamp the runtime waits for ([`FaceCheck::poll_timeout`]).
//!
//! The decision, in order:
//! 1. No usable frontal frame → [`Outcome::NoFace`].
//! 2. The score — the median of the best three similarities among the
//!    usable frontal frames (best-of-N, robust to one lucky frame) — below
//!    the threshold → [`Outcome::NoMatch`]. With `best_of` frames in hand
//!    and a score this low the attempt ends at once.
//! 3. Liveness (see [`super::liveness`]): the head turn not completed, or
//!    the median passive score below its threshold → [`Outcome::LivenessFailed`].
//! 4. Otherwise [`Outcome::Match`].
//!
//! Retries (up to the session's `face_attempts`, 3) and the hand-over to
//! staff belong to the session; this machine is one attempt.

use super::Rect;
use super::analysis::Observation;
use super::liveness::{Challenge, ChallengeState, LivenessPolicy, TurnDirection, median};
use super::quality::{Quality, QualityGates, QualityIssue};
use crate::time::Timestamp;
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// Settings of a face check. Board configurations set them in `[face]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    /// Cosine-similarity threshold for a match (SFace). Calibrate with
    /// `kioskctl face eval`; the shipped value is the one measured for a
    /// false-match rate of 1e-3 or better on the test pairs.
    pub threshold: f32,
    /// Usable frontal frames to collect before deciding.
    pub best_of: usize,
    /// How long one attempt may take, in milliseconds.
    pub attempt_ms: u64,
    /// Quality gates.
    pub gates: QualityGates,
    /// Liveness.
    pub liveness: LivenessPolicy,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            threshold: 0.42,
            best_of: 5,
            attempt_ms: 20_000,
            gates: QualityGates::default(),
            liveness: LivenessPolicy::default(),
        }
    }
}

/// What the screen should tell the citizen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// No face: look at the camera.
    LookAtCamera,
    /// Several faces: only one person, please.
    OnlyOnePerson,
    /// Come closer.
    MoveCloser,
    /// Move back a little.
    MoveBack,
    /// Keep still (blurred).
    HoldStill,
    /// Too dark: come into the light.
    MoreLight,
    /// Too bright or washed out.
    LessLight,
    /// Look straight at the camera.
    LookStraight,
    /// Keep the head level.
    StraightenHead,
    /// Turn your head to the given side.
    Turn(TurnDirection),
    /// All good: keep looking at the camera.
    Good,
}

impl From<QualityIssue> for Hint {
    fn from(issue: QualityIssue) -> Hint {
        match issue {
            QualityIssue::NoFace | QualityIssue::Uncertain => Hint::LookAtCamera,
            QualityIssue::SeveralFaces => Hint::OnlyOnePerson,
            QualityIssue::TooFar => Hint::MoveCloser,
            QualityIssue::TooClose => Hint::MoveBack,
            QualityIssue::Blurred => Hint::HoldStill,
            QualityIssue::TooDark => Hint::MoreLight,
            QualityIssue::TooBright => Hint::LessLight,
            QualityIssue::NotFrontal => Hint::LookStraight,
            QualityIssue::Tilted => Hint::StraightenHead,
        }
    }
}

/// Guidance for the face-capture screen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Guidance {
    /// What to say.
    pub hint: Hint,
    /// The face box in frame fractions (0..1), for the on-screen guide.
    pub face_box: Option<Rect>,
    /// How far the attempt has come, 0..=1.
    pub progress: f32,
}

/// The result of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Same person, live.
    Match,
    /// A usable face that is not the holder's.
    NoMatch,
    /// A matching face that failed liveness.
    LivenessFailed,
    /// No usable face before the deadline.
    NoFace,
}

/// The decision, with what it was based on. No pixels and no embeddings:
/// this is what the kiosk logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The outcome.
    pub outcome: Outcome,
    /// The match score (see the module docs), when there was a usable frame.
    pub score: Option<f32>,
    /// The threshold it was compared with.
    pub threshold: f32,
    /// Frames seen.
    pub frames_seen: u32,
    /// Frames that passed the capture gates.
    pub frames_usable: u32,
    /// Usable frames that were also frontal (the ones scored).
    pub frames_scored: u32,
    /// The head-turn challenge, when asked.
    pub challenge: Option<ChallengeReport>,
    /// The passive score, when its models ran.
    pub passive: Option<PassiveReport>,
    /// The quality of the best-scoring frame.
    pub best_quality: Option<Quality>,
    /// Time the attempt took, in milliseconds.
    pub elapsed_ms: u64,
}

/// The head-turn challenge's result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChallengeReport {
    /// The side asked for.
    pub direction: TurnDirection,
    /// Whether it was done.
    pub passed: bool,
    /// The largest yaw seen toward that side.
    pub peak_yaw: f32,
}

/// The passive liveness result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveReport {
    /// Median "real" probability over the usable frames.
    pub median: f32,
    /// The threshold.
    pub threshold: f32,
    /// Frames scored.
    pub frames: u32,
}

/// What the machine has for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutput {
    /// Update the screen.
    Guidance(Guidance),
    /// The attempt is over.
    Done(Decision),
}

/// One attempt.
#[derive(Debug)]
pub struct FaceCheck {
    config: CheckConfig,
    started: Timestamp,
    deadline: Timestamp,
    challenge: Option<Challenge>,
    scores: Vec<(f32, Quality)>,
    passive: Vec<f32>,
    seen: u32,
    usable: u32,
    outputs: std::collections::VecDeque<CheckOutput>,
    done: bool,
}

impl FaceCheck {
    /// Starts an attempt at `now`. `turn` is the side of the head-turn
    /// challenge, drawn at random by the caller (ignored when the policy
    /// asks for no active challenge).
    pub fn new(config: CheckConfig, turn: TurnDirection, now: Timestamp) -> FaceCheck {
        let challenge = config
            .liveness
            .active
            .then(|| Challenge::new(config.liveness.challenge, turn));
        let mut check = FaceCheck {
            config,
            started: now,
            deadline: now + Duration::from_millis(config.attempt_ms),
            challenge,
            scores: Vec::new(),
            passive: Vec::new(),
            seen: 0,
            usable: 0,
            outputs: std::collections::VecDeque::new(),
            done: false,
        };
        check.outputs.push_back(CheckOutput::Guidance(Guidance {
            hint: Hint::LookAtCamera,
            face_box: None,
            progress: 0.0,
        }));
        check
    }

    /// Whether the attempt is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// When the attempt ends if nothing decides it earlier.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        (!self.done).then_some(self.deadline)
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<CheckOutput> {
        self.outputs.pop_front()
    }

    /// Ends the attempt when its deadline has passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if !self.done && now >= self.deadline {
            self.finish(now);
        }
    }

    /// Feeds one analysed frame.
    pub fn handle_observation(&mut self, obs: &Observation, now: Timestamp) {
        if self.done {
            return;
        }
        if now >= self.deadline {
            self.finish(now);
            return;
        }
        self.seen += 1;
        let issue = obs.issue();
        let single = obs.face.as_ref().filter(|_| obs.people == 1);
        if let Some(challenge) = &mut self.challenge {
            challenge.observe(single.map(|f| (&f.detection, f.quality.pose)));
        }
        let mut hint = issue.map(Hint::from);
        if let (None, Some(face)) = (issue, single) {
            self.usable += 1;
            if let Some(p) = face.liveness {
                self.passive.push(p);
            }
            let frontal = self.config.gates.check_frontal(&face.quality.pose);
            if let (None, Some(s)) = (frontal, face.similarity) {
                self.scores.push((s, face.quality));
            }
            hint = Some(self.challenge_hint().unwrap_or(match frontal {
                Some(issue) => Hint::from(issue),
                None => Hint::Good,
            }));
        }
        let face_box = obs.face.as_ref().map(|f| {
            let (w, h) = (
                obs.frame_width.max(1) as f32,
                obs.frame_height.max(1) as f32,
            );
            let b = f.detection.bbox;
            Rect {
                x: b.x / w,
                y: b.y / h,
                width: b.width / w,
                height: b.height / h,
            }
        });
        self.outputs.push_back(CheckOutput::Guidance(Guidance {
            hint: hint.unwrap_or(Hint::LookAtCamera),
            face_box,
            progress: self.progress(),
        }));
        let enough = self.scores.len() >= self.config.best_of;
        let challenge_done = self.challenge.as_ref().is_none_or(Challenge::passed);
        let hopeless = enough && self.score().is_some_and(|s| s < self.config.threshold);
        if (enough && challenge_done) || hopeless {
            self.finish(now);
        }
    }

    fn challenge_hint(&self) -> Option<Hint> {
        let c = self.challenge.as_ref()?;
        match c.state() {
            ChallengeState::ExpectFrontal | ChallengeState::ExpectReturn => {
                Some(Hint::LookStraight)
            }
            ChallengeState::ExpectTurn => Some(Hint::Turn(c.direction())),
            ChallengeState::Passed => None,
        }
    }

    fn progress(&self) -> f32 {
        let frames = (self.scores.len() as f32 / self.config.best_of.max(1) as f32).min(1.0);
        match &self.challenge {
            None => frames,
            Some(c) => {
                let turn = match c.state() {
                    ChallengeState::ExpectFrontal => 0.0,
                    ChallengeState::ExpectTurn => 0.25,
                    ChallengeState::ExpectReturn => 0.6,
                    ChallengeState::Passed => 1.0,
                };
                (frames + turn) / 2.0
            }
        }
    }

    /// The median of the best three scores.
    fn score(&self) -> Option<f32> {
        let mut s: Vec<f32> = self.scores.iter().map(|(s, _)| *s).collect();
        s.sort_by(|a, b| b.total_cmp(a));
        s.truncate(3);
        median(&s)
    }

    fn finish(&mut self, now: Timestamp) {
        self.done = true;
        let score = self.score();
        let threshold = self.config.threshold;
        let passive = median(&self.passive).map(|m| PassiveReport {
            median: m,
            threshold: self.config.liveness.passive_threshold,
            frames: self.passive.len() as u32,
        });
        let challenge = self.challenge.as_ref().map(|c| ChallengeReport {
            direction: c.direction(),
            passed: c.passed(),
            peak_yaw: c.peak_yaw(),
        });
        let live = challenge.is_none_or(|c| c.passed)
            && passive.is_none_or(|p| p.median >= p.threshold)
            // Without a challenge, liveness rests on the passive models alone.
            && (challenge.is_some() || passive.is_some());
        let outcome = match score {
            None => Outcome::NoFace,
            Some(s) if s < threshold => Outcome::NoMatch,
            Some(_) if !live => Outcome::LivenessFailed,
            Some(_) => Outcome::Match,
        };
        let best_quality = self
            .scores
            .iter()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, q)| *q);
        self.outputs.push_back(CheckOutput::Done(Decision {
            outcome,
            score,
            threshold,
            frames_seen: self.seen,
            frames_usable: self.usable,
            frames_scored: self.scores.len() as u32,
            challenge,
            passive,
            best_quality,
            elapsed_ms: now.as_millis().saturating_sub(self.started.as_millis()),
        }));
    }
}

#[cfg(test)]
mod tests;
