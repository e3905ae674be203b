//! [`QueueStore`] on PostgreSQL.
//!
//! Concurrency design (the contract is in `sync_core::store`):
//!
//! * **Claim** is one statement: a `SELECT ... ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED`
//!   picks eligible items and an `UPDATE` leases them. Workers in other processes skip rows
//!   that are being claimed instead of waiting, and a row that another claimer updated
//!   meanwhile is re-checked against the eligibility rules on its new version, so no item is
//!   handed out twice for one lease.
//! * **Leases are fencing tokens**: every completion is an `UPDATE ... WHERE id = $1 AND
//!   attempts = $2 AND state = 'in_flight'`, so only the holder of the current claim wins.
//! * **Enqueue** takes a transaction-scoped advisory lock on the record (admin, kind, CRM
//!   id): two processes enqueueing the same record serialise, so they coalesce into one
//!   Pending item instead of both inserting one.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_core::store::{
    AdminKey, EntityKind, LeaseToken, NewWorkItem, Payload, QueueCounts, QueueStore, ReplayFilter,
    StoreError, StoreResult, StoredError, WorkItem, WorkItemId, WorkState, WorkSummary,
    lease_expiry,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::codec::{
    CachedSql, PgResultExt, count_from_sql, count_to_sql, json_from_sql, json_to_sql,
    kind_from_sql, state_from_sql, time_from_sql, time_to_sql,
};

/// The columns every item query selects, in the order [`decode`] reads them.
const COLUMNS: &str = "w.id, w.admin, w.kind, w.crm_id, w.operation, w.payload::text, w.state, \
     w.attempts, w.next_attempt_at, w.lease_until, w.last_error::text, w.review::text, \
     w.created_at, w.updated_at";

/// [`COLUMNS`] with the payload left unread: summaries never touch the payload column.
const SUMMARY_COLUMNS: &str = "w.id, w.admin, w.kind, w.crm_id, w.operation, 'null'::text, \
     w.state, w.attempts, w.next_attempt_at, w.lease_until, w.last_error::text, \
     w.review::text, w.created_at, w.updated_at";

/// Decodes a row; `deps` holds the item's dependencies.
fn decode(row: &Row, depends_on: Vec<WorkItemId>) -> StoreResult<WorkItem> {
    let id = WorkItemId::new(row.get(0));
    let crm_id: String = row.get(3);
    let field = |name: &str| format!("work item {id} ({crm_id:?}), field {name}");
    let kind = kind_from_sql(row.get(2), || field("kind"))?;
    let state = state_from_sql(row.get(6), || field("state"))?;
    let attempts: i32 = row.get(7);
    let attempts = u32::try_from(attempts)
        .map_err(|_| StoreError::corrupt(format!("{}: {attempts}", field("attempts"))))?;
    let payload = Payload::from_json(row.get::<_, String>(5))
        .map_err(|e| StoreError::corrupt(format!("{}: {e}", field("payload"))))?;
    let last_error: Option<StoredError> = row
        .get::<_, Option<&str>>(10)
        .map(|text| json_from_sql(text, || field("last_error")))
        .transpose()?;
    let review = row
        .get::<_, Option<&str>>(11)
        .map(|text| json_from_sql(text, || field("review")))
        .transpose()?;
    let new = NewWorkItem::new(
        AdminKey::new(row.get::<_, String>(1)),
        kind,
        crm_id.clone(),
        row.get::<_, String>(4),
        payload,
        time_from_sql(row.get(8)),
    )
    .depending_on(depends_on);
    let mut item = WorkItem::enqueued(id, new, time_from_sql(row.get(12)));
    item.state = state;
    item.attempts = attempts;
    item.lease_until = row.get::<_, Option<i64>>(9).map(time_from_sql);
    item.last_error = last_error;
    item.review = review;
    item.updated_at = time_from_sql(row.get(13));
    Ok(item)
}

/// Decodes rows, loading all their dependencies with one query.
/// An item's dependencies as one more column after [`COLUMNS`] (lowest first), so a claim
/// reads its items' dependencies in the same statement instead of a second one.
const DEPS_COLUMN: &str =
    "ARRAY(SELECT d.depends_on FROM work_deps d WHERE d.item_id = w.id ORDER BY d.depends_on)";

