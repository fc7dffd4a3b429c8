//! Randomness for privacy: a small [`RandomSource`] trait, the operating system's
//! cryptographic generator ([`OsRandom`]) and the exact samplers the privacy mechanisms use
//! (uniform indices, Bernoulli trials, the discrete Laplace distribution).
//!
//! Privacy noise and randomized response must come from a cryptographic source: a predictable
//! generator would let the server subtract the noise. [`OsRandom`] reads `getrandom`. Tests and
//! the simulator inject a seeded source instead ([`SplitMix64`], which is *not* cryptographic
//! and must never be used for real reports).
//!
//! **WebAssembly.** kindred-core depends on `getrandom` 0.4 without any wasm feature. On
//! `wasm32-unknown-unknown` getrandom has no default backend, so the crate that builds the
//! browser module (the root package `kindred`) must enable getrandom's `wasm_js` feature
//! (`crypto.getRandomValues`) for `target_arch = "wasm32"`. Since getrandom 0.3.4 the feature
//! alone selects the backend: no `--cfg getrandom_backend` rustflag is needed.

/// The randomness source failed; nothing was produced, so nothing leaves the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed ({0}); no report was built")]
pub struct RandomError(pub String);

/// A source of uniformly random bytes. Samplers are provided methods, so every mechanism
/// draws through one object-safe trait (`&mut dyn RandomSource`: one copy of each sampler in
/// the wasm binary).
pub trait RandomSource {
    /// Fills `buf` with uniformly random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// A uniform 64-bit value.
    fn next_u64(&mut self) -> Result<u64, RandomError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Uniform in `[0, 1)` with 53 random bits (every value a multiple of 2^-53).
    fn unit(&mut self) -> Result<f64, RandomError> {
        Ok((self.next_u64()? >> 11) as f64 * (1.0 / (1u64 << 53) as f64))
    }

    /// Uniform in `0..n` without modulo bias (Lemire's multiply-and-reject); 0 when `n == 0`.
    fn below(&mut self, n: u64) -> Result<u64, RandomError> {
        if n == 0 {
            return Ok(0);
        }
        let reject_under = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()?) * u128::from(n);
            if (m as u64) >= reject_under {
                return Ok((m >> 64) as u64);
            }
        }
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    fn bernoulli(&mut self, p: f64) -> Result<bool, RandomError> {
        Ok(self.unit()? < p)
    }
}

/// The operating system's cryptographic generator (`getrandom`; `crypto.getRandomValues` in
/// the browser when the root crate enables getrandom's `wasm_js` feature).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, fast, seeded generator for tests, the
/// simulator and synthetic data. Reproducible, so *not* cryptographic: never for real reports
/// ([`OsRandom`]). One copy for every user (core's tests, kindred-synthetic, the server's
/// simulator and demo), which is why it lives here and not with the data generators.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Seeded and reproducible: for tests and the simulator only, never for real reports.
impl RandomSource for SplitMix64 {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RandomError> {
        for chunk in buf.chunks_mut(8) {
            let bytes = SplitMix64::next_u64(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }

    fn next_u64(&mut self) -> Result<u64, RandomError> {
        Ok(SplitMix64::next_u64(self))
    }
}

/// Picks `min(k, n)` distinct indices of `0..n` uniformly at random (partial Fisher–Yates),
/// returned in increasing order so callers keep a deterministic output order.
pub fn sample_indices(
    n: usize,
    k: usize,
    rng: &mut dyn RandomSource,
) -> Result<Vec<usize>, RandomError> {
    let mut idx: Vec<usize> = (0..n).collect();
    if k < n {
        for i in 0..k {
            let j = i + rng.below((n - i) as u64)? as usize;
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx.sort_unstable();
    }
    Ok(idx)
}

/// The discrete Laplace distribution (two-sided geometric) with `P(z) ∝ q^|z|`,
/// `q = exp(-epsilon / sensitivity)`: adding it to an integer count whose value one report can
/// change by at most `sensitivity` (L1) makes the count `epsilon`-differentially private.
///
/// Why discrete: the output is an integer, so there are no floating-point low-order bits
/// that reveal the true value (Mironov 2012's attack on textbook floating-point Laplace). The
/// sample is the difference of two geometric variables, each drawn by inversion from a uniform
/// with 53 random bits (`floor(ln U / ln q)`, `U` in (0, 1]); the only inexactness is the
/// rounding of the logarithms, far below the resolution that matters here. (Canonne, Kamath and
/// Steinke 2020 give a sampler exact in rational arithmetic; it needs big-integer code that
/// would not fit the wasm size budget.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteLaplace {
    q: f64,
    ln_q: f64,
}

impl DiscreteLaplace {
    /// Noise for a count with L1 `sensitivity` at privacy `epsilon` (both > 0, finite).
    pub fn new(epsilon: f64, sensitivity: f64) -> Self {
        let ln_q = -(epsilon / sensitivity.max(f64::MIN_POSITIVE));
        DiscreteLaplace {
            q: ln_q.exp(),
            ln_q,
        }
    }

