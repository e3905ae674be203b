//! The conformance suite: every [`Store`] backend must pass it.
//!
//! Call [`run_all`] from a backend's tests with a factory that returns a fresh, empty store;
//! each check gets its own store. The checks are also public one by one, so a failing one can
//! be run alone. They panic (via `assert!`) on the first violation, naming the contract point.
//!
//! Run on a multi-threaded Tokio runtime (`#[tokio::test(flavor = "multi_thread")]`) so the
//! concurrency checks really race.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

use super::{
    AdminKey, AuditEntry, AuditOutcome, EntityKind, FinishedItem, IdLink, ItemOutcome, LinkKey,
    LinkPart, NewOutboxEvent, NewWorkItem, QueueCounts, ReplayFilter, StateArea, StateKey, Store,
    StoredError, WorkItemId, WorkState, WorkSummary, stream_links,
};

/// The part of most links: the whole CRM record.
const WHOLE: &LinkPart = &LinkPart::Whole;

const LEASE: Duration = Duration::from_secs(60);

/// A fixed instant (with sub-microsecond precision, so backends must keep nanoseconds).
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 123_456_789).expect("valid fixed instant")
}

fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

fn admin() -> AdminKey {
    AdminKey::new("admin-a")
}

fn other_admin() -> AdminKey {
    AdminKey::new("admin-b")
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(0x5ee1_5a27_0000_0000_0000_0000_0000_0000 + n)
}

fn item(crm_id: &str, operation: &str, payload: serde_json::Value) -> NewWorkItem {
    NewWorkItem::new(
        admin(),
        EntityKind::Relation,
        crm_id,
        operation,
        payload,
        t0(),
    )
}

/// Queues `n` upserts of the records `r0`, `r1`, ... in one batch at `t0`; their ids in order.
async fn enqueue_records<S: Store>(store: &S, n: usize) -> Vec<WorkItemId> {
    store
        .enqueue_batch(
            (0..n)
                .map(|i| item(&format!("r{i}"), "upsert", json!(i)))
                .collect(),
            t0(),
        )
        .await
        .expect("a batch of new records")
}

fn counts(
    pending: u64,
    blocked: u64,
    in_flight: u64,
    done: u64,
    failed: u64,
    needs_review: u64,
) -> QueueCounts {
    QueueCounts {
        pending,
        blocked,
        in_flight,
        done,
        failed,
        needs_review,
    }
}

/// Runs every check, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    links_lookup_by_all_keys(make().await).await;
    links_batch_lookup_by_crm_ids(make().await).await;
    links_batch_lookup_by_keys(make().await).await;
    links_keys_are_unique(make().await).await;
    links_payload_hash_cas(make().await).await;
    links_paging_and_stream(make().await).await;
    links_parts_are_fields_of_the_key(make().await).await;
    state_cas(make().await).await;
    state_batch_read(make().await).await;
    state_keys_delete_and_prune(make().await).await;
    queue_enqueue_and_get(make().await).await;
    queue_coalescing(make().await).await;
    queue_dependencies(make().await).await;
    queue_per_record_fifo(make().await).await;
    queue_claim_exclusive_under_concurrency(make().await).await;
    queue_enqueue_batch_atomic(make().await).await;
    queue_complete_batch_atomic_and_fenced(make().await).await;
    queue_release_claims(make().await).await;
    queue_batch_claims_never_overlap(make().await).await;
    queue_lease_expiry_recovery(make().await).await;
    queue_lease_fencing(make().await).await;
    queue_reschedule_backoff(make().await).await;
    queue_fail_review_replay(make().await).await;
    queue_replay_and_enqueue_atomic(make().await).await;
    queue_counts_blocked(make().await).await;
    queue_list_paging(make().await).await;
    queue_prune_done(make().await).await;
    queue_summaries_without_payloads(make().await).await;
    queue_next_due(make().await).await;
    queue_scoped_lookups_and_dependencies(make().await).await;
    outbox_stored_with_outcome(make().await).await;
    audit_stored_with_outcome(make().await).await;
    outbox_delivery_leases(make().await).await;
    audit_order(make().await).await;
    config_versions_cas(make().await).await;
    admins_are_isolated(make().await).await;
}

/// Links are found by CRM id, SnelStart id and natural key alike; upsert replaces.
pub async fn links_lookup_by_all_keys<S: Store>(store: S) {
    let link = IdLink::new(admin(), EntityKind::Relation, "crm-1", uuid(1), t0())
        .with_natural_key("1001")
        .with_payload_hash("h1");
    store.upsert_link(link.clone()).await.expect("upsert");
    let by_crm = store
        .link_by_crm_id(&admin(), EntityKind::Relation, "crm-1", WHOLE)
        .await
        .expect("by crm id");
    assert_eq!(by_crm.as_ref(), Some(&link), "lookup by CRM id");
    let by_ss = store
        .link_by_snelstart_id(&admin(), EntityKind::Relation, uuid(1))
        .await
        .expect("by snelstart id");
    assert_eq!(by_ss.as_ref(), Some(&link), "lookup by SnelStart id");
    let by_nat = store
        .link_by_natural_key(&admin(), EntityKind::Relation, "1001")
        .await
        .expect("by natural key");
    assert_eq!(by_nat.as_ref(), Some(&link), "lookup by natural key");
    // Other kind: not found.
    let other_kind = store
        .link_by_crm_id(&admin(), EntityKind::CostCentre, "crm-1", WHOLE)
        .await
        .expect("other kind");
    assert_eq!(other_kind, None, "links are scoped by kind");

    // Upsert replaces every field; the old secondary keys stop resolving.
    let moved = IdLink::new(admin(), EntityKind::Relation, "crm-1", uuid(2), at(5))
        .with_natural_key("1002");
    store.upsert_link(moved.clone()).await.expect("re-upsert");
    assert_eq!(
        store
            .link_by_snelstart_id(&admin(), EntityKind::Relation, uuid(1))
            .await
            .unwrap(),
        None,
        "old SnelStart id no longer resolves"
    );
    assert_eq!(
        store
            .link_by_natural_key(&admin(), EntityKind::Relation, "1001")
            .await
            .unwrap(),
        None,
        "old natural key no longer resolves"
    );
    assert_eq!(
        store
            .link_by_natural_key(&admin(), EntityKind::Relation, "1002")
            .await
            .unwrap(),
        Some(moved.clone())
    );
    // Re-upserting the identical link is not a conflict.
    store.upsert_link(moved).await.expect("idempotent upsert");

    assert!(
        store
            .delete_link(&admin(), EntityKind::Relation, "crm-1", WHOLE)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_link(&admin(), EntityKind::Relation, "crm-1", WHOLE)
            .await
            .unwrap(),
        "second delete reports absence"
    );
    assert_eq!(
        store
            .link_by_snelstart_id(&admin(), EntityKind::Relation, uuid(2))
            .await
            .unwrap(),
        None,
        "delete removes every key"
    );
}

/// A batch look-up by CRM ids answers each id as a single look-up would, in the order asked,
/// within the administration, kind and part asked.
pub async fn links_batch_lookup_by_crm_ids<S: Store>(store: S) {
    let rel = EntityKind::Relation;
    let one = IdLink::new(admin(), rel, "crm-1", uuid(1), t0()).with_payload_hash("h1");
    let two = IdLink::new(admin(), rel, "crm-2", uuid(2), t0()).with_natural_key("1002");
    let two_supplier =
        IdLink::new(admin(), rel, "crm-2", uuid(3), t0()).with_part(LinkPart::SupplierHalf);
    let elsewhere = IdLink::new(other_admin(), rel, "crm-3", uuid(4), t0());
    let other_kind = IdLink::new(admin(), EntityKind::CostCentre, "crm-4", uuid(5), t0());
    for link in [&one, &two, &two_supplier, &elsewhere, &other_kind] {
        store.upsert_link(link.clone()).await.expect("upsert");
    }
    let asked = ["crm-2", "missing", "crm-1", "crm-2", "crm-3", "crm-4"];
    let found = store
        .links_by_crm_ids(&admin(), rel, &asked, WHOLE)
        .await
        .expect("batch look-up");
    assert_eq!(
        found,
        vec![
            Some(two.clone()),
            None,
            Some(one.clone()),
            Some(two),
            None,
            None
        ],
        "one answer per id, in order; other administrations and kinds stay out"
    );
    for (id, link) in asked.iter().zip(&found) {
        let single = store
            .link_by_crm_id(&admin(), rel, id, WHOLE)
            .await
            .expect("single look-up");
        assert_eq!(&single, link, "batch and single look-up agree for {id}");
    }
    let suppliers = store
        .links_by_crm_ids(&admin(), rel, &["crm-1", "crm-2"], &LinkPart::SupplierHalf)
        .await
        .expect("batch look-up of a part");
    assert_eq!(
        suppliers,
        vec![None, Some(two_supplier)],
        "the part is part of the key"
    );
    let none: Vec<Option<IdLink>> = store
        .links_by_crm_ids(&admin(), rel, &[], WHOLE)
        .await
        .expect("empty batch");
    assert!(none.is_empty(), "an empty batch asks nothing");
}

