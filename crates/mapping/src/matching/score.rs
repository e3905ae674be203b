//! Pairwise evidence and its weights.
//!
//! Each comparable attribute of two prepared records yields at most one piece of
//! [`Evidence`]; the points add up to the pair's score. The weights are log-odds in spirit:
//! an identifier that is unique per company (KvK, VAT) weighs most, attributes that companies
//! share in practice (a business centre's address, a franchise's e-mail domain, an
//! accountant's phone number) weigh little, and a name never decides on its own.

use std::fmt;

use super::normalize::NameKey;
use super::record::Prepared;

/// One observation about a pair of relations, positive or negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Evidence {
    /// Same KvK number.
    KvkEqual,
    /// Same VAT number.
    VatEqual,
    /// Same IBAN.
    IbanEqual,
    /// Same e-mail address.
    EmailEqual,
    /// Same company e-mail domain (freemail domains never count).
    EmailDomainEqual,
    /// Same phone number.
    PhoneEqual,
    /// Same postcode, house number and addition (or one side has no addition).
    AddressEqual,
    /// Same postcode and house number but a different addition: same building, maybe a
    /// different unit (business centres).
    SameBuilding,
    /// Both have addresses and none is in the same building: namesakes in different places
    /// (or a move, which other evidence then has to show).
    AddressDiffers,
    /// Names equal after normalisation (case, accents, punctuation, legal form).
    NameEqual,
    /// One name is the other truncated (SnelStart keeps 50 characters).
    NameTruncated,
    /// Names similar; `permille` is the similarity times 1000.
    NameSimilar {
        /// Similarity of the names, 0..=1000.
        permille: u16,
    },
    /// All words of the shorter name occur in the longer one (trade name vs legal name,
    /// franchise name vs franchise name plus city).
    NameContained,
    /// Names clearly different; `permille` is the similarity times 1000.
    NameDifferent {
        /// Similarity of the names, 0..=1000.
        permille: u16,
    },
    /// Different legal forms (B.V. vs V.O.F.).
    LegalFormDiffers,
    /// Both have a KvK number and they differ: never the same relation (veto).
    KvkConflict,
    /// Both have a VAT number and they differ: never matched automatically.
    VatConflict,
    /// One is a holding, the other an operating company: different relations (veto).
    RoleConflict,
    /// The same e-mail address at the same postcode and house number (and addition): strong
    /// evidence on its own, when nothing contradicts it (a shared accountant's mailbox sits
    /// at the accountant's address, not the client's).
    EmailAndAddress,
    /// The company's own contact data agree on every channel both sides hold: its own mail
    /// domain (never freemail) or its IBAN, its phone number and its postcode + house number,
    /// with nothing contradicting (no other KvK, VAT id or legal form). This is how a trade name
    /// on one side and the legal name on the other are recognised: companies in one business
    /// centre share an address and the reception's phone, but not a mail domain or a bank
    /// account.
    OwnContactsAgree,
    /// The same KvK number, confirmed by contact data (address, phone, e-mail or IBAN), with
    /// nothing contradicting: one registered company, whatever name each side uses (trade
    /// names are registered under the company's KvK number).
    KvkConfirmed,
    /// The company's own mail domain (never freemail) and the same name, with nothing
    /// contradicting (no other address, legal form, KvK or VAT id). A domain that one side holds
    /// for two or more different companies (a chain's or franchise's shared domain: other KvK
    /// numbers, or addresses in no common building, and not one duplicate group) is not a
    /// company's own: there it is only [`EmailDomainEqual`](Self::EmailDomainEqual).
    OwnDomainAndName,
    /// Names (and nothing else) hold the pair together, while the contact data both sides hold
    /// disagree on at least two channels: phone numbers (none in common), e-mail (no address
    /// and no company domain in common) or IBAN. Namesakes reached by other numbers and
    /// mailboxes, like namesakes at other addresses ([`AddressDiffers`](Self::AddressDiffers)):
    /// sole traders with a common name are the usual case.
    ContactsDiffer,
    /// One is customer-only, the other supplier-only (SnelStart `relatiesoort`): a link could
    /// never be used, since one relation cannot be Klant and Leverancier (REL-0065). Veto.
    KindConflict,
}

