//! The card QR read by the camera on a board: frames from the camera
//! through the firmware's decoder ([`kiosk_firmware::cccd::scan::decode_frame`])
//! into its [`CardQrScanner`] policy, paced by the runtime's `now`.
//!
//! The runtime starts the camera when the session enters the access-key
//! step and calls [`QrService::start`]; it calls [`QrService::poll`] on
//! every tick, and one frame is decoded per [`QrService::interval`] at
//! most, so the screen and the card reader keep their share of the CPU.
//! A good read is the access key `AccessKey::CardQr`, exactly as a
//! handheld scanner's text; a camera that fails (or delivers nothing for
//! [`MAX_CAMERA_TIMEOUTS`] captures) is reported once, and the citizen
//! types the key instead.
//!
//! Privacy: frames live in one reused buffer, zeroized whenever the
//! service stops; texts are [`Zeroizing`]; nothing is logged but counts.

use crate::drivers::CameraDevice;
use kiosk_firmware::cccd::scan::{self, CardQrScanner, ScanPolicy, ScanStats};
use kiosk_firmware::time::Timestamp;
use kiosk_hal::camera::Frame;
use kiosk_hal::{Error as _, ErrorKind};
use std::time::Duration;
use zeroize::{Zeroize, Zeroizing};

/// How often a frame is decoded while the access-key screen is up.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(200);

/// Camera timeouts in a row after which the camera counts as failed.
pub const MAX_CAMERA_TIMEOUTS: u32 = 20;

/// What a poll produced.
#[derive(Debug)]
pub enum QrStep {
    /// Nothing yet (no frame due, or no card QR sure enough).
    Nothing,
    /// The card's QR text, read in enough frames.
    Read(Zeroizing<String>),
    /// The camera failed: the service stopped.
    CameraFailed,
}

#[derive(Debug)]
struct Run {
    next_frame: Timestamp,
    camera_timeouts: u32,
}

/// The scanner policy, its pace and the scan under way.
#[derive(Debug)]
pub struct QrService {
    scanner: CardQrScanner,
    interval: Duration,
    run: Option<Run>,
    frame: Frame,
}

impl Default for QrService {
    fn default() -> Self {
        QrService::new(ScanPolicy::default(), DEFAULT_INTERVAL)
    }
}

impl QrService {
    /// A service that decodes a frame every `interval` under `policy`.
    pub fn new(policy: ScanPolicy, interval: Duration) -> QrService {
        QrService {
            scanner: CardQrScanner::new(policy),
            interval,
            run: None,
            frame: Frame::default(),
        }
    }

    /// The pace.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether a scan is under way.
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Starts scanning; the camera must already be started.
    pub fn start(&mut self, now: Timestamp) {
        self.run = Some(Run {
            next_frame: now,
            camera_timeouts: 0,
        });
    }

    /// When the next frame is due, while scanning.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.run.as_ref().map(|r| r.next_frame)
    }

    /// Captures and decodes a frame when one is due.
    pub fn poll(&mut self, camera: &mut dyn CameraDevice, now: Timestamp) -> QrStep {
        let Some(run) = self.run.as_mut() else {
            return QrStep::Nothing;
        };
        if now < run.next_frame {
            return QrStep::Nothing;
        }
        run.next_frame = now + self.interval;
        match camera.capture(&mut self.frame) {
            Ok(()) => {
                run.camera_timeouts = 0;
                match scan::decode_frame(&self.frame) {
                    Ok(texts) => match self.scanner.observe(&texts) {
                        Some(text) => QrStep::Read(text),
                        None => QrStep::Nothing,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "camera frame unusable for the QR");
                        QrStep::Nothing
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::Timeout => {
                run.camera_timeouts += 1;
                if run.camera_timeouts >= MAX_CAMERA_TIMEOUTS {
                    tracing::warn!("the camera delivers no frames for the QR");
                    self.stop();
                    QrStep::CameraFailed
                } else {
                    QrStep::Nothing
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "camera capture failed while looking for the QR");
                self.stop();
                QrStep::CameraFailed
            }
        }
    }

    /// Counts of the journey so far (frames, card reads, other codes
    /// ignored, texts handed over).
    pub fn stats(&self) -> ScanStats {
        self.scanner.stats()
    }

    /// Stops scanning and forgets the last frame (the step ended).
    pub fn stop(&mut self) {
        self.run = None;
        self.frame.data.zeroize();
    }

    /// Stops and forgets every text (the journey ended).
    pub fn wipe(&mut self) {
        self.stop();
        self.scanner.reset();
    }

    /// Whether it holds anything of the card (a text, a frame).
    pub fn holds_personal_data(&self) -> bool {
        self.scanner.holds_personal_data() || !self.frame.data.is_empty()
    }
}
