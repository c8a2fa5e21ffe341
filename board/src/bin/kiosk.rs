//! `kiosk`: the kiosk firmware application.
//!
//! Builds the configured board and runs the citizen journey on it, shown
//! with `--ui window` (the default when built with a window: the `desktop`
//! or `production` features) in
//! the Slint screens in a window, with spoken guidance through espeak-ng;
//! or with `--ui console` as text lines, the tester typing commands (`help`
//! lists them) that stand for the citizen's touches and, on the simulator,
//! for putting a card on the reader. The console also runs beside the
//! window on the simulator, for its card and camera commands.
//!
//! On a board, `--ui sway` (what the systemd unit runs) writes the kiosk
//! compositor's configuration and starts `sway` in its place, which shows
//! this program's window (`--ui window`) full screen on the display,
//! rotated as `[linux.display]` says ([`kiosk_board::drivers::display`],
//! docs/architecture.md, "The display").
//!
//! Before anything else the process makes itself non-dumpable, and on a
//! `[linux]` board it refuses the simulator's committed secrets and an
//! outbox key file others could read ([`kiosk_board::hardening`]).

use anyhow::Context as _;
use clap::Parser;
use kiosk_board::config::BoardKind;
use kiosk_board::frontends::console::Console;
use kiosk_board::runtime::Runtime;
use kiosk_firmware::time::Timestamp;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[derive(Parser, Debug)]
#[command(name = "kiosk", version, about = "The CCCD kiosk firmware")]
struct Cli {
    /// The board to run on.
    #[arg(long, value_enum, default_value_t = BoardKind::Sim)]
    board: BoardKind,
    /// The board configuration file (default: $KIOSK_CONFIG or board/config/<board>.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the journey is shown.
    #[arg(long, value_enum, default_value_t = UiKind::default())]
    ui: UiKind,
    /// No spoken guidance.
    #[arg(long)]
    mute: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum UiKind {
    /// The Slint screens in a window (needs the `wayland` feature, which
    /// `desktop` and `production` include).
    Window,
    /// Text lines and typed commands.
    Console,
    /// The kiosk compositor (`/usr/bin/sway`) on the board's display,
    /// running this program with `--ui window` (a `[linux]` board).
    Sway,
}

impl Default for UiKind {
    fn default() -> UiKind {
        if cfg!(feature = "wayland") {
            UiKind::Window
        } else {
            UiKind::Console
        }
    }
}

#[cfg(feature = "face")]
fn with_face(runtime: Runtime, config: &kiosk_board::config::Config) -> anyhow::Result<Runtime> {
    // A kiosk without working face models still serves citizens: staff
    // confirm identities, and `kioskctl doctor` says what to fix.
    Ok(match kiosk_board::app::face_service(config) {
        Ok(Some(face)) => {
            tracing::info!(models = ?face.models(), "face verification ready");
            runtime.with_face(face)
        }
        Ok(None) => {
            tracing::warn!("no face models configured: face checks go to staff");
            runtime.without_face("no face model folder configured")
        }
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "face verification unavailable: face checks go to staff"
            );
            runtime.without_face(format!("{e:#}"))
        }
    })
}

#[cfg(not(feature = "face"))]
fn with_face(runtime: Runtime, _config: &kiosk_board::config::Config) -> anyhow::Result<Runtime> {
    tracing::warn!("built without the face engine: face checks go to staff");
    Ok(runtime)
}

fn main() -> anyhow::Result<()> {
    #[expect(
        clippy::disallowed_methods,
        reason = "a binary: the cold start is measured from here"
    )]
    let started = std::time::Instant::now();
    kiosk_board::app::init_logging("info");
    let cli = Cli::parse();
    kiosk_board::hardening::make_non_dumpable()?;
    let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
    if config.board == BoardKind::Linux {
        kiosk_board::hardening::check_board_config(&config)
            .context("the kiosk refuses to start on this board")?;
    }
    match cli.ui {
        UiKind::Console => run_console(config),
        UiKind::Window => window::run(config, cli.mute, started),
        UiKind::Sway => exec_sway(&config, cli.mute),
    }
}

