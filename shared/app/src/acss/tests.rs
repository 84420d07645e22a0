//! Door access and visitors through the routes, on a fresh store (the cards
//! module's test kit): what reaches the site's rules, 7.5, 10.40 codes and a
//! mode 2 visit that lends the visitee's rights to a guest card.

// The cards module's kit, shared as a file: not every helper is used here.
#[allow(dead_code)]
#[path = "../cards/tests/kit.rs"]
mod kit;

use super::site::rules_for_site;
use kit::{Kit, BRANCH};
use onecard_core::link::doors::{Token, TokenKind};
use serde_json::json;

async fn kit() -> Kit {
    let k = Kit::new("2026-11-30 09:00:00").await;
    super::store::seed_demo(k.ctx.store(), BRANCH).await.unwrap();
    k
}

fn now() -> chrono::NaiveDateTime {
    onecard_core::time::parse("2026-11-30 09:00:00").unwrap()
}

async fn door_card(k: &Kit, user: &str, mobile: &str, card: &str, acss: serde_json::Value) {
    k.ok("pub.user.info.add", json!({"UserNo": user, "FstName": format!("住户{user}"), "Gender": "1", "Mobile": mobile})).await;
    k.ok("pub.card.add", json!({"CardNo": card, "NumNo": card, "CardMaterial": "1", "UserNo": user, "Acss": acss})).await;
}

#[tokio::test]
async fn only_cards_with_a_door_side_reach_the_site_and_7_5_gives_one() {
    let k = kit().await;
    door_card(&k, "5000001", "13700000001", "D1", json!({"StartDate": "2026-01-01", "ExpiryDate": "2026-12-31", "GrantID": "1", "AllGrant": "False"})).await;
    k.monthly("粤B12345", "2026-11-01 00:00:00", "2026-12-31 23:59:59").await;
    let rules = rules_for_site(&k.ctx, BRANCH, now()).await.unwrap();
    assert_eq!(rules.cards.iter().map(|c| c.no.as_str()).collect::<Vec<_>>(), ["D1"], "a parking card's AllGrant is the car park's");
    // Monday 09:00 in group 1's weekday hours.
    assert!(rules.decide_card("C0000001-1", "D1", now()).open);

    let e = k.err("acss.user.grant.update", json!({"CredentialType": "3", "Credential": "5000001", "GrantID": "99"})).await;
    assert!(e.message.contains("'GrantID'"), "{}", e.message);
    k.ok("acss.user.grant.update", json!({"CredentialType": "2", "Credential": "粤B12345", "AllGrant": "True"})).await;
    let rules = rules_for_site(&k.ctx, BRANCH, now()).await.unwrap();
    assert_eq!(rules.cards.len(), 2);
    let cards = k.ok("acss.cards.get", json!({"AllGrant": "True", "IncludeQrcode": "true"})).await;
    let row = cards.as_array().unwrap().iter().find(|r| r["NumNo"] == json!("粤B12345")).unwrap().clone();
    assert_eq!(row["AllGrant"], json!("True"));
    let code = row["Qrcode"].as_str().unwrap();
    let tok = Token::verify(&rules.qr_key, code).unwrap();
    assert_eq!(tok.kind, TokenKind::Card);
    assert!(rules.decide_qr("C0000001-2", code, now()).open, "a card's code opens what the card opens");
}

#[tokio::test]
async fn a_door_code_is_signed_for_its_door_and_refused_elsewhere() {
    let k = kit().await;
    let out = k.ok("pub.door.qrcode.dec", json!({"ControllerNo": "C0000001", "DoorNo": 2})).await;
    let rules = rules_for_site(&k.ctx, BRANCH, now()).await.unwrap();
    let code = out["qrcode"].as_str().unwrap();
    assert!(rules.decide_qr("C0000001-2", code, now()).open);
    assert_eq!(rules.decide_qr("C0000001-1", code, now()).reason, "code is for another door");
    assert!(!rules.decide_qr("C0000001-2", code, now() + chrono::Duration::minutes(3)).open, "expired");
    let e = k.err("pub.door.qrcode.dec", json!({"ControllerNo": "C0000001", "DoorNo": "9"})).await;
    assert!(e.message.contains("'DoorNo'"), "{}", e.message);
}

#[tokio::test]
async fn a_mode_2_visit_lends_the_visitees_rights_to_the_guest_card_until_cancelled() {
    let k = kit().await;
    door_card(&k, "5000002", "13700000002", "H1", json!({"StartDate": "2026-01-01", "ExpiryDate": "2026-12-31", "GrantID": "2", "AllGrant": "False"})).await;
    door_card(&k, "5000003", "13700000003", "G1", json!({"StartDate": "2026-01-01", "ExpiryDate": "2026-12-31", "AllGrant": "False"})).await;
    let before = rules_for_site(&k.ctx, BRANCH, now()).await.unwrap();
    assert!(!before.decide_card("C0000001-1", "G1", now()).open, "the guest card opens nothing of its own");

    let e = k.err("pub.guest.order.add", json!({"credentialType": "2", "guestName": "访客", "identityType": "1", "identityNo": "x",
        "usefulDate": "2026-11-30 08:00:00", "invalidDate": "2026-11-30 18:00:00"})).await;
    assert!(e.message.contains("'credential'"), "{}", e.message);
    let order = k.ok("pub.guest.order.add", json!({"credentialType": "2", "credential": "13700000002", "guestedName": "住户5000002",
        "guestName": "访客", "identityType": "1", "identityNo": "440307201901020615", "guestCardNo": "G1",
        "usefulDate": "2026-11-30 08:00:00", "invalidDate": "2026-11-30 18:00:00"})).await;
    let rules = rules_for_site(&k.ctx, BRANCH, now()).await.unwrap();
    assert!(rules.decide_card("C0000001-1", "G1", now()).open, "the visitee's group 2 rights, on the guest card");
    assert!(!rules.decide_card("C0000001-1", "G1", now() + chrono::Duration::hours(10)).open, "until invalidDate");
    let code = order["qrcode"].as_str().unwrap();
    assert!(Token::verify(&rules.qr_key, code).unwrap().subject.ends_with("/cG1"));
    assert!(rules.decide_qr("C0000001-1", code, now()).open);

    k.ok("park.face.visitors.cancel", json!({"visitorOrderNo": order["orderNo"]})).await;
    let after = rules_for_site(&k.ctx, BRANCH, now() + chrono::Duration::seconds(1)).await.unwrap();
    assert_eq!(after.decide_qr("C0000001-1", code, now()).reason, "visit cancelled");
    assert!(!after.decide_card("C0000001-1", "G1", now() + chrono::Duration::seconds(1)).open, "the lent rights end with the visit");
    let e = k.err("pub.guest.order.logout", json!({"orderNo": order["orderNo"]})).await;
    assert!(e.message.contains("already cancelled"), "{}", e.message);
    assert_eq!(k.ok("pub.params.get", json!({})).await["visitorRetentionTime"], json!("24"));
}
