//! A read with the crate `emrtd`: SELECT of the eMRTD application, BAC,
//! then each file selected by its identifier and read in chunks, as the
//! crate's example does. EF.COM's tag list is parsed here (emrtd does not).

use crate::dmrtd_read::dg_of_tag;
use crate::mrz::BacKey;
use crate::{Access, Outcome};
use emrtd::{EmrtdComms, other_mrz};

/// The value of the first BER-TLV object of `data` whose tag is `tag`
/// (one- or two-byte tags, definite lengths), among `data`'s top level.
fn find_tlv(mut data: &[u8], tag: u32) -> Option<&[u8]> {
    while !data.is_empty() {
        let (t, rest) = if data[0] & 0x1F == 0x1F {
            (
                u32::from(data[0]) << 8 | u32::from(*data.get(1)?),
                data.get(2..)?,
            )
        } else {
            (u32::from(data[0]), &data[1..])
        };
        let (len, rest) = match *rest.first()? {
            n @ 0..=0x7F => (usize::from(n), &rest[1..]),
            0x81 => (usize::from(*rest.get(1)?), rest.get(2..)?),
            0x82 => (
                usize::from(*rest.get(1)?) << 8 | usize::from(*rest.get(2)?),
                rest.get(3..)?,
            ),
            _ => return None,
        };
        let value = rest.get(..len)?;
        if t == tag {
            return Some(value);
        }
        data = &rest[len..];
    }
    None
}

/// The data groups EF.COM's tag list (`60 { … 5C tags }`) names.
fn com_groups(com: &[u8]) -> Option<Vec<u8>> {
    let inner = find_tlv(com, 0x60)?;
    let tags = find_tlv(inner, 0x5C)?;
    Some(
        tags.iter()
            .filter_map(|t| dg_of_tag(u32::from(*t)))
            .collect(),
    )
}

/// DG1's MRZ (`61 { 5F1F mrz }`).
fn dg1_mrz(dg1: &[u8]) -> Option<String> {
    let inner = find_tlv(dg1, 0x61)?;
    let mrz = find_tlv(inner, 0x5F1F)?;
    Some(String::from_utf8_lossy(mrz).into_owned())
}

/// Reads the chip with emrtd; the APDU count is not known on this side
/// (emrtd owns the card), so it is reported as 0: the chip's side counts.
pub(crate) fn read(card: pcsc::Card, key: &BacKey) -> (Outcome, u32) {
    let mut outcome = Outcome::default();
    let mut comms = EmrtdComms::new(card);
    read_into(&mut comms, key, &mut outcome);
    (outcome, 0)
}

/// Selects the file `fid` and reads it under secure messaging.
fn read_file(
    comms: &mut EmrtdComms,
    outcome: &mut Outcome,
    fid: u16,
    name: &str,
) -> Option<Vec<u8>> {
    let result = comms
        .select_ef(&fid.to_be_bytes(), name, true)
        .and_then(|()| comms.read_data_from_ef(true));
    match result {
        Ok(bytes) => {
            outcome.files.insert(name.to_owned(), bytes.clone());
            Some(bytes)
        }
        Err(e) => {
            outcome.errors.push(format!("{name}: {e}"));
            None
        }
    }
}

fn read_into(comms: &mut EmrtdComms, key: &BacKey, outcome: &mut Outcome) {
    if let Err(e) = comms.select_emrtd_application() {
        outcome
            .errors
            .push(format!("SELECT eMRTD application: {e}"));
        return;
    }
    let secret = match other_mrz(
        &key.document_number,
        &key.date_of_birth,
        &key.date_of_expiry,
    ) {
        Ok(s) => s,
        Err(e) => {
            outcome.errors.push(format!("emrtd refuses the MRZ: {e}"));
            return;
        }
    };
    if let Err(e) = comms.establish_bac_session_keys(secret.as_bytes()) {
        outcome.errors.push(format!("BAC: {e}"));
        return;
    }
    outcome.access = Some(Access::Bac);
    let Some(com) = read_file(comms, outcome, 0x011E, "EF.COM") else {
        return;
    };
    let Some(groups) = com_groups(&com) else {
        outcome.errors.push("EF.COM has no tag list".into());
        return;
    };
    let mut mrz = None;
    for dg in groups {
        if dg == 3 || dg == 4 {
            continue;
        }
        let bytes = read_file(comms, outcome, 0x0100 | u16::from(dg), &format!("DG{dg}"));
        if dg == 1 {
            mrz = bytes.as_deref().and_then(dg1_mrz);
        }
    }
    read_file(comms, outcome, 0x011D, "EF.SOD");
    if mrz.is_none() && outcome.files.contains_key("DG1") {
        outcome.errors.push("DG1 holds no MRZ (61 { 5F1F })".into());
    }
    outcome.mrz = mrz;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appendix_d4_ef_com_lists_dg1_and_dg2() {
        let com = hex::decode("60145F0104303130365F36063034303030305C026175").unwrap();
        assert_eq!(com_groups(&com), Some(vec![1, 2]));
    }

    #[test]
    fn dg1_gives_its_mrz_and_garbage_gives_none() {
        let mut dg1 = vec![0x61, 0x07, 0x5F, 0x1F, 0x04];
        dg1.extend_from_slice(b"P<UT");
        assert_eq!(dg1_mrz(&dg1).as_deref(), Some("P<UT"));
        assert_eq!(dg1_mrz(&[0x61, 0x05, 0x5F]), None);
        assert_eq!(dg1_mrz(&[0x61, 0x83, 0, 0, 1]), None);
        assert_eq!(com_groups(&[]), None);
    }
}
