//! Queue tickets in the database (migration `0002_queue.sql`): the SQL
//! behind [`crate::queue`]. One `IMMEDIATE` transaction per number drawn and
//! per print outcome (DESIGN.md §6), so two processes (the kiosk and
//! `kioskctl`) never draw the same number and a power cut loses nothing
//! that was committed.

use super::usage::bump_once;
use super::{Store, StoreError, UnixMillis};
use crate::metrics::Metric;
use rusqlite::{OptionalExtension, Row, params};

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    /// Row id: the ticket's identity.
    pub id: i64,
    /// Local day `YYYYMMDD`.
    pub day: String,
    /// Service code.
    pub service: String,
    /// `normal` or `priority`.
    pub lane: String,
    /// Sequence in the day, service and lane (1–999).
    pub seq: u32,
    /// The display number.
    pub number: String,
    /// Priority category, if any (`elderly`, …).
    pub priority: Option<String>,
    /// How identity was checked (`anonymous`, `face_matched`, …).
    pub verification: String,
    /// When it was drawn.
    pub drawn_at: UnixMillis,
    /// When it came out of the printer; `None`: not (yet) issued.
    pub printed_at: Option<UnixMillis>,
    /// Print attempts so far.
    pub print_attempts: u32,
    /// Why the last attempt failed.
    pub last_print_problem: Option<String>,
    /// When a counter called it.
    pub called_at: Option<UnixMillis>,
    /// The counter that called it.
    pub counter: Option<u16>,
    /// `local` (this kiosk's own numbering), `centre` (the centre's number)
    /// or `offline` (from this kiosk's block while the centre was away).
    pub origin: String,
    /// The key of the request that gave the number (centre and offline).
    pub idempotency_key: Option<String>,
    /// For an offline ticket: the key of the centre request that failed.
    pub attempted_key: Option<String>,
    /// The ticket's id at the centre, once it has it.
    pub centre_ticket_id: Option<i64>,
    /// When the centre acknowledged it (offline tickets; a centre ticket is
    /// acknowledged when drawn).
    pub acked_at: Option<UnixMillis>,
}

/// A number the centre gave, to keep (origin `centre`).
#[derive(Debug, Clone)]
pub struct CentreNumber<'a> {
    /// Local day `YYYYMMDD`.
    pub day: &'a str,
    /// Service code (as issued).
    pub service: &'a str,
    /// `normal` or `priority`.
    pub lane: &'a str,
    /// The centre's sequence.
    pub seq: u32,
    /// The display number.
    pub number: &'a str,
    /// Priority category.
    pub priority: Option<&'a str>,
    /// How identity was checked.
    pub verification: &'a str,
    /// When the centre drew it.
    pub drawn_at: UnixMillis,
    /// The request's key.
    pub idempotency_key: &'a str,
    /// The centre's id of the ticket.
    pub centre_ticket_id: i64,
    /// Now.
    pub received_at: UnixMillis,
}

/// A number to draw from this kiosk's offline block (origin `offline`).
#[derive(Debug, Clone)]
pub struct OfflineDraw<'a> {
    /// Local day `YYYYMMDD`.
    pub day: &'a str,
    /// Service code.
    pub service: &'a str,
    /// `normal` or `priority`.
    pub lane: &'a str,
    /// The block's first sequence.
    pub first: u32,
    /// The block's last sequence.
    pub last: u32,
    /// Makes the display number from the sequence.
    pub format: fn(&str, &str, u32) -> String,
    /// Priority category.
    pub priority: Option<&'a str>,
    /// How identity was checked.
    pub verification: &'a str,
    /// Now.
    pub drawn_at: UnixMillis,
    /// The offline ticket's own key.
    pub idempotency_key: &'a str,
    /// The key of the centre request that failed, if one was sent.
    pub attempted_key: Option<&'a str>,
}

