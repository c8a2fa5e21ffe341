#![no_main]
//! Fuzz target: reader_sm, a hostile chip past the handshake (issue 13).
//! The reader (ICAO 9303-11 PACE, secure messaging §9.8, 9303-10 file
//! reading, Active and Chip Authentication) reads the simulator's
//! `cccd-2021` virtual chip for real; the fuzzer changes the chip's answers
//! under secure messaging *before the chip protects them*
//! (`VirtualChip::process_with`), so every tampered answer still carries a
//! valid MAC and reaches `sm::unprotect`'s object checks, the file
//! parsers, AA and CA. A finished read goes on through the verification
//! policy (`trust::evaluate`, `trust::permits`). Run with
//! `cargo xtask fuzz reader_sm`.
//!
//! Input: a stream of edit instructions, consumed one per protected answer
//! and one per object list (see `Edits`). An empty input is a genuine read.
use kiosk_firmware::apdu::StatusWord;
use kiosk_firmware::cccd::KeyCandidate;
use kiosk_firmware::cccd::date::Date;
use kiosk_firmware::icao::pa::TrustList;
use kiosk_firmware::icao::reader::{DocumentReader, Output, ReadOptions};
use kiosk_firmware::session::AccessKey;
use kiosk_firmware::testkit::CardProfile;
use kiosk_firmware::testkit::chip::Tamper;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

const QR: &str = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";

struct Fixture {
    profile: CardProfile,
    base: std::path::PathBuf,
    trust: TrustList,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board/sim/cards/cccd-2021.toml");
        let (profile, base) = CardProfile::load(&path).expect("the simulator's card profile");
        let csca = kiosk_firmware::testkit::pki::simulator_pki()
            .expect("the simulator's PKI")
            .csca;
        Fixture {
            profile,
            base,
            trust: TrustList::new(vec![csca]),
        }
    })
}

/// The fuzzer's edits, read from the input as the chip answers.
struct Edits<'a> {
    rest: &'a [u8],
}

impl Edits<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(*b)
    }

    fn chunk(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte().unwrap_or(0)).min(self.rest.len());
        let (chunk, rest) = self.rest.split_at(len);
        self.rest = rest;
        chunk.to_vec()
    }
}

impl Tamper for Edits<'_> {
    fn plain(&mut self, _ins: u8, data: &mut Vec<u8>, sw: &mut StatusWord) {
        match self.byte().map(|b| b % 8) {
            Some(1) => *data = self.chunk(),
            Some(2) => {
                let hi = self.byte().unwrap_or(0x90);
                let lo = self.byte().unwrap_or(0);
                *sw = StatusWord(u16::from_be_bytes([hi, lo]));
            }
            Some(3) => {
                let at = usize::from(self.byte().unwrap_or(0));
                data.truncate(at);
            }
            Some(4) => {
                let at = usize::from(self.byte().unwrap_or(0));
                let value = self.byte().unwrap_or(0);
                if let Some(b) = data.get_mut(at) {
                    *b ^= value;
                }
            }
            Some(5) => {
                let extra = self.chunk();
                data.extend_from_slice(&extra);
            }
            _ => {}
        }
    }

    fn objects(&mut self, objects: &mut Vec<u8>) {
        match self.byte().map(|b| b % 8) {
            Some(1) => {
                let extra = self.chunk();
                objects.extend_from_slice(&extra);
            }
            Some(2) => {
                let extra = self.chunk();
                objects.splice(0..0, extra);
            }
            Some(3) => {
                let at = usize::from(self.byte().unwrap_or(0));
                objects.truncate(at);
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(mut chip) = f.profile.chip(&f.base) else {
        return;
    };
    let keys = vec![KeyCandidate::Can("000001".into())];
    let mut reader = DocumentReader::new(keys, [1; 32], ReadOptions::default());
    let mut edits = Edits { rest: data };
    for _ in 0..600 {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                let response = chip.process_with(&apdu, &mut edits);
                reader.handle_response(&response);
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(Ok(document))) => {
                let today = Date::new(2026, 11, 25).expect("a date");
                let key = AccessKey::CardQr(QR.into());
                let (trust, _records) = kiosk_firmware::trust::evaluate(
                    &document,
                    &key,
                    &f.trust,
                    1_795_564_800,
                    today,
                );
                let policy = kiosk_firmware::trust::Policy::default();
                let _ = kiosk_firmware::trust::permits(
                    &policy,
                    &trust,
                    kiosk_firmware::trust::Purpose::Identify,
                );
                break;
            }
            Some(Output::Done(Err(_))) | None => break,
        }
    }
});
