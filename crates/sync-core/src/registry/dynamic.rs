//! [`DynRegistry`]: one registry type for hosts that choose the backend at run time, as
//! [`DynStore`](crate::store::DynStore) is for stores (see there for why and what it costs).

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::{
    AdministrationLease, AdministrationLeases, AdministrationRecord, AdministrationRegistry,
};
use crate::keys::{KeyId, SealedSecret};
use crate::store::{AdminKey, StoreResult};

/// A registry chosen at run time: any [`AdministrationRegistry`] with
/// [`AdministrationLeases`] behind one type, for the onboarding service and the
/// [fleet](crate::fleet::Fleet).
///
/// Clones share the registry inside (an `Arc`). Every call goes to the registry inside, at
/// the price of one heap allocation (the boxed future) per call.
///
/// ```
/// use sync_core::registry::{AdministrationRegistry, DynRegistry, MemoryRegistry};
/// use sync_core::store::AdminKey;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let registry = DynRegistry::new(MemoryRegistry::new());
/// assert!(registry.administration(&AdminKey::new("a")).await?.is_none());
/// # Ok::<(), sync_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct DynRegistry {
    inner: Arc<dyn ObjectRegistry>,
}

impl DynRegistry {
    /// Wraps `registry`. Wrapping a `DynRegistry` again returns it as it is.
    pub fn new<R>(registry: R) -> Self
    where
        R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    {
        let any: &dyn Any = &registry;
        if let Some(already) = any.downcast_ref::<DynRegistry>() {
            return already.clone();
        }
        Self {
            inner: Arc::new(registry),
        }
    }

    /// The registry inside, when it is an `R`.
    pub fn downcast_ref<R>(&self) -> Option<&R>
    where
        R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
    {
        self.inner.as_any().downcast_ref::<R>()
    }

    /// The type name of the registry inside (for logs; not a stable identifier).
    pub fn backend_name(&self) -> &'static str {
        self.inner.type_name()
    }
}

impl fmt::Debug for DynRegistry {
    /// Names the backend's type only (nothing of a record, let alone a sealed key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DynRegistry")
            .field(&format_args!("{}", self.backend_name()))
            .finish()
    }
}

/// [`AdministrationRegistry`] and [`AdministrationLeases`] as one dyn-compatible trait, each
/// method returning a boxed future. Private, like the store's.
trait ObjectRegistry: Send + Sync + 'static {
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;

    // AdministrationRegistry
    fn register(&self, record: AdministrationRecord) -> BoxFuture<'_, StoreResult<()>>;
    fn administration<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationRecord>>>;
    fn administrations_by_reference<'a>(
        &'a self,
        reference_key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>>;
    fn list_administrations<'a>(
        &'a self,
        after: Option<&'a AdminKey>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>>;
    fn replace_key<'a>(
        &'a self,
        admin: &'a AdminKey,
        expected: &'a SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn set_paused<'a>(
        &'a self,
        admin: &'a AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn remove_administration<'a>(&'a self, admin: &'a AdminKey)
    -> BoxFuture<'a, StoreResult<bool>>;
    fn sealed_under_other_keys<'a>(
        &'a self,
        current: &'a KeyId,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>>;

    // AdministrationLeases
    fn acquire_lease<'a>(
        &'a self,
        admin: &'a AdminKey,
        holder: &'a str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>>;
    fn renew_lease<'a>(
        &'a self,
        lease: &'a AdministrationLease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>>;
    fn release_lease<'a>(
        &'a self,
        lease: &'a AdministrationLease,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    fn lease_of<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>>;
    fn leasable_administrations<'a>(
        &'a self,
        now: DateTime<Utc>,
        after: Option<&'a AdminKey>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>>;
}

