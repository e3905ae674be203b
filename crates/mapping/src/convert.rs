//! CRM records → SnelStart write models.
//!
//! Every function runs the record's pre-flight checks first and returns either a payload
//! SnelStart accepts for its content or **every** problem at once ([`Problems`]). The values
//! a policy changed or derived are the ones pre-flight computed (one pass), and
//! [`crate::notices`] reports them.
//!
//! * [`relation_to_relaties`]: a [`Relation`] becomes one [`RelatieWrite`] (or two, customer
//!   first, under [`BothKindsPolicy::TwoRelations`]).
//! * [`project_to_kostenplaats`]: a [`Project`] becomes a [`Kostenplaats`].
//! * [`sales_invoice_to_verkoopboeking`], [`purchase_invoice_to_inkoopboeking`]: via the
//!   [`crate::booking::BookingPlan`] (see [`crate::booking`] for amounts and
//!   rounding).
//!
//! # Relations, field by field
//!
//! | SnelStart | From |
//! |---|---|
//! | `relatiesoort` | `kind`; `both` per [`BothKindsPolicy`] |
//! | `relatiecode` | `number` under [`RelatiecodePolicy::FromCrmNumber`], else left to SnelStart |
//! | `naam` | legal or trade name ([`NameSource`]); over 50 characters refused or truncated ([`LongNamePolicy`]) |
//! | `vestigingsAdres` | `visit_address`; `straat` = street + house number + addition (`Dorpsstraat 12 A`), Dutch postcodes printed `1234 AB`, `land` via the caller's lookup; `contactpersoon` = the kept contact ([`crate::contacts`]); left out when there is no visiting address (the contact then goes on `correspondentieAdres`, since a `vestigingsAdres` with only a contact is refused: REL-0060) |
//! | `correspondentieAdres` | `postal_address` (or the visiting address, [`FieldRules::postal_falls_back_to_visit`]), same contact |
//! | `email`, `telefoon` | the relation's, else the kept contact's ([`ContactRules`], notice) |
//! | `memo` | the CRM's `memo` first, then: full name when truncated, full contact name when truncated, trade name, credit limit of a supplier, the other contacts (no length limit is documented for `memo`) |
//! | `btwNummer` | `vat_number` in strict form; a prefix inferred while reading is written per `fields.vat_without_prefix` (notice) or refused |
//! | `kvkNummer` | `kvk_number`; a number whose leading zero was restored is refused, never written |
//! | `iban`, `bic` | the validated values in strict form |
//! | `krediettermijn` | `payment_term_days`, else [`FieldRules::default_payment_term_days`] |
//! | `kredietLimiet` | `credit_limit`, customers only (REL-0062) |
//! | `websiteUrl` | `website`, a valid http(s) URL (REL-0015); `https://` added when it has no scheme (`fields.website_add_scheme`, notice) |
//! | `nonactief` | `!active` |
//!
//! [`BothKindsPolicy`]: crate::config::BothKindsPolicy
//! [`BothKindsPolicy::TwoRelations`]: crate::config::BothKindsPolicy::TwoRelations
//! [`RelatiecodePolicy::FromCrmNumber`]: crate::config::RelatiecodePolicy::FromCrmNumber
//! [`NameSource`]: crate::config::NameSource
//! [`LongNamePolicy`]: crate::config::LongNamePolicy
//! [`FieldRules::postal_falls_back_to_visit`]: crate::config::FieldRules::postal_falls_back_to_visit
//! [`FieldRules::default_payment_term_days`]: crate::config::FieldRules::default_payment_term_days
//! [`ContactRules`]: crate::config::ContactRules

use chrono::NaiveDate;
use crm_model::{
    Address, CountryCode, Project, PurchaseInvoice, Relation, RelationKind, SalesInvoice,
};
use snelstart_client::models::{
    Adres, BtwSoort, Grootboek, InkoopBtwSoort, Inkoopboeking, InkoopboekingBtwRegel,
    InkoopboekingRegel, Kostenplaats, RelatieWrite, Relatiesoort, VerkoopBtwSoort, Verkoopboeking,
    VerkoopboekingBtwRegel, VerkoopboekingRegel,
};
use snelstart_client::{LandId, Reference, RelatieId};

