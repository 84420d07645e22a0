//! The `onecard-agent` binary's start-up checks and its `dead-letters` command.

use onecard_agent::outbox::{list_dead_letters, Limits, Outbox};
use serde_json::{json, Value};
use std::process::{Command, Output};

fn agent(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onecard-agent"));
    c.args(args).env_remove("ONECARD_AGENT_SECRET").env("RUST_LOG", "info");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn plain_ws_to_a_remote_host_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let o = agent(
        &["--cloud", "ws://cloud.example.com/ws", "--branch", "1001", "--agent-id", "A1", "--data-dir", dir.path().to_str().unwrap()],
        &[("ONECARD_AGENT_SECRET", "very-secret-value")],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("wss://"), "{err}");
    assert!(!err.contains("very-secret-value"), "{err}");
}

#[test]
fn there_is_no_secret_flag() {
    let o = agent(&["--cloud", "ws://127.0.0.1:9/ws", "--branch", "1001", "--agent-id", "A1", "--secret", "s"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--secret"), "{}", stderr(&o));
    let o = agent(&["--cloud", "ws://127.0.0.1:9/ws", "--branch", "1001", "--agent-id", "A1"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("ONECARD_AGENT_SECRET"), "{}", stderr(&o));
}

#[test]
fn camera_port_on_the_network_needs_camera_rules() {
    let dir = tempfile::tempdir().unwrap();
    let o = agent(
        &["--cloud", "ws://127.0.0.1:9/ws", "--branch", "1001", "--agent-id", "A1", "--data-dir", dir.path().to_str().unwrap(), "--camera-listen", "0.0.0.0:0"],
        &[("ONECARD_AGENT_SECRET", "s")],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("[[camera]]"), "{}", stderr(&o));
}

#[test]
fn dead_letters_are_listed_and_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let ob_dir = dir.path().join("outbox");
    let (ob, _) = Outbox::open(&ob_dir, Limits::default()).unwrap();
    let bad = ob.push("A1", "cat.upload.indata", json!({"cardInId": "A1-1", "licensePlate": "浙A1"}), true).unwrap();
    ob.dead_letter(bad.seq, 100001, "areaId is required").unwrap();

    let data_dir = dir.path().to_str().unwrap();
    // The running agent holds the outbox: a requeue must wait for it to stop.
    let o = agent(&["dead-letters", "--data-dir", data_dir, "--requeue", &bad.id], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));
    // Listing works while it runs.
    let o = agent(&["dead-letters", "--data-dir", data_dir], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], bad.id.as_str());
    assert_eq!(lines[0]["code"], 100001);
    assert_eq!(lines[0]["data"]["licensePlate"], "浙A1");
    drop(ob);

    let o = agent(&["dead-letters", "--data-dir", data_dir, "--requeue", &bad.id], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("requeued"));
    assert!(list_dead_letters(&ob_dir).unwrap().is_empty());
    let (ob, _) = Outbox::open(&ob_dir, Limits::default()).unwrap();
    let p = ob.pending();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].data["cardInId"], "A1-1");
    assert!(p[0].id.starts_with("A1-ob-"));
    drop(ob);
    let o = agent(&["dead-letters", "--data-dir", data_dir, "--requeue", "nope"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nope"));
}
