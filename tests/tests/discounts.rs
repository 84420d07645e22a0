//! Discounts and merchants end to end against the real `onecard serve`
//! (issue 14; tariff.md rule 9): coupons change `amount` exactly as rule 9
//! says on a five-hour T1 stay and are used once by the payment, even by 16
//! racing commits; merchants lock after three bad passwords; issuing beyond a
//! balance answers 613/614.
//!
//! The server runs with `--test-clock` set to 14:00:05 local today, so that
//! a stay entered at 09:00 and priced to 14:00 is the worked example of rule
//! 9; requests are signed with the server's time.

use onecard_tests::{binary, code, Client, Server};
use serde_json::{json, Value};
use std::process::Command;

struct Park {
    srv: Server,
    c: Client,
    /// Server clock minus real time, seconds.
    offset: i64,
    day: String,
}

fn real_local() -> chrono::NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

fn nonce() -> String {
    format!("{}", rand::random::<u64>() % 1_000_000_000)
}

impl Park {
    fn start() -> Park {
        let dir = onecard_tests::temp_dir("discounts");
        let srv = Server::start_with(&dir, &["--test-clock", "--no-demo-site"]);
        let now = real_local();
        let day = now.format("%Y-%m-%d").to_string();
        let target = chrono::NaiveDateTime::parse_from_str(&format!("{day} 14:00:05"), "%Y-%m-%d %H:%M:%S").unwrap();
        let offset = (target - now).num_seconds();
        let (st, _) = onecard_tests::http(srv.port, "POST", &format!("/_test/clock?offset_secs={offset}"), "").unwrap();
        assert_eq!(st, 200);
        let c = srv.client();
        Park { srv, c, offset, day }
    }

    fn at(&self, hms: &str) -> String {
        format!("{} {hms}", self.day)
    }

    fn call(&self, route: &str, data: Value) -> Value {
        let ts = (real_local() + chrono::Duration::seconds(self.offset)).format("%Y-%m-%d %H:%M:%S").to_string();
        let body = self.c.body_raw(&serde_json::to_string(&data).unwrap(), &ts, &nonce(), None);
        self.c.post_raw(route, &body)
    }

    fn ok(&self, route: &str, data: Value) -> Value {
        let env = self.call(route, data.clone());
        assert_eq!(env["status"], json!(true), "{route} {data} failed: {env}");
        env["data"].clone()
    }

