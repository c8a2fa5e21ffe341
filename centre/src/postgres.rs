//! A private PostgreSQL server for tests, demos and the benchmark: Debian's
//! `postgresql` binaries (`initdb`, `postgres`), a temporary data folder, a
//! unix socket in its own folder, a free TCP port on 127.0.0.1, and no
//! password (trust, local only). Stopped by PID (SIGTERM, then the
//! process is waited for) when dropped.
//!
//! One server per test binary ([`shared`]); each test takes a fresh
//! database from it ([`TempPostgres::create_database`]). The shared server
//! is started from a thread that lives as long as the test process, with
//! `setpriv --pdeathsig SIGINT`, so it stops (fast shutdown) when the test
//! binary exits, however it exits; folders of servers that stopped are
//! swept at the next start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts the server binaries of each major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PgHarnessError {
    /// No `initdb`/`postgres` found. Remedy: `apt-get install postgresql`
    /// (`cargo xtask setup` does), or set `KIOSK_PG_BIN` to the folder.
    #[error(
        "PostgreSQL server binaries not found under {DEBIAN_ROOT}/*/bin or KIOSK_PG_BIN: install the Debian package `postgresql` (cargo xtask setup)"
    )]
    Missing,
    /// A step failed.
    #[error("{step}: {detail}")]
    Step {
        /// What was being done.
        step: &'static str,
        /// What went wrong (the tool's output).
        detail: String,
    },
}

fn step(step: &'static str, detail: impl ToString) -> PgHarnessError {
    PgHarnessError::Step {
        step,
        detail: detail.to_string(),
    }
}

/// The folder holding `initdb` and `postgres`: `KIOSK_PG_BIN`, else the
/// newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin() -> Result<PathBuf, PgHarnessError> {
    if let Some(dir) = std::env::var_os("KIOSK_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(PgHarnessError::Missing)
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .map_err(|_| PgHarnessError::Missing)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .ok_or(PgHarnessError::Missing)
}

/// A running private server.
#[derive(Debug)]
pub struct TempPostgres {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    user: String,
}

fn free_port() -> Result<u16, PgHarnessError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| step("free port", e))?;
    Ok(l.local_addr().map_err(|e| step("free port", e))?.port())
}

