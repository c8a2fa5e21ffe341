//! What is specific to the Vietnamese chip ID card (CCCD 2021, thẻ căn cước
//! 2024): the ID number, the card QR, the expiry rules, and from them the
//! access keys to try on the chip without asking the citizen to type;
//! [`scan`] reads the card QR in camera frames.
//! Reference: `shared/reference/icao-cccd.md` Part B.

pub mod date;
pub mod dg13;
pub mod expiry;
pub mod id;
pub mod qr;
pub mod scan;

use date::Date;
use id::IdNumber;
use qr::CardQr;

/// The access keys, which belong to ICAO 9303 ([`crate::icao::keys`]);
/// this module builds them from what a CCCD holder gives the kiosk.
pub use crate::icao::keys::KeyCandidate;

fn mrz_candidates(
    id: &IdNumber,
    birth: Date,
    expiries: Vec<String>,
) -> impl Iterator<Item = KeyCandidate> + '_ {
    expiries
        .into_iter()
        .map(move |date_of_expiry| KeyCandidate::Mrz {
            document_number: id.document_number().to_owned(),
            date_of_birth: birth.yymmdd(),
            date_of_expiry,
        })
}

/// The keys to try, in order, from a scanned card QR: PACE-CAN first (it
/// needs no expiry), then BAC with the legal expiry and its neighbours
/// (reference §B.3, "recommended order").
pub fn keys_from_qr(qr: &CardQr) -> Vec<KeyCandidate> {
    let mut keys = vec![KeyCandidate::Can(qr.id.can().to_owned())];
    keys.extend(mrz_candidates(
        &qr.id,
        qr.date_of_birth,
        expiry::expiry_candidates(qr.date_of_birth, qr.date_of_issue),
    ));
    keys
}

/// Why typed key material is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyInputError {
    /// The ID number is not 12 digits.
    #[error(transparent)]
    Id(#[from] id::IdError),
    /// The date of birth is not a valid `YYMMDD` date.
    #[error("the date of birth is not a valid YYMMDD date")]
    BirthDate,
    /// The scanned QR is not a card QR.
    #[error("the QR code is not the card's QR code")]
    Qr,
    /// A CAN is 6 digits.
    #[error("a card access number has 6 digits")]
    Can,
    /// The MRZ is invalid.
    #[error("the MRZ is invalid")]
    Mrz,
}

/// The keys to try from a typed ID number and date of birth (`YYMMDD`),
/// when the date of issue is unknown: PACE-CAN, then BAC with every
/// renewal birthday still ahead on `today` (the nearest first), then no
/// expiry. The century comes from the ID number's fourth digit.
pub fn keys_from_id(
    id: &IdNumber,
    birth_yymmdd: &str,
    today: Date,
) -> Result<Vec<KeyCandidate>, KeyInputError> {
    let (hint_year, _) = id.birth_hint();
    let yy: u16 = birth_yymmdd
        .get(0..2)
        .and_then(|s| s.parse().ok())
        .ok_or(KeyInputError::BirthDate)?;
    let mm: u8 = birth_yymmdd
        .get(2..4)
        .and_then(|s| s.parse().ok())
        .ok_or(KeyInputError::BirthDate)?;
    let dd: u8 = birth_yymmdd
        .get(4..6)
        .and_then(|s| s.parse().ok())
        .ok_or(KeyInputError::BirthDate)?;
    if birth_yymmdd.len() != 6 {
        return Err(KeyInputError::BirthDate);
    }
    let birth =
        Date::new(hint_year - hint_year % 100 + yy, mm, dd).ok_or(KeyInputError::BirthDate)?;
    let mut expiries: Vec<String> = Vec::new();
    for m in [14u16, 25, 40, 60] {
        let day = birth.add_years(m);
        if day >= today && !expiries.contains(&day.yymmdd()) {
            expiries.push(day.yymmdd());
        }
    }
    expiries.push(expiry::NO_EXPIRY.to_owned());
    let mut keys = vec![KeyCandidate::Can(id.can().to_owned())];
    keys.extend(mrz_candidates(id, birth, expiries));
    Ok(keys)
}

/// The keys to try for what the citizen gave the kiosk. `today` (Vietnam
/// time) bounds the expiry candidates of a typed ID and birth date.
pub fn keys_for(
    key: &crate::session::AccessKey,
    today: Date,
) -> Result<Vec<KeyCandidate>, KeyInputError> {
    use crate::session::AccessKey;
    match key {
        AccessKey::CardQr(text) => Ok(keys_from_qr(
            &CardQr::parse(text).map_err(|_| KeyInputError::Qr)?,
        )),
        AccessKey::IdAndBirthDate {
            id_number,
            date_of_birth,
        } => keys_from_id(&IdNumber::parse(id_number)?, date_of_birth, today),
        AccessKey::Can(can) => {
            if can.len() == 6 && can.bytes().all(|b| b.is_ascii_digit()) {
                Ok(vec![KeyCandidate::Can(can.clone())])
            } else {
                Err(KeyInputError::Can)
            }
        }
        AccessKey::Mrz(text) => {
            let mrz = crate::icao::mrz::Mrz::parse(text).map_err(|_| KeyInputError::Mrz)?;
            Ok(vec![KeyCandidate::from_mrz(&mrz)])
        }
    }
}

