//! The matcher's own input record and its normalised, prepared form.
//!
//! [`MatchRecord`] is deliberately independent of the CRM model and of the SnelStart read
//! model: both sides are converted into it (see the adapters), and everything else in the
//! matcher works on it alone.

use serde::Serialize;

use super::normalize::{
    self, EntityRole, HouseNumber, NameKey, house_number_from_street, normalize_emails,
    normalize_iban, normalize_kvk, normalize_name, normalize_postcode, normalize_vat,
    parse_house_number, phone_country_of_postcode, website_domain,
};

/// Customer, supplier or both: the CRM's `kind`, SnelStart's `relatiesoort`.
///
/// One SnelStart relation cannot be Klant and Leverancier at once (REL-0065), so a CRM
/// customer is never linked to a Leverancier-only relation, nor a CRM supplier to a
/// Klant-only one: that link could never carry a sales (or purchase) booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MatchKind {
    /// A customer (`Klant`).
    Customer,
    /// A supplier (`Leverancier`).
    Supplier,
    /// Both (a CRM relation of kind `both`, or an old SnelStart relation that has both).
    Both,
}

impl MatchKind {
    /// `false` when one is customer-only and the other supplier-only.
    pub fn compatible(self, other: Self) -> bool {
        !matches!(
            (self, other),
            (Self::Customer, Self::Supplier) | (Self::Supplier, Self::Customer)
        )
    }

    /// `klant`, `leverancier` or `klant_en_leverancier` (SnelStart's words).
    pub fn snelstart_word(self) -> &'static str {
        match self {
            Self::Customer => "klant",
            Self::Supplier => "leverancier",
            Self::Both => "klant_en_leverancier",
        }
    }

    /// The kind from customer and supplier flags; `None` when neither is set.
    pub fn from_flags(customer: bool, supplier: bool) -> Option<Self> {
        match (customer, supplier) {
            (true, true) => Some(Self::Both),
            (true, false) => Some(Self::Customer),
            (false, true) => Some(Self::Supplier),
            (false, false) => None,
        }
    }
}

impl std::fmt::Display for MatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Customer => "customer",
            Self::Supplier => "supplier",
            Self::Both => "both",
        })
    }
}

/// A postcode with a house number, the Dutch way to pin down a building.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MatchAddress {
    /// Postcode as given.
    pub postcode: String,
    /// House number with optional addition as given (`"118"`, `"118-A"`).
    pub house_number: String,
}

impl MatchAddress {
    /// An address from a postcode and a separate house number (the CRM way).
    pub fn new(postcode: impl Into<String>, house_number: impl Into<String>) -> Self {
        Self {
            postcode: postcode.into(),
            house_number: house_number.into(),
        }
    }
}

/// One relation as the matcher sees it: identifiers and contact data, raw as the source holds
/// them. Normalisation happens inside the matcher, so any source can fill this in directly.
///
/// Build one with [`MatchRecord::new`] and the `with_*` methods:
///
/// ```
/// use mapping::matching::MatchRecord;
///
/// let record = MatchRecord::new("crm-42")
///     .with_legal_name("Bakkerij De Zandloper B.V.")
///     .with_kvk("8765 4321")
///     .with_email("administratie@dezandloper.nl")
///     .with_address("1015 KM", "118");
/// assert_eq!(record.id, "crm-42");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatchRecord {
    /// The record's id in its own system (CRM id, or SnelStart relation GUID). Must be unique
    /// within one side.
    pub id: String,
    /// Registered (statutory) name.
    pub legal_name: Option<String>,
    /// Trade name, when it differs from the legal name.
    pub trade_name: Option<String>,
    /// KvK number.
    pub kvk: Option<String>,
    /// VAT identification number (BTW-id).
    pub vat: Option<String>,
    /// Bank account number.
    pub iban: Option<String>,
    /// E-mail addresses (relation and contacts).
    pub emails: Vec<String>,
    /// Phone numbers (relation and contacts).
    pub phones: Vec<String>,
    /// Visit and postal addresses.
    pub addresses: Vec<MatchAddress>,
    /// Websites (any form: `www.x.nl`, `https://x.nl/contact`); their domain counts like a
    /// company e-mail domain.
    pub websites: Vec<String>,
    /// Customer, supplier or both; `None` when unknown (then kind never rules a pair out).
    pub kind: Option<MatchKind>,
    /// SnelStart's `relatiecode` (creation order): among duplicates inside SnelStart the
    /// lowest active one is the original.
    pub relatiecode: Option<i64>,
    /// SnelStart's `nonactief`: an inactive duplicate is never the original while an active
    /// one exists.
    pub inactive: bool,
    /// ISO country code of the relation (`NL`, `BE`, `DE`), for national phone numbers; when
    /// `None` it is read from the postcode's shape (Dutch by default).
    pub country: Option<String>,
}

