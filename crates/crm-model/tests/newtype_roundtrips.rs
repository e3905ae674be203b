//! Property tests: every newtype parses its own output back to the same value, also from the
//! lenient spellings a CRM produces, and survives a JSON round-trip.

use std::str::FromStr;

use crm_model::{
    BtwId, CountryCode, Email, EmailList, Iban, KvkNumber, Money, Postcode, VatCategory,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn roundtrip<T>(value: &T)
where
    T: FromStr + std::fmt::Display + PartialEq + std::fmt::Debug + serde::Serialize,
    T: serde::de::DeserializeOwned,
    <T as FromStr>::Err: std::fmt::Debug,
{
    let printed = value.to_string();
    let reparsed: T = printed.parse().expect("own output must parse");
    assert_eq!(&reparsed, value, "Display/FromStr round-trip of {printed}");
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).expect("own JSON must parse");
    assert_eq!(&back, value, "serde round-trip of {json}");
}

/// Sprinkles separators and random case into an identifier the way people type them.
fn messy(s: &str, seps: &[u8], lower: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if lower.get(i).copied().unwrap_or(false) {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        match seps.get(i) {
            Some(1) => out.push(' '),
            Some(2) => out.push('.'),
            Some(3) => out.push('-'),
            _ => {}
        }
    }
    format!("  {out} ")
}

fn elf_valid_nl_btw() -> impl Strategy<Value = String> {
    (proptest::collection::vec(0u32..10, 8), 0u32..100).prop_filter_map(
        "remainder 10 has no check digit",
        |(d, suffix)| {
            let sum: u32 = d.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
            let check = sum % 11;
            (check < 10).then(|| {
                let digits: String = d
                    .iter()
                    .map(|d| char::from_digit(*d, 10).unwrap())
                    .collect();
                format!("NL{digits}{check}B{suffix:02}")
            })
        },
    )
}

fn mod97_valid_nl_btw() -> impl Strategy<Value = String> {
    // Pick 9 digits and the first suffix digit, then solve the last digit so that mod 97 == 1
    // (when one of the ten candidates does).
    (proptest::collection::vec(0u32..10, 9), 0u32..10).prop_filter_map(
        "no suffix digit gives remainder 1",
        |(d, s1)| {
            let digits: String = d
                .iter()
                .map(|d| char::from_digit(*d, 10).unwrap())
                .collect();
            (0..10).find_map(|s2| {
                let id = format!("NL{digits}B{s1}{s2}");
                let n: String = id
                    .chars()
                    .map(|c| c.to_digit(36).unwrap().to_string())
                    .collect();
                let rem = n
                    .bytes()
                    .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
                (rem == 1).then_some(id)
            })
        },
    )
}

fn nl_iban() -> impl Strategy<Value = String> {
    ("[A-Z]{4}", "[0-9]{10}").prop_map(|(bank, account)| {
        let bban = format!("{bank}{account}");
        let rearranged = format!("{bban}NL00");
        let n: String = rearranged
            .chars()
            .map(|c| c.to_digit(36).unwrap().to_string())
            .collect();
        let rem = n
            .bytes()
            .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
        format!("NL{:02}{bban}", 98 - rem)
    })
}

