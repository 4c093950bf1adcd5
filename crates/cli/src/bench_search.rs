//! `weave bench search`: a store of a million resources, then a fixed query mix over loopback
//! HTTP from concurrent clients, with p50/p99 latency per query kind.

use crate::bench::{load_bundles, print_percentiles};
use crate::config::{runtime, DurabilityArg, StoreArgs};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use weave_server::{AppState, ServerConfig};
use weave_store::Store;

/// `weave bench search`.
#[derive(Args, Clone, Debug)]
pub struct SearchArgs {
    /// Folder of transaction/batch Bundles replicated to fill the store.
    #[arg(long, default_value = "../shared/testdata/synthea/smart-generated-sample-data-R4")]
    pub bundles: PathBuf,
    /// Resources in the store before querying (loaded if the store holds fewer).
    #[arg(long, default_value_t = 1_000_000)]
    pub resources: usize,
    /// The store (kept, so later runs skip loading).
    #[arg(long, default_value = "weave-bench-search.db")]
    pub db: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// How long the query mix runs.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
}

/// One kind of query in the mix, with the concrete URLs it cycles through.
struct Kind {
    name: &'static str,
    urls: Vec<String>,
}

pub fn run(args: &SearchArgs) -> Result<()> {
    let store = StoreArgs { db: args.db.clone(), durability: DurabilityArg::Normal }.open()?;
    let addr: SocketAddr = "127.0.0.1:0".parse()?;
    let rt = runtime()?;
    let have: u64 = store.counts()?.iter().map(|(_, n)| n).sum();
    if (have as usize) < args.resources {
        let bundles = load_bundles(&args.bundles)?;
        let state = AppState::new(store.clone(), ServerConfig::default());
        let started = Instant::now();
        let (n, _) = rt.block_on(crate::bench::drive(&state, &bundles, args.resources - have as usize, 16))?;
        let secs = started.elapsed().as_secs_f64();
        println!("loaded {n} resources in {secs:.1} s ({:.0} resources/s, all indexes)", n as f64 / secs);
    }
    let total: u64 = store.counts()?.iter().map(|(_, n)| n).sum();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base = format!("http://{local}");
        let state = AppState::new(store.clone(), ServerConfig { base_url: base.clone(), ..ServerConfig::default() });
        let server = tokio::spawn(async move { axum::serve(listener, weave_server::app(state)).await });
        let kinds = Arc::new(sample(local).await?);
        println!("store: {total} resources; {} clients for {} s over loopback HTTP", args.clients, args.seconds);
        let results = mix(local, &kinds, args.clients, Duration::from_secs(args.seconds)).await?;
        print_percentiles(&kinds.iter().map(|k| k.name).collect::<Vec<_>>(), results, args.seconds as f64);
        big_patient(&store_state(&store, &base), local).await?;
        server.abort();
        Ok::<(), anyhow::Error>(())
    })?;
    store.close();
    Ok(())
}

/// A keep-alive HTTP/1.1 connection that GETs a path and returns status and body.
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Client> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Client { stream: BufReader::new(s) })
    }

    async fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>)> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/fhir+json\r\n\r\n");
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:").or_else(|| l.strip_prefix("Content-Length:")) {
                len = v.trim().parse()?;
            }
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn first_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Array(a) => a.first()?.get(p)?,
            other => other.get(p)?,
        };
    }
    match cur {
        Value::Array(a) => a.first()?.as_str(),
        other => other.as_str(),
    }
}

