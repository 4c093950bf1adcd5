//! Generates a synthetic place and prints the timing report.
//!
//! `cargo run --release -p weave-synth --example synth -- <people> <seed> <out-dir>`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let people = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000);
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let out = args.next().unwrap_or_else(|| "target/synth-out".to_owned());
    let config = weave_synth::SynthConfig::new(people, seed);
    let report = weave_synth::bench(&config, std::path::Path::new(&out))?;
    println!("{report}");
    Ok(())
}
