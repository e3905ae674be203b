//! Deterministic synthetic Dutch relations with ground truth.
//!
//! Used by the quality test, the benchmarks and the `match_bench` example, and public so that
//! anyone can reproduce the figures on their own machine. The generator builds a "world" of
//! companies, then renders each one the way SnelStart holds it (name cut at 50 characters,
//! house number inside the street line, phone as typed by a bookkeeper) and/or the way a CRM
//! holds it (typos, other spelling of the legal form, a contact's e-mail instead of the
//! general one, identifiers missing), and remembers which CRM record is which SnelStart
//! record.
//!
//! The hard cases of real administrations are built in on purpose, see [`CaseKind`].
//! Everything is derived from the seed: the same configuration always gives the same data.

use std::collections::HashMap;

use super::engine::{Decision, MatchOutcome};
use super::record::{MatchKind, MatchRecord};

/// What makes a generated company hard to match (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CaseKind {
    /// An ordinary company.
    Plain,
    /// A holding whose operating company has the same name without "Holding", the same
    /// address, phone and e-mail domain.
    Holding,
    /// The operating company of such a holding.
    Operating,
    /// One of many companies in a business centre: same postcode and house number, often the
    /// same reception phone.
    BusinessCentre,
    /// A franchisee: the brand's name (sometimes without a city) and e-mail domain, its own
    /// KvK number and address.
    Franchise,
    /// A sole trader with a freemail address.
    Freemail,
    /// Invoices go to the accountant's shared e-mail address.
    SharedAccountant,
    /// A name longer than SnelStart's 50 characters.
    LongName,
    /// Entered two or three times in SnelStart over the years (newer records look closer);
    /// the right link is the original: the lowest relatiecode that is not `nonactief`.
    SnelstartDuplicates,
    /// SnelStart holds this company only as the other kind (a Leverancier-only namesake of a
    /// CRM customer): never a link, the relation is new.
    OtherKindOnly,
    /// SnelStart holds this company twice, as Klant and as Leverancier (REL-0065): the CRM
    /// relation belongs with the one of its own kind.
    KlantAndLeverancier,
    /// Only e-mail address, postcode and house number agree; no KvK, VAT or IBAN, and the
    /// name is spelled differently.
    ContactOnly,
    /// SnelStart holds the trade name, the CRM the legal name.
    TradeName,
    /// Moved since SnelStart last heard of it: another address in the CRM.
    Moved,
    /// A Belgian relation: four-digit postcode (`B-2000`), enterprise number as VAT id with
    /// or without `BE`, phone in Belgian national or international form.
    Belgian,
    /// Identifiers in the forms of real exports: `KvK 12345678`, `12.34.56.78`, a KvK number
    /// that lost its leading zero, a VAT id without `NL` or with dots.
    IdentifierForms,
}

/// Size and seed of a generated set.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SyntheticConfig {
    /// Records per side (before the few deliberate duplicates are added).
    pub per_side: usize,
    /// Share of companies present on both sides, 0..=1.
    pub overlap: f64,
    /// Random seed.
    pub seed: u64,
}

impl SyntheticConfig {
    /// `per_side` records per side, 60 % overlap, seed 1.
    pub fn new(per_side: usize) -> Self {
        Self {
            per_side,
            overlap: 0.6,
            seed: 1,
        }
    }

    /// Use another seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Use another overlap.
    #[must_use]
    pub fn with_overlap(mut self, overlap: f64) -> Self {
        self.overlap = overlap.clamp(0.0, 1.0);
        self
    }
}

/// A generated CRM side and SnelStart side with the right answers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LabelledSet {
    /// CRM records.
    pub crm: Vec<MatchRecord>,
    /// SnelStart records.
    pub snelstart: Vec<MatchRecord>,
    /// For each CRM record (same position), the id of the SnelStart record that is the same
    /// company, if any.
    pub truth: Vec<Option<String>>,
    /// For each CRM record, the kind of company it is.
    pub kinds: Vec<CaseKind>,
    /// Pairs of SnelStart ids that are deliberate duplicates of one company.
    pub snelstart_duplicates: Vec<(String, String)>,
    /// Deliberate duplicate groups inside SnelStart: (original, every member).
    pub snelstart_groups: Vec<(String, Vec<String>)>,
    /// Pairs of CRM ids that are deliberate duplicates of one company.
    pub crm_duplicates: Vec<(String, String)>,
}

/// Precision and recall of an outcome against a [`LabelledSet`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Quality {
    /// Matches to the right SnelStart record.
    pub true_matches: usize,
    /// Matches to a wrong SnelStart record, or matches of a new relation.
    pub false_matches: usize,
    /// Relations SnelStart has that were not matched (review or new).
    pub missed: usize,
    /// Relations sent to review.
    pub reviews: usize,
    /// Relations that truly exist in SnelStart.
    pub existing: usize,
    /// Per kind: (relations, wrong matches, missed).
    pub by_kind: Vec<(CaseKind, usize, usize, usize)>,
}

impl Quality {
    /// Share of automatic matches that are right (1 when nothing matched).
    pub fn precision(&self) -> f64 {
        let linked = self.true_matches + self.false_matches;
        if linked == 0 {
            1.0
        } else {
            self.true_matches as f64 / linked as f64
        }
    }

    /// Share of existing relations that were matched to the right record (1 when none exist).
    pub fn recall(&self) -> f64 {
        if self.existing == 0 {
            1.0
        } else {
            self.true_matches as f64 / self.existing as f64
        }
    }
}

