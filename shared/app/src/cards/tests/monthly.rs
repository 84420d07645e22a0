use super::kit::{names_field, t, Kit, BRANCH};
use crate::cards::card_for_plate;
use serde_json::json;

#[tokio::test]
async fn info_quotes_months_from_the_current_expiry() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let info = k.ok("park.mcard.info", json!({"credentialtype": "1", "credential": "粤 b12345", "number": "3"})).await;
    assert_eq!(info["monthlyrent"], json!("360.00"));
    assert_eq!(info["tariffid"], json!(k.tariff.to_string()));
    assert_eq!(info["carno"], json!("粤B12345"));
    assert_eq!(info["expirydate"], json!("2026-01-31 23:59:59"));
    assert_eq!(info["newexpirydate"], json!("2026-04-30 23:59:59"));
    let one = k.ok("park.mcard.info", json!({"credentialtype": "1", "credential": "粤B12345"})).await;
    assert_eq!(one["monthlyrent"], json!("120.00"));
    assert!(one.get("newexpirydate").is_none());
    names_field(&k.err("park.mcard.info", json!({"credentialtype": "1", "credential": "粤B12345", "number": "x"})).await, "number");
    names_field(&k.err("park.mcard.info", json!({"credentialtype": "4", "credential": "粤B12345"})).await, "credentialtype");
    assert_eq!(k.err("park.mcard.info", json!({"credentialtype": "1", "credential": "粤Z00000"})).await.code.0, 500);
}

#[tokio::test]
async fn renewal_by_months_clamps_month_ends_and_pushes_13_5() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    let no = k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let _ = k.events().await;
    let r = k.ok("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": "1", "paytype": 7, "thirdPayId": "wx-1"})).await;
    assert_eq!(r["flag"], json!("1"));
    assert_eq!(r["months"], json!("1"));
    assert_eq!(r["receivable"], json!("120.00"));
    let c = card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap();
    assert_eq!(c.valid_to, t("2026-02-28 23:59:59"), "Jan 31 + 1 month is the end of February");

    let ev = k.events().await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].route, "report/parkMonthlyCarCharge");
    let rec = &ev[0].record;
    assert_eq!(rec["cardNo"], json!(no));
    assert_eq!(rec["plateNo"], json!("粤B12345"));
    assert_eq!(rec["preExpiry"], json!("2026-01-31 23:59:59"));
    assert_eq!(rec["curExpiry"], json!("2026-02-28 23:59:59"));
    assert_eq!(rec["amount"], json!("120.00"));
    assert_eq!(rec["realAmount"], json!("120.00"));
    assert_eq!(rec["payType"], json!("7"));
    assert_eq!(rec["cardGroupName"], json!("个人月卡"));

    // The same third-party payment again: 511, nothing changes, nothing pushed.
    let e = k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": "1", "thirdPayId": "wx-1"})).await;
    assert_eq!(e.code.0, 511);
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap().valid_to, t("2026-02-28 23:59:59"));
    assert!(k.events().await.is_empty());

    let list = k.ok("park.mcard.charge.list", json!({"LicensePlateNo": "粤 B12345"})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["PreExpiry"], json!("2026-01-31 23:59:59"));
    assert_eq!(list[0]["CurExpiry"], json!("2026-02-28 23:59:59"));
    assert_eq!(list[0]["Amount"], json!("120.00"));
    let none = k.ok("park.mcard.charge.list", json!({"PayDateTimeStart": "2026-02-01 00:00:00"})).await;
    assert!(none.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn renewal_up_to_a_date_is_charged_by_months_and_days() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-15 23:59:59").await;
    let r = k.ok("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "expirydate": "2026-03-20"})).await;
    assert_eq!(r["months"], json!("2"));
    assert_eq!(r["days"], json!("5"));
    // 2 x 120.00 + 5 x 120.00 / 30
    assert_eq!(r["receivable"], json!("260.00"));
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap().valid_to, t("2026-03-20 23:59:59"));
    names_field(
        &k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "expirydate": "2026-03-01"})).await,
        "expirydate",
    );
    names_field(&k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345"})).await, "number");
    names_field(&k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": "0"})).await, "number");
    names_field(&k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": "121"})).await, "number");
}

#[tokio::test]
async fn order_then_pay_exactly_once_and_expired_orders_answer_510() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    let no = k.monthly("浙AH9U59", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let order = |pre: &str, cur: &str, rec: &str| {
        json!({"credentialType": "1", "credential": "浙AH9U59", "aeceivable": rec, "amount": "100.00",
               "preExpireDate": pre, "currExpireDate": cur, "payType": 5, "remark": "缴费一个月", "payMonth": 1})
    };
    names_field(&k.err("park.mcard.order.create", order("2026-01-30 00:00:00", "2026-02-28 23:59:59", "120.00")).await, "preExpireDate");
    names_field(&k.err("park.mcard.order.create", order("2026-01-31 00:00:00", "2026-03-01 23:59:59", "120.00")).await, "currExpireDate");
    names_field(&k.err("park.mcard.order.create", order("2026-01-31 00:00:00", "2026-02-28 23:59:59", "99.00")).await, "aeceivable");
    let o = k.ok("park.mcard.order.create", order("2026-01-31 00:00:00", "2026-02-28 23:59:59", "120.00")).await;
    assert_eq!(o["cardNo"], json!(no));
    let order_no = o["orderNo"].as_str().unwrap().to_string();

    names_field(&k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "orderNo": "nope"})).await, "orderNo");
    names_field(
        &k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "number": 2, "orderNo": order_no})).await,
        "number",
    );
    let r = k.ok("park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "orderNo": order_no})).await;
    assert_eq!(r["receivable"], json!("120.00"));
    let e = k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "number": 1, "orderNo": order_no})).await;
    assert_eq!(e.code.0, 511);
    let c = card_for_plate(&k.ctx, BRANCH, "浙AH9U59").await.unwrap().unwrap();
    assert_eq!(c.valid_to, t("2026-02-28 23:59:59"));
    let list = k.ok("park.mcard.charge.list", json!({})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["Amount"], json!("100.00"));
    assert_eq!(list[0]["Receivable"], json!("120.00"));
    assert_eq!(list[0]["Preferential"], json!("20.00"));

    // A second order, paid after the branch's 15 order minutes: 510, no change.
    let o2 = k.ok("park.mcard.order.create", order("2026-02-28 00:00:00", "2026-03-28 23:59:59", "120.00")).await;
    k.set_now("2026-01-20 10:16:00");
    let e = k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "浙AH9U59", "orderNo": o2["orderNo"]})).await;
    assert_eq!(e.code.0, 510);
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "浙AH9U59").await.unwrap().unwrap().valid_to, t("2026-02-28 23:59:59"));
}

