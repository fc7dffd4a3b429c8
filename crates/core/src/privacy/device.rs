//! The device side of the privacy contract: configuration, the per-day recommendation
//! counters (lists shown and clicks per strategy; a report carries only whether the shopper
//! was shown and clicked each strategy, once per window), and the report lifecycle of the
//! engine.
//!
//! Lifecycle (the transport in the browser module drives it):
//! 1. [`Engine::prepare_report`] builds the report for the oldest completed day that is not
//!    yet reported, at most [`PrivacyConfig::max_report_lag_days`] old, adds something new to
//!    its contribution window ([`crate::privacy::window`]) and fits the window's budget. The report is
//!    drawn **once** and kept in the state, so every preview (the privacy centre's "exact bytes
//!    of the next report") returns the same bytes, and what is sent is what was shown. Nothing
//!    is spent.
//! 2. [`Engine::commit_report`] charges the ledger, records the keys as contributed to the
//!    window, marks the day reported and returns the bytes to send. Commit before sending: a
//!    failed send is retried with the same bytes (which reveals nothing new) by the transport's
//!    queue; the engine never builds a second report for a day.
//!
//! Events of day D are reported on day D + 1 or later, which also hides the hour of the day.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineError};
use crate::privacy::budget::{spent_rho, Budget, MICRO};
use crate::privacy::ledger::{Ledger, LedgerError, LedgerSummary, Spend};
use crate::privacy::noise::{RandomError, RandomSource};
use crate::privacy::report::{
    key_problem, pair_key, strategy_key, Caps, Family, LdpParams, LdpReport, LdpValue, Mode,
    Report, StrategyCounts, DEFAULT_WINDOW_DAYS, REPORT_VERSION, STRATEGY_CAP,
};
use crate::privacy::window::{
    next_contribution, window_of, Contribution, WindowActivity, WindowState,
};
use crate::recommend::rules::Strategy;
use crate::shopper::history::{clamp_time, EventKind};
use crate::shopper::profile::interest_keys;

const DAY_MS: i64 = 86_400_000;

/// The day (UTC day number, days since 1970-01-01) of a time in ms since 1970.
pub fn epoch_of(ms: i64) -> u32 {
    (clamp_time(ms) / DAY_MS) as u32
}

/// Privacy settings. In JS: `privacy: { mode: "threshold", epsilonPerWindow: 4 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// `threshold` (default), `ldp` or `off`.
    pub mode: Mode,
    /// The cap on what one window of contributions may cost the shopper, as ε at `delta`
    /// (default 4, see [`crate::privacy::budget::DEFAULT_EPSILON`]). In threshold mode the server's
    /// noise is calibrated to it; the device's ledger enforces it in every mode.
    pub epsilon_per_window: f64,
    /// δ of the (ε, δ) statement (default 10⁻⁶).
    pub delta: f64,
    /// Length of a contribution window in days (default 30); the server must count the same.
    pub window_days: u32,
    /// Contribution bounds of a window.
    pub caps: Caps,
    /// LDP mode: ε of each randomized report (default 1, pure LDP).
    pub ldp_epsilon: f64,
    /// LDP mode: Padding-and-Sampling length `ℓ` (default 4, about the number of items a
    /// typical shopper touches in a day; larger sets are sub-sampled).
    pub ldp_set_size: u32,
    /// Completed days older than this are never reported (default 7).
    pub max_report_lag_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        let budget = Budget::default();
        PrivacyConfig {
            mode: Mode::Threshold,
            epsilon_per_window: budget.epsilon,
            delta: budget.delta,
            window_days: DEFAULT_WINDOW_DAYS,
            caps: Caps::default(),
            ldp_epsilon: 1.0,
            ldp_set_size: 4,
            max_report_lag_days: 7,
        }
    }
}

/// Largest per-family window cap (a report at the largest caps stays far below the 64 KiB a
/// report may have).
pub const MAX_KEY_CAP: u32 = 256;

/// Why the strategy caps stop at [`STRATEGY_CAP`], for the range error.
const STRATEGIES_WHY: &str =
    " (the number of strategies: each is reported shown, and clicked, at most once per window)";

impl PrivacyConfig {
    /// The window budget.
    pub fn budget(&self) -> Budget {
        Budget {
            epsilon: self.epsilon_per_window,
            delta: self.delta,
        }
    }

