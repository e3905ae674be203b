//! The blocking index: which records are worth comparing at all.
//!
//! Comparing every CRM relation with every SnelStart relation is quadratic (10^10 pairs for
//! 100,000 x 100,000). Instead every record emits a handful of *blocking keys* (its KvK
//! number, its e-mail domain, its postcode + house number, words and word pairs of its name,
//! ...); only records that share at least one key are compared. Keys shared by very many
//! records (the word "bouwbedrijf", a business centre's address) say nothing and are skipped,
//! which keeps the cost per record bounded.
//!
//! Keys are 64-bit hashes, never strings: a hash collision merely adds a candidate, which the
//! scorer then judges on the real values, so collisions cost time, never correctness.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::record::{Prepared, fingerprint, mix64};

/// What kind of value a blocking key was made from; part of the hash so that, say, a phone
/// number and a KvK number with the same digits never share a key.
#[derive(Clone, Copy)]
#[repr(u8)]
enum KeyKind {
    Kvk = 1,
    Vat = 2,
    Iban = 3,
    Email = 4,
    Domain = 5,
    Phone = 6,
    Address = 7,
    Name = 8,
    NameToken = 9,
    NameBigram = 10,
    NamePrefix = 11,
}

/// The key of a value given as byte parts.
fn key_hash(kind: KeyKind, parts: &[&[u8]]) -> u64 {
    mix64(fingerprint(parts) ^ ((kind as u64) << 56))
}

/// Length of the name prefix key: long enough to be selective, short enough that a name cut
/// at 50 characters or with a typo near its end still shares it.
const PREFIX_LEN: usize = 10;

/// The blocking keys of one record: identifiers and contact data first, then name keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys<'a> {
    /// Identifiers and contact data: every one of them is used (unless oversized).
    exact: &'a [u64],
    /// Name keys (whole name, prefix, words, word pairs): only the rarest few are used, since
    /// a name has many and most words are common.
    name: &'a [u64],
}

/// The blocking keys of all records of one side in one flat buffer: two allocations per side
/// instead of two per record (freeing 400,000 small vectors cost more than building them).
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyTable {
    keys: Vec<u64>,
    /// Per record: where its keys start, where its name keys start, where they end.
    bounds: Vec<[u32; 3]>,
}

impl KeyTable {
    /// The keys of the records, in order.
    pub(crate) fn build(prepared: &[Prepared]) -> Self {
        let mut table = Self {
            keys: Vec::with_capacity(prepared.len() * 16),
            bounds: Vec::with_capacity(prepared.len()),
        };
        for p in prepared {
            table.push(p);
        }
        table
    }

    /// Append the keys of one more record.
    pub(crate) fn push(&mut self, p: &Prepared) {
        let bounds = self.append(p);
        self.bounds.push(bounds);
    }

    /// Give record `i` the keys of `p` (its old keys stay in the buffer, unused).
    pub(crate) fn replace(&mut self, i: usize, p: &Prepared) {
        self.bounds[i] = self.append(p);
    }

