//! The devices of a board, behind one error type.
//!
//! Each backend keeps its own error type (a newtype over `pcsc::Error`,
//! `std::io::Error`, …) implementing [`kiosk_hal::Error`]. The runtime holds
//! devices of any board as trait objects, so [`Erased`] turns a device's
//! error into a [`DeviceError`] that keeps the [`ErrorKind`] (what the
//! firmware reacts to) and the backend's message (what the log and
//! `kioskctl doctor` show).

//!
//! The drivers of real and shared peripherals live beside it:
//! - [`linux`]: real boards (`[linux]` configuration; devices with feature `linux`).
//! - [`display`]: the kiosk compositor sway and the configuration the kiosk writes for it.
//! - `pcsc` (feature `pcsc`): PC/SC readers through pcscd.
//! - `nfc` (feature `nfc`): libnfc readers (PN532 boards, or PC/SC through libnfc).
//! - [`printer`]: ESC/POS printers on USB, serial and TCP 9100 ports.
//! - `v4l2` (feature `face`): USB/CSI cameras through OpenCV's V4L2 backend.
//! - [`speech`]: spoken guidance through espeak-ng (loudspeaker, or WAV files on the sim).
//! - [`notify`]: systemd readiness and watchdog notifications.

pub mod display;
pub mod linux;
#[cfg(feature = "nfc")]
pub mod nfc;
pub mod notify;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod printer;
pub mod speech;
#[cfg(feature = "face")]
pub mod v4l2;

use kiosk_hal::camera::{Camera, Frame, FrameFormat};
use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, Presence, TransportCapabilities};
use kiosk_hal::indicators::{Indicators, Light};
use kiosk_hal::printer::{Printer, PrinterStatus};
use kiosk_hal::sensors::{SensorState, Sensors};
use kiosk_hal::{Error, ErrorKind, ErrorType};
use std::fmt;

/// A device error of any board: its kind, the device, and the backend's
/// description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError {
    kind: ErrorKind,
    device: &'static str,
    message: String,
}

impl DeviceError {
    /// An error of `device` with `kind` and a description.
    pub fn new(device: &'static str, kind: ErrorKind, message: impl Into<String>) -> Self {
        DeviceError {
            kind,
            device,
            message: message.into(),
        }
    }

    /// The device that failed (`card_reader`, `camera`, `printer`, `indicators`).
    pub fn device(&self) -> &'static str {
        self.device
    }

    /// The backend's description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Error for DeviceError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.device, self.message, self.kind)
    }
}

impl std::error::Error for DeviceError {}

/// A card reader of any board.
pub trait ReaderDevice:
    CardReader<Error = DeviceError> + ApduTransport<Error = DeviceError> + Send
{
}
impl<T: CardReader<Error = DeviceError> + ApduTransport<Error = DeviceError> + Send> ReaderDevice
    for T
{
}

/// A camera of any board.
pub trait CameraDevice: Camera<Error = DeviceError> + Send {}
impl<T: Camera<Error = DeviceError> + Send> CameraDevice for T {}

/// A printer of any board.
pub trait PrinterDevice: Printer<Error = DeviceError> + Send {}
impl<T: Printer<Error = DeviceError> + Send> PrinterDevice for T {}

/// Indicators of any board.
pub trait IndicatorDevice: Indicators<Error = DeviceError> + Send {}
impl<T: Indicators<Error = DeviceError> + Send> IndicatorDevice for T {}

/// Input switches of any board.
pub trait SensorDevice: Sensors<Error = DeviceError> + Send {}
impl<T: Sensors<Error = DeviceError> + Send> SensorDevice for T {}

/// Everything a board provides, as the runtime uses it.
pub struct Devices {
    /// The board's name, for reports (`sim`, `linux:rpi4-acr1252u`).
    pub board: String,
    /// The contactless card reader.
    pub reader: Box<dyn ReaderDevice>,
    /// The card reader's name (`pcsc:ACS ACR1252`, `nfc:pn532_uart:…`,
    /// `sim`): the key of [`Devices::reader_memory`].
    pub reader_name: String,
    /// What the board learnt about its readers' APDU sizes.
    pub reader_memory: crate::services::reading::ReaderMemory,
    /// The face camera.
    pub camera: Box<dyn CameraDevice>,
    /// The ticket printer.
    pub printer: Box<dyn PrinterDevice>,
    /// Lights and buzzer.
    pub indicators: Box<dyn IndicatorDevice>,
    /// The tamper switch and the presence sensor.
    pub sensors: Box<dyn SensorDevice>,
    /// Whether the devices' calls may block (real hardware: PC/SC,
    /// libnfc, a printer port). Then the run loop hands long calls (the
    /// chip read, a print) to worker threads; the simulator's devices
    /// answer at once and run inline, so virtual-time runs are
    /// deterministic.
    pub blocking: bool,
}

/// Stands in for the card reader while a read holds it (on a worker
/// thread): every call says the reader is busy.
#[derive(Debug, Clone, Copy, Default)]
pub struct LentReader;