/// A batch look-up by whole keys answers each key as a single look-up would, in the order
/// asked: kinds and parts differ from key to key, and other administrations stay out.
pub async fn links_batch_lookup_by_keys<S: Store>(store: S) {
    let (rel, sales, att) = (
        EntityKind::Relation,
        EntityKind::SalesInvoice,
        EntityKind::Attachment,
    );
    let relation = IdLink::new(admin(), rel, "r-1", uuid(1), t0()).with_payload_hash("h1");
    let supplier =
        IdLink::new(admin(), rel, "r-1", uuid(2), t0()).with_part(LinkPart::SupplierHalf);
    let booking = IdLink::new(admin(), sales, "inv/1", uuid(3), t0()).with_natural_key("F-1");
    let pdf = IdLink::new(admin(), att, "inv/1", uuid(4), t0())
        .with_part(LinkPart::attachment("a.pdf"))
        .with_payload_hash("p");
    // Attachment `1/a.pdf` of invoice `inv` is another key than `a.pdf` of `inv/1`.
    let lookalike =
        IdLink::new(admin(), att, "inv", uuid(5), t0()).with_part(LinkPart::attachment("1/a.pdf"));
    let elsewhere = IdLink::new(other_admin(), sales, "inv/2", uuid(6), t0());
    for link in [&relation, &supplier, &booking, &pdf, &lookalike, &elsewhere] {
        store.upsert_link(link.clone()).await.expect("upsert");
    }
    let (a_pdf, b_pdf) = (LinkPart::attachment("a.pdf"), LinkPart::attachment("b.pdf"));
    let half = LinkPart::SupplierHalf;
    let keys = [
        LinkKey::new(att, "inv/1", &a_pdf),
        LinkKey::new(rel, "r-1", WHOLE),
        LinkKey::new(sales, "inv/2", WHOLE),
        LinkKey::new(att, "inv/1", &b_pdf),
        LinkKey::new(rel, "r-1", &half),
        LinkKey::new(sales, "inv/1", WHOLE),
        LinkKey::new(rel, "inv/1", WHOLE),
        LinkKey::new(rel, "r-1", WHOLE),
    ];
    let found = store
        .links_by_keys(&admin(), &keys)
        .await
        .expect("batch look-up by keys");
    assert_eq!(
        found,
        vec![
            Some(pdf),
            Some(relation.clone()),
            None,
            None,
            Some(supplier),
            Some(booking),
            None,
            Some(relation),
        ],
        "one answer per key, in order; kind and part are part of the key, other \
         administrations stay out"
    );
    for (key, link) in keys.iter().zip(&found) {
        let single = store
            .link_by_crm_id(&admin(), key.kind, key.crm_id, key.part)
            .await
            .expect("single look-up");
        assert_eq!(&single, link, "batch and single look-up agree for {key:?}");
    }
    let none = store
        .links_by_keys(&other_admin(), &[])
        .await
        .expect("empty batch");
    assert!(none.is_empty(), "an empty batch asks nothing");
}

/// Two CRM records can never share a SnelStart id or a natural key.
pub async fn links_keys_are_unique<S: Store>(store: S) {
    let first =
        IdLink::new(admin(), EntityKind::Relation, "crm-1", uuid(1), t0()).with_natural_key("1001");
    store.upsert_link(first.clone()).await.unwrap();

    let same_uuid = IdLink::new(admin(), EntityKind::Relation, "crm-2", uuid(1), t0());
    let err = store.upsert_link(same_uuid).await.unwrap_err();
    assert!(
        err.is_conflict(),
        "shared SnelStart id must conflict: {err}"
    );

    let same_key =
        IdLink::new(admin(), EntityKind::Relation, "crm-2", uuid(2), t0()).with_natural_key("1001");
    let err = store.upsert_link(same_key).await.unwrap_err();
    assert!(err.is_conflict(), "shared natural key must conflict: {err}");

    assert_eq!(
        store
            .link_by_crm_id(&admin(), EntityKind::Relation, "crm-2", WHOLE)
            .await
            .unwrap(),
        None,
        "a conflicting upsert changes nothing"
    );
    assert_eq!(
        store
            .link_by_crm_id(&admin(), EntityKind::Relation, "crm-1", WHOLE)
            .await
            .unwrap(),
        Some(first)
    );

    // The same SnelStart id and key are fine under another kind or administration.
    store
        .upsert_link(
            IdLink::new(admin(), EntityKind::CostCentre, "crm-2", uuid(1), t0())
                .with_natural_key("1001"),
        )
        .await
        .expect("other kind");
    store
        .upsert_link(
            IdLink::new(other_admin(), EntityKind::Relation, "crm-2", uuid(1), t0())
                .with_natural_key("1001"),
        )
        .await
        .expect("other administration");
    // Links without a natural key never collide on it.
    store
        .upsert_link(IdLink::new(
            admin(),
            EntityKind::Relation,
            "crm-3",
            uuid(3),
            t0(),
        ))
        .await
        .unwrap();
    store
        .upsert_link(IdLink::new(
            admin(),
            EntityKind::Relation,
            "crm-4",
            uuid(4),
            t0(),
        ))
        .await
        .expect("two links without natural key");
}

/// `set_payload_hash` writes only when the expected hash matches.
pub async fn links_payload_hash_cas<S: Store>(store: S) {
    let kind = EntityKind::Relation;
    let err = store
        .set_payload_hash(&admin(), kind, "crm-1", WHOLE, None, Some("h1"), t0())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "hash of a missing link: {err}");

    store
        .upsert_link(IdLink::new(admin(), kind, "crm-1", uuid(1), t0()))
        .await
        .unwrap();
    store
        .set_payload_hash(&admin(), kind, "crm-1", WHOLE, None, Some("h1"), at(1))
        .await
        .expect("first hash");
    let err = store
        .set_payload_hash(&admin(), kind, "crm-1", WHOLE, None, Some("h2"), at(2))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale expected None: {err}");
    let err = store
        .set_payload_hash(
            &admin(),
            kind,
            "crm-1",
            WHOLE,
            Some("hX"),
            Some("h2"),
            at(2),
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "wrong expected hash: {err}");
    store
        .set_payload_hash(
            &admin(),
            kind,
            "crm-1",
            WHOLE,
            Some("h1"),
            Some("h2"),
            at(3),
        )
        .await
        .expect("matching hash");
    let link = store
        .link_by_crm_id(&admin(), kind, "crm-1", WHOLE)
        .await
        .unwrap()
        .expect("link");
    assert_eq!(link.payload_hash.as_deref(), Some("h2"));
    assert_eq!(link.updated_at, at(3), "CAS sets updated_at");
    store
        .set_payload_hash(&admin(), kind, "crm-1", WHOLE, Some("h2"), None, at(4))
        .await
        .expect("clear hash");
    let link = store
        .link_by_crm_id(&admin(), kind, "crm-1", WHOLE)
        .await
        .unwrap()
        .expect("link");
    assert_eq!(link.payload_hash, None);
}

/// Listing pages by CRM id (keyset) and the stream walks everything once.
pub async fn links_paging_and_stream<S: Store>(store: S) {
    let kind = EntityKind::CostCentre;
    for n in 0..25u128 {
        store
            .upsert_link(IdLink::new(
                admin(),
                kind,
                format!("p{n:03}"),
                uuid(n),
                t0(),
            ))
            .await
            .unwrap();
    }
    // Noise in neighbouring key ranges.
    store
        .upsert_link(IdLink::new(
            admin(),
            EntityKind::Relation,
            "p000",
            uuid(900),
            t0(),
        ))
        .await
        .unwrap();
    store
        .upsert_link(IdLink::new(other_admin(), kind, "p000", uuid(901), t0()))
        .await
        .unwrap();

    let first = store.list_links(&admin(), kind, None, 10).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|l| l.crm_id.as_str()).collect();
    let expected: Vec<String> = (0..10).map(|n| format!("p{n:03}")).collect();
    assert_eq!(ids, expected, "first page, ascending");
    let second = store
        .list_links(&admin(), kind, Some(("p009", WHOLE)), 10)
        .await
        .unwrap();
    assert_eq!(second.first().map(|l| l.crm_id.as_str()), Some("p010"));
    let tail = store
        .list_links(&admin(), kind, Some(("p019", WHOLE)), 10)
        .await
        .unwrap();
    assert_eq!(tail.len(), 5, "last page is short");
    let none = store
        .list_links(&admin(), kind, Some(("p024", WHOLE)), 10)
        .await
        .unwrap();
    assert!(none.is_empty());

    let all: Vec<IdLink> = stream_links(&store, admin(), kind, 7)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 25, "stream yields every link exactly once");
    let distinct: HashSet<&str> = all.iter().map(|l| l.crm_id.as_str()).collect();
    assert_eq!(distinct.len(), 25);
    // Page size equal to the total must still terminate.
    let exact: Vec<IdLink> = stream_links(&store, admin(), kind, 25)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exact.len(), 25);
}

/// The part of a link is a field of its key, not a suffix of the CRM id: the supplier half of
/// relation `A` and a CRM relation called `A#2` are two links, and so are attachment `z` of
/// invoice `x/y` and attachment `y/z` of invoice `x` (issue 12).
pub async fn links_parts_are_fields_of_the_key<S: Store>(store: S) {
    let rel = EntityKind::Relation;
    let supplier = &LinkPart::SupplierHalf;
    let customer_a = IdLink::new(admin(), rel, "A", uuid(1), t0()).with_natural_key("1001");
    let supplier_a = IdLink::new(admin(), rel, "A", uuid(2), t0())
        .with_part(LinkPart::SupplierHalf)
        .with_natural_key("1002")
        .with_payload_hash("iban-of-a");
    let other = IdLink::new(admin(), rel, "A#2", uuid(3), t0()).with_natural_key("1003");
    for link in [&customer_a, &supplier_a, &other] {
        store.upsert_link(link.clone()).await.expect("three keys");
    }
    let get = |crm_id: &'static str, part: &'static LinkPart| {
        let store = &store;
        async move {
            store
                .link_by_crm_id(&admin(), rel, crm_id, part)
                .await
                .unwrap()
        }
    };
    assert_eq!(get("A", WHOLE).await.as_ref(), Some(&customer_a));
    assert_eq!(get("A", supplier).await.as_ref(), Some(&supplier_a));
    assert_eq!(
        get("A#2", WHOLE).await.as_ref(),
        Some(&other),
        "A#2 is a CRM id"
    );
    assert_eq!(get("A#2", supplier).await, None, "A#2 has no supplier half");
    assert_eq!(
        store
            .link_by_snelstart_id(&admin(), rel, uuid(2))
            .await
            .unwrap(),
        Some(supplier_a.clone()),
        "lookups by SnelStart id return the part"
    );
    assert_eq!(
        store
            .link_by_natural_key(&admin(), rel, "1003")
            .await
            .unwrap(),
        Some(other.clone())
    );

    // Re-upserting `A#2` leaves `A`'s supplier half (and its hash) alone.
    let moved = IdLink::new(admin(), rel, "A#2", uuid(4), at(1)).with_payload_hash("other");
    store.upsert_link(moved.clone()).await.unwrap();
    assert_eq!(get("A", supplier).await.as_ref(), Some(&supplier_a));
    // A part is a key of its own for uniqueness too.
    let err = store
        .upsert_link(
            IdLink::new(admin(), rel, "A", uuid(1), t0()).with_part(LinkPart::SupplierHalf),
        )
        .await
        .unwrap_err();
    assert!(
        err.is_conflict(),
        "the customer's SnelStart id is taken: {err}"
    );
    assert_eq!(get("A", supplier).await.as_ref(), Some(&supplier_a));

    // The payload-hash compare-and-swap and delete address one part.
    store
        .set_payload_hash(&admin(), rel, "A#2", WHOLE, Some("other"), None, at(2))
        .await
        .unwrap();
    let err = store
        .set_payload_hash(&admin(), rel, "A", supplier, Some("other"), None, at(2))
        .await
        .unwrap_err();
    assert!(
        err.is_conflict(),
        "the supplier half's hash is its own: {err}"
    );
    assert!(
        store
            .delete_link(&admin(), rel, "A#2", WHOLE)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_link(&admin(), rel, "A#2", supplier)
            .await
            .unwrap()
    );
    assert_eq!(get("A", supplier).await.as_ref(), Some(&supplier_a));
    assert_eq!(get("A", WHOLE).await.as_ref(), Some(&customer_a));
    store.upsert_link(other.clone()).await.unwrap();

    // Paging walks the parts of one CRM id in (part spelling, name) byte order.
    let listed: Vec<(String, LinkPart)> = stream_links(&store, admin(), rel, 1)
        .map_ok(|l| (l.crm_id, l.part))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![
            ("A".to_owned(), LinkPart::SupplierHalf),
            ("A".to_owned(), LinkPart::Whole),
            ("A#2".to_owned(), LinkPart::Whole),
        ],
        "every part once, in key order, also one per page"
    );
    let after_half = store
        .list_links(&admin(), rel, Some(("A", supplier)), 10)
        .await
        .unwrap();
    assert_eq!(after_half, vec![customer_a.clone(), other.clone()]);

    // Attachments: by invoice and file name.
    let att = EntityKind::Attachment;
    let z_of_xy = IdLink::new(admin(), att, "x/y", uuid(10), t0())
        .with_part(LinkPart::attachment("z"))
        .with_payload_hash("z");
    let yz_of_x = IdLink::new(admin(), att, "x", uuid(11), t0())
        .with_part(LinkPart::attachment("y/z"))
        .with_payload_hash("y/z");
    store.upsert_link(z_of_xy.clone()).await.unwrap();
    store.upsert_link(yz_of_x.clone()).await.unwrap();
    assert_eq!(
        store
            .link_by_crm_id(&admin(), att, "x/y", &LinkPart::attachment("z"))
            .await
            .unwrap(),
        Some(z_of_xy.clone())
    );
    assert_eq!(
        store
            .link_by_crm_id(&admin(), att, "x", &LinkPart::attachment("y/z"))
            .await
            .unwrap(),
        Some(yz_of_x.clone())
    );
    for (crm_id, part) in [
        ("x/y/z", LinkPart::Whole),
        ("x", LinkPart::attachment("y")),
        ("x/y", LinkPart::attachment("y/z")),
    ] {
        assert_eq!(
            store
                .link_by_crm_id(&admin(), att, crm_id, &part)
                .await
                .unwrap(),
            None,
            "{crm_id:?} {part}"
        );
    }
    let all: Vec<IdLink> = stream_links(&store, admin(), att, 10)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, vec![yz_of_x, z_of_xy]);
}

