//! The device side of the privacy contract: the per-day recommendation counters (lists shown
//! and clicks per strategy; a report carries only whether the shopper was shown and clicked
//! each strategy, once per window), and the report lifecycle. Everything here is a function of
//! plain data (the shopper's [`Behaviour`], the [`PrivacyConfig`], the [`PrivacyState`]); the
//! engine lends its parts and persists the state.
//!
//! Lifecycle (the transport in the browser module drives it, through the engine):
//! 1. [`PrivacyState::prepare_report`] builds the report for the oldest completed day that is
//!    not yet reported, at most [`PrivacyConfig::max_report_lag_days`] old, adds something new
//!    to its contribution window ([`crate::privacy::window`]) and fits the window's budget. The
//!    report is drawn **once** and kept in the state, so every preview (the privacy centre's
//!    "exact bytes of the next report") returns the same bytes, and what is sent is what was
//!    shown. Nothing is spent.
//! 2. [`PrivacyState::commit_report`] charges the ledger, records the keys as contributed to
//!    the window, marks the day reported and returns the bytes to send. Commit before sending:
//!    a failed send is retried with the same bytes (which reveals nothing new) by the
//!    transport's queue; the engine never builds a second report for a day.
//!
//! Events of day D are reported on day D + 1 or later, which also hides the hour of the day.

use serde::Serialize;

use crate::catalog::items::Catalog;
use crate::lean::SortedSet;
use crate::privacy::budget::{spent_rho, MICRO};
use crate::privacy::config::PrivacyConfig;
use crate::privacy::ledger::{Ledger, LedgerError, LedgerSummary, Spend};
use crate::privacy::noise::{RandomError, RandomSource};
use crate::privacy::report::{
    key_problem, pair_key, strategy_key, Caps, Family, LdpReport, LdpValue, Mode, Report,
    StrategyCounts, REPORT_VERSION,
};
use crate::privacy::window::{
    epoch_of, next_contribution, window_of, Contribution, WindowActivity, WindowState,
};
use crate::shopper::history::{EventKind, History};
use crate::shopper::profile::interest_keys;
use crate::strategy::Strategy;

/// The shopper's behaviour a report is drawn from, borrowed from the engine that owns it.
#[derive(Clone, Copy)]
pub(crate) struct Behaviour<'a> {
    pub history: &'a History,
    /// For the interest keys of the items touched.
    pub catalog: &'a Catalog,
    /// Interests the shopper removed: never reported.
    pub removed_interests: &'a SortedSet<String>,
    /// Inactivity that ends a session, in ms.
    pub session_gap_ms: i64,
}

impl Contribution {
    /// The report of `window`: the keys in the clear (threshold mode) or randomized (ldp
    /// mode). `None` in mode `off`.
    pub fn build_report(
        &self,
        window: u32,
        config: &PrivacyConfig,
        rng: &mut dyn RandomSource,
    ) -> Result<Option<Report>, RandomError> {
        let mut report = Report {
            v: REPORT_VERSION,
            window,
            days: config.window_days,
            mode: config.mode,
            items: Vec::new(),
            pairs: Vec::new(),
            interests: Vec::new(),
            strategies: Vec::new(),
            ldp: None,
        };
        let items: Vec<String> = self.items.iter().cloned().collect();
        let interests: Vec<String> = self.interests.iter().cloned().collect();
        let pairs: Vec<[String; 2]> = self
            .pairs
            .iter()
            .map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        match config.mode {
            Mode::Off => return Ok(None),
            Mode::Threshold => {
                report.items = items;
                report.pairs = pairs;
                report.interests = interests;
                report.strategies = self.strategies.clone();
            }
            Mode::Ldp => {
                let params = config.ldp();
                let pairs: Vec<String> = pairs.iter().map(|[a, b]| pair_key(a, b)).collect();
                let mut outcomes = Vec::new();
                for (name, c) in &self.strategies {
                    if c.impressions > 0 {
                        outcomes.push(strategy_key(name, false));
                    }
                    if c.clicks > 0 {
                        outcomes.push(strategy_key(name, true));
                    }
                }
                let mut encode = |family: Family, set: Vec<String>| {
                    params
                        .olh(family)
                        .encode(&set, rng)
                        .map(|(s, y)| LdpValue { s, y })
                };
                report.ldp = Some(LdpReport {
                    eps: params.epsilon,
                    l: params.set_size,
                    items: encode(Family::Items, items)?,
                    pairs: encode(Family::Pairs, pairs)?,
                    interests: encode(Family::Interests, interests)?,
                    strategies: encode(Family::Strategies, outcomes)?,
                });
            }
        }
        Ok(Some(report))
    }
}

