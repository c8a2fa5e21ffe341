//! A simulated card behind real pcscd, through vsmartcard's `vpcd` driver.
//!
//! `vpcd` is a PC/SC reader driver that listens on a TCP port (35963 by
//! default) for a virtual card to connect. The card side speaks a small
//! framing, each message a 2-byte big-endian length and its bytes:
//!
//! | from vpcd | meaning | card answers |
//! | --- | --- | --- |
//! | 1 byte `00` | power off | nothing |
//! | 1 byte `01` | power on | nothing |
//! | 1 byte `02` | reset | nothing |
//! | 1 byte `04` | get ATR | the ATR, framed |
//! | ≥ 4 bytes | a command APDU | the response APDU, framed |
//!
//! Closing the connection takes the card out of the reader. With this, the
//! `pcsc` and `nfc1` backends are tested in CI through the real pcscd with
//! no hardware (DESIGN.md §5), and testers can put a simulated card behind
//! any PC/SC application (`kioskctl card emulate`).

use crate::simulator::SimCard;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// vpcd's default port.
pub const DEFAULT_PORT: u16 = 35963;

/// One message from vpcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Field off.
    PowerOff,
    /// Field on.
    PowerOn,
    /// Warm reset.
    Reset,
    /// The reader asks for the ATR.
    GetAtr,
    /// A command APDU.
    Apdu(Vec<u8>),
}

/// A vpcd framing violation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A 1-byte message with a control code vpcd does not define.
    #[error("unknown vpcd control code {0:#04x}")]
    UnknownControl(u8),
    /// A message of 0, 2 or 3 bytes: neither a control code nor an APDU.
    #[error("vpcd message of {0} bytes is neither a control code nor an APDU")]
    BadLength(usize),
}

impl Message {
    /// Decodes the payload of one frame.
    pub fn decode(payload: &[u8]) -> Result<Message, FrameError> {
        match payload {
            [0x00] => Ok(Message::PowerOff),
            [0x01] => Ok(Message::PowerOn),
            [0x02] => Ok(Message::Reset),
            [0x04] => Ok(Message::GetAtr),
            [code] => Err(FrameError::UnknownControl(*code)),
            p if p.len() >= 4 => Ok(Message::Apdu(p.to_vec())),
            p => Err(FrameError::BadLength(p.len())),
        }
    }
}

/// Frames `payload` for vpcd.
pub fn frame(payload: &[u8]) -> io::Result<Vec<u8>> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "vpcd frames carry at most 65535 bytes",
        )
    })?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// The card's answer to a message, if it answers.
pub fn answer(card: &mut dyn SimCard, message: &Message) -> Option<Vec<u8>> {
    match message {
        Message::PowerOff => None,
        Message::PowerOn | Message::Reset => {
            card.reset();
            None
        }
        Message::GetAtr => Some(card.atr()),
        Message::Apdu(apdu) => Some(card.process(apdu)),
    }
}

/// Reads exactly `buf.len()` bytes, polling `stop` between read timeouts.
/// `Ok(false)` when the peer closed the connection before the first byte.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "vpcd closed mid-frame",
                ));
            }
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Serves `card` on a connected stream until vpcd closes it or `stop` is set.
/// Returns the number of APDUs answered.
pub fn serve(stream: &mut TcpStream, card: &mut dyn SimCard, stop: &AtomicBool) -> io::Result<u64> {
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    stream.set_nodelay(true)?;
    let mut apdus = 0;
    loop {
        let mut len = [0u8; 2];
        match read_full(stream, &mut len, stop) {
            Ok(true) => {}
            Ok(false) => return Ok(apdus),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(apdus),
            Err(e) => return Err(e),
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match read_full(stream, &mut payload, stop) {
            Ok(true) => {}
            Ok(false) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "vpcd closed mid-frame",
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(apdus),
            Err(e) => return Err(e),
        }
        let message =
            Message::decode(&payload).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if matches!(message, Message::Apdu(_)) {
            apdus += 1;
        }
        if let Some(reply) = answer(card, &message) {
            stream.write_all(&frame(&reply)?)?;
        }
    }
}

/// A card placed in a vpcd reader, served on its own thread. Dropping it (or
/// [`VpcdCard::remove`]) takes the card out of the reader.
#[derive(Debug)]
pub struct VpcdCard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<u64>>>,
}

impl VpcdCard {
    /// Connects `card` to the vpcd reader listening at `addr`, retrying for
    /// up to `wait` while pcscd starts up (the driver opens its port only
    /// once pcscd has loaded it).
    pub fn insert(
        addr: SocketAddr,
        card: Box<dyn SimCard>,
        wait: Duration,
    ) -> io::Result<VpcdCard> {
        VpcdCard::insert_until(addr, card, wait, Arc::new(AtomicBool::new(false)))
    }

