//! Drives the firmware's document reader over a real (or simulated) card
//! reader: connect, decide the APDU size from the reader and the card, and
//! shuttle APDUs until the reader machine is done, within an overall
//! deadline (a chip that stalls or drips its files must not hold the
//! kiosk: [`ReadError::DeadlineExceeded`]).
//!
//! [`ReadDriver`] is the one read path: the run loop starts it
//! ([`ReadDriver::start`]) and polls it ([`ReadDriver::poll`], at most one
//! APDU exchange per poll, the progress handed out as it happens) until it
//! is done or abandoned ([`ReadDriver::abandon`]); [`ReadDriver::next_wakeup`]
//! says when to poll again. A reader whose calls block (PC/SC, libnfc) is
//! lent to a worker thread for the read and comes back when the read ends
//! ([`ReaderBack`]); the simulator's reader is driven inline, so runs in
//! virtual time stay deterministic. [`read_document`] is the blocking form
//! (`kioskctl card read`, the benchmarks): a loop over the same driver.

use crate::drivers::{DeviceError, Devices, ReaderDevice};
use kiosk_firmware::icao::atr;
use kiosk_firmware::icao::keys::KeyCandidate;
use kiosk_firmware::icao::reader::{
    Document, DocumentReader, Fallback, Fallbacks, Output, ReadError, ReadOptions,
};
use kiosk_firmware::time::Timestamp;
use kiosk_hal::Error as _;
use kiosk_hal::ErrorKind;
use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

/// The default deadline of a whole read: a CCCD reads in 2 to 6 s, slow
/// readers with short APDUs in about 10.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(30);

/// How often the loop looks for a worker's answer while an exchange is
/// under way on a blocking reader (the loop is not woken by the worker).
pub const WORKER_POLL: Duration = Duration::from_millis(2);

/// 32 bytes of OS entropy for the reader's random numbers.
pub fn os_seed() -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

/// Readers report a card pulled away mid-exchange in different ways (a
/// removed card, a communication error, a timeout). After an error that is
/// not already "removed", ask the reader whether the card is still there,
/// up to `looks` times 50 ms apart while the driver notices (on a worker
/// thread or in the blocking form; on the run loop's thread, one look and
/// no wait).
fn classify(reader: &mut dyn ReaderDevice, kind: ErrorKind, looks: u32) -> ErrorKind {
    use kiosk_hal::card::Presence;
    if matches!(kind, ErrorKind::Removed | ErrorKind::NotPresent) {
        return kind;
    }
    for look in 0..looks {
        if reader.presence().ok() == Some(Presence::Absent) {
            return ErrorKind::Removed;
        }
        if look + 1 < looks {
            #[expect(
                clippy::disallowed_methods,
                reason = "device code off the run loop waiting for the driver's presence poll"
            )]
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    kind
}

/// Statistics of a read, for logs and benchmarks (no personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    /// APDUs exchanged.
    pub apdus: u32,
    /// File bytes read.
    pub bytes: usize,
    /// Whether extended-length APDUs were used (at the start: see
    /// [`Fallback::ShortApdus`]).
    pub extended_length: bool,
    /// The fallbacks the read took (also when it failed).
    pub fallbacks: Fallbacks,
}

/// What the board learnt about its readers: those on which extended length
/// was refused (by the reader or by the chips it met) start every later
/// session with short APDUs. Kept for the life of the process, by reader
/// name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderMemory {
    short_only: BTreeSet<String>,
}

impl ReaderMemory {
    /// Whether sessions on `reader` start with short APDUs.
    pub fn starts_short(&self, reader: &str) -> bool {
        self.short_only.contains(reader)
    }

    /// Learns from a read on `reader`.
    pub fn learn(&mut self, reader: &str, stats: &ReadStats) {
        if stats.fallbacks.contains(Fallback::ShortApdus) {
            self.short_only.insert(reader.to_owned());
        }
    }
}

