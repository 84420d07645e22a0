//! Payments beyond cash, end to end against the real `onecard serve` with the
//! stand-in provider, invoice platform and red-packet service (decision 21:
//! the demo data dir turns them on): pay-by-code (9.6), password-free exit
//! (6.69-6.71, 9.13, the exit rule), Alipay WAP (10.5-10.7), e-invoices
//! (9.15, 9.16, 6.62, 6.86), QR codes and their resolver (9.5, 9.7-9.11),
//! the dynamic `rnd` at 6.24 (decision 20) and red envelopes (6.84, 6.85).

use onecard_tests::{binary, code, http, http_with, Client, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

fn local(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::minutes(offset_minutes)).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn onecard(args: &[&str]) -> String {
    let out = Command::new(binary("onecard")).args(args).output().expect("run onecard");
    assert!(out.status.success(), "onecard {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs an admin command against the server's data dir and waits out the
/// server's configuration cache (one second).
fn admin(srv: &Server, args: &[&str]) {
    let dir = srv.data_dir.to_str().unwrap().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--data-dir", dir.as_str()]);
    onecard(&all);
    std::thread::sleep(Duration::from_millis(1200));
}

/// A car that entered three hours ago, with the order 6.1 issued for it now.
fn parked_with_order(c: &Client, plate: &str, card_in_id: &str) -> (String, String) {
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": card_in_id, "licensePlate": plate, "inDate": local(-180)}));
    let q = c.ok("calc", json!({"credentialtype": "1", "credential": plate, "calcendtime": "1970-01-01 00:00:00"}));
    let cost = q["parkcost"].as_str().unwrap().to_string();
    assert_ne!(cost, "0.00", "{q}");
    (q["orderNo"].as_str().expect("an order for a fee above 0").to_string(), cost)
}

fn paid_orders(c: &Client, plate: &str) -> Vec<Value> {
    c.ok("park.order.list", json!({"CredentialType": "1", "Credential": plate})).as_array().unwrap().clone()
}

fn order_status(c: &Client, order_no: &str) -> String {
    c.ok("park.order.get", json!({"orderNo": order_no}))["status"].as_str().unwrap().to_string()
}

#[test]
fn micropay_success_failure_and_unknown_then_success() {
    let srv = Server::start();
    let c = srv.client();

    // Paid at once, by WeChat (18 digits from 10-15): payType 7.
    let (order, cost) = parked_with_order(&c, "粤P10001", "mp-1");
    let r = c.ok("cat.micropay", json!({"paymentCode": "134567890123450001", "orderNo": order, "wsNo": "K1"}));
    assert_eq!((r["payStatus"].as_str(), r["payType"].as_str(), r["amount"].as_str()), (Some("0"), Some("7"), Some(cost.as_str())), "{r}");
    assert_eq!(order_status(&c, &order), "1");
    // The seed: a repeat is 511, and nothing is paid twice.
    let env = c.call("cat.micropay", json!({"paymentCode": "134567890123450002", "orderNo": order}));
    assert_eq!(code(&env), 511, "{env}");
    assert_eq!(paid_orders(&c, "粤P10001").len(), 1);

    // Declined (the stand-in's code ending 9991): payStatus 1, the order
    // stays payable, and another code pays it.
    let (order, _) = parked_with_order(&c, "粤P10002", "mp-2");
    let env = c.call("cat.micropay", json!({"paymentCode": "134567890123459991", "orderNo": order}));
    assert_eq!(env["data"]["payStatus"], "1", "{env}");
    assert!(env["message"].as_str().unwrap().contains("余额不足"), "{env}");
    assert_eq!(order_status(&c, &order), "0");
    let r = c.ok("cat.micropay", json!({"paymentCode": "134567890123450003", "orderNo": order}));
    assert_eq!(r["payStatus"], "0", "{r}");
    assert_eq!(paid_orders(&c, "粤P10002").len(), 1);

    // Unknown (an Alipay code, 16-24 digits from 25-30, whose payer is still
    // confirming): payStatus 2; the site asks again and learns it was paid,
    // booked once, by Alipay (payType 5).
    let (order, cost) = parked_with_order(&c, "粤P10003", "mp-3");
    let r = c.ok("cat.micropay", json!({"paymentCode": "28763443825669992", "orderNo": order}));
    assert_eq!(r["payStatus"], "2", "{r}");
    assert_eq!(order_status(&c, &order), "0", "not booked while unknown");
    let r = c.ok("cat.micropay", json!({"paymentCode": "28763443825669992", "orderNo": order}));
    assert_eq!((r["payStatus"].as_str(), r["payType"].as_str(), r["amount"].as_str()), (Some("0"), Some("5"), Some(cost.as_str())), "{r}");
    let paid = paid_orders(&c, "粤P10003");
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["payType"], "5");
    assert_eq!(code(&c.call("cat.micropay", json!({"paymentCode": "28763443825669992", "orderNo": order}))), 511);

    // A code that is neither wallet's, and a call naming no order.
    let env = c.call("cat.micropay", json!({"paymentCode": "990000000000000000", "orderNo": order}));
    assert_eq!(code(&env), 100001);
    assert!(env["message"].as_str().unwrap().contains("paymentCode"), "{env}");
    assert_eq!(code(&c.call("cat.micropay", json!({"paymentCode": "134567890123450001"}))), 100001);

    // Decision 21: without a provider nothing pretends to take money.
    admin(&srv, &["payments", "standin", "--off"]);
    let (order, _) = parked_with_order(&c, "粤P10004", "mp-4");
    assert_eq!(code(&c.call("cat.micropay", json!({"paymentCode": "134567890123450001", "orderNo": order}))), 501);
}

fn exit_lane(c: &Client, plate: &str) -> Value {
    c.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": plate, "passTime": onecard_tests::now_local(), "inOutFlag": "2"}))
}

#[test]
fn a_password_free_car_is_charged_once_at_the_exit_and_a_failed_charge_falls_back() {
    let srv = Server::start();
    let c = srv.client();
    c.ok("park.nopswpaycar.add", json!({"plateNo": "粤 N10001", "plateColor": "蓝", "payStatus": "0", "crateDateTime": local(-600)}));
    let cars = c.ok("park.nopswpaycar.get", json!({"plateNo": "粤N10001"}));
    assert_eq!(cars.as_array().unwrap().len(), 1, "{cars}");
    assert_eq!((cars[0]["plateNo"].as_str(), cars[0]["payStatus"].as_str(), cars[0]["plateColor"].as_str()), (Some("粤N10001"), Some("0"), Some("蓝")));

    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "np-1", "licensePlate": "粤N10001", "inDate": local(-180)}));
    let d = exit_lane(&c, "粤N10001");
    assert_eq!(d["passFlag"], "1", "{d}");
    let paid = paid_orders(&c, "粤N10001");
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["payType"], "40", "third-party contactless");
    assert_ne!(paid[0]["amount"], "0.00");
    // The camera fires again: let out, not charged again.
    assert_eq!(exit_lane(&c, "粤N10001")["passFlag"], "1");
    assert_eq!(paid_orders(&c, "粤N10001").len(), 1);

    // The bank declines: the car is told to pay, nothing is booked.
    admin(&srv, &["payments", "standin", "--fail", "withhold"]);
    c.ok("park.nopswpaycar.add", json!({"plateNo": "粤N10002"}));
    c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "np-2", "licensePlate": "粤N10002", "inDate": local(-180)}));
    let d = exit_lane(&c, "粤N10002");
    assert_eq!(d["passFlag"], "0", "{d}");
    assert!(paid_orders(&c, "粤N10002").is_empty());
    // 9.13 for the order: payStatus 1 (failed) while the bank declines.
    let q = c.ok("calc", json!({"credentialtype": "1", "credential": "粤N10002", "calcendtime": "1970-01-01 00:00:00"}));
    let r = c.ok("cat.unifiedPayNoPsw", json!({"orderNo": q["orderNo"]}));
    assert_eq!((r["payStatus"].as_str(), r["payType"].as_str()), (Some("1"), Some("40")), "{r}");
    // Withholding forbidden (6.70 payStatus 1): 9.13 answers 2, not enabled.
    c.ok("park.nopswpaycar.update", json!({"plateNo": "粤N10002", "payStatus": "1", "signStatus": "0"}));
    assert_eq!(c.ok("cat.unifiedPayNoPsw", json!({"orderNo": q["orderNo"]}))["payStatus"], "2");
    // The bank accepts again, withholding restored: 9.13 pays the order.
    admin(&srv, &["payments", "standin"]);
    c.ok("park.nopswpaycar.update", json!({"plateNo": "粤N10002", "payStatus": "0", "signStatus": "0"}));
    let r = c.ok("cat.unifiedPayNoPsw", json!({"orderNo": q["orderNo"]}));
    assert_eq!(r["payStatus"], "0", "{r}");
    assert_eq!(code(&c.call("cat.unifiedPayNoPsw", json!({"orderNo": q["orderNo"]}))), 511);
    assert_eq!(exit_lane(&c, "粤N10002")["passFlag"], "1");
    // 6.70 of a car not in the park still succeeds, saying so (the seed's 700).
    let env = c.call("park.nopswpaycar.update", json!({"plateNo": "粤N10009", "payStatus": "0", "signStatus": "0"}));
    assert_eq!(code(&env), 100001, "an unsigned car cannot be updated: {env}");
    c.ok("park.nopswpaycar.add", json!({"plateNo": "粤N10009"}));
    let env = c.call("park.nopswpaycar.update", json!({"plateNo": "粤N10009", "payStatus": "2", "signStatus": "1"}));
    assert_eq!(env["status"], json!(true));
    assert!(env["message"].as_str().unwrap().contains("700"), "{env}");
    assert_eq!(c.ok("park.nopswpaycar.get", json!({})).as_array().unwrap().len(), 3);
}

