//! `Money`: an amount in euros with exactly cent precision.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{ParseError, ParseErrorReason};

/// An amount in euros, always held with exactly 2 decimals (whole cents); may be negative
/// (credit notes, refunds).
///
/// Two ways in, on purpose:
/// * [`Money::try_from_decimal`] and parsing **validate**: more than 2 significant decimals is an
///   error, because an amount a CRM shows as `12.345` is a data problem to report, not to hide.
/// * [`Money::round_from`] **rounds** half away from zero (the rounding Dutch invoices and the
///   Belastingdienst use), for amounts we compute ourselves such as `quantity × unit price`.
///
/// Lenient text input: surrounding spaces, a `€`/`EUR` marker, and a decimal comma
/// (`1.234,56` and `1,234.56` both read as 1234.56: the last separator is the decimal one).
/// Strict output: `Display` and serde print a plain string with 2 decimals (`"1234.56"`).
/// Deserialization accepts that string or a JSON number.
///
/// ```
/// use crm_model::Money;
/// let m: Money = "€ 1.234,5".parse()?;
/// assert_eq!(m.to_string(), "1234.50");
/// # Ok::<(), crm_model::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Money(Decimal);

impl Default for Money {
    fn default() -> Self {
        Self::ZERO
    }
}

impl Money {
    /// Zero euros (`0.00`: scale 2 like every other amount, so it prints as one).
    pub const ZERO: Self = Self(Decimal::from_parts(0, 0, 0, false, 2));

    /// Takes an exact amount; refuses one with more than 2 significant decimals.
    ///
    /// # Errors
    /// [`ParseErrorReason::TooManyDecimals`] when the amount is not a whole number of cents.
    pub fn try_from_decimal(amount: Decimal) -> Result<Self, ParseError> {
        let normalized = amount.normalize();
        if normalized.scale() > 2 {
            return Err(ParseError::new(
                "amount",
                amount.to_string(),
                ParseErrorReason::TooManyDecimals,
            ));
        }
        Ok(Self::with_scale_2(normalized))
    }

    /// Rounds to whole cents, half away from zero (0.005 → 0.01, −0.005 → −0.01).
    pub fn round_from(amount: Decimal) -> Self {
        Self::with_scale_2(amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }

    /// Builds an amount from whole cents.
    pub fn from_cents(cents: i64) -> Self {
        Self(Decimal::new(cents, 2))
    }

    /// The amount as a decimal with scale 2.
    pub fn amount(&self) -> Decimal {
        self.0
    }

    /// The amount in whole cents.
    ///
    /// Returns `None` only for amounts beyond ±92 233 720 368 547 758.07 euros.
    pub fn cents(&self) -> Option<i64> {
        i64::try_from(self.0.mantissa()).ok()
    }

    /// True for amounts below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The absolute amount.
    pub fn abs(&self) -> Self {
        Self(self.0.abs())
    }

    fn with_scale_2(mut d: Decimal) -> Self {
        d.rescale(2);
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        Self(d)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Money {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut t = s.trim();
        for marker in ["€", "EUR", "eur"] {
            t = t.strip_prefix(marker).unwrap_or(t).trim();
            t = t.strip_suffix(marker).unwrap_or(t).trim();
        }
        let d = lenient_decimal(t, s, "amount", "an amount such as 1234.56")?;
        Self::try_from_decimal(d)
            .map_err(|_| ParseError::new("amount", s, ParseErrorReason::TooManyDecimals))
    }
}

/// Reads a decimal written by a person: surrounding and inner spaces, and a decimal comma
/// (`1.234,56` and `1,234.56` both read as 1234.56: the last of `,` and `.` is the decimal
/// separator). Exact: no rounding, and no exponent, `NaN` or `Infinity`. `original` and
/// `field` name the value in the error.
pub(crate) fn lenient_decimal(
    t: &str,
    original: &str,
    field: &'static str,
    expected: &'static str,
) -> Result<Decimal, ParseError> {
    let err = |reason| ParseError::new(field, original, reason);
    let t = t.trim();
    if t.is_empty() {
        return Err(err(ParseErrorReason::Empty));
    }
    let cleaned: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\''))
        .collect();
    // The last of ',' and '.' is the decimal separator; the other is a thousands separator.
    let decimal_sep = cleaned.rfind([',', '.']).map(|i| (i, &cleaned[i..=i]));
    let normalized = match decimal_sep {
        Some((i, sep)) => {
            let thousands = if sep == "," { '.' } else { ',' };
            let int: String = cleaned[..i].chars().filter(|c| *c != thousands).collect();
            format!("{int}.{}", &cleaned[i + 1..])
        }
        None => cleaned,
    };
    let format = ParseErrorReason::Format(expected);
    if normalized.matches(['.', ',']).count() > 1 {
        return Err(err(format));
    }
    Decimal::from_str_exact(&normalized).map_err(|_| err(format))
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount in euros with at most 2 decimals, as string or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money::with_scale_2(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money::with_scale_2(Decimal::from(v)))
            }
            // A JSON number arrives as f64; its shortest round-trip text (`0.1`, not
            // `0.1000000000000000055…`) is what the sender wrote, so parse that.
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Money, E> {
                if !v.is_finite() {
                    return Err(E::custom(format!(
                        "invalid amount {v}: not a finite number"
                    )));
                }
                v.to_string().parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money::with_scale_2(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money::with_scale_2(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money::with_scale_2(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Decimal {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn zero_and_sums_print_with_two_decimals() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::default().to_string(), "0.00");
        let empty: [Money; 0] = [];
        assert_eq!(empty.into_iter().sum::<Money>().to_string(), "0.00");
        assert_eq!(
            (Money::from_cents(5) - Money::from_cents(5)).to_string(),
            "0.00"
        );
        assert_eq!(
            (Money::from_cents(-5) + Money::from_cents(5)).to_string(),
            "0.00"
        );
        assert_eq!((-Money::ZERO).to_string(), "0.00");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(Money::round_from(dec!(0.005)).to_string(), "0.01");
        assert_eq!(Money::round_from(dec!(-0.005)).to_string(), "-0.01");
        assert_eq!(Money::round_from(dec!(0.0049)).to_string(), "0.00");
        assert_eq!(Money::round_from(dec!(-0.001)).to_string(), "0.00");
    }

    #[test]
    fn validation_refuses_sub_cents() {
        let e = Money::try_from_decimal(dec!(1.005)).unwrap_err();
        assert_eq!(e.reason(), ParseErrorReason::TooManyDecimals);
        assert_eq!(
            Money::try_from_decimal(dec!(1.500)).unwrap().to_string(),
            "1.50"
        );
    }

    #[test]
    fn lenient_text() {
        for (input, want) in [
            ("1234.56", "1234.56"),
            ("1.234,56", "1234.56"),
            ("1,234.56", "1234.56"),
            ("€ 12,5", "12.50"),
            ("-7", "-7.00"),
            ("12 EUR", "12.00"),
        ] {
            assert_eq!(input.parse::<Money>().unwrap().to_string(), want, "{input}");
        }
        for bad in ["", "abc", "1.2.3", "1,005", "1e5"] {
            assert!(bad.parse::<Money>().is_err(), "{bad}");
        }
    }

    #[test]
    fn json_numbers_and_strings() {
        let m: Money = serde_json::from_str("0.1").unwrap();
        assert_eq!(m.to_string(), "0.10");
        let m: Money = serde_json::from_str("\"19.99\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"19.99\"");
        assert!(serde_json::from_str::<Money>("0.125").is_err());
    }
}