fn non_blank(value: impl Into<String>) -> Option<String> {
    let value = value.into();
    (!value.trim().is_empty()).then_some(value)
}

impl MatchRecord {
    /// An empty record with the given id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// Set the legal name.
    #[must_use]
    pub fn with_legal_name(mut self, name: impl Into<String>) -> Self {
        self.legal_name = non_blank(name);
        self
    }

    /// Set the trade name.
    #[must_use]
    pub fn with_trade_name(mut self, name: impl Into<String>) -> Self {
        self.trade_name = non_blank(name);
        self
    }

    /// Set the KvK number.
    #[must_use]
    pub fn with_kvk(mut self, kvk: impl Into<String>) -> Self {
        self.kvk = non_blank(kvk);
        self
    }

    /// Set the VAT number.
    #[must_use]
    pub fn with_vat(mut self, vat: impl Into<String>) -> Self {
        self.vat = non_blank(vat);
        self
    }

    /// Set the IBAN.
    #[must_use]
    pub fn with_iban(mut self, iban: impl Into<String>) -> Self {
        self.iban = non_blank(iban);
        self
    }

    /// Add an e-mail address (a value with several addresses separated by `;` is fine).
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        if let Some(email) = non_blank(email) {
            self.emails.push(email);
        }
        self
    }

    /// Add a phone number.
    #[must_use]
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        if let Some(phone) = non_blank(phone) {
            self.phones.push(phone);
        }
        self
    }

    /// Add a website.
    #[must_use]
    pub fn with_website(mut self, website: impl Into<String>) -> Self {
        if let Some(website) = non_blank(website) {
            self.websites.push(website);
        }
        self
    }

    /// Set customer / supplier / both.
    #[must_use]
    pub fn with_kind(mut self, kind: MatchKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Set SnelStart's relatiecode.
    #[must_use]
    pub fn with_relatiecode(mut self, code: i64) -> Self {
        self.relatiecode = Some(code);
        self
    }

    /// Mark as inactive (SnelStart `nonactief`).
    #[must_use]
    pub fn with_inactive(mut self, inactive: bool) -> Self {
        self.inactive = inactive;
        self
    }

    /// Set the ISO country code (`NL`, `BE`, `DE`).
    #[must_use]
    pub fn with_country(mut self, country: impl Into<String>) -> Self {
        self.country = non_blank(country).map(|c| c.trim().to_ascii_uppercase());
        self
    }

    /// Add an address given as postcode and house number.
    #[must_use]
    pub fn with_address(
        mut self,
        postcode: impl Into<String>,
        house_number: impl Into<String>,
    ) -> Self {
        self.addresses
            .push(MatchAddress::new(postcode, house_number));
        self
    }

    /// Add an address given as postcode and a street line that contains the house number
    /// (SnelStart's `straat`, e.g. `"Lindengracht 118"`). Ignored when the street has no
    /// house number.
    #[must_use]
    pub fn with_street_address(
        mut self,
        postcode: impl Into<String>,
        street: impl AsRef<str>,
    ) -> Self {
        if let Some(number) = house_number_from_street(street.as_ref()) {
            // A separator keeps "12-14" from reading as number 1214.
            let house = if number.addition.is_empty() {
                number.number.to_string()
            } else {
                format!("{}-{}", number.number, number.addition)
            };
            self.addresses.push(MatchAddress::new(postcode, house));
        }
        self
    }
}