/// Replaces this process by `sway` showing the kiosk's window: the
/// compositor keeps the systemd unit's main PID, and the kiosk under it
/// pets the watchdog (`WATCHDOG_PID` would name the compositor, so it is
/// not passed on; the unit's `NotifyAccess=all` accepts the kiosk's
/// messages).
fn exec_sway(config: &kiosk_board::config::Config, mute: bool) -> anyhow::Result<()> {
    use kiosk_board::drivers::display;
    use std::os::unix::process::CommandExt as _;
    let Some(linux) = &config.linux else {
        anyhow::bail!(
            "--ui sway is for a [linux] board; on the simulator use --ui window or --ui console"
        );
    };
    let kiosk = display::KioskCommand {
        program: std::env::current_exe().context("cannot find the kiosk's own binary")?,
        // sway starts the kiosk from its own working folder.
        config: std::fs::canonicalize(&config.path)
            .with_context(|| format!("cannot find the configuration {}", config.path.display()))?,
        mute,
    };
    // The unit's RuntimeDirectory= (systemd names it in RUNTIME_DIRECTORY):
    // the one folder under /run the unit may write, for sway's
    // configuration and sockets. pam_systemd's XDG_RUNTIME_DIR
    // (/run/user/UID) is read-only there.
    let dir = display::runtime_dir()?;
    let text = display::sway_config(&linux.display, &kiosk)?;
    let file = display::write_sway_config(&dir, &text)?;
    let mut cmd = std::process::Command::new(display::SWAY);
    cmd.arg("-c").arg(&file);
    cmd.env_remove("WATCHDOG_PID");
    cmd.env("XDG_RUNTIME_DIR", &dir);
    tracing::info!(
        rotation = linux.display.rotation,
        config = %file.display(),
        "starting the kiosk compositor"
    );
    let e = cmd.exec();
    Err(anyhow::Error::new(e).context(format!(
        "cannot start the kiosk compositor {} (Debian package sway)",
        display::SWAY
    )))
}

/// The board and the runtime of `config`, and the simulator's controls.
/// What keeps running beside the runtime while it is held: the
/// simulator's in-process reference portal and the metrics endpoint, when
/// the configuration has them.
struct Beside {
    _portal: Option<kiosk_board::online::portal::server::PortalHandle>,
    _c06: Option<kiosk_board::online::c06::server::C06Handle>,
    _metrics: Option<kiosk_board::services::metrics::Endpoint>,
}

/// The simulator's controls (card, camera) when the board is the
/// simulator; a build without it has none.
#[cfg(feature = "sim")]
type Sim = Option<kiosk_board::simulator::SimControls>;
#[cfg(not(feature = "sim"))]
type Sim = Option<std::convert::Infallible>;

/// The console on standard input, with the simulator's commands when there
/// is one.
fn console(cards_dir: Option<PathBuf>, sim: Sim) -> Console {
    #[cfg(feature = "sim")]
    return Console::stdin(cards_dir, sim);
    #[cfg(not(feature = "sim"))]
    {
        let _ = sim;
        Console::stdin(cards_dir)
    }
}

fn build_runtime(config: &kiosk_board::config::Config) -> anyhow::Result<(Runtime, Sim, Beside)> {
    let board = kiosk_board::app::build_board(config).context("cannot start the board")?;
    tracing::info!(kiosk = %config.kiosk.id, board = %board.devices.board, "kiosk starting");
    let store = kiosk_board::app::open_store(config)?;
    let epoch = kiosk_board::app::wall_clock_now();
    let trust = kiosk_board::services::truststore::load_for_kiosk(&config.kiosk, epoch.0 / 1000)?;
    let mut runtime = Runtime::new(board.devices, config.session, Timestamp::ZERO)
        .with_trust_list(trust)
        .with_trust_policy(config.trust.clone())
        .with_store(store, epoch)
        .with_config(config);
    match kiosk_board::services::ticketing::Ticketing::from_config(config) {
        Some(ticketing) => runtime = runtime.with_ticketing(ticketing),
        None => tracing::warn!("no [queue] in the configuration: the kiosk issues no numbers"),
    }
    if let Some(desk) = kiosk_board::app::centre_desk(config)? {
        tracing::info!("numbers come from the centre ([centre])");
        runtime = runtime.with_centre(desk);
    }
    // Keeps the simulator's in-process reference portal running.
    let portal = match kiosk_board::app::request_service(config)? {
        Some((service, portal)) => {
            runtime = runtime.with_requests(service);
            portal
        }
        None => {
            tracing::warn!("no [requests] in the configuration: the kiosk files no requests");
            None
        }
    };
    // The online chip check (C06) for intact but unanchored cards; keeps
    // the simulator's in-process reference C06 server running.
    let c06 = match kiosk_board::app::c06_client(config, true)? {
        Some((client, server)) => {
            runtime = runtime.with_online_check(client);
            server
        }
        None => None,
    };
    runtime = with_face(runtime, config)?;
    match kiosk_board::drivers::notify::Notifier::from_env() {
        Ok(Some(notifier)) => {
            tracing::info!(watchdog = ?notifier.watchdog_interval(), "running under systemd");
            runtime = runtime.with_notifier(notifier);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "NOTIFY_SOCKET is set but unusable"),
    }
    // Metrics are for staff dashboards: a taken port is logged, and the
    // kiosk serves citizens without them.
    let metrics = config.metrics.and_then(|m| {
        kiosk_board::services::metrics::Endpoint::start(m.listen, config.kiosk.database_path())
            .inspect_err(|e| tracing::error!(error = %e, "no metrics endpoint"))
            .ok()
    });
    Ok((
        runtime,
        #[cfg(feature = "sim")]
        board.sim,
        #[cfg(not(feature = "sim"))]
        None,
        Beside {
            _portal: portal,
            _c06: c06,
            _metrics: metrics,
        },
    ))
}