proptest! {
    #[test]
    fn btw_elf_proef_numbers_roundtrip(id in elf_valid_nl_btw(), seps in proptest::collection::vec(0u8..4, 14), lower in proptest::collection::vec(any::<bool>(), 14)) {
        let parsed: BtwId = messy(&id, &seps, &lower).parse().unwrap();
        prop_assert_eq!(parsed.as_str(), id.as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn btw_mod97_numbers_roundtrip(id in mod97_valid_nl_btw()) {
        let parsed: BtwId = id.parse().unwrap();
        prop_assert_eq!(parsed.as_str(), id.as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn btw_foreign_numbers_roundtrip(digits in "[0-9]{9}") {
        let parsed: BtwId = format!("de {digits}").parse().unwrap();
        prop_assert_eq!(parsed.to_string(), format!("DE{digits}"));
        roundtrip(&parsed);
    }

    #[test]
    fn btw_never_panics(s in "\\PC{0,20}") {
        let _ = s.parse::<BtwId>();
    }

    #[test]
    fn btw_without_prefix_is_the_same_id(id in elf_valid_nl_btw(), seps in proptest::collection::vec(0u8..4, 12), lower in proptest::collection::vec(any::<bool>(), 12)) {
        let bare: BtwId = messy(&id[2..], &seps, &lower).parse().unwrap();
        prop_assert!(bare.prefix_inferred());
        let prefixed: BtwId = id.parse().unwrap();
        prop_assert!(!prefixed.prefix_inferred());
        prop_assert_eq!(&bare, &prefixed);
        roundtrip(&bare);
    }

    #[test]
    fn kvk_with_label(digits in "[0-9]{8}", label in prop_oneof![Just("KvK "), Just("KvK-nummer: "), Just("kvk nr. "), Just("KVK:")]) {
        let parsed: KvkNumber = format!("{label}{digits}").parse().unwrap();
        prop_assert_eq!(parsed.as_str(), digits.as_str());
        prop_assert!(!parsed.leading_zero_restored());
    }

    #[test]
    fn kvk_never_panics(s in "\\PC{0,24}") {
        let _ = s.parse::<KvkNumber>();
    }

    #[test]
    fn email_list_roundtrip(locals in proptest::collection::vec("[a-z][a-z0-9]{0,8}", 1..5), spaced in any::<bool>()) {
        let sep = if spaced { " ; " } else { ";" };
        let input = locals.iter().map(|l| format!("{l}@example.nl")).collect::<Vec<_>>().join(sep);
        let parsed: EmailList = input.parse().unwrap();
        prop_assert_eq!(parsed.len(), locals.len());
        prop_assert_eq!(parsed.first().local_part(), locals[0].as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn email_list_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<EmailList>();
    }

    #[test]
    fn kvk_roundtrip(digits in "[0-9]{8}", seps in proptest::collection::vec(0u8..4, 8)) {
        let parsed: KvkNumber = messy(&digits, &seps, &[]).parse().unwrap();
        prop_assert_eq!(parsed.as_str(), digits.as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn iban_roundtrip(iban in nl_iban(), lower in proptest::collection::vec(any::<bool>(), 18)) {
        let parsed: Iban = messy(&iban, &[], &lower).parse().unwrap();
        prop_assert_eq!(parsed.as_str(), iban.as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn email_roundtrip(local in "[a-z0-9][a-z0-9._+-]{0,15}[a-z0-9]", domain in "[a-z][a-z0-9-]{0,10}[a-z0-9]", tld in "[a-z]{2,6}", upper in any::<bool>()) {
        let domain_in = if upper { domain.to_uppercase() } else { domain.clone() };
        prop_assume!(!local.contains(".."));
        let parsed: Email = format!(" {local}@{domain_in}.{tld} ").parse().unwrap();
        prop_assert_eq!(parsed.as_str(), format!("{local}@{domain}.{tld}"));
        roundtrip(&parsed);
    }

    #[test]
    fn postcode_roundtrip(digits in "[1-9][0-9]{3}", letters in "[A-Z]{2}", spaced in any::<bool>(), lower in any::<bool>()) {
        prop_assume!(!matches!(letters.as_str(), "SA" | "SD" | "SS"));
        let l = if lower { letters.to_lowercase() } else { letters.clone() };
        let input = if spaced { format!("{digits} {l}") } else { format!("{digits}{l}") };
        let parsed: Postcode = input.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), format!("{digits} {letters}"));
        roundtrip(&parsed);
    }

    #[test]
    fn country_roundtrip(code in "[A-Z]{2}") {
        prop_assume!(code != "UK");
        let parsed: CountryCode = code.to_lowercase().parse().unwrap();
        prop_assert_eq!(parsed.as_str(), code.as_str());
        roundtrip(&parsed);
    }

    #[test]
    fn money_roundtrip(cents in any::<i64>()) {
        let m = Money::from_cents(cents);
        prop_assert_eq!(m.cents(), Some(cents));
        roundtrip(&m);
        // The Dutch spelling with a decimal comma reads back to the same amount.
        let dutch = m.to_string().replace('.', ",");
        prop_assert_eq!(dutch.parse::<Money>().unwrap(), m);
    }

    #[test]
    fn money_rounding_is_within_half_a_cent(mantissa in any::<i64>(), scale in 0u32..8) {
        let d = Decimal::new(mantissa, scale);
        let rounded = Money::round_from(d);
        prop_assert!((rounded.amount() - d).abs() <= Decimal::new(5, 3));
        prop_assert_eq!(rounded.amount().scale(), 2);
    }

    #[test]
    fn vat_category_roundtrip(i in 0usize..7) {
        roundtrip(&VatCategory::ALL[i]);
    }
}
