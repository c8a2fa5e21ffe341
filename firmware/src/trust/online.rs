//! The online verification port (issue 14): asking the identity authority
//! (the Ministry of Public Security's C06 centre, Decree 69/2024) whether a
//! chip is genuine when passive authentication is intact but no CSCA
//! anchors it. Sans-IO: this module builds the request and judges the
//! answer; `board::c06` carries the bytes over mutual TLS on a worker
//! thread, and the runtime passes the wall clock in.
//!
//! - [`VerificationRequest`] carries what providers send to C06: EF.SOD,
//!   EF.COM, DG1, DG13, DG14, DG15 and the hash of DG2 (with the SOD's
//!   hash algorithm), never the photo unless the deployment says the
//!   endpoint requires it (data minimisation, PDP Law 91/2025/QH15); a
//!   random request id (128 bits) and the kiosk's id.
//! - The answer is a [`SignedVerdict`]: a [`VerdictBody`] (verdict id,
//!   request id, SHA-256 of EF.SOD, status, issue time) and an ECDSA
//!   P-256/SHA-256 signature over [`VerdictBody::signed_bytes`], a fixed
//!   line format (below), checked with a key pinned in the configuration
//!   ([`VerdictKey`]).
//! - [`check`] refuses, each with its own [`VerdictError`]: a malformed
//!   body, a bad signature, a verdict for another SOD, for another request
//!   (a replay), older than the configured age, dated in the future beyond
//!   the allowed skew.
//!
//! The signed bytes (UTF-8, every line ending in `\n`, no other
//! whitespace; the fields are validated before they are written, so no
//! value can contain a line break or `=`):
//!
//! ```text
//! cccd-kiosk-c06-verdict-v1
//! verdict_id=<1–64 of A–Z a–z 0–9 . _ ->
//! request_id=<32 lower-case hex digits>
//! sod_sha256=<64 lower-case hex digits>
//! status=<genuine|not_genuine|revoked|unknown_card>
//! issued_at_unix_ms=<decimal, no leading zeros>
//! ```
//!
//! Nothing here logs or serializes personal data but the request itself,
//! which goes only to the configured endpoint; its `Debug` prints no file.

use crate::icao::lds::File;
use crate::icao::pa::{self, HashAlgorithm};
use crate::icao::reader::Document;
use p256::ecdsa::signature::Verifier as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The first line of the signed bytes (the format's version).
pub const VERDICT_CONTEXT: &str = "cccd-kiosk-c06-verdict-v1";

/// The API path of a verification (`docs/c06-api.yaml`).
pub const VERIFY_PATH: &str = "/v1/verifications";

/// What the kiosk sends to the authority. Files are hex (upper or lower
/// case accepted by the reference server; the kiosk writes lower case).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// 32 lower-case hex digits of OS randomness; the verdict must echo it.
    pub request_id: String,
    /// The kiosk's id (also the common name of its client certificate).
    pub kiosk_id: String,
    /// EF.SOD as read, hex.
    pub ef_sod: String,
    /// EF.COM as read, hex.
    pub ef_com: String,
    /// DG1 (the MRZ), hex.
    pub dg1: String,
    /// DG13 (the citizen's records), hex.
    pub dg13: String,
    /// DG14 (chip authentication keys), hex, when the chip has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dg14: Option<String>,
    /// DG15 (the active-authentication key), hex, when the chip has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dg15: Option<String>,
    /// DG2's hash with the SOD's algorithm, when the chip has a photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dg2_hash: Option<String>,
    /// DG2 itself, hex: only when the configuration says the endpoint
    /// requires the photo (`send_photo = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dg2: Option<String>,
}

impl core::fmt::Debug for VerificationRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerificationRequest")
            .field("request_id", &self.request_id)
            .field("kiosk_id", &self.kiosk_id)
            .field("with_photo", &self.dg2.is_some())
            .finish_non_exhaustive()
    }
}