    fn append(&mut self, p: &Prepared) -> [u32; 3] {
        let start = self.keys.len();
        let name_start = push_blocking_keys(p, &mut self.keys);
        let end = self.keys.len();
        [start, name_start, end].map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    /// Concatenate tables built for consecutive chunks of records.
    pub(crate) fn concat(parts: Vec<Self>) -> Self {
        let mut table = Self {
            keys: Vec::with_capacity(parts.iter().map(|p| p.keys.len()).sum()),
            bounds: Vec::with_capacity(parts.iter().map(|p| p.bounds.len()).sum()),
        };
        for part in parts {
            let offset = u32::try_from(table.keys.len()).unwrap_or(u32::MAX);
            table.keys.extend_from_slice(&part.keys);
            table
                .bounds
                .extend(part.bounds.iter().map(|b| b.map(|v| v + offset)));
        }
        table
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// The keys of record `i`.
    pub(crate) fn get(&self, i: usize) -> Keys<'_> {
        let [start, name_start, end] = self.bounds[i].map(|v| v as usize);
        Keys {
            exact: &self.keys[start..name_start],
            name: &self.keys[name_start..end],
        }
    }
}

/// How many name keys of a record are looked up: the rarest ones. Two keys still find a name
/// with a typo in one word; more only add common-word noise.
const NAME_KEYS_USED: usize = 3;

/// Sort and deduplicate `keys[start..]` in place.
fn sort_dedup_tail(keys: &mut Vec<u64>, start: usize) {
    keys[start..].sort_unstable();
    let mut write = start;
    for read in start..keys.len() {
        if write == start || keys[read] != keys[write - 1] {
            keys[write] = keys[read];
            write += 1;
        }
    }
    keys.truncate(write);
}

/// Append the blocking keys of one prepared record to `keys`: its exact keys, then its name
/// keys, each group sorted and deduplicated. Returns where the name keys start.
fn push_blocking_keys(p: &Prepared, keys: &mut Vec<u64>) -> usize {
    let start = keys.len();
    // Values are fingerprints already; salting with the kind keeps, say, a phone number and
    // a KvK number with the same digits apart.
    let mut add = |kind: KeyKind, value: u64| keys.push(mix64(value ^ ((kind as u64) << 56)));
    if let Some(kvk) = p.kvk {
        add(KeyKind::Kvk, u64::from(kvk));
    }
    if let Some(vat) = p.vat {
        add(KeyKind::Vat, vat);
    }
    if let Some(iban) = p.iban {
        add(KeyKind::Iban, iban);
    }
    for email in p.emails.iter() {
        add(KeyKind::Email, email);
    }
    for domain in p.company_domains.iter() {
        add(KeyKind::Domain, domain);
    }
    for phone in p.phones.iter() {
        add(KeyKind::Phone, phone);
    }
    for address in p.addresses() {
        add(KeyKind::Address, address.building);
    }
    sort_dedup_tail(keys, start);
    let name_start = keys.len();
    let name = keys;
    for key in &p.names {
        name.push(key_hash(KeyKind::Name, &[key.compact.as_bytes()]));
        if key.compact.len() >= PREFIX_LEN {
            let prefix = &key.compact.as_bytes()[..PREFIX_LEN];
            name.push(key_hash(KeyKind::NamePrefix, &[prefix]));
        }
        let mut previous: Option<&str> = None;
        for token in key.tokens() {
            if token.len() >= 3 {
                name.push(key_hash(KeyKind::NameToken, &[token.as_bytes()]));
            }
            if let Some(prev) = previous {
                name.push(key_hash(
                    KeyKind::NameBigram,
                    &[prev.as_bytes(), token.as_bytes()],
                ));
            }
            previous = Some(token);
        }
    }
    sort_dedup_tail(name, name_start);
    name_start
}

/// A hasher for keys that already are good hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type KeyMap = HashMap<u64, (u32, u32), BuildHasherDefault<IdentityHasher>>;

/// Which of `partitions` parts a key belongs to. Keys are good hashes, so the high bits
/// spread them evenly (multiply-shift, no division).
fn partition_of(key: u64, partitions: usize) -> usize {
    ((u128::from(key) * partitions as u128) >> 64) as usize
}

/// The posting lists of the keys of one partition.
pub(crate) struct IndexPart {
    postings: Vec<u32>,
    ranges: KeyMap,
}

impl IndexPart {
    /// The posting lists of the keys in partition `part` of `partitions` (see
    /// [`BlockingIndex::from_parts`]). Each part is built on its own, so the parts of one
    /// index can be built on as many threads: sorting the (key, record) pairs and filling the
    /// key map are most of the cost, and both split cleanly by key.
    pub(crate) fn build(keys: &KeyTable, part: usize, partitions: usize) -> Self {
        let partitions = partitions.max(1);
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(keys.keys.len() / partitions + 16);
        for position in 0..keys.len() {
            let record_keys = keys.get(position);
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let all = record_keys.exact.iter().chain(record_keys.name);
            pairs.extend(
                all.filter(|&&k| partitions == 1 || partition_of(k, partitions) == part)
                    .map(|&k| (k, position)),
            );
        }
        // Sorting by (key, position) keeps each posting list in record order.
        pairs.sort_unstable();
        let mut ranges = KeyMap::with_capacity_and_hasher(pairs.len() / 2, Default::default());
        let mut postings = Vec::with_capacity(pairs.len());
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            let begin = u32::try_from(postings.len()).unwrap_or(u32::MAX);
            let len = u32::try_from(run.len()).unwrap_or(u32::MAX);
            postings.extend(run.iter().map(|&(_, position)| position));
            ranges.insert(run[0].0, (begin, len));
        }
        Self { postings, ranges }
    }
}

