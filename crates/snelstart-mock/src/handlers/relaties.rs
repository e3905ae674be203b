//! `/v2/relaties`: customers and suppliers.

use super::{Ctx, St, created, deleted, odata_list, ok, ok_rec, ok_records, path_id, updated};
use crate::error::{ApiError, Errors, codes::*};
use crate::json::{Obj, dt, money, opt_reference, parse_body};
use crate::seed;
use crate::server::Shared;
use crate::state::Admin;
use crate::table::{Record, b, ref_id};
use crate::validate;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

const SOORTEN: &[(&str, i64)] = &[("Geen", 0), ("Klant", 1), ("Leverancier", 2), ("Eigen", 3)];
const AANMANING: &[(&str, i64)] = &[("Nee", 0), ("Onderneming", 1), ("Consument", 2)];
const INCASSO: &[(&str, i64)] = &[("Geen", 0), ("Core", 1), ("B2B", 2)];

type Code = (&'static str, &'static str);

/// The six mail blocks: (property, required, invalid e-mail, invalid cc).
const MAIL_BLOCKS: &[(&str, Code, Code, Code)] = &[
    ("aanmaningEmailVersturen", REL_0029, REL_0030, REL_0031),
    ("factuurEmailVersturen", REL_0032, REL_0033, REL_0034),
    ("bevestigingsEmailVersturen", REL_0038, REL_0039, REL_0040),
    ("offerteEmailVersturen", REL_0044, REL_0045, REL_0046),
    (
        "offerteAanvraagEmailVersturen",
        REL_0089,
        REL_0090,
        REL_0093,
    ),
    ("bestellingEmailVersturen", REL_0096, REL_0097, REL_0100),
];

/// A relation with every property present (nulls where empty), as the API serves it.
pub(crate) fn empty_relatie(id: Uuid) -> Record {
    let mail = json!({"shouldSend": false, "email": null, "ccEmail": null});
    let v = json!({
        "relatiesoort": [], "modifiedOn": null, "relatiecode": 0, "naam": null,
        "vestigingsAdres": empty_adres(), "correspondentieAdres": empty_adres(),
        "telefoon": null, "mobieleTelefoon": null, "fax": null, "email": null, "btwNummer": null,
        "factuurkorting": null, "krediettermijn": null, "bankieren": false, "nonactief": false,
        "kredietLimiet": null, "memo": null, "kvkNummer": null, "oin": null, "websiteUrl": null,
        "aanmaningsoort": null,
        "offerteEmailVersturen": mail, "bevestigingsEmailVersturen": mail, "factuurEmailVersturen": mail,
        "aanmaningEmailVersturen": mail, "offerteAanvraagEmailVersturen": mail, "bestellingEmailVersturen": mail,
        "ublBestandAlsBijlage": false, "iban": null, "bic": null, "incassoSoort": null, "factuurRelatie": null,
        "inkoopBoekingenUri": format!("/relaties/{id}/inkoopboekingen"),
        "verkoopBoekingenUri": format!("/relaties/{id}/verkoopboekingen"),
        "documents": [], "id": id.to_string(), "uri": format!("/relaties/{id}"), "extraVeldenKlant": [],
    });
    seed::obj(v)
}

fn empty_adres() -> Value {
    json!({"contactpersoon": null, "straat": null, "postcode": null, "plaats": null, "land": null})
}

