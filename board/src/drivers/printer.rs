//! ESC/POS printers on real ports: the USB printer class (`/dev/usb/lp0`),
//! a serial line, or TCP port 9100 ("raw" / JetDirect).
//!
//! The firmware makes every byte; this module moves them and asks the
//! printer for its real-time status with `DLE EOT 1`, `2` and `4`, one byte
//! back each. A printer that answers nothing within the status timeout is
//! off line (or not a bidirectional port).
//!
//! Error mapping ([`PortError::kind`]): a missing device node, a refused or
//! reset connection → `NotPresent`; no answer or a blocked write → `Timeout`;
//! a status byte that is not one → `Protocol`; anything else → `Io`.

use kiosk_firmware::ticket::escpos::{STATUS_QUERIES, parse_status};
use kiosk_hal::printer::{Printer, PrinterStatus};
use kiosk_hal::{ErrorKind, ErrorType};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where a printer is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterPort {
    /// The Linux USB printer class device, e.g. `/dev/usb/lp0`.
    Usb(PathBuf),
    /// A serial line and its speed.
    Serial {
        /// The device, e.g. `/dev/ttyUSB0`.
        path: PathBuf,
        /// Bits per second.
        baud: u32,
    },
    /// A network printer's raw port, `host:9100`.
    Tcp(String),
}

impl FromStr for PrinterPort {
    type Err = String;

    /// `usb:/dev/usb/lp0`, `serial:/dev/ttyUSB0[@115200]`, `tcp:HOST:9100`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (scheme, rest) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: a printer port is usb:PATH, serial:PATH[@BAUD] or tcp:HOST:PORT")
        })?;
        match scheme {
            "usb" if !rest.is_empty() => Ok(PrinterPort::Usb(rest.into())),
            "serial" => {
                let (path, baud) = match rest.split_once('@') {
                    Some((p, b)) => (
                        p,
                        b.parse().map_err(|_| format!("{b:?} is not a baud rate"))?,
                    ),
                    None => (rest, 38_400),
                };
                if path.is_empty() {
                    return Err("serial: needs a device path".into());
                }
                Ok(PrinterPort::Serial {
                    path: path.into(),
                    baud,
                })
            }
            "tcp"
                if rest
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(PrinterPort::Tcp(rest.to_owned()))
            }
            "tcp" => Err(format!(
                "{rest:?}: tcp: needs HOST:PORT, e.g. tcp:192.168.1.50:9100"
            )),
            _ => Err(format!(
                "{scheme:?}: a printer port is usb:, serial: or tcp:"
            )),
        }
    }
}

impl fmt::Display for PrinterPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterPort::Usb(p) => write!(f, "usb:{}", p.display()),
            PrinterPort::Serial { path, baud } => write!(f, "serial:{}@{baud}", path.display()),
            PrinterPort::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// A printer port error.
#[derive(Debug)]
pub struct PortError {
    /// What was being done.
    pub operation: &'static str,
    /// The OS error, or a description.
    pub error: io::Error,
}

impl PortError {
    fn new(operation: &'static str, error: io::Error) -> Self {
        PortError { operation, error }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "printer {}: {}", self.operation, self.error)
    }
}

impl std::error::Error for PortError {}

impl kiosk_hal::Error for PortError {
    fn kind(&self) -> ErrorKind {
        match self.error.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected => ErrorKind::NotPresent,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            io::ErrorKind::ResourceBusy => ErrorKind::Busy,
            _ => ErrorKind::Io,
        }
    }
}

/// A byte link to a printer.
trait Link: Read + Write + Send {
    /// Reads one byte, waiting at most `timeout`.
    fn read_byte(&mut self, timeout: Duration) -> io::Result<u8>;
    /// Drops bytes already waiting (late answers to earlier queries).
    fn discard_input(&mut self);
}

