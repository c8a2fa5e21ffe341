//! The centre's configuration file (`centre/config/*.toml`).
//!
//! ```toml
//! [centre]
//! id = "HCC-Q1"                       # the centre's id, in every ticket
//! listen = "127.0.0.1:9443"
//! counter_clients = ["DESK-01"]       # certificates that may call numbers
//! online_max = 799                    # the centre's numbers: 1–799
//!
//! [tls]
//! cert_file = "pki/centre.pem"        # the centre's server certificate
//! key_file = "pki/centre.key"
//! client_ca_file = "pki/ca.pem"       # kiosks and desks must chain to it
//!
//! [database]
//! url = "host=/run/postgresql port=5432 user=centre dbname=centre"
//! pool_size = 8
//!
//! [[kiosks]]
//! id = "KIOSK-01"                     # its client certificate's common name
//! offline_block = "800-849"
//!
//! # The services: the kiosk's own `[queue]` section, inline, or read from
//! # a kiosk's configuration file so one file serves both.
//! queue_file = "../../board/config/sim.toml"
//!
//! # The counter and hall-display pages (optional): HTTPS with the
//! # centre's certificate, no client certificate (browsers).
//! [pages]
//! listen = "0.0.0.0:9444"
//! # with [pages], `centre.identity_key_file = "identity.key"` is required
//! # (32 bytes, mode 600): the identity packets' key.
//!
//! [[staff]]
//! id = "nv01"
//! pin_hash = "$argon2id$v=19$..."     # `kiosk-centre staff hash-pin`
//! counters = [1, 2]                   # the counters they may serve
//!
//! [[displays]]
//! id = "hall"
//! token_sha256 = "…64 hex…"           # `kiosk-centre display token`
//! ```
//!
//! Relative paths are relative to the file. Loading checks everything it
//! can (blocks inside 1–999 and above `online_max`, not overlapping; ids
//! unique; the catalogue as the kiosk checks it) and names the field.

use kiosk_firmware::queue::centre::{MAX_SEQ, OfflineBlock};
use kiosk_firmware::queue::{Catalog, QueueConfig};
use kiosk_firmware::staff::PinHash;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not TOML of the expected shape.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A field's value is wrong.
    #[error("{path}: `{field}` {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    centre: RawCentre,
    tls: RawTls,
    database: RawDatabase,
    #[serde(default)]
    kiosks: Vec<RawKiosk>,
    queue: Option<QueueConfig>,
    queue_file: Option<PathBuf>,
    pages: Option<RawPages>,
    #[serde(default)]
    staff: Vec<RawStaff>,
    #[serde(default)]
    displays: Vec<RawDisplay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPages {
    listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    id: String,
    pin_hash: String,
    counters: Vec<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    id: String,
    token_sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentre {
    id: String,
    listen: String,
    #[serde(default)]
    counter_clients: Vec<String>,
    #[serde(default = "default_online_max")]
    online_max: u32,
    clock_start: Option<String>,
    metrics_listen: Option<String>,
    identity_key_file: Option<PathBuf>,
}

fn default_online_max() -> u32 {
    799
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_ca_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    #[serde(default = "default_pool")]
    pool_size: usize,
}

fn default_pool() -> usize {
    8
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKiosk {
    id: String,
    offline_block: String,
}

#[derive(Debug, Deserialize)]
struct QueueOnly {
    queue: Option<QueueConfig>,
}

/// A kiosk the centre admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskEntry {
    /// Its id: the common name of its client certificate.
    pub id: String,
    /// Its offline numbers.
    pub offline_block: OfflineBlock,
}

/// TLS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain (PEM).
    pub cert_file: PathBuf,
    /// Its key (PEM).
    pub key_file: PathBuf,
    /// The CA every client certificate must chain to (PEM).
    pub client_ca_file: PathBuf,
}

/// A member of staff who may sign in on the counter page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEntry {
    /// Their id (what they type).
    pub id: String,
    /// Their PIN's Argon2id hash.
    pub pin_hash: PinHash,
    /// The counters they may serve.
    pub counters: Vec<u16>,
}

