//! Screens of the CCCD kiosk: what each step of the journey shows and says.
//!
//! The firmware's [`SessionView`] is mapped to a [`Screen`] and to guidance
//! in the citizen's [`Language`] (Vietnamese first, English second): a title
//! and a spoken-style prompt that says what to do next, in plain words. The
//! console frontend prints them today; the Slint screens and the audio
//! guidance (espeak-ng's Vietnamese voice) use the same texts.
//!
//! Faults get their own text with a remedy; no library error message ever
//! reaches a citizen (DESIGN.md §4).

use kiosk_firmware::face::check::Hint;
use kiosk_firmware::face::liveness::TurnDirection;
use kiosk_firmware::session::{Fault, SessionView, StaffReason, StepKind};

/// The language the citizen chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// Tiếng Việt, the default.
    #[default]
    Vietnamese,
    /// English.
    English,
}

/// One screen of the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Welcome; "place your card" or "take a number".
    Attract,
    /// Scan the card-front QR or type the ID number.
    AccessKey,
    /// Reading the chip, with progress.
    Reading,
    /// "Is this you?"
    Confirm,
    /// Consent to the face check.
    FaceConsent,
    /// Look at the camera.
    FaceCheck,
    /// Staff are on their way.
    StaffAssist,
    /// The service menu.
    Menu,
    /// Printing the ticket.
    Printing,
    /// The ticket number.
    Ticket,
    /// Review the pre-filled form.
    Form,
    /// Consent to sending the request.
    RequestConsent,
    /// Sending the request.
    Submitting,
    /// The request receipt.
    Receipt,
    /// How satisfied are you?
    Rating,
    /// Thank you, goodbye.
    Goodbye,
    /// Something went wrong, and what to do.
    Notice,
}

impl Screen {
    /// The screen for a session step.
    pub fn of(step: StepKind) -> Screen {
        match step {
            StepKind::Attract => Screen::Attract,
            StepKind::ExpectAccessKey => Screen::AccessKey,
            StepKind::Reading => Screen::Reading,
            StepKind::ExpectConfirmation => Screen::Confirm,
            StepKind::ExpectFaceConsent => Screen::FaceConsent,
            StepKind::FaceCheck => Screen::FaceCheck,
            StepKind::StaffAssist => Screen::StaffAssist,
            StepKind::Menu => Screen::Menu,
            StepKind::IssuingTicket => Screen::Printing,
            StepKind::ShowingTicket => Screen::Ticket,
            StepKind::ExpectForm => Screen::Form,
            StepKind::ExpectRequestConsent => Screen::RequestConsent,
            StepKind::SubmittingRequest => Screen::Submitting,
            StepKind::ShowingReceipt => Screen::Receipt,
            StepKind::ExpectRating => Screen::Rating,
            StepKind::Goodbye => Screen::Goodbye,
            StepKind::Notice => Screen::Notice,
        }
    }
}

/// What a screen shows and says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guidance {
    /// The screen.
    pub screen: Screen,
    /// The large title.
    pub title: &'static str,
    /// What to do next, as the audio guidance says it.
    pub prompt: &'static str,
}

/// The guidance for the session as it is now.
pub fn guidance(view: &SessionView, lang: Language) -> Guidance {
    let screen = Screen::of(view.step);
    let (title, prompt) = match (screen, view.fault) {
        (Screen::Notice, Some(fault)) => fault_text(fault, lang),
        (Screen::StaffAssist, _) => staff_text(view.staff_reason, lang),
        (Screen::FaceCheck, _) if view.face_guide.is_some() => {
            face_hint_text(view.face_guide.map(|g| g.hint), lang)
        }
        (Screen::Menu, _) if view.menu_notice.is_some() => {
            fault_text(view.menu_notice.unwrap_or(Fault::Internal), lang)
        }
        (Screen::Ticket, _) if view.ticket.as_ref().is_some_and(|t| !t.printed) => pick(
            lang,
            (
                "Số thứ tự của bạn (chưa in được phiếu)",
                "Máy in đang gặp sự cố, cán bộ đã được báo. Vui lòng ghi nhớ số trên màn hình; cán bộ sẽ in lại phiếu cho bạn.",
            ),
            (
                "Your number (the ticket did not print)",
                "The printer has a problem and staff have been told. Please remember the number on the screen; staff will print your ticket again.",
            ),
        ),
        (Screen::AccessKey, _) if view.access_key_rejected => pick(
            lang,
            (
                "Chưa mở được thẻ",
                "Thông tin chưa khớp với thẻ. Vui lòng quét lại mã QR mặt trước thẻ, hoặc nhập số định danh và ngày sinh.",
            ),
            (
                "The card did not open",
                "The details did not match the card. Please scan the QR code on the front of the card again, or type your ID number and date of birth.",
            ),
        ),
        _ => screen_text(screen, lang),
    };
    Guidance {
        screen,
        title,
        prompt,
    }
}

