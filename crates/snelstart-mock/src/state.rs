//! The simulated data: one [`Admin`] per koppelsleutel.

use crate::clock::Clock;
use crate::config::{AdministrationConfig, MockConfig};
use crate::seed;
use crate::table::{Record, Table};
use chrono::Datelike;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The data of one administration.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    pub(crate) id: Uuid,
    pub(crate) client_key: String,
    /// The koppelsleutel of the coupling made by the customer's activate click
    /// (`POST /_mock/couplings`), with its reference key; accepted beside `client_key`.
    pub(crate) coupling: Option<(String, String)>,
    pub(crate) company: Value,
    pub(crate) relaties: Table,
    pub(crate) kostenplaatsen: Table,
    pub(crate) grootboeken: Table,
    pub(crate) landen: Table,
    pub(crate) dagboeken: Table,
    pub(crate) btwtarieven: Vec<Value>,
    pub(crate) verkoopboekingen: Table,
    pub(crate) inkoopboekingen: Table,
    pub(crate) verkoopfacturen: Table,
    pub(crate) inkoopfacturen: Table,
    pub(crate) memoriaalboekingen: Table,
    pub(crate) bankboekingen: Table,
    pub(crate) kasboekingen: Table,
    /// Attachments including their content.
    pub(crate) documenten: Table,
    pub(crate) grootboekmutaties: Table,
    /// Booking id → its factuur id.
    pub(crate) factuur_of: HashMap<Uuid, Uuid>,
    /// Booking id → ids of the ledger mutations it produced.
    pub(crate) mutaties_of: HashMap<Uuid, Vec<Uuid>>,
    /// Booking id → total allocated (paid) so far.
    pub(crate) paid: HashMap<Uuid, Decimal>,
    pub(crate) next_relatiecode: i64,
    /// relatiecode → relation (keeps REL-0008 and auto-numbering O(1)).
    pub(crate) relatiecodes: HashMap<i64, Uuid>,
    /// (nummer, id) of every cost centre (keeps KPL-0008 a look-up instead of a scan); see
    /// `kostenplaatsen::nummers`.
    pub(crate) kostenplaats_nummers: std::collections::BTreeSet<(i64, Uuid)>,
    /// (side, scope, factuurnummer) → booking (keeps BOE-0021 O(1)); see `boekingen::factuur_key`.
    pub(crate) factuurnummers: HashMap<(u8, Uuid, String), Uuid>,
    pub(crate) current_year: i32,
    /// Which key wrote each record created or changed through the API (see `writers`).
    pub(crate) writers: crate::writers::WriterLog,
}

impl Admin {
    pub(crate) fn new(cfg: &AdministrationConfig, index: usize, seed: u64, clock: &Clock) -> Admin {
        let mut rng = seed::rng(seed, index);
        let id = seed::seeded_id(&mut rng);
        let stamp = clock.tick();
        let grootboeken = seed::grootboeken(&mut rng, stamp);
        let current_year = cfg.current_year.unwrap_or_else(|| clock.now_local().year());
        let company =
            seed::company_info(id, &cfg.name, &cfg.company_name, current_year, &grootboeken);
        let mut relaties = Table::default();
        let mut tick = || clock.tick();
        for (rid, r) in seed::relaties(&mut rng, cfg.seed_relations, &mut tick) {
            relaties.insert(rid, r);
        }
        let relatiecodes = relaties
            .iter()
            .filter_map(|r| Some((r.get("relatiecode")?.as_i64()?, crate::table::record_id(r)?)))
            .collect();
        let kostenplaatsen = seed::kostenplaatsen(&mut rng);
        Admin {
            relatiecodes,
            kostenplaats_nummers: crate::handlers::kostenplaatsen::nummers(&kostenplaatsen),
            factuurnummers: HashMap::new(),
            id,
            client_key: cfg.client_key.clone(),
            coupling: None,
            company,
            relaties,
            kostenplaatsen,
            grootboeken,
            landen: seed::landen(),
            dagboeken: seed::dagboeken(&mut rng),
            btwtarieven: seed::btwtarieven(),
            verkoopboekingen: Table::default(),
            inkoopboekingen: Table::default(),
            verkoopfacturen: Table::default(),
            inkoopfacturen: Table::default(),
            memoriaalboekingen: Table::default(),
            bankboekingen: Table::default(),
            kasboekingen: Table::default(),
            documenten: Table::default(),
            grootboekmutaties: Table::default(),
            factuur_of: HashMap::new(),
            mutaties_of: HashMap::new(),
            paid: HashMap::new(),
            next_relatiecode: 10_001 + cfg.seed_relations as i64,
            current_year,
            writers: crate::writers::WriterLog::default(),
        }
    }

    /// The ledger with this number.
    pub(crate) fn ledger_by_nummer(&self, nummer: i64) -> Option<(Uuid, &Record)> {
        self.grootboeken
            .iter()
            .find(|r| r.get("nummer").and_then(Value::as_i64) == Some(nummer))
            .and_then(|r| crate::table::record_id(r).map(|id| (id, r)))
    }

    /// The first ledger with this function.
    pub(crate) fn ledger_by_functie(&self, functie: &str) -> Option<Uuid> {
        self.grootboeken
            .iter()
            .find(|r| crate::table::s(r, "grootboekfunctie") == Some(functie))
            .and_then(crate::table::record_id)
    }

    /// The first journal of this kind.
    pub(crate) fn dagboek_by_soort(&self, soort: &str) -> Option<Uuid> {
        self.dagboeken
            .iter()
            .find(|r| crate::table::s(r, "soort") == Some(soort))
            .and_then(crate::table::record_id)
    }

    /// A dump of everything (documents without their content), for `/_mock/state`.
    pub(crate) fn dump(&self) -> Value {
        let docs: Vec<Value> = self
            .documenten
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d.remove("content");
                d.remove("_parentType");
                Value::Object(d)
            })
            .collect();
        json!({
            "administratieIdentifier": self.id.to_string(),
            "companyInfo": self.company,
            "relaties": self.relaties.values(),
            "kostenplaatsen": self.kostenplaatsen.values(),
            "grootboeken": self.grootboeken.values(),
            "dagboeken": self.dagboeken.values(),
            "verkoopboekingen": self.verkoopboekingen.values(),
            "inkoopboekingen": self.inkoopboekingen.values(),
            "verkoopfacturen": self.verkoopfacturen.values(),
            "inkoopfacturen": self.inkoopfacturen.values(),
            "memoriaalboekingen": self.memoriaalboekingen.values(),
            "bankboekingen": self.bankboekingen.values(),
            "kasboekingen": self.kasboekingen.values(),
            "documenten": docs,
            "grootboekmutaties": self.grootboekmutaties.values(),
        })
    }
}

/// All administrations of one server.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) admins: Vec<Admin>,
}

impl World {
    pub(crate) fn new(cfg: &MockConfig, clock: &Clock) -> World {
        World {
            admins: cfg
                .administrations
                .iter()
                .enumerate()
                .map(|(i, a)| Admin::new(a, i, cfg.seed, clock))
                .collect(),
        }
    }

    pub(crate) fn admin_index(&self, client_key: &str) -> Option<usize> {
        self.admins.iter().position(|a| {
            a.client_key == client_key || a.coupling.as_ref().is_some_and(|(k, _)| k == client_key)
        })
    }
}
