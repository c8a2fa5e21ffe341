//! The hostile-chip suite (issue 13): each attack on the kiosk's one
//! promise — the person served is the holder of a genuine card — played
//! through the whole runtime journey on the simulator board: a card is put
//! on the reader, the citizen gives the card QR, the chip is read. Each test
//! asserts that nobody is identified, nothing is issued or filed, the screen
//! shows a clear fault, and the audit log names the *specific* control that
//! refused the card (so the test fails if that control is deleted).
//!
//! The attacks come from the chip side: `[faults]` of the card profile
//! (`kiosk_firmware::testkit`), which script the virtual chip as a
//! programmable clone or an RF relay would behave. The runtime-level tests of
//! the verification policy itself (tampered hash, unknown, self-signed and
//! expired Document Signers, no SOD, cloned AA and CA keys, an adult without
//! a photo, the QR of another card, an expired card) are in
//! `board/src/runtime/trust_tests.rs`; a citizen touching staff approval is
//! in `tests/tests/staff_authority.rs`. docs/security.md lists them all.

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_firmware::session::{Fault, StepKind};
use kiosk_firmware::testkit::CardProfile;
use kiosk_firmware::testkit::chip::NonceFault;
use kiosk_tests::{SimKiosk, card_profile};

/// The simulator's 2021 card with `edit` applied to its profile.
fn card(edit: impl FnOnce(&mut CardProfile)) -> kiosk_firmware::testkit::chip::VirtualChip {
    let (mut profile, base) = CardProfile::load(&card_profile("cccd-2021")).expect("profile");
    edit(&mut profile);
    profile.chip(&base).expect("the chip builds")
}

/// The audit log, oldest first, as (kind, detail).
fn audit(k: &SimKiosk) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = k
        .runtime
        .store()
        .expect("a store")
        .recent_audit(200)
        .expect("the audit log reads")
        .into_iter()
        .map(|e| (e.kind, e.detail))
        .collect();
    entries.reverse();
    entries
}

