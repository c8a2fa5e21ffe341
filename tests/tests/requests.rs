//! Online requests through the real runtime and the reference portal over
//! mutual TLS on 127.0.0.1: the citizen's journey from the chip to a
//! printed receipt, and what the network can do to it — the portal down,
//! slow, failing with 5xx, refusing with 4xx, or presenting (or being
//! shown) the wrong certificate. Every request reaches the portal exactly
//! once, counted by idempotency key, and the database never holds a name
//! or an ID number in plaintext.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::online::portal::client::HttpsPortal;
use kiosk_board::online::portal::server::Behaviour;
use kiosk_firmware::requests::delivery::PortalClient as _;
use kiosk_firmware::session::{Fault, Input, MenuChoice, StepKind};
use kiosk_firmware::store::outbox::OutboxState;
use kiosk_firmware::ticket::escpos::decode;
use kiosk_tests::SimKiosk;
use kiosk_tests::portal::{TAM_TRU, TestPortal, pki_in};
use std::time::Duration;

/// The client's timeout: generous, so a loaded CI machine never turns a
/// normal answer into a timeout; the slow portal answers later still.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The status link base of the shipped catalogue.
const STATUS_URL: &str = "https://dichvucong.example.gov.vn/tra-cuu-ho-so";

/// The text of the QR code on a printed page.
fn qr_text(page: &kiosk_firmware::ticket::raster::Bitmap) -> String {
    let (w, h) = (page.width() as usize, page.height() as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        if page.get(x as u32, y as u32) { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the paper");
    grids[0].decode().unwrap().1
}

/// Card on the reader, QR scanned, data confirmed, face check declined and
/// staff confirm: the menu, with the holder identified.
fn reach_menu(k: &mut SimKiosk) {
    k.present_card(Box::new(kiosk_tests::card("cccd-2021")));
    k.scan_qr_of("cccd-2021");
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(false), k.now);
    k.staff_approve();
    assert_eq!(k.step(), StepKind::Menu, "{:?}", k.runtime.view());
}

fn fill_tam_tru(k: &mut SimKiosk) {
    k.runtime.input(
        Input::Choose(MenuChoice::SubmitRequest {
            procedure: TAM_TRU.into(),
        }),
        k.now,
    );
    assert_eq!(k.step(), StepKind::ExpectForm);
    for (name, value) in [
        ("temporary_address", "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội"),
        ("from_date", "01/12/2026"),
        ("to_date", "30/11/2027"),
        ("reason", "Làm việc"),
        ("phone", "0912345678"),
    ] {
        k.runtime.set_form_field(name, value, k.now).unwrap();
    }
}

/// The citizen agrees: the request goes into the outbox and its delivery
/// runs on a worker while the loop goes on; runs the loop until the
/// session hears how it ended (asserted).
fn agree(k: &mut SimKiosk) {
    k.runtime.input(Input::Consent(true), k.now);
    assert!(
        k.run_until(Duration::from_secs(60), |rt| {
            rt.step() != StepKind::SubmittingRequest
        }),
        "the request ended: {:?}",
        k.runtime.view()
    );
}

/// Files the temporary residence request and returns the receipt shown.
fn file_request(k: &mut SimKiosk) -> kiosk_firmware::session::RequestReceipt {
    reach_menu(k);
    fill_tam_tru(k);
    k.runtime.input(Input::FormConfirmed, k.now);
    assert_eq!(k.step(), StepKind::ExpectRequestConsent);
    agree(k);
    let view = k.runtime.view();
    assert_eq!(view.step, StepKind::ShowingReceipt, "{view:?}");
    view.receipt.unwrap()
}

fn leave(k: &mut SimKiosk) {
    k.runtime.input(Input::Cancel, k.now);
    k.sim.remove_card();
    k.run_for(Duration::from_secs(1));
    assert_eq!(k.step(), StepKind::Attract);
}

#[test]
fn a_citizen_files_a_prefilled_request_and_gets_a_receipt_with_the_dossier_code() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    let form = k.runtime.form_screen().unwrap();
    let name = form.fields.iter().find(|f| f.name == "full_name").unwrap();
    assert_eq!(name.value.as_deref(), Some("Nguyễn Văn Mẫu"));
    assert!(!name.editable, "chip fields are read-only");
    assert!(
        k.runtime
            .set_form_field("full_name", "Someone Else", k.now)
            .is_err()
    );
    k.runtime.input(Input::FormConfirmed, k.now);
    let notice = k.runtime.consent_notice().unwrap();
    assert!(notice.text_vi.contains("91/2025/QH15"));
    agree(&mut k);
    let receipt = k.runtime.view().receipt.unwrap();
    assert!(receipt.delivered);
    assert!(
        kiosk_firmware::requests::api::DossierCode::parse(&receipt.code).is_ok(),
        "{}",
        receipt.code
    );
    let snap = portal.handle.snapshot();
    assert_eq!(snap.dossiers_created, 1);
    assert_eq!(snap.dossiers.values().next(), Some(&receipt.code));
    // The receipt came out of the printer as one raster page.
    let paper = decode(&k.sim.printed()).unwrap();
    assert_eq!(paper.pages.len(), 1);
    assert_eq!(paper.pages[0].width(), 576);
    assert_eq!(
        qr_text(&paper.pages[0]),
        format!("{STATUS_URL}/{}", receipt.code),
        "the QR code looks the dossier up"
    );
    // Delivered: nothing is left in the outbox, the audit log knows the
    // counts but no personal data.
    let store = k.runtime.store().unwrap();
    assert!(store.outbox_list().unwrap().is_empty());
    let audit = store.recent_audit(10).unwrap();
    let filed = audit.iter().find(|e| e.kind == "request_filed").unwrap();
    assert!(
        filed.detail.contains("\"prefilled_fields\":5"),
        "{}",
        filed.detail
    );
    assert!(!filed.detail.contains("Mẫu") && !filed.detail.contains("003090000001"));
    let consent = audit.iter().find(|e| e.kind == "request_consent").unwrap();
    assert!(consent.detail.contains("pdpl-91-2025/v1") && consent.detail.contains("text_sha256"));
    leave(&mut k);
    assert!(!k.runtime.holds_personal_data());
    // The status lookup by the receipt code answers from the portal.
    let mut client = portal.client(TIMEOUT);
    let status = client.status(&receipt.code).unwrap();
    assert_eq!(status.status, 200);
}

