//! Screenshot tests: every screen in Vietnamese and English, rendered
//! headless by the software renderer with the shipped Noto Sans, compared
//! with the reference PNGs in `tests/screens/` with a tolerance.
//!
//! `KIOSK_BLESS=1 cargo test -p kiosk-ui --test screens` writes the
//! references anew (and fails, so a blessing run never passes by itself).

#![allow(clippy::expect_used, reason = "test code")]

use kiosk_firmware::face::check::Hint;
use kiosk_firmware::face::liveness::TurnDirection;
use kiosk_firmware::requests::form::{FieldView, Source};
use kiosk_firmware::requests::{FieldProblem, FieldType, Problem};
use kiosk_firmware::session::{
    FaceGuide, Fault, PrintProblem, RequestReceipt, Session, SessionConfig, SessionView,
    StaffReason, StaffRefusal, StepKind, TicketInfo,
};
use kiosk_firmware::staff::{
    ActionResult, ErrorRow, ExportFailure, HealthRow, Level, OutboxSummary, PanelView, PaperState,
    PinNotice, StaffScreen, StaffView,
};
use kiosk_firmware::store::UnixMillis;
use kiosk_firmware::time::Timestamp;
use kiosk_ui::adapters::Display;
use kiosk_ui::headless;
use kiosk_ui::kiosk::Kiosk;
use kiosk_ui::presenter::{Offer, RequestForm, Touch};
use kiosk_ui::{Language, Screen, Theme};
use slint::ComponentHandle;
use std::path::PathBuf;
use std::time::Duration;

/// A channel may differ by this much (anti-aliasing, rounding).
const CHANNEL_TOLERANCE: u8 = 24;
/// At most this share of the pixels may differ: about 40 of a 1080 × 1920
/// screen. The fonts are shipped and the renderer is software, so on one
/// platform the pixels come out exactly the same; one changed tone mark
/// ("Huỷ" to "Hủy") moves about 140 pixels, and must fail.
const MAX_DIFFERENT: f64 = 0.000_02;

fn base() -> SessionView {
    Session::new(SessionConfig::default(), Timestamp::ZERO).view()
}

fn at(step: StepKind) -> SessionView {
    let mut v = base();
    v.step = step;
    v
}

fn identified(step: StepKind) -> SessionView {
    let mut v = at(step);
    v.holder_name = Some("NGUYỄN VĂN MẪU".into());
    v.holder_date_of_birth = Some("15/01/1990".into());
    v.holder_masked_id = Some("••••••••0001".into());
    v
}

fn services() -> Vec<Offer> {
    [
        (
            "A",
            "Hộ tịch (khai sinh, kết hôn, khai tử)",
            "Civil status (birth, marriage, death)",
        ),
        (
            "B",
            "Chứng thực bản sao, chữ ký",
            "Certified copies and signatures",
        ),
        ("C", "Đất đai, nhà ở", "Land and housing"),
        (
            "D",
            "Đăng ký kinh doanh, hộ kinh doanh",
            "Business registration",
        ),
    ]
    .into_iter()
    .map(|(code, vi, en)| Offer {
        code: code.into(),
        name_vi: vi.into(),
        name_en: en.into(),
    })
    .collect()
}

fn procedures() -> Vec<Offer> {
    vec![Offer {
        code: "1.001612".into(),
        name_vi: "Đăng ký thường trú".into(),
        name_en: "Permanent residence registration".into(),
    }]
}

fn ticket(printed: bool) -> TicketInfo {
    TicketInfo {
        number: "A012".into(),
        service: "A".into(),
        priority: None,
        waiting: 3,
        printed,
        print_problem: (!printed).then_some(PrintProblem::PaperOut),
        offline: false,
    }
}

/// A screen to render: its name, the view, the request form if any, and
/// touches after showing it.
struct Case {
    name: String,
    view: SessionView,
    form: Option<RequestForm>,
    touches: Vec<String>,
    screen: Screen,
    staff: Option<StaffView>,
}

fn case(name: &str, view: SessionView, touches: &[&str], screen: Screen) -> Case {
    Case {
        name: name.into(),
        view,
        form: None,
        touches: touches.iter().map(|t| (*t).to_owned()).collect(),
        screen,
        staff: None,
    }
}

