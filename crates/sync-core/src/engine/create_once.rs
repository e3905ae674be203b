//! Exactly-once creates, in one place for every entity the engine creates in SnelStart
//! (relations, cost centres, sales and purchase bookings, attachments).
//!
//! SnelStart has no idempotency key: a POST whose answer is lost may or may not have created
//! the record, and repeating it blindly makes a duplicate. Every entity therefore carries a
//! *natural key* SnelStart can be searched by (relatiecode or the `[crm:…]` memo marker,
//! kostenplaats nummer, factuurnummer, document file name on its booking), and this driver
//! runs the one protocol (see `docs/adr/004-exactly-once.md`):
//!
//! - **Before a repeated create** (a later attempt of the item) it looks the record up by
//!   natural key: a previous attempt may have created it and lost the answer, or the process
//!   died after the POST.
//! - **Created** → audit entry with the new id; SnelStart answered.
//! - **Lost or unreadable answer** (the outcome is uncertain) → audit entry "outcome
//!   unknown", look up: found and ours → link it; not found → try again (the next attempt
//!   looks first); lookup failed → the item meets the create's error (an outage, for the
//!   breaker). A transport failure is *not* an answer: the breaker hears nothing good.
//! - **Duplicate code** (REL-0008, KPL-0008, BOE-0021) → SnelStart answered; audit entry;
//!   look up: ours → link it; somebody else's → the record fails naming its key.
//! - **Any other error** → audit entry; the engine classifies it (outage, rate limit, or the
//!   record's problem).
//!
//! What an entity adds is small: [`CreateOnce`] says how to create, how to find by natural
//! key, whether a found record is ours, and which error code means "already exists".

use snelstart_client::error::KnownCode;
use uuid::Uuid;

use super::ItemResult;
use super::handler::HandlerCtx;
use super::relations::HandlerError;
use crate::crm::CrmSink;
use crate::error::{FailureKind, stored_from_client};
use crate::store::{EntityKind, Store, StoredError};

/// One entity's part of the exactly-once create protocol.
pub(crate) trait CreateOnce {
    /// The SnelStart record as created or found.
    type Record: Send;

    /// The entity kind (for the audit log).
    fn kind(&self) -> EntityKind;
    /// The CRM id of the link (for the audit log).
    fn crm_id(&self) -> &str;
    /// A short, secret-free description of the create call, with its natural key.
    fn summary(&self) -> String;
    /// The code SnelStart answers when the natural key is taken, if it has one.
    fn duplicate_code(&self) -> Option<KnownCode>;
    /// The SnelStart id of a record.
    fn id(record: &Self::Record) -> Option<Uuid>;

    /// Creates the record. `Ok(None)`: SnelStart answered success without the record (or
    /// without its id); the driver finds it by natural key.
    async fn create<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Self::Record>, snelstart_client::Error>;

    /// The record SnelStart holds under this natural key, if any.
    async fn find<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
    ) -> Result<Option<Self::Record>, snelstart_client::Error>;

    /// Whether a record found by natural key is ours to link; `Err(why)` names the key and
    /// the owner when it is somebody else's.
    async fn is_ours<S: Store, Snk: CrmSink>(
        &self,
        cx: &HandlerCtx<'_, S, Snk>,
        found: &Self::Record,
    ) -> Result<Result<(), StoredError>, HandlerError>;

    /// An answer of SnelStart that refuses this record for good, with the failure to store
    /// (for example a 404 for an attachment whose booking is gone).
    fn refusal(&self, _error: &snelstart_client::Error) -> Option<StoredError> {
        None
    }
}

/// How a create ended.
#[derive(Debug)]
pub(crate) enum Outcome<R> {
    /// This call created it.
    Created(R),
    /// Found by natural key and ours: `created` when one of our creates made it (a lost
    /// answer), not when it was there before us (a duplicate code on a first try).
    Found { record: R, created: bool },
    /// The item's result without a link: the key belongs to somebody else, or the outcome
    /// is still unknown and the item runs again soon.
    Finished(ItemResult),
}

