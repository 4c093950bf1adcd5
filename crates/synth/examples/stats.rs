//! Prints population statistics for a few seeds (calibration aid).
//!
//! `cargo run --release -p weave-synth --example stats -- <people> <seed>...`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let people: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let seeds: Vec<u64> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    for seed in if seeds.is_empty() { vec![1] } else { seeds } {
        let w = weave_synth::simulate(&weave_synth::SynthConfig::new(people, seed))?;
        let s = weave_synth::stats::compute(&w);
        if std::env::var_os("SYNTH_BREAKDOWN").is_some() {
            println!("{:?}", breakdown(&w));
        }
        println!(
            "seed {seed}: eFI {:.1}/{:.1}/{:.1}/{:.1} deaths {:.1} ED {:.0} em {:.0} em65 {:.0} el {:.0} req {:.1} LTS65 {:.1}% (start {:.1}%) f85 {:.2}",
            s.efi_shares_65_plus[0], s.efi_shares_65_plus[1], s.efi_shares_65_plus[2], s.efi_shares_65_plus[3],
            s.deaths_per_1000_py, s.ed_per_1000_py, s.emergency_admissions_per_1000_py, s.emergency_admissions_65_plus_per_1000_py,
            s.elective_admissions_per_1000_py, s.care_requests_per_1000_adult_py, s.long_term_support_65_plus_pct, s.long_term_support_65_plus_start_pct, s.female_share_85_plus
        );
    }
    Ok(())
}

/// Open long-term services at the reference date among people aged 65+, by component and route.
fn breakdown(w: &weave_synth::World) -> std::collections::BTreeMap<(String, String), usize> {
    let last = w.end.add_days(-1);
    let mut out = std::collections::BTreeMap::new();
    for p in w
        .people
        .iter()
        .filter(|p| p.alive_on(last) && p.age_on(last) >= 65)
    {
        for e in &p.care {
            if let Some(s) = e
                .service
                .filter(|s| s.long_term && e.start <= last && e.end.is_none_or(|x| x > last))
            {
                *out.entry((s.component.to_owned(), e.route.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    out
}
