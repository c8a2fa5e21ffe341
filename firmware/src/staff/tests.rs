//! Tests of the staff gate: PIN hashes, the lockout in virtual time, its
//! persistence, the card allow-list and the staff session's buffer.

use super::*;

const SALT: [u8; 16] = *b"kiosk-test-salt!";
const T0: UnixMillis = UnixMillis(1_795_572_000_000);

fn policy() -> StaffPolicy {
    StaffPolicy {
        pin: Some(hash_pin("246810", &SALT).unwrap()),
        cards: vec![CardHash::of_uid(&[
            0x04, 0xA2, 0x2B, 0x5C, 0x11, 0x80, 0x90,
        ])],
        ..StaffPolicy::default()
    }
}

fn minutes(n: u64) -> UnixMillis {
    UnixMillis(T0.0 + n * 60_000)
}

#[test]
fn a_hashed_pin_is_an_argon2id_phc_string_that_verifies_only_its_pin() {
    let hash = hash_pin("246810", &SALT).unwrap();
    assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(PinHash::parse(hash.as_str()).unwrap(), hash);
    assert!(hash.verify("246810"));
    assert!(!hash.verify("246811"));
    assert!(!hash.verify(""));
    assert_eq!(format!("{hash:?}"), "PinHash(..)", "never printed");
}

#[test]
fn short_or_non_digit_pins_are_refused_before_hashing() {
    for pin in ["12345", "", "12345a", "1234567890123", "12 3456"] {
        assert_eq!(hash_pin(pin, &SALT), Err(StaffError::PinFormat), "{pin:?}");
    }
    assert!(hash_pin("123456", &SALT).is_ok());
}