fn soorten(r: &Record) -> Vec<String> {
    r.get("relatiesoort")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn is_klant(r: &Record) -> bool {
    soorten(r).iter().any(|x| x == "Klant")
}

pub(crate) fn is_leverancier(r: &Record) -> bool {
    soorten(r).iter().any(|x| x == "Leverancier")
}

fn too_long(name: &str, max: usize) -> ApiError {
    ApiError::model(
        format!("model.{name}"),
        format!("The field {name} must be a string with a maximum length of {max}."),
    )
}

/// Reads an address; returns the JSON and the country's ISO code.
fn adres(
    o: &Obj<'_>,
    prop: &str,
    codes: [Code; 5],
    vestiging: bool,
    admin: &Admin,
    errs: &mut Errors,
) -> Result<(Value, Option<&'static str>), ApiError> {
    let Some(a) = o.object(prop)? else {
        return Ok((empty_adres(), None));
    };
    let [straat_c, postcode_c, plaats_c, contact_c, land_c] = codes;
    let contact = a.text("contactpersoon")?;
    let straat = a.text("straat")?;
    let postcode = a.text("postcode")?;
    let plaats = a.text("plaats")?;
    let land = a.reference("land")?;
    for (v, max, code) in [
        (&straat, 50, straat_c),
        (&postcode, 25, postcode_c),
        (&plaats, 50, plaats_c),
        (&contact, 50, contact_c),
    ] {
        if v.as_ref().is_some_and(|x| x.chars().count() > max) {
            errs.push(code);
        }
    }
    let any = contact.is_some()
        || straat.is_some()
        || postcode.is_some()
        || plaats.is_some()
        || land.is_some();
    if vestiging && any && (straat.is_none() || postcode.is_none() || plaats.is_none()) {
        errs.push(REL_0060);
    }
    // An address without a country is in the Netherlands (vendor client documentation).
    let land = match land {
        Some(id) if admin.landen.get(&id).is_none() => {
            errs.push(land_c);
            None
        }
        Some(id) => Some(id),
        None if any => seed::land_id("NL"),
        None => None,
    };
    let iso = land.and_then(seed::land_iso);
    // The strings move in (`json!` would copy them).
    let m: Record = [
        ("contactpersoon", Value::from(contact)),
        ("straat", Value::from(straat)),
        ("postcode", Value::from(postcode)),
        ("plaats", Value::from(plaats)),
        ("land", opt_reference("landen", land)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok((Value::Object(m), iso))
}

/// Validate a write body and build the stored record (full replacement; read-only fields
/// taken from `existing`).
fn build(
    sh: &Shared,
    admin: &Admin,
    body: &serde_json::Map<String, Value>,
    existing: Option<&Record>,
    id: Uuid,
) -> Result<Record, ApiError> {
    let o = Obj::new(body, "model");
    let mut e = Errors::default();
    let v = &sh.config.validation;

    // Kind.
    let mut kinds: Vec<&'static str> = Vec::new();
    for x in o.array("relatiesoort")? {
        let k = crate::json::parse_enum(x, SOORTEN).ok_or_else(|| ApiError::one(REL_0066))?;
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds.retain(|k| *k != "Geen");
    let klant = kinds.contains(&"Klant");
    let leverancier = kinds.contains(&"Leverancier");
    if kinds.is_empty() {
        e.push(REL_0001);
    }
    if kinds.contains(&"Eigen") {
        e.push(REL_0048);
    }
    if klant && leverancier {
        e.push(REL_0065);
    }
    if let Some(old) = existing {
        let mut before = soorten(old);
        before.sort();
        let mut after: Vec<String> = kinds.iter().map(|s| (*s).to_owned()).collect();
        after.sort();
        if before != after && !kinds.is_empty() {
            e.push(REL_0064);
        }
    }

    // Name and code.
    let naam = o.text("naam")?.filter(|n| !n.trim().is_empty());
    match &naam {
        None => e.push(REL_0007),
        Some(n) if n.chars().count() > 50 => return Err(too_long("Naam", 50)),
        Some(_) => {}
    }
    let relatiecode = match o.int("relatiecode")?.filter(|c| *c != 0) {
        Some(c) => {
            if admin.relatiecodes.get(&c).is_some_and(|owner| *owner != id) {
                e.push(REL_0008);
            }
            Some(c)
        }
        None => existing.and_then(|r| r.get("relatiecode").and_then(Value::as_i64)),
    };

    // Addresses.
    let (vestiging, land_iso) = adres(
        &o,
        "vestigingsAdres",
        [REL_0020, REL_0021, REL_0022, REL_0023, REL_0056],
        true,
        admin,
        &mut e,
    )?;
    let (correspondentie, _) = adres(
        &o,
        "correspondentieAdres",
        [REL_0025, REL_0026, REL_0027, REL_0028, REL_0055],
        false,
        admin,
        &mut e,
    )?;

    // Contact details.
    let telefoon = o.text("telefoon")?;
    e.check(
        telefoon.as_ref().is_none_or(|t| t.chars().count() <= 25),
        REL_0013,
    );
    let mobiel = o.text("mobieleTelefoon")?;
    e.check(
        mobiel.as_ref().is_none_or(|t| t.chars().count() <= 25),
        REL_0012,
    );
    let email = o.text("email")?;
    if let Some(m) = &email {
        if m.chars().count() > 250 {
            e.push(REL_0085);
        } else if !validate::emails_valid(m) {
            e.push(if m.contains(';') { REL_0084 } else { REL_0061 });
        }
    }
    let website = o.text("websiteUrl")?;
    if let Some(w) = &website {
        if w.chars().count() > 100 {
            return Err(too_long("WebsiteUrl", 100));
        }
        e.check(validate::url_valid(w), REL_0015);
    }

    // Registration numbers.
    let btw = o.text("btwNummer")?;
    if let Some(n) = &btw {
        let len = n.chars().count();
        if len > 50 {
            e.push(REL_0057);
        } else if len < 2 {
            e.push(REL_0058);
        } else if !n.chars().all(|c| c.is_ascii_alphanumeric()) {
            e.push(REL_0059);
        } else {
            if let Some(iso) = land_iso
                && !n[..2].eq_ignore_ascii_case(iso)
                && !(iso == "GR" && n[..2].eq_ignore_ascii_case("EL"))
            {
                e.push(REL_0087);
            }
            if v.vat_checksum && !validate::vat_valid(n) {
                e.push(REL_0088);
            }
        }
    }
    let kvk = o.text("kvkNummer")?;
    if let Some(k) = &kvk {
        if k.chars().count() > 12 {
            return Err(too_long("KvkNummer", 12));
        }
        if v.kvk_check && !validate::kvk_valid(k) {
            e.push(REL_0006);
        }
    }
    let oin = o.text("oin")?;
    e.check(
        oin.as_ref()
            .is_none_or(|x| x.len() == 20 && x.bytes().all(|c| c.is_ascii_digit())),
        REL_0086,
    );

    // Money and payment settings.
    let factuurkorting = o.decimal("factuurkorting")?;
    e.check(
        klant || factuurkorting.is_none_or(|d| d.is_zero()),
        REL_0004,
    );
    let kredietlimiet = o.decimal("kredietLimiet")?;
    e.check(klant || kredietlimiet.is_none_or(|d| d.is_zero()), REL_0062);
    let krediettermijn = o.int("krediettermijn")?;
    e.check(
        krediettermijn.is_none_or(|t| (-365..=1000).contains(&t)),
        REL_0003,
    );
    let aanmaning = o.enumeration("aanmaningsoort", AANMANING)?;
    e.check(klant || aanmaning.is_none_or(|a| a == "Nee"), REL_0002);
    let incasso = o.enumeration("incassoSoort", INCASSO)?;
    e.check(klant || incasso.is_none_or(|a| a == "Geen"), REL_0016);
    let bankieren = o.bool("bankieren")?.unwrap_or(false);
    e.check(!bankieren || leverancier, REL_0014);
    let iban = o.text("iban")?.map(|i| i.replace(' ', ""));
    if let Some(i) = &iban {
        if i.chars().count() > 50 {
            return Err(too_long("Iban", 50));
        }
        e.check(!v.iban_checksum || validate::iban_valid(i), REL_0011);
    }
    e.check(
        iban.is_some() || !(bankieren || incasso.is_some_and(|a| a != "Geen")),
        REL_0009,
    );
    let bic = o.text("bic")?;
    if let Some(x) = &bic {
        if x.chars().count() > 15 {
            return Err(too_long("Bic", 15));
        }
        e.check(validate::bic_valid(x), REL_0010);
    }

    // Mail settings.
    let mut mails = Vec::new();
    for (prop, required, bad_mail, bad_cc) in MAIL_BLOCKS {
        let blk = o.object(prop)?;
        let should = blk
            .map(|b| b.bool("shouldSend"))
            .transpose()?
            .flatten()
            .unwrap_or(false);
        let m = blk.map(|b| b.text("email")).transpose()?.flatten();
        let cc = blk.map(|b| b.text("ccEmail")).transpose()?.flatten();
        e.check(!should || m.is_some(), *required);
        e.check(
            m.as_ref()
                .is_none_or(|x| x.chars().count() <= 250 && validate::emails_valid(x)),
            *bad_mail,
        );
        e.check(
            cc.as_ref()
                .is_none_or(|x| x.chars().count() <= 250 && validate::emails_valid(x)),
            *bad_cc,
        );
        let block: Record = [
            ("shouldSend", Value::from(should)),
            ("email", Value::from(m)),
            ("ccEmail", Value::from(cc)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        mails.push(Value::Object(block));
    }

    // Invoice relation.
    let factuurrelatie = o.reference("factuurRelatie")?;
    if let Some(fr) = factuurrelatie {
        match admin.relaties.get(&fr) {
            None => e.push(REL_0017),
            Some(r) if !is_klant(r) => e.push(REL_0018),
            Some(_) => {}
        }
    }
    e.into_result()?;

    // Read in the order the binder always read them (a type error names the first).
    let nonactief = o.bool("nonactief")?.unwrap_or(false);
    let memo = o.text("memo")?;
    let ubl = o.bool("ublBestandAlsBijlage")?.unwrap_or(false);
    // Read-only on input: kept from the stored record.
    let kept = |k: &str, empty: Value| {
        existing
            .and_then(|old| old.get(k).cloned())
            .unwrap_or(empty)
    };
    let [
        aanmaning_mail,
        factuur_mail,
        bevestiging_mail,
        offerte_mail,
        offerte_aanvraag_mail,
        bestelling_mail,
    ]: [Value; 6] = match mails.try_into() {
        Ok(m) => m,
        Err(_) => unreachable!("one block per entry of MAIL_BLOCKS"),
    };
    // Every property of `empty_relatie` once, in name order: the map is bulk-loaded from the
    // sorted list (no record of nulls built first and then overwritten, no insert one by
    // one), the values moved in rather than copied through `json!`. `modifiedOn` is stamped
    // by the caller.
    let r: [(&str, Value); 38] = [
        ("aanmaningEmailVersturen", aanmaning_mail),
        ("aanmaningsoort", Value::from(aanmaning)),
        ("bankieren", Value::from(bankieren)),
        ("bestellingEmailVersturen", bestelling_mail),
        ("bevestigingsEmailVersturen", bevestiging_mail),
        ("bic", Value::from(bic)),
        ("btwNummer", Value::from(btw)),
        ("correspondentieAdres", correspondentie),
        ("documents", kept("documents", Value::Array(Vec::new()))),
        ("email", Value::from(email)),
        (
            "extraVeldenKlant",
            kept("extraVeldenKlant", Value::Array(Vec::new())),
        ),
        ("factuurEmailVersturen", factuur_mail),
        ("factuurRelatie", opt_reference("relaties", factuurrelatie)),
        (
            "factuurkorting",
            factuurkorting.map(money).unwrap_or(Value::Null),
        ),
        ("fax", kept("fax", Value::Null)),
        ("iban", Value::from(iban)),
        ("id", Value::from(id.to_string())),
        ("incassoSoort", Value::from(incasso)),
        (
            "inkoopBoekingenUri",
            Value::from(format!("/relaties/{id}/inkoopboekingen")),
        ),
        (
            "kredietLimiet",
            kredietlimiet.map(money).unwrap_or(Value::Null),
        ),
        ("krediettermijn", Value::from(krediettermijn)),
        ("kvkNummer", Value::from(kvk)),
        ("memo", Value::from(memo)),
        ("mobieleTelefoon", Value::from(mobiel)),
        ("modifiedOn", Value::Null),
        ("naam", Value::from(naam)),
        ("nonactief", Value::from(nonactief)),
        ("offerteAanvraagEmailVersturen", offerte_aanvraag_mail),
        ("offerteEmailVersturen", offerte_mail),
        ("oin", Value::from(oin)),
        ("relatiecode", Value::from(relatiecode.unwrap_or(0))),
        ("relatiesoort", Value::from(kinds)),
        ("telefoon", Value::from(telefoon)),
        ("ublBestandAlsBijlage", Value::from(ubl)),
        ("uri", Value::from(format!("/relaties/{id}"))),
        (
            "verkoopBoekingenUri",
            Value::from(format!("/relaties/{id}/verkoopboekingen")),
        ),
        ("vestigingsAdres", vestiging),
        ("websiteUrl", Value::from(website)),
    ];
    debug_assert!(
        r.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted, each name once"
    );
    Ok(r.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Keep the relatiecode index in step with a write.
fn index_code(admin: &mut Admin, id: Uuid, old: Option<&Record>, new: &Record) {
    let code = |r: &Record| r.get("relatiecode").and_then(Value::as_i64);
    if let Some(c) = old.and_then(code)
        && admin.relatiecodes.get(&c) == Some(&id)
    {
        admin.relatiecodes.remove(&c);
    }
    if let Some(c) = code(new) {
        admin.relatiecodes.insert(c, id);
    }
}

pub(crate) async fn list(sh: St, ctx: Ctx, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let w = sh.world();
    odata_list(&sh, q.as_deref(), w.admins[ctx.0.0].relaties.iter())
}

pub(crate) async fn get_one(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .relaties
        .get(&id)
        .map(ok_rec)
        .ok_or(ApiError::NotFound)
}

pub(crate) async fn create(sh: St, ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let m = parse_body(&body, Some(REL_0066))?;
    if Obj::new(&m, "model").id()?.is_some() {
        return Err(ApiError::one(REL_0063));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let id = Uuid::new_v4();
    let mut r = build(&sh, admin, &m, None, id)?;
    if r.get("relatiecode").and_then(Value::as_i64).unwrap_or(0) == 0 {
        // Auto-number with the next code not in use.
        while admin.relatiecodes.contains_key(&admin.next_relatiecode) {
            admin.next_relatiecode += 1;
        }
        r.insert("relatiecode".into(), json!(admin.next_relatiecode));
        admin.next_relatiecode += 1;
    }
    r.insert("modifiedOn".into(), dt(sh.clock.tick()));
    index_code(admin, id, None, &r);
    // Answered from the record itself, then the record moves into the table: no copies.
    let answer = created(&r);
    admin.relaties.insert(id, r);
    Ok(answer)
}

pub(crate) async fn update(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let m = parse_body(&body, Some(REL_0066))?;
    if Obj::new(&m, "model").id()?.is_some_and(|b| b != id) {
        return Err(ApiError::one(REL_0047));
    }
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let existing = admin.relaties.get(&id).cloned().ok_or(ApiError::NotFound)?;
    let mut r = build(&sh, admin, &m, Some(&existing), id)?;
    r.insert("modifiedOn".into(), dt(sh.clock.tick()));
    index_code(admin, id, Some(&existing), &r);
    let answer = updated(&r);
    admin.relaties.insert(id, r);
    Ok(answer)
}

/// DELETE is a soft delete: the relation stays, `nonactief: true` (as the wording of
/// BOE-0054 "is verwijderd en staat op nonactief" implies).
pub(crate) async fn delete(sh: St, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let mut w = sh.world();
    let admin = &mut w.admins[ctx.0.0];
    let r = admin.relaties.get(&id).ok_or(ApiError::NotFound)?;
    let mut e = Errors::default();
    let open = |t: &crate::table::Table| {
        t.iter().any(|f| {
            ref_id(f, "relatie") == Some(id)
                && f.get("openstaandSaldo")
                    .and_then(crate::json::parse_decimal)
                    .is_some_and(|d| d != Decimal::ZERO)
        })
    };
    if is_klant(r) && open(&admin.verkoopfacturen) {
        e.push(REL_0049);
    }
    if is_leverancier(r) && open(&admin.inkoopfacturen) {
        e.push(REL_0053);
    }
    if is_klant(r)
        && admin
            .relaties
            .iter()
            .any(|o| ref_id(o, "factuurRelatie") == Some(id) && !b(o, "nonactief"))
    {
        e.push(REL_0051);
    }
    e.into_result()?;
    let stamp = dt(sh.clock.tick());
    if let Some(r) = admin.relaties.get_mut(&id) {
        r.insert("nonactief".into(), Value::Bool(true));
        r.insert("modifiedOn".into(), stamp);
    }
    Ok(deleted())
}

fn sub_list(
    sh: &Shared,
    ctx: crate::server::AdminCtx,
    id: &str,
    verkoop: bool,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let w = sh.world();
    let admin = &w.admins[ctx.0];
    admin.relaties.get(&id).ok_or(ApiError::NotFound)?;
    let (t, k) = if verkoop {
        (&admin.verkoopboekingen, "klant")
    } else {
        (&admin.inkoopboekingen, "leverancier")
    };
    Ok(ok_records(t.iter().filter(|r| ref_id(r, k) == Some(id))))
}

pub(crate) async fn verkoopboekingen(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    sub_list(&sh, ctx.0, &id, true)
}

pub(crate) async fn inkoopboekingen(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    sub_list(&sh, ctx.0, &id, false)
}

/// Recurring direct-debit mandates: none are simulated, so the list is empty.
pub(crate) async fn machtigingen(
    sh: St,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id)?;
    let w = sh.world();
    w.admins[ctx.0.0]
        .relaties
        .get(&id)
        .ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Array(Vec::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `build` writes every property once instead of overwriting an empty relation: it must
    /// still give exactly the properties of [`empty_relatie`], with the empty relation's
    /// values where the body leaves them empty.
    #[test]
    fn a_built_relation_has_exactly_the_properties_of_the_empty_one() {
        let sh = Shared::new(crate::MockConfig::new()).unwrap();
        let w = sh.world();
        let admin = &w.admins[0];
        let id = Uuid::from_u128(42);
        let empty = empty_relatie(id);
        let minimal = seed::obj(json!({"relatiesoort": ["Klant"], "naam": "Bakkerij"}));
        let r = build(&sh, admin, &minimal, None, id).unwrap();
        assert_eq!(
            r.keys().collect::<Vec<_>>(),
            empty.keys().collect::<Vec<_>>()
        );
        for (k, v) in &empty {
            match k.as_str() {
                "relatiesoort" => assert_eq!(r[k], json!(["Klant"])),
                "naam" => assert_eq!(r[k], json!("Bakkerij")),
                _ => assert_eq!(&r[k], v, "{k}"),
            }
        }
        let full = seed::obj(json!({
            "relatiesoort": ["Klant"], "naam": "Bakkerij", "relatiecode": 7, "telefoon": "030-1",
            "email": "a@b.nl", "vestigingsAdres": {"straat": "Dorpsstraat 1", "postcode": "1234 AB", "plaats": "Ons Dorp"},
            "factuurEmailVersturen": {"shouldSend": true, "email": "f@b.nl"}, "krediettermijn": 30,
            "aanmaningEmailVersturen": {"email": "a@b.nl"}, "bevestigingsEmailVersturen": {"email": "bv@b.nl"},
            "offerteEmailVersturen": {"email": "o@b.nl"}, "offerteAanvraagEmailVersturen": {"email": "oa@b.nl"},
            "bestellingEmailVersturen": {"email": "b@b.nl", "ccEmail": "c@b.nl"},
            "aanmaningsoort": "Onderneming", "memo": "m",
        }));
        let r = build(&sh, admin, &full, None, id).unwrap();
        assert_eq!(
            r.keys().collect::<Vec<_>>(),
            empty.keys().collect::<Vec<_>>()
        );
        assert_eq!(r["relatiecode"], json!(7));
        assert_eq!(r["krediettermijn"], json!(30));
        assert_eq!(r["aanmaningsoort"], json!("Onderneming"));
        assert_eq!(r["memo"], json!("m"));
        assert_eq!(
            r["factuurEmailVersturen"],
            json!({"shouldSend": true, "email": "f@b.nl", "ccEmail": null})
        );
        for (block, mail) in [
            ("aanmaningEmailVersturen", "a@b.nl"),
            ("bevestigingsEmailVersturen", "bv@b.nl"),
            ("offerteEmailVersturen", "o@b.nl"),
            ("offerteAanvraagEmailVersturen", "oa@b.nl"),
            ("bestellingEmailVersturen", "b@b.nl"),
        ] {
            assert_eq!(r[block]["email"], json!(mail), "{block}");
        }
        assert_eq!(r["bestellingEmailVersturen"]["ccEmail"], json!("c@b.nl"));
        assert_eq!(
            r["vestigingsAdres"]["land"]["id"],
            json!(seed::land_id("NL").unwrap().to_string())
        );
        assert_eq!(r["correspondentieAdres"], empty_adres());
        assert_eq!(r["uri"], json!(format!("/relaties/{id}")));

        // A change keeps the read-only properties of the stored record.
        let mut stored = r.clone();
        stored.insert("documents".into(), json!([{"id": "d"}]));
        stored.insert("extraVeldenKlant".into(), json!([{"naam": "x"}]));
        stored.insert("fax".into(), json!("030-2"));
        let changed = build(&sh, admin, &minimal, Some(&stored), id).unwrap();
        assert_eq!(
            changed.keys().collect::<Vec<_>>(),
            empty.keys().collect::<Vec<_>>()
        );
        for k in ["documents", "extraVeldenKlant", "fax"] {
            assert_eq!(changed[k], stored[k], "{k}");
        }
        assert_eq!(changed["naam"], json!("Bakkerij"));
        assert_eq!(changed["relatiecode"], json!(7), "kept when not given");
    }
}
