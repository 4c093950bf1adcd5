//! Resource bodies serialized off the writer thread, with a slot for the version and timestamp
//! that only the writer can assign.

use crate::{format_instant, Written};
use serde_json::{Map, Value};

/// A resource as stored: JSON text whose `meta.versionId` and `meta.lastUpdated` are filled in
/// by the store at write time.
#[derive(Debug, Clone)]
pub struct PreparedBody {
    text: String,
    /// Byte offsets of the empty `versionId` and `lastUpdated` string values.
    version_at: usize,
    updated_at: usize,
}

const VERSION_KEY: &str = "\"versionId\":\"";
const UPDATED_KEY: &str = "\"lastUpdated\":\"";

/// Puts `resourceType`, `id` and `meta` first (as FHIR JSON is conventionally written), sets the
/// id, and serializes with empty `versionId`/`lastUpdated` for the store to fill in.
pub fn prepare_body(resource: &mut Value, id: &str) -> PreparedBody {
    reorder(resource, id, "", "");
    let text = serde_json::to_string(resource).unwrap_or_default();
    let version_at = text.find(VERSION_KEY).map_or(0, |i| i + VERSION_KEY.len());
    let updated_at = text.find(UPDATED_KEY).map_or(0, |i| i + UPDATED_KEY.len());
    PreparedBody { text, version_at, updated_at }
}

impl PreparedBody {
    /// The stored text for a version written at `last_updated` (microseconds).
    pub(crate) fn render(&self, version: u64, last_updated: i64) -> String {
        let (v, u) = (self.version_at, self.updated_at);
        let version = version.to_string();
        let instant = format_instant(last_updated);
        let mut out = String::with_capacity(self.text.len() + version.len() + instant.len());
        out.push_str(&self.text[..v]);
        out.push_str(&version);
        out.push_str(&self.text[v..u]);
        out.push_str(&instant);
        out.push_str(&self.text[u..]);
        out
    }
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

    #[test]
    fn renders_version_and_time_into_the_prepared_text() {
        let mut r = json!({"name": [{"family": "x"}], "meta": {"tag": [{"code": "t"}], "versionId": "9"}, "resourceType": "Patient"});
        let body = prepare_body(&mut r, "p1");
        let text = body.render(3, 1_764_063_912_123_456);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back,
            json!({"resourceType": "Patient", "id": "p1",
                   "meta": {"versionId": "3", "lastUpdated": "2025-11-25T09:45:12.123456Z", "tag": [{"code": "t"}]},
                   "name": [{"family": "x"}]})
        );
        assert!(text.starts_with("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"3\""));
    }
}
