//! The device side of the privacy contract: configuration, what an epoch's report is built
//! from, the per-epoch recommendation counters, and the report lifecycle of the engine.
//!
//! Lifecycle (the transport in the browser module drives it):
//! 1. [`Engine::prepare_report`] builds the report for the oldest completed epoch (UTC day)
//!    that is not yet reported, at most [`PrivacyConfig::max_report_lag_days`] old, has
//!    something to report and fits the budget. The report is drawn **once** and kept in the
//!    state, so every preview (the privacy centre's "exact bytes of the next report") returns
//!    the same bytes, and what is sent is what was shown. Nothing is spent.
//! 2. [`Engine::commit_report`] charges the ledger, marks the epoch reported and returns the
//!    bytes to send. Commit before sending: a failed send is retried with the same bytes
//!    (which reveals nothing new) by the transport's queue; the engine never builds a second
//!    report for an epoch.
//!
//! Events of day D are reported on day D + 1 or later, which also hides the hour of the day.

use crate::compact::SortedSet;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineError};
use crate::history::{clamp_time, EventKind};
use crate::ledger::{BudgetCaps, Ledger, LedgerError, LedgerSummary};
use crate::noise::{sample_indices, RandomError, RandomSource};
use crate::profile::interest_keys;
use crate::report::{
    key_problem, strategy_key, Caps, Family, LdpParams, LdpReport, LdpValue, Mode, Report,
    StrategyCounts, REPORT_VERSION,
};
use crate::rules::Strategy;

const DAY_MS: i64 = 86_400_000;
/// Items of one session used to form pairs; larger sessions are sub-sampled uniformly first,
/// bounding the work at 2,016 pairs per session.
const MAX_SESSION_ITEMS: usize = 64;

/// The epoch (UTC day number, days since 1970-01-01) of a time in ms since 1970.
pub fn epoch_of(ms: i64) -> u32 {
    (clamp_time(ms) / DAY_MS) as u32
}

/// Privacy settings. In JS: `privacy: { mode: "threshold", epsilonPerDay: 1 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// `threshold` (default), `ldp` or `off`.
    pub mode: Mode,
    /// Epsilon of each report, and the cap per day (there is at most one report per day, so
    /// both are the same number). Default 1.
    pub epsilon_per_day: f64,
    /// Cap over any 30 consecutive days. Default 20: a shopper active every day reports on at
    /// most 20 days of any 30.
    #[serde(rename = "epsilon30Days")]
    pub epsilon_30_days: f64,
    /// Contribution bounds of a report.
    pub caps: Caps,
    /// LDP mode: Padding-and-Sampling length `ℓ` (default 4, about the number of items a
    /// typical shopper touches in a day; larger sets are sub-sampled).
    pub ldp_set_size: u32,
    /// Completed days older than this are never reported (default 7).
    pub max_report_lag_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            mode: Mode::Threshold,
            epsilon_per_day: 1.0,
            epsilon_30_days: 20.0,
            caps: Caps::default(),
            ldp_set_size: 4,
            max_report_lag_days: 7,
        }
    }
}

impl PrivacyConfig {
    pub fn budget(&self) -> BudgetCaps {
        BudgetCaps {
            per_epoch: self.epsilon_per_day,
            per_30_epochs: self.epsilon_30_days,
        }
    }

    /// The LDP parameters reports carry. Epsilon is rounded to a multiple of 10^-6 (the
    /// ledger's unit) so that it has few digits and survives the JSON round trip exactly.
    pub fn ldp(&self) -> LdpParams {
        LdpParams {
            epsilon: (self.epsilon_per_day * 1e6).round() / 1e6,
            set_size: self.ldp_set_size,
        }
    }

    /// Checks ranges; the error names the option as JS spells it.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |field, problem: &str| {
            Err(EngineError::Config {
                field,
                problem: problem.to_owned(),
            })
        };
        let e = self.epsilon_per_day;
        if !(e.is_finite() && e > 0.0 && e <= 10.0) {
            return bad("privacy.epsilonPerDay", "must be a number in (0, 10]");
        }
        let m = self.epsilon_30_days;
        if !(m.is_finite() && m >= e && m <= 300.0) {
            return bad(
                "privacy.epsilon30Days",
                "must be a number from epsilonPerDay to 300",
            );
        }
        let c = self.caps;
        for (field, v, max) in [
            ("privacy.caps.items", c.items, 256),
            ("privacy.caps.pairs", c.pairs, 256),
            ("privacy.caps.interests", c.interests, 256),
            ("privacy.caps.impressions", c.impressions, 10_000),
            ("privacy.caps.clicks", c.clicks, 10_000),
        ] {
            if v == 0 || v > max {
                return bad(field, &format!("must be from 1 to {max}"));
            }
        }
        if !(1..=64).contains(&self.ldp_set_size) {
            return bad("privacy.ldpSetSize", "must be from 1 to 64");
        }
        if !(1..=30).contains(&self.max_report_lag_days) {
            return bad("privacy.maxReportLagDays", "must be from 1 to 30");
        }
        Ok(())
    }
}

