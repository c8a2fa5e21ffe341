//! The centre's queue in PostgreSQL: migrations, and every change of the
//! queue as one SQL transaction.
//!
//! - Numbering: one `UPDATE service_day … RETURNING` per ticket takes the
//!   next sequence of the day, service and lane under that row's lock, and
//!   the ticket is inserted in the same transaction. The UNIQUE constraint
//!   `ticket_number_unique (centre_id, day, issued_service, lane, seq)` is
//!   what makes a duplicate impossible, whatever the application does.
//! - Idempotency: `(centre_id, kiosk_id, idempotency_key)` is UNIQUE. A
//!   retry finds its first ticket (`replayed`); two concurrent requests with
//!   one key race on the constraint and the loser replays the winner.
//! - Calls lock the `service_day` rows of the services called (in code
//!   order, so two counters never deadlock), then pick the first waiting
//!   ticket in the kiosk's calling order (`firmware::queue::order`, the
//!   same rule and fairness bound as a single kiosk).
//! - Each change appends a `ticket_event` row (TheQ's periods), the source
//!   of the waiting and service times the statistics will count.
//!
//! Migrations are the numbered files in `centre/migrations/`, applied in
//! one transaction under an advisory lock (two centres starting together
//! migrate once); a database newer than the code is refused.

use crate::identity::IdentityKey;
use crate::stats::{DayStats, TicketTimes};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use kiosk_firmware::queue::centre::{
    CentreTicket, IssueAnswer, IssueRequest, OfflineBlock, OfflineTicket, Origin, RatingKind,
    RatingRequest, ReconcileAnswer, ReconcileOutcome, ReconcileRequest, ReconcileResult,
    TicketState,
};
use kiosk_firmware::queue::order::{self, Place};
use kiosk_firmware::queue::{Catalog, Lane, Queue, display_number, parse_priority};
use kiosk_firmware::store::UnixMillis;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// One migration.
#[derive(Debug, Clone, Copy)]
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "ratings",
        sql: include_str!("../migrations/0002_ratings.sql"),
    },
    Migration {
        version: 3,
        name: "pages",
        sql: include_str!("../migrations/0003_pages.sql"),
    },
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i32 = 3;

pub mod pages;

/// A key no other advisory lock of ours uses: "migrating".
const MIGRATION_LOCK: i64 = 0x6b69_6f73_6b63_6d31;

/// Why a database operation failed (not a refusal: see [`Refusal`]).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// PostgreSQL said no, or the connection broke. Remedy: see the
    /// message; the transaction was rolled back.
    #[error("PostgreSQL: {0}")]
    Pg(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool (the server is down, or
    /// refuses the credentials).
    #[error("no database connection: {0}")]
    Pool(String),
    /// The connection string cannot be used.
    #[error("database.url: {0}")]
    Url(String),
    /// The database was migrated by a newer centre. Remedy: run that
    /// version; nothing was changed.
    #[error("the database has schema version {found}, this centre knows up to {supported}")]
    SchemaTooNew {
        /// The database's version.
        found: i32,
        /// This code's.
        supported: i32,
    },
    /// A stored row this code cannot read.
    #[error("ticket row {0} cannot be read")]
    CorruptRow(i64),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

/// Why the centre refused a request (each maps to one HTTP status and code
/// in `docs/centre-api.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a service of the catalogue.
    #[error("no service {0:?}")]
    UnknownService(String),
    /// The service issues no numbers now.
    #[error("service {service} issues no numbers now")]
    Closed {
        /// The service.
        service: String,
        /// When it next opens.
        next_opening: Option<u64>,
    },
    /// The day's numbers are used up.
    #[error("service {service} has given out its numbers for today")]
    SoldOut {
        /// The service.
        service: String,
        /// The limit that was reached.
        limit: u32,
    },
    /// The key was used for a different request.
    #[error("idempotency key already used for another request")]
    IdempotencyConflict,
    /// A request that cannot be right (lane and priority disagree, a bad
    /// key).
    #[error("{0}")]
    BadRequest(String),
    /// No such ticket at this centre.
    #[error("no ticket {0}")]
    NoSuchTicket(i64),
    /// The ticket is not in a state this action applies to.
    #[error("ticket {id} is {state}")]
    WrongState {
        /// The ticket.
        id: i64,
        /// Its state.
        state: String,
    },
    /// Another counter called it.
    #[error("ticket {0} was called by another counter")]
    NotYourTicket(i64),
    /// The counter has a called ticket it has not finished.
    #[error("counter {counter} still has {number} called")]
    CounterBusy {
        /// The counter.
        counter: u16,
        /// Its current ticket.
        number: String,
    },
    /// The counter serves none of the services asked for.
    #[error("counter {0} serves no such service")]
    CounterNotServing(u16),
    /// An identity packet with an anonymous ticket (or a packet that says
    /// anonymous): only an identified holder has one.
    #[error("an anonymous ticket carries no identity packet")]
    IdentityOnAnonymous,
    /// The packet names another service than the ticket's.
    #[error("the identity packet is for service {packet}, the ticket for {ticket}")]
    IdentityServiceMismatch {
        /// The packet's service.
        packet: String,
        /// The ticket's.
        ticket: String,
    },
    /// The packet is larger than the centre keeps.
    #[error("the identity packet is {size} bytes, at most {max}")]
    IdentityTooLarge {
        /// Its size (JSON).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// This centre has no identity key: it keeps no packets.
    #[error("this centre does not accept identity packets (no identity key configured)")]
    IdentityNotAccepted,
    /// The ticket has no identity packet (none was sent, or it was deleted
    /// when the ticket ended or at day end).
    #[error("ticket {0} has no identity packet")]
    NoIdentity(i64),
    /// The ticket was finished at this counter: its packet was deleted.
    #[error("ticket {0} is finished: its identity packet was deleted")]
    IdentityGone(i64),
    /// The ticket is not called at the asking session's counter.
    #[error("ticket {0} is not called at your counter")]
    NotAtYourCounter(i64),
    /// Too many wrong PINs for this staff id.
    #[error("too many wrong PINs: locked until {until_unix_ms}")]
    LockedOut {
        /// When the lock ends (wall-clock ms).
        until_unix_ms: u64,
    },
}

/// A refusal or a failure.
#[derive(Debug, thiserror::Error)]
pub enum CentreError {
    /// The request was refused.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for CentreError {
    fn from(e: tokio_postgres::Error) -> Self {
        CentreError::Db(DbError::Pg(e))
    }
}

impl From<deadpool_postgres::PoolError> for CentreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        CentreError::Db(e.into())
    }
}

