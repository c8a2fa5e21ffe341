//! `kioskctl` as staff and scripts use it: a real process, real files.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use std::path::Path;
use std::process::Command;

/// A copy of the shipped sim configuration whose data directory is `dir`.
fn sim_config(dir: &Path) -> std::path::PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let text = std::fs::read_to_string(shipped).unwrap();
    let text = text
        .replace(
            "data_dir = \"../../var/sim\"",
            &format!("data_dir = {:?}", dir.join("data")),
        )
        .replace(
            "output_dir = \"../../var/sim/printer\"",
            &format!("output_dir = {:?}", dir.join("printer")),
        )
        .replace(
            "model_dir = \"../../.cache/models\"",
            &format!(
                "model_dir = {:?}",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/models")
            ),
        );
    let path = dir.join("sim.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn kioskctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(args)
        .env_remove("KIOSK_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn doctor_json_has_one_entry_per_device_and_exits_0_on_the_sim_board() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let out = kioskctl(&[
        "doctor",
        "--board",
        "sim",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["board"], "sim");
    assert_eq!(report["ok"], true);
    let devices = report["devices"].as_object().unwrap();
    let names: Vec<&str> = devices.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["camera", "card_reader", "face", "indicators", "printer", "store"]
    );
    for (name, check) in devices {
        assert_eq!(check["ok"], true, "{name}: {check}");
        assert!(
            check["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
}

#[test]
fn doctor_without_json_prints_a_line_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let out = kioskctl(&["doctor", "--config", config.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("board sim: all devices OK"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.contains("[ok  ]")).count(),
        6,
        "{stdout}"
    );
}

#[test]
fn a_broken_configuration_exits_2_with_the_field_named_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("paper_width_mm = 80", "paper_width_mm = 75");
    std::fs::write(&config, text).unwrap();
    let out = kioskctl(&["doctor", "--json", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("sim.printer.paper_width_mm"), "{error}");
}

#[test]
fn a_missing_configuration_file_exits_2_naming_the_file() {
    let out = kioskctl(&["doctor", "--config", "/no/such/kiosk.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/kiosk.toml"));
}

#[test]
fn printer_status_of_the_sim_board_is_ready_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let out = kioskctl(&[
        "printer",
        "status",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["ok"], true);
    assert_eq!(status["paper"], "ok");
}

#[test]
fn printer_status_of_an_unreachable_printer_exits_1_with_its_kind() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = kioskctl(&[
        "printer",
        "status",
        "--json",
        "--printer",
        &format!("tcp:127.0.0.1:{port}"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["ok"], false);
    assert_eq!(status["error_kind"], "NotPresent");
}

fn profile(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sim/cards")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

#[test]
fn card_read_of_a_sim_profile_prints_the_citizen_and_the_read_figures() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let csca = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/csca");
    let csca = csca.to_str().unwrap();
    let out = kioskctl(&[
        "card", "read", "--reader", &reader, "--qr", qr, "--csca", csca, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["citizen"]["full_name"], "Nguyễn Văn Mẫu");
    assert_eq!(v["access_control"], "pace_can");
    assert_eq!(v["photo"]["format"], "jpeg");
    assert!(v["apdus"].as_u64().unwrap() > 5);
    assert_eq!(v["security"]["passive_authentication"]["verdict"], "passed");
    assert_eq!(v["security"]["active_authentication"]["result"], "passed");
    assert_eq!(v["security"]["chip_authentication"]["result"], "passed");
    assert_eq!(
        v["security"]["passive_authentication"]["signature"]["result"],
        "passed"
    );
}

#[test]
fn card_read_without_a_trust_list_reports_the_chain_not_anchored() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let out = kioskctl(&["card", "read", "--reader", &reader, "--qr", qr, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["security"]["passive_authentication"]["verdict"],
        "signature_valid_chain_not_anchored"
    );
}

#[test]
fn card_read_with_a_wrong_key_exits_1_and_says_so() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let out = kioskctl(&[
        "card", "read", "--reader", &reader, "--can", "123456", "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "wrong_access_key");
}

#[test]
fn card_read_without_any_key_exits_2() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let out = kioskctl(&["card", "read", "--reader", &reader]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("access key"));
}
