//! The simulated world (place + people) and the deterministic parallel driver.
//!
//! Each person is simulated from their own PRNG stream `(seed, PERSON, idx)`, so the result does not depend
//! on the number of threads or the order in which workers finish.

use crate::config::{SynthConfig, SynthError};
use crate::date::Date;
use crate::frailty;
use crate::identity;
use crate::lifecourse::{self, Ctx};
use crate::model::Person;
use crate::people;
use crate::place::{self, Place};
use crate::rng::{stream, Rng};

/// Everything the generator simulated.
#[derive(Debug, Clone)]
pub struct World {
    pub config: SynthConfig,
    pub place: Place,
    pub people: Vec<Person>,
    /// First day of the window.
    pub start: Date,
    /// Reference date (exclusive end of the window).
    pub end: Date,
}

/// Maps `f` over `0..n` on up to `threads` workers, returning results in index order.
pub(crate) fn par_map<T: Send, F: Fn(usize) -> T + Sync>(n: usize, threads: usize, f: F) -> Vec<T> {
    let threads = threads.clamp(1, 64).min(n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let lo = t * chunk;
                let hi = ((t + 1) * chunk).min(n);
                s.spawn(move || (lo..hi).map(f).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn simulate_person(idx: usize, cfg: &SynthConfig, ctx: &Ctx<'_>) -> Person {
    let mut rng = Rng::derive(cfg.seed, stream::PERSON, idx as u64);
    let demo = people::demographics(&mut rng, ctx.place, ctx.start, ctx.end, cfg.years);
    let z = rng.normal();
    let deficits = frailty::deficit_onsets(&mut rng, demo.birth_date, z, ctx.end);
    let other_conditions = frailty::other_conditions(&mut rng, demo.birth_date, ctx.end);
    let meds = frailty::medications(&mut rng, &deficits, &other_conditions, ctx.end);
    #[allow(clippy::cast_possible_truncation)]
    let idx32 = idx as u32;
    let blank = identity_placeholder();
    let mut p = Person {
        idx: idx32,
        nhs_number: people::nhs_number_for(idx32),
        sex: demo.sex,
        given: demo.given,
        middle: demo.middle,
        family: demo.family,
        birth_date: demo.birth_date,
        ethnicity: demo.ethnicity,
        residences: demo.residences,
        practice: demo.practice,
        death: None,
        frailty_z: z,
        deficits,
        other_conditions,
        meds,
        gp_contacts: Vec::new(),
        gp_observations: Vec::new(),
        ed: Vec::new(),
        admissions: Vec::new(),
        follow_ups: Vec::new(),
        mh: Vec::new(),
        community: Vec::new(),
        care: Vec::new(),
        flags: Vec::new(),
        gp_id: blank,
        hospital_ids: Vec::new(),
        council_ids: Vec::new(),
        mh_id: None,
        community_id: None,
    };
    lifecourse::run(&mut p, &mut rng, ctx);
    if let Some(d) = p.death {
        p.deficits.retain(|x| x.onset < d);
    }
    p.mh.sort_by_key(|c| c.at);
    let mut id_rng = Rng::derive(cfg.seed, stream::IDENTITY, idx as u64);
    identity::assign(&mut p, &mut id_rng);
    p
}

fn identity_placeholder() -> crate::model::SourceIdentity {
    crate::model::SourceIdentity {
        record_id: String::new(),
        nhs_number: None,
        given: String::new(),
        family: String::new(),
        birth_date: Date(0),
        address_frozen_at: None,
        errors: Vec::new(),
        merged_at: None,
    }
}

/// Simulates the place and everyone in it.
///
/// # Errors
/// [`SynthError::Config`] when the config is invalid.
pub fn simulate(config: &SynthConfig) -> Result<World, SynthError> {
    config.validate()?;
    let place = place::build(config.seed, config.people);
    let start = config.start_date;
    let end = config.end_date();
    let ctx = Ctx {
        place: &place,
        start,
        end,
        frailty_los_effect: config.frailty_los_effect,
        reablement_effect: config.reablement_effect,
        unit_costs: &config.unit_costs,
    };
    let people = par_map(config.people, config.worker_threads(), |i| {
        simulate_person(i, config, &ctx)
    });
    Ok(World {
        config: config.clone(),
        place,
        people,
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_does_not_change_the_world() {
        let mut c = SynthConfig::new(300, 11);
        c.threads = 1;
        let a = simulate(&c).map(|w| {
            w.people
                .iter()
                .map(|p| {
                    (
                        p.nhs_number.clone(),
                        p.gp_contacts.len(),
                        p.care.len(),
                        p.death,
                    )
                })
                .collect::<Vec<_>>()
        });
        c.threads = 3;
        let b = simulate(&c).map(|w| {
            w.people
                .iter()
                .map(|p| {
                    (
                        p.nhs_number.clone(),
                        p.gp_contacts.len(),
                        p.care.len(),
                        p.death,
                    )
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(a.ok(), b.ok());
    }
}
