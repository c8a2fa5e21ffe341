//! Helpers shared by the end-to-end tests in `tests/tests/`.

pub mod centre;
pub mod face;
pub mod portal;
pub mod privacy;
pub mod webdriver;

use kiosk_board::config::{
    FrameSource, SimCameraConfig, SimConfig, SimPrinterConfig, SimReaderConfig,
};
use kiosk_board::runtime::Runtime;
use kiosk_board::runtime::virtual_time::VirtualClock;
use kiosk_board::simulator::{SimBoard, SimControls};
use kiosk_firmware::session::{SessionConfig, StepKind};
use kiosk_firmware::time::Timestamp;
use std::time::Duration;

/// 2026-11-25 09:00 in Hà Nội (02:00 UTC), a Wednesday, in Unix ms.
pub const NINE_AM_IN_HANOI: u64 = 1_795_572_000_000;

/// The simulator's staff PIN (`board/config/sim.toml`, README "Staff mode").
pub const SIM_STAFF_PIN: &str = "246810";

/// The shipped sim board's `[staff]` section.
pub fn sim_staff() -> kiosk_board::config::StaffSection {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
    match kiosk_board::config::Config::load(&shipped) {
        Ok(c) => c.staff,
        Err(e) => panic!("the shipped sim config must load: {e}"),
    }
}

/// A runtime on the simulator board, driven in virtual time.
pub struct SimKiosk {
    /// The runtime.
    pub runtime: Runtime,
    /// The simulator's controls.
    pub sim: SimControls,
    /// The virtual clock.
    pub now: Timestamp,
}

