//! Byte-exact tests against the ICAO 9303-11 worked examples
//! (`firmware/tests/vectors/icao9303-11.toml`, Appendix D and G.1).

use super::bac::{self, BacKeys};
use super::mrz::mrz_information;
use super::sm::SecureMessaging;
use crate::apdu::{Command, StatusWord};

const VECTORS: &str = include_str!("../../tests/vectors/icao9303-11.toml");

fn vectors() -> toml::Value {
    toml::from_str(VECTORS).unwrap()
}

fn hex(v: &toml::Value, path: &str) -> Vec<u8> {
    let mut cur = v;
    for key in path.split('.') {
        cur = &cur[key];
    }
    hex::decode(
        cur.as_str()
            .unwrap_or_else(|| panic!("{path} is not a string")),
    )
    .unwrap()
}

fn arr<const N: usize>(bytes: Vec<u8>) -> [u8; N] {
    bytes.try_into().unwrap()
}

#[test]
fn bac_keys_match_icao_appendix_d2() {
    let v = vectors();
    let info = mrz_information("L898902C", "690806", "940623").unwrap();
    assert_eq!(info, v["bac"]["mrz"]["mrz_information"].as_str().unwrap());
    assert_eq!(bac::key_seed(&info).to_vec(), hex(&v, "bac.keys.k_seed"));
    let keys = BacKeys::from_mrz_information(&info);
    assert_eq!(keys.k_enc.to_vec(), hex(&v, "bac.keys.k_enc"));
    assert_eq!(keys.k_mac.to_vec(), hex(&v, "bac.keys.k_mac"));
}

#[test]
fn cccd_bac_keys_match_the_reference_vector() {
    let v = vectors();
    let info = v["cccd_bac"]["mrz_information"].as_str().unwrap();
    assert_eq!(bac::key_seed(info).to_vec(), hex(&v, "cccd_bac.k_seed"));
    let keys = BacKeys::from_mrz_information(info);
    assert_eq!(keys.k_enc.to_vec(), hex(&v, "cccd_bac.k_enc"));
    assert_eq!(keys.k_mac.to_vec(), hex(&v, "cccd_bac.k_mac"));
}

fn appendix_d3() -> (BacKeys, [u8; 8], [u8; 8], [u8; 16], [u8; 16]) {
    let v = vectors();
    let keys = BacKeys {
        k_enc: arr(hex(&v, "bac.keys.k_enc")),
        k_mac: arr(hex(&v, "bac.keys.k_mac")),
    };
    (
        keys,
        arr(hex(&v, "bac.mutual_authentication.rnd_ic")),
        arr(hex(&v, "bac.mutual_authentication.rnd_ifd")),
        arr(hex(&v, "bac.mutual_authentication.k_ifd")),
        arr(hex(&v, "bac.mutual_authentication.k_ic")),
    )
}

#[test]
fn bac_mutual_authentication_matches_icao_appendix_d3() {
    let v = vectors();
    let (keys, rnd_ic, rnd_ifd, k_ifd, _) = appendix_d3();
    let terminal = bac::Terminal::new(keys, rnd_ic, rnd_ifd, k_ifd);
    let command = terminal.external_authenticate().encode().unwrap();
    assert_eq!(
        command,
        hex(
            &v,
            "bac.mutual_authentication.external_authenticate_command"
        )
    );
    let session = terminal
        .finish(&hex(&v, "bac.mutual_authentication.response_data"))
        .unwrap();
    assert_eq!(
        session.ks_enc.to_vec(),
        hex(&v, "bac.mutual_authentication.ks_enc")
    );
    assert_eq!(
        session.ks_mac.to_vec(),
        hex(&v, "bac.mutual_authentication.ks_mac")
    );
    assert_eq!(
        session.ssc.to_vec(),
        hex(&v, "bac.mutual_authentication.ssc")
    );
    assert_eq!(
        bac::get_challenge().encode().unwrap(),
        vec![0x00, 0x84, 0x00, 0x00, 0x08]
    );
}

#[test]
fn the_chip_side_of_bac_answers_appendix_d3_byte_for_byte() {
    let v = vectors();
    let (keys, rnd_ic, rnd_ifd, k_ifd, k_ic) = appendix_d3();
    let command = Command::decode(&hex(
        &v,
        "bac.mutual_authentication.external_authenticate_command",
    ))
    .unwrap();
    let (answer, session) = bac::chip_respond(&keys, &rnd_ic, &k_ic, &command.data).unwrap();
    assert_eq!(
        answer.to_vec(),
        hex(&v, "bac.mutual_authentication.response_data")
    );
    assert_eq!(
        session.ks_enc.to_vec(),
        hex(&v, "bac.mutual_authentication.ks_enc")
    );
    // And the terminal accepts it.
    let terminal = bac::Terminal::new(keys, rnd_ic, rnd_ifd, k_ifd);
    assert!(terminal.finish(&answer).is_ok());
}

#[test]
fn bac_with_a_wrong_key_is_refused_by_mac() {
    let v = vectors();
    let (_, rnd_ic, rnd_ifd, k_ifd, k_ic) = appendix_d3();
    let wrong =
        BacKeys::from_mrz_information(&mrz_information("L898902C", "690806", "940624").unwrap());
    let terminal = bac::Terminal::new(wrong.clone(), rnd_ic, rnd_ifd, k_ifd);
    assert_eq!(
        terminal.finish(&hex(&v, "bac.mutual_authentication.response_data")),
        Err(bac::BacError::Mac)
    );
    let (right, ..) = appendix_d3();
    let command = bac::Terminal::new(wrong, rnd_ic, rnd_ifd, k_ifd).external_authenticate();
    assert_eq!(
        bac::chip_respond(&right, &rnd_ic, &k_ic, &command.data),
        Err(bac::BacError::Mac)
    );
}

#[test]
fn secure_messaging_matches_icao_appendix_d4() {
    let v = vectors();
    let ks_enc = arr(hex(&v, "bac.mutual_authentication.ks_enc"));
    let ks_mac = arr(hex(&v, "bac.mutual_authentication.ks_mac"));
    let ssc = arr(hex(&v, "bac.mutual_authentication.ssc"));
    let mut terminal = SecureMessaging::tdes(ks_enc, ks_mac, ssc);
    let mut chip = SecureMessaging::tdes(ks_enc, ks_mac, ssc);
    let steps = v["sm"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for step in steps {
        let what = step["what"].as_str().unwrap();
        let unprotected = Command::decode(&hex(step, "unprotected")).unwrap();
        let protected = terminal.protect(&unprotected).unwrap();
        assert_eq!(
            protected.encode().unwrap(),
            hex(step, "protected"),
            "{what}: protected command"
        );
        // The chip side unwraps it to the same command.
        let seen = chip.unprotect_command(&protected).unwrap();
        assert_eq!(seen, unprotected, "{what}: chip side");
        // The chip's response, byte for byte, and its unwrapping.
        let plain = hex(step, "plain_response");
        let response = chip.protect_response(&plain, StatusWord::SUCCESS).unwrap();
        assert_eq!(
            response,
            hex(step, "response"),
            "{what}: protected response"
        );
        let (data, sw) = terminal.unprotect(&hex(step, "response")).unwrap();
        assert_eq!(data, plain, "{what}: plain response");
        assert_eq!(sw, StatusWord::SUCCESS);
    }
}
