//! `weave bench mllp`: sustained ADT messages over loopback MLLP with ACKs, from several
//! connections, into a fresh store — every message parsed, mapped, validated, indexed and
//! committed before its ACK.

use crate::config::{runtime, DurabilityArg};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weave_server::MllpConfig;

/// `weave bench mllp`.
#[derive(Args, Clone, Debug)]
pub struct MllpArgs {
    /// Concurrent MLLP connections.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Messages each connection sends.
    #[arg(long, default_value_t = 2_000)]
    pub messages: usize,
    /// How commits reach the disk.
    #[arg(long, value_enum, default_value = "full")]
    pub durability: DurabilityArg,
    /// The store (default: a fresh file in a temporary folder, removed afterwards).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

/// An ADT^A01 for a distinct person, visit and control id.
fn adt(conn: usize, i: usize) -> String {
    let n = conn * 1_000_000 + i;
    let (y, m, d) = (1930 + n % 70, 1 + n % 12, 1 + n % 28);
    format!(
        "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|B{n}|P|2.5.1\r\
         EVN|A01|20250401090000\r\
         PID|1||MRN{n}^^^R9W^MR||Family{n}^Given||{y:04}{m:02}{d:02}|F|||1 Street^^Town^^AB1 2CD\r\
         PV1|1|I|WARD{w}^^^R9W||||||||||||||||V{n}^^^R9W^VN|||||||||||||||||||||||||20250401090000\r",
        w = n % 20
    )
}

async fn send(sock: &mut TcpStream, msg: &str, buf: &mut Vec<u8>) -> Result<String> {
    let mut framed = Vec::with_capacity(msg.len() + 3);
    framed.push(0x0B);
    framed.extend_from_slice(msg.as_bytes());
    framed.extend_from_slice(&[0x1C, b'\r']);
    sock.write_all(&framed).await?;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.iter().position(|&b| b == 0x1C) {
            return Ok(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            bail!("the listener closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub fn run(args: &MllpArgs) -> Result<()> {
    let bench = crate::bench::BenchStore::open("mllp", args.db.as_ref(), args.durability)?;
    let state = bench.state.clone();
    let rt = runtime()?;
    let usage = crate::bench::Usage::now();
    let (elapsed, mut latencies) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let config = MllpConfig { max_connections: args.connections + 8, ..MllpConfig::default() };
        tokio::spawn(weave_server::serve_mllp_on(state, listener, config));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..args.connections {
            let n = args.messages;
            tasks.spawn(async move {
                let mut sock = TcpStream::connect(addr).await?;
                sock.set_nodelay(true)?;
                let mut buf = Vec::new();
                let mut lat = Vec::with_capacity(n);
                for i in 0..n {
                    let t = Instant::now();
                    let ack = send(&mut sock, &adt(c, i), &mut buf).await?;
                    if !ack.contains("MSA|AA") {
                        bail!("message {c}/{i} was not accepted: {ack}");
                    }
                    lat.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(lat)
            });
        }
        let mut all = Vec::new();
        while let Some(r) = tasks.join_next().await {
            all.extend(r.context("a connection task failed")??);
        }
        Ok::<_, anyhow::Error>((started.elapsed(), all))
    })?;
    bench.store.close();
    let usage = crate::bench::Usage::since(usage);
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let n = latencies.len();
    println!("| workload | messages | seconds | messages/s | ACK p50 ms | ACK p99 ms | CPU µs/message | KB written/message |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| ADT^A01 over MLLP, {} connections, durability {:?} | {n} | {:.1} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} |",
        args.connections,
        args.durability,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64().max(1e-9),
        pct(0.5),
        pct(0.99),
        usage.cpu_secs * 1e6 / n.max(1) as f64,
        usage.write_bytes as f64 / 1024.0 / n.max(1) as f64
    );
    bench.finish();
    Ok(())
}
