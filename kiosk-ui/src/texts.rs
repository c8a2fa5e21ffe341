//! The words on buttons and labels, Vietnamese first, English second.
//!
//! With the guidance in the crate root this is the one text table of the
//! UI: the Slint screens get every string from here through the adapters,
//! and the audio guidance speaks the same words.

use crate::Language;

/// A label that is not per-screen guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// The kiosk's name in the top bar.
    KioskName,
    /// "Take a number" (attract and menu).
    TakeNumber,
    /// "Language" (attract).
    LanguageButton,
    /// "Type the number instead" (access key).
    TypeKey,
    /// "Cancel".
    Cancel,
    /// "Back".
    Back,
    /// "Yes, that is me".
    Yes,
    /// "Not me".
    NotMe,
    /// "I agree".
    Agree,
    /// "No, thank you".
    Decline,
    /// Staff: identity confirmed.
    StaffApprove,
    /// Staff: identity refused.
    StaffRefuse,
    /// "Staff: enter PIN" (staff assist, out of service): opens the staff
    /// PIN keypad; no decision without it.
    StaffEnterPin,
    /// "Submit a request".
    SubmitRequest,
    /// "Finish".
    Finish,
    /// "Continue".
    Continue,
    /// "The form is correct".
    FormOk,
    /// "Skip".
    Skip,
    /// "I need more time".
    MoreTime,
    /// "Delete" on the keypad.
    Delete,
    /// "Next" on the keypad.
    Next,
    /// "Done" on the input screen.
    Done,
    /// "Full name".
    FullName,
    /// "Date of birth".
    DateOfBirth,
    /// "ID number".
    IdNumber,
    /// "% read".
    Percent,
    /// "Attempt".
    Attempt,
    /// "people waiting before you".
    Waiting,
    /// "Service".
    Service,
    /// Timeout warning title.
    WarningTitle,
    /// Timeout warning prompt.
    WarningPrompt,
    /// "seconds left".
    Seconds,
    /// Keypad: the ID field.
    IdEntry,
    /// Keypad: the date-of-birth field.
    DobEntry,
    /// Access key: where the QR is.
    QrHint,
    /// Attract: where the card goes.
    CardHint,
    /// "Step".
    Step,
    /// "of" in "Step 1 of 4".
    Of,
    /// The receipt says the request waits to be sent.
    ReceiptQueued,
    /// The receipt says the request reached the office.
    ReceiptDelivered,
    /// The ticket did not print.
    NotPrinted,
    /// "Send my details" (identity consent).
    Share,
    /// "Do not send" (identity consent).
    DontShare,
    /// "Verified by" (identity consent).
    VerifiedBy,
    /// "Form" (identity consent).
    FormRow,
    /// What the form row says.
    FormValue,
    /// "Why" (identity consent).
    Why,
    /// Why the details go to the counter.
    WhyValue,
    /// "To whom" (identity consent).
    ToWhom,
    /// Who receives them.
    ToWhomValue,
    /// "Kept until" (identity consent).
    KeptUntil,
    /// When they are deleted.
    KeptUntilValue,
    /// The face matched the chip photo.
    ByFace,
    /// Staff confirmed the holder.
    ByStaff,
    /// A guardian is with the child (staff confirmed).
    ByGuardian,
}

