//! `kindred simulate`: replays a shop's event log through simulated browsers and writes the
//! recommendations each shopper would get, so a shop owner can measure quality (with
//! `kindred evaluate`) and the cost of each privacy setting before deploying.
//!
//! 1. **Clients.** Every shopper of the events file is a [`client::Client`]: its own core
//!    [`Engine`] (the browser module's engine; clones share the immutable catalog index),
//!    replaying only that shopper's events in time order and committing every due report at
//!    each UTC midnight after an active day. Clients run in parallel.
//! 2. **Aggregator.** An [`aggregator::Aggregator`] on its own thread receives the report
//!    bytes through a channel, validates and counts them per contribution window, releases
//!    each window that has closed by the recommendation time once and builds the shared
//!    model: the server's code, with nothing but reports as input. A window still open then is
//!    not released, as a real server would not have released it yet.
//! 3. **Recommendations.** The model goes out as JSON. Each shopper of the users file loads
//!    it into a fresh engine, restores its own saved state (its snapshot, as a page load does)
//!    and asks for its top-k, at the UTC midnight after the last event.
//!
//! Privacy modes: `threshold` and `ldp` are the product's modes. `off` is a simulation-only
//! upper bound (in the product `off` sends nothing): clients report with the largest caps the
//! wire format accepts (256 items, pairs and interests per window) and a budget so large the
//! ledger never blocks, and the aggregator releases every key exactly (k = 1, no noise), i.e.
//! what a conventional server that sees everything would learn through the same engine. A
//! `--k-threshold` so large that nothing is released gives the other bound: the device on its
//! own.

mod aggregator;
pub(crate) mod client;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use clap::ValueEnum;
use kindred_core::aggregate::{AggregateError, AggregationConfig, Candidates};
use kindred_core::{
    epoch_of, Caps, Engine, EngineConfig, EngineError, Mode, PrivacyConfig, RecommendRequest,
    Recommendation, SharedModel, Strategy, DAY_MS, DEFAULT_DELTA, DEFAULT_EPSILON,
    DEFAULT_WINDOW_DAYS, MAX_KEY_CAP,
};
use rayon::prelude::*;

use crate::csv_input::{self, InputError};
use aggregator::Aggregator;
use client::{Client, ClientError};

/// The `off` upper bound's budget per window: so large that the ledger never blocks a report
/// (the largest `PrivacyConfig::validate` accepts; without noise it protects nothing anyway).
const OFF_EPSILON: f64 = 100.0;

/// Privacy setting of a simulation run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrivacyArg {
    /// Upper bound: exact counts of everything, no threshold, no noise (simulation only).
    Off,
    /// The default: bounded contributions per window, k-threshold and central DP noise.
    Threshold,
    /// Local DP: reports randomized on the device.
    Ldp,
}