/// A hall display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayEntry {
    /// Its id.
    pub id: String,
    /// The SHA-256 of its token.
    pub token_sha256: [u8; 32],
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct CentreConfig {
    /// The file.
    pub path: PathBuf,
    /// The centre's id.
    pub centre_id: String,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Certificates (common names) that may act as counters.
    pub counter_clients: Vec<String>,
    /// The centre's own numbers are 1..=online_max.
    pub online_max: u32,
    /// Where the statistics' Prometheus text is served in plain HTTP
    /// (`GET /metrics`): a loopback address only, for a local scraper or
    /// exporter (the figures carry no personal data, but the API's other
    /// routes need a client certificate and this one cannot ask for it).
    pub metrics_listen: Option<SocketAddr>,
    /// Tests and demos: the centre's clock starts at this local time
    /// (`YYYY-MM-DDTHH:MM`, Vietnam) and runs on from there.
    pub clock_start: Option<u64>,
    /// TLS.
    pub tls: TlsFiles,
    /// A tokio-postgres connection string (key=value or URL).
    pub database_url: String,
    /// Connections in the pool.
    pub pool_size: usize,
    /// The kiosks admitted.
    pub kiosks: Vec<KioskEntry>,
    /// The services.
    pub catalog: Catalog,
    /// The identity packets' key file (32 bytes, mode 600); without it a
    /// ticket with an identity packet is refused.
    pub identity_key_file: Option<PathBuf>,
    /// Where the counter and display pages are served (HTTPS, no client
    /// certificate).
    pub pages_listen: Option<SocketAddr>,
    /// Staff who may sign in on the counter page.
    pub staff: Vec<StaffEntry>,
    /// Hall displays.
    pub displays: Vec<DisplayEntry>,
}

