//! The kiosk's SQLite database (DESIGN.md §6).
//!
//! Modelled on mozilla/application-services `components/support/sql`
//! (a connection initialiser, historical schema fixtures) and
//! rusqlite_migration (numbered migrations, `PRAGMA user_version`):
//!
//! - Every open sets `journal_mode=WAL`, `synchronous=FULL`,
//!   `foreign_keys=ON` and a busy timeout, reads each back and refuses to
//!   run if one did not take ([`StoreError::Pragma`]).
//! - Migrations are the numbered files in `firmware/migrations/`, each run
//!   in one `IMMEDIATE` transaction together with its `user_version` bump,
//!   so a crash leaves the old version intact.
//! - A database newer than the code is refused and left untouched
//!   ([`StoreError::SchemaTooNew`]).
//! - A corrupt file is moved aside (`kiosk.db.corrupt-<unix ms>`, with its
//!   `-wal` and `-shm`), never deleted, and a fresh database is created; the
//!   [`OpenReport`] says so, for the audit log and a staff alert.
//! - Every shipped schema is kept as a fixture in
//!   `firmware/tests/fixtures/schema/vNNNN.sql` and upgraded in a test.
//!   Regenerate the fixture of the current version (never edit it by hand)
//!   with `KIOSK_BLESS=1 cargo test -p kiosk-firmware store`; that run still
//!   fails, so the new file is looked at before it is committed.
//!
//! One `IMMEDIATE` transaction per state change ([`Store::write`]).
//!
//! Tables: the audit log and settings (`0001_init.sql`), queue tickets
//! (`0002_queue.sql`, see [`queue`]), the outbox of online requests and
//! their receipts (`0003_outbox.sql`, see [`outbox`]), usage counts per
//! day (`0004_usage.sql`, see [`usage`]), the centre's tickets: the origin
//! of each ticket, offline tickets until the centre acknowledges them, and
//! requests in flight (`0005_centre.sql`, see [`queue`]).
//!
//! [`Store::open_reader`] opens a read-only second connection (the metrics
//! endpoint, `kioskctl stats`) beside the kiosk's own: WAL lets it read
//! while the kiosk writes.

use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use std::path::{Path, PathBuf};

pub mod outbox;
pub mod queue;
pub mod usage;
pub use queue::{CentreNumber, Draw, NewTicket, OfflineDraw, TicketRow};

/// Wall-clock time, passed in by the caller (the store never reads a clock).
pub use crate::time::UnixMillis;

/// One migration.
#[derive(Debug, Clone, Copy)]
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Adding one is one line here and one file.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "queue",
        sql: include_str!("../../migrations/0002_queue.sql"),
    },
    Migration {
        version: 3,
        name: "outbox",
        sql: include_str!("../../migrations/0003_outbox.sql"),
    },
    Migration {
        version: 4,
        name: "usage",
        sql: include_str!("../../migrations/0004_usage.sql"),
    },
    Migration {
        version: 5,
        name: "centre",
        sql: include_str!("../../migrations/0005_centre.sql"),
    },
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = 5;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database was written by a newer firmware. Remedy: install that
    /// firmware again, or move the file away (the kiosk then starts empty).
    /// The file was not changed.
    #[error("the database has schema version {found}, this firmware knows up to {supported}")]
    SchemaTooNew {
        /// The file's version.
        found: u32,
        /// This code's version.
        supported: u32,
    },
    /// A pragma did not take (WAL is impossible on some file systems, e.g.
    /// network mounts). Remedy: put the data directory on a local disk.
    #[error("PRAGMA {name} is {found}, expected {expected}")]
    Pragma {
        /// The pragma.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// The disk is full (SQLITE_FULL). Remedy: free space in the data
    /// directory; nothing was half-written.
    #[error("the disk holding the database is full")]
    DiskFull,
    /// The database is locked by another process for longer than the busy
    /// timeout. Remedy: stop the other kiosk process.
    #[error("the database is locked by another process")]
    Busy,
    /// The file is corrupt and could not be moved aside. Remedy: check the
    /// data directory's permissions.
    #[error("the database file {path} is corrupt and could not be moved aside: {source}")]
    MoveAside {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data directory cannot be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A migration failed; the database stays at the previous version.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// The migration's version.
        version: u32,
        /// Its name.
        name: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A reader found a schema other than its own. Remedy: start the kiosk
    /// (it migrates an older database), or use the matching `kioskctl`.
    #[error("the database has schema version {found}, this reader needs {expected}")]
    SchemaMismatch {
        /// The file's version.
        found: u32,
        /// This code's version.
        expected: u32,
    },
    /// Any other SQLite error.
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// What happened while opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Where a corrupt file was moved, if one was.
    pub moved_aside: Option<PathBuf>,
    /// The schema version found (0: a new database).
    pub migrated_from: u32,
    /// The schema version now.
    pub migrated_to: u32,
}

/// The pragmas as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pragmas {
    /// `journal_mode`.
    pub journal_mode: String,
    /// `synchronous` (2 = FULL).
    pub synchronous: i64,
    /// `foreign_keys`.
    pub foreign_keys: bool,
    /// `busy_timeout` in ms.
    pub busy_timeout_ms: i64,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: UnixMillis,
    /// What kind of event (`journey_ended`, `store_moved_aside`, …).
    pub kind: String,
    /// JSON details, without personal data.
    pub detail: String,
}

