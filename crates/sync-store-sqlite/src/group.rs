//! Group commit: small writes of concurrent callers share one transaction.
//!
//! Why: the engine runs several items at once, and each one writes an audit entry and an id
//! link right after its create, every write its own transaction. A transaction costs far more
//! than the row it writes: `BEGIN IMMEDIATE`, a blocking-pool hop, and at `COMMIT` every page
//! it touched goes to the WAL (and later once more into the database file). Rows of the same
//! table share pages, so writes committed together touch far fewer pages per row.
//!
//! How: a write joins the queue of pending writes. When no flush is running, it starts one
//! (a task of its own, so a caller that gives up waiting cannot strand the others); a flush
//! takes every write queued so far and runs them in one `BEGIN IMMEDIATE` transaction, each
//! inside a savepoint, so a write that fails (a uniqueness conflict, say) is rolled back alone
//! and answered with its own error while the others commit. Writes queued while a flush runs
//! form the next group. Every caller hears its result only after the commit: a write that
//! returned `Ok` is as durable as one committed alone.
//!
//! A flush does not wait for more writes to join: the commit before it is what gathers a
//! group, so groups grow with the rate of writes by themselves, and no write waits for a
//! commit that is not running. (A fixed 1 ms wait once made larger groups, but every item
//! waited for it: `sync_bench` made about 10 % fewer calls a second with it, for 1.5 KB less
//! written to disk per item.)

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, TransactionBehavior};
use sync_core::store::StoreError;
use tokio::sync::oneshot;

use crate::codec::{CachedSql, SqlResultExt};
use crate::pool::Pool;

/// One write of a group: it runs inside the group's transaction (in its own savepoint).
pub(crate) type GroupWrite = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

struct Pending {
    write: GroupWrite,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// The writes waiting for the next group, and whether a flush is running.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queued: Vec<Pending>,
    flushing: bool,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("GroupCommit")
            .field("queued", &state.queued.len())
            .field("flushing", &state.flushing)
            .finish()
    }
}

/// Clears the `flushing` flag when a flush task is dropped before it finished (a runtime
/// shutting down): a flag left set would stall every later grouped write. A flush that
/// finishes clears the flag itself and disarms the guard.
struct FlushGuard {
    pool: Arc<Pool>,
    armed: bool,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut state = self
            .pool
            .group()
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.flushing = false;
        // Nothing of these ran: say so rather than leave their callers waiting.
        for pending in state.queued.drain(..) {
            let _ = pending
                .answer
                .send(Err(StoreError::backend("SQLite group commit stopped")));
        }
    }
}

impl Pool {
    /// Runs `write` in the next group transaction and returns its result after the commit.
    pub(crate) async fn write_grouped(
        self: &Arc<Self>,
        write: impl FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        let (answer, result) = oneshot::channel();
        let start = {
            let mut state = self
                .group()
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.queued.push(Pending {
                write: Box::new(write),
                answer,
            });
            !std::mem::replace(&mut state.flushing, true)
        };
        if start {
            let pool = Arc::clone(self);
            tokio::spawn(async move {
                let mut guard = FlushGuard { pool, armed: true };
                guard.pool.flush_groups().await;
                guard.armed = false;
            });
        }
        result
            .await
            .unwrap_or_else(|_| Err(StoreError::backend("SQLite group commit stopped")))
    }

    /// Commits groups until none is queued.
    async fn flush_groups(self: &Arc<Self>) {
        loop {
            {
                let mut state = self
                    .group()
                    .state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if state.queued.is_empty() {
                    // Under the lock that queues writes: a write queued after this starts
                    // the next flush.
                    state.flushing = false;
                    return;
                }
            }
            // Writes made in the same turn of their callers' tasks join this group.
            tokio::task::yield_now().await;
            let queued = std::mem::take(
                &mut self
                    .group()
                    .state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .queued,
            );
            let (writes, answers): (Vec<GroupWrite>, Vec<_>) =
                queued.into_iter().map(|p| (p.write, p.answer)).unzip();
            match self.write(move |conn| commit_group(conn, writes)).await {
                Ok(results) => {
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(result);
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    for answer in answers {
                        let _ = answer.send(Err(StoreError::backend(format!(
                            "group commit failed: {message}"
                        ))));
                    }
                }
            }
        }
    }
}