/// `kindred simulate` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Events CSV (`user,item,ts,type,basket,quantity,price`), gzip when it ends in .gz.
    #[arg(long, value_name = "EVENTS.csv[.gz]")]
    pub events: PathBuf,
    /// Items CSV (`item,title`, optionally `price,description,categories,brand`).
    #[arg(long, value_name = "ITEMS.csv")]
    pub items: PathBuf,
    /// The shoppers to recommend for, one id per line.
    #[arg(long, value_name = "USERS.txt")]
    pub users: PathBuf,
    /// Recommender: for-you, trending, recently-viewed or buy-again.
    #[arg(long, default_value = "for-you", value_parser = parse_strategy)]
    pub strategy: Strategy,
    /// Recommendations per shopper (1 to 500).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// off (upper bound, simulation only), threshold (the default) or ldp.
    #[arg(long, value_enum, default_value = "threshold")]
    pub privacy: PrivacyArg,
    /// Epsilon per shopper per window (the clients' `epsilonPerWindow` and the server's
    /// `--epsilon`), in (0, 100].
    #[arg(long, default_value_t = DEFAULT_EPSILON)]
    pub epsilon: f64,
    /// Delta of the (epsilon, delta) budget per shopper per window, in (0, 0.001].
    #[arg(long, default_value_t = DEFAULT_DELTA)]
    pub delta: f64,
    /// Length of a contribution window in days (the clients' `windowDays`, the server's
    /// `--window-days`).
    #[arg(long, default_value_t = DEFAULT_WINDOW_DAYS)]
    pub window_days: u32,
    /// Ldp mode: epsilon of each randomized report (the clients' `ldpEpsilon`), in (0, 10].
    #[arg(long, default_value_t = 1.0)]
    pub ldp_epsilon: f64,
    /// Threshold mode: distinct shoppers a key needs in a window before it is released.
    #[arg(long, default_value_t = 10)]
    pub k_threshold: u64,
    /// Threshold mode without noise: the k-threshold alone, exact counts (not differentially
    /// private; measures what the noise costs).
    #[arg(long)]
    pub no_noise: bool,
    /// Threshold and ldp modes: window caps on items, pairs and interests per shopper
    /// (default: the core's, the clients' default `privacy.caps`).
    #[arg(long, value_name = "N")]
    pub cap_items: Option<u32>,
    #[arg(long, value_name = "N")]
    pub cap_pairs: Option<u32>,
    #[arg(long, value_name = "N")]
    pub cap_interests: Option<u32>,
    /// Leave out items the shopper viewed or bought (the default for for-you).
    #[arg(long, conflicts_with = "include_seen")]
    pub exclude_seen: bool,
    /// Allow items the shopper viewed or bought (for buy-again style evaluation).
    #[arg(long)]
    pub include_seen: bool,
    /// Where to write `user,rank,item,score`.
    #[arg(long, value_name = "RECS.csv")]
    pub out: PathBuf,
    /// Seed of the simulated devices' and server's randomness (sampling, noise, LDP), so runs
    /// are reproducible. Real devices and servers draw from the operating system instead.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days of behaviour each simulated device keeps (the browser's `retentionDays`; 90 is
    /// its default).
    #[arg(long, default_value_t = 90.0, value_parser = parse_retention)]
    pub retention_days: f64,
    /// Days each simulated device remembers its purchases (the browser's
    /// `purchaseMemoryDays`; 395 is its default).
    #[arg(long, default_value_t = 395.0, value_parser = parse_retention)]
    pub purchase_memory_days: f64,
    /// Also write the shared model (JSON) the shoppers downloaded.
    #[arg(long, value_name = "MODEL.json")]
    pub model_out: Option<PathBuf>,
}

fn parse_retention(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(days) if days.is_finite() && (1.0..=3650.0).contains(&days) => Ok(days),
        _ => Err(format!("\"{text}\" is not a number of days from 1 to 3650")),
    }
}

