//! A console frontend: the journey as text lines, commands as touches.
//!
//! For developers and testers at a terminal until (and beside) the Slint UI.
//! Commands are read on a separate thread and handed over through a channel,
//! so the runtime's wait for input is also its wait for the next deadline.
//!
//! On the staff-assist screen `yes` is the staff's approval, which the
//! session refuses until staff have entered the staff PIN on this step
//! (`pin DIGITS`: the kiosk's staff keypad, key by key; issue 13).

use crate::runtime::{Frontend, FrontendInput};
use kiosk_firmware::session::{
    AccessKey, Event, Input, MenuChoice, Priority, SessionView, StepKind,
};
use kiosk_firmware::staff::{PinNotice, StaffInput, StaffScreen, StaffView};
use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

/// The console frontend.
pub struct Console {
    lines: mpsc::Receiver<String>,
    #[cfg_attr(
        not(feature = "sim"),
        expect(dead_code, reason = "only the simulator's card commands read it")
    )]
    cards_dir: Option<std::path::PathBuf>,
    step: StepKind,
    /// Inputs of one command still to hand over (the PIN's keys).
    pending: VecDeque<FrontendInput>,
    #[cfg(feature = "sim")]
    sim: Option<crate::simulator::SimControls>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

/// What a command line means.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// A citizen input.
    Input(Input),
    /// Put a card on the simulated reader.
    InsertForeignCard,
    /// Put the virtual chip of a card profile on the simulated reader.
    InsertCard(String),
    /// Take the card off the simulated reader.
    RemoveCard,
    /// Play these image files (or the images of these folders) on the
    /// simulated camera, in a loop; `pattern` for the empty scene.
    Camera(Vec<String>),
    /// Staff: print a ticket of today again.
    Reprint(String),
    /// Type a value into a form field.
    FormField(String, String),
    /// Staff: the staff PIN on the kiosk's keypad (opened from the
    /// staff-assist, out-of-service or attract screen). Never printed.
    StaffPin(kiosk_ui::presenter::Typed),
    /// Show the help text.
    Help,
    /// Stop the kiosk.
    Quit,
}

/// The help text.
pub const HELP: &str = "\
commands:
  card insert NAME    put the card of profile NAME (board/sim/cards/NAME.toml) on the reader
  card foreign        put a non-ID contactless card on the simulated reader
  card remove         take the card off the simulated reader
  camera FILE|DIR...  play these images (PNG/JPEG) on the simulated camera, looped
  camera pattern      the empty scene again
  walkin              take a number without a card
  qr TEXT             the card-front QR code was scanned
  can DIGITS          type the 6-digit card access number
  id ID YYMMDD        type the ID number and date of birth
  yes | no            confirm / reject, agree / decline (staff: approve / refuse, after `pin`)
  pin DIGITS          staff: enter the staff PIN (staff assist, out of service, staff mode)
  field NAME VALUE    type VALUE into the form's field NAME
  form ok             the form is reviewed (problems are listed if any)
  ticket SERVICE [elderly|disabled|pregnant|child]
  reprint NUMBER      staff: print today's ticket NUMBER again (after a printer problem)
  request PROCEDURE   file a request
  finish              done, go to rating
  rate N | skip       rate 1-5 or skip
  continue | back | cancel | more (more time)
  quit";

