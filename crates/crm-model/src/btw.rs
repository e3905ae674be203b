//! `BtwId`: a VAT identification number (btw-identificatienummer).

use std::fmt;
use std::str::FromStr;

use crate::error::{ParseError, ParseErrorReason, compact_upper, string_serde};

const FIELD: &str = "vat_number";

/// A VAT identification number of an EU member state (or Northern Ireland, `XI`).
///
/// Parsing is lenient: spaces, dots and dashes are removed, letters are upper-cased and the Greek
/// prefix `GR` is accepted for `EL`. Two forms without country prefix are recognised, because
/// CRMs hold them often: a Dutch number (`123456789B01`, any separators or case) is read as `NL`,
/// and a Belgian number of 10 digits starting with 0 or 1 (`0123.456.789`) as `BE`;
/// [`prefix_inferred`](Self::prefix_inferred) tells that the prefix was added. Output is strict:
/// the country prefix followed by the number, without separators (`NL123456782B01`), which is
/// also what SnelStart's `btwNummer` expects (letters and digits only).
///
/// Dutch numbers (`NL` + 9 digits + `B` + 2 digits) are checked, also without prefix: they are
/// valid when either the *elf-proef* on the 9 digits passes (the classic numbers derived from
/// the RSIN) or the mod-97 check over the whole number passes (the numbers issued to sole traders
/// since 2020, which no longer contain the BSN). Other countries are checked on their published
/// format only, because several of them have no public check-digit algorithm.
///
/// Equality, ordering and hashing compare the printed id only (a number read without prefix
/// equals the same number read with it).
///
/// ```
/// use crm_model::BtwId;
/// let id: BtwId = "nl 0012.34.560 b01".parse()?;
/// assert_eq!(id.to_string(), "NL001234560B01");
/// assert_eq!(id.country(), "NL");
/// let bare: BtwId = "0012.34.560.B.01".parse()?;
/// assert_eq!(bare, id);
/// assert!(bare.prefix_inferred());
/// let be: BtwId = "0123.456.789".parse()?;
/// assert_eq!(be.to_string(), "BE0123456789");
/// # Ok::<(), crm_model::ParseError>(())
/// ```
#[derive(Clone)]
pub struct BtwId {
    id: String,
    prefix_inferred: bool,
}

impl BtwId {
    /// The two-letter country prefix (`NL`, `DE`, `EL`, ...).
    pub fn country(&self) -> &str {
        &self.id[..2]
    }

    /// The number without the country prefix.
    pub fn number(&self) -> &str {
        &self.id[2..]
    }

    /// The number in its strict printed form, e.g. `NL001234560B01`.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// True when the input had no country prefix and it was inferred from the number's shape
    /// (`NL` for `123456789B01`, `BE` for `0123456789`).
    pub fn prefix_inferred(&self) -> bool {
        self.prefix_inferred
    }
}

impl PartialEq for BtwId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for BtwId {}

impl std::hash::Hash for BtwId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialOrd for BtwId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BtwId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl fmt::Display for BtwId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl fmt::Debug for BtwId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BtwId({})", self.id)
    }
}

/// The country a number without prefix belongs to, judged by its shape alone.
fn inferred_prefix(compact: &str) -> Option<&'static str> {
    let b = compact.as_bytes();
    if rule_for("NL").is_some_and(|r| (r.shape)(b)) {
        Some("NL")
    } else if rule_for("BE").is_some_and(|r| (r.shape)(b)) {
        Some("BE")
    } else {
        None
    }
}

impl FromStr for BtwId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseError::new(FIELD, s, reason);
        let compact = compact_upper(s);
        if compact.is_empty() {
            return Err(err(ParseErrorReason::Empty));
        }
        let (prefix, body, prefix_inferred) = if let Some(prefix) = inferred_prefix(&compact) {
            (prefix, compact.as_str(), true)
        } else {
            if compact.len() < 4 || !compact.is_char_boundary(2) {
                return Err(err(ParseErrorReason::Format(
                    "a country prefix followed by the number (or a Dutch 123456789B01 or \
                     Belgian 0123456789 number without prefix)",
                )));
            }
            let (prefix, body) = compact.split_at(2);
            (if prefix == "GR" { "EL" } else { prefix }, body, false)
        };
        let Some(rule) = rule_for(prefix) else {
            return Err(err(ParseErrorReason::Format(
                "an EU country prefix (AT, BE, ..., NL, ..., XI), or a Dutch 123456789B01 or \
                 Belgian 0123456789 number without prefix",
            )));
        };
        if !(rule.shape)(body.as_bytes()) {
            return Err(err(ParseErrorReason::Format(rule.description)));
        }
        let id = format!("{prefix}{body}");
        if prefix == "NL" && !(nl_elf_proef(body.as_bytes()) || mod97_is_one(&id)) {
            return Err(err(ParseErrorReason::Checksum));
        }
        Ok(Self {
            id,
            prefix_inferred,
        })
    }
}

