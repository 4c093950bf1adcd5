//! `weave`: the command line. Parses arguments and wires the crates together; no logic of its own.

mod config;
mod import;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Weave: a shared health and social care record (FHIR R4).
#[derive(Parser)]
#[command(name = "weave", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR API over HTTP.
    Serve(config::ServeArgs),
    /// Load transaction/batch Bundles (.json) and NDJSON files (.ndjson), or whole folders of them.
    Import(import::ImportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    config::init_logging();
    let result: Result<()> = match cli.command {
        Command::Serve(args) => config::serve(&args),
        Command::Import(args) => import::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
