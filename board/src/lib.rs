//! Boards of the CCCD kiosk and the runtime that drives them.
//!
//! - [`config`]: the board configuration file, validated.
//! - [`devices`]: the devices of any board behind one error type.
//! - [`sim`]: the simulator board (feature `sim`, default).
//! - [`runtime`]: the run loop, the only code that reads the clock.
//! - [`doctor`]: the self-test behind `kioskctl doctor`.
//! - [`facecheck`]: camera frames through the face engine into the face check.
//! - [`qrscan`]: camera frames through the QR decoder into the access key.
//! - [`notify`]: systemd readiness and watchdog notifications.
//! - [`linux`]: real boards (`[linux]` configuration; devices with feature `linux`).
//! - `pcsc` (feature `pcsc`): PC/SC readers through pcscd.
//! - `nfc` (feature `nfc`): libnfc readers (PN532 boards, or PC/SC through libnfc).
//! - [`portal`]: the portal over HTTPS: the kiosk's client, the reference
//!   portal, test PKI.
//! - [`printer`]: ESC/POS printers on USB, serial and TCP 9100 ports.
//! - [`requesting`]: filing an online request: outbox, delivery, receipt.
//! - [`reading`]: the document reader over a card reader device.
//! - [`ticketing`]: issuing a queue ticket: draw, lay out, print with status checks.
//! - [`vpcd`]: a simulated card behind real pcscd (vsmartcard's vpcd).
//! - [`scene`]: camera scenes for the simulator (the card QR held up, a citizen turning).
//! - [`scenario`]: scripted journeys on the sim board with the real screens (`kioskctl sim run`).
//! - [`speech`]: spoken guidance through espeak-ng (loudspeaker, or WAV files on the sim).
//! - [`ui`]: the Slint screens as a [`runtime::Frontend`].
//! - `v4l2` (feature `face`): USB/CSI cameras through OpenCV's V4L2 backend.
//! - [`app`]: the composition root shared by the binaries.
//!
//! Binaries: `kiosk` (the firmware application), `kioskctl` (the staff
//! and tester command line) and `kiosk-portal` (the reference portal and
//! its test PKI, for testers).

pub mod app;
pub mod c06;
pub mod config;
pub mod console;
pub mod devices;
pub mod doctor;
pub mod facecheck;
pub mod linux;
pub mod metrics;
#[cfg(feature = "nfc")]
pub mod nfc;
pub mod notify;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod portal;
pub mod printer;
pub mod qrscan;
pub mod reading;
pub mod requesting;
pub mod runtime;
#[cfg(feature = "sim")]
pub mod scenario;
#[cfg(feature = "sim")]
pub mod scene;
#[cfg(feature = "sim")]
pub mod sim;
pub mod speech;
pub mod ticketing;
pub mod truststore;
pub mod ui;

#[cfg(test)]
mod paper_tests;
#[cfg(feature = "face")]
pub mod v4l2;
#[cfg(feature = "sim")]
pub mod vpcd;