/// Parses one command line typed while `step` is shown ("yes" confirms,
/// consents or, on the staff screen, is the staff's decision).
pub fn parse(line: &str, step: StepKind) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let word = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let input = |i| Ok(Command::Input(i));
    match (word, rest.as_slice()) {
        ("card", ["foreign"]) => Ok(Command::InsertForeignCard),
        ("card", ["insert", name]) => Ok(Command::InsertCard((*name).to_owned())),
        ("card", ["remove"]) => Ok(Command::RemoveCard),
        ("camera", [_, ..]) => Ok(Command::Camera(
            rest.iter().map(|s| (*s).to_owned()).collect(),
        )),
        ("walkin", []) => input(Input::WalkIn),
        ("qr", [_, ..]) => {
            let text = line.trim_start().trim_start_matches("qr").trim().to_owned();
            input(Input::AccessKey(AccessKey::CardQr(text)))
        }
        ("can", [can]) => input(Input::AccessKey(AccessKey::Can((*can).to_owned()))),
        ("id", [id, dob]) => input(Input::AccessKey(AccessKey::IdAndBirthDate {
            id_number: (*id).to_owned(),
            date_of_birth: (*dob).to_owned(),
        })),
        ("yes" | "no", []) => {
            let yes = word == "yes";
            input(match step {
                StepKind::ExpectFaceConsent
                | StepKind::ExpectRequestConsent
                | StepKind::ExpectIdentityConsent => Input::Consent(yes),
                StepKind::StaffAssist => Input::StaffDecision(yes),
                _ => Input::Confirm(yes),
            })
        }
        ("form", ["ok"]) => input(Input::FormConfirmed),
        ("field", [name, value @ ..]) => {
            Ok(Command::FormField((*name).to_owned(), value.join(" ")))
        }
        ("ticket", [service, priority @ ..]) => {
            let priority = match priority {
                [] => None,
                ["elderly"] => Some(Priority::Elderly),
                ["disabled"] => Some(Priority::Disabled),
                ["pregnant"] => Some(Priority::Pregnant),
                ["child"] => Some(Priority::SmallChild),
                _ => return Err("priority is one of elderly, disabled, pregnant, child".into()),
            };
            input(Input::Choose(MenuChoice::TakeNumber {
                service: (*service).to_owned(),
                priority,
            }))
        }
        ("reprint", [number]) => Ok(Command::Reprint((*number).to_owned())),
        ("pin", [digits]) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Command::StaffPin(kiosk_ui::presenter::Typed::new(*digits)))
        }
        ("pin", _) => Err("pin takes the staff PIN's digits".into()),
        ("request", [procedure]) => input(Input::Choose(MenuChoice::SubmitRequest {
            procedure: (*procedure).to_owned(),
        })),
        ("finish", []) => input(Input::Choose(MenuChoice::Finish)),
        ("rate", [n]) => n
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .map(|n| Command::Input(Input::Rated(Some(n))))
            .ok_or_else(|| "rate takes 1 to 5".to_owned()),
        ("skip", []) => input(Input::Rated(None)),
        ("continue", []) => input(Input::Continue),
        ("back", []) => input(Input::Back),
        ("cancel", []) => input(Input::Cancel),
        ("more", []) => input(Input::Extend),
        ("help", _) => Ok(Command::Help),
        ("quit" | "exit", []) => Ok(Command::Quit),
        // The line may be personal data a citizen typed (an ID number, a
        // name): only a command-like first word is echoed into the journal.
        (word, _) if is_command_word(word) => Err(format!("unknown command {word:?}; type help")),
        _ => Err("unknown command; type help".to_owned()),
    }
}

