//! The matcher: prepare both sides, block, score, decide.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;

use serde::{Serialize, Serializer};

use super::index::{BlockingIndex, IndexPart, KeyTable};
use super::ranks::Ranks;
use super::record::{
    MatchKind, MatchRecord, Prepared, fingerprint, mark_shared_domains, shared_domains,
};
use super::score::{Evidence, PairScore, score_pair};
use super::snelstart_index::SnelstartIndex;

/// Tuning of the matcher. The defaults are what the labelled test set was validated with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatchConfig {
    /// Minimum score for an automatic [`Decision::Match`] (default 50).
    pub match_threshold: i32,
    /// Minimum score for [`Decision::Review`] (default 25); below it the relation is new.
    pub review_threshold: i32,
    /// A runner-up within this many points of the best candidate makes the decision
    /// ambiguous (default 15).
    pub ambiguity_margin: i32,
    /// Blocking keys shared by more records than this are ignored (default 32; name keys
    /// use a quarter of it).
    pub max_bucket: usize,
    /// Extra freemail domains or provider labels (lower case), on top of
    /// [`FREEMAIL_PROVIDERS`](super::normalize::FREEMAIL_PROVIDERS).
    pub extra_freemail: Vec<String>,
    /// Also look for duplicates inside each side (default `true`).
    pub find_duplicates: bool,
    /// Worker threads (default: the machine's available parallelism). The result does not
    /// depend on it.
    pub threads: NonZeroUsize,
    /// Which half a CRM relation of kind `both` is linked to when SnelStart holds the company
    /// as a Klant and as a Leverancier (two relations, REL-0065): the kind its first write has
    /// (default [`MatchKind::Customer`], as `BothKindsPolicy::CustomerOnly` and
    /// `TwoRelations`; `Supplier` for `SupplierOnly`). The other half never makes the decision
    /// ambiguous.
    pub both_kinds_link: MatchKind,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            match_threshold: 50,
            review_threshold: 25,
            ambiguity_margin: 15,
            max_bucket: 32,
            extra_freemail: Vec::new(),
            find_duplicates: true,
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            both_kinds_link: MatchKind::Customer,
        }
    }
}

impl MatchConfig {
    /// Set the number of worker threads.
    #[must_use]
    pub fn with_threads(mut self, threads: NonZeroUsize) -> Self {
        self.threads = threads;
        self
    }

    /// Link CRM relations of kind `both` to the SnelStart relation of this kind when there are
    /// two halves (see [`both_kinds_link`](Self::both_kinds_link)).
    #[must_use]
    pub fn with_both_kinds_link(mut self, kind: MatchKind) -> Self {
        self.both_kinds_link = kind;
        self
    }

    /// Enable or disable duplicate detection inside each side.
    #[must_use]
    pub fn with_duplicates(mut self, find: bool) -> Self {
        self.find_duplicates = find;
        self
    }

    /// Add freemail domains or provider labels.
    #[must_use]
    pub fn with_extra_freemail<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_freemail
            .extend(domains.into_iter().map(|d| d.into().to_ascii_lowercase()));
        self
    }
}

/// What to do with one CRM relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Decision {
    /// SnelStart already has this relation: link to it.
    Match,
    /// A human must decide: ambiguous or insufficient evidence.
    Review,
    /// SnelStart does not have this relation: create it.
    New,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Match => "match",
            Self::Review => "review",
            Self::New => "new",
        })
    }
}

