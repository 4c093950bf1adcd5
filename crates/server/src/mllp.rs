//! The HL7 v2 listener: MLLP over TCP (`0x0B` message `0x1C 0x0D`), many concurrent connections.
//!
//! Each frame goes through `weave_ingest::pipeline::process`; a mapped Bundle is applied with
//! [`crate::import::bundle_then`] (the whole validation and index path) and logged in the store's
//! inbound log in the same write job, and only then is the AA sent. A message that cannot be mapped gets its AE or AR
//! and is kept raw as a dead letter; if even that cannot be stored, no ACK is sent (the sender
//! resends). A control id already accepted, or whose Provenance is already stored, is
//! acknowledged AA without being applied again.
//!
//! One client cannot hurt the others: a connection is closed after `idle_timeout` without a
//! frame, when a started frame is not complete within `frame_timeout` (a client that trickles
//! bytes), or after answering AR to a frame over `max_frame` bytes.

use crate::error::ApiError;
use crate::state::AppState;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weave_ingest::ack::{ack, ack_unparseable, AckCode, ErrInfo, Severity};
use weave_ingest::hl7::{decode_text, parse, ParseError, ParseOptions};
use weave_ingest::map::MapOptions;
use weave_ingest::pipeline::{process, Failure};
use weave_store::{InboundSource, NewInbound, StoreError};

const START: u8 = 0x0B;
const END: u8 = 0x1C;

/// Limits of the MLLP listener.
#[derive(Debug, Clone)]
pub struct MllpConfig {
    /// A connection with no frame started for this long is closed.
    pub idle_timeout: Duration,
    /// A started frame must be complete (and its ACK written) within this time.
    pub frame_timeout: Duration,
    /// Largest frame in bytes; a larger one is answered AR and the connection closed.
    pub max_frame: usize,
    /// Most connections served at once; further ones are closed on accept.
    pub max_connections: usize,
}

impl Default for MllpConfig {
    fn default() -> Self {
        MllpConfig {
            idle_timeout: Duration::from_secs(300),
            frame_timeout: Duration::from_secs(30),
            max_frame: weave_ingest::hl7::DEFAULT_MAX_SIZE,
            max_connections: 512,
        }
    }
}

/// Serves MLLP on `addr` with the default limits, until the task is dropped.
pub async fn serve_mllp(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(%addr, "MLLP listening");
    serve_mllp_on(state, listener, MllpConfig::default()).await
}

/// Serves MLLP on a bound listener (tests bind port 0 and read the address first).
pub async fn serve_mllp_on(state: AppState, listener: TcpListener, config: MllpConfig) -> std::io::Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Per-connection failures (reset before accept, out of descriptors): keep serving.
                tracing::warn!(error = %e, "MLLP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "MLLP connection refused: too many connections");
            continue;
        };
        // An ACK is one small write that a sender waits for: never hold it back (Nagle).
        if let Err(e) = sock.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set on an MLLP connection");
        }
        let (state, config) = (state.clone(), Arc::clone(&config));
        tokio::spawn(async move {
            connection(&state, sock, &config).await;
            drop(slot);
        });
    }
}

/// What the deframer found next.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Frame(Vec<u8>),
    /// A frame over the limit: its first `max_frame` bytes.
    Oversized(Vec<u8>),
    NeedMore,
}

/// Splits a byte stream into MLLP frames; bytes outside frames (the trailing CR) are skipped.
struct Deframer {
    buf: Vec<u8>,
    in_frame: bool,
    /// Bytes of `buf` already searched for the end byte.
    scanned: usize,
    max: usize,
}

impl Deframer {
    fn new(max: usize) -> Self {
        Deframer { buf: Vec::new(), in_frame: false, scanned: 0, max }
    }

    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    fn next(&mut self) -> Next {
        if !self.in_frame {
            match self.buf.iter().position(|&b| b == START) {
                Some(i) => {
                    self.buf.drain(..=i);
                    self.in_frame = true;
                    self.scanned = 0;
                }
                None => {
                    self.buf.clear();
                    return Next::NeedMore;
                }
            }
        }
        match self.buf[self.scanned..].iter().position(|&b| b == END) {
            Some(i) => {
                let end = self.scanned + i;
                let frame: Vec<u8> = self.buf.drain(..=end).take(end).collect();
                self.in_frame = false;
                self.scanned = 0;
                if frame.len() > self.max {
                    Next::Oversized(frame[..self.max].to_vec())
                } else {
                    Next::Frame(frame)
                }
            }
            None if self.buf.len() > self.max => {
                self.buf.truncate(self.max);
                Next::Oversized(std::mem::take(&mut self.buf))
            }
            None => {
                self.scanned = self.buf.len();
                Next::NeedMore
            }
        }
    }
}

