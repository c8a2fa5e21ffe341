//! The staff screens' texts and models: the PIN keypad and the panel,
//! Vietnamese first.
//!
//! The view (`kiosk_firmware::staff::StaffView`) holds no citizen data, and
//! neither does anything here: the digits are dots (the runtime keeps and
//! zeroizes them), the panel shows devices, paper, outbox counts, counters
//! and the time and kind of recent errors.

use crate::Language;
use crate::model::{Choice, ScreenModel, StaffRow, Tone};
use kiosk_firmware::session::PrintProblem;
use kiosk_firmware::staff::{
    ActionResult, ExportFailure, Level, PaperState, PinNotice, StaffAction, StaffInput,
    StaffScreen, StaffView,
};
use kiosk_firmware::store::UnixMillis;
use kiosk_firmware::ticket::LocalTime;

fn pick(lang: Language, vi: &str, en: &str) -> String {
    match lang {
        Language::Vietnamese => vi.to_owned(),
        Language::English => en.to_owned(),
    }
}

/// `HH:MM` in Vietnam.
fn clock(at: UnixMillis) -> String {
    LocalTime::in_vietnam(at.0)
        .map_or_else(|| "—".into(), |t| format!("{:02}:{:02}", t.hour, t.minute))
}

/// `dd/mm HH:MM` in Vietnam.
fn day_clock(at: UnixMillis) -> String {
    LocalTime::in_vietnam(at.0).map_or_else(
        || "—".into(),
        |t| format!("{:02}/{:02} {:02}:{:02}", t.day, t.month, t.hour, t.minute),
    )
}

/// The staff screens' title and guidance.
pub fn text(screen: StaffScreen, lang: Language) -> (String, String) {
    let title = pick(lang, "Chế độ nhân viên", "Staff mode");
    let prompt = match screen {
        StaffScreen::Pin => pick(lang, "Nhập mã PIN nhân viên.", "Enter the staff PIN."),
        StaffScreen::Panel => pick(
            lang,
            "Tình trạng kiosk. Không hiển thị dữ liệu của công dân.",
            "The kiosk's state. No citizen data is shown.",
        ),
    };
    (title, prompt)
}

/// The keypad's notice, and whether it is an alert.
pub fn notice(notice: PinNotice, now: UnixMillis, lang: Language) -> (String, bool) {
    match notice {
        PinNotice::Wrong { attempts_left } => (
            match lang {
                Language::Vietnamese => format!("Mã PIN sai. Còn {attempts_left} lần thử."),
                Language::English => format!("Wrong PIN. {attempts_left} tries left."),
            },
            true,
        ),
        PinNotice::Locked { until } => {
            let minutes = until.0.saturating_sub(now.0).div_ceil(60_000);
            (
                match lang {
                    Language::Vietnamese => format!(
                        "Đã khóa nhập PIN đến {} (còn {minutes} phút).",
                        clock(until)
                    ),
                    Language::English => format!(
                        "PIN entry is locked until {} ({minutes} min left).",
                        clock(until)
                    ),
                },
                true,
            )
        }
        PinNotice::CardAccepted => (
            pick(
                lang,
                "Đã nhận thẻ nhân viên. Nhập mã PIN.",
                "Staff card accepted. Enter the PIN.",
            ),
            false,
        ),
    }
}

fn problem(p: PrintProblem, lang: Language) -> String {
    let (vi, en) = match p {
        PrintProblem::PaperOut => (
            "hết giấy — hãy lắp cuộn giấy mới",
            "out of paper — load a new roll",
        ),
        PrintProblem::CoverOpen => ("nắp máy in đang mở", "the printer cover is open"),
        PrintProblem::Offline => ("máy in không phản hồi", "the printer does not answer"),
        PrintProblem::PrinterError => ("máy in báo lỗi", "the printer reports an error"),
        PrintProblem::Disconnected => ("mất kết nối máy in", "the printer is disconnected"),
    };
    pick(lang, vi, en)
}

