//! Where FHIRPath results live in the resource JSON, and the edits FHIRPath Patch makes there.
//!
//! The evaluator's nodes borrow the input, so a result is found by address: one walk over the resource
//! compares every value's address with the results' ([`locate`]). That needs no bookkeeping in the
//! evaluator (whose speed matters to search indexing) and cannot mistake one of two equal values for the other.
//!
//! Edits keep the FHIR JSON rules: a repeating primitive's `_name` array stays aligned with its values, a
//! primitive's `_name` goes with it, and no empty array or object is left behind.

use serde_json::{Map, Value};

/// One step from the resource root to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// Where an element lives: the object holding it, its JSON key (`birthDate`, `valueQuantity`; never the
/// `_` form) and, when it repeats, its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub(crate) parent: Vec<Step>,
    pub(crate) key: String,
    pub(crate) index: Option<usize>,
}

/// A located result: the resource itself or an element inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    Root,
    At(Loc),
}

/// Finds each target address in `root`: `None` for a target that is not inside it. A target found under
/// `_name` (a primitive that has only an extension) is reported at `name`.
pub(crate) fn locate(root: &Value, targets: &[*const Value]) -> Vec<Option<Place>> {
    let mut sorted: Vec<(usize, usize)> = targets
        .iter()
        .enumerate()
        .map(|(slot, &t)| (t as usize, slot))
        .collect();
    sorted.sort_unstable();
    let mut f = Finder {
        targets: &sorted,
        found: vec![None; targets.len()],
        remaining: targets.len(),
    };
    f.hit(root, None);
    if f.remaining > 0 {
        f.walk(root, &mut Vec::new());
    }
    f.found
}

struct Finder<'t> {
    /// (address, result slot), sorted by address.
    targets: &'t [(usize, usize)],
    found: Vec<Option<Place>>,
    remaining: usize,
}

impl Finder<'_> {
    fn hit(&mut self, v: &Value, at: Option<(&[Step], &str, Option<usize>)>) {
        let addr = std::ptr::from_ref(v) as usize;
        let start = self.targets.partition_point(|t| t.0 < addr);
        for &(a, slot) in &self.targets[start..] {
            if a != addr {
                break;
            }
            if self.found[slot].is_none() {
                self.found[slot] = Some(match at {
                    None => Place::Root,
                    Some((parent, key, index)) => Place::At(Loc {
                        parent: parent.to_vec(),
                        key: key.strip_prefix('_').unwrap_or(key).to_owned(),
                        index,
                    }),
                });
                self.remaining -= 1;
            }
        }
    }

    fn walk(&mut self, v: &Value, path: &mut Vec<Step>) {
        let Value::Object(obj) = v else { return };
        for (k, child) in obj {
            if self.remaining == 0 {
                return;
            }
            if let Value::Array(items) = child {
                for (i, item) in items.iter().enumerate() {
                    self.hit(item, Some((path, k, Some(i))));
                    if item.is_object() {
                        path.push(Step::Key(k.clone()));
                        path.push(Step::Index(i));
                        self.walk(item, path);
                        path.truncate(path.len() - 2);
                    }
                }
            } else {
                self.hit(child, Some((path, k, None)));
                if child.is_object() {
                    path.push(Step::Key(k.clone()));
                    self.walk(child, path);
                    path.pop();
                }
            }
        }
    }
}

/// The value at `steps`.
pub(crate) fn get<'v>(root: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(root, |v, s| match s {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// The value at `steps`, mutably.
pub(crate) fn get_mut<'v>(root: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(root, |v, s| match s {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// The object at `steps`, mutably.
pub(crate) fn object_mut<'v>(
    root: &'v mut Value,
    steps: &[Step],
) -> Option<&'v mut Map<String, Value>> {
    get_mut(root, steps).and_then(Value::as_object_mut)
}

/// The steps to the value at `loc`.
pub(crate) fn steps_of(loc: &Loc) -> Vec<Step> {
    let mut s = loc.parent.clone();
    s.push(Step::Key(loc.key.clone()));
    if let Some(i) = loc.index {
        s.push(Step::Index(i));
    }
    s
}

/// The `_name` key of a primitive's extension sibling.
pub(crate) fn ext_key(key: &str) -> String {
    format!("_{key}")
}

