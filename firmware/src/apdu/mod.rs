//! ISO/IEC 7816-4 command and response APDUs (§5.1), short and extended.
//!
//! | case | body |
//! | --- | --- |
//! | 1 | — |
//! | 2S | Le (1 byte, `00` = 256) |
//! | 3S | Lc (1 byte, 1–255), data |
//! | 4S | Lc, data, Le (1 byte) |
//! | 2E | `00`, Le (2 bytes, `0000` = 65536) |
//! | 3E | `00`, Lc (2 bytes, 1–65535), data |
//! | 4E | `00`, Lc (2 bytes), data, Le (2 bytes) |
//!
//! [`Command::encode`] picks the short form unless the data or Le need the
//! extended one; [`Command::decode`] reads any case (the virtual chip uses
//! it). Card data is untrusted: decoding never panics.

pub mod tlv;

use core::fmt;

/// A malformed or impossible APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than 4 header bytes (or 2 status bytes for a response).
    #[error("an APDU of {0} bytes is too short")]
    TooShort(usize),
    /// The body does not match any of the seven cases.
    #[error("the APDU body of {0} bytes matches no ISO/IEC 7816-4 case")]
    BadLength(usize),
    /// More than 65535 bytes of command data.
    #[error("{0} bytes of command data exceed 65535")]
    DataTooLong(usize),
    /// Le of 0 or above 65536.
    #[error("Le {0} is outside 1..=65536")]
    BadLe(usize),
}

/// A command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty: no Lc).
    pub data: Vec<u8>,
    /// Expected response length, 1..=65536 (`None`: no Le).
    pub le: Option<usize>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    /// A case 1 command.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// With command data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// With an expected response length (256 or 65536 for "as much as
    /// there is" in the short or extended form).
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Whether the extended form is needed.
    pub fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|le| le > 256)
    }

    /// The header `CLA INS P1 P2`.
    pub fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// Encodes into `out` (appending).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), ApduError> {
        if self.data.len() > 65_535 {
            return Err(ApduError::DataTooLong(self.data.len()));
        }
        if let Some(le) = self.le
            && !(1..=65_536).contains(&le)
        {
            return Err(ApduError::BadLe(le));
        }
        out.extend_from_slice(&self.header());
        let extended = self.is_extended();
        if !self.data.is_empty() {
            if extended {
                out.push(0);
                out.extend_from_slice(
                    &u16::try_from(self.data.len())
                        .unwrap_or(u16::MAX)
                        .to_be_bytes(),
                );
            } else {
                out.push(u8::try_from(self.data.len()).unwrap_or(0));
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            if extended {
                if self.data.is_empty() {
                    out.push(0);
                }
                // 65536 is encoded as 0000.
                out.extend_from_slice(&u16::try_from(le % 65_536).unwrap_or(0).to_be_bytes());
            } else {
                out.push(u8::try_from(le % 256).unwrap_or(0));
            }
        }
        Ok(())
    }

    /// Encodes the command.
    pub fn encode(&self) -> Result<Vec<u8>, ApduError> {
        let mut out = Vec::with_capacity(4 + 3 + self.data.len() + 3);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decodes any of the seven cases.
    pub fn decode(bytes: &[u8]) -> Result<Command, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::TooShort(bytes.len()));
        };
        let mut c = Command::new(*cla, *ins, *p1, *p2);
        let short_le = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let ext = |hi: u8, lo: u8| usize::from(u16::from_be_bytes([hi, lo]));
        match body {
            [] => {}
            [le] => c.le = Some(short_le(*le)),
            [0, hi, lo] => {
                c.le = Some(if ext(*hi, *lo) == 0 {
                    65_536
                } else {
                    ext(*hi, *lo)
                })
            }
            [0, hi, lo, rest @ ..] if ext(*hi, *lo) > 0 => {
                let lc = ext(*hi, *lo);
                if rest.len() == lc {
                    c.data = rest.to_vec();
                } else if rest.len() == lc + 2 {
                    c.data = rest[..lc].to_vec();
                    let le = ext(rest[lc], rest[lc + 1]);
                    c.le = Some(if le == 0 { 65_536 } else { le });
                } else {
                    return Err(ApduError::BadLength(body.len()));
                }
            }
            [lc, rest @ ..] if *lc != 0 => {
                let lc = usize::from(*lc);
                if rest.len() == lc {
                    c.data = rest.to_vec();
                } else if rest.len() == lc + 1 {
                    c.data = rest[..lc].to_vec();
                    c.le = Some(short_le(rest[lc]));
                } else {
                    return Err(ApduError::BadLength(body.len()));
                }
            }
            _ => return Err(ApduError::BadLength(body.len())),
        }
        Ok(c)
    }
}

