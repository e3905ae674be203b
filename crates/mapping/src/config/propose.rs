//! A first ledger mapping, proposed from an administration's own chart of accounts and VAT
//! kinds, for `snelsync init` with credentials.
//!
//! SnelStart's standard chart differs per administration (numbers, extra ledgers, ledgers
//! switched off), so a template with fixed numbers rarely fits. The proposal picks, per VAT
//! category, the active profit-and-loss ledger whose function (`grootboekfunctie`) books that
//! kind of revenue or purchase and that allows the line's VAT kind, and says why for each: the
//! number, the name, the rubriek and the function. What it cannot find it names, so a person
//! adds it. The debiteuren and crediteuren collective accounts are reported too (SnelStart books
//! receivables and payables on them itself; the mapping has no key for them).
//!
//! ```
//! use chrono::NaiveDate;
//! use mapping::config::propose::propose_mapping;
//! use snelstart_client::models::{Grootboek, Grootboekfunctie, RekeningCode};
//!
//! let mut omzet = Grootboek::new(8000, "Omzet hoog", RekeningCode::WinstEnVerlies,
//!     Grootboekfunctie::VerkopenOmzetHoog);
//! omzet.grootboek_rubriek = Some("Netto-omzet".into());
//! omzet.id = Some(snelstart_client::GrootboekId::new_random()); // as SnelStart sends it
//! let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
//! let proposal = propose_mapping(&[omzet], &[], today);
//! assert_eq!(proposal.revenue[0].rule.ledger, 8000);
//! assert!(proposal.revenue[0].why.contains("VerkopenOmzetHoog"));
//! // Laag and the zero-rated categories have no ledger in this chart: named, not guessed.
//! assert!(!proposal.missing.is_empty());
//! assert!(proposal.to_toml()?.contains("ledger = 8000"));
//! # Ok::<(), mapping::config::ConfigError>(())
//! ```

use std::collections::BTreeSet;

use chrono::NaiveDate;
use crm_model::VatCategory;
use snelstart_client::models::{BtwSoort, BtwTarief, Grootboek, Grootboekfunctie, RekeningCode};

use super::{ConfigError, LedgerRule, LineVatKind, MappingConfig, VatRule};

/// One proposed ledger rule and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProposedRule {
    /// The rule as it goes into the configuration.
    pub rule: LedgerRule,
    /// Why this ledger: "8000 Omzet hoog (rubriek Netto-omzet, function VerkopenOmzetHoog,
    /// allows btw Hoog)".
    pub why: String,
}

/// A ledger the proposal reports without a configuration key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamedLedger {
    /// The ledger number.
    pub nummer: u32,
    /// Why it is this one.
    pub why: String,
}

/// The proposal: a configuration and the reasons behind its ledger rules.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MappingProposal {
    /// The proposed configuration: the defaults with the ledger rules below.
    pub config: MappingConfig,
    /// Revenue rules (category `omzet`), in [`VatCategory::ALL`] order.
    pub revenue: Vec<ProposedRule>,
    /// Purchase rules (category `inkoop`): one catch-all rule when one ledger takes every VAT
    /// category, else one per category.
    pub cost: Vec<ProposedRule>,
    /// The debiteuren collective account, when the chart has one.
    pub debtors: Option<NamedLedger>,
    /// The crediteuren collective account, when the chart has one.
    pub creditors: Option<NamedLedger>,
    /// Other active revenue ledgers a CRM revenue category could be mapped to.
    pub other_revenue_ledgers: Vec<NamedLedger>,
    /// Other active cost ledgers a CRM cost category could be mapped to.
    pub other_cost_ledgers: Vec<NamedLedger>,
    /// What the proposal could not find, one sentence each.
    pub missing: Vec<String>,
    /// The VAT rates in force on the day of the proposal, e.g. "hoog 21 % since 2012-10-01".
    pub rates: Vec<String>,
}

