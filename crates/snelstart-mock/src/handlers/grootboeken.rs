//! `/v2/grootboeken`: ledger accounts (list with OData, get, create).

use super::{Ctx, St, created, odata_list, ok_rec, path_id};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, parse_body};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use uuid::Uuid;

/// Every ledger function with its integer value (vendor client), spelled exactly as the API.
pub(crate) const FUNCTIES: &[(&str, i64)] = &[
    ("Diversen", 0),
    ("DagboekKas", 1),
    ("DagboekBank", 2),
    ("DagboekGiro", 3),
    ("DagboekVerkoop", 4),
    ("DagboekInkoop", 5),
    ("DagboekMemoriaal", 7),
    ("DagboekBalans", 8),
    ("VerkopenOmzetOnbelastVerlegd", 10),
    ("VerkopenOmzetLaag", 11),
    ("VerkopenOmzetHoog", 12),
    ("VerkopenOmzetOverig", 13),
    ("VerkopenBtwVrij", 15),
    ("BtwAfteDragenLaag", 21),
    ("BtwAfTeDragenHoog", 22),
    ("BtwAfTeDragenOverig", 23),
    ("BtwAfTeDragenVerlegdVerkopen", 24),
    ("BtwTeVorderenVerlegd", 25),
    ("BtwAfteDragenLaagGlobalisatie", 26),
    ("BtwAfTeDragenHoogGlobalisatie", 27),
    ("BtwAfTeDragenOverigGlobalisatie", 28),
    ("InkopenKostenAlleBtwTarieven", 30),
    ("InkopenKostenLaag", 31),
    ("InkopenKostenHoog", 32),
    ("InkopenKostenOverig", 33),
    ("InkopenVraagPosten", 34),
    ("BtwTeVorderenLaag", 41),
    ("BtwTeVorderenHoog", 42),
    ("BtwTeVorderenOverig", 43),
    ("BtwAfTeDragenVerlegdInkopen", 44),
    ("BtwTeVorderenVerlegdInkopen", 45),
    ("InkopenImportBinnenEUlaag", 61),
    ("InkopenImportBinnenEUhoog", 62),
    ("InkopenImportBinnenEUoverig", 63),
    ("InkopenImportBuitenEUlaag", 71),
    ("InkopenImportBuitenEUhoog", 72),
    ("InkopenImportBuitenEUoverig", 73),
    ("VerkopenExportBinnenEU", 80),
    ("VerkopenExportBuitenEU", 81),
    ("OninbareVorderingen", 82),
    ("HerrekeningCorrecties", 83),
    ("InstallatieTeleverkoopBinnenEUgeen", 84),
    ("BpmVerkopen", 85),
    ("BpmInkopen", 86),
    ("BpmVoorraad", 87),
    ("DienstverleningBinnenEU", 88),
    ("VerkoopGlobalisatieLaag", 91),
    ("VerkoopGlobalisatieHoog", 92),
    ("VerkoopGlobalisatieOverig", 93),
    ("InkoopGlobalisatieLaag", 94),
    ("InkoopGlobalisatieHoog", 95),
    ("InkoopGlobalisatieOverig", 96),
    ("BtwGlobalisatie", 97),
    ("KredietbeperkingVerkopen", 100),
    ("KredietbeperkingInkopen", 101),
    ("Betalingskorting", 102),
    ("TussenrekeningBetalingen", 110),
    ("OnbekendeBetalingen", 111),
    ("Kruisposten", 112),
    ("ContanteBetaling", 120),
    ("ElectronischeBetaling", 121),
    ("Winstboeking", 130),
];

/// The VAT kinds a new ledger allows, derived from its function (read-only on input).
pub(crate) fn btw_for_functie(f: &str) -> &'static [&'static str] {
    match f {
        "VerkopenOmzetHoog"
        | "InkopenKostenHoog"
        | "InkopenImportBinnenEUhoog"
        | "InkopenImportBuitenEUhoog" => &["Hoog"],
        "VerkopenOmzetLaag"
        | "InkopenKostenLaag"
        | "InkopenImportBinnenEUlaag"
        | "InkopenImportBuitenEUlaag" => &["Laag"],
        "VerkopenOmzetOverig"
        | "InkopenKostenOverig"
        | "InkopenImportBinnenEUoverig"
        | "InkopenImportBuitenEUoverig" => &["Overig"],
        "InkopenKostenAlleBtwTarieven" | "InkopenVraagPosten" => {
            &["Geen", "Laag", "Hoog", "Overig"]
        }
        f if f.starts_with("Dagboek") || f.starts_with("Btw") => &[],
        _ => &["Geen"],
    }
}

pub(crate) async fn list(sh: St, ctx: Ctx, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let w = sh.world();
    odata_list(&sh, q.as_deref(), w.admins[ctx.0.0].grootboeken.iter())
}

pub(crate) async fn get_one(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .grootboeken
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn create(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, None)?;
    let o = Obj::new(&m, "model");
    if o.id()?.is_some() {
        return Err(ApiError::one(ALG_0100));
    }
    let mut e = Errors::default();
    let omschrijving = o.text("omschrijving")?;
    match &omschrijving {
        None => e.push(BOE_0084),
        Some(x) if x.chars().count() > 50 => e.push(BOE_0088),
        Some(_) => {}
    }
    let nummer = o.int("nummer")?;
    let functie = match o.get("grootboekfunctie") {
        None => None,
        Some(v) => match crate::json::parse_enum(v, FUNCTIES) {
            Some(f) => Some(f),
            None => {
                e.push(BOE_0085);
                None
            }
        },
    };
    let functie = functie.unwrap_or("Diversen");
    let rekeningcode = o.enumeration("rekeningCode", &[("Balans", 0), ("WinstEnVerlies", 1)])?;
    let vat_rate_code = o.text("vatRateCode")?;
    if vat_rate_code
        .as_deref()
        .is_some_and(|c| !["SR", "RRH", "RRL", "PR", "SRR"].contains(&c))
    {
        return Err(ApiError::model(
            "model.VatRateCode",
            "The field VatRateCode must be one of SR, RRH, RRL, PR, SRR.",
        ));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    if let Some(n) = nummer
        && admin.ledger_by_nummer(n).is_some()
    {
        e.push(BOE_0086);
    }
    // Journal functions exist once per administration.
    if functie.starts_with("Dagboek") && admin.ledger_by_functie(functie).is_some() {
        e.push(BOE_0087);
    }
    if nummer.is_none() {
        return Err(ApiError::model(
            "model.Nummer",
            "The Nummer field is required.",
        ));
    }
    e.into_result()?;
    let id = Uuid::new_v4();
    let balans = rekeningcode.map(|r| r == "Balans").unwrap_or(false);
    let r = crate::seed::ledger_record(
        id,
        nummer.unwrap_or_default(),
        omschrijving.as_deref().unwrap_or_default(),
        functie,
        balans,
        btw_for_functie(functie),
        o.bool("kostenplaatsVerplicht")?.unwrap_or(false),
        o.bool("nonactief")?.unwrap_or(false),
        vat_rate_code,
        sh.clock.tick(),
    );
    let answer = created(&r);
    admin.grootboeken.insert(id, r);
    Ok(answer)
}
