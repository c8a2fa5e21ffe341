//! What the counter and display pages keep in PostgreSQL (migration
//! `0003_pages.sql`): identity packets sealed at rest and their views'
//! audit, the staff PIN lockout, and page sessions (only the SHA-256 of a
//! session's token). Every function takes `now`.

use super::{COLUMNS, CentreDb, CentreError, DbError, Refusal, query, sql_ms, ticket};
use crate::identity::{IdentityKey, MAX_PACKET_BYTES, Sealed};
use deadpool_postgres::Transaction;
use kiosk_firmware::queue::centre::{CentreTicket, IdentityPacket, IssueRequest, TicketState};
use kiosk_firmware::store::UnixMillis;
use std::sync::Arc;

/// Wrong PINs in a row that lock a staff id.
pub const MAX_PIN_FAILURES: i32 = 5;

/// How long a lock lasts.
pub const LOCKOUT_MS: u64 = 5 * 60_000;

/// What a wrong PIN did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFailure {
    /// Tries left before the lock.
    Remaining(u32),
    /// The id is locked until then (wall-clock ms).
    Locked(u64),
}

/// Who a page session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// A member of staff at a counter.
    Staff {
        /// Their id.
        staff: String,
        /// The counter they signed in at.
        counter: u16,
    },
    /// A hall display.
    Display {
        /// Its id.
        display: String,
    },
}

/// What happened when a counter asked for a packet (the audit's outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ViewOutcome {
    Shown,
    Absent,
    Gone,
    NotAtYourCounter,
    Undecryptable,
}

impl ViewOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ViewOutcome::Shown => "shown",
            ViewOutcome::Absent => "absent",
            ViewOutcome::Gone => "gone",
            ViewOutcome::NotAtYourCounter => "not_at_your_counter",
            ViewOutcome::Undecryptable => "undecryptable",
        }
    }
}

/// Deletes ticket `id`'s packet (its ticket ended).
pub(super) async fn delete_identity(
    tx: &Transaction<'_>,
    id: i64,
) -> Result<(), tokio_postgres::Error> {
    query(
        tx,
        "DELETE FROM identity_packet WHERE ticket_id = $1",
        &[&id],
    )
    .await
    .map(drop)
}

impl CentreDb {
    /// The packet may be kept with this ticket: returns the key to seal
    /// it with.
    pub(super) fn check_identity(
        &self,
        req: &IssueRequest,
        packet: &IdentityPacket,
    ) -> Result<Arc<IdentityKey>, Refusal> {
        let key = self
            .identity_key
            .clone()
            .ok_or(Refusal::IdentityNotAccepted)?;
        if req.verification == "anonymous" || packet.verification == "anonymous" {
            return Err(Refusal::IdentityOnAnonymous);
        }
        if packet.service != req.service {
            return Err(Refusal::IdentityServiceMismatch {
                packet: packet.service.clone(),
                ticket: req.service.clone(),
            });
        }
        let size = serde_json::to_vec(packet)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_PACKET_BYTES {
            return Err(Refusal::IdentityTooLarge {
                size,
                max: MAX_PACKET_BYTES,
            });
        }
        Ok(key)
    }

