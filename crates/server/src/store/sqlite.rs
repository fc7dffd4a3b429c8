//! The SQLite store: one file, WAL mode, `synchronous = FULL`.
//!
//! Durability: a commit returns only after the WAL is fsynced (`FULL`), so an acknowledged
//! report survives `kill -9` and power loss alike. `NORMAL` would survive `kill -9` too but not
//! a power cut; the ingest writer commits many requests per transaction (group commit), so
//! the extra fsync per commit is shared and `FULL` costs little throughput.
//!
//! Schema changes are migrations: numbered SQL scripts applied in order inside a
//! transaction, the number kept in `PRAGMA user_version`. Never edit a released migration;
//! add the next one.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use kindred_core::aggregate::{AggregateError, ReleasedCounts, WindowCounts};
use kindred_core::aggregate::{Counter, Increment};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Backend, CounterRow, PendingPeriod, Period, Removed, Store, StoreError, StoredModel};

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: counters, releases, models.
    "CREATE TABLE counters (
         epoch   INTEGER NOT NULL,
         counter TEXT    NOT NULL,
         key     TEXT    NOT NULL,
         count   INTEGER NOT NULL CHECK (count > 0),
         PRIMARY KEY (epoch, counter, key)
     ) WITHOUT ROWID;
     CREATE TABLE releases (
         epoch          INTEGER PRIMARY KEY,
         released_at_ms INTEGER NOT NULL,
         body           TEXT    NOT NULL
     );
     CREATE TABLE models (
         version     INTEGER PRIMARY KEY,
         built_at_ms INTEGER NOT NULL,
         body        TEXT    NOT NULL
     );",
    // 2: contribution windows. Counters and releases are keyed by period (first day and
    // length); what version 1 stored per day becomes one-day periods, released (or still to
    // be released) by the same rules and still read by models. Models remember what they were
    // built from, so an unchanged rebuild builds nothing.
    "CREATE TABLE period_counters (
         first_day INTEGER NOT NULL,
         days      INTEGER NOT NULL CHECK (days > 0),
         counter   TEXT    NOT NULL,
         key       TEXT    NOT NULL,
         count     INTEGER NOT NULL CHECK (count > 0),
         PRIMARY KEY (first_day, days, counter, key)
     ) WITHOUT ROWID;
     INSERT INTO period_counters (first_day, days, counter, key, count)
         SELECT epoch, 1, counter, key, count FROM counters;
     DROP TABLE counters;
     ALTER TABLE period_counters RENAME TO counters;
     CREATE TABLE period_releases (
         first_day      INTEGER NOT NULL,
         days           INTEGER NOT NULL CHECK (days > 0),
         released_at_ms INTEGER NOT NULL,
         body           TEXT    NOT NULL,
         PRIMARY KEY (first_day, days)
     );
     INSERT INTO period_releases (first_day, days, released_at_ms, body)
         SELECT epoch, 1, released_at_ms, body FROM releases;
     DROP TABLE releases;
     ALTER TABLE period_releases RENAME TO releases;
     ALTER TABLE models ADD COLUMN inputs TEXT NOT NULL DEFAULT '';",
];

/// Models kept besides the newest (for looking back at what was served).
const OLD_MODELS_KEPT: u64 = 4;

/// How long a connection waits for another one's write lock (a rebuild releasing a window,
/// or `kindred build-model` running next to the server) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every counter, for reading names back. `counter_name` matches exhaustively, so a new core
/// counter fails to compile there first; the test below checks this list against it.
const COUNTERS: [Counter; 11] = [
    Counter::Reports,
    Counter::Items,
    Counter::Pairs,
    Counter::Interests,
    Counter::Impressions,
    Counter::Clicks,
    Counter::LdpReports,
    Counter::LdpItems,
    Counter::LdpPairs,
    Counter::LdpInterests,
    Counter::LdpStrategies,
];

/// Stored as text (the core's serde names), so `sqlite3 kindred.db` is readable.
fn counter_name(c: Counter) -> &'static str {
    match c {
        Counter::Reports => "reports",
        Counter::Items => "items",
        Counter::Pairs => "pairs",
        Counter::Interests => "interests",
        Counter::Impressions => "impressions",
        Counter::Clicks => "clicks",
        Counter::LdpReports => "ldp_reports",
        Counter::LdpItems => "ldp_items",
        Counter::LdpPairs => "ldp_pairs",
        Counter::LdpInterests => "ldp_interests",
        Counter::LdpStrategies => "ldp_strategies",
    }
}

fn counter_from_name(name: &str) -> Option<Counter> {
    COUNTERS.into_iter().find(|c| counter_name(*c) == name)
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// A SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    path: PathBuf,
}

