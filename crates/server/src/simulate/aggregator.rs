//! The simulator's aggregator: the same core code the server runs (report validation,
//! [`EpochCounts`], [`release`], [`build_model`]), fed with report bytes and nothing else.
//!
//! It runs on its own thread and owns only the receiving end of a channel of report JSON
//! strings: it has no way to reach a client's engine, history or randomness, so the only
//! information that passes between shoppers is what reports and the released model carry.

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;

use kindred_core::aggregate::{
    build_model, release, AggregateError, AggregationConfig, Candidates, EpochCounts, ModelConfig,
    ReleasedCounts,
};
use kindred_core::synthetic::SplitMix64;
use kindred_core::{Report, SharedModel};

/// What arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    pub reports: u64,
    /// Bytes of all accepted reports (the JSON bodies a server would receive).
    pub bytes: u64,
    /// Reports the server's validation refused (a client bug if ever non-zero).
    pub refused: u64,
}

/// Counters per epoch, as the server keeps them.
#[derive(Debug)]
pub struct Aggregator {
    config: AggregationConfig,
    counts: BTreeMap<u32, EpochCounts>,
    received: Received,
}

/// Keys the model was built from, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    pub epochs: usize,
    pub item_days: usize,
    pub pair_days: usize,
    pub suppressed_items: u64,
    pub suppressed_pairs: u64,
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

    /// Validates one report as the server does and adds it to its epoch's counts.
    pub fn receive(&mut self, json: &str) {
        let Ok(report) = Report::from_json(json, &self.config.limits()) else {
            self.received.refused += 1;
            return;
        };
        let counts = self
            .counts
            .entry(report.epoch)
            .or_insert_with(|| EpochCounts::new(report.epoch));
        if counts.add(&report).is_ok() {
            self.received.reports += 1;
            self.received.bytes += json.len() as u64;
        }
    }

    pub fn received(&self) -> Received {
        self.received
    }

    /// Releases every epoch once (threshold and noise, or LDP estimates) and builds the shared
    /// model as of `now_epoch`. `seed` drives the server's noise (the server uses the OS
    /// generator).
    pub fn build_model(
        &self,
        candidates: &Candidates,
        now_epoch: u32,
        seed: u64,
    ) -> Result<(SharedModel, Released), AggregateError> {
        let mut rng = SplitMix64::new(seed);
        let releases: Vec<ReleasedCounts> = self
            .counts
            .values()
            .map(|c| release(c, &self.config, candidates, &mut rng))
            .collect::<Result<_, _>>()?;
        let summary = Released {
            epochs: releases.len(),
            item_days: releases.iter().map(|r| r.items.len()).sum(),
            pair_days: releases.iter().map(|r| r.pairs.len()).sum(),
            suppressed_items: releases.iter().map(|r| r.suppressed.items).sum(),
            suppressed_pairs: releases.iter().map(|r| r.suppressed.pairs).sum(),
        };
        let model = build_model(&releases, now_epoch, &ModelConfig::default(), 1);
        Ok((model, summary))
    }
}
