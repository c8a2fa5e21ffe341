#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed unwrap is a failed test, with its message"
)]

use super::api::DossierCode;
use super::delivery::{Answer, TransportError};
use super::delivery::{Backoff, Courier, PortalClient, Step, Verdict, classify};
use super::*;
use crate::cccd::dg13::Citizen;
use crate::store::outbox::{NewRequest, OutboxKey, OutboxState};
use crate::store::{Store, UnixMillis};
use std::collections::HashMap;
use std::path::PathBuf;

fn shipped() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../board/config/procedures.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config: CatalogConfig = toml::from_str(&text).unwrap();
    Catalog::from_config(&config).unwrap()
}

fn citizen() -> Citizen {
    Citizen {
        id_number: "003090000001".into(),
        full_name: "Nguyễn Văn Mẫu".into(),
        date_of_birth: "15/01/1990".into(),
        sex: "Nam".into(),
        nationality: "Việt Nam".into(),
        ethnicity: "Kinh".into(),
        religion: "Không".into(),
        place_of_origin: "Xã Mẫu, Huyện Mẫu, Nam Định".into(),
        place_of_residence: "Số 1 Đường Mẫu, Phường Mẫu, Hà Nội".into(),
        identifying_marks: "Nốt ruồi".into(),
        date_of_issue: "01/06/2021".into(),
        date_of_expiry: "15/01/2030".into(),
        father_name: Some("Nguyễn Văn Cha".into()),
        mother_name: None,
        spouse_name: None,
        old_id_number: None,
        field_16: None,
    }
}

const TAM_TRU: &str = "1.004222";

fn filled_tam_tru(catalog: &Catalog) -> Form {
    let p = catalog.procedure(TAM_TRU).unwrap();
    let mut form = Form::prefill(p, &citizen());
    form.set("temporary_address", "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội")
        .unwrap();
    form.set("from_date", "01/12/2026").unwrap();
    form.set("to_date", "30/11/2027").unwrap();
    form.set("reason", "Làm việc").unwrap();
    form.set("phone", "0912 345 678").unwrap();
    form
}

#[test]
fn the_shipped_catalogue_has_the_essential_procedures_with_vietnamese_names() {
    let c = shipped();
    let want = [
        ("Đăng ký tạm trú", "Temporary residence registration"),
        ("Đăng ký thường trú", "Permanent residence registration"),
        ("Thông báo lưu trú", "Notification of stay"),
        ("Khai báo tạm vắng", "Absence declaration"),
        ("lý lịch tư pháp", "Judicial record certificate"),
        ("Đăng ký khai sinh", "Birth registration"),
        ("Chứng minh nhân dân (9 số)", "old 9-digit ID"),
    ];
    for (vi, en) in want {
        assert!(
            c.procedures
                .iter()
                .any(|p| p.name_vi.contains(vi) && p.name_en.contains(en)),
            "{vi} / {en} missing"
        );
    }
    for p in &c.procedures {
        assert!(p.fields.iter().any(|f| f.chip.is_some()), "{}", p.code);
        assert!(p.fields.iter().any(|f| f.chip.is_none()), "{}", p.code);
    }
    let birth = c
        .procedures
        .iter()
        .find(|p| p.name_en == "Birth registration")
        .unwrap();
    assert!(
        birth
            .bring_to_counter
            .iter()
            .any(|a| a.vi.contains("Giấy chứng sinh"))
    );
}

#[test]
fn a_catalogue_error_names_the_field_and_what_would_do() {
    let mut config: CatalogConfig = toml::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../board/config/procedures.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    config.procedures[1].fields[2].kind = FieldType::Choice;
    let err = Catalog::from_config(&config).unwrap_err();
    assert_eq!(err.field, "procedures[1].fields[2].options");
    assert!(err.reason.contains("two options"), "{err}");

    let mut config2 = config.clone();
    config2.procedures[1].fields[2].kind = FieldType::Text;
    config2.procedures[3].code = config2.procedures[0].code.clone();
    let err = Catalog::from_config(&config2).unwrap_err();
    assert_eq!(err.field, "procedures[3].code");
    assert!(err.reason.contains("twice"), "{err}");

    let mut config3 = config.clone();
    config3.procedures[1].fields[2].kind = FieldType::Text;
    config3.status_url = "http://plain.example".into();
    assert_eq!(
        Catalog::from_config(&config3).unwrap_err().field,
        "status_url"
    );
}

