//! The composition root: from a configuration file to running devices.
//!
//! Both binaries build their board here, so `kiosk` and `kioskctl doctor`
//! always see the same devices.

use crate::config::{BoardKind, Config};
use crate::drivers::Devices;
use anyhow::Context as _;

/// A board built from its configuration.
#[derive(Debug)]
pub struct BuiltBoard {
    /// The devices.
    pub devices: Devices,
    /// The simulator's controls, on the sim board.
    #[cfg(feature = "sim")]
    pub sim: Option<crate::simulator::SimControls>,
}

/// Builds the board a configuration describes.
pub fn build_board(config: &Config) -> anyhow::Result<BuiltBoard> {
    match config.board {
        #[cfg(feature = "sim")]
        BoardKind::Sim => {
            let sim = config
                .sim
                .as_ref()
                .context("the configuration has no [sim] section")?;
            let (devices, controls) =
                crate::simulator::SimBoard::build(sim).with_context(|| {
                    format!(
                        "cannot build the simulator board of {}",
                        config.path.display()
                    )
                })?;
            Ok(BuiltBoard {
                devices,
                sim: Some(controls),
            })
        }
        #[cfg(not(feature = "sim"))]
        BoardKind::Sim => anyhow::bail!("this build has no simulator board (feature `sim`)"),
        #[cfg(feature = "linux")]
        BoardKind::Linux => {
            let linux = config
                .linux
                .as_ref()
                .context("the configuration has no [linux] section")?;
            let (devices, _notes) = crate::drivers::linux::LinuxBoard::build(linux);
            Ok(BuiltBoard {
                devices,
                #[cfg(feature = "sim")]
                sim: None,
            })
        }
        #[cfg(not(feature = "linux"))]
        BoardKind::Linux => {
            anyhow::bail!("this build has no Linux board support (feature `linux`)")
        }
    }
}

/// Loads the configuration for `board`, from `path` or the default place,
/// and checks the file describes that board.
pub fn load_config(board: BoardKind, path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let path = path.map_or_else(
        || crate::config::default_config_path(board),
        std::path::Path::to_path_buf,
    );
    let config = Config::load(&path)?;
    anyhow::ensure!(
        config.board == board,
        "{} describes the {} board, not {board}",
        path.display(),
        config.board
    );
    Ok(config)
}

/// Logs to stderr, filtered by `KIOSK_LOG` (default `info`). Logs carry no
/// personal data: nothing personal is ever passed to a log macro.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Wall-clock now, for the store (binaries and the runtime only).
pub fn wall_clock_now() -> kiosk_firmware::store::UnixMillis {
    #[expect(
        clippy::disallowed_methods,
        reason = "binaries read the wall clock once per use"
    )]
    let now = std::time::SystemTime::now();
    let ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    kiosk_firmware::store::UnixMillis(ms)
}

/// Opens the kiosk's database, logging (and auditing) a corrupt file moved
/// aside.
pub fn open_store(config: &Config) -> anyhow::Result<kiosk_firmware::store::Store> {
    use kiosk_firmware::store::Store;
    let now = wall_clock_now();
    let path = config.kiosk.database_path();
    let (mut store, report) = Store::open(&path, now)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    if let Some(aside) = &report.moved_aside {
        tracing::error!(moved_to = %aside.display(), "the database was corrupt: moved aside, started a new one");
        store.audit(
            now,
            "store_moved_aside",
            &serde_json::json!({ "moved_to": aside.display().to_string() }),
        )?;
    }
    if report.migrated_from != report.migrated_to {
        tracing::info!(
            from = report.migrated_from,
            to = report.migrated_to,
            "database migrated"
        );
    }
    Ok(store)
}

