//! Leases on administrations: which worker process serves an administration right now.
//!
//! A fleet worker ([`crate::fleet::Fleet`]) holds a renewable lease per administration it
//! serves. A lease names its holder, expires at a time the holder keeps pushing forward
//! ([`AdministrationLeases::renew_lease`]), and carries a **fencing token** (`fence`) that grows
//! by one every time the administration changes hands. When a worker dies it stops renewing,
//! its leases expire, and another worker takes the administrations over
//! ([`AdministrationLeases::acquire_lease`]) with a higher fence; the dead worker, should it
//! come back, fails its next renewal (its fence is stale) and stops.
//!
//! # Contract (checked by `registry::conformance::run_leases`)
//!
//! * At most one holder has an unexpired lease on an administration at any time; two workers
//!   acquiring at once: one wins, the other gets `None`.
//! * An expired (or released) lease can be taken by anyone, and the fence grows.
//! * Renewing succeeds only for the current holder with the current fence, while the
//!   administration is registered and not paused; otherwise it answers `None` (the lease is
//!   lost) and changes nothing.
//! * Paused and unregistered administrations cannot be leased; removing an administration
//!   removes its lease.
//! * Stores never read the clock: `now` is an argument.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::AdministrationRecord;
use crate::store::{AdminKey, StoreResult};

/// A lease on one administration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdministrationLease {
    /// The administration.
    pub admin: AdminKey,
    /// Who holds it (a worker process's id).
    pub holder: String,
    /// The fencing token: grows by one with every change of hands.
    pub fence: u64,
    /// When it expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl AdministrationLease {
    /// A lease value (for backends).
    pub fn new(
        admin: AdminKey,
        holder: impl Into<String>,
        fence: u64,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            admin,
            holder: holder.into(),
            fence,
            expires_at,
        }
    }
}

/// `now + ttl`, saturating.
pub fn lease_expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    crate::engine::later(now, ttl)
}

/// Leases on administrations, kept beside the registry. See the [module contract](self).
pub trait AdministrationLeases {
    /// Takes the lease for `holder` when the administration is registered, not paused, and
    /// nobody holds an unexpired lease on it (an expired or released one is taken over, with
    /// the next fence). `None` when it cannot be taken now.
    fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> impl Future<Output = StoreResult<Option<AdministrationLease>>> + Send;

    /// Extends `lease` to `now + ttl` when it is still the current one (same holder and fence)
    /// and the administration is registered and not paused; `None` when the lease is lost.
    fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> impl Future<Output = StoreResult<Option<AdministrationLease>>> + Send;

    /// Gives the lease up (anyone may take it at once); `false` when it was not the current
    /// one any more.
    fn release_lease(
        &self,
        lease: &AdministrationLease,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The current lease row of an administration (expired or not); `None` when it was never
    /// leased, was released, or is not registered.
    fn lease_of(
        &self,
        admin: &AdminKey,
    ) -> impl Future<Output = StoreResult<Option<AdministrationLease>>> + Send;

    /// Up to `limit` registered, unpaused administrations with an id greater than `after` that
    /// nobody holds an unexpired lease on at `now`, ascending by id.
    fn leasable_administrations(
        &self,
        now: DateTime<Utc>,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<AdministrationRecord>>> + Send;
}
