use super::*;
use crate::park::hardware::tests::ctx_with;
use onecard_core::config::{get_branch, put_branch, put_site, SiteAgent, DEMO_AGENT, DEMO_AGENT_SECRET, DEMO_BRANCH};
use onecard_core::sitelink::NoSites;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn now_text(ctx: &Ctx, offset_secs: i64) -> String {
    time::format(time::to_local(ctx.clock.now() + chrono::Duration::seconds(offset_secs), time::DEFAULT_TZ))
}

#[tokio::test]
async fn hello_is_checked_like_a_signed_request() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let ok = Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, 0), "1", DEMO_AGENT_SECRET);
    assert_eq!(authenticate(&ctx, &ok, 300).await.unwrap().branchno, DEMO_BRANCH);
    // The same hello again is a replay.
    assert_eq!(authenticate(&ctx, &ok, 300).await.unwrap_err().code, 100003);

    let cases = [
        (Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, 0), "2", "wrong"), 100003),
        (Hello::new_signed(DEMO_BRANCH, "A9", &now_text(&ctx, 0), "3", DEMO_AGENT_SECRET), 100003),
        (Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, -600), "4", DEMO_AGENT_SECRET), 100003),
        (Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, "yesterday", "5", DEMO_AGENT_SECRET), 100003),
        (Hello::new_signed("", DEMO_AGENT, &now_text(&ctx, 0), "6", DEMO_AGENT_SECRET), 100001),
    ];
    for (h, want) in cases {
        let r = authenticate(&ctx, &h, 300).await.unwrap_err();
        assert_eq!(r.code, want, "{h:?}: {}", r.message);
    }
    // A branch's zone decides what "now" means: eight hours off is refused.
    let utc_clock = time::format(ctx.clock.now().naive_utc());
    let h = Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &utc_clock, "7", DEMO_AGENT_SECRET);
    assert!(authenticate(&ctx, &h, 300).await.unwrap_err().message.contains("Asia/Shanghai"));

    put_site(ctx.store(), &SiteAgent { branch: DEMO_BRANCH.into(), agent_id: "A2".into(), secret: "s2".into(), enabled: false })
        .await
        .unwrap();
    let h = Hello::new_signed(DEMO_BRANCH, "A2", &now_text(&ctx, 0), "8", "s2");
    assert_eq!(authenticate(&ctx, &h, 300).await.unwrap_err().code, 403);
}

#[tokio::test]
async fn an_agent_of_protocol_1_is_refused_with_the_reason() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    // It would take a sync without door cards, blacklist and locked plates as complete.
    let mut old = Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, 0), "1", DEMO_AGENT_SECRET);
    old.version = 1;
    let r = authenticate(&ctx, &old, 300).await.unwrap_err();
    assert_eq!(r.code, 100001);
    assert!(r.message.contains("update onecard-agent"), "{}", r.message);
    // A stranger claiming protocol 1 learns nothing more than before.
    let mut stranger = Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, 0), "2", "wrong");
    stranger.version = 1;
    assert_eq!(authenticate(&ctx, &stranger, 300).await.unwrap_err().code, 100003);
    let now = Hello::new_signed(DEMO_BRANCH, DEMO_AGENT, &now_text(&ctx, 0), "3", DEMO_AGENT_SECRET);
    assert!(authenticate(&ctx, &now, 300).await.is_ok());
}

/// What the stand-in upload route reads.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Entry {
    #[serde(rename = "licensePlate")]
    plate: onecard_core::kit::Text,
}

