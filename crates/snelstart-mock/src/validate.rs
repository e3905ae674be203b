//! Check-digit and format checks for IBAN, BIC, VAT numbers, KvK numbers, e-mail and URLs.

/// ISO 13616 IBAN check (mod 97, country lengths) via `iban_validate`.
pub(crate) fn iban_valid(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    compact.parse::<iban::Iban>().is_ok()
}

/// ISO 9362 BIC form: 4 letters bank, 2 letters country, 2 alphanumerics location, optional 3
/// alphanumerics branch.
pub(crate) fn bic_valid(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Dutch KvK number: exactly 8 digits.
pub(crate) fn kvk_valid(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit())
}

/// VAT number validity. NL numbers (`NL` + 9 digits + `B` + 2 digits) pass when either the
/// 2020 mod-97 rule (sole traders) or the elf-proef on the 9 digits (legal entities) holds.
/// Other countries are checked for form only: 2 letters and 2..=13 letters or digits.
pub(crate) fn vat_valid(s: &str) -> bool {
    let s = s.to_ascii_uppercase();
    let b = s.as_bytes();
    if b.len() < 4 || !b[0].is_ascii_alphabetic() || !b[1].is_ascii_alphabetic() {
        return false;
    }
    if &s[..2] != "NL" {
        return b[2..].iter().all(u8::is_ascii_alphanumeric) && (2..=13).contains(&(b.len() - 2));
    }
    if b.len() != 14
        || b[11] != b'B'
        || !b[2..11].iter().all(u8::is_ascii_digit)
        || !b[12..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    nl_vat_mod97(&s) || elf_proef(&s[2..11])
}

fn nl_vat_mod97(s: &str) -> bool {
    let mut rem: u32 = 0;
    for c in s.chars() {
        let v = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            c as u32 - 'A' as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// The Dutch "elf-proef" on 9 digits: Σ dᵢ·(9..2) − d₉ ≡ 0 (mod 11).
pub(crate) fn elf_proef(digits: &str) -> bool {
    let d: Vec<i64> = digits.bytes().map(|c| i64::from(c - b'0')).collect();
    if d.len() != 9 {
        return false;
    }
    let sum: i64 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(x, w)| x * w)
        .sum::<i64>()
        - d[8];
    sum % 11 == 0
}

/// One valid address, or several separated by `;`.
pub(crate) fn emails_valid(s: &str) -> bool {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .all(email_address::EmailAddress::is_valid)
        && s.split(';').any(|p| !p.trim().is_empty())
}

/// A website URL: optional http(s) scheme, a host with a dot, no spaces.
pub(crate) fn url_valid(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !s.contains(char::is_whitespace)
        && host.contains('.')
        && host.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
        })
}

/// Compute the IBAN check digits for a country code and BBAN (used to generate seed data).
pub(crate) fn iban_with_check(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            c.to_ascii_uppercase() as u32 - 'A' as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban() {
        assert!(iban_valid("NL91ABNA0417164300"));
        assert!(iban_valid("NL91 ABNA 0417 1643 00"));
        assert!(!iban_valid("NL92ABNA0417164300"));
        assert!(iban_valid(&iban_with_check("NL", "RABO0123456789")));
    }

    #[test]
    fn vat() {
        // Elf-proef: 123456782 → 1·9+2·8+3·7+4·6+5·5+6·4+7·3+8·2 − 2 = 154 = 14·11.
        assert!(vat_valid("NL123456782B01"));
        assert!(!vat_valid("NL123456781B01"));
        // 2020 mod-97 style sole-trader number.
        assert!(vat_valid("NL000099998B57"));
        assert!(vat_valid("DE123456789"));
        assert!(!vat_valid("NL12345678B01"));
    }

    #[test]
    fn others() {
        assert!(kvk_valid("12345678"));
        assert!(!kvk_valid("1234567"));
        assert!(bic_valid("ABNANL2A"));
        assert!(bic_valid("ABNANL2AXXX"));
        assert!(!bic_valid("abnaNL2A"));
        assert!(emails_valid("a@b.nl; c@d.nl"));
        assert!(!emails_valid("a@b.nl; nope"));
        assert!(url_valid("https://example.nl/x"));
        assert!(url_valid("www.example.nl"));
        assert!(!url_valid("not a url"));
    }
}