/// Score an outcome against the ground truth of `set`.
pub fn evaluate(outcome: &MatchOutcome, set: &LabelledSet) -> Quality {
    let mut quality = Quality::default();
    let mut kinds: HashMap<CaseKind, (usize, usize, usize)> = HashMap::new();
    for ((result, truth), kind) in outcome.results.iter().zip(&set.truth).zip(&set.kinds) {
        let entry = kinds.entry(*kind).or_default();
        entry.0 += 1;
        if truth.is_some() {
            quality.existing += 1;
        }
        match result.decision {
            Decision::Match if result.snelstart_id == *truth => quality.true_matches += 1,
            Decision::Match => {
                quality.false_matches += 1;
                entry.1 += 1;
                if truth.is_some() {
                    quality.missed += 1;
                    entry.2 += 1;
                }
            }
            _ => {
                if result.decision == Decision::Review {
                    quality.reviews += 1;
                }
                if truth.is_some() {
                    quality.missed += 1;
                    entry.2 += 1;
                }
            }
        }
    }
    let mut by_kind: Vec<_> = kinds
        .into_iter()
        .map(|(kind, (n, wrong, missed))| (kind, n, wrong, missed))
        .collect();
    by_kind.sort();
    quality.by_kind = by_kind;
    quality
}

/// splitmix64: tiny, fast, good enough for test data, and stable across platforms and
/// versions (unlike an external RNG crate whose streams may change).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    fn below(&mut self, n: usize) -> usize {
        // The modulo bias is irrelevant for test data.
        (self.next_u64() % (n.max(1) as u64)) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection on `0..2^bits`: unique numbers for unique inputs, scattered.
fn scatter(i: u64, bits: u32, salt: u64) -> u64 {
    let mask = (1u64 << bits) - 1;
    (i.wrapping_mul(0x9e37_79b9) ^ salt).wrapping_mul(0x2545_f491_4f6c_dd1d | 1) & mask
}

const BRANCHES: &[&str] = &[
    "Bakkerij",
    "Slagerij",
    "Bouwbedrijf",
    "Installatiebedrijf",
    "Schildersbedrijf",
    "Autobedrijf",
    "Transportbedrijf",
    "Kapsalon",
    "Tandartspraktijk",
    "Fysiotherapie",
    "Administratiekantoor",
    "Advocatenkantoor",
    "Architectenbureau",
    "Hoveniersbedrijf",
    "Loodgietersbedrijf",
    "Dakdekkersbedrijf",
    "Timmerbedrijf",
    "Elektrotechniek",
    "Adviesbureau",
    "Bloemenhandel",
    "Groothandel",
    "Drukkerij",
    "Garage",
    "Café",
    "Restaurant",
    "Hotel",
    "Makelaardij",
    "Verhuurbedrijf",
    "Schoonmaakbedrijf",
    "Koeriersdienst",
    "Fietsenwinkel",
    "Opticien",
    "Dierenkliniek",
    "Stukadoorsbedrijf",
    "Tegelzetbedrijf",
    "Rijschool",
    "Zonwering",
    "Kinderopvang",
    "Notariskantoor",
    "Accountantskantoor",
];

const SUFFIXES: &[&str] = &[
    "Installatietechniek",
    "Bouw",
    "Advies",
    "Transport",
    "Techniek",
    "Consultancy",
    "Vastgoed",
    "Onderhoud",
    "Logistiek",
    "ICT",
    "Media",
    "Design",
    "Metaal",
    "Hout",
    "Projecten",
    "Services",
    "Handel",
    "Montage",
    "Dakwerken",
    "Groenvoorziening",
];

const FAMILIES: &[&str] = &[
    "De Jong",
    "Jansen",
    "De Vries",
    "Van den Berg",
    "Van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "De Boer",
    "Mulder",
    "De Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Van Leeuwen",
    "Dekker",
    "Brouwer",
    "De Wit",
    "Dijkstra",
    "Smits",
    "De Graaf",
    "Van der Meer",
    "Van der Linden",
    "Kok",
    "Jacobs",
    "De Haan",
    "Vermeulen",
    "Van den Heuvel",
    "Van der Veen",
    "Van den Broek",
    "De Bruijn",
    "De Bruin",
    "Van der Heijden",
    "Schouten",
    "Van Beek",
    "Willems",
    "Van Vliet",
    "Van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "Van Dam",
    "Van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
    "Kuipers",
    "Van Wijk",
    "Van Veen",
    "Postma",
    "Kuijpers",
    "Bosman",
    "Van Rijn",
    "Öztürk",
    "Yılmaz",
    "El Amrani",
    "Nguyễn",
    "Çelik",
    "Boukhari",
];

const FANCY: &[&str] = &[
    "De Zandloper",
    "Het Anker",
    "De Gouden Leeuw",
    "Noorderlicht",
    "De Zonnebloem",
    "De Eendracht",
    "Het Wapen",
    "De Molen",
    "De Vlijt",
    "Het Hoekje",
    "De Ster",
    "De Klok",
    "De Linde",
    "Het Baken",
    "De Kroon",
    "Vliegwiel",
    "Blauwe Reiger",
    "De Waag",
    "Het Kompas",
    "Zuiderzon",
    "De Toekomst",
    "Het Gilde",
    "Rode Draad",
    "De Horizon",
    "Sterrenwacht",
    "Dwarsligger",
    "De Brug",
    "Lindeboom",
    "De Oase",
    "Smederij",
];