#[test]
fn a_form_with_problems_stays_on_screen_with_every_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    k.runtime.set_form_field("phone", "12345", k.now).unwrap();
    k.runtime
        .set_form_field("temporary_address", "", k.now)
        .unwrap();
    k.runtime.input(Input::FormConfirmed, k.now);
    assert_eq!(k.step(), StepKind::ExpectForm);
    let problems = k.runtime.form_screen().unwrap().problems;
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["temporary_address", "phone"]);
    assert_eq!(portal.handle.snapshot().submissions, 0);
}

#[test]
fn declining_consent_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    k.runtime.input(Input::FormConfirmed, k.now);
    k.runtime.input(Input::Consent(false), k.now);
    assert_eq!(k.step(), StepKind::Menu);
    assert_eq!(portal.handle.snapshot().submissions, 0);
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    // Silence is not consent either: the consent screen times out.
    fill_tam_tru(&mut k);
    k.runtime.input(Input::FormConfirmed, k.now);
    k.run_for(
        kiosk_firmware::session::SessionConfig::default()
            .timeouts
            .request_consent,
    );
    assert_eq!(k.step(), StepKind::Attract);
    assert_eq!(portal.handle.snapshot().submissions, 0);
}

#[test]
fn with_the_portal_down_the_citizen_gets_a_queued_receipt_and_it_is_sent_later_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = TestPortal::start();
    let settings = portal.settings(TIMEOUT);
    portal.handle.stop();
    // The client keeps the portal's address; restart it there later.
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(HttpsPortal::new(&settings).unwrap()));
    let receipt = file_request(&mut k);
    assert!(!receipt.delivered, "{receipt:?}");
    assert!(
        receipt.code.starts_with('R'),
        "the kiosk's reference: {receipt:?}"
    );
    let paper = decode(&k.sim.printed()).unwrap();
    assert_eq!(paper.pages.len(), 1, "a queued receipt is printed");
    assert_eq!(
        qr_text(&paper.pages[0]),
        format!("{STATUS_URL}/{}", receipt.code),
        "the queued receipt's QR code carries the kiosk's reference"
    );
    let rows = k.runtime.store().unwrap().outbox_list().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutboxState::Pending);
    assert_eq!(rows[0].attempts, 1);
    leave(&mut k);

    // The portal comes back on the same address; the idle kiosk delivers.
    let port = settings
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let back = kiosk_board::online::portal::server::PortalHandle::start(
        &kiosk_board::online::portal::server::ServerSettings {
            cert_file: portal.pki.server_cert.clone(),
            key_file: portal.pki.server_key.clone(),
            client_ca_file: portal.pki.ca.clone(),
            unit_code: "000.00.19.H26".into(),
            procedures: Vec::new(),
            port,
        },
    )
    .unwrap();
    k.run_for(Duration::from_secs(30 * 60));
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    let snap = back.snapshot();
    assert_eq!(snap.dossiers_created, 1);
    assert_eq!(snap.submissions, 1);
    let local = k
        .runtime
        .store()
        .unwrap()
        .request_receipt(&receipt.code)
        .unwrap()
        .unwrap();
    assert_eq!(local.state, "delivered");
    assert_eq!(local.dossier_code.as_ref(), snap.dossiers.values().next());
}

