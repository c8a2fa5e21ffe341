//! The kiosk configuration file (`board/config/*.toml`).
//!
//! A board is described by data, not code (DESIGN.md §5): which board kind,
//! the kiosk's identity and data directory, the session timeouts, the queue's
//! service catalogue (`[queue]`, see [`kiosk_firmware::queue::catalog`]), and
//! each device's settings. Relative paths are relative to the file's directory.
//! Loading validates everything it can before any device is opened, and
//! every error names the file and the field.

pub mod linux;

use kiosk_firmware::session::SessionConfig;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which board a configuration describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// The desktop simulator: virtual reader, camera from files, printer sink.
    Sim,
    /// A real board running Linux (`[linux]`: reader, camera, printer, GPIO).
    Linux,
}

impl fmt::Display for BoardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BoardKind::Sim => "sim",
            BoardKind::Linux => "linux",
        })
    }
}

/// A whole configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The board kind.
    pub board: BoardKind,
    /// Identity and storage of this kiosk.
    pub kiosk: KioskSection,
    /// Journey timeouts and limits.
    pub session: SessionConfig,
    /// Face verification.
    pub face: FaceSection,
    /// The queue's service catalogue; without `[queue]` the kiosk issues no
    /// numbers.
    pub queue: Option<kiosk_firmware::queue::Catalog>,
    /// Online requests and the outbox; without `[requests]` the kiosk
    /// files no requests.
    pub requests: Option<RequestsSection>,
    /// The simulator's devices (with `board = "sim"`).
    pub sim: Option<SimConfig>,
    /// A real board's devices (with `board = "linux"`).
    pub linux: Option<linux::LinuxConfig>,
    /// The Prometheus text endpoint; without `[metrics]` there is none
    /// (`kioskctl stats` still reads the counts).
    pub metrics: Option<MetricsSection>,
    /// Staff mode: who may enter, the lockout, the export folder. Without
    /// `[staff]` staff mode is off.
    pub staff: StaffSection,
    /// `[trust]`: what each service requires of a card (genuineness,
    /// what an expired card may do); strict when absent.
    pub trust: kiosk_firmware::trust::Policy,
    /// `[verification]`: the online chip check (C06) asked when passive
    /// authentication is intact but unanchored; without it such a card is
    /// `unanchored` (refused by default).
    pub verification: Option<crate::online::c06::VerificationSection>,
    /// `[centre]`: the service centre's queue (`kiosk-centre`); without it
    /// the kiosk numbers on its own.
    pub centre: Option<CentreSection>,
}

/// `[centre]`: where the centre's queue is, and how the kiosk proves who
/// it is (mutual TLS; the certificate's common name is the kiosk's id at
/// the centre). `docs/centre-api.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreSection {
    /// URL, pinned CA, client certificate, and the deadline of each step
    /// (connect, write, read) of a request for a number: past it the kiosk
    /// numbers offline.
    pub endpoint: crate::online::portal::client::PortalSettings,
    /// How often unacknowledged offline tickets are sent again.
    pub reconcile_interval: std::time::Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentre {
    url: String,
    ca_file: PathBuf,
    client_cert_file: PathBuf,
    client_key_file: PathBuf,
    #[serde(default = "default_centre_timeout")]
    timeout_ms: u64,
    #[serde(default = "default_reconcile_interval")]
    reconcile_interval_s: u64,
}

fn default_centre_timeout() -> u64 {
    1_500
}

fn default_reconcile_interval() -> u64 {
    30
}

#[derive(Deserialize)]
struct CentreOnly {
    centre: Option<RawCentre>,
}

fn validate_centre(
    raw: RawCentre,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<CentreSection, ConfigError> {
    if let Err(reason) = crate::online::portal::client::parse_url(&raw.url) {
        return Err(invalid("centre.url", reason));
    }
    let file = |field: &str, path: &Path| {
        let full = base.join(path);
        if full.is_file() {
            Ok(full)
        } else {
            Err(invalid(
                field,
                format!("{} is not a file (PEM expected)", full.display()),
            ))
        }
    };
    if !(100..=10_000).contains(&raw.timeout_ms) {
        return Err(invalid(
            "centre.timeout_ms",
            format!(
                "must be 100–10000 (the citizen waits this long before an offline number), not {}",
                raw.timeout_ms
            ),
        ));
    }
    if !(1..=3_600).contains(&raw.reconcile_interval_s) {
        return Err(invalid(
            "centre.reconcile_interval_s",
            format!("must be 1–3600, not {}", raw.reconcile_interval_s),
        ));
    }
    Ok(CentreSection {
        endpoint: crate::online::portal::client::PortalSettings {
            url: raw.url,
            ca_file: file("centre.ca_file", &raw.ca_file)?,
            client_cert_file: file("centre.client_cert_file", &raw.client_cert_file)?,
            client_key_file: file("centre.client_key_file", &raw.client_key_file)?,
            timeout: std::time::Duration::from_millis(raw.timeout_ms),
        },
        reconcile_interval: std::time::Duration::from_secs(raw.reconcile_interval_s),
    })
}

/// Reads the `[centre]` section of any TOML file (a board configuration,
/// or a client file `kiosk-centre demo` writes); relative paths resolve
/// against the file's folder.
pub fn load_centre_section(path: &Path) -> Result<CentreSection, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let raw: CentreOnly = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let invalid = |field: &str, reason: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        field: field.to_owned(),
        reason,
    };
    let raw = raw
        .centre
        .ok_or_else(|| invalid("centre", "is missing".into()))?;
    validate_centre(raw, path.parent().unwrap_or(Path::new(".")), &invalid)
}

/// `[metrics]`: the usage metrics' Prometheus endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSection {
    /// Where `GET /metrics` is served: a loopback address only (a node
    /// exporter or an agent on the board scrapes it and forwards).
    pub listen: std::net::SocketAddr,
}

/// `[staff]`: staff mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffSection {
    /// The PIN hash, the card allow-list, the lockout and the timeout.
    pub policy: kiosk_firmware::staff::StaffPolicy,
    /// Where "export logs" writes (a mounted USB stick); `None`: no export.
    pub export_dir: Option<PathBuf>,
}

/// `[requests]`: online requests, the outbox and the portal.
#[derive(Debug, Clone)]
pub struct RequestsSection {
    /// The procedure catalogue (from the file named by `catalogue`).
    pub catalog: kiosk_firmware::requests::Catalog,
    /// The catalogue file.
    pub catalog_file: PathBuf,
    /// The outbox key (from `outbox_key_file`, exactly 32 bytes).
    pub outbox_key: kiosk_firmware::store::outbox::OutboxKey,
    /// The key file.
    pub outbox_key_file: PathBuf,
    /// The portal and the kiosk's client certificate.
    pub portal: crate::online::portal::client::PortalSettings,
    /// Retry spacing.
    pub backoff: kiosk_firmware::requests::delivery::Backoff,
    /// Rows per delivery pass.
    pub batch: u32,
    /// Seconds between delivery passes while the outbox is not empty.
    pub flush_interval_s: u64,
    /// The simulator runs the reference portal in the kiosk process.
    pub sim_portal: Option<SimPortalConfig>,
}

/// `[requests.sim_portal]`: the in-process reference portal (simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPortalConfig {
    /// The portal's certificate (PEM).
    pub cert_file: PathBuf,
    /// Its key (PEM).
    pub key_file: PathBuf,
    /// The receiving unit's code in dossier codes.
    pub unit_code: String,
}