const CITIES: &[&str] = &[
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Apeldoorn",
    "Haarlem",
    "Arnhem",
    "Enschede",
    "Amersfoort",
    "Zaandam",
    "'s-Hertogenbosch",
    "Zwolle",
    "Leiden",
    "Zoetermeer",
    "Maastricht",
    "Dordrecht",
    "Ede",
    "Delft",
    "Venlo",
    "Deventer",
    "Alkmaar",
    "Helmond",
    "Hilversum",
    "Heerlen",
    "Leeuwarden",
    "Purmerend",
    "Roosendaal",
    "Schiedam",
    "Oss",
    "Emmen",
    "Lelystad",
    "Gouda",
    "Hoorn",
    "Assen",
    "Zeist",
    "Veenendaal",
    "Nieuwegein",
    "Hengelo",
    "Almelo",
    "Doetinchem",
    "Harderwijk",
    "Bergen op Zoom",
    "Kampen",
    "Woerden",
    "Wageningen",
    "Zutphen",
    "Meppel",
    "Sneek",
    "Drachten",
    "Heerenveen",
    "Terneuzen",
    "Middelburg",
    "Goes",
    "Roermond",
    "Sittard",
];

const STREETS: &[&str] = &[
    "Kerkstraat",
    "Dorpsstraat",
    "Stationsweg",
    "Molenweg",
    "Industrieweg",
    "Hoofdstraat",
    "Schoolstraat",
    "Nieuwstraat",
    "Marktplein",
    "Lindengracht",
    "Oudegracht",
    "Havenkade",
    "Parallelweg",
    "Ambachtsweg",
    "Edisonstraat",
    "Energieweg",
    "Handelsweg",
    "2e Hugo de Grootstraat",
    "1e Constantijn Huygensstraat",
];

const BRANDS: &[&str] = &[
    "Kaashandel Henri Willig",
    "Domino's Pizza",
    "Bakker Bart",
    "Bruna",
    "Primera",
    "Gall & Gall",
    "Bike Totaal",
    "Hubo",
    "Kapsalon Hairstyle Express",
    "Coffeecompany",
    "Etos",
    "Intersport",
    "Expert",
    "Kruidvat",
    "Jumbo Supermarkt",
];

const FREEMAIL: &[&str] = &[
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "live.nl",
    "ziggo.nl",
    "kpnmail.nl",
    "planet.nl",
    "home.nl",
    "xs4all.nl",
    "icloud.com",
    "yahoo.com",
    "hotmail.nl",
];

const AREA_CODES: &[&str] = &[
    "20", "10", "30", "40", "50", "70", "72", "73", "76", "24", "26", "35", "38", "43", "45", "53",
    "55", "58", "71", "79", "13", "15",
];

const BANKS: &[&str] = &[
    "ABNA", "INGB", "RABO", "SNSB", "TRIO", "KNAB", "ASNB", "BUNQ",
];

/// Legal form spellings people actually type, per form.
const BV_SPELLINGS: &[&str] = &["B.V.", "BV", "B.V", "bv", "B. V."];

#[derive(Debug, Clone)]
struct Company {
    legal_base: String,
    legal_form: Option<&'static str>,
    trade_name: Option<String>,
    kvk: String,
    vat: String,
    iban: String,
    /// Company e-mail domain; `None` for freemail users.
    domain: Option<String>,
    /// The general mailbox (company domain or freemail).
    email: String,
    /// A contact person's mailbox.
    contact_email: String,
    phone: String,
    postcode: String,
    street: String,
    house: u32,
    addition: String,
    /// Invoice address at an accountant, if any.
    accountant_email: Option<String>,
    kind: CaseKind,
    /// Customer or supplier.
    relation_kind: MatchKind,
    /// Belgian (four-digit postcode, enterprise number, +32).
    belgian: bool,
    /// The address before a move, as SnelStart still has it.
    old_address: Option<(String, u32)>,
}

impl Company {
    fn legal_name(&self) -> String {
        match self.legal_form {
            Some(form) => format!("{} {form}", self.legal_base),
            None => self.legal_base.clone(),
        }
    }
}

