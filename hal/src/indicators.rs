//! Status lights and the buzzer.
//!
//! The firmware says which [`Light`] is on; [`PinIndicators`] maps that onto
//! GPIO lines through `embedded_hal::digital::OutputPin`, so a board only has
//! to provide pins (linux-embedded-hal's `CdevPin`, the simulator's virtual
//! pins, or embedded-hal-mock pins in tests).

use crate::{Error, ErrorKind, ErrorType};
use embedded_hal::digital::OutputPin;

/// One light (or the buzzer) the kiosk can switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Light {
    /// Green ring segment: the kiosk is ready for a citizen.
    Ready,
    /// Amber ring segment: the kiosk is working (reading, printing).
    Busy,
    /// Red ring segment: the kiosk needs staff.
    Fault,
    /// The light under the card cradle that shows where to put the card.
    CardSlot,
    /// The buzzer (on = sounding).
    Buzzer,
}

impl Light {
    /// Every light, in a fixed order.
    pub const ALL: [Light; 5] = [
        Light::Ready,
        Light::Busy,
        Light::Fault,
        Light::CardSlot,
        Light::Buzzer,
    ];

    /// A stable lowercase name, for configuration files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Light::Ready => "ready",
            Light::Busy => "busy",
            Light::Fault => "fault",
            Light::CardSlot => "card_slot",
            Light::Buzzer => "buzzer",
        }
    }
}

/// Lights and buzzer of a kiosk.
pub trait Indicators: ErrorType {
    /// Switches `light` on or off. A light the board does not have is
    /// silently accepted (a kiosk without a buzzer simply stays quiet), so the
    /// firmware never has to know the fitting of a board.
    ///
    /// Errors: [`ErrorKind::Io`] when the GPIO line cannot be driven.
    fn set(&mut self, light: Light, on: bool) -> Result<(), Self::Error>;

    /// Switches every light off. The default calls [`Indicators::set`] for
    /// each light and reports the first error after trying them all.
    fn all_off(&mut self) -> Result<(), Self::Error> {
        let mut first = None;
        for light in Light::ALL {
            if let Err(e) = self.set(light, false) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl<T: Indicators + ?Sized> Indicators for &mut T {
    fn set(&mut self, light: Light, on: bool) -> Result<(), Self::Error> {
        T::set(self, light, on)
    }
}

/// The error of [`PinIndicators`]: which light failed and the pin's error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinError {
    /// The light whose pin could not be driven.
    pub light: Light,
    /// The kind the pin reported.
    pub kind: ErrorKind,
}

impl Error for PinError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl core::fmt::Display for PinError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "cannot drive the {} line: {}",
            self.light.name(),
            self.kind
        )
    }
}

impl std::error::Error for PinError {}

/// Maps an `embedded_hal` digital error kind onto ours.
fn map_digital(kind: embedded_hal::digital::ErrorKind) -> ErrorKind {
    match kind {
        embedded_hal::digital::ErrorKind::Other => ErrorKind::Io,
        _ => ErrorKind::Other,
    }
}

/// One output line, with its polarity.
#[derive(Debug)]
pub struct IndicatorPin<P> {
    /// The GPIO line.
    pub pin: P,
    /// `true` when the light is on with the line low (common-anode LEDs,
    /// relay boards).
    pub active_low: bool,
}

/// [`Indicators`] over a set of `OutputPin`s, one optional pin per [`Light`].
#[derive(Debug)]
pub struct PinIndicators<P> {
    ready: Option<IndicatorPin<P>>,
    busy: Option<IndicatorPin<P>>,
    fault: Option<IndicatorPin<P>>,
    card_slot: Option<IndicatorPin<P>>,
    buzzer: Option<IndicatorPin<P>>,
}

impl<P> Default for PinIndicators<P> {
    fn default() -> Self {
        PinIndicators {
            ready: None,
            busy: None,
            fault: None,
            card_slot: None,
            buzzer: None,
        }
    }
}

impl<P: OutputPin> PinIndicators<P> {
    /// No lights fitted yet; add them with [`PinIndicators::with`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Fits `light` to `pin`.
    pub fn with(mut self, light: Light, pin: P, active_low: bool) -> Self {
        *self.slot_mut(light) = Some(IndicatorPin { pin, active_low });
        self
    }

