//! Contribution windows on the device: over one window (30 UTC days by default, aligned to day
//! 0 so every server counts the same windows) a shopper contributes each key at most once and
//! at most the window's caps in total, however many daily reports the window holds.
//!
//! Why windows: a k-threshold counts distinct shoppers per key, and a small shop (tens of
//! shoppers a day) almost never has k shoppers touching the same item on the same day; over
//! 30 days it often does. And noise calibrated to what one shopper can change in a whole window
//! is spent once per window rather than once per day.
//!
//! Daily reports still carry the previous day's new keys, so what a shopper did is counted even
//! if they never come back after the window ends; a report only ever holds keys the window has
//! not received from this shopper yet. Everything here is plain data in, plain data out: the
//! device ([`crate::privacy::device`]) gathers a window's activity from the history and persists the
//! [`WindowState`].

use serde::Serialize;

use crate::lean::SortedSet;
use crate::privacy::noise::{sample_indices, RandomError, RandomSource};
use crate::privacy::report::{key_problem, Caps, StrategyCounts};
use crate::shopper::history::clamp_time;
use crate::strategy::Strategy;

/// Items of a window used to form pairs across its sessions; larger windows are sub-sampled
/// first (bought and carted items before viewed ones), bounding that work at 8,128 pairs.
pub const MAX_PAIR_ITEMS: usize = 128;
/// Items of one session used to form its pairs (sub-sampled the same way beyond it).
pub const MAX_SESSION_ITEMS: usize = 64;

use crate::DAY_MS;

/// The day (UTC day number, days since 1970-01-01) of a time in ms since 1970.
pub fn epoch_of(ms: i64) -> u32 {
    (clamp_time(ms) / DAY_MS) as u32
}

/// The first day of the window holding `day`.
pub fn window_of(day: u32, days: u32) -> u32 {
    day - day % days.max(1)
}

/// What the shopper has contributed to one window so far (persisted with the shopper's state,
/// shown in the privacy centre, exported, and forgotten by `forget()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowState {
    /// First day of the window (UTC day number).
    pub window: u32,
    pub days: u32,
    pub items: SortedSet<String>,
    /// `(a, b)` with `a < b`.
    pub pairs: SortedSet<(String, String)>,
    pub interests: SortedSet<String>,
    /// Strategies reported as shown (`impressions: 1`). Like any key, a strategy is reported
    /// shown at most once per window however many lists of it were shown, so the server
    /// counts shoppers, and one shopper moves a strategy's count by at most 1.
    pub shown: SortedSet<String>,
    /// Strategies reported as clicked (`clicks: 1`), at most once per window each.
    pub clicked: SortedSet<String>,
    /// No more contributions to this window: set by `forget()`, which deletes the sets above
    /// (a key contributed before forgetting must not be contributed a second time).
    pub closed: bool,
}

impl WindowState {
    pub fn new(window: u32, days: u32) -> Self {
        WindowState {
            window,
            days,
            ..WindowState::default()
        }
    }

    /// What the window's caps are used by.
    pub fn used(&self) -> Caps {
        Caps {
            items: self.items.len() as u32,
            pairs: self.pairs.len() as u32,
            interests: self.interests.len() as u32,
            impressions: self.shown.len() as u32,
            clicks: self.clicked.len() as u32,
        }
    }

    /// Records a committed report's contribution.
    pub fn add(&mut self, c: &Contribution) {
        self.items.extend(c.items.iter().cloned());
        self.pairs.extend(c.pairs.iter().cloned());
        self.interests.extend(c.interests.iter().cloned());
        for (name, n) in &c.strategies {
            if n.impressions > 0 {
                self.shown.insert(name.clone());
            }
            if n.clicks > 0 {
                self.clicked.insert(name.clone());
            }
        }
    }

    /// Merges another copy (another tab's, a restored snapshot's): the newer window wins; for
    /// the same window, what either copy contributed counts as contributed.
    pub fn merge(&mut self, other: &WindowState) {
        if other.window > self.window {
            *self = other.clone();
        } else if other.window == self.window {
            self.items.extend(other.items.iter().cloned());
            self.pairs.extend(other.pairs.iter().cloned());
            self.interests.extend(other.interests.iter().cloned());
            self.shown.extend(other.shown.iter().cloned());
            self.clicked.extend(other.clicked.iter().cloned());
            self.closed |= other.closed;
            if self.closed {
                self.forget_keys();
            }
        }
    }

    /// Closes the window and deletes what it holds (after `forget()`).
    pub fn close(&mut self) {
        self.closed = true;
        self.forget_keys();
    }

