//! The acute trust's patient administration system feed as HL7 v2.4 ER7 messages: ADT A04 (ED
//! registration), A01 (admit), A02 (transfer), A08 (update: frailty-team review, address change, death
//! notification), A03 (discharge), A40 (merge duplicate MRN) and ORU^R01 (admission bloods).
//!
//! File format: `hospital/hl7/YYYY-MM.hl7`, one file per month of message time, messages in time order.
//! Each segment ends with a carriage return (`\r`, the HL7 segment terminator) and each message is followed
//! by `\n\n`, so a reader can split the file on blank lines (or on `MSH|`) and each message on `\r`.
//! PID-3 carries the NHS number as `<nhs>^^^NHS^NH` (when the hospital holds one) and the MRN as
//! `<mrn>^^^R9W^MR`. PV1-2 class (E emergency, I inpatient), PV1-3 location `<ward>^^^R9W`, PV1-4
//! admission method (NHS DD), PV1-10 treatment function, PV1-14 admission source, PV1-19 visit number,
//! PV1-36 discharge destination (NHS DD; `ADM` for an ED attendance that ended in admission), PV1-37
//! discharged-to care home (ODS), PV1-44/45 admit and discharge time. A frailty-team review is an A08 with
//! PV1-10 `430` (Geriatric Medicine) and a `ZFT` segment `ZFT|1|<time>|FRAILTY TEAM REVIEW|<practitioner>`.

use std::fmt::Write as _;

use crate::codes::{ETHNICITIES, LAB_TESTS};
use crate::date::{Date, DateTime};
use crate::hospital;
use crate::identity::address_seen;
use crate::model::{Discharge, Person, SourceIdentity};
use crate::place::{Place, WARDS};

/// Escapes HL7 delimiters in a field value.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '&' => out.push_str("\\T\\"),
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// One message with its sort key.
#[derive(Debug, Clone)]
pub struct Message {
    pub at: DateTime,
    pub control_id: String,
    pub text: String,
}

struct Writer<'a> {
    p: &'a Person,
    place: &'a Place,
    out: Vec<Message>,
    n: usize,
}

impl Writer<'_> {
    fn start(
        &mut self,
        at: DateTime,
        msg_type: &str,
        trigger: &str,
        structure: &str,
    ) -> (String, String) {
        self.n += 1;
        let control_id = format!("{}{:05}", self.p.key(), self.n);
        let ts = format!("{}00", at.hl7());
        let mut text = format!("MSH|^~\\&|PAS|{}|WEAVE|WEAVE|{ts}||{msg_type}^{trigger}^{structure}|{control_id}|P|2.4\r", self.place.acute.ods);
        if msg_type == "ADT" {
            let _ = write!(text, "EVN|{trigger}|{ts}\r");
        }
        (text, control_id)
    }

    fn finish(&mut self, at: DateTime, control_id: String, text: String) {
        self.out.push(Message {
            at,
            control_id,
            text,
        });
    }

    fn pid(&self, id: &SourceIdentity, at: DateTime) -> String {
        let p = self.p;
        let ods = &self.place.acute.ods;
        let mut ids = String::new();
        if let Some(n) = &id.nhs_number {
            let _ = write!(ids, "{n}^^^NHS^NH~");
        }
        let _ = write!(ids, "{}^^^{ods}^MR", id.record_id);
        let a = address_seen(p, id, at.date);
        let eth = &ETHNICITIES[usize::from(p.ethnicity)];
        let (death_ts, death_ind) = match p.death {
            Some(d) if d <= at.date => (format!("{}0000", d.hl7()), "Y"),
            _ => (String::new(), ""),
        };
        let mut f = vec![
            (1, "1".to_owned()),
            (3, ids),
            (
                5,
                format!("{}^{}", esc(&id.family.to_uppercase()), esc(&id.given)),
            ),
            (7, id.birth_date.hl7()),
            (8, p.sex.hl7().to_owned()),
            (
                11,
                format!("{}^^{}^^{}", esc(&a.line), esc(a.town), a.postcode),
            ),
            (22, format!("{}^{}^NHSDD", eth.code, esc(eth.display))),
        ];
        if !death_ts.is_empty() {
            f.push((29, death_ts));
            f.push((30, death_ind.to_owned()));
        }
        segment("PID", &f)
    }

    fn pd1(&self) -> String {
        let practice = &self.place.practices[usize::from(self.p.practice)];
        format!("PD1|||{}^^{}\r", esc(&practice.name), practice.ods)
    }
}

/// A segment from fields by position (1-based); missing ones are empty.
fn segment(name: &str, fields: &[(usize, String)]) -> String {
    let max = fields.iter().map(|f| f.0).max().unwrap_or(1);
    let mut cols = vec![String::new(); max + 1];
    name.clone_into(&mut cols[0]);
    for (i, v) in fields {
        cols[*i].clone_from(v);
    }
    let mut s = cols.join("|");
    s.push('\r');
    s
}

