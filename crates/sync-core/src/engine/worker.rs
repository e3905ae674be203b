//! The worker loop: claim due items in batches, run each one isolated (a panic fails only its
//! record), record its outcome, and wait (visibly) for the next due item when a host asks for
//! it ([`SyncEngine::run_until_idle`]).

use super::*;
use crate::crm::OP_UPSERT;
use crate::store::{FinishedItem, ItemOutcome, LeaseToken, QueueCounts};

/// Done items per completion transaction at most (see `run_batch`).
const COMPLETE_CHUNK: usize = 256;

/// Items run at once when the call budget sets no limit (a simulator, a maatwerk key
/// without one). Enough to keep both the engine and SnelStart busy while some items wait
/// for a store commit; their writes then share transactions (the SQLite store's group
/// commit).
const UNLIMITED_CONCURRENCY: usize = 32;

/// How often a run refreshes the `sync_queue_pending` gauge (and once more at its end).
const QUEUE_GAUGE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl<S: Store, Src: CrmSource, Snk: CrmSink> SyncEngine<S, Src, Snk> {
    /// Counts the calls an earlier process (or another worker on this administration) made
    /// and SnelStart still counts, once per engine: without this a process started right
    /// after another begins with a full budget and meets 429s. Store failures are logged:
    /// the budget then starts empty, as it did before.
    async fn seed_budget(&self) {
        let _ = self
            .inner
            .budget_seeded
            .get_or_init(|| async {
                match self
                    .inner
                    .store
                    .state(&self.inner.admin, &StateKey::BudgetSpent)
                    .await
                {
                    Ok(text) => {
                        if let Some(text) = &text {
                            let now = self.now();
                            let ages = budget_times(text)
                                .into_iter()
                                .filter_map(|at| (now - at).to_std().ok());
                            self.inner.client.budget().seed(ages);
                        }
                        self.saw_state(&StateKey::BudgetSpent, Some(text));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read the spent budget"),
                }
            })
            .await;
    }

    /// Adds this engine's calls since the last record to the ones the store keeps (which
    /// other processes add to as well; compare-and-swap, retried a few times), for
    /// [`SyncEngine::seed_budget`]. Only new calls are added, so none is counted twice, and
    /// times are kept with repeats (calls in the same millisecond are several calls). The
    /// swap expects the value this engine last read or wrote, so the usual case is one
    /// statement; when another process wrote meanwhile, the swap fails and the value is read
    /// again.
    async fn record_budget(&self) {
        let now = self.now();
        let budget = self.inner.client.budget();
        let total = budget.usage().total;
        let new_calls = {
            let recorded = *self
                .inner
                .budget_recorded
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            usize::try_from(total.saturating_sub(recorded)).unwrap_or(usize::MAX)
        };
        // This engine's new grants are the most recent ones: seeded calls are older than the
        // first grant of this engine.
        let spent = budget.spent();
        let mine: Vec<DateTime<Utc>> = spent[spent.len().saturating_sub(new_calls)..]
            .iter()
            .filter_map(|age| chrono::TimeDelta::from_std(*age).ok())
            .filter_map(|age| now.checked_sub_signed(age))
            .collect();
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        let horizon = now - chrono::TimeDelta::hours(1);
        let key = &StateKey::BudgetSpent;
        for _ in 0..3 {
            let current = match self.seen_state(key) {
                Some(current) => current,
                None => match store.state(admin, key).await {
                    Ok(current) => current,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read the spent budget");
                        return;
                    }
                },
            };
            let mut times: Vec<i64> = current
                .as_deref()
                .map(budget_times)
                .unwrap_or_default()
                .into_iter()
                .chain(mine.iter().copied())
                .filter(|at| *at > horizon)
                .map(|at| at.timestamp_millis())
                .collect();
            times.sort_unstable();
            let text = serde_json::to_string(&times).unwrap_or_else(|_| "[]".to_owned());
            match store
                .put_state(
                    admin,
                    &StateKey::BudgetSpent,
                    current.as_deref(),
                    &text,
                    now,
                )
                .await
            {
                Ok(()) => {
                    *self
                        .inner
                        .budget_recorded
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = total;
                    self.saw_state(key, Some(Some(text)));
                    return;
                }
                Err(e) if e.is_conflict() => {
                    self.saw_state(key, None);
                    continue;
                }
                Err(e) => {
                    self.saw_state(key, None);
                    tracing::warn!(error = %e, "could not record the spent budget");
                    return;
                }
            }
        }
    }

    /// The value of `key` as this engine last read or wrote it; `None` when it does not know
    /// (see `Inner::state_seen`).
    fn seen_state(&self, key: &StateKey) -> Option<Option<String>> {
        self.inner
            .state_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Remembers the value of `key` as just read or written (`None`: forget it).
    fn saw_state(&self, key: &StateKey, value: Option<Option<String>>) {
        let mut seen = self
            .inner
            .state_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match value {
            Some(value) => {
                seen.insert(key.clone(), value);
            }
            None => {
                seen.remove(key);
            }
        }
    }

    /// Records `now` as the last success of `kind`: a compare-and-swap against the value
    /// this engine last read or wrote, read again once when another engine wrote meanwhile
    /// (losing to a concurrent writer after that is harmless: it wrote a success as recent).
    async fn record_last_success(&self, kind: EntityKind, now: &str) -> Result<(), EngineError> {
        let key = last_success_cursor(kind);
        let store = &self.inner.store;
        let admin = &self.inner.admin;
        for _ in 0..2 {
            let current = match self.seen_state(&key) {
                Some(current) => current,
                None => store.state(admin, &key).await?,
            };
            match store
                .put_state(admin, &key, current.as_deref(), now, self.now())
                .await
            {
                Ok(()) => {
                    self.saw_state(&key, Some(Some(now.to_owned())));
                    return Ok(());
                }
                Err(_) => self.saw_state(&key, None),
            }
        }
        Ok(())
    }

    /// Ingests and processes until no work is eligible now.
    ///
    /// # Errors
    ///
    /// See [`SyncEngine::ingest`] and [`SyncEngine::process`].
    pub async fn sync(&self) -> Result<RunReport, EngineError> {
        let started = tokio::time::Instant::now();
        let ingested = self.ingest().await?;
        let mut report = self.process().await?;
        report.ingested = ingested;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Processes eligible work items in batches until none is eligible now, or the circuit
    /// breaker opens. Problems of single records never stop it.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the store fails.
    pub async fn process(&self) -> Result<RunReport, EngineError> {
        let span = tracing::info_span!("sync.process", admin = %self.inner.admin);
        let (report, _) = self.process_inner(None).instrument(span).await?;
        Ok(report)
    }

    /// Drops finished work items older than [`EngineOptions::retention`], at most once an hour
    /// per engine. A failure is logged: pruning is housekeeping, never a reason to stop.
    async fn prune_if_due(&self) {
        let Some(retention) = self.inner.options.retention else {
            return;
        };
        let now = self.now();
        {
            let mut last = self
                .inner
                .last_prune
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now - at < chrono::TimeDelta::hours(1)) {
                return;
            }
            *last = Some(now);
        }
        let Some(before) = chrono::TimeDelta::from_std(retention)
            .ok()
            .and_then(|age| now.checked_sub_signed(age))
        else {
            return;
        };
        match self.inner.store.prune_done(&self.inner.admin, before).await {
            Ok(n) if n > 0 => tracing::info!(pruned = n, %before, "pruned finished work items"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning finished work items failed"),
        }
        // Parked changes and review decisions name CRM records (and grow with every failure
        // and review); after the retention period they go too. Losing a parked entry only
        // means an identical resubmission is tried once more; a decision is long consumed.
        for area in [StateArea::Parked, StateArea::ReviewResolution] {
            match self
                .inner
                .store
                .prune_state(&self.inner.admin, area, before)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(pruned = n, %area, %before, "pruned state"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, %area, "pruning state failed"),
            }
        }
    }

    /// `deadline`: after the first batch, stop claiming new batches once it has passed (the
    /// batch in hand always finishes). Also returns the queue's counts as the run left them,
    /// when it counted at its end (it did when it ran a batch).
    async fn process_inner(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(RunReport, Option<QueueCounts>), EngineError> {
        let started = tokio::time::Instant::now();
        self.seed_budget().await;
        let calls_before = self.inner.client.budget_usage().total;
        let (context, context_made) = self.take_carried_context();
        // Bound before the first write of this engine (nothing to check while nothing waits).
        if self.inner.bound.get().is_none()
            && self.inner.store.counts(&self.inner.admin).await?.pending > 0
        {
            self.bind(Some(&context)).await?;
        }
        let report = Arc::new(Mutex::new(RunReport::default()));
        // Whether this run stopped at its deadline with work left: the next run continues it
        // and gets its context.
        let mut continued = false;
        let concurrency = self.concurrency();
        let mut outage = false;
        let mut touched: Vec<EntityKind> = Vec::new();
        let mut gauge_set: Option<std::time::Instant> = None;
        // Whether this run made a delivery pass (one after each batch); a run without a batch
        // makes one at its end, for events an earlier run or a process that died stored
        // and the sink did not accept. One pass per slice instead of one before and one
        // after its batch.
        let mut delivered = false;
        // The next batch, claimed and prepared while the one before it ran its items (see
        // `run_batch`). Given back unrun when the loop stops before running it.
        let mut ahead: Option<Prepared> = None;
        loop {
            let now = self.now();
            if self.breaker_open(now).is_some() {
                outage = true;
                self.give_back(ahead.take()).await;
                break;
            }
            if !touched.is_empty() && deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                self.give_back(ahead.take()).await;
                continued = true;
                break;
            }
            // Half open after an outage: one item probes whether SnelStart is back, instead
            // of a whole batch of calls failing at once.
            let half_open = self
                .inner
                .breaker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .half_open(now);
            let limit = if half_open {
                1
            } else {
                self.inner.options.batch_size
            };
            // A batch claimed ahead is run unless it waited so long that its leases are
            // half gone (its items waited behind a slow batch: the call budget, a long
            // answer): then a fresh claim, so no item starts on a lease about to end.
            let ahead_batch = match ahead.take() {
                Some(batch)
                    if !half_open && batch.claimed_at.elapsed() < self.inner.options.lease / 2 =>
                {
                    Some(batch)
                }
                stale => {
                    self.give_back(stale).await;
                    None
                }
            };
            let batch = match ahead_batch {
                Some(batch) => batch,
                None => {
                    let claimed_at = tokio::time::Instant::now();
                    let items = self.claim(limit).await?;
                    if items.is_empty() {
                        break;
                    }
                    self.prepare(items, claimed_at, &context).await?
                }
            };
            for item in &batch.items {
                if !touched.contains(&item.kind) {
                    touched.push(item.kind);
                }
            }
            // Claim the next batch while this one runs, unless this run ends after it
            // (its deadline has passed: a fleet's slice) or it probes after an outage.
            let claim_ahead = (!half_open
                && deadline.is_none_or(|d| tokio::time::Instant::now() < d))
            .then_some(limit);
            let (ran, next) = self
                .run_batch(batch, &context, &report, concurrency, claim_ahead)
                .await;
            if let Err(e) = ran {
                self.give_back(next.ok().flatten()).await;
                return Err(e);
            }
            ahead = next?;
            // The batch's events are stored with its outcomes; the CRM hears them now, after
            // any an earlier run (or a process that died) stored and the sink did not accept
            // (delivery goes oldest first).
            if let Err(e) = self.deliver_outbox().await {
                self.give_back(ahead.take()).await;
                return Err(e);
            }
            delivered = true;
            // Counting reads every item of the administration (done ones included): once per
            // batch made a long run quadratic, once a second is enough for a gauge. The end of
            // the run counts anyway, so a run of one batch (a fleet's slice) counts once.
            match gauge_set {
                None => gauge_set = Some(std::time::Instant::now()),
                Some(at) if at.elapsed() >= QUEUE_GAUGE_EVERY => {
                    gauge_set = Some(std::time::Instant::now());
                    if let Err(e) = self.set_queue_gauge().await {
                        self.give_back(ahead.take()).await;
                        return Err(e);
                    }
                }
                Some(_) => {}
            }
        }
        if !delivered {
            self.deliver_outbox().await?;
        }
        let counts = match gauge_set {
            Some(_) => Some(self.set_queue_gauge().await?),
            None => None,
        };
        if !outage {
            self.prune_if_due().await;
            let now = self.now().to_rfc3339();
            for kind in touched {
                self.record_last_success(kind, &now).await?;
            }
        }
        if self.inner.client.budget_usage().total > calls_before {
            self.record_budget().await;
        }
        let mut report = Arc::try_unwrap(report)
            .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_else(|arc| arc.lock().unwrap_or_else(PoisonError::into_inner).clone());
        report.api_calls = self.inner.client.budget_usage().total - calls_before;
        report.elapsed = started.elapsed();
        report.interrupted_by_outage = outage;
        if continued && !outage {
            *self
                .inner
                .carried_context
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some((context, context_made));
        }
        Ok((report, counts))
    }

    /// The context the run before this one handed on, while it is younger than
    /// [`EngineOptions::reference_max_age`](crate::EngineOptions::reference_max_age), with
    /// what only held for that run forgotten; else a new one. With when it was made.
    fn take_carried_context(&self) -> (Arc<RunContext>, tokio::time::Instant) {
        let carried = self
            .inner
            .carried_context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match carried {
            Some((context, made)) if made.elapsed() < self.inner.options.reference_max_age => {
                context.begin_run();
                (context, made)
            }
            _ => (Arc::new(RunContext::new()), tokio::time::Instant::now()),
        }
    }

    /// Processes repeatedly, sleeping until the next item is due (an item waiting out a
    /// backoff or a rate limit, or the breaker's cool-down), until nothing is pending or
    /// `max_wait` has passed. This is how a host keeps a sync going through an outage.
    ///
    /// # Errors
    ///
    /// See [`SyncEngine::process`].
    pub async fn run_until_idle(&self, max_wait: Duration) -> Result<RunReport, EngineError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut total = RunReport::default();
        loop {
            let span = tracing::info_span!("sync.process", admin = %self.inner.admin);
            let (report, counted) = self.process_inner(Some(deadline)).instrument(span).await?;
            total.merge(&report);
            // The run's own count at its end, when it made one, instead of a second count of
            // every item (three per fleet slice before). Changes queued after it wait for the
            // next call, as they would after a fresh count.
            let counts = match counted {
                Some(counts) => counts,
                None => self.inner.store.counts(&self.inner.admin).await?,
            };
            let waiting = counts.pending.saturating_sub(counts.blocked) + counts.in_flight;
            if waiting == 0 || tokio::time::Instant::now() >= deadline {
                total.interrupted_by_outage = report.interrupted_by_outage;
                return Ok(total);
            }
            let wake = self.next_wake().await?.min(deadline);
            // Say what the engine waits for and until when: a silent wait looks like a hang.
            let wait = wake.saturating_duration_since(tokio::time::Instant::now());
            let until = later(self.now(), wait);
            let reason = if self.breaker_open(self.now()).is_some() {
                crate::report::WaitReason::Outage
            } else {
                crate::report::WaitReason::Retry
            };
            self.set_waiting(Some(crate::report::Waiting {
                reason,
                until,
                items: waiting,
            }));
            if let Some(open) = self.breaker_open(self.now()) {
                tracing::info!(
                    admin = %self.inner.admin, %open, waiting = waiting,
                    "SnelStart is not answering: waiting for the circuit breaker to probe again"
                );
            } else {
                let budget = self.inner.client.budget_usage();
                tracing::info!(
                    admin = %self.inner.admin, until = %until, waiting = waiting,
                    calls_last_minute = budget.last_minute, calls_last_hour = budget.last_hour,
                    "waiting for the next item to be due (a retry backoff, a rate limit or the \
                     call budget)"
                );
            }
            tokio::time::sleep_until(
                wake.max(tokio::time::Instant::now() + Duration::from_millis(10)),
            )
            .await;
            self.set_waiting(None);
        }
    }

    fn set_waiting(&self, waiting: Option<crate::report::Waiting>) {
        *self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = waiting;
    }

    /// What the engine waits for right now and until when, for a host's progress display:
    /// room in the call budget (calls wait inside the client), SnelStart to answer again
    /// (the circuit breaker), or the next retry while [`SyncEngine::run_until_idle`] sleeps.
    /// `None` while it works.
    pub fn waiting(&self) -> Option<crate::report::Waiting> {
        let now = self.now();
        if let Some(wait) = self.inner.client.budget_usage().waiting_for_room {
            let in_flight = self.inner.client.budget_usage().in_flight;
            return Some(crate::report::Waiting {
                reason: crate::report::WaitReason::Budget,
                until: later(now, wait),
                items: u64::from(in_flight),
            });
        }
        let waiting = self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        waiting.filter(|w| w.until > now)
    }

    /// Sets the `sync_queue_pending` gauge from the store's counts, and returns them.
    async fn set_queue_gauge(&self) -> Result<QueueCounts, EngineError> {
        let counts = self.inner.store.counts(&self.inner.admin).await?;
        metrics::gauge!("sync_queue_pending", "admin" => self.inner.admin.to_string())
            .set(counts.pending as f64);
        Ok(counts)
    }

    /// When the next pending item or the breaker becomes due.
    async fn next_wake(&self) -> Result<tokio::time::Instant, EngineError> {
        let now = self.now();
        let mut next = now + chrono::TimeDelta::seconds(60);
        if let Some(open) = self.breaker_open(now) {
            next = next.min(open);
        } else {
            // Only future times matter: a pending item that is due but was not claimed waits
            // for something else (a dependency, an older item of the same record), and
            // `process` runs again as soon as that finishes. One indexed query, whatever
            // the size of the queue.
            if let Some(due) = self.inner.store.next_due(&self.inner.admin, now).await? {
                next = next.min(due);
            }
        }
        Ok(self.inner.clock.instant_at(next))
    }

    fn concurrency(&self) -> usize {
        self.inner
            .options
            .concurrency
            .unwrap_or_else(|| match self.inner.client.budget().config().concurrent {
                0 => UNLIMITED_CONCURRENCY,
                n => n as usize,
            })
            .max(1)
    }

    fn breaker_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open_until(now)
    }

    /// Claims up to `limit` due items of this administration, leased for the configured lease.
    async fn claim(&self, limit: usize) -> Result<Vec<WorkItem>, EngineError> {
        let inner = &self.inner;
        Ok(inner
            .store
            .claim(&inner.admin, self.now(), limit, inner.options.lease)
            .await?)
    }

    /// Decodes a batch's changes, claimed at `claimed_at` (its leases run from then, not from
    /// its preparation), and matches its relations (the batch's matching sees every relation
    /// the batches before it created), then checks its bookings' configuration, which refuses
    /// the batch (putting it back) when the configuration does not fit the chart of accounts.
    async fn prepare(
        &self,
        items: Vec<WorkItem>,
        claimed_at: tokio::time::Instant,
        context: &RunContext,
    ) -> Result<Prepared, EngineError> {
        // Each change is decoded once, here: the batch's matching and the item's handler
        // read the same value.
        let changes: Vec<Option<Decoded>> = items.iter().map(decode_change).collect();
        let relations: Vec<&crm_model::Relation> = items
            .iter()
            .zip(&changes)
            .filter(|(item, _)| item.operation == OP_UPSERT)
            .filter_map(|(_, change)| match change {
                Some(Ok(CrmChange::Relation(relation))) => Some(&**relation),
                _ => None,
            })
            .collect();
        relations::prepare_batch(self, context, &relations).await;
        bookings::prepare_batch(self, context, &items).await?;
        Ok(Prepared {
            items,
            changes,
            claimed_at,
        })
    }

    /// Gives a batch claimed ahead back unrun (see [`QueueStore::release_claims`]). On a
    /// store failure its items wait out their leases instead, as a crashed run's would.
    async fn give_back(&self, batch: Option<Prepared>) {
        let Some(batch) = batch else { return };
        let tokens: Vec<LeaseToken> = batch.items.iter().map(WorkItem::lease).collect();
        if let Err(e) = self.inner.store.release_claims(&tokens, self.now()).await {
            tracing::warn!(
                error = %e, items = tokens.len(),
                "could not give back a batch claimed ahead; its items run again when their \
                 leases end"
            );
        }
    }

    /// Runs a prepared batch's items, `concurrency` at once, and records the Done ones in
    /// chunks of [`COMPLETE_CHUNK`] (one store transaction per chunk instead of one per item;
    /// smaller chunks cost more CPU and disk than they save), the rest when the batch ends,
    /// and every one at once after half the lease has passed since the claim, so a finished
    /// item is never held past its lease. A crash before a completion only means the item
    /// runs again and finds its link (nothing is written twice). The first error of an item
    /// is returned once every done item is recorded; a completion that fails stops the batch
    /// at once.
    ///
    /// With `claim_ahead` (a batch size), the next batch is claimed as soon as every item of
    /// this one has started, and prepared as soon as every one has ended (its matching must
    /// see the relations this batch created), while this batch's last items and completion
    /// run: the store's claim and the matching no longer stand between two batches. It is
    /// returned for the caller to run or give back; `None` when nothing was claimable.
    async fn run_batch(
        &self,
        batch: Prepared,
        context: &RunContext,
        report: &Mutex<RunReport>,
        concurrency: usize,
        claim_ahead: Option<usize>,
    ) -> (
        Result<(), EngineError>,
        Result<Option<Prepared>, EngineError>,
    ) {
        let Prepared {
            items,
            changes,
            claimed_at,
        } = batch;
        let half_lease = self.inner.options.lease / 2;
        let (finished_tx, mut finished_rx) = tokio::sync::mpsc::unbounded_channel();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        // The items and their completions are two futures polled side by side. Awaiting a
        // completion while items wait unpolled (as this loop once did) let a store that
        // hands its connections to waiters in turn (the SQLite pool's semaphore, a
        // PostgreSQL pool) grant one to such an item, which then held it while the
        // completion waited for it: the run hung for good once a batch held more than
        // `COMPLETE_CHUNK` items.
        let run = async move {
            // The item stream tells the next batch's claim when it has handed out its last
            // item (every item has started).
            let mut started_tx = Some(started_tx);
            let mut results = futures::stream::iter(
                items
                    .into_iter()
                    .zip(changes)
                    .map(Some)
                    .chain(std::iter::once(None)),
            )
            .filter_map(|next| {
                if next.is_none()
                    && let Some(started) = started_tx.take()
                {
                    let _ = started.send(());
                }
                std::future::ready(next)
            })
            .map(|(item, change)| async move { self.run_item(item, change, context, report).await })
            .buffer_unordered(concurrency);
            let mut first_error: Option<EngineError> = None;
            while let Some(result) = results.next().await {
                match result {
                    Ok(Some(finished)) => {
                        // The receiver lives as long as this future (`try_join` below).
                        let _ = finished_tx.send(finished);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            let _ = ended_tx.send(());
            Ok::<_, EngineError>(first_error)
        };
        let complete = async {
            let mut chunk: Vec<FinishedItem> = Vec::new();
            while let Some(finished) = finished_rx.recv().await {
                chunk.push(finished);
                if chunk.len() >= COMPLETE_CHUNK || claimed_at.elapsed() >= half_lease {
                    self.complete_all(&mut chunk).await?;
                }
            }
            self.complete_all(&mut chunk).await
        };
        let this_batch = async {
            let (first_error, ()) = futures::future::try_join(run, complete).await?;
            match first_error {
                Some(e) => Err(e),
                None => Ok(()),
            }
        };
        let next_batch = async {
            let Some(limit) = claim_ahead else {
                return Ok(None);
            };
            // A dropped sender means this batch stopped early (a failed completion).
            if started_rx.await.is_err() || self.breaker_open(self.now()).is_some() {
                return Ok(None);
            }
            let claimed_at = tokio::time::Instant::now();
            let items = self.claim(limit).await?;
            if items.is_empty() {
                return Ok(None);
            }
            if ended_rx.await.is_err() {
                // Not prepared: given back by the caller, which stops on this batch's error.
                return Ok(Some(Prepared::unprepared(items)));
            }
            self.prepare(items, claimed_at, context).await.map(Some)
        };
        futures::future::join(this_batch, next_batch).await
    }

    /// Records the Done items of `finished` (with their outbox events) in one store batch and
    /// empties it. When the batch is refused (a lease was lost to another worker meanwhile),
    /// each item is recorded on its own, so the others still finish and the lost one is
    /// reported as before.
    async fn complete_all(&self, finished: &mut Vec<FinishedItem>) -> Result<(), EngineError> {
        if finished.is_empty() {
            return Ok(());
        }
        let store = &self.inner.store;
        let now = self.now();
        let batch = std::mem::take(finished);
        match store.finish_batch(batch.clone(), now).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_conflict() || e.is_not_found() => {
                tracing::warn!(error = %e, "completing a batch refused; completing one by one");
                let mut first_error = None;
                for one in batch {
                    let audit = one.audit.clone();
                    if let Err(e) = store.finish_batch(vec![one], now).await {
                        self.audit_apart(audit).await;
                        first_error.get_or_insert(e);
                    }
                }
                match first_error {
                    Some(e) => Err(e.into()),
                    None => Ok(()),
                }
            }
            Err(e) => {
                self.audit_apart(batch.into_iter().flat_map(|f| f.audit).collect())
                    .await;
                Err(e.into())
            }
        }
    }

    /// Appends audit entries whose outcome was not recorded (a lost lease, a store failure):
    /// the writes they describe happened all the same. Failures are logged, as for any audit
    /// entry.
    async fn audit_apart(&self, audit: Vec<crate::store::AuditEntry>) {
        for entry in audit {
            if let Err(e) = self.inner.store.append_audit(entry).await {
                tracing::warn!(error = %e, "could not write the audit log");
            }
        }
    }

    /// Handles one claimed item and records its outcome with the events it produced; a Done
    /// item's outcome comes back for the caller to record in a batch.
    async fn run_item(
        &self,
        item: WorkItem,
        change: Option<Decoded>,
        context: &RunContext,
        report: &Mutex<RunReport>,
    ) -> Result<Option<FinishedItem>, EngineError> {
        let span = tracing::info_span!(
            "sync.item",
            kind = item.kind.as_str(),
            crm_id = %item.crm_id,
            op = %item.operation,
            attempt = item.attempts
        );
        // A panic while handling one record (a bug, or input nobody foresaw) fails that record
        // with the panic's message and lets the rest of the batch, and every later run, go on;
        // without this the item would be claimed again after its lease and panic again.
        // The events the handling tells the sink are collected, not delivered: they are
        // stored with the item's outcome below and delivered from the outbox.
        // Boxed: the handling's state machine (every entity's create-once protocol and the
        // client calls inside it) is about 45 KB, and unboxed it was copied whole each time
        // the item's future moved (into the batch's `buffer_unordered`, into `collect`):
        // about a tenth of sync_bench's CPU went to those copies and the allocator's work
        // for them. Boxed, the item's future is small and the handling is allocated once.
        let handling: std::pin::Pin<Box<_>> = Box::pin(
            std::panic::AssertUnwindSafe(self.handle(&item, change, context)).catch_unwind(),
        );
        let (result, produced) = outbox::collect(handling).instrument(span.clone()).await;
        let outbox::Produced { mut events, audit } = produced;
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                ItemResult::Fail(
                    FailureKind::Permanent
                        .error(format!(
                            "internal error while handling this record ({what}); the other \
                             records went on. Please report it with the record"
                        ))
                        .with_code("PANIC"),
                )
            }
        };
        let _enter = span.enter();
        let token = item.lease();
        let (outcome, action) = match result {
            ItemResult::Done(action) => (ItemOutcome::Done, action),
            ItemResult::Review {
                reasons,
                candidates,
                detail,
            } => {
                events.push(SinkEvent::ReviewNeeded {
                    kind: item.kind,
                    crm_id: item.crm_id.clone(),
                    reasons,
                    candidates,
                });
                (ItemOutcome::NeedsReview(detail), Action::Review)
            }
            ItemResult::Fail(error) => {
                tracing::warn!(reason = %error.message, "item failed");
                events.push(SinkEvent::Failed {
                    kind: item.kind,
                    crm_id: item.crm_id.clone(),
                    reason: error.message.clone(),
                    fields: error.field_paths(),
                });
                (ItemOutcome::Failed(error), Action::Failed)
            }
            ItemResult::Retry { at, error } => {
                tracing::debug!(reason = %error.message, %at, "item deferred");
                (ItemOutcome::Retry { at, error }, Action::Deferred)
            }
        };
        let parks = matches!(
            outcome,
            ItemOutcome::Failed(_) | ItemOutcome::NeedsReview(_)
        );
        let finished =
            FinishedItem::new(token, outcome, outbox::entries(&item, events)).with_audit(audit);
        let mut to_complete = None;
        if action == Action::Deferred || parks {
            let audit = finished.audit.clone();
            if let Err(e) = self
                .inner
                .store
                .finish_batch(vec![finished], self.now())
                .await
            {
                self.audit_apart(audit).await;
                return Err(e.into());
            }
            if parks {
                self.park(&item).await;
            }
        } else {
            to_complete = Some(finished);
        }
        metrics::counter!("sync_items_total", "kind" => item.kind.as_str(), "action" => action.as_str())
            .increment(1);
        report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(item.kind, action);
        Ok(to_complete)
    }

    async fn handle(
        &self,
        item: &WorkItem,
        change: Option<Decoded>,
        context: &RunContext,
    ) -> ItemResult {
        let Some(change) = change else {
            return self.handle_attachment(item, context).await;
        };
        let change = match change {
            Ok(c) => c,
            Err(e) => {
                return ItemResult::Fail(FailureKind::Permanent.error(format!(
                    "work item {} holds an unreadable change: {e}",
                    item.id
                )));
            }
        };
        // What the mapping's policies changed in this record, told to the CRM once the record
        // is written (pure and cheap, so computed before the handler consumes the change).
        let config = &self.inner.config;
        let notices = match &change {
            CrmChange::Relation(r) => mapping::notices::relation(r, config),
            CrmChange::Project(p) => mapping::notices::project(p, config),
            CrmChange::SalesInvoice(i) => mapping::notices::sales_invoice(i, config),
            CrmChange::PurchaseInvoice(i) => mapping::notices::purchase_invoice(i, config),
            _ => Vec::new(),
        };
        let outcome = match change {
            CrmChange::Relation(relation) => {
                relations::upsert(self, item, context, &relation).await
            }
            CrmChange::RelationArchived(id) => relations::archive(self, item, id.as_str()).await,
            CrmChange::Project(project) => projects::upsert(self, item, context, &project).await,
            CrmChange::SalesInvoice(invoice) => {
                bookings::upsert_sales(self, item, context, &invoice).await
            }
            CrmChange::PurchaseInvoice(invoice) => {
                bookings::upsert_purchase(self, item, context, &invoice).await
            }
            CrmChange::Refused(refused) => Ok(intake::refusal_failure(&refused)),
        };
        match outcome {
            Ok(result) => {
                if let ItemResult::Done(Action::Created | Action::Updated | Action::Linked) = result
                {
                    for notice in notices {
                        self.deliver(SinkEvent::Notice {
                            kind: item.kind,
                            crm_id: item.crm_id.clone(),
                            path: notice.path,
                            policy: notice.policy,
                            message: notice.message,
                        })
                        .await;
                    }
                }
                result
            }
            Err(relations::HandlerError::Client(e)) => self.classify(item, &e),
            Err(relations::HandlerError::Store(e)) => ItemResult::Retry {
                at: later(self.now(), self.backoff(item.attempts)),
                error: FailureKind::Transient.error(format!("store: {e}")),
            },
        }
    }

    /// Remembers which payload a failed or held item had (see `submit_after`).
    async fn park(&self, item: &WorkItem) {
        let key = parked_cursor(item.kind, &item.operation, &item.crm_id);
        let value = format!(
            "{} {}",
            crate::hash::payload_hash(&item.payload),
            item.id.get()
        );
        let store = &self.inner.store;
        let result = async {
            let current = store.state(&self.inner.admin, &key).await?;
            store
                .put_state(
                    &self.inner.admin,
                    &key,
                    current.as_deref(),
                    &value,
                    self.now(),
                )
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "could not park the item's payload hash");
        }
    }
}

