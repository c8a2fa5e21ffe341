//! The durable outbox of online requests (migration `0003_outbox.sql`,
//! DESIGN.md §6).
//!
//! - Every request has an idempotency key, sent with each attempt, so a
//!   re-send after a crash or a lost answer is answered with the same
//!   receipt instead of a second dossier.
//! - Payloads are sealed at rest with ChaCha20-Poly1305 (RFC 8439) under
//!   the kiosk's [`OutboxKey`], a fresh nonce per row (passed in: the store
//!   has no random source) and the idempotency key as associated data. The
//!   plaintext never reaches SQLite.
//! - One `IMMEDIATE` transaction per state change: enqueue, claim, retry
//!   later, fail, deliver. Delivering deletes the row and records the
//!   dossier code in `request_receipt` in the same transaction.
//! - [`Store::outbox_requeue_claimed`] puts rows a crash left `sending`
//!   back to `pending`; the kiosk and `kioskctl` call it at start-up.

use super::usage::{bump, bump_once, code_label};
use super::{Store, StoreError, UnixMillis};
use crate::metrics::Metric;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{OptionalExtension, Row, params};
use zeroize::Zeroizing;

/// The length of an outbox key file.
pub const KEY_LEN: usize = 32;

/// The kiosk's outbox key (32 bytes). Zeroized on drop, never printed.
#[derive(Clone)]
pub struct OutboxKey(Zeroizing<[u8; KEY_LEN]>);

impl core::fmt::Debug for OutboxKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OutboxKey(..)")
    }
}

/// Why a key or a sealed payload is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key is not 32 bytes. Remedy: make the key file with
    /// `head -c 32 /dev/urandom > FILE` (and keep it: without it the
    /// queued requests cannot be read).
    #[error("an outbox key is {KEY_LEN} bytes, this one is {0}")]
    KeyLength(usize),
    /// The payload does not open with this key: another kiosk's key, a
    /// replaced key file, or a tampered row. Remedy: restore the kiosk's
    /// key file; the row is marked failed for staff.
    #[error("the payload does not open with this kiosk's key (wrong key or tampered row)")]
    Open,
    /// Sealing failed (a payload larger than the AEAD allows).
    #[error("the payload cannot be sealed")]
    Seal,
}

impl OutboxKey {
    /// From the key file's bytes: exactly 32.
    pub fn from_bytes(bytes: &[u8]) -> Result<OutboxKey, SealError> {
        let arr: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| SealError::KeyLength(bytes.len()))?;
        Ok(OutboxKey(Zeroizing::new(arr)))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// Seals `plaintext` with `nonce`, bound to `aad`.
    pub fn seal(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        self.cipher()
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SealError::Seal)
    }

    /// Opens a sealed payload.
    pub fn open(
        &self,
        nonce: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if nonce.len() != 12 {
            return Err(SealError::Open);
        }
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }
}

/// A request to put in the outbox.
#[derive(Debug)]
pub struct NewRequest<'a> {
    /// 32 lower-case hex characters (128 random bits).
    pub idempotency_key: &'a str,
    /// The kiosk's reference, printed on the receipt.
    pub reference: &'a str,
    /// The procedure code.
    pub procedure: &'a str,
    /// The plaintext payload (JSON), sealed before it is stored.
    pub payload: &'a [u8],
    /// A fresh random nonce.
    pub nonce: [u8; 12],
    /// Now.
    pub now: UnixMillis,
}

/// A row's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a delivery pass.
    Sending,
    /// Refused by the portal (4xx): staff must look at it.
    Failed,
}

