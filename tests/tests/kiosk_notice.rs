//! 6.53 against the real `onecard serve` and the real `onecard-agent --sim`:
//! the find-car result is stored and pushed to the kiosk through its agent as
//! `kiosk.notice`, and with no agent connected 6.53 still answers.

mod sitelink_support;

use onecard_tests::{free_port, temp_dir};
use serde_json::json;
use sitelink_support::{server, AgentProc};
use std::time::Duration;

#[test]
fn a_find_car_notice_reaches_the_kiosk_at_the_site() {
    let dir = temp_dir("kiosk-notice");
    let port = free_port();
    let cloud = dir.join("cloud");
    let srv = server(&cloud, port);
    let c = srv.client();
    // No agent yet: the notice is kept and 6.53 answers all the same.
    let n = c.ok("park.selfFindCar.notice", json!({"deviceId": "K01", "openId": "o-1", "scanTool": "2", "licensePlate": "浙AIV587", "existRndOnCat": "true"}));
    assert_eq!(n["licensePlate"], json!("浙AIV587"));

    let agent = AgentProc::start(port, &dir.join("agent"), &[]);
    agent.wait_ready();
    let n = c.ok("park.selfFindCar.notice", json!({"deviceId": "K01", "openId": "o-2", "scanTool": "3", "licensePlate": "粤B12345", "existRndOnCat": "true"}));
    assert_eq!(n["licensePlate"], json!("粤B12345"));
    agent.wait_log("kiosk told of a scan", 1, Duration::from_secs(10));
    let line = agent.log_text().lines().find(|l| l.contains("kiosk told of a scan")).unwrap().to_string();
    assert!(line.contains("K01") && line.contains("粤B12345") && line.contains("findCar") && line.contains("o-2"), "{line}");
    assert!(!agent.log_text().contains("o-1"), "the notice given with no agent connected is not replayed");
}
