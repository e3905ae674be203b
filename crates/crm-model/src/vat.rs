//! `VatCategory`: the Dutch VAT treatment of an invoice line.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::Money;
use crate::error::{ParseError, ParseErrorReason, string_serde};

/// How a line is treated for Dutch VAT.
///
/// Printed and serialized in snake_case (`hoog`, `laag`, `nul`, `vrijgesteld`, `verlegd`,
/// `intra_eu`, `export`). Parsing also accepts common English and spelled-out forms
/// (`high`, `21%`, `reverse_charge`, `intra-EU`, `ICP`, SnelStart's `Geen` for 0 %, ...),
/// case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VatCategory {
    /// The standard rate (19 % before 2012-10-01, 21 % since).
    Hoog,
    /// The reduced rate (6 % before 2019-01-01, 9 % since).
    Laag,
    /// The zero rate (0 %, taxed at nil).
    Nul,
    /// Exempt from VAT (e.g. medical care, education).
    Vrijgesteld,
    /// Domestic reverse charge: the customer accounts for the VAT.
    Verlegd,
    /// Intra-community supply to a business in another EU country (0 %, on the ICP return).
    IntraEu,
    /// Export outside the EU (0 %).
    Export,
}

impl VatCategory {
    /// Every category, in declaration order.
    pub const ALL: [VatCategory; 7] = [
        Self::Hoog,
        Self::Laag,
        Self::Nul,
        Self::Vrijgesteld,
        Self::Verlegd,
        Self::IntraEu,
        Self::Export,
    ];

    /// The rate in force on `date`, as a percentage (21 means 21 %).
    ///
    /// Hoog: 19 before 2012-10-01, then 21. Laag: 6 before 2019-01-01, then 9. Every other
    /// category: 0.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use crm_model::VatCategory;
    /// use rust_decimal::Decimal;
    /// let d = NaiveDate::from_ymd_opt(2012, 9, 30).unwrap();
    /// assert_eq!(VatCategory::Hoog.rate_on(d), Decimal::from(19));
    /// assert_eq!(VatCategory::Hoog.rate_on(d.succ_opt().unwrap()), Decimal::from(21));
    /// ```
    pub fn rate_on(self, date: NaiveDate) -> Decimal {
        match self {
            Self::Hoog if date < date_ymd(2012, 10, 1) => Decimal::from(19),
            Self::Hoog => Decimal::from(21),
            Self::Laag if date < date_ymd(2019, 1, 1) => Decimal::from(6),
            Self::Laag => Decimal::from(9),
            Self::Nul | Self::Vrijgesteld | Self::Verlegd | Self::IntraEu | Self::Export => {
                Decimal::ZERO
            }
        }
    }

    /// The unrounded VAT on `net` at the rate in force on `date`.
    ///
    /// Unrounded on purpose: VAT is summed per category first and rounded once per category.
    pub fn vat_on(self, net: Money, date: NaiveDate) -> Decimal {
        net.amount() * self.rate_on(date) / Decimal::ONE_HUNDRED
    }

    /// The snake_case name used in text and serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hoog => "hoog",
            Self::Laag => "laag",
            Self::Nul => "nul",
            Self::Vrijgesteld => "vrijgesteld",
            Self::Verlegd => "verlegd",
            Self::IntraEu => "intra_eu",
            Self::Export => "export",
        }
    }
}

fn date_ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

impl fmt::Display for VatCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VatCategory {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '%' | '.'))
            .flat_map(char::to_lowercase)
            .collect();
        let cat = match key.as_str() {
            "" => return Err(ParseError::new("vat_category", s, ParseErrorReason::Empty)),
            "hoog" | "high" | "standard" | "21" | "19" => Self::Hoog,
            "laag" | "low" | "reduced" | "9" | "6" => Self::Laag,
            // `Geen` is SnelStart's own word for a line without VAT (`btwSoort`); it books
            // the same as the 0 % rate.
            "nul" | "zero" | "0" | "nultarief" | "geen" | "geenbtw" => Self::Nul,
            "vrijgesteld" | "exempt" | "vrij" => Self::Vrijgesteld,
            "verlegd" | "reversecharge" | "btwverlegd" => Self::Verlegd,
            "intraeu" | "icp" | "eu" | "intracommunautair" => Self::IntraEu,
            "export" | "buiteneu" | "exportbuiteneu" => Self::Export,
            _ => {
                return Err(ParseError::new(
                    "vat_category",
                    s,
                    ParseErrorReason::Unknown,
                ));
            }
        };
        Ok(cat)
    }
}

string_serde!(
    VatCategory,
    "a VAT category such as hoog, laag, nul, verlegd or intra_eu"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_switch_on_the_statutory_dates() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(VatCategory::Laag.rate_on(d(2018, 12, 31)), Decimal::from(6));
        assert_eq!(VatCategory::Laag.rate_on(d(2019, 1, 1)), Decimal::from(9));
        assert_eq!(VatCategory::Hoog.rate_on(d(2012, 10, 1)), Decimal::from(21));
        for c in [
            VatCategory::Nul,
            VatCategory::Vrijgesteld,
            VatCategory::Verlegd,
            VatCategory::IntraEu,
            VatCategory::Export,
        ] {
            assert_eq!(c.rate_on(d(2024, 1, 1)), Decimal::ZERO);
        }
    }

    #[test]
    fn aliases() {
        assert_eq!("21%".parse::<VatCategory>().unwrap(), VatCategory::Hoog);
        assert_eq!("Geen".parse::<VatCategory>().unwrap(), VatCategory::Nul);
        assert_eq!("geen btw".parse::<VatCategory>().unwrap(), VatCategory::Nul);
        assert_eq!(
            "Reverse-Charge".parse::<VatCategory>().unwrap(),
            VatCategory::Verlegd
        );
        assert_eq!(
            "intra-EU".parse::<VatCategory>().unwrap(),
            VatCategory::IntraEu
        );
        let e = "17".parse::<VatCategory>().unwrap_err();
        assert_eq!((e.field(), e.value()), ("vat_category", "17"));
    }
}
