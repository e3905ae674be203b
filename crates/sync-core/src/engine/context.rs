//! What one run knows about SnelStart, read lazily and at most once per run: the countries,
//! the relations (for matching and natural-key lookups) and the cost centres.
//!
//! Everything is read through paged lists, one call per 500 records, and only when a record
//! in the run needs it: a run with nothing new to link reads nothing.
//!
//! A run that stops at its deadline with work left hands its context to the engine's next
//! run, which continues it (a fleet's slices run one batch each, and read all of this again
//! per batch before); [`RunContext::begin_run`] forgets what held for one run only. The
//! hand-over ends when a run ends otherwise (the queue drained, an outage, an error) and
//! after `EngineOptions::reference_max_age`, so what a SnelStart user changed is seen as
//! soon as by a long run of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::TryStreamExt;
use mapping::config::ChartOfAccounts;
use mapping::matching::{MatchError, MatchRecord, MatchResult, Matcher, SnelstartIndex};
use snelstart_client::models::{Grootboek, Kostenplaats, Relatie};
use snelstart_client::odata::Query;
use snelstart_client::{Client, RelatieId, ops};
use tokio::sync::OnceCell;

use crate::store::{EntityKind, IdLink, LinkPart};

/// The relations SnelStart holds, in the compact form matching needs.
#[derive(Debug, Default)]
pub(crate) struct RelationSnapshot {
    /// The relations as read, until the first match moves them into `index`.
    records: Vec<MatchRecord>,
    /// The relations prepared for matching, built once per run on first use: every batch
    /// of the run is matched against it, and relations the run creates are added to it, so
    /// a run's matching cost grows with its size, not with its size squared.
    index: Option<SnelstartIndex<'static>>,
    /// Why the relations could not be indexed (two with one id): every batch is refused
    /// for it, rather than matched against nothing.
    refused: Option<MatchError>,
    pub(crate) by_code: HashMap<i32, RelatieId>,
    /// Items of the relation list that did not decode (their ids, when readable): relations
    /// the matcher did not see, so "no match" does not mean "not in SnelStart".
    pub(crate) skipped: Vec<Option<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct RunContext {
    relations: OnceCell<Mutex<RelationSnapshot>>,
    kostenplaatsen: tokio::sync::Mutex<Option<HashMap<i32, Kostenplaats>>>,
    decisions: Mutex<HashMap<String, MatchResult>>,
    /// CRM relations of claimed items whose link the batch's matching found missing, with
    /// their review decision as read for the batch; the item's handler takes the note
    /// instead of reading either again.
    unlinked: Mutex<HashMap<String, Option<String>>>,
    /// Links the current batch's bookings and attachments will need, read in one store call
    /// when the batch was claimed (`bookings::prepare_batch`), by key; `None`: no link then.
    /// Replaced by every batch.
    batch_links: Mutex<HashMap<BatchLinkKey, Option<IdLink>>>,
    /// The ledgers, read once per run (bookings need them; see [`RunContext::chart`]).
    ledgers: OnceCell<Vec<Grootboek>>,
    /// The chart built from `ledgers` and `kostenplaatsen`; dropped whenever a cost centre
    /// changes in the run so the next booking sees it.
    chart: Mutex<Option<Arc<ChartOfAccounts>>>,
    /// Whether each relation bookings go to is a customer and/or a supplier (SnelStart's
    /// `relatiesoort`), read at most once per relation per run.
    relation_kinds: Mutex<HashMap<RelatieId, RelationRoles>>,
    /// The administration's current financial year (`companyInfo.huidigBoekjaar`), read once
    /// per run by the first booking.
    financial_year: OnceCell<i32>,
}

/// What a SnelStart relation may be booked as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelationRoles {
    pub(crate) klant: bool,
    pub(crate) leverancier: bool,
}

impl RelationRoles {
    fn of(relatie: &Relatie) -> Self {
        RelationRoles {
            klant: relatie.is_klant(),
            leverancier: relatie.is_leverancier(),
        }
    }
}

