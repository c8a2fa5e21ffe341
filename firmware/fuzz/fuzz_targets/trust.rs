#![no_main]
//! Fuzz target: trust, the verification policy over a hostile chip's files
//! (issue 13). A document is made of fuzzed files as a reader would hand
//! them over — EF.COM, the data groups, EF.SOD, the Active Authentication
//! answer, how chip authentication went — and judged by
//! `trust::evaluate` (passive authentication against the simulator's CSCA,
//! `aa::check_document`, `ca::check_document`, `cccd::identify`,
//! `trust::assess`) and `trust::permits` for every purpose. It must never
//! panic. Run with `cargo xtask fuzz trust`.
//!
//! Input: a header byte (bits 0-1 chip authentication, bit 2 an AA answer
//! present, bits 3-4 the access key kind), then files, each a tag byte
//! (0 EF.COM, 1-16 DG1-DG16, 29 EF.SOD, 30 the AA answer, 31 a refused
//! listed file whose number is the next byte), a 2-byte big-endian length
//! and the bytes. The seeds are the files of genuine reads of the
//! simulator's cards (`firmware/examples/fuzz_seeds.rs`).
use kiosk_firmware::apdu::StatusWord;
use kiosk_firmware::cccd::date::Date;
use kiosk_firmware::icao::lds::{Com, File};
use kiosk_firmware::icao::pa::TrustList;
use kiosk_firmware::icao::reader::{AccessControl, ChipAuthentication, Document};
use kiosk_firmware::session::AccessKey;
use kiosk_firmware::trust::{Policy, Purpose};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn trust_list() -> &'static TrustList {
    static T: OnceLock<TrustList> = OnceLock::new();
    T.get_or_init(|| {
        let csca = kiosk_firmware::testkit::pki::simulator_pki()
            .expect("the simulator's PKI")
            .csca;
        TrustList::new(vec![csca])
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&header, mut rest)) = data.split_first() else {
        return;
    };
    let mut files = BTreeMap::new();
    let mut unavailable = Vec::new();
    let mut aa_answer = None;
    while let Some((&tag, tail)) = rest.split_first() {
        if tag == 31 {
            let Some((&n, tail)) = tail.split_first() else {
                break;
            };
            unavailable.push((File::Dg(n.clamp(1, 16)), StatusWord(0x6982)));
            rest = tail;
            continue;
        }
        let Some((len, tail)) = tail.split_first_chunk::<2>() else {
            break;
        };
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (bytes, tail) = tail.split_at(len);
        rest = tail;
        match tag {
            0 => {
                files.insert(File::Com, bytes.to_vec());
            }
            1..=16 => {
                files.insert(File::Dg(tag), bytes.to_vec());
            }
            29 => {
                files.insert(File::Sod, bytes.to_vec());
            }
            30 => aa_answer = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let com = files
        .get(&File::Com)
        .and_then(|c| Com::parse(c).ok())
        .unwrap_or(Com {
            lds_version: "0107".into(),
            unicode_version: "040000".into(),
            data_groups: vec![1, 2, 13, 14, 15],
        });
    let chip_authentication = match header & 3 {
        0 => ChipAuthentication::NotOffered,
        1 => ChipAuthentication::Confirmed,
        2 => ChipAuthentication::Refused,
        _ => ChipAuthentication::Unsupported,
    };
    let active_authentication =
        (header & 4 != 0).then(|| ([0x11u8; 8], Ok(aa_answer.clone().unwrap_or_default())));
    let document = Document {
        com,
        files,
        unavailable,
        access: AccessControl::PaceCan,
        card_access: None,
        apdus: 0,
        bytes: 0,
        resumed: 0,
        fallbacks: Default::default(),
        active_authentication,
        chip_authentication,
    };
    let key = match (header >> 3) & 3 {
        0 => AccessKey::CardQr("003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021".into()),
        1 => AccessKey::Can("000001".into()),
        2 => AccessKey::IdAndBirthDate {
            id_number: "003090000001".into(),
            date_of_birth: "900115".into(),
        },
        _ => AccessKey::Mrz(String::from_utf8_lossy(data).into_owned()),
    };
    let today = Date::new(2026, 11, 25).expect("a date");
    let (trust, _records) =
        kiosk_firmware::trust::evaluate(&document, &key, trust_list(), 1_795_564_800, today);
    let policy = Policy::default();
    for purpose in [
        Purpose::Identify,
        Purpose::Ticket { service: "A" },
        Purpose::PriorityTicket { service: "A" },
        Purpose::OnlineRequest { procedure: "1.001" },
    ] {
        let _ = kiosk_firmware::trust::permits(&policy, &trust, purpose);
    }
});
