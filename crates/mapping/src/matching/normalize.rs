//! Normalisation of the raw values a relation carries into comparable match keys.
//!
//! Every function here is lenient about its input (spacing, case, punctuation, accents, the
//! many ways people write a Dutch phone number) and strict about its output: a value that cannot
//! be a valid identifier yields `None`, so garbage never produces a spurious match.
//!
//! These keys are for *comparison only*: they are lossy by design (accents dropped, legal forms
//! stripped) and must never be written back to SnelStart or the CRM.

use std::borrow::Cow;

/// Freemail providers common in the Netherlands (and internationally).
///
/// Matched against the registrable label of a domain (`hotmail` in `hotmail.co.uk`), so every
/// country variant of a provider is covered by one entry. Sharing such a domain says nothing
/// about two relations being the same company.
pub const FREEMAIL_PROVIDERS: &[&str] = &[
    "aol",
    "caiway",
    "casema",
    "chello",
    "gmail",
    "gmx",
    "googlemail",
    "hetnet",
    "home",
    "hotmail",
    "icloud",
    "kpn",
    "kpnmail",
    "kpnplanet",
    "live",
    "mac",
    "me",
    "msn",
    "online",
    "onsbrabantnet",
    "outlook",
    "planet",
    "proton",
    "protonmail",
    "quicknet",
    "skynet",
    "solcon",
    "tele2",
    "telenet",
    "telfort",
    "tiscali",
    "upcmail",
    "versatel",
    "web",
    "xs4all",
    "yahoo",
    "ymail",
    "zeelandnet",
    "ziggo",
];

/// The legal form a company name carries, as far as it can be read from the name.
///
/// Two names that differ only in their legal form ("Jansen B.V." and "Jansen V.O.F.") are
/// probably the same business in two incarnations, or two different entities: it is weak
/// evidence against a match, never a veto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegalForm {
    /// Besloten vennootschap (B.V., BV).
    Bv,
    /// Naamloze vennootschap (N.V., NV).
    Nv,
    /// Vennootschap onder firma (V.O.F.).
    Vof,
    /// Commanditaire vennootschap (C.V.).
    Cv,
    /// Stichting (foundation).
    Stichting,
    /// Vereniging (association).
    Vereniging,
    /// Coöperatie (U.A., W.A., B.A.).
    Cooperatie,
    /// Maatschap (partnership of professionals).
    Maatschap,
    /// Eenmanszaak (sole proprietorship).
    Eenmanszaak,
    /// A foreign legal form (GmbH, Ltd, BVBA, S.A., ...).
    Foreign,
}

/// A marker in a name that makes it a *different* entity from the same name without it.
///
/// "Jansen Holding B.V." owns "Jansen B.V.": same family name, often the same address, phone
/// and accountant, but two relations with their own KvK number and their own invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EntityRole {
    /// No marker: an operating company, a foundation, a person.
    #[default]
    Operating,
    /// A holding or personal management company ("Holding", "Beheer").
    Holding,
}

/// A company name reduced to what identifies it: ASCII, lower case, no punctuation, no legal
/// form, no holding marker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameKey {
    /// The significant tokens joined by single spaces (`"bakkerij de zandloper"`).
    pub compact: String,
    /// The legal form found in the name, if any.
    pub legal_form: Option<LegalForm>,
    /// Holding or operating company.
    pub role: EntityRole,
    /// Number of characters of the raw name (SnelStart truncates `naam` at 50).
    pub raw_len: usize,
}

impl NameKey {
    /// The significant tokens of the name.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.compact.split(' ').filter(|t| !t.is_empty())
    }

    /// `true` when no significant token is left (empty name, or a name that is only a legal form).
    pub fn is_empty(&self) -> bool {
        self.compact.is_empty()
    }
}

/// What a token of a name means once punctuation is gone.
fn legal_form_of(token: &str) -> Option<LegalForm> {
    Some(match token {
        "bv" | "besloten" => LegalForm::Bv,
        "nv" | "naamloze" => LegalForm::Nv,
        "vof" => LegalForm::Vof,
        "cv" | "commanditaire" => LegalForm::Cv,
        "stichting" => LegalForm::Stichting,
        "vereniging" => LegalForm::Vereniging,
        "cooperatie" | "coop" | "ua" | "wa" | "ba" => LegalForm::Cooperatie,
        "maatschap" => LegalForm::Maatschap,
        "eenmanszaak" | "ez" => LegalForm::Eenmanszaak,
        "gmbh" | "ltd" | "limited" | "bvba" | "bv_ba" | "sa" | "sarl" | "ag" | "inc" | "llc"
        | "plc" | "sprl" | "srl" => LegalForm::Foreign,
        _ => return None,
    })
}