    fn admin(&self, args: &[&str]) {
        let dir = self.srv.data_dir.to_str().unwrap().to_string();
        let mut all: Vec<&str> = vec!["discounts"];
        all.extend_from_slice(&args[..1]);
        all.extend_from_slice(&["--data-dir", &dir]);
        all.extend_from_slice(&args[1..]);
        let out = Command::new(binary("onecard")).args(&all).output().expect("run onecard");
        assert!(out.status.success(), "onecard {all:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A car type priced by tariff.md's T1; answers its id.
    fn t1(&self) -> String {
        let ct = self.ok("park.cartype.add", json!({"carTypeName": "T1 小型车"}));
        let id = ct["carTypeId"].to_string().trim_matches('"').to_string();
        self.ok(
            "park.temporarytariff.add",
            json!({
                "areaNo": "FFFFFFFF", "carTypeId": id, "chargeMode": 1,
                "midnight": "1970-01-01 00:00:00", "maxCharge": "40", "stayOver": "0", "timeNumber": 2,
                "chargePeriod": [
                    {"periodName": "day", "stTime": "1970-01-01 08:00:00", "endTime": "1970-01-01 20:00:00", "freeMinutes": 15,
                     "fstSectTime": 60, "fstSectCharge": 5, "sectTime": 30, "sectCharge": 2, "maxCharge": 30, "fixCharge": 0},
                    {"periodName": "night", "stTime": "1970-01-01 20:00:00", "endTime": "1970-01-01 08:00:00", "freeMinutes": 15,
                     "fstSectTime": 0, "fstSectCharge": 0, "sectTime": 0, "sectCharge": 0, "maxCharge": 0, "fixCharge": 10}
                ]
            }),
        );
        id
    }

    /// The car enters at 09:00 today.
    fn enter(&self, plate: &str, card_in_id: &str) {
        self.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": card_in_id, "licensePlate": plate, "inDate": self.at("09:00:00")}));
    }

    /// 6.1 to 14:00.
    fn calc(&self, plate: &str, car_type: &str) -> Value {
        self.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": self.at("14:00:00"), "carType": car_type}))
    }

    /// One coupon of merchant 1's discount `discount` (the demo's sets).
    fn coupon(&self, discount: i64) -> String {
        let out = self.ok("park.coupon.issue", json!({"businessID": "1", "discountID": discount, "issueNum": "1"}));
        out["couponNumbers"].as_str().unwrap().to_string()
    }
}

fn amount(v: &Value) -> &str {
    v["amount"].as_str().unwrap()
}

#[test]
fn rule_9_prices_each_coupon_and_the_payment_uses_them_once() {
    let p = Park::start();
    let t1 = p.t1();
    let plate = "粤D90001";
    p.enter(plate, "D90001");
    let quote = p.calc(plate, &t1);
    assert_eq!((quote["parkcost"].as_str(), amount(&quote)), (Some("21.00"), "21.00"), "{quote}");
    let order = quote["orderNo"].as_str().unwrap().to_string();

    let (gift5, rate8, gift60, free10) = (p.coupon(1), p.coupon(3), p.coupon(2), p.coupon(5));
    // Each alone, then taken off again (6.31).
    for (barcode, want) in [(&gift5, "16.00"), (&rate8, "18.00"), (&gift60, "17.00"), (&free10, "14.00")] {
        let on = p.ok("park.coupon.add4order", json!({"orderNo": order, "barcode": barcode, "recodeType": "-2", "operId": "1"}));
        assert_eq!(amount(&on), want, "{barcode}: {on}");
        assert_eq!(on["parkcost"], json!("21.00"), "parkcost never changes: {on}");
        assert_eq!(on["billDiscounts"].as_array().unwrap().len(), 1, "{on}");
        let off = p.ok("park.coupon.del4order", json!({"orderNo": order, "barcode": barcode}));
        assert_eq!(amount(&off), "21.00", "{off}");
    }
    // Together: gift time 60, then 8折 capped at 3, then gift 5 -> 9.00.
    for barcode in [&gift5, &rate8, &gift60] {
        p.ok("park.coupon.add4order", json!({"orderNo": order, "barcode": barcode}));
    }
    let again = p.call("park.coupon.add4order", json!({"orderNo": order, "barcode": gift5}));
    assert_ne!(code(&again), 200, "a coupon applies once per order: {again}");
    // All four: priced to 13:00 with 10:00-12:00 free is 10.00, 8折 8.00, less 5: 3.00.
    let view = p.ok("park.coupon.add4order", json!({"orderNo": order, "barcode": free10}));
    assert_eq!(amount(&view), "3.00", "all four: {view}");
    let view = p.ok("park.coupon.del4order", json!({"orderNo": order, "barcode": free10}));
    assert_eq!((amount(&view), view["billDiscount"].as_str()), ("9.00", Some("12.00")), "{view}");

    // Paying less than the discounted amount without a reason is refused.
    let short = p.call("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": "21.00", "amount": "8.99", "orderNo": order, "payType": "7"}));
    assert_eq!(code(&short), 100001, "{short}");
    let paid = p.ok("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": "21.00", "amount": "9.00", "orderNo": order, "payType": "7"}));
    assert_eq!(paid["flag"], "1");
    let row = p.ok("park.order.get", json!({"orderNo": order}));
    assert_eq!((row["parkcost"].as_str(), row["amount"].as_str()), (Some("21.00"), Some("9.00")), "{row}");

    // Used: another car's order cannot take them; the unused one it can.
    let other = "粤D90002";
    p.enter(other, "D90002");
    let o2 = p.calc(other, &t1);
    let o2no = o2["orderNo"].as_str().unwrap();
    for used in [&gift5, &rate8, &gift60] {
        let env = p.call("park.coupon.add4order", json!({"orderNo": o2no, "barcode": used}));
        assert_eq!(code(&env), 603, "{used} was used: {env}");
    }
    assert_eq!(amount(&p.ok("park.coupon.add4order", json!({"orderNo": o2no, "barcode": free10}))), "14.00");
    let looked = p.ok("park.coupon.get", json!({"barcode": free10}));
    assert_eq!((looked[0]["presentType"].as_str(), looked[0]["businessID"].as_str()), (Some("5"), Some("1")), "{looked}");
}

