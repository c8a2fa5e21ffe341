//! The face check on a board: camera frames through a
//! [`FaceEngine`] into the sans-IO [`FaceCheck`] of
//! `kiosk_firmware::face::check`, paced by the runtime's `now`.
//!
//! The runtime starts an attempt when the session asks
//! (`Action::StartFaceCheck`), calls [`FaceService::poll`] on every tick, and
//! hands what comes out to the session: guidance for the screen, then the
//! outcome. Frames live in one reused buffer, are never copied elsewhere and
//! are zeroized when the service wipes; the reference embedding lives until
//! the journey ends.

use crate::devices::CameraDevice;
use kiosk_firmware::face::analysis::{self, Reference, ReferenceError};
use kiosk_firmware::face::check::{
    CheckConfig, CheckOutput, Decision, FaceCheck, Guidance, Outcome,
};
use kiosk_firmware::face::liveness::TurnDirection;
use kiosk_firmware::face::{FaceEngine, FaceError, ImageView, ModelIdentity};
use kiosk_firmware::icao::lds::FaceImage;
use kiosk_firmware::session::FaceOutcome;
use kiosk_firmware::time::Timestamp;
use kiosk_hal::camera::Frame;
use kiosk_hal::{Error as _, ErrorKind};
use std::time::Duration;
use zeroize::Zeroize;

/// Camera timeouts in a row after which the camera counts as failed.
const MAX_CAMERA_TIMEOUTS: u32 = 20;

/// What an attempt produced.
#[derive(Debug)]
pub enum FaceStep {
    /// New guidance for the screen.
    Guidance(Guidance),
    /// The attempt is over. `decision` is absent when it ended without one
    /// (camera fault, engine failure).
    Finished {
        /// For the session.
        outcome: FaceOutcome,
        /// What the check decided, for the log.
        decision: Option<Decision>,
    },
}

struct Run {
    check: FaceCheck,
    next_frame: Timestamp,
    camera_timeouts: u32,
}

/// The face engine, its settings, and the attempt under way.
pub struct FaceService {
    engine: Box<dyn FaceEngine + Send>,
    config: CheckConfig,
    frame_interval: Duration,
    reference: Option<Reference>,
    run: Option<Run>,
    frame: Frame,
}

impl std::fmt::Debug for FaceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceService")
            .field("models", self.engine.models())
            .field("running", &self.run.is_some())
            .finish_non_exhaustive()
    }
}

impl FaceService {
    /// A service over `engine`.
    pub fn new(
        engine: Box<dyn FaceEngine + Send>,
        config: CheckConfig,
        frame_interval: Duration,
    ) -> FaceService {
        FaceService {
            engine,
            config,
            frame_interval,
            reference: None,
            run: None,
            frame: Frame::default(),
        }
    }

    /// The models in use.
    pub fn models(&self) -> &ModelIdentity {
        self.engine.models()
    }

    /// Whether an attempt is under way.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Starts an attempt against the chip photo (its embedding is computed
    /// on the first attempt of a journey and kept until [`FaceService::wipe`]).
    /// The camera must already be started. On an error the attempt does not
    /// start and the outcome says why.
    pub fn start(
        &mut self,
        photo: &FaceImage,
        turn: TurnDirection,
        now: Timestamp,
    ) -> Result<(), FaceOutcome> {
        if self.reference.is_none() {
            match Reference::from_photo(&mut self.engine.as_mut(), photo) {
                Ok(r) => {
                    tracing::info!(
                        width = r.photo.width,
                        height = r.photo.height,
                        eye_distance_px = r.photo.eye_distance_px,
                        detector_score = r.photo.detector_score,
                        "chip photo ready for matching"
                    );
                    self.reference = Some(r);
                }
                Err(ReferenceError::NoFace) => {
                    tracing::warn!("no face found in the chip photo");
                    return Err(FaceOutcome::PhotoUnusable);
                }
                Err(ReferenceError::Engine(
                    e @ (FaceError::PhotoDecode(_) | FaceError::UnsupportedPhoto(_)),
                )) => {
                    tracing::warn!(error = %e, "the chip photo cannot be used");
                    return Err(FaceOutcome::PhotoUnusable);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the face engine failed on the chip photo");
                    return Err(FaceOutcome::Unavailable);
                }
            }
        }
        self.run = Some(Run {
            check: FaceCheck::new(self.config, turn, now),
            next_frame: now,
            camera_timeouts: 0,
        });
        Ok(())
    }

