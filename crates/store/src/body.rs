//! Resource bodies as stored: serialized and compressed off the writer thread, with empty
//! `meta.versionId` and `meta.lastUpdated` that are filled in from the version's own columns when
//! the body is read.
//!
//! A stored body is a BLOB: one codec byte, then a zstd frame compressed with a dictionary trained
//! on FHIR JSON (`data/fhir-r4.zdict`, made by `weave-fhir-gen zstd-dict`). FHIR JSON of one
//! resource is small and repetitive across resources, so the dictionary carries what the resources
//! share: bodies take ~5× less room than the text, and the writer — the one thread every write
//! passes through — neither renders nor compresses. Bodies written before schema 8 are TEXT with
//! the meta already stamped; they read as they are.

use crate::{format_instant, StoreError, Written};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// A resource ready to store: its compressed body (codec byte first).
#[derive(Debug, Clone)]
pub struct PreparedBody {
    stored: Vec<u8>,
}

/// The codec byte of a zstd frame made with dictionary 1 (`data/fhir-r4.zdict`), meta unstamped.
const ZSTD_DICT_1: u8 = 1;
/// Dictionary 1. Never change its bytes: stored bodies name it by number; a better dictionary
/// becomes dictionary 2 beside it.
static DICT_1: &[u8] = include_bytes!("../data/fhir-r4.zdict");
/// zstd level 1: with the dictionary, Synthea bodies take 4× less room, 10 % more than at level 3
/// for two thirds of its CPU (measured on the ingest benchmark).
const LEVEL: i32 = 1;
/// The placeholders `prepare_body` writes and `decode` fills.
const EMPTY_META: &str = "{\"versionId\":\"\",\"lastUpdated\":\"\"";

fn encoder_dict() -> &'static zstd::dict::EncoderDictionary<'static> {
    static D: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| zstd::dict::EncoderDictionary::copy(DICT_1, LEVEL))
}

fn decoder_dict() -> &'static zstd::dict::DecoderDictionary<'static> {
    static D: OnceLock<zstd::dict::DecoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICT_1))
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> = const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { std::cell::RefCell::new(None) };
}

/// Puts `resourceType`, `id` and `meta` first (as FHIR JSON is conventionally written), sets the
/// id, serializes with empty `versionId`/`lastUpdated`, and compresses.
pub fn prepare_body(resource: &mut Value, id: &str) -> PreparedBody {
    reorder(resource, id, "", "");
    let text = serde_json::to_string(resource).unwrap_or_default();
    PreparedBody { stored: compress(text.as_bytes()) }
}

fn compress(text: &[u8]) -> Vec<u8> {
    let frame = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::with_prepared_dictionary(encoder_dict()).ok();
        }
        c.as_mut().and_then(|c| c.compress(text).ok())
    });
    match frame {
        Some(frame) => {
            let mut out = Vec::with_capacity(frame.len() + 1);
            out.push(ZSTD_DICT_1);
            out.extend_from_slice(&frame);
            out
        }
        // zstd cannot fail on a well-formed context; were it ever to, keep the text.
        None => {
            let mut out = Vec::with_capacity(text.len() + 1);
            out.push(RAW);
            out.extend_from_slice(text);
            out
        }
    }
}

/// The codec byte of an uncompressed body whose meta is unstamped.
const RAW: u8 = 0;

impl PreparedBody {
    /// The bytes to store.
    pub(crate) fn stored(&self) -> &[u8] {
        &self.stored
    }
}

/// A stored body as JSON text, with `meta.versionId` and `meta.lastUpdated` of its version.
pub(crate) fn decode(stored: rusqlite::types::ValueRef<'_>, version: u64, last_updated: i64) -> Result<String, StoreError> {
    use rusqlite::types::ValueRef;
    let corrupt = |why: &str| StoreError::Corrupt(format!("a stored body {why}"));
    let text = match stored {
        ValueRef::Text(t) => return String::from_utf8(t.to_vec()).map_err(|_| corrupt("is not UTF-8")),
        ValueRef::Blob([RAW, rest @ ..]) => rest.to_vec(),
        ValueRef::Blob([ZSTD_DICT_1, frame @ ..]) => decompress(frame).ok_or_else(|| corrupt("does not decompress"))?,
        ValueRef::Blob(_) => return Err(corrupt("has an unknown codec")),
        _ => return Err(corrupt("is neither text nor a blob")),
    };
    let text = String::from_utf8(text).map_err(|_| corrupt("is not UTF-8"))?;
    Ok(stamp_text(&text, version, last_updated))
}

