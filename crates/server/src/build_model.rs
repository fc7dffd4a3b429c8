//! Rebuilding the published model: release the days that closed, apply retention, build the
//! shared model from every stored release, and publish it (precompressed, with an ETag).
//!
//! All privacy-relevant work is the core's: [`release`] (k-threshold and noise, or LDP
//! estimates), [`build_model`] (decay, trending, co-occurrence). Each day is released exactly
//! once ([`Store::release_day`] refuses a second time), because a second release with fresh
//! noise would spend the privacy budget again.
//!
//! Used by `kindred serve` (on a schedule and on `POST /v1/admin/rebuild`) and by
//! `kindred build-model`.

use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;

use kindred_core::aggregate::{build_model, release, Candidates, ModelConfig, ReleasedCounts};
use kindred_core::catalog::Catalog;
use kindred_core::model::{ModelError, SharedModel};
use kindred_core::OsRandom;

use crate::config::Settings;
use crate::store::{Removed, Store, StoreError, StoredModel};

/// Decimal places kept in published scores. Scores are in [0, 1] and only rank items; the
/// counts behind them carry noise of standard deviation 45 (items) to 91 (pairs) reports at
/// epsilon 1, so digits beyond the third are noise about noise. Full-precision f32 digits do
/// not compress: rounding takes the worst-case 10k-item model (tests/model_size.rs) from
/// about 1.7 MB to under 0.8 MB gzip.
pub const SCORE_DECIMALS: i32 = 3;

/// Why a rebuild failed. Nothing is published then; the previous model stays.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the catalog {path}: {problem}")]
    Catalog { path: String, problem: String },
    #[error("the stored model is invalid: {0}")]
    Model(#[from] ModelError),
}

/// A model ready to serve: the exact bytes, precompressed once per build rather than per
/// request, and its validator.
#[derive(Debug, Clone)]
pub struct Published {
    pub version: u64,
    pub built_at_ms: i64,
    /// Strong validator: version and a hash of the bytes, so a reset database that starts
    /// versions at 1 again cannot collide with what caches hold.
    pub etag: String,
    pub json: Bytes,
    pub gzip: Bytes,
    pub br: Bytes,
    /// The parsed model (for the dashboard's top lists).
    pub model: Arc<SharedModel>,
}

impl Published {
    /// Validates a stored model the way a client will ([`SharedModel::from_json`]) and
    /// compresses it.
    pub fn from_stored(stored: &StoredModel) -> Result<Published, ModelError> {
        let model = SharedModel::from_json(&stored.json)?;
        let bytes = stored.json.as_bytes();
        let hash = blake3::hash(bytes).to_hex();
        Ok(Published {
            version: stored.version,
            built_at_ms: stored.built_at_ms,
            etag: format!("\"{}-{}\"", stored.version, &hash[..16]),
            json: Bytes::copy_from_slice(bytes),
            gzip: gzip(bytes).into(),
            br: brotli(bytes).into(),
            model: Arc::new(model),
        })
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Quality 9 of 11: within 25% of the best size at a fraction of the time (quality 11 takes
/// seconds per megabyte, which a rebuild every hour does not need to spend).
fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 64 * 1024, 9, 22);
        let _ = w.write_all(data);
    }
    out
}

/// What a rebuild did.
#[derive(Debug, Clone)]
pub struct Rebuild {
    /// Days released by this rebuild.
    pub released: Vec<u32>,
    /// Days before this one are gone (retention).
    pub kept_from: u32,
    pub removed: Removed,
    /// Every release within retention, oldest first (what the model was built from).
    pub releases: Vec<ReleasedCounts>,
    /// The model now published.
    pub model: StoredModel,
    /// False when the model came out identical to the one before (same version kept, so
    /// clients get 304s).
    pub changed: bool,
}