impl std::fmt::Debug for SimKiosk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKiosk")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl SimKiosk {
    /// A kiosk with the default session configuration.
    pub fn new() -> Self {
        Self::with(SessionConfig::default())
    }

    /// A kiosk that issues numbers: the shipped sim board's catalogue
    /// (`board/config/sim.toml`), a fresh store in `dir`, the wall clock at
    /// 09:00 in Hà Nội on Wednesday 25 November 2026 (inside opening
    /// hours), and `printer` instead of the simulated printer if given.
    pub fn with_queue(
        dir: &std::path::Path,
        printer: Option<Box<dyn kiosk_board::drivers::PrinterDevice>>,
    ) -> Self {
        Self::with_queue_at(dir, printer, NINE_AM_IN_HANOI)
    }

    /// A kiosk that issues numbers as [`SimKiosk::with_queue`], its wall
    /// clock at `epoch_ms` (Unix ms) at the start.
    pub fn with_queue_at(
        dir: &std::path::Path,
        printer: Option<Box<dyn kiosk_board::drivers::PrinterDevice>>,
        epoch_ms: u64,
    ) -> Self {
        let shipped =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
        let config = match kiosk_board::config::Config::load(&shipped) {
            Ok(c) => c,
            Err(e) => panic!("the shipped sim config must load: {e}"),
        };
        let Some(ticketing) = kiosk_board::services::ticketing::Ticketing::from_config(&config)
        else {
            panic!("the shipped sim config has a [queue]");
        };
        let epoch = kiosk_firmware::store::UnixMillis(epoch_ms);
        let store = match kiosk_firmware::store::Store::open(&dir.join("kiosk.db"), epoch) {
            Ok((store, _)) => store,
            Err(e) => panic!("the store must open: {e}"),
        };
        Self::build(SessionConfig::default(), printer, |runtime| {
            runtime.with_store(store, epoch).with_ticketing(ticketing)
        })
    }

    /// A kiosk that issues numbers (as [`SimKiosk::with_queue`]) and files
    /// online requests: the shipped catalogue and outbox key, `client` to
    /// reach the portal, randomness from a fixed seed.
    pub fn with_requests(
        dir: &std::path::Path,
        client: Box<dyn kiosk_firmware::requests::delivery::PortalClient + Send>,
    ) -> Self {
        let shipped =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/config/sim.toml");
        let config = match kiosk_board::config::Config::load(&shipped) {
            Ok(c) => c,
            Err(e) => panic!("the shipped sim config must load: {e}"),
        };
        let Some(requesting) = kiosk_board::services::requesting::Requesting::from_config(&config)
        else {
            panic!("the shipped sim config has [requests]");
        };
        let service = kiosk_board::services::requesting::RequestService::new(
            requesting,
            client,
            kiosk_board::services::requesting::Randomness::from_seed([7; 32]),
        );
        Self::with_queue(dir, None).map_runtime(|rt| rt.with_requests(service))
    }

    /// A kiosk with `session` as its configuration.
    pub fn with(session: SessionConfig) -> Self {
        Self::build(session, None, |runtime| runtime)
    }

    fn build(
        session: SessionConfig,
        printer: Option<Box<dyn kiosk_board::drivers::PrinterDevice>>,
        finish: impl FnOnce(Runtime) -> Runtime,
    ) -> Self {
        let config = SimConfig {
            card_reader: SimReaderConfig {
                name: "Sim Reader 0".into(),
                extended_length: true,
                cards_dir: None,
            },
            camera: SimCameraConfig {
                source: FrameSource::Pattern {
                    width: 64,
                    height: 48,
                },
            },
            printer: SimPrinterConfig {
                paper_width_mm: 80,
                output_dir: None,
            },
        };
        let (mut devices, sim) = match SimBoard::build(&config) {
            Ok(built) => built,
            Err(e) => panic!("the sim board must build: {e}"),
        };
        if let Some(printer) = printer {
            devices.printer = printer;
        }
        let trust = match kiosk_board::app::load_trust_list(Some(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/csca"),
        )) {
            Ok(t) => t,
            Err(e) => panic!("the simulator's trust list must load: {e:#}"),
        };
        // The simulator's staff PIN (no staff cards: a card on the reader
        // is never asked for its UID), for staff decisions at the kiosk.
        let mut staff = sim_staff();
        staff.policy.cards.clear();
        SimKiosk {
            runtime: finish(
                Runtime::new(devices, session, Timestamp::ZERO)
                    .with_trust_list(trust)
                    // 2026-11-25 00:00 UTC: certificates and expiry rules see a
                    // realistic date.
                    .with_epoch(kiosk_firmware::store::UnixMillis(1_795_564_800_000)),
            )
            .with_staff(&staff),
            sim,
            now: Timestamp::ZERO,
        }
    }

    /// Replaces the runtime by what `f` makes of it (to add a face
    /// service, a store).
    pub fn map_runtime(mut self, f: impl FnOnce(Runtime) -> Runtime) -> Self {
        let placeholder = Runtime::new(
            SimBoard::build(&SimConfig {
                card_reader: SimReaderConfig {
                    name: "unused".into(),
                    extended_length: true,
                    cards_dir: None,
                },
                camera: SimCameraConfig {
                    source: FrameSource::Pattern {
                        width: 16,
                        height: 16,
                    },
                },
                printer: SimPrinterConfig {
                    paper_width_mm: 80,
                    output_dir: None,
                },
            })
            .map(|(d, _)| d)
            .unwrap_or_else(|e| panic!("the sim board must build: {e}")),
            SessionConfig::default(),
            Timestamp::ZERO,
        );
        let runtime = std::mem::replace(&mut self.runtime, placeholder);
        self.runtime = f(runtime);
        self
    }

    /// Runs the loop for `d` of virtual time, ticking whenever the runtime
    /// asks to be woken, as the real loop does (the runtime's
    /// [`VirtualClock`]).
    pub fn run_for(&mut self, d: Duration) {
        let mut clock = VirtualClock::at(self.now);
        clock.tick_until(&mut self.runtime, self.now + d, &mut |_| false);
        self.now = clock.now;
    }

    /// Runs the loop until `done` says so, at most `within` of virtual
    /// time; returns whether it did.
    pub fn run_until(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&mut Runtime) -> bool,
    ) -> bool {
        let mut clock = VirtualClock::at(self.now);
        let met = clock.tick_until(&mut self.runtime, self.now + within, &mut done);
        self.now = clock.now;
        met
    }

    /// Runs the loop until the chip read under way (if any) has ended
    /// (asserted, within the read deadline).
    pub fn settle(&mut self) {
        let mut clock = VirtualClock::at(self.now);
        let ended = clock.settle_read(&mut self.runtime);
        self.now = clock.now;
        assert!(
            ended,
            "the chip read did not end: {:?}",
            self.runtime.view()
        );
    }

    /// Places `card` on the reader and lets a card poll pass: the kiosk
    /// then asks for the access key (asserted).
    pub fn present_card(&mut self, card: Box<dyn kiosk_board::simulator::SimCard>) {
        self.sim.insert_card(card);
        self.run_for(Duration::from_secs(1));
        assert_eq!(
            self.step(),
            StepKind::ExpectAccessKey,
            "{:?}",
            self.runtime.view()
        );
    }

    /// Gives the access key as the card QR of the simulator's `profile`
    /// (the scanner's path) and runs the loop until the chip is read.
    pub fn scan_qr_of(&mut self, profile: &str) {
        let qr = card_qr(profile).to_owned();
        self.give_key(kiosk_firmware::session::AccessKey::CardQr(qr));
    }

    /// Gives `key` and runs the loop until the chip read it starts ends.
    pub fn give_key(&mut self, key: kiosk_firmware::session::AccessKey) {
        self.runtime
            .input(kiosk_firmware::session::Input::AccessKey(key), self.now);
        self.settle();
    }

    /// The current step.
    pub fn step(&self) -> StepKind {
        self.runtime.step()
    }

    /// A member of staff enters `pin` on the kiosk's staff keypad, opened
    /// from the screen up now, key by key.
    pub fn staff_pin(&mut self, pin: &str) {
        use kiosk_firmware::staff::StaffInput;
        self.runtime.staff_input(StaffInput::Open, self.now);
        for digit in pin.bytes() {
            self.runtime
                .staff_input(StaffInput::Digit(digit - b'0'), self.now);
        }
        self.runtime.staff_input(StaffInput::Submit, self.now);
    }

    /// On the staff-assist screen: staff enter the simulator's PIN and
    /// approve (asserted: the PIN was taken).
    pub fn staff_approve(&mut self) {
        assert_eq!(
            self.step(),
            StepKind::StaffAssist,
            "{:?}",
            self.runtime.view()
        );
        self.staff_pin(SIM_STAFF_PIN);
        assert!(
            self.runtime.view().staff_authorized,
            "the staff PIN was not taken: {:?}",
            self.runtime.view()
        );
        self.runtime.input(
            kiosk_firmware::session::Input::StaffDecision(true),
            self.now,
        );
    }
}

impl Default for SimKiosk {
    fn default() -> Self {
        Self::new()
    }
}

pub mod pcscd;
pub mod printer;

/// The simulator's card profiles (`board/sim/cards`).
pub fn card_profile(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../board/sim/cards")
        .join(format!("{name}.toml"))
}

/// The virtual chip of a shipped card profile.
pub fn card(name: &str) -> kiosk_firmware::testkit::chip::VirtualChip {
    match kiosk_board::simulator::load_card(&card_profile(name)) {
        Ok(chip) => chip,
        Err(e) => panic!("card profile {name}: {e}"),
    }
}

/// The card QR text of the shipped profiles.
pub fn card_qr(name: &str) -> &'static str {
    match name {
        "cccd-2021" => {
            "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021"
        }
        "child-under-6" => {
            "003322000009||Trần Bảo Mẫu|01032022|Nam|Số 9 Đường Mẫu, Hà Nội|10082024|Số 9 Đường Mẫu, Hà Nội||Trần Văn Cha|Lê Thị Mẹ"
        }
        "bac-only-elderly" => {
            "003155000002|155000002|Trần Thị Mẫu|20031955|Nữ|Thôn Mẫu, Xã Mẫu|01062021"
        }
        other => panic!("no QR for {other}"),
    }
}
