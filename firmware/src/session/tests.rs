//! Every transition of the journey, in virtual time.

use super::*;

fn holder(photo: bool) -> Holder {
    Holder {
        full_name: "Nguyễn Văn Mẫu".into(),
        id_number: "003090000001".into(),
        date_of_birth: "15/01/1990".into(),
        has_face_photo: photo,
        menu_notice: None,
    }
}

fn ticket(number: &str, printed: bool) -> TicketInfo {
    TicketInfo {
        number: number.into(),
        service: "A".into(),
        priority: None,
        waiting: 3,
        printed,
        print_problem: (!printed).then_some(PrintProblem::PaperOut),
        offline: false,
    }
}

fn staff() -> StaffCredential {
    StaffCredential {
        method: crate::staff::LoginMethod::Pin,
        hash: "0123456789abcdef".into(),
    }
}

fn qr() -> AccessKey {
    AccessKey::CardQr("003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021".into())
}

/// A session with a virtual clock and the outputs seen so far.
struct Harness {
    session: Session,
    now: Timestamp,
    config: SessionConfig,
}

impl Harness {
    fn new() -> Self {
        Self::with(SessionConfig::default())
    }

    fn with(config: SessionConfig) -> Self {
        config.validate().unwrap();
        Harness {
            session: Session::new(config, Timestamp::ZERO),
            now: Timestamp::ZERO,
            config,
        }
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        self.session.handle_input(input, self.now);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.session.poll_output()).collect()
    }

    /// Moves the clock forward by `d`, firing every timeout on the way, as
    /// the runtime would.
    fn advance(&mut self, d: Duration) -> Vec<Output> {
        let target = self.now + d;
        let mut out = Vec::new();
        while let Some(at) = self.session.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.session.handle_timeout(self.now);
            out.extend(self.drain());
        }
        self.now = target;
        out
    }

    fn step(&self) -> StepKind {
        self.session.step()
    }

    fn reach_confirmation(&mut self, photo: bool) {
        self.input(Input::CardPresented);
        self.input(Input::AccessKey(qr()));
        self.input(Input::ReadFinished(Ok(holder(photo))));
        assert_eq!(self.step(), StepKind::ExpectConfirmation);
    }

    fn reach_menu_face_matched(&mut self) {
        self.reach_confirmation(true);
        self.input(Input::Confirm(true));
        self.input(Input::Consent(true));
        self.input(Input::FaceFinished(FaceOutcome::Match));
        assert_eq!(self.step(), StepKind::Menu);
    }
}

fn actions(outputs: &[Output]) -> Vec<Action> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Action(a) => Some(a.clone()),
            Output::Event(_) => None,
        })
        .collect()
}

fn events(outputs: &[Output]) -> Vec<Event> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            Output::Action(_) => None,
        })
        .collect()
}

fn ended(outputs: &[Output]) -> Option<EndReason> {
    events(outputs).into_iter().find_map(|e| match e {
        Event::Ended(r) => Some(r),
        _ => None,
    })
}

#[test]
fn attract_waits_forever_without_a_timeout() {
    let mut h = Harness::new();
    assert_eq!(h.session.poll_timeout(), None);
    assert!(h.advance(Duration::from_secs(86_400)).is_empty());
    assert_eq!(h.step(), StepKind::Attract);
}

#[test]
fn a_presented_card_asks_for_the_access_key() {
    let mut h = Harness::new();
    let out = h.input(Input::CardPresented);
    assert_eq!(h.step(), StepKind::ExpectAccessKey);
    assert_eq!(
        events(&out),
        vec![Event::StepChanged {
            from: StepKind::Attract,
            to: StepKind::ExpectAccessKey
        }]
    );
}

#[test]
fn an_access_key_starts_the_read_with_that_key() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    let out = h.input(Input::AccessKey(qr()));
    assert_eq!(h.step(), StepKind::Reading);
    assert_eq!(actions(&out), vec![Action::ReadDocument(qr())]);
}

#[test]
fn the_qr_camera_state_shows_on_the_access_key_screen_only_and_is_no_activity() {
    let mut h = Harness::new();
    h.input(Input::QrCamera(QrCamera::Watching));
    assert_eq!(h.session.view().qr_camera, None, "not asked for at attract");
    h.input(Input::CardPresented);
    let deadline = h.session.view().deadline;
    h.advance(Duration::from_secs(5));
    let out = h.input(Input::QrCamera(QrCamera::Unavailable));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.session.view().qr_camera, Some(QrCamera::Unavailable));
    assert_eq!(h.session.qr_camera(), Some(QrCamera::Unavailable));
    assert_eq!(h.session.view().deadline, deadline, "the timer runs on");
    h.input(Input::AccessKey(qr()));
    assert_eq!(h.session.view().qr_camera, None);
    assert_eq!(h.session.qr_camera(), None);
}

#[test]
fn read_progress_is_reported_in_percent() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    assert_eq!(h.session.view().read_percent, Some(0));
    let out = h.input(Input::ReadProgress {
        done: 5_000,
        total: 20_000,
    });
    assert_eq!(
        events(&out),
        vec![Event::ReadProgress {
            done: 5_000,
            total: 20_000
        }]
    );
    assert_eq!(h.session.view().read_percent, Some(25));
}

#[test]
fn a_verified_read_shows_the_holder_for_confirmation_with_a_masked_id() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    let view = h.session.view();
    assert_eq!(view.holder_name.as_deref(), Some("Nguyễn Văn Mẫu"));
    assert_eq!(view.holder_masked_id.as_deref(), Some("••••••••0001"));
    assert!(h.session.holds_personal_data());
}

