//! The learned item model: EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse
//! Data", WWW 2019), fitted to the released item and pair counts.
//!
//! Why a learned model next to co-occurrence: co-occurrence scores every pair on its own, so
//! an item that is bought with everything crowds every list, and two items that are only
//! bought together because both go with a third look related. EASE fits all item-item weights
//! at once (a ridge regression of every item on all the others), which explains such pairs
//! away. It needs nothing but the Gram matrix `G = XᵀX` of the shopper-window × item matrix
//! `X`, and that is exactly what the server releases: [`fit_ease`]'s `items` are its diagonal,
//! `pairs` its off-diagonal. No per-shopper data is involved.
//!
//! The closed form: `P = (G + λI)⁻¹`, `B = I − P·diag(1/diag(P))`, so `B_ii = 0` and
//! `B_ij = −P_ij / P_jj`. Row `i` of `B` says how much having item `i` predicts item `j`; a
//! device scores `s_j = Σ_i x_i B_ij` over its own history. Only each row's largest positive
//! weights are kept ([`EaseConfig::top_n`]), computed straight from `P`: `B` is never stored.
//!
//! λ is scale-aware: `λ = lambda_fixed + lambda_relative · mean(diag G)`. The relative part
//! keeps the model the same when traffic, decay or the retention window scale every count
//! (EASE's `B` is unchanged when `G` and `λ` scale together); the fixed part is a floor against
//! the release noise, whose size does not grow with traffic.
//!
//! Cost: dense `n × n` in f64 for `n` fitted items ([`EaseConfig::max_items`]), two such
//! matrices at the peak (16·n² bytes, 1.6 GB at 10,000 items), about `n³` flops (Cholesky,
//! triangular inverse, `L⁻ᵀL⁻¹`, a third each), all run by faer on rayon's current pool.
//!
//! Factorization ([`Factorization`]): Cholesky of `G + λI`. Released counts carry noise (and
//! LDP estimates can be negative), so `G` may be slightly indefinite and the Cholesky may fail.
//! Then λ is raised (a few geometric steps, finally a Gershgorin bound that makes `G + λI`
//! diagonally dominant and therefore positive definite) and the λ that worked is reported. A
//! symmetric indefinite solver (Bunch-Kaufman) would keep the requested λ, but with `G + λI`
//! indefinite its `B` is a saddle point of the EASE objective, not a minimum, and columns whose
//! `P_jj` turn negative flip sign: more regularization is the fix that keeps a ridge solution.

use std::collections::{BTreeMap, HashMap};

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    cholesky_in_place, cholesky_in_place_scratch, LltRegularization,
};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::{Accum, Mat, Par};
use kindred_core::aggregate::split_pair_key;
use kindred_core::aggregate::ModelInputs;
use kindred_core::{ItemModelInfo, Neighbour, SharedModel};
use rayon::prelude::*;

/// How many times λ is raised geometrically after the configured one fails, before the
/// Gershgorin bound that always works (each try costs up to one Cholesky, `n³/3` flops).
const RAISE_ATTEMPTS: u32 = 4;

/// Settings of the learned item model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EaseConfig {
    /// Absolute part of the L2 regularization λ added to the Gram diagonal: a floor against the
    /// release noise, which does not scale with traffic. Default 50.
    pub lambda_fixed: f64,
    /// Part of λ proportional to the mean diagonal count of the fitted items, so the model does
    /// not change when every count scales (more traffic, another decay). Default 0.25 (Steck
    /// reports the best λ at 0.25-0.5 of the mean item count on MovieLens-20M, Netflix and
    /// MSD). Both defaults are to be tuned with `kindred evaluate`.
    pub lambda_relative: f64,
    /// At most this many items enter the fit, the ones with the largest diagonal counts: memory
    /// is 16·n² bytes and time grows as n³. The tail is left to co-occurrence. Default 10,000.
    pub max_items: usize,
    /// Weights kept per item (the largest positive ones). Default 16: the published model of
    /// a 10,000-item catalog stays within 1 MB compressed (tests/model_size.rs: learned weights
    /// spread over [0, 1] compress worse than co-occurrence scores; 20 per item measured
    /// 1.08 MB gzip), and on the Online Retail split 50 weights per item gained nothing.
    pub top_n: usize,
    /// Items whose diagonal count is below this are left out: too few shopper-windows to
    /// learn from, or (negative) noise. Default 1.
    pub min_item_count: f64,
}

impl Default for EaseConfig {
    fn default() -> Self {
        EaseConfig {
            lambda_fixed: 50.0,
            lambda_relative: 0.25,
            max_items: 10_000,
            top_n: 16,
            min_item_count: 1.0,
        }
    }
}

