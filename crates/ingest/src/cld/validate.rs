//! Row-by-row validation of a CLD extract: every cell is checked, every problem reported with its
//! line, column and value; a row with no error becomes an [`Event`].

use super::codes::{
    CLIENT_TYPES, COLUMNS, COST_FREQUENCIES, DELIVERY_MECHANISMS, ETHNICITIES, EVENT_ID_COLUMNS, EVENT_OUTCOMES, EVENT_TYPES,
    GENDERS, PRIMARY_SUPPORT_REASONS, REQUIRED_COLUMNS, REVIEW_OUTCOMES, REVIEW_REASONS, SERVICE_COMPONENTS, SERVICE_TYPES,
};
use super::{CldDate, CldError, Event, EventType, Person, Report, RowError, Validated};
use crate::fhir::decimal_text;
use csv::StringRecord;
use weave_fhir::nhs::is_valid_nhs_number;

// Positions in COLUMNS.
const LA_CODE: usize = 0;
const LA_NAME: usize = 1;
const PERIOD_START: usize = 2;
const PERIOD_END: usize = 3;
const PERSON: usize = 4;
const NHS: usize = 5;
const GP: usize = 6;
const GENDER: usize = 7;
const ETHNICITY: usize = 8;
const DOB: usize = 9;
const DOD: usize = 10;
const POSTCODE: usize = 11;
const CLIENT_TYPE: usize = 12;
const EVENT_TYPE: usize = 13;
const START: usize = 14;
const END: usize = 15;
const OUTCOME: usize = 16;
const SERVICE_TYPE: usize = 17;
const COMPONENT: usize = 18;
const DELIVERY: usize = 19;
const PSR: usize = 20;
const UNIT_COST: usize = 21;
const FREQUENCY: usize = 22;
const PLANNED: usize = 23;
const REVIEW_REASON: usize = 24;
const REVIEW_OUTCOME: usize = 25;

/// Where each known column is in the file.
struct Cols {
    at: [Option<usize>; COLUMNS.len()],
    event_id: Option<usize>,
    width: usize,
}

fn header(rec: &StringRecord, warnings: &mut Vec<RowError>) -> Result<Cols, CldError> {
    let mut cols = Cols { at: [None; COLUMNS.len()], event_id: None, width: rec.len() };
    for (i, name) in rec.iter().enumerate() {
        let name = name.trim();
        if let Some(k) = COLUMNS.iter().position(|c| *c == name) {
            if cols.at[k].is_some() {
                return Err(CldError::DuplicateColumn(name.to_owned()));
            }
            cols.at[k] = Some(i);
        } else if EVENT_ID_COLUMNS.contains(&name) {
            cols.event_id = Some(i);
        } else {
            warnings.push(RowError { line: 1, column: name.to_owned(), value: String::new(), message: "unknown column ignored".into() });
        }
    }
    let missing: Vec<String> = REQUIRED_COLUMNS
        .iter()
        .filter(|r| COLUMNS.iter().position(|c| c == *r).is_some_and(|k| cols.at[k].is_none()))
        .map(|r| (*r).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(cols)
    } else {
        Err(CldError::MissingColumns(missing))
    }
}

/// Checks one row.
struct Row<'r> {
    rec: &'r StringRecord,
    cols: &'r Cols,
    line: u64,
    errors: Vec<RowError>,
    warnings: &'r mut Vec<RowError>,
}

fn find(list: &'static [&'static str], v: &str) -> Option<&'static str> {
    list.iter().copied().find(|x| *x == v)
}

