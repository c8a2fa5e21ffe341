//! Scripted test doubles, in the manner of embedded-hal-mock.
//!
//! Each double is built from the list of transactions the test expects, in
//! order. A call that does not match the next expectation panics with both
//! sides printed; [`MockCard::done`] (and the others' `done`) panics when
//! expectations are left over. Clones share one script, so a test can hand a
//! clone to the code under test and call `done()` on its own copy.
//!
//! The doubles' error type is [`ErrorKind`] itself.
// A test double reports a broken expectation by panicking, like
// embedded-hal-mock: that is its whole purpose.
#![allow(clippy::panic, clippy::expect_used)]

use crate::camera::{Camera, Frame, FrameFormat};
use crate::card::{ApduTransport, CardInfo, CardReader, Presence, TransportCapabilities};
use crate::printer::{Printer, PrinterStatus};
use crate::speaker::{Speaker, Voice};
use crate::{ErrorKind, ErrorType};
use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

/// A shared queue of expectations.
#[derive(Debug)]
struct Script<T> {
    inner: Arc<Mutex<VecDeque<T>>>,
}

impl<T> Clone for Script<T> {
    fn clone(&self) -> Self {
        Script {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Debug> Script<T> {
    fn new(expectations: impl IntoIterator<Item = T>) -> Self {
        Script {
            inner: Arc::new(Mutex::new(expectations.into_iter().collect())),
        }
    }

    fn next(&self, call: &str) -> T {
        let mut queue = self.inner.lock().expect("mock script lock poisoned");
        match queue.pop_front() {
            Some(t) => t,
            None => panic!("unexpected call {call}: no expectation left"),
        }
    }

    fn done(&self) {
        let queue = self.inner.lock().expect("mock script lock poisoned");
        assert!(
            queue.is_empty(),
            "{} expectation(s) not met: {:?}",
            queue.len(),
            queue
        );
    }
}

/// One expected call on a [`MockCard`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardTransaction {
    /// [`CardReader::presence`] returns this.
    Presence(Result<Presence, ErrorKind>),
    /// [`CardReader::connect`] returns this ATR or error.
    Connect(Result<Vec<u8>, ErrorKind>),
    /// [`CardReader::disconnect`] is called.
    Disconnect,
    /// [`ApduTransport::transmit`] is called with exactly `command` and
    /// answers `response` (data and status word) or fails.
    Transmit {
        /// The command APDU the code under test must send.
        command: Vec<u8>,
        /// The response APDU to give back, or the error.
        response: Result<Vec<u8>, ErrorKind>,
    },
}

impl CardTransaction {
    /// An expected APDU exchange.
    pub fn transmit(command: impl AsRef<[u8]>, response: impl AsRef<[u8]>) -> Self {
        CardTransaction::Transmit {
            command: command.as_ref().to_vec(),
            response: Ok(response.as_ref().to_vec()),
        }
    }

    /// An expected APDU whose transmission fails with `kind`.
    pub fn transmit_error(command: impl AsRef<[u8]>, kind: ErrorKind) -> Self {
        CardTransaction::Transmit {
            command: command.as_ref().to_vec(),
            response: Err(kind),
        }
    }
}

/// A scripted card reader with a card in it: both [`CardReader`] and
/// [`ApduTransport`].
#[derive(Debug, Clone)]
pub struct MockCard {
    script: Script<CardTransaction>,
    capabilities: TransportCapabilities,
}

impl MockCard {
    /// A reader that expects `transactions`, in order.
    pub fn new(transactions: impl IntoIterator<Item = CardTransaction>) -> Self {
        MockCard {
            script: Script::new(transactions),
            capabilities: TransportCapabilities::SHORT,
        }
    }

    /// Declares the transport's limits (short APDUs by default).
    pub fn with_capabilities(mut self, capabilities: TransportCapabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Panics unless every expected transaction happened.
    pub fn done(&self) {
        self.script.done();
    }
}

impl ErrorType for MockCard {
    type Error = ErrorKind;
}

impl CardReader for MockCard {
    fn presence(&mut self) -> Result<Presence, ErrorKind> {
        match self.script.next("presence()") {
            CardTransaction::Presence(r) => r,
            other => panic!("presence() called, expected {other:?}"),
        }
    }

    fn connect(&mut self) -> Result<CardInfo, ErrorKind> {
        match self.script.next("connect()") {
            CardTransaction::Connect(r) => r.map(|atr| CardInfo { atr, uid: None }),
            other => panic!("connect() called, expected {other:?}"),
        }
    }

    fn disconnect(&mut self) -> Result<(), ErrorKind> {
        match self.script.next("disconnect()") {
            CardTransaction::Disconnect => Ok(()),
            other => panic!("disconnect() called, expected {other:?}"),
        }
    }
}

impl ApduTransport for MockCard {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, ErrorKind> {
        let call = format!("transmit({})", hex(command));
        match self.script.next(&call) {
            CardTransaction::Transmit {
                command: expected,
                response: answer,
            } => {
                assert_eq!(
                    hex(command),
                    hex(&expected),
                    "transmit() sent another command than expected"
                );
                let answer = answer?;
                if answer.len() > response.len() {
                    return Err(ErrorKind::Protocol);
                }
                response[..answer.len()].copy_from_slice(&answer);
                Ok(answer.len())
            }
            other => panic!("{call} called, expected {other:?}"),
        }
    }

    fn capabilities(&self) -> TransportCapabilities {
        self.capabilities
    }
}

/// One expected call on a [`MockPrinter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTransaction {
    /// [`Printer::write`] with exactly these bytes, answering the result.
    Write(Vec<u8>, Result<(), ErrorKind>),
    /// [`Printer::flush`], answering the result.
    Flush(Result<(), ErrorKind>),
    /// [`Printer::status`] answers this.
    Status(Result<PrinterStatus, ErrorKind>),
}

/// A scripted printer.
#[derive(Debug, Clone)]
pub struct MockPrinter {
    script: Script<PrinterTransaction>,
}

impl MockPrinter {
    /// A printer that expects `transactions`, in order.
    pub fn new(transactions: impl IntoIterator<Item = PrinterTransaction>) -> Self {
        MockPrinter {
            script: Script::new(transactions),
        }
    }

    /// Panics unless every expected transaction happened.
    pub fn done(&self) {
        self.script.done();
    }
}

impl ErrorType for MockPrinter {
    type Error = ErrorKind;
}

impl Printer for MockPrinter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), ErrorKind> {
        match self.script.next("write()") {
            PrinterTransaction::Write(expected, r) => {
                assert_eq!(hex(bytes), hex(&expected), "write() sent other bytes");
                r
            }
            other => panic!("write({}) called, expected {other:?}", hex(bytes)),
        }
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        match self.script.next("flush()") {
            PrinterTransaction::Flush(r) => r,
            other => panic!("flush() called, expected {other:?}"),
        }
    }