#[tokio::test]
async fn a_repeated_upload_acts_once_and_gets_the_first_answer() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let mut reg = Registry::new();
    let r = runs.clone();
    reg.add([onecard_core::kit::write(route::UPLOAD_INDATA, move |_ctx, _req, input: Entry| {
        let n = r.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok(json!({"run": n, "plate": input.plate})) }
    })]);
    let r = runs.clone();
    reg.add([onecard_core::kit::read(route::PASS_VALIDATE, move |_ctx, _req, _input: onecard_core::kit::Empty| {
        r.fetch_add(1, Ordering::SeqCst);
        async move { Ok(json!({"isPass": "1"})) }
    })]);
    let up = |id: &str, route: &str| Uplink { id: id.into(), route: route.into(), data: json!({"licensePlate": "浙A12345"}) };

    let first = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-u-1", route::UPLOAD_INDATA)).await;
    assert!(first.ok(), "{first:?}");
    let again = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-u-1", route::UPLOAD_INDATA)).await;
    assert_eq!(again.data, first.data);
    assert_eq!(again.id, "A1-u-1");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Another agent's uplink with the same id is its own.
    serve_uplink(&ctx, &reg, DEMO_BRANCH, "A2", up("A1-u-1", route::UPLOAD_INDATA)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Decisions are never replayed from memory: each read of a plate is asked anew.
    serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-u-2", route::PASS_VALIDATE)).await;
    serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-u-2", route::PASS_VALIDATE)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    let unknown = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("x", "cat.no.such")).await;
    assert_eq!((unknown.status, unknown.code), (false, 404));
    let bad = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, Uplink { id: "b".into(), route: route::UPLOAD_INDATA.into(), data: json!({}) }).await;
    assert_eq!(bad.code, 100001);
}

#[tokio::test]
async fn site_config_carries_lanes_and_policy_and_versions_its_content() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let mut b = get_branch(ctx.store(), DEMO_BRANCH).await.unwrap().unwrap();
    let c1 = site_config(&ctx, &b).await.unwrap();
    assert_eq!(c1.controllers.len(), 2);
    assert_eq!(c1.offline, Some(OfflinePolicy { entry: "allow".into(), exit: "manual".into() }));
    assert_eq!(c1.version.len(), 16);
    assert_eq!(site_config(&ctx, &b).await.unwrap().version, c1.version, "same content, same version");
    b.settings.offline_exit = "deny".into();
    put_branch(ctx.store(), &b).await.unwrap();
    let c2 = site_config(&ctx, &b).await.unwrap();
    assert_ne!(c2.version, c1.version);
    assert_eq!(c2.offline.unwrap().exit, "deny");
}

/// A car through the demo lanes exactly as the agent reports it
/// (`agent/PROTOCOL.md` shapes), against the real handlers.
#[tokio::test]
async fn agent_shaped_uplinks_reach_the_chapter_9_handlers() {
    use onecard_core::link::PassAnswer;
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let reg = crate::registry();
    let t = now_text(&ctx, 0);
    let send = |id: &str, route: &str, data: Value| {
        let (ctx, reg) = (ctx.clone(), reg.clone());
        let up = Uplink { id: id.into(), route: route.into(), data };
        async move { serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up).await }
    };
    let ask = |dev: &str, flag: &str| {
        json!({"deviceID": dev, "controllerNo": "", "plateNo": "浙A55555", "licensePlate": "浙A55555", "plateColor": "", "time": t, "inOrOut": flag, "areaId": "1"})
    };
    let r = send("u1", route::PASS_VALIDATE, ask("1", "0")).await;
    assert!(r.ok(), "{r:?}");
    assert!(PassAnswer::from_reply(&r).open);
    let r = send("u2", route::UPLOAD_INDATA, json!({"areaId": "1", "cardInId": "A1-x-1", "licensePlate": "浙A55555", "plateColor": "", "inDate": t, "controllerNo": "C0000001", "deviceID": "1", "offline": "0", "decision": "cloud"})).await;
    assert!(r.ok(), "{r:?}");
    let (stay, _) = crate::park::stays::in_park(&ctx, DEMO_BRANCH, 1, "浙A55555").await.unwrap().unwrap();
    assert_eq!(stay.in_controller_name, "入口1", "the lane is known by its controller number");
    // At the exit right away nothing is due.
    let r = send("u3", route::PASS_VALIDATE, ask("2", "1")).await;
    assert!(PassAnswer::from_reply(&r).open, "{r:?}");
    // The exit upload has no cardInId (the cloud's answer named none) and no area.
    let r = send("u4", route::UPLOAD_OUTDATA, json!({"cardInId": "", "licensePlate": "浙A55555", "plateColor": "", "outDate": t, "controllerNo": "C0000002", "deviceID": "2", "offMoney": "", "offline": "0", "decision": "cloud"})).await;
    assert!(r.ok(), "{r:?}");
    assert!(crate::park::stays::in_park(&ctx, DEMO_BRANCH, 1, "浙A55555").await.unwrap().is_none());
    // A refused exit keeps the gate shut: an unknown car has no entry record.
    let mut unknown = ask("2", "1");
    unknown["plateNo"] = json!("浙A66666");
    unknown["licensePlate"] = json!("浙A66666");
    let r = send("u5", route::PASS_VALIDATE, unknown).await;
    assert!(!PassAnswer::from_reply(&r).open, "{r:?}");
}