impl Devices {
    /// [`read_document`] on the board's reader, starting with short APDUs
    /// on a reader where extended length was refused before
    /// ([`ReaderMemory`]), and remembering a refusal met in this read.
    pub fn read_document(
        &mut self,
        keys: Vec<KeyCandidate>,
        seed: [u8; 32],
        mut options: ReadOptions,
        progress: impl FnMut(usize, usize),
        clock: impl FnMut() -> Duration,
        deadline: Duration,
    ) -> (Result<Document, ReadError>, ReadStats) {
        if self.reader_memory.starts_short(&self.reader_name) {
            options.extended_length = false;
        }
        let (result, stats) = read_document(
            self.reader.as_mut(),
            keys,
            seed,
            options,
            progress,
            clock,
            deadline,
        );
        self.reader_memory.learn(&self.reader_name, &stats);
        if stats.fallbacks.contains(Fallback::ShortApdus) {
            tracing::info!(
                reader = %self.reader_name,
                "extended length refused: short APDUs on this reader from now on"
            );
        }
        (result, stats)
    }
}

/// A read's end: the document or why not, and its statistics.
pub type ReadOutcome = (Result<Document, ReadError>, ReadStats);

/// What the transport did with a connect or an exchange.
enum Reply {
    /// The card's ATR and whether the reader takes extended length.
    Connected(Result<(Vec<u8>, bool), ErrorKind>),
    /// The response APDU, or the (classified) error kind.
    Response(Result<Vec<u8>, ErrorKind>),
}

/// An exchange for the worker: the command and the longest response.
struct Job {
    apdu: Vec<u8>,
    max: usize,
}

/// The reader as the read holds it.
enum Lend<'r> {
    Owned(Box<dyn ReaderDevice>),
    Borrowed(&'r mut dyn ReaderDevice),
}

impl Lend<'_> {
    fn get(&mut self) -> &mut dyn ReaderDevice {
        match self {
            Lend::Owned(r) => r.as_mut(),
            Lend::Borrowed(r) => &mut **r,
        }
    }
}

/// How APDUs reach the card.
enum Link<'r> {
    /// On the caller's thread, one exchange per poll.
    Inline {
        reader: Option<Lend<'r>>,
        reply: Option<Reply>,
        /// Presence looks after an error ([`classify`]): one on the run
        /// loop's thread, ten (half a second) in the blocking form.
        looks: u32,
        /// The response buffer, kept from one exchange to the next.
        buffer: Vec<u8>,
    },
    /// On a worker thread that holds the reader for the read.
    Worker {
        jobs: Option<mpsc::Sender<Job>>,
        replies: mpsc::Receiver<Reply>,
        home: mpsc::Receiver<Box<dyn ReaderDevice>>,
        waiting: bool,
    },
}

/// Where the reader is once a read ends or is abandoned.
pub enum ReaderBack {
    /// Back at once (inline reads).
    Now(Box<dyn ReaderDevice>),
    /// On its way from the worker: it comes once the exchange under way
    /// (if any) returns and the card is disconnected.
    Later(mpsc::Receiver<Box<dyn ReaderDevice>>),
    /// The caller lent it by reference and has it.
    Borrowed,
}

impl std::fmt::Debug for ReaderBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReaderBack::Now(_) => "Now",
            ReaderBack::Later(_) => "Later",
            ReaderBack::Borrowed => "Borrowed",
        })
    }
}

/// How the read's transport runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// On the caller's thread: for readers that answer at once (the
    /// simulator), or a blocking tool.
    Inline,
    /// On a worker thread: for readers whose calls block (PC/SC, libnfc).
    Worker,
}

/// A chip read in progress, polled by the run loop (see the module
/// documentation).
pub struct ReadDriver<'r> {
    link: Link<'r>,
    keys: Option<(Vec<KeyCandidate>, [u8; 32], ReadOptions)>,
    machine: Option<DocumentReader>,
    /// The next command, held for the next poll.
    outbox: Option<Vec<u8>>,
    /// A result known before the first poll (the connect failed).
    early: Option<Result<Document, ReadError>>,
    stats: ReadStats,
    buffer_len: usize,
    started: Timestamp,
    deadline: Duration,
    last_poll: Timestamp,
    finished: bool,
}

impl std::fmt::Debug for ReadDriver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDriver")
            .field("stats", &self.stats)
            .field("started", &self.started)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

fn connect_error(kind: ErrorKind) -> ReadError {
    match kind {
        ErrorKind::NotPresent | ErrorKind::Removed => ReadError::CardRemoved,
        other => ReadError::Transport(other),
    }
}

