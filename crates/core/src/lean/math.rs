//! Numeric routines without their large dependencies:
//!
//! - [`exp2`] without libm's table.
//! - [`Matrix`] and [`dot`]: the embeddings and segment centroids needed rows and dot products
//!   of ndarray's `Array2`, whose generic array machinery (shapes, strides, iterators, `Zip`)
//!   was 18 KB of unoptimized wasm (5.8 KB gzip after wasm-opt).

/// `2^x`, computed as `e^(x ln 2)`. On wasm32, `f64::exp2` links libm's table-driven `exp2`
/// (a 4 KB table of doubles that gzip cannot shrink), while `f64::exp` is fdlibm's table-free
/// one, which the module needs anyway. The extra rounding of `x ln 2` costs a few ulps (relative
/// error below 1e-14 for the decay exponents used here, |x| < 60), far below anything a
/// half-life weight can show.
pub fn exp2(x: f64) -> f64 {
    (x * std::f64::consts::LN_2).exp()
}

/// The dot product of the common prefix of `a` and `b`, summed exactly as ndarray's
/// `unrolled_dot` (eight partial sums, combined pairwise, then the tail), so that embedding
/// scores are bit for bit what they were with ndarray (a test checks it against ndarray).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (mut a, mut b) = (&a[..len], &b[..len]);
    let mut p = [0.0f32; 8];
    while a.len() >= 8 {
        for i in 0..8 {
            p[i] += a[i] * b[i];
        }
        a = &a[8..];
        b = &b[8..];
    }
    let mut sum = 0.0f32;
    for i in 0..4 {
        sum += p[i] + p[i + 4];
    }
    for (x, y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

/// A dense row-major matrix of `f32`: the part of ndarray's `Array2` the engine used (rows,
/// appending a row, matrix-vector products). Replacing ndarray with it took the browser
/// module from 129,507 to 123,618 bytes gzip (-5.8 KB), with the same scores to the bit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r`; panics when `r >= rows()`, like indexing.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Appends a row of zeros.
    pub fn push_zero_row(&mut self) {
        self.data.resize(self.data.len() + self.cols, 0.0);
        self.rows += 1;
    }

    /// `self · x`: the [`dot`] of every row with `x`.
    pub fn mul_vec(&self, x: &[f32]) -> Vec<f32> {
        (0..self.rows).map(|r| dot(self.row(r), x)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_matrix_match_ndarray_bit_for_bit() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        for cols in [0, 1, 7, 8, 9, 16, 31, 64, 100] {
            let rows = 5;
            let values: Vec<f32> = (0..rows * cols).map(|_| next()).collect();
            let x: Vec<f32> = (0..cols).map(|_| next()).collect();
            let theirs = ndarray::Array2::from_shape_vec((rows, cols), values.clone()).unwrap();
            let mut ours = Matrix::zeros(rows, cols);
            for r in 0..rows {
                ours.row_mut(r)
                    .copy_from_slice(&values[r * cols..(r + 1) * cols]);
            }
            let expected = theirs.dot(&ndarray::Array1::from(x.clone()));
            let got = ours.mul_vec(&x);
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(expected.iter()) {
                assert_eq!(g.to_bits(), e.to_bits(), "{cols} columns");
            }
            let row = theirs.row(2);
            assert_eq!(
                dot(ours.row(2), &x).to_bits(),
                row.dot(&ndarray::ArrayView1::from(&x)).to_bits()
            );
        }
        let mut m = Matrix::zeros(0, 3);
        m.push_zero_row();
        m.row_mut(0)[1] = 2.0;
        assert_eq!((m.rows(), m.cols(), m.row(0)), (1, 3, &[0.0, 2.0, 0.0][..]));
    }

    #[test]
    fn exp2_agrees_with_std() {
        for i in -6000..=6000 {
            let x = f64::from(i) / 100.0;
            let (ours, std) = (exp2(x), x.exp2());
            assert!(((ours - std) / std).abs() < 1e-14, "2^{x}: {ours} vs {std}");
        }
        assert_eq!(exp2(0.0), 1.0);
        assert_eq!(exp2(f64::NEG_INFINITY), 0.0);
    }
}
