//! Contract test: every model against the vendor's API definition.
//!
//! Reads the OpenAPI document named by `SNELSTART_OPENAPI` (`.ci/run` points it at
//! `../shared/snelstart/openapi-v2.yaml`). Unset: the test prints a notice and passes, so the
//! crate can be tested without the vendor file. Set but unreadable: the test fails.
//!
//! Three checks, each per model and schema pair in [`MODELS`]:
//!
//! 1. **Names.** The JSON names of all Rust fields (as serde sees them, renames applied) equal
//!    the schema's property names. A Rust name not in the schema fails; a schema name missing
//!    in Rust fails unless it is one of the documented read-only names the write model leaves
//!    out on purpose.
//! 2. **Types, read side.** A sample document generated from the schema (every property
//!    filled, enums with a real value, every array one element) is decoded into the model and
//!    written again; the output must keep every property, each with the schema's JSON type
//!    (string, number, integer, boolean, array, object; uuid and date-time are strings) and
//!    enum spelling, recursively through nested schemas.
//! 3. **Types, write side.** The write models, populated by hand the way another crate would
//!    (constructor + public fields, every `Option` set, every list one element), serialize to
//!    exactly the schema's names and types.
//!
//! A fourth test checks that every typed operation's route and method is a path and method of
//! the definition.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal_macros::dec;
use serde::Serialize;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Value, json};
use snelstart_client::models::*;
use snelstart_client::wire::Reference;
use snelstart_client::*;

const PREFIX: &str = "SnelStart.B2B.Api.V2.Models.";

/// Properties the write side deliberately never sends (API.md §6): SnelStart ignores them on
/// input. Only these may be missing from a model, and only where listed in [`MODELS`].
const RELATIE_WRITE_READ_ONLY: &[&str] = &[
    "id",
    "uri",
    "modifiedOn",
    "inkoopBoekingenUri",
    "verkoopBoekingenUri",
    "documents",
    "extraVeldenKlant",
];

/// One model and the vendor schema it mirrors.
struct Pair {
    schema: &'static str,
    rust: &'static str,
    fields: fn() -> Vec<&'static str>,
    round_trip: fn(Value) -> Result<Value, String>,
    may_omit: &'static [&'static str],
}

macro_rules! pair {
    ($ty:ty, $schema:literal) => {
        pair!($ty, $schema, &[])
    };
    ($ty:ty, $schema:literal, $omit:expr) => {
        Pair {
            schema: $schema,
            rust: stringify!($ty),
            fields: fields_of::<$ty>,
            round_trip: round_trip::<$ty>,
            may_omit: $omit,
        }
    };
}

