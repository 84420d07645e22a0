//! Parking guidance (chapter 8) end to end on the real `onecard serve`,
//! seeded with the demo car park (two floors, 40 spaces, 2 screens), and the
//! real `onecard-agent --sim` for the guidance screens.

mod sitelink_support;

use onecard_tests::{code, temp_dir};
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

const B1_POINT: &str = "TN000000000000000001";
const B2: &str = "MN000000000000000002";
/// B05, a standard space on the lower floor (B2).
const LOWER_SPACE: &str = "PN000000000000000025";
const SCREEN_B1: &str = "LN000000000000000001";
const SCREEN_B2: &str = "LN000000000000000002";

fn survey() -> Value {
    serde_json::from_str(onecard_app::pls::survey::DEMO).expect("demo survey")
}

/// The survey's nodes: id → (map, x, y).
fn nodes(s: &Value) -> HashMap<String, (String, f64, f64)> {
    s["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap().to_string(), (n["mapNo"].as_str().unwrap().to_string(), n["x"].as_f64().unwrap(), n["y"].as_f64().unwrap()))).collect()
}

fn edge_cost(e: &Value, n: &HashMap<String, (String, f64, f64)>) -> f64 {
    e["cost"].as_f64().unwrap_or_else(|| {
        let (a, b) = (&n[e["from"].as_str().unwrap()], &n[e["to"].as_str().unwrap()]);
        ((a.1 - b.1).powi(2) + (a.2 - b.2).powi(2)).sqrt()
    })
}

/// The survey graph's shortest distance, by a Dijkstra of the test's own.
fn shortest(s: &Value, from: &str, to: &str) -> f64 {
    let n = nodes(s);
    let mut adj: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
    for e in s["edges"].as_array().unwrap() {
        let (a, b, c) = (e["from"].as_str().unwrap(), e["to"].as_str().unwrap(), edge_cost(e, &n));
        adj.entry(a).or_default().push((b, c));
        adj.entry(b).or_default().push((a, c));
    }
    // Costs in thousandths keep the heap on integers (compare within 0.005).
    let mut best: HashMap<&str, i64> = HashMap::new();
    let mut heap = BinaryHeap::new();
    heap.push((0i64, from));
    while let Some((neg, at)) = heap.pop() {
        let d = -neg;
        if best.get(at).is_some_and(|b| *b <= d) {
            continue;
        }
        best.insert(at, d);
        for (next, c) in adj.get(at).into_iter().flatten() {
            heap.push((-(d + (c * 1000.0).round() as i64), *next));
        }
    }
    best[to] as f64 / 1000.0
}

fn points(text: &str) -> Vec<(f64, f64)> {
    let nums: Vec<f64> = text.replace(['M', 'L'], " ").replace(',', " ").split_whitespace().map(|v| v.parse().unwrap()).collect();
    nums.chunks(2).map(|c| (c[0], c[1])).collect()
}

fn polyline(p: &[(f64, f64)]) -> f64 {
    p.windows(2).map(|w| ((w[0].0 - w[1].0).powi(2) + (w[0].1 - w[1].1).powi(2)).sqrt()).sum()
}

/// The connector's cost between the end of one leg and the start of the next.
fn connector(s: &Value, from: (&str, (f64, f64)), to: (&str, (f64, f64))) -> f64 {
    let n = nodes(s);
    let at = |id: &str, (map, p): (&str, (f64, f64))| n[id].0 == map && n[id].1 == p.0 && n[id].2 == p.1;
    let e = s["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            let (a, b) = (e["from"].as_str().unwrap(), e["to"].as_str().unwrap());
            (at(a, from) && at(b, to)) || (at(b, from) && at(a, to))
        })
        .expect("a connector joins the legs");
    edge_cost(e, &n)
}

fn park(c: &onecard_tests::Client, space: &str, plate: &str, at: &str) {
    c.ok("pls.parklot.status.update", json!({"parkLotNo": space, "status": "1", "licensePlate": plate, "updateDate": at}));
}