/// The model type (or backbone path) of the object at `steps`: `Patient`, `Patient.contact`, `HumanName`;
/// `Element` inside a primitive's `_name`. `None` where the model does not describe the JSON.
pub(crate) fn type_at(root: &Value, steps: &[Step]) -> Option<&'static str> {
    let model = weave_fhir::r4();
    let mut ty = resource_type(root)?;
    let mut cur = root;
    for step in steps {
        match step {
            Step::Index(i) => cur = cur.get(*i)?,
            Step::Key(k) => {
                cur = cur.get(k.as_str())?;
                ty = match k.strip_prefix('_') {
                    Some(_) => "Element",
                    None => {
                        let (el, concrete) = model.resolve_property(ty, k)?;
                        el.type_path.as_deref().unwrap_or(concrete)
                    }
                };
            }
        }
        if matches!(ty, "Resource" | "DomainResource") && cur.is_object() {
            ty = resource_type(cur)?;
        }
    }
    Some(ty)
}

/// The model's name for an object's `resourceType`.
fn resource_type(v: &Value) -> Option<&'static str> {
    let rt = v.get("resourceType")?.as_str()?;
    let model = weave_fhir::r4();
    model
        .is_resource_type(rt)
        .then(|| model.type_def(rt).map(|t| t.name.as_str()))
        .flatten()
}

/// Removes the element at `loc` (value and `_name` twin), then every object or array left empty above it
/// (never the resource itself).
pub(crate) fn remove(root: &mut Value, loc: &Loc) {
    if let Some(obj) = object_mut(root, &loc.parent) {
        remove_pair(obj, &loc.key, loc.index);
    }
    let mut steps = loc.parent.clone();
    while get(root, &steps).is_some_and(is_empty) {
        let Some((parent, key, index)) = split_last(&steps) else {
            return;
        };
        let Some(obj) = object_mut(root, &parent) else {
            return;
        };
        match key.strip_prefix('_') {
            // An emptied `_name`: the primitive keeps its value; when it had none, it goes too.
            Some(base) => clear_ext(obj, base, index),
            None => remove_pair(obj, &key, index),
        }
        steps = parent;
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Splits the steps to an object into (its holder, its key, its index).
fn split_last(steps: &[Step]) -> Option<(Vec<Step>, String, Option<usize>)> {
    match steps {
        [rest @ .., Step::Key(k), Step::Index(i)] => Some((rest.to_vec(), k.clone(), Some(*i))),
        [rest @ .., Step::Key(k)] => Some((rest.to_vec(), k.clone(), None)),
        _ => None,
    }
}

/// Removes `key` (or its item `index`) and the matching `_key` entry.
pub(crate) fn remove_pair(obj: &mut Map<String, Value>, key: &str, index: Option<usize>) {
    let ek = ext_key(key);
    match index {
        None => {
            obj.shift_remove(key);
            obj.shift_remove(&ek);
        }
        Some(i) => {
            for k in [key, ek.as_str()] {
                if let Some(Value::Array(a)) = obj.get_mut(k) {
                    if i < a.len() {
                        a.remove(i);
                    }
                }
            }
            tidy(obj, key);
        }
    }
}

/// Drops the (emptied) `_key` entry of a primitive; a primitive with no value left is removed entirely.
fn clear_ext(obj: &mut Map<String, Value>, key: &str, index: Option<usize>) {
    let has_value = match index {
        None => obj.get(key).is_some_and(|v| !v.is_null()),
        Some(i) => obj
            .get(key)
            .and_then(|a| a.get(i))
            .is_some_and(|v| !v.is_null()),
    };
    if !has_value {
        remove_pair(obj, key, index);
        return;
    }
    match index {
        None => {
            obj.shift_remove(&ext_key(key));
        }
        Some(i) => {
            if let Some(slot) = obj.get_mut(&ext_key(key)).and_then(|a| a.get_mut(i)) {
                *slot = Value::Null;
            }
            tidy(obj, key);
        }
    }
}

/// Restores the JSON rules for a repeating property after an edit: no empty arrays, no `_key` of only
/// nulls, no value array of only nulls without a `_key`.
pub(crate) fn tidy(obj: &mut Map<String, Value>, key: &str) {
    let ek = ext_key(key);
    let all_null = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => a.iter().all(Value::is_null),
        _ => false,
    };
    if all_null(obj.get(&ek)) {
        obj.shift_remove(&ek);
    }
    if all_null(obj.get(key)) && !obj.contains_key(&ek) {
        obj.shift_remove(key);
    }
}

/// Pads (or creates) the `_key` array so that it is as long as the `key` array.
fn ext_array<'m>(obj: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Vec<Value>> {
    let len = obj.get(key).and_then(Value::as_array).map_or(0, Vec::len);
    let slot = obj.entry(ext_key(key)).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let a = slot.as_array_mut()?;
    if a.len() < len {
        a.resize(len, Value::Null);
    }
    Some(a)
}