/// A report drawn for a day and not yet sent. It is kept as its wire bytes, so the bytes
/// shown, persisted and sent are the same by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedReport {
    /// The day whose activity it completes.
    pub day: u32,
    /// First day of its contribution window.
    pub window: u32,
    /// What committing it charges to the ledger (millionths).
    pub spend: Spend,
    /// The window's ε after it is sent (millionths, at the budget's δ).
    pub epsilon_after: u64,
    /// The exact bytes that will be sent (JSON, wire format v2).
    pub json: String,
    /// The keys it adds to the window (in ldp mode they are randomized in `json`).
    pub contribution: Contribution,
}

impl PreparedReport {
    /// The exact bytes that will be sent.
    pub fn json(&self) -> String {
        self.json.clone()
    }

    /// The report itself (parsed from the bytes).
    pub fn report(&self) -> Option<Report> {
        serde_json::from_str(&self.json).ok()
    }

    /// The window's ε after this report.
    pub fn epsilon_after(&self) -> f64 {
        self.epsilon_after as f64 / MICRO
    }
}

/// The report-related part of the persisted state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivacyState {
    pub ledger: Ledger,
    /// The newest day reported; days up to it are never reported (again).
    pub last_reported: Option<u32>,
    /// The drawn, not yet committed report.
    pub pending: Option<PreparedReport>,
    /// Recommendation counters per day (only days that can still be reported).
    pub strategies: Vec<DayCounters>,
    /// What was contributed to the window of the last reported day.
    pub window: Option<WindowState>,
}

/// One day's recommendation counters, indexed like [`Strategy::ALL`]. A small vector of
/// fixed arrays instead of nested maps: this code runs on every tracked click in the browser
/// module, where map instantiations cost wasm bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounters {
    pub epoch: u32,
    pub counts: [StrategyCounts; 6],
}

/// What the privacy centre shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyOverview {
    pub mode: Mode,
    pub ledger: LedgerSummary,
    pub last_reported_day: Option<u32>,
    /// What this shopper has contributed to the current (or last reported) window.
    pub window: Option<WindowState>,
    /// The window's caps.
    pub caps: Caps,
    /// The next report with its exact bytes (`None`: nothing to send).
    pub next_report: Option<PreparedReport>,
}

impl PrivacyState {
    /// Drops counters of days that can no longer be reported.
    fn prune(&mut self, today: u32, lag: u32) {
        let keep_from = today.saturating_sub(lag);
        self.strategies.retain(|d| d.epoch >= keep_from);
    }

    /// The counters of `strategy` on `epoch`, created when missing.
    fn counter(&mut self, epoch: u32, strategy: Strategy) -> &mut StrategyCounts {
        let at = match self.strategies.iter().position(|d| d.epoch == epoch) {
            Some(at) => at,
            None => {
                self.strategies.push(DayCounters {
                    epoch,
                    ..DayCounters::default()
                });
                self.strategies.len() - 1
            }
        };
        let index = Strategy::ALL
            .iter()
            .position(|s| *s == strategy)
            .unwrap_or(0);
        &mut self.strategies[at].counts[index]
    }

    /// The contribution state of `window` (empty when the state holds an older window).
    fn window_state(&self, window: u32, days: u32) -> WindowState {
        match &self.window {
            Some(w) if w.window == window && w.days == days => w.clone(),
            _ => WindowState::new(window, days),
        }
    }

    /// The ledger as the privacy centre shows it at `now`.
    pub(crate) fn ledger_summary(&self, config: &PrivacyConfig, now: i64) -> LedgerSummary {
        let window = window_of(epoch_of(now), config.window_days);
        self.ledger
            .summary(window, config.window_days, &config.budget())
    }

    /// Counts `lists` recommendation lists of `strategy` shown at `now` (call once per list
    /// rendered). Only whether it was shown is reported, once per window.
    pub(crate) fn note_impressions(
        &mut self,
        config: &PrivacyConfig,
        strategy: Strategy,
        lists: u32,
        now: i64,
    ) {
        let epoch = epoch_of(now);
        self.prune(epoch, config.max_report_lag_days);
        let c = self.counter(epoch, strategy);
        c.impressions = c.impressions.saturating_add(lists);
    }

    /// Counts a click on a recommendation of `strategy` at `ts` (from `track`); clicks too
    /// old to be reported are not kept. Only whether there was one is reported, once per
    /// window.
    pub(crate) fn note_click(
        &mut self,
        config: &PrivacyConfig,
        strategy: Strategy,
        ts: i64,
        now: i64,
    ) {
        let (epoch, today) = (epoch_of(ts), epoch_of(now));
        let lag = config.max_report_lag_days;
        if epoch.saturating_add(lag) < today {
            return;
        }
        self.prune(today, lag);
        let c = self.counter(epoch, strategy);
        c.clicks = c.clicks.saturating_add(1);
    }