/// A batch read answers each key as a single read would, in the order asked, within the
/// administration asked.
pub async fn state_batch_read<S: Store>(store: S) {
    let rel = EntityKind::Relation;
    let a = StateKey::review_resolution(rel, "crm-1");
    let b = StateKey::review_resolution(rel, "crm-2");
    let unset = StateKey::review_resolution(rel, "crm-3");
    let same_subject_other_kind = StateKey::review_resolution(EntityKind::CostCentre, "crm-1");
    store
        .put_state(&admin(), &a, None, "new", t0())
        .await
        .expect("put a");
    store
        .put_state(&admin(), &b, None, "link:x", t0())
        .await
        .expect("put b");
    store
        .put_state(&other_admin(), &unset, None, "elsewhere", t0())
        .await
        .expect("put in another administration");
    let keys = [
        b.clone(),
        unset.clone(),
        a.clone(),
        same_subject_other_kind,
        b.clone(),
    ];
    let values = store.states(&admin(), &keys).await.expect("batch read");
    assert_eq!(
        values,
        vec![
            Some("link:x".to_owned()),
            None,
            Some("new".to_owned()),
            None,
            Some("link:x".to_owned())
        ],
        "one answer per key, in order; other administrations and kinds stay out"
    );
    for (key, value) in keys.iter().zip(&values) {
        let single = store.state(&admin(), key).await.expect("single read");
        assert_eq!(&single, value, "batch and single read agree for {key}");
    }
    assert!(
        store.states(&admin(), &[]).await.expect("empty").is_empty(),
        "an empty batch asks nothing"
    );
}

/// State values: compare-and-swap on the current value.
pub async fn state_cas<S: Store>(store: S) {
    let crm = StateKey::SourceCursor;
    let other = StateKey::AdministrationBinding;
    assert_eq!(store.state(&admin(), &crm).await.unwrap(), None);
    let err = store
        .put_state(&admin(), &crm, Some("x"), "1", t0())
        .await
        .unwrap_err();
    assert!(
        err.is_conflict(),
        "expected a value that does not exist: {err}"
    );
    store
        .put_state(&admin(), &crm, None, "1", t0())
        .await
        .expect("create");
    let err = store
        .put_state(&admin(), &crm, None, "2", t0())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "create over an existing cursor: {err}");
    let err = store
        .put_state(&admin(), &crm, Some("0"), "2", t0())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale expected value: {err}");
    store
        .put_state(&admin(), &crm, Some("1"), "2", t0())
        .await
        .expect("advance");
    assert_eq!(
        store.state(&admin(), &crm).await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(store.state(&admin(), &other).await.unwrap(), None);
    assert_eq!(store.state(&other_admin(), &crm).await.unwrap(), None);

    // Racing writers with the same expectation: exactly one wins.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let crm = StateKey::SourceCursor;
            store
                .put_state(&admin(), &crm, Some("2"), &format!("w{n}"), t0())
                .await
                .is_ok()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("task"));
    }
    assert_eq!(winners, 1, "exactly one CAS winner");
}

/// State keys are typed: parts never run into each other, values can be deleted (with or
/// without compare-and-swap) and pruned per area, administration and age.
pub async fn state_keys_delete_and_prune<S: Store>(store: S) {
    let a = StateKey::parked(EntityKind::Relation, "upsert", "a:b");
    let b = StateKey::parked(EntityKind::Relation, "upsert:a", "b");
    let c = StateKey::review_resolution(EntityKind::Relation, "a:b");
    store
        .put_state(&admin(), &a, None, "A", at(1))
        .await
        .unwrap();
    store
        .put_state(&admin(), &b, None, "B", at(2))
        .await
        .unwrap();
    store
        .put_state(&admin(), &c, None, "C", at(3))
        .await
        .unwrap();
    store
        .put_state(&other_admin(), &a, None, "other", at(1))
        .await
        .unwrap();
    assert_eq!(
        store.state(&admin(), &a).await.unwrap().as_deref(),
        Some("A")
    );
    assert_eq!(
        store.state(&admin(), &b).await.unwrap().as_deref(),
        Some("B"),
        "a colon in a CRM id or operation does not reach another key"
    );
    assert_eq!(
        store
            .state(&admin(), &StateKey::read_back_of("sales:balance", "x"))
            .await
            .unwrap(),
        None
    );
    // Delete with a stale expectation: Conflict, nothing deleted.
    let err = store
        .delete_state(&admin(), &a, Some("old"))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale delete: {err}");
    assert!(store.delete_state(&admin(), &a, Some("A")).await.unwrap());
    assert_eq!(store.state(&admin(), &a).await.unwrap(), None, "deleted");
    assert!(
        !store.delete_state(&admin(), &a, None).await.unwrap(),
        "already gone"
    );
    assert_eq!(
        store.state(&other_admin(), &a).await.unwrap().as_deref(),
        Some("other"),
        "delete is per administration"
    );
    // After a delete, create-only writes succeed again.
    store
        .put_state(&admin(), &a, None, "A2", at(10))
        .await
        .unwrap();
    // Updating refreshes the age.
    store
        .put_state(&admin(), &b, Some("B"), "B2", at(20))
        .await
        .unwrap();

    // Prune parked values older than 15: only `a` (written at 10); `b` was refreshed at 20,
    // `c` is another area, the other administration's `a` is not this administration's.
    assert_eq!(
        store
            .prune_state(&admin(), StateArea::Parked, at(15))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.state(&admin(), &a).await.unwrap(), None);
    assert_eq!(
        store.state(&admin(), &b).await.unwrap().as_deref(),
        Some("B2")
    );
    assert_eq!(
        store.state(&admin(), &c).await.unwrap().as_deref(),
        Some("C")
    );
    assert!(store.state(&other_admin(), &a).await.unwrap().is_some());
    assert_eq!(
        store
            .prune_state(&admin(), StateArea::ReviewResolution, at(100))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.state(&admin(), &c).await.unwrap(), None);
}

/// Enqueue stores every field; `work_item` returns it; ids increase.
pub async fn queue_enqueue_and_get<S: Store>(store: S) {
    let a = store
        .enqueue(item("r1", "upsert", json!({"naam": "A"})), t0())
        .await
        .unwrap();
    let b = store
        .enqueue(
            item("r2", "upsert", json!({"naam": "B", "n": [1, 2]})).not_before(at(30)),
            at(1),
        )
        .await
        .unwrap();
    assert!(b > a, "ids increase in enqueue order");
    let got = store.work_item(&admin(), b).await.unwrap().expect("item b");
    assert_eq!(got.id, b);
    assert_eq!(got.admin, admin());
    assert_eq!(got.kind, EntityKind::Relation);
    assert_eq!(got.crm_id, "r2");
    assert_eq!(got.operation, "upsert");
    assert_eq!(got.payload, json!({"naam": "B", "n": [1, 2]}));
    assert_eq!(got.state, WorkState::Pending);
    assert_eq!(got.attempts, 0);
    assert_eq!(got.next_attempt_at, at(30));
    assert_eq!(got.lease_until, None);
    assert_eq!(got.last_error, None);
    assert_eq!(got.review, None);
    assert_eq!(got.created_at, at(1));
    assert_eq!(got.updated_at, at(1));
    assert!(got.depends_on.is_empty());
    assert_eq!(
        store
            .work_item(&admin(), WorkItemId::new(b.get() + 1000))
            .await
            .unwrap(),
        None
    );
    let err = store
        .enqueue(
            item("r3", "upsert", json!(null)).depending_on([WorkItemId::new(b.get() + 1000)]),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "unknown dependency: {err}");
}