/// Whether `word` looks like a command (a few ASCII letters), so it can be
/// echoed without echoing what a citizen typed.
fn is_command_word(word: &str) -> bool {
    (1..=12).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// The state line of a screen, as it goes to standard output and so to the
/// journal: the holder only as "verified" with the ID masked as the screen
/// masks it, never the name.
fn state_line(view: &SessionView) -> String {
    let mut line = format!("   [{:?}]", view.step);
    if let Some(fault) = view.fault {
        line.push_str(&format!(" fault={fault:?}"));
    }
    if let Some(p) = view.read_percent {
        line.push_str(&format!(" reading {p}%"));
    }
    if view.holder_name.is_some() {
        line.push_str(&format!(
            " holder=verified id={}",
            view.holder_masked_id.as_deref().unwrap_or("")
        ));
    }
    if let Some(t) = &view.ticket {
        line.push_str(&format!(
            " ticket={} service={} waiting={} printed={}",
            t.number, t.service, t.waiting, t.printed
        ));
        if let Some(problem) = t.print_problem {
            line.push_str(&format!(
                " print_problem={problem:?} (staff: `reprint {}`)",
                t.number
            ));
        }
    }
    if let Some(guide) = view.face_guide {
        line.push_str(&format!(
            " face={:?} progress={}%",
            guide.hint, guide.progress_percent
        ));
    }
    if let Some(r) = &view.receipt {
        line.push_str(&format!(
            " receipt={} {}",
            r.code,
            if r.delivered {
                "sent"
            } else {
                "QUEUED, will be sent"
            }
        ));
    }
    if let Some(notice) = view.menu_notice {
        line.push_str(&format!(" menu_notice={notice:?}"));
    }
    line
}

/// The rows of a request form without their values: which are filled from
/// the chip or typed, which are still required. Values are personal data
/// and this output is the journal.
fn form_lines(form: &crate::services::requesting::FormScreen) -> Vec<String> {
    let mut lines = vec![format!(
        "   {} · {} ({})",
        form.name_vi, form.name_en, form.procedure
    )];
    for f in &form.fields {
        let mark = if f.editable { "field" } else { "chip " };
        let value = match (&f.value, f.required) {
            (Some(_), _) => "filled",
            (None, true) => "—  (required)",
            (None, false) => "—",
        };
        lines.push(format!("   [{mark}] {:<22} {value}", f.name));
    }
    for p in &form.problems {
        lines.push(format!("   ! {}", p.message_vi));
    }
    lines
}

impl Console {
    /// A console reading commands from standard input.
    pub fn stdin(
        cards_dir: Option<std::path::PathBuf>,
        #[cfg(feature = "sim")] sim: Option<crate::simulator::SimControls>,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        println!("{HELP}");
        Console {
            lines: rx,
            cards_dir,
            step: StepKind::Attract,
            pending: VecDeque::new(),
            #[cfg(feature = "sim")]
            sim,
        }
    }
}

impl Frontend for Console {
    fn show(&mut self, view: &SessionView, events: &[Event]) {
        self.step = view.step;
        for event in events {
            match event {
                Event::TimeoutWarning { .. } => {
                    println!("  ! are you still there? type `more` for more time");
                }
                Event::StaffRefused(reason) => {
                    println!(
                        "  ! refused ({reason:?}): staff enter the staff PIN first (`pin DIGITS`), with the cabinet closed"
                    );
                }
                _ => {}
            }
        }
        let text = kiosk_ui::guidance(view, kiosk_ui::Language::Vietnamese);
        println!("== {} — {}", text.title, text.prompt);
        println!("{}", state_line(view));
    }

    fn show_request(
        &mut self,
        form: Option<&crate::services::requesting::FormScreen>,
        consent: Option<&kiosk_firmware::requests::ConsentNotice>,
    ) {
        if let Some(notice) = consent {
            println!("{}\n{}", notice.text_vi, notice.text_en);
            println!("   type `yes` (I agree) or `no`");
            return;
        }
        let Some(form) = form else { return };
        for line in form_lines(form) {
            println!("{line}");
        }
    }

    fn show_staff(&mut self, view: Option<&StaffView>) {
        let Some(view) = view else { return };
        match (view.screen, view.notice) {
            (StaffScreen::Pin, Some(PinNotice::Wrong { attempts_left })) => {
                println!("  ! wrong staff PIN: {attempts_left} tries left");
            }
            (StaffScreen::Pin, Some(PinNotice::Locked { until })) => {
                println!("  ! staff PIN entry is locked until {} (Unix ms)", until.0);
            }
            (StaffScreen::Pin, _) => {
                println!("  staff PIN keypad: {} digit(s)", view.digits_entered);
            }
            (StaffScreen::Panel, _) => println!("  staff panel open"),
        }
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        if let Some(input) = self.pending.pop_front() {
            return input;
        }
        let line = match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => return FrontendInput::Nothing,
            // Standard input closed: keep running until stopped (a service
            // has no terminal), waiting out the timeout.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let (_tx, rx) = mpsc::channel::<String>();
                self.lines = rx;
                return FrontendInput::Nothing;
            }
        };
        if line.trim().is_empty() {
            return FrontendInput::Nothing;
        }
        match parse(&line, self.step) {
            Ok(Command::Input(input)) => FrontendInput::Input(input),
            Ok(Command::Quit) => FrontendInput::Quit,
            Ok(Command::Reprint(number)) => FrontendInput::Reprint(number),
            Ok(Command::StaffPin(pin)) => {
                self.pending.extend(
                    pin.as_str()
                        .bytes()
                        .map(|b| FrontendInput::Staff(StaffInput::Digit(b - b'0'))),
                );
                self.pending
                    .push_back(FrontendInput::Staff(StaffInput::Submit));
                FrontendInput::Staff(StaffInput::Open)
            }
            Ok(Command::FormField(name, value)) => FrontendInput::FormField {
                name,
                value: kiosk_ui::presenter::Typed::new(value),
            },
            Ok(Command::Help) => {
                println!("{HELP}");
                FrontendInput::Nothing
            }
            #[cfg(feature = "sim")]
            Ok(Command::InsertForeignCard) => {
                match &self.sim {
                    Some(sim) => sim.insert_card(Box::new(crate::simulator::ForeignCard)),
                    None => println!("not on the simulator board"),
                }
                FrontendInput::Nothing
            }
            #[cfg(feature = "sim")]
            Ok(Command::InsertCard(name)) => {
                let loaded = self
                    .cards_dir
                    .as_ref()
                    .map(|dir| crate::simulator::load_sim_card(&dir.join(format!("{name}.toml"))));
                match (&self.sim, loaded) {
                    (Some(sim), Some(Ok(card))) => sim.insert_card(card),
                    (_, Some(Err(e))) => println!("{e}"),
                    _ => println!("no card profiles on this board (sim.card_reader.cards_dir)"),
                }
                FrontendInput::Nothing
            }
            #[cfg(feature = "sim")]
            Ok(Command::RemoveCard) => {
                match &self.sim {
                    Some(sim) => sim.remove_card(),
                    None => println!("not on the simulator board"),
                }
                FrontendInput::Nothing
            }
            #[cfg(feature = "sim")]
            Ok(Command::Camera(sources)) => {
                match (&self.sim, camera_frames(&sources)) {
                    (Some(sim), Ok(frames)) => {
                        println!("   camera: {} frame(s)", frames.len());
                        sim.set_frames(frames);
                    }
                    (None, _) => println!("not on the simulator board"),
                    (_, Err(e)) => println!("{e}"),
                }
                FrontendInput::Nothing
            }
            #[cfg(not(feature = "sim"))]
            Ok(
                Command::InsertForeignCard
                | Command::InsertCard(_)
                | Command::RemoveCard
                | Command::Camera(_),
            ) => {
                println!("not on the simulator board");
                FrontendInput::Nothing
            }
            Err(message) => {
                println!("{message}");
                FrontendInput::Nothing
            }
        }
    }
}

