//! systemd's notification protocol (`sd_notify(3)`): the kiosk says when it
//! is ready, pets the service watchdog from its run loop, and says when it
//! stops. With `Type=notify` and `WatchdogSec=` in the unit, systemd
//! restarts a kiosk whose loop hangs.
//!
//! The protocol is one datagram per message, `KEY=VALUE` lines, sent to the
//! Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace). `$WATCHDOG_USEC` gives the watchdog period; the kiosk pets it
//! at half of that, as systemd recommends. Outside systemd (no
//! `$NOTIFY_SOCKET`) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where notifications go.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
    watchdog: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl Notifier {
    /// The notifier systemd asked for, if any: `$NOTIFY_SOCKET` and
    /// `$WATCHDOG_USEC` (ignored unless `$WATCHDOG_PID` is unset or ours).
    pub fn from_env() -> std::io::Result<Option<Notifier>> {
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let pid_ok = std::env::var("WATCHDOG_PID")
            .map_or(true, |p| p.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|us| *us > 0 && pid_ok)
            .map(Duration::from_micros);
        Notifier::new(&socket.to_string_lossy(), watchdog).map(Some)
    }

    /// A notifier to `socket` (a path, or `@name` for the abstract
    /// namespace) with a watchdog period.
    pub fn new(socket: &str, watchdog: Option<Duration>) -> std::io::Result<Notifier> {
        let target = match socket.strip_prefix('@') {
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            None => Target::Path(PathBuf::from(socket)),
        };
        let socket = UnixDatagram::unbound()?;
        // A notification that cannot go now (the manager's queue full) is
        // an error to log, never a wait: the run loop sends them.
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            socket,
            target,
            watchdog,
        })
    }

    /// How often to pet the watchdog: half its period, if there is one.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    fn send(&self, message: &str) -> std::io::Result<()> {
        match &self.target {
            Target::Path(path) => self.socket.send_to(message.as_bytes(), path).map(drop),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                self.socket
                    .send_to_addr(message.as_bytes(), &addr)
                    .map(drop)
            }
        }
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) -> std::io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// `WATCHDOG=1`: the loop is alive.
    pub fn watchdog(&self) -> std::io::Result<()> {
        self.send("WATCHDOG=1")
    }

    /// `STATUS=...`, shown by `systemctl status` (no personal data).
    pub fn status(&self, status: &str) -> std::io::Result<()> {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> std::io::Result<()> {
        self.send("STOPPING=1")
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(server: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn messages_reach_a_path_socket_as_systemd_expects_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.to_str().unwrap(), Some(Duration::from_secs(30))).unwrap();
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
        n.ready("kiosk KIOSK-1 ready\non sim").unwrap();
        assert_eq!(
            received(&server),
            "READY=1\nSTATUS=kiosk KIOSK-1 ready on sim"
        );
        n.watchdog().unwrap();
        assert_eq!(received(&server), "WATCHDOG=1");
        n.stopping().unwrap();
        assert_eq!(received(&server), "STOPPING=1");
    }

    #[test]
    fn abstract_sockets_are_supported() {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("kiosk-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier::new(&format!("@{name}"), None).unwrap();
        assert_eq!(n.watchdog_interval(), None);
        n.status("idle").unwrap();
        assert_eq!(received(&server), "STATUS=idle");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let n = Notifier::new("/nonexistent/notify", None).unwrap();
        assert!(n.watchdog().is_err());
    }
}