/// `[face]`: face verification (models, passive liveness, the check's
/// settings in `[face.check]`, see `kiosk_firmware::face::check::CheckConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceSection {
    /// The model folder; `$KIOSK_MODEL_DIR` overrides it. `None`: the kiosk
    /// has no face models and hands every face check to staff.
    pub model_dir: Option<PathBuf>,
    /// Whether to load the passive liveness (MiniFASNet) models.
    pub passive_liveness: PassiveLiveness,
    /// Time between analysed camera frames, in milliseconds.
    pub frame_interval_ms: u64,
    /// The check's thresholds, gates and liveness policy.
    pub check: kiosk_firmware::face::check::CheckConfig,
}

impl FaceSection {
    /// The model folder in force: `$KIOSK_MODEL_DIR`, else `model_dir`.
    pub fn effective_model_dir(&self) -> Option<PathBuf> {
        std::env::var_os("KIOSK_MODEL_DIR")
            .map(PathBuf::from)
            .or_else(|| self.model_dir.clone())
    }
}

/// `face.passive_liveness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassiveLiveness {
    /// Load the MiniFASNet models when both files are in the model folder.
    #[default]
    Auto,
    /// The models must be there (the kiosk refuses face checks otherwise).
    Required,
    /// Do not use them.
    Off,
}

/// `[kiosk]`: identity and storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskSection {
    /// The kiosk's identifier (for receipts, telemetry and the portal).
    pub id: String,
    /// The service centre's name, printed on tickets.
    pub center_name: String,
    /// Where the database and logs live.
    pub data_dir: PathBuf,
    /// The CSCA trust list: a folder of certificates (DER or PEM) that
    /// passive authentication anchors Document Signers in: self-signed
    /// CSCAs, and link certificates (CSCA key roll-over) that a CSCA of the
    /// store signed.
    pub csca_dir: Option<PathBuf>,
    /// A folder of ICAO CSCA master lists (CMS SignedData, DER `.ml`),
    /// trusted only when verified against `master_list_anchor_dir`.
    pub master_list_dir: Option<PathBuf>,
    /// A folder of the certificates (DER or PEM) the Master List Signers
    /// must chain to (the CSCAs of the states whose lists are used).
    pub master_list_anchor_dir: Option<PathBuf>,
    /// A folder of X.509 CRLs (DER or PEM) of the CSCAs.
    pub crl_dir: Option<PathBuf>,
    /// Whether a CSCA without a CRL refuses its cards (`crl_missing`);
    /// default true. An expired CRL always refuses (`crl_expired`).
    pub require_crl: bool,
}

impl KioskSection {
    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("kiosk.db")
    }
}

/// `[sim]`: the simulator's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The virtual reader.
    pub card_reader: SimReaderConfig,
    /// The virtual camera.
    pub camera: SimCameraConfig,
    /// The virtual printer.
    pub printer: SimPrinterConfig,
}

/// `[sim.card_reader]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReaderConfig {
    /// The reader's name, as a PC/SC reader would report it.
    pub name: String,
    /// Whether the reader passes extended-length APDUs.
    pub extended_length: bool,
    /// Where card profiles live (`card insert NAME` loads `NAME.toml`).
    pub cards_dir: Option<PathBuf>,
}

/// Where the simulated camera's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSource {
    /// A generated test pattern (an empty scene): no files needed.
    Pattern {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
    },
    /// The image files (PNG, JPEG) of a directory, played in name order and
    /// looped.
    Directory(PathBuf),
}

/// `[sim.camera]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCameraConfig {
    /// The frames.
    pub source: FrameSource,
}

/// `[sim.printer]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPrinterConfig {
    /// Paper width in millimetres: 80 (576 dots) or 58 (384 dots).
    pub paper_width_mm: u32,
    /// Where each print job's ESC/POS bytes are written (`job-NNNNNN.escpos`);
    /// none keeps them in memory only.
    pub output_dir: Option<PathBuf>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read. Remedy: check the path and permissions.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped fields. Remedy:
    /// fix the field named in the message.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's description, with the line and the field.
        message: String,
    },
    /// A field has a value the kiosk cannot use. Remedy: as the reason says.
    #[error("{path}: `{field}` {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted field name, e.g. `sim.printer.paper_width_mm`.
        field: String,
        /// What is wrong and what would be right.
        reason: String,
    },
}

// The file as written: only parsing and field names here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    board: BoardKind,
    kiosk: RawKiosk,
    #[serde(default)]
    session: SessionConfig,
    #[serde(default)]
    face: RawFace,
    queue: Option<kiosk_firmware::queue::QueueConfig>,
    requests: Option<RawRequests>,
    sim: Option<RawSim>,
    linux: Option<linux::RawLinux>,
    metrics: Option<RawMetrics>,
    staff: Option<RawStaff>,
    #[serde(default)]
    trust: kiosk_firmware::trust::Policy,
    verification: Option<RawVerification>,
    centre: Option<RawCentre>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerification {
    url: String,
    ca_file: PathBuf,
    client_cert_file: PathBuf,
    client_key_file: PathBuf,
    verdict_key_file: PathBuf,
    #[serde(default = "default_verification_timeout")]
    timeout_ms: u64,
    #[serde(default = "default_max_age")]
    max_age_s: u64,
    #[serde(default = "default_skew")]
    skew_s: u64,
    #[serde(default)]
    send_photo: bool,
    sim_c06: Option<RawSimC06>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimC06 {
    cert_file: PathBuf,
    key_file: PathBuf,
    signing_key_file: PathBuf,
    csca_dir: PathBuf,
}

fn default_verification_timeout() -> u64 {
    8_000
}

fn default_max_age() -> u64 {
    300
}

fn default_skew() -> u64 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    pin_hash: Option<String>,
    #[serde(default)]
    cards: Vec<String>,
    #[serde(default)]
    card_needs_pin: bool,
    #[serde(default = "default_max_failures")]
    max_failures: u32,
    #[serde(default = "default_lockout_minutes")]
    lockout_minutes: u64,
    #[serde(default = "default_staff_timeout")]
    session_timeout_s: u64,
    export_dir: Option<PathBuf>,
}

fn default_max_failures() -> u32 {
    5
}

fn default_lockout_minutes() -> u64 {
    15
}

fn default_staff_timeout() -> u64 {
    120
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequests {
    catalogue: PathBuf,
    outbox_key_file: PathBuf,
    portal: RawPortal,
    #[serde(default)]
    delivery: RawDelivery,
    sim_portal: Option<RawSimPortal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    url: String,
    ca_file: PathBuf,
    client_cert_file: PathBuf,
    client_key_file: PathBuf,
    #[serde(default = "default_portal_timeout")]
    timeout_ms: u64,
}

fn default_portal_timeout() -> u64 {
    5_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default = "default_base_backoff")]
    base_backoff_ms: u64,
    #[serde(default = "default_max_backoff")]
    max_backoff_ms: u64,
    #[serde(default = "default_batch")]
    batch: u32,
    #[serde(default = "default_flush_interval")]
    flush_interval_s: u64,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            base_backoff_ms: default_base_backoff(),
            max_backoff_ms: default_max_backoff(),
            batch: default_batch(),
            flush_interval_s: default_flush_interval(),
        }
    }
}

fn default_base_backoff() -> u64 {
    2_000
}

fn default_max_backoff() -> u64 {
    15 * 60_000
}

fn default_batch() -> u32 {
    10
}

