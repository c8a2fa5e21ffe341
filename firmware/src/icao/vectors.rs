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
fn vietnamese_id_bac_keys_match_the_reference_vector() {
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

mod pace_g1 {
    use super::*;
    use crate::apdu::tlv;
    use crate::icao::pace::{self, Curve, PaceCipher, PaceInfo, Password};

    fn v() -> toml::Value {
        vectors()
    }

    #[test]
    fn ef_card_access_of_appendix_g1_offers_ecdh_gm_aes_128_on_brainpool() {
        let v = v();
        let infos = PaceInfo::from_card_access(&hex(&v, "pace.inputs.ef_card_access")).unwrap();
        assert_eq!(
            infos,
            vec![PaceInfo {
                oid: hex(&v, "pace.inputs.protocol_oid"),
                cipher: PaceCipher::Aes128,
                curve: Curve::BrainpoolP256r1,
            }]
        );
    }

    #[test]
    fn pace_keys_and_tokens_match_icao_appendix_g1() {
        let v = v();
        let info = PaceInfo::from_card_access(&hex(&v, "pace.inputs.ef_card_access"))
            .unwrap()
            .remove(0);
        let mrz = v["pace"]["inputs"]["mrz_information"]
            .as_str()
            .unwrap()
            .to_owned();
        let password = Password::Mrz(mrz);
        let k_pi = password.k_pi(info.cipher).unwrap();
        assert_eq!(k_pi.to_vec(), hex(&v, "pace.values.k_pi"));
        let s = pace::decrypt_nonce(&k_pi, &hex(&v, "pace.values.encrypted_nonce")).unwrap();
        assert_eq!(s.to_vec(), hex(&v, "pace.values.nonce_s"));
        assert_eq!(
            pace::encrypt_nonce(&k_pi, &s).unwrap(),
            hex(&v, "pace.values.encrypted_nonce")
        );

        let curve = info.curve;
        let pk_map_ifd = curve
            .public_key(&hex(&v, "pace.values.sk_map_ifd"))
            .unwrap();
        assert_eq!(pk_map_ifd, hex(&v, "pace.values.pk_map_ifd"));
        let h = curve
            .multiply(
                &hex(&v, "pace.values.pk_map_ic"),
                &hex(&v, "pace.values.sk_map_ifd"),
            )
            .unwrap();
        assert_eq!(h, hex(&v, "pace.values.h"));
        // The chip computes the same H from its side.
        let h_ic = curve
            .multiply(&pk_map_ifd, &hex(&v, "pace.values.sk_map_ic"))
            .unwrap();
        assert_eq!(h_ic, h);
        let g = curve.map(&s, &h).unwrap();
        assert_eq!(g, hex(&v, "pace.values.mapped_generator"));

        let pk_ifd = curve
            .public_key_on(&g, &hex(&v, "pace.values.sk_ifd"))
            .unwrap();
        assert_eq!(pk_ifd, hex(&v, "pace.values.pk_ifd"));
        let pk_ic = curve
            .public_key_on(&g, &hex(&v, "pace.values.sk_ic"))
            .unwrap();
        assert_eq!(pk_ic, hex(&v, "pace.values.pk_ic"));
        let shared = curve
            .x(&curve
                .multiply(&pk_ic, &hex(&v, "pace.values.sk_ifd"))
                .unwrap())
            .unwrap();
        assert_eq!(shared, hex(&v, "pace.values.shared_secret"));

        let (ks_enc, ks_mac) = pace::session_keys(&shared, info.cipher).unwrap();
        assert_eq!(ks_enc.to_vec(), hex(&v, "pace.values.ks_enc"));
        assert_eq!(ks_mac.to_vec(), hex(&v, "pace.values.ks_mac"));
        let t_ifd = pace::auth_token(&ks_mac, &info.oid, &pk_ic).unwrap();
        assert_eq!(t_ifd.to_vec(), hex(&v, "pace.values.t_ifd"));
        let t_ic = pace::auth_token(&ks_mac, &info.oid, &pk_ifd).unwrap();
        assert_eq!(t_ic.to_vec(), hex(&v, "pace.values.t_ic"));
        assert!(pace::verify_token(&t_ic, &hex(&v, "pace.values.t_ic")).is_ok());
        assert_eq!(
            pace::verify_token(&t_ic, &[0; 8]),
            Err(pace::PaceError::Token)
        );
    }

    #[test]
    fn the_general_authenticate_apdus_of_appendix_g1_are_rebuilt() {
        let v = v();
        let apdus = v["pace"]["apdus"].as_array().unwrap();
        let objects = [
            Vec::new(),
            tlv::to_vec(0x81, &hex(&v, "pace.values.pk_map_ifd")),
            tlv::to_vec(0x83, &hex(&v, "pace.values.pk_ifd")),
            tlv::to_vec(0x85, &hex(&v, "pace.values.t_ifd")),
        ];
        for (i, (apdu, objects)) in apdus.iter().zip(objects).enumerate() {
            let last = i == 3;
            let command = pace::general_authenticate(&objects, last).encode().unwrap();
            assert_eq!(
                command,
                hex(apdu, "command"),
                "GENERAL AUTHENTICATE {}",
                i + 1
            );
        }
        // The first response carries 80 = the encrypted nonce.
        let r = hex(&apdus[0], "response");
        let dyn_auth = tlv::expect(&r[..r.len() - 2], 0x7C).unwrap();
        assert_eq!(
            dyn_auth.require(0x80).unwrap().value,
            &hex(&v, "pace.values.encrypted_nonce")[..]
        );
    }

    #[test]
    fn mse_set_at_names_protocol_password_and_parameters() {
        let v = v();
        let info = PaceInfo::from_card_access(&hex(&v, "pace.inputs.ef_card_access"))
            .unwrap()
            .remove(0);
        let c = pace::mse_set_at(&info, &Password::Can("000001".into()))
            .encode()
            .unwrap();
        assert_eq!(
            hex::encode_upper(c),
            "0022C1A412800A04007F0007020204020283010284010D"
        );
    }

    #[test]
    fn the_vietnamese_id_can_gives_a_k_pi_from_its_digits() {
        // K_π = first 16 bytes of SHA-1("000001" ‖ 00000003).
        let k = Password::Can("000001".into())
            .k_pi(PaceCipher::Aes128)
            .unwrap();
        let mut input = b"000001".to_vec();
        input.extend_from_slice(&[0, 0, 0, 3]);
        use sha1::{Digest, Sha1};
        assert_eq!(k.to_vec(), Sha1::digest(&input)[..16].to_vec());
    }

    #[test]
    fn points_off_the_curve_and_zero_keys_are_refused() {
        let mut bad = hex(&v(), "pace.values.pk_map_ic");
        bad[40] ^= 1;
        assert_eq!(
            Curve::BrainpoolP256r1.multiply(&bad, &[1; 32]),
            Err(pace::PaceError::InvalidPoint)
        );
        assert_eq!(
            Curve::P256.public_key(&[0; 32]),
            Err(pace::PaceError::InvalidScalar)
        );
        assert_eq!(
            Curve::P256.public_key(&[0xFF; 32]),
            Err(pace::PaceError::InvalidScalar)
        );
    }
}
