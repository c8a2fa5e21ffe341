//! The store's promises: pragmas, migrations from every shipped schema,
//! refusal of a newer schema, corrupt files moved aside, atomic migrations.

use super::*;
use std::path::PathBuf;

const NOW: UnixMillis = UnixMillis(1_795_000_000_000);

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data/kiosk.db")
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema")
}

fn fresh_schema() -> String {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&db(&dir), NOW).unwrap();
    store.schema().unwrap()
}

#[test]
fn a_new_database_is_created_at_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let (store, report) = Store::open(&db(&dir), NOW).unwrap();
    assert_eq!(
        report,
        OpenReport {
            moved_aside: None,
            migrated_from: 0,
            migrated_to: SCHEMA_VERSION
        }
    );
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.check().unwrap();
}

#[test]
fn pragmas_read_back_wal_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&db(&dir), NOW).unwrap();
    let p = store.pragmas().unwrap();
    assert_eq!(p.journal_mode, "wal");
    assert_eq!(p.synchronous, 2, "FULL");
    assert!(p.foreign_keys);
    assert_eq!(p.busy_timeout_ms, 5000);
}

#[test]
fn reopening_keeps_data_and_migrates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = Store::open(&db(&dir), NOW).unwrap();
        store.kv_set("install_id", "abc").unwrap();
        store
            .audit(NOW, "boot", &serde_json::json!({"version": "0.1.0"}))
            .unwrap();
    }
    let (store, report) = Store::open(&db(&dir), NOW).unwrap();
    assert_eq!(report.migrated_from, SCHEMA_VERSION);
    assert_eq!(report.migrated_to, SCHEMA_VERSION);
    assert_eq!(store.kv_get("install_id").unwrap().as_deref(), Some("abc"));
    assert_eq!(store.recent_audit(10).unwrap().len(), 1);
}

#[test]
fn audit_log_round_trips_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&db(&dir), NOW).unwrap();
    for i in 0..3u64 {
        store
            .audit(
                UnixMillis(NOW.0 + i),
                "journey_ended",
                &serde_json::json!({"reason": "completed", "n": i}),
            )
            .unwrap();
    }
    let entries = store.recent_audit(2).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].at, UnixMillis(NOW.0 + 2));
    assert_eq!(entries[0].kind, "journey_ended");
    assert_eq!(entries[0].detail, r#"{"n":2,"reason":"completed"}"#);
}

#[test]
fn settings_overwrite_and_absent_keys_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(&db(&dir), NOW).unwrap();
    assert_eq!(store.kv_get("x").unwrap(), None);
    store.kv_set("x", "1").unwrap();
    store.kv_set("x", "2").unwrap();
    assert_eq!(store.kv_get("x").unwrap().as_deref(), Some("2"));
}

#[test]
fn a_database_newer_than_the_code_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match Store::open(&path, NOW) {
        Err(StoreError::SchemaTooNew {
            found: 99,
            supported,
        }) => assert_eq!(supported, SCHEMA_VERSION),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was changed"
    );
    assert!(!PathBuf::from(format!("{}-wal", path.display())).exists());
}

#[test]
fn a_corrupt_file_is_moved_aside_and_a_fresh_database_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let garbage = b"this is not a database, it is a torn write from a power cut".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    std::fs::write(format!("{}-wal", path.display()), b"stale wal").unwrap();
    let (store, report) = Store::open(&path, NOW).unwrap();
    let aside = report.moved_aside.expect("moved aside");
    assert_eq!(
        aside,
        PathBuf::from(format!("{}.corrupt-{}", path.display(), NOW.0))
    );
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        garbage,
        "kept byte for byte"
    );
    assert_eq!(
        std::fs::read(format!("{}-wal", aside.display())).unwrap(),
        b"stale wal"
    );
    assert_eq!(report.migrated_from, 0);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_database_with_damaged_pages_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    {
        let (mut store, _) = Store::open(&path, NOW).unwrap();
        for i in 0..200 {
            store
                .audit(
                    NOW,
                    "filler",
                    &serde_json::json!({"i": i, "pad": "x".repeat(200)}),
                )
                .unwrap();
        }
        store
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    // Overwrite the middle of the file: the header stays, pages break.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes).unwrap();
    let (_, report) = Store::open(&path, NOW).unwrap();
    assert!(report.moved_aside.is_some());
}