    /// Variance `2q / (1 - q)^2` (the tests check the sampler against it and the tail).
    #[cfg(test)]
    pub fn variance(&self) -> f64 {
        2.0 * self.q / ((1.0 - self.q) * (1.0 - self.q))
    }

    /// `P(Z >= m)`: `q^m / (1 + q)` for `m >= 0`, `1 - q^(1-m) / (1 + q)` for `m < 0`.
    #[cfg(test)]
    pub fn tail(&self, m: i64) -> f64 {
        if m >= 0 {
            (self.ln_q * m as f64).exp() / (1.0 + self.q)
        } else {
            1.0 - (self.ln_q * (1 - m) as f64).exp() / (1.0 + self.q)
        }
    }

    pub fn sample(&self, rng: &mut dyn RandomSource) -> Result<i64, RandomError> {
        Ok(self.geometric(rng)? - self.geometric(rng)?)
    }

    /// `P(X = k) = (1 - q) q^k` for `k >= 0`.
    fn geometric(&self, rng: &mut dyn RandomSource) -> Result<i64, RandomError> {
        if self.q <= 0.0 {
            return Ok(0);
        }
        let u = 1.0 - rng.unit()?; // (0, 1]
        Ok((u.ln() / self.ln_q).floor() as i64)
    }
}

/// The discrete Gaussian distribution `N_Z(0, σ²)`: `P(z) ∝ exp(−z² / (2σ²))` on the integers.
/// Added to integer counts whose vector one shopper's window can change by at most `Δ` in L2
/// norm, it gives `Δ² / (2σ²)`-zCDP (Canonne, Kamath and Steinke 2020, "The Discrete Gaussian
/// for Differential Privacy"), the accounting [`sigma`](crate::aggregate::sigma) uses. Why Gaussian and not
/// Laplace: a window bounds each shopper to many keys (dozens of items and pairs) changed by
/// one each, so the L2 sensitivity `√L` is far below the L1 sensitivity `L` that Laplace must
/// be calibrated to.
///
/// Why discrete: the output is an integer, so no floating-point low-order bits reveal the true
/// count. Sampler: CKS20's Algorithm 3, rejection from the discrete Laplace of scale
/// `t = ⌊σ⌋ + 1`, accepting `Y` with probability `exp(−(|Y| − σ²/t)² / (2σ²))`; expected fewer
/// than 2 rounds. The acceptance test uses floating-point `exp`, like the discrete Laplace's
/// inversion (see `DiscreteLaplace`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscreteGaussian {
    sigma: f64,
    laplace: DiscreteLaplace,
}

impl DiscreteGaussian {
    /// Noise of standard-deviation parameter `sigma` (> 0, finite; 0 gives no noise).
    pub fn new(sigma: f64) -> Self {
        let sigma = if sigma.is_finite() {
            sigma.max(0.0)
        } else {
            0.0
        };
        let t = sigma.floor() + 1.0;
        DiscreteGaussian {
            sigma,
            laplace: DiscreteLaplace::new(1.0, t),
        }
    }

    /// The parameter σ (the standard deviation, up to a negligible difference for σ ≥ 1).
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// `(z, weight)` over the support that carries all but a negligible mass (|z| ≤ 14σ + 2:
    /// the rest weighs below e^-98).
    fn support(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        let reach = (14.0 * self.sigma).ceil() as i64 + 2;
        let two_var = 2.0 * self.sigma * self.sigma;
        (-reach..=reach).map(move |z| (z, (-((z * z) as f64) / two_var).exp()))
    }

    /// The exact variance (slightly below σ² for small σ).
    pub fn variance(&self) -> f64 {
        if self.sigma == 0.0 {
            return 0.0;
        }
        let (mut norm, mut second) = (0.0, 0.0);
        for (z, w) in self.support() {
            norm += w;
            second += w * (z * z) as f64;
        }
        second / norm
    }