/// What the kiosk remembers of a request, to judge its answer: nothing
/// personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// The request id sent.
    pub request_id: String,
    /// SHA-256 of EF.SOD as read, hex.
    pub sod_sha256: String,
}

/// Why no request can be built from a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// EF.SOD, EF.COM, DG1 or DG13 was not read: nothing to verify.
    /// Remedy: none; the policy refuses such a card anyway.
    #[error("the read lacks a file the authority needs")]
    MissingFile,
    /// EF.SOD does not parse, or its hash algorithm is unknown, so DG2's
    /// hash cannot be stated. Remedy: none; the policy refuses it anyway.
    #[error("EF.SOD cannot be used")]
    SodUnusable,
}

/// SHA-256 of EF.SOD, hex: what a verdict is bound to.
pub fn sod_sha256(ef_sod: &[u8]) -> String {
    hex::encode(Sha256::digest(ef_sod))
}

impl VerificationRequest {
    /// The request for `document`, with `request_id` (16 random bytes)
    /// from the caller's randomness.
    pub fn build(
        document: &Document,
        kiosk_id: &str,
        request_id: [u8; 16],
        send_photo: bool,
    ) -> Result<(VerificationRequest, Pending), RequestError> {
        let file = |f: File| document.files.get(&f);
        let need = |f: File| file(f).map(hex::encode).ok_or(RequestError::MissingFile);
        let sod = file(File::Sod).ok_or(RequestError::MissingFile)?;
        let dg2 = file(File::Dg(2));
        let dg2_hash = match dg2 {
            None => None,
            Some(photo) => {
                let parsed = pa::parse_sod(sod).map_err(|_| RequestError::SodUnusable)?;
                let alg = HashAlgorithm::from_oid(&parsed.lds.hash_algorithm.oid)
                    .ok_or(RequestError::SodUnusable)?;
                Some(hex::encode(alg.digest(photo)))
            }
        };
        let request = VerificationRequest {
            request_id: hex::encode(request_id),
            kiosk_id: kiosk_id.to_owned(),
            ef_sod: hex::encode(sod),
            ef_com: need(File::Com)?,
            dg1: need(File::Dg(1))?,
            dg13: need(File::Dg(13))?,
            dg14: file(File::Dg(14)).map(hex::encode),
            dg15: file(File::Dg(15)).map(hex::encode),
            dg2_hash,
            dg2: dg2.filter(|_| send_photo).map(hex::encode),
        };
        let pending = Pending {
            request_id: request.request_id.clone(),
            sod_sha256: sod_sha256(sod),
        };
        Ok((request, pending))
    }
}

/// The authority's answer on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// The chip is genuine: its files were issued by the authority.
    Genuine,
    /// The chip's files were not issued by the authority (a forgery).
    NotGenuine,
    /// The card was genuine but has been revoked (reported lost, stolen,
    /// replaced).
    Revoked,
    /// The authority does not know the card's issuer.
    UnknownCard,
}

impl VerdictStatus {
    /// The code, as in the signed bytes.
    pub fn code(self) -> &'static str {
        match self {
            VerdictStatus::Genuine => "genuine",
            VerdictStatus::NotGenuine => "not_genuine",
            VerdictStatus::Revoked => "revoked",
            VerdictStatus::UnknownCard => "unknown_card",
        }
    }
}

/// The signed part of a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictBody {
    /// The authority's id of this verdict (1–64 of `A–Z a–z 0–9 . _ -`).
    pub verdict_id: String,
    /// The request it answers.
    pub request_id: String,
    /// SHA-256 of the EF.SOD it judges, hex.
    pub sod_sha256: String,
    /// The answer.
    pub status: VerdictStatus,
    /// When the authority issued it (Unix milliseconds).
    pub issued_at_unix_ms: u64,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl VerdictBody {
    /// Whether every field has its documented form (so the signed bytes
    /// are unambiguous).
    pub fn well_formed(&self) -> bool {
        let id_ok = (1..=64).contains(&self.verdict_id.len())
            && self
                .verdict_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        id_ok && is_hex(&self.request_id, 32) && is_hex(&self.sod_sha256, 64)
    }

    /// The bytes the signature covers (see the module documentation).
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "{VERDICT_CONTEXT}\nverdict_id={}\nrequest_id={}\nsod_sha256={}\nstatus={}\nissued_at_unix_ms={}\n",
            self.verdict_id,
            self.request_id,
            self.sod_sha256,
            self.status.code(),
            self.issued_at_unix_ms
        )
        .into_bytes()
    }
}

