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
//!
//! Before each attempt the liveness policy
//! ([`LivenessPolicy::admit`](kiosk_firmware::face::liveness::LivenessPolicy::admit))
//! is asked whether a check may start with the passive models the engine
//! has: a required MiniFASNet file that is missing refuses the attempt
//! ([`FaceOutcome::Unavailable`], staff called) instead of silently running
//! a weaker check. [`FaceService::health`] says the same for `kioskctl
//! doctor` and the staff panel.

use crate::drivers::CameraDevice;
use kiosk_firmware::face::analysis::{self, Reference, ReferenceError};
use kiosk_firmware::face::check::{
    CheckConfig, CheckOutput, Decision, FaceCheck, Guidance, Outcome,
};
use kiosk_firmware::face::liveness::{PassiveRequirement, TurnDirection};
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
    passive: PassiveRequirement,
    missing_passive: Vec<String>,
}

impl std::fmt::Debug for FaceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceService")
            .field("models", self.engine.models())
            .field("running", &self.run.is_some())
            .field("passive", &self.passive)
            .field("missing_passive", &self.missing_passive)
            .finish_non_exhaustive()
    }
}

impl FaceService {
    /// A service over `engine`. It assumes the engine has what the
    /// configuration asks of the passive models ([`PassiveRequirement::Auto`],
    /// nothing missing) until [`FaceService::with_passive`] says otherwise.
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
            passive: PassiveRequirement::Auto,
            missing_passive: Vec::new(),
        }
    }

    /// What the configuration asks of the passive liveness models, and the
    /// names of their files the engine could not load (empty: loaded, or
    /// not asked for).
    pub fn with_passive(mut self, requirement: PassiveRequirement, missing: Vec<String>) -> Self {
        self.passive = requirement;
        self.missing_passive = missing;
        self
    }

    /// Whether the liveness policy lets a face check start with the passive
    /// models this engine has (see the module doc).
    pub fn admit(&self) -> Result<(), kiosk_firmware::face::liveness::LivenessRefusal> {
        self.config
            .liveness
            .admit(self.passive, &self.missing_passive)
    }

    /// The passive liveness files the engine lacks.
    pub fn missing_passive(&self) -> &[String] {
        &self.missing_passive
    }

    /// The face check's health for `kioskctl doctor` and the staff panel:
    /// fails when the liveness policy would refuse every attempt (naming the
    /// missing files), warns when passive liveness is off for lack of its
    /// files.
    pub fn health(&self) -> crate::doctor::Check {
        use crate::doctor::Check;
        let models: Vec<&str> = self
            .engine
            .models()
            .models
            .iter()
            .map(|(f, _)| f.as_str())
            .collect();
        let passive_on = self.passive != PassiveRequirement::Off && self.missing_passive.is_empty();
        let detail = format!(
            "{} models verified ({}); passive liveness {}; head turn {}; threshold {}",
            models.len(),
            models.join(", "),
            if passive_on { "on" } else { "off" },
            if self.config.liveness.active {
                "on"
            } else {
                "off"
            },
            self.config.threshold
        );
        let install = "run `cargo xtask setup` (or install the verified model files into the \
                       model folder) and restart the kiosk";
        match self.admit() {
            Err(refusal) => Check::fail(
                format!("every face check goes to staff: {refusal}"),
                install,
            ),
            Ok(()) if !self.missing_passive.is_empty() => Check::warn(
                format!(
                    "{detail}; missing {} (face.passive_liveness = \"auto\": the head turn alone \
                     decides)",
                    self.missing_passive.join(", ")
                ),
                install,
            ),
            Ok(()) => Check::pass(detail),
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
        if let Err(refusal) = self.admit() {
            tracing::error!(reason = %refusal, "face check refused by the liveness policy");
            return Err(FaceOutcome::Unavailable);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::face::liveness::LivenessRefusal;
    use kiosk_firmware::face::{BgrImage, Detection, Embedding};
    use kiosk_firmware::icao::lds::ImageFormat;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// An engine that counts the calls made to it and fails each one.
    struct CountingEngine {
        calls: Arc<AtomicU32>,
        models: ModelIdentity,
    }

    impl CountingEngine {
        fn fail<T>(&self) -> Result<T, FaceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Err(FaceError::Engine("the test engine analyses nothing".into()))
        }
    }

    impl FaceEngine for CountingEngine {
        fn decode_photo(&mut self, _: &FaceImage) -> Result<BgrImage, FaceError> {
            self.fail()
        }
        fn detect(&mut self, _: ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
            self.fail()
        }
        fn align(&mut self, _: ImageView<'_>, _: &Detection) -> Result<BgrImage, FaceError> {
            self.fail()
        }
        fn embed(&mut self, _: &BgrImage) -> Result<Embedding, FaceError> {
            self.fail()
        }
        fn liveness_score(
            &mut self,
            _: ImageView<'_>,
            _: &Detection,
        ) -> Result<Option<f32>, FaceError> {
            self.fail()
        }
        fn models(&self) -> &ModelIdentity {
            &self.models
        }
    }

    fn service(config: CheckConfig) -> (FaceService, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let engine = CountingEngine {
            calls: Arc::clone(&calls),
            models: ModelIdentity {
                models: vec![
                    ("face_detection_yunet_2023mar.onnx".into(), "00".into()),
                    ("face_recognition_sface_2021dec.onnx".into(), "00".into()),
                ],
            },
        };
        (
            FaceService::new(Box::new(engine), config, Duration::from_millis(100)),
            calls,
        )
    }

    fn photo() -> FaceImage {
        FaceImage {
            format: ImageFormat::Jpeg,
            width: 2,
            height: 2,
            data: vec![0xFF, 0xD8],
        }
    }

    fn missing_v1se() -> Vec<String> {
        vec!["MiniFASNetV1SE.onnx".to_string()]
    }

    #[test]
    fn a_missing_required_liveness_model_refuses_the_face_check_before_the_engine_runs() {
        let (face, calls) = service(CheckConfig::default());
        let mut face = face.with_passive(PassiveRequirement::Required, missing_v1se());
        assert_eq!(
            face.admit(),
            Err(LivenessRefusal::PassiveModelsMissing {
                missing: missing_v1se()
            })
        );
        let started = face.start(&photo(), TurnDirection::Left, Timestamp::ZERO);
        assert!(
            matches!(started, Err(FaceOutcome::Unavailable)),
            "{started:?}"
        );
        assert!(!face.is_running());
        assert_eq!(calls.load(Ordering::SeqCst), 0, "the engine was not asked");
        let health = face.health();
        assert!(!health.ok, "{health:?}");
        assert!(health.detail.contains("MiniFASNetV1SE.onnx"), "{health:?}");
        assert!(health.detail.contains("every face check goes to staff"));
    }

    #[test]
    fn with_the_liveness_models_loaded_the_check_goes_on_to_the_chip_photo() {
        let (face, calls) = service(CheckConfig::default());
        let mut face = face.with_passive(PassiveRequirement::Required, Vec::new());
        // The counting engine fails on the photo: the policy let it through.
        let started = face.start(&photo(), TurnDirection::Left, Timestamp::ZERO);
        assert!(
            matches!(started, Err(FaceOutcome::Unavailable)),
            "{started:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the photo was decoded");
        let health = face.health();
        assert!(health.ok && health.fix.is_none(), "{health:?}");
        assert!(health.detail.contains("passive liveness on"), "{health:?}");
    }

    #[test]
    fn auto_without_the_liveness_models_is_a_warning_that_names_the_files() {
        let (face, _) = service(CheckConfig::default());
        let face = face.with_passive(PassiveRequirement::Auto, missing_v1se());
        let health = face.health();
        assert!(health.ok && health.fix.is_some(), "{health:?}");
        assert!(health.detail.contains("passive liveness off"), "{health:?}");
        assert!(
            health.detail.contains("missing MiniFASNetV1SE.onnx"),
            "{health:?}"
        );
    }
}