/// The database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Opens `path` and reads its version, checking integrity. `Ok(None)`: the
/// file is corrupt.
fn probe(path: &Path) -> Result<Option<u32>, StoreError> {
    let conn = match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(c) => c,
        Err(e) if is_corruption(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let version: Result<u32, _> = conn.query_row("PRAGMA user_version", [], |r| r.get(0));
    let version = match version {
        Ok(v) => v,
        Err(e) if is_corruption(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let check: Result<String, _> = conn.query_row("PRAGMA quick_check", [], |r| r.get(0));
    match check {
        Ok(ok) if ok == "ok" => Ok(Some(version)),
        Ok(_) => Ok(None),
        Err(e) if is_corruption(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn move_aside(path: &Path, now: UnixMillis) -> Result<PathBuf, StoreError> {
    let target = PathBuf::from(format!("{}.corrupt-{}", path.display(), now.0));
    std::fs::rename(path, &target).map_err(|source| StoreError::MoveAside {
        path: path.to_path_buf(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", target.display()));
            std::fs::rename(&side, &to)
                .map_err(|source| StoreError::MoveAside { path: side, source })?;
        }
    }
    Ok(target)
}

fn configure(conn: &Connection) -> Result<Pragmas, StoreError> {
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
    )?;
    let pragmas = read_pragmas(conn)?;
    if !mode.eq_ignore_ascii_case("wal") || !pragmas.journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Pragma {
            name: "journal_mode",
            expected: "wal",
            found: pragmas.journal_mode,
        });
    }
    if pragmas.synchronous != 2 {
        return Err(StoreError::Pragma {
            name: "synchronous",
            expected: "2 (FULL)",
            found: pragmas.synchronous.to_string(),
        });
    }
    if !pragmas.foreign_keys {
        return Err(StoreError::Pragma {
            name: "foreign_keys",
            expected: "1",
            found: "0".into(),
        });
    }
    Ok(pragmas)
}

fn read_pragmas(conn: &Connection) -> Result<Pragmas, StoreError> {
    Ok(Pragmas {
        journal_mode: conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
        synchronous: conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
        foreign_keys: conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))? == 1,
        busy_timeout_ms: conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?,
    })
}

fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the migrations after the current version, each in its own
/// IMMEDIATE transaction with its version bump.
fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<u32, StoreError> {
    let start = user_version(conn)?;
    let mut version = start;
    for m in migrations.iter().filter(|m| m.version > start) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(m.sql)
            .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version = {}", m.version)))
            .map_err(|source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            })?;
        tx.commit()?;
        version = m.version;
    }
    Ok(version)
}

/// The schema as SQL, one statement per line group, sorted: what the
/// fixtures hold.
fn schema_of(conn: &Connection) -> Result<String, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name",
    )?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows.iter().map(|s| format!("{s};\n")).collect())
}

impl Store {
    /// Opens (creating, migrating, or replacing a corrupt file as needed).
    pub fn open(path: &Path, now: UnixMillis) -> Result<(Store, OpenReport), StoreError> {
        Self::open_with(path, now, MIGRATIONS)
    }

    fn open_with(
        path: &Path,
        now: UnixMillis,
        migrations: &[Migration],
    ) -> Result<(Store, OpenReport), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let supported = migrations.last().map_or(0, |m| m.version);
        let mut moved_aside = None;
        if path.exists() {
            match probe(path)? {
                Some(found) if found > supported => {
                    return Err(StoreError::SchemaTooNew { found, supported });
                }
                Some(_) => {}
                None => moved_aside = Some(move_aside(path, now)?),
            }
        }
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        let migrated_from = user_version(&conn)?;
        let migrated_to = migrate(&mut conn, migrations)?;
        Ok((
            Store {
                conn,
                path: path.to_path_buf(),
            },
            OpenReport {
                moved_aside,
                migrated_from,
                migrated_to,
            },
        ))
    }

    /// Opens an existing database read-only, without migrating: for
    /// readers beside the kiosk (the metrics endpoint, `kioskctl stats`).
    /// Refuses a schema other than [`SCHEMA_VERSION`]: an older one is
    /// migrated by the kiosk at its next start, a newer one is not ours.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")?;
        let found = user_version(&conn)?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::SchemaMismatch {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        user_version(&self.conn)
    }

    /// The pragmas, read back now.
    pub fn pragmas(&self) -> Result<Pragmas, StoreError> {
        read_pragmas(&self.conn)
    }

    /// An integrity check (`PRAGMA quick_check`); `Ok(())` when sound.
    pub fn check(&self) -> Result<(), StoreError> {
        let result: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Pragma {
                name: "quick_check",
                expected: "ok",
                found: result,
            })
        }
    }

    /// Runs `f` in one IMMEDIATE transaction, committed when `f` succeeds.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs a read-only query.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.conn)
    }

    /// Appends to the audit log. `detail` must be JSON without personal data.
    pub fn audit(
        &mut self,
        at: UnixMillis,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let at = i64::try_from(at.0).unwrap_or(i64::MAX);
        let detail = detail.to_string();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at_unix_ms, kind, detail) VALUES (?1, ?2, ?3)",
                rusqlite::params![at, kind, detail],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The newest `limit` audit entries, newest first.
    pub fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at_unix_ms, kind, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: UnixMillis(u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)),
                kind: r.get(2)?,
                detail: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A setting.
    pub fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting.
    pub fn kv_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }

    /// The schema as SQL (for fixtures and diagnostics).
    pub fn schema(&self) -> Result<String, StoreError> {
        schema_of(&self.conn)
    }
}

#[cfg(test)]
mod tests;