fn pick(
    lang: Language,
    vi: (&'static str, &'static str),
    en: (&'static str, &'static str),
) -> (&'static str, &'static str) {
    match lang {
        Language::Vietnamese => vi,
        Language::English => en,
    }
}

fn screen_text(screen: Screen, lang: Language) -> (&'static str, &'static str) {
    match screen {
        Screen::Attract => pick(
            lang,
            (
                "Xin chào",
                "Vui lòng đặt thẻ căn cước lên vị trí đọc thẻ có đèn sáng, hoặc chạm Lấy số thứ tự.",
            ),
            (
                "Welcome",
                "Please place your citizen ID card on the lit card reader, or touch Take a number.",
            ),
        ),
        Screen::AccessKey => pick(
            lang,
            (
                "Quét mã QR trên thẻ",
                "Giữ thẻ trên đầu đọc. Đưa mã QR ở mặt trước thẻ trước camera, hoặc nhập số định danh và ngày sinh.",
            ),
            (
                "Scan the QR code on your card",
                "Keep the card on the reader. Show the QR code on the front of the card to the camera, or type your ID number and date of birth.",
            ),
        ),
        Screen::Reading => pick(
            lang,
            (
                "Đang đọc thẻ",
                "Vui lòng giữ yên thẻ trên đầu đọc cho đến khi hoàn tất.",
            ),
            (
                "Reading your card",
                "Please keep the card still on the reader until it is done.",
            ),
        ),
        Screen::Confirm => pick(
            lang,
            (
                "Đây có phải là bạn?",
                "Kiểm tra họ tên và ngày sinh. Chạm Đúng để tiếp tục, hoặc Không phải tôi.",
            ),
            (
                "Is this you?",
                "Check the name and date of birth. Touch Yes to continue, or Not me.",
            ),
        ),
        Screen::FaceConsent => pick(
            lang,
            (
                "Xác thực khuôn mặt",
                "Máy sẽ so khuôn mặt của bạn với ảnh trong thẻ. Ảnh không được lưu lại. Bạn có đồng ý không?",
            ),
            (
                "Face check",
                "The kiosk will compare your face with the photo on the card. No picture is kept. Do you agree?",
            ),
        ),
        Screen::FaceCheck => pick(
            lang,
            (
                "Nhìn vào camera",
                "Vui lòng nhìn thẳng vào camera và làm theo hướng dẫn trên màn hình.",
            ),
            (
                "Look at the camera",
                "Please look straight at the camera and follow the instructions on the screen.",
            ),
        ),
        Screen::StaffAssist => staff_text(None, lang),
        Screen::Menu => pick(
            lang,
            (
                "Bạn cần làm gì?",
                "Chọn Lấy số thứ tự, Nộp hồ sơ trực tuyến, hoặc Tra cứu hồ sơ.",
            ),
            (
                "What would you like to do?",
                "Choose Take a number, Submit a request, or Check a request.",
            ),
        ),
        Screen::Printing => pick(
            lang,
            ("Đang in phiếu", "Vui lòng chờ trong giây lát."),
            ("Printing your ticket", "Please wait a moment."),
        ),
        Screen::Ticket => pick(
            lang,
            ("Số thứ tự của bạn", "Vui lòng nhận phiếu và chờ gọi số."),
            (
                "Your number",
                "Please take your ticket and wait for your number to be called.",
            ),
        ),
        Screen::Form => pick(
            lang,
            (
                "Kiểm tra tờ khai",
                "Thông tin từ thẻ đã được điền sẵn. Kiểm tra và bổ sung phần còn thiếu.",
            ),
            (
                "Check the form",
                "The details from your card are filled in. Check them and add what is missing.",
            ),
        ),
        Screen::RequestConsent => pick(
            lang,
            (
                "Đồng ý gửi hồ sơ",
                "Hồ sơ và thông tin cá nhân sẽ được gửi đến cơ quan giải quyết. Bạn có đồng ý không?",
            ),
            (
                "Agree to send",
                "Your request and personal details will be sent to the office handling it. Do you agree?",
            ),
        ),
        Screen::Submitting => pick(
            lang,
            ("Đang gửi hồ sơ", "Vui lòng chờ trong giây lát."),
            ("Sending your request", "Please wait a moment."),
        ),
        Screen::Receipt => pick(
            lang,
            (
                "Đã tiếp nhận hồ sơ",
                "Vui lòng nhận giấy biên nhận. Dùng mã trên giấy để tra cứu hồ sơ.",
            ),
            (
                "Request received",
                "Please take your receipt. Use its code to check your request.",
            ),
        ),
        Screen::Rating => pick(
            lang,
            (
                "Bạn có hài lòng không?",
                "Chạm vào một mức đánh giá, từ Rất không hài lòng đến Rất hài lòng.",
            ),
            (
                "How satisfied are you?",
                "Touch a rating, from Very dissatisfied to Very satisfied.",
            ),
        ),
        Screen::Goodbye => pick(
            lang,
            (
                "Cảm ơn bạn",
                "Vui lòng nhận lại thẻ căn cước. Chúc bạn một ngày tốt lành.",
            ),
            (
                "Thank you",
                "Please take your ID card with you. Have a good day.",
            ),
        ),
        Screen::Notice => fault_text(Fault::Internal, lang),
    }
}

