//! `kioskctl ticket print | reprint | list | call`: queue tickets as staff
//! and testers handle them, on the configured board's store and printer or
//! on any printer port, with JSON that scripts rely on.

use anyhow::{Context as _, bail};
use kiosk_board::config::Config;
use kiosk_board::drivers::printer::{EscposPrinter, PrinterPort};
use kiosk_board::drivers::{DeviceError, Erased, PrinterDevice};
use kiosk_board::services::ticketing::{Issued, Phase, Ticketing, problem_code};
use kiosk_firmware::queue::{AgeEvidence, DrawRequest, Queue, Ticket, parse_priority};
use kiosk_firmware::session::Verification;
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_hal::printer::{PaperLevel, Printer, PrinterStatus};
use kiosk_hal::{ErrorKind, ErrorType};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// A printer that is a file: `escpos:PATH` keeps the bytes, `png:PATH`
/// the paper they make (decoded, as the simulator does). Always ready.
#[derive(Debug)]
struct FileSink {
    path: PathBuf,
    png: bool,
    pending: Vec<u8>,
}

impl ErrorType for FileSink {
    type Error = DeviceError;
}

impl Printer for FileSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let job = std::mem::take(&mut self.pending);
        if self.png {
            kiosk_board::simulator::write_paper_png(&job, &self.path)
        } else {
            std::fs::write(&self.path, &job).map_err(|e| {
                DeviceError::new(
                    "printer",
                    ErrorKind::Io,
                    format!("{}: {e}", self.path.display()),
                )
            })
        }
    }

    fn status(&mut self) -> Result<PrinterStatus, DeviceError> {
        Ok(PrinterStatus::READY)
    }
}

