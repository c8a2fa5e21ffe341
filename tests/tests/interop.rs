//! Interoperability through real pcscd: the kiosk's reader against a chip
//! it did not make (vsmartcard's `vicc`, an ICAO ePassport in Python), and
//! the kiosk's virtual chip against readers it did not make (the crates
//! `dmrtd` and `emrtd`, run by `tools/interop-readers`).
//!
//! Every read goes through the binaries as a user runs them: `kioskctl card
//! read --json`, `kioskctl card emulate --json` (which reports the APDUs
//! its chip answered when stopped) and `interop-read --json`. They are
//! looked for beside this test's binary (`target/<profile>/`); `cargo test
//! --workspace` builds them. Each test prints its reads as one table row
//! each (reader, access control, APDUs the chip answered, time): the
//! figures of README's interop section.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::pcsc::PcscReader;
use kiosk_hal::card::{CardReader, Presence};
use kiosk_tests::pcscd::{Pcscd, READER_NAME};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A binary of the workspace, beside this test's own (`target/<profile>/`).
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test --workspace` builds it; alone, build it first with \
         `cargo build --all-features -p kiosk-board --bin kioskctl -p interop-readers`",
        path.display()
    );
    path
}

fn pcscd() -> Pcscd {
    Pcscd::start().unwrap_or_else(|e| panic!("this test needs pcscd with vpcd: {e}"))
}

/// Waits until pcscd reports the reader's slot `want` (it polls vpcd).
fn wait_for(want: Presence, daemon: &Pcscd) {
    let mut reader =
        PcscReader::open(READER_NAME, true).unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    for _ in 0..200 {
        if reader.presence().ok() == Some(want) {
            return;
        }
        #[expect(clippy::disallowed_methods, reason = "waiting for pcscd's polling")]
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the reader never reported {want:?}\n{}", daemon.log());
}

/// Runs a command to its end and parses its JSON output.
fn json_of(mut command: Command) -> serde_json::Value {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{command:?} printed no JSON ({e}), exit {}:\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `kioskctl card emulate --json` with a card profile, in the test's vpcd.
struct Emulated {
    child: Child,
}

impl Emulated {
    fn insert(profile: &str, daemon: &Pcscd) -> Emulated {
        let child = Command::new(bin("kioskctl"))
            .args(["--json", "card", "emulate", "--profile"])
            .arg(kiosk_tests::card_profile(profile))
            .arg("--vpcd-port")
            .arg(daemon.vpcd_addr().port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let emulated = Emulated { child };
        wait_for(Presence::Present, daemon);
        emulated
    }

    /// Stops the emulator (SIGTERM) and returns the APDUs its chip answered.
    fn remove(mut self, daemon: &Pcscd) -> u64 {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "kioskctl card emulate printed no JSON ({e}), exit {}:\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(report["ended"], "signal", "{report}");
        wait_for(Presence::Absent, daemon);
        report["apdus"].as_u64().unwrap()
    }
}

impl Drop for Emulated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One read for the table: who read, how, the APDUs the chip answered,
/// the time the reader took.
fn row(
    reader: &str,
    access: &str,
    card: &str,
    chip_apdus: Option<u64>,
    report: &serde_json::Value,
) {
    println!(
        "| {reader} | {access} | {card} | {} | {} | {} ms |",
        chip_apdus.map_or("–".into(), |n| n.to_string()),
        report["apdus"],
        report["elapsed_ms"]
    );
}

/// `kioskctl card read --json` through the test's pcscd.
fn kiosk_read(key: &[&str]) -> serde_json::Value {
    let mut command = Command::new(bin("kioskctl"));
    command
        .args(["--json", "card", "read", "--reader"])
        .arg(format!("pcsc:{READER_NAME}"))
        .arg("--csca")
        .arg(repo().join("board/sim/csca"))
        .args(key);
    json_of(command)
}

/// `interop-read --json` through the test's pcscd.
fn independent_read(implementation: &str, mrz: &str, extra: &[&str]) -> serde_json::Value {
    let mut command = Command::new(bin("interop-read"));
    command
        .args([
            implementation,
            "--json",
            "--reader",
            READER_NAME,
            "--mrz",
            mrz,
        ])
        .args(extra);
    json_of(command)
}

/// The MRZ (lines joined) and CAN of a shipped card profile.
fn mrz_and_can(profile: &str) -> (String, String) {
    let (p, _) =
        kiosk_firmware::testkit::CardProfile::load(&kiosk_tests::card_profile(profile)).unwrap();
    let citizen = p.citizen();
    let mrz = kiosk_firmware::testkit::cccd_mrz(&citizen).unwrap();
    let can = citizen.id_number[6..].to_owned();
    (mrz.chars().filter(|c| !c.is_whitespace()).collect(), can)
}

/// Every file both read must be the same bytes; the independent reader
/// must have read EF.COM and DG1 and found the profile's MRZ.
fn assert_same_files(kiosk: &serde_json::Value, other: &serde_json::Value, mrz: &str) {
    assert_eq!(other["ok"], true, "{other}");
    assert_eq!(kiosk["ok"], true, "{kiosk}");
    assert_eq!(other["mrz"], mrz, "{other}");
    let ours = kiosk["file_sha256"].as_object().unwrap();
    let theirs = other["files"].as_object().unwrap();
    for name in ["EF.COM", "DG1"] {
        assert!(theirs.contains_key(name), "{name} not read: {other}");
    }
    let mut compared = 0;
    for (name, file) in theirs {
        if let Some(hash) = ours.get(name) {
            assert_eq!(
                &file["sha256"], hash,
                "{name} differs: {other}\nkiosk: {kiosk}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 2, "{other}\nkiosk: {kiosk}");
}

mod independent_readers {
    use super::*;

    /// The kiosk's default card (PACE on brainpoolP256r1 and BAC, extended
    /// length) read by the kiosk (PACE with the CAN, then the MRZ) and by
    /// dmrtd, with PACE-CAN and with BAC,
    /// and by emrtd with BAC: every file they both read is the same.
    #[test]
    fn dmrtd_and_emrtd_read_the_virtual_cccd_as_the_kiosk_does() {
        let daemon = pcscd();
        let card = "cccd-2021";
        let (mrz, can) = mrz_and_can(card);

        let chip = Emulated::insert(card, &daemon);
        let kiosk_pace = kiosk_read(&["--can", &can]);
        let apdus = chip.remove(&daemon);
        assert_eq!(kiosk_pace["access_control"], "pace_can", "{kiosk_pace}");
        row("kiosk", "PACE-CAN", card, Some(apdus), &kiosk_pace);

        let chip = Emulated::insert(card, &daemon);
        // An MRZ key on a PACE chip: PACE with the MRZ.
        let kiosk_mrz = kiosk_read(&["--mrz", &mrz]);
        let apdus = chip.remove(&daemon);
        assert_eq!(kiosk_mrz["access_control"], "pace_mrz", "{kiosk_mrz}");
        assert_eq!(kiosk_mrz["file_sha256"], kiosk_pace["file_sha256"]);
        row("kiosk", "PACE-MRZ", card, Some(apdus), &kiosk_mrz);

        let chip = Emulated::insert(card, &daemon);
        let dmrtd_pace = independent_read("dmrtd", &mrz, &["--can", &can]);
        let apdus = chip.remove(&daemon);
        assert_eq!(dmrtd_pace["access_control"], "pace_can", "{dmrtd_pace}");
        // The one disagreement: dmrtd's Passport selects the master file
        // before EF.CardAccess, which the CCCD (and so the virtual chip)
        // refuses with 6D00; read by short file identifier from the MF
        // selected at reset, as 9303-11 §4.4 allows, PACE then works.
        assert_eq!(
            dmrtd_pace["errors"],
            serde_json::json!(
                ["EF.CardAccess through dmrtd's Passport (SELECT MF first): \
                 PassportError: Instruction code not supported or invalid"]
            )
        );
        assert_same_files(&kiosk_pace, &dmrtd_pace, &mrz);
        row("dmrtd 0.3", "PACE-CAN", card, Some(apdus), &dmrtd_pace);

        // PACE with the MRZ (the kiosk's second key): dmrtd derives the
        // same password from the MRZ's document number, birth and expiry.
        let chip = Emulated::insert(card, &daemon);
        let dmrtd_pace_mrz = independent_read("dmrtd", &mrz, &["--pace"]);
        let apdus = chip.remove(&daemon);
        assert_eq!(
            dmrtd_pace_mrz["access_control"], "pace_mrz",
            "{dmrtd_pace_mrz}"
        );
        assert_eq!(dmrtd_pace_mrz["errors"], dmrtd_pace["errors"]);
        assert_same_files(&kiosk_pace, &dmrtd_pace_mrz, &mrz);
        row("dmrtd 0.3", "PACE-MRZ", card, Some(apdus), &dmrtd_pace_mrz);

        let chip = Emulated::insert(card, &daemon);
        let dmrtd_bac = independent_read("dmrtd", &mrz, &[]);
        let apdus = chip.remove(&daemon);
        assert_eq!(dmrtd_bac["access_control"], "bac", "{dmrtd_bac}");
        assert_eq!(dmrtd_bac["errors"], serde_json::json!([]));
        assert_same_files(&kiosk_pace, &dmrtd_bac, &mrz);
        row("dmrtd 0.3", "BAC", card, Some(apdus), &dmrtd_bac);

        let chip = Emulated::insert(card, &daemon);
        let emrtd_bac = independent_read("emrtd", &mrz, &[]);
        let apdus = chip.remove(&daemon);
        assert_eq!(emrtd_bac["access_control"], "bac", "{emrtd_bac}");
        // emrtd asks for 256 bytes at a time with a short APDU: the chip
        // cuts each answer to fit 256 bytes (it once sent 285).
        assert_eq!(emrtd_bac["errors"], serde_json::json!([]));
        assert_same_files(&kiosk_pace, &emrtd_bac, &mrz);
        row("emrtd 0.0.2", "BAC", card, Some(apdus), &emrtd_bac);
    }

    /// The BAC-only card with short APDUs, read by the kiosk and by emrtd
    /// (BAC is all emrtd implements).
    #[test]
    fn emrtd_reads_the_bac_only_card_as_the_kiosk_does() {
        let daemon = pcscd();
        let card = "bac-only-elderly";
        let (mrz, _) = mrz_and_can(card);

        let chip = Emulated::insert(card, &daemon);
        let kiosk = kiosk_read(&["--mrz", &mrz]);
        let apdus = chip.remove(&daemon);
        assert_eq!(kiosk["access_control"], "bac", "{kiosk}");
        row("kiosk", "BAC", card, Some(apdus), &kiosk);

        let chip = Emulated::insert(card, &daemon);
        let emrtd = independent_read("emrtd", &mrz, &[]);
        let apdus = chip.remove(&daemon);
        assert_same_files(&kiosk, &emrtd, &mrz);
        row("emrtd 0.0.2", "BAC", card, Some(apdus), &emrtd);
    }
}

mod vicc {
    use super::*;

    /// A passport MRZ (TD3) for vicc's ePass: the 9303-4 specimen layout
    /// with a made-up holder.
    const MRZ: &str =
        "P<UTOMAU<<THI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<L898902C<3UTO6908061F2906232ZE184226B<<<<<18";

    /// Debian's `virtualsmartcard` package (vsmartcard-vpicc).
    const PACKAGE: &str = "/usr/lib/python3/site-packages/virtualsmartcard/virtualsmartcard";

    /// A copy of Debian's vicc with `tools/vicc/vicc-epass-py3.patch`
    /// applied, in a temporary folder to put on PYTHONPATH.
    fn patched_vicc() -> tempfile::TempDir {
        let mut missing = Vec::new();
        for (path, package) in [
            ("/usr/bin/vicc", "vsmartcard-vpicc"),
            (PACKAGE, "python3-virtualsmartcard"),
            ("/usr/bin/python3", "python3"),
            ("/usr/bin/patch", "patch"),
            (
                "/usr/lib/python3/dist-packages/Cryptodome",
                "python3-pycryptodome",
            ),
            ("/usr/lib/python3/dist-packages/PIL", "python3-pil"),
        ] {
            if !Path::new(path).exists() {
                missing.push(format!("{path} (Debian package {package})"));
            }
        }
        assert!(
            missing.is_empty(),
            "vicc cannot run here, missing: {}; run `cargo xtask setup`",
            missing.join(", ")
        );
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("cp")
            .arg("-r")
            .arg(PACKAGE)
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let patch = repo().join("tools/vicc/vicc-epass-py3.patch");
        let out = Command::new("patch")
            .args(["-p1", "--forward", "--batch", "-d"])
            .arg(dir.path())
            .arg("-i")
            .arg(&patch)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} does not apply to Debian's virtualsmartcard:\n{}{}",
            patch.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    }

    /// The patched vicc's BAC and secure messaging, byte for byte against
    /// ICAO 9303-11 Appendix D.3 and D.4 (tools/vicc/check_9303.py).
    #[test]
    fn patched_vicc_matches_icao_9303_appendix_d() {
        let vicc = patched_vicc();
        let out = Command::new("/usr/bin/python3")
            .arg(repo().join("tools/vicc/check_9303.py"))
            .arg(repo().join("firmware/tests/vectors/icao9303-11.toml"))
            .env("PYTHONPATH", vicc.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("matches ICAO 9303-11 Appendix D.3 and D.4"),
            "{stdout}"
        );
        assert!(
            stdout.contains("ok   a session whose SSC starts with 00"),
            "{stdout}"
        );
    }

    /// vicc's ePass (BAC, TD3 MRZ, a JPEG) read by `kioskctl card read`:
    /// EF.COM, DG1 and DG2 are read and DG1 is the MRZ given, and the chip
    /// is reported not genuine for the precise reasons: no EF.SOD where
    /// 9303 puts it (vicc writes it as 010D, DG13's identifier), and a DG2
    /// without its outer `75` tag. vicc answers our GET DATA `FF CA` and
    /// is still running after the read.
    #[test]
    fn vicc_epass_is_read_and_reported_not_genuine_for_its_missing_sod() {
        let vicc = patched_vicc();
        let daemon = pcscd();
        let photo = vicc.path().join("face.jpg");
        image::RgbImage::from_fn(24, 32, |x, y| {
            image::Rgb([
                u8::try_from(x * 10).unwrap(),
                u8::try_from(y * 7).unwrap(),
                128,
            ])
        })
        .save(&photo)
        .unwrap();
        let log = std::fs::File::create(vicc.path().join("vicc.log")).unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .arg("/usr/bin/vicc")
            .args(["-t", "ePass", "-v", "--hostname", "127.0.0.1", "--port"])
            .arg(daemon.vpcd_addr().port().to_string())
            .env("PYTHONPATH", vicc.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        // vicc asks for the MRZ and the path of the photo on stdin.
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{MRZ}\n{}", photo.display()).unwrap();
        drop(stdin);
        wait_for(Presence::Present, &daemon);

        let report = kiosk_read(&["--mrz", MRZ]);
        let still_running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        let vicc_log = std::fs::read_to_string(vicc.path().join("vicc.log")).unwrap();
        assert!(still_running, "vicc ended during the read:\n{vicc_log}");
        row("kiosk", "BAC", "vicc ePass", None, &report);

        assert_eq!(report["access_control"], "bac", "{report}\n{vicc_log}");
        let files = report["file_sha256"].as_object().unwrap();
        for name in ["EF.COM", "DG1", "DG2"] {
            assert!(files.contains_key(name), "{name} not read: {report}");
        }
        // DG1 is exactly `61 5B 5F1F 58 <MRZ>`.
        let mut dg1 = vec![0x61, 0x5B, 0x5F, 0x1F, 0x58];
        dg1.extend_from_slice(MRZ.as_bytes());
        assert_eq!(files["DG1"], hex::encode(Sha256::digest(&dg1)));
        assert_eq!(report["mrz"]["document_number"], "L898902C");
        assert_eq!(report["mrz"]["date_of_birth"], "690806");
        assert_eq!(report["mrz"]["date_of_expiry"], "290623");
        // What could not be verified, precisely.
        assert_eq!(report["ok"], false);
        assert_eq!(report["decision"], "sod_missing", "{report}");
        assert_eq!(
            report["security"]["passive_authentication"]["error"],
            "the chip has no EF.SOD"
        );
        let unavailable: Vec<&str> = report["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(unavailable.contains(&"EF.SOD: 6A82"), "{report}");
        let photo_error = report["photo"]["error"].as_str().unwrap_or_default();
        assert!(photo_error.starts_with("DG2"), "{report}");
        assert_eq!(report["not_a_cccd"], "DG13 was not read", "{report}");
        // Bounded: BAC, EF.COM, DG1, DG2 in 0xDF-byte blocks, the SOD.
        let apdus = report["apdus"].as_u64().unwrap();
        assert!((8..=40).contains(&apdus), "{apdus} APDUs: {report}");
    }
}
