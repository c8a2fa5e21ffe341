//! Consent before anything leaves the kiosk, under the Personal Data
//! Protection Law 91/2025/QH15 and Decree 356/2025/NĐ-CP (in force 1
//! January 2026, replacing Decree 13/2023/NĐ-CP; reference note
//! kiosk-products-and-rules.md §3.3):
//!
//! - consent is explicit: the citizen touches "I agree"; silence, a
//!   timeout or leaving is never consent (the session sends nothing then);
//! - the notice says what data is processed, who receives it, why, how
//!   long the kiosk keeps it, and the citizen's rights (withdraw, see,
//!   correct, delete);
//! - biometric data is sensitive: the face image and the match score never
//!   leave the kiosk with a request, only how identity was checked;
//! - a child's request (a card without a photo, under 6) is consented by
//!   the legal representative (the guardian path);
//! - the operator reports a breach to the authority within 72 hours.
//!
//! The notice is text with a version; the [`ConsentRecord`] that travels
//! with the request holds that version, the SHA-256 of the exact text shown
//! and when it was given, so the text can be reproduced in writing.

use super::catalog::Procedure;
use crate::session::Verification;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of the notice's wording (bumped whenever the template
/// below changes).
pub const NOTICE_VERSION: &str = "pdpl-91-2025/v1";

/// Who gave consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GivenBy {
    /// The card holder.
    Holder,
    /// A child's legal representative (the guardian path).
    LegalRepresentative,
}

/// The consent screen's content for one procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentNotice {
    /// The wording's version.
    pub version: String,
    /// Who is asked.
    pub given_by: GivenBy,
    /// The whole notice in Vietnamese.
    pub text_vi: String,
    /// The whole notice in English.
    pub text_en: String,
}

/// A consent as recorded with the request (no personal data of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConsentRecord {
    /// The notice version.
    pub notice_version: String,
    /// SHA-256 (hex) of the Vietnamese and English text shown, joined by a
    /// newline.
    pub text_sha256: String,
    /// Unix milliseconds when the citizen touched "I agree".
    pub given_at_unix_ms: u64,
    /// `holder` or `legal_representative`.
    pub given_by: String,
    /// Always true: only an explicit "I agree" makes a record.
    pub explicit: bool,
    /// What the data is used for.
    pub purpose: String,
    /// Who receives it.
    pub recipient: String,
}

impl ConsentNotice {
    /// The notice for `procedure`. `verification` tells whether a guardian
    /// consents for a child.
    pub fn for_procedure(procedure: &Procedure, verification: Verification) -> ConsentNotice {
        let given_by = if verification == Verification::Guardian {
            GivenBy::LegalRepresentative
        } else {
            GivenBy::Holder
        };
        let chip_vi: Vec<&str> = procedure
            .fields
            .iter()
            .filter(|f| f.chip.is_some())
            .map(|f| f.label_vi.as_str())
            .collect();
        let chip_en: Vec<&str> = procedure
            .fields
            .iter()
            .filter(|f| f.chip.is_some())
            .map(|f| f.label_en.as_str())
            .collect();
        let who_vi = match given_by {
            GivenBy::Holder => "Bạn",
            GivenBy::LegalRepresentative => {
                "Bạn, với tư cách người đại diện theo pháp luật của trẻ,"
            }
        };
        let who_en = match given_by {
            GivenBy::Holder => "You",
            GivenBy::LegalRepresentative => "You, as the child's legal representative,",
        };
        let text_vi = format!(
            "ĐỒNG Ý XỬ LÝ DỮ LIỆU CÁ NHÂN\n\
             Thủ tục: {name_vi} ({code}).\n\
             Dữ liệu gửi đi: {chip_vi} (đọc từ chip thẻ căn cước), các thông tin bạn nhập trên tờ khai, \
             và cách xác thực danh tính. Ảnh khuôn mặt và dữ liệu sinh trắc học KHÔNG được gửi đi.\n\
             Bên nhận: {agency_vi}, qua Hệ thống thông tin giải quyết thủ tục hành chính cấp tỉnh.\n\
             Mục đích: tiếp nhận và giải quyết hồ sơ thủ tục trên, theo {basis}.\n\
             Lưu giữ tại ki-ốt: được mã hóa, chỉ đến khi cổng dịch vụ công xác nhận đã nhận hồ sơ, sau đó bị xóa; \
             ki-ốt chỉ giữ mã hồ sơ.\n\
             Quyền của bạn: đồng ý hoặc không đồng ý, rút lại sự đồng ý, xem, chỉnh sửa và yêu cầu xóa dữ liệu \
             (Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15, Nghị định 356/2025/NĐ-CP). Nếu xảy ra vi phạm dữ liệu, \
             đơn vị vận hành thông báo cho cơ quan có thẩm quyền trong vòng 72 giờ.\n\
             {who_vi} phải bấm «Tôi đồng ý» để gửi. Im lặng hoặc không bấm không được coi là đồng ý; \
             chọn «Không đồng ý» thì không có dữ liệu nào được gửi.",
            name_vi = procedure.name_vi,
            code = procedure.code,
            chip_vi = chip_vi.join(", "),
            agency_vi = procedure.agency_vi,
            basis = procedure.legal_basis,
        );
        let text_en = format!(
            "CONSENT TO PROCESS PERSONAL DATA\n\
             Procedure: {name_en} ({code}).\n\
             Data sent: {chip_en} (read from the ID card's chip), what you typed on the form, and how your \
             identity was checked. Your face image and biometric data are NOT sent.\n\
             Recipient: {agency_en}, through the provincial administrative-procedure system.\n\
             Purpose: to receive and process this procedure's dossier, under {basis}.\n\
             Kept at the kiosk: encrypted, only until the public-service portal confirms receipt, then deleted; \
             the kiosk keeps only the dossier code.\n\
             Your rights: to agree or refuse, to withdraw consent, to see, correct and have the data deleted \
             (Personal Data Protection Law 91/2025/QH15, Decree 356/2025/NĐ-CP). In a data breach the operator \
             notifies the competent authority within 72 hours.\n\
             {who_en} must touch \"I agree\" to send. Silence or no answer is not consent; \"I do not agree\" \
             sends nothing.",
            name_en = procedure.name_en,
            code = procedure.code,
            chip_en = chip_en.join(", "),
            agency_en = procedure.agency_en,
            basis = procedure.legal_basis,
        );
        ConsentNotice {
            version: NOTICE_VERSION.to_owned(),
            given_by,
            text_vi,
            text_en,
        }
    }

    /// The SHA-256 of the text shown, hex.
    pub fn text_sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.text_vi.as_bytes());
        h.update(b"\n");
        h.update(self.text_en.as_bytes());
        hex_lower(&h.finalize())
    }

    /// The record of an explicit "I agree" at `given_at_unix_ms`.
    pub fn record(&self, procedure: &Procedure, given_at_unix_ms: u64) -> ConsentRecord {
        ConsentRecord {
            notice_version: self.version.clone(),
            text_sha256: self.text_sha256(),
            given_at_unix_ms,
            given_by: match self.given_by {
                GivenBy::Holder => "holder",
                GivenBy::LegalRepresentative => "legal_representative",
            }
            .to_owned(),
            explicit: true,
            purpose: format!("administrative procedure {}", procedure.code),
            recipient: procedure.agency_en.clone(),
        }
    }
}

/// Lower-case hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
