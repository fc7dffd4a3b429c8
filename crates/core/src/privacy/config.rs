//! The shop's privacy settings as the device reads them, checked against their ranges.

use serde::{Deserialize, Serialize};

use crate::privacy::budget::{Budget, MICRO};
use crate::privacy::report::{Caps, LdpParams, Mode, DEFAULT_WINDOW_DAYS, STRATEGY_CAP};

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

/// A privacy option out of range. Its own type, not the engine's error, so that the
/// privacy layer does not depend on the engine (which wraps it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid option \"{field}\": {problem}")]
pub struct PrivacyConfigError {
    pub field: &'static str,
    pub problem: String,
}
