//! [`OutboxStore`] on PostgreSQL: outcomes and their events in one transaction.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sync_core::store::{
    AdminKey, FinishedItem, ItemOutcome, LeaseToken, OutboxBacklog, OutboxEvent, OutboxId,
    OutboxStore, StoreError, StoreResult, lease_expiry,
};

use crate::PostgresStore;
use crate::codec::{
    CachedSql, PgResultExt, count_from_sql, count_to_sql, json_from_sql, json_to_sql,
    time_from_sql, time_to_sql,
};
use crate::queue::first_lost_lease;
use crate::records::AuditRows;

/// One outcome as the columns it sets: (state, retry time, review reasons, error).
type OutcomeColumns = (&'static str, Option<i64>, Option<String>, Option<String>);

fn outcome_columns(outcome: ItemOutcome) -> StoreResult<OutcomeColumns> {
    Ok(match outcome {
        ItemOutcome::Done => ("done", None, None, None),
        ItemOutcome::Retry { at, error } => (
            "pending",
            Some(time_to_sql(at)?),
            None,
            Some(json_to_sql(&error)?),
        ),
        ItemOutcome::Failed(error) => ("failed", None, None, Some(json_to_sql(&error)?)),
        ItemOutcome::NeedsReview(reasons) => {
            ("needs_review", None, Some(json_to_sql(&reasons)?), None)
        }
        other => {
            return Err(StoreError::invalid(format!(
                "outcome {other:?} is unknown to this store"
            )));
        }
    })
}

/// Records a batch's outcomes (each fenced by its token) in one statement, from arrays.
const FINISH: &str = "
    UPDATE work_items w
       SET state = t.state, lease_until = NULL, updated_at = $7,
           next_attempt_at = coalesce(t.at, w.next_attempt_at),
           review = coalesce(t.review::jsonb, w.review),
           last_error = coalesce(t.error::jsonb, w.last_error)
      FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[])
           AS t(id, attempt, state, at, review, error)
     WHERE w.id = t.id AND w.attempts = t.attempt AND w.state = 'in_flight'
    RETURNING w.id, w.admin";

/// Stores a batch's events in their order (WITH ORDINALITY keeps it in their ids); each
/// takes its item's administration (`$1` the items, `$2` their administrations).
const STORE_EVENTS: &str = "
    INSERT INTO outbox (admin, idempotency_key, event, next_attempt_at, created_at)
    SELECT i.admin, e.k, e.e::jsonb, $6, $6
      FROM unnest($3::bigint[], $4::text[], $5::text[]) WITH ORDINALITY AS e(item, k, e, n)
      JOIN unnest($1::bigint[], $2::text[]) AS i(id, admin) ON i.id = e.item
     ORDER BY e.n";

