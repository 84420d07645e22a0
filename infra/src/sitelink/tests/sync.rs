//! Site configuration sync through the hub: chunked, delta on card changes,
//! nothing on a reconnect with a current copy; acks bound to their connection.

use super::*;
use onecard_core::link::SiteConfig;
use onecard_core::Origin;

/// A hub whose periodic refresh never fires within a test, so whatever an
/// agent gets after the first sync was pushed by a card change.
async fn quiet_hub() -> (Arc<Hub>, u16) {
    hub_with(HubConfig { config_refresh: Duration::from_secs(3600), ..HubConfig::default() }).await
}

async fn call(hub: &Hub, route: &str, data: serde_json::Value) -> serde_json::Value {
    let (ctx, reg) = hub.app.get().expect("attached");
    let spec = reg.find(route).unwrap();
    let branch = config::get_branch(ctx.store(), "1001").await.unwrap().unwrap();
    match onecard_core::dispatch::run(ctx, reg, spec, Origin::Internal, branch, data.clone(), None).await {
        Ok(r) => r.data,
        Err(e) => panic!("{route} {data}: {e}"),
    }
}

async fn next_config(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Inbound>, within: Duration) -> Option<SiteConfig> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Inbound::SiteConfig(s))) => return Some(s),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

async fn monthly_tariff(hub: &Hub) {
    let (ctx, _) = hub.app.get().expect("attached");
    let car_type = onecard_app::park::cartype::list(ctx, "1001").await.unwrap()[0].id;
    call(hub, "park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120.00"})).await;
}

