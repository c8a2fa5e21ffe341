//! Crash tests of the outbox with real `kioskctl` processes: at every step
//! of enqueue → claim → send → ack the process is killed with SIGKILL (no
//! destructors, no flushing) through `KIOSK_CRASH_AT`, then started
//! again; in the end every request reaches the reference portal exactly
//! once, counted by idempotency key, and the outbox is empty. Plus the
//! `kioskctl request` / `outbox` commands' JSON and exit codes.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::online::portal::pki::{Pki, PkiFiles};
use kiosk_board::online::portal::server::{Behaviour, PortalHandle, ServerSettings};
use kiosk_board::services::requesting::CRASH_POINTS;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TAM_TRU: &str = "1.004222";

struct Setup {
    dir: tempfile::TempDir,
    pki: PkiFiles,
    portal: PortalHandle,
    config: PathBuf,
    citizen: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate("KIOSK-TEST-001")
        .unwrap()
        .write(&dir.path().join("pki"))
        .unwrap();
    let portal = PortalHandle::start(&ServerSettings {
        cert_file: pki.server_cert.clone(),
        key_file: pki.server_key.clone(),
        client_ca_file: pki.ca.clone(),
        unit_code: "000.00.19.H26".into(),
        procedures: Vec::new(),
        port: 0,
    })
    .unwrap();
    let config = write_config(dir.path(), &portal.url(), &pki);
    let citizen = write_citizen(dir.path());
    Setup {
        dir,
        pki,
        portal,
        config,
        citizen,
    }
}

