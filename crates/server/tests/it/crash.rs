//! Crash safety of the real binary: `weave serve` on a temp database takes creates, updates and
//! small transactions from several client threads and is killed with SIGKILL at a random
//! moment, then restarted on the same file. After each restart: (a) every write the clients saw
//! acknowledged is readable with at least the acknowledged version; (b) every transaction
//! (N Patients sharing one marker identifier) is visible entirely or not at all. Five cycles.
//!
//! The binary is `target/{debug,release}/weave` (the newest one); when it is missing or older
//! than the sources it is built with `cargo build -p weave-cli`. Only 127.0.0.1 is used.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const CYCLES: usize = 5;
const CLIENTS: usize = 4;
/// Patients per transaction.
const TX_SIZE: usize = 3;
const SYS_CREATE: &str = "urn:weave-test:crash:create";
const SYS_TX: &str = "urn:weave-test:crash:tx";

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// The newest modification time of any file under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut best = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                best = best.max(Some(t));
            }
        }
    }
    best
}

/// The `weave` binary, built first when missing or older than the crates it is made of.
pub(crate) fn weave_binary() -> PathBuf {
    let root = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let found = || {
        ["debug", "release"]
            .iter()
            .map(|p| target.join(p).join("weave"))
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .max()
    };
    let sources = ["cli", "server", "store", "search", "fhir", "fhirpath"]
        .iter()
        .filter_map(|c| newest(&root.join("crates").join(c).join("src")))
        .max();
    if let Some((built, path)) = found() {
        if sources.is_none_or(|s| s <= built) {
            return path;
        }
    }
    println!("NOTICE: building the weave binary (missing or older than its sources)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo).args(["build", "-p", "weave-cli"]).current_dir(&root).status();
    match (status, found()) {
        (Ok(s), Some((_, path))) if s.success() => path,
        (_, Some((_, path))) => {
            println!("NOTICE: the build failed; testing the existing (older) {}", path.display());
            path
        }
        (s, None) => panic!("no weave binary and `cargo build -p weave-cli` failed: {s:?}"),
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A running `weave serve`; killed when dropped.
pub(crate) struct Weave {
    child: Child,
    pub port: u16,
}

impl Weave {
    /// Starts `weave serve` on a free port and waits until it answers (a few attempts, in case
    /// the port is taken between choosing and binding it).
    pub(crate) fn start(bin: &Path, db: &Path) -> Weave {
        Weave::start_with(bin, db, &[])
    }

    /// Like [`Weave::start`], with more arguments for `weave serve`.
    pub(crate) fn start_with(bin: &Path, db: &Path, extra: &[String]) -> Weave {
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(bin)
                .args(["serve", "--db"])
                .arg(db)
                .args(["--addr", &format!("127.0.0.1:{port}")])
                .args(extra)
                .env("WEAVE_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting weave serve");
            let mut w = Weave { child, port };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline && matches!(w.child.try_wait(), Ok(None)) {
                if matches!(http(port, "GET", "/metadata", None), Ok(r) if r.status == 200) {
                    return w;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            println!("NOTICE: weave serve on port {port} exited or did not answer; retrying");
        }
        panic!("weave serve did not start (3 attempts of 30 s)");
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Weave {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response from the plain HTTP/1.1 client.
pub(crate) struct HttpResp {
    pub status: u16,
    etag: Option<u64>,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub(crate) fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<HttpResp> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed HTTP response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let mut etag = None;
    let mut chunked = false;
    for l in lines {
        let (k, v) = l.split_once(':').unwrap_or((l, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "etag" => etag = v.trim().trim_start_matches("W/").trim_matches('"').parse().ok(),
            "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let rest = raw[split + 4..].to_vec();
    let body = if chunked { dechunk(&rest).ok_or_else(bad)? } else { rest };
    Ok(HttpResp { status, etag, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// What the clients saw acknowledged, and which transactions they attempted.
#[derive(Default)]
struct Log {
    /// Patient id → highest acknowledged version.
    acked: BTreeMap<String, u64>,
    attempted_tx: Vec<String>,
    acked_tx: HashSet<String>,
}

fn patient(system: &str, marker: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": system, "value": marker}], "name": [{"family": marker}]})
}

/// One client: creates, updates of its own Patient, and transactions, until the server dies.
fn client(port: u16, tag: String, log: Arc<Mutex<Log>>, stop: Arc<AtomicBool>) {
    let own = format!("crash-{tag}");
    for i in 0..100_000 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let marker = format!("{tag}-{i}");
        let outcome = match i % 3 {
            0 => http(port, "POST", "/Patient", Some(&patient(SYS_CREATE, &marker))).map(|r| {
                let id = serde_json::from_slice::<Value>(&r.body).ok().and_then(|b| b["id"].as_str().map(str::to_owned));
                if let (201, Some(v), Some(id)) = (r.status, r.etag, id) {
                    record(&log, id, v);
                }
            }),
            1 => {
                let mut body = patient(SYS_CREATE, &marker);
                body["id"] = json!(own);
                http(port, "PUT", &format!("/Patient/{own}"), Some(&body)).map(|r| {
                    if let (200 | 201, Some(v)) = (r.status, r.etag) {
                        record(&log, own.clone(), v);
                    }
                })
            }
            _ => transaction(port, &marker, &log),
        };
        if outcome.is_err() {
            return; // the server is gone
        }
    }
}

fn record(log: &Mutex<Log>, id: String, version: u64) {
    if let Ok(mut l) = log.lock() {
        let v = l.acked.entry(id).or_insert(0);
        *v = (*v).max(version);
    }
}

fn transaction(port: u16, marker: &str, log: &Mutex<Log>) -> std::io::Result<()> {
    let entries: Vec<Value> = (0..TX_SIZE)
        .map(|k| json!({"fullUrl": format!("urn:uuid:{marker}-{k}"), "resource": patient(SYS_TX, marker),
                        "request": {"method": "POST", "url": "Patient"}}))
        .collect();
    if let Ok(mut l) = log.lock() {
        l.attempted_tx.push(marker.to_owned());
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let r = http(port, "POST", "/", Some(&bundle))?;
    let out: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let ids: Vec<String> = out["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["response"]["location"].as_str())
        .filter_map(|l| l.split("Patient/").nth(1)?.split('/').next().map(str::to_owned))
        .collect();
    if r.status == 200 && ids.len() == TX_SIZE {
        for id in ids {
            record(log, id, 1);
        }
        if let Ok(mut l) = log.lock() {
            l.acked_tx.insert(marker.to_owned());
        }
    }
    Ok(())
}

/// Checks (a) and (b) against a freshly restarted server; returns the problems found.
fn verify(port: u16, log: &Log) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, v) in &log.acked {
        match http(port, "GET", &format!("/Patient/{id}"), None) {
            Ok(r) if r.status == 200 && r.etag.is_some_and(|e| e >= *v) => {}
            Ok(r) => problems.push(format!("Patient/{id} acknowledged at v{v}: {} etag {:?}", r.status, r.etag)),
            Err(e) => problems.push(format!("Patient/{id}: {e}")),
        }
    }
    for marker in &log.attempted_tx {
        let path = format!("/Patient?identifier={SYS_TX}%7C{marker}&_summary=count");
        let total = http(port, "GET", &path, None)
            .ok()
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .and_then(|b| b["total"].as_u64());
        let acked = log.acked_tx.contains(marker);
        match total {
            Some(n) if n == TX_SIZE as u64 => {}
            Some(0) if !acked => {}
            other => problems.push(format!("transaction {marker} (acknowledged: {acked}): {other:?} of {TX_SIZE} visible")),
        }
    }
    problems
}

#[test]
fn acknowledged_writes_survive_kill_9_and_transactions_stay_atomic() {
    let started = Instant::now();
    let bin = weave_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("crash.db");
    let log = Arc::new(Mutex::new(Log::default()));
    let mut server = Weave::start(&bin, &db);
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let (log, stop, port) = (Arc::clone(&log), Arc::clone(&stop), server.port);
                std::thread::spawn(move || client(port, format!("c{cycle}t{t}"), log, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(fastrand::u64(300..1500)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a client thread panicked");
        }
        server = Weave::start(&bin, &db);
        let log = log.lock().expect("log");
        let problems = verify(server.port, &log);
        println!(
            "cycle {cycle}: {} acknowledged resources, {} of {} transactions acknowledged, {} problems",
            log.acked.len(),
            log.acked_tx.len(),
            log.attempted_tx.len(),
            problems.len()
        );
        assert!(problems.is_empty(), "after kill -9 #{cycle}: {problems:#?}");
    }
    let log = log.lock().expect("log");
    assert!(log.acked_tx.len() >= CYCLES && log.acked.len() > CYCLES * CLIENTS, "too few writes to prove anything");
    server.kill();
    println!("{CYCLES} kill -9 cycles in {:.1} s", started.elapsed().as_secs_f64());
}