fn run_console(config: kiosk_board::config::Config) -> anyhow::Result<()> {
    let (mut runtime, sim, _beside) = build_runtime(&config)?;
    let cards_dir = config
        .sim
        .as_ref()
        .and_then(|s| s.card_reader.cards_dir.clone());
    let mut console = console(cards_dir, sim);
    runtime.run(&mut console, &AtomicBool::new(false));
    tracing::info!("kiosk stopped");
    Ok(())
}

/// The Slint screens in a desktop window: the window on this (the main)
/// thread, the runtime on its own, views and touches between them.
#[cfg(feature = "wayland")]
mod window {
    use super::*;
    use kiosk_board::drivers::speech::EspeakSpeaker;
    use kiosk_board::frontends::ui::{Both, ChannelFrontend, ToUi, inputs, voice};
    use kiosk_board::runtime::{Frontend as _, FrontendInput};
    use kiosk_hal::speaker::Speaker as _;
    use kiosk_ui::adapters::Display;
    use kiosk_ui::kiosk::Kiosk;
    use slint::ComponentHandle as _;
    use std::cell::RefCell;
    use std::sync::mpsc;
    use std::time::Instant;

    struct Ui {
        kiosk: Kiosk,
        speaker: Option<EspeakSpeaker>,
        /// The runtime's clock at the last view, and when it arrived.
        clock: (Timestamp, Instant),
    }

    thread_local! {
        static UI: RefCell<Option<Ui>> = const { RefCell::new(None) };
    }

    fn speak(ui: &mut Ui) {
        let text = ui.kiosk.spoken();
        let v = voice(ui.kiosk.language());
        if let Some(s) = ui.speaker.as_mut()
            && let Err(e) = s.say(v, &text)
        {
            tracing::warn!(error = %e, "cannot speak the guidance");
        }
    }