/// A status word SW1 SW2 (ISO/IEC 7816-4 §5.1.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: normal processing.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// `6282`: end of file reached before reading Le bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// `6300`: verification (authentication) failed.
    pub const VERIFICATION_FAILED: StatusWord = StatusWord(0x6300);
    /// `6700`: wrong length (Lc or Le).
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `6982`: security status not satisfied (access control needed, or
    /// an EAC-protected file such as DG3).
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `6983`: authentication method blocked.
    pub const AUTHENTICATION_BLOCKED: StatusWord = StatusWord(0x6983);
    /// `6984`: reference data not usable.
    pub const REFERENCE_DATA_NOT_USABLE: StatusWord = StatusWord(0x6984);
    /// `6985`: conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `6986`: command not allowed (no current EF).
    pub const COMMAND_NOT_ALLOWED: StatusWord = StatusWord(0x6986);
    /// `6987`: expected secure-messaging data objects missing.
    pub const SM_OBJECTS_MISSING: StatusWord = StatusWord(0x6987);
    /// `6988`: secure-messaging data objects incorrect (wrong MAC).
    pub const SM_OBJECTS_INCORRECT: StatusWord = StatusWord(0x6988);
    /// `6A80`: incorrect parameters in the data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A82`: file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A86`: incorrect P1 P2.
    pub const INCORRECT_P1P2: StatusWord = StatusWord(0x6A86);
    /// `6A88`: referenced data not found.
    pub const DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B00`: wrong parameters (offset beyond the file).
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6B00);
    /// `6D00`: instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E00`: class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// `6F00`: no precise diagnosis.
    pub const UNKNOWN: StatusWord = StatusWord(0x6F00);

    /// From the two bytes.
    pub fn new(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// `9000`.
    pub fn is_success(self) -> bool {
        self == StatusWord::SUCCESS
    }

    /// `61xx`: `xx` more bytes wait for GET RESPONSE (0 = 256 or more).
    pub fn bytes_remaining(self) -> Option<usize> {
        (self.sw1() == 0x61).then(|| {
            if self.sw2() == 0 {
                256
            } else {
                usize::from(self.sw2())
            }
        })
    }

    /// `6Cxx`: wrong Le; `xx` is the exact length (0 = 256).
    pub fn exact_length(self) -> Option<usize> {
        (self.sw1() == 0x6C).then(|| {
            if self.sw2() == 0 {
                256
            } else {
                usize::from(self.sw2())
            }
        })
    }

    /// Whether the chip refused an access key (`6300`, `63Cx`, `6982`
    /// during BAC/PACE): stop and ask again, never retry in a loop.
    pub fn is_authentication_failure(self) -> bool {
        self == StatusWord::VERIFICATION_FAILED
            || self.0 & 0xFFF0 == 0x63C0
            || self == StatusWord::SECURITY_STATUS_NOT_SATISFIED
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// A response APDU, borrowed from the receive buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// The response data.
    pub data: &'a [u8],
    /// The status word.
    pub sw: StatusWord,
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {:?})", self.data.len(), self.sw)
    }
}

impl<'a> Response<'a> {
    /// Splits data and status word.
    pub fn parse(bytes: &'a [u8]) -> Result<Response<'a>, ApduError> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(Response {
                data,
                sw: StatusWord::new(*sw1, *sw2),
            }),
            _ => Err(ApduError::TooShort(bytes.len())),
        }
    }
}

