//! The run loop never blocks (issue 15): the chip read advances one
//! exchange per turn, its progress reaches the screen as it happens,
//! Cancel acts mid-file, and systemd's watchdog is petted throughout a
//! slow read.

use super::virtual_time::VirtualClock;
use super::*;
use crate::drivers::{DeviceError, ReaderDevice};
use crate::simulator::{SimBoard, SimControls};
use kiosk_firmware::testkit::CardProfile;
use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, TransportCapabilities};
use std::path::Path;

const CARD_QR: &str =
    "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

/// A JPEG of at least `bytes` bytes (a 480×640 textured gradient, at the
/// lowest quality that reaches the size).
fn photo(bytes: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(480, 640, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 37;
        image::Rgb([
            u8::try_from((x / 2 + n) % 256).unwrap_or(0),
            u8::try_from((y / 3 + n) % 256).unwrap_or(0),
            u8::try_from((x + y) / 5 % 256).unwrap_or(0),
        ])
    });
    let mut out = Vec::new();
    for quality in (5..=95).step_by(2) {
        out.clear();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&img)
            .unwrap();
        if out.len() >= bytes {
            break;
        }
    }
    assert!(out.len() >= bytes, "the photo reached {} bytes", out.len());
    out
}

/// The shipped `cccd-2021` card with a 20 KB photo, read in short APDUs
/// (the chip takes no extended length: about 95 READ BINARY for the
/// photo), with `faults` (a `[faults]` body).
fn card_with_20_kb_photo(faults: &str) -> kiosk_firmware::testkit::chip::VirtualChip {
    let cards = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/cards");
    let text = std::fs::read_to_string(cards.join("cccd-2021.toml"))
        .unwrap()
        .replace("extended_length = true", "extended_length = false");
    let profile: CardProfile = toml::from_str(&format!("{text}\n[faults]\n{faults}")).unwrap();
    profile
        .chip_with_photo(&cards, Some(photo(20 * 1024)))
        .unwrap()
}

fn runtime_with_store() -> (Runtime, SimControls, tempfile::TempDir) {
    let config = crate::simulator::test_config(false);
    let (devices, controls) = SimBoard::build(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let epoch = UnixMillis(1_795_572_000_000);
    let (store, _) = Store::open(&dir.path().join("kiosk.db"), epoch).unwrap();
    let rt =
        Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO).with_store(store, epoch);
    (rt, controls, dir)
}

fn key() -> Input {
    Input::AccessKey(AccessKey::CardQr(CARD_QR.into()))
}

