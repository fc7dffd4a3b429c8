//! kindred-core: the personalization engine shared by the browser module, the server and the
//! simulator. Pure Rust: no wasm-bindgen, js-sys or web-sys, not even behind a feature.
//!
//! The code is in layers, each a folder that only uses the layers below it (the map, with the
//! dependency direction and where tests live, is `docs/ARCHITECTURE.md`):
//! `lean` and `strategy` (shared by all), `text`, `catalog`, `shopper`, `model`, `recommend`,
//! `privacy`, `aggregate` (the server side) and `engine` (one shopper's [`Engine`], composing
//! them). The modules are private except [`aggregate`], the server's own API, and [`lean`],
//! which the browser module shares; everything else a caller needs is re-exported here.
#![forbid(unsafe_code)]

/// One UTC day in milliseconds: the one day length of kindred (UTC day numbers, retention,
/// decay half-lives, contribution windows), for the engine, the server, the simulator, the
/// tests and the benches alike. Days are counted in UTC without leap seconds, as Unix time is.
pub const DAY_MS: i64 = 86_400_000;

pub mod aggregate;
mod catalog;
mod engine;
pub mod lean;
mod model;
mod privacy;
mod recommend;
mod shopper;
mod strategy;
mod text;

// One shopper's engine, its settings, persisted state and export.
pub use engine::{
    Affinities, DayCounts, Engine, EngineConfig, EngineError, EventWeights, ExportedEvent,
    ShopperData, SnapshotError, SNAPSHOT_VERSION,
};

// The catalog and its content index.
pub use catalog::index::{ContentIndex, FieldWeights};
pub use catalog::items::{
    normalize_category, Catalog, CatalogError, Item, JsonKind, JsonLike, LoadReport, RejectedRow,
    MAX_EXACT_INTEGER, MAX_ID_BYTES,
};
pub use text::sparse::SparseVec;
pub use text::tfidf::{fit_transform_texts, Tfidf, Vocabulary};
pub use text::tokenizer::{is_cjk, tokenize};

// The shopper: behaviour and interest profile.
pub use shopper::history::{
    clamp_time, Event, EventError, EventInput, EventKind, History, ItemStats, Session,
    MAX_QUERY_CHARS, MAX_TIMESTAMP_MS,
};
pub use shopper::profile::{interest_keys, Interest, Profile};

// The shared model and the recommenders.
pub use model::shared::{
    BuilderConfig, ItemModelInfo, ModelBuilder, ModelError, Neighbour, Segment, SharedModel,
    MODEL_FORMAT,
};
pub use recommend::explain::{Explanation, ForYouPlacement, MatchedInterest};
pub use recommend::rules::{
    Boost, Filter, Pin, RecommendRequest, Recommendation, RequestError, MAX_K,
};
pub use strategy::Strategy;

// What leaves the device and what it may cost: settings, reports, windows, the ledger.
pub use privacy::budget::{Budget, DEFAULT_DELTA, DEFAULT_EPSILON};
pub use privacy::config::{PrivacyConfig, PrivacyConfigError, MAX_KEY_CAP};
pub use privacy::device::{
    DayCounters, PreparedReport, PrivacyError, PrivacyOverview, PrivacyState,
};
pub use privacy::ldp::Olh;
pub use privacy::ledger::{Ledger, LedgerError, LedgerSummary, Spend, WindowSpend};
pub use privacy::noise::{OsRandom, RandomError, RandomSource, SplitMix64};
pub use privacy::report::{
    key_problem, Caps, Family, LdpParams, LdpReport, LdpValue, Mode, Report, ReportError,
    ReportLimits, StrategyCounts, DEFAULT_WINDOW_DAYS, MAX_REPORT_BYTES, REPORT_VERSION,
};
pub use privacy::window::{
    epoch_of, next_contribution, window_of, Contribution, WindowActivity, WindowState,
};

/// The Rust examples of docs/RANKING.md, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/RANKING.md")]
pub struct RankingDocExamples;