/// A number to draw.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    /// Local day `YYYYMMDD`.
    pub day: &'a str,
    /// Service code.
    pub service: &'a str,
    /// `normal` or `priority`.
    pub lane: &'a str,
    /// Makes the display number from the sequence.
    pub format: fn(&str, &str, u32) -> String,
    /// Priority category.
    pub priority: Option<&'a str>,
    /// How identity was checked.
    pub verification: &'a str,
    /// Now.
    pub drawn_at: UnixMillis,
    /// Numbers the service may hand out in the day (both lanes).
    pub daily_limit: u32,
}

/// The outcome of drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Draw {
    /// A new number, committed.
    Drawn(Box<TicketRow>),
    /// The service's numbers for the day are used up.
    SoldOut {
        /// Numbers drawn today.
        drawn: u32,
    },
}

const COLUMNS: &str = "id, day, service, lane, seq, number, priority, verification, \
     drawn_at_unix_ms, printed_at_unix_ms, print_attempts, last_print_problem, \
     called_at_unix_ms, counter, origin, idempotency_key, attempted_key, centre_ticket_id, \
     acked_at_unix_ms";

fn millis(v: Option<i64>) -> Option<UnixMillis> {
    v.map(|ms| UnixMillis(u64::try_from(ms).unwrap_or(0)))
}

fn sql_millis(at: UnixMillis) -> i64 {
    i64::try_from(at.0).unwrap_or(i64::MAX)
}

fn row(r: &Row<'_>) -> rusqlite::Result<TicketRow> {
    Ok(TicketRow {
        id: r.get(0)?,
        day: r.get(1)?,
        service: r.get(2)?,
        lane: r.get(3)?,
        seq: r.get(4)?,
        number: r.get(5)?,
        priority: r.get(6)?,
        verification: r.get(7)?,
        drawn_at: millis(Some(r.get(8)?)).unwrap_or(UnixMillis(0)),
        printed_at: millis(r.get(9)?),
        print_attempts: r.get(10)?,
        last_print_problem: r.get(11)?,
        called_at: millis(r.get(12)?),
        counter: r.get(13)?,
        origin: r.get(14)?,
        idempotency_key: r.get(15)?,
        attempted_key: r.get(16)?,
        centre_ticket_id: r.get(17)?,
        acked_at: millis(r.get(18)?),
    })
}