    pub(super) fn run(
        config: kiosk_board::config::Config,
        mute: bool,
        started: Instant,
    ) -> anyhow::Result<()> {
        let view = kiosk_firmware::session::Session::new(config.session, Timestamp::ZERO).view();
        let kiosk = Kiosk::new(
            view,
            kiosk_board::frontends::ui::offers(&config),
            kiosk_board::frontends::ui::procedures(&config),
            &Display::default(),
        )?;
        kiosk.set_staff_button(kiosk_board::frontends::ui::staff_button(&config));
        let (tx, rx) = mpsc::channel::<FrontendInput>();
        #[expect(clippy::disallowed_methods, reason = "a binary: the UI thread's clock")]
        let now = Instant::now();
        UI.with(|ui| {
            *ui.borrow_mut() = Some(Ui {
                kiosk,
                speaker: if mute {
                    None
                } else {
                    EspeakSpeaker::for_board(&config)
                },
                clock: (Timestamp::ZERO, now),
            });
        });
        // Touches go to the runtime; the countdown follows the clock.
        let timer = slint::Timer::default();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(50),
            move || {
                UI.with(|ui| {
                    if let Some(ui) = ui.borrow_mut().as_mut() {
                        for input in inputs(ui.kiosk.take_touches()) {
                            let _ = tx.send(input);
                        }
                        // Only the countdown moves with the clock.
                        if ui.kiosk.model().countdown.is_some() {
                            let (at, since) = ui.clock;
                            ui.kiosk.set_now(at + since.elapsed());
                        }
                    }
                });
            },
        );
        let window = UI.with(|ui| ui.borrow().as_ref().map(|u| u.kiosk.window().as_weak()));
        if let Some(w) = window.and_then(|w| w.upgrade()) {
            w.show()?;
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "cold start: attract screen shown"
        );
        let cards_dir = config
            .sim
            .as_ref()
            .and_then(|s| s.card_reader.cards_dir.clone());
        let worker = std::thread::spawn(move || -> anyhow::Result<()> {
            // A runtime that cannot start ends the window too: the kiosk
            // exits with the error (under sway the unit restarts), rather
            // than showing an attract screen no touch can leave.
            let (mut runtime, sim, _beside) = build_runtime(&config).inspect_err(|_| {
                let _ = slint::invoke_from_event_loop(|| {
                    let _ = slint::quit_event_loop();
                });
            })?;
            let send = Box::new(|msg: ToUi| {
                let _ = slint::invoke_from_event_loop(move || {
                    UI.with(|ui| {
                        let mut ui = ui.borrow_mut();
                        let Some(ui) = ui.as_mut() else { return };
                        match msg {
                            ToUi::Show(view, events, now) => {
                                #[expect(
                                    clippy::disallowed_methods,
                                    reason = "a binary: the UI thread's clock"
                                )]
                                let arrived = Instant::now();
                                ui.clock = (now, arrived);
                                ui.kiosk.set_now(now);
                                if ui.kiosk.update(&view, &events) {
                                    speak(ui);
                                }
                            }
                            ToUi::Request(form, consent) => {
                                ui.kiosk.set_request(form, consent);
                                speak(ui);
                            }
                            ToUi::Staff(view) => {
                                ui.kiosk.set_staff(view.map(|v| *v));
                                speak(ui);
                            }
                            ToUi::Offers(services, procedures, staff) => {
                                ui.kiosk.set_offers(services, procedures);
                                ui.kiosk.set_staff_button(staff);
                            }
                            ToUi::Stopped => {
                                let _ = slint::quit_event_loop();
                            }
                        }
                    });
                });
            });
            let window = ChannelFrontend::new(send, rx);
            if sim.is_some() {
                // The simulator's card and camera commands beside the window.
                let mut frontend = Both {
                    first: window,
                    second: console(cards_dir, sim),
                };
                frontend.clock(Timestamp::ZERO);
                runtime.run(&mut frontend, &AtomicBool::new(false));
            } else {
                // A board: the screen is the only input (no commands typed
                // on the terminal the compositor was started from).
                let mut frontend = window;
                frontend.clock(Timestamp::ZERO);
                runtime.run(&mut frontend, &AtomicBool::new(false));
            }
            Ok(())
        });
        UI.with(|ui| {
            if let Some(ui) = ui.borrow_mut().as_mut() {
                speak(ui);
            }
        });
        slint::run_event_loop_until_quit()?;
        drop(timer);
        UI.with(|ui| ui.borrow_mut().take());
        match worker.join() {
            Ok(result) => result,
            Err(_) => anyhow::bail!("the runtime thread panicked"),
        }
    }
}

#[cfg(not(feature = "wayland"))]
mod window {
    pub(super) fn run(
        _config: kiosk_board::config::Config,
        _mute: bool,
        _started: std::time::Instant,
    ) -> anyhow::Result<()> {
        anyhow::bail!(
            "this kiosk was built without a window: build with `--features desktop` (or `production` on a board), or run with `--ui console`"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_runs_the_kiosk_under_sway_and_cage_is_gone() {
        let cli = Cli::try_parse_from([
            "kiosk",
            "--board",
            "linux",
            "--config",
            "/etc/cccd-kiosk/kiosk.toml",
            "--ui",
            "sway",
        ])
        .unwrap();
        assert_eq!(cli.ui, UiKind::Sway);
        assert!(Cli::try_parse_from(["kiosk", "--ui", "cage"]).is_err());
    }
}
