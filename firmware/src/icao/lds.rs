//! The Logical Data Structure (ICAO 9303-10): file identifiers, EF.COM,
//! DG1 (MRZ) and DG2 (face image, ISO/IEC 19794-5 inside the biometric
//! template), parsed from untrusted chip data without panicking.

use super::mrz::{Mrz, MrzError};
use crate::apdu::tlv::{self, TlvError};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The eMRTD application identifier.
pub const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// A file of the eMRTD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum File {
    /// EF.CardAccess (in the master file; PACE parameters).
    CardAccess,
    /// EF.COM.
    Com,
    /// EF.SOD.
    Sod,
    /// A data group, 1–16.
    Dg(u8),
}

impl File {
    /// The file identifier.
    pub fn fid(self) -> u16 {
        match self {
            File::CardAccess => 0x011C,
            File::Com => 0x011E,
            File::Sod => 0x011D,
            File::Dg(n) => 0x0100 | u16::from(n),
        }
    }

    /// The short file identifier (for READ BINARY with P1 = 80 | SFI).
    pub fn sfi(self) -> u8 {
        match self {
            File::CardAccess => 0x1C,
            File::Com => 0x1E,
            File::Sod => 0x1D,
            File::Dg(n) => n,
        }
    }

    /// The outer tag of the file's content.
    pub fn tag(self) -> Option<u32> {
        match self {
            File::CardAccess => Some(0x31),
            File::Com => Some(0x60),
            File::Sod => Some(0x77),
            File::Dg(n) => dg_tag(n),
        }
    }

    /// From a file identifier.
    pub fn from_fid(fid: u16) -> Option<File> {
        match fid {
            0x011C => Some(File::CardAccess),
            0x011E => Some(File::Com),
            0x011D => Some(File::Sod),
            0x0101..=0x0110 => Some(File::Dg(u8::try_from(fid & 0xFF).ok()?)),
            _ => None,
        }
    }

    /// From a short file identifier.
    pub fn from_sfi(sfi: u8) -> Option<File> {
        match sfi {
            0x1C => Some(File::CardAccess),
            0x1E => Some(File::Com),
            0x1D => Some(File::Sod),
            1..=16 => Some(File::Dg(sfi)),
            _ => None,
        }
    }
}

impl core::fmt::Display for File {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            File::CardAccess => f.write_str("EF.CardAccess"),
            File::Com => f.write_str("EF.COM"),
            File::Sod => f.write_str("EF.SOD"),
            File::Dg(n) => write!(f, "DG{n}"),
        }
    }
}

/// The outer tag of data group `n` (9303-10 Table 33).
pub fn dg_tag(n: u8) -> Option<u32> {
    Some(match n {
        1 => 0x61,
        2 => 0x75,
        3 => 0x63,
        4 => 0x76,
        5 => 0x65,
        6 => 0x66,
        7 => 0x67,
        8 => 0x68,
        9 => 0x69,
        10 => 0x6A,
        11 => 0x6B,
        12 => 0x6C,
        13 => 0x6D,
        14 => 0x6E,
        15 => 0x6F,
        16 => 0x70,
        _ => return None,
    })
}

fn dg_of_tag(tag: u8) -> Option<u8> {
    (1..=16).find(|n| dg_tag(*n) == Some(u32::from(tag)))
}

/// A data group or file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdsError {
    /// The TLV structure is broken.
    #[error("{file}: {source}")]
    Tlv {
        /// The file.
        file: &'static str,
        /// The TLV error.
        source: TlvError,
    },
    /// DG1's MRZ is invalid.
    #[error("DG1: {0}")]
    Mrz(#[from] MrzError),
    /// DG2 has no face image, or its record header is wrong.
    #[error("DG2: {0}")]
    Face(&'static str),
}

fn tlv_err(file: &'static str) -> impl Fn(TlvError) -> LdsError {
    move |source| LdsError::Tlv { file, source }
}

/// EF.COM: LDS and Unicode versions and the data groups present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Com {
    /// LDS version, e.g. `0107`.
    pub lds_version: String,
    /// Unicode version, e.g. `040000`.
    pub unicode_version: String,
    /// Data groups present, in the order listed.
    pub data_groups: Vec<u8>,
}

impl Com {
    /// Parses EF.COM.
    pub fn parse(bytes: &[u8]) -> Result<Com, LdsError> {
        let e = tlv_err("EF.COM");
        let com = tlv::expect(bytes, 0x60).map_err(&e)?;
        let text = |tag| -> Result<String, LdsError> {
            Ok(com
                .child(tag)
                .map_err(&e)?
                .map(|t| String::from_utf8_lossy(t.value).into_owned())
                .unwrap_or_default())
        };
        Ok(Com {
            lds_version: text(0x5F01)?,
            unicode_version: text(0x5F36)?,
            data_groups: com
                .require(0x5C)
                .map_err(&e)?
                .value
                .iter()
                .filter_map(|t| dg_of_tag(*t))
                .collect(),
        })
    }

