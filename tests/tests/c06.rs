//! The online chip check (C06, issue 14) through the real runtime and the
//! reference C06 server over mutual TLS on 127.0.0.1. The kiosk holds no
//! CSCA, so every chain is intact but unanchored and the authority
//! decides: genuine, not genuine, revoked, unknown; a verdict signed by
//! another key, for another SOD, replayed, stale; no answer in time. Each
//! case asserts its reason on the screen (the session view) and in the
//! audit log.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::online::c06::server::{C06Handle, C06Settings, Mode};
use kiosk_board::online::c06::{C06Client, VerificationSection};
use kiosk_board::online::portal::client::PortalSettings;
use kiosk_board::online::portal::server::TlsFiles;
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::pa::TrustList;
use kiosk_firmware::session::{Fault, Input, MenuChoice, StepKind};
use kiosk_firmware::testkit::CardProfile;
use kiosk_firmware::testkit::chip::VirtualChip;
use kiosk_firmware::trust::Genuineness;
use kiosk_firmware::trust::online::{VerdictKey, sod_sha256};
use kiosk_tests::portal::{TAM_TRU, TestPortal, pki_in};
use kiosk_tests::{NINE_AM_IN_HANOI, SimKiosk};
use std::sync::Arc;
use std::time::Duration;

const KIOSK_ID: &str = "KIOSK-TEST-001";

struct Setup {
    kiosk: SimKiosk,
    c06: C06Handle,
    _portal: TestPortal,
    _dir: tempfile::TempDir,
}

/// A kiosk with no CSCA, the online check pointed at a fresh reference
/// C06 server (registry: the simulator's CSCA) with `timeout`, a queue and
/// online requests.
fn setup(timeout: Duration) -> Setup {
    setup_with(timeout, false)
}

/// As [`setup`], sending the photo itself when `send_photo`.
fn setup_with(timeout: Duration, send_photo: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki_in(&dir.path().join("pki"), KIOSK_ID);
    let signing_key = p256::ecdsa::SigningKey::from_slice(&[0x17; 32]).unwrap();
    let registry = kiosk_board::app::load_trust_list(Some(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/csca"),
    ))
    .unwrap();
    let c06 = C06Handle::start(C06Settings {
        tls: TlsFiles {
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            client_ca_file: pki.ca.clone(),
        },
        signing_key: signing_key.clone(),
        registry,
        port: 0,
    })
    .unwrap();
    let section = VerificationSection {
        endpoint: PortalSettings {
            url: c06.url(),
            ca_file: pki.ca.clone(),
            client_cert_file: pki.client_cert.clone(),
            client_key_file: pki.client_key.clone(),
            timeout,
        },
        verdict_key_file: dir.path().join("unused.pem"),
        verdict_key: VerdictKey::new(*signing_key.verifying_key()),
        max_age: Duration::from_secs(300),
        skew: Duration::from_secs(30),
        send_photo,
        sim_c06: None,
    };
    let client = Arc::new(C06Client::new(&section, KIOSK_ID).unwrap());
    let portal = TestPortal::start();
    let kiosk =
        SimKiosk::with_requests(dir.path(), Box::new(portal.client(Duration::from_secs(5))))
            .map_runtime(|rt| {
                rt.with_trust_list(TrustList::empty())
                    .with_online_check(client)
            });
    Setup {
        kiosk,
        c06,
        _portal: portal,
        _dir: dir,
    }
}

/// The shipped `cccd-2021` card with `edit` applied to its profile.
fn card(edit: impl FnOnce(&mut CardProfile)) -> VirtualChip {
    let path = kiosk_tests::card_profile("cccd-2021");
    let (mut profile, base) = CardProfile::load(&path).unwrap();
    edit(&mut profile);
    profile.chip(&base).unwrap()
}

impl Setup {
    /// The card on the reader, its QR scanned, the chip read and the
    /// authority's answer (or its absence) taken in.
    fn read(&mut self, chip: VirtualChip) {
        let k = &mut self.kiosk;
        // The server dates its verdicts on the kiosk's clock.
        self.c06
            .set_clock(Some(NINE_AM_IN_HANOI + k.now.as_millis()));
        k.present_card(Box::new(chip));
        k.scan_qr_of("cccd-2021");
        assert!(
            k.runtime.awaiting_authority(),
            "an intact unanchored chain is sent to the authority: {:?}",
            k.runtime.view()
        );
        let view = k.runtime.view();
        assert_eq!(view.step, StepKind::Reading);
        assert!(view.authority_check, "the screen says the card is checked");
        while k.runtime.awaiting_authority() {
            k.runtime.settle_online_check(Duration::from_secs(30));
            k.runtime.tick(k.now);
        }
    }

