//! Hanvon (11.23): the owner's name, sex, ID card and company, which 10.15
//! cannot carry, end on the card's holder (10.12), read back through 10.13.

mod partners_support;

use onecard_tests::Server;
use partners_support::{data_only, month_tariff};
use serde_json::json;

#[test]
fn the_owner_hanvon_names_is_the_cards_holder() {
    let srv = Server::start();
    let c = srv.client();
    month_tariff(&c);
    // As printed: "startTime " with a trailing space, a name with a leading space.
    let add = r#"{ "operation":1,"plateNum":"京 A88888","carType":"小车","cardType":"月卡","name":" 王小明","sex":"1","phoneNum":"13800138000","company":"汉王科技有限公司 ","startTime ":"2019-09-01 13:12:11","endTime":"2099-09-02 05:45:23","department":"技术部","Idcard":"513723199808260150","userId":"123"}"#;
    assert_eq!(data_only(&srv, "hanwang/HanWang.VehicleHandling", add), json!({"result": 0, "message": "添加成功"}));
    let h = c.ok("pub.user.info.get", json!({"CredentialType": "1", "Credential": "京A88888"}));
    assert_eq!(h["FstName"], json!("王小明"), "{h}");
    assert_eq!(h["Gender"].to_string().trim_matches('"'), "1", "{h}");
    assert_eq!(h["IdentityNo"], json!("513723199808260150"), "{h}");
    assert_eq!(h["IdentityTypeID"].to_string().trim_matches('"'), "1", "{h}");
    assert_eq!(h["CompanyName"], json!("汉王科技有限公司"), "{h}");

    // A modification changes what it names and keeps the rest.
    let modify = json!({"operation": 2, "plateNum": "京A88888", "sex": "2", "endTime": "2099-12-01 00:00:00"}).to_string();
    assert_eq!(data_only(&srv, "hanwang/HanWang.VehicleHandling", &modify)["result"], json!(0));
    let h = c.ok("pub.user.info.get", json!({"CredentialType": "1", "Credential": "京A88888"}));
    assert_eq!((h["FstName"].clone(), h["Gender"].to_string().trim_matches('"').to_string()), (json!("王小明"), "2".to_string()), "{h}");
    assert_eq!(h["IdentityNo"], json!("513723199808260150"), "{h}");

    // A sex Hanvon never sends is refused in its shape, naming the field.
    let bad = json!({"operation": 2, "plateNum": "京A88888", "sex": "x", "endTime": "2099-12-02 00:00:00"}).to_string();
    let e = data_only(&srv, "hanwang/HanWang.VehicleHandling", &bad);
    assert_eq!(e["result"], json!(-1), "{e}");
    assert!(e["message"].as_str().unwrap().contains("sex"), "{e}");
}
