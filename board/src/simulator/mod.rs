//! The simulator board: the same firmware, with virtual devices (DESIGN.md §5).
//!
//! - [`SimCardReader`]: a reader slot into which tests, scenarios and the
//!   console put a [`SimCard`] (the card side of ISO/IEC 7816-4: it answers
//!   APDUs). Taking the card away while connected makes the next exchange
//!   fail with [`ErrorKind::Removed`], as a real reader does.
//! - [`SimCamera`]: plays image files (or a generated empty scene) as frames.
//! - [`SimPrinter`]: keeps every ESC/POS byte it is sent (and writes each job
//!   to a file when configured); its paper, cover and online state are set by
//!   the tester.
//! - Indicators: [`kiosk_hal::indicators::PinIndicators`] over [`SimPin`]s,
//!   virtual GPIO lines whose state the UI and tests can read.
//!
//! [`SimBoard::build`] returns the [`Devices`] for the runtime and a
//! [`SimControls`] handle to drive them from outside.

//!
//! Beside it: [`scene`] (camera scenes: the card QR held up, a citizen
//! turning), [`scenario`] (scripted journeys with the real screens,
//! `kioskctl sim run`) and [`vpcd`] (a simulated card behind real pcscd,
//! vsmartcard's vpcd).

pub mod scenario;
pub mod scene;
pub mod vpcd;

use crate::config::{FrameSource, SimConfig};
use crate::drivers::{DeviceError, Devices, Erased};
use kiosk_hal::camera::{Camera, Frame, FrameFormat, PixelFormat};
use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, Presence, TransportCapabilities};
use kiosk_hal::indicators::{Light, PinIndicators};
use kiosk_hal::printer::{PaperLevel, Printer, PrinterStatus};
use kiosk_hal::sensors::SensorState;
use kiosk_hal::{ErrorKind, ErrorType};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks a shared device state. The state is plain data, valid even if a
/// holder panicked, so a poisoned lock is recovered rather than propagated.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The card side of a contactless card: answers command APDUs.
pub trait SimCard: Send {
    /// The ATR a PC/SC reader would report for this card.
    fn atr(&self) -> Vec<u8>;
    /// A fresh activation (field on): volatile state such as a selected file
    /// or a secure-messaging session is lost.
    fn reset(&mut self);
    /// Answers one command APDU with a response APDU (data and SW1 SW2).
    fn process(&mut self, command: &[u8]) -> Vec<u8>;
    /// A short description for logs (never personal data).
    fn describe(&self) -> String;
    /// The UID the reader reports at activation, if fixed. `None` (the
    /// default) gives an eMRTD's random UID, fresh at every activation.
    fn uid(&self) -> Option<Vec<u8>> {
        None
    }
    /// Whether the card has stopped answering (a hostile chip that stalls
    /// mid-read): the reader's transmit then times out, as a real reader's
    /// does. `false` by default.
    fn stalled(&self) -> bool {
        false
    }
}

/// A staff card (a plain ISO 14443-4 card with a fixed UID, like a
/// MIFARE DESFire badge): it has no eMRTD application; staff mode knows it
/// by its UID (`kind = "staff"` in a card profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffCard {
    /// Its UID (4, 7 or 10 bytes).
    pub uid: Vec<u8>,
}

impl SimCard for StaffCard {
    fn atr(&self) -> Vec<u8> {
        ForeignCard.atr()
    }

    fn reset(&mut self) {}

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        ForeignCard.process(command)
    }

    fn describe(&self) -> String {
        "staff card".into()
    }

    fn uid(&self) -> Option<Vec<u8>> {
        Some(self.uid.clone())
    }
}

