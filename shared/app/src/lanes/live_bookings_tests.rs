//! The live bookings index: it follows every booking write, the live read
//! skips what is over, a store written before it is migrated on first read,
//! and the read costs the live bookings only.

use super::bookings::{self, Booking, State};
use super::live_bookings;
use crate::keys;
use onecard_core::config;
use onecard_core::memstore::MemStore;
use onecard_core::store::{Cond, Item, ItemStore, Page, Query, StoreResult, Write};
use onecard_core::time::parse;
use onecard_core::Fen;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const B: &str = config::DEMO_BRANCH;

/// The in-memory store, yielding before every call (so that futures joined
/// in one task interleave at each round trip) and counting the items that
/// reads hand back.
#[derive(Default)]
struct Tally {
    mem: MemStore,
    items_read: AtomicU64,
}

impl Tally {
    fn read(&self, n: usize) {
        self.items_read.fetch_add(n as u64, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ItemStore for Tally {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        tokio::task::yield_now().await;
        let found = self.mem.get(pk, sk).await?;
        self.read(found.iter().count());
        Ok(found)
    }
    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        tokio::task::yield_now().await;
        let found = self.mem.get_many(keys).await?;
        self.read(found.iter().flatten().count());
        Ok(found)
    }
    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        tokio::task::yield_now().await;
        self.mem.put(item, cond).await
    }
    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        tokio::task::yield_now().await;
        self.mem.delete(pk, sk, cond).await
    }
    async fn query(&self, q: &Query) -> StoreResult<Page> {
        tokio::task::yield_now().await;
        let page = self.mem.query(q).await?;
        self.read(page.items.len());
        Ok(page)
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        tokio::task::yield_now().await;
        self.mem.transact(writes).await
    }
}

type Kit = crate::demo_ctx::DemoKit<Tally>;

impl Kit {
    async fn new() -> Kit {
        let k = Kit::over(Arc::new(Tally::default()), "livebk").await;
        assert_eq!(k.branch.branchno, B);
        k
    }

    async fn call(&self, route: &str, data: Value) -> Value {
        self.run(route, data).await.unwrap_or_else(|e| panic!("{route}: {e}")).data
    }

    async fn book(&self, plate: &str, start: &str, end: &str) -> String {
        let out = self.call("park.booking.create", json!({"licensePlate": plate, "startTime": start, "endTime": end})).await;
        out["orderno"].as_str().unwrap_or_else(|| panic!("no orderno in {out}")).to_string()
    }

    /// The index's entries (not its marker), in key order.
    async fn entries(&self) -> Vec<String> {
        let all = self.store.query_all(&Query::partition(keys::live_bookings(B))).await.unwrap();
        all.into_iter().map(|i| i.sk).filter(|sk| sk != "built").collect()
    }

    async fn built(&self) -> bool {
        self.store.get(&keys::live_bookings(B), "built").await.unwrap().is_some()
    }

    /// The live bookings' numbers, in number order.
    async fn live(&self, at: &str, plate: Option<&str>) -> Vec<String> {
        live_bookings::from(&self.ctx, B, parse(at).unwrap(), plate).await.unwrap().into_iter().map(|b| b.order_no).collect()
    }
}

fn booking(no: &str, plate: &str, start: &str, end: &str, state: State) -> Booking {
    Booking {
        order_no: no.into(),
        plate: plate.into(),
        plate_text: plate.into(),
        start: start.into(),
        end: end.into(),
        interval: None,
        controllers: Vec::new(),
        person_name: None,
        person_tel: None,
        identity_type: None,
        identity_no: None,
        photo_type: None,
        open_id: None,
        need_lock: false,
        state,
        charge: Fen::ZERO,
        allow_enter_times: 1,
        valid_minutes: 0,
        created_at: "2026-03-01 08:00:00".into(),
        fee_order: None,
        fee_paid: None,
    }
}

/// A booking as stores before the index held it: its item alone.
async fn put_old_way(store: &dyn ItemStore, b: &Booking) {
    store.put(Item::new(keys::bookings(B), &b.order_no, serde_json::to_value(b).unwrap()), Cond::MustNotExist).await.unwrap();
}

