//! The one writer: group commit of report counters.
//!
//! Request handlers hand their validated [`Submission`] to [`Ingestor::submit`] and wait for
//! the answer. A dedicated thread owns the store connection: it takes whatever submissions
//! are queued (up to [`MAX_GROUP`]), sums their rows, commits them in **one** transaction
//! and only then answers each request. So a request is acknowledged (202) only once its
//! counters are durable, and the cost of a commit (an fsync) is shared by every request that
//! arrived while the previous commit ran: the busier the server, the larger the groups.
//!
//! Why a thread and not a task: SQLite calls block; a thread keeps them off the async
//! workers, and one writer means no lock contention between requests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use kindred_core::aggregate::Counter;
use tokio::sync::{mpsc, oneshot};

use super::Submission;
use crate::metrics::Metrics;
use crate::store::{CounterRow, Period, Store, StoreError};

/// Most submissions in one transaction (bounds the transaction's size and the latency of
/// the last request in it).
pub const MAX_GROUP: usize = 2048;

/// Submissions waiting for the writer beyond this are refused with 503: better a quick
/// "retry later" than a latency nobody waits for.
pub const QUEUE_CAPACITY: usize = 8192;

/// Why a submission was not committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("{0} was released while the report waited")]
    Released(Period),
    #[error("storage failed: {0}")]
    Storage(String),
    #[error("the queue of reports waiting to be stored is full")]
    Busy,
    #[error("the server is shutting down")]
    Closed,
}

/// Reports counted for a period not released yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodReports {
    pub reports: u64,
    pub ldp_reports: u64,
}

/// Sets the pending-reports gauge from the per-period counts.
fn set_pending_metric(metrics: &Metrics, pending: &BTreeMap<Period, PeriodReports>) {
    let total: u64 = pending.values().map(|d| d.reports + d.ldp_reports).sum();
    metrics
        .pending_reports
        .set(i64::try_from(total).unwrap_or(i64::MAX));
}

