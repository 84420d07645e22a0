use super::*;
use crate::config::Lane;
use crate::link::{decode, encode, MAX_FRAME_BYTES};

fn plate(i: usize) -> MonthlyPlate {
    let provinces = ["浙", "沪", "苏", "京"];
    MonthlyPlate {
        plate_no: format!("{}{}{:05}", provinces[i % 4], (b'A' + (i / 100_000 % 26) as u8) as char, i % 100_000),
        valid_from: String::new(),
        valid_to: "2026-12-31 23:59:59".into(),
        areas: Vec::new(),
    }
}

fn controllers() -> Vec<Controller> {
    vec![Controller { device_id: "1".into(), controller_no: "C0000001".into(), name: "入口1".into(), lane: Lane::In, area: "1".into() }]
}

fn big(n: usize) -> SiteState {
    SiteState::new(controllers(), (0..n).map(plate), Some(OfflinePolicy::default()))
}

/// Every frame goes through the wire encoding, as on a socket.
fn wire(frames: Vec<SiteConfig>) -> Vec<SiteConfig> {
    frames
        .into_iter()
        .map(|f| {
            let text = encode_frame(&Msg::SiteConfig(f)).expect("within the frame limit");
            let Ok(Msg::SiteConfig(f)) = decode(&text) else { panic!("not a siteconfig") };
            f
        })
        .collect()
}

fn feed_all(a: &mut Assembler, frames: Vec<SiteConfig>) -> Fed {
    let mut last = Fed::Waiting;
    for f in frames {
        last = a.feed(f);
    }
    last
}

#[test]
fn twenty_thousand_plates_go_in_frames_under_the_budget_and_reassemble() {
    let cur = big(20_000);
    let frames = cur.plan(None, crate::link::CHUNK_BUDGET).unwrap();
    assert!(frames.len() > 1, "one frame cannot hold 20,000 plates");
    for f in &frames {
        let n = encode(&Msg::SiteConfig(f.clone())).len();
        assert!(n <= crate::link::CHUNK_BUDGET + 64 && n < MAX_FRAME_BYTES, "frame of {n} bytes");
        assert_eq!(f.parts as usize, frames.len());
    }
    let mut a = Assembler::default();
    let Fed::Applied(cfg) = feed_all(&mut a, wire(frames)) else { panic!("not applied") };
    assert_eq!(cfg.monthly_plates.len(), 20_000);
    assert_eq!(cfg.version, cur.version());
    assert_eq!(a.version(), cur.version());
    assert_eq!(SiteState::from_config(&cfg), cur);
}

#[test]
fn parts_may_arrive_in_any_order_and_a_new_sync_supersedes_a_partial_one() {
    let cur = big(3_000);
    let mut frames = wire(cur.plan(None, 8 * 1024).unwrap());
    assert!(frames.len() >= 3);
    frames.reverse();
    let mut a = Assembler::default();
    // Half of an older sync first: dropped when the newer one begins.
    let older = wire(big(2_000).plan(None, 8 * 1024).unwrap());
    assert_eq!(a.feed(older[0].clone()), Fed::Waiting);
    let Fed::Applied(cfg) = feed_all(&mut a, frames) else { panic!("not applied") };
    assert_eq!(cfg.monthly_plates.len(), 3_000);
}

#[test]
fn one_card_change_is_a_one_bucket_delta_that_reproduces_the_version() {
    let before = big(20_000);
    let mut a = Assembler::default();
    feed_all(&mut a, wire(before.plan(None, crate::link::CHUNK_BUDGET).unwrap()));

    // A card renewed (new end), one cancelled, one issued.
    let mut plates: Vec<MonthlyPlate> = (0..20_000).map(plate).collect();
    plates[7].valid_to = "2027-06-30 23:59:59".into();
    plates.remove(12_345);
    plates.push(MonthlyPlate { plate_no: "粤B12345".into(), valid_to: "2026-12-31 23:59:59".into(), ..Default::default() });
    let after = SiteState::new(controllers(), plates, Some(OfflinePolicy::default()));

    let frames = after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap();
    assert_eq!(frames.len(), 1);
    assert!(frames[0].delta);
    assert!(frames[0].buckets.len() <= 3, "{:?}", frames[0].buckets);
    let bytes = encode(&Msg::SiteConfig(frames[0].clone())).len();
    assert!(bytes < 16 * 1024, "delta of {bytes} bytes");
    let Fed::Applied(cfg) = feed_all(&mut a, wire(frames)) else { panic!("delta not applied") };
    assert_eq!(cfg.version, after.version());
    assert_eq!(cfg.monthly_plates.len(), 20_000);
    assert!(cfg.monthly_plates.iter().any(|p| p.plate_no == "粤B12345"));
    assert!(!cfg.monthly_plates.iter().any(|p| p.plate_no == plate(12_345).plate_no));
    // Current: nothing to send.
    assert!(after.plan(Some(&after.held()), crate::link::CHUNK_BUDGET).unwrap().is_empty());
    assert!(after.plan(Held::version_only(&after.version()).as_ref(), crate::link::CHUNK_BUDGET).unwrap().is_empty());
}