/// Checks the kiosk's database: it opens (creating or migrating it), its
/// pragmas read back as required, and it passes an integrity check.
pub fn check_store(config: &Config) -> crate::doctor::Check {
    use crate::doctor::Check;
    let store = match open_store(config) {
        Ok(s) => s,
        Err(e) => {
            return Check::fail(
                format!("{e:#}"),
                "check the data directory's permissions and free space; a database from a newer \
                 firmware needs that firmware",
            );
        }
    };
    let result = store
        .check()
        .and_then(|()| Ok((store.pragmas()?, store.schema_version()?)));
    match result {
        Ok((p, version)) => Check::pass(format!(
            "{}: schema v{version}, journal {}, synchronous {}",
            store.path().display(),
            p.journal_mode,
            if p.synchronous == 2 {
                "FULL"
            } else {
                "NOT FULL"
            }
        )),
        Err(e) => Check::fail(
            e.to_string(),
            "stop the kiosk and run `kioskctl doctor` again; call support if it persists",
        ),
    }
}

/// Loads the CSCA trust list from a folder of `.der`, `.cer`, `.crt` and
/// `.pem` files; a missing folder setting gives an empty list (every chain
/// then reports "not anchored").
pub fn load_trust_list(
    dir: Option<&std::path::Path>,
) -> anyhow::Result<kiosk_firmware::icao::pa::TrustList> {
    let mut list = kiosk_firmware::icao::pa::TrustList::empty();
    let Some(dir) = dir else {
        return Ok(list);
    };
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("the CSCA folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let known = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "der" | "cer" | "crt" | "pem"
            )
        });
        if known {
            let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
            list.add(&bytes)
                .with_context(|| format!("{} is not a certificate", path.display()))?;
        }
    }
    Ok(list)
}

/// What `face.passive_liveness` asks of the liveness policy.
pub fn passive_requirement(
    p: crate::config::PassiveLiveness,
) -> kiosk_firmware::face::liveness::PassiveRequirement {
    use crate::config::PassiveLiveness;
    use kiosk_firmware::face::liveness::PassiveRequirement;
    match p {
        PassiveLiveness::Required => PassiveRequirement::Required,
        PassiveLiveness::Auto => PassiveRequirement::Auto,
        PassiveLiveness::Off => PassiveRequirement::Off,
    }
}

/// The face engine of a configuration and the names of the passive
/// liveness files it could not load (feature `face`). The detector and the
/// recogniser must be there (the error names the missing ones); the passive
/// models are loaded when asked for and both present, and the liveness
/// policy decides what their absence means.
#[cfg(feature = "face")]
fn load_face_parts(
    face: &crate::config::FaceSection,
) -> anyhow::Result<Option<(kiosk_firmware::face::opencv::OpenCvEngine, Vec<String>)>> {
    use crate::config::PassiveLiveness;
    use kiosk_firmware::face::opencv::{ModelFiles, OpenCvEngine};
    let Some(dir) = face.effective_model_dir() else {
        return Ok(None);
    };
    let missing_core = ModelFiles::missing_core(&dir);
    anyhow::ensure!(
        missing_core.is_empty(),
        "{} missing from the model folder {}: no face check can run",
        missing_core.join(", "),
        dir.display()
    );
    let missing_passive = match face.passive_liveness {
        PassiveLiveness::Off => Vec::new(),
        PassiveLiveness::Auto | PassiveLiveness::Required => ModelFiles::missing_passive(&dir),
    };
    let engine = OpenCvEngine::load(&ModelFiles {
        dir: dir.clone(),
        passive_liveness: face.passive_liveness != PassiveLiveness::Off
            && missing_passive.is_empty(),
    })
    .with_context(|| format!("cannot load the face models from {}", dir.display()))?;
    Ok(Some((engine, missing_passive)))
}

