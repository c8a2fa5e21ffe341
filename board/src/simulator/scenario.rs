//! Scripted journeys for testers: a scenario file (TOML or JSON) played
//! against the real screens, rendered headless, on the simulator board, in
//! virtual time (`kioskctl sim run --scenario FILE --out DIR`).
//!
//! A scenario is a list of steps: put a card profile on the reader, hold
//! the card's QR up to the camera (`show_card_qr`: frames rendered from the
//! text, decoded by the kiosk as a real camera's), or hand its text over as
//! a handheld scanner would (`scan_qr`), show face frames to the camera
//! (`frames`, or `face_scene`: a citizen composed from photos who follows
//! the head-turn challenge), touch a button by its id
//! (only one on the screen: `touch = "yes"` fails on a screen without it),
//! type into a request form field on the on-screen keyboard, wait for a
//! screen, expect a ticket number, a receipt, or a printer state.
//! `touch_refused = "staff-approve"` expects a touch to do nothing (the
//! button is not on the screen); `staff_pin = "246810"` is a member of
//! staff entering the staff PIN: it touches the screen's staff button
//! (`staff-pin` on the staff-assist and out-of-service screens, `staff` on
//! the attract screen) unless the keypad is up already, then the digits
//! and OK, key by key; `cabinet = "open"` / `"closed"` sets the tamper
//! switch. `centre = "KIOSK-01.toml"` (a client file of `kiosk-centre
//! demo`) numbers through that centre: an identified holder then answers
//! the `identity-consent` screen with `touch = "share"` or
//! `touch = "dont-share"`.
//! After each step the screen is saved as `NN-<what>.png` in the output
//! folder; `report.json` says what happened, step by step. The first unmet
//! expectation ends the run.
//!
//! ```toml
//! name = "happy path"
//! [[steps]]
//! insert_card = "cccd-2021"
//! [[steps]]
//! wait_screen = "access-key"
//! [[steps]]
//! show_card_qr = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|...|01062021"
//! [[steps]]
//! wait_screen = "confirm"
//! [[steps]]
//! touch = "yes"
//! # ... on the request form:
//! [[steps]]
//! type_text = { field = "temporary_address", text = "Số 5 Ngõ Mẫu, Hà Nội" }
//! ```
//!
//! `type_text` goes the citizen's way: it touches the field's row, which
//! opens the input screen, clears what the field held with Backspace,
//! presses the keys one by one by id (a Vietnamese letter is its base
//! letter or marked-letter key, then its tone key: `ễ` is `key-e-circumflex`
//! then `key-tone-nga`; a capital is `key-shift` first unless shift is on
//! by itself; a choice is its option), touches Done, and checks that the
//! form holds exactly the text (NFC). `form_field = { name, value }` is a
//! tester's shortcut that sets the value without the screens, as the
//! console's `field` command does.
//!
//! `show_card_qr` also takes the way the card is held: `{ text, size_px =
//! 150, rotation_deg = 4, blur = 1, noise = 8, light = 0.35 }` (the QR's
//! side in the 640 × 480 frame, the card's turn, box-blur passes, noise
//! levels, how much darker the far corner is). `face_scene = { frontal,
//! turned }` composes the frames of `board::scene::citizen_turning` from a
//! photo looking straight and one with the head turned (it loads the face
//! engine to place the faces).
//!
//! Paths in steps are relative to the scenario file; `{fixtures}` stands for
//! the face photos of `cargo xtask setup` (`$KIOSK_FACE_FIXTURES`, else
//! `.cache/face-fixtures` under the workspace).
//!
//! Privacy: screenshots of a scenario show the synthetic card holders of
//! the simulator's profiles, never a real person; no face image or
//! embedding is written (the camera frames are the tester's own files).

use crate::config::Config;
use crate::drivers::speech::SpeakerDevice;
use crate::frontends::ui::SlintFrontend;
use crate::runtime::Turn;
use crate::runtime::virtual_time::{SETTLE, Turned, VirtualClock};
use crate::runtime::{Frontend, Runtime};
use crate::simulator::{SimBoard, SimControls};
use anyhow::{Context as _, bail};
use kiosk_firmware::session::{AccessKey, Input, StepKind};
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_firmware::time::Timestamp;
use kiosk_hal::printer::PaperLevel;
use kiosk_ui::Screen;
use kiosk_ui::adapters::Display;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// 2026-11-25 09:00 in Hà Nội (a Wednesday inside opening hours), Unix ms.
pub const DEFAULT_CLOCK: u64 = 1_795_572_000_000;