/// Where the refusal is recorded: the reader's own refusal of a chip that
/// breaks the protocol, or the verification policy's decision.
#[derive(Debug, Clone, Copy)]
enum Control {
    /// `card_read_failed` with this `reason`.
    Reader(&'static str),
    /// `trust` with this `decision`.
    Policy(&'static str),
}

/// Puts `chip` on the reader of a kiosk that issues numbers, gives the
/// `cccd-2021` card QR and lets the read finish.
fn read(chip: kiosk_firmware::testkit::chip::VirtualChip) -> (SimKiosk, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut k = SimKiosk::with_queue(dir.path(), None);
    k.present_card(Box::new(chip));
    k.scan_qr_of("cccd-2021");
    k.run_for(std::time::Duration::from_millis(500));
    (k, dir)
}

/// Whether the audit log has a `trust` entry with this decision.
fn decided(k: &SimKiosk, decision: &str) -> bool {
    audit(k).iter().any(|(kind, detail)| {
        kind == "trust" && detail.contains(&format!(r#""decision":"{decision}""#))
    })
}

/// Plays the journey with `chip` and asserts the refusal.
fn assert_refused(
    name: &str,
    chip: kiosk_firmware::testkit::chip::VirtualChip,
    fault: Fault,
    control: Control,
) {
    let (k, _dir) = read(chip);
    let view = k.runtime.view();
    assert_eq!(view.step, StepKind::Notice, "{name}: {view:?}");
    assert_eq!(view.fault, Some(fault), "{name}");
    assert!(view.holder_name.is_none(), "{name}: nobody is identified");
    assert!(view.verification.is_none(), "{name}: no verification");
    assert!(k.runtime.verified().is_none(), "{name}: no verdict kept");
    assert!(!k.runtime.holds_personal_data(), "{name}: nothing held");
    let log = audit(&k);
    let found = match control {
        Control::Reader(reason) => log.iter().any(|(kind, detail)| {
            kind == "card_read_failed" && detail.contains(&format!(r#""reason":"{reason}""#))
        }),
        Control::Policy(code) => decided(&k, code),
    };
    assert!(found, "{name}: expected {control:?} in {log:?}");
    // Nothing verified was issued, nothing was filed, nothing printed.
    for (kind, detail) in &log {
        assert!(
            !matches!(
                kind.as_str(),
                "ticket_issued" | "request_filed" | "staff_decision"
            ),
            "{name}: {kind} {detail}"
        );
        for personal in ["003090000001", "Nguyễn", "15/01/1990", "Hà Nội"] {
            assert!(!detail.contains(personal), "{name}: {personal} in {kind}");
        }
    }
    assert_eq!(k.sim.print_jobs(), 0, "{name}: nothing printed");
}

#[test]
fn a_photo_refused_with_6982_is_a_refused_card_not_a_guardian_path() {
    assert_refused(
        "DG2 6982",
        card(|p| p.faults.refuse_6982 = vec![2]),
        Fault::DocumentNotGenuine,
        Control::Policy("listed_group_not_read"),
    );
}

#[test]
fn dg2_dg14_and_dg15_refused_with_6a82_are_a_refused_card() {
    assert_refused(
        "DG2/14/15 6A82",
        card(|p| p.faults.refuse_6a82 = vec![2, 14, 15]),
        Fault::DocumentNotGenuine,
        Control::Policy("listed_group_not_read"),
    );
}

#[test]
fn the_clone_keys_refused_with_6982_are_a_refused_card() {
    assert_refused(
        "DG14/15 6982",
        card(|p| p.faults.refuse_6982 = vec![14, 15]),
        Fault::DocumentNotGenuine,
        Control::Policy("listed_group_not_read"),
    );
}

#[test]
fn an_ef_com_that_hides_groups_the_sod_lists_is_read_past_and_refused_when_they_are_refused() {
    // EF.COM is unsigned: the reader reads what the signed SOD lists, so a
    // hidden group that the chip then refuses is still missed.
    assert_refused(
        "EF.COM omits, chip refuses",
        card(|p| {
            p.faults.com_omits = vec![2, 14, 15];
            p.faults.refuse_6982 = vec![2, 14, 15];
        }),
        Fault::DocumentNotGenuine,
        Control::Policy("listed_group_not_read"),
    );
}

#[test]
fn an_ef_com_that_hides_groups_alone_gains_nothing() {
    // The same omission on an otherwise genuine chip: the groups are read
    // anyway, the photo is there, no guardian path opens.
    let (k, _dir) = read(card(|p| p.faults.com_omits = vec![2, 14, 15]));
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    let verdict = k.runtime.verified().expect("a verdict");
    assert!(
        !verdict.guardian_path,
        "the photo was read: no guardian path"
    );
}

#[test]
fn a_status_appended_after_the_mac_by_a_relay_ends_the_read() {
    assert_refused(
        "99 after 8E",
        card(|p| p.faults.status_after_mac = Some(2)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_sm_object_after_mac"),
    );
}

#[test]
fn a_duplicate_cryptogram_ends_the_read() {
    assert_refused(
        "duplicate 87",
        card(|p| p.faults.duplicate_87 = Some(1)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_sm_duplicate_object"),
    );
}

#[test]
fn a_protected_answer_without_its_status_ends_the_read() {
    assert_refused(
        "missing 99",
        card(|p| p.faults.missing_99 = Some(13)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_sm_missing_status"),
    );
}

#[test]
fn an_empty_pace_nonce_ends_the_read() {
    assert_refused(
        "empty nonce",
        card(|p| p.faults.pace_nonce = Some(NonceFault::Empty)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_pace_nonce_length"),
    );
}

#[test]
fn a_short_pace_nonce_ends_the_read() {
    assert_refused(
        "short nonce",
        card(|p| p.faults.pace_nonce = Some(NonceFault::Short)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_pace_nonce_length"),
    );
}

#[test]
fn a_zero_pace_nonce_ends_the_read() {
    assert_refused(
        "zero nonce",
        card(|p| p.faults.pace_nonce = Some(NonceFault::Zero)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_pace_nonce_zero"),
    );
}

#[test]
fn a_photo_declaring_four_gibibytes_is_not_read() {
    assert_refused(
        "4 GiB DG2",
        card(|p| {
            p.faults.declared_length = Some(kiosk_firmware::testkit::DeclaredLength {
                dg: 2,
                bytes: u32::MAX,
            });
        }),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_file_too_large"),
    );
}

#[test]
fn a_chip_that_drips_its_files_a_byte_at_a_time_is_cut_off() {
    assert_refused(
        "drip",
        card(|p| p.faults.drip = Some(1)),
        Fault::DocumentNotGenuine,
        Control::Reader("hostile_too_many_commands"),
    );
}

#[test]
fn a_chip_that_stalls_mid_read_ends_with_the_readers_timeout() {
    assert_refused(
        "stall",
        card(|p| p.faults.stall_after = Some(600)),
        Fault::UnreadableCard,
        Control::Reader("transport_timeout"),
    );
}

#[test]
fn an_rsa_active_authentication_with_a_wrong_signature_is_a_clone() {
    assert_refused(
        "RSA AA wrong signature",
        card(|p| {
            p.chip.active_authentication = kiosk_firmware::testkit::AaAlgorithm::Rsa;
            p.faults.aa_wrong_signature = true;
        }),
        Fault::DocumentNotGenuine,
        Control::Policy("aa_failed"),
    );
}

#[test]
fn a_genuine_chip_with_rsa_active_authentication_is_accepted() {
    // The control for the test above: the same card with its right RSA key
    // passes, so the refusal comes from the signature check.
    let (k, _dir) = read(card(|p| {
        p.chip.active_authentication = kiosk_firmware::testkit::AaAlgorithm::Rsa;
    }));
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    assert!(decided(&k, "accepted"));
}

#[test]
fn the_qr_of_one_card_held_up_with_another_card_on_the_reader_is_refused() {
    // The card on the reader is another citizen's whose ID shares the QR's
    // last six digits (the CAN): PACE opens, the binding check refuses.
    let (k, _dir) = read(card(|p| p.citizen.id_number = "079090000001".into()));
    assert_eq!(k.runtime.view().fault, Some(Fault::KeyMismatch));
    assert!(decided(&k, "key_mismatch"));
    assert!(k.runtime.verified().is_none());
}
