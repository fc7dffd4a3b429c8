//! Ranking: the best `k` candidates by score, and maximal marginal relevance for diversity.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate during ranking: item index and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub item: u32,
    pub score: f32,
}

impl Eq for Scored {}

impl Ord for Scored {
    /// Higher score first; ties broken by lower index so results are deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.item.cmp(&self.item))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `capacity` best candidates seen, cheaply rejecting those below the current worst.
#[derive(Debug)]
pub struct TopK {
    capacity: usize,
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    pub fn new(capacity: usize) -> Self {
        TopK {
            capacity,
            heap: BinaryHeap::with_capacity(capacity + 1),
        }
    }

    /// Whether a candidate with this score could enter (check before expensive rules).
    pub fn would_accept(&self, candidate: Scored) -> bool {
        self.heap.len() < self.capacity || self.heap.peek().is_some_and(|w| candidate > w.0)
    }

    pub fn push(&mut self, candidate: Scored) {
        if self.capacity == 0 || !candidate.score.is_finite() {
            return;
        }
        if self.heap.len() < self.capacity {
            self.heap.push(std::cmp::Reverse(candidate));
        } else if self.would_accept(candidate) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(candidate));
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        // Unstable is deterministic here: `Scored` orders totally (ties broken by index).
        crate::lean::sort_by(&mut v, |a, b| a > b);
        v
    }
}

/// Maximal marginal relevance: greedily picks the candidate maximizing
/// `(1 - lambda) * relevance - lambda * max_similarity_to_picked`, relevance scaled to [0, 1].
/// The returned scores are that objective, which never increases along the list.
pub fn mmr(
    pool: &[Scored],
    k: usize,
    lambda: f32,
    similarity: impl Fn(u32, u32) -> f32,
) -> Vec<Scored> {
    let max = pool.iter().map(|c| c.score).fold(f32::MIN, f32::max);
    let min = pool.iter().map(|c| c.score).fold(f32::MAX, f32::min);
    let span = if max > min { max - min } else { 1.0 };
    let rel: Vec<f32> = pool
        .iter()
        .map(|c| {
            if max > min {
                (c.score - min) / span
            } else {
                1.0
            }
        })
        .collect();
    let mut max_sim = vec![0.0f32; pool.len()];
    let mut taken = vec![false; pool.len()];
    let mut picked = Vec::with_capacity(k.min(pool.len()));
    while picked.len() < k {
        let best = (0..pool.len())
            .filter(|&i| !taken[i])
            .map(|i| (i, (1.0 - lambda) * rel[i] - lambda * max_sim[i]))
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        let Some((i, objective)) = best else { break };
        taken[i] = true;
        picked.push(Scored {
            item: pool[i].item,
            score: objective,
        });
        for j in 0..pool.len() {
            if !taken[j] {
                let s = similarity(pool[i].item, pool[j].item);
                if s.is_finite() && s > max_sim[j] {
                    max_sim[j] = s;
                }
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_best_sorted() {
        let mut top = TopK::new(3);
        for (i, s) in [0.5, 0.9, 0.1, 0.7, 0.9, f32::NAN].iter().enumerate() {
            top.push(Scored {
                item: i as u32,
                score: *s,
            });
        }
        let items: Vec<u32> = top.into_sorted().iter().map(|c| c.item).collect();
        assert_eq!(items, vec![1, 4, 3]);
    }

    #[test]
    fn mmr_spreads_similar_items_apart() {
        let pool = [
            Scored {
                item: 0,
                score: 1.0,
            },
            Scored {
                item: 1,
                score: 0.99,
            },
            Scored {
                item: 2,
                score: 0.5,
            },
        ];
        // 0 and 1 are near duplicates.
        let sim = |a: u32, b: u32| {
            if a.min(b) == 0 && a.max(b) == 1 {
                0.95
            } else {
                0.0
            }
        };
        let picked: Vec<u32> = mmr(&pool, 3, 0.7, sim).iter().map(|c| c.item).collect();
        assert_eq!(picked, vec![0, 2, 1]);
        let plain: Vec<u32> = mmr(&pool, 3, 0.0, sim).iter().map(|c| c.item).collect();
        assert_eq!(plain, vec![0, 1, 2]);
    }
}
