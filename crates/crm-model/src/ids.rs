//! Identifiers and simple codes: `CrmId`, `KvkNumber`, `CountryCode`, `Postcode`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ParseError, ParseErrorReason, compact_upper, string_serde};

/// The CRM's own identifier of a record (opaque text; whatever the CRM uses as a primary key).
///
/// It is the stable key the sync engine maps to a SnelStart id, so it is kept exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CrmId(String);

impl CrmId {
    /// Wraps the CRM's identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CrmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for CrmId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for CrmId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// A Dutch Chamber of Commerce (KvK) number: exactly 8 digits.
///
/// Lenient input: spaces, dots and dashes are removed, and a 7-digit number from an old
/// register export that lost its leading zero is padded back. Output: the 8 digits.
///
/// ```
/// use crm_model::KvkNumber;
/// let kvk: KvkNumber = "1234 5678".parse()?;
/// assert_eq!(kvk.to_string(), "12345678");
/// # Ok::<(), crm_model::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KvkNumber([u8; 8]);

impl KvkNumber {
    /// The 8 digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for KvkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KvkNumber {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact = compact_upper(s);
        if compact.is_empty() {
            return Err(ParseError::new("kvk_number", s, ParseErrorReason::Empty));
        }
        let padded = if compact.len() == 7 {
            format!("0{compact}")
        } else {
            compact
        };
        let bytes: [u8; 8] = padded
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 8]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                ParseError::new("kvk_number", s, ParseErrorReason::Format("8 digits"))
            })?;
        Ok(Self(bytes))
    }
}

string_serde!(KvkNumber, "an 8-digit KvK number");

/// An ISO 3166-1 alpha-2 country code, e.g. `NL`.
///
/// Lenient input: case and surrounding spaces are ignored, `UK` is read as `GB`, and the
/// alpha-3 codes and Dutch/English names of the Netherlands and its neighbours are accepted
/// because CRMs often store those. Output: two upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The Netherlands.
    pub const NL: Self = Self(*b"NL");

    /// The two letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Default for CountryCode {
    /// The Netherlands, the home country of every SnelStart administration.
    fn default() -> Self {
        Self::NL
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Common non-alpha-2 spellings a CRM may hold, mapped to alpha-2.
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("UK", "GB"),
    ("NLD", "NL"),
    ("NEDERLAND", "NL"),
    ("NETHERLANDS", "NL"),
    ("THENETHERLANDS", "NL"),
    ("HOLLAND", "NL"),
    ("BEL", "BE"),
    ("BELGIE", "BE"),
    ("BELGIË", "BE"),
    ("BELGIUM", "BE"),
    ("DEU", "DE"),
    ("DUITSLAND", "DE"),
    ("GERMANY", "DE"),
    ("DEUTSCHLAND", "DE"),
    ("FRA", "FR"),
    ("FRANKRIJK", "FR"),
    ("FRANCE", "FR"),
    ("LUX", "LU"),
    ("LUXEMBURG", "LU"),
    ("LUXEMBOURG", "LU"),
    ("GBR", "GB"),
    ("ENGELAND", "GB"),
    ("UNITEDKINGDOM", "GB"),
];

impl FromStr for CountryCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact = compact_upper(s);
        if compact.is_empty() {
            return Err(ParseError::new("country", s, ParseErrorReason::Empty));
        }
        let code = COUNTRY_ALIASES
            .iter()
            .find(|(alias, _)| *alias == compact)
            .map_or(compact.as_str(), |(_, code)| code);
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(ParseError::new(
                "country",
                s,
                ParseErrorReason::Format("an ISO 3166 alpha-2 code such as NL"),
            )),
        }
    }
}

string_serde!(CountryCode, "an ISO 3166 alpha-2 country code such as NL");

/// A Dutch postcode: 4 digits (not starting with 0) and 2 letters, printed as `1234 AB`.
///
/// Lenient input: case, spaces and a dash are ignored (`1234ab`, `1234-AB`). The letter pairs
/// `SA`, `SD` and `SS` are never issued and are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode([u8; 6]);

impl Postcode {
    /// The 4 digits.
    pub fn digits(&self) -> &str {
        std::str::from_utf8(&self.0[..4]).unwrap_or_default()
    }

    /// The 2 letters.
    pub fn letters(&self) -> &str {
        std::str::from_utf8(&self.0[4..]).unwrap_or_default()
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.digits(), self.letters())
    }
}

impl FromStr for Postcode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact = compact_upper(s);
        if compact.is_empty() {
            return Err(ParseError::new("postcode", s, ParseErrorReason::Empty));
        }
        let b = compact.as_bytes();
        let shaped = b.len() == 6
            && b[0] != b'0'
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4..].iter().all(u8::is_ascii_uppercase)
            && !matches!(&b[4..], b"SA" | b"SD" | b"SS");
        if !shaped {
            return Err(ParseError::new(
                "postcode",
                s,
                ParseErrorReason::Format("a Dutch postcode such as 1234 AB"),
            ));
        }
        let mut out = [0u8; 6];
        out.copy_from_slice(b);
        Ok(Self(out))
    }
}

string_serde!(Postcode, "a Dutch postcode such as 1234 AB");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvk_pads_seven_digits_and_refuses_letters() {
        assert_eq!("1234567".parse::<KvkNumber>().unwrap().as_str(), "01234567");
        let err = "1234567A".parse::<KvkNumber>().unwrap_err();
        assert_eq!(err.field(), "kvk_number");
        assert_eq!(err.value(), "1234567A");
        assert!("123456789".parse::<KvkNumber>().is_err());
    }

    #[test]
    fn country_aliases() {
        assert_eq!("nederland".parse::<CountryCode>().unwrap(), CountryCode::NL);
        assert_eq!("uk".parse::<CountryCode>().unwrap().as_str(), "GB");
        assert_eq!(" de ".parse::<CountryCode>().unwrap().as_str(), "DE");
        assert!("N1".parse::<CountryCode>().is_err());
        assert!("Narnia".parse::<CountryCode>().is_err());
    }

    #[test]
    fn postcode_forms() {
        assert_eq!("1234ab".parse::<Postcode>().unwrap().to_string(), "1234 AB");
        assert_eq!(
            "1234-ab".parse::<Postcode>().unwrap().to_string(),
            "1234 AB"
        );
        assert!("0123 AB".parse::<Postcode>().is_err());
        assert!("1234 SS".parse::<Postcode>().is_err());
        assert!("12345".parse::<Postcode>().is_err());
    }
}
