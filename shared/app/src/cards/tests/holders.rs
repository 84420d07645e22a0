use super::kit::{names_field, Kit, BRANCH};
use crate::cards::card_for_plate;
use serde_json::json;

fn zhang() -> serde_json::Value {
    json!({"UserNo": "1000000", "FstName": "张四", "SndName": "zhang", "Gender": "1", "Birthday": "2015-05-13 13:00:00",
           "IdentityTypeID": "1", "IdentityNo": "452526200011220619", "CompanyName": "车安科技", "Mobile": "13488887777",
           "DeptID": "1", "Email": "it@carsafe.cn", "LicensePlate": "苏A11111"})
}

#[tokio::test]
async fn add_get_edit_list() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    let r = k.ok("pub.user.info.add", zhang()).await;
    assert_eq!(r["UserNo"], json!("1000000"));
    names_field(&k.err("pub.user.info.add", zhang()).await, "UserNo");

    let h = k.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": "1000000"})).await;
    assert_eq!(h["FstName"], json!("张四"));
    assert_eq!(h["IdentityType"], json!("身份证"));
    assert_eq!(h["Birthday"], json!("2015-05-13 13:00:00"));
    assert_eq!(h["LicensePlate"], json!("苏A11111"));
    let by_plate = k.ok("pub.user.info.get", json!({"CredentialType": "1", "Credential": "苏 a11111"})).await;
    assert_eq!(by_plate["UserNo"], json!("1000000"));

    let mut edit = zhang();
    edit["FstName"] = json!("张三");
    edit["Mobile"] = json!("13900000000");
    k.ok("pub.user.info.edit", edit).await;
    let h = k.ok("pub.user.info.get", json!({"CredentialType": "4", "Credential": "1000000"})).await;
    assert_eq!(h["FstName"], json!("张三"));
    assert_eq!(h["Mobile"], json!("13900000000"));
    assert_eq!(h["LicensePlate"], json!("苏A11111"), "edit keeps the plate");

    // A generated user number, and a card linked to an existing holder.
    let other = k.ok("pub.user.info.add", json!({"FstName": "李四", "Gender": 2})).await;
    let other_no = other["UserNo"].as_str().unwrap().to_string();
    assert_eq!(other_no.len(), 10);
    let card = k
        .ok("pub.card.add", json!({"NumNo": "粤B55555", "UserNo": other_no, "Park": {"StartDate": "2026-03-01", "ExpiryDate": "2026-03-31"}}))
        .await;
    assert_eq!(card["UserNo"], json!(other_no));
    let h = k.ok("pub.user.info.get", json!({"CredentialType": "2", "Credential": card["CardNo"]})).await;
    assert_eq!(h["FstName"], json!("李四"));

    let all = k.ok("pub.users.get", json!({})).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let by_plate = k.ok("pub.users.get", json!({"LicensePlate": "粤 b55555"})).await;
    assert_eq!(by_plate.as_array().unwrap().len(), 1);
    assert_eq!(by_plate[0]["UserNo"], json!(other_no));
    let none = k.ok("pub.users.get", json!({"UserNo": "1000000", "LicensePlate": "粤B55555"})).await;
    assert!(none.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_holder_added_with_a_carded_plate_takes_the_card() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    k.monthly("苏A11111", "2026-03-01 00:00:00", "2026-03-31 23:59:59").await;
    k.ok("pub.user.info.add", zhang()).await;
    assert_eq!(card_for_plate(&k.ctx, BRANCH, "苏A11111").await.unwrap().unwrap().user_no, "1000000");
    let info = k.ok("park.mcard.info", json!({"credentialtype": "3", "credential": "1000000"})).await;
    assert_eq!(info["name"], json!("张四"));
}

#[tokio::test]
async fn holder_bad_input() {
    let k = Kit::new("2026-03-01 10:00:00").await;
    names_field(&k.err("pub.user.info.add", json!({"Gender": "1"})).await, "FstName");
    names_field(&k.err("pub.user.info.add", json!({"FstName": "张三", "Gender": "3"})).await, "Gender");
    names_field(&k.err("pub.user.info.add", json!({"FstName": "张三"})).await, "Gender");
    names_field(&k.err("pub.user.info.add", json!({"FstName": "张三", "Gender": 1, "Birthday": "May"})).await, "Birthday");
    names_field(&k.err("pub.user.info.add", json!({"FstName": "张三", "Gender": 1, "IdentityTypeID": "8"})).await, "IdentityTypeID");
    names_field(&k.err("pub.user.info.edit", json!({"UserNo": "nobody", "FstName": "张三", "Gender": 1})).await, "UserNo");
    names_field(&k.err("pub.user.info.get", json!({"CredentialType": "5", "Credential": "x"})).await, "CredentialType");
    assert_eq!(k.err("pub.user.info.get", json!({"CredentialType": "3", "Credential": "nobody"})).await.code.0, 500);
    assert!(k.ok("pub.users.get", json!({})).await.as_array().unwrap().is_empty());
}