/// Tokens that are noise at the edges of a name: "i.o." (in oprichting), "vennootschap".
fn is_edge_noise(token: &str) -> bool {
    matches!(token, "io" | "vennootschap" | "onder" | "firma" | "en")
}

fn is_holding_marker(token: &str) -> bool {
    matches!(
        token,
        "holding" | "holdings" | "beheer" | "beheermaatschappij" | "beheersmaatschappij"
    ) || (token.len() >= 6
        // A mistyped marker ("Holdding", "Hodling") must still separate holding from
        // operating company: missing it would merge two relations.
        && (within_one_edit(token.as_bytes(), b"holding")
            || within_one_edit(token.as_bytes(), b"beheer")))
}

/// `true` when `a` and `b` differ by exactly one substitution, insertion, deletion or swap of
/// adjacent characters. Linear and allocation-free: it runs for every word of every name.
fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// Spelling variants that mean the same word in a company name.
fn canonical_token(token: &str) -> &str {
    match token {
        "gebr" | "gebrs" | "gebroeders" => "gebroeders",
        "and" | "und" => "en",
        "centre" => "centrum",
        "st" | "sint" => "sint",
        _ => token,
    }
}

/// Normalise a company or person name into a [`NameKey`].
///
/// Accents are transliterated (`Café Ümit` -> `cafe umit`), dots and apostrophes vanish so
/// `B.V.`, `B. V.` and `BV` are the same token and `Domino's` is `dominos`, `&` and `+` read as
/// `en`, legal forms at either end are recorded and removed, and holding markers anywhere are
/// recorded and removed.
pub fn normalize_name(raw: &str) -> NameKey {
    // Most names are ASCII, where the byte length is the character count (a SIMD check
    // instead of decoding every character).
    let raw_len = if raw.is_ascii() {
        raw.len()
    } else {
        raw.chars().count()
    };
    let ascii: Cow<'_, str> = deunicode::deunicode_with_tofu_cow(raw, "");
    let mut cleaned = String::with_capacity(ascii.len() + 8);
    for c in ascii.chars() {
        match c {
            'a'..='z' | '0'..='9' => cleaned.push(c),
            'A'..='Z' => cleaned.push(c.to_ascii_lowercase()),
            // Dots and apostrophes glue: "B.V." -> "bv", "Domino's" -> "dominos".
            '.' | '\'' | '`' => {}
            '&' | '+' => cleaned.push_str(" en "),
            _ => cleaned.push(' '),
        }
    }

    // Merge runs of single letters ("b v" from "B. V.", "v o f") into one token. Tokens
    // borrow from `cleaned` where they can: this runs for every record of both sides.
    let mut tokens: Vec<Cow<'_, str>> = Vec::with_capacity(8);
    let mut letters = String::new();
    for token in cleaned.split_ascii_whitespace() {
        if token.len() == 1 && token.as_bytes()[0].is_ascii_alphabetic() {
            letters.push_str(token);
            continue;
        }
        if !letters.is_empty() {
            tokens.push(Cow::Owned(std::mem::take(&mut letters)));
        }
        tokens.push(Cow::Borrowed(canonical_token(token)));
    }
    if !letters.is_empty() {
        tokens.push(Cow::Owned(letters));
    }

    let mut role = EntityRole::Operating;
    tokens.retain(|t| {
        if is_holding_marker(t) {
            role = EntityRole::Holding;
            false
        } else {
            true
        }
    });

    // Legal forms only count at the edges of a name. At the end every form is stripped; at the
    // start only forms that people really put first ("Stichting X"), so that a trade name such
    // as "CV Service Jansen" (central heating) keeps its first word.
    let mut legal_form = None;
    while let Some(last) = tokens.last() {
        if let Some(form) = legal_form_of(last) {
            legal_form.get_or_insert(form);
            tokens.pop();
        } else if is_edge_noise(last) && tokens.len() > 1 {
            tokens.pop();
        } else {
            break;
        }
    }
    while let Some(first) = tokens.first() {
        let form = match first.as_ref() {
            "stichting" => Some(LegalForm::Stichting),
            "vereniging" => Some(LegalForm::Vereniging),
            "cooperatie" | "coop" => Some(LegalForm::Cooperatie),
            "maatschap" => Some(LegalForm::Maatschap),
            "eenmanszaak" => Some(LegalForm::Eenmanszaak),
            "bv" | "nv" | "vof" => legal_form_of(first),
            _ => None,
        };
        match form {
            Some(form) if tokens.len() > 1 => {
                legal_form.get_or_insert(form);
                tokens.remove(0);
            }
            _ => break,
        }
    }

    let mut compact = String::with_capacity(cleaned.len());
    for token in &tokens {
        if !compact.is_empty() {
            compact.push(' ');
        }
        compact.push_str(token);
    }
    NameKey {
        compact,
        legal_form,
        role,
        raw_len,
    }
}