impl CentreConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<CentreConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks `text`, read from `path` (relative paths are relative to it).
    pub fn parse(text: &str, path: &Path) -> Result<CentreConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.to_owned(),
            reason,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let id = raw.centre.id.trim();
        if id.is_empty()
            || id.len() > 32
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "centre.id",
                "must be 1–32 ASCII letters, digits, '-' or '_'".into(),
            ));
        }
        let listen: SocketAddr = raw
            .centre
            .listen
            .parse()
            .map_err(|e| invalid("centre.listen", format!("is not IP:PORT ({e})")))?;
        let online_max = raw.centre.online_max;
        if !(1..MAX_SEQ).contains(&online_max) {
            return Err(invalid(
                "centre.online_max",
                format!("must be 1–{}, not {online_max}", MAX_SEQ - 1),
            ));
        }
        let clock_start = raw
            .centre
            .clock_start
            .as_deref()
            .map(|s| {
                crate::clock::parse_local(s).ok_or_else(|| {
                    invalid(
                        "centre.clock_start",
                        format!("{s:?} is not YYYY-MM-DDTHH:MM"),
                    )
                })
            })
            .transpose()?;
        let metrics_listen = raw
            .centre
            .metrics_listen
            .as_deref()
            .map(|m| {
                let addr: SocketAddr = m.parse().map_err(|e| {
                    invalid("centre.metrics_listen", format!("is not IP:PORT ({e})"))
                })?;
                if addr.ip().is_loopback() {
                    Ok(addr)
                } else {
                    Err(invalid(
                        "centre.metrics_listen",
                        format!("{addr} is not a loopback address: the metrics text is served without TLS"),
                    ))
                }
            })
            .transpose()?;
        let mut kiosks: Vec<KioskEntry> = Vec::new();
        for (i, k) in raw.kiosks.iter().enumerate() {
            let field = |f: &str| format!("kiosks[{i}].{f}");
            if k.id.trim().is_empty() || kiosks.iter().any(|o| o.id == k.id) {
                return Err(invalid(&field("id"), "must be non-empty and unique".into()));
            }
            let block = OfflineBlock::parse(&k.offline_block)
                .map_err(|e| invalid(&field("offline_block"), e))?;
            if block.first <= online_max {
                return Err(invalid(
                    &field("offline_block"),
                    format!("{block} must start above centre.online_max ({online_max})"),
                ));
            }
            if let Some(other) = kiosks.iter().find(|o| o.offline_block.overlaps(&block)) {
                return Err(invalid(
                    &field("offline_block"),
                    format!("{block} overlaps {}'s {}", other.id, other.offline_block),
                ));
            }
            kiosks.push(KioskEntry {
                id: k.id.clone(),
                offline_block: block,
            });
        }
        let queue = match (raw.queue, raw.queue_file) {
            (Some(q), None) => q,
            (None, Some(file)) => {
                let full = base.join(&file);
                let text = std::fs::read_to_string(&full).map_err(|source| ConfigError::Io {
                    path: full.clone(),
                    source,
                })?;
                let only: QueueOnly = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: full.clone(),
                    message: e.to_string(),
                })?;
                only.queue.ok_or_else(|| {
                    invalid(
                        "queue_file",
                        format!("{} has no [queue] section", full.display()),
                    )
                })?
            }
            _ => {
                return Err(invalid(
                    "queue",
                    "give either a [queue] section or queue_file, not both or neither".into(),
                ));
            }
        };
        let catalog =
            Catalog::from_config(&queue).map_err(|e| invalid(&e.field, e.reason.clone()))?;
        let pages_listen = raw
            .pages
            .as_ref()
            .map(|p| {
                p.listen
                    .parse::<SocketAddr>()
                    .map_err(|e| invalid("pages.listen", format!("is not IP:PORT ({e})")))
            })
            .transpose()?;
        let mut staff: Vec<StaffEntry> = Vec::new();
        for (i, s) in raw.staff.iter().enumerate() {
            let field = |f: &str| format!("staff[{i}].{f}");
            if !valid_id(&s.id) || staff.iter().any(|o| o.id == s.id) {
                return Err(invalid(
                    &field("id"),
                    "must be 1–32 ASCII letters, digits, '-', '_' or '.', and unique".into(),
                ));
            }
            let pin_hash = PinHash::parse(&s.pin_hash)
                .map_err(|e| invalid(&field("pin_hash"), e.to_string()))?;
            if s.counters.is_empty() {
                return Err(invalid(
                    &field("counters"),
                    "must list at least one counter".into(),
                ));
            }
            for c in &s.counters {
                if !catalog.services.iter().any(|svc| svc.counters.contains(c)) {
                    return Err(invalid(
                        &field("counters"),
                        format!("counter {c} serves no service of the catalogue"),
                    ));
                }
            }
            staff.push(StaffEntry {
                id: s.id.clone(),
                pin_hash,
                counters: s.counters.clone(),
            });
        }
        let mut displays: Vec<DisplayEntry> = Vec::new();
        for (i, d) in raw.displays.iter().enumerate() {
            let field = |f: &str| format!("displays[{i}].{f}");
            if !valid_id(&d.id) || displays.iter().any(|o| o.id == d.id) {
                return Err(invalid(&field("id"), "must be a unique id".into()));
            }
            let mut token_sha256 = [0u8; 32];
            hex::decode_to_slice(d.token_sha256.trim(), &mut token_sha256).map_err(|_| {
                invalid(
                    &field("token_sha256"),
                    "must be 64 hex digits (a SHA-256)".into(),
                )
            })?;
            displays.push(DisplayEntry {
                id: d.id.clone(),
                token_sha256,
            });
        }
        if pages_listen.is_some() && (raw.centre.identity_key_file.is_none()) {
            return Err(invalid(
                "centre.identity_key_file",
                "is required with [pages] (the counter page shows identity packets)".into(),
            ));
        }
        if !(1..=64).contains(&raw.database.pool_size) {
            return Err(invalid("database.pool_size", "must be 1–64".into()));
        }
        Ok(CentreConfig {
            path: path.to_path_buf(),
            centre_id: id.to_owned(),
            listen,
            counter_clients: raw.centre.counter_clients,
            online_max,
            metrics_listen,
            clock_start,
            tls: TlsFiles {
                cert_file: base.join(raw.tls.cert_file),
                key_file: base.join(raw.tls.key_file),
                client_ca_file: base.join(raw.tls.client_ca_file),
            },
            database_url: raw.database.url,
            pool_size: raw.database.pool_size,
            kiosks,
            catalog,
            identity_key_file: raw.centre.identity_key_file.map(|f| base.join(f)),
            pages_listen,
            staff,
            displays,
        })
    }

    /// The member of staff `id`.
    pub fn staff_member(&self, id: &str) -> Option<&StaffEntry> {
        self.staff.iter().find(|s| s.id == id)
    }

    /// The kiosk with certificate name `id`.
    pub fn kiosk(&self, id: &str) -> Option<&KioskEntry> {
        self.kiosks.iter().find(|k| k.id == id)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    const QUEUE: &str = r#"
[queue]
status_url = "https://x.example/q"
hours = { days = ["mon"], open = ["07:30-11:30"] }
[[queue.services]]
code = "A"
name_vi = "Hộ tịch"
name_en = "Civil status"
counters = [1]
daily_limit = 100
"#;

    fn text(kiosks: &str) -> String {
        format!(
            "[centre]\nid = \"HCC-1\"\nlisten = \"127.0.0.1:9443\"\n\
             [tls]\ncert_file = \"c.pem\"\nkey_file = \"c.key\"\nclient_ca_file = \"ca.pem\"\n\
             [database]\nurl = \"host=/tmp\"\n{kiosks}\n{QUEUE}"
        )
    }

    fn invalid_field(text: &str) -> String {
        match CentreConfig::parse(text, Path::new("/x/centre.toml")) {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_file_loads_with_its_blocks() {
        let c = CentreConfig::parse(
            &text("[[kiosks]]\nid = \"K1\"\noffline_block = \"800-849\"\n"),
            Path::new("/x/centre.toml"),
        )
        .unwrap();
        assert_eq!(c.kiosk("K1").unwrap().offline_block.first, 800);
        assert_eq!(c.online_max, 799);
        assert_eq!(c.tls.client_ca_file, PathBuf::from("/x/ca.pem"));
    }

    #[test]
    fn blocks_must_sit_above_online_numbers_and_apart() {
        assert_eq!(
            invalid_field(&text(
                "[[kiosks]]\nid = \"K1\"\noffline_block = \"700-749\"\n"
            )),
            "kiosks[0].offline_block"
        );
        assert_eq!(
            invalid_field(&text(
                "[[kiosks]]\nid = \"K1\"\noffline_block = \"800-849\"\n\
                 [[kiosks]]\nid = \"K2\"\noffline_block = \"840-879\"\n"
            )),
            "kiosks[1].offline_block"
        );
        assert_eq!(
            invalid_field(&text(
                "[[kiosks]]\nid = \"K1\"\noffline_block = \"800-849\"\n\
                 [[kiosks]]\nid = \"K1\"\noffline_block = \"850-879\"\n"
            )),
            "kiosks[1].id"
        );
    }

    #[test]
    fn the_metrics_listener_is_loopback_only() {
        let with = |addr: &str| {
            text("").replace(
                "listen = \"127.0.0.1:9443\"\n",
                &format!("listen = \"127.0.0.1:9443\"\nmetrics_listen = \"{addr}\"\n"),
            )
        };
        let c = CentreConfig::parse(&with("127.0.0.1:9464"), Path::new("/x/centre.toml")).unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(
            invalid_field(&with("0.0.0.0:9464")),
            "centre.metrics_listen"
        );
        assert_eq!(
            invalid_field(&with("192.168.1.5:9464")),
            "centre.metrics_listen"
        );
        assert_eq!(invalid_field(&with("nine")), "centre.metrics_listen");
        let none = CentreConfig::parse(&text(""), Path::new("/x/centre.toml")).unwrap();
        assert_eq!(none.metrics_listen, None);
    }
}