impl Row<'_> {
    fn get(&self, col: usize) -> &str {
        self.cols.at[col].and_then(|i| self.rec.get(i)).map_or("", str::trim)
    }

    fn problem(&self, col: usize, message: impl Into<String>) -> RowError {
        RowError { line: self.line, column: COLUMNS[col].to_owned(), value: self.get(col).to_owned(), message: message.into() }
    }

    fn error(&mut self, col: usize, message: impl Into<String>) {
        let e = self.problem(col, message);
        self.errors.push(e);
    }

    fn warn(&mut self, col: usize, message: impl Into<String>) {
        let w = self.problem(col, message);
        self.warnings.push(w);
    }

    fn required(&mut self, col: usize) -> Option<String> {
        let v = self.get(col);
        if v.is_empty() {
            self.error(col, "required");
            None
        } else {
            Some(v.to_owned())
        }
    }

    fn date(&mut self, col: usize) -> Option<CldDate> {
        let v = self.get(col);
        if v.is_empty() {
            return None;
        }
        let d = CldDate::parse(v);
        if d.is_none() {
            self.error(col, "not a date (dd/mm/yyyy or yyyy-mm-dd)");
        }
        d
    }

    fn code(&mut self, col: usize, list: &'static [&'static str], required: bool) -> Option<&'static str> {
        let v = self.get(col);
        if v.is_empty() {
            if required {
                self.error(col, "required");
            }
            return None;
        }
        let found = find(list, v);
        if found.is_none() {
            self.error(col, "not in the CLD code list (values are exact strings)");
        }
        found
    }

    fn pair(&mut self, col: usize, list: &'static [(&'static str, &'static str)]) -> Option<(&'static str, &'static str)> {
        let v = self.get(col);
        if v.is_empty() {
            return None;
        }
        let found = list.iter().copied().find(|(c, _)| *c == v);
        if found.is_none() {
            self.error(col, "not in the NHS Data Dictionary code list");
        }
        found
    }

    fn number(&mut self, col: usize) -> Option<String> {
        let v = self.get(col);
        if v.is_empty() {
            return None;
        }
        match decimal_text(v) {
            Some(t) if !t.starts_with('-') => Some(t),
            _ => {
                self.error(col, "not a non-negative number");
                None
            }
        }
    }

    fn nhs_number(&mut self) -> Option<(String, bool)> {
        let v: String = self.get(NHS).chars().filter(|c| !c.is_whitespace()).collect();
        if v.is_empty() {
            return None;
        }
        let ok = is_valid_nhs_number(&v);
        if !ok {
            self.warn(NHS, "not a valid NHS number (modulus 11); kept as a local identifier");
        }
        Some((v, ok))
    }

    fn person(&mut self) -> Person {
        let la_code = self.required(LA_CODE).unwrap_or_default();
        let la_ok = la_code.len() == 9 && la_code.as_bytes()[0].is_ascii_uppercase() && la_code[1..].bytes().all(|b| b.is_ascii_digit());
        if !la_code.is_empty() && !la_ok {
            self.error(LA_CODE, "not an ONS local authority code (a letter and eight digits, e.g. E08000999)");
        }
        let id = self.required(PERSON).unwrap_or_default();
        let gp = Some(self.get(GP).to_owned()).filter(|g| !g.is_empty());
        if gp.as_deref().is_some_and(|g| !crate::map::looks_like_ods(g)) {
            self.warn(GP, "does not look like an ODS practice code");
        }
        let birth_date = self.date(DOB);
        let death_date = self.date(DOD);
        if let (Some(b), Some(d)) = (birth_date, death_date) {
            if d < b {
                self.error(DOD, "before the date of birth");
            }
        }
        let postcode = Some(self.get(POSTCODE).to_uppercase()).filter(|p| !p.is_empty());
        if postcode.as_deref().is_some_and(|p| !plausible_postcode(p)) {
            self.warn(POSTCODE, "does not look like a UK postcode");
        }
        Person {
            la_code,
            la_name: self.get(LA_NAME).to_owned(),
            id,
            nhs_number: self.nhs_number(),
            gp_practice: gp,
            gender: self.pair(GENDER, GENDERS).map(|g| g.1),
            ethnicity: self.pair(ETHNICITY, ETHNICITIES),
            birth_date,
            death_date,
            postcode,
            client_type: self.code(CLIENT_TYPE, CLIENT_TYPES, false).map(str::to_owned),
        }
    }

    fn event(mut self) -> (Option<Event>, Vec<RowError>) {
        let person = self.person();
        let period_start = self.date(PERIOD_START);
        let period_end = self.date(PERIOD_END);
        if let (Some(s), Some(e)) = (period_start, period_end) {
            if e < s {
                self.error(PERIOD_END, "before the reporting period start");
            }
        }
        let kind = match self.code(EVENT_TYPE, EVENT_TYPES, true) {
            Some("Request") => Some(EventType::Request),
            Some("Assessment") => Some(EventType::Assessment),
            Some("Service") => Some(EventType::Service),
            Some(_) => Some(EventType::Review),
            None => None,
        };
        let start = if self.get(START).is_empty() {
            self.error(START, "required");
            None
        } else {
            self.date(START)
        };
        let end = self.date(END);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                self.error(END, "before the event start date");
            }
        }
        let outcome = Some(self.get(OUTCOME).to_owned()).filter(|o| !o.is_empty());
        if outcome.as_deref().is_some_and(|o| find(EVENT_OUTCOMES, o).is_none()) {
            self.warn(OUTCOME, "not a known CLD event outcome; kept as written");
        }
        let service = kind == Some(EventType::Service);
        let event_id = self.cols.event_id.and_then(|i| self.rec.get(i)).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let ev = Event {
            line: self.line,
            period_end,
            event_id,
            kind: kind.unwrap_or(EventType::Request),
            start: start.unwrap_or(CldDate { year: 1, month: 1, day: 1 }),
            end,
            outcome,
            service_type: self.code(SERVICE_TYPE, SERVICE_TYPES, service),
            component: self.code(COMPONENT, SERVICE_COMPONENTS, service),
            delivery: self.code(DELIVERY, DELIVERY_MECHANISMS, service),
            support_reason: self.code(PSR, PRIMARY_SUPPORT_REASONS, false),
            unit_cost: self.number(UNIT_COST),
            cost_frequency: self.code(FREQUENCY, COST_FREQUENCIES, false),
            planned_units: self.number(PLANNED),
            review_reason: self.code(REVIEW_REASON, REVIEW_REASONS, false),
            review_outcome: self.code(REVIEW_OUTCOME, REVIEW_OUTCOMES, false),
            person,
        };
        if self.errors.is_empty() && kind.is_some() && start.is_some() {
            (Some(ev), self.errors)
        } else {
            (None, self.errors)
        }
    }
}

