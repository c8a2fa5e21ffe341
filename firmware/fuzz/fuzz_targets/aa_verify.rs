#![no_main]
//! Fuzz target: aa_verify, Active Authentication (ICAO 9303-11 §6.1): the
//! check of a chip's answer against DG15's public key, with the hash DG14
//! names. Run with `cargo xtask fuzz aa_verify`.
//!
//! Input: DG15 (2-byte big-endian length, bytes), a flag byte (odd: DG14
//! follows), DG14 (2-byte length, bytes), the 8-byte challenge, then the
//! chip's answer (the rest). Seeds are the simulator cards' DG15/DG14 with
//! a correct signature (`firmware/examples/fuzz_seeds.rs`).
use kiosk_firmware::icao::aa;
use libfuzzer_sys::fuzz_target;

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

fn take_framed<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = take(rest, 2)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]])).min(rest.len());
    take(rest, len)
}

fn split(data: &[u8]) -> Option<(&[u8], Option<&[u8]>, [u8; 8], &[u8])> {
    let mut rest = data;
    let dg15 = take_framed(&mut rest)?;
    let flag = take(&mut rest, 1)?[0];
    let dg14 = take_framed(&mut rest)?;
    let challenge = take(&mut rest, 8)?.try_into().ok()?;
    Some((dg15, (flag & 1 == 1).then_some(dg14), challenge, rest))
}

fuzz_target!(|data: &[u8]| {
    if let Some((dg15, dg14, challenge, response)) = split(data) {
        let _ = aa::verify(dg15, dg14, &challenge, response);
    }
});
