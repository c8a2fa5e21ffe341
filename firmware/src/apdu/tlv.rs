//! BER-TLV as ISO/IEC 7816-4 §5.2 and ICAO 9303-10 use it: tags of one to
//! three bytes (`5F1F`, `7F61`), definite lengths in short form or long form
//! with up to 4 length bytes. Zero-copy: values borrow the input. Card data
//! is untrusted, so every malformed input is a [`TlvError`], never a panic.

/// A malformed TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The input ends inside a tag, a length or a value.
    #[error("TLV truncated at offset {0}")]
    Truncated(usize),
    /// A tag longer than 3 bytes.
    #[error("TLV tag too long at offset {0}")]
    TagTooLong(usize),
    /// The indefinite length form (`80`) or more than 4 length bytes.
    #[error("unsupported TLV length form at offset {0}")]
    BadLength(usize),
    /// The expected tag is not there.
    #[error("expected tag {expected:X}, found {found:X}")]
    UnexpectedTag {
        /// The tag wanted.
        expected: u32,
        /// The tag found.
        found: u32,
    },
    /// A required tag is missing.
    #[error("tag {0:X} missing")]
    Missing(u32),
}

/// One data object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, its bytes big-endian in a `u32` (`0x5F1F`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
    /// The whole object, tag and length included.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag is constructed (bit 6 of its first byte).
    pub fn is_constructed(&self) -> bool {
        let first = self
            .tag
            .to_be_bytes()
            .into_iter()
            .find(|b| *b != 0)
            .unwrap_or(0);
        first & 0x20 != 0
    }

    /// The objects inside a constructed value.
    pub fn children(&self) -> Iter<'a> {
        Iter::new(self.value)
    }

    /// The first child with `tag`.
    pub fn child(&self, tag: u32) -> Result<Option<Tlv<'a>>, TlvError> {
        find(self.value, tag)
    }

    /// The first child with `tag`, which must be there.
    pub fn require(&self, tag: u32) -> Result<Tlv<'a>, TlvError> {
        self.child(tag)?.ok_or(TlvError::Missing(tag))
    }
}

/// Reads a tag; returns it and its length in bytes.
fn read_tag(input: &[u8], at: usize) -> Result<(u32, usize), TlvError> {
    let first = *input.get(at).ok_or(TlvError::Truncated(at))?;
    let mut tag = u32::from(first);
    let mut len = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(at + len).ok_or(TlvError::Truncated(at + len))?;
            tag = (tag << 8) | u32::from(b);
            len += 1;
            if b & 0x80 == 0 {
                break;
            }
            if len >= 3 {
                return Err(TlvError::TagTooLong(at));
            }
        }
    }
    Ok((tag, len))
}

/// Reads a length; returns it and its size in bytes.
fn read_len(input: &[u8], at: usize) -> Result<(usize, usize), TlvError> {
    let first = *input.get(at).ok_or(TlvError::Truncated(at))?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 4 {
        return Err(TlvError::BadLength(at));
    }
    let bytes = input
        .get(at + 1..at + 1 + n)
        .ok_or(TlvError::Truncated(at + 1))?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok((len, 1 + n))
}

/// Parses the object at the start of `input`; returns it and the rest.
pub fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, tag_len) = read_tag(input, 0)?;
    let (len, len_len) = read_len(input, tag_len)?;
    let start = tag_len + len_len;
    let end = start.checked_add(len).ok_or(TlvError::BadLength(tag_len))?;
    let value = input
        .get(start..end)
        .ok_or(TlvError::Truncated(input.len()))?;
    let raw = input.get(..end).ok_or(TlvError::Truncated(input.len()))?;
    let rest = input.get(end..).ok_or(TlvError::Truncated(input.len()))?;
    Ok((Tlv { tag, value, raw }, rest))
}

/// Parses the object at the start of `input`, which must have `tag`.
pub fn expect(input: &[u8], tag: u32) -> Result<Tlv<'_>, TlvError> {
    let (tlv, _) = parse(input)?;
    if tlv.tag != tag {
        return Err(TlvError::UnexpectedTag {
            expected: tag,
            found: tlv.tag,
        });
    }
    Ok(tlv)
}