/// Everything one epoch could contribute, before sampling to the caps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    pub items: SortedSet<String>,
    /// `(a, b)` with `a < b`.
    pub pairs: SortedSet<(String, String)>,
    pub interests: SortedSet<String>,
    /// Counters by strategy name, sorted by name.
    pub strategies: Vec<(String, StrategyCounts)>,
}

impl Contribution {
    /// True when there is nothing to report (then no report is built and nothing is spent).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
            && self.interests.is_empty()
            && self
                .strategies
                .iter()
                .all(|(_, c)| c.impressions == 0 && c.clicks == 0)
    }

    /// The report for `epoch`: each family sampled uniformly to its cap (threshold mode) or
    /// randomized (ldp mode). `None` in mode `off`. Keys a report cannot carry (see
    /// [`key_problem`]), non-canonical pairs and unknown strategy names are dropped first, so
    /// every report built here passes [`Report::validate`].
    pub fn build_report(
        &self,
        epoch: u32,
        config: &PrivacyConfig,
        rng: &mut dyn RandomSource,
    ) -> Result<Option<Report>, RandomError> {
        let mut report = Report {
            v: REPORT_VERSION,
            epoch,
            mode: config.mode,
            items: Vec::new(),
            pairs: Vec::new(),
            interests: Vec::new(),
            strategies: Vec::new(),
            ldp: None,
        };
        let valid = |k: &String| key_problem(k).is_none();
        let items: Vec<String> = self.items.iter().filter(|k| valid(k)).cloned().collect();
        let interests: Vec<String> = self
            .interests
            .iter()
            .filter(|k| valid(k))
            .cloned()
            .collect();
        let pairs: Vec<[String; 2]> = self
            .pairs
            .iter()
            .filter(|(a, b)| valid(a) && valid(b) && a < b)
            .map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        let mut strategies: Vec<(String, StrategyCounts)> = self
            .strategies
            .iter()
            .filter(|(k, _)| Strategy::from_name(k).is_some())
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        // The wire format wants each name once, in order.
        crate::compact::sort_by(&mut strategies, |a, b| a.0 < b.0);
        strategies.dedup_by(|a, b| a.0 == b.0);
        let caps = config.caps;
        match config.mode {
            Mode::Off => return Ok(None),
            Mode::Threshold => {
                report.items = sample(items, caps.items, rng)?;
                report.pairs = sample(pairs, caps.pairs, rng)?;
                report.interests = sample(interests, caps.interests, rng)?;
                report.strategies = clip_counters(&strategies, &caps);
            }
            Mode::Ldp => {
                let params = config.ldp();
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|[a, b]| crate::report::pair_key(a, b))
                    .collect();
                let mut outcomes = Vec::new();
                for (name, c) in &strategies {
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

/// Uniform sample of at most `cap` elements, in sorted order.
fn sample<T: Clone>(
    all: Vec<T>,
    cap: u32,
    rng: &mut dyn RandomSource,
) -> Result<Vec<T>, RandomError> {
    let picked = sample_indices(all.len(), cap as usize, rng)?;
    Ok(picked.into_iter().map(|i| all[i].clone()).collect())
}

/// Clips the counters so impressions and clicks, summed over strategies, stay within the
/// caps: each strategy keeps `floor(count · cap / total)` when the total is over the cap
/// (deterministic, proportional, never above the cap).
fn clip_counters(
    counters: &[(String, StrategyCounts)],
    caps: &Caps,
) -> Vec<(String, StrategyCounts)> {
    let total =
        |f: fn(&StrategyCounts) -> u32| counters.iter().map(|(_, c)| u64::from(f(c))).sum::<u64>();
    let (imp, clk) = (total(|c| c.impressions), total(|c| c.clicks));
    let scale = |v: u32, total: u64, cap: u32| -> u32 {
        if total <= u64::from(cap) {
            v
        } else {
            (u64::from(v) * u64::from(cap) / total) as u32
        }
    };
    counters
        .iter()
        .map(|(k, c)| {
            (
                k.clone(),
                StrategyCounts {
                    impressions: scale(c.impressions, imp, caps.impressions),
                    clicks: scale(c.clicks, clk, caps.clicks),
                },
            )
        })
        .filter(|(_, c)| c.impressions > 0 || c.clicks > 0)
        .collect()
}

/// A report drawn for an epoch and not yet sent. It is kept as its wire bytes, so the bytes
/// shown, persisted and sent are the same by construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedReport {
    pub epoch: u32,
    /// What sending it will charge to the ledger.
    pub epsilon: f64,
    /// The exact bytes that will be sent (JSON, wire format v1).
    pub json: String,
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
}

/// The report-related part of the persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacyState {
    pub ledger: Ledger,
    /// The newest epoch reported; epochs up to it are never reported (again).
    pub last_reported: Option<u32>,
    /// The drawn, not yet committed report.
    pub pending: Option<PreparedReport>,
    /// Recommendation counters per epoch (only epochs that can still be reported).
    pub strategies: Vec<DayCounters>,
}

/// One epoch's recommendation counters, indexed like [`Strategy::ALL`]. A small vector of
/// fixed arrays instead of nested maps: this code runs on every tracked click in the browser
/// module, where map instantiations cost wasm bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    pub last_reported_epoch: Option<u32>,
    /// The next report with its exact bytes (`None`: nothing to send).
    pub next_report: Option<PreparedReport>,
}

