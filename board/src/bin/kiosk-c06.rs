//! `kiosk-c06`: the reference C06 server (`docs/c06-api.yaml`) as its own
//! process, for testers, on 127.0.0.1 with mutual TLS. It runs real
//! passive authentication against its registry (a CSCA folder) and signs
//! its verdicts with a P-256 key the kiosk pins.
//!
//! ```sh
//! kiosk-c06 serve --pki board/sim/pki --signing-key board/sim/c06/verdict.key \
//!     --csca board/sim/csca --port 8444
//! ```

use anyhow::Context as _;
use clap::Parser;
use kiosk_board::online::c06::server::{C06Handle, C06Settings, Mode, load_signing_key};
use kiosk_board::online::portal::pki::PkiFiles;
use kiosk_board::online::portal::server::TlsFiles;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-c06",
    version,
    about = "The CCCD kiosk's reference C06 verification server (loopback only)"
)]
struct Cli {
    /// A folder with ca.pem, portal.pem and portal.key (`kiosk-portal pki`):
    /// the server's TLS certificate and the CA of kiosk certificates.
    #[arg(long)]
    pki: PathBuf,
    /// The verdict signing key (PKCS#8 PEM, P-256).
    #[arg(long)]
    signing_key: PathBuf,
    /// The registry: a folder of the CSCA certificates whose cards it knows.
    #[arg(long)]
    csca: PathBuf,
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 8444)]
    port: u16,
    /// How it answers.
    #[arg(long, value_enum, default_value_t = Mode::Normal)]
    mode: Mode,
    /// Answer every request this many milliseconds late.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// EF.SOD hashes (SHA-256, hex) on the revocation list.
    #[arg(long)]
    revoke: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    kiosk_board::app::init_logging("info");
    let cli = Cli::parse();
    let files = PkiFiles::in_dir(&cli.pki);
    let signing_key = load_signing_key(&cli.signing_key)?;
    let registry = kiosk_board::app::load_trust_list(Some(&cli.csca))
        .with_context(|| cli.csca.display().to_string())?;
    let server = C06Handle::start(C06Settings {
        tls: TlsFiles {
            cert_file: files.server_cert,
            key_file: files.server_key,
            client_ca_file: files.ca,
        },
        signing_key,
        registry,
        port: cli.port,
    })?;
    server.set_mode(cli.mode);
    server.set_delay(Duration::from_millis(cli.delay_ms));
    for sod in &cli.revoke {
        server.revoke(sod);
    }
    println!("{}", serde_json::json!({ "url": server.url() }));
    tracing::info!(url = %server.url(), "reference C06 server listening");
    loop {
        std::thread::park();
    }
}