#[test]
fn cancel_mid_photo_returns_to_attract_within_200_ms_of_virtual_time_holding_nothing() {
    let (mut rt, controls, _dir) = runtime_with_store();
    controls.insert_card(Box::new(card_with_20_kb_photo("")));
    rt.tick(Timestamp::ZERO);
    assert_eq!(rt.step(), StepKind::ExpectAccessKey);
    rt.input(key(), Timestamp::ZERO);
    assert!(rt.reading_card(), "the read goes on in the loop");
    // Run the loop until the photo (the one file over 20 KB) is half read.
    let mut clock = VirtualClock::at(Timestamp::ZERO);
    let mid_photo = clock.tick_until(&mut rt, Timestamp::from_secs(20), &mut |rt| {
        rt.take_events().iter().any(|e| {
            matches!(e, Event::ReadProgress { done, total }
                if *total > 20 * 1024 && *done > *total / 2 && *done < *total)
        })
    });
    assert!(mid_photo, "the photo was being read: {:?}", rt.view());
    assert_eq!(rt.step(), StepKind::Reading);
    assert!(rt.holds_personal_data());
    let cancelled_at = clock.now;
    rt.input(Input::Cancel, cancelled_at);
    let back = clock.tick_until(
        &mut rt,
        cancelled_at + Duration::from_millis(200),
        &mut |rt| rt.step() == StepKind::Attract,
    );
    assert!(back, "attract within 200 ms: {:?}", rt.view());
    assert!(clock.now.saturating_since(cancelled_at) <= Duration::from_millis(200));
    assert!(!rt.reading_card());
    assert!(!rt.holds_personal_data());
    let log = rt.store().unwrap().recent_audit(10).unwrap();
    let abandoned = log
        .iter()
        .find(|e| e.kind == "card_read_abandoned")
        .expect("the abandoned read is audited");
    assert!(
        abandoned.detail.contains(r#""reason":"cancelled""#),
        "{}",
        abandoned.detail
    );
    // The reader is back and the card is disconnected: taking it away
    // and putting it back starts a fresh journey.
    controls.remove_card();
    clock.tick_until(&mut rt, clock.now + Duration::from_secs(1), &mut |_| false);
    controls.insert_card(Box::new(card_with_20_kb_photo("")));
    clock.tick_until(&mut rt, clock.now + Duration::from_secs(1), &mut |_| false);
    assert_eq!(rt.step(), StepKind::ExpectAccessKey);
}

#[test]
fn taking_the_card_away_mid_read_ends_the_read_with_a_card_removed_notice() {
    let (mut rt, controls, _dir) = runtime_with_store();
    controls.insert_card(Box::new(card_with_20_kb_photo("")));
    rt.tick(Timestamp::ZERO);
    rt.input(key(), Timestamp::ZERO);
    let mut clock = VirtualClock::at(Timestamp::ZERO);
    clock.tick_until(&mut rt, Timestamp::from_millis(30), &mut |_| false);
    assert!(rt.reading_card(), "still reading after 30 exchanges");
    controls.remove_card();
    let at = clock.now;
    assert!(
        clock.tick_until(&mut rt, at + Duration::from_millis(200), &mut |rt| {
            !rt.reading_card()
        })
    );
    assert_eq!(rt.view().fault, Some(Fault::CardRemoved));
    assert!(!rt.holds_personal_data());
}

/// A frontend that gives the access key once the kiosk asks for it,
/// records what it was shown, and quits once the read is over. Each wait
/// it also counts the watchdog pets systemd got meanwhile, by step.
struct Watcher {
    shown: Vec<(StepKind, Option<u8>, bool)>,
    key_given: bool,
    waits: u32,
    systemd: Option<std::os::unix::net::UnixDatagram>,
    pets_while_reading: u32,
}

impl Watcher {
    fn new(systemd: Option<std::os::unix::net::UnixDatagram>) -> Self {
        Watcher {
            shown: Vec::new(),
            key_given: false,
            waits: 0,
            systemd,
            pets_while_reading: 0,
        }
    }

    fn step(&self) -> Option<StepKind> {
        self.shown.last().map(|s| s.0)
    }
}

impl Frontend for Watcher {
    fn show(&mut self, view: &SessionView, events: &[Event]) {
        let photo = events
            .iter()
            .any(|e| matches!(e, Event::ReadProgress { total, .. } if *total > 20 * 1024));
        self.shown.push((view.step, view.read_percent, photo));
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        self.waits += 1;
        if let Some(server) = &self.systemd {
            let mut buf = [0u8; 64];
            while let Ok(n) = server.recv(&mut buf) {
                if &buf[..n] == b"WATCHDOG=1" && self.step() == Some(StepKind::Reading) {
                    self.pets_while_reading += 1;
                }
            }
        }
        if self.waits > 100_000 {
            return FrontendInput::Quit;
        }
        match self.step() {
            Some(StepKind::ExpectAccessKey) if !self.key_given => {
                self.key_given = true;
                FrontendInput::Input(key())
            }
            Some(StepKind::Attract | StepKind::ExpectAccessKey | StepKind::Reading) | None => {
                // As a real frontend does: nothing comes before the
                // runtime's next wake-up.
                #[expect(clippy::disallowed_methods, reason = "a frontend waiting for input")]
                std::thread::sleep(timeout);
                FrontendInput::Nothing
            }
            Some(_) => FrontendInput::Quit,
        }
    }
}

#[test]
fn the_screen_shows_the_progress_of_a_20_kb_photo_as_it_is_read() {
    let (mut rt, controls, _dir) = runtime_with_store();
    controls.insert_card(Box::new(card_with_20_kb_photo("")));
    let mut watcher = Watcher::new(None);
    rt.run(&mut watcher, &AtomicBool::new(false));
    assert!(watcher.key_given);
    let during_photo: std::collections::BTreeSet<u8> = watcher
        .shown
        .iter()
        .filter(|(step, _, photo)| *step == StepKind::Reading && *photo)
        .filter_map(|(_, percent, _)| *percent)
        .collect();
    assert!(
        during_photo.len() >= 5,
        "distinct progress values on screen during the photo: {during_photo:?}"
    );
    assert_ne!(watcher.step(), Some(StepKind::Reading), "the read ended");
}

/// A reader whose every exchange takes `delay` of real time, as a slow
/// contactless link does; its calls block, so the runtime reads it on a
/// worker thread.
struct SlowReader {
    inner: Box<dyn ReaderDevice>,
    delay: Duration,
}

impl kiosk_hal::ErrorType for SlowReader {
    type Error = DeviceError;
}

impl CardReader for SlowReader {
    fn presence(&mut self) -> Result<kiosk_hal::card::Presence, DeviceError> {
        self.inner.presence()
    }
    fn connect(&mut self) -> Result<CardInfo, DeviceError> {
        self.inner.connect()
    }
    fn disconnect(&mut self) -> Result<(), DeviceError> {
        self.inner.disconnect()
    }
}

impl ApduTransport for SlowReader {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, DeviceError> {
        #[expect(clippy::disallowed_methods, reason = "a slow card link, in real time")]
        std::thread::sleep(self.delay);
        self.inner.transmit(command, response)
    }
    fn capabilities(&self) -> TransportCapabilities {
        self.inner.capabilities()
    }
}

#[test]
fn the_watchdog_is_petted_throughout_a_slow_card_read_on_a_blocking_reader() {
    let config = crate::simulator::test_config(false);
    let (mut devices, controls) = SimBoard::build(&config).unwrap();
    let inner = std::mem::replace(&mut devices.reader, Box::new(crate::drivers::LentReader));
    devices.reader = Box::new(SlowReader {
        inner,
        delay: Duration::from_millis(40),
    });
    devices.blocking = true;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    server.set_nonblocking(true).unwrap();
    let notifier = crate::drivers::notify::Notifier::new(
        path.to_str().unwrap(),
        Some(Duration::from_millis(20)),
    )
    .unwrap();
    let mut rt =
        Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO).with_notifier(notifier);
    // About 15 exchanges of 40 ms: the read takes 0.6 s or more, and the
    // watchdog wants a pet every 20 ms.
    controls.insert_card(Box::new(card_with_20_kb_photo("")));
    let mut watcher = Watcher::new(Some(server));
    rt.run(&mut watcher, &AtomicBool::new(false));
    assert!(watcher.key_given);
    assert!(
        watcher.shown.iter().any(|s| s.0 == StepKind::Reading),
        "the read was shown"
    );
    assert_ne!(watcher.step(), Some(StepKind::Reading), "the read ended");
    assert!(
        watcher.pets_while_reading >= 5,
        "pets while the chip was read: {}",
        watcher.pets_while_reading
    );
}

