//! The conformance suite every [`AdministrationRegistry`] backend must pass.
//!
//! Call [`run_all`] with a factory returning a fresh, empty registry; each check gets its
//! own. Run on a multi-threaded Tokio runtime so the race check really races.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{AdministrationLeases, AdministrationRecord, AdministrationRegistry, reseal_all};
use crate::keys::{KeyId, KeyProvider, KeyRing, MasterKey, Sealer};
use crate::store::AdminKey;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 987_654_321).expect("valid fixed instant")
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn key(id: &str, byte: u8) -> MasterKey {
    MasterKey::from_bytes(KeyId::new(id).expect("key id"), [byte; 32])
}

fn sealer(current: &str) -> Sealer<KeyRing> {
    let (a, b) = (key("old", 1), key("new", 2));
    let ring = if current == "old" {
        KeyRing::new(a, [b])
    } else {
        KeyRing::new(b, [a])
    };
    Sealer::new(ring.expect("key ring"))
}

fn koppelsleutel(n: u32) -> SecretString {
    SecretString::from(format!("a29wcGVsc2xldXRlbC1{n:04}-dGVzdA=="))
}

fn record(sealer: &Sealer<KeyRing>, admin: &str, reference: &str) -> AdministrationRecord {
    let admin = AdminKey::new(admin);
    let sealed = sealer.seal(&admin, &koppelsleutel(7));
    AdministrationRecord::new(admin, sealed, reference, "standaard", t0())
}

/// Runs every check, each on a fresh registry from `make`.
pub async fn run_all<R, F, Fut>(make: F)
where
    R: AdministrationRegistry + Clone + Send + Sync + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = R>,
{
    register_and_read(make().await).await;
    register_once(make().await).await;
    listing_and_reference(make().await).await;
    replace_key_cas(make().await).await;
    pause_and_remove(make().await).await;
    rotation_sweep(make().await).await;
}

/// Every field survives the round trip; the sealed key still opens.
pub async fn register_and_read<R: AdministrationRegistry>(registry: R) {
    let sealer = sealer("old");
    let mut rec = record(&sealer, "adm-1", "klant-42");
    rec.paused = true;
    rec.updated_at = at(3);
    registry.register(rec.clone()).await.expect("register");
    let got = registry
        .administration(&AdminKey::new("adm-1"))
        .await
        .expect("read")
        .expect("registered");
    assert_eq!(got, rec, "every field round trips (nanoseconds included)");
    let opened = sealer.open(&got.admin, &got.sealed_key).expect("opens");
    assert_eq!(opened.expose_secret(), koppelsleutel(7).expose_secret());
    assert_eq!(
        registry
            .administration(&AdminKey::new("adm-2"))
            .await
            .unwrap(),
        None
    );
}

/// A second registration is a conflict and changes nothing, also when racing.
pub async fn register_once<R: AdministrationRegistry + Clone + Send + Sync + 'static>(registry: R) {
    let sealer = sealer("old");
    let first = record(&sealer, "adm-1", "ref-a");
    registry.register(first.clone()).await.unwrap();
    let err = registry
        .register(record(&sealer, "adm-1", "ref-b"))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "second registration: {err}");
    assert_eq!(
        registry
            .administration(&AdminKey::new("adm-1"))
            .await
            .unwrap()
            .map(|r| r.reference_key),
        Some("ref-a".to_owned())
    );
    let mut tasks = Vec::new();
    for n in 0..6 {
        let (registry, rec) = (
            registry.clone(),
            record(&sealer, "adm-race", &format!("r{n}")),
        );
        tasks.push(tokio::spawn(
            async move { registry.register(rec).await.is_ok() },
        ));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("task"));
    }
    assert_eq!(winners, 1, "exactly one racing registration wins");
}

/// Keyset listing by administration id; look-up by reference key.
pub async fn listing_and_reference<R: AdministrationRegistry>(registry: R) {
    let sealer = sealer("old");
    for n in 0..12 {
        let reference = if n % 3 == 0 { "groep-a" } else { "groep-b" };
        registry
            .register(record(&sealer, &format!("adm-{n:02}"), reference))
            .await
            .unwrap();
    }
    let first = registry.list_administrations(None, 5).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|r| r.admin.as_str()).collect();
    assert_eq!(ids, ["adm-00", "adm-01", "adm-02", "adm-03", "adm-04"]);
    let rest = registry
        .list_administrations(Some(&AdminKey::new("adm-04")), 100)
        .await
        .unwrap();
    assert_eq!(rest.len(), 7);
    assert_eq!(rest[0].admin.as_str(), "adm-05");
    let group: Vec<String> = registry
        .administrations_by_reference("groep-a")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.admin.as_str().to_owned())
        .collect();
    assert_eq!(group, ["adm-00", "adm-03", "adm-06", "adm-09"]);
    assert!(
        registry
            .administrations_by_reference("onbekend")
            .await
            .unwrap()
            .is_empty()
    );
}

