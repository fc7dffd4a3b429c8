//! The simulator's aggregator: the same code the server runs (report validation,
//! [`WindowCounts`], [`release`], and the server's [`build_shared_model`] with its learned item
//! model and score rounding), fed with report bytes and nothing else.
//!
//! It runs on its own thread and owns only the receiving end of a channel of report JSON
//! strings: it has no way to reach a client's engine, history or randomness, so the only
//! information that passes between shoppers is what reports and the released model carry.

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;

use kindred_core::aggregate::{
    release, AggregateError, AggregationConfig, Candidates, ReleasedCounts, WindowCounts,
};
use kindred_core::SplitMix64;
use kindred_core::{window_of, Report, SharedModel};

use crate::build_model::{build_shared_model, quantize};

/// What arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    pub reports: u64,
    /// Bytes of all accepted reports (the JSON bodies a server would receive).
    pub bytes: u64,
    /// Reports the server's validation refused (a client bug if ever non-zero).
    pub refused: u64,
}

/// Counters per window, as the server keeps them.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregationConfig,
    /// Keyed by `(first day, days)` of the window, as the server's store is.
    counts: BTreeMap<(u32, u32), WindowCounts>,
    received: Received,
}

/// Keys the model was built from, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    pub windows: usize,
    pub item_windows: usize,
    pub pair_windows: usize,
    pub suppressed_items: u64,
    pub suppressed_pairs: u64,
    /// Reports counted in windows still open at the recommendation time (not released).
    pub open_reports: u64,
    /// The day the model is built as of: the last day of the newest closed window.
    pub as_of: Option<u32>,
}

impl Aggregator {
    pub fn new(config: AggregationConfig) -> Self {
        Aggregator {
            config,
            counts: BTreeMap::new(),
            received: Received::default(),
        }
    }

    /// Receives reports until every sender is gone.
    pub fn consume(mut self, reports: Receiver<String>) -> Self {
        for json in reports {
            self.receive(&json);
        }
        self
    }

    /// Validates one report as the server does and adds it to its window's counts.
    pub fn receive(&mut self, json: &str) {
        let Ok(report) = Report::from_json(json, &self.config.limits()) else {
            self.received.refused += 1;
            return;
        };
        let counts = self
            .counts
            .entry((report.window, report.days))
            .or_insert_with(|| WindowCounts::new(report.window, report.days));
        if counts.add(&report).is_ok() {
            self.received.reports += 1;
            self.received.bytes += json.len() as u64;
        }
    }

    pub fn received(&self) -> Received {
        self.received
    }

    /// Releases once (threshold and noise, or LDP estimates) every window that has closed by
    /// `end_day` (the recommendation time: its last day is before it) and builds the shared
    /// model as of the newest closed window's last day, as a server would on `end_day` with no
    /// release delay. `seed` drives the server's noise (the server uses the OS generator).
    pub fn build_model(
        &self,
        candidates: &Candidates,
        end_day: u32,
        seed: u64,
    ) -> Result<(SharedModel, Released), AggregateError> {
        let mut rng = SplitMix64::new(seed);
        let (closed, open): (Vec<&WindowCounts>, Vec<&WindowCounts>) = self
            .counts
            .values()
            .partition(|c| c.window.saturating_add(c.days.max(1) - 1) < end_day);
        let releases: Vec<ReleasedCounts> = closed
            .into_iter()
            .map(|c| release(c, &self.config, candidates, &mut rng))
            .collect::<Result<_, _>>()?;
        let as_of = window_of(end_day, self.config.window_days).checked_sub(1);
        let summary = Released {
            windows: releases.len(),
            item_windows: releases.iter().map(|r| r.items.len()).sum(),
            pair_windows: releases.iter().map(|r| r.pairs.len()).sum(),
            suppressed_items: releases.iter().map(|r| r.suppressed.items).sum(),
            suppressed_pairs: releases.iter().map(|r| r.suppressed.pairs).sum(),
            open_reports: open.iter().map(|c| c.reports() + c.ldp_reports()).sum(),
            as_of,
        };
        // Built and rounded exactly as `kindred serve` publishes it.
        let mut model = build_shared_model(&releases, as_of.unwrap_or(0));
        model.version = 1;
        quantize(&mut model);
        Ok((model, summary))
    }
}