/// Names at least this similar count as [`Evidence::NameSimilar`] with full support.
const NAME_STRONG: f64 = 0.93;
/// Names at least this similar still support a match.
pub(crate) const NAME_SUPPORT: f64 = 0.85;
/// Names below this similarity count against a match.
const NAME_DIFFERENT: f64 = 0.60;

impl Evidence {
    /// The points this evidence adds to (or takes from) a pair's score.
    pub fn points(self) -> i32 {
        match self {
            Self::KvkEqual => 50,
            Self::VatEqual => 45,
            Self::IbanEqual => 35,
            Self::EmailEqual => 30,
            Self::PhoneEqual => 25,
            Self::AddressEqual => 20,
            Self::EmailDomainEqual => 8,
            Self::SameBuilding => 5,
            Self::AddressDiffers | Self::ContactsDiffer => -20,
            Self::NameEqual | Self::NameTruncated => 40,
            Self::NameSimilar { permille } if f64::from(permille) >= NAME_STRONG * 1000.0 => 30,
            Self::NameSimilar { permille } if f64::from(permille) >= NAME_SUPPORT * 1000.0 => 18,
            Self::NameSimilar { .. } => 0,
            Self::NameContained => 10,
            Self::NameDifferent { .. } => -25,
            Self::LegalFormDiffers => -8,
            Self::EmailAndAddress | Self::OwnContactsAgree => 35,
            Self::KvkConfirmed => 25,
            Self::OwnDomainAndName => 10,
            Self::KvkConflict | Self::RoleConflict => -100,
            // The pair keeps its score, so a reviewer learns how alike the two are.
            Self::KindConflict => 0,
            Self::VatConflict => -30,
        }
    }

    /// `true` for evidence that rules a pair out completely.
    pub fn is_veto(self) -> bool {
        matches!(
            self,
            Self::KvkConflict | Self::RoleConflict | Self::KindConflict
        )
    }

    /// `true` when the evidence identifies one company on its own: KvK, VAT, the same
    /// e-mail address at the same address, or the company's own contact data together
    /// ([`OwnContactsAgree`](Self::OwnContactsAgree)). A VAT id counts only when the names
    /// do not differ, since the companies of a fiscal unity share one (see `may_match`).
    pub fn is_strong_identifier(self) -> bool {
        matches!(
            self,
            Self::KvkEqual | Self::VatEqual | Self::EmailAndAddress | Self::OwnContactsAgree
        )
    }

    /// `true` when the names agree well enough to carry a match together with other evidence.
    pub fn supports_name(self) -> bool {
        match self {
            Self::NameEqual | Self::NameTruncated => true,
            Self::NameSimilar { permille } => f64::from(permille) >= NAME_SUPPORT * 1000.0,
            _ => false,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KvkEqual => f.write_str("kvk_equal"),
            Self::VatEqual => f.write_str("vat_equal"),
            Self::IbanEqual => f.write_str("iban_equal"),
            Self::EmailEqual => f.write_str("email_equal"),
            Self::EmailDomainEqual => f.write_str("email_domain_equal"),
            Self::PhoneEqual => f.write_str("phone_equal"),
            Self::AddressEqual => f.write_str("address_equal"),
            Self::SameBuilding => f.write_str("same_building"),
            Self::AddressDiffers => f.write_str("address_differs"),
            Self::NameEqual => f.write_str("name_equal"),
            Self::NameTruncated => f.write_str("name_truncated"),
            Self::NameSimilar { permille } => {
                write!(f, "name_similar:{}.{:03}", permille / 1000, permille % 1000)
            }
            Self::NameContained => f.write_str("name_contained"),
            Self::NameDifferent { permille } => {
                write!(
                    f,
                    "name_different:{}.{:03}",
                    permille / 1000,
                    permille % 1000
                )
            }
            Self::LegalFormDiffers => f.write_str("legal_form_differs"),
            Self::KvkConflict => f.write_str("kvk_conflict"),
            Self::VatConflict => f.write_str("vat_conflict"),
            Self::RoleConflict => f.write_str("holding_vs_operating"),
            Self::EmailAndAddress => f.write_str("email_and_address_equal"),
            Self::OwnContactsAgree => f.write_str("own_domain_phone_address_equal"),
            Self::KvkConfirmed => f.write_str("kvk_confirmed_by_contact"),
            Self::OwnDomainAndName => f.write_str("own_domain_and_name_equal"),
            Self::KindConflict => f.write_str("kind_conflict"),
            Self::ContactsDiffer => f.write_str("contacts_differ"),
        }
    }
}