impl Link for TcpStream {
    fn read_byte(&mut self, timeout: Duration) -> io::Result<u8> {
        self.set_read_timeout(Some(timeout))?;
        let mut b = [0u8; 1];
        match self.read(&mut b) {
            Ok(1) => Ok(b[0]),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the printer closed the connection",
            )),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(io::Error::new(io::ErrorKind::TimedOut, "no status answer"))
            }
            Err(e) => Err(e),
        }
    }

    fn discard_input(&mut self) {
        let _ = self.set_nonblocking(true);
        let mut buf = [0u8; 64];
        while matches!(self.read(&mut buf), Ok(n) if n > 0) {}
        let _ = self.set_nonblocking(false);
    }
}

/// A character device (USB printer class) opened non-blocking, so reads
/// can wait with a deadline.
struct DeviceLink(std::fs::File);

impl Read for DeviceLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for DeviceLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Non-blocking: a full printer buffer answers WouldBlock; wait a
        // little for it to drain, up to a bound, then report a timeout.
        for _ in 0..500 {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pause(),
                other => return other,
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the printer does not take data",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn pause() {
    #[expect(
        clippy::disallowed_methods,
        reason = "device driver polling a non-blocking port"
    )]
    std::thread::sleep(Duration::from_millis(10));
}

impl Link for DeviceLink {
    fn read_byte(&mut self, timeout: Duration) -> io::Result<u8> {
        let polls = (timeout.as_millis() / 10).max(1);
        let mut b = [0u8; 1];
        for _ in 0..polls {
            match self.0.read(&mut b) {
                Ok(1) => return Ok(b[0]),
                Ok(_) => pause(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pause(),
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "no status answer"))
    }

    fn discard_input(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.0.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// `O_NONBLOCK` on Linux (the same value on x86_64 and aarch64).
const O_NONBLOCK: i32 = 0o4000;

fn open_device(path: &std::path::Path) -> io::Result<DeviceLink> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map(DeviceLink)
}

fn open_serial(path: &std::path::Path, baud: u32) -> io::Result<DeviceLink> {
    // Set the line to raw 8N1 at `baud` with stty (coreutils), then use it
    // as a character device: no extra C library, no unsafe.
    let status = std::process::Command::new("stty")
        .arg("-F")
        .arg(path)
        .args([
            &baud.to_string(),
            "raw",
            "-echo",
            "cs8",
            "-cstopb",
            "-parenb",
        ])
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "stty could not configure {}",
            path.display()
        )));
    }
    open_device(path)
}

/// How long a network printer may take to accept the connection: the
/// runtime prints synchronously, so an unreachable host must not hold the
/// kiosk for the system's default (minutes).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn connect(addr: &str) -> io::Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("{addr} resolves to nothing"),
    );
    for candidate in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&candidate, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// An ESC/POS printer on a port.
pub struct EscposPrinter {
    port: PrinterPort,
    link: Option<Box<dyn Link>>,
    pending: Vec<u8>,
    status_timeout: Duration,
}