/// Decodes rows of [`COLUMNS`] followed by [`DEPS_COLUMN`].
fn decode_with_deps(rows: &[Row]) -> StoreResult<Vec<WorkItem>> {
    rows.iter()
        .map(|row| {
            let deps: Vec<i64> = row.get(14);
            decode(row, deps.into_iter().map(WorkItemId::new).collect())
        })
        .collect()
}

async fn decode_all(client: &impl GenericClient, rows: &[Row]) -> StoreResult<Vec<WorkItem>> {
    let ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    let mut deps: BTreeMap<i64, Vec<WorkItemId>> = BTreeMap::new();
    if !ids.is_empty() {
        let rows = client
            .query_cached(
                "SELECT item_id, depends_on FROM work_deps WHERE item_id = ANY($1)
                  ORDER BY item_id, depends_on",
                &[&ids],
            )
            .await
            .store()?;
        for row in rows {
            deps.entry(row.get(0))
                .or_default()
                .push(WorkItemId::new(row.get(1)));
        }
    }
    rows.iter()
        .map(|row| decode(row, deps.remove(&row.get::<_, i64>(0)).unwrap_or_default()))
        .collect()
}

async fn load(client: &impl GenericClient, id: i64) -> StoreResult<Option<WorkItem>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM work_items w WHERE w.id = $1"
        ))
        .await
        .store()?;
    let rows = client.query(&stmt, &[&id]).await.store()?;
    Ok(decode_all(client, &rows).await?.pop())
}

/// Why `token` no longer holds its item, read from the item as it is now: `NotFound` for an
/// unknown id, `Conflict` naming its state and attempt otherwise (or the read's own error).
pub(crate) async fn lease_lost(client: &impl GenericClient, token: LeaseToken) -> StoreError {
    let current = client
        .query_opt_cached(
            "SELECT state, attempts FROM work_items WHERE id = $1",
            &[&token.id.get()],
        )
        .await
        .store()
        .map(|row| row.map(|row| (row.get::<_, String>(0), row.get::<_, i32>(1))));
    match current {
        Err(e) => e,
        Ok(None) => StoreError::not_found(format!("work item {}", token.id)),
        Ok(Some((state, attempts))) => StoreError::conflict(format!(
            "work item {} is {state} at attempt {attempts}, not in flight at attempt {}: the lease was lost",
            token.id, token.attempt
        )),
    }
}

/// The lease error of the first of `tokens` whose item a batch statement did not change
/// (`changed`: the ids it did), if any.
pub(crate) async fn first_lost_lease(
    client: &impl GenericClient,
    tokens: &[LeaseToken],
    changed: &HashSet<i64>,
) -> StoreResult<()> {
    match tokens.iter().find(|t| !changed.contains(&t.id.get())) {
        Some(lost) => Err(lease_lost(client, *lost).await),
        None => Ok(()),
    }
}

/// The eligibility rules of `claim` (see the contract), as one locking selection.
///
/// Walks `work_items_active` (only waiting and running items) in id order and stops after
/// `$3` lockable matches; the per-record check uses `work_items_active_by_record`.
const CLAIM: &str = "
    WITH picked AS (
        SELECT w.id FROM work_items w
         WHERE w.admin = $1 AND w.state IN ('pending', 'in_flight')
           AND CASE WHEN w.state = 'in_flight' THEN w.lease_until <= $2
               ELSE w.next_attempt_at <= $2
                AND NOT EXISTS (
                    SELECT 1 FROM work_deps d JOIN work_items p ON p.id = d.depends_on
                     WHERE d.item_id = w.id AND p.state NOT IN ('done', 'failed'))
                AND NOT EXISTS (
                    SELECT 1 FROM work_items o
                     WHERE o.admin = w.admin AND o.kind = w.kind AND o.crm_id = w.crm_id
                       AND o.state IN ('pending', 'in_flight') AND o.id <> w.id
                       AND (o.state = 'in_flight' OR o.id < w.id))
               END
         ORDER BY w.id
         LIMIT $3
         FOR UPDATE SKIP LOCKED
    )
    UPDATE work_items w
       SET state = 'in_flight', lease_until = $4, attempts = w.attempts + 1, updated_at = $2
      FROM picked
     WHERE w.id = picked.id
    RETURNING ";

