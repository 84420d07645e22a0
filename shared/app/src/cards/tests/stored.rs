use super::kit::{names_field, Kit, BRANCH};
use crate::cards::{debit_of_order, debit_writes, get_card};
use onecard_core::Fen;
use serde_json::json;

#[tokio::test]
async fn top_up_then_pay_parking_from_the_balance() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    let no = k.stored_value("湘AJN218").await;
    let r = k.ok("park.scard.charge", json!({"credentialtype": "1", "credential": "湘 AJN218", "payamount": "100"})).await;
    assert_eq!(r["flag"], json!("1"));
    let info = k.ok("park.scard.info", json!({"credentialtype": "2", "credential": no})).await;
    assert_eq!(info["balance"], json!("100.00"));
    assert_eq!(info["carno"], json!("湘AJN218"));

    let now = super::kit::t("2026-01-20 11:00:00");
    let writes = debit_writes(&k.ctx, BRANCH, &no, Fen(3050), "P-1", now).await.unwrap();
    k.ctx.store.transact(writes).await.unwrap();
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().balance, Fen(6950));
    let d = debit_of_order(&k.ctx, BRANCH, "P-1").await.unwrap().unwrap();
    assert_eq!((d.before, d.after), (Fen(10000), Fen(6950)));

    // The same order cannot be debited twice, even with writes built before the first commit.
    let again = debit_writes(&k.ctx, BRANCH, &no, Fen(100), "P-1", now).await.unwrap();
    assert!(k.ctx.store.transact(again).await.unwrap_err().is_conflict());
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().balance, Fen(6950));

    // Never below zero.
    let e = debit_writes(&k.ctx, BRANCH, &no, Fen(6951), "P-2", now).await.unwrap_err();
    assert_eq!(e.code.0, 500);
    assert!(e.message.contains("余额不足"));
    assert!(debit_writes(&k.ctx, BRANCH, &no, Fen(0), "P-3", now).await.unwrap().is_empty());
    names_field(&debit_writes(&k.ctx, BRANCH, &no, Fen(-1), "P-4", now).await.unwrap_err(), "amount");
    let exact = debit_writes(&k.ctx, BRANCH, &no, Fen(6950), "P-5", now).await.unwrap();
    k.ctx.store.transact(exact).await.unwrap();
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().balance, Fen(0));

    // A disabled card does not pay; a monthly card is not a wallet.
    k.ok("pub.card.disable", json!({"CredentialType": "2", "Credential": no})).await;
    assert_eq!(debit_writes(&k.ctx, BRANCH, &no, Fen(1), "P-6", now).await.unwrap_err().code.0, 500);
    let m = k.monthly("粤B1", "2026-01-01", "2026-12-31").await;
    assert_eq!(debit_writes(&k.ctx, BRANCH, &m, Fen(1), "P-7", now).await.unwrap_err().code.0, 500);

    let list = k.ok("park.scard.charge.list", json!({"CredentialType": "1", "Credential": "湘AJN218"})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["RealAmount"], json!("100.00"));
    assert_eq!(list[0]["BeforeAmount"], json!("0.00"));
    assert_eq!(list[0]["AfterAmount"], json!("100.00"));
    assert!(k.ok("park.scard.charge.list", json!({"ChargeTimeEnd": "2026-01-20 09:00:00"})).await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn top_up_bad_input_and_repeats() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.stored_value("湘AJN218").await;
    let base = |amount: serde_json::Value| json!({"credentialtype": "1", "credential": "湘AJN218", "payamount": amount, "orderNo": "T-1"});
    names_field(&k.err("park.scard.charge", base(json!("abc"))).await, "payamount");
    names_field(&k.err("park.scard.charge", base(json!("0"))).await, "payamount");
    names_field(&k.err("park.scard.charge", base(json!("-5"))).await, "payamount");
    names_field(&k.err("park.scard.charge", base(json!("1.005"))).await, "payamount");
    names_field(&k.err("park.scard.charge", json!({"credentialtype": "1", "credential": "湘AJN218"})).await, "payamount");
    k.ok("park.scard.charge", base(json!(20.5))).await;
    assert_eq!(k.err("park.scard.charge", base(json!(20.5))).await.code.0, 511);
    let info = k.ok("park.scard.info", json!({"credentialtype": "1", "credential": "湘AJN218"})).await;
    assert_eq!(info["balance"], json!("20.50"));
    // A monthly card has no balance to top up.
    k.monthly("粤B1", "2026-01-01", "2026-12-31").await;
    assert_eq!(k.err("park.scard.charge", json!({"credentialtype": "1", "credential": "粤B1", "payamount": 5})).await.code.0, 500);
}
