//! Chip Authentication (ICAO 9303-11 §6.2), ECDH with AES:
//! `id-CA-ECDH-AES-CBC-CMAC-128/192/256` (the CCCD offers 128).
//!
//! DG14 carries the chip's static public key (ChipAuthenticationPublicKeyInfo)
//! and the protocol (ChipAuthenticationInfo). The terminal sends an
//! ephemeral public key on the same curve (MSE:Set AT `00 22 41 A4` with the
//! protocol, then GENERAL AUTHENTICATE `7C { 80 PK }`), both sides derive
//! K = x(SK·PK), KS_enc = KDF(K, 1), KS_mac = KDF(K, 2), and secure
//! messaging restarts with them (SSC 0). Success is implicit: the next
//! response verifies under the new keys only if the chip holds the static
//! private key, which a copy of the data on another chip does not.

use super::crypto::kdf_aes;
use super::pace::{Curve, PaceCipher, SecretBytes};
use crate::apdu::Command;
use crate::apdu::tlv;
use zeroize::Zeroizing;

/// `id-CA` 0.4.0.127.0.7.2.2.3.
const ID_CA: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03];
/// `id-PK-ECDH` 0.4.0.127.0.7.2.2.1.2.
pub const ID_PK_ECDH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x02];
/// `id-PK-DH` 0.4.0.127.0.7.2.2.1.1.
pub const ID_PK_DH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x01];

/// What DG14 says about chip authentication (9303-11 §9.2.5: a chip that
/// supports it holds a ChipAuthenticationPublicKeyInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaOffer {
    /// No ChipAuthenticationPublicKeyInfo: the chip offers none.
    NotOffered,
    /// ECDH with AES on a curve this reader runs.
    Supported(CaInfo),
    /// Offered with a key or protocol this reader lacks (DH, another
    /// curve, explicit domain parameters, 3DES); why. It cannot be run, so
    /// it must not pass.
    Unsupported(&'static str),
}

/// Why DG14 cannot be searched for chip authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dg14Error {
    /// DG14 is not `6E { SET OF SecurityInfo }`, or one of its
    /// SecurityInfos or the key in it does not parse. Remedy: none; chip
    /// authentication fails (passive authentication tells whether the
    /// chip or the data is at fault).
    #[error("DG14 is malformed: {0}")]
    Malformed(&'static str),
}

/// What DG14 offers for chip authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInfo {
    /// The protocol OID's content bytes.
    pub oid: Vec<u8>,
    /// The cipher it sets up.
    pub cipher: PaceCipher,
    /// The curve of the chip's static key.
    pub curve: Curve,
    /// The chip's static public key (uncompressed SEC1).
    pub public_key: Vec<u8>,
}

/// The ECDH-AES chip authentication DG14 offers, if any this reader runs
/// (see [`offer`] for why not).
pub fn from_dg14(dg14: &[u8]) -> Option<CaInfo> {
    match offer(dg14) {
        Ok(CaOffer::Supported(info)) => Some(info),
        _ => None,
    }
}