#[test]
fn a_wrong_key_asks_again_then_gives_up_after_the_allowed_attempts() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    for left in [2u8, 1] {
        h.input(Input::AccessKey(qr()));
        let out = h.input(Input::ReadFinished(Err(ReadFailure::WrongAccessKey)));
        assert_eq!(h.step(), StepKind::ExpectAccessKey);
        assert!(events(&out).contains(&Event::AccessKeyRejected {
            attempts_left: left
        }));
        assert!(h.session.view().access_key_rejected);
    }
    h.input(Input::AccessKey(qr()));
    let out = h.input(Input::ReadFinished(Err(ReadFailure::WrongAccessKey)));
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::WrongAccessKey));
    assert!(actions(&out).contains(&Action::WipePersonalData));
}

#[test]
fn a_read_fault_shows_its_notice_then_returns_to_attract() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    h.input(Input::ReadFinished(Err(ReadFailure::Fault(
        Fault::DocumentNotGenuine,
    ))));
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::DocumentNotGenuine));
    let out = h.advance(h.config.timeouts.notice);
    assert_eq!(h.step(), StepKind::Attract);
    assert_eq!(
        ended(&out),
        Some(EndReason::Fault(Fault::DocumentNotGenuine))
    );
}

#[test]
fn a_notice_can_be_dismissed_at_once() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    h.input(Input::ReadFinished(Err(ReadFailure::Fault(
        Fault::UnreadableCard,
    ))));
    let out = h.input(Input::Continue);
    assert_eq!(h.step(), StepKind::Attract);
    assert_eq!(ended(&out), Some(EndReason::Fault(Fault::UnreadableCard)));
}

#[test]
fn a_read_that_hangs_is_aborted_by_the_watchdog() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    let out = h.advance(h.config.timeouts.reading);
    assert!(actions(&out).contains(&Action::AbortRead));
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::TimedOut));
}

#[test]
fn the_reading_screen_says_when_the_authority_is_asked_and_cancel_abandons_it() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    assert!(!h.session.view().authority_check);
    let out = h.input(Input::AuthorityCheck);
    assert!(events(&out).contains(&Event::AuthorityCheck));
    let view = h.session.view();
    assert_eq!((view.step, view.authority_check), (StepKind::Reading, true));
    let out = h.input(Input::Cancel);
    assert!(actions(&out).contains(&Action::AbortRead));
    assert!(!h.session.view().authority_check);
    // Outside the reading step it means nothing.
    h.input(Input::AuthorityCheck);
    assert!(!h.session.view().authority_check);
}

#[test]
fn an_online_request_refused_as_unverified_offline_returns_to_the_menu_with_the_reason() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "1.004222".into(),
    }));
    assert_eq!(h.step(), StepKind::ExpectForm);
    h.input(Input::RequestFinished(Err(Fault::UnverifiedOffline)));
    let view = h.session.view();
    assert_eq!(view.step, StepKind::Menu);
    assert_eq!(view.menu_notice, Some(Fault::UnverifiedOffline));
}

#[test]
fn progress_does_not_extend_the_read_watchdog() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    h.advance(h.config.timeouts.reading - Duration::from_secs(1));
    h.input(Input::ReadProgress { done: 1, total: 2 });
    h.advance(Duration::from_secs(1));
    assert_eq!(h.step(), StepKind::Notice);
}

#[test]
fn rejecting_the_data_shown_ends_the_journey_with_a_wipe() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    let out = h.input(Input::Confirm(false));
    assert_eq!(h.step(), StepKind::Attract);
    assert!(actions(&out).contains(&Action::WipePersonalData));
    assert_eq!(ended(&out), Some(EndReason::Cancelled));
    assert!(!h.session.holds_personal_data());
}

#[test]
fn confirmed_data_asks_consent_before_any_face_check() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    let out = h.input(Input::Confirm(true));
    assert_eq!(h.step(), StepKind::ExpectFaceConsent);
    assert!(actions(&out).is_empty(), "no camera before consent");
    let out = h.input(Input::Consent(true));
    assert_eq!(h.step(), StepKind::FaceCheck);
    assert_eq!(actions(&out), vec![Action::StartFaceCheck { attempt: 1 }]);
}

#[test]
fn a_card_without_photo_takes_the_guardian_path_through_authenticated_staff() {
    let mut h = Harness::new();
    h.reach_confirmation(false);
    let out = h.input(Input::Confirm(true));
    assert_eq!(
        h.step(),
        StepKind::StaffAssist,
        "no face check, no menu yet"
    );
    assert_eq!(
        actions(&out),
        vec![Action::CallStaff(StaffReason::GuardianPresent)]
    );
    assert_eq!(h.session.view().verification, None);
    // The citizen (or the guardian) cannot approve the child themselves.
    let out = h.input(Input::StaffDecision(true));
    assert_eq!(
        events(&out),
        vec![Event::StaffRefused(StaffRefusal::NotAuthenticated)]
    );
    assert_eq!(h.step(), StepKind::StaffAssist);
    h.input(Input::StaffAuthenticated(staff()));
    let out = h.input(Input::StaffDecision(true));
    assert!(
        events(&out).contains(&Event::StaffDecided {
            approved: true,
            reason: StaffReason::GuardianPresent,
            credential: staff(),
        }),
        "{out:?}"
    );
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(h.session.view().verification, Some(Verification::Guardian));
}

#[test]
fn a_face_match_opens_the_menu_as_face_matched() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    assert_eq!(
        h.session.view().verification,
        Some(Verification::FaceMatched)
    );
}