fn slug(name: &str) -> String {
    deunicode::deunicode(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn iban(bank: &str, account: u64) -> String {
    let bban = format!("{bank}{account:010}");
    let mut remainder: u32 = 0;
    for b in bban.bytes().chain(*b"NL00") {
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
    format!("NL{:02}{bban}", 98 - remainder)
}

struct World {
    rng: Rng,
    companies: Vec<Company>,
    centres: Vec<(String, String, u32, String)>,
    accountants: Vec<String>,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed ^ 0x005e_ed0f_d00d);
        let centres = (0..40)
            .map(|_| {
                let postcode = Self::random_postcode(&mut rng);
                let street = rng
                    .pick(&[
                        "Businesspark",
                        "Bedrijvencentrum",
                        "World Trade Center",
                        "Kantorenpark",
                    ])
                    .to_owned();
                let house = 1 + rng.below(120) as u32;
                let phone = format!(
                    "0{}{:07}",
                    rng.pick(AREA_CODES),
                    9_000_000 + rng.below(999_999)
                );
                (postcode, street, house, phone)
            })
            .collect();
        let accountants = (0..15)
            .map(|i| {
                format!(
                    "facturen@{}-accountants.nl",
                    slug(FAMILIES[i * 3 % FAMILIES.len()])
                )
            })
            .collect();
        Self {
            rng,
            companies: Vec::new(),
            centres,
            accountants,
        }
    }

    fn random_postcode(rng: &mut Rng) -> String {
        let letters = b"ABCDEFGHJKLMNPRTVWXZ";
        format!(
            "{}{}{}",
            1000 + rng.below(9000),
            letters[rng.below(letters.len())] as char,
            letters[rng.below(letters.len())] as char
        )
    }

    /// A new company with unique identifiers; `n` is its sequence number.
    fn base_company(&mut self, legal_base: String, kind: CaseKind) -> Company {
        let n = self.companies.len() as u64;
        let rng = &mut self.rng;
        let kvk = format!("{}", 10_000_000 + scatter(n, 26, 0x1234));
        let vat = format!("NL{:09}B{:02}", scatter(n, 29, 0x5678), 1 + rng.below(3));
        let iban = iban(rng.pick(BANKS), scatter(n, 33, 0x9abc));
        let phone = format!("0{}{:07}", rng.pick(AREA_CODES), scatter(n, 23, 0xdef0));
        let domain = format!("{}.nl", slug(&legal_base));
        let email = format!(
            "{}@{domain}",
            rng.pick(&["info", "administratie", "facturen", "contact", "post"])
        );
        let contact_email = format!(
            "{}.{}@{domain}",
            (b'a' + rng.below(26) as u8) as char,
            slug(rng.pick(FAMILIES))
        );
        Company {
            legal_base,
            legal_form: Some("B.V."),
            trade_name: None,
            kvk,
            vat,
            iban,
            domain: Some(domain),
            email,
            contact_email,
            phone,
            postcode: Self::random_postcode(rng),
            street: rng.pick(STREETS).to_owned(),
            house: 1 + rng.below(250) as u32,
            addition: if rng.chance(0.1) {
                rng.pick(&["A", "B", "hs", "1"]).to_owned()
            } else {
                String::new()
            },
            accountant_email: None,
            kind,
            relation_kind: if rng.chance(0.12) {
                MatchKind::Supplier
            } else {
                MatchKind::Customer
            },
            belgian: false,
            old_address: None,
        }
    }

    fn plain_name(&mut self) -> String {
        let r = &mut self.rng;
        match r.below(5) {
            0 => format!(
                "{} {}-{}",
                r.pick(BRANCHES),
                r.pick(FAMILIES),
                r.pick(FAMILIES)
            ),
            1 => format!(
                "{} {}. {}",
                r.pick(BRANCHES),
                (b'A' + r.below(26) as u8) as char,
                r.pick(FAMILIES)
            ),
            2 => format!(
                "{} {} {}",
                r.pick(FAMILIES),
                r.pick(SUFFIXES),
                r.pick(CITIES)
            ),
            3 => format!("{} {} {}", r.pick(BRANCHES), r.pick(FANCY), r.pick(CITIES)),
            _ => format!(
                "{} & {} {}",
                r.pick(FAMILIES),
                r.pick(FAMILIES),
                r.pick(SUFFIXES)
            ),
        }
    }

    /// Add one company, or a group for the group-shaped hard cases.
    fn add(&mut self) {
        let roll = self.rng.below(1000);
        match roll {
            // Holding + operating company.
            0..=39 => {
                let base = if self.rng.chance(0.5) {
                    self.rng.pick(FAMILIES).to_owned()
                } else {
                    format!("{} {}", self.rng.pick(FAMILIES), self.rng.pick(SUFFIXES))
                };
                let base = format!("{base} {}", self.rng.pick(CITIES));
                let operating = self.base_company(base.clone(), CaseKind::Operating);
                self.companies.push(operating.clone());
                let mut holding = self.base_company(format!("{base} Holding"), CaseKind::Holding);
                holding.domain.clone_from(&operating.domain);
                holding.email = if self.rng.chance(0.5) {
                    operating.email.clone()
                } else {
                    format!("holding@{}", operating.domain.as_deref().unwrap_or("x.nl"))
                };
                holding.phone.clone_from(&operating.phone);
                holding.postcode.clone_from(&operating.postcode);
                holding.street.clone_from(&operating.street);
                holding.house = operating.house;
                holding.addition.clone_from(&operating.addition);
                if self.rng.chance(0.3) {
                    // Fiscal unity: one VAT number for the group.
                    holding.vat.clone_from(&operating.vat);
                }
                self.companies.push(holding);
            }
            // Business centre tenant.
            40..=69 => {
                let name = self.plain_name();
                let mut company = self.base_company(name, CaseKind::BusinessCentre);
                let (postcode, street, house, phone) =
                    self.centres[self.rng.below(self.centres.len())].clone();
                company.postcode = postcode;
                company.street = street;
                company.house = house;
                company.addition = if self.rng.chance(0.5) {
                    format!("{}", 1 + self.rng.below(60))
                } else {
                    String::new()
                };
                if self.rng.chance(0.5) {
                    company.phone = phone;
                }
                self.companies.push(company);
            }
            // Franchisee.
            70..=99 => {
                let brand = self.rng.pick(BRANDS);
                let city = self.rng.pick(CITIES);
                let name = if self.rng.chance(0.5) {
                    format!("{brand} {city}")
                } else {
                    brand.to_owned()
                };
                let mut company = self.base_company(name, CaseKind::Franchise);
                let domain = format!("{}.nl", slug(brand));
                company.email = format!("{}@{domain}", slug(city));
                company.contact_email = format!("{}{}@{domain}", slug(city), self.rng.below(100));
                company.domain = Some(domain);
                self.companies.push(company);
            }
            // Sole trader with freemail.
            100..=299 => {
                let family = self.rng.pick(FAMILIES);
                let initial = (b'A' + self.rng.below(26) as u8) as char;
                let trade = format!("{} {family}", self.rng.pick(BRANCHES));
                let legal = if self.rng.chance(0.5) {
                    format!("{initial}. {family}")
                } else {
                    trade.clone()
                };
                let mut company = self.base_company(legal, CaseKind::Freemail);
                company.legal_form = None;
                company.trade_name = Some(trade);
                let provider = self.rng.pick(FREEMAIL);
                let n = self.companies.len();
                company.email = format!(
                    "{}{}{n}@{provider}",
                    initial.to_ascii_lowercase(),
                    slug(family)
                );
                company.contact_email = company.email.clone();
                company.domain = None;
                company.phone = format!("06{:08}", scatter(n as u64, 26, 0x0606));
                self.companies.push(company);
            }
            // Invoices via an accountant's shared mailbox.
            300..=329 => {
                let name = self.plain_name();
                let mut company = self.base_company(name, CaseKind::SharedAccountant);
                company.accountant_email =
                    Some(self.accountants[self.rng.below(self.accountants.len())].clone());
                self.companies.push(company);
            }
            // Long name, cut by SnelStart.
            330..=379 => {
                let r = &mut self.rng;
                let name = format!(
                    "{} {} {} en Zonen {} {}",
                    r.pick(BRANCHES),
                    r.pick(FANCY),
                    r.pick(FAMILIES),
                    r.pick(CITIES),
                    r.pick(&[
                        "Noord-Holland",
                        "Zuid-Holland",
                        "Gelderland",
                        "Noord-Brabant",
                        "Overijssel"
                    ])
                );
                let company = self.base_company(name, CaseKind::LongName);
                self.companies.push(company);
            }
            380..=419 => {
                let name = self.plain_name();
                let company = self.base_company(name, CaseKind::SnelstartDuplicates);
                self.companies.push(company);
            }
            420..=449 => {
                let name = self.plain_name();
                let company = self.base_company(name, CaseKind::OtherKindOnly);
                self.companies.push(company);
            }
            450..=469 => {
                let name = self.plain_name();
                let company = self.base_company(name, CaseKind::KlantAndLeverancier);
                self.companies.push(company);
            }
            470..=509 => {
                let name = self.plain_name();
                let company = self.base_company(name, CaseKind::ContactOnly);
                self.companies.push(company);
            }
            510..=539 => {
                let r = &mut self.rng;
                let family = r.pick(FAMILIES);
                let legal = format!("{family} {} {}", r.pick(SUFFIXES), r.pick(CITIES));
                let trade = format!("{} {}", r.pick(FANCY), r.pick(BRANCHES));
                let mut company = self.base_company(legal, CaseKind::TradeName);
                company.trade_name = Some(trade);
                self.companies.push(company);
            }
            540..=569 => {
                let name = self.plain_name();
                let mut company = self.base_company(name, CaseKind::Moved);
                company.old_address = Some((
                    Self::random_postcode(&mut self.rng),
                    1 + self.rng.below(200) as u32,
                ));
                self.companies.push(company);
            }
            570..=599 => {
                let r = &mut self.rng;
                let name = format!(
                    "{} {} {}",
                    r.pick(BRANCHES),
                    r.pick(FANCY),
                    r.pick(&[
                        "Antwerpen",
                        "Gent",
                        "Brugge",
                        "Leuven",
                        "Hasselt",
                        "Mechelen"
                    ])
                );
                let mut company = self.base_company(name, CaseKind::Belgian);
                let n = self.companies.len() as u64;
                let base = 10_000_000 + scatter(n, 26, 0xbe);
                company.vat = format!("BE0{base:08}{:02}", 97 - base % 97);
                company.kvk = String::new();
                company.postcode = format!("{}", 1000 + self.rng.below(9000));
                company.phone = format!(
                    "0{}{:07}",
                    self.rng.pick(&["3", "9", "2"]),
                    scatter(n, 23, 0x32)
                );
                company.belgian = true;
                company.legal_form = Some(self.rng.pick(&["BV", "NV", "BVBA"]));
                if let Some(domain) = &mut company.domain {
                    *domain = domain.replace(".nl", ".be");
                    company.email = company.email.replace(".nl", ".be");
                    company.contact_email = company.contact_email.replace(".nl", ".be");
                }
                self.companies.push(company);
            }
            600..=639 => {
                let name = self.plain_name();
                let mut company = self.base_company(name, CaseKind::IdentifierForms);
                if self.rng.chance(0.3) {
                    // A KvK number with a leading zero, which spreadsheets drop.
                    company.kvk = format!("0{}", &company.kvk[1..]);
                }
                self.companies.push(company);
            }
            _ => {
                let name = self.plain_name();
                let mut company = self.base_company(name, CaseKind::Plain);
                company.legal_form = match self.rng.below(10) {
                    0 => Some("V.O.F."),
                    1 => None,
                    _ => Some("B.V."),
                };
                self.companies.push(company);
            }
        }
    }
}

fn guid(rng: &mut Rng, n: u64) -> String {
    // `mix` is a bijection, so distinct `n` give distinct ids; the rng salts the rest.
    let a = mix(n ^ 0xa5a5_a5a5);
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A typo: drop, double, swap or replace one letter of a word of five letters or more.
fn typo(rng: &mut Rng, name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    let long: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].chars().count() >= 5 && words[i].chars().all(char::is_alphabetic))
        .collect();
    if long.is_empty() {
        return name.to_owned();
    }
    let w = long[rng.below(long.len())];
    let mut chars: Vec<char> = words[w].chars().collect();
    let at = 1 + rng.below(chars.len() - 2);
    match rng.below(4) {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        2 => chars.swap(at, at + 1),
        _ => chars[at] = (b'a' + rng.below(26) as u8) as char,
    }
    let changed: String = chars.into_iter().collect();
    let mut out: Vec<String> = words.iter().map(|s| (*s).to_owned()).collect();
    out[w] = changed;
    out.join(" ")
}