/// A Pending item for the same record and operation is updated instead of duplicated; an
/// InFlight one is left alone.
pub async fn queue_coalescing<S: Store>(store: S) {
    let dep = store
        .enqueue(item("other", "upsert", json!(0)), t0())
        .await
        .unwrap();
    let first = store
        .enqueue(
            item("r1", "upsert", json!({"v": 1})).not_before(at(100)),
            at(1),
        )
        .await
        .unwrap();
    let again = store
        .enqueue(
            item("r1", "upsert", json!({"v": 2})).depending_on([dep]),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(again, first, "pending item coalesced");
    let got = store.work_item(&admin(), first).await.unwrap().unwrap();
    assert_eq!(got.payload, json!({"v": 2}), "payload replaced");
    assert_eq!(got.depends_on, vec![dep], "dependencies merged");
    assert_eq!(got.next_attempt_at, at(100), "later not-before kept");
    assert_eq!(got.created_at, at(1));
    assert_eq!(got.updated_at, at(2), "updated_at bumped");
    assert_eq!(store.counts(&admin()).await.unwrap().total(), 2);

    // Different operation or kind: separate items.
    let archive = store
        .enqueue(item("r1", "archive", json!({})), at(3))
        .await
        .unwrap();
    assert_ne!(archive, first);
    let other_kind = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::CostCentre,
                "r1",
                "upsert",
                json!({}),
                t0(),
            ),
            at(3),
        )
        .await
        .unwrap();
    assert_ne!(other_kind, first);

    // In flight: not touched, a new pending item goes behind it.
    let claimed = store.claim(&admin(), at(10), 10, LEASE).await.unwrap();
    let in_flight = claimed
        .iter()
        .find(|w| w.crm_id == "other")
        .expect("dependency claimed");
    let behind = store
        .enqueue(item("other", "upsert", json!(1)), at(11))
        .await
        .unwrap();
    assert_ne!(behind, in_flight.id, "in-flight item is not coalesced");
    let still = store
        .work_item(&admin(), in_flight.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.payload, json!(0), "in-flight payload untouched");
    assert_eq!(still.state, WorkState::InFlight);
    // ... and the next enqueue coalesces into the new pending one.
    let third = store
        .enqueue(item("other", "upsert", json!(2)), at(12))
        .await
        .unwrap();
    assert_eq!(third, behind);
    assert_eq!(
        store
            .work_item(&admin(), behind)
            .await
            .unwrap()
            .unwrap()
            .payload,
        json!(2)
    );

    // Two pending items for one record (the in-flight one was rescheduled): the newest
    // absorbs the next enqueue.
    store
        .reschedule(
            in_flight.lease(),
            at(12),
            StoredError::new("transient", "timeout"),
            at(12),
        )
        .await
        .unwrap();
    let newest = store
        .enqueue(item("other", "upsert", json!(3)), at(12))
        .await
        .unwrap();
    assert_eq!(newest, behind, "coalesced into the newest pending item");
    assert_eq!(
        store
            .work_item(&admin(), in_flight.id)
            .await
            .unwrap()
            .unwrap()
            .payload,
        json!(0),
        "older pending item untouched"
    );

    // A dependency newer than the pending item prevents coalescing (no cycles possible).
    let newer_dep = store
        .enqueue(item("dep2", "upsert", json!(null)), at(13))
        .await
        .unwrap();
    let separate = store
        .enqueue(
            item("r1", "upsert", json!({"v": 3})).depending_on([newer_dep]),
            at(14),
        )
        .await
        .unwrap();
    assert_ne!(separate, first);
    assert!(separate > newer_dep);
}

/// Items wait for their dependencies to be Done.
pub async fn queue_dependencies<S: Store>(store: S) {
    let parent = store
        .enqueue(item("rel", "upsert", json!({})), t0())
        .await
        .unwrap();
    let child = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::SalesInvoice,
                "inv",
                "create",
                json!({}),
                t0(),
            )
            .depending_on([parent]),
            t0(),
        )
        .await
        .unwrap();
    let grandchild = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::Attachment,
                "att",
                "upload",
                json!({}),
                t0(),
            )
            .depending_on([child, parent]),
            t0(),
        )
        .await
        .unwrap();
    let got = store
        .work_item(&admin(), grandchild)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.depends_on, vec![parent, child], "dependencies sorted");

    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![parent], "only the root is claimable");
    assert!(
        store
            .claim(&admin(), at(1), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "in-flight dependency still blocks"
    );
    store.complete(batch[0].lease(), at(2)).await.unwrap();
    let batch = store.claim(&admin(), at(3), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![child]);
    store.complete(batch[0].lease(), at(4)).await.unwrap();
    let batch = store.claim(&admin(), at(5), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![grandchild]);
}

/// Two items for one record never run at once or out of order.
pub async fn queue_per_record_fifo<S: Store>(store: S) {
    let upsert = store
        .enqueue(item("r1", "upsert", json!(1)), t0())
        .await
        .unwrap();
    let archive = store
        .enqueue(item("r1", "archive", json!(2)), t0())
        .await
        .unwrap();
    let unrelated = store
        .enqueue(item("r2", "upsert", json!(3)), t0())
        .await
        .unwrap();
    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![upsert, unrelated], "second item for r1 waits");
    let waiting = store.claim(&admin(), at(2), 10, LEASE).await.unwrap();
    assert!(
        waiting.is_empty(),
        "r1 busy while its first item is in flight"
    );
    store.complete(batch[0].lease(), at(3)).await.unwrap();
    store.complete(batch[1].lease(), at(3)).await.unwrap();
    let batch = store.claim(&admin(), at(4), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![archive]);
    store.complete(batch[0].lease(), at(5)).await.unwrap();

    // An older item in backoff also holds back newer ones for the same record.
    let slow = store
        .enqueue(item("r3", "upsert", json!(1)).not_before(at(100)), at(5))
        .await
        .unwrap();
    store
        .enqueue(item("r3", "archive", json!(1)), at(5))
        .await
        .unwrap();
    let batch = store.claim(&admin(), at(6), 10, LEASE).await.unwrap();
    assert!(
        batch.is_empty(),
        "newer r3 item must not overtake: {batch:?}"
    );
    let batch = store.claim(&admin(), at(100), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![slow]);
}

/// Many concurrent claimers never receive the same item twice, and together get all items.
pub async fn queue_claim_exclusive_under_concurrency<S: Store>(store: S) {
    const ITEMS: usize = 120;
    const CLAIMERS: usize = 8;
    for n in 0..ITEMS {
        store
            .enqueue(item(&format!("r{n}"), "upsert", json!(n)), t0())
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..CLAIMERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            // Bounded: each round claims at least one item or stops.
            for _ in 0..ITEMS {
                let batch = store.claim(&admin(), at(1), 3, LEASE).await.expect("claim");
                if batch.is_empty() {
                    break;
                }
                for work in batch {
                    store.complete(work.lease(), at(2)).await.expect("complete");
                    mine.push(work.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("claimer task"));
    }
    let distinct: HashSet<WorkItemId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an item was handed out twice");
    assert_eq!(all.len(), ITEMS, "every item was claimed");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 0, ITEMS as u64, 0, 0)
    );
}

/// `enqueue_batch` queues in order with the single-item rules (a later item of the batch
/// coalesces into an earlier one) and is atomic: one refused item leaves nothing behind.
pub async fn queue_enqueue_batch_atomic<S: Store>(store: S) {
    assert!(
        store
            .enqueue_batch(Vec::new(), t0())
            .await
            .unwrap()
            .is_empty(),
        "an empty batch"
    );
    let before = store
        .enqueue(item("r0", "upsert", json!(0)), t0())
        .await
        .unwrap();
    let ids = store
        .enqueue_batch(
            vec![
                item("r1", "upsert", json!(1)),
                item("r2", "upsert", json!(2)).depending_on([before]),
                item("r1", "upsert", json!("1b")),
                item("r3", "archive", json!(3)),
            ],
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 4, "one id per item");
    assert!(
        ids[0] > before && ids[1] > ids[0] && ids[3] > ids[1],
        "ids in order: {ids:?}"
    );
    assert_eq!(
        ids[2], ids[0],
        "a later item of the batch coalesces into an earlier one"
    );
    let r1 = store.work_item(&admin(), ids[0]).await.unwrap().unwrap();
    assert_eq!(r1.payload, json!("1b"), "the later payload wins");
    assert_eq!(r1.created_at, at(1));
    let r2 = store.work_item(&admin(), ids[1]).await.unwrap().unwrap();
    assert_eq!(r2.depends_on, vec![before]);
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(4, 0, 0, 0, 0, 0)
    );

    // The last item names a dependency that does not exist: nothing of the batch is written,
    // not even the coalescing into r3 or the new r4 before it.
    let unknown = WorkItemId::new(ids[3].get() + 1000);
    let err = store
        .enqueue_batch(
            vec![
                item("r3", "archive", json!("3b")),
                item("r4", "upsert", json!(4)),
                item("r5", "upsert", json!(5)).depending_on([unknown]),
            ],
            at(2),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "unknown dependency in a batch: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(4, 0, 0, 0, 0, 0),
        "a refused batch adds nothing"
    );
    let r3 = store.work_item(&admin(), ids[3]).await.unwrap().unwrap();
    assert_eq!(r3.payload, json!(3), "a refused batch coalesces nothing");
    assert_eq!(r3.updated_at, at(1));
    // A dependency in another administration is as good as unknown, in a batch too.
    let theirs = store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "x",
                "upsert",
                json!(0),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    let err = store
        .enqueue_batch(
            vec![
                item("r6", "upsert", json!(6)),
                item("r7", "upsert", json!(7)).depending_on([theirs]),
            ],
            at(3),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "cross-administration dependency: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(4, 0, 0, 0, 0, 0)
    );
    // Ids stay increasing after a refused batch.
    let next = store
        .enqueue_batch(vec![item("r8", "upsert", json!(8))], at(4))
        .await
        .unwrap();
    assert!(next[0] > ids[3], "ids keep increasing");
}

