//! The test kit (feature `testkit`): a virtual CCCD chip and the card
//! profiles it is built from, for the simulator board and the tests.
//!
//! A profile is a TOML file: the citizen's data as DG13 states it
//! (Vietnamese text exact), the protocols the chip offers, the photo, and
//! optional faults. The MRZ (DG1) is derived from the citizen as the CCCD
//! writes it (reference icao-cccd.md §B.2): document number = the ID's
//! last 9 digits, the full ID in the optional data, names unaccented.

pub mod chip;
pub mod pki;

use crate::apdu::StatusWord;
use crate::cccd::date::Date;
use crate::cccd::dg13::{self, Citizen};
use crate::icao::lds::{self, Com, File};
use crate::icao::mrz::check_digit;
use crate::icao::pa::HashAlgorithm;
use crate::icao::pace::{Curve, ID_PACE, PaceCipher, PaceInfo};
use chip::{
    AaKey, CaKey, ChipConfig, ExtendedRefusal, Hostile, NonceFault, PaceRefusal, VirtualChip,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML is invalid or has unknown fields.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A field's value is unusable.
    #[error("{path}: `{field}` {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// Access control the chip offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// PACE (CAN and MRZ passwords) on `[chip] pace_curve` with
    /// `pace_cipher` (brainpoolP256r1, AES-128 by default).
    Pace,
    /// Basic Access Control.
    Bac,
}

/// A card profile as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardProfile {
    /// The chip.
    pub chip: ChipSection,
    /// The citizen, as DG13 states it.
    pub citizen: CitizenSection,
    /// Faults to inject (forged and cloned chips).
    #[serde(default)]
    pub faults: FaultsSection,
}

/// `[faults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsSection {
    /// EF.SOD states a wrong hash for this data group (altered data).
    pub tampered_dg: Option<u8>,
    /// EF.SOD is signed by a PKI outside the simulator's trust list.
    #[serde(default)]
    pub unknown_signer: bool,
    /// EF.SOD is signed by a Document Signer whose certificate names the
    /// simulator's CSCA as its issuer but was signed by another key (a
    /// forger's CSCA of the same name): unanchored where no CSCA is
    /// configured, a failed chain where the real one is.
    #[serde(default)]
    pub forged_csca: bool,
    /// No EF.SOD on the chip.
    #[serde(default)]
    pub no_sod: bool,
    /// The simulator's CSCA rolled its key over: the Document Signer is
    /// signed by the new key, which only the link certificate connects to
    /// the old, trusted CSCA.
    #[serde(default)]
    pub rolled_over_csca: bool,
    /// The Document Signer certificate is a CA certificate.
    #[serde(default)]
    pub signer_is_ca: bool,
    /// The Document Signer has the serial number the simulator CSCA's CRL
    /// (`board/sim/crl/`) revokes.
    #[serde(default)]
    pub revoked_signer: bool,
    /// The Document Signer certificate's keyUsage lacks digitalSignature.
    #[serde(default)]
    pub signer_without_digital_signature: bool,
    /// The chip answers Active Authentication with another key than DG15's:
    /// the data was copied onto another chip.
    #[serde(default)]
    pub cloned_aa: bool,
    /// The chip holds another Chip Authentication key than DG14's.
    #[serde(default)]
    pub cloned_ca: bool,
    /// Data groups the chip refuses with `6982` (security status not
    /// satisfied) though EF.COM and EF.SOD list them, e.g. `[2, 14, 15]`.
    #[serde(default)]
    pub refuse_6982: Vec<u8>,
    /// Data groups the chip refuses with `6A82` (file not found) though
    /// EF.COM and EF.SOD list them.
    #[serde(default)]
    pub refuse_6a82: Vec<u8>,
    /// Data groups EF.COM leaves out (EF.SOD still lists them: EF.COM is
    /// not signed).
    #[serde(default)]
    pub com_omits: Vec<u8>,
    /// A data group whose READ BINARY answers get `99 02 6982` appended
    /// after the MAC (an RF relay turning a real file into "refused").
    pub status_after_mac: Option<u8>,
    /// A data group whose READ BINARY answers carry the cryptogram `87`
    /// twice, under a valid MAC.
    pub duplicate_87: Option<u8>,
    /// A data group whose READ BINARY answers lack the status `99`, under
    /// a valid MAC.
    pub missing_99: Option<u8>,
    /// A bad PACE nonce: `"empty"`, `"short"` (8 bytes) or `"zero"` (s = 0).
    pub pace_nonce: Option<NonceFault>,
    /// A data group whose header declares another length, e.g.
    /// `{ dg = 2, bytes = 4294967295 }` (4 GiB).
    pub declared_length: Option<DeclaredLength>,
    /// READ BINARY answers carry at most this many bytes (a chip dripping
    /// its files a byte at a time).
    pub drip: Option<usize>,
    /// The chip stops answering after serving this many file bytes (the
    /// reader's transmit times out).
    pub stall_after: Option<usize>,
    /// Active Authentication answers sign another challenge (a wrong
    /// signature, RSA or ECDSA).
    #[serde(default)]
    pub aa_wrong_signature: bool,
    /// EF.SOD is signed by a Document Signer certificate that signs itself
    /// (no CSCA at all).
    #[serde(default)]
    pub self_signed_signer: bool,
    /// EF.SOD is signed by the simulator's CSCA's Document Signer whose
    /// certificate expired on 2020-12-31.
    #[serde(default)]
    pub expired_signer: bool,
    /// READ BINARY by short file identifier is refused with this status,
    /// e.g. `0x6A82` (a chip that reads only the selected file).
    pub sfi_refused: Option<u16>,
    /// Extended-length APDUs are refused though the ATR offers them:
    /// `"wrong_length"` (`6700`), `"wrong_le"` (`6C00`) or `"transport"`
    /// (no answer).
    pub extended_refused: Option<ExtendedRefusal>,
    /// A READ BINARY asking for more bytes than are left is answered
    /// `6Cxx` (xx: the bytes left).
    #[serde(default)]
    pub exact_le: bool,
    /// Answers come as over T=0: `61xx`, then GET RESPONSE.
    #[serde(default)]
    pub get_response: bool,
    /// SELECT of the eMRTD application is taken only with this P2 (`0x0C`
    /// or `0x00`).
    pub select_aid_p2: Option<u8>,
    /// No EF.CardAccess (PACE is then not offered to the reader).
    #[serde(default)]
    pub no_card_access: bool,
    /// PACE is refused: `"mse"` (MSE:Set AT `6A80`) or
    /// `"general_authenticate"` (`6985`).
    pub pace_refused: Option<PaceRefusal>,
    /// Once, after serving this many file bytes, a READ BINARY gets no
    /// answer (a transport glitch) and the chip's session is lost.
    pub glitch_after: Option<usize>,
}