impl Store {
    /// Keeps a number the centre gave (origin `centre`), in one IMMEDIATE
    /// transaction that also closes the request's attempt. The same key
    /// kept twice returns the first row.
    pub fn keep_centre_number(&mut self, n: &CentreNumber<'_>) -> Result<TicketRow, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO queue_ticket (day, service, lane, seq, number, priority, verification, \
                 drawn_at_unix_ms, origin, idempotency_key, centre_ticket_id, acked_at_unix_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'centre', ?9, ?10, ?11) \
                 ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
                params![
                    n.day,
                    n.service,
                    n.lane,
                    n.seq,
                    n.number,
                    n.priority,
                    n.verification,
                    sql_millis(n.drawn_at),
                    n.idempotency_key,
                    n.centre_ticket_id,
                    sql_millis(n.received_at)
                ],
            )?;
            tx.execute(
                "DELETE FROM centre_attempt WHERE idempotency_key = ?1",
                [n.idempotency_key],
            )?;
            Ok(tx.query_row(
                &format!("SELECT {COLUMNS} FROM queue_ticket WHERE idempotency_key = ?1"),
                [n.idempotency_key],
                row,
            )?)
        })
    }

    /// Draws the next number of this kiosk's offline block for the day,
    /// service and lane (origin `offline`), in one IMMEDIATE transaction
    /// that also closes the failed request's attempt. `SoldOut`: the block
    /// is used up for the day.
    pub fn draw_offline_ticket(&mut self, new: &OfflineDraw<'_>) -> Result<Draw, StoreError> {
        self.write(|tx| {
            let last: u32 = tx.query_row(
                "SELECT coalesce(max(seq), 0) FROM queue_ticket WHERE day = ?1 AND service = ?2 \
                 AND lane = ?3 AND seq BETWEEN ?4 AND ?5",
                params![new.day, new.service, new.lane, new.first, new.last],
                |r| r.get(0),
            )?;
            let seq = if last == 0 { new.first } else { last + 1 };
            if seq > new.last {
                let drawn = new.last + 1 - new.first;
                return Ok(Draw::SoldOut { drawn });
            }
            let number = (new.format)(new.service, new.lane, seq);
            tx.execute(
                "INSERT INTO queue_ticket (day, service, lane, seq, number, priority, verification, \
                 drawn_at_unix_ms, origin, idempotency_key, attempted_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'offline', ?9, ?10)",
                params![
                    new.day,
                    new.service,
                    new.lane,
                    seq,
                    number,
                    new.priority,
                    new.verification,
                    sql_millis(new.drawn_at),
                    new.idempotency_key,
                    new.attempted_key
                ],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(key) = new.attempted_key {
                tx.execute("DELETE FROM centre_attempt WHERE idempotency_key = ?1", [key])?;
            }
            Ok(Draw::Drawn(Box::new(tx.query_row(
                &format!("SELECT {COLUMNS} FROM queue_ticket WHERE id = ?1"),
                [id],
                row,
            )?)))
        })
    }

    /// Records that a request for a number is about to go to the centre.
    pub fn begin_centre_attempt(
        &mut self,
        key: &str,
        service: &str,
        at: UnixMillis,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO centre_attempt (idempotency_key, service, started_at_unix_ms) \
                 VALUES (?1, ?2, ?3)",
                params![key, service, sql_millis(at)],
            )?;
            Ok(())
        })
    }

    /// Closes an attempt without a ticket (the centre refused).
    pub fn end_centre_attempt(&mut self, key: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM centre_attempt WHERE idempotency_key = ?1",
                [key],
            )?;
            Ok(())
        })
    }

    /// Attempts left open (by a crash, or not yet answered) that began
    /// before `before`, oldest first.
    pub fn open_centre_attempts(
        &self,
        before: UnixMillis,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT idempotency_key FROM centre_attempt WHERE started_at_unix_ms < ?1 \
             ORDER BY started_at_unix_ms LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![sql_millis(before), limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Offline tickets the centre has not acknowledged, oldest first.
    pub fn unacked_offline_tickets(&self, limit: u32) -> Result<Vec<TicketRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM queue_ticket WHERE origin = 'offline' AND acked_at_unix_ms IS NULL \
             ORDER BY id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records the centre's acknowledgement of the offline ticket with
    /// `key`. Idempotent; `false` if no such offline ticket.
    pub fn ack_offline_ticket(
        &mut self,
        key: &str,
        centre_ticket_id: Option<i64>,
        at: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE queue_ticket SET acked_at_unix_ms = coalesce(acked_at_unix_ms, ?2), \
                 centre_ticket_id = coalesce(centre_ticket_id, ?3) \
                 WHERE idempotency_key = ?1 AND origin = 'offline'",
                params![key, sql_millis(at), centre_ticket_id],
            )?;
            Ok(n == 1)
        })
    }

    /// Draws the next number of `new.service` and `new.lane` for the day in
    /// one IMMEDIATE transaction: counts the day's numbers against the
    /// limit, takes the lane's next sequence, and inserts the ticket.
    pub fn draw_ticket(&mut self, new: &NewTicket<'_>) -> Result<Draw, StoreError> {
        self.write(|tx| {
            let drawn: u32 = tx.query_row(
                "SELECT count(*) FROM queue_ticket WHERE day = ?1 AND service = ?2",
                params![new.day, new.service],
                |r| r.get(0),
            )?;
            let last: u32 = tx.query_row(
                "SELECT coalesce(max(seq), 0) FROM queue_ticket WHERE day = ?1 AND service = ?2 AND lane = ?3",
                params![new.day, new.service, new.lane],
                |r| r.get(0),
            )?;
            if drawn >= new.daily_limit || last >= 999 {
                return Ok(Draw::SoldOut { drawn });
            }
            let seq = last + 1;
            let number = (new.format)(new.service, new.lane, seq);
            tx.execute(
                "INSERT INTO queue_ticket (day, service, lane, seq, number, priority, verification, drawn_at_unix_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.day,
                    new.service,
                    new.lane,
                    seq,
                    number,
                    new.priority,
                    new.verification,
                    sql_millis(new.drawn_at)
                ],
            )?;
            let id = tx.last_insert_rowid();
            Ok(Draw::Drawn(Box::new(tx.query_row(
                &format!("SELECT {COLUMNS} FROM queue_ticket WHERE id = ?1"),
                [id],
                row,
            )?)))
        })
    }

    /// Records that ticket `id` came out of the printer (it now counts as
    /// issued). Idempotent: a ticket printed again keeps its first time.
    pub fn mark_ticket_printed(&mut self, id: i64, at: UnixMillis) -> Result<bool, StoreError> {
        self.write(|tx| {
            // Counted once, on its first print (Count a ticket only once it
            // has printed).
            bump_once(
                tx,
                "SELECT service FROM queue_ticket WHERE id = ?1 AND printed_at_unix_ms IS NULL",
                id,
                at,
                Metric::TicketsPrinted,
            )?;
            let n = tx.execute(
                "UPDATE queue_ticket SET print_attempts = print_attempts + 1, \
                 printed_at_unix_ms = coalesce(printed_at_unix_ms, ?2), last_print_problem = NULL \
                 WHERE id = ?1",
                params![id, sql_millis(at)],
            )?;
            Ok(n == 1)
        })
    }

    /// Records a failed print attempt of ticket `id` and why. A ticket
    /// whose first print fails counts once as unprinted.
    pub fn record_print_failure(
        &mut self,
        id: i64,
        problem: &str,
        at: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            bump_once(
                tx,
                "SELECT service FROM queue_ticket WHERE id = ?1 AND print_attempts = 0 \
                     AND printed_at_unix_ms IS NULL",
                id,
                at,
                Metric::TicketsUnprinted,
            )?;
            let n = tx.execute(
                "UPDATE queue_ticket SET print_attempts = print_attempts + 1, last_print_problem = ?2 \
                 WHERE id = ?1 AND printed_at_unix_ms IS NULL",
                params![id, problem],
            )?;
            Ok(n == 1)
        })
    }

    /// The ticket with row id `id`.
    pub fn ticket(&self, id: i64) -> Result<Option<TicketRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM queue_ticket WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// The ticket shown as `number` on `day`.
    pub fn ticket_by_number(
        &self,
        day: &str,
        number: &str,
    ) -> Result<Option<TicketRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM queue_ticket WHERE day = ?1 AND number = ?2"),
                [day, number],
                row,
            )
            .optional()?)
    }

    /// Every ticket of `day`, in drawing order.
    pub fn tickets_of_day(&self, day: &str) -> Result<Vec<TicketRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM queue_ticket WHERE day = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([day], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tickets drawn but never printed, newest first (the re-print list).
    pub fn unprinted_tickets(&self, limit: u32) -> Result<Vec<TicketRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM queue_ticket WHERE printed_at_unix_ms IS NULL ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The waiting list of a service on `day`: printed, not yet called.
    pub fn waiting_tickets(&self, day: &str, service: &str) -> Result<Vec<TicketRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM queue_ticket WHERE day = ?1 AND service = ?2 \
             AND printed_at_unix_ms IS NOT NULL AND called_at_unix_ms IS NULL ORDER BY id"
        ))?;
        let rows = stmt.query_map([day, service], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks ticket `id` called to `counter`, if it is still waiting.
    pub fn mark_ticket_called(
        &mut self,
        id: i64,
        counter: u16,
        at: UnixMillis,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE queue_ticket SET called_at_unix_ms = ?3, counter = ?2 \
                 WHERE id = ?1 AND called_at_unix_ms IS NULL AND printed_at_unix_ms IS NOT NULL",
                params![id, counter, sql_millis(at)],
            )?;
            Ok(n == 1)
        })
    }
}