use crate::booking::{
    BookingContext, BookingPlan, PlannedLine, plan_purchase_invoice, plan_sales_invoice,
};
use crate::config::{
    BothKindsPolicy, ChartOfAccounts, CostCentreInfo, LedgerInfo, LineVatKind, MappingConfig,
    NameSource, RelatiecodePolicy, VatLineKind,
};
use crate::preflight::{
    self, ProblemKind, Problems, RelationCheck, check_relation, joined_street, printed_postcode,
    relatiecode_from,
};
use crate::text::non_blank;

/// Converts a relation into the relation(s) to write to SnelStart: one, or two (customer
/// first, then supplier) under [`BothKindsPolicy::TwoRelations`].
///
/// `land` maps a country to SnelStart's land id (from `GET /landen`). A Dutch address may go
/// without one (SnelStart defaults to Nederland); any other country must be known.
///
/// # Errors
/// Every problem of the relation, see [`preflight::relation`], plus unknown countries.
pub fn relation_to_relaties(
    relation: &Relation,
    config: &MappingConfig,
    land: impl Fn(CountryCode) -> Option<LandId>,
) -> Result<Vec<RelatieWrite>, Problems> {
    let check = check_relation(relation, config);
    let mut c = check.collector;
    let mut land_of = |path: &str, address: &Address| -> Option<LandId> {
        let id = land(address.country);
        if id.is_none() && address.country != CountryCode::NL {
            c.push(
                format!("{path}.country"),
                ProblemKind::UnknownCountry {
                    code: address.country.to_string(),
                },
            );
        }
        id
    };
    let visit_land = relation
        .visit_address
        .as_ref()
        .filter(|a| !a.is_blank())
        .map(|a| land_of("visit_address", a));
    let postal_land = relation
        .postal_address
        .as_ref()
        .filter(|a| !a.is_blank())
        .map(|a| land_of("postal_address", a));
    let problems = std::mem::take(&mut c.problems);
    let check = RelationCheck {
        collector: c,
        ..check
    };
    Problems::check(problems, || {
        build_relaties(
            relation,
            config,
            &check,
            visit_land.flatten(),
            postal_land.flatten(),
        )
    })
}