/// Every method names the trait it calls, so none can resolve to its own name here.
impl<R> ObjectRegistry for R
where
    R: AdministrationRegistry + AdministrationLeases + Send + Sync + 'static,
{
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<R>()
    }

    fn register(&self, record: AdministrationRecord) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(AdministrationRegistry::register(self, record))
    }

    fn administration<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationRecord>>> {
        Box::pin(AdministrationRegistry::administration(self, admin))
    }

    fn administrations_by_reference<'a>(
        &'a self,
        reference_key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>> {
        Box::pin(AdministrationRegistry::administrations_by_reference(
            self,
            reference_key,
        ))
    }

    fn list_administrations<'a>(
        &'a self,
        after: Option<&'a AdminKey>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>> {
        Box::pin(AdministrationRegistry::list_administrations(
            self, after, limit,
        ))
    }

    fn replace_key<'a>(
        &'a self,
        admin: &'a AdminKey,
        expected: &'a SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(AdministrationRegistry::replace_key(
            self, admin, expected, new, now,
        ))
    }

    fn set_paused<'a>(
        &'a self,
        admin: &'a AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(AdministrationRegistry::set_paused(self, admin, paused, now))
    }

    fn remove_administration<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(AdministrationRegistry::remove_administration(self, admin))
    }

    fn sealed_under_other_keys<'a>(
        &'a self,
        current: &'a KeyId,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>> {
        Box::pin(AdministrationRegistry::sealed_under_other_keys(
            self, current, limit,
        ))
    }

    fn acquire_lease<'a>(
        &'a self,
        admin: &'a AdminKey,
        holder: &'a str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>> {
        Box::pin(AdministrationLeases::acquire_lease(
            self, admin, holder, now, ttl,
        ))
    }

    fn renew_lease<'a>(
        &'a self,
        lease: &'a AdministrationLease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>> {
        Box::pin(AdministrationLeases::renew_lease(self, lease, now, ttl))
    }

    fn release_lease<'a>(
        &'a self,
        lease: &'a AdministrationLease,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(AdministrationLeases::release_lease(self, lease))
    }

    fn lease_of<'a>(
        &'a self,
        admin: &'a AdminKey,
    ) -> BoxFuture<'a, StoreResult<Option<AdministrationLease>>> {
        Box::pin(AdministrationLeases::lease_of(self, admin))
    }

    fn leasable_administrations<'a>(
        &'a self,
        now: DateTime<Utc>,
        after: Option<&'a AdminKey>,
        limit: usize,
    ) -> BoxFuture<'a, StoreResult<Vec<AdministrationRecord>>> {
        Box::pin(AdministrationLeases::leasable_administrations(
            self, now, after, limit,
        ))
    }
}

impl AdministrationRegistry for DynRegistry {
    async fn register(&self, record: AdministrationRecord) -> StoreResult<()> {
        self.inner.register(record).await
    }

    async fn administration(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationRecord>> {
        self.inner.administration(admin).await
    }

    async fn administrations_by_reference(
        &self,
        reference_key: &str,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.inner.administrations_by_reference(reference_key).await
    }

    async fn list_administrations(
        &self,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.inner.list_administrations(after, limit).await
    }

    async fn replace_key(
        &self,
        admin: &AdminKey,
        expected: &SealedSecret,
        new: SealedSecret,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.replace_key(admin, expected, new, now).await
    }

    async fn set_paused(
        &self,
        admin: &AdminKey,
        paused: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.set_paused(admin, paused, now).await
    }

    async fn remove_administration(&self, admin: &AdminKey) -> StoreResult<bool> {
        self.inner.remove_administration(admin).await
    }

    async fn sealed_under_other_keys(
        &self,
        current: &KeyId,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.inner.sealed_under_other_keys(current, limit).await
    }
}

impl AdministrationLeases for DynRegistry {
    async fn acquire_lease(
        &self,
        admin: &AdminKey,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        self.inner.acquire_lease(admin, holder, now, ttl).await
    }

    async fn renew_lease(
        &self,
        lease: &AdministrationLease,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Option<AdministrationLease>> {
        self.inner.renew_lease(lease, now, ttl).await
    }

    async fn release_lease(&self, lease: &AdministrationLease) -> StoreResult<bool> {
        self.inner.release_lease(lease).await
    }

    async fn lease_of(&self, admin: &AdminKey) -> StoreResult<Option<AdministrationLease>> {
        self.inner.lease_of(admin).await
    }

    async fn leasable_administrations(
        &self,
        now: DateTime<Utc>,
        after: Option<&AdminKey>,
        limit: usize,
    ) -> StoreResult<Vec<AdministrationRecord>> {
        self.inner.leasable_administrations(now, after, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::MemoryRegistry;

    #[test]
    fn wrapping_twice_adds_no_layer_and_debug_names_the_type() {
        let once = DynRegistry::new(MemoryRegistry::new());
        let twice = DynRegistry::new(once.clone());
        assert!(Arc::ptr_eq(&once.inner, &twice.inner));
        assert!(twice.downcast_ref::<MemoryRegistry>().is_some());
        assert_eq!(
            format!("{twice:?}"),
            "DynRegistry(sync_core::registry::MemoryRegistry)"
        );
    }
}