fn parse_strategy(name: &str) -> Result<Strategy, String> {
    match Strategy::from_name(name) {
        Some(s) if !s.needs_item() => Ok(s),
        Some(_) => Err(format!(
            "\"{name}\" needs an anchor item; simulate runs for-you, trending, recently-viewed or buy-again"
        )),
        None => Err(format!(
            "unknown strategy \"{name}\": use for-you, trending, recently-viewed or buy-again"
        )),
    }
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("simulated client: {0}")]
    Client(#[from] ClientError),
    #[error("aggregator: {0}")]
    Aggregate(#[from] AggregateError),
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the aggregator thread failed")]
    AggregatorPanicked,
}

/// The device and server settings of a privacy mode.
#[derive(Debug, Clone, Copy)]
struct Settings {
    device: PrivacyConfig,
    server: AggregationConfig,
}

impl Settings {
    fn new(args: &Args) -> Settings {
        let defaults = PrivacyConfig::default();
        let (mode, caps, epsilon) = match args.privacy {
            PrivacyArg::Off => {
                let caps = Caps {
                    items: MAX_KEY_CAP,
                    pairs: MAX_KEY_CAP,
                    interests: MAX_KEY_CAP,
                    ..Caps::default()
                };
                (Mode::Threshold, caps, OFF_EPSILON)
            }
            PrivacyArg::Threshold => (Mode::Threshold, chosen_caps(args), args.epsilon),
            PrivacyArg::Ldp => (Mode::Ldp, chosen_caps(args), args.epsilon),
        };
        let device = PrivacyConfig {
            mode,
            epsilon_per_window: epsilon,
            delta: args.delta,
            window_days: args.window_days,
            caps,
            ldp_epsilon: args.ldp_epsilon,
            ..defaults
        };
        let off = args.privacy == PrivacyArg::Off;
        let server = AggregationConfig {
            epsilon,
            delta: args.delta,
            k: if off { 1 } else { args.k_threshold },
            caps,
            window_days: args.window_days,
            ldp: device.ldp(),
            noise: !off && !args.no_noise,
            ..AggregationConfig::default()
        };
        Settings { device, server }
    }
}

/// The window caps of a threshold or ldp run: the core's defaults unless overridden.
fn chosen_caps(args: &Args) -> Caps {
    let d = Caps::default();
    Caps {
        items: args.cap_items.unwrap_or(d.items),
        pairs: args.cap_pairs.unwrap_or(d.pairs),
        interests: args.cap_interests.unwrap_or(d.interests),
        ..d
    }
}

/// Seed of one simulated device (SplitMix64's finalizer over seed and index, so neighbouring
/// clients get unrelated streams).
pub(crate) fn device_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed.wrapping_add(
        (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs a simulation and prints its summary to stderr.
pub fn run(args: &Args) -> Result<(), SimulateError> {
    let started = Instant::now();
    let settings = Settings::new(args);
    let items = csv_input::read_items(&args.items)?;
    eprintln!(
        "items: {} rows, {} loaded, {}",
        items.rows,
        items.catalog.len(),
        items.skipped
    );
    print_examples(&items.skipped.examples);
    let events = csv_input::read_events(&args.events, &items.catalog)?;
    eprintln!(
        "events: {} rows, {} used, {}; {} shoppers",
        events.rows,
        events.used(),
        events.skipped,
        events.users.len()
    );
    print_examples(&events.skipped.examples);
    let users = csv_input::read_users(&args.users)?;
    let mut template = Engine::with_config(EngineConfig {
        privacy: settings.device,
        retention_days: args.retention_days,
        purchase_memory_days: args.purchase_memory_days,
        ..EngineConfig::default()
    })?;
    template.set_catalog(items.catalog);
    let request = request(args);
    request.validate().map_err(EngineError::from)?;
    let read = started.elapsed();

    // The first UTC midnight after the last event: reports are in, the model is built and
    // shoppers ask for recommendations.
    let last = events.last_ts.unwrap_or(0);
    let end_day = epoch_of(last) + 1;
    let end = i64::from(end_day) * DAY_MS;

    let (outbox, inbox) = mpsc::channel::<String>();
    let server = settings.server;
    let aggregator = std::thread::spawn(move || Aggregator::new(server).consume(inbox));
    let snapshots: Vec<Vec<u8>> = events
        .by_user
        .par_iter()
        .enumerate()
        .map_with(outbox, |outbox, (i, evs)| {
            let mut client = Client::new(&template, device_seed(args.seed, i));
            client.replay(evs, &mut |_sent_on, report| {
                // The receiver lives until every client is done; a send can only fail if the
                // aggregator thread died, which join() below reports.
                let _ = outbox.send(report);
            })?;
            Ok(client.into_snapshot(end))
        })
        .collect::<Result<_, ClientError>>()?;
    let aggregator = aggregator
        .join()
        .map_err(|_| SimulateError::AggregatorPanicked)?;
    let replayed = started.elapsed();

    let candidates = Candidates::from_catalog(template.catalog());
    let (model, released) =
        aggregator.build_model(&candidates, end_day, device_seed(args.seed, usize::MAX))?;
    // What clients download: the model's JSON bytes.
    let model_json = model.to_json();
    if let Some(path) = &args.model_out {
        std::fs::write(path, &model_json).map_err(|source| SimulateError::Output {
            path: path.clone(),
            source,
        })?;
    }
    let downloaded = SharedModel::from_json(&model_json).map_err(EngineError::from)?;
    template.set_model(downloaded)?;
    let modelled = started.elapsed();

    let index: HashMap<&str, usize> = events
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.as_str(), i))
        .collect();
    let lists: Vec<Vec<Recommendation>> = users
        .par_iter()
        .map(|user| {
            let mut engine = template.clone();
            if let Some(&i) = index.get(user.as_str()) {
                engine.restore(&snapshots[i])?;
            }
            engine.recommend(&request, end)
        })
        .collect::<Result<_, EngineError>>()?;
    write_recs(&args.out, &users, &lists)?;
    let done = started.elapsed();

    let received = aggregator.received();
    let days = events
        .by_user
        .iter()
        .flatten()
        .map(|e| epoch_of(e.ts))
        .min()
        .map_or(1, |first| u64::from(end_day - first).max(1));
    let clients = events.users.len().max(1) as u64;
    eprintln!(
        "privacy: {}, seed {}",
        privacy_label(args.privacy, &settings.server),
        args.seed
    );
    eprintln!(
        "reports: {} from {} clients over {} days, {} refused; {:.0} bytes per report, {:.1} bytes per client per day",
        received.reports,
        events.users.len(),
        days,
        received.refused,
        received.bytes as f64 / received.reports.max(1) as f64,
        received.bytes as f64 / (clients * days) as f64,
    );
    eprintln!(
        "released: {} item-windows and {} pair-windows over {} windows ({} item and {} pair keys held back; {} reports in windows still open at the end, not released); model as of {}: {} items with popularity, {} with neighbours",
        released.item_windows,
        released.pair_windows,
        released.windows,
        released.suppressed_items,
        released.suppressed_pairs,
        released.open_reports,
        released.as_of.map_or_else(|| "no closed window".to_owned(), crate::time::date_of),
        model.popularity.len(),
        model.neighbours.len(),
    );
    eprintln!(
        "model: {} bytes JSON, {} bytes gzip; item model: {}",
        model_json.len(),
        crate::build_model::gzip(model_json.as_bytes()).len(),
        model.item_model.as_ref().map_or_else(
            || "none (co-occurrence only)".to_owned(),
            |m| format!("{} over {} items, lambda {:.0}", m.kind, m.items, m.lambda)
        ),
    );
    let without_history = users
        .iter()
        .filter(|u| !index.contains_key(u.as_str()))
        .count();
    let rows: usize = lists.iter().map(Vec::len).sum();
    eprintln!(
        "recommendations: {} shoppers ({} without events), {} rows written to {}",
        users.len(),
        without_history,
        rows,
        args.out.display()
    );
    eprintln!(
        "time: read {:.2} s, clients {:.2} s, model {:.2} s, recommend {:.2} s, total {:.2} s",
        read.as_secs_f64(),
        (replayed - read).as_secs_f64(),
        (modelled - replayed).as_secs_f64(),
        (done - modelled).as_secs_f64(),
        done.as_secs_f64()
    );
    Ok(())
}

fn privacy_label(privacy: PrivacyArg, server: &AggregationConfig) -> String {
    match privacy {
        PrivacyArg::Off => "off (upper bound: exact counts, no threshold, no noise)".to_owned(),
        PrivacyArg::Threshold => format!(
            "threshold (epsilon {} and delta {} per {}-day window, k {})",
            server.epsilon, server.delta, server.window_days, server.k
        ),
        PrivacyArg::Ldp => format!(
            "ldp (epsilon {} per report, at most {} per {}-day window)",
            server.ldp.epsilon, server.epsilon, server.window_days
        ),
    }
}

fn print_examples(examples: &[String]) {
    for e in examples {
        eprintln!("  skipped {e}");
    }
}

fn request(args: &Args) -> RecommendRequest {
    let seen = match (args.exclude_seen, args.include_seen) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    RecommendRequest {
        strategy: args.strategy,
        k: args.k,
        exclude_viewed: seen,
        exclude_purchased: seen,
        ..RecommendRequest::default()
    }
}

/// Writes `user,rank,item,score`, rank from 1, shoppers in the users file's order.
fn write_recs(
    path: &Path,
    users: &[String],
    lists: &[Vec<Recommendation>],
) -> Result<(), SimulateError> {
    let failed = |source| SimulateError::Output {
        path: path.to_owned(),
        source,
    };
    let file = File::create(path).map_err(failed)?;
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    let to_io = |e: csv::Error| std::io::Error::other(e.to_string());
    out.write_record(["user", "rank", "item", "score"])
        .map_err(|e| failed(to_io(e)))?;
    for (user, list) in users.iter().zip(lists) {
        for (rank, rec) in list.iter().enumerate() {
            let (rank, score) = ((rank + 1).to_string(), rec.score.to_string());
            out.write_record([
                user.as_str(),
                rank.as_str(),
                rec.item.as_str(),
                score.as_str(),
            ])
            .map_err(|e| failed(to_io(e)))?;
        }
    }
    out.into_inner()
        .map_err(|e| failed(std::io::Error::other(e.to_string())))?
        .flush()
        .map_err(failed)
}
