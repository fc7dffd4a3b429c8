//! Storage: counters per contribution period and key, the releases made from them, and the
//! published model.
//!
//! Handlers never touch storage; the ingest writer ([`crate::ingest`]) and the rebuild
//! ([`crate::build_model`]) do, through [`Store`]. Another database is added by implementing
//! [`Store`] and [`Backend`] and naming its scheme in [`open_backend`]; nothing else changes.
//!
//! What is stored, and what is not: counters `(period, counter, key) -> count` (the core's
//! [`Increment`](kindred_core::aggregate::Increment) rows, summed), each period's
//! [`ReleasedCounts`] once it is released (its raw counters are deleted in the same
//! transaction), and the last few published models. Never a report, an address, a user agent
//! or a time finer than the day.
//!
//! A [`Period`] is what one release covers: a contribution window (its first day and its
//! length, 30 days by default), or one day for the counters and releases of databases written
//! before windows existed (wire format v1), which the migration keeps as one-day periods.

mod sqlite;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use kindred_core::aggregate::Counter;
use kindred_core::aggregate::{AggregateError, ReleasedCounts, WindowCounts};

pub use sqlite::SqliteBackend;

use crate::time::date_of;

/// What one release covers: `days` UTC days from `window` (a contribution window, or a
/// single day stored before windows existed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// First UTC day number (days since 1970-01-01).
    pub window: u32,
    /// Length in days (at least 1).
    pub days: u32,
}

impl Period {
    pub fn new(window: u32, days: u32) -> Period {
        Period {
            window,
            days: days.max(1),
        }
    }

    /// The period of a release.
    pub fn of_release(r: &ReleasedCounts) -> Period {
        Period::new(r.window, r.days)
    }

    /// The last day it covers.
    pub fn last_day(&self) -> u32 {
        self.window.saturating_add(self.days.max(1) - 1)
    }
}

impl std::fmt::Display for Period {
    /// `2026-05-01 to 2026-05-30 (30-day window 20574)`, or one date for a one-day period.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.days <= 1 {
            write!(f, "day {} ({})", self.window, date_of(self.window))
        } else {
            write!(
                f,
                "the {}-day window {} ({} to {})",
                self.days,
                self.window,
                date_of(self.window),
                date_of(self.last_day())
            )
        }
    }
}

/// One counter update: `(period, counter, key) += delta`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterRow {
    pub period: Period,
    pub counter: Counter,
    pub key: String,
    pub delta: u64,
}

/// What is stored for a period that is not released yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingPeriod {
    pub period: Period,
    /// Threshold reports counted.
    pub reports: u64,
    /// LDP reports counted.
    pub ldp_reports: u64,
    /// Distinct `(counter, key)` rows.
    pub keys: u64,
}

/// A published model as stored: restarts serve the same bytes (and ETag) and continue its
/// version numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub version: u64,
    /// When it was built, ms since 1970.
    pub built_at_ms: i64,
    /// The model JSON exactly as served.
    pub json: String,
    /// What it was built from ([`crate::build_model::inputs_fingerprint`]): a rebuild whose
    /// inputs are the same keeps this model without building anything.
    pub inputs: String,
}

/// What retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub counter_rows: u64,
    pub releases: u64,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        self.counter_rows == 0 && self.releases == 0
    }
}

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} is already released: its counters can no longer change")]
    Released(Period),
    #[error("database error: {0}")]
    Database(String),
    #[error("the database was written by a newer kindred (schema version {found}, this binary knows {known}): upgrade kindred")]
    NewerSchema { found: i64, known: i64 },
    #[error("unsupported database \"{0}\": use a SQLite file path or sqlite:PATH")]
    Unsupported(String),
    #[error("stored {what} is unreadable: {problem}")]
    Corrupt { what: String, problem: String },
    #[error("releasing {period} failed: {source}")]
    Aggregate {
        period: Period,
        source: AggregateError,
    },
}

/// One connection's worth of storage. Every method is one transaction: it happens entirely
/// or not at all, and is durable when it returns `Ok`.
pub trait Store: Send {
    /// Adds rows. Fails with [`StoreError::Released`] (adding nothing) when a row's period is
    /// already released: checked inside the transaction, so it holds against other processes.
    fn add_counts(&mut self, rows: &[CounterRow]) -> Result<(), StoreError>;

    /// Periods released so far (within retention).
    fn released_periods(&mut self) -> Result<BTreeSet<Period>, StoreError>;

    /// Periods with counters that are not released yet, oldest first.
    fn pending_periods(&mut self) -> Result<Vec<PendingPeriod>, StoreError>;

    /// Releases one period: reads its counters, calls `release` on them, stores the result
    /// and deletes the counters, atomically. Fails with [`StoreError::Released`] when the
    /// period was released before, by this process or another (a period is released exactly
    /// once).
    fn release_period(
        &mut self,
        period: Period,
        release: &mut dyn FnMut(&WindowCounts) -> Result<ReleasedCounts, AggregateError>,
    ) -> Result<ReleasedCounts, StoreError>;

    /// Releases of periods whose last day is `>= from_day`, oldest first.
    fn releases(&mut self, from_day: u32) -> Result<Vec<ReleasedCounts>, StoreError>;

    /// Retention: deletes counters and releases of periods that ended before `day`.
    fn delete_ended_before(&mut self, day: u32) -> Result<Removed, StoreError>;

    /// The newest stored model.
    fn latest_model(&mut self) -> Result<Option<StoredModel>, StoreError>;

    /// Stores a model: a new version, or the newest one again with other `inputs` (a rebuild
    /// whose result came out identical); versions beyond a few before the newest are deleted.
    fn save_model(&mut self, model: &StoredModel) -> Result<(), StoreError>;

    /// Makes the files self-contained before exit (SQLite: checkpoints the WAL).
    fn flush(&mut self) -> Result<(), StoreError>;
}

/// Opens connections to one database.
pub trait Backend: Send + Sync + Debug {
    fn open(&self) -> Result<Box<dyn Store>, StoreError>;
    /// For logs and the dashboard: kind and location, never credentials.
    fn describe(&self) -> String;
}

/// The backend of a `--database` value: a SQLite file path, or `sqlite:PATH`.
pub fn open_backend(database: &str) -> Result<Arc<dyn Backend>, StoreError> {
    let path = database.strip_prefix("sqlite:").unwrap_or(database);
    if path.contains("://") {
        return Err(StoreError::Unsupported(database.to_owned()));
    }
    let backend = SqliteBackend::new(path);
    // Create the file and bring the schema up to date now, so a bad path or a newer schema
    // stops the server before it listens.
    backend.open()?;
    Ok(Arc::new(backend))
}