/// Rounds every score of a model to [`SCORE_DECIMALS`] places.
pub fn quantize(model: &mut SharedModel) {
    let f = 10f32.powi(SCORE_DECIMALS);
    let q = |v: &mut f32| *v = (*v * f).round() / f;
    model
        .popularity
        .values_mut()
        .chain(model.trending.values_mut())
        .chain(model.interests.values_mut())
        .for_each(q);
    for list in model.neighbours.values_mut() {
        list.iter_mut().for_each(|n| q(&mut n.score));
    }
    for s in &mut model.segments {
        q(&mut s.share);
        s.centroid.iter_mut().for_each(q);
    }
}

fn candidates(settings: &Settings) -> Result<Candidates, RebuildError> {
    let Some(path) = &settings.privacy.catalog else {
        return Ok(Candidates::default());
    };
    let bad = |problem: String| RebuildError::Catalog {
        path: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let (catalog, _) = Catalog::from_json(&text).map_err(|e| bad(e.to_string()))?;
    Ok(Candidates::from_catalog(&catalog))
}

/// Releases closed days, applies retention and builds the model for `today`; stores the
/// model when it changed. `now_ms` is the build time recorded with it.
pub fn rebuild(
    store: &mut dyn Store,
    settings: &Settings,
    today: u32,
    now_ms: i64,
) -> Result<Rebuild, RebuildError> {
    let privacy = &settings.privacy;
    let kept_from = today.saturating_sub(settings.retention_days);
    let removed = store.delete_before(kept_from)?;
    let mut released = Vec::new();
    if let Some(last) = privacy.last_releasable(today) {
        let due: Vec<u32> = store
            .pending_days()?
            .into_iter()
            .map(|d| d.epoch)
            .filter(|e| *e <= last)
            .collect();
        if !due.is_empty() {
            // The catalog is read only when a day is released (LDP estimates need it).
            let candidates = candidates(settings)?;
            for epoch in due {
                let result = store.release_day(epoch, &mut |counts| {
                    release(counts, &privacy.aggregation, &candidates, &mut OsRandom)
                });
                match result {
                    Ok(_) => released.push(epoch),
                    // Another process (kindred build-model) released it first: fine.
                    Err(StoreError::Released(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let releases = store.releases(kept_from)?;
    // Decay and trending are measured from the newest day that can be released, not from
    // today: today and the days within the release delay have no releases yet, and counting
    // them would age everything and leave the trending window empty.
    let as_of = privacy
        .last_releasable(today)
        .unwrap_or(0)
        .max(releases.last().map_or(0, |r| r.epoch));
    let mut model = build_model(&releases, as_of, &ModelConfig::default(), 0);
    model.built_epoch = today;
    quantize(&mut model);
    let previous = store.latest_model()?;
    if let Some(prev) = &previous {
        model.version = prev.version;
        if model.to_json() == prev.json {
            return Ok(Rebuild {
                released,
                kept_from,
                removed,
                releases,
                model: prev.clone(),
                changed: false,
            });
        }
    }
    model.version = previous.map_or(1, |p| p.version + 1);
    let stored = StoredModel {
        version: model.version,
        built_at_ms: now_ms,
        json: model.to_json(),
    };
    store.save_model(&stored)?;
    Ok(Rebuild {
        released,
        kept_from,
        removed,
        releases,
        model: stored,
        changed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::model::{ModelBuilder, Neighbour};

    #[test]
    fn quantized_models_stay_valid_and_round_trip() {
        let mut b = ModelBuilder::default();
        b.item("a", 123.0).item("b", 7.0).pair("a", "b", 5.0);
        b.interest("brand:Acme", 3.0).interest("brand:Other", 7.0);
        let mut m = b.build(1, 20_000);
        m.neighbours.insert(
            "c".into(),
            vec![Neighbour {
                item: "a".into(),
                score: 0.123_456_79,
            }],
        );
        quantize(&mut m);
        assert_eq!(m.neighbours["c"][0].score, 0.123);
        let json = m.to_json();
        assert!(json.contains("\"score\":0.123}"), "{json}");
        assert_eq!(SharedModel::from_json(&json).expect("valid"), m);
    }
}
