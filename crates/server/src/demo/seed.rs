//! `kindred demo-seed`: three months of made-up shopping in a fresh demo database, so the
//! demo's "popular", "trending" and "bought together" rails have other shoppers behind them on
//! the first visit.
//!
//! Nothing here takes a shortcut around the privacy pipeline; only the shoppers (and the days
//! their browsers send on) are fake:
//!
//! 1. [`shoppers::simulate`] makes each shopper's views, carts, purchases and clicks on the
//!    storefront's rails (seeded).
//! 2. Each shopper is a [`Client`], the simulator's browser: the real core engine in threshold
//!    mode with the server's budget, window length and caps, shown the product page's rails
//!    with every view ([`shoppers::PRODUCT_PAGE_RAILS`]), committing its reports at each
//!    midnight after an active day.
//! 3. The reports go through the server's ingest exactly as `POST /v1/reports` batches do, on
//!    the day their browser sent them: [`ingest::parse`] validates them under the server's
//!    [`IngestPolicy`] with that day as "today", and the [`Ingestor`] commits their counters
//!    in group transactions. A report that a browser would have sent after its window's
//!    release delay is dropped, as the server would refuse it.
//! 4. [`build_model::rebuild`] releases the windows (k-threshold and noise from the OS, as the
//!    server does) and publishes the model once, like `kindred build-model`.
//!
//! The simulated days end with the last day of the newest window the settings allow to be
//! released today, so every window they cover is released at once and the model is ready
//! before the server starts. The default 90 days are that window and the two before it: the
//! newest window for "trending", the two before as its baseline. Because the data is fake,
//! the command refuses a database that already holds counters or releases unless `--force` is
//! given.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kindred_core::{
    epoch_of, Catalog, Engine, EngineConfig, EngineError, Mode, ModelError, PrivacyConfig,
    SharedModel,
};
use rayon::prelude::*;

use super::shoppers::{self, ShopperError};
use crate::build_model::{self, RebuildError};
use crate::config::{CommonArgs, ConfigError, PrivacySettings, Settings};
use crate::ingest::writer::{CommitError, Ingestor};
use crate::ingest::{self, IngestPolicy, MAX_BATCH, MAX_BODY_BYTES};
use crate::metrics::Metrics;
use crate::simulate::client::{Client, ClientError};
use crate::simulate::device_seed;
use crate::store::{self, Period, StoreError};
use crate::time::{self, date_of};

/// Most shoppers `--shoppers` accepts.
pub const MAX_SHOPPERS: usize = 100_000;
/// Most days `--days` accepts: a year (and a day), the most the default retention keeps.
pub const MAX_DAYS: u32 = 366;
/// Default `--days`: the newest releasable 30-day window and the two before it, so trending
/// has its baseline.
pub const DEFAULT_DAYS: u32 = 90;
/// Batches waiting for the writer at once: enough to fill its group commits, far below its
/// queue's capacity.
const IN_FLIGHT: usize = 32;

/// `kindred demo-seed` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Simulated shoppers (1 to 100000).
    #[arg(long, default_value_t = 400, value_parser = parse_shoppers)]
    pub shoppers: usize,
    /// Days of shopping (1 to 366), ending with the last day of the newest window that can be
    /// released today.
    #[arg(long, default_value_t = DEFAULT_DAYS, value_parser = parse_days)]
    pub days: u32,
    /// Seed of the made-up shoppers. The privacy noise of the release does not use it: it
    /// comes from the operating system, as in `kindred serve`.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Add the made-up reports even when the database already holds counters or releases
    /// (reports for windows already released are left out).
    #[arg(long)]
    pub force: bool,
    /// The database and privacy settings, as for `kindred build-model`; --catalog (the
    /// storefront's catalog JSON, e.g. www/catalog.json) is required.
    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_shoppers(text: &str) -> Result<usize, String> {
    super::count_from_one(text, MAX_SHOPPERS, "shoppers")
}

fn parse_days(text: &str) -> Result<u32, String> {
    super::count_from_one(text, MAX_DAYS as usize, "days").map(|n| n as u32)
}