/// A PV1 segment from fields by position.
fn pv1(fields: &[(usize, String)]) -> String {
    segment("PV1", fields)
}

fn loc(ward: usize, ods: &str) -> String {
    format!("{}^^^{ods}", WARDS[ward].code)
}

fn ed_messages(w: &mut Writer<'_>, end: Date) {
    let p = w.p;
    let ods = w.place.acute.ods.clone();
    for (i, e) in p.ed.iter().enumerate() {
        let id = &p.hospital_ids[usize::from(e.mrn)];
        let visit = hospital::ed_visit_number(p, i);
        let reg = |w: &mut Writer<'_>, at: DateTime, trigger: &str, extra: Vec<(usize, String)>| {
            let (mut text, ctrl) = w.start(at, "ADT", trigger, "ADT_A01");
            text.push_str(&w.pid(id, at));
            text.push_str(&w.pd1());
            let mut f = vec![
                (1, "1".to_owned()),
                (2, "E".to_owned()),
                (3, loc(0, &ods)),
                (10, "180".into()),
                (19, visit.clone()),
                (44, e.arrive.hl7()),
            ];
            f.extend(extra);
            text.push_str(&pv1(&f));
            let _ = write!(text, "PV2|||{}^{}^SCT\r", e.reason.0, esc(e.reason.1));
            w.finish(at, ctrl, text);
        };
        reg(w, e.arrive, "A04", vec![]);
        if e.depart.date < end {
            let disp = if e.admission.is_some() { "ADM" } else { "19" };
            reg(
                w,
                e.depart,
                "A03",
                vec![(36, disp.to_owned()), (45, e.depart.hl7())],
            );
        }
    }
}

fn admission_messages(w: &mut Writer<'_>, end: Date) {
    let p = w.p;
    let place = w.place;
    let ods = place.acute.ods.clone();
    for (i, a) in p.admissions.iter().enumerate() {
        let id = &p.hospital_ids[usize::from(a.mrn)];
        let visit = hospital::ip_visit_number(p, i);
        let method = hospital::admission_method(p, i);
        let source = hospital::admission_source(p, a);
        let base = |ward: usize, tf: &str| {
            vec![
                (1, "1".to_owned()),
                (2, "I".to_owned()),
                (3, loc(ward, &ods)),
                (4, method.0.to_owned()),
                (10, tf.to_owned()),
                (14, source.0.to_owned()),
                (19, visit.clone()),
                (44, a.admit.hl7()),
            ]
        };
        let spec = |ward: usize| WARDS[ward].specialty.0;
        let emit = |w: &mut Writer<'_>,
                    at: DateTime,
                    trigger: &str,
                    f: Vec<(usize, String)>,
                    tail: String| {
            let (mut text, ctrl) = w.start(
                at,
                "ADT",
                trigger,
                if trigger == "A02" {
                    "ADT_A02"
                } else if trigger == "A03" {
                    "ADT_A03"
                } else {
                    "ADT_A01"
                },
            );
            text.push_str(&w.pid(id, at));
            text.push_str(&w.pd1());
            text.push_str(&pv1(&f));
            text.push_str(&tail);
            w.finish(at, ctrl, text);
        };
        let (w0_at, w0) = a.wards[0];
        emit(
            w,
            w0_at,
            "A01",
            base(w0, spec(w0)),
            format!("PV2|||{}^{}^SCT\r", a.reason.0, esc(a.reason.1)),
        );
        if !a.labs.is_empty() {
            lab_message(w, id, &visit, a.admit.add_minutes(60), &a.labs);
        }
        for win in a.wards.windows(2) {
            let (at, ward) = win[1];
            if at.date < end {
                let mut f = base(ward, spec(ward));
                f.push((6, loc(win[0].1, &ods)));
                emit(w, at, "A02", f, String::new());
            }
        }
        let ward_at = |t: DateTime| a.wards.iter().rev().find(|x| x.0 <= t).map_or(w0, |x| x.1);
        if let Some(ft) = a.frailty_team.filter(|t| t.date < end) {
            let lead = &place.staff[place.frailty_lead];
            let tail = format!(
                "ZFT|1|{}|FRAILTY TEAM REVIEW|{}^{}^{}\r",
                ft.hl7(),
                lead.registration,
                esc(&lead.family.to_uppercase()),
                esc(lead.given)
            );
            emit(w, ft, "A08", base(ward_at(ft), "430"), tail);
        }
        if a.discharge_at.date < end {
            let dest = hospital::discharge_destination(a);
            let last = ward_at(a.discharge_at);
            let mut f = base(last, spec(last));
            f.push((36, dest.0.to_owned()));
            if a.discharge == Discharge::CareHome {
                if let Some(h) = p.residence_on(a.discharge_at.date.add_days(1)).care_home {
                    f.push((37, place.care_homes[h].ods.clone()));
                }
            }
            f.push((45, a.discharge_at.hl7()));
            emit(w, a.discharge_at, "A03", f, String::new());
        }
    }
}