#[test]
fn the_form_is_prefilled_from_the_chip_and_chip_fields_are_read_only() {
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    let mut form = Form::prefill(p, &citizen());
    assert_eq!(form.get("full_name"), Some("Nguyễn Văn Mẫu"));
    assert_eq!(form.get("id_number"), Some("003090000001"));
    assert_eq!(
        form.get("permanent_residence"),
        Some("Số 1 Đường Mẫu, Phường Mẫu, Hà Nội")
    );
    assert_eq!(
        form.set("full_name", "Someone Else"),
        Err(FormError::ReadOnly("full_name".into()))
    );
    assert_eq!(form.get("full_name"), Some("Nguyễn Văn Mẫu"));
    assert_eq!(
        form.set("favourite_colour", "blue"),
        Err(FormError::UnknownField("favourite_colour".into()))
    );
    let view = form.view(p);
    assert!(
        view.iter()
            .filter(|f| f.source == form::Source::Chip)
            .all(|f| !f.editable)
    );
    assert!(
        !format!("{form:?}").contains("Mẫu"),
        "Debug must not print values"
    );
}

#[test]
fn a_chip_field_the_card_lacks_may_be_typed_when_the_procedure_allows() {
    let c = shipped();
    let p = c
        .procedures
        .iter()
        .find(|p| p.name_en.contains("old 9-digit"))
        .unwrap();
    let mut form = Form::prefill(p, &citizen());
    assert_eq!(form.get("old_id_number"), None);
    let problems = form.validate(p).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|x| x.field == "old_id_number" && x.problem == Problem::Required)
    );
    form.set("old_id_number", "12345").unwrap();
    let problems = form.validate(p).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|x| x.field == "old_id_number" && x.problem == Problem::NotAnOldIdNumber)
    );
    form.set("old_id_number", "012345678").unwrap();
    form.set("phone", "0912345678").unwrap();
    form.validate(p).unwrap();

    let mut with_cmnd = citizen();
    with_cmnd.old_id_number = Some("090000001".into());
    let mut form = Form::prefill(p, &with_cmnd);
    assert_eq!(form.get("old_id_number"), Some("090000001"));
    assert!(matches!(
        form.set("old_id_number", "111111111"),
        Err(FormError::ReadOnly(_))
    ));
}

#[test]
fn validation_lists_every_problem_with_a_message_in_both_languages() {
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    let mut form = Form::prefill(p, &citizen());
    form.set("from_date", "31/02/2026").unwrap();
    form.set("to_date", "01/01/2020").unwrap();
    form.set("reason", "Du lịch").unwrap();
    form.set("phone", "12345").unwrap();
    let problems = form.validate(p).unwrap_err();
    let by_field: HashMap<&str, &FieldProblem> =
        problems.iter().map(|x| (x.field.as_str(), x)).collect();
    assert_eq!(by_field["temporary_address"].problem, Problem::Required);
    assert_eq!(by_field["from_date"].problem, Problem::NotADate);
    assert_eq!(by_field["phone"].problem, Problem::NotAPhone);
    assert!(matches!(
        by_field["reason"].problem,
        Problem::NotAnOption { .. }
    ));
    assert!(
        by_field["phone"]
            .message_vi
            .contains("Số điện thoại liên hệ")
    );
    assert!(
        by_field["phone"]
            .message_en
            .contains("phone number starting with 0")
    );
    assert!(by_field["reason"].message_en.contains("Học tập"));

    form.set("from_date", "01/12/2026").unwrap();
    let problems = form.validate(p).unwrap_err();
    assert!(problems.iter().any(|x| x.field == "to_date"
        && x.problem
            == Problem::BeforeOther {
                other: "from_date".into()
            }));
    assert!(filled_tam_tru(&c).validate(p).is_ok());
}

#[test]
fn phone_numbers_are_vietnamese_numbers() {
    for ok in [
        "0912345678",
        "091 234 5678",
        "+84912345678",
        "024.3825.1234",
    ] {
        assert!(form::is_phone(ok), "{ok}");
    }
    for bad in [
        "",
        "912345678",
        "00912345678",
        "0912-345-67",
        "+8491234567x",
        "0012345678",
        "09123456789",
    ] {
        assert!(!form::is_phone(bad), "{bad}");
    }
}