impl PrivacyState {
    /// Drops counters of epochs that can no longer be reported.
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
}

impl Engine {
    /// Replaces the privacy settings (validated). A pending report drawn under other settings
    /// is dropped.
    pub fn set_privacy_config(&mut self, config: PrivacyConfig) -> Result<(), EngineError> {
        config.validate()?;
        if config != self.config.privacy {
            self.privacy.pending = None;
        }
        self.config.privacy = config;
        Ok(())
    }

    pub fn privacy_config(&self) -> &PrivacyConfig {
        &self.config.privacy
    }

    pub fn privacy_state(&self) -> &PrivacyState {
        &self.privacy
    }

    pub fn ledger(&self) -> &Ledger {
        &self.privacy.ledger
    }

    /// Counts `lists` recommendation lists of `strategy` shown at `now` (call once per list
    /// rendered; the per-report total is clipped to `caps.impressions`).
    pub fn note_impressions(&mut self, strategy: Strategy, lists: u32, now: i64) {
        let epoch = epoch_of(now);
        self.privacy
            .prune(epoch, self.config.privacy.max_report_lag_days);
        let c = self.privacy.counter(epoch, strategy);
        c.impressions = c.impressions.saturating_add(lists);
    }

    /// Counts a click on a recommendation of `strategy` at `ts` (from `track`); clicks too
    /// old to be reported are not kept.
    pub(crate) fn note_click(&mut self, strategy: Strategy, ts: i64, now: i64) {
        let (epoch, today) = (epoch_of(ts), epoch_of(now));
        let lag = self.config.privacy.max_report_lag_days;
        if epoch.saturating_add(lag) < today {
            return;
        }
        self.privacy.prune(today, lag);
        let c = self.privacy.counter(epoch, strategy);
        c.clicks = c.clicks.saturating_add(1);
    }

    /// Everything epoch `epoch` could report: items touched (never search queries), pairs of
    /// distinct items in one session, the interest keys of the touched items (except interests
    /// the shopper removed) and the recommendation counters.
    pub fn contribution(
        &self,
        epoch: u32,
        rng: &mut dyn RandomSource,
    ) -> Result<Contribution, RandomError> {
        let mut c = Contribution::default();
        let gap = (self.config.session_gap_minutes * 60_000.0) as i64;
        let mut session: Vec<String> = Vec::new();
        let mut last_ts: Option<i64> = None;
        for e in self.history.events() {
            if epoch_of(e.ts) != epoch || e.kind == EventKind::Search {
                continue;
            }
            let Some(item) = e.item.as_deref() else {
                continue;
            };
            if key_problem(item).is_some() {
                continue;
            }
            if last_ts.is_some_and(|t| e.ts - t > gap) {
                add_pairs(&mut c.pairs, std::mem::take(&mut session), rng)?;
            }
            last_ts = Some(e.ts);
            if !session.iter().any(|s| s == item) {
                session.push(item.to_owned());
            }
            c.items.insert(item.to_owned());
        }
        add_pairs(&mut c.pairs, session, rng)?;
        let removed = self.profile.removed_interests();
        for id in &c.items {
            if let Some(item) = self.catalog.by_id(id) {
                c.interests.extend(
                    interest_keys(item)
                        .into_iter()
                        .filter(|k| !removed.contains(k) && key_problem(k).is_none()),
                );
            }
        }
        if let Some(day) = self.privacy.strategies.iter().find(|d| d.epoch == epoch) {
            c.strategies = Strategy::ALL
                .iter()
                .zip(day.counts)
                .filter(|(_, n)| n.impressions > 0 || n.clicks > 0)
                .map(|(s, n)| (s.name().to_owned(), n))
                .collect();
        }
        Ok(c)
    }