/// Normalise a KvK (Chamber of Commerce) number: digits only, exactly 8.
///
/// Accepts the forms real exports hold: `12345678`, `1234 5678`, `12.34.56.78`,
/// `KvK 12345678`, `KvK-nummer: 12345678`. A 7-digit number is padded with its lost leading
/// zero (spreadsheets drop it; usable as evidence, never written). Anything else is not a KvK
/// number and yields `None`.
pub fn normalize_kvk(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    // A label in front ("KvK", "KvK-nummer:", "kvk nr.") is dropped; letters anywhere else
    // mean this is something else (a VAT id, a vestigingsnummer with text).
    let mut rest = lower.as_str();
    for label in [
        "kvk-nummer",
        "kvknummer",
        "kvk nummer",
        "kvk-nr",
        "kvk nr",
        "kvknr",
        "kvk",
    ] {
        if let Some(stripped) = rest.strip_prefix(label) {
            rest = stripped;
            break;
        }
    }
    let rest = rest.trim_start_matches([' ', ':', '.', '-', '#']);
    if rest.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        8 if digits != "00000000" => Some(digits),
        7 if digits != "0000000" => Some(format!("0{digits}")),
        _ => None,
    }
}

/// Normalise a VAT identification number: upper case, letters and digits only, with a country
/// prefix. A bare Dutch number (`123456789B01`) gets its `NL` prefix, a bare Belgian
/// enterprise number (`0123.456.789`, mod-97 checked) its `BE` prefix; a Belgian number
/// written with 9 digits (the old form without the leading 0) is padded.
///
/// Returns `None` when the value cannot be a VAT number (too short, no digits).
pub fn normalize_vat(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digits = cleaned.chars().filter(char::is_ascii_digit).count();
    if digits < 7 || cleaned.len() > 16 {
        return None;
    }
    let bytes = cleaned.as_bytes();
    if bytes[0].is_ascii_alphabetic() && bytes[1].is_ascii_alphabetic() {
        if let Some(number) = cleaned.strip_prefix("BE")
            && number.len() == 9
            && number.bytes().all(|b| b.is_ascii_digit())
        {
            return Some(format!("BE0{number}"));
        }
        Some(cleaned)
    } else if cleaned.len() == 12 && bytes[9] == b'B' {
        Some(format!("NL{cleaned}"))
    } else if cleaned.len() == 10
        && matches!(bytes[0], b'0' | b'1')
        && bytes.iter().all(u8::is_ascii_digit)
        && belgian_check(&cleaned)
    {
        Some(format!("BE{cleaned}"))
    } else {
        None
    }
}

/// The mod-97 check of a 10-digit Belgian enterprise number: the last two digits are 97 minus
/// the first eight modulo 97.
fn belgian_check(digits: &str) -> bool {
    let (Ok(base), Ok(check)) = (digits[..8].parse::<u64>(), digits[8..].parse::<u64>()) else {
        return false;
    };
    97 - base % 97 == check
}