/// The key of a link in [`RunContext`]'s batch links.
pub(crate) type BatchLinkKey = (EntityKind, String, LinkPart);

impl RunContext {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Forgets what held for one run only (its batches' matching decisions and link
    /// notes), keeping what it read from SnelStart, for a run that continues this one.
    pub(crate) fn begin_run(&self) {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.unlinked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.batch_links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Keeps the links read for the batch just claimed (replacing the previous batch's).
    pub(crate) fn note_batch_links(&self, links: HashMap<BatchLinkKey, Option<IdLink>>) {
        *self
            .batch_links
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = links;
    }

    /// The link of a record this item holds the claim of, as read for the batch
    /// (`Some(None)`: it had none); `None` when it was not read, and the caller reads the
    /// store. Forgotten once taken: only the holder of the record's claim writes its link,
    /// so it cannot change between the batch's read and this item, but a second use within
    /// the run may come after the item wrote it.
    pub(crate) fn take_batch_link(
        &self,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> Option<Option<IdLink>> {
        self.batch_links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(kind, crm_id.to_owned(), part.clone()))
    }

    /// The link of a record another item writes (an invoice's relation), as read for the
    /// batch, kept for the other items of the batch that book on the same relation. As of the
    /// claim: a relation linked while the batch runs is seen by its next attempt (the invoice
    /// waits for it, as it would for a relation synced a moment later).
    pub(crate) fn peek_batch_link(
        &self,
        kind: EntityKind,
        crm_id: &str,
        part: &LinkPart,
    ) -> Option<Option<IdLink>> {
        self.batch_links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(kind, crm_id.to_owned(), part.clone()))
            .cloned()
    }

    /// The relation snapshot, read on first use.
    pub(crate) async fn relations(
        &self,
        client: &Client,
    ) -> Result<&Mutex<RelationSnapshot>, snelstart_client::Error> {
        self.relations
            .get_or_try_init(|| async {
                let mut snapshot = RelationSnapshot::default();
                let before = client.decode_problem_total();
                let mut stream = std::pin::pin!(client.list(ops::relaties::list(Query::new())));
                while let Some(relatie) = stream.try_next().await? {
                    add_to_snapshot(&mut snapshot, &relatie);
                }
                snapshot.skipped =
                    skipped_since(client, before, ops::relaties::list(Query::new()).route());
                Ok(Mutex::new(snapshot))
            })
            .await
    }

    /// Whether the relation is a customer and/or a supplier: from this run's memory, else one
    /// `GET /relaties/{id}`.
    pub(crate) async fn relation_roles(
        &self,
        client: &Client,
        id: RelatieId,
    ) -> Result<RelationRoles, snelstart_client::Error> {
        if let Some(roles) = self
            .relation_kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(*roles);
        }
        let relatie = client.execute(ops::relaties::get(id)).await?;
        let roles = RelationRoles::of(&relatie);
        self.relation_kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, roles);
        Ok(roles)
    }

    /// Adds a relation created in this run, so later records of the run can match it.
    pub(crate) fn remember_relation(&self, relatie: &Relatie) {
        self.relation_kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(relatie.id, RelationRoles::of(relatie));
        if let Some(snapshot) = self.relations.get() {
            add_to_snapshot(
                &mut snapshot.lock().unwrap_or_else(PoisonError::into_inner),
                relatie,
            );
        }
    }

    pub(crate) fn decision(&self, crm_id: &str) -> Option<MatchResult> {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(crm_id)
            .cloned()
    }

    /// Notes that the relation has no link, and its review decision (`None`: none taken).
    pub(crate) fn note_unlinked(&self, crm_id: &str, resolution: Option<String>) {
        self.unlinked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(crm_id.to_owned(), resolution);
    }

    /// `Some(review decision)` when the batch's matching found the relation unlinked (and
    /// forgets it: the note holds for one item).
    pub(crate) fn take_unlinked(&self, crm_id: &str) -> Option<Option<String>> {
        self.unlinked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(crm_id)
    }

