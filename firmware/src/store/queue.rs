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
     called_at_unix_ms, counter";

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
    })
}

impl Store {
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