impl fmt::Debug for EscposPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscposPrinter")
            .field("port", &self.port)
            .field("connected", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

impl EscposPrinter {
    /// A printer on `port`; the port is opened at first use and reopened
    /// after a failure (a printer switched off and on again).
    pub fn new(port: PrinterPort) -> Self {
        EscposPrinter {
            port,
            link: None,
            pending: Vec::new(),
            status_timeout: Duration::from_millis(500),
        }
    }

    /// How long to wait for each status byte.
    pub fn with_status_timeout(mut self, timeout: Duration) -> Self {
        self.status_timeout = timeout;
        self
    }

    /// The port.
    pub fn port(&self) -> &PrinterPort {
        &self.port
    }

    fn link(&mut self) -> Result<&mut Box<dyn Link>, PortError> {
        if self.link.is_none() {
            let link: Box<dyn Link> = match &self.port {
                PrinterPort::Usb(path) => {
                    Box::new(open_device(path).map_err(|e| PortError::new("open", e))?)
                }
                PrinterPort::Serial { path, baud } => {
                    Box::new(open_serial(path, *baud).map_err(|e| PortError::new("open", e))?)
                }
                PrinterPort::Tcp(addr) => {
                    let stream = connect(addr).map_err(|e| PortError::new("connect", e))?;
                    stream
                        .set_write_timeout(Some(Duration::from_secs(10)))
                        .map_err(|e| PortError::new("connect", e))?;
                    stream
                        .set_nodelay(true)
                        .map_err(|e| PortError::new("connect", e))?;
                    Box::new(stream)
                }
            };
            self.link = Some(link);
        }
        self.link
            .as_mut()
            .ok_or_else(|| PortError::new("open", io::Error::from(io::ErrorKind::NotConnected)))
    }

    fn fail<T>(&mut self, operation: &'static str, error: io::Error) -> Result<T, PortError> {
        // Reopen next time: the printer may have been power-cycled.
        self.link = None;
        Err(PortError::new(operation, error))
    }
}

impl ErrorType for EscposPrinter {
    type Error = PortError;
}

impl Printer for EscposPrinter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), PortError> {
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PortError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let job = std::mem::take(&mut self.pending);
        let result = self.link().and_then(|link| {
            link.write_all(&job)
                .and_then(|()| link.flush())
                .map_err(|e| PortError::new("write", e))
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                // Keep the job: the caller decides whether to retry.
                self.pending = job;
                self.fail(e.operation, e.error)
            }
        }
    }

    fn status(&mut self) -> Result<PrinterStatus, PortError> {
        let timeout = self.status_timeout;
        let link = self.link()?;
        link.discard_input();
        let mut answers = [0u8; 3];
        for (answer, query) in answers.iter_mut().zip(STATUS_QUERIES) {
            if let Err(e) = link.write_all(&query).and_then(|()| link.flush()) {
                return self.fail("status query", e);
            }
            match link.read_byte(timeout) {
                Ok(b) => *answer = b,
                Err(e) => return self.fail("status answer", e),
            }
        }
        parse_status(answers[0], answers[1], answers[2]).map_err(|e| {
            PortError::new(
                "status answer",
                io::Error::new(io::ErrorKind::InvalidData, e),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hal::Error as _;

    #[test]
    fn ports_parse_from_their_command_line_form() {
        assert_eq!(
            "usb:/dev/usb/lp0".parse(),
            Ok(PrinterPort::Usb("/dev/usb/lp0".into()))
        );
        assert_eq!(
            "serial:/dev/ttyUSB0@115200".parse(),
            Ok(PrinterPort::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 115_200
            })
        );
        assert_eq!(
            "serial:/dev/ttyS0".parse(),
            Ok(PrinterPort::Serial {
                path: "/dev/ttyS0".into(),
                baud: 38_400
            })
        );
        assert_eq!(
            "tcp:127.0.0.1:9100".parse(),
            Ok(PrinterPort::Tcp("127.0.0.1:9100".into()))
        );
        assert!("tcp:printer".parse::<PrinterPort>().is_err());
        assert!("lpt:1".parse::<PrinterPort>().is_err());
        assert!("serial:/dev/ttyS0@fast".parse::<PrinterPort>().is_err());
        assert_eq!(
            "serial:/dev/ttyS0@9600"
                .parse::<PrinterPort>()
                .unwrap()
                .to_string(),
            "serial:/dev/ttyS0@9600"
        );
    }

    #[test]
    fn a_missing_usb_printer_is_not_present() {
        let mut p = EscposPrinter::new(PrinterPort::Usb("/dev/usb/no-such-lp9".into()));
        assert_eq!(p.status().unwrap_err().kind(), ErrorKind::NotPresent);
        p.write(&[0x1B, 0x40]).unwrap();
        assert_eq!(p.flush().unwrap_err().kind(), ErrorKind::NotPresent);
    }

    #[test]
    fn a_refused_network_printer_is_not_present() {
        // Bind and drop to find a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut p = EscposPrinter::new(PrinterPort::Tcp(format!("127.0.0.1:{port}")));
        assert_eq!(p.status().unwrap_err().kind(), ErrorKind::NotPresent);
    }
}