#[test]
fn the_watchdog_is_petted_in_virtual_time_while_a_dripping_chip_is_read() {
    let config = crate::simulator::test_config(false);
    let (devices, controls) = SimBoard::build(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    server.set_nonblocking(true).unwrap();
    let notifier = crate::drivers::notify::Notifier::new(
        path.to_str().unwrap(),
        Some(Duration::from_millis(10)),
    )
    .unwrap();
    let mut rt =
        Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO).with_notifier(notifier);
    // 64 bytes per READ BINARY: hundreds of exchanges for the photo.
    controls.insert_card(Box::new(card_with_20_kb_photo("drip = 64")));
    rt.tick(Timestamp::ZERO);
    rt.input(key(), Timestamp::ZERO);
    let mut clock = VirtualClock::at(Timestamp::ZERO);
    let mut pets = 0;
    let mut buf = [0u8; 64];
    let ended = clock.tick_until(&mut rt, Timestamp::from_secs(30), &mut |rt| {
        while let Ok(n) = server.recv(&mut buf) {
            if &buf[..n] == b"WATCHDOG=1" && rt.reading_card() {
                pets += 1;
            }
        }
        !rt.reading_card()
    });
    assert!(ended, "the read ended: {:?}", rt.view());
    let read_for = clock.now.saturating_since(Timestamp::ZERO);
    assert!(read_for > Duration::from_millis(100), "{read_for:?}");
    // One pet per 10 ms of the read (the last one may fall after it).
    let expected = u32::try_from(read_for.as_millis() / 10).unwrap_or(u32::MAX);
    assert!(pets + 1 >= expected, "{pets} pets in {read_for:?}");
}