impl OutboxState {
    fn parse(s: &str) -> OutboxState {
        match s {
            "sending" => OutboxState::Sending,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// A row as listed (no payload).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The kiosk's reference.
    pub reference: String,
    /// The procedure code.
    pub procedure: String,
    /// Its state.
    pub state: OutboxState,
    /// Attempts so far.
    pub attempts: u32,
    /// When queued (Unix ms).
    pub created_at_unix_ms: u64,
    /// When it is next due (Unix ms).
    pub next_attempt_at_unix_ms: u64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The portal's HTTP status for a failed row.
    pub failed_http_status: Option<u16>,
    /// Sealed payload size in bytes.
    pub payload_bytes: usize,
}

/// A claimed row, with its payload still sealed.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The row as listed.
    pub row: OutboxRow,
    /// The nonce.
    pub nonce: Vec<u8>,
    /// The sealed payload.
    pub sealed: Vec<u8>,
}

impl Claimed {
    /// Opens the payload with `key`.
    pub fn open(&self, key: &OutboxKey) -> Result<Zeroizing<Vec<u8>>, SealError> {
        key.open(
            &self.nonce,
            self.row.idempotency_key.as_bytes(),
            &self.sealed,
        )
    }
}

/// The state of a request as the citizen's receipt knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptRow {
    /// The kiosk's reference.
    pub reference: String,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The procedure.
    pub procedure: String,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// When queued.
    pub created_at_unix_ms: u64,
    /// The portal's dossier code, once delivered.
    pub dossier_code: Option<String>,
    /// When delivered.
    pub delivered_at_unix_ms: Option<u64>,
    /// The portal's refusal, if any.
    pub failed_http_status: Option<u16>,
}

const COLUMNS: &str = "id, idempotency_key, reference, procedure, state, attempts, \
     created_at_unix_ms, next_attempt_at_unix_ms, last_error, failed_http_status, \
     length(payload), nonce, payload";

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql_ms(v: UnixMillis) -> i64 {
    i64::try_from(v.0).unwrap_or(i64::MAX)
}

fn claimed_of(r: &Row<'_>) -> rusqlite::Result<Claimed> {
    let state: String = r.get(4)?;
    Ok(Claimed {
        row: OutboxRow {
            id: r.get(0)?,
            idempotency_key: r.get(1)?,
            reference: r.get(2)?,
            procedure: r.get(3)?,
            state: OutboxState::parse(&state),
            attempts: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            created_at_unix_ms: ms(r.get(6)?),
            next_attempt_at_unix_ms: ms(r.get(7)?),
            last_error: r.get(8)?,
            failed_http_status: r
                .get::<_, Option<i64>>(9)?
                .and_then(|s| u16::try_from(s).ok()),
            payload_bytes: usize::try_from(r.get::<_, i64>(10)?).unwrap_or(0),
        },
        nonce: r.get(11)?,
        sealed: r.get(12)?,
    })
}

fn receipt_of(r: &Row<'_>) -> rusqlite::Result<ReceiptRow> {
    Ok(ReceiptRow {
        reference: r.get(0)?,
        idempotency_key: r.get(1)?,
        procedure: r.get(2)?,
        state: r.get(3)?,
        created_at_unix_ms: ms(r.get(4)?),
        dossier_code: r.get(5)?,
        delivered_at_unix_ms: r.get::<_, Option<i64>>(6)?.map(ms),
        failed_http_status: r
            .get::<_, Option<i64>>(7)?
            .and_then(|s| u16::try_from(s).ok()),
    })
}

/// Why the outbox refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The idempotency key is not 32 lower-case hex characters. Remedy: a
    /// bug in the caller; make keys with 16 random bytes.
    #[error("an idempotency key is 32 lower-case hex characters")]
    BadKey,
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        OutboxError::Store(e.into())
    }
}