#[test]
fn failed_face_attempts_retry_then_call_staff() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.input(Input::FaceFinished(FaceOutcome::NoMatch));
    assert_eq!(actions(&out), vec![Action::StartFaceCheck { attempt: 2 }]);
    assert!(events(&out).contains(&Event::FaceRetry {
        outcome: FaceOutcome::NoMatch,
        attempts_left: 2
    }));
    let out = h.input(Input::FaceFinished(FaceOutcome::LivenessFailed));
    assert_eq!(actions(&out), vec![Action::StartFaceCheck { attempt: 3 }]);
    assert_eq!(h.session.view().face_attempt, Some(3));
    let out = h.input(Input::FaceFinished(FaceOutcome::NoMatch));
    assert_eq!(h.step(), StepKind::StaffAssist);
    assert_eq!(
        actions(&out),
        vec![Action::CallStaff(StaffReason::FaceNotMatched)]
    );
}

#[test]
fn a_face_attempt_that_sees_no_face_in_time_counts_as_failed() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.advance(h.config.timeouts.face_check);
    assert_eq!(
        actions(&out),
        vec![Action::StopFaceCheck, Action::StartFaceCheck { attempt: 2 }]
    );
}

#[test]
fn a_camera_fault_calls_staff_at_once() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.input(Input::FaceFinished(FaceOutcome::CameraFault));
    assert_eq!(h.step(), StepKind::StaffAssist);
    assert_eq!(
        actions(&out),
        vec![Action::CallStaff(StaffReason::CameraFault)]
    );
}

#[test]
fn an_unusable_chip_photo_or_no_face_engine_calls_staff_at_once() {
    for (outcome, reason) in [
        (FaceOutcome::PhotoUnusable, StaffReason::ChipPhotoUnusable),
        (FaceOutcome::Unavailable, StaffReason::FaceCheckUnavailable),
    ] {
        let mut h = Harness::new();
        h.reach_confirmation(true);
        h.input(Input::Confirm(true));
        h.input(Input::Consent(true));
        let out = h.input(Input::FaceFinished(outcome));
        assert_eq!(h.step(), StepKind::StaffAssist);
        assert_eq!(actions(&out), vec![Action::CallStaff(reason)]);
        assert_eq!(h.session.view().staff_reason, Some(reason));
    }
}

#[test]
fn face_guidance_shows_while_checking_and_is_gone_after() {
    use crate::face::check::{Guidance, Hint};
    use crate::face::liveness::TurnDirection;
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    assert_eq!(h.session.view().face_guide, None);
    let guide = FaceGuide::from(Guidance {
        hint: Hint::Turn(TurnDirection::Left),
        face_box: Some(crate::face::Rect {
            x: 0.25,
            y: 0.1,
            width: 0.5,
            height: 0.6,
        }),
        progress: 0.4,
    });
    assert_eq!(guide.face_box, Some([250, 100, 500, 600]));
    assert_eq!(guide.progress_percent, 40);
    let deadline = h.session.view().deadline;
    h.input(Input::FaceGuidance(guide));
    assert_eq!(h.session.view().face_guide, Some(guide));
    assert_eq!(
        h.session.view().deadline,
        deadline,
        "guidance is no activity"
    );
    h.input(Input::FaceFinished(FaceOutcome::Match));
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(h.session.view().face_guide, None);
    // Guidance arriving late, outside the face check, is ignored.
    h.input(Input::FaceGuidance(guide));
    assert_eq!(h.session.view().face_guide, None);
}

#[test]
fn declining_the_face_check_calls_staff_who_may_confirm() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    let out = h.input(Input::Consent(false));
    assert_eq!(
        actions(&out),
        vec![Action::CallStaff(StaffReason::FaceCheckDeclined)]
    );
    assert_eq!(
        h.session.view().staff_reason,
        Some(StaffReason::FaceCheckDeclined)
    );
    assert!(!h.session.view().staff_authorized);
    h.input(Input::StaffAuthenticated(staff()));
    assert!(h.session.view().staff_authorized);
    let out = h.input(Input::StaffDecision(true));
    assert!(
        events(&out).contains(&Event::StaffDecided {
            approved: true,
            reason: StaffReason::FaceCheckDeclined,
            credential: staff(),
        }),
        "{out:?}"
    );
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(
        h.session.view().verification,
        Some(Verification::StaffConfirmed)
    );
}

#[test]
fn a_staff_decision_without_staff_authentication_is_refused_with_its_reason() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    for approve in [true, false] {
        let out = h.input(Input::StaffDecision(approve));
        assert_eq!(
            events(&out),
            vec![Event::StaffRefused(StaffRefusal::NotAuthenticated)]
        );
        assert!(actions(&out).is_empty(), "{out:?}");
        assert_eq!(h.step(), StepKind::StaffAssist);
        assert_eq!(h.session.view().verification, None);
        assert_eq!(
            h.session.view().staff_refusal,
            Some(StaffRefusal::NotAuthenticated)
        );
    }
}

#[test]
fn staff_authority_ends_with_the_staff_assist_step() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    h.input(Input::StaffAuthenticated(staff()));
    // Staff authenticated but did not decide: the step times out.
    let out = h.advance(h.config.timeouts.staff_assist);
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
    // The next journey's staff call starts without authority.
    h.input(Input::CardRemoved);
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    assert!(!h.session.view().staff_authorized);
    let out = h.input(Input::StaffDecision(true));
    assert_eq!(
        events(&out),
        vec![Event::StaffRefused(StaffRefusal::NotAuthenticated)]
    );
    assert_eq!(h.step(), StepKind::StaffAssist);
}

#[test]
fn staff_authentication_outside_staff_assist_grants_nothing() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::StaffAuthenticated(staff()));
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    assert!(!h.session.view().staff_authorized);
    let out = h.input(Input::StaffDecision(true));
    assert_eq!(
        events(&out),
        vec![Event::StaffRefused(StaffRefusal::NotAuthenticated)]
    );
}

#[test]
fn staff_refusal_ends_the_journey() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    h.input(Input::StaffAuthenticated(staff()));
    let out = h.input(Input::StaffDecision(false));
    assert_eq!(h.step(), StepKind::Attract);
    assert_eq!(ended(&out), Some(EndReason::Cancelled));
}