/// The longest a `wait_screen` waits by default, in virtual seconds.
const DEFAULT_WAIT_S: f64 = 60.0;

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows.
    pub name: String,
    /// The wall clock at the start, Unix ms (default: a Wednesday 09:00 in
    /// Hà Nội).
    #[serde(default)]
    pub clock_ms: Option<u64>,
    /// Whether the kiosk has its face engine (default true; without models
    /// face checks go to staff).
    #[serde(default = "yes")]
    pub face: bool,
    /// Whether the simulator's reference portal runs (default true; false:
    /// the portal is unreachable, requests wait in the outbox).
    #[serde(default = "yes")]
    pub portal: bool,
    /// Whether the kiosk holds the configuration's CSCA trust list
    /// (default true; false: no CSCA, every chain is unanchored and the
    /// online check of `[verification]` decides).
    #[serde(default = "yes")]
    pub csca: bool,
    /// Whether the simulator's reference C06 server answers (default true;
    /// false: nothing listens, the online check gets no answer and an
    /// unanchored card is `unverified_offline`).
    #[serde(default = "yes")]
    pub c06: bool,
    /// A centre's client file (a TOML file with a `[centre]` section, as
    /// `kiosk-centre demo` writes them; relative to the scenario file):
    /// the kiosk then numbers through that centre and asks an identified
    /// holder on the `identity-consent` screen (`touch = "share"` or
    /// `touch = "dont-share"`). Without it, the configuration's own
    /// `[centre]` if any.
    #[serde(default)]
    pub centre: Option<PathBuf>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

/// A card to put on the reader.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CardSpec {
    /// A shipped profile by name (`board/sim/cards/NAME.toml`).
    Profile(String),
    /// A profile with another chip photo (a JPEG or JPEG 2000 file).
    WithPhoto {
        /// The profile name.
        profile: String,
        /// The photo file.
        photo: String,
    },
}

/// The card QR held up to the camera: its text, and optionally how.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CardQrSpec {
    /// The text, held the usual way ([`crate::simulator::scene::CardQrScene::new`]).
    Text(String),
    /// The text and how the card is held.
    Held {
        /// The QR's text.
        text: String,
        /// The QR's side in frame pixels.
        size_px: Option<f32>,
        /// The card's rotation in degrees.
        rotation_deg: Option<f32>,
        /// Box-blur passes.
        blur: Option<u8>,
        /// Noise, in levels.
        noise: Option<u8>,
        /// Uneven light, 0–1.
        light: Option<f32>,
    },
}

impl CardQrSpec {
    /// The scene it describes.
    pub fn scene(&self) -> crate::simulator::scene::CardQrScene {
        match self {
            CardQrSpec::Text(text) => crate::simulator::scene::CardQrScene::new(text.clone()),
            CardQrSpec::Held {
                text,
                size_px,
                rotation_deg,
                blur,
                noise,
                light,
            } => {
                let d = crate::simulator::scene::CardQrScene::new(text.clone());
                crate::simulator::scene::CardQrScene {
                    size_px: size_px.unwrap_or(d.size_px),
                    rotation_deg: rotation_deg.unwrap_or(d.rotation_deg),
                    blur: blur.unwrap_or(d.blur),
                    noise: noise.unwrap_or(d.noise),
                    light: light.unwrap_or(d.light),
                    ..d
                }
            }
        }
    }
}