#[test]
fn malformed_or_foreign_hashes_are_refused() {
    for bad in [
        "",
        "246810",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$argon2i$v=19$m=19456,t=2,p=1$a2lvc2stdGVzdC1zYWx0IQ$8m3w3L2g0Ht0Vfq1SBrNkI9L6w1dB3pC9g4mXq0fK1Y",
        "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
    ] {
        assert!(
            matches!(PinHash::parse(bad), Err(StaffError::MalformedHash(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn the_right_pin_opens_and_resets_the_count() {
    let mut gate = Gate::new(policy(), LockState::default());
    assert_eq!(
        gate.try_pin("111111", T0),
        PinOutcome::Wrong { attempts_left: 4 }
    );
    assert_eq!(gate.try_pin("246810", T0), PinOutcome::Accepted);
    assert_eq!(gate.state(), LockState::default());
    assert_eq!(gate.attempts_left(), 5);
}

#[test]
fn wrong_pins_count_down_and_the_fifth_locks_for_fifteen_minutes() {
    let mut gate = Gate::new(policy(), LockState::default());
    for left in (1..=4).rev() {
        assert_eq!(
            gate.try_pin("000000", T0),
            PinOutcome::Wrong {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        gate.try_pin("000000", minutes(1)),
        PinOutcome::LockedNow { until: minutes(16) }
    );
    // Even the right PIN is not checked while locked.
    assert_eq!(
        gate.try_pin("246810", minutes(2)),
        PinOutcome::Locked { until: minutes(16) }
    );
    assert_eq!(gate.locked_until(minutes(15)), Some(minutes(16)));
}

#[test]
fn the_lock_runs_out_in_virtual_time_and_counting_starts_afresh() {
    let mut gate = Gate::new(policy(), LockState::default());
    for _ in 0..5 {
        gate.try_pin("999999", T0);
    }
    assert_eq!(gate.locked_until(minutes(14)), Some(minutes(15)));
    assert_eq!(gate.locked_until(minutes(15)), None, "over at its end");
    assert_eq!(
        gate.try_pin("999999", minutes(15)),
        PinOutcome::Wrong { attempts_left: 4 }
    );
    assert_eq!(gate.try_pin("246810", minutes(15)), PinOutcome::Accepted);
}

#[cfg(feature = "store")]
#[test]
fn the_count_and_the_lock_survive_a_restart_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    {
        let (mut store, _) = Store::open(&path, T0).unwrap();
        let mut gate = Gate::new(policy(), LockState::load(&store).unwrap());
        for _ in 0..3 {
            gate.try_pin("135790", T0);
        }
        gate.state().save(&mut store).unwrap();
    }
    {
        let (mut store, _) = Store::open(&path, T0).unwrap();
        let mut gate = Gate::new(policy(), LockState::load(&store).unwrap());
        assert_eq!(gate.attempts_left(), 2, "three failures remembered");
        gate.try_pin("135790", T0);
        assert_eq!(
            gate.try_pin("135790", minutes(1)),
            PinOutcome::LockedNow { until: minutes(16) }
        );
        gate.state().save(&mut store).unwrap();
    }
    let (store, _) = Store::open(&path, T0).unwrap();
    let mut gate = Gate::new(policy(), LockState::load(&store).unwrap());
    assert_eq!(
        gate.try_pin("246810", minutes(5)),
        PinOutcome::Locked { until: minutes(16) },
        "a restart does not lift the lock"
    );
}

#[test]
fn an_unreadable_lock_state_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&dir.path().join("kiosk.db"), T0).unwrap();
    store.kv_set(LOCK_STATE_KEY, "not json").unwrap();
    assert_eq!(LockState::load(&store).unwrap(), LockState::default());
}

#[test]
fn only_cards_on_the_allow_list_open_and_a_random_uid_never_matches() {
    let gate = Gate::new(policy(), LockState::default());
    assert!(gate.card_allowed(&[0x04, 0xA2, 0x2B, 0x5C, 0x11, 0x80, 0x90]));
    assert!(!gate.card_allowed(&[0x04, 0xA2, 0x2B, 0x5C, 0x11, 0x80, 0x91]));
    // An eMRTD's random UID: 08 then three random bytes.
    assert!(!gate.card_allowed(&[0x08, 0x12, 0x34, 0x56]));
    assert!(!gate.card_allowed(&[]));
}

#[test]
fn a_card_hash_is_sha256_of_the_upper_case_uid_hex_and_parses_back() {
    let h = CardHash::of_uid(&[0xAB, 0x01]);
    // printf AB01 | sha256sum
    assert_eq!(
        h.to_hex(),
        "1c7e857fd26380c1dad878cee4d9d0517436bb1420e8a5a2a0068a69f521b627"
    );
    assert_eq!(CardHash::parse(&h.to_hex().to_uppercase()).unwrap(), h);
    for bad in ["", "abc", &"g".repeat(64), &"0".repeat(63)] {
        assert!(matches!(
            CardHash::parse(bad),
            Err(StaffError::MalformedCardHash(_))
        ));
    }
}

#[test]
fn the_keypad_keeps_at_most_twelve_digits_and_hands_them_out_once() {
    let mut mode = StaffMode::keypad(Timestamp::ZERO, Duration::from_secs(60), false);
    for d in [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 10] {
        mode.push_digit(d);
    }
    assert_eq!(mode.digits_entered(), PIN_MAX_DIGITS);
    mode.delete_digit();
    assert_eq!(mode.take_pin().as_str(), "12345678901");
    assert_eq!(mode.digits_entered(), 0, "the buffer is emptied");
    mode.open_panel();
    assert_eq!(mode.screen(), StaffScreen::Panel);
}

#[test]
fn staff_mode_times_out_after_its_own_inactivity_period() {
    let mut mode = StaffMode::panel(Timestamp::from_secs(10), Duration::from_secs(60));
    assert_eq!(mode.deadline(), Timestamp::from_secs(70));
    mode.touched(Timestamp::from_secs(50));
    assert_eq!(mode.deadline(), Timestamp::from_secs(110));
}

#[test]
fn a_staff_credential_names_the_pin_hash_by_a_fingerprint_never_the_pin() {
    let hash = hash_pin("246810", &SALT).unwrap();
    let credential = StaffCredential::pin(&hash, false);
    assert_eq!(credential.method, LoginMethod::Pin);
    assert_eq!(credential.hash.len(), 16);
    assert!(credential.hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!credential.hash.contains("246810"));
    assert!(
        !hash.as_str().contains(&credential.hash),
        "not a piece of the PHC string"
    );
    let other = hash_pin("135790", &SALT).unwrap();
    assert_ne!(
        other.fingerprint(),
        credential.hash,
        "another PIN, another hash"
    );
    assert_eq!(
        StaffCredential::pin(&hash, true).method,
        LoginMethod::CardAndPin
    );
    let card = CardHash::of_uid(&[0x04, 0xA2, 0x2B, 0x5C, 0x11, 0x80, 0x90]);
    let by_card = StaffCredential::card(&card);
    assert_eq!(by_card.method, LoginMethod::Card);
    assert_eq!(by_card.hash, card.to_hex());
}

#[test]
fn the_authorising_keypad_is_a_keypad_for_one_decision() {
    let t = Timestamp::ZERO;
    let mode = StaffMode::authorize(t, Duration::from_secs(60));
    assert_eq!(mode.screen(), StaffScreen::Pin);
    assert_eq!(mode.purpose(), StaffPurpose::Authorize);
    assert_eq!(
        StaffMode::keypad(t, Duration::from_secs(60), false).purpose(),
        StaffPurpose::Panel
    );
}
