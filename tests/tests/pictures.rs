//! Pictures end to end against the real `onecard serve` (decision 16): the
//! agent PUTs a picture, uploads 9.1 with its `imageKey`, and 6.9 with
//! `getphoto` reads the photo back.

use onecard_core::blob::sha256_hex;
use onecard_core::config::{DEMO_AGENT, DEMO_AGENT_SECRET, DEMO_BRANCH};
use onecard_tests::{http_with, now_local, Server};
use serde_json::{json, Value};

fn put_picture(port: u16, sha: &str, secret: &str, body: &str) -> (u16, Value) {
    let ts = now_local();
    let sign = onecard_core::sign::sign(secret, &format!("{DEMO_BRANCH}\n{DEMO_AGENT}\n{ts}\n{sha}"));
    let headers = [("X-OneCard-Branch", DEMO_BRANCH), ("X-OneCard-Agent", DEMO_AGENT), ("X-OneCard-Timestamp", ts.as_str()), ("X-OneCard-Sign", sign.as_str())];
    let (st, _, text) = http_with(port, "PUT", &format!("/site/pictures/{sha}"), &headers, body).expect("http");
    (st, serde_json::from_str(&text).unwrap_or_else(|_| json!({"raw": text})))
}

#[test]
fn an_uploaded_picture_is_named_by_9_1_and_read_back_by_6_9_getphoto() {
    let srv = Server::start();
    let c = srv.client();
    let picture = "a camera's snapshot of 粤B66666 at the entry lane ".repeat(200);
    let sha = sha256_hex(picture.as_bytes());

    // Refusals: a forged signature, a body that is not the signed sha.
    assert_eq!(put_picture(srv.port, &sha, "wrong-secret", &picture).0, 401);
    assert_eq!(put_picture(srv.port, &sha, DEMO_AGENT_SECRET, "another body").0, 409);

    let (st, answer) = put_picture(srv.port, &sha, DEMO_AGENT_SECRET, &picture);
    assert_eq!(st, 200, "{answer}");
    let key = answer["key"].as_str().expect("key").to_string();
    assert_eq!(key, format!("pictures/{DEMO_BRANCH}/{sha}"));

    let entered = now_local();
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "PIC-1", "licensePlate": "粤B66666", "inDate": entered, "imageKey": key}));
    let rows = c.ok("park.in.info", json!({"credentialtype": "1", "credential": "粤B66666", "getphoto": "1"}));
    use base64::Engine;
    let photo = rows[0]["photoin"].as_str().expect("photoin");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(photo).unwrap(), picture.as_bytes());
    // Without getphoto, no photo.
    let rows = c.ok("park.in.info", json!({"credentialtype": "1", "credential": "粤B66666"}));
    assert!(rows[0].get("photoin").is_none(), "{rows}");

    // The picture is a file of the data dir, served at its URL.
    let (st, _, body) = http_with(srv.port, "GET", &format!("/blobs/{key}"), &[], "").unwrap();
    assert_eq!((st, body.as_str()), (200, picture.as_str()));
}

#[test]
fn a_picture_over_2_mib_is_refused_unread_with_413() {
    let srv = Server::start();
    let big = "x".repeat(2 * 1024 * 1024 + 1);
    let (st, v) = put_picture(srv.port, &sha256_hex(big.as_bytes()), DEMO_AGENT_SECRET, &big);
    assert_eq!(st, 413, "{v}");
}