/// `[faults] declared_length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredLength {
    /// The data group.
    pub dg: u8,
    /// The length its header declares (at most 4 294 967 295).
    pub bytes: u32,
}

impl FaultsSection {
    /// The chip rules these faults script (those that act when the chip
    /// answers; `tampered_dg`, `unknown_signer`, `no_sod`, `cloned_*` and
    /// `com_omits` change what the chip holds instead).
    pub fn hostile(&self) -> Vec<Hostile> {
        let mut rules = Vec::new();
        for (groups, sw) in [
            (&self.refuse_6982, StatusWord::SECURITY_STATUS_NOT_SATISFIED),
            (&self.refuse_6a82, StatusWord::FILE_NOT_FOUND),
        ] {
            rules.extend(groups.iter().map(|n| Hostile::Refuse {
                file: File::Dg(*n),
                sw,
            }));
        }
        if let Some(n) = self.status_after_mac {
            rules.push(Hostile::AppendAfterMac {
                file: File::Dg(n),
                bytes: vec![0x99, 0x02, 0x69, 0x82],
            });
        }
        if let Some(n) = self.duplicate_87 {
            rules.push(Hostile::DuplicateCryptogram { file: File::Dg(n) });
        }
        if let Some(n) = self.missing_99 {
            rules.push(Hostile::OmitStatus { file: File::Dg(n) });
        }
        if let Some(fault) = self.pace_nonce {
            rules.push(Hostile::PaceNonce(fault));
        }
        if let Some(d) = self.declared_length {
            rules.push(Hostile::DeclaredLength {
                file: File::Dg(d.dg),
                length: d.bytes,
            });
        }
        if let Some(max) = self.drip {
            rules.push(Hostile::Drip { max });
        }
        if let Some(bytes) = self.stall_after {
            rules.push(Hostile::StallAfter { bytes });
        }
        if self.aa_wrong_signature {
            rules.push(Hostile::AaWrongSignature);
        }
        if let Some(sw) = self.sfi_refused {
            rules.push(Hostile::RefuseSfi { sw: StatusWord(sw) });
        }
        if let Some(refusal) = self.extended_refused {
            rules.push(Hostile::RefuseExtended(refusal));
        }
        if self.exact_le {
            rules.push(Hostile::ExactLe);
        }
        if self.get_response {
            rules.push(Hostile::GetResponse);
        }
        if let Some(p2) = self.select_aid_p2 {
            rules.push(Hostile::SelectAidP2(p2));
        }
        if let Some(refusal) = self.pace_refused {
            rules.push(Hostile::RefusePace(refusal));
        }
        if let Some(bytes) = self.glitch_after {
            rules.push(Hostile::GlitchAfter { bytes });
        }
        rules
    }
}