fn build_relaties(
    relation: &Relation,
    config: &MappingConfig,
    check: &RelationCheck<'_>,
    visit_land: Option<LandId>,
    postal_land: Option<LandId>,
) -> Vec<RelatieWrite> {
    let full_name = check.full_name;
    let naam = check.naam.clone();
    let contactpersoon = check.contact.as_ref().map(|(_, written)| written.clone());

    // The CRM's memo first, then what the mapping adds.
    let mut memo: Vec<String> = Vec::new();
    if let Some(text) = non_blank(relation.memo.as_deref()) {
        memo.push(text.to_owned());
    }
    if naam != full_name {
        memo.push(format!("Volledige naam: {full_name}"));
    }
    if let Some((k, written)) = &check.contact
        && k.name.trim() != written
    {
        memo.push(format!("Volledige naam contactpersoon: {}", k.name.trim()));
    }
    // SnelStart's contact person is a name only: what the CRM says about that person and is
    // not written elsewhere (its role, and its e-mail or phone when the relation's differ)
    // goes in the memo rather than being dropped.
    if let Some((k, written)) = &check.contact {
        let role = non_blank(k.role.as_deref()).map(|r| format!(" ({r})"));
        let email = k
            .email
            .as_ref()
            .map(ToString::to_string)
            .filter(|e| check.email.as_deref() != Some(e.as_str()));
        let phone = non_blank(k.phone.as_deref())
            .filter(|p| check.telefoon.as_deref() != Some(*p))
            .map(str::to_owned);
        if role.is_some() || email.is_some() || phone.is_some() {
            let mut line = format!("Contactpersoon: {written}{}", role.unwrap_or_default());
            for detail in [email, phone].into_iter().flatten() {
                line.push_str(", ");
                line.push_str(&detail);
            }
            memo.push(line);
        }
    }
    if config.fields.trade_name_in_memo
        && config.fields.name_source == NameSource::LegalName
        && let Some(trade) = non_blank(relation.trade_name.as_deref())
        && trade != full_name
    {
        memo.push(format!("Handelsnaam: {trade}"));
    }
    let contact_summary = check.contact_summary.clone();

    let adres = |address: &Address, land: Option<LandId>| {
        let mut a = Adres::default();
        a.contactpersoon = contactpersoon.clone();
        a.straat = Some(joined_street(address)).filter(|s| !s.is_empty());
        a.postcode = printed_postcode(address);
        a.plaats = non_blank(Some(&address.city)).map(str::to_owned);
        a.land = land.map(Reference::new);
        a
    };
    let visit = relation.visit_address.as_ref().filter(|a| !a.is_blank());
    let vestigings_adres = visit.map(|a| adres(a, visit_land));
    let postal = relation.postal_address.as_ref().filter(|a| !a.is_blank());
    // Without a visiting address the contact person goes on the correspondence address:
    // SnelStart reads a `vestigingsAdres` holding only a `contactpersoon` as a half-filled
    // address (REL-0060), and has no such rule for `correspondentieAdres`.
    let correspondentie_adres = match (postal, visit) {
        (Some(a), _) => Some(adres(a, postal_land)),
        (None, Some(a)) if config.fields.postal_falls_back_to_visit => Some(adres(a, visit_land)),
        (None, None) => contactpersoon.clone().map(|name| {
            let mut a = Adres::default();
            a.contactpersoon = Some(name);
            a
        }),
        _ => None,
    };

    let email = check.email.clone();
    let telefoon = check.telefoon.clone();
    let website = check.website.clone();

    let kinds: Vec<(Relatiesoort, u32)> = match (relation.kind, &config.both_kinds) {
        (RelationKind::Supplier, _) | (RelationKind::Both, BothKindsPolicy::SupplierOnly) => {
            vec![(Relatiesoort::Leverancier, 0)]
        }
        (
            RelationKind::Both,
            BothKindsPolicy::TwoRelations {
                supplier_relatiecode_offset,
            },
        ) => vec![
            (Relatiesoort::Klant, 0),
            (Relatiesoort::Leverancier, *supplier_relatiecode_offset),
        ],
        _ => vec![(Relatiesoort::Klant, 0)],
    };

    kinds
        .into_iter()
        .map(|(soort, offset)| {
            let is_klant = soort == Relatiesoort::Klant;
            let mut r = RelatieWrite::new(soort, naam.clone());
            r.relatiecode = match config.relatiecode {
                RelatiecodePolicy::FromCrmNumber { .. } => relation
                    .number
                    .as_deref()
                    .and_then(|n| relatiecode_from(n, offset)),
                _ => None,
            };
            r.vestigings_adres = vestigings_adres.clone();
            r.correspondentie_adres = correspondentie_adres.clone();
            r.telefoon = telefoon.clone();
            r.email = email.clone();
            r.btw_nummer = check.btw_nummer.clone();
            r.kvk_nummer = check.kvk_nummer.clone();
            r.iban = relation.iban.as_ref().map(ToString::to_string);
            r.bic = non_blank(relation.bic.as_deref()).map(str::to_uppercase);
            r.krediettermijn = relation
                .payment_term_days
                .or(config.fields.default_payment_term_days);
            r.nonactief = Some(!relation.active);
            r.website_url = website.clone();
            let mut notes = memo.clone();
            match relation.credit_limit {
                Some(limit) if is_klant => r.krediet_limiet = Some(limit.amount()),
                // SnelStart allows a credit limit only on customers (REL-0062); keep it visible.
                Some(limit) => notes.push(format!("Kredietlimiet (CRM): {limit}")),
                None => {}
            }
            notes.extend(contact_summary.clone());
            r.memo = Some(notes.join("\n")).filter(|m| !m.is_empty());
            r
        })
        .collect()
}