    /// What the shopper did from `first_day` up to and including `day`: items touched (never
    /// search queries), whether each was bought or carted, the sessions they were touched in
    /// (30 minutes of inactivity, or midnight UTC at the first day, ends one), their interest
    /// keys (except interests the shopper removed) and `day`'s recommendation counters.
    pub(crate) fn window_activity(
        &self,
        shopper: &Behaviour<'_>,
        first_day: u32,
        day: u32,
    ) -> WindowActivity {
        let mut index: crate::lean::HashMap<&str, usize> = Default::default();
        let mut items: Vec<(String, bool)> = Vec::new();
        let mut sessions: Vec<Vec<(usize, bool)>> = Vec::new();
        let gap = shopper.session_gap_ms;
        let mut last_ts: Option<i64> = None;
        for e in shopper.history.events() {
            let d = epoch_of(e.ts);
            if d < first_day || d > day || e.kind == EventKind::Search {
                continue;
            }
            let Some(item) = e.item.as_deref() else {
                continue;
            };
            if key_problem(item).is_some() {
                continue;
            }
            if last_ts.is_none_or(|t| e.ts - t > gap) {
                sessions.push(Vec::new());
            }
            last_ts = Some(e.ts);
            let bought = matches!(e.kind, EventKind::Purchase | EventKind::Cart);
            let i = *index.entry(item).or_insert_with(|| {
                items.push((item.to_owned(), false));
                items.len() - 1
            });
            items[i].1 |= bought;
            if let Some(session) = sessions.last_mut() {
                match session.iter_mut().find(|m| m.0 == i) {
                    Some(m) => m.1 |= bought,
                    None => session.push((i, bought)),
                }
            }
        }
        let removed = shopper.removed_interests;
        let mut interests = Vec::new();
        for (id, _) in &items {
            if let Some(item) = shopper.catalog.by_id(id) {
                interests.extend(
                    interest_keys(item)
                        .into_iter()
                        .filter(|k| !removed.contains(k)),
                );
            }
        }
        let strategies = self
            .strategies
            .iter()
            .find(|d| d.epoch == day)
            .map(|d| {
                Strategy::ALL
                    .iter()
                    .zip(d.counts)
                    .filter(|(_, n)| n.impressions > 0 || n.clicks > 0)
                    .map(|(s, n)| (s.name().to_owned(), n))
                    .collect()
            })
            .unwrap_or_default();
        WindowActivity {
            items,
            sessions,
            interests,
            strategies,
        }
    }

    /// What a report adding `contribution` to `state` costs.
    fn spend_of(config: &PrivacyConfig, state: &WindowState, contribution: &Contribution) -> Spend {
        match config.mode {
            Mode::Ldp => {
                let eps = config.ldp().epsilon;
                Spend {
                    // A pure ε-DP report is ε²/2-zCDP.
                    rho: (eps * eps / 2.0 * MICRO).round() as u64,
                    pure: Some((eps * MICRO).round() as u64),
                }
            }
            _ => {
                let mut after = state.clone();
                after.add(contribution);
                let budget = config.budget();
                let before = spent_rho(&state.used(), &config.caps, &budget);
                let now = spent_rho(&after.used(), &config.caps, &budget);
                Spend {
                    rho: now.saturating_sub(before),
                    pure: None,
                }
            }
        }
    }

    /// The next report (see the module docs): drawn once per day and kept, so repeated calls
    /// return the same bytes. `None` in mode `off`, when every reportable day is reported or
    /// adds nothing new to its window, or when the window's budget has no room. Spends nothing.
    pub(crate) fn prepare_report(
        &mut self,
        config: &PrivacyConfig,
        shopper: &Behaviour<'_>,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<Option<PreparedReport>, PrivacyError> {
        if config.mode == Mode::Off {
            self.pending = None;
            return Ok(None);
        }
        let today = epoch_of(now);
        let oldest = today.saturating_sub(config.max_report_lag_days);
        let first = self
            .last_reported
            .map_or(oldest, |e| e.saturating_add(1).max(oldest));
        if let Some(p) = &self.pending {
            if p.day >= first && p.day < today {
                return Ok(Some(p.clone()));
            }
            self.pending = None;
        }
        let budget = config.budget();
        for day in first..today {
            let window = window_of(day, config.window_days);
            let mut state = self.window_state(window, config.window_days);
            if state.closed {
                continue;
            }
            // Threshold mode bounds the keys of a window (what k and the noise count on); in
            // ldp mode every report is randomized on its own and the window bounds the budget,
            // so a report randomizes that day's activity.
            let activity = if config.mode == Mode::Ldp {
                state = WindowState::new(window, config.window_days);
                self.window_activity(shopper, day, day)
            } else {
                self.window_activity(shopper, window, day)
            };
            let contribution = next_contribution(&activity, &state, &config.caps, rng)?;
            if contribution.is_empty() {
                continue;
            }
            let spend = Self::spend_of(config, &state, &contribution);
            if self.ledger.can_spend(&spend, window, &budget).is_err() {
                continue;
            }
            let Some(report) = contribution.build_report(window, config, rng)? else {
                continue;
            };
            let mut after = self.ledger.clone();
            after.spend(&spend, window, &budget)?;
            let prepared = PreparedReport {
                day,
                window,
                spend,
                epsilon_after: (after.of(window).epsilon(budget.delta) * MICRO).round() as u64,
                json: report.to_json(),
                contribution,
            };
            self.pending = Some(prepared.clone());
            return Ok(Some(prepared));
        }
        Ok(None)
    }

