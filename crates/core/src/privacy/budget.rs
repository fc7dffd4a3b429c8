//! The privacy budget of a contribution window, and the one formula for the noise it buys.
//!
//! Accounting is in **zero-concentrated differential privacy** (zCDP, Bun and Steinke 2016):
//! a mechanism is `ρ`-zCDP when the Rényi divergence of every order `α` between its outputs on
//! neighbouring inputs is at most `ρ·α`. It composes by adding `ρ`, and converts to
//! `(ε, δ)`-DP as `ε = ρ + 2·√(ρ·ln(1/δ))` (their Proposition 1.3). The neighbouring inputs are
//! "with and without one shopper's contributions to one window".
//!
//! A window's budget is stated as `(ε, δ)` per shopper per window (default ε = 4, δ = 10⁻⁶,
//! see [`Budget::default`]) and turned into `ρ` once ([`Budget::rho`]). The server adds discrete
//! Gaussian noise to every released count ([`crate::privacy::noise::DiscreteGaussian`]); a family `f`
//! gets the share `share_f` of `ρ` ([`Family::budget_share`]) and noise of standard deviation
//! `σ_f = √(Δ_f² / (2·share_f·ρ))` ([`sigma`]), where `Δ_f²` is the squared L2 sensitivity of
//! the family over one window ([`sensitivity_squared`]): a shopper contributes each key at
//! most once per window and at most `cap_f` keys, so `Δ_f² = cap_f`. Strategy counters are
//! keys too: per window a shopper reports at most once that they were shown a strategy's
//! recommendations (at most `impressions` strategies) and at most once that they clicked one
//! (at most `clicks` strategies), each a 0 or 1, so `Δ² = impressions + clicks` (12 at the
//! defaults; counting lists and clicks instead would make `Δ²` the square of the largest
//! count a shopper may add, and the noise too large for a small shop's click-through). With
//! every cap used, a shopper's window costs exactly `ρ`.
//!
//! The device charges its ledger what it actually contributed ([`spent_rho`]): `ρ` times the
//! fraction of the caps used, the same bound the server's noise gives that contribution. (The
//! Gaussian mechanism's loss grows with `‖contribution‖₂²`, and contributions split over
//! several reports of a window add up in that norm, so charging per report is exact.)
//!
//! LDP reports are pure `ε`-DP each (`ε²/2`-zCDP); the ledger keeps both sums and states the
//! better of the two bounds.

use serde::{Deserialize, Serialize};

use crate::privacy::report::{Caps, Family};

/// Default ε per shopper per window: the largest value for which kindred's default mode beats
/// the reference recommenders on the Online Retail validation split was measured, and smaller
/// values are listed in docs/QUALITY.md with what they cost.
pub const DEFAULT_EPSILON: f64 = 4.0;
/// Default δ: at most one in a million that the ε bound fails, far below one over the number
/// of shoppers of any shop.
pub const DEFAULT_DELTA: f64 = 1e-6;
/// Budget amounts are kept in integer millionths, so sums never drift past a cap.
pub const MICRO: f64 = 1e6;

/// The `(ε, δ)` budget of one shopper over one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub epsilon: f64,
    pub delta: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            epsilon: DEFAULT_EPSILON,
            delta: DEFAULT_DELTA,
        }
    }
}

impl Budget {
    /// The window's `ρ`, rounded down to a millionth: the device and the server use exactly
    /// this value (the device as its ledger cap, the server to calibrate its noise), so
    /// rounding can only add noise, never remove it.
    pub fn rho(&self) -> f64 {
        (rho_for_epsilon(self.epsilon, self.delta) * MICRO).floor() / MICRO
    }

    /// Checks ranges; the problem is phrased for the option names JS and the server use.
    pub fn problem(&self) -> Option<&'static str> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0 && self.epsilon <= 100.0) {
            Some("epsilon must be a number in (0, 100]")
        } else if !(self.delta.is_finite() && self.delta > 0.0 && self.delta <= 1e-3) {
            Some("delta must be a number in (0, 0.001]")
        } else if self.rho() <= 0.0 {
            Some("epsilon is too small for this delta (zCDP rho rounds to 0)")
        } else {
            None
        }
    }
}

/// The `ρ` whose `(ε, δ)` conversion is exactly `epsilon`: the positive root of
/// `ρ + 2·√(ρ·L) = ε` with `L = ln(1/δ)`, i.e. `√ρ = √(L + ε) − √L`.
pub fn rho_for_epsilon(epsilon: f64, delta: f64) -> f64 {
    let l = (1.0 / delta).ln();
    let s = (l + epsilon).sqrt() - l.sqrt();
    s * s
}

