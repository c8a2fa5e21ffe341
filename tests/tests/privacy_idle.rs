//! After the idle timeout nothing personal remains: not in the session or
//! the runtime, not in the screens' models (the presenter and the Slint
//! globals), not in the logs.

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_board::simulator::scenario::{CardSpec, Player, Scenario, Step};
use kiosk_ui::{Journey, Lang};
use slint::{ComponentHandle, Model};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every string the Slint globals hold now.
fn ui_strings(player: &Player) -> Vec<String> {
    let ui = player.frontend().kiosk().window();
    let j = ui.global::<Journey<'_>>();
    let l = ui.global::<Lang<'_>>();
    let mut all = vec![
        j.get_title().to_string(),
        j.get_prompt().to_string(),
        j.get_entry_id().to_string(),
        j.get_entry_dob().to_string(),
        j.get_entry_text().to_string(),
        j.get_big_number().to_string(),
        j.get_service_name().to_string(),
        j.get_waiting().to_string(),
        l.get_step_label().to_string(),
    ];
    for f in j.get_fields().iter() {
        all.push(f.label.to_string());
        all.push(f.value.to_string());
    }
    for list in [j.get_choices(), j.get_actions(), j.get_keys()] {
        for a in list.iter() {
            all.push(a.label.to_string());
        }
    }
    for k in j.get_keyboard().iter() {
        all.push(k.label.to_string());
    }
    all
}

/// The holder's data of the `cccd-2021` profile, in the forms it may take.
const PERSONAL: [&str; 6] = [
    "Nguyễn Văn Mẫu",
    "NGUYỄN VĂN MẪU",
    "003090000001",
    "0001",
    "15/01/1990",
    "00309",
];

/// A scenario player on the shipped sim board with no steps of its own
/// (the test drives it), and the folder its screenshots go to.
fn player(name: &str) -> (Player, tempfile::TempDir) {
    let config = kiosk_board::config::Config::load(&root().join("board/config/sim.toml"))
        .expect("the shipped sim config loads");
    let scenario = Scenario {
        name: name.into(),
        clock_ms: None,
        face: false,
        portal: false,
        csca: true,
        c06: false,
        centre: None,
        steps: Vec::new(),
    };
    let out = tempfile::tempdir().expect("temp dir");
    let player =
        Player::new(&config, &scenario, &root(), out.path(), None).expect("the player starts");
    (player, out)
}

fn assert_clean(what: &str, texts: &[String]) {
    for t in texts {
        for p in PERSONAL {
            assert!(!t.contains(p), "{what} still holds {p:?}: {t:?}");
        }
    }
}

