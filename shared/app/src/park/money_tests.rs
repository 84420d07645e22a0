//! Who sets the price (decisions 14, 15) and the seed's payment flows (6.1,
//! 6.2): quotes of past moments, amounts below the fee, stored-value debits,
//! commits without an order number, and the lane decision's clock and fields.

use super::parking_tests::{code, names_field, routes, Kit, BRANCH};
use serde_json::json;

fn order_count_query() -> onecard_core::store::Query {
    onecard_core::store::Query::partition(crate::keys::orders(BRANCH))
}

#[tokio::test]
async fn a_calc_of_a_past_calcendtime_is_a_quote_that_nothing_can_pay() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.ok("calc", json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "2026-03-02 10:00:00"})).await;
    assert_eq!(q["parkcost"], "5.00", "the quote still carries the fee: {q}");
    assert!(q.get("orderNo").is_none() && q.get("calcId").is_none(), "a quote is not payable: {q}");
    assert!(k.ctx.store.query_all(&order_count_query()).await.unwrap().is_empty(), "a quote creates nothing");
    // Within 60 s of the server clock a calc still issues its order.
    let live = k.ok("calc", json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "2026-03-02 10:59:30"})).await;
    assert!(live["orderNo"].as_str().is_some_and(|n| n.starts_with("CA")), "{live}");
}

#[tokio::test]
async fn a_quote_of_a_past_moment_cannot_be_paid_at_its_price() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.ok("calc", json!({"credentialtype": "1", "credential": "粤A00001", "calcendtime": "2026-03-02 09:30:00"})).await;
    assert_eq!(q["parkcost"], "5.00");
    // The seed's order-less commit prices the stay at the server clock: 9.00 is due, not 5.00.
    let e = k.err("commit", json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": q["parkcost"], "payType": "7"})).await;
    names_field(&e, "parkcost");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 0);
}

#[tokio::test]
async fn commit_refuses_an_amount_below_the_fee_unless_a_waiver_or_partial_payment_says_why() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!(q["parkcost"], "9.00");
    let pay = json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": "9.00", "amount": "0.01", "orderNo": q["orderNo"]});
    names_field(&k.err("commit", pay.clone()).await, "amount");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 0);
    let mut waived = pay.clone();
    waived["freeType"] = json!("3");
    k.ok("commit", waived).await;
    let o = k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await;
    assert_eq!((o["parkcost"].as_str(), o["amount"].as_str()), (Some("9.00"), Some("0.01")));

    k.enter("2", "粤A00002", "2026-03-02 09:00:00").await;
    let q2 = k.calc("粤A00002").await;
    k.ok("commit", json!({"credentialtype": "1", "credential": "粤A00002", "parkcost": "9.00", "amount": "4.00",
                          "onlyPartialFee": "1", "orderNo": q2["orderNo"]}))
        .await;
    assert_eq!(k.calc("粤A00002").await["parkcost"], "5.00", "a partial payment settles only what it collected");
}

#[tokio::test]
async fn a_stored_value_card_is_debited_what_is_due_whatever_amount_says() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    let r = k
        .ok("pub.card.add", json!({"NumNo": "粤S00001", "Park": {"FuncType": "20", "ChargeCarType": k.car_type,
                                    "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2030-12-31 23:59:59"}}))
        .await;
    let card_no = r["CardNo"].as_str().unwrap().to_string();
    let c = crate::cards::store::card_versioned(&k.ctx, BRANCH, &card_no).await.unwrap().unwrap();
    let mut next = c.value.clone();
    next.balance = onecard_core::Fen(1000);
    k.ctx.store.transact(vec![crate::cards::store::card_update(BRANCH, &c, &next)]).await.unwrap();
    k.enter("1", "粤S00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤S00001").await;
    k.ok("commit", json!({"credentialtype": "1", "credential": "粤S00001", "parkcost": "9.00", "amount": "0.01",
                          "orderNo": q["orderNo"], "payType": "3"}))
        .await;
    let card = crate::cards::get_card(&k.ctx, BRANCH, &card_no).await.unwrap().unwrap();
    assert_eq!(card.balance, onecard_core::Fen(100), "9.00 debited, not the 0.01 the caller named");
    let o = k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await;
    assert_eq!(o["amount"], "9.00");
}

