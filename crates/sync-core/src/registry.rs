//! The administrations registry: which SnelStart administrations this installation serves,
//! each with its koppelsleutel sealed at rest ([`crate::keys`]).
//!
//! A row is written when a customer couples an administration (the onboarding webhook's
//! `Create`), its sealed key is replaced on `Regenerate` and on master-key rotation
//! ([`reseal_all`]), and the row (and with it the key) is deleted on `Delete`. Backends:
//! [`MemoryRegistry`] here, `SqliteRegistry` in `sync-store-sqlite`, `PostgresRegistry` in
//! `sync-store-postgres`; each passes `registry::conformance` (feature `test-util`).
//! [`DynRegistry`] holds any of them behind one type, for a host that picks the backend at
//! run time (as [`DynStore`](crate::store::DynStore) does for stores).
//!
//! # Contract
//!
//! * An administration is registered once: [`AdministrationRegistry::register`] of an existing
//!   one is a `Conflict` and changes nothing.
//! * [`AdministrationRegistry::replace_key`] is a compare-and-swap on the sealed key, so two
//!   workers resealing (or a reseal racing a Regenerate) never overwrite a newer key with an
//!   older one.
//! * Listing pages in ascending byte order of the administration id (keyset, like links).
//! * Removing deletes the row: the sealed key is gone from the store.
//! * Stores never read the clock: `now` is an argument.

#[cfg(feature = "test-util")]
pub mod conformance;
mod dynamic;
pub mod leases;

pub use dynamic::DynRegistry;
pub use leases::{AdministrationLease, AdministrationLeases};

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::keys::{KeyError, KeyId, KeyProvider, SealedSecret, Sealer};
use crate::store::{AdminKey, StoreError, StoreResult};