/// `complete_batch` completes every claim or none: a lost lease, an unknown id or the same
/// token twice refuses the whole batch, and the fresh holder of a re-claimed item keeps it.
pub async fn queue_complete_batch_atomic_and_fenced<S: Store>(store: S) {
    store
        .complete_batch(&[], t0())
        .await
        .expect("an empty batch");
    let ids = enqueue_records(&store, 4).await;
    let claimed = store.claim(&admin(), at(1), 4, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let tokens: Vec<_> = claimed.iter().map(|w| w.lease()).collect();
    assert_eq!(tokens.iter().map(|t| t.id).collect::<Vec<_>>(), ids);

    // The leases expire and another worker re-claims the items: the first tokens are stale.
    let fresh = store.claim(&admin(), at(100), 4, LEASE).await.unwrap();
    assert_eq!(fresh.len(), 4, "every lease expired at 61");
    let fresh_tokens: Vec<_> = fresh.iter().map(|w| w.lease()).collect();
    let err = store
        .complete_batch(&[fresh_tokens[0], fresh_tokens[1], tokens[2]], at(101))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "a stale token in a batch: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 4, 0, 0, 0),
        "a refused batch completes nothing"
    );
    let err = store
        .complete_batch(&[fresh_tokens[0], fresh_tokens[0]], at(101))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "the same token twice: {err}");
    let missing = super::LeaseToken {
        id: WorkItemId::new(ids[3].get() + 1000),
        attempt: 1,
    };
    let err = store
        .complete_batch(&[fresh_tokens[0], missing], at(101))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "an unknown item in a batch: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 4, 0, 0, 0)
    );

    store
        .complete_batch(&fresh_tokens[..3], at(102))
        .await
        .expect("fresh leases");
    for id in &ids[..3] {
        let done = store.work_item(&admin(), *id).await.unwrap().unwrap();
        assert_eq!(done.state, WorkState::Done);
        assert_eq!(done.lease_until, None);
        assert_eq!(done.updated_at, at(102));
    }
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 1, 3, 0, 0)
    );
    let err = store
        .complete_batch(&fresh_tokens[..1], at(103))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "completing twice: {err}");
    // The remaining claim is still held and can finish on its own.
    store.complete(fresh_tokens[3], at(104)).await.unwrap();
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 0, 4, 0, 0)
    );
}

/// `release_claims` gives back claims that were not run: the items are Pending again with
/// the due time and last error they had before the claim (the claim stays counted, so no
/// attempt number is handed out twice), the next claim hands them out at once, and a refused call (the same token twice, an unknown id, a lost lease)
/// gives nothing back.
pub async fn queue_release_claims<S: Store>(store: S) {
    store
        .release_claims(&[], t0())
        .await
        .expect("an empty call");
    let ids = enqueue_records(&store, 4).await;
    let first = store.claim(&admin(), at(1), 4, LEASE).await.unwrap();
    assert_eq!(first.len(), 4);
    // r0 failed once and waits until 2: its error and due time must survive the release.
    store
        .reschedule(
            first[0].lease(),
            at(2),
            StoredError::new("transient", "timeout"),
            at(1),
        )
        .await
        .unwrap();
    let again = store.claim(&admin(), at(2), 4, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (ids[0], 2));
    let tokens = [again[0].lease(), first[1].lease()];

    let err = store
        .release_claims(&[tokens[0], tokens[0]], at(3))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "the same token twice: {err}");
    let missing = super::LeaseToken {
        id: WorkItemId::new(ids[3].get() + 1000),
        attempt: 1,
    };
    let err = store
        .release_claims(&[tokens[0], missing], at(3))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "an unknown item: {err}");
    let err = store
        .release_claims(&[tokens[1], first[0].lease()], at(3))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "a lease lost to a later claim: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 4, 0, 0, 0),
        "a refused call gives nothing back"
    );

    store
        .release_claims(&tokens, at(3))
        .await
        .expect("held leases");
    let r0 = store.work_item(&admin(), ids[0]).await.unwrap().unwrap();
    assert_eq!(r0.state, WorkState::Pending);
    assert_eq!(r0.attempts, 2, "the released claim stays counted");
    assert_eq!(r0.lease_until, None);
    assert_eq!(r0.next_attempt_at, at(2), "the due time is kept");
    assert_eq!(
        r0.last_error.as_ref().map(|e| e.message.as_str()),
        Some("timeout"),
        "the last error is kept"
    );
    assert_eq!(r0.updated_at, at(3));
    let r1 = store.work_item(&admin(), ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (r1.state, r1.attempts, r1.last_error),
        (WorkState::Pending, 1, None)
    );
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(2, 0, 2, 0, 0, 0)
    );
    // Claimable again at once, under new attempt numbers.
    let reclaimed = store.claim(&admin(), at(3), 4, LEASE).await.unwrap();
    assert_eq!(
        reclaimed
            .iter()
            .map(|w| (w.id, w.attempts))
            .collect::<Vec<_>>(),
        vec![(ids[0], 3), (ids[1], 2)]
    );
    // The released tokens are stale now, like any token of an ended claim.
    let err = store.release_claims(&tokens[..1], at(4)).await.unwrap_err();
    assert!(err.is_conflict(), "a released claim's token: {err}");
}

/// Workers that claim and complete in batches, concurrently, never receive the same item
/// for one lease, and every item ends Done once.
pub async fn queue_batch_claims_never_overlap<S: Store>(store: S) {
    const ITEMS: usize = 150;
    const CLAIMERS: usize = 6;
    let ids = enqueue_records(&store, ITEMS).await;
    assert_eq!(ids.len(), ITEMS);
    let mut tasks = Vec::new();
    for _ in 0..CLAIMERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..ITEMS {
                let batch = store.claim(&admin(), at(1), 7, LEASE).await.expect("claim");
                if batch.is_empty() {
                    break;
                }
                let tokens: Vec<_> = batch.iter().map(|w| w.lease()).collect();
                store
                    .complete_batch(&tokens, at(2))
                    .await
                    .expect("complete the batch");
                mine.extend(batch.iter().map(|w| w.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("claimer task"));
    }
    let distinct: HashSet<WorkItemId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an item was handed out twice");
    assert_eq!(all.len(), ITEMS, "every item was claimed");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 0, ITEMS as u64, 0, 0)
    );
}

/// An InFlight item whose lease expired is claimed again (crash recovery).
pub async fn queue_lease_expiry_recovery<S: Store>(store: S) {
    let id = store
        .enqueue(item("r1", "upsert", json!({})), t0())
        .await
        .unwrap();
    let first = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, WorkState::InFlight);
    assert_eq!(first[0].attempts, 1);
    assert_eq!(first[0].lease_until, Some(at(61)));
    assert_eq!(first[0].updated_at, at(1));
    assert!(
        store
            .claim(&admin(), at(60), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "lease still valid one second before expiry"
    );
    let again = store.claim(&admin(), at(61), 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1, "expired lease is reclaimable");
    assert_eq!(again[0].id, id);
    assert_eq!(again[0].attempts, 2, "reclaim counts as an attempt");
    assert_eq!(again[0].lease_until, Some(at(121)));

    // Renewing keeps it away from other claimers.
    store
        .renew_lease(again[0].lease(), at(100), LEASE)
        .await
        .unwrap();
    assert!(
        store
            .claim(&admin(), at(150), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "renewed lease holds until 160"
    );
    assert_eq!(
        store
            .work_item(&admin(), id)
            .await
            .unwrap()
            .unwrap()
            .lease_until,
        Some(at(160))
    );
    store.complete(again[0].lease(), at(151)).await.unwrap();
    let done = store.work_item(&admin(), id).await.unwrap().unwrap();
    assert_eq!(done.state, WorkState::Done);
    assert_eq!(done.lease_until, None);
    assert_eq!(done.updated_at, at(151));
}

/// A lost lease cannot finish the item.
pub async fn queue_lease_fencing<S: Store>(store: S) {
    store
        .enqueue(item("r1", "upsert", json!({})), t0())
        .await
        .unwrap();
    let stale = store.claim(&admin(), at(1), 1, LEASE).await.unwrap()[0].lease();
    let fresh = store.claim(&admin(), at(100), 1, LEASE).await.unwrap()[0].lease();
    assert_eq!(fresh.id, stale.id);
    let err = store.complete(stale, at(101)).await.unwrap_err();
    assert!(err.is_conflict(), "stale complete: {err}");
    let err = store
        .fail(stale, StoredError::new("permanent", "x"), at(101))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale fail: {err}");
    let err = store.renew_lease(stale, at(101), LEASE).await.unwrap_err();
    assert!(err.is_conflict(), "stale renew: {err}");
    store.complete(fresh, at(102)).await.expect("fresh lease");
    let err = store.complete(fresh, at(103)).await.unwrap_err();
    assert!(err.is_conflict(), "completing twice: {err}");
    let missing = super::LeaseToken {
        id: WorkItemId::new(fresh.id.get() + 1000),
        attempt: 1,
    };
    let err = store.complete(missing, at(103)).await.unwrap_err();
    assert!(err.is_not_found(), "unknown item: {err}");

    // An expired lease nobody reclaimed is still honoured.
    store
        .enqueue(item("r2", "upsert", json!({})), at(200))
        .await
        .unwrap();
    let late = store.claim(&admin(), at(200), 1, LEASE).await.unwrap()[0].lease();
    store
        .complete(late, at(1000))
        .await
        .expect("expired but unclaimed lease");
}

/// Reschedule returns an item to Pending with a backoff and the error recorded.
pub async fn queue_reschedule_backoff<S: Store>(store: S) {
    let id = store
        .enqueue(item("r1", "upsert", json!({})), t0())
        .await
        .unwrap();
    let lease = store.claim(&admin(), at(1), 1, LEASE).await.unwrap()[0].lease();
    let error = StoredError::new("transient", "429 Too Many Requests")
        .with_code("429")
        .with_details(json!({"retry_after": 30}));
    store
        .reschedule(lease, at(31), error.clone(), at(2))
        .await
        .unwrap();
    let got = store.work_item(&admin(), id).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::Pending);
    assert_eq!(got.next_attempt_at, at(31));
    assert_eq!(got.lease_until, None);
    assert_eq!(got.last_error, Some(error));
    assert_eq!(got.attempts, 1, "attempts kept");
    assert!(
        store
            .claim(&admin(), at(30), 1, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "not before next_attempt_at"
    );
    let batch = store.claim(&admin(), at(31), 1, LEASE).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].attempts, 2);
}