#[tokio::test]
async fn free_leave_minutes_count_from_the_payment_not_from_the_calc() {
    let k = Kit::new("2026-03-02 10:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.set_now("2026-03-02 10:14:00");
    assert_eq!(k.pay("粤A00001", &q).await.unwrap().data["FreeLeaveMinutes"], "15");
    // 10:28 is 28 minutes after the calc but 14 after the payment: nothing due.
    k.set_now("2026-03-02 10:28:00");
    assert_eq!(k.calc("粤A00001").await["parkcost"], "0.00");
    k.set_now("2026-03-02 10:30:00");
    assert_ne!(k.calc("粤A00001").await["parkcost"], "0.00");
}

#[tokio::test]
async fn a_seed_client_pays_without_an_order_number_and_a_repeat_pays_nothing() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    k.events().await;
    let pay = json!({"credentialtype": "1", "credential": "粤A00001", "parkcost": q["parkcost"], "amount": q["amount"],
                     "payType": "7", "thirdPayId": "wx-seed-1"});
    let paid = k.ok("commit", pay.clone()).await;
    assert_eq!(paid["flag"], "1");
    let ev = k.events().await;
    assert_eq!(routes(&ev), vec!["report/parkTempCarCharge"]);
    let no = ev[0].record["orderNo"].as_str().unwrap().to_string();
    assert!(no.starts_with("CA"), "the payment is recorded as an order: {no}");
    assert_eq!(k.ok("park.order.get", json!({"orderNo": no})).await["status"], "1");
    // The same payer's id again: 511, as for an order already paid.
    assert_eq!(code(&k.err("commit", pay.clone()).await), 511);
    // Without the payer's id the repeat is still refused: the fee it names is no longer due.
    let mut anonymous = pay.clone();
    anonymous.as_object_mut().unwrap().remove("thirdPayId");
    names_field(&k.err("commit", anonymous).await, "parkcost");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 1);
    assert!(k.events().await.is_empty());
    assert_eq!(k.calc("粤A00001").await["parkcost"], "0.00");
}

#[tokio::test]
async fn a_payers_id_cannot_pay_a_second_order() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    k.enter("2", "粤A00002", "2026-03-02 09:00:00").await;
    let (q1, q2) = (k.calc("粤A00001").await, k.calc("粤A00002").await);
    k.ok("commit", json!({"credential": "粤A00001", "parkcost": q1["parkcost"], "orderNo": q1["orderNo"], "thirdPayId": "wx-9"})).await;
    let e = k.err("commit", json!({"credential": "粤A00002", "parkcost": q2["parkcost"], "orderNo": q2["orderNo"], "thirdPayId": "wx-9"})).await;
    names_field(&e, "thirdPayId");
    assert_eq!(k.count(crate::keys::payments(BRANCH)).await, 1);
}

#[tokio::test]
async fn an_order_number_never_issued_answers_510() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let e = k.err("commit", json!({"credential": "粤A00001", "parkcost": "9.00", "orderNo": "CA20260302110000999"})).await;
    assert_eq!(code(&e), 510, "{e}");
}

#[tokio::test]
async fn a_zero_fee_makes_no_order_and_answers_a_calc_id() {
    let k = Kit::new("2026-03-02 09:10:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!(q["parkcost"], "0.00");
    assert!(q.get("orderNo").is_none(), "{q}");
    let id = q["calcId"].as_str().unwrap();
    let e = k.err("park.order.get", json!({"orderNo": id})).await;
    names_field(&e, "orderNo");
}

// ---- the lane decision (9.18) ----

#[tokio::test]
async fn a_site_pass_time_far_from_the_server_clock_is_replaced_by_the_server_clock() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    // The site claims 09:10, inside the 15 free minutes; the server says 11:00.
    let lane = |t: &str| json!({"deviceID": "2", "carNo": "粤A00001", "passTime": t, "inOutFlag": "2"});
    let out = k.ok("cat.pass.validate", lane("2026-03-02 09:10:00")).await;
    assert_eq!(out["passFlag"], "0", "{out}");
    assert!(out["hintText"].as_str().unwrap().contains("9.00"), "{out}");
    // Within 120 s the site's time stands: at 10:59 the fee is the same 9.00.
    let near = k.ok("cat.pass.validate", lane("2026-03-02 10:58:30")).await;
    assert!(near["hintText"].as_str().unwrap().contains("9.00"), "{near}");
}

#[tokio::test]
async fn off_money_is_the_waived_amount_never_the_amount_due_and_the_plate_is_echoed_as_sent() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let exit = json!({"deviceID": "2", "carNo": "粤 a00001", "passTime": "2026-03-02 11:00:00", "inOutFlag": "2"});
    let due = k.ok("cat.pass.validate", exit.clone()).await;
    assert_eq!((due["passFlag"].as_str(), due["hintType"].as_str(), due["offMoney"].as_str()), (Some("0"), Some("0"), Some("0.00")));
    assert_eq!(due["carNo"], "粤 a00001");
    let q = k.calc("粤A00001").await;
    k.ok("commit", json!({"credential": "粤A00001", "parkcost": "9.00", "amount": "2.00", "freeType": "5", "orderNo": q["orderNo"]})).await;
    let free = k.ok("cat.pass.validate", exit).await;
    assert_eq!((free["passFlag"].as_str(), free["hintType"].as_str(), free["offMoney"].as_str()), (Some("1"), Some("3"), Some("7.00")));
}

// ---- 6.9 ----