    /// As [`VpcdCard::insert`], and the card also leaves the reader when
    /// `stop` is set by someone else (a signal handler: `kioskctl card
    /// emulate` stops on SIGTERM and reports the APDUs it answered).
    pub fn insert_until(
        addr: SocketAddr,
        card: Box<dyn SimCard>,
        wait: Duration,
        stop: Arc<AtomicBool>,
    ) -> io::Result<VpcdCard> {
        let mut stream = connect_retrying(addr, wait)?;
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vpcd-card".into())
            .spawn(move || {
                let mut card = card;
                let served = serve(&mut stream, card.as_mut(), &flag);
                // Closing the socket is what tells vpcd the card is gone.
                let _ = stream.shutdown(std::net::Shutdown::Both);
                served
            })?;
        Ok(VpcdCard {
            stop,
            thread: Some(thread),
        })
    }

    /// Takes the card out of the reader; returns the APDUs it answered.
    pub fn remove(mut self) -> io::Result<u64> {
        self.stop_thread()
    }

    /// Serves until vpcd closes the connection or the stop flag is set
    /// (for `kioskctl card emulate`); returns the APDUs answered.
    pub fn wait(mut self) -> io::Result<u64> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the vpcd card thread panicked"))?,
            None => Ok(0),
        }
    }

    fn stop_thread(&mut self) -> io::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the vpcd card thread panicked"))?,
            None => Ok(0),
        }
    }
}

impl Drop for VpcdCard {
    fn drop(&mut self) {
        let _ = self.stop_thread();
    }
}

/// Connects to `addr`, retrying on "refused" for up to `wait`.
pub fn connect_retrying(addr: SocketAddr, wait: Duration) -> io::Result<TcpStream> {
    let attempts = (wait.as_millis() / 50).max(1);
    let mut last = None;
    for _ in 0..attempts {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        // Waiting for another process's port: a blocking pause is the point
        // here, and this is device I/O code, not a state machine.
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for pcscd to open its port"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "vpcd did not open its port")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::ForeignCard;
    use std::net::TcpListener;

    #[test]
    fn control_codes_and_apdus_decode() {
        assert_eq!(Message::decode(&[0x00]), Ok(Message::PowerOff));
        assert_eq!(Message::decode(&[0x01]), Ok(Message::PowerOn));
        assert_eq!(Message::decode(&[0x02]), Ok(Message::Reset));
        assert_eq!(Message::decode(&[0x04]), Ok(Message::GetAtr));
        assert_eq!(Message::decode(&[0x03]), Err(FrameError::UnknownControl(3)));
        assert_eq!(
            Message::decode(&[0x00, 0xA4]),
            Err(FrameError::BadLength(2))
        );
        assert_eq!(
            Message::decode(&[0x00, 0x84, 0x00, 0x00, 0x08]),
            Ok(Message::Apdu(vec![0x00, 0x84, 0x00, 0x00, 0x08]))
        );
    }

    #[test]
    fn frames_are_length_prefixed_big_endian() {
        assert_eq!(frame(&[0x90, 0x00]).unwrap(), vec![0x00, 0x02, 0x90, 0x00]);
        assert!(frame(&vec![0u8; 70_000]).is_err());
    }

    /// Plays vpcd's side over a real socket.
    #[test]
    fn a_card_answers_vpcd_over_tcp_and_leaves_when_removed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let card = VpcdCard::insert(addr, Box::new(ForeignCard), Duration::from_secs(2)).unwrap();
        let (mut vpcd, _) = listener.accept().unwrap();
        vpcd.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let read_frame = |vpcd: &mut TcpStream| {
            let mut len = [0u8; 2];
            vpcd.read_exact(&mut len).unwrap();
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            vpcd.read_exact(&mut body).unwrap();
            body
        };
        vpcd.write_all(&frame(&[0x01]).unwrap()).unwrap();
        vpcd.write_all(&frame(&[0x04]).unwrap()).unwrap();
        assert_eq!(read_frame(&mut vpcd), ForeignCard.atr());
        let select = [
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
        ];
        vpcd.write_all(&frame(&select).unwrap()).unwrap();
        assert_eq!(read_frame(&mut vpcd), vec![0x6A, 0x82]);
        assert_eq!(card.remove().unwrap(), 1);
        let mut rest = Vec::new();
        assert_eq!(
            vpcd.read_to_end(&mut rest).unwrap(),
            0,
            "the card closed the connection"
        );
    }
}