#[test]
fn sixteen_racing_commits_of_two_orders_sharing_a_coupon_use_it_once() {
    let p = Park::start();
    let t1 = p.t1();
    let plate = "粤D91001";
    p.enter(plate, "D91001");
    let coupon = p.coupon(1);
    let bound = p.ok("park.coupon.add4car", json!({"credentialType": "1", "credential": plate, "barcode": coupon, "recodeType": "-3"}));
    assert_eq!(bound["parkPayUrl"], "http://127.0.0.1:8080/park/parkpay", "{bound}");
    // Two calcs: two open orders, each discounted by the car's coupon.
    let (a, b) = (p.calc(plate, &t1), p.calc(plate, &t1));
    for q in [&a, &b] {
        assert_eq!((amount(q), q["billDiscount"].as_str()), ("16.00", Some("5.00")), "{q}");
    }
    let orders = [a["orderNo"].as_str().unwrap().to_string(), b["orderNo"].as_str().unwrap().to_string()];
    // Another car cannot take a coupon bound to this one.
    p.enter("粤D91002", "D91002");
    let o3 = p.calc("粤D91002", &t1);
    assert_ne!(code(&p.call("park.coupon.add4order", json!({"orderNo": o3["orderNo"], "barcode": coupon}))), 200);

    let p = std::sync::Arc::new(p);
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (p, no) = (p.clone(), orders[i % 2].clone());
            std::thread::spawn(move || {
                let env = p.call("commit", json!({"credentialtype": "1", "credential": "粤D91001", "parkcost": "21.00", "amount": "16.00", "orderNo": no, "payType": "7"}));
                (no, code(&env), env)
            })
        })
        .collect();
    let results: Vec<(String, i64, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won: Vec<_> = results.iter().filter(|r| r.1 == 200).collect();
    assert_eq!(won.len(), 1, "exactly one payment: {results:?}");
    let paid = &won[0].0;
    for (no, c, env) in &results {
        match c {
            200 => {}
            // 511 only for the order that was paid; the other order is stale.
            511 => assert_eq!(no, paid, "511 for an order never paid: {env}"),
            510 => assert_ne!(no, paid, "{env}"),
            _ => panic!("unexpected answer {env}"),
        }
    }
    let row = p.ok("park.order.get", json!({"orderNo": paid}));
    assert_eq!(row["amount"], "16.00", "{row}");
    // The coupon was used by that one payment.
    p.enter("粤D91003", "D91003");
    let o4 = p.calc("粤D91003", &t1);
    assert_eq!(code(&p.call("park.coupon.add4order", json!({"orderNo": o4["orderNo"], "barcode": coupon}))), 603);
}

#[test]
fn a_merchant_locks_after_three_bad_passwords_until_unlocked() {
    let p = Park::start();
    let good = p.ok("park.business.login", json!({"businessID": "1", "password": "111111"}));
    assert_eq!((good["businessID"].as_str(), good["businessName"].as_str()), (Some("1"), Some("天宏")), "{good}");
    for n in 1..=3 {
        let env = p.call("park.business.login", json!({"businessID": "1", "password": "wrong-1"}));
        assert_ne!(code(&env), 200, "attempt {n}: {env}");
    }
    // Locked: even the right password is refused.
    let env = p.call("park.business.login", json!({"businessID": "1", "password": "111111"}));
    assert_ne!(code(&env), 200, "{env}");
    assert!(env["message"].as_str().unwrap().contains("locked"), "{env}");
    p.ok("park.business.unlock", json!({"businessID": "1"}));
    p.ok("park.business.login", json!({"businessID": "1", "password": "111111"}));
    // 6.47: the old password must be right; the new one works after.
    assert_ne!(code(&p.call("park.business.password.change", json!({"businessID": "1", "oldPassword": "nope-nope", "newPassword": "222222"}))), 200);
    p.ok("park.business.password.change", json!({"businessID": "1", "oldPassword": "111111", "newPassword": "222222"}));
    p.ok("park.business.login", json!({"businessID": "1", "password": "222222"}));
    assert_eq!(code(&p.call("park.business.login", json!({"businessID": "99", "password": "222222"}))), 602);
    let list = p.ok("park.business.list.get", json!({}));
    assert!(list.as_array().unwrap().iter().all(|m| m.get("password").is_none() && !m.to_string().contains("argon2")), "{list}");
}

