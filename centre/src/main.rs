//! `kiosk-centre`: the service centre's queue server.
//!
//! - `kiosk-centre serve --config centre.toml`: migrate and serve.
//! - `kiosk-centre migrate --config centre.toml`: migrate only.
//! - `kiosk-centre stats --config centre.toml [--day YYYYMMDD] [--prometheus]`:
//!   a day's statistics from the database (JSON, or Prometheus text).
//! - `kiosk-centre pki --out DIR --client ID…`: a test PKI.
//! - `kiosk-centre staff hash-pin` (PIN on stdin): the Argon2id hash for
//!   `[[staff]] pin_hash`.
//! - `kiosk-centre display token`: a fresh display token and its SHA-256
//!   for `[[displays]] token_sha256`.
//! - `kiosk-centre demo --dir DIR --kiosks N`: a private PostgreSQL, a test
//!   PKI, a configuration and client files, an identity key, a demo staff
//!   member (id, PIN) and display token for the pages, and the centre,
//!   until SIGTERM or Ctrl-C; prints one JSON line when ready.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kiosk_centre::config::CentreConfig;
use kiosk_centre::server::Server;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kiosk-centre",
    version,
    about = "The service centre's queue (PostgreSQL, HTTPS with mutual TLS)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve the API.
    Serve {
        /// The centre's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Migrate the database and exit.
    Migrate {
        /// The centre's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// A day's statistics (waiting and service times, no-shows, ratings),
    /// read from the database; no personal data.
    Stats {
        /// The centre's configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The local day, YYYYMMDD (default: today at the centre).
        #[arg(long)]
        day: Option<String>,
        /// Prometheus text instead of JSON.
        #[arg(long)]
        prometheus: bool,
    },
    /// Write a test PKI (never for production).
    Pki {
        /// The folder.
        #[arg(long)]
        out: PathBuf,
        /// A client certificate's id (a kiosk or desk); repeat.
        #[arg(long = "client")]
        clients: Vec<String>,
    },
    /// Staff of the counter page.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Hall displays.
    Display {
        #[command(subcommand)]
        command: DisplayCommand,
    },
    /// A whole centre on this machine (private PostgreSQL, test PKI).
    Demo {
        /// The folder for the configuration, PKI and client files.
        #[arg(long)]
        dir: PathBuf,
        /// Kiosks (1–9).
        #[arg(long, default_value_t = 2)]
        kiosks: usize,
        /// Where to listen (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Start the centre's clock at this local time (YYYY-MM-DDTHH:MM).
        #[arg(long)]
        clock_start: Option<String>,
        /// Where the counter and display pages listen (port 0: any free
        /// port).
        #[arg(long, default_value = "127.0.0.1:0")]
        pages_listen: String,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Reads a PIN (6–12 digits) on stdin and prints its Argon2id PHC hash
    /// for `[[staff]] pin_hash`.
    HashPin,
}

#[derive(Debug, Subcommand)]
enum DisplayCommand {
    /// Prints a fresh random display token and its SHA-256 for
    /// `[[displays]] token_sha256` (JSON).
    Token,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

async fn until_stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            let config = CentreConfig::load(&config)?;
            runtime()?.block_on(async {
                let server = Server::bind(config).await?;
                tracing::info!(addr = %server.local_addr()?, metrics = ?server.metrics_addr(), "centre serving");
                tokio::select! {
                    () = server.run() => {}
                    () = until_stopped() => {}
                }
                anyhow::Ok(())
            })
        }
        Command::Migrate { config } => {
            let config = CentreConfig::load(&config)?;
            runtime()?.block_on(async {
                let pool = kiosk_centre::db::pool(&config.database_url, 1)?;
                let v = kiosk_centre::db::migrate(&pool).await?;
                println!("{}", serde_json::json!({ "schema_version": v }));
                anyhow::Ok(())
            })
        }
        Command::Stats {
            config,
            day,
            prometheus,
        } => {
            let config = CentreConfig::load(&config)?;
            runtime()?.block_on(async {
                let pool = kiosk_centre::db::pool(&config.database_url, 1)?;
                kiosk_centre::db::migrate(&pool).await?;
                let db = kiosk_centre::db::CentreDb::new(
                    pool,
                    &config.centre_id,
                    config.catalog.clone(),
                    config.online_max,
                );
                let clock = kiosk_centre::clock::Clock::new(config.clock_start);
                let day = match day {
                    Some(d) => d,
                    None => kiosk_centre::db::CentreDb::today(clock.now())?,
                };
                let stats = db.day_stats(&day).await?;
                if prometheus {
                    print!("{}", kiosk_centre::stats::prometheus(&stats));
                } else {
                    println!("{}", serde_json::to_string_pretty(&stats)?);
                }
                anyhow::Ok(())
            })
        }
        Command::Staff {
            command: StaffCommand::HashPin,
        } => {
            let mut pin = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut pin)
                .context("cannot read the PIN on stdin")?;
            let salt = kiosk_centre::identity::random_bytes::<16>()
                .ok_or_else(|| anyhow::anyhow!("no random bytes"))?;
            let hash = kiosk_firmware::staff::hash_pin(pin.trim_end_matches(['\r', '\n']), &salt)?;
            println!("{}", hash.as_str());
            Ok(())
        }
        Command::Display {
            command: DisplayCommand::Token,
        } => {
            let (token, sha256) = kiosk_centre::demo::display_token_pair()?;
            println!(
                "{}",
                serde_json::json!({ "token": token, "token_sha256": sha256 })
            );
            Ok(())
        }
        Command::Pki { out, clients } => {
            let ca = kiosk_centre::pki::generate(&out, &clients)?;
            println!("{}", serde_json::json!({ "ca": ca, "clients": clients }));
            Ok(())
        }
        Command::Demo {
            dir,
            kiosks,
            listen,
            clock_start,
            pages_listen,
        } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let (pg, url) = kiosk_centre::demo::database()?;
            let layout = kiosk_centre::demo::write_layout(
                &dir,
                &url,
                &listen,
                kiosks,
                clock_start.as_deref(),
                Some(&pages_listen),
            )?;
            let config = CentreConfig::load(&layout.config)?;
            let result = runtime()?.block_on(async {
                let server = Server::bind(config).await?;
                let addr = server.local_addr()?;
                let url = format!("https://127.0.0.1:{}", addr.port());
                kiosk_centre::demo::write_client_files(&layout, &url)?;
                let pages = server
                    .pages_addr()
                    .map(|a| format!("https://127.0.0.1:{}", a.port()));
                println!(
                    "{}",
                    serde_json::json!({
                        "ready": true,
                        "url": url,
                        "pages_url": pages,
                        "counter_page": pages.as_ref().map(|p| format!("{p}/counter")),
                        "display_page": pages.as_ref().zip(layout.display_token.as_ref())
                            .map(|(p, t)| format!("{p}/display?token={t}")),
                        "layout": layout,
                        "postgres_port": pg.port(),
                    })
                );
                tokio::select! {
                    () = server.run() => {}
                    () = until_stopped() => {}
                }
                anyhow::Ok(())
            });
            drop(pg);
            result
        }
    }
}