/// The revenue functions that book a VAT category, best first.
fn revenue_functions(vat: VatCategory) -> &'static [Grootboekfunctie] {
    use Grootboekfunctie as F;
    match vat {
        VatCategory::Hoog => &[F::VerkopenOmzetHoog],
        VatCategory::Laag => &[F::VerkopenOmzetLaag],
        VatCategory::Verlegd => &[F::VerkopenOmzetOnbelastVerlegd],
        VatCategory::IntraEu => &[F::VerkopenExportBinnenEU, F::DienstverleningBinnenEU],
        VatCategory::Export => &[F::VerkopenExportBuitenEU],
        // Nul, Vrijgesteld (and any later zero-rated category).
        _ => &[F::VerkopenBtwVrij],
    }
}

/// The purchase functions that book a VAT category, best first: one ledger for every rate
/// keeps the purchase side simple, a rate's own ledger comes next.
fn cost_functions(vat: VatCategory) -> &'static [Grootboekfunctie] {
    use Grootboekfunctie as F;
    match vat {
        VatCategory::Hoog => &[F::InkopenKostenAlleBtwTarieven, F::InkopenKostenHoog],
        VatCategory::Laag => &[F::InkopenKostenAlleBtwTarieven, F::InkopenKostenLaag],
        _ => &[F::InkopenKostenAlleBtwTarieven],
    }
}

fn line_kind(kind: LineVatKind) -> BtwSoort {
    match kind {
        LineVatKind::Hoog => BtwSoort::Hoog,
        LineVatKind::Laag => BtwSoort::Laag,
        LineVatKind::Overig => BtwSoort::Overig,
        LineVatKind::Geen => BtwSoort::Geen,
    }
}

/// An active profit-and-loss ledger with an id and a number (the only ones a booking line
/// may use).
fn usable(g: &Grootboek) -> Option<u32> {
    g.id?;
    let nummer = u32::try_from(g.nummer?).ok().filter(|n| *n > 0)?;
    let pnl = g.rekening_code != Some(RekeningCode::Balans);
    (pnl && !g.is_inactive()).then_some(nummer)
}

fn describe(g: &Grootboek, nummer: u32) -> String {
    let mut parts = Vec::new();
    if let Some(rubriek) = g.grootboek_rubriek.as_deref().filter(|r| !r.is_empty()) {
        parts.push(format!("rubriek {rubriek}"));
    }
    if let Some(functie) = &g.grootboekfunctie {
        parts.push(format!("function {functie}"));
    }
    if !g.btw_soort.is_empty() {
        let kinds: Vec<String> = g.btw_soort.iter().map(ToString::to_string).collect();
        parts.push(format!("allows btw {}", kinds.join("/")));
    }
    if g.requires_kostenplaats() {
        parts.push("needs a kostenplaats on every line".to_owned());
    }
    let name = g.omschrijving.as_deref().unwrap_or("(no name)");
    if parts.is_empty() {
        format!("{nummer} {name}")
    } else {
        format!("{nummer} {name} ({})", parts.join(", "))
    }
}

fn mentions(g: &Grootboek, words: &[&str]) -> bool {
    let text = format!(
        "{} {}",
        g.omschrijving.as_deref().unwrap_or(""),
        g.grootboek_rubriek.as_deref().unwrap_or("")
    )
    .to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// The best ledger among `ledgers` with one of `functions` (earlier functions first) that
/// allows every kind in `kinds`. Ledgers that need a kostenplaats come last (every line booked
/// there would need a project), then those whose name or rubriek does not mention `words`,
/// then higher numbers.
fn pick<'a>(
    ledgers: &'a [Grootboek],
    functions: &[Grootboekfunctie],
    kinds: &[BtwSoort],
    words: &[&str],
) -> Option<(&'a Grootboek, u32)> {
    ledgers
        .iter()
        .filter_map(|g| {
            let nummer = usable(g)?;
            let rank = functions
                .iter()
                .position(|f| g.grootboekfunctie.as_ref() == Some(f))?;
            kinds
                .iter()
                .all(|k| g.allows_btw_soort(k))
                .then_some((g, nummer, rank))
        })
        .min_by_key(|(g, nummer, rank)| {
            (
                *rank,
                g.requires_kostenplaats(),
                !mentions(g, words),
                *nummer,
            )
        })
        .map(|(g, nummer, _)| (g, nummer))
}

