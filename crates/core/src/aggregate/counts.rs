//! The counters of one contribution window, as the server stores them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AggregateError, Counter, Increment};
use crate::privacy::report::Report;

/// Counters of one window: `(counter, key) -> count`. Mergeable and serializable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    /// First day of the window.
    pub window: u32,
    /// Its length in days.
    pub days: u32,
    counts: BTreeMap<Counter, BTreeMap<String, u64>>,
}

impl WindowCounts {
    pub fn new(window: u32, days: u32) -> Self {
        WindowCounts {
            window,
            days,
            counts: BTreeMap::new(),
        }
    }

    /// Adds a validated report (each key at most once, which validation guarantees).
    pub fn add(&mut self, report: &Report) -> Result<(), AggregateError> {
        if report.window != self.window || report.days != self.days {
            return Err(AggregateError::WindowMismatch {
                expected: self.window,
                expected_days: self.days,
                found: report.window,
                found_days: report.days,
            });
        }
        report.increments().iter().for_each(|i| self.apply(i));
        Ok(())
    }

    pub fn apply(&mut self, inc: &Increment) {
        let c = self
            .counts
            .entry(inc.counter)
            .or_default()
            .entry(inc.key.clone())
            .or_default();
        *c = c.saturating_add(inc.delta);
    }

    /// Counts from stored rows.
    pub fn from_increments(
        window: u32,
        days: u32,
        rows: impl IntoIterator<Item = Increment>,
    ) -> Self {
        let mut counts = WindowCounts::new(window, days);
        rows.into_iter().for_each(|i| counts.apply(&i));
        counts
    }

    /// The counts as rows (one per counter and key), for storage.
    pub fn increments(&self) -> Vec<Increment> {
        self.counts
            .iter()
            .flat_map(|(&counter, keys)| {
                keys.iter().map(move |(key, &delta)| Increment {
                    counter,
                    key: key.clone(),
                    delta,
                })
            })
            .collect()
    }

    /// Adds another copy of the window's counts (e.g. from another server shard).
    pub fn merge(&mut self, other: &WindowCounts) {
        other.increments().iter().for_each(|i| self.apply(i));
    }

    pub fn get(&self, counter: Counter, key: &str) -> u64 {
        self.counts
            .get(&counter)
            .and_then(|m| m.get(key))
            .copied()
            .unwrap_or(0)
    }

    /// Keys of one counter with their counts.
    pub fn keys(&self, counter: Counter) -> impl Iterator<Item = (&String, u64)> {
        self.counts
            .get(&counter)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, &v)| (k, v)))
    }

    /// Threshold-mode reports counted (a shopper sends up to one a day).
    pub fn reports(&self) -> u64 {
        self.get(Counter::Reports, "")
    }

    /// LDP reports counted.
    pub fn ldp_reports(&self) -> u64 {
        self.get(Counter::LdpReports, "")
    }
}
