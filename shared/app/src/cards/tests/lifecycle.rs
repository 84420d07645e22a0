use super::kit::{names_field, t, Kit, BRANCH};
use crate::cards::{card_for_plate, get_card, CardKind, CardState};
use serde_json::json;

#[tokio::test]
async fn issue_with_seed_defaults_then_disable_enable_cancel() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let card_no = k.monthly("粤 b12345", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    let c = card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().expect("indexed by plate");
    assert_eq!(c.card_no, card_no);
    assert_eq!(c.kind, CardKind::Monthly);
    assert_eq!(c.material, 4);
    assert_eq!(c.group_type, Some(4));
    assert_eq!(c.month_tariff_id, Some(k.tariff));
    assert_eq!(c.car_type_id, k.car_type);
    assert_eq!(c.plates, vec!["粤B12345"]);
    assert_eq!(c.card_id, "粤 b12345");
    assert!(c.valid_at(t("2026-03-15 12:00:00")));
    assert!(!c.valid_at(t("2026-04-01 00:00:00")));

    k.ok("pub.card.disable", json!({"CredentialType": "1", "Credential": "粤B12345"})).await;
    let c = card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap();
    assert_eq!(c.state, CardState::Disabled);
    assert!(!c.valid_at(t("2026-03-15 12:00:00")), "a disabled card is not valid at the lane");
    // Repeating is harmless; the all-lower spelling other sections use is read too.
    k.ok("pub.card.disable", json!({"credentialtype": "2", "credential": card_no})).await;

    k.ok("pub.card.enable", json!({"CredentialType": "3", "Credential": c.user_no})).await;
    assert_eq!(get_card(&k.ctx, BRANCH, &card_no).await.unwrap().unwrap().state, CardState::Active);

    k.ok("pub.card.cancel", json!({"CredentialType": "2", "Credential": card_no})).await;
    let c = card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap();
    assert_eq!(c.state, CardState::Cancelled, "the lane still sees the cancelled card");
    let e = k.err("pub.card.enable", json!({"CredentialType": "2", "Credential": card_no})).await;
    assert_eq!(e.code.0, 500);

    // A new card may take the plate of a cancelled one.
    let again = k.monthly("粤B12345", "2026-03-01 00:00:00", "2026-04-30 23:59:59").await;
    assert_ne!(again, card_no);
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().unwrap().card_no, again);
}