/// One step of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Put a card on the reader.
    InsertCard(CardSpec),
    /// Take the card off (`remove_card = true`).
    RemoveCard(bool),
    /// Put a contactless card that is no ID card on the reader.
    ForeignCard(bool),
    /// Play these image files (or folders) on the camera; `["pattern"]` for
    /// the empty scene.
    Frames(Vec<String>),
    /// A handheld QR scanner read the card's QR code: the text goes
    /// straight to the session, no camera involved.
    ScanQr(String),
    /// The citizen holds the card's QR code up to the kiosk camera: frames
    /// of it are played, and the kiosk must read it from them.
    ShowCardQr(CardQrSpec),
    /// The citizen at the camera follows the head-turn challenge: frames
    /// composed from a photo looking straight and one turned.
    FaceScene {
        /// A photo of the citizen looking straight at the camera.
        frontal: String,
        /// A photo of them with the head turned.
        turned: String,
    },
    /// How the holder was verified (`face_matched`, `staff_confirmed`,
    /// `guardian`, `anonymous`, or `none` while undecided).
    ExpectVerification(String),
    /// Touch the button with this id (it must be on the screen).
    Touch(String),
    /// Touch the button with this id, which must NOT be on the screen (a
    /// refused touch: e.g. a citizen looking for a bare staff approve).
    TouchRefused(String),
    /// A member of staff enters the staff PIN on the kiosk's keypad.
    StaffPin(String),
    /// The cabinet's tamper switch: `open` or `closed`.
    Cabinet(String),
    /// Let time pass until this screen is up (at most `within_s`, default
    /// 60 virtual seconds).
    WaitScreen(String),
    /// Like `wait_screen`, with a limit: `{ screen = "menu", within_s = 5 }`.
    WaitScreenWithin {
        /// The screen.
        screen: String,
        /// The limit in virtual seconds.
        within_s: f64,
    },
    /// Let this many virtual seconds pass.
    WaitS(f64),
    /// The screen up now must be this one.
    ExpectScreen(String),
    /// The ticket on screen must have this number.
    ExpectTicket(String),
    /// Whether the ticket on screen came out of the printer.
    ExpectPrinted(bool),
    /// A receipt must be on screen (with this code, if not empty).
    ExpectReceipt(String),
    /// The request form shows a problem for this field.
    ExpectProblem(String),
    /// The printer's paper: `ok`, `near_end` or `out`.
    Paper(String),
    /// Type `text` into the request form's field `field` on the on-screen
    /// keyboard, key by key, and touch Done.
    TypeText {
        /// The field's name.
        field: String,
        /// What to type.
        text: String,
    },
    /// The screen shows this text (in its title, guidance, staff rows,
    /// staff banner or notice).
    ExpectText(String),
    /// A tester's shortcut: set a request form field's value without the
    /// screens (as the console's `field` command).
    FormField {
        /// The field's name.
        name: String,
        /// The value.
        value: String,
    },
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::InsertCard(CardSpec::Profile(p)) => format!("insert card {p}"),
            Step::InsertCard(CardSpec::WithPhoto { profile, .. }) => {
                format!("insert card {profile} with another photo")
            }
            Step::RemoveCard(_) => "remove the card".into(),
            Step::ForeignCard(_) => "put a foreign card".into(),
            Step::Frames(f) => format!("camera shows {}", f.join(", ")),
            Step::ScanQr(_) => "scan the card QR".into(),
            Step::ShowCardQr(_) => "show the card QR to the camera".into(),
            Step::FaceScene { .. } => "citizen at the camera".into(),
            Step::ExpectVerification(v) => format!("expect verification {v}"),
            Step::Touch(id) => format!("touch {id}"),
            Step::TouchRefused(id) => format!("touch {id} refused"),
            // Never the digits.
            Step::StaffPin(_) => "staff enter the PIN".into(),
            Step::Cabinet(state) => format!("cabinet {state}"),
            Step::WaitScreen(s) => format!("wait for {s}"),
            Step::WaitScreenWithin { screen, within_s } => {
                format!("wait for {screen} within {within_s} s")
            }
            Step::WaitS(s) => format!("wait {s} s"),
            Step::ExpectScreen(s) => format!("expect screen {s}"),
            Step::ExpectTicket(n) => format!("expect ticket {n}"),
            Step::ExpectPrinted(p) => format!("expect printed {p}"),
            Step::ExpectReceipt(c) => format!("expect receipt {c}"),
            Step::ExpectProblem(f) => format!("expect a problem with {f}"),
            Step::Paper(p) => format!("paper {p}"),
            Step::TypeText { field, .. } => format!("type into {field}"),
            Step::ExpectText(t) => format!("expect text {t}"),
            Step::FormField { name, .. } => format!("set {name}"),
        }
    }

    fn slug(&self) -> String {
        let d = self.describe();
        let mut slug: String = d
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        slug.truncate(40);
        slug.trim_matches('-').to_owned()
    }
}

impl Scenario {
    /// Reads a scenario from a `.toml` or `.json` file.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario {}", path.display()))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(anyhow::Error::from)
        } else {
            toml::from_str(&text).map_err(anyhow::Error::from)
        };
        parsed.with_context(|| format!("{} is not a valid scenario", path.display()))
    }
}

/// How one step went.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based.
    pub index: usize,
    /// What the step did.
    pub step: String,
    /// Whether it did what it said.
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The screen after it.
    pub screen: String,
    /// The screenshot after it.
    pub screenshot: String,
    /// Virtual time at its end, in ms since the start.
    pub at_ms: u64,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Whether every step went as written.
    pub ok: bool,
    /// The steps run (the first failed one is the last).
    pub steps: Vec<StepReport>,
    /// The last ticket number shown, if any.
    pub ticket: Option<String>,
    /// The last receipt code shown, if any.
    pub receipt: Option<String>,
    /// How many guidance texts were spoken.
    pub spoken: usize,
    /// Virtual time of the whole run, ms.
    pub virtual_ms: u64,
    /// Machine time of the whole run (building the board, rendering and
    /// screenshots included), ms.
    pub machine_ms: u64,
    /// Machine time from the start to the first attract screen rendered, ms.
    pub cold_start_ms: u64,
}