/// The whole size of the object whose first bytes are `head` (tag, length
/// and value), once `head` holds its tag and length; `Ok(None)` when more
/// bytes are needed to tell. How a reader learns a file's size from its
/// first 4–6 bytes.
pub fn total_len(head: &[u8]) -> Result<Option<usize>, TlvError> {
    let (_, tag_len) = match read_tag(head, 0) {
        Ok(t) => t,
        Err(TlvError::Truncated(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    match read_len(head, tag_len) {
        Ok((len, len_len)) => Ok(Some(tag_len + len_len + len)),
        Err(TlvError::Truncated(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The objects of a sequence, in order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Iter<'a> {
    /// Iterates over the objects in `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Iter {
            rest: input,
            failed: false,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match parse(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The first object with `tag` in the sequence `input`.
pub fn find(input: &[u8], tag: u32) -> Result<Option<Tlv<'_>>, TlvError> {
    for tlv in Iter::new(input) {
        let tlv = tlv?;
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
    }
    Ok(None)
}

/// Appends a length in the shortest definite form.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    let bytes = (len as u64).to_be_bytes();
    match len {
        0..=0x7F => out.push(bytes[7]),
        0x80..=0xFF => out.extend_from_slice(&[0x81, bytes[7]]),
        0x100..=0xFFFF => out.extend_from_slice(&[0x82, bytes[6], bytes[7]]),
        0x1_0000..=0xFF_FFFF => out.extend_from_slice(&[0x83, bytes[5], bytes[6], bytes[7]]),
        _ => out.extend_from_slice(&[0x84, bytes[4], bytes[5], bytes[6], bytes[7]]),
    }
}

/// Appends a tag.
pub fn encode_tag(tag: u32, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends a whole object.
pub fn encode(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    encode_tag(tag, out);
    encode_len(value.len(), out);
    out.extend_from_slice(value);
}

/// A whole object as a new vector.
pub fn to_vec(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode(tag, value, &mut out);
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
    fn ef_com_of_the_icao_example_parses() {
        // 9303-11 D.4: EF.COM = 60 14 5F01 04 "0106" 5F36 06 "040000" 5C 02 61 75
        let com = hex("60145F0104303130365F36063034303030305C026175");
        let (tlv, rest) = parse(&com).unwrap();
        assert!(rest.is_empty());
        assert_eq!(tlv.tag, 0x60);
        assert!(tlv.is_constructed());
        let tags: Vec<u32> = tlv.children().map(|c| c.unwrap().tag).collect();
        assert_eq!(tags, [0x5F01, 0x5F36, 0x5C]);
        assert_eq!(tlv.require(0x5C).unwrap().value, &[0x61, 0x75]);
        assert_eq!(tlv.child(0x77).unwrap(), None);
        assert_eq!(tlv.require(0x77), Err(TlvError::Missing(0x77)));
    }

    #[test]
    fn the_total_length_is_known_from_the_first_bytes() {
        assert_eq!(total_len(&hex("6016")), Ok(Some(0x18)));
        assert_eq!(total_len(&hex("758201A6")), Ok(Some(4 + 0x1A6)));
        assert_eq!(total_len(&hex("7F61")), Ok(None));
        assert_eq!(total_len(&hex("7582")), Ok(None));
        assert_eq!(total_len(&hex("7585")), Err(TlvError::BadLength(1)));
        assert_eq!(total_len(&hex("77830100FF")), Ok(Some(5 + 0x100FF)));
    }

    #[test]
    fn malformed_objects_are_errors() {
        assert_eq!(parse(&hex("6105AABB")), Err(TlvError::Truncated(4)));
        assert_eq!(parse(&hex("6180")), Err(TlvError::BadLength(1)));
        assert_eq!(parse(&hex("5F")), Err(TlvError::Truncated(1)));
        assert_eq!(parse(&hex("5F818101")), Err(TlvError::TagTooLong(0)));
        assert_eq!(
            expect(&hex("6100"), 0x77),
            Err(TlvError::UnexpectedTag {
                expected: 0x77,
                found: 0x61
            })
        );
        let bytes = hex("0101AA02");
        let mut it = Iter::new(&bytes);
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none(), "stops after an error");
    }

    #[test]
    fn lengths_encode_in_the_shortest_form() {
        let enc = |n| {
            let mut v = Vec::new();
            encode_len(n, &mut v);
            v
        };
        assert_eq!(enc(0x7F), hex("7F"));
        assert_eq!(enc(0x80), hex("8180"));
        assert_eq!(enc(0x1A6), hex("8201A6"));
        assert_eq!(enc(0x10000), hex("83010000"));
        assert_eq!(to_vec(0x5F1F, b"A"), hex("5F1F0141"));
        assert_eq!(to_vec(0x7F61, &[]), hex("7F6100"));
    }

    fn tag() -> impl Strategy<Value = u32> {
        prop_oneof![
            (0u32..=0xFF).prop_filter("one-byte tag", |t| t & 0x1F != 0x1F),
            (0x00u32..=0x7F).prop_map(|b| 0x5F00 | b),
            (0x00u32..=0x7F).prop_map(|b| 0x7F00 | b),
            (0x80u32..=0xFF, 0u32..=0x7F).prop_map(|(a, b)| 0x9F_0000 | (a << 8) | b),
        ]
    }

    proptest! {
        #[test]
        fn objects_round_trip(t in tag(), value in proptest::collection::vec(any::<u8>(), 0..700)) {
            let bytes = to_vec(t, &value);
            let (tlv, rest) = parse(&bytes).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(tlv.tag, t);
            prop_assert_eq!(tlv.value, &value[..]);
            prop_assert_eq!(total_len(&bytes[..bytes.len().min(6)]).unwrap(), Some(bytes.len()));
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
            let _ = total_len(&bytes);
            for _ in Iter::new(&bytes) {}
        }
    }
}