#[tokio::test]
async fn the_index_follows_create_update_cancel_and_reject() {
    let k = Kit::new().await;
    let a = k.book("粤L0001", "2026-03-02 13:00:00", "2026-03-02 14:00:00").await;
    assert_eq!(k.entries().await, vec![format!("20260302140000#{a}")]);

    // 6.101 moves the window, and the plate with it.
    let moved = json!({"orderno": a, "licensePlate": "粤L0009", "startTime": "2026-03-03 09:00:00", "endTime": "2026-03-03 10:30:00"});
    k.call("park.booking.update", moved).await;
    assert_eq!(k.entries().await, vec![format!("20260303103000#{a}")]);
    assert_eq!(k.live("2026-03-02 12:00:00", Some("粤L0009")).await, vec![a.clone()]);
    assert!(k.live("2026-03-02 12:00:00", Some("粤L0001")).await.is_empty(), "the old plate's entry went with the update");

    let c = k.book("粤L0002", "2026-03-02 15:00:00", "2026-03-02 16:00:00").await;
    k.call("park.booking.cancel", json!({"orderNo": c})).await;
    assert_eq!(k.entries().await, vec![format!("20260303103000#{a}")], "a cancelled booking leaves the index");

    let r = k.book("粤L0003", "2026-03-02 15:00:00", "2026-03-02 16:00:00").await;
    assert_eq!(k.entries().await.len(), 2);
    let reject = json!({"orderno": r, "licensePlate": "粤L0003", "startTime": "2026-03-02 15:00:00", "endTime": "2026-03-02 16:00:00", "approvalResult": 2});
    k.call("park.booking.update", reject).await;
    assert_eq!(k.entries().await, vec![format!("20260303103000#{a}")], "a rejected booking leaves the index");
    assert_eq!(k.live("2026-03-02 12:00:00", None).await, vec![a]);
}

#[tokio::test]
async fn a_booking_over_before_the_read_is_not_read() {
    let k = Kit::new().await;
    let past = k.book("粤P0001", "2026-03-02 08:00:00", "2026-03-02 11:59:59").await;
    let edge = k.book("粤P0002", "2026-03-02 08:00:00", "2026-03-02 12:00:00").await;
    let later = k.book("粤P0003", "2026-03-02 18:00:00", "2026-03-02 19:00:00").await;
    let mut both = vec![edge, later.clone()];
    both.sort();
    assert_eq!(k.live("2026-03-02 12:00:00", None).await, both, "ends at the read's second: still live");
    assert_eq!(k.live("2026-03-02 12:00:01", None).await, vec![later]);
    assert_eq!(k.live("2026-03-02 08:00:00", None).await.len(), 3);
    assert!(k.entries().await.iter().any(|sk| sk.ends_with(&past)), "nothing prunes: the range leaves it out");
}

/// Bookings of every kind, written the old way.
fn old_bookings() -> Vec<Booking> {
    let mut limited = booking("BK0005", "粤M0002", "2026-03-02 11:00:00", "2026-03-02 20:00:00", State::Booked);
    limited.valid_minutes = 30;
    let mut unreadable_end = booking("BK0006", "粤M0003", "2026-03-02 14:00:00", "later", State::Booked);
    unreadable_end.interval = Some("12:00-18:00".into());
    vec![
        booking("BK0001", "粤M0001", "2026-03-01 08:00:00", "2026-03-01 09:00:00", State::Booked),
        booking("BK0002", "粤M0001", "2026-03-02 11:00:00", "2026-03-02 13:00:00", State::Booked),
        booking("BK0003", "粤M0002", "2026-03-02 11:00:00", "2026-03-02 13:00:00", State::Cancelled),
        booking("BK0004", "粤M0002", "2026-03-02 14:00:00", "2026-03-02 15:00:00", State::Rejected),
        limited,
        unreadable_end,
        booking("BK0007", "粤M0004", "2026-03-04 08:00:00", "2026-03-04 09:00:00", State::Booked),
        booking("BK0008", "粤M0005", "never", "never", State::Booked),
    ]
}

#[tokio::test]
async fn a_store_without_the_index_is_migrated_on_first_read_and_answers_the_same() {
    let k = Kit::new().await;
    for b in old_bookings() {
        put_old_way(&*k.store, &b).await;
    }
    assert!(!k.built().await);
    let at = parse("2026-03-02 12:00:00").unwrap();
    let live = live_bookings::from(&k.ctx, B, at, None).await.unwrap();
    assert!(k.built().await);
    assert_eq!(
        k.entries().await,
        vec!["20260301090000#BK0001", "20260302113000#BK0005", "20260302130000#BK0002", "20260302140000#BK0006", "20260304090000#BK0007"],
        "booked ones only; an unreadable end is keyed by the start, nothing readable at all is left out"
    );
    // What the hot paths ask, from the index and from every booking.
    let all = bookings::list(&k.ctx, B).await.unwrap();
    for at in ["2026-03-01 08:30:00", "2026-03-02 11:20:00", "2026-03-02 12:00:00", "2026-03-02 13:00:01", "2026-03-05 00:00:00"] {
        let at = parse(at).unwrap();
        let live = live_bookings::from(&k.ctx, B, at, None).await.unwrap();
        let pending = |bs: &[Booking]| bs.iter().filter(|b| b.pending_at(at)).map(|b| b.order_no.clone()).collect::<Vec<_>>();
        let open = |bs: &[Booking], plate: &str| bs.iter().filter(|b| b.plate == plate && b.open_at(at)).map(|b| b.order_no.clone()).collect::<Vec<_>>();
        assert_eq!(pending(&live), pending(&all), "pending at {at}");
        for plate in ["粤M0001", "粤M0002", "粤M0004"] {
            let of_plate = live_bookings::from(&k.ctx, B, at, Some(plate)).await.unwrap();
            assert_eq!(open(&of_plate, plate), open(&all, plate), "open for {plate} at {at}");
        }
    }
    // The slot count reads from the day's start: a booking of the day is in.
    let day = live_bookings::from(&k.ctx, B, parse("2026-03-02 00:00:00").unwrap(), None).await.unwrap();
    let of_slot = day.iter().filter(|b| b.interval.as_deref() == Some("12:00-18:00")).count();
    assert_eq!(of_slot, 1);
    assert_eq!(live.iter().map(|b| b.order_no.as_str()).collect::<Vec<_>>(), ["BK0002", "BK0006", "BK0007"]);
}