/// `replace_key` is a compare-and-swap on the sealed key.
pub async fn replace_key_cas<R: AdministrationRegistry>(registry: R) {
    let sealer = sealer("old");
    let rec = record(&sealer, "adm-1", "r");
    registry.register(rec.clone()).await.unwrap();
    let admin = rec.admin.clone();
    let regenerated = sealer.seal(&admin, &koppelsleutel(8));
    registry
        .replace_key(&admin, &rec.sealed_key, regenerated.clone(), at(10))
        .await
        .expect("matching expected key");
    let stale = sealer.seal(&admin, &koppelsleutel(9));
    let err = registry
        .replace_key(&admin, &rec.sealed_key, stale, at(11))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale expected key: {err}");
    let got = registry.administration(&admin).await.unwrap().unwrap();
    assert_eq!(got.sealed_key, regenerated);
    assert_eq!(got.updated_at, at(10));
    assert_eq!(got.created_at, t0(), "created_at stays");
    let err = registry
        .replace_key(&AdminKey::new("nope"), &rec.sealed_key, regenerated, at(12))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "unknown administration: {err}");
}

/// Pause, resume and remove; removing deletes the key.
pub async fn pause_and_remove<R: AdministrationRegistry>(registry: R) {
    let sealer = sealer("old");
    let rec = record(&sealer, "adm-1", "r");
    registry.register(rec.clone()).await.unwrap();
    registry
        .register(record(&sealer, "adm-2", "r"))
        .await
        .unwrap();
    registry.set_paused(&rec.admin, true, at(5)).await.unwrap();
    let got = registry.administration(&rec.admin).await.unwrap().unwrap();
    assert!(got.paused);
    assert_eq!(got.updated_at, at(5));
    registry.set_paused(&rec.admin, false, at(6)).await.unwrap();
    assert!(
        !registry
            .administration(&rec.admin)
            .await
            .unwrap()
            .unwrap()
            .paused
    );
    let err = registry
        .set_paused(&AdminKey::new("nope"), true, at(7))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(registry.remove_administration(&rec.admin).await.unwrap());
    assert!(!registry.remove_administration(&rec.admin).await.unwrap());
    assert_eq!(registry.administration(&rec.admin).await.unwrap(), None);
    assert!(
        registry
            .administration(&AdminKey::new("adm-2"))
            .await
            .unwrap()
            .is_some(),
        "only that administration"
    );
}

