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

fn card(i: usize) -> DoorCard {
    DoorCard {
        no: format!("{:010}", 3_000_000_000u64 + i as u64 * 7),
        user: format!("u{i}"),
        grant: "10".into(),
        from: "2026-01-01 00:00:00".into(),
        to: "2026-12-31 23:59:59".into(),
        ..Default::default()
    }
}

fn door_rules(cards: impl IntoIterator<Item = DoorCard>) -> DoorRules {
    use crate::link::doors::{DoorRow, GrantRow};
    DoorRules {
        doors: vec![DoorRow { device: "C1-1".into(), controller_no: "C1".into(), door_no: "1".into(), name: "前门".into() }],
        grants: vec![GrantRow { id: "10".into(), time_group: String::new(), doors: vec!["C1-1".into()] }],
        cards: cards.into_iter().collect(),
        qr_key: "k".into(),
        ..Default::default()
    }
}

fn black(i: usize) -> BlackRow {
    BlackRow { plate: plate(i).plate_no, start: "2026-01-01 00:00:00".into(), end: "2026-12-31 23:59:59".into(), hint: "黑名单车辆".into() }
}

fn lanes(rows: impl IntoIterator<Item = BlackRow>) -> LaneRules {
    LaneRules { blacklist: rows.into_iter().collect(), locked: vec!["沪B00002".into()] }
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
    // The blacklist row's bucket, the locked plate's bucket and nothing of
    // the plates.
    assert!(frames[0].delta && frames[0].monthly_plates.is_empty());
    assert_eq!(frames[0].buckets, vec![Kind::Black.global(bucket_of("浙A00001")) as u32, Kind::Locked.global(bucket_of("沪B00002")) as u32]);
    assert_eq!((frames[0].blacklist.len(), frames[0].locked.len()), (1, 1));
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

#[test]
fn twenty_thousand_door_cards_and_five_thousand_blacklist_rows_sync_whole_in_frames_under_the_limit() {
    let cur = big(20_000).with_doors(Some(door_rules((0..20_000).map(card)))).with_lanes(Some(lanes((0..5_000).map(black))));
    assert_eq!((cur.card_count(), cur.blacklist_count()), (20_000, 5_000));
    let frames = cur.plan(None, crate::link::CHUNK_BUDGET).unwrap();
    for f in &frames {
        let n = encode(&Msg::SiteConfig(f.clone())).len();
        assert!(n <= crate::link::CHUNK_BUDGET + 64 && n < MAX_FRAME_BYTES, "frame of {n} bytes");
    }
    // The head holds no rows: they all ride in buckets.
    assert!(frames[0].doors.as_ref().unwrap().cards.is_empty());
    assert!(frames[0].lanes.as_ref().unwrap().blacklist.is_empty());
    assert_eq!(frames.iter().map(|f| f.door_cards.len()).sum::<usize>(), 20_000);
    assert_eq!(frames.iter().map(|f| f.blacklist.len()).sum::<usize>(), 5_000);
    let mut a = Assembler::default();
    let Fed::Applied(cfg) = feed_all(&mut a, wire(frames)) else { panic!("not applied") };
    let rules = cfg.doors.clone().unwrap();
    assert_eq!(rules.cards.len(), 20_000);
    assert_eq!(cfg.lanes.as_ref().unwrap().blacklist.len(), 5_000);
    assert_eq!(cfg.lanes.as_ref().unwrap().locked, vec!["沪B00002".to_string()]);
    assert_eq!(a.version(), cur.version());
    // The last card opens its door from the assembled copy.
    let t = chrono::NaiveDateTime::parse_from_str("2026-11-30 09:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    assert!(rules.decide_card("C1-1", &card(19_999).no, t).open);
    // The agent's disk copy rebuilds the same state and version after a restart.
    assert_eq!(SiteState::from_config(&cfg), cur);
    let restarted = Assembler::new(Some(&cfg));
    assert_eq!(restarted.version(), cur.version());
    assert!(cur.plan(Held::version_only(restarted.version()).as_ref(), crate::link::CHUNK_BUDGET).unwrap().is_empty());
}

#[test]
fn one_door_card_change_is_a_one_bucket_delta() {
    let before = big(1_000).with_doors(Some(door_rules((0..20_000).map(card))));
    let mut a = Assembler::default();
    assert!(matches!(feed_all(&mut a, wire(before.plan(None, crate::link::CHUNK_BUDGET).unwrap())), Fed::Applied(_)));

    let mut cards: Vec<DoorCard> = (0..20_000).map(card).collect();
    cards[19_998].to = "2027-06-30 23:59:59".into();
    let after = big(1_000).with_doors(Some(door_rules(cards.clone())));
    let frames = wire(after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert_eq!(frames.len(), 1);
    assert!(frames[0].delta);
    assert_eq!(frames[0].buckets, vec![card_bucket_of(&cards[19_998]) as u32]);
    assert!(frames[0].monthly_plates.is_empty());
    // One bucket: about 20,000 / 256 cards.
    assert!(frames[0].door_cards.len() < 200, "{} cards", frames[0].door_cards.len());
    let bytes = encode(&Msg::SiteConfig(frames[0].clone())).len();
    assert!(bytes < 16 * 1024, "delta of {bytes} bytes");
    let Fed::Applied(cfg) = feed_all(&mut a, frames) else { panic!("delta not applied") };
    assert_eq!(a.version(), after.version());
    let got = cfg.doors.unwrap();
    assert_eq!(got.cards.len(), 20_000);
    assert_eq!(got.card(&cards[19_998].no).unwrap().to, "2027-06-30 23:59:59");

    // A card removed empties its row from the bucket; a head change (a new
    // grant) goes with no bucket at all.
    let mut fewer = cards.clone();
    let gone = fewer.remove(5);
    let removed = big(1_000).with_doors(Some(door_rules(fewer.clone())));
    let frames = wire(removed.plan(Some(&after.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert_eq!(frames[0].buckets, vec![card_bucket_of(&gone) as u32]);
    let Fed::Applied(cfg) = feed_all(&mut a, frames) else { panic!("delta not applied") };
    assert!(cfg.doors.unwrap().card(&gone.no).is_none());
    let mut rules = door_rules(fewer);
    rules.grants.push(crate::link::doors::GrantRow { id: "11".into(), ..Default::default() });
    let regranted = big(1_000).with_doors(Some(rules));
    let frames = wire(regranted.plan(Some(&removed.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert!(frames[0].delta && frames[0].buckets.is_empty() && frames[0].door_cards.is_empty());
    assert!(matches!(feed_all(&mut a, frames), Fed::Applied(_)));
    assert_eq!(a.version(), regranted.version());
}

#[test]
fn a_door_card_delta_that_does_not_add_up_asks_for_a_resync() {
    let before = big(10).with_doors(Some(door_rules((0..500).map(card))));
    let after = big(10).with_doors(Some(door_rules((0..501).map(card))));
    let delta = wire(after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    let mut a = Assembler::new(Some(&before.to_config(&before.version())));
    // A card outside the bucket the delta claims to replace.
    let mut forged = delta[0].clone();
    forged.buckets = vec![Kind::DoorCard.global((card_bucket_of(&card(500)) + 1) % BUCKETS) as u32];
    assert!(matches!(a.feed(forged), Fed::Resync(_)));
    // Cards inside the head of a delta.
    let mut inline = delta[0].clone();
    inline.doors.as_mut().unwrap().cards.push(card(9_999));
    assert!(matches!(a.feed(inline), Fed::Resync(_)));
    // A bucket past the last kind.
    let mut out = delta[0].clone();
    out.buckets.push((KINDS * BUCKETS) as u32);
    assert!(matches!(a.feed(out), Fed::Resync(_)));
    assert!(matches!(a.feed(delta[0].clone()), Fed::Applied(_)));
    assert_eq!(a.version(), after.version());
}

#[test]
fn a_full_sync_with_cards_inside_the_head_is_still_taken() {
    // What a cloud of protocol 1 sends: the cards inside `doors`, the
    // blacklist inside `lanes`.
    let frame = SiteConfig {
        version: "old".into(),
        controllers: controllers(),
        doors: Some(door_rules((0..3).map(card))),
        lanes: Some(lanes((0..2).map(black))),
        ..Default::default()
    };
    let Fed::Applied(cfg) = Assembler::default().feed(frame) else { panic!("not applied") };
    assert_eq!(cfg.doors.unwrap().cards.len(), 3);
    assert_eq!(cfg.lanes.unwrap().blacklist.len(), 2);
}

#[test]
fn a_peer_record_of_plate_digests_only_gets_a_full_sync() {
    // A connection recorded by a cloud of before the door-card buckets.
    let cur = big(100).with_doors(Some(door_rules((0..10).map(card))));
    let held = cur.held();
    let old = Held { version: "x".into(), digests: held.digests[..BUCKETS].to_vec() };
    let frames = cur.plan(Some(&old), crate::link::CHUNK_BUDGET).unwrap();
    assert!(!frames[0].delta);
    assert_eq!(held.digests.len(), KINDS * BUCKETS);
}

fn locked_lanes(n: usize) -> LaneRules {
    LaneRules { blacklist: (0..3).map(black).collect(), locked: (0..n).map(|i| plate(50_000 + i).plate_no).collect() }
}

#[test]
fn five_thousand_locked_plates_sync_whole_in_frames_under_the_limit_and_one_lock_is_a_one_bucket_delta() {
    let before = big(1_000).with_lanes(Some(locked_lanes(5_000)));
    assert_eq!(before.locked_count(), 5_000);
    let frames = before.plan(None, crate::link::CHUNK_BUDGET).unwrap();
    assert!(frames.len() > 1, "5,000 locked plates do not fit one frame");
    for f in &frames {
        let n = encode(&Msg::SiteConfig(f.clone())).len();
        assert!(n <= crate::link::CHUNK_BUDGET + 64 && n < MAX_FRAME_BYTES, "frame of {n} bytes");
    }
    // The head holds no locked plates: they all ride in buckets.
    assert!(frames[0].lanes.as_ref().unwrap().locked.is_empty());
    assert_eq!(frames.iter().map(|f| f.locked.len()).sum::<usize>(), 5_000);
    let mut a = Assembler::default();
    let Fed::Applied(cfg) = feed_all(&mut a, wire(frames)) else { panic!("not applied") };
    let lanes = cfg.lanes.clone().unwrap();
    assert_eq!((lanes.locked.len(), lanes.blacklist.len()), (5_000, 3));
    assert!(lanes.locked.contains(&plate(54_999).plate_no));
    assert_eq!(a.version(), before.version());

    // The agent's disk copy rebuilds the same state and version after a restart.
    assert_eq!(SiteState::from_config(&cfg), before);
    let mut restarted = Assembler::new(Some(&cfg));
    assert_eq!(restarted.version(), before.version());
    assert!(before.plan(Held::version_only(restarted.version()).as_ref(), crate::link::CHUNK_BUDGET).unwrap().is_empty());

    // One car locked: one bucket of locked plates, nothing else.
    let mut rules = locked_lanes(5_000);
    rules.locked.push("粤B12345".into());
    let locked = big(1_000).with_lanes(Some(rules.clone()));
    assert_ne!(locked.version(), before.version());
    let frames = wire(locked.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert_eq!(frames.len(), 1);
    assert!(frames[0].delta && frames[0].monthly_plates.is_empty() && frames[0].blacklist.is_empty());
    assert_eq!(frames[0].buckets, vec![Kind::Locked.global(bucket_of("粤B12345")) as u32]);
    // One bucket: about 5,000 / 256 plates.
    assert!(frames[0].locked.len() < 100, "{} locked plates", frames[0].locked.len());
    assert!(frames[0].lanes.as_ref().unwrap().locked.is_empty());
    let Fed::Applied(cfg) = feed_all(&mut restarted, frames.clone()) else { panic!("delta not applied") };
    assert_eq!(restarted.version(), locked.version());
    assert!(cfg.lanes.unwrap().locked.contains(&"粤B12345".to_string()));

    // Unlocked again: the same one bucket, back to the first version.
    let frames = wire(before.plan(Some(&locked.held()), crate::link::CHUNK_BUDGET).unwrap());
    assert_eq!(frames[0].buckets, vec![Kind::Locked.global(bucket_of("粤B12345")) as u32]);
    let Fed::Applied(cfg) = feed_all(&mut restarted, frames) else { panic!("delta not applied") };
    assert!(!cfg.lanes.as_ref().unwrap().locked.contains(&"粤B12345".to_string()));
    assert_eq!(restarted.version(), before.version());
    assert_eq!(SiteState::from_config(&cfg).version(), before.version());
}

#[test]
fn a_locked_plate_delta_that_does_not_add_up_asks_for_a_resync() {
    let before = big(10).with_lanes(Some(locked_lanes(500)));
    let after = big(10).with_lanes(Some(locked_lanes(501)));
    let delta = wire(after.plan(Some(&before.held()), crate::link::CHUNK_BUDGET).unwrap());
    let new = plate(50_500).plate_no;
    assert_eq!(delta[0].buckets, vec![Kind::Locked.global(bucket_of(&new)) as u32]);
    let mut a = Assembler::new(Some(&before.to_config(&before.version())));
    // A locked plate outside the bucket the delta claims to replace.
    let mut forged = delta[0].clone();
    forged.buckets = vec![Kind::Locked.global((bucket_of(&new) + 1) % BUCKETS) as u32];
    assert!(matches!(a.feed(forged), Fed::Resync(_)));
    // Locked plates inside the head of a delta.
    let mut inline = delta[0].clone();
    inline.lanes.as_mut().unwrap().locked.push("粤B99999".into());
    assert!(matches!(a.feed(inline), Fed::Resync(_)));
    assert!(matches!(a.feed(delta[0].clone()), Fed::Applied(_)));
    assert_eq!(a.version(), after.version());
}

#[test]
fn a_full_sync_with_locked_plates_inside_the_head_is_still_taken() {
    let frame = SiteConfig { version: "old".into(), controllers: controllers(), lanes: Some(locked_lanes(4)), ..Default::default() };
    let Fed::Applied(cfg) = Assembler::default().feed(frame) else { panic!("not applied") };
    assert_eq!(cfg.lanes.unwrap().locked.len(), 4);
    // Locked plates without any lanes head still make lane rules.
    let frame = SiteConfig { version: "x".into(), locked: vec!["沪B00002".into()], ..Default::default() };
    let Fed::Applied(cfg) = Assembler::default().feed(frame) else { panic!("not applied") };
    assert_eq!(cfg.lanes.unwrap().locked, vec!["沪B00002".to_string()]);
}