/// A 64-bit fingerprint of a normalised value.
///
/// The matcher compares fingerprints instead of strings: they sit inline in [`Prepared`], so
/// scoring a candidate touches one or two cache lines instead of chasing a dozen heap
/// pointers (memory latency, not arithmetic, was the cost of scoring). FNV-1a with a
/// splitmix64 finaliser; two different values share a fingerprint with a probability around
/// 2^-64 per comparison, far below any data-entry error rate.
pub(crate) fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Part separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// splitmix64 finaliser: spreads every input bit over the whole word.
pub(crate) fn mix64(mut h: u64) -> u64 {
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Number of fingerprints stored inline per attribute; more spill to the heap.
const INLINE: usize = 3;

/// A small set of fingerprints, inline up to [`INLINE`] values.
///
/// 48 bytes: three inline values and a boxed slice (16 bytes, no spare capacity) for the
/// rare record with more. A `Vec` spill and four inline values made it 64, three times per
/// prepared record, for every relation a matching index holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fingerprints {
    inline: [u64; INLINE],
    len: u8,
    spill: Box<[u64]>,
}

impl Fingerprints {
    pub(crate) fn insert(&mut self, value: u64) {
        if self.contains(value) {
            return;
        }
        if usize::from(self.len) < INLINE {
            self.inline[usize::from(self.len)] = value;
            self.len += 1;
        } else {
            let mut spill = std::mem::take(&mut self.spill).into_vec();
            spill.push(value);
            self.spill = spill.into_boxed_slice();
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.inline[..usize::from(self.len)]
            .iter()
            .chain(&self.spill)
            .copied()
    }

    pub(crate) fn contains(&self, value: u64) -> bool {
        self.iter().any(|v| v == value)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn intersects(&self, other: &Self) -> bool {
        self.len > 0 && other.len > 0 && self.iter().any(|v| other.contains(v))
    }
}

/// A postcode + house number (the building) and the addition (the unit), fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AddressPrint {
    pub(crate) building: u64,
    /// 0 when there is no addition.
    pub(crate) addition: u64,
}

/// A [`MatchRecord`] with every value normalised once and reduced to fingerprints, ready for
/// blocking and scoring.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// Normalised names (legal first), for the fuzzy comparison. A boxed slice of the exact
    /// length, not a `Vec` with room for two: an index keeps one per SnelStart relation.
    pub(crate) names: Box<[NameKey]>,
    /// Fingerprints of `names[i].compact`, so equal names are recognised without reading them.
    pub(crate) name_prints: [u64; 2],
    /// Character-bigram signatures of `names[i].compact` (see [`bigram_signature`]).
    pub(crate) name_signatures: [u64; 2],
    pub(crate) role: EntityRole,
    pub(crate) kind: Option<MatchKind>,
    pub(crate) legal_form: Option<normalize::LegalForm>,
    /// The 8 KvK digits as a number.
    pub(crate) kvk: Option<u32>,
    pub(crate) vat: Option<u64>,
    pub(crate) iban: Option<u64>,
    pub(crate) emails: Fingerprints,
    /// Domains of `emails` and `websites` that are not freemail.
    pub(crate) company_domains: Fingerprints,
    /// The subset of `company_domains` that is the company's *own* domain, as a bit mask over
    /// their positions (bit `i` for the `i`-th domain; domains past the eighth never count as
    /// own). A domain held by two or more different companies (a chain's shared domain, see
    /// [`mark_shared_domains`]) is cleared here; one byte per record instead of a second set.
    pub(crate) own_domains: u8,
    /// Phone numbers as the number of their international digits.
    pub(crate) phones: Fingerprints,
    pub(crate) addresses: [AddressPrint; 2],
    pub(crate) address_count: u8,
    pub(crate) more_addresses: Box<[AddressPrint]>,
}

