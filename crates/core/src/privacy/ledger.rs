//! The privacy budget ledger kept on the device: what each contribution window has cost the
//! shopper, with a cap per window. A report that would exceed the cap is not sent.
//!
//! Per window the ledger keeps two sums (see [`crate::privacy::budget`]): `ρ` (zCDP), which every report
//! adds to, and the pure `ε` of LDP reports, which a threshold-mode report (Gaussian noise has
//! no pure bound) turns into "unbounded". The window's `ε` at the budget's `δ` is the better of
//! the two bounds, and the cap holds when either does.
//!
//! Accounting is exact: amounts are integer millionths (spends rounded to the nearest, the cap
//! rounded down and shared with the server's noise calibration), so no sequence of float
//! additions can creep past a cap. Windows only move forward: a spend on a window older than
//! the newest one in the ledger is refused (reports are built in day order, and the last
//! reported day only increases, so this only happens after a clock went backwards). Windows
//! older than [`KEEP_DAYS`] are dropped; the summary states the year's total.

use serde::{Deserialize, Serialize};

use crate::privacy::budget::{epsilon_for_rho, Budget, MICRO};

/// The ledger states the budget spent over this many days ("over a year").
pub const YEAR_DAYS: u32 = 365;
/// Windows starting more than this many days before the newest are dropped.
pub const KEEP_DAYS: u32 = 400;

/// What one report costs, in millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// zCDP `ρ`.
    pub rho: u64,
    /// Pure `ε` (LDP reports); `None` when the report has no pure bound (threshold mode).
    pub pure: Option<u64>,
}

/// What a window has cost, in millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpend {
    /// First day of the window.
    pub window: u32,
    pub rho: u64,
    /// Sum of pure `ε`, `None` once a report without a pure bound was sent in the window.
    pub pure: Option<u64>,
}

impl WindowSpend {
    fn new(window: u32) -> Self {
        WindowSpend {
            window,
            rho: 0,
            pure: Some(0),
        }
    }

    fn plus(&self, spend: &Spend) -> WindowSpend {
        WindowSpend {
            window: self.window,
            rho: self.rho.saturating_add(spend.rho),
            pure: match (self.pure, spend.pure) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            },
        }
    }

    /// The window's `ε` at `delta`.
    pub fn epsilon(&self, delta: f64) -> f64 {
        epsilon_of(self.rho, self.pure, delta)
    }

    fn within(&self, budget: &Budget) -> bool {
        self.rho <= rho_cap(budget) || self.pure.is_some_and(|p| p <= epsilon_cap(budget))
    }
}

/// `ε` at `delta` of a `ρ` and an optional pure sum (millionths): the better bound.
fn epsilon_of(rho: u64, pure: Option<u64>, delta: f64) -> f64 {
    let zcdp = epsilon_for_rho(rho as f64 / MICRO, delta);
    pure.map_or(zcdp, |p| zcdp.min(p as f64 / MICRO))
}

fn rho_cap(budget: &Budget) -> u64 {
    (budget.rho() * MICRO).round() as u64
}

fn epsilon_cap(budget: &Budget) -> u64 {
    (budget.epsilon * MICRO).floor().max(0.0) as u64
}

/// Why a spend was refused. The ledger is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error("a report for the window of day {window} would spend epsilon {} of that window's {}: the budget is used up until the next window", crate::lean::number(*.spent), crate::lean::number(*.cap))]
    WindowCap { window: u32, spent: f64, cap: f64 },
    #[error("the window of day {window} is older than the window of day {newest}, which was already reported: too old to report")]
    TooOld { window: u32, newest: u32 },
}

/// The ledger: spends per window, sorted by window. A plain vector (about 14 entries) rather
/// than a map: this code ships in the browser module, where every generic map instantiation
/// costs wasm bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub(crate) windows: Vec<WindowSpend>,
}

