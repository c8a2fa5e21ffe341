//! The shipped systemd unit agrees with the firmware and the board profiles:
//! `Type=notify` with a watchdog (board::notify pets it), the kiosk's own
//! user, its state directory where the profiles keep their data, hardening.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeMap;
use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// `Key=value` lines of a unit (last one wins; comments and sections skipped),
/// with every value kept for repeated keys.
fn unit(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap();
        keys.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    keys
}

#[test]
fn the_unit_is_a_watched_notify_service_of_the_kiosk_user() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    let one = |k: &str| u.get(k).and_then(|v| v.last()).map(String::as_str);
    assert_eq!(one("Type"), Some("notify"));
    assert_eq!(one("NotifyAccess"), Some("main"));
    let watchdog = one("WatchdogSec").unwrap();
    assert!(
        watchdog.ends_with('s') && watchdog.trim_end_matches('s').parse::<u32>().unwrap() >= 10
    );
    assert_eq!(one("Restart"), Some("always"));
    assert_eq!(one("User"), Some("cccd-kiosk"));
    assert!(read("systemd/cccd-kiosk.sysusers").contains("u cccd-kiosk -"));
    let exec = one("ExecStart").unwrap();
    assert!(
        exec.contains("--board linux --config /etc/cccd-kiosk/kiosk.toml"),
        "{exec}"
    );
    for (k, v) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DevicePolicy", "closed"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(k), Some(v), "{k}");
    }
    let devices = &u["DeviceAllow"];
    for class in ["video4linux", "usbmisc", "gpiochip"] {
        assert!(
            devices.iter().any(|d| d.contains(class)),
            "{class}: {devices:?}"
        );
    }
}

#[test]
fn the_profiles_keep_their_data_in_the_units_state_directory() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    let state = format!("/var/lib/{}", u["StateDirectory"][0]);
    for profile in ["config/rpi4-acr1252u.toml", "config/rk3568-acr1252u.toml"] {
        let text = read(profile);
        assert!(
            text.contains(&format!("data_dir = \"{state}\"")),
            "{profile} must keep its data in {state}"
        );
        assert!(text.contains("board = \"linux\""));
    }
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    // The binary is not installed here: point ExecStart at one that is.
    let text = read("systemd/cccd-kiosk.service").replace("/usr/bin/kiosk", "/bin/true");
    let path = dir.path().join("cccd-kiosk.service");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze must be installed (Debian package systemd): {e}")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cccd-kiosk.service"))
        .collect();
    assert!(out.status.success() && problems.is_empty(), "{stderr}");
}