/// Posting lists: for each key the records (by position) that carry it, split by key into
/// parts that are built in parallel, plus the records added one by one since.
pub(crate) struct BlockingIndex {
    parts: Vec<IndexPart>,
    /// Posting lists of the records added after the build (their positions follow those of
    /// the built part), growing a record at a time: rebuilding the sorted parts for every
    /// relation a sync creates would make a long run quadratic.
    added: Added,
    /// Number of records added.
    added_records: usize,
    max_bucket: usize,
}

/// End of a chain in [`Added::entries`].
const NO_ENTRY: u32 = u32::MAX;

/// The posting lists of added records as chains in one buffer: per key the last entry and
/// the list's length, per entry the record and the key's previous entry.
///
/// A map of one `Vec` per key held, for the 25,000 relations a 100,000-relation sync adds
/// between two rebuilds, 300,000 small vectors (about 20 MB, every one a heap block); the
/// chains take 8 bytes per key of a record plus 16 per distinct key, in two allocations.
#[derive(Default)]
struct Added {
    /// Per key: (last entry, number of entries).
    heads: HashMap<u64, (u32, u32), BuildHasherDefault<IdentityHasher>>,
    /// (record position, previous entry of the same key or [`NO_ENTRY`]).
    entries: Vec<(u32, u32)>,
}

impl Added {
    fn push(&mut self, key: u64, position: u32) {
        let at = u32::try_from(self.entries.len()).unwrap_or(NO_ENTRY);
        let head = self.heads.entry(key).or_insert((NO_ENTRY, 0));
        self.entries.push((position, head.0));
        *head = (at, head.1 + 1);
    }

    fn chain(&self, key: u64) -> Chain<'_> {
        let (head, len) = self.heads.get(&key).copied().unwrap_or((NO_ENTRY, 0));
        Chain {
            entries: &self.entries,
            head,
            len,
        }
    }
}

/// One key's posting list among the added records (newest first).
#[derive(Clone, Copy)]
struct Chain<'a> {
    entries: &'a [(u32, u32)],
    head: u32,
    len: u32,
}

impl Chain<'_> {
    const EMPTY: Chain<'static> = Chain {
        entries: &[],
        head: NO_ENTRY,
        len: 0,
    };
}

/// The posting list of one key: the built part, then the records added since.
#[derive(Clone, Copy)]
struct Bucket<'a> {
    built: &'a [u32],
    added: Chain<'a>,
}

impl Bucket<'_> {
    fn len(&self) -> usize {
        self.built.len() + self.added.len as usize
    }

    /// Appends the bucket's records to `out` (in no particular order: callers sort).
    fn extend_into(&self, out: &mut Vec<u32>) {
        out.extend_from_slice(self.built);
        let mut at = self.added.head;
        while let Some(&(position, previous)) = self.added.entries.get(at as usize) {
            out.push(position);
            at = previous;
        }
    }
}

impl BlockingIndex {
    /// Build the index over the keys of each record (`keys[i]` belongs to record `i`) on the
    /// calling thread.
    #[cfg(test)]
    pub(crate) fn build(keys: &KeyTable, max_bucket: usize) -> Self {
        Self::from_parts(vec![IndexPart::build(keys, 0, 1)], max_bucket)
    }

    /// The index made of `parts`, where `parts[p]` was built as part `p` of `parts.len()`.
    pub(crate) fn from_parts(parts: Vec<IndexPart>, max_bucket: usize) -> Self {
        Self {
            parts,
            added: Added::default(),
            added_records: 0,
            max_bucket,
        }
    }

    /// An index of nothing, to stand in while the next one is built.
    pub(crate) fn empty() -> Self {
        Self::from_parts(Vec::new(), 0)
    }

    /// Add `keys` for the record at `position`: a new record after every one in the index, or
    /// a replaced one (its old keys stay; they only add candidates the scorer then judges).
    pub(crate) fn add(&mut self, position: u32, keys: Keys<'_>) {
        for &key in keys.exact.iter().chain(keys.name) {
            self.added.push(key, position);
        }
        self.added_records += 1;
    }