impl BtwId {
    /// The serialized form: the strict id, or the number without its prefix when the prefix
    /// was inferred, so reading the serialized record back infers it (and the flag) again.
    fn serialized(&self) -> &str {
        if self.prefix_inferred {
            self.number()
        } else {
            &self.id
        }
    }
}

string_serde!(
    BtwId,
    "a VAT identification number such as NL001234560B01",
    serialize_as = BtwId::serialized
);

struct CountryRule {
    prefix: &'static str,
    description: &'static str,
    shape: fn(&[u8]) -> bool,
}

fn digits(b: &[u8], lens: &[usize]) -> bool {
    lens.contains(&b.len()) && b.iter().all(u8::is_ascii_digit)
}

fn alnum(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_alphanumeric)
}

/// Formats per the EU VIES documentation (number part, after the country prefix).
const RULES: &[CountryRule] = &[
    CountryRule {
        prefix: "AT",
        description: "AT + U + 8 digits",
        shape: |b| b.first() == Some(&b'U') && digits(&b[1..], &[8]),
    },
    CountryRule {
        prefix: "BE",
        description: "BE + 10 digits starting with 0 or 1",
        shape: |b| digits(b, &[10]) && matches!(b[0], b'0' | b'1'),
    },
    CountryRule {
        prefix: "BG",
        description: "BG + 9 or 10 digits",
        shape: |b| digits(b, &[9, 10]),
    },
    CountryRule {
        prefix: "CY",
        description: "CY + 8 digits + a letter",
        shape: |b| b.len() == 9 && digits(&b[..8], &[8]) && b[8].is_ascii_uppercase(),
    },
    CountryRule {
        prefix: "CZ",
        description: "CZ + 8 to 10 digits",
        shape: |b| digits(b, &[8, 9, 10]),
    },
    CountryRule {
        prefix: "DE",
        description: "DE + 9 digits",
        shape: |b| digits(b, &[9]),
    },
    CountryRule {
        prefix: "DK",
        description: "DK + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "EE",
        description: "EE + 9 digits",
        shape: |b| digits(b, &[9]),
    },
    CountryRule {
        prefix: "EL",
        description: "EL + 9 digits",
        shape: |b| digits(b, &[9]),
    },
    CountryRule {
        prefix: "ES",
        description: "ES + 9 characters, digits in the middle",
        shape: |b| {
            b.len() == 9
                && alnum(b)
                && digits(&b[1..8], &[7])
                && (b[0].is_ascii_digit() || b[8].is_ascii_digit() || b[0].is_ascii_uppercase())
        },
    },
    CountryRule {
        prefix: "FI",
        description: "FI + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "FR",
        description: "FR + 2 characters + 9 digits",
        shape: |b| b.len() == 11 && alnum(&b[..2]) && digits(&b[2..], &[9]),
    },
    CountryRule {
        prefix: "HR",
        description: "HR + 11 digits",
        shape: |b| digits(b, &[11]),
    },
    CountryRule {
        prefix: "HU",
        description: "HU + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "IE",
        description: "IE + 8 or 9 characters (digits and letters)",
        shape: |b| {
            matches!(b.len(), 8 | 9)
                && alnum(b)
                && b[0].is_ascii_digit()
                && b[2..7].iter().all(u8::is_ascii_digit)
                && b[7].is_ascii_uppercase()
        },
    },
    CountryRule {
        prefix: "IT",
        description: "IT + 11 digits",
        shape: |b| digits(b, &[11]),
    },
    CountryRule {
        prefix: "LT",
        description: "LT + 9 or 12 digits",
        shape: |b| digits(b, &[9, 12]),
    },
    CountryRule {
        prefix: "LU",
        description: "LU + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "LV",
        description: "LV + 11 digits",
        shape: |b| digits(b, &[11]),
    },
    CountryRule {
        prefix: "MT",
        description: "MT + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "NL",
        description: "NL + 9 digits + B + 2 digits",
        shape: |b| b.len() == 12 && digits(&b[..9], &[9]) && b[9] == b'B' && digits(&b[10..], &[2]),
    },
    CountryRule {
        prefix: "PL",
        description: "PL + 10 digits",
        shape: |b| digits(b, &[10]),
    },
    CountryRule {
        prefix: "PT",
        description: "PT + 9 digits",
        shape: |b| digits(b, &[9]),
    },
    CountryRule {
        prefix: "RO",
        description: "RO + 2 to 10 digits",
        shape: |b| digits(b, &[2, 3, 4, 5, 6, 7, 8, 9, 10]),
    },
    CountryRule {
        prefix: "SE",
        description: "SE + 12 digits",
        shape: |b| digits(b, &[12]),
    },
    CountryRule {
        prefix: "SI",
        description: "SI + 8 digits",
        shape: |b| digits(b, &[8]),
    },
    CountryRule {
        prefix: "SK",
        description: "SK + 10 digits",
        shape: |b| digits(b, &[10]),
    },
    CountryRule {
        prefix: "XI",
        description: "XI + 9 or 12 digits, or GD/HA + 3 digits",
        shape: |b| {
            digits(b, &[9, 12])
                || (b.len() == 5
                    && (b.starts_with(b"GD") || b.starts_with(b"HA"))
                    && digits(&b[2..], &[3]))
        },
    },
];

