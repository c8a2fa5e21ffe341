//! The staff panel's slow device checks off the run loop (issue 15): the
//! camera's (start, one frame, stop) and the printer's (a DLE EOT status,
//! up to 500 ms on a dead printer) each run on the device lent to a worker
//! ([`crate::services::worker`]), with a deadline; the quick checks
//! (reader, lights, switches) stay on the loop.
//!
//! While lent, [`LentCamera`] and
//! [`crate::services::printing::LentPrinter`] stand in for the devices and
//! say they are busy. A check past its deadline is "does not answer"; its
//! device comes home when the worker's call returns, and until then a new
//! check of it says so at once. The checks themselves are
//! [`crate::doctor::check_camera`] and [`crate::doctor::printer_check`]
//! (one status query, which also gives the panel's paper state).
//! Staff mode is open only at the attract screen; a journey started right
//! after the panel closed, while a camera check still runs, finds the
//! camera busy (`QrCamera::Unavailable`, as with any camera
//! fault).
//!
//! Nothing here reads a clock: `now` is passed in.

use crate::doctor::Check;
use crate::drivers::{CameraDevice, DeviceError, PrinterDevice};
use crate::services::printing::LentPrinter;
use crate::services::worker::{Away, Homecoming, Lent, Polled, Transport};
use kiosk_firmware::staff::PaperState;
use kiosk_firmware::time::Timestamp;
use kiosk_hal::ErrorKind;
use kiosk_hal::camera::{Camera, Frame, FrameFormat};
use kiosk_hal::printer::{PaperLevel, PrinterStatus};
use std::time::Duration;

/// How long the panel's camera or printer check may take before its row
/// says "does not answer".
pub const DEFAULT_PANEL_CHECK_DEADLINE: Duration = Duration::from_secs(3);

/// Stands in for the camera while a check holds it: every call says the
/// camera is busy.
#[derive(Debug, Clone, Copy, Default)]
pub struct LentCamera;

impl LentCamera {
    fn busy() -> DeviceError {
        DeviceError::new("camera", ErrorKind::Busy, "the camera is lent to a check")
    }
}

impl kiosk_hal::ErrorType for LentCamera {
    type Error = DeviceError;
}

impl Camera for LentCamera {
    fn start(&mut self) -> Result<FrameFormat, DeviceError> {
        Err(Self::busy())
    }

    fn capture(&mut self, _frame: &mut Frame) -> Result<(), DeviceError> {
        Err(Self::busy())
    }

    fn stop(&mut self) -> Result<(), DeviceError> {
        Err(Self::busy())
    }
}

/// The printer's row and the paper state it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterFinding {
    /// The printer's row.
    pub check: Check,
    /// The paper as the same status says.
    pub paper: PaperState,
}

impl PrinterFinding {
    /// The finding of one status query.
    pub fn of(status: &Result<PrinterStatus, DeviceError>) -> Self {
        PrinterFinding {
            check: crate::doctor::printer_check(status),
            paper: paper_state(status),
        }
    }
}

/// The panel's paper state from a status query.
pub fn paper_state(status: &Result<PrinterStatus, DeviceError>) -> PaperState {
    match status {
        Ok(s) if s.paper == PaperLevel::Out => PaperState::Out,
        Ok(s) if s.cover_open => PaperState::CoverOpen,
        Ok(s) if !s.online || s.error => PaperState::Offline,
        Ok(s) if s.paper == PaperLevel::NearEnd => PaperState::NearEnd,
        Ok(_) => PaperState::Ok,
        Err(_) => PaperState::Offline,
    }
}

/// The row of a device whose check did not answer by its deadline.
pub fn no_answer(device: &str, deadline: Duration) -> Check {
    Check::fail(
        format!(
            "does not answer (no answer within {} ms)",
            deadline.as_millis()
        ),
        format!("check the {device}'s cable and power; restart the kiosk if it persists"),
    )
}

/// The row of a device still away with a check that outlived its deadline.
fn still_away(device: &str) -> Check {
    Check::fail(
        "does not answer (the last check has not returned)",
        format!("check the {device}'s cable and power; restart the kiosk if it persists"),
    )
}

/// The row of a device whose check runs.
pub fn checking() -> Check {
    Check::warn("checking…", "wait for the check")
}

/// How a check ended.
#[derive(Debug)]
enum Found<R> {
    Answer(R),
    NoAnswer,
}

/// One device's check on a worker, and the device on its way home from
/// one that outlived its deadline.
struct Checking<T, R> {
    job: Option<Lent<T, R>>,
    away: Away<T, R>,
}

