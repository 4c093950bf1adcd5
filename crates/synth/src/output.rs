//! Writing a generated world to a directory, the in-memory FHIR bundle iterator, and the benchmark entry.
//!
//! Layout (see docs/synth.md): `place.json`; `gp/<ODS>/bundle-NNNN.json`; `mental-health/bundle-NNNN.json`;
//! `community/bundle-NNNN.json`; `hospital/hl7/YYYY-MM.hl7`; `council/cld/cld_YYYY_Qn.csv`;
//! `fhir/hospital/bundle-NNNN.json`; `fhir/council/bundle-NNNN.json`; `truth.json`; `manifest.json`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::config::{Summary, SynthConfig, SynthError};
use crate::fhir::{self, BundleBuilder};
use crate::hl7;
use crate::model::AdmissionKind;
use crate::rng::IdGen;
use crate::world::{par_map, simulate, World};
use crate::{cld, truth};

/// A FHIR source rendered as bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Gp(usize),
    MentalHealth,
    Community,
    Hospital,
    Council,
}

impl Source {
    fn namespace(self) -> u64 {
        match self {
            Self::Gp(i) => 100 + i as u64,
            Self::MentalHealth => 10,
            Self::Community => 11,
            Self::Hospital => 12,
            Self::Council => 13,
        }
    }
}

/// One bundle to build: which source, which people, where it goes.
#[derive(Debug, Clone)]
struct Job {
    source: Source,
    people: Vec<usize>,
    path: String,
}

fn chunked(source: Source, dir: &str, people: Vec<usize>, per: usize, jobs: &mut Vec<Job>) {
    for (n, chunk) in people.chunks(per.max(1)).enumerate() {
        jobs.push(Job {
            source,
            people: chunk.to_vec(),
            path: format!("{dir}/bundle-{:04}.json", n + 1),
        });
    }
}

/// The bundle jobs for a world, in load order.
fn jobs(world: &World) -> Vec<Job> {
    let per = world.config.bundle_people;
    let mut out = Vec::new();
    for (i, practice) in world.place.practices.iter().enumerate() {
        let people: Vec<usize> = world
            .people
            .iter()
            .filter(|p| usize::from(p.practice) == i)
            .map(|p| p.idx as usize)
            .collect();
        chunked(
            Source::Gp(i),
            &format!("gp/{}", practice.ods),
            people,
            per,
            &mut out,
        );
    }
    let select = |f: &dyn Fn(&crate::model::Person) -> bool| {
        world
            .people
            .iter()
            .filter(|p| f(p))
            .map(|p| p.idx as usize)
            .collect::<Vec<_>>()
    };
    chunked(
        Source::MentalHealth,
        "mental-health",
        select(&|p| p.mh_id.is_some()),
        per,
        &mut out,
    );
    chunked(
        Source::Community,
        "community",
        select(&|p| p.community_id.is_some()),
        per,
        &mut out,
    );
    chunked(
        Source::Hospital,
        "fhir/hospital",
        select(&|p| !p.hospital_ids.is_empty()),
        per,
        &mut out,
    );
    chunked(
        Source::Council,
        "fhir/council",
        select(&|p| !p.council_ids.is_empty()),
        per,
        &mut out,
    );
    out
}

fn build(world: &World, job: &Job, bundle_no: usize) -> BundleBuilder {
    let mut b = BundleBuilder::new(IdGen::new(
        world.config.seed,
        job.source.namespace(),
        bundle_no as u64,
    ));
    let (place, end) = (&world.place, world.end);
    for &i in &job.people {
        let p = &world.people[i];
        match job.source {
            Source::Gp(_) => fhir::gp::add_person(&mut b, p, place, end),
            Source::MentalHealth => fhir::trusts::add_mental_health(&mut b, p, place, end),
            Source::Community => fhir::trusts::add_community(&mut b, p, place, end),
            Source::Hospital => fhir::hospital::add_person(&mut b, p, place, end),
            Source::Council => fhir::council::add_person(&mut b, p, place, end),
        }
    }
    b
}

/// All FHIR transaction bundles of a world, built lazily: the place first, then GP practices, mental
/// health, community, hospital and council.
pub struct FhirBundles {
    world: World,
    jobs: Vec<Job>,
    next: usize,
    place_done: bool,
}

impl FhirBundles {
    /// Bundles for an already simulated world.
    #[must_use]
    pub fn new(world: World) -> Self {
        let jobs = jobs(&world);
        Self {
            world,
            jobs,
            next: 0,
            place_done: false,
        }
    }

    /// The simulated world behind the bundles (for truth and statistics).
    #[must_use]
    pub fn world(&self) -> &World {
        &self.world
    }
}

impl Iterator for FhirBundles {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if !self.place_done {
            self.place_done = true;
            return Some(fhir::place::bundle(&self.world.place, self.world.config.seed).finish());
        }
        let job = self.jobs.get(self.next)?;
        self.next += 1;
        Some(build(&self.world, job, self.next).finish())
    }
}