/// A pool of connections to `url` (a tokio-postgres connection string).
pub fn pool(url: &str, size: usize) -> Result<Pool, DbError> {
    let pg: tokio_postgres::Config = url.parse().map_err(|e| DbError::Url(format!("{e}")))?;
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Applies the migrations after the database's version; returns the
/// version now.
pub async fn migrate(pool: &Pool) -> Result<i32, DbError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migration (\
           version integer PRIMARY KEY, name text NOT NULL, \
           applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migration",
            &[],
        )
        .await?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(DbError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let mut version = found;
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO schema_migration (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        version = m.version;
    }
    tx.commit().await?;
    Ok(version)
}

const COLUMNS: &str = "id, centre_id, day, number, issued_service, service, lane, seq, priority, \
     verification, kiosk_id, origin, state, drawn_at_ms, counter, called_at_ms, recalls";

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql_ms(v: UnixMillis) -> i64 {
    i64::try_from(v.0).unwrap_or(i64::MAX)
}

fn ticket(row: &Row) -> Result<CentreTicket, DbError> {
    let id: i64 = row.get(0);
    let bad = || DbError::CorruptRow(id);
    let lane: String = row.get(6);
    let origin: String = row.get(11);
    let state: String = row.get(12);
    let seq: i32 = row.get(7);
    let counter: Option<i32> = row.get(14);
    let recalls: i32 = row.get(16);
    Ok(CentreTicket {
        id,
        centre_id: row.get(1),
        day: row.get(2),
        number: row.get(3),
        issued_service: row.get(4),
        service: row.get(5),
        lane: Lane::parse(&lane).ok_or_else(bad)?,
        seq: u32::try_from(seq).map_err(|_| bad())?,
        priority: row.get(8),
        verification: row.get(9),
        kiosk_id: row.get(10),
        origin: match Origin::parse(&origin).ok_or_else(bad)? {
            Origin::Local => return Err(bad()),
            o => o,
        },
        state: TicketState::parse(&state).ok_or_else(bad)?,
        drawn_at_unix_ms: ms(row.get(13)),
        counter: counter.map(u16::try_from).transpose().map_err(|_| bad())?,
        called_at_unix_ms: row.get::<_, Option<i64>>(15).map(ms),
        recalls: u32::try_from(recalls).map_err(|_| bad())?,
    })
}

fn is_unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.as_db_error().is_some_and(|d| {
        d.code() == &SqlState::UNIQUE_VIOLATION && d.constraint() == Some(constraint)
    })
}

