//! `kindred`: the self-hosted aggregation server and native command-line tool.
//!
//! A thin dispatcher: each subcommand lives in its own module. `serve` and `build-model` are
//! still planned; `--help` lists them as such so nobody mistakes a stub for a working command.

mod csv_input;
mod evaluate;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const LONG_ABOUT: &str = "\
kindred: the self-hosted server and native tool for kindred, the privacy-first \
recommendation engine that runs in the shopper's browser.

Planned subcommands (not implemented yet, each arrives with its own issue):
  serve        (planned) serve the demo storefront in www/ and accept aggregate reports on 127.0.0.1:8080
  build-model  (planned) turn released report counters into the shared model clients download";

/// Command-line arguments of the `kindred` binary.
#[derive(Debug, Parser)]
#[command(
    name = "kindred",
    version,
    about = "The kindred self-hosted server and native tool",
    long_about = LONG_ABOUT
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay an event log through simulated browsers and write each shopper's recommendations
    Simulate(simulate::Args),
    /// Measure recommendations against later purchases (HR, P, R, NDCG, MAP, MRR at k)
    Evaluate(evaluate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match &cli.command {
        Some(Command::Simulate(args)) => {
            ("simulate", simulate::run(args).map_err(|e| e.to_string()))
        }
        Some(Command::Evaluate(args)) => {
            ("evaluate", evaluate::run(args).map_err(|e| e.to_string()))
        }
        None => {
            eprintln!("kindred: no subcommand given; run `kindred --help` for the list");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kindred {name}: error: {message}");
            ExitCode::FAILURE
        }
    }
}