/// At most one piece of evidence per attribute, so a pair never has more than this.
const MAX_EVIDENCE: usize = 15;

/// The evidence of one pair, inline: scoring runs for every candidate pair and must not
/// allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EvidenceList {
    items: [Evidence; MAX_EVIDENCE],
    len: usize,
}

impl EvidenceList {
    fn new() -> Self {
        Self {
            items: [Evidence::KvkEqual; MAX_EVIDENCE],
            len: 0,
        }
    }

    fn one(evidence: Evidence) -> Self {
        let mut list = Self::new();
        list.push(evidence);
        list
    }

    fn push(&mut self, evidence: Evidence) {
        // Each attribute adds at most one item; the capacity covers them all.
        if self.len < MAX_EVIDENCE {
            self.items[self.len] = evidence;
            self.len += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[Evidence] {
        &self.items[..self.len]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Evidence> {
        self.as_slice().iter()
    }

    pub(crate) fn to_vec(self) -> Vec<Evidence> {
        self.as_slice().to_vec()
    }
}

/// The evaluated comparison of two prepared records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PairScore {
    pub(crate) score: i32,
    pub(crate) evidence: EvidenceList,
}

impl PairScore {
    /// The first veto in the evidence, if any.
    pub(crate) fn veto(&self) -> Option<Evidence> {
        self.evidence.iter().copied().find(|e| e.is_veto())
    }

    /// Whether the evidence *kind* allows an automatic match, whatever the score: no veto, no
    /// VAT conflict, and either a strong identifier or names that agree. Contact data alone
    /// (a shared accountant's e-mail, a business centre's phone) never links two relations,
    /// except one e-mail address at one postcode + house number.
    pub(crate) fn may_match(&self) -> bool {
        !self.has(Evidence::KindConflict) && self.may_match_ignoring_kind()
    }

    /// [`may_match`](Self::may_match) as if the kinds agreed: would this be the same company?
    pub(crate) fn may_match_ignoring_kind(&self) -> bool {
        // The companies of a fiscal unity share one VAT id, each with its own KvK number and
        // name: a VAT id identifies a company only when the names do not say otherwise.
        let names_differ = self
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::NameDifferent { .. } | Evidence::NameSimilar { .. } if !e.supports_name()));
        let mut supported = false;
        for evidence in self.evidence.iter() {
            if *evidence == Evidence::KindConflict {
                continue;
            }
            if evidence.is_veto() || *evidence == Evidence::VatConflict {
                return false;
            }
            let strong = evidence.is_strong_identifier()
                && !(*evidence == Evidence::VatEqual && names_differ);
            supported |= strong || evidence.supports_name();
        }
        supported
    }

    /// `true` when the evidence holds `e`.
    pub(crate) fn has(&self, e: Evidence) -> bool {
        self.evidence.iter().any(|x| *x == e)
    }
}