const MODELS: &[Pair] = &[
    pair!(Relatie, "Relaties.RelatieModel"),
    pair!(
        RelatieWrite,
        "Relaties.RelatieWriteModel",
        RELATIE_WRITE_READ_ONLY
    ),
    pair!(Adres, "Relaties.AdresModel"),
    pair!(EmailVersturen, "Relaties.EmailVersturenModel"),
    pair!(ExtraVeld, "Relaties.ExtraVeldRelatieModel"),
    pair!(
        DoorlopendeIncassoMachtiging,
        "Relaties.DoorlopendeIncassoMachtigingModel"
    ),
    pair!(RelatieCustomFields, "CustomFields.RelatieCustomFieldsModel"),
    pair!(CustomField, "CustomFields.CustomFieldModel"),
    pair!(
        CustomFieldDefinition,
        "CustomFields.CustomFieldDefinitionModel"
    ),
    pair!(
        CustomFieldDefinitionProperty,
        "CustomFields.CustomFieldDefinitionPropertyModel"
    ),
    pair!(
        RelatieUpdatedCustomFields,
        "CustomFields.RelatieUpdatedCustomFieldsModel"
    ),
    pair!(UpdatedCustomField, "CustomFields.UpdatedCustomFieldModel"),
    pair!(Kostenplaats, "Kostenplaatsen.KostenplaatsModel"),
    pair!(Grootboek, "Grootboeken.GrootboekModel"),
    pair!(Rgs, "Grootboeken.RgsModel"),
    pair!(BtwTarief, "BtwTarieven.BtwTariefModel"),
    pair!(Verkoopboeking, "VerkoopBoekingen.VerkoopBoekingModel"),
    pair!(
        VerkoopboekingRegel,
        "VerkoopBoekingen.VerkoopBoekingRegelModel"
    ),
    pair!(
        VerkoopboekingBtwRegel,
        "VerkoopBoekingen.VerkoopBoekingBtwRegelModel"
    ),
    pair!(
        EenmaligeIncassoMachtiging,
        "VerkoopBoekingen.VerkoopBoekingEenmaligeIncassoMachtigingModel"
    ),
    pair!(Inkoopboeking, "Inkoopboekingen.InkoopboekingModel"),
    pair!(
        InkoopboekingRegel,
        "Inkoopboekingen.InkoopboekingRegelModel"
    ),
    pair!(InkoopboekingBtwRegel, "Inkoopboekingen.BtwBoekingModel"),
    pair!(UblContent, "Bijlagen.UblContentModel"),
    pair!(Verkoopfactuur, "Verkoopfacturen.VerkoopfactuurModel"),
    pair!(Inkoopfactuur, "Inkoopfacturen.InkoopfactuurModel"),
    pair!(Document, "Documenten.DocumentModel"),
    pair!(DocumentContent, "Documenten.DocumentContentModel"),
    pair!(
        DocumentListItem,
        "Bijlagen.VerkoopBoekingBijlageReferenceModel"
    ),
    pair!(Reference<DocumentId>, "Documenten.DocumentIdentifierModel"),
    pair!(Memoriaalboeking, "Bankboekingen.MemoriaalboekingModel"),
    pair!(
        MemoriaalboekingRegel,
        "Bankboekingen.MemoriaalboekingModel.MemoriaalBoekingsRegelModel"
    ),
    pair!(
        VerkoopboekingVerantwoordingsRegel,
        "Bankboekingen.MemoriaalboekingModel.VerkoopBoekingVerantwoordingsRegelModel"
    ),
    pair!(
        InkoopboekingVerantwoordingsRegel,
        "Bankboekingen.MemoriaalboekingModel.InkoopBoekingVerantwoordingsRegelModel"
    ),
    pair!(Bankboeking, "Bankboekingen.BankboekingModel"),
    pair!(Kasboeking, "Kasboekingen.KasboekingModel"),
    pair!(
        GrootboekBoekingsRegel,
        "Kasboekingen.GrootboekBoekingsRegelModel"
    ),
    pair!(
        BankKasVerkoopboekingRegel,
        "Kasboekingen.VerkoopBoekingVerantwoordingsRegelModel"
    ),
    pair!(
        BankKasInkoopboekingRegel,
        "Kasboekingen.InkoopBoekingVerantwoordingsRegelModel"
    ),
    pair!(BtwBoekingregel, "Kasboekingen.BtwBoekingregelModel"),
    pair!(Grootboekmutatie, "GrootboekMutaties.GrootboekMutatieModel"),
    pair!(CompanyInfo, "CompanyInfo.CompanyInfoModel"),
    pair!(
        KleineOndernemersRegeling,
        "CompanyInfo.KleineOndernemersRegelingModel"
    ),
    pair!(
        FactureerBuitenlandseBtwDateRange,
        "CompanyInfo.FactureerBuitenlandseBtwDateRangeModel"
    ),
    pair!(Land, "Landen.LandModel"),
    pair!(Dagboek, "Dagboeken.DagboekModel"),
];

// ---- field names as serde sees them -------------------------------------------------------

/// The error a [`FieldProbe`] stops with: either the field list it caught or a real error.
#[derive(Debug)]
enum Probe {
    Fields(&'static [&'static str]),
    Other(String),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Probe {}

impl de::Error for Probe {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Probe::Other(msg.to_string())
    }
}

/// A deserializer that answers nothing but records the field list a derived `Deserialize`
/// announces: exactly the JSON names of the struct's fields, renames applied.
struct FieldProbe;