/// What the face-capture screen says for the face check's hint.
pub fn face_hint_text(hint: Option<Hint>, lang: Language) -> (&'static str, &'static str) {
    let (vi, en) = match hint {
        None | Some(Hint::LookAtCamera) => (
            "Vui lòng nhìn vào camera phía trên màn hình.",
            "Please look at the camera above the screen.",
        ),
        Some(Hint::OnlyOnePerson) => (
            "Chỉ một người đứng trước camera, xin cảm ơn.",
            "Only one person in front of the camera, please.",
        ),
        Some(Hint::MoveCloser) => (
            "Vui lòng tiến lại gần hơn một chút.",
            "Please come a little closer.",
        ),
        Some(Hint::MoveBack) => ("Vui lòng lùi lại một chút.", "Please move back a little."),
        Some(Hint::HoldStill) => ("Vui lòng giữ yên đầu.", "Please hold your head still."),
        Some(Hint::MoreLight) => (
            "Hình hơi tối. Vui lòng đứng vào chỗ sáng hơn.",
            "The picture is too dark. Please stand in a brighter place.",
        ),
        Some(Hint::LessLight) => (
            "Hình quá sáng. Vui lòng tránh nguồn sáng chiếu thẳng.",
            "The picture is too bright. Please move away from direct light.",
        ),
        Some(Hint::LookStraight) => (
            "Vui lòng nhìn thẳng vào camera.",
            "Please look straight at the camera.",
        ),
        Some(Hint::StraightenHead) => ("Vui lòng giữ đầu thẳng.", "Please keep your head level."),
        Some(Hint::Turn(TurnDirection::Left)) => (
            "Vui lòng quay đầu từ từ sang trái, rồi nhìn lại camera.",
            "Please turn your head slowly to your left, then look back at the camera.",
        ),
        Some(Hint::Turn(TurnDirection::Right)) => (
            "Vui lòng quay đầu từ từ sang phải, rồi nhìn lại camera.",
            "Please turn your head slowly to your right, then look back at the camera.",
        ),
        Some(Hint::Good) => (
            "Tốt lắm, vui lòng giữ nguyên.",
            "Good, please stay like that.",
        ),
    };
    pick(lang, ("Nhìn vào camera", vi), ("Look at the camera", en))
}