async fn query(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let stmt = tx.prepare_cached(sql).await?;
    tx.query(&stmt, params).await
}

async fn event(
    tx: &Transaction<'_>,
    ticket: i64,
    at: UnixMillis,
    kind: &str,
    counter: Option<i32>,
    detail: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    query(
        tx,
        "INSERT INTO ticket_event (ticket_id, at_ms, kind, counter, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&ticket, &sql_ms(at), &kind, &counter, &detail],
    )
    .await
    .map(drop)
}

/// Checks an idempotency key: 8–128 printable ASCII characters.
fn check_key(key: &str) -> Result<(), Refusal> {
    if (8..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Refusal::BadRequest(
            "the idempotency key must be 8–128 printable ASCII characters".into(),
        ))
    }
}

const VERIFICATIONS: &[&str] = &["anonymous", "face_matched", "staff_confirmed", "guardian"];

fn check_lane(lane: Lane, priority: Option<&str>, verification: &str) -> Result<(), Refusal> {
    match (lane, priority) {
        (Lane::Normal, None) => {}
        (Lane::Priority, Some(p)) if parse_priority(p).is_some() => {}
        _ => {
            return Err(Refusal::BadRequest(
                "a priority lane needs a known priority category, a normal lane none".into(),
            ));
        }
    }
    if !VERIFICATIONS.contains(&verification) {
        return Err(Refusal::BadRequest(format!(
            "verification must be one of {VERIFICATIONS:?}"
        )));
    }
    Ok(())
}

/// The queue of one centre.
#[derive(Debug, Clone)]
pub struct CentreDb {
    pool: Pool,
    centre_id: String,
    catalog: Catalog,
    online_max: u32,
    identity_key: Option<std::sync::Arc<IdentityKey>>,
}

impl CentreDb {
    /// The queue of `centre_id` over `pool` (migrated).
    pub fn new(pool: Pool, centre_id: &str, catalog: Catalog, online_max: u32) -> CentreDb {
        CentreDb {
            pool,
            centre_id: centre_id.to_owned(),
            catalog,
            online_max,
            identity_key: None,
        }
    }

    /// The same queue, keeping identity packets sealed under `key`.
    pub fn with_identity_key(mut self, key: std::sync::Arc<IdentityKey>) -> CentreDb {
        self.identity_key = Some(key);
        self
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The centre.
    pub fn centre_id(&self) -> &str {
        &self.centre_id
    }

    /// A cheap round trip: the database answers.
    pub async fn ping(&self) -> Result<i32, DbError> {
        let client = self.pool.get().await?;
        let v: i32 = client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migration",
                &[],
            )
            .await?
            .get(0);
        Ok(v)
    }

    fn day(now: UnixMillis) -> Result<String, Refusal> {
        Queue::day(now).map_err(|_| Refusal::BadRequest("the centre's clock is unusable".into()))
    }

