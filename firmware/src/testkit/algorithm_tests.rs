//! The reader against virtual chips on every curve and cipher it runs:
//! PACE (generic mapping) on each standardized domain parameter set with
//! AES-128, AES-192 and AES-256 secure messaging, chip authentication
//! (ECDH) and active authentication (ECDSA) on the same curves, end to
//! end (ICAO 9303-11 §4.4, §6.1, §6.2, §9.8).

use super::*;
use crate::icao::pa::{Check, HashAlgorithm};
use crate::icao::reader::{
    AccessControl, Document, DocumentReader, Output, ReadError, ReadOptions,
};

const PROFILE: &str = r#"
[chip]
protocols = ["pace"]
extended_length = true
photo = "placeholder"
seed = 11

[citizen]
id_number = "003090000001"
full_name = "Nguyễn Văn Mẫu"
date_of_birth = "15/01/1990"
sex = "Nam"
date_of_issue = "01/06/2021"
date_of_expiry = "15/01/2030"
"#;

const CIPHERS: [PaceCipher; 3] = [PaceCipher::Aes128, PaceCipher::Aes192, PaceCipher::Aes256];

fn chip(edit: impl FnOnce(&mut ChipSection, &mut FaultsSection)) -> VirtualChip {
    let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
    edit(&mut p.chip, &mut p.faults);
    p.chip(Path::new(".")).unwrap()
}

/// Reads the chip with its CAN only (no BAC on this chip: a fallback
/// cannot hide a failed PACE).
fn read(chip: &mut VirtualChip, extended_length: bool) -> Result<Document, ReadError> {
    let keys = vec![crate::cccd::KeyCandidate::Can("000001".into())];
    let mut reader = DocumentReader::new(
        keys,
        [42; 32],
        ReadOptions {
            extended_length,
            ..ReadOptions::default()
        },
    );
    loop {
        match reader.poll_output() {
            Some(Output::Transmit(apdu)) => {
                let response = chip.process(&apdu);
                reader.handle_response(&response);
            }
            Some(Output::Progress { .. }) => {}
            Some(Output::Done(result)) => return result,
            None => panic!("the reader stalled"),
        }
    }
}

fn assert_genuine(doc: &Document, what: &str) {
    assert_eq!(doc.access, AccessControl::PaceCan, "{what}");
    assert_eq!(doc.com.data_groups, vec![1, 2, 13, 14, 15], "{what}");
    let citizen = crate::cccd::dg13::parse(&doc.files[&File::Dg(13)]).unwrap();
    assert_eq!(citizen.id_number, "003090000001", "{what}");
    assert!(doc.files.contains_key(&File::Sod), "{what}");
    assert_eq!(
        crate::icao::ca::check_document(doc),
        Check::Passed,
        "{what}"
    );
    assert_eq!(
        crate::icao::aa::check_document(doc),
        Check::Passed,
        "{what}"
    );
}

