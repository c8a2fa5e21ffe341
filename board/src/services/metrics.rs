//! The usage metrics beside the kiosk: a snapshot for `kioskctl stats`
//! and a Prometheus text endpoint on a loopback address (`[metrics]`).
//!
//! Both read the database through a read-only connection of their own
//! (`Store::open_reader`; WAL lets it read while the kiosk writes), so
//! they never wait on the citizen's journey and the journey never waits on
//! them. The figures carry no personal data (see `firmware::metrics`).
//!
//! The endpoint is a deliberately small HTTP/1.1 server: one thread, one
//! connection at a time, `GET`/`HEAD /metrics` only, a 2-second read
//! timeout and an 8 KiB request limit, `Connection: close`. A scraper on
//! the board (node exporter's textfile collector, an agent) is its only
//! client, which is why it binds loopback addresses only.

use kiosk_firmware::metrics::{self, Gauges, PRINTER_STATES, Usage};
use kiosk_firmware::store::{Store, StoreError};
use serde::Serialize;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What `kioskctl stats` and the endpoint show.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The local day of `today` (`YYYYMMDD`).
    pub day: String,
    /// The counts of that day.
    pub today: Usage,
    /// The counts since the database was created.
    pub totals: Usage,
    /// Today's satisfaction share (ratings 4–5 among those given).
    pub satisfaction_today: Option<metrics::Satisfaction>,
    /// Today's share of chip reads that identified the holder.
    pub identification_rate_today: Option<f64>,
    /// The outbox backlog and the printer.
    pub gauges: Gauges,
}

/// The outbox backlog and the printer state the runtime saved.
pub fn gauges(store: &Store) -> Result<Gauges, StoreError> {
    let (outbox_pending, outbox_failed) = store.outbox_backlog()?;
    let saved = store.kv_get(metrics::PRINTER_STATE_KEY)?;
    let printer = PRINTER_STATES
        .into_iter()
        .find(|s| saved.as_deref() == Some(*s))
        .unwrap_or("unknown");
    Ok(Gauges {
        outbox_pending,
        outbox_failed,
        printer,
    })
}

/// Reads the snapshot of local day `day` from `store`.
pub fn snapshot(store: &Store, day: &str) -> Result<Snapshot, StoreError> {
    let today = store.usage_of_day(day)?;
    Ok(Snapshot {
        day: day.to_owned(),
        satisfaction_today: today.satisfaction(),
        identification_rate_today: today.identification_rate(),
        today,
        totals: store.usage_totals()?,
        gauges: gauges(store)?,
    })
}

/// The Prometheus text of the database at `path`, read now.
pub fn exposition(path: &Path) -> Result<String, StoreError> {
    let store = Store::open_reader(path)?;
    Ok(metrics::prometheus(
        &store.usage_totals()?,
        &gauges(&store)?,
    ))
}

/// Why the endpoint did not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Metrics leave the board only through a scraper on it. Remedy: a
    /// loopback address in `[metrics] listen`.
    #[error("the metrics endpoint listens on loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    /// The port is taken or not allowed. Remedy: another port.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server thread could not be started.
    #[error("cannot start the metrics thread: {0}")]
    Thread(std::io::Error),
}

/// The running endpoint; dropping it stops it.
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const READ_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_REQUEST: usize = 8 * 1024;

impl Endpoint {
    /// Serves the metrics of the database at `database` on `listen` (port
    /// 0 picks a free one; see [`Endpoint::local_addr`]).
    pub fn start(listen: SocketAddr, database: PathBuf) -> Result<Endpoint, EndpointError> {
        if !listen.ip().is_loopback() {
            return Err(EndpointError::NotLoopback(listen));
        }
        let listener = TcpListener::bind(listen).map_err(|source| EndpointError::Bind {
            addr: listen,
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EndpointError::Bind {
                addr: listen,
                source,
            })?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn({
                let stop = stop.clone();
                move || serve(&listener, &database, &stop)
            })
            .map_err(EndpointError::Thread)?;
        tracing::info!(%addr, "metrics endpoint listening");
        Ok(Endpoint {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; it sees the flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the metrics thread panicked");
        }
    }
}

fn serve(listener: &TcpListener, database: &Path, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(stream) => {
                if let Err(e) = answer(stream, database) {
                    tracing::debug!(error = %e, "metrics request dropped");
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics endpoint cannot accept"),
        }
    }
}

/// The request line of a request head, once the head is complete.
fn request_line(head: &[u8]) -> Option<&str> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&head[..end]).ok()?;
    head.lines().next()
}

