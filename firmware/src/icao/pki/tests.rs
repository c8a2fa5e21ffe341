//! The trust store against master lists, CRLs and link certificates built
//! with the test kit (x509-cert's and cms's builders).

use super::*;
use crate::testkit::pki::{PkiOptions, TestMasterListIssuer, TestPki, simulator_pki};

/// 2026-11-25, as Unix seconds.
const NOW: u64 = 1_795_564_800;
/// 30 days.
const MONTH: u64 = 30 * 86_400;

fn issuer() -> TestMasterListIssuer {
    TestMasterListIssuer::new("YY", [0x11; 32], false).unwrap()
}

fn store_with_ml_anchor(issuer: &TestMasterListIssuer) -> TrustList {
    let mut store = TrustList::empty();
    store
        .add_master_list_anchor(&issuer.anchor.to_der().unwrap())
        .unwrap();
    store
}

fn rolled_over() -> TestPki {
    TestPki::with_options(
        "ZZ",
        [0; 32],
        PkiOptions {
            rolled_over_csca: true,
            ..PkiOptions::default()
        },
    )
    .unwrap()
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

#[test]
fn a_master_list_signed_under_the_configured_anchor_adds_its_cscas() {
    let pki = simulator_pki().unwrap();
    let issuer = issuer();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    let (signer, n) = store.add_master_list(&ml, NOW).unwrap();
    assert_eq!(n, 1);
    assert_eq!(signer, subject(&issuer.signer));
    let [anchor] = store.anchors() else {
        panic!("one anchor: {:?}", store.anchors());
    };
    assert_eq!(anchor.certificate, pki.csca);
    assert_eq!(anchor.source, Source::MasterList { signer });
    let outcome = store.chain(&pki.document_signer, NOW);
    assert_eq!(outcome.anchor, Some(anchor));
    assert!(outcome.profile.is_empty(), "{:?}", outcome.profile);
}

#[test]
fn a_master_list_whose_signature_fails_is_rejected_whole() {
    let pki = simulator_pki().unwrap();
    let issuer = issuer();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    // Re-sign the signed attributes' signature with garbage: flip a byte
    // of the signature value (the last bytes of the DER).
    let content = ContentInfo::from_der(&ml).unwrap();
    let mut signed: SignedData = content.content.decode_as().unwrap();
    let mut infos = signed.signer_infos.0.into_vec();
    let mut sig = infos[0].signature.as_bytes().to_vec();
    let last = sig.len() - 3;
    sig[last] ^= 0x01;
    infos[0].signature = OctetString::new(sig).unwrap();
    signed.signer_infos = cms::signed_data::SignerInfos(SetOfVec::try_from(infos).unwrap());
    let tampered = ContentInfo {
        content_type: SIGNED_DATA,
        content: der::Any::encode_from(&signed).unwrap(),
    }
    .to_der()
    .unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    let e = store.add_master_list(&tampered, NOW).unwrap_err();
    assert!(matches!(e, MasterListError::SignatureInvalid(_)), "{e:?}");
    assert!(store.anchors().is_empty(), "nothing of it is trusted");
}

#[test]
fn a_master_list_whose_content_was_altered_fails_its_digest() {
    let pki = simulator_pki().unwrap();
    let other = TestPki::new("XX", [0x5A; 32]).unwrap();
    let issuer = issuer();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    // Swap the signed list for another one under the same signature.
    let content = ContentInfo::from_der(&ml).unwrap();
    let mut signed: SignedData = content.content.decode_as().unwrap();
    let forged = CscaMasterList {
        version: 0,
        cert_list: SetOfVec::try_from(vec![other.csca.clone()]).unwrap(),
    };
    signed.encap_content_info.econtent =
        Some(der::Any::encode_from(&OctetString::new(forged.to_der().unwrap()).unwrap()).unwrap());
    let tampered = ContentInfo {
        content_type: SIGNED_DATA,
        content: der::Any::encode_from(&signed).unwrap(),
    }
    .to_der()
    .unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    assert_eq!(
        store.add_master_list(&tampered, NOW),
        Err(MasterListError::DigestMismatch)
    );
    assert!(store.anchors().is_empty());
}

#[test]
fn a_master_list_from_a_signer_outside_the_configured_anchors_is_rejected() {
    let pki = simulator_pki().unwrap();
    let stranger = TestMasterListIssuer::new("WW", [0x22; 32], false).unwrap();
    let ml = stranger
        .master_list(std::slice::from_ref(&pki.csca))
        .unwrap();
    let mut store = store_with_ml_anchor(&issuer());
    let e = store.add_master_list(&ml, NOW).unwrap_err();
    assert!(
        matches!(&e, MasterListError::SignerNotTrusted { issuer } if issuer.contains("Test CSCA WW")),
        "{e:?}"
    );
    assert!(store.anchors().is_empty());
}

#[test]
fn a_master_list_without_a_configured_signer_anchor_is_rejected() {
    let pki = simulator_pki().unwrap();
    let ml = issuer()
        .master_list(std::slice::from_ref(&pki.csca))
        .unwrap();
    let mut store = TrustList::empty();
    assert_eq!(
        store.add_master_list(&ml, NOW),
        Err(MasterListError::NoSignerAnchor)
    );
}

#[test]
fn a_master_list_signer_without_the_master_list_key_usage_is_rejected() {
    let pki = simulator_pki().unwrap();
    let issuer = TestMasterListIssuer::new("YY", [0x11; 32], true).unwrap();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    let e = store.add_master_list(&ml, NOW).unwrap_err();
    assert!(matches!(e, MasterListError::SignerProfile(_)), "{e:?}");
}

#[test]
fn a_master_list_signer_expired_today_is_rejected() {
    let pki = simulator_pki().unwrap();
    let issuer = issuer();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    // 2045-06-01: after the test certificates' validity.
    assert_eq!(
        store.add_master_list(&ml, 2_380_000_000),
        Err(MasterListError::SignerNotValid)
    );
}

#[test]
fn an_sod_is_not_a_master_list() {
    let mut store = store_with_ml_anchor(&issuer());
    let e = store
        .add_master_list(b"\x30\x03\x02\x01\x00", NOW)
        .unwrap_err();
    assert!(matches!(e, MasterListError::Malformed(_)), "{e:?}");
}

#[test]
fn a_crl_signed_by_its_csca_is_accepted_and_revokes_the_listed_signer() {
    let pki = simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    let crl = store
        .add_crl(&pki.crl(&[2], NOW - MONTH, NOW + MONTH).unwrap())
        .unwrap();
    assert_eq!(crl.revoked_count(), 1);
    let outcome = store.chain(&pki.document_signer, NOW);
    assert!(outcome.anchor.is_some());
    assert_eq!(
        outcome.revocation,
        Revocation::Revoked { since: NOW - MONTH }
    );
}

#[test]
fn a_current_crl_that_does_not_list_the_signer_clears_it() {
    let pki = simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    store.set_require_crl(true);
    store
        .add_crl(&pki.crl(&[77], NOW - MONTH, NOW + MONTH).unwrap())
        .unwrap();
    assert_eq!(
        store.chain(&pki.document_signer, NOW).revocation,
        Revocation::NotRevoked
    );
    assert!(store.problems(NOW).is_empty(), "{:?}", store.problems(NOW));
}

#[test]
fn an_expired_crl_fails_closed_and_is_reported() {
    let pki = simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    store
        .add_crl(&pki.crl(&[], NOW - 3 * MONTH, NOW - MONTH).unwrap())
        .unwrap();
    let status = store.chain(&pki.document_signer, NOW).revocation;
    assert_eq!(
        status,
        Revocation::CrlExpired {
            next_update: NOW - MONTH
        }
    );
    assert!(!status.acceptable());
    assert_eq!(
        store.problems(NOW),
        vec![Problem::CrlExpired {
            issuer: subject(&pki.csca),
            next_update: NOW - MONTH
        }]
    );
}

#[test]
fn a_missing_crl_refuses_only_when_the_store_requires_one() {
    let pki = simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    assert_eq!(
        store.chain(&pki.document_signer, NOW).revocation,
        Revocation::NotRequired
    );
    store.set_require_crl(true);
    assert_eq!(
        store.chain(&pki.document_signer, NOW).revocation,
        Revocation::CrlMissing
    );
    assert_eq!(
        store.problems(NOW),
        vec![Problem::CrlMissing {
            subject: subject(&pki.csca)
        }]
    );
}

#[test]
fn a_crl_under_the_csca_name_but_another_key_is_refused() {
    let pki = simulator_pki().unwrap();
    // Same country, same CSCA name, another key.
    let impostor = TestPki::new("ZZ", [9; 32]).unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    let e = store
        .add_crl(&impostor.crl(&[2], NOW - MONTH, NOW + MONTH).unwrap())
        .unwrap_err();
    assert_eq!(
        e,
        CrlError::SignatureInvalid {
            issuer: subject(&pki.csca)
        }
    );
    assert!(store.crls().is_empty());
}

#[test]
fn a_crl_of_an_untrusted_csca_is_refused() {
    let pki = simulator_pki().unwrap();
    let other = TestPki::new("XX", [0x5A; 32]).unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    let e = store
        .add_crl(&other.crl(&[], NOW - MONTH, NOW + MONTH).unwrap())
        .unwrap_err();
    assert_eq!(
        e,
        CrlError::UnknownIssuer {
            issuer: subject(&other.csca)
        }
    );
}

#[test]
fn a_crl_that_is_not_one_is_malformed() {
    let pki = simulator_pki().unwrap();
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    let e = store.add_crl(b"not a crl").unwrap_err();
    assert!(matches!(e, CrlError::Malformed(_)), "{e:?}");
    // A certificate is not a CRL either.
    let e = store.add_crl(&pki.csca_der().unwrap()).unwrap_err();
    assert!(matches!(e, CrlError::Malformed(_)), "{e:?}");
}

#[test]
fn a_csca_reached_through_a_link_certificate_is_accepted() {
    let pki = rolled_over();
    let link = pki.link.clone().unwrap();
    // The kiosk trusts the old CSCA only: the new key's DS fails.
    let old_only = TrustList::new(vec![pki.csca.clone()]);
    let outcome = old_only.chain(&pki.document_signer, NOW);
    assert!(outcome.anchor.is_none());
    assert!(outcome.issuer_known, "the name is known, the key is not");
    // With the link certificate, the new CSCA is anchored through it.
    let mut store = TrustList::new(vec![pki.csca.clone()]);
    store.add_certificate(link.clone(), Source::File);
    let outcome = store.chain(&pki.document_signer, NOW);
    let anchor = outcome.anchor.unwrap();
    assert_eq!(anchor.certificate, link);
    assert_eq!(
        anchor.source,
        Source::Link {
            issuer: subject(&pki.csca)
        }
    );
    assert!(outcome.profile.is_empty(), "{:?}", outcome.profile);
}

#[test]
fn a_link_certificate_without_its_predecessor_is_not_trusted() {
    let pki = rolled_over();
    let link = pki.link.clone().unwrap();
    let store = TrustList::new(vec![link.clone()]);
    assert!(store.anchors().is_empty());
    assert!(store.chain(&pki.document_signer, NOW).anchor.is_none());
    assert_eq!(
        store.problems(NOW),
        vec![Problem::UnanchoredLink {
            subject: subject(&link),
            issuer: subject(&link),
        }]
    );
    // The predecessor arriving later resolves it.
    let mut store = store;
    store.add_certificate(pki.csca.clone(), Source::File);
    assert_eq!(store.anchors().len(), 2);
    assert!(store.chain(&pki.document_signer, NOW).anchor.is_some());
}

#[test]
fn a_link_certificate_from_a_master_list_keeps_its_provenance() {
    let pki = rolled_over();
    let issuer = issuer();
    let ml = issuer
        .master_list(&[pki.csca.clone(), pki.link.clone().unwrap()])
        .unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    store.add_master_list(&ml, NOW).unwrap();
    let anchor = store.chain(&pki.document_signer, NOW).anchor.unwrap();
    assert_eq!(
        anchor.source,
        Source::MasterList {
            signer: subject(&issuer.signer)
        }
    );
}

#[test]
fn certificate_profiles_are_checked_each_with_its_fault() {
    let with = |options: PkiOptions| TestPki::with_options("ZZ", [0; 32], options).unwrap();
    let ca_ds = with(PkiOptions {
        ds_is_ca: true,
        ..PkiOptions::default()
    });
    let store = TrustList::new(vec![ca_ds.csca.clone()]);
    assert_eq!(
        store.chain(&ca_ds.document_signer, NOW).profile,
        vec![ProfileFault::DocumentSignerIsCa]
    );
    let no_sign = with(PkiOptions {
        ds_without_digital_signature: true,
        ..PkiOptions::default()
    });
    assert_eq!(
        store.chain(&no_sign.document_signer, NOW).profile,
        vec![ProfileFault::DocumentSignerKeyUsage]
    );
    let weak_csca = with(PkiOptions {
        csca_without_cert_sign: true,
        ..PkiOptions::default()
    });
    let store = TrustList::new(vec![weak_csca.csca.clone()]);
    assert_eq!(
        store.chain(&weak_csca.document_signer, NOW).profile,
        vec![ProfileFault::CscaKeyUsage]
    );
    assert_eq!(
        store.problems(NOW),
        vec![Problem::CscaProfile {
            subject: subject(&weak_csca.csca),
            fault: ProfileFault::CscaKeyUsage
        }]
    );
    // A non-CA certificate as "CSCA" (the DS itself, self-signed).
    let self_signed = with(PkiOptions {
        self_signed_ds: true,
        ..PkiOptions::default()
    });
    let store = TrustList::new(vec![self_signed.document_signer.clone()]);
    assert_eq!(
        store.chain(&self_signed.document_signer, NOW).profile,
        vec![ProfileFault::CscaNotCa, ProfileFault::CscaKeyUsage]
    );
}

#[test]
fn an_expired_csca_is_reported() {
    let pki = simulator_pki().unwrap();
    let store = TrustList::new(vec![pki.csca.clone()]);
    assert_eq!(
        store.problems(2_380_000_000),
        vec![Problem::CscaNotValid {
            subject: subject(&pki.csca)
        }]
    );
}

/// Fixtures made by OpenSSL (`firmware/tests/vectors/trust-store/gen.sh`):
/// an RSA-signed master list listing an ECDSA P-384 CSCA, and that CSCA's
/// CRL.
#[test]
fn an_openssl_master_list_and_crl_are_accepted() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/trust-store");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let anchor = Certificate::from_der(&read("ml-anchor.der")).unwrap();
    let now = unix(&anchor.tbs_certificate().validity().not_before) + 86_400;
    let mut store = TrustList::empty();
    store
        .add_master_list_anchor(&read("ml-anchor.der"))
        .unwrap();
    let (signer, n) = store.add_master_list(&read("master-list.ml"), now).unwrap();
    assert_eq!(n, 1);
    assert!(signer.contains("Fixture Master List Signer YY"), "{signer}");
    let csca = Certificate::from_der(&read("csca-zz.der")).unwrap();
    let [anchor] = store.anchors() else {
        panic!("{:?}", store.anchors());
    };
    assert_eq!(anchor.certificate, csca);
    assert_eq!(key_algorithm(&csca), "ecdsa P-384");
    assert_eq!(key_algorithm(&store.master_list_anchors()[0]), "rsa 2048");
    let crl = store.add_crl(&read("csca-zz.crl")).unwrap();
    assert_eq!(crl.revoked_count(), 1);
    assert!(crl.revoked_since(&[0x2A]).is_some());
    assert!(store.problems(now).is_empty(), "{:?}", store.problems(now));
    // One bit changed in the list's signature: rejected whole.
    let mut forged = read("master-list.ml");
    let at = forged.len() - 10;
    forged[at] ^= 0x01;
    let mut fresh = TrustList::empty();
    fresh
        .add_master_list_anchor(&read("ml-anchor.der"))
        .unwrap();
    assert!(
        matches!(
            fresh.add_master_list(&forged, now),
            Err(MasterListError::SignatureInvalid(_))
        ),
        "{:?}",
        fresh.add_master_list(&forged, now)
    );
    assert!(fresh.anchors().is_empty());
}

#[test]
fn a_master_lists_retired_csca_is_not_reported_as_a_problem() {
    let pki = simulator_pki().unwrap();
    let issuer = issuer();
    let ml = issuer.master_list(std::slice::from_ref(&pki.csca)).unwrap();
    let mut store = store_with_ml_anchor(&issuer);
    store.add_master_list(&ml, NOW).unwrap();
    // 2045-06-01: the listed CSCA has expired.
    let later = 2_380_000_000;
    assert!(
        store.problems(later).is_empty(),
        "{:?}",
        store.problems(later)
    );
    // The same certificate from the folder is staff's to renew.
    let folder = TrustList::new(vec![pki.csca.clone()]);
    assert_eq!(
        folder.problems(later),
        vec![Problem::CscaNotValid {
            subject: subject(&pki.csca)
        }]
    );
}