#[tokio::test]
async fn offline_decisions_are_kept_once() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let reg = crate::registry();
    let t = now_text(&ctx, 0);
    let data = json!({"deviceID": "1", "controllerNo": "C0000001", "licensePlate": "浙A77777", "inOrOut": "0", "time": t, "open": "1", "reason": "policy:allow"});
    let up = |id: &str, data: Value| Uplink { id: id.into(), route: route::OFFLINE_DECISION.into(), data };
    for _ in 0..2 {
        let r = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-ob-1", data.clone())).await;
        assert!(r.ok(), "{r:?}");
    }
    let rows = ctx.store.query_all(&onecard_core::store::Query::partition(keys::offline_decisions(DEMO_BRANCH))).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].body["record"]["reason"], json!("policy:allow"));
    let bad = serve_uplink(&ctx, &reg, DEMO_BRANCH, DEMO_AGENT, up("A1-ob-2", json!({"time": t}))).await;
    assert_eq!(bad.code, 100001);
    assert!(bad.message.contains("licensePlate"));
}

/// Counts `config_changed` calls per branch; commands find no site.
#[derive(Default)]
struct Changes(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl onecard_core::sitelink::SiteLink for Changes {
    async fn command(&self, branch: &str, _c: onecard_core::sitelink::Command, _t: std::time::Duration) -> Result<onecard_core::sitelink::Ack, onecard_core::sitelink::SiteError> {
        Err(onecard_core::sitelink::SiteError::Offline(branch.into()))
    }
    async fn config_changed(&self, _ctx: &Ctx, branch: &str) {
        self.0.lock().unwrap().push(branch.to_string());
    }
}

#[tokio::test]
async fn every_card_change_that_moves_a_plate_tells_the_site_link_and_a_refused_one_does_not() {
    let changes = Arc::new(Changes::default());
    let (ctx, _) = ctx_with(changes.clone()).await;
    let call = |route: &'static str, data: Value| {
        let ctx = ctx.clone();
        async move { crate::park::hardware::tests::call(&ctx, route, data).await.map(|r| r.data) }
    };
    let count = || changes.0.lock().unwrap().len();
    let car_type = crate::park::cartype::list(&ctx, DEMO_BRANCH).await.unwrap()[0].id;
    call("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120.00"})).await.unwrap();
    let today = time::to_local(ctx.clock.now(), time::DEFAULT_TZ).date();
    let (from, to) = (format!("{today} 00:00:00"), format!("{} 23:59:59", today + chrono::Duration::days(20)));
    assert_eq!(count(), 0);

    let issued = call("pub.card.add", json!({"NumNo": "粤B12345", "Park": {"StartDate": from, "ExpiryDate": to}})).await.unwrap();
    assert_eq!(count(), 1, "issue");
    call("park.mcard.charge", json!({"credentialtype": "1", "credential": "粤B12345", "number": 1, "paytype": -1})).await.unwrap();
    assert_eq!(count(), 2, "renewal");
    call("pub.card.update", json!({"CredentialType": "2", "Credential": issued["CardNo"], "Park": {"LicensePlate": "粤B12345,粤B22222"}})).await.unwrap();
    assert_eq!(count(), 3, "update");
    call("park.lp.change", json!({"old": "粤B22222", "new": "粤B33333"})).await.unwrap();
    assert_eq!(count(), 4, "plate change");
    call("pub.card.cancel", json!({"CredentialType": "2", "Credential": issued["CardNo"]})).await.unwrap();
    assert_eq!(count(), 5, "cancel");
    // Nothing changed: nobody is told.
    call("pub.card.cancel", json!({"CredentialType": "2", "Credential": "nope"})).await.unwrap_err();
    call("pub.card.add", json!({"NumNo": "粤B9", "Park": {"StartDate": from}})).await.unwrap_err();
    assert_eq!(count(), 5, "refused requests change nothing");
    assert!(changes.0.lock().unwrap().iter().all(|b| b == DEMO_BRANCH));
}