fn write_config(dir: &Path, url: &str, pki: &PkiFiles) -> PathBuf {
    std::fs::write(dir.join("outbox.key"), [0x33u8; 32]).unwrap();
    let text = format!(
        r#"board = "sim"
[kiosk]
id = "KIOSK-TEST-001"
center_name = "Trung tâm thử nghiệm"
data_dir = {data:?}
[requests]
catalogue = {catalogue:?}
outbox_key_file = {key:?}
[requests.portal]
url = "{url}"
ca_file = {ca:?}
client_cert_file = {cert:?}
client_key_file = {ckey:?}
timeout_ms = 10000
[requests.delivery]
base_backoff_ms = 100
max_backoff_ms = 1000
[sim.card_reader]
name = "Sim Reader 0"
[sim.camera]
frames = "pattern"
[sim.printer]
paper_width_mm = 80
output_dir = {printer:?}
"#,
        data = dir.join("var"),
        catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/procedures.toml"),
        key = dir.join("outbox.key"),
        ca = pki.ca,
        cert = pki.client_cert,
        ckey = pki.client_key,
        printer = dir.join("printer"),
    );
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn write_citizen(dir: &Path) -> PathBuf {
    let path = dir.join("citizen.json");
    let json = serde_json::json!({
        "id_number": "003090000001",
        "full_name": "Nguyễn Văn Mẫu",
        "date_of_birth": "15/01/1990",
        "sex": "Nam",
        "nationality": "Việt Nam",
        "ethnicity": "Kinh",
        "place_of_residence": "Số 1 Đường Mẫu, Phường Mẫu, Hà Nội",
        "entered": {
            "temporary_address": "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội",
            "from_date": "01/12/2026",
            "to_date": "30/11/2027",
            "reason": "Làm việc",
            "phone": "0912345678"
        }
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn kioskctl(s: &Setup, crash_at: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kioskctl"));
    cmd.arg("--config")
        .arg(&s.config)
        .arg("--json")
        .args(args)
        .env_remove("KIOSK_CONFIG")
        .env_remove(kiosk_board::services::requesting::CRASH_ENV);
    if let Some(point) = crash_at {
        cmd.env(kiosk_board::services::requesting::CRASH_ENV, point);
    }
    cmd.output().unwrap()
}

fn submit(s: &Setup, crash_at: Option<&str>) -> Output {
    kioskctl(
        s,
        crash_at,
        &[
            "request",
            "submit",
            "--procedure",
            TAM_TRU,
            "--citizen",
            s.citizen.to_str().unwrap(),
            "--consent",
            "--no-print",
        ],
    )
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Killed by SIGKILL (or SIGABRT where no `kill` program exists).
fn crashed(out: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    matches!(out.status.signal(), Some(9 | 6))
}

fn outbox_rows(s: &Setup) -> usize {
    let out = kioskctl(s, None, &["outbox", "list"]);
    assert!(out.status.success());
    json(&out)["rows"].as_array().unwrap().len()
}

#[test]
fn a_crash_at_every_step_of_submitting_still_delivers_each_request_exactly_once() {
    let s = setup();
    for point in CRASH_POINTS {
        let out = submit(&s, Some(point));
        assert!(
            crashed(&out),
            "{point}: the process must die there: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        // Restart: recovery and delivery.
        let flush = kioskctl(&s, None, &["outbox", "flush", "--now"]);
        assert!(
            flush.status.success(),
            "{point}: {}",
            String::from_utf8_lossy(&flush.stdout)
        );
        assert_eq!(outbox_rows(&s), 0, "{point}");
    }
    let snap = s.portal.snapshot();
    assert_eq!(snap.dossiers_created, 4, "{snap:?}");
    assert_eq!(snap.dossiers.len(), 4, "one dossier per idempotency key");
    // A crash after the send (answer lost) made the restart send again:
    // the portal saw that key twice and still made one dossier.
    assert!(snap.attempts.values().any(|n| *n == 2), "{snap:?}");
    assert!(snap.attempts.values().all(|n| *n <= 2), "{snap:?}");
    drop(s.dir);
}

#[test]
fn a_crash_at_every_step_of_a_delivery_pass_still_delivers_each_request_exactly_once() {
    let s = setup();
    s.portal.set_behaviour(Behaviour {
        fail_with: Some(503),
        ..Behaviour::default()
    });
    // Three requests queued while the portal fails.
    for _ in 0..3 {
        let out = submit(&s, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["state"], "queued");
    }
    s.portal.set_behaviour(Behaviour::default());
    for point in ["after_claim", "after_send", "after_ack"] {
        let out = kioskctl(&s, Some(point), &["outbox", "flush", "--now"]);
        assert!(crashed(&out), "{point}: {:?}", out.status);
    }
    let flush = kioskctl(&s, None, &["outbox", "flush", "--now"]);
    assert!(
        flush.status.success(),
        "{}",
        String::from_utf8_lossy(&flush.stdout)
    );
    assert_eq!(outbox_rows(&s), 0);
    let snap = s.portal.snapshot();
    assert_eq!(snap.dossiers_created, 3, "{snap:?}");
    assert_eq!(snap.dossiers.len(), 3);
}

#[test]
fn request_submit_status_and_outbox_commands_report_json_and_exit_codes() {
    let s = setup();
    let out = submit(&s, None);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["state"], "delivered");
    assert_eq!(v["prefilled_fields"], 5);
    assert_eq!(v["typed_fields"], 5);
    let code = v["dossier_code"].as_str().unwrap().to_owned();
    let reference = v["reference"].as_str().unwrap().to_owned();
    for receipt in [&code, &reference] {
        let st = kioskctl(&s, None, &["request", "status", "--receipt", receipt]);
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stdout)
        );
        let st = json(&st);
        assert_eq!(st["local"]["state"], "delivered");
        assert_eq!(st["portal"]["status"], "received");
    }
    let unknown = kioskctl(&s, None, &["request", "status", "--receipt", "RNOSUCH"]);
    assert_eq!(unknown.status.code(), Some(1));

    // Without consent nothing is filed: exit 2, the reason named.
    let out = kioskctl(
        &s,
        None,
        &[
            "request",
            "submit",
            "--procedure",
            TAM_TRU,
            "--citizen",
            s.citizen.to_str().unwrap(),
            "--no-print",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().contains("consent"));

    // A form with a problem: exit 1, each problem named.
    let out = kioskctl(
        &s,
        None,
        &[
            "request",
            "submit",
            "--procedure",
            TAM_TRU,
            "--citizen",
            s.citizen.to_str().unwrap(),
            "--field",
            "phone=12",
            "--consent",
            "--no-print",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["problems"][0]["field"], "phone");

    // A 4xx: exit 1, a failed row for staff that flush does not retry;
    // `outbox retry` puts it back once the portal is fixed.
    s.portal.set_behaviour(Behaviour {
        fail_with: Some(422),
        ..Behaviour::default()
    });
    let out = submit(&s, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["state"], "failed");
    let list = json(&kioskctl(&s, None, &["outbox", "list"]));
    let row = &list["rows"][0];
    assert_eq!(row["state"], "failed");
    assert_eq!(row["failed_http_status"], 422);
    let doctor = kioskctl(&s, None, &["doctor"]);
    assert_eq!(
        doctor.status.code(),
        Some(1),
        "a refused request waits for staff"
    );
    let outbox = &json(&doctor)["devices"]["outbox"];
    assert_eq!(outbox["ok"], false);
    assert!(
        outbox["fix"].as_str().unwrap().contains("outbox retry"),
        "{outbox}"
    );
    let before = s.portal.snapshot().submissions;
    let flush = kioskctl(&s, None, &["outbox", "flush", "--now"]);
    assert_eq!(flush.status.code(), Some(1), "a failed row is left");
    assert_eq!(s.portal.snapshot().submissions, before, "not retried");
    s.portal.set_behaviour(Behaviour::default());
    let id = row["id"].as_i64().unwrap().to_string();
    assert!(
        kioskctl(&s, None, &["outbox", "retry", &id])
            .status
            .success()
    );
    assert!(kioskctl(&s, None, &["outbox", "flush"]).status.success());
    assert_eq!(outbox_rows(&s), 0);

    // Doctor lists the outbox; a refused row makes it fail until handled.
    let doctor = kioskctl(&s, None, &["doctor"]);
    assert!(
        json(&doctor)["devices"]["outbox"]["ok"].as_bool().unwrap(),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );

    // Cancelling at the portal.
    let out = kioskctl(&s, None, &["request", "cancel", "--receipt", &code]);
    assert!(out.status.success());
    assert_eq!(json(&out)["portal"]["status"], "cancelled");

    // A receipt printed to a PNG file.
    let png = s.dir.path().join("receipt.png");
    let out = kioskctl(
        &s,
        None,
        &[
            "request",
            "submit",
            "--procedure",
            TAM_TRU,
            "--citizen",
            s.citizen.to_str().unwrap(),
            "--consent",
            "--printer",
            &format!("png:{}", png.display()),
        ],
    );
    assert!(out.status.success());
    assert_eq!(json(&out)["receipt"]["printed"], true);
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    let _ = &s.pki;
}