/// Normalise an IBAN: upper case, no spaces, and the ISO 13616 mod-97 check must pass.
pub fn normalize_iban(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = cleaned.as_bytes();
    if !(15..=34).contains(&bytes.len())
        || !bytes[..2].iter().all(u8::is_ascii_alphabetic)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return None;
    }
    // Move the first four characters to the end, letters become 10..35, remainder mod 97 == 1.
    let mut remainder: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(cleaned)
}

/// Normalise one e-mail address: trimmed, lower case, `mailto:` and display names removed.
///
/// Returns `None` unless there is exactly one `@` with a local part and a dotted domain.
pub fn normalize_email(raw: &str) -> Option<String> {
    let mut out = String::new();
    normalize_email_into(raw, &mut out).then_some(out)
}

/// [`normalize_email`] into a reused buffer (cleared first): `false` when `raw` is no e-mail
/// address. The matcher normalises every address of both sides with one buffer per record.
pub(crate) fn normalize_email_into(raw: &str, out: &mut String) -> bool {
    out.clear();
    let mut value = raw.trim();
    // "Jan Jansen <jan@x.nl>" -> "jan@x.nl"
    if let (Some(start), Some(end)) = (value.find('<'), value.rfind('>'))
        && start < end
    {
        value = &value[start + 1..end];
    }
    let value = value.trim();
    let value = value
        .strip_prefix("mailto:")
        .or_else(|| value.strip_prefix("MAILTO:"))
        .unwrap_or(value);
    let Some(at) = value.find('@') else {
        return false;
    };
    let (local, domain) = (&value[..at], &value[at + 1..]);
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || (value.is_ascii() && value.bytes().any(|b| b.is_ascii_whitespace()))
        || (!value.is_ascii() && value.chars().any(char::is_whitespace))
    {
        return false;
    }
    out.push_str(value);
    out.make_ascii_lowercase();
    true
}

/// Split a field that may hold several e-mail addresses (SnelStart allows `;`, people also use
/// `,` and spaces) and normalise each one, dropping the invalid ones.
pub fn normalize_emails(raw: &str) -> impl Iterator<Item = String> + '_ {
    raw.split([';', ',', ' ']).filter_map(normalize_email)
}

/// The domain of a normalised e-mail address.
pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// The registrable label of a domain: `hotmail` for `hotmail.co.uk`, `ziggo` for
/// `mail.ziggo.nl`.
fn registrable_label(domain: &str) -> &str {
    let mut labels = domain.rsplit('.');
    let _tld = labels.next();
    match labels.next() {
        Some(second @ ("co" | "com" | "org" | "net" | "ac")) => labels.next().unwrap_or(second),
        Some(second) => second,
        None => domain,
    }
}

/// `true` when the domain belongs to a freemail provider from [`FREEMAIL_PROVIDERS`] or from
/// `extra` (whole domains or registrable labels, lower case).
pub fn is_freemail(domain: &str, extra: &[String]) -> bool {
    let label = registrable_label(domain);
    FREEMAIL_PROVIDERS.binary_search(&label).is_ok()
        || extra.iter().any(|e| e == domain || e == label)
}

/// Normalise a phone number to an international form: `+31205550142`.
///
/// Accepts `020-5550142`, `+31 20 555 01 42`, `+31 (0)20 555 01 42`, `0031205550142`,
/// `(020) 5550142`, `06-12345678`. A number starting with a single `0` is Dutch. Returns `None`
/// for fewer than 8 digits.
pub fn normalize_phone(raw: &str) -> Option<String> {
    normalize_phone_in(raw, "31")
}

/// [`normalize_phone`] for a relation in the country with calling code `country_code`
/// (`"31"`, `"32"`, `"49"`): a national number (single leading `0`) gets that code.
pub fn normalize_phone_in(raw: &str, country_code: &str) -> Option<String> {
    let mut buf = [0u8; PHONE_BUF];
    let len = international_digits(raw, country_code, &mut buf)?;
    let mut out = String::with_capacity(len + 1);
    out.push('+');
    // The buffer holds ASCII digits only.
    out.extend(buf[..len].iter().map(|&b| char::from(b)));
    Some(out)
}