/// One coupled administration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdministrationRecord {
    /// The administration (SnelStart's `administratieIdentifier`).
    pub admin: AdminKey,
    /// Its koppelsleutel, sealed. `Debug` shows the master key id only.
    pub sealed_key: SealedSecret,
    /// The `ReferenceKey` the coupling came with (the host's own context, e.g. its customer
    /// number; at most 500 characters per SnelStart).
    pub reference_key: String,
    /// The name of the mapping configuration the administration syncs with.
    pub mapping_config: String,
    /// Paused administrations are not synced.
    pub paused: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl AdministrationRecord {
    /// A new, unpaused administration registered at `now`.
    pub fn new(
        admin: AdminKey,
        sealed_key: SealedSecret,
        reference_key: impl Into<String>,
        mapping_config: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            admin,
            sealed_key,
            reference_key: reference_key.into(),
            mapping_config: mapping_config.into(),
            paused: false,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Where coupled administrations and their sealed koppelsleutels live. See the
/// [module contract](self).
pub trait AdministrationRegistry {
    /// Adds an administration; `Conflict` when it is already registered.
    fn register(
        &self,
        record: AdministrationRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// One administration.
    fn administration(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<Option<AdministrationRecord>>> + Send;

    /// The administrations coupled with this reference key, by administration id.
    fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> impl Future<Output = StoreResult<Vec<AdministrationRecord>>> + Send;

    /// Up to `limit` administrations with an id greater than `after`, ascending.
    fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AdministrationRecord>>> + Send;

    /// Replaces the sealed key when the stored one equals `expected`: `Conflict` otherwise,
    /// `NotFound` when the administration is not registered.
    fn replace_key(
        &self,
        admin: &AdminKey,
        expected: &SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Pauses or resumes; `NotFound` when not registered.
    fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Deletes the administration and its sealed key; `true` when it existed.
    fn remove_administration(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Up to `limit` administrations whose key is sealed under another master key than
    /// `current` (the work left for a rotation), by administration id.
    fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AdministrationRecord>>> + Send;
}

/// Why a rotation sweep stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key could not be opened (its master key is missing, or it does not
    /// authenticate); it names the administration.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Reseals every stored koppelsleutel under the current master key, `batch` at a time, while
/// workers keep running; returns how many were resealed. A key replaced meanwhile by someone
/// else (another sweep, a Regenerate) is left as they wrote it. Run it after adding a new
/// current master key and before retiring the old one.
pub async fn reseal_all<R, P>(
    registry: &R,
    sealer: &Sealer<P>,
    now: DateTime<Utc>,
    batch: usize,
) -> Result<u64, RotationError>
where
    R: AdministrationRegistry + Sync,
    P: KeyProvider,
{
    let current = sealer.provider().current().id().clone();
    let mut resealed = 0;
    // Bounded: each round either reseals, or skips records someone else just changed; a
    // record can only be skipped again if it is changed again, so cap the rounds.
    let batch = batch.max(1);
    let mut last_seen: Option<Vec<AdminKey>> = None;
    loop {
        let page = registry.sealed_under_other_keys(&current, batch).await?;
        if page.is_empty() {
            return Ok(resealed);
        }
        let ids: Vec<AdminKey> = page.iter().map(|r| r.admin.clone()).collect();
        if last_seen.as_ref() == Some(&ids) {
            // The same records twice in a row and none resealed: they keep losing races;
            // stop rather than spin (the next sweep picks them up).
            return Ok(resealed);
        }
        let mut progressed = false;
        for record in page {
            let Some(new) = sealer.reseal(&record.admin, &record.sealed_key)? else {
                continue;
            };
            match registry
                .replace_key(&record.admin, &record.sealed_key, new, now)
                .await
            {
                Ok(()) => {
                    resealed += 1;
                    progressed = true;
                }
                Err(e) if e.is_conflict() || e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        last_seen = if progressed { None } else { Some(ids) };
    }
}

/// An in-memory [`AdministrationRegistry`] for tests and short-lived tools. Clones share
/// state.
#[derive(Clone, Debug, Default)]
pub struct MemoryRegistry {
    records: Arc<Mutex<BTreeMap<String, AdministrationRecord>>>,
    /// Per administration: the holder (`None` once released), the fence and the expiry.
    leases: Arc<Mutex<BTreeMap<String, MemoryLease>>>,
}

#[derive(Clone, Debug)]
struct MemoryLease {
    holder: Option<String>,
    fence: u64,
    expires_at: DateTime<Utc>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, AdministrationRecord>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut records = self
            .records
            .lock()
            .map_err(|_| StoreError::backend("memory registry lock poisoned"))?;
        f(&mut records)
    }
}

fn not_registered(admin: &AdminKey) -> StoreError {
    StoreError::not_found(format!("administration {admin:?} is not registered"))
}

impl AdministrationRegistry for MemoryRegistry {
    async fn register(&self, record: AdministrationRecord) -> StoreResult<()> {
        self.with(|records| {
            let key = record.admin.as_str().to_owned();
            if records.contains_key(&key) {
                return Err(StoreError::conflict(format!(
                    "administration {:?} is already registered",
                    record.admin
                )));
            }
            records.insert(key, record);
            Ok(())
        })
    }

    async fn administration(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationRecord>> {
        self.with(|records| Ok(records.get(admin.as_str()).cloned()))
    }

    async fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.with(|records| {
            Ok(records
                .values()
                .filter(|r| r.reference_key == reference_key)
                .cloned()
                .collect())
        })
    }

    async fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.with(|records| {
            Ok(records
                .iter()
                .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a.as_str()))
                .take(limit)
                .map(|(_, r)| r.clone())
                .collect())
        })
    }

    async fn replace_key(
        &self,
        admin: &AdminKey,
        expected: &SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|records| {
            let record = records
                .get_mut(admin.as_str())
                .ok_or_else(|| not_registered(admin))?;
            if &record.sealed_key != expected {
                return Err(StoreError::conflict(format!(
                    "the key of administration {admin:?} changed meanwhile (now sealed under {})",
                    record.sealed_key.key_id()
                )));
            }
            record.sealed_key = new;
            record.updated_at = now;
            Ok(())
        })
    }

    async fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.with(|records| {
            let record = records
                .get_mut(admin.as_str())
                .ok_or_else(|| not_registered(admin))?;
            record.paused = paused;
            record.updated_at = now;
            Ok(())
        })
    }

    async fn remove_administration(&self, admin: &AdminKey) -> StoreResult<bool> {
        self.with(|records| {
            self.with_leases(|leases| {
                leases.remove(admin.as_str());
                Ok(())
            })?;
            Ok(records.remove(admin.as_str()).is_some())
        })
    }

    async fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.with(|records| {
            Ok(records
                .values()
                .filter(|r| r.sealed_key.key_id() != current)
                .take(limit)
                .cloned()
                .collect())
        })
    }
}

impl MemoryRegistry {
    fn with_leases<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, MemoryLease>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut leases = self
            .leases
            .lock()
            .map_err(|_| StoreError::backend("memory registry lock poisoned"))?;
        f(&mut leases)
    }
}