// Printing off the loop (issue 16): a print job holds the printer on a
// worker thread; the loop goes on meanwhile.

/// The queue of the unit tests: one service `A`, open all day long on
/// weekdays (the wall clock is Wednesday 2026-11-25 09:00 in Hà Nội).
fn queue_ticketing() -> crate::services::ticketing::Ticketing {
    let config: kiosk_firmware::queue::QueueConfig = toml::from_str(
        r#"
status_url = "https://dichvucong.example.gov.vn/hang-doi"
hours = { days = ["mon", "tue", "wed", "thu", "fri"], open = ["00:00-23:59"] }
[[services]]
code = "A"
name_vi = "Hộ tịch"
name_en = "Civil status"
counters = [1, 2]
daily_limit = 100
"#,
    )
    .unwrap();
    let catalog = kiosk_firmware::queue::Catalog::from_config(&config).unwrap();
    crate::services::ticketing::Ticketing {
        queue: kiosk_firmware::queue::Queue::new(catalog),
        center_name: "Trung tâm (mô phỏng)".into(),
        kiosk_id: "KIOSK-SIM-001".into(),
        paper: kiosk_firmware::ticket::raster::PaperWidth::Mm80,
    }
}

/// A kiosk that issues numbers on a blocking board (its printer is lent to
/// a worker for each job), told to systemd through a notifier that wants
/// a watchdog pet every 20 ms; the socket systemd would read.
fn printing_kiosk() -> (
    Runtime,
    SimControls,
    std::os::unix::net::UnixDatagram,
    tempfile::TempDir,
) {
    let config = crate::simulator::test_config(false);
    let (mut devices, controls) = SimBoard::build(&config).unwrap();
    devices.blocking = true;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let systemd = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let notifier = crate::drivers::notify::Notifier::new(
        path.to_str().unwrap(),
        Some(Duration::from_millis(20)),
    )
    .unwrap();
    let epoch = UnixMillis(1_795_572_000_000);
    let (store, _) = Store::open(&dir.path().join("kiosk.db"), epoch).unwrap();
    let rt = Runtime::new(devices, SessionConfig::default(), Timestamp::ZERO)
        .with_store(store, epoch)
        .with_ticketing(queue_ticketing())
        .with_notifier(notifier);
    (rt, controls, systemd, dir)
}

fn take_a_number() -> Input {
    Input::Choose(kiosk_firmware::session::MenuChoice::TakeNumber {
        service: "A".into(),
        priority: None,
    })
}