/// Reads the next frame; `None` when the peer closed, went idle, trickled or failed.
async fn read_frame(sock: &mut TcpStream, de: &mut Deframer, config: &MllpConfig) -> Option<Next> {
    let mut started: Option<Instant> = None;
    let mut chunk = [0u8; 8192];
    loop {
        match de.next() {
            Next::NeedMore => {}
            found => return Some(found),
        }
        let wait = if de.in_frame {
            let since = *started.get_or_insert_with(Instant::now);
            config.frame_timeout.checked_sub(since.elapsed())?
        } else {
            config.idle_timeout
        };
        match tokio::time::timeout(wait, sock.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => de.push(&chunk[..n]),
            Err(_) => {
                tracing::debug!(in_frame = de.in_frame, "MLLP connection timed out");
                return None;
            }
        }
    }
}

async fn connection(state: &AppState, mut sock: TcpStream, config: &MllpConfig) {
    let mut de = Deframer::new(config.max_frame);
    while let Some(next) = read_frame(&mut sock, &mut de, config).await {
        let (reply, close) = match next {
            Next::Frame(raw) => (handle_frame(state, raw).await, false),
            Next::Oversized(prefix) => {
                let err = ParseError::Oversized { size: prefix.len() + 1, max: config.max_frame };
                let reason = format!("MLLP frame over {} bytes (first bytes kept)", config.max_frame);
                let reply = ack_unparseable(&prefix, &err);
                (dead_letter(state, prefix, None, reason).await.then_some(reply), true)
            }
            Next::NeedMore => (None, true),
        };
        let Some(reply) = reply else { return };
        let mut out = Vec::with_capacity(reply.len() + 3);
        out.push(START);
        out.extend_from_slice(reply.as_bytes());
        out.extend_from_slice(&[END, b'\r']);
        if !matches!(tokio::time::timeout(config.frame_timeout, sock.write_all(&out)).await, Ok(Ok(()))) || close {
            return;
        }
    }
}

/// Processes one frame and returns the ACK to send (`None`: nothing could be kept, send none).
async fn handle_frame(state: &AppState, raw: Vec<u8>) -> Option<String> {
    match apply_hl7(state, &raw).await {
        Ok(handled) => match handled.outcome {
            Outcome::Accepted | Outcome::Duplicate => Some(handled.ack),
            Outcome::Rejected(reason) => {
                let control_id = control_id_of(&raw);
                dead_letter(state, raw, control_id, reason).await.then_some(handled.ack)
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "an HL7 message could not be processed; no ACK sent");
            None
        }
    }
}

/// What became of one HL7 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied now (and logged).
    Accepted,
    /// Already applied earlier: acknowledged, not applied again.
    Duplicate,
    /// Not applied, with the reason (the caller keeps it as a dead letter).
    Rejected(String),
}

/// The ACK for a message and what became of it.
#[derive(Debug)]
pub(crate) struct Handled {
    pub ack: String,
    pub outcome: Outcome,
}

/// Runs the pipeline on one message and applies its Bundle (see the module doc). `Err` only when
/// the store failed so that even the outcome cannot be known or kept.
pub(crate) async fn apply_hl7(state: &AppState, raw: &[u8]) -> Result<Handled, StoreError> {
    let processed = process(raw, &ParseOptions::default(), &MapOptions::default());
    let mapped = match processed.result {
        Ok(m) => m,
        Err(f) => {
            let reason = match &f {
                Failure::Invalid(_) => "the mapped Bundle is not valid FHIR".to_owned(),
                other => other.to_string(),
            };
            return Ok(Handled { ack: processed.ack, outcome: Outcome::Rejected(reason) });
        }
    };
    let control_id = processed.control_id.filter(|c| !c.is_empty());
    // The same control id on two connections at once: the second waits for the first's outcome.
    let _claim = match &control_id {
        Some(cid) => Some(Claim::take(cid).await),
        None => None,
    };
    if let Some(merge) = &mapped.merge {
        if let Some(cid) = &control_id {
            if state.store.inbound_accepted(InboundSource::Hl7v2, cid)? {
                return Ok(Handled { ack: processed.ack, outcome: Outcome::Duplicate });
            }
        }
        let record = accepted_record(raw, control_id);
        let facility = processed.sending_facility.as_deref().unwrap_or("an unnamed facility");
        return apply_merge_message(state, raw, mapped.bundle, merge, record, processed.ack, facility).await;
    }
    // Whether the message was applied already is checked inside its write job: by its control
    // id in the inbound log, and by its Provenance (written in the same transaction as the
    // resources; it outlives the log's retention).
    let provenance = provenance_id(&mapped.bundle);
    let outcome = match apply_logged(state, mapped.bundle, accepted_record(raw, control_id.clone()), provenance).await {
        Ok(Applied::Now) => Outcome::Accepted,
        Ok(Applied::Before { logged: true }) => Outcome::Duplicate,
        Ok(Applied::Before { logged: false }) => {
            // Applied before, and its log record is gone (retention, or a crash before the log
            // shared the resources' transaction): log it now, on its own.
            match record_inbound(state, accepted_record(raw, control_id)).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                // The resources and their Provenance are committed, so the message is durable and
                // a resend is recognised by its Provenance: acknowledge it, and say the log missed it.
                Err(e) => tracing::warn!(error = %e, "an applied HL7 message could not be logged"),
            }
            Outcome::Duplicate
        }
        Err(e) => return not_applied(raw, &e, 207, "not applied"),
    };
    Ok(Handled { ack: processed.ack, outcome })
}