/// Why a card profile cannot be put in the simulated reader.
#[derive(Debug, thiserror::Error)]
pub enum SimCardError {
    /// A citizen card's profile is wrong (see [`kiosk_firmware::testkit::ProfileError`]).
    #[error(transparent)]
    Profile(#[from] kiosk_firmware::testkit::ProfileError),
    /// A staff card's profile is wrong. Remedy: `kind = "staff"` and `uid`
    /// as 8, 14 or 20 hex digits.
    #[error("{path}: {message}")]
    Staff {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A card profile with `kind = "staff"`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffProfile {
    #[expect(dead_code, reason = "checked by the dispatch in load_sim_card")]
    kind: String,
    uid: String,
}

/// Loads any card profile: a staff card (`kind = "staff"`, a fixed `uid`)
/// or a citizen card (a virtual CCCD chip).
pub fn load_sim_card(profile: &Path) -> Result<Box<dyn SimCard>, SimCardError> {
    let staff = |message: String| SimCardError::Staff {
        path: profile.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(profile).map_err(|e| staff(e.to_string()))?;
    let is_staff = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("kind").and_then(|k| k.as_str()).map(|k| k == "staff"))
        .unwrap_or(false);
    if !is_staff {
        return Ok(Box::new(load_card(profile)?));
    }
    let p: StaffProfile =
        toml::from_str(&text).map_err(|e| staff(e.to_string().trim_end().to_owned()))?;
    let uid = hex::decode(p.uid.trim())
        .ok()
        .filter(|u| matches!(u.len(), 4 | 7 | 10))
        .ok_or_else(|| {
            staff(format!(
                "uid must be 4, 7 or 10 bytes of hex, not {:?}",
                p.uid
            ))
        })?;
    Ok(Box::new(StaffCard { uid }))
}

/// A contactless card that is not an ID card (a transport or bank card): it
/// activates but has no eMRTD application, so `SELECT` by AID answers
/// `6A82` (file or application not found) and anything else `6D00`
/// (instruction not supported), per ISO/IEC 7816-4 §5.6.
#[derive(Debug, Clone, Default)]
pub struct ForeignCard;

impl SimCard for ForeignCard {
    fn atr(&self) -> Vec<u8> {
        // PC/SC Part 3 synthesised ATR for an ISO 14443-4 card with no
        // historical bytes.
        vec![0x3B, 0x80, 0x80, 0x01, 0x01]
    }

    fn reset(&mut self) {}

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        match command {
            [_, 0xA4, ..] => vec![0x6A, 0x82],
            [_, _, _, _, ..] => vec![0x6D, 0x00],
            _ => vec![0x67, 0x00],
        }
    }

    fn describe(&self) -> String {
        "foreign contactless card (no eMRTD application)".into()
    }
}

#[derive(Default)]
struct Slot {
    card: Option<Box<dyn SimCard>>,
    /// Bumped on every insert/remove, so a connection notices its card left
    /// even if another was put in meanwhile.
    generation: u64,
    /// A fault to report on the next reader operation (tester-injected).
    fault: Option<ErrorKind>,
}

/// The simulated reader.
pub struct SimCardReader {
    name: String,
    slot: Arc<Mutex<Slot>>,
    connected: Option<u64>,
    capabilities: TransportCapabilities,
}

impl std::fmt::Debug for SimCardReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCardReader")
            .field("name", &self.name)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl SimCardReader {
    fn error(kind: ErrorKind, message: &str) -> DeviceError {
        DeviceError::new("card_reader", kind, message)
    }

    fn take_fault(slot: &mut Slot) -> Result<(), DeviceError> {
        match slot.fault.take() {
            Some(kind) => Err(Self::error(kind, "injected reader fault")),
            None => Ok(()),
        }
    }
}

impl ErrorType for SimCardReader {
    type Error = DeviceError;
}

impl CardReader for SimCardReader {
    fn presence(&mut self) -> Result<Presence, DeviceError> {
        let mut slot = lock(&self.slot);
        Self::take_fault(&mut slot)?;
        Ok(if slot.card.is_some() {
            Presence::Present
        } else {
            Presence::Absent
        })
    }

    fn connect(&mut self) -> Result<CardInfo, DeviceError> {
        let mut slot = lock(&self.slot);
        Self::take_fault(&mut slot)?;
        let generation = slot.generation;
        let card = slot
            .card
            .as_mut()
            .ok_or_else(|| Self::error(ErrorKind::NotPresent, "no card in the field"))?;
        card.reset();
        let atr = card.atr();
        // An eMRTD's UID is random per activation (`08` and three bytes,
        // ISO/IEC 14443-3 §6.5.4): here it varies with the insertion.
        let uid = card.uid().unwrap_or_else(|| {
            let g = generation.to_be_bytes();
            vec![0x08, g[5] ^ 0x5A, g[6] ^ 0xC3, g[7] ^ 0x1E]
        });
        self.connected = Some(generation);
        Ok(CardInfo {
            atr,
            uid: Some(uid),
        })
    }

    fn disconnect(&mut self) -> Result<(), DeviceError> {
        self.connected = None;
        Ok(())
    }
}

impl ApduTransport for SimCardReader {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, DeviceError> {
        let mut slot = lock(&self.slot);
        Self::take_fault(&mut slot)?;
        let Some(connected) = self.connected else {
            return Err(Self::error(
                ErrorKind::NotPresent,
                "not connected to a card",
            ));
        };
        if connected != slot.generation {
            self.connected = None;
            return Err(Self::error(ErrorKind::Removed, "the card left the field"));
        }
        if command.len() > self.capabilities.max_command_len {
            return Err(Self::error(
                ErrorKind::Protocol,
                "command longer than the reader accepts",
            ));
        }
        let card = slot
            .card
            .as_mut()
            .ok_or_else(|| Self::error(ErrorKind::Removed, "the card left the field"))?;
        if card.stalled() {
            return Err(Self::error(ErrorKind::Timeout, "the card does not answer"));
        }
        let answer = card.process(command);
        if answer.len() < 2 || answer.len() > response.len() {
            return Err(Self::error(
                ErrorKind::Protocol,
                "response does not fit the buffer",
            ));
        }
        response[..answer.len()].copy_from_slice(&answer);
        Ok(answer.len())
    }

    fn capabilities(&self) -> TransportCapabilities {
        self.capabilities
    }
}

/// Frames of the simulated camera, shared with [`SimControls`].
#[derive(Default)]
struct Film {
    frames: Vec<Frame>,
    /// Tester-injected fault for the next start/capture.
    fault: Option<ErrorKind>,
    /// Whether the camera is streaming (its light would be on).
    on: bool,
}

/// The simulated camera.
pub struct SimCamera {
    film: Arc<Mutex<Film>>,
    started: bool,
    next: usize,
    sequence: u64,
}

impl std::fmt::Debug for SimCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCamera")
            .field("started", &self.started)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

fn camera_error(kind: ErrorKind, message: impl Into<String>) -> DeviceError {
    DeviceError::new("camera", kind, message)
}

impl ErrorType for SimCamera {
    type Error = DeviceError;
}

impl Camera for SimCamera {
    fn start(&mut self) -> Result<FrameFormat, DeviceError> {
        let mut film = lock(&self.film);
        if let Some(kind) = film.fault.take() {
            return Err(camera_error(kind, "injected camera fault"));
        }
        let first = film
            .frames
            .first()
            .ok_or_else(|| camera_error(ErrorKind::NotPresent, "no frames to play"))?;
        let format = FrameFormat {
            width: first.width,
            height: first.height,
            pixel_format: first.pixel_format.unwrap_or(PixelFormat::Bgr8),
        };
        film.on = true;
        self.started = true;
        self.next = 0;
        self.sequence = 0;
        Ok(format)
    }

    fn capture(&mut self, frame: &mut Frame) -> Result<(), DeviceError> {
        if !self.started {
            return Err(camera_error(ErrorKind::Other, "capture before start"));
        }
        let mut film = lock(&self.film);
        if let Some(kind) = film.fault.take() {
            return Err(camera_error(kind, "injected camera fault"));
        }
        if film.frames.is_empty() {
            return Err(camera_error(ErrorKind::Timeout, "no frames to play"));
        }
        let source = &film.frames[self.next % film.frames.len()];
        frame.width = source.width;
        frame.height = source.height;
        frame.pixel_format = source.pixel_format;
        frame.data.clear();
        frame.data.extend_from_slice(&source.data);
        frame.sequence = self.sequence;
        self.sequence += 1;
        self.next = (self.next + 1) % film.frames.len();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), DeviceError> {
        lock(&self.film).on = false;
        self.started = false;
        Ok(())
    }
}

/// An empty scene of `width`×`height` (see [`SimCamera`]).
pub fn pattern(width: u32, height: u32) -> Frame {
    pattern_frame(width, height)
}

/// An empty scene: a soft vertical gradient (wall) with a darker floor band,
/// and no one in it.
fn pattern_frame(width: u32, height: u32) -> Frame {
    let mut data = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        let wall = y < height * 3 / 4;
        let shade = u8::try_from(150 + (y * 60 / height.max(1))).unwrap_or(210);
        for _ in 0..width {
            if wall {
                data.extend_from_slice(&[shade, shade.saturating_sub(8), shade.saturating_sub(20)]);
            } else {
                data.extend_from_slice(&[70, 80, 90]);
            }
        }
    }
    Frame {
        width,
        height,
        pixel_format: Some(PixelFormat::Bgr8),
        sequence: 0,
        data,
    }
}

/// Decodes an image file into a BGR frame.
pub fn load_frame(path: &Path) -> Result<Frame, DeviceError> {
    let img = image::open(path)
        .map_err(|e| camera_error(ErrorKind::Io, format!("{}: {e}", path.display())))?
        .to_rgb8();
    let (width, height) = img.dimensions();
    let mut data = img.into_raw();
    for px in data.chunks_exact_mut(3) {
        px.swap(0, 2);
    }
    Ok(Frame {
        width,
        height,
        pixel_format: Some(PixelFormat::Bgr8),
        sequence: 0,
        data,
    })
}

/// Loads the images of a directory in name order.
pub fn load_frames(dir: &Path) -> Result<Vec<Frame>, DeviceError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| camera_error(ErrorKind::Io, format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(camera_error(
            ErrorKind::NotPresent,
            format!("{} has no PNG or JPEG images", dir.display()),
        ));
    }
    paths.iter().map(|p| load_frame(p)).collect()
}