/// What to answer to a request line: status, reason, body, whether the
/// body is the metrics (for the content type), whether to send it.
fn route(line: &str, database: &Path) -> (u16, &'static str, String, bool) {
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => match exposition(database) {
            Ok(text) => (200, "OK", text, true),
            Err(e) => {
                tracing::warn!(error = %e, "metrics cannot read the database");
                (
                    503,
                    "Service Unavailable",
                    "the kiosk database cannot be read now\n".into(),
                    false,
                )
            }
        },
        ("GET" | "HEAD", _) => (404, "Not Found", "see /metrics\n".into(), false),
        _ => (
            405,
            "Method Not Allowed",
            "GET /metrics only\n".into(),
            false,
        ),
    }
}

fn answer(mut stream: TcpStream, database: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let line = loop {
        if let Some(line) = request_line(&head) {
            break line.to_owned();
        }
        if head.len() > MAX_REQUEST {
            respond(
                &mut stream,
                431,
                "Request Header Fields Too Large",
                "",
                false,
                true,
            )?;
            // Read what the client still sends (bounded) before closing, so
            // the answer is not lost to a reset.
            stream.shutdown(std::net::Shutdown::Write)?;
            let mut drained = 0usize;
            while drained < 16 * MAX_REQUEST {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
            return Ok(());
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    };
    let (status, reason, body, is_metrics) = route(&line, database);
    let send_body = !line.starts_with("HEAD ");
    respond(&mut stream, status, reason, &body, is_metrics, send_body)
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    body: &str,
    is_metrics: bool,
    send_body: bool,
) -> std::io::Result<()> {
    let content_type = if is_metrics {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if send_body {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_firmware::metrics::{Count, Label, Metric};
    use kiosk_firmware::store::UnixMillis;

    const AT: UnixMillis = UnixMillis(1_795_568_400_000); // 2026-11-25 08:00 ICT

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn database(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("kiosk.db");
        let (mut store, _) = Store::open(&path, AT).unwrap();
        store
            .count_usage(
                AT,
                &[
                    Count::one(Metric::JourneysStarted, Label::NONE),
                    Count::one(Metric::Ratings, metrics::rating(Some(5))),
                ],
            )
            .unwrap();
        store
            .kv_set(metrics::PRINTER_STATE_KEY, "paper_near_end")
            .unwrap();
        path
    }

    #[test]
    fn the_endpoint_serves_the_exposition_and_only_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(&dir);
        let endpoint = Endpoint::start("127.0.0.1:0".parse().unwrap(), path).unwrap();
        let addr = endpoint.local_addr();
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(ok.contains("\r\n\r\n# HELP kiosk_journeys_started_total"));
        assert!(ok.contains("kiosk_journeys_started_total 1\n"));
        assert!(ok.contains("kiosk_ratings_total{score=\"5\"} 1\n"));
        assert!(ok.contains("kiosk_printer_state{state=\"paper_near_end\"} 1\n"));
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.ends_with("\r\n\r\n"), "HEAD has no body");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n", "a".repeat(10_000));
        assert!(get(addr, &huge).starts_with("HTTP/1.1 431 "));
        drop(endpoint);
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err(),
            "a dropped endpoint stops listening"
        );
    }

    #[test]
    fn a_missing_database_is_a_503_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint =
            Endpoint::start("127.0.0.1:0".parse().unwrap(), dir.path().join("none.db")).unwrap();
        let out = get(endpoint.local_addr(), "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 503 "), "{out}");
    }

    #[test]
    fn the_endpoint_refuses_an_address_off_the_board() {
        assert!(matches!(
            Endpoint::start("0.0.0.0:0".parse().unwrap(), PathBuf::from("x")),
            Err(EndpointError::NotLoopback(_))
        ));
    }

    #[test]
    fn the_snapshot_has_todays_counts_shares_and_gauges() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(&dir);
        let store = Store::open_reader(&path).unwrap();
        let snap = snapshot(&store, "20261125").unwrap();
        assert_eq!(snap.today.total(Metric::JourneysStarted), 1);
        assert_eq!(snap.satisfaction_today.unwrap().share, 1.0);
        assert_eq!(snap.gauges.printer, "paper_near_end");
        assert!(
            snapshot(&store, "20261126")
                .unwrap()
                .today
                .counts
                .is_empty()
        );
    }
}