impl Prepared {
    pub(crate) fn new(record: &MatchRecord, extra_freemail: &[String]) -> Self {
        // At most a legal and a trade name, distinct and not empty.
        let mut legal = record.legal_name.as_deref().map(normalize_name);
        legal.take_if(|key| key.is_empty());
        let mut trade = record.trade_name.as_deref().map(normalize_name);
        trade.take_if(|key| {
            key.is_empty() || legal.as_ref().is_some_and(|l| l.compact == key.compact)
        });
        // A block of the exact size (most records have one name): an index keeps one per
        // SnelStart relation.
        let names: Box<[NameKey]> = match (legal, trade) {
            (Some(a), Some(b)) => Box::new([a, b]),
            (Some(a), None) | (None, Some(a)) => Box::new([a]),
            (None, None) => Box::new([]),
        };
        let mut name_prints = [0; 2];
        let mut name_signatures = [0; 2];
        for (i, name) in names.iter().enumerate() {
            name_prints[i] = fingerprint(&[name.compact.as_bytes()]);
            name_signatures[i] = bigram_signature(&name.compact);
        }
        // The legal name decides whether this is a holding; a trade name rarely says so.
        let role = names.first().map_or(EntityRole::Operating, |n| n.role);
        let legal_form = names.first().and_then(|n| n.legal_form);

        let mut emails = Fingerprints::default();
        let mut company_domains = Fingerprints::default();
        let mut add_email = |email: &str| {
            emails.insert(fingerprint(&[email.as_bytes()]));
            let domain = normalize::email_domain(email);
            if !normalize::is_freemail(domain, extra_freemail) {
                company_domains.insert(fingerprint(&[domain.as_bytes()]));
            }
        };
        // One buffer for every address of the record.
        let mut scratch = String::new();
        for raw in &record.emails {
            if raw.contains([';', ',']) {
                normalize_emails(raw).for_each(|email| add_email(&email));
            } else if normalize::normalize_email_into(raw, &mut scratch) {
                add_email(&scratch);
            }
        }
        // A company's website names its own domain; freemail hosts are ignored as above.
        for domain in record.websites.iter().filter_map(|w| website_domain(w)) {
            if !normalize::is_freemail(&domain, extra_freemail) {
                company_domains.insert(fingerprint(&[domain.as_bytes()]));
            }
        }
        // National phone numbers ("03 123 45 67") are read in the relation's country.
        let country_code = match record.country.as_deref() {
            Some(country) => normalize::phone_country_code(country),
            None => record
                .addresses
                .first()
                .map_or("31", |a| phone_country_of_postcode(&a.postcode)),
        };
        let mut phones = Fingerprints::default();
        for phone in record
            .phones
            .iter()
            .filter_map(|p| normalize::phone_number_in(p, country_code))
        {
            phones.insert(phone);
        }
        let mut addresses = [AddressPrint::default(); 2];
        let mut address_count = 0u8;
        let mut more_addresses = Vec::new();
        for address in &record.addresses {
            if let (Some(postcode), Some(house)) = (
                normalize_postcode(&address.postcode),
                parse_house_number(&address.house_number),
            ) {
                let print = address_print(&postcode, &house);
                let known = addresses[..usize::from(address_count)].contains(&print)
                    || more_addresses.contains(&print);
                if known {
                    continue;
                }
                if usize::from(address_count) < addresses.len() {
                    addresses[usize::from(address_count)] = print;
                    address_count += 1;
                } else {
                    more_addresses.push(print);
                }
            }
        }

        Self {
            names,
            name_prints,
            name_signatures,
            role,
            kind: record.kind,
            legal_form,
            kvk: record
                .kvk
                .as_deref()
                .and_then(normalize_kvk)
                .and_then(|k| k.parse().ok()),
            vat: record
                .vat
                .as_deref()
                .and_then(normalize_vat)
                .map(|v| fingerprint(&[v.as_bytes()])),
            iban: record
                .iban
                .as_deref()
                .and_then(normalize_iban)
                .map(|v| fingerprint(&[v.as_bytes()])),
            emails,
            company_domains,
            own_domains: u8::MAX,
            phones,
            addresses,
            address_count,
            more_addresses: more_addresses.into_boxed_slice(),
        }
    }

    /// All address fingerprints.
    pub(crate) fn addresses(&self) -> impl Iterator<Item = &AddressPrint> {
        self.addresses[..usize::from(self.address_count)]
            .iter()
            .chain(&self.more_addresses)
    }