/// The banner after an action, and whether it went well.
pub fn result(r: &ActionResult, lang: Language) -> (String, bool) {
    let vi = lang == Language::Vietnamese;
    match r {
        ActionResult::TestPrinted => (
            pick(lang, "Đã in trang thử.", "The test page printed."),
            true,
        ),
        ActionResult::TestPrintFailed(p) => (
            if vi {
                format!("Không in được trang thử: {}.", problem(*p, lang))
            } else {
                format!("The test page did not print: {}.", problem(*p, lang))
            },
            false,
        ),
        ActionResult::ConfigReloaded { restart_needed } if restart_needed.is_empty() => (
            pick(
                lang,
                "Đã tải lại cấu hình và áp dụng ngay.",
                "Configuration reloaded and applied.",
            ),
            true,
        ),
        ActionResult::ConfigReloaded { restart_needed } => (
            if vi {
                format!(
                    "Đã tải lại cấu hình. Cần khởi động lại để áp dụng: {}.",
                    restart_needed.join(", ")
                )
            } else {
                format!(
                    "Configuration reloaded. Restart to apply: {}.",
                    restart_needed.join(", ")
                )
            },
            true,
        ),
        ActionResult::ConfigRefused { error } => (
            if vi {
                format!("Cấu hình mới bị từ chối, vẫn dùng cấu hình cũ: {error}")
            } else {
                format!("The new configuration is refused; the old one stays: {error}")
            },
            false,
        ),
        ActionResult::LogsExported { file, lines } => (
            if vi {
                format!("Đã xuất {lines} dòng nhật ký vào {file}.")
            } else {
                format!("Exported {lines} log lines to {file}.")
            },
            true,
        ),
        ActionResult::ExportFailed(f) => {
            let (v, e) = match f {
                ExportFailure::NotConfigured => (
                    "Chưa cấu hình thư mục xuất (staff.export_dir).",
                    "No export folder is configured (staff.export_dir).",
                ),
                ExportFailure::Missing => (
                    "Không thấy thư mục xuất: hãy cắm USB.",
                    "The export folder is missing: plug in the USB stick.",
                ),
                ExportFailure::NotWritable => (
                    "Không ghi được vào thư mục xuất.",
                    "The export folder cannot be written.",
                ),
                ExportFailure::Full => ("Thư mục xuất đã đầy.", "The export medium is full."),
                ExportFailure::Store => ("Không đọc được nhật ký.", "The log cannot be read."),
            };
            (pick(lang, v, e), false)
        }
        ActionResult::Reprinted { number } => (
            if vi {
                format!("Đã in lại vé {number}.")
            } else {
                format!("Ticket {number} reprinted.")
            },
            true,
        ),
        ActionResult::ReprintFailed { number, problem: p } => {
            let why = p.map_or_else(
                || pick(lang, "không tìm thấy vé", "no such ticket"),
                |p| problem(p, lang),
            );
            (
                if vi {
                    format!("Không in lại được vé {number}: {why}.")
                } else {
                    format!("Ticket {number} did not reprint: {why}.")
                },
                false,
            )
        }
        ActionResult::NothingToReprint => (
            pick(
                lang,
                "Không có vé nào chờ in lại.",
                "No ticket waits to be reprinted.",
            ),
            true,
        ),
        ActionResult::Refreshed => (
            pick(lang, "Đã kiểm tra lại thiết bị.", "Devices checked again."),
            true,
        ),
    }
}

fn device_name(key: &str, lang: Language) -> String {
    let (vi, en) = match key {
        "card_reader" => ("Đầu đọc thẻ", "Card reader"),
        "camera" => ("Camera", "Camera"),
        "printer" => ("Máy in", "Printer"),
        "indicators" => ("Đèn báo", "Lights"),
        "sensors" => ("Cảm biến", "Sensors"),
        "face" => ("Xác thực khuôn mặt", "Face check"),
        other => (other, other),
    };
    pick(lang, vi, en)
}

/// The label of a count key (today's counts); an unknown key shows as is.
pub fn count_label(key: &str, lang: Language) -> String {
    let (vi, en) = match key {
        "journeys_started" => ("Lượt bắt đầu", "Visits started"),
        "completed" => ("Lượt hoàn tất", "Visits completed"),
        "cancelled" => ("Lượt hủy", "Visits cancelled"),
        "timed_out" => ("Hết thời gian chờ", "Timed out"),
        "card_removed" => ("Rút thẻ giữa chừng", "Card taken away"),
        "faults" => ("Lỗi trong lượt", "Visits ended by a fault"),
        "identified" => ("Đọc thẻ thành công", "Cards read and verified"),
        "identification_failed" => ("Đọc thẻ không thành công", "Card reads failed"),
        "face_matched" => ("Khớp khuôn mặt", "Face matches"),
        "face_not_matched" => ("Lần kiểm tra mặt không khớp", "Face attempts not matched"),
        "staff_calls" => ("Gọi nhân viên", "Staff calls"),
        "tickets_printed" => ("Vé đã in", "Tickets printed"),
        "tickets_unprinted" => ("Vé không in được", "Tickets not printed"),
        "requests_queued" => ("Hồ sơ đã nộp", "Requests filed"),
        "requests_sent" => ("Hồ sơ đã gửi cổng", "Requests sent to the portal"),
        "requests_refused" => ("Hồ sơ bị cổng từ chối", "Requests refused by the portal"),
        "ratings" => ("Lượt đánh giá", "Ratings"),
        "satisfied_percent" => ("Hài lòng (%)", "Satisfied (%)"),
        "device_errors" => (
            "Lỗi thiết bị (từ khi khởi động)",
            "Device errors (since start)",
        ),
        "printer_alerts" => (
            "Cảnh báo máy in (từ khi khởi động)",
            "Printer alerts (since start)",
        ),
        "tamper_alerts" => (
            "Mở tủ kiosk (từ khi khởi động)",
            "Cabinet opened (since start)",
        ),
        other => (other, other),
    };
    pick(lang, vi, en)
}