    /// Encodes EF.COM (for the virtual chip).
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = tlv::to_vec(0x5F01, self.lds_version.as_bytes());
        tlv::encode(0x5F36, self.unicode_version.as_bytes(), &mut inner);
        let tags: Vec<u8> = self
            .data_groups
            .iter()
            .filter_map(|n| dg_tag(*n).and_then(|t| u8::try_from(t).ok()))
            .collect();
        tlv::encode(0x5C, &tags, &mut inner);
        tlv::to_vec(0x60, &inner)
    }
}

/// DG1: the MRZ.
pub fn parse_dg1(bytes: &[u8]) -> Result<Mrz, LdsError> {
    let e = tlv_err("DG1");
    let dg1 = tlv::expect(bytes, 0x61).map_err(&e)?;
    let mrz = dg1.require(0x5F1F).map_err(&e)?;
    Ok(Mrz::parse(&String::from_utf8_lossy(mrz.value))?)
}

/// Encodes DG1 from the MRZ text (lines joined).
pub fn encode_dg1(mrz: &str) -> Vec<u8> {
    let joined: String = mrz.chars().filter(|c| !c.is_whitespace()).collect();
    tlv::to_vec(0x61, &tlv::to_vec(0x5F1F, joined.as_bytes()))
}

/// The encoding of a face image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// JPEG (ISO/IEC 10918).
    Jpeg,
    /// JPEG 2000 (ISO/IEC 15444), JP2 file or raw codestream.
    Jpeg2000,
    /// An image data type this reader does not know.
    Unknown(u8),
}

/// The face image of DG2. Personal data: zeroized on drop, never written
/// to disk.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct FaceImage {
    /// Encoding, from the image information block (and the image's magic).
    #[zeroize(skip)]
    pub format: ImageFormat,
    /// Width in pixels, as the record says.
    pub width: u16,
    /// Height in pixels, as the record says.
    pub height: u16,
    /// The encoded image.
    pub data: Vec<u8>,
}

impl core::fmt::Debug for FaceImage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FaceImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .finish()
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// DG2: the first face image (9303-10 §4.7.2, ISO/IEC 19794-5:2005).
pub fn parse_dg2(bytes: &[u8]) -> Result<FaceImage, LdsError> {
    let e = tlv_err("DG2");
    let dg2 = tlv::expect(bytes, 0x75).map_err(&e)?;
    let group = dg2.require(0x7F61).map_err(&e)?;
    let template = group.require(0x7F60).map_err(&e)?;
    let block = match template.child(0x5F2E).map_err(&e)? {
        Some(b) => b,
        None => template.require(0x7F2E).map_err(&e)?,
    };
    let record = block.value;
    if record.get(..4) != Some(b"FAC\0") {
        return Err(LdsError::Face(
            "the biometric data block is not a facial record (FAC)",
        ));
    }
    if be16(record, 12) == Some(0) {
        return Err(LdsError::Face("the facial record holds no face"));
    }
    // Facial information block after the 14-byte record header.
    let info = 14;
    let block_len =
        be32(record, info).ok_or(LdsError::Face("truncated facial information"))? as usize;
    let feature_points =
        usize::from(be16(record, info + 4).ok_or(LdsError::Face("truncated facial information"))?);
    let image_info = info + 20 + 8 * feature_points;
    let image_type = *record
        .get(image_info + 1)
        .ok_or(LdsError::Face("truncated image information"))?;
    let width =
        be16(record, image_info + 2).ok_or(LdsError::Face("truncated image information"))?;
    let height =
        be16(record, image_info + 4).ok_or(LdsError::Face("truncated image information"))?;
    let image_start = image_info + 12;
    let image_end = (info + block_len).min(record.len());
    let data = record
        .get(image_start..image_end)
        .filter(|d| !d.is_empty())
        .ok_or(LdsError::Face("the face image is empty or out of bounds"))?;
    let format = match (image_type, data) {
        (_, [0xFF, 0xD8, ..]) => ImageFormat::Jpeg,
        (_, [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, ..] | [0xFF, 0x4F, 0xFF, 0x51, ..]) => {
            ImageFormat::Jpeg2000
        }
        (0, _) => ImageFormat::Jpeg,
        (1, _) => ImageFormat::Jpeg2000,
        (t, _) => ImageFormat::Unknown(t),
    };
    Ok(FaceImage {
        format,
        width,
        height,
        data: data.to_vec(),
    })
}