/// How `P = (G + λI)⁻¹` was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factorization {
    /// No item passed the filters: nothing was fitted.
    Empty,
    /// Cholesky of `G + λI` at the configured λ: the usual path.
    Cholesky,
    /// `G + λI` was not positive definite at the configured λ (noise made `G` indefinite
    /// beyond what λ covers), or so close to singular that a weight overflowed; λ was raised
    /// until the Cholesky succeeded with finite weights.
    /// [`ItemWeights::lambda`] is the value that worked; `attempts` counts the raised values
    /// tried, the successful one included.
    CholeskyRaisedLambda { attempts: u32 },
}

/// The fitted model: per item, its strongest positive weights towards other items.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWeights {
    /// One entry per fitted item (possibly empty: no positive weight), so a caller can tell
    /// "fitted, nothing to recommend" from "not fitted, fall back to co-occurrence". Each row
    /// holds at most `top_n` `(item j, B_ij)` with `B_ij > 0`, weight descending, then id.
    pub rows: BTreeMap<String, Vec<(String, f32)>>,
    /// How many items entered the fit.
    pub fitted_items: usize,
    /// The λ the solution was computed with (larger than `requested_lambda` when the
    /// factorization had to raise it).
    pub lambda: f64,
    /// The λ the configuration asked for: `lambda_fixed + lambda_relative · mean(diag G)`.
    pub requested_lambda: f64,
    /// Which path computed the inverse.
    pub factorization: Factorization,
}

/// Why the item model could not be fitted. Nothing is half-fitted: either every row or an error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EaseError {
    #[error("the count of item `{item}` is {value}; counts must be finite (check the release that produced it)")]
    NonFiniteItemCount { item: String, value: f64 },
    #[error("the count of pair (`{a}`, `{b}`) is {value}; counts must be finite (check the release that produced it)")]
    NonFinitePairCount { a: String, b: String, value: f64 },
    #[error("pair (`{item}`, `{item}`) names one item twice; an item's own count belongs in the item counts")]
    SelfPair { item: String },
    #[error("pair (`{a}`, `{b}`) is given in both orders; key each pair once, smaller id first")]
    DuplicatePair { a: String, b: String },
    #[error("{field} is {value}; it {problem}")]
    InvalidConfig {
        field: &'static str,
        value: f64,
        problem: &'static str,
    },
    #[error("cannot allocate the {items} x {items} matrix ({bytes} bytes); lower max_items (memory grows as 16 bytes x items squared)")]
    OutOfMemory { items: usize, bytes: usize },
    #[error("the regularized Gram matrix is still not positive definite at lambda = {lambda}; the counts are far from a Gram matrix (check for huge or negative pair counts)")]
    NotPositiveDefinite { lambda: f64 },
}

/// Fits EASE to aggregated counts and keeps each item's top weights.
///
/// `items[i]` is the Gram diagonal `G_ii`: how many shopper-windows touched item `i` (noised
/// and decayed, so not necessarily an integer). `pairs` are the off-diagonal `G_ij = G_ji`:
/// how many touched both, keyed by the two ids, smaller first (the larger first is accepted
/// too; both orders of one pair is an error). Pairs naming an item that is unknown or left out
/// of the fit are ignored. Empty input gives an empty result.
///
/// Runs faer on rayon's current thread pool (all cores of the global pool, or the pool of an
/// enclosing `install`).
pub fn fit_ease(
    items: &BTreeMap<String, f64>,
    pairs: &BTreeMap<(String, String), f64>,
    config: &EaseConfig,
) -> Result<ItemWeights, EaseError> {
    let gram = Gram::new(items, pairs, config)?;
    let requested_lambda = gram.requested_lambda(config);
    if gram.ids.is_empty() {
        return Ok(ItemWeights {
            rows: BTreeMap::new(),
            fitted_items: 0,
            lambda: requested_lambda,
            requested_lambda,
            factorization: Factorization::Empty,
        });
    }
    let mut rows = None;
    let solved = solve(&gram, requested_lambda, |inverse| {
        rows = top_weights_per_row(inverse, config.top_n);
        rows.is_some()
    })?;
    let rows = rows.ok_or(EaseError::NotPositiveDefinite {
        lambda: solved.lambda,
    })?;
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let row = row
                .into_iter()
                .map(|(weight, j)| (gram.ids[j as usize].to_owned(), weight))
                .collect();
            (gram.ids[i].to_owned(), row)
        })
        .collect();
    Ok(ItemWeights {
        rows,
        fitted_items: gram.ids.len(),
        lambda: solved.lambda,
        requested_lambda,
        factorization: solved.factorization,
    })
}

