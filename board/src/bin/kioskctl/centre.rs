//! `kioskctl ticket take`, `kioskctl centre …` and `kioskctl bench centre`:
//! the kiosk as a member of a centre's queue (`kiosk-centre`,
//! `docs/centre-api.yaml`), by hand and in scripts.
//!
//! `--centre FILE` names any TOML file with a `[centre]` section (a board
//! configuration, or a client file `kiosk-centre demo` writes); without it
//! the board configuration's `[centre]` is used.

use crate::ticket::{Stopwatch, Where, issued_json, now, open_printer, open_store, ticketing};
use anyhow::{Context as _, bail};
use kiosk_board::config::{CentreSection, Config, load_centre_section};
use kiosk_board::online::centre::{
    self as centre_client, CentreCallError, CentreClient, cached_assignment, refresh_assignment,
};
use kiosk_firmware::queue::centre::{IssueRequest, TransferRequest};
use kiosk_firmware::queue::{AgeEvidence, DrawRequest, Lane, parse_priority};
use kiosk_firmware::session::Verification;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// The `[centre]` section to use.
pub(crate) fn section(config: &Config, file: Option<&Path>) -> anyhow::Result<CentreSection> {
    match file {
        Some(f) => Ok(load_centre_section(f)?),
        None => config.centre.clone().with_context(|| {
            format!(
                "{} has no [centre] section (or give --centre FILE)",
                config.path.display()
            )
        }),
    }
}

fn client(section: &CentreSection) -> anyhow::Result<CentreClient> {
    Ok(CentreClient::new(&section.endpoint)?)
}