fn default_flush_interval() -> u64 {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimPortal {
    cert_file: PathBuf,
    key_file: PathBuf,
    unit_code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFace {
    model_dir: Option<PathBuf>,
    #[serde(default)]
    passive_liveness: PassiveLiveness,
    #[serde(default = "default_frame_interval")]
    frame_interval_ms: u64,
    #[serde(default)]
    check: kiosk_firmware::face::check::CheckConfig,
}

impl Default for RawFace {
    fn default() -> Self {
        RawFace {
            model_dir: None,
            passive_liveness: PassiveLiveness::Auto,
            frame_interval_ms: default_frame_interval(),
            check: kiosk_firmware::face::check::CheckConfig::default(),
        }
    }
}

fn default_frame_interval() -> u64 {
    100
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKiosk {
    id: String,
    center_name: String,
    data_dir: PathBuf,
    csca_dir: Option<PathBuf>,
    #[serde(default)]
    master_list_dir: Option<PathBuf>,
    #[serde(default)]
    master_list_anchor_dir: Option<PathBuf>,
    #[serde(default)]
    crl_dir: Option<PathBuf>,
    #[serde(default = "yes")]
    require_crl: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSim {
    card_reader: RawSimReader,
    camera: RawSimCamera,
    printer: RawSimPrinter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimReader {
    name: String,
    #[serde(default = "yes")]
    extended_length: bool,
    cards_dir: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimCamera {
    /// `"pattern"` or a directory.
    frames: String,
    #[serde(default = "default_width")]
    width: u32,
    #[serde(default = "default_height")]
    height: u32,
}

fn default_width() -> u32 {
    640
}

fn default_height() -> u32 {
    480
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimPrinter {
    paper_width_mm: u32,
    output_dir: Option<PathBuf>,
}

impl Config {
    /// The printer's paper on this board: `[linux.printer]` or
    /// `[sim.printer]` `paper_width_mm` as `board` says (both validated to
    /// 58 or 80 when loaded). Every raster the kiosk prints — ticket,
    /// receipt, test page — is drawn at this width.
    pub fn paper_width(&self) -> kiosk_firmware::ticket::raster::PaperWidth {
        use kiosk_firmware::ticket::raster::PaperWidth;
        let mm = match self.board {
            BoardKind::Linux => self.linux.as_ref().map(|l| l.printer.paper_width_mm),
            BoardKind::Sim => self.sim.as_ref().map(|s| s.printer.paper_width_mm),
        };
        mm.and_then(PaperWidth::from_mm).unwrap_or(PaperWidth::Mm80)
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path` (relative paths
    /// resolve against `path`'s directory).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.to_owned(),
            reason,
        };

        let id = raw.kiosk.id.trim();
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "kiosk.id",
                format!(
                    "must be 1–64 ASCII letters, digits, '-' or '_', not {:?}",
                    raw.kiosk.id
                ),
            ));
        }
        if raw.kiosk.center_name.trim().is_empty() {
            return Err(invalid("kiosk.center_name", "must not be empty".into()));
        }
        raw.session
            .validate()
            .map_err(|e| invalid("session", e.to_string()))?;
        let queue = raw
            .queue
            .as_ref()
            .map(kiosk_firmware::queue::Catalog::from_config)
            .transpose()
            .map_err(|e| invalid(&e.field, e.reason))?;

        if let Some(catalog) = &queue {
            for code in &raw.trust.expired.ticket_services {
                if !catalog.services.iter().any(|s| &s.code == code) {
                    return Err(invalid(
                        "trust.expired.ticket_services",
                        format!("names {code:?}, which is not a service of [queue]"),
                    ));
                }
            }
        }
        let face = validate_face(raw.face, &raw.session, base, &invalid)?;
        let staff = raw
            .staff
            .map(|s| validate_staff(s, base, &invalid))
            .transpose()?
            .unwrap_or_default();
        let requests = raw
            .requests
            .map(|r| validate_requests(r, raw.board, base, &invalid))
            .transpose()?;
        if let (Some(catalog), Some(requests)) = (&queue, &requests) {
            for (i, service) in catalog.services.iter().enumerate() {
                if let Some(code) = &service.procedure
                    && requests.catalog.procedure(code).is_none()
                {
                    return Err(invalid(
                        &format!("queue.services[{i}].procedure"),
                        format!("names {code:?}, which is not a procedure of [requests]"),
                    ));
                }
            }
        }
        let (sim, linux) = match (raw.board, raw.sim, raw.linux) {
            (BoardKind::Sim, None, _) => {
                return Err(invalid("sim", "is required when board = \"sim\"".into()));
            }
            (BoardKind::Sim, Some(sim), None) => (Some(validate_sim(sim, base, &invalid)?), None),
            (BoardKind::Linux, _, None) => {
                return Err(invalid(
                    "linux",
                    "is required when board = \"linux\"".into(),
                ));
            }
            (BoardKind::Linux, None, Some(linux)) => {
                (None, Some(linux::validate(linux, base, &invalid)?))
            }
            (BoardKind::Sim, Some(_), Some(_)) => {
                return Err(invalid("linux", "belongs to board = \"linux\"".into()));
            }
            (BoardKind::Linux, Some(_), Some(_)) => {
                return Err(invalid("sim", "belongs to board = \"sim\"".into()));
            }
        };

        let verification = raw
            .verification
            .map(|v| validate_verification(v, raw.board, &raw.session, base, &invalid))
            .transpose()?;
        if raw.centre.is_some() && queue.is_none() {
            return Err(invalid(
                "centre",
                "needs [queue]: the kiosk shows the centre's services from its own catalogue"
                    .into(),
            ));
        }
        let centre = raw
            .centre
            .map(|c| validate_centre(c, base, &invalid))
            .transpose()?;
        let metrics = raw
            .metrics
            .map(|m| {
                let listen: std::net::SocketAddr = m.listen.parse().map_err(|_| {
                    invalid(
                        "metrics.listen",
                        format!("must be an address and port such as \"127.0.0.1:9464\", not {:?}", m.listen),
                    )
                })?;
                if !listen.ip().is_loopback() {
                    return Err(invalid(
                        "metrics.listen",
                        format!(
                            "must be a loopback address (127.0.0.1 or [::1]): the metrics stay on the board, not {listen}"
                        ),
                    ));
                }
                Ok(MetricsSection { listen })
            })
            .transpose()?;

        if raw.kiosk.master_list_dir.is_some() && raw.kiosk.master_list_anchor_dir.is_none() {
            return Err(invalid(
                "kiosk.master_list_anchor_dir",
                "is required with kiosk.master_list_dir: a master list is trusted only when its signer chains to a configured anchor".into(),
            ));
        }
        let has_anchors = raw.kiosk.csca_dir.is_some() || raw.kiosk.master_list_dir.is_some();
        if raw.kiosk.require_crl && has_anchors && raw.kiosk.crl_dir.is_none() {
            return Err(invalid(
                "kiosk.crl_dir",
                "is required while kiosk.require_crl is true (the default): every CSCA needs a current CRL; set require_crl = false only where revocation may go unchecked".into(),
            ));
        }

        Ok(Config {
            path: path.to_path_buf(),
            board: raw.board,
            kiosk: KioskSection {
                id: id.to_owned(),
                center_name: raw.kiosk.center_name,
                data_dir: base.join(raw.kiosk.data_dir),
                csca_dir: raw.kiosk.csca_dir.map(|d| base.join(d)),
                master_list_dir: raw.kiosk.master_list_dir.map(|d| base.join(d)),
                master_list_anchor_dir: raw.kiosk.master_list_anchor_dir.map(|d| base.join(d)),
                crl_dir: raw.kiosk.crl_dir.map(|d| base.join(d)),
                require_crl: raw.kiosk.require_crl,
            },
            session: raw.session,
            face,
            queue,
            requests,
            sim,
            linux,
            metrics,
            staff,
            trust: raw.trust,
            verification,
            centre,
        })
    }
}

fn validate_verification(
    raw: RawVerification,
    board: BoardKind,
    session: &SessionConfig,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<crate::online::c06::VerificationSection, ConfigError> {
    use rustls::pki_types::SubjectPublicKeyInfoDer;
    use rustls::pki_types::pem::PemObject as _;
    if let Err(reason) = crate::online::portal::client::parse_url(&raw.url) {
        return Err(invalid("verification.url", reason));
    }
    let file = |field: &str, path: &Path| {
        let full = base.join(path);
        if full.is_file() {
            Ok(full)
        } else {
            Err(invalid(
                field,
                format!("{} is not a file (PEM expected)", full.display()),
            ))
        }
    };
    let ca_file = file("verification.ca_file", &raw.ca_file)?;
    let client_cert_file = file("verification.client_cert_file", &raw.client_cert_file)?;
    let client_key_file = file("verification.client_key_file", &raw.client_key_file)?;
    let verdict_key_file = file("verification.verdict_key_file", &raw.verdict_key_file)?;
    let spki = SubjectPublicKeyInfoDer::from_pem_file(&verdict_key_file).map_err(|e| {
        invalid(
            "verification.verdict_key_file",
            format!("{}: no PEM PUBLIC KEY ({e})", verdict_key_file.display()),
        )
    })?;
    let verdict_key = kiosk_firmware::trust::online::VerdictKey::from_spki_der(spki.as_ref())
        .map_err(|e| invalid("verification.verdict_key_file", e.to_string()))?;
    // The check runs inside the reading step: it must end well before the
    // step's watchdog, which would otherwise end the journey.
    let reading_ms = u64::try_from(session.timeouts.reading.as_millis()).unwrap_or(u64::MAX);
    let most = 30_000.min(reading_ms / 2);
    if !(100..=most).contains(&raw.timeout_ms) {
        return Err(invalid(
            "verification.timeout_ms",
            format!(
                "must be 100–{most} (at most half the reading watchdog), not {}",
                raw.timeout_ms
            ),
        ));
    }
    if !(1..=86_400).contains(&raw.max_age_s) {
        return Err(invalid(
            "verification.max_age_s",
            format!("must be 1–86400, not {}", raw.max_age_s),
        ));
    }
    if raw.skew_s > 600 {
        return Err(invalid(
            "verification.skew_s",
            format!("must be 0–600, not {}", raw.skew_s),
        ));
    }
    let sim_c06 = match raw.sim_c06 {
        None => None,
        Some(_) if board != BoardKind::Sim => {
            return Err(invalid(
                "verification.sim_c06",
                "is only for the simulator board".into(),
            ));
        }
        Some(s) => {
            let csca_dir = base.join(&s.csca_dir);
            if !csca_dir.is_dir() {
                return Err(invalid(
                    "verification.sim_c06.csca_dir",
                    format!("{} is not a folder", csca_dir.display()),
                ));
            }
            Some(crate::online::c06::SimC06Config {
                cert_file: file("verification.sim_c06.cert_file", &s.cert_file)?,
                key_file: file("verification.sim_c06.key_file", &s.key_file)?,
                signing_key_file: file(
                    "verification.sim_c06.signing_key_file",
                    &s.signing_key_file,
                )?,
                csca_dir,
            })
        }
    };
    Ok(crate::online::c06::VerificationSection {
        endpoint: crate::online::portal::client::PortalSettings {
            url: raw.url,
            ca_file,
            client_cert_file,
            client_key_file,
            timeout: std::time::Duration::from_millis(raw.timeout_ms),
        },
        verdict_key_file,
        verdict_key,
        max_age: std::time::Duration::from_secs(raw.max_age_s),
        skew: std::time::Duration::from_secs(raw.skew_s),
        send_photo: raw.send_photo,
        sim_c06,
    })
}

fn validate_staff(
    raw: RawStaff,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<StaffSection, ConfigError> {
    use kiosk_firmware::staff::{CardHash, PinHash, StaffPolicy};
    let pin = raw
        .pin_hash
        .as_deref()
        .map(PinHash::parse)
        .transpose()
        .map_err(|e| {
            invalid(
                "staff.pin_hash",
                format!("{e}; make one with `kioskctl staff hash-pin`"),
            )
        })?;
    let mut cards = Vec::new();
    for (i, entry) in raw.cards.iter().enumerate() {
        let field = format!("staff.cards[{i}]");
        if entry.trim().is_empty() {
            return Err(invalid(&field, "must not be empty".into()));
        }
        cards.push(CardHash::parse(entry).map_err(|e| {
            invalid(
                &field,
                format!("{e}; make one with `kioskctl staff hash-card UID`"),
            )
        })?);
    }
    if raw.card_needs_pin && pin.is_none() && !cards.is_empty() {
        return Err(invalid(
            "staff.card_needs_pin",
            "needs staff.pin_hash: a card alone would never open".into(),
        ));
    }
    if !(1..=20).contains(&raw.max_failures) {
        return Err(invalid(
            "staff.max_failures",
            format!("must be 1–20 wrong PINs, not {}", raw.max_failures),
        ));
    }
    if !(1..=1440).contains(&raw.lockout_minutes) {
        return Err(invalid(
            "staff.lockout_minutes",
            format!("must be 1–1440 minutes, not {}", raw.lockout_minutes),
        ));
    }
    if !(15..=3600).contains(&raw.session_timeout_s) {
        return Err(invalid(
            "staff.session_timeout_s",
            format!("must be 15–3600 seconds, not {}", raw.session_timeout_s),
        ));
    }
    if raw
        .export_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return Err(invalid("staff.export_dir", "must not be empty".into()));
    }
    Ok(StaffSection {
        policy: StaffPolicy {
            pin,
            cards,
            card_needs_pin: raw.card_needs_pin,
            max_failures: raw.max_failures,
            lockout: std::time::Duration::from_secs(raw.lockout_minutes * 60),
            session_timeout: std::time::Duration::from_secs(raw.session_timeout_s),
        },
        export_dir: raw.export_dir.map(|d| base.join(d)),
    })
}

fn validate_face(
    raw: RawFace,
    session: &SessionConfig,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<FaceSection, ConfigError> {
    let c = &raw.check;
    if !(c.threshold > 0.0 && c.threshold < 1.0) {
        return Err(invalid(
            "face.check.threshold",
            format!(
                "must be a cosine similarity between 0 and 1, not {}",
                c.threshold
            ),
        ));
    }
    if !(1..=30).contains(&c.best_of) {
        return Err(invalid(
            "face.check.best_of",
            format!("must be 1–30 frames, not {}", c.best_of),
        ));
    }
    let watchdog = u64::try_from(session.timeouts.face_check.as_millis()).unwrap_or(u64::MAX);
    if c.attempt_ms < 3_000 || c.attempt_ms >= watchdog {
        return Err(invalid(
            "face.check.attempt_ms",
            format!(
                "must be at least 3000 and less than session.timeouts.face_check ({watchdog} ms), not {}",
                c.attempt_ms
            ),
        ));
    }
    if !(0.0..=1.0).contains(&c.liveness.passive_threshold) {
        return Err(invalid(
            "face.check.liveness.passive_threshold",
            format!(
                "must be a probability 0–1, not {}",
                c.liveness.passive_threshold
            ),
        ));
    }
    if !c.liveness.active && raw.passive_liveness == PassiveLiveness::Off {
        return Err(invalid(
            "face.check.liveness.active",
            "cannot be false while face.passive_liveness = \"off\": nothing would tell a \
             photo from a person"
                .into(),
        ));
    }
    let ch = &c.liveness.challenge;
    if !(ch.frontal_yaw > 0.0 && ch.frontal_yaw < ch.turn_yaw && ch.turn_yaw < 1.0) {
        return Err(invalid(
            "face.check.liveness.challenge",
            format!(
                "needs 0 < frontal_yaw < turn_yaw < 1, not {} and {}",
                ch.frontal_yaw, ch.turn_yaw
            ),
        ));
    }
    if !(20..=2_000).contains(&raw.frame_interval_ms) {
        return Err(invalid(
            "face.frame_interval_ms",
            format!("must be 20–2000, not {}", raw.frame_interval_ms),
        ));
    }
    Ok(FaceSection {
        model_dir: raw.model_dir.map(|d| base.join(d)),
        passive_liveness: raw.passive_liveness,
        frame_interval_ms: raw.frame_interval_ms,
        check: raw.check,
    })
}

fn validate_requests(
    raw: RawRequests,
    board: BoardKind,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<RequestsSection, ConfigError> {
    use kiosk_firmware::requests::{Catalog, CatalogConfig};
    let catalog_file = base.join(&raw.catalogue);
    let text = std::fs::read_to_string(&catalog_file).map_err(|e| {
        invalid(
            "requests.catalogue",
            format!("cannot read {}: {e}", catalog_file.display()),
        )
    })?;
    let written: CatalogConfig = toml::from_str(&text).map_err(|e| {
        invalid(
            "requests.catalogue",
            format!("{}: {}", catalog_file.display(), e.to_string().trim_end()),
        )
    })?;
    let catalog = Catalog::from_config(&written).map_err(|e| {
        invalid(
            &format!("requests.catalogue: {}", e.field),
            format!("({}) {}", catalog_file.display(), e.reason),
        )
    })?;
    let key_file = base.join(&raw.outbox_key_file);
    let key_bytes = zeroize::Zeroizing::new(std::fs::read(&key_file).map_err(|e| {
        invalid(
            "requests.outbox_key_file",
            format!(
                "cannot read {}: {e}; make a key with `head -c 32 /dev/urandom > FILE` and keep it \
                 with the kiosk (queued requests cannot be read without it)",
                key_file.display()
            ),
        )
    })?);
    let outbox_key = kiosk_firmware::store::outbox::OutboxKey::from_bytes(&key_bytes).map_err(|_| {
        invalid(
            "requests.outbox_key_file",
            format!(
                "{} holds {} bytes; an outbox key is exactly {} random bytes (`head -c 32 /dev/urandom > FILE`)",
                key_file.display(),
                key_bytes.len(),
                kiosk_firmware::store::outbox::KEY_LEN
            ),
        )
    })?;
    let p = raw.portal;
    if let Err(reason) = crate::online::portal::client::parse_url(&p.url) {
        return Err(invalid("requests.portal.url", reason));
    }
    let mut files = Vec::new();
    for (field, path) in [
        ("requests.portal.ca_file", &p.ca_file),
        ("requests.portal.client_cert_file", &p.client_cert_file),
        ("requests.portal.client_key_file", &p.client_key_file),
    ] {
        let full = base.join(path);
        if !full.is_file() {
            return Err(invalid(
                field,
                format!("{} is not a file (PEM expected)", full.display()),
            ));
        }
        files.push(full);
    }
    if !(100..=60_000).contains(&p.timeout_ms) {
        return Err(invalid(
            "requests.portal.timeout_ms",
            format!("must be 100–60000, not {}", p.timeout_ms),
        ));
    }
    let d = raw.delivery;
    if !(100..=3_600_000).contains(&d.base_backoff_ms) {
        return Err(invalid(
            "requests.delivery.base_backoff_ms",
            format!("must be 100–3600000, not {}", d.base_backoff_ms),
        ));
    }
    if d.max_backoff_ms < d.base_backoff_ms || d.max_backoff_ms > 86_400_000 {
        return Err(invalid(
            "requests.delivery.max_backoff_ms",
            format!(
                "must be at least base_backoff_ms ({}) and at most 86400000 (a day), not {}",
                d.base_backoff_ms, d.max_backoff_ms
            ),
        ));
    }
    if !(1..=1000).contains(&d.batch) {
        return Err(invalid(
            "requests.delivery.batch",
            format!("must be 1–1000, not {}", d.batch),
        ));
    }
    if !(1..=3600).contains(&d.flush_interval_s) {
        return Err(invalid(
            "requests.delivery.flush_interval_s",
            format!("must be 1–3600, not {}", d.flush_interval_s),
        ));
    }
    let sim_portal = match raw.sim_portal {
        None => None,
        Some(_) if board != BoardKind::Sim => {
            return Err(invalid(
                "requests.sim_portal",
                "is only for the simulator board".into(),
            ));
        }
        Some(sp) => {
            if kiosk_firmware::requests::api::DossierCode::parse(&format!(
                "{}-261125-0001",
                sp.unit_code
            ))
            .is_err()
            {
                return Err(invalid(
                    "requests.sim_portal.unit_code",
                    format!(
                        "must be V1V2V3.Z1Z2.Y1Y2.MX1X2 (e.g. 000.00.19.H26), not {:?}",
                        sp.unit_code
                    ),
                ));
            }
            for (field, path) in [
                ("requests.sim_portal.cert_file", &sp.cert_file),
                ("requests.sim_portal.key_file", &sp.key_file),
            ] {
                if !base.join(path).is_file() {
                    return Err(invalid(
                        field,
                        format!("{} is not a file (PEM expected)", base.join(path).display()),
                    ));
                }
            }
            Some(SimPortalConfig {
                cert_file: base.join(sp.cert_file),
                key_file: base.join(sp.key_file),
                unit_code: sp.unit_code,
            })
        }
    };
    let [ca_file, client_cert_file, client_key_file] =
        <[PathBuf; 3]>::try_from(files).map_err(|_| {
            invalid(
                "requests.portal",
                "needs ca, certificate and key files".into(),
            )
        })?;
    Ok(RequestsSection {
        catalog,
        catalog_file,
        outbox_key,
        outbox_key_file: key_file,
        portal: crate::online::portal::client::PortalSettings {
            url: p.url,
            ca_file,
            client_cert_file,
            client_key_file,
            timeout: std::time::Duration::from_millis(p.timeout_ms),
        },
        backoff: kiosk_firmware::requests::delivery::Backoff {
            base_ms: d.base_backoff_ms,
            max_ms: d.max_backoff_ms,
        },
        batch: d.batch,
        flush_interval_s: d.flush_interval_s,
        sim_portal,
    })
}

fn validate_sim(
    raw: RawSim,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<SimConfig, ConfigError> {
    if raw.card_reader.name.trim().is_empty() {
        return Err(invalid("sim.card_reader.name", "must not be empty".into()));
    }
    let camera = &raw.camera;
    if !(16..=4096).contains(&camera.width) || !(16..=4096).contains(&camera.height) {
        return Err(invalid(
            "sim.camera.width/height",
            format!(
                "must be 16–4096 pixels, not {}×{}",
                camera.width, camera.height
            ),
        ));
    }
    let source = if camera.frames == "pattern" {
        FrameSource::Pattern {
            width: camera.width,
            height: camera.height,
        }
    } else {
        let dir = base.join(&camera.frames);
        if !dir.is_dir() {
            return Err(invalid(
                "sim.camera.frames",
                format!(
                    "must be \"pattern\" or an existing directory of images; {} is not a directory",
                    dir.display()
                ),
            ));
        }
        FrameSource::Directory(dir)
    };
    if ![58, 80].contains(&raw.printer.paper_width_mm) {
        return Err(invalid(
            "sim.printer.paper_width_mm",
            format!("must be 80 or 58, not {}", raw.printer.paper_width_mm),
        ));
    }
    Ok(SimConfig {
        card_reader: SimReaderConfig {
            name: raw.card_reader.name,
            extended_length: raw.card_reader.extended_length,
            cards_dir: raw.card_reader.cards_dir.map(|d| base.join(d)),
        },
        camera: SimCameraConfig { source },
        printer: SimPrinterConfig {
            paper_width_mm: raw.printer.paper_width_mm,
            output_dir: raw.printer.output_dir.map(|d| base.join(d)),
        },
    })
}

/// Where to look for a board's configuration when none is given:
/// `$KIOSK_CONFIG`, then `board/config/<board>.toml` under the current
/// directory, then the copy next to this crate's sources.
pub fn default_config_path(board: BoardKind) -> PathBuf {
    if let Some(p) = std::env::var_os("KIOSK_CONFIG") {
        return PathBuf::from(p);
    }
    let name = format!("{board}.toml");
    let local = Path::new("board").join("config").join(&name);
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
board = "sim"
[kiosk]
id = "KIOSK-SIM-001"
center_name = "Trung tâm mô phỏng"
data_dir = "var"
[sim.card_reader]
name = "Sim Reader 0"
[sim.camera]
frames = "pattern"
[sim.printer]
paper_width_mm = 80
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/kiosk/kiosk.toml"))
    }

    fn field_error(text: &str) -> (String, String) {
        match parse(text) {
            Err(ConfigError::Invalid { field, reason, .. }) => (field, reason),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn the_shipped_sim_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.board, BoardKind::Sim);
        assert!(config.sim.is_some());
        let queue = config.queue.expect("the sim board issues numbers");
        assert!(queue.services.len() >= 6);
        let requests = config
            .requests
            .as_ref()
            .expect("the sim board files requests");
        assert!(requests.sim_portal.is_some());
        assert!(
            queue
                .services
                .iter()
                .any(|s| s.name_vi.contains("Hộ tịch") && s.name_en.contains("Civil status")),
            "{:?}",
            queue.services
        );
    }

    #[test]
    fn the_shipped_sim_config_has_a_staff_pin_and_the_sim_staff_card() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
        let staff = Config::load(&path).unwrap().staff;
        let gate = kiosk_firmware::staff::Gate::new(staff.policy.clone(), Default::default());
        assert!(staff.policy.pin.as_ref().unwrap().verify("246810"));
        assert!(gate.card_allowed(&[0x04, 0xA2, 0x2B, 0x5C, 0x11, 0x80, 0x90]));
        assert_eq!(staff.policy.max_failures, 5);
        assert!(staff.export_dir.is_some());
    }

    #[test]
    fn trust_store_settings_are_validated_with_their_field() {
        let with = |lines: &str| {
            GOOD.replace(
                "data_dir = \"var\"",
                &format!("data_dir = \"var\"\n{lines}"),
            )
        };
        let (field, reason) = field_error(&with("csca_dir = \"csca\""));
        assert_eq!(field, "kiosk.crl_dir");
        assert!(reason.contains("require_crl"), "{reason}");
        let (field, _) = field_error(&with("master_list_dir = \"ml\"\ncrl_dir = \"crl\""));
        assert_eq!(field, "kiosk.master_list_anchor_dir");
        let lab = parse(&with("csca_dir = \"csca\"\nrequire_crl = false")).unwrap();
        assert!(!lab.kiosk.require_crl);
        let full = parse(&with(
            "csca_dir = \"csca\"\nmaster_list_dir = \"ml\"\nmaster_list_anchor_dir = \"mla\"\ncrl_dir = \"crl\"",
        ))
        .unwrap();
        assert!(full.kiosk.require_crl, "CRLs are required by default");
        assert_eq!(
            full.kiosk.crl_dir.as_deref(),
            Some(Path::new("/etc/kiosk/crl"))
        );
        assert_eq!(
            full.kiosk.master_list_anchor_dir.as_deref(),
            Some(Path::new("/etc/kiosk/mla"))
        );
    }

    #[test]
    fn without_a_staff_section_staff_mode_is_off() {
        assert!(!parse(GOOD).unwrap().staff.policy.enabled());
    }

    #[test]
    fn bad_staff_settings_are_rejected_with_their_field() {
        for (section, want_field, want_reason) in [
            (
                "pin_hash = \"1234\"",
                "staff.pin_hash",
                "kioskctl staff hash-pin",
            ),
            (
                "pin_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ\"",
                "staff.pin_hash",
                "PHC",
            ),
            ("cards = [\"\"]", "staff.cards[0]", "must not be empty"),
            ("cards = [\"04A22B5C118090\"]", "staff.cards[0]", "SHA-256"),
            (
                "card_needs_pin = true\ncards = [\"afccf1b3a6f079e8259c28c65705b1b3f194a934e790ff53be57d4c15fa9f3b3\"]",
                "staff.card_needs_pin",
                "pin_hash",
            ),
            ("max_failures = 0", "staff.max_failures", "1–20"),
            ("lockout_minutes = 0", "staff.lockout_minutes", "1–1440"),
            (
                "session_timeout_s = 5",
                "staff.session_timeout_s",
                "15–3600",
            ),
        ] {
            let (field, reason) = field_error(&format!("{GOOD}\n[staff]\n{section}\n"));
            assert_eq!(field, want_field, "{section}");
            assert!(reason.contains(want_reason), "{section}: {reason}");
        }
    }

    #[test]
    fn a_bad_queue_service_is_rejected_with_its_field() {
        let text = format!(
            "{GOOD}\n[queue]\nstatus_url = \"https://q.example\"\nhours = {{ days = [\"mon\"], open = [\"08:00-09:00\"] }}\n\
             [[queue.services]]\ncode = \"A\"\nname_vi = \"Hộ tịch\"\nname_en = \"Civil status\"\ncounters = [1]\ndaily_limit = 0\n"
        );
        let (field, reason) = field_error(&text);
        assert_eq!(field, "queue.services[0].daily_limit");
        assert!(reason.contains("1–999"), "{reason}");
        assert!(parse(GOOD).unwrap().queue.is_none());
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.kiosk.data_dir, Path::new("/etc/kiosk/var"));
        assert_eq!(
            config.kiosk.database_path(),
            Path::new("/etc/kiosk/var/kiosk.db")
        );
        assert_eq!(config.session, SessionConfig::default());
    }

    #[test]
    fn an_unknown_field_is_named_in_the_error() {
        let text = GOOD.replace(
            "paper_width_mm = 80",
            "paper_width_mm = 80\npaper_colour = \"pink\"",
        );
        match parse(&text) {
            Err(ConfigError::Parse { message, .. }) => {
                assert!(message.contains("paper_colour"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_board_is_rejected() {
        match parse(&GOOD.replace("board = \"sim\"", "board = \"toaster\"")) {
            Err(ConfigError::Parse { message, .. }) => {
                assert!(message.contains("toaster"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    const LINUX: &str = r#"
board = "linux"
[kiosk]
id = "K1"
center_name = "Trung tâm"
data_dir = "/var/lib/k"
[linux]
name = "test-board"
[linux.card_reader]
kind = "pcsc"
name = "ACS ACR1252"
[linux.camera]
device = "/dev/video0"
[linux.printer]
port = "usb:/dev/usb/lp0"
[linux.gpio]
chip = "/dev/gpiochip0"
[linux.gpio.outputs]
ready = { line = 17 }
fault = { line = 22, active_low = true }
[linux.gpio.inputs]
tamper = { line = 5 }
"#;

    #[test]
    fn the_shipped_linux_profiles_are_valid() {
        for name in ["rpi4-acr1252u", "rk3568-acr1252u"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("config/{name}.toml"));
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(config.board, BoardKind::Linux);
            let linux = config.linux.unwrap();
            assert_eq!(linux.name, name);
            let gpio = linux.gpio.unwrap();
            assert_eq!(gpio.outputs.len(), 5, "{name}: every light wired");
            assert!(gpio.tamper.is_some() && gpio.presence.is_some());
            assert!(linux.speaker.enabled && linux.speaker.rate_wpm < 175);
            assert!(config.queue.is_some());
        }
    }

    #[test]
    fn a_linux_board_config_parses_into_its_devices() {
        let config = parse(LINUX).unwrap();
        let linux = config.linux.unwrap();
        assert_eq!(
            linux.card_reader,
            linux::ReaderConfig::Pcsc {
                name: "ACS ACR1252".into(),
                extended_length: true
            }
        );
        assert_eq!(linux.camera.width, 1280);
        let gpio = linux.gpio.unwrap();
        assert_eq!(
            gpio.outputs["fault"],
            linux::Line {
                line: 22,
                active_low: true
            }
        );
        assert_eq!(
            gpio.tamper,
            Some(linux::Line {
                line: 5,
                active_low: false
            })
        );
        assert_eq!(gpio.presence, None);
        assert_eq!(linux.speaker, linux::SpeakerConfig::default());
        let quiet = parse(&LINUX.replacen(
            "[linux.printer]",
            "[linux.speaker]\nenabled = false\n[linux.printer]",
            1,
        ))
        .unwrap();
        assert!(!quiet.linux.unwrap().speaker.enabled);
        assert_eq!(linux.display.rotation, 0);
        let portrait = parse(&LINUX.replacen(
            "[linux.printer]",
            "[linux.display]\nrotation = 270\n[linux.printer]",
            1,
        ))
        .unwrap();
        assert_eq!(portrait.linux.unwrap().display.rotation, 270);
    }

    #[test]
    fn every_bad_linux_field_is_named_with_what_would_do() {
        let cases: [(&str, &str, &str, &str); 12] = [
            (
                "kind = \"pcsc\"",
                "kind = \"usb-magic\"",
                "linux.card_reader.kind",
                "\"pcsc\" or \"nfc\"",
            ),
            (
                "name = \"ACS ACR1252\"",
                "",
                "linux.card_reader.name",
                "pcsc_scan",
            ),
            (
                "kind = \"pcsc\"",
                "kind = \"nfc\"",
                "linux.card_reader.connstring",
                "pn532_uart",
            ),
            (
                "device = \"/dev/video0\"",
                "device = \"/dev/video0\"\nwidth = 50",
                "linux.camera.width/height",
                "160–4096",
            ),
            (
                "port = \"usb:/dev/usb/lp0\"",
                "port = \"parallel:lpt1\"",
                "linux.printer.port",
                "usb:, serial: or tcp:",
            ),
            (
                "chip = \"/dev/gpiochip0\"",
                "chip = \"/dev/spidev0.0\"",
                "linux.gpio.chip",
                "gpiochip0",
            ),
            (
                "ready = { line = 17 }",
                "ready = { line = 5000 }",
                "linux.gpio.outputs.ready",
                "0–1023",
            ),
            (
                "tamper = { line = 5 }",
                "tamper = { line = 17 }",
                "linux.gpio.inputs.tamper",
                "already used by linux.gpio.outputs.ready",
            ),
            (
                "name = \"test-board\"",
                "name = \"my board!\"",
                "linux.name",
                "ASCII",
            ),
            (
                "[linux.printer]",
                "[linux.speaker]\nrate_wpm = 20\n[linux.printer]",
                "linux.speaker.rate_wpm",
                "80–300",
            ),
            (
                "[linux.printer]",
                "[linux.speaker]\namplitude = 900\n[linux.printer]",
                "linux.speaker.amplitude",
                "0–200",
            ),
            (
                "[linux.printer]",
                "[linux.display]\nrotation = 45\n[linux.printer]",
                "linux.display.rotation",
                "0, 90, 180 or 270",
            ),
        ];
        for (from, to, want_field, want_reason) in cases {
            let text = LINUX.replacen(from, to, 1);
            let (field, reason) = field_error(&text);
            assert_eq!(field, want_field, "{to}");
            assert!(reason.contains(want_reason), "{field}: {reason}");
        }
        // A missing chip, an unknown light, a missing section: parse errors naming them.
        for (from, to, want) in [
            ("chip = \"/dev/gpiochip0\"", "", "chip"),
            (
                "ready = { line = 17 }",
                "disco_ball = { line = 9 }",
                "disco_ball",
            ),
        ] {
            match parse(&LINUX.replacen(from, to, 1)) {
                Err(ConfigError::Parse { message, .. }) => {
                    assert!(message.contains(want), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
        let (field, _) = field_error(&LINUX[..LINUX.find("[linux]").unwrap()]);
        assert_eq!(field, "linux");
    }

    #[test]
    fn the_face_section_defaults_and_resolves_its_model_folder() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.face.model_dir, None);
        assert_eq!(config.face.passive_liveness, PassiveLiveness::Auto);
        let text = format!(
            "{GOOD}[face]\nmodel_dir = \"models\"\npassive_liveness = \"required\"\n\
             [face.check]\nthreshold = 0.5\n[face.check.liveness.challenge]\nmirrored = true\n"
        );
        let config = parse(&text).unwrap();
        assert_eq!(
            config.face.model_dir.as_deref(),
            Some(Path::new("/etc/kiosk/models"))
        );
        assert_eq!(config.face.passive_liveness, PassiveLiveness::Required);
        assert_eq!(config.face.check.threshold, 0.5);
        assert!(config.face.check.liveness.challenge.mirrored);
    }

    #[test]
    fn bad_face_settings_are_named_with_what_would_do() {
        let cases = [
            (
                "[face.check]\nthreshold = 1.5\n",
                "face.check.threshold",
                "between 0 and 1",
            ),
            ("[face.check]\nbest_of = 0\n", "face.check.best_of", "1–30"),
            (
                "[face.check]\nattempt_ms = 60000\n",
                "face.check.attempt_ms",
                "less than",
            ),
            (
                "[face]\npassive_liveness = \"off\"\n[face.check.liveness]\nactive = false\n",
                "face.check.liveness.active",
                "photo from a person",
            ),
            (
                "[face.check.liveness.challenge]\nturn_yaw = 0.05\n",
                "face.check.liveness.challenge",
                "frontal_yaw < turn_yaw",
            ),
            (
                "[face]\nframe_interval_ms = 5\n",
                "face.frame_interval_ms",
                "20–2000",
            ),
        ];
        for (extra, want_field, want_reason) in cases {
            let (field, reason) = field_error(&format!("{GOOD}{extra}"));
            assert_eq!(field, want_field, "{extra}");
            assert!(reason.contains(want_reason), "{field}: {reason}");
        }
        match parse(&format!("{GOOD}[face]\npassive_liveness = \"maybe\"\n")) {
            Err(ConfigError::Parse { message, .. }) => {
                assert!(message.contains("maybe"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_paper_width_is_rejected_with_the_allowed_values() {
        let (field, reason) =
            field_error(&GOOD.replace("paper_width_mm = 80", "paper_width_mm = 72"));
        assert_eq!(field, "sim.printer.paper_width_mm");
        assert!(reason.contains("80 or 58"), "{reason}");
    }

    #[test]
    fn a_missing_frames_directory_is_rejected() {
        let (field, _) =
            field_error(&GOOD.replace("frames = \"pattern\"", "frames = \"no/such/dir\""));
        assert_eq!(field, "sim.camera.frames");
    }

    #[test]
    fn a_bad_kiosk_id_is_rejected() {
        let (field, _) = field_error(&GOOD.replace("KIOSK-SIM-001", "kiosk 1/2"));
        assert_eq!(field, "kiosk.id");
    }

    #[test]
    fn unusable_session_timeouts_are_rejected() {
        let text = format!("{GOOD}\n[session.timeouts]\nrating = 5\n");
        let (field, reason) = field_error(&text);
        assert_eq!(field, "session");
        assert!(reason.contains("rating"), "{reason}");
    }

    #[test]
    fn session_timeouts_can_be_overridden_in_seconds() {
        let text = format!("{GOOD}\n[session]\nface_attempts = 2\n[session.timeouts]\nmenu = 60\n");
        let config = parse(&text).unwrap();
        assert_eq!(config.session.face_attempts, 2);
        assert_eq!(
            config.session.timeouts.menu,
            std::time::Duration::from_secs(60)
        );
    }

    #[test]
    fn a_sim_board_without_its_devices_is_rejected() {
        let text = GOOD.split("[sim.card_reader]").next().unwrap_or_default();
        let (field, _) = field_error(text);
        assert_eq!(field, "sim");
    }

    fn with_verification(edit: impl FnOnce(String) -> String) -> Result<Config, ConfigError> {
        let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
        let text = format!(
            "{GOOD}\n[verification]\nurl = \"https://127.0.0.1:8444\"\nca_file = {:?}\n\
             client_cert_file = {:?}\nclient_key_file = {:?}\nverdict_key_file = {:?}\n",
            sim.join("pki/ca.pem"),
            sim.join("pki/kiosk.pem"),
            sim.join("pki/kiosk.key"),
            sim.join("c06/verdict.pub.pem"),
        );
        parse(&edit(text))
    }

    #[test]
    fn the_shipped_sim_config_runs_the_reference_c06_server_with_data_minimisation() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
        let v = Config::load(&path).unwrap().verification.unwrap();
        assert!(!v.send_photo);
        assert!(v.sim_c06.is_some());
        assert_eq!(v.max_age, std::time::Duration::from_secs(300));
    }

    #[test]
    fn verification_defaults_and_each_bad_field_is_named() {
        let v = with_verification(|t| t).unwrap().verification.unwrap();
        assert_eq!(v.endpoint.timeout, std::time::Duration::from_millis(8000));
        assert_eq!(v.skew, std::time::Duration::from_secs(30));
        assert!(!v.send_photo, "the photo is not sent unless configured");
        let field = |edit: &dyn Fn(String) -> String| match with_verification(edit) {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        };
        assert_eq!(
            field(&|t| t.replace("https://127.0.0.1:8444", "http://127.0.0.1:8444")),
            "verification.url"
        );
        assert_eq!(
            field(&|t| t.replace("verdict.pub.pem", "missing.pem")),
            "verification.verdict_key_file"
        );
        // A certificate is no verdict key.
        assert_eq!(
            field(&|t| t.replace("c06/verdict.pub.pem", "pki/ca.pem")),
            "verification.verdict_key_file"
        );
        assert_eq!(
            field(&|t| format!("{t}timeout_ms = 45000\n")),
            "verification.timeout_ms"
        );
        assert_eq!(
            field(&|t| format!("{t}max_age_s = 0\n")),
            "verification.max_age_s"
        );
    }

    fn with_requests(dir: &Path, key: Option<&[u8]>, extra: &str) -> Result<Config, ConfigError> {
        let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
        let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/procedures.toml");
        let key_file = dir.join("outbox.key");
        if let Some(key) = key {
            std::fs::write(&key_file, key).unwrap();
        }
        let text = format!(
            "{GOOD}\n[requests]\ncatalogue = {catalogue:?}\noutbox_key_file = {key_file:?}\n\
             [requests.portal]\nurl = \"https://127.0.0.1:8443\"\nca_file = {:?}\n\
             client_cert_file = {:?}\nclient_key_file = {:?}\n{extra}",
            sim.join("pki/ca.pem"),
            sim.join("pki/kiosk.pem"),
            sim.join("pki/kiosk.key"),
        );
        Config::parse(&text, &dir.join("kiosk.toml"))
    }

    #[test]
    fn the_requests_section_loads_the_catalogue_and_the_outbox_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = with_requests(dir.path(), Some(&[9u8; 32]), "").unwrap();
        let r = config.requests.unwrap();
        assert!(r.catalog.procedures.len() >= 7);
        assert_eq!(r.backoff.base_ms, 2_000);
        assert!(
            !format!("{:?}", r.outbox_key).contains('9'),
            "the key is never printed"
        );
    }

    #[test]
    fn a_missing_or_short_outbox_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        match with_requests(dir.path(), None, "") {
            Err(ConfigError::Invalid { field, reason, .. }) => {
                assert_eq!(field, "requests.outbox_key_file");
                assert!(
                    reason.contains("cannot read") && reason.contains("head -c 32"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        match with_requests(dir.path(), Some(b"short"), "") {
            Err(ConfigError::Invalid { field, reason, .. }) => {
                assert_eq!(field, "requests.outbox_key_file");
                assert!(
                    reason.contains("holds 5 bytes") && reason.contains("exactly 32"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_portal_and_delivery_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("timeout_ms = 5\n", "requests.portal.timeout_ms"),
            (
                "[requests.delivery]\nbase_backoff_ms = 10\n",
                "requests.delivery.base_backoff_ms",
            ),
            (
                "[requests.delivery]\nbase_backoff_ms = 5000\nmax_backoff_ms = 1000\n",
                "requests.delivery.max_backoff_ms",
            ),
            (
                "[requests.sim_portal]\ncert_file = \"x.pem\"\nkey_file = \"x.key\"\nunit_code = \"H26\"\n",
                "requests.sim_portal.unit_code",
            ),
        ];
        for (extra, want) in cases {
            match with_requests(dir.path(), Some(&[1u8; 32]), extra) {
                Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, want, "{extra}"),
                other => panic!("{extra}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_unreadable_file_says_which_file() {
        let err = Config::load(Path::new("/no/such/kiosk.toml")).unwrap_err();
        assert!(err.to_string().contains("/no/such/kiosk.toml"), "{err}");
    }
}
