//! SnelStart's relations prepared once and matched against many CRM batches.
//!
//! [`Matcher::run`] prepares both sides every time. A sync matches its CRM relations in
//! batches of a few hundred against the same SnelStart administration, and creates relations
//! as it goes that later batches must see: preparing all of SnelStart again for each batch
//! makes a run of 100,000 relations quadratic. A [`SnelstartIndex`] keeps the prepared side,
//! its blocking index and its duplicate groups, and takes new relations one at a time.

use std::collections::HashMap;
use std::fmt;

use super::engine::{
    DuplicateGroup, Groups, MatchError, MatchOutcome, MatchResult, Matcher, Side, SideData,
    validate,
};
use super::index::BlockingIndex;
use super::ranks::Rank;
use super::record::{MatchRecord, Prepared, fingerprint, mark_shared_domains};
use super::score::PairScore;

/// Added relations are looked up in a growing map; once there are this many (or a quarter
/// of the relations, whichever is more), the sorted index is rebuilt over all of them, so the
/// rebuilds cost O(n log n) over a whole run.
const REBUILD_AFTER: usize = 4096;

/// SnelStart's relations, prepared for matching: build it once with
/// [`Matcher::index_snelstart`], match each CRM batch with [`run`](Self::run) (or
/// [`decide`](Self::decide) for the decisions alone, as the sync does), and
/// [`add`](Self::add) every relation created meanwhile so the next batch links to it instead
/// of creating it again.
///
/// The outcome of `run` is the outcome of [`Matcher::run`] over the same relations, with one
/// difference: duplicate groups inside SnelStart and the domains SnelStart holds for several
/// companies are found when the index is built; relations added later belong to no group
/// and do not make a domain shared.
///
/// ```
/// use mapping::matching::{Decision, MatchRecord, Matcher};
///
/// let matcher = Matcher::default();
/// let mut snelstart = matcher.index_snelstart(vec![
///     MatchRecord::new("ss-1").with_legal_name("Bakkerij De Zandloper B.V.").with_kvk("87654321"),
/// ])?;
/// let first = snelstart.run(&[MatchRecord::new("crm-9").with_legal_name("Jansen Installatie B.V.")
///     .with_kvk("12345678")])?;
/// assert_eq!(first.results[0].decision, Decision::New);
/// // The sync creates it in SnelStart and remembers it...
/// snelstart.add(MatchRecord::new("ss-2").with_legal_name("Jansen Installatie B.V.")
///     .with_kvk("12345678"))?;
/// // ... so a later batch holding the same company links to it.
/// let later = snelstart.run(&[MatchRecord::new("crm-10").with_legal_name("Jansen Installatie")
///     .with_kvk("12345678")])?;
/// assert_eq!(later.results[0].snelstart_id.as_deref(), Some("ss-2"));
/// # Ok::<(), mapping::matching::MatchError>(())
/// ```
pub struct SnelstartIndex<'a> {
    pub(super) matcher: Matcher,
    pub(super) side: SideData<'a>,
    pub(super) index: BlockingIndex,
    /// Duplicate pairs inside SnelStart, as found when the index was built.
    pub(super) pairs: Vec<(u32, u32, PairScore)>,
    pub(super) groups: Groups,
    /// Domains SnelStart holds for different companies (sorted).
    pub(super) shared: Vec<u64>,
    /// Position by id fingerprint, built on the first `add`.
    pub(super) positions: Option<HashMap<u64, u32>>,
}