/// The answer's body: the verdict and its signature (64 bytes `r ‖ s`,
/// hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedVerdict {
    /// What is signed.
    pub verdict: VerdictBody,
    /// ECDSA P-256 with SHA-256 over [`VerdictBody::signed_bytes`],
    /// `r ‖ s` (IEEE P1363), 128 hex digits.
    pub signature: String,
}

/// The authority's verdict key, pinned in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictKey(p256::ecdsa::VerifyingKey);

/// Why a pinned key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verdict key is not a P-256 public key (SubjectPublicKeyInfo): {0}")]
pub struct KeyError(String);

impl VerdictKey {
    /// From a DER SubjectPublicKeyInfo (id-ecPublicKey, prime256v1).
    pub fn from_spki_der(der: &[u8]) -> Result<VerdictKey, KeyError> {
        use p256::pkcs8::DecodePublicKey as _;
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(VerdictKey)
            .map_err(|e| KeyError(e.to_string()))
    }

    /// From the key itself.
    pub fn new(key: p256::ecdsa::VerifyingKey) -> VerdictKey {
        VerdictKey(key)
    }
}

/// How fresh a verdict must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// The oldest accepted verdict, in milliseconds.
    pub max_age_ms: u64,
    /// How far in the future a verdict may be dated (clock skew), in
    /// milliseconds.
    pub skew_ms: u64,
}

/// Why an answer is not a usable verdict. Each is a refusal of the card
/// (see `docs/security.md`: an invalid verdict refuses, it never
/// downgrades).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum VerdictError {
    /// The body is not a signed verdict, or a field has the wrong form.
    #[error("the answer is not a well-formed signed verdict")]
    Malformed,
    /// The signature does not verify with the pinned key (another key
    /// signed it, or it was altered).
    #[error("the verdict's signature does not verify with the pinned key")]
    SignatureInvalid,
    /// The verdict judges another EF.SOD than the one read.
    #[error("the verdict is for another SOD")]
    ForAnotherSod,
    /// The verdict answers another request (a replayed answer).
    #[error("the verdict answers another request")]
    Replayed,
    /// The verdict is older than the configured maximum age.
    #[error("the verdict is too old")]
    Stale,
    /// The verdict is dated in the future beyond the allowed skew.
    #[error("the verdict is dated in the future")]
    FromTheFuture,
}

/// Checks `answer` (the body of a `200` answer) against the request it
/// should answer, with the pinned key, at `now_unix_ms` (wall clock).
pub fn check(
    answer: &[u8],
    pending: &Pending,
    key: &VerdictKey,
    now_unix_ms: u64,
    freshness: Freshness,
) -> Result<VerdictBody, VerdictError> {
    let signed: SignedVerdict =
        serde_json::from_slice(answer).map_err(|_| VerdictError::Malformed)?;
    if !signed.verdict.well_formed() || !is_hex(&signed.signature.to_ascii_lowercase(), 128) {
        return Err(VerdictError::Malformed);
    }
    let raw = hex::decode(&signed.signature).map_err(|_| VerdictError::Malformed)?;
    let signature =
        p256::ecdsa::Signature::from_slice(&raw).map_err(|_| VerdictError::SignatureInvalid)?;
    key.0
        .verify(&signed.verdict.signed_bytes(), &signature)
        .map_err(|_| VerdictError::SignatureInvalid)?;
    let v = signed.verdict;
    if v.sod_sha256 != pending.sod_sha256 {
        return Err(VerdictError::ForAnotherSod);
    }
    if v.request_id != pending.request_id {
        return Err(VerdictError::Replayed);
    }
    if v.issued_at_unix_ms > now_unix_ms.saturating_add(freshness.skew_ms) {
        return Err(VerdictError::FromTheFuture);
    }
    if now_unix_ms.saturating_sub(v.issued_at_unix_ms) > freshness.max_age_ms {
        return Err(VerdictError::Stale);
    }
    Ok(v)
}