impl SqliteBackend {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteBackend { path: path.into() }
    }
}

impl Backend for SqliteBackend {
    fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open(&self.path)?))
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

/// One connection.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub fn open(path: &std::path::Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "{} cannot use WAL mode (got \"{mode}\"): put it on a local file system",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        if found > known {
            return Err(StoreError::NewerSchema { found, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(db)?;
        }
        tx.commit().map_err(db)
    }
}

/// SQLite integers are signed; counts never come near the limit, but never wrap either.
fn to_sql_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn is_released(conn: &Connection, period: Period) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM releases WHERE first_day = ?1 AND days = ?2")
        .and_then(|mut s| s.exists([period.window, period.days]))
        .map_err(db)
}

impl Store for SqliteStore {
    fn add_counts(&mut self, rows: &[CounterRow]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let periods: BTreeSet<Period> = rows.iter().map(|r| r.period).collect();
        for period in periods {
            if is_released(&tx, period)? {
                return Err(StoreError::Released(period));
            }
        }
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO counters (first_day, days, counter, key, count)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (first_day, days, counter, key)
                     DO UPDATE SET count = count + excluded.count",
                )
                .map_err(db)?;
            for r in rows.iter().filter(|r| r.delta > 0) {
                upsert
                    .execute(params![
                        r.period.window,
                        r.period.days,
                        counter_name(r.counter),
                        r.key,
                        to_sql_count(r.delta)
                    ])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    fn released_periods(&mut self) -> Result<BTreeSet<Period>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT first_day, days FROM releases")
            .map_err(db)?;
        let periods = stmt
            .query_map([], |r| Ok(Period::new(r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(periods)
    }

    fn pending_periods(&mut self) -> Result<Vec<PendingPeriod>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT first_day, days,
                        SUM(CASE WHEN counter = 'reports' AND key = '' THEN count ELSE 0 END),
                        SUM(CASE WHEN counter = 'ldp_reports' AND key = '' THEN count ELSE 0 END),
                        COUNT(*)
                 FROM counters GROUP BY first_day, days ORDER BY first_day, days",
            )
            .map_err(db)?;
        let periods = stmt
            .query_map([], |r| {
                Ok(PendingPeriod {
                    period: Period::new(r.get(0)?, r.get(1)?),
                    reports: r.get::<_, i64>(2)?.max(0) as u64,
                    ldp_reports: r.get::<_, i64>(3)?.max(0) as u64,
                    keys: r.get::<_, i64>(4)?.max(0) as u64,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(periods)
    }

    fn release_period(
        &mut self,
        period: Period,
        release: &mut dyn FnMut(&WindowCounts) -> Result<ReleasedCounts, AggregateError>,
    ) -> Result<ReleasedCounts, StoreError> {
        // IMMEDIATE takes the write lock first: another process releasing the same period
        // waits here, then finds the release and refuses.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if is_released(&tx, period)? {
            return Err(StoreError::Released(period));
        }
        let rows: Vec<Increment> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT counter, key, count FROM counters WHERE first_day = ?1 AND days = ?2",
                )
                .map_err(db)?;
            let raw = stmt
                .query_map([period.window, period.days], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            raw.into_iter()
                .map(|(name, key, count)| {
                    let counter = counter_from_name(&name).ok_or_else(|| StoreError::Corrupt {
                        what: format!("counter of {period}"),
                        problem: format!("unknown counter \"{name}\""),
                    })?;
                    Ok(Increment {
                        counter,
                        key,
                        delta: count.max(0) as u64,
                    })
                })
                .collect::<Result<_, StoreError>>()?
        };
        let counts = WindowCounts::from_increments(period.window, period.days, rows);
        let released =
            release(&counts).map_err(|source| StoreError::Aggregate { period, source })?;
        let body = serde_json::to_string(&released).map_err(|e| StoreError::Corrupt {
            what: format!("release of {period}"),
            problem: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO releases (first_day, days, released_at_ms, body) VALUES (?1, ?2, ?3, ?4)",
            params![period.window, period.days, crate::time::now_ms(), body],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM counters WHERE first_day = ?1 AND days = ?2",
            [period.window, period.days],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(released)
    }

    fn releases(&mut self, from_day: u32) -> Result<Vec<ReleasedCounts>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT first_day, days, body FROM releases WHERE first_day + days - 1 >= ?1
                 ORDER BY first_day, days",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([from_day], |r| {
                Ok((Period::new(r.get(0)?, r.get(1)?), r.get::<_, String>(2)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(period, body)| {
                let mut released: ReleasedCounts =
                    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                        what: format!("release of {period}"),
                        problem: e.to_string(),
                    })?;
                // The row's key is the authority (a version 1 body says only its day).
                released.window = period.window;
                released.days = period.days;
                Ok(released)
            })
            .collect()
    }

    fn delete_ended_before(&mut self, day: u32) -> Result<Removed, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let counter_rows = tx
            .execute(
                "DELETE FROM counters WHERE first_day + days - 1 < ?1",
                [day],
            )
            .map_err(db)? as u64;
        let releases = tx
            .execute(
                "DELETE FROM releases WHERE first_day + days - 1 < ?1",
                [day],
            )
            .map_err(db)? as u64;
        tx.commit().map_err(db)?;
        Ok(Removed {
            counter_rows,
            releases,
        })
    }

    fn latest_model(&mut self) -> Result<Option<StoredModel>, StoreError> {
        self.conn
            .query_row(
                "SELECT version, built_at_ms, body, inputs FROM models
                 ORDER BY version DESC LIMIT 1",
                [],
                |r| {
                    Ok(StoredModel {
                        version: r.get::<_, i64>(0)?.max(0) as u64,
                        built_at_ms: r.get(1)?,
                        json: r.get(2)?,
                        inputs: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(db)
    }

    fn save_model(&mut self, model: &StoredModel) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version = to_sql_count(model.version);
        tx.execute(
            "INSERT INTO models (version, built_at_ms, body, inputs) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (version) DO UPDATE SET
                 built_at_ms = excluded.built_at_ms, body = excluded.body, inputs = excluded.inputs",
            params![version, model.built_at_ms, model.json, model.inputs],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM models WHERE version < ?1",
            [version.saturating_sub(OLD_MODELS_KEPT as i64)],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::aggregate::{release, AggregationConfig, Candidates};
    use kindred_core::SplitMix64;

    /// Under the workspace's `target/` (tests write nothing outside the repository).
    fn temp_db(name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/tmp")
            .join(format!("kindred-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("test.db")
    }

    const W: Period = Period {
        window: 20_580,
        days: 30,
    };
    const NEXT: Period = Period {
        window: 20_610,
        days: 30,
    };

    fn row(period: Period, counter: Counter, key: &str, delta: u64) -> CounterRow {
        CounterRow {
            period,
            counter,
            key: key.to_owned(),
            delta,
        }
    }

    fn exact() -> AggregationConfig {
        AggregationConfig {
            noise: false,
            ..AggregationConfig::default()
        }
    }

    #[test]
    fn counter_names_are_the_core_serde_names_and_read_back() {
        for c in COUNTERS {
            let serde_name = serde_json::to_string(&c).expect("serializes");
            assert_eq!(serde_name, format!("\"{}\"", counter_name(c)));
            assert_eq!(counter_from_name(counter_name(c)), Some(c));
        }
    }

    #[test]
    fn counts_add_up_release_once_and_survive_reopening() {
        let path = temp_db("release");
        let mut s = SqliteStore::open(&path).expect("opens");
        s.add_counts(&[
            row(W, Counter::Reports, "", 10),
            row(W, Counter::Items, "mug", 10),
            row(W, Counter::Items, "tea", 3),
        ])
        .expect("adds");
        s.add_counts(&[
            row(W, Counter::Items, "mug", 2),
            row(NEXT, Counter::Reports, "", 1),
        ])
        .expect("adds");
        drop(s);
        let mut s = SqliteStore::open(&path).expect("reopens");
        let pending = s.pending_periods().expect("reads");
        assert_eq!(pending.len(), 2);
        assert_eq!(
            (pending[0].period, pending[0].reports, pending[0].keys),
            (W, 10, 3)
        );
        let released = s
            .release_period(W, &mut |counts| {
                assert_eq!((counts.window, counts.days), (W.window, W.days));
                assert_eq!(counts.get(Counter::Items, "mug"), 12);
                release(
                    counts,
                    &exact(),
                    &Candidates::default(),
                    &mut SplitMix64::new(1),
                )
            })
            .expect("releases");
        assert_eq!(released.items.get("mug"), Some(&12.0));
        assert_eq!(released.suppressed.items, 1);
        assert_eq!((released.window, released.days), (W.window, W.days));
        assert!(matches!(
            s.release_period(W, &mut |_| unreachable!("released once")),
            Err(StoreError::Released(W))
        ));
        // A second connection (another process) cannot release it again either.
        let mut other = SqliteStore::open(&path).expect("opens");
        assert!(matches!(
            other.release_period(W, &mut |_| unreachable!("released once")),
            Err(StoreError::Released(W))
        ));
        assert!(matches!(
            s.add_counts(&[
                row(NEXT, Counter::Items, "x", 1),
                row(W, Counter::Items, "mug", 1)
            ]),
            Err(StoreError::Released(W))
        ));
        assert_eq!(
            s.pending_periods().expect("reads")[0].keys,
            1,
            "nothing of the refused rows"
        );
        assert_eq!(s.releases(0).expect("reads"), vec![released.clone()]);
        assert_eq!(
            s.releases(W.last_day()).expect("reads"),
            vec![released],
            "a period counts while its last day is kept"
        );
        assert!(s.releases(W.last_day() + 1).expect("reads").is_empty());
        assert_eq!(s.released_periods().expect("reads"), BTreeSet::from([W]));
        // Retention deletes what ended before the day: W ends on its 30th day.
        assert_eq!(
            s.delete_ended_before(W.last_day()).expect("retention"),
            Removed::default()
        );
        let removed = s.delete_ended_before(W.last_day() + 1).expect("retention");
        assert_eq!(
            removed,
            Removed {
                counter_rows: 0,
                releases: 1
            }
        );
        assert!(s.releases(0).expect("reads").is_empty());
        assert_eq!(s.pending_periods().expect("reads").len(), 1, "NEXT stays");
    }

    #[test]
    fn version_1_days_become_one_day_periods() {
        let path = temp_db("migrate");
        {
            let conn = Connection::open(&path).expect("opens");
            conn.execute_batch(MIGRATIONS[0]).expect("version 1 schema");
            conn.pragma_update(None, "user_version", 1).expect("sets");
            conn.execute_batch(
                r#"INSERT INTO counters VALUES (20599, 'reports', '', 12), (20599, 'items', 'mug', 11);
                   INSERT INTO releases VALUES (20598, 1, '{"epoch":20598,"reports":20,"ldp_reports":0,"items":{"tea":15.0},"pairs":{},"interests":{},"strategies":{},"suppressed":{"items":0,"pairs":0,"interests":0}}');
                   INSERT INTO models VALUES (3, 1, '{}');"#,
            )
            .expect("version 1 rows");
        }
        let mut s = SqliteStore::open(&path).expect("migrates");
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("reads");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let day = |d| Period::new(d, 1);
        assert_eq!(
            s.released_periods().expect("reads"),
            BTreeSet::from([day(20_598)])
        );
        let old = s.releases(0).expect("reads");
        assert_eq!((old[0].window, old[0].days), (20_598, 1));
        assert_eq!(old[0].items.get("tea"), Some(&15.0));
        let pending = s.pending_periods().expect("reads");
        assert_eq!((pending[0].period, pending[0].reports), (day(20_599), 12));
        let released = s
            .release_period(day(20_599), &mut |counts| {
                release(
                    counts,
                    &exact(),
                    &Candidates::default(),
                    &mut SplitMix64::new(1),
                )
            })
            .expect("releases the old day");
        assert_eq!((released.days, released.items.get("mug")), (1, Some(&11.0)));
        let model = s.latest_model().expect("reads").expect("kept");
        assert_eq!(
            (model.version, model.inputs.as_str()),
            (3, ""),
            "rebuilt once"
        );
    }

    #[test]
    fn models_keep_the_newest_and_a_few_before() {
        let path = temp_db("models");
        let mut s = SqliteStore::open(&path).expect("opens");
        assert_eq!(s.latest_model().expect("reads"), None);
        for v in 1..=10 {
            s.save_model(&StoredModel {
                version: v,
                built_at_ms: v as i64,
                json: format!("{{\"v\":{v}}}"),
                inputs: format!("inputs {v}"),
            })
            .expect("saves");
        }
        let newest = s.latest_model().expect("reads").expect("saved");
        assert_eq!(newest.version, 10);
        // The newest again, with other inputs: replaced in place.
        s.save_model(&StoredModel {
            inputs: "same model, new inputs".into(),
            ..newest
        })
        .expect("saves");
        let again = s.latest_model().expect("reads").expect("saved");
        assert_eq!(
            (again.version, again.inputs.as_str()),
            (10, "same model, new inputs")
        );
        let kept: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM models", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(kept, 1 + OLD_MODELS_KEPT as i64);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let path = temp_db("newer");
        drop(SqliteStore::open(&path).expect("opens"));
        let conn = Connection::open(&path).expect("opens");
        conn.pragma_update(None, "user_version", 99).expect("sets");
        drop(conn);
        let err = SqliteStore::open(&path).expect_err("newer schema");
        assert!(err.to_string().contains("upgrade kindred"), "{err}");
    }
}
