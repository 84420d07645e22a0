//! What the typed inputs refuse (or now accept) beyond the old readers.

use super::kit::{names_field, Kit, BRANCH};
use crate::cards::card_for_plate;
use serde_json::json;

#[tokio::test]
async fn card_dates_are_range_checked_and_park_may_come_as_text() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let far = json!({"NumNo": "粤B1", "Park": {"StartDate": "2026-03-01", "ExpiryDate": "9999-12-31 23:59:59"}});
    names_field(&k.err("pub.card.add", far).await, "Park.ExpiryDate");
    let acss = json!({"NumNo": "粤D1", "Acss": {"StartDate": "1970-01-01", "ExpiryDate": "2026-12-31"}});
    names_field(&k.err("pub.card.add", acss).await, "Acss.StartDate");
    let text = json!({"NumNo": "粤B2", "Park": "{\"StartDate\": \"2026-03-01\", \"ExpiryDate\": \"2026-03-31 23:59:59\"}"});
    k.ok("pub.card.add", text).await;
    assert!(card_for_plate(&k.ctx, BRANCH, "粤B2").await.unwrap().is_some());
    let text_missing = json!({"NumNo": "粤B3", "Park": "{\"ExpiryDate\": \"2026-03-31\"}"});
    names_field(&k.err("pub.card.add", text_missing).await, "Park.StartDate");
    // Inside text the kit cannot point at the field; the object is named.
    let text_bad = json!({"NumNo": "粤B3", "Park": "{\"StartDate\": \"soon\", \"ExpiryDate\": \"2026-03-31\"}"});
    names_field(&k.err("pub.card.add", text_bad).await, "Park");
}

#[tokio::test]
async fn holders_keep_old_birthdays_and_refuse_long_plates() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let r = k.ok("pub.user.info.add", json!({"FstName": "王五", "Gender": 1, "Birthday": "1985-06-01 00:00:00"})).await;
    let h = k.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": r["UserNo"]})).await;
    assert_eq!(h["Birthday"], json!("1985-06-01 00:00:00"), "a birthday is not held to 2000-2099");
    let long = json!({"FstName": "王五", "Gender": 1, "LicensePlate": "粤B1234567890123"});
    names_field(&k.err("pub.user.info.add", long).await, "LicensePlate");
    names_field(&k.err("pub.users.get", json!({"LicensePlate": "X".repeat(40)})).await, "LicensePlate");
}

#[tokio::test]
async fn renewal_pay_types_and_list_windows() {
    let k = Kit::new("2026-01-20 10:00:00").await;
    k.monthly("粤B12345", "2026-01-01 00:00:00", "2026-01-31 23:59:59").await;
    let base = |pay: serde_json::Value| json!({"credentialtype": "1", "credential": "粤B12345", "number": 1, "paytype": pay});
    names_field(&k.err("park.mcard.charge", base(json!(1000))).await, "paytype");
    names_field(&k.err("park.mcard.charge", base(json!(-2))).await, "paytype");
    k.ok("park.mcard.charge", base(json!(-1))).await;
    let list = k.ok("park.mcard.charge.list", json!({})).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let long = json!({"PayDateTimeStart": "2024-01-01 00:00:00", "PayDateTimeEnd": "2026-01-01 00:00:00"});
    names_field(&k.err("park.mcard.charge.list", long).await, "PayDateTimeEnd");
    let backwards = json!({"ChargeTimeStart": "2026-01-02 00:00:00", "ChargeTimeEnd": "2026-01-01 00:00:00"});
    names_field(&k.err("park.scard.charge.list", backwards).await, "ChargeTimeEnd");
    names_field(&k.err("park.scard.charge.list", json!({"Credential": "粤B12345"})).await, "CredentialType");
    names_field(&k.err("park.scard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "payamount": 1, "paytype": 5000})).await, "paytype");
}