fn staff_text(reason: Option<StaffReason>, lang: Language) -> (&'static str, &'static str) {
    match reason {
        Some(StaffReason::ChipPhotoUnusable | StaffReason::FaceCheckUnavailable) => pick(
            lang,
            (
                "Cán bộ sẽ hỗ trợ bạn",
                "Kiosk chưa so khớp được khuôn mặt lúc này. Cán bộ sẽ đến xác nhận danh tính của bạn.",
            ),
            (
                "Staff will help you",
                "The kiosk cannot compare faces right now. A member of staff will come to confirm who you are.",
            ),
        ),
        Some(StaffReason::CameraFault) => pick(
            lang,
            (
                "Cán bộ sẽ hỗ trợ bạn",
                "Camera đang gặp sự cố. Cán bộ sẽ đến xác nhận danh tính của bạn.",
            ),
            (
                "Staff will help you",
                "The camera has a problem. A member of staff will come to confirm who you are.",
            ),
        ),
        _ => pick(
            lang,
            (
                "Cán bộ sẽ hỗ trợ bạn",
                "Vui lòng chờ, cán bộ sẽ đến xác nhận danh tính của bạn.",
            ),
            (
                "Staff will help you",
                "Please wait, a member of staff will come to confirm who you are.",
            ),
        ),
    }
}