/// The frames of `camera ...`: image files, folders of images, or
/// `pattern`.
#[cfg(feature = "sim")]
fn camera_frames(sources: &[String]) -> Result<Vec<kiosk_hal::camera::Frame>, String> {
    if sources == ["pattern"] {
        return Ok(vec![crate::simulator::pattern(640, 480)]);
    }
    let mut frames = Vec::new();
    for source in sources {
        let path = std::path::Path::new(source);
        let loaded = if path.is_dir() {
            crate::simulator::load_frames(path)
        } else {
            crate::simulator::load_frame(path).map(|f| vec![f])
        };
        frames.extend(loaded.map_err(|e| e.to_string())?);
    }
    for (i, f) in frames.iter_mut().enumerate() {
        f.sequence = i as u64;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal must not learn who the citizen is: the state line of an
    /// identified holder names no one and shows the ID as the screen masks
    /// it.
    #[test]
    fn the_state_line_of_an_identified_holder_has_no_name_and_a_masked_id() {
        use crate::runtime::trust_tests::{QR, card, kiosk, present, reach_menu};
        let (mut rt, controls, _dir) = kiosk();
        present(&mut rt, &controls, card(|_| {}), QR);
        reach_menu(&mut rt);
        let view = rt.view();
        assert_eq!(view.holder_name.as_deref(), Some("Nguyễn Văn Mẫu"));
        let line = state_line(&view);
        assert!(line.contains("holder=verified id=••••••••0001"), "{line}");
        for personal in ["Nguyễn", "Mẫu", "003090000001", "15/01/1990"] {
            assert!(!line.contains(personal), "{personal:?} in {line}");
        }
    }

    #[test]
    fn form_rows_say_filled_or_required_and_never_carry_a_value() {
        use kiosk_firmware::requests::catalog::FieldType;
        use kiosk_firmware::requests::form::{FieldView, Source};
        let field = |name: &str, value: Option<&str>, editable: bool| FieldView {
            name: name.into(),
            label_vi: name.into(),
            label_en: name.into(),
            value: value.map(Into::into),
            source: if editable {
                Source::Citizen
            } else {
                Source::Chip
            },
            editable,
            required: true,
            kind: FieldType::Text,
            max_len: None,
            options: Vec::new(),
            min: None,
            max: None,
        };
        let form = crate::services::requesting::FormScreen {
            procedure: "1.001".into(),
            name_vi: "Đăng ký thường trú".into(),
            name_en: "Permanent residence".into(),
            fields: vec![
                field("full_name", Some("Nguyễn Văn Mẫu"), false),
                field("phone", Some("0912345678"), true),
                field("email", None, true),
            ],
            problems: Vec::new(),
            bring_to_counter: Vec::new(),
        };
        let text = form_lines(&form).join("\n");
        for personal in ["Nguyễn", "0912345678"] {
            assert!(!text.contains(personal), "{personal:?} in {text}");
        }
        assert!(text.contains("[chip ] full_name"), "{text}");
        assert!(text.contains("filled"), "{text}");
        assert!(text.contains("(required)"), "{text}");
    }

    #[test]
    fn an_unknown_line_is_not_echoed_unless_it_starts_like_a_command() {
        let a = StepKind::Attract;
        assert_eq!(
            parse("003090000001 Nguyễn", a),
            Err("unknown command; type help".to_owned())
        );
        assert_eq!(
            parse("frobnicate 003090000001", a),
            Err("unknown command \"frobnicate\"; type help".to_owned())
        );
    }

    #[cfg(feature = "sim")]
    #[test]
    fn camera_sources_are_files_folders_or_the_pattern() {
        assert_eq!(camera_frames(&["pattern".into()]).unwrap().len(), 1);
        let e = camera_frames(&["/nonexistent.jpg".into()]).unwrap_err();
        assert!(e.contains("nonexistent"), "{e}");
    }

    #[test]
    fn commands_parse_into_inputs() {
        let a = StepKind::Attract;
        assert_eq!(parse("walkin", a), Ok(Command::Input(Input::WalkIn)));
        assert_eq!(
            parse("camera a.jpg frames/", a),
            Ok(Command::Camera(vec!["a.jpg".into(), "frames/".into()]))
        );
        assert!(parse("camera", a).is_err());
        assert_eq!(
            parse("qr 003090000001||Nguyễn Văn Mẫu|15011990", a),
            Ok(Command::Input(Input::AccessKey(AccessKey::CardQr(
                "003090000001||Nguyễn Văn Mẫu|15011990".into()
            ))))
        );
        assert_eq!(
            parse("ticket CT elderly", StepKind::Menu),
            Ok(Command::Input(Input::Choose(MenuChoice::TakeNumber {
                service: "CT".into(),
                priority: Some(Priority::Elderly)
            })))
        );
        assert_eq!(
            parse("rate 5", a),
            Ok(Command::Input(Input::Rated(Some(5))))
        );
        assert_eq!(parse("card foreign", a), Ok(Command::InsertForeignCard));
        assert_eq!(
            parse("reprint A002", a),
            Ok(Command::Reprint("A002".into()))
        );
        assert_eq!(parse("quit", a), Ok(Command::Quit));
    }

    #[test]
    fn yes_means_what_the_screen_asks() {
        let yes = |step| parse("yes", step);
        assert_eq!(
            yes(StepKind::ExpectConfirmation),
            Ok(Command::Input(Input::Confirm(true)))
        );
        assert_eq!(
            yes(StepKind::ExpectFaceConsent),
            Ok(Command::Input(Input::Consent(true)))
        );
        assert_eq!(
            yes(StepKind::ExpectRequestConsent),
            Ok(Command::Input(Input::Consent(true)))
        );
        assert_eq!(
            parse("no", StepKind::ExpectIdentityConsent),
            Ok(Command::Input(Input::Consent(false)))
        );
        assert_eq!(
            yes(StepKind::StaffAssist),
            Ok(Command::Input(Input::StaffDecision(true)))
        );
        assert_eq!(
            parse("no", StepKind::ExpectFaceConsent),
            Ok(Command::Input(Input::Consent(false)))
        );
    }

    #[test]
    fn pin_is_the_staff_pin_and_nothing_else() {
        assert_eq!(
            parse("pin 246810", StepKind::StaffAssist),
            Ok(Command::StaffPin(kiosk_ui::presenter::Typed::new("246810")))
        );
        assert!(parse("pin 24a", StepKind::StaffAssist).is_err());
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        let m = StepKind::Menu;
        assert!(parse("rate 9", m).unwrap_err().contains("1 to 5"));
        assert!(
            parse("ticket CT royalty", m)
                .unwrap_err()
                .contains("priority")
        );
        assert!(parse("fly", m).unwrap_err().contains("help"));
    }
}
