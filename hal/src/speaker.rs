//! The loudspeaker: spoken guidance for every screen.
//!
//! The firmware hands over the words in a language ([`Voice`]); the board
//! turns them into sound (espeak-ng's Vietnamese and English voices on the
//! Linux board; WAV files on the simulator). Speaking never blocks the
//! journey for long: a board starts the utterance and returns, and a new
//! [`Speaker::say`] cuts the one before (the citizen has moved on).

use crate::ErrorType;

/// The voice to speak with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Voice {
    /// Tiếng Việt (espeak-ng `vi`).
    Vietnamese,
    /// English (espeak-ng `en`).
    English,
}

impl Voice {
    /// The espeak-ng voice name.
    pub fn espeak_name(self) -> &'static str {
        match self {
            Voice::Vietnamese => "vi",
            Voice::English => "en",
        }
    }
}

/// A loudspeaker that speaks texts.
pub trait Speaker: ErrorType {
    /// Starts saying `text` in `voice`, cutting off anything still being
    /// said.
    ///
    /// Errors: [`crate::ErrorKind::NotPresent`] when there is no speech
    /// engine or sound device; [`crate::ErrorKind::Io`] when it fails.
    fn say(&mut self, voice: Voice, text: &str) -> Result<(), Self::Error>;

    /// Stops speaking (the journey ended). The default does nothing.
    fn stop(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
