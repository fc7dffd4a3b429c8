//! Rebuilding the published model: release the windows that closed, apply retention, build
//! the shared model from every stored release, and publish it (precompressed, with an ETag).
//!
//! All privacy-relevant work is the core's: [`release`] (k-threshold and noise, or LDP
//! estimates), [`build_model`] (decay, trending, co-occurrence). Each period is released
//! exactly once ([`Store::release_period`] refuses a second time, also against another
//! process), because a second release with fresh noise would spend the privacy budget again.
//!
//! Recency: a window is released once it has closed (its last day plus
//! `--release-delay-days`), so the model describes the months up to the newest closed window,
//! built as of that window's last day; "trending" compares the newest window with the two
//! before it ([`ModelConfig::default`]).
//!
//! A rebuild whose inputs (the stored releases and the day the model is built as of) are those
//! of the published model builds nothing: the server rebuilds every hour, windows close once a
//! month, and the build will grow a learned item model that takes far longer than the rest.
//!
//! Used by `kindred serve` (on a schedule and on `POST /v1/admin/rebuild`) and by
//! `kindred build-model`.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;

use kindred_core::aggregate::{
    build_model, model_inputs, release, Candidates, ModelConfig, ReleasedCounts,
};
use kindred_core::{Catalog, ModelError, OsRandom, SharedModel};

use crate::config::Settings;
use crate::item_model::{self, EaseConfig};
use crate::store::{Period, Removed, Store, StoreError, StoredModel};

/// Decimal places kept in published scores. Scores are in [0, 1] and only rank items; the
/// counts behind them carry noise of a standard deviation of about 16 (items) to 32 (pairs)
/// shoppers at the default budget, so digits beyond the third are noise about noise.
/// Full-precision f32 digits do not compress: rounding takes the worst-case 10k-item model
/// (tests/model_size.rs) from about 1.7 MB to under 0.8 MB gzip.
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

/// Gzip at the level models are served with (also how `kindred simulate` reports model size).
pub fn gzip(data: &[u8]) -> Vec<u8> {
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
    /// Periods released by this rebuild.
    pub released: Vec<Period>,
    /// Periods that ended before this day are gone (retention).
    pub kept_from: u32,
    pub removed: Removed,
    /// The day the model is built as of: the last day of the newest releasable window.
    pub as_of: u32,
    /// Every release within retention, oldest first (what the model was built from).
    pub releases: Arc<Vec<ReleasedCounts>>,
    /// The model now published.
    pub model: StoredModel,
    /// False when the model came out identical to the one before (same version kept, so
    /// clients get 304s).
    pub changed: bool,
    /// False when the inputs were those of the published model, so nothing was built.
    pub built: bool,
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
        // A weight rounded to 0 adds nothing to any score: not worth its bytes.
        list.retain(|n| n.score > 0.0);
    }
    model.neighbours.retain(|_, list| !list.is_empty());
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

/// The model configuration every build (and the dashboard's decayed pairs) uses: the core's
/// defaults (half-life 60 days, trending over the newest window against the two before).
pub fn model_config() -> ModelConfig {
    ModelConfig::default()
}

/// Builds the shared model from the releases as of `as_of` (the last day of the newest
/// releasable window): the core's model (popularity, trending, co-occurrence, interests), then
/// the learned item model ([`item_model`], EASE with its measured defaults) fitted to the same
/// merged counts, whose weights replace co-occurrence for the items it covers. Everything the
/// published model holds is computed here, for `kindred serve`, `kindred build-model` and
/// `kindred simulate` alike. Version and build day are set by the caller.
///
/// If the item model cannot be fitted (it refuses counts that are not finite, or memory for
/// its matrix runs out), the model keeps co-occurrence and the reason is logged: a
/// model without learned weights is still a correct model.
pub fn build_shared_model(releases: &[ReleasedCounts], as_of: u32) -> SharedModel {
    let config = model_config();
    let mut model = build_model(releases, as_of, &config, 0);
    let inputs = model_inputs(releases, as_of, &config);
    match item_model::fit_inputs(&inputs, &EaseConfig::default()) {
        Ok(weights) => item_model::install(&mut model, &weights),
        Err(e) => {
            tracing::warn!(error = %e, "the learned item model could not be fitted; the model keeps co-occurrence")
        }
    }
    model
}