/// The Active Authentication key a chip holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AaAlgorithm {
    /// ECDSA on P-256 (DG14 names ecdsa-plain-SHA256).
    #[default]
    Ecdsa,
    /// RSA-1024 with ISO/IEC 9796-2 (the test kit's fixed key,
    /// `testkit/aa-rsa-1024.p8.der`).
    Rsa,
}

/// The test kit's RSA Active Authentication key (PKCS #8 DER, made once by
/// `openssl genrsa 1024 | openssl pkcs8 -topk8 -nocrypt -outform DER`).
const RSA_AA_KEY: &[u8] = include_bytes!("aa-rsa-1024.p8.der");

/// `[chip]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipSection {
    /// Access control offered, e.g. `["pace", "bac"]`.
    pub protocols: Vec<Protocol>,
    /// Whether the chip takes extended-length APDUs.
    #[serde(default)]
    pub extended_length: bool,
    /// The face photo (JPEG or JPEG 2000), relative to the profile; absent
    /// for a child under 6 (no DG2).
    pub photo: Option<PathBuf>,
    /// Photo width and height as the record states them.
    #[serde(default = "default_photo_size")]
    pub photo_size: [u16; 2],
    /// A seed for the chip's randomness (reproducible runs).
    #[serde(default)]
    pub seed: u64,
    /// The Active Authentication key: `"ecdsa"` (default) or `"rsa"`.
    #[serde(default)]
    pub active_authentication: AaAlgorithm,
    /// PACE's curve: `"brainpool_p256r1"` (default, as the CCCD), `"p256"`,
    /// `"p384"`, `"p521"` or `"brainpool_p384r1"`.
    #[serde(default = "cccd_curve")]
    pub pace_curve: Curve,
    /// PACE's cipher: `"aes128"` (default), `"aes192"`, `"aes256"` or
    /// `"tdes"` (2-key 3DES).
    #[serde(default = "cccd_cipher")]
    pub pace_cipher: PaceCipher,
    /// Chip Authentication's curve (names as `pace_curve`; default
    /// brainpoolP256r1).
    #[serde(default = "cccd_curve")]
    pub ca_curve: Curve,
    /// Chip Authentication's cipher (as `pace_cipher` but not `"tdes"`;
    /// default AES-128).
    #[serde(default = "cccd_cipher")]
    pub ca_cipher: PaceCipher,
    /// The curve of the ECDSA Active Authentication key (names as
    /// `pace_curve`; default `"p256"`).
    #[serde(default = "aa_default_curve")]
    pub aa_curve: Curve,
    /// The hash of the ECDSA Active Authentication answer: `"sha1"`,
    /// `"sha224"`, `"sha256"`, `"sha384"` or `"sha512"` (default: the one
    /// of the curve's size).
    pub aa_hash: Option<HashAlgorithm>,
}

fn cccd_curve() -> Curve {
    Curve::BrainpoolP256r1
}

fn cccd_cipher() -> PaceCipher {
    PaceCipher::Aes128
}

fn aa_default_curve() -> Curve {
    Curve::P256
}

fn default_photo_size() -> [u16; 2] {
    [480, 640]
}

/// `[citizen]`: DG13's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenSection {
    /// 12-digit ID number.
    pub id_number: String,
    /// Full name with diacritics.
    pub full_name: String,
    /// `dd/mm/yyyy`.
    pub date_of_birth: String,
    /// `Nam` / `Nữ`.
    pub sex: String,
    /// Nationality.
    #[serde(default = "vietnam")]
    pub nationality: String,
    /// Ethnicity.
    #[serde(default)]
    pub ethnicity: String,
    /// Religion.
    #[serde(default)]
    pub religion: String,
    /// Place of origin.
    #[serde(default)]
    pub place_of_origin: String,
    /// Place of residence.
    #[serde(default)]
    pub place_of_residence: String,
    /// Identifying marks.
    #[serde(default)]
    pub identifying_marks: String,
    /// `dd/mm/yyyy`.
    pub date_of_issue: String,
    /// `dd/mm/yyyy` or "Không thời hạn".
    pub date_of_expiry: String,
    /// Father.
    pub father_name: Option<String>,
    /// Mother.
    pub mother_name: Option<String>,
    /// Spouse.
    pub spouse_name: Option<String>,
    /// Old CMND number.
    pub old_id_number: Option<String>,
}