/// The EC key of a ChipAuthenticationPublicKeyInfo's SubjectPublicKeyInfo
/// (`30 { 30 { 06 id-ecPublicKey, 06 namedCurve }, 03 00 point }`).
fn ec_key(spki: &tlv::Tlv<'_>) -> Result<Result<(Curve, Vec<u8>), &'static str>, Dg14Error> {
    let malformed = Dg14Error::Malformed("a chip authentication key does not parse");
    let alg = spki.require(0x30).map_err(|_| malformed)?;
    let mut parts = alg.children();
    match parts.next() {
        Some(Ok(oid)) if oid.tag == 0x06 => {}
        _ => return Err(malformed),
    }
    let parameters = match parts.next() {
        Some(Ok(p)) => p,
        _ => return Err(malformed),
    };
    let bits = spki.require(0x03).map_err(|_| malformed)?;
    let point = match bits.value.split_first() {
        Some((0, point)) if !point.is_empty() => point.to_vec(),
        _ => return Err(malformed),
    };
    if parameters.tag != 0x06 {
        return Ok(Err("explicit EC domain parameters"));
    }
    Ok(Curve::from_oid(parameters.value)
        .map(|curve| (curve, point))
        .ok_or("a curve this reader lacks"))
}

/// What DG14 offers for chip authentication: [`CaOffer::NotOffered`] when
/// it holds no ChipAuthenticationPublicKeyInfo, [`CaOffer::Unsupported`]
/// when it offers one this reader cannot run, an error when DG14 does not
/// parse.
pub fn offer(dg14: &[u8]) -> Result<CaOffer, Dg14Error> {
    let outer = tlv::expect(dg14, 0x6E).map_err(|_| Dg14Error::Malformed("not DG14"))?;
    let set = outer
        .require(0x31)
        .map_err(|_| Dg14Error::Malformed("no SET OF SecurityInfo"))?;
    // Protocols (None: one this reader lacks) and keys (Err: why unusable).
    let mut protocols: Vec<(Vec<u8>, Option<PaceCipher>)> = Vec::new();
    let mut keys: Vec<Result<(Curve, Vec<u8>), &'static str>> = Vec::new();
    for info in set.children() {
        let info = info.map_err(|_| Dg14Error::Malformed("a SecurityInfo does not parse"))?;
        if info.tag != 0x30 {
            return Err(Dg14Error::Malformed("a SecurityInfo is not a SEQUENCE"));
        }
        let mut parts = info.children();
        let oid = match parts.next() {
            Some(Ok(oid)) if oid.tag == 0x06 => oid,
            _ => return Err(Dg14Error::Malformed("a SecurityInfo without its OID")),
        };
        if let Some(rest) = oid.value.strip_prefix(&ID_CA[..]) {
            let cipher = match rest {
                [0x02, 0x02] => Some(PaceCipher::Aes128),
                [0x02, 0x03] => Some(PaceCipher::Aes192),
                [0x02, 0x04] => Some(PaceCipher::Aes256),
                _ => None,
            };
            protocols.push((oid.value.to_vec(), cipher));
        } else if oid.value == ID_PK_ECDH {
            let spki = match parts.next() {
                Some(Ok(spki)) if spki.tag == 0x30 => spki,
                _ => return Err(Dg14Error::Malformed("a key info without its key")),
            };
            keys.push(ec_key(&spki)?);
        } else if oid.value == ID_PK_DH {
            keys.push(Err("a Diffie-Hellman key"));
        }
    }
    let Some(first) = keys.first() else {
        return Ok(CaOffer::NotOffered);
    };
    let Some((curve, public_key)) = keys.iter().find_map(|k| k.as_ref().ok()).cloned() else {
        return Ok(CaOffer::Unsupported(
            first.clone().err().unwrap_or("no usable key"),
        ));
    };
    let Some((oid, cipher)) = protocols
        .iter()
        .find_map(|(oid, cipher)| cipher.map(|c| (oid.clone(), c)))
    else {
        return Ok(CaOffer::Unsupported(if protocols.is_empty() {
            "no ChipAuthenticationInfo (3DES implied)"
        } else {
            "a protocol this reader lacks (3DES or DH)"
        }));
    };
    Ok(CaOffer::Supported(CaInfo {
        oid,
        cipher,
        curve,
        public_key,
    }))
}

/// MSE:Set AT for chip authentication with AES.
pub fn mse_set_at(info: &CaInfo) -> Command {
    Command::new(0x00, 0x22, 0x41, 0xA4).with_data(tlv::to_vec(0x80, &info.oid))
}

/// GENERAL AUTHENTICATE with the terminal's ephemeral public key.
pub fn general_authenticate(ephemeral_public: &[u8]) -> Command {
    Command::new(0x00, 0x86, 0x00, 0x00)
        .with_data(tlv::to_vec(0x7C, &tlv::to_vec(0x80, ephemeral_public)))
        .with_le(256)
}

/// The new session keys from one side's private key and the other's
/// public key.
pub fn session_keys(
    curve: Curve,
    cipher: PaceCipher,
    private: &[u8],
    other_public: &[u8],
) -> Result<(SecretBytes, SecretBytes), super::pace::PaceError> {
    let shared = Zeroizing::new(curve.x(&curve.multiply(other_public, private)?)?);
    Ok((
        Zeroizing::new(kdf_aes(&shared, 1, cipher.key_len())?),
        Zeroizing::new(kdf_aes(&shared, 2, cipher.key_len())?),
    ))
}

/// DG14 with ChipAuthenticationInfo (`id-CA-ECDH-AES-CBC-CMAC-*` for
/// `cipher`), ChipAuthenticationPublicKeyInfo (`public_key` on `curve`) and
/// `extra` SecurityInfos (for the virtual chip).
pub fn encode_dg14(
    curve: Curve,
    cipher: PaceCipher,
    public_key: &[u8],
    extra: &[Vec<u8>],
) -> Vec<u8> {
    let mut ca_info = {
        let mut oid = ID_CA.to_vec();
        oid.extend_from_slice(&[0x02, cipher.oid_arc()]);
        let mut v = tlv::to_vec(0x06, &oid);
        tlv::encode(0x02, &[1], &mut v);
        tlv::to_vec(0x30, &v)
    };
    let mut alg = tlv::to_vec(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
    tlv::encode(0x06, curve.oid(), &mut alg);
    let mut bits = vec![0];
    bits.extend_from_slice(public_key);
    let mut spki = tlv::to_vec(0x30, &alg);
    tlv::encode(0x03, &bits, &mut spki);
    let mut pk_info = tlv::to_vec(0x06, &ID_PK_ECDH);
    tlv::encode(0x30, &spki, &mut pk_info);
    ca_info.extend(tlv::to_vec(0x30, &pk_info));
    for e in extra {
        ca_info.extend_from_slice(e);
    }
    tlv::to_vec(0x6E, &tlv::to_vec(0x31, &ca_info))
}

/// The chip authentication check of a read document.
pub fn check_document(document: &super::reader::Document) -> super::pa::Check {
    use super::pa::Check;
    use super::reader::ChipAuthentication;
    // Only a confirmed run passes; "not offered" is not run, never passed
    // (the trust policy decides whether the signed SOD required it).
    match document.chip_authentication {
        ChipAuthentication::Confirmed => Check::Passed,
        ChipAuthentication::NotOffered => Check::NotRun(
            if document.files.contains_key(&super::lds::File::Dg(14)) {
                "DG14 offers no chip authentication"
            } else {
                "no DG14 was read"
            }
            .into(),
        ),
        ChipAuthentication::Unsupported => {
            let why = document
                .files
                .get(&super::lds::File::Dg(14))
                .and_then(|dg14| match offer(dg14) {
                    Ok(CaOffer::Unsupported(why)) => Some(why),
                    _ => None,
                })
                .unwrap_or("an unsupported key");
            Check::Failed(format!(
                "DG14 offers chip authentication with {why}, which this reader cannot run"
            ))
        }
        ChipAuthentication::Malformed => Check::Failed("DG14 does not parse".into()),
        ChipAuthentication::Refused => Check::Failed("the chip refused chip authentication".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icao::pa::Check;
    use crate::icao::reader::{AccessControl, ChipAuthentication, Document};

    const BRAINPOOL: [u8; 9] = [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];
    /// secp256k1 (1.3.132.0.10): no ICAO domain parameters, not run.
    const K256: [u8; 5] = [0x2B, 0x81, 0x04, 0x00, 0x0A];

    fn dg14(infos: &[Vec<u8>]) -> Vec<u8> {
        tlv::to_vec(0x6E, &tlv::to_vec(0x31, &infos.concat()))
    }

    fn ca_info(protocol: [u8; 2]) -> Vec<u8> {
        let mut oid = ID_CA.to_vec();
        oid.extend_from_slice(&protocol);
        let mut v = tlv::to_vec(0x06, &oid);
        tlv::encode(0x02, &[1], &mut v);
        tlv::to_vec(0x30, &v)
    }

    fn key_info(pk_oid: &[u8], curve: &[u8]) -> Vec<u8> {
        let mut alg = tlv::to_vec(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
        tlv::encode(0x06, curve, &mut alg);
        let mut spki = tlv::to_vec(0x30, &alg);
        tlv::encode(0x03, &[0, 4, 1, 2, 3], &mut spki);
        let mut v = tlv::to_vec(0x06, pk_oid);
        tlv::encode(0x30, &spki, &mut v);
        tlv::to_vec(0x30, &v)
    }

    #[test]
    fn a_dg14_without_a_key_offers_no_chip_authentication() {
        assert_eq!(offer(&dg14(&[ca_info([2, 2])])), Ok(CaOffer::NotOffered));
    }

    #[test]
    fn an_ecdh_aes_key_on_brainpool_is_supported() {
        let offered = offer(&dg14(&[ca_info([2, 2]), key_info(&ID_PK_ECDH, &BRAINPOOL)]));
        assert!(
            matches!(offered, Ok(CaOffer::Supported(ref i)) if i.curve == Curve::BrainpoolP256r1)
        );
    }

    #[test]
    fn ecdh_aes_keys_on_every_supported_curve_and_cipher_are_supported() {
        for curve in Curve::ALL {
            for (arc, cipher) in [
                (2, PaceCipher::Aes128),
                (3, PaceCipher::Aes192),
                (4, PaceCipher::Aes256),
            ] {
                let offered = offer(&dg14(&[
                    ca_info([2, arc]),
                    key_info(&ID_PK_ECDH, curve.oid()),
                ]));
                assert!(
                    matches!(offered, Ok(CaOffer::Supported(ref i)) if i.curve == curve && i.cipher == cipher),
                    "{curve:?} {cipher:?}: {offered:?}"
                );
            }
        }
    }

    #[test]
    fn a_key_this_reader_cannot_use_is_unsupported_not_absent() {
        let k256 = dg14(&[ca_info([2, 2]), key_info(&ID_PK_ECDH, &K256)]);
        assert_eq!(
            offer(&k256),
            Ok(CaOffer::Unsupported("a curve this reader lacks"))
        );
        assert_eq!(from_dg14(&k256), None);
        let dh = dg14(&[ca_info([1, 2]), key_info(&ID_PK_DH, &BRAINPOOL)]);
        assert_eq!(offer(&dh), Ok(CaOffer::Unsupported("a Diffie-Hellman key")));
        let tdes = dg14(&[ca_info([2, 1]), key_info(&ID_PK_ECDH, &BRAINPOOL)]);
        assert_eq!(
            offer(&tdes),
            Ok(CaOffer::Unsupported(
                "a protocol this reader lacks (3DES or DH)"
            ))
        );
    }

    #[test]
    fn a_dg14_that_does_not_parse_is_an_error_not_absent() {
        assert!(offer(&[0x6E, 0x03, 0x31, 0x01, 0x00]).is_err());
        assert!(offer(&[0x01, 0x02, 0x03]).is_err());
        let keyless = {
            let mut v = tlv::to_vec(0x06, &ID_PK_ECDH);
            tlv::encode(0x02, &[1], &mut v);
            dg14(&[tlv::to_vec(0x30, &v)])
        };
        assert!(offer(&keyless).is_err());
    }

    fn document(ca: ChipAuthentication) -> Document {
        Document {
            com: crate::icao::lds::Com {
                lds_version: "0107".into(),
                unicode_version: "040000".into(),
                data_groups: vec![14],
            },
            files: [(
                crate::icao::lds::File::Dg(14),
                dg14(&[ca_info([2, 2]), key_info(&ID_PK_ECDH, &K256)]),
            )]
            .into_iter()
            .collect(),
            unavailable: Vec::new(),
            access: AccessControl::PaceCan,
            card_access: None,
            apdus: 0,
            bytes: 0,
            resumed: 0,
            fallbacks: Default::default(),
            active_authentication: None,
            chip_authentication: ca,
        }
    }

    #[test]
    fn only_a_confirmed_chip_authentication_passes() {
        assert_eq!(
            check_document(&document(ChipAuthentication::Confirmed)),
            Check::Passed
        );
        assert!(matches!(
            check_document(&document(ChipAuthentication::NotOffered)),
            Check::NotRun(_)
        ));
        for failed in [
            ChipAuthentication::Unsupported,
            ChipAuthentication::Malformed,
            ChipAuthentication::Refused,
        ] {
            assert!(
                matches!(check_document(&document(failed)), Check::Failed(_)),
                "{failed:?}"
            );
        }
        assert_eq!(
            check_document(&document(ChipAuthentication::Unsupported)),
            Check::Failed(
                "DG14 offers chip authentication with a curve this reader lacks, which this reader cannot run".into()
            )
        );
    }
}