/// The screen's name as scenario files spell it (the `ScreenKind` names).
pub fn screen_name(screen: Screen) -> &'static str {
    match screen {
        Screen::Attract => "attract",
        Screen::Language => "language",
        Screen::AccessKey => "access-key",
        Screen::Keypad => "keypad",
        Screen::Reading => "reading",
        Screen::Confirm => "confirm",
        Screen::FaceConsent => "face-consent",
        Screen::FaceCheck => "face-check",
        Screen::StaffAssist => "staff-assist",
        Screen::Menu => "menu",
        Screen::Services => "services",
        Screen::TextEntry => "text-entry",
        Screen::Printing => "printing",
        Screen::Ticket => "ticket",
        Screen::Form => "form",
        Screen::RequestConsent => "request-consent",
        Screen::IdentityConsent => "identity-consent",
        Screen::Submitting => "submitting",
        Screen::Receipt => "receipt",
        Screen::Rating => "rating",
        Screen::Goodbye => "goodbye",
        Screen::Notice => "notice",
        Screen::OutOfService => "out-of-service",
        Screen::StaffPin => "staff-pin",
        Screen::StaffPanel => "staff-panel",
    }
}

/// A chip holds a small photo (ICAO 9303 DG2, some 15 KB on a CCCD): a
/// larger JPEG or PNG is scaled into 360 × 480 and re-encoded as a JPEG of
/// at most about 24 KB; a small file, or one the `image` crate cannot read
/// (JPEG 2000), goes on the chip as it is.
fn chip_sized(bytes: Vec<u8>) -> Vec<u8> {
    const MAX: usize = 24_000;
    if bytes.len() <= MAX {
        return bytes;
    }
    let Ok(img) = image::load_from_memory(&bytes) else {
        return bytes;
    };
    let small = img.thumbnail(360, 480).to_rgb8();
    let mut best = bytes;
    for quality in [90u8, 80, 70, 60, 50, 40] {
        let mut out = Vec::new();
        if image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&small)
            .is_ok()
            && out.len() < best.len()
        {
            best = out;
        }
        if best.len() <= MAX {
            break;
        }
    }
    best
}

