//! Group commit keeps durability: writes are answered only once their group
//! transaction is on disk, so a server killed with SIGKILL right after its
//! answers loses none of them. Many writers at once, so that groups form.

use onecard_tests::{code, temp_dir, Server};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[test]
fn every_answered_write_survives_kill_9() {
    let dir = temp_dir("kill9");
    let mut srv = Server::start_with(&dir, &["--no-demo-site"]);
    let port = srv.port;
    let answered = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..12)
        .map(|w| {
            let (c, answered) = (srv.client(), answered.clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    let plate = format!("苏K{w:02}{i:03}");
                    let env = c.call(
                        "cat.upload.indata",
                        json!({"areaId": "1", "cardInId": format!("K9-{w}-{i}"), "licensePlate": plate, "inDate": onecard_tests::now_local()}),
                    );
                    if code(&env) == 200 {
                        answered.lock().unwrap().push(plate);
                    }
                }
            })
        })
        .collect();
    // Kill while the writers are still busy: some requests are in flight,
    // every one answered before this point must be on disk.
    std::thread::sleep(std::time::Duration::from_millis(400));
    srv.kill();
    for w in writers {
        // A writer whose connection died mid-request panics in the test
        // client; what it had been answered is already recorded.
        let _ = w.join();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(!answered.is_empty(), "no write was answered before the kill");

    let srv = Server::start_on(port, &dir, &["--no-demo-site"]);
    let c = srv.client();
    for plate in &answered {
        let rows = c.ok("park.in.info", json!({"credentialtype": "1", "credential": plate}));
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{plate} was answered 200 before the kill but is gone: {rows}");
    }
    println!("{} answered writes all survived", answered.len());
}
