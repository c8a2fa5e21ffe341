//! The kiosk's input switches: the cabinet's tamper switch and the
//! presence sensor in front of the screen.
//!
//! [`PinSensors`] reads them through `embedded_hal::digital::InputPin`, so a
//! board only provides pins (linux-embedded-hal's `CdevPin`, the
//! simulator's virtual lines, embedded-hal-mock pins in tests). Edges and
//! debouncing are the runtime's business; a read is the lines' state now.

use crate::{Error, ErrorKind, ErrorType};
use embedded_hal::digital::InputPin;

/// The state of the input switches at one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SensorState {
    /// The cabinet is open (tamper switch released).
    pub tampered: bool,
    /// Someone stands in front of the kiosk.
    pub presence: bool,
}

/// A kiosk's input switches.
pub trait Sensors: ErrorType {
    /// Reads every switch. A switch the board does not have reads as
    /// "not tampered" / "nobody there".
    ///
    /// Errors: [`ErrorKind::Io`] when a GPIO line cannot be read.
    fn read(&mut self) -> Result<SensorState, Self::Error>;
}

impl<T: Sensors + ?Sized> Sensors for &mut T {
    fn read(&mut self) -> Result<SensorState, Self::Error> {
        T::read(self)
    }
}

/// One input line, with its polarity.
#[derive(Debug)]
pub struct SensorPin<P> {
    /// The GPIO line.
    pub pin: P,
    /// `true` when the switch is active with the line low (a pull-up and a
    /// switch to ground, the usual wiring).
    pub active_low: bool,
}

/// The error of [`PinSensors`]: which switch failed and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorError {
    /// `"tamper"` or `"presence"`.
    pub switch: &'static str,
    /// The kind the pin reported.
    pub kind: ErrorKind,
}

impl Error for SensorError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl core::fmt::Display for SensorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "cannot read the {} line: {}", self.switch, self.kind)
    }
}

impl std::error::Error for SensorError {}

/// [`Sensors`] over optional input pins.
#[derive(Debug)]
pub struct PinSensors<P> {
    /// The tamper switch: active means the cabinet is open.
    pub tamper: Option<SensorPin<P>>,
    /// The presence sensor: active means someone is there.
    pub presence: Option<SensorPin<P>>,
}

impl<P> Default for PinSensors<P> {
    fn default() -> Self {
        PinSensors {
            tamper: None,
            presence: None,
        }
    }
}

fn active<P: InputPin>(
    line: &mut Option<SensorPin<P>>,
    switch: &'static str,
) -> Result<bool, SensorError> {
    let Some(line) = line else {
        return Ok(false);
    };
    let high = line.pin.is_high().map_err(|e| SensorError {
        switch,
        kind: match embedded_hal::digital::Error::kind(&e) {
            embedded_hal::digital::ErrorKind::Other => ErrorKind::Io,
            _ => ErrorKind::Other,
        },
    })?;
    Ok(high != line.active_low)
}

impl<P: InputPin> ErrorType for PinSensors<P> {
    type Error = SensorError;
}

impl<P: InputPin> Sensors for PinSensors<P> {
    fn read(&mut self) -> Result<SensorState, SensorError> {
        Ok(SensorState {
            tampered: active(&mut self.tamper, "tamper")?,
            presence: active(&mut self.presence, "presence")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};

    #[test]
    fn switches_are_read_with_their_polarity() {
        // Tamper wired active-low: low = cabinet open.
        let tamper = PinMock::new(&[PinTx::get(State::High), PinTx::get(State::Low)]);
        let presence = PinMock::new(&[PinTx::get(State::Low), PinTx::get(State::High)]);
        let mut s = PinSensors {
            tamper: Some(SensorPin {
                pin: tamper,
                active_low: true,
            }),
            presence: Some(SensorPin {
                pin: presence,
                active_low: false,
            }),
        };
        assert_eq!(
            s.read(),
            Ok(SensorState {
                tampered: false,
                presence: false
            })
        );
        assert_eq!(
            s.read(),
            Ok(SensorState {
                tampered: true,
                presence: true
            })
        );
        for line in [s.tamper.take(), s.presence.take()].into_iter().flatten() {
            let mut pin = line.pin;
            pin.done();
        }
    }

    #[test]
    fn missing_switches_read_as_quiet_and_a_broken_line_is_named() {
        let mut none: PinSensors<PinMock> = PinSensors::default();
        assert_eq!(none.read(), Ok(SensorState::default()));
        let err = embedded_hal_mock::eh1::MockError::Io(std::io::ErrorKind::BrokenPipe);
        let presence = PinMock::new(&[PinTx::get(State::High).with_error(err)]);
        let mut s = PinSensors {
            tamper: None,
            presence: Some(SensorPin {
                pin: presence,
                active_low: false,
            }),
        };
        assert_eq!(
            s.read(),
            Err(SensorError {
                switch: "presence",
                kind: ErrorKind::Io
            })
        );
        if let Some(line) = s.presence.take() {
            let mut pin = line.pin;
            pin.done();
        }
    }
}