/// Inserts an item (and its `_key` part) into the array `key` at `index` (≤ its length), creating it.
pub(crate) fn insert_item(
    obj: &mut Map<String, Value>,
    key: &str,
    index: usize,
    value: Value,
    ext: Option<Value>,
) {
    let has_ext = obj.get(&ext_key(key)).is_some_and(Value::is_array);
    if ext.is_some() || has_ext {
        if let Some(e) = ext_array(obj, key) {
            let at = index.min(e.len());
            e.insert(at, ext.unwrap_or(Value::Null));
        }
    }
    let slot = obj.entry(key.to_owned()).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(a) = slot {
        let at = index.min(a.len());
        a.insert(at, value);
    }
    tidy(obj, key);
}

/// Replaces item `index` of the array `key` (and its `_key` part).
pub(crate) fn replace_item(
    obj: &mut Map<String, Value>,
    key: &str,
    index: usize,
    value: Value,
    ext: Option<Value>,
) {
    if let Some(slot) = obj.get_mut(key).and_then(|a| a.get_mut(index)) {
        *slot = value;
    }
    let has_ext = obj.get(&ext_key(key)).is_some_and(Value::is_array);
    if ext.is_some() || has_ext {
        if let Some(slot) = ext_array(obj, key).and_then(|e| e.get_mut(index)) {
            *slot = ext.unwrap_or(Value::Null);
        }
    }
    tidy(obj, key);
}

/// Sets the single-valued `key` (and its `_key`, which is removed when the new value has none).
pub(crate) fn set_single(
    obj: &mut Map<String, Value>,
    key: &str,
    value: Value,
    ext: Option<Value>,
) {
    obj.insert(key.to_owned(), value);
    match ext {
        Some(e) => {
            obj.insert(ext_key(key), e);
        }
        None => {
            obj.shift_remove(&ext_key(key));
        }
    }
}

/// Moves item `from` of the array `key` to position `to` (both in range), with its `_key` part.
pub(crate) fn move_item(obj: &mut Map<String, Value>, key: &str, from: usize, to: usize) {
    if obj.get(&ext_key(key)).is_some_and(Value::is_array) {
        if let Some(e) = ext_array(obj, key).filter(|e| from < e.len()) {
            let item = e.remove(from);
            e.insert(to.min(e.len()), item);
        }
    }
    if let Some(Value::Array(a)) = obj.get_mut(key) {
        if from < a.len() {
            let item = a.remove(from);
            a.insert(to.min(a.len()), item);
        }
    }
}

