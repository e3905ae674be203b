//! Saving and loading the simulated state, so a simulator embedded in a program (the
//! quickstart) is "the same server" from one run to the next.
//!
//! The file is JSON: per administration (matched by koppelsleutel) every table in response
//! form, attachments with their content, the payment and index bookkeeping, and the last
//! `modifiedOn` stamp, so stamps stay strictly increasing across runs. Seed data that is not in
//! the file (an administration added to the configuration later) is seeded as usual.
//!
//! No koppelsleutel is stored: an administration is recognised by a salted SHA-256 of its
//! koppelsleutel (`keyHash`, with a random `salt` per file). The file is written through a
//! fresh temporary file in the same directory (unpredictable name, created with mode 0600),
//! then renamed over the old one. Files of format 1 (koppelsleutel in clear) are still read
//! and are rewritten in the new format on the next save.

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
const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: u32,
    /// Hex salt of the key hashes (format 2).
    #[serde(default)]
    salt: String,
    last_stamp: Option<NaiveDateTime>,
    admins: Vec<PersistedAdmin>,
}

#[derive(Serialize, Deserialize)]
struct PersistedAdmin {
    /// Format 1 only: the koppelsleutel in clear. Read, never written.
    #[serde(default, skip_serializing)]
    client_key: Option<String>,
    /// Format 2: `sha256(salt || koppelsleutel)` as hex.
    #[serde(default, rename = "keyHash")]
    key_hash: Option<String>,
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
    fn persisted(&self, salt: &[u8]) -> PersistedAdmin {
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
            ("bankboekingen", &self.bankboekingen),
            ("kasboekingen", &self.kasboekingen),
            ("documenten", &self.documenten),
            ("grootboekmutaties", &self.grootboekmutaties),
        ]
        .into_iter()
        .map(|(name, t)| (name.to_owned(), table_rows(t)))
        .collect();
        PersistedAdmin {
            client_key: None,
            key_hash: Some(key_hash(salt, &self.client_key)),
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
        self.kostenplaats_nummers = crate::handlers::kostenplaatsen::nummers(&self.kostenplaatsen);
        self.grootboeken = take("grootboeken");
        self.landen = take("landen");
        self.dagboeken = take("dagboeken");
        self.verkoopboekingen = take("verkoopboekingen");
        self.inkoopboekingen = take("inkoopboekingen");
        self.verkoopfacturen = take("verkoopfacturen");
        self.inkoopfacturen = take("inkoopfacturen");
        self.memoriaalboekingen = take("memoriaalboekingen");
        self.bankboekingen = take("bankboekingen");
        self.kasboekingen = take("kasboekingen");
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

/// `sha256(salt || key)` as lower-case hex.
fn key_hash(salt: &[u8], key: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(salt);
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Writes the state of every administration to `path` atomically: a fresh temporary file in the
/// same directory (random name, mode 0600, never an existing file), then a rename, so a crash
/// never leaves half a file and no other user can read it.
pub(crate) fn save(
    world: &World,
    last_stamp: Option<NaiveDateTime>,
    path: &Path,
) -> Result<(), MockError> {
    use std::io::Write as _;
    let salt: [u8; 16] = rand::random();
    let file = StateFile {
        format: FORMAT,
        salt: hex::encode(salt),
        last_stamp,
        admins: world.admins.iter().map(|a| a.persisted(&salt)).collect(),
    };
    let text = serde_json::to_vec(&file).map_err(|e| MockError::State(e.to_string()))?;
    let err = |p: &Path, e: std::io::Error| MockError::State(format!("{}: {e}", p.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates the file with O_EXCL and mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".snelstart-mock-state-")
        .tempfile_in(dir)
        .map_err(|e| err(dir, e))?;
    tmp.write_all(&text).map_err(|e| err(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| err(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| err(path, e.error))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err(path, e))?;
    }
    Ok(())
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
    if file.format != FORMAT && file.format != 1 {
        return Err(MockError::State(format!(
            "{}: state format {} is not supported (expected {FORMAT})",
            path.display(),
            file.format
        )));
    }
    let salt = hex::decode(&file.salt)
        .map_err(|_| MockError::State(format!("{}: the salt is not hex", path.display())))?;
    for persisted in file.admins {
        let matches = |a: &&mut Admin| match (&persisted.key_hash, &persisted.client_key) {
            (Some(hash), _) => key_hash(&salt, &a.client_key) == *hash,
            (None, Some(clear)) => a.client_key == *clear,
            (None, None) => false,
        };
        if let Some(admin) = world.admins.iter_mut().find(matches) {
            admin.restore(persisted);
        }
    }
    Ok(file.last_stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::MockConfig;

    #[test]
    fn the_state_file_holds_no_koppelsleutel_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let config = MockConfig::new().with_client_key("geheime-koppelsleutel-42");
        let clock = Clock::new(config.start_time);
        let world = World::new(&config, &clock);
        save(&world, None, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("geheime-koppelsleutel-42"),
            "clear koppelsleutel in the file"
        );
        assert!(text.contains("keyHash"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No stray temporary file, and nothing under the old predictable name.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("state.json")]);
        // It loads back into the administration with that key, and not into another.
        let mut again = World::new(&config, &clock);
        again.admins[0].next_relatiecode = -1;
        load(&mut again, &path).unwrap();
        assert_eq!(
            again.admins[0].next_relatiecode,
            world.admins[0].next_relatiecode
        );
        let other = MockConfig::new().with_client_key("een-andere-sleutel");
        let mut foreign = World::new(&other, &clock);
        foreign.admins[0].next_relatiecode = -1;
        load(&mut foreign, &path).unwrap();
        assert_eq!(foreign.admins[0].next_relatiecode, -1);
    }

    #[test]
    fn a_format_1_file_with_a_clear_key_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let config = MockConfig::new().with_client_key("oud");
        let clock = Clock::new(config.start_time);
        let world = World::new(&config, &clock);
        let mut old = world.admins[0].persisted(b"");
        old.key_hash = None;
        old.client_key = Some("oud".into());
        let mut value = serde_json::to_value(&old).unwrap();
        value["client_key"] = "oud".into();
        value["next_relatiecode"] = 777.into();
        let file = serde_json::json!({"format": 1, "last_stamp": null, "admins": [value]});
        std::fs::write(&path, file.to_string()).unwrap();
        let mut fresh = World::new(&config, &clock);
        load(&mut fresh, &path).unwrap();
        assert_eq!(fresh.admins[0].next_relatiecode, 777);
    }
}