fn vietnam() -> String {
    "Việt Nam".into()
}

/// Latin capitals without marks, as the MRZ writes names (`Đ` → `D`).
pub fn unaccent(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'D',
            c => c.to_ascii_uppercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect()
}

/// The CCCD's TD1 MRZ for a citizen; `None` when the dates are invalid.
pub fn cccd_mrz(c: &Citizen) -> Option<String> {
    let id = c.id()?;
    let number = id.document_number();
    let birth = Date::parse_dmy_slashed(&c.date_of_birth)?.yymmdd();
    let expiry = Date::parse_dmy_slashed(&c.date_of_expiry)
        .map_or_else(|| "991231".to_owned(), |d| d.yymmdd());
    let sex = match c.sex() {
        Some(crate::cccd::id::Sex::Male) => 'M',
        Some(crate::cccd::id::Sex::Female) => 'F',
        None => '<',
    };
    let optional = format!("{}<<{}", id.as_str(), check_digit(id.as_str())?);
    let l1 = format!("IDVNM{number}{}{optional:<<15}", check_digit(number)?);
    let l2_body = format!(
        "{birth}{}{sex}{expiry}{}VNM{:<<11}",
        check_digit(&birth)?,
        check_digit(&expiry)?,
        ""
    );
    let composite = format!(
        "{}{}{}{}",
        l1.get(5..30)?,
        l2_body.get(0..7)?,
        l2_body.get(8..15)?,
        l2_body.get(18..29)?
    );
    let l2 = format!("{l2_body}{}", check_digit(&composite)?);
    let name = unaccent(&c.full_name);
    let mut words = name.split_whitespace();
    let surname = words.next().unwrap_or("");
    let given: Vec<&str> = words.collect();
    let l3 = format!("{surname}<<{}", given.join("<"));
    let l3: String = format!("{l3:<<30}").chars().take(30).collect();
    Some(format!("{l1}\n{l2}\n{l3}"))
}

/// A JPEG to stand for a photo when a profile names none: a plain grey
/// 8×8 baseline JPEG (no face; face tests bring their own photos).
pub const PLACEHOLDER_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

impl CardProfile {
    /// Reads a profile file.
    pub fn load(path: &Path) -> Result<(CardProfile, PathBuf), ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let profile: CardProfile = toml::from_str(&text).map_err(|e| ProfileError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Ok((
            profile,
            path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        ))
    }

    /// The citizen as DG13 will state it.
    pub fn citizen(&self) -> Citizen {
        let c = &self.citizen;
        Citizen {
            id_number: c.id_number.clone(),
            full_name: c.full_name.nfc().collect(),
            date_of_birth: c.date_of_birth.clone(),
            sex: c.sex.clone(),
            nationality: c.nationality.clone(),
            ethnicity: c.ethnicity.clone(),
            religion: c.religion.clone(),
            place_of_origin: c.place_of_origin.clone(),
            place_of_residence: c.place_of_residence.clone(),
            identifying_marks: c.identifying_marks.clone(),
            date_of_issue: c.date_of_issue.clone(),
            date_of_expiry: c.date_of_expiry.clone(),
            father_name: c.father_name.clone(),
            mother_name: c.mother_name.clone(),
            spouse_name: c.spouse_name.clone(),
            old_id_number: c.old_id_number.clone(),
            field_16: None,
        }
    }

    /// Builds the chip. `base` resolves the photo path.
    pub fn chip(&self, base: &Path) -> Result<VirtualChip, ProfileError> {
        let photo = match &self.chip.photo {
            None => None,
            Some(photo) if photo.as_os_str() == "placeholder" => Some(PLACEHOLDER_JPEG.to_vec()),
            Some(photo) => {
                let path = base.join(photo);
                Some(std::fs::read(&path).map_err(|source| ProfileError::Read { path, source })?)
            }
        };
        self.chip_with_photo(base, photo)
    }

