//! Sixteen identical payments at once: exactly one is made.

use super::kit::{Kit, BRANCH};
use crate::cards::{debit_writes, get_card};
use futures::future::join_all;
use onecard_core::Fen;
use serde_json::json;

fn tally(codes: &[i64]) -> (usize, usize) {
    (codes.iter().filter(|c| **c == 200).count(), codes.iter().filter(|c| **c == 511).count())
}

async fn codes(k: &Kit, route: &str, data: serde_json::Value, n: usize) -> Vec<i64> {
    let calls = (0..n).map(|_| {
        let data = data.clone();
        async move {
            match k.call(route, data).await {
                Ok(_) => 200,
                Err(e) => e.code.0,
            }
        }
    });
    join_all(calls).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sixteen_renewals_of_one_order_renew_once() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.monthly("浙AH9U59", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let o = k
        .ok(
            "park.mcard.order.create",
            json!({"credentialType": "1", "credential": "浙AH9U59", "aeceivable": "120", "amount": "120",
                   "preExpireDate": "2026-01-31 23:59:59", "currExpireDate": "2026-02-28 23:59:59", "payMonth": 1}),
        )
        .await;
    let got = codes(&k, "park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "orderNo": o["orderNo"]}), 16).await;
    assert_eq!(tally(&got), (1, 15), "{got:?}");
    let c = crate::cards::card_for_plate(&k.ctx, BRANCH, "浙AH9U59").await.unwrap().unwrap();
    assert_eq!(c.valid_to, super::kit::t("2026-02-28 23:59:59"));
    assert_eq!(k.ok("park.mcard.charge.list", json!({})).await.as_array().unwrap().len(), 1);
    assert_eq!(k.events().await.iter().filter(|e| e.route == "report/parkMonthlyCarCharge").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sixteen_top_ups_with_one_order_number_top_up_once() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    let no = k.stored_value("湘AJN218").await;
    let got = codes(&k, "park.scard.charge", json!({"credentialtype": "1", "credential": "湘AJN218", "payamount": "50", "orderNo": "W-1"}), 16).await;
    assert_eq!(tally(&got), (1, 15), "{got:?}");
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().balance, Fen(5000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn racing_debits_never_take_the_balance_below_zero() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    let no = k.stored_value("湘AJN218").await;
    k.ok("park.scard.charge", json!({"credentialtype": "1", "credential": "湘AJN218", "payamount": "50"})).await;
    let now = super::kit::t("2026-01-20 11:00:00");
    // Sixteen parking payments of 10.00 each, retrying on lost races as the
    // parking commit does: five fit in 50.00.
    let pays = (0..16).map(|i| {
        let (ctx, no) = (k.ctx.clone(), no.clone());
        async move {
            for _ in 0..50 {
                let writes = match debit_writes(&ctx, BRANCH, &no, Fen(1000), &format!("P-{i}"), now).await {
                    Ok(w) => w,
                    Err(e) => return e.code.0,
                };
                match ctx.store.transact(writes).await {
                    Ok(()) => return 200,
                    Err(e) if e.is_conflict() => continue,
                    Err(_) => return 100002,
                }
            }
            0
        }
    });
    let got = join_all(pays).await;
    assert_eq!(got.iter().filter(|c| **c == 200).count(), 5, "{got:?}");
    assert_eq!(got.iter().filter(|c| **c == 500).count(), 11, "{got:?}");
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().balance, Fen(0));
}