#[test]
fn a_portal_answering_5xx_is_retried_with_backoff_until_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    portal.handle.set_behaviour(Behaviour {
        fail_with: Some(503),
        ..Behaviour::default()
    });
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    let receipt = file_request(&mut k);
    assert!(!receipt.delivered);
    leave(&mut k);
    // Still failing: retried, the delay growing (2 s base, doubling).
    k.run_for(Duration::from_secs(60));
    let rows = k.runtime.store().unwrap().outbox_list().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].attempts >= 3, "{rows:?}");
    assert!(rows[0].last_error.as_deref().unwrap().contains("503"));
    let tries = portal.handle.snapshot().submissions;
    assert!(
        tries <= 8,
        "backoff spaces the attempts: {tries} in a minute"
    );
    portal.handle.set_behaviour(Behaviour::default());
    k.run_for(Duration::from_secs(30 * 60));
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    assert_eq!(portal.handle.snapshot().dossiers_created, 1);
}

#[test]
fn a_slow_portal_times_out_and_the_retry_gets_the_same_dossier_not_a_second_one() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    portal.handle.set_behaviour(Behaviour {
        delay: TIMEOUT + Duration::from_secs(2),
        ..Behaviour::default()
    });
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    let receipt = file_request(&mut k);
    assert!(!receipt.delivered, "the answer came too late: queued");
    leave(&mut k);
    // The portal did create the dossier; the answer was lost.
    let snap = portal.handle.snapshot();
    assert_eq!(snap.dossiers_created, 1);
    portal.handle.set_behaviour(Behaviour::default());
    k.run_for(Duration::from_secs(30 * 60));
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    let snap = portal.handle.snapshot();
    assert_eq!(snap.dossiers_created, 1, "exactly once: {snap:?}");
    assert_eq!(snap.attempts.values().copied().collect::<Vec<_>>(), [2]);
    let local = k
        .runtime
        .store()
        .unwrap()
        .request_receipt(&receipt.code)
        .unwrap()
        .unwrap();
    assert_eq!(local.dossier_code.as_ref(), snap.dossiers.values().next());
}

#[test]
fn a_4xx_is_not_retried_but_becomes_a_failed_row_for_staff() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    portal.handle.set_behaviour(Behaviour {
        fail_with: Some(422),
        ..Behaviour::default()
    });
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    k.runtime.input(Input::FormConfirmed, k.now);
    agree(&mut k);
    assert_eq!(k.runtime.view().fault, Some(Fault::RequestRefused));
    assert_eq!(k.sim.print_jobs(), 0, "no receipt for a refused request");
    let audit = k.runtime.store().unwrap().recent_audit(10).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.kind == "staff_alert" && e.detail.contains("request_refused"))
    );
    k.sim.remove_card();
    k.run_for(Duration::from_secs(60 * 60));
    let rows = k.runtime.store().unwrap().outbox_list().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutboxState::Failed);
    assert_eq!(rows[0].failed_http_status, Some(422));
    assert_eq!(
        portal.handle.snapshot().submissions,
        1,
        "never retried by itself"
    );
}

#[test]
fn a_portal_with_a_certificate_from_another_ca_is_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let other = pki_in(&dir.path().join("other-pki"), "KIOSK-TEST-001");
    // The kiosk pins another CA: the portal's certificate does not chain.
    let mut settings = portal.settings(TIMEOUT);
    settings.ca_file = other.ca.clone();
    let mut client = HttpsPortal::new(&settings).unwrap();
    let err = client
        .submit("0123456789abcdef0123456789abcdef", b"{}")
        .unwrap_err();
    assert!(
        matches!(
            err,
            kiosk_firmware::requests::delivery::TransportError::Tls(_)
        ),
        "{err:?}"
    );
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(client));
    let receipt = file_request(&mut k);
    assert!(!receipt.delivered);
    let rows = k.runtime.store().unwrap().outbox_list().unwrap();
    assert!(
        rows[0].last_error.as_deref().unwrap().contains("TLS"),
        "{rows:?}"
    );
    assert_eq!(portal.handle.snapshot().submissions, 0);
}

