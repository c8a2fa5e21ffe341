//! The hall display's call as sound: a two-tone chime synthesised here,
//! then the spoken call ("Mời số A001 đến quầy 3" / "Number A001, counter
//! 3") from `espeak-ng` (Debian package `espeak-ng`), as one WAV file
//! (RIFF, PCM 16-bit mono).
//!
//! - The number and counter are validated before anything runs: the
//!   number is 1–3 capital letters, an optional `U` (priority) and 3
//!   digits, the counter a `u16` from 1; espeak-ng is run directly (no
//!   shell), its text one argument.
//! - espeak-ng runs on a blocking worker, killed by PID after
//!   [`SPEECH_TIMEOUT`]; a call's WAV is cached.
//! - If espeak-ng is missing or fails, the chime alone is served and the
//!   failure is logged once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest espeak-ng may take.
pub const SPEECH_TIMEOUT: Duration = Duration::from_secs(5);

/// The sample rate of the chime and of espeak-ng's voices.
pub const SAMPLE_RATE: u32 = 22_050;

/// Cached calls before the cache is cleared.
const CACHE_MAX: usize = 256;

/// A language of the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Vietnamese (the default).
    Vi,
    /// English.
    En,
}

impl Lang {
    /// `vi` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Its code.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// Whether `number` is a display number: 1–3 capital letters, an optional
/// `U`, then 3 digits (`A001`, `BU012`).
pub fn valid_number(number: &str) -> bool {
    let b = number.as_bytes();
    if b.len() < 4 || b.len() > 7 {
        return false;
    }
    let (letters, digits) = b.split_at(b.len() - 3);
    digits.iter().all(u8::is_ascii_digit)
        && !letters.is_empty()
        && letters.len() <= 4
        && letters.iter().all(u8::is_ascii_uppercase)
}

/// The spoken call.
pub fn call_text(number: &str, counter: u16, lang: Lang) -> String {
    match lang {
        Lang::Vi => format!("Mời số {number} đến quầy {counter}"),
        Lang::En => format!("Number {number}, counter {counter}"),
    }
}

/// The chime: two tones (E6 then C6) with a quick attack and an
/// exponential decay, then a short silence; samples at [`SAMPLE_RATE`].
pub fn chime() -> Vec<i16> {
    let mut out = Vec::new();
    for (freq, secs) in [(1318.5_f32, 0.45_f32), (1046.5, 0.75)] {
        let n = (secs * SAMPLE_RATE as f32) as usize;
        for i in 0..n {
            let t = i as f32 / SAMPLE_RATE as f32;
            let attack = (t / 0.01).min(1.0);
            let decay = (-t * 4.0).exp();
            let v = (2.0 * std::f32::consts::PI * freq * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 2.0 * freq * t).sin();
            // Within ±1.3 × 0.45 × i16::MAX: no saturation.
            out.push((v * attack * decay * 0.45 * f32::from(i16::MAX)) as i16);
        }
    }
    out.extend(std::iter::repeat_n(0, (SAMPLE_RATE / 5) as usize));
    out
}

/// A WAV file of 16-bit mono `samples` at `rate`.
pub fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - 64);
    let mut w = Vec::with_capacity(44 + samples.len() * 2);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