#[test]
fn the_consent_notice_follows_the_current_personal_data_law() {
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    let notice = ConsentNotice::for_procedure(p, crate::session::Verification::FaceMatched);
    for needle in [
        "91/2025/QH15",
        "356/2025",
        "72 giờ",
        "Im lặng",
        "sinh trắc học",
        p.agency_vi.as_str(),
        "Họ, chữ đệm và tên",
    ] {
        assert!(notice.text_vi.contains(needle), "vi lacks {needle}");
    }
    for needle in [
        "Silence",
        "72 hours",
        "NOT sent",
        "withdraw",
        p.agency_en.as_str(),
    ] {
        assert!(notice.text_en.contains(needle), "en lacks {needle}");
    }
    assert!(
        !notice.text_vi.contains("13/2023"),
        "Decree 13/2023 is replaced"
    );
    let record = notice.record(p, 1_795_572_000_000);
    assert!(record.explicit);
    assert_eq!(record.text_sha256.len(), 64);
    assert_eq!(record.given_by, "holder");
    let guardian = ConsentNotice::for_procedure(p, crate::session::Verification::Guardian);
    assert!(guardian.text_vi.contains("người đại diện theo pháp luật"));
    assert_ne!(guardian.text_sha256(), notice.text_sha256());
}

#[test]
fn a_submission_carries_the_form_the_consent_and_the_field_counts() {
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    let form = filled_tam_tru(&c);
    let consent =
        ConsentNotice::for_procedure(p, crate::session::Verification::FaceMatched).record(p, 5);
    let ctx = Context {
        kiosk_id: "KIOSK-1",
        catalog_version: &c.version,
        verification: crate::session::Verification::FaceMatched,
        now_unix_ms: 7,
    };
    let s = submission(p, &form, consent.clone(), "R0123456789", &ctx).unwrap();
    assert_eq!(s.prefilled_fields, 5);
    assert_eq!(s.typed_fields, 5);
    assert_eq!(s.field("id_number"), Some("003090000001"));
    assert_eq!(s.verification, "face_matched");
    assert_eq!(s.consent, consent);
    let anonymous = Context {
        verification: crate::session::Verification::Anonymous,
        ..ctx
    };
    assert_eq!(
        submission(p, &form, consent.clone(), "R1", &anonymous).unwrap_err(),
        RequestError::Anonymous
    );
    let empty = Form::prefill(p, &citizen());
    assert!(matches!(
        submission(p, &empty, consent, "R1", &ctx),
        Err(RequestError::Invalid(v)) if v.len() == 5
    ));
}

#[test]
fn dossier_codes_follow_circular_01_2018() {
    for ok in ["000.00.19.H26-261125-0001", "000.31.24.H29-270101-9999"] {
        assert_eq!(DossierCode::parse(ok).unwrap().as_str(), ok);
    }
    for bad in [
        "",
        "000.00.19.H26-261125-001",
        "000.00.19-261125-0001",
        "000.00.19.H26-261325-0001",
        "00.00.19.H26-261125-0001",
        "000.00.19.H26-261125-0001-2",
    ] {
        assert!(DossierCode::parse(bad).is_err(), "{bad}");
    }
}

fn answer(status: u16, body: &str) -> Result<Answer, TransportError> {
    Ok(Answer {
        status,
        body: body.as_bytes().to_vec(),
    })
}