#[test]
fn a_kiosk_certificate_from_another_ca_is_refused_by_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let other = pki_in(&dir.path().join("other-pki"), "KIOSK-ROGUE");
    let mut settings = portal.settings(TIMEOUT);
    settings.client_cert_file = other.client_cert.clone();
    settings.client_key_file = other.client_key.clone();
    let mut client = HttpsPortal::new(&settings).unwrap();
    assert!(
        client
            .submit("0123456789abcdef0123456789abcdef", b"{}")
            .is_err()
    );
    assert_eq!(portal.handle.snapshot().submissions, 0);
    // And with the right certificate the same portal answers.
    let mut good = portal.client(TIMEOUT);
    assert_eq!(
        good.submit("0123456789abcdef0123456789abcdef", b"not json")
            .unwrap()
            .status,
        400
    );
}

#[test]
fn the_kiosk_database_never_holds_the_citizens_name_or_id_number_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = TestPortal::start();
    let settings = portal.settings(TIMEOUT);
    portal.handle.stop();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(HttpsPortal::new(&settings).unwrap()));
    for _ in 0..3 {
        let receipt = file_request(&mut k);
        assert!(!receipt.delivered);
        leave(&mut k);
    }
    assert_eq!(k.runtime.store().unwrap().outbox_list().unwrap().len(), 3);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("kiosk.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 8192, "the database and its WAL were read");
    for needle in [
        "Nguyễn Văn Mẫu",
        "NGUYỄN VĂN MẪU",
        "003090000001",
        "090000001",
        "0912345678",
        "Ngõ Mẫu",
        "Đường Mẫu",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} is in the database"
        );
    }
}

#[test]
fn a_tampered_outbox_row_is_failed_for_staff_and_raises_a_possible_breach() {
    let dir = tempfile::tempdir().unwrap();
    let mut portal = TestPortal::start();
    let settings = portal.settings(TIMEOUT);
    portal.handle.stop();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(HttpsPortal::new(&settings).unwrap()));
    file_request(&mut k);
    leave(&mut k);
    // Someone changes the sealed payload in the database file.
    let (mut other, _) = kiosk_firmware::store::Store::open(
        &dir.path().join("kiosk.db"),
        kiosk_firmware::store::UnixMillis(1),
    )
    .unwrap();
    other
        .write(|tx| {
            tx.execute("UPDATE outbox SET payload = zeroblob(64)", ())?;
            Ok(())
        })
        .unwrap();
    k.run_for(Duration::from_secs(60));
    let rows = k.runtime.store().unwrap().outbox_list().unwrap();
    assert_eq!(rows[0].state, OutboxState::Failed);
    let audit = k.runtime.store().unwrap().recent_audit(20).unwrap();
    assert!(
        audit.iter().any(|e| e.kind == "possible_breach"),
        "{audit:?}"
    );
}

/// A frontend that agrees to the consent notice at once, then waits as a
/// real one does, recording the steps shown and counting the watchdog
/// pets systemd got while the request was being delivered; it quits once
/// the receipt is up.
struct Agreeing {
    systemd: std::os::unix::net::UnixDatagram,
    steps: Vec<StepKind>,
    receipt: Option<kiosk_firmware::session::RequestReceipt>,
    agreed: bool,
    pets_while_delivering: u32,
    waits_while_delivering: u32,
    waits: u32,
}

impl kiosk_board::runtime::Frontend for Agreeing {
    fn show(
        &mut self,
        view: &kiosk_firmware::session::SessionView,
        _events: &[kiosk_firmware::session::Event],
    ) {
        self.steps.push(view.step);
        self.receipt = view.receipt.clone();
    }

    fn wait_input(&mut self, timeout: Duration) -> kiosk_board::runtime::FrontendInput {
        use kiosk_board::runtime::FrontendInput;
        self.waits += 1;
        let delivering = self.steps.last() == Some(&StepKind::SubmittingRequest);
        let mut buf = [0u8; 64];
        while let Ok(n) = self.systemd.recv(&mut buf) {
            if &buf[..n] == b"WATCHDOG=1" && delivering {
                self.pets_while_delivering += 1;
            }
        }
        if self.waits > 100_000 {
            return FrontendInput::Quit;
        }
        match self.steps.last() {
            Some(StepKind::ExpectRequestConsent) if !self.agreed => {
                self.agreed = true;
                FrontendInput::Input(Input::Consent(true))
            }
            Some(StepKind::ExpectRequestConsent | StepKind::SubmittingRequest) => {
                if delivering {
                    self.waits_while_delivering += 1;
                }
                #[expect(clippy::disallowed_methods, reason = "a frontend waiting for input")]
                std::thread::sleep(timeout);
                FrontendInput::Nothing
            }
            _ => FrontendInput::Quit,
        }
    }
}

