//! Speakers of the boards: spoken guidance through espeak-ng.
//!
//! - [`EspeakSpeaker`]: the kiosk's loudspeaker; `espeak-ng -v vi "text"`
//!   in the background, the previous utterance cut off by the next.
//! - [`WavSpeaker`]: the simulator's; `espeak-ng -v vi -w FILE "text"`
//!   writes one numbered WAV file per utterance into a folder, so tests and
//!   testers can listen to (and check) what the kiosk said.
//!
//! Guidance texts carry no personal data (they are the screens' fixed
//! words), so neither the sound nor the files do.

use crate::drivers::DeviceError;
use kiosk_hal::speaker::{Speaker, Voice};
use kiosk_hal::{ErrorKind, ErrorType};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A speaker of any board.
pub trait SpeakerDevice: Speaker<Error = DeviceError> + Send {}
impl<T: Speaker<Error = DeviceError> + Send> SpeakerDevice for T {}

const PROGRAM: &str = "espeak-ng";

fn spawn_error(e: &std::io::Error) -> DeviceError {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotPresent
    } else {
        ErrorKind::Io
    };
    DeviceError::new("speaker", kind, format!("cannot run {PROGRAM}: {e}"))
}

/// Plays guidance on the sound device through espeak-ng.
#[derive(Debug)]
pub struct EspeakSpeaker {
    playing: Option<Child>,
    rate_wpm: u32,
    amplitude: u32,
}

impl Default for EspeakSpeaker {
    fn default() -> Self {
        EspeakSpeaker {
            playing: None,
            rate_wpm: 150,
            amplitude: 100,
        }
    }
}

impl EspeakSpeaker {
    /// A speaker on the default sound device.
    pub fn new() -> EspeakSpeaker {
        EspeakSpeaker::default()
    }

    /// A speaker at `rate_wpm` words per minute and `amplitude` (0–200).
    pub fn with_voice(rate_wpm: u32, amplitude: u32) -> EspeakSpeaker {
        EspeakSpeaker {
            playing: None,
            rate_wpm,
            amplitude,
        }
    }

    /// The board's speaker as its configuration describes it; `None` when a
    /// Linux board's `[linux.speaker]` says `enabled = false`.
    pub fn for_board(config: &crate::config::Config) -> Option<EspeakSpeaker> {
        match &config.linux {
            Some(linux) if !linux.speaker.enabled => None,
            Some(linux) => Some(EspeakSpeaker::with_voice(
                linux.speaker.rate_wpm,
                linux.speaker.amplitude,
            )),
            None => Some(EspeakSpeaker::new()),
        }
    }

    fn cut(&mut self) {
        if let Some(mut child) = self.playing.take() {
            // Already finished is fine; either way it is reaped.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl ErrorType for EspeakSpeaker {
    type Error = DeviceError;
}

impl Speaker for EspeakSpeaker {
    fn say(&mut self, voice: Voice, text: &str) -> Result<(), DeviceError> {
        self.cut();
        let child = Command::new(PROGRAM)
            .args(["-v", voice.espeak_name()])
            .arg("-s")
            .arg(self.rate_wpm.to_string())
            .arg("-a")
            .arg(self.amplitude.to_string())
            .arg("--")
            .arg(text)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| spawn_error(&e))?;
        self.playing = Some(child);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), DeviceError> {
        self.cut();
        Ok(())
    }
}

impl Drop for EspeakSpeaker {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Writes each utterance as a WAV file (`0001-vi.wav`, ...) into a folder.
#[derive(Debug)]
pub struct WavSpeaker {
    dir: PathBuf,
    next: u32,
    files: Vec<PathBuf>,
}

impl WavSpeaker {
    /// A speaker writing into `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<WavSpeaker, DeviceError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            DeviceError::new(
                "speaker",
                ErrorKind::Io,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        Ok(WavSpeaker {
            dir: dir.to_owned(),
            next: 1,
            files: Vec::new(),
        })
    }

    /// The files written so far, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl ErrorType for WavSpeaker {
    type Error = DeviceError;
}

impl Speaker for WavSpeaker {
    fn say(&mut self, voice: Voice, text: &str) -> Result<(), DeviceError> {
        let path = self
            .dir
            .join(format!("{:04}-{}.wav", self.next, voice.espeak_name()));
        self.next += 1;
        let status = Command::new(PROGRAM)
            .args(["-v", voice.espeak_name(), "-s", "150", "-w"])
            .arg(&path)
            .arg("--")
            .arg(text)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| spawn_error(&e))?;
        if !status.success() {
            return Err(DeviceError::new(
                "speaker",
                ErrorKind::Io,
                format!("{PROGRAM} failed ({status})"),
            ));
        }
        self.files.push(path);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]
    use super::*;

    #[test]
    fn the_sim_speaker_writes_a_vietnamese_wav_per_utterance() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = WavSpeaker::new(dir.path()).expect("speaker");
        s.say(Voice::Vietnamese, "Xin chào. Vui lòng đặt thẻ căn cước.")
            .expect("espeak-ng is installed (cargo xtask setup)");
        s.say(Voice::English, "Welcome").expect("speaks English");
        assert_eq!(s.files().len(), 2);
        let wav = std::fs::read(&s.files()[0]).expect("the file is there");
        assert_eq!(wav.get(0..4), Some(&b"RIFF"[..]));
        assert_eq!(wav.get(8..12), Some(&b"WAVE"[..]));
        assert!(wav.len() > 10_000, "a second of speech or more");
        assert!(s.files()[1].ends_with("0002-en.wav"));
    }
}
