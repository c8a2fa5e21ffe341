//! `kiosk`: the kiosk firmware application.
//!
//! Builds the configured board and runs the citizen journey on it. Until the
//! Slint screens land, the journey is shown on the console: each screen
//! change prints a line, and the tester types commands (`help` lists them)
//! that stand for the citizen's touches and, on the simulator, for putting a
//! card on the reader.

use anyhow::Context as _;
use clap::Parser;
use kiosk_board::config::BoardKind;
use kiosk_board::console::Console;
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
            runtime
        }
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "face verification unavailable: face checks go to staff"
            );
            runtime
        }
    })
}

#[cfg(not(feature = "face"))]
fn with_face(runtime: Runtime, _config: &kiosk_board::config::Config) -> anyhow::Result<Runtime> {
    tracing::warn!("built without the face engine: face checks go to staff");
    Ok(runtime)
}

fn main() -> anyhow::Result<()> {
    kiosk_board::app::init_logging("info");
    let cli = Cli::parse();
    let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
    let board = kiosk_board::app::build_board(&config).context("cannot start the board")?;
    tracing::info!(kiosk = %config.kiosk.id, board = %board.devices.board, "kiosk starting");
    let cards_dir = config
        .sim
        .as_ref()
        .and_then(|s| s.card_reader.cards_dir.clone());
    let mut console = Console::stdin(cards_dir, board.sim.clone());
    let store = kiosk_board::app::open_store(&config)?;
    let epoch = kiosk_board::app::wall_clock_now();
    let mut runtime =
        Runtime::new(board.devices, config.session, Timestamp::ZERO).with_store(store, epoch);
    match kiosk_board::ticketing::Ticketing::from_config(&config) {
        Some(ticketing) => runtime = runtime.with_ticketing(ticketing),
        None => tracing::warn!("no [queue] in the configuration: the kiosk issues no numbers"),
    }
    // Keeps the simulator's in-process reference portal running.
    let _portal = match kiosk_board::app::request_service(&config)? {
        Some((service, portal)) => {
            runtime = runtime.with_requests(service);
            portal
        }
        None => {
            tracing::warn!("no [requests] in the configuration: the kiosk files no requests");
            None
        }
    };
    runtime = with_face(runtime, &config)?;
    match kiosk_board::notify::Notifier::from_env() {
        Ok(Some(notifier)) => {
            tracing::info!(watchdog = ?notifier.watchdog_interval(), "running under systemd");
            runtime = runtime.with_notifier(notifier);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "NOTIFY_SOCKET is set but unusable"),
    }
    runtime.run(&mut console, &AtomicBool::new(false));
    tracing::info!("kiosk stopped");
    Ok(())
}