#[test]
fn staff_who_never_come_end_the_journey_after_the_limit() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    let out = h.advance(h.config.timeouts.staff_assist);
    assert_eq!(h.step(), StepKind::Attract);
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
}

#[test]
fn a_walk_in_takes_a_number_anonymously() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    assert_eq!(h.step(), StepKind::Menu);
    let out = h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "HT".into(),
        priority: Some(Priority::Pregnant),
    }));
    assert_eq!(
        actions(&out),
        vec![Action::IssueTicket {
            service: "HT".into(),
            priority: Some(Priority::Pregnant),
            verification: Verification::Anonymous,
            share_identity: false,
        }]
    );
    assert_eq!(h.step(), StepKind::IssuingTicket);
}

#[test]
fn a_walk_in_cannot_file_a_request() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let out = h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "1.001".into(),
    }));
    assert!(actions(&out).is_empty());
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn a_printed_ticket_is_shown_then_rated_then_goodbye_then_attract() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    let out = h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    assert_eq!(
        actions(&out),
        vec![Action::IssueTicket {
            service: "CT".into(),
            priority: None,
            verification: Verification::FaceMatched,
            share_identity: false,
        }]
    );
    let ticket = ticket("A012", true);
    h.input(Input::TicketFinished(Ok(ticket.clone())));
    assert_eq!(h.step(), StepKind::ShowingTicket);
    assert_eq!(h.session.view().ticket, Some(ticket));
    h.input(Input::Continue);
    assert_eq!(h.step(), StepKind::ExpectRating);
    let out = h.input(Input::Rated(Some(5)));
    assert_eq!(
        actions(&out),
        vec![Action::RecordRating {
            subject: RatingSubject::Ticket("A012".into()),
            score: 5
        }]
    );
    assert_eq!(h.step(), StepKind::Goodbye);
    let out = h.advance(h.config.timeouts.goodbye);
    assert_eq!(h.step(), StepKind::Attract);
    assert!(actions(&out).contains(&Action::WipePersonalData));
    assert_eq!(ended(&out), Some(EndReason::Completed));
    assert!(!h.session.holds_personal_data());
}

#[test]
fn an_unprinted_ticket_still_shows_its_number() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    let ticket = ticket("A013", false);
    h.input(Input::TicketFinished(Ok(ticket.clone())));
    assert_eq!(h.session.view().ticket, Some(ticket));
}

#[test]
fn a_ticket_that_cannot_be_drawn_shows_a_notice() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    h.input(Input::TicketFinished(Err(Fault::PrinterUnavailable)));
    assert_eq!(h.session.view().fault, Some(Fault::PrinterUnavailable));
}

#[test]
fn a_closed_service_returns_to_the_menu_saying_so_and_keeps_the_holder() {
    for fault in [
        Fault::ServiceClosed,
        Fault::ServiceSoldOut,
        Fault::PriorityNotEligible,
    ] {
        let mut h = Harness::new();
        h.reach_menu_face_matched();
        h.input(Input::Choose(MenuChoice::TakeNumber {
            service: "A".into(),
            priority: Some(Priority::Elderly),
        }));
        let out = h.input(Input::TicketFinished(Err(fault)));
        assert_eq!(h.step(), StepKind::Menu, "{fault:?}");
        assert!(
            !actions(&out).contains(&Action::WipePersonalData),
            "the citizen stays identified to choose again"
        );
        let view = h.session.view();
        assert_eq!(view.menu_notice, Some(fault));
        assert_eq!(view.fault, None);
        assert!(h.session.holds_personal_data());
        // Choosing again clears the notice.
        h.input(Input::Choose(MenuChoice::TakeNumber {
            service: "B".into(),
            priority: None,
        }));
        assert_eq!(h.step(), StepKind::IssuingTicket);
        assert_eq!(h.session.view().menu_notice, None);
    }
}

#[test]
fn an_expired_card_sees_its_notice_on_the_menu_and_refused_choices_come_back_with_it() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    let mut expired = holder(true);
    expired.menu_notice = Some(Fault::DocumentExpired);
    h.input(Input::ReadFinished(Ok(expired)));
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    h.input(Input::FaceFinished(FaceOutcome::Match));
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(h.session.view().menu_notice, Some(Fault::DocumentExpired));
    // A ticket the policy refuses comes back to the menu with the reason.
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "A".into(),
        priority: None,
    }));
    h.input(Input::TicketFinished(Err(Fault::DocumentExpired)));
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(h.session.view().menu_notice, Some(Fault::DocumentExpired));
    assert!(h.session.holds_personal_data());
    // So does a request.
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "1.000001".into(),
    }));
    h.input(Input::RequestFinished(Err(Fault::DocumentExpired)));
    assert_eq!(h.step(), StepKind::Menu);
    assert_eq!(h.session.view().menu_notice, Some(Fault::DocumentExpired));
}

#[test]
fn a_menu_notice_times_out_like_the_menu() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "A".into(),
        priority: None,
    }));
    h.input(Input::TicketFinished(Err(Fault::ServiceSoldOut)));
    let out = h.advance(h.config.timeouts.menu);
    assert_eq!(h.step(), StepKind::Attract);
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
    assert_eq!(h.session.view().menu_notice, None);
}

#[test]
fn an_unprinted_ticket_says_why_and_moves_on_like_a_printed_one() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "A".into(),
        priority: None,
    }));
    let out = h.input(Input::TicketFinished(Ok(ticket("A014", false))));
    assert!(
        !actions(&out).contains(&Action::WipePersonalData),
        "not a fault notice"
    );
    let view = h.session.view();
    assert_eq!(view.step, StepKind::ShowingTicket);
    let shown = view.ticket.unwrap();
    assert!(!shown.printed);
    assert_eq!(shown.print_problem, Some(PrintProblem::PaperOut));
    h.advance(h.config.timeouts.show_ticket);
    assert_eq!(h.step(), StepKind::ExpectRating);
}