    /// When the service wants the next [`FaceService::poll`].
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let run = self.run.as_ref()?;
        Some(match run.check.poll_timeout() {
            Some(deadline) => deadline.min(run.next_frame),
            None => run.next_frame,
        })
    }

    /// Captures and analyses a frame when one is due, and returns what the
    /// check said.
    pub fn poll(&mut self, camera: &mut dyn CameraDevice, now: Timestamp) -> Vec<FaceStep> {
        let mut steps = Vec::new();
        let Some(run) = self.run.as_mut() else {
            return steps;
        };
        run.check.handle_timeout(now);
        if !run.check.is_done() && now >= run.next_frame {
            run.next_frame = now + self.frame_interval;
            match camera.capture(&mut self.frame) {
                Ok(()) => {
                    run.camera_timeouts = 0;
                    let analysed = ImageView::from_frame(&self.frame).and_then(|view| {
                        let reference = self
                            .reference
                            .as_ref()
                            .ok_or_else(|| FaceError::Engine("no reference".into()))?;
                        analysis::observe(
                            &mut self.engine.as_mut(),
                            view,
                            reference,
                            &self.config.gates,
                        )
                    });
                    match analysed {
                        Ok(obs) => run.check.handle_observation(&obs, now),
                        Err(e @ FaceError::BadFrame(_)) => {
                            tracing::warn!(error = %e, "camera frame unusable");
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "the face engine failed");
                            return vec![self.abort(FaceOutcome::Unavailable)];
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    run.camera_timeouts += 1;
                    if run.camera_timeouts >= MAX_CAMERA_TIMEOUTS {
                        tracing::warn!("the camera delivers no frames");
                        return vec![self.abort(FaceOutcome::CameraFault)];
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "camera capture failed");
                    return vec![self.abort(FaceOutcome::CameraFault)];
                }
            }
        }
        while let Some(out) = run.check.poll_output() {
            match out {
                CheckOutput::Guidance(g) => steps.push(FaceStep::Guidance(g)),
                CheckOutput::Done(d) => {
                    let outcome = match d.outcome {
                        Outcome::Match => FaceOutcome::Match,
                        Outcome::NoMatch => FaceOutcome::NoMatch,
                        Outcome::LivenessFailed => FaceOutcome::LivenessFailed,
                        Outcome::NoFace => FaceOutcome::NoFace,
                    };
                    steps.push(FaceStep::Finished {
                        outcome,
                        decision: Some(d),
                    });
                }
            }
        }
        if steps.iter().any(|s| matches!(s, FaceStep::Finished { .. })) {
            self.stop();
        }
        steps
    }

    /// Ends the attempt without a decision (camera or engine failure),
    /// forgetting the last frame like any other end.
    fn abort(&mut self, outcome: FaceOutcome) -> FaceStep {
        self.stop();
        FaceStep::Finished {
            outcome,
            decision: None,
        }
    }

    /// Abandons the attempt under way (the citizen cancelled, the card left).
    pub fn stop(&mut self) {
        self.run = None;
        self.frame.data.zeroize();
    }

    /// Forgets the reference and the last frame.
    pub fn wipe(&mut self) {
        self.stop();
        self.reference = None;
    }

    /// Whether it holds anything of the holder (the reference embedding).
    pub fn holds_personal_data(&self) -> bool {
        self.reference.is_some() || !self.frame.data.is_empty()
    }
}
