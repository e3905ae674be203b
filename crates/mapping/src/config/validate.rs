//! Structural validation of a [`MappingConfig`]: everything that can be checked without an
//! administration.

use std::collections::BTreeSet;
use std::fmt;

use crm_model::VatCategory;

use super::{BothKindsPolicy, LineVatKind, MappingConfig, ProjectRule, VatLineKind};

/// The highest kostenplaats nummer SnelStart accepts (KPL-0007).
pub(crate) const MAX_KOSTENPLAATS_NUMMER: u64 = 999_999_999;

/// One problem in a configuration, with the path of the offending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// Path in the document, e.g. `ledgers.revenue[2].ledger`.
    pub path: String,
    /// What is wrong.
    pub kind: ConfigProblemKind,
}

/// What is wrong with a configuration entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblemKind {
    /// Ledger number 0 (SnelStart numbers start at 1).
    LedgerNumberZero,
    /// Two rules for the same (category, VAT) pair; which one applies would be arbitrary.
    DuplicateLedgerRule {
        /// The category.
        category: String,
        /// The VAT category (`None`: the catch-all rule).
        vat: Option<VatCategory>,
    },
    /// The default category cannot book this VAT category: lines without a category would be
    /// refused.
    DefaultCategoryUncovered {
        /// The default category.
        category: String,
        /// The VAT category without a ledger.
        vat: VatCategory,
    },
    /// Two VAT rules for one category.
    DuplicateVatRule(VatCategory),
    /// A VAT line of kind verlegd for a category that is not verlegd, or the reverse; that would
    /// mix reverse charge with other kinds (BOE-0062) or hide VAT.
    VerlegdMismatch(VatCategory),
    /// A kostenplaats nummer outside 1..=999 999 999 (KPL-0007).
    KostenplaatsOutOfRange(u64),
    /// A relatiecode offset beyond SnelStart's int32 relatiecode.
    RelatiecodeOffsetOutOfRange(u32),
    /// A matching threshold out of order (review must not exceed match; margin not negative).
    MatchingThresholds,
    /// An empty category or role name.
    EmptyName,
    /// The ledger does not exist in the administration (BOE-0037).
    LedgerNotFound(u32),
    /// The ledger is inactive (BOE-0008).
    LedgerInactive(u32),
    /// The line VAT kind this VAT category uses is not allowed on the ledger (BOE-0082).
    VatKindNotAllowed {
        /// The ledger.
        ledger: u32,
        /// The VAT category booked there.
        vat: VatCategory,
        /// Its line VAT kind.
        line: LineVatKind,
    },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path)?;
        match &self.kind {
            ConfigProblemKind::LedgerNumberZero => f.write_str("ledger number must be at least 1"),
            ConfigProblemKind::DuplicateLedgerRule { category, vat } => match vat {
                Some(v) => write!(f, "second rule for category {category:?} with VAT {v}"),
                None => write!(f, "second catch-all rule for category {category:?}"),
            },
            ConfigProblemKind::DefaultCategoryUncovered { category, vat } => {
                write!(
                    f,
                    "default category {category:?} has no ledger for VAT {vat}"
                )
            }
            ConfigProblemKind::DuplicateVatRule(v) => write!(f, "second VAT rule for {v}"),
            ConfigProblemKind::VerlegdMismatch(v) => {
                write!(
                    f,
                    "only VAT category verlegd may (and must) use the verlegd VAT line, not {v}"
                )
            }
            ConfigProblemKind::KostenplaatsOutOfRange(n) => {
                write!(f, "kostenplaats nummer {n} is outside 1..=999999999")
            }
            ConfigProblemKind::RelatiecodeOffsetOutOfRange(n) => {
                write!(
                    f,
                    "relatiecode offset {n} does not fit SnelStart's 32-bit relatiecode"
                )
            }
            ConfigProblemKind::MatchingThresholds => f.write_str(
                "need 0 <= review_threshold <= match_threshold and ambiguity_margin >= 0",
            ),
            ConfigProblemKind::EmptyName => f.write_str("must not be empty"),
            ConfigProblemKind::LedgerNotFound(n) => write!(f, "ledger {n} does not exist"),
            ConfigProblemKind::LedgerInactive(n) => write!(f, "ledger {n} is inactive"),
            ConfigProblemKind::VatKindNotAllowed { ledger, vat, line } => write!(
                f,
                "ledger {ledger} does not allow btwSoort {line:?}, which VAT category {vat} uses"
            ),
        }
    }
}

