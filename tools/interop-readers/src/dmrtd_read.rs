//! A read with the crate `dmrtd`: its `Passport` for access control, its
//! `MrtdApi` (secure messaging, READ BINARY by short file identifier) for
//! the files, and its parsers to check what was read.

use crate::mrz::BacKey;
use crate::{Access, Outcome, pcsc_link};
use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::df1::efcom::EfCOM;
use dmrtd::lds::df1::efdg1::EfDG1;
use dmrtd::lds::df1::efdg2::EfDG2;
use dmrtd::lds::df1::efdg14::EfDG14;
use dmrtd::lds::df1::efdg15::EfDG15;
use dmrtd::lds::df1::efsod::EfSOD;
use dmrtd::lds::ef::ElementaryFile as _;
use dmrtd::lds::efcard_access::EfCardAccess;
use dmrtd::lds::mrz::Mrz;
use dmrtd::passport::Passport;
use dmrtd::proto::can_key::CanKey;
use dmrtd::proto::dba_key::DBAKey;
use std::cell::Cell;
use std::rc::Rc;

/// dmrtd's transport: one PC/SC card, counting the APDUs sent.
struct Link {
    card: pcsc::Card,
    apdus: Rc<Cell<u32>>,
}

impl Transceiver for Link {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransceiveError> {
        self.apdus.set(self.apdus.get() + 1);
        pcsc_link::transmit(&self.card, apdu).map_err(|e| TransceiveError::new(e.to_string()))
    }
}

/// The data group a tag of EF.COM's tag list names (9303-10 Table 33).
pub(crate) fn dg_of_tag(tag: u32) -> Option<u8> {
    Some(match tag {
        0x61 => 1,
        0x75 => 2,
        0x63 => 3,
        0x76 => 4,
        0x65..=0x70 => u8::try_from(tag - 0x65 + 5).ok()?,
        _ => return None,
    })
}

/// Reads the chip with dmrtd; returns what it read and the APDUs it sent.
pub(crate) fn read(
    card: pcsc::Card,
    mrz_text: &str,
    key: &BacKey,
    can: Option<&str>,
    pace_mrz: bool,
) -> (Outcome, u32) {
    let apdus = Rc::new(Cell::new(0));
    let mut passport = Passport::new(Link {
        card,
        apdus: Rc::clone(&apdus),
    });
    let mut outcome = Outcome::default();
    read_into(&mut passport, mrz_text, key, can, pace_mrz, &mut outcome);
    (outcome, apdus.get())
}