/// A frontend that plays a walk-in who takes a number, records every
/// screen, counts the watchdog pets systemd got while a ticket was
/// printing, and quits at the step `until` (or after `cancel_after` waits
/// on the printing screen, it touches Cancel first).
struct Walker {
    systemd: std::os::unix::net::UnixDatagram,
    shown: Vec<SessionView>,
    pets_while_printing: u32,
    waits_while_printing: u32,
    cancel_after: Option<u32>,
    cancelled: bool,
    until: StepKind,
    waits: u32,
}

impl Walker {
    fn new(systemd: std::os::unix::net::UnixDatagram, until: StepKind) -> Self {
        Walker {
            systemd,
            shown: Vec::new(),
            pets_while_printing: 0,
            waits_while_printing: 0,
            cancel_after: None,
            cancelled: false,
            until,
            waits: 0,
        }
    }

    fn step(&self) -> Option<StepKind> {
        self.shown.last().map(|v| v.step)
    }
}

impl Frontend for Walker {
    fn show(&mut self, view: &SessionView, _events: &[Event]) {
        self.shown.push(view.clone());
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        self.waits += 1;
        let mut buf = [0u8; 64];
        while let Ok(n) = self.systemd.recv(&mut buf) {
            if &buf[..n] == b"WATCHDOG=1" && self.step() == Some(StepKind::IssuingTicket) {
                self.pets_while_printing += 1;
            }
        }
        if self.waits > 100_000 {
            return FrontendInput::Quit;
        }
        match self.step() {
            Some(StepKind::Attract) if !self.cancelled && self.shown.len() == 1 => {
                FrontendInput::Input(Input::WalkIn)
            }
            Some(StepKind::Menu) => FrontendInput::Input(take_a_number()),
            Some(step) if step == self.until => FrontendInput::Quit,
            Some(StepKind::IssuingTicket) => {
                self.waits_while_printing += 1;
                if self
                    .cancel_after
                    .is_some_and(|n| self.waits_while_printing >= n)
                    && !self.cancelled
                {
                    self.cancelled = true;
                    return FrontendInput::Input(Input::Cancel);
                }
                #[expect(clippy::disallowed_methods, reason = "a frontend waiting for input")]
                std::thread::sleep(timeout);
                FrontendInput::Nothing
            }
            _ => {
                #[expect(clippy::disallowed_methods, reason = "a frontend waiting for input")]
                std::thread::sleep(timeout);
                FrontendInput::Nothing
            }
        }
    }
}

#[test]
fn the_watchdog_is_petted_throughout_a_slow_print_and_the_number_shows_when_it_ends() {
    let (mut rt, controls, systemd, _dir) = printing_kiosk();
    // Status, flush, status: about 450 ms on the printer.
    controls.set_printer_delay(Duration::from_millis(150));
    let mut walker = Walker::new(systemd, StepKind::ShowingTicket);
    rt.run(&mut walker, &AtomicBool::new(false));
    let last = walker.shown.last().unwrap();
    assert_eq!(last.step, StepKind::ShowingTicket, "{last:?}");
    let ticket = last.ticket.clone().unwrap();
    assert_eq!(ticket.number, "A001");
    assert!(ticket.printed, "{ticket:?}");
    assert_eq!(controls.print_jobs(), 1);
    // The loop went on while the printer worked: the printing screen was
    // shown, the frontend waited again and again, systemd was petted.
    assert!(
        walker
            .shown
            .iter()
            .any(|v| v.step == StepKind::IssuingTicket),
        "the printing screen was shown"
    );
    assert!(
        walker.waits_while_printing >= 10,
        "turns while printing: {}",
        walker.waits_while_printing
    );
    assert!(
        walker.pets_while_printing >= 10,
        "pets while printing: {}",
        walker.pets_while_printing
    );
    assert_eq!(rt.counters().tickets_printed, 1);
    assert!(!rt.printing());
}