/// Opens `--printer SPEC`, or the board's printer without one.
pub(crate) fn open_printer(
    spec: Option<&str>,
    config: &Config,
) -> anyhow::Result<(String, Box<dyn PrinterDevice>)> {
    let Some(spec) = spec else {
        let board = kiosk_board::app::build_board(config)?;
        return Ok((
            format!("{} board printer", board.devices.board),
            board.devices.printer,
        ));
    };
    for (scheme, png) in [("png:", true), ("escpos:", false)] {
        if let Some(path) = spec.strip_prefix(scheme) {
            if path.is_empty() {
                bail!("{scheme} needs a file path");
            }
            let sink = FileSink {
                path: path.into(),
                png,
                pending: Vec::new(),
            };
            return Ok((spec.to_owned(), Box::new(sink)));
        }
    }
    let port: PrinterPort = spec
        .parse()
        .map_err(|e: String| anyhow::anyhow!("{e}; or png:PATH / escpos:PATH for a file"))?;
    Ok((
        port.to_string(),
        Box::new(Erased::new("printer", EscposPrinter::new(port))),
    ))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM`, local time in Vietnam, as wall-clock ms.
pub(crate) fn parse_local(s: &str) -> anyhow::Result<UnixMillis> {
    let bad = || anyhow::anyhow!("{s:?}: give the local time as YYYY-MM-DDTHH:MM");
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let t: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let ([y, mo, da], [h, mi]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    let valid = kiosk_firmware::cccd::date::Date::new(
        u16::try_from(*y).map_err(|_| bad())?,
        u8::try_from(*mo).map_err(|_| bad())?,
        u8::try_from(*da).map_err(|_| bad())?,
    )
    .is_some();
    if !valid || !(0..24).contains(h) || !(0..60).contains(mi) {
        return Err(bad());
    }
    let local_ms = (days_from_civil(*y, *mo, *da) * 86_400 + h * 3600 + mi * 60) * 1000;
    let utc = local_ms - kiosk_firmware::ticket::VIETNAM_OFFSET_MS;
    Ok(UnixMillis(u64::try_from(utc).map_err(|_| bad())?))
}

/// The wall clock, or `--at`.
pub(crate) fn now(at: Option<&str>) -> anyhow::Result<UnixMillis> {
    at.map_or_else(|| Ok(kiosk_board::app::wall_clock_now()), parse_local)
}

/// Where the numbers come from: the board's database, `--db`, or a
/// throwaway one (`--scratch`: nothing is counted).
pub(crate) fn open_store(
    config: &Config,
    db: Option<&std::path::Path>,
    scratch: bool,
    now: UnixMillis,
) -> anyhow::Result<(Store, Option<tempfile::TempDir>)> {
    if scratch {
        let dir = tempfile::tempdir()?;
        let (store, _) = Store::open(&dir.path().join("scratch.db"), now)?;
        return Ok((store, Some(dir)));
    }
    match db {
        Some(path) => Ok((
            Store::open(path, now)
                .with_context(|| format!("cannot open the database {}", path.display()))?
                .0,
            None,
        )),
        None => Ok((kiosk_board::app::open_store(config)?, None)),
    }
}

pub(crate) fn ticketing(config: &Config) -> anyhow::Result<Ticketing> {
    Ticketing::from_config(config).with_context(|| {
        format!(
            "{} has no [queue] section: this board issues no numbers",
            config.path.display()
        )
    })
}

fn status_json(s: Option<PrinterStatus>) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({
            "online": s.online,
            "paper": match s.paper { PaperLevel::Ok => "ok", PaperLevel::NearEnd => "near_end", PaperLevel::Out => "out" },
            "cover_open": s.cover_open,
            "error": s.error,
        }),
        None => serde_json::Value::Null,
    }
}

pub(crate) fn ticket_json(t: &Ticket) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "day": t.day,
        "number": t.number,
        "service": t.service,
        "lane": t.lane,
        "priority": t.priority,
        "verification": t.verification,
        "drawn_at_unix_ms": t.drawn_at,
        "printed": t.printed_at.is_some(),
        "printed_at_unix_ms": t.printed_at,
        "print_attempts": t.print_attempts,
        "last_print_problem": t.last_print_problem,
        "called_at_unix_ms": t.called_at,
        "counter": t.counter,
    })
}

/// Milliseconds from `start` to each phase, as the observer saw them.
#[derive(Debug)]
pub(crate) struct Stopwatch {
    start: Instant,
    pub(crate) marks: Vec<(Phase, f64)>,
}

impl Stopwatch {
    pub(crate) fn start() -> Stopwatch {
        #[expect(clippy::disallowed_methods, reason = "kioskctl times the phases")]
        let start = Instant::now();
        Stopwatch {
            start,
            marks: Vec::new(),
        }
    }

    pub(crate) fn mark(&mut self, phase: Phase) {
        self.marks
            .push((phase, self.start.elapsed().as_secs_f64() * 1000.0));
    }

    pub(crate) fn at(&self, phase: Phase) -> Option<f64> {
        self.marks
            .iter()
            .find(|(p, _)| *p == phase)
            .map(|(_, t)| *t)
    }

    fn json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (phase, ms) in &self.marks {
            let name = serde_json::to_value(phase)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            map.insert(name, serde_json::json!((ms * 1000.0).round() / 1000.0));
        }
        serde_json::Value::Object(map)
    }
}

pub(crate) fn issued_json(printer: &str, issued: &Issued, watch: &Stopwatch) -> serde_json::Value {
    serde_json::json!({
        "ok": issued.print.outcome.is_ok(),
        "number": issued.ticket.number,
        "service": issued.ticket.service,
        "priority": issued.ticket.priority,
        "waiting": issued.waiting,
        "printed": issued.print.outcome.is_ok(),
        "problem": issued.print.outcome.err().map(problem_code),
        "detail": issued.print.detail,
        "ticket": ticket_json(&issued.ticket),
        "bytes": issued.job.bytes.len(),
        "bytes_sent": issued.print.bytes_sent,
        "raster": {
            "width": issued.job.width,
            "height": issued.job.height,
            "bytes": issued.job.raster_bytes,
            "black_dots": issued.job.black_dots,
        },
        "timings_ms": watch.json(),
        "printer": {
            "port": printer,
            "before": status_json(issued.print.before),
            "after": status_json(issued.print.after),
        },
    })
}

fn report(json: bool, printer: &str, issued: &Issued, watch: &Stopwatch) -> ExitCode {
    if json {
        println!("{}", issued_json(printer, issued, watch));
    } else {
        let t = &issued.ticket;
        match issued.print.outcome {
            Ok(()) => println!(
                "{} printed on {printer}: service {}, {} waiting, {} bytes, raster {}×{} ({:.1} ms to the last byte)",
                t.number,
                t.service,
                issued.waiting,
                issued.job.bytes.len(),
                issued.job.width,
                issued.job.height,
                watch.at(Phase::Sent).unwrap_or(0.0),
            ),
            Err(problem) => println!(
                "{} drawn but NOT PRINTED on {printer}: {} ({}); re-print it with `kioskctl ticket reprint {}`",
                t.number,
                problem_code(problem),
                issued.print.detail.as_deref().unwrap_or("printer status"),
                t.number
            ),
        }
    }
    if issued.print.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A refusal (closed, sold out, not eligible) is a finding: exit 1.
fn refused(json: bool, e: &kiosk_firmware::queue::QueueError) -> ExitCode {
    use kiosk_firmware::queue::QueueError;
    let (reason, next) = match e {
        QueueError::Closed { next_opening, .. } => ("closed", next_opening.map(|t| t.0)),
        QueueError::SoldOut { .. } => ("sold_out", None),
        _ => ("priority_not_eligible", None),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": false, "refused": reason, "message": e.to_string(), "next_opening_unix_ms": next })
        );
    } else {
        println!("no number: {e}");
    }
    ExitCode::from(1)
}

/// Options shared by the ticket commands.
#[derive(clap::Args, Debug)]
pub(crate) struct Where {
    /// The printer: png:PATH, escpos:PATH, usb:/dev/usb/lp0,
    /// serial:/dev/ttyUSB0[@BAUD] or tcp:HOST:9100 (default: the board's).
    #[arg(long)]
    pub(crate) printer: Option<String>,
    /// Use this database instead of the board's.
    #[arg(long, conflicts_with = "scratch")]
    pub(crate) db: Option<PathBuf>,
    /// Use a throwaway database: the number drawn is not counted anywhere.
    #[arg(long)]
    pub(crate) scratch: bool,
    /// Pretend it is this local (Vietnam) time, YYYY-MM-DDTHH:MM (tests and
    /// demos outside opening hours).
    #[arg(long)]
    pub(crate) at: Option<String>,
}

/// `kioskctl ticket print`.
pub(crate) fn print(
    json: bool,
    config: &Config,
    service: &str,
    priority: Option<&str>,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let declared = match priority {
        Some(p) => Some(parse_priority(p).with_context(|| {
            format!("--priority {p:?}: one of elderly, disabled, pregnant, child")
        })?),
        None => None,
    };
    if ticketing.queue.catalog().service(service).is_none() {
        let codes: Vec<&str> = ticketing
            .queue
            .catalog()
            .services
            .iter()
            .map(|s| s.code.as_str())
            .collect();
        bail!(
            "--service {service:?} is not in the catalogue ({})",
            codes.join(", ")
        );
    }
    let now = now(place.at.as_deref())?;
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let (name, mut printer) = open_printer(place.printer.as_deref(), config)?;
    let request = DrawRequest {
        service,
        declared,
        // Staff at the kiosk looked at the citizen's papers.
        age: AgeEvidence::StaffAttested,
        verification: Verification::StaffConfirmed,
    };
    let mut watch = Stopwatch::start();
    match ticketing.issue(&mut store, printer.as_mut(), &request, now, &mut |p| {
        watch.mark(p)
    }) {
        Ok(issued) => Ok(report(json, &name, &issued, &watch)),
        Err(kiosk_board::services::ticketing::TicketingError::Queue(e))
            if e.fault() != kiosk_firmware::session::Fault::Internal =>
        {
            Ok(refused(json, &e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `kioskctl ticket reprint`.
pub(crate) fn reprint(
    json: bool,
    config: &Config,
    number: &str,
    day: Option<&str>,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let now = now(place.at.as_deref())?;
    let day = match day {
        Some(d) => d.to_owned(),
        None => Queue::day(now)?,
    };
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let (name, mut printer) = open_printer(place.printer.as_deref(), config)?;
    let mut watch = Stopwatch::start();
    let issued = ticketing.reprint(&mut store, printer.as_mut(), &day, number, now, &mut |p| {
        watch.mark(p)
    })?;
    Ok(report(json, &name, &issued, &watch))
}

/// `kioskctl ticket list`.
pub(crate) fn list(
    json: bool,
    config: &Config,
    day: Option<&str>,
    unprinted: bool,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let now = now(place.at.as_deref())?;
    let (store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let tickets = if unprinted {
        ticketing.queue.unprinted(&store, 500)?
    } else {
        let day = match day {
            Some(d) => d.to_owned(),
            None => Queue::day(now)?,
        };
        ticketing.queue.tickets_of_day(&store, &day)?
    };
    if json {
        let rows: Vec<_> = tickets.iter().map(ticket_json).collect();
        println!("{}", serde_json::json!({ "ok": true, "tickets": rows }));
    } else {
        println!("{} tickets", tickets.len());
        for t in &tickets {
            let state = match (t.printed_at, t.called_at) {
                (_, Some(_)) => format!("called to counter {}", t.counter.unwrap_or(0)),
                (Some(_), None) => "waiting".to_owned(),
                (None, None) => format!(
                    "NOT PRINTED ({}) — kioskctl ticket reprint {}",
                    t.last_print_problem.as_deref().unwrap_or("never tried"),
                    t.number
                ),
            };
            println!("  {} {:<6} {:<8} {state}", t.day, t.number, t.service);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kioskctl ticket call`.
pub(crate) fn call(
    json: bool,
    config: &Config,
    service: &str,
    counter: u16,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let now = now(place.at.as_deref())?;
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let called = ticketing
        .queue
        .call_next(&mut store, service, counter, now)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": called.is_some(), "ticket": called.as_ref().map(ticket_json) })
        );
    } else {
        match &called {
            Some(t) => println!("{} to counter {counter}", t.number),
            None => println!("nobody waits for service {service}"),
        }
    }
    Ok(if called.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_as_vietnam_time() {
        // 2026-11-25 09:00 in Hà Nội is 02:00 UTC.
        assert_eq!(
            parse_local("2026-11-25T09:00").unwrap(),
            UnixMillis(1_795_572_000_000)
        );
        assert!(parse_local("2026-02-30T09:00").is_err());
        assert!(parse_local("2026-11-25T25:00").is_err());
        assert!(parse_local("yesterday").is_err());
    }
}