    fn audit(&self, kind: &str) -> serde_json::Value {
        let entries = self
            .kiosk
            .runtime
            .store()
            .unwrap()
            .recent_audit(50)
            .unwrap();
        let entry = entries
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} entry in {entries:?}"));
        serde_json::from_str(&entry.detail).unwrap()
    }

    /// The card is refused: the notice's fault, the `trust` entry's
    /// decision, nothing held.
    fn assert_refused(&self, fault: Fault, code: &str) {
        let view = self.kiosk.runtime.view();
        assert_eq!(view.step, StepKind::Notice, "{view:?}");
        assert_eq!(view.fault, Some(fault), "{view:?}");
        let trust = self.audit("trust");
        assert_eq!(trust["decision"], code, "{trust}");
        assert_eq!(trust["source"]["source"], "none", "{trust}");
        assert!(self.kiosk.runtime.verified().is_none());
        assert!(view.holder_name.is_none());
        let text = trust.to_string();
        for personal in ["003090000001", "Nguyễn", "15/01/1990"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    /// Confirm, decline the face check, staff approve: the menu.
    fn reach_menu(&mut self) {
        let k = &mut self.kiosk;
        k.runtime.input(Input::Confirm(true), k.now);
        k.runtime.input(Input::Consent(false), k.now);
        k.staff_approve();
        assert_eq!(k.step(), StepKind::Menu, "{:?}", k.runtime.view());
    }
}

#[test]
fn a_genuine_verdict_makes_the_card_online_verified_and_only_the_photo_hash_is_sent() {
    let mut s = setup(Duration::from_secs(10));
    s.read(kiosk_tests::card("cccd-2021"));
    let view = s.kiosk.runtime.view();
    assert_eq!(view.step, StepKind::ExpectConfirmation, "{view:?}");
    assert!(!view.authority_check);
    assert_eq!(
        s.kiosk.runtime.verified().map(|t| t.genuineness.clone()),
        Some(Genuineness::OnlineVerified {
            verdict: "C06-REF-000001".into()
        })
    );
    let trust = s.audit("trust");
    assert_eq!(trust["decision"], "accepted");
    assert_eq!(trust["source"]["source"], "online_verdict");
    assert_eq!(trust["source"]["verdict_id"], "C06-REF-000001");
    assert_eq!(trust["online"]["status"], "genuine");
    let stats = s.c06.stats();
    assert_eq!(
        (stats.requests, stats.with_photo, stats.with_photo_hash),
        (1, 0, 1)
    );
    // An online request is open to it: the form comes up.
    s.reach_menu();
    assert_eq!(s.kiosk.runtime.view().menu_notice, None);
    s.kiosk.runtime.input(
        Input::Choose(MenuChoice::SubmitRequest {
            procedure: TAM_TRU.into(),
        }),
        s.kiosk.now,
    );
    assert_eq!(s.kiosk.step(), StepKind::ExpectForm);
}

#[test]
fn a_not_genuine_verdict_refuses_the_card() {
    let mut s = setup(Duration::from_secs(10));
    // A DS certificate naming the simulator's CSCA, signed by another key.
    s.read(card(|p| p.faults.forged_csca = true));
    s.assert_refused(Fault::DocumentNotGenuine, "online_not_genuine");
    assert_eq!(s.audit("trust")["online"]["status"], "not_genuine");
}

#[test]
fn a_revoked_card_is_refused_as_revoked() {
    let mut s = setup(Duration::from_secs(10));
    let chip = kiosk_tests::card("cccd-2021");
    s.c06.revoke(&sod_sha256(chip.file(File::Sod).unwrap()));
    s.read(chip);
    s.assert_refused(Fault::CardRevoked, "card_revoked");
}

#[test]
fn a_card_the_authority_does_not_know_is_refused_as_unknown() {
    let mut s = setup(Duration::from_secs(10));
    s.read(card(|p| p.faults.unknown_signer = true));
    s.assert_refused(Fault::CardUnknownToAuthority, "card_unknown_to_authority");
}

#[test]
fn a_verdict_signed_by_another_key_is_refused() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_mode(Mode::OtherKey);
    s.read(kiosk_tests::card("cccd-2021"));
    s.assert_refused(Fault::AuthorityAnswerInvalid, "verdict_signature_invalid");
    assert_eq!(s.audit("trust")["online"]["reason"], "signature_invalid");
    // Staff see it among the panel's last errors.
    assert_eq!(
        s.audit("authority_verdict_invalid")["reason"],
        "signature_invalid"
    );
}