    /// The company domains that are its own (not a chain's shared domain).
    pub(crate) fn own_domains(&self) -> impl Iterator<Item = u64> + '_ {
        self.company_domains
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 8 && self.own_domains & (1 << i) != 0)
            .map(|(_, d)| d)
    }

    /// `true` when both hold one domain that is the company's own on both sides.
    pub(crate) fn shares_own_domain(&self, other: &Self) -> bool {
        self.own_domains != 0
            && other.own_domains != 0
            && self
                .own_domains()
                .any(|d| other.own_domains().any(|e| e == d))
    }

    /// `true` when the two records are certainly different companies: different KvK numbers,
    /// or (without a KvK number on both) addresses on both sides without a common building.
    fn different_company(&self, other: &Self) -> bool {
        // One KvK number is one company, whatever its branches' addresses.
        if let (Some(x), Some(y)) = (self.kvk, other.kvk) {
            return x != y;
        }
        self.address_count > 0
            && other.address_count > 0
            && !self
                .addresses()
                .any(|x| other.addresses().any(|y| x.building == y.building))
    }
}

/// The company domains that `prepared` holds for two or more *different* companies (other KvK
/// numbers, or addresses in no common building): a chain's or franchise's shared domain, not
/// a company's own. Records of one duplicate group (`group_of` gives the same `Some`) are one
/// company. Sorted, for [`mark_shared_domains`].
///
/// One sort of (domain, record) pairs: O(n log n) on fingerprints, a few milliseconds for
/// 100,000 records. Per domain, the first record with a KvK number and the first with an
/// address stand for the company; any record that differs from one of them makes the domain
/// shared.
pub(crate) fn shared_domains(
    prepared: &[Prepared],
    group_of: impl Fn(usize) -> Option<u32>,
) -> Vec<u64> {
    let mut held: Vec<(u64, u32)> = prepared
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kvk.is_some() || p.address_count > 0)
        .flat_map(|(i, p)| p.company_domains.iter().map(move |d| (d, i as u32)))
        .collect();
    held.sort_unstable();
    let mut shared = Vec::new();
    for run in held.chunk_by(|x, y| x.0 == y.0) {
        if run.len() < 2 {
            continue;
        }
        let mut by_kvk: Option<usize> = None;
        let mut by_address: Option<usize> = None;
        let differs = run.iter().any(|&(_, i)| {
            let i = i as usize;
            let me = &prepared[i];
            let group = group_of(i);
            let differs_from = |rep: &mut Option<usize>, has: bool| {
                if !has {
                    return false;
                }
                match *rep {
                    None => {
                        *rep = Some(i);
                        false
                    }
                    Some(r) => {
                        (group.is_none() || group_of(r) != group)
                            && me.different_company(&prepared[r])
                    }
                }
            };
            differs_from(&mut by_kvk, me.kvk.is_some())
                || differs_from(&mut by_address, me.address_count > 0)
        });
        if differs {
            shared.push(run[0].0);
        }
    }
    shared
}

/// Clear the own-domain bit of every domain in `shared` (sorted), and set it for the others.
pub(crate) fn mark_shared_domains(prepared: &mut [Prepared], shared: &[u64]) {
    for p in prepared {
        let mut own = 0u8;
        for (i, d) in p.company_domains.iter().enumerate().take(8) {
            if shared.binary_search(&d).is_err() {
                own |= 1 << i;
            }
        }
        p.own_domains = own;
    }
}

/// The set of character bigrams of a name, hashed into the 64 bits of a word.
///
/// Names that share few bigrams cannot be similar; comparing two signatures is one AND and
/// two popcounts, against a few dozen Jaro-Winkler evaluations for the full comparison.
pub(crate) fn bigram_signature(compact: &str) -> u64 {
    let bytes = compact.as_bytes();
    let mut signature = 0u64;
    for pair in bytes.windows(2) {
        let h = (u32::from(pair[0]) << 8 | u32::from(pair[1])).wrapping_mul(0x9e37_79b1);
        signature |= 1 << (h >> 26);
    }
    signature
}

fn address_print(postcode: &str, house: &HouseNumber) -> AddressPrint {
    AddressPrint {
        building: fingerprint(&[postcode.as_bytes(), &house.number.to_le_bytes()]),
        addition: if house.addition.is_empty() {
            0
        } else {
            fingerprint(&[house.addition.as_bytes()])
        },
    }
}
