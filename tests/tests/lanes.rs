//! Who may enter and leave, end to end against the real `onecard serve`:
//! blacklists at the entrance (9.18), a locked car held at the exit and let
//! out by 6.19, and a group that cards still use.

mod sitelink_support;

use onecard_tests::{code, now_local, temp_dir, Server};
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};

fn local(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(offset_minutes)).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn lane(c: &onecard_tests::Client, plate: &str, exit: bool) -> Value {
    let (dev, flag) = if exit { ("2", "2") } else { ("1", "1") };
    c.ok("cat.pass.validate", json!({"deviceID": dev, "carNo": plate, "passTime": now_local(), "inOutFlag": flag}))
}

#[test]
fn a_blacklisted_car_is_refused_at_the_entrance_and_allowed_once_lifted() {
    let srv = Server::start();
    let c = srv.client();
    // The demo data carries the 6.77 types and 6.78 hints.
    let hints = c.ok("park.blackhint.get", json!({}));
    let hint = hints[0].clone();
    assert!(!c.ok("park.blackremark.get", json!({})).as_array().unwrap().is_empty());
    c.ok("park.blacklist.add", json!({"plateNo": "京 A11111", "blackHintId": hint["blackHintId"], "startDateTime": local(-60), "endDateTime": "2099-01-01 00:00:00"}));

    let refused = lane(&c, "京A11111", false);
    assert_eq!(refused["passFlag"], "0", "{refused}");
    assert_eq!(refused["hintVoice"], hint["blackHint"], "{refused}");
    assert_eq!(lane(&c, "京A22222", false)["passFlag"], "1", "another car is let in");

    let id = c.ok("park.blacklist.get", json!({}))[0]["autoID"].clone();
    c.ok("park.blacklist.lift", json!({"autoId": id}));
    assert_eq!(lane(&c, "京A11111", false)["passFlag"], "1");
    let rows = c.ok("park.blacklist.get", json!({}));
    assert_eq!(rows[0]["isDelete"], "1", "{rows}");
}

#[test]
fn a_locked_car_is_held_at_the_exit_then_let_out_after_6_19() {
    let dir = temp_dir("lanes-lock");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let agent = AgentProc::start(srv.port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let c = srv.client();
    let plate = "粤B12345";
    // Inside the demo tariff's free minutes: only the lock can hold it.
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "lk-e2e-1", "licensePlate": plate, "inDate": local(-2)}));
    assert_eq!(code(&c.call("park.lockcar", json!({"licensePlate": "粤B99999"}))), 700);
    c.ok("park.lockcar", json!({"licensePlate": plate}));
    c.ok("park.lockcar.confirm", json!({"licensePlate": plate}));
    assert_eq!(c.ok("park.lockcar.status.get", json!({"licensePlate": plate}))["lockStatus"], "1");

    let held = lane(&c, plate, true);
    assert_eq!(held["passFlag"], "0", "{held}");
    c.ok("cat.notice.unlockcar", json!({"areaId": "1", "licensePlate": plate}));
    assert_eq!(c.ok("park.lockcar.status.get", json!({"licensePlate": plate}))["waitAreaId"], "1");

    let before = agent.frames().len();
    let env = c.call("park.unlockcar.confirm", json!({"licensePlate": plate}));
    assert_eq!(env["status"], json!(true), "{env}");
    assert!(env["message"].is_null() || !env["message"].as_str().unwrap_or("").contains("not opened"), "{env}");
    // The exit gate's board got the open pulse (relay channel 1), as 6.25 sends it.
    let opened: Vec<Value> = agent.frames().into_iter().skip(before).filter(|f| f["device"] == json!("2")).collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["decoded"]["channel"], json!(1));
    let st = c.ok("park.lockcar.status.get", json!({"licensePlate": plate}));
    assert_eq!(st["lockStatus"], "2", "{st}");
    assert_eq!(lane(&c, plate, true)["passFlag"], "1");
}

#[test]
fn a_group_is_not_deleted_while_a_card_uses_it() {
    let srv = Server::start();
    let c = srv.client();
    let id = c.ok("park.group.add", json!({"name": "车安", "berthNumber": "2"}))["id"].clone();
    let car_type = c.ok("park.cartype.query", json!({}))[0]["carTypeId"].clone();
    c.ok("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120"}));
    let card = c.ok("pub.card.add", json!({"NumNo": "粤G00001", "Park": {"StartDate": local(-60), "ExpiryDate": "2099-01-01 00:00:00", "GroupID": id}}));
    let env = c.call("park.group.delete", json!({"id": id}));
    assert_eq!(code(&env), 500, "{env}");
    assert!(env["message"].as_str().unwrap().contains(card["CardNo"].as_str().unwrap()), "{env}");
    assert_eq!(c.ok("park.group.get", json!({"id": id})).as_array().unwrap().len(), 1);
}

#[test]
fn a_booking_admits_its_car_once_and_holds_a_space_while_pending() {
    let srv = Server::start();
    let c = srv.client();
    let remain = |c: &onecard_tests::Client| c.ok("park.lot.status.total", json!({}))["remain"].as_str().unwrap().parse::<i64>().unwrap();
    let before = remain(&c);
    // The demo configuration: free bookings that hold a space, one entry each.
    assert_eq!(c.ok("park.bookingconfig.get", json!({}))[0]["bookingType"], "2");
    // Start and end on one day (6.13), whatever the time of day the test runs.
    let start = local(-1);
    let r = c.ok("park.booking.create", json!({"licensePlate": "粤B12345", "startTime": start, "endTime": format!("{} 23:59:59", &start[..10])}));
    assert_eq!(r["allowEnterTimes"], "1");
    assert_eq!(remain(&c), before - 1, "the pending booking holds a space");

    assert_eq!(lane(&c, "粤B12345", false)["passFlag"], "1");
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "bk-e2e-1", "licensePlate": "粤B12345", "inDate": local(0)}));
    assert_eq!(remain(&c), before - 1, "entered: its car has the space, the booking holds none");
    c.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "bk-e2e-1", "licensePlate": "粤B12345", "inDate": local(0), "outDate": local(0)}));
    let second = lane(&c, "粤B12345", false);
    assert_eq!(second["passFlag"], "0", "{second}");
    assert_eq!(remain(&c), before);
}

/// `onecard lanes index-bookings`, run beside the server: the index is
/// built once (idempotent), and it lists the bookings live now: a booking
/// made through the API, then none once it is cancelled.
#[test]
fn the_index_bookings_command_lists_the_live_bookings_beside_the_server() {
    let srv = Server::start();
    let c = srv.client();
    let dir = srv.data_dir.to_str().unwrap().to_string();
    let index = || {
        let out = std::process::Command::new(onecard_tests::binary("onecard"))
            .args(["lanes", "index-bookings", "--branch", "1001", "--data-dir", &dir])
            .output()
            .expect("run onecard");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(index().contains("0 booking(s) live now"));
    let no = c.ok("park.booking.create", json!({"licensePlate": "粤B70001", "startTime": local(-5), "endTime": local(120)}))["orderno"].as_str().unwrap().to_string();
    let out = index();
    assert!(out.contains("1 booking(s) live now") && out.contains(&no) && out.contains("粤B70001"), "{out}");
    c.ok("park.booking.cancel", json!({"orderNo": no}));
    assert!(index().contains("0 booking(s) live now"));
}