/// Converts a project into the kostenplaats to write.
///
/// `omschrijving` is the description, required (never replaced by the number) and at most 50
/// characters per [`LongNamePolicy`](crate::config::LongNamePolicy) (a cut gets a notice). An
/// inactive project gives `nonactief: true`; SnelStart refuses to *create* an inactive
/// kostenplaats (KPL-0009), so the engine creates it active and then sets `nonactief`.
///
/// # Errors
/// Every problem of the project, see [`preflight::project`].
pub fn project_to_kostenplaats(
    project: &Project,
    config: &MappingConfig,
) -> Result<Kostenplaats, Problems> {
    let check = preflight::check_project(project, config);
    Problems::check(check.collector.problems, || {
        let mut k = Kostenplaats::default();
        k.omschrijving = Some(check.omschrijving);
        // A number that does not fit is left out (pre-flight has reported it), never sent as 0.
        k.nummer = check.nummer.and_then(|n| i32::try_from(n).ok());
        k.nonactief = Some(!project.active);
        k
    })
}

fn midnight(date: NaiveDate) -> chrono::NaiveDateTime {
    date.and_time(chrono::NaiveTime::MIN)
}

fn btw_soort(kind: LineVatKind) -> BtwSoort {
    match kind {
        LineVatKind::Geen => BtwSoort::Geen,
        LineVatKind::Laag => BtwSoort::Laag,
        LineVatKind::Hoog => BtwSoort::Hoog,
        LineVatKind::Overig => BtwSoort::Overig,
    }
}

/// Ledger and cost-centre references of a planned line. Pre-flight with the chart has
/// checked both exist, so the fallbacks are unreachable.
fn line_refs(
    line: &PlannedLine,
    chart: &ChartOfAccounts,
) -> Option<(
    snelstart_client::GrootboekId,
    Option<snelstart_client::KostenplaatsId>,
)> {
    let ledger = chart.ledger(line.ledger)?.id;
    let cost_centre = match line.cost_centre {
        Some(n) => Some(chart.cost_centre(n)?.id),
        None => None,
    };
    Some((ledger, cost_centre))
}

/// Converts a sales invoice or credit note into the verkoopboeking to write, for customer
/// `klant`, with ledgers and cost centres resolved in `chart`.
///
/// # Errors
/// Every problem of the invoice (see [`crate::booking`]).
pub fn sales_invoice_to_verkoopboeking(
    invoice: &SalesInvoice,
    config: &MappingConfig,
    chart: &ChartOfAccounts,
    context: &BookingContext,
    klant: RelatieId,
) -> Result<Verkoopboeking, Problems> {
    let plan = plan_sales_invoice(invoice, config, Some(chart), context)?;
    Ok(verkoopboeking_from_plan(&plan, chart, klant))
}

/// Writes a (sales) plan in SnelStart's wire model.
pub fn verkoopboeking_from_plan(
    plan: &BookingPlan,
    chart: &ChartOfAccounts,
    klant: RelatieId,
) -> Verkoopboeking {
    let mut b = Verkoopboeking::new(plan.invoice_number.clone(), klant, midnight(plan.date));
    b.omschrijving = Some(plan.description.clone());
    b.betalingstermijn = plan.payment_term_days;
    let mut regels = Vec::with_capacity(plan.lines.len());
    for line in &plan.lines {
        if let Some((ledger, cost_centre)) = line_refs(line, chart) {
            let mut regel = VerkoopboekingRegel::new(
                line.description.clone(),
                ledger,
                line.amount.amount(),
                btw_soort(line.line_vat),
            );
            regel.omschrijving = Some(line.description.clone()).filter(|d| !d.is_empty());
            regel.kostenplaats = cost_centre.map(Reference::new);
            regels.push(regel);
        }
    }
    b.boekingsregels = Some(regels);
    let mut btw = Vec::with_capacity(plan.vat_lines.len());
    for vat in &plan.vat_lines {
        let soort = match vat.kind {
            VatLineKind::Hoog => VerkoopBtwSoort::VerkopenHoog,
            VatLineKind::Laag => VerkoopBtwSoort::VerkopenLaag,
            VatLineKind::Overig => VerkoopBtwSoort::VerkopenOverig,
            VatLineKind::Verlegd => VerkoopBtwSoort::VerkopenVerlegd,
            _ => continue,
        };
        btw.push(VerkoopboekingBtwRegel::new(soort, vat.amount.amount()));
    }
    // Bookings without VAT (export, exempt) leave the list out rather than send `[]`.
    b.btw = (!btw.is_empty()).then_some(btw);
    b.factuurbedrag = Some(plan.total.amount());
    b
}

