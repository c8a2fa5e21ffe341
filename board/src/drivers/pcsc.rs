//! PC/SC card readers (ACR1252U and any other CCID reader) through pcscd.
//!
//! PC/SC Part 5 (the `SCard*` API) via the `pcsc` crate over libpcsclite. A
//! reader is chosen by a substring of its name, so a board configuration
//! survives the serial numbers and slot suffixes pcscd appends. The card is
//! opened exclusively (no other process may talk to it mid-read) with
//! whatever protocol the reader negotiates (T=1 for ISO 14443-4 cards).
//!
//! Error mapping ([`PcscError::kind`]):
//!
//! | pcsc error | kind |
//! | --- | --- |
//! | `NoSmartcard` | `NotPresent` |
//! | `RemovedCard`, `ResetCard` | `Removed` (the session on the card is lost) |
//! | `Timeout` | `Timeout` |
//! | `SharingViolation` | `Busy` |
//! | `NoService`, `ServiceStopped`, `NoReadersAvailable`, `ReaderUnavailable`, `UnknownReader` | `NotPresent` |
//! | `CommError`, `ProtoMismatch`, `UnpoweredCard`, `UnresponsiveCard`, `InsufficientBuffer`, `NotTransacted` | `Protocol` |
//! | anything else | `Other` |

use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, Presence, TransportCapabilities};
use kiosk_hal::{ErrorKind, ErrorType};
use std::ffi::{CStr, CString};
use std::fmt;

/// A PC/SC error, with the operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcscError {
    /// What the reader was asked to do.
    pub operation: &'static str,
    /// The library's error.
    pub error: pcsc::Error,
}

impl PcscError {
    fn new(operation: &'static str, error: pcsc::Error) -> Self {
        PcscError { operation, error }
    }
}

impl fmt::Display for PcscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PC/SC {} failed: {}", self.operation, self.error)
    }
}

impl std::error::Error for PcscError {}

impl kiosk_hal::Error for PcscError {
    fn kind(&self) -> ErrorKind {
        use pcsc::Error as E;
        match self.error {
            E::NoSmartcard => ErrorKind::NotPresent,
            E::RemovedCard | E::ResetCard => ErrorKind::Removed,
            E::Timeout => ErrorKind::Timeout,
            E::SharingViolation => ErrorKind::Busy,
            E::NoService
            | E::ServiceStopped
            | E::NoReadersAvailable
            | E::ReaderUnavailable
            | E::UnknownReader => ErrorKind::NotPresent,
            E::CommError
            | E::ProtoMismatch
            | E::UnpoweredCard
            | E::UnresponsiveCard
            | E::InsufficientBuffer
            | E::NotTransacted => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

/// The names of the readers pcscd knows.
pub fn list_readers() -> Result<Vec<String>, PcscError> {
    let ctx =
        pcsc::Context::establish(pcsc::Scope::User).map_err(|e| PcscError::new("establish", e))?;
    reader_names(&ctx)
}

fn reader_names(ctx: &pcsc::Context) -> Result<Vec<String>, PcscError> {
    let mut buf = vec![
        0u8;
        ctx.list_readers_len()
            .map_err(|e| PcscError::new("list readers", e))?
    ];
    let names = match ctx.list_readers(&mut buf) {
        Ok(names) => names.map(|n| n.to_string_lossy().into_owned()).collect(),
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(PcscError::new("list readers", e)),
    };
    Ok(names)
}

/// A PC/SC reader and, while connected, the card in it.
pub struct PcscReader {
    ctx: pcsc::Context,
    name: CString,
    card: Option<pcsc::Card>,
    capabilities: TransportCapabilities,
}

impl fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscReader")
            .field("name", &self.name)
            .field("connected", &self.card.is_some())
            .finish_non_exhaustive()
    }
}

impl PcscReader {
    /// Opens the first reader whose name contains `pattern`. `extended_length`
    /// says whether the reader passes extended APDUs (the ACR1252U does;
    /// many PN532 boards do not).
    pub fn open(pattern: &str, extended_length: bool) -> Result<PcscReader, PcscError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .map_err(|e| PcscError::new("establish", e))?;
        let name = reader_names(&ctx)?
            .into_iter()
            .find(|n| n.contains(pattern))
            .ok_or_else(|| PcscError::new("find reader", pcsc::Error::UnknownReader))?;
        let name = CString::new(name)
            .map_err(|_| PcscError::new("find reader", pcsc::Error::InvalidValue))?;
        Ok(PcscReader {
            ctx,
            name,
            card: None,
            capabilities: if extended_length {
                TransportCapabilities::EXTENDED
            } else {
                TransportCapabilities::SHORT
            },
        })
    }