#[tokio::test]
async fn a_card_binds_at_most_two_plates_each_plate_once() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let park = |plates: &str| json!({"NumNo": "X1", "CardMaterial": "1", "Park": {"LicensePlate": plates, "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31 23:59:59"}});
    let e = k.err("pub.card.add", park("粤A11111,粤A22222,粤A33333")).await;
    names_field(&e, "Park.LicensePlate");

    let r = k.ok("pub.card.add", park("粤A11111，粤 a22222")).await;
    let no = r["CardNo"].as_str().unwrap();
    for p in ["粤A11111", "粤A22222"] {
        assert_eq!(card_for_plate(&k.ctx, BRANCH, p).await.unwrap().unwrap().card_no, no);
    }
    let e = k.err("pub.card.add", park("粤A22222")).await;
    names_field(&e, "Park.LicensePlate");
    // Nothing of the refused card was written.
    let rows = k.ok("park.cards.get", json!({})).await;
    assert_eq!(rows.as_array().unwrap().len(), 1);

    let e = k
        .err("pub.card.update", json!({"CredentialType": "2", "Credential": no, "Park": {"LicensePlate": "粤A1,粤A2", "LicensePlate2": "粤A3"}}))
        .await;
    names_field(&e, "Park.LicensePlate");
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let cases = [
        (json!({"Park": {"StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "NumNo"),
        (json!({"NumNo": "粤B1"}), "Park"),
        (json!({"NumNo": "粤B1", "Park": {"ExpiryDate": "2026-03-31"}}), "Park.StartDate"),
        (json!({"NumNo": "粤B1", "Park": {"StartDate": "someday", "ExpiryDate": "2026-03-31"}}), "Park.StartDate"),
        (json!({"NumNo": "粤B1", "Park": {"StartDate": "2026-03-31", "ExpiryDate": "2026-03-01"}}), "Park.ExpiryDate"),
        (json!({"NumNo": "粤B1", "Park": {"FuncType": "99", "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "Park.FuncType"),
        (json!({"NumNo": "粤B1", "Park": {"FuncType": "20", "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "Park.ChargeCarType"),
        (json!({"NumNo": "粤B1", "Park": {"TariffID": "999", "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "Park.TariffID"),
        (json!({"NumNo": "粤B1", "Park": {"ChargeCarType": "999", "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "Park.ChargeCarType"),
        (json!({"NumNo": "粤B1", "CardMaterial": "2", "Park": {"StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "CardMaterial"),
        (json!({"NumNo": "粤B1", "UserNo": "nobody", "Park": {"StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "UserNo"),
        (json!({"NumNo": "粤B1", "Park": "not json"}), "Park"),
        (json!({"NumNo": "粤B1", "Acss": {"StartDate": "2026-03-01"}}), "Acss.ExpiryDate"),
        (json!({"NumNo": "粤B1", "Acss": {"FuncType": "7", "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}), "Acss.FuncType"),
    ];
    for (data, field) in cases {
        let e = k.err("pub.card.add", data).await;
        names_field(&e, field);
    }
    for route in ["pub.card.cancel", "pub.card.disable", "pub.card.enable"] {
        names_field(&k.err(route, json!({"Credential": "x"})).await, "CredentialType");
        names_field(&k.err(route, json!({"CredentialType": "9", "Credential": "x"})).await, "CredentialType");
        names_field(&k.err(route, json!({"CredentialType": "1"})).await, "Credential");
        assert_eq!(k.err(route, json!({"CredentialType": "1", "Credential": "粤Z99999"})).await.code.0, 500);
    }
    names_field(&k.err("park.lp.change", json!({"old": "粤B1"})).await, "new");
    assert!(k.ok("park.cards.get", json!({})).await.as_array().unwrap().is_empty(), "no card was created by bad requests");
}

#[tokio::test]
async fn a_card_with_no_monthly_tariff_for_the_default_car_type_is_refused() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let other = k.ok("park.cartype.add", json!({"carTypeName": "大型车"})).await["carTypeId"].as_i64().unwrap();
    k.ok("park.cartype.update", json!({"carTypeId": k.car_type, "carTypeName": "小型车", "defaultCharge": false})).await;
    k.ok("park.cartype.update", json!({"carTypeId": other, "carTypeName": "大型车", "defaultCharge": true})).await;
    let e = k.err("pub.card.add", json!({"NumNo": "粤B1", "Park": {"StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}})).await;
    names_field(&e, "Park.TariffID");
    // Naming the tariff works; the card takes the tariff's car type.
    k.ok("pub.card.add", json!({"NumNo": "粤B1", "Park": {"TariffID": k.tariff, "StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}})).await;
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "粤B1").await.unwrap().unwrap().car_type_id, k.car_type);
}

#[tokio::test]
async fn update_changes_only_what_is_given_and_moves_plates() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let no = k.monthly("粤B11111", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    let r = k
        .ok(
            "pub.card.update",
            json!({"CredentialType": "1", "Credential": "粤B11111", "Mobile": "13800000000",
                   "Park": {"GroupID": "7", "LicensePlate": "粤B22222", "ExpiryDate": "2026-05-31 23:59:59"}}),
        )
        .await;
    assert_eq!(r["CardNo"], json!(no));
    assert!(card_for_plate(&k.ctx, BRANCH, "粤B11111").await.unwrap().is_none(), "the old plate is released");
    let c = card_for_plate(&k.ctx, BRANCH, "粤B22222").await.unwrap().unwrap();
    assert_eq!(c.group_id.as_deref(), Some("7"));
    assert_eq!(c.valid_to, t("2026-05-31 23:59:59"));
    assert_eq!(c.valid_from, t("2026-03-01 00:00:00"));
    assert_eq!(c.month_tariff_id, Some(k.tariff));
    let rows = k.ok("park.cards.get", json!({"Mobile": "13800000000"})).await;
    assert_eq!(rows[0]["CardNo"], json!(no));
    // The released plate may go to another card.
    k.monthly("粤B11111", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
}

#[tokio::test]
async fn plate_change_moves_the_card_and_the_holder() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let no = k.monthly("粤 B12345", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.ok("park.lp.change", json!({"old": "粤 B12345", "new": "粤 A12345"})).await;
    assert!(card_for_plate(&k.ctx, BRANCH, "粤B12345").await.unwrap().is_none());
    let c = card_for_plate(&k.ctx, BRANCH, "粤A12345").await.unwrap().unwrap();
    assert_eq!(c.card_no, no);
    assert_eq!(c.num_no, "粤A12345", "a plate card's face number is its plate");
    let h = k.ok("pub.user.info.get", json!({"CredentialType": "1", "Credential": "粤A12345"})).await;
    assert_eq!(h["LicensePlate"], json!("粤A12345"));
    assert_eq!(k.err("park.lp.change", json!({"old": "粤B12345", "new": "粤C1"})).await.code.0, 500);
    // The new plate must be free.
    k.monthly("粤C22222", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    names_field(&k.err("park.lp.change", json!({"old": "粤A12345", "new": "粤C22222"})).await, "new");
}

#[tokio::test]
async fn a_door_only_card_is_not_a_parking_card() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let r = k.ok("pub.card.add", json!({"NumNo": "粤D1", "Acss": {"StartDate": "2026-03-01", "ExpiryDate": "2026-12-31"}})).await;
    let c = get_card(&k.ctx, BRANCH, r["CardNo"].as_str().unwrap()).await.unwrap().unwrap();
    assert!(!c.parking);
    assert_eq!(c.acss.as_ref().unwrap().func_type, 9);
    assert!(card_for_plate(&k.ctx, BRANCH, "粤D1").await.unwrap().is_none());
    assert!(k.ok("park.cards.get", json!({})).await.as_array().unwrap().is_empty());
}
