//! Aggregation settings, checked against the clients', and the noise they calibrate.

use serde::{Deserialize, Serialize};

use super::{sigma, AggregateError, DiscreteGaussian};
use crate::privacy::budget::Budget;
use crate::privacy::report::{Caps, Family, LdpParams, ReportLimits};

/// Aggregation settings. They must match the clients' settings (window, caps, budget, LDP
/// parameters).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AggregationConfig {
    /// ε per shopper per window (default 4, the clients' default `epsilonPerWindow`).
    pub epsilon: f64,
    /// δ of the (ε, δ) budget (default 10⁻⁶).
    pub delta: f64,
    /// Minimum distinct shoppers contributing a key in a window before it is released
    /// (default 10, the value Protected Audience started with; 50, its target, is the strict
    /// setting).
    pub k: u64,
    /// When set, the noised threshold is raised above `k` so that a key's presence is
    /// `(ε, δ)`-DP with this δ per shopper; needs many more shoppers per key (see
    /// [`AggregationConfig::threshold`]). Default none: presence is k-anonymous.
    pub presence_delta: Option<f64>,
    /// Contribution bounds per window (the clients' caps).
    pub caps: Caps,
    /// Window length in days (the clients' `windowDays`).
    pub window_days: u32,
    /// The LDP parameters reports must use.
    pub ldp: LdpParams,
    /// Add noise (default true). False only for tests and the simulator's noiseless
    /// baseline: a release without noise is not differentially private.
    pub noise: bool,
    /// LDP: items with the largest estimates whose pairs are candidates (default 50).
    pub ldp_pair_items: usize,
    /// LDP: when set, release only estimates at least this many standard deviations above
    /// zero. Default none: every candidate's estimate is released, negative ones included,
    /// because only unfiltered estimates stay unbiased when windows are summed (filtering or
    /// clipping each window favours noise over small true counts); the model ignores keys
    /// whose merged total is not positive.
    pub ldp_min_sigmas: Option<f64>,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        let limits = ReportLimits::default();
        let budget = Budget::default();
        AggregationConfig {
            epsilon: budget.epsilon,
            delta: budget.delta,
            k: 10,
            presence_delta: None,
            caps: limits.caps,
            window_days: limits.window_days,
            ldp: limits.ldp,
            noise: true,
            ldp_pair_items: 50,
            ldp_min_sigmas: None,
        }
    }
}

impl AggregationConfig {
    /// What reports must respect.
    pub fn limits(&self) -> ReportLimits {
        ReportLimits {
            caps: self.caps,
            window_days: self.window_days,
            ldp: self.ldp,
        }
    }

    /// The device settings that match this aggregator (threshold mode, its budget, window,
    /// caps and LDP parameters): what the browsers reporting to it must use.
    pub fn client_privacy(&self) -> crate::privacy::config::PrivacyConfig {
        crate::privacy::config::PrivacyConfig {
            mode: crate::privacy::report::Mode::Threshold,
            epsilon_per_window: self.epsilon,
            delta: self.delta,
            window_days: self.window_days,
            caps: self.caps,
            ldp_epsilon: self.ldp.epsilon,
            ldp_set_size: self.ldp.set_size,
            ..crate::privacy::config::PrivacyConfig::default()
        }
    }

    /// The window budget the noise is calibrated to.
    pub fn budget(&self) -> Budget {
        Budget {
            epsilon: self.epsilon,
            delta: self.delta,
        }
    }

    pub fn validate(&self) -> Result<(), AggregateError> {
        let bad = |field, problem| Err(AggregateError::Config { field, problem });
        if let Some(problem) = self.budget().problem() {
            return bad(
                if problem.starts_with("delta") {
                    "delta"
                } else {
                    "epsilon"
                },
                problem,
            );
        }
        if self.k == 0 {
            return bad("k", "must be at least 1");
        }
        if self.window_days == 0 {
            return bad("windowDays", "must be at least 1");
        }
        if self
            .presence_delta
            .is_some_and(|d| !(d.is_finite() && d > 0.0 && d < 1.0))
        {
            return bad("presenceDelta", "must be a number in (0, 1)");
        }
        if !(self.ldp.epsilon.is_finite() && self.ldp.epsilon > 0.0 && self.ldp.set_size > 0) {
            return bad("ldp", "needs a positive epsilon and set size");
        }
        if self
            .ldp_min_sigmas
            .is_some_and(|z| !(z.is_finite() && z >= 0.0))
        {
            return bad("ldpMinSigmas", "must be a number >= 0");
        }
        Ok(())
    }

    /// The standard deviation of the noise on a family's counts ([`sigma`]).
    pub fn sigma(&self, family: Family) -> f64 {
        sigma(family, &self.caps, &self.budget())
    }

    /// The noise of a family in threshold mode.
    pub fn noise_of(&self, family: Family) -> DiscreteGaussian {
        DiscreteGaussian::new(self.sigma(family))
    }

    /// The noised threshold `τ_f` of a family: `k`, or with `presence_delta = δ`,
    /// `k + m` for the smallest `m` with `cap_f · P(noise >= m) <= δ` (a key that one shopper
    /// lifts to `k` is then released with probability at most `δ / cap_f`).
    pub fn threshold(&self, family: Family) -> u64 {
        let Some(delta) = self.presence_delta else {
            return self.k;
        };
        let noise = self.noise_of(family);
        let per_key = delta / f64::from(self.caps.of(family).max(1));
        let mut m = 0i64;
        while noise.tail(m) > per_key {
            // The tail falls faster than geometrically: doubling then bisecting would be
            // quicker, but σ is at most a few hundred, so this runs a few thousand steps once
            // per release.
            m += 1;
        }
        self.k.saturating_add(m.max(0) as u64)
    }
}

/// The standard deviation of the noise on one release's threshold-mode counts, per family
/// (zero when the release had no noise), recorded so statistics describe the release as it
/// was made even after the settings change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NoiseScales {
    pub items: f64,
    pub pairs: f64,
    pub interests: f64,
    pub strategies: f64,
}

impl NoiseScales {
    /// The noise of `config`'s threshold-mode releases.
    pub fn of(config: &AggregationConfig) -> NoiseScales {
        if !config.noise {
            return NoiseScales::default();
        }
        NoiseScales {
            items: config.sigma(Family::Items),
            pairs: config.sigma(Family::Pairs),
            interests: config.sigma(Family::Interests),
            strategies: config.sigma(Family::Strategies),
        }
    }
}