impl LentReader {
    fn busy() -> DeviceError {
        DeviceError::new(
            "card_reader",
            ErrorKind::Busy,
            "the reader is lent to a read",
        )
    }
}

impl kiosk_hal::ErrorType for LentReader {
    type Error = DeviceError;
}

impl CardReader for LentReader {
    fn presence(&mut self) -> Result<kiosk_hal::card::Presence, DeviceError> {
        Err(Self::busy())
    }

    fn connect(&mut self) -> Result<kiosk_hal::card::CardInfo, DeviceError> {
        Err(Self::busy())
    }

    fn disconnect(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

impl ApduTransport for LentReader {
    fn transmit(&mut self, _command: &[u8], _response: &mut [u8]) -> Result<usize, DeviceError> {
        Err(Self::busy())
    }

    fn capabilities(&self) -> kiosk_hal::card::TransportCapabilities {
        kiosk_hal::card::TransportCapabilities {
            extended_length: false,
            max_command_len: 0,
            max_response_len: 0,
        }
    }
}

impl fmt::Debug for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devices")
            .field("board", &self.board)
            .finish_non_exhaustive()
    }
}

/// Wraps a device so its errors become [`DeviceError`]s.
#[derive(Debug)]
pub struct Erased<T> {
    inner: T,
    device: &'static str,
}

impl<T> Erased<T> {
    /// Wraps `inner`, naming it `device` in errors.
    pub fn new(device: &'static str, inner: T) -> Self {
        Erased { inner, device }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: ErrorType> Erased<T>
where
    T::Error: fmt::Display,
{
    fn map(&self, e: T::Error) -> DeviceError {
        DeviceError::new(self.device, e.kind(), e.to_string())
    }
}

impl<T: ErrorType> ErrorType for Erased<T> {
    type Error = DeviceError;
}

impl<T: CardReader> CardReader for Erased<T>
where
    T::Error: fmt::Display,
{
    fn presence(&mut self) -> Result<Presence, DeviceError> {
        self.inner.presence().map_err(|e| self.map(e))
    }
    fn connect(&mut self) -> Result<CardInfo, DeviceError> {
        self.inner.connect().map_err(|e| self.map(e))
    }
    fn disconnect(&mut self) -> Result<(), DeviceError> {
        self.inner.disconnect().map_err(|e| self.map(e))
    }
}

impl<T: ApduTransport> ApduTransport for Erased<T>
where
    T::Error: fmt::Display,
{
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, DeviceError> {
        self.inner
            .transmit(command, response)
            .map_err(|e| self.map(e))
    }
    fn capabilities(&self) -> TransportCapabilities {
        self.inner.capabilities()
    }
}

impl<T: Camera> Camera for Erased<T>
where
    T::Error: fmt::Display,
{
    fn start(&mut self) -> Result<FrameFormat, DeviceError> {
        self.inner.start().map_err(|e| self.map(e))
    }
    fn capture(&mut self, frame: &mut Frame) -> Result<(), DeviceError> {
        self.inner.capture(frame).map_err(|e| self.map(e))
    }
    fn stop(&mut self) -> Result<(), DeviceError> {
        self.inner.stop().map_err(|e| self.map(e))
    }
}

impl<T: Printer> Printer for Erased<T>
where
    T::Error: fmt::Display,
{
    fn write(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.inner.write(bytes).map_err(|e| self.map(e))
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.inner.flush().map_err(|e| self.map(e))
    }
    fn status(&mut self) -> Result<PrinterStatus, DeviceError> {
        self.inner.status().map_err(|e| self.map(e))
    }
}

impl<T: Indicators> Indicators for Erased<T>
where
    T::Error: fmt::Display,
{
    fn set(&mut self, light: Light, on: bool) -> Result<(), DeviceError> {
        self.inner.set(light, on).map_err(|e| self.map(e))
    }
}

impl<T: Sensors> Sensors for Erased<T>
where
    T::Error: fmt::Display,
{
    fn read(&mut self) -> Result<SensorState, DeviceError> {
        self.inner.read().map_err(|e| self.map(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hal::indicators::{PinError, PinIndicators};

    #[derive(Debug)]
    struct Broken;

    impl embedded_hal::digital::Error for Broken {
        fn kind(&self) -> embedded_hal::digital::ErrorKind {
            embedded_hal::digital::ErrorKind::Other
        }
    }

    struct BrokenPin;

    impl embedded_hal::digital::ErrorType for BrokenPin {
        type Error = Broken;
    }

    impl embedded_hal::digital::OutputPin for BrokenPin {
        fn set_low(&mut self) -> Result<(), Broken> {
            Err(Broken)
        }
        fn set_high(&mut self) -> Result<(), Broken> {
            Err(Broken)
        }
    }

    #[test]
    fn erased_errors_keep_the_kind_and_name_the_device() {
        let lights = PinIndicators::new().with(Light::Fault, BrokenPin, false);
        let mut erased = Erased::new("indicators", lights);
        let err = erased.set(Light::Fault, true).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.device(), "indicators");
        let expected = PinError {
            light: Light::Fault,
            kind: ErrorKind::Io,
        };
        assert_eq!(err.message(), expected.to_string());
    }
}