impl<'de> de::Deserializer<'de> for FieldProbe {
    type Error = Probe;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(Probe::Other("not a struct".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Probe> {
        Err(Probe::Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn fields_of<T: DeserializeOwned>() -> Vec<&'static str> {
    match T::deserialize(FieldProbe) {
        Err(Probe::Fields(fields)) => fields.to_vec(),
        Err(Probe::Other(e)) => panic!("{}: {e}", std::any::type_name::<T>()),
        Ok(_) => panic!("{} decoded from nothing", std::any::type_name::<T>()),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(sample: Value) -> Result<Value, String> {
    let model: T = serde_path_to_error::deserialize(sample)
        .map_err(|e| format!("decoding the sample: {} at `{}`", e.inner(), e.path()))?;
    serde_json::to_value(&model).map_err(|e| format!("encoding: {e}"))
}

// ---- the vendor schema ---------------------------------------------------------------------

struct Spec {
    schemas: serde_json::Map<String, Value>,
}

impl Spec {
    fn load() -> Option<Spec> {
        let Some(path) = std::env::var_os("SNELSTART_OPENAPI") else {
            eprintln!(
                "SNELSTART_OPENAPI is not set: skipping the contract test \
                 (set it to ../shared/snelstart/openapi-v2.yaml to run it)"
            );
            return None;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "SNELSTART_OPENAPI={} cannot be read: {e}",
                path.to_string_lossy()
            )
        });
        let doc: Value = serde_yaml_ng::from_str(&text).expect("the definition is valid YAML");
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("components.schemas")
            .clone();
        Some(Spec { schemas })
    }

    fn schema(&self, name: &str) -> &Value {
        let full = format!("{PREFIX}{name}");
        self.schemas
            .get(&full)
            .or_else(|| self.schemas.get(name))
            .unwrap_or_else(|| panic!("no schema {full} in the definition"))
    }

    fn resolve<'a>(&'a self, prop: &'a Value) -> &'a Value {
        match prop.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                self.schemas
                    .get(name)
                    .unwrap_or_else(|| panic!("dangling $ref {reference}"))
            }
            None => prop,
        }
    }

    fn properties<'a>(&'a self, schema: &'a Value) -> &'a serde_json::Map<String, Value> {
        static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> =
            std::sync::OnceLock::new();
        schema["properties"]
            .as_object()
            .unwrap_or_else(|| EMPTY.get_or_init(serde_json::Map::new))
    }

    /// A document that fills every property of `schema` with a value of its type.
    fn sample(&self, prop: &Value) -> Value {
        let schema = self.resolve(prop);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            // The last value: the first is often the "nothing" value (`Geen`, `NotSet`).
            return values.last().cloned().expect("non-empty enum");
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => match schema.get("format").and_then(Value::as_str) {
                Some("uuid") => json!("a1b2c3d4-0000-4000-8000-00000000000f"),
                Some("date-time") => json!("2024-11-12T10:14:22.867"),
                Some("byte") => json!("aGFsbG8="),
                _ => json!("tekst"),
            },
            Some("integer") => json!(7),
            Some("number") => json!(12.34),
            Some("boolean") => json!(true),
            Some("array") => json!([self.sample(&schema["items"])]),
            _ if schema.get("properties").is_some() => Value::Object(
                self.properties(schema)
                    .iter()
                    .map(|(k, v)| (k.clone(), self.sample(v)))
                    .collect(),
            ),
            // A bare `type: object` is "any JSON".
            _ => json!("waarde"),
        }
    }

    /// Checks `value` against `prop` (recursively), collecting every mismatch.
    ///
    /// On the `write_side`, properties the vendor marks `readOnly` (the `uri` of references)
    /// may be missing too.
    fn check(
        &self,
        path: &str,
        prop: &Value,
        value: &Value,
        may_omit: &[&str],
        write_side: bool,
        out: &mut Vec<String>,
    ) {
        let schema = self.resolve(prop);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            if !values.contains(value) {
                out.push(format!("{path}: {value} is not one of the vendor's values"));
            }
            return;
        }
        let ok = match schema.get("type").and_then(Value::as_str) {
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("array") => match value.as_array() {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(
                            &format!("{path}[{i}]"),
                            &schema["items"],
                            item,
                            &[],
                            write_side,
                            out,
                        );
                    }
                    true
                }
                Some(_) => {
                    out.push(format!("{path}: empty array, nothing to check"));
                    true
                }
                None => false,
            },
            _ if schema.get("properties").is_some() => match value.as_object() {
                Some(object) => {
                    let props = self.properties(schema);
                    for (key, v) in object {
                        match props.get(key) {
                            Some(p) => {
                                self.check(&format!("{path}.{key}"), p, v, &[], write_side, out)
                            }
                            None => out.push(format!("{path}.{key}: not in the vendor schema")),
                        }
                    }
                    for (key, p) in props {
                        let read_only = p["readOnly"] == Value::Bool(true);
                        let may_be_missing =
                            may_omit.contains(&key.as_str()) || (write_side && read_only);
                        if !object.contains_key(key) && !may_be_missing {
                            out.push(format!("{path}.{key}: missing"));
                        }
                    }
                    true
                }
                None => false,
            },
            _ => !value.is_null(),
        };
        if !ok {
            out.push(format!(
                "{path}: {value} does not have the schema's type {schema}"
            ));
        }
    }
}