/// Simulates `config` and returns its FHIR bundles (place first) for direct loading.
///
/// # Errors
/// [`SynthError::Config`] for an invalid config.
pub fn generate_fhir(config: &SynthConfig) -> Result<FhirBundles, SynthError> {
    Ok(FhirBundles::new(simulate(config)?))
}

/// Output sink: files are handed to a writer thread so that disk I/O overlaps with building the next
/// batch of bundles.
struct Out {
    dir: PathBuf,
    summary: Summary,
    manifest: BTreeMap<&'static str, Vec<String>>,
    tx: mpsc::SyncSender<(PathBuf, Vec<u8>)>,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| SynthError::io(parent, e))?;
    }
    let mut f = fs::File::create(path).map_err(|e| SynthError::io(path, e))?;
    f.write_all(bytes).map_err(|e| SynthError::io(path, e))
}

/// Drains the channel, writing every file; stops at the first error (remaining files are discarded).
fn writer_loop(rx: &mpsc::Receiver<(PathBuf, Vec<u8>)>) -> Result<(), SynthError> {
    let mut result = Ok(());
    for (path, bytes) in rx {
        if result.is_ok() {
            result = write_file(&path, &bytes);
        }
    }
    result
}

impl Out {
    fn write(&mut self, rel: &str, bytes: Vec<u8>) -> Result<(), SynthError> {
        self.summary.bytes_written += bytes.len() as u64;
        self.summary.files_written += 1;
        let path = self.dir.join(rel);
        self.tx
            .send((path.clone(), bytes))
            .map_err(|_| SynthError::io(path, std::io::Error::other("writer thread stopped")))
    }

    fn json(&mut self, rel: &str, v: &Value) -> Result<(), SynthError> {
        let bytes = serde_json::to_vec(v).map_err(|e| SynthError::Json {
            what: rel.to_owned(),
            source: e,
        })?;
        self.write(rel, bytes)
    }
}

fn write_fhir(out: &mut Out, world: &World, threads: usize) -> Result<(), SynthError> {
    let place = fhir::place::bundle(&world.place, world.config.seed);
    out.summary.fhir_resources += place.len();
    out.summary.fhir_bundles += 1;
    out.write("place.json", place.finish_bytes())?;
    out.manifest
        .entry("fhir")
        .or_default()
        .push("place.json".into());
    let all = jobs(world);
    let wave = threads * 4;
    for (w, batch) in all.chunks(wave).enumerate() {
        let built = par_map(batch.len(), threads, |k| {
            let bundle = build(world, &batch[k], w * wave + k + 1);
            (bundle.len(), bundle.finish_bytes())
        });
        for (job, (n, bytes)) in batch.iter().zip(built) {
            out.summary.fhir_resources += n;
            out.summary.fhir_bundles += 1;
            out.write(&job.path, bytes)?;
            out.manifest
                .entry("fhir")
                .or_default()
                .push(job.path.clone());
        }
    }
    Ok(())
}

fn write_hl7(out: &mut Out, world: &World, threads: usize) -> Result<(), SynthError> {
    let per_person = par_map(world.people.len(), threads, |i| {
        hl7::person_messages(&world.people[i], &world.place, world.end)
    });
    let mut months: BTreeMap<(i32, u32), Vec<hl7::Message>> = BTreeMap::new();
    for m in per_person.into_iter().flatten() {
        let (y, mo, _) = m.at.date.ymd();
        months.entry((y, mo)).or_default().push(m);
    }
    for ((y, mo), mut msgs) in months {
        msgs.sort_by(|a, b| (a.at, &a.control_id).cmp(&(b.at, &b.control_id)));
        let mut text = String::with_capacity(msgs.iter().map(|m| m.text.len() + 2).sum());
        for m in &msgs {
            text.push_str(&m.text);
            text.push_str("\n\n");
        }
        out.summary.hl7_messages += msgs.len();
        let rel = format!("hospital/hl7/{y:04}-{mo:02}.hl7");
        out.write(&rel, text.into_bytes())?;
        out.manifest.entry("hl7").or_default().push(rel);
    }
    Ok(())
}

fn write_cld(out: &mut Out, world: &World) -> Result<(), SynthError> {
    for q in cld::quarters(world.start, world.end) {
        let mut text = cld::header();
        for p in &world.people {
            out.summary.cld_rows += cld::person_rows(p, &world.place, q, &mut text);
        }
        let rel = format!("council/cld/{}", q.file_name());
        out.write(&rel, text.into_bytes())?;
        out.summary.cld_files += 1;
        out.manifest.entry("cld").or_default().push(rel);
    }
    Ok(())
}

