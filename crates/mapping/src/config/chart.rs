//! An administration's chart of accounts as the mapping needs it, and the check of a
//! configuration against it.

use std::collections::{BTreeMap, BTreeSet};

use crm_model::VatCategory;
use snelstart_client::{GrootboekId, KostenplaatsId};

use super::validate::{ConfigProblem, ConfigProblemKind};
use super::{LedgerRule, LineVatKind, MappingConfig};

/// One grootboek (ledger account) as far as the mapping cares.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerInfo {
    /// SnelStart's id (used in booking references).
    pub id: GrootboekId,
    /// The ledger number (`8000`).
    pub nummer: u32,
    /// Description.
    pub omschrijving: String,
    /// False when SnelStart marks it `nonactief` (booking on it gives BOE-0008).
    pub active: bool,
    /// The VAT kinds allowed on lines booked here (SnelStart's read-only `btwSoort` list);
    /// `None` when SnelStart did not report the list (then it is not checked).
    pub allowed_vat: Option<BTreeSet<LineVatKind>>,
    /// `kostenplaatsVerplicht`: lines here need a kostenplaats (BOE-0022).
    pub cost_centre_required: bool,
}

impl LedgerInfo {
    /// An active ledger without cost-centre requirement.
    pub fn new(id: GrootboekId, nummer: u32, allowed_vat: &[LineVatKind]) -> Self {
        Self {
            id,
            nummer,
            omschrijving: String::new(),
            active: true,
            allowed_vat: Some(allowed_vat.iter().copied().collect()),
            cost_centre_required: false,
        }
    }

    /// True when a line with `kind` may be booked here.
    pub fn allows(&self, kind: LineVatKind) -> bool {
        self.allowed_vat
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&kind))
    }
}

/// One kostenplaats (cost centre).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CostCentreInfo {
    /// SnelStart's id.
    pub id: KostenplaatsId,
    /// The number.
    pub nummer: u32,
    /// False when `nonactief` (booking on it gives BOE-0026).
    pub active: bool,
}

impl CostCentreInfo {
    /// An active cost centre.
    pub fn new(id: KostenplaatsId, nummer: u32) -> Self {
        Self {
            id,
            nummer,
            active: true,
        }
    }
}

/// The ledgers and cost centres of one administration, indexed by number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartOfAccounts {
    ledgers: BTreeMap<u32, LedgerInfo>,
    cost_centres: BTreeMap<u32, CostCentreInfo>,
}

impl ChartOfAccounts {
    /// Builds the index; a later entry with the same number replaces an earlier one.
    pub fn new(
        ledgers: impl IntoIterator<Item = LedgerInfo>,
        cost_centres: impl IntoIterator<Item = CostCentreInfo>,
    ) -> Self {
        Self {
            ledgers: ledgers.into_iter().map(|l| (l.nummer, l)).collect(),
            cost_centres: cost_centres.into_iter().map(|c| (c.nummer, c)).collect(),
        }
    }

    /// The ledger with this number.
    pub fn ledger(&self, nummer: u32) -> Option<&LedgerInfo> {
        self.ledgers.get(&nummer)
    }

    /// The cost centre with this number.
    pub fn cost_centre(&self, nummer: u32) -> Option<&CostCentreInfo> {
        self.cost_centres.get(&nummer)
    }

    /// Adds or replaces a cost centre (after the sync engine created one).
    pub fn insert_cost_centre(&mut self, cost_centre: CostCentreInfo) {
        self.cost_centres.insert(cost_centre.nummer, cost_centre);
    }
}

/// The outcome of [`MappingConfig::validate_against`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChartReport {
    /// Everything that would make SnelStart refuse bookings.
    pub problems: Vec<ConfigProblem>,
    /// Ledgers in the configuration that need a kostenplaats on every line (so every line
    /// booked there needs a project): `(path, ledger nummer)`.
    pub cost_centre_required: Vec<(String, u32)>,
}

impl ChartReport {
    /// True when there are no problems.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl MappingConfig {
    /// Checks every ledger rule against an administration's chart of accounts: the ledger
    /// exists and is active, and each VAT category it books has a line VAT kind the ledger
    /// allows. Also lists the ledgers that require a cost centre.
    pub fn validate_against(&self, chart: &ChartOfAccounts) -> ChartReport {
        let mut report = ChartReport::default();
        for (side, rules) in [
            ("revenue", &self.ledgers.revenue),
            ("cost", &self.ledgers.cost),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                let path = format!("ledgers.{side}[{i}]");
                self.check_rule(&path, rule, rules, chart, &mut report);
            }
        }
        report
    }

    fn check_rule(
        &self,
        path: &str,
        rule: &LedgerRule,
        rules: &[LedgerRule],
        chart: &ChartOfAccounts,
        report: &mut ChartReport,
    ) {
        let problem = |kind| ConfigProblem {
            path: format!("{path}.ledger"),
            kind,
        };
        let Some(ledger) = chart.ledger(rule.ledger) else {
            report
                .problems
                .push(problem(ConfigProblemKind::LedgerNotFound(rule.ledger)));
            return;
        };
        if !ledger.active {
            report
                .problems
                .push(problem(ConfigProblemKind::LedgerInactive(rule.ledger)));
        }
        if ledger.cost_centre_required {
            report
                .cost_centre_required
                .push((format!("{path}.ledger"), rule.ledger));
        }
        // A catch-all rule books every VAT category that has no specific rule of its own.
        let booked: Vec<VatCategory> = match rule.vat {
            Some(v) => vec![v],
            None => VatCategory::ALL
                .into_iter()
                .filter(|v| {
                    !rules.iter().any(|r| {
                        r.category.eq_ignore_ascii_case(&rule.category) && r.vat == Some(*v)
                    })
                })
                .collect(),
        };
        for vat in booked {
            let line = self.vat_rule(vat).line;
            if !ledger.allows(line) {
                report
                    .problems
                    .push(problem(ConfigProblemKind::VatKindNotAllowed {
                        ledger: rule.ledger,
                        vat,
                        line,
                    }));
            }
        }
    }
}
