//! Contribution windows end to end in the library and the binary: reports for one window
//! that arrive over many days count in that window, the window is released once (also
//! against another connection, as `kindred build-model` next to the server has), and a
//! database of the per-day schema (version 1) keeps its days as one-day periods.

mod support;

use std::path::Path;

use kindred_server::build_model::rebuild;
use kindred_server::config::{CommonArgs, Settings};
use kindred_server::ingest::{parse, IngestPolicy};
use kindred_server::store::{open_backend, CounterRow, Period, Store, StoreError};
use support::report;

/// Day 20600 is in the 30-day window 20580 to 20609.
const W: u32 = 20_580;

fn settings(db: &Path, extra: impl FnOnce(&mut CommonArgs)) -> Settings {
    let mut args = CommonArgs {
        database: Some(db.to_str().expect("utf-8").to_owned()),
        ..CommonArgs::default()
    };
    extra(&mut args);
    Settings::resolve(&args).expect("valid settings")
}

fn submit(store: &mut dyn Store, settings: &Settings, body: &str, today: u32) {
    let policy = IngestPolicy {
        privacy: settings.privacy.clone(),
    };
    let released = store.released_periods().expect("reads");
    let submission =
        parse(body.as_bytes(), &policy, today, &|p| released.contains(&p)).expect("accepted");
    store.add_counts(&submission.rows).expect("stored");
}

#[test]
fn reports_of_one_window_arriving_over_its_days_count_in_it_and_it_is_released_once() {
    let dir = support::test_dir("windows-days");
    let db = dir.join("kindred.db");
    // k = 3 distinct shoppers. With the default noise (σ ≈ 16 on items) 5 shoppers come out
    // below the threshold about half the time; epsilon 100 and a cap of 2 items make σ ≈ 0.2,
    // so what is tested is the windows, not the noise.
    let config = dir.join("kindred.toml");
    std::fs::write(&config, "epsilon = 100.0\nk = 3\n[caps]\nitems = 2\n").expect("config");
    let settings = settings(&db, |a| a.config = Some(config.clone()));
    let mut store = open_backend(&settings.database)
        .and_then(|b| b.open())
        .expect("opens");
    // Five shoppers report "mug" on different days of the window, the last one on the day
    // after it (within the release delay of one day).
    for (i, day) in [W, W + 1, W + 12, W + 29, W + 30].into_iter().enumerate() {
        submit(
            &mut *store,
            &settings,
            &report(W, &["mug", &format!("only-{i}")]),
            day,
        );
    }
    let pending = store.pending_periods().expect("reads");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].period, pending[0].reports),
        (Period::new(W, 30), 5)
    );
    // Still within its delay: not released.
    let on_delay_day = rebuild(&mut *store, &settings, W + 30, 0, None).expect("rebuilds");
    assert!(on_delay_day.released.is_empty());
    assert!(on_delay_day.releases.is_empty());
    // The next day it is released, once; its reports are no longer taken.
    let next = rebuild(&mut *store, &settings, W + 31, 0, None).expect("rebuilds");
    assert_eq!(next.released, vec![Period::new(W, 30)]);
    assert_eq!(next.as_of, W + 29);
    let release = &next.releases[0];
    assert_eq!((release.window, release.days, release.reports), (W, 30, 5));
    assert!(release.items.contains_key("mug"), "5 shoppers, k = 3");
    assert!(!release.items.contains_key("only-0"), "1 shopper");
    let model = kindred_core::SharedModel::from_json(&next.model.json).expect("valid");
    assert!(model.popularity.contains_key("mug"));
    assert!(!model.popularity.contains_key("only-0"));

    // A second connection (another process, such as `kindred build-model`) cannot release it
    // again, nor add to it.
    let mut other = open_backend(&settings.database)
        .and_then(|b| b.open())
        .expect("opens");
    let again = other.release_period(Period::new(W, 30), &mut |_| {
        unreachable!("a released window is never released again")
    });
    assert!(matches!(again, Err(StoreError::Released(_))), "{again:?}");
    let late = other.add_counts(&[CounterRow {
        period: Period::new(W, 30),
        counter: kindred_core::aggregate::Counter::Items,
        key: "mug".into(),
        delta: 1,
    }]);
    assert!(matches!(late, Err(StoreError::Released(_))), "{late:?}");
    // Nothing new: the next rebuild builds nothing.
    let idle = rebuild(&mut *other, &settings, W + 32, 0, None).expect("rebuilds");
    assert!(!idle.built && !idle.changed);
    assert_eq!(idle.model.version, next.model.version);
    assert_eq!(
        idle.releases.len(),
        1,
        "the releases are still read for the stats"
    );
}

