//! `kindred`: the self-hosted aggregation server and native command-line tool.
//!
//! No subcommands exist yet; `--help` lists the planned ones so nobody mistakes a stub for a
//! working command.

use clap::Parser;

const LONG_ABOUT: &str = "\
kindred: the self-hosted server and native tool for kindred, the privacy-first \
recommendation engine that runs in the shopper's browser.

Planned subcommands (not implemented yet, each arrives with its own issue):
  serve        (planned) serve the demo storefront in www/ and accept aggregate reports on 127.0.0.1:8080
  build-model  (planned) turn released report counters into the shared model clients download
  simulate     (planned) replay a dataset through simulated browsers to produce reports
  evaluate     (planned) measure recommendation quality on a validation split";

/// Command-line arguments of the `kindred` binary.
#[derive(Debug, Parser)]
#[command(
    name = "kindred",
    version,
    about = "The kindred self-hosted server and native tool",
    long_about = LONG_ABOUT
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!("kindred: no subcommands are implemented yet; run `kindred --help` for the plan");
    std::process::exit(2);
}