fn connect(reader: &mut dyn ReaderDevice) -> Result<(Vec<u8>, bool), ErrorKind> {
    let info = reader.connect().map_err(|e: DeviceError| e.kind())?;
    Ok((info.atr, reader.capabilities().extended_length))
}

/// The worker's side: connect, exchange what comes, disconnect when the
/// read is over (its channel closed), send the reader home.
fn worker(
    mut reader: Box<dyn ReaderDevice>,
    jobs: mpsc::Receiver<Job>,
    replies: mpsc::Sender<Reply>,
    home: mpsc::Sender<Box<dyn ReaderDevice>>,
) {
    let connected = connect(reader.as_mut());
    let ok = connected.is_ok();
    if replies.send(Reply::Connected(connected)).is_ok() && ok {
        let mut buffer = Vec::new();
        while let Ok(job) = jobs.recv() {
            buffer.resize(job.max, 0);
            let reply = match reader.transmit(&job.apdu, &mut buffer) {
                Ok(n) => Ok(buffer.get(..n).unwrap_or(&[]).to_vec()),
                Err(e) => Err(classify(reader.as_mut(), e.kind(), 10)),
            };
            if replies.send(Reply::Response(reply)).is_err() {
                break;
            }
        }
    }
    if let Err(e) = reader.disconnect() {
        tracing::warn!(error = %e, "cannot disconnect the card");
    }
    // The runtime may be gone (shut down): then the reader goes too.
    let _ = home.send(reader);
}

impl ReadDriver<'static> {
    /// Starts reading the document in `reader` with `keys` at `now`;
    /// `transport` says where its calls run. `options` may force short
    /// APDUs (`extended_length: false`) or a smaller block; extended
    /// length is used only when both the reader and the card take it. No
    /// APDU is sent once more than `deadline` has passed since `now`.
    pub fn start(
        reader: Box<dyn ReaderDevice>,
        transport: Transport,
        keys: Vec<KeyCandidate>,
        seed: [u8; 32],
        options: ReadOptions,
        now: Timestamp,
        deadline: Duration,
    ) -> Self {
        match transport {
            Transport::Inline => {
                Self::start_inline(Lend::Owned(reader), 1, keys, seed, options, now, deadline)
            }
            Transport::Worker => {
                let (jobs, job_rx) = mpsc::channel();
                let (reply_tx, replies) = mpsc::channel();
                let (home_tx, home) = mpsc::channel();
                let spawned = std::thread::Builder::new()
                    .name("card-read".into())
                    .spawn(move || worker(reader, job_rx, reply_tx, home_tx));
                let mut driver = Self::new(
                    Link::Worker {
                        jobs: Some(jobs),
                        replies,
                        home,
                        waiting: true,
                    },
                    keys,
                    seed,
                    options,
                    now,
                    deadline,
                );
                if let Err(e) = spawned {
                    // The reader went with the failed spawn's closure.
                    tracing::error!(error = %e, "cannot start the card read's worker");
                    driver.early = Some(Err(ReadError::Transport(ErrorKind::Other)));
                }
                driver
            }
        }
    }
}

impl<'r> ReadDriver<'r> {
    fn new(
        link: Link<'r>,
        keys: Vec<KeyCandidate>,
        seed: [u8; 32],
        options: ReadOptions,
        now: Timestamp,
        deadline: Duration,
    ) -> Self {
        ReadDriver {
            link,
            keys: Some((keys, seed, options)),
            machine: None,
            outbox: None,
            early: None,
            stats: ReadStats {
                apdus: 0,
                bytes: 0,
                extended_length: false,
                fallbacks: Fallbacks::default(),
            },
            buffer_len: 258,
            started: now,
            deadline,
            last_poll: now,
            finished: false,
        }
    }

    fn start_inline(
        mut reader: Lend<'r>,
        looks: u32,
        keys: Vec<KeyCandidate>,
        seed: [u8; 32],
        options: ReadOptions,
        now: Timestamp,
        deadline: Duration,
    ) -> Self {
        let connected = connect(reader.get());
        let mut driver = Self::new(
            Link::Inline {
                reader: Some(reader),
                reply: None,
                looks,
                buffer: Vec::new(),
            },
            keys,
            seed,
            options,
            now,
            deadline,
        );
        driver.connected(connected);
        driver
    }