impl AdministrationLeases for MemoryRegistry {
    async fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        // Lock order: records, then leases (as everywhere in this type).
        self.with(|records| {
            if records.get(admin.as_str()).is_none_or(|r| r.paused) {
                return Ok(None);
            }
            self.with_leases(|leases| {
                let expires_at = leases::lease_expiry(now, ttl);
                let entry = leases.entry(admin.as_str().to_owned());
                let fence = match entry {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(MemoryLease {
                            holder: Some(holder.to_owned()),
                            fence: 1,
                            expires_at,
                        });
                        1
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => {
                        let lease = o.get_mut();
                        if lease.holder.is_some() && lease.expires_at > now {
                            return Ok(None);
                        }
                        lease.holder = Some(holder.to_owned());
                        lease.fence += 1;
                        lease.expires_at = expires_at;
                        lease.fence
                    }
                };
                Ok(Some(AdministrationLease::new(
                    admin.clone(),
                    holder,
                    fence,
                    expires_at,
                )))
            })
        })
    }

    async fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        self.with(|records| {
            if records.get(lease.admin.as_str()).is_none_or(|r| r.paused) {
                return Ok(None);
            }
            self.with_leases(|leases| {
                let Some(current) = leases.get_mut(lease.admin.as_str()) else {
                    return Ok(None);
                };
                if current.holder.as_deref() != Some(lease.holder.as_str())
                    || current.fence != lease.fence
                {
                    return Ok(None);
                }
                current.expires_at = leases::lease_expiry(now, ttl);
                let mut renewed = lease.clone();
                renewed.expires_at = current.expires_at;
                Ok(Some(renewed))
            })
        })
    }

    async fn release_lease(&self, lease: &AdministrationLease) -> StoreResult<bool> {
        self.with_leases(|leases| {
            let Some(current) = leases.get_mut(lease.admin.as_str()) else {
                return Ok(false);
            };
            if current.holder.as_deref() != Some(lease.holder.as_str())
                || current.fence != lease.fence
            {
                return Ok(false);
            }
            current.holder = None;
            Ok(true)
        })
    }

    async fn lease_of(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationLease>> {
        self.with_leases(|leases| {
            Ok(leases.get(admin.as_str()).and_then(|l| {
                l.holder.as_ref().map(|holder| {
                    AdministrationLease::new(admin.clone(), holder.clone(), l.fence, l.expires_at)
                })
            }))
        })
    }

    async fn leasable_administrations(
        &self,
        now: DateTime<Utc>,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.with(|records| {
            self.with_leases(|leases| {
                Ok(records
                    .iter()
                    .filter(|(k, r)| {
                        after.is_none_or(|a| k.as_str() > a.as_str())
                            && !r.paused
                            && leases
                                .get(k.as_str())
                                .is_none_or(|l| l.holder.is_none() || l.expires_at <= now)
                    })
                    .take(limit)
                    .map(|(_, r)| r.clone())
                    .collect())
            })
        })
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_registry_passes_conformance() {
        conformance::run_all(|| async { MemoryRegistry::new() }).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_registry_passes_lease_conformance() {
        conformance::run_leases(|| async { MemoryRegistry::new() }).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dyn_registry_over_memory_passes_conformance() {
        conformance::run_all(|| async { DynRegistry::new(MemoryRegistry::new()) }).await;
        conformance::run_leases(|| async { DynRegistry::new(MemoryRegistry::new()) }).await;
    }
}