    /// The LDP parameters reports carry. Epsilon is rounded to a multiple of 10^-6 (the
    /// ledger's unit) so that it has few digits and survives the JSON round trip exactly.
    pub fn ldp(&self) -> LdpParams {
        LdpParams {
            epsilon: (self.ldp_epsilon * MICRO).round() / MICRO,
            set_size: self.ldp_set_size,
        }
    }

    /// Checks ranges; the error names the option as JS spells it.
    pub fn validate(&self) -> Result<(), PrivacyConfigError> {
        let bad = |field, problem: &str| {
            Err(PrivacyConfigError {
                field,
                problem: problem.to_owned(),
            })
        };
        if let Some(problem) = self.budget().problem() {
            let field = if problem.starts_with("delta") {
                "privacy.delta"
            } else {
                "privacy.epsilonPerWindow"
            };
            return bad(field, problem);
        }
        if !(1..=366).contains(&self.window_days) {
            return bad("privacy.windowDays", "must be from 1 to 366 days");
        }
        let c = self.caps;
        for (field, v, max, why) in [
            ("privacy.caps.items", c.items, MAX_KEY_CAP, ""),
            ("privacy.caps.pairs", c.pairs, MAX_KEY_CAP, ""),
            ("privacy.caps.interests", c.interests, MAX_KEY_CAP, ""),
            (
                "privacy.caps.impressions",
                c.impressions,
                STRATEGY_CAP,
                STRATEGIES_WHY,
            ),
            (
                "privacy.caps.clicks",
                c.clicks,
                STRATEGY_CAP,
                STRATEGIES_WHY,
            ),
        ] {
            if v == 0 || v > max {
                return bad(field, &format!("is {v}, it must be from 1 to {max}{why}"));
            }
        }
        let e = self.ldp_epsilon;
        if !(e.is_finite() && e > 0.0 && e <= 10.0) {
            return bad("privacy.ldpEpsilon", "must be a number in (0, 10]");
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

/// A privacy option out of range. Its own type (not [`EngineError`]) so that the privacy
/// module does not depend on the engine's error set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid option \"{field}\": {problem}")]
pub struct PrivacyConfigError {
    pub field: &'static str,
    pub problem: String,
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

    /// The ledger as the privacy centre shows it at `now`.
    pub fn ledger_summary(&self, now: i64) -> LedgerSummary {
        let config = &self.config.privacy;
        let window = window_of(epoch_of(now), config.window_days);
        self.privacy
            .ledger
            .summary(window, config.window_days, &config.budget())
    }

    /// Counts `lists` recommendation lists of `strategy` shown at `now` (call once per list
    /// rendered). Only whether it was shown is reported, once per window.
    pub fn note_impressions(&mut self, strategy: Strategy, lists: u32, now: i64) {
        let epoch = epoch_of(now);
        self.privacy
            .prune(epoch, self.config.privacy.max_report_lag_days);
        let c = self.privacy.counter(epoch, strategy);
        c.impressions = c.impressions.saturating_add(lists);
    }

    /// Counts a click on a recommendation of `strategy` at `ts` (from `track`); clicks too
    /// old to be reported are not kept. Only whether there was one is reported, once per
    /// window.
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

    /// What the shopper did from `first_day` up to and including `day`: items touched (never
    /// search queries), whether each was bought or carted, the sessions they were touched in
    /// (30 minutes of inactivity, or midnight UTC at the first day, ends one), their interest
    /// keys (except interests the shopper removed) and `day`'s recommendation counters.
    pub fn window_activity(&self, first_day: u32, day: u32) -> WindowActivity {
        let mut index: crate::lean::HashMap<&str, usize> = Default::default();
        let mut items: Vec<(String, bool)> = Vec::new();
        let mut sessions: Vec<Vec<(usize, bool)>> = Vec::new();
        let gap = (self.config.session_gap_minutes * 60_000.0) as i64;
        let mut last_ts: Option<i64> = None;
        for e in self.history.events() {
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
        let removed = self.profile.removed_interests();
        let mut interests = Vec::new();
        for (id, _) in &items {
            if let Some(item) = self.catalog.by_id(id) {
                interests.extend(
                    interest_keys(item)
                        .into_iter()
                        .filter(|k| !removed.contains(k)),
                );
            }
        }
        let strategies = self
            .privacy
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
    fn spend_of(&self, state: &WindowState, contribution: &Contribution) -> Spend {
        let config = &self.config.privacy;
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
            if p.day >= first && p.day < today {
                return Ok(Some(p.clone()));
            }
            self.privacy.pending = None;
        }
        let budget = config.budget();
        for day in first..today {
            let window = window_of(day, config.window_days);
            let mut state = self.privacy.window_state(window, config.window_days);
            if state.closed {
                continue;
            }
            // Threshold mode bounds the keys of a window (what k and the noise count on); in
            // ldp mode every report is randomized on its own and the window bounds the budget,
            // so a report randomizes that day's activity.
            let activity = if config.mode == Mode::Ldp {
                state = WindowState::new(window, config.window_days);
                self.window_activity(day, day)
            } else {
                self.window_activity(window, day)
            };
            let contribution = next_contribution(&activity, &state, &config.caps, rng)?;
            if contribution.is_empty() {
                continue;
            }
            let spend = self.spend_of(&state, &contribution);
            if self
                .privacy
                .ledger
                .can_spend(&spend, window, &budget)
                .is_err()
            {
                continue;
            }
            let Some(report) = contribution.build_report(window, &config, rng)? else {
                continue;
            };
            let mut after = self.privacy.ledger.clone();
            after.spend(&spend, window, &budget)?;
            let prepared = PreparedReport {
                day,
                window,
                spend,
                epsilon_after: (after.of(window).epsilon(budget.delta) * MICRO).round() as u64,
                json: report.to_json(),
                contribution,
            };
            self.privacy.pending = Some(prepared.clone());
            return Ok(Some(prepared));
        }
        Ok(None)
    }

    /// Charges the pending report of `day` to the ledger, records its keys as contributed to
    /// its window, marks the day reported and returns the bytes to send. Fails, changing
    /// nothing, when no report for `day` is pending or the budget would be exceeded.
    pub fn commit_report(&mut self, day: u32) -> Result<String, PrivacyError> {
        let Some(p) = self.privacy.pending.as_ref().filter(|p| p.day == day) else {
            return Err(PrivacyError::NoPendingReport(day));
        };
        let config = self.config.privacy;
        self.privacy
            .ledger
            .spend(&p.spend, p.window, &config.budget())?;
        let mut state = self.privacy.window_state(p.window, config.window_days);
        if config.mode != Mode::Ldp {
            state.add(&p.contribution);
        }
        let json = p.json();
        self.privacy.window = Some(state);
        self.privacy.pending = None;
        self.privacy.last_reported = Some(self.privacy.last_reported.map_or(day, |e| e.max(day)));
        Ok(json)
    }

    /// The privacy centre's view: mode, ledger, the window's contributions and the exact next
    /// report (drawn if needed).
    pub fn privacy(
        &mut self,
        now: i64,
        rng: &mut dyn RandomSource,
    ) -> Result<PrivacyOverview, PrivacyError> {
        let next = self.prepare_report(now, rng)?;
        Ok(PrivacyOverview {
            mode: self.config.privacy.mode,
            ledger: self.ledger_summary(now),
            last_reported_day: self.privacy.last_reported,
            window: self.privacy.window.clone(),
            caps: self.config.privacy.caps,
            next_report: next,
        })
    }

    /// Forgets report state tied to the shopper's behaviour: the pending report, the
    /// recommendation counters and the keys contributed to the current window, which is closed
    /// (a key contributed before forgetting must not be contributed again in the same window;
    /// contributions resume with the next window). The ledger and the last reported day are
    /// kept: they hold no behaviour, and resetting them would let a forget-and-report cycle
    /// exceed the budget.
    pub(crate) fn forget_report_state(&mut self) {
        self.privacy.pending = None;
        self.privacy.strategies.clear();
        if let Some(w) = &mut self.privacy.window {
            w.close();
        }
    }

    /// Adopts restored report state: counters and pending report from the snapshot, the
    /// ledger, last reported day and window contributions merged (the larger spend wins,
    /// contributed keys stay contributed) so restoring an old snapshot never gives budget back.
    pub(crate) fn restore_report_state(&mut self, restored: PrivacyState) {
        let mut ledger = restored.ledger;
        ledger.merge_max(&self.privacy.ledger);
        let last_reported = match (restored.last_reported, self.privacy.last_reported) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let drawn_against = restored.window.clone();
        let window = match (restored.window, self.privacy.window.take()) {
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
        self.privacy = PrivacyState {
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
