//! A card's `Park.CarBrandID` (10.15, 10.42) names a brand of 6.36.

use super::kit::{names_field, Kit, BRANCH};
use crate::cards::get_card;
use serde_json::json;

const NOW: &str = "2026-03-01 10:00:00";

async fn kit_with_brands() -> Kit {
    let k = Kit::new(NOW).await;
    crate::brands::ensure_seeded(k.ctx.store()).await.unwrap();
    k
}

fn park(brand: serde_json::Value) -> serde_json::Value {
    json!({"StartDate": "2026-03-01 00:00:00", "ExpiryDate": "2026-03-31 23:59:59", "CarBrandID": brand})
}

#[tokio::test]
async fn a_card_issued_with_a_listed_brand_keeps_it() {
    let k = kit_with_brands().await;
    let r = k.ok("pub.card.add", json!({"NumNo": "粤B10001", "Park": park(json!(3))})).await;
    let c = get_card(&k.ctx, BRANCH, r["CardNo"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(c.car_brand_id.as_deref(), Some("3"));
}

#[tokio::test]
async fn a_card_issued_with_an_unknown_brand_is_refused_and_not_issued() {
    let k = kit_with_brands().await;
    for bad in [json!("9999"), json!("大众")] {
        let e = k.err("pub.card.add", json!({"NumNo": "粤B10002", "Park": park(bad)})).await;
        names_field(&e, "Park.CarBrandID");
    }
    // Nothing was written: the same plate issues fine afterwards.
    k.ok("pub.card.add", json!({"NumNo": "粤B10002", "Park": park(json!("1"))})).await;
}

#[tokio::test]
async fn a_card_update_checks_a_new_brand_and_keeps_the_old_when_absent() {
    let k = kit_with_brands().await;
    let r = k.ok("pub.card.add", json!({"NumNo": "粤B10003", "Park": park(json!("2"))})).await;
    let no = r["CardNo"].as_str().unwrap().to_string();
    let e = k.err("pub.card.update", json!({"CredentialType": "2", "Credential": no, "Park": {"CarBrandID": "9999"}})).await;
    names_field(&e, "Park.CarBrandID");
    k.ok("pub.card.update", json!({"CredentialType": "2", "Credential": no, "Park": {"GroupID": "7"}})).await;
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().car_brand_id.as_deref(), Some("2"));
    k.ok("pub.card.update", json!({"CredentialType": "2", "Credential": no, "Park": {"CarBrandID": 21}})).await;
    assert_eq!(get_card(&k.ctx, BRANCH, &no).await.unwrap().unwrap().car_brand_id.as_deref(), Some("21"));
}