    pub(crate) fn has_decision(&self, crm_id: &str) -> bool {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(crm_id)
    }

    /// Takes the decision for `crm_id` out of the run's memory: the item that asked is its
    /// only user, and a run of 100,000 relations must not keep 100,000 decisions. A later
    /// item of the record in this run decides anew (against an index that may have grown).
    pub(crate) fn take_decision(&self, crm_id: &str) -> Option<MatchResult> {
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(crm_id)
    }

    pub(crate) fn set_decisions(&self, results: impl IntoIterator<Item = MatchResult>) {
        let mut map = self
            .decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for r in results {
            map.insert(r.crm_id.clone(), r);
        }
    }

    /// Cost centres by nummer; `reload` forces a fresh read (after an uncertain create).
    pub(crate) async fn kostenplaats(
        &self,
        client: &Client,
        nummer: i32,
        reload: bool,
    ) -> Result<Option<Kostenplaats>, snelstart_client::Error> {
        Ok(self.kostenplaats_read(client, nummer, reload).await?.0)
    }

    /// Like [`RunContext::kostenplaats`], and whether SnelStart was called for it (`false`
    /// when the run's copy answered).
    pub(crate) async fn kostenplaats_read(
        &self,
        client: &Client,
        nummer: i32,
        reload: bool,
    ) -> Result<(Option<Kostenplaats>, bool), snelstart_client::Error> {
        let mut guard = self.kostenplaatsen.lock().await;
        let read = reload || guard.is_none();
        if read {
            let all = client.execute(ops::kostenplaatsen::list()).await?;
            // A cost centre without a number cannot be found by one (nor referenced).
            *guard = Some(
                all.into_iter()
                    .filter_map(|k| Some((k.nummer?, k)))
                    .collect(),
            );
            self.forget_chart();
        }
        Ok((guard.as_ref().and_then(|m| m.get(&nummer).cloned()), read))
    }

    /// Records a cost centre created or changed in this run.
    pub(crate) async fn remember_kostenplaats(&self, k: Kostenplaats) {
        let mut guard = self.kostenplaatsen.lock().await;
        if let Some(map) = guard.as_mut()
            && let Some(nummer) = k.nummer
        {
            map.insert(nummer, k);
            self.forget_chart();
        }
    }
}

/// Reads a plain list (`GET /dagboeken`, `GET /documenten/...`) whose every item matters:
/// the client skips and records an item that does not decode, but where a missing item would
/// lose data for good (a journal whose payments are never read, a document uploaded twice)
/// the read fails instead, naming how many items (and which ids) did not decode. The problem
/// stays recorded for `status()`.
pub(crate) async fn read_complete<T: serde::de::DeserializeOwned>(
    client: &Client,
    request: snelstart_client::Request<Vec<T>>,
) -> Result<Vec<T>, snelstart_client::Error> {
    let route = request.route();
    let before = client.decode_problem_total();
    let items = client.execute(request).await?;
    let skipped = skipped_since(client, before, route);
    if skipped.is_empty() {
        return Ok(items);
    }
    let ids: Vec<&str> = skipped
        .iter()
        .map(|id| id.as_deref().unwrap_or("?"))
        .collect();
    Err(snelstart_client::error::DecodeError {
        method: snelstart_client::Method::Get,
        route,
        status: 200,
        path: "[]".to_owned(),
        message: format!(
            "{} item(s) did not decode (ids: {}); the list is incomplete, so it is not used",
            skipped.len(),
            ids.join(", ")
        ),
    }
    .into())
}

/// The ids (when readable) of the items of list `route` that did not decode since the problem
/// total was `before`. When more problems were recorded than are still kept, or another read
/// of this client recorded them meanwhile, the list errs on the safe side: a skipped item of
/// unknown id.
pub(crate) fn skipped_since(client: &Client, before: u64, route: &str) -> Vec<Option<String>> {
    let new = client.decode_problem_total().saturating_sub(before);
    if new == 0 {
        return Vec::new();
    }
    let kept = client.decode_problems();
    let new = usize::try_from(new).unwrap_or(usize::MAX);
    let recent: Vec<_> = kept.iter().rev().take(new).collect();
    let mut ids: Vec<Option<String>> = recent
        .iter()
        .filter(|p| p.route == route)
        .map(|p| p.id.clone())
        .collect();
    if recent.len() < new {
        // Some were taken by status() or dropped meanwhile: incomplete in an unknown way.
        ids.push(None);
    }
    ids
}

