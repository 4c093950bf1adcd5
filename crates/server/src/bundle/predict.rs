//! The ids conditional creates and updates last resolved to (`Type?condition` → id), so that a
//! transaction can be prepared with the id its condition will most likely find again.
//!
//! A feed names shared records by condition in every message (`POST Organization` with
//! `ifNoneExist=identifier=…|R9W`, `PUT Patient?identifier=…`). The condition is resolved inside
//! the write job, so the resources that refer to such an entry were prepared outside it with a
//! placeholder id, and the job had to rewrite, serialize and compress them again once it knew the
//! real one — on the single writer thread. Prepared with the id the same condition resolved to
//! last time, they are right as they are whenever it resolves the same way again.
//!
//! A prediction is only a hint: the job still resolves every condition itself. When it finds
//! another resource, references move to it as before; when it finds none, the entry gets a fresh
//! id, never the predicted one (which may belong to a live resource that no longer matches).

use std::collections::HashMap;
use std::sync::Mutex;

/// Predictions kept at most; when full, they are forgotten and learnt again.
const CAPACITY: usize = 65_536;

/// `Type?condition` → the id it resolved to last.
#[derive(Default)]
pub struct Resolved {
    ids: Mutex<HashMap<String, String>>,
}

impl Resolved {
    /// The id `t?cond` resolved to last, if it is known.
    pub fn get(&self, t: &str, cond: &str) -> Option<String> {
        self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key(t, cond)).cloned()
    }

    /// Remembers what `t?cond` resolved to (inside a write job: a group rolled back later leaves
    /// a wrong hint, which the next job's own resolution corrects).
    pub fn record(&self, t: &str, cond: &str, id: &str) {
        let mut ids = self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ids.len() >= CAPACITY {
            ids.clear();
        }
        ids.insert(key(t, cond), id.to_owned());
    }
}

fn key(t: &str, cond: &str) -> String {
    format!("{t}?{cond}")
}
