//! libnfc readers: PN532 boards over UART, I2C or SPI, and PC/SC readers
//! through libnfc's `pcsc` driver.
//!
//! The reader acts as an ISO/IEC 14443-4 initiator: a card is found with a
//! passive-target selection at 106 kbit/s (Type A, which the CCCD is), APDUs
//! go through `nfc_initiator_transceive_bytes`, and presence while connected
//! is libnfc's `nfc_initiator_target_is_present`. Devices are named by a
//! libnfc connection string (`pn532_uart:/dev/ttyS0`, `pn532_i2c:/dev/i2c-1`,
//! `pcsc:<reader name>`).
//!
//! libnfc's `pcsc` driver opens a device only while a card is in the reader
//! (it calls `SCardConnect` in `nfc_open`), and when that fails it leaks its
//! process-wide PC/SC context. So for `pcsc:` devices the backend asks PC/SC
//! itself whether a card is there and opens the libnfc device only then,
//! closing it again when the card leaves. PN532 devices open at start.
//!
//! Error mapping ([`NfcError::kind`]):
//!
//! | libnfc error | kind |
//! | --- | --- |
//! | `NoDeviceFound`, `NoSuchDeviceFound` | `NotPresent` |
//! | `TargetReleased`, `RfTransmissionError` | `Removed` (the card left the field) |
//! | `Timeout` | `Timeout` |
//! | `Io` | `Io` |
//! | `BufferOverflow`, `Chip`, `Soft`, `InvalidArgument` | `Protocol` |
//! | anything else | `Other` |

use crate::drivers::pcsc::{PcscError, PcscReader};
use kiosk_hal::card::{ApduTransport, CardInfo, CardReader, Presence, TransportCapabilities};
use kiosk_hal::{ErrorKind, ErrorType};
use std::fmt;
use std::time::Duration;

/// How long one APDU may take (ICAO practice: seconds, not milliseconds;
/// key agreement on a chip is slow).
pub const APDU_TIMEOUT: Duration = Duration::from_secs(5);

/// A libnfc error, with the operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NfcError {
    /// libnfc failed.
    Nfc {
        /// What the reader was asked to do.
        operation: &'static str,
        /// The library's error.
        error: nfc1::Error,
    },
    /// The PC/SC presence check of a `pcsc:` device failed.
    Pcsc(PcscError),
}

impl NfcError {
    fn new(operation: &'static str, error: nfc1::Error) -> Self {
        NfcError::Nfc { operation, error }
    }
}