#[test]
fn issuing_beyond_a_balance_answers_613_or_614_and_charges_nothing() {
    let p = Park::start();
    p.admin(&["merchant", "--id", "2", "--name", "小店", "--password", "333333", "--amount", "9.00", "--minutes", "90"]);
    p.admin(&["set", "--business", "2", "--discount", "1", "--name", "赠送 5 元", "--type", "1", "--rate", "5"]);
    p.admin(&["set", "--business", "2", "--discount", "2", "--name", "赠送 60 分钟", "--type", "2", "--rate", "60"]);
    let one = p.ok("park.coupon.issue", json!({"businessID": "2", "discountID": "1", "issueNum": "1"}));
    assert_eq!((one["discountAmountBalance"].as_str(), one["discountTimeBalance"].as_str()), (Some("4.00"), Some("90")), "{one}");
    assert_eq!(code(&p.call("park.coupon.issue", json!({"businessID": "2", "discountID": "1", "issueNum": "1"}))), 613);
    assert_eq!(code(&p.call("park.coupon.issue", json!({"businessID": "2", "discountID": "2", "issueNum": "2"}))), 614);
    assert_eq!(code(&p.call("park.coupon.issue", json!({"businessID": "7", "discountID": "1", "issueNum": "1"}))), 602);
    assert_eq!(code(&p.call("park.coupon.issue", json!({"businessID": "2", "discountID": "9", "issueNum": "1"}))), 603);
    let m = p.ok("park.business.list.get", json!({"businessID": "2"}));
    assert_eq!((m[0]["discountAmountBalance"].as_str(), m[0]["discountTimeBalance"].as_str()), (Some("4.00"), Some("90")), "{m}");
    let sets = p.ok("park.discountset.get", json!({"BusinessID": "2"}));
    assert_eq!(sets.as_array().unwrap().len(), 2, "{sets}");
}

#[test]
fn merchant_and_plate_discounts_apply_at_calc_and_are_paid_for_once() {
    let p = Park::start();
    let t1 = p.t1();
    let plate = "粤D92001";
    p.enter(plate, "D92001");
    // 6.50: the merchant gives 60 minutes to the car; its balance pays.
    let given = p.ok("park.business.discount", json!({"businessID": "1", "tollDevID": "1", "credentialType": "1", "credential": plate, "discountIDs": "2"}));
    assert_eq!(given["discountTimeBalance"], "5940", "{given}");
    // 6.106: a plate discount of 5 yuan for today.
    let pd = p.ok("park.licensePlateDiscount.add", json!({"licensePlate": plate, "startTime": p.at("00:00:00"), "endTime": p.at("23:59:59"), "businessId": "1", "discountId": "1"}));
    assert!(pd["plateDiscountId"].as_i64().is_some(), "{pd}");
    let q = p.calc(plate, &t1);
    assert_eq!((amount(&q), q["billDiscount"].as_str()), ("12.00", Some("9.00")), "60 minutes then 5 yuan: {q}");
    let records = p.ok("park.business.discounts.get", json!({"businessID": "1"}));
    assert_eq!(records[0]["used"], "False", "{records}");
    p.ok("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": "21.00", "amount": "12.00", "orderNo": q["orderNo"], "payType": "7"}));
    let records = p.ok("park.business.discounts.get", json!({"businessID": "1"}));
    assert_eq!((records[0]["used"].as_str(), records[0]["realAmount"].as_str()), (Some("True"), Some("12.00")), "{records}");
    // The plate discount was charged when paid: 5 yuan off the demo's 500.
    let m = p.ok("park.business.list.get", json!({"businessID": "1"}));
    assert_eq!(m[0]["discountAmountBalance"], "495.00", "{m}");
    p.ok("park.licensePlateDiscount.edit", json!({"plateDiscountId": pd["plateDiscountId"], "comment": "VIP"}));
    p.ok("park.licensePlateDiscount.delete", json!({"plateDiscountId": pd["plateDiscountId"]}));
    assert_eq!(code(&p.call("park.licensePlateDiscount.delete", json!({"plateDiscountId": pd["plateDiscountId"]}))), 100001);
}