#[test]
fn a_verdict_for_another_sod_is_refused() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_mode(Mode::OtherSod);
    s.read(kiosk_tests::card("cccd-2021"));
    s.assert_refused(Fault::AuthorityAnswerInvalid, "verdict_for_another_sod");
}

#[test]
fn a_replayed_verdict_is_refused() {
    let mut s = setup(Duration::from_secs(10));
    // A first, honest check of the card...
    s.read(kiosk_tests::card("cccd-2021"));
    assert_eq!(s.kiosk.step(), StepKind::ExpectConfirmation);
    s.kiosk.runtime.input(Input::Cancel, s.kiosk.now);
    s.kiosk.sim.remove_card();
    s.kiosk.run_for(Duration::from_secs(1));
    assert_eq!(s.kiosk.step(), StepKind::Attract);
    // ...and its signed genuine verdict replayed for the next request.
    s.c06.set_mode(Mode::Replay);
    s.read(kiosk_tests::card("cccd-2021"));
    s.assert_refused(Fault::AuthorityAnswerInvalid, "verdict_replayed");
}

#[test]
fn a_stale_verdict_is_refused() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_mode(Mode::Stale);
    s.read(kiosk_tests::card("cccd-2021"));
    s.assert_refused(Fault::AuthorityAnswerInvalid, "verdict_stale");
}

#[test]
fn a_malformed_answer_is_refused() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_mode(Mode::Malformed);
    s.read(kiosk_tests::card("cccd-2021"));
    s.assert_refused(Fault::AuthorityAnswerInvalid, "verdict_malformed");
}

/// No answer within the deadline: `unverified_offline`, shown on the menu
/// and audited; a ticket is allowed, an online request refused.
fn offline_journey(s: &mut Setup, cause: &str) {
    let view = s.kiosk.runtime.view();
    assert_eq!(view.step, StepKind::ExpectConfirmation, "{view:?}");
    assert!(matches!(
        s.kiosk.runtime.verified().map(|t| t.genuineness.clone()),
        Some(Genuineness::UnverifiedOffline { cause: c, .. }) if c == cause
    ));
    let trust = s.audit("trust");
    assert_eq!(trust["decision"], "accepted");
    assert_eq!(trust["source"]["source"], "unverified_offline");
    assert_eq!(trust["online"]["cause"], cause);
    // Staff see it among the panel's last errors.
    assert_eq!(s.audit("unverified_offline")["cause"], cause);
    s.reach_menu();
    assert_eq!(
        s.kiosk.runtime.view().menu_notice,
        Some(Fault::UnverifiedOffline),
        "the citizen is told"
    );
    s.kiosk.runtime.input(
        Input::Choose(MenuChoice::SubmitRequest {
            procedure: TAM_TRU.into(),
        }),
        s.kiosk.now,
    );
    let view = s.kiosk.runtime.view();
    assert_eq!(view.step, StepKind::Menu, "{view:?}");
    assert_eq!(view.menu_notice, Some(Fault::UnverifiedOffline));
    let refused = s.audit("trust_refused");
    assert_eq!(refused["purpose"], "online_request");
    assert_eq!(refused["reason"], "online_check_unavailable");
    s.kiosk.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: "A".into(),
            priority: None,
        }),
        s.kiosk.now,
    );
    s.kiosk.run_for(Duration::from_secs(2));
    let view = s.kiosk.runtime.view();
    assert_eq!(view.step, StepKind::ShowingTicket, "{view:?}");
    assert!(view.ticket.is_some());
}

#[test]
fn no_answer_in_time_is_unverified_offline_a_ticket_yes_an_online_request_no() {
    // The server answers after 3 s; the kiosk waits 300 ms.
    let mut s = setup(Duration::from_millis(300));
    s.c06.set_delay(Duration::from_secs(3));
    s.read(kiosk_tests::card("cccd-2021"));
    offline_journey(&mut s, "timeout");
}