/// Why a decision was taken. Displays (and serialises) as a short stable code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Evidence of the chosen (or best) candidate.
    Evidence(Evidence),
    /// Another candidate scored within the ambiguity margin.
    Ambiguous {
        /// The runner-up.
        snelstart_id: String,
        /// Its score.
        score: i32,
    },
    /// Another CRM relation matched the same SnelStart relation (a duplicate in the CRM).
    SharedCandidate {
        /// The other CRM relation.
        crm_id: String,
    },
    /// A candidate that would otherwise have scored was ruled out by a conflicting
    /// identifier or by holding vs operating company.
    Vetoed {
        /// The ruled-out SnelStart relation.
        snelstart_id: String,
        /// The veto.
        evidence: Evidence,
    },
    /// SnelStart holds this company as the other kind only (a Leverancier-only relation for a
    /// CRM customer, or vice versa). One relation cannot be both (REL-0065), so the link could
    /// never be used: the CRM relation becomes a new relation of its own kind, and this says
    /// which relation SnelStart already has.
    KindConflict {
        /// The SnelStart relation of the other kind.
        snelstart_id: String,
        /// Its relatiecode, when known.
        relatiecode: Option<i64>,
        /// Its kind.
        snelstart_kind: MatchKind,
        /// How alike the two are (the pair's score without the kind).
        score: i32,
    },
    /// SnelStart holds this company more than once; the decision is about the original (the
    /// lowest relatiecode that is not `nonactief`), the others are reported, never linked.
    SnelstartDuplicates {
        /// The relation the decision points at (relatiecode, or id when there is none).
        linked: String,
        /// Every member, in relatiecode order (relatiecode, or id when there is none).
        members: Vec<String>,
    },
    /// The score is high enough but consists of contact data only (no strong identifier and
    /// no agreeing name), or a VAT number conflicts.
    InsufficientEvidence,
    /// No candidate shared any blocking key or none scored.
    NoCandidate,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Evidence(evidence) => evidence.fmt(f),
            Self::Ambiguous {
                snelstart_id,
                score,
            } => write!(f, "ambiguous_with:{snelstart_id}:{score}"),
            Self::SharedCandidate { crm_id } => write!(f, "also_matched_by_crm:{crm_id}"),
            Self::Vetoed {
                snelstart_id,
                evidence,
            } => write!(f, "vetoed:{snelstart_id}:{evidence}"),
            Self::KindConflict {
                snelstart_id,
                relatiecode,
                snelstart_kind,
                score,
            } => {
                write!(f, "kind_conflict:{snelstart_id}")?;
                if let Some(code) = relatiecode {
                    write!(f, ":relatiecode_{code}")?;
                }
                write!(
                    f,
                    ":snelstart_is_{}:{score}",
                    snelstart_kind.snelstart_word()
                )
            }
            Self::SnelstartDuplicates { linked, members } => write!(
                f,
                "snelstart_holds_company_{}_times:{};original:{linked}",
                members.len(),
                members.join(",")
            ),
            Self::InsufficientEvidence => f.write_str("insufficient_evidence"),
            Self::NoCandidate => f.write_str("no_candidate"),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A scored SnelStart candidate for one CRM relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Candidate {
    /// The SnelStart relation.
    pub snelstart_id: String,
    /// Its score.
    pub score: i32,
    /// The evidence behind the score.
    pub evidence: Vec<Evidence>,
    /// Its relatiecode, when known.
    pub relatiecode: Option<i64>,
    /// Whether it is `nonactief`.
    pub inactive: bool,
    /// Its kind, when known.
    pub kind: Option<MatchKind>,
    /// When this candidate stands for a group of duplicates inside SnelStart: the member
    /// whose data gave the evidence, if that is not the candidate (the original) itself.
    pub evidence_from: Option<String>,
    /// The other members of its duplicate group inside SnelStart (ids), if any.
    pub duplicates: Vec<String>,
}

/// The decision for one CRM relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MatchResult {
    /// The CRM relation.
    pub crm_id: String,
    /// Match, review or new.
    pub decision: Decision,
    /// The matched SnelStart relation; for a review, the best candidate; for new, `None`.
    pub snelstart_id: Option<String>,
    /// Score of that candidate (0 when there is none).
    pub score: i32,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The best candidates (at most three, best first), for a reviewer: their evidence says
    /// why each competes.
    pub candidates: Vec<Candidate>,
    /// When the chosen (or best) SnelStart relation is one of several records of one company
    /// inside SnelStart: that group. `snelstart_id` is its original.
    pub snelstart_group: Option<DuplicateGroup>,
}

impl MatchResult {
    /// A sentence for the administrator when SnelStart holds the company more than once:
    /// "SnelStart holds this company 3 times: 1042, 1187, 1301; linked to 1042".
    pub fn snelstart_duplicates_note(&self) -> Option<String> {
        let group = self.snelstart_group.as_ref()?;
        let verb = match self.decision {
            Decision::Match => "linked to",
            _ => "the original is",
        };
        Some(group.note(verb))
    }
}

/// One member of a [`DuplicateGroup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupMember {
    /// The SnelStart relation.
    pub snelstart_id: String,
    /// Its relatiecode, when known.
    pub relatiecode: Option<i64>,
    /// Whether it is `nonactief`.
    pub inactive: bool,
}

impl GroupMember {
    /// The relatiecode, or the id when there is none.
    pub fn label(&self) -> String {
        self.relatiecode
            .map_or_else(|| self.snelstart_id.clone(), |c| c.to_string())
    }
}

/// The same company held more than once inside SnelStart (administrations kept by hand).
///
/// The original is the member with the lowest relatiecode (codes are given in creation order)
/// that is not `nonactief`; when all are inactive, the lowest. Only the original is ever a link
/// target; the others are findings for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DuplicateGroup {
    /// The original's id.
    pub original: String,
    /// Every member in relatiecode order (members without a code last, by id).
    pub members: Vec<GroupMember>,
}

impl DuplicateGroup {
    fn note(&self, verb: &str) -> String {
        let labels: Vec<String> = self
            .members
            .iter()
            .map(|m| {
                if m.inactive {
                    format!("{} (nonactief)", m.label())
                } else {
                    m.label()
                }
            })
            .collect();
        let original = self
            .members
            .iter()
            .find(|m| m.snelstart_id == self.original)
            .map_or_else(|| self.original.clone(), GroupMember::label);
        format!(
            "SnelStart holds this company {} times: {}; {verb} {original}",
            self.members.len(),
            labels.join(", ")
        )
    }

    /// "SnelStart holds this company 3 times: 1042, 1187, 1301; the original is 1042".
    pub fn summary(&self) -> String {
        self.note("the original is")
    }
}

/// Which side of the comparison a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Side {
    /// The CRM.
    Crm,
    /// SnelStart.
    Snelstart,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Crm => "crm",
            Self::Snelstart => "snelstart",
        })
    }
}

/// Two records on the same side that look like the same relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DuplicatePair {
    /// The side both records are on.
    pub side: Side,
    /// The smaller id of the two.
    pub first_id: String,
    /// The larger id of the two.
    pub second_id: String,
    /// Pair score.
    pub score: i32,
    /// The evidence.
    pub evidence: Vec<Evidence>,
    /// For CRM pairs found because both matched this SnelStart relation (their direct score
    /// may be low: one record had the KvK number, the other the address).
    pub via_snelstart_id: Option<String>,
}