/// The face engine a configuration asks for, loaded and verified (feature
/// `face`), for tools that analyse faces outside the runtime (`kioskctl
/// face`, scenario scenes). `Ok(None)`: no model folder is configured and
/// `$KIOSK_MODEL_DIR` is unset. An error when the liveness policy would
/// refuse every face check with these files (e.g. passive liveness
/// required and a MiniFASNet file missing: the error names it).
#[cfg(feature = "face")]
pub fn load_face_engine(
    face: &crate::config::FaceSection,
) -> anyhow::Result<Option<kiosk_firmware::face::opencv::OpenCvEngine>> {
    let Some((engine, missing)) = load_face_parts(face)? else {
        return Ok(None);
    };
    face.check
        .liveness
        .admit(passive_requirement(face.passive_liveness), &missing)
        .map_err(|refusal| {
            anyhow::anyhow!(
                "{refusal} (model folder {}; run `cargo xtask setup`)",
                face.effective_model_dir().unwrap_or_default().display()
            )
        })?;
    Ok(Some(engine))
}

/// The face service for the runtime (feature `face`); `None` without models.
/// A missing passive liveness file does not stop the kiosk: the service
/// knows it, its liveness policy refuses the face checks the configuration
/// says need it (staff take over), and its health says which file.
#[cfg(feature = "face")]
pub fn face_service(
    config: &Config,
) -> anyhow::Result<Option<crate::services::facecheck::FaceService>> {
    Ok(load_face_parts(&config.face)?.map(|(engine, missing)| {
        if !missing.is_empty() {
            tracing::error!(
                missing = missing.join(", "),
                passive_liveness = ?config.face.passive_liveness,
                "passive liveness model files missing"
            );
        }
        crate::services::facecheck::FaceService::new(
            Box::new(engine),
            config.face.check,
            std::time::Duration::from_millis(config.face.frame_interval_ms),
        )
        .with_passive(passive_requirement(config.face.passive_liveness), missing)
    }))
}

/// The fix `kioskctl doctor` and the staff panel give for missing or
/// unloadable model files.
pub const MODEL_FIX: &str = "run `cargo xtask setup` to fetch and verify the model files (on a \
                             kiosk: install them into the model folder); never replace them \
                             with unverified ones";

/// Checks face verification: the models load and verify, and the liveness
/// policy admits face checks with them (a missing file is named).
pub fn check_face(config: &Config) -> crate::doctor::Check {
    use crate::doctor::Check;
    #[cfg(feature = "face")]
    {
        match face_service(config) {
            Ok(Some(face)) => face.health(),
            Ok(None) => Check::fail(
                "no face model folder configured: every face check goes to staff",
                "set [face] model_dir in the board configuration (or KIOSK_MODEL_DIR) and run \
                 `cargo xtask setup`",
            ),
            Err(e) => Check::fail(format!("{e:#}"), MODEL_FIX),
        }
    }
    #[cfg(not(feature = "face"))]
    {
        let _ = config;
        Check::fail(
            "this build has no face engine (feature `face`)",
            "build kiosk-board with its default features",
        )
    }
}

/// The portal client of the configuration. With `start_sim_portal` and
/// `[requests.sim_portal]` the reference portal is started in this process
/// on the port of `requests.portal.url` (127.0.0.1), so `kioskctl` reaches
/// the simulator's portal at the configured URL; when that port is taken
/// (a `kiosk-portal serve` already there) the client uses whoever serves
/// it. The handle keeps the portal running.
pub fn portal_client(
    config: &Config,
    start_sim_portal: bool,
) -> anyhow::Result<
    Option<(
        crate::online::portal::client::HttpsPortal,
        Option<crate::online::portal::server::PortalHandle>,
    )>,
