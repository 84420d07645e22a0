//! Store round trips per request (issue 11), counted on the in-memory store
//! behind the configuration cache, as DynamoDB bills them (a batch get is
//! one, a query is one, a transaction is one): `calc` ≤ 3, `commit` ≤ 3 with
//! the outbox clean-up, reads ≤ 2; configuration (caller, branch, car types,
//! tariffs) comes from the cache once warm.

use onecard_core::config;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_core::sitelink::NoSites;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::memstore::{Counts, MemStore};
use onecard_core::{dispatch, Ctx, Origin, Ports};
use serde_json::{json, Value};
use std::sync::Arc;

type Counted = crate::demo_ctx::DemoKit<MemStore>;

impl Counted {
    async fn new() -> Counted {
        Counted::over(Arc::new(MemStore::new()), "trips").await
    }

    /// Runs a route's handler; answers its data and the round trips it took.
    async fn trips(&self, route: &str, data: Value) -> (Value, Counts) {
        let before = self.store.counts();
        let r = self.run(route, data).await;
        let after = self.store.counts();
        let data = r.unwrap_or_else(|e| panic!("{route}: {e}")).data;
        (data, Counts { reads: after.reads - before.reads, writes: after.writes - before.writes })
    }
}

impl Counted {
    /// Runs a route that must refuse; answers the code.
    async fn refused(&self, route: &str, data: Value) -> i64 {
        match self.run(route, data).await {
            Ok(r) => panic!("{route} answered {}", r.data),
            Err(e) => e.code.0,
        }
    }
}

fn total(c: Counts) -> u64 {
    c.reads + c.writes
}

#[tokio::test]
async fn calc_commit_and_reads_stay_within_their_round_trips() {
    let k = Counted::new().await;
    for (i, plate) in ["浙A10001", "浙A10002"].iter().enumerate() {
        k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": format!("IN{i}"), "licensePlate": plate, "inDate": "2026-03-02 09:00:00"}))
            .await;
    }
    // Warm the configuration cache (car types, tariffs) as any earlier request would.
    k.trips("calc", json!({"credentialtype": "1", "credential": "浙A10002", "calcendtime": "1970-01-01 00:00:00"})).await;

    let (quote, calc) = k.trips("calc", json!({"credentialtype": "1", "credential": "浙A10001", "calcendtime": "1970-01-01 00:00:00"})).await;
    // Two batch gets: (1) the in-park index, the plate's card and the car's
    // discount index (issue 14's coupons, merchant and plate discounts, one
    // item per car: `discounts::car_index`); (2) the stay and its card. Then
    // the order's put. It was 5 before the batches, 4 with the discounts'
    // partition query.
    assert_eq!(calc.reads, 2, "calc reads in two batch gets: {calc:?}");
    assert_eq!(calc.writes, 1, "calc writes its order only: {calc:?}");
    assert!(total(calc) <= 3, "calc took {calc:?}");

    let (_, got) = k.trips("park.order.get", json!({"orderNo": quote["orderNo"]})).await;
    assert!(total(got) <= 2 && got.writes == 0, "6.26 reads the order, no more than 2 round trips: {got:?}");
    let (lot, trips) = k.trips("park.lot.status.total", json!({"includeDetails": "1"})).await;
    // The occupancy counter (one batch get, counted once on first read above
    // or here) and the branch's pending bookings.
    assert_eq!(lot["details"][0]["remain"], json!((k.branch.areas[0].capacity - 2).to_string()));
    let (_, trips2) = k.trips("park.lot.status.total", json!({"includeDetails": "1"})).await;
    assert!(total(trips2) <= 2 && trips2.writes == 0, "6.3 reads the counter and the bookings: {trips2:?} (first {trips:?})");
    let (rows, found) = k.trips("park.in.info", json!({"credentialtype": "1", "credential": "浙A10001"})).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert!(total(found) <= 2 && found.writes == 0, "6.9 by plate reads the index, then the stay: {found:?}");

    let (_, commit) = k
        .trips("commit", json!({"credentialtype": "1", "credential": "浙A10001", "parkcost": quote["parkcost"], "orderNo": quote["orderNo"], "payType": "7"}))
        .await;
    // One read, the order: the stay is the one the order saw at calc
    // (`Order::stay_seen`), its write conditioned on that version. The
    // transaction. Then, on DynamoDB, the outbox item cleared once the event
    // is on SQS (the embedded store queues it inside the transaction and has
    // nothing to clear). It was 4: the stay was read after the order.
    assert_eq!(commit.reads, 1, "commit reads the order only: {commit:?}");
    assert_eq!(commit.writes, 2, "the transaction and the outbox clean-up: {commit:?}");
    assert!(total(commit) <= 3, "commit took {commit:?}");

    // With the payer's trade id: its record and the order in the same batch.
    let (quote, _) = k.trips("calc", json!({"credentialtype": "1", "credential": "浙A10002", "calcendtime": "1970-01-01 00:00:00"})).await;
    let (_, commit) = k
        .trips(
            "commit",
            json!({"credentialtype": "1", "credential": "浙A10002", "parkcost": quote["parkcost"], "orderNo": quote["orderNo"], "payType": "7", "thirdPayId": "WX0001"}),
        )
        .await;
    assert_eq!(commit.reads, 1, "the trade id and the order in one batch get: {commit:?}");
    assert!(total(commit) <= 3, "commit with thirdPayId took {commit:?}");
    let repeat = k.refused("commit", json!({"credentialtype": "1", "credential": "浙A10002", "parkcost": quote["parkcost"], "orderNo": quote["orderNo"], "payType": "7", "thirdPayId": "WX0001"})).await;
    assert_eq!(repeat, 511, "a repeated trade is a duplicate");
}

