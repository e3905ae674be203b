//! Duplicate matching: does SnelStart already have this CRM relation?
//!
//! Before a first sync, every CRM relation must be linked to the SnelStart relation it already
//! has, or created as new; creating a second "Bakkerij De Zandloper" is the classic first-sync
//! accident. This module decides per CRM relation:
//!
//! - [`Decision::Match`]: one SnelStart relation is clearly the same (with its id);
//! - [`Decision::Review`]: there is a candidate, but the evidence is ambiguous or thin; a human
//!   decides (the [`Reason`]s say why);
//! - [`Decision::New`]: nothing in SnelStart is this relation.
//!
//! It also flags likely duplicates *inside* the CRM and inside SnelStart.
//!
//! # How
//!
//! 1. Both sides become [`MatchRecord`]s (adapters exist for the CRM model and the SnelStart
//!    read model), and every value is normalised once ([`normalize`]): KvK, VAT, IBAN and
//!    phone numbers to canonical forms, e-mail addresses to lower case with freemail domains
//!    recognised, postcode + house number, and names stripped of case, accents, punctuation and
//!    legal forms (with "Holding"/"Beheer" recorded separately).
//! 2. A blocking index over cheap keys (identifiers, e-mail, phone, address, name words)
//!    selects the few candidates worth comparing, so 100,000 x 100,000 relations take well
//!    under a second instead of 10^10 comparisons.
//! 3. Each candidate pair is scored from [`Evidence`]: points for agreeing identifiers and
//!    contact data, fuzzy name similarity, penalties for differing names or legal forms.
//! 4. Vetoes: a different KvK number, a holding versus its operating company, or a customer
//!    versus a Leverancier-only relation (and a supplier versus a Klant-only one: one
//!    SnelStart relation cannot be both, REL-0065) rule a pair out whatever else agrees; the
//!    last is reported as [`Reason::KindConflict`] and the relation is new. A different VAT
//!    number prevents an automatic match.
//! 5. Duplicates inside SnelStart (the same company entered two or three times) are found
//!    first and count as one candidate: its original, the lowest relatiecode that is not
//!    `nonactief` ([`DuplicateGroup`]); the others are reported, never linked.
//! 6. A match needs a score of at least [`MatchConfig::match_threshold`], a strong
//!    identifier (KvK; VAT when the names do not differ, since a fiscal unity shares one VAT
//!    id; the same e-mail address at the same postcode + house number; or the company's own
//!    contacts, such as its mail domain or IBAN with its phone, at its postcode + house number,
//!    see [`Evidence::OwnContactsAgree`]) or agreeing names (a single shared contact never
//!    links: accountants and business centres share e-mail addresses and phone numbers), and
//!    no runner-up within
//!    [`MatchConfig::ambiguity_margin`]. Two CRM relations matching one SnelStart relation are
//!    both sent to review. Namesakes whose addresses differ, with nothing else in common, are
//!    new rather than review.
//!
//! The outcome depends only on the input sets, not on their order nor on the thread count.
//!
//! # Cost
//!
//! Near linear: every value is normalised once into inline 64-bit fingerprints, each record
//! looks up a bounded number of blocking keys, and each candidate pair is scored without
//! allocating; the serial steps (the blocking index, validation, chain domains) are split over
//! the threads too. 100,000 CRM relations against 100,000 SnelStart relations take about 1.2 s
//! of CPU time (both threads together); normalising both sides and comparing names are most of
//! it (see the README for the measured figures). A sync that matches batch after batch against
//! one administration prepares SnelStart's side once ([`SnelstartIndex`]);
//! `examples/match_bench.rs` prints the figure and `benches/matching.rs` measures it with
//! criterion. The [`synthetic`] module generates the labelled Dutch data both use, and the
//! quality test holds the matcher to a precision of at least 0.99, a recall of at least 0.95
//! and at most 5 % reviews on it; `tests/matching_independent.rs` does the same on a set
//! generated independently of this module.
//!
//! ```
//! use mapping::matching::{Decision, MatchRecord, Matcher};
//!
//! let crm = vec![
//!     MatchRecord::new("crm-1")
//!         .with_legal_name("Jansen Holding B.V.")
//!         .with_address("3511 AB", "12"),
//!     MatchRecord::new("crm-2")
//!         .with_legal_name("Bakkerij de Zandlopr") // typo
//!         .with_phone("+31 20 555 0142"),
//! ];
//! let snelstart = vec![
//!     MatchRecord::new("ss-a")
//!         .with_legal_name("Jansen B.V.")
//!         .with_street_address("3511AB", "Oudegracht 12"),
//!     MatchRecord::new("ss-b")
//!         .with_legal_name("Bakkerij De Zandloper B.V.")
//!         .with_phone("020-5550142"),
//! ];
//! let outcome = Matcher::default().run(&crm, &snelstart)?;
//! // A holding is not its operating company, however much else agrees.
//! assert_eq!(outcome.results[0].decision, Decision::New);
//! assert_eq!(outcome.results[1].decision, Decision::Match);
//! assert_eq!(outcome.results[1].snelstart_id.as_deref(), Some("ss-b"));
//! # Ok::<(), mapping::matching::MatchError>(())
//! ```

mod adapters;
mod engine;
mod index;
pub mod normalize;
mod ranks;
mod record;
pub mod report;
mod score;
mod snelstart_index;
pub mod synthetic;

pub use engine::{
    Candidate, Decision, DuplicateGroup, DuplicatePair, GroupMember, MatchConfig, MatchError,
    MatchOutcome, MatchResult, Matcher, Reason, Side,
};
pub use record::{MatchAddress, MatchKind, MatchRecord};
pub use score::Evidence;
pub use snelstart_index::SnelstartIndex;