/// A claimed item's change as decoded from its payload (the decoder's message when it is
/// unreadable).
type Decoded = Result<CrmChange, String>;

/// A claimed batch with its changes decoded and its relations matched.
struct Prepared {
    items: Vec<WorkItem>,
    changes: Vec<Option<Decoded>>,
    /// When the batch was claimed (its leases run from then).
    claimed_at: tokio::time::Instant,
}

impl Prepared {
    /// A claimed batch that will only be given back.
    fn unprepared(items: Vec<WorkItem>) -> Self {
        Prepared {
            changes: Vec::new(),
            items,
            claimed_at: tokio::time::Instant::now(),
        }
    }
}

/// Decodes an item's change; `None` for an attachment, whose payload is not a change.
fn decode_change(item: &WorkItem) -> Option<Decoded> {
    (item.kind != EntityKind::Attachment).then(|| {
        item.payload
            .decode::<CrmChange>()
            .map_err(|e| e.message().to_owned())
    })
}

/// The instants of [`StateKey::BudgetSpent`]'s value (Unix milliseconds); unreadable text
/// reads as none (the budget then starts empty, as it did before it was kept).
fn budget_times(text: &str) -> Vec<DateTime<Utc>> {
    serde_json::from_str::<Vec<i64>>(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(DateTime::from_timestamp_millis)
        .collect()
}
