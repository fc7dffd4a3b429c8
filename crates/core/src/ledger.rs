//! The privacy budget ledger kept on the device: epsilon spent per epoch (UTC day), with a
//! cap per epoch and a cap over every window of 30 consecutive epochs. A report that would
//! exceed either cap is not sent.
//!
//! Accounting is exact: amounts are stored in integer micro-epsilon (spends rounded up, caps
//! rounded down), so no sequence of float additions can creep past a cap. Spends are charged
//! to the epoch the report *covers*. The 30-day cap holds for **every** window of 30
//! consecutive epochs, not only the one ending today, so a clock that jumps backwards (a
//! spend for an epoch older than earlier spends) is checked against the later spends too.
//! Spends more than 30 epochs older than the newest spend are refused, which lets the ledger
//! drop records older than 60 epochs without ever forgetting a window that still matters.

use serde::{Deserialize, Serialize};

/// Length of the rolling window in epochs (days).
pub const WINDOW_EPOCHS: u32 = 30;
const MICRO: f64 = 1e6;

/// Budget caps in epsilon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetCaps {
    pub per_epoch: f64,
    pub per_30_epochs: f64,
}

/// Why a spend was refused. The ledger is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error("epsilon {} is not a positive finite number", crate::compact::number(*.0))]
    BadEpsilon(f64),
    #[error("spending {} on day {epoch} would exceed the daily budget: {} of {} already spent", crate::compact::number(*.epsilon), crate::compact::number(*.spent), crate::compact::number(*.cap))]
    DailyCap {
        epoch: u32,
        epsilon: f64,
        spent: f64,
        cap: f64,
    },
    #[error("spending {} on day {epoch} would exceed the 30-day budget: {} of {} already spent in days {from} to {to}", crate::compact::number(*.epsilon), crate::compact::number(*.spent), crate::compact::number(*.cap))]
    WindowCap {
        epoch: u32,
        epsilon: f64,
        spent: f64,
        cap: f64,
        from: u32,
        to: u32,
    },
    #[error(
        "day {epoch} is more than 30 days before day {newest}, the newest spend: too old to report"
    )]
    TooOld { epoch: u32, newest: u32 },
}

/// The ledger: micro-epsilon spent per epoch, `(epoch, amount)` sorted by epoch. A plain
/// vector (at most 61 entries) rather than a map: this code ships in the browser module, where
/// every generic map instantiation costs wasm bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub(crate) spent: Vec<(u32, u64)>,
}

/// The ledger as the privacy centre shows it (epsilon, not micro-epsilon).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerSummary {
    /// The current epoch (UTC day number).
    pub epoch: u32,
    pub spent_today: f64,
    /// Spent in the 30 epochs ending today.
    pub spent_30_days: f64,
    pub cap_per_day: f64,
    pub cap_30_days: f64,
    /// Every recorded spend: `[epoch, epsilon]`, oldest first.
    pub days: Vec<(u32, f64)>,
}

fn micro_up(eps: f64) -> u64 {
    (eps * MICRO).ceil() as u64
}

fn micro_down(eps: f64) -> u64 {
    (eps * MICRO).floor().max(0.0) as u64
}

fn eps(micro: u64) -> f64 {
    micro as f64 / MICRO
}

impl Ledger {
    /// Epsilon spent on `epoch`.
    pub fn spent_on(&self, epoch: u32) -> f64 {
        eps(self.micro_on(epoch))
    }

    /// Epsilon spent in the 30 epochs ending at `epoch`.
    pub fn spent_window(&self, epoch: u32) -> f64 {
        eps(self.window_sum(epoch.saturating_sub(WINDOW_EPOCHS - 1), epoch))
    }

    fn window_sum(&self, from: u32, to: u32) -> u64 {
        self.spent
            .iter()
            .filter(|(e, _)| (from..=to).contains(e))
            .map(|(_, v)| v)
            .sum()
    }

    fn micro_on(&self, epoch: u32) -> u64 {
        self.spent
            .iter()
            .find(|(e, _)| *e == epoch)
            .map_or(0, |(_, v)| *v)
    }

    /// Sets the amount of an epoch, keeping the entries sorted.
    fn set(&mut self, epoch: u32, micro: u64) {
        match self.spent.iter_mut().find(|(e, _)| *e == epoch) {
            Some(entry) => entry.1 = micro,
            None => {
                let at = self.spent.partition_point(|(e, _)| *e < epoch);
                self.spent.insert(at, (epoch, micro));
            }
        }
    }

    /// The newest epoch with a spend.
    pub fn newest(&self) -> Option<u32> {
        self.spent.iter().map(|(e, _)| *e).max()
    }