/// A chip read turned into the holder's records. Personal data: every part
/// zeroizes on drop.
#[derive(Debug)]
pub struct Identified {
    /// DG13.
    pub citizen: dg13::Citizen,
    /// DG1.
    pub mrz: crate::icao::mrz::Mrz,
    /// DG2, absent on cards of children under 6.
    pub face: Option<crate::icao::lds::FaceImage>,
}

/// Why a read document does not identify anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    /// DG1 or DG13 was not read.
    #[error("{0} was not read")]
    Missing(&'static str),
    /// DG1 does not parse.
    #[error(transparent)]
    Lds(#[from] crate::icao::lds::LdsError),
    /// DG13 does not parse.
    #[error(transparent)]
    Dg13(#[from] dg13::Dg13Error),
    /// DG1 and DG13 disagree on the ID number: data from two cards, or
    /// altered data.
    #[error("DG1 and DG13 name different ID numbers")]
    Inconsistent,
}

/// Parses the files of a read into the holder's records and cross-checks
/// them (MRZ document number = ID digits 4–12).
pub fn identify(document: &crate::icao::reader::Document) -> Result<Identified, IdentifyError> {
    use crate::icao::lds::{File, parse_dg1, parse_dg2};
    let dg1 = document
        .files
        .get(&File::Dg(1))
        .ok_or(IdentifyError::Missing("DG1"))?;
    let dg13 = document
        .files
        .get(&File::Dg(13))
        .ok_or(IdentifyError::Missing("DG13"))?;
    let mrz = parse_dg1(dg1)?;
    let citizen = dg13::parse(dg13)?;
    let id = citizen.id().ok_or(dg13::Dg13Error::IdNumber)?;
    if mrz.document_number != id.document_number() {
        return Err(IdentifyError::Inconsistent);
    }
    let face = match document.files.get(&File::Dg(2)) {
        Some(dg2) => Some(parse_dg2(dg2)?),
        None => None,
    };
    Ok(Identified { citizen, mrz, face })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_gives_pace_can_first_then_bac_with_the_legal_expiry() {
        let qr = CardQr::parse("003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021").unwrap();
        let keys = keys_from_qr(&qr);
        assert_eq!(keys[0], KeyCandidate::Can("000001".into()));
        assert_eq!(
            keys[1],
            KeyCandidate::Mrz {
                document_number: "090000001".into(),
                date_of_birth: "900115".into(),
                date_of_expiry: "300115".into(),
            }
        );
        assert!(
            matches!(keys.last(), Some(KeyCandidate::Mrz { date_of_expiry, .. }) if date_of_expiry == "991231")
        );
    }

    #[test]
    fn a_typed_id_and_birth_date_give_the_renewal_birthdays_ahead() {
        let id = IdNumber::parse("003090000001").unwrap();
        let today = Date::new(2026, 11, 25).unwrap();
        let keys = keys_from_id(&id, "900115", today).unwrap();
        let expiries: Vec<&str> = keys
            .iter()
            .filter_map(|k| match k {
                KeyCandidate::Mrz { date_of_expiry, .. } => Some(date_of_expiry.as_str()),
                KeyCandidate::Can(_) => None,
            })
            .collect();
        assert_eq!(expiries, ["300115", "500115", "991231"]);
    }

    #[test]
    fn the_century_comes_from_the_id_number() {
        let id = IdNumber::parse("001305000003").unwrap();
        let today = Date::new(2026, 11, 25).unwrap();
        let keys = keys_from_id(&id, "050301", today).unwrap();
        assert!(keys.contains(&KeyCandidate::Mrz {
            document_number: "305000003".into(),
            date_of_birth: "050301".into(),
            date_of_expiry: "300301".into(),
        }));
    }

    #[test]
    fn a_bad_typed_birth_date_is_refused() {
        let id = IdNumber::parse("003090000001").unwrap();
        let today = Date::new(2026, 11, 25).unwrap();
        for bad in ["901315", "9001", "90011", "ab0115", "9001155"] {
            assert_eq!(
                keys_from_id(&id, bad, today),
                Err(KeyInputError::BirthDate),
                "{bad}"
            );
        }
    }
}
