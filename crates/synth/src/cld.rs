//! The council's Client Level Data (CLD) extract: one CSV per quarterly submission,
//! `council/cld/cld_<YYYY>_Q<n>.csv` (calendar quarters), one row per event live in the quarter, with the
//! person columns repeated on every row.
//!
//! A submission reports what the council knew at the quarter's end: an event that ends later is shown open
//! (blank `Event_End_Date`, blank outcome for services), and a later submission restates it with its end
//! date and outcome — stacking the files in order gives the full history, later rows superseding earlier
//! ones. Dates are `dd/mm/yyyy` (CLD guidance). Rows are filed under the council's own person identifier;
//! about 4 % of clients have a second identifier for later events (a duplicate registration).

use crate::costs::pounds;
use crate::date::Date;
use crate::identity::address_seen;
use crate::model::{CareEvent, CareEventKind, Person};
use crate::place::Place;
use crate::rng::mix;

/// The CLD columns, in order (names from shared/DOMAIN.md).
pub const COLUMNS: [&str; N_COLUMNS] = [
    "LA_Code",
    "LA_Name",
    "Reporting_Period_Start_Date",
    "Reporting_Period_End_Date",
    "LA_Person_Unique_Identifier",
    "NHS_Number",
    "GP_Practice_Code",
    "Gender",
    "Ethnicity",
    "Date_of_Birth",
    "Date_of_Death",
    "Postcode",
    "Client_Type",
    "Event_Type",
    "Event_Start_Date",
    "Event_End_Date",
    "Event_Outcome",
    "Service_Type",
    "Service_Component",
    "Delivery_Mechanism",
    "Primary_Support_Reason",
    "Unit_Cost",
    "Cost_Frequency_(Unit_Type)",
    "Planned_units_per_week",
    "Review_Reason",
    "Review_Outcomes_Achieved",
];

/// Number of columns.
pub const N_COLUMNS: usize = 26;

/// A quarter `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub struct Quarter {
    pub start: Date,
    pub end: Date,
}

impl Quarter {
    /// File name, e.g. `cld_2023_Q2.csv` (calendar quarter number).
    #[must_use]
    pub fn file_name(&self) -> String {
        let (y, m, _) = self.start.ymd();
        format!("cld_{y}_Q{}.csv", (m - 1) / 3 + 1)
    }
}

/// Quarters overlapping `[start, end)`.
#[must_use]
pub fn quarters(start: Date, end: Date) -> Vec<Quarter> {
    let mut out = Vec::new();
    let mut q = start.quarter_start();
    while q < end {
        let next = q.next_quarter();
        out.push(Quarter {
            start: q,
            end: next,
        });
        q = next;
    }
    out
}

fn csv(field: &str, out: &mut String) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn units(u: f64) -> String {
    if (u - u.round()).abs() < 1e-9 {
        format!("{u:.0}")
    } else {
        format!("{u:.1}")
    }
}

fn review_outcome(p: &Person, ev: &CareEvent) -> &'static str {
    match mix(&[u64::from(p.idx), u64::from(ev.seq)]) % 10 {
        0..=5 => "Fully achieved",
        6..=8 => "Partially achieved",
        _ => "Not achieved",
    }
}

/// The header line.
#[must_use]
pub fn header() -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    s
}

/// Appends the rows for `p` in quarter `q` to `out`; returns the number of rows.
pub fn person_rows(p: &Person, place: &Place, q: Quarter, out: &mut String) -> usize {
    if p.council_ids.is_empty() {
        return 0;
    }
    let last = q.end.add_days(-1);
    let mut n = 0;
    for ev in &p.care {
        let live = ev.start <= last && ev.end.is_none_or(|e| e >= q.start);
        if !live {
            continue;
        }
        let Some(id) = p
            .council_ids
            .get(usize::from(ev.la_record))
            .or(p.council_ids.first())
        else {
            continue;
        };
        let ended = ev.end.filter(|e| *e <= last);
        // Outcomes are reported once the event has ended.
        let outcome = if ended.is_some() {
            ev.outcome.unwrap_or("")
        } else {
            ""
        };
        let practice = &place.practices[usize::from(p.practice)].ods;
        let death = p
            .death
            .filter(|d| *d <= last)
            .map(Date::dmy)
            .unwrap_or_default();
        let postcode = &address_seen(p, id, last).postcode;
        let eth = crate::codes::ETHNICITIES[usize::from(p.ethnicity)].code;
        let (stype, comp, dm, cost, freq, planned) = match &ev.service {
            Some(s) => (
                s.service_type,
                s.component,
                s.delivery,
                pounds(s.unit_pence),
                s.unit.cld(),
                units(s.units_per_week),
            ),
            None => ("", "", "", String::new(), "", String::new()),
        };
        let (review_reason, review_outcomes) = if ev.kind == CareEventKind::Review {
            (ev.route, review_outcome(p, ev))
        } else {
            ("", "")
        };
        let fields: [&str; N_COLUMNS] = [
            place.la_code,
            &place.la_name,
            &q.start.dmy(),
            &last.dmy(),
            &id.record_id,
            id.nhs_number.as_deref().unwrap_or(""),
            practice,
            p.sex.cld(),
            eth,
            &id.birth_date.dmy(),
            &death,
            postcode,
            "Service User",
            ev.kind.cld(),
            &ev.start.dmy(),
            &ended.map(Date::dmy).unwrap_or_default(),
            outcome,
            stype,
            comp,
            dm,
            ev.psr,
            &cost,
            freq,
            &planned,
            review_reason,
            review_outcomes,
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv(f, out);
        }
        out.push('\n');
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_cover_the_window() {
        let s = Date::from_ymd(2020, 4, 1).unwrap_or(Date(0));
        let e = Date::from_ymd(2025, 4, 1).unwrap_or(Date(0));
        let q = quarters(s, e);
        assert_eq!(q.len(), 20);
        assert_eq!(q[0].file_name(), "cld_2020_Q2.csv");
        assert_eq!(q[19].file_name(), "cld_2025_Q1.csv");
    }

    #[test]
    fn header_has_domain_columns() {
        let h = header();
        assert!(h.starts_with("LA_Code,LA_Name,Reporting_Period_Start_Date"));
        assert!(h.contains(",Cost_Frequency_(Unit_Type),Planned_units_per_week,Review_Reason,Review_Outcomes_Achieved\n"));
        let mut s = String::new();
        csv("a,b \"c\"", &mut s);
        assert_eq!(s, "\"a,b \"\"c\"\"\"");
    }
}
