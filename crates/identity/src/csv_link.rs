//! CSV linkage (the engine behind `weave identity link-csv`): read one file to deduplicate or two to link,
//! map columns to fields (several columns may feed one field and are joined with spaces), train on the data
//! itself and write every pair at or above the review threshold as `id_a,id_b,match_probability,decision`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::blocking::Settings;
use crate::compare::Field;
use crate::error::Error;
use crate::linker::{train_and_dedupe, train_and_link, Linkage};
use crate::model::Model;
use crate::record::{Dob, Record, Sex};

/// Options of a CSV linkage run.
#[derive(Debug, Clone)]
pub struct LinkCsvOptions {
    /// One file (deduplicate) or two (link the first with the second).
    pub inputs: Vec<PathBuf>,
    /// Column holding the record id.
    pub id_column: String,
    /// Field ← column mappings; a field given several times concatenates its columns in order.
    pub fields: Vec<(Field, String)>,
    /// strftime-like date format (`%Y`, `%m`, `%d`); `None` tries ISO, `%Y%m%d` and `%d/%m/%Y`.
    pub dob_format: Option<String>,
    /// Where to write the pairs (none: do not write).
    pub out: Option<PathBuf>,
    pub settings: Settings,
}

impl LinkCsvOptions {
    /// Options for `inputs` with record ids in `id_column` and no fields yet.
    #[must_use]
    pub fn new(inputs: Vec<PathBuf>, id_column: &str) -> Self {
        Self {
            inputs,
            id_column: id_column.to_owned(),
            fields: Vec::new(),
            dob_format: None,
            out: None,
            settings: Settings::default(),
        }
    }

    /// Adds a mapping from a `FIELD=COLUMN` specification (as on the command line).
    ///
    /// # Errors
    /// [`Error::UnknownField`] or [`Error::Options`] for a malformed specification.
    pub fn field_spec(mut self, spec: &str) -> Result<Self, Error> {
        let (f, col) = spec
            .split_once('=')
            .ok_or_else(|| Error::Options(format!("--field expects FIELD=COLUMN, got {spec:?}")))?;
        let field =
            Field::from_name(f.trim()).ok_or_else(|| Error::UnknownField(f.trim().to_owned()))?;
        self.fields.push((field, col.trim().to_owned()));
        Ok(self)
    }
}

/// Result of a CSV linkage run.
#[derive(Debug, Clone, Serialize)]
pub struct LinkReport {
    /// Records read per input file.
    pub records: Vec<usize>,
    /// Record ids in input order (first file, then second).
    pub ids: Vec<String>,
    /// Dates of birth present but not parseable with the format (treated as missing).
    pub unparsed_dates: usize,
    pub pairs_written: usize,
    pub model: Model,
    pub linkage: Linkage,
}

impl LinkReport {
    /// Clusters of more than one record, as record ids.
    #[must_use]
    pub fn cluster_ids(&self) -> Vec<Vec<&str>> {
        self.linkage
            .clusters
            .iter()
            .map(|c| {
                c.iter()
                    .filter_map(|&i| self.ids.get(i).map(String::as_str))
                    .collect()
            })
            .collect()
    }
}

/// Column indices of every mapped field.
struct Mapping {
    id: usize,
    fields: Vec<(Field, usize)>,
}

fn mapping(
    path: &Path,
    headers: &csv::StringRecord,
    opts: &LinkCsvOptions,
) -> Result<Mapping, Error> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| Error::MissingColumn {
                path: path.to_owned(),
                column: name.to_owned(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let id = find(&opts.id_column)?;
    let fields = opts
        .fields
        .iter()
        .map(|(f, c)| find(c).map(|i| (*f, i)))
        .collect::<Result<_, _>>()?;
    Ok(Mapping { id, fields })
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    Error::Csv {
        path: path.to_owned(),
        line: e.position().map_or(0, csv::Position::line),
        message: match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("expected {expected_len} fields, found {len}")
            }
            _ => e.to_string(),
        },
    }
}

fn parse_dob(s: &str, format: Option<&str>) -> Option<Dob> {
    match format {
        Some(f) => Dob::parse(s, Some(f)),
        None => Dob::parse(s, None)
            .or_else(|| Dob::parse(s, Some("%Y%m%d")))
            .or_else(|| Dob::parse(s, Some("%d/%m/%Y"))),
    }
}

/// Builds the record of one CSV row; the flag is true when a date was present but unparseable.
fn to_record(row: &csv::StringRecord, map: &Mapping, format: Option<&str>) -> (Record, bool) {
    let mut r = Record {
        id: row.get(map.id).unwrap_or_default().to_owned(),
        ..Record::default()
    };
    let mut dob_text = String::new();
    let mut sex_text = String::new();
    let mut nhs_text = String::new();
    for &(field, col) in &map.fields {
        let v = row.get(col).unwrap_or_default().trim();
        if v.is_empty() {
            continue;
        }
        let target = match field {
            Field::Given => &mut r.given,
            Field::Family => &mut r.family,
            Field::Dob => &mut dob_text,
            Field::Sex => &mut sex_text,
            Field::Postcode => &mut r.postcode,
            Field::Address => &mut r.address,
            Field::Locality => &mut r.locality,
            Field::Phone => &mut r.phone,
            Field::Nhs => &mut nhs_text,
        };
        if !target.is_empty() {
            target.push(' ');
        }
        target.push_str(v);
    }
    r.dob = parse_dob(&dob_text, format);
    r.sex = Sex::parse(&sex_text);
    r.nhs = (!nhs_text.is_empty()).then_some(nhs_text);
    let unparsed = !dob_text.is_empty() && r.dob.is_none();
    (r, unparsed)
}