fn post_form(port: u16, path: &str, body: &str) -> (u16, String) {
    let (st, _, b) = http_with(port, "POST", path, &[("Content-Type", "application/x-www-form-urlencoded")], body).expect("http");
    (st, b)
}

#[test]
fn an_alipay_notification_sent_twice_books_once_and_answers_success_twice() {
    let srv = Server::start();
    let c = srv.client();
    let (order, cost) = parked_with_order(&c, "粤W10001", "wap-1");
    let page = c.ok("alipay.wappay", json!({"orderNo": order, "payRequestSource": "0"}))["payPage"].as_str().unwrap().to_string();
    assert!(page.contains("<form") && page.contains("alipay.trade.wap.pay"), "{page}");
    let out_trade_no = format!("{order}-W1");
    assert!(page.contains(&out_trade_no), "{page}");
    // Asked again: the same trade, not a second one.
    let again = c.ok("alipay.wappay", json!({"orderNo": order, "payRequestSource": "0"}))["payPage"].as_str().unwrap().to_string();
    assert!(again.contains(&out_trade_no) && !again.contains(&format!("{order}-W2")));

    // The payer pays at the stand-in's cashier, which answers the signed
    // notification the provider posts.
    let dir = srv.data_dir.to_str().unwrap();
    let form = onecard(&["payments", "pay-wap", "--data-dir", dir, "--branch", "1001", "--out-trade-no", &out_trade_no]).trim().to_string();
    assert!(form.contains("TRADE_SUCCESS") && form.contains("sign="), "{form}");
    let notify = "/alipay.wappay.aspx/notify?branchno=1001";
    assert_eq!(post_form(srv.port, notify, &form), (200, "success".to_string()));
    assert_eq!(post_form(srv.port, notify, &form), (200, "success".to_string()), "decision 22: the first answer again");
    let paid = paid_orders(&c, "粤W10001");
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!((paid[0]["payType"].as_str(), paid[0]["amount"].as_str()), (Some("5"), Some(cost.as_str())));
    assert!(!paid[0]["tradeNo"].as_str().unwrap().is_empty());

    // A forged notification (amount changed after signing) is refused.
    let forged = form.replace(&format!("total_amount={}", cost), "total_amount=0.01");
    assert_ne!(forged, form);
    let (st, body) = post_form(srv.port, notify, &forged);
    assert_eq!(st, 400, "{body}");
    // A GET is not the provider's notification.
    assert_eq!(http(srv.port, "GET", notify, "").unwrap().0, 405);
    // A chapter 5 client that mistakes it for an envelope route reads an envelope.
    let (st, body) = http(srv.port, "POST", notify, &c.body(&json!({"orderNo": order}))).unwrap();
    assert_eq!(st, 415, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], 100001, "{body}");

    // 10.6: the browser's return is sent to the configured page.
    let (st, head, _) = http_with(srv.port, "GET", &format!("/alipay.wappay.aspx/callback?{form}&branchno=1001"), &[], "").unwrap();
    assert_eq!(st, 302, "{head}");
    let location = head.lines().find(|l| l.to_ascii_lowercase().starts_with("location:")).unwrap().to_string();
    assert!(location.contains("PayBack.aspx") && location.contains(&format!("orderno={order}")) && location.contains("status=1"), "{location}");
    let (st, head, _) = http_with(srv.port, "GET", &format!("/alipay.wappay.aspx/callback?{forged}&branchno=1001"), &[], "").unwrap();
    assert_eq!(st, 302);
    assert!(head.contains("status=0"), "{head}");
}