/// Compare every attribute of two prepared records.
pub(crate) fn score_pair(a: &Prepared, b: &Prepared) -> PairScore {
    let mut evidence = EvidenceList::new();

    // Vetoes first: a vetoed pair needs no further work beyond saying why.
    if let (Some(x), Some(y)) = (a.kvk, b.kvk)
        && x != y
    {
        return PairScore {
            score: Evidence::KvkConflict.points(),
            evidence: EvidenceList::one(Evidence::KvkConflict),
        };
    }
    if a.role != b.role && !a.names.is_empty() && !b.names.is_empty() {
        return PairScore {
            score: Evidence::RoleConflict.points(),
            evidence: EvidenceList::one(Evidence::RoleConflict),
        };
    }

    if a.kvk.is_some() && a.kvk == b.kvk {
        evidence.push(Evidence::KvkEqual);
    }
    match (a.vat, b.vat) {
        (Some(x), Some(y)) if x == y => evidence.push(Evidence::VatEqual),
        (Some(_), Some(_)) => evidence.push(Evidence::VatConflict),
        _ => {}
    }
    if a.iban.is_some() && a.iban == b.iban {
        evidence.push(Evidence::IbanEqual);
    }
    let email_equal = a.emails.intersects(&b.emails);
    if email_equal {
        evidence.push(Evidence::EmailEqual);
    } else if a.company_domains.intersects(&b.company_domains) {
        evidence.push(Evidence::EmailDomainEqual);
    }
    if a.phones.intersects(&b.phones) {
        evidence.push(Evidence::PhoneEqual);
    }
    let mut building = false;
    let mut address = false;
    for x in a.addresses() {
        for y in b.addresses() {
            if x.building == y.building {
                building = true;
                address |= x.addition == y.addition || x.addition == 0 || y.addition == 0;
            }
        }
    }
    let mut email_and_address = false;
    if address {
        evidence.push(Evidence::AddressEqual);
        // Exact address: the same unit too (a missing addition on one side is not enough
        // in a business centre).
        email_and_address = email_equal
            && a.addresses().any(|x| {
                b.addresses()
                    .any(|y| x.building == y.building && x.addition == y.addition)
            });
    } else if building {
        evidence.push(Evidence::SameBuilding);
    }
    let address_differs = !building && a.address_count > 0 && b.address_count > 0;
    // A pair with no other evidence can at best be a name-only review (or the runner-up that
    // makes another decision ambiguous), which needs names at least `NAME_STRONG` similar.
    // So skip the costly comparison when the bigram signatures already rule that out (names
    // that similar share far more bigrams than the screen asks), and let the comparison stop
    // as soon as `NAME_STRONG` is out of reach.
    let name = if evidence.len == 0 {
        if names_may_be_similar(a, b) {
            best_name_evidence(a, b, NAME_STRONG)
        } else {
            None
        }
    } else {
        best_name_evidence(a, b, 0.0)
    };
    if let Some(name) = name {
        evidence.push(name);
    }
    if let (Some(p), Some(q)) = (a.legal_form, b.legal_form)
        && p != q
    {
        evidence.push(Evidence::LegalFormDiffers);
    }
    // Counts only against a pair that names (and at most a mail domain) hold together:
    // namesakes in different places. A moved company shows itself by its identifiers, its
    // e-mail address or its phone.
    let held_by_contact = evidence.iter().any(|e| {
        e.is_strong_identifier()
            || matches!(
                e,
                Evidence::IbanEqual | Evidence::EmailEqual | Evidence::PhoneEqual
            )
    });
    if address_differs && !held_by_contact && !evidence.as_slice().is_empty() {
        evidence.push(Evidence::AddressDiffers);
    }
    // Likewise namesakes reached by other numbers and mailboxes: only for a pair that names
    // alone hold together (no identifier, contact or address in common).
    if !held_by_contact && !building && !evidence.as_slice().is_empty() {
        let held_by_domain = evidence.iter().any(|e| *e == Evidence::EmailDomainEqual);
        let phones_differ = !a.phones.is_empty() && !b.phones.is_empty();
        let emails_differ = !held_by_domain && !a.emails.is_empty() && !b.emails.is_empty();
        let ibans_differ = a.iban.is_some() && b.iban.is_some();
        let differing = [phones_differ, emails_differ, ibans_differ]
            .into_iter()
            .filter(|d| *d)
            .count();
        if differing >= 2 {
            evidence.push(Evidence::ContactsDiffer);
        }
    }
    let contradicted = evidence.iter().any(|e| {
        matches!(
            e,
            Evidence::VatConflict | Evidence::LegalFormDiffers | Evidence::AddressDiffers
        )
    });
    // Channels that belong to one company (a business centre's tenants share the address and
    // the reception's phone, never a mail domain or a bank account).
    let channels = evidence
        .iter()
        .filter(|e| {
            matches!(
                e,
                Evidence::EmailDomainEqual
                    | Evidence::EmailEqual
                    | Evidence::IbanEqual
                    | Evidence::PhoneEqual
            )
        })
        .count();
    let own_channel = evidence.iter().any(|e| {
        matches!(
            e,
            Evidence::EmailDomainEqual | Evidence::IbanEqual | Evidence::EmailEqual
        )
    });
    if email_and_address {
        evidence.push(Evidence::EmailAndAddress);
    } else if address && channels >= 2 && own_channel && !contradicted {
        evidence.push(Evidence::OwnContactsAgree);
    }
    if !contradicted {
        if evidence.iter().any(|e| *e == Evidence::KvkEqual) && (address || channels > 0) {
            evidence.push(Evidence::KvkConfirmed);
        } else if evidence.iter().any(|e| *e == Evidence::EmailDomainEqual)
            && a.shares_own_domain(b)
            && evidence
                .iter()
                .any(|e| matches!(e, Evidence::NameEqual | Evidence::NameTruncated))
        {
            evidence.push(Evidence::OwnDomainAndName);
        }
    }
    // Last, so the pair is still scored in full: a reviewer (and the report) learns that
    // SnelStart holds this very company, as the other kind.
    if let (Some(x), Some(y)) = (a.kind, b.kind)
        && !x.compatible(y)
    {
        evidence.push(Evidence::KindConflict);
    }

    PairScore {
        score: evidence.iter().map(|e| e.points()).sum(),
        evidence,
    }
}