/// The `_key` object of a primitive (item `index` when it repeats), created when missing: where a
/// primitive's `id` and `extension` go.
pub(crate) fn ext_holder<'m>(
    obj: &'m mut Map<String, Value>,
    key: &str,
    index: Option<usize>,
) -> Option<&'m mut Map<String, Value>> {
    let slot = match index {
        None => obj.entry(ext_key(key)).or_insert(Value::Null),
        Some(i) => ext_array(obj, key)?.get_mut(i)?,
    };
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc(parent: Vec<Step>, key: &str, index: Option<usize>) -> Loc {
        Loc {
            parent,
            key: key.into(),
            index,
        }
    }

    #[test]
    fn locates_by_address_not_by_value() {
        let v = json!({"resourceType": "Patient", "name": [{"given": ["A", "A"]}], "_birthDate": {"id": "x"}});
        let given = &v["name"][0]["given"];
        let ext = &v["_birthDate"];
        let found = locate(&v, &[&given[1], &v, ext, &json!("A")]);
        let name0 = vec![Step::Key("name".into()), Step::Index(0)];
        assert_eq!(found[0], Some(Place::At(loc(name0, "given", Some(1)))));
        assert_eq!(found[1], Some(Place::Root));
        assert_eq!(found[2], Some(Place::At(loc(vec![], "birthDate", None))));
        assert_eq!(found[3], None);
    }

    #[test]
    fn types_follow_the_model() {
        let v = json!({"resourceType": "Patient", "contact": [{"name": {"text": "a"}}],
            "contained": [{"resourceType": "Observation", "valueQuantity": {"value": 1}}], "_gender": {}});
        let s = |p: &[Step]| type_at(&v, p);
        let k = |x: &str| Step::Key(x.into());
        assert_eq!(s(&[]), Some("Patient"));
        assert_eq!(s(&[k("contact"), Step::Index(0)]), Some("Patient.contact"));
        assert_eq!(
            s(&[k("contact"), Step::Index(0), k("name")]),
            Some("HumanName")
        );
        assert_eq!(s(&[k("contained"), Step::Index(0)]), Some("Observation"));
        assert_eq!(
            s(&[k("contained"), Step::Index(0), k("valueQuantity")]),
            Some("Quantity")
        );
        assert_eq!(s(&[k("_gender")]), Some("Element"));
        assert_eq!(s(&[k("nope")]), None);
    }

    #[test]
    fn removal_keeps_extension_arrays_aligned_and_prunes_empties() {
        let mut v = json!({"resourceType": "Patient", "name": [{"given": ["A", "B"], "_given": [null, {"id": "b"}]}]});
        let name0 = vec![Step::Key("name".into()), Step::Index(0)];
        remove(&mut v, &loc(name0.clone(), "given", Some(0)));
        assert_eq!(
            v["name"][0],
            json!({"given": ["B"], "_given": [{"id": "b"}]})
        );
        remove(&mut v, &loc(name0, "given", Some(0)));
        assert_eq!(v, json!({"resourceType": "Patient"}));
    }

    #[test]
    fn emptied_extension_holder_keeps_the_value() {
        let mut v = json!({"resourceType": "Patient", "birthDate": "2000",
            "_birthDate": {"extension": [{"url": "u", "valueString": "x"}]}});
        remove(
            &mut v,
            &loc(vec![Step::Key("_birthDate".into())], "extension", Some(0)),
        );
        assert_eq!(v, json!({"resourceType": "Patient", "birthDate": "2000"}));
        let mut v = json!({"resourceType": "Patient", "name": [{"given": [null, "B"],
            "_given": [{"id": "a"}, null]}]});
        let holder = vec![
            Step::Key("name".into()),
            Step::Index(0),
            Step::Key("_given".into()),
            Step::Index(0),
        ];
        remove(&mut v, &loc(holder, "id", None));
        assert_eq!(v["name"][0], json!({"given": ["B"]}));
    }

    #[test]
    fn inserts_replaces_and_moves_with_extensions() {
        let mut o = Map::new();
        insert_item(&mut o, "given", 0, json!("B"), None);
        insert_item(&mut o, "given", 0, json!("A"), Some(json!({"id": "a"})));
        assert_eq!(
            Value::Object(o.clone()),
            json!({"given": ["A", "B"], "_given": [{"id": "a"}, null]})
        );
        move_item(&mut o, "given", 0, 1);
        assert_eq!(
            Value::Object(o.clone()),
            json!({"given": ["B", "A"], "_given": [null, {"id": "a"}]})
        );
        replace_item(&mut o, "given", 1, json!("C"), None);
        assert_eq!(Value::Object(o.clone()), json!({"given": ["B", "C"]}));
        set_single(&mut o, "family", json!("F"), Some(json!({"id": "f"})));
        set_single(&mut o, "family", json!("G"), None);
        assert_eq!(
            Value::Object(o.clone()),
            json!({"given": ["B", "C"], "family": "G"})
        );
        ext_holder(&mut o, "given", Some(1))
            .unwrap()
            .insert("id".into(), json!("c"));
        assert_eq!(
            Value::Object(o),
            json!({"given": ["B", "C"], "family": "G", "_given": [null, {"id": "c"}]})
        );
    }
}