/// Format a 10-digit Dutch number the ways people type it.
fn format_phone(rng: &mut Rng, digits: &str) -> String {
    let (area, rest) = if digits.starts_with("06") {
        digits.split_at(2)
    } else {
        digits.split_at(3)
    };
    match rng.below(4) {
        0 => format!("{area}-{rest}"),
        1 => format!("+31 {} {rest}", &area[1..]),
        2 => format!("+31 (0){} {rest}", &area[1..]),
        _ => digits.to_owned(),
    }
}

/// Belgian national form (`03 123 45 67`) or international (`+32 3 123 45 67`).
fn format_belgian_phone(rng: &mut Rng, digits: &str, international: bool) -> String {
    let (area, rest) = digits.split_at(2);
    let spaced = format!("{} {} {}", &rest[..3], &rest[3..5], &rest[5..]);
    if international {
        format!("+32 {} {spaced}", &area[1..])
    } else if rng.chance(0.5) {
        format!("{area} {spaced}")
    } else {
        digits.to_owned()
    }
}

/// A KvK number as people type it.
fn format_kvk(rng: &mut Rng, kvk: &str) -> String {
    match rng.below(6) {
        0 => format!("KvK {kvk}"),
        1 => format!("KvK-nummer: {kvk}"),
        2 => format!("{}.{}.{}.{}", &kvk[..2], &kvk[2..4], &kvk[4..6], &kvk[6..]),
        3 => format!("{} {}", &kvk[..4], &kvk[4..]),
        // A lost leading zero.
        4 if kvk.starts_with('0') => kvk[1..].to_owned(),
        _ => kvk.to_owned(),
    }
}