    /// The card answered the connect: the reader machine starts.
    fn connected(&mut self, connected: Result<(Vec<u8>, bool), ErrorKind>) {
        let Some((keys, seed, mut options)) = self.keys.take() else {
            return;
        };
        match connected {
            Ok((atr, reader_extended)) => {
                options.extended_length =
                    options.extended_length && reader_extended && atr::extended_length(&atr);
                self.stats.extended_length = options.extended_length;
                self.buffer_len = if options.extended_length { 65_538 } else { 258 };
                self.machine = Some(DocumentReader::new(keys, seed, options));
            }
            Err(kind) => self.early = Some(Err(connect_error(kind))),
        }
    }

    /// When the loop should poll again: at once while a command waits to
    /// go out, soon while a worker exchange is under way, and at the
    /// deadline; `None` once the read ended.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        if self.finished {
            return None;
        }
        let deadline = self.started + self.deadline + Duration::from_millis(1);
        let next = match &self.link {
            Link::Worker { waiting: true, .. } if self.early.is_none() => {
                self.last_poll + WORKER_POLL
            }
            _ => self.last_poll,
        };
        Some(next.min(deadline))
    }

    /// The statistics so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// Moves the read along at `now`: takes the transport's answer, if
    /// any, and makes at most one APDU exchange. Each progress the reader
    /// reports goes to `progress` (bytes read, bytes known) as it happens.
    /// `Some` once the read has ended (then the reader goes back with
    /// [`ReadDriver::into_reader`]).
    pub fn poll(
        &mut self,
        now: Timestamp,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Option<ReadOutcome> {
        if self.finished {
            return None;
        }
        self.last_poll = now.max(self.last_poll);
        if let Some(result) = self.early.take() {
            return Some(self.finish(result));
        }
        if now.saturating_since(self.started) > self.deadline {
            return Some(self.finish(Err(ReadError::DeadlineExceeded)));
        }
        let mut sent = false;
        // The answer to the last command, if it is in.
        match self.take_reply() {
            Some(Reply::Connected(c)) => {
                self.connected(c);
                if let Some(result) = self.early.take() {
                    return Some(self.finish(result));
                }
            }
            Some(Reply::Response(r)) => self.answer(r),
            None if self.waiting() => return None,
            None => {}
        }
        loop {
            let output = match self.outbox.take() {
                Some(apdu) => Some(Output::Transmit(apdu)),
                None => self.machine.as_mut().and_then(DocumentReader::poll_output),
            };
            match output {
                Some(Output::Transmit(apdu)) => {
                    if sent {
                        self.outbox = Some(apdu);
                        return None;
                    }
                    sent = true;
                    self.stats.apdus += 1;
                    if !self.send(apdu) {
                        return None;
                    }
                    if let Some(Reply::Response(r)) = self.take_reply() {
                        self.answer(r);
                    }
                }
                Some(Output::Progress { done, total }) => progress(done, total),
                Some(Output::Done(result)) => return Some(self.finish(result)),
                None => {
                    return Some(
                        self.finish(Err(ReadError::Malformed("the reader machine stalled"))),
                    );
                }
            }
        }
    }

    fn waiting(&self) -> bool {
        matches!(self.link, Link::Worker { waiting: true, .. })
    }

    fn take_reply(&mut self) -> Option<Reply> {
        match &mut self.link {
            Link::Inline { reply, .. } => reply.take(),
            Link::Worker {
                replies, waiting, ..
            } => {
                if !*waiting {
                    return None;
                }
                match replies.try_recv() {
                    Ok(r) => {
                        *waiting = false;
                        Some(r)
                    }
                    Err(mpsc::TryRecvError::Empty) => None,
                    // The worker is gone (it panicked): the reader is lost
                    // to this read.
                    Err(mpsc::TryRecvError::Disconnected) => {
                        *waiting = false;
                        Some(Reply::Response(Err(ErrorKind::Other)))
                    }
                }
            }
        }
    }

    /// Sends `apdu`: inline, the exchange is made now; on the worker, it
    /// is queued. `false` when the worker must be waited for.
    fn send(&mut self, apdu: Vec<u8>) -> bool {
        let max = self.buffer_len;
        match &mut self.link {
            Link::Inline {
                reader,
                reply,
                looks,
                buffer,
            } => {
                let Some(reader) = reader.as_mut() else {
                    *reply = Some(Reply::Response(Err(ErrorKind::NotPresent)));
                    return true;
                };
                let reader = reader.get();
                buffer.resize(max, 0);
                let answer = match reader.transmit(&apdu, buffer.as_mut_slice()) {
                    Ok(n) => Ok(buffer.get(..n).unwrap_or(&[]).to_vec()),
                    Err(e) => Err(classify(reader, e.kind(), *looks)),
                };
                *reply = Some(Reply::Response(answer));
                true
            }
            Link::Worker { jobs, waiting, .. } => {
                let queued = jobs
                    .as_ref()
                    .is_some_and(|j| j.send(Job { apdu, max }).is_ok());
                *waiting = true;
                if !queued {
                    // Seen as a transport error at the next poll.
                    jobs.take();
                }
                false
            }
        }
    }

    fn answer(&mut self, reply: Result<Vec<u8>, ErrorKind>) {
        let Some(machine) = self.machine.as_mut() else {
            return;
        };
        match reply {
            // An answer shorter than a status word: the transport failed
            // (vpcd passes a card's silence on this way).
            Ok(bytes) if bytes.len() < 2 => machine.handle_transport_error(ErrorKind::Protocol),
            Ok(bytes) => machine.handle_response(&bytes),
            Err(kind) => machine.handle_transport_error(kind),
        }
    }

    fn finish(&mut self, result: Result<Document, ReadError>) -> ReadOutcome {
        self.finished = true;
        if let Some(machine) = self.machine.as_ref() {
            self.stats.fallbacks = machine.fallbacks();
        }
        self.machine = None;
        self.outbox = None;
        self.release();
        self.stats.bytes = result.as_ref().map_or(0, |d| d.bytes);
        (result, self.stats)
    }

    /// Disconnects the card (inline) or tells the worker the read is over.
    fn release(&mut self) {
        match &mut self.link {
            Link::Inline { reader, .. } => {
                if let Some(reader) = reader.as_mut()
                    && let Err(e) = reader.get().disconnect()
                {
                    tracing::warn!(error = %e, "cannot disconnect the card");
                }
            }
            Link::Worker { jobs, .. } => {
                jobs.take();
            }
        }
    }

    /// Abandons the read (Cancel, the card removed, a deadline): no
    /// further APDU goes out, the card is disconnected and what was read is
    /// dropped (the reader machine zeroizes its keys and files). Returns
    /// the statistics so far and where the reader is.
    pub fn abandon(mut self) -> (ReadStats, ReaderBack) {
        if !self.finished {
            self.finished = true;
            self.machine = None;
            self.release();
        }
        (self.stats, self.into_reader())
    }

    /// The reader, once the read has ended.
    pub fn into_reader(mut self) -> ReaderBack {
        self.release_once();
        match std::mem::replace(
            &mut self.link,
            Link::Inline {
                reader: None,
                reply: None,
                looks: 1,
                buffer: Vec::new(),
            },
        ) {
            Link::Inline { reader, .. } => match reader {
                Some(Lend::Owned(r)) => ReaderBack::Now(r),
                Some(Lend::Borrowed(_)) | None => ReaderBack::Borrowed,
            },
            Link::Worker { home, .. } => ReaderBack::Later(home),
        }
    }

    fn release_once(&mut self) {
        if !self.finished {
            self.finished = true;
            self.machine = None;
            self.release();
        }
    }
}