    /// Checks that `epsilon` can be spent on `epoch` without exceeding a cap.
    pub fn can_spend(
        &self,
        epsilon: f64,
        epoch: u32,
        caps: &BudgetCaps,
    ) -> Result<(), LedgerError> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(LedgerError::BadEpsilon(epsilon));
        }
        if let Some(newest) = self.newest() {
            if epoch.saturating_add(WINDOW_EPOCHS) < newest {
                return Err(LedgerError::TooOld { epoch, newest });
            }
        }
        let x = micro_up(epsilon);
        let day = self.micro_on(epoch);
        if day.saturating_add(x) > micro_down(caps.per_epoch) {
            return Err(LedgerError::DailyCap {
                epoch,
                epsilon,
                spent: eps(day),
                cap: caps.per_epoch,
            });
        }
        let window_cap = micro_down(caps.per_30_epochs);
        for from in epoch.saturating_sub(WINDOW_EPOCHS - 1)..=epoch {
            let to = from.saturating_add(WINDOW_EPOCHS - 1);
            let sum = self.window_sum(from, to);
            if sum.saturating_add(x) > window_cap {
                return Err(LedgerError::WindowCap {
                    epoch,
                    epsilon,
                    spent: eps(sum),
                    cap: caps.per_30_epochs,
                    from,
                    to,
                });
            }
        }
        Ok(())
    }

    /// Records a spend, or refuses it (leaving the ledger unchanged) when it would exceed a cap.
    pub fn spend(
        &mut self,
        epsilon: f64,
        epoch: u32,
        caps: &BudgetCaps,
    ) -> Result<(), LedgerError> {
        self.can_spend(epsilon, epoch, caps)?;
        self.set(epoch, self.micro_on(epoch) + micro_up(epsilon));
        if let Some(newest) = self.newest() {
            let keep_from = newest.saturating_sub(2 * WINDOW_EPOCHS);
            self.spent.retain(|(e, _)| *e >= keep_from);
        }
        Ok(())
    }

    /// Merges another ledger (e.g. from a restored snapshot), keeping the larger spend of
    /// each epoch, so restoring an old snapshot can never make budget reappear.
    pub fn merge_max(&mut self, other: &Ledger) {
        for &(epoch, v) in &other.spent {
            self.set(epoch, self.micro_on(epoch).max(v));
        }
    }

    /// The ledger for display on `epoch`.
    pub fn summary(&self, epoch: u32, caps: &BudgetCaps) -> LedgerSummary {
        LedgerSummary {
            epoch,
            spent_today: self.spent_on(epoch),
            spent_30_days: self.spent_window(epoch),
            cap_per_day: caps.per_epoch,
            cap_30_days: caps.per_30_epochs,
            days: self.spent.iter().map(|&(e, v)| (e, eps(v))).collect(),
        }
    }

    /// True when every epoch and every 30-epoch window is within the caps.
    pub fn within(&self, caps: &BudgetCaps) -> bool {
        let day_cap = micro_down(caps.per_epoch);
        let window_cap = micro_down(caps.per_30_epochs);
        self.spent.iter().all(|&(_, v)| v <= day_cap)
            && self.spent.iter().all(|&(from, _)| {
                self.window_sum(from, from.saturating_add(WINDOW_EPOCHS - 1)) <= window_cap
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: BudgetCaps = BudgetCaps {
        per_epoch: 1.0,
        per_30_epochs: 3.0,
    };

    #[test]
    fn daily_and_window_caps_hold() {
        let mut l = Ledger::default();
        l.spend(1.0, 100, &CAPS).expect("fits");
        assert!(matches!(
            l.spend(0.1, 100, &CAPS),
            Err(LedgerError::DailyCap { .. })
        ));
        l.spend(1.0, 110, &CAPS).expect("fits");
        l.spend(1.0, 120, &CAPS).expect("fits");
        let err = l
            .spend(1.0, 129, &CAPS)
            .expect_err("window 100..=129 is full");
        assert!(err.to_string().contains("30-day budget"), "{err}");
        l.spend(1.0, 130, &CAPS).expect("day 100 left the window");
        assert!(l.within(&CAPS));
    }

    #[test]
    fn a_clock_going_backwards_cannot_overspend() {
        let mut l = Ledger::default();
        l.spend(1.0, 200, &CAPS).expect("fits");
        l.spend(1.0, 210, &CAPS).expect("fits");
        l.spend(1.0, 220, &CAPS).expect("fits");
        // 195 lies in the window 195..=224 with all three spends.
        assert!(l.spend(1.0, 195, &CAPS).is_err());
        assert!(matches!(
            l.spend(0.5, 150, &CAPS),
            Err(LedgerError::TooOld { .. })
        ));
        assert!(l.within(&CAPS));
    }

    #[test]
    fn float_accumulation_never_creeps_past_a_cap() {
        let mut l = Ledger::default();
        let mut n = 0;
        while l.spend(0.1, 5, &CAPS).is_ok() {
            n += 1;
        }
        assert_eq!(n, 10);
        assert!(l.spent_on(5) <= 1.0);
    }

    #[test]
    fn merge_keeps_the_larger_spend_and_summary_reports() {
        let mut a = Ledger::default();
        a.spend(0.5, 10, &CAPS).expect("fits");
        let mut b = Ledger::default();
        b.spend(1.0, 10, &CAPS).expect("fits");
        b.spend(1.0, 11, &CAPS).expect("fits");
        a.merge_max(&b);
        let s = a.summary(11, &CAPS);
        assert_eq!(s.spent_today, 1.0);
        assert_eq!(s.spent_30_days, 2.0);
        assert_eq!(s.days, vec![(10, 1.0), (11, 1.0)]);
        assert!(a.spend(1.0, 12, &CAPS).is_ok());
        assert!(a.spend(1.0, 13, &CAPS).is_err());
    }
}
