//! The shared model as the recommenders read it: item ids resolved to catalog slots once per
//! catalog or model change, so ranking indexes dense vectors instead of looking ids up.

use std::sync::Arc;

use crate::catalog::items::Catalog;
use crate::lean::{dot, Matrix, SortedMap};
use crate::model::shared::SharedModel;
use crate::shopper::profile::Interest;

/// The shared model with item ids resolved to catalog indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResolvedModel {
    /// Shared, like the resolved model, so re-resolving never copies it.
    pub model: Arc<SharedModel>,
    pub popularity: Vec<f32>,
    pub trending: Vec<f32>,
    pub neighbours: Vec<Vec<(u32, f32)>>,
    /// Rows are segment centroids over `model.segment_axis`.
    pub centroids: Matrix,
}

impl ResolvedModel {
    pub fn resolve(model: Arc<SharedModel>, catalog: &Catalog) -> Self {
        let slots = catalog.slots();
        let dense = |map: &SortedMap<String, f32>| {
            let mut v = vec![0.0f32; slots];
            for (id, &s) in map {
                if let Some(i) = catalog.index_of(id) {
                    v[i as usize] = s;
                }
            }
            v
        };
        let mut neighbours = vec![Vec::new(); slots];
        for (id, list) in &model.neighbours {
            if let Some(i) = catalog.index_of(id) {
                neighbours[i as usize] = list
                    .iter()
                    .filter_map(|n| catalog.index_of(&n.item).map(|j| (j, n.score)))
                    .collect();
            }
        }
        let dim = model.segment_axis.len();
        let mut centroids = Matrix::zeros(model.segments.len(), dim);
        for (r, s) in model.segments.iter().enumerate() {
            if s.centroid.len() == dim {
                centroids.row_mut(r).copy_from_slice(&s.centroid);
            }
        }
        ResolvedModel {
            popularity: dense(&model.popularity),
            trending: dense(&model.trending),
            neighbours,
            centroids,
            model,
        }
    }

    /// Whether the model says anything about item `id` (an item it knows must be resolved
    /// again when it changes slot).
    pub fn knows(&self, id: &str) -> bool {
        self.model.popularity.contains_key(id) || self.model.neighbours.contains_key(id)
    }

    /// Makes room for a catalog grown to `slots` by items the model does not know.
    pub fn grow_to(&mut self, slots: usize) {
        self.popularity.resize(slots, 0.0);
        self.trending.resize(slots, 0.0);
        self.neighbours.resize(slots, Vec::new());
    }

    pub fn has_segments(&self) -> bool {
        self.centroids.rows() > 0
    }

    /// The segment closest (cosine) to a shopper with these interests, if any.
    pub fn closest_segment(&self, interests: Vec<Interest>) -> Option<(String, f32)> {
        let interests: crate::lean::HashMap<String, f64> =
            interests.into_iter().map(|i| (i.key, i.weight)).collect();
        let axis = &self.model.segment_axis;
        let user: Vec<f32> = axis
            .iter()
            .map(|k| interests.get(k).map_or(0.0, |&w| w as f32))
            .collect();
        let un = dot(&user, &user).sqrt();
        if un == 0.0 {
            return None;
        }
        let sims = self.centroids.mul_vec(&user);
        let (best, sim) = sims.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        let row = self.centroids.row(best);
        let cn = dot(row, row).sqrt().max(f32::MIN_POSITIVE);
        Some((self.model.segments[best].label.clone(), sim / (un * cn)))
    }
}