#[tokio::test]
async fn site_state_versions_match_the_whole_config_and_count_plates() {
    let (ctx, _) = ctx_with(Arc::new(NoSites)).await;
    let b = get_branch(ctx.store(), DEMO_BRANCH).await.unwrap().unwrap();
    let s = site_state(&ctx, &b).await.unwrap();
    let c = site_config(&ctx, &b).await.unwrap();
    assert_eq!(c.version, s.version());
    assert_eq!(onecard_core::link::sync::SiteState::from_config(&c).version(), c.version, "the agent recomputes the same version");
}

#[tokio::test]
async fn blacklist_and_lock_changes_reach_the_site_config_and_tell_the_site_link() {
    let changes = Arc::new(Changes::default());
    let (ctx, _) = ctx_with(changes.clone()).await;
    let call = |route: &'static str, data: Value| {
        let ctx = ctx.clone();
        async move { crate::park::hardware::tests::call(&ctx, route, data).await.map(|r| r.data) }
    };
    let count = || changes.0.lock().unwrap().len();
    let b = get_branch(ctx.store(), DEMO_BRANCH).await.unwrap().unwrap();
    let before = site_config(&ctx, &b).await.unwrap();
    let today = time::to_local(ctx.clock.now(), time::DEFAULT_TZ).date();
    let (from, to) = (format!("{today} 00:00:00"), format!("{} 23:59:59", today + chrono::Duration::days(20)));
    call("park.blacklist.add", json!({"plateNo": "京 A11111", "startDateTime": from, "endDateTime": to})).await.unwrap();
    assert_eq!(count(), 1, "blacklist add");
    let cfg = site_config(&ctx, &b).await.unwrap();
    assert_ne!(cfg.version, before.version, "a blacklist change moves the version, so it is pushed");
    let lanes = cfg.lanes.clone().unwrap();
    assert_eq!(lanes.blacklist.len(), 1);
    assert_eq!(lanes.blacklist[0].plate, "京A11111");
    assert_eq!((lanes.blacklist[0].start.as_str(), lanes.blacklist[0].end.as_str()), (from.as_str(), to.as_str()));
    assert!(!lanes.blacklist[0].hint.is_empty());
    call("park.blacklist.lift", json!({"autoId": "1"})).await.unwrap();
    assert_eq!(count(), 2, "blacklist lift");
    assert!(site_config(&ctx, &b).await.unwrap().lanes.unwrap().blacklist.is_empty());
    call("park.blacklist.delete", json!({"autoId": "1"})).await.unwrap();
    assert_eq!(count(), 3, "blacklist delete");
    // A lock of a car not in the park with no booking is refused: nobody is told.
    call("park.lockcar", json!({"licensePlate": "粤B12345"})).await.unwrap_err();
    assert_eq!(count(), 3, "refused lock");
}
