//! Sparse vectors over a term vocabulary: TF-IDF documents and the shopper's text profile.

use serde::{Deserialize, Serialize};

/// A sparse vector with strictly increasing indices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVec {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVec {
    /// Builds a vector from unsorted `(index, value)` pairs, summing duplicates and dropping zeros.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> Self {
        crate::lean::sort_by(&mut pairs, |a, b| a.0 < b.0);
        let mut out = SparseVec::default();
        for (i, v) in pairs {
            if out.indices.last() == Some(&i) {
                if let Some(last) = out.values.last_mut() {
                    *last += v;
                }
            } else {
                out.indices.push(i);
                out.values.push(v);
            }
        }
        out.retain_nonzero();
        out
    }

    fn retain_nonzero(&mut self) {
        let mut w = 0;
        for r in 0..self.indices.len() {
            if self.values[r] != 0.0 && self.values[r].is_finite() {
                self.indices[w] = self.indices[r];
                self.values[w] = self.values[r];
                w += 1;
            }
        }
        self.indices.truncate(w);
        self.values.truncate(w);
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Iterates over `(index, value)` pairs in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// Euclidean norm, accumulated in f64 so long vectors keep precision.
    pub fn norm(&self) -> f64 {
        self.values
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt()
    }

    /// Dot product by merging the two sorted index lists.
    pub fn dot(&self, other: &SparseVec) -> f32 {
        let (mut a, mut b, mut sum) = (0, 0, 0.0f64);
        while a < self.indices.len() && b < other.indices.len() {
            match self.indices[a].cmp(&other.indices[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    sum += f64::from(self.values[a]) * f64::from(other.values[b]);
                    a += 1;
                    b += 1;
                }
            }
        }
        sum as f32
    }

    /// Value at `index`, zero when absent.
    pub fn get(&self, index: u32) -> f32 {
        match self.indices.binary_search(&index) {
            Ok(pos) => self.values[pos],
            Err(_) => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_sums_duplicates_and_sorts() {
        let v = SparseVec::from_pairs(vec![(3, 1.0), (1, 2.0), (3, 0.5), (2, 0.0)]);
        assert_eq!(v.indices, vec![1, 3]);
        assert_eq!(v.values, vec![2.0, 1.5]);
    }

    #[test]
    fn dot_matches_dense_product() {
        let a = SparseVec::from_pairs(vec![(0, 1.0), (2, 2.0), (5, 3.0)]);
        let b = SparseVec::from_pairs(vec![(2, 4.0), (5, -1.0), (7, 9.0)]);
        assert_eq!(a.dot(&b), 5.0);
        assert_eq!(a.get(5), 3.0);
        assert_eq!(a.get(4), 0.0);
    }
}
