//! What deciding reads of a relation besides its prepared form: its id and the fields that
//! rank duplicates (kind, relatiecode, inactive).
//!
//! A run borrows its caller's [`MatchRecord`]s for these. A [`SnelstartIndex`] lives as long
//! as a sync and holds every relation the sync creates: a whole `MatchRecord` (288 bytes, a
//! heap block for its id) per relation, kept only for these four fields, was about 37 MB of
//! a 100,000-relation sync. The index keeps them in a [`RankTable`] instead: the ids in one
//! buffer and 32 bytes per relation.
//!
//! [`SnelstartIndex`]: super::SnelstartIndex

use super::record::{MatchKind, MatchRecord};

/// One relation's ranking fields, borrowed from wherever they are kept.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rank<'a> {
    pub(super) id: &'a str,
    pub(super) kind: Option<MatchKind>,
    pub(super) relatiecode: Option<i64>,
    pub(super) inactive: bool,
}

impl<'a> From<&'a MatchRecord> for Rank<'a> {
    fn from(record: &'a MatchRecord) -> Self {
        Rank {
            id: &record.id,
            kind: record.kind,
            relatiecode: record.relatiecode,
            inactive: record.inactive,
        }
    }
}

/// The ranking fields of one relation in a [`RankTable`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Where its id ends in [`RankTable::ids`] (it starts where the previous one ends).
    id_end: usize,
    relatiecode: Option<i64>,
    kind: Option<MatchKind>,
    inactive: bool,
}

/// The ranking fields of many relations: ids in one buffer, the rest in one entry each.
#[derive(Debug, Clone, Default)]
pub(super) struct RankTable {
    ids: String,
    entries: Vec<Entry>,
}

impl RankTable {
    /// Append a relation.
    pub(super) fn push(&mut self, rank: Rank<'_>) {
        self.ids.push_str(rank.id);
        self.entries.push(Entry {
            id_end: self.ids.len(),
            relatiecode: rank.relatiecode,
            kind: rank.kind,
            inactive: rank.inactive,
        });
    }

    /// Give relation `i` the ranking fields of `rank`, whose id is relation `i`'s.
    pub(super) fn replace(&mut self, i: usize, rank: Rank<'_>) {
        debug_assert_eq!(self.get(i).id, rank.id, "a relation keeps its id");
        let entry = &mut self.entries[i];
        entry.relatiecode = rank.relatiecode;
        entry.kind = rank.kind;
        entry.inactive = rank.inactive;
    }

    fn get(&self, i: usize) -> Rank<'_> {
        let entry = self.entries[i];
        let start = i.checked_sub(1).map_or(0, |p| self.entries[p].id_end);
        Rank {
            id: &self.ids[start..entry.id_end],
            kind: entry.kind,
            relatiecode: entry.relatiecode,
            inactive: entry.inactive,
        }
    }
}

impl<'a> FromIterator<Rank<'a>> for RankTable {
    fn from_iter<I: IntoIterator<Item = Rank<'a>>>(iter: I) -> Self {
        let mut table = Self::default();
        for rank in iter {
            table.push(rank);
        }
        table
    }
}

/// The ranking fields of one side: the caller's records borrowed for one run, followed by a
/// table of its own (all of them when the side owns its relations).
#[derive(Debug, Clone, Default)]
pub(super) struct Ranks<'a> {
    borrowed: &'a [MatchRecord],
    table: RankTable,
}

impl<'a> Ranks<'a> {
    /// The ranking fields of `records`, borrowed.
    pub(super) fn borrowed(records: &'a [MatchRecord]) -> Self {
        Self {
            borrowed: records,
            table: RankTable::default(),
        }
    }

    /// The ranking fields of `records`, kept in a table of their own.
    pub(super) fn owned(records: &[MatchRecord]) -> Self {
        Self {
            borrowed: &[],
            table: records.iter().map(Rank::from).collect(),
        }
    }

    /// Number of relations.
    pub(super) fn len(&self) -> usize {
        self.borrowed.len() + self.table.entries.len()
    }

    /// The ranking fields of relation `i`.
    pub(super) fn get(&self, i: usize) -> Rank<'_> {
        match self.borrowed.get(i) {
            Some(record) => Rank::from(record),
            None => self.table.get(i - self.borrowed.len()),
        }
    }

    /// The id of relation `i`.
    pub(super) fn id(&self, i: usize) -> &str {
        self.get(i).id
    }

    /// Every relation's ranking fields, in order.
    pub(super) fn iter(&self) -> impl ExactSizeIterator<Item = Rank<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Append a relation.
    pub(super) fn push(&mut self, rank: Rank<'_>) {
        self.table.push(rank);
    }

    /// Give relation `i` the ranking fields of `rank`, whose id is relation `i`'s. A borrowed
    /// relation's fields are copied into the table first (all borrowed ones, to keep the
    /// order).
    pub(super) fn replace(&mut self, i: usize, rank: Rank<'_>) {
        if !self.borrowed.is_empty() {
            let mut table: RankTable = self.borrowed.iter().map(Rank::from).collect();
            for j in 0..self.table.entries.len() {
                table.push(self.table.get(j));
            }
            self.table = table;
            self.borrowed = &[];
        }
        self.table.replace(i, rank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_gives_back_what_it_was_given() {
        let records = [
            MatchRecord::new("ss-1")
                .with_kind(MatchKind::Supplier)
                .with_relatiecode(7),
            MatchRecord::new("a-longer-id-é").with_inactive(true),
            MatchRecord::new("x"),
        ];
        let same = |ranks: &Ranks<'_>, records: &[MatchRecord]| {
            assert_eq!(ranks.len(), records.len());
            for (rank, record) in ranks.iter().zip(records) {
                assert_eq!(rank.id, record.id);
                assert_eq!(rank.kind, record.kind);
                assert_eq!(rank.relatiecode, record.relatiecode);
                assert_eq!(rank.inactive, record.inactive);
            }
        };
        let owned = Ranks::owned(&records);
        same(&owned, &records);
        // Two borrowed, one added; then a borrowed one changed.
        let mut ranks = Ranks::borrowed(&records[..2]);
        ranks.push(Rank::from(&records[2]));
        same(&ranks, &records);
        let changed = MatchRecord::new("a-longer-id-é").with_relatiecode(3);
        ranks.replace(1, Rank::from(&changed));
        let mut expected = records.clone();
        expected[1] = changed;
        same(&ranks, &expected);
        assert_eq!(ranks.id(2), "x");
    }

    /// 32 bytes per relation besides its id, where a whole record was 288 and a heap block.
    #[test]
    fn an_entry_is_small() {
        assert!(std::mem::size_of::<Entry>() <= 32);
        assert!(std::mem::size_of::<MatchRecord>() >= 200);
    }
}