/// Everything the matcher found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MatchOutcome {
    /// One result per CRM relation, in input order.
    pub results: Vec<MatchResult>,
    /// Likely duplicates inside the CRM, sorted by id.
    pub crm_duplicates: Vec<DuplicatePair>,
    /// Likely duplicates inside SnelStart, sorted by id.
    pub snelstart_duplicates: Vec<DuplicatePair>,
    /// The same company held more than once inside SnelStart, with its original; sorted by
    /// the original's id. Always computed (decisions depend on it), whatever
    /// [`MatchConfig::find_duplicates`] says.
    pub snelstart_groups: Vec<DuplicateGroup>,
}

impl MatchOutcome {
    /// Number of results with the given decision.
    pub fn count(&self, decision: Decision) -> usize {
        self.results
            .iter()
            .filter(|r| r.decision == decision)
            .count()
    }
}

/// Input the matcher refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// Two records on one side share an id, so results could not be told apart.
    #[error("{side} relation id {id:?} occurs more than once (field `id`)")]
    DuplicateId {
        /// The side.
        side: Side,
        /// The id.
        id: String,
    },
    /// A record has an empty id.
    #[error("{side} relation at position {position} has an empty id (field `id`)")]
    EmptyId {
        /// The side.
        side: Side,
        /// Position in the input.
        position: usize,
    },
    /// More records than the index can address (over 4 billion).
    #[error("{side} has {len} relations, more than the matcher supports")]
    TooManyRecords {
        /// The side.
        side: Side,
        /// Number of records.
        len: usize,
    },
}

/// Matches CRM relations against SnelStart relations. Cheap to build, reusable, `Sync`.
///
/// ```
/// use mapping::matching::{Decision, MatchRecord, Matcher};
///
/// let crm = [MatchRecord::new("crm-1")
///     .with_legal_name("Bakkerij de Zandloper BV")
///     .with_kvk("87654321")];
/// let snelstart = [MatchRecord::new("14254699-e7ff-4537-9fb8-47ad46f7d4d7")
///     .with_legal_name("Bakkerij De Zandloper B.V.")
///     .with_kvk("87654321")];
/// let outcome = Matcher::default().run(&crm, &snelstart)?;
/// assert_eq!(outcome.results[0].decision, Decision::Match);
/// # Ok::<(), mapping::matching::MatchError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    config: MatchConfig,
}

/// One prepared side.
pub(super) struct SideData<'a> {
    /// Borrowed for one run, owned by a [`SnelstartIndex`] that records are added to.
    /// Ids and ranking fields: borrowed for one run, a compact table of its own in a
    /// [`SnelstartIndex`] that records are added to.
    pub(super) ranks: Ranks<'a>,
    pub(super) prepared: Vec<Prepared>,
    pub(super) keys: KeyTable,
}

