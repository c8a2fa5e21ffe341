//! `kiosk-centre` as an operator runs it: the test PKI, and a configuration
//! refused before anything starts. (Being an integration test of this
//! package also makes `cargo test --workspace` build the binary that
//! `tests/tests/centre.rs` runs.)

#![allow(clippy::unwrap_used, reason = "tests")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kiosk-centre");

#[test]
fn pki_writes_a_ca_the_centre_and_one_certificate_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "pki", "--client", "KIOSK-01", "--client", "DESK-01", "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "ca.pem",
        "centre.pem",
        "centre.key",
        "KIOSK-01.pem",
        "KIOSK-01.key",
        "DESK-01.pem",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let bad = Command::new(BIN)
        .args(["pki", "--client", "../escape", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("client id \"../escape\""));
}

#[test]
fn overlapping_offline_blocks_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("centre.toml");
    let text = format!(
        "[centre]\nid = \"HCC-1\"\nlisten = \"127.0.0.1:0\"\n\
         [tls]\ncert_file = \"c.pem\"\nkey_file = \"c.key\"\nclient_ca_file = \"ca.pem\"\n\
         [database]\nurl = \"host=/nonexistent\"\n\
         [[kiosks]]\nid = \"K1\"\noffline_block = \"800-849\"\n\
         [[kiosks]]\nid = \"K2\"\noffline_block = \"849-899\"\n{}",
        kiosk_centre::demo::DEMO_QUEUE
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`kiosks[1].offline_block` 849-899 overlaps K1's 800-849"),
        "{err}"
    );
}