impl MappingConfig {
    /// Advisory: the VAT categories the default revenue and cost categories cannot book
    /// (kind [`ConfigProblemKind::DefaultCategoryUncovered`]). Lines without a category and
    /// with such a VAT category would be refused in pre-flight. Not part of
    /// [`validate`](Self::validate), because an administration that never invoices, say,
    /// export has no ledger to name for it. A side without any rules is not reported (it is
    /// simply not booked).
    pub fn coverage_gaps(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        for (side, rules, default) in [
            (
                "revenue",
                &self.ledgers.revenue,
                &self.ledgers.default_revenue_category,
            ),
            (
                "cost",
                &self.ledgers.cost,
                &self.ledgers.default_cost_category,
            ),
        ] {
            if rules.is_empty() {
                continue;
            }
            for vat in VatCategory::ALL {
                let covered = rules.iter().any(|r| {
                    r.category.eq_ignore_ascii_case(default) && r.vat.is_none_or(|v| v == vat)
                });
                if !covered {
                    out.push(ConfigProblem {
                        path: format!("ledgers.default_{side}_category"),
                        kind: ConfigProblemKind::DefaultCategoryUncovered {
                            category: default.clone(),
                            vat,
                        },
                    });
                }
            }
        }
        out
    }
}

pub(crate) fn summary(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl MappingConfig {
    /// Checks the structure and returns **every** problem (empty when valid).
    ///
    /// Checked: ledger numbers, duplicate rules, one VAT rule per category with verlegd used
    /// only for verlegd, kostenplaats numbers in SnelStart's range, matching thresholds in
    /// order. See also [`coverage_gaps`](Self::coverage_gaps).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let mut push = |path: String, kind| out.push(ConfigProblem { path, kind });

        for (side, rules) in [
            ("revenue", &self.ledgers.revenue),
            ("cost", &self.ledgers.cost),
        ] {
            let mut seen = BTreeSet::new();
            for (i, rule) in rules.iter().enumerate() {
                if rule.category.trim().is_empty() {
                    push(
                        format!("ledgers.{side}[{i}].category"),
                        ConfigProblemKind::EmptyName,
                    );
                }
                if rule.ledger == 0 {
                    push(
                        format!("ledgers.{side}[{i}].ledger"),
                        ConfigProblemKind::LedgerNumberZero,
                    );
                }
                if !seen.insert((rule.category.to_lowercase(), rule.vat)) {
                    push(
                        format!("ledgers.{side}[{i}]"),
                        ConfigProblemKind::DuplicateLedgerRule {
                            category: rule.category.clone(),
                            vat: rule.vat,
                        },
                    );
                }
            }
        }

        let mut seen_vat = BTreeSet::new();
        for (i, rule) in self.vat.rules.iter().enumerate() {
            if !seen_vat.insert(rule.category) {
                push(
                    format!("vat.rules[{i}]"),
                    ConfigProblemKind::DuplicateVatRule(rule.category),
                );
            }
            let is_verlegd = rule.category == VatCategory::Verlegd;
            if is_verlegd != (rule.vat_line == VatLineKind::Verlegd) {
                push(
                    format!("vat.rules[{i}].vat_line"),
                    ConfigProblemKind::VerlegdMismatch(rule.category),
                );
            }
        }

        match &self.projects {
            ProjectRule::Digits { offset } => {
                if u64::from(*offset) > MAX_KOSTENPLAATS_NUMMER {
                    push(
                        "projects.offset".to_owned(),
                        ConfigProblemKind::KostenplaatsOutOfRange(u64::from(*offset)),
                    );
                }
            }
            ProjectRule::Table { numbers } => {
                for (project, n) in numbers {
                    if *n == 0 || u64::from(*n) > MAX_KOSTENPLAATS_NUMMER {
                        push(
                            format!("projects.numbers.{project}"),
                            ConfigProblemKind::KostenplaatsOutOfRange(u64::from(*n)),
                        );
                    }
                }
            }
        }

        if let BothKindsPolicy::TwoRelations {
            supplier_relatiecode_offset,
        } = self.both_kinds
            && i32::try_from(supplier_relatiecode_offset).is_err()
        {
            push(
                "both_kinds.supplier_relatiecode_offset".to_owned(),
                ConfigProblemKind::RelatiecodeOffsetOutOfRange(supplier_relatiecode_offset),
            );
        }

        for (i, role) in self.contacts.finance_roles.iter().enumerate() {
            if role.trim().is_empty() {
                push(
                    format!("contacts.finance_roles[{i}]"),
                    ConfigProblemKind::EmptyName,
                );
            }
        }

        let m = &self.matching;
        if m.review_threshold < 0
            || m.review_threshold > m.match_threshold
            || m.ambiguity_margin < 0
        {
            push("matching".to_owned(), ConfigProblemKind::MatchingThresholds);
        }
        out
    }
}