/// The ledger as the privacy centre shows it (ε at δ, not millionths of ρ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerSummary {
    /// First day of the current window (UTC day number).
    pub window: u32,
    pub window_days: u32,
    /// ε spent in the current window (at `delta`).
    pub spent: f64,
    /// ε cap per window.
    pub cap: f64,
    pub delta: f64,
    /// ε over the windows that started in the last 365 days (composed in zCDP, or summed
    /// when every report was pure), at `delta`.
    pub spent_year: f64,
    /// Every recorded window: `[first day, ε spent]`, oldest first.
    pub windows: Vec<(u32, f64)>,
}

impl Ledger {
    /// What `window` has cost so far.
    pub fn of(&self, window: u32) -> WindowSpend {
        self.windows
            .iter()
            .find(|w| w.window == window)
            .copied()
            .unwrap_or(WindowSpend::new(window))
    }

    /// The newest window with a spend.
    pub fn newest(&self) -> Option<u32> {
        self.windows.last().map(|w| w.window)
    }

    /// Checks that `spend` fits `window`'s cap.
    pub fn can_spend(
        &self,
        spend: &Spend,
        window: u32,
        budget: &Budget,
    ) -> Result<(), LedgerError> {
        if let Some(newest) = self.newest().filter(|&n| n > window) {
            return Err(LedgerError::TooOld { window, newest });
        }
        let after = self.of(window).plus(spend);
        if !after.within(budget) {
            return Err(LedgerError::WindowCap {
                window,
                spent: after.epsilon(budget.delta),
                cap: budget.epsilon,
            });
        }
        Ok(())
    }

    /// Records a spend, or refuses it (leaving the ledger unchanged) when it would exceed the
    /// window's cap.
    pub fn spend(
        &mut self,
        spend: &Spend,
        window: u32,
        budget: &Budget,
    ) -> Result<(), LedgerError> {
        self.can_spend(spend, window, budget)?;
        let after = self.of(window).plus(spend);
        self.set(after);
        let keep_from = window.saturating_sub(KEEP_DAYS);
        self.windows.retain(|w| w.window >= keep_from);
        Ok(())
    }

    fn set(&mut self, spend: WindowSpend) {
        match self.windows.iter_mut().find(|w| w.window == spend.window) {
            Some(entry) => *entry = spend,
            None => {
                let at = self.windows.partition_point(|w| w.window < spend.window);
                self.windows.insert(at, spend);
            }
        }
    }