/// Encodes a response (for the card side).
pub fn encode_response(data: &[u8], sw: StatusWord) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(&sw.0.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn the_seven_cases_encode_as_iso_7816_4_says() {
        let c = Command::new(0x00, 0xA4, 0x02, 0x0C);
        assert_eq!(c.encode().unwrap(), hex("00A4020C"));
        assert_eq!(c.clone().with_le(256).encode().unwrap(), hex("00A4020C00"));
        assert_eq!(
            c.clone().with_data(hex("011E")).encode().unwrap(),
            hex("00A4020C02011E")
        );
        assert_eq!(
            c.clone()
                .with_data(hex("011E"))
                .with_le(4)
                .encode()
                .unwrap(),
            hex("00A4020C02011E04")
        );
        assert_eq!(
            c.clone().with_le(65_536).encode().unwrap(),
            hex("00A4020C000000")
        );
        assert_eq!(
            c.clone().with_le(1000).encode().unwrap(),
            hex("00A4020C0003E8")
        );
        let long = vec![0xAB; 300];
        let e = c.clone().with_data(long.clone()).encode().unwrap();
        assert_eq!(&e[..7], &hex("00A4020C00012C"));
        assert_eq!(e.len(), 7 + 300);
        let e = c.with_data(long).with_le(65_536).encode().unwrap();
        assert_eq!(&e[e.len() - 2..], &[0, 0]);
    }

    #[test]
    fn the_icao_select_and_read_binary_decode() {
        // 9303-11 D.4: SELECT EF.COM and READ BINARY of 4 bytes.
        let select = Command::decode(&hex("00A4020C02011E")).unwrap();
        assert_eq!(select.data, hex("011E"));
        assert_eq!(select.le, None);
        let read = Command::decode(&hex("00B0000004")).unwrap();
        assert_eq!(read.le, Some(4));
        assert!(read.data.is_empty());
    }

    #[test]
    fn impossible_lengths_are_errors() {
        assert_eq!(Command::decode(&hex("00A402")), Err(ApduError::TooShort(3)));
        assert_eq!(
            Command::decode(&hex("00A4020C0301")),
            Err(ApduError::BadLength(2))
        );
        assert_eq!(
            Command::decode(&hex("00A4020C0000")),
            Err(ApduError::BadLength(2))
        );
        assert_eq!(
            Command::decode(&hex("00A4020C00000201")),
            Err(ApduError::BadLength(4))
        );
        assert_eq!(
            Command::new(0, 0, 0, 0).with_le(0).encode(),
            Err(ApduError::BadLe(0))
        );
        assert_eq!(
            Command::new(0, 0, 0, 0).with_data(vec![0; 65_536]).encode(),
            Err(ApduError::DataTooLong(65_536))
        );
    }

    #[test]
    fn status_words_classify() {
        assert!(StatusWord::new(0x90, 0x00).is_success());
        assert_eq!(StatusWord(0x6110).bytes_remaining(), Some(16));
        assert_eq!(StatusWord(0x6100).bytes_remaining(), Some(256));
        assert_eq!(StatusWord(0x6CDF).exact_length(), Some(0xDF));
        assert!(StatusWord(0x6300).is_authentication_failure());
        assert!(StatusWord(0x63C2).is_authentication_failure());
        assert!(StatusWord::SECURITY_STATUS_NOT_SATISFIED.is_authentication_failure());
        assert!(!StatusWord::FILE_NOT_FOUND.is_authentication_failure());
        let bytes = hex("60145F019000");
        let r = Response::parse(&bytes).unwrap();
        assert_eq!(r.data, &hex("60145F01")[..]);
        assert_eq!(r.sw, StatusWord::SUCCESS);
        assert_eq!(Response::parse(&[0x90]), Err(ApduError::TooShort(1)));
        assert_eq!(
            encode_response(&[1], StatusWord::END_OF_FILE),
            vec![1, 0x62, 0x82]
        );
    }

    fn command() -> impl Strategy<Value = Command> {
        (
            any::<[u8; 4]>(),
            prop_oneof![
                Just(Vec::new()),
                proptest::collection::vec(any::<u8>(), 1..=255),
                proptest::collection::vec(any::<u8>(), 256..=700),
            ],
            prop_oneof![
                Just(None),
                (1usize..=256).prop_map(Some),
                (257usize..=65_536).prop_map(Some)
            ],
        )
            .prop_map(|(h, data, le)| Command {
                cla: h[0],
                ins: h[1],
                p1: h[2],
                p2: h[3],
                data,
                le,
            })
    }

    proptest! {
        #[test]
        fn every_command_round_trips_through_its_encoding(c in command()) {
            let bytes = c.encode().unwrap();
            prop_assert_eq!(Command::decode(&bytes).unwrap(), c);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Command::decode(&bytes);
            let _ = Response::parse(&bytes);
        }
    }
}
