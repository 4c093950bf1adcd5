//! Crash safety of the MLLP listener in the real binary: `weave serve --mllp` takes a stream of
//! ADT^A01 messages from several connections and is killed with SIGKILL at a random moment, then
//! restarted on the same file. After each restart every message that received AA is in the
//! store — its Patient and its Encounter, once — and resending one is acknowledged without a
//! duplicate. Three cycles.

use crate::crash::{free_port, http, weave_binary, Weave};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CYCLES: usize = 3;
const CONNECTIONS: usize = 4;

/// An ADT^A01 for patient `key` (MRN and visit number derive from it).
fn adt(key: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|{key}|P|2.5.1\r\
         EVN|A01|20250401090000\r\
         PID|1||M{key}^^^R9W^MR||Crash^Test||19800101|F\r\
         PV1|1|I|WARD1^^^R9W||||||||||||||||V{key}^^^R9W^VN\r"
    )
}

/// Sends one framed message and reads the ACK's MSA-1 (`None`: the connection failed).
fn send(sock: &mut TcpStream, msg: &str) -> Option<String> {
    let mut framed = vec![0x0B];
    framed.extend_from_slice(msg.as_bytes());
    framed.extend_from_slice(&[0x1C, b'\r']);
    sock.write_all(&framed).ok()?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 2048];
    while !got.contains(&0x1C) {
        let n = sock.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    text.split('\r').find(|s| s.starts_with("MSA|")).and_then(|s| s.split('|').nth(1)).map(str::to_owned)
}

/// Streams messages until the connection fails or `stop`; records the keys answered AA.
fn stream(port: u16, tag: String, acked: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let Ok(mut sock) = TcpStream::connect(("127.0.0.1", port)) else { return };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(20)));
    for i in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let key = format!("{tag}x{i}");
        match send(&mut sock, &adt(&key)).as_deref() {
            Some("AA") => acked.lock().expect("log").push(key),
            Some(other) => panic!("message {key} answered {other}"),
            None => return,
        }
    }
}

/// How many resources of `t` carry `identifier`.
fn count(port: u16, t: &str, identifier: &str) -> usize {
    let r = http(port, "GET", &format!("/{t}?identifier={identifier}&_summary=count"), None).expect("searching");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).expect("a Bundle");
    usize::try_from(v["total"].as_u64().unwrap_or(0)).unwrap_or(0)
}

#[test]
fn acknowledged_mllp_messages_survive_kill_9() {
    let bin = weave_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("mllp-crash.db");
    let start = || {
        let mllp = free_port();
        (Weave::start_with(&bin, &db, &["--mllp".into(), format!("127.0.0.1:{mllp}")]), mllp)
    };
    let acked = Arc::new(Mutex::new(Vec::new()));
    let (mut server, mut mllp) = start();
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..CONNECTIONS)
            .map(|t| {
                let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
                std::thread::spawn(move || stream(mllp, format!("c{cycle}t{t}"), acked, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(fastrand::u64(300..1500)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a connection thread panicked");
        }
        (server, mllp) = start();
        let keys = acked.lock().expect("log").clone();
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| count(server.port, "Patient", &format!("M{k}")) != 1 || count(server.port, "Encounter", &format!("V{k}")) != 1)
            .collect();
        println!("cycle {cycle}: {} messages acknowledged so far, {} missing after kill -9", keys.len(), missing.len());
        assert!(missing.is_empty(), "acknowledged but not stored exactly once: {missing:?}");
        // A resent acknowledged message is acknowledged again and not applied twice.
        if let Some(k) = keys.last() {
            let mut sock = TcpStream::connect(("127.0.0.1", mllp)).expect("connecting");
            assert_eq!(send(&mut sock, &adt(k)).as_deref(), Some("AA"));
            assert_eq!(count(server.port, "Encounter", &format!("V{k}")), 1);
        }
    }
    assert!(acked.lock().expect("log").len() > CYCLES * CONNECTIONS, "too few messages to prove anything");
    server.kill();
}