impl Store {
    /// Seals and queues a request (state `pending`, due now) and its
    /// receipt (`queued`), in one transaction. Returns the row id.
    pub fn outbox_enqueue(
        &mut self,
        key: &OutboxKey,
        new: &NewRequest<'_>,
    ) -> Result<i64, OutboxError> {
        let ok_key = new.idempotency_key.len() == 32
            && new
                .idempotency_key
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok_key {
            return Err(OutboxError::BadKey);
        }
        let sealed = key.seal(&new.nonce, new.idempotency_key.as_bytes(), new.payload)?;
        let now = sql_ms(new.now);
        Ok(self.write(|tx| {
            tx.execute(
                "INSERT INTO outbox (idempotency_key, reference, procedure, state, created_at_unix_ms, \
                 next_attempt_at_unix_ms, nonce, payload) VALUES (?1, ?2, ?3, 'pending', ?4, ?4, ?5, ?6)",
                params![new.idempotency_key, new.reference, new.procedure, now, &new.nonce[..], sealed],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO request_receipt (reference, idempotency_key, procedure, state, created_at_unix_ms) \
                 VALUES (?1, ?2, ?3, 'queued', ?4)",
                params![new.reference, new.idempotency_key, new.procedure, now],
            )?;
            bump(
                tx,
                new.now,
                Metric::RequestsQueued,
                code_label(new.procedure).as_str(),
                1,
            )?;
            Ok(id)
        })?)
    }

