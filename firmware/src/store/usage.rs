//! Usage counts per local day (`usage_counts`, migration 0004): what
//! [`crate::metrics`] defines, stored so that `kioskctl stats`, the staff
//! panel and the Prometheus endpoint read the same figures, and so that
//! they survive a restart.
//!
//! The counts that follow a state change of the store (a ticket printed, a
//! request queued, sent or refused) are added in that change's own
//! transaction, so a crash can never count a ticket that was not recorded
//! as printed. The others (journeys, chip reads, face checks, ratings,
//! staff calls) come from the runtime through [`Store::count_usage`].

use super::{Store, StoreError, UnixMillis};
use crate::metrics::{Count, Label, Metric, Usage, UsageCount};
use crate::ticket::LocalTime;
use rusqlite::{Connection, OptionalExtension, params};

/// The local day key (`YYYYMMDD`, Vietnam time) of `at`; `None` for a
/// clock outside the calendar's range.
pub fn day_of(at: UnixMillis) -> Option<String> {
    LocalTime::in_vietnam(at.0).map(|t| t.day_key())
}

/// Adds `by` to `metric`/`label` on the day of `at`, inside the caller's
/// transaction. A clock outside the calendar's range counts on day
/// `00000000` rather than losing the count.
pub(crate) fn bump(
    conn: &Connection,
    at: UnixMillis,
    metric: Metric,
    label: &str,
    by: u64,
) -> Result<(), StoreError> {
    if by == 0 {
        return Ok(());
    }
    let day = day_of(at).unwrap_or_else(|| "00000000".into());
    let by = i64::try_from(by).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO usage_counts (day, metric, label, count) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (day, metric, label) DO UPDATE SET count = count + excluded.count",
        params![day, metric.name(), label, by],
    )?;
    Ok(())
}

/// Counts one `metric` on the day of `at`, labelled with the code that
/// `query` (one `?1` parameter: `id`) returns, when it returns a row: the
/// "count it the first time only" pattern of the store's state changes.
pub(crate) fn bump_once(
    conn: &Connection,
    query: &str,
    id: i64,
    at: UnixMillis,
    metric: Metric,
) -> Result<(), StoreError> {
    let code: Option<String> = conn.query_row(query, [id], |r| r.get(0)).optional()?;
    match code {
        Some(code) => bump(conn, at, metric, code_label(&code).as_str(), 1),
        None => Ok(()),
    }
}

/// A configuration code (service, procedure) as a label; anything that is
/// not a plain code counts as `other`.
pub(crate) fn code_label(code: &str) -> Label {
    Label::code(code).unwrap_or_else(|| Label::code("other").unwrap_or(Label::NONE))
}

fn usage(conn: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Usage, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let counts = stmt
        .query_map(args, |r| {
            Ok(UsageCount {
                metric: r.get(0)?,
                label: r.get(1)?,
                count: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Usage { counts })
}

impl Store {
    /// Adds `counts` on the day of `at`, in one transaction.
    pub fn count_usage(&mut self, at: UnixMillis, counts: &[Count]) -> Result<(), StoreError> {
        self.write(|tx| {
            for c in counts {
                bump(tx, at, c.metric, c.label.as_str(), c.by)?;
            }
            Ok(())
        })
    }

    /// The counts of local day `day` (`YYYYMMDD`).
    pub fn usage_of_day(&self, day: &str) -> Result<Usage, StoreError> {
        usage(
            &self.conn,
            "SELECT metric, label, count FROM usage_counts WHERE day = ?1 AND count > 0 \
             ORDER BY metric, label",
            &[&day],
        )
    }

    /// The counts since the database was created.
    pub fn usage_totals(&self) -> Result<Usage, StoreError> {
        usage(
            &self.conn,
            "SELECT metric, label, sum(count) FROM usage_counts GROUP BY metric, label \
             HAVING sum(count) > 0 ORDER BY metric, label",
            &[],
        )
    }

    /// Requests waiting in the outbox (`pending` or `sending`) and refused
    /// ones waiting for staff (`failed`).
    pub fn outbox_backlog(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(state IN ('pending', 'sending')), 0), coalesce(sum(state = 'failed'), 0) \
             FROM outbox",
            [],
            |r| {
                Ok((
                    u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                ))
            },
        )?)
    }
}