/// The day a model built on `today` is built as of: the last day of the newest window that can
/// be released, or of the newest release if that is later (a release of a longer or older
/// period). Decay and trending are measured from there, not from today: the open window and
/// those within the release delay have no releases yet, and counting them would age everything
/// and leave the trending window empty.
pub fn model_as_of(settings: &Settings, today: u32, newest_release_last_day: Option<u32>) -> u32 {
    settings
        .privacy
        .newest_releasable_last_day(today)
        .unwrap_or(0)
        .max(newest_release_last_day.unwrap_or(0))
}

/// What a model is built from, as a short string stored with it: this binary's version, the
/// model configuration, the day it is built as of and the released periods. Releases never
/// change once stored, so equal fingerprints mean an identical build.
pub fn inputs_fingerprint(periods: &BTreeSet<Period>, as_of: u32) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(format!("{:?}", model_config()).as_bytes());
    for p in periods {
        hasher.update(&p.window.to_le_bytes());
        hasher.update(&p.days.to_le_bytes());
    }
    format!(
        "kindred {}; as of day {as_of}; {} release(s); {}",
        env!("CARGO_PKG_VERSION"),
        periods.len(),
        &hasher.finalize().to_hex()[..32]
    )
}

/// Releases closed periods, applies retention and, when its inputs changed, builds the model
/// for `today`; stores the model when it changed. `now_ms` is the build time recorded with
/// it. `known` are the releases the caller already holds from the previous rebuild (reused
/// when nothing changed, instead of being read again).
pub fn rebuild(
    store: &mut dyn Store,
    settings: &Settings,
    today: u32,
    now_ms: i64,
    known: Option<Arc<Vec<ReleasedCounts>>>,
) -> Result<Rebuild, RebuildError> {
    let privacy = &settings.privacy;
    let kept_from = today.saturating_sub(settings.retention_days);
    let removed = store.delete_ended_before(kept_from)?;
    let mut released = Vec::new();
    let due: Vec<Period> = store
        .pending_periods()?
        .into_iter()
        .map(|p| p.period)
        .filter(|p| privacy.is_releasable(*p, today))
        .collect();
    if !due.is_empty() {
        // The catalog is read only when a period is released (LDP estimates need it).
        let candidates = candidates(settings)?;
        for period in due {
            let result = store.release_period(period, &mut |counts| {
                release(counts, &privacy.aggregation, &candidates, &mut OsRandom)
            });
            match result {
                Ok(_) => released.push(period),
                // Another process (kindred build-model) released it first: fine.
                Err(StoreError::Released(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let periods = store.released_periods()?;
    let as_of = model_as_of(settings, today, periods.iter().map(Period::last_day).max());
    let inputs = inputs_fingerprint(&periods, as_of);
    let previous = store.latest_model()?;
    let read_releases = |store: &mut dyn Store| -> Result<_, StoreError> {
        Ok(Arc::new(store.releases(kept_from)?))
    };
    if let Some(prev) = previous.as_ref().filter(|p| p.inputs == inputs) {
        let releases = match known {
            Some(r) if released.is_empty() && removed.releases == 0 => r,
            _ => read_releases(store)?,
        };
        return Ok(Rebuild {
            released,
            kept_from,
            removed,
            as_of,
            releases,
            model: prev.clone(),
            changed: false,
            built: false,
        });
    }
    let releases = read_releases(store)?;
    let mut model = build_shared_model(&releases, as_of);
    model.built_epoch = today;
    quantize(&mut model);
    if let Some(prev) = &previous {
        model.version = prev.version;
        if model.to_json() == prev.json {
            // Same bytes: keep the version (clients get 304s), remember the new inputs.
            let kept = StoredModel {
                inputs,
                ..prev.clone()
            };
            store.save_model(&kept)?;
            return Ok(Rebuild {
                released,
                kept_from,
                removed,
                as_of,
                releases,
                model: kept,
                changed: false,
                built: true,
            });
        }
    }
    model.version = previous.map_or(1, |p| p.version + 1);
    let stored = StoredModel {
        version: model.version,
        built_at_ms: now_ms,
        json: model.to_json(),
        inputs,
    };
    store.save_model(&stored)?;
    Ok(Rebuild {
        released,
        kept_from,
        removed,
        as_of,
        releases,
        model: stored,
        changed: true,
        built: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_core::{ModelBuilder, Neighbour};

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