    /// `P(Z >= m)`.
    pub fn tail(&self, m: i64) -> f64 {
        if self.sigma == 0.0 {
            return if m <= 0 { 1.0 } else { 0.0 };
        }
        let (mut norm, mut above) = (0.0, 0.0);
        for (z, w) in self.support() {
            norm += w;
            if z >= m {
                above += w;
            }
        }
        above / norm
    }

    pub fn sample(&self, rng: &mut dyn RandomSource) -> Result<i64, RandomError> {
        if self.sigma == 0.0 {
            return Ok(0);
        }
        let t = self.sigma.floor() + 1.0;
        let var = self.sigma * self.sigma;
        loop {
            let y = self.laplace.sample(rng)?;
            let d = (y.unsigned_abs() as f64) - var / t;
            if rng.bernoulli((-(d * d) / (2.0 * var)).exp())? {
                return Ok(y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let rng: &mut dyn RandomSource = &mut SplitMix64::new(1);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            let v = rng.below(7).expect("seeded") as usize;
            counts[v] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
        assert_eq!(rng.below(0).expect("seeded"), 0);
    }

    #[test]
    fn unit_is_in_half_open_interval() {
        let rng: &mut dyn RandomSource = &mut SplitMix64::new(2);
        for _ in 0..10_000 {
            let u = rng.unit().expect("seeded");
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn sample_indices_are_distinct_sorted_and_uniform() {
        let mut rng = SplitMix64::new(3);
        let mut hits = [0u32; 10];
        for _ in 0..20_000 {
            let s = sample_indices(10, 3, &mut rng).expect("seeded");
            assert_eq!(s.len(), 3);
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            s.iter().for_each(|&i| hits[i] += 1);
        }
        // Each index is chosen with probability 3/10: 6000 expected.
        for h in hits {
            assert!((5_700..6_300).contains(&h), "{hits:?}");
        }
        assert_eq!(sample_indices(2, 5, &mut rng).expect("seeded"), vec![0, 1]);
    }

    /// Draws `n` samples and checks that their mean is 0 and their variance `variance`.
    fn check_moments(
        what: &str,
        variance: f64,
        mut draw: impl FnMut(&mut SplitMix64) -> i64,
        seed: u64,
    ) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        let n = 200_000;
        let samples: Vec<f64> = (0..n).map(|_| draw(&mut rng) as f64).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let se = (variance / n as f64).sqrt();
        assert!(mean.abs() < 4.0 * se, "{what}: mean {mean}, se {se}");
        assert!(
            (var / variance - 1.0).abs() < 0.03,
            "{what}: var {var} vs {variance}"
        );
        samples
    }

    #[test]
    fn discrete_laplace_has_zero_mean_and_its_variance() {
        let noise = DiscreteLaplace::new(0.5, 4.0); // scale 8
        let n = 200_000;
        let samples = check_moments(
            "laplace",
            noise.variance(),
            |rng| noise.sample(rng).expect("seeded"),
            4,
        );
        // Tail: P(Z >= 8) = q^8 / (1 + q).
        let hits = samples.iter().filter(|&&x| x >= 8.0).count() as f64 / n as f64;
        assert!((hits - noise.tail(8)).abs() < 0.005, "{hits}");
    }

    #[test]
    fn discrete_gaussian_has_zero_mean_its_variance_and_its_tail() {
        for sigma in [0.7, 3.0, 15.9] {
            let noise = DiscreteGaussian::new(sigma);
            let n = 200_000;
            let samples = check_moments(
                &format!("gaussian {sigma}"),
                noise.variance(),
                |rng| noise.sample(rng).expect("seeded"),
                9,
            );
            // For σ of a few units and more the variance is σ² to many digits.
            if sigma > 2.0 {
                assert!((noise.variance() / (sigma * sigma) - 1.0).abs() < 1e-9);
            }
            let m = (1.5 * sigma).round() as i64;
            let hits = samples.iter().filter(|&&x| x >= m as f64).count() as f64 / n as f64;
            assert!(
                (hits - noise.tail(m)).abs() < 0.005,
                "sigma {sigma}: {hits}"
            );
        }
        assert_eq!(
            DiscreteGaussian::new(0.0).sample(&mut SplitMix64::new(1)),
            Ok(0)
        );
        assert_eq!(DiscreteGaussian::new(2.0).tail(-1000), 1.0);
    }

    #[test]
    fn os_random_produces_bytes() {
        let mut a = [0u8; 32];
        OsRandom.fill(&mut a).expect("the OS has a generator");
        assert_ne!(a, [0u8; 32]);
    }
}