#[test]
fn a_ticket_that_hangs_times_out() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    h.advance(h.config.timeouts.ticket);
    assert_eq!(h.session.view().fault, Some(Fault::TimedOut));
}

#[test]
fn the_ticket_screen_moves_on_to_rating_by_itself() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    h.input(Input::TicketFinished(Ok(ticket("A1", true))));
    h.advance(h.config.timeouts.show_ticket);
    assert_eq!(h.step(), StepKind::ExpectRating);
}

#[test]
fn a_request_goes_through_form_consent_and_submission_to_its_receipt() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    let out = h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "1.004194".into(),
    }));
    assert_eq!(
        actions(&out),
        vec![Action::PrepareForm {
            procedure: "1.004194".into()
        }]
    );
    assert_eq!(h.step(), StepKind::ExpectForm);
    h.input(Input::FormConfirmed);
    assert_eq!(h.step(), StepKind::ExpectRequestConsent);
    let out = h.input(Input::Consent(true));
    assert_eq!(
        actions(&out),
        vec![Action::SubmitRequest {
            procedure: "1.004194".into(),
            verification: Verification::FaceMatched
        }]
    );
    assert_eq!(h.step(), StepKind::SubmittingRequest);
    let receipt = RequestReceipt {
        code: "000.00.01.H01-261125-0001".into(),
        delivered: false,
    };
    h.input(Input::RequestFinished(Ok(receipt.clone())));
    assert_eq!(h.session.view().receipt, Some(receipt));
    h.input(Input::Continue);
    assert_eq!(h.step(), StepKind::ExpectRating);
    let out = h.input(Input::Rated(Some(4)));
    assert_eq!(
        actions(&out),
        vec![Action::RecordRating {
            subject: RatingSubject::Request("000.00.01.H01-261125-0001".into()),
            score: 4
        }]
    );
}

#[test]
fn declining_request_consent_sends_nothing_and_returns_to_the_menu() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "P".into(),
    }));
    h.input(Input::FormConfirmed);
    let out = h.input(Input::Consent(false));
    assert!(actions(&out).is_empty());
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn back_steps_from_consent_to_form_to_menu() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "P".into(),
    }));
    h.input(Input::FormConfirmed);
    h.input(Input::Back);
    assert_eq!(h.step(), StepKind::ExpectForm);
    h.input(Input::Back);
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn a_request_that_cannot_be_queued_shows_a_notice() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "P".into(),
    }));
    h.input(Input::FormConfirmed);
    h.input(Input::Consent(true));
    h.input(Input::RequestFinished(Err(Fault::RequestNotQueued)));
    assert_eq!(h.session.view().fault, Some(Fault::RequestNotQueued));
    assert!(!h.session.holds_personal_data());
}

#[test]
fn a_form_that_cannot_be_prepared_shows_a_notice_instead_of_an_empty_form() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "NO-SUCH".into(),
    }));
    assert_eq!(h.step(), StepKind::ExpectForm);
    h.input(Input::RequestFinished(Err(Fault::RequestNotQueued)));
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::RequestNotQueued));
}

#[test]
fn a_submission_that_hangs_times_out() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "P".into(),
    }));
    h.input(Input::FormConfirmed);
    h.input(Input::Consent(true));
    h.advance(h.config.timeouts.submit);
    assert_eq!(h.session.view().fault, Some(Fault::TimedOut));
}

#[test]
fn the_receipt_screen_moves_on_to_rating_by_itself() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::SubmitRequest {
        procedure: "P".into(),
    }));
    h.input(Input::FormConfirmed);
    h.input(Input::Consent(true));
    h.input(Input::RequestFinished(Ok(RequestReceipt {
        code: "R".into(),
        delivered: true,
    })));
    h.advance(h.config.timeouts.show_receipt);
    assert_eq!(h.step(), StepKind::ExpectRating);
}

#[test]
fn finishing_from_the_menu_rates_the_visit_and_skipping_records_nothing() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::Finish));
    assert_eq!(h.step(), StepKind::ExpectRating);
    let out = h.input(Input::Rated(None));
    assert!(actions(&out).is_empty());
    assert_eq!(h.step(), StepKind::Goodbye);
    let out = h.input(Input::Continue);
    assert_eq!(ended(&out), Some(EndReason::Completed));
}

#[test]
fn an_out_of_range_rating_is_not_recorded() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(Input::Choose(MenuChoice::Finish));
    let out = h.input(Input::Rated(Some(9)));
    assert!(actions(&out).is_empty());
    assert_eq!(h.step(), StepKind::Goodbye);
}

#[test]
fn status_lookup_keeps_the_menu_until_its_flow_exists() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let out = h.input(Input::Choose(MenuChoice::CheckStatus));
    assert!(out.is_empty());
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn inactivity_warns_then_ends_the_journey_with_a_wipe() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    let t = h.config.timeouts;
    let entered = h.now;
    let out = h.advance(t.confirm - t.warning);
    assert_eq!(
        events(&out),
        vec![Event::TimeoutWarning {
            deadline: entered + t.confirm
        }]
    );
    assert!(h.session.view().warning);
    assert!(h.session.holds_personal_data());
    let out = h.advance(t.warning);
    assert_eq!(h.step(), StepKind::Attract);
    assert!(actions(&out).contains(&Action::WipePersonalData));
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
    assert!(!h.session.holds_personal_data());
    let view = h.session.view();
    assert_eq!(view.holder_name, None);
    assert_eq!(view.holder_masked_id, None);
}