impl TempPostgres {
    /// initdb, start, and wait (up to 60 s) until it accepts connections.
    /// Runs as the current user; PostgreSQL refuses root, so as root the
    /// server runs as the `postgres` user Debian's package creates.
    pub fn start() -> Result<TempPostgres, PgHarnessError> {
        let bin = find_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("kiosk-pg-")
            .tempdir()
            .map_err(|e| step("temp folder", e))?;
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock).map_err(|e| step("socket folder", e))?;
        let as_root = nix_is_root();
        if as_root {
            // The data and socket folders must belong to the server's user.
            chown_postgres(dir.path())?;
        }
        let user = if as_root {
            "postgres".to_owned()
        } else {
            std::env::var("USER").unwrap_or_else(|_| "postgres".into())
        };
        let out = command(&bin.join("initdb"), as_root)
            .args(["-A", "trust", "-U", &user, "-E", "UTF8", "--locale=C", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| step("initdb", e))?;
        if !out.status.success() {
            return Err(step("initdb", String::from_utf8_lossy(&out.stderr)));
        }
        let root = dir.path().to_path_buf();
        // The server on `port`, logging into postgres.log (truncated).
        let spawn = |port: u16| -> Result<std::process::Child, PgHarnessError> {
            let log = std::fs::File::create(root.join("postgres.log"))
                .map_err(|e| step("log file", e))?;
            if as_root {
                chown_postgres(&root.join("postgres.log"))?;
            }
            command(&bin.join("postgres"), as_root)
                .arg("-D")
                .arg(&data)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
                .arg(&sock)
                // Tests, not durability: no fsync, small memory.
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "max_connections=60",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| step("postgres", e))
        };
        let port = free_port()?;
        let mut pg = TempPostgres {
            child: Some(spawn(port)?),
            dir,
            port,
            user,
        };
        // Test processes run in parallel: another may take the free port
        // between our asking and the server binding it. Such a server
        // exits ("already in use"); start it again on another port.
        let mut attempt = 1;
        loop {
            match pg.wait_ready(Duration::from_secs(60)) {
                Ok(()) => return Ok(pg),
                Err(_) if attempt < 3 && pg.log().contains("already in use") => {
                    attempt += 1;
                    pg.stop();
                    pg.port = free_port()?;
                    pg.child = Some(spawn(pg.port)?);
                }
                Err(e) => return Err(e),
            }
        }
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "a harness around a real server process waits for it to come up"
    )]
    fn wait_ready(&mut self, limit: Duration) -> Result<(), PgHarnessError> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(step(
                    "postgres exited",
                    format!("{status}; log: {}", self.log()),
                ));
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.socket_path().exists()
            {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(step("postgres did not accept connections", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn socket_path(&self) -> PathBuf {
        self.dir
            .path()
            .join("sock")
            .join(format!(".s.PGSQL.{}", self.port))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// Its TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection string of database `db` (over the unix socket).
    pub fn url(&self, db: &str) -> String {
        format!(
            "host={} port={} user={} dbname={db}",
            self.dir.path().join("sock").display(),
            self.port,
            self.user
        )
    }

    /// Creates an empty database `name` (letters, digits, `_`).
    pub fn create_database(&self, name: &str) -> Result<String, PgHarnessError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(step("create database", format!("bad name {name:?}")));
        }
        let bin = find_bin()?;
        // psql lives in /usr/bin on Debian (postgresql-client); createdb
        // is beside it. Use the server's own single-user-free route: a
        // `createdb` from the same bin folder when present.
        let createdb = [bin.join("createdb"), PathBuf::from("/usr/bin/createdb")]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| step("create database", "no createdb (postgresql-client)"))?;
        // A server still finishing its start-up ("the database system is
        // starting up") or two CREATE DATABASE at once ("source database
        // \"template1\" is being accessed by other users") are transient
        // under a loaded machine: try again for up to 30 s, then report.
        #[expect(
            clippy::disallowed_methods,
            reason = "a harness around a real server process retries a transient refusal"
        )]
        let start = Instant::now();
        loop {
            let out = Command::new(&createdb)
                .args(["-h"])
                .arg(self.dir.path().join("sock"))
                .args(["-p", &self.port.to_string(), "-U", &self.user, name])
                .output()
                .map_err(|e| step("createdb", e))?;
            if out.status.success() {
                return Ok(self.url(name));
            }
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let transient = ["starting up", "being accessed by other users"]
                .iter()
                .any(|t| stderr.contains(t));
            if !transient || start.elapsed() > Duration::from_secs(30) {
                return Err(step("createdb", format!("{stderr}; log: {}", self.log())));
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "a harness around a real server process retries a transient refusal"
            )]
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server (SIGTERM to its PID, then waits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
        }
    }

    /// The folder holding the data, socket and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn nix_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `setpriv` (util-linux) runs `program` with SIGINT as its parent-death
/// signal (the server stops when the thread that started it ends) and, as
/// root, as the postgres user without a login shell.
fn command(program: &Path, as_root: bool) -> Command {
    let mut c = Command::new("setpriv");
    c.arg("--pdeathsig=INT");
    if as_root {
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    c.arg("--").arg(program);
    c
}

/// Removes folders of earlier servers that have stopped (no
/// `postmaster.pid`) and are over two minutes old (initdb takes seconds).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        let ours = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("kiosk-pg-"));
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(120));
        if ours && old && !path.join("data/postmaster.pid").exists() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The server this process shares between its tests: started once, from a
/// thread that never ends, so the parent-death signal fires only when the
/// process exits.
pub fn shared() -> Result<&'static TempPostgres, String> {
    static SHARED: std::sync::OnceLock<Result<TempPostgres, String>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            sweep_stale();
            let (tx, rx) = std::sync::mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name("postgres-keeper".into())
                .spawn(move || {
                    let _ = tx.send(TempPostgres::start().map_err(|e| e.to_string()));
                    loop {
                        std::thread::park();
                    }
                });
            match spawned {
                Ok(_) => rx
                    .recv()
                    .unwrap_or_else(|_| Err("the keeper thread ended".into())),
                Err(e) => Err(format!("cannot start the keeper thread: {e}")),
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn chown_postgres(path: &Path) -> Result<(), PgHarnessError> {
    let user = nix::unistd::User::from_name("postgres")
        .map_err(|e| step("postgres user", e))?
        .ok_or_else(|| {
            step(
                "postgres user",
                "no `postgres` user: install the Debian package `postgresql`",
            )
        })?;
    let walk = |p: &Path| nix::unistd::chown(p, Some(user.uid), Some(user.gid));
    walk(path).map_err(|e| step("chown", e))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| step("chown", e))? {
            let entry = entry.map_err(|e| step("chown", e))?;
            walk(&entry.path()).map_err(|e| step("chown", e))?;
        }
    }
    Ok(())
}
