//! What the seed asks of 6.4, 6.5 and 10.12 beyond the basics: the card's QR
//! fields, the in-park information, and an edit that keeps what it leaves out.

use super::kit::{Kit, BRANCH};
use serde_json::json;

#[tokio::test]
async fn an_edit_keeps_the_fields_it_leaves_out() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    k.ok("pub.user.info.add", json!({"UserNo": "1000000", "FstName": "张四", "Gender": "1", "Birthday": "1980-05-13 00:00:00",
                                     "IdentityTypeID": "1", "IdentityNo": "452526200011220619", "CompanyName": "车安科技",
                                     "Mobile": "13488887777", "Email": "it@carsafe.cn", "HomeAddr": "深圳南山"}))
        .await;
    k.ok("pub.user.info.edit", json!({"UserNo": "1000000", "FstName": "张三", "Gender": "1", "Mobile": "13900000000"})).await;
    let h = k.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": "1000000"})).await;
    assert_eq!((h["FstName"].as_str(), h["Mobile"].as_str()), (Some("张三"), Some("13900000000")));
    assert_eq!(h["Email"], "it@carsafe.cn", "{h}");
    assert_eq!(h["CompanyName"], "车安科技", "{h}");
    assert_eq!(h["IdentityNo"], "452526200011220619", "{h}");
    assert_eq!(h["IdentityTypeID"], "1", "{h}");
    assert_eq!(h["Birthday"], "1980-05-13 00:00:00", "{h}");
    assert_eq!(h["HomeAddr"], "深圳南山", "{h}");
}

#[tokio::test]
async fn the_card_list_answers_the_qr_fields_only_when_asked() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let card = k.monthly("粤B12345", "2026-03-01 00:00:00", "2026-03-02 10:00:00").await;
    let plain = k.ok("park.cards.get", json!({"CardNo": card})).await;
    assert!(plain[0].get("Qrcode").is_none(), "{plain}");
    let with = k.ok("park.cards.get", json!({"CardNo": card, "IncludeQrcode": "true"})).await;
    let row = &with[0];
    assert_eq!(row["Qrcode"], json!(card), "{row}");
    assert_eq!(row["QrcodeExpiryDate"], "2026-03-02 10:00:00");
    assert_eq!(row["QrcodeValidTime"], "86400", "seconds from now to the card's expiry");
    assert!(k.ok("park.cards.get", json!({"CardNo": card, "IncludeQrcode": "false"})).await[0].get("Qrcode").is_none());
}

#[tokio::test]
async fn monthly_info_tells_whether_the_car_is_in_the_park_when_asked() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    k.monthly("粤B12345", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    let ask = json!({"credentialtype": "1", "credential": "粤B12345", "isGetInParkInfo": "1"});
    let out = k.ok("park.mcard.info", ask.clone()).await;
    assert_eq!(out["isInPark"], "0", "{out}");
    assert!(k.ok("park.mcard.info", json!({"credentialtype": "1", "credential": "粤B12345"})).await.get("isInPark").is_none());
    k.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "55", "licensePlate": "粤B12345", "inDate": "2026-03-01 09:00:00"})).await;
    let inside = k.ok("park.mcard.info", ask).await;
    assert_eq!((inside["isInPark"].as_str(), inside["cardInId"].as_str(), inside["entertime"].as_str()),
               (Some("1"), Some("55"), Some("2026-03-01 09:00:00")), "{inside}");
    let _ = BRANCH;
}

#[tokio::test]
async fn cards_of_a_group_answer_its_spaces_and_how_many_are_used() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let g = k.ok("park.group.add", json!({"name": "A组", "berthNumber": "2"})).await["id"].as_str().unwrap().to_string();
    let r = k.ok("pub.card.add", json!({"NumNo": "粤B22222", "Park": {"StartDate": "2026-03-01 00:00:00", "ExpiryDate": "2026-03-31 23:59:59", "GroupID": g}})).await;
    let card = r["CardNo"].as_str().unwrap().to_string();
    let row = &k.ok("park.cards.get", json!({"CardNo": card, "IncludeBerthState": "1"})).await[0];
    assert_eq!((row["Berth"].as_str(), row["UsedBerthNum"].as_str()), (Some("2"), Some("0")), "{row}");
    assert!(k.ok("park.cards.get", json!({"CardNo": card})).await[0].get("UsedBerthNum").is_none());
    k.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "77", "licensePlate": "粤B22222", "inDate": "2026-03-01 09:00:00"})).await;
    let row = &k.ok("park.cards.get", json!({"CardNo": card, "IncludeBerthState": "1"})).await[0];
    assert_eq!(row["UsedBerthNum"], "1", "{row}");
    let info = k.ok("park.mcard.info", json!({"credentialtype": "1", "credential": "粤B22222"})).await;
    assert_eq!((info["berth"].as_str(), info["groupCardNum"].as_str()), (Some("2"), Some("1")), "{info}");
}