#[test]
fn the_watchdog_is_petted_throughout_a_slow_delivery_and_the_request_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    // Slow, but within the client's timeout: it answers after a second.
    portal.handle.set_behaviour(Behaviour {
        delay: Duration::from_secs(1),
        ..Behaviour::default()
    });
    let notify = dir.path().join("notify");
    let systemd = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let notifier = kiosk_board::drivers::notify::Notifier::new(
        notify.to_str().unwrap(),
        Some(Duration::from_millis(20)),
    )
    .unwrap();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    k.runtime.input(Input::FormConfirmed, k.now);
    assert_eq!(k.step(), StepKind::ExpectRequestConsent);
    // systemd watches from here (it reads every notification as it comes).
    let mut k = k.map_runtime(|rt| rt.with_notifier(notifier));
    // The real loop from here, on the real clock.
    let mut frontend = Agreeing {
        systemd,
        steps: Vec::new(),
        receipt: None,
        agreed: false,
        pets_while_delivering: 0,
        waits_while_delivering: 0,
        waits: 0,
    };
    k.runtime
        .run(&mut frontend, &std::sync::atomic::AtomicBool::new(false));
    assert!(frontend.agreed);
    assert!(
        frontend.steps.contains(&StepKind::SubmittingRequest),
        "{:?}",
        frontend.steps
    );
    assert_eq!(frontend.steps.last(), Some(&StepKind::ShowingReceipt));
    let receipt = frontend.receipt.clone().unwrap();
    assert!(receipt.delivered, "{receipt:?}");
    // About 50 pets in the second the portal took; the loop turned all the
    // while.
    assert!(
        frontend.pets_while_delivering >= 20,
        "pets while delivering: {}",
        frontend.pets_while_delivering
    );
    assert!(
        frontend.waits_while_delivering >= 20,
        "turns while delivering: {}",
        frontend.waits_while_delivering
    );
    let snap = portal.handle.snapshot();
    assert_eq!(snap.submissions, 1, "sent once: {snap:?}");
    assert_eq!(snap.dossiers_created, 1);
    assert_eq!(snap.dossiers.values().next(), Some(&receipt.code));
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    assert_eq!(decode(&k.sim.printed()).unwrap().pages.len(), 1);
}

#[test]
fn cancel_during_the_delivery_keeps_the_request_and_it_is_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start();
    let mut k = SimKiosk::with_requests(dir.path(), Box::new(portal.client(TIMEOUT)));
    reach_menu(&mut k);
    fill_tam_tru(&mut k);
    k.runtime.input(Input::FormConfirmed, k.now);
    k.runtime.input(Input::Consent(true), k.now);
    assert_eq!(k.step(), StepKind::SubmittingRequest);
    assert!(k.runtime.delivering(), "the delivery runs on its worker");
    // The citizen walks away before the portal answered.
    k.runtime.input(Input::Cancel, k.now);
    assert_eq!(k.step(), StepKind::Attract);
    assert!(
        !k.runtime.holds_personal_data(),
        "the form went with the journey"
    );
    k.sim.remove_card();
    k.run_until(Duration::from_secs(60), |rt| !rt.delivering());
    // The request was in the outbox all along; the delivery went through.
    let snap = portal.handle.snapshot();
    assert_eq!(snap.dossiers_created, 1, "{snap:?}");
    assert_eq!(snap.submissions, 1);
    assert!(k.runtime.store().unwrap().outbox_list().unwrap().is_empty());
    let audit = k.runtime.store().unwrap().recent_audit(10).unwrap();
    let filed = audit.iter().find(|e| e.kind == "request_filed").unwrap();
    assert!(
        filed.detail.contains(r#""delivered":true"#),
        "{}",
        filed.detail
    );
    assert!(
        filed.detail.contains(r#""receipt_printed":false"#),
        "no receipt for a citizen who left: {}",
        filed.detail
    );
    assert_eq!(k.sim.print_jobs(), 0);
    // Later passes send nothing again.
    k.run_for(Duration::from_secs(30 * 60));
    assert_eq!(portal.handle.snapshot().submissions, 1);
}
