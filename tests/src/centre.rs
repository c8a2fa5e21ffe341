//! The centre's side of the end-to-end tests: a private PostgreSQL (Debian's
//! `postgresql`, one server per test binary, a fresh database per test)
//! and the real `kiosk-centre serve` process on a demo layout (PKI,
//! configuration, one `[centre]` client file per kiosk), killed by PID and
//! started again, with or without its pages listener. Used by
//! `tests/centre.rs` (the centre's queue), `tests/centre_kiosk.rs` (the
//! kiosk runtime numbering through it) and `tests/centre_pages.rs` (the
//! counter and display pages).

use kiosk_centre::postgres::TempPostgres;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Monday 7 December 2026, 09:00 in Hà Nội (02:00 UTC).
pub const MONDAY_NINE: &str = "2026-12-07T09:00";
/// [`MONDAY_NINE`] in Unix ms.
pub const MONDAY_NINE_MS: u64 = 1_796_608_800_000;
/// A minute in ms.
pub const MINUTE: u64 = 60_000;

/// The test binary's PostgreSQL server.
pub fn pg() -> &'static TempPostgres {
    kiosk_centre::postgres::shared().unwrap_or_else(|e| {
        panic!("these tests need PostgreSQL (the Debian package `postgresql`): {e}")
    })
}

/// A fresh database on [`pg`]; its connection string.
pub fn fresh_db() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    pg().create_database(&name)
        .unwrap_or_else(|e| panic!("createdb: {e}"))
}

/// A binary of the workspace beside the test binary (`target/<profile>/`).
pub fn target_dir_binary(name: &str) -> PathBuf {
    let path = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(Path::parent)
                .map(|dir| dir.join(name))
        })
        .unwrap_or_else(|| panic!("no target directory for {name}"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p kiosk-centre -p kiosk-board --bins` (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A `kiosk-centre serve` process on a fixed port, killed by PID.
#[derive(Debug)]
pub struct CentreProcess {
    child: Option<Child>,
    /// The centre's configuration file.
    pub config: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The pages' port, if started with them.
    pub pages_port: Option<u16>,
    /// Its database's connection string.
    pub db_url: String,
    /// Its `KIOSK_LOG` filter (`info` with the pages: every line they
    /// log is checked for personal data).
    pub log_level: &'static str,
}

impl CentreProcess {
    /// Writes a demo layout (PKI, configuration, client files) into `dir`
    /// for `kiosks` kiosks on a fresh database, with the centre's clock at
    /// Monday 09:00, and starts the centre.
    pub fn start_new(dir: &Path, kiosks: usize) -> (CentreProcess, kiosk_centre::demo::DemoLayout) {
        Self::start_with(dir, kiosks, Some(MONDAY_NINE), false)
    }

    /// The same with the pages listener (a demo staff member and display)
    /// if `pages`, and the clock `clock_start` (`None`: the system's).
    pub fn start_with(
        dir: &Path,
        kiosks: usize,
        clock_start: Option<&str>,
        pages: bool,
    ) -> (CentreProcess, kiosk_centre::demo::DemoLayout) {
        let url = fresh_db();
        let port = free_port();
        let pages_port = pages.then(free_port);
        let layout = kiosk_centre::demo::write_layout(
            dir,
            &url,
            &format!("127.0.0.1:{port}"),
            kiosks,
            clock_start,
            pages_port.map(|p| format!("127.0.0.1:{p}")).as_deref(),
        )
        .unwrap_or_else(|e| panic!("the demo layout: {e:#}"));
        kiosk_centre::demo::write_client_files(&layout, &format!("https://127.0.0.1:{port}"))
            .unwrap_or_else(|e| panic!("the client files: {e:#}"));
        let mut p = CentreProcess {
            child: None,
            config: layout.config.clone(),
            port,
            pages_port,
            db_url: url,
            log_level: if pages { "info" } else { "warn" },
        };
        p.start();
        (p, layout)
    }

    /// Starts the centre (again) and waits until it listens.
    #[expect(
        clippy::disallowed_methods,
        reason = "waits for a real server process to listen"
    )]
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .unwrap_or_else(|e| panic!("the centre's log: {e}"));
        let mut child = Command::new(target_dir_binary("kiosk-centre"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("KIOSK_LOG", self.log_level)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start kiosk-centre: {e}"));
        let ports: Vec<u16> = std::iter::once(self.port).chain(self.pages_port).collect();
        for _ in 0..600 {
            if ports
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
            {
                self.child = Some(child);
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "kiosk-centre exited: {status}\n{}",
                    std::fs::read_to_string(self.log_file()).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("kiosk-centre did not listen on {ports:?}");
    }

    /// The centre's log (stderr).
    pub fn log_file(&self) -> PathBuf {
        self.config.with_file_name("centre.log")
    }

    /// SIGKILL: the centre dies mid-day with no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.wait();
        }
    }
}

impl Drop for CentreProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `[centre]` section of a client file.
pub fn centre_section(file: &Path) -> kiosk_board::config::CentreSection {
    kiosk_board::config::load_centre_section(file)
        .unwrap_or_else(|e| panic!("the client file {}: {e}", file.display()))
}

/// A client of the centre from a client file.
pub fn client(file: &Path) -> kiosk_board::online::centre::CentreClient {
    kiosk_board::online::centre::CentreClient::new(&centre_section(file).endpoint)
        .unwrap_or_else(|e| panic!("the centre client: {e}"))
}