#[test]
fn cancel_acts_during_a_slow_print_and_the_number_is_still_printed_and_recorded() {
    let (mut rt, controls, systemd, _dir) = printing_kiosk();
    controls.set_printer_delay(Duration::from_millis(300));
    let mut walker = Walker::new(systemd, StepKind::ShowingTicket);
    walker.cancel_after = Some(3);
    // Quit once back at the attract screen after the Cancel.
    walker.until = StepKind::Attract;
    #[expect(clippy::disallowed_methods, reason = "the test measures real time")]
    let started = std::time::Instant::now();
    rt.run(&mut walker, &AtomicBool::new(false));
    assert!(walker.cancelled);
    assert_eq!(walker.step(), Some(StepKind::Attract));
    assert!(
        rt.printing(),
        "the attract screen came back before the printer finished"
    );
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "Cancel acted at once: {:?}",
        started.elapsed()
    );
    // The job goes on without the session; in virtual time the loop waits
    // for the worker, then records it.
    let mut clock = VirtualClock::at(Timestamp::from_secs(60));
    assert!(clock.tick_until(&mut rt, Timestamp::from_secs(70), &mut |rt| !rt.printing()));
    assert_eq!(controls.print_jobs(), 1, "the number drawn was printed");
    let log = rt.store().unwrap().recent_audit(10).unwrap();
    let printed = log.iter().find(|e| e.kind == "ticket_printed").unwrap();
    assert!(
        printed.detail.contains(r#""number":"A001""#),
        "{}",
        printed.detail
    );
    assert!(rt.store().unwrap().unprinted_tickets(5).unwrap().is_empty());
    assert_eq!(rt.step(), StepKind::Attract, "nobody was told of it");
    assert!(!rt.holds_personal_data());
}

#[test]
fn a_printer_that_never_answers_ends_in_no_answer_with_the_number_on_screen() {
    let (rt, controls, systemd, _dir) = printing_kiosk();
    let mut rt = rt.with_print_deadline(Duration::from_millis(300));
    controls.set_printer_hung(true);
    let mut walker = Walker::new(systemd, StepKind::ShowingTicket);
    rt.run(&mut walker, &AtomicBool::new(false));
    let last = walker.shown.last().unwrap();
    assert_eq!(last.step, StepKind::ShowingTicket, "{last:?}");
    let ticket = last.ticket.clone().unwrap();
    assert_eq!(ticket.number, "A001", "the number is shown");
    assert!(!ticket.printed);
    assert_eq!(ticket.print_problem, Some(PrintProblem::Offline));
    assert_eq!(
        rt.printer_alert(),
        Some(PrinterAlert::CannotPrint(PrintProblem::Offline))
    );
    assert!(
        walker.pets_while_printing >= 5,
        "{}",
        walker.pets_while_printing
    );
    // Not lost: the ticket is recorded as drawn and not printed, for a
    // re-print.
    let unprinted = rt.store().unwrap().unprinted_tickets(5).unwrap();
    assert_eq!(unprinted.len(), 1);
    assert_eq!(unprinted[0].number, "A001");
    assert_eq!(unprinted[0].last_print_problem.as_deref(), Some("offline"));
    let log = rt.store().unwrap().recent_audit(10).unwrap();
    assert!(
        log.iter().any(|e| e.kind == "ticket_not_printed"),
        "{log:?}"
    );
    // While the worker is stuck the printer is away: a re-print fails at
    // once with the same problem, the loop still never blocks.
    let at = Timestamp::from_secs(100);
    rt.reprint_ticket("A001", at).unwrap();
    let mut clock = VirtualClock::at(at);
    clock.tick_until(&mut rt, at + Duration::from_millis(50), &mut |rt| {
        !rt.printing()
    });
    assert_eq!(controls.print_jobs(), 0);
    // Staff free the printer: the stuck job comes out late, the printer
    // comes home, and the re-print works.
    controls.set_printer_hung(false);
    #[expect(clippy::disallowed_methods, reason = "the test measures real time")]
    let freed = std::time::Instant::now();
    while controls.print_jobs() == 0 && freed.elapsed() < Duration::from_secs(10) {
        #[expect(
            clippy::disallowed_methods,
            reason = "the stuck worker returns in real time"
        )]
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(controls.print_jobs(), 1, "the stuck job came out late");
    let mut now = clock.now;
    loop {
        now = now + Duration::from_secs(1);
        rt.reprint_ticket("A001", now).unwrap();
        clock = VirtualClock::at(now);
        clock.tick_until(&mut rt, now + Duration::from_millis(200), &mut |rt| {
            !rt.printing()
        });
        assert!(!rt.printing());
        if rt.printer_alert().is_none() {
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(10),
            "the printer came home"
        );
    }
    assert_eq!(controls.print_jobs(), 2, "the re-print came out");
    assert_eq!(rt.printer_alert(), None);
    assert!(rt.store().unwrap().unprinted_tickets(5).unwrap().is_empty());
}