#[test]
fn every_interactive_step_times_out_to_attract() {
    let t = Timeouts::default();
    type Setup = fn(&mut Harness);
    let cases: [(Setup, Duration); 7] = [
        (
            |h| {
                h.input(Input::CardPresented);
            },
            t.access_key,
        ),
        (|h| h.reach_confirmation(true), t.confirm),
        (
            |h| {
                h.reach_confirmation(true);
                h.input(Input::Confirm(true));
            },
            t.face_consent,
        ),
        (
            |h| {
                h.input(Input::WalkIn);
            },
            t.menu,
        ),
        (
            |h| {
                h.reach_menu_face_matched();
                h.input(Input::Choose(MenuChoice::SubmitRequest {
                    procedure: "P".into(),
                }));
            },
            t.form,
        ),
        (
            |h| {
                h.reach_menu_face_matched();
                h.input(Input::Choose(MenuChoice::SubmitRequest {
                    procedure: "P".into(),
                }));
                h.input(Input::FormConfirmed);
            },
            t.request_consent,
        ),
        (
            |h| {
                h.input(Input::WalkIn);
                h.input(Input::Choose(MenuChoice::Finish));
            },
            t.rating,
        ),
    ];
    for (setup, limit) in cases {
        let mut h = Harness::new();
        setup(&mut h);
        let step = h.step();
        assert!(step.is_interactive(), "{step:?}");
        h.advance(limit - Duration::from_millis(1));
        assert_eq!(h.step(), step, "{step:?} ended early");
        let out = h.advance(Duration::from_millis(1));
        assert_eq!(ended(&out), Some(EndReason::TimedOut), "{step:?}");
        assert_eq!(h.step(), StepKind::Attract);
    }
}

#[test]
fn a_touch_restarts_the_inactivity_period() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let t = h.config.timeouts;
    h.advance(t.menu - t.warning - Duration::from_secs(1));
    h.input(Input::Activity);
    h.advance(t.menu - t.warning - Duration::from_secs(1));
    assert!(!h.session.view().warning);
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn extending_after_the_warning_gives_a_full_period_again() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let t = h.config.timeouts;
    h.advance(t.menu - t.warning);
    assert!(h.session.view().warning);
    h.input(Input::Extend);
    assert!(!h.session.view().warning);
    assert_eq!(h.session.view().deadline, Some(h.now + t.menu));
    h.advance(t.menu - Duration::from_millis(1));
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn extensions_are_limited_then_the_timeout_wins() {
    let config = SessionConfig {
        max_extensions: 2,
        ..SessionConfig::default()
    };
    let mut h = Harness::with(config);
    h.input(Input::WalkIn);
    let t = config.timeouts;
    for _ in 0..2 {
        h.advance(t.menu - t.warning);
        h.input(Input::Extend);
        assert!(!h.session.view().warning);
    }
    h.advance(t.menu - t.warning);
    h.input(Input::Extend);
    assert!(h.session.view().warning, "third extension refused");
    let out = h.advance(t.warning);
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
}

#[test]
fn a_touch_on_the_warning_counts_as_an_extension() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let t = h.config.timeouts;
    h.advance(t.menu - t.warning);
    h.input(Input::Activity);
    assert!(!h.session.view().warning);
}

#[test]
fn card_removed_mid_read_aborts_the_read_and_wipes() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    let out = h.input(Input::CardRemoved);
    assert_eq!(
        actions(&out),
        vec![Action::AbortRead, Action::WipePersonalData]
    );
    assert_eq!(h.session.view().fault, Some(Fault::CardRemoved));
    let out = h.advance(h.config.timeouts.notice);
    assert_eq!(ended(&out), Some(EndReason::Fault(Fault::CardRemoved)));
}

#[test]
fn card_removed_in_any_identified_step_ends_the_journey() {
    let setups: [fn(&mut Harness); 7] = [
        |h| {
            h.input(Input::CardPresented);
        },
        |h| h.reach_confirmation(true),
        |h| {
            h.reach_confirmation(true);
            h.input(Input::Confirm(true));
        },
        |h| {
            h.reach_confirmation(true);
            h.input(Input::Confirm(true));
            h.input(Input::Consent(false));
        },
        |h| h.reach_menu_face_matched(),
        |h| {
            h.reach_menu_face_matched();
            h.input(Input::Choose(MenuChoice::SubmitRequest {
                procedure: "P".into(),
            }));
        },
        |h| {
            h.reach_menu_face_matched();
            h.input(Input::Choose(MenuChoice::SubmitRequest {
                procedure: "P".into(),
            }));
            h.input(Input::FormConfirmed);
        },
    ];
    for setup in setups {
        let mut h = Harness::new();
        setup(&mut h);
        let step = h.step();
        let out = h.input(Input::CardRemoved);
        assert!(
            actions(&out).contains(&Action::WipePersonalData),
            "{step:?}"
        );
        assert_eq!(h.session.view().fault, Some(Fault::CardRemoved), "{step:?}");
        assert!(!h.session.holds_personal_data(), "{step:?}");
    }
}

#[test]
fn card_removed_during_face_check_stops_the_camera() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.input(Input::CardRemoved);
    assert_eq!(
        actions(&out),
        vec![Action::StopFaceCheck, Action::WipePersonalData]
    );
}

#[test]
fn card_removed_while_the_ticket_prints_wipes_but_still_shows_the_number() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    h.input(Input::Choose(MenuChoice::TakeNumber {
        service: "CT".into(),
        priority: None,
    }));
    let out = h.input(Input::CardRemoved);
    assert_eq!(actions(&out), vec![Action::WipePersonalData]);
    assert_eq!(h.step(), StepKind::IssuingTicket);
    assert!(!h.session.holds_personal_data());
    h.input(Input::TicketFinished(Ok(ticket("A2", true))));
    assert_eq!(h.step(), StepKind::ShowingTicket);
}