fn count_world(summary: &mut Summary, world: &World) {
    summary.people = world.people.len();
    summary.deaths = world.people.iter().filter(|p| p.death.is_some()).count();
    summary.gp_practices = world.place.practices.len();
    summary.ed_attendances = world.people.iter().map(|p| p.ed.len()).sum();
    summary.emergency_admissions = world
        .people
        .iter()
        .map(|p| {
            p.admissions
                .iter()
                .filter(|a| a.kind == AdmissionKind::Emergency)
                .count()
        })
        .sum();
    summary.elective_admissions = world
        .people
        .iter()
        .map(|p| {
            p.admissions
                .iter()
                .filter(|a| a.kind == AdmissionKind::Elective)
                .count()
        })
        .sum();
    summary.social_care_clients = world
        .people
        .iter()
        .filter(|p| !p.council_ids.is_empty())
        .count();
}

/// Writes every source's files for an already simulated world into `out_dir` (created if missing).
///
/// # Errors
/// [`SynthError::Io`] or [`SynthError::Json`] when writing fails.
pub fn write_world(world: &World, out_dir: &Path) -> Result<Summary, SynthError> {
    fs::create_dir_all(out_dir).map_err(|e| SynthError::io(out_dir, e))?;
    let threads = world.config.worker_threads();
    let (tx, rx) = mpsc::sync_channel::<(PathBuf, Vec<u8>)>(threads * 8);
    std::thread::scope(|s| {
        let writer = s.spawn(move || writer_loop(&rx));
        let mut out = Out {
            dir: out_dir.to_path_buf(),
            summary: Summary::default(),
            manifest: BTreeMap::new(),
            tx,
        };
        let produced = produce(&mut out, world, threads);
        let Out { summary, tx, .. } = out;
        drop(tx);
        let written = writer.join().unwrap_or_else(|_| {
            Err(SynthError::io(
                out_dir,
                std::io::Error::other("writer thread panicked"),
            ))
        });
        produced?;
        written?;
        Ok(summary)
    })
}

fn produce(out: &mut Out, world: &World, threads: usize) -> Result<(), SynthError> {
    count_world(&mut out.summary, world);
    write_fhir(out, world, threads)?;
    write_hl7(out, world, threads)?;
    write_cld(out, world)?;
    let truth = truth::document(world, &out.summary);
    out.json("truth.json", &truth)?;
    let manifest = json!({
        "generator": "weave-synth",
        "reference_date": world.end.iso(),
        "fhir_load_order": out.manifest.get("fhir"),
        "hl7": out.manifest.get("hl7"),
        "cld": out.manifest.get("cld"),
        "truth": "truth.json"
    });
    out.json("manifest.json", &manifest)
}

/// Simulates `config` and writes all sources into `out_dir`.
///
/// # Errors
/// [`SynthError::Config`] for an invalid config; [`SynthError::Io`] / [`SynthError::Json`] when writing fails.
pub fn generate(config: &SynthConfig, out_dir: &Path) -> Result<Summary, SynthError> {
    let world = simulate(config)?;
    write_world(&world, out_dir)
}

/// Timings of one generate run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub summary: Summary,
    pub simulate_secs: f64,
    pub write_secs: f64,
    pub total_secs: f64,
    pub people_per_sec: f64,
    pub resources_per_sec: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "people            {:>12}", self.summary.people)?;
        writeln!(f, "fhir resources    {:>12}", self.summary.fhir_resources)?;
        writeln!(f, "hl7 messages      {:>12}", self.summary.hl7_messages)?;
        writeln!(f, "cld rows          {:>12}", self.summary.cld_rows)?;
        #[allow(clippy::cast_precision_loss)]
        let mb = self.summary.bytes_written as f64 / 1e6;
        writeln!(
            f,
            "bytes written     {mb:>10.1} MB in {} files",
            self.summary.files_written
        )?;
        writeln!(f, "simulate          {:>10.2} s", self.simulate_secs)?;
        writeln!(f, "write             {:>10.2} s", self.write_secs)?;
        writeln!(f, "total             {:>10.2} s", self.total_secs)?;
        writeln!(f, "people/s          {:>12.0}", self.people_per_sec)?;
        write!(f, "fhir resources/s  {:>12.0}", self.resources_per_sec)
    }
}

/// Runs a timed generate into `out_dir` (wall-clock time is measured, never written into the output).
///
/// # Errors
/// As [`generate`].
pub fn bench(config: &SynthConfig, out_dir: &Path) -> Result<BenchReport, SynthError> {
    let t0 = Instant::now();
    let world = simulate(config)?;
    let simulate_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let summary = write_world(&world, out_dir)?;
    let write_secs = t1.elapsed().as_secs_f64();
    let total_secs = t0.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let (people, resources) = (summary.people as f64, summary.fhir_resources as f64);
    Ok(BenchReport {
        summary,
        simulate_secs,
        write_secs,
        total_secs,
        people_per_sec: people / total_secs,
        resources_per_sec: resources / total_secs,
    })
}