fn add_to_snapshot(snapshot: &mut RelationSnapshot, relatie: &Relatie) {
    if let Some(code) = relatie.relatiecode {
        snapshot.by_code.insert(code, relatie.id);
    }
    let record = MatchRecord::from_snelstart(relatie);
    match &mut snapshot.index {
        Some(index) => {
            if let Err(e) = index.add(record) {
                tracing::warn!(error = %e, "a relation could not be added to the matching index");
            }
        }
        None => snapshot.records.push(record),
    }
}

impl RelationSnapshot {
    /// The relations indexed for matching with `matcher`'s configuration, built on first use.
    pub(crate) fn matching_index(
        &mut self,
        matcher: &Matcher,
    ) -> Result<&SnelstartIndex<'static>, MatchError> {
        if let Some(refused) = &self.refused {
            return Err(refused.clone());
        }
        let index = match self.index.take() {
            Some(index) => index,
            None => match matcher.index_snelstart(std::mem::take(&mut self.records)) {
                Ok(index) => index,
                Err(e) => {
                    self.refused = Some(e.clone());
                    return Err(e);
                }
            },
        };
        Ok(self.index.insert(index))
    }
}

impl RunContext {
    /// The administration's chart of accounts (ledgers and cost centres), read on first use:
    /// two list calls per run, however many invoices the run books.
    pub(crate) async fn chart(
        &self,
        client: &Client,
    ) -> Result<Arc<ChartOfAccounts>, snelstart_client::Error> {
        if let Some(chart) = self
            .chart
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(chart);
        }
        let ledgers = self
            .ledgers
            .get_or_try_init(|| async {
                client
                    .list(ops::grootboeken::list(Query::new()))
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        // Built under the cost-centre lock, so a cost centre remembered meanwhile cannot be
        // overwritten by a chart built from the older list.
        let mut guard = self.kostenplaatsen.lock().await;
        if guard.is_none() {
            let all = client.execute(ops::kostenplaatsen::list()).await?;
            // A cost centre without a number cannot be found by one (nor referenced).
            *guard = Some(
                all.into_iter()
                    .filter_map(|k| Some((k.nummer?, k)))
                    .collect(),
            );
        }
        let cost_centres: Vec<Kostenplaats> =
            guard.iter().flat_map(|m| m.values().cloned()).collect();
        let chart = Arc::new(ChartOfAccounts::from_snelstart(ledgers, &cost_centres));
        *self.chart.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&chart));
        drop(guard);
        Ok(chart)
    }

    /// What pre-flight needs to know about the administration to check a booking (its current
    /// financial year, for BOE-0033): one `GET /companyInfo` per run, on first use.
    pub(crate) async fn booking_context(
        &self,
        client: &Client,
        today: chrono::NaiveDate,
    ) -> Result<mapping::booking::BookingContext, snelstart_client::Error> {
        use chrono::Datelike;
        let year = self
            .financial_year
            .get_or_try_init(|| async {
                let info = client.execute(ops::company_info::get()).await?;
                Ok::<_, snelstart_client::Error>(info.huidig_boekjaar.unwrap_or(today.year()))
            })
            .await?;
        Ok(mapping::booking::BookingContext::new(*year))
    }

    /// The administration's current financial year, as a companyInfo read for another
    /// purpose found it (the administration binding), so bookings need not read it again.
    pub(crate) fn note_financial_year(&self, year: i32) {
        // Already known: the first read stands, as it does for `booking_context`.
        let _ = self.financial_year.set(year);
    }

    fn forget_chart(&self) {
        *self.chart.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
