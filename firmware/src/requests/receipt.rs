//! The paper receipt of a request (giấy biên nhận), laid out with the
//! ticket's raster canvas (`crate::ticket::raster`) and printed as ESC/POS
//! raster like a queue ticket.
//!
//! - Delivered: the dossier code the portal assigned (Circular
//!   01/2018/TT-VPCP Art. 19), the appointment date when known, and a QR
//!   code of the status link for that code (the Circular allows a QR next
//!   to the code).
//! - Queued (offline, portal down): "queued, will be sent" in both
//!   languages, the kiosk's reference in place of a code the kiosk must not
//!   invent (reference note §3.4), and a QR code of the status link for
//!   that reference, which finds the dossier once it is delivered.
//!
//! Both list the papers to bring to the counter. No personal data is
//! printed: no name, no ID number.

use super::catalog::Procedure;
use crate::ticket::LocalTime;
use crate::ticket::raster::{Bitmap, Canvas, PaperWidth, RasterError, Style};

/// Where the request stands when the paper is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptState {
    /// The portal confirmed it.
    Delivered {
        /// The dossier code.
        dossier_code: String,
        /// The appointment date, if any.
        appointment_date: Option<String>,
    },
    /// In the outbox, to be sent when the portal can be reached.
    Queued,
}

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContent {
    /// The service centre.
    pub center_name: String,
    /// The procedure's names.
    pub procedure_vi: String,
    /// In English.
    pub procedure_en: String,
    /// The procedure code.
    pub procedure_code: String,
    /// The state.
    pub state: ReceiptState,
    /// The kiosk's reference.
    pub reference: String,
    /// When submitted.
    pub submitted_at: LocalTime,
    /// The QR code's text: the status link.
    pub qr: String,
    /// Papers to bring (Vietnamese, English).
    pub bring_to_counter: Vec<(String, String)>,
}

impl ReceiptContent {
    /// The content for `procedure` in `state`; the QR links to
    /// `<status_url>/<dossier code or reference>`.
    pub fn new(
        center_name: &str,
        procedure: &Procedure,
        state: ReceiptState,
        reference: &str,
        submitted_at: LocalTime,
        status_url: &str,
    ) -> ReceiptContent {
        let code = match &state {
            ReceiptState::Delivered { dossier_code, .. } => dossier_code.as_str(),
            ReceiptState::Queued => reference,
        };
        ReceiptContent {
            center_name: center_name.to_owned(),
            procedure_vi: procedure.name_vi.clone(),
            procedure_en: procedure.name_en.clone(),
            procedure_code: procedure.code.clone(),
            qr: format!("{}/{code}", status_url.trim_end_matches('/')),
            state,
            reference: reference.to_owned(),
            submitted_at,
            bring_to_counter: procedure
                .bring_to_counter
                .iter()
                .map(|a| (a.vi.clone(), a.en.clone()))
                .collect(),
        }
    }
}

/// The line at the foot of every receipt.
pub const PRIVACY_LINE: &str =
    "Biên nhận không chứa thông tin cá nhân.\nThis receipt holds no personal data.";

/// Lays out and rasterises a receipt.
pub fn render(content: &ReceiptContent, paper: PaperWidth) -> Result<Bitmap, RasterError> {
    let narrow = paper == PaperWidth::Mm58;
    let k = if narrow { 0.72 } else { 1.0 };
    let mut c = Canvas::new(paper, if narrow { 8 } else { 16 })?;
    c.space(8);
    c.text(&content.center_name, Style::heading(26.0 * k))?;
    c.space(8);
    c.rule(3);
    c.space(10);
    c.text(
        "BIÊN NHẬN HỒ SƠ · REQUEST RECEIPT",
        Style::heading(26.0 * k).centered(),
    )?;
    c.text(&content.procedure_vi, Style::heading(30.0 * k))?;
    c.text(&content.procedure_en, Style::regular(22.0 * k).centered())?;
    c.text(
        &format!("Mã thủ tục · Procedure: {}", content.procedure_code),
        Style::regular(20.0 * k).centered(),
    )?;
    c.space(10);
    match &content.state {
        ReceiptState::Delivered {
            dossier_code,
            appointment_date,
        } => {
            c.text(
                "ĐÃ GỬI · SENT — Mã hồ sơ · Dossier code",
                Style::regular(22.0 * k).centered(),
            )?;
            c.text(dossier_code, Style::heading(30.0 * k))?;
            if let Some(date) = appointment_date {
                c.text(
                    &format!("Ngày hẹn trả kết quả · Result due: {date}"),
                    Style::regular(22.0 * k).centered(),
                )?;
            }
        }
        ReceiptState::Queued => {
            c.text("ĐANG CHỜ GỬI · QUEUED", Style::heading(28.0 * k).inverse())?;
            c.text(
                "Hồ sơ đã được lưu an toàn và sẽ tự động gửi khi có kết nối. \
                 Mã hồ sơ sẽ có khi cổng dịch vụ công tiếp nhận; quét mã QR để tra cứu.",
                Style::regular(22.0 * k).centered(),
            )?;
            c.text(
                "Your request is stored safely and will be sent automatically. The dossier code \
                 comes when the portal receives it; scan the QR code to look it up.",
                Style::regular(20.0 * k).centered(),
            )?;
        }
    }
    c.text(
        &format!("Số tham chiếu · Reference: {}", content.reference),
        Style::regular(20.0 * k).centered(),
    )?;
    c.text(
        &content.submitted_at.to_string(),
        Style::regular(22.0 * k).centered(),
    )?;
    c.space(8);
    c.qr(content.qr.as_bytes(), if narrow { 3 } else { 4 })?;
    c.text(
        "Quét mã để tra cứu hồ sơ · Scan to check the status",
        Style::regular(20.0 * k).centered(),
    )?;
    if !content.bring_to_counter.is_empty() {
        c.space(8);
        c.rule(2);
        c.text(
            "Mang đến quầy · Bring to the counter:",
            Style::heading(22.0 * k),
        )?;
        for (vi, en) in &content.bring_to_counter {
            c.text(&format!("• {vi}"), Style::regular(21.0 * k))?;
            c.text(&format!("  {en}"), Style::regular(18.0 * k))?;
        }
    }
    c.space(10);
    c.rule(2);
    c.space(6);
    c.text(PRIVACY_LINE, Style::regular(20.0 * k).centered())?;
    c.space(8);
    Ok(c.finish())
}