#[test]
fn a_car_on_the_lower_floor_is_found_by_plate_and_space_and_routed_across_floors() {
    let dir = temp_dir("pls-find");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let c = srv.client();
    let s = survey();

    park(&c, LOWER_SPACE, "粤 B12345", "2026-03-02 09:00:00");
    let by_plate = c.ok("pls.car.pos.getByLP", json!({"licensePlate": "粤B12345", "AllowReturnInDate": "1"}));
    assert_eq!(by_plate["ParkLotName"], json!("B05"), "{by_plate}");
    assert_eq!(by_plate["FloorName"], json!("地下2层"));
    assert_eq!(by_plate["InDate"], json!("2026-03-02 09:00:00"));
    let by_space = c.ok("pls.car.pos.getByNo", json!({"parkLotName": "B05"}));
    assert_eq!(by_space["LicensePlate"], json!("粤B12345"), "{by_space}");
    assert_eq!(code(&c.call("pls.car.pos.getByLP", json!({"licensePlate": "粤B00000"}))), 700);

    // From the lift lobby of the upper floor (B1) to the car on B2.
    let r = c.ok("pls_guide.path", json!({"source": B1_POINT, "target": "粤B12345"}));
    let path = &r["path"];
    assert_eq!(path["type"], json!("2"), "{r}");
    assert!(r.get("mapno").is_none(), "a cross-floor route has no single mapno");
    assert_eq!(path["mapNo2"], json!(B2));
    assert_eq!(path["pageDesc1"], json!("第 1 页 / 共 2 页"));
    assert!(path["pathDesc2"].as_str().unwrap().contains("车位号: B05, 车牌号: 粤B12345"), "{path}");
    assert!(path["pathDesc1"].as_str().unwrap().contains("地下2层"), "{path}");
    assert_eq!(r["indate"], json!("2026-03-02 09:00:00"));
    let (l1, l2) = (points(path["path1"].as_str().unwrap()), points(path["path2"].as_str().unwrap()));
    let via = connector(&s, (path["mapNo1"].as_str().unwrap(), *l1.last().unwrap()), (B2, l2[0]));
    let length = polyline(&l1) + via + polyline(&l2);
    let expected = shortest(&s, "F1-lift", "F2-s05");
    assert!((length - expected).abs() < 0.005, "route length {length}, graph's shortest {expected}");

    // By space, the same route; on one floor, the single-string form.
    let by_lot = c.ok("pls.guide.path.getByParkLot", json!({"source": B1_POINT, "target": LOWER_SPACE}));
    assert_eq!(by_lot["path"], r["path"]);
    let same_floor = c.ok("pls.guide.path.getByParkLot", json!({"source": "TN000000000000000002", "target": LOWER_SPACE}));
    let one = same_floor["path"].as_str().expect("one floor: a string");
    assert!(one.starts_with("M40, 300L"), "{one}");
    assert_eq!(same_floor["mapno"], json!(B2));
    assert!((polyline(&points(one)) - shortest(&s, "F2-lift", "F2-s05")).abs() < 0.005);
    let group = c.ok("pls_guide_group_path", json!({"source": B1_POINT, "target": "B2"}));
    assert_eq!(group["path"]["mapNo2"], json!(B2), "{group}");

    // The car leaves: its record closes and 8.17 shows when.
    c.ok("pls.parklot.status.update", json!({"parkLotNo": LOWER_SPACE, "status": "0", "updateDate": "2026-03-02 11:00:00"}));
    assert_eq!(code(&c.call("pls.car.pos.getByLP", json!({"licensePlate": "粤B12345"}))), 700);
    let last = c.ok("pls.car.last.pos.get", json!({"licensePlate": "粤B12345"}));
    assert_eq!((last["InDate"].clone(), last["OutDate"].clone()), (json!("2026-03-02 09:00:00"), json!("2026-03-02 11:00:00")));
    let first = c.ok("pls.car.first.pos.get", json!({"parkLotName": "B05", "startTime": "2026-03-02 08:00:00"}));
    assert_eq!(first["LicensePlate"], json!("粤B12345"));
    // Bad input names its field.
    let bad = c.call("pls.parklot.status.update", json!({"parkLotNo": LOWER_SPACE, "status": "5", "updateDate": "2026-03-02 11:00:00"}));
    assert_eq!(code(&bad), 100001);
    assert!(bad["message"].as_str().unwrap().contains("status"), "{bad}");
}