#[test]
fn a_4xx_is_refused_for_good_and_5xx_timeouts_and_429_are_retried() {
    let receipt = r#"{"dossier_code":"000.00.19.H26-261125-0001","status":"received","received_at_unix_ms":1,"appointment_date":null}"#;
    assert!(
        matches!(classify(&answer(201, receipt)), Verdict::Delivered(r) if r.status == "received")
    );
    assert!(matches!(
        classify(&answer(200, receipt)),
        Verdict::Delivered(_)
    ));
    assert!(matches!(
        classify(&answer(422, r#"{"code":"invalid_payload","message":"x"}"#)),
        Verdict::Refused { status: 422, reason } if reason == "invalid_payload"
    ));
    assert!(matches!(
        classify(&answer(409, "")),
        Verdict::Refused { status: 409, .. }
    ));
    for retry in [
        answer(500, ""),
        answer(503, ""),
        answer(429, ""),
        answer(408, ""),
        answer(201, "not json"),
        answer(
            201,
            r#"{"dossier_code":"HS-1","status":"received","received_at_unix_ms":1}"#,
        ),
        Err(TransportError::Timeout),
        Err(TransportError::Connect("refused".into())),
        Err(TransportError::Tls("unknown issuer".into())),
    ] {
        assert!(matches!(classify(&retry), Verdict::Retry(_)), "{retry:?}");
    }
}

#[test]
fn backoff_doubles_up_to_its_cap_with_half_of_it_random() {
    let b = Backoff {
        base_ms: 1_000,
        max_ms: 60_000,
    };
    for failures in 1..=20u32 {
        let cap = (1_000u64 << (failures - 1).min(40)).min(60_000);
        let lo = b.delay(failures, 0).as_millis() as u64;
        let hi = b.delay(failures, u64::MAX - 1).as_millis() as u64;
        assert_eq!(lo, cap / 2, "{failures}");
        assert!(hi <= cap && hi >= cap / 2, "{failures}: {hi}");
        for r in [1u64, 77, 12_345, 987_654_321] {
            let d = b.delay(failures, r).as_millis() as u64;
            assert!((cap / 2..=cap).contains(&d), "{failures} {r}: {d}");
        }
    }
    assert_ne!(
        b.delay(5, 3),
        b.delay(5, 9_999),
        "the jitter spreads kiosks apart"
    );
    assert_eq!(b.delay(u32::MAX, 0).as_millis(), 30_000);
}

/// A portal double: answers from a script, counting submissions per key.
struct Scripted {
    answers: Vec<Result<Answer, TransportError>>,
    seen: Vec<(String, Vec<u8>)>,
}

impl PortalClient for Scripted {
    fn submit(&mut self, key: &str, body: &[u8]) -> Result<Answer, TransportError> {
        self.seen.push((key.to_owned(), body.to_vec()));
        if self.answers.is_empty() {
            Err(TransportError::Connect("no more answers".into()))
        } else {
            self.answers.remove(0)
        }
    }
    fn status(&mut self, _: &str) -> Result<Answer, TransportError> {
        Err(TransportError::Timeout)
    }
    fn cancel(&mut self, _: &str) -> Result<Answer, TransportError> {
        Err(TransportError::Timeout)
    }
}

fn key() -> OutboxKey {
    OutboxKey::from_bytes(&[7u8; 32]).unwrap()
}

fn enqueue(store: &mut Store, n: u8, payload: &[u8]) -> (i64, String) {
    let idem = idempotency_key([n; 16]);
    let reference = reference_for(&idem);
    let id = store
        .outbox_enqueue(
            &key(),
            &NewRequest {
                idempotency_key: &idem,
                reference: &reference,
                procedure: TAM_TRU,
                payload,
                nonce: [n; 12],
                now: UnixMillis(1_000),
            },
        )
        .unwrap();
    (id, idem)
}

#[test]
fn a_delivery_pass_deletes_delivered_rows_reschedules_5xx_and_fails_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&dir.path().join("k.db"), UnixMillis(1)).unwrap();
    let (_, k1) = enqueue(&mut store, 1, b"{\"a\":1}");
    let (_, _k2) = enqueue(&mut store, 2, b"{\"a\":2}");
    let (_, _k3) = enqueue(&mut store, 3, b"{\"a\":3}");
    let mut portal = Scripted {
        answers: vec![
            answer(
                201,
                r#"{"dossier_code":"000.00.19.H26-261125-0001","status":"received","received_at_unix_ms":1}"#,
            ),
            answer(503, ""),
            answer(422, r#"{"code":"unknown_procedure","message":"no"}"#),
        ],
        seen: Vec::new(),
    };
    let backoff = Backoff {
        base_ms: 1_000,
        max_ms: 10_000,
    };
    let mut steps = Vec::new();
    let k = key();
    let out = Courier {
        key: &k,
        client: &mut portal,
        backoff,
    }
    .deliver_pass(&mut store, UnixMillis(2_000), 10, &mut || 0, &mut |s| {
        steps.push(s)
    })
    .unwrap();
    assert_eq!(
        out.iter().map(|o| o.outcome).collect::<Vec<_>>(),
        ["delivered", "retry", "failed"]
    );
    assert_eq!(steps[0], Step::Claimed);
    assert_eq!(portal.seen[0].0, k1);
    assert_eq!(
        portal.seen[0].1, b"{\"a\":1}",
        "the portal gets the plaintext"
    );
    let rows = store.outbox_list().unwrap();
    assert_eq!(rows.len(), 2, "the delivered row is deleted");
    assert_eq!(rows[0].state, OutboxState::Pending);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].next_attempt_at_unix_ms, 2_500);
    assert_eq!(rows[1].state, OutboxState::Failed);
    assert_eq!(rows[1].failed_http_status, Some(422));
    // The usage counts moved with the rows, in the same transactions.
    let usage = store.usage_totals().unwrap();
    use crate::metrics::Metric;
    assert_eq!(usage.get(Metric::RequestsQueued, TAM_TRU), 3);
    assert_eq!(usage.total(Metric::RequestsSent), 1);
    assert_eq!(usage.get(Metric::RequestsRefused, TAM_TRU), 1);
    assert_eq!(store.outbox_backlog().unwrap(), (1, 1));
    let receipt = store.request_receipt(&reference_for(&k1)).unwrap().unwrap();
    assert_eq!(receipt.state, "delivered");
    assert_eq!(
        receipt.dossier_code.as_deref(),
        Some("000.00.19.H26-261125-0001")
    );
    assert_eq!(
        store
            .request_receipt("000.00.19.H26-261125-0001")
            .unwrap()
            .unwrap()
            .reference,
        reference_for(&k1)
    );

    // Not due yet: nothing is sent; a failed row is never retried by itself.
    let out = Courier {
        key: &k,
        client: &mut portal,
        backoff,
    }
    .deliver_pass(&mut store, UnixMillis(2_400), 10, &mut || 0, &mut |_| {})
    .unwrap();
    assert!(out.is_empty());
    assert_eq!(store.outbox_next_due().unwrap(), Some(UnixMillis(2_500)));
    let out = Courier {
        key: &k,
        client: &mut portal,
        backoff,
    }
    .deliver_pass(&mut store, UnixMillis(999_999), 10, &mut || 0, &mut |_| {})
    .unwrap();
    assert_eq!(out.len(), 1, "only the retried row, not the failed one");
    assert_eq!(portal.seen.len(), 4);
    // Staff discard the failed row: its sealed payload is gone, its
    // receipt says failed.
    let failed = store
        .outbox_list()
        .unwrap()
        .into_iter()
        .find(|r| r.state == OutboxState::Failed)
        .unwrap();
    assert!(!store.outbox_discard_failed(failed.id + 1000).unwrap());
    assert!(store.outbox_discard_failed(failed.id).unwrap());
    assert!(
        store
            .outbox_list()
            .unwrap()
            .iter()
            .all(|r| r.id != failed.id)
    );
    assert_eq!(
        store
            .request_receipt(&failed.reference)
            .unwrap()
            .unwrap()
            .state,
        "failed"
    );
}

