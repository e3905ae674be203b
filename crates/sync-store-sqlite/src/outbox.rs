//! [`OutboxStore`] on SQLite: outcomes and their events in one `BEGIN IMMEDIATE` transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use sync_core::store::{
    AdminKey, FinishedItem, ItemOutcome, OutboxBacklog, OutboxEvent, OutboxId, OutboxStore,
    StoreError, StoreResult, lease_expiry,
};

use crate::SqliteStore;
use crate::codec::{
    SqlResultExt, count_from_sql, count_to_sql, json_from_sql, json_to_sql, time_from_sql,
    time_to_sql,
};
use crate::queue::update_leased;
use crate::records::insert_audit;

/// Records every outcome and stores every event and audit entry, or nothing (dropping `tx`
/// rolls back).
fn finish_batch_tx(conn: &mut Connection, items: Vec<FinishedItem>, now: i64) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .store()?;
    for finished in items {
        let token = finished.token;
        // The same token twice fails here too: the first use took the item out of flight.
        match finished.outcome {
            ItemOutcome::Done => {
                update_leased(&tx, token, "state = 'done', updated_at = ?3", &[&now])?
            }
            ItemOutcome::Retry { at, error } => {
                let (at, error) = (time_to_sql(at)?, json_to_sql(&error)?);
                update_leased(
                    &tx,
                    token,
                    "state = 'pending', updated_at = ?3, next_attempt_at = ?4, last_error = ?5",
                    &[&now, &at, &error],
                )?;
            }
            ItemOutcome::Failed(error) => {
                let error = json_to_sql(&error)?;
                update_leased(
                    &tx,
                    token,
                    "state = 'failed', updated_at = ?3, last_error = ?4",
                    &[&now, &error],
                )?;
            }
            ItemOutcome::NeedsReview(reasons) => {
                let reasons = json_to_sql(&reasons)?;
                update_leased(
                    &tx,
                    token,
                    "state = 'needs_review', updated_at = ?3, review = ?4",
                    &[&now, &reasons],
                )?;
            }
            other => {
                return Err(StoreError::invalid(format!(
                    "outcome {other:?} is unknown to this store"
                )));
            }
        }
        for event in finished.events {
            let text = json_to_sql(&event.event)?;
            // The event takes its item's administration.
            tx.prepare_cached(
                "INSERT INTO outbox (admin, idempotency_key, event, next_attempt_at, created_at)
                 SELECT admin, ?2, ?3, ?4, ?4 FROM work_items WHERE id = ?1",
            )
            .store()?
            .execute(params![token.id.get(), event.idempotency_key, text, now])
            .store()?;
        }
        for entry in &finished.audit {
            insert_audit(&tx, entry)?;
        }
    }
    tx.commit().store()?;
    Ok(())
}

fn claim_outbox_tx(
    conn: &mut Connection,
    admin: &str,
    now: i64,
    limit: i64,
    until: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .store()?;
    let rows = tx
        .prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?3
              WHERE id IN (SELECT id FROM outbox WHERE admin = ?1 AND next_attempt_at <= ?2
                            ORDER BY id LIMIT ?4)
             RETURNING id, admin, idempotency_key, event, attempts, next_attempt_at,
                       last_error, created_at",
        )
        .store()?
        .query_map(params![admin, now, until, limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, i64>(7)?,
            ))
        })
        .store()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .store()?;
    tx.commit().store()?;
    let mut events = rows
        .into_iter()
        .map(
            |(id, admin, key, event, attempts, next, last_error, created)| {
                let id = OutboxId::new(id);
                let mut stored = OutboxEvent::stored(
                    id,
                    AdminKey::new(admin),
                    key,
                    json_from_sql(&event, || format!("{id}, field event"))?,
                    time_from_sql(created),
                );
                stored.attempts = u32::try_from(attempts).map_err(|_| {
                    StoreError::corrupt(format!("{id}, field attempts: {attempts}"))
                })?;
                stored.next_attempt_at = time_from_sql(next);
                stored.last_error = last_error;
                Ok(stored)
            },
        )
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING has no order; delivery goes lowest id first.
    events.sort_by_key(|e| e.id);
    Ok(events)
}

impl OutboxStore for SqliteStore {
    async fn finish_batch(&self, items: Vec<FinishedItem>, now: DateTime<Utc>) -> StoreResult<()> {
        let now = time_to_sql(now)?;
        if items.is_empty() {
            return Ok(());
        }
        self.pool
            .write(move |conn| finish_batch_tx(conn, items, now))
            .await
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
        let (admin, limit) = (admin.as_str().to_owned(), count_to_sql(limit));
        self.pool
            .write(move |conn| claim_outbox_tx(conn, &admin, now, limit, until))
            .await
    }

    async fn ack_outbox(&self, admin: &AdminKey, ids: &[OutboxId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let admin = admin.as_str().to_owned();
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        self.pool
            .write(move |conn| {
                // One commit for a page of deliveries, not one per event.
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .store()?;
                let mut n = 0;
                for id in ids {
                    n += tx
                        .prepare_cached("DELETE FROM outbox WHERE id = ?1 AND admin = ?2")
                        .store()?
                        .execute(params![id, admin])
                        .store()?;
                }
                tx.commit().store()?;
                Ok(n as u64)
            })
            .await
    }

    async fn retry_outbox(
        &self,
        admin: &AdminKey,
        id: OutboxId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let at = time_to_sql(at)?;
        let (admin, error) = (admin.as_str().to_owned(), error.map(str::to_owned));
        self.pool
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE outbox SET next_attempt_at = ?3,
                                last_error = coalesce(?4, last_error)
                          WHERE id = ?1 AND admin = ?2",
                    )
                    .store()?
                    .execute(params![id.get(), admin, at, error])
                    .store()?;
                if n == 1 {
                    Ok(())
                } else {
                    Err(StoreError::not_found(format!(
                        "{id} of administration {admin:?}"
                    )))
                }
            })
            .await
    }

    async fn outbox_backlog(&self, admin: &AdminKey) -> StoreResult<OutboxBacklog> {
        let admin = admin.as_str().to_owned();
        self.pool
            .run(move |conn| {
                let (n, next): (i64, Option<i64>) = conn
                    .prepare_cached(
                        "SELECT count(*), min(next_attempt_at) FROM outbox WHERE admin = ?1",
                    )
                    .store()?
                    .query_row([&admin], |row| Ok((row.get(0)?, row.get(1)?)))
                    .store()?;
                let mut backlog = OutboxBacklog::default();
                backlog.waiting = count_from_sql(n);
                backlog.next_attempt_at = next.map(time_from_sql);
                Ok(backlog)
            })
            .await
    }
}