impl SimCard for kiosk_firmware::testkit::chip::VirtualChip {
    fn atr(&self) -> Vec<u8> {
        kiosk_firmware::testkit::chip::VirtualChip::atr(self)
    }

    fn reset(&mut self) {
        kiosk_firmware::testkit::chip::VirtualChip::reset(self);
    }

    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        kiosk_firmware::testkit::chip::VirtualChip::process(self, command)
    }

    fn describe(&self) -> String {
        "virtual CCCD chip".into()
    }

    fn stalled(&self) -> bool {
        kiosk_firmware::testkit::chip::VirtualChip::stalled(self)
    }
}

/// Loads a card profile and builds its chip.
pub fn load_card(
    profile: &Path,
) -> Result<kiosk_firmware::testkit::chip::VirtualChip, kiosk_firmware::testkit::ProfileError> {
    let (p, base) = kiosk_firmware::testkit::CardProfile::load(profile)?;
    p.chip(&base)
}

/// State of the simulated printer, shared with [`SimControls`].
#[derive(Debug)]
struct Paper {
    status: PrinterStatus,
    /// Bytes accepted and flushed, in order, since the board started.
    printed: Vec<u8>,
    /// Bytes written but not yet flushed.
    pending: Vec<u8>,
    jobs: u64,
    output_dir: Option<PathBuf>,
    /// The number of the last job file in `output_dir`: a new board (the
    /// kiosk restarted, `kioskctl ticket print`) continues after it rather
    /// than overwriting earlier jobs.
    last_file: u64,
    /// How long each status query and flush takes, in real time (a slow
    /// serial link, a printer busy cutting).
    delay: Duration,
    /// The printer takes no call back until released (a USB printer
    /// stuck in a transfer): every call waits.
    hung: bool,
}