/// The title and remedy of a fault.
pub fn fault_text(fault: Fault, lang: Language) -> (&'static str, &'static str) {
    match fault {
        Fault::CardRemoved => pick(
            lang,
            (
                "Thẻ đã được lấy ra",
                "Thẻ phải nằm trên đầu đọc trong khi đọc. Vui lòng đặt lại thẻ để bắt đầu lại.",
            ),
            (
                "The card was taken away",
                "The card must stay on the reader while it is read. Please place it again to start over.",
            ),
        ),
        Fault::WrongAccessKey => pick(
            lang,
            (
                "Không mở được thẻ",
                "Thông tin không khớp với thẻ nhiều lần. Vui lòng nhờ cán bộ hỗ trợ.",
            ),
            (
                "The card could not be opened",
                "The details did not match the card several times. Please ask a member of staff.",
            ),
        ),
        Fault::NotAnIdCard => pick(
            lang,
            (
                "Không phải thẻ căn cước",
                "Thẻ này không phải thẻ căn cước gắn chip. Vui lòng đặt thẻ căn cước của bạn.",
            ),
            (
                "Not an ID card",
                "This is not a chip citizen ID card. Please place your citizen ID card.",
            ),
        ),
        Fault::UnreadableCard => pick(
            lang,
            (
                "Không đọc được thẻ",
                "Chip trên thẻ không phản hồi đúng. Vui lòng nhờ cán bộ hỗ trợ.",
            ),
            (
                "The card cannot be read",
                "The card's chip does not answer properly. Please ask a member of staff.",
            ),
        ),
        Fault::DocumentNotGenuine => pick(
            lang,
            (
                "Không xác thực được thẻ",
                "Dữ liệu trên chip không vượt qua kiểm tra an ninh. Vui lòng nhờ cán bộ hỗ trợ.",
            ),
            (
                "The card could not be verified",
                "The chip's data did not pass the security checks. Please ask a member of staff.",
            ),
        ),
        Fault::DocumentExpired => pick(
            lang,
            (
                "Thẻ đã hết hạn",
                "Thẻ này không còn giá trị sử dụng. Vui lòng nhờ cán bộ hướng dẫn làm thẻ mới.",
            ),
            (
                "The card has expired",
                "This card is no longer valid. Please ask a member of staff how to renew it.",
            ),
        ),
        Fault::ReaderUnavailable => pick(
            lang,
            (
                "Đầu đọc thẻ đang lỗi",
                "Vui lòng chạm Lấy số thứ tự hoặc nhờ cán bộ hỗ trợ.",
            ),
            (
                "The card reader is out of order",
                "Please touch Take a number, or ask a member of staff.",
            ),
        ),
        Fault::CameraUnavailable => pick(
            lang,
            ("Camera đang lỗi", "Cán bộ sẽ hỗ trợ bạn."),
            (
                "The camera is out of order",
                "A member of staff will help you.",
            ),
        ),
        Fault::PrinterUnavailable => pick(
            lang,
            (
                "Máy in đang lỗi",
                "Vui lòng ghi nhớ số trên màn hình hoặc nhờ cán bộ hỗ trợ.",
            ),
            (
                "The printer is out of order",
                "Please remember the number on the screen, or ask a member of staff.",
            ),
        ),
        Fault::ServiceClosed => pick(
            lang,
            (
                "Dịch vụ chưa nhận số",
                "Dịch vụ này hiện ngoài giờ lấy số. Vui lòng chọn dịch vụ khác hoặc quay lại trong giờ làm việc.",
            ),
            (
                "Not issuing numbers now",
                "This service is outside its hours. Please choose another service or come back during opening hours.",
            ),
        ),
        Fault::ServiceSoldOut => pick(
            lang,
            (
                "Đã hết số hôm nay",
                "Dịch vụ này đã hết số thứ tự trong ngày. Vui lòng quay lại vào ngày làm việc tiếp theo hoặc hỏi cán bộ.",
            ),
            (
                "No numbers left today",
                "This service has given out all of today's numbers. Please come back on the next working day or ask a member of staff.",
            ),
        ),
        Fault::PriorityNotEligible => pick(
            lang,
            (
                "Chưa xác nhận được ưu tiên",
                "Ưu tiên người cao tuổi cần ngày sinh từ thẻ căn cước. Vui lòng đặt thẻ lên đầu đọc, lấy số thường, hoặc nhờ cán bộ hỗ trợ.",
            ),
            (
                "Priority not confirmed",
                "Priority for older people needs the date of birth from your ID card. Please place your card on the reader, take a normal number, or ask a member of staff.",
            ),
        ),
        Fault::TimedOut => pick(
            lang,
            (
                "Quá thời gian chờ",
                "Thao tác mất quá nhiều thời gian. Vui lòng thử lại.",
            ),
            ("That took too long", "Please try again."),
        ),
        Fault::RequestNotQueued => pick(
            lang,
            (
                "Chưa gửi được hồ sơ",
                "Hồ sơ chưa được lưu. Vui lòng thử lại hoặc nhờ cán bộ hỗ trợ.",
            ),
            (
                "The request was not saved",
                "Please try again, or ask a member of staff.",
            ),
        ),
        Fault::OutOfService => pick(
            lang,
            (
                "Kiosk tạm ngừng phục vụ",
                "Cán bộ đã được báo và sẽ đến ngay. Xin lỗi vì sự bất tiện.",
            ),
            (
                "The kiosk is out of service",
                "Staff have been told and are on their way. Sorry for the inconvenience.",
            ),
        ),
        Fault::RequestRefused => pick(
            lang,
            (
                "Hồ sơ không được tiếp nhận",
                "Cổng dịch vụ công không tiếp nhận hồ sơ này. Cán bộ sẽ kiểm tra và hướng dẫn bạn.",
            ),
            (
                "The request was not accepted",
                "The public-service portal did not accept this request. Staff will check it with you.",
            ),
        ),
        // `Fault::Internal`, and any fault newer than this text table
        // (`Fault` is non-exhaustive; the test below lists them all).
        _ => pick(
            lang,
            ("Máy gặp sự cố", "Vui lòng thử lại hoặc nhờ cán bộ hỗ trợ."),
            (
                "Something went wrong",
                "Please try again, or ask a member of staff.",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::session::{Session, SessionConfig};
    use kiosk_firmware::time::Timestamp;

    fn view_of(step: StepKind) -> SessionView {
        let mut v = Session::new(SessionConfig::default(), Timestamp::ZERO).view();
        v.step = step;
        v
    }

    const STEPS: [StepKind; 17] = [
        StepKind::Attract,
        StepKind::ExpectAccessKey,
        StepKind::Reading,
        StepKind::ExpectConfirmation,
        StepKind::ExpectFaceConsent,
        StepKind::FaceCheck,
        StepKind::StaffAssist,
        StepKind::Menu,
        StepKind::IssuingTicket,
        StepKind::ShowingTicket,
        StepKind::ExpectForm,
        StepKind::ExpectRequestConsent,
        StepKind::SubmittingRequest,
        StepKind::ShowingReceipt,
        StepKind::ExpectRating,
        StepKind::Goodbye,
        StepKind::Notice,
    ];

    #[test]
    fn every_step_has_its_own_screen_with_text_in_both_languages() {
        let mut screens = std::collections::HashSet::new();
        for step in STEPS {
            let vi = guidance(&view_of(step), Language::Vietnamese);
            let en = guidance(&view_of(step), Language::English);
            assert!(screens.insert(vi.screen), "{step:?} shares a screen");
            assert!(!vi.title.is_empty() && !vi.prompt.is_empty());
            assert_ne!(vi.prompt, en.prompt, "{step:?} is not translated");
        }
    }

    #[test]
    fn vietnamese_is_the_default_language() {
        let g = guidance(&view_of(StepKind::Attract), Language::default());
        assert_eq!(g.title, "Xin chào");
    }

    #[test]
    fn every_fault_has_a_distinct_remedy() {
        let faults = [
            Fault::CardRemoved,
            Fault::WrongAccessKey,
            Fault::NotAnIdCard,
            Fault::UnreadableCard,
            Fault::DocumentNotGenuine,
            Fault::DocumentExpired,
            Fault::ReaderUnavailable,
            Fault::CameraUnavailable,
            Fault::PrinterUnavailable,
            Fault::ServiceClosed,
            Fault::ServiceSoldOut,
            Fault::PriorityNotEligible,
            Fault::TimedOut,
            Fault::RequestNotQueued,
            Fault::OutOfService,
            Fault::RequestRefused,
            Fault::Internal,
        ];
        let mut seen = std::collections::HashSet::new();
        for fault in faults {
            let (_, remedy) = fault_text(fault, Language::Vietnamese);
            assert!(seen.insert(remedy), "{fault:?} has another fault's remedy");
        }
    }

    #[test]
    fn a_refused_number_is_explained_on_the_menu_and_an_unprinted_ticket_says_so() {
        let mut v = view_of(StepKind::Menu);
        v.menu_notice = Some(Fault::ServiceSoldOut);
        assert_eq!(
            guidance(&v, Language::Vietnamese).title,
            "Đã hết số hôm nay"
        );
        let mut v = view_of(StepKind::ShowingTicket);
        v.ticket = Some(kiosk_firmware::session::TicketInfo {
            number: "A002".into(),
            service: "A".into(),
            priority: None,
            waiting: 1,
            printed: false,
            print_problem: Some(kiosk_firmware::session::PrintProblem::PaperOut),
        });
        let g = guidance(&v, Language::English);
        assert_eq!(g.screen, Screen::Ticket);
        assert!(g.prompt.contains("remember the number"), "{}", g.prompt);
    }

    #[test]
    fn a_notice_shows_its_fault_and_a_rejected_key_says_so() {
        let mut v = view_of(StepKind::Notice);
        v.fault = Some(Fault::NotAnIdCard);
        assert_eq!(guidance(&v, Language::English).title, "Not an ID card");
        let mut v = view_of(StepKind::ExpectAccessKey);
        v.access_key_rejected = true;
        assert_eq!(guidance(&v, Language::Vietnamese).title, "Chưa mở được thẻ");
    }

    #[test]
    fn every_face_hint_has_its_own_words_in_both_languages() {
        let hints = [
            Hint::LookAtCamera,
            Hint::OnlyOnePerson,
            Hint::MoveCloser,
            Hint::MoveBack,
            Hint::HoldStill,
            Hint::MoreLight,
            Hint::LessLight,
            Hint::LookStraight,
            Hint::StraightenHead,
            Hint::Turn(TurnDirection::Left),
            Hint::Turn(TurnDirection::Right),
            Hint::Good,
        ];
        let mut seen = std::collections::HashSet::new();
        for hint in hints {
            let mut v = view_of(StepKind::FaceCheck);
            v.face_guide = Some(kiosk_firmware::session::FaceGuide {
                hint,
                face_box: None,
                progress_percent: 0,
            });
            let vi = guidance(&v, Language::Vietnamese);
            let en = guidance(&v, Language::English);
            assert!(seen.insert(vi.prompt), "{hint:?} repeats another hint");
            assert_ne!(vi.prompt, en.prompt);
        }
    }
}