    /// The next report (see the module docs): drawn once per epoch and kept, so repeated
    /// calls return the same bytes. `None` in mode `off`, when every reportable epoch is
    /// reported or empty, or when the budget has no room. Spends nothing.
    pub fn prepare_report(
        &mut self,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<Option<PreparedReport>, PrivacyError> {
        let config = self.config.privacy;
        if config.mode == Mode::Off {
            self.privacy.pending = None;
            return Ok(None);
        }
        let today = epoch_of(now);
        let oldest = today.saturating_sub(config.max_report_lag_days);
        let first = self
            .privacy
            .last_reported
            .map_or(oldest, |e| e.saturating_add(1).max(oldest));
        if let Some(p) = &self.privacy.pending {
            if p.epoch >= first && p.epoch < today {
                return Ok(Some(p.clone()));
            }
            self.privacy.pending = None;
        }
        let budget = config.budget();
        for epoch in first..today {
            if self
                .privacy
                .ledger
                .can_spend(config.epsilon_per_day, epoch, &budget)
                .is_err()
            {
                continue;
            }
            let contribution = self.contribution(epoch, rng)?;
            if contribution.is_empty() {
                continue;
            }
            if let Some(report) = contribution.build_report(epoch, &config, rng)? {
                let prepared = PreparedReport {
                    epoch,
                    epsilon: config.epsilon_per_day,
                    json: report.to_json(),
                };
                self.privacy.pending = Some(prepared.clone());
                return Ok(Some(prepared));
            }
        }
        Ok(None)
    }

    /// Charges the pending report of `epoch` to the ledger, marks the epoch reported and
    /// returns the bytes to send. Fails, changing nothing, when no report for `epoch` is
    /// pending or the budget would be exceeded.
    pub fn commit_report(&mut self, epoch: u32) -> Result<String, PrivacyError> {
        let Some(p) = self.privacy.pending.as_ref().filter(|p| p.epoch == epoch) else {
            return Err(PrivacyError::NoPendingReport(epoch));
        };
        let budget = self.config.privacy.budget();
        self.privacy.ledger.spend(p.epsilon, epoch, &budget)?;
        let json = p.json();
        self.privacy.pending = None;
        self.privacy.last_reported =
            Some(self.privacy.last_reported.map_or(epoch, |e| e.max(epoch)));
        Ok(json)
    }

    /// The privacy centre's view: mode, ledger and the exact next report (drawn if needed).
    pub fn privacy(
        &mut self,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<PrivacyOverview, PrivacyError> {
        let next = self.prepare_report(now, rng)?;
        Ok(PrivacyOverview {
            mode: self.config.privacy.mode,
            ledger: self
                .privacy
                .ledger
                .summary(epoch_of(now), &self.config.privacy.budget()),
            last_reported_epoch: self.privacy.last_reported,
            next_report: next,
        })
    }

    /// Forgets report state tied to the shopper's behaviour: the pending report and the
    /// recommendation counters. The ledger and the last reported epoch are kept: resetting
    /// them would let a forget-and-report cycle exceed the budget.
    pub(crate) fn forget_report_state(&mut self) {
        self.privacy.pending = None;
        self.privacy.strategies.clear();
    }

    /// Adopts restored report state: counters and pending report from the snapshot, the
    /// ledger and last reported epoch merged (the larger spend wins) so restoring an old
    /// snapshot never gives budget back.
    pub(crate) fn restore_report_state(&mut self, restored: PrivacyState) {
        let mut ledger = restored.ledger;
        ledger.merge_max(&self.privacy.ledger);
        let last_reported = match (restored.last_reported, self.privacy.last_reported) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let pending = restored
            .pending
            .filter(|p| last_reported.is_none_or(|l| p.epoch > l));
        self.privacy = PrivacyState {
            ledger,
            last_reported,
            pending,
            strategies: restored.strategies,
        };
    }
}

/// Why a report could not be prepared or committed. Nothing changed.
///
/// Separate from [`EngineError`] so that engines that never report (and the browser
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

/// Adds every pair of distinct items of one session (sub-sampled to
/// [`MAX_SESSION_ITEMS`] first).
fn add_pairs(
    pairs: &mut SortedSet<(String, String)>,
    mut session: Vec<String>,
    rng: &mut dyn RandomSource,
) -> Result<(), RandomError> {
    if session.len() > MAX_SESSION_ITEMS {
        session = sample(session, MAX_SESSION_ITEMS as u32, rng)?;
    }
    for (i, a) in session.iter().enumerate() {
        for b in &session[i + 1..] {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            pairs.insert((a.clone(), b.clone()));
        }
    }
    Ok(())
}