#[test]
fn shopping_tickets_and_membership_cards_are_reported_apart() {
    let p = Park::start();
    let t1 = p.t1();
    let plate = "粤D93001";
    p.enter(plate, "D93001");
    assert_eq!(p.calc(plate, &t1)["shoppingBillPolicy"], "0", "the seed's default: {plate}");
    // The branch takes counter, number and amount, with the demo's table.
    p.admin(&["settings", "--pay-url", "http://127.0.0.1:8080/park/parkpay", "--shopping-policy", "1",
        "--ticket", "0=1.00", "--ticket", "100=60min", "--ticket", "500=180min"]);
    // Another process's change is seen within the configuration cache's second.
    let t0 = std::time::Instant::now();
    let q = loop {
        let q = p.calc(plate, &t1);
        if q["shoppingBillPolicy"] == "1" {
            break q;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(3), "the new settings are not seen: {q}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let no = q["orderNo"].as_str().unwrap();
    // Policy 1: the amount is required.
    assert_eq!(code(&p.call("park.shoppingBill.add4order", json!({"orderNo": no, "barcode": "S1", "counter": "3"}))), 100001);
    // 120 yuan spent: 60 minutes (the demo table), priced as gift time: 4.00.
    let t = p.ok("park.shoppingBill.add4order", json!({"orderNo": no, "barcode": "S1", "counter": "3", "money": "120.00"}));
    assert_eq!((t["shoppingDiscount"].as_str(), amount(&t)), (Some("4.00"), "17.00"), "{t}");
    // VIP0001: 10.00 by day, 5.00 by night.
    let m = p.ok("park.scorecard.add4order", json!({"orderNo": no, "cardNo": "VIP0001", "cardType": "2"}));
    assert_eq!((m["scoreDiscount"].as_str(), amount(&m)), (Some("15.00"), "2.00"), "{m}");
    assert_eq!(m["scoreDiscounts"][0]["Money"], "10.00", "{m}");
    let off = p.ok("park.shoppingBill.del4order", json!({"orderNo": no, "barcode": "S1"}));
    assert_eq!((off["shoppingDiscount"].as_str(), off["scoreDiscount"].as_str(), amount(&off)), (Some("0.00"), Some("15.00"), "6.00"), "{off}");
    p.ok("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": "21.00", "amount": "6.00", "orderNo": no, "payType": "7"}));
    // The ledger paid 15.00: the card has nothing left.
    p.enter("粤D93002", "D93002");
    let q2 = p.calc("粤D93002", &t1);
    let m2 = p.ok("park.scorecard.add4order", json!({"orderNo": q2["orderNo"], "cardNo": "VIP0001"}));
    assert_eq!(m2["scoreDiscount"], "0.00", "{m2}");
}

#[test]
fn a_discount_machine_discounts_an_order_and_a_kiosk_finds_a_car() {
    let p = Park::start();
    let t1 = p.t1();
    let plate = "粤D94001";
    p.enter(plate, "D94001");
    let points = p.ok("park.tollDevices.get", json!({"businessID": "1"}));
    assert_eq!((points[0]["tollDevID"].as_str(), points[0]["deviceName"].as_str()), (Some("1"), Some("一楼")), "{points}");
    let q = p.calc(plate, &t1);
    // 6.43: the machine of point 1 gives merchant 1's discount 3 (8折, at most 3.00).
    let d = p.ok("park.discount.add4order", json!({"orderNo": q["orderNo"], "tollDevID": "1", "discountId": "3", "recodeType": "-2", "operId": "1"}));
    assert_eq!((amount(&d), d["billDiscount"].as_str()), ("18.00", Some("3.00")), "{d}");
    assert_eq!(code(&p.call("park.discount.add4order", json!({"orderNo": q["orderNo"], "tollDevID": "9", "discountId": "3"}))), 100001);
    let rec = p.ok("park.business.discounts.get", json!({"tollDevID": "1"}));
    assert_eq!((rec[0]["presentType"].as_str(), rec[0]["tollDevName"].as_str(), rec[0]["licensePlate"].as_str()), (Some("3"), Some("一楼"), Some(plate)), "{rec}");
    // 6.53: Carsafe's plate is taken as found; else the car park looks for the car.
    let n = p.ok("park.selfFindCar.notice", json!({"deviceId": "1", "openId": "10000", "scanTool": "2", "licensePlate": "浙AIV587", "existRndOnCat": "true"}));
    assert_eq!(n["licensePlate"], "浙AIV587");
    let n = p.ok("park.selfFindCar.notice", json!({"deviceId": "1", "openId": "10000", "scanTool": "2", "licensePlate": plate, "existRndOnCat": "false"}));
    assert_eq!(n["licensePlate"], plate);
    let env = p.call("park.selfFindCar.notice", json!({"deviceId": "1", "openId": "10001", "scanTool": "2", "licensePlate": "浙A00000", "existRndOnCat": "false"}));
    assert_eq!(code(&env), 700, "{env}");
    assert_eq!(code(&p.call("park.selfFindCar.notice", json!({"deviceId": "1", "openId": "1", "scanTool": "4", "existRndOnCat": "true"}))), 100001);
}
