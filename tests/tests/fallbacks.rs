//! The reader's run-time fallbacks end to end (issue 15): `kioskctl card
//! emulate` puts a virtual chip that refuses what the reader tries first
//! into a vpcd reader of a private pcscd, and `kioskctl card read --json`
//! reads it through pcscd. Each case asserts that the read succeeded (the
//! citizen's records came out and passive authentication passed) *and*
//! that the fallback's code is in `"fallbacks"`, so removing the fallback
//! fails the test. The faulted profiles are generated here from the
//! shipped `cccd-2021` profile: they are not shipped cards.
//!
//! Each test shares one pcscd among its cases (one status word or fault
//! after another). `kioskctl` is the one `cargo test --workspace` builds
//! next to this test binary; built alone, build it first (`cargo build
//! -p kiosk-board --bin kioskctl --all-features`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::pcsc::PcscReader;
use kiosk_hal::card::{CardReader, Presence};
use kiosk_tests::pcscd::{Pcscd, READER_NAME};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn pcscd() -> Pcscd {
    Pcscd::start().unwrap_or_else(|e| panic!("this test needs pcscd with vpcd: {e}"))
}

/// `kioskctl`, next to this test binary (`target/<profile>/deps/..`).
fn kioskctl() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("kioskctl"))
        .expect("a target directory");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p kiosk-board --bin kioskctl --all-features` (cargo test --workspace builds it)",
        path.display()
    );
    path
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped 2021 CCCD profile with `chip` keys set in `[chip]` and
/// `faults` in `[faults]` (TOML values).
fn profile_text(chip: &[(&str, &str)], faults: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(kiosk_tests::card_profile("cccd-2021")).unwrap();
    let mut profile: toml::Table = toml::from_str(&text).unwrap();
    let mut set = |section: &str, pairs: &[(&str, &str)]| {
        let table = profile
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
        for (key, value) in pairs {
            let value: toml::Table = toml::from_str(&format!("v = {value}")).unwrap();
            table.insert((*key).to_owned(), value["v"].clone());
        }
    };
    set("chip", chip);
    set("faults", faults);
    toml::to_string(&profile).unwrap()
}

/// Waits until pcscd sees the card in (or out of) the reader.
fn wait_for(want: Presence) {
    let mut reader = PcscReader::open(READER_NAME, true).unwrap();
    for _ in 0..200 {
        if reader.presence().ok() == Some(want) {
            return;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for pcscd's polling thread"
        )]
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the reader never reported {want:?}");
}

/// `kioskctl card emulate` of a profile, stopped (by its PID) on drop.
struct Emulated {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Emulated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulate(daemon: &Pcscd, profile: &str) -> Emulated {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.toml");
    std::fs::write(&path, profile).unwrap();
    let child = Command::new(kioskctl())
        .args(["card", "emulate", "--profile"])
        .arg(&path)
        .args(["--vpcd-port", &daemon.vpcd_addr().port().to_string()])
        .env_remove("KIOSK_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kioskctl card emulate starts");
    let emulated = Emulated { child, _dir: dir };
    wait_for(Presence::Present);
    emulated
}

/// Reads the emulated card through pcscd with `key` (e.g. `["--qr", …]`).
fn read(key: &[&str], extra: &[&str]) -> serde_json::Value {
    let csca = repo().join("board/sim/csca");
    let out = Command::new(kioskctl())
        .args(["card", "read", "--reader", &format!("pcsc:{READER_NAME}")])
        .args(key)
        .arg("--csca")
        .arg(&csca)
        .args(extra)
        .arg("--json")
        .env_remove("KIOSK_CONFIG")
        .output()
        .expect("kioskctl card read runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn qr() -> [&'static str; 2] {
    ["--qr", kiosk_tests::card_qr("cccd-2021")]
}

/// One case: emulate the faulted profile, read it, check the read
/// succeeded and took `fallback`. Returns the report.
fn case(
    daemon: &Pcscd,
    name: &str,
    chip: &[(&str, &str)],
    faults: &[(&str, &str)],
    key: &[&str],
    fallback: &str,
) -> serde_json::Value {
    let card = emulate(daemon, &profile_text(chip, faults));
    let report = read(key, &[]);
    drop(card);
    wait_for(Presence::Absent);
    assert_eq!(
        report["citizen"]["id_number"],
        "003090000001",
        "{name}: the read failed: {report:#}\n{}",
        daemon.log()
    );
    assert_eq!(
        report["security"]["passive_authentication"]["verdict"], "passed",
        "{name}: {report:#}"
    );
    assert_eq!(report["decision"], "accepted", "{name}: {report:#}");
    let fallbacks: Vec<&str> = report["fallbacks"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no fallbacks list in {report:#}"))
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        fallbacks.contains(&fallback),
        "{name}: {fallback} not in {fallbacks:?}"
    );
    report
}

#[test]
fn the_default_card_through_pcscd_takes_no_fallback() {
    let daemon = pcscd();
    let card = emulate(&daemon, &profile_text(&[], &[]));
    let report = read(&qr(), &[]);
    drop(card);
    assert_eq!(report["decision"], "accepted", "{report:#}");
    assert_eq!(report["fallbacks"], serde_json::json!([]), "{report:#}");
}

#[test]
fn read_binary_by_sfi_refused_through_pcscd_selects_by_file_identifier() {
    let daemon = pcscd();
    for sw in ["0x6A82", "0x6A86", "0x6D00", "0x6E00", "0x6986"] {
        let report = case(
            &daemon,
            sw,
            &[],
            &[("sfi_refused", sw)],
            &qr(),
            "select_by_file_id",
        );
        assert_eq!(report["access_control"], "pace_can", "{sw}");
    }
}

#[test]
fn extended_length_refused_through_pcscd_reads_on_with_short_apdus() {
    let daemon = pcscd();
    for refusal in ["\"wrong_length\"", "\"wrong_le\"", "\"transport\""] {
        let report = case(
            &daemon,
            refusal,
            &[],
            &[("extended_refused", refusal)],
            &qr(),
            "short_apdus",
        );
        assert_eq!(report["extended_length"], true, "{refusal}: tried first");
    }
}

#[test]
fn six_c_xx_through_pcscd_repeats_with_the_chips_le() {
    let daemon = pcscd();
    case(
        &daemon,
        "6Cxx",
        &[("extended_length", "false")],
        &[("exact_le", "true")],
        &qr(),
        "le_from_chip",
    );
}

#[test]
fn six_one_xx_through_pcscd_fetches_with_get_response() {
    let daemon = pcscd();
    case(
        &daemon,
        "61xx",
        &[("extended_length", "false")],
        &[("get_response", "true")],
        &qr(),
        "get_response",
    );
}

#[test]
fn no_ef_cardaccess_or_pace_refused_through_pcscd_reads_with_bac() {
    let daemon = pcscd();
    let report = case(
        &daemon,
        "no EF.CardAccess",
        &[],
        &[("no_card_access", "true")],
        &qr(),
        "bac_without_pace",
    );
    assert_eq!(report["access_control"], "bac");
    for refusal in ["\"mse\"", "\"general_authenticate\""] {
        let report = case(
            &daemon,
            refusal,
            &[],
            &[("pace_refused", refusal)],
            &qr(),
            "bac_after_pace_refused",
        );
        assert_eq!(report["access_control"], "bac", "{refusal}");
    }
}

#[test]
fn select_aid_with_the_other_p2_through_pcscd() {
    let daemon = pcscd();
    case(
        &daemon,
        "P2 00 only",
        &[],
        &[("select_aid_p2", "0x00")],
        &qr(),
        "select_aid_p2",
    );
}

#[test]
fn a_transport_glitch_mid_file_through_pcscd_resumes() {
    let daemon = pcscd();
    let report = case(
        &daemon,
        "glitch",
        &[("extended_length", "false")],
        &[("glitch_after", "300")],
        &qr(),
        "resumed_after_glitch",
    );
    assert_eq!(report["resumed"], 1);
}

#[test]
fn an_mrz_through_pcscd_opens_a_pace_chip_with_pace_mrz_and_a_bac_chip_with_bac() {
    let daemon = pcscd();
    let mrz = "IDVNM0900000018003090000001<<1\n9001158M3001156VNM<<<<<<<<<<<0\nNGUYEN<<VAN<MAU<<<<<<<<<<<<<<<";
    let card = emulate(&daemon, &profile_text(&[], &[]));
    let report = read(&["--mrz", mrz], &[]);
    drop(card);
    wait_for(Presence::Absent);
    assert_eq!(report["access_control"], "pace_mrz", "{report:#}");
    assert_eq!(report["decision"], "accepted", "{report:#}");
    let report = case(
        &daemon,
        "BAC only",
        &[("protocols", "[\"bac\"]")],
        &[],
        &["--mrz", mrz],
        "bac_without_pace",
    );
    assert_eq!(report["access_control"], "bac");
}