fn row(name: &str, vi: &str, en: &str, kind: FieldType, value: Option<&str>) -> FieldView {
    FieldView {
        name: name.into(),
        label_vi: vi.into(),
        label_en: en.into(),
        value: value.map(str::to_owned),
        source: if kind == FieldType::Text && name == "full_name" {
            Source::Chip
        } else {
            Source::Citizen
        },
        editable: name != "full_name",
        required: true,
        kind,
        max_len: (kind == FieldType::Text).then_some(200),
        options: if kind == FieldType::Choice {
            vec!["Học tập".into(), "Làm việc".into(), "Khác".into()]
        } else {
            Vec::new()
        },
        min: None,
        max: None,
    }
}

/// The temporary residence form (Đăng ký tạm trú), part typed.
fn tam_tru(phone: Option<&str>, problems: Vec<FieldProblem>) -> RequestForm {
    RequestForm {
        name_vi: "Đăng ký tạm trú".into(),
        name_en: "Temporary residence registration".into(),
        fields: vec![
            row(
                "full_name",
                "Họ, chữ đệm và tên",
                "Full name",
                FieldType::Text,
                Some("NGUYỄN VĂN MẪU"),
            ),
            row(
                "temporary_address",
                "Địa chỉ đăng ký tạm trú",
                "Address of temporary residence",
                FieldType::Text,
                None,
            ),
            row(
                "from_date",
                "Tạm trú từ ngày",
                "Staying from",
                FieldType::Date,
                Some("01/12/2026"),
            ),
            row(
                "reason",
                "Lý do tạm trú",
                "Reason for the stay",
                FieldType::Choice,
                Some("Làm việc"),
            ),
            row(
                "phone",
                "Số điện thoại liên hệ",
                "Contact phone number",
                FieldType::Phone,
                phone,
            ),
        ],
        problems,
    }
}

fn on_form(name: &str, form: RequestForm, touches: Vec<String>, screen: Screen) -> Case {
    Case {
        name: name.into(),
        view: identified(StepKind::ExpectForm),
        form: Some(form),
        touches,
        screen,
        staff: None,
    }
}

fn keys(first: &str, text: &str, field: &FieldView) -> Vec<String> {
    let mut keys = vec![first.to_owned()];
    keys.extend(kiosk_ui::keyboard::keys_for(text, field).expect("keys for every letter"));
    keys
}

/// The input screens: each keyboard, composed Vietnamese, shift, a choice,
/// and the form with a field's problem after Done.
fn typing_cases() -> Vec<Case> {
    let form = tam_tru(None, Vec::new());
    let address = form.fields[1].clone();
    let mut shifted = keys("field-temporary_address", "Ngõ ", &address);
    shifted.push("key-shift".into());
    vec![
        on_form("form-typed", form.clone(), Vec::new(), Screen::Form),
        on_form(
            "text-entry-digits",
            form.clone(),
            ["field-phone", "key-0", "key-9", "key-1", "key-2", "key-3"]
                .map(str::to_owned)
                .to_vec(),
            Screen::TextEntry,
        ),
        on_form(
            "text-entry-date",
            form.clone(),
            ["field-from_date", "key-backspace", "key-backspace", "key-backspace", "key-backspace"]
                .map(str::to_owned)
                .to_vec(),
            Screen::TextEntry,
        ),
        on_form(
            "text-entry-vietnamese",
            form.clone(),
            keys(
                "field-temporary_address",
                "Số 5 Ngõ Mẫu, Phường Cầu Giấy, Hà Nội",
                &address,
            ),
            Screen::TextEntry,
        ),
        on_form("text-entry-shift", form.clone(), shifted, Screen::TextEntry),
        on_form(
            "text-entry-choice",
            form,
            vec!["field-reason".into()],
            Screen::TextEntry,
        ),
        on_form(
            "form-problem-after-done",
            tam_tru(
                Some("12345"),
                vec![FieldProblem {
                    field: "phone".into(),
                    problem: Problem::NotAPhone,
                    message_vi: "«Số điện thoại liên hệ» phải là số điện thoại bắt đầu bằng 0 (di động 10 chữ số, cố định 11 chữ số).".into(),
                    message_en: "“Contact phone number” must be a phone number starting with 0 (10 digits for a mobile, 11 for a landline).".into(),
                }],
            ),
            ["field-phone", "key-done"].map(str::to_owned).to_vec(),
            Screen::Form,
        ),
    ]
}