/// The inbound log record of an accepted message.
fn accepted_record(raw: &[u8], control_id: Option<String>) -> NewInbound {
    NewInbound { source: InboundSource::Hl7v2, control_id, accepted: true, reason: None, line: None, raw: raw.to_vec() }
}

/// An A40/A34: the surviving Patient's Bundle, then the merge (both idempotent, so a resend or a
/// replay after a failure simply runs them again), then the log record.
async fn apply_merge_message(
    state: &AppState,
    raw: &[u8],
    bundle: serde_json::Value,
    merge: &weave_ingest::map::MergeInstruction,
    record: NewInbound,
    ack: String,
    facility: &str,
) -> Result<Handled, StoreError> {
    let agent = format!("HL7 v2 feed from {facility}");
    let applied = match crate::import::bundle(state, bundle).await {
        Ok(_) => crate::merge::apply_hl7_merge_as(state, merge, &agent).await.map(drop),
        Err(e) => Err(e),
    };
    if let Err(e) = applied {
        return not_applied(raw, &e, 204, "merge not applied");
    }
    match record_inbound(state, record).await {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => tracing::warn!(error = %e, "an applied HL7 merge could not be logged"),
    }
    Ok(Handled { ack, outcome: Outcome::Accepted })
}

/// A message the store refused: AE with `code` (the sender should not resend it as is; it is kept
/// as a dead letter) — unless the store failed, when nothing was written and no ACK is sent, so
/// the sender resends.
fn not_applied(raw: &[u8], e: &ApiError, code: u16, what: &str) -> Result<Handled, StoreError> {
    if let ApiError::Unavailable(_) | ApiError::Internal(_) = e {
        return Err(StoreError::CommitFailed(describe(e)));
    }
    let reason = format!("{what}: {}", describe(e));
    let info = ErrInfo { code, severity: Severity::Error, location: None, message: what.into() };
    Ok(Handled { ack: ack_for(raw, AckCode::AE, &info), outcome: Outcome::Rejected(reason) })
}

/// What applying a message found.
enum Applied {
    /// Applied now, with its log record.
    Now,
    /// Applied before: found in the inbound log (`logged`), or only by its Provenance.
    Before { logged: bool },
}

/// Applies a message's Bundle and logs the message in the same write job, which first checks
/// whether it was applied already ([`applied_before`]). A group rolled back by a failing
/// neighbour (`503`, nothing written) is retried a few times.
async fn apply_logged(state: &AppState, mut bundle: serde_json::Value, record: NewInbound, provenance: Option<String>) -> Result<Applied, ApiError> {
    let record = Arc::new(record);
    // Set by the job's check when the message was applied before: whether it was logged.
    let seen = Arc::new(OnceLock::new());
    let mut attempt = 0;
    loop {
        let rec = Arc::clone(&record);
        let hooks = crate::bundle::Hooks {
            check: applied_before(record.control_id.clone(), provenance.clone(), Arc::clone(&seen)),
            epilogue: Box::new(move |tx| tx.record_inbound(&rec).map(drop)),
            // `process` validated the Bundle it mapped (the first time and on a retry).
            validated: true,
        };
        let result = crate::import::bundle_then(state, std::mem::take(&mut bundle), Some(hooks)).await;
        if let Some(&logged) = seen.get() {
            return Ok(Applied::Before { logged });
        }
        match result {
            Err(ApiError::Unavailable(_)) if attempt < 3 => {
                attempt += 1;
                // The attempt took the Bundle apart: map the message again (mapping is pure).
                bundle = process(&record.raw, &ParseOptions::default(), &MapOptions::default())
                    .result
                    .map_err(|f| ApiError::Internal(format!("the message no longer maps: {f}")))?
                    .bundle;
            }
            other => return other.map(|_| Applied::Now),
        }
    }
}