/// Reads the document in the reader with `keys`, blocking until it ends:
/// the [`ReadDriver`] polled in a loop on this thread. `options` may force
/// short APDUs (`extended_length: false`) or a smaller block; extended
/// length is used only when both the reader and the card say they take it.
///
/// `clock` is a monotonic clock (any origin; tools pass an
/// `Instant`-based one, tests a scripted one): once more than `deadline`
/// has passed since the start, no further APDU is sent and the read ends
/// with [`ReadError::DeadlineExceeded`].
pub fn read_document(
    reader: &mut dyn ReaderDevice,
    keys: Vec<KeyCandidate>,
    seed: [u8; 32],
    options: ReadOptions,
    mut progress: impl FnMut(usize, usize),
    mut clock: impl FnMut() -> Duration,
    deadline: Duration,
) -> ReadOutcome {
    let mut now = || Timestamp::from_millis(u64::try_from(clock().as_millis()).unwrap_or(u64::MAX));
    let mut driver = ReadDriver::start_inline(
        Lend::Borrowed(reader),
        10,
        keys,
        seed,
        options,
        now(),
        deadline,
    );
    loop {
        if let Some(outcome) = driver.poll(now(), &mut progress) {
            return outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{SimBoard, SimControls};
    use kiosk_firmware::testkit::CardProfile;
    use std::path::Path;

    const PROFILE: &str = r#"
[chip]
protocols = ["pace"]
photo = "placeholder"
seed = 3

[citizen]
id_number = "003090000001"
full_name = "Nguyễn Văn Mẫu"
date_of_birth = "15/01/1990"
sex = "Nam"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
"#;

    fn board(faults: &str) -> (crate::drivers::Devices, SimControls) {
        board_with(PROFILE, false, faults)
    }

    fn board_with(
        profile: &str,
        extended_length: bool,
        faults: &str,
    ) -> (crate::drivers::Devices, SimControls) {
        let profile: CardProfile =
            toml::from_str(&format!("{profile}\n[faults]\n{faults}")).unwrap();
        let chip = profile.chip(Path::new(".")).unwrap();
        let config = crate::simulator::test_config(extended_length);
        let (devices, controls) = SimBoard::build(&config).unwrap();
        controls.insert_card(Box::new(chip));
        (devices, controls)
    }

    #[test]
    fn a_reader_that_met_a_refusal_of_extended_length_starts_the_next_session_short() {
        let profile = PROFILE.replace("seed = 3", "seed = 3\nextended_length = true");
        let (mut devices, _controls) =
            board_with(&profile, true, r#"extended_refused = "wrong_length""#);
        let extended = || ReadOptions {
            extended_length: true,
            ..ReadOptions::default()
        };
        let read = |devices: &mut crate::drivers::Devices| {
            let (result, stats) = devices.read_document(
                keys(),
                [1; 32],
                extended(),
                |_, _| {},
                || Duration::ZERO,
                DEFAULT_READ_DEADLINE,
            );
            assert!(result.is_ok(), "{result:?}");
            stats
        };
        let first = read(&mut devices);
        assert!(first.extended_length, "the first session tries extended");
        assert!(first.fallbacks.contains(Fallback::ShortApdus));
        assert!(devices.reader_memory.starts_short("sim:Sim Reader 0"));
        let second = read(&mut devices);
        assert!(!second.extended_length, "the next starts short");
        assert!(second.fallbacks.is_empty(), "{:?}", second.fallbacks);
        assert!(second.apdus < first.apdus);
        // Another reader name has learnt nothing.
        assert!(!devices.reader_memory.starts_short("sim:Another"));
    }

    fn keys() -> Vec<KeyCandidate> {
        vec![KeyCandidate::Can("000001".into())]
    }

    #[test]
    fn a_chip_that_stalls_mid_read_ends_with_the_readers_timeout() {
        let (mut devices, _controls) = board("stall_after = 300");
        let (result, stats) = read_document(
            devices.reader.as_mut(),
            keys(),
            [1; 32],
            ReadOptions::default(),
            |_, _| {},
            || Duration::ZERO,
            DEFAULT_READ_DEADLINE,
        );
        assert_eq!(
            result.unwrap_err(),
            ReadError::Transport(kiosk_hal::ErrorKind::Timeout)
        );
        assert!(stats.apdus > 8, "it stalled mid-read, not at once");
    }

    #[test]
    fn a_dripping_chip_is_stopped_by_the_deadline() {
        let (mut devices, _controls) = board("drip = 1");
        // A scripted clock: each look at it is one second later.
        let mut now = Duration::ZERO;
        let (result, stats) = read_document(
            devices.reader.as_mut(),
            keys(),
            [1; 32],
            ReadOptions {
                max_apdus: Some(u32::MAX),
                ..ReadOptions::default()
            },
            |_, _| {},
            move || {
                now += Duration::from_secs(1);
                now
            },
            Duration::from_secs(40),
        );
        assert_eq!(result.unwrap_err(), ReadError::DeadlineExceeded);
        assert_eq!(stats.apdus, 40);
    }
}