/// `false` when no pair of names of `a` and `b` shares even 60 % of the bigrams of the
/// shorter name, in which case no name pair reaches [`NAME_SUPPORT`] in practice: a typo
/// changes two or three bigrams of twenty, while unrelated names share a quarter of their
/// signature bits by chance.
fn names_may_be_similar(a: &Prepared, b: &Prepared) -> bool {
    let (na, nb) = (a.names.len(), b.names.len());
    a.name_signatures[..na].iter().any(|&x| {
        b.name_signatures[..nb].iter().any(|&y| {
            let common = (x & y).count_ones();
            let smaller = x.count_ones().min(y.count_ones());
            common * 10 >= smaller * 6
        })
    })
}

/// The most favourable name evidence over all name pairs (legal and trade names).
///
/// With `at_least > 0`, name pairs less similar than that may be reported as `None` (the
/// comparison stops early); equal and truncated names are always recognised.
fn best_name_evidence(a: &Prepared, b: &Prepared, at_least: f64) -> Option<Evidence> {
    // Equal names are recognised from the inline fingerprints, without reading the names.
    let (na, nb) = (a.names.len(), b.names.len());
    for x in &a.name_prints[..na] {
        if b.name_prints[..nb].contains(x) {
            return Some(Evidence::NameEqual);
        }
    }
    let mut best: Option<Evidence> = None;
    for x in &a.names {
        for y in &b.names {
            let Some(candidate) = compare_names_at_least(x, y, at_least) else {
                continue;
            };
            let better = match best {
                None => true,
                Some(current) => rank(candidate) > rank(current),
            };
            if better {
                best = Some(candidate);
            }
        }
    }
    best
}

/// Orders name evidence from least to most favourable.
fn rank(evidence: Evidence) -> i32 {
    match evidence {
        Evidence::NameEqual => 3000,
        Evidence::NameTruncated => 2999,
        Evidence::NameSimilar { permille } if f64::from(permille) >= NAME_SUPPORT * 1000.0 => {
            1000 + i32::from(permille)
        }
        Evidence::NameContained => 1000,
        Evidence::NameSimilar { permille } | Evidence::NameDifferent { permille } => {
            i32::from(permille)
        }
        _ => -1,
    }
}

fn permille(similarity: f64) -> u16 {
    // Similarity is within 0..=1, so the product fits a u16.
    (similarity.clamp(0.0, 1.0) * 1000.0).round() as u16
}

/// Compare two normalised names (the full comparison, for tests).
#[cfg(test)]
pub(crate) fn compare_names(a: &NameKey, b: &NameKey) -> Evidence {
    compare_names_at_least(a, b, 0.0).unwrap_or(Evidence::NameDifferent { permille: 0 })
}