/// A VAT id as people type it (Dutch: without prefix, with dots, lower case).
fn format_vat(rng: &mut Rng, vat: &str) -> String {
    if let Some(number) = vat.strip_prefix("BE") {
        return match rng.below(3) {
            0 => format!("{}.{}.{}", &number[..4], &number[4..7], &number[7..]),
            1 => format!("BE {}.{}.{}", &number[..4], &number[4..7], &number[7..]),
            _ => vat.to_owned(),
        };
    }
    let number = &vat[2..];
    match rng.below(4) {
        0 => number.to_owned(),
        1 => format!(
            "NL {}.{}.{}.B.{}",
            &number[..4],
            &number[4..6],
            &number[6..9],
            &number[10..]
        ),
        2 => vat.to_lowercase(),
        _ => vat.to_owned(),
    }
}

fn snelstart_record(rng: &mut Rng, company: &Company, id: String) -> MatchRecord {
    let full = company.legal_name();
    let naam = match &company.trade_name {
        Some(trade) if company.kind == CaseKind::TradeName || rng.chance(0.3) => trade.clone(),
        _ => full,
    };
    // SnelStart keeps 50 characters of `naam`.
    let naam: String = naam.chars().take(50).collect();
    let mut record = MatchRecord::new(id).with_legal_name(naam);
    let contact_only = company.kind == CaseKind::ContactOnly;
    if !contact_only {
        if !company.kvk.is_empty() && rng.chance(0.6) {
            record = record.with_kvk(company.kvk.clone());
        }
        if rng.chance(0.55) {
            let vat = if company.belgian {
                format_vat(rng, &company.vat)
            } else {
                company.vat.clone()
            };
            record = record.with_vat(vat);
        }
        if rng.chance(0.55) {
            record = record.with_iban(company.iban.clone());
        }
    }
    if let Some(accountant) = &company.accountant_email {
        record = record.with_email(accountant.clone());
    } else if contact_only || rng.chance(0.85) {
        record = record.with_email(company.email.clone());
    }
    if rng.chance(0.8) {
        let phone = if company.belgian {
            {
                let international = rng.chance(0.7);
                format_belgian_phone(rng, &company.phone, international)
            }
        } else {
            format_phone(rng, &company.phone)
        };
        record = record.with_phone(phone);
    }
    if contact_only || rng.chance(0.9) {
        let (postcode, house, addition) = match &company.old_address {
            Some((postcode, house)) => (postcode.clone(), *house, ""),
            None => (
                company.postcode.clone(),
                company.house,
                company.addition.as_str(),
            ),
        };
        let postcode = if company.belgian {
            if rng.chance(0.5) {
                format!("B-{postcode}")
            } else {
                postcode
            }
        } else {
            format!("{} {}", &postcode[..4], &postcode[4..])
        };
        let street = if addition.is_empty() {
            format!("{} {house}", company.street)
        } else {
            format!("{} {house}-{addition}", company.street)
        };
        record = record.with_street_address(postcode, street);
    }
    record
}