/// `kioskctl ticket take`: a number from the centre (or, when it cannot be
/// reached in time, from this kiosk's offline block), printed. Exit 0 when
/// printed, 1 when refused or not printed.
pub(crate) fn take(
    json: bool,
    config: &Config,
    service: &str,
    priority: Option<&str>,
    centre: Option<&Path>,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let section = section(config, centre)?;
    let client = client(&section)?;
    let declared = priority
        .map(|p| {
            parse_priority(p).with_context(|| {
                format!("--priority {p:?}: one of elderly, disabled, pregnant, child")
            })
        })
        .transpose()?;
    let now = now(place.at.as_deref())?;
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let (name, mut printer) = open_printer(place.printer.as_deref(), config)?;
    let request = DrawRequest {
        service,
        declared,
        age: AgeEvidence::StaffAttested,
        verification: Verification::StaffConfirmed,
    };
    let nonce = centre_client::nonce()?;
    let mut watch = Stopwatch::start();
    let taken = centre_client::take_ticket(
        &ticketing,
        &client,
        &mut store,
        printer.as_mut(),
        &request,
        &nonce,
        now,
        &mut |p| watch.mark(p),
    );
    match taken {
        Ok(t) => {
            let printed = t.issued.print.outcome.is_ok();
            if json {
                let mut out = issued_json(&name, &t.issued, &watch);
                out["origin"] = serde_json::json!(t.issued.ticket.origin);
                out["offline"] = serde_json::json!(t.offline);
                println!("{out}");
            } else {
                let tk = &t.issued.ticket;
                match &t.offline {
                    None => println!(
                        "{} from the centre, {} waiting, {}",
                        tk.number,
                        t.issued.waiting,
                        if printed { "printed" } else { "NOT PRINTED" }
                    ),
                    Some(why) => println!(
                        "{} OFFLINE (the centre: {}), {}; it goes to the centre at the next `kioskctl centre reconcile`",
                        tk.number,
                        serde_json::to_string(why).unwrap_or_default(),
                        if printed { "printed" } else { "NOT PRINTED" }
                    ),
                }
            }
            Ok(if printed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(kiosk_board::services::ticketing::TicketingError::Queue(e)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "refused": refusal_code(&e), "message": e.to_string() })
                );
            } else {
                println!("no number: {e}");
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn refusal_code(e: &kiosk_firmware::queue::QueueError) -> &'static str {
    use kiosk_firmware::queue::QueueError;
    match e {
        QueueError::Closed { .. } => "closed",
        QueueError::SoldOut { .. } => "sold_out",
        QueueError::UnknownService(_) => "unknown_service",
        QueueError::PriorityNotEligible => "priority_not_eligible",
        QueueError::CentreUnreachable => "centre_unreachable",
        QueueError::CentreRefused { .. } => "centre_refused",
        _ => "internal",
    }
}

/// `kioskctl centre status`: the centre's health, this kiosk's assignment
/// (cached for offline use) and what waits for reconciliation. Exit 0 when
/// the centre answered.
pub(crate) fn status(
    json: bool,
    config: &Config,
    centre: Option<&Path>,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let client = client(&section(config, centre)?)?;
    let now = now(place.at.as_deref())?;
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let health = client.health();
    let assignment = refresh_assignment(&client, &mut store);
    let pending = ticketing.queue.reconcile_request(&store, now)?;
    let reachable = health.is_ok();
    let out = serde_json::json!({
        "ok": reachable,
        "reachable": reachable,
        "health": health.as_ref().ok(),
        "error": health.as_ref().err().map(ToString::to_string),
        "assignment": assignment.as_ref().ok(),
        "cached_assignment": cached_assignment(&store)?,
        "unacknowledged_offline": pending.tickets.iter().map(|t| &t.number).collect::<Vec<_>>(),
        "abandoned_attempts": pending.abandoned.len(),
    });
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if reachable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `kioskctl centre reconcile`: sends the offline tickets and abandoned
/// attempts once. Exit 0 when nothing is left unacknowledged.
pub(crate) fn reconcile(
    json: bool,
    config: &Config,
    centre: Option<&Path>,
    place: &Where,
) -> anyhow::Result<ExitCode> {
    let ticketing = ticketing(config)?;
    let client = client(&section(config, centre)?)?;
    let now = now(place.at.as_deref())?;
    let (mut store, _scratch) = open_store(config, place.db.as_deref(), place.scratch, now)?;
    let summary = centre_client::reconcile_once(&ticketing, &client, &mut store, now)?;
    let left = ticketing.queue.reconcile_request(&store, now)?;
    let done = left.tickets.is_empty();
    let out = serde_json::json!({
        "ok": done,
        "summary": summary,
        "left": left.tickets.iter().map(|t| &t.number).collect::<Vec<_>>(),
    });
    if json {
        println!("{out}");
    } else {
        println!(
            "{} acknowledged, {} rejected, {} voided, {} left",
            summary.acknowledged,
            summary.rejected.len(),
            summary.voided.len(),
            left.tickets.len()
        );
    }
    Ok(if done {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a desk does (`kioskctl centre call|recall|served|no-show|transfer`),
/// with a desk's client file.
#[derive(Debug)]
pub(crate) enum DeskAction<'a> {
    /// Call the next waiting ticket.
    CallNext {
        /// Only this service.
        service: Option<&'a str>,
    },
    /// recall, served or no-show.
    Act {
        /// The ticket id.
        id: i64,
        /// `recall`, `served` or `no-show`.
        action: &'a str,
    },
    /// Transfer.
    Transfer {
        /// The ticket id.
        id: i64,
        /// To this service.
        to_service: &'a str,
        /// Only this counter.
        to_counter: Option<u16>,
    },
}

/// Runs a desk action; exit 0 on success, 1 when refused or nobody waits.
pub(crate) fn desk(
    json: bool,
    centre: &Path,
    counter: u16,
    action: &DeskAction<'_>,
) -> anyhow::Result<ExitCode> {
    let client = client(&load_centre_section(centre)?)?;
    let result: Result<serde_json::Value, CentreCallError> = match action {
        DeskAction::CallNext { service } => client
            .call_next(counter, *service)
            .map(|a| serde_json::json!({ "ok": a.ticket.is_some(), "ticket": a.ticket })),
        DeskAction::Act { id, action } => client
            .act(*id, action, counter)
            .map(|t| serde_json::json!({ "ok": true, "ticket": t })),
        DeskAction::Transfer {
            id,
            to_service,
            to_counter,
        } => client
            .transfer(
                *id,
                &TransferRequest {
                    counter,
                    to_service: (*to_service).to_owned(),
                    to_counter: *to_counter,
                },
            )
            .map(|t| serde_json::json!({ "ok": true, "ticket": t })),
    };
    answer(
        json,
        result.map(|v| {
            let ok = v["ok"].as_bool().unwrap_or(false);
            (v, ok)
        }),
    )
}

/// Prints a desk's, a rating's or the statistics' answer (a refusal as
/// `{ok: false, status, refused, message}`); exit 0 when `ok`, 1 when not
/// or refused. A transport failure is an error.
fn answer(
    json: bool,
    result: Result<(serde_json::Value, bool), CentreCallError>,
) -> anyhow::Result<ExitCode> {
    let (out, ok) = match result {
        Ok(v) => v,
        Err(CentreCallError::Refused { status, error }) => (
            serde_json::json!({ "ok": false, "status": status, "refused": error.error, "message": error.message }),
            false,
        ),
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `kioskctl centre stats`: the day's figures as the centre counts them.
pub(crate) fn stats(
    json: bool,
    config: &Config,
    centre: Option<&Path>,
    day: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let client = client(&section(config, centre)?)?;
    answer(json, client.stats(day).map(|v| (v, true)))
}

/// `kioskctl centre rate`: one satisfaction rating, as the kiosk sends it.
pub(crate) fn rate(
    json: bool,
    config: &Config,
    centre: Option<&Path>,
    score: u8,
    service: Option<&str>,
    key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use kiosk_firmware::queue::centre::RatingRequest;
    let client = client(&section(config, centre)?)?;
    let key = match key {
        Some(k) => k.to_owned(),
        None => {
            let n = centre_client::nonce().context("no randomness for a key")?;
            format!("rating-{}", hex::encode(n))
        }
    };
    let request = RatingRequest::new(score, service);
    answer(
        json,
        client.rate(&key, &request).map(|recorded| {
            (
                serde_json::json!({ "ok": true, "recorded": recorded, "replayed": !recorded, "key": key }),
                true,
            )
        }),
    )
}

/// A `kiosk-centre demo` child, stopped by PID (SIGTERM) when dropped.
struct Demo {
    child: std::process::Child,
    ready: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn centre_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("kiosk-centre");
    if beside.is_file() {
        Ok(beside)
    } else {
        bail!(
            "no kiosk-centre beside {} (cargo build -p kiosk-centre, or --centre-bin)",
            me.display()
        )
    }
}

fn start_demo(bin: &Path, kiosks: usize) -> anyhow::Result<Demo> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(bin)
        .args(["demo", "--kiosks", &kiosks.to_string(), "--dir"])
        .arg(dir.path())
        .env("KIOSK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let ready: serde_json::Value = serde_json::from_str(&line)
        .with_context(|| format!("kiosk-centre demo did not report ready: {line:?}"))?;
    Ok(Demo {
        child,
        ready,
        _dir: dir,
    })
}

/// `kioskctl bench centre`: tickets per second through a private centre
/// (PostgreSQL, mutual TLS on loopback) with `kiosks` concurrent kiosk
/// clients taking `tickets` numbers each; checks that no number repeats.
/// Then `calls` calls from a desk, each timed until the hall display's
/// event stream delivers it (call-to-display latency).
pub(crate) fn bench(
    json: bool,
    kiosks: usize,
    tickets: usize,
    calls: usize,
    centre_bin: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((1..=9).contains(&kiosks), "--kiosks 1–9");
    anyhow::ensure!(
        kiosks * tickets <= 2 * 799,
        "at most 1598 tickets in all (two services of 799 online numbers)"
    );
    let demo = start_demo(&centre_binary(centre_bin)?, kiosks)?;
    let files: Vec<PathBuf> = demo.ready["layout"]["kiosk_files"]
        .as_array()
        .context("no kiosk files")?
        .iter()
        .filter_map(|v| v.as_str().map(PathBuf::from))
        .collect();
    let clients = files
        .iter()
        .map(|f| Ok(CentreClient::new(&load_centre_section(f)?.endpoint)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    #[expect(clippy::disallowed_methods, reason = "a benchmark timing issuance")]
    let start = Instant::now();
    let results: Vec<anyhow::Result<(Vec<String>, Vec<f64>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(k, client)| {
                s.spawn(move || {
                    let mut numbers = Vec::with_capacity(tickets);
                    let mut ms = Vec::with_capacity(tickets);
                    for i in 0..tickets {
                        let request = IssueRequest {
                            // Alternate the two services, as a hall does.
                            service: if i % 2 == 0 { "A" } else { "B" }.into(),
                            lane: Lane::Normal,
                            priority: None,
                            verification: "anonymous".into(),
                            identity: None,
                        };
                        let key = hex::encode(centre_client::nonce()?);
                        #[expect(
                            clippy::disallowed_methods,
                            reason = "a benchmark timing issuance"
                        )]
                        let t = Instant::now();
                        let attempt = client.issue(&key, &request);
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                        match kiosk_firmware::queue::centre::decide(&attempt) {
                            kiosk_firmware::queue::centre::Decision::Issued(a) => {
                                numbers.push(a.ticket.number);
                            }
                            other => bail!("kiosk {k}: ticket {i}: {other:?}"),
                        }
                    }
                    Ok((numbers, ms))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a kiosk thread panicked")))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut numbers = Vec::new();
    let mut latencies = Vec::new();
    for r in results {
        let (n, l) = r?;
        numbers.extend(n);
        latencies.extend(l);
    }
    let total = numbers.len();
    numbers.sort();
    numbers.dedup();
    let duplicates = total - numbers.len();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let per_second = total as f64 / elapsed;
    let mut display = if calls > 0 {
        display_latency(&demo, calls.min(total / 2))?
    } else {
        Vec::new()
    };
    display.sort_by(f64::total_cmp);
    let display_pct = |p: f64| {
        let v = display
            .get(((display.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0);
        (v * 10.0).round() / 10.0
    };
    let out = serde_json::json!({
        "ok": duplicates == 0,
        "kiosks": kiosks,
        "tickets": total,
        "duplicates": duplicates,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "tickets_per_second": per_second.round(),
        "latency_ms": { "p50": (pct(0.5) * 10.0).round() / 10.0, "p95": (pct(0.95) * 10.0).round() / 10.0, "max": (pct(1.0) * 10.0).round() / 10.0 },
        "call_to_display_ms": { "calls": display.len(), "p50": display_pct(0.5), "p95": display_pct(0.95), "max": display_pct(1.0) },
        "note": "one TCP+TLS connection per request (the kiosk client's way), PostgreSQL on the same machine; call-to-display: from the desk sending its call to the display's event stream delivering it",
    });
    drop(demo);
    if json {
        println!("{out}");
    } else {
        println!(
            "{total} tickets from {kiosks} kiosks in {elapsed:.2} s: {per_second:.0} tickets/s, p50 {:.1} ms, p95 {:.1} ms, {duplicates} duplicates",
            pct(0.5),
            pct(0.95)
        );
        if !display.is_empty() {
            println!(
                "call to display: {} calls, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
                display.len(),
                display_pct(0.5),
                display_pct(0.95),
                display_pct(1.0)
            );
        }
    }
    Ok(if duplicates == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The hall display's event stream, as its page reads it: HTTPS to the
/// centre's pages listener (its CA pinned), signed in with the display's
/// token, then `GET /display/api/events` (server-sent events). Each event
/// is handed over with the instant it arrived.
struct DisplayStream {
    events: std::sync::mpsc::Receiver<(Instant, serde_json::Value)>,
}

impl DisplayStream {
    fn open(pages_url: &str, ca_file: &Path, token: &str) -> anyhow::Result<DisplayStream> {
        let pem = std::fs::read(ca_file)
            .with_context(|| format!("cannot read the CA {}", ca_file.display()))?;
        let ca = ureq::tls::Certificate::from_pem(&pem)?.to_owned();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                ca,
            ])))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        // The token is exchanged for the display's cookie (and a redirect
        // to the page without the token).
        let signed_in = agent
            .get(&format!("{pages_url}/display?token={token}"))
            .call()?;
        let cookie = signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        anyhow::ensure!(
            !cookie.is_empty(),
            "the display's token was refused ({})",
            signed_in.status()
        );
        let stream = agent
            .get(&format!("{pages_url}/display/api/events"))
            .header("Cookie", &cookie)
            .header("Accept", "text/event-stream")
            .call()?;
        anyhow::ensure!(
            stream.status() == 200,
            "the display's event stream answered {}",
            stream.status()
        );
        let (tx, events) = std::sync::mpsc::channel();
        let reader = stream.into_body().into_reader();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(reader).lines() {
                let Ok(line) = line else { return };
                #[expect(clippy::disallowed_methods, reason = "a benchmark timing a display")]
                let at = Instant::now();
                if let Some(data) = line.strip_prefix("data:")
                    && let Ok(event) = serde_json::from_str(data.trim())
                    && tx.send((at, event)).is_err()
                {
                    return;
                }
            }
        });
        Ok(DisplayStream { events })
    }

    /// Waits (up to 10 s) for the call of `number` and returns when it
    /// arrived.
    fn call_of(&self, number: &str) -> anyhow::Result<Instant> {
        let deadline = std::time::Duration::from_secs(10);
        loop {
            let (at, event) = self
                .events
                .recv_timeout(deadline)
                .with_context(|| format!("the display never heard the call of {number}"))?;
            let kind = event.get("kind").and_then(serde_json::Value::as_str);
            if matches!(kind, Some("called" | "call"))
                && event.get("number").and_then(serde_json::Value::as_str) == Some(number)
            {
                return Ok(at);
            }
        }
    }
}

/// Call-to-display latency: a desk calls `calls` numbers (and finishes
/// each); for each, the time from the desk sending its call to the hall
/// display's event stream delivering it. Returns the latencies in ms.
fn display_latency(demo: &Demo, calls: usize) -> anyhow::Result<Vec<f64>> {
    let pages = demo.ready["pages_url"]
        .as_str()
        .context("the demo reported no pages listener")?;
    let token = demo.ready["layout"]["display_token"]
        .as_str()
        .context("the demo reported no display token")?;
    let ca = demo.ready["layout"]["ca"]
        .as_str()
        .context("the demo reported no CA")?;
    let desk_file = demo.ready["layout"]["desk_file"]
        .as_str()
        .context("the demo reported no desk")?;
    let desk = CentreClient::new(&load_centre_section(Path::new(desk_file))?.endpoint)?;
    let display = DisplayStream::open(pages, Path::new(ca), token)?;
    let mut latencies = Vec::with_capacity(calls);
    for i in 0..calls {
        let counter = 1;
        #[expect(clippy::disallowed_methods, reason = "a benchmark timing a display")]
        let sent = Instant::now();
        let called = desk
            .call_next(counter, Some("A"))
            .with_context(|| format!("call {i}"))?;
        let ticket = called
            .ticket
            .with_context(|| format!("call {i}: nobody waits for A"))?;
        let heard = display.call_of(&ticket.number)?;
        latencies.push(heard.saturating_duration_since(sent).as_secs_f64() * 1000.0);
        desk.act(ticket.id, "served", counter)?;
    }
    Ok(latencies)
}