/// Picks concrete query values from the data itself.
async fn sample(addr: SocketAddr) -> Result<Vec<Kind>> {
    let mut c = Client::connect(addr).await?;
    let (_, body) = c.get("/Patient?_count=200").await?;
    let patients: Value = serde_json::from_slice(&body)?;
    let mut kinds = vec![
        Kind { name: "Patient?identifier", urls: Vec::new() },
        Kind { name: "Observation?patient&code&date", urls: Vec::new() },
        Kind { name: "Encounter?date&_include", urls: Vec::new() },
        Kind { name: "Observation?subject:Patient.family (chain)", urls: Vec::new() },
        Kind { name: "Patient?_has:Encounter:patient:reason-code", urls: Vec::new() },
        Kind { name: "Patient/$everything", urls: Vec::new() },
    ];
    for e in patients["entry"].as_array().into_iter().flatten().take(100) {
        let p = &e["resource"];
        let Some(id) = p["id"].as_str() else { continue };
        if let (Some(sys), Some(val)) = (first_str(p, &["identifier", "system"]), first_str(p, &["identifier", "value"])) {
            kinds[0].urls.push(format!("/Patient?identifier={}|{}", enc(sys), enc(val)));
        }
        if let Some(family) = first_str(p, &["name", "family"]) {
            kinds[3].urls.push(format!("/Observation?subject:Patient.family={}&_count=20", enc(family)));
        }
        kinds[5].urls.push(format!("/Patient/{id}/$everything"));
        let (_, body) = c.get(&format!("/Observation?patient={id}&_count=1")).await?;
        let obs: Value = serde_json::from_slice(&body)?;
        let o = &obs["entry"][0]["resource"];
        if let (Some(sys), Some(code), Some(date)) =
            (first_str(o, &["code", "coding", "system"]), first_str(o, &["code", "coding", "code"]), o["effectiveDateTime"].as_str())
        {
            let year = &date[..4];
            kinds[1].urls.push(format!("/Observation?patient={id}&code={}|{code}&date=ge{year}-01-01", enc(sys)));
        }
        let (_, body) = c.get(&format!("/Encounter?patient={id}&_count=1")).await?;
        let enc_b: Value = serde_json::from_slice(&body)?;
        let en = &enc_b["entry"][0]["resource"];
        if let Some(start) = first_str(en, &["period", "start"]) {
            kinds[2].urls.push(format!("/Encounter?date=ge{}&date=le{}&_include=Encounter:patient&_count=20", &start[..10], &start[..10]));
        }
        if let (Some(sys), Some(code)) = (first_str(en, &["reasonCode", "coding", "system"]), first_str(en, &["reasonCode", "coding", "code"])) {
            kinds[4].urls.push(format!("/Patient?_has:Encounter:patient:reason-code={}|{code}&_count=20", enc(sys)));
        }
    }
    if let Some(k) = kinds.iter().find(|k| k.urls.is_empty()) {
        bail!("the data gave no sample for {}", k.name);
    }
    Ok(kinds)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs the mix: each client cycles through the kinds; returns (kind, latency) samples.
async fn mix(addr: SocketAddr, kinds: &Arc<Vec<Kind>>, clients: usize, duration: Duration) -> Result<Vec<(usize, Duration)>> {
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let kinds = Arc::clone(kinds);
        tasks.spawn(async move {
            let mut c = Client::connect(addr).await?;
            let mut out = Vec::new();
            let mut i = client;
            while Instant::now() < deadline {
                let k = i % kinds.len();
                let urls = &kinds[k].urls;
                let url = &urls[(i / kinds.len()) % urls.len()];
                let t = Instant::now();
                let (status, _) = c.get(url).await?;
                if status != 200 {
                    bail!("{url} answered {status}");
                }
                out.push((k, t.elapsed()));
                i += 1;
            }
            Ok::<_, anyhow::Error>(out)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.context("a client task failed")??);
    }
    Ok(all)
}

fn store_state(store: &Arc<weave_store::sqlite::SqliteStore>, base: &str) -> AppState {
    AppState::new(store.clone(), ServerConfig { base_url: base.to_owned(), ..ServerConfig::default() })
}

/// Resources in the compartment of the big patient.
const BIG: usize = 5_000;

/// `$everything` of one patient with 5,000 resources, alone: every page followed to the end.
async fn big_patient(state: &AppState, addr: SocketAddr) -> Result<()> {
    let id = "bench-big-patient";
    if state.store.read("Patient", id)?.is_none() {
        let mut resources = vec![serde_json::json!({"resourceType": "Patient", "id": id, "name": [{"family": "Big", "given": ["Bench"]}]})];
        for i in 0..BIG - 1 {
            let r = if i % 5 == 0 {
                serde_json::json!({"resourceType": "Encounter", "id": format!("{id}-e{i}"), "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "subject": {"reference": format!("Patient/{id}")}, "period": {"start": "2020-01-01T10:00:00Z"}})
            } else {
                serde_json::json!({"resourceType": "Observation", "id": format!("{id}-o{i}"), "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": format!("Patient/{id}")}, "effectiveDateTime": "2020-01-01T10:00:00Z",
                    "valueQuantity": {"value": 60 + i % 40, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
            };
            resources.push(r);
        }
        for chunk in resources.chunks(500) {
            weave_server::import::put_all(state, chunk.to_vec()).await.map_err(|e| anyhow!("loading the big patient: {e}"))?;
        }
    }
    let mut c = Client::connect(addr).await?;
    let mut totals = Vec::new();
    let mut got = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let mut path = format!("/Patient/{id}/$everything?_count=1000");
        got = 0;
        loop {
            let (status, body) = c.get(&path).await?;
            if status != 200 {
                bail!("$everything answered {status}");
            }
            let page: Value = serde_json::from_slice(&body)?;
            got += page["entry"].as_array().map_or(0, Vec::len);
            let next = page["link"].as_array().and_then(|l| l.iter().find(|x| x["relation"] == "next")).and_then(|x| x["url"].as_str());
            match next.and_then(|u| u.find("/Patient/").map(|i| u[i..].to_owned())) {
                Some(p) => path = p,
                None => break,
            }
        }
        totals.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    totals.sort_by(f64::total_cmp);
    println!(
        "$everything of a {got}-resource patient, alone, pages of 1,000 followed to the end: p50 {:.0} ms, max {:.0} ms (5 runs)",
        totals[totals.len() / 2],
        totals[totals.len() - 1]
    );
    Ok(())
}