impl SimPrinter {
    /// Waits as the printer's state says (a delay, a hang), in real time,
    /// before answering a call: the simulated printer then blocks as a
    /// real one does (its board should be `blocking`, so the run loop
    /// lends it to a worker).
    fn stall(&self) {
        let delay = lock(&self.paper).delay;
        if !delay.is_zero() {
            #[expect(clippy::disallowed_methods, reason = "a slow printer, in real time")]
            std::thread::sleep(delay);
        }
        while lock(&self.paper).hung {
            #[expect(clippy::disallowed_methods, reason = "a hung printer, in real time")]
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The highest `NNNNNN` of the `job-NNNNNN.escpos` files in `dir`.
fn last_job_file(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("job-")?
                .strip_suffix(".escpos")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

/// The simulated printer.
#[derive(Debug)]
pub struct SimPrinter {
    paper: Arc<Mutex<Paper>>,
}

fn printer_error(kind: ErrorKind, message: impl Into<String>) -> DeviceError {
    DeviceError::new("printer", kind, message)
}

impl ErrorType for SimPrinter {
    type Error = DeviceError;
}

impl Printer for SimPrinter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        let mut paper = lock(&self.paper);
        if !paper.status.online {
            return Err(printer_error(ErrorKind::NotPresent, "printer offline"));
        }
        if !paper.status.can_print() {
            // A real printer stops taking data when it cannot print.
            return Err(printer_error(
                ErrorKind::Timeout,
                "printer does not accept data",
            ));
        }
        paper.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.stall();
        let mut paper = lock(&self.paper);
        if paper.pending.is_empty() {
            return Ok(());
        }
        if !paper.status.can_print() {
            return Err(printer_error(
                ErrorKind::Timeout,
                "printer does not accept data",
            ));
        }
        let job = std::mem::take(&mut paper.pending);
        paper.jobs += 1;
        if let Some(dir) = paper.output_dir.clone() {
            paper.last_file += 1;
            let path = dir.join(format!("job-{:06}.escpos", paper.last_file));
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, &job))
                .map_err(|e| printer_error(ErrorKind::Io, format!("{}: {e}", path.display())))?;
            write_paper_png(&job, &dir.join(format!("job-{:06}.png", paper.last_file)))?;
        }
        paper.printed.extend_from_slice(&job);
        Ok(())
    }

