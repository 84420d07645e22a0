//! The guidance model on the in-memory store: the demo survey loaded, then
//! status reports opening and closing position records and moving counts.

use super::model::{Screen, Space, SpaceKind, SpaceStatus};
use super::status::{apply, Report};
use super::{positions, spaces, store, survey};
use onecard_core::blob::MemBlobs;
use onecard_core::memstore::MemStore;
use onecard_core::time::parse;

const B: &str = "1001";

async fn loaded() -> (MemStore, MemBlobs) {
    let (st, blobs) = (MemStore::new(), MemBlobs::default());
    survey::seed_demo(&st, &blobs, B).await.unwrap();
    (st, blobs)
}

fn report(status: SpaceStatus, plate: Option<&str>, at: &str) -> Report {
    Report { status, plate: plate.map(str::to_string), at: parse(at).unwrap(), image_key: None, img_url: None, source: "test" }
}

#[tokio::test]
async fn a_car_opens_a_record_and_leaving_closes_it() {
    let (st, _) = loaded().await;
    let s = &st;
    let a = apply(s, B, "PN000000000000000025", &report(SpaceStatus::Occupied, Some("粤B12345"), "2026-03-02 09:00:00")).await.unwrap();
    assert!(a.free_changed());
    let p = positions::current_of_car(s, B, "粤B12345").await.unwrap().expect("parked");
    assert_eq!((p.space_name.as_str(), p.floor_name.as_str(), p.in_at.as_str()), ("B05", "地下2层", "2026-03-02 09:00:00"));
    // The same car again changes nothing; an older report is ignored.
    assert!(!apply(s, B, "PN000000000000000025", &report(SpaceStatus::Occupied, None, "2026-03-02 09:01:00")).await.unwrap().free_changed());
    assert!(apply(s, B, "PN000000000000000025", &report(SpaceStatus::Free, None, "2026-03-02 08:00:00")).await.unwrap().stale);
    assert_eq!(positions::of_car(s, B, "粤B12345").await.unwrap().len(), 1);
    // Another car in the same space closes the first one's record.
    apply(s, B, "PN000000000000000025", &report(SpaceStatus::Occupied, Some("粤B99999"), "2026-03-02 10:00:00")).await.unwrap();
    assert!(positions::current_of_car(s, B, "粤B12345").await.unwrap().is_none());
    let first = &positions::of_car(s, B, "粤B12345").await.unwrap()[0];
    assert_eq!(first.out_at.as_deref(), Some("2026-03-02 10:00:00"));
    apply(s, B, "PN000000000000000025", &report(SpaceStatus::Free, None, "2026-03-02 11:00:00")).await.unwrap();
    let (space, _) = store::get::<Space>(s, B, "PN000000000000000025").await.unwrap().unwrap();
    assert_eq!((space.status, space.plate, space.open_record), (SpaceStatus::Free, None, None));
    let recs = positions::of_space(s, B, "PN000000000000000025").await.unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.out_at.is_some()));
}

#[tokio::test]
async fn counts_follow_statuses_by_type_and_a_new_survey_keeps_live_state() {
    let (st, blobs) = loaded().await;
    let s = &st;
    let all = store::all::<Space>(s, B).await.unwrap();
    let c = spaces::count(all.iter(), &[SpaceKind::Charging]);
    assert_eq!((c.total.as_str(), c.remain.as_str(), c.charging_total.as_deref()), ("40", "40", Some("4")));
    assert!(c.mini_total.is_none(), "only the asked type");
    let charging = all.iter().find(|x| x.kind == SpaceKind::Charging).unwrap().no.clone();
    apply(s, B, &charging, &report(SpaceStatus::Occupied, Some("浙A00001"), "2026-03-02 09:00:00")).await.unwrap();
    let all = store::all::<Space>(s, B).await.unwrap();
    let c = spaces::count(all.iter(), &SpaceKind::ALL);
    assert_eq!((c.remain.as_str(), c.charging_remain.as_deref(), c.woman_total.as_deref()), ("39", Some("3"), Some("1")));
    // Screens count their own areas only.
    let screens = store::all::<Screen>(s, B).await.unwrap();
    let free: Vec<i64> = screens.iter().map(|sc| super::screens::free_for(sc, &all)).collect();
    assert_eq!(charging, "PN000000000000000010", "A10 on B1");
    assert_eq!(free, vec![20, 10], "B1's car moves neither B2 screen");
    // Re-importing the survey keeps the parked car.
    let d = survey::parse(survey::DEMO).unwrap();
    survey::apply(s, &blobs, B, &d, &|_| Err("no files".into()), &mut |_, _| {}).await.unwrap();
    assert_eq!(positions::current_of_car(s, B, "浙A00001").await.unwrap().map(|p| p.space_no), Some(charging));
}
