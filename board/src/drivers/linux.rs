//! Real kiosk boards running Linux (Raspberry Pi 4/CM4, RK3568/RK3588
//! boards with Debian): the devices named by the `[linux]` section of a
//! board configuration.
//!
//! - Card reader: a PC/SC reader chosen by a substring of its name (ACR1252U
//!   and other CCID readers, through pcscd), or a libnfc connection string
//!   (PN532 over UART, I2C or SPI; `pcsc:NAME` for a PC/SC reader through
//!   libnfc).
//! - Camera: a V4L2 device node (`board::v4l2`, feature `face`).
//! - Printer: an ESC/POS port (`usb:/dev/usb/lp0`, `serial:...`, `tcp:...`).
//! - GPIO: output lines for the lights and buzzer, input lines for the tamper
//!   switch and the presence sensor, on one `/dev/gpiochipN`, through
//!   linux-embedded-hal's `CdevPin` (the character-device GPIO ABI).
//!
//! Parsing and validation (`crate::config::linux`) are always built (so configurations are checked
//! on any machine); opening the devices needs the `linux` feature. A device
//! that cannot be opened at start (a reader unplugged, no camera) does not
//! stop the kiosk: it stands in as a device that reports `NotPresent`, the
//! journey shows the matching screen, and `kioskctl doctor` says what to fix.

#[cfg(feature = "linux")]
pub use self::board::LinuxBoard;

