//! `weave`: the command line. Parses arguments and wires the crates together; no logic of its own.

mod bench;
mod bench_mllp;
mod bench_query;
mod bench_search;
mod config;
mod deadletter;
mod demo;
mod fhirpath;
mod identity;
mod import;

use anyhow::Result;

/// mimalloc: the server allocates across threads (requests, the writer); glibc malloc spent a
/// quarter of ingest time in its own locks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
    /// Generate a synthetic borough, load it, and serve it (prints the URL).
    Demo(demo::DemoArgs),
    /// Serve the FHIR API over HTTP.
    Serve(config::ServeArgs),
    /// Load transaction/batch Bundles (.json), NDJSON files (.ndjson) and CLD extracts (.csv), or folders of them.
    Import(import::ImportArgs),
    /// Write a synthetic borough's source files (FHIR, HL7 v2, CLD CSV, truth.json) to a folder.
    Generate(demo::GenerateArgs),
    /// Evaluate a FHIRPath expression against a JSON resource.
    Fhirpath(fhirpath::FhirpathArgs),
    /// List, show and replay dead letters (feed input that could not be applied).
    Deadletter(deadletter::DeadLetterArgs),
    /// The person index: train the matching model, link the store's Patients, link CSV files.
    Identity(identity::IdentityArgs),
    /// Workload benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    config::init_logging();
    let result: Result<()> = match cli.command {
        Command::Demo(args) => demo::demo(&args),
        Command::Generate(args) => demo::generate(&args),
        Command::Serve(args) => config::serve(&args),
        Command::Import(args) => import::run(&args),
        Command::Deadletter(args) => deadletter::run(&args),
        Command::Identity(args) => identity::run(&args),
        Command::Bench(cmd) => bench::run(&cmd),
        Command::Fhirpath(args) => fhirpath::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