    fn forget_keys(&mut self) {
        self.items = SortedSet::new();
        self.pairs = SortedSet::new();
        self.interests = SortedSet::new();
        self.shown = SortedSet::new();
        self.clicked = SortedSet::new();
    }
}

/// What the shopper did in a window up to the day being reported, gathered from the history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowActivity {
    /// Items touched in the window (each once), with `true` when bought or put in the cart:
    /// purchases count above views when a cap forces a choice.
    pub items: Vec<(String, bool)>,
    /// The window's sessions: indices into `items`, each once per session, with `true` when
    /// the item was bought or carted in that session (its basket).
    pub sessions: Vec<Vec<(usize, bool)>>,
    /// Interest keys of those items, except interests the shopper removed.
    pub interests: Vec<String>,
    /// The reported day's recommendation counters, by strategy name (only whether each is
    /// non-zero is reported).
    pub strategies: Vec<(String, StrategyCounts)>,
}

/// The keys one report adds to its window: nothing the window already holds, nothing beyond
/// its caps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    pub items: SortedSet<String>,
    /// `(a, b)` with `a < b`.
    pub pairs: SortedSet<(String, String)>,
    pub interests: SortedSet<String>,
    /// Per strategy name, sorted by name: `impressions` 1 when the window learns now that the
    /// shopper was shown it, `clicks` 1 when it learns they clicked one of its
    /// recommendations; 0 otherwise (a strategy with both 0 is left out).
    pub strategies: Vec<(String, StrategyCounts)>,
}

impl Contribution {
    /// True when there is nothing to report (then no report is built and nothing is spent).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
            && self.pairs.is_empty()
            && self.interests.is_empty()
            && self
                .strategies
                .iter()
                .all(|(_, c)| c.impressions == 0 && c.clicks == 0)
    }
}

/// The next report's keys: of the window's activity, what `state` does not hold yet, sampled
/// uniformly (with `rng`, a cryptographic source on real devices) to what is left of `caps`.
/// Bought and carted items are taken before viewed ones. Pairs come from the window's baskets
/// and sessions of every day so far: two items bought together first, then two items of one
/// session, then, while room is left, any two items of the window (which items one shopper
/// wanted within a month, what an item model learns from). Keys a report cannot carry (see
/// [`key_problem`]) and unknown strategy names are left out, so every report built from the
/// result is valid. Strategies are keys too: one the day's counters show as shown (clicked)
/// and the window does not hold as shown (clicked) yet is reported once with a 1, sampled
/// uniformly when more are new than `caps.impressions` (`caps.clicks`) leaves room for.
pub fn next_contribution(
    activity: &WindowActivity,
    state: &WindowState,
    caps: &Caps,
    rng: &mut dyn RandomSource,
) -> Result<Contribution, RandomError> {
    let mut out = Contribution::default();
    if state.closed {
        return Ok(out);
    }
    let left = |cap: u32, used: usize| (cap as usize).saturating_sub(used);
    let valid: Vec<&(String, bool)> = activity
        .items
        .iter()
        .filter(|(id, _)| key_problem(id).is_none())
        .collect();

    let (mut strong, mut weak): (Vec<&String>, Vec<&String>) = (Vec::new(), Vec::new());
    for (id, bought) in valid.iter().copied() {
        if !state.items.contains(id) {
            if *bought {
                strong.push(id);
            } else {
                weak.push(id);
            }
        }
    }
    let room = left(caps.items, state.items.len());
    out.items = sample_tiered(strong, weak, room, rng)?
        .into_iter()
        .cloned()
        .collect();

    let room = left(caps.pairs, state.pairs.len());
    if room > 0 && activity.items.len() > 1 {
        let candidates = pair_candidates(activity, rng)?;
        let mut tiers: [Vec<(&String, &String)>; 3] = Default::default();
        for (i, j, tier) in candidates {
            let (a, b) = (&activity.items[i as usize].0, &activity.items[j as usize].0);
            let pair = if a < b { (a, b) } else { (b, a) };
            if !state.pairs.contains(&(pair.0.clone(), pair.1.clone())) {
                tiers[tier as usize].push(pair);
            }
        }
        let [basket, session, window] = tiers;
        let mut picked = pick(basket, room, rng)?;
        picked.extend(sample_tiered(session, window, room - picked.len(), rng)?);
        out.pairs = picked
            .into_iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
    }

    let fresh: Vec<&String> = activity
        .interests
        .iter()
        .filter(|k| key_problem(k).is_none() && !state.interests.contains(*k))
        .collect::<SortedSet<&String>>()
        .iter()
        .copied()
        .collect();
    let room = left(caps.interests, state.interests.len());
    out.interests = sample_tiered(fresh, Vec::new(), room, rng)?
        .into_iter()
        .cloned()
        .collect();

    let mut strategies: Vec<(&String, StrategyCounts)> = activity
        .strategies
        .iter()
        .filter(|(k, _)| Strategy::from_name(k).is_some())
        .map(|(k, c)| (k, *c))
        .collect();
    // The wire format wants each name once, in order.
    crate::lean::sort_by(&mut strategies, |a, b| a.0 < b.0);
    strategies.dedup_by(|later, first| {
        let same = later.0 == first.0;
        if same {
            first.1.impressions |= later.1.impressions;
            first.1.clicks |= later.1.clicks;
        }
        same
    });
    let fresh = |held: &SortedSet<String>, count: fn(&StrategyCounts) -> u32| -> Vec<&String> {
        strategies
            .iter()
            .filter(|(k, c)| count(c) > 0 && !held.contains(*k))
            .map(|(k, _)| *k)
            .collect()
    };
    let shown = pick(
        fresh(&state.shown, |c| c.impressions),
        left(caps.impressions, state.shown.len()),
        rng,
    )?;
    let clicked = pick(
        fresh(&state.clicked, |c| c.clicks),
        left(caps.clicks, state.clicked.len()),
        rng,
    )?;
    out.strategies = strategies
        .iter()
        .map(|(k, _)| {
            (
                (*k).clone(),
                StrategyCounts {
                    impressions: u32::from(shown.contains(k)),
                    clicks: u32::from(clicked.contains(k)),
                },
            )
        })
        .filter(|(_, c)| c.impressions > 0 || c.clicks > 0)
        .collect();
    Ok(out)
}