fn error_label(kind: &str, lang: Language) -> String {
    let (vi, en) = match kind {
        "staff_alert" => ("Cảnh báo cho nhân viên", "Staff alert"),
        "ticket_not_printed" => ("Vé không in được", "Ticket not printed"),
        "possible_breach" => ("Nghi lộ dữ liệu", "Possible data breach"),
        "staff_login_failed" => ("Sai mã PIN nhân viên", "Wrong staff PIN"),
        "staff_locked" => ("Khóa nhập PIN", "PIN entry locked"),
        "config_reload_refused" => ("Cấu hình bị từ chối", "Configuration refused"),
        "logs_export_failed" => ("Xuất nhật ký lỗi", "Log export failed"),
        "unverified_offline" => (
            "Thẻ chưa xác thực trực tuyến (C06 không trả lời)",
            "Card unverified offline (C06 did not answer)",
        ),
        "authority_verdict_invalid" => ("Trả lời C06 không hợp lệ", "Invalid C06 verdict"),
        other => (other, other),
    };
    pick(lang, vi, en)
}

/// The panel's rows, section by section.
pub fn rows(view: &StaffView, lang: Language) -> Vec<StaffRow> {
    let Some(panel) = &view.panel else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let heading = |rows: &mut Vec<StaffRow>, vi: &str, en: &str| {
        rows.push(StaffRow {
            label: pick(lang, vi, en),
            value: String::new(),
            tone: Tone::Heading,
        })
    };
    let row = |rows: &mut Vec<StaffRow>, label: String, value: String, tone: Tone| {
        rows.push(StaffRow { label, value, tone })
    };
    heading(&mut rows, "Thiết bị", "Devices");
    for h in &panel.health {
        let (word, tone) = match h.level {
            Level::Ok => (pick(lang, "Tốt", "OK"), Tone::Ok),
            Level::Warn => (pick(lang, "Cần chú ý", "Attention"), Tone::Warn),
            Level::Fail => (pick(lang, "Lỗi", "Fault"), Tone::Fail),
        };
        row(
            &mut rows,
            device_name(&h.device, lang),
            format!("{word} · {}", h.reason),
            tone,
        );
    }
    heading(&mut rows, "Giấy in", "Paper");
    let (vi, en, tone) = match panel.paper {
        PaperState::Ok => ("Đủ giấy", "Paper OK", Tone::Ok),
        PaperState::NearEnd => ("Sắp hết giấy", "Paper near end", Tone::Warn),
        PaperState::Out => ("Hết giấy", "Out of paper", Tone::Fail),
        PaperState::CoverOpen => ("Nắp đang mở", "Cover open", Tone::Fail),
        PaperState::Offline => ("Không kết nối", "Offline", Tone::Fail),
    };
    row(
        &mut rows,
        pick(lang, "Máy in vé", "Ticket printer"),
        pick(lang, vi, en),
        tone,
    );
    row(
        &mut rows,
        pick(lang, "Vé chưa in", "Unprinted tickets"),
        if panel.unprinted.is_empty() {
            "—".into()
        } else {
            panel.unprinted.join(", ")
        },
        if panel.unprinted.is_empty() {
            Tone::Plain
        } else {
            Tone::Warn
        },
    );
    heading(&mut rows, "Hồ sơ chờ gửi", "Outbox");
    let o = panel.outbox;
    row(
        &mut rows,
        pick(lang, "Đang chờ gửi", "Waiting"),
        o.pending.to_string(),
        Tone::Plain,
    );
    row(
        &mut rows,
        pick(lang, "Bị cổng từ chối", "Refused by the portal"),
        o.failed.to_string(),
        if o.failed > 0 {
            Tone::Fail
        } else {
            Tone::Plain
        },
    );
    row(
        &mut rows,
        pick(lang, "Lần gửi tới", "Next attempt"),
        o.next_due.map_or_else(|| "—".into(), clock),
        Tone::Plain,
    );
    heading(&mut rows, "Hôm nay", "Today");
    for (key, count) in &panel.counts {
        row(
            &mut rows,
            count_label(key, lang),
            count.to_string(),
            Tone::Plain,
        );
    }
    heading(&mut rows, "Lỗi gần đây", "Recent errors");
    if panel.errors.is_empty() {
        row(
            &mut rows,
            pick(lang, "Không có", "None"),
            String::new(),
            Tone::Plain,
        );
    }
    for e in &panel.errors {
        row(
            &mut rows,
            day_clock(e.at),
            error_label(&e.kind, lang),
            Tone::Warn,
        );
    }
    rows
}

