//! Saving and loading the simulated state, so a simulator embedded in a program (the
//! quickstart) is "the same server" from one run to the next.
//!
//! The file is JSON: per administration (matched by koppelsleutel) every table in response
//! form, attachments with their content, the payment and index bookkeeping, and the last
//! `modifiedOn` stamp, so stamps stay strictly increasing across runs. Seed data that is not in
//! the file (an administration added to the configuration later) is seeded as usual.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::MockError;
use crate::state::{Admin, World};
use crate::table::{Record, Table, record_id};

/// Bumped when the file layout changes; older files are refused with a clear error.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: u32,
    last_stamp: Option<NaiveDateTime>,
    admins: Vec<PersistedAdmin>,
}

#[derive(Serialize, Deserialize)]
struct PersistedAdmin {
    client_key: String,
    id: Uuid,
    company: Value,
    tables: BTreeMap<String, Vec<Record>>,
    btwtarieven: Vec<Value>,
    factuur_of: Vec<(Uuid, Uuid)>,
    mutaties_of: Vec<(Uuid, Vec<Uuid>)>,
    paid: Vec<(Uuid, Decimal)>,
    next_relatiecode: i64,
    factuurnummers: Vec<(u8, Uuid, String, Uuid)>,
    current_year: i32,
}

fn table_rows(t: &Table) -> Vec<Record> {
    t.iter().cloned().collect()
}

fn table_from(rows: Vec<Record>) -> Table {
    let mut t = Table::default();
    for r in rows {
        if let Some(id) = record_id(&r) {
            t.insert(id, r);
        }
    }
    t
}

impl Admin {
    fn persisted(&self) -> PersistedAdmin {
        let tables = [
            ("relaties", &self.relaties),
            ("kostenplaatsen", &self.kostenplaatsen),
            ("grootboeken", &self.grootboeken),
            ("landen", &self.landen),
            ("dagboeken", &self.dagboeken),
            ("verkoopboekingen", &self.verkoopboekingen),
            ("inkoopboekingen", &self.inkoopboekingen),
            ("verkoopfacturen", &self.verkoopfacturen),
            ("inkoopfacturen", &self.inkoopfacturen),
            ("memoriaalboekingen", &self.memoriaalboekingen),
            ("documenten", &self.documenten),
            ("grootboekmutaties", &self.grootboekmutaties),
        ]
        .into_iter()
        .map(|(name, t)| (name.to_owned(), table_rows(t)))
        .collect();
        PersistedAdmin {
            client_key: self.client_key.clone(),
            id: self.id,
            company: self.company.clone(),
            tables,
            btwtarieven: self.btwtarieven.clone(),
            factuur_of: self.factuur_of.iter().map(|(k, v)| (*k, *v)).collect(),
            mutaties_of: self
                .mutaties_of
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            paid: self.paid.iter().map(|(k, v)| (*k, *v)).collect(),
            next_relatiecode: self.next_relatiecode,
            factuurnummers: self
                .factuurnummers
                .iter()
                .map(|((side, scope, n), id)| (*side, *scope, n.clone(), *id))
                .collect(),
            current_year: self.current_year,
        }
    }

    fn restore(&mut self, mut p: PersistedAdmin) {
        let mut take = |name: &str| table_from(p.tables.remove(name).unwrap_or_default());
        self.relaties = take("relaties");
        self.kostenplaatsen = take("kostenplaatsen");
        self.grootboeken = take("grootboeken");
        self.landen = take("landen");
        self.dagboeken = take("dagboeken");
        self.verkoopboekingen = take("verkoopboekingen");
        self.inkoopboekingen = take("inkoopboekingen");
        self.verkoopfacturen = take("verkoopfacturen");
        self.inkoopfacturen = take("inkoopfacturen");
        self.memoriaalboekingen = take("memoriaalboekingen");
        self.documenten = take("documenten");
        self.grootboekmutaties = take("grootboekmutaties");
        self.id = p.id;
        self.company = p.company;
        self.btwtarieven = p.btwtarieven;
        self.factuur_of = p.factuur_of.into_iter().collect();
        self.mutaties_of = p.mutaties_of.into_iter().collect();
        self.paid = p.paid.into_iter().collect();
        self.next_relatiecode = p.next_relatiecode;
        self.factuurnummers = p
            .factuurnummers
            .into_iter()
            .map(|(side, scope, n, id)| ((side, scope, n), id))
            .collect();
        self.current_year = p.current_year;
        self.relatiecodes = self
            .relaties
            .iter()
            .filter_map(|r| Some((r.get("relatiecode")?.as_i64()?, record_id(r)?)))
            .collect();
    }
}

/// Writes the state of every administration to `path` (atomically: a temporary file, then a
/// rename, so a crash never leaves half a file).
pub(crate) fn save(
    world: &World,
    last_stamp: Option<NaiveDateTime>,
    path: &Path,
) -> Result<(), MockError> {
    let file = StateFile {
        format: FORMAT,
        last_stamp,
        admins: world.admins.iter().map(Admin::persisted).collect(),
    };
    let text = serde_json::to_vec(&file).map_err(|e| MockError::State(e.to_string()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| MockError::State(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| MockError::State(format!("{}: {e}", path.display())))
}

/// Loads a state file into a freshly seeded world; returns the last stamp it held. A missing
/// file is not an error (first run).
pub(crate) fn load(world: &mut World, path: &Path) -> Result<Option<NaiveDateTime>, MockError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MockError::State(format!("{}: {e}", path.display()))),
    };
    let file: StateFile = serde_json::from_slice(&text).map_err(|e| {
        MockError::State(format!(
            "{}: not a simulator state file: {e}",
            path.display()
        ))
    })?;
    if file.format != FORMAT {
        return Err(MockError::State(format!(
            "{}: state format {} is not supported (expected {FORMAT})",
            path.display(),
            file.format
        )));
    }
    for persisted in file.admins {
        if let Some(admin) = world
            .admins
            .iter_mut()
            .find(|a| a.client_key == persisted.client_key)
        {
            admin.restore(persisted);
        }
    }
    Ok(file.last_stamp)
}
