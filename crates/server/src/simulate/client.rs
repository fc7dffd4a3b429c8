//! A simulated shopper: an engine of its own that sees only this shopper's events, exactly as
//! the browser module's engine would, and hands over nothing but report bytes.
//!
//! The client wakes at the first UTC midnight after each day it was active,
//! as a browser that is open then, or reopened within `maxReportLagDays`, would: it applies
//! retention (`expire`, which the browser runs on every page load), then prepares and commits
//! every report that is due, in the chosen privacy mode, with the ledger enforcing the budget.
//! A real shopper who never comes back never reports their last day, so the simulation is an
//! optimistic view of how many reports arrive.

use kindred_core::SplitMix64;
use kindred_core::{
    epoch_of, Engine, EngineError, EventInput, EventKind, PrivacyError, Strategy, DAY_MS,
};

use crate::csv_input::Event;

/// What can stop a client (each is a bug or a bad setting, not bad data: bad rows were
/// skipped while reading).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

/// One shopper's device.
#[derive(Debug)]
pub struct Client {
    engine: Engine,
    /// The device's randomness (sampling to the caps, LDP). Seeded per client from the
    /// simulator's `--seed`, so a run is reproducible; real devices use the OS generator.
    rng: SplitMix64,
    /// Day of the latest event replayed.
    last_day: Option<u32>,
    /// Recommendation lists every product view shows (see [`Client::showing`]).
    rails: &'static [Strategy],
}

impl Client {
    /// A fresh device: a clone of `template` (which shares its catalog and content index and
    /// has no shopper state).
    pub fn new(template: &Engine, seed: u64) -> Self {
        Client {
            engine: template.clone(),
            rng: SplitMix64::new(seed),
            last_day: None,
            rails: &[],
        }
    }

    /// Notes `rails` as shown on every product view, as the browser module's `recommend()`
    /// notes each list a page renders, so reports say which strategies the shopper was shown.
    /// For the demo's shoppers, whose storefront is known; an events file does not say what
    /// was shown, so by default nothing is noted.
    pub fn showing(mut self, rails: &'static [Strategy]) -> Self {
        self.rails = rails;
        self
    }

    /// Replays this shopper's events (in time order) and passes every committed report's
    /// bytes to `send`, with the day it is sent on, the only way anything leaves the client.
    pub fn replay(
        &mut self,
        events: &[Event],
        send: &mut dyn FnMut(u32, String),
    ) -> Result<(), ClientError> {
        for e in events {
            let day = epoch_of(e.ts);
            if let Some(last) = self.last_day.filter(|&last| last < day) {
                self.end_of_day(last, send)?;
            }
            self.last_day = Some(day);
            let Some(item) = self.engine.catalog().get(e.item) else {
                continue;
            };
            let mut input = EventInput::new(e.kind, item.id.clone()).at(e.ts);
            if let Some(strategy) = e.strategy {
                input = input.from_strategy(strategy);
            }
            self.engine.track(&input, e.ts)?;
            if e.kind == EventKind::View {
                for &rail in self.rails {
                    self.engine.note_impressions(rail, 1, e.ts);
                }
            }
        }
        if let Some(last) = self.last_day {
            self.end_of_day(last, send)?;
        }
        Ok(())
    }

    /// The midnight after the active day `day`: retention, then every due report (each
    /// adds to its day's contribution window).
    fn end_of_day(
        &mut self,
        day: u32,
        send: &mut dyn FnMut(u32, String),
    ) -> Result<(), ClientError> {
        let now = (i64::from(day) + 1) * DAY_MS;
        self.engine.expire(now);
        while let Some(report) = self.engine.prepare_report(now, &mut self.rng)? {
            send(day + 1, self.engine.commit_report(report.day)?);
        }
        Ok(())
    }

    /// The device's persisted state at `now` (after the retention a page load applies): what
    /// a later page load restores, and all that the recommendation phase gets of this client.
    pub fn into_snapshot(mut self, now: i64) -> Vec<u8> {
        self.engine.expire(now);
        self.engine.snapshot()
    }
}