/// The name of a relation spelled otherwise: words in another order, a branch word dropped or
/// added, an abbreviation.
fn respelled(rng: &mut Rng, name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    match rng.below(3) {
        0 if words.len() > 2 => {
            let mut w = words.clone();
            w.rotate_left(1);
            w.join(" ")
        }
        1 if words.len() > 2 => words[1..].join(" "),
        _ => format!(
            "{} {}",
            rng.pick(&["Fa.", "Firma", "Kantoor"]),
            words.join(" ")
        ),
    }
}

fn crm_record(rng: &mut Rng, company: &Company, id: String) -> MatchRecord {
    let mut base = company.legal_base.clone();
    if company.kind == CaseKind::ContactOnly {
        base = respelled(rng, &base);
    }
    if rng.chance(0.15) {
        base = typo(rng, &base);
    }
    if rng.chance(0.1) {
        base = base.to_uppercase();
    }
    let mut legal = match company.legal_form {
        Some("B.V.") if rng.chance(0.4) => format!("{base} {}", rng.pick(BV_SPELLINGS)),
        Some(_) if rng.chance(0.05) => base,
        Some(form) => format!("{base} {form}"),
        None => base,
    };
    if rng.chance(0.05) {
        legal = deunicode::deunicode(&legal);
    }
    let mut record = MatchRecord::new(id).with_legal_name(legal);
    if let Some(trade) = &company.trade_name
        && company.kind != CaseKind::TradeName
        && rng.chance(0.6)
    {
        record = record.with_trade_name(trade.clone());
    }
    let forms = company.kind == CaseKind::IdentifierForms;
    if company.kind != CaseKind::ContactOnly {
        if !company.kvk.is_empty() && rng.chance(0.5) {
            let kvk = if forms {
                format_kvk(rng, &company.kvk)
            } else {
                company.kvk.clone()
            };
            record = record.with_kvk(kvk);
        }
        if rng.chance(0.45) {
            let vat = if forms || company.belgian {
                format_vat(rng, &company.vat)
            } else {
                company.vat.clone()
            };
            record = record.with_vat(vat);
        }
        if rng.chance(0.35) {
            record = record.with_iban(company.iban.to_lowercase());
        }
    }
    if company.kind == CaseKind::ContactOnly {
        record = record.with_email(company.email.clone());
    } else if rng.chance(0.9) {
        let email = if rng.chance(0.5) {
            &company.email
        } else {
            &company.contact_email
        };
        record = record.with_email(email.clone());
    }
    if let Some(accountant) = &company.accountant_email
        && rng.chance(0.5)
    {
        record = record.with_email(accountant.clone());
    }
    if rng.chance(if company.kind == CaseKind::ContactOnly {
        0.3
    } else {
        0.8
    }) {
        let phone = if company.belgian {
            {
                let international = rng.chance(0.3);
                format_belgian_phone(rng, &company.phone, international)
            }
        } else {
            format_phone(rng, &company.phone)
        };
        record = record.with_phone(phone);
    }
    if company.belgian {
        record = record.with_country("BE");
    }
    if company.kind == CaseKind::ContactOnly || rng.chance(0.9) {
        if company.kind != CaseKind::ContactOnly && rng.chance(0.05) {
            // Moved since SnelStart last heard of it.
            let postcode = World::random_postcode(rng);
            record = record.with_address(postcode, format!("{}", 1 + rng.below(200)));
        } else {
            let house = if company.addition.is_empty() {
                company.house.to_string()
            } else {
                format!("{}-{}", company.house, company.addition)
            };
            record = record.with_address(company.postcode.clone(), house);
        }
    }
    record.with_kind(company.relation_kind)
}

