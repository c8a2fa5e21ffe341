//! `kiosk-portal`: the reference portal (`docs/portal-api.yaml`) as its own
//! process, for testers, on 127.0.0.1 with mutual TLS; and the test PKI it
//! and the simulator use.
//!
//! ```sh
//! kiosk-portal pki --out board/sim/pki --kiosk-id KIOSK-SIM-001
//! kiosk-portal serve --pki board/sim/pki --port 8443
//! ```

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kiosk_board::online::portal::pki::{Pki, PkiFiles};
use kiosk_board::online::portal::server::{Behaviour, PortalHandle, ServerSettings};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-portal",
    version,
    about = "The CCCD kiosk's reference portal (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the portal API on 127.0.0.1 until stopped.
    Serve {
        /// A folder with ca.pem, portal.pem and portal.key (see `pki`).
        #[arg(long)]
        pki: PathBuf,
        /// The port on 127.0.0.1.
        #[arg(long, default_value_t = 8443)]
        port: u16,
        /// The receiving unit's code in dossier codes.
        #[arg(long, default_value = "000.00.19.H26")]
        unit_code: String,
        /// Accept only the procedures of this catalogue file.
        #[arg(long)]
        catalogue: Option<PathBuf>,
        /// Answer every request this many milliseconds late.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Answer every submission with this HTTP status (e.g. 503, 422).
        #[arg(long)]
        fail_with: Option<u16>,
    },
    /// Write a test CA, the portal's certificate and a kiosk's client
    /// certificate (PEM) into a folder.
    Pki {
        /// The folder.
        #[arg(long)]
        out: PathBuf,
        /// The kiosk's id (the client certificate's common name).
        #[arg(long, default_value = "KIOSK-SIM-001")]
        kiosk_id: String,
    },
}

fn main() -> anyhow::Result<()> {
    kiosk_board::app::init_logging("info");
    match Cli::parse().command {
        Command::Pki { out, kiosk_id } => {
            let files = Pki::generate(&kiosk_id)?.write(&out)?;
            println!(
                "{}",
                serde_json::json!({
                    "ca": files.ca, "server_cert": files.server_cert, "server_key": files.server_key,
                    "client_cert": files.client_cert, "client_key": files.client_key,
                })
            );
            Ok(())
        }
        Command::Serve {
            pki,
            port,
            unit_code,
            catalogue,
            delay_ms,
            fail_with,
        } => {
            let files = PkiFiles::in_dir(&pki);
            let procedures = match catalogue {
                None => Vec::new(),
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| path.display().to_string())?;
                    let config: kiosk_firmware::requests::CatalogConfig =
                        toml::from_str(&text).with_context(|| path.display().to_string())?;
                    config.procedures.into_iter().map(|p| p.code).collect()
                }
            };
            let portal = PortalHandle::start(&ServerSettings {
                cert_file: files.server_cert,
                key_file: files.server_key,
                client_ca_file: files.ca,
                unit_code,
                procedures,
                port,
            })?;
            portal.set_behaviour(Behaviour {
                delay: Duration::from_millis(delay_ms),
                fail_with,
            });
            println!("{}", serde_json::json!({ "url": portal.url() }));
            tracing::info!(url = %portal.url(), "reference portal listening");
            loop {
                std::thread::park();
            }
        }
    }
}