    /// Merges another ledger (another tab's, or a restored snapshot's), keeping the larger
    /// spend of each window, so restoring an old snapshot can never make budget reappear.
    pub fn merge_max(&mut self, other: &Ledger) {
        for theirs in &other.windows {
            let ours = self.of(theirs.window);
            self.set(WindowSpend {
                window: theirs.window,
                rho: ours.rho.max(theirs.rho),
                pure: match (ours.pure, theirs.pure) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                },
            });
        }
    }

    /// The ledger for display when the current window starts on `window`.
    pub fn summary(&self, window: u32, window_days: u32, budget: &Budget) -> LedgerSummary {
        let year_from = window.saturating_add(window_days).saturating_sub(YEAR_DAYS);
        let year: Vec<&WindowSpend> = self
            .windows
            .iter()
            .filter(|w| w.window >= year_from && w.window <= window)
            .collect();
        let rho = year.iter().map(|w| w.rho).sum();
        let pure = year
            .iter()
            .try_fold(0u64, |sum, w| w.pure.map(|p| sum.saturating_add(p)));
        LedgerSummary {
            window,
            window_days,
            spent: self.of(window).epsilon(budget.delta),
            cap: budget.epsilon,
            delta: budget.delta,
            spent_year: epsilon_of(rho, pure, budget.delta),
            windows: self
                .windows
                .iter()
                .map(|w| (w.window, w.epsilon(budget.delta)))
                .collect(),
        }
    }

    /// True when every window is within the cap.
    pub fn within(&self, budget: &Budget) -> bool {
        self.windows.iter().all(|w| w.within(budget))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget::default()
    }

    fn gaussian(fraction: f64) -> Spend {
        Spend {
            rho: (budget().rho() * MICRO * fraction).round() as u64,
            pure: None,
        }
    }

    #[test]
    fn the_window_cap_holds_and_the_next_window_starts_fresh() {
        let mut l = Ledger::default();
        l.spend(&gaussian(0.6), 30, &budget()).expect("fits");
        let err = l.spend(&gaussian(0.5), 30, &budget()).expect_err("over");
        assert!(err.to_string().contains("budget is used up"), "{err}");
        l.spend(&gaussian(0.4), 30, &budget())
            .expect("exactly full");
        assert!((l.of(30).epsilon(1e-6) - 4.0).abs() < 1e-4);
        l.spend(&gaussian(1.0), 60, &budget())
            .expect("a new window");
        assert!(l.within(&budget()));
    }

    #[test]
    fn a_clock_going_backwards_cannot_reopen_a_window() {
        let mut l = Ledger::default();
        l.spend(&gaussian(0.1), 60, &budget()).expect("fits");
        assert!(matches!(
            l.spend(&gaussian(0.1), 30, &budget()),
            Err(LedgerError::TooOld {
                window: 30,
                newest: 60
            })
        ));
    }

    #[test]
    fn integer_accounting_never_creeps_past_a_cap() {
        let mut l = Ledger::default();
        let tenth = Spend {
            rho: rho_cap(&budget()) / 10,
            pure: None,
        };
        let mut n = 0;
        while l.spend(&tenth, 5, &budget()).is_ok() {
            n += 1;
        }
        assert_eq!(n, 10);
        assert!(l.within(&budget()));
        // A tenth rounded up does not fit ten times.
        let mut m = Ledger::default();
        let over = Spend {
            rho: rho_cap(&budget()) / 10 + 1,
            pure: None,
        };
        let mut n = 0;
        while m.spend(&over, 5, &budget()).is_ok() {
            n += 1;
        }
        assert_eq!(n, 9);
    }

    #[test]
    fn ldp_reports_use_the_better_of_pure_and_zcdp_composition() {
        let ldp = Spend {
            rho: 500_000, // ε = 1 pure is 0.5-zCDP
            pure: Some(1_000_000),
        };
        let mut l = Ledger::default();
        for _ in 0..4 {
            l.spend(&ldp, 0, &budget())
                .expect("4 of ε = 1 fit ε = 4 (pure)");
        }
        assert!(l.spend(&ldp, 0, &budget()).is_err());
        assert!((l.of(0).epsilon(1e-6) - 4.0).abs() < 1e-12);
        // A Gaussian spend ends the pure bound of its window.
        let mut m = Ledger::default();
        m.spend(&ldp, 0, &budget()).expect("fits");
        assert!(
            m.spend(&gaussian(0.01), 0, &budget()).is_err(),
            "ρ 0.5 > 0.254"
        );
    }

    #[test]
    fn merge_keeps_the_larger_spend_and_summary_reports_the_year() {
        let mut a = Ledger::default();
        a.spend(&gaussian(0.5), 30, &budget()).expect("fits");
        let mut b = Ledger::default();
        b.spend(&gaussian(1.0), 30, &budget()).expect("fits");
        b.spend(&gaussian(1.0), 60, &budget()).expect("fits");
        a.merge_max(&b);
        let s = a.summary(60, 30, &budget());
        assert!((s.spent - 4.0).abs() < 1e-4);
        assert_eq!(s.windows.len(), 2);
        // Two full windows compose to 2ρ: ε ≈ 6.2 at δ = 1e-6, less than 4 + 4.
        let two = epsilon_for_rho(2.0 * budget().rho(), 1e-6);
        assert!((s.spent_year - two).abs() < 1e-4, "{}", s.spent_year);
        assert!(s.spent_year < 8.0);
        assert!(a.spend(&gaussian(0.1), 60, &budget()).is_err());
    }
}