fn report(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn field_names_match_the_vendor_schema() {
    let Some(spec) = Spec::load() else { return };
    let mut problems = Vec::new();
    for pair in MODELS {
        let schema = spec.schema(pair.schema);
        let vendor: BTreeSet<&str> = spec.properties(schema).keys().map(String::as_str).collect();
        let ours: BTreeSet<&str> = (pair.fields)().into_iter().collect();
        for extra in ours.difference(&vendor) {
            problems.push(format!("{}.{extra}: not in {}", pair.rust, pair.schema));
        }
        for missing in vendor.difference(&ours) {
            if !pair.may_omit.contains(missing) {
                problems.push(format!(
                    "{}: lacks `{missing}` of {}",
                    pair.rust, pair.schema
                ));
            }
        }
    }
    report("field names", problems);
}

#[test]
fn schema_samples_decode_and_encode_with_the_vendor_types() {
    let Some(spec) = Spec::load() else { return };
    let mut problems = Vec::new();
    for pair in MODELS {
        let schema = spec.schema(pair.schema);
        let mut sample = spec.sample(schema);
        // Keep only what the model can hold: omitted read-only names are not read either.
        if let Some(object) = sample.as_object_mut() {
            object.retain(|k, _| !pair.may_omit.contains(&k.as_str()));
        }
        match (pair.round_trip)(sample) {
            Ok(written) => spec.check(
                pair.rust,
                schema,
                &written,
                pair.may_omit,
                false,
                &mut problems,
            ),
            Err(e) => problems.push(format!("{}: {e}", pair.rust)),
        }
    }
    report("round trip of schema samples", problems);
}

// ---- hand-populated write models ------------------------------------------------------------

fn id<T: From<uuid::Uuid>>(n: u128) -> T {
    T::from(uuid::Uuid::from_u128(n))
}

fn reference<T: From<uuid::Uuid>>(n: u128) -> Reference<T> {
    let mut r = Reference::new(id(n));
    r.uri = Some(format!("/x/{n}"));
    r
}

fn email() -> EmailVersturen {
    let mut e = EmailVersturen::new("facturen@example.nl");
    e.cc_email = Some("cc@example.nl".into());
    e
}

fn relatie_write() -> RelatieWrite {
    let mut adres = Adres::new("Oudegracht 7", "3511 AA", "Utrecht", Some(id(1)));
    adres.contactpersoon = Some("Joost Brinkman".into());
    let mut r = RelatieWrite::default();
    r.relatiesoort = Some(vec![Relatiesoort::Klant]);
    r.relatiecode = Some(10234);
    r.naam = Some("Het Wiel".into());
    r.vestigings_adres = Some(adres.clone());
    r.correspondentie_adres = Some(adres);
    r.telefoon = Some("030-5550199".into());
    r.mobiele_telefoon = Some("06-55501427".into());
    r.email = Some("joost@example.nl".into());
    r.btw_nummer = Some("NL009876546B21".into());
    r.factuurkorting = Some(dec!(2.5));
    r.krediettermijn = Some(14);
    r.bankieren = Some(true);
    r.nonactief = Some(true);
    r.krediet_limiet = Some(dec!(5000));
    r.memo = Some("memo".into());
    r.kvk_nummer = Some("11223344".into());
    r.oin = Some("00000001234567890000".into());
    r.website_url = Some("https://example.nl".into());
    r.aanmaningsoort = Some(Aanmaningsoort::Onderneming);
    r.offerte_email_versturen = Some(email());
    r.bevestigings_email_versturen = Some(email());
    r.factuur_email_versturen = Some(email());
    r.aanmaning_email_versturen = Some(email());
    r.offerte_aanvraag_email_versturen = Some(email());
    r.bestelling_email_versturen = Some(email());
    r.ubl_bestand_als_bijlage = Some(true);
    r.iban = Some("NL30SIMB0417164300".into());
    r.bic = Some("SIMBNL2A".into());
    r.incasso_soort = Some(IncassoSoort::Core);
    r.factuur_relatie = Some(reference(2));
    r
}

fn document() -> Document {
    let mut d = Document::new(id(3));
    d.parent_identifier = Some(uuid::Uuid::from_u128(4));
    d.file_name = Some("a.pdf".into());
    d.read_only = Some(true);
    d.uri = Some("/documenten/3".into());
    d
}

fn moment() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 11, 12)
        .unwrap()
        .and_hms_milli_opt(10, 14, 22, 867)
        .unwrap()
}

fn verkoopboeking() -> Verkoopboeking {
    let mut regel = VerkoopboekingRegel::new("Advies", id(5), dec!(1000), BtwSoort::Hoog);
    regel.kostenplaats = Some(reference(6));
    let mut incasso = EenmaligeIncassoMachtiging::new("Incasso", moment());
    incasso.kenmerk = Some("K-1".into());
    let mut b = Verkoopboeking::new("2024-0417", id(7), moment());
    b.modified_on = Some(moment());
    b.boekstuk = Some("2024-0417".into());
    b.gewijzigd_door_accountant = Some(true);
    b.markering = Some(true);
    b.omschrijving = Some("Advies".into());
    b.betalingstermijn = Some(30);
    b.eenmalige_incasso_machtiging = Some(incasso);
    b.doorlopende_incasso_machtiging = Some(reference(8));
    b.boekingsregels = Some(vec![regel]);
    b.btw = Some(vec![VerkoopboekingBtwRegel::new(
        VerkoopBtwSoort::VerkopenHoog,
        dec!(210),
    )]);
    b.set_factuurbedrag_from_lines();
    b.documents = Some(vec![document()]);
    b.id = Some(id(9));
    b.uri = Some("/verkoopboekingen/9".into());
    b
}