/// Reads one CSV file into records.
///
/// # Errors
/// [`Error::Io`], [`Error::Csv`] (with the line number) or [`Error::MissingColumn`].
pub fn read_records(path: &Path, opts: &LinkCsvOptions) -> Result<(Vec<Record>, usize), Error> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let headers = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let map = mapping(path, &headers, opts)?;
    let mut out = Vec::new();
    let mut unparsed = 0;
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let (r, bad) = to_record(&row, &map, opts.dob_format.as_deref());
                unparsed += usize::from(bad);
                out.push(r);
            }
            Err(e) => return Err(csv_error(path, &e)),
        }
    }
    Ok((out, unparsed))
}

fn write_pairs(path: &Path, linkage: &Linkage) -> Result<usize, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(io)?);
    writeln!(w, "id_a,id_b,match_probability,decision").map_err(io)?;
    for p in &linkage.pairs {
        writeln!(
            w,
            "{},{},{:.6},{}",
            csv_field(&p.id_a),
            csv_field(&p.id_b),
            p.probability,
            p.decision.as_str()
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(linkage.pairs.len())
}

/// Quotes a CSV field when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Runs a CSV linkage: trains on the input itself (no labels), deduplicates one file or links two, and
/// writes the pairs when `opts.out` is set.
///
/// # Errors
/// Options, reading, CSV-format errors (with line numbers) and too few records.
pub fn link_csv(opts: &LinkCsvOptions) -> Result<LinkReport, Error> {
    if opts.inputs.is_empty() || opts.inputs.len() > 2 {
        return Err(Error::Options(format!(
            "expected one or two input files, got {}",
            opts.inputs.len()
        )));
    }
    if opts.fields.is_empty() {
        return Err(Error::Options("no --field mappings given".into()));
    }
    let mut files = Vec::new();
    let mut unparsed_dates = 0;
    for p in &opts.inputs {
        let (recs, bad) = read_records(p, opts)?;
        unparsed_dates += bad;
        files.push(recs);
    }
    let (model, linkage) = match files.as_slice() {
        [a] => train_and_dedupe(a, &opts.settings)?,
        [a, b] => train_and_link(a, b, &opts.settings)?,
        _ => return Err(Error::Options("expected one or two input files".into())),
    };
    let pairs_written = match &opts.out {
        Some(path) => write_pairs(path, &linkage)?,
        None => 0,
    };
    Ok(LinkReport {
        records: files.iter().map(Vec::len).collect(),
        ids: files.iter().flatten().map(|r| r.id.clone()).collect(),
        unparsed_dates,
        pairs_written,
        model,
        linkage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("weave-identity-csv-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join(name);
        let _ = std::fs::write(&p, text);
        p
    }

    fn opts(p: PathBuf) -> LinkCsvOptions {
        LinkCsvOptions::new(vec![p], "id")
            .field_spec("given=first")
            .and_then(|o| o.field_spec("family=last"))
            .and_then(|o| o.field_spec("dob=dob"))
            .unwrap_or_else(|_| LinkCsvOptions::new(Vec::new(), "id"))
    }

    #[test]
    fn malformed_csv_reports_the_line() {
        let p = write(
            "bad.csv",
            "id, first, last, dob\n1, ann, smith, 19500102\n2, bob\n",
        );
        match link_csv(&opts(p)) {
            Err(Error::Csv { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(message.contains("expected 4 fields"), "{message}");
            }
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn missing_column_and_bad_spec_are_errors() {
        let p = write("cols.csv", "id, first, surname\n1, ann, smith\n");
        assert!(matches!(
            link_csv(&opts(p)),
            Err(Error::MissingColumn { .. })
        ));
        assert!(matches!(
            LinkCsvOptions::new(vec![], "id").field_spec("colour=x"),
            Err(Error::UnknownField(_))
        ));
        assert!(matches!(
            LinkCsvOptions::new(vec![], "id").field_spec("given"),
            Err(Error::Options(_))
        ));
    }

    #[test]
    fn columns_concatenate_and_dates_parse() {
        let p = write(
            "rows.csv",
            "id, no, street, dob\n7, 12, high street, 19081209\n8, , , 1908-13-40\n",
        );
        let o = LinkCsvOptions::new(vec![p.clone()], "id")
            .field_spec("address=no")
            .and_then(|o| o.field_spec("address=street"))
            .and_then(|o| o.field_spec("dob=dob"));
        let Ok(o) = o else { panic!("spec") };
        let Ok((recs, bad)) = read_records(&p, &o) else {
            panic!("read")
        };
        assert_eq!(recs[0].address, "12 high street");
        assert_eq!(recs[0].dob, Dob::new(1908, 12, 9));
        assert_eq!(bad, 1);
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
