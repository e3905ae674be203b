//! An insertion-ordered table of JSON records keyed by id.
//!
//! Records are kept in their response form (exact camelCase names, nulls present), which keeps
//! the OData evaluator generic and guarantees that what is stored is what is served.

use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// One stored record (a JSON object in response form).
pub(crate) type Record = Map<String, Value>;

#[derive(Debug, Default, Clone)]
pub(crate) struct Table {
    rows: Vec<Option<Record>>,
    index: HashMap<Uuid, usize>,
    live: usize,
}

impl Table {
    pub(crate) fn insert(&mut self, id: Uuid, rec: Record) {
        if let Some(&i) = self.index.get(&id) {
            self.rows[i] = Some(rec);
            return;
        }
        self.index.insert(id, self.rows.len());
        self.rows.push(Some(rec));
        self.live += 1;
    }

    pub(crate) fn get(&self, id: &Uuid) -> Option<&Record> {
        self.index.get(id).and_then(|&i| self.rows[i].as_ref())
    }

    pub(crate) fn get_mut(&mut self, id: &Uuid) -> Option<&mut Record> {
        match self.index.get(id) {
            Some(&i) => self.rows[i].as_mut(),
            None => None,
        }
    }

    pub(crate) fn remove(&mut self, id: &Uuid) -> Option<Record> {
        let i = self.index.remove(id)?;
        let rec = self.rows[i].take();
        if rec.is_some() {
            self.live -= 1;
        }
        // Compact once tombstones dominate, so long benchmark runs stay fast.
        if self.rows.len() > 64 && self.live * 2 < self.rows.len() {
            self.compact();
        }
        rec
    }

    fn compact(&mut self) {
        let rows: Vec<Option<Record>> = std::mem::take(&mut self.rows)
            .into_iter()
            .filter(Option::is_some)
            .collect();
        self.index.clear();
        for (i, r) in rows.iter().enumerate() {
            if let Some(id) = r.as_ref().and_then(record_id) {
                self.index.insert(id, i);
            }
        }
        self.rows = rows;
    }

    /// Records in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Record> {
        self.rows.iter().flatten()
    }

    pub(crate) fn values(&self) -> Vec<Value> {
        self.iter().map(|r| Value::Object(r.clone())).collect()
    }
}

/// The `id` of a record.
pub(crate) fn record_id(r: &Record) -> Option<Uuid> {
    r.get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Read a string field.
pub(crate) fn s<'a>(r: &'a Record, k: &str) -> Option<&'a str> {
    r.get(k).and_then(Value::as_str)
}

/// Read a bool field (absent = false).
pub(crate) fn b(r: &Record, k: &str) -> bool {
    r.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Read the id of a reference field.
pub(crate) fn ref_id(r: &Record, k: &str) -> Option<Uuid> {
    r.get(k)
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}