    /// Issues the next number of `req.service` to `kiosk`, or replays the
    /// ticket an earlier request with `key` got.
    pub async fn issue(
        &self,
        kiosk: &str,
        key: &str,
        req: &IssueRequest,
        now: UnixMillis,
    ) -> Result<IssueAnswer, CentreError> {
        check_key(key)?;
        let service = self
            .catalog
            .service(&req.service)
            .ok_or_else(|| Refusal::UnknownService(req.service.clone()))?;
        check_lane(req.lane, req.priority.as_deref(), &req.verification)?;
        let identity_key = match &req.identity {
            Some(p) => Some(self.check_identity(req, p)?),
            None => None,
        };
        let day = Self::day(now)?;
        let mut client = self.pool.get().await?;
        // A lost race on the idempotency key replays the winner: at most
        // one retry is ever needed.
        for _ in 0..3 {
            let tx = client.transaction().await?;
            if let Some(row) = query(
                &tx,
                &format!(
                    "SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND kiosk_id = $2 AND idempotency_key = $3"
                ),
                &[&self.centre_id, &kiosk, &key],
            )
            .await?
            .first()
            {
                let t = ticket(row)?;
                if t.issued_service != req.service || t.lane != req.lane {
                    return Err(Refusal::IdempotencyConflict.into());
                }
                let waiting = self.waiting_before(&tx, &t).await?;
                return Ok(IssueAnswer {
                    ticket: t,
                    waiting,
                    replayed: true,
                });
            }
            if !service.hours.is_open(now.0) {
                return Err(Refusal::Closed {
                    service: service.code.clone(),
                    next_opening: service.hours.next_opening(now.0),
                }
                .into());
            }
            query(
                &tx,
                "INSERT INTO service_day (centre_id, day, service) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&self.centre_id, &day, &service.code],
            )
            .await?;
            let limit = i32::try_from(service.daily_limit).unwrap_or(i32::MAX);
            let online_max = i32::try_from(self.online_max).unwrap_or(999);
            let lane = req.lane.as_str();
            let taken = query(
                &tx,
                "UPDATE service_day SET issued = issued + 1, \
                   last_normal = last_normal + (CASE WHEN $4 = 'normal' THEN 1 ELSE 0 END), \
                   last_priority = last_priority + (CASE WHEN $4 = 'priority' THEN 1 ELSE 0 END) \
                 WHERE centre_id = $1 AND day = $2 AND service = $3 AND issued < $5 \
                   AND (CASE WHEN $4 = 'normal' THEN last_normal ELSE last_priority END) < $6 \
                 RETURNING (CASE WHEN $4 = 'normal' THEN last_normal ELSE last_priority END)",
                &[
                    &self.centre_id,
                    &day,
                    &service.code,
                    &lane,
                    &limit,
                    &online_max,
                ],
            )
            .await?;
            let Some(seq_row) = taken.first() else {
                return Err(Refusal::SoldOut {
                    service: service.code.clone(),
                    limit: service.daily_limit.min(self.online_max),
                }
                .into());
            };
            let seq: i32 = seq_row.get(0);
            let number = display_number(
                &service.code,
                lane,
                u32::try_from(seq).map_err(|_| DbError::CorruptRow(0))?,
            );
            let inserted = query(
                &tx,
                &format!(
                    "INSERT INTO ticket (centre_id, day, issued_service, lane, seq, number, service, \
                       priority, verification, kiosk_id, idempotency_key, origin, state, \
                       drawn_at_ms, received_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $3, $7, $8, $9, $10, 'centre', 'waiting', $11, $11) \
                     RETURNING {COLUMNS}"
                ),
                &[
                    &self.centre_id,
                    &day,
                    &service.code,
                    &lane,
                    &seq,
                    &number,
                    &req.priority,
                    &req.verification,
                    &kiosk,
                    &key,
                    &sql_ms(now),
                ],
            )
            .await;
            let rows = match inserted {
                Ok(rows) => rows,
                Err(e) if is_unique_violation(&e, "ticket_idempotency_unique") => {
                    drop(tx);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let t = ticket(rows.first().ok_or(DbError::CorruptRow(0))?)?;
            event(&tx, t.id, now, "issued", None, None).await?;
            if let (Some(p), Some(key)) = (&req.identity, identity_key.as_deref()) {
                self.store_identity(&tx, key, &t, p, now).await?;
            }
            let waiting = self.waiting_before(&tx, &t).await?;
            tx.commit().await?;
            return Ok(IssueAnswer {
                ticket: t,
                waiting,
                replayed: false,
            });
        }
        Err(Refusal::IdempotencyConflict.into())
    }

    async fn waiting_of(
        &self,
        tx: &Transaction<'_>,
        day: &str,
        services: &[String],
    ) -> Result<Vec<CentreTicket>, CentreError> {
        let rows = query(
            tx,
            &format!(
                "SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND day = $2 \
                 AND service = ANY($3) AND state = 'waiting'"
            ),
            &[&self.centre_id, &day, &services],
        )
        .await?;
        let mut tickets = rows.iter().map(ticket).collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by_key(|t| order::order_key(&place(t), &self.catalog.policy));
        Ok(tickets)
    }

    async fn waiting_before(
        &self,
        tx: &Transaction<'_>,
        t: &CentreTicket,
    ) -> Result<u32, CentreError> {
        let waiting: Vec<Place> = self
            .waiting_of(tx, &t.day, std::slice::from_ref(&t.service))
            .await?
            .iter()
            .map(place)
            .collect();
        Ok(order::ahead_of(&place(t), &waiting, &self.catalog.policy))
    }

    /// The waiting tickets of `service` today, in calling order.
    pub async fn waiting(
        &self,
        service: &str,
        now: UnixMillis,
    ) -> Result<Vec<CentreTicket>, CentreError> {
        if self.catalog.service(service).is_none() {
            return Err(Refusal::UnknownService(service.to_owned()).into());
        }
        let day = Self::day(now)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let list = self.waiting_of(&tx, &day, &[service.to_owned()]).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Records a kiosk's rating once per idempotency key; `true` when it
    /// was recorded now, `false` when `key` had recorded the same rating.
    pub async fn record_rating(
        &self,
        kiosk: &str,
        key: &str,
        req: &RatingRequest,
        now: UnixMillis,
    ) -> Result<bool, CentreError> {
        check_key(key)?;
        if !(1..=5).contains(&req.score) {
            return Err(Refusal::BadRequest(format!("a score is 1–5, not {}", req.score)).into());
        }
        match (&req.service, req.kind) {
            (Some(service), RatingKind::Ticket) => {
                if self.catalog.service(service).is_none() {
                    return Err(Refusal::UnknownService(service.clone()).into());
                }
            }
            (None, RatingKind::Request | RatingKind::Visit) => {}
            _ => {
                return Err(Refusal::BadRequest(
                    "a ticket's rating names its service, other ratings none".into(),
                )
                .into());
            }
        }
        let day = Self::day(now)?;
        let score = i16::from(req.score);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let inserted = query(
            &tx,
            "INSERT INTO rating (centre_id, day, kiosk_id, idempotency_key, score, kind, service, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT ON CONSTRAINT rating_idempotency_unique DO NOTHING RETURNING id",
            &[
                &self.centre_id,
                &day,
                &kiosk,
                &key,
                &score,
                &req.kind.as_str(),
                &req.service,
                &sql_ms(now),
            ],
        )
        .await?;
        if inserted.is_empty() {
            let rows = query(
                &tx,
                "SELECT score, kind, service FROM rating \
                 WHERE centre_id = $1 AND kiosk_id = $2 AND idempotency_key = $3",
                &[&self.centre_id, &kiosk, &key],
            )
            .await?;
            let same = rows.first().is_some_and(|r| {
                r.get::<_, i16>(0) == score
                    && r.get::<_, String>(1) == req.kind.as_str()
                    && r.get::<_, Option<String>>(2) == req.service
            });
            tx.commit().await?;
            return if same {
                Ok(false)
            } else {
                Err(Refusal::IdempotencyConflict.into())
            };
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The statistics of `day` (YYYYMMDD): times, counts and ratings, no
    /// personal data (`crate::stats`).
    pub async fn day_stats(&self, day: &str) -> Result<DayStats, CentreError> {
        if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Refusal::BadRequest(format!("{day:?} is not a day (YYYYMMDD)")).into());
        }
        let mut client = self.pool.get().await?;
        // One snapshot for tickets and ratings.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = query(
            &tx,
            "SELECT id, service, state, origin, counter, drawn_at_ms, first_called_at_ms, \
               called_at_ms, finished_at_ms FROM ticket WHERE centre_id = $1 AND day = $2",
            &[&self.centre_id, &day],
        )
        .await?;
        let mut tickets = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.get(0);
            let bad = || DbError::CorruptRow(id);
            let state: String = r.get(2);
            let origin: String = r.get(3);
            let counter: Option<i32> = r.get(4);
            tickets.push(TicketTimes {
                service: r.get(1),
                state: TicketState::parse(&state).ok_or_else(bad)?,
                origin: Origin::parse(&origin).ok_or_else(bad)?,
                counter: counter.map(u16::try_from).transpose().map_err(|_| bad())?,
                drawn_at_ms: ms(r.get(5)),
                first_called_at_ms: r.get::<_, Option<i64>>(6).map(ms),
                called_at_ms: r.get::<_, Option<i64>>(7).map(ms),
                finished_at_ms: r.get::<_, Option<i64>>(8).map(ms),
            });
        }
        let rows = query(
            &tx,
            "SELECT id, score, kind, service FROM rating WHERE centre_id = $1 AND day = $2",
            &[&self.centre_id, &day],
        )
        .await?;
        let mut ratings = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.get(0);
            let kind: String = r.get(2);
            ratings.push(RatingRequest {
                score: u8::try_from(r.get::<_, i16>(1)).map_err(|_| DbError::CorruptRow(id))?,
                kind: RatingKind::parse(&kind).ok_or(DbError::CorruptRow(id))?,
                service: r.get(3),
            });
        }
        tx.commit().await?;
        Ok(crate::stats::summarise(
            &self.centre_id,
            day,
            &tickets,
            &ratings,
        ))
    }

