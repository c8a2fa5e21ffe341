//! The command line refuses what it cannot do before it touches PC/SC.
//! (Reads through pcscd: `tests/tests/interop.rs` in the workspace.)
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, with its message"
)]

use std::process::Command;

const TD3: &str =
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C<3UTO6908061F9406236ZE184226B<<<<<14";

fn run(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_interop-read"))
        .args(args)
        .output()
        .expect("interop-read runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn a_wrong_check_digit_is_refused_with_its_field() {
    let bad = TD3.replace("9406236", "9406237");
    let (code, json) = run(&["dmrtd", "--json", "--reader", "none", "--mrz", &bad]);
    assert_eq!(code, 2);
    assert_eq!(json["ok"], false);
    assert_eq!(
        json["fatal"],
        "the MRZ's date of expiry fails its check digit"
    );
}

#[test]
fn emrtd_is_not_asked_for_pace() {
    let (code, json) = run(&[
        "emrtd", "--json", "--reader", "none", "--mrz", TD3, "--can", "123456",
    ]);
    assert_eq!(code, 2);
    assert_eq!(
        json["fatal"],
        "emrtd implements BAC only: drop --can and --pace"
    );
}