fn rule_for(prefix: &str) -> Option<&'static CountryRule> {
    RULES.iter().find(|r| r.prefix == prefix)
}

/// The elf-proef (mod 11) over the first 9 digits: weights 9..2 on digits 1-8, the 9th digit
/// is the check digit (a remainder of 10 can never be valid).
fn nl_elf_proef(body: &[u8]) -> bool {
    let d: Vec<u32> = body[..9].iter().map(|c| u32::from(c - b'0')).collect();
    let sum: u32 = d[..8].iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
    sum % 11 == d[8]
}

/// ISO 7064 mod 97-10 over the whole identifier, letters as 10..35 (the Dutch 2020 scheme).
fn mod97_is_one(id: &str) -> bool {
    let mut rem: u32 = 0;
    for c in id.chars() {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_proef_number_is_accepted() {
        // 00123456 7: 0*9+0*8+1*7+2*6+3*5+4*4+5*3+6*2 = 77, 77 % 11 = 0 -> check digit 0.
        assert!("NL001234560B01".parse::<BtwId>().is_ok());
        // Neither the elf-proef (remainder 0, not 7) nor mod 97 (remainder 70) passes.
        assert_eq!(
            "NL001234567B01".parse::<BtwId>().unwrap_err().reason(),
            ParseErrorReason::Checksum
        );
    }

    #[test]
    fn mod97_example_from_the_tax_office_is_accepted() {
        // The Belastingdienst's published example of a post-2020 sole-trader number.
        let id: BtwId = "NL000099998B57".parse().unwrap();
        assert_eq!(id.as_str(), "NL000099998B57");
    }

    #[test]
    fn wrong_checksum_names_field_and_value() {
        let err = "NL123456789B02".parse::<BtwId>().unwrap_err();
        assert_eq!(err.field(), "vat_number");
        assert_eq!(err.value(), "NL123456789B02");
        assert_eq!(err.reason(), ParseErrorReason::Checksum);
    }

    #[test]
    fn greek_prefix_is_normalised() {
        let id: BtwId = "GR 123456789".parse().unwrap();
        assert_eq!(id.to_string(), "EL123456789");
    }

    #[test]
    fn prefix_is_inferred_for_dutch_and_belgian_numbers() {
        for input in ["001234560B01", "0012.34.560.b.01", " 001234560b01 "] {
            let id: BtwId = input.parse().unwrap();
            assert_eq!(id.as_str(), "NL001234560B01", "{input}");
            assert!(id.prefix_inferred());
        }
        let prefixed: BtwId = "NL001234560B01".parse().unwrap();
        assert!(!prefixed.prefix_inferred());
        assert_eq!(prefixed, "001234560B01".parse::<BtwId>().unwrap());
        // Still checked without prefix.
        assert_eq!(
            "001234567B01".parse::<BtwId>().unwrap_err().reason(),
            ParseErrorReason::Checksum
        );
        let be: BtwId = "0123.456.789".parse().unwrap();
        assert_eq!((be.as_str(), be.prefix_inferred()), ("BE0123456789", true));
        let be: BtwId = "BE 0123.456.789".parse().unwrap();
        assert_eq!((be.as_str(), be.prefix_inferred()), ("BE0123456789", false));
        assert!("2123456789".parse::<BtwId>().is_err());
        assert!("123456789".parse::<BtwId>().is_err());
    }

    #[test]
    fn other_countries_checked_on_format() {
        assert!("DE123456789".parse::<BtwId>().is_ok());
        assert!("DE12345678".parse::<BtwId>().is_err());
        assert!("BE0123456789".parse::<BtwId>().is_ok());
        assert!("BE2123456789".parse::<BtwId>().is_err());
        assert!("ATU12345678".parse::<BtwId>().is_ok());
        assert!("US123456789".parse::<BtwId>().is_err());
        assert!("ÄÖ123".parse::<BtwId>().is_err());
    }
}
