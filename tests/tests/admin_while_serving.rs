//! The admin commands write to the data dir a running server has open (SQLite in
//! WAL mode), and the server sees the change on the next request.

use onecard_tests::{binary, code, Client, Server};
use serde_json::json;
use std::process::Command;

fn onecard(args: &[&str]) -> String {
    let out = Command::new(binary("onecard")).args(args).output().expect("run onecard");
    assert!(out.status.success(), "onecard {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn callers_branches_and_sites_added_while_serving_take_effect() {
    let srv = Server::start();
    let dir = srv.data_dir.to_str().unwrap().to_string();
    let d = dir.as_str();

    onecard(&["branch", "add", "--data-dir", d, "--branchno", "2001", "--name", "北门停车场", "--area", "1:地面:2",
        "--controller", "11:C11:入口A:in", "--controller", "12:C12:出口A:out"]);
    onecard(&["caller", "add", "--data-dir", d, "--from", "app1", "--secret", "s3cret", "--branches", "2001", "--groups", "park"]);
    onecard(&["site", "add", "--data-dir", d, "--branch", "2001", "--agent-id", "S1", "--secret", "x"]);
    assert!(onecard(&["branch", "list", "--data-dir", d]).contains("2001\t北门停车场"));
    assert!(onecard(&["caller", "list", "--data-dir", d]).contains("app1\tenabled"));
    assert!(onecard(&["site", "list", "--data-dir", d]).contains("2001\tS1"));

    let app1 = Client { port: srv.port, from: "app1".into(), secret: "s3cret".into(), branch: "2001".into() };
    let ctrls = app1.ok("park.controllers", json!({}));
    assert_eq!(ctrls.as_array().unwrap().len(), 2);
    assert_eq!(ctrls[0]["fullName"], json!("入口A"));
    // Allowed groups and branches are enforced.
    assert_eq!(code(&app1.call("pub.users.get", json!({}))), 403);
    let mut elsewhere = app1.clone();
    elsewhere.branch = "1001".into();
    assert_eq!(code(&elsewhere.call("park.controllers", json!({}))), 403);

    onecard(&["caller", "disable", "--data-dir", d, "--from", "app1"]);
    // The server caches configuration for a second (config_cache::DEFAULT_TTL);
    // a change from another process is seen within it.
    let t0 = std::time::Instant::now();
    while code(&app1.call("park.controllers", json!({}))) != 100003 {
        assert!(t0.elapsed() < std::time::Duration::from_secs(3), "the disabled caller is still served");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The demo caller is untouched.
    assert_eq!(code(&srv.client().call("park.controllers", json!({}))), 200);
}

#[test]
fn bad_admin_input_is_refused_with_a_message() {
    let srv = Server::start();
    let d = srv.data_dir.to_str().unwrap();
    let out = Command::new(binary("onecard"))
        .args(["branch", "add", "--data-dir", d, "--branchno", "9", "--name", "x", "--controller", "1:C1:入口:sideways"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in or out"));
    let out = Command::new(binary("onecard"))
        .args(["site", "add", "--data-dir", d, "--branch", "nope", "--agent-id", "S", "--secret", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no branch"));
}