#[test]
fn card_removed_during_a_walk_in_is_irrelevant() {
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    let out = h.input(Input::CardRemoved);
    assert!(out.is_empty());
    assert_eq!(h.step(), StepKind::Menu);
}

#[test]
fn cancel_ends_any_step_and_aborts_work_under_way() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    let out = h.input(Input::Cancel);
    assert_eq!(
        actions(&out),
        vec![Action::AbortRead, Action::WipePersonalData]
    );
    assert_eq!(ended(&out), Some(EndReason::Cancelled));

    let mut h = Harness::new();
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.input(Input::Cancel);
    assert_eq!(
        actions(&out),
        vec![Action::StopFaceCheck, Action::WipePersonalData]
    );

    let mut h = Harness::new();
    assert!(
        h.input(Input::Cancel).is_empty(),
        "nothing to cancel at attract"
    );
}

#[test]
fn inputs_out_of_place_are_ignored() {
    let mut h = Harness::new();
    for input in [
        Input::ReadFinished(Ok(holder(true))),
        Input::Confirm(true),
        Input::FaceFinished(FaceOutcome::Match),
        Input::TicketFinished(Ok(ticket("X", true))),
        Input::Rated(Some(5)),
        Input::AccessKey(qr()),
        Input::CardRemoved,
    ] {
        assert!(h.input(input.clone()).is_empty(), "{input:?}");
        assert_eq!(h.step(), StepKind::Attract);
    }
    assert!(
        !h.session.holds_personal_data(),
        "a stray read result is not kept"
    );
}

#[test]
fn a_new_card_starts_with_fresh_key_attempts() {
    let mut h = Harness::new();
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    h.input(Input::ReadFinished(Err(ReadFailure::WrongAccessKey)));
    h.input(Input::CardRemoved);
    h.input(Input::Continue);
    h.input(Input::CardPresented);
    h.input(Input::AccessKey(qr()));
    let out = h.input(Input::ReadFinished(Err(ReadFailure::WrongAccessKey)));
    assert!(events(&out).contains(&Event::AccessKeyRejected { attempts_left: 2 }));
}

#[test]
fn personal_data_never_appears_in_debug_output() {
    let h = holder(true);
    let key = AccessKey::IdAndBirthDate {
        id_number: "003090000001".into(),
        date_of_birth: "900115".into(),
    };
    let text = format!("{h:?} {key:?} {:?}", qr());
    for secret in ["003090000001", "Nguyễn", "900115", "15/01/1990"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
}

#[test]
fn a_config_with_a_warning_longer_than_a_screen_is_rejected() {
    let mut config = SessionConfig::default();
    config.timeouts.rating = Duration::from_secs(10);
    assert_eq!(
        config.validate(),
        Err(ConfigError::WarningTooLong {
            name: "rating",
            limit: 10,
            warning: 30
        })
    );
    let mut config = SessionConfig::default();
    config.timeouts.goodbye = Duration::ZERO;
    assert_eq!(config.validate(), Err(ConfigError::ZeroTimeout("goodbye")));
    let config = SessionConfig {
        face_attempts: 0,
        ..SessionConfig::default()
    };
    assert_eq!(
        config.validate(),
        Err(ConfigError::ZeroAttempts("face_attempts"))
    );
}

#[test]
fn the_tamper_switch_ends_any_journey_at_once_and_wipes_it() {
    let mut h = Harness::new();
    h.reach_confirmation(true);
    assert!(h.session.holds_personal_data());
    h.input(Input::Confirm(true));
    h.input(Input::Consent(true));
    let out = h.input(Input::Tampered);
    assert!(actions(&out).contains(&Action::StopFaceCheck), "{out:?}");
    assert!(actions(&out).contains(&Action::WipePersonalData), "{out:?}");
    assert_eq!(
        ended(&out),
        Some(EndReason::Fault(Fault::OutOfService)),
        "the journey is counted as ended by the fault"
    );
    assert_eq!(h.step(), StepKind::OutOfService);
    assert!(h.session.view().cabinet_open);
    assert!(!h.session.holds_personal_data());
    assert_eq!(h.session.view().holder_name, None);
}

#[test]
fn out_of_service_survives_timeouts_cancel_cards_and_walk_ins() {
    let mut h = Harness::new();
    h.input(Input::Tampered);
    assert_eq!(h.step(), StepKind::OutOfService);
    assert_eq!(h.session.poll_timeout(), None, "no timeout ends it");
    assert!(h.advance(Duration::from_secs(86_400)).is_empty());
    for input in [
        Input::Cancel,
        Input::CardPresented,
        Input::CardRemoved,
        Input::WalkIn,
        Input::Continue,
        Input::StaffDecision(true),
        Input::CabinetClosed,
        Input::Cancel,
    ] {
        h.input(input);
        assert_eq!(h.step(), StepKind::OutOfService);
    }
    assert_eq!(h.session.view().verification, None);
}

#[test]
fn out_of_service_resumes_only_with_staff_and_the_cabinet_closed() {
    let mut h = Harness::new();
    h.input(Input::Tampered);
    // Staff authenticated, cabinet still open: refused, with its reason.
    let out = h.input(Input::StaffAuthenticated(staff()));
    assert_eq!(
        events(&out),
        vec![Event::StaffRefused(StaffRefusal::CabinetOpen)]
    );
    assert_eq!(h.step(), StepKind::OutOfService);
    assert_eq!(
        h.session.view().staff_refusal,
        Some(StaffRefusal::CabinetOpen)
    );
    // Closing the cabinet alone resumes nothing.
    h.input(Input::CabinetClosed);
    assert_eq!(h.step(), StepKind::OutOfService);
    assert!(!h.session.view().cabinet_open);
    // Opened again: still out of service, the journey is not restarted.
    h.input(Input::Tampered);
    h.input(Input::CabinetClosed);
    let out = h.input(Input::StaffAuthenticated(staff()));
    assert!(
        events(&out).contains(&Event::ServiceResumed {
            credential: staff()
        }),
        "{out:?}"
    );
    assert_eq!(h.step(), StepKind::Attract);
    h.input(Input::CardPresented);
    assert_eq!(h.step(), StepKind::ExpectAccessKey, "serving again");
}

#[test]
fn someone_arriving_at_the_idle_kiosk_is_greeted_and_no_journey_starts() {
    let mut h = Harness::new();
    let out = h.input(Input::PresenceDetected);
    assert!(out.contains(&Output::Event(Event::Approached)), "{out:?}");
    assert_eq!(h.step(), StepKind::Attract);
    h.input(Input::WalkIn);
    let out = h.input(Input::PresenceDetected);
    assert!(!out.contains(&Output::Event(Event::Approached)));
}

fn take(service: &str) -> Input {
    Input::Choose(MenuChoice::TakeNumber {
        service: service.into(),
        priority: None,
    })
}

fn issue(service: &str, verification: Verification, share_identity: bool) -> Action {
    Action::IssueTicket {
        service: service.into(),
        priority: None,
        verification,
        share_identity,
    }
}

#[test]
fn in_centre_mode_an_identified_holder_is_asked_before_the_number_and_yes_shares() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.reach_menu_face_matched();
    let out = h.input(take("CT"));
    assert!(
        actions(&out).is_empty(),
        "nothing is drawn before the answer"
    );
    assert_eq!(h.step(), StepKind::ExpectIdentityConsent);
    let view = h.session.view();
    assert_eq!(view.consent_service.as_deref(), Some("CT"));
    assert!(
        view.holder_name.is_some(),
        "the screen names what is shared"
    );
    let out = h.input(Input::Consent(true));
    assert_eq!(
        actions(&out),
        vec![issue("CT", Verification::FaceMatched, true)]
    );
    assert_eq!(h.step(), StepKind::IssuingTicket);
}