    fn status(&mut self) -> Result<PrinterStatus, DeviceError> {
        self.stall();
        let paper = lock(&self.paper);
        if !paper.status.online {
            return Err(printer_error(
                ErrorKind::NotPresent,
                "printer does not answer",
            ));
        }
        Ok(paper.status)
    }
}

/// Writes the paper an ESC/POS job produces as a PNG (all its pages, one
/// under the other). A job the decoder cannot follow is a protocol error:
/// a real printer would print garbage.
pub fn write_paper_png(job: &[u8], path: &Path) -> Result<(), DeviceError> {
    use kiosk_firmware::ticket::escpos::decode;
    let decoded = decode(job).map_err(|e| printer_error(ErrorKind::Protocol, e.to_string()))?;
    let width = decoded.pages.iter().map(|p| p.width()).max().unwrap_or(0);
    let height: u32 = decoded.pages.iter().map(|p| p.height()).sum();
    if width == 0 || height == 0 {
        return Ok(());
    }
    let mut img = image::GrayImage::from_pixel(width, height, image::Luma([255]));
    let mut top = 0;
    for page in &decoded.pages {
        for y in 0..page.height() {
            for x in 0..page.width() {
                if page.get(x, y) {
                    img.put_pixel(x, top + y, image::Luma([0]));
                }
            }
        }
        top += page.height();
    }
    img.save(path)
        .map_err(|e| printer_error(ErrorKind::Io, format!("{}: {e}", path.display())))
}

/// A virtual GPIO output line.
#[derive(Debug, Clone)]
pub struct SimPin {
    light: Light,
    lines: Arc<Mutex<BTreeMap<Light, bool>>>,
}

impl embedded_hal::digital::ErrorType for SimPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for SimPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        lock(&self.lines).insert(self.light, false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        lock(&self.lines).insert(self.light, true);
        Ok(())
    }
}

/// Drives the simulated devices from outside: tests, scenarios, the console.
#[derive(Clone)]
pub struct SimControls {
    slot: Arc<Mutex<Slot>>,
    film: Arc<Mutex<Film>>,
    paper: Arc<Mutex<Paper>>,
    lines: Arc<Mutex<BTreeMap<Light, bool>>>,
    switches: Arc<Mutex<SensorState>>,
}

/// The simulator's tamper switch and presence sensor, set by
/// [`SimControls::set_tamper`] and [`SimControls::set_presence`].
#[derive(Debug)]
struct SimSensors {
    switches: Arc<Mutex<SensorState>>,
}