/// The items of `$1` per state, and (as state `blocked`) the pending ones blocked
/// (transitively) by a NeedsReview dependency: one statement, so one snapshot and one round
/// trip.
const COUNTS: &str = "
    WITH RECURSIVE blocked(id) AS (
        SELECT d.item_id FROM work_items p
          JOIN work_deps d ON d.depends_on = p.id
          JOIN work_items c ON c.id = d.item_id
         WHERE p.admin = $1 AND p.state = 'needs_review' AND c.state = 'pending'
        UNION
        SELECT d.item_id FROM blocked b
          JOIN work_deps d ON d.depends_on = b.id
          JOIN work_items c ON c.id = d.item_id
         WHERE c.state = 'pending'
    )
    SELECT state, count(*) FROM work_items WHERE admin = $1 GROUP BY state
    UNION ALL
    SELECT 'blocked', count(*) FROM work_items WHERE admin = $1 AND id IN (SELECT id FROM blocked)";

/// The advisory-lock key of a record's enqueue lock (see [`enqueue_in`]), from SQL
/// expressions for its administration, kind and CRM id: one spelling for every statement that
/// takes it.
fn record_lock_key(admin: &str, kind: &str, crm_id: &str) -> String {
    format!("hashtextextended({admin} || chr(31) || {kind} || chr(31) || {crm_id}, 14)")
}

/// Takes the enqueue locks of every record of a batch (see [`enqueue_in`]), in the order of
/// their lock keys: two batches that share records then wait for each other instead of
/// deadlocking.
async fn lock_records(tx: &impl GenericClient, items: &[NewWorkItem]) -> StoreResult<()> {
    if let [item] = items {
        // One record (the engine's own enqueues): one statement, the key computed in it.
        tx.execute_cached(
            &format!(
                "SELECT pg_advisory_xact_lock({})",
                record_lock_key("$1", "$2", "$3")
            ),
            &[
                &item.admin.as_str(),
                &item.kind.as_str(),
                &item.crm_id.as_str(),
            ],
        )
        .await
        .store()?;
        return Ok(());
    }
    let admins: Vec<&str> = items.iter().map(|i| i.admin.as_str()).collect();
    let kinds: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
    let crm_ids: Vec<&str> = items.iter().map(|i| i.crm_id.as_str()).collect();
    let keys: Vec<i64> = tx
        .query_cached(
            &format!(
                "SELECT DISTINCT {} AS h
                   FROM unnest($1::text[], $2::text[], $3::text[]) AS t(a, k, c)
                  ORDER BY h",
                record_lock_key("a", "k", "c")
            ),
            &[&admins, &kinds, &crm_ids],
        )
        .await
        .store()?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let stmt = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await
        .store()?;
    for key in keys {
        tx.execute(&stmt, &[&key]).await.store()?;
    }
    Ok(())
}