/// A car with discounts costs its discounts' own records on top of the
/// budget, never a query: the car's index is the item read with the stay.
#[tokio::test]
async fn a_car_with_discounts_is_priced_from_its_index_item() {
    let k = Counted::new().await;
    let plate = "浙A30001";
    k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": "PD1", "licensePlate": plate, "inDate": "2026-03-02 09:00:00"})).await;
    let (plain, _) = k.trips("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"})).await;
    k.trips(
        "park.licensePlateDiscount.add",
        json!({"licensePlate": plate, "startTime": "2026-03-01 00:00:00", "endTime": "2026-03-03 00:00:00", "businessId": "1", "discountId": "1"}),
    )
    .await;
    let (quote, calc) = k.trips("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"})).await;
    assert_ne!(quote["amount"], plain["amount"], "the plate discount applies: {quote} vs {plain}");
    assert_eq!(calc.writes, 1, "{calc:?}");
    // The two batches, then the discounts' records with their uses by this
    // stay in one batch, and the merchants that pay in another, however
    // many discounts the car has (their discount sets are configuration).
    assert_eq!(calc.reads, 2 + 2, "calc of a car with a plate discount took {calc:?}");
    let (_, commit) = k
        .trips("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": quote["parkcost"], "amount": quote["amount"], "orderNo": quote["orderNo"], "payType": "7"}))
        .await;
    assert_eq!(commit.writes, 2, "the transaction and the outbox clean-up: {commit:?}");
}

/// The stay the order saw is only a first guess: a stay written since (here
/// an edit of another field) fails the guessed transaction, and the retry
/// pays against the stay as stored, keeping what changed.
#[tokio::test]
async fn a_stay_changed_after_the_quote_is_read_again_and_kept() {
    let k = Counted::new().await;
    let b = config::DEMO_BRANCH;
    k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": "SC1", "licensePlate": "浙A40001", "inDate": "2026-03-02 09:00:00"})).await;
    let (quote, _) = k.trips("calc", json!({"credentialtype": "1", "credential": "浙A40001", "calcendtime": "1970-01-01 00:00:00"})).await;
    let (mut stay, v) = super::stays::get(&k.ctx, b, "SC1").await.unwrap().unwrap();
    stay.in_controller_name = "renamed".into();
    k.ctx.store.transact(vec![stay.write_over(b, v)]).await.unwrap();
    let (_, commit) = k
        .trips("commit", json!({"credentialtype": "1", "credential": "浙A40001", "parkcost": quote["parkcost"], "orderNo": quote["orderNo"], "payType": "7"}))
        .await;
    assert_eq!(commit.reads, 1 + 2, "the order, then the order and the stay again: {commit:?}");
    assert_eq!(commit.writes, 3, "the guessed transaction, the real one, the clean-up: {commit:?}");
    let (paid, _) = super::stays::get(&k.ctx, b, "SC1").await.unwrap().unwrap();
    assert_eq!(paid.in_controller_name, "renamed", "the change made meanwhile is kept");
    assert_eq!(paid.payments.len(), 1);
    assert_eq!(json!(paid.settled.yuan()), quote["parkcost"]);
}