/// Encodes DG2 with one face image (for the virtual chip).
pub fn encode_dg2(image: &[u8], jpeg2000: bool, width: u16, height: u16) -> Vec<u8> {
    let mut record = Vec::with_capacity(image.len() + 46);
    let block_len = u32::try_from(20 + 12 + image.len()).unwrap_or(u32::MAX);
    let record_len = 14 + block_len;
    // Format identifier "FAC\0", version "010\0".
    record.extend_from_slice(b"FAC\x00010\x00");
    record.extend_from_slice(&record_len.to_be_bytes());
    record.extend_from_slice(&1u16.to_be_bytes());
    // Facial information: length, no feature points, gender/eye/hair
    // unspecified, property mask, expression, pose, pose uncertainty.
    record.extend_from_slice(&block_len.to_be_bytes());
    record.extend_from_slice(&0u16.to_be_bytes());
    record.extend_from_slice(&[0; 14]);
    // Image information: full frontal, data type, size, colour space,
    // source type, device type, quality.
    record.push(1);
    record.push(u8::from(jpeg2000));
    record.extend_from_slice(&width.to_be_bytes());
    record.extend_from_slice(&height.to_be_bytes());
    record.extend_from_slice(&[1, 2, 0, 0, 0, 0]);
    record.extend_from_slice(image);
    let mut header = tlv::to_vec(0x80, &[0x01, 0x01]);
    tlv::encode(0x87, &[0x01, 0x01], &mut header);
    tlv::encode(0x88, &[0x00, 0x08], &mut header);
    let mut template = tlv::to_vec(0xA1, &header);
    tlv::encode(0x5F2E, &record, &mut template);
    let mut group = tlv::to_vec(0x02, &[1]);
    tlv::encode(0x7F60, &template, &mut group);
    tlv::to_vec(0x75, &tlv::to_vec(0x7F61, &group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ef_com_of_the_icao_example_lists_dg1_and_dg2() {
        let com = Com::parse(&hex::decode("60145F0104303130365F36063034303030305C026175").unwrap())
            .unwrap();
        assert_eq!(com.lds_version, "0106");
        assert_eq!(com.unicode_version, "040000");
        assert_eq!(com.data_groups, vec![1, 2]);
        assert_eq!(Com::parse(&com.encode()).unwrap(), com);
    }

    #[test]
    fn file_identifiers_follow_9303_10() {
        assert_eq!(File::Dg(13).fid(), 0x010D);
        assert_eq!(File::Dg(13).tag(), Some(0x6D));
        assert_eq!(File::Com.sfi(), 0x1E);
        assert_eq!(File::from_fid(0x011C), Some(File::CardAccess));
        assert_eq!(File::from_sfi(2), Some(File::Dg(2)));
        assert_eq!(File::from_fid(0x3F00), None);
    }

    #[test]
    fn dg1_carries_the_vietnamese_id_mrz() {
        let mrz = "IDVNM0900000018003090000001<<1\n9001158M3001156VNM<<<<<<<<<<<0\nNGUYEN<<VAN<MAU<<<<<<<<<<<<<<<";
        let parsed = parse_dg1(&encode_dg1(mrz)).unwrap();
        assert_eq!(parsed.document_number, "090000001");
    }

    #[test]
    fn dg2_round_trips_a_jpeg_and_a_jpeg2000() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
        let face = parse_dg2(&encode_dg2(&jpeg, false, 480, 640)).unwrap();
        assert_eq!(face.format, ImageFormat::Jpeg);
        assert_eq!((face.width, face.height), (480, 640));
        assert_eq!(face.data, jpeg);
        let j2k = [0xFF, 0x4F, 0xFF, 0x51, 9, 9];
        assert_eq!(
            parse_dg2(&encode_dg2(&j2k, true, 10, 10)).unwrap().format,
            ImageFormat::Jpeg2000
        );
        let jp2 = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20];
        assert_eq!(
            parse_dg2(&encode_dg2(&jp2, true, 10, 10)).unwrap().format,
            ImageFormat::Jpeg2000
        );
        assert_eq!(
            format!("{face:?}"),
            "FaceImage { format: Jpeg, width: 480, height: 640, bytes: 9 }"
        );
    }

    #[test]
    fn a_dg2_without_a_facial_record_is_refused() {
        let mut dg2 = encode_dg2(&[0xFF, 0xD8], false, 1, 1);
        let at = dg2.windows(4).position(|w| w == b"FAC\0").unwrap();
        dg2[at] = b'X';
        assert!(matches!(parse_dg2(&dg2), Err(LdsError::Face(_))));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Com::parse(&bytes);
            let _ = parse_dg1(&bytes);
            let _ = parse_dg2(&bytes);
        }

        #[test]
        fn a_damaged_dg2_never_panics(cut in 0usize..200, flip in 0usize..200) {
            let mut dg2 = encode_dg2(&[0xFF, 0xD8, 0xFF, 0xE0, 7, 7, 7, 7], false, 4, 4);
            let flip = flip % dg2.len();
            dg2[flip] ^= 0x5A;
            dg2.truncate(dg2.len().saturating_sub(cut % 20));
            let _ = parse_dg2(&dg2);
        }
    }
}