/// The text of a label.
pub fn label(label: Label, lang: Language) -> &'static str {
    let (vi, en) = match label {
        Label::KioskName => ("Kiosk dịch vụ công", "Public service kiosk"),
        Label::TakeNumber => ("Lấy số thứ tự", "Take a number"),
        Label::LanguageButton => ("English", "Tiếng Việt"),
        Label::TypeKey => ("Nhập số trên bàn phím", "Type the number instead"),
        Label::Cancel => ("Hủy", "Cancel"),
        Label::Back => ("Quay lại", "Back"),
        Label::Yes => ("Đúng, là tôi", "Yes, that is me"),
        Label::NotMe => ("Không phải tôi", "Not me"),
        Label::Agree => ("Tôi đồng ý", "I agree"),
        Label::Decline => ("Không đồng ý", "No, thank you"),
        Label::StaffApprove => ("Cán bộ: đã xác nhận", "Staff: identity confirmed"),
        Label::StaffRefuse => ("Cán bộ: từ chối", "Staff: refuse"),
        Label::StaffEnterPin => ("Cán bộ: nhập mã PIN", "Staff: enter PIN"),
        Label::SubmitRequest => ("Nộp hồ sơ trực tuyến", "Submit a request"),
        Label::Finish => ("Kết thúc", "Finish"),
        Label::Continue => ("Tiếp tục", "Continue"),
        Label::FormOk => ("Tờ khai đã đúng", "The form is correct"),
        Label::Skip => ("Bỏ qua", "Skip"),
        Label::MoreTime => ("Tôi cần thêm thời gian", "I need more time"),
        Label::Delete => ("Xóa", "Delete"),
        Label::Next => ("Tiếp", "Next"),
        Label::Done => ("Xong", "Done"),
        Label::FullName => ("Họ và tên", "Full name"),
        Label::DateOfBirth => ("Ngày sinh", "Date of birth"),
        Label::IdNumber => ("Số định danh cá nhân", "Personal ID number"),
        Label::Percent => ("% đã đọc", "% read"),
        Label::Attempt => ("Lần thử", "Attempt"),
        Label::Waiting => ("người đang chờ trước bạn", "people waiting before you"),
        Label::Service => ("Dịch vụ", "Service"),
        Label::WarningTitle => ("Bạn vẫn đang dùng máy?", "Are you still there?"),
        Label::WarningPrompt => (
            "Phiên làm việc sẽ kết thúc và mọi thông tin sẽ được xóa khi hết giờ.",
            "The session will end and everything will be erased when the time is up.",
        ),
        Label::Seconds => ("giây", "seconds"),
        Label::IdEntry => ("Số định danh (12 số)", "ID number (12 digits)"),
        Label::DobEntry => (
            "Ngày sinh (ngày/tháng/năm)",
            "Date of birth (day/month/year)",
        ),
        Label::QrHint => (
            "Mã QR ở góc trên bên phải mặt trước thẻ",
            "The QR code is at the top right of the card's front",
        ),
        Label::CardHint => (
            "Đặt thẻ lên ô đèn vàng",
            "Place the card on the yellow light",
        ),
        Label::Step => ("Bước", "Step"),
        Label::Of => ("/", "of"),
        Label::ReceiptQueued => (
            "Hồ sơ sẽ được gửi ngay khi có mạng",
            "The request will be sent as soon as the network is back",
        ),
        Label::ReceiptDelivered => ("Cơ quan đã nhận hồ sơ", "The office has the request"),
        Label::NotPrinted => ("Phiếu chưa in được", "The ticket did not print"),
        Label::Share => ("Đồng ý gửi", "Yes, send them"),
        Label::DontShare => ("Không gửi", "No, do not send"),
        Label::VerifiedBy => ("Cách xác thực", "How you were verified"),
        Label::FormRow => ("Tờ khai", "Form"),
        Label::FormValue => (
            "Điền sẵn từ thẻ, nếu thủ tục có tờ khai",
            "Pre-filled from the card, where the service has a form",
        ),
        Label::Why => ("Mục đích", "Why"),
        Label::WhyValue => (
            "Để cán bộ không phải hỏi lại thông tin",
            "So the officer does not ask for them again",
        ),
        Label::ToWhom => ("Gửi cho", "To whom"),
        Label::ToWhomValue => (
            "Chỉ quầy gọi số của bạn",
            "Only the counter that calls your number",
        ),
        Label::KeptUntil => ("Lưu đến khi", "Kept until"),
        Label::KeptUntilValue => (
            "Bạn được phục vụ xong, hoặc cuối ngày: sau đó xóa",
            "You are served, or the end of the day: then deleted",
        ),
        Label::ByFace => (
            "Khuôn mặt khớp ảnh trong chip thẻ",
            "Your face matched the photo in the card's chip",
        ),
        Label::ByStaff => ("Cán bộ đã xác nhận", "Confirmed by staff"),
        Label::ByGuardian => (
            "Có người giám hộ (cán bộ đã xác nhận)",
            "With a guardian (confirmed by staff)",
        ),
    };
    match lang {
        Language::Vietnamese => vi,
        Language::English => en,
    }
}

/// A satisfaction level's words, 1 (very dissatisfied) to 5 (very satisfied).
pub fn rating_label(score: u8, lang: Language) -> &'static str {
    let (vi, en) = match score {
        5 => ("Rất hài lòng", "Very satisfied"),
        4 => ("Hài lòng", "Satisfied"),
        3 => ("Bình thường", "Neither"),
        2 => ("Không hài lòng", "Dissatisfied"),
        _ => ("Rất không hài lòng", "Very dissatisfied"),
    };
    match lang {
        Language::Vietnamese => vi,
        Language::English => en,
    }
}
