//! Doors and people against the real `onecard serve` and the real
//! `onecard-agent --sim`: a card opens its door inside its time group's
//! period and is refused outside it, with the cloud up and with it stopped;
//! 7.4 expands a room-coded credential; a visitor's code opens the visitee's
//! door until `invalidDate`; 10.49 cancels before entry and takes the face
//! off the terminals; a face distributed to two terminals reports 10.53
//! progress to 100%.

mod push_support;
mod sitelink_support;

use chrono::{Datelike, Duration as Days, NaiveDateTime, Timelike};
use onecard_tests::{free_port, http, temp_dir};
use push_support::{add_partner, onecard, Receiver};
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};
use std::path::Path;
use std::time::{Duration, Instant};

const DOOR: &str = "C0000001-1";

fn now_local() -> NaiveDateTime {
    (chrono::Utc::now() + Days::hours(8)).naive_utc()
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn admin(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["doors"];
    all.extend_from_slice(&args[..1]);
    all.extend_from_slice(&["--data-dir", dir.to_str().unwrap()]);
    all.extend_from_slice(&args[1..]);
    onecard(&all)
}

/// A card or code at a door, through the agent's intake.
fn read(agent: &AgentProc, body: Value) -> Value {
    let (_, text) = http(agent.camera_port, "POST", "/door", &body.to_string()).expect("door intake");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("door intake answered non-JSON ({e}): {text}"))
}

fn swipe(agent: &AgentProc, card: &str) -> Value {
    read(agent, json!({"deviceID": DOOR, "cardNo": card}))
}

fn door_opens(agent: &AgentProc) -> usize {
    agent.frames().iter().filter(|f| f["device"] == json!(DOOR) && f["decoded"]["kind"] == json!("relay")).count()
}