/// Fail and review park items; replay brings them back with attempts reset.
pub async fn queue_fail_review_replay<S: Store>(store: S) {
    let bad = store
        .enqueue(item("bad", "upsert", json!({})), t0())
        .await
        .unwrap();
    let ambiguous = store
        .enqueue(item("amb", "upsert", json!({})), t0())
        .await
        .unwrap();
    let cost_centre = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::CostCentre,
                "p1",
                "upsert",
                json!({}),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(batch.len(), 3);
    let error = StoredError::new("permanent", "Relatiecode bestaat al").with_code("REL-0008");
    for work in &batch {
        if work.id == ambiguous {
            store
                .needs_review(work.lease(), json!(["two candidates"]), at(2))
                .await
                .unwrap();
        } else {
            store
                .fail(work.lease(), error.clone(), at(2))
                .await
                .unwrap();
        }
    }
    let got = store.work_item(&admin(), bad).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::Failed);
    assert_eq!(got.last_error.as_ref(), Some(&error));
    assert_eq!(got.lease_until, None);
    let got = store.work_item(&admin(), ambiguous).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::NeedsReview);
    assert_eq!(got.review, Some(json!(["two candidates"])));
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 0, 0, 2, 1)
    );
    assert_eq!(
        store
            .list_work(&admin(), Some(WorkState::Failed), 10, 0)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .claim(&admin(), at(3), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "parked items are not claimable"
    );

    // Replay only failed relations.
    let replayed = store
        .replay(
            &ReplayFilter::failed(admin()).kind(EntityKind::Relation),
            at(4),
        )
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let got = store.work_item(&admin(), bad).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::Pending);
    assert_eq!(got.attempts, 0, "attempts reset");
    assert_eq!(got.next_attempt_at, at(4));
    assert_eq!(
        got.last_error.as_ref(),
        Some(&error),
        "last error kept as history"
    );
    assert_eq!(
        store
            .work_item(&admin(), cost_centre)
            .await
            .unwrap()
            .unwrap()
            .state,
        WorkState::Failed,
        "kind filter respected"
    );
    assert_eq!(
        store
            .work_item(&admin(), ambiguous)
            .await
            .unwrap()
            .unwrap()
            .state,
        WorkState::NeedsReview,
        "review items need their own filter"
    );
    let replayed = store
        .replay(&ReplayFilter::needs_review(admin()).crm_id("amb"), at(5))
        .await
        .unwrap();
    assert_eq!(replayed, 1);
    let got = store.work_item(&admin(), ambiguous).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::Pending);
    assert_eq!(got.review, None, "review reasons cleared");
    assert_eq!(
        store
            .replay(&ReplayFilter::failed(other_admin()), at(6))
            .await
            .unwrap(),
        0,
        "other administration untouched"
    );
    let batch = store.claim(&admin(), at(6), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![bad, ambiguous]);
    assert!(batch.iter().all(|w| w.attempts == 1));
}

/// A replay and an enqueue in one atomic step: the record's failed item comes back and takes
/// the new payload (one item, not two); an enqueue refused for an unknown dependency replays
/// nothing either; a filter that selects nothing still enqueues.
pub async fn queue_replay_and_enqueue_atomic<S: Store>(store: S) {
    let first = store
        .enqueue(item("rec", "upload", json!(1)), t0())
        .await
        .unwrap();
    let claimed = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let error = StoredError::new("permanent", "booking not found").with_code("BOOKING_NOT_FOUND");
    store
        .fail(claimed[0].lease(), error.clone(), at(2))
        .await
        .unwrap();
    let stale = || {
        ReplayFilter::failed(admin())
            .kind(EntityKind::Relation)
            .crm_id("rec")
    };

    // Refused: a dependency that does not exist. The failed item stays failed.
    let refused = store
        .replay_and_enqueue(
            &stale(),
            item("rec", "upload", json!(2)).depending_on([WorkItemId::new(first.get() + 1_000)]),
            at(3),
        )
        .await;
    assert!(
        refused.as_ref().is_err_and(|e| e.is_not_found()),
        "an unknown dependency refuses the call: {refused:?}"
    );
    let got = store.work_item(&admin(), first).await.unwrap().unwrap();
    assert_eq!(
        got.state,
        WorkState::Failed,
        "a refused enqueue replays nothing (the two are one atomic step)"
    );
    assert_eq!(got.payload, json!(1));

    // Accepted: the failed item is replayed and the new payload coalesces into it.
    let id = store
        .replay_and_enqueue(&stale(), item("rec", "upload", json!(3)), at(4))
        .await
        .unwrap();
    assert_eq!(id, first, "the replayed item takes the new payload");
    let got = store.work_item(&admin(), first).await.unwrap().unwrap();
    assert_eq!(got.state, WorkState::Pending);
    assert_eq!(got.attempts, 0);
    assert_eq!(got.payload, json!(3));
    assert_eq!(got.next_attempt_at, at(4));
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(1, 0, 0, 0, 0, 0)
    );

    // Nothing to replay: an ordinary enqueue (coalescing into the pending item), and a new
    // record gets a new item.
    let again = store
        .replay_and_enqueue(&stale(), item("rec", "upload", json!(4)), at(5))
        .await
        .unwrap();
    assert_eq!(again, first);
    let other = store
        .replay_and_enqueue(
            &ReplayFilter::failed(admin()).crm_id("other"),
            item("other", "upload", json!(5)),
            at(6),
        )
        .await
        .unwrap();
    assert!(other > first, "a new record gets a new item");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(2, 0, 0, 0, 0, 0)
    );
    assert_eq!(
        store
            .work_item(&admin(), first)
            .await
            .unwrap()
            .unwrap()
            .payload,
        json!(4)
    );
}

/// Dependants of an item in review stay pending and are counted as blocked, transitively;
/// dependants of a failed item are released (claimable), so they can fail naming it.
pub async fn queue_counts_blocked<S: Store>(store: S) {
    let root = store
        .enqueue(item("root", "upsert", json!({})), t0())
        .await
        .unwrap();
    let child = store
        .enqueue(
            item("child", "upsert", json!({})).depending_on([root]),
            t0(),
        )
        .await
        .unwrap();
    store
        .enqueue(
            item("grandchild", "upsert", json!({})).depending_on([child]),
            t0(),
        )
        .await
        .unwrap();
    store
        .enqueue(item("free", "upsert", json!({})).not_before(at(1000)), t0())
        .await
        .unwrap();
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(4, 0, 0, 0, 0, 0),
        "waiting on a pending dependency or a backoff is not blocked"
    );
    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(batch.len(), 1);
    store
        .needs_review(batch[0].lease(), json!({"reasons": ["ambiguous"]}), at(2))
        .await
        .unwrap();
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(1, 2, 0, 0, 0, 1),
        "child and grandchild blocked by the review"
    );
    assert!(
        store
            .claim(&admin(), at(3), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "blocked items are not claimable"
    );
    store
        .replay(&ReplayFilter::needs_review(admin()), at(4))
        .await
        .unwrap();
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(4, 0, 0, 0, 0, 0),
        "replay unblocks"
    );
    let batch = store.claim(&admin(), at(5), 10, LEASE).await.unwrap();
    assert_eq!(batch.len(), 1);
    store
        .fail(
            batch[0].lease(),
            StoredError::new("permanent", "bad"),
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(3, 0, 0, 0, 1, 0),
        "a failed dependency blocks nothing"
    );
    let batch = store.claim(&admin(), at(7), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(
        ids,
        vec![child],
        "the dependant of a failed item is released"
    );
    assert_eq!(
        store.counts(&other_admin()).await.unwrap(),
        QueueCounts::default()
    );
}

/// `list_work` filters by state and pages by offset, in id order.
pub async fn queue_list_paging<S: Store>(store: S) {
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(
            store
                .enqueue(item(&format!("r{n}"), "upsert", json!(n)), t0())
                .await
                .unwrap(),
        );
    }
    let batch = store.claim(&admin(), at(1), 2, LEASE).await.unwrap();
    assert_eq!(batch.len(), 2);
    let page: Vec<WorkItemId> = store
        .list_work(&admin(), None, 3, 2)
        .await
        .unwrap()
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(page, ids[2..5].to_vec());
    let pending: Vec<WorkItemId> = store
        .list_work(&admin(), Some(WorkState::Pending), 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(pending, ids[2..].to_vec());
    let in_flight = store
        .list_work(&admin(), Some(WorkState::InFlight), 10, 1)
        .await
        .unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0].id, ids[1]);
    assert!(
        store
            .list_work(&other_admin(), None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Old Done items are pruned, except those still depended upon; ids are not reused.
pub async fn queue_prune_done<S: Store>(store: S) {
    let old = store
        .enqueue(item("old", "upsert", json!({})), t0())
        .await
        .unwrap();
    let needed = store
        .enqueue(item("needed", "upsert", json!({})), t0())
        .await
        .unwrap();
    let recent = store
        .enqueue(item("recent", "upsert", json!({})), t0())
        .await
        .unwrap();
    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(batch.len(), 3);
    for work in &batch {
        let when = if work.id == recent { at(500) } else { at(2) };
        store.complete(work.lease(), when).await.unwrap();
    }
    let dependant = store
        .enqueue(
            item("dependant", "upsert", json!({}))
                .depending_on([needed])
                .not_before(at(10_000)),
            at(3),
        )
        .await
        .unwrap();
    // Another administration's old Done item: not this administration's to prune.
    let foreign = store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "old",
                "upsert",
                json!({}),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    let claimed = store.claim(&other_admin(), at(1), 10, LEASE).await.unwrap();
    store.complete(claimed[0].lease(), at(2)).await.unwrap();
    assert_eq!(store.prune_done(&admin(), at(100)).await.unwrap(), 1);
    assert!(
        store
            .work_item(&other_admin(), foreign)
            .await
            .unwrap()
            .is_some(),
        "pruning is scoped by administration"
    );
    assert_eq!(store.prune_done(&other_admin(), at(100)).await.unwrap(), 1);
    assert_eq!(
        store.work_item(&admin(), old).await.unwrap(),
        None,
        "old done item pruned"
    );
    assert!(
        store.work_item(&admin(), needed).await.unwrap().is_some(),
        "still a dependency"
    );
    assert!(
        store.work_item(&admin(), recent).await.unwrap().is_some(),
        "too recent"
    );
    let next = store
        .enqueue(item("new", "upsert", json!({})), at(4))
        .await
        .unwrap();
    assert!(next > dependant, "ids are never reused");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(2, 0, 0, 2, 0, 0)
    );
}

/// The audit log returns entries newest first, in append order, per administration.
pub async fn audit_order<S: Store>(store: S) {
    for n in 0..5i64 {
        // Times deliberately out of order: append order wins.
        let entry = AuditEntry::new(
            at(100 - n * 10),
            admin(),
            EntityKind::Relation,
            "create",
            format!("POST /relaties #{n}"),
            if n == 3 {
                AuditOutcome::Error("REL-0008: Relatiecode bestaat al".into())
            } else {
                AuditOutcome::Ok
            },
        )
        .with_crm_id(format!("r{n}"))
        .with_snelstart_id(uuid(n as u128));
        store.append_audit(entry).await.unwrap();
    }
    store
        .append_audit(AuditEntry::new(
            at(0),
            other_admin(),
            EntityKind::CostCentre,
            "update",
            "PUT /kostenplaatsen",
            AuditOutcome::Ok,
        ))
        .await
        .unwrap();
    let recent = store.recent_audit(&admin(), 3).await.unwrap();
    let summaries: Vec<&str> = recent.iter().map(|e| e.request_summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "POST /relaties #4",
            "POST /relaties #3",
            "POST /relaties #2"
        ]
    );
    assert_eq!(
        recent[1].outcome,
        AuditOutcome::Error("REL-0008: Relatiecode bestaat al".into())
    );
    assert_eq!(recent[1].crm_id.as_deref(), Some("r3"));
    assert_eq!(recent[1].snelstart_id, Some(uuid(3)));
    assert_eq!(recent[1].at, at(70));
    let other = store.recent_audit(&other_admin(), 10).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].crm_id, None);
    assert_eq!(other[0].snelstart_id, None);
    // Prune by time, per administration: entries at 60 and 70 are older than 75; the other
    // administration's entry at 0 is not this administration's to prune.
    assert_eq!(store.prune_audit(&admin(), at(75)).await.unwrap(), 2);
    assert_eq!(store.recent_audit(&admin(), 10).await.unwrap().len(), 3);
    assert_eq!(
        store.recent_audit(&other_admin(), 10).await.unwrap().len(),
        1
    );
    assert_eq!(store.prune_audit(&other_admin(), at(75)).await.unwrap(), 1);
}