/// Why the authority gave no answer (the transport's view): the identity
/// is then `unverified_offline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoAnswer {
    /// Nothing within the deadline.
    Timeout,
    /// No connection (refused, unreachable, DNS).
    Unreachable,
    /// The TLS handshake failed (the server's certificate is not the
    /// pinned CA's, or it refused the kiosk's).
    Tls,
    /// The connection broke, or the HTTP framing was bad.
    Io,
    /// The server failed (`5xx`).
    ServerError,
    /// The server refused the request (`4xx`, or another status).
    Rejected,
}

impl NoAnswer {
    /// The snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            NoAnswer::Timeout => "timeout",
            NoAnswer::Unreachable => "unreachable",
            NoAnswer::Tls => "tls",
            NoAnswer::Io => "io",
            NoAnswer::ServerError => "server_error",
            NoAnswer::Rejected => "rejected",
        }
    }
}

/// How one online check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A verdict that passed [`check`].
    Verdict(VerdictBody),
    /// An answer that is not a usable verdict.
    Invalid(VerdictError),
    /// No answer.
    NoAnswer(NoAnswer),
}

/// Judges an HTTP answer: `200` is checked as a verdict, anything else is
/// no answer.
pub fn judge_answer(
    status: u16,
    body: &[u8],
    pending: &Pending,
    key: &VerdictKey,
    now_unix_ms: u64,
    freshness: Freshness,
) -> Outcome {
    match status {
        200 => match check(body, pending, key, now_unix_ms, freshness) {
            Ok(v) => Outcome::Verdict(v),
            Err(e) => Outcome::Invalid(e),
        },
        500..=599 => Outcome::NoAnswer(NoAnswer::ServerError),
        _ => Outcome::NoAnswer(NoAnswer::Rejected),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn pending() -> Pending {
        Pending {
            request_id: "00112233445566778899aabbccddeeff".into(),
            sod_sha256: sod_sha256(b"the sod"),
        }
    }

    fn body(p: &Pending, at: u64) -> VerdictBody {
        VerdictBody {
            verdict_id: "V-2026-000001".into(),
            request_id: p.request_id.clone(),
            sod_sha256: p.sod_sha256.clone(),
            status: VerdictStatus::Genuine,
            issued_at_unix_ms: at,
        }
    }

    fn sign(b: &VerdictBody, k: &SigningKey) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = k.sign(&b.signed_bytes());
        serde_json::to_vec(&SignedVerdict {
            verdict: b.clone(),
            signature: hex::encode(sig.to_bytes()),
        })
        .unwrap()
    }

    const NOW: u64 = 1_795_572_000_000;
    const FRESH: Freshness = Freshness {
        max_age_ms: 60_000,
        skew_ms: 5_000,
    };

    fn pinned() -> VerdictKey {
        VerdictKey::new(*key(1).verifying_key())
    }

    #[test]
    fn the_signed_bytes_are_the_documented_lines() {
        let b = body(&pending(), 42);
        assert_eq!(
            String::from_utf8(b.signed_bytes()).unwrap(),
            format!(
                "cccd-kiosk-c06-verdict-v1\nverdict_id=V-2026-000001\nrequest_id=00112233445566778899aabbccddeeff\nsod_sha256={}\nstatus=genuine\nissued_at_unix_ms=42\n",
                sod_sha256(b"the sod")
            )
        );
    }

    #[test]
    fn a_fresh_verdict_signed_by_the_pinned_key_for_this_request_passes() {
        let p = pending();
        let v = check(
            &sign(&body(&p, NOW - 1_000), &key(1)),
            &p,
            &pinned(),
            NOW,
            FRESH,
        )
        .unwrap();
        assert_eq!(v.status, VerdictStatus::Genuine);
    }

    #[test]
    fn each_invalid_verdict_is_refused_with_its_own_reason() {
        let p = pending();
        let good = body(&p, NOW);
        let judge = |bytes: &[u8]| check(bytes, &p, &pinned(), NOW, FRESH);
        assert_eq!(
            judge(&sign(&good, &key(2))),
            Err(VerdictError::SignatureInvalid)
        );
        let other_sod = VerdictBody {
            sod_sha256: sod_sha256(b"another sod"),
            ..good.clone()
        };
        assert_eq!(
            judge(&sign(&other_sod, &key(1))),
            Err(VerdictError::ForAnotherSod)
        );
        let replay = VerdictBody {
            request_id: "ffeeddccbbaa99887766554433221100".into(),
            ..good.clone()
        };
        assert_eq!(judge(&sign(&replay, &key(1))), Err(VerdictError::Replayed));
        let stale = body(&p, NOW - 60_001);
        assert_eq!(judge(&sign(&stale, &key(1))), Err(VerdictError::Stale));
        let future = body(&p, NOW + 5_001);
        assert_eq!(
            judge(&sign(&future, &key(1))),
            Err(VerdictError::FromTheFuture)
        );
        assert_eq!(judge(b"{\"verdict\":1}"), Err(VerdictError::Malformed));
        let bad_id = VerdictBody {
            verdict_id: "a\nstatus=genuine".into(),
            ..good.clone()
        };
        assert_eq!(judge(&sign(&bad_id, &key(1))), Err(VerdictError::Malformed));
        // A genuine verdict whose status was changed after signing.
        let mut altered: SignedVerdict = serde_json::from_slice(&sign(
            &VerdictBody {
                status: VerdictStatus::Revoked,
                ..good
            },
            &key(1),
        ))
        .unwrap();
        altered.verdict.status = VerdictStatus::Genuine;
        assert_eq!(
            judge(&serde_json::to_vec(&altered).unwrap()),
            Err(VerdictError::SignatureInvalid)
        );
    }

    #[test]
    fn only_a_200_is_judged_as_a_verdict() {
        let p = pending();
        let judge = |status| judge_answer(status, b"", &p, &pinned(), NOW, FRESH);
        assert_eq!(judge(503), Outcome::NoAnswer(NoAnswer::ServerError));
        assert_eq!(judge(400), Outcome::NoAnswer(NoAnswer::Rejected));
        assert_eq!(judge(200), Outcome::Invalid(VerdictError::Malformed));
    }

    proptest::proptest! {
        #[test]
        fn judging_any_answer_never_panics(
            status in 0u16..700,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            id in "[ -~\n]{0,80}",
            at in proptest::prelude::any::<u64>(),
        ) {
            let p = pending();
            let _ = judge_answer(status, &body, &p, &pinned(), NOW, FRESH);
            let forged = VerdictBody { verdict_id: id, issued_at_unix_ms: at, ..body_of(&p) };
            let signed = sign(&forged, &key(1));
            let judged = check(&signed, &p, &pinned(), NOW, FRESH);
            if !forged.well_formed() {
                proptest::prop_assert_eq!(judged, Err(VerdictError::Malformed));
            }
        }
    }

    fn body_of(p: &Pending) -> VerdictBody {
        body(p, NOW)
    }

    #[test]
    fn the_pinned_key_loads_from_its_spki_and_nothing_else() {
        use p256::pkcs8::EncodePublicKey as _;
        let der = key(1).verifying_key().to_public_key_der().unwrap();
        assert_eq!(VerdictKey::from_spki_der(der.as_bytes()).unwrap(), pinned());
        assert!(VerdictKey::from_spki_der(b"\x30\x00").is_err());
    }
}
