//! Storage: counters per day and key, the releases made from them, and the published model.
//!
//! Handlers never touch storage; the ingest writer ([`crate::ingest`]) and the rebuild
//! ([`crate::build_model`]) do, through [`Store`]. Another database is added by implementing
//! [`Store`] and [`Backend`] and naming its scheme in [`open_backend`]; nothing else changes.
//!
//! What is stored, and what is not: counters `(day, counter, key) -> count` (the core's
//! [`Increment`](kindred_core::report::Increment) rows, summed), each day's
//! [`ReleasedCounts`] once it is released (its raw counters are deleted in the same
//! transaction), and the last few published models. Never a report, an address, a user agent
//! or a time finer than the day.

mod sqlite;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use kindred_core::aggregate::{AggregateError, EpochCounts, ReleasedCounts};
use kindred_core::report::Counter;

pub use sqlite::SqliteBackend;

/// One counter update: `(epoch, counter, key) += delta`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterRow {
    pub epoch: u32,
    pub counter: Counter,
    pub key: String,
    pub delta: u64,
}

/// What is stored for a day that is not released yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingDay {
    pub epoch: u32,
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
}

/// What retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub counter_rows: u64,
    pub releases: u64,
}

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("day {0} is already released: its counters can no longer change")]
    Released(u32),
    #[error("database error: {0}")]
    Database(String),
    #[error("the database was written by a newer kindred (schema version {found}, this binary knows {known}): upgrade kindred")]
    NewerSchema { found: i64, known: i64 },
    #[error("unsupported database \"{0}\": use a SQLite file path or sqlite:PATH")]
    Unsupported(String),
    #[error("stored {what} is unreadable: {problem}")]
    Corrupt { what: String, problem: String },
    #[error("releasing day {epoch} failed: {source}")]
    Aggregate { epoch: u32, source: AggregateError },
}

/// One connection's worth of storage. Every method is one transaction: it happens entirely
/// or not at all, and is durable when it returns `Ok`.
pub trait Store: Send {
    /// Adds rows. Fails with [`StoreError::Released`] (adding nothing) when a row's day is
    /// already released: checked inside the transaction, so it holds against other processes.
    fn add_counts(&mut self, rows: &[CounterRow]) -> Result<(), StoreError>;

    /// Days released so far (within retention).
    fn released_epochs(&mut self) -> Result<BTreeSet<u32>, StoreError>;

    /// Days with counters that are not released yet, oldest first.
    fn pending_days(&mut self) -> Result<Vec<PendingDay>, StoreError>;

    /// Releases one day: reads its counters, calls `release` on them, stores the result and
    /// deletes the counters, atomically. Fails with [`StoreError::Released`] when the day was
    /// released before (a day is released exactly once).
    fn release_day(
        &mut self,
        epoch: u32,
        release: &mut dyn FnMut(&EpochCounts) -> Result<ReleasedCounts, AggregateError>,
    ) -> Result<ReleasedCounts, StoreError>;

    /// Releases of days `>= from_epoch`, oldest first.
    fn releases(&mut self, from_epoch: u32) -> Result<Vec<ReleasedCounts>, StoreError>;

    /// Retention: deletes counters and releases of days before `epoch`.
    fn delete_before(&mut self, epoch: u32) -> Result<Removed, StoreError>;

    /// The newest stored model.
    fn latest_model(&mut self) -> Result<Option<StoredModel>, StoreError>;

    /// Stores a model (its version must be new); older ones beyond a few are deleted.
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