    /// Charges the pending report of `day` to the ledger, records its keys as contributed to
    /// its window, marks the day reported and returns the bytes to send. Fails, changing
    /// nothing, when no report for `day` is pending or the budget would be exceeded.
    pub(crate) fn commit_report(
        &mut self,
        config: &PrivacyConfig,
        day: u32,
    ) -> Result<String, PrivacyError> {
        let Some(p) = self.pending.as_ref().filter(|p| p.day == day) else {
            return Err(PrivacyError::NoPendingReport(day));
        };
        self.ledger.spend(&p.spend, p.window, &config.budget())?;
        let mut state = self.window_state(p.window, config.window_days);
        if config.mode != Mode::Ldp {
            state.add(&p.contribution);
        }
        let json = p.json();
        self.window = Some(state);
        self.pending = None;
        self.last_reported = Some(self.last_reported.map_or(day, |e| e.max(day)));
        Ok(json)
    }

    /// The privacy centre's view: mode, ledger, the window's contributions and the exact next
    /// report (drawn if needed).
    pub(crate) fn overview(
        &mut self,
        config: &PrivacyConfig,
        shopper: &Behaviour<'_>,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<PrivacyOverview, PrivacyError> {
        let next = self.prepare_report(config, shopper, now, rng)?;
        Ok(PrivacyOverview {
            mode: config.mode,
            ledger: self.ledger_summary(config, now),
            last_reported_day: self.last_reported,
            window: self.window.clone(),
            caps: config.caps,
            next_report: next,
        })
    }

    /// Forgets report state tied to the shopper's behaviour: the pending report, the
    /// recommendation counters and the keys contributed to the current window, which is closed
    /// (a key contributed before forgetting must not be contributed again in the same window;
    /// contributions resume with the next window). The ledger and the last reported day are
    /// kept: they hold no behaviour, and resetting them would let a forget-and-report cycle
    /// exceed the budget.
    pub(crate) fn forget(&mut self) {
        self.pending = None;
        self.strategies.clear();
        if let Some(w) = &mut self.window {
            w.close();
        }
    }

    /// Adopts restored report state: counters and pending report from the snapshot, the
    /// ledger, last reported day and window contributions merged (the larger spend wins,
    /// contributed keys stay contributed) so restoring an old snapshot never gives budget back.
    pub(crate) fn restore(&mut self, restored: PrivacyState) {
        let mut ledger = restored.ledger;
        ledger.merge_max(&self.ledger);
        let last_reported = match (restored.last_reported, self.last_reported) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let drawn_against = restored.window.clone();
        let window = match (restored.window, self.window.take()) {
            (Some(mut a), Some(b)) => {
                a.merge(&b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        // A pending report was drawn against the restored window state; if merging added
        // contributions to its window, it could repeat keys or misstate its cost, so it is
        // dropped and drawn again.
        let pending = restored.pending.filter(|p| {
            last_reported.is_none_or(|l| p.day > l)
                && match &window {
                    Some(w) if w.window > p.window => false,
                    Some(w) if w.window == p.window => Some(w) == drawn_against.as_ref(),
                    _ => true,
                }
        });
        *self = PrivacyState {
            ledger,
            last_reported,
            pending,
            strategies: restored.strategies,
            window,
        };
    }
}

/// Why a report could not be prepared or committed. Nothing changed.
///
/// Separate from the engine's error so that engines that never report (and the browser
/// module's other calls) do not carry these messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Budget(#[from] LedgerError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("no report for day {0} is pending: call prepare_report first")]
    NoPendingReport(u32),
}