/// Waits until the agent knows the door and the card (the rules arrived).
fn wait_card_known(agent: &AgentProc, card: &str) {
    let t0 = Instant::now();
    loop {
        let a = swipe(agent, card);
        if a["ok"] == json!(true) && a["reason"] != json!("unknown card") {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the agent never learnt card {card}: {a}\n{}", agent.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A period around now on today's weekday, and a whole day three days away.
fn time_groups(dir: &Path) {
    let now = now_local();
    let day = now.weekday().num_days_from_sunday();
    let (h0, h1) = (now.hour().saturating_sub(1), (now.hour() + 1).min(23));
    let around = format!("{day}={h0:02}:00:00-{h1:02}:59:59");
    let elsewhere = format!("{}=00:00:01-23:59:59", (day + 3) % 7);
    admin(dir, &["time-group", "--id", "T-IN", "--name", "此刻", "--period", &around]);
    admin(dir, &["time-group", "--id", "T-OUT", "--name", "别日", "--period", &elsewhere]);
    admin(dir, &["grant", "--id", "G-IN", "--name", "在时段", "--time-group", "T-IN", "--door", DOOR]);
    admin(dir, &["grant", "--id", "G-OUT", "--name", "不在时段", "--time-group", "T-OUT", "--door", DOOR]);
}

/// A room in a community-building-unit tree built through 10.21-10.33:
/// answers its `RoomID` and its 7.4 code (community number-building-floor-room).
fn room_in_tree(srv: &onecard_tests::Server, town: &str, building: &str, floor: &str, room: &str) -> (String, String) {
    let c = srv.client();
    let id = |v: Value, k: &str| v[k].as_i64().map(|n| n.to_string()).or_else(|| v[k].as_str().map(str::to_string)).unwrap_or_else(|| panic!("{k} in {v}"));
    let towns = c.ok("pub.hruptown.list", Value::Null);
    let t = match towns.as_array().unwrap().iter().find(|r| r["UpTown"] == json!(town)) {
        Some(r) => id(r.clone(), "UptownID"),
        None => id(c.ok("pub.hruptown.add", json!({"UpTown": town})), "UptownID"),
    };
    let b = id(c.ok("pub.hrbuilding.add", json!({"UptownID": t, "Building": building})), "BuildID");
    let u = id(c.ok("pub.hrcell.add", json!({"BuildID": b, "Cells": "1 单元", "Floors": "10"})), "CellID");
    let r = id(c.ok("pub.hrroom.add", json!({"CellID": u, "Room": room, "FloorNo": floor, "DoorPlate": room})), "RoomID");
    (r, format!("{t}-{building}-{floor}-{room}"))
}

fn holder_with_card(srv: &onecard_tests::Server, user: &str, mobile: &str, room: &str, card: &str, grant: Value) {
    let c = srv.client();
    c.ok("pub.user.info.add", json!({"UserNo": user, "FstName": format!("住户{user}"), "Gender": "1", "Mobile": mobile, "RoomID": room}));
    let mut acss = json!({"StartDate": "2020-01-01 00:00:00", "ExpiryDate": "2099-12-31 23:59:59"});
    for (k, v) in grant.as_object().unwrap() {
        acss[k] = v.clone();
    }
    c.ok("pub.card.add", json!({"CardNo": card, "NumNo": card, "CardMaterial": "1", "UserNo": user, "Acss": acss}));
}

#[test]
fn a_card_opens_its_door_only_inside_its_period_online_and_offline() {
    let dir = temp_dir("doors-period");
    let port = free_port();
    let cloud = dir.join("cloud");
    let mut srv = server(&cloud, port);
    time_groups(&cloud);
    let (room_g, code_g) = room_in_tree(&srv, "景苑", "G", "5", "5A");
    let (room_h, _) = room_in_tree(&srv, "景苑", "H", "1", "1A");
    let town = code_g.split('-').next().unwrap().to_string();
    holder_with_card(&srv, "3000001", "13800000001", &room_g, "D0001", json!({"GrantID": "G-IN", "AllGrant": "False"}));
    holder_with_card(&srv, "3000002", "13800000002", &room_h, "D0002", json!({"GrantID": "G-OUT", "AllGrant": "False"}));

    // 7.4: the room-coded credentials reach the right cards and their doors.
    let c = srv.client();
    let rows = c.ok("acss.user.grants", json!({"CredentialType": "7", "Credential": code_g}));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["CardNo"].as_str(), rows[0]["ControllerNo"].as_str(), rows[0]["DoorNo"].as_str()), (Some("D0001"), Some("C0000001"), Some("1")));
    assert_eq!(rows[0]["AllGrant"], json!("False"));
    let building = c.ok("acss.user.grants", json!({"CredentialType": "6", "Credential": format!("{town}-G")}));
    assert_eq!(building.as_array().unwrap().len(), 1);
    let community = c.ok("acss.user.grants", json!({"CredentialType": "5", "Credential": town}));
    assert_eq!(community.as_array().unwrap().len(), 2, "both holders live in community {town}: {community}");
    assert!(c.ok("acss.user.grants", json!({"CredentialType": "7", "Credential": format!("{town}9-G-5-5A")})).as_array().unwrap().is_empty());

    let agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();
    wait_card_known(&agent, "D0001");
    let before = door_opens(&agent);

    let inside = swipe(&agent, "D0001");
    assert_eq!((inside["open"].clone(), inside["reason"].clone()), (json!(true), json!("in period")), "{inside}");
    let outside = swipe(&agent, "D0002");
    assert_eq!((outside["open"].clone(), outside["reason"].clone()), (json!(false), json!("outside the time group's periods")), "{outside}");
    assert_eq!(door_opens(&agent), before + 1, "the door opened for D0001 only");

    // 7.5 changes a card's group and the site follows at once.
    c.ok("acss.user.grant.update", json!({"CredentialType": "3", "Credential": "3000002", "GrantID": "G-IN"}));
    let t0 = Instant::now();
    while swipe(&agent, "D0002")["open"] != json!(true) {
        assert!(t0.elapsed() < Duration::from_secs(10), "7.5's change never reached the agent");
        std::thread::sleep(Duration::from_millis(200));
    }
    c.ok("acss.user.grant.update", json!({"CredentialType": "2", "Credential": "D0002", "GrantID": "G-OUT"}));
    let t0 = Instant::now();
    while swipe(&agent, "D0002")["open"] != json!(false) {
        assert!(t0.elapsed() < Duration::from_secs(10), "7.5's change back never reached the agent");
        std::thread::sleep(Duration::from_millis(200));
    }

    srv.kill();
    agent.wait_log("cloud link down", 1, Duration::from_secs(10));
    let opens = door_opens(&agent);
    let inside = swipe(&agent, "D0001");
    assert_eq!((inside["open"].clone(), inside["reason"].clone()), (json!(true), json!("in period")), "offline: {inside}");
    let outside = swipe(&agent, "D0002");
    assert_eq!(outside["open"], json!(false), "offline: {outside}");
    assert_eq!(swipe(&agent, "NOPE")["reason"], json!("unknown card"));
    assert_eq!(door_opens(&agent), opens + 1, "offline, the door opened for D0001 only");

    // Back online, every decision reaches 7.7.
    let srv = server(&cloud, port);
    let c = srv.client();
    let t0 = Instant::now();
    let rows = loop {
        let rows = c.ok("acss.iorecords.get", json!({"ControllerNo": "C0000001", "DoorNo": "1"}));
        let rows = rows.as_array().unwrap().clone();
        if rows.iter().filter(|r| r["CardNo"] == json!("D0001") && r["IOType"] == json!("1")).count() >= 2 {
            break rows;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "door records never arrived: {rows:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(rows.iter().any(|r| r["CardNo"] == json!("D0002") && r["IOTypeName"] == json!("刷卡无权限")), "{rows:?}");
    let refused = c.ok("acss.iorecords.get", json!({"IOTypeName": "无权限", "CardNo": "D0002"}));
    assert!(!refused.as_array().unwrap().is_empty());
    assert_eq!(rows[0]["RoomName"], json!("1F-大堂前门"));
}

/// A small but real JPEG header and body, base64.
fn face_jpeg(seed: u8) -> String {
    use base64::Engine;
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    b.extend((0..400u32).map(|i| (i as u8).wrapping_mul(seed)));
    b.extend([0xFF, 0xD9]);
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn a_visitor_code_opens_the_visitees_door_until_it_expires_and_a_cancel_takes_the_face_off() {
    let dir = temp_dir("doors-visitor");
    let port = free_port();
    let cloud = dir.join("cloud");
    let srv = server(&cloud, port);
    let (room, _) = room_in_tree(&srv, "景苑", "G", "1", "1A");
    holder_with_card(&srv, "4000001", "13900000001", &room, "V0001", json!({"AllGrant": "True"}));
    let agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();
    wait_card_known(&agent, "V0001");
    let c = srv.client();

    // Mode 1, valid for a few seconds.
    let now = now_local();
    let until = now + Days::seconds(6);
    let order = c.ok(
        "pub.guest.order.add",
        json!({"credentialType": "1", "credential": "13900000001", "guestName": "张三", "identityType": "2",
               "identityNo": "452526197807040619", "usefulDate": stamp(now - Days::minutes(1)), "invalidDate": stamp(until)}),
    );
    let code = order["qrcode"].as_str().unwrap().to_string();
    assert!(!order["orderNo"].as_str().unwrap().is_empty());
    let t0 = Instant::now();
    let opened = loop {
        let a = read(&agent, json!({"deviceID": DOOR, "qrcode": code}));
        if a["open"] == json!(true) || t0.elapsed() > Duration::from_secs(4) {
            break a;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(opened["open"], json!(true), "{opened}");
    assert!(opened["reason"].as_str().unwrap().starts_with("visitor "), "{opened}");
    let forged = code.replacen("4000001", "4000002", 1);
    assert_eq!(read(&agent, json!({"deviceID": DOOR, "qrcode": forged}))["reason"], json!("bad signature"));
    // Codes count whole seconds, the end one included.
    while now_local() <= until + Days::milliseconds(1100) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let late = read(&agent, json!({"deviceID": DOOR, "qrcode": code}));
    assert_eq!((late["open"].clone(), late["reason"].clone()), (json!(false), json!("code expired or not yet valid")), "{late}");

    // The visitor went through: 10.49 refuses once the record is in.
    let t0 = Instant::now();
    loop {
        let e = c.call("park.face.visitors.cancel", json!({"visitorOrderNo": order["orderNo"]}));
        if e["status"] == json!(false) && e["message"].as_str().unwrap_or("").contains("already entered") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "cancel after entry was not refused: {e}");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Another visit with a face: on the door terminal at registration, off it on cancel.
    let second = c.ok(
        "pub.guest.order.add",
        json!({"credentialType": "1", "credential": "13900000001", "guestName": "李四", "identityType": "2",
               "identityNo": "452526197807040620", "facePhoto": face_jpeg(7),
               "usefulDate": stamp(now), "invalidDate": stamp(now + Days::hours(2))}),
    );
    agent.wait_log("face stored on terminal", 1, Duration::from_secs(10));
    let faces = c.ok("pub.face.get", json!({"userName": "李四"}));
    assert_eq!(faces.as_array().unwrap().len(), 1, "{faces}");
    assert_eq!(faces[0]["status"], json!("1"));
    assert_eq!(faces[0]["faceImgData"], json!(face_jpeg(7)), "the face comes back from the blob store");
    c.ok("park.face.visitors.cancel", json!({"visitorOrderNo": second["orderNo"]}));
    agent.wait_log("face removed from terminal", 1, Duration::from_secs(10));
    let faces = c.ok("pub.face.get", json!({"userName": "李四"}));
    assert_eq!(faces[0]["status"], json!("0"));
    let gone = read(&agent, json!({"deviceID": DOOR, "qrcode": second["qrcode"]}));
    let t0 = Instant::now();
    let mut gone = gone;
    while gone["reason"] != json!("visit cancelled") {
        assert!(t0.elapsed() < Duration::from_secs(10), "the cancelled code still works: {gone}");
        std::thread::sleep(Duration::from_millis(200));
        gone = read(&agent, json!({"deviceID": DOOR, "qrcode": second["qrcode"]}));
    }
    assert_eq!(c.call("park.face.visitors.cancel", json!({"visitorOrderNo": second["orderNo"]}))["status"], json!(false), "twice");
}

#[test]
fn a_face_distributed_to_two_terminals_reports_progress_to_100_percent() {
    let dir = temp_dir("doors-faces");
    let port = free_port();
    let cloud = dir.join("cloud");
    let srv = server(&cloud, port);
    let rx = Receiver::start();
    add_partner(&cloud, "faces", &rx, "*");
    admin(&cloud, &["terminal", "--device", "VM0000003", "--name", "后门人脸机", "--module", "171"]);
    admin(&cloud, &["terminal", "--device", "VM0000004", "--name", "侧门人脸机", "--module", "171"]);
    let agent = AgentProc::start(port, &dir.join("agent"), &["--sim-silent", "VM0000004"]);
    agent.wait_ready();
    let c = srv.client();

    let face = json!({"userName": "赵六", "gender": "1", "registerTime": stamp(now_local()), "mobileNo": "13366668888",
        "certificationType": "1", "faceImgData": face_jpeg(3), "status": "1",
        "access": {"allGrant": "true", "startTime": "2020-01-01 00:00:00", "moduleType": "171",
                   "gate": {"allGrant": "true", "startTime": "2020-01-01 00:00:00", "moduleType": "150"}}});
    let added = c.ok("pub.face.add", face);
    let uuid = added["uuid"].as_str().unwrap().to_string();
    let user_no = added["userNo"].as_str().unwrap().to_string();
    // Two door terminals answer (VM0000001 from the demo, VM0000003); VM0000004 stays silent.
    admin(&cloud, &["terminal-delete", "--device", "VM0000004"]);
    // The agent needs the terminal list; the next config push brings it (7.13 is a write that pushes).
    c.ok("acss.door.ibms.enable", json!({"controllerno": "C0000001", "doorno": "1", "enable": "1"}));
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    loop {
        let e = c.call("park.face.distributed", json!({"uuId": uuid, "userNo": user_no, "moduleType": "171"}));
        if e["status"] == json!(true) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "distribution failed: {e}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let got = rx.wait_for(Duration::from_secs(15), "10.53 at 100%", |g| {
        g.iter().any(|x| x.path == "/notify/faceDistributeResult" && x.record()["isCompleted"] == json!(true) && x.record()["doneCount"] == json!(2))
    });
    let progress: Vec<Value> = got.iter().filter(|x| x.path == "/notify/faceDistributeResult").map(|x| x.record()).collect();
    let last = progress.iter().rev().find(|r| r["isCompleted"] == json!(true) && r["doneCount"] == json!(2)).unwrap();
    assert_eq!(last["total"], json!(2), "{last}");
    assert!(progress.iter().any(|r| r["doneCount"] == json!(1) && r["total"] == json!(2) && r["isCompleted"] == json!(false)), "{progress:?}");
    let holders: Vec<String> = agent.log_text().lines().filter(|l| l.contains("face stored on terminal") && l.contains(&uuid)).map(str::to_string).collect();
    assert!(holders.iter().any(|l| l.contains("VM0000001")) && holders.iter().any(|l| l.contains("VM0000003")), "{holders:?}");

    // A terminal that stays silent fails its step with 620; the rest still get the face.
    admin(&cloud, &["terminal", "--device", "VM0000004", "--name", "侧门人脸机", "--module", "171"]);
    c.ok("acss.door.ibms.enable", json!({"controllerno": "C0000001", "doorno": "1", "enable": "0"}));
    std::thread::sleep(Duration::from_millis(500));
    let e = c.call("park.face.distributed", json!({"uuId": uuid, "userNo": user_no, "moduleType": "171"}));
    assert_eq!(e["code"], json!(620), "{e}");
    assert!(e["message"].as_str().unwrap().contains("2 of 3"), "{e}");

    // A terminal recognises the face: 10.39 lists it, 10.54 pushes it.
    let body = json!({"deviceID": "VM0000001", "uuid": uuid, "similarity": 91.5, "threshold": 84, "capturedImg": face_jpeg(9)}).to_string();
    let (st, text) = http(agent.camera_port, "POST", "/face", &body).expect("face intake");
    assert_eq!(st, 200, "{text}");
    let t0 = Instant::now();
    let recs = loop {
        let r = c.ok("pub.viorecord.list", json!({"returnImg": "1"}));
        if !r.as_array().unwrap().is_empty() {
            break r;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "no recognition record arrived");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((recs[0]["username"].as_str(), recs[0]["facecontrast"].as_str(), recs[0]["moduletype"].as_str()), (Some("赵六"), Some("True"), Some("171")));
    assert_eq!(recs[0]["capturedimg"], json!(face_jpeg(9)));
    assert_eq!(recs[0]["compareimg"], json!(face_jpeg(3)));
    assert!(c.ok("pub.viorecord.list", json!({"returnImg": "0"}))[0].get("capturedimg").is_none());
    let got = rx.wait_for(Duration::from_secs(15), "10.54", |g| g.iter().any(|x| x.path == "/report/faceContrastRecord"));
    let pushed = got.iter().find(|x| x.path == "/report/faceContrastRecord").unwrap().record();
    assert_eq!((pushed["UUID"].as_str(), pushed["FaceContrast"].as_bool()), (Some(uuid.as_str()), Some(true)), "{pushed}");

    // 10.51 takes the face off every terminal; 10.47 checks pictures.
    let bl = c.call("park.face.add.blacklist", json!({"uuId": uuid}));
    assert_eq!(bl["code"], json!(620), "the silent terminal still fails its step: {bl}");
    agent.wait_log("face removed from terminal", 2, Duration::from_secs(10));
    assert_eq!(c.call("pub.face.validate", json!({"facePhoto": "aGVsbG8="}))["code"], json!(100001));
    c.ok("pub.face.validate", json!({"facePhoto": face_jpeg(5)}));
}