/// A frontend that opens the staff panel with the simulator's PIN, counts
/// the turns and the watchdog pets while the panel's printer row says
/// "checking…", and quits once the row says something else.
struct PanelWatcher {
    systemd: std::os::unix::net::UnixDatagram,
    touches: std::collections::VecDeque<kiosk_firmware::staff::StaffInput>,
    panel: Option<kiosk_firmware::staff::PanelView>,
    saw_checking: bool,
    pets_while_checking: u32,
    waits_while_checking: u32,
    waits: u32,
}

impl PanelWatcher {
    fn printer_row(&self) -> Option<&kiosk_firmware::staff::HealthRow> {
        self.panel
            .as_ref()
            .and_then(|p| p.health.iter().find(|r| r.device == "printer"))
    }
}

impl Frontend for PanelWatcher {
    fn show(&mut self, _view: &SessionView, _events: &[Event]) {}

    fn show_staff(&mut self, view: Option<&kiosk_firmware::staff::StaffView>) {
        self.panel = view.and_then(|v| v.panel.clone());
    }

    fn wait_input(&mut self, timeout: Duration) -> FrontendInput {
        self.waits += 1;
        let checking = self
            .printer_row()
            .is_some_and(|r| r.reason.starts_with("checking"));
        self.saw_checking |= checking;
        let mut buf = [0u8; 64];
        while let Ok(n) = self.systemd.recv(&mut buf) {
            if &buf[..n] == b"WATCHDOG=1" && checking {
                self.pets_while_checking += 1;
            }
        }
        if checking {
            self.waits_while_checking += 1;
        }
        if self.waits > 100_000 {
            return FrontendInput::Quit;
        }
        if let Some(touch) = self.touches.pop_front() {
            return FrontendInput::Staff(touch);
        }
        if self.printer_row().is_some() && !checking {
            return FrontendInput::Quit;
        }
        #[expect(clippy::disallowed_methods, reason = "a frontend waiting for input")]
        std::thread::sleep(timeout);
        FrontendInput::Nothing
    }
}