    /// Seals and stores `packet` with the new ticket `t`, in its issue
    /// transaction.
    pub(super) async fn store_identity(
        &self,
        tx: &Transaction<'_>,
        key: &IdentityKey,
        t: &CentreTicket,
        packet: &IdentityPacket,
        now: UnixMillis,
    ) -> Result<(), CentreError> {
        let sealed = key
            .seal(packet, &self.centre_id, t.id)
            .map_err(|e| Refusal::BadRequest(format!("the identity packet cannot be kept: {e}")))?;
        query(
            tx,
            "INSERT INTO identity_packet (ticket_id, centre_id, day, nonce, sealed, stored_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &t.id,
                &self.centre_id,
                &t.day,
                &sealed.nonce,
                &sealed.sealed,
                &sql_ms(now),
            ],
        )
        .await?;
        Ok(())
    }

    /// Whether ticket `id` has a packet now.
    pub async fn has_identity(&self, id: i64) -> Result<bool, CentreError> {
        let client = self.pool.get().await?;
        Ok(!client
            .query(
                "SELECT 1 FROM identity_packet WHERE centre_id = $1 AND ticket_id = $2",
                &[&self.centre_id, &id],
            )
            .await?
            .is_empty())
    }

    /// Ticket `id`'s packet for `staff` at `counter`: only while the
    /// ticket is called at that counter (once that counter has finished
    /// it: [`Refusal::IdentityGone`]; anyone else:
    /// [`Refusal::NotAtYourCounter`]). Every attempt is audited (who,
    /// where, when, the outcome; nothing of the packet).
    pub async fn view_identity(
        &self,
        id: i64,
        staff: &str,
        counter: u16,
        now: UnixMillis,
    ) -> Result<IdentityPacket, CentreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = query(
            &tx,
            &format!("SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND id = $2 FOR SHARE"),
            &[&self.centre_id, &id],
        )
        .await?;
        let state = match rows.first() {
            Some(r) => {
                let t = ticket(r)?;
                (t.counter == Some(counter)).then_some(t.state)
            }
            None => None,
        };
        let (outcome, result) = if matches!(state, Some(TicketState::Served | TicketState::NoShow))
        {
            // This counter finished it: its packet was deleted then.
            (ViewOutcome::Gone, Err(Refusal::IdentityGone(id).into()))
        } else if state == Some(TicketState::Called) {
            let rows = query(
                &tx,
                "SELECT nonce, sealed FROM identity_packet WHERE centre_id = $1 AND ticket_id = $2",
                &[&self.centre_id, &id],
            )
            .await?;
            match (rows.first(), &self.identity_key) {
                (Some(r), Some(key)) => {
                    let sealed = Sealed {
                        nonce: r.get(0),
                        sealed: r.get(1),
                    };
                    match key.open(&sealed, &self.centre_id, id) {
                        Ok(p) => (ViewOutcome::Shown, Ok(p)),
                        Err(_) => (
                            ViewOutcome::Undecryptable,
                            Err(DbError::CorruptRow(id).into()),
                        ),
                    }
                }
                _ => (ViewOutcome::Absent, Err(Refusal::NoIdentity(id).into())),
            }
        } else {
            (
                ViewOutcome::NotAtYourCounter,
                Err(Refusal::NotAtYourCounter(id).into()),
            )
        };
        query(
            &tx,
            "INSERT INTO identity_view (centre_id, ticket_id, staff_id, counter, at_ms, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &self.centre_id,
                &id,
                &staff,
                &i32::from(counter),
                &sql_ms(now),
                &outcome.as_str(),
            ],
        )
        .await?;
        tx.commit().await?;
        result
    }

    /// Deletes the packets of days before `now`'s and expired page
    /// sessions; returns the packets deleted.
    pub async fn sweep(&self, now: UnixMillis) -> Result<u64, CentreError> {
        let today = Self::day(now)?;
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "DELETE FROM identity_packet WHERE centre_id = $1 AND day < $2",
                &[&self.centre_id, &today],
            )
            .await?;
        client
            .execute(
                "DELETE FROM page_session WHERE centre_id = $1 AND expires_at_ms <= $2",
                &[&self.centre_id, &sql_ms(now)],
            )
            .await?;
        Ok(n)
    }

    /// Refuses a staff id that is locked now.
    pub async fn check_lockout(&self, staff: &str, now: UnixMillis) -> Result<(), CentreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT locked_until_ms FROM staff_lockout WHERE centre_id = $1 AND staff_id = $2",
                &[&self.centre_id, &staff],
            )
            .await?;
        match rows.first().and_then(|r| r.get::<_, Option<i64>>(0)) {
            Some(until) if until > sql_ms(now) => Err(Refusal::LockedOut {
                until_unix_ms: super::ms(until),
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// Counts a wrong PIN; the fifth in a row locks the id for 5 minutes.
    pub async fn pin_failed(
        &self,
        staff: &str,
        now: UnixMillis,
    ) -> Result<PinFailure, CentreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = query(
            &tx,
            "INSERT INTO staff_lockout (centre_id, staff_id, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (centre_id, staff_id) DO UPDATE SET failures = staff_lockout.failures + 1 \
             RETURNING failures",
            &[&self.centre_id, &staff],
        )
        .await?;
        let failures: i32 = rows.first().map(|r| r.get(0)).unwrap_or(MAX_PIN_FAILURES);
        let outcome = if failures >= MAX_PIN_FAILURES {
            let until = now.0.saturating_add(LOCKOUT_MS);
            query(
                &tx,
                "UPDATE staff_lockout SET failures = 0, locked_until_ms = $3 \
                 WHERE centre_id = $1 AND staff_id = $2",
                &[&self.centre_id, &staff, &sql_ms(UnixMillis(until))],
            )
            .await?;
            PinFailure::Locked(until)
        } else {
            PinFailure::Remaining(u32::try_from(MAX_PIN_FAILURES - failures).unwrap_or(0))
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// A right PIN clears the count.
    pub async fn pin_succeeded(&self, staff: &str) -> Result<(), CentreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM staff_lockout WHERE centre_id = $1 AND staff_id = $2",
                &[&self.centre_id, &staff],
            )
            .await?;
        Ok(())
    }

    /// Records a session whose token hashes to `token_sha256`.
    pub async fn create_session(
        &self,
        token_sha256: &[u8; 32],
        kind: &SessionKind,
        now: UnixMillis,
        lifetime_ms: u64,
    ) -> Result<(), CentreError> {
        let (k, principal, counter) = match kind {
            SessionKind::Staff { staff, counter } => {
                ("staff", staff.as_str(), Some(i32::from(*counter)))
            }
            SessionKind::Display { display } => ("display", display.as_str(), None),
        };
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO page_session (token_sha256, centre_id, kind, principal, counter, \
                   created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &token_sha256.as_slice(),
                    &self.centre_id,
                    &k,
                    &principal,
                    &counter,
                    &sql_ms(now),
                    &sql_ms(UnixMillis(now.0.saturating_add(lifetime_ms))),
                ],
            )
            .await?;
        Ok(())
    }

    /// The live session whose token hashes to `token_sha256`.
    pub async fn session(
        &self,
        token_sha256: &[u8; 32],
        now: UnixMillis,
    ) -> Result<Option<SessionKind>, CentreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kind, principal, counter FROM page_session \
                 WHERE token_sha256 = $1 AND centre_id = $2 AND expires_at_ms > $3",
                &[&token_sha256.as_slice(), &self.centre_id, &sql_ms(now)],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let kind: String = r.get(0);
        let principal: String = r.get(1);
        let counter: Option<i32> = r.get(2);
        Ok(match (kind.as_str(), counter.map(u16::try_from)) {
            ("staff", Some(Ok(counter))) => Some(SessionKind::Staff {
                staff: principal,
                counter,
            }),
            ("display", None) => Some(SessionKind::Display { display: principal }),
            _ => None,
        })
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_sha256: &[u8; 32]) -> Result<(), CentreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM page_session WHERE token_sha256 = $1",
                &[&token_sha256.as_slice()],
            )
            .await?;
        Ok(())
    }

    /// The ticket called at `counter` now, if any.
    pub async fn at_counter(
        &self,
        counter: u16,
        now: UnixMillis,
    ) -> Result<Option<CentreTicket>, CentreError> {
        let day = Self::day(now)?;
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND day = $2 \
                     AND counter = $3 AND state = 'called'"
                ),
                &[&self.centre_id, &day, &i32::from(counter)],
            )
            .await?;
        Ok(rows.first().map(ticket).transpose()?)
    }

    /// How many tickets wait now, per service of the catalogue.
    pub async fn waiting_counts(&self, now: UnixMillis) -> Result<Vec<(String, u32)>, CentreError> {
        let day = Self::day(now)?;
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT service, count(*) FROM ticket WHERE centre_id = $1 AND day = $2 \
                 AND state = 'waiting' GROUP BY service",
                &[&self.centre_id, &day],
            )
            .await?;
        Ok(self
            .catalog
            .services
            .iter()
            .map(|s| {
                let n = rows
                    .iter()
                    .find(|r| r.get::<_, String>(0) == s.code)
                    .map(|r| u32::try_from(r.get::<_, i64>(1)).unwrap_or(u32::MAX))
                    .unwrap_or(0);
                (s.code.clone(), n)
            })
            .collect())
    }
}
