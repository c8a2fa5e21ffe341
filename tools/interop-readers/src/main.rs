//! `interop-read`: reads an eMRTD through PC/SC with an ICAO 9303 reader
//! that is not the kiosk's, to check the kiosk's virtual chip (and the
//! kiosk's reader) against independent implementations.
//!
//! ```text
//! interop-read dmrtd|emrtd --reader NAME --mrz MRZ [--can CAN] [--pace] --json
//! ```
//!
//! - `dmrtd` (crate `dmrtd` 0.3, pure Rust): BAC with the MRZ, or PACE
//!   (ECDH generic mapping, AES) with `--can` or, with `--pace`, the MRZ.
//!   Files are read with dmrtd's own READ BINARY by short file identifier.
//! - `emrtd` (crate `emrtd` 0.0.2, pcsc): BAC only; files are selected by
//!   file identifier and read in chunks, as its example does.
//!
//! Both read EF.COM, every data group EF.COM lists, and EF.SOD, and the
//! report (JSON with `--json`) says which files were read, their SHA-256,
//! DG1's MRZ, the errors met, the APDUs sent and the time taken. Nothing is
//! verified here: the test compares the files with what the kiosk reads.
//! The MRZ is printed only as DG1 holds it; the files themselves are not.

mod dmrtd_read;
mod emrtd_read;
mod mrz;
mod pcsc_link;

use clap::{Parser, ValueEnum};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::process::ExitCode;

/// The independent reader to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Implementation {
    /// The crate `dmrtd` (BAC, PACE).
    Dmrtd,
    /// The crate `emrtd` (BAC).
    Emrtd,
}

/// Reads an eMRTD through PC/SC with an independent ICAO 9303 reader.
#[derive(Debug, Parser)]
#[command(name = "interop-read", version)]
struct Cli {
    /// Which reader implementation.
    implementation: Implementation,
    /// A substring of the PC/SC reader's name.
    #[arg(long)]
    reader: String,
    /// The document's MRZ (TD1 or TD3; lines joined or separated by newlines).
    #[arg(long)]
    mrz: String,
    /// The card access number: PACE with the CAN (dmrtd only).
    #[arg(long)]
    can: Option<String>,
    /// PACE with the MRZ instead of BAC (dmrtd only).
    #[arg(long)]
    pace: bool,
    /// Seconds to wait for a card in the reader.
    #[arg(long, default_value_t = 10)]
    wait: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The access control a read used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Bac,
    PaceCan,
    PaceMrz,
}

impl Access {
    fn code(self) -> &'static str {
        match self {
            Access::Bac => "bac",
            Access::PaceCan => "pace_can",
            Access::PaceMrz => "pace_mrz",
        }
    }
}

/// What a read produced.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The access control that opened the chip, once it did.
    pub(crate) access: Option<Access>,
    /// The files read, by the kiosk's names (`EF.COM`, `DG1`, `EF.SOD`).
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    /// DG1's MRZ as the implementation parsed it (or as DG1 holds it).
    pub(crate) mrz: Option<String>,
    /// Everything that went wrong, in order, with what was being done.
    pub(crate) errors: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(ok) => {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "fatal": format!("{e:#}") })
                );
            } else {
                eprintln!("interop-read: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<bool> {
    let key = mrz::BacKey::parse(&cli.mrz)?;
    if cli.implementation == Implementation::Emrtd && (cli.can.is_some() || cli.pace) {
        anyhow::bail!("emrtd implements BAC only: drop --can and --pace");
    }
    let card = pcsc_link::connect(&cli.reader, std::time::Duration::from_secs(cli.wait))?;
    #[expect(
        clippy::disallowed_methods,
        reason = "a command-line tool timing one read"
    )]
    let start = std::time::Instant::now();
    let (outcome, apdus) = match cli.implementation {
        Implementation::Dmrtd => {
            dmrtd_read::read(card, &cli.mrz, &key, cli.can.as_deref(), cli.pace)
        }
        Implementation::Emrtd => emrtd_read::read(card, &key),
    };
    let elapsed = start.elapsed();
    let ok = outcome.access.is_some()
        && outcome.files.contains_key("EF.COM")
        && outcome.files.contains_key("DG1");
    let files: BTreeMap<&str, serde_json::Value> = outcome
        .files
        .iter()
        .map(|(name, bytes)| {
            (
                name.as_str(),
                serde_json::json!({
                    "bytes": bytes.len(),
                    "sha256": hex::encode(Sha256::digest(bytes)),
                }),
            )
        })
        .collect();
    let report = serde_json::json!({
        "ok": ok,
        "implementation": match cli.implementation {
            Implementation::Dmrtd => "dmrtd 0.3",
            Implementation::Emrtd => "emrtd 0.0.2",
        },
        "access_control": outcome.access.map(Access::code),
        "files": files,
        "mrz": outcome.mrz,
        "errors": outcome.errors,
        "apdus": apdus,
        "elapsed_ms": elapsed.as_millis(),
    });
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}: {} via {} in {} APDUs, {} ms",
            report["implementation"].as_str().unwrap_or_default(),
            if ok { "read" } else { "NOT read" },
            report["access_control"],
            apdus,
            elapsed.as_millis()
        );
        for (name, file) in &files {
            println!(
                "  {name}: {} bytes, sha256 {}",
                file["bytes"], file["sha256"]
            );
        }
        for error in &outcome.errors {
            println!("  error: {error}");
        }
    }
    Ok(ok)
}