#[test]
fn after_the_idle_timeout_no_personal_data_remains_anywhere() {
    let logs = kiosk_tests::privacy::LogCapture::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());

    let (mut player, _out) = player("idle");

    // The holder's data on screen: name, date of birth, masked ID.
    for step in [
        Step::InsertCard(CardSpec::Profile("cccd-2021".into())),
        Step::WaitScreen("access-key".into()),
        Step::ScanQr(kiosk_tests::card_qr("cccd-2021").into()),
        Step::WaitScreen("confirm".into()),
    ] {
        player
            .step(&step)
            .expect("the journey reaches the confirmation");
    }
    let shown = ui_strings(&player);
    assert!(
        shown.iter().any(|s| s.contains("Nguyễn Văn Mẫu")),
        "{shown:?}"
    );
    assert!(shown.iter().any(|s| s.contains("15/01/1990")));
    assert!(shown.iter().any(|s| s.ends_with("0001")));
    assert!(player.runtime().holds_personal_data());
    assert!(player.frontend().kiosk().holds_personal_data());

    // Nobody touches the screen: the warning, then the end of the session.
    player
        .step(&Step::WaitScreenWithin {
            screen: "attract".into(),
            within_s: 300.0,
        })
        .expect("the idle timeout ends the journey");
    assert!(!player.runtime().holds_personal_data());
    let view = player.runtime().view();
    assert_eq!(view.holder_name, None);
    assert_eq!(view.holder_masked_id, None);
    assert_eq!(view.holder_date_of_birth, None);
    assert!(!player.frontend().kiosk().holds_personal_data());
    assert_clean("the Slint globals", &ui_strings(&player));
    assert_clean(
        "the presenter",
        &[format!("{:?}", player.frontend().kiosk().model())],
    );

    // Digits typed on the keypad go too.
    for step in [
        Step::RemoveCard(true),
        Step::WaitS(2.0),
        Step::InsertCard(CardSpec::Profile("cccd-2021".into())),
        Step::WaitScreen("access-key".into()),
        Step::Touch("type-key".into()),
        Step::Touch("key-0".into()),
        Step::Touch("key-0".into()),
        Step::Touch("key-3".into()),
        Step::Touch("key-0".into()),
        Step::Touch("key-9".into()),
    ] {
        player.step(&step).expect("the keypad opens");
    }
    assert!(player.frontend().kiosk().holds_personal_data());
    assert_eq!(player.frontend().kiosk().model().entry_id, "00309");
    player.step(&Step::RemoveCard(true)).expect("card off");
    player
        .step(&Step::WaitScreenWithin {
            screen: "attract".into(),
            within_s: 300.0,
        })
        .expect("the journey ends");
    assert!(!player.frontend().kiosk().holds_personal_data());
    assert_clean("the Slint globals", &ui_strings(&player));

    let logs = logs.text();
    assert!(!logs.is_empty(), "the journey logged something");
    assert_clean("the logs", &[logs]);
}

#[test]
fn text_half_typed_on_the_keyboard_is_gone_after_the_idle_timeout() {
    let (mut player, _out) = player("idle while typing");
    let mut steps = vec![
        Step::InsertCard(CardSpec::Profile("cccd-2021".into())),
        Step::WaitScreen("access-key".into()),
        Step::ScanQr(kiosk_tests::card_qr("cccd-2021").into()),
        Step::WaitScreen("confirm".into()),
        Step::Touch("yes".into()),
        Step::Touch("decline".into()),
        Step::WaitScreen("staff-assist".into()),
        Step::StaffPin(kiosk_tests::SIM_STAFF_PIN.into()),
        Step::Touch("staff-approve".into()),
        Step::Touch("request-1.004222".into()),
        Step::WaitScreen("form".into()),
        Step::Touch("field-temporary_address".into()),
    ];
    // "Ngõ Mẫu": letters, the marked â and two tone keys.
    for key in [
        "key-n",
        "key-g",
        "key-o",
        "key-tone-nga",
        "key-space",
        "key-shift",
        "key-m",
        "key-a-circumflex",
        "key-tone-nga",
        "key-u",
    ] {
        steps.push(Step::Touch(key.into()));
    }
    for step in steps {
        player
            .step(&step)
            .expect("the journey reaches the keyboard");
    }
    assert_eq!(player.frontend().kiosk().model().entry_text, "Ngõ Mẫu");
    assert!(
        ui_strings(&player).iter().any(|s| s.contains("Ngõ Mẫu")),
        "the typed text is on screen"
    );
    assert!(player.frontend().kiosk().holds_personal_data());
    player
        .step(&Step::WaitScreenWithin {
            screen: "attract".into(),
            within_s: 300.0,
        })
        .expect("the idle timeout ends the journey on the keyboard too");
    assert!(!player.frontend().kiosk().holds_personal_data());
    assert!(!player.runtime().holds_personal_data());
    let left: Vec<String> = ui_strings(&player)
        .into_iter()
        .chain([format!("{:?}", player.frontend().kiosk().model())])
        .filter(|s| s.contains("Ngõ") || s.contains("Mẫu"))
        .collect();
    assert!(left.is_empty(), "still shown: {left:?}");
}