/// Looks for the record a previous attempt may have created (call it before creating again,
/// on every attempt after the first). `None`: not there, go on and create.
pub(crate) async fn recover<E: CreateOnce, S: Store, Snk: CrmSink>(
    cx: &HandlerCtx<'_, S, Snk>,
    entity: &E,
) -> Result<Option<Outcome<E::Record>>, HandlerError> {
    match find(cx, entity).await? {
        Some(record) => Ok(Some(link_if_ours(cx, entity, record, true).await?)),
        None => Ok(None),
    }
}

/// Creates the record exactly once (see the module docs).
pub(crate) async fn create<E: CreateOnce, S: Store, Snk: CrmSink>(
    cx: &HandlerCtx<'_, S, Snk>,
    entity: &E,
) -> Result<Outcome<E::Record>, HandlerError> {
    let summary = entity.summary();
    let audit = |id: Option<Uuid>, outcome: Result<(), String>| {
        cx.audit(
            entity.kind(),
            entity.crm_id(),
            id,
            "create",
            summary.clone(),
            outcome,
        )
    };
    match entity.create(cx).await {
        Ok(Some(record)) if E::id(&record).is_some() => {
            cx.record_success();
            audit(E::id(&record), Ok(())).await;
            Ok(Outcome::Created(record))
        }
        Ok(_) => {
            cx.record_success();
            audit(None, Err("answered without an id".into())).await;
            // It was created: find it by natural key, as after a lost answer.
            match find(cx, entity).await? {
                Some(record) => link_if_ours(cx, entity, record, true).await,
                None => Ok(Outcome::Finished(ItemResult::Retry {
                    at: cx.now(),
                    error: FailureKind::Uncertain.error(format!(
                        "{} was created without an id and is not listed yet",
                        entity.summary()
                    )),
                })),
            }
        }
        Err(e) if entity.duplicate_code().is_some_and(|code| e.has_code(code)) => {
            cx.record_success();
            audit(None, Err(e.to_string())).await;
            // There before this call: our own earlier attempt, or somebody else's record.
            match find(cx, entity).await? {
                Some(record) => link_if_ours(cx, entity, record, false).await,
                // Gone again meanwhile: the record's problem as SnelStart stated it.
                None => Err(HandlerError::Client(e)),
            }
        }
        Err(e) if e.outcome_uncertain() => {
            // No answer is no evidence that SnelStart is up: the breaker hears nothing here.
            audit(None, Err(format!("outcome unknown: {e}"))).await;
            match find(cx, entity).await {
                Ok(Some(record)) => link_if_ours(cx, entity, record, true).await,
                // Not created after all: the next attempt looks again, then creates.
                Ok(None) => Ok(Outcome::Finished(ItemResult::Retry {
                    at: cx.now(),
                    error: stored_from_client(FailureKind::Uncertain, &e),
                })),
                // SnelStart cannot be asked now; the next attempt starts with the lookup.
                Err(_) => Err(HandlerError::Client(e)),
            }
        }
        Err(e) => {
            audit(None, Err(e.to_string())).await;
            match entity.refusal(&e) {
                Some(refused) => {
                    cx.record_success();
                    Ok(Outcome::Finished(ItemResult::Fail(refused)))
                }
                None => Err(HandlerError::Client(e)),
            }
        }
    }
}

/// A lookup by natural key; an answer (found or not) tells the breaker SnelStart is up.
async fn find<E: CreateOnce, S: Store, Snk: CrmSink>(
    cx: &HandlerCtx<'_, S, Snk>,
    entity: &E,
) -> Result<Option<E::Record>, snelstart_client::Error> {
    let found = entity.find(cx).await?;
    cx.record_success();
    Ok(found)
}

async fn link_if_ours<E: CreateOnce, S: Store, Snk: CrmSink>(
    cx: &HandlerCtx<'_, S, Snk>,
    entity: &E,
    record: E::Record,
    created: bool,
) -> Result<Outcome<E::Record>, HandlerError> {
    match entity.is_ours(cx, &record).await? {
        Ok(()) => Ok(Outcome::Found { record, created }),
        Err(why) => Ok(Outcome::Finished(ItemResult::Fail(why))),
    }
}
