//! `Iban` and `Email`: thin validated wrappers around the ecosystem crates.

use std::fmt;
use std::str::FromStr;

use iban::IbanLike;

use crate::error::{ParseError, ParseErrorReason, string_serde};

/// An IBAN, validated by [`iban_validate`](https://docs.rs/iban_validate) (country length,
/// BBAN format and mod-97 check digits).
///
/// Lenient input: the electronic form or the printed form with spaces, any case, surrounding
/// spaces. Output: the electronic form (`NL91ABNA0417164300`), which SnelStart stores.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(iban::Iban);

impl Iban {
    /// The electronic form, without spaces.
    pub fn as_str(&self) -> &str {
        self.0.electronic_str()
    }

    /// The two-letter country code.
    pub fn country(&self) -> &str {
        self.0.country_code()
    }

    /// The bank identifier (for `NL91ABNA...` that is `ABNA`), when the country defines one.
    pub fn bank_identifier(&self) -> Option<&str> {
        self.0.bank_identifier()
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.as_str())
    }
}

impl FromStr for Iban {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed: String = s.trim().to_uppercase();
        if trimmed.is_empty() {
            return Err(ParseError::new("iban", s, ParseErrorReason::Empty));
        }
        // Accept separators people type (single spaces anywhere, dashes, dots) by compacting
        // first; iban_validate itself only takes the electronic or exact 4-block printed form.
        let compact: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}'))
            .collect();
        compact.parse::<iban::Iban>().map(Self).map_err(|e| {
            let reason = match e {
                iban::ParseIbanError::InvalidBaseIban {
                    source: iban::ParseBaseIbanError::InvalidChecksum,
                } => ParseErrorReason::Checksum,
                _ => ParseErrorReason::Format("an IBAN such as NL91 ABNA 0417 1643 00"),
            };
            ParseError::new("iban", s, reason)
        })
    }
}

string_serde!(Iban, "an IBAN such as NL91ABNA0417164300");

/// An e-mail address, validated by [`email_address`](https://docs.rs/email_address).
///
/// Lenient input: surrounding spaces and a `mailto:` prefix are removed and the domain is
/// lower-cased. Refused: display names (`Jan <jan@x.nl>`), IP-literal domains and domains
/// without a dot, none of which SnelStart's e-mail check accepts.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, lower-case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl FromStr for Email {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let trimmed = trimmed
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("mailto:"))
            .map_or(trimmed, |_| trimmed[7..].trim());
        if trimmed.is_empty() {
            return Err(ParseError::new("email", s, ParseErrorReason::Empty));
        }
        let options = email_address::Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        let parsed =
            email_address::EmailAddress::parse_with_options(trimmed, options).map_err(|_| {
                ParseError::new(
                    "email",
                    s,
                    ParseErrorReason::Format("an e-mail address such as jan@example.nl"),
                )
            })?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }
}

string_serde!(Email, "an e-mail address");

/// One or more e-mail addresses separated by `;`, the list form CRMs store in a single e-mail
/// field and SnelStart accepts (`info@x.nl; facturen@x.nl`).
///
/// Lenient input: spaces around each address, and one trailing `;`. Each address is validated
/// as an [`Email`]; an empty item between separators (`a@x.nl;;b@x.nl`) is refused. Output:
/// the addresses joined with `;` and no spaces. Serde: a string, like the other newtypes.
///
/// ```
/// use crm_model::EmailList;
/// let list: EmailList = " info@goudenkorst.nl ; Facturen@GoudenKorst.NL ".parse()?;
/// assert_eq!(list.to_string(), "info@goudenkorst.nl;Facturen@goudenkorst.nl");
/// assert_eq!(list.first().as_str(), "info@goudenkorst.nl");
/// assert_eq!(list.len(), 2);
/// # Ok::<(), crm_model::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailList(Vec<Email>);

impl EmailList {
    /// The first address (a list is never empty).
    pub fn first(&self) -> &Email {
        // Construction guarantees at least one address.
        &self.0[0]
    }

    /// Every address, in the order given.
    pub fn iter(&self) -> std::slice::Iter<'_, Email> {
        self.0.iter()
    }

    /// The number of addresses (at least 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a list holds at least one address.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The addresses as a slice.
    pub fn as_slice(&self) -> &[Email] {
        &self.0
    }
}

impl From<Email> for EmailList {
    fn from(email: Email) -> Self {
        Self(vec![email])
    }
}

impl<'a> IntoIterator for &'a EmailList {
    type Item = &'a Email;
    type IntoIter = std::slice::Iter<'a, Email>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for EmailList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, email) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(email.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for EmailList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailList({self})")
    }
}

impl FromStr for EmailList {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(ParseError::new("email", s, ParseErrorReason::Empty));
        }
        let body = s.trim_end();
        let body = body.strip_suffix(';').unwrap_or(body);
        let items: Vec<&str> = body.split(';').collect();
        if items.len() == 1 {
            // One address: the error names the value as given.
            return body
                .parse()
                .map(|e| Self(vec![e]))
                .map_err(|e: ParseError| ParseError::new("email", s, e.reason()));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if item.trim().is_empty() {
                return Err(ParseError::new(
                    "email",
                    s,
                    ParseErrorReason::Format("e-mail addresses separated by `;`, none empty"),
                ));
            }
            // Name the address that is wrong, not the whole list.
            out.push(item.parse::<Email>()?);
        }
        Ok(Self(out))
    }
}

string_serde!(EmailList, "one or more e-mail addresses separated by `;`");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_forms() {
        let i: Iban = " nl91 abna 0417 1643 00 ".parse().unwrap();
        assert_eq!(i.to_string(), "NL91ABNA0417164300");
        assert_eq!(i.bank_identifier(), Some("ABNA"));
        let e = "NL92ABNA0417164300".parse::<Iban>().unwrap_err();
        assert_eq!(e.field(), "iban");
        assert_eq!(e.reason(), ParseErrorReason::Checksum);
        assert!("hello".parse::<Iban>().is_err());
    }

    #[test]
    fn email_lists() {
        let l: EmailList = "a@x.nl".parse().unwrap();
        assert_eq!((l.len(), l.to_string().as_str()), (1, "a@x.nl"));
        let l: EmailList = " a@x.nl ;b@Y.nl; ".parse().unwrap();
        assert_eq!(l.to_string(), "a@x.nl;b@y.nl");
        assert_eq!(l.iter().count(), 2);
        assert!("a@x.nl;;b@x.nl".parse::<EmailList>().is_err());
        assert!(";a@x.nl".parse::<EmailList>().is_err());
        assert!(";".parse::<EmailList>().is_err());
        assert!("".parse::<EmailList>().is_err());
        let e = "a@x.nl; nope".parse::<EmailList>().unwrap_err();
        assert_eq!(e.value(), " nope");
        assert!("a@x.nl, b@x.nl".parse::<EmailList>().is_err());
    }

    #[test]
    fn email_forms() {
        let e: Email = " mailto:Jan.Jansen@Example.NL ".parse().unwrap();
        assert_eq!(e.as_str(), "Jan.Jansen@example.nl");
        assert_eq!(e.domain(), "example.nl");
        assert!("jan@localhost".parse::<Email>().is_err());
        assert!("Jan <jan@example.nl>".parse::<Email>().is_err());
        assert!("jan@@example.nl".parse::<Email>().is_err());
    }
}