/// 2026-11-25 09:00 in Hà Nội.
const NINE_AM: u64 = 1_795_572_000_000;

fn pin(digits: u8, notice: Option<PinNotice>) -> StaffView {
    StaffView {
        screen: StaffScreen::Pin,
        digits_entered: digits,
        notice,
        panel: None,
        now: UnixMillis(NINE_AM),
    }
}

fn panel(result: Option<ActionResult>) -> StaffView {
    let health = [
        (
            "camera",
            Level::Ok,
            "started 640x480, a frame of the announced size",
        ),
        (
            "card_reader",
            Level::Ok,
            "Simulated contactless reader 0 answers; no card",
        ),
        (
            "indicators",
            Level::Ok,
            "ready, busy, fault and card slot lights driven",
        ),
        ("printer", Level::Warn, "online, paper near end"),
        (
            "sensors",
            Level::Ok,
            "cabinet closed; nobody in front of the kiosk",
        ),
    ]
    .into_iter()
    .map(|(d, level, reason)| HealthRow {
        device: d.into(),
        level,
        reason: reason.into(),
    })
    .collect();
    StaffView {
        screen: StaffScreen::Panel,
        digits_entered: 0,
        notice: None,
        panel: Some(PanelView {
            health,
            paper: PaperState::NearEnd,
            outbox: OutboxSummary {
                pending: 2,
                failed: 1,
                next_due: Some(UnixMillis(NINE_AM + 5 * 60_000)),
            },
            counts: [
                ("completed", 41),
                ("cancelled", 3),
                ("timed_out", 5),
                ("tickets_printed", 38),
                ("tickets_unprinted", 1),
                ("staff_calls", 2),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            errors: vec![
                ErrorRow {
                    at: UnixMillis(NINE_AM - 40 * 60_000),
                    kind: "ticket_not_printed".into(),
                },
                ErrorRow {
                    at: UnixMillis(NINE_AM - 41 * 60_000),
                    kind: "staff_alert".into(),
                },
            ],
            unprinted: vec!["A012".into()],
            result,
        }),
        now: UnixMillis(NINE_AM),
    }
}

fn staff_case(name: &str, staff: StaffView) -> Case {
    let screen = match staff.screen {
        StaffScreen::Pin => Screen::StaffPin,
        StaffScreen::Panel => Screen::StaffPanel,
    };
    Case {
        staff: Some(staff),
        ..case(name, at(StepKind::Attract), &[], screen)
    }
}

fn staff_cases() -> Vec<Case> {
    let mut assist = identified(StepKind::StaffAssist);
    assist.staff_reason = Some(StaffReason::FaceNotMatched);
    vec![
        // The staff PIN keypad over the staff-assist screen (issue 13).
        Case {
            staff: Some(pin(3, None)),
            ..case("staff-pin-assist", assist, &[], Screen::StaffPin)
        },
        staff_case("staff-pin", pin(4, None)),
        staff_case(
            "staff-pin-wrong",
            pin(0, Some(PinNotice::Wrong { attempts_left: 2 })),
        ),
        staff_case(
            "staff-pin-locked",
            pin(
                0,
                Some(PinNotice::Locked {
                    until: UnixMillis(NINE_AM + 12 * 60_000),
                }),
            ),
        ),
        staff_case("staff-pin-card", pin(0, Some(PinNotice::CardAccepted))),
        staff_case("staff-panel", panel(None)),
        staff_case(
            "staff-panel-test-printed",
            panel(Some(ActionResult::TestPrinted)),
        ),
        staff_case(
            "staff-panel-paper-out",
            panel(Some(ActionResult::TestPrintFailed(PrintProblem::PaperOut))),
        ),
        staff_case(
            "staff-panel-reloaded",
            panel(Some(ActionResult::ConfigReloaded {
                restart_needed: vec!["kiosk".into(), "face".into()],
            })),
        ),
        staff_case(
            "staff-panel-config-refused",
            panel(Some(ActionResult::ConfigRefused {
                error: "board/config/sim.toml: `staff.max_failures` must be 1–20 wrong PINs, not 0"
                    .into(),
            })),
        ),
        staff_case(
            "staff-panel-exported",
            panel(Some(ActionResult::LogsExported {
                file: "KIOSK-SIM-001-logs-20261125-090012.jsonl".into(),
                lines: 214,
            })),
        ),
        staff_case(
            "staff-panel-export-missing",
            panel(Some(ActionResult::ExportFailed(ExportFailure::Missing))),
        ),
        staff_case(
            "staff-panel-reprinted",
            panel(Some(ActionResult::Reprinted {
                number: "A012".into(),
            })),
        ),
    ]
}

const FAULTS: [(Fault, &str); 24] = [
    (Fault::CardRemoved, "card-removed"),
    (Fault::WrongAccessKey, "wrong-access-key"),
    (Fault::NotAnIdCard, "not-an-id-card"),
    (Fault::UnreadableCard, "unreadable-card"),
    (Fault::DocumentNotGenuine, "not-genuine"),
    (Fault::DocumentExpired, "expired"),
    (Fault::ReaderUnavailable, "reader-unavailable"),
    (Fault::CameraUnavailable, "camera-unavailable"),
    (Fault::PrinterUnavailable, "printer-unavailable"),
    (Fault::ServiceClosed, "service-closed"),
    (Fault::ServiceSoldOut, "sold-out"),
    (Fault::PriorityNotEligible, "priority-refused"),
    (Fault::TimedOut, "timed-out"),
    (Fault::RequestNotQueued, "request-not-queued"),
    (Fault::OutOfService, "out-of-service"),
    (Fault::RequestRefused, "request-refused"),
    (Fault::Internal, "internal"),
    (Fault::KeyMismatch, "key-mismatch"),
    (Fault::CardRevoked, "card-revoked"),
    (Fault::CardUnknownToAuthority, "card-unknown-to-authority"),
    (Fault::AuthorityAnswerInvalid, "authority-answer-invalid"),
    (Fault::UnverifiedOffline, "unverified-offline"),
    (Fault::CentreUnreachable, "centre-unreachable"),
    (Fault::CentreRefused, "centre-refused"),
];

fn cases() -> Vec<Case> {
    let mut cases = vec![
        case("attract", at(StepKind::Attract), &[], Screen::Attract),
        case(
            "language",
            at(StepKind::Attract),
            &["language"],
            Screen::Language,
        ),
        case(
            "access-key",
            at(StepKind::ExpectAccessKey),
            &[],
            Screen::AccessKey,
        ),
        {
            let mut v = at(StepKind::ExpectAccessKey);
            v.access_key_rejected = true;
            case("access-key-rejected", v, &[], Screen::AccessKey)
        },
        {
            let mut v = at(StepKind::ExpectAccessKey);
            v.qr_camera = Some(kiosk_firmware::session::QrCamera::Watching);
            case("access-key-camera", v, &[], Screen::AccessKey)
        },
        {
            let mut v = at(StepKind::ExpectAccessKey);
            v.qr_camera = Some(kiosk_firmware::session::QrCamera::Unavailable);
            case("access-key-no-camera", v, &[], Screen::AccessKey)
        },
        case(
            "keypad",
            at(StepKind::ExpectAccessKey),
            &["type-key", "key-0", "key-0", "key-3", "key-0", "key-9"],
            Screen::Keypad,
        ),
        {
            let mut v = at(StepKind::Reading);
            v.read_percent = Some(42);
            case("reading", v, &[], Screen::Reading)
        },
        {
            let mut v = at(StepKind::Reading);
            v.read_percent = Some(100);
            v.authority_check = true;
            case("reading-authority-check", v, &[], Screen::Reading)
        },
        {
            let mut v = identified(StepKind::Menu);
            v.menu_notice = Some(Fault::UnverifiedOffline);
            case("menu-unverified-offline", v, &[], Screen::Menu)
        },
        case(
            "confirm",
            identified(StepKind::ExpectConfirmation),
            &[],
            Screen::Confirm,
        ),
        case(
            "face-consent",
            identified(StepKind::ExpectFaceConsent),
            &[],
            Screen::FaceConsent,
        ),
        {
            let mut v = identified(StepKind::FaceCheck);
            v.face_attempt = Some(1);
            v.face_guide = Some(FaceGuide {
                hint: Hint::Turn(TurnDirection::Left),
                face_box: Some([330, 180, 340, 560]),
                progress_percent: 40,
            });
            case("face-check", v, &[], Screen::FaceCheck)
        },
        {
            let mut v = identified(StepKind::FaceCheck);
            v.face_attempt = Some(2);
            v.face_guide = Some(FaceGuide {
                hint: Hint::Good,
                face_box: Some([320, 160, 360, 600]),
                progress_percent: 90,
            });
            case("face-check-good", v, &[], Screen::FaceCheck)
        },
        {
            let mut v = identified(StepKind::StaffAssist);
            v.staff_reason = Some(StaffReason::FaceNotMatched);
            case("staff-assist", v, &[], Screen::StaffAssist)
        },
        {
            let mut v = identified(StepKind::StaffAssist);
            v.staff_reason = Some(StaffReason::CameraFault);
            case("staff-camera", v, &[], Screen::StaffAssist)
        },
        // Issue 13: no bare approve; the citizen who tries is told that
        // staff must confirm; staff review after the PIN.
        {
            let mut v = identified(StepKind::StaffAssist);
            v.staff_reason = Some(StaffReason::FaceCheckDeclined);
            v.staff_refusal = Some(StaffRefusal::NotAuthenticated);
            case("staff-assist-refused", v, &[], Screen::StaffAssist)
        },
        {
            let mut v = identified(StepKind::StaffAssist);
            v.staff_reason = Some(StaffReason::FaceNotMatched);
            v.staff_authorized = true;
            case("staff-review", v, &[], Screen::StaffAssist)
        },
        {
            let mut v = identified(StepKind::StaffAssist);
            v.staff_reason = Some(StaffReason::GuardianPresent);
            case("staff-guardian", v, &[], Screen::StaffAssist)
        },
        {
            let mut v = at(StepKind::OutOfService);
            v.cabinet_open = true;
            case("out-of-service-open", v, &[], Screen::OutOfService)
        },
        case(
            "out-of-service",
            at(StepKind::OutOfService),
            &[],
            Screen::OutOfService,
        ),
        {
            let mut v = at(StepKind::OutOfService);
            v.cabinet_open = true;
            v.staff_refusal = Some(StaffRefusal::CabinetOpen);
            case("out-of-service-refused", v, &[], Screen::OutOfService)
        },
        case("menu", identified(StepKind::Menu), &[], Screen::Menu),
        {
            let mut v = at(StepKind::Menu);
            v.menu_notice = Some(Fault::ServiceSoldOut);
            case("menu-sold-out", v, &[], Screen::Menu)
        },
        case(
            "services",
            at(StepKind::Menu),
            &["take-number"],
            Screen::Services,
        ),
        case(
            "printing",
            at(StepKind::IssuingTicket),
            &[],
            Screen::Printing,
        ),
        {
            let mut v = at(StepKind::ShowingTicket);
            v.ticket = Some(ticket(true));
            case("ticket", v, &[], Screen::Ticket)
        },
        {
            let mut v = at(StepKind::ShowingTicket);
            v.ticket = Some(ticket(false));
            case("ticket-unprinted", v, &[], Screen::Ticket)
        },
        {
            let mut v = at(StepKind::ShowingTicket);
            v.ticket = Some(TicketInfo {
                number: "A800".into(),
                offline: true,
                ..ticket(true)
            });
            case("ticket-offline", v, &[], Screen::Ticket)
        },
        {
            let mut v = identified(StepKind::ExpectIdentityConsent);
            v.verification = Some(kiosk_firmware::session::Verification::FaceMatched);
            v.consent_service = Some("A".into());
            case("identity-consent", v, &[], Screen::IdentityConsent)
        },
        case("form", identified(StepKind::ExpectForm), &[], Screen::Form),
        case(
            "request-consent",
            identified(StepKind::ExpectRequestConsent),
            &[],
            Screen::RequestConsent,
        ),
        case(
            "submitting",
            identified(StepKind::SubmittingRequest),
            &[],
            Screen::Submitting,
        ),
        {
            let mut v = identified(StepKind::ShowingReceipt);
            v.receipt = Some(RequestReceipt {
                code: "K01-20261125-0007".into(),
                delivered: false,
            });
            case("receipt", v, &[], Screen::Receipt)
        },
        case("rating", at(StepKind::ExpectRating), &[], Screen::Rating),
        case("goodbye", at(StepKind::Goodbye), &[], Screen::Goodbye),
        {
            let mut v = at(StepKind::Menu);
            v.warning = true;
            v.deadline = Some(Timestamp::from_millis(17_000));
            case("timeout-warning", v, &[], Screen::Menu)
        },
    ];
    for (fault, name) in FAULTS {
        let mut v = at(StepKind::Notice);
        v.fault = Some(fault);
        cases.push(case(&format!("notice-{name}"), v, &[], Screen::Notice));
    }
    cases.extend(typing_cases());
    cases.extend(staff_cases());
    cases
}

fn kiosk() -> Kiosk {
    headless::init().expect("the headless platform installs");
    headless::set_clock(Duration::from_millis(700));
    let kiosk = Kiosk::new(
        at(StepKind::Attract),
        services(),
        procedures(),
        &Display::default(),
    )
    .expect("the window opens");
    kiosk.set_staff_button(true);
    kiosk
}

fn render(c: &Case, lang: Language) -> image::RgbImage {
    let kiosk = kiosk();
    if lang == Language::English {
        assert_eq!(kiosk.touch("language"), Touch::Local);
        assert_eq!(kiosk.touch("lang-en"), Touch::Local);
    }
    kiosk.update(&c.view, &[]);
    if c.form.is_some() {
        kiosk.set_request(c.form.clone(), None);
    }
    kiosk.set_staff(c.staff.clone());
    for t in &c.touches {
        assert_ne!(
            kiosk.touch(t),
            Touch::Ignored,
            "{}: {t} is on screen",
            c.name
        );
    }
    assert_eq!(kiosk.model().screen, c.screen, "{}", c.name);
    headless::snapshot(kiosk.window()).expect("the window renders")
}

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/screens")
        .join(format!("{name}.png"))
}