/// Fills `m` for the staff screen of `view`.
pub fn model(view: &StaffView, lang: Language, m: &mut ScreenModel) {
    let (title, prompt) = text(view.screen, lang);
    m.title = title;
    m.prompt = prompt;
    m.step_label = String::new();
    let c = |id: &str, vi: &str, en: &str, primary: bool| Choice {
        id: id.to_owned(),
        label: pick(lang, vi, en),
        primary,
    };
    match view.screen {
        StaffScreen::Pin => {
            m.pin_dots = "●".repeat(usize::from(view.digits_entered));
            m.pin_label = pick(lang, "Mã PIN nhân viên", "Staff PIN");
            if let Some(n) = view.notice {
                let (text, alert) = notice(n, view.now, lang);
                m.staff_notice = text;
                m.staff_notice_alert = alert;
            }
            let locked = matches!(view.notice, Some(PinNotice::Locked { .. }));
            if !locked {
                m.keys = (1..=9)
                    .map(|d| c(&format!("key-{d}"), &d.to_string(), &d.to_string(), false))
                    .chain([
                        c("key-del", "Xóa", "Delete", false),
                        c("key-0", "0", "0", false),
                        c("key-ok", "Vào", "Enter", true),
                    ])
                    .collect();
            }
            m.actions = vec![c("staff-exit", "Quay lại", "Back", false)];
        }
        StaffScreen::Panel => {
            m.staff_rows = rows(view, lang);
            if let Some(r) = view.panel.as_ref().and_then(|p| p.result.as_ref()) {
                let (text, ok) = result(r, lang);
                m.staff_result = text;
                m.staff_result_ok = ok;
            }
            m.keys = vec![
                c("staff-test-print", "In thử", "Test print", false),
                c("staff-reprint", "In lại vé", "Reprint ticket", false),
                c("staff-reload", "Tải lại cấu hình", "Reload config", false),
                c("staff-export", "Xuất nhật ký", "Export logs", false),
                c("staff-refresh", "Kiểm tra lại", "Check again", false),
            ];
            m.actions = vec![c(
                "staff-exit",
                "Thoát chế độ nhân viên",
                "Exit staff mode",
                true,
            )];
        }
    }
}

/// What a touch on a staff screen means (`None`: not a staff button).
pub fn touch(screen: StaffScreen, id: &str) -> Option<StaffInput> {
    Some(match (screen, id) {
        (_, "staff-exit") => StaffInput::Exit,
        (StaffScreen::Pin, "key-del") => StaffInput::Delete,
        (StaffScreen::Pin, "key-ok") => StaffInput::Submit,
        (StaffScreen::Pin, key) => {
            let d = key.strip_prefix("key-")?;
            match d.as_bytes() {
                [b] if b.is_ascii_digit() => StaffInput::Digit(b - b'0'),
                _ => return None,
            }
        }
        (StaffScreen::Panel, "staff-test-print") => StaffInput::Action(StaffAction::TestPrint),
        (StaffScreen::Panel, "staff-reprint") => StaffInput::Action(StaffAction::ReprintLast),
        (StaffScreen::Panel, "staff-reload") => StaffInput::Action(StaffAction::ReloadConfig),
        (StaffScreen::Panel, "staff-export") => StaffInput::Action(StaffAction::ExportLogs),
        (StaffScreen::Panel, "staff-refresh") => StaffInput::Action(StaffAction::Refresh),
        _ => return None,
    })
}