    /// Builds the chip with `photo` (JPEG or JPEG 2000 bytes) in DG2
    /// instead of the profile's photo file (tests that make chip photos in
    /// memory).
    pub fn chip_with_photo(
        &self,
        base: &Path,
        photo: Option<Vec<u8>>,
    ) -> Result<VirtualChip, ProfileError> {
        let invalid = |field, reason: String| ProfileError::Invalid {
            path: base.to_path_buf(),
            field,
            reason,
        };
        let citizen = self.citizen();
        let id = citizen
            .id()
            .ok_or_else(|| invalid("citizen.id_number", "must be 12 digits".into()))?;
        let mrz = cccd_mrz(&citizen)
            .ok_or_else(|| invalid("citizen.date_of_birth", "must be dd/mm/yyyy".into()))?;
        let parsed = crate::icao::mrz::Mrz::parse(&mrz)
            .map_err(|e| invalid("citizen", format!("gives an invalid MRZ: {e}")))?;
        let mut files = BTreeMap::new();
        let mut groups = vec![1, 13];
        files.insert(File::Dg(1), lds::encode_dg1(&mrz));
        files.insert(File::Dg(13), dg13::encode(&citizen));
        if let Some(bytes) = photo {
            let j2k =
                bytes.starts_with(&[0xFF, 0x4F]) || bytes.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50]);
            let [w, h] = self.chip.photo_size;
            files.insert(File::Dg(2), lds::encode_dg2(&bytes, j2k, w, h));
            groups.insert(1, 2);
        }
        // Active Authentication: an ECDSA key (P-256 unless `aa_curve`
        // says otherwise); DG15 carries its public half and DG14 names
        // ecdsa-plain-SHA*. Chip Authentication: a static key on `ca_curve`.
        let mut key_rng = crate::icao::random::Drbg::new({
            let mut s = [0xAAu8; 32];
            s[..8].copy_from_slice(&self.chip.seed.to_be_bytes());
            s
        });
        let aa_curve = self.chip.aa_curve;
        let aa_hash = self.chip.aa_hash.unwrap_or(match aa_curve.scalar_len() {
            32 => HashAlgorithm::Sha256,
            48 => HashAlgorithm::Sha384,
            _ => HashAlgorithm::Sha512,
        });
        let aa_key = key_rng.private_key(aa_curve);
        let ca_curve = self.chip.ca_curve;
        let ca_key = key_rng.private_key(ca_curve);
        let chip_aa_key = {
            use crate::apdu::tlv;
            let ca_public = ca_curve
                .public_key(&ca_key)
                .map_err(|e| invalid("chip", e.to_string()))?;
            let (dg15, extra, chip_key) = match self.chip.active_authentication {
                AaAlgorithm::Ecdsa => {
                    let spki = crate::icao::ec_signature::public_key_info(aa_curve, &aa_key)
                        .map_err(|e| invalid("chip", e.to_string()))?;
                    let mut aa_info = tlv::to_vec(0x06, &crate::icao::aa::ID_AA);
                    tlv::encode(0x02, &[1], &mut aa_info);
                    // ecdsa-plain-SHA1/224/256/384/512 (BSI TR-03111).
                    let arc = match aa_hash {
                        HashAlgorithm::Sha1 => 1,
                        HashAlgorithm::Sha224 => 2,
                        HashAlgorithm::Sha256 => 3,
                        HashAlgorithm::Sha384 => 4,
                        HashAlgorithm::Sha512 => 5,
                    };
                    tlv::encode(
                        0x06,
                        &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, arc],
                        &mut aa_info,
                    );
                    let chip_key = if self.faults.cloned_aa {
                        // A clone cannot extract the original's private
                        // key: it signs with its own.
                        key_rng.private_key(aa_curve)
                    } else {
                        aa_key
                    };
                    (
                        spki,
                        vec![tlv::to_vec(0x30, &aa_info)],
                        AaKey::Ecdsa {
                            curve: aa_curve,
                            hash: aa_hash,
                            key: chip_key,
                        },
                    )
                }
                AaAlgorithm::Rsa => {
                    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
                    let key = rsa::PrivateKey::from_pkcs8_der(RSA_AA_KEY)
                        .map_err(|e| invalid("chip", e.to_string()))?;
                    let spki = key
                        .to_public_key()
                        .to_public_key_der()
                        .map_err(|e| invalid("chip", e.to_string()))?
                        .as_bytes()
                        .to_vec();
                    // RSA needs no ActiveAuthenticationInfo: the trailer
                    // names the hash.
                    (spki, Vec::new(), AaKey::Rsa(Box::new(key)))
                }
            };
            files.insert(File::Dg(15), tlv::to_vec(0x6F, &dg15));
            files.insert(
                File::Dg(14),
                crate::icao::ca::encode_dg14(ca_curve, self.chip.ca_cipher, &ca_public, &extra),
            );
            groups.extend([14, 15]);
            chip_key
        };
        let mut hostile = self.faults.hostile();
        if self.faults.cloned_aa && self.chip.active_authentication == AaAlgorithm::Rsa {
            // One fixed RSA key: a clone's answer is a wrong signature.
            hostile.push(Hostile::AaWrongSignature);
        }
        let pace = self.chip.protocols.contains(&Protocol::Pace).then(|| {
            let mut oid = ID_PACE.to_vec();
            oid.extend_from_slice(&[0x02, self.chip.pace_cipher.oid_arc()]);
            PaceInfo {
                oid,
                cipher: self.chip.pace_cipher,
                curve: self.chip.pace_curve,
            }
        });
        if self.chip.ca_cipher == PaceCipher::Tdes {
            return Err(invalid(
                "chip.ca_cipher",
                "3DES chip authentication is not run: aes128, aes192 or aes256".into(),
            ));
        }
        if let Some(sw) = self.faults.sfi_refused
            && !(0x6000..0x7000).contains(&sw)
        {
            return Err(invalid(
                "faults.sfi_refused",
                format!("{sw:#06x} is not an error status (6xxx)"),
            ));
        }
        if let Some(p2) = self.faults.select_aid_p2
            && p2 != 0x00
            && p2 != 0x0C
        {
            return Err(invalid(
                "faults.select_aid_p2",
                format!("{p2:#04x} is neither 0x0C nor 0x00"),
            ));
        }
        if let Some(info) = pace.as_ref().filter(|_| !self.faults.no_card_access) {
            use crate::apdu::tlv;
            let mut seq = tlv::to_vec(0x06, &info.oid);
            tlv::encode(0x02, &[2], &mut seq);
            tlv::encode(0x02, &[info.curve.parameter_id()], &mut seq);
            files.insert(
                File::CardAccess,
                tlv::to_vec(0x31, &tlv::to_vec(0x30, &seq)),
            );
        }
        if !self.faults.no_sod {
            let options = pki::PkiOptions {
                self_signed_ds: self.faults.self_signed_signer,
                expired_ds: self.faults.expired_signer,
                rolled_over_csca: self.faults.rolled_over_csca,
                ds_is_ca: self.faults.signer_is_ca,
                ds_without_digital_signature: self.faults.signer_without_digital_signature,
                csca_without_cert_sign: false,
                revoked_ds: self.faults.revoked_signer,
            };
            let pki = if self.faults.unknown_signer {
                pki::TestPki::with_options("XX", [0x5A; 32], options)
            } else if self.faults.forged_csca {
                pki::TestPki::with_options("ZZ", [0xF0; 32], options)
            } else {
                pki::TestPki::with_options("ZZ", [0; 32], options)
            }
            .map_err(|e| invalid("chip", e.to_string()))?;
            let sod = pki
                .sod(&files, self.faults.tampered_dg)
                .map_err(|e| invalid("chip", e.to_string()))?;
            files.insert(File::Sod, sod);
        }
        files.insert(
            File::Com,
            Com {
                lds_version: "0107".into(),
                unicode_version: "040000".into(),
                data_groups: groups
                    .into_iter()
                    .filter(|n| !self.faults.com_omits.contains(n))
                    .collect(),
            }
            .encode(),
        );
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.chip.seed.to_be_bytes());
        Ok(VirtualChip::new(
            ChipConfig {
                files,
                mrz_information: parsed.mrz_information(),
                can: Some(id.can().to_owned()),
                bac: self.chip.protocols.contains(&Protocol::Bac),
                pace,
                extended_length: self.chip.extended_length,
                aa_key: Some(chip_aa_key),
                hostile,
                ca_key: Some(CaKey {
                    curve: ca_curve,
                    cipher: self.chip.ca_cipher,
                    private: if self.faults.cloned_ca {
                        key_rng.private_key(ca_curve)
                    } else {
                        ca_key
                    },
                }),
            },
            seed,
        ))
    }
}

#[cfg(test)]
mod algorithm_tests;
#[cfg(test)]
mod fallback_tests;
#[cfg(test)]
mod tests;
