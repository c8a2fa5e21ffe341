//! Helpers shared by the end-to-end tests in `tests/tests/`.

use kiosk_board::config::{
    FrameSource, SimCameraConfig, SimConfig, SimPrinterConfig, SimReaderConfig,
};
use kiosk_board::runtime::Runtime;
use kiosk_board::sim::{SimBoard, SimControls};
use kiosk_firmware::session::{SessionConfig, StepKind};
use kiosk_firmware::time::Timestamp;
use std::time::Duration;

/// A runtime on the simulator board, driven in virtual time.
pub struct SimKiosk {
    /// The runtime.
    pub runtime: Runtime,
    /// The simulator's controls.
    pub sim: SimControls,
    /// The virtual clock.
    pub now: Timestamp,
}

impl std::fmt::Debug for SimKiosk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKiosk")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl SimKiosk {
    /// A kiosk with the default session configuration.
    pub fn new() -> Self {
        Self::with(SessionConfig::default())
    }

    /// A kiosk with `session` as its configuration.
    pub fn with(session: SessionConfig) -> Self {
        let config = SimConfig {
            card_reader: SimReaderConfig {
                name: "Sim Reader 0".into(),
                extended_length: true,
            },
            camera: SimCameraConfig {
                source: FrameSource::Pattern {
                    width: 64,
                    height: 48,
                },
            },
            printer: SimPrinterConfig {
                paper_width_mm: 80,
                output_dir: None,
            },
        };
        let (devices, sim) = match SimBoard::build(&config) {
            Ok(built) => built,
            Err(e) => panic!("the sim board must build: {e}"),
        };
        SimKiosk {
            runtime: Runtime::new(devices, session, Timestamp::ZERO),
            sim,
            now: Timestamp::ZERO,
        }
    }

    /// Runs the loop for `d` of virtual time, ticking whenever the runtime
    /// asks to be woken, as the real loop does.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.runtime.tick(self.now);
            let next = self.runtime.next_wakeup();
            if next > end {
                break;
            }
            self.now = next.max(self.now + Duration::from_millis(1));
        }
        self.now = end;
        self.runtime.tick(self.now);
    }

    /// The current step.
    pub fn step(&self) -> StepKind {
        self.runtime.step()
    }
}

impl Default for SimKiosk {
    fn default() -> Self {
        Self::new()
    }
}

pub mod pcscd;
pub mod printer;