/// Two first readers build the index while a writer cancels a booking they
/// may have read as booked: whatever the interleaving (the writer waits
/// 0..12 round trips), the index ends up exact and built once.
#[tokio::test]
async fn concurrent_first_readers_build_it_once_and_lose_no_write() {
    for delay in 0..12 {
        let k = Kit::new().await;
        let mut all = Vec::new();
        for i in 0..30 {
            let b = booking(&format!("BK{i:04}"), &format!("粤R{i:04}"), "2026-03-02 10:00:00", &format!("2026-03-02 {:02}:00:00", 13 + i % 8), State::Booked);
            put_old_way(&*k.store, &b).await;
            all.push(b);
        }
        let cancel = async {
            for _ in 0..delay {
                tokio::task::yield_now().await;
            }
            let (read, v) = bookings::get(&k.ctx, B, "BK0007").await.unwrap().unwrap();
            let cancelled = Booking { state: State::Cancelled, ..read.clone() };
            k.store.transact(cancelled.write_over(B, &read, v).unwrap()).await.unwrap();
        };
        let at = parse("2026-03-02 12:00:00").unwrap();
        let (a, b, ()) = tokio::join!(live_bookings::from(&k.ctx, B, at, None), live_bookings::from(&k.ctx, B, at, None), cancel);
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.len() >= 29 && b.len() >= 29, "either reader saw every other booking");
        let want: Vec<String> = {
            let mut w: Vec<String> = all.iter().filter(|b| b.order_no != "BK0007").map(|b| format!("{}#{}", b.window_end().unwrap().format("%Y%m%d%H%M%S"), b.order_no)).collect();
            w.sort();
            w
        };
        assert_eq!(k.entries().await, want, "delay {delay}");
        assert_eq!(live_bookings::from(&k.ctx, B, at, None).await.unwrap().len(), 29);
    }
}

/// The point of the index: a year of bookings behind, three ahead; the live
/// read hands back the three, their entries and the marker, nothing else.
#[tokio::test]
async fn the_live_read_reads_the_live_bookings_only() {
    let k = Kit::new().await;
    let mut writes = Vec::new();
    for i in 0..2000 {
        let day = parse("2025-03-01 00:00:00").unwrap().date() + chrono::Duration::days(i / 6);
        let state = if i % 2 == 0 { State::Booked } else { State::Cancelled };
        let b = booking(&format!("BK{i:05}"), &format!("粤Y{i:05}"), &format!("{day} 09:00:00"), &format!("{day} 10:00:00"), state);
        writes.extend(b.write_new(B).unwrap());
    }
    for w in writes.chunks(24) {
        k.store.transact(w.to_vec()).await.unwrap();
    }
    for (i, plate) in ["粤Z0001", "粤Z0002", "粤Z0003"].iter().enumerate() {
        k.book(plate, &format!("2026-03-0{} 09:00:00", 2 + i), &format!("2026-03-0{} 18:00:00", 2 + i)).await;
    }
    assert_eq!(k.entries().await.len(), 1003, "the ended but booked ones keep their entries: the range skips them");
    live_bookings::build(&k.ctx, B).await.unwrap();
    k.store.items_read.store(0, Ordering::SeqCst);
    let live = live_bookings::from(&k.ctx, B, parse("2026-03-02 12:00:00").unwrap(), None).await.unwrap();
    let mut plates: Vec<&str> = live.iter().map(|b| b.plate.as_str()).collect();
    plates.sort();
    assert_eq!(plates, ["粤Z0001", "粤Z0002", "粤Z0003"]);
    assert_eq!(k.store.items_read.load(Ordering::SeqCst), 3 + 1 + 3, "3 entries, the marker, 3 bookings");
    // And what 6.3 and the lane decision ask reads no more than that.
    k.store.items_read.store(0, Ordering::SeqCst);
    let held = bookings::held_spaces(&k.ctx, B, parse("2026-03-02 12:00:00").unwrap()).await.unwrap();
    assert_eq!(held, 3);
    assert!(k.store.items_read.load(Ordering::SeqCst) < 20, "{} items read for 6.3", k.store.items_read.load(Ordering::SeqCst));
    assert_eq!(bookings::list(&k.ctx, B).await.unwrap().len(), 2003, "the history stays");
}