/// [`normalize_phone_in`] as the number its international digits form, without allocating:
/// what the matcher compares (it runs for every phone number of both sides).
pub(crate) fn phone_number_in(raw: &str, country_code: &str) -> Option<u64> {
    let mut buf = [0u8; PHONE_BUF];
    let len = international_digits(raw, country_code, &mut buf)?;
    buf[..len].iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Room for a calling code (at most 3 digits) and 15 digits.
const PHONE_BUF: usize = 20;

/// The international digits of a phone number (see [`normalize_phone_in`]) into `out`;
/// returns their count.
fn international_digits(raw: &str, country_code: &str, out: &mut [u8; PHONE_BUF]) -> Option<usize> {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let bytes = trimmed.as_bytes();
    // Digits only, with "(0)" (a national trunk prefix people add after a country code)
    // dropped; more than 15 digits is no phone number.
    let mut digits = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"(0)") {
            i += 3;
            continue;
        }
        if bytes[i].is_ascii_digit() {
            if n == digits.len() {
                return None;
            }
            digits[n] = bytes[i];
            n += 1;
        }
        i += 1;
    }
    let digits = &digits[..n];
    if !(8..=15).contains(&n) {
        return None;
    }
    let code = country_code.as_bytes();
    let parts: [&[u8]; 2] = if plus {
        [&[], digits]
    } else if let Some(rest) = digits.strip_prefix(b"00") {
        [&[], rest]
    } else if let Some(rest) = digits.strip_prefix(b"0") {
        [code, rest]
    } else if n == 11 && digits.starts_with(b"31") {
        [&[], digits]
    } else if n == 9 && country_code == "31" {
        // No prefix at all: a Dutch number whose leading zero got lost (9 digits).
        [b"31", digits]
    } else {
        [&[], digits]
    };
    let mut len = 0;
    for part in parts {
        let end = len + part.len();
        out.get_mut(len..end)?.copy_from_slice(part);
        len = end;
    }
    Some(len)
}

/// The calling code for an ISO country code or country name (Dutch when unknown).
pub fn phone_country_code(country: &str) -> &'static str {
    match country.trim().to_ascii_uppercase().as_str() {
        "BE" | "BEL" | "BELGIE" | "BELGIË" | "BELGIUM" => "32",
        "DE" | "DEU" | "DUITSLAND" | "GERMANY" | "DEUTSCHLAND" => "49",
        "LU" | "LUX" | "LUXEMBURG" | "LUXEMBOURG" => "352",
        "FR" | "FRA" | "FRANKRIJK" | "FRANCE" => "33",
        _ => "31",
    }
}

/// The calling code a postcode's shape suggests: `B-2000` or four digits is Belgian,
/// `D-40210` or five digits German, anything else Dutch.
pub fn phone_country_of_postcode(postcode: &str) -> &'static str {
    // Runs for every record: no allocation.
    let mut letters = [0u8; 2];
    let (mut n_letters, mut n_digits) = (0usize, 0usize);
    for b in postcode.bytes().filter(u8::is_ascii_alphanumeric) {
        if b.is_ascii_digit() {
            n_digits += 1;
        } else if n_digits == 0 && n_letters < 2 {
            letters[n_letters] = b.to_ascii_uppercase();
            n_letters += 1;
        } else {
            // Letters after digits (a Dutch postcode) or a long prefix.
            return "31";
        }
    }
    match (&letters[..n_letters], n_digits) {
        (b"B" | b"BE" | b"", 4) => "32",
        (b"D" | b"DE" | b"", 5) => "49",
        _ => "31",
    }
}

/// The domain of a website, lower case without scheme, `www.`, port or path: `x.nl` for
/// `https://www.X.nl/contact`. `None` when there is no dotted host.
pub fn website_domain(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let rest = lower.split_once("://").map_or(lower.as_str(), |(_, r)| r);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.strip_prefix("www.").unwrap_or(host);
    let valid = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    valid.then(|| host.to_owned())
}

/// Normalise a postcode: upper case without spaces. A Dutch postcode must be 4 digits (not
/// starting with 0) and 2 letters; a country prefix (`B-2000`, `D-40210`, `NL-1234 AB`) is
/// dropped; other values are kept when they have at least 3 characters.
pub fn normalize_postcode(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let letters = cleaned.bytes().take_while(u8::is_ascii_alphabetic).count();
    let cleaned = if (1..=2).contains(&letters)
        && matches!(
            &cleaned[..letters],
            "B" | "BE" | "D" | "DE" | "NL" | "L" | "F"
        )
        && cleaned.len() > letters
        && cleaned.as_bytes()[letters].is_ascii_digit()
    {
        cleaned[letters..].to_owned()
    } else {
        cleaned
    };
    let bytes = cleaned.as_bytes();
    let looks_dutch = bytes.len() == 6 && bytes[..4].iter().all(u8::is_ascii_digit);
    if looks_dutch {
        let valid = bytes[0] != b'0' && bytes[4..].iter().all(u8::is_ascii_alphabetic);
        return valid.then_some(cleaned);
    }
    (cleaned.len() >= 3).then_some(cleaned)
}