/// Configuration versions: 1, 2, 3 with compare-and-swap on the latest.
pub async fn config_versions_cas<S: Store>(store: S) {
    assert_eq!(store.latest_config(&admin()).await.unwrap(), None);
    assert!(store.config_versions(&admin()).await.unwrap().is_empty());
    let err = store
        .save_config(&admin(), json!({"v": 0}), Some(1), t0())
        .await
        .unwrap_err();
    assert!(
        err.is_conflict(),
        "expected version that does not exist: {err}"
    );
    let v1 = store
        .save_config(&admin(), json!({"v": 1}), None, at(1))
        .await
        .unwrap();
    assert_eq!(v1, 1);
    let err = store
        .save_config(&admin(), json!({"v": 2}), None, at(2))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "stale None: {err}");
    let v2 = store
        .save_config(&admin(), json!({"v": 2}), Some(1), at(2))
        .await
        .unwrap();
    assert_eq!(v2, 2);
    let latest = store.latest_config(&admin()).await.unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.document, json!({"v": 2}));
    assert_eq!(latest.saved_at, at(2));
    let first = store.config(&admin(), 1).await.unwrap().unwrap();
    assert_eq!(first.document, json!({"v": 1}));
    assert_eq!(store.config(&admin(), 3).await.unwrap(), None);
    assert_eq!(store.config_versions(&admin()).await.unwrap(), vec![1, 2]);
    assert_eq!(store.latest_config(&other_admin()).await.unwrap(), None);

    // Racing saves from the same base: exactly one wins.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .save_config(&admin(), json!({"racer": n}), Some(2), at(3))
                .await
                .is_ok()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("task"));
    }
    assert_eq!(winners, 1, "exactly one save wins the race");
    assert_eq!(
        store.config_versions(&admin()).await.unwrap(),
        vec![1, 2, 3]
    );
}

/// Nothing leaks between administrations in the queue.
pub async fn admins_are_isolated<S: Store>(store: S) {
    let a = store
        .enqueue(item("r1", "upsert", json!("a")), t0())
        .await
        .unwrap();
    let b = store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "r1",
                "upsert",
                json!("b"),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    assert_ne!(a, b, "same record in two administrations: two items");
    let batch = store.claim(&other_admin(), at(1), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(ids, vec![b], "claim is per administration");
    let batch = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    let ids: Vec<WorkItemId> = batch.iter().map(|w| w.id).collect();
    assert_eq!(
        ids,
        vec![a],
        "other administration's in-flight item does not block"
    );
}

/// Summaries carry everything but the payload; `record_items` lists one record's items in id
/// order, every state and operation, and nothing of other records or administrations.
pub async fn queue_summaries_without_payloads<S: Store>(store: S) {
    let big = json!({"pdf": "A".repeat(10_000)});
    let first = store
        .enqueue(item("r1", "upsert", big.clone()), t0())
        .await
        .unwrap();
    let claimed = store.claim(&admin(), at(1), 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let error = StoredError::new("permanent", "bad IBAN").with_code("REL-0010");
    store
        .fail(claimed[0].lease(), error.clone(), at(2))
        .await
        .unwrap();
    let archive = store
        .enqueue(item("r1", "archive", json!({})), at(3))
        .await
        .unwrap();
    let _other_record = store
        .enqueue(item("r2", "upsert", json!({})), at(3))
        .await
        .unwrap();
    let _other_admin = store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "r1",
                "upsert",
                json!({}),
                t0(),
            ),
            at(3),
        )
        .await
        .unwrap();
    let _other_kind = store
        .enqueue(
            NewWorkItem::new(
                admin(),
                EntityKind::CostCentre,
                "r1",
                "upsert",
                json!({}),
                t0(),
            ),
            at(3),
        )
        .await
        .unwrap();

    let items = store
        .record_items(&admin(), EntityKind::Relation, "r1")
        .await
        .unwrap();
    let ids: Vec<WorkItemId> = items.iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![first, archive], "one record's items, in id order");
    let failed = &items[0];
    assert_eq!(failed.state, WorkState::Failed);
    assert_eq!(failed.operation, "upsert");
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_error.as_ref(), Some(&error));
    assert_eq!(failed.updated_at, at(2));
    assert_eq!(failed.created_at, t0());
    let full = store.work_item(&admin(), first).await.unwrap().unwrap();
    assert_eq!(
        WorkSummary::from(&full),
        *failed,
        "a summary is the item without payload"
    );
    assert_eq!(full.payload, big, "the payload itself is kept");
    assert!(
        store
            .record_items(&admin(), EntityKind::Relation, "nobody")
            .await
            .unwrap()
            .is_empty()
    );

    // Keyset paging of summaries, per state.
    let all = store
        .list_summaries(&admin(), None, None, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 4, "every item of the administration: {all:?}");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ascending ids");
    let page1 = store.list_summaries(&admin(), None, None, 2).await.unwrap();
    let page2 = store
        .list_summaries(&admin(), None, page1.last().map(|i| i.id), 2)
        .await
        .unwrap();
    let paged: Vec<WorkItemId> = page1.iter().chain(&page2).map(|i| i.id).collect();
    let every: Vec<WorkItemId> = all.iter().map(|i| i.id).collect();
    assert_eq!(paged, every, "pages join up without gaps or repeats");
    let failed_only = store
        .list_summaries(&admin(), Some(WorkState::Failed), None, 100)
        .await
        .unwrap();
    assert_eq!(failed_only.len(), 1);
    assert_eq!(failed_only[0].id, first);
    assert!(
        store
            .list_summaries(&admin(), Some(WorkState::Failed), Some(first), 100)
            .await
            .unwrap()
            .is_empty(),
        "strictly after"
    );
}

/// `next_due`: the earliest future retry of a Pending item or the earliest lease of an
/// InFlight one, per administration.
pub async fn queue_next_due<S: Store>(store: S) {
    assert_eq!(
        store.next_due(&admin(), t0()).await.unwrap(),
        None,
        "empty queue"
    );
    // Due now: not reported (it waits for something other than time, or is claimed next).
    store
        .enqueue(item("now", "upsert", json!({})), t0())
        .await
        .unwrap();
    assert_eq!(store.next_due(&admin(), at(1)).await.unwrap(), None);
    store
        .enqueue(item("later", "upsert", json!({})).not_before(at(500)), t0())
        .await
        .unwrap();
    store
        .enqueue(item("soon", "upsert", json!({})).not_before(at(300)), t0())
        .await
        .unwrap();
    store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "x",
                "upsert",
                json!({}),
                t0(),
            )
            .not_before(at(50)),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_due(&admin(), at(1)).await.unwrap(),
        Some(at(300)),
        "earliest future retry of this administration"
    );
    // A claim's lease (60 s from 2) is earlier still.
    let claimed = store.claim(&admin(), at(2), 1, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(store.next_due(&admin(), at(3)).await.unwrap(), Some(at(62)));
    // An expired lease is reported as it stands (due at once).
    assert_eq!(
        store.next_due(&admin(), at(100)).await.unwrap(),
        Some(at(62))
    );
    store.complete(claimed[0].lease(), at(4)).await.unwrap();
    assert_eq!(
        store.next_due(&admin(), at(5)).await.unwrap(),
        Some(at(300))
    );
    // Failed, review and done items are never due.
    let claimed = store.claim(&admin(), at(400), 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1, "only `soon` is due at 400");
    store
        .fail(
            claimed[0].lease(),
            StoredError::new("permanent", "no"),
            at(401),
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_due(&admin(), at(402)).await.unwrap(),
        Some(at(500))
    );
    assert_eq!(store.next_due(&admin(), at(600)).await.unwrap(), None);
    assert_eq!(
        store.next_due(&other_admin(), t0()).await.unwrap(),
        Some(at(50))
    );
}

/// Ids, dependencies and lookups never cross administrations: another administration's item
/// reads as unknown, and cannot be a dependency.
pub async fn queue_scoped_lookups_and_dependencies<S: Store>(store: S) {
    let theirs = store
        .enqueue(
            NewWorkItem::new(
                other_admin(),
                EntityKind::Relation,
                "r1",
                "upsert",
                json!("b"),
                t0(),
            ),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.work_item(&admin(), theirs).await.unwrap(),
        None,
        "another administration's item reads as unknown"
    );
    assert!(
        store
            .work_item(&other_admin(), theirs)
            .await
            .unwrap()
            .is_some()
    );
    let err = store
        .enqueue(
            item("inv-1", "upsert", json!({})).depending_on([theirs]),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(
        err.is_not_found(),
        "a dependency in another administration is refused as unknown: {err}"
    );
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 0, 0, 0, 0),
        "the refused enqueue changed nothing"
    );
    assert!(
        store
            .record_items(&admin(), EntityKind::Relation, "r1")
            .await
            .unwrap()
            .is_empty()
    );
    // Their review does not block our items, and our replay does not touch theirs.
    let claimed = store.claim(&other_admin(), at(1), 10, LEASE).await.unwrap();
    store
        .needs_review(claimed[0].lease(), json!(["ambiguous"]), at(2))
        .await
        .unwrap();
    assert_eq!(
        store
            .replay(&ReplayFilter::needs_review(admin()), at(3))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .work_item(&other_admin(), theirs)
            .await
            .unwrap()
            .unwrap()
            .state,
        WorkState::NeedsReview
    );
}