/// Outward code, optional space, inward code (`XW1 4ZN`, `SW1A 1AA`).
fn plausible_postcode(p: &str) -> bool {
    let compact: Vec<u8> = p.bytes().filter(|b| *b != b' ').collect();
    if !(5..=7).contains(&compact.len()) {
        return false;
    }
    let (out, inward) = compact.split_at(compact.len() - 3);
    out[0].is_ascii_uppercase()
        && out.iter().all(u8::is_ascii_alphanumeric)
        && out.iter().any(u8::is_ascii_digit)
        && inward[0].is_ascii_digit()
        && inward[1..].iter().all(u8::is_ascii_uppercase)
}

/// Validates decoded text.
pub(super) fn validate_text(text: &str) -> Result<Validated, CldError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(text.as_bytes());
    let mut rec = StringRecord::new();
    let mut report = Report::default();
    let csv_err = |e: &csv::Error| CldError::Csv { line: e.position().map_or(0, csv::Position::line), message: e.to_string() };
    if !rdr.read_record(&mut rec).map_err(|e| csv_err(&e))? {
        return Err(CldError::Empty);
    }
    let cols = header(&rec, &mut report.warnings)?;
    let mut events = Vec::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A malformed record (e.g. invalid quoting) is a row error; reading goes on.
                let line = e.position().map_or(0, csv::Position::line);
                report.rows += 1;
                report.errors.push(RowError { line, column: String::new(), value: String::new(), message: format!("unreadable CSV row: {e}") });
                continue;
            }
        }
        let line = rec.position().map_or(0, csv::Position::line);
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        if rec.len() != cols.width {
            report.errors.push(RowError {
                line,
                column: String::new(),
                value: String::new(),
                message: format!("{} fields where the header has {}", rec.len(), cols.width),
            });
            continue;
        }
        let row = Row { rec: &rec, cols: &cols, line, errors: Vec::new(), warnings: &mut report.warnings };
        let (event, errors) = row.event();
        report.errors.extend(errors);
        if let Some(ev) = event {
            report.valid += 1;
            events.push(ev);
        }
    }
    Ok(Validated { events, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "LA_Code,LA_Name,Reporting_Period_Start_Date,Reporting_Period_End_Date,LA_Person_Unique_Identifier,NHS_Number,GP_Practice_Code,Gender,Ethnicity,Date_of_Birth,Date_of_Death,Postcode,Client_Type,Event_Type,Event_Start_Date,Event_End_Date,Event_Outcome,Service_Type,Service_Component,Delivery_Mechanism,Primary_Support_Reason,Unit_Cost,Cost_Frequency_(Unit_Type),Planned_units_per_week,Review_Reason,Review_Outcomes_Achieved";
    const GOOD: &str = "E08000999,Loomford,01/01/2024,31/03/2024,LA1,9434765919,Y90001,2,A,14/10/1935,,XW1 4ZN,Service User,Service,31/01/2023,,,Long Term Support: Community,Home Support,CASSR Commissioned Support,Physical Support: Personal care support,23.20,Hourly,10.5,,";

    fn run(rows: &[&str]) -> Validated {
        let text = std::iter::once(HEAD).chain(rows.iter().copied()).collect::<Vec<_>>().join("\n");
        validate_text(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_good_row_becomes_an_event() {
        let v = run(&[GOOD]);
        assert_eq!(v.report.errors, vec![]);
        assert_eq!(v.events.len(), 1);
        let e = &v.events[0];
        assert_eq!(e.line, 2);
        assert_eq!(e.kind, EventType::Service);
        assert_eq!(e.person.gender, Some("female"));
        assert_eq!(e.person.nhs_number, Some(("9434765919".into(), true)));
        assert_eq!(e.unit_cost.as_deref(), Some("23.20"));
        assert_eq!(e.planned_units.as_deref(), Some("10.5"));
        assert_eq!(e.key(), "LA1/Service/2023-01-31/Home Support");
    }

    #[test]
    fn each_bad_cell_is_reported() {
        let bad = GOOD
            .replace("Home Support", "Home support")
            .replace(",2,A,", ",7,Q,")
            .replace("23.20", "£23.20")
            .replace("31/01/2023", "31/02/2023");
        let v = run(&[&bad]);
        let cols: Vec<&str> = v.report.errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, vec!["Gender", "Ethnicity", "Event_Start_Date", "Service_Component", "Unit_Cost"]);
        assert!(v.report.errors.iter().all(|e| e.line == 2));
        assert!(v.events.is_empty());
    }

    #[test]
    fn invalid_nhs_numbers_warn_but_keep_the_row() {
        let v = run(&[&GOOD.replace("9434765919", "9999999991")]);
        assert_eq!(v.events.len(), 1);
        assert_eq!(v.events[0].person.nhs_number, Some(("9999999991".into(), false)));
        assert_eq!(v.report.warnings.len(), 1);
        assert_eq!(v.report.warnings[0].column, "NHS_Number");
    }

    #[test]
    fn service_columns_are_required_for_services_and_row_width_is_checked() {
        let v = run(&[&GOOD.replace("Long Term Support: Community,Home Support,CASSR Commissioned Support", ",,"), "E08000999,x"]);
        let msgs: Vec<(u64, &str)> = v.report.errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(msgs, vec![(2, "Service_Type"), (2, "Service_Component"), (2, "Delivery_Mechanism"), (3, "")]);
    }

    #[test]
    fn header_problems_are_fatal() {
        assert_eq!(validate_text("").err(), Some(CldError::Empty));
        assert_eq!(
            validate_text("LA_Code,Event_Type\n").err(),
            Some(CldError::MissingColumns(vec!["LA_Person_Unique_Identifier".into(), "Event_Start_Date".into()]))
        );
        assert_eq!(validate_text("LA_Code,LA_Code\n").err(), Some(CldError::DuplicateColumn("LA_Code".into())));
        assert!(plausible_postcode("XW1 4ZN") && plausible_postcode("SW1A1AA") && !plausible_postcode("12345"));
    }
}
