use super::kit::{t, Kit, BRANCH};
use crate::cards::{month_tariff_in_use, monthly_plates};
use serde_json::json;

#[tokio::test]
async fn card_list_filters_and_pages() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    k.monthly("粤B00001", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.monthly("粤B00002", "2026-03-01 00:00:00", "2026-06-30 23:59:59").await;
    let sv = k.stored_value("粤B00003").await;
    let all = k.ok("park.cards.get", json!({})).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let monthly = k.ok("park.cards.get", json!({"FuncType": "26"})).await;
    assert_eq!(monthly.as_array().unwrap().len(), 2);
    assert_eq!(monthly[0]["FuncTypeName"], json!("月卡"));
    assert_eq!(monthly[0]["TariffName"], json!("小型车月租"));
    let late = k.ok("park.cards.get", json!({"ExpiryDateStart": "2026-04-01 00:00:00"})).await;
    assert_eq!(late.as_array().unwrap().len(), 2);
    let one = k.ok("park.cards.get", json!({"LicensePlate": "粤 b00003"})).await;
    assert_eq!(one[0]["CardNo"], json!(sv));
    assert_eq!(one[0]["LicensePlate1"], json!("粤B00003"));
    assert_eq!(one[0]["Status"], json!("3"));
    k.ok("pub.card.disable", json!({"CredentialType": "2", "Credential": sv})).await;
    let disabled = k.ok("park.cards.get", json!({"Status": "1"})).await;
    assert_eq!(disabled.as_array().unwrap().len(), 1);

    let spec = k.reg.find("park.cards.get").unwrap();
    let branch = onecard_core::config::get_branch(k.ctx.store(), BRANCH).await.unwrap().unwrap();
    let page = onecard_core::dispatch::run(
        &k.ctx,
        &k.reg,
        spec,
        onecard_core::Origin::Internal,
        branch,
        json!({}),
        Some(onecard_core::request::QueryFormat { rowindex: 1, pagesize: Some(1) }),
    )
    .await
    .unwrap();
    assert_eq!(page.page, Some((1, 3)));
    assert_eq!(page.data.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn catalogue_routes() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let types = k.ok("park.cartypes.get", json!({})).await;
    assert_eq!(types[0]["CarTypeName"], json!("小型车"));
    assert_eq!(types[0]["DefaultCharge"], json!("True"));
    let tariffs = k.ok("park.monthtariffs.get", json!({})).await;
    assert_eq!(tariffs[0]["TariffID"], json!(k.tariff.to_string()));
    assert_eq!(tariffs[0]["Charge"], json!("120.00"));
    assert_eq!(tariffs[0]["CarTypeID"], json!(k.car_type.to_string()));
    let p = k.ok("park.params.get", json!(null)).await;
    assert_eq!(p["FreeLeaveMinutes"], json!("15"));
    assert_eq!(p["HourCharged"], json!("1"));
    assert_eq!((p["MaxOrderQtyInEveryEInvoice"].as_str(), p["MaxEInvoiceOpenAmount"].as_str()), (Some("5"), Some("0")));
}

#[tokio::test]
async fn what_the_parking_side_asks() {
    let k = Kit::new("2026-03-15 10:00:00").await;
    k.monthly("粤B00001", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.monthly("粤B00002", "2026-01-01 00:00:00", "2026-02-28 23:59:59").await;
    k.monthly("粤B00003", "2026-04-01 00:00:00", "2026-04-30 23:59:59").await;
    k.monthly("粤B00004", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.stored_value("粤B00005").await;
    k.ok("pub.card.disable", json!({"CredentialType": "1", "Credential": "粤B00004"})).await;
    let plates = monthly_plates(&k.ctx, BRANCH).await.unwrap();
    assert_eq!(plates, vec![("粤B00001".to_string(), t("2026-03-31 23:59:59"))]);

    assert!(month_tariff_in_use(&k.ctx, BRANCH, k.tariff).await.unwrap());
    assert!(!month_tariff_in_use(&k.ctx, BRANCH, k.tariff + 1).await.unwrap());
    let binding = crate::bindings::month_tariff_binding(&k.ctx, BRANCH, k.tariff).await.unwrap();
    assert!(binding.unwrap().starts_with("card "));
    for p in ["粤B00001", "粤B00002", "粤B00003", "粤B00004"] {
        k.ok("pub.card.cancel", json!({"CredentialType": "1", "Credential": p})).await;
    }
    assert!(!month_tariff_in_use(&k.ctx, BRANCH, k.tariff).await.unwrap(), "cancelled cards do not bind");
    // The plate index holds one entry per plate.
    let idx = crate::cards::store::plate_index(&k.ctx, BRANCH).await.unwrap();
    assert_eq!(idx.len(), 5);
}