fn collective(
    ledgers: &[Grootboek],
    function: Grootboekfunctie,
    word: &str,
) -> Option<NamedLedger> {
    // SnelStart's debiteuren/crediteuren accounts are balance ledgers; the journal function
    // alone also fits the journal's own ledger in some charts, so the name decides first.
    ledgers
        .iter()
        .filter(|g| !g.is_inactive() && g.rekening_code != Some(RekeningCode::WinstEnVerlies))
        .filter_map(|g| Some((g, u32::try_from(g.nummer?).ok()?)))
        .filter(|(g, _)| mentions(g, &[word]) || g.grootboekfunctie.as_ref() == Some(&function))
        .min_by_key(|(g, nummer)| (!mentions(g, &[word]), *nummer))
        .map(|(g, nummer)| NamedLedger {
            nummer,
            why: describe(g, nummer),
        })
}

fn rates(tarieven: &[BtwTarief], today: NaiveDate) -> Vec<String> {
    let mut out: Vec<(String, String)> = tarieven
        .iter()
        .filter(|t| {
            t.datum_vanaf.date() <= today
                && t.datum_tot_en_met.is_none_or(|end| today <= end.date())
        })
        .filter(|t| t.btw_soort != BtwSoort::Geen)
        .map(|t| {
            (
                t.btw_soort.to_string(),
                format!(
                    "{} {} % since {}",
                    t.btw_soort.to_string().to_lowercase(),
                    t.btw_percentage.normalize(),
                    t.datum_vanaf.date()
                ),
            )
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out.into_iter().map(|(_, text)| text).collect()
}

/// Proposes the ledger mapping for an administration from its chart of accounts
/// (`GET /grootboeken`) and VAT rates (`GET /btwtarieven`); `today` picks the rates in force.
/// Every proposed rule passes [`MappingConfig::validate_against`] for that chart.
pub fn propose_mapping(
    grootboeken: &[Grootboek],
    tarieven: &[BtwTarief],
    today: NaiveDate,
) -> MappingProposal {
    let mut config = MappingConfig::default();
    let revenue_category = config.ledgers.default_revenue_category.clone();
    let cost_category = config.ledgers.default_cost_category.clone();
    let mut missing = Vec::new();

    let mut revenue = Vec::new();
    for vat in VatCategory::ALL {
        let kind = line_kind(VatRule::default_for(vat).line);
        let functions = revenue_functions(vat);
        match pick(grootboeken, functions, std::slice::from_ref(&kind), &["omzet"]) {
            Some((g, nummer)) => revenue.push(ProposedRule {
                rule: LedgerRule::new(&revenue_category, Some(vat), nummer),
                why: describe(g, nummer),
            }),
            None => missing.push(format!(
                "no active ledger with function {} that allows btw {kind}: sales lines with VAT {vat} are refused until a rule names one",
                names(functions)
            )),
        }
    }

    // Purchases: one ledger for every VAT category when the chart has one.
    let all_kinds: BTreeSet<String> = VatCategory::ALL
        .iter()
        .map(|v| line_kind(VatRule::default_for(*v).line).to_string())
        .collect();
    let all_kinds: Vec<BtwSoort> = [BtwSoort::Geen, BtwSoort::Laag, BtwSoort::Hoog]
        .into_iter()
        .filter(|k| all_kinds.contains(&k.to_string()))
        .collect();
    let cost_words = ["inkoop", "kostprijs"];
    let mut cost = Vec::new();
    match pick(
        grootboeken,
        &[Grootboekfunctie::InkopenKostenAlleBtwTarieven],
        &all_kinds,
        &cost_words,
    ) {
        Some((g, nummer)) => cost.push(ProposedRule {
            rule: LedgerRule::new(&cost_category, None, nummer),
            why: describe(g, nummer),
        }),
        None => {
            for vat in VatCategory::ALL {
                let kind = line_kind(VatRule::default_for(vat).line);
                let functions = cost_functions(vat);
                match pick(grootboeken, functions, std::slice::from_ref(&kind), &cost_words) {
                    Some((g, nummer)) => cost.push(ProposedRule {
                        rule: LedgerRule::new(&cost_category, Some(vat), nummer),
                        why: describe(g, nummer),
                    }),
                    None => missing.push(format!(
                        "no active ledger with function {} that allows btw {kind}: purchase lines with VAT {vat} are refused until a rule names one",
                        names(functions)
                    )),
                }
            }
        }
    }
    let revenue_functions: Vec<Grootboekfunctie> = VatCategory::ALL
        .iter()
        .flat_map(|v| revenue_functions(*v).iter().cloned())
        .chain([Grootboekfunctie::VerkopenOmzetOverig])
        .collect();
    let other_revenue_ledgers = others(grootboeken, &revenue_functions, &revenue);
    let other_cost_ledgers = others(
        grootboeken,
        &[
            Grootboekfunctie::InkopenKostenAlleBtwTarieven,
            Grootboekfunctie::InkopenKostenHoog,
            Grootboekfunctie::InkopenKostenLaag,
            Grootboekfunctie::InkopenKostenOverig,
        ],
        &cost,
    );

    let debtors = collective(grootboeken, Grootboekfunctie::DagboekVerkoop, "debiteur");
    let creditors = collective(grootboeken, Grootboekfunctie::DagboekInkoop, "crediteur");
    if debtors.is_none() {
        missing.push("no debiteuren ledger: SnelStart cannot book sales invoices".to_owned());
    }
    if creditors.is_none() {
        missing.push("no crediteuren ledger: SnelStart cannot book purchase invoices".to_owned());
    }

    config.ledgers.revenue = revenue.iter().map(|r| r.rule.clone()).collect();
    config.ledgers.cost = cost.iter().map(|r| r.rule.clone()).collect();
    MappingProposal {
        config,
        revenue,
        cost,
        debtors,
        creditors,
        other_revenue_ledgers,
        other_cost_ledgers,
        missing,
        rates: rates(tarieven, today),
    }
}

/// The usable ledgers with one of `functions` that no proposed rule names.
fn others(
    ledgers: &[Grootboek],
    functions: &[Grootboekfunctie],
    proposed: &[ProposedRule],
) -> Vec<NamedLedger> {
    let used: BTreeSet<u32> = proposed.iter().map(|r| r.rule.ledger).collect();
    ledgers
        .iter()
        .filter(|g| {
            g.grootboekfunctie
                .as_ref()
                .is_some_and(|f| functions.contains(f))
        })
        .filter_map(|g| Some((g, usable(g)?)))
        .filter(|(_, nummer)| !used.contains(nummer))
        .map(|(g, nummer)| NamedLedger {
            nummer,
            why: describe(g, nummer),
        })
        .collect()
}

fn names(functions: &[Grootboekfunctie]) -> String {
    functions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

impl MappingProposal {
    /// The proposal as a mapping document: every section of the configuration, and a
    /// `[ledgers]` section in which each rule is preceded by a comment saying why, followed by
    /// what could not be found. It reads back (with
    /// [`MappingConfig::from_toml_str`]) as [`config`](Self::config).
    ///
    /// # Errors
    /// [`ConfigError::TomlWrite`] if TOML cannot represent a value (not expected).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        // Everything but the ledgers as the configuration writes it, then the ledgers by hand
        // (a table at the end of a document is valid wherever its keys were before).
        let mut table = toml::Table::try_from(&self.config)?;
        table.remove("ledgers");
        let mut out = toml::to_string_pretty(&table)?;
        out.push_str("\n# The ledgers, proposed from this administration's chart of accounts.\n");
        if !self.rates.is_empty() {
            out.push_str(&format!(
                "# VAT rates in force: {}.\n",
                self.rates.join(", ")
            ));
        }
        for (label, ledger) in [
            (
                "Debiteuren (SnelStart books each sales invoice's receivable here itself)",
                &self.debtors,
            ),
            (
                "Crediteuren (SnelStart books each purchase invoice's payable here itself)",
                &self.creditors,
            ),
        ] {
            if let Some(l) = ledger {
                out.push_str(&format!("# {label}: {}\n", l.why));
            }
        }
        for text in &self.missing {
            out.push_str(&format!("# NOT FOUND: {text}\n"));
        }
        out.push_str("[ledgers]\n");
        let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
        out.push_str(&format!(
            "default_revenue_category = {}\ndefault_cost_category = {}\n",
            quoted(&self.config.ledgers.default_revenue_category),
            quoted(&self.config.ledgers.default_cost_category)
        ));
        for (side, rules) in [("revenue", &self.revenue), ("cost", &self.cost)] {
            for r in rules {
                let what = match r.rule.vat {
                    Some(vat) => format!("{} with VAT {vat}", r.rule.category),
                    None => format!("{} with any VAT", r.rule.category),
                };
                out.push_str(&format!(
                    "\n# {what} → {}\n[[ledgers.{side}]]\n{}",
                    r.why,
                    toml::to_string(&r.rule)?
                ));
            }
        }
        for (side, example, ledgers) in [
            ("revenue", "projecten", &self.other_revenue_ledgers),
            ("cost", "kantoor", &self.other_cost_ledgers),
        ] {
            if ledgers.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "\n# Other {side} ledgers a CRM category can be mapped to with a rule like the ones\n# above ([[ledgers.{side}]] category = \"{example}\", ledger = N):\n"
            ));
            for l in ledgers {
                out.push_str(&format!("#   {}\n", l.why));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use snelstart_client::models::{BtwSoort, Grootboek, Grootboekfunctie as F, RekeningCode};
    use snelstart_client::wire::WireList;

    use super::propose_mapping;
    use crate::config::{ChartOfAccounts, MappingConfig};
    use crm_model::VatCategory;

    fn ledger(nummer: i32, name: &str, functie: F, btw: &[BtwSoort]) -> Grootboek {
        let mut g = Grootboek::new(nummer, name, RekeningCode::WinstEnVerlies, functie);
        g.btw_soort = WireList::from(btw.to_vec());
        g.id = Some(snelstart_client::GrootboekId::new_random());
        g
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default()
    }

    #[test]
    fn inactive_and_cost_centre_ledgers_are_passed_over_and_gaps_named() {
        let mut needs_project = ledger(
            7990,
            "Omzet projecten",
            F::VerkopenOmzetHoog,
            &[BtwSoort::Hoog],
        );
        needs_project.kostenplaats_verplicht = Some(true);
        let mut inactive = ledger(
            8010,
            "Omzet laag (oud)",
            F::VerkopenOmzetLaag,
            &[BtwSoort::Laag],
        );
        inactive.nonactief = Some(true);
        // Allows only Hoog: not a ledger for the zero-rated lines of the purchase side.
        let hoog_only = ledger(4100, "Huisvesting", F::InkopenKostenHoog, &[BtwSoort::Hoog]);
        let chart = [
            needs_project,
            ledger(8000, "Omzet hoog", F::VerkopenOmzetHoog, &[BtwSoort::Hoog]),
            inactive,
            hoog_only,
            ledger(
                4500,
                "Representatie",
                F::InkopenKostenLaag,
                &[BtwSoort::Laag],
            ),
        ];
        let p = propose_mapping(&chart, &[], day());
        assert_eq!(p.config.revenue_ledger(None, VatCategory::Hoog), Some(8000));
        assert_eq!(p.config.revenue_ledger(None, VatCategory::Laag), None);
        assert!(
            p.missing.iter().any(|m| m.contains("VerkopenOmzetLaag")),
            "{:?}",
            p.missing
        );
        // No ledger for every rate: one rule per rate that has one.
        assert_eq!(p.config.cost_ledger(None, VatCategory::Hoog), Some(4100));
        assert_eq!(p.config.cost_ledger(None, VatCategory::Laag), Some(4500));
        assert_eq!(p.config.cost_ledger(None, VatCategory::Nul), None);
        assert!(p.missing.iter().any(|m| m.contains("debiteuren")));
        // What is proposed fits the chart, and the document reads back as the proposal.
        let known = ChartOfAccounts::from_snelstart(&chart, &[]);
        let problems = p.config.validate_against(&known).problems;
        assert!(problems.is_empty(), "{problems:?}");
        let text = p.to_toml().unwrap_or_default();
        assert_eq!(
            MappingConfig::from_toml_str(&text).ok(),
            Some(p.config.clone())
        );
        assert!(text.contains("# NOT FOUND: no active ledger with function VerkopenOmzetLaag"));
    }
}