#[tokio::test]
async fn only_monthly_cards_in_use_renew() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.stored_value("粤S00001").await;
    let e = k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤S00001", "number": 1})).await;
    assert_eq!(e.code.0, 500);
    k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    k.ok("pub.card.cancel", json!({"CredentialType": "1", "Credential": "粤B12345"})).await;
    assert_eq!(k.err("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": 1})).await.code.0, 500);
}

async fn group_card(k: &Kit, plate: &str, group: &str, to: &str) {
    k.ok("pub.card.add", json!({"NumNo": plate, "Park": {"CardGroupType": "1", "GroupID": group, "StartDate": "2026-01-01", "ExpiryDate": to}})).await;
}

#[tokio::test]
async fn a_group_renews_together_once() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    group_card(&k, "粤G00001", "G1", "2026-01-31 23:59:59").await;
    group_card(&k, "粤G00002", "G1", "2026-02-15 23:59:59").await;
    group_card(&k, "粤G00003", "G1", "2026-03-31 23:59:59").await;
    group_card(&k, "粤H00001", "G2", "2026-01-31 23:59:59").await;
    k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let info = k.ok("park.mcard.info", json!({"credentialtype": "1", "credential": "粤G00002"})).await;
    assert_eq!(info["groupID"], json!("G1"));
    assert_eq!(info["groupCardNum"], json!("3"));
    let _ = k.events().await;

    let req = json!({"credentialtype": "1", "credential": "粤G00002", "number": 1, "isGroupCharge": "true", "thirdPayId": "wx-g"});
    let r = k.ok("park.mcard.charge", req.clone()).await;
    assert_eq!(r["receivable"], json!("360.00"));
    for (p, to) in [("粤G00001", "2026-02-28 23:59:59"), ("粤G00002", "2026-03-15 23:59:59"), ("粤G00003", "2026-04-30 23:59:59"), ("粤H00001", "2026-01-31 23:59:59")] {
        assert_eq!(card_for_plate(&k.ctx, BRANCH, p).await.unwrap().unwrap().valid_to, t(to), "{p}");
    }
    assert_eq!(k.events().await.len(), 3);
    assert_eq!(k.err("park.mcard.charge", req).await.code.0, 511);
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤G00001").await.unwrap().unwrap().valid_to, t("2026-02-28 23:59:59"));
    assert_eq!(k.ok("park.mcard.charge.list", json!({})).await.as_array().unwrap().len(), 3);

    // groupID names the group; a card outside any group needs it.
    k.ok("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": 1, "isGroupCharge": true, "groupID": "G2"})).await;
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤H00001").await.unwrap().unwrap().valid_to, t("2026-02-28 23:59:59"));
    let no_group = json!({"credentialtype": "1", "credential": "粤B12345", "number": 1, "isGroupCharge": 1});
    names_field(&k.err("park.mcard.charge", no_group).await, "groupID");
    let with_order = json!({"credentialtype": "1", "credential": "粤G00001", "isGroupCharge": 1, "orderNo": "X"});
    names_field(&k.err("park.mcard.charge", with_order).await, "orderNo");
    for i in 4..=9 {
        group_card(&k, &format!("粤G0000{i}"), "G1", "2026-01-31 23:59:59").await;
    }
    let big = json!({"credentialtype": "1", "credential": "粤G00001", "number": 1, "isGroupCharge": 1});
    names_field(&k.err("park.mcard.charge", big).await, "isGroupCharge");
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤G00009").await.unwrap().unwrap().valid_to, t("2026-01-31 23:59:59"));
}
