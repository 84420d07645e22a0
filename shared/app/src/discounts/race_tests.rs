//! The exactly-once use of a coupon rests on the payment's transaction, not
//! on holds: two different cars' orders carrying the same one-use coupon
//! (put on directly, as if a hold had lapsed in between), paid by 16 racing
//! commits, use it once; the other car is told to calculate again (510).

use super::coupons;
use super::lines::{BillLine, Source};
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment};
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_core::config::{self, Branch};
use onecard_core::kit::{CredentialType, PayType};
use onecard_core::memstore::MemStore;
use onecard_core::sitelink::NoSites;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{dispatch, Ctx, Fen, Origin, Ports, Registry};
use serde_json::{json, Value};
use std::sync::Arc;

/// The demo park on a fresh in-memory store, at 2026-03-02 14:00 (the
/// discount tests share it).
pub(super) async fn setup() -> (Ctx, Registry, Branch) {
    let dir = std::env::temp_dir().join(format!("onecard-disc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mem = Arc::new(MemStore::new());
    config::seed_demo(&*mem).await.unwrap();
    let clock = FixedClock::new(to_utc(parse("2026-03-02 14:00:00").unwrap(), DEFAULT_TZ));
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
    let ctx = Ctx::new(Ports { store: mem, queue, sites: Arc::new(NoSites), clock });
    crate::seed_demo(&ctx).await.unwrap();
    let branch = config::get_branch(ctx.store(), config::DEMO_BRANCH).await.unwrap().unwrap();
    (ctx, crate::registry(), branch)
}

async fn run(ctx: &Ctx, reg: &Registry, b: &Branch, route: &str, data: Value) -> Value {
    let spec = reg.find(route).unwrap();
    dispatch::run(ctx, reg, spec, Origin::Internal, b.clone(), data, None).await.unwrap_or_else(|e| panic!("{route}: {e}")).data
}

#[tokio::test]
async fn two_cars_sharing_a_coupon_pay_it_once_under_sixteen_racing_commits() {
    let (ctx, reg, b) = setup().await;
    let issued = run(&ctx, &reg, &b, "park.coupon.issue", json!({"businessID": "1", "discountID": "1", "issueNum": "1"})).await;
    let barcode = issued["couponNumbers"].as_str().unwrap().to_string();
    let mut orders_no = Vec::new();
    for (i, plate) in ["浙A20001", "浙A20002"].iter().enumerate() {
        run(&ctx, &reg, &b, "cat.upload.indata", json!({"areaId": "1", "cardInId": format!("R{i}"), "licensePlate": plate, "inDate": "2026-03-02 09:00:00"})).await;
        let q = run(&ctx, &reg, &b, "calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "2026-03-02 14:00:00"})).await;
        let no = q["orderNo"].as_str().unwrap().to_string();
        // The coupon line, put on both orders directly.
        let (mut o, v) = orders::get(&ctx, &b.branchno, &no, false).await.unwrap().unwrap();
        let (c, _) = coupons::must_get(&ctx, &b.branchno, &barcode).await.unwrap();
        o.discounts.add_bill(BillLine { source: Source::Coupon { barcode: barcode.clone() }, business_id: 1, discount_id: 1, name: c.name, kind: c.kind, took: Fen::ZERO }).unwrap();
        o.amount = o.discounts.recompute(o.parkcost, None, (o.calc_start, o.calc_end));
        assert_eq!(o.amount, o.parkcost - Fen(500));
        orders::put_over(&ctx, &b.branchno, &o, v).await.unwrap();
        orders_no.push((plate.to_string(), no, o.parkcost, o.amount));
    }
    let now = parse("2026-03-02 14:00:10").unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (ctx, b, (plate, no, parkcost, amount)) = (ctx.clone(), b.clone(), orders_no[i % 2].clone());
            tokio::spawn(async move {
                let mut p = Payment::of_order(CredentialType::Plate, &plate, &no, parkcost, PayType(7), None);
                p.amount = amount;
                (no, commit_payment(&ctx, &b, &p, now).await)
            })
        })
        .collect();
    let mut paid = Vec::new();
    for t in tasks {
        let (no, r) = t.await.unwrap();
        match r {
            Ok((order, stay)) => {
                // 13.4 reports what the discounts took.
                assert_eq!(order.charge_record(&stay)["discountAmount"], json!("5.00"));
                paid.push(no);
            }
            Err(e) if e.code.0 == 511 => assert!(paid.contains(&no) || orders::get(&ctx, &b.branchno, &no, false).await.unwrap().unwrap().0.status == orders::PAID, "511 for an unpaid order: {e}"),
            Err(e) => {
                assert_eq!(e.code.0, 510, "{e}");
                assert!(e.message.contains("used by another payment"), "{e}");
            }
        }
    }
    assert_eq!(paid.len(), 1, "one payment: {paid:?}");
    let (c, _) = coupons::must_get(&ctx, &b.branchno, &barcode).await.unwrap();
    assert_eq!(c.used, 1);
    let other = orders_no.iter().find(|o| o.1 != paid[0]).unwrap();
    let (o, _) = orders::get(&ctx, &b.branchno, &other.1, false).await.unwrap().unwrap();
    assert_eq!(o.status, orders::UNPAID, "the other car's order is untouched");
}

/// The interleaving the HTTP race test hit once under load: an attempt read
/// its order unpaid, a racing commit of the same order then paid it and used
/// the coupon, and the attempt read the coupon used. That is this order's own
/// payment: 511, not "used by another payment" (510).
#[tokio::test]
async fn a_coupon_used_by_this_very_order_meanwhile_answers_511() {
    let (ctx, reg, b) = setup().await;
    let issued = run(&ctx, &reg, &b, "park.coupon.issue", json!({"businessID": "1", "discountID": "1", "issueNum": "1"})).await;
    let barcode = issued["couponNumbers"].as_str().unwrap().to_string();
    let plate = "浙A20003";
    run(&ctx, &reg, &b, "cat.upload.indata", json!({"areaId": "1", "cardInId": "R9", "licensePlate": plate, "inDate": "2026-03-02 09:00:00"})).await;
    let q = run(&ctx, &reg, &b, "calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "2026-03-02 14:00:00"})).await;
    let no = q["orderNo"].as_str().unwrap().to_string();
    let (mut o, v) = orders::get(&ctx, &b.branchno, &no, false).await.unwrap().unwrap();
    let (c, _) = coupons::must_get(&ctx, &b.branchno, &barcode).await.unwrap();
    o.discounts.add_bill(BillLine { source: Source::Coupon { barcode: barcode.clone() }, business_id: 1, discount_id: 1, name: c.name, kind: c.kind, took: Fen::ZERO }).unwrap();
    o.amount = o.discounts.recompute(o.parkcost, None, (o.calc_start, o.calc_end));
    orders::put_over(&ctx, &b.branchno, &o, v).await.unwrap();
    // The attempt's stale read, then the winner's payment.
    let (stale, _) = orders::get(&ctx, &b.branchno, &no, false).await.unwrap().unwrap();
    let now = parse("2026-03-02 14:00:10").unwrap();
    let mut p = Payment::of_order(CredentialType::Plate, plate, &no, stale.parkcost, PayType(7), None);
    p.amount = stale.amount;
    let (_, stay) = commit_payment(&ctx, &b, &p, now).await.unwrap();
    let err = super::consume::writes(&ctx, &b.branchno, &stale, &stay, now).await.unwrap_err();
    assert_eq!(err.code.0, 511, "{err}");
}