impl ErrorType for SimSensors {
    type Error = DeviceError;
}

impl kiosk_hal::sensors::Sensors for SimSensors {
    fn read(&mut self) -> Result<SensorState, DeviceError> {
        Ok(*lock(&self.switches))
    }
}

impl std::fmt::Debug for SimControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimControls").finish_non_exhaustive()
    }
}

impl SimControls {
    /// Opens (`true`) or closes the cabinet: the tamper switch.
    pub fn set_tamper(&self, open: bool) {
        lock(&self.switches).tampered = open;
    }

    /// Someone steps in front of the kiosk (`true`) or leaves.
    pub fn set_presence(&self, present: bool) {
        lock(&self.switches).presence = present;
    }

    /// Puts `card` on the reader (replacing any card there).
    pub fn insert_card(&self, card: Box<dyn SimCard>) {
        let mut slot = lock(&self.slot);
        slot.card = Some(card);
        slot.generation += 1;
    }

    /// Takes the card off the reader.
    pub fn remove_card(&self) {
        let mut slot = lock(&self.slot);
        if slot.card.take().is_some() {
            slot.generation += 1;
        }
    }

    /// Whether a card is on the reader.
    pub fn card_present(&self) -> bool {
        lock(&self.slot).card.is_some()
    }

    /// Makes the reader's next operation fail with `kind`.
    pub fn fail_reader_once(&self, kind: ErrorKind) {
        lock(&self.slot).fault = Some(kind);
    }

    /// Replaces the camera's frames.
    pub fn set_frames(&self, frames: Vec<Frame>) {
        lock(&self.film).frames = frames;
    }

    /// Whether the camera is streaming now.
    pub fn camera_on(&self) -> bool {
        lock(&self.film).on
    }

    /// Makes the camera's next start or capture fail with `kind`.
    pub fn fail_camera_once(&self, kind: ErrorKind) {
        lock(&self.film).fault = Some(kind);
    }

    /// Sets the printer's paper sensor.
    pub fn set_paper(&self, level: PaperLevel) {
        lock(&self.paper).status.paper = level;
    }

    /// Opens or closes the printer cover.
    pub fn set_cover_open(&self, open: bool) {
        lock(&self.paper).status.cover_open = open;
    }

    /// Switches the printer on or off line.
    pub fn set_printer_online(&self, online: bool) {
        lock(&self.paper).status.online = online;
    }

    /// Makes every status query and flush of the printer take `delay` of
    /// real time (zero: at once).
    pub fn set_printer_delay(&self, delay: Duration) {
        lock(&self.paper).delay = delay;
    }

    /// Hangs the printer (`true`: no call returns until released with
    /// `false`), as a printer stuck mid-transfer.
    pub fn set_printer_hung(&self, hung: bool) {
        lock(&self.paper).hung = hung;
    }

    /// Every byte the printer has printed since the board started.
    pub fn printed(&self) -> Vec<u8> {
        lock(&self.paper).printed.clone()
    }

    /// The number of flushed print jobs.
    pub fn print_jobs(&self) -> u64 {
        lock(&self.paper).jobs
    }

    /// The state of every light that has been driven.
    pub fn lights(&self) -> BTreeMap<Light, bool> {
        lock(&self.lines).clone()
    }

    /// Whether `light` is on.
    pub fn light(&self, light: Light) -> bool {
        lock(&self.lines).get(&light).copied().unwrap_or(false)
    }
}

/// Builds the simulator board.
#[derive(Debug)]
pub struct SimBoard;