#[test]
fn the_loop_turns_and_the_watchdog_is_petted_while_the_panels_printer_check_hangs() {
    use kiosk_firmware::staff::{Level, PaperState, StaffInput};
    let (rt, controls, systemd, _dir) = printing_kiosk();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let mut staff = crate::config::Config::load(&shipped).unwrap().staff;
    staff.policy.cards.clear();
    let mut rt = rt
        .with_staff(&staff)
        .with_panel_check_deadline(Duration::from_millis(300));
    controls.set_printer_hung(true);
    let mut touches = std::collections::VecDeque::from([StaffInput::Open]);
    touches.extend("246810".bytes().map(|d| StaffInput::Digit(d - b'0')));
    touches.push_back(StaffInput::Submit);
    let mut watcher = PanelWatcher {
        systemd,
        touches,
        panel: None,
        saw_checking: false,
        pets_while_checking: 0,
        waits_while_checking: 0,
        waits: 0,
    };
    #[expect(clippy::disallowed_methods, reason = "the test measures real time")]
    let started = std::time::Instant::now();
    rt.run(&mut watcher, &AtomicBool::new(false));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The panel came up at once with the quick rows, the printer's
    // "checking…" while the loop went on turning and petting systemd.
    assert!(watcher.saw_checking, "the printer row said checking");
    assert!(
        watcher.waits_while_checking >= 5,
        "turns while checking: {}",
        watcher.waits_while_checking
    );
    assert!(
        watcher.pets_while_checking >= 5,
        "pets while checking: {}",
        watcher.pets_while_checking
    );
    let panel = watcher.panel.clone().expect("the panel is up");
    let row = |device: &str| {
        panel
            .health
            .iter()
            .find(|r| r.device == device)
            .unwrap_or_else(|| panic!("no {device} row: {panel:?}"))
    };
    let printer = row("printer");
    assert_eq!(printer.level, Level::Fail);
    assert!(printer.reason.starts_with("does not answer"), "{printer:?}");
    assert_eq!(panel.paper, PaperState::Offline);
    assert_eq!(row("camera").level, Level::Ok, "{panel:?}");
    assert_eq!(row("card_reader").level, Level::Ok, "{panel:?}");
    // The printer comes home when the stuck call returns.
    controls.set_printer_hung(false);
    let mut now = Timestamp::from_secs(100);
    let mut home = false;
    for _ in 0..2000 {
        rt.tick(now);
        if rt.devices.printer.status().is_ok() {
            home = true;
            break;
        }
        now = now + Duration::from_millis(5);
        #[expect(clippy::disallowed_methods, reason = "the worker returns in real time")]
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(home, "the printer came home");
}

#[test]
fn the_panels_printer_row_says_busy_while_the_print_desk_holds_the_printer() {
    use kiosk_firmware::staff::{Level, StaffAction, StaffInput};
    let (rt, controls, _systemd, _dir) = printing_kiosk();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    let mut staff = crate::config::Config::load(&shipped).unwrap().staff;
    staff.policy.cards.clear();
    let mut rt = rt.with_staff(&staff);
    controls.set_printer_delay(Duration::from_millis(100));
    let printer_row = |rt: &Runtime, now: Timestamp| {
        let view = rt.staff_view(now).unwrap();
        let panel = view.panel.unwrap();
        panel
            .health
            .into_iter()
            .find(|r| r.device == "printer")
            .unwrap()
    };
    let now = Timestamp::from_secs(1);
    rt.staff_input(StaffInput::Open, now);
    for d in "246810".bytes() {
        rt.staff_input(StaffInput::Digit(d - b'0'), now);
    }
    rt.staff_input(StaffInput::Submit, now);
    assert!(printer_row(&rt, now).reason.starts_with("checking"));
    rt.settle_workers(Duration::from_secs(5));
    rt.tick(now);
    assert_eq!(printer_row(&rt, now).reason, "ready");
    // A test page on the printer: a refresh does not wait for it.
    rt.staff_input(StaffInput::Action(StaffAction::TestPrint), now);
    assert!(rt.printing());
    rt.staff_input(StaffInput::Action(StaffAction::Refresh), now);
    let row = printer_row(&rt, now);
    assert_eq!(row.reason, "busy: printing");
    assert_eq!(row.level, Level::Warn);
    // The page ends, the panel refreshes and checks the printer again.
    rt.settle_workers(Duration::from_secs(5));
    rt.tick(now);
    assert!(!rt.printing());
    assert_eq!(controls.print_jobs(), 1);
    rt.settle_workers(Duration::from_secs(5));
    rt.tick(now);
    assert_eq!(printer_row(&rt, now).reason, "ready");
}