#[test]
fn a_key_of_k_minus_1_shoppers_is_never_released_and_one_of_k_is_with_little_noise() {
    let dir = support::test_dir("windows-k");
    let db = dir.join("kindred.db");
    let config = dir.join("kindred.toml");
    // Epsilon 100 and caps of one or two keys: the count noise has a standard deviation of
    // about 0.2, so a count of k is released as k (test only).
    std::fs::write(
        &config,
        "epsilon = 100.0\nk = 10\n[caps]\nitems = 2\npairs = 1\ninterests = 1\n",
    )
    .expect("config");
    let settings = settings(&db, |a| a.config = Some(config.clone()));
    let mut store = open_backend(&settings.database)
        .and_then(|b| b.open())
        .expect("opens");
    for i in 0..10 {
        let items: &[&str] = if i < 9 { &["held", "nine"] } else { &["held"] };
        submit(&mut *store, &settings, &report(W, items), W + i);
    }
    let r = rebuild(&mut *store, &settings, W + 31, 0, None).expect("rebuilds");
    let release = &r.releases[0];
    assert_eq!(release.items.get("held"), Some(&10.0), "{release:?}");
    assert!(!release.items.contains_key("nine"), "k - 1 = 9 shoppers");
    assert_eq!(release.suppressed.items, 1);
    let model = kindred_core::SharedModel::from_json(&r.model.json).expect("valid");
    assert!(model.popularity.contains_key("held"));
    assert!(!model.popularity.contains_key("nine"));
}

/// The schema of kindred before windows (migration 1), with per-day rows.
const VERSION_1: &str = "
CREATE TABLE counters (epoch INTEGER NOT NULL, counter TEXT NOT NULL, key TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0), PRIMARY KEY (epoch, counter, key)) WITHOUT ROWID;
CREATE TABLE releases (epoch INTEGER PRIMARY KEY, released_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE models (version INTEGER PRIMARY KEY, built_at_ms INTEGER NOT NULL,
    body TEXT NOT NULL);
PRAGMA user_version = 1;
";

#[test]
fn a_version_1_database_keeps_its_days_releases_the_pending_ones_and_builds_a_model() {
    let dir = support::test_dir("windows-migration");
    let db = dir.join("kindred.db");
    let today = support::today();
    let (released_day, pending_day) = (today - 10, today - 5);
    {
        let conn = rusqlite::Connection::open(&db).expect("creates");
        conn.execute_batch(VERSION_1).expect("old schema");
        let body = format!(
            r#"{{"epoch":{released_day},"reports":40,"ldp_reports":0,"items":{{"tea":30.0,"mug":25.0}},"pairs":{{"mug\u001ftea":20.0}},"interests":{{"brand:Acme":12.0}},"strategies":{{}},"suppressed":{{"items":3,"pairs":1,"interests":0}}}}"#
        );
        conn.execute(
            "INSERT INTO releases VALUES (?1, 1, ?2)",
            rusqlite::params![released_day, body],
        )
        .expect("old release");
        for (counter, key, count) in [
            ("reports", "", 12),
            ("items", "spoon", 12),
            ("items", "rare", 2),
        ] {
            conn.execute(
                "INSERT INTO counters VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![pending_day, counter, key, count],
            )
            .expect("old counters");
        }
        conn.execute(
            "INSERT INTO models VALUES (7, 1, ?1)",
            [kindred_core::SharedModel::default().to_json()],
        )
        .expect("old model");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["build-model", "--database", db.to_str().expect("utf-8")])
        .env_remove("KINDRED_CONFIG")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("released 1 window(s) (day "), "{stdout}");
    assert!(stdout.contains("version 8 (new)"), "{stdout}");
    assert_eq!(
        support::db_released(&db),
        vec![(released_day, 1), (pending_day, 1)],
        "both days kept as one-day periods"
    );
    assert!(support::db_counters(&db).is_empty());
    let mut store = open_backend(db.to_str().expect("utf-8"))
        .and_then(|b| b.open())
        .expect("opens");
    let releases = store.releases(0).expect("reads");
    assert_eq!(
        releases[0].items.get("tea"),
        Some(&30.0),
        "kept as released"
    );
    assert_eq!(
        (releases[1].window, releases[1].days, releases[1].reports),
        (pending_day, 1, 12)
    );
    assert!(
        !releases[1].items.contains_key("rare"),
        "2 reports < k = 10"
    );
    let model = store.latest_model().expect("reads").expect("built");
    let model = kindred_core::SharedModel::from_json(&model.json).expect("valid");
    assert!(
        model.popularity.contains_key("tea"),
        "old releases feed the model"
    );
    assert_eq!(model.neighbours["mug"][0].item, "tea");
    // Opening again changes nothing (the migration ran once).
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["build-model", "--database", db.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("released 0 window(s)"), "{stdout}");
    assert!(stdout.contains("nothing to rebuild"), "{stdout}");
}