/// A house number split into its number and its addition (`"118-A"` -> `118`, `"A"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HouseNumber {
    /// The numeric part.
    pub number: u32,
    /// The addition, upper case without separators (`"A"`, `"III"`, `"BIS"`), possibly empty.
    pub addition: String,
}

/// Parse a house number with an optional addition: `118`, `118A`, `118-a`, `12 bis`, `45-III`.
pub fn parse_house_number(raw: &str) -> Option<HouseNumber> {
    let raw = raw.trim();
    let digits_end = raw
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(raw.len(), |(i, _)| i);
    if digits_end == 0 {
        return None;
    }
    let number: u32 = raw[..digits_end].parse().ok()?;
    if number == 0 {
        return None;
    }
    let addition: String = raw[digits_end..]
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Some(HouseNumber { number, addition })
}

/// Find the house number in a street line that includes it, the way SnelStart stores an
/// address (`"Lindengracht 118"`, `"2e Hugo de Grootstraat 5 hs"`, `"Postbus 90412"`).
///
/// The house number is the last token that starts with a digit and is not the first token
/// (street names such as "1e Constantijn Huygensstraat" start with a number); the tokens after
/// it form the addition.
pub fn house_number_from_street(street: &str) -> Option<HouseNumber> {
    let tokens: Vec<&str> = street.split_whitespace().collect();
    let position = tokens
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .find(|(_, t)| t.as_bytes()[0].is_ascii_digit())
        .map(|(i, _)| i)?;
    let joined = tokens[position..].join(" ");
    parse_house_number(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freemail_list_is_sorted_for_binary_search() {
        let mut sorted = FREEMAIL_PROVIDERS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, FREEMAIL_PROVIDERS);
    }

    #[test]
    fn names_lose_case_accents_punctuation_and_legal_forms() {
        let key = normalize_name("Bakkerij De Zandloper B.V.");
        assert_eq!(key.compact, "bakkerij de zandloper");
        assert_eq!(key.legal_form, Some(LegalForm::Bv));
        assert_eq!(key.role, EntityRole::Operating);
        for variant in [
            "BAKKERIJ DE ZANDLOPER BV",
            "Bakkerij de Zandloper B. V.",
            "bakkerij  de zandloper, b.v.",
            "Bakkerij De Zandloper B.V. i.o.",
        ] {
            assert_eq!(
                normalize_name(variant).compact,
                "bakkerij de zandloper",
                "{variant}"
            );
        }
        assert_eq!(normalize_name("Café Ümit V.O.F.").compact, "cafe umit");
        assert_eq!(
            normalize_name("Café Ümit V.O.F.").legal_form,
            Some(LegalForm::Vof)
        );
        assert_eq!(normalize_name("Domino's Pizza").compact, "dominos pizza");
        assert_eq!(normalize_name("Jansen & Zn.").compact, "jansen en zn");
        assert_eq!(
            normalize_name("Gebr. de Vries").compact,
            "gebroeders de vries"
        );
        let stichting = normalize_name("Stichting Vrienden van het Rijksmuseum");
        assert_eq!(stichting.compact, "vrienden van het rijksmuseum");
        assert_eq!(stichting.legal_form, Some(LegalForm::Stichting));
    }

    #[test]
    fn holding_marker_is_recorded_not_compared() {
        let holding = normalize_name("Jansen Holding B.V.");
        let operating = normalize_name("Jansen B.V.");
        assert_eq!(holding.compact, operating.compact);
        assert_eq!(holding.role, EntityRole::Holding);
        assert_eq!(operating.role, EntityRole::Operating);
        assert_eq!(
            normalize_name("P. de Groot Beheer BV").role,
            EntityRole::Holding
        );
        assert_eq!(
            normalize_name("Van Dijk Holdding bv").role,
            EntityRole::Holding
        );
        assert_eq!(
            normalize_name("Van Dijk Hodling bv").role,
            EntityRole::Holding
        );
        assert_eq!(
            normalize_name("Van Dijk Holland bv").role,
            EntityRole::Operating
        );
    }

    #[test]
    fn one_edit_apart() {
        for (a, b) in [
            ("holdding", "holding"),
            ("hodling", "holding"),
            ("holdin", "holding"),
            ("holdimg", "holding"),
        ] {
            assert!(within_one_edit(a.as_bytes(), b.as_bytes()), "{a}");
            assert_eq!(strsim::damerau_levenshtein(a, b), 1);
        }
        for (a, b) in [
            ("holding", "holding"),
            ("holland", "holding"),
            ("hlodnig", "holding"),
            ("ho", "holding"),
        ] {
            assert!(!within_one_edit(a.as_bytes(), b.as_bytes()), "{a}");
        }
    }

    #[test]
    fn kvk_numbers() {
        assert_eq!(normalize_kvk(" 8765 4321 ").as_deref(), Some("87654321"));
        assert_eq!(normalize_kvk("1234567").as_deref(), Some("01234567"));
        assert_eq!(normalize_kvk("123"), None);
        assert_eq!(normalize_kvk("KVK123456789"), None);
        for form in [
            "12345678",
            "1234 5678",
            "12.34.56.78",
            "KvK 12345678",
            "KvK-nummer: 12345678",
            "kvk nr. 12345678",
        ] {
            assert_eq!(normalize_kvk(form).as_deref(), Some("12345678"), "{form}");
        }
        assert_eq!(normalize_kvk("NL123456789B01"), None);
        assert_eq!(normalize_kvk("00000000"), None);
    }

    #[test]
    fn vat_numbers() {
        assert_eq!(
            normalize_vat("nl 0012.34.560.B89").as_deref(),
            Some("NL001234560B89")
        );
        assert_eq!(
            normalize_vat("001234560B89").as_deref(),
            Some("NL001234560B89")
        );
        assert_eq!(normalize_vat("DE123456789").as_deref(), Some("DE123456789"));
        assert_eq!(normalize_vat("n.v.t."), None);
        for form in [
            "NL123456789B01",
            "NL 1234.56.789.B.01",
            "nl123456789b01",
            "123456789B01",
        ] {
            assert_eq!(
                normalize_vat(form).as_deref(),
                Some("NL123456789B01"),
                "{form}"
            );
        }
        // 0123456749: 01234567 mod 97 = 48, 97 - 48 = 49.
        for form in [
            "BE 0123.456.749",
            "0123.456.749",
            "BE123456749",
            "be0123456749",
        ] {
            assert_eq!(
                normalize_vat(form).as_deref(),
                Some("BE0123456749"),
                "{form}"
            );
        }
        assert_eq!(normalize_vat("0123.456.789"), None, "fails mod 97");
        assert_eq!(
            normalize_vat("DE 123 456 789").as_deref(),
            Some("DE123456789")
        );
    }

    #[test]
    fn ibans_need_a_valid_checksum() {
        assert_eq!(
            normalize_iban("nl91 abna 0417 1643 00").as_deref(),
            Some("NL91ABNA0417164300")
        );
        assert_eq!(normalize_iban("NL92ABNA0417164300"), None);
        assert_eq!(normalize_iban("123"), None);
    }

    #[test]
    fn emails_and_freemail() {
        assert_eq!(
            normalize_email(" Info@Bakkerij.NL ").as_deref(),
            Some("info@bakkerij.nl")
        );
        assert_eq!(
            normalize_email("Jan <jan@x.nl>").as_deref(),
            Some("jan@x.nl")
        );
        assert_eq!(normalize_email("mailto:a@b.nl").as_deref(), Some("a@b.nl"));
        assert_eq!(normalize_email("geen"), None);
        assert_eq!(normalize_email("a@@b.nl"), None);
        let list: Vec<_> = normalize_emails("a@b.nl; c@d.nl;;x").collect();
        assert_eq!(list, ["a@b.nl", "c@d.nl"]);
        assert_eq!(email_domain("a@b.nl"), "b.nl");
        for free in [
            "gmail.com",
            "hotmail.co.uk",
            "mail.ziggo.nl",
            "kpnmail.nl",
            "home.nl",
        ] {
            assert!(is_freemail(free, &[]), "{free}");
        }
        assert!(!is_freemail("dezandloper.nl", &[]));
        assert!(is_freemail("dezandloper.nl", &["dezandloper".to_owned()]));
    }

    #[test]
    fn phones_become_international() {
        for raw in [
            "020-5550142",
            "+31 20 555 01 42",
            "+31 (0)20 5550142",
            "0031205550142",
            "205550142",
        ] {
            assert_eq!(
                normalize_phone(raw).as_deref(),
                Some("+31205550142"),
                "{raw}"
            );
        }
        assert_eq!(
            normalize_phone("06-12345678").as_deref(),
            Some("+31612345678")
        );
        assert_eq!(
            normalize_phone("+49 30 1234567").as_deref(),
            Some("+49301234567")
        );
        assert_eq!(normalize_phone("112"), None);
        assert_eq!(
            normalize_phone("(020) 5550142").as_deref(),
            Some("+31205550142")
        );
        assert_eq!(
            normalize_phone_in("03 123 45 67", "32").as_deref(),
            Some("+3231234567")
        );
        assert_eq!(
            normalize_phone_in("0211/1234567", "49").as_deref(),
            Some("+492111234567")
        );
        assert_eq!(phone_country_of_postcode("B-2000"), "32");
        assert_eq!(phone_country_of_postcode("2000"), "32");
        assert_eq!(phone_country_of_postcode("D-40210"), "49");
        assert_eq!(phone_country_of_postcode("1015 KM"), "31");
        assert_eq!(
            website_domain("https://www.DeZandloper.nl/contact").as_deref(),
            Some("dezandloper.nl")
        );
        assert_eq!(
            website_domain("dezandloper.nl").as_deref(),
            Some("dezandloper.nl")
        );
        assert_eq!(website_domain("geen"), None);
    }

    #[test]
    fn phone_numbers_as_numbers_agree_with_the_text_form() {
        for raw in [
            "020-5550142",
            "+31 20 555 01 42",
            "+31 (0)20 5550142",
            "0031205550142",
            "205550142",
            "(020) 5550142",
            "06-12345678",
            "+49 30 1234567",
            "03 123 45 67",
            "0211/1234567",
            "112",
            "1234567890123456",
            "+1 (0)(0) 555 123 4567",
            "31205550142",
            "",
        ] {
            for code in ["31", "32", "49", "352"] {
                let text = normalize_phone_in(raw, code);
                let number = phone_number_in(raw, code);
                assert_eq!(
                    number,
                    text.as_deref().map(|t| t[1..].parse::<u64>().unwrap()),
                    "{raw} in {code}"
                );
            }
        }
    }

    #[test]
    fn postcodes_and_house_numbers() {
        assert_eq!(normalize_postcode("1015 km").as_deref(), Some("1015KM"));
        assert_eq!(normalize_postcode("0123AB"), None);
        assert_eq!(normalize_postcode("1234 56"), None);
        assert_eq!(normalize_postcode("B-2000").as_deref(), Some("2000"));
        assert_eq!(normalize_postcode("2000").as_deref(), Some("2000"));
        assert_eq!(normalize_postcode("D-40210").as_deref(), Some("40210"));
        assert_eq!(normalize_postcode("NL-1015 KM").as_deref(), Some("1015KM"));
        assert_eq!(
            parse_house_number("118-a"),
            Some(HouseNumber {
                number: 118,
                addition: "A".into()
            })
        );
        assert_eq!(parse_house_number("zonder"), None);
        let street = |s| house_number_from_street(s).map(|h| (h.number, h.addition));
        assert_eq!(street("Lindengracht 118"), Some((118, String::new())));
        assert_eq!(
            street("2e Hugo de Grootstraat 5 hs"),
            Some((5, "HS".into()))
        );
        assert_eq!(
            street("1e Constantijn Huygensstraat 45-III"),
            Some((45, "III".into()))
        );
        assert_eq!(street("Postbus 90412"), Some((90412, String::new())));
        assert_eq!(street("Dorpsstraat"), None);
    }
}