/// Enqueues (or coalesces) one item inside the caller's transaction, which must hold the
/// record's enqueue lock: a transaction-scoped advisory lock on (admin, kind, CRM id), so two
/// processes enqueueing the same record serialise and coalesce into one Pending item instead
/// of both inserting one.
async fn enqueue_in(
    tx: &impl GenericClient,
    item: NewWorkItem,
    now: i64,
) -> StoreResult<WorkItemId> {
    let not_before = time_to_sql(item.not_before)?;
    let payload = item.payload.as_json();
    let mut deps: Vec<i64> = item.depends_on.iter().map(|d| d.get()).collect();
    deps.sort_unstable();
    deps.dedup();
    let (admin, kind) = (item.admin.as_str(), item.kind.as_str());
    if deps.is_empty() {
        // Without dependencies coalescing has no exception: the candidate and the update or
        // insert are one statement (it runs after the lock's statement, so its snapshot sees
        // every enqueue of the record committed before the lock was granted).
        let id: i64 = tx
            .query_one_cached(
                "WITH cand AS (
                     SELECT id FROM work_items
                      WHERE admin = $1 AND kind = $2 AND crm_id = $3 AND operation = $4
                        AND state = 'pending'
                      ORDER BY id DESC LIMIT 1
                      FOR UPDATE),
                 upd AS (
                     UPDATE work_items w
                        SET payload = $5::text::jsonb,
                            next_attempt_at = greatest(w.next_attempt_at, $6),
                            updated_at = $7
                       FROM cand
                      WHERE w.id = cand.id
                     RETURNING w.id),
                 ins AS (
                     INSERT INTO work_items
                        (admin, kind, crm_id, operation, payload, state, attempts,
                         next_attempt_at, created_at, updated_at)
                     SELECT $1, $2, $3, $4, $5::text::jsonb, 'pending', 0, $6, $7, $7
                      WHERE NOT EXISTS (SELECT 1 FROM cand)
                     RETURNING id)
                 SELECT id FROM upd UNION ALL SELECT id FROM ins",
                &[
                    &admin,
                    &kind,
                    &item.crm_id,
                    &item.operation,
                    &payload,
                    &not_before,
                    &now,
                ],
            )
            .await
            .store()?
            .get(0);
        return Ok(WorkItemId::new(id));
    }
    // FOR KEY SHARE: a dependency cannot be pruned while this item is being added.
    let found: Vec<i64> = tx
        .query_cached(
            "SELECT id FROM work_items WHERE id = ANY($1) AND admin = $2
              ORDER BY id FOR KEY SHARE",
            &[&deps, &admin],
        )
        .await
        .store()?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if let Some(missing) = deps.iter().find(|d| !found.contains(d)) {
        return Err(StoreError::not_found(format!(
            "work item {}, a dependency of {} {:?} for CRM id {:?}",
            WorkItemId::new(*missing),
            item.kind,
            item.operation,
            item.crm_id
        )));
    }
    let candidate: Option<i64> = tx
        .query_opt_cached(
            "SELECT id FROM work_items
              WHERE admin = $1 AND kind = $2 AND crm_id = $3 AND operation = $4
                AND state = 'pending'
              ORDER BY id DESC LIMIT 1
              FOR UPDATE",
            &[&admin, &kind, &item.crm_id, &item.operation],
        )
        .await
        .store()?
        .map(|row| row.get(0));
    // Coalescing must not give an item a dependency newer than itself (see the contract).
    let newest_dep = deps.last().copied();
    let coalesce_into = candidate.filter(|id| newest_dep.is_none_or(|dep| dep < *id));
    let id: i64 = match coalesce_into {
        Some(id) => {
            tx.execute_cached(
                "UPDATE work_items
                    SET payload = $2::text::jsonb,
                        next_attempt_at = greatest(next_attempt_at, $3),
                        updated_at = $4
                  WHERE id = $1",
                &[&id, &payload, &not_before, &now],
            )
            .await
            .store()?;
            id
        }
        None => tx
            .query_one_cached(
                "INSERT INTO work_items
                    (admin, kind, crm_id, operation, payload, state, attempts,
                     next_attempt_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5::text::jsonb, 'pending', 0, $6, $7, $7)
                 RETURNING id",
                &[
                    &admin,
                    &kind,
                    &item.crm_id,
                    &item.operation,
                    &payload,
                    &not_before,
                    &now,
                ],
            )
            .await
            .store()?
            .get(0),
    };
    tx.execute_cached(
        "INSERT INTO work_deps (item_id, depends_on)
         SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
        &[&id, &deps],
    )
    .await
    .store()?;
    Ok(WorkItemId::new(id))
}

/// A [`ReplayFilter`] as its `UPDATE` (`$1` the administration, `$2` now, then the values
/// returned, in order); `None` when the filter selects no state.
///
/// The states go in as literals (they come from a closed enum) so the planner can match the
/// partial index `work_items_parked_by_record`; only the filters that are set go into the
/// statement, for the same reason (the engine replays one record on every submit, which must
/// not scan the administration's queue).
fn replay_sql(filter: &ReplayFilter) -> Option<(String, Vec<&str>)> {
    let states = match (filter.failed, filter.needs_review) {
        (true, true) => "'failed', 'needs_review'",
        (true, false) => "'failed'",
        (false, true) => "'needs_review'",
        (false, false) => return None,
    };
    let mut sql = format!(
        "UPDATE work_items
            SET state = 'pending', attempts = 0, next_attempt_at = $2,
                lease_until = NULL, review = NULL, updated_at = $2
          WHERE admin = $1 AND state IN ({states})"
    );
    let mut extra = Vec::new();
    if let Some(kind) = filter.kind {
        extra.push(kind.as_str());
        sql.push_str(&format!(" AND kind = ${}", 2 + extra.len()));
    }
    if let Some(crm_id) = &filter.crm_id {
        extra.push(crm_id.as_str());
        sql.push_str(&format!(" AND crm_id = ${}", 2 + extra.len()));
    }
    Some((sql, extra))
}