/// A rotation sweep reseals every key under the new master key; afterwards nothing is left
/// under the old one and every key opens with the new key alone.
pub async fn rotation_sweep<R: AdministrationRegistry + Sync>(registry: R) {
    let old = sealer("old");
    for n in 0..9 {
        registry
            .register(record(&old, &format!("adm-{n}"), "r"))
            .await
            .unwrap();
    }
    let new = sealer("new");
    let current = new.provider().current().id().clone();
    assert_eq!(
        registry
            .sealed_under_other_keys(&current, 100)
            .await
            .unwrap()
            .len(),
        9
    );
    let resealed = reseal_all(&registry, &new, at(20), 4).await.expect("sweep");
    assert_eq!(resealed, 9);
    assert!(
        registry
            .sealed_under_other_keys(&current, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let only_new = Sealer::new(KeyRing::new(key("new", 2), []).unwrap());
    for rec in registry.list_administrations(None, 100).await.unwrap() {
        assert_eq!(rec.sealed_key.key_id(), &current);
        assert_eq!(rec.updated_at, at(20));
        let opened = only_new.open(&rec.admin, &rec.sealed_key).expect("opens");
        assert_eq!(opened.expose_secret(), koppelsleutel(7).expose_secret());
    }
    assert_eq!(reseal_all(&registry, &new, at(21), 4).await.unwrap(), 0);
}

const TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs every lease check (see [`super::leases`]), each on a fresh registry from `make`.
pub async fn run_leases<R, F, Fut>(make: F)
where
    R: AdministrationRegistry + AdministrationLeases + Clone + Send + Sync + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = R>,
{
    lease_is_exclusive(make().await).await;
    lease_takeover_after_expiry(make().await).await;
    lease_renew_fails_after_takeover(make().await).await;
    lease_release_and_pause(make().await).await;
    lease_listing_and_removal(make().await).await;
}

/// Two holders never hold one administration at once, also when racing.
pub async fn lease_is_exclusive<R>(registry: R)
where
    R: AdministrationRegistry + AdministrationLeases + Clone + Send + Sync + 'static,
{
    let sealer = sealer("old");
    registry
        .register(record(&sealer, "adm-1", "r"))
        .await
        .unwrap();
    let admin = AdminKey::new("adm-1");
    let a = registry
        .acquire_lease(&admin, "worker-a", at(0), TTL)
        .await
        .unwrap()
        .expect("a free administration is leased");
    assert_eq!(a.holder, "worker-a");
    assert_eq!(
        a.expires_at,
        at(30),
        "expiry is now + ttl, to the nanosecond"
    );
    assert!(
        registry
            .acquire_lease(&admin, "worker-b", at(29), TTL)
            .await
            .unwrap()
            .is_none(),
        "held and not expired: nobody else gets it"
    );
    assert_eq!(registry.lease_of(&admin).await.unwrap(), Some(a.clone()));
    assert!(
        registry
            .acquire_lease(&AdminKey::new("unknown"), "worker-b", at(0), TTL)
            .await
            .unwrap()
            .is_none(),
        "an unregistered administration cannot be leased"
    );
    // Racing workers on a fresh administration: exactly one wins.
    registry
        .register(record(&sealer, "adm-race", "r"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..6 {
        let registry = registry.clone();
        tasks.push(tokio::spawn(async move {
            registry
                .acquire_lease(&AdminKey::new("adm-race"), &format!("w{n}"), at(0), TTL)
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(lease) = task.await.expect("task") {
            winners.push(lease);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one racing worker wins: {winners:?}"
    );
    assert_eq!(
        registry
            .lease_of(&AdminKey::new("adm-race"))
            .await
            .unwrap()
            .map(|l| l.holder),
        Some(winners[0].holder.clone())
    );
}

/// An expired lease is taken over with a higher fence.
pub async fn lease_takeover_after_expiry<R>(registry: R)
where
    R: AdministrationRegistry + AdministrationLeases,
{
    let sealer = sealer("old");
    registry
        .register(record(&sealer, "adm-1", "r"))
        .await
        .unwrap();
    let admin = AdminKey::new("adm-1");
    let a = registry
        .acquire_lease(&admin, "worker-a", at(0), TTL)
        .await
        .unwrap()
        .unwrap();
    let b = registry
        .acquire_lease(&admin, "worker-b", at(30), TTL)
        .await
        .unwrap()
        .expect("expired exactly at its expiry: taken over");
    assert_eq!(b.holder, "worker-b");
    assert!(
        b.fence > a.fence,
        "the fence grows: {} > {}",
        b.fence,
        a.fence
    );
    assert_eq!(b.expires_at, at(60));
    assert!(
        registry
            .acquire_lease(&admin, "worker-a", at(31), TTL)
            .await
            .unwrap()
            .is_none(),
        "the new holder's lease is exclusive again"
    );
}

/// The old holder's renewal fails after a takeover and changes nothing; the holder's own
/// renewal moves the expiry.
pub async fn lease_renew_fails_after_takeover<R>(registry: R)
where
    R: AdministrationRegistry + AdministrationLeases,
{
    let sealer = sealer("old");
    registry
        .register(record(&sealer, "adm-1", "r"))
        .await
        .unwrap();
    let admin = AdminKey::new("adm-1");
    let a = registry
        .acquire_lease(&admin, "worker-a", at(0), TTL)
        .await
        .unwrap()
        .unwrap();
    let renewed = registry
        .renew_lease(&a, at(20), TTL)
        .await
        .unwrap()
        .expect("the holder renews");
    assert_eq!(renewed.expires_at, at(50));
    assert_eq!(renewed.fence, a.fence, "renewing keeps the fence");
    assert!(
        registry
            .acquire_lease(&admin, "worker-b", at(40), TTL)
            .await
            .unwrap()
            .is_none(),
        "renewed: not taken at the old expiry"
    );
    let b = registry
        .acquire_lease(&admin, "worker-b", at(50), TTL)
        .await
        .unwrap()
        .expect("taken over after the renewed expiry");
    assert!(
        registry
            .renew_lease(&renewed, at(51), TTL)
            .await
            .unwrap()
            .is_none(),
        "renew fails after takeover"
    );
    assert!(
        !registry.release_lease(&renewed).await.unwrap(),
        "a stale holder cannot release the new holder's lease"
    );
    assert_eq!(
        registry.lease_of(&admin).await.unwrap(),
        Some(b.clone()),
        "the stale renewal and release changed nothing"
    );
    // The same holder coming back with its old fence is stale too.
    let mut stale = renewed.clone();
    stale.holder = b.holder.clone();
    assert!(
        registry
            .renew_lease(&stale, at(52), TTL)
            .await
            .unwrap()
            .is_none()
    );
}

/// A released lease is free at once; a paused administration is not leasable and its
/// holder's renewal fails.
pub async fn lease_release_and_pause<R>(registry: R)
where
    R: AdministrationRegistry + AdministrationLeases,
{
    let sealer = sealer("old");
    registry
        .register(record(&sealer, "adm-1", "r"))
        .await
        .unwrap();
    let admin = AdminKey::new("adm-1");
    let a = registry
        .acquire_lease(&admin, "worker-a", at(0), TTL)
        .await
        .unwrap()
        .unwrap();
    assert!(registry.release_lease(&a).await.unwrap());
    assert_eq!(registry.lease_of(&admin).await.unwrap(), None);
    assert!(
        registry
            .renew_lease(&a, at(1), TTL)
            .await
            .unwrap()
            .is_none(),
        "a released lease does not renew"
    );
    let b = registry
        .acquire_lease(&admin, "worker-b", at(1), TTL)
        .await
        .unwrap()
        .expect("released: free before its expiry");
    assert!(b.fence > a.fence);
    registry.set_paused(&admin, true, at(2)).await.unwrap();
    assert!(
        registry
            .renew_lease(&b, at(3), TTL)
            .await
            .unwrap()
            .is_none(),
        "paused: the holder's renewal fails"
    );
    assert!(
        registry
            .acquire_lease(&admin, "worker-c", at(100), TTL)
            .await
            .unwrap()
            .is_none(),
        "paused: nobody leases it"
    );
    registry.set_paused(&admin, false, at(4)).await.unwrap();
    let c = registry
        .acquire_lease(&admin, "worker-c", at(100), TTL)
        .await
        .unwrap()
        .expect("resumed and expired: leasable");
    assert!(c.fence > b.fence);
}

/// Leasable administrations: unpaused and without an unexpired lease, by id, paged;
/// removing an administration removes its lease.
pub async fn lease_listing_and_removal<R>(registry: R)
where
    R: AdministrationRegistry + AdministrationLeases,
{
    let sealer = sealer("old");
    for n in 1..=4 {
        registry
            .register(record(&sealer, &format!("adm-{n}"), "r"))
            .await
            .unwrap();
    }
    let ids = |records: Vec<AdministrationRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.admin.to_string()).collect()
    };
    let held = registry
        .acquire_lease(&AdminKey::new("adm-2"), "w", at(0), TTL)
        .await
        .unwrap()
        .unwrap();
    registry
        .set_paused(&AdminKey::new("adm-3"), true, at(0))
        .await
        .unwrap();
    assert_eq!(
        ids(registry
            .leasable_administrations(at(1), None, 10)
            .await
            .unwrap()),
        ["adm-1", "adm-4"]
    );
    assert_eq!(
        ids(registry
            .leasable_administrations(at(1), Some(&AdminKey::new("adm-1")), 1)
            .await
            .unwrap()),
        ["adm-4"],
        "keyset paging"
    );
    assert_eq!(
        ids(registry
            .leasable_administrations(at(30), None, 10)
            .await
            .unwrap()),
        ["adm-1", "adm-2", "adm-4"],
        "an expired lease is leasable"
    );
    assert!(registry.remove_administration(&held.admin).await.unwrap());
    assert_eq!(registry.lease_of(&held.admin).await.unwrap(), None);
    assert!(
        registry
            .renew_lease(&held, at(2), TTL)
            .await
            .unwrap()
            .is_none()
    );
    registry
        .register(record(&sealer, "adm-2", "r"))
        .await
        .unwrap();
    let again = registry
        .acquire_lease(&held.admin, "w2", at(2), TTL)
        .await
        .unwrap()
        .expect("registered again: a fresh lease");
    assert_eq!(again.holder, "w2");
}