/// Pays an order by 6.2 and answers its number.
fn paid_order(c: &Client, plate: &str, card_in_id: &str) -> String {
    let (order, cost) = parked_with_order(c, plate, card_in_id);
    c.ok("commit", json!({"credentialtype": "1", "credential": plate, "parkcost": cost, "orderNo": order, "payType": "7", "thirdPayId": format!("wx-{card_in_id}")}));
    order
}

fn wait_for_status(c: &Client, order: &str, want: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let r = c.ok("park.einvoice.open.result", json!({"orderNo": order}));
        if r["status"] == want {
            return r;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "6.62 of {order} stays {r}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_invoice_for_two_paid_orders_is_issued_and_a_third_order_past_the_limit_is_refused() {
    let srv = Server::start();
    let c = srv.client();
    admin(&srv, &["payments", "settings", "--branch", "1001", "--max-orders", "2"]);
    // 6.37 reports the limit 9.16 enforces.
    assert_eq!(c.ok("park.params.get", json!({}))["MaxOrderQtyInEveryEInvoice"], "2");
    let a = paid_order(&c, "粤E10001", "ei-1");
    let b = paid_order(&c, "粤E10002", "ei-2");
    let third = paid_order(&c, "粤E10003", "ei-3");

    // Not paid, and never issued: 6.62's 5 and 4.
    let (unpaid, _) = parked_with_order(&c, "粤E10004", "ei-4");
    assert_eq!(c.ok("park.einvoice.open.result", json!({"orderNo": unpaid}))["status"], "5");
    assert_eq!(c.ok("park.einvoice.open.result", json!({"orderNo": "CA-none"}))["status"], "4");
    assert_eq!(c.ok("park.einvoice.open.result", json!({"orderNo": a}))["status"], "0");

    // Three orders are past the limit of two.
    let env = c.call("cat.einvoice.open", json!({"gfmc": "车安公司", "orderNo": format!("{a},{b},{third}")}));
    assert_eq!(code(&env), 100001, "{env}");
    assert!(env["message"].as_str().unwrap().contains("orderNo"), "{env}");

    let r = c.ok("cat.einvoice.open", json!({"gfmc": "车安公司", "orderNo": format!("{a},{b}"), "email": "tt@carsafe.cn"}));
    assert_eq!(r["status"], "0", "{r}");
    let id = r["einvoiceID"].as_str().unwrap().to_string();
    // The platform calls back (6.86's path); 6.62 then says issued.
    wait_for_status(&c, &a, "1");
    wait_for_status(&c, &b, "1");

    // The seed's own codes: the same invoice again 510, an invoiced order 520,
    // an order that does not exist 530.
    assert_eq!(code(&c.call("cat.einvoice.open", json!({"gfmc": "x", "orderNo": format!("{b},{a}")}))), 510);
    assert_eq!(code(&c.call("cat.einvoice.open", json!({"gfmc": "x", "orderNo": format!("{third},{a}")}))), 520);
    assert_eq!(code(&c.call("cat.einvoice.open", json!({"gfmc": "x", "orderNo": "CA-none"}))), 530);
    assert_eq!(code(&c.call("cat.einvoice.open", json!({"gfmc": "x", "orderNo": unpaid}))), 530);
    // 9.16 amounts are capped by what was paid.
    assert_eq!(code(&c.call("cat.einvoice.open", json!({"gfmc": "x", "orderNo": third, "amount": "99999"}))), 100001);

    // 9.15: the invoicing page for the third order.
    let qr = c.ok("cat.einvoice.open.qrcode", json!({"orderNo": third, "licensePlate": "粤E10003", "amount": "1"}));
    assert!(qr["qrcode"].as_str().unwrap().contains(&format!("no={third}")), "{qr}");
    assert_eq!(qr["orderNo"], json!(third));

    // The driver invoiced it on the platform's page: 6.86 with the examples'
    // spelling (invoiceCode / invoiceNumber) records it.
    let n = c.ok("park.einvoice.open.notice", json!({"gfmc": "张三", "orderNo": third, "invoiceCode": "333333", "invoiceNumber": "444444", "url": "http://www.carsafe.cn"}));
    assert!(!n["einvoiceID"].as_str().unwrap().is_empty());
    assert_eq!(c.ok("park.einvoice.open.result", json!({"orderNo": third}))["status"], "1");
    // The table's spelling for the first invoice names the same record.
    let n = c.ok("park.einvoice.open.notice", json!({"gfmc": "车安公司", "orderNo": a, "einvoiceCode": "111111", "einvoiceNumber": "222222"}));
    assert_eq!(n["einvoiceID"], json!(id));
    let env = c.call("park.einvoice.open.notice", json!({"gfmc": "x", "orderNo": a, "einvoiceCode": "1", "invoiceCode": "2", "einvoiceNumber": "3"}));
    assert_eq!(code(&env), 100001, "two different codes: {env}");
}

fn path_of(url: &str) -> String {
    url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap()
}

fn resolve(srv: &Server, url: &str) -> Value {
    let (st, body) = http(srv.port, "GET", &path_of(url), "").unwrap();
    assert_eq!(st, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn qr_codes_resolve_to_what_they_name_and_a_stale_rnd_is_refused_by_6_24() {
    let srv = Server::start();
    let c = srv.client();
    let base = format!("{}/BarCode/BarcodeScanResult.aspx", srv.base());
    admin(&srv, &["payments", "settings", "--branch", "1001", "--qr-base", &base]);

    // 9.5: the collection code names its order.
    let (order, cost) = parked_with_order(&c, "粤Q10001", "qr-1");
    let r = c.ok("cat.unifiedReceivablesQrcode.get", json!({"orderNo": order, "sourceFlag": "-3"}));
    assert_eq!(r["orderNo"], json!(order));
    let url = r["qrcode"].as_str().unwrap();
    assert!(url.starts_with(&base) && url.contains("t=12") && url.contains("a=1001"), "{url}");
    let seen = resolve(&srv, url);
    assert_eq!((seen["type"].as_i64(), seen["orderNo"].as_str(), seen["parkcost"].as_str()), (Some(12), Some(order.as_str()), Some(cost.as_str())), "{seen}");
    assert_eq!(seen["payable"], json!(true));
    assert_eq!(code(&c.call("cat.unifiedReceivablesQrcode.get", json!({"sourceFlag": "-3"}))), 100001);

    // 9.9 with a notice, 9.10, 9.11: each resolves as its type.
    let pay = c.ok("cat.parkPayQrcode.get", json!({"noticeAfterScan": "1", "noticeDeviceID": "PN001", "licensePlate": "粤 B12345"}))["qrcode"].as_str().unwrap().to_string();
    let seen = resolve(&srv, &pay);
    assert_eq!((seen["type"].as_i64(), seen["noticeDeviceID"].as_str(), seen["licensePlate"].as_str()), (Some(7), Some("PN001"), Some("粤B12345")), "{seen}");
    assert_eq!(code(&c.call("cat.parkPayQrcode.get", json!({"noticeAfterScan": "1"}))), 100001);
    let find = c.ok("cat.selfFindCarQrcode.get", json!({"deviceId": "2"}))["qrcode"].as_str().unwrap().to_string();
    assert_eq!(resolve(&srv, &find)["type"], 13);
    let shop = c.ok("cat.business.fixedQrcode.get", json!({"businessID": "1", "tollDevID": "1", "discountID": "5"}))["qrcode"].as_str().unwrap().to_string();
    let seen = resolve(&srv, &shop);
    assert_eq!((seen["type"].as_i64(), seen["businessID"].as_str(), seen["discountID"].as_str()), (Some(14), Some("1"), Some("5")));

    // 9.7: each code has a new rnd; the current and the previous are valid.
    let rnd = |url: &str| url.split("rnd=").nth(1).unwrap().to_string();
    let first = c.ok("cat.dynamicInQrcode.get", json!({"deviceId": "1"}))["qrcode"].as_str().unwrap().to_string();
    let second = c.ok("cat.dynamicInQrcode.get", json!({"deviceId": "1"}))["qrcode"].as_str().unwrap().to_string();
    let third = c.ok("cat.dynamicInQrcode.get", json!({"deviceId": "1"}))["qrcode"].as_str().unwrap().to_string();
    assert!(first.contains("t=5") && first.contains("k=1"), "{first}");
    assert_ne!(rnd(&first), rnd(&second));
    assert_eq!(resolve(&srv, &first)["fresh"], json!(false));
    assert_eq!(resolve(&srv, &second)["fresh"], json!(true));
    assert_eq!(code(&c.call("cat.dynamicInQrcode.get", json!({"deviceId": "2"}))), 100001, "device 2 is an exit");
    assert!(c.ok("cat.dynamicOutQrcode.get", json!({"deviceId": "2"}))["qrcode"].as_str().unwrap().contains("t=8"));

    // A stale rnd at 6.24: result 0xFF and a hint to scan again.
    let scan = |rnd: Option<String>| {
        let mut d = json!({"deviceID": "1", "credentialType": "1", "credential": "粤Q20001", "scanTool": "2"});
        if let Some(r) = rnd {
            d["rnd"] = json!(r);
        }
        c.call("park.in.notice", d)
    };
    let env = scan(Some(rnd(&first)));
    assert_eq!((env["status"].as_bool(), env["data"]["result"].as_str()), (Some(true), Some("255")), "{env}");
    assert!(env["message"].as_str().unwrap().contains("重新扫码"), "{env}");
    // The current rnd passes the check (the gate then needs its site, which
    // this server has not: whatever it answers, it is not the rnd refusal).
    let env = scan(Some(rnd(&third)));
    assert!(!env["message"].as_str().unwrap_or("").contains("重新扫码"), "{env}");
    // A branch that requires dynamic codes refuses a scan without rnd.
    admin(&srv, &["payments", "settings", "--branch", "1001", "--dynamic-qr-required", "true"]);
    let env = scan(None);
    assert_eq!(env["data"]["result"], "255", "{env}");
    assert!(env["message"].as_str().unwrap().contains("动态二维码"), "{env}");
}

#[test]
fn a_red_envelope_link_is_made_once_per_order_and_reports_its_states() {
    let srv = Server::start();
    let c = srv.client();
    let base = format!("{}/BarCode/BarcodeScanResult.aspx", srv.base());
    admin(&srv, &["payments", "settings", "--branch", "1001", "--qr-base", &base]);
    let order = paid_order(&c, "粤R10001", "re-1");
    let url = c.ok("park.redenvelope.url", json!({"orderNo": order, "amount": "10.00", "controllerNo": "0001", "licensePlate": "粤R10001"}))["redEnvelopeUrl"].as_str().unwrap().to_string();
    assert!(url.contains("t=17"), "{url}");
    let again = c.ok("park.redenvelope.url", json!({"orderNo": order, "amount": "10.00"}))["redEnvelopeUrl"].as_str().unwrap().to_string();
    assert_eq!(url, again, "one link per order");
    assert_eq!(code(&c.call("park.redenvelope.url", json!({"orderNo": order, "amount": "20.00"}))), 100001);
    assert_eq!(code(&c.call("park.redenvelope.url", json!({"orderNo": "CA-none", "amount": "1.00"}))), 100001);
    let s = c.ok("park.redenvelope.get", json!({"orderNo": order}));
    assert_eq!((s["status"].as_str(), s["amount"].as_str(), s["controllerNo"].as_str()), (Some("0"), Some("10.00"), Some("0001")), "{s}");

    // The driver opens it in WeChat: sent, then collected.
    let opened = resolve(&srv, &format!("{url}&openid=o-driver-1"));
    assert_eq!(opened["status"], 2, "{opened}");
    let s = c.ok("park.redenvelope.get", json!({"orderNo": order}));
    assert_eq!(s["status"], "4", "{s}");
    assert!(!s["receiveDate"].as_str().unwrap().is_empty() && !s["createDate"].as_str().unwrap().is_empty());
    // A link with a guessed secret opens nothing.
    let (st, _) = http(srv.port, "GET", &path_of(&format!("{}&rnd=GUESS", url.split("&rnd=").next().unwrap())), "").unwrap();
    assert_eq!(st, 400);
}

/// Today's bounds in the demo branch's zone (a booking's start and end must
/// be one day).
fn today(time: &str) -> String {
    format!("{} {time}", &local(0)[..10])
}

#[test]
fn a_booking_fee_is_paid_once_through_the_one_commit_whatever_races() {
    let srv = Server::start();
    let c = srv.client();
    admin(&srv, &["lanes", "booking-config", "--branch", "1001", "--type", "3", "--charge", "12.50"]);
    let booking = |plate: &str| {
        let b = c.ok("park.booking.create", json!({"licensePlate": plate, "startTime": today("00:00:00"), "endTime": today("23:59:59")}));
        assert_eq!(b["charge"], "12.50", "{b}");
        b["orderno"].as_str().unwrap().to_string()
    };
    let no = booking("粤B60001");

    // Only Alipay is offered (the seed lists payType 5 alone).
    let env = c.call("park.booking.onlinepay", json!({"orderNo": no, "payType": "7"}));
    assert_eq!(code(&env), 100001, "{env}");
    assert!(env["message"].as_str().unwrap().contains("payType"), "{env}");
    let env = c.call("park.booking.onlinepay", json!({"orderNo": "BK-none", "payType": "5"}));
    assert_eq!(code(&env), 100001, "{env}");

    // 16 racing first asks agree on one order and one trade.
    let answers: Vec<Value> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16).map(|_| s.spawn(|| c.ok("park.booking.onlinepay", json!({"orderNo": no, "payType": "5"})))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let order = answers[0]["order"].as_str().unwrap().to_string();
    assert!(answers.iter().all(|a| a["order"] == order.as_str()), "{answers:?}");
    let link = answers[0]["alipayLink"].as_str().unwrap();
    let out_trade_no = format!("{order}-W1");
    assert!(link.starts_with("https://") && link.contains("alipay.trade.wap.pay") && link.contains(&out_trade_no), "{link}");
    assert_eq!(order_status(&c, &order), "0");

    // The payer pays; the provider's notification arrives 16 times at once:
    // every one answers success (decision 22), one payment is booked.
    let dir = srv.data_dir.to_str().unwrap();
    let form = onecard(&["payments", "pay-wap", "--data-dir", dir, "--branch", "1001", "--out-trade-no", &out_trade_no]).trim().to_string();
    assert!(form.contains("total_amount=12.50"), "{form}");
    let notify = "/alipay.wappay.aspx/notify?branchno=1001";
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16).map(|_| s.spawn(|| post_form(srv.port, notify, &form))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|a| *a == (200, "success".to_string())), "{answers:?}");
    let o = c.ok("park.order.get", json!({"orderNo": order}));
    assert_eq!((o["status"].as_str(), o["payType"].as_str(), o["amount"].as_str()), (Some("1"), Some("5"), Some("12.50")), "{o}");
    assert!(!o["tradeNo"].as_str().unwrap().is_empty(), "{o}");
    let paid = paid_orders(&c, "粤B60001");
    assert_eq!(paid.len(), 1, "one payment record and journal entry: {paid:?}");

    // Paid: asking again is 511, and nothing new is made.
    let env = c.call("park.booking.onlinepay", json!({"orderNo": no, "payType": "5"}));
    assert_eq!(code(&env), 511, "{env}");

    // A cancelled booking has nothing to pay (510); a paid notification of
    // its fee arriving after the cancellation is refunded, not booked.
    let no2 = booking("粤B60002");
    let order2 = c.ok("park.booking.onlinepay", json!({"orderNo": no2, "payType": "5"}))["order"].as_str().unwrap().to_string();
    c.ok("park.booking.cancel", json!({"orderNo": no2}));
    let env = c.call("park.booking.onlinepay", json!({"orderNo": no2, "payType": "5"}));
    assert_eq!(code(&env), 510, "{env}");
    let form2 = onecard(&["payments", "pay-wap", "--data-dir", dir, "--branch", "1001", "--out-trade-no", &format!("{order2}-W1")]).trim().to_string();
    assert_eq!(post_form(srv.port, notify, &form2), (200, "success".to_string()));
    assert_eq!(order_status(&c, &order2), "0");
    assert!(paid_orders(&c, "粤B60002").is_empty());
}

#[test]
fn a_paid_booking_cancelled_gets_its_fee_back_once_even_when_the_provider_answers_late() {
    let srv = Server::start();
    let c = srv.client();
    let dir = srv.data_dir.to_str().unwrap();
    admin(&srv, &["lanes", "booking-config", "--branch", "1001", "--type", "3", "--charge", "8.00"]);
    let no = c.ok("park.booking.create", json!({"licensePlate": "粤B61001", "startTime": today("00:00:00"), "endTime": today("23:59:59")}))["orderno"].as_str().unwrap().to_string();
    let order = c.ok("park.booking.onlinepay", json!({"orderNo": no, "payType": "5"}))["order"].as_str().unwrap().to_string();
    let out_trade_no = format!("{order}-W1");
    let pay_wap = || onecard(&["payments", "pay-wap", "--data-dir", dir, "--branch", "1001", "--out-trade-no", &out_trade_no]).trim().to_string();
    let form = pay_wap();
    let notify = "/alipay.wappay.aspx/notify?branchno=1001";
    assert_eq!(post_form(srv.port, notify, &form), (200, "success".to_string()));
    assert_eq!(order_status(&c, &order), "1");

    // The provider does not answer refunds: the cancellation stands, the fee is owed.
    admin(&srv, &["payments", "standin", "--fail", "refund"]);
    c.ok("park.booking.cancel", json!({"orderNo": no}));
    assert!(pay_wap().contains("trade_status=TRADE_SUCCESS"), "not refunded yet");
    assert_eq!(reconcile(&srv), "asked 0: booked 0, refunded 0, failed 0, still open 0; booking fees refunded 0, still owed 1");

    // It answers again: the reconciliation gives the fee back (or the
    // server's own minute tick did, a moment before).
    admin(&srv, &["payments", "standin"]);
    let r = reconcile(&srv);
    assert!(r.ends_with("booking fees refunded 1, still owed 0") || r == "asked 0: booked 0, refunded 0, failed 0, still open 0", "{r}");
    assert!(pay_wap().contains("trade_status=TRADE_CLOSED"), "refunded at the provider");
    // Once: nothing is owed any more, cancelling again and the provider's
    // repeated notification change nothing, and the payment stays recorded
    // (6.26 has no refunded status).
    c.ok("park.booking.cancel", json!({"orderNo": no}));
    assert_eq!(post_form(srv.port, notify, &form), (200, "success".to_string()));
    assert_eq!(reconcile(&srv), "asked 0: booked 0, refunded 0, failed 0, still open 0");
    assert_eq!(order_status(&c, &order), "1");
    assert_eq!(paid_orders(&c, "粤B61001").len(), 1);
}

fn reconcile(srv: &Server) -> String {
    let dir = srv.data_dir.to_str().unwrap();
    onecard(&["payments", "reconcile", "--data-dir", dir, "--branch", "1001", "--after-secs", "0"]).trim().to_string()
}

#[test]
fn a_withholding_whose_answer_was_lost_is_booked_or_refunded_by_the_reconciliation() {
    let srv = Server::start();
    let c = srv.client();
    // The provider charges the car but its answer, and every query, is lost.
    admin(&srv, &["payments", "standin", "--fail", "withhold-lost", "--fail", "query"]);
    for (plate, id) in [("粤N20001", "rc-1"), ("粤N20002", "rc-2")] {
        c.ok("park.nopswpaycar.add", json!({"plateNo": plate}));
        c.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": id, "licensePlate": plate, "inDate": local(-180)}));
        let d = exit_lane(&c, plate);
        assert_eq!(d["passFlag"], "0", "unknown: the normal exit, not let out unpaid: {d}");
        assert!(paid_orders(&c, plate).is_empty());
    }
    // Still unanswered: the reconciliation asks, learns nothing, keeps them.
    assert_eq!(reconcile(&srv), "asked 2: booked 0, refunded 0, failed 0, still open 2");
    assert!(paid_orders(&c, "粤N20001").is_empty());

    // Meanwhile the second car pays cash at the booth.
    let (order, cost) = {
        let q = c.ok("calc", json!({"credentialtype": "1", "credential": "粤N20002", "calcendtime": "1970-01-01 00:00:00"}));
        (q["orderNo"].as_str().unwrap().to_string(), q["parkcost"].as_str().unwrap().to_string())
    };
    c.ok("commit", json!({"credentialtype": "1", "credential": "粤N20002", "orderNo": order, "parkcost": cost, "payType": "0"}));

    // The provider answers again: the first car's charge is booked through
    // the one commit, the second's (its fee paid another way) refunded.
    admin(&srv, &["payments", "standin"]);
    assert_eq!(reconcile(&srv), "asked 2: booked 1, refunded 1, failed 0, still open 0");
    let paid = paid_orders(&c, "粤N20001");
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["payType"], "40");
    assert!(!paid[0]["tradeNo"].as_str().unwrap().is_empty());
    let paid = paid_orders(&c, "粤N20002");
    assert_eq!((paid.len(), paid[0]["payType"].as_str()), (1, Some("0")), "{paid:?}");
    // The booked car is let out; nothing is left to ask about.
    assert_eq!(exit_lane(&c, "粤N20001")["passFlag"], "1");
    assert_eq!(reconcile(&srv), "asked 0: booked 0, refunded 0, failed 0, still open 0");
}