/// Fits the item model to a build's merged, noise-filtered counts
/// ([`kindred_core::aggregate::model_inputs`]).
pub fn fit_inputs(inputs: &ModelInputs, config: &EaseConfig) -> Result<ItemWeights, EaseError> {
    let pairs: BTreeMap<(String, String), f64> = inputs
        .pairs
        .iter()
        .filter_map(|(key, &count)| {
            let (a, b) = split_pair_key(key)?;
            Some(((a.to_owned(), b.to_owned()), count))
        })
        .collect();
    fit_ease(&inputs.items, &pairs, config)
}

/// Puts learned weights into a model: every fitted item with at least one positive weight
/// gets its weights as its item list, scaled so the largest weight of the whole model is 1
/// (the device sums `x_i · B_ij` over the shopper's history, so only the ratios between
/// weights matter, across rows as within them); the other items keep their co-occurrence
/// neighbours. Records what was installed in [`SharedModel::item_model`].
pub fn install(model: &mut SharedModel, weights: &ItemWeights) {
    let max = weights
        .rows
        .values()
        .flatten()
        .map(|(_, w)| *w)
        .fold(0.0f32, f32::max);
    if !(max > 0.0 && max.is_finite()) {
        return;
    }
    let mut installed = 0u32;
    for (id, row) in &weights.rows {
        if row.is_empty() {
            continue;
        }
        installed += 1;
        let list = row
            .iter()
            .map(|(item, w)| Neighbour {
                item: item.clone(),
                score: (w / max).clamp(0.0, 1.0),
            })
            .collect();
        model.neighbours.insert(id.clone(), list);
    }
    if installed > 0 {
        model.item_model = Some(ItemModelInfo {
            kind: "ease".to_owned(),
            items: installed,
            lambda: weights.lambda as f32,
        });
    }
}

/// The fitted part of `G`: ids sorted (so index order is id order, the tie-break of the
/// rows), the diagonal, and each pair once as (larger index, smaller index, count), the lower
/// triangle faer's Cholesky reads.
#[derive(Debug)]
struct Gram<'a> {
    ids: Vec<&'a str>,
    diag: Vec<f64>,
    lower: Vec<(usize, usize, f64)>,
}

impl<'a> Gram<'a> {
    fn new(
        items: &'a BTreeMap<String, f64>,
        pairs: &'a BTreeMap<(String, String), f64>,
        config: &EaseConfig,
    ) -> Result<Gram<'a>, EaseError> {
        validate(config)?;
        // Every input is checked, fitted or not: a non-finite count means the release that
        // produced it is broken, whichever items it touches.
        if let Some((item, &value)) = items.iter().find(|(_, v)| !v.is_finite()) {
            return Err(EaseError::NonFiniteItemCount {
                item: item.clone(),
                value,
            });
        }
        for ((a, b), &value) in pairs {
            if !value.is_finite() {
                return Err(EaseError::NonFinitePairCount {
                    a: a.clone(),
                    b: b.clone(),
                    value,
                });
            }
            if a == b {
                return Err(EaseError::SelfPair { item: a.clone() });
            }
            if a > b && pairs.contains_key(&(b.clone(), a.clone())) {
                return Err(EaseError::DuplicatePair {
                    a: b.clone(),
                    b: a.clone(),
                });
            }
        }

        // An item without a pair to another candidate is a block of its own in `G`: its row
        // of `B` is zero and leaving it out changes no other weight, so only items with a
        // pair enter the fit (at a small shop, a few hundred of the items with counts).
        let candidate = |id: &str| items.get(id).is_some_and(|&c| c >= config.min_item_count);
        let mut paired: std::collections::HashSet<&'a str> = std::collections::HashSet::new();
        for (a, b) in pairs.keys() {
            if a != b && candidate(a) && candidate(b) {
                paired.insert(a.as_str());
                paired.insert(b.as_str());
            }
        }
        let mut fitted: Vec<(&'a str, f64)> = items
            .iter()
            .filter(|(id, &count)| count >= config.min_item_count && paired.contains(id.as_str()))
            .map(|(id, &count)| (id.as_str(), count))
            .collect();
        // Largest counts first, ties by id, so which items make the cut is deterministic.
        fitted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        fitted.truncate(config.max_items);
        fitted.sort_by(|a, b| a.0.cmp(b.0));

        let index: HashMap<&str, usize> = fitted
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        let lower = pairs
            .iter()
            .filter_map(|((a, b), &count)| {
                let (i, j) = (*index.get(a.as_str())?, *index.get(b.as_str())?);
                Some((i.max(j), i.min(j), count))
            })
            .collect();
        Ok(Gram {
            ids: fitted.iter().map(|(id, _)| *id).collect(),
            diag: fitted.iter().map(|(_, count)| *count).collect(),
            lower,
        })
    }

