//! The directory end to end against the real `onecard serve`: a residence
//! tree built and listed, deletes refused while something still refers to a
//! node (decision 23), a cardholder's names in 10.13, the bulk import run
//! twice, and 10.37 fetching a site's log through the agent in chunks.

mod sitelink_support;

use base64::Engine;
use onecard_tests::{binary, code, temp_dir, Client, Server};
use serde_json::{json, Value};
use sitelink_support::{server, AgentProc};
use std::process::Command;
use std::time::Instant;

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}")).to_string()
}

/// Calls with a `queryFormat` (not covered by the signature, decision 2).
fn call_paged(c: &Client, route: &str, data: Value, rowindex: usize, pagesize: usize) -> Value {
    let body = c.body(&data);
    let body = format!("{{\"queryFormat\":{{\"rowindex\":{rowindex},\"pagesize\":{pagesize}}},{}", &body[1..]);
    c.post_raw(route, &body)
}

#[test]
fn a_residence_tree_is_built_listed_and_only_emptied_nodes_are_deleted() {
    let srv = Server::start();
    let c = srv.client();
    let town = id(&c.ok("pub.hruptown.add", json!({"UpTown": "麻磡村"})), "UptownID");
    // The printed alias of 10.22 still works.
    c.ok("pub.hraptown.update", json!({"UptownID": town, "UpTown": "麻磡新村"}));
    let building = id(&c.ok("pub.hrbuilding.add", json!({"UptownID": town, "Building": "车安大厦"})), "BuildID");
    let unit = id(&c.ok("pub.hrcell.add", json!({"BuildID": building, "Cells": "2 单元", "Floors": "10"})), "CellID");
    let room = id(&c.ok("pub.hrroom.add", json!({"CellID": unit, "Room": "201", "FloorNo": "2", "DoorPlate": "201"})), "RoomID");

    let towns = c.ok("pub.hruptown.list", Value::Null);
    assert!(towns.as_array().unwrap().iter().any(|t| t["UptownID"] == json!(town) && t["UpTown"] == "麻磡新村"), "{towns}");
    assert_eq!(c.ok("pub.hrbuilding.list", json!({"UptownID": town})), json!([{"UptownID": town, "BuildID": building, "Building": "车安大厦"}]));
    assert_eq!(c.ok("pub.hrcell.list", json!({"BuildID": building})), json!([{"BuildID": building, "CellID": unit, "Cells": "2 单元", "Floors": "10"}]));
    let rooms = c.ok("pub.hrroom.list", json!({"CellID": unit}));
    assert_eq!(rooms, json!([{"CellID": unit, "RoomID": room, "Room": "201", "FloorNo": "2", "DoorPlate": "201"}]));

    // Bad input names the field; a floor the unit does not have is bad input.
    assert_eq!(code(&c.call("pub.hrroom.add", json!({"CellID": unit, "Room": "1101", "FloorNo": "11"}))), 100001);
    let e = c.call("pub.hrbuilding.add", json!({"UptownID": "999", "Building": "x"}));
    assert!(e["message"].as_str().unwrap().contains("UptownID"), "{e}");

    // Decision 23: a unit with a room is not deleted, nor a community with buildings.
    let refused = c.call("pub.hrcell.delete", json!({"CellID": unit}));
    assert_eq!(code(&refused), 500, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains(&format!("rooms {room}")), "{refused}");
    assert_eq!(code(&c.call("pub.hruptown.delete", json!({"UptownID": town}))), 500);

    // A cardholder in the room answers the room's names, and keeps the room.
    c.ok("pub.user.info.add", json!({"UserNo": "0001000000", "FstName": "张三", "Gender": "1", "RoomID": room, "DeptID": "1", "DutyID": "1", "PositionID": "2"}));
    let h = c.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": "0001000000"}));
    assert_eq!((h["UpTownID"].as_str(), h["UpTown"].as_str(), h["BuildID"].as_str(), h["Building"].as_str()), (Some(town.as_str()), Some("麻磡新村"), Some(building.as_str()), Some("车安大厦")), "{h}");
    assert_eq!((h["CellID"].as_str(), h["Cells"].as_str(), h["FloorNo"].as_str(), h["RoomID"].as_str(), h["Room"].as_str()), (Some(unit.as_str()), Some("2 单元"), Some("2"), Some(room.as_str()), Some("201")), "{h}");
    // The demo directory's names (10.8-10.10) for the ids.
    assert_eq!((h["DeptName"].as_str(), h["Duty"].as_str(), h["Position"].as_str()), (Some("软件部"), Some("软件工程师"), Some("开发工程师")), "{h}");
    let listed = c.ok("pub.users.get", json!({"UserNo": "0001000000"}));
    assert_eq!(listed[0]["Room"], "201", "{listed}");
    let refused = c.call("pub.hrroom.delete", json!({"RoomID": room}));
    assert_eq!(code(&refused), 500);
    assert!(refused["message"].as_str().unwrap().contains("0001000000"), "{refused}");
    assert_eq!(code(&c.call("pub.user.info.add", json!({"FstName": "李四", "Gender": "1", "RoomID": "99999"}))), 100001);

    // Renaming the room renames it for the holder: holders keep ids.
    c.ok("pub.hrroom.update", json!({"RoomID": room, "Room": "203", "FloorNo": "2"}));
    assert_eq!(c.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": "0001000000"}))["Room"], "203");

    // Moved out, the room, then the unit, the building and the community go.
    c.ok("pub.user.info.add", json!({"UserNo": "0001000001", "FstName": "王五", "Gender": "2"}));
    let other_room = id(&c.ok("pub.hrroom.add", json!({"CellID": unit, "Room": "301", "FloorNo": "3"})), "RoomID");
    c.ok("pub.user.info.edit", json!({"UserNo": "0001000000", "FstName": "张三", "Gender": "1", "RoomID": other_room}));
    c.ok("pub.hrroom.delete", json!({"RoomID": room}));
    assert_eq!(code(&c.call("pub.hrroom.delete", json!({"RoomID": other_room}))), 500);
    assert_eq!(code(&c.call("pub.hrroom.delete", json!({"RoomID": room}))), 100001, "already gone");
}

#[test]
fn the_org_lists_answer_what_the_admin_commands_write() {
    let srv = Server::start();
    let c = srv.client();
    let run = |args: &[&str]| {
        let out = Command::new(binary("onecard")).args(args).arg("--data-dir").arg(&srv.data_dir).arg("--branch").arg("1001").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&["org", "dept", "set", "--id", "7", "--name", "安保部"]);
    run(&["org", "company", "add", "--name", "物业公司", "--abbr", "wy"]);
    run(&["org", "workstation", "set", "--no", "KIOSK-1", "--type", "Z", "--name", "B3 电梯", "--log-dir", r"\\192.168.1.103\Log", "--agent", "A1"]);
    run(&["org", "params", "--visitor-retention-hours", "48"]);
    let depts = c.ok("pub.dept.list", Value::Null);
    assert!(depts.as_array().unwrap().contains(&json!({"DeptID": "7", "DeptName": "安保部"})), "{depts}");
    let companies = c.ok("pub.company.list", Value::Null);
    assert!(companies.as_array().unwrap().iter().any(|r| r["CompanyName"] == "物业公司" && r["AbbrCode"] == "wy"), "{companies}");
    assert_eq!(c.ok("pub.duty.list", Value::Null)[0], json!({"DutyID": "1", "DutyName": "软件工程师"}));
    assert_eq!(c.ok("pub.position.list", Value::Null)[1], json!({"PostID": "2", "PostName": "开发工程师"}));
    let ws = c.ok("pub.workstation.get", Value::Null);
    let types: Vec<&str> = ws.as_array().unwrap().iter().map(|w| w["LogType"].as_str().unwrap()).collect();
    assert!(types.contains(&"J") && types.contains(&"Z") && types.contains(&"Y"), "{ws}");
    assert_eq!(c.ok("pub.params.get", Value::Null), json!({"visitorRetentionTime": "48"}));
    // A department a holder is in is not removed.
    c.ok("pub.user.info.add", json!({"UserNo": "9", "FstName": "赵六", "Gender": "1", "DeptID": "7"}));
    let out = Command::new(binary("onecard")).args(["org", "dept", "remove", "--id", "7", "--branch", "1001", "--data-dir"]).arg(&srv.data_dir).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cardholders 9"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn import(srv: &Server, what: &str, file: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(binary("onecard"))
        .args(["import", what])
        .arg(file)
        .args(["--branch", "1001", "--data-dir"])
        .arg(&srv.data_dir)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_ten_thousand_row_import_runs_with_progress_and_a_second_run_changes_nothing() {
    let srv = Server::start();
    let c = srv.client();
    let dir = temp_dir("org-import");
    // 10,000 rooms: 4 communities x 5 buildings x 5 units x 100 rooms.
    let mut csv = String::from("UpTown,Building,Cells,Floors,BasementFloors,Room,FloorNo,DoorPlate\n");
    for t in 0..4 {
        for b in 0..5 {
            for u in 0..5 {
                for r in 0..100 {
                    let floor = r / 4 + 1;
                    csv.push_str(&format!("小区{t},\"{b}栋, 东\",{u} 单元,30,2,{floor}{:02},{floor},D{r}\n", r % 4 + 1));
                }
            }
        }
    }
    let file = dir.join("rooms.csv");
    std::fs::write(&file, &csv).unwrap();

    let t0 = Instant::now();
    let (ok, out, err) = import(&srv, "residences", &file);
    assert!(ok, "{out}\n{err}");
    let first = t0.elapsed();
    assert!(out.contains("10000 residences rows") && out.contains("created 10000, updated 0, unchanged 0, refused 0"), "{out}");
    assert!(err.contains("progress 1000/10000 10%") && err.contains("progress 10000/10000 100%"), "{err}");

    let (ok, out, err) = import(&srv, "residences", &file);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("created 0, updated 0, unchanged 10000, refused 0"), "{out}");
    eprintln!("10,000 rows: first run {first:?}, second {:?}", t0.elapsed() - first);

    // The server reads what the import wrote.
    let towns = c.ok("pub.hruptown.list", Value::Null);
    let t0 = towns.as_array().unwrap().iter().find(|t| t["UpTown"] == "小区0").unwrap();
    let b = c.ok("pub.hrbuilding.list", json!({"UptownID": t0["UptownID"]}));
    assert_eq!(b.as_array().unwrap().len(), 5);
    assert_eq!(b[0]["Building"], "0栋, 东");
    let units = c.ok("pub.hrcell.list", json!({"BuildID": b[0]["BuildID"]}));
    let rooms = c.call("pub.hrroom.list", json!({"CellID": units[0]["CellID"]}));
    assert_eq!(rooms["total"], 100, "{}", rooms["total"]);

    // Holders by room names, one refused row reported with its line and reason.
    let holders = dir.join("holders.csv");
    std::fs::write(
        &holders,
        "UserNo,FstName,Gender,DeptName,UpTown,Building,Cells,Room,Mobile\n\
         H1,张三,1,软件部,小区0,\"0栋, 东\",0 单元,101,13488887777\n\
         H2,李四,1,,小区9,0栋,0 单元,101,\n",
    )
    .unwrap();
    let (ok, out, _) = import(&srv, "cardholders", &holders);
    assert!(!ok, "a refused row fails the command");
    assert!(out.contains("created 1,") && out.contains("refused line 3: community '小区9' does not exist"), "{out}");
    let h = c.ok("pub.user.info.get", json!({"CredentialType": "3", "Credential": "H1"}));
    assert_eq!((h["UpTown"].as_str(), h["Room"].as_str(), h["DeptName"].as_str()), (Some("小区0"), Some("101"), Some("软件部")), "{h}");
}

#[test]
fn a_site_log_is_fetched_in_chunks_through_the_agent() {
    let dir = temp_dir("org-syslog");
    let srv = server(&dir.join("cloud"), onecard_tests::free_port());
    let agent_dir = dir.join("agent");
    let logs = agent_dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let day = "2026-11-20";
    let original: Vec<u8> = (0..60_000u32).flat_map(|i| format!("{i:05} 入场 粤B{i:05}\n").into_bytes()).take(70_001).collect();
    std::fs::write(logs.join(format!("park-{day}.log")), &original).unwrap();
    std::fs::write(logs.join("park-2026-11-19.log"), "another day").unwrap();
    let agent = AgentProc::start(srv.port, &agent_dir, &[]);
    agent.wait_ready();
    let c = srv.client();

    let ws = c.ok("pub.workstation.get", Value::Null);
    let w = ws.as_array().unwrap().iter().find(|w| w["WorkstationNo"] == "WS0001").cloned().unwrap_or_else(|| panic!("{ws}"));
    let first = json!({"LogType": "J", "WorkstationNo": "WS0001", "LogDirectory": w["LogDirectory"], "LogDate": day, "FileName": ""});
    let env = call_paged(&c, "pub.systemlog.get", first, 0, 8000);
    assert_eq!(env["data"]["FileExists"], "0", "{env}");
    let name = env["data"]["FileName"].as_str().unwrap().to_string();
    assert_eq!(name, "J_WS0001_20261120.log");
    let chunks = env["total"].as_u64().unwrap() as usize;
    assert_eq!(chunks, 70_001usize.div_ceil(6000), "8000 characters carry 6000 bytes");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut got = b64.decode(env["data"]["PageData"].as_str().unwrap()).unwrap();
    for i in 1..chunks {
        // Later calls carry only the file name.
        let env = call_paged(&c, "pub.systemlog.get", json!({"FileName": name}), i, 8000);
        assert_eq!((env["rowindex"].as_u64(), env["data"]["FileExists"].as_str()), (Some(i as u64), Some("0")), "{env}");
        got.extend(b64.decode(env["data"]["PageData"].as_str().unwrap()).unwrap());
    }
    assert_eq!(got.len(), original.len());
    assert!(got == original, "the chunks reassemble to the file");

    // No log that day; a directory that is not the workstation's; a caller path.
    let none = c.ok("pub.systemlog.get", json!({"LogType": "J", "WorkstationNo": "WS0001", "LogDirectory": w["LogDirectory"], "LogDate": "2026-11-21"}));
    assert_eq!(none["FileExists"], "2", "{none}");
    let elsewhere = c.ok("pub.systemlog.get", json!({"LogType": "J", "WorkstationNo": "WS0001", "LogDirectory": "/etc", "LogDate": day}));
    assert_eq!(elsewhere["FileExists"], "1", "{elsewhere}");
    assert_eq!(code(&c.call("pub.systemlog.get", json!({"FileName": "../../etc/passwd"}))), 100001);
    assert_eq!(code(&c.call("pub.systemlog.get", json!({"LogType": "J", "LogDirectory": "x", "LogDate": "20261120"}))), 100001);
    // The interface's own log without a configured directory: not accessible.
    let own = c.ok("pub.systemlog.get", json!({"LogType": "Y", "LogDirectory": "onecard:logs", "LogDate": day}));
    assert_eq!(own["FileExists"], "1", "{own}");
}
