//! Identifiers and simple codes: `CrmId`, `KvkNumber`, `CountryCode`, `Postcode`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ParseError, ParseErrorReason, compact_upper, string_serde};

/// The CRM's own identifier of a record (opaque text; whatever the CRM uses as a primary key).
///
/// It is the stable key the sync engine maps to a SnelStart id, so it is kept exactly as given.
/// Serde reads it from a string or a JSON integer (kept as its decimal text) and writes a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CrmId(String);

impl<'de> Deserialize<'de> for CrmId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::error::text_or_integer(deserializer).map(Self)
    }
}

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
/// Lenient input: spaces, dots and dashes between the digits, and a leading label in any case
/// (`KvK 12345678`, `KvK-nummer: 12345678`, `kvk nr. 12345678`). A 7-digit number (an old
/// register or spreadsheet export that lost its leading zero) still parses, padded back to 8
/// digits, but says so through [`leading_zero_restored`](Self::leading_zero_restored): such a
/// number is evidence for matching, not a value to write. Output: the 8 digits.
///
/// Equality, ordering and hashing compare the 8 digits only.
///
/// ```
/// use crm_model::KvkNumber;
/// let kvk: KvkNumber = "KvK-nummer: 1234 5678".parse()?;
/// assert_eq!(kvk.to_string(), "12345678");
/// let padded: KvkNumber = "1234567".parse()?;
/// assert_eq!(padded.to_string(), "01234567");
/// assert!(padded.leading_zero_restored());
/// # Ok::<(), crm_model::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KvkNumber {
    digits: [u8; 8],
    restored: bool,
}

impl KvkNumber {
    /// The 8 digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits).unwrap_or_default()
    }

    /// True when the input had 7 digits and the leading `0` was added by parsing: the number
    /// is then a reconstruction, fit as matching evidence but not to be written to SnelStart.
    pub fn leading_zero_restored(&self) -> bool {
        self.restored
    }
}

impl PartialEq for KvkNumber {
    fn eq(&self, other: &Self) -> bool {
        self.digits == other.digits
    }
}

impl Eq for KvkNumber {}

impl std::hash::Hash for KvkNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.digits.hash(state);
    }
}

impl PartialOrd for KvkNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KvkNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.digits.cmp(&other.digits)
    }
}

impl fmt::Display for KvkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Removes a leading `KvK`, `KvK-nummer:`, `KvK nr.` label (any case) and the separators
/// around it; returns the input unchanged when it has no label.
fn strip_kvk_label(s: &str) -> &str {
    let t = s.trim_start();
    let Some(rest) = t
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("kvk"))
        .map(|_| &t[3..])
    else {
        return s;
    };
    let is_sep = |c: char| matches!(c, ' ' | '-' | '.' | ':' | '#' | '\u{a0}' | '\t' | '_');
    let rest = rest.trim_start_matches(is_sep);
    let rest = ["nummer", "number", "nr", "no"]
        .iter()
        .find_map(|word| {
            rest.get(..word.len())
                .filter(|p| p.eq_ignore_ascii_case(word))
                .map(|_| &rest[word.len()..])
        })
        .unwrap_or(rest);
    rest.trim_start_matches(is_sep)
}

impl FromStr for KvkNumber {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact = compact_upper(strip_kvk_label(s));
        if compact.is_empty() {
            return Err(ParseError::new("kvk_number", s, ParseErrorReason::Empty));
        }
        let restored = compact.len() == 7;
        let padded = if restored {
            format!("0{compact}")
        } else {
            compact
        };
        let digits: [u8; 8] = padded
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 8]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                ParseError::new("kvk_number", s, ParseErrorReason::Format("8 digits"))
            })?;
        Ok(Self { digits, restored })
    }
}

impl KvkNumber {
    /// The serialized form: the 8 digits, or the 7 that were read when the leading zero was
    /// restored, so reading the serialized record back restores the flag too.
    fn serialized(&self) -> &str {
        if self.restored {
            &self.as_str()[1..]
        } else {
            self.as_str()
        }
    }
}

string_serde!(
    KvkNumber,
    "an 8-digit KvK number",
    serialize_as = KvkNumber::serialized
);

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
    fn kvk_labels_and_separators() {
        for input in [
            "12345678",
            "1234 5678",
            "12.34.56.78",
            "KvK 12345678",
            "KvK-nummer: 12345678",
            "kvk-NUMMER:12345678",
            "KVK: 1234 5678",
            "kvk nr. 12345678",
            " KvK number 12-34-56-78 ",
        ] {
            let kvk: KvkNumber = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(kvk.as_str(), "12345678", "{input}");
            assert!(!kvk.leading_zero_restored(), "{input}");
        }
        let restored: KvkNumber = "KvK 1234567".parse().unwrap();
        assert!(restored.leading_zero_restored());
        let written: KvkNumber = "01234567".parse().unwrap();
        assert!(!written.leading_zero_restored());
        assert_eq!(restored, written);
        assert!("KvK".parse::<KvkNumber>().is_err());
        assert!("KvK 1234567A".parse::<KvkNumber>().is_err());
        assert!("Kvk-nummer: ".parse::<KvkNumber>().is_err());
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