    fn requested_lambda(&self, config: &EaseConfig) -> f64 {
        let n = self.diag.len().max(1) as f64;
        let mean = self.diag.iter().sum::<f64>() / n;
        // Negative means only come from noise-dominated input (and a negative min_item_count);
        // they must not lower λ below its fixed part.
        config.lambda_fixed + config.lambda_relative * mean.max(0.0)
    }

    /// The smallest λ that makes `G + λI` strictly diagonally dominant with a margin, hence
    /// positive definite (Gershgorin), whatever the noise did to `G`. Loose: the last resort.
    fn gershgorin_lambda(&self) -> f64 {
        let mut off_diagonal = vec![0.0; self.diag.len()];
        for &(i, j, count) in &self.lower {
            off_diagonal[i] += count.abs();
            off_diagonal[j] += count.abs();
        }
        let deficit = self
            .diag
            .iter()
            .zip(&off_diagonal)
            .map(|(d, r)| r - d)
            .fold(0.0, f64::max);
        let scale = self
            .diag
            .iter()
            .zip(&off_diagonal)
            .map(|(d, r)| d.abs() + r)
            .fold(0.0, f64::max);
        // The margin keeps the condition number near 1e3 at worst.
        deficit + (1e-3 * scale).max(f64::MIN_POSITIVE)
    }

    /// `G + λI`, lower triangle only (the upper stays zero).
    fn regularized(&self, lambda: f64) -> Result<Mat<f64>, EaseError> {
        let n = self.diag.len();
        let mut matrix = zeros(n)?;
        for (i, &d) in self.diag.iter().enumerate() {
            matrix[(i, i)] = d + lambda;
        }
        for &(i, j, count) in &self.lower {
            matrix[(i, j)] = count;
        }
        Ok(matrix)
    }
}

fn validate(config: &EaseConfig) -> Result<(), EaseError> {
    let check = |field, value: f64, ok: bool, problem| {
        if ok {
            Ok(())
        } else {
            Err(EaseError::InvalidConfig {
                field,
                value,
                problem,
            })
        }
    };
    let non_negative = "must be a finite number >= 0";
    check(
        "lambda_fixed",
        config.lambda_fixed,
        config.lambda_fixed.is_finite() && config.lambda_fixed >= 0.0,
        non_negative,
    )?;
    check(
        "lambda_relative",
        config.lambda_relative,
        config.lambda_relative.is_finite() && config.lambda_relative >= 0.0,
        non_negative,
    )?;
    check(
        "min_item_count",
        config.min_item_count,
        config.min_item_count.is_finite(),
        "must be a finite number",
    )
}

/// An `n × n` zero matrix, or an error instead of an abort when the memory is not there.
fn zeros(n: usize) -> Result<Mat<f64>, EaseError> {
    let out_of_memory = || EaseError::OutOfMemory {
        items: n,
        bytes: n.saturating_mul(n).saturating_mul(size_of::<f64>()),
    };
    let mut matrix = Mat::new();
    matrix.try_reserve(n, n).map_err(|_| out_of_memory())?;
    matrix.resize_with(n, n, |_, _| 0.0);
    Ok(matrix)
}

/// A successful solve: the λ used and the path that ran.
#[derive(Debug)]
struct Solved {
    lambda: f64,
    factorization: Factorization,
}

/// Computes `P = (G + λI)⁻¹` (full, symmetric) at the requested λ, raising λ while the
/// Cholesky fails, and hands each inverse to `accept`, which says whether it is usable
/// (finite weights); an unusable one counts as a failure and λ goes up again. The caller keeps
/// what it needs from the accepted inverse, so only one `P` is alive at a time.
fn solve(
    gram: &Gram<'_>,
    requested_lambda: f64,
    mut accept: impl FnMut(&Mat<f64>) -> bool,
) -> Result<Solved, EaseError> {
    if let Some(inverse) = regularized_inverse(gram, requested_lambda)? {
        if accept(&inverse) {
            return Ok(Solved {
                lambda: requested_lambda,
                factorization: Factorization::Cholesky,
            });
        }
    }
    // Steps relative to the λ asked for (or to the counts, when it was zero).
    let mean_abs = gram.diag.iter().map(|d| d.abs()).sum::<f64>() / gram.diag.len() as f64;
    let mut step = requested_lambda.max(1e-2 * mean_abs);
    if !(step.is_finite() && step > 0.0) {
        step = 1.0;
    }
    let mut lambda = requested_lambda;
    for attempt in 1..=RAISE_ATTEMPTS + 1 {
        lambda = if attempt <= RAISE_ATTEMPTS {
            requested_lambda + step * 4f64.powi(attempt as i32 - 1)
        } else {
            gram.gershgorin_lambda().max(lambda * 2.0)
        };
        if let Some(inverse) = regularized_inverse(gram, lambda)? {
            if accept(&inverse) {
                return Ok(Solved {
                    lambda,
                    factorization: Factorization::CholeskyRaisedLambda { attempts: attempt },
                });
            }
        }
    }
    Err(EaseError::NotPositiveDefinite { lambda })
}

