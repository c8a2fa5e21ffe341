//! Device traits of the CCCD kiosk.
//!
//! The firmware talks to hardware only through these traits; a board (real
//! Linux peripherals or the simulator) implements them. The shape follows
//! embedded-hal 1.0 (`embedded-hal/src/digital.rs`, `i2c.rs`): every device
//! names its error type through [`ErrorType`], and every error can be reduced
//! to a small [`ErrorKind`] that the firmware reacts to without knowing the
//! driver (retry on [`ErrorKind::Timeout`], "please place the card again" on
//! [`ErrorKind::Removed`], and so on).
//!
//! | trait | device |
//! | --- | --- |
//! | [`card::CardReader`] | contactless reader slot: presence, connect, disconnect |
//! | [`card::ApduTransport`] | ISO/IEC 7816-4 command/response exchange with the connected card |
//! | [`camera::Camera`] | the face camera |
//! | [`printer::Printer`] | the ESC/POS ticket printer (bytes are made by the firmware) |
//! | [`indicators::Indicators`] | status lights and buzzer, usually over `embedded_hal::digital::OutputPin` |
//! | [`speaker::Speaker`] | the loudspeaker: spoken guidance (espeak-ng) |
//! | [`sensors::Sensors`] | the tamper switch and the presence sensor, usually over `embedded_hal::digital::InputPin` |
//!
//! With the `mock` feature, [`mock`] provides scripted doubles in the manner of
//! embedded-hal-mock: a list of expected transactions, checked by `.done()`.
#![deny(missing_docs)]

pub mod camera;
pub mod card;
mod error;
pub mod indicators;
pub mod printer;
pub mod sensors;
pub mod speaker;

#[cfg(feature = "mock")]
pub mod mock;

pub use error::{Error, ErrorKind, ErrorType};
