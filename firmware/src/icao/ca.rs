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

fn curve_of(oid: &[u8]) -> Option<Curve> {
    match oid {
        // 1.2.840.10045.3.1.7
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] => Some(Curve::P256),
        // 1.3.36.3.3.2.8.1.1.7
        [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07] => Some(Curve::BrainpoolP256r1),
        _ => None,
    }
}

/// The ECDH-AES chip authentication DG14 offers, if any this reader runs.
pub fn from_dg14(dg14: &[u8]) -> Option<CaInfo> {
    let set = tlv::expect(dg14, 0x6E).ok()?.require(0x31).ok()?;
    let mut protocol = None;
    let mut key = None;
    for info in set.children().filter_map(Result::ok) {
        let mut parts = info.children().filter_map(Result::ok);
        let Some(oid) = parts.next().filter(|o| o.tag == 0x06) else {
            continue;
        };
        if let Some(rest) = oid.value.strip_prefix(&ID_CA[..]) {
            let cipher = match rest {
                [0x02, 0x02] => PaceCipher::Aes128,
                [0x02, 0x03] => PaceCipher::Aes192,
                [0x02, 0x04] => PaceCipher::Aes256,
                _ => continue,
            };
            protocol = Some((oid.value.to_vec(), cipher));
        } else if oid.value == ID_PK_ECDH {
            // SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, namedCurve }, BIT STRING }
            let spki = parts.next().filter(|p| p.tag == 0x30)?;
            let alg = spki.require(0x30).ok()?;
            let curve_oid = alg
                .children()
                .filter_map(Result::ok)
                .filter(|t| t.tag == 0x06)
                .nth(1)?;
            let bits = spki.require(0x03).ok()?;
            let point = bits.value.get(1..)?.to_vec();
            key = Some((curve_of(curve_oid.value)?, point));
        }
    }
    let ((oid, cipher), (curve, public_key)) = (protocol?, key?);
    Some(CaInfo {
        oid,
        cipher,
        curve,
        public_key,
    })
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

/// DG14 with ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo (on
/// brainpoolP256r1) and `extra` SecurityInfos (for the virtual chip).
pub fn encode_dg14(public_key: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
    let mut ca_info = {
        let mut oid = ID_CA.to_vec();
        oid.extend_from_slice(&[0x02, 0x02]);
        let mut v = tlv::to_vec(0x06, &oid);
        tlv::encode(0x02, &[1], &mut v);
        tlv::to_vec(0x30, &v)
    };
    let mut alg = tlv::to_vec(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
    tlv::encode(
        0x06,
        &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        &mut alg,
    );
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
    match document.chip_authentication {
        ChipAuthentication::Confirmed => Check::Passed,
        ChipAuthentication::NotOffered => {
            Check::NotRun("DG14 offers no ECDH-AES chip authentication".into())
        }
        ChipAuthentication::Refused => Check::Failed("the chip refused chip authentication".into()),
    }
}