fn dates() -> (String, String) {
    let today = onecard_core::time::to_local(chrono::Utc::now(), "Asia/Shanghai").date();
    (format!("{today} 00:00:00"), format!("{} 23:59:59", today + chrono::Duration::days(30)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_change_reaches_the_connected_agent_at_once_not_at_the_refresh() {
    let (hub, port) = quiet_hub().await;
    monthly_tariff(&hub).await;
    let (link, mut rx) = agent(port, config::DEMO_AGENT_SECRET);
    let first = next_config(&mut rx, Duration::from_secs(5)).await.expect("the first sync");
    assert!(first.monthly_plates.is_empty());
    let (from, to) = dates();

    let t0 = std::time::Instant::now();
    let issued = call(&hub, "pub.card.add", json!({"NumNo": "粤B12345", "Park": {"StartDate": from, "ExpiryDate": to}})).await;
    let cfg = next_config(&mut rx, Duration::from_secs(3)).await.expect("pushed after the issue");
    let delay = t0.elapsed();
    assert_eq!(cfg.monthly_plates.iter().map(|p| p.plate_no.as_str()).collect::<Vec<_>>(), vec!["粤B12345"]);
    assert!(delay < Duration::from_secs(2), "took {delay:?}");
    assert_eq!(link.config_version(), cfg.version);

    call(&hub, "pub.card.cancel", json!({"CredentialType": "2", "Credential": issued["CardNo"]})).await;
    let cfg = next_config(&mut rx, Duration::from_secs(3)).await.expect("pushed after the cancel");
    assert!(cfg.monthly_plates.is_empty(), "{cfg:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_reconnecting_with_the_current_version_gets_nothing_and_an_old_one_gets_it_all() {
    let (_hub, port) = quiet_hub().await;
    let (link, mut rx) = agent(port, config::DEMO_AGENT_SECRET);
    let held = next_config(&mut rx, Duration::from_secs(5)).await.expect("first sync");
    drop((link, rx));

    let (again, mut rx) = agent_holding(port, config::DEMO_AGENT_SECRET, Some(&held));
    until("reconnected", || again.is_up()).await;
    assert_eq!(next_config(&mut rx, Duration::from_millis(500)).await, None, "a current copy is not sent again");

    let stale = SiteConfig { version: "0123456789abcdef".into(), ..held.clone() };
    let (old, mut rx) = agent_holding(port, config::DEMO_AGENT_SECRET, Some(&stale));
    let got = next_config(&mut rx, Duration::from_secs(5)).await.expect("a full sync for an old copy");
    assert_eq!(got.version, held.version);
    assert_eq!(old.config_version(), held.version);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_of_thousands_of_plates_arrives_in_frames_under_32_kib() {
    let (hub, port) = quiet_hub().await;
    let (ctx, _) = hub.app.get().expect("attached").clone();
    let seeded = seed_monthly(&ctx, 3_000).await;
    let branch = config::get_branch(ctx.store(), "1001").await.unwrap().unwrap();
    let state = onecard_app::sitelink::site_state(&ctx, &branch).await.unwrap();
    assert_eq!(state.plate_count(), seeded);
    let frames = state.plan(None, link::CHUNK_BUDGET).unwrap();
    assert!(frames.len() > 3, "{} frames", frames.len());

    let (_link, mut rx) = agent(port, config::DEMO_AGENT_SECRET);
    let got = next_config(&mut rx, Duration::from_secs(10)).await.expect("the sync");
    assert_eq!(got.monthly_plates.len(), seeded);
    assert_eq!(got.version, state.version());
}

/// Writes `n` monthly cards straight into the store (the route would take a
/// transaction each), cloned from one issued through the route.
pub(crate) async fn seed_monthly(ctx: &Ctx, n: usize) -> usize {
    use onecard_app::cards::store::card_create;
    let branch = "1001";
    let reg = onecard_app::registry();
    let car_type = onecard_app::park::cartype::list(ctx, branch).await.unwrap()[0].id;
    let b = config::get_branch(ctx.store(), branch).await.unwrap().unwrap();
    let run = |route: &'static str, data: serde_json::Value| {
        let (reg, b) = (&reg, b.clone());
        async move { onecard_core::dispatch::run(ctx, reg, reg.find(route).unwrap(), Origin::Internal, b, data, None).await.unwrap().data }
    };
    run("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120.00"})).await;
    let (from, to) = dates();
    let first = run("pub.card.add", json!({"NumNo": "粤Z00000", "Park": {"StartDate": from, "ExpiryDate": to}})).await;
    let template = onecard_app::cards::get_card(ctx, branch, first["CardNo"].as_str().unwrap()).await.unwrap().unwrap();
    let writes: Vec<_> = (1..n)
        .map(|i| {
            let plate = format!("粤{}{:05}", (b'A' + (i / 100_000) as u8) as char, i % 100_000);
            let card = onecard_app::cards::Card { card_no: format!("S{i:09}"), num_no: plate.clone(), card_id: plate.clone(), plates: vec![plate], ..template.clone() };
            card_create(branch, &card)
        })
        .collect();
    for chunk in writes.chunks(onecard_core::store::MAX_TRANSACTION_ITEMS) {
        ctx.store.transact(chunk.to_vec()).await.unwrap();
    }
    n
}

#[tokio::test]
async fn an_ack_from_another_connection_does_not_answer_the_command() {
    let hub = Hub::new(HubConfig::default());
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    lock(&hub.tables).waiting.insert("c-1".into(), ("s-sent".into(), tx));
    let ack = |code| Ack { id: "c-1".into(), ok: true, code, message: String::new() };
    hub.deliver_ack("s-other", ack(200));
    assert!(rx.try_recv().is_err(), "an ack from another socket is ignored");
    assert!(lock(&hub.tables).waiting.contains_key("c-1"), "the command still waits for its own agent");
    hub.deliver_ack("s-sent", ack(620));
    assert_eq!(rx.try_recv().unwrap().code, 620);
}

#[test]
fn the_hub_never_queues_a_frame_over_32_kib() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reply = |n: usize| Msg::Reply(link::Reply { id: "u".into(), status: true, code: 200, message: String::new(), time: String::new(), data: json!({"x": "y".repeat(n)}) });
    assert!(!send(&tx, &reply(link::MAX_FRAME_BYTES)));
    assert!(rx.try_recv().is_err(), "nothing was queued");
    assert!(send(&tx, &reply(100)));
    assert!(rx.try_recv().is_ok());
}