/// Compare two normalised names; `None` when their similarity is certainly below
/// `at_least` (only computed as far as needed to know that).
fn compare_names_at_least(a: &NameKey, b: &NameKey, at_least: f64) -> Option<Evidence> {
    if a.compact == b.compact {
        return Some(Evidence::NameEqual);
    }
    if is_truncation_of(a, b) || is_truncation_of(b, a) {
        return Some(Evidence::NameTruncated);
    }
    let mut buf_a = [""; MAX_TOKENS];
    let mut buf_b = [""; MAX_TOKENS];
    let ta = fill_tokens(a, &mut buf_a);
    let tb = fill_tokens(b, &mut buf_b);
    // One similarity matrix gives both directions; with a target, the rows are visited
    // longest token first and the comparison stops once even perfect remaining rows could not
    // reach it (the symmetric similarity is the minimum of both directions, so the forward
    // direction bounds it).
    let (forward, backward) = monge_elkan(ta, tb, at_least)?;
    let similarity = forward.min(backward);
    if similarity >= NAME_SUPPORT {
        return Some(Evidence::NameSimilar {
            permille: permille(similarity),
        });
    }
    // Containment: every word of the shorter name is in the longer one.
    if forward.max(backward) >= 0.97 && a.compact.len().min(b.compact.len()) >= 4 {
        return Some(Evidence::NameContained);
    }
    Some(if similarity < NAME_DIFFERENT {
        Evidence::NameDifferent {
            permille: permille(similarity),
        }
    } else {
        Evidence::NameSimilar {
            permille: permille(similarity),
        }
    })
}

/// `true` when `short` looks like `long` cut off at SnelStart's 50 characters: the raw short
/// name is close to the limit, and its tokens are a prefix of the long name's tokens (the last
/// one possibly cut mid-word).
fn is_truncation_of(short: &NameKey, long: &NameKey) -> bool {
    const LIMIT: usize = 50;
    if !(LIMIT - 5..=LIMIT).contains(&short.raw_len) || long.raw_len <= short.raw_len {
        return false;
    }
    let mut long_tokens = long.tokens();
    let short_tokens: Vec<&str> = short.tokens().collect();
    if short_tokens.len() < 2 {
        return false;
    }
    let (last, init) = short_tokens.split_last().unwrap_or((&"", &[]));
    for token in init {
        if long_tokens.next() != Some(*token) {
            return false;
        }
    }
    long_tokens.next().is_some_and(|t| t.starts_with(last))
}

/// Tokens compared per name; longer names are compared on their first words only.
const MAX_TOKENS: usize = 16;

/// The tokens of `key` in a stack buffer: comparing names is the hot loop of the matcher and
/// must not allocate.
fn fill_tokens<'a>(key: &'a NameKey, buf: &'a mut [&'a str; MAX_TOKENS]) -> &'a [&'a str] {
    let mut n = 0;
    for token in key.tokens().take(MAX_TOKENS) {
        buf[n] = token;
        n += 1;
    }
    &buf[..n]
}

/// Length-weighted Monge-Elkan similarity in both directions: for each token of one name its
/// best Jaro-Winkler match in the other, averaged with the token lengths as weights (so "de"
/// and "en" count for little). Both directions come from one pass over the similarity
/// matrix. Returns `None` as soon as the forward direction certainly stays below `at_least`
/// (pass 0 for the exact values).
fn monge_elkan(a: &[&str], b: &[&str], at_least: f64) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return (at_least <= 0.0).then_some((0.0, 0.0));
    }
    let mut order = [0usize; MAX_TOKENS];
    for (i, slot) in order.iter_mut().enumerate().take(a.len()) {
        *slot = i;
    }
    let order = &mut order[..a.len()];
    // Heaviest rows first, so a hopeless pair is given up on after one or two rows.
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(a[i].len()));
    let weight_a: f64 = a.iter().map(|t| t.len() as f64).sum();
    let mut remaining = weight_a;
    let mut total_a = 0.0;
    let mut best_for_b = [0.0_f64; MAX_TOKENS];
    // Where each character sits in the first tokens of `b`, built once per name pair: the
    // matching step of Jaro-Winkler then finds a character's partner with one AND instead of
    // scanning its window, for every row of `a`.
    let mut positions = [[0u64; ALPHABET]; POSITIONED];
    let mut positioned = [false; POSITIONED];
    for (j, y) in b.iter().enumerate().take(POSITIONED) {
        positioned[j] = fill_positions(y.as_bytes(), &mut positions[j]);
    }
    for &i in order.iter() {
        let x = a[i];
        let mut best: f64 = 0.0;
        for (j, y) in b.iter().enumerate() {
            let similarity = if j < POSITIONED && positioned[j] {
                jaro_winkler_positioned(x, y, &positions[j])
            } else {
                jaro_winkler(x, y)
            };
            best = best.max(similarity);
            best_for_b[j] = best_for_b[j].max(similarity);
        }
        let w = x.len() as f64;
        total_a += best * w;
        remaining -= w;
        if at_least > 0.0 && (total_a + remaining) / weight_a < at_least {
            return None;
        }
    }
    let (mut total_b, mut weight_b) = (0.0, 0.0);
    for (j, y) in b.iter().enumerate() {
        let w = y.len() as f64;
        total_b += best_for_b[j] * w;
        weight_b += w;
    }
    let backward = total_b / weight_b;
    if at_least > 0.0 && backward < at_least {
        return None;
    }
    Some((total_a / weight_a, backward))
}