    fn status(&mut self) -> Result<PrinterStatus, ErrorKind> {
        match self.script.next("status()") {
            PrinterTransaction::Status(r) => r,
            other => panic!("status() called, expected {other:?}"),
        }
    }
}

/// One expected call on a [`MockCamera`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraTransaction {
    /// [`Camera::start`] answers this.
    Start(Result<FrameFormat, ErrorKind>),
    /// [`Camera::capture`] delivers this frame or error.
    Capture(Result<Frame, ErrorKind>),
    /// [`Camera::stop`] is called.
    Stop,
}

/// A scripted camera.
#[derive(Debug, Clone)]
pub struct MockCamera {
    script: Script<CameraTransaction>,
}

impl MockCamera {
    /// A camera that expects `transactions`, in order.
    pub fn new(transactions: impl IntoIterator<Item = CameraTransaction>) -> Self {
        MockCamera {
            script: Script::new(transactions),
        }
    }

    /// Panics unless every expected transaction happened.
    pub fn done(&self) {
        self.script.done();
    }
}

impl ErrorType for MockCamera {
    type Error = ErrorKind;
}

impl Camera for MockCamera {
    fn start(&mut self) -> Result<FrameFormat, ErrorKind> {
        match self.script.next("start()") {
            CameraTransaction::Start(r) => r,
            other => panic!("start() called, expected {other:?}"),
        }
    }

    fn capture(&mut self, frame: &mut Frame) -> Result<(), ErrorKind> {
        match self.script.next("capture()") {
            CameraTransaction::Capture(r) => {
                *frame = r?;
                Ok(())
            }
            other => panic!("capture() called, expected {other:?}"),
        }
    }

