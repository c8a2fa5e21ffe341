//! A private pcscd for tests, with a vpcd reader on a free port.
//!
//! Debian's pcscd has one socket for the whole machine
//! (`/run/pcscd/pcscd.comm`), so tests that need it take a cross-process
//! lock (they may run in parallel threads or, under nextest, processes),
//! start pcscd in the foreground with their own reader configuration, wait
//! for the vpcd port, and stop it by PID when dropped. When pcscd cannot be
//! started — not installed, or another pcscd owns the socket — the fixture
//! fails with the reason: such a test never passes silently.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The reader name in the generated reader.conf (pcscd appends slot numbers).
pub const READER_NAME: &str = "Kiosk test vpcd";

const SOCKET: &str = "/run/pcscd/pcscd.comm";

/// A running pcscd with a vpcd reader.
#[derive(Debug)]
pub struct Pcscd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    _lock: File,
}

fn free_port_pair() -> Result<u16, String> {
    // vpcd listens on PORT and PORT+1 (two slots); find two free ones.
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = a.local_addr().map_err(|e| e.to_string())?.port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free pair of TCP ports for vpcd".into())
}

fn lock_file() -> Result<File, String> {
    let path = std::env::temp_dir().join("kiosk-tests-pcscd.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

impl Pcscd {
    /// Starts pcscd with one vpcd reader. Blocks until pcscd is ready.
    pub fn start() -> Result<Pcscd, String> {
        let lock = lock_file()?;
        let binary = ["/usr/sbin/pcscd", "/usr/bin/pcscd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .ok_or("pcscd is not installed: run `cargo xtask setup` (Debian package pcscd)")?;
        let driver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
        if !Path::new(driver).exists() {
            return Err(format!(
                "{driver} is missing: run `cargo xtask setup` (Debian package vsmartcard-vpcd)"
            ));
        }
        if std::os::unix::net::UnixStream::connect(SOCKET).is_ok() {
            return Err(format!(
                "another pcscd already answers on {SOCKET}; stop it (systemctl stop pcscd.socket pcscd) so the tests can run their own"
            ));
        }
        let port = free_port_pair()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let conf = dir.path().join("reader.conf.d");
        std::fs::create_dir(&conf).map_err(|e| e.to_string())?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"{READER_NAME}\"\nDEVICENAME   /dev/null:{port}\nLIBPATH      {driver}\nCHANNELID    {port}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let log = File::create(dir.path().join("pcscd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg("--foreground")
            .arg("--config")
            .arg(&conf)
            .arg("--info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let mut pcscd = Pcscd {
            child,
            port,
            dir,
            _lock: lock,
        };
        pcscd.wait_ready()?;
        Ok(pcscd)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("pcscd exited ({status}) at start:\n{}", self.log()));
            }
            if std::os::unix::net::UnixStream::connect(SOCKET).is_ok() {
                return Ok(());
            }
            #[expect(clippy::disallowed_methods, reason = "waiting for another process")]
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "pcscd did not open {SOCKET} within 5 s:\n{}",
            self.log()
        ))
    }

    /// Where a virtual card connects to sit in the reader.
    pub fn vpcd_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("pcscd.log")
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        // Stop by PID; SIGTERM lets pcscd remove its socket and pid file.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..40 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            #[expect(clippy::disallowed_methods, reason = "waiting for another process")]
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