fn inkoopboeking() -> Inkoopboeking {
    let mut regel = InkoopboekingRegel::new("Papier", id(5), dec!(100), BtwSoort::Hoog);
    regel.kostenplaats = Some(reference(6));
    let mut b = Inkoopboeking::new("F-1", id(7), moment());
    b.modified_on = Some(moment());
    b.boekstuk = Some("I-1".into());
    b.gewijzigd_door_accountant = Some(true);
    b.markering = Some(true);
    b.omschrijving = Some("Papier".into());
    b.boekingsregels = Some(vec![regel]);
    b.btw = Some(vec![InkoopboekingBtwRegel::new(
        InkoopBtwSoort::InkopenHoog,
        dec!(21),
    )]);
    b.set_factuurbedrag_from_lines();
    b.documents = Some(vec![document()]);
    b.id = Some(id(9));
    b.uri = Some("/inkoopboekingen/9".into());
    b
}

macro_rules! bank_kas {
    ($name:ident, $ty:ty, $n:expr) => {
        fn $name() -> $ty {
            let mut g = GrootboekBoekingsRegel::new("Kosten", id(5), dec!(10), dec!(0));
            g.kostenplaats = Some(Reference::new(id(6)));
            g.btw_soort = Some(BtwSoort::Hoog);
            let mut b = <$ty>::new(moment(), id(10));
            b.markering = Some(true);
            b.gewijzigd_door_accountant = Some(true);
            b.boekstuk = Some("B1".into());
            b.omschrijving = Some("Afschrift".into());
            b.grootboek_boekings_regels = Some(vec![g]);
            b.verkoopboeking_boekings_regels = Some(vec![BankKasVerkoopboekingRegel::payment(
                id(7),
                "F1",
                dec!(100),
            )]);
            b.inkoopboeking_boekings_regels = Some(vec![BankKasInkoopboekingRegel::payment(
                id(8),
                "I1",
                dec!(50),
            )]);
            let mut btw = BtwBoekingregel::default();
            btw.debet = Some(dec!(2.1));
            btw.credit = Some(dec!(0));
            btw.kind = Some(BtwBoekingregelType::TeVorderenBtwType);
            btw.tarief = Some(BtwSoort::Hoog);
            b.btw_boekingsregels = Some(vec![btw]);
            b.bedrag_ontvangen = Some(dec!(37.9));
            b.modified_on = Some(moment());
            b.id = Some(id($n));
            b.uri = Some(format!("/x/{}", $n));
            b
        }
    };
}
bank_kas!(bankboeking, Bankboeking, 15);
bank_kas!(kasboeking, Kasboeking, 16);

fn memoriaalboeking() -> Memoriaalboeking {
    let mut debet = MemoriaalboekingRegel::debet("Naar project", id(5), dec!(150));
    debet.kostenplaats = Some(reference(6));
    let mut m = Memoriaalboeking::new(moment(), id(10));
    m.modified_on = Some(moment());
    m.markering = Some(true);
    m.boekstuk = Some("M-1".into());
    m.gewijzigd_door_accountant = Some(true);
    m.omschrijving = Some("Herallocatie".into());
    m.memoriaal_boekings_regels = Some(vec![debet]);
    m.inkoopboeking_boekings_regels = Some(vec![InkoopboekingVerantwoordingsRegel::new(
        id(11),
        "Betaling",
        dec!(10),
    )]);
    m.verkoopboeking_boekings_regels = Some(vec![VerkoopboekingVerantwoordingsRegel::new(
        id(12),
        "Ontvangst",
        dec!(20),
    )]);
    m.id = Some(id(13));
    m.uri = Some("/memoriaalboekingen/13".into());
    m
}

fn kostenplaats() -> Kostenplaats {
    let mut k = Kostenplaats::new(12, "Project Noordvleugel");
    k.nonactief = Some(true);
    k.id = Some(id(14));
    k.uri = Some("/kostenplaatsen/14".into());
    k
}

fn grootboek() -> Grootboek {
    let mut g = Grootboek::new(
        8000,
        "Omzet hoog",
        RekeningCode::WinstEnVerlies,
        Grootboekfunctie::BtwAfteDragenLaag,
    );
    g.modified_on = Some(moment());
    g.kostenplaats_verplicht = Some(true);
    g.nonactief = Some(true);
    g.grootboek_rubriek = Some("Netto-omzet".into());
    g.rgs_code = vec![Rgs::new("3.5", "WOmzNopOdh")].into();
    g.btw_soort = vec![BtwSoort::Hoog].into();
    g.vat_rate_code = Some("SR".into());
    g.id = Some(id(15));
    g.uri = Some("/grootboeken/15".into());
    g
}