/// Converts a purchase invoice into the inkoopboeking to write, for supplier `leverancier`.
///
/// # Errors
/// Every problem of the invoice (see [`crate::booking`]).
pub fn purchase_invoice_to_inkoopboeking(
    invoice: &PurchaseInvoice,
    config: &MappingConfig,
    chart: &ChartOfAccounts,
    context: &BookingContext,
    leverancier: RelatieId,
) -> Result<Inkoopboeking, Problems> {
    let plan = plan_purchase_invoice(invoice, config, Some(chart), context)?;
    Ok(inkoopboeking_from_plan(&plan, chart, leverancier))
}

/// Writes a (purchase) plan in SnelStart's wire model.
pub fn inkoopboeking_from_plan(
    plan: &BookingPlan,
    chart: &ChartOfAccounts,
    leverancier: RelatieId,
) -> Inkoopboeking {
    let mut b = Inkoopboeking::new(
        plan.invoice_number.clone(),
        leverancier,
        midnight(plan.date),
    );
    b.omschrijving = Some(plan.description.clone());
    let mut regels = Vec::with_capacity(plan.lines.len());
    for line in &plan.lines {
        if let Some((ledger, cost_centre)) = line_refs(line, chart) {
            let mut regel = InkoopboekingRegel::new(
                line.description.clone(),
                ledger,
                line.amount.amount(),
                btw_soort(line.line_vat),
            );
            regel.omschrijving = Some(line.description.clone()).filter(|d| !d.is_empty());
            regel.kostenplaats = cost_centre.map(Reference::new);
            regels.push(regel);
        }
    }
    b.boekingsregels = Some(regels);
    let mut btw = Vec::with_capacity(plan.vat_lines.len());
    for vat in &plan.vat_lines {
        let soort = match vat.kind {
            VatLineKind::Hoog => InkoopBtwSoort::InkopenHoog,
            VatLineKind::Laag => InkoopBtwSoort::InkopenLaag,
            VatLineKind::Overig => InkoopBtwSoort::InkopenOverig,
            VatLineKind::Verlegd => InkoopBtwSoort::InkopenVerlegd,
            _ => continue,
        };
        btw.push(InkoopboekingBtwRegel::new(soort, vat.amount.amount()));
    }
    // Bookings without VAT (export, exempt) leave the list out rather than send `[]`.
    b.btw = (!btw.is_empty()).then_some(btw);
    b.factuurbedrag = Some(plan.total.amount());
    b
}

impl ChartOfAccounts {
    /// Builds the chart from SnelStart's ledgers (`GET /grootboeken`) and cost centres
    /// (`GET /kostenplaatsen`). Entries without an id or with a number below 1 are skipped
    /// (they cannot be referenced).
    pub fn from_snelstart(ledgers: &[Grootboek], cost_centres: &[Kostenplaats]) -> Self {
        let ledgers = ledgers.iter().filter_map(|g| {
            let mut info = LedgerInfo::new(g.id?, u32::try_from(g.nummer?).ok()?, &[]);
            info.omschrijving = g.omschrijving.clone().unwrap_or_default();
            info.active = !g.is_inactive();
            info.cost_centre_required = g.requires_kostenplaats();
            // SnelStart's empty list means "not reported": do not check then.
            info.allowed_vat = (!g.btw_soort.is_empty()).then(|| {
                g.btw_soort
                    .iter()
                    .filter_map(|s| match s {
                        BtwSoort::Geen => Some(LineVatKind::Geen),
                        BtwSoort::Laag => Some(LineVatKind::Laag),
                        BtwSoort::Hoog => Some(LineVatKind::Hoog),
                        BtwSoort::Overig => Some(LineVatKind::Overig),
                        _ => None,
                    })
                    .collect()
            });
            Some(info)
        });
        let cost_centres = cost_centres.iter().filter_map(|k| {
            let mut info = CostCentreInfo::new(k.id?, u32::try_from(k.nummer?).ok()?);
            info.active = !k.is_inactive();
            Some(info)
        });
        Self::new(ledgers, cost_centres)
    }
}
