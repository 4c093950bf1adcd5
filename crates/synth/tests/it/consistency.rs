//! Life-course invariants of the model: nothing happens after death or the reference date, hospital
//! episodes do not overlap, addresses are in date order, services follow their assessments.

use weave_synth::model::{CareEventKind, Discharge};
use weave_synth::{simulate, SynthConfig};

#[test]
fn nothing_happens_after_death_or_the_reference_date() {
    let w = simulate(&SynthConfig::new(5_000, 19)).expect("simulate");
    let mut deaths = 0;
    for p in &w.people {
        let stop = p.death.map_or(w.end, |d| d.min(w.end));
        deaths += usize::from(p.death.is_some());
        let k = p.key();
        assert!(
            p.gp_contacts
                .iter()
                .all(|c| c.at.date < stop && c.at.date >= p.birth_date),
            "{k}: GP contact out of life"
        );
        assert!(
            p.ed.iter().all(|e| e.arrive.date < stop),
            "{k}: ED after death {:?} {:?}",
            p.death,
            p.ed.iter().map(|e| e.arrive).collect::<Vec<_>>()
        );
        assert!(
            p.mh.iter().all(|c| c.at.date < stop),
            "{k}: MH contact after death"
        );
        assert!(
            p.community
                .iter()
                .flat_map(|e| &e.visits)
                .all(|v| v.date < stop),
            "{k}: community visit after death"
        );
        assert!(
            p.care.iter().all(|e| e.start < stop),
            "{k}: care event after death {:?} {:?}",
            p.death,
            p.care
                .iter()
                .map(|e| (e.kind, e.start, e.end))
                .collect::<Vec<_>>()
        );
        assert!(
            p.flags.iter().all(|f| f.start < stop),
            "{k}: flag after death"
        );
        for a in &p.admissions {
            assert!(a.admit.date < stop, "{k}: admission after death");
            if let Some(d) = p.death {
                assert!(a.discharge_at.date <= d, "{k}: discharged after death");
                assert_eq!(
                    a.discharge == Discharge::Died,
                    a.discharge_at.date == d && a.discharge == Discharge::Died,
                    "{k}"
                );
            }
        }
        let mut spells: Vec<_> = p
            .admissions
            .iter()
            .map(|a| (a.admit, a.discharge_at))
            .collect();
        spells.sort();
        assert!(
            spells.windows(2).all(|s| s[1].0 >= s[0].1),
            "{k}: overlapping admissions"
        );
        assert!(
            p.residences.windows(2).all(|r| r[0].from < r[1].from),
            "{k}: residences out of order"
        );
        for ev in p.care.iter().filter(|e| e.kind == CareEventKind::Service) {
            if let Some(parent) = ev.parent {
                let par = p
                    .care
                    .iter()
                    .find(|e| e.seq == parent)
                    .expect("parent event exists");
                assert!(
                    par.start <= ev.start,
                    "{k}: service before the event it follows {:?}",
                    p.care
                        .iter()
                        .map(|e| (
                            e.seq,
                            e.kind,
                            e.start.iso(),
                            e.end.map(|x| x.iso()),
                            e.parent,
                            e.route
                        ))
                        .collect::<Vec<_>>()
                );
            }
            assert!(
                ev.end.is_none_or(|e| e >= ev.start),
                "{k}: service ends before it starts"
            );
        }
    }
    assert!(deaths > 150, "only {deaths} deaths");
}
