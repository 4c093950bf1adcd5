//! Search and history Bundles written as text: stored resource bodies are spliced in as they are,
//! not parsed and re-serialized (a 5,000-entry `$everything` would otherwise spend most of its
//! time in JSON).

use serde_json::Value;

/// A `searchset` Bundle being written.
pub struct BundleText {
    out: String,
    entries: usize,
}

impl BundleText {
    /// Starts a Bundle of `kind` with an optional total and its links.
    pub fn new(kind: &str, total: Option<u64>, links: &[Value], capacity: usize) -> BundleText {
        let mut out = String::with_capacity(capacity + 256);
        out.push_str("{\"resourceType\":\"Bundle\",\"type\":");
        out.push_str(&Value::String(kind.to_owned()).to_string());
        if let Some(t) = total {
            out.push_str(&format!(",\"total\":{t}"));
        }
        out.push_str(",\"link\":");
        out.push_str(&Value::Array(links.to_vec()).to_string());
        out.push_str(",\"entry\":[");
        BundleText { out, entries: 0 }
    }

    fn open_entry(&mut self) {
        if self.entries > 0 {
            self.out.push(',');
        }
        self.entries += 1;
    }

    /// Adds an entry whose resource is stored JSON text (trusted: it was validated and serialized
    /// by the server).
    pub fn push_raw(&mut self, full_url: &str, resource_json: &str, mode: &str) {
        self.open_entry();
        self.out.push_str("{\"fullUrl\":");
        self.out.push_str(&Value::String(full_url.to_owned()).to_string());
        self.out.push_str(",\"resource\":");
        self.out.push_str(resource_json);
        self.out.push_str(",\"search\":{\"mode\":\"");
        self.out.push_str(mode);
        self.out.push_str("\"}}");
    }

    /// Adds an entry with a resource value.
    pub fn push_value(&mut self, full_url: Option<&str>, resource: &Value, mode: &str) {
        self.open_entry();
        self.out.push('{');
        if let Some(u) = full_url {
            self.out.push_str("\"fullUrl\":");
            self.out.push_str(&Value::String(u.to_owned()).to_string());
            self.out.push(',');
        }
        self.out.push_str("\"resource\":");
        self.out.push_str(&resource.to_string());
        self.out.push_str(",\"search\":{\"mode\":\"");
        self.out.push_str(mode);
        self.out.push_str("\"}}");
    }

    /// The finished Bundle; pretty-printed when asked (at the cost of a parse).
    pub fn finish(mut self, pretty: bool) -> Vec<u8> {
        self.out.push_str("]}");
        if pretty {
            if let Ok(v) = serde_json::from_str::<Value>(&self.out) {
                return crate::http::to_body(&v, true);
            }
        }
        self.out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_a_valid_bundle() {
        let mut b = BundleText::new("searchset", Some(2), &[json!({"relation": "self", "url": "http://x/P?a=\"b\""})], 0);
        b.push_raw("http://x/Patient/1", "{\"resourceType\":\"Patient\",\"id\":\"1\"}", "match");
        b.push_value(None, &json!({"resourceType": "OperationOutcome"}), "outcome");
        let v: Value = serde_json::from_slice(&b.finish(false)).unwrap();
        assert_eq!(v["total"], 2);
        assert_eq!(v["entry"][0]["resource"]["id"], "1");
        assert_eq!(v["entry"][1]["search"]["mode"], "outcome");
        assert_eq!(v["link"][0]["url"], "http://x/P?a=\"b\"");
    }
}
