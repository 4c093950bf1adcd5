//! The MLLP listener over real loopback TCP: AA only after the commit (the resources are then
//! searchable), a resent control id acknowledged without new versions, bad input answered AR/AE
//! and kept as a dead letter with its raw bytes, a trickling client timed out while others are
//! served, an oversized frame answered AR and the connection closed.

use crate::check::{shared_dir, Server};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weave_server::MllpConfig;
use weave_store::InboundSource;

/// A small ADT^A01 that maps cleanly (control id `C1` unless replaced).
pub const ADT: &str = "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|C1|P|2.5.1\r\
EVN|A01|20250401090000\r\
PID|1||123456^^^R9W^MR||Smith^Jane||19800101|F\r\
PV1|1|I|WARD1^^^R9W||||||||||||||||V123^^^R9W^VN\r";

const LIMIT: usize = 64 * 1024;

/// Starts a listener with short timeouts on a free loopback port.
pub async fn start(server: &Server) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port");
    let addr = listener.local_addr().expect("local address");
    let config = MllpConfig {
        idle_timeout: Duration::from_secs(5),
        frame_timeout: Duration::from_millis(800),
        max_frame: LIMIT,
        max_connections: 64,
    };
    tokio::spawn(weave_server::serve_mllp_on(server.state.clone(), listener, config));
    addr
}

fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0B];
    out.extend_from_slice(msg);
    out.extend_from_slice(&[0x1C, b'\r']);
    out
}