/// Jaro-Winkler similarity of two name tokens.
///
/// Name keys are ASCII (see `normalize_name`) and tokens are short, so this works on bytes with
/// 64-bit match masks instead of `strsim`'s heap-allocated flags: the matcher compares tens of
/// millions of token pairs on a large import, and the allocation was most of its time. Longer
/// or non-ASCII input falls back to `strsim`, and a test checks both agree.
pub(crate) fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x == y {
        return 1.0;
    }
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    if x.len() > 64 || y.len() > 64 || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let window = (x.len().max(y.len()) / 2).saturating_sub(1);
    let mut x_matched: u64 = 0;
    let mut y_matched: u64 = 0;
    let mut matches = 0u32;
    for (i, &c) in x.iter().enumerate() {
        let low = i.saturating_sub(window);
        let high = (i + window + 1).min(y.len());
        for (j, &d) in y.iter().enumerate().take(high).skip(low) {
            if y_matched & (1 << j) == 0 && c == d {
                y_matched |= 1 << j;
                x_matched |= 1 << i;
                matches += 1;
                break;
            }
        }
    }
    jaro_winkler_tail(x, y, x_matched, y_matched, matches)
}

/// Tokens of the second name whose character positions are precomputed per name pair.
const POSITIONED: usize = 4;
/// Characters of name tokens: `0-9` and `a-z` (see `normalize_name`).
const ALPHABET: usize = 36;

fn alphabet_index(b: u8) -> Option<usize> {
    match b {
        b'0'..=b'9' => Some(usize::from(b - b'0')),
        b'a'..=b'z' => Some(usize::from(b - b'a') + 10),
        _ => None,
    }
}

/// Per character, the bit mask of its positions in `y`; `false` (and `positions` unusable)
/// when `y` is longer than 64 bytes or holds a byte outside [`ALPHABET`].
fn fill_positions(y: &[u8], positions: &mut [u64; ALPHABET]) -> bool {
    if y.is_empty() || y.len() > 64 {
        return false;
    }
    for (j, &d) in y.iter().enumerate() {
        match alphabet_index(d) {
            Some(k) => positions[k] |= 1 << j,
            None => return false,
        }
    }
    true
}

/// [`jaro_winkler`] with the character positions of `b` given ([`fill_positions`]): the same
/// value, each character's first free partner in its window found with one AND.
fn jaro_winkler_positioned(a: &str, b: &str, positions: &[u64; ALPHABET]) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x == y {
        return 1.0;
    }
    if x.is_empty() || x.len() > 64 {
        return jaro_winkler(a, b);
    }
    let window = (x.len().max(y.len()) / 2).saturating_sub(1);
    let mut x_matched: u64 = 0;
    let mut y_matched: u64 = 0;
    let mut matches = 0u32;
    for (i, &c) in x.iter().enumerate() {
        let Some(k) = alphabet_index(c) else {
            return jaro_winkler(a, b);
        };
        let low = i.saturating_sub(window);
        let high = (i + window + 1).min(y.len());
        if low >= high {
            continue;
        }
        let below_high = if high >= 64 {
            u64::MAX
        } else {
            (1u64 << high) - 1
        };
        let free = positions[k] & !y_matched & below_high & !((1u64 << low) - 1);
        if free != 0 {
            y_matched |= 1 << free.trailing_zeros();
            x_matched |= 1 << i;
            matches += 1;
        }
    }
    jaro_winkler_tail(x, y, x_matched, y_matched, matches)
}