#[test]
fn a_failing_migration_leaves_the_previous_version_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let broken = [
        MIGRATIONS[0],
        Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE half (x); INSERT INTO no_such_table VALUES (1);",
        },
    ];
    match Store::open_with(&path, NOW, &broken) {
        Err(StoreError::Migration { version: 2, .. }) => {}
        other => panic!("expected a migration error, got {other:?}"),
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        user_version(&conn).unwrap(),
        1,
        "version 1 committed, 2 rolled back"
    );
    let half: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'half'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0, "no table of the failed migration");
}

#[test]
fn every_shipped_schema_fixture_upgrades_to_the_current_schema() {
    let fresh = fresh_schema();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    fixtures.sort();
    assert!(
        !fixtures.is_empty(),
        "no schema fixtures in {}",
        fixtures_dir().display()
    );
    for fixture in &fixtures {
        let stem = fixture.file_stem().unwrap().to_string_lossy().into_owned();
        let version: u32 = stem.trim_start_matches('v').parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = db(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&std::fs::read_to_string(fixture).unwrap())
                .unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {version}"))
                .unwrap();
        }
        let (store, report) = Store::open(&path, NOW).unwrap();
        assert_eq!(report.migrated_from, version, "{stem}");
        assert_eq!(
            store.schema().unwrap(),
            fresh,
            "{stem} does not upgrade to the current schema"
        );
    }
}

#[test]
fn the_current_schema_has_its_fixture() {
    let path = fixtures_dir().join(format!("v{SCHEMA_VERSION:04}.sql"));
    let fresh = fresh_schema();
    if std::env::var_os("KIOSK_BLESS").is_some() {
        std::fs::create_dir_all(fixtures_dir()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        panic!(
            "{} regenerated: look at it, then re-run without KIOSK_BLESS",
            path.display()
        );
    }
    let shipped = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with KIOSK_BLESS=1)", path.display()));
    assert_eq!(
        shipped, fresh,
        "the schema changed without a new fixture and migration"
    );
}

#[test]
fn a_full_disk_is_a_typed_error() {
    let e: StoreError =
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None)
            .into();
    assert!(matches!(e, StoreError::DiskFull));
}

#[test]
fn a_version_1_database_with_data_upgrades_keeping_it_and_draws_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&std::fs::read_to_string(fixtures_dir().join("v0001.sql")).unwrap())
            .unwrap();
        conn.execute_batch(
            "INSERT INTO audit_log (at_unix_ms, kind, detail) VALUES (1, 'boot', '{}');
             INSERT INTO kv (key, value) VALUES ('install_id', 'abc');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let (mut store, report) = Store::open(&path, NOW).unwrap();
    assert_eq!(
        (report.migrated_from, report.migrated_to),
        (1, SCHEMA_VERSION)
    );
    assert_eq!(store.kv_get("install_id").unwrap().as_deref(), Some("abc"));
    assert_eq!(store.recent_audit(5).unwrap().len(), 1);
    let new = NewTicket {
        day: "20261125",
        service: "A",
        lane: "normal",
        format: |code, _, seq| format!("{code}{seq:03}"),
        priority: None,
        verification: "anonymous",
        drawn_at: NOW,
        daily_limit: 10,
    };
    match store.draw_ticket(&new).unwrap() {
        Draw::Drawn(row) => assert_eq!(row.number, "A001"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_database_refuses_a_repeated_number_on_the_same_day() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&db(&dir), NOW).unwrap();
    let insert = |day: &str, lane: &str, seq: u32| {
        store.conn.execute(
            "INSERT INTO queue_ticket (day, service, lane, seq, number, verification, drawn_at_unix_ms) \
             VALUES (?1, 'A', ?2, ?3, 'A001', 'anonymous', 0)",
            rusqlite::params![day, lane, seq],
        )
    };
    insert("20261125", "normal", 1).unwrap();
    assert!(
        insert("20261125", "priority", 1).is_err(),
        "same number, same day"
    );
    insert("20261126", "normal", 1).unwrap();
}

#[test]
fn a_version_2_database_with_tickets_upgrades_keeping_them_and_queues_requests() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&std::fs::read_to_string(fixtures_dir().join("v0002.sql")).unwrap())
            .unwrap();
        conn.execute_batch(
            "INSERT INTO queue_ticket (day, service, lane, seq, number, verification, drawn_at_unix_ms) \
             VALUES ('20261125', 'A', 'normal', 1, 'A001', 'anonymous', 1);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let (mut store, report) = Store::open(&path, NOW).unwrap();
    assert_eq!(
        (report.migrated_from, report.migrated_to),
        (2, SCHEMA_VERSION)
    );
    assert_eq!(store.unprinted_tickets(5).unwrap().len(), 1);
    let key = outbox::OutboxKey::from_bytes(&[3u8; 32]).unwrap();
    let id = store
        .outbox_enqueue(
            &key,
            &outbox::NewRequest {
                idempotency_key: "0123456789abcdef0123456789abcdef",
                reference: "R0123456789",
                procedure: "1.004222",
                payload: b"{}",
                nonce: [0; 12],
                now: NOW,
            },
        )
        .unwrap();
    assert_eq!(store.outbox_list().unwrap()[0].id, id);
    assert_eq!(
        store.request_receipt("R0123456789").unwrap().unwrap().state,
        "queued"
    );
    // The same idempotency key cannot be queued twice.
    assert!(
        store
            .outbox_enqueue(
                &key,
                &outbox::NewRequest {
                    idempotency_key: "0123456789abcdef0123456789abcdef",
                    reference: "R0123456789",
                    procedure: "1.004222",
                    payload: b"{}",
                    nonce: [1; 12],
                    now: NOW,
                },
            )
            .is_err()
    );
}

