//! Local differential privacy: Optimized Local Hashing (OLH, Wang et al., "Locally
//! Differentially Private Protocols for Frequency Estimation", USENIX Security 2017) over
//! hashed keys, with Padding-and-Sampling for set-valued data (Wang et al., "Locally
//! Differentially Private Frequent Itemset Mining", IEEE S&P 2018).
//!
//! **On the device**, per key family with budget `ε_f`:
//! 1. Padding-and-Sampling: the family's key set `S` is padded with dummy keys to length `ℓ`
//!    (`set_size`) and one of the `ℓ` slots is drawn uniformly (when `|S| > ℓ`, one key of `S`
//!    is drawn uniformly). A dummy is a key outside every domain; its hash is a uniform bucket.
//! 2. OLH: a public hash function `H_s` is picked by a uniform seed `s` (`0..65536`), the key is
//!    hashed into `g = round(e^ε_f) + 1` buckets, and the bucket is kept with probability
//!    `p = e^ε_f / (e^ε_f + g − 1)`, otherwise replaced by one of the other `g − 1` buckets
//!    uniformly. The report carries `(s, y)`. Any two keys give output distributions whose
//!    ratio is at most `e^ε_f`: the family is `ε_f`-LDP, and the report, by sequential
//!    composition over its families, `Σ ε_f = ε`-LDP.
//!
//! **On the aggregator**, a candidate key `v` is supported by a report when `H_s(v) = y`. With
//! `n` reports and `C(v)` supporting ones, `ℓ · (C(v) − n/g) / (p − 1/g)` estimates the
//! number of reports whose set contained `v`, without bias as long as no set exceeded `ℓ`
//! (larger sets are sub-sampled, which under-counts their keys by `ℓ/|S|`).
//!
//! **Why a small seed space.** The server keeps counters, not reports: a counter per
//! `(family, seed, bucket)`. 65,536 seeds keep the table bounded (`65,536 · g` counters per
//! family and epoch) while the hash functions still behave as a random family: the
//! collision rate of two fixed keys over the seeds deviates from `1/g` by about
//! `sqrt(1/(g·65536))` ≈ 0.2 %, negligible next to the estimator's own noise.
//!
//! The hash is FNV-1a 64 of the key's UTF-8 bytes, mixed with the seed by the MurmurHash3
//! finalizer: explicit, so the browser, the server and the simulator agree bit for bit (std's
//! `HashMap` hasher is randomly keyed and not usable here).

use crate::privacy::noise::{RandomError, RandomSource};

/// Number of hash seeds (`s` is a `u16`).
pub const SEEDS: u32 = 65_536;

/// FNV-1a 64-bit hash of a key.
pub fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// `H_seed(key)` in `0..g` for a key already hashed with [`key_hash`].
pub fn bucket(key_hash: u64, seed: u16, g: u32) -> u32 {
    let seed_mix = fmix64(u64::from(seed).wrapping_add(0x9e37_79b9_7f4a_7c15));
    (fmix64(key_hash ^ seed_mix) % u64::from(g.max(1))) as u32
}

/// OLH parameters for one family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Olh {
    /// Budget of the family.
    pub epsilon: f64,
    /// Buckets: `round(e^ε) + 1`, at least 2.
    pub g: u32,
    /// Probability of keeping the true bucket.
    pub p: f64,
    /// Padding length `ℓ` of Padding-and-Sampling.
    pub set_size: u32,
}

impl Olh {
    /// Parameters for budget `epsilon` (> 0) and padding length `set_size` (>= 1).
    pub fn new(epsilon: f64, set_size: u32) -> Self {
        let e = epsilon.exp();
        let g = (e.round() as u32).saturating_add(1).clamp(2, 1 << 20);
        Olh {
            epsilon,
            g,
            p: e / (e + f64::from(g) - 1.0),
            set_size: set_size.max(1),
        }
    }

    /// Picks one key of `keys` by Padding-and-Sampling and randomizes it: `(seed, y)`.
    /// `keys` must not contain duplicates.
    pub fn encode(
        &self,
        keys: &[String],
        rng: &mut dyn RandomSource,
    ) -> Result<(u16, u32), RandomError> {
        let n = keys.len() as u64;
        let slots = n.max(u64::from(self.set_size));
        let slot = rng.below(slots)?;
        let seed = rng.below(u64::from(SEEDS))? as u16;
        let truth = match keys.get(slot as usize) {
            Some(key) => bucket(key_hash(key), seed, self.g),
            // A dummy key: outside every domain, so its hash is a uniform bucket.
            None => rng.below(u64::from(self.g))? as u32,
        };
        let y = if rng.bernoulli(self.p)? {
            truth
        } else {
            let shift = 1 + rng.below(u64::from(self.g) - 1)? as u32;
            (truth + shift) % self.g
        };
        Ok((seed, y))
    }

    /// Unbiased estimate of how many of `reports` reports held `v`, from the number
    /// `support` of them with `H_s(v) = y`.
    pub fn estimate(&self, support: f64, reports: f64) -> f64 {
        let q = 1.0 / f64::from(self.g);
        f64::from(self.set_size) * (support - reports * q) / (self.p - q)
    }