/// Generate a labelled set.
pub fn generate(config: SyntheticConfig) -> LabelledSet {
    let per_side = config.per_side;
    let shared = ((per_side as f64) * config.overlap).round() as usize;
    let only = per_side - shared.min(per_side);
    let total = shared + 2 * only;

    let mut world = World::new(config.seed);
    while world.companies.len() < total {
        world.add();
    }
    let mut companies = std::mem::take(&mut world.companies);
    companies.truncate(total);
    let mut rng = world.rng;
    // Shuffle which companies are shared, CRM-only and SnelStart-only.
    for i in (1..companies.len()).rev() {
        let j = rng.below(i + 1);
        companies.swap(i, j);
    }

    let mut crm: Vec<(MatchRecord, Option<String>, CaseKind)> = Vec::with_capacity(per_side + 8);
    let mut snelstart: Vec<MatchRecord> = Vec::with_capacity(per_side + 8);
    let mut crm_duplicates = Vec::new();
    let mut snelstart_duplicates = Vec::new();
    let mut serial: u64 = 0;
    // A bijection keeps the ids unique while hiding the generation order.
    let next_crm_id = |serial: &mut u64| {
        *serial += 1;
        format!("crm-{:010}", scatter(*serial, 32, config.seed))
    };
    let mut snelstart_groups = Vec::new();
    // Relatiecodes follow creation order; records entered again later get later codes.
    let mut code: i64 = 1000;
    let mut late_code: i64 = 500_000;
    for (n, company) in companies.iter().enumerate() {
        let in_crm = n < shared + only;
        let in_both = n < shared;
        let in_snelstart = n < shared || n >= shared + only;
        let own = company.relation_kind;
        let other = if own == MatchKind::Supplier {
            MatchKind::Customer
        } else {
            MatchKind::Supplier
        };
        let ss_id_of = |rng: &mut Rng, k: u64| guid(rng, (n as u64) << 2 | k);
        let mut truth: Option<String> = None;
        if in_snelstart {
            match company.kind {
                CaseKind::SnelstartDuplicates => {
                    let copies = 2 + rng.below(2);
                    let mut members: Vec<String> = Vec::with_capacity(copies);
                    for k in 0..copies {
                        let id = ss_id_of(&mut rng, k as u64);
                        let mut record = snelstart_record(&mut rng, company, id.clone());
                        if k == 0 {
                            code += 1;
                            record = record.with_relatiecode(code);
                            // The first record is the oldest: it often lacks what was added
                            // to the later ones.
                            if rng.chance(0.6) {
                                record.kvk = None;
                            }
                            if rng.chance(0.6) {
                                record.vat = None;
                            }
                            if rng.chance(0.6) {
                                record.iban = None;
                            }
                        } else {
                            late_code += 1 + rng.below(50) as i64;
                            record = record.with_relatiecode(late_code);
                        }
                        snelstart.push(record.with_kind(own));
                        members.push(id);
                    }
                    // Sometimes the original was switched off instead of the copies: then
                    // the next one (the lowest active code) is the original.
                    let first_inactive = rng.chance(0.3);
                    if first_inactive {
                        let first = snelstart.len() - copies;
                        snelstart[first].inactive = true;
                    }
                    let original = members[usize::from(first_inactive)].clone();
                    for twin in &members[1..] {
                        snelstart_duplicates.push((members[0].clone(), twin.clone()));
                    }
                    snelstart_groups.push((original.clone(), members));
                    truth = Some(original);
                }
                CaseKind::OtherKindOnly if in_both => {
                    // Only as the other kind: never a link target for this CRM relation.
                    code += 1;
                    let id = ss_id_of(&mut rng, 3);
                    let record = snelstart_record(&mut rng, company, id);
                    snelstart.push(record.with_kind(other).with_relatiecode(code));
                }
                CaseKind::KlantAndLeverancier if in_both => {
                    let id = ss_id_of(&mut rng, 1);
                    let other_id = ss_id_of(&mut rng, 3);
                    let mut pair = [
                        (snelstart_record(&mut rng, company, id.clone()), own),
                        (snelstart_record(&mut rng, company, other_id), other),
                    ];
                    if rng.chance(0.5) {
                        pair.swap(0, 1);
                    }
                    for (record, kind) in pair {
                        code += 1;
                        snelstart.push(record.with_kind(kind).with_relatiecode(code));
                    }
                    truth = Some(id);
                }
                _ => {
                    let id = ss_id_of(&mut rng, 1);
                    code += 1;
                    let inactive = rng.chance(0.03);
                    snelstart.push(
                        snelstart_record(&mut rng, company, id.clone())
                            .with_kind(own)
                            .with_relatiecode(code)
                            .with_inactive(inactive),
                    );
                    // A few relations were entered twice in SnelStart.
                    if n >= shared + only && rng.chance(0.003) {
                        let twin_id = ss_id_of(&mut rng, 0);
                        late_code += 1;
                        snelstart.push(
                            snelstart_record(&mut rng, company, twin_id.clone())
                                .with_kind(own)
                                .with_relatiecode(late_code),
                        );
                        snelstart_duplicates.push((id.clone(), twin_id));
                    }
                    truth = Some(id);
                }
            }
        }
        let ss_id = if in_crm && in_both { truth } else { None };
        if in_crm {
            let id = next_crm_id(&mut serial);
            crm.push((
                crm_record(&mut rng, company, id.clone()),
                ss_id.clone(),
                company.kind,
            ));
            // A few relations exist twice in the CRM.
            if rng.chance(0.002) {
                let twin_id = next_crm_id(&mut serial);
                crm.push((
                    crm_record(&mut rng, company, twin_id.clone()),
                    ss_id,
                    company.kind,
                ));
                crm_duplicates.push((id, twin_id));
            }
        }
    }
    // Order must carry no information.
    for i in (1..crm.len()).rev() {
        let j = rng.below(i + 1);
        crm.swap(i, j);
    }
    for i in (1..snelstart.len()).rev() {
        let j = rng.below(i + 1);
        snelstart.swap(i, j);
    }
    let (records, (truth, kinds)): (Vec<_>, (Vec<_>, Vec<_>)) =
        crm.into_iter().map(|(r, t, k)| (r, (t, k))).unzip();
    LabelledSet {
        crm: records,
        snelstart,
        truth,
        kinds,
        snelstart_duplicates,
        snelstart_groups,
        crm_duplicates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::normalize::normalize_iban;

    #[test]
    fn generated_ibans_are_valid() {
        for account in [0, 1, 417_164_300, 9_999_999_999] {
            let value = iban("ABNA", account);
            assert_eq!(normalize_iban(&value).as_deref(), Some(value.as_str()));
        }
    }

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = generate(SyntheticConfig::new(500).with_seed(7));
        let b = generate(SyntheticConfig::new(500).with_seed(7));
        assert_eq!(a.crm, b.crm);
        assert_eq!(a.snelstart, b.snelstart);
        assert!(a.crm.len() >= 500 && a.crm.len() < 510);
        assert!(a.snelstart.len() >= 500 && a.snelstart.len() < 600);
        let c = generate(SyntheticConfig::new(500).with_seed(8));
        assert_ne!(a.crm, c.crm);
    }

    #[test]
    fn ids_are_unique() {
        let set = generate(SyntheticConfig::new(20_000));
        let mut ids: Vec<&str> = set.crm.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), set.crm.len());
        let mut ids: Vec<&str> = set.snelstart.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), set.snelstart.len());
    }
}