fn devices_file(dir: &std::path::Path, silent: &str) -> String {
    let p = dir.join("devices.toml");
    let mut text = String::new();
    for (i, id) in [SCREEN_B1, SCREEN_B2].iter().enumerate() {
        text += &format!("[[device]]\nid = \"{id}\"\naddress = {i}\nsilent = {}\n\n", *id == silent);
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn screen_frames(agent: &AgentProc, screen: &str) -> Vec<Value> {
    agent.frames().into_iter().filter(|f| f["device"] == json!(screen)).map(|f| f["decoded"].clone()).collect()
}

fn wait_frames(agent: &AgentProc, screen: &str, n: usize) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let got = screen_frames(agent, screen);
        if got.len() >= n || t0.elapsed() > Duration::from_secs(10) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_status_change_moves_the_counts_and_drives_a_screen_frame() {
    let dir = temp_dir("pls-screen");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let devices = devices_file(&dir, SCREEN_B2);
    let agent = AgentProc::start(srv.port, &dir.join("agent"), &["--devices", &devices]);
    agent.wait_ready();
    let c = srv.client();

    let before = c.ok("pls.lot.status.total", json!({"parkLotType": "0"}));
    assert_eq!((before["total"].clone(), before["remain"].clone()), (json!("40"), json!("40")), "{before}");
    assert_eq!(before["chargingTotal"], json!("4"));
    assert!(c.ok("pls.lot.status.total", json!({"parkLotType": ""})).get("standardTotal").is_none());

    park(&c, LOWER_SPACE, "粤B12345", "2026-03-02 09:00:00");
    let after = c.ok("pls.lot.status.total", json!({"parkLotType": "1"}));
    assert_eq!((after["remain"].clone(), after["standardRemain"].clone()), (json!("39"), json!("31")), "{after}");
    assert!(after.get("chargingTotal").is_none(), "only the asked type");
    let areas = c.ok("pls.lot.status.total.of.area", json!({"parkLotType": ""}));
    let b2 = areas.as_array().unwrap().iter().find(|a| a["areaID"] == json!("AN000000000000000002")).unwrap().clone();
    assert_eq!((b2["areaName"].clone(), b2["total"].clone(), b2["remain"].clone()), (json!("负二层"), json!("20"), json!("19")));

    // The B1 screen counts B2's free spaces: it was sent the new count.
    let frames = wait_frames(&agent, SCREEN_B1, 1);
    let last = frames.last().unwrap_or_else(|| panic!("no frame for {SCREEN_B1}; agent log:\n{}", agent.log_text()));
    assert_eq!(last["kind"], json!("guide_screen"));
    assert_eq!((last["left"].clone(), last["right"].clone(), last["arrow"].clone(), last["pos"].clone()), (json!("负二层"), json!("19"), json!(0), json!(4)));

    // 8.23: a caller's text, laid out by the seed's rules.
    let n = screen_frames(&agent, SCREEN_B1).len();
    c.ok("pls.led.display", json!({"arrowDirection": "0xFF", "arrowToLeft": "", "ledNo": SCREEN_B1, "leftShow": "京A88888", "rightShow": "0"}));
    let shown = wait_frames(&agent, SCREEN_B1, n + 1);
    assert_eq!(shown[n]["left"], json!("京A88888 0"), "no arrow: all as characters");
    assert_eq!(shown[n]["arrow"], json!(255));
    // The B2 screen is silent: 620.
    let t0 = Instant::now();
    let silent = c.call("pls.led.display", json!({"arrowDirection": "1", "ledName": "B2 A区", "leftShow": "B1区", "rightShow": "9"}));
    assert_eq!(code(&silent), 620, "{silent}");
    assert!(t0.elapsed() < Duration::from_secs(8));
    assert_eq!(code(&c.call("pls.led.display", json!({"arrowDirection": "9", "ledNo": SCREEN_B1}))), 100001);
    let screens = c.ok("pls.led.get", json!({}));
    assert_eq!(screens.as_array().unwrap().len(), 2);
    assert_eq!(screens[0]["ledX"], json!("1100"));
}

#[test]
fn a_faulted_detector_is_listed_and_devices_are_answered() {
    let dir = temp_dir("pls-fault");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let c = srv.client();

    let ok = c.ok("pls.device.fault.total", json!({"returnArea": ""}));
    assert_eq!((ok[0]["total"].clone(), ok[0]["fault"].clone()), (json!("34"), json!("0")), "{ok}");
    // A1 (B1, ultrasonic) reads abnormal.
    c.ok("pls.parklot.status.update", json!({"parkLotName": "A01", "status": "2", "updateDate": "2026-03-02 09:00:00"}));
    let per_area = c.ok("pls.device.fault.total", json!({"returnArea": "1"}));
    let b1 = per_area.as_array().unwrap().iter().find(|a| a["areaID"] == json!("AN000000000000000001")).unwrap();
    assert_eq!((b1["total"].clone(), b1["fault"].clone()), (json!("20"), json!("1")), "{per_area}");
    let us = c.ok("pls.ultrasonicDevice.list", json!({}));
    let a01 = us.as_array().unwrap().iter().find(|u| u["parkLotName"] == json!("A01")).unwrap();
    assert_eq!((a01["devStatus"].clone(), a01["switchAddress"].clone(), a01["controllerAddress"].clone()), (json!("2"), json!("0"), json!("1")));
    // A video detector over a faulted B2 space reads faulty too.
    c.ok("pls.parklot.status.update", json!({"parkLotName": "B12", "status": "-1", "updateDate": "2026-03-02 09:00:00"}));
    let video = c.ok("pls.videoDevice.list", json!({}));
    let v = video.as_array().unwrap().iter().find(|v| v["parklot2"] == json!("B12")).expect("B12 is watched");
    assert_eq!(v["devStatus"], json!("2"), "{v}");
    assert_eq!(v["parklot4"], Value::Null);
    assert_eq!(c.ok("pls.device.fault.total", json!({}))[0]["fault"], json!("2"));

    // The rest of the model is there to read.
    assert_eq!(c.ok("pls.guide.points", json!({})).as_array().unwrap().len(), 2);
    assert_eq!(c.ok("pls.map.list", json!({})).as_array().unwrap().len(), 2);
    assert!(!c.ok("pls.map.info", json!({"no": B2}))["data"].as_str().unwrap().is_empty(), "the map's picture is answered");
    assert!(c.ok("pls.navMap.list.excludeImg", json!({}))[0].get("data").is_none());
    assert!(c.ok("pls.navMap.info", json!({"no": "N0000000000000000002"}))["data"].is_string());
    assert_eq!(c.ok("pls.parkLots.get", json!({"name": "A01"}))[0]["status"], json!("2"));
    assert_eq!(c.ok("pls.parklotgroup.get", json!({"areaNo": "AN000000000000000002"})).as_array().unwrap().len(), 2);
    assert_eq!(c.ok("pls.switchDevice.list", json!({})).as_array().unwrap().len(), 1);
    assert_eq!(c.ok("pls.controller.list", json!({}))[1]["floorName"], json!("地下2层"));
    assert_eq!(code(&c.call("pls.map.info", json!({"no": "nope"}))), 100001);
    // 8.13 resets the faulted spaces.
    c.ok("pls.parklot.status.reset", json!({"updateDate": "2026-03-02 10:00:00"}));
    assert_eq!(c.ok("pls.lot.status.total", json!({}))["remain"], json!("40"));
}

fn onecard(args: &[&str]) -> std::process::Output {
    std::process::Command::new(onecard_tests::binary("onecard")).args(args).output().expect("run onecard")
}

#[test]
fn a_survey_import_replaces_the_model_and_an_unreachable_relay_answers_521() {
    let dir = temp_dir("pls-import");
    let data = dir.join("cloud");
    let srv = server(&data, onecard_tests::free_port());
    let c = srv.client();
    let d = data.to_str().unwrap();

    // 9.14 from the site keeps the status; a relay that cannot be told is 521.
    let relay = onecard(&["guidance", "relay", "--data-dir", d, "--url", "http://127.0.0.1:9/aibee"]);
    assert!(relay.status.success(), "{}", String::from_utf8_lossy(&relay.stderr));
    let up = json!({"from": "sensor", "parkLotNo": LOWER_SPACE, "status": "1", "licensePlate": "粤B54321", "updateDate": "2026-03-02 09:00:00.999"});
    let env = c.call("cat.upload.parklotstatus", up.clone());
    assert_eq!(code(&env), 521, "{env}");
    assert_eq!(c.ok("pls.car.pos.getByNo", json!({"parkLotName": "B05"}))["LicensePlate"], json!("粤B54321"), "the status was kept");
    assert!(onecard(&["guidance", "relay", "--data-dir", d, "--off"]).status.success());
    let mut again = up;
    again["updateDate"] = json!("2026-03-02 09:00:01.000");
    assert_eq!(code(&c.call("cat.upload.parklotstatus", again)), 200);

    // A survey with one screen fewer: checked, imported with progress, and
    // the parked car is still where it was.
    let mut s = survey();
    s["screens"].as_array_mut().unwrap().pop();
    let file = dir.join("survey.json");
    std::fs::write(&file, s.to_string()).unwrap();
    let check = onecard(&["guidance", "check", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let out = onecard(&["guidance", "import", "--data-dir", d, file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("records (100%)"), "progress on stderr: {err}");
    assert_eq!(c.ok("pls.led.get", json!({})).as_array().unwrap().len(), 1);
    assert_eq!(c.ok("pls.car.pos.getByLP", json!({"licensePlate": "粤B54321"}))["ParkLotName"], json!("B05"));

    // A broken survey is refused whole, every problem named.
    s["spaces"][0]["node"] = json!("nowhere");
    s["edges"].as_array_mut().unwrap().push(json!({"from": "F1-a0", "to": "F2-a0"}));
    std::fs::write(&file, s.to_string()).unwrap();
    let bad = onecard(&["guidance", "import", "--data-dir", d, file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("no node 'nowhere'") && err.contains("needs a cost"), "{err}");
    assert_eq!(c.ok("pls.parkLots.get", json!({"no": "PN000000000000000001"})).as_array().unwrap().len(), 1);
}

#[test]
fn charging_records_are_kept_once_and_plate_reports_name_a_lane() {
    let dir = temp_dir("pls-6x");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let c = srv.client();
    let charge = json!({"orderNo": "11402900000191510021012151579017", "startTime": "2026-03-02 17:51:53", "endTime": "2026-03-02 17:56:00",
        "chargingTime": 247000, "stationId": "00c0353e", "stationName": "尝试", "power": 0.16, "elecMoney": 0.16, "serviceMoney": 0.48, "carNums": ["京 AA0101"]});
    c.ok("park.elccharging.push", charge.clone());
    c.ok("park.elccharging.push", charge.clone());
    let mut other = charge.clone();
    other["elecMoney"] = json!(9.99);
    let env = c.call("park.elccharging.push", other);
    assert_eq!(code(&env), 500, "{env}");
    let mut backwards = charge;
    backwards["orderNo"] = json!("2");
    backwards["endTime"] = json!("2026-03-02 17:00:00");
    assert_eq!(code(&c.call("park.elccharging.push", backwards)), 100001);

    c.ok("park.platerecognition.push", json!({"plate": "粤 B12355", "color": "蓝", "timestamp": "2026-03-02 16:40:42", "exit": "C0000002"}));
    let env = c.call("park.platerecognition.push", json!({"plate": "粤 B12355", "color": "蓝", "timestamp": "2026-03-02 16:40:42", "exit": "C0000099"}));
    assert_eq!(code(&env), 100001);
    assert!(env["message"].as_str().unwrap().contains("exit"), "{env}");
}