/// Two orders quoted before either was paid: paying the first moves the
/// stay on, so the second, guessed against the stay it saw, is read again
/// and refused as stale (510), never paid twice.
#[tokio::test]
async fn an_order_quoted_before_another_payment_is_stale() {
    let k = Counted::new().await;
    k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": "ST1", "licensePlate": "浙A50001", "inDate": "2026-03-02 09:00:00"})).await;
    let calc = json!({"credentialtype": "1", "credential": "浙A50001", "calcendtime": "1970-01-01 00:00:00"});
    let (first, _) = k.trips("calc", calc.clone()).await;
    let (second, _) = k.trips("calc", calc).await;
    let pay = |q: &Value| json!({"credentialtype": "1", "credential": "浙A50001", "parkcost": q["parkcost"], "orderNo": q["orderNo"], "payType": "7"});
    k.trips("commit", pay(&first)).await;
    assert_eq!(k.refused("commit", pay(&second)).await, 510);
    assert_eq!(k.refused("commit", pay(&first)).await, 511);
    let (stay, _) = super::stays::get(&k.ctx, config::DEMO_BRANCH, "ST1").await.unwrap().unwrap();
    assert_eq!(stay.payments.len(), 1);
}

#[tokio::test]
async fn listing_cars_in_the_park_reads_the_stays_in_one_batch() {
    let k = Counted::new().await;
    for i in 0..20 {
        k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": format!("IN{i}"), "licensePlate": format!("浙B2{i:04}"), "inDate": "2026-03-02 09:00:00"}))
            .await;
    }
    let before = k.store.counts();
    let stays = super::stays::all_in_park(&k.ctx, config::DEMO_BRANCH).await.unwrap();
    let after = k.store.counts();
    assert_eq!(stays.len(), 20);
    assert_eq!(after.reads - before.reads, 2, "the index query and one batch get, not one get per car");
}