/// Runs `writes` in one transaction, each in a savepoint; the per-write results, or the
/// error that failed the whole group (nothing of it committed).
fn commit_group(
    conn: &mut Connection,
    writes: Vec<GroupWrite>,
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .store()?;
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        // Cached statements: rusqlite's `Savepoint` would compile these three for every write.
        tx.execute_cached("SAVEPOINT grouped_write", []).store()?;
        let result = write(&tx);
        if result.is_err() {
            tx.execute_cached("ROLLBACK TO grouped_write", []).store()?;
        }
        tx.execute_cached("RELEASE grouped_write", []).store()?;
        results.push(result);
    }
    tx.commit().store()?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteOptions;

    fn pool(dir: &std::path::Path) -> Arc<Pool> {
        let path = dir.join("group.sqlite");
        let options = SqliteOptions::default();
        let conn = Pool::connect(&path, &options).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (k TEXT PRIMARY KEY);
             CREATE TABLE parent (id TEXT PRIMARY KEY);
             CREATE TABLE child (parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             INSERT INTO t (k) VALUES ('held');",
        )
        .expect("tables");
        Arc::new(Pool::new(&path, options, conn))
    }

    fn insert(k: String) -> impl FnOnce(&Connection) -> Result<(), StoreError> + Send {
        move |conn| {
            conn.execute("INSERT INTO t (k) VALUES (?1)", [&k])
                .map_err(|e| StoreError::conflict(format!("{k}: {e}")))?;
            Ok(())
        }
    }

    async fn keys(pool: &Arc<Pool>) -> Vec<String> {
        pool.run(|conn| {
            let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").store()?;
            let rows = stmt.query_map([], |row| row.get(0)).store()?;
            rows.collect::<Result<Vec<String>, _>>().store()
        })
        .await
        .expect("read")
    }

    /// Concurrent writes are all committed, each caller hears its own result, and a write
    /// that fails is rolled back alone: its row is gone, the others' rows stay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_together_and_fail_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = pool(dir.path());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move {
                if i % 10 == 7 {
                    // Writes a row, then fails: the row must not survive.
                    pool.write_grouped(move |conn| {
                        conn.execute("INSERT INTO t (k) VALUES (?1)", [format!("bad{i:03}")])
                            .store()?;
                        Err(StoreError::invalid(format!("write {i} refused")))
                    })
                    .await
                } else if i % 10 == 3 {
                    // Takes a key that is held: a conflict of its own.
                    pool.write_grouped(insert("held".to_owned())).await
                } else {
                    pool.write_grouped(insert(format!("k{i:03}"))).await
                }
            }));
        }
        let mut ok = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.expect("task");
            match i % 10 {
                7 => assert!(
                    matches!(&result, Err(StoreError::Invalid { detail }) if detail == &format!("write {i} refused")),
                    "write {i}: {result:?}"
                ),
                3 => assert!(
                    matches!(&result, Err(StoreError::Conflict { .. })),
                    "write {i} took a held key: {result:?}"
                ),
                _ => {
                    result.unwrap_or_else(|e| panic!("write {i}: {e}"));
                    ok += 1;
                }
            }
        }
        let stored = keys(&pool).await;
        assert_eq!(stored.len(), ok + 1, "{stored:?}");
        assert!(
            !stored.iter().any(|k| k.starts_with("bad")),
            "no failed write survives"
        );
        let state = pool.group().state.lock().unwrap();
        assert!(
            state.queued.is_empty() && !state.flushing,
            "the flush ended"
        );
    }

    /// When the commit itself fails (here a deferred foreign key), every write of the group
    /// hears an error and none of them is stored; the next write starts a fresh flush. (One
    /// thread, so both writes are queued before the flush task first runs: one group.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_group_answers_every_caller_and_the_next_flush_starts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = pool(dir.path());
        let (good, bad) = tokio::join!(
            pool.write_grouped(insert("same-group".to_owned())),
            pool.write_grouped(|conn| {
                conn.execute("INSERT INTO child (parent) VALUES ('missing')", [])
                    .store()?;
                Ok(())
            })
        );
        assert!(bad.is_err(), "the commit fails on the foreign key: {bad:?}");
        assert!(good.is_err(), "its group did not commit: {good:?}");
        assert_eq!(keys(&pool).await, vec!["held".to_owned()]);
        pool.write_grouped(insert("after".to_owned()))
            .await
            .expect("the next group commits");
        assert_eq!(
            keys(&pool).await,
            vec!["after".to_owned(), "held".to_owned()]
        );
    }
}