/// The kiosk a scenario plays on: the runtime on the sim board, the
/// headless screens, virtual time.
pub struct Player {
    runtime: Runtime,
    // Keeps the in-process reference portal running.
    _portal: Option<crate::online::portal::server::PortalHandle>,
    _c06: Option<crate::online::c06::server::C06Handle>,
    epoch: UnixMillis,
    sim: SimControls,
    frontend: SlintFrontend,
    /// What the frontend was shown (it draws every turn).
    shown: crate::runtime::Shown,
    now: Timestamp,
    base: PathBuf,
    cards_dir: PathBuf,
    face_section: crate::config::FaceSection,
    /// The engine that places faces in `face_scene` frames, loaded at the
    /// first such step.
    #[cfg(feature = "face")]
    composer: Option<kiosk_firmware::face::opencv::OpenCvEngine>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Player {
    /// A kiosk for `scenario` from the sim `config`, its store and printer
    /// output in `out`; `base` resolves the scenario's paths.
    pub fn new(
        config: &Config,
        scenario: &Scenario,
        base: &Path,
        out: &Path,
        speaker: Option<Box<dyn SpeakerDevice>>,
    ) -> anyhow::Result<Player> {
        let mut sim_config = config
            .sim
            .clone()
            .context("the configuration has no [sim] section")?;
        sim_config.printer.output_dir = Some(out.join("printer"));
        let cards_dir =
            sim_config.card_reader.cards_dir.clone().context(
                "the sim configuration has no card profiles (sim.card_reader.cards_dir)",
            )?;
        let (devices, sim) = SimBoard::build(&sim_config).context("cannot build the sim board")?;
        let epoch = UnixMillis(scenario.clock_ms.unwrap_or(DEFAULT_CLOCK));
        let db = out.join("kiosk.db");
        // A fresh journey: numbering starts anew in every run.
        let _ = std::fs::remove_file(&db);
        let (store, _) = Store::open(&db, epoch).context("cannot open the scenario's store")?;
        let trust = if scenario.csca {
            crate::services::truststore::load_for_kiosk(&config.kiosk, epoch.0 / 1000)?
        } else {
            kiosk_firmware::icao::pa::TrustList::empty()
        };
        let mut runtime = Runtime::new(devices, config.session, Timestamp::ZERO)
            .with_trust_list(trust)
            .with_trust_policy(config.trust.clone())
            .with_store(store, epoch)
            .with_config(config);
        if let Some(ticketing) = crate::services::ticketing::Ticketing::from_config(config) {
            runtime = runtime.with_ticketing(ticketing);
        }
        let mut centre_config = config.clone();
        if let Some(file) = &scenario.centre {
            let section = crate::config::load_centre_section(&base.join(file))
                .with_context(|| format!("the scenario's centre file {}", file.display()))?;
            centre_config.centre = Some(section);
        }
        if let Some(desk) = crate::app::centre_desk(&centre_config)? {
            runtime = runtime.with_centre(desk);
        }
        let mut requests_config = config.clone();
        if !scenario.portal
            && let Some(r) = requests_config.requests.as_mut()
        {
            // Nothing listens on the discard port: every delivery fails
            // at once and the request waits in the outbox.
            r.sim_portal = None;
            r.portal.url = "https://127.0.0.1:9".into();
        }
        let mut c06_config = config.clone();
        if !scenario.c06
            && let Some(v) = c06_config.verification.as_mut()
        {
            // Nothing listens on the discard port: the check gets no answer.
            v.sim_c06 = None;
            v.endpoint.url = "https://127.0.0.1:9".into();
        }
        let c06 = match crate::app::c06_client(&c06_config, true)? {
            Some((client, server)) => {
                runtime = runtime.with_online_check(client);
                server
            }
            None => None,
        };
        let portal = match crate::app::request_service(&requests_config)? {
            Some((service, portal)) => {
                runtime = runtime.with_requests(service);
                portal
            }
            None => None,
        };
        #[cfg(feature = "face")]
        if scenario.face {
            match crate::app::face_service(config) {
                Ok(Some(face)) => runtime = runtime.with_face(face),
                Ok(None) => tracing::warn!("no face models: face checks go to staff"),
                Err(e) => bail!("the face engine does not load: {e:#}"),
            }
        }
        kiosk_ui::headless::init()?;
        kiosk_ui::headless::set_clock(Duration::ZERO);
        let frontend = SlintFrontend::new(
            runtime.view(),
            crate::frontends::ui::offers(config),
            crate::frontends::ui::procedures(config),
            &Display::default(),
            speaker,
        )?;
        let mut frontend = frontend;
        frontend.set_staff_button(crate::frontends::ui::staff_button(config));
        Ok(Player {
            runtime,
            _portal: portal,
            _c06: c06,
            epoch,
            sim,
            frontend,
            shown: crate::runtime::Shown::every_turn(),
            now: Timestamp::ZERO,
            base: base.to_owned(),
            cards_dir,
            face_section: config.face.clone(),
            #[cfg(feature = "face")]
            composer: None,
        })
    }

    /// Writes the staff log export (audit log and counters) into the
    /// configured `staff.export_dir`, as the panel's "export logs" does.
    pub fn export_logs(&mut self) -> Result<(String, u64), crate::runtime::ExportError> {
        self.runtime.export_logs(self.now)
    }

    /// The frontend (screens, touches, what was spoken).
    pub fn frontend(&self) -> &SlintFrontend {
        &self.frontend
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The virtual clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The screen up now.
    pub fn screen(&self) -> Screen {
        self.frontend.kiosk().model().screen
    }

    /// A turn of the run loop at the scenario's clock, after the workers
    /// under way have answered.
    fn pump(&mut self) {
        // The workers (the online check, a delivery to the portal, a print
        // on a blocking printer) answer in real time: wait for them (their
        // own timeouts bound the wait), so the scenario stays
        // deterministic in virtual time; and date the in-process C06
        // server's verdicts on the scenario's clock.
        if let Some(c06) = &self._c06 {
            c06.set_clock(Some(self.epoch.0.saturating_add(self.now.as_millis())));
        }
        self.runtime.settle_workers(SETTLE);
        self.flush();
    }

    /// Turns of the run loop ([`Runtime::turn`], the body of every loop)
    /// at the scenario's clock until the frontend has no touch left.
    fn flush(&mut self) {
        let now = self.now;
        while self
            .runtime
            .turn(&mut self.frontend, now, &mut self.shown, &|| now)
            == Turn::Handled
        {}
        kiosk_ui::headless::set_clock(Duration::from_millis(self.now.as_millis()));
    }

    /// Lets `d` of virtual time pass, waking when the runtime asks to
    /// (the runtime's [`VirtualClock`] loop).
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.advance(end, &mut |_| false);
    }

    /// Lets time pass until `screen` is up, at most `within`.
    pub fn wait_screen(&mut self, screen: &str, within: Duration) -> Result<(), String> {
        let end = self.now + within;
        if self.advance(end, &mut |p| screen_name(p.screen()) == screen) {
            return Ok(());
        }
        Err(format!(
            "{screen} did not come within {} s (screen: {})",
            within.as_secs_f64(),
            screen_name(self.screen())
        ))
    }

    /// Runs the loop in virtual time until `end`, a [`Player::pump`] at
    /// every turn, stopping when `done` says so.
    fn advance(&mut self, end: Timestamp, done: &mut dyn FnMut(&Player) -> bool) -> bool {
        let mut clock = VirtualClock::at(self.now);
        let met = clock.advance(end, &mut |now| {
            self.now = now;
            self.pump();
            if done(self) {
                Turned::Done
            } else {
                Turned::Next(self.runtime.next_wakeup())
            }
        });
        self.now = clock.now;
        met
    }

    fn path(&self, p: &str) -> PathBuf {
        let fixtures = std::env::var_os("KIOSK_FACE_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/face-fixtures")
            });
        match p.strip_prefix("{fixtures}/") {
            Some(rest) => fixtures.join(rest),
            None => self.base.join(p),
        }
    }

    /// Plays one step; `Err` says how it failed.
    pub fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::InsertCard(spec) => {
                let (profile, photo) = match spec {
                    CardSpec::Profile(p) => (p, None),
                    CardSpec::WithPhoto { profile, photo } => (profile, Some(photo)),
                };
                let file = self.cards_dir.join(format!("{profile}.toml"));
                let chip: Box<dyn crate::simulator::SimCard> = match photo {
                    None => crate::simulator::load_sim_card(&file).map_err(|e| e.to_string())?,
                    Some(photo) => {
                        let bytes = std::fs::read(self.path(photo))
                            .map_err(|e| format!("the photo {photo}: {e}"))?;
                        let bytes = chip_sized(bytes);
                        let (p, base) = kiosk_firmware::testkit::CardProfile::load(&file)
                            .map_err(|e| e.to_string())?;
                        Box::new(
                            p.chip_with_photo(&base, Some(bytes))
                                .map_err(|e| e.to_string())?,
                        )
                    }
                };
                self.sim.insert_card(chip);
                self.run_for(Duration::from_millis(300));
            }
            Step::RemoveCard(_) => {
                self.sim.remove_card();
                self.run_for(Duration::from_millis(300));
            }
            Step::ForeignCard(_) => {
                self.sim
                    .insert_card(Box::new(crate::simulator::ForeignCard));
                self.run_for(Duration::from_millis(300));
            }
            Step::Frames(sources) => {
                let frames = if sources.iter().all(|s| s == "pattern") {
                    vec![crate::simulator::pattern(640, 480)]
                } else {
                    let mut frames = Vec::new();
                    for s in sources {
                        let path = self.path(s);
                        let mut more = if path.is_dir() {
                            crate::simulator::load_frames(&path)
                        } else {
                            crate::simulator::load_frame(&path).map(|f| vec![f])
                        }
                        .map_err(|e| format!("frames {s}: {e}"))?;
                        frames.append(&mut more);
                    }
                    frames
                };
                self.sim.set_frames(frames);
                self.pump();
            }
            Step::ShowCardQr(spec) => {
                let frames = crate::simulator::scene::card_qr_frames(&spec.scene(), 4)
                    .map_err(|e| format!("the card QR: {e}"))?;
                self.sim.set_frames(frames);
                self.pump();
            }
            Step::FaceScene { frontal, turned } => {
                let frames = self.face_scene(frontal, turned)?;
                self.sim.set_frames(frames);
                self.pump();
            }
            Step::ExpectVerification(expected) => {
                let got = self
                    .runtime
                    .view()
                    .verification
                    .map(|v| serde_json::to_value(v).ok())
                    .and_then(|v| v.and_then(|v| v.as_str().map(str::to_owned)));
                if got.as_deref().unwrap_or("none") != expected.as_str() {
                    return Err(format!(
                        "the verification is {}, not {expected}",
                        got.as_deref().unwrap_or("none")
                    ));
                }
            }
            Step::ScanQr(text) => {
                if self.runtime.step() != StepKind::ExpectAccessKey {
                    return Err(format!(
                        "no QR is asked for on {}",
                        screen_name(self.screen())
                    ));
                }
                self.runtime
                    .input(Input::AccessKey(AccessKey::CardQr(text.clone())), self.now);
                self.pump();
            }
            Step::Touch(id) => {
                self.press(id)?;
                self.flush();
                self.pump();
            }
            Step::TouchRefused(id) => {
                if self.press(id).is_ok() {
                    self.flush();
                    self.pump();
                    return Err(format!(
                        "{id} was touchable (screen now: {})",
                        screen_name(self.screen())
                    ));
                }
                self.pump();
            }
            Step::StaffPin(pin) => {
                if self.screen() != Screen::StaffPin {
                    let button = if self.screen() == Screen::Attract {
                        "staff"
                    } else {
                        "staff-pin"
                    };
                    self.press(button)?;
                    self.flush();
                }
                for digit in pin.chars() {
                    if !digit.is_ascii_digit() {
                        return Err("a staff PIN is digits only".into());
                    }
                    self.press(&format!("key-{digit}"))?;
                    self.flush();
                }
                self.press("key-ok")?;
                self.flush();
                self.pump();
            }
            Step::Cabinet(state) => {
                let open = match state.as_str() {
                    "open" => true,
                    "closed" => false,
                    other => return Err(format!("cabinet is open or closed, not {other}")),
                };
                self.sim.set_tamper(open);
                self.run_for(crate::runtime::CARD_POLL_INTERVAL);
            }
            Step::TypeText { field, text } => self.type_text(field, text)?,
            Step::WaitScreen(screen) => {
                self.wait_screen(screen, Duration::from_secs_f64(DEFAULT_WAIT_S))?
            }
            Step::WaitScreenWithin { screen, within_s } => {
                self.wait_screen(screen, Duration::from_secs_f64(within_s.max(0.0)))?
            }
            Step::WaitS(s) => self.run_for(Duration::from_secs_f64(s.max(0.0))),
            Step::ExpectText(text) => {
                let m = self.frontend.kiosk().model();
                let shown = std::iter::once(m.title.as_str())
                    .chain([
                        m.prompt.as_str(),
                        m.staff_result.as_str(),
                        m.staff_notice.as_str(),
                    ])
                    .chain(
                        m.staff_rows
                            .iter()
                            .flat_map(|r| [r.label.as_str(), r.value.as_str()]),
                    )
                    .any(|t| t.contains(text.as_str()));
                if !shown {
                    return Err(format!(
                        "{text:?} is not on {} ({}; {})",
                        screen_name(self.screen()),
                        m.title,
                        m.staff_result
                    ));
                }
            }
            Step::ExpectScreen(screen) => {
                let now = screen_name(self.screen());
                if now != screen {
                    return Err(format!("the screen is {now}, not {screen}"));
                }
            }
            Step::ExpectTicket(number) => match &self.runtime.view().ticket {
                Some(t) if &t.number == number => {}
                Some(t) => return Err(format!("the ticket is {}, not {number}", t.number)),
                None => return Err("no ticket on screen".into()),
            },
            Step::ExpectPrinted(printed) => match &self.runtime.view().ticket {
                Some(t) if t.printed == *printed => {}
                Some(t) => {
                    return Err(format!(
                        "ticket {} printed: {}, expected {printed}",
                        t.number, t.printed
                    ));
                }
                None => return Err("no ticket on screen".into()),
            },
            Step::ExpectReceipt(code) => match &self.runtime.view().receipt {
                Some(r) if code.is_empty() || &r.code == code => {}
                Some(r) => return Err(format!("the receipt is {}, not {code}", r.code)),
                None => return Err("no receipt on screen".into()),
            },
            Step::FormField { name, value } => {
                if self.runtime.step() != StepKind::ExpectForm {
                    return Err(format!("no form on {}", screen_name(self.screen())));
                }
                self.runtime
                    .set_form_field(name, value, self.now)
                    .map_err(|e| format!("field {name}: {e}"))?;
                self.frontend
                    .show_request(self.runtime.form_screen().as_ref(), None);
                self.pump();
            }
            Step::ExpectProblem(field) => {
                let problems = self
                    .runtime
                    .form_screen()
                    .map(|f| f.problems)
                    .unwrap_or_default();
                if !problems.iter().any(|p| &p.field == field) {
                    let named: Vec<String> = problems.into_iter().map(|p| p.field).collect();
                    return Err(format!(
                        "no problem with {field} on the form (problems: {})",
                        named.join(", ")
                    ));
                }
            }
            Step::Paper(level) => {
                let level = match level.as_str() {
                    "ok" => PaperLevel::Ok,
                    "near_end" => PaperLevel::NearEnd,
                    "out" => PaperLevel::Out,
                    other => return Err(format!("paper is ok, near_end or out, not {other}")),
                };
                self.sim.set_paper(level);
            }
        }
        Ok(())
    }

    /// Touches `id`, which must be on the screen.
    fn press(&mut self, id: &str) -> Result<(), String> {
        if self.frontend.touch(id) {
            return Ok(());
        }
        let on_screen: Vec<String> = self
            .frontend
            .kiosk()
            .model()
            .touchable()
            .map(str::to_owned)
            .collect();
        Err(format!(
            "no button {id} on {} (there are: {})",
            screen_name(self.screen()),
            on_screen.join(", ")
        ))
    }

    /// Types `text` into the form's `field` on the on-screen keyboard.
    fn type_text(&mut self, field: &str, text: &str) -> Result<(), String> {
        let row = self
            .runtime
            .form_screen()
            .and_then(|f| f.fields.into_iter().find(|f| f.name == field))
            .ok_or_else(|| format!("no field {field} on {}", screen_name(self.screen())))?;
        let keys = kiosk_ui::keyboard::keys_for(text, &row)
            .ok_or_else(|| format!("{field}: some of {text:?} has no key on its keyboard"))?;
        self.press(&format!("field-{field}"))?;
        let layout = kiosk_ui::keyboard::Layout::for_kind(row.kind);
        if layout != kiosk_ui::keyboard::Layout::Options {
            let held = row.value.as_deref().map_or(0, |v| match layout {
                kiosk_ui::keyboard::Layout::Text => v.chars().count(),
                _ => v.chars().filter(char::is_ascii_digit).count(),
            });
            for _ in 0..held {
                self.press("key-backspace")?;
            }
        }
        for key in &keys {
            self.press(key)?;
        }
        if layout != kiosk_ui::keyboard::Layout::Options {
            self.press("key-done")?;
        }
        self.flush();
        self.pump();
        let want = kiosk_ui::compose::nfc(text.trim()).to_string();
        let got = self
            .runtime
            .form_screen()
            .and_then(|f| f.fields.into_iter().find(|f| f.name == field))
            .and_then(|f| f.value)
            .unwrap_or_default();
        if got != want {
            return Err(format!(
                "{field}: typed {want:?} but the form holds {got:?}"
            ));
        }
        Ok(())
    }

    /// The frames of a citizen following the head-turn challenge.
    #[cfg(feature = "face")]
    fn face_scene(
        &mut self,
        frontal: &str,
        turned: &str,
    ) -> Result<Vec<kiosk_hal::camera::Frame>, String> {
        let load = |p: &str| {
            crate::simulator::load_frame(&self.path(p))
                .map_err(|e| format!("the photo {p}: {e}"))
                .and_then(|f| {
                    kiosk_firmware::face::BgrImage::from_frame(&f)
                        .map_err(|e| format!("the photo {p}: {e}"))
                })
        };
        let (frontal, turned) = (load(frontal)?, load(turned)?);
        if self.composer.is_none() {
            self.composer = crate::app::load_face_engine(&self.face_section)
                .map_err(|e| format!("the face engine does not load: {e:#}"))?;
        }
        let engine = self
            .composer
            .as_mut()
            .ok_or("face_scene needs the face models (cargo xtask setup)")?;
        let images = crate::simulator::scene::citizen_turning(engine, &frontal, &turned)
            .map_err(|e| format!("face_scene: {e}"))?;
        Ok(crate::simulator::scene::into_frames(images))
    }

    /// Without the face engine no face can be placed in a frame.
    #[cfg(not(feature = "face"))]
    fn face_scene(
        &mut self,
        _frontal: &str,
        _turned: &str,
    ) -> Result<Vec<kiosk_hal::camera::Frame>, String> {
        let _ = &self.face_section;
        Err("face_scene needs the kiosk built with the `face` feature".into())
    }

    /// Saves the screen as a PNG.
    pub fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let shot = kiosk_ui::headless::snapshot(self.frontend.kiosk().window())?;
        shot.save(path)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Plays `scenario` (from the file at `file`) on the sim board of
