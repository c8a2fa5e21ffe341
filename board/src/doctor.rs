//! `kioskctl doctor`: a self-test of every device of the configured board.
//!
//! Each check uses only the HAL contract, so it means the same on every
//! board: the reader answers a presence poll, the camera starts and delivers
//! a frame of the size it announced, the printer reports a status it can
//! print with, every light can be driven, and the database opens with its
//! pragmas and passes an integrity check. A failed check says what to fix.
//! [`check_service`] says whether the kiosk is out of service because its
//! cabinet was opened (the state the runtime keeps in the store, issue 13).

use crate::drivers::{CameraDevice, DeviceError, Devices, PrinterDevice};
use kiosk_hal::camera::Frame;
use kiosk_hal::card::Presence;
use kiosk_hal::indicators::Light;
use kiosk_hal::printer::{PaperLevel, PrinterStatus};
use kiosk_hal::{Error as _, ErrorKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// The result of one device's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Whether the device works.
    pub ok: bool,
    /// What was found (always set).
    pub detail: String,
    /// What staff should do, when something is wrong or about to be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The error kind, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

impl Check {
    /// A passing check.
    pub fn pass(detail: impl Into<String>) -> Self {
        Check {
            ok: true,
            detail: detail.into(),
            fix: None,
            error_kind: None,
        }
    }

    /// A passing check with advice (e.g. paper running low).
    pub fn warn(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            fix: Some(fix.into()),
            ..Check::pass(detail)
        }
    }

    /// A failing check.
    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
            error_kind: None,
        }
    }

    fn from_error(e: &DeviceError, fix: &str) -> Self {
        Check {
            ok: false,
            detail: e.to_string(),
            fix: Some(fix.into()),
            error_kind: Some(format!("{:?}", e.kind())),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The board checked.
    pub board: String,
    /// Whether every check passed.
    pub ok: bool,
    /// One entry per device, by name.
    pub devices: BTreeMap<String, Check>,
}

impl Report {
    /// A report from the checks.
    pub fn new(board: impl Into<String>, devices: BTreeMap<String, Check>) -> Self {
        let ok = devices.values().all(|c| c.ok);
        Report {
            board: board.into(),
            ok,
            devices,
        }
    }
}

/// Checks every device of `devices`. Leaves them as found (camera stopped,
/// lights off, no card session).
pub fn check_devices(devices: &mut Devices) -> BTreeMap<String, Check> {
    let mut checks = check_quick_devices(devices);
    checks.insert("camera".into(), check_camera(devices.camera.as_mut()));
    checks.insert("printer".into(), check_printer(devices.printer.as_mut()));
    checks
}

/// The checks that answer at once on every board (the reader's presence
/// poll, the lights, the switches): the staff panel runs them on the run
/// loop, and the slow ones ([`check_camera`], [`check_printer`]) on a
/// worker (`services::panelcheck`).
pub fn check_quick_devices(devices: &mut Devices) -> BTreeMap<String, Check> {
    let mut checks = BTreeMap::new();
    checks.insert("card_reader".into(), check_reader(devices));
    checks.insert("indicators".into(), check_indicators(devices));
    checks.insert("sensors".into(), check_sensors(devices));
    checks
}

/// Whether the kiosk serves, or is out of service since its cabinet was
/// opened (until staff enter the PIN on the kiosk with the cabinet closed).
pub fn check_service(store: &kiosk_firmware::store::Store) -> Check {
    match crate::runtime::OutOfService::load(store) {
        Ok(None) => Check::pass("in service"),
        Ok(Some(state)) => Check::fail(
            format!(
                "out of service since {} (Unix ms): the cabinet was opened",
                state.since.0
            ),
            "close and lock the cabinet, then enter the staff PIN on the kiosk's out-of-service screen",
        ),
        Err(e) => Check::fail(
            format!("cannot read the out-of-service state: {e}"),
            "see the store check",
        ),
    }
}

fn check_sensors(devices: &mut Devices) -> Check {
    match devices.sensors.read() {
        Ok(s) if s.tampered => Check::fail(
            "the cabinet is open (tamper switch)",
            "close and lock the cabinet; if it is closed, check the tamper switch's wiring",
        ),
        Ok(s) => Check::pass(format!(
            "cabinet closed; {}",
            if s.presence {
                "someone in front of the kiosk"
            } else {
                "nobody in front of the kiosk"
            }
        )),
        Err(e) => Check::from_error(
            &e,
            "check the GPIO wiring of the tamper switch and presence sensor",
        ),
    }
}

fn check_reader(devices: &mut Devices) -> Check {
    let fix = "check the reader's USB cable and that pcscd runs; replug the reader";
    match devices.reader.presence() {
        Ok(Presence::Absent) => Check::pass("reader answers; no card in the field"),
        Ok(Presence::Present) => Check::warn(
            "reader answers; a card is lying on the reader",
            "remove any card left on the reader",
        ),
        Err(e) => Check::from_error(&e, fix),
    }
}

/// Starts `camera`, captures one frame of the size it announced, stops it
/// (a V4L2 camera may take up to a frame interval, or hang).
pub fn check_camera(camera: &mut dyn CameraDevice) -> Check {
    let fix = "check the camera's USB cable and that no other program uses it";
    let format = match camera.start() {
        Ok(f) => f,
        Err(e) => return Check::from_error(&e, fix),
    };
    let mut frame = Frame::default();
    let result = camera.capture(&mut frame);
    // The frame is dropped here: nothing of it is kept.
    let stopped = camera.stop();
    if let Err(e) = result {
        return Check::from_error(&e, fix);
    }
    if let Err(e) = stopped {
        return Check::from_error(&e, fix);
    }
    if frame.width != format.width
        || frame.height != format.height
        || frame.data.len() != format.frame_len()
    {
        return Check::fail(
            format!(
                "camera announced {}×{} but delivered {}×{} ({} bytes)",
                format.width,
                format.height,
                frame.width,
                frame.height,
                frame.data.len()
            ),
            "set the camera's resolution in the board configuration to one it supports",
        );
    }
    Check::pass(format!("{}×{} frames", format.width, format.height))
}

/// Asks `printer` for its status (DLE EOT: up to 500 ms on a dead printer)
/// and judges it ([`printer_check`]).
pub fn check_printer(printer: &mut dyn PrinterDevice) -> Check {
    printer_check(&printer.status())
}

/// What a printer's status (or its error) means for the check.
pub fn printer_check(status: &Result<PrinterStatus, DeviceError>) -> Check {
    match status {
        Err(e) if e.kind() == ErrorKind::NotPresent => {
            Check::from_error(e, "switch the printer on and check its cable")
        }
        Err(e) => Check::from_error(
            e,
            "check the printer's cable and port in the board configuration",
        ),
        Ok(s) if s.cover_open => {
            Check::fail("the printer cover is open", "close the printer cover")
        }
        Ok(s) if s.error => Check::fail(
            "the printer reports an error (cutter or mechanism)",
            "open the cover, clear any jam, close it; power-cycle if it persists",
        ),
        Ok(s) if s.paper == PaperLevel::Out => {
            Check::fail("the printer has no paper", "load a new paper roll")
        }
        Ok(s) if !s.online => Check::fail(
            "the printer is off line",
            "press the printer's feed button or power-cycle it",
        ),
        Ok(s) if s.paper == PaperLevel::NearEnd => {
            Check::warn("ready; paper near its end", "have a paper roll ready")
        }
        Ok(_) => Check::pass("ready"),
    }
}

fn check_indicators(devices: &mut Devices) -> Check {
    for light in Light::ALL {
        if let Err(e) = devices
            .indicators
            .set(light, true)
            .and_then(|()| devices.indicators.set(light, false))
        {
            return Check::from_error(
                &e,
                "check the GPIO wiring and the line numbers in the board configuration",
            );
        }
    }
    Check::pass(format!("{} lines driven", Light::ALL.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        FrameSource, SimCameraConfig, SimConfig, SimPrinterConfig, SimReaderConfig,
    };
    use crate::simulator::{ForeignCard, SimBoard, SimControls};

    fn sim() -> (Devices, SimControls) {
        SimBoard::build(&SimConfig {
            card_reader: SimReaderConfig {
                name: "r".into(),
                extended_length: true,
                cards_dir: None,
            },
            camera: SimCameraConfig {
                source: FrameSource::Pattern {
                    width: 40,
                    height: 30,
                },
            },
            printer: SimPrinterConfig {
                paper_width_mm: 80,
                output_dir: None,
            },
        })
        .unwrap()
    }

    #[test]
    fn a_healthy_sim_board_passes_every_check() {
        let (mut devices, controls) = sim();
        let checks = check_devices(&mut devices);
        assert_eq!(
            checks.keys().map(String::as_str).collect::<Vec<_>>(),
            ["camera", "card_reader", "indicators", "printer", "sensors"]
        );
        assert!(checks.values().all(|c| c.ok), "{checks:#?}");
        assert_eq!(checks["camera"].detail, "40×30 frames");
        assert!(controls.lights().values().all(|on| !on), "lights left off");
    }

    #[test]
    fn each_printer_state_fails_or_warns_with_a_fix() {
        let (mut devices, controls) = sim();
        controls.set_paper(PaperLevel::NearEnd);
        let c = check_printer(devices.printer.as_mut());
        assert!(c.ok && c.fix.is_some(), "{c:?}");
        controls.set_paper(PaperLevel::Out);
        let c = check_printer(devices.printer.as_mut());
        assert!(!c.ok);
        assert_eq!(c.fix.as_deref(), Some("load a new paper roll"));
        controls.set_paper(PaperLevel::Ok);
        controls.set_cover_open(true);
        assert_eq!(
            check_printer(devices.printer.as_mut()).fix.as_deref(),
            Some("close the printer cover")
        );
        controls.set_cover_open(false);
        controls.set_printer_online(false);
        let c = check_printer(devices.printer.as_mut());
        assert!(!c.ok);
        assert_eq!(c.error_kind.as_deref(), Some("NotPresent"));
    }

    #[test]
    fn a_failing_camera_and_reader_are_reported_with_their_kind() {
        let (mut devices, controls) = sim();
        controls.fail_camera_once(ErrorKind::Busy);
        controls.fail_reader_once(ErrorKind::Io);
        let checks = check_devices(&mut devices);
        assert_eq!(checks["camera"].error_kind.as_deref(), Some("Busy"));
        assert_eq!(checks["card_reader"].error_kind.as_deref(), Some("Io"));
        let report = Report::new("sim", checks);
        assert!(!report.ok);
    }

    #[test]
    fn a_card_left_on_the_reader_is_a_warning() {
        let (mut devices, controls) = sim();
        controls.insert_card(Box::new(ForeignCard));
        let c = check_reader(&mut devices);
        assert!(c.ok);
        assert!(c.fix.is_some());
    }

    #[test]
    fn an_open_cabinet_fails_the_sensor_check() {
        let (mut devices, controls) = sim();
        controls.set_presence(true);
        let c = check_sensors(&mut devices);
        assert!(c.ok && c.detail.contains("someone"), "{c:?}");
        controls.set_tamper(true);
        let c = check_sensors(&mut devices);
        assert!(!c.ok);
        assert!(c.fix.as_deref().is_some_and(|f| f.contains("cabinet")));
    }
}