#[test]
fn a_row_claimed_when_the_power_went_goes_back_to_pending_and_is_resent_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let idem;
    {
        let (mut store, _) = Store::open(&path, UnixMillis(1)).unwrap();
        let (_, k) = enqueue(&mut store, 4, b"{}");
        idem = k;
        let claimed = store.outbox_claim_due(UnixMillis(5_000), 10).unwrap();
        assert_eq!(claimed.len(), 1);
        // The process dies here: the claim is committed, nothing else.
    }
    let (mut store, _) = Store::open(&path, UnixMillis(2)).unwrap();
    assert_eq!(store.outbox_list().unwrap()[0].state, OutboxState::Sending);
    assert!(
        store
            .outbox_claim_due(UnixMillis(6_000), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.outbox_requeue_claimed().unwrap(), 1);
    let claimed = store.outbox_claim_due(UnixMillis(6_000), 10).unwrap();
    assert_eq!(claimed[0].row.idempotency_key, idem);
    assert_eq!(&claimed[0].open(&key()).unwrap()[..], b"{}");
}

#[test]
fn a_payload_does_not_open_with_another_key_or_in_another_row() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&dir.path().join("k.db"), UnixMillis(1)).unwrap();
    enqueue(&mut store, 5, b"secret");
    let claimed = store.outbox_claim_due(UnixMillis(9_999), 1).unwrap();
    let other = OutboxKey::from_bytes(&[8u8; 32]).unwrap();
    assert!(claimed[0].open(&other).is_err());
    let mut moved = claimed[0].clone();
    moved.row.idempotency_key = idempotency_key([6; 16]);
    assert!(moved.open(&key()).is_err(), "the key is associated data");
    assert!(matches!(
        OutboxKey::from_bytes(&[1u8; 16]),
        Err(crate::store::outbox::SealError::KeyLength(16))
    ));
    // A row whose payload does not open is failed for staff, not retried.
    store.outbox_requeue_claimed().unwrap();
    let mut portal = Scripted {
        answers: vec![],
        seen: vec![],
    };
    let out = Courier {
        key: &other,
        client: &mut portal,
        backoff: Backoff::default(),
    }
    .deliver_pass(&mut store, UnixMillis(9_999), 5, &mut || 0, &mut |_| {})
    .unwrap();
    assert_eq!(out[0].outcome, "failed");
    assert!(portal.seen.is_empty(), "nothing undecryptable is sent");
}

