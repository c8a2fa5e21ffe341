//! ESC/POS printers on TCP 9100, against a test printer on loopback that
//! answers DLE EOT: every printer state reaches the firmware.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::printer::{EscposPrinter, PrinterPort};
use kiosk_firmware::ticket::escpos::{decode, encode_ticket};
use kiosk_firmware::ticket::raster::Bitmap;
use kiosk_hal::printer::{PaperLevel, Printer, PrinterStatus};
use kiosk_hal::{Error as _, ErrorKind};
use kiosk_tests::printer::{Behaviour, TestPrinter};
use std::time::Duration;

fn printer(test: &TestPrinter) -> EscposPrinter {
    let port: PrinterPort = test.port().parse().unwrap();
    EscposPrinter::new(port).with_status_timeout(Duration::from_millis(300))
}

#[test]
fn every_printer_state_is_read_through_dle_eot() {
    let test = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let mut p = printer(&test);
    let states = [
        PrinterStatus::READY,
        PrinterStatus {
            paper: PaperLevel::NearEnd,
            ..PrinterStatus::READY
        },
        PrinterStatus {
            online: false,
            paper: PaperLevel::Out,
            ..PrinterStatus::READY
        },
        PrinterStatus {
            online: false,
            cover_open: true,
            ..PrinterStatus::READY
        },
        PrinterStatus {
            online: false,
            error: true,
            ..PrinterStatus::READY
        },
    ];
    for state in states {
        test.set(Behaviour::Answer(state));
        assert_eq!(p.status().unwrap(), state);
    }
    assert_eq!(test.queries(), 15, "three queries per status");
}

#[test]
fn a_ticket_sent_over_tcp_arrives_whole_and_status_follows_it() {
    let test = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let mut p = printer(&test);
    let mut bitmap = Bitmap::new(576, 300);
    // Raster rows full of 0x10 0x04 patterns must not be taken for queries.
    bitmap.fill(0, 0, 576, 300);
    let job = encode_ticket(&bitmap);
    p.write(&job).unwrap();
    p.flush().unwrap();
    assert_eq!(p.status().unwrap(), PrinterStatus::READY);
    let received = test.received();
    assert!(received.starts_with(&job));
    let decoded = decode(&received).unwrap();
    assert_eq!(decoded.pages.len(), 1);
    assert_eq!(test.queries(), 3);
}

#[test]
fn a_printer_that_never_answers_reports_a_timeout() {
    let test = TestPrinter::start(Behaviour::Silent).unwrap();
    let mut p = printer(&test);
    assert_eq!(p.status().unwrap_err().kind(), ErrorKind::Timeout);
}

#[test]
fn a_printer_that_goes_away_is_not_present_and_the_job_is_kept() {
    let test = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let mut p = printer(&test);
    assert!(p.status().is_ok());
    drop(test);
    p.write(&[0x1B, 0x40]).unwrap();
    // The first write after the peer left may still be buffered by the
    // kernel; within a few tries the loss shows.
    let mut kind = None;
    for _ in 0..5 {
        if let Err(e) = p.flush() {
            kind = Some(e.kind());
            break;
        }
        p.write(&[0x1B, 0x40]).unwrap();
    }
    assert!(
        matches!(kind, Some(ErrorKind::NotPresent | ErrorKind::Io)),
        "{kind:?}"
    );
    assert_eq!(p.status().unwrap_err().kind(), ErrorKind::NotPresent);
}
