//! [`OutboxStore`] on PostgreSQL: outcomes and their events in one transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_core::store::{
    AdminKey, FinishedItem, ItemOutcome, OutboxBacklog, OutboxEvent, OutboxId, OutboxStore,
    StoreError, StoreResult, lease_expiry,
};
use tokio_postgres::types::ToSql;

use crate::PostgresStore;
use crate::codec::{
    PgResultExt, count_from_sql, count_to_sql, json_from_sql, json_to_sql, time_from_sql,
    time_to_sql,
};
use crate::queue::lease_lost_error;

/// Records one outcome (fenced by its token) and stores its events inside `tx`.
async fn finish_in(tx: &impl GenericClient, finished: FinishedItem, now: i64) -> StoreResult<()> {
    let token = finished.token;
    // (state, retry time, review reasons, error): one statement serves every outcome.
    let (state, at, review, error): (&str, Option<i64>, Option<String>, Option<String>) =
        match finished.outcome {
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
        };
    let stmt = tx
        .prepare_cached(
            "UPDATE work_items
                SET state = $5, lease_until = NULL, updated_at = $3,
                    next_attempt_at = coalesce($6, next_attempt_at),
                    review = coalesce($7::text::jsonb, review),
                    last_error = coalesce($4::text::jsonb, last_error)
              WHERE id = $1 AND attempts = $2::bigint AND state = 'in_flight'
             RETURNING admin",
        )
        .await
        .store()?;
    let (id, attempt) = (token.id.get(), i64::from(token.attempt));
    let params: [&(dyn ToSql + Sync); 7] = [&id, &attempt, &now, &error, &state, &at, &review];
    let Some(row) = tx.query_opt(&stmt, &params[..]).await.store()? else {
        let current = tx
            .query_opt(
                "SELECT state, attempts FROM work_items WHERE id = $1",
                &[&id],
            )
            .await
            .store()?
            .map(|row| (row.get(0), row.get(1)));
        return Err(lease_lost_error(token, current));
    };
    let admin: String = row.get(0);
    if finished.events.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = finished
        .events
        .iter()
        .map(|e| e.idempotency_key.as_str())
        .collect();
    let events: Vec<String> = finished
        .events
        .iter()
        .map(|e| json_to_sql(&e.event))
        .collect::<StoreResult<_>>()?;
    // WITH ORDINALITY keeps the events' order in their ids.
    tx.execute(
        "INSERT INTO outbox (admin, idempotency_key, event, next_attempt_at, created_at)
         SELECT $1, k, e::jsonb, $4, $4
           FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(k, e, n)
          ORDER BY n",
        &[&admin, &keys, &events, &now],
    )
    .await
    .store()?;
    Ok(())
}

impl OutboxStore for PostgresStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        if items.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.store()?;
        // The same token twice fails in `finish_in`: the first use took the item out of
        // flight. Any error drops `tx`, which rolls the whole batch back.
        for finished in items {
            finish_in(&tx, finished, now).await?;
        }
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
            .query(
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
            .execute(
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
            .execute(
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
            .query_one(
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