> {
    let Some(requests) = &config.requests else {
        return Ok(None);
    };
    let mut settings = requests.portal.clone();
    let port = crate::online::portal::client::parse_url(&settings.url).map_or(0, |(_, p)| p);
    let handle = match &requests.sim_portal {
        Some(sp) if start_sim_portal => {
            let started = crate::online::portal::server::PortalHandle::start(
                &crate::online::portal::server::ServerSettings {
                    cert_file: sp.cert_file.clone(),
                    key_file: sp.key_file.clone(),
                    client_ca_file: settings.ca_file.clone(),
                    unit_code: sp.unit_code.clone(),
                    procedures: requests
                        .catalog
                        .procedures
                        .iter()
                        .map(|p| p.code.clone())
                        .collect(),
                    port,
                },
            );
            match started {
                Ok(handle) => {
                    tracing::info!(url = %handle.url(), "simulator: reference portal in process");
                    settings.url = handle.url();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %settings.url,
                        "simulator: the reference portal's port is taken; using whoever serves it");
                    None
                }
            }
        }
        _ => None,
    };
    let client = crate::online::portal::client::HttpsPortal::new(&settings).with_context(|| {
        format!(
            "cannot set up TLS for the portal {} (requests.portal in {})",
            settings.url,
            config.path.display()
        )
    })?;
    Ok(Some((client, handle)))
}

/// The online check's client of the configuration (`[verification]`), and
/// the in-process reference C06 server when `start_sim_c06` and
/// `[verification.sim_c06]` say so (on the URL's port, or whoever serves
/// it when that port is taken, as with the portal). The handle keeps the
/// server running.
pub fn c06_client(
    config: &Config,
    start_sim_c06: bool,
) -> anyhow::Result<
    Option<(
        std::sync::Arc<crate::online::c06::C06Client>,
        Option<crate::online::c06::server::C06Handle>,
    )>,
> {
    let Some(section) = &config.verification else {
        return Ok(None);
    };
    let mut section = section.clone();
    let port =
        crate::online::portal::client::parse_url(&section.endpoint.url).map_or(0, |(_, p)| p);
    let handle = match &section.sim_c06 {
        Some(sim) if start_sim_c06 => {
            let signing_key = crate::online::c06::server::load_signing_key(&sim.signing_key_file)
                .context("verification.sim_c06.signing_key_file")?;
            let registry = load_trust_list(Some(&sim.csca_dir))?;
            let started = crate::online::c06::server::C06Handle::start(
                crate::online::c06::server::C06Settings {
                    tls: crate::online::portal::server::TlsFiles {
                        cert_file: sim.cert_file.clone(),
                        key_file: sim.key_file.clone(),
                        client_ca_file: section.endpoint.ca_file.clone(),
                    },
                    signing_key,
                    registry,
                    port,
                },
            );
            match started {
                Ok(handle) => {
                    tracing::info!(url = %handle.url(), "simulator: reference C06 server in process");
                    section.endpoint.url = handle.url();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %section.endpoint.url,
                        "simulator: the reference C06 server's port is taken; using whoever serves it");
                    None
                }
            }
        }
        _ => None,
    };
    let client =
        crate::online::c06::C06Client::new(&section, &config.kiosk.id).with_context(|| {
            format!(
                "cannot set up TLS for the C06 endpoint {} (verification in {})",
                section.endpoint.url,
                config.path.display()
            )
        })?;
    Ok(Some((std::sync::Arc::new(client), handle)))
}

/// The runtime's request service, and the in-process portal if any.
pub fn request_service(
    config: &Config,
) -> anyhow::Result<
    Option<(
        crate::services::requesting::RequestService,
        Option<crate::online::portal::server::PortalHandle>,
    )>,
> {
    let Some(requesting) = crate::services::requesting::Requesting::from_config(config) else {
        return Ok(None);
    };
    let Some((client, handle)) = portal_client(config, true)? else {
        return Ok(None);
    };
    let rng = crate::services::requesting::Randomness::from_os().context("OS entropy")?;
    Ok(Some((
        crate::services::requesting::RequestService::new(requesting, Box::new(client), rng),
        handle,
    )))
}