#[tokio::test]
async fn in_info_search_like_counts_whole_hours_both_included() {
    let k = Kit::new("2015-10-21 12:00:00").await;
    k.enter("1", "湘AJN218", "2015-10-21 09:05:00").await;
    k.enter("2", "湘AJN219", "2015-10-21 09:30:00").await;
    k.enter("3", "湘AJN210", "2015-10-21 10:00:00").await;
    let like = k
        .ok("park.in.info", json!({"credentialtype": "1", "credential": "湘AJN21", "starttime": "2015-10-21 09:20:00",
                                   "endtime": "2015-10-21 09:50:00", "searchLike": "1"}))
        .await;
    let plates: Vec<&str> = like.as_array().unwrap().iter().map(|r| r["carno"].as_str().unwrap()).collect();
    assert_eq!(plates.len(), 2, "{like}");
    assert!(plates.contains(&"湘AJN218") && plates.contains(&"湘AJN219"), "{like}");
    // Exact queries keep starttime <= entry < endtime.
    let exact = k.ok("park.in.info", json!({"starttime": "2015-10-21 09:05:00", "endtime": "2015-10-21 10:00:00"})).await;
    assert_eq!(exact.as_array().unwrap().len(), 2, "{exact}");
    let inner = k.ok("park.in.info", json!({"starttime": "2015-10-21 09:20:00", "endtime": "2015-10-21 09:50:00"})).await;
    assert_eq!(inner.as_array().unwrap().len(), 1, "{inner}");
}

// ---- both spellings (decision 17) and one parktime ----

#[tokio::test]
async fn the_charge_push_and_the_order_report_one_parktime_under_both_spellings() {
    let k = Kit::new("2026-03-02 10:00:59").await;
    k.enter("1", "粤A00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!((q["carno"].as_str(), q["carNo"].as_str()), (Some("粤A00001"), Some("粤A00001")));
    let unpaid = k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await;
    assert_eq!(unpaid["payType"], "10", "6.26 payType is never empty: {unpaid}");
    assert_eq!(unpaid["carNo"], "粤A00001");
    k.events().await;
    k.pay("粤A00001", &q).await.unwrap();
    let ev = k.events().await;
    let r = &ev[0].record;
    for (lower, camel) in [("entertime", "enterTime"), ("parktime", "parkTime"), ("parkcost", "parkCost"),
                           ("calcstarttime", "calcStartTime"), ("calcendtime", "calcEndTime")] {
        assert!(r[lower].is_string() && r[lower] == r[camel], "{lower}/{camel}: {r}");
    }
    let o = k.ok("park.order.get", json!({"orderNo": q["orderNo"]})).await;
    assert_eq!(o["parktime"], "60");
    assert_eq!(r["parktime"], o["parktime"], "13.4 and 6.26 report the same parktime");
}

// ---- 6.1 card fields ----

#[tokio::test]
async fn calc_answers_the_raw_card_number_the_face_number_and_the_ticket_policy() {
    let k = Kit::new("2026-03-02 11:00:00").await;
    let r = k
        .ok("pub.card.add", json!({"CardID": "3344556677", "NumNo": "A-0001", "CardMaterial": "1",
                                    "Park": {"FuncType": "20", "ChargeCarType": k.car_type, "LicensePlate": "粤S00001",
                                             "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2030-12-31 23:59:59"}}))
        .await;
    k.enter("1", "粤S00001", "2026-03-02 09:00:00").await;
    let q = k.calc("粤S00001").await;
    assert_eq!(q["cardId"], "3344556677", "{q}");
    assert_eq!(q["numno"], "A-0001", "{q}");
    assert_eq!(q["cardNo"], r["CardNo"], "{q}");
    assert_eq!(q["shoppingBillPolicy"], "0");
}

#[tokio::test]
async fn a_zero_payment_inside_the_grace_does_not_restart_it() {
    let k = Kit::new("2026-03-02 10:00:01").await;
    k.enter("1", "粤A00001", "2026-03-02 08:50:00").await;
    let q = k.calc("粤A00001").await;
    assert_eq!(q["parkcost"], "7.00");
    k.pay("粤A00001", &q).await.unwrap();
    k.set_now("2026-03-02 10:14:00");
    let zero = k.calc("粤A00001").await;
    assert_eq!(zero["parkcost"], "0.00");
    let paid = k.ok("commit", json!({"credential": "粤A00001", "parkcost": "0.00", "calcId": zero["calcId"]})).await;
    assert_eq!(paid["FreeLeaveMinutes"], "1", "what is left of the grace the 7.00 opened: {paid}");
    // Past the grace of the real payment (10:15:01) and past 90 minutes of
    // parking the next step is due, whatever was paid at 0.00 since.
    k.set_now("2026-03-02 10:21:00");
    assert_eq!(k.calc("粤A00001").await["parkcost"], "2.00");
}