#[test]
fn every_screen_in_both_languages_matches_its_reference() {
    let bless = std::env::var_os("KIOSK_BLESS").is_some_and(|v| v == "1");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screens");
    std::fs::create_dir_all(&out).expect("output folder");
    let mut failures = Vec::new();
    let mut blessed = 0;
    let mut names = std::collections::HashSet::new();
    for c in cases() {
        for (lang, tag) in [(Language::Vietnamese, "vi"), (Language::English, "en")] {
            let name = format!("{}-{tag}", c.name);
            assert!(names.insert(name.clone()), "{name} twice");
            let shot = render(&c, lang);
            let path = reference(&name);
            if bless {
                shot.save(&path).expect("reference written");
                blessed += 1;
                continue;
            }
            let actual = out.join(format!("{name}.png"));
            shot.save(&actual).expect("screenshot written");
            match image::open(&path) {
                Ok(r) => {
                    let d = headless::compare(&shot, &r.to_rgb8(), CHANNEL_TOLERANCE);
                    if d.size_mismatch || d.fraction > MAX_DIFFERENT {
                        failures.push(format!(
                            "{name}: {} pixels ({:.3}%) differ; see {}",
                            d.pixels,
                            d.fraction * 100.0,
                            actual.display()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{name}: no reference {} ({e})", path.display())),
            }
        }
    }
    assert!(
        !bless,
        "KIOSK_BLESS=1: {blessed} references written; run again without it"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(names.len() >= 118, "{} screens", names.len());
}

#[test]
fn every_session_step_has_a_screenshot_case() {
    let covered: std::collections::HashSet<Screen> = cases().iter().map(|c| c.screen).collect();
    for screen in [
        Screen::Attract,
        Screen::Language,
        Screen::AccessKey,
        Screen::Keypad,
        Screen::Reading,
        Screen::Confirm,
        Screen::FaceConsent,
        Screen::FaceCheck,
        Screen::StaffAssist,
        Screen::Menu,
        Screen::Services,
        Screen::TextEntry,
        Screen::Printing,
        Screen::Ticket,
        Screen::Form,
        Screen::RequestConsent,
        Screen::IdentityConsent,
        Screen::Submitting,
        Screen::Receipt,
        Screen::Rating,
        Screen::Goodbye,
        Screen::Notice,
        Screen::OutOfService,
        Screen::StaffPin,
        Screen::StaffPanel,
    ] {
        assert!(covered.contains(&screen), "{screen:?} has no screenshot");
    }
}

#[test]
fn a_finger_on_a_button_reaches_the_session() {
    let kiosk = kiosk();
    // The action row sits at the bottom: "Language" left, "Take a number" right.
    headless::tap(kiosk.window(), 810.0, 1920.0 - 48.0 - 60.0);
    assert_eq!(
        kiosk.take_touches(),
        vec![Touch::Input(kiosk_firmware::session::Input::WalkIn)]
    );
    headless::tap(kiosk.window(), 270.0, 1920.0 - 48.0 - 60.0);
    assert_eq!(kiosk.take_touches(), vec![Touch::Local]);
    assert_eq!(kiosk.model().screen, Screen::Language);
    // Nothing there: no touch.
    headless::tap(kiosk.window(), 540.0, 300.0);
    assert!(kiosk.take_touches().is_empty());
}

#[test]
fn text_and_targets_are_large_enough() {
    let kiosk = kiosk();
    let theme = kiosk.window().global::<Theme<'_>>();
    assert!(
        theme.get_small_size() >= 24.0,
        "smallest text is 24 px or more"
    );
    assert!(theme.get_body_size() >= 24.0);
    let display = Display::default();
    // 15 mm at 102 DPI is 60 px; buttons are at least that.
    assert!((display.touch_min_px() - 60.2).abs() < 0.5);
    assert!(theme.get_button_height() >= display.touch_min_px());
    assert!(theme.get_touch_min() >= display.touch_min_px() - 0.01);
}

#[test]
fn a_finger_on_a_typed_row_opens_its_keypad_and_on_a_key_types() {
    let kiosk = kiosk();
    kiosk.update(&identified(StepKind::ExpectForm), &[]);
    kiosk.set_request(Some(tam_tru(None, Vec::new())), None);
    // The chip row (the name) does not open anything.
    headless::tap(kiosk.window(), 540.0, 699.0);
    assert!(kiosk.take_touches().is_empty());
    assert_eq!(kiosk.model().screen, Screen::Form);
    // The phone row, framed, near the bottom of the form.
    headless::tap(kiosk.window(), 527.0, 1345.0);
    assert_eq!(kiosk.take_touches(), vec![Touch::Local]);
    assert_eq!(kiosk.model().screen, Screen::TextEntry);
    // "1" and "7" on the keypad (left column, first and third row).
    headless::tap(kiosk.window(), 244.0, 855.0);
    headless::tap(kiosk.window(), 244.0, 1175.0);
    assert_eq!(kiosk.take_touches(), vec![Touch::Local, Touch::Local]);
    assert_eq!(kiosk.model().entry_text, "17");
}

#[test]
fn the_staff_button_on_the_attract_screen_opens_staff_mode_by_touch() {
    let kiosk = kiosk();
    assert_eq!(
        kiosk.touch("staff"),
        Touch::Staff(kiosk_firmware::staff::StaffInput::Open)
    );
    kiosk.set_staff(Some(pin(0, None)));
    assert_eq!(kiosk.model().screen, Screen::StaffPin);
    assert_eq!(
        kiosk.touch("key-5"),
        Touch::Staff(kiosk_firmware::staff::StaffInput::Digit(5))
    );
    assert_eq!(kiosk.touch("take-number"), Touch::Ignored);
}