enum Command {
    Add {
        submission: Submission,
        reply: oneshot::Sender<Result<(), CommitError>>,
    },
    Close {
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// What the writer and the handlers share.
#[derive(Debug, Default)]
struct Shared {
    /// Released periods: a hint for quick refusals (the store's check is the authority).
    released: RwLock<BTreeSet<Period>>,
    /// Reports per pending period (for stats and metrics).
    pending: Mutex<BTreeMap<Period, PeriodReports>>,
}

/// Handle to the writer thread.
#[derive(Debug)]
pub struct Ingestor {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    metrics: Metrics,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Ingestor {
    /// Starts the writer on `store` (which it owns from now on).
    pub fn start(mut store: Box<dyn Store>, metrics: Metrics) -> Result<Ingestor, StoreError> {
        let shared = Arc::new(Shared::default());
        *shared
            .released
            .write()
            .unwrap_or_else(PoisonError::into_inner) = store.released_periods()?;
        let pending = store
            .pending_periods()?
            .into_iter()
            .map(|p| {
                (
                    p.period,
                    PeriodReports {
                        reports: p.reports,
                        ldp_reports: p.ldp_reports,
                    },
                )
            })
            .collect::<BTreeMap<Period, PeriodReports>>();
        set_pending_metric(&metrics, &pending);
        *shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = pending;
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let writer = Writer {
            store,
            shared: shared.clone(),
            metrics: metrics.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("kindred-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(Ingestor {
            commands: tx,
            shared,
            metrics,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a submission; the receiver answers once it is durably committed (or not).
    pub fn submit(
        &self,
        submission: Submission,
    ) -> Result<oneshot::Receiver<Result<(), CommitError>>, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .try_send(Command::Add { submission, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => CommitError::Busy,
                mpsc::error::TrySendError::Closed(_) => CommitError::Closed,
            })?;
        Ok(rx)
    }

    /// Whether a period is known to be released (quick check before queueing).
    pub fn is_released(&self, period: Period) -> bool {
        self.shared
            .released
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&period)
    }

    /// Records periods released by a rebuild, and forgets periods that retention deleted
    /// (those that ended before `deleted_before`).
    pub fn note_releases(&self, released: &[Period], deleted_before: u32) {
        let mut set = self
            .shared
            .released
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        set.extend(released.iter().copied());
        set.retain(|p| p.last_day() >= deleted_before);
        drop(set);
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for p in released {
            pending.remove(p);
        }
        pending.retain(|p, _| p.last_day() >= deleted_before);
        set_pending_metric(&self.metrics, &pending);
    }

    /// Reports per period not released yet, oldest first.
    pub fn pending(&self) -> Vec<(Period, PeriodReports)> {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(e, d)| (*e, *d))
            .collect()
    }

    /// Commits everything queued before this call, flushes the store and stops the writer.
    /// Later submissions fail with [`CommitError::Closed`].
    pub async fn close(&self) -> Result<(), String> {
        let (reply, rx) = oneshot::channel();
        if self.commands.send(Command::Close { reply }).await.is_err() {
            return Ok(()); // already closed
        }
        let result = rx
            .await
            .unwrap_or_else(|_| Err("the writer stopped before flushing".into()));
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        result
    }
}

struct Writer {
    store: Box<dyn Store>,
    shared: Arc<Shared>,
    metrics: Metrics,
}

type Reply = oneshot::Sender<Result<(), CommitError>>;

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut group: Vec<(Submission, Reply)> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut close = None;
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Add { submission, reply } => group.push((submission, reply)),
                    Command::Close { reply } => {
                        close = Some(reply);
                        break;
                    }
                }
                if group.len() < MAX_GROUP {
                    next = rx.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit(std::mem::take(&mut group));
            }
            if let Some(reply) = close {
                rx.close();
                // Anything that slipped in before `close()` took effect is committed too.
                while let Ok(Command::Add { submission, reply }) = rx.try_recv() {
                    group.push((submission, reply));
                }
                if !group.is_empty() {
                    self.commit(std::mem::take(&mut group));
                }
                let _ = reply.send(self.store.flush().map_err(|e| e.to_string()));
                return;
            }
        }
    }

    /// Commits a group; answers every request in it.
    fn commit(&mut self, mut group: Vec<(Submission, Reply)>) {
        let started = Instant::now();
        // Quick refusals: periods already known to be released.
        let released = self
            .shared
            .released
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        group = refuse_released(group, &released);
        // At most a few rounds: a round only repeats when another connection released a
        // period in the meantime, and each repeat removes that period's submissions.
        for _ in 0..4 {
            if group.is_empty() {
                return;
            }
            let rows = merge(&group);
            match self.store.add_counts(&rows) {
                Ok(()) => {
                    self.acknowledge(group, started);
                    return;
                }
                Err(StoreError::Released(period)) => {
                    self.shared
                        .released
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(period);
                    group = refuse_released(group, &BTreeSet::from([period]));
                }
                Err(e) => {
                    tracing::error!("storing report counters failed: {e}");
                    for (_, reply) in group {
                        let _ = reply.send(Err(CommitError::Storage(e.to_string())));
                    }
                    return;
                }
            }
        }
        for (_, reply) in group {
            let _ = reply.send(Err(CommitError::Storage(
                "windows kept being released during the commit".into(),
            )));
        }
    }

    fn acknowledge(&mut self, group: Vec<(Submission, Reply)>, started: Instant) {
        self.metrics
            .commit_latency
            .observe(started.elapsed().as_secs_f64());
        self.metrics.commit_requests.observe(group.len() as f64);
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (submission, reply) in group {
            for row in &submission.rows {
                let period = pending.entry(row.period).or_default();
                match row.counter {
                    Counter::Reports => period.reports += row.delta,
                    Counter::LdpReports => period.ldp_reports += row.delta,
                    _ => {}
                }
            }
            self.metrics
                .reports_accepted
                .inc_by(u64::from(submission.reports));
            let _ = reply.send(Ok(()));
        }
        set_pending_metric(&self.metrics, &pending);
    }
}

/// Answers submissions that touch a released period, keeps the others.
fn refuse_released(
    group: Vec<(Submission, Reply)>,
    released: &BTreeSet<Period>,
) -> Vec<(Submission, Reply)> {
    if released.is_empty() {
        return group;
    }
    let mut keep = Vec::with_capacity(group.len());
    for (submission, reply) in group {
        match submission
            .rows
            .iter()
            .find(|r| released.contains(&r.period))
        {
            Some(r) => {
                let _ = reply.send(Err(CommitError::Released(r.period)));
            }
            None => keep.push((submission, reply)),
        }
    }
    keep
}

/// Sums the rows of a group: popular keys appear in many reports, so a group writes far
/// fewer rows than it received. Sorted by primary key for B-tree locality.
fn merge(group: &[(Submission, Reply)]) -> Vec<CounterRow> {
    let mut sums: HashMap<(Period, Counter, &str), u64> = HashMap::new();
    for (submission, _) in group {
        for r in &submission.rows {
            let v = sums
                .entry((r.period, r.counter, r.key.as_str()))
                .or_default();
            *v = v.saturating_add(r.delta);
        }
    }
    let mut rows: Vec<CounterRow> = sums
        .into_iter()
        .map(|((period, counter, key), delta)| CounterRow {
            period,
            counter,
            key: key.to_owned(),
            delta,
        })
        .collect();
    rows.sort_unstable();
    rows
}