#[test]
fn a_5xx_is_no_answer_too() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_mode(Mode::ServerError);
    s.read(kiosk_tests::card("cccd-2021"));
    offline_journey(&mut s, "server_error");
}

#[test]
fn the_virtual_deadline_passing_before_any_answer_is_a_timeout() {
    // The run loop does not wait for the network: when its deadline (in
    // the runtime's clock) passes, the check is over.
    let mut s = setup(Duration::from_secs(2));
    s.c06.set_delay(Duration::from_secs(20));
    s.c06
        .set_clock(Some(NINE_AM_IN_HANOI + s.kiosk.now.as_millis()));
    s.kiosk
        .present_card(Box::new(kiosk_tests::card("cccd-2021")));
    s.kiosk.scan_qr_of("cccd-2021");
    assert!(s.kiosk.runtime.awaiting_authority());
    s.kiosk.run_for(Duration::from_secs(3));
    assert!(!s.kiosk.runtime.awaiting_authority());
    offline_journey(&mut s, "timeout");
}

#[test]
fn an_anchored_card_never_asks_the_authority() {
    let mut s = setup(Duration::from_secs(10));
    let csca = kiosk_board::app::load_trust_list(Some(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/csca"),
    ))
    .unwrap();
    s.kiosk = s.kiosk.map_runtime(|rt| rt.with_trust_list(csca));
    s.kiosk
        .present_card(Box::new(kiosk_tests::card("cccd-2021")));
    s.kiosk.scan_qr_of("cccd-2021");
    assert!(!s.kiosk.runtime.awaiting_authority());
    assert_eq!(s.kiosk.step(), StepKind::ExpectConfirmation);
    assert_eq!(s.c06.stats().requests, 0);
    assert_eq!(s.audit("trust")["source"]["source"], "anchored");
}

#[test]
fn a_verdict_never_outlives_the_journey_and_the_next_journey_asks_again() {
    let mut s = setup(Duration::from_secs(10));
    s.read(kiosk_tests::card("cccd-2021"));
    assert!(s.kiosk.runtime.verified().is_some());
    s.kiosk.runtime.input(Input::Cancel, s.kiosk.now);
    s.kiosk.sim.remove_card();
    s.kiosk.run_for(Duration::from_secs(1));
    assert_eq!(s.kiosk.step(), StepKind::Attract);
    assert!(s.kiosk.runtime.verified().is_none(), "wiped with the vault");
    assert!(!s.kiosk.runtime.holds_personal_data());
    s.read(kiosk_tests::card("cccd-2021"));
    assert_eq!(s.c06.stats().requests, 2, "no verdict was cached");
    assert_eq!(
        s.kiosk.runtime.verified().map(|t| t.genuineness.clone()),
        Some(Genuineness::OnlineVerified {
            verdict: "C06-REF-000002".into()
        })
    );
}

#[test]
fn the_photo_is_sent_only_when_the_configuration_says_the_endpoint_needs_it() {
    let mut s = setup_with(Duration::from_secs(10), true);
    s.read(kiosk_tests::card("cccd-2021"));
    assert_eq!(s.kiosk.step(), StepKind::ExpectConfirmation);
    let stats = s.c06.stats();
    assert_eq!((stats.requests, stats.with_photo), (1, 1));
    assert_eq!(s.audit("online_check")["photo_sent"], true);
}

#[test]
fn cancelling_while_the_authority_is_asked_abandons_the_check() {
    let mut s = setup(Duration::from_secs(10));
    s.c06.set_delay(Duration::from_secs(2));
    s.c06
        .set_clock(Some(NINE_AM_IN_HANOI + s.kiosk.now.as_millis()));
    s.kiosk
        .present_card(Box::new(kiosk_tests::card("cccd-2021")));
    s.kiosk.scan_qr_of("cccd-2021");
    assert!(s.kiosk.runtime.awaiting_authority());
    s.kiosk.runtime.input(Input::Cancel, s.kiosk.now);
    assert!(!s.kiosk.runtime.awaiting_authority());
    assert!(s.kiosk.runtime.verified().is_none());
    s.kiosk.run_for(Duration::from_secs(1));
    assert_ne!(s.kiosk.step(), StepKind::ExpectConfirmation);
}