/// `kioskctl doctor`'s online-check entry: the `[verification]` TLS
/// material and pinned key load (the endpoint itself is asked only when a
/// card needs it).
pub fn check_verification(config: &Config) -> crate::doctor::Check {
    use crate::doctor::Check;
    let Some(section) = &config.verification else {
        return Check::pass(
            "no [verification]: an unanchored card is refused (no online check, no unverified_offline)",
        );
    };
    match crate::online::c06::C06Client::new(section, &config.kiosk.id) {
        Ok(_) => Check::pass(format!(
            "online check {} (deadline {} ms, verdicts up to {} s old, photo {}; key {})",
            section.endpoint.url,
            section.endpoint.timeout.as_millis(),
            section.max_age.as_secs(),
            if section.send_photo {
                "sent"
            } else {
                "hash only"
            },
            section.verdict_key_file.display(),
        )),
        Err(e) => Check::fail(
            format!("{e}"),
            "fix verification's certificate files (the CA, the kiosk's certificate and key)",
        ),
    }
}

/// `kioskctl doctor`'s service check: out of service after the cabinet
/// was opened (see [`crate::doctor::check_service`]).
pub fn check_service(config: &Config) -> crate::doctor::Check {
    match open_store(config) {
        Ok(store) => crate::doctor::check_service(&store),
        Err(e) => crate::doctor::Check::fail(format!("{e:#}"), "see the store check"),
    }
}

/// The outbox for `kioskctl doctor`: the TLS material loads, and no
/// request waits for staff (a failed row).
pub fn check_outbox(config: &Config) -> crate::doctor::Check {
    use crate::doctor::Check;
    let Some(requests) = &config.requests else {
        return Check::pass("no [requests]: this kiosk files no requests");
    };
    if let Err(e) = crate::online::portal::client::HttpsPortal::new(&requests.portal) {
        return Check::fail(
            format!("{e}"),
            "fix requests.portal's certificate files (the CA, the kiosk's certificate and key)",
        );
    }
    let store = match open_store(config) {
        Ok(s) => s,
        Err(e) => return Check::fail(format!("{e:#}"), "see the store check"),
    };
    let rows = match store.outbox_list() {
        Ok(r) => r,
        Err(e) => return Check::fail(e.to_string(), "see the store check"),
    };
    use kiosk_firmware::store::outbox::OutboxState;
    let failed = rows
        .iter()
        .filter(|r| r.state == OutboxState::Failed)
        .count();
    let waiting = rows.len() - failed;
    let oldest = rows
        .iter()
        .filter(|r| r.state != OutboxState::Failed)
        .map(|r| r.created_at_unix_ms)
        .min();
    let age = oldest.map_or(String::new(), |t| {
        format!(
            ", oldest queued {} min ago",
            wall_clock_now().0.saturating_sub(t) / 60_000
        )
    });
    let detail = format!(
        "{waiting} request(s) waiting for the portal, {failed} refused{age}; portal {}",
        requests.portal.url
    );
    if failed > 0 {
        Check::fail(
            detail,
            "the portal refused request(s): `kioskctl outbox list`, then `kioskctl outbox retry ID` \
             once fixed or `kioskctl outbox discard ID`",
        )
    } else {
        Check::pass(detail)
    }
}

/// The desk of the centre's queue a configuration names (`[centre]`): its
/// mutual-TLS client, each number's deadline (`timeout_ms`) and the
/// reconciliation's interval. `Ok(None)` without `[centre]`: the kiosk
/// numbers on its own.
pub fn centre_desk(
    config: &Config,
) -> anyhow::Result<Option<crate::services::queueing::CentreDesk>> {
    let Some(section) = &config.centre else {
        return Ok(None);
    };
    let client =
        crate::online::centre::CentreClient::new(&section.endpoint).with_context(|| {
            format!(
                "cannot set up the centre's client for {}",
                section.endpoint.url
            )
        })?;
    Ok(Some(crate::services::queueing::CentreDesk::new(
        std::sync::Arc::new(client),
        section.endpoint.timeout,
        section.reconcile_interval,
    )))
}