/// Reads one framed reply (`None` when the connection closes first).
async fn read_reply(sock: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = got.iter().position(|&b| b == 0x1C) {
            let start = got.iter().position(|&b| b == 0x0B).map_or(0, |s| s + 1);
            return Some(String::from_utf8_lossy(&got[start..end]).into_owned());
        }
        let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one message on a new connection and returns the ACK.
pub async fn send(addr: SocketAddr, msg: &[u8]) -> String {
    let mut sock = TcpStream::connect(addr).await.expect("connecting");
    sock.write_all(&frame(msg)).await.expect("sending");
    read_reply(&mut sock).await.expect("an ACK")
}

/// MSA-1 of an ACK.
pub fn msa(ack: &str) -> &str {
    ack.split('\r')
        .find(|s| s.starts_with("MSA|"))
        .and_then(|s| s.split('|').nth(1))
        .unwrap_or_else(|| panic!("no MSA in {ack:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adt_is_applied_once_and_acknowledged_after_commit() {
    let server = Server::new();
    let addr = start(&server).await;
    let ack = send(addr, ADT.as_bytes()).await;
    assert_eq!(msa(&ack), "AA", "{ack}");
    assert_eq!(server.count("Patient").await, 1);
    assert_eq!(server.count("Encounter").await, 1);
    assert_eq!(server.count("Provenance").await, 1);
    assert!(server.state.store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
    let before = server.snapshot();
    // The same control id again, even on another connection: AA, nothing written.
    let again = send(addr, ADT.as_bytes()).await;
    assert_eq!(msa(&again), "AA", "{again}");
    assert_eq!(server.snapshot(), before);
    assert!(server.state.store.dead_letters(0, 10).unwrap().is_empty());
}

/// A message whose log record is gone (retention) is still recognised by its Provenance when it
/// is sent again: AA, nothing applied twice, and its log record written anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_message_whose_log_record_expired_is_not_applied_twice() {
    let server = Server::new();
    let addr = start(&server).await;
    assert_eq!(msa(&send(addr, ADT.as_bytes()).await), "AA");
    let removed = server.state.store.purge_inbound(i64::MAX).unwrap();
    assert_eq!(removed, 1);
    assert!(!server.state.store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap());
    let before = server.snapshot();
    let again = send(addr, ADT.as_bytes()).await;
    assert_eq!(msa(&again), "AA", "{again}");
    assert_eq!(server.snapshot(), before, "the message was applied again");
    assert!(server.state.store.inbound_accepted(InboundSource::Hl7v2, "C1").unwrap(), "not logged again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_adt_a01_is_searchable_after_its_aa() {
    let Some(shared) = shared_dir() else { return };
    let path = shared.join("testdata/hl7v2/microsoft-fhir-converter/input/ADT-A01-01.hl7");
    let Ok(raw) = std::fs::read(&path) else {
        println!("NOTICE: {} not found; skipping", path.display());
        return;
    };
    let server = Server::new();
    let addr = start(&server).await;
    let ack = send(addr, &raw).await;
    assert_eq!(msa(&ack), "AA", "{ack}");
    assert!(server.count("Patient").await >= 1);
    assert!(server.count("Encounter").await >= 1);
    let before = server.snapshot();
    assert_eq!(msa(&send(addr, &raw).await), "AA");
    assert_eq!(server.snapshot(), before, "a resent message writes no new versions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_and_kept_as_a_dead_letter() {
    let server = Server::new();
    let addr = start(&server).await;
    let no_pid = "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^A01^ADT_A01|C9|P|2.5.1\rEVN|A01|20250401090000\r";
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("garbage", b"hello, this is not HL7".to_vec(), &["AR"]),
        ("binary", vec![0x00, 0x01, 0x02, 0xFF, 0xFE, 0x7F], &["AR"]),
        ("truncated", b"MSH|^~\\&|PAS|R9".to_vec(), &["AR"]),
        ("missing MSH", b"PID|1||123456^^^R9W^MR\r".to_vec(), &["AR"]),
        ("empty", Vec::new(), &["AR"]),
        ("no PID", no_pid.as_bytes().to_vec(), &["AE", "AR"]),
    ];
    let before = server.snapshot();
    for (name, raw, codes) in &cases {
        let ack = send(addr, raw).await;
        assert!(codes.contains(&msa(&ack)), "{name}: {ack}");
    }
    assert_eq!(server.snapshot(), before, "nothing was written");
    let dead = server.state.store.dead_letters(0, 100).unwrap();
    assert_eq!(dead.len(), cases.len());
    for ((name, raw, _), d) in cases.iter().zip(&dead) {
        assert_eq!(&d.raw, raw, "{name}: the raw bytes are kept");
        assert!(!d.accepted && !d.replayed && d.reason.as_deref().is_some_and(|r| !r.is_empty()), "{name}: {d:?}");
    }
    assert_eq!(dead[5].control_id.as_deref(), Some("C9"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_client_is_timed_out_while_others_are_served() {
    let server = Server::new();
    let addr = start(&server).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"\x0bMSH|").await.unwrap();
    let trickle = tokio::spawn(async move {
        // One byte every 100 ms: the frame can never finish within the 800 ms frame timeout.
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow.write_all(b"x").await.is_err() {
                return true;
            }
        }
        let mut buf = [0u8; 16];
        matches!(tokio::time::timeout(Duration::from_secs(2), slow.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
    });
    let ack = send(addr, ADT.as_bytes()).await;
    assert_eq!(msa(&ack), "AA");
    assert!(trickle.await.unwrap(), "the trickling connection was closed by the server");
    assert_eq!(server.count("Patient").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_answered_ar_and_the_connection_closed() {
    let server = Server::new();
    let addr = start(&server).await;
    let mut big = ADT.replace("|C1|", "|BIG|").into_bytes();
    big.extend_from_slice(b"NTE|1||");
    big.extend(std::iter::repeat_n(b'x', LIMIT * 2));
    let mut sock = TcpStream::connect(addr).await.unwrap();
    // The server may close before everything is written; the reply is what matters.
    let _ = sock.write_all(&frame(&big)).await;
    let ack = read_reply(&mut sock).await.expect("an AR before closing");
    assert_eq!(msa(&ack), "AR", "{ack}");
    let mut rest = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match sock.read(&mut rest).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true));
    assert_eq!(server.count("Patient").await, 0);
    let dead = server.state.store.dead_letters(0, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].raw.len(), LIMIT);
    // The listener still serves.
    assert_eq!(msa(&send(addr, ADT.as_bytes()).await), "AA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_on_many_connections_at_once_is_applied_once() {
    let once = Server::new();
    let addr = start(&once).await;
    assert_eq!(msa(&send(addr, ADT.as_bytes()).await), "AA");
    let server = Server::new();
    let addr = start(&server).await;
    let sends: Vec<_> = (0..8).map(|_| tokio::spawn(send(addr, ADT.as_bytes()))).collect();
    for s in sends {
        assert_eq!(msa(&s.await.unwrap()), "AA");
    }
    assert_eq!(server.snapshot(), once.snapshot(), "eight copies wrote what one does");
}

/// An ADT for MRN `mrn` with control id `cid`.
fn adt_for(event: &str, cid: &str, mrn: &str, visit: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250401090000||ADT^{event}^ADT_A01|{cid}|P|2.5.1\r\
         EVN|{event}|20250401090000\r\
         PID|1||{mrn}^^^R9W^MR||Smith^Jane||19800101|F\r\
         PV1|1|I|WARD1^^^R9W||||||||||||||||{visit}^^^R9W^VN\r"
    )
}

/// An A40 merging `retired` into `surviving`.
fn a40(cid: &str, surviving: &str, retired: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|R9W|WEAVE|HUB|20250402090000||ADT^A40^ADT_A39|{cid}|P|2.5.1\r\
         EVN|A40|20250402090000\r\
         PID|1||{surviving}^^^R9W^MR||Smith^Jane||19800101|F\r\
         MRG|{retired}^^^R9W^MR\r"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_a40_merges_the_retired_record_and_an_unknown_one_is_kept_for_replay() {
    let server = Server::new();
    let addr = start(&server).await;
    assert_eq!(msa(&send(addr, adt_for("A01", "M1", "KEEP1", "V1").as_bytes()).await), "AA");
    assert_eq!(msa(&send(addr, adt_for("A01", "M2", "DUP1", "V2").as_bytes()).await), "AA");
    let ack = send(addr, a40("M3", "KEEP1", "DUP1").as_bytes()).await;
    assert_eq!(msa(&ack), "AA", "{ack}");
    let find = |q: &str| {
        let q = q.to_owned();
        let s = &server;
        async move {
            let b = s.get(&q).send().await.expect(axum::http::StatusCode::OK).json();
            b["entry"].as_array().cloned().unwrap_or_default().into_iter().map(|e| e["resource"].clone()).collect::<Vec<_>>()
        }
    };
    let keep = find("/Patient?identifier=DUP1").await;
    assert_eq!(keep.len(), 1);
    let retired = &keep[0];
    assert_eq!(retired["active"], false, "{retired}");
    assert_eq!(retired["link"][0]["type"], "replaced-by");
    let survivor = find("/Patient?identifier=KEEP1").await;
    let sid = survivor[0]["id"].as_str().unwrap_or_default().to_owned();
    let encounters = find(&format!("/Encounter?patient={sid}")).await;
    assert_eq!(encounters.len(), 2, "the retired record's encounter moved to the survivor");
    // A resend is acknowledged and changes nothing.
    let before = server.snapshot();
    assert_eq!(msa(&send(addr, a40("M3", "KEEP1", "DUP1").as_bytes()).await), "AA");
    assert_eq!(server.snapshot(), before);
    // Merging a record nobody has: AE, kept as a dead letter for replay.
    let ack = send(addr, a40("M4", "KEEP1", "NOBODY").as_bytes()).await;
    assert_eq!(msa(&ack), "AE", "{ack}");
    let dead = server.state.store.dead_letters(0, 10).expect("dead letters");
    assert!(dead.iter().any(|d| d.control_id.as_deref() == Some("M4") && d.source == InboundSource::Hl7v2));
}