/// Candidate pairs of a window as `(i, j, tier)` with `i < j` indices into `activity.items`,
/// each pair once with its best tier: 0 when both items were bought or carted in one session
/// (a basket), 1 when they were touched in one session, 2 when both were touched in the window.
/// Keys a report cannot carry are left out.
fn pair_candidates(
    activity: &WindowActivity,
    rng: &mut dyn RandomSource,
) -> Result<Vec<(u32, u32, u8)>, RandomError> {
    let valid = |i: usize| {
        activity
            .items
            .get(i)
            .is_some_and(|(id, _)| key_problem(id).is_none())
    };
    let mut out: Vec<(u32, u32, u8)> = Vec::new();
    let mut add = |members: &[(usize, bool)], window_level: bool| {
        for (x, &(i, si)) in members.iter().enumerate() {
            for &(j, sj) in &members[x + 1..] {
                if i == j {
                    continue;
                }
                let tier = if window_level {
                    2
                } else if si && sj {
                    0
                } else {
                    1
                };
                out.push((i.min(j) as u32, i.max(j) as u32, tier));
            }
        }
    };
    let subsample = |members: Vec<(usize, bool)>, max: usize, rng: &mut dyn RandomSource| {
        let (s, w): (Vec<_>, Vec<_>) = members.into_iter().partition(|m| m.1);
        sample_tiered(s, w, max, rng)
    };
    for session in &activity.sessions {
        let members: Vec<(usize, bool)> = session.iter().copied().filter(|m| valid(m.0)).collect();
        add(&subsample(members, MAX_SESSION_ITEMS, rng)?, false);
    }
    let all: Vec<(usize, bool)> = (0..activity.items.len())
        .filter(|&i| valid(i))
        .map(|i| (i, activity.items[i].1))
        .collect();
    add(&subsample(all, MAX_PAIR_ITEMS, rng)?, true);
    // Each pair once, with its lowest (best) tier.
    crate::lean::sort_by(&mut out, |a, b| a < b);
    out.dedup_by(|later, first| (later.0, later.1) == (first.0, first.1));
    Ok(out)
}

/// A uniform sample of at most `room` elements, taking every element of `first` before any of
/// `then` (uniformly within each). Order of the result: `first`'s picks, then `then`'s.
fn sample_tiered<T>(
    first: Vec<T>,
    then: Vec<T>,
    room: usize,
    rng: &mut dyn RandomSource,
) -> Result<Vec<T>, RandomError> {
    let mut out = pick(first, room, rng)?;
    let rest = room - out.len();
    out.extend(pick(then, rest, rng)?);
    Ok(out)
}