    /// Whether `light` has a pin.
    pub fn is_fitted(&self, light: Light) -> bool {
        self.slot(light).is_some()
    }

    /// Gives the pins back (for tests that check mocks with `.done()`).
    pub fn into_pins(self) -> Vec<(Light, P)> {
        let PinIndicators {
            ready,
            busy,
            fault,
            card_slot,
            buzzer,
        } = self;
        [
            (Light::Ready, ready),
            (Light::Busy, busy),
            (Light::Fault, fault),
            (Light::CardSlot, card_slot),
            (Light::Buzzer, buzzer),
        ]
        .into_iter()
        .filter_map(|(l, p)| p.map(|p| (l, p.pin)))
        .collect()
    }

    fn slot(&self, light: Light) -> &Option<IndicatorPin<P>> {
        match light {
            Light::Ready => &self.ready,
            Light::Busy => &self.busy,
            Light::Fault => &self.fault,
            Light::CardSlot => &self.card_slot,
            Light::Buzzer => &self.buzzer,
        }
    }

    fn slot_mut(&mut self, light: Light) -> &mut Option<IndicatorPin<P>> {
        match light {
            Light::Ready => &mut self.ready,
            Light::Busy => &mut self.busy,
            Light::Fault => &mut self.fault,
            Light::CardSlot => &mut self.card_slot,
            Light::Buzzer => &mut self.buzzer,
        }
    }
}

impl<P: OutputPin> ErrorType for PinIndicators<P> {
    type Error = PinError;
}

impl<P: OutputPin> Indicators for PinIndicators<P> {
    fn set(&mut self, light: Light, on: bool) -> Result<(), PinError> {
        let Some(line) = self.slot_mut(light) else {
            return Ok(());
        };
        let high = on != line.active_low;
        let result = if high {
            line.pin.set_high()
        } else {
            line.pin.set_low()
        };
        result.map_err(|e| PinError {
            light,
            kind: map_digital(embedded_hal::digital::Error::kind(&e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};

    #[test]
    fn pin_indicators_drive_lines_with_their_polarity() {
        let ready = PinMock::new(&[PinTx::set(State::High), PinTx::set(State::Low)]);
        // Active low: on = line low.
        let fault = PinMock::new(&[PinTx::set(State::Low), PinTx::set(State::High)]);
        let mut lights =
            PinIndicators::new()
                .with(Light::Ready, ready, false)
                .with(Light::Fault, fault, true);
        lights.set(Light::Ready, true).unwrap();
        lights.set(Light::Fault, true).unwrap();
        lights.set(Light::Ready, false).unwrap();
        lights.set(Light::Fault, false).unwrap();
        for (_, mut pin) in lights.into_pins() {
            pin.done();
        }
    }

    #[test]
    fn an_unfitted_light_is_accepted_silently() {
        let mut lights: PinIndicators<PinMock> = PinIndicators::new();
        assert!(!lights.is_fitted(Light::Buzzer));
        assert_eq!(lights.set(Light::Buzzer, true), Ok(()));
    }

    #[test]
    fn a_failing_line_reports_which_light_failed() {
        let err = embedded_hal_mock::eh1::MockError::Io(std::io::ErrorKind::BrokenPipe);
        let busy = PinMock::new(&[PinTx::set(State::High).with_error(err)]);
        let mut lights = PinIndicators::new().with(Light::Busy, busy, false);
        assert_eq!(
            lights.set(Light::Busy, true),
            Err(PinError {
                light: Light::Busy,
                kind: ErrorKind::Io
            })
        );
        for (_, mut pin) in lights.into_pins() {
            pin.done();
        }
    }

    #[test]
    fn all_off_switches_every_fitted_light_off() {
        let slot = PinMock::new(&[PinTx::set(State::Low)]);
        let buzzer = PinMock::new(&[PinTx::set(State::Low)]);
        let mut lights = PinIndicators::new()
            .with(Light::CardSlot, slot, false)
            .with(Light::Buzzer, buzzer, false);
        lights.all_off().unwrap();
        for (_, mut pin) in lights.into_pins() {
            pin.done();
        }
    }
}