mod usage_counts {
    use super::*;
    use crate::metrics::{Count, Label, Metric};

    /// 2026-11-25 08:00 and 23:30 in Vietnam (UTC+7), and the next day.
    const MORNING: UnixMillis = UnixMillis(1_795_568_400_000);
    const LATE: UnixMillis = UnixMillis(1_795_624_200_000);
    const NEXT_DAY: UnixMillis = UnixMillis(1_795_654_800_000);

    #[test]
    fn counts_add_up_per_local_day_and_in_total() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(&db(&dir), NOW).unwrap();
        let started = Count::one(Metric::JourneysStarted, Label::NONE);
        let five = Count::one(Metric::Ratings, crate::metrics::rating(Some(5)));
        store
            .count_usage(MORNING, &[started.clone(), five.clone()])
            .unwrap();
        store
            .count_usage(LATE, std::slice::from_ref(&started))
            .unwrap();
        store.count_usage(NEXT_DAY, &[started, five]).unwrap();
        assert_eq!(
            crate::store::usage::day_of(LATE).as_deref(),
            Some("20261125")
        );
        assert_eq!(
            crate::store::usage::day_of(NEXT_DAY).as_deref(),
            Some("20261126")
        );
        let day = store.usage_of_day("20261125").unwrap();
        assert_eq!(day.total(Metric::JourneysStarted), 2);
        assert_eq!(day.get(Metric::Ratings, "5"), 1);
        let all = store.usage_totals().unwrap();
        assert_eq!(all.total(Metric::JourneysStarted), 3);
        assert_eq!(all.get(Metric::Ratings, "5"), 2);
        assert!(store.usage_of_day("20261124").unwrap().counts.is_empty());
    }

    #[test]
    fn a_reader_beside_the_writer_sees_committed_counts_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(&db(&dir), NOW).unwrap();
        let reader = Store::open_reader(&db(&dir)).unwrap();
        store
            .count_usage(
                MORNING,
                &[Count::one(
                    Metric::StaffCalls,
                    crate::metrics::staff_reason(crate::session::StaffReason::FaceNotMatched),
                )],
            )
            .unwrap();
        let seen = reader.usage_totals().unwrap();
        assert_eq!(seen.get(Metric::StaffCalls, "face_not_matched"), 1);
        let mut reader = reader;
        assert!(reader.kv_set("x", "y").is_err(), "a reader must not write");
    }

    #[test]
    fn a_reader_refuses_a_database_of_another_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = db(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 2;")
            .unwrap();
        assert!(matches!(
            Store::open_reader(&path),
            Err(StoreError::SchemaMismatch {
                found: 2,
                expected: SCHEMA_VERSION
            })
        ));
        assert!(Store::open_reader(&dir.path().join("missing.db")).is_err());
    }
}