impl OutboxStore for PostgresStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        if items.is_empty() {
            return Ok(());
        }
        let mut seen = HashSet::with_capacity(items.len());
        if let Some(twice) = items.iter().find(|f| !seen.insert(f.token.id)) {
            // The first use takes the item out of flight, so the second has lost its lease.
            return Err(StoreError::conflict(format!(
                "work item {} is finished twice in one batch",
                twice.token.id
            )));
        }
        // The whole batch is at most three statements (outcomes, events, audit entries) in
        // one transaction, whatever its size: a round trip per item was most of a fleet
        // worker's store time, and an audit entry apart was a commit per write.
        let n = items.len();
        let tokens: Vec<LeaseToken> = items.iter().map(|f| f.token).collect();
        let (mut ids, mut attempts) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut states, mut ats) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut reviews, mut errors) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut event_items, mut keys, mut events) = (Vec::new(), Vec::new(), Vec::new());
        let mut audit = AuditRows::default();
        for finished in items {
            for entry in finished.audit {
                audit.push(entry)?;
            }
            let (state, at, review, error) = outcome_columns(finished.outcome)?;
            let id = finished.token.id.get();
            ids.push(id);
            attempts.push(i64::from(finished.token.attempt));
            states.push(state);
            ats.push(at);
            reviews.push(review);
            errors.push(error);
            for event in finished.events {
                event_items.push(id);
                events.push(json_to_sql(&event.event)?);
                keys.push(event.idempotency_key);
            }
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        let rows = tx
            .query_cached(
                FINISH,
                &[&ids, &attempts, &states, &ats, &reviews, &errors, &now],
            )
            .await
            .store()?;
        if rows.len() != tokens.len() {
            let recorded: HashSet<i64> = rows.iter().map(|row| row.get(0)).collect();
            // On a lost lease, dropping `tx` rolls back the outcomes already recorded.
            first_lost_lease(&tx, &tokens, &recorded).await?;
        }
        if !keys.is_empty() {
            let recorded: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
            let admins: Vec<&str> = rows.iter().map(|row| row.get(1)).collect();
            tx.execute_cached(
                STORE_EVENTS,
                &[&recorded, &admins, &event_items, &keys, &events, &now],
            )
            .await
            .store()?;
        }
        audit.insert(&tx).await?;
        tx.commit().await.store()?;
        Ok(())
    }

    async fn claim_outbox(
        &self,
        admin: &AdminKey,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let until = time_to_sql(lease_expiry(now, lease)?)?;
        let now = time_to_sql(now)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = count_to_sql(limit);
        let client = self.client().await?;
        // SKIP LOCKED: two deliverers never wait for each other nor take the same event.
        let rows = client
            .query_cached(
                "WITH picked AS (
                     SELECT id FROM outbox WHERE admin = $1 AND next_attempt_at <= $2
                      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
                 UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = $3
                   FROM picked WHERE o.id = picked.id
                 RETURNING o.id, o.admin, o.idempotency_key, o.event::text, o.attempts,
                           o.next_attempt_at, o.last_error, o.created_at",
                &[&admin.as_str(), &now, &until, &limit],
            )
            .await
            .store()?;
        let mut events = rows
            .iter()
            .map(|row| {
                let id = OutboxId::new(row.get(0));
                let mut stored = OutboxEvent::stored(
                    id,
                    AdminKey::new(row.get::<_, String>(1)),
                    row.get::<_, String>(2),
                    json_from_sql(row.get(3), || format!("{id}, field event"))?,
                    time_from_sql(row.get(7)),
                );
                let attempts: i32 = row.get(4);
                stored.attempts = u32::try_from(attempts).map_err(|_| {
                    StoreError::corrupt(format!("{id}, field attempts: {attempts}"))
                })?;
                stored.next_attempt_at = time_from_sql(row.get(5));
                stored.last_error = row.get(6);
                Ok(stored)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING has no order; delivery goes lowest id first.
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    async fn ack_outbox(&self, admin: &AdminKey, ids: &[OutboxId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let client = self.client().await?;
        let n = client
            .execute_cached(
                "DELETE FROM outbox WHERE id = ANY($1) AND admin = $2",
                &[&ids, &admin.as_str()],
            )
            .await
            .store()?;
        Ok(n)
    }

    async fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let at = time_to_sql(at)?;
        let client = self.client().await?;
        let n = client
            .execute_cached(
                "UPDATE outbox SET next_attempt_at = $3, last_error = coalesce($4, last_error)
                  WHERE id = $1 AND admin = $2",
                &[&id.get(), &admin.as_str(), &at, &error],
            )
            .await
            .store()?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::not_found(format!(
                "{id} of administration {admin:?}"
            )))
        }
    }

    async fn outbox_backlog(&self, admin: &AdminKey) -> StoreResult<OutboxBacklog> {
        let client = self.client().await?;
        let row = client
            .query_one_cached(
                "SELECT count(*), min(next_attempt_at) FROM outbox WHERE admin = $1",
                &[&admin.as_str()],
            )
            .await
            .store()?;
        let mut backlog = OutboxBacklog::default();
        backlog.waiting = count_from_sql(row.get(0));
        backlog.next_attempt_at = row.get::<_, Option<i64>>(1).map(time_from_sql);
        Ok(backlog)
    }
}