impl fmt::Debug for SnelstartIndex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnelstartIndex")
            .field("relations", &self.len())
            .field("added_since_build", &self.index.added_records())
            .field("duplicate_groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

impl SnelstartIndex<'_> {
    /// Decide for every CRM relation whether SnelStart already has it (see
    /// [`Matcher::run`]), against the relations of this index.
    ///
    /// # Errors
    ///
    /// [`MatchError`] when a CRM id is empty or occurs twice.
    pub fn run(&self, crm: &[MatchRecord]) -> Result<MatchOutcome, MatchError> {
        validate(Side::Crm, crm)?;
        let mut crm_side = self.matcher.prepare(crm);
        Ok(self.matcher.match_side(&mut crm_side, self, None))
    }

    /// The decisions of [`run`](Self::run) alone, in the order of `crm`: the same
    /// [`MatchResult`]s, without the duplicate report (the pairs inside the batch and inside
    /// SnelStart, and SnelStart's duplicate groups).
    ///
    /// Why apart: a sync matches every batch of CRM records against the same index, and the
    /// report describes every duplicate inside SnelStart each time. For an administration
    /// with many duplicates that was most of a batch's matching: against 107,000 relations
    /// with 4,600 duplicate groups, 5.6-5.8 ms per batch of 200 with the report and
    /// 1.4-1.6 ms without (`cargo run --release --example match_batch_bench`).
    ///
    /// # Errors
    ///
    /// [`MatchError`] when a CRM id is empty or occurs twice.
    pub fn decide(&self, crm: &[MatchRecord]) -> Result<Vec<MatchResult>, MatchError> {
        validate(Side::Crm, crm)?;
        let mut crm_side = self.matcher.prepare(crm);
        Ok(self.matcher.decide_side(&mut crm_side, self, None).0)
    }

    /// Add a relation (one the sync created), or replace the one with the same id (one it
    /// changed). Later runs see it.
    ///
    /// # Errors
    ///
    /// [`MatchError::EmptyId`] for an empty id, [`MatchError::TooManyRecords`] past
    /// `u32::MAX` relations.
    pub fn add(&mut self, record: MatchRecord) -> Result<(), MatchError> {
        let position = self.len();
        if record.id.trim().is_empty() {
            return Err(MatchError::EmptyId {
                side: Side::Snelstart,
                position,
            });
        }
        let mut prepared = Prepared::new(&record, &self.matcher.config().extra_freemail);
        mark_shared_domains(std::slice::from_mut(&mut prepared), &self.shared);
        // Only the id and the ranking fields are kept besides the prepared form.
        let rank = Rank::from(&record);
        let position = match self.position_of(rank.id) {
            Some(existing) => {
                self.side.ranks.replace(existing, rank);
                self.side.prepared[existing] = prepared;
                self.side
                    .keys
                    .replace(existing, &self.side.prepared[existing]);
                existing
            }
            None => {
                let Ok(print_position) = u32::try_from(position) else {
                    return Err(MatchError::TooManyRecords {
                        side: Side::Snelstart,
                        len: position + 1,
                    });
                };
                if let Some(positions) = &mut self.positions {
                    positions.insert(fingerprint(&[rank.id.as_bytes()]), print_position);
                }
                self.side.ranks.push(rank);
                self.side.keys.push(&prepared);
                self.side.prepared.push(prepared);
                position
            }
        };
        // The added map serves until it is large; then one sorted rebuild over everything.
        if self.index.added_records() + 1 >= REBUILD_AFTER.max(self.len() / 4) {
            // The old index goes before the new one is built: holding both (and the build's
            // sorted key pairs) was a 100,000-relation sync's peak.
            self.index = BlockingIndex::empty();
            self.index = self.matcher.build_index(&self.side.keys);
        } else {
            // Positions fit in u32: checked above for new ones, existing ones were.
            self.index
                .add(position as u32, self.side.keys.get(position));
        }
        Ok(())
    }

    /// Number of SnelStart relations in the index.
    pub fn len(&self) -> usize {
        self.side.ranks.len()
    }

    /// `true` when the index holds no relation.
    pub fn is_empty(&self) -> bool {
        self.side.ranks.len() == 0
    }

    /// The relations' ids, in the order given (added ones last).
    ///
    /// The index keeps a relation's names and contact details only in the form prepared for
    /// matching, not as given, so it hands out ids rather than records.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.side.ranks.iter().map(|r| r.id)
    }

    /// The duplicate groups inside SnelStart found when the index was built.
    pub fn duplicate_groups(&self) -> Vec<DuplicateGroup> {
        self.groups.all(&self.side)
    }

    /// Position of the relation with `id`.
    fn position_of(&mut self, id: &str) -> Option<usize> {
        let ranks = &self.side.ranks;
        let positions = self.positions.get_or_insert_with(|| {
            ranks
                .iter()
                .enumerate()
                .map(|(i, r)| (fingerprint(&[r.id.as_bytes()]), i as u32))
                .collect()
        });
        let &found = positions.get(&fingerprint(&[id.as_bytes()]))?;
        if ranks.id(found as usize) == id {
            Some(found as usize)
        } else {
            // Two ids with one fingerprint (never seen, but possible): ask the records.
            ranks.iter().position(|r| r.id == id)
        }
    }
}