    /// Standard deviation of [`Olh::estimate`] for a key held by few reports.
    pub fn std_dev(&self, reports: f64) -> f64 {
        let q = 1.0 / f64::from(self.g);
        f64::from(self.set_size) * (reports * q * (1.0 - q)).sqrt() / (self.p - q)
    }
}

/// Support counts `C(v)` for every candidate from per-`(seed, bucket)` counters.
/// `counters` lists `(seed, y, count)`; the cost is `candidates × distinct seeds`.
pub fn support(candidates: &[String], counters: &[(u16, u32, u64)], g: u32) -> Vec<f64> {
    let hashes: Vec<u64> = candidates.iter().map(|c| key_hash(c)).collect();
    let mut out = vec![0.0; candidates.len()];
    // Group counters by seed so each (candidate, seed) is hashed once.
    let mut sorted: Vec<(u16, u32, u64)> = counters.to_vec();
    sorted.sort_unstable();
    let mut start = 0;
    while start < sorted.len() {
        let seed = sorted[start].0;
        let end = start + sorted[start..].partition_point(|c| c.0 == seed);
        let group = &sorted[start..end];
        for (h, o) in hashes.iter().zip(out.iter_mut()) {
            let b = bucket(*h, seed, g);
            if let Some(c) = group.iter().find(|c| c.1 == b) {
                *o += c.2 as f64;
            }
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::noise::SplitMix64;

    #[test]
    fn parameters_follow_the_paper() {
        let o = Olh::new(1.0, 1);
        assert_eq!(o.g, 4); // round(e) + 1
        assert!((o.p - 1f64.exp() / (1f64.exp() + 3.0)).abs() < 1e-12);
        assert_eq!(Olh::new(0.1, 1).g, 2);
        assert_eq!(Olh::new(0.5, 4).g, 3);
    }

    #[test]
    fn hash_is_stable_across_platforms() {
        // Golden values: a change here breaks every deployed client and server.
        assert_eq!(key_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_hash("a"), 0xaf63_dc4c_8601_ec8c);
        let buckets: Vec<u32> = (0..8).map(|s| bucket(key_hash("sku-1"), s, 4)).collect();
        assert_eq!(buckets, [1, 2, 1, 2, 2, 0, 2, 2]);
    }

    #[test]
    fn buckets_are_uniform_over_seeds_and_collide_at_rate_one_over_g() {
        let (a, b) = (key_hash("sku-1"), key_hash("sku-2"));
        let mut counts = [0u32; 4];
        let mut collisions = 0;
        for s in 0..=u16::MAX {
            counts[bucket(a, s, 4) as usize] += 1;
            collisions += u32::from(bucket(a, s, 4) == bucket(b, s, 4));
        }
        for c in counts {
            assert!((15_900..16_900).contains(&c), "{counts:?}");
        }
        assert!((15_900..16_900).contains(&collisions), "{collisions}");
    }

    #[test]
    fn output_distribution_is_epsilon_bounded() {
        // For a fixed seed, P(y | key) is p or (1-p)/(g-1): ratio e^ε exactly.
        let o = Olh::new(0.7, 1);
        let ratio = o.p / ((1.0 - o.p) / f64::from(o.g - 1));
        assert!((ratio.ln() - 0.7).abs() < 1e-12);
    }

    /// Statistical test: with a seeded source, the estimator is within a few standard errors
    /// of the truth for popular, rare and absent keys.
    #[test]
    fn estimator_is_unbiased() {
        let o = Olh::new(1.0, 2);
        let mut rng = SplitMix64::new(99);
        let n = 40_000usize;
        let mut counters: std::collections::HashMap<(u16, u32), u64> = Default::default();
        let mut truth: std::collections::HashMap<String, f64> = Default::default();
        for i in 0..n {
            // Sets of 1 or 2 keys (never above ℓ = 2): "a" in 50 %, "b" in 10 %, "c" never.
            let mut set = vec![format!("k{}", i % 50)];
            if i % 2 == 0 {
                set.push("a".into());
            } else if i % 10 == 1 {
                set.push("b".into());
            }
            for k in &set {
                *truth.entry(k.clone()).or_default() += 1.0;
            }
            let (s, y) = o.encode(&set, &mut rng).expect("seeded");
            *counters.entry((s, y)).or_default() += 1;
        }
        let rows: Vec<(u16, u32, u64)> =
            counters.into_iter().map(|((s, y), c)| (s, y, c)).collect();
        let candidates: Vec<String> = ["a", "b", "c", "k7"].map(String::from).to_vec();
        let sup = support(&candidates, &rows, o.g);
        let sd = o.std_dev(n as f64);
        for (c, s) in candidates.iter().zip(sup) {
            let est = o.estimate(s, n as f64);
            let t = truth.get(c).copied().unwrap_or(0.0);
            assert!(
                (est - t).abs() < 4.0 * sd,
                "{c}: estimate {est}, truth {t}, sd {sd}"
            );
        }
    }
}