    /// The reader's full name.
    pub fn name(&self) -> &CStr {
        &self.name
    }
}

impl ErrorType for PcscReader {
    type Error = PcscError;
}

impl CardReader for PcscReader {
    fn presence(&mut self) -> Result<Presence, PcscError> {
        let mut states = [pcsc::ReaderState::new(
            self.name.as_c_str(),
            pcsc::State::UNAWARE,
        )];
        self.ctx
            .get_status_change(std::time::Duration::ZERO, &mut states)
            .map_err(|e| PcscError::new("status", e))?;
        let state = states[0].event_state();
        if state.contains(pcsc::State::UNAVAILABLE) || state.contains(pcsc::State::UNKNOWN) {
            return Err(PcscError::new("status", pcsc::Error::ReaderUnavailable));
        }
        Ok(
            if state.contains(pcsc::State::PRESENT) && !state.contains(pcsc::State::MUTE) {
                Presence::Present
            } else {
                Presence::Absent
            },
        )
    }

    fn connect(&mut self) -> Result<CardInfo, PcscError> {
        // Reconnecting is a fresh activation.
        self.card = None;
        let card = self
            .ctx
            .connect(&self.name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY)
            .map_err(|e| PcscError::new("connect", e))?;
        // SCardStatus reports the ATR on every reader driver; the
        // SCARD_ATTR_ATR_STRING attribute is optional for drivers.
        let atr = card
            .status2_owned()
            .map_err(|e| PcscError::new("read ATR", e))?
            .atr()
            .to_vec();
        // The UID through the reader's GET DATA pseudo-APDU (PC/SC Part 3
        // §3.2.2.1.3: FF CA 00 00 00, answered by the reader, not the
        // card). A reader without it answers 6A81: no UID, no staff card.
        let mut buf = [0u8; 258];
        let uid = match card.transmit(&[0xFF, 0xCA, 0x00, 0x00, 0x00], &mut buf) {
            Ok([uid @ .., 0x90, 0x00]) if !uid.is_empty() => Some(uid.to_vec()),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "the reader gives no UID");
                None
            }
        };
        self.card = Some(card);
        Ok(CardInfo { atr, uid })
    }

    fn disconnect(&mut self) -> Result<(), PcscError> {
        if let Some(card) = self.card.take() {
            card.disconnect(pcsc::Disposition::ResetCard)
                .map_err(|(_, e)| PcscError::new("disconnect", e))?;
        }
        Ok(())
    }
}

impl ApduTransport for PcscReader {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, PcscError> {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| PcscError::new("transmit", pcsc::Error::NoSmartcard))?;
        let answer = card
            .transmit(command, response)
            .map_err(|e| PcscError::new("transmit", e))?;
        Ok(answer.len())
    }

    fn capabilities(&self) -> TransportCapabilities {
        self.capabilities
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hal::Error as _;

    #[test]
    fn pcsc_errors_map_to_the_kinds_the_firmware_reacts_to() {
        let kind = |e| PcscError::new("t", e).kind();
        assert_eq!(kind(pcsc::Error::RemovedCard), ErrorKind::Removed);
        assert_eq!(kind(pcsc::Error::ResetCard), ErrorKind::Removed);
        assert_eq!(kind(pcsc::Error::NoSmartcard), ErrorKind::NotPresent);
        assert_eq!(kind(pcsc::Error::NoService), ErrorKind::NotPresent);
        assert_eq!(kind(pcsc::Error::Timeout), ErrorKind::Timeout);
        assert_eq!(kind(pcsc::Error::SharingViolation), ErrorKind::Busy);
        assert_eq!(kind(pcsc::Error::UnresponsiveCard), ErrorKind::Protocol);
        assert_eq!(kind(pcsc::Error::InternalError), ErrorKind::Other);
    }
}