fn lab_message(
    w: &mut Writer<'_>,
    id: &SourceIdentity,
    visit: &str,
    at: DateTime,
    labs: &[crate::model::LabResult],
) {
    let (mut text, ctrl) = w.start(at, "ORU", "R01", "ORU_R01");
    text.push_str(&w.pid(id, at));
    text.push_str(&pv1(&[
        (1, "1".into()),
        (2, "I".into()),
        (19, visit.to_owned()),
    ]));
    let _ = write!(text, "OBR|1|{visit}-B|{ctrl}|BLOODS^Admission bloods (FBC, U&E, CRP)^L|||{}|||||||||||||||{}||LAB|F\r", at.hl7(), at.add_minutes(45).hl7());
    for (k, r) in labs.iter().enumerate() {
        let t = &LAB_TESTS[usize::from(r.test)];
        let flag = if r.value < t.low {
            "L"
        } else if r.value > t.high {
            "H"
        } else {
            "N"
        };
        let _ = write!(
            text,
            "OBX|{}|NM|{}^{}^LN||{:.*}|{}|{}-{}|{flag}|||F|||{}\r",
            k + 1,
            t.loinc,
            esc(t.display),
            usize::from(t.decimals),
            r.value,
            esc(t.unit),
            t.low,
            t.high,
            at.hl7()
        );
    }
    w.finish(at, ctrl, text);
}

fn merge_and_updates(w: &mut Writer<'_>, end: Date) {
    let p = w.p;
    let Some(primary) = p.hospital_ids.first() else {
        return;
    };
    let ods = w.place.acute.ods.clone();
    for dup in p.hospital_ids.iter().skip(1) {
        if let Some(at) = dup.merged_at.filter(|t| t.date < end) {
            let (mut text, ctrl) = w.start(at, "ADT", "A40", "ADT_A39");
            text.push_str(&w.pid(primary, at));
            let _ = write!(text, "MRG|{}^^^{ods}^MR\r", dup.record_id);
            w.finish(at, ctrl, text);
        }
    }
    let first =
        p.ed.iter()
            .map(|e| e.arrive)
            .chain(p.admissions.iter().map(|a| a.admit))
            .min();
    let Some(first) = first else { return };
    let update = |w: &mut Writer<'_>, at: DateTime| {
        let (mut text, ctrl) = w.start(at, "ADT", "A08", "ADT_A01");
        text.push_str(&w.pid(primary, at));
        text.push_str(&w.pd1());
        text.push_str(&pv1(&[(1, "1".into()), (2, "N".into())]));
        w.finish(at, ctrl, text);
    };
    if primary.address_frozen_at.is_none() {
        for r in p.residences.iter().skip(1) {
            let at = DateTime::new(r.from.add_days(30), 10 * 60);
            if at > first && at.date < end {
                update(w, at);
            }
        }
    }
    let died_in_hospital = p.admissions.iter().any(|a| a.discharge == Discharge::Died);
    if let Some(d) = p.death.filter(|_| !died_in_hospital) {
        let at = DateTime::new(d.add_days(7), 9 * 60);
        if at.date < end {
            update(w, at);
        }
    }
}

/// All messages about `p` (unsorted across people; sorted within the person by time).
#[must_use]
pub fn person_messages(p: &Person, place: &Place, end: Date) -> Vec<Message> {
    if p.hospital_ids.is_empty() {
        return Vec::new();
    }
    let mut w = Writer {
        p,
        place,
        out: Vec::new(),
        n: 0,
    };
    ed_messages(&mut w, end);
    admission_messages(&mut w, end);
    merge_and_updates(&mut w, end);
    w.out.retain(|m| m.at.date < end);
    w.out
        .sort_by(|a, b| (a.at, &a.control_id).cmp(&(b.at, &b.control_id)));
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_delimiters() {
        assert_eq!(esc("A|B^C~D\\E&F"), "A\\F\\B\\S\\C\\R\\D\\E\\E\\T\\F");
    }

    #[test]
    fn segment_positions() {
        assert_eq!(
            segment("PID", &[(3, "X".into()), (1, "1".into())]),
            "PID|1||X\r"
        );
        let s = pv1(&[(1, "1".into()), (3, "AMU^^^R9W".into())]);
        assert_eq!(s, "PV1|1||AMU^^^R9W\r");
    }
}