#[test]
fn the_database_file_never_holds_a_name_or_an_id_number_in_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    {
        let (mut store, _) = Store::open(&path, UnixMillis(1)).unwrap();
        for n in 0..20u8 {
            let form = filled_tam_tru(&c);
            let consent =
                ConsentNotice::for_procedure(p, crate::session::Verification::FaceMatched)
                    .record(p, 5);
            let idem = idempotency_key([n; 16]);
            let s = submission(
                p,
                &form,
                consent,
                &reference_for(&idem),
                &Context {
                    kiosk_id: "KIOSK-1",
                    catalog_version: &c.version,
                    verification: crate::session::Verification::FaceMatched,
                    now_unix_ms: 7,
                },
            )
            .unwrap();
            let json = serde_json::to_vec(&s).unwrap();
            store
                .outbox_enqueue(
                    &key(),
                    &NewRequest {
                        idempotency_key: &idem,
                        reference: &reference_for(&idem),
                        procedure: TAM_TRU,
                        payload: &json,
                        nonce: [n; 12],
                        now: UnixMillis(1_000),
                    },
                )
                .unwrap();
        }
    }
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 4096);
    for needle in [
        "Nguyễn Văn Mẫu",
        "Nguy",
        "003090000001",
        "090000001",
        "0912 345 678",
        "Ngõ Mẫu",
        "Đường Mẫu",
    ] {
        for form in [needle.to_owned(), needle.to_uppercase()] {
            assert!(
                !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
                "{needle:?} is in the database file"
            );
        }
    }
}

#[test]
fn a_receipt_renders_queued_and_delivered_with_a_qr_code() {
    let c = shipped();
    let p = c.procedure("1.001193").unwrap();
    let at = crate::ticket::LocalTime::in_vietnam(1_795_572_000_000).unwrap();
    let queued = receipt::ReceiptContent::new(
        "Trung tâm",
        p,
        receipt::ReceiptState::Queued,
        "R0123456789",
        at,
        &c.status_url,
    );
    assert_eq!(queued.qr, format!("{}/R0123456789", c.status_url));
    assert_eq!(queued.bring_to_counter.len(), 2);
    let b1 = receipt::render(&queued, crate::ticket::raster::PaperWidth::Mm80).unwrap();
    let delivered = receipt::ReceiptContent::new(
        "Trung tâm",
        p,
        receipt::ReceiptState::Delivered {
            dossier_code: "000.00.19.H26-261125-0001".into(),
            appointment_date: Some("28/11/2026".into()),
        },
        "R0123456789",
        at,
        &c.status_url,
    );
    assert!(delivered.qr.ends_with("/000.00.19.H26-261125-0001"));
    let b2 = receipt::render(&delivered, crate::ticket::raster::PaperWidth::Mm58).unwrap();
    assert_eq!(b1.width(), 576);
    assert_eq!(b2.width(), 384);
    assert!(
        b1.height() > 600 && b2.height() > 400,
        "{} {}",
        b1.height(),
        b2.height()
    );
}