fn document_content() -> DocumentContent {
    let mut d = DocumentContent::new(
        VerkoopboekingId::from(uuid::Uuid::from_u128(9)),
        "a.pdf",
        b"%PDF",
    );
    d.read_only = Some(true);
    d.id = Some(id(3));
    d.uri = Some("/documenten/3".into());
    d
}

fn custom_fields() -> RelatieUpdatedCustomFields {
    let mut c = RelatieUpdatedCustomFields::default();
    c.klant_custom_fields = vec![UpdatedCustomField::new("lidnummer", "5299")];
    c.leverancier_custom_fields = vec![UpdatedCustomField::new("actief", true)];
    c
}

fn ubl() -> UblContent {
    let mut u = UblContent::default();
    u.file_name = Some("f.xml".into());
    u.content = Some("PFVCTC8+".into());
    u.pdf_content = Some("JVBERg==".into());
    u.force_persist = Some(true);
    u
}

#[test]
fn hand_populated_write_models_match_the_vendor_schema() {
    let Some(spec) = Spec::load() else { return };
    let models: Vec<(&str, Value, &[&str])> = vec![
        (
            "Relaties.RelatieWriteModel",
            serde_json::to_value(relatie_write()).unwrap(),
            RELATIE_WRITE_READ_ONLY,
        ),
        (
            "VerkoopBoekingen.VerkoopBoekingModel",
            serde_json::to_value(verkoopboeking()).unwrap(),
            &[],
        ),
        (
            "Inkoopboekingen.InkoopboekingModel",
            serde_json::to_value(inkoopboeking()).unwrap(),
            &[],
        ),
        (
            "Bankboekingen.MemoriaalboekingModel",
            serde_json::to_value(memoriaalboeking()).unwrap(),
            &[],
        ),
        (
            "Bankboekingen.BankboekingModel",
            serde_json::to_value(bankboeking()).unwrap(),
            &[],
        ),
        (
            "Kasboekingen.KasboekingModel",
            serde_json::to_value(kasboeking()).unwrap(),
            &[],
        ),
        (
            "Kostenplaatsen.KostenplaatsModel",
            serde_json::to_value(kostenplaats()).unwrap(),
            &[],
        ),
        (
            "Grootboeken.GrootboekModel",
            serde_json::to_value(grootboek()).unwrap(),
            &[],
        ),
        (
            "Documenten.DocumentContentModel",
            serde_json::to_value(document_content()).unwrap(),
            &[],
        ),
        (
            "CustomFields.RelatieUpdatedCustomFieldsModel",
            serde_json::to_value(custom_fields()).unwrap(),
            &[],
        ),
        (
            "Bijlagen.UblContentModel",
            serde_json::to_value(ubl()).unwrap(),
            &[],
        ),
    ];
    let mut problems = Vec::new();
    for (schema, value, may_omit) in models {
        spec.check(
            schema,
            spec.schema(schema),
            &value,
            may_omit,
            true,
            &mut problems,
        );
    }
    report("hand-populated write models", problems);
}

/// The checker must be able to fail, or a green run proves nothing.
#[test]
fn the_checker_reports_wrong_names_and_types() {
    let Some(spec) = Spec::load() else { return };
    let schema = spec.schema("Kostenplaatsen.KostenplaatsModel");
    let mut problems = Vec::new();
    spec.check(
        "k",
        schema,
        &json!({"omschrijving": 5, "nonactief": false, "nummer": 1.5, "Id": "x"}),
        &[],
        false,
        &mut problems,
    );
    let text = problems.join("\n");
    assert!(text.contains("k.omschrijving: 5 does not have"), "{text}");
    assert!(text.contains("k.nummer: 1.5 does not have"), "{text}");
    assert!(text.contains("k.Id: not in the vendor schema"), "{text}");
    assert!(text.contains("k.id: missing"), "{text}");
    assert!(text.contains("k.uri: missing"), "{text}");

    let mut enum_problems = Vec::new();
    spec.check(
        "g",
        &spec.properties(spec.schema("Grootboeken.GrootboekModel"))["grootboekfunctie"],
        &json!("BtwAfTeDragenLaag"),
        &[],
        false,
        &mut enum_problems,
    );
    assert_eq!(enum_problems.len(), 1, "{enum_problems:?}");
}