impl Matcher {
    /// A matcher with the given configuration.
    pub fn new(config: MatchConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    /// Decide for every CRM relation whether SnelStart already has it, and flag duplicates
    /// inside either side (when enabled).
    ///
    /// The outcome depends only on the *sets* of records, never on their order or on the
    /// number of threads: ties are broken by id.
    ///
    /// # Errors
    ///
    /// [`MatchError`] when an id is empty or occurs twice on one side.
    pub fn run(
        &self,
        crm: &[MatchRecord],
        snelstart: &[MatchRecord],
    ) -> Result<MatchOutcome, MatchError> {
        let (crm_valid, ss_valid) = self.join(
            || validate(Side::Crm, crm),
            || validate(Side::Snelstart, snelstart),
        );
        crm_valid?;
        ss_valid?;
        let mut crm_side = self.prepare(crm);
        let ss_side = self.prepare(snelstart);
        // A mail or website domain either side holds for different companies is a chain's,
        // not a company's own (`Evidence::OwnDomainAndName` never rests on it).
        let (crm_shared, ss_shared) = self.join(
            || shared_domains(&crm_side.prepared, |_| None),
            || shared_domains(&ss_side.prepared, |_| None),
        );
        let snelstart = self.index_side(ss_side, &crm_shared, ss_shared);
        let outcome = self.match_side(&mut crm_side, &snelstart, Some(&crm_shared));
        // Freeing 200,000 prepared records (their names) is measurable: both sides at once.
        self.join(|| drop(crm_side), || drop(snelstart));
        Ok(outcome)
    }

    /// SnelStart's relations prepared once for many runs: see [`SnelstartIndex`].
    ///
    /// # Errors
    ///
    /// [`MatchError`] when an id is empty or occurs twice.
    pub fn index_snelstart<'a>(
        &self,
        snelstart: impl Into<Cow<'a, [MatchRecord]>>,
    ) -> Result<SnelstartIndex<'a>, MatchError> {
        let records = snelstart.into();
        validate(Side::Snelstart, &records)?;
        let side = self.prepare(records);
        let shared = shared_domains(&side.prepared, |_| None);
        Ok(self.index_side(side, &[], shared))
    }

    /// The SnelStart side made ready for matching: chain domains marked (`ss_shared`, its
    /// own, and `crm_shared` when the CRM side is known), the blocking index built, and the
    /// duplicate groups inside SnelStart found.
    fn index_side<'a>(
        &self,
        mut side: SideData<'a>,
        crm_shared: &[u64],
        ss_shared: Vec<u64>,
    ) -> SnelstartIndex<'a> {
        let mut shared = merge_sorted(crm_shared, &ss_shared);
        mark_shared_domains(&mut side.prepared, &shared);
        let index = self.build_index(&side.keys);
        // Duplicates inside SnelStart first: a CRM relation is linked to a group's original.
        let pairs = self.pairs_within(&side, &index);
        let groups = Groups::build(&side, &pairs);
        // The members of one duplicate group are one company: a domain only they hold at
        // different addresses (a company entered again after a move) is its own after all.
        if !pairs.is_empty() {
            let regrouped = merge_sorted(
                crm_shared,
                &shared_domains(&side.prepared, |i| groups.group_of(i)),
            );
            if regrouped != shared {
                mark_shared_domains(&mut side.prepared, &regrouped);
                shared = regrouped;
            }
        }
        SnelstartIndex {
            matcher: self.clone(),
            side,
            index,
            pairs,
            groups,
            shared,
            positions: None,
        }
    }

    /// Match a prepared CRM side against an indexed SnelStart side.
    pub(super) fn match_side(
        &self,
        crm_side: &mut SideData<'_>,
        ss: &SnelstartIndex<'_>,
        crm_shared: Option<&[u64]>,
    ) -> MatchOutcome {
        let (results, shared) = self.decide_side(crm_side, ss, crm_shared);
        let crm_side = &*crm_side;
        let ss_side = &ss.side;
        let (crm_duplicates, snelstart_duplicates) = if self.config.find_duplicates {
            let crm_index = self.build_index(&crm_side.keys);
            let crm_pairs = self.pairs_within(crm_side, &crm_index);
            let mut crm_duplicates = duplicate_pairs(Side::Crm, crm_side, &crm_pairs);
            add_shared_pairs(&mut crm_duplicates, &shared, crm_side);
            (
                crm_duplicates,
                duplicate_pairs(Side::Snelstart, ss_side, &ss.pairs),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        MatchOutcome {
            results,
            crm_duplicates,
            snelstart_duplicates,
            snelstart_groups: ss.groups.all(ss_side),
        }
    }

    /// The decisions of [`Matcher::match_side`] alone, with the CRM companies that share a
    /// domain (for the duplicate report).
    pub(super) fn decide_side(
        &self,
        crm_side: &mut SideData<'_>,
        ss: &SnelstartIndex<'_>,
        crm_shared: Option<&[u64]>,
    ) -> (Vec<MatchResult>, Vec<(Vec<usize>, String)>) {
        // A domain is its own for a company on both sides only if neither side holds it for
        // different companies. An index built without this CRM side is marked with
        // SnelStart's chain domains only; marking the CRM side with both sides' decides every
        // CRM-SnelStart pair as marking both sides with both would.
        let crm_shared = match crm_shared {
            Some(known) => Cow::Borrowed(known),
            None => Cow::Owned(shared_domains(&crm_side.prepared, |_| None)),
        };
        let shared = merge_sorted(&crm_shared, &ss.shared);
        mark_shared_domains(&mut crm_side.prepared, &shared);
        let crm_side = &*crm_side;
        let ss_side = &ss.side;

        let mut results = self.par_map_with(crm_side.ranks.len(), |scratch: &mut Scratch, i| {
            self.decide(i, crm_side, ss_side, &ss.index, &ss.groups, scratch)
        });
        let shared = demote_shared_matches(&mut results);
        (results, shared)
    }

    pub(super) fn prepare<'a>(&self, records: impl Into<Cow<'a, [MatchRecord]>>) -> SideData<'a> {
        let records = records.into();
        let prepared = self.par_map(records.len(), |i| {
            Prepared::new(&records[i], &self.config.extra_freemail)
        });
        let keys = KeyTable::concat(
            self.par_chunks(prepared.len(), |range| KeyTable::build(&prepared[range])),
        );
        // Deciding reads only the prepared form and the ranking fields from here on: records
        // given to keep leave their text here (a borrowed slice stays the caller's).
        let ranks = match records {
            Cow::Borrowed(records) => Ranks::borrowed(records),
            Cow::Owned(records) => Ranks::owned(&records),
        };
        SideData {
            ranks,
            prepared,
            keys,
        }
    }

    /// The blocking index over `keys`, its parts built on the configured threads.
    pub(super) fn build_index(&self, keys: &KeyTable) -> BlockingIndex {
        let parts = if keys.len() < 1024 {
            1
        } else {
            self.config.threads.get()
        };
        let built = self.par_tasks(parts, |part| IndexPart::build(keys, part, parts));
        BlockingIndex::from_parts(built, self.config.max_bucket)
    }

    /// `a` and `b` at the same time when more than one thread is configured (two independent
    /// serial steps, one per side), else one after the other.
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        if self.config.threads.get() <= 1 {
            return (a(), b());
        }
        std::thread::scope(|scope| {
            let handle = scope.spawn(a);
            let b = b();
            match handle.join() {
                Ok(a) => (a, b),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// `f(0)`, ..., `f(n - 1)`, each on its own thread (the first on the calling one); results
    /// in task order.
    fn par_tasks<T: Send>(&self, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
        if n <= 1 {
            return vec![f(0)];
        }
        let f = &f;
        std::thread::scope(|scope| {
            let handles: Vec<_> = (1..n).map(|t| scope.spawn(move || f(t))).collect();
            let mut out = Vec::with_capacity(n);
            out.push(f(0));
            for handle in handles {
                match handle.join() {
                    Ok(part) => out.push(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    }

    /// `(0..len).map(f)` spread over the configured threads in contiguous chunks, so the
    /// output order is the input order whatever the thread count.
    fn par_map<T: Send>(&self, len: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
        self.par_map_with(len, |_: &mut (), i| f(i))
    }

    /// [`par_map`](Self::par_map) where each thread lends `f` one scratch value `S` for all
    /// its items: buffers that would otherwise be allocated and freed once per record.
    fn par_map_with<S: Default, T: Send>(
        &self,
        len: usize,
        f: impl Fn(&mut S, usize) -> T + Sync,
    ) -> Vec<T> {
        let parts = self.par_chunks(len, |range| {
            let mut scratch = S::default();
            range.map(|i| f(&mut scratch, i)).collect::<Vec<T>>()
        });
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap_or_default();
        }
        let mut out = Vec::with_capacity(len);
        for part in parts {
            out.extend(part);
        }
        out
    }

    /// `f` over contiguous chunks of `0..len`, one per configured thread (a single chunk for
    /// small inputs), results in chunk order.
    fn par_chunks<T: Send>(
        &self,
        len: usize,
        f: impl Fn(std::ops::Range<usize>) -> T + Sync,
    ) -> Vec<T> {
        let threads = self.config.threads.get().min(len.max(1));
        if threads <= 1 || len < 1024 {
            return vec![f(0..len)];
        }
        let chunk = len.div_ceil(threads);
        self.par_tasks(threads, |t| {
            f((t * chunk).min(len)..((t + 1) * chunk).min(len))
        })
    }

    /// Score all candidates of CRM record `i` and decide.
    fn decide(
        &self,
        i: usize,
        crm: &SideData<'_>,
        ss: &SideData<'_>,
        index: &BlockingIndex,
        groups: &Groups,
        scratch: &mut Scratch,
    ) -> MatchResult {
        let config = &self.config;
        let me = &crm.prepared[i];
        let Scratch {
            positions: candidate_positions,
            scored,
            vetoed,
            entries,
        } = scratch;
        index.candidates(crm.keys.get(i), candidate_positions);

        scored.clear();
        vetoed.clear();
        entries.clear();
        for &j in candidate_positions.iter() {
            let j = j as usize;
            let pair = score_pair(me, &ss.prepared[j]);
            if let Some(veto) = pair.veto() {
                vetoed.push((j, veto, pair));
            } else if pair.score > 0 {
                scored.push((j, pair));
            }
        }
        // Best first; ties by SnelStart id so the outcome never depends on input order.
        scored.sort_by(|(a, pa), (b, pb)| {
            pb.score
                .cmp(&pa.score)
                .then_with(|| ss.ranks.id(*a).cmp(ss.ranks.id(*b)))
        });
        // Members of one duplicate group inside SnelStart are one candidate: the group's
        // target (its original), with the evidence of its best-scoring member. They never make
        // each other ambiguous.
        for (j, pair) in scored.drain(..) {
            let group = groups.group_of(j);
            if group.is_some() && entries.iter().any(|(_, m, _)| groups.group_of(*m) == group) {
                continue;
            }
            let target = match group {
                Some(g) => self.group_target(g, me, ss, groups).unwrap_or(j),
                None => j,
            };
            entries.push((target, j, pair));
        }

        if me.kind == Some(MatchKind::Both) {
            prefer_half(entries, ss, config);
        }

        let candidates: Vec<Candidate> = entries
            .iter()
            .take(3)
            .map(|(target, member, pair)| {
                let record = ss.ranks.get(*target);
                Candidate {
                    snelstart_id: record.id.to_owned(),
                    score: pair.score,
                    evidence: pair.evidence.to_vec(),
                    relatiecode: record.relatiecode,
                    inactive: record.inactive,
                    kind: record.kind,
                    evidence_from: (member != target).then(|| ss.ranks.id(*member).to_owned()),
                    duplicates: groups
                        .members(*target)
                        .iter()
                        .filter(|&&m| m as usize != *target)
                        .map(|&m| ss.ranks.id(m as usize).to_owned())
                        .collect(),
                }
            })
            .collect();

        let mut reasons = Vec::new();
        let mut group_of_choice = None;
        let (decision, snelstart_id, score) = match entries.first() {
            None => {
                if vetoed.is_empty() {
                    reasons.push(Reason::NoCandidate);
                }
                (Decision::New, None, 0)
            }
            Some((target, _, pair)) => {
                let runner_up = entries.get(1).filter(|(_, _, second)| {
                    second.score >= config.review_threshold
                        && pair.score - second.score < config.ambiguity_margin
                });
                let id = ss.ranks.id(*target).to_owned();
                reasons.extend(pair.evidence.iter().copied().map(Reason::Evidence));
                let decided = if pair.score >= config.match_threshold
                    && pair.may_match()
                    && runner_up.is_none()
                {
                    (Decision::Match, Some(id), pair.score)
                } else if pair.score >= config.review_threshold {
                    if let Some((second, _, second_pair)) = runner_up {
                        reasons.push(Reason::Ambiguous {
                            snelstart_id: ss.ranks.id(*second).to_owned(),
                            score: second_pair.score,
                        });
                    } else {
                        reasons.push(Reason::InsufficientEvidence);
                    }
                    (Decision::Review, Some(id), pair.score)
                } else {
                    (Decision::New, None, pair.score)
                };
                if decided.0 != Decision::New {
                    group_of_choice = groups.group_of(*target);
                }
                decided
            }
        };
        let snelstart_group = group_of_choice.map(|g| {
            let mut group = groups.describe(g, ss);
            // The target is the original, unless something rules the original out for this
            // relation (then the next member in original order).
            if let Some(id) = &snelstart_id {
                group.original.clone_from(id);
            }
            let linked = group
                .members
                .iter()
                .find(|m| m.snelstart_id == group.original)
                .map_or_else(|| group.original.clone(), GroupMember::label);
            reasons.push(Reason::SnelstartDuplicates {
                linked,
                members: group.members.iter().map(GroupMember::label).collect(),
            });
            group
        });
        self.finish(
            crm,
            i,
            decision,
            snelstart_id,
            score,
            reasons,
            candidates,
            vetoed,
            ss,
            snelstart_group,
        )
    }

    /// Add what ruled candidates out, and build the result.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        crm: &SideData<'_>,
        i: usize,
        decision: Decision,
        snelstart_id: Option<String>,
        score: i32,
        mut reasons: Vec<Reason>,
        candidates: Vec<Candidate>,
        vetoed: &mut [(usize, Evidence, PairScore)],
        ss: &SideData<'_>,
        snelstart_group: Option<DuplicateGroup>,
    ) -> MatchResult {
        // Say which candidates were ruled out, when that is why nothing matched: a reviewer
        // wants to know that "Jansen B.V." exists but has another KvK number, or that
        // SnelStart holds this very company as a supplier only.
        if decision != Decision::Match && !vetoed.is_empty() {
            vetoed.sort_by(|(a, _, pa), (b, _, pb)| {
                pb.score
                    .cmp(&pa.score)
                    .then_with(|| ss.ranks.id(*a).cmp(ss.ranks.id(*b)))
            });
            let mut told = 0;
            for &(j, evidence, pair) in vetoed.iter() {
                if told == 3 {
                    break;
                }
                let record = ss.ranks.get(j);
                if evidence == Evidence::KindConflict {
                    // Only the same company as the other kind is worth telling.
                    if pair.score < self.config.review_threshold || !pair.may_match_ignoring_kind()
                    {
                        continue;
                    }
                    reasons.push(Reason::KindConflict {
                        snelstart_id: record.id.to_owned(),
                        relatiecode: record.relatiecode,
                        snelstart_kind: record.kind.unwrap_or(MatchKind::Both),
                        score: pair.score,
                    });
                } else {
                    reasons.push(Reason::Vetoed {
                        snelstart_id: record.id.to_owned(),
                        evidence,
                    });
                }
                told += 1;
            }
        }

        // Candidates ruled out for reasons not worth telling (a supplier-only namesake that
        // is not this company): for the reader, there was no candidate.
        if reasons.is_empty() {
            reasons.push(Reason::NoCandidate);
        }
        MatchResult {
            crm_id: crm.ranks.id(i).to_owned(),
            decision,
            snelstart_id,
            score,
            reasons,
            candidates,
            snelstart_group,
        }
    }

    /// The member of group `g` a CRM relation is linked to: the first in original order
    /// (active before inactive, lowest relatiecode) that nothing rules out for it.
    fn group_target(
        &self,
        g: u32,
        me: &Prepared,
        ss: &SideData<'_>,
        groups: &Groups,
    ) -> Option<usize> {
        groups
            .ordered(g)
            .iter()
            .map(|&m| m as usize)
            .find(|&m| score_pair(me, &ss.prepared[m]).veto().is_none())
    }

    /// Pairs (by position, first < second) inside one side that would match each other.
    fn pairs_within(
        &self,
        data: &SideData<'_>,
        index: &BlockingIndex,
    ) -> Vec<(u32, u32, PairScore)> {
        let config = &self.config;
        // A name alone gives at most `NameEqual` points: unless the threshold is that low, a
        // pair that can be a duplicate shares an identifier or contact key, so the (costly)
        // name keys need not be followed.
        let exact_only = config.match_threshold > Evidence::NameEqual.points();
        let per_chunk = self.par_chunks(data.ranks.len(), |range| {
            let mut positions = Vec::new();
            let mut found = Vec::new();
            for i in range {
                if exact_only {
                    index.candidates_exact(data.keys.get(i), &mut positions);
                } else {
                    index.candidates(data.keys.get(i), &mut positions);
                }
                for &j in &positions {
                    // Each unordered pair once.
                    if j as usize <= i {
                        continue;
                    }
                    let pair = score_pair(&data.prepared[i], &data.prepared[j as usize]);
                    if pair.score >= config.match_threshold && pair.may_match() {
                        found.push((i as u32, j, pair));
                    }
                }
            }
            found
        });
        per_chunk.concat()
    }
}

/// Buffers [`Matcher::decide`] reuses from one CRM relation to the next.
#[derive(Default)]
struct Scratch {
    /// Positions of the SnelStart candidates.
    positions: Vec<u32>,
    /// Candidates that scored, with their position.
    scored: Vec<(usize, PairScore)>,
    /// Candidates ruled out, with the evidence that did it.
    vetoed: Vec<(usize, Evidence, PairScore)>,
    /// (target, member, score) per candidate, duplicate groups folded into their target.
    entries: Vec<(usize, usize, PairScore)>,
}

/// For a CRM relation of kind `both` whose best candidates include a customer-only and a
/// supplier-only SnelStart relation within the ambiguity margin (the two halves REL-0065
/// forces): the half of the configured kind leads, the other half is dropped.
fn prefer_half(
    entries: &mut Vec<(usize, usize, PairScore)>,
    ss: &SideData<'_>,
    config: &MatchConfig,
) {
    let Some(best) = entries.first().map(|e| e.2.score) else {
        return;
    };
    let wanted = config.both_kinds_link;
    let other = match wanted {
        MatchKind::Supplier => MatchKind::Customer,
        _ => MatchKind::Supplier,
    };
    let close = |e: &(usize, usize, PairScore)| best - e.2.score < config.ambiguity_margin;
    let kind = |e: &(usize, usize, PairScore)| ss.ranks.get(e.0).kind;
    let Some(k) = entries
        .iter()
        .position(|e| close(e) && kind(e) == Some(wanted))
    else {
        return;
    };
    if !entries.iter().any(|e| close(e) && kind(e) == Some(other)) {
        return;
    }
    let chosen = entries.remove(k);
    entries.retain(|e| !(close(e) && kind(e) == Some(other)));
    entries.insert(0, chosen);
}

/// Pairs as reported, sorted by id. Scoring is symmetric, so positions (which depend on input
/// order) do not matter; ids order each pair.
fn duplicate_pairs(
    side: Side,
    data: &SideData<'_>,
    pairs: &[(u32, u32, PairScore)],
) -> Vec<DuplicatePair> {
    let mut out: Vec<DuplicatePair> = pairs
        .iter()
        .map(|(i, j, pair)| {
            let (a, b) = (data.ranks.id(*i as usize), data.ranks.id(*j as usize));
            let (first_id, second_id) = if a <= b { (a, b) } else { (b, a) };
            DuplicatePair {
                side,
                first_id: first_id.to_owned(),
                second_id: second_id.to_owned(),
                score: pair.score,
                evidence: pair.evidence.to_vec(),
                via_snelstart_id: None,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.first_id, &a.second_id).cmp(&(&b.first_id, &b.second_id)));
    out
}

/// Duplicate groups inside SnelStart: connected components of the duplicate pairs.
pub(super) struct Groups {
    /// Per record: its group, or `u32::MAX` when it has no duplicate.
    group: Vec<u32>,
    /// Per group: its members in original order (active first, then relatiecode, then id).
    members: Vec<Vec<u32>>,
}

impl Groups {
    fn build(data: &SideData<'_>, pairs: &[(u32, u32, PairScore)]) -> Self {
        let n = data.ranks.len();
        let mut group = vec![u32::MAX; n];
        if pairs.is_empty() {
            return Self {
                group,
                members: Vec::new(),
            };
        }
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                let up = parent[parent[x as usize] as usize];
                parent[x as usize] = up;
                x = up;
            }
            x
        }
        for (a, b, _) in pairs {
            let (ra, rb) = (find(&mut parent, *a), find(&mut parent, *b));
            if ra != rb {
                // The smaller root wins, so the structure does not depend on pair order.
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
        let mut by_root: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (a, b, _) in pairs {
            for x in [*a, *b] {
                let root = find(&mut parent, x);
                by_root.entry(root).or_default().push(x);
            }
        }
        let mut members = Vec::with_capacity(by_root.len());
        for (_, mut list) in by_root {
            list.sort_unstable();
            list.dedup();
            list.sort_by(|&x, &y| {
                let (rx, ry) = (data.ranks.get(x as usize), data.ranks.get(y as usize));
                (rx.inactive, rx.relatiecode.unwrap_or(i64::MAX), &rx.id).cmp(&(
                    ry.inactive,
                    ry.relatiecode.unwrap_or(i64::MAX),
                    &ry.id,
                ))
            });
            let g = members.len() as u32;
            for &m in &list {
                group[m as usize] = g;
            }
            members.push(list);
        }
        Self { group, members }
    }

    /// Number of groups.
    pub(super) fn len(&self) -> usize {
        self.members.len()
    }

    fn group_of(&self, position: usize) -> Option<u32> {
        self.group.get(position).copied().filter(|&g| g != u32::MAX)
    }

    /// Members of group `g` in original order.
    fn ordered(&self, g: u32) -> &[u32] {
        &self.members[g as usize]
    }

    /// Members of the group of `position` (empty when it has none).
    fn members(&self, position: usize) -> &[u32] {
        self.group_of(position).map_or(&[], |g| self.ordered(g))
    }

    fn describe(&self, g: u32, data: &SideData<'_>) -> DuplicateGroup {
        let ordered = self.ordered(g);
        let original = data.ranks.id(ordered[0] as usize).to_owned();
        let mut members: Vec<GroupMember> = ordered
            .iter()
            .map(|&m| {
                let r = data.ranks.get(m as usize);
                GroupMember {
                    snelstart_id: r.id.to_owned(),
                    relatiecode: r.relatiecode,
                    inactive: r.inactive,
                }
            })
            .collect();
        members.sort_by(|a, b| {
            (a.relatiecode.unwrap_or(i64::MAX), &a.snelstart_id)
                .cmp(&(b.relatiecode.unwrap_or(i64::MAX), &b.snelstart_id))
        });
        DuplicateGroup { original, members }
    }

    pub(super) fn all(&self, data: &SideData<'_>) -> Vec<DuplicateGroup> {
        let mut out: Vec<DuplicateGroup> = (0..self.members.len() as u32)
            .map(|g| self.describe(g, data))
            .collect();
        out.sort_by(|a, b| a.original.cmp(&b.original));
        out
    }
}

/// The union of two sorted, deduplicated lists.
fn merge_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out.sort_unstable();
    out.dedup();
    out
}

pub(super) fn validate(side: Side, records: &[MatchRecord]) -> Result<(), MatchError> {
    if u32::try_from(records.len()).is_err() {
        return Err(MatchError::TooManyRecords {
            side,
            len: records.len(),
        });
    }
    if let Some(position) = records.iter().position(|r| r.id.trim().is_empty()) {
        return Err(MatchError::EmptyId { side, position });
    }
    // Sorting fingerprints is several times cheaper than hashing 100,000 strings into a set;
    // equal fingerprints are confirmed on the ids themselves. The id reported is the first
    // repeated one in input order, as a set would find it.
    let mut prints: Vec<(u64, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (fingerprint(&[r.id.as_bytes()]), i as u32))
        .collect();
    prints.sort_unstable();
    let mut first_repeat: Option<usize> = None;
    for pair in prints.windows(2) {
        let (x, y) = (pair[0].1 as usize, pair[1].1 as usize);
        if pair[0].0 == pair[1].0 && records[x].id == records[y].id {
            let later = x.max(y);
            first_repeat = Some(first_repeat.map_or(later, |f| f.min(later)));
        }
    }
    match first_repeat {
        Some(position) => Err(MatchError::DuplicateId {
            side,
            id: records[position].id.clone(),
        }),
        None => Ok(()),
    }
}

/// Two CRM relations matched to one SnelStart relation means the CRM holds a duplicate;
/// linking both would make them overwrite each other in SnelStart, so both go to review.
/// Returns the groups (CRM positions, SnelStart id).
fn demote_shared_matches(results: &mut [MatchResult]) -> Vec<(Vec<usize>, String)> {
    // Sorting (fingerprint, id, position) instead of a map from id to positions: no
    // allocation per matched relation, and the fingerprint decides almost every comparison.
    let mut matched: Vec<(u64, &str, usize)> = results
        .iter()
        .enumerate()
        .filter(|(_, result)| result.decision == Decision::Match)
        .filter_map(|(i, result)| {
            let id = result.snelstart_id.as_deref()?;
            Some((fingerprint(&[id.as_bytes()]), id, i))
        })
        .collect();
    matched.sort_unstable();
    let mut shared: Vec<(Vec<usize>, String)> = matched
        .chunk_by(|a, b| a.1 == b.1)
        .filter(|run| run.len() > 1)
        .map(|run| (run.iter().map(|m| m.2).collect(), run[0].1.to_owned()))
        .collect();
    drop(matched);
    // Reported in id order, whatever the fingerprints.
    shared.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    for (positions, _) in &shared {
        let mut ids: Vec<String> = positions
            .iter()
            .map(|&i| results[i].crm_id.clone())
            .collect();
        ids.sort();
        for &i in positions {
            let own = results[i].crm_id.clone();
            let result = &mut results[i];
            result.decision = Decision::Review;
            result.reasons.extend(
                ids.iter()
                    .filter(|id| **id != own)
                    .map(|id| Reason::SharedCandidate { crm_id: id.clone() }),
            );
        }
    }
    shared
}

/// Report CRM relations that matched one SnelStart relation as duplicates of each other,
/// unless their direct comparison already did.
fn add_shared_pairs(
    pairs: &mut Vec<DuplicatePair>,
    shared: &[(Vec<usize>, String)],
    crm: &SideData<'_>,
) {
    for (positions, snelstart_id) in shared {
        for (n, &i) in positions.iter().enumerate() {
            for &j in &positions[n + 1..] {
                let (a, b) = (crm.ranks.id(i), crm.ranks.id(j));
                let (first, second) = if a <= b { (i, j) } else { (j, i) };
                let (first_id, second_id) = (crm.ranks.id(first), crm.ranks.id(second));
                if pairs
                    .iter()
                    .any(|p| p.first_id == first_id && p.second_id == second_id)
                {
                    continue;
                }
                let pair = score_pair(&crm.prepared[first], &crm.prepared[second]);
                pairs.push(DuplicatePair {
                    side: Side::Crm,
                    first_id: first_id.to_owned(),
                    second_id: second_id.to_owned(),
                    score: pair.score,
                    evidence: pair.evidence.to_vec(),
                    via_snelstart_id: Some(snelstart_id.clone()),
                });
            }
        }
    }
    pairs.sort_by(|a, b| (&a.first_id, &a.second_id).cmp(&(&b.first_id, &b.second_id)));
}