/// `config`, writing screenshots and `report.json` into `out`.
pub fn run(
    config: &Config,
    scenario: &Scenario,
    file: &Path,
    out: &Path,
    speaker: Option<Box<dyn SpeakerDevice>>,
) -> anyhow::Result<Report> {
    run_keeping(config, scenario, file, out, speaker).map(|(report, _)| report)
}

/// [`run`], and the player as the scenario left it (its runtime, store and
/// clock), for a test that looks further: the privacy scan exports the
/// staff log from it.
pub fn run_keeping(
    config: &Config,
    scenario: &Scenario,
    file: &Path,
    out: &Path,
    speaker: Option<Box<dyn SpeakerDevice>>,
) -> anyhow::Result<(Report, Player)> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the scenario runner measures its own machine time"
    )]
    let started = std::time::Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut player = Player::new(config, scenario, base, out, speaker)?;
    player.pump();
    let first = out.join("00-start.png");
    player.screenshot(&first)?;
    let cold_start_ms = started.elapsed().as_millis() as u64;
    let mut report = Report {
        scenario: scenario.name.clone(),
        ok: true,
        steps: Vec::new(),
        ticket: None,
        receipt: None,
        spoken: 0,
        virtual_ms: 0,
        machine_ms: 0,
        cold_start_ms,
    };
    for (i, step) in scenario.steps.iter().enumerate() {
        let result = player.step(step);
        let view = player.runtime().view();
        if let Some(t) = &view.ticket {
            report.ticket = Some(t.number.clone());
        }
        if let Some(r) = &view.receipt {
            report.receipt = Some(r.code.clone());
        }
        let name = format!("{:02}-{}.png", i + 1, step.slug());
        player.screenshot(&out.join(&name))?;
        let ok = result.is_ok();
        report.steps.push(StepReport {
            index: i + 1,
            step: step.describe(),
            ok,
            error: result.err(),
            screen: screen_name(player.screen()).to_owned(),
            screenshot: name,
            at_ms: player.now().as_millis(),
        });
        if !ok {
            report.ok = false;
            break;
        }
    }
    report.spoken = player.frontend().spoken().len();
    report.virtual_ms = player.now().as_millis();
    report.machine_ms = started.elapsed().as_millis() as u64;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(out.join("report.json"), json)
        .with_context(|| format!("cannot write the report in {}", out.display()))?;
    Ok((report, player))
}
