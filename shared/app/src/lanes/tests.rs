//! Lanes on the embedded store through the registered routes, with a clock
//! the test sets and a site link that records the gate commands.

use super::rules::{ENTRY, EXIT};
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::config::{self, Lane};
use onecard_core::queue::EventQueue;
use onecard_core::sitelink::{Ack, Command, SiteError, SiteLink};
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::{dispatch, ApiError, ApiResult, Ctx, Origin, Ports, Registry, Reply};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const B: &str = config::DEMO_BRANCH;

/// Records every command; answers each as the gate would when `up`.
struct Gates {
    sent: Mutex<Vec<Command>>,
    up: Mutex<bool>,
}

#[async_trait::async_trait]
impl SiteLink for Gates {
    async fn command(&self, _branch: &str, cmd: Command, _t: Duration) -> Result<Ack, SiteError> {
        self.sent.lock().unwrap().push(cmd.clone());
        if *self.up.lock().unwrap() {
            Ok(Ack { id: cmd.id, ok: true, code: 200, message: "ok".into() })
        } else {
            Err(SiteError::Offline(B.into()))
        }
    }
}

struct Kit {
    ctx: Ctx,
    clock: Arc<FixedClock>,
    gates: Arc<Gates>,
    reg: Registry,
}

impl Kit {
    async fn new(now: &str) -> Kit {
        let dir = std::env::temp_dir().join(format!("onecard-lanes-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(SqliteStore::open(&dir.join("store.db")).unwrap());
        let queue: Arc<dyn EventQueue> = Arc::new(EmbeddedQueue::open(&dir.join("queue.db")).unwrap());
        config::seed_demo(&*store).await.unwrap();
        let clock = FixedClock::new(to_utc(parse(now).unwrap(), DEFAULT_TZ));
        let gates = Arc::new(Gates { sent: Mutex::new(Vec::new()), up: Mutex::new(true) });
        let ctx = Ctx::new(Ports { store, queue, sites: gates.clone(), clock: clock.clone() });
        crate::seed_demo(&ctx).await.unwrap();
        Kit { ctx, clock, gates, reg: crate::registry() }
    }

    fn set_now(&self, now: &str) {
        self.clock.set(to_utc(parse(now).unwrap(), DEFAULT_TZ));
    }

    async fn call(&self, route: &str, data: Value) -> ApiResult<Reply> {
        let spec = self.reg.find(route).unwrap_or_else(|| panic!("no route {route}"));
        let branch = config::get_branch(self.ctx.store(), B).await.unwrap().unwrap();
        dispatch::run(&self.ctx, &self.reg, spec, Origin::Internal, branch, data, None).await
    }

    async fn ok(&self, route: &str, data: Value) -> Value {
        match self.call(route, data.clone()).await {
            Ok(r) => r.data,
            Err(e) => panic!("{route} {data} failed: {e}"),
        }
    }

    async fn err(&self, route: &str, data: Value) -> ApiError {
        match self.call(route, data.clone()).await {
            Ok(r) => panic!("{route} {data} should fail, answered {}", r.data),
            Err(e) => e,
        }
    }

    async fn enter(&self, id: &str, plate: &str, at: &str) {
        self.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": id, "licensePlate": plate, "inDate": at, "gateno": "C0000001"})).await;
    }

    /// 9.18 at the demo entrance ("1") or exit ("2"), at the server clock.
    async fn lane(&self, plate: &str, lane: Lane) -> Value {
        let (dev, flag) = match lane {
            Lane::In => ("1", "1"),
            Lane::Out => ("2", "2"),
        };
        self.ok("cat.pass.validate", json!({"deviceID": dev, "carNo": plate, "passTime": "1970-01-01 00:00:00", "inOutFlag": flag})).await
    }

    fn gate_opens(&self) -> Vec<String> {
        self.gates.sent.lock().unwrap().iter().filter(|c| c.action == onecard_core::link::action::GATE_OPEN).map(|c| c.device.clone()).collect()
    }
}

#[test]
fn the_rule_lists_keep_their_documented_order() {
    fn names(l: &[(&'static str, super::rules::Rule)]) -> Vec<&'static str> {
        l.iter().map(|(n, _)| *n).collect()
    }
    assert_eq!(names(ENTRY), ["blacklisted", "card_unusable", "monthly_card", "booking", "lot_full", "temporary_welcome"]);
    assert_eq!(names(EXIT), ["locked", "monthly_card", "no_entry_record", "password_free", "jinying_pay_later", "fee_settled"]);
}

#[tokio::test]
async fn a_blacklisted_car_is_refused_at_the_entrance_with_its_hint_and_let_in_once_lifted() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    super::blacklist::put_ref(k.ctx.store(), B, super::blacklist::RefKind::Hint, 41, "欠费车辆，请联系管理处", "admin", parse("2026-03-01 00:00:00").unwrap()).await.unwrap();
    super::blacklist::put_ref(k.ctx.store(), B, super::blacklist::RefKind::Type, 1, "欠费", "admin", parse("2026-03-01 00:00:00").unwrap()).await.unwrap();
    k.ok("park.blacklist.add", json!({"plateNo": "京 A11111", "blackType": "1", "blackHintId": "41", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    let refused = k.lane("京a11111", Lane::In).await;
    assert_eq!(refused["passFlag"], "0");
    assert_eq!(refused["hintVoice"], "欠费车辆，请联系管理处");
    assert!(refused["hintText"].as_str().unwrap().contains("欠费车辆"), "{refused}");
    // A blacklist never keeps a car in: the exit decides on the fee alone.
    k.enter("bl-1", "京A11111", "2026-03-02 11:59:00").await;
    assert_eq!(k.lane("京A11111", Lane::Out).await["passFlag"], "1");

    let list = k.ok("park.blacklist.get", json!({})).await;
    let id = list[0]["autoID"].as_str().unwrap().to_string();
    assert_eq!(list[0]["isDelete"], "0");
    assert_eq!(list[0]["plateNo"], "京 A11111");
    k.ok("park.blacklist.lift", json!({"autoId": id})).await;
    k.ok("park.blacklist.lift", json!({"autoId": id})).await;
    assert_eq!(k.lane("京A11111", Lane::In).await["passFlag"], "1");
    let list = k.ok("park.blacklist.get", json!({})).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "a lifted entry is still listed");
    assert_eq!(list[0]["isDelete"], "1");
    assert_eq!(list[0]["delDateTime"], "2026-03-02 12:00:00");
    k.ok("park.blacklist.delete", json!({"autoId": id})).await;
    assert_eq!(k.ok("park.blacklist.get", json!({})).await.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_blacklist_entry_counts_only_inside_its_window() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.ok("park.blacklist.add", json!({"plateNo": "京A22222", "startDateTime": "2026-03-03 00:00:00", "endDateTime": "2026-03-04 00:00:00"})).await;
    assert_eq!(k.lane("京A22222", Lane::In).await["passFlag"], "1");
    k.set_now("2026-03-03 08:00:00");
    let r = k.lane("京A22222", Lane::In).await;
    assert_eq!(r["passFlag"], "0");
    assert_eq!(r["hintVoice"], super::blacklist::DEFAULT_HINT);
    k.set_now("2026-03-04 00:00:01");
    assert_eq!(k.lane("京A22222", Lane::In).await["passFlag"], "1");
}

#[tokio::test]
async fn blacklist_input_is_checked_naming_the_field() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let e = k.err("park.blacklist.add", json!({"plateNo": "京A1", "startDateTime": "2026-03-03 00:00:00", "endDateTime": "2026-03-02 00:00:00"})).await;
    assert!(e.message.contains("endDateTime"), "{e}");
    let e = k.err("park.blacklist.add", json!({"plateNo": "京A1", "blackType": "9", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    assert!(e.message.contains("blackType"), "{e}");
    let e = k.err("park.blacklist.add", json!({"plateNo": "京A1", "blackHintId": "9", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    assert!(e.message.contains("blackHintId"), "{e}");
    let e = k.err("park.blacklist.lift", json!({"autoId": "77"})).await;
    assert!(e.message.contains("autoId"), "{e}");
    let e = k.err("park.blacklist.lift", json!({})).await;
    assert!(e.message.contains("autoId"), "{e}");
    // Edit names its entry by autoID and its plate.
    k.ok("park.blacklist.add", json!({"plateNo": "京A1", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    let id = k.ok("park.blacklist.get", json!({})).await[0]["autoID"].clone();
    let e = k.err("park.blacklist.edit", json!({"autoID": id, "plateNo": "京B2", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    assert!(e.message.contains("plateNo"), "{e}");
    k.ok("park.blacklist.edit", json!({"autoID": id, "plateNo": "京A1", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2026-03-02 10:00:00", "remark": "paid"})).await;
    let row = &k.ok("park.blacklist.get", json!({})).await[0];
    assert_eq!(row["endDateTime"], "2026-03-02 10:00:00");
    assert_eq!(row["lMDateTime"], "2026-03-02 12:00:00");
    assert_eq!(k.lane("京A1", Lane::In).await["passFlag"], "1", "the edited window has ended");
}

#[tokio::test]
async fn a_locked_car_is_held_at_the_exit_and_let_out_through_the_gate_when_unlocked() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.enter("lk-1", "粤B12345", "2026-03-02 11:55:00").await;
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤 B12345"})).await["lockStatus"], "0");
    k.ok("park.lockcar", json!({"licensePlate": "粤 B12345"})).await;
    k.set_now("2026-03-02 12:01:00");
    k.ok("park.lockcar.confirm", json!({"licensePlate": "粤B12345"})).await;
    let st = k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B12345"})).await;
    assert_eq!(st["lockStatus"], "1");
    assert_eq!(st["lockDate"], "2026-03-02 12:00:00", "confirming a lock keeps its time");

    let held = k.lane("粤B12345", Lane::Out).await;
    assert_eq!(held["passFlag"], "0");
    assert!(held["hintText"].as_str().unwrap().contains("锁定"), "{held}");
    let p = super::presence::at_lane(&k.ctx, B, "2").await.unwrap().unwrap();
    assert!(p.decision.unwrap().held);
    k.ok("cat.notice.unlockcar", json!({"areaId": "1", "licensePlate": "粤B12345"})).await;
    let st = k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B12345"})).await;
    assert_eq!(st["waitAreaId"], "1");
    assert!(k.gate_opens().is_empty());

    k.set_now("2026-03-02 12:02:00");
    k.ok("park.unlockcar.confirm", json!({"licensePlate": "粤B12345"})).await;
    assert_eq!(k.gate_opens(), ["2"], "the exit gate opens for the waiting car");
    let st = k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B12345"})).await;
    assert_eq!(st["lockStatus"], "2");
    assert_eq!(st["unlockDate"], "2026-03-02 12:02:00");
    // A repeat unlock changes nothing and opens nothing again.
    k.ok("park.lockcar.cancel", json!({"licensePlate": "粤B12345"})).await;
    assert_eq!(k.gate_opens().len(), 1);
    assert_eq!(k.lane("粤B12345", Lane::Out).await["passFlag"], "1");
}

#[tokio::test]
async fn an_unlock_whose_gate_cannot_open_still_unlocks_and_says_so() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.enter("lk-2", "粤B22222", "2026-03-02 11:55:00").await;
    k.ok("park.lockcar", json!({"licensePlate": "粤B22222"})).await;
    assert_eq!(k.lane("粤B22222", Lane::Out).await["passFlag"], "0");
    *k.gates.up.lock().unwrap() = false;
    let r = k.call("park.unlockcar.confirm", json!({"licensePlate": "粤B22222"})).await.unwrap();
    assert!(r.message.as_deref().unwrap_or("").contains("not opened"), "{:?}", r.message);
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B22222"})).await["lockStatus"], "2");
    assert_eq!(k.lane("粤B22222", Lane::Out).await["passFlag"], "1");
}

#[tokio::test]
async fn locks_need_the_car_in_the_park_and_end_with_its_stay() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let e = k.err("park.lockcar", json!({"licensePlate": "粤B33333"})).await;
    assert_eq!(e.code.0, 700);
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B33333"})).await["lockStatus"], "3");
    k.enter("lk-3", "粤B33333", "2026-03-02 11:00:00").await;
    k.ok("park.lockcar", json!({"licensePlate": "粤B33333"})).await;
    // A new entry of the car (another stay) starts unlocked.
    k.enter("lk-4", "粤B33333", "2026-03-02 11:58:00").await;
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤B33333"})).await["lockStatus"], "0");
    assert_eq!(k.lane("粤B33333", Lane::Out).await["passFlag"], "1");
}

#[tokio::test]
async fn a_group_in_use_cannot_be_deleted_and_a_free_one_can() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let id = k.ok("park.group.add", json!({"name": "车安", "berthNumber": "2"})).await["id"].as_str().unwrap().to_string();
    k.ok("park.group.update", json!({"id": id, "name": "车安团体", "berthNumber": "3", "maxMonthCharge": "300"})).await;
    let rows = k.ok("park.group.get", json!({"id": id})).await;
    assert_eq!(rows[0]["name"], "车安团体");
    assert_eq!(rows[0]["berthNumber"], "3");
    assert_eq!(rows[0]["maxMonthCharge"], "300.00");
    let e = k.err("park.group.add", json!({"name": "x", "berthNumber": "1", "groupType": "2"})).await;
    assert!(e.message.contains("groupType"), "{e}");
    let e = k.err("park.group.add", json!({"name": "x"})).await;
    assert!(e.message.contains("berthNumber"), "{e}");

    let car_type = crate::park::cartype::default_type(&k.ctx, B).await.unwrap().unwrap().id;
    k.ok("park.monthtariff.add", json!({"tariffName": "月租", "carTypeId": car_type, "charge": "120"})).await;
    let card = k.ok("pub.card.add", json!({"NumNo": "粤G00001", "Park": {"StartDate": "2026-03-01 00:00:00", "ExpiryDate": "2026-03-31 23:59:59", "GroupID": id}})).await;
    let e = k.err("park.group.delete", json!({"id": id})).await;
    assert_eq!(e.code.0, 500);
    assert!(e.message.contains(card["CardNo"].as_str().unwrap()), "{e}");
    let free = k.ok("park.group.add", json!({"name": "空", "berthNumber": "0"})).await["id"].clone();
    k.ok("park.group.delete", json!({"id": free})).await;
    assert_eq!(k.ok("park.group.get", json!({})).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn presence_names_the_car_at_each_lane_and_expires() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.lane("粤P00001", Lane::In).await;
    let p = super::presence::at_lane(&k.ctx, B, "1").await.unwrap().unwrap();
    assert_eq!((p.plate.as_str(), p.source.as_str()), ("粤P00001", "9.18"));
    assert!(p.decision.as_ref().unwrap().pass);
    // A camera read of the same car keeps the decision; another car replaces it.
    k.ok("cat.car.inout.notice", json!({"deviceID": "1", "controllerNo": "C0000001", "time": "2026-03-02 12:00:01", "inOut": "0", "plateNo": "粤P00001", "plateColor": "蓝", "image": "/pics/1.jpg"})).await;
    let p = super::presence::at_lane(&k.ctx, B, "1").await.unwrap().unwrap();
    assert_eq!(p.source, "9.19");
    assert!(p.decision.is_some());
    k.ok("cat.car.inout.notice", json!({"deviceID": "1", "controllerNo": "C0000001", "time": "2026-03-02 12:00:02", "inOut": "0", "plateNo": "粤P00002", "plateColor": "蓝", "image": "/pics/2.jpg"})).await;
    let p = super::presence::at_lane(&k.ctx, B, "1").await.unwrap().unwrap();
    assert_eq!(p.plate, "粤P00002");
    assert!(p.decision.is_none());
    k.set_now("2026-03-02 12:11:00");
    assert!(super::presence::at_lane(&k.ctx, B, "1").await.unwrap().is_none(), "presence expires");
}

#[tokio::test]
async fn the_site_gets_the_blacklist_in_force_and_the_cars_locked_now() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.ok("park.blacklist.add", json!({"plateNo": "京A1", "blackHintId": "2", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    k.ok("park.blacklist.add", json!({"plateNo": "京A2", "startDateTime": "2026-01-01 00:00:00", "endDateTime": "2026-02-01 00:00:00"})).await;
    k.ok("park.blacklist.add", json!({"plateNo": "京A3", "startDateTime": "2026-03-01 00:00:00", "endDateTime": "2099-01-01 00:00:00"})).await;
    k.ok("park.blacklist.lift", json!({"autoId": "3"})).await;
    k.enter("s-1", "粤L1", "2026-03-02 11:00:00").await;
    k.enter("s-2", "粤L2", "2026-03-02 11:00:00").await;
    k.ok("park.lockcar", json!({"licensePlate": "粤L1"})).await;
    k.ok("park.lockcar", json!({"licensePlate": "粤L2"})).await;
    k.ok("park.lockcar.cancel", json!({"licensePlate": "粤L2"})).await;
    let now = parse("2026-03-02 12:00:00").unwrap();
    let s = super::site::lanes_for_site(&k.ctx, B, now).await.unwrap();
    assert_eq!(s.blacklist.iter().map(|b| b.plate.as_str()).collect::<Vec<_>>(), ["京A1"], "expired and lifted entries stay home");
    assert_eq!(s.blacklist[0].hint, "欠费车辆，请到管理处缴费");
    assert_eq!(s.locked, ["粤L1"]);
}

#[tokio::test]
async fn a_booking_admits_its_car_once_on_its_lanes_and_holds_a_space_until_then() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    // One space: the booking holds it, so a temporary car is refused.
    let mut b = config::get_branch(k.ctx.store(), B).await.unwrap().unwrap();
    b.areas[0].capacity = 1;
    config::put_branch(k.ctx.store(), &b).await.unwrap();
    let r = k.ok("park.booking.create", json!({"licensePlate": "粤 B12345", "startTime": "2026-03-02 12:00:00", "endTime": "2026-03-02 17:00:00", "timeInterval": "12:00-18:00", "controllerNo": "C0000001"})).await;
    assert_eq!(r["allowEnterTimes"], "1");
    assert_eq!(r["charge"], "0.00");
    let order = r["orderno"].as_str().unwrap().to_string();
    assert_eq!(k.lane("粤T00001", Lane::In).await["passFlag"], "0", "the held space is not a temporary car's");
    // Another lane is not the booking's.
    let other = k.ok("cat.pass.validate", json!({"deviceID": "2", "carNo": "粤B12345", "passTime": "1970-01-01 00:00:00", "inOutFlag": "1"})).await;
    assert_eq!(other["passFlag"], "0", "{other}");
    let admitted = k.lane("粤B12345", Lane::In).await;
    assert_eq!(admitted["passFlag"], "1", "{admitted}");
    assert!(admitted["hintText"].as_str().unwrap().contains("预约"));
    k.enter("bk-1", "粤B12345", "2026-03-02 12:00:10").await;
    k.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "bk-1", "licensePlate": "粤B12345", "inDate": "2026-03-02 12:00:10", "outDate": "2026-03-02 12:05:00", "gateno": "C0000002"})).await;
    k.set_now("2026-03-02 12:10:00");
    let again = k.lane("粤B12345", Lane::In).await;
    assert_eq!(again["passFlag"], "0", "{again}");
    assert!(again["hintText"].as_str().unwrap().contains("次数已用完"), "{again}");
    let e = k.err("park.booking.cancel", json!({"orderNo": order})).await;
    assert_eq!(e.code.0, 500, "a used booking cannot be cancelled");
    assert_eq!(k.lane("粤T00001", Lane::In).await["passFlag"], "1", "a used booking holds no space");
}

#[tokio::test]
async fn booking_update_replaces_fields_but_keeps_need_lock_and_slots_count_capacity() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let r = k.ok("park.booking.create", json!({"licensePlate": "粤B1", "startTime": "2026-03-03 12:00:00", "endTime": "2026-03-03 13:00:00", "timeInterval": "12:00-18:00", "personName": "张三", "needLock": "1"})).await;
    let order = r["orderno"].clone();
    k.ok("park.booking.update", json!({"orderno": order, "licensePlate": "粤B1", "startTime": "2026-03-03 14:00", "endTime": "2026-03-03 15:00"})).await;
    let stored: super::bookings::Booking = k.ctx.store().get(&crate::keys::bookings(B), order.as_str().unwrap()).await.unwrap().unwrap().parse().unwrap();
    assert_eq!(stored.person_name, None, "fields not sent are cleared");
    assert_eq!(stored.interval, None);
    assert!(stored.need_lock, "needLock absent leaves it as it was");
    assert_eq!(stored.start, "2026-03-03 14:00:00");

    let e = k.err("park.booking.create", json!({"licensePlate": "粤B2", "startTime": "2026-03-03 12:00:00", "endTime": "2026-03-04 13:00:00"})).await;
    assert!(e.message.contains("endTime"), "{e}");
    let e = k.err("park.booking.create", json!({"licensePlate": "粤B2", "startTime": "2026-03-03 12:00:00", "endTime": "2026-03-03 13:00:00", "timeInterval": "01:00-02:00"})).await;
    assert!(e.message.contains("timeInterval"), "{e}");
    let e = k.err("park.booking.create", json!({"licensePlate": "粤B2", "startTime": "2026-03-03 12:00:00", "endTime": "2026-03-03 13:00:00", "controllerNo": "CX"})).await;
    assert!(e.message.contains("controllerNo"), "{e}");

    let days = k.ok("park.berthofdays.get", json!({"startTime": "2026-03-03", "days": 2})).await;
    let rows = days.as_array().unwrap();
    assert_eq!(rows.len(), 6, "three demo slots a day");
    let noon = rows.iter().find(|r| r["TimeInterval"] == "12:00-18:00" && r["OrderDate"] == "2026-03-03 00:00:00").unwrap();
    assert_eq!((noon["AvailableCount"].as_str(), noon["BookCount"].as_str(), noon["LeftCount"].as_str()), (Some("20"), Some("0"), Some("20")), "the update moved the booking out of the slot");

    let cfg = k.ok("park.bookingconfig.get", json!({})).await;
    assert_eq!(cfg[0]["bookingType"], "2");
    // A rejected booking admits nothing; a cancelled one neither, and cancelling twice is one cancel.
    let rej = k.ok("park.booking.create", json!({"licensePlate": "粤B3", "startTime": "2026-03-02 12:00:00", "endTime": "2026-03-02 13:00:00", "approvalResult": "2"})).await;
    let e = k.err("park.booking.cancel", json!({"orderNo": rej["orderno"]})).await;
    assert_eq!(e.code.0, 500);
    let c = k.ok("park.booking.create", json!({"licensePlate": "粤B4", "startTime": "2026-03-02 12:00:00", "endTime": "2026-03-02 13:00:00"})).await;
    k.ok("park.booking.cancel", json!({"orderNo": c["orderno"]})).await;
    k.ok("park.booking.cancel", json!({"orderNo": c["orderno"]})).await;
}

#[tokio::test]
async fn a_full_slot_refuses_another_booking() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let cfg = super::bookings::Config { booking_type: 2, charge: onecard_core::Fen::ZERO, valid_minutes: 30, allow_enter_times: 1, slots: vec![super::bookings::Slot { interval: "16:00-17:00".into(), capacity: 1 }] };
    super::bookings::put_config(k.ctx.store(), B, &cfg).await.unwrap();
    let ask = |p: &str| json!({"licensePlate": p, "startTime": "2026-03-02 16:00:00", "endTime": "2026-03-02 17:00:00", "timeInterval": "16:00-17:00"});
    k.ok("park.booking.create", ask("粤B5")).await;
    let e = k.err("park.booking.create", ask("粤B6")).await;
    assert_eq!(e.code.0, 500);
    assert!(e.message.contains("fully booked"), "{e}");
    // validBookingTime 30: the booking admits until 16:30 only.
    k.set_now("2026-03-02 16:31:00");
    let late = k.lane("粤B5", Lane::In).await;
    assert!(!late["hintText"].as_str().unwrap().contains("预约"), "{late}");
}

#[tokio::test]
async fn a_booking_with_need_lock_locks_its_car_from_its_entry() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.ok("park.booking.create", json!({"licensePlate": "粤N1", "startTime": "2026-03-02 12:00:00", "endTime": "2026-03-02 13:00:00", "needLock": "1"})).await;
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤N1"})).await["lockStatus"], "3", "not in the park yet");
    k.set_now("2026-03-02 12:05:00");
    k.enter("nl-1", "粤N1", "2026-03-02 12:05:00").await;
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤N1"})).await["lockStatus"], "1");
    assert_eq!(k.lane("粤N1", Lane::Out).await["passFlag"], "0", "held at the exit");
    k.ok("park.lockcar.cancel", json!({"licensePlate": "粤N1"})).await;
    assert_eq!(k.lane("粤N1", Lane::Out).await["passFlag"], "1");
}

#[tokio::test]
async fn a_lock_of_a_car_outside_waits_for_its_pending_booking_and_goes_with_its_cancel() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    assert_eq!(k.err("park.lockcar", json!({"licensePlate": "粤N2"})).await.code.0, 700);
    let bk = k.ok("park.booking.create", json!({"licensePlate": "粤N2", "startTime": "2026-03-02 14:00:00", "endTime": "2026-03-02 15:00:00", "needLock": "1"})).await;
    k.ok("park.booking.cancel", json!({"orderNo": bk["orderno"]})).await;
    k.enter("nl-2", "粤N2", "2026-03-02 12:01:00").await;
    assert_eq!(k.ok("park.lockcar.status.get", json!({"licensePlate": "粤N2"})).await["lockStatus"], "0", "the cancelled booking's lock went with it");

    k.ok("park.booking.create", json!({"licensePlate": "粤N3", "startTime": "2026-03-02 14:00:00", "endTime": "2026-03-02 15:00:00"})).await;
    k.ok("park.lockcar", json!({"licensePlate": "粤N3"})).await;
    k.ok("park.lockcar.confirm", json!({"licensePlate": "粤N3"})).await;
    k.set_now("2026-03-02 14:01:00");
    k.enter("nl-3", "粤N3", "2026-03-02 14:01:00").await;
    let st = k.ok("park.lockcar.status.get", json!({"licensePlate": "粤N3"})).await;
    assert_eq!((st["lockStatus"].as_str(), st["lockDate"].as_str()), (Some("1"), Some("2026-03-02 12:00:00")));
}

#[tokio::test]
async fn a_scan_with_check_waiting_car_pays_for_the_car_refused_at_that_lane() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    k.enter("w-1", "粤W00001", "2026-03-02 10:00:00").await;
    let scan = |extra: Value| {
        let mut v = json!({"deviceID": "2", "credentialType": "1", "openId": "o-payer"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    // Nobody refused at the lane yet: an openId alone names no car.
    assert_eq!(k.ok("park.out.notice", scan(json!({"checkWaitingCar": "true"}))).await["result"], "1");
    assert_eq!(k.lane("粤W00001", Lane::Out).await["passFlag"], "0");
    let due = k.ok("park.out.notice", scan(json!({"checkWaitingCar": "true"}))).await;
    assert_eq!((due["result"].as_str(), due["carno"].as_str()), (Some("255"), Some("粤W00001")), "{due}");
    assert_ne!(due["amount"], "0.00");
    let busy = k.ok("park.out.notice", scan(json!({"checkWaitingCar": true, "credential": "粤W00002"}))).await;
    assert_eq!(busy["result"], "3", "{busy}");
    // Without the flag the lane's car is not used.
    assert_eq!(k.ok("park.out.notice", scan(json!({}))).await["result"], "1");
}

#[tokio::test]
async fn pending_bookings_hold_spaces_until_their_car_enters_even_if_it_left_again() {
    let k = Kit::new("2026-03-02 12:00:00").await;
    let now = parse("2026-03-02 12:00:00").unwrap();
    k.ok("park.booking.create", json!({"licensePlate": "粤H1", "startTime": "2026-03-02 14:00:00", "endTime": "2026-03-02 15:00:00"})).await;
    k.ok("park.booking.create", json!({"licensePlate": "粤H2", "startTime": "2026-03-02 11:00:00", "endTime": "2026-03-02 13:00:00"})).await;
    k.ok("park.booking.create", json!({"licensePlate": "粤H3", "startTime": "2026-03-02 11:00:00", "endTime": "2026-03-02 13:00:00"})).await;
    assert_eq!(super::bookings::held_spaces(&k.ctx, B, now).await.unwrap(), 3);
    k.enter("h-2", "粤H2", "2026-03-02 11:10:00").await;
    k.ok("cat.upload.outdata", json!({"areaId": "1", "cardInId": "h-2", "licensePlate": "粤H2", "inDate": "2026-03-02 11:10:00", "outDate": "2026-03-02 11:30:00"})).await;
    // An entry before the booking's window is not its entry.
    k.enter("h-3", "粤H3", "2026-03-02 10:50:00").await;
    assert_eq!(super::bookings::held_spaces(&k.ctx, B, now).await.unwrap(), 2, "H1 (not started) and H3 (entered before its window)");
    let later = parse("2026-03-02 13:00:01").unwrap();
    assert_eq!(super::bookings::held_spaces(&k.ctx, B, later).await.unwrap(), 1, "an expired booking holds nothing");
}
