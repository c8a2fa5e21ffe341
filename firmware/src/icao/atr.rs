//! What the ATR's historical bytes say about the card (ISO/IEC 7816-4
//! §8.1.1): the card capabilities data object (tag `7`, length 3 in the
//! compact-TLV after category indicator `80`) announces extended Lc/Le in
//! bit 7 of its third software function byte.

/// The historical bytes of an ATR, as far as the ATR can be followed.
pub fn historical_bytes(atr: &[u8]) -> &[u8] {
    let [0x3B | 0x3F, t0, rest @ ..] = atr else {
        return &[];
    };
    let k = usize::from(t0 & 0x0F);
    let mut y = t0 >> 4;
    let mut i = 0;
    let mut t_protocols = false;
    loop {
        let n = y.count_ones() as usize;
        let td = if y & 0x8 != 0 {
            rest.get(i + n - 1).copied()
        } else {
            None
        };
        i += n;
        match td {
            Some(td) => {
                t_protocols |= td & 0x0F != 0;
                y = td >> 4;
            }
            None => break,
        }
    }
    let _ = t_protocols;
    rest.get(i..i + k).unwrap_or(&[])
}

/// Whether the card says it takes extended-length APDUs.
pub fn extended_length(atr: &[u8]) -> bool {
    let h = historical_bytes(atr);
    let Some((&0x80, mut objects)) = h.split_first() else {
        return false;
    };
    while let Some((&tl, rest)) = objects.split_first() {
        let (tag, len) = (tl >> 4, usize::from(tl & 0x0F));
        let Some(value) = rest.get(..len) else {
            return false;
        };
        if tag == 7 && len == 3 {
            return value[2] & 0x40 != 0;
        }
        objects = &rest[len..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_capabilities_in_the_historical_bytes_announce_extended_length() {
        // 3B 85 80 01 | 80 73 C0 21 C0 | TCK: T0 = 85 (TD1 present, 5 historical bytes).
        let atr = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x55];
        assert_eq!(historical_bytes(&atr), &[0x80, 0x73, 0xC0, 0x21, 0xC0]);
        assert!(extended_length(&atr));
        let short = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0x80, 0x15];
        assert!(!extended_length(&short));
        assert!(!extended_length(&[0x3B, 0x80, 0x80, 0x01, 0x01]));
        assert!(!extended_length(&[]));
        assert!(!extended_length(&[0x3B, 0x8F]));
    }
}