/// The `ε` at `delta` of `rho`-zCDP: `ρ + 2·√(ρ·ln(1/δ))`.
pub fn epsilon_for_rho(rho: f64, delta: f64) -> f64 {
    if rho <= 0.0 {
        return 0.0;
    }
    rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt()
}

/// The squared L2 sensitivity of a family's released counts over one window: every family's
/// counts take a 0 or 1 per key from a shopper, so it is the number of keys the caps allow
/// (for strategies `impressions + clicks`, see [`Caps::of`]).
pub fn sensitivity_squared(family: Family, caps: &Caps) -> f64 {
    f64::from(caps.of(family))
}

/// **The** noise scale: the standard deviation of the discrete Gaussian noise on each released
/// count of `family` when shoppers contribute at most `caps` per window under `budget`. The
/// server's release, its statistics page and the documentation's tables all use this function.
pub fn sigma(family: Family, caps: &Caps, budget: &Budget) -> f64 {
    let rho = budget.rho() * family.budget_share();
    (sensitivity_squared(family, caps).max(1.0) / (2.0 * rho)).sqrt()
}

/// The share of a window's budget that contributing `used` (counted like [`Caps`]) costs:
/// `Σ_f share_f · ‖used_f‖² / Δ_f²`, 1 when every cap is used.
pub fn used_fraction(used: &Caps, caps: &Caps) -> f64 {
    let mut total = 0.0;
    for family in Family::ALL {
        let full = sensitivity_squared(family, caps);
        if full > 0.0 {
            total += family.budget_share() * sensitivity_squared(family, used) / full;
        }
    }
    total
}

/// The `ρ` (in millionths) that a shopper who contributed `used` in a window has spent.
pub fn spent_rho(used: &Caps, caps: &Caps, budget: &Budget) -> u64 {
    (budget.rho() * MICRO * used_fraction(used, caps)).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rho_and_epsilon_invert_each_other() {
        for eps in [0.5, 1.0, 2.0, 4.0, 8.0] {
            let rho = rho_for_epsilon(eps, 1e-6);
            assert!((epsilon_for_rho(rho, 1e-6) - eps).abs() < 1e-12, "{eps}");
        }
        // ε = 4 at δ = 1e-6: ρ ≈ 0.2539 (the figure docs/PRIVACY.md quotes).
        let rho = Budget::default().rho();
        assert!((rho - 0.253_9).abs() < 1e-4, "{rho}");
        assert!(rho <= rho_for_epsilon(4.0, 1e-6));
    }

    #[test]
    fn full_caps_cost_the_whole_window_and_sigma_matches_it() {
        let caps = Caps::default();
        let budget = Budget::default();
        assert!((used_fraction(&caps, &caps) - 1.0).abs() < 1e-12);
        assert_eq!(
            spent_rho(&caps, &caps, &budget),
            (budget.rho() * MICRO) as u64
        );
        assert_eq!(spent_rho(&Caps::ZERO, &caps, &budget), 0);
        // Summing each family's Gaussian ρ = Δ² / (2σ²) gives back the window's ρ.
        let total: f64 = Family::ALL
            .iter()
            .map(|&f| sensitivity_squared(f, &caps) / (2.0 * sigma(f, &caps, &budget).powi(2)))
            .sum();
        assert!((total - budget.rho()).abs() < 1e-12, "{total}");
        // Items: 64 keys at a share of 0.5 of ρ ≈ 0.2542: σ ≈ 15.9.
        let s = sigma(Family::Items, &caps, &budget);
        assert!((s - 15.87).abs() < 0.05, "{s}");
        // Strategies: 6 shown + 6 clicked at a share of 0.1: σ = √(12 / 0.0508) ≈ 15.4.
        assert_eq!(sensitivity_squared(Family::Strategies, &caps), 12.0);
        let s = sigma(Family::Strategies, &caps, &budget);
        assert!((s - 15.37).abs() < 0.05, "{s}");
    }

    #[test]
    fn bad_budgets_are_named() {
        for (e, d) in [
            (0.0, 1e-6),
            (f64::NAN, 1e-6),
            (4.0, 0.0),
            (4.0, 0.5),
            (1e-12, 1e-6),
        ] {
            assert!(
                Budget {
                    epsilon: e,
                    delta: d
                }
                .problem()
                .is_some(),
                "{e} {d}"
            );
        }
        assert_eq!(Budget::default().problem(), None);
    }
}
