//! The configuration that fits the chart of accounts `snelstart-mock` seeds.

use crm_model::VatCategory;

use super::{LedgerMap, LedgerRule, MappingConfig};

impl MappingConfig {
    /// A configuration matching the chart of accounts seeded by `snelstart-mock` (and a
    /// typical small Dutch administration), as a starting point to adjust.
    ///
    /// Revenue, category `omzet` (the default): hoog → 8000, laag → 8010, verlegd → 8020,
    /// export → 8030, intra-EU → 8040, nul and vrijgesteld → 8050. Category `projecten`:
    /// hoog → 8100 (which requires a kostenplaats).
    ///
    /// Costs, category `inkoop` (the default) → 7000 for every VAT category; `kantoor` → 4300,
    /// `auto` → 4200, `projectkosten` → 4400 (requires a kostenplaats), `huisvesting` hoog →
    /// 4100, `representatie` laag → 4500, `lonen` → 4000 (no VAT only).
    ///
    /// ```
    /// use crm_model::VatCategory;
    /// let config = mapping::config::MappingConfig::default_for_mock();
    /// assert_eq!(config.revenue_ledger(None, VatCategory::Laag), Some(8010));
    /// assert!(config.validate().is_empty());
    /// ```
    pub fn default_for_mock() -> Self {
        use VatCategory::{Export, Hoog, IntraEu, Laag, Nul, Verlegd, Vrijgesteld};
        let revenue = [
            ("omzet", Some(Hoog), 8000),
            ("omzet", Some(Laag), 8010),
            ("omzet", Some(Verlegd), 8020),
            ("omzet", Some(Export), 8030),
            ("omzet", Some(IntraEu), 8040),
            ("omzet", Some(Nul), 8050),
            ("omzet", Some(Vrijgesteld), 8050),
            ("projecten", Some(Hoog), 8100),
        ];
        let cost = [
            ("inkoop", None, 7000),
            ("kantoor", None, 4300),
            ("auto", None, 4200),
            ("projectkosten", None, 4400),
            ("huisvesting", Some(Hoog), 4100),
            ("representatie", Some(Laag), 4500),
            ("lonen", Some(Nul), 4000),
            ("lonen", Some(Vrijgesteld), 4000),
        ];
        let rules = |rows: &[(&str, Option<VatCategory>, u32)]| {
            rows.iter()
                .map(|(c, v, l)| LedgerRule::new(*c, *v, *l))
                .collect()
        };
        Self {
            ledgers: LedgerMap {
                revenue: rules(&revenue),
                cost: rules(&cost),
                ..LedgerMap::default()
            },
            ..Self::default()
        }
    }
}