impl PostgresStore {
    /// Applies `set` (an SQL `SET` list; `$1` = id, `$2` = attempt, then `extra`) to an item
    /// only while `token` still holds its lease; otherwise explains why not.
    async fn update_leased(
        &self,
        token: LeaseToken,
        set: &str,
        extra: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "UPDATE work_items SET {set}
                  WHERE id = $1 AND attempts = $2::bigint AND state = 'in_flight'"
            ))
            .await
            .store()?;
        let (id, attempt) = (token.id.get(), i64::from(token.attempt));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, &attempt];
        params.extend_from_slice(extra);
        let changed = client.execute(&stmt, &params).await.store()?;
        if changed == 1 {
            return Ok(());
        }
        Err(lease_lost(&client, token).await)
    }

    /// Moves every token's item from its claim to `to` (`'done'`, or `'pending'` for a claim
    /// given back unrun) in one transaction, or none of them: a lost lease or the same token
    /// twice refuses the whole call.
    async fn settle_claims(
        &self,
        tokens: &[LeaseToken],
        to: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        if tokens.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::new();
        if let Some(twice) = tokens.iter().find(|t| !seen.insert(t.id)) {
            return Err(StoreError::conflict(format!(
                "work item {} appears twice in one call",
                twice.id
            )));
        }
        let ids: Vec<i64> = tokens.iter().map(|t| t.id.get()).collect();
        let attempts: Vec<i64> = tokens.iter().map(|t| i64::from(t.attempt)).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        let moved: HashSet<i64> = tx
            .query_cached(
                "UPDATE work_items w
                    SET state = $4, lease_until = NULL, updated_at = $3
                   FROM unnest($1::bigint[], $2::bigint[]) AS t(id, attempt)
                  WHERE w.id = t.id AND w.attempts = t.attempt AND w.state = 'in_flight'
                 RETURNING w.id",
                &[&ids, &attempts, &now, &to],
            )
            .await
            .store()?
            .iter()
            .map(|row| row.get(0))
            .collect();
        // On a lost lease, dropping `tx` rolls back the items already moved.
        first_lost_lease(&tx, tokens, &moved).await?;
        tx.commit().await.store()?;
        Ok(())
    }
}

impl QueueStore for PostgresStore {
    async fn enqueue(&self, item: NewWorkItem, now: DateTime<Utc>) -> StoreResult<WorkItemId> {
        Ok(self.enqueue_batch(vec![item], now).await?[0])
    }

    async fn enqueue_batch(
        &self,
        items: Vec<NewWorkItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<WorkItemId>> {
        let now = time_to_sql(now)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        lock_records(&tx, &items).await?;
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            // An error drops `tx`, which rolls the whole batch back.
            ids.push(enqueue_in(&tx, item, now).await?);
        }
        tx.commit().await.store()?;
        Ok(ids)
    }

    async fn complete_batch(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.settle_claims(tokens, "done", now).await
    }

    async fn release_claims(&self, tokens: &[LeaseToken], now: DateTime<Utc>) -> StoreResult<()> {
        self.settle_claims(tokens, "pending", now).await
    }

