//! Change feeds over `ModifiedOn`.
//!
//! SnelStart has no change notifications: a sync polls `ModifiedOn gt datetime'…'`. Two
//! things make that subtle, and [`ChangeFeed`] handles both:
//!
//! - `ModifiedOn` is Dutch wall-clock time without an offset and may be written slightly out of
//!   order, so we re-read from `cursor - overlap` and drop what we have already seen;
//! - offset paging over changing data can skip rows, so the feed orders by `ModifiedOn` (newer
//!   changes then land on later pages, never shifting unread ones).

use std::collections::HashMap;
use std::hash::Hash;

use chrono::NaiveDateTime;

use crate::odata::{Direction, Filter, Property, Query};

/// The position of a change feed and the window it re-reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFeed {
    cursor: Option<NaiveDateTime>,
    overlap: chrono::Duration,
}

impl ChangeFeed {
    /// A feed that starts after `cursor` (`None`: from the beginning) and re-reads `overlap`
    /// before it.
    pub fn new(cursor: Option<NaiveDateTime>, overlap: chrono::Duration) -> Self {
        ChangeFeed { cursor, overlap }
    }

    /// The highest `ModifiedOn` seen so far.
    pub fn cursor(&self) -> Option<NaiveDateTime> {
        self.cursor
    }

    /// The query for the next poll: `base`'s filter and-ed with `ModifiedOn gt (cursor -
    /// overlap)`, ordered by `ModifiedOn`.
    pub fn query(&self, base: Query) -> Query {
        let mut query = base.order_by(Property::modified_on(), Direction::Asc);
        if let Some(cursor) = self.cursor {
            let since = Filter::modified_after(cursor - self.overlap);
            let filter = match query.filter_expr() {
                Some(existing) => existing.clone().and(since),
                None => since,
            };
            query = query.filter(filter);
        }
        query
    }

    /// Moves the cursor forward to `modified_on` if it is newer.
    pub fn advance(&mut self, modified_on: NaiveDateTime) {
        if self.cursor.is_none_or(|c| modified_on > c) {
            self.cursor = Some(modified_on);
        }
    }
}

/// Drops records a feed already delivered: a record is new when its id was not seen, or was
/// seen with an older `ModifiedOn`.
#[derive(Debug, Clone)]
pub struct SeenFilter<K> {
    seen: HashMap<K, NaiveDateTime>,
}

impl<K: Eq + Hash> Default for SeenFilter<K> {
    fn default() -> Self {
        SeenFilter {
            seen: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash> SeenFilter<K> {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `(id, modified_on)` is new; records it either way.
    pub fn is_new(&mut self, id: K, modified_on: NaiveDateTime) -> bool {
        match self.seen.get(&id) {
            Some(&prev) if prev >= modified_on => false,
            _ => {
                self.seen.insert(id, modified_on);
                true
            }
        }
    }

    /// Forgets entries older than `before` (they can no longer come back through the overlap).
    pub fn forget_before(&mut self, before: NaiveDateTime) {
        self.seen.retain(|_, t| *t >= before);
    }

    /// How many records are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 11, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn first_poll_reads_everything_in_order() {
        let feed = ChangeFeed::new(None, chrono::Duration::minutes(5));
        let params = feed.query(Query::new()).to_params();
        assert_eq!(
            params,
            vec![("$orderby".to_owned(), "ModifiedOn".to_owned())]
        );
    }

    #[test]
    fn later_polls_overlap_and_keep_the_base_filter() {
        let mut feed = ChangeFeed::new(Some(t(10, 0)), chrono::Duration::minutes(5));
        feed.advance(t(9, 0));
        assert_eq!(feed.cursor(), Some(t(10, 0)));
        feed.advance(t(11, 0));
        let base = Query::new().filter(Filter::relatiesoort_is("Klant"));
        let q = feed.query(base);
        assert_eq!(
            q.filter_text().unwrap(),
            "Relatiesoort/any(r:r eq 'Klant') and ModifiedOn gt datetime'2024-11-01T10:55:00'"
        );
    }

    #[test]
    fn seen_filter_drops_repeats_but_not_updates() {
        let mut seen = SeenFilter::new();
        assert!(seen.is_new("a", t(10, 0)));
        assert!(!seen.is_new("a", t(10, 0)));
        assert!(seen.is_new("a", t(10, 1)));
        assert!(seen.is_new("b", t(9, 0)));
        seen.forget_before(t(10, 0));
        assert_eq!(seen.len(), 1);
    }
}
