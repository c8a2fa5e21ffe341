//! The centre's test harness, shared by `tests/centre.rs` and
//! `tests/centre_pages.rs`: one private PostgreSQL per test binary
//! (Debian's `postgresql`), a fresh database per test, and the real
//! `kiosk-centre` binary on a free port, killed by PID.

#![allow(
    clippy::expect_used,
    reason = "test support: a step that cannot run fails the calling test with its message"
)]

use kiosk_centre::demo::DemoLayout;
use kiosk_centre::postgres::TempPostgres;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Monday 7 December 2026, 09:00 in Hà Nội (02:00 UTC).
pub const MONDAY_NINE: &str = "2026-12-07T09:00";
/// The same, in Unix ms.
pub const MONDAY_NINE_MS: u64 = 1_796_608_800_000;

/// This test binary's PostgreSQL server.
pub fn pg() -> &'static TempPostgres {
    kiosk_centre::postgres::shared().unwrap_or_else(|e| {
        panic!("these tests need PostgreSQL (the Debian package `postgresql`): {e}")
    })
}

/// A fresh database; its connection string.
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

/// A binary of this workspace in the target directory of the running test.
pub fn target_dir_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(name))
        .expect("a target directory");
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
        .expect("a free port")
}

/// A `kiosk-centre serve` process on a fixed port, killed by PID.
#[derive(Debug)]
pub struct CentreProcess {
    child: Option<Child>,
    /// Its configuration file.
    pub config: PathBuf,
    /// The API's port (mutual TLS).
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
    /// Writes a demo layout (PKI, configuration, client files, identity
    /// key) into `dir` for `kiosks` kiosks on a fresh database, with the
    /// centre's clock at Monday 09:00, and starts the centre.
    pub fn start_new(dir: &Path, kiosks: usize) -> (CentreProcess, DemoLayout) {
        Self::start_with(dir, kiosks, Some(MONDAY_NINE), false)
    }

    /// The same with the pages listener (a demo staff member and display)
    /// and the clock `clock_start` (`None`: the system's).
    pub fn start_with(
        dir: &Path,
        kiosks: usize,
        clock_start: Option<&str>,
        pages: bool,
    ) -> (CentreProcess, DemoLayout) {
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
        .unwrap_or_else(|e| panic!("demo layout: {e}"));
        kiosk_centre::demo::write_client_files(&layout, &format!("https://127.0.0.1:{port}"))
            .unwrap_or_else(|e| panic!("client files: {e}"));
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

    /// Starts (or restarts) the process and waits until it listens.
    #[expect(
        clippy::disallowed_methods,
        reason = "waits for a real server process to listen"
    )]
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .expect("the centre's log file");
        let mut child = Command::new(target_dir_binary("kiosk-centre"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("KIOSK_LOG", self.log_level)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kiosk-centre starts");
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

    /// SIGKILL by PID: the centre dies mid-day with no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for CentreProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