impl SimBoard {
    /// The devices for the runtime and the handle that drives them.
    pub fn build(config: &SimConfig) -> Result<(Devices, SimControls), DeviceError> {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let frames = match &config.camera.source {
            FrameSource::Pattern { width, height } => vec![pattern_frame(*width, *height)],
            FrameSource::Directory(dir) => load_frames(dir)?,
        };
        let film = Arc::new(Mutex::new(Film {
            frames,
            fault: None,
            on: false,
        }));
        let paper = Arc::new(Mutex::new(Paper {
            status: PrinterStatus::READY,
            printed: Vec::new(),
            pending: Vec::new(),
            jobs: 0,
            output_dir: config.printer.output_dir.clone(),
            last_file: config
                .printer
                .output_dir
                .as_deref()
                .map_or(0, last_job_file),
            delay: Duration::ZERO,
            hung: false,
        }));
        let lines = Arc::new(Mutex::new(BTreeMap::new()));

        let reader = SimCardReader {
            name: config.card_reader.name.clone(),
            slot: Arc::clone(&slot),
            connected: None,
            capabilities: if config.card_reader.extended_length {
                TransportCapabilities::EXTENDED
            } else {
                TransportCapabilities::SHORT
            },
        };
        let camera = SimCamera {
            film: Arc::clone(&film),
            started: false,
            next: 0,
            sequence: 0,
        };
        let printer = SimPrinter {
            paper: Arc::clone(&paper),
        };
        let indicators = Light::ALL
            .into_iter()
            .fold(PinIndicators::new(), |lights, light| {
                let pin = SimPin {
                    light,
                    lines: Arc::clone(&lines),
                };
                lights.with(light, pin, false)
            });
        let switches = Arc::new(Mutex::new(SensorState::default()));
        let devices = Devices {
            board: "sim".into(),
            reader: Box::new(reader),
            reader_name: format!("sim:{}", config.card_reader.name),
            reader_memory: crate::services::reading::ReaderMemory::default(),
            camera: Box::new(camera),
            printer: Box::new(printer),
            indicators: Box::new(Erased::new("indicators", indicators)),
            sensors: Box::new(SimSensors {
                switches: Arc::clone(&switches),
            }),
            blocking: false,
        };
        let controls = SimControls {
            slot,
            film,
            paper,
            lines,
            switches,
        };
        Ok((devices, controls))
    }
}