/// `(G + λI)⁻¹` via Cholesky `G + λI = LLᵀ`, `P = L⁻ᵀL⁻¹`, or `None` when `G + λI` is not
/// (numerically) positive definite. Two `n × n` buffers: the factor is computed in place, its
/// inverse goes to the second buffer and the product back into the first, which is then
/// mirrored to a full symmetric matrix (the rows are read as columns, contiguously).
fn regularized_inverse(gram: &Gram<'_>, lambda: f64) -> Result<Option<Mat<f64>>, EaseError> {
    let n = gram.diag.len();
    let par = Par::rayon(0);
    let mut matrix = gram.regularized(lambda)?;
    let mut scratch =
        MemBuffer::try_new(cholesky_in_place_scratch::<f64>(n, par, Default::default())).map_err(
            |_| EaseError::OutOfMemory {
                items: n,
                bytes: n * size_of::<f64>(),
            },
        )?;
    let factored = cholesky_in_place(
        matrix.as_mut(),
        LltRegularization::default(),
        par,
        MemStack::new(&mut scratch),
        Default::default(),
    );
    if factored.is_err() {
        return Ok(None);
    }
    let mut factor_inverse = zeros(n)?;
    invert_lower_triangular(factor_inverse.as_mut(), matrix.as_ref(), par);
    matmul(
        matrix.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        factor_inverse.transpose(),
        BlockStructure::TriangularUpper,
        factor_inverse.as_ref(),
        BlockStructure::TriangularLower,
        1.0,
        par,
    );
    drop(factor_inverse);
    mirror_lower_to_upper(&mut matrix);
    let positive_diagonal = (0..n).all(|j| {
        let p = matrix[(j, j)];
        p.is_finite() && p > 0.0
    });
    Ok(positive_diagonal.then_some(matrix))
}

/// Copies the strict lower triangle onto the upper one, in tiles so both the reads (along
/// rows) and the writes (along columns) stay in cache.
fn mirror_lower_to_upper(matrix: &mut Mat<f64>) {
    const TILE: usize = 64;
    let n = matrix.nrows();
    for col_start in (0..n).step_by(TILE) {
        let col_end = (col_start + TILE).min(n);
        for row_start in (0..col_end).step_by(TILE) {
            for col in col_start..col_end {
                for row in row_start..(row_start + TILE).min(col) {
                    matrix[(row, col)] = matrix[(col, row)];
                }
            }
        }
    }
}

/// Per row `i`, its top-`top_n` positive `B_ij = −P_ij / P_jj` (j ≠ i) as (weight, j), weight
/// descending then index (= id order). `None` when a weight is not finite in f32, which means
/// `G + λI` is too close to singular for this λ.
fn top_weights_per_row(inverse: &Mat<f64>, top_n: usize) -> Option<Vec<Vec<(f32, u32)>>> {
    let n = inverse.nrows();
    let diagonal: Vec<f64> = (0..n).map(|j| inverse[(j, j)]).collect();
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |candidates, i| {
            // P is symmetric: column i is row i, and columns are contiguous.
            top_weights(inverse.col_as_slice(i), &diagonal, i, top_n, candidates)
        })
        .collect()
}