/// The counter against the index it stands for: entries, a repeat, a
/// supersede into another area, a late older upload, exits.
#[tokio::test]
async fn the_occupancy_counter_follows_the_in_park_index() {
    let mut k = Counted::new().await;
    let b = config::DEMO_BRANCH;
    k.branch.areas.push(config::Area { id: "2".into(), name: "二区".into(), capacity: 20 });
    config::put_branch(&*k.store, &k.branch).await.unwrap();
    let areas: Vec<String> = k.branch.areas.iter().map(|a| a.id.clone()).collect();
    let second = areas[1].clone();
    let enter = |id: &str, plate: &str, area: &str, at: &str| {
        json!({"areaId": area, "cardInId": id, "licensePlate": plate, "inDate": at})
    };
    let from_index = || async {
        let mut m = super::occupancy::PerArea::new();
        for i in k.ctx.store.query_all(&onecard_core::store::Query::partition(crate::keys::in_park(b))).await.unwrap() {
            *m.entry(i.body["area"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
        m
    };
    for i in 0..12 {
        k.trips("cat.upload.indata", enter(&format!("E{i}"), &format!("浙C3{i:04}"), &areas[0], "2026-03-02 09:00:00")).await;
    }
    k.trips("cat.upload.indata", enter("E3", "浙C30003", &areas[0], "2026-03-02 09:00:00")).await;
    // A missed exit: the same car again, in the other area; then a late upload of an older visit.
    k.trips("cat.upload.indata", enter("E3b", "浙C30003", &second, "2026-03-02 10:00:00")).await;
    k.trips("cat.upload.indata", enter("E3a", "浙C30003", &areas[0], "2026-03-02 09:30:00")).await;
    for i in [0, 1, 2, 3, 5] {
        k.trips("cat.upload.outdata", json!({"areaId": &areas[0], "cardInId": format!("E{i}"), "outDate": "2026-03-02 11:00:00"})).await;
    }
    k.trips("cat.upload.outdata", json!({"areaId": &second, "cardInId": "E3b", "outDate": "2026-03-02 11:00:00"})).await;
    let counted = super::occupancy::per_area(&k.ctx, b).await.unwrap();
    assert_eq!(counted, from_index().await);
    // E3b left from the second area; E3a came late and was history only.
    assert_eq!(counted.values().sum::<i64>(), 7);
    assert_eq!(counted.get(&second), None);
    // What the recount of a store written before the counter finds is the same.
    assert_eq!(super::occupancy::recount(&k.ctx, b).await.unwrap(), counted);
    assert_eq!(super::occupancy::per_area(&k.ctx, b).await.unwrap(), counted);
}

/// A store written before the counter existed: the first read counts the index.
#[tokio::test]
async fn a_store_without_the_counter_is_counted_on_first_read() {
    let k = Counted::new().await;
    let b = config::DEMO_BRANCH;
    for i in 0..5 {
        k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": format!("L{i}"), "licensePlate": format!("浙D4{i:04}"), "inDate": "2026-03-02 09:00:00"}))
            .await;
    }
    for item in k.ctx.store.query_all(&onecard_core::store::Query::partition(crate::keys::in_park_count(b))).await.unwrap() {
        k.ctx.store.delete(&item.pk, &item.sk, onecard_core::store::Cond::None).await.unwrap();
    }
    let (lot, _) = k.trips("park.lot.status.total", json!({})).await;
    assert_eq!(lot["remain"], json!((k.branch.capacity() - 5).to_string()));
    k.trips("cat.upload.outdata", json!({"areaId": "1", "cardInId": "L0", "outDate": "2026-03-02 11:00:00"})).await;
    let (lot, _) = k.trips("park.lot.status.total", json!({})).await;
    assert_eq!(lot["remain"], json!((k.branch.capacity() - 4).to_string()));
}

/// Entries and exits racing on the embedded store keep the count exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_entries_and_exits_keep_the_count() {
    let k = Arc::new(Counted::new().await);
    let b = config::DEMO_BRANCH;
    super::occupancy::per_area(&k.ctx, b).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let k = k.clone();
        tasks.push(tokio::spawn(async move {
            k.trips("cat.upload.indata", json!({"areaId": "1", "cardInId": format!("R{i}"), "licensePlate": format!("浙E5{i:04}"), "inDate": "2026-03-02 09:00:00"}))
                .await;
            if i % 3 == 0 {
                k.trips("cat.upload.outdata", json!({"areaId": "1", "cardInId": format!("R{i}"), "outDate": "2026-03-02 10:00:00"})).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counted = super::occupancy::per_area(&k.ctx, b).await.unwrap();
    assert_eq!(counted.get("1").copied(), Some(32));
}

/// On the embedded store a commit is one group commit: its events go onto
/// the queue inside the payment's own transaction, with nothing to publish or
/// clear after it.
#[tokio::test]
async fn an_embedded_commit_is_one_group_commit_with_its_events() {
    use onecard_adapters::sqlite_store::SqliteStore;
    let dir = std::env::temp_dir().join(format!("onecard-trips-{}", uuid::Uuid::new_v4().simple()));
    let store = Arc::new(SqliteStore::open(&dir.join("onecard.db")).unwrap());
    let queue = Arc::new(EmbeddedQueue::on_store(&store).await.unwrap());
    config::seed_demo(&*store).await.unwrap();
    let clock = FixedClock::new(to_utc(parse("2026-03-02 12:00:00").unwrap(), DEFAULT_TZ));
    let ctx = Ctx::new(Ports { store: store.clone(), queue: queue.clone(), sites: Arc::new(NoSites), clock });
    crate::seed_demo(&ctx).await.unwrap();
    let branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.unwrap().unwrap();
    let reg = crate::registry();
    let call = |route: &'static str, data: Value| {
        let (ctx, reg, branch) = (ctx.clone(), &reg, branch.clone());
        async move {
            let spec = reg.find(route).unwrap();
            dispatch::run(&ctx, reg, spec, Origin::Internal, branch, data, None).await.unwrap_or_else(|e| panic!("{route}: {e}")).data
        }
    };
    call("cat.upload.indata", json!({"areaId": "1", "cardInId": "Q1", "licensePlate": "浙A20001", "inDate": "2026-03-02 09:00:00"})).await;
    let quote = call("calc", json!({"credentialtype": "1", "credential": "浙A20001", "calcendtime": "1970-01-01 00:00:00"})).await;
    // (The queue's count runs on the writer too: taken before the baseline.)
    let queued = queue.len().await.unwrap();
    let commits = store.group_commits();
    assert!(queued >= 1, "the entry's event is on the queue");
    call("commit", json!({"credentialtype": "1", "credential": "浙A20001", "parkcost": quote["parkcost"], "orderNo": quote["orderNo"], "payType": "7"})).await;
    assert_eq!(store.group_commits() - commits, 1, "one group commit for the payment");
    assert!(queue.len().await.unwrap() > queued, "the payment's event is on the queue");
    let outbox = onecard_core::store::Query::partition(onecard_core::events::outbox_pk(config::DEMO_BRANCH));
    assert!(ctx.store.query_all(&outbox).await.unwrap().is_empty(), "nothing left for the sweep");
}