/// The probe sees serde's names, renames included (no definition needed).
#[test]
fn the_probe_reports_json_names() {
    assert_eq!(
        fields_of::<Land>(),
        ["naam", "landcodeISO", "landcode", "id", "uri"]
    );
    assert!(fields_of::<CompanyInfo>().contains(&"kvKNummer"));
    assert!(fields_of::<CompanyInfo>().contains(&"mapUBLBestanden"));
    assert!(fields_of::<CustomFieldDefinition>().contains(&"type"));
}

/// Every typed operation uses a route and method the vendor definition has.
#[test]
fn every_operation_is_a_vendor_endpoint() {
    use snelstart_client::odata::Query;
    use snelstart_client::ops::{self, grootboekmutaties::Apply};

    let Some(path) = std::env::var_os("SNELSTART_OPENAPI") else {
        eprintln!("SNELSTART_OPENAPI is not set: skipping the endpoint check");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("SNELSTART_OPENAPI is readable");
    let doc: Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let paths = doc["paths"].as_object().expect("paths");

    // The method comes from the request value itself; OData lists are always GET.
    fn sent<T>(request: &Request<T>) -> (Method, &'static str) {
        (request.method(), request.route())
    }
    let n = 1u128;
    let ops: Vec<(Method, &'static str)> = vec![
        (Method::Get, ops::relaties::list(Query::new()).route()),
        sent(&ops::relaties::get(id(n))),
        sent(&ops::relaties::create(&relatie_write()).unwrap()),
        sent(&ops::relaties::update(id(n), &relatie_write()).unwrap()),
        sent(&ops::relaties::delete(id(n))),
        sent(&ops::relaties::verkoopboekingen(id(n))),
        sent(&ops::relaties::inkoopboekingen(id(n))),
        sent(&ops::relaties::doorlopende_incasso_machtigingen(id(n))),
        sent(&ops::relaties::custom_fields(id(n))),
        sent(&ops::relaties::put_custom_fields(id(n), &custom_fields()).unwrap()),
        sent(&ops::kostenplaatsen::list()),
        sent(&ops::kostenplaatsen::get(id(n))),
        sent(&ops::kostenplaatsen::create(&Kostenplaats::new(1, "x")).unwrap()),
        sent(&ops::kostenplaatsen::update(id(14), &kostenplaats()).unwrap()),
        sent(&ops::kostenplaatsen::delete(id(n))),
        (Method::Get, ops::grootboeken::list(Query::new()).route()),
        sent(&ops::grootboeken::get(id(n))),
        sent(&ops::grootboeken::create(&Grootboek::default()).unwrap()),
        sent(&ops::btwtarieven::list()),
        sent(&ops::verkoopboekingen::create(&Verkoopboeking::default()).unwrap()),
        sent(&ops::verkoopboekingen::get(id(n))),
        sent(&ops::verkoopboekingen::update(id(9), &verkoopboeking()).unwrap()),
        sent(&ops::verkoopboekingen::delete(id(n))),
        sent(&ops::inkoopboekingen::create(&Inkoopboeking::default()).unwrap()),
        sent(&ops::inkoopboekingen::get(id(n))),
        sent(&ops::inkoopboekingen::update(id(9), &inkoopboeking()).unwrap()),
        sent(&ops::inkoopboekingen::delete(id(n))),
        sent(&ops::inkoopboekingen::ubl(&ubl()).unwrap()),
        (
            Method::Get,
            ops::verkoopfacturen::list(Query::new()).route(),
        ),
        sent(&ops::verkoopfacturen::get(id(n))),
        sent(&ops::verkoopfacturen::ubl(id(n))),
        (Method::Get, ops::inkoopfacturen::list(Query::new()).route()),
        sent(
            &ops::documenten::upload(&DocumentType::Relaties, &DocumentContent::default()).unwrap(),
        ),
        sent(&ops::documenten::list(
            &DocumentType::Relaties,
            uuid::Uuid::nil(),
        )),
        sent(&ops::documenten::get(id(n))),
        sent(&ops::documenten::update(id(3), &document_content()).unwrap()),
        sent(&ops::documenten::delete(id(n))),
        sent(&ops::memoriaalboekingen::create(&Memoriaalboeking::default()).unwrap()),
        sent(&ops::memoriaalboekingen::get(id(n))),
        sent(&ops::memoriaalboekingen::update(id(13), &memoriaalboeking()).unwrap()),
        sent(&ops::memoriaalboekingen::delete(id(n))),
        (Method::Get, ops::bankboekingen::list(Query::new()).route()),
        sent(&ops::bankboekingen::create(&Bankboeking::default()).unwrap()),
        sent(&ops::bankboekingen::get(id(n))),
        sent(&ops::bankboekingen::update(id(15), &bankboeking()).unwrap()),
        sent(&ops::bankboekingen::delete(id(n))),
        (Method::Get, ops::kasboekingen::list(Query::new()).route()),
        sent(&ops::kasboekingen::create(&Kasboeking::default()).unwrap()),
        sent(&ops::kasboekingen::get(id(n))),
        sent(&ops::kasboekingen::update(id(16), &kasboeking()).unwrap()),
        sent(&ops::kasboekingen::delete(id(n))),
        (
            Method::Get,
            ops::grootboekmutaties::list(Query::new()).route(),
        ),
        sent(&ops::grootboekmutaties::get(id(n))),
        sent(
            &ops::grootboekmutaties::aggregate(None, &Apply::group_by([odata::Property::id()]))
                .unwrap(),
        ),
        sent(&ops::company_info::get()),
        sent(&ops::company_info::update(&CompanyInfo::default()).unwrap()),
        sent(&ops::landen::list()),
        sent(&ops::landen::get(id(n))),
        sent(&ops::dagboeken::list()),
        sent(&ops::echo::get("x")),
    ];
    let mut problems = Vec::new();
    for (method, route) in ops {
        let verb = method.as_str().to_ascii_lowercase();
        match paths.get(&format!("/{route}")) {
            Some(item) if item.get(&verb).is_some() => {}
            Some(_) => problems.push(format!("{method} /{route}: the path has no {method}")),
            None => problems.push(format!("{method} /{route}: no such path")),
        }
    }
    report("operations", problems);
}

// ---- optionality that follows the wire ------------------------------------------------------

/// Properties the definition leaves optional that a read model requires anyway: a record
/// without an id cannot be linked or read back, a VAT rate without percentage, kind and start
/// date is no rate. In a list such an item is skipped and reported (`ItemDecodeProblem`); a
/// single GET fails naming the field.
const REQUIRED_BY_THE_CLIENT: &[&str] = &[
    "Relatie.id",
    "DoorlopendeIncassoMachtiging.id",
    "BtwTarief.btwPercentage",
    "BtwTarief.btwSoort",
    "BtwTarief.datumVanaf",
    "Verkoopfactuur.id",
    "Inkoopfactuur.id",
    "Document.id",
    "DocumentListItem.id",
    "Reference<DocumentId>.id",
    "Grootboekmutatie.id",
    "Land.id",
    "Dagboek.id",
];

/// For every model: a `null` and an absent variant of every property the definition does not
/// mark `required` decode; a `null`/absent list is never written back as `[]`; `[]` comes
/// back as `[]`; and no other `null`/absent property comes back as a value (no exceptions: a
/// read-modify-write never sends what SnelStart did not send).
#[test]
fn null_absent_and_empty_lists_follow_the_wire() {
    let Some(spec) = Spec::load() else { return };
    let mut problems = Vec::new();
    let mut variants = 0;
    for pair in MODELS {
        // A request body only (never read from SnelStart): its lists are what the caller sets.
        if pair.rust == "RelatieUpdatedCustomFields" {
            continue;
        }
        let schema = spec.schema(pair.schema);
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut base = spec.sample(schema);
        let Some(object) = base.as_object_mut() else {
            continue;
        };
        object.retain(|k, _| !pair.may_omit.contains(&k.as_str()));
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            let is_list = base[&key].is_array();
            let mut cases: Vec<(&str, Value)> = Vec::new();
            let name = format!("{}.{key}", pair.rust);
            if !required.contains(key.as_str()) && !REQUIRED_BY_THE_CLIENT.contains(&name.as_str())
            {
                let mut null = base.clone();
                null[&key] = Value::Null;
                let mut absent = base.clone();
                absent.as_object_mut().unwrap().remove(&key);
                cases.push(("null", null));
                cases.push(("absent", absent));
            }
            if is_list {
                let mut empty = base.clone();
                empty[&key] = json!([]);
                cases.push(("[]", empty));
            }
            for (label, input) in cases {
                variants += 1;
                let written = match (pair.round_trip)(input) {
                    Ok(w) => w,
                    Err(e) => {
                        problems.push(format!("{name} = {label}: {e}"));
                        continue;
                    }
                };
                let out = written.get(&key).unwrap_or(&Value::Null);
                match label {
                    "[]" if *out != json!([]) => {
                        problems.push(format!("{name}: [] was written back as {out}"));
                    }
                    "[]" => {}
                    _ if out.is_null() => {}
                    _ if is_list => {
                        problems.push(format!("{name}: {label} was written back as {out}"));
                    }
                    _ => problems.push(format!(
                        "{name}: {label} was written back as {out} (a value SnelStart did not send)"
                    )),
                }
            }
        }
    }
    assert!(variants > 500, "only {variants} variants were tried");
    report("null, absent and empty lists", problems);
}