    /// Number of records added since the index was built.
    pub(crate) fn added_records(&self) -> usize {
        self.added_records
    }

    /// The posting list of a key, unless it is missing or oversized.
    fn bucket(&self, key: u64) -> Option<Bucket<'_>> {
        let built = self
            .parts
            .get(partition_of(key, self.parts.len()))
            .and_then(|part| {
                let &(start, len) = part.ranges.get(&key)?;
                Some(&part.postings[start as usize..(start + len) as usize])
            })
            .unwrap_or_default();
        let bucket = Bucket {
            built,
            added: self.added.chain(key),
        };
        (bucket.len() > 0 && bucket.len() <= self.max_bucket).then_some(bucket)
    }

    /// The records sharing an identifier or contact key with a record that has `keys` (no
    /// name keys). Enough to find every pair that can reach a score above what a name alone
    /// gives: the duplicate search inside one side uses this.
    pub(crate) fn candidates_exact(&self, keys: Keys<'_>, out: &mut Vec<u32>) {
        out.clear();
        for &key in keys.exact {
            if let Some(bucket) = self.bucket(key) {
                bucket.extend_into(out);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The records worth comparing with a record that has `keys`: those sharing any
    /// identifier or contact key, and those sharing one of its rarest name keys. Sorted and
    /// deduplicated, into `out`.
    pub(crate) fn candidates(&self, keys: Keys<'_>, out: &mut Vec<u32>) {
        out.clear();
        for &key in keys.exact {
            if let Some(bucket) = self.bucket(key) {
                bucket.extend_into(out);
            }
        }
        // Name keys must be rarer than contact keys: a word shared by a dozen relations is
        // no reason to compare them.
        let name_cap = (self.max_bucket / 4).max(1);
        // The rarest few, rarest first; equal sizes keep key order, which depends only on
        // the record itself. A small sorted array instead of collecting and sorting every
        // bucket: this runs for every record.
        let empty = Bucket {
            built: &[],
            added: Chain::EMPTY,
        };
        let mut rarest = [empty; NAME_KEYS_USED];
        let mut kept = 0;
        for bucket in keys
            .name
            .iter()
            .filter_map(|&key| self.bucket(key))
            .filter(|bucket| bucket.len() <= name_cap)
        {
            // Insert after every kept bucket of the same size or smaller.
            let at = rarest[..kept].partition_point(|b| b.len() <= bucket.len());
            if at == NAME_KEYS_USED {
                continue;
            }
            kept = (kept + 1).min(NAME_KEYS_USED);
            rarest[at..kept].rotate_right(1);
            rarest[at] = bucket;
        }
        for bucket in &rarest[..kept] {
            bucket.extend_into(out);
        }
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_separate_equal_values() {
        assert_ne!(
            key_hash(KeyKind::Kvk, &[b"12345678"]),
            key_hash(KeyKind::Phone, &[b"12345678"])
        );
        // Part boundaries matter: ("ab","c") differs from ("a","bc").
        assert_ne!(
            key_hash(KeyKind::NameBigram, &[b"ab", b"c"]),
            key_hash(KeyKind::NameBigram, &[b"a", b"bc"])
        );
    }

    /// A table from explicit (exact, name) key lists.
    fn table(records: &[(&[u64], &[u64])]) -> KeyTable {
        let mut table = KeyTable::default();
        for (exact, name) in records {
            let start = table.keys.len() as u32;
            table.keys.extend_from_slice(exact);
            let name_start = table.keys.len() as u32;
            table.keys.extend_from_slice(name);
            table
                .bounds
                .push([start, name_start, table.keys.len() as u32]);
        }
        table
    }

    #[test]
    fn oversized_buckets_are_skipped() {
        let common = 7_u64;
        let rare = 9_u64;
        let keys = table(&[(&[common], &[]), (&[common], &[]), (&[common, rare], &[])]);
        let index = BlockingIndex::build(&keys, 2);
        let mut out = Vec::new();
        let query = table(&[(&[common], &[]), (&[common, rare], &[])]);
        index.candidates(query.get(0), &mut out);
        assert!(out.is_empty(), "bucket of 3 exceeds the cap of 2");
        index.candidates(query.get(1), &mut out);
        assert_eq!(out, [2]);
    }

    #[test]
    fn only_the_rarest_name_keys_are_used() {
        // Name keys 1..=4 with bucket sizes 4, 3, 2, 1: only the three rarest are followed.
        let keys = table(&[
            (&[], &[1]),
            (&[], &[1, 2]),
            (&[], &[1, 2, 3]),
            (&[], &[1, 2, 3, 4]),
            (&[], &[10]),
        ]);
        let index = BlockingIndex::build(&keys, 40);
        let mut out = Vec::new();
        index.candidates(keys.get(3), &mut out);
        assert_eq!(out, [1, 2, 3], "the most common key (1) is not followed");
    }

    #[test]
    fn an_index_in_parts_has_the_buckets_of_an_index_in_one() {
        // Keys spread over the whole range, so every part gets some; buckets of many sizes.
        let records: Vec<(Vec<u64>, Vec<u64>)> = (0..300u64)
            .map(|i| {
                let exact = vec![mix64(i % 7), mix64(1000 + i % 31)];
                let name = vec![mix64(2000 + i % 97), mix64(3000 + i)];
                (exact, name)
            })
            .collect();
        let borrowed: Vec<(&[u64], &[u64])> = records
            .iter()
            .map(|(e, n)| (e.as_slice(), n.as_slice()))
            .collect();
        let keys = table(&borrowed);
        let whole = BlockingIndex::build(&keys, 64);
        for partitions in [2, 3, 4] {
            let parts = (0..partitions)
                .map(|p| IndexPart::build(&keys, p, partitions))
                .collect();
            let split = BlockingIndex::from_parts(parts, 64);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for i in 0..keys.len() {
                whole.candidates(keys.get(i), &mut a);
                split.candidates(keys.get(i), &mut b);
                assert_eq!(a, b, "record {i}, {partitions} parts");
                whole.candidates_exact(keys.get(i), &mut a);
                split.candidates_exact(keys.get(i), &mut b);
                assert_eq!(a, b, "record {i}, {partitions} parts (exact keys)");
            }
            assert!(!a.is_empty());
        }
    }

    #[test]
    fn records_added_one_by_one_have_the_candidates_of_a_built_index() {
        // Buckets of many sizes, some over the cap, some name keys shared by many.
        let records: Vec<(Vec<u64>, Vec<u64>)> = (0..200u64)
            .map(|i| {
                let exact = vec![mix64(i % 5), mix64(1000 + i % 23)];
                let name = vec![mix64(2000 + i % 41), mix64(3000 + i % 3), mix64(4000 + i)];
                (exact, name)
            })
            .collect();
        let borrowed: Vec<(&[u64], &[u64])> = records
            .iter()
            .map(|(e, n)| (e.as_slice(), n.as_slice()))
            .collect();
        let keys = table(&borrowed);
        let whole = BlockingIndex::build(&keys, 48);
        // The first 50 built, the rest added, as a matching index grows between rebuilds.
        let first = table(&borrowed[..50]);
        let mut grown = BlockingIndex::build(&first, 48);
        for i in 50..keys.len() {
            grown.add(i as u32, keys.get(i));
        }
        assert_eq!(grown.added_records(), 150);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..keys.len() {
            whole.candidates(keys.get(i), &mut a);
            grown.candidates(keys.get(i), &mut b);
            assert_eq!(a, b, "record {i}");
            whole.candidates_exact(keys.get(i), &mut a);
            grown.candidates_exact(keys.get(i), &mut b);
            assert_eq!(a, b, "record {i} (exact keys)");
        }
        // An empty stand-in finds nothing and does not panic.
        BlockingIndex::empty().candidates(keys.get(0), &mut a);
        assert!(a.is_empty());
    }

    #[test]
    fn tables_concatenate_and_deduplicate() {
        let mut keys = vec![5, 3, 5, 3, 1];
        sort_dedup_tail(&mut keys, 1);
        assert_eq!(keys, [5, 1, 3, 5]);
        let joined = KeyTable::concat(vec![table(&[(&[1], &[2])]), table(&[(&[3, 4], &[5])])]);
        assert_eq!(joined.len(), 2);
        assert_eq!(joined.get(1).exact, [3, 4]);
        assert_eq!(joined.get(1).name, [5]);
    }
}