#[cfg(feature = "linux")]
mod board {
    use crate::config::linux::{LinuxConfig, ReaderConfig};
    use crate::drivers::{DeviceError, Devices, Erased, ReaderDevice};
    use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, Presence};
    use kiosk_hal::indicators::{Light, PinIndicators};
    use kiosk_hal::sensors::{PinSensors, SensorPin};
    use kiosk_hal::{ErrorKind, ErrorType};
    use linux_embedded_hal::CdevPin;
    use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};

    /// A device that could not be opened at start: every call reports
    /// `NotPresent` with the reason, so the kiosk runs and doctor explains.
    #[derive(Debug)]
    pub(crate) struct Missing {
        device: &'static str,
        reason: String,
    }

    impl Missing {
        fn error(&self) -> DeviceError {
            DeviceError::new(self.device, ErrorKind::NotPresent, self.reason.clone())
        }
    }

    impl ErrorType for Missing {
        type Error = DeviceError;
    }

    impl CardReader for Missing {
        fn presence(&mut self) -> Result<Presence, DeviceError> {
            Err(self.error())
        }
        fn connect(&mut self) -> Result<CardInfo, DeviceError> {
            Err(self.error())
        }
        fn disconnect(&mut self) -> Result<(), DeviceError> {
            Ok(())
        }
    }

    impl ApduTransport for Missing {
        fn transmit(&mut self, _: &[u8], _: &mut [u8]) -> Result<usize, DeviceError> {
            Err(self.error())
        }
    }

    impl kiosk_hal::indicators::Indicators for Missing {
        fn set(&mut self, _: Light, _: bool) -> Result<(), DeviceError> {
            Err(self.error())
        }
    }

    impl kiosk_hal::sensors::Sensors for Missing {
        fn read(&mut self) -> Result<kiosk_hal::sensors::SensorState, DeviceError> {
            Err(self.error())
        }
    }

    /// What the board's build noticed (devices standing in as missing).
    #[derive(Debug, Default)]
    pub struct BuildNotes {
        /// `(device, reason)` of each device that could not be opened.
        pub missing: Vec<(&'static str, String)>,
    }

    /// The Linux board.
    #[derive(Debug)]
    pub struct LinuxBoard;

    impl LinuxBoard {
        /// Opens the devices `config` names.
        pub fn build(config: &LinuxConfig) -> (Devices, BuildNotes) {
            let mut notes = BuildNotes::default();
            let mut missing = |device: &'static str, reason: String| {
                tracing::error!(device, %reason, "device unavailable at start");
                notes.missing.push((device, reason.clone()));
                Missing { device, reason }
            };
            let reader: Box<dyn ReaderDevice> = match open_reader(&config.card_reader) {
                Ok(r) => r,
                Err(reason) => Box::new(missing("card_reader", reason)),
            };
            let camera = camera(config);
            let printer = Box::new(Erased::new(
                "printer",
                crate::drivers::printer::EscposPrinter::new(config.printer.port.clone()),
            ));
            let (indicators, sensors): (
                Box<dyn crate::drivers::IndicatorDevice>,
                Box<dyn crate::drivers::SensorDevice>,
            ) = match &config.gpio {
                None => (
                    Box::new(Erased::new("indicators", PinIndicators::<CdevPin>::new())),
                    Box::new(Erased::new("sensors", PinSensors::<CdevPin>::default())),
                ),
                Some(gpio) => match open_gpio(gpio) {
                    Ok((i, s)) => (
                        Box::new(Erased::new("indicators", i)),
                        Box::new(Erased::new("sensors", s)),
                    ),
                    Err(reason) => (
                        Box::new(missing("indicators", reason.clone())),
                        Box::new(missing("sensors", reason)),
                    ),
                },
            };
            let devices = Devices {
                board: format!("linux:{}", config.name),
                reader,
                camera,
                printer,
                indicators,
                sensors,
            };
            (devices, notes)
        }
    }

    fn open_reader(config: &ReaderConfig) -> Result<Box<dyn ReaderDevice>, String> {
        match config {
            ReaderConfig::Pcsc {
                name,
                extended_length,
            } => crate::drivers::pcsc::PcscReader::open(name, *extended_length)
                .map(|r| Box::new(Erased::new("card_reader", r)) as Box<dyn ReaderDevice>)
                .map_err(|e| format!("PC/SC reader {name:?}: {e}")),
            #[cfg(feature = "nfc")]
            ReaderConfig::Nfc {
                connstring,
                extended_length,
            } => crate::drivers::nfc::NfcReader::open(connstring, *extended_length)
                .map(|r| Box::new(Erased::new("card_reader", r)) as Box<dyn ReaderDevice>)
                .map_err(|e| format!("libnfc device {connstring:?}: {e}")),
            #[cfg(not(feature = "nfc"))]
            ReaderConfig::Nfc { .. } => {
                Err("this build has no libnfc support (feature `nfc`)".into())
            }
        }
    }

    #[cfg(feature = "face")]
    fn camera(config: &LinuxConfig) -> Box<dyn crate::drivers::CameraDevice> {
        Box::new(Erased::new(
            "camera",
            crate::drivers::v4l2::V4l2Camera::new(
                &config.camera.device,
                config.camera.width,
                config.camera.height,
            ),
        ))
    }

    #[cfg(not(feature = "face"))]
    fn camera(_config: &LinuxConfig) -> Box<dyn crate::drivers::CameraDevice> {
        Box::new(MissingCamera)
    }

    #[cfg(not(feature = "face"))]
    #[derive(Debug)]
    struct MissingCamera;

    #[cfg(not(feature = "face"))]
    impl ErrorType for MissingCamera {
        type Error = DeviceError;
    }

    #[cfg(not(feature = "face"))]
    impl kiosk_hal::camera::Camera for MissingCamera {
        fn start(&mut self) -> Result<kiosk_hal::camera::FrameFormat, DeviceError> {
            Err(DeviceError::new(
                "camera",
                ErrorKind::NotPresent,
                "this build has no camera support (feature `face`)",
            ))
        }
        fn capture(&mut self, _: &mut kiosk_hal::camera::Frame) -> Result<(), DeviceError> {
            self.start().map(drop)
        }
        fn stop(&mut self) -> Result<(), DeviceError> {
            Ok(())
        }
    }

    type Gpio = (PinIndicators<CdevPin>, PinSensors<CdevPin>);

    fn open_gpio(config: &crate::config::linux::GpioConfig) -> Result<Gpio, String> {
        let chip_path = &config.chip;
        let mut chip = Chip::new(chip_path)
            .map_err(|e| format!("linux.gpio.chip {}: {e}", chip_path.display()))?;
        let mut line = |offset: u32, flags: LineRequestFlags, field: &str| {
            chip.get_line(offset)
                .and_then(|l| l.request(flags, 0, "cccd-kiosk"))
                .and_then(CdevPin::new)
                .map_err(|e| format!("{field} (line {offset} of {}): {e}", chip_path.display()))
        };
        let mut lights = PinIndicators::new();
        for (name, l) in &config.outputs {
            let light = Light::ALL
                .into_iter()
                .find(|x| x.name() == name)
                .ok_or_else(|| format!("linux.gpio.outputs.{name}: no such light"))?;
            let pin = line(
                l.line,
                LineRequestFlags::OUTPUT,
                &format!("linux.gpio.outputs.{name}"),
            )?;
            lights = lights.with(light, pin, l.active_low);
        }
        let mut input = |l: Option<crate::config::linux::Line>, field: &str| {
            l.map(|l| {
                line(l.line, LineRequestFlags::INPUT, field).map(|pin| SensorPin {
                    pin,
                    active_low: l.active_low,
                })
            })
            .transpose()
        };
        let sensors = PinSensors {
            tamper: input(config.tamper, "linux.gpio.inputs.tamper")?,
            presence: input(config.presence, "linux.gpio.inputs.presence")?,
        };
        Ok((lights, sensors))
    }
}