impl<T, R> Default for Checking<T, R> {
    fn default() -> Self {
        Checking {
            job: None,
            away: Away::default(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Checking<T, R> {
    /// Lends `device` (a `stand_in` takes its place) to `work`; `false`
    /// when it is away with a check that outlived its deadline. A check
    /// already under way goes on (`true`).
    #[expect(clippy::too_many_arguments, reason = "the job's parts, spelt out")]
    fn start(
        &mut self,
        name: &str,
        device: &mut T,
        stand_in: T,
        transport: Transport,
        work: impl FnOnce(&mut T) -> R + Send + 'static,
        now: Timestamp,
        deadline: Duration,
    ) -> bool {
        self.come_home(device);
        if self.job.is_some() {
            return true;
        }
        if self.away.is_away() {
            return false;
        }
        let lent = std::mem::replace(device, stand_in);
        self.job = Some(Lent::start(name, lent, transport, work, now, deadline));
        true
    }

    fn come_home(&mut self, device: &mut T) {
        match self.away.poll() {
            Homecoming::Nothing => {}
            Homecoming::Back(_, back) => {
                tracing::info!("a device came back from a panel check past its deadline");
                *device = back;
            }
            Homecoming::Lost => tracing::error!("a panel check's worker ended without its device"),
        }
    }

    /// The check's end, when it came (the device is then home, or on its
    /// way).
    fn poll(&mut self, device: &mut T, now: Timestamp) -> Option<Found<R>> {
        self.come_home(device);
        let polled = self.job.as_mut()?.poll(now)?;
        self.job = None;
        Some(match polled {
            Polled::Answered(result, back) => {
                *device = back;
                Found::Answer(result)
            }
            Polled::TimedOut(home) => {
                self.away.expect(home);
                Found::NoAnswer
            }
        })
    }

    fn next_wakeup(&self) -> Option<Timestamp> {
        self.job.as_ref().and_then(Lent::next_wakeup)
    }

    fn settle(&mut self, max: Duration) {
        if let Some(job) = self.job.as_mut() {
            job.settle(max);
        }
    }
}

/// What ended at a poll of the panel's checks.
#[derive(Debug, Default)]
pub struct Findings {
    /// The camera's row, when its check ended.
    pub camera: Option<Check>,
    /// The printer's row and paper, when its check ended.
    pub printer: Option<PrinterFinding>,
}

impl Findings {
    /// Whether nothing ended.
    pub fn is_empty(&self) -> bool {
        self.camera.is_none() && self.printer.is_none()
    }
}

/// The panel's camera and printer checks (see the module documentation).
pub struct PanelCheck {
    camera: Checking<Box<dyn CameraDevice>, Check>,
    printer: Checking<Box<dyn PrinterDevice>, PrinterFinding>,
    deadline: Duration,
}

impl std::fmt::Debug for PanelCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PanelCheck")
            .field("camera", &self.camera.job.is_some())
            .field("printer", &self.printer.job.is_some())
            .field("camera_away", &self.camera.away)
            .field("printer_away", &self.printer.away)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Default for PanelCheck {
    fn default() -> Self {
        PanelCheck {
            camera: Checking::default(),
            printer: Checking::default(),
            deadline: DEFAULT_PANEL_CHECK_DEADLINE,
        }
    }
}

impl PanelCheck {
    /// Gives each check `deadline` (default
    /// [`DEFAULT_PANEL_CHECK_DEADLINE`]).
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    /// Starts the camera's check on `camera` (lent, [`LentCamera`] in its
    /// place). `None`: the check runs (or ran inline: the next poll has
    /// it); `Some`: the row to show now (the camera is still away).
    pub fn start_camera(
        &mut self,
        camera: &mut Box<dyn CameraDevice>,
        transport: Transport,
        now: Timestamp,
    ) -> Option<Check> {
        let started = self.camera.start(
            "panel-camera",
            camera,
            Box::new(LentCamera),
            transport,
            |c: &mut Box<dyn CameraDevice>| crate::doctor::check_camera(c.as_mut()),
            now,
            self.deadline,
        );
        (!started).then(|| still_away("camera"))
    }

    /// Starts the printer's check on `printer` (lent, [`LentPrinter`] in
    /// its place); as [`PanelCheck::start_camera`].
    pub fn start_printer(
        &mut self,
        printer: &mut Box<dyn PrinterDevice>,
        transport: Transport,
        now: Timestamp,
    ) -> Option<PrinterFinding> {
        let started = self.printer.start(
            "panel-printer",
            printer,
            Box::new(LentPrinter),
            transport,
            |p: &mut Box<dyn PrinterDevice>| PrinterFinding::of(&p.status()),
            now,
            self.deadline,
        );
        (!started).then(|| PrinterFinding {
            check: still_away("printer"),
            paper: PaperState::Offline,
        })
    }

    /// Takes the checks that ended (their devices back into `camera` and
    /// `printer`), and devices home from checks that outlived their
    /// deadline.
    pub fn poll(
        &mut self,
        camera: &mut Box<dyn CameraDevice>,
        printer: &mut Box<dyn PrinterDevice>,
        now: Timestamp,
    ) -> Findings {
        let deadline = self.deadline;
        Findings {
            camera: self.camera.poll(camera, now).map(|found| match found {
                Found::Answer(check) => check,
                Found::NoAnswer => {
                    tracing::warn!("the camera did not answer the panel's check in time");
                    no_answer("camera", deadline)
                }
            }),
            printer: self.printer.poll(printer, now).map(|found| match found {
                Found::Answer(finding) => finding,
                Found::NoAnswer => {
                    tracing::warn!("the printer did not answer the panel's check in time");
                    PrinterFinding {
                        check: no_answer("printer", deadline),
                        paper: PaperState::Offline,
                    }
                }
            }),
        }
    }

    /// Whether the printer's check holds the printer (print jobs wait).
    pub fn holds_printer(&self) -> bool {
        self.printer.job.is_some()
    }

    /// Whether a check runs.
    pub fn is_busy(&self) -> bool {
        self.camera.job.is_some() || self.printer.job.is_some()
    }

    /// When the loop should poll next: while a check runs.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        [self.camera.next_wakeup(), self.printer.next_wakeup()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Waits up to `max` of real time (each) for the checks on workers to
    /// end (runs in virtual time only).
    pub fn settle(&mut self, max: Duration) {
        self.camera.settle(max);
        self.printer.settle(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::SimBoard;
    use kiosk_hal::Error as _;

    #[test]
    fn inline_checks_answer_at_the_first_poll_and_the_devices_are_home() {
        let (mut devices, controls) =
            SimBoard::build(&crate::simulator::test_config(true)).unwrap();
        controls.set_paper(PaperLevel::NearEnd);
        let mut checks = PanelCheck::default();
        let now = Timestamp::ZERO;
        assert!(
            checks
                .start_camera(&mut devices.camera, Transport::Inline, now)
                .is_none()
        );
        assert!(
            checks
                .start_printer(&mut devices.printer, Transport::Inline, now)
                .is_none()
        );
        let found = checks.poll(&mut devices.camera, &mut devices.printer, now);
        assert!(found.camera.unwrap().ok);
        let printer = found.printer.unwrap();
        assert!(printer.check.ok && printer.check.fix.is_some());
        assert_eq!(printer.paper, PaperState::NearEnd);
        assert!(!checks.is_busy());
        assert_eq!(checks.next_wakeup(), None);
        assert!(devices.printer.status().is_ok(), "the printer is home");
        assert!(devices.camera.start().is_ok(), "the camera is home");
    }

    #[test]
    fn a_hung_printer_is_no_answer_at_the_deadline_and_comes_home_later() {
        let (mut devices, controls) =
            SimBoard::build(&crate::simulator::test_config(true)).unwrap();
        controls.set_printer_hung(true);
        let mut checks = PanelCheck::default();
        checks.set_deadline(Duration::from_millis(100));
        assert!(
            checks
                .start_printer(&mut devices.printer, Transport::Worker, Timestamp::ZERO)
                .is_none()
        );
        assert!(checks.holds_printer());
        assert_eq!(checks.next_wakeup(), Some(Timestamp::from_millis(10)));
        assert_eq!(
            devices.printer.status().unwrap_err().kind(),
            ErrorKind::Busy,
            "lent"
        );
        let found = checks.poll(
            &mut devices.camera,
            &mut devices.printer,
            Timestamp::from_millis(100),
        );
        let printer = found.printer.unwrap();
        assert!(!printer.check.ok);
        assert!(printer.check.detail.starts_with("does not answer"));
        assert_eq!(printer.paper, PaperState::Offline);
        assert!(!checks.holds_printer());
        // Still away: a new check says so at once.
        let again = checks.start_printer(&mut devices.printer, Transport::Worker, Timestamp::ZERO);
        assert!(again.is_some_and(|f| f.check.detail.starts_with("does not answer")));
        controls.set_printer_hung(false);
        let mut home = false;
        for _ in 0..2000 {
            checks.poll(
                &mut devices.camera,
                &mut devices.printer,
                Timestamp::from_secs(1),
            );
            if devices.printer.status().is_ok() {
                home = true;
                break;
            }
            #[expect(clippy::disallowed_methods, reason = "the worker returns in real time")]
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(home, "the printer came home");
    }
}