/// Why the demo data was not seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoSeedError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("--catalog is required: the storefront's catalog JSON the shoppers shop from (e.g. www/catalog.json, from `kindred demo-catalog`)")]
    NoCatalog,
    #[error("cannot read the catalog {path}: {problem}")]
    Catalog { path: PathBuf, problem: String },
    #[error("the settings accept only {0} reports, and demo-seed sends threshold reports (the browser's default): add threshold to --modes")]
    NoThreshold(String),
    #[error("--days {days} would start on {first}, before the {retention} days the database keeps: use at most {max} days or a longer --retention-days")]
    TooManyDays {
        days: u32,
        first: String,
        retention: u32,
        max: u32,
    },
    #[error("the database {database} already holds shopping data ({pending} window(s) of counters, {released} released window(s)); demo-seed never mixes made-up shoppers into a shop's data: use a new --database, or --force to add them anyway")]
    NotEmpty {
        database: String,
        pending: usize,
        released: usize,
    },
    #[error(transparent)]
    Shoppers(#[from] ShopperError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("simulated browser: {0}")]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server's ingest refused a simulated report ({code}): {detail}")]
    Refused { code: &'static str, detail: String },
    #[error("storing the reports failed: {0}")]
    Commit(#[from] CommitError),
    #[error("storing the reports failed: {0}")]
    Close(String),
    #[error("cannot start the runtime the ingest writer answers on: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    #[error("the published model is invalid: {0}")]
    Model(#[from] ModelError),
}

/// What `kindred demo-seed` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeded {
    pub shoppers: usize,
    /// The first and last simulated day.
    pub first_day: u32,
    pub last_day: u32,
    pub reports: u64,
    /// Reports left out: their window was released before (only with `--force`) ...
    pub already_released: u64,
    /// ... or their browser sent them after the window's release delay.
    pub late: u64,
    /// Periods the rebuild released.
    pub released: Vec<Period>,
    pub model_version: u64,
    pub popular: usize,
    pub trending: usize,
    pub neighbour_lists: usize,
    pub interests: usize,
    pub elapsed: Duration,
}

impl std::fmt::Display for Seeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let days = self.last_day + 1 - self.first_day;
        let span = if days == 1 {
            date_of(self.first_day)
        } else {
            format!("{} to {}", date_of(self.first_day), date_of(self.last_day))
        };
        let mut left_out = Vec::new();
        if self.already_released > 0 {
            left_out.push(format!(
                "{} for already released windows",
                self.already_released
            ));
        }
        if self.late > 0 {
            left_out.push(format!(
                "{} sent after their window's release delay",
                self.late
            ));
        }
        write!(
            f,
            "submitted {} reports from {} simulated shoppers over {days} day(s) ({span}){}; released {} window(s); model version {}: {} popular items, {} trending, {} neighbour lists, {} interests ({:.1} s)",
            self.reports,
            self.shoppers,
            if left_out.is_empty() {
                String::new()
            } else {
                format!("; left out {}", left_out.join(" and "))
            },
            self.released.len(),
            self.model_version,
            self.popular,
            self.trending,
            self.neighbour_lists,
            self.interests,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The browser's privacy settings matching the server's: threshold mode, the server's
/// budget, window length and caps (reports beyond its caps would be refused).
fn device_privacy(privacy: &PrivacySettings) -> PrivacyConfig {
    privacy.aggregation.client_privacy()
}

/// Request bodies as a relay would post them: JSON arrays of reports, each within the
/// server's batch and body limits.
fn batches(reports: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut body = String::from("[");
    let mut count = 0;
    for report in reports {
        if count > 0 && (count == MAX_BATCH || body.len() + report.len() + 2 > MAX_BODY_BYTES) {
            body.push(']');
            out.push(std::mem::replace(&mut body, String::from("[")));
            count = 0;
        }
        if count > 0 {
            body.push(',');
        }
        body.push_str(report);
        count += 1;
    }
    if count > 0 {
        body.push(']');
        out.push(body);
    }
    out
}

/// The period a browser's report counts in (the bytes submitted are the browser's own; this
/// only sorts them by window).
fn period_of(json: &str) -> Option<Period> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let field = |name: &str| v.get(name)?.as_u64().and_then(|n| u32::try_from(n).ok());
    Some(Period::new(field("window")?, field("days")?))
}

/// Seeds the database and prints one summary line on stdout.
pub fn run(args: &Args) -> Result<Seeded, DemoSeedError> {
    let started = Instant::now();
    let settings = Settings::resolve(&args.common)?;
    let privacy = &settings.privacy;
    let catalog_path = privacy.catalog.clone().ok_or(DemoSeedError::NoCatalog)?;
    if !privacy.modes.contains(&Mode::Threshold) {
        let modes: Vec<&str> = privacy.modes.iter().map(|m| m.name()).collect();
        return Err(DemoSeedError::NoThreshold(modes.join(" and ")));
    }
    let today = time::today();
    // Retention deletes what ended before `oldest_kept`; the second test catches a clock
    // before 1970 + `days`.
    let last = privacy.newest_releasable_last_day(today).unwrap_or(0);
    let oldest_kept = today.saturating_sub(settings.retention_days);
    let first = (last + 1).saturating_sub(args.days);
    if first < oldest_kept || first + args.days != last + 1 {
        return Err(DemoSeedError::TooManyDays {
            days: args.days,
            first: date_of(first),
            retention: settings.retention_days,
            max: (last + 1).saturating_sub(oldest_kept),
        });
    }
    let text = std::fs::read_to_string(&catalog_path).map_err(|e| DemoSeedError::Catalog {
        path: catalog_path.clone(),
        problem: e.to_string(),
    })?;
    let (catalog, _) = Catalog::from_json(&text).map_err(|e| DemoSeedError::Catalog {
        path: catalog_path.clone(),
        problem: e.to_string(),
    })?;

    let backend = store::open_backend(&settings.database)?;
    let mut store = backend.open()?;
    let released_before = store.released_periods()?;
    let pending = store.pending_periods()?;
    let holds_data = !released_before.is_empty() || !pending.is_empty();
    if holds_data && !args.force {
        return Err(DemoSeedError::NotEmpty {
            database: settings.database.clone(),
            pending: pending.len(),
            released: released_before.len(),
        });
    }

    // Shoppers and their browsers.
    let events = shoppers::simulate(&catalog, args.shoppers, first, args.days, args.seed)?;
    debug_assert!(events
        .iter()
        .flatten()
        .all(|e| (first..=last).contains(&epoch_of(e.ts))));
    let mut template = Engine::with_config(EngineConfig {
        privacy: device_privacy(privacy),
        ..EngineConfig::default()
    })?;
    template.set_catalog(catalog);
    let sent: Vec<(u32, String)> = events
        .par_iter()
        .enumerate()
        .map(|(i, shopper)| {
            let mut client = Client::new(&template, device_seed(args.seed, i))
                .showing(&shoppers::PRODUCT_PAGE_RAILS);
            let mut sent = Vec::new();
            client.replay(shopper, &mut |day, report| sent.push((day, report)))?;
            Ok(sent)
        })
        .collect::<Result<Vec<Vec<(u32, String)>>, ClientError>>()?
        .into_iter()
        .flatten()
        .collect();
    // By the day they were sent on, as the server would have received them.
    let mut by_day: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let (mut already_released, mut late) = (0u64, 0u64);
    let released_before: BTreeSet<Period> = released_before;
    for (day, report) in sent {
        match period_of(&report) {
            Some(p) if released_before.contains(&p) => already_released += 1,
            Some(p) if !privacy.accepts(p, day) => late += 1,
            _ => by_day.entry(day).or_default().push(report),
        }
    }

    // The server's ingest path: parse each batch under the server's policy on its day,
    // commit through the one writer.
    let policy = IngestPolicy {
        privacy: privacy.clone(),
    };
    let mut submitted = 0u64;
    let ingestor = Ingestor::start(store, Metrics::new())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DemoSeedError::Runtime)?;
    let result: Result<(), DemoSeedError> = runtime.block_on(async {
        let mut in_flight = VecDeque::new();
        for (day, reports) in &by_day {
            for body in batches(reports) {
                let submission =
                    ingest::parse(body.as_bytes(), &policy, *day, &|p| ingestor.is_released(p))
                        .map_err(|r| DemoSeedError::Refused {
                            code: r.code,
                            detail: r.detail,
                        })?;
                submitted += u64::from(submission.reports);
                in_flight.push_back(ingestor.submit(submission)?);
                if in_flight.len() >= IN_FLIGHT {
                    if let Some(answer) = in_flight.pop_front() {
                        answer.await.unwrap_or(Err(CommitError::Closed))?;
                    }
                }
            }
        }
        for answer in in_flight {
            answer.await.unwrap_or(Err(CommitError::Closed))?;
        }
        Ok(())
    });
    // Close (commit and flush) whatever happened above.
    let closed = runtime.block_on(ingestor.close());
    result?;
    closed.map_err(DemoSeedError::Close)?;

    // Release the windows and publish the model once, as `kindred build-model` does.
    let mut store = backend.open()?;
    let rebuild = build_model::rebuild(&mut *store, &settings, today, time::now_ms(), None)?;
    store.flush()?;
    let model = SharedModel::from_json(&rebuild.model.json)?;
    let seeded = Seeded {
        shoppers: args.shoppers,
        first_day: first,
        last_day: last,
        reports: submitted,
        already_released,
        late,
        released: rebuild.released,
        model_version: rebuild.model.version,
        popular: model.popularity.len(),
        trending: model.trending.len(),
        neighbour_lists: model.neighbours.len(),
        interests: model.interests.len(),
        elapsed: started.elapsed(),
    };
    println!("{seeded}");
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_batch_and_body_limits() {
        let small: Vec<String> = (0..250).map(|i| format!("{{\"r\":{i}}}")).collect();
        let b = batches(&small);
        assert_eq!(b.len(), 3);
        for body in &b {
            let parsed: Vec<serde_json::Value> = serde_json::from_str(body).expect("JSON array");
            assert!(parsed.len() <= MAX_BATCH);
        }
        let big: Vec<String> = (0..5)
            .map(|_| format!("\"{}\"", "x".repeat(30_000)))
            .collect();
        let b = batches(&big);
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|body| body.len() <= MAX_BODY_BYTES));
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn counts_outside_their_range_are_refused_with_the_range() {
        assert_eq!(parse_shoppers("400"), Ok(400));
        assert!(parse_shoppers("0")
            .expect_err("0")
            .contains("from 1 to 100000"));
        assert_eq!(parse_days("90"), Ok(90));
        assert!(parse_days("367")
            .expect_err("367")
            .contains("from 1 to 366"));
    }
}