/// The samples of a 16-bit mono PCM WAV at [`SAMPLE_RATE`] (espeak-ng's
/// output; its streamed header may overstate the data's size).
pub fn pcm_samples(wav: &[u8]) -> Option<Vec<i16>> {
    if wav.get(0..4)? != b"RIFF" || wav.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut format_ok = false;
    while at + 8 <= wav.len() {
        let id = wav.get(at..at + 4)?;
        let size = u32::from_le_bytes(wav.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"fmt " {
            let f = wav.get(body..body + 16)?;
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
            let bits = u16::from_le_bytes([f[14], f[15]]);
            format_ok = u16::from_le_bytes([f[0], f[1]]) == 1
                && channels == 1
                && rate == SAMPLE_RATE
                && bits == 16;
        } else if id == b"data" {
            if !format_ok {
                return None;
            }
            let end = body.saturating_add(size).min(wav.len());
            let data = wav.get(body..end)?;
            return Some(
                data.chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            );
        }
        at = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

/// A cached call: number, counter, language.
type CallKey = (String, u16, Lang);

/// The display's call sounds, cached.
#[derive(Debug, Default)]
pub struct CallAudio {
    cache: Mutex<HashMap<CallKey, Arc<Vec<u8>>>>,
    warned: AtomicBool,
    /// Tests: a program to run instead of `espeak-ng`.
    program: Option<String>,
}

impl CallAudio {
    /// Runs `program` instead of `espeak-ng` (tests).
    pub fn with_program(program: &str) -> CallAudio {
        CallAudio {
            program: Some(program.to_owned()),
            ..CallAudio::default()
        }
    }

    /// The WAV of the call of `number` to `counter` in `lang`: the chime,
    /// then the speech (or the chime alone if speech fails). `None` for a
    /// number or counter that is not valid.
    pub async fn call(&self, number: &str, counter: u16, lang: Lang) -> Option<Arc<Vec<u8>>> {
        if !valid_number(number) || counter == 0 {
            return None;
        }
        let key = (number.to_owned(), counter, lang);
        if let Some(hit) = self.cache.lock().ok()?.get(&key) {
            return Some(hit.clone());
        }
        let mut samples = chime();
        match self.speak(&call_text(number, counter, lang), lang).await {
            Ok(speech) => samples.extend(speech),
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "espeak-ng failed: the display plays the chime alone");
                }
            }
        }
        let wav = Arc::new(wav(&samples, SAMPLE_RATE));
        let mut cache = self.cache.lock().ok()?;
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, wav.clone());
        Some(wav)
    }

    async fn speak(&self, text: &str, lang: Lang) -> Result<Vec<i16>, String> {
        let program = self
            .program
            .clone()
            .unwrap_or_else(|| "espeak-ng".to_owned());
        let text = text.to_owned();
        let pid = Arc::new(AtomicI32::new(0));
        let child_pid = pid.clone();
        let task = tokio::task::spawn_blocking(move || {
            let child = std::process::Command::new(program)
                .args(["-v", lang.as_str(), "-s", "150", "--stdout", "--"])
                .arg(text)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run espeak-ng: {e}"))?;
            child_pid.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
            child
                .wait_with_output()
                .map_err(|e| format!("espeak-ng: {e}"))
        });
        let out = match tokio::time::timeout(SPEECH_TIMEOUT, task).await {
            Ok(Ok(r)) => r?,
            Ok(Err(e)) => return Err(format!("espeak-ng worker: {e}")),
            Err(_) => {
                let p = pid.load(Ordering::SeqCst);
                if p > 0 {
                    // Not yet reaped (its waiter still runs): the PID is ours.
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                return Err(format!("espeak-ng took over {SPEECH_TIMEOUT:?}"));
            }
        };
        if !out.status.success() {
            return Err(format!("espeak-ng exited with {}", out.status));
        }
        pcm_samples(&out.stdout)
            .ok_or_else(|| "espeak-ng's output is not 16-bit mono PCM at 22050 Hz".into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn only_display_numbers_are_spoken() {
        for ok in ["A001", "AU012", "ABC999", "ABCU001"] {
            assert!(valid_number(ok), "{ok}");
        }
        for bad in [
            "", "A01", "a001", "A00x", "A001;rm", "-v en", "ABCDE001", "001",
        ] {
            assert!(!valid_number(bad), "{bad}");
        }
    }

    #[test]
    fn the_chime_is_a_wav_that_reads_back() {
        let c = chime();
        let w = wav(&c, SAMPLE_RATE);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(pcm_samples(&w).unwrap(), c);
    }

    #[test]
    fn without_espeak_the_chime_alone_is_served() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let audio = CallAudio::with_program("/nonexistent/espeak-ng");
        let w = rt.block_on(audio.call("A001", 3, Lang::Vi)).unwrap();
        assert_eq!(pcm_samples(&w).unwrap(), chime());
        assert!(rt.block_on(audio.call("A001;x", 3, Lang::Vi)).is_none());
        assert!(rt.block_on(audio.call("A001", 0, Lang::Vi)).is_none());
    }
}