impl fmt::Display for NfcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NfcError::Nfc { operation, error } => write!(f, "libnfc {operation} failed: {error}"),
            NfcError::Pcsc(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for NfcError {}

impl kiosk_hal::Error for NfcError {
    fn kind(&self) -> ErrorKind {
        use nfc1::Error as E;
        let error = match self {
            NfcError::Nfc { error, .. } => error,
            NfcError::Pcsc(e) => return e.kind(),
        };
        match error {
            E::NoDeviceFound | E::NoSuchDeviceFound => ErrorKind::NotPresent,
            E::TargetReleased | E::RfTransmissionError => ErrorKind::Removed,
            E::Timeout => ErrorKind::Timeout,
            E::Io => ErrorKind::Io,
            E::BufferOverflow | E::Chip | E::Soft | E::InvalidArgument => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

const TYPE_A_106: nfc1::Modulation = nfc1::Modulation {
    modulation_type: nfc1::ModulationType::Iso14443a,
    baud_rate: nfc1::BaudRate::Baud106,
};

/// The ATR a PC/SC reader would synthesise for an ISO 14443-4 Type A card
/// from its ATS (PC/SC Part 3 §3.1.3.2.3.1): `3B 8n 80 01`, the ATS's
/// historical bytes, and the check byte.
pub fn atr_from_ats(ats: &[u8]) -> Vec<u8> {
    // libnfc keeps the ATS without its length byte TL: T0 first.
    let historical: &[u8] = match ats.split_first() {
        Some((t0, rest)) => {
            let interface = [0x10u8, 0x20, 0x40]
                .iter()
                .filter(|bit| t0 & **bit != 0)
                .count();
            rest.get(interface..).unwrap_or(&[])
        }
        None => &[],
    };
    let historical = &historical[..historical.len().min(15)];
    let n = u8::try_from(historical.len()).unwrap_or(15);
    let mut atr = vec![0x3B, 0x80 | n, 0x80, 0x01];
    atr.extend_from_slice(historical);
    let tck = atr[1..].iter().fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// A libnfc reader and, while connected, the card selected in it.
pub struct NfcReader {
    // Field order matters: the device must be closed before the context.
    device: Option<nfc1::Device>,
    context: nfc1::Context,
    connstring: String,
    /// For `pcsc:` devices: where presence comes from.
    pcsc: Option<PcscReader>,
    target: Option<nfc1::Target>,
    capabilities: TransportCapabilities,
}

impl fmt::Debug for NfcReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NfcReader")
            .field("connstring", &self.connstring)
            .field("open", &self.device.is_some())
            .field("connected", &self.target.is_some())
            .finish_non_exhaustive()
    }
}

impl NfcReader {
    /// Opens the device at `connstring` as an initiator (a `pcsc:` device
    /// opens when a card arrives). `extended_length` says whether the device
    /// passes extended APDUs (PN532: no, its frames hold at most 262 bytes).
    pub fn open(connstring: &str, extended_length: bool) -> Result<NfcReader, NfcError> {
        let context = nfc1::Context::new().map_err(|e| NfcError::new("init", e))?;
        let pcsc = match connstring.strip_prefix("pcsc:") {
            Some(name) => Some(PcscReader::open(name, extended_length).map_err(NfcError::Pcsc)?),
            None => None,
        };
        let mut reader = NfcReader {
            device: None,
            context,
            connstring: connstring.to_owned(),
            pcsc,
            target: None,
            capabilities: if extended_length {
                TransportCapabilities::EXTENDED
            } else {
                TransportCapabilities::SHORT
            },
        };
        if reader.pcsc.is_none() {
            reader.open_device()?;
        }
        Ok(reader)
    }

    /// The connection strings of the devices libnfc finds.
    pub fn list() -> Result<Vec<String>, NfcError> {
        let mut context = nfc1::Context::new().map_err(|e| NfcError::new("init", e))?;
        context
            .list_devices(8)
            .map_err(|e| NfcError::new("list devices", e))
    }

    /// The device's connection string.
    pub fn connstring(&self) -> &str {
        &self.connstring
    }

    fn open_device(&mut self) -> Result<&mut nfc1::Device, NfcError> {
        if self.device.is_none() {
            let mut device = self
                .context
                .open_with_connstring(&self.connstring)
                .map_err(|e| NfcError::new("open", e))?;
            device
                .initiator_init()
                .map_err(|e| NfcError::new("initiator init", e))?;
            self.device = Some(device);
        }
        self.device
            .as_mut()
            .ok_or_else(|| NfcError::new("open", nfc1::Error::NoDeviceFound))
    }

    /// Forgets the card; a `pcsc:` device is closed with it.
    fn release(&mut self) {
        self.target = None;
        if self.pcsc.is_some() {
            self.device = None;
        }
    }
}

impl ErrorType for NfcReader {
    type Error = NfcError;
}

impl CardReader for NfcReader {
    fn presence(&mut self) -> Result<Presence, NfcError> {
        if let Some(pcsc) = self.pcsc.as_mut() {
            let presence = pcsc.presence().map_err(NfcError::Pcsc)?;
            if presence == Presence::Absent {
                self.release();
            }
            return Ok(presence);
        }
        if let (Some(device), Some(target)) = (self.device.as_mut(), self.target.as_ref()) {
            return Ok(match device.initiator_target_is_present(target) {
                Ok(()) => Presence::Present,
                Err(_) => Presence::Absent,
            });
        }
        let device = self.open_device()?;
        match device.initiator_select_passive_target(&TYPE_A_106) {
            Ok(_) => {
                // Only looking: let the card go again.
                let _ = device.initiator_deselect_target();
                Ok(Presence::Present)
            }
            Err(nfc1::Error::Timeout | nfc1::Error::NoDeviceFound | nfc1::Error::Undefined(0)) => {
                Ok(Presence::Absent)
            }
            Err(e) => {
                let err = NfcError::new("poll", e);
                if kiosk_hal::Error::kind(&err) == ErrorKind::Removed {
                    Ok(Presence::Absent)
                } else {
                    Err(err)
                }
            }
        }
    }

    fn connect(&mut self) -> Result<CardInfo, NfcError> {
        self.target = None;
        if let Some(pcsc) = self.pcsc.as_mut()
            && pcsc.presence().map_err(NfcError::Pcsc)? == Presence::Absent
        {
            self.release();
            return Err(NfcError::new("select", nfc1::Error::NoSuchDeviceFound));
        }
        let target = self
            .open_device()?
            .initiator_select_passive_target(&TYPE_A_106)
            .map_err(|e| match e {
                nfc1::Error::Timeout | nfc1::Error::Undefined(0) => {
                    NfcError::new("select", nfc1::Error::NoSuchDeviceFound)
                }
                e => NfcError::new("select", e),
            })?;
        let (atr, uid) = match &target.target_info {
            nfc1::target_info::TargetInfo::Iso14443a(info) => (
                atr_from_ats(info.ats.get(..info.ats_len).unwrap_or(&[])),
                // The anticollision UID of the selected target.
                info.uid
                    .get(..info.uid_len)
                    .filter(|u| !u.is_empty())
                    .map(<[u8]>::to_vec),
            ),
            _ => (atr_from_ats(&[]), None),
        };
        self.target = Some(target);
        Ok(CardInfo { atr, uid })
    }

    fn disconnect(&mut self) -> Result<(), NfcError> {
        if self.target.take().is_some()
            && let Some(device) = self.device.as_mut()
        {
            device
                .initiator_deselect_target()
                .map_err(|e| NfcError::new("deselect", e))?;
        }
        Ok(())
    }
}

impl ApduTransport for NfcReader {
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, NfcError> {
        let (Some(device), Some(_)) = (self.device.as_mut(), self.target.as_ref()) else {
            return Err(NfcError::new("transceive", nfc1::Error::NoSuchDeviceFound));
        };
        let answer = device
            .initiator_transceive_bytes(
                command,
                response.len(),
                nfc1::Timeout::Duration(APDU_TIMEOUT),
            )
            .map_err(|e| NfcError::new("transceive", e))?;
        let out = response
            .get_mut(..answer.len())
            .ok_or_else(|| NfcError::new("transceive", nfc1::Error::BufferOverflow))?;
        out.copy_from_slice(&answer);
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
    fn the_synthesised_atr_carries_the_ats_historical_bytes() {
        // T0 = 0x78: TA1, TB1, TC1 present, FSCI 8; then 3 interface bytes,
        // then historical bytes 80 31 80.
        let ats = [0x78, 0x77, 0x94, 0x02, 0x80, 0x31, 0x80];
        let atr = atr_from_ats(&ats);
        assert_eq!(&atr[..7], &[0x3B, 0x83, 0x80, 0x01, 0x80, 0x31, 0x80]);
        assert_eq!(atr[7], atr[1..7].iter().fold(0, |a, b| a ^ b));
        assert_eq!(atr_from_ats(&[]), vec![0x3B, 0x80, 0x80, 0x01, 0x01]);
    }

    #[test]
    fn libnfc_errors_map_to_the_kinds_the_firmware_reacts_to() {
        let kind = |e| NfcError::new("t", e).kind();
        assert_eq!(kind(nfc1::Error::TargetReleased), ErrorKind::Removed);
        assert_eq!(kind(nfc1::Error::RfTransmissionError), ErrorKind::Removed);
        assert_eq!(kind(nfc1::Error::Timeout), ErrorKind::Timeout);
        assert_eq!(kind(nfc1::Error::NoDeviceFound), ErrorKind::NotPresent);
        assert_eq!(kind(nfc1::Error::Io), ErrorKind::Io);
        assert_eq!(kind(nfc1::Error::Chip), ErrorKind::Protocol);
    }
}