#[test]
fn a_delta_that_does_not_add_up_asks_for_a_resync() {
    let before = big(500);
    let after = SiteState::new(controllers(), (0..501).map(plate), Some(OfflinePolicy::default()));
    let delta = wire(after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    // No copy at all.
    assert!(matches!(Assembler::default().feed(delta[0].clone()), Fed::Resync(_)));
    // A copy other than the one the cloud thinks the agent has.
    let other = SiteState::new(controllers(), (1000..1500).map(plate), None);
    let mut a = Assembler::new(Some(&other.to_config(&other.version())));
    assert!(matches!(a.feed(delta[0].clone()), Fed::Resync(_)));
    // A plate outside the buckets it claims to replace.
    let mut forged = delta[0].clone();
    forged.buckets = vec![(bucket_of(&forged.monthly_plates[0].plate_no) as u32 + 1) % BUCKETS as u32];
    let mut a = Assembler::new(Some(&before.to_config(&before.version())));
    assert!(matches!(a.feed(forged), Fed::Resync(_)));
    // The right copy takes it.
    assert!(matches!(a.feed(delta[0].clone()), Fed::Applied(_)));
}

#[test]
fn a_controller_list_too_big_for_one_frame_is_an_error_not_a_frame() {
    let many: Vec<Controller> = (0..400)
        .map(|i| Controller { device_id: i.to_string(), controller_no: format!("C{i:07}"), name: "出口车道很长的名字".repeat(4), lane: Lane::Out, area: "1".into() })
        .collect();
    let s = SiteState::new(many, (0..10).map(plate), None);
    let e = s.plan(None, crate::link::CHUNK_BUDGET).unwrap_err();
    assert_eq!(e.kind, "siteconfig");
}

#[test]
fn versions_do_not_depend_on_plate_order_or_spelling() {
    let a = SiteState::new(controllers(), (0..100).map(plate), None);
    let mut rev: Vec<MonthlyPlate> = (0..100).map(plate).rev().collect();
    rev[0].plate_no = rev[0].plate_no.to_lowercase();
    let b = SiteState::new(controllers(), rev, None);
    assert_eq!(a.version(), b.version());
    assert_ne!(a.version(), SiteState::new(controllers(), (0..100).map(plate), Some(OfflinePolicy::default())).version());
}

#[test]
fn a_blacklist_change_moves_the_version_and_travels_in_a_delta_without_plates() {
    let rules = |plate: &str| {
        Some(crate::link::LaneRules {
            blacklist: vec![crate::link::BlackRow {
                plate: plate.into(),
                start: "2026-01-01 00:00:00".into(),
                end: "2026-12-31 23:59:59".into(),
                hint: "黑名单车辆".into(),
            }],
            locked: vec!["沪B00002".into()],
        })
    };
    let before = big(500);
    // No lanes reads as before: versions held from an older cloud stay valid.
    assert_eq!(before.version(), big(500).with_lanes(None).version());
    let mut agent = Assembler::new(None);
    assert!(matches!(feed_all(&mut agent, wire(before.plan(None, crate::link::CHUNK_BUDGET).unwrap())), Fed::Applied(_)));
    let after = big(500).with_lanes(rules("浙A00001"));
    assert_ne!(after.version(), before.version());
    let frames = wire(after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert_eq!(frames.len(), 1);
    assert!(frames[0].delta && frames[0].buckets.is_empty() && frames[0].monthly_plates.is_empty());
    let Fed::Applied(cfg) = feed_all(&mut agent, frames) else { panic!("delta not applied") };
    assert_eq!(cfg.lanes, rules("浙A00001"));
    assert_eq!(cfg.monthly_plates.len(), 500);
    assert_eq!(agent.version(), after.version());
    // Lifting the entry (lanes now empty of it) is pushed too.
    let lifted = big(500).with_lanes(rules("浙A99999"));
    assert_ne!(lifted.version(), after.version());
    // The disk copy rebuilds the same state.
    assert_eq!(SiteState::from_config(&cfg).version(), after.version());
}