    async fn claim(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<WorkItem>> {
        let lease_until = time_to_sql(lease_expiry(now, lease)?)?;
        let now = time_to_sql(now)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = count_to_sql(limit);
        let client = self.client().await?;
        // The claim is one statement, atomic on its own: no transaction around it (BEGIN and
        // COMMIT were two of its four round trips), and the claimed items' dependencies come
        // back in it (a second statement per claim before).
        let rows = client
            .query_cached(
                &format!("{CLAIM}{COLUMNS}, {DEPS_COLUMN}"),
                &[&admin.as_str(), &now, &limit, &lease_until],
            )
            .await
            .store()?;
        let mut items = decode_with_deps(&rows)?;
        // RETURNING has no order; the contract hands items out oldest first.
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    async fn renew_lease(
        &self,
        token: LeaseToken,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<()> {
        let lease_until = time_to_sql(lease_expiry(now, lease)?)?;
        let now = time_to_sql(now)?;
        self.update_leased(
            token,
            "lease_until = $3, updated_at = $4",
            &[&lease_until, &now],
        )
        .await
    }

    async fn complete(&self, token: LeaseToken, now: DateTime<Utc>) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        self.update_leased(
            token,
            "state = 'done', lease_until = NULL, updated_at = $3",
            &[&now],
        )
        .await
    }

    async fn reschedule(
        &self,
        token: LeaseToken,
        at: DateTime<Utc>,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (at, now) = (time_to_sql(at)?, time_to_sql(now)?);
        let error = json_to_sql(&error)?;
        self.update_leased(
            token,
            "state = 'pending', lease_until = NULL, updated_at = $3, next_attempt_at = $4,
             last_error = $5::text::jsonb",
            &[&now, &at, &error],
        )
        .await
    }

    async fn fail(
        &self,
        token: LeaseToken,
        error: StoredError,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let error = json_to_sql(&error)?;
        self.update_leased(
            token,
            "state = 'failed', lease_until = NULL, updated_at = $3, last_error = $4::text::jsonb",
            &[&now, &error],
        )
        .await
    }

    async fn needs_review(
        &self,
        token: LeaseToken,
        reasons: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        let reasons = json_to_sql(&reasons)?;
        self.update_leased(
            token,
            "state = 'needs_review', lease_until = NULL, updated_at = $3, review = $4::text::jsonb",
            &[&now, &reasons],
        )
        .await
    }

    async fn replay(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        let now = time_to_sql(now)?;
        let Some((sql, extra)) = replay_sql(filter) else {
            return Ok(0);
        };
        let admin = filter.admin.as_str();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&admin, &now];
        params.extend(extra.iter().map(|v| v as &(dyn ToSql + Sync)));
        let client = self.client().await?;
        let stmt = client.prepare_cached(&sql).await.store()?;
        client.execute(&stmt, &params).await.store()
    }

    async fn replay_and_enqueue(
        &self,
        stale: &ReplayFilter,
        item: NewWorkItem,
        now: DateTime<Utc>,
    ) -> StoreResult<WorkItemId> {
        let now_sql = time_to_sql(now)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        match replay_sql(stale) {
            // The replay and the record's enqueue lock in one statement; the enqueue that
            // follows is a statement of its own, so its snapshot is taken with the lock held.
            // The replay need not wait for the lock: its UPDATE re-checks every row another
            // transaction changed meanwhile.
            Some((update, extra)) => {
                let admin = stale.admin.as_str();
                let mut params: Vec<&(dyn ToSql + Sync)> = vec![&admin, &now_sql];
                params.extend(extra.iter().map(|v| v as &(dyn ToSql + Sync)));
                let first = params.len() + 1;
                let (lock_admin, lock_kind) = (item.admin.as_str(), item.kind.as_str());
                params.extend([&lock_admin as &(dyn ToSql + Sync), &lock_kind, &item.crm_id]);
                let key = record_lock_key(
                    &format!("${first}"),
                    &format!("${}", first + 1),
                    &format!("${}", first + 2),
                );
                tx.execute_cached(
                    &format!(
                        "WITH replayed AS ({update} RETURNING 1)
                         SELECT pg_advisory_xact_lock({key}), (SELECT count(*) FROM replayed)"
                    ),
                    &params,
                )
                .await
                .store()?;
            }
            None => lock_records(&tx, std::slice::from_ref(&item)).await?,
        }
        // An error drops `tx`, which rolls the replay back too.
        let id = enqueue_in(&tx, item, now_sql).await?;
        tx.commit().await.store()?;
        Ok(id)
    }

    async fn counts(&self, admin: &AdminKey) -> StoreResult<QueueCounts> {
        let client = self.client().await?;
        // One statement sees one snapshot, so the per-state counts and the blocked count
        // agree without a transaction around them.
        let rows = client
            .query_cached(COUNTS, &[&admin.as_str()])
            .await
            .store()?;
        let mut counts = QueueCounts::default();
        let mut blocked = 0;
        for row in rows {
            let n = count_from_sql(row.get(1));
            let state: &str = row.get(0);
            if state == "blocked" {
                blocked = n;
                continue;
            }
            match state_from_sql(state, || {
                format!("work_items.state in administration {admin:?}")
            })? {
                WorkState::Pending => counts.pending = n,
                WorkState::InFlight => counts.in_flight = n,
                WorkState::Done => counts.done = n,
                WorkState::Failed => counts.failed = n,
                WorkState::NeedsReview => counts.needs_review = n,
                other => return Err(StoreError::corrupt(format!("unexpected state {other}"))),
            }
        }
        counts.blocked = blocked;
        counts.pending = counts.pending.saturating_sub(blocked);
        Ok(counts)
    }

    async fn list_work(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        limit: usize,
        offset: usize,
    ) -> StoreResult<Vec<WorkItem>> {
        let (limit, offset) = (count_to_sql(limit), count_to_sql(offset));
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .store()?;
        let rows = match state {
            Some(state) => {
                let stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM work_items w WHERE w.admin = $1 AND w.state = $2
                          ORDER BY w.id LIMIT $3 OFFSET $4"
                    ))
                    .await
                    .store()?;
                tx.query(&stmt, &[&admin.as_str(), &state.as_str(), &limit, &offset])
                    .await
            }
            None => {
                let stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM work_items w WHERE w.admin = $1
                          ORDER BY w.id LIMIT $2 OFFSET $3"
                    ))
                    .await
                    .store()?;
                tx.query(&stmt, &[&admin.as_str(), &limit, &offset]).await
            }
        }
        .store()?;
        let items = decode_all(&tx, &rows).await?;
        tx.commit().await.store()?;
        Ok(items)
    }

    async fn list_summaries(
        &self,
        admin: &AdminKey,
        state: Option<WorkState>,
        after: Option<WorkItemId>,
        limit: usize,
    ) -> StoreResult<Vec<WorkSummary>> {
        let after = after.map_or(i64::MIN, WorkItemId::get);
        let limit = count_to_sql(limit);
        let client = self.client().await?;
        let rows = match state {
            Some(state) => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {SUMMARY_COLUMNS} FROM work_items w
                          WHERE w.admin = $1 AND w.state = $2 AND w.id > $3
                          ORDER BY w.id LIMIT $4"
                    ))
                    .await
                    .store()?;
                client
                    .query(&stmt, &[&admin.as_str(), &state.as_str(), &after, &limit])
                    .await
            }
            None => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {SUMMARY_COLUMNS} FROM work_items w
                          WHERE w.admin = $1 AND w.id > $2 ORDER BY w.id LIMIT $3"
                    ))
                    .await
                    .store()?;
                client
                    .query(&stmt, &[&admin.as_str(), &after, &limit])
                    .await
            }
        }
        .store()?;
        rows.iter()
            .map(|row| decode(row, Vec::new()).map(WorkSummary::from))
            .collect()
    }

    async fn record_items(
        &self,
        admin: &AdminKey,
        kind: EntityKind,
        crm_id: &str,
    ) -> StoreResult<Vec<WorkSummary>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM work_items w
                  WHERE w.admin = $1 AND w.kind = $2 AND w.crm_id = $3 ORDER BY w.id"
            ))
            .await
            .store()?;
        let rows = client
            .query(&stmt, &[&admin.as_str(), &kind.as_str(), &crm_id])
            .await
            .store()?;
        rows.iter()
            .map(|row| decode(row, Vec::new()).map(WorkSummary::from))
            .collect()
    }

    async fn next_due(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let now = time_to_sql(now)?;
        let client = self.client().await?;
        // Each arm reads one row of a partial index (schema version 2).
        let stmt = client
            .prepare_cached(
                "SELECT least(
                     (SELECT min(next_attempt_at) FROM work_items
                       WHERE admin = $1 AND state = 'pending' AND next_attempt_at > $2),
                     (SELECT min(lease_until) FROM work_items
                       WHERE admin = $1 AND state = 'in_flight'))",
            )
            .await
            .store()?;
        let due: Option<i64> = client
            .query_one(&stmt, &[&admin.as_str(), &now])
            .await
            .store()?
            .get(0);
        Ok(due.map(time_from_sql))
    }

    async fn work_item(&self, admin: &AdminKey, id: WorkItemId) -> StoreResult<Option<WorkItem>> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .store()?;
        let item = load(&tx, id.get())
            .await?
            .filter(|item| item.admin == *admin);
        tx.commit().await.store()?;
        Ok(item)
    }

    async fn prune_done(&self, admin: &AdminKey, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = time_to_sql(before)?;
        let client = self.client().await?;
        client
            .execute_cached(
                "DELETE FROM work_items w
                  WHERE w.admin = $2 AND w.state = 'done' AND w.updated_at < $1
                    AND NOT EXISTS (
                        SELECT 1 FROM work_deps d JOIN work_items c ON c.id = d.item_id
                         WHERE d.depends_on = w.id AND c.state <> 'done')",
                &[&before, &admin.as_str()],
            )
            .await
            .store()
    }
}