fn decompress(frame: &[u8]) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(frame).ok().flatten()?;
    // A frame from this store names its size; refuse absurd ones rather than allocate them.
    let size = usize::try_from(size).ok().filter(|&n| n <= 1 << 30)?;
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dict()).ok();
        }
        d.as_mut().and_then(|d| d.decompress(frame, size).ok())
    })
}

/// Fills the first (top-level) empty meta's `versionId` and `lastUpdated`.
fn stamp_text(text: &str, version: u64, last_updated: i64) -> String {
    let Some(at) = text.find(EMPTY_META) else { return text.to_owned() };
    let version = version.to_string();
    let instant = format_instant(last_updated);
    let v = at + "{\"versionId\":\"".len();
    let u = v + "\",\"lastUpdated\":\"".len();
    let mut out = String::with_capacity(text.len() + version.len() + instant.len());
    out.push_str(&text[..v]);
    out.push_str(&version);
    out.push_str(&text[v..u]);
    out.push_str(&instant);
    out.push_str(&text[u..]);
    out
}

/// Sets `meta.versionId` and `meta.lastUpdated` of a resource to what a write produced (for
/// responses that return the resource as stored).
pub fn stamp_meta(resource: &mut Value, id: &str, written: &Written) {
    reorder(resource, id, &written.version.to_string(), &format_instant(written.last_updated));
}

fn reorder(resource: &mut Value, id: &str, version: &str, last_updated: &str) {
    let Some(obj) = resource.as_object_mut() else { return };
    let mut meta = match obj.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.shift_remove("versionId");
    meta.shift_remove("lastUpdated");
    let mut new_meta = Map::with_capacity(meta.len() + 2);
    new_meta.insert("versionId".into(), Value::String(version.to_owned()));
    new_meta.insert("lastUpdated".into(), Value::String(last_updated.to_owned()));
    new_meta.extend(meta);
    obj.shift_remove("id");
    let resource_type = obj.shift_remove("resourceType");
    let rest = std::mem::take(obj);
    let mut ordered = Map::with_capacity(rest.len() + 3);
    if let Some(rt) = resource_type {
        ordered.insert("resourceType".into(), rt);
    }
    ordered.insert("id".into(), Value::String(id.to_owned()));
    ordered.insert("meta".into(), Value::Object(new_meta));
    ordered.extend(rest);
    *obj = ordered;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(r: &mut Value, id: &str, version: u64, at: i64) -> (String, usize) {
        let body = prepare_body(r, id);
        let text = decode(rusqlite::types::ValueRef::Blob(body.stored()), version, at).unwrap();
        (text, body.stored().len())
    }

    #[test]
    fn renders_version_and_time_into_the_prepared_text() {
        let mut r = json!({"name": [{"family": "x"}], "meta": {"tag": [{"code": "t"}], "versionId": "9"}, "resourceType": "Patient"});
        let (text, _) = round_trip(&mut r, "p1", 3, 1_764_063_912_123_456);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            json!({"resourceType": "Patient", "id": "p1",
                   "meta": {"versionId": "3", "lastUpdated": "2025-11-25T09:45:12.123456Z", "tag": [{"code": "t"}]},
                   "name": [{"family": "x"}]})
        );
        assert!(text.starts_with("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"3\""));
    }

    #[test]
    fn a_nested_empty_meta_is_left_alone() {
        let mut r = json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "meta": {"versionId": "", "lastUpdated": ""}}}]});
        let (text, _) = round_trip(&mut r, "b", 2, 0);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["meta"]["versionId"], "2");
        assert_eq!(back["entry"][0]["resource"]["meta"]["versionId"], "");
    }

    #[test]
    fn bodies_are_compressed_and_legacy_text_reads_as_it_is() {
        let mut r = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": "Patient/0190a0e4-6f5e-7c3a-9d2e-3b1f4a5c6d7e"},
            "effectiveDateTime": "2024-01-01T10:00:00Z",
            "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
        let plain = serde_json::to_string(&r).unwrap().len();
        let (text, stored) = round_trip(&mut r, "o1", 1, 0);
        assert!(stored * 2 < plain, "{stored} bytes stored for {plain} of JSON");
        assert!(text.contains("\"code\":\"8867-4\""));
        let legacy = "{\"resourceType\":\"Patient\",\"id\":\"p\",\"meta\":{\"versionId\":\"1\"}}";
        assert_eq!(decode(rusqlite::types::ValueRef::Text(legacy.as_bytes()), 7, 0).unwrap(), legacy);
        assert!(decode(rusqlite::types::ValueRef::Blob(&[9, 1, 2]), 1, 0).is_err());
        assert!(decode(rusqlite::types::ValueRef::Blob(&[ZSTD_DICT_1, 1, 2]), 1, 0).is_err());
    }
}