    /// Today's local day at `now` (YYYYMMDD).
    pub fn today(now: UnixMillis) -> Result<String, CentreError> {
        Ok(Self::day(now)?)
    }

    /// Every ticket of `day`, in id order (tests, statistics).
    pub async fn tickets_of_day(&self, day: &str) -> Result<Vec<CentreTicket>, CentreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND day = $2 ORDER BY id"
                ),
                &[&self.centre_id, &day],
            )
            .await?;
        Ok(rows.iter().map(ticket).collect::<Result<Vec<_>, _>>()?)
    }

    /// The ticket `id`.
    pub async fn get(&self, id: i64) -> Result<CentreTicket, CentreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND id = $2"),
                &[&self.centre_id, &id],
            )
            .await?;
        Ok(ticket(rows.first().ok_or(Refusal::NoSuchTicket(id))?)?)
    }

    /// Records a kiosk's offline tickets and voids the numbers issued under
    /// its abandoned or failed requests that are still waiting.
    pub async fn reconcile(
        &self,
        kiosk: &str,
        block: OfflineBlock,
        req: &ReconcileRequest,
        now: UnixMillis,
    ) -> Result<ReconcileAnswer, CentreError> {
        let mut answer = ReconcileAnswer::default();
        let mut client = self.pool.get().await?;
        for t in &req.tickets {
            let result = match self.check_offline(t, block) {
                Err(reason) => ReconcileResult {
                    idempotency_key: t.idempotency_key.clone(),
                    outcome: ReconcileOutcome::Rejected,
                    ticket_id: None,
                    voided: None,
                    reason: Some(reason),
                },
                Ok(()) => self.record_offline(&mut client, kiosk, t, now).await?,
            };
            answer.results.push(result);
        }
        for key in &req.abandoned {
            if check_key(key).is_err() {
                continue;
            }
            let tx = client.transaction().await?;
            if let Some(number) = self.void_if_waiting(&tx, kiosk, key, now).await? {
                answer.voided.push(number);
            }
            tx.commit().await?;
            answer.abandoned_done.push(key.clone());
        }
        Ok(answer)
    }

    fn check_offline(&self, t: &OfflineTicket, block: OfflineBlock) -> Result<(), String> {
        check_key(&t.idempotency_key).map_err(|e| e.to_string())?;
        if self.catalog.service(&t.service).is_none() {
            return Err(format!("unknown_service {}", t.service));
        }
        check_lane(t.lane, t.priority.as_deref(), &t.verification).map_err(|e| e.to_string())?;
        if !block.contains(t.seq) {
            return Err(format!("not_in_block {} of {block}", t.seq));
        }
        if display_number(&t.service, t.lane.as_str(), t.seq) != t.number {
            return Err("number_mismatch".into());
        }
        match Queue::day(UnixMillis(t.drawn_at_unix_ms)) {
            Ok(day) if day == t.day => Ok(()),
            _ => Err("day_mismatch".into()),
        }
    }

    async fn void_if_waiting(
        &self,
        tx: &Transaction<'_>,
        kiosk: &str,
        key: &str,
        now: UnixMillis,
    ) -> Result<Option<String>, CentreError> {
        let rows = query(
            tx,
            "UPDATE ticket SET state = 'void', finished_at_ms = $4 \
             WHERE centre_id = $1 AND kiosk_id = $2 AND idempotency_key = $3 AND state = 'waiting' \
             RETURNING id, number",
            &[&self.centre_id, &kiosk, &key, &sql_ms(now)],
        )
        .await?;
        match rows.first() {
            Some(r) => {
                pages::delete_identity(tx, r.get(0)).await?;
                event(
                    tx,
                    r.get(0),
                    now,
                    "voided",
                    None,
                    Some("never received by its kiosk"),
                )
                .await?;
                Ok(Some(r.get(1)))
            }
            None => Ok(None),
        }
    }

    async fn record_offline(
        &self,
        client: &mut deadpool_postgres::Object,
        kiosk: &str,
        t: &OfflineTicket,
        now: UnixMillis,
    ) -> Result<ReconcileResult, CentreError> {
        let mut result = ReconcileResult {
            idempotency_key: t.idempotency_key.clone(),
            outcome: ReconcileOutcome::Recorded,
            ticket_id: None,
            voided: None,
            reason: None,
        };
        let tx = client.transaction().await?;
        let existing = query(
            &tx,
            "SELECT id, number FROM ticket WHERE centre_id = $1 AND kiosk_id = $2 AND idempotency_key = $3",
            &[&self.centre_id, &kiosk, &t.idempotency_key],
        )
        .await?;
        if let Some(r) = existing.first() {
            let number: String = r.get(1);
            if number == t.number {
                result.outcome = ReconcileOutcome::Already;
                result.ticket_id = Some(r.get(0));
            } else {
                result.outcome = ReconcileOutcome::Rejected;
                result.reason = Some("idempotency_conflict".into());
            }
            return Ok(result);
        }
        query(
            &tx,
            "INSERT INTO service_day (centre_id, day, service) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&self.centre_id, &t.day, &t.service],
        )
        .await?;
        query(
            &tx,
            "SELECT 1 FROM service_day WHERE centre_id = $1 AND day = $2 AND service = $3 FOR UPDATE",
            &[&self.centre_id, &t.day, &t.service],
        )
        .await?;
        if let Some(attempted) = t.attempted_key.as_deref().filter(|k| check_key(k).is_ok()) {
            result.voided = self.void_if_waiting(&tx, kiosk, attempted, now).await?;
        }
        let seq = i32::try_from(t.seq).unwrap_or(0);
        let inserted = query(
            &tx,
            "INSERT INTO ticket (centre_id, day, issued_service, lane, seq, number, service, \
               priority, verification, kiosk_id, idempotency_key, origin, state, \
               drawn_at_ms, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $3, $7, $8, $9, $10, 'offline', 'waiting', $11, $12) \
             RETURNING id",
            &[
                &self.centre_id,
                &t.day,
                &t.service,
                &t.lane.as_str(),
                &seq,
                &t.number,
                &t.priority,
                &t.verification,
                &kiosk,
                &t.idempotency_key,
                &i64::try_from(t.drawn_at_unix_ms).unwrap_or(i64::MAX),
                &sql_ms(now),
            ],
        )
        .await;
        let id: i64 = match inserted {
            Ok(rows) => rows.first().ok_or(DbError::CorruptRow(0))?.get(0),
            Err(e)
                if is_unique_violation(&e, "ticket_number_unique")
                    || is_unique_violation(&e, "ticket_display_unique") =>
            {
                // Never a duplicate: the kiosk keeps the ticket and staff
                // are told (blocks that overlap, a kiosk's id reused).
                drop(tx);
                result.outcome = ReconcileOutcome::Rejected;
                result.voided = None;
                result.reason = Some("number_taken".into());
                return Ok(result);
            }
            Err(e) => return Err(e.into()),
        };
        query(
            &tx,
            "UPDATE service_day SET issued = issued + 1 WHERE centre_id = $1 AND day = $2 AND service = $3",
            &[&self.centre_id, &t.day, &t.service],
        )
        .await?;
        event(&tx, id, now, "recorded", None, Some("issued offline")).await?;
        tx.commit().await?;
        result.ticket_id = Some(id);
        Ok(result)
    }

    /// Calls the next waiting ticket of the services `counter` serves (or
    /// of `only`), in the kiosk's calling order.
    pub async fn call_next(
        &self,
        counter: u16,
        only: Option<&str>,
        now: UnixMillis,
    ) -> Result<Option<CentreTicket>, CentreError> {
        let mut services: Vec<String> = self
            .catalog
            .services
            .iter()
            .filter(|s| s.counters.contains(&counter) && only.is_none_or(|o| o == s.code))
            .map(|s| s.code.clone())
            .collect();
        if services.is_empty() {
            return Err(Refusal::CounterNotServing(counter).into());
        }
        services.sort();
        let day = Self::day(now)?;
        let c = i32::from(counter);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Every service called gets its row, so the lock below always
        // holds (a transferred ticket can wait in a service that issued
        // nothing today).
        query(
            &tx,
            "INSERT INTO service_day (centre_id, day, service) SELECT $1, $2, unnest($3::text[]) \
             ON CONFLICT DO NOTHING",
            &[&self.centre_id, &day, &services],
        )
        .await?;
        query(
            &tx,
            "SELECT service FROM service_day WHERE centre_id = $1 AND day = $2 AND service = ANY($3) \
             ORDER BY service FOR UPDATE",
            &[&self.centre_id, &day, &services],
        )
        .await?;
        if let Some(r) = query(
            &tx,
            "SELECT number FROM ticket WHERE centre_id = $1 AND day = $2 AND counter = $3 AND state = 'called'",
            &[&self.centre_id, &day, &c],
        )
        .await?
        .first()
        {
            return Err(Refusal::CounterBusy {
                counter,
                number: r.get(0),
            }
            .into());
        }
        let next = self
            .waiting_of(&tx, &day, &services)
            .await?
            .into_iter()
            .find(|t| t.counter.is_none_or(|x| x == counter));
        let Some(next) = next else {
            return Ok(None);
        };
        let rows = query(
            &tx,
            &format!(
                "UPDATE ticket SET state = 'called', counter = $2, called_at_ms = $3, \
                   first_called_at_ms = coalesce(first_called_at_ms, $3) \
                 WHERE id = $1 AND state = 'waiting' RETURNING {COLUMNS}"
            ),
            &[&next.id, &c, &sql_ms(now)],
        )
        .await?;
        let called = ticket(rows.first().ok_or(DbError::CorruptRow(next.id))?)?;
        event(&tx, called.id, now, "called", Some(c), None).await?;
        tx.commit().await?;
        Ok(Some(called))
    }

    /// The ticket `id` as `counter` acts on it: it must be called there.
    async fn called_here(
        &self,
        tx: &Transaction<'_>,
        id: i64,
        counter: u16,
    ) -> Result<CentreTicket, CentreError> {
        let rows = query(
            tx,
            &format!("SELECT {COLUMNS} FROM ticket WHERE centre_id = $1 AND id = $2 FOR UPDATE"),
            &[&self.centre_id, &id],
        )
        .await?;
        let t = ticket(rows.first().ok_or(Refusal::NoSuchTicket(id))?)?;
        if t.state != TicketState::Called {
            return Err(Refusal::WrongState {
                id,
                state: t.state.as_str().to_owned(),
            }
            .into());
        }
        if t.counter != Some(counter) {
            return Err(Refusal::NotYourTicket(id).into());
        }
        Ok(t)
    }

    /// Calls ticket `id` again (the hall display shows it again).
    pub async fn recall(
        &self,
        id: i64,
        counter: u16,
        now: UnixMillis,
    ) -> Result<CentreTicket, CentreError> {
        self.act(
            id,
            counter,
            now,
            "recalled",
            "recalls = recalls + 1, called_at_ms = $2",
        )
        .await
    }

    /// The counter served ticket `id`.
    pub async fn served(
        &self,
        id: i64,
        counter: u16,
        now: UnixMillis,
    ) -> Result<CentreTicket, CentreError> {
        self.act(
            id,
            counter,
            now,
            "served",
            "state = 'served', finished_at_ms = $2",
        )
        .await
    }

    /// Nobody came for ticket `id`.
    pub async fn no_show(
        &self,
        id: i64,
        counter: u16,
        now: UnixMillis,
    ) -> Result<CentreTicket, CentreError> {
        self.act(
            id,
            counter,
            now,
            "no_show",
            "state = 'no_show', finished_at_ms = $2",
        )
        .await
    }

    async fn act(
        &self,
        id: i64,
        counter: u16,
        now: UnixMillis,
        kind: &str,
        assignments: &str,
    ) -> Result<CentreTicket, CentreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        self.called_here(&tx, id, counter).await?;
        let rows = query(
            &tx,
            &format!("UPDATE ticket SET {assignments} WHERE id = $1 RETURNING {COLUMNS}"),
            &[&id, &sql_ms(now)],
        )
        .await?;
        let t = ticket(rows.first().ok_or(DbError::CorruptRow(id))?)?;
        event(&tx, id, now, kind, Some(i32::from(counter)), None).await?;
        if t.state != TicketState::Called {
            // Served or a no-show: the holder's packet goes with it.
            pages::delete_identity(&tx, id).await?;
        }
        tx.commit().await?;
        Ok(t)
    }

    /// Sends ticket `id` back to the waiting list of `to_service`, for any
    /// of its counters or only `to_counter`. It keeps its number and its
    /// place by drawing time (the citizen has waited already).
    pub async fn transfer(
        &self,
        id: i64,
        counter: u16,
        to_service: &str,
        to_counter: Option<u16>,
        now: UnixMillis,
    ) -> Result<CentreTicket, CentreError> {
        let target = self
            .catalog
            .service(to_service)
            .ok_or_else(|| Refusal::UnknownService(to_service.to_owned()))?;
        if let Some(c) = to_counter
            && !target.counters.contains(&c)
        {
            return Err(Refusal::CounterNotServing(c).into());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let t = self.called_here(&tx, id, counter).await?;
        let to_c = to_counter.map(i32::from);
        let rows = query(
            &tx,
            &format!(
                "UPDATE ticket SET state = 'waiting', service = $2, counter = $3, called_at_ms = NULL \
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id, &target.code, &to_c],
        )
        .await?;
        let moved = ticket(rows.first().ok_or(DbError::CorruptRow(id))?)?;
        let detail = format!(
            "{} -> {}{}",
            t.service,
            target.code,
            to_counter
                .map(|c| format!(" counter {c}"))
                .unwrap_or_default()
        );
        event(
            &tx,
            id,
            now,
            "transferred",
            Some(i32::from(counter)),
            Some(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }
}

fn place(t: &CentreTicket) -> Place {
    Place {
        id: t.id,
        lane: t.lane,
        drawn_at: UnixMillis(t.drawn_at_unix_ms),
    }
}