fn event(key: &str) -> NewOutboxEvent {
    NewOutboxEvent::new(key, json!({ "event": "linked", "key": key }))
}

/// `finish_batch` records all four outcomes with their events in one atomic step: a refused
/// token (lost lease, twice in one batch, unknown) writes neither outcomes nor events, and
/// events take their item's administration.
pub async fn outbox_stored_with_outcome<S: Store>(store: S) {
    store
        .finish_batch(Vec::new(), t0())
        .await
        .expect("an empty batch");
    let ids = enqueue_records(&store, 4).await;
    let mut other = item("o", "upsert", json!("other"));
    other.admin = other_admin();
    store.enqueue(other, t0()).await.unwrap();
    let claimed = store.claim(&admin(), at(1), 4, LEASE).await.unwrap();
    let tokens: Vec<_> = claimed.iter().map(|w| w.lease()).collect();
    let outcomes = || {
        vec![
            FinishedItem::new(
                tokens[0],
                ItemOutcome::Done,
                vec![event("k0a"), event("k0b")],
            ),
            FinishedItem::new(
                tokens[1],
                ItemOutcome::Retry {
                    at: at(50),
                    error: StoredError::new("transient", "later"),
                },
                vec![event("k1")],
            ),
            FinishedItem::new(
                tokens[2],
                ItemOutcome::Failed(StoredError::new("permanent", "bad")),
                vec![event("k2")],
            ),
            FinishedItem::new(
                tokens[3],
                ItemOutcome::NeedsReview(json!({ "why": "twins" })),
                Vec::new(),
            ),
        ]
    };

    // Refused batches write nothing, events included.
    let mut twice = outcomes();
    twice.push(FinishedItem::new(
        tokens[0],
        ItemOutcome::Done,
        vec![event("x")],
    ));
    let err = store.finish_batch(twice, at(2)).await.unwrap_err();
    assert!(err.is_conflict(), "the same token twice: {err}");
    let mut stale = outcomes();
    stale[3].token.attempt += 1;
    let err = store.finish_batch(stale, at(2)).await.unwrap_err();
    assert!(err.is_conflict(), "a lost lease: {err}");
    let mut unknown = outcomes();
    unknown[3].token.id = WorkItemId::new(ids[3].get() + 1000);
    let err = store.finish_batch(unknown, at(2)).await.unwrap_err();
    assert!(err.is_not_found(), "an unknown item: {err}");
    assert_eq!(
        store.counts(&admin()).await.unwrap(),
        counts(0, 0, 4, 0, 0, 0),
        "refused batches change no item"
    );
    assert_eq!(store.outbox_backlog(&admin()).await.unwrap().waiting, 0);
    assert!(
        store
            .claim_outbox(&admin(), at(2), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "refused batches store no event"
    );

    store.finish_batch(outcomes(), at(2)).await.expect("finish");
    let done = store.work_item(&admin(), ids[0]).await.unwrap().unwrap();
    assert_eq!((done.state, done.lease_until), (WorkState::Done, None));
    let retry = store.work_item(&admin(), ids[1]).await.unwrap().unwrap();
    assert_eq!(retry.state, WorkState::Pending);
    assert_eq!(retry.next_attempt_at, at(50));
    assert_eq!(retry.last_error.unwrap().message, "later");
    let failed = store.work_item(&admin(), ids[2]).await.unwrap().unwrap();
    assert_eq!(failed.state, WorkState::Failed);
    assert_eq!(failed.last_error.unwrap().message, "bad");
    let review = store.work_item(&admin(), ids[3]).await.unwrap().unwrap();
    assert_eq!(review.state, WorkState::NeedsReview);
    assert_eq!(review.review, Some(json!({ "why": "twins" })));
    assert_eq!(review.updated_at, at(2));

    let backlog = store.outbox_backlog(&admin()).await.unwrap();
    assert_eq!((backlog.waiting, backlog.next_attempt_at), (4, Some(at(2))));
    assert_eq!(
        store.outbox_backlog(&other_admin()).await.unwrap().waiting,
        0
    );
    let events = store
        .claim_outbox(&admin(), at(3), 10, LEASE)
        .await
        .unwrap();
    let keys: Vec<&str> = events.iter().map(|e| e.idempotency_key.as_str()).collect();
    assert_eq!(keys, ["k0a", "k0b", "k1", "k2"], "in the order stored");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    for e in &events {
        assert_eq!(e.admin, admin());
        assert_eq!(e.attempts, 1);
        assert_eq!(e.created_at, at(2));
        assert_eq!(e.next_attempt_at, at(3) + TimeDelta::seconds(60));
        assert_eq!(e.event["key"], json!(e.idempotency_key));
    }
    // A second outcome for a finished item is refused and stores nothing.
    let err = store
        .finish_batch(
            vec![FinishedItem::new(
                tokens[0],
                ItemOutcome::Done,
                vec![event("late")],
            )],
            at(4),
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "finishing twice: {err}");
    assert_eq!(store.outbox_backlog(&admin()).await.unwrap().waiting, 4);
}

/// `finish_batch` appends each item's audit entries (in order, every field kept) with the
/// outcomes, and none when the batch is refused.
pub async fn audit_stored_with_outcome<S: Store>(store: S) {
    enqueue_records(&store, 2).await;
    let claimed = store.claim(&admin(), at(1), 2, LEASE).await.unwrap();
    let entry = |n: u128, outcome: AuditOutcome| {
        AuditEntry::new(
            at(1),
            admin(),
            EntityKind::Relation,
            "create",
            format!("POST /relaties #{n}"),
            outcome,
        )
        .with_crm_id(format!("r{n}"))
        .with_snelstart_id(uuid(n))
    };
    let batch = |attempt_offset: u32| {
        claimed
            .iter()
            .enumerate()
            .map(|(n, w)| {
                let mut token = w.lease();
                if n == 1 {
                    token.attempt += attempt_offset;
                }
                let n = n as u128 * 2;
                FinishedItem::new(token, ItemOutcome::Done, Vec::new()).with_audit(vec![
                    entry(n, AuditOutcome::Ok),
                    entry(n + 1, AuditOutcome::Error("REL-0008".into())),
                ])
            })
            .collect::<Vec<_>>()
    };
    let err = store.finish_batch(batch(1), at(2)).await.unwrap_err();
    assert!(err.is_conflict(), "a lost lease: {err}");
    assert!(
        store.recent_audit(&admin(), 10).await.unwrap().is_empty(),
        "a refused batch appends no audit entry"
    );
    store.finish_batch(batch(0), at(2)).await.expect("finish");
    let recent = store.recent_audit(&admin(), 10).await.unwrap();
    let summaries: Vec<&str> = recent.iter().map(|e| e.request_summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "POST /relaties #3",
            "POST /relaties #2",
            "POST /relaties #1",
            "POST /relaties #0"
        ],
        "newest first, in the order given"
    );
    assert_eq!(recent[3], entry(0, AuditOutcome::Ok));
    assert_eq!(recent[2], entry(1, AuditOutcome::Error("REL-0008".into())));
    assert!(
        store
            .recent_audit(&other_admin(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Delivery leases: a claimed event is not handed out again until its lease ends or it is
/// handed back; ack deletes it once; retry makes it due at the given time; another
/// administration can neither see, ack nor retry it.
pub async fn outbox_delivery_leases<S: Store>(store: S) {
    enqueue_records(&store, 3).await;
    let claimed = store.claim(&admin(), at(1), 3, LEASE).await.unwrap();
    let finished = claimed
        .iter()
        .enumerate()
        .map(|(n, w)| {
            FinishedItem::new(w.lease(), ItemOutcome::Done, vec![event(&format!("e{n}"))])
        })
        .collect();
    store.finish_batch(finished, at(2)).await.unwrap();

    let first = store
        .claim_outbox(&admin(), at(10), 2, LEASE)
        .await
        .unwrap();
    assert_eq!(first.len(), 2, "limit");
    assert!(
        store
            .claim_outbox(&other_admin(), at(10), 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "scoped by administration"
    );
    let rest = store
        .claim_outbox(&admin(), at(10), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "leased events are not handed out twice");
    assert_eq!(rest[0].idempotency_key, "e2");
    assert!(
        store
            .claim_outbox(&admin(), at(11), 10, LEASE)
            .await
            .unwrap()
            .is_empty()
    );

    // Another administration cannot touch them.
    assert_eq!(
        store
            .ack_outbox(&other_admin(), &[first[0].id])
            .await
            .unwrap(),
        0
    );
    let err = store
        .retry_outbox(&other_admin(), first[0].id, at(12), None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    assert_eq!(store.ack_outbox(&admin(), &[]).await.unwrap(), 0);
    assert_eq!(store.ack_outbox(&admin(), &[first[0].id]).await.unwrap(), 1);
    assert_eq!(
        store.ack_outbox(&admin(), &[first[0].id]).await.unwrap(),
        0,
        "acked once"
    );
    store
        .retry_outbox(&admin(), first[1].id, at(30), Some("sink down"))
        .await
        .unwrap();
    store
        .retry_outbox(&admin(), rest[0].id, at(12), None)
        .await
        .unwrap();
    let backlog = store.outbox_backlog(&admin()).await.unwrap();
    assert_eq!(
        (backlog.waiting, backlog.next_attempt_at),
        (2, Some(at(12)))
    );
    let again = store
        .claim_outbox(&admin(), at(12), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "not before its retry time");
    assert_eq!(
        (again[0].idempotency_key.as_str(), again[0].attempts),
        ("e2", 2)
    );
    let later = store
        .claim_outbox(&admin(), at(30), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].idempotency_key, "e1");
    assert_eq!(later[0].last_error.as_deref(), Some("sink down"));
    // A deliverer that died: the lease ends and the event is due again.
    let expired = store
        .claim_outbox(&admin(), at(30) + TimeDelta::seconds(60), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(expired.len(), 2, "both leases ended");
    assert_eq!(expired[0].attempts, 3);
    let both: Vec<_> = expired.iter().map(|e| e.id).collect();
    assert_eq!(
        store.ack_outbox(&admin(), &both).await.unwrap(),
        2,
        "one step for a page"
    );
    assert_eq!(store.outbox_backlog(&admin()).await.unwrap().waiting, 0);
}