#[test]
fn declining_to_share_still_draws_the_number() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.reach_menu_face_matched();
    h.input(take("CT"));
    let out = h.input(Input::Consent(false));
    assert_eq!(
        actions(&out),
        vec![issue("CT", Verification::FaceMatched, false)]
    );
    assert_eq!(h.step(), StepKind::IssuingTicket);
}

#[test]
fn a_guardian_or_staff_confirmed_holder_is_asked_too() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.reach_confirmation(true);
    h.input(Input::Confirm(true));
    h.input(Input::Consent(false));
    assert_eq!(h.step(), StepKind::StaffAssist);
    h.input(Input::StaffAuthenticated(staff()));
    h.input(Input::StaffDecision(true));
    assert_eq!(h.step(), StepKind::Menu);
    h.input(take("A"));
    assert_eq!(h.step(), StepKind::ExpectIdentityConsent);
    let out = h.input(Input::Consent(true));
    assert_eq!(
        actions(&out),
        vec![issue("A", Verification::StaffConfirmed, true)]
    );
}

#[test]
fn an_anonymous_walk_in_is_never_asked_to_share() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.input(Input::WalkIn);
    let out = h.input(take("A"));
    assert_eq!(
        actions(&out),
        vec![issue("A", Verification::Anonymous, false)]
    );
    assert_eq!(h.step(), StepKind::IssuingTicket);
}

#[test]
fn without_a_centre_the_identified_holder_is_not_asked() {
    let mut h = Harness::new();
    h.reach_menu_face_matched();
    let out = h.input(take("A"));
    assert_eq!(
        actions(&out),
        vec![issue("A", Verification::FaceMatched, false)]
    );
}

#[test]
fn the_consent_screen_times_out_like_any_interactive_screen_and_wipes() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.reach_menu_face_matched();
    h.input(take("A"));
    let warn_at = h.config.timeouts.identity_consent - h.config.timeouts.warning;
    let out = h.advance(warn_at);
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::TimeoutWarning { .. }))
    );
    assert_eq!(h.step(), StepKind::ExpectIdentityConsent);
    let out = h.advance(h.config.timeouts.warning);
    assert_eq!(ended(&out), Some(EndReason::TimedOut));
    assert!(actions(&out).contains(&Action::WipePersonalData));
    assert!(
        !actions(&out)
            .iter()
            .any(|a| matches!(a, Action::IssueTicket { .. })),
        "no answer, no number and nothing shared"
    );
    assert!(!h.session.holds_personal_data());
}

#[test]
fn back_on_the_consent_screen_returns_to_the_menu_and_card_removal_ends_it() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.reach_menu_face_matched();
    h.input(take("A"));
    h.input(Input::Back);
    assert_eq!(h.step(), StepKind::Menu);
    h.input(take("A"));
    h.input(Input::CardRemoved);
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::CardRemoved));
    assert!(!h.session.holds_personal_data());
}

#[test]
fn an_unreachable_centre_without_a_block_is_a_notice_and_an_offline_ticket_is_shown() {
    let mut h = Harness::new();
    h.session.set_centre_mode(true);
    h.input(Input::WalkIn);
    h.input(take("A"));
    h.input(Input::TicketFinished(Err(Fault::CentreUnreachable)));
    assert_eq!(h.step(), StepKind::Notice);
    assert_eq!(h.session.view().fault, Some(Fault::CentreUnreachable));
    let mut h = Harness::new();
    h.input(Input::WalkIn);
    h.input(take("A"));
    let offline = TicketInfo {
        offline: true,
        ..ticket("A800", true)
    };
    h.input(Input::TicketFinished(Ok(offline.clone())));
    assert_eq!(h.session.view().ticket, Some(offline));
}