fn read_into(
    passport: &mut Passport<Link>,
    mrz_text: &str,
    key: &BacKey,
    can: Option<&str>,
    pace_mrz: bool,
    outcome: &mut Outcome,
) {
    let joined: String = mrz_text.chars().filter(|c| !c.is_whitespace()).collect();
    let mrz = match Mrz::from_bytes(joined.into_bytes()) {
        Ok(m) => m,
        Err(e) => {
            outcome
                .errors
                .push(format!("dmrtd does not parse the MRZ: {e}"));
            return;
        }
    };
    if mrz.document_number().trim_end_matches('<') != key.document_number {
        outcome.errors.push(format!(
            "dmrtd reads the MRZ's document number as {:?}",
            mrz.document_number()
        ));
    }
    if can.is_some() || pace_mrz {
        // dmrtd's Passport selects the master file (00 A4 00 0C 3F00)
        // before it reads EF.CardAccess; the CCCD refuses SELECT MF, so
        // read it as 9303-11 §4.4 allows, by short file identifier from the
        // implicitly selected MF, with dmrtd's own READ BINARY.
        let card_access = match passport.read_ef_card_access() {
            Ok(ca) => Some(ca),
            Err(e) => {
                outcome.errors.push(format!(
                    "EF.CardAccess through dmrtd's Passport (SELECT MF first): {e}"
                ));
                match passport.api_mut().read_file_by_sfi(0x1C) {
                    Ok(bytes) => match EfCardAccess::from_bytes(bytes) {
                        Ok(ca) => Some(ca),
                        Err(e) => {
                            outcome.errors.push(format!("EF.CardAccess: {e}"));
                            None
                        }
                    },
                    Err(e) => {
                        outcome
                            .errors
                            .push(format!("EF.CardAccess by short file identifier: {e}"));
                        None
                    }
                }
            }
        };
        let Some(card_access) = card_access else {
            return;
        };
        outcome
            .files
            .insert("EF.CardAccess".into(), card_access.to_bytes().to_vec());
        let session = match can {
            Some(can) => match CanKey::new(can) {
                Ok(k) => passport
                    .start_session_pace(k, &card_access)
                    .map(|()| Access::PaceCan),
                Err(e) => {
                    outcome.errors.push(format!("--can: {e}"));
                    return;
                }
            },
            None => match DBAKey::new(
                mrz.document_number(),
                mrz.date_of_birth,
                mrz.date_of_expiry,
                true,
            ) {
                Ok(k) => passport
                    .start_session_pace(k, &card_access)
                    .map(|()| Access::PaceMrz),
                Err(e) => {
                    outcome.errors.push(format!("the MRZ key: {e}"));
                    return;
                }
            },
        };
        match session {
            Ok(access) => outcome.access = Some(access),
            Err(e) => {
                outcome.errors.push(format!("PACE: {e}"));
                return;
            }
        }
        // After PACE the eMRTD application is selected under secure
        // messaging.
        if let Err(e) = passport.api_mut().select_emrtd_application() {
            outcome
                .errors
                .push(format!("SELECT eMRTD application after PACE: {e}"));
            return;
        }
    } else {
        let session = DBAKey::from_mrz(&mrz)
            .map_err(|e| e.to_string())
            .and_then(|k| passport.start_session(k).map_err(|e| e.to_string()));
        match session {
            Ok(()) => outcome.access = Some(Access::Bac),
            Err(e) => {
                outcome.errors.push(format!("BAC: {e}"));
                return;
            }
        }
    }
    let api = passport.api_mut();
    let com = match api.read_file_by_sfi(0x1E) {
        Ok(bytes) => bytes,
        Err(e) => {
            outcome.errors.push(format!("EF.COM: {e}"));
            return;
        }
    };
    outcome.files.insert("EF.COM".into(), com.clone());
    let groups: Vec<u8> = match EfCOM::from_bytes(com) {
        Ok(com) => com
            .dg_tags()
            .iter()
            .filter_map(|t| dg_of_tag(t.value()))
            .collect(),
        Err(e) => {
            outcome.errors.push(format!("EF.COM: {e}"));
            return;
        }
    };
    for dg in groups {
        if dg == 3 || dg == 4 {
            // Fingerprints and iris need extended access control.
            continue;
        }
        let name = format!("DG{dg}");
        let bytes = match api.read_file_by_sfi(dg) {
            Ok(b) => b,
            Err(e) => {
                outcome.errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        let parsed = match dg {
            1 => EfDG1::from_bytes(bytes.clone()).map(|d| {
                outcome.mrz = Some(String::from_utf8_lossy(d.mrz().to_bytes()).into_owned());
            }),
            2 => EfDG2::from_bytes(bytes.clone()).map(drop),
            14 => EfDG14::from_bytes(bytes.clone()).map(drop),
            15 => EfDG15::from_bytes(bytes.clone()).map(drop),
            _ => Ok(()),
        };
        if let Err(e) = parsed {
            outcome
                .errors
                .push(format!("{name} as dmrtd parses it: {e}"));
        }
        outcome.files.insert(name, bytes);
    }
    match api.read_file_by_sfi(0x1D) {
        Ok(bytes) => {
            if let Err(e) = EfSOD::from_bytes(bytes.clone()) {
                outcome
                    .errors
                    .push(format!("EF.SOD as dmrtd parses it: {e}"));
            }
            outcome.files.insert("EF.SOD".into(), bytes);
        }
        Err(e) => outcome.errors.push(format!("EF.SOD: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::dg_of_tag;

    #[test]
    fn com_tags_name_their_data_groups() {
        assert_eq!(dg_of_tag(0x61), Some(1));
        assert_eq!(dg_of_tag(0x75), Some(2));
        assert_eq!(dg_of_tag(0x6D), Some(13));
        assert_eq!(dg_of_tag(0x6F), Some(15));
        assert_eq!(dg_of_tag(0x70), Some(16));
        assert_eq!(dg_of_tag(0x77), None);
    }
}