    /// Puts every `sending` row back to `pending`, due at once (start-up:
    /// a crash cut their attempt off). Returns how many.
    pub fn outbox_requeue_claimed(&mut self) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET state = 'pending', claimed_at_unix_ms = NULL WHERE state = 'sending'",
                [],
            )?)
        })
    }

    /// Claims up to `limit` rows due at `now`, oldest first (state
    /// `sending`), in one transaction.
    pub fn outbox_claim_due(
        &mut self,
        now: UnixMillis,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let at = sql_ms(now);
        self.write(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at_unix_ms <= ?1 \
                 ORDER BY next_attempt_at_unix_ms, id LIMIT ?2"
            ))?;
            let rows: Vec<Claimed> = stmt
                .query_map(params![at, limit], claimed_of)?
                .collect::<Result<_, _>>()?;
            for c in &rows {
                tx.execute(
                    "UPDATE outbox SET state = 'sending', claimed_at_unix_ms = ?2 WHERE id = ?1",
                    params![c.row.id, at],
                )?;
            }
            Ok(rows
                .into_iter()
                .map(|mut c| {
                    c.row.state = OutboxState::Sending;
                    c
                })
                .collect())
        })
    }

    /// Claims row `id` if it is pending (due or not): the first attempt
    /// right after the citizen submits.
    pub fn outbox_claim(
        &mut self,
        id: i64,
        now: UnixMillis,
    ) -> Result<Option<Claimed>, StoreError> {
        let at = sql_ms(now);
        self.write(|tx| {
            let claimed = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1 AND state = 'pending'"),
                    [id],
                    claimed_of,
                )
                .optional()?;
            if claimed.is_some() {
                tx.execute(
                    "UPDATE outbox SET state = 'sending', claimed_at_unix_ms = ?2 WHERE id = ?1",
                    params![id, at],
                )?;
            }
            Ok(claimed.map(|mut c| {
                c.row.state = OutboxState::Sending;
                c
            }))
        })
    }

    /// The portal confirmed row `id` with `dossier_code`: deletes the row
    /// (and its sealed payload) and records the code, in one transaction.
    /// Harmless if the row is already gone.
    pub fn outbox_delivered(
        &mut self,
        id: i64,
        idempotency_key: &str,
        dossier_code: &str,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let deleted = tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            tx.execute(
                "UPDATE request_receipt SET state = 'delivered', dossier_code = ?2, delivered_at_unix_ms = ?3 \
                 WHERE idempotency_key = ?1",
                params![idempotency_key, dossier_code, sql_ms(now)],
            )?;
            bump(tx, now, Metric::RequestsSent, "", deleted as u64)?;
            Ok(())
        })
    }

    /// The attempt failed in a way worth retrying: back to `pending`, due
    /// at `next_at`, one more attempt counted.
    pub fn outbox_retry_later(
        &mut self,
        id: i64,
        next_at: UnixMillis,
        error: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at_unix_ms = ?2, \
                 claimed_at_unix_ms = NULL, last_error = ?3 WHERE id = ?1",
                params![id, sql_ms(next_at), error],
            )?;
            Ok(())
        })
    }

    /// The portal refused row `id` for good (a 4xx, or a payload that does
    /// not open): state `failed`, never retried on its own; staff see it
    /// in `kioskctl outbox list`.
    pub fn outbox_failed(
        &mut self,
        id: i64,
        http_status: Option<u16>,
        error: &str,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            bump_once(
                tx,
                "SELECT procedure FROM outbox WHERE id = ?1 AND state != 'failed'",
                id,
                now,
                Metric::RequestsRefused,
            )?;
            tx.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, claimed_at_unix_ms = NULL, \
                 last_error = ?2, failed_http_status = ?3 WHERE id = ?1",
                params![id, error, http_status],
            )?;
            tx.execute(
                "UPDATE request_receipt SET state = 'failed', failed_http_status = ?2 \
                 WHERE idempotency_key = (SELECT idempotency_key FROM outbox WHERE id = ?1)",
                params![id, http_status],
            )?;
            Ok(())
        })
    }

    /// Staff ask to send a failed row again (after the portal was fixed):
    /// back to `pending`, due at `now`. `false` when no failed row has
    /// that id.
    pub fn outbox_retry_failed(&mut self, id: i64, now: UnixMillis) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at_unix_ms = ?2, failed_http_status = NULL \
                 WHERE id = ?1 AND state = 'failed'",
                params![id, sql_ms(now)],
            )?;
            if n > 0 {
                tx.execute(
                    "UPDATE request_receipt SET state = 'queued', failed_http_status = NULL \
                     WHERE idempotency_key = (SELECT idempotency_key FROM outbox WHERE id = ?1)",
                    [id],
                )?;
            }
            Ok(n > 0)
        })
    }

    /// Puts claimed rows back to `pending` without counting an attempt
    /// (a pass that stopped early).
    pub fn outbox_release(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for id in ids {
                tx.execute(
                    "UPDATE outbox SET state = 'pending', claimed_at_unix_ms = NULL WHERE id = ?1 AND state = 'sending'",
                    [id],
                )?;
            }
            Ok(())
        })
    }

    /// Makes every pending row due at `now` (staff: "send now", without
    /// waiting for the retry time). Returns how many.
    pub fn outbox_due_now(&mut self, now: UnixMillis) -> Result<usize, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET next_attempt_at_unix_ms = ?1 WHERE state = 'pending' AND next_attempt_at_unix_ms > ?1",
                [sql_ms(now)],
            )?)
        })
    }

    /// Staff give up on a failed row (the citizen files again at the
    /// counter): the row and its sealed payload are deleted, the receipt
    /// stays `failed`. `false` when no failed row has that id.
    pub fn outbox_discard_failed(&mut self, id: i64) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM outbox WHERE id = ?1 AND state = 'failed'",
                [id],
            )? > 0)
        })
    }

    /// Every row, oldest first (no payloads).
    pub fn outbox_list(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))?;
        let rows = stmt
            .query_map([], claimed_of)?
            .map(|r| r.map(|c| c.row))
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// When the next pending row is due, if any.
    pub fn outbox_next_due(&self) -> Result<Option<UnixMillis>, StoreError> {
        let at: Option<i64> = self.conn.query_row(
            "SELECT min(next_attempt_at_unix_ms) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(at.map(|v| UnixMillis(ms(v))))
    }

    /// The receipt with this kiosk reference or dossier code.
    pub fn request_receipt(&self, code: &str) -> Result<Option<ReceiptRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT reference, idempotency_key, procedure, state, created_at_unix_ms, dossier_code, \
                 delivered_at_unix_ms, failed_http_status FROM request_receipt \
                 WHERE reference = ?1 OR dossier_code = ?1",
                [code],
                receipt_of,
            )
            .optional()?)
    }

    /// How many receipts exist (for a reference's sequence number).
    pub fn request_receipt_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM request_receipt", [], |r| r.get(0))?;
        Ok(ms(n))
    }
}
