#![no_main]
//! Fuzz target: trust_store. Staff-supplied files of the trust store (ICAO
//! master lists, CRLs, certificates) against a store holding the
//! simulator's CSCA and a master-list signer anchor: no input panics, and
//! nothing that fails to verify is added. Run with `cargo +nightly fuzz run
//! trust_store` in firmware/fuzz.
use kiosk_firmware::icao::pa::TrustList;
use kiosk_firmware::testkit::pki;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn store() -> &'static TrustList {
    static S: OnceLock<TrustList> = OnceLock::new();
    S.get_or_init(|| {
        let sim = pki::simulator_pki().expect("the simulator PKI");
        let issuer =
            pki::TestMasterListIssuer::new("YY", [0x11; 32], false).expect("the list issuer");
        let mut store = TrustList::new(vec![sim.csca]);
        store
            .add_master_list_anchor(
                &pki::certificate_der(&issuer.anchor).expect("the anchor encodes"),
            )
            .expect("the anchor loads");
        store
    })
}

fuzz_target!(|data: &[u8]| {
    let mut s = store().clone();
    let anchors = s.anchors().len();
    if s.add_master_list(data, 1_795_564_800).is_err() {
        assert_eq!(s.anchors().len(), anchors, "a rejected list adds nothing");
    }
    let crls = s.crls().len();
    if s.add_crl(data).is_err() {
        assert_eq!(s.crls().len(), crls, "a rejected CRL adds nothing");
    }
    let _ = s.add(data);
    let _ = s.problems(1_795_564_800);
});