/// The write job's first step: fails it, before anything is written, when the message was applied
/// already, and puts in `seen` whether it was found in the inbound log (else by its Provenance).
fn applied_before(control_id: Option<String>, provenance: Option<String>, seen: Arc<OnceLock<bool>>) -> crate::bundle::JobStep {
    Box::new(move |tx| {
        let logged = match &control_id {
            Some(cid) => tx.inbound_accepted(InboundSource::Hl7v2, cid)?,
            None => false,
        };
        let applied = logged
            || match &provenance {
                Some(id) => tx.current("Provenance", id)?.is_some_and(|v| !v.deleted),
                None => false,
            };
        if !applied {
            return Ok(());
        }
        let _ = seen.set(logged);
        Err(StoreError::Conflict("the message was applied already".into()))
    })
}

/// Control ids being applied right now (in this process).
static IN_FLIGHT: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// Exclusive use of one control id while its message is checked and applied.
struct Claim(String);

impl Claim {
    async fn take(control_id: &str) -> Claim {
        loop {
            // A poisoned lock only means another task panicked while holding it; the set is intact.
            let inserted = IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(control_id.to_owned());
            if inserted {
                return Claim(control_id.to_owned());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.0);
    }
}

/// Logs a record on a blocking thread (its transaction may wait for the writer).
pub(crate) async fn record_inbound(state: &AppState, record: NewInbound) -> Result<i64, StoreError> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store.record_inbound(&record))
        .await
        .map_err(|e| StoreError::Invalid(format!("the inbound log task failed: {e}")))?
}

/// Keeps a rejected message; `false` (and an error log) when it could not be stored.
async fn dead_letter(state: &AppState, raw: Vec<u8>, control_id: Option<String>, reason: String) -> bool {
    let record = NewInbound { source: InboundSource::Hl7v2, control_id, accepted: false, reason: Some(reason), line: None, raw };
    match record_inbound(state, record).await {
        Ok(id) => {
            tracing::info!(dead_letter = id, "HL7 message rejected and kept as a dead letter");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "a rejected HL7 message could not be kept");
            false
        }
    }
}

/// MSH-10 when the message parses.
fn control_id_of(raw: &[u8]) -> Option<String> {
    let opts = ParseOptions::default();
    let text = decode_text(raw, &opts).ok()?;
    let msg = parse(&text, &opts).ok()?;
    Some(msg.control_id().to_owned())
}

/// An ACK for a message that parsed earlier (the parse is repeated, cheaply).
fn ack_for(raw: &[u8], code: AckCode, info: &ErrInfo) -> String {
    let opts = ParseOptions::default();
    let text = match decode_text(raw, &opts) {
        Ok(t) => t,
        Err(e) => return ack_unparseable(raw, &e),
    };
    match parse(&text, &opts) {
        Ok(msg) => ack(&msg, code, Some(info)),
        Err(e) => ack_unparseable(raw, &e),
    }
}

/// The id of the Bundle's `PUT Provenance/<id>` entry.
fn provenance_id(bundle: &serde_json::Value) -> Option<String> {
    bundle.get("entry")?.as_array()?.iter().find_map(|e| {
        let url = e.get("request")?.get("url")?.as_str()?;
        url.strip_prefix("Provenance/").filter(|id| !id.is_empty() && !id.contains(['/', '?'])).map(str::to_owned)
    })
}

/// An error's text with its issues (for the dead letter's reason, seen by administrators only).
pub(crate) fn describe(e: &ApiError) -> String {
    match e {
        ApiError::BadRequest(issues) | ApiError::Unprocessable(issues) => {
            let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
            format!("{e}: {}", text.join("; "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{provenance_id, Deframer, Next};

    #[test]
    fn deframes_split_and_back_to_back_frames() {
        let mut d = Deframer::new(100);
        d.push(b"noise\x0bMSH|a");
        assert_eq!(d.next(), Next::NeedMore);
        d.push(b"b\x1c\r\x0bMSH|2\x1c\r");
        assert_eq!(d.next(), Next::Frame(b"MSH|ab".to_vec()));
        assert_eq!(d.next(), Next::Frame(b"MSH|2".to_vec()));
        assert_eq!(d.next(), Next::NeedMore);
    }

    #[test]
    fn oversized_frames_are_cut_at_the_limit() {
        let mut d = Deframer::new(4);
        d.push(b"\x0b123");
        assert_eq!(d.next(), Next::NeedMore);
        d.push(b"456");
        assert_eq!(d.next(), Next::Oversized(b"1234".to_vec()));
        let mut d = Deframer::new(4);
        d.push(b"\x0b12345\x1c\r");
        assert_eq!(d.next(), Next::Oversized(b"1234".to_vec()));
    }

    #[test]
    fn finds_the_provenance_entry() {
        let b = serde_json::json!({"entry": [
            {"request": {"method": "PUT", "url": "Patient?identifier=x|1"}},
            {"request": {"method": "PUT", "url": "Provenance/abc"}}
        ]});
        assert_eq!(provenance_id(&b).as_deref(), Some("abc"));
        assert_eq!(provenance_id(&serde_json::json!({})), None);
    }
}
