//! Boards of the CCCD kiosk and the runtime that drives them, grouped by role:
//!
//! - [`config`]: the board configuration file, validated.
//! - [`drivers`]: the devices of any board behind one error type, and the
//!   drivers of real peripherals (PC/SC and libnfc readers, ESC/POS
//!   printers, V4L2 cameras, espeak-ng, systemd notifications, the
//!   `[linux]` board).
//! - [`services`]: what carries out a session's actions over the devices
//!   (chip read, face check, card QR, tickets, online requests), the
//!   trust store and the usage metrics.
//! - [`runtime`]: the run loop, the only code that reads the clock.
//! - [`frontends`]: the Slint screens and the console.
//! - [`simulator`]: the simulator board (feature `sim`, default), its
//!   camera scenes, scripted scenarios and vpcd card.
//! - [`online`]: the portal and the identity authority (C06) over HTTPS.
//! - [`doctor`]: the self-test behind `kioskctl doctor`.
//! - [`app`]: the composition root shared by the binaries.
//!
//! Binaries: `kiosk` (the firmware application), `kioskctl` (the staff
//! and tester command line), `kiosk-portal` (the reference portal and its
//! test PKI, for testers) and `kiosk-c06` (the reference identity
//! authority).

pub mod app;
pub mod config;
pub mod doctor;
pub mod drivers;
pub mod frontends;
pub mod online;
pub mod runtime;
pub mod services;
#[cfg(feature = "sim")]
pub mod simulator;