#[test]
fn pace_runs_on_every_curve_with_every_aes_key_length() {
    for curve in Curve::ALL {
        for cipher in CIPHERS {
            let mut chip = chip(|c, _| {
                c.pace_curve = curve;
                c.pace_cipher = cipher;
            });
            let what = format!("PACE {curve:?} {cipher:?}");
            let card_access = PaceInfo::from_card_access(
                chip_file(&chip, File::CardAccess).as_deref().unwrap_or(&[]),
            )
            .unwrap();
            assert_eq!(card_access.len(), 1, "{what}");
            assert_eq!(
                (card_access[0].curve, card_access[0].cipher),
                (curve, cipher),
                "{what}"
            );
            let doc = read(&mut chip, true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_genuine(&doc, &what);
        }
    }
}

#[test]
fn pace_runs_on_every_curve_with_3des_secure_messaging() {
    for curve in Curve::ALL {
        let mut chip = chip(|c, _| {
            c.pace_curve = curve;
            c.pace_cipher = PaceCipher::Tdes;
        });
        let what = format!("PACE {curve:?} 3DES");
        let card_access = PaceInfo::from_card_access(
            chip_file(&chip, File::CardAccess).as_deref().unwrap_or(&[]),
        )
        .unwrap();
        assert_eq!(
            (card_access[0].curve, card_access[0].cipher),
            (curve, PaceCipher::Tdes),
            "{what}"
        );
        let doc = read(&mut chip, true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_genuine(&doc, &what);
    }
    // Short APDUs too (3DES blocks of 8 under the 0xDF-byte reads).
    let mut chip = chip(|c, _| {
        c.pace_curve = Curve::BrainpoolP320r1;
        c.pace_cipher = PaceCipher::Tdes;
        c.extended_length = false;
    });
    let doc = read(&mut chip, false).unwrap();
    assert_genuine(&doc, "brainpoolP320r1 3DES, short APDUs");
}

#[test]
fn a_3des_pace_nonce_of_another_length_is_a_hostile_chip() {
    for (fault, len) in [(NonceFault::Empty, 0), (NonceFault::Short, 4)] {
        let mut chip = chip(|c, f| {
            c.pace_cipher = PaceCipher::Tdes;
            f.pace_nonce = Some(fault);
        });
        assert_eq!(
            read(&mut chip, true).unwrap_err(),
            ReadError::Hostile(crate::icao::reader::Violation::PaceNonceLength { len }),
            "{fault:?}"
        );
    }
}

#[test]
fn chip_authentication_with_3des_is_refused_in_a_profile() {
    let mut p: CardProfile = toml::from_str(PROFILE).unwrap();
    p.chip.ca_cipher = PaceCipher::Tdes;
    assert!(matches!(
        p.chip(Path::new(".")),
        Err(ProfileError::Invalid {
            field: "chip.ca_cipher",
            ..
        })
    ));
}

#[test]
fn aes_192_and_256_secure_messaging_reads_with_short_apdus_too() {
    for cipher in [PaceCipher::Aes192, PaceCipher::Aes256] {
        let mut chip = chip(|c, _| {
            c.pace_curve = Curve::P521;
            c.pace_cipher = cipher;
            c.ca_cipher = cipher;
            c.extended_length = false;
        });
        let what = format!("P-521 {cipher:?}, short APDUs");
        let doc = read(&mut chip, false).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_genuine(&doc, &what);
    }
}

#[test]
fn chip_authentication_runs_on_every_curve_with_every_aes_key_length() {
    for curve in Curve::ALL {
        for cipher in CIPHERS {
            let mut chip = chip(|c, _| {
                c.ca_curve = curve;
                c.ca_cipher = cipher;
            });
            let what = format!("CA {curve:?} {cipher:?}");
            let doc = read(&mut chip, true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let info = crate::icao::ca::from_dg14(&doc.files[&File::Dg(14)]).unwrap();
            assert_eq!((info.curve, info.cipher), (curve, cipher), "{what}");
            assert_genuine(&doc, &what);
        }
    }
}

#[test]
fn a_cloned_chip_fails_chip_authentication_on_every_curve() {
    for curve in Curve::ALL {
        let mut chip = chip(|c, f| {
            c.ca_curve = curve;
            f.cloned_ca = true;
        });
        // The clone cannot derive the keys the reader derives from DG14's
        // key: the first answer under them fails its MAC.
        assert_eq!(
            read(&mut chip, true).unwrap_err(),
            ReadError::ChipAuthenticationFailed,
            "{curve:?}"
        );
    }
}

#[test]
fn active_authentication_runs_on_every_curve_and_hash() {
    for curve in Curve::ALL {
        for hash in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let mut chip = chip(|c, _| {
                c.aa_curve = curve;
                c.aa_hash = Some(hash);
            });
            let what = format!("AA {curve:?} {hash:?}");
            let doc = read(&mut chip, true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let dg14 = &doc.files[&File::Dg(14)];
            assert_eq!(crate::icao::aa::hash_from_dg14(dg14), Some(hash), "{what}");
            assert_genuine(&doc, &what);
        }
    }
}

#[test]
fn a_cloned_chip_fails_active_authentication_on_every_curve() {
    for curve in Curve::ALL {
        let mut chip = chip(|c, f| {
            c.aa_curve = curve;
            f.cloned_aa = true;
        });
        let doc = read(&mut chip, true).unwrap_or_else(|e| panic!("{curve:?}: {e:?}"));
        assert_eq!(
            crate::icao::aa::check_document(&doc),
            Check::Failed("the chip's signature does not match DG15: a cloned chip".into()),
            "{curve:?}"
        );
    }
}

#[test]
fn the_curve_and_cipher_options_are_read_from_the_profile() {
    let text = PROFILE.replace(
        "seed = 11",
        "seed = 11\npace_curve = \"brainpool_p384r1\"\npace_cipher = \"aes256\"\n\
         ca_curve = \"p521\"\nca_cipher = \"aes192\"\naa_curve = \"p384\"\naa_hash = \"sha512\"",
    );
    let p: CardProfile = toml::from_str(&text).unwrap();
    assert_eq!(p.chip.pace_curve, Curve::BrainpoolP384r1);
    assert_eq!(p.chip.pace_cipher, PaceCipher::Aes256);
    assert_eq!(p.chip.ca_curve, Curve::P521);
    assert_eq!(p.chip.ca_cipher, PaceCipher::Aes192);
    assert_eq!(p.chip.aa_curve, Curve::P384);
    assert_eq!(p.chip.aa_hash, Some(HashAlgorithm::Sha512));
    let mut chip = p.chip(Path::new(".")).unwrap();
    assert_genuine(&read(&mut chip, true).unwrap(), "from TOML");
    let p320: CardProfile = toml::from_str(
        &PROFILE.replace("seed = 11", "seed = 11\npace_curve = \"brainpool_p320r1\""),
    )
    .unwrap();
    assert_eq!(p320.chip.pace_curve, Curve::BrainpoolP320r1);
    let unknown = PROFILE.replace("seed = 11", "seed = 11\npace_curve = \"secp256k1\"");
    assert!(toml::from_str::<CardProfile>(&unknown).is_err());
}

/// A file of the chip's configuration (EF.CardAccess is readable without
/// access control; the test reads it as the reader would).
fn chip_file(chip: &VirtualChip, file: File) -> Option<Vec<u8>> {
    chip.file(file).map(<[u8]>::to_vec)
}