fn pick<T>(mut all: Vec<T>, k: usize, rng: &mut dyn RandomSource) -> Result<Vec<T>, RandomError> {
    if all.len() <= k {
        return Ok(all);
    }
    let chosen = sample_indices(all.len(), k, rng)?;
    // Indices come sorted: take them from the back so earlier indices stay valid.
    let mut out: Vec<T> = chosen.iter().rev().map(|&i| all.swap_remove(i)).collect();
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::noise::SplitMix64;

    /// One session holding every item.
    fn activity(items: &[(&str, bool)]) -> WindowActivity {
        WindowActivity {
            items: items.iter().map(|(i, s)| (i.to_string(), *s)).collect(),
            sessions: vec![items
                .iter()
                .enumerate()
                .map(|(i, (_, s))| (i, *s))
                .collect()],
            interests: vec!["brand:Acme".into(), "brand:Acme".into()],
            strategies: vec![(
                "for-you".into(),
                StrategyCounts {
                    impressions: 5,
                    clicks: 1,
                },
            )],
        }
    }

    #[test]
    fn windows_are_aligned_to_day_zero() {
        assert_eq!(window_of(20_600, 30), 20_580);
        assert_eq!(window_of(20_580, 30), 20_580);
        assert_eq!(window_of(20_579, 30), 20_550);
        assert_eq!(window_of(7, 1), 7);
    }

    #[test]
    fn a_key_is_contributed_once_and_caps_hold_across_reports() {
        let caps = Caps {
            items: 3,
            pairs: 2,
            interests: 8,
            ..Caps::default()
        };
        let mut rng = SplitMix64::new(1);
        let mut state = WindowState::new(0, 30);
        let day1 = activity(&[("a", false), ("b", false)]);
        let c = next_contribution(&day1, &state, &caps, &mut rng).expect("seeded");
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.pairs.len(), 1);
        assert_eq!(c.interests.len(), 1, "duplicates count once");
        state.add(&c);
        // The same activity again: nothing new, the strategy's counters included.
        let again = next_contribution(&day1, &state, &caps, &mut rng).expect("seeded");
        assert!(again.is_empty(), "{again:?}");
        // More items than the cap leaves room for: bought ones first.
        let day2 = activity(&[("a", false), ("b", false), ("c", false), ("d", true)]);
        let c = next_contribution(&day2, &state, &caps, &mut rng).expect("seeded");
        assert_eq!(c.items.as_slice(), ["d".to_owned()]);
        assert_eq!(c.pairs.len(), 1, "one pair of room left");
        assert!(c.strategies.is_empty());
        state.add(&c);
        assert_eq!(state.used().items, 3);
        assert_eq!(state.used().pairs, 2);
    }

    fn day_counters(impressions: u32, clicks: u32) -> WindowActivity {
        WindowActivity {
            strategies: vec![(
                "for-you".into(),
                StrategyCounts {
                    impressions,
                    clicks,
                },
            )],
            ..WindowActivity::default()
        }
    }

    /// Shown for-you on five days of a window (3, 1, 7, 2 and 4 lists) with clicks on three of
    /// them: the window gets `impressions 1` on the first day and `clicks 1` on the first day
    /// with a click, nothing more; the next window counts the shopper again.
    #[test]
    fn a_strategy_is_reported_shown_and_clicked_once_per_window() {
        let caps = Caps::default();
        let mut rng = SplitMix64::new(6);
        let mut state = WindowState::new(0, 30);
        let days = [(3, 0), (1, 2), (7, 0), (2, 1), (4, 5)];
        let mut reported = Vec::new();
        for (impressions, clicks) in days {
            let c = next_contribution(&day_counters(impressions, clicks), &state, &caps, &mut rng)
                .expect("seeded");
            state.add(&c);
            reported.extend(c.strategies);
        }
        let one = |impressions, clicks| StrategyCounts {
            impressions,
            clicks,
        };
        assert_eq!(
            reported,
            vec![
                ("for-you".to_owned(), one(1, 0)),
                ("for-you".to_owned(), one(0, 1)),
            ]
        );
        assert_eq!(state.shown.as_slice(), ["for-you".to_owned()]);
        assert_eq!(state.clicked.as_slice(), ["for-you".to_owned()]);
        assert_eq!((state.used().impressions, state.used().clicks), (1, 1));
        let next = WindowState::new(30, 30);
        let c = next_contribution(&day_counters(2, 1), &next, &caps, &mut rng).expect("seeded");
        assert_eq!(c.strategies, vec![("for-you".to_owned(), one(1, 1))]);
    }

    #[test]
    fn strategy_caps_bound_how_many_strategies_are_reported() {
        let caps = Caps {
            impressions: 2,
            clicks: 1,
            ..Caps::default()
        };
        let names = ["for-you", "similar", "trending", "buy-again", "nonsense"];
        let all = WindowActivity {
            strategies: names
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        StrategyCounts {
                            impressions: 2,
                            clicks: 1,
                        },
                    )
                })
                .collect(),
            ..WindowActivity::default()
        };
        let mut rng = SplitMix64::new(8);
        let mut picked_first = [0u32; 4];
        for _ in 0..4_000 {
            let mut state = WindowState::new(0, 30);
            let c = next_contribution(&all, &state, &caps, &mut rng).expect("seeded");
            state.add(&c);
            assert_eq!((state.shown.len(), state.clicked.len()), (2, 1), "{c:?}");
            assert!(c.strategies.iter().all(|(n, _)| n != "nonsense"));
            for n in &state.shown {
                picked_first[names.iter().position(|x| x == n).expect("known")] += 1;
            }
            // The caps are used: later days add nothing.
            let later = next_contribution(&all, &state, &caps, &mut rng).expect("seeded");
            assert!(later.is_empty(), "{later:?}");
        }
        // Each of the 4 known strategies is reported shown with probability 2/4: 2,000.
        for n in picked_first {
            assert!((1_850..2_150).contains(&n), "{picked_first:?}");
        }
    }

    #[test]
    fn bought_pairs_come_before_viewed_ones() {
        let caps = Caps {
            pairs: 1,
            ..Caps::default()
        };
        let mut rng = SplitMix64::new(2);
        for _ in 0..50 {
            let a = activity(&[("a", true), ("b", false), ("c", true), ("d", false)]);
            let c =
                next_contribution(&a, &WindowState::new(0, 30), &caps, &mut rng).expect("seeded");
            assert_eq!(c.pairs.as_slice(), [("a".to_owned(), "c".to_owned())]);
        }
    }

    #[test]
    fn session_pairs_come_before_window_pairs() {
        let caps = Caps {
            pairs: 2,
            ..Caps::default()
        };
        let mut rng = SplitMix64::new(5);
        // Two sessions: {a, b} (a bought, b viewed) and {c, d}; a and c are both bought.
        let a = WindowActivity {
            items: ["a", "b", "c", "d"]
                .iter()
                .map(|i| (i.to_string(), *i == "a" || *i == "c"))
                .collect(),
            sessions: vec![vec![(0, true), (1, false)], vec![(2, true), (3, false)]],
            ..WindowActivity::default()
        };
        for _ in 0..20 {
            let c =
                next_contribution(&a, &WindowState::new(0, 30), &caps, &mut rng).expect("seeded");
            assert_eq!(
                c.pairs.as_slice(),
                [
                    ("a".to_owned(), "b".to_owned()),
                    ("c".to_owned(), "d".to_owned())
                ]
            );
        }
        // With more room, pairs across sessions follow (a-c, a-d, b-c, b-d).
        let roomy = Caps {
            pairs: 10,
            ..Caps::default()
        };
        let c = next_contribution(&a, &WindowState::new(0, 30), &roomy, &mut rng).expect("seeded");
        assert_eq!(c.pairs.len(), 6);
    }

    #[test]
    fn a_closed_window_takes_nothing_and_merging_unions() {
        let mut rng = SplitMix64::new(3);
        let mut closed = WindowState::new(30, 30);
        closed.close();
        let c = next_contribution(
            &activity(&[("a", true)]),
            &closed,
            &Caps::default(),
            &mut rng,
        )
        .expect("seeded");
        assert!(c.is_empty());
        let mut a = WindowState::new(30, 30);
        a.items.insert("x".into());
        let mut b = WindowState::new(30, 30);
        b.items.insert("y".into());
        b.shown.insert("trending".into());
        a.shown.insert("for-you".into());
        a.merge(&b);
        assert_eq!(a.items.len(), 2);
        assert_eq!(a.used().impressions, 2);
        a.merge(&closed);
        assert!(a.closed && a.items.is_empty() && a.shown.is_empty());
        let newer = WindowState::new(60, 30);
        a.merge(&newer);
        assert_eq!(a, newer);
    }

    #[test]
    fn sampling_is_uniform_within_a_tier() {
        let mut rng = SplitMix64::new(4);
        let mut hits = [0u32; 6];
        let ids = ["a", "b", "c", "d", "e", "f"];
        let caps = Caps {
            items: 2,
            ..Caps::default()
        };
        for _ in 0..12_000 {
            let a = activity(&ids.map(|i| (i, false)));
            let c =
                next_contribution(&a, &WindowState::new(0, 30), &caps, &mut rng).expect("seeded");
            for id in &c.items {
                hits[ids.iter().position(|i| i == id).expect("known")] += 1;
            }
        }
        // Each item is picked with probability 2/6: 4,000 expected.
        for h in hits {
            assert!((3_700..4_300).contains(&h), "{hits:?}");
        }
    }
}
