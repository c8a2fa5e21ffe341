//! Writes the seed corpus of the fuzz targets in `firmware/fuzz` from the
//! project's own fixtures: the files a genuine read of each simulator card
//! (`board/sim/cards/*.toml`, VirtualChip) yields, the reader's transcript
//! of a full read (ICAO 9303-11 PACE and BAC, 9303-10 files), the card QR
//! and MRZ of each card, a small ESC/POS ticket and a JPEG 2000 SIZ header.
//!
//! `cargo xtask fuzz --seeds` runs it; by hand:
//! `cargo run -p kiosk-firmware --all-features --example fuzz_seeds -- firmware/fuzz/seeds`.
//! The output is deterministic: rerunning it after a change to the card
//! side shows in `git diff` which seeds changed.

use kiosk_firmware::cccd::qr::CardQr;
use kiosk_firmware::cccd::{self, KeyCandidate};
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::reader::{Document, DocumentReader, Output, ReadOptions};
use kiosk_firmware::testkit::chip::VirtualChip;
use kiosk_firmware::testkit::{CardProfile, Protocol, cccd_mrz};
use kiosk_firmware::ticket::escpos::encode_ticket;
use kiosk_firmware::ticket::raster::Bitmap;
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

/// The keys and randomness the `reader` fuzz target uses (they must match
/// `fuzz_targets/reader.rs` for its transcripts to replay).
fn reader_target_keys() -> Vec<KeyCandidate> {
    vec![
        KeyCandidate::Can("000001".into()),
        KeyCandidate::Mrz {
            document_number: "090000001".into(),
            date_of_birth: "900115".into(),
            date_of_expiry: "300115".into(),
        },
    ]
}
const READER_TARGET_SEED: [u8; 32] = [1; 32];

/// A full read of a chip.
struct Read {
    document: Document,
    /// The chip's responses framed as the `reader` target takes them
    /// (u16 big-endian length, bytes).
    transcript: Vec<u8>,
    /// The reader's commands.
    commands: Vec<Vec<u8>>,
}

/// Reads the chip to the end.
fn read(chip: &mut VirtualChip, keys: Vec<KeyCandidate>) -> Result<Read, Error> {
    let mut reader = DocumentReader::new(keys, READER_TARGET_SEED, ReadOptions::default());
    let mut transcript = Vec::new();
    let mut commands = Vec::new();
    loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                let response = chip.process(&apdu);
                transcript.extend_from_slice(&u16::try_from(response.len())?.to_be_bytes());
                transcript.extend_from_slice(&response);
                reader.handle_response(&response);
                commands.push(apdu);
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => {
                return Ok(Read {
                    document: result?,
                    transcript,
                    commands,
                });
            }
            None => return Err("the reader stalled".into()),
        }
    }
}

/// A read document as the `trust` target takes it: a header byte (chip
/// authentication confirmed, an AA answer present), then each file as a
/// tag, a 2-byte length and its bytes.
fn trust_input(doc: &Document) -> Vec<u8> {
    let mut out = vec![1 | 4];
    let mut put = |tag: u8, bytes: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    for (file, bytes) in &doc.files {
        match file {
            File::Com => put(0, bytes),
            File::Dg(n) => put(*n, bytes),
            File::Sod => put(29, bytes),
            _ => {}
        }
    }
    if let Some((_, Ok(answer))) = &doc.active_authentication {
        put(30, answer);
    }
    out
}

/// The card QR text of a profile (ID|old ID|name|birth|sex|residence|issue).
fn qr_text(profile: &CardProfile) -> String {
    let c = &profile.citizen;
    let date = |d: &str| d.replace('/', "");
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        c.id_number,
        c.old_id_number.clone().unwrap_or_default(),
        c.full_name,
        date(&c.date_of_birth),
        c.sex,
        c.place_of_residence,
        date(&c.date_of_issue),
    )
}

/// The `aa_verify` target's input: DG15, DG14, challenge, answer.
fn aa_input(dg15: &[u8], dg14: Option<&[u8]>, challenge: &[u8; 8], answer: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let framed = |v: &mut Vec<u8>, b: &[u8]| {
        v.extend_from_slice(&u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes());
        v.extend_from_slice(b);
    };
    framed(&mut v, dg15);
    v.push(u8::from(dg14.is_some()));
    framed(&mut v, dg14.unwrap_or_default());
    v.extend_from_slice(challenge);
    v.extend_from_slice(answer);
    v
}