fn top_weights(
    column: &[f64],
    diagonal: &[f64],
    own: usize,
    top_n: usize,
    candidates: &mut Vec<(f32, u32)>,
) -> Option<Vec<(f32, u32)>> {
    candidates.clear();
    for (j, (&p_ij, &p_jj)) in column.iter().zip(diagonal).enumerate() {
        if j == own {
            continue;
        }
        // Compared in f32, the precision that is published, so ties are broken by id
        // consistently with what callers see.
        let weight = (-p_ij / p_jj) as f32;
        if !weight.is_finite() {
            return None;
        }
        if weight > 0.0 {
            candidates.push((weight, j as u32));
        }
    }
    let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if top_n == 0 {
        return Some(Vec::new());
    }
    if candidates.len() > top_n {
        candidates.select_nth_unstable_by(top_n - 1, order);
        candidates.truncate(top_n);
    }
    candidates.sort_unstable_by(order);
    Some(candidates.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::SplitMix64 as Rng;

    type Counts = (BTreeMap<String, f64>, BTreeMap<(String, String), f64>);

    fn id(i: usize) -> String {
        format!("item-{i:02}")
    }

    /// The counts the server would release (without noise) for these shopper-windows.
    fn counts_of(windows: &[Vec<usize>]) -> Counts {
        let mut items = BTreeMap::new();
        let mut pairs = BTreeMap::new();
        for window in windows {
            for (k, &a) in window.iter().enumerate() {
                *items.entry(id(a)).or_insert(0.0) += 1.0;
                for &b in &window[k + 1..] {
                    let key = if a < b {
                        (id(a), id(b))
                    } else {
                        (id(b), id(a))
                    };
                    *pairs.entry(key).or_insert(0.0) += 1.0;
                }
            }
        }
        (items, pairs)
    }

    fn config(lambda: f64) -> EaseConfig {
        EaseConfig {
            lambda_fixed: lambda,
            lambda_relative: 0.0,
            max_items: 1_000,
            top_n: 1_000,
            min_item_count: 0.0,
        }
    }

    /// The full, untruncated `B` (and the fitted ids): the same path as [`fit_ease`], without
    /// the top-N cut.
    fn dense_weights(
        items: &BTreeMap<String, f64>,
        pairs: &BTreeMap<(String, String), f64>,
        config: &EaseConfig,
    ) -> (Vec<String>, Mat<f64>, Solved) {
        let gram = Gram::new(items, pairs, config).expect("valid input");
        let lambda = gram.requested_lambda(config);
        let mut weights = None;
        let solved = solve(&gram, lambda, |p| {
            let n = p.nrows();
            weights = Some(Mat::from_fn(n, n, |i, j| {
                let identity = if i == j { 1.0 } else { 0.0 };
                identity - p[(i, j)] / p[(j, j)]
            }));
            true
        })
        .expect("solvable");
        let ids = gram.ids.iter().map(|s| s.to_string()).collect();
        (ids, weights.expect("accepted"), solved)
    }

    #[test]
    fn dense_solution_satisfies_the_ease_optimality_conditions() {
        let (users, n) = (200, 30);
        let mut rng = Rng::new(7);
        let rates: Vec<f64> = (0..n).map(|_| 0.05 + 0.3 * rng.unit()).collect();
        let x = Mat::from_fn(users, n, |_, j| f64::from(u8::from(rng.unit() < rates[j])));
        let windows: Vec<Vec<usize>> = (0..users)
            .map(|u| (0..n).filter(|&j| x[(u, j)] == 1.0).collect())
            .collect();
        let (items, pairs) = counts_of(&windows);
        assert_eq!(items.len(), n, "every item was bought at least once");
        let lambda = 5.0;
        let (ids, b, solved) = dense_weights(&items, &pairs, &config(lambda));
        assert_eq!(solved.factorization, Factorization::Cholesky);
        assert_eq!(ids, (0..n).map(id).collect::<Vec<_>>());

        // G = XᵀX computed here, independently of the counts and of the solver.
        let mut g = Mat::<f64>::zeros(n, n);
        faer::linalg::matmul::matmul(
            g.as_mut(),
            Accum::Replace,
            x.transpose(),
            x.as_ref(),
            1.0,
            Par::Seq,
        );
        let scale = (0..n).map(|i| g[(i, i)]).fold(0.0, f64::max);
        let mut g_reg = g.clone();
        for i in 0..n {
            g_reg[(i, i)] += lambda;
        }
        // (G + λI)·B − G must be diagonal (the Lagrange multipliers of diag(B) = 0).
        let mut residual = g.clone();
        faer::linalg::matmul::matmul(
            residual.as_mut(),
            Accum::Replace,
            g_reg.as_ref(),
            b.as_ref(),
            1.0,
            Par::Seq,
        );
        for i in 0..n {
            assert_eq!(b[(i, i)], 0.0, "diag(B) is zero at {i}");
            for j in 0..n {
                if i != j {
                    let r = residual[(i, j)] - g[(i, j)];
                    assert!(r.abs() <= 1e-6 * scale, "residual {r} at ({i}, {j})");
                }
            }
        }

        // The published rows are the top positive entries of the same B.
        let top_n = 5;
        let fitted = fit_ease(
            &items,
            &pairs,
            &EaseConfig {
                top_n,
                ..config(lambda)
            },
        )
        .expect("fits");
        assert_eq!(fitted.fitted_items, n);
        assert_eq!(fitted.lambda, lambda);
        for (i, name) in ids.iter().enumerate() {
            let mut expected: Vec<(String, f32)> = (0..n)
                .filter(|&j| j != i && b[(i, j)] as f32 > 0.0)
                .map(|j| (ids[j].clone(), b[(i, j)] as f32))
                .collect();
            expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            expected.truncate(top_n);
            let row = &fitted.rows[name];
            assert_eq!(row.len(), expected.len());
            for ((got_id, got), (want_id, want)) in row.iter().zip(&expected) {
                assert_eq!(got_id, want_id, "row {name}");
                assert!((got - want).abs() <= 1e-5 * want.abs(), "row {name}");
            }
            assert!(row
                .windows(2)
                .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
        }
    }

    #[test]
    fn items_bought_together_point_at_each_other() {
        let (n, mut rng) = (12, Rng::new(11));
        let windows: Vec<Vec<usize>> = (0..600)
            .map(|_| {
                let a = 2 * rng.below(n / 2);
                let mut window = vec![a];
                if rng.unit() < 0.8 {
                    window.push(a + 1);
                }
                if rng.unit() < 0.5 {
                    let other = rng.below(n);
                    if !window.contains(&other) {
                        window.push(other);
                    }
                }
                window
            })
            .collect();
        let (items, pairs) = counts_of(&windows);
        let fitted = fit_ease(&items, &pairs, &EaseConfig::default()).expect("fits");
        assert_eq!(fitted.factorization, Factorization::Cholesky);
        assert_eq!(fitted.fitted_items, n);
        for i in 0..n {
            let partner = id(i ^ 1);
            let row = &fitted.rows[&id(i)];
            let (top, weight) = row.first().expect("a neighbour");
            assert_eq!(top, &partner, "top neighbour of {}: {row:?}", id(i));
            assert!(*weight > 0.0);
            assert!(row.len() <= EaseConfig::default().top_n);
        }
    }

    #[test]
    fn an_indefinite_noisy_gram_still_gives_finite_weights() {
        let items: BTreeMap<String, f64> = [("a", 3.0), ("b", 3.0), ("c", 3.0), ("d", 10.0)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        // The diagonals of a, b and c are smaller than their pairs, and one pair is negative:
        // no shopper-window matrix has this Gram.
        let pairs: BTreeMap<(String, String), f64> = [
            (("a", "b"), 8.0),
            (("a", "c"), -5.0),
            (("b", "c"), 6.0),
            (("c", "d"), 2.0),
        ]
        .into_iter()
        .map(|((a, b), v)| ((a.to_owned(), b.to_owned()), v))
        .collect();
        let fitted = fit_ease(&items, &pairs, &config(0.5)).expect("fits");
        assert!(
            matches!(
                fitted.factorization,
                Factorization::CholeskyRaisedLambda { .. }
            ),
            "{:?}",
            fitted.factorization
        );
        assert_eq!(fitted.requested_lambda, 0.5);
        assert!(fitted.lambda > 0.5);
        assert_eq!(fitted.fitted_items, 4);
        let weights: Vec<f32> = fitted.rows.values().flatten().map(|(_, w)| *w).collect();
        assert!(!weights.is_empty());
        assert!(weights.iter().all(|w| w.is_finite() && *w > 0.0));
        assert_eq!(fitted.rows["a"][0].0, "b", "the strong pair survives");
    }

    #[test]
    fn the_largest_items_are_fitted_and_the_rest_ignored() {
        let items: BTreeMap<String, f64> = [
            ("a", 100.0),
            ("b", 50.0),
            ("c", 10.0),
            ("d", 0.5),
            ("e", 30.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let pair = |a: &str, b: &str, v| ((a.to_owned(), b.to_owned()), v);
        let all_pairs: BTreeMap<(String, String), f64> = [
            pair("a", "b", 20.0),
            pair("a", "e", 10.0),
            pair("b", "e", 5.0),
            pair("a", "c", 8.0),
            pair("c", "e", 6.0),
            pair("b", "d", 0.5),
            pair("a", "unknown", 40.0),
        ]
        .into_iter()
        .collect();
        let cut = EaseConfig {
            max_items: 3,
            min_item_count: 1.0,
            ..config(2.0)
        };
        let fitted = fit_ease(&items, &all_pairs, &cut).expect("fits");
        assert_eq!(fitted.fitted_items, 3);
        assert_eq!(
            fitted.rows.keys().collect::<Vec<_>>(),
            ["a", "b", "e"],
            "c has the fourth count, d is below min_item_count"
        );
        let named: Vec<&str> = fitted
            .rows
            .values()
            .flatten()
            .map(|(id, _)| id.as_str())
            .collect();
        assert!(named.iter().all(|id| ["a", "b", "e"].contains(id)));

        // Exactly the model of the kept items and their pairs alone.
        let kept_items = items
            .iter()
            .filter(|(k, _)| ["a", "b", "e"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let kept_pairs = all_pairs
            .iter()
            .filter(|((a, b), _)| [a, b].iter().all(|k| ["a", "b", "e"].contains(&k.as_str())))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let alone = fit_ease(&kept_items, &kept_pairs, &cut).expect("fits");
        assert_eq!(fitted, alone);

        // min_item_count alone: d goes, c stays.
        let fitted = fit_ease(
            &items,
            &all_pairs,
            &EaseConfig {
                min_item_count: 1.0,
                ..config(2.0)
            },
        )
        .expect("fits");
        assert_eq!(fitted.rows.keys().collect::<Vec<_>>(), ["a", "b", "c", "e"]);
    }

    #[test]
    fn a_pair_keyed_larger_id_first_is_the_same_pair() {
        let items: BTreeMap<String, f64> = [("a", 10.0), ("b", 10.0), ("c", 10.0)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let keyed = |a: &str, b: &str| {
            [((a.to_owned(), b.to_owned()), 6.0)]
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        };
        let forward = fit_ease(&items, &keyed("a", "b"), &config(1.0)).expect("fits");
        let backward = fit_ease(&items, &keyed("b", "a"), &config(1.0)).expect("fits");
        assert_eq!(forward, backward);
        assert_eq!(forward.rows["a"][0].0, "b");
    }

    #[test]
    fn empty_input_gives_an_empty_model() {
        let fitted =
            fit_ease(&BTreeMap::new(), &BTreeMap::new(), &EaseConfig::default()).expect("fits");
        assert!(fitted.rows.is_empty());
        assert_eq!(fitted.fitted_items, 0);
        assert_eq!(fitted.factorization, Factorization::Empty);
    }

    #[test]
    fn bad_counts_and_settings_are_errors_that_name_them() {
        let items = |v: f64| -> BTreeMap<String, f64> {
            [("a".to_owned(), 5.0), ("b".to_owned(), v)]
                .into_iter()
                .collect()
        };
        let pairs = |a: &str, b: &str, v: f64| -> BTreeMap<(String, String), f64> {
            [((a.to_owned(), b.to_owned()), v)].into_iter().collect()
        };
        let ok = EaseConfig::default();

        let err = fit_ease(&items(f64::NAN), &BTreeMap::new(), &ok).unwrap_err();
        assert!(matches!(err, EaseError::NonFiniteItemCount { ref item, .. } if item == "b"));
        assert!(err.to_string().contains("`b`") && err.to_string().contains("NaN"));

        let err = fit_ease(&items(5.0), &pairs("a", "b", f64::INFINITY), &ok).unwrap_err();
        assert!(matches!(err, EaseError::NonFinitePairCount { .. }));
        assert!(err.to_string().contains("(`a`, `b`)") && err.to_string().contains("inf"));

        // Even a pair the fit would ignore: the release behind it is broken.
        let err = fit_ease(&items(5.0), &pairs("x", "y", f64::NAN), &ok).unwrap_err();
        assert!(matches!(err, EaseError::NonFinitePairCount { .. }));

        let err = fit_ease(&items(5.0), &pairs("a", "a", 1.0), &ok).unwrap_err();
        assert_eq!(err, EaseError::SelfPair { item: "a".into() });

        let mut both = pairs("a", "b", 1.0);
        both.insert(("b".into(), "a".into()), 1.0);
        let err = fit_ease(&items(5.0), &both, &ok).unwrap_err();
        assert!(matches!(err, EaseError::DuplicatePair { .. }), "{err}");

        for bad in [
            EaseConfig {
                lambda_fixed: f64::NAN,
                ..ok
            },
            EaseConfig {
                lambda_relative: -1.0,
                ..ok
            },
            EaseConfig {
                min_item_count: f64::INFINITY,
                ..ok
            },
        ] {
            let err = fit_ease(&items(5.0), &BTreeMap::new(), &bad).unwrap_err();
            assert!(matches!(err, EaseError::InvalidConfig { .. }), "{err}");
        }
        let err = fit_ease(
            &items(5.0),
            &BTreeMap::new(),
            &EaseConfig {
                lambda_fixed: -2.0,
                ..ok
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "lambda_fixed is -2; it must be a finite number >= 0"
        );
    }

    #[test]
    fn huge_counts_are_an_error_not_a_panic() {
        let items: BTreeMap<String, f64> = [("a".to_owned(), 1e300), ("b".to_owned(), 1e300)]
            .into_iter()
            .collect();
        let pairs: BTreeMap<(String, String), f64> = [(("a".to_owned(), "b".to_owned()), 1e300)]
            .into_iter()
            .collect();
        // Whatever the numerics make of it: a result with finite weights or an error.
        if let Ok(fitted) = fit_ease(&items, &pairs, &EaseConfig::default()) {
            assert!(fitted.rows.values().flatten().all(|(_, w)| w.is_finite()));
        }
    }
}