/// The simulator board the board crate's unit tests build: a reader
/// (extended length as asked), a small pattern camera, an 80 mm printer
/// writing no files.
#[cfg(test)]
pub(crate) fn test_config(extended_length: bool) -> SimConfig {
    use crate::config::{SimCameraConfig, SimPrinterConfig, SimReaderConfig};
    SimConfig {
        card_reader: SimReaderConfig {
            name: "Sim Reader 0".into(),
            extended_length,
            cards_dir: None,
        },
        camera: SimCameraConfig {
            source: FrameSource::Pattern {
                width: 32,
                height: 24,
            },
        },
        printer: SimPrinterConfig {
            paper_width_mm: 80,
            output_dir: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SimCameraConfig, SimPrinterConfig, SimReaderConfig};
    use kiosk_hal::Error as _;

    fn config(output_dir: Option<PathBuf>) -> SimConfig {
        SimConfig {
            card_reader: SimReaderConfig {
                name: "Sim Reader 0".into(),
                extended_length: true,
                cards_dir: None,
            },
            camera: SimCameraConfig {
                source: FrameSource::Pattern {
                    width: 64,
                    height: 48,
                },
            },
            printer: SimPrinterConfig {
                paper_width_mm: 80,
                output_dir,
            },
        }
    }

    const SELECT_EMRTD: [u8; 12] = [
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
    ];

    #[test]
    fn an_inserted_card_is_present_connects_and_answers_apdus() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        assert_eq!(devices.reader.presence().unwrap(), Presence::Absent);
        assert_eq!(
            devices.reader.connect().unwrap_err().kind(),
            ErrorKind::NotPresent
        );
        controls.insert_card(Box::new(ForeignCard));
        assert_eq!(devices.reader.presence().unwrap(), Presence::Present);
        let info = devices.reader.connect().unwrap();
        assert_eq!(info.atr[0], 0x3B);
        let mut buf = [0u8; 258];
        let n = devices.reader.transmit(&SELECT_EMRTD, &mut buf).unwrap();
        assert_eq!(&buf[..n], &[0x6A, 0x82]);
    }

    #[test]
    fn a_card_removed_while_connected_fails_the_next_exchange_as_removed() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        controls.insert_card(Box::new(ForeignCard));
        devices.reader.connect().unwrap();
        controls.remove_card();
        let mut buf = [0u8; 258];
        let err = devices
            .reader
            .transmit(&SELECT_EMRTD, &mut buf)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Removed);
        // Another card in the field does not revive the old connection.
        controls.insert_card(Box::new(ForeignCard));
        let err = devices
            .reader
            .transmit(&SELECT_EMRTD, &mut buf)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotPresent);
        assert!(devices.reader.connect().is_ok());
    }

    #[test]
    fn an_injected_reader_fault_is_reported_once() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        controls.fail_reader_once(ErrorKind::Io);
        assert_eq!(devices.reader.presence().unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(devices.reader.presence().unwrap(), Presence::Absent);
    }

    #[test]
    fn the_camera_plays_frames_in_a_loop_with_sequence_numbers() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        let mut frame = Frame::default();
        assert_eq!(
            devices.camera.capture(&mut frame).unwrap_err().kind(),
            ErrorKind::Other
        );
        let format = devices.camera.start().unwrap();
        assert_eq!((format.width, format.height), (64, 48));
        let a = Frame {
            width: 1,
            height: 1,
            pixel_format: Some(PixelFormat::Gray8),
            sequence: 0,
            data: vec![1],
        };
        let b = Frame {
            data: vec![2],
            ..a.clone()
        };
        controls.set_frames(vec![a, b]);
        devices.camera.start().unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            devices.camera.capture(&mut frame).unwrap();
            seen.push((frame.sequence, frame.data[0]));
        }
        assert_eq!(seen, vec![(0, 1), (1, 2), (2, 1)]);
        devices.camera.stop().unwrap();
    }

    #[test]
    fn the_camera_loads_image_files_as_bgr() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = image::RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        img.save(dir.path().join("a.png")).unwrap();
        let frames = load_frames(dir.path()).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(&frames[0].data[..3], &[0, 0, 255], "red in BGR order");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            load_frames(empty.path()).unwrap_err().kind(),
            ErrorKind::NotPresent
        );
    }

    #[test]
    fn the_printer_keeps_flushed_jobs_and_writes_them_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let (mut devices, controls) =
            SimBoard::build(&config(Some(dir.path().to_path_buf()))).unwrap();
        devices.printer.write(&[0x1B, 0x40]).unwrap();
        assert!(
            controls.printed().is_empty(),
            "nothing printed before flush"
        );
        devices.printer.flush().unwrap();
        assert_eq!(controls.printed(), vec![0x1B, 0x40]);
        assert_eq!(controls.print_jobs(), 1);
        let job = std::fs::read(dir.path().join("job-000001.escpos")).unwrap();
        assert_eq!(job, vec![0x1B, 0x40]);
        // A board started later continues the numbering of the files.
        let (mut again, controls) =
            SimBoard::build(&config(Some(dir.path().to_path_buf()))).unwrap();
        again.printer.write(&[0x1B, 0x40, 0x0A]).unwrap();
        again.printer.flush().unwrap();
        assert_eq!(controls.print_jobs(), 1);
        assert_eq!(
            std::fs::read(dir.path().join("job-000001.escpos")).unwrap(),
            job
        );
        assert!(dir.path().join("job-000002.escpos").is_file());
    }

    #[test]
    fn a_printer_without_paper_refuses_data_and_says_why() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        controls.set_paper(PaperLevel::Out);
        assert_eq!(
            devices.printer.write(&[0x0A]).unwrap_err().kind(),
            ErrorKind::Timeout
        );
        let status = devices.printer.status().unwrap();
        assert_eq!(status.paper, PaperLevel::Out);
        assert!(!status.can_print());
        controls.set_paper(PaperLevel::NearEnd);
        devices.printer.write(&[0x0A]).unwrap();
        controls.set_printer_online(false);
        assert_eq!(
            devices.printer.status().unwrap_err().kind(),
            ErrorKind::NotPresent
        );
    }

    #[test]
    fn indicators_drive_virtual_lines() {
        let (mut devices, controls) = SimBoard::build(&config(None)).unwrap();
        devices.indicators.set(Light::Ready, true).unwrap();
        devices.indicators.set(Light::Fault, false).unwrap();
        assert!(controls.light(Light::Ready));
        assert!(!controls.light(Light::Fault));
        devices.indicators.all_off().unwrap();
        assert!(controls.lights().values().all(|on| !on));
    }
}