/// A JPEG 2000 codestream header: SOC, SIZ with the given (XRsiz, YRsiz).
fn j2k_siz(comps: &[(u8, u8)]) -> Vec<u8> {
    let mut v = vec![0xFF, 0x4F, 0xFF, 0x51];
    v.extend_from_slice(&(38 + 3 * comps.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&[0; 32]);
    v.extend_from_slice(&(comps.len() as u16).to_be_bytes());
    for (x, y) in comps {
        v.extend_from_slice(&[7, *x, *y]);
    }
    v
}

struct Writer {
    dir: PathBuf,
    count: usize,
}

impl Writer {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        self.count += 1;
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("firmware/fuzz/seeds"));
    let mut w = Writer {
        dir: out.clone(),
        count: 0,
    };

    let mut cards: Vec<PathBuf> = std::fs::read_dir(root.join("board/sim/cards"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cards.sort();
    for path in &cards {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("card file name")?;
        // Not every file there is a card (staff.toml describes a staff member).
        let Ok((profile, base)) = CardProfile::load(path) else {
            println!("skipped {name}: not a card profile");
            continue;
        };
        let qr = qr_text(&profile);
        w.put("card_qr", name, qr.as_bytes())?;
        let mrz = cccd_mrz(&profile.citizen()).ok_or("the card has no MRZ")?;
        w.put("mrz", name, mrz.as_bytes())?;
        let keys = cccd::keys_from_qr(&CardQr::parse(&qr)?);
        let mut chip = profile.chip(&base)?;
        let Read {
            document: doc,
            commands,
            ..
        } = read(&mut chip, keys)?;
        for (file, bytes) in &doc.files {
            match file {
                File::Com => w.put("dg1", &format!("{name}-com"), bytes)?,
                File::Dg(1) => w.put("dg1", name, bytes)?,
                File::Dg(2) => w.put("dg2", name, bytes)?,
                File::Dg(13) => w.put("dg13", name, bytes)?,
                File::Dg(14) => {
                    w.put("ca_dg14", name, bytes)?;
                    w.put("sod", &format!("{name}-dg14"), bytes)?;
                }
                File::Sod => {
                    w.put("sod", name, bytes)?;
                    w.put("tlv", &format!("{name}-sod"), bytes)?;
                }
                _ => {}
            }
        }
        if let Some(ca) = &doc.card_access {
            w.put("card_access", name, ca)?;
        }
        if let Some(dg13) = doc.files.get(&File::Dg(13)) {
            w.put("tlv", &format!("{name}-dg13"), dg13)?;
        }
        if let (Some(dg15), Some((challenge, Ok(answer)))) =
            (doc.files.get(&File::Dg(15)), &doc.active_authentication)
        {
            let dg14 = doc.files.get(&File::Dg(14)).map(Vec::as_slice);
            w.put("aa_verify", name, &aa_input(dg15, dg14, challenge, answer))?;
            w.put(
                "aa_verify",
                &format!("{name}-no-dg14"),
                &aa_input(dg15, None, challenge, answer),
            )?;
        }
        w.put("trust", name, &trust_input(&doc))?;
        for (i, apdu) in commands.iter().take(6).enumerate() {
            w.put("apdu", &format!("{name}-{i}"), apdu)?;
        }
    }

    // The reader's transcripts: the 2021 card through PACE, then BAC only,
    // with the keys and randomness of the reader target.
    let card = root.join("board/sim/cards/cccd-2021.toml");
    for (label, protocols) in [
        ("cccd-2021-pace", vec![Protocol::Pace, Protocol::Bac]),
        ("cccd-2021-bac", vec![Protocol::Bac]),
    ] {
        let (mut profile, base) = CardProfile::load(&card)?;
        profile.chip.protocols = protocols;
        let mut chip = profile.chip(&base)?;
        let read = read(&mut chip, reader_target_keys())?;
        w.put("reader", label, &read.transcript)?;
    }

    // A small ticket: a 64×16 raster with a diagonal, as the printer gets it.
    let mut bitmap = Bitmap::new(64, 16);
    for i in 0..16 {
        bitmap.set(i * 4, i);
    }
    w.put("escpos", "small-ticket", &encode_ticket(&bitmap))?;
    w.put("j2k_siz", "siz-444", &j2k_siz(&[(1, 1), (1, 1), (1, 1)]))?;
    w.put("j2k_siz", "siz-420", &j2k_siz(&[(1, 1), (2, 2), (2, 2)]))?;

    // The trust store: a master list the target's anchor vouches for, the
    // simulator CSCA's CRL, and the OpenSSL-made interop fixtures.
    let sim = kiosk_firmware::testkit::pki::simulator_pki()?;
    let issuer = kiosk_firmware::testkit::pki::TestMasterListIssuer::new("YY", [0x11; 32], false)?;
    w.put(
        "trust_store",
        "master-list",
        &issuer.master_list(std::slice::from_ref(&sim.csca))?,
    )?;
    w.put(
        "trust_store",
        "crl",
        &kiosk_firmware::testkit::pki::simulator_crl()?,
    )?;
    let fixtures = root.join("firmware/tests/vectors/trust-store");
    for name in ["master-list.ml", "csca-zz.crl", "csca-zz.der"] {
        w.put("trust_store", name, &std::fs::read(fixtures.join(name))?)?;
    }

    println!("wrote {} seeds under {}", w.count, out.display());
    Ok(())
}