    fn stop(&mut self) -> Result<(), ErrorKind> {
        match self.script.next("stop()") {
            CameraTransaction::Stop => Ok(()),
            other => panic!("stop() called, expected {other:?}"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_card_answers_scripted_apdus_in_order() {
        let mut card = MockCard::new([
            CardTransaction::Presence(Ok(Presence::Present)),
            CardTransaction::Connect(Ok(vec![0x3B, 0x80])),
            CardTransaction::transmit(
                [0x00, 0x84, 0x00, 0x00, 0x08],
                [1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00],
            ),
            CardTransaction::transmit_error([0x00, 0xB0, 0x00, 0x00, 0x04], ErrorKind::Removed),
            CardTransaction::Disconnect,
        ]);
        let checker = card.clone();
        assert_eq!(card.presence(), Ok(Presence::Present));
        assert_eq!(card.connect().map(|c| c.atr), Ok(vec![0x3B, 0x80]));
        let mut buf = [0u8; 258];
        assert_eq!(
            card.transmit(&[0x00, 0x84, 0x00, 0x00, 0x08], &mut buf),
            Ok(10)
        );
        assert_eq!(&buf[8..10], &[0x90, 0x00]);
        assert_eq!(
            card.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04], &mut buf),
            Err(ErrorKind::Removed)
        );
        assert_eq!(card.disconnect(), Ok(()));
        checker.done();
    }

    #[test]
    #[should_panic(expected = "expectation(s) not met")]
    fn mock_card_done_reports_unmet_expectations() {
        MockCard::new([CardTransaction::Disconnect]).done();
    }

    #[test]
    #[should_panic(expected = "another command than expected")]
    fn mock_card_rejects_an_unexpected_command() {
        let mut card = MockCard::new([CardTransaction::transmit(
            [0x00, 0x84, 0x00, 0x00, 0x08],
            [0x90, 0x00],
        )]);
        let mut buf = [0u8; 16];
        let _ = card.transmit(&[0x00, 0xA4, 0x04, 0x0C], &mut buf);
    }

    #[test]
    fn mock_card_refuses_a_response_larger_than_the_buffer() {
        let mut card = MockCard::new([CardTransaction::transmit([0x00], [0u8; 20])]);
        let mut buf = [0u8; 4];
        assert_eq!(card.transmit(&[0x00], &mut buf), Err(ErrorKind::Protocol));
        card.done();
    }

    #[test]
    fn mock_printer_and_camera_follow_their_scripts() {
        let mut printer = MockPrinter::new([
            PrinterTransaction::Status(Ok(PrinterStatus::READY)),
            PrinterTransaction::Write(vec![0x1B, 0x40], Ok(())),
            PrinterTransaction::Flush(Err(ErrorKind::Timeout)),
        ]);
        assert!(printer.status().map(|s| s.can_print()).unwrap_or(false));
        assert_eq!(printer.write(&[0x1B, 0x40]), Ok(()));
        assert_eq!(printer.flush(), Err(ErrorKind::Timeout));
        printer.done();

        let format = FrameFormat {
            width: 2,
            height: 1,
            pixel_format: crate::camera::PixelFormat::Gray8,
        };
        let frame = Frame {
            width: 2,
            height: 1,
            pixel_format: Some(crate::camera::PixelFormat::Gray8),
            sequence: 0,
            data: vec![10, 20],
        };
        let mut camera = MockCamera::new([
            CameraTransaction::Start(Ok(format)),
            CameraTransaction::Capture(Ok(frame.clone())),
            CameraTransaction::Stop,
        ]);
        assert_eq!(camera.start(), Ok(format));
        let mut got = Frame::default();
        assert_eq!(camera.capture(&mut got), Ok(()));
        assert_eq!(got, frame);
        assert_eq!(camera.stop(), Ok(()));
        camera.done();
    }
}

/// A speaker that records what it was asked to say (no script: speech is
/// checked after the fact with [`MockSpeaker::said`]). Clones share the
/// record.
#[derive(Debug, Clone, Default)]
pub struct MockSpeaker {
    said: Arc<Mutex<Vec<(Voice, String)>>>,
    fail: Option<ErrorKind>,
}

impl MockSpeaker {
    /// A speaker that says everything.
    pub fn new() -> Self {
        MockSpeaker::default()
    }

    /// A speaker whose every `say` fails with `kind`.
    pub fn failing(kind: ErrorKind) -> Self {
        MockSpeaker {
            said: Arc::default(),
            fail: Some(kind),
        }
    }

    /// Everything said so far, in order.
    pub fn said(&self) -> Vec<(Voice, String)> {
        self.said
            .lock()
            .expect("mock speaker lock poisoned")
            .clone()
    }
}

impl ErrorType for MockSpeaker {
    type Error = ErrorKind;
}

impl Speaker for MockSpeaker {
    fn say(&mut self, voice: Voice, text: &str) -> Result<(), ErrorKind> {
        if let Some(kind) = self.fail {
            return Err(kind);
        }
        self.said
            .lock()
            .expect("mock speaker lock poisoned")
            .push((voice, text.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod speaker_tests {
    use super::*;

    #[test]
    fn the_mock_speaker_records_in_order_and_can_fail() {
        let mut s = MockSpeaker::new();
        let record = s.clone();
        s.say(Voice::Vietnamese, "Xin chào").expect("says");
        s.say(Voice::English, "Welcome").expect("says");
        assert_eq!(
            record.said(),
            vec![
                (Voice::Vietnamese, "Xin chào".to_owned()),
                (Voice::English, "Welcome".to_owned())
            ]
        );
        assert_eq!(Voice::Vietnamese.espeak_name(), "vi");
        let mut broken = MockSpeaker::failing(ErrorKind::NotPresent);
        assert_eq!(broken.say(Voice::English, "x"), Err(ErrorKind::NotPresent));
        assert!(broken.said().is_empty());
    }
}