#[test]
fn an_unreachable_portal_costs_one_attempt_per_pass_and_the_rest_wait_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&dir.path().join("k.db"), UnixMillis(1)).unwrap();
    for n in 10..15u8 {
        enqueue(&mut store, n, b"{}");
    }
    let mut portal = Scripted {
        answers: vec![],
        seen: vec![],
    };
    let k = key();
    let out = Courier {
        key: &k,
        client: &mut portal,
        backoff: Backoff::default(),
    }
    .deliver_pass(&mut store, UnixMillis(2_000), 10, &mut || 0, &mut |_| {})
    .unwrap();
    assert_eq!(out.len(), 1);
    assert!(out[0].unreachable);
    assert_eq!(portal.seen.len(), 1);
    let rows = store.outbox_list().unwrap();
    assert!(rows.iter().all(|r| r.state == OutboxState::Pending));
    assert_eq!(rows.iter().map(|r| r.attempts).sum::<u32>(), 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_dossier_code_parser_never_panics_and_accepts_every_well_formed_code(
            junk in ".{0,40}",
            v in 0u32..1000, z in 0u32..100, y in 0u32..100, m in "[A-Z][0-9]{2}",
            yy in 0u32..100, mm in 1u32..13, dd in 1u32..29, seq in 0u32..10_000,
        ) {
            let _ = DossierCode::parse(&junk);
            let code = format!("{v:03}.{z:02}.{y:02}.{m}-{yy:02}{mm:02}{dd:02}-{seq:04}");
            prop_assert!(DossierCode::parse(&code).is_ok(), "{}", code);
        }

        #[test]
        fn any_typed_text_is_judged_without_panicking(
            values in proptest::collection::vec(".{0,300}", 5),
        ) {
            let c = shipped();
            for p in &c.procedures {
                let mut form = Form::prefill(p, &citizen());
                let typed: Vec<&str> = p
                    .fields
                    .iter()
                    .filter(|f| f.chip.is_none())
                    .map(|f| f.name.as_str())
                    .collect();
                for (name, value) in typed.iter().zip(values.iter().cycle()) {
                    prop_assert!(form.set(name, value).is_ok());
                }
                if let Err(problems) = form.validate(p) {
                    for x in problems {
                        prop_assert!(!x.message_vi.is_empty() && !x.message_en.is_empty());
                    }
                }
            }
        }

        #[test]
        fn a_sealed_payload_opens_only_with_its_key_nonce_and_row(
            payload in proptest::collection::vec(any::<u8>(), 0..2048),
            nonce in any::<[u8; 12]>(),
            flip in any::<usize>(),
        ) {
            let k = key();
            let aad = b"0123456789abcdef0123456789abcdef";
            let sealed = k.seal(&nonce, aad, &payload).unwrap();
            prop_assert_eq!(&k.open(&nonce, aad, &sealed).unwrap()[..], &payload[..]);
            let mut bad = sealed.clone();
            let i = flip % bad.len();
            bad[i] ^= 1;
            prop_assert!(k.open(&nonce, aad, &bad).is_err());
        }
    }
}

#[test]
fn a_tickets_prefilled_form_carries_only_what_the_chip_filled_with_both_labels() {
    let c = shipped();
    let p = c.procedure(TAM_TRU).unwrap();
    let f = crate::queue::centre::PrefilledForm::from_chip(p, &citizen());
    assert_eq!(f.procedure, TAM_TRU);
    let name = f.fields.iter().find(|x| x.key == "full_name").unwrap();
    assert_eq!(name.value, "Nguyễn Văn Mẫu");
    assert!(!name.label_vi.is_empty() && !name.label_en.is_empty());
    // What the citizen would type is for the counter to ask.
    assert!(
        f.fields
            .iter()
            .all(|x| x.key != "temporary_address" && x.key != "phone")
    );
    let chip_fields = p.fields.iter().filter(|x| x.chip.is_some()).count();
    assert!(!f.fields.is_empty() && f.fields.len() <= chip_fields);
    assert!(
        !format!("{f:?}").contains("Mẫu"),
        "Debug must not print values"
    );
}