/// Transpositions, Jaro and Winkler's boost from the matched positions.
fn jaro_winkler_tail(x: &[u8], y: &[u8], x_matched: u64, y_matched: u64, matches: u32) -> f64 {
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0u32;
    let mut j = 0;
    for (i, &c) in x.iter().enumerate() {
        if x_matched & (1 << i) != 0 {
            while y_matched & (1 << j) == 0 {
                j += 1;
            }
            if c != y[j] {
                transpositions += 1;
            }
            j += 1;
        }
    }
    let m = f64::from(matches);
    let jaro =
        (m / x.len() as f64 + m / y.len() as f64 + (m - f64::from(transpositions / 2)) / m) / 3.0;
    // Winkler's common-prefix boost, applied only to already similar tokens (as strsim does).
    if jaro <= 0.7 {
        return jaro;
    }
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
    jaro + 0.1 * prefix as f64 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::normalize::normalize_name;

    fn names(a: &str, b: &str) -> Evidence {
        compare_names(&normalize_name(a), &normalize_name(b))
    }

    #[test]
    fn name_comparison_cases() {
        assert_eq!(
            names("Bakkerij De Zandloper B.V.", "BAKKERIJ DE ZANDLOPER BV"),
            Evidence::NameEqual
        );
        assert!(names("Bakkerij De Zandloper", "Bakkerij De Zandlopr").supports_name());
        assert!(!names("Domino's Pizza Utrecht", "Domino's Pizza Amersfoort").supports_name());
        assert_eq!(
            names("Zandloper", "Bakkerij De Zandloper B.V."),
            Evidence::NameContained
        );
        assert!(matches!(
            names("Jansen Installatietechniek", "Visser Dakwerken"),
            Evidence::NameDifferent { .. }
        ));
        let long = "Installatiebedrijf Van den Heuvel en Zonen Noord-Holland B.V.";
        let cut: String = long.chars().take(50).collect();
        assert_eq!(names(&cut, long), Evidence::NameTruncated);
        assert_eq!(names(long, &cut), Evidence::NameTruncated);
    }

    #[test]
    fn jaro_winkler_agrees_with_strsim() {
        let words = [
            "zandloper",
            "zandlopr",
            "zandlpoer",
            "jansen",
            "janssen",
            "dominos",
            "amersfoort",
            "utrecht",
            "a",
            "ab",
            "ba",
            "martha",
            "marhta",
            "dixon",
            "dicksonx",
            "bakkerij",
            "bakkerijen",
            "vries",
            "vriesland",
            "heuvel",
            "x",
            "installatietechniek",
        ];
        for a in words {
            for b in words {
                let ours = jaro_winkler(a, b);
                let reference = strsim::jaro_winkler(a, b);
                assert!(
                    (ours - reference).abs() < 1e-9,
                    "{a} vs {b}: {ours} != {reference}"
                );
            }
        }
        assert!((jaro_winkler("café", "cafe") - strsim::jaro_winkler("café", "cafe")).abs() < 1e-9);
        // The positioned form gives exactly the same values.
        let more = ["a1b2", "zandloper2", "aaaa", "aaab", "abababab", "x-y", ""];
        for a in words.iter().chain(&more) {
            for b in words.iter().chain(&more) {
                let mut positions = [0u64; ALPHABET];
                if !fill_positions(b.as_bytes(), &mut positions) {
                    continue;
                }
                assert_eq!(
                    jaro_winkler_positioned(a, b, &positions).to_bits(),
                    jaro_winkler(a, b).to_bits(),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn display_is_stable() {
        assert_eq!(
            Evidence::NameSimilar { permille: 934 }.to_string(),
            "name_similar:0.934"
        );
        assert_eq!(Evidence::RoleConflict.to_string(), "holding_vs_operating");
    }
}
