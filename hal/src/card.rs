//! The contactless card reader and the APDU exchange with the card in it.
//!
//! ISO/IEC 7816-4 §5.1 (command-response pairs) and ISO/IEC 14443-4 (the
//! contactless transmission protocol) are below this trait: a transport moves
//! whole APDUs. Parsing, status words, chaining and secure messaging are the
//! firmware's job (`kiosk_firmware::apdu`).

use crate::ErrorType;

/// Whether a card is in the reader's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// No card in the field.
    Absent,
    /// A card is in the field (it may or may not be connected yet).
    Present,
}

/// What the reader learnt when it activated the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// The answer to reset as the reader reports it. For contactless cards
    /// PC/SC readers synthesise an ATR from the ATS (PC/SC Part 3 §3.1.3.2.3),
    /// whose historical bytes may carry the card capabilities (ISO/IEC 7816-4
    /// §8.1.1.2.7), among them extended-length support.
    pub atr: Vec<u8>,
    /// The card's UID (ISO/IEC 14443-3 anticollision: 4, 7 or 10 bytes),
    /// when the reader reports it; `None` when it cannot (or the backend
    /// does not ask). Staff mode compares it with an allow-list. A UID is
    /// sent in clear and can be cloned, so it identifies a card only
    /// weakly; eMRTD chips (the CCCD) answer with a random UID (`08` and
    /// three random bytes) at every activation.
    pub uid: Option<Vec<u8>>,
}

/// Limits of an APDU transport, so the firmware can size its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportCapabilities {
    /// Whether the reader and its driver pass extended-length APDUs
    /// (ISO/IEC 7816-4 §5.1, Lc and Le on up to 3 bytes). Whether the *card*
    /// supports them is a separate question the firmware answers from the card.
    pub extended_length: bool,
    /// The longest command APDU the transport accepts, in bytes.
    pub max_command_len: usize,
    /// The longest response APDU (data and the two status bytes) the
    /// transport can return, in bytes.
    pub max_response_len: usize,
}

impl TransportCapabilities {
    /// Short APDUs only: 5 + 255 + 1 bytes of command, 256 + 2 of response.
    pub const SHORT: TransportCapabilities = TransportCapabilities {
        extended_length: false,
        max_command_len: 261,
        max_response_len: 258,
    };

    /// Extended APDUs: 7 + 65535 + 3 bytes of command, 65536 + 2 of response.
    pub const EXTENDED: TransportCapabilities = TransportCapabilities {
        extended_length: true,
        max_command_len: 65_545,
        max_response_len: 65_538,
    };
}

impl Default for TransportCapabilities {
    fn default() -> Self {
        TransportCapabilities::SHORT
    }
}

/// A reader slot in which citizens place their card.
///
/// The runtime polls [`CardReader::presence`] and connects when a card
/// arrives; APDUs then go through the same device's [`ApduTransport`].
pub trait CardReader: ErrorType {
    /// Reports whether a card is in the field, without blocking (at most a
    /// few milliseconds of driver work). Called by the runtime at its poll
    /// rate; must not disturb a connected card.
    ///
    /// Errors: [`crate::ErrorKind::NotPresent`] when the reader itself is
    /// gone (unplugged), [`crate::ErrorKind::Io`] for an OS failure.
    fn presence(&mut self) -> Result<Presence, Self::Error>;

    /// Activates the card in the field and opens an exclusive session with
    /// it. Calling it while already connected reconnects (a fresh activation,
    /// which also ends any secure-messaging session on the card).
    ///
    /// Errors: [`crate::ErrorKind::NotPresent`] when no card is in the field,
    /// [`crate::ErrorKind::Busy`] when another process holds the card,
    /// [`crate::ErrorKind::Protocol`] when the card does not activate.
    fn connect(&mut self) -> Result<CardInfo, Self::Error>;

    /// Ends the session with the card and powers it down. Idempotent: with
    /// no card or no session it returns `Ok(())`.
    fn disconnect(&mut self) -> Result<(), Self::Error>;
}

/// Exchanges whole APDUs with the connected card.
pub trait ApduTransport: ErrorType {
    /// Sends one complete command APDU and writes the complete response APDU
    /// (data followed by SW1 SW2) into `response`, returning its length.
    ///
    /// Contract:
    /// - `command` is a well-formed command APDU within
    ///   [`TransportCapabilities::max_command_len`]; the transport does not
    ///   interpret it (no secure messaging, no `61xx`/`6Cxx` handling: the
    ///   firmware does that).
    /// - `response` is at least [`TransportCapabilities::max_response_len`]
    ///   long, or as long as the caller's Le asks for plus two; a response that
    ///   does not fit is an [`crate::ErrorKind::Protocol`] error, never a
    ///   truncation.
    /// - The call blocks until the card answers or the transport's own
    ///   timeout (seconds, not milliseconds: chips compute slowly during key
    ///   agreement) expires, which is an [`crate::ErrorKind::Timeout`].
    /// - A card leaving the field gives [`crate::ErrorKind::Removed`].
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error>;

    /// The limits of this transport. Constant for the life of the device.
    fn capabilities(&self) -> TransportCapabilities {
        TransportCapabilities::SHORT
    }
}

impl<T: CardReader + ?Sized> CardReader for &mut T {
    fn presence(&mut self) -> Result<Presence, Self::Error> {
        T::presence(self)
    }
    fn connect(&mut self) -> Result<CardInfo, Self::Error> {
        T::connect(self)
    }
    fn disconnect(&mut self) -> Result<(), Self::Error> {
        T::disconnect(self)
    }
}

impl<T: ApduTransport + ?Sized> ApduTransport for &mut T {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        T::transmit(self, command, response)
    }
    fn capabilities(&self) -> TransportCapabilities {
        T::capabilities(self)
    }
}
