//! `kindred`: the self-hosted aggregation server and native command-line tool.
//!
//! A thin dispatcher: each subcommand's work lives in the library (`kindred_server`).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kindred_server::config::{CommonArgs, ServeArgs, ServeSettings, Settings};
use kindred_server::{build_model, demo, evaluate, serve, simulate, store, time};

const LONG_ABOUT: &str = "\
kindred: the self-hosted server and native tool for kindred, the privacy-first \
recommendation engine that runs in the shopper's browser.

Every setting is a flag, an environment variable (KINDRED_*) or a key of the TOML file given \
with --config (flag names with _ for -), in that order of precedence. \
Run `kindred serve --help` for the server's settings.";

/// Command-line arguments of the `kindred` binary.
#[derive(Debug, Parser)]
#[command(
    name = "kindred",
    version,
    about = "The kindred self-hosted server and native tool",
    long_about = LONG_ABOUT,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the report API, the shared model, the dashboard and the static demo
    /// (default: http://127.0.0.1:8080, database kindred.db, files from www/).
    Serve(Box<ServeArgs>),
    /// Release the windows that closed, apply retention and rebuild the shared model once,
    /// then exit (the server does the same on its schedule).
    BuildModel(Box<CommonArgs>),
    /// Replay an event log through simulated browsers and write each shopper's
    /// recommendations (quality and the cost of each privacy setting, before deploying).
    Simulate(Box<simulate::Args>),
    /// Measure recommendations against later purchases (HR, P, R, NDCG, MAP, MRR at k).
    Evaluate(Box<evaluate::Args>),
    /// Write the demo storefront's catalog (deterministic products, some with Chinese titles)
    /// as JSON, e.g. `--out www/catalog.json`.
    DemoCatalog(Box<demo::catalog::Args>),
    /// Fill a new database with simulated shoppers of the demo catalog: their browsers'
    /// reports go through the real ingest, then the windows are released and the model built
    /// (refuses a database that already holds data, unless --force).
    DemoSeed(Box<demo::seed::Args>),
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => run_serve(&args),
        Command::BuildModel(args) => run_build_model(&args),
        Command::Simulate(args) => tool("simulate", simulate::run(&args)),
        Command::Evaluate(args) => tool("evaluate", evaluate::run(&args)),
        Command::DemoCatalog(args) => tool("demo-catalog", demo::catalog::run(&args).map(drop)),
        Command::DemoSeed(args) => tool("demo-seed", demo::seed::run(&args).map(drop)),
    }
}

/// The exit of an offline tool: its error, named after the subcommand, on stderr.
fn tool<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kindred {name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("kindred: {message}");
    ExitCode::FAILURE
}

fn run_serve(args: &ServeArgs) -> ExitCode {
    let settings = match ServeSettings::resolve(args) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    init_logging(&settings.common.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kindred-http")
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(serve::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn run_build_model(args: &CommonArgs) -> ExitCode {
    let settings = match Settings::resolve(args) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    init_logging(&settings.log);
    let result = store::open_backend(&settings.database)
        .and_then(|b| b.open())
        .map_err(build_model::RebuildError::from)
        .and_then(|mut s| {
            build_model::rebuild(&mut *s, &settings, time::today(), time::now_ms(), None)
        });
    match result {
        Ok(r) => {
            let periods: Vec<String> = r.released.iter().map(|p| p.to_string()).collect();
            println!(
                "released {} window(s){}; retention removed {} counter rows and {} releases; model as of {}: version {} ({}), {} bytes",
                r.released.len(),
                if periods.is_empty() { String::new() } else { format!(" ({})", periods.join(", ")) },
                r.removed.counter_rows,
                r.removed.releases,
                time::date_of(r.as_of),
                r.model.version,
                match (r.changed, r.built) {
                    (true, _) => "new",
                    (false, true) => "rebuilt, unchanged",
                    (false, false) => "unchanged, nothing to rebuild",
                },
                r.model.json.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
