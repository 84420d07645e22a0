//! Chapter 11 end to end: partner payments let a car out exactly once, a
//! Changting payment by lane opens the gate of the real agent's simulator,
//! and a monthly card Hanvon issues is honoured at the lane.

mod partners_support;
mod sitelink_support;

use onecard_tests::{temp_dir, Server};
use partners_support::{data_only, local, month_tariff, park};
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};
use std::time::{Duration, Instant};

fn exit_decision(c: &onecard_tests::Client, plate: &str) -> Value {
    c.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": plate, "passTime": "1970-01-01 00:00:00", "inOutFlag": "2"}))
}

#[test]
fn a_maoku_fee_query_then_payment_lets_the_car_out_exactly_once() {
    let srv = Server::start();
    let c = srv.client();
    let plate = "苏E00001";
    park(&c, plate, 200);
    assert_eq!(exit_decision(&c, plate)["passFlag"], json!("0"), "a fee is due");

    let q = data_only(&srv, "maoku/Maoku.GetParkingPaymentInfo", &json!({"plateNo": plate}).to_string());
    let due = q["unPayAmount"].as_i64().unwrap();
    assert!(due > 0, "{q}");
    let pay = json!({"feeId": q["feeId"], "orderNo": "MK-E2E-1", "plateNo": plate, "payTime": local(0), "unPayAmount": due, "amount": due, "payType": 3}).to_string();
    let paid = data_only(&srv, "maoku/Maoku.PayParkingFee", &pay);
    assert_eq!(paid["resCode"], json!(0), "{paid}");

    // Paid: the exit lane lets the car out, and it leaves.
    assert_eq!(exit_decision(&c, plate)["passFlag"], json!("1"));
    c.ok("cat.upload.outdata", json!({"areaId": "1", "licensePlate": plate, "outDate": local(0)}));
    // Maoku's retry of the notification changes nothing and pays nothing.
    assert_eq!(data_only(&srv, "maoku/Maoku.PayParkingFee", &pay), paid);
    let orders = c.ok("park.order.list", json!({"CredentialType": "1", "Credential": plate}));
    let paid_orders: Vec<&Value> = orders.as_array().unwrap().iter().filter(|o| o["tradeNo"] == json!("maoku:MK-E2E-1")).collect();
    assert_eq!(paid_orders.len(), 1, "{orders}");
    let gone = data_only(&srv, "maoku/Maoku.GetParkingPaymentInfo", &json!({"plateNo": plate}).to_string());
    assert_eq!(gone["resCode"], json!(1), "the car has left: {gone}");
}

#[test]
fn a_changting_calc_and_commit_by_lane_opens_the_gate_in_the_simulator() {
    let dir = temp_dir("ct-gate");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let agent = AgentProc::start(srv.port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let c = srv.client();
    let plate = "苏Z00008";
    park(&c, plate, 68);
    // The exit camera sees the car: the lane refuses it for the fee and
    // remembers it in front of lane 2.
    agent.plate("2", plate);
    let t0 = Instant::now();
    let calc = loop {
        let v = data_only(&srv, "changting/pr/calc", r#"{ "deviceNum": "2", "transfer": 2 }"#);
        if v["code"] == json!(200) || t0.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(calc["code"], json!(200), "{calc}");
    assert_eq!(calc["data"]["carNum"], json!(plate));

    let before = agent.frames().len();
    let commit = json!({"carNum": plate, "payState": 1, "calcId": calc["data"]["calcId"]}).to_string();
    let done = data_only(&srv, "changting/pr/commit", &commit);
    assert_eq!((done["code"].clone(), done["data"]["leaveState"].clone()), (json!(200), json!("1")), "{done}");
    let opens = |skip: usize| -> usize {
        agent.frames().into_iter().skip(skip).filter(|f| f["device"] == json!("2") && f["decoded"]["kind"] == json!("relay") && f["decoded"]["channel"] == json!(1)).count()
    };
    assert_eq!(opens(before), 1, "the exit board got one open pulse");
    // The repeat gets the first answer and opens nothing again.
    let frames_now = agent.frames().len();
    assert_eq!(data_only(&srv, "changting/pr/commit", &commit), done);
    assert_eq!(opens(frames_now), 0);
    let orders = c.ok("park.order.list", json!({"CredentialType": "1", "Credential": plate}));
    assert_eq!(orders.as_array().unwrap().iter().filter(|o| o["tradeNo"].as_str().is_some_and(|t| t.starts_with("changting:"))).count(), 1, "{orders}");
}

#[test]
fn a_monthly_card_hanvon_issued_is_honoured_at_the_lane() {
    let srv = Server::start();
    let c = srv.client();
    month_tariff(&c);
    let plate = "京A66666";
    park(&c, plate, 180);
    assert_eq!(exit_decision(&c, plate)["passFlag"], json!("0"), "a temporary car owes its fee");

    let add = json!({"operation": 1, "plateNum": plate, "carType": "小车", "cardType": "月卡", "name": "王小明", "startTime ": local(-24 * 60), "endTime": local(30 * 24 * 60)}).to_string();
    assert_eq!(data_only(&srv, "hanwang/HanWang.VehicleHandling", &add)["result"], json!(0));
    let d = exit_decision(&c, plate);
    assert_eq!(d["passFlag"], json!("1"), "the monthly card covers the stay: {d}");

    // Deleted by Hanvon: the card no longer opens the lane for free.
    assert_eq!(data_only(&srv, "hanwang/HanWang.VehicleHandling", &json!({"operation": 3, "plateNum": plate}).to_string())["result"], json!(0));
    assert_eq!(exit_decision(&c, plate)["passFlag"], json!("0"));
}
