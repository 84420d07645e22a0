//! 9.1/9.2 refusals the typed inputs add, and what a passage keeps.

use crate::park::hardware::tests::{call, ctx_with, FakeSites};
use onecard_core::store::Query;
use serde_json::json;

#[tokio::test]
async fn upload_times_outside_the_century_are_refused() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    let e = call(&ctx, "cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "粤A1", "inDate": "9999-12-31 00:00:00"})).await.unwrap_err();
    assert_eq!(e.code.0, 100001);
    assert!(e.message.contains("'inDate'"), "{}", e.message);
    let e = call(&ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "1", "outDate": "1999-12-31 23:59:59"})).await.unwrap_err();
    assert!(e.message.contains("'outDate'"), "{}", e.message);
    let e = call(&ctx, "cat.upload.indata", json!({"areaId": "1", "cardInId": "1", "licensePlate": "粤A1", "inDate": "2026-03-02 09:00:00", "sourceType": 3})).await.unwrap_err();
    assert!(e.message.contains("'sourceType'"), "{}", e.message);
}

#[tokio::test]
async fn a_door_passage_keeps_the_whole_record() {
    let (ctx, _) = ctx_with(FakeSites::ok()).await;
    let rec = json!({"areaId": "1", "cardInId": "D1", "cardNo": "0001", "inDate": "2026-03-02 09:00:00", "sourceType": "1", "username": "张三", "openmode": "3"});
    let r = call(&ctx, "cat.upload.indata", rec).await.unwrap();
    assert_eq!(r.data, json!({}));
    let rows = ctx.store.query_all(&Query::partition(crate::keys::passages("1001"))).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sk, "1#D1#in");
    let kept = &rows[0].body["record"];
    assert_eq!((kept["cardNo"].as_str(), kept["username"].as_str(), kept["openmode"].as_str()), (Some("0001"), Some("张三"), Some("3")));
    assert_eq!(rows[0].body["sourceType"], json!(1));
}

mod pictures_and_fidelity {
    use crate::park::hardware::tests::call;
    use crate::pictures::tests::jpeg;
    use base64::Engine;
    use onecard_adapters::embedded_queue::EmbeddedQueue;
    use onecard_adapters::sqlite_store::SqliteStore;
    use onecard_core::blob::{picture_key, sha256_hex, BlobStore, MemBlobs};
    use onecard_core::queue::EventQueue;
    use onecard_core::sitelink::NoSites;
    use onecard_core::store::{Cond, Item, ItemStore, Page, Query, StoreError, StoreResult, Write};
    use onecard_core::time::SystemClock;
    use onecard_core::{config, Ctx, Ports};
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// A store that remembers every item written and can be told to fail writes.
    struct Spy {
        inner: SqliteStore,
        written: Mutex<Vec<Item>>,
        fail_writes: AtomicBool,
    }

    impl Spy {
        fn check(&self) -> StoreResult<()> {
            match self.fail_writes.load(Ordering::SeqCst) {
                true => Err(StoreError::Backend("throttled".into())),
                false => Ok(()),
            }
        }
    }

    #[async_trait::async_trait]
    impl ItemStore for Spy {
        async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
            self.inner.get(pk, sk).await
        }
        async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
            self.check()?;
            self.written.lock().unwrap().push(item.clone());
            self.inner.put(item, cond).await
        }
        async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
            self.check()?;
            self.inner.delete(pk, sk, cond).await
        }
        async fn query(&self, q: &Query) -> StoreResult<Page> {
            self.inner.query(q).await
        }
        async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
            self.check()?;
            for w in &writes {
                if let Write::Put { item, .. } = w {
                    self.written.lock().unwrap().push(item.clone());
                }
            }
            self.inner.transact(writes).await
        }
    }

    struct Site {
        ctx: Ctx,
        spy: Arc<Spy>,
        queue: Arc<EmbeddedQueue>,
        blobs: Arc<MemBlobs>,
    }

    async fn site() -> Site {
        let dir = crate::park::hardware::tests::temp_dir("pics");
        let spy = Arc::new(Spy { inner: SqliteStore::open(&dir.join("s.db")).unwrap(), written: Mutex::new(Vec::new()), fail_writes: AtomicBool::new(false) });
        let queue = Arc::new(EmbeddedQueue::open(&dir.join("q.db")).unwrap());
        config::seed_demo(&*spy).await.unwrap();
        let q: Arc<dyn EventQueue> = queue.clone();
        let blobs = MemBlobs::new();
        let ctx = Ctx::new(Ports { store: spy.clone(), queue: q, sites: Arc::new(NoSites), clock: Arc::new(SystemClock) }).with_blobs(blobs.clone());
        crate::seed_demo(&ctx).await.unwrap();
        Site { ctx, spy, queue, blobs }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn entry(id: &str, plate: &str, extra: Value) -> Value {
        let mut v = json!({"areaId": "1", "cardInId": id, "licensePlate": plate, "inDate": "2026-03-02 09:00:00", "gateno": "C0000001"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    }

    async fn queued(q: &EmbeddedQueue) -> Vec<onecard_core::queue::OutEvent> {
        q.receive(100, Duration::from_millis(50)).await.unwrap().into_iter().map(|r| r.event).collect()
    }

    #[tokio::test]
    async fn records_and_outbox_events_hold_picture_keys_never_pictures() {
        let s = site().await;
        let (pin, pout, pdoor) = (jpeg(40_000), jpeg(30_000), jpeg(20_000));
        call(&s.ctx, "cat.upload.indata", entry("P1", "粤B10001", json!({"image": b64(&pin)}))).await.unwrap();
        call(&s.ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "P1", "outDate": "2026-03-02 10:00:00", "picture": b64(&pout)})).await.unwrap();
        let door = json!({"areaId": "1", "cardInId": "D9", "cardNo": "0001", "inDate": "2026-03-02 09:00:00", "sourceType": "1", "plateImage": b64(&pdoor)});
        call(&s.ctx, "cat.upload.indata", door).await.unwrap();
        let keys: Vec<String> = [&pin, &pout, &pdoor].iter().map(|p| picture_key("1001", &sha256_hex(p))).collect();
        let mut stored = s.blobs.keys();
        stored.sort();
        let mut want = keys.clone();
        want.sort();
        assert_eq!(stored, want);
        // Nothing written to the store and nothing queued carries a picture.
        let written: Vec<String> = s.spy.written.lock().unwrap().iter().map(|i| i.body.to_string()).collect();
        let events: Vec<String> = queued(&s.queue).await.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        for text in written.iter().chain(events.iter()) {
            for p in [&pin, &pout, &pdoor] {
                assert!(!text.contains(&b64(p)[..64]), "a picture in {}", &text[..text.len().min(200)]);
            }
            assert!(text.len() < 8_000, "an oversized item: {}", &text[..200]);
        }
        // ... but they name the pictures.
        let all = written.join("\n") + &events.join("\n");
        for k in &keys {
            assert!(all.contains(k.as_str()), "{k} not referenced");
        }
    }

    #[tokio::test]
    async fn an_agents_image_key_is_kept_and_read_back_by_6_9_and_6_10_with_getphoto() {
        let s = site().await;
        let pic = jpeg(1234);
        let key = picture_key("1001", &sha256_hex(&pic));
        s.blobs.put(&key, pic.clone(), "image/jpeg").await.unwrap();
        // The agent may send the bare sha or the key the upload answered.
        call(&s.ctx, "cat.upload.indata", entry("K1", "粤B20002", json!({"imageKey": sha256_hex(&pic)}))).await.unwrap();
        let r = call(&s.ctx, "park.in.info", json!({"credential": "粤B20002", "getphoto": "1"})).await.unwrap();
        assert_eq!(r.data[0]["photoin"], b64(&pic));
        let r = call(&s.ctx, "park.in.info", json!({"credential": "粤B20002"})).await.unwrap();
        assert!(r.data[0].get("photoin").is_none());
        let out = jpeg(999);
        call(&s.ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "K1", "outDate": "2026-03-02 10:00:00", "image": b64(&out)})).await.unwrap();
        let r = call(&s.ctx, "park.out.info", json!({"credential": "粤B20002", "starttime": "2026-03-02 00:00:00", "getphoto": 1})).await.unwrap();
        assert_eq!((r.data[0]["photoin"].as_str(), r.data[0]["photoout"].as_str()), (Some(b64(&pic).as_str()), Some(b64(&out).as_str())));
    }

    #[tokio::test]
    async fn a_bad_or_oversized_picture_is_refused_but_its_record_is_kept() {
        let s = site().await;
        let big = b64(&jpeg(onecard_core::blob::MAX_PICTURE_BYTES + 1));
        call(&s.ctx, "cat.upload.indata", entry("B1", "粤B30003", json!({"image": big}))).await.unwrap();
        call(&s.ctx, "cat.upload.indata", entry("B2", "粤B30004", json!({"image": "not base64 at all!"}))).await.unwrap();
        call(&s.ctx, "cat.upload.indata", entry("B3", "粤B30005", json!({"imageKey": "pictures/9999/whatever"}))).await.unwrap();
        assert!(s.blobs.keys().is_empty());
        for id in ["B1", "B2", "B3"] {
            let (stay, _) = crate::park::stays::get(&s.ctx, "1001", id).await.unwrap().expect(id);
            assert_eq!(stay.photo_in, None);
        }
        // No 13.7 for a picture that was not kept.
        assert!(queued(&s.queue).await.iter().all(|e| e.route != "report/parkInOutImage"));
    }

    #[tokio::test]
    async fn an_exit_with_an_unknown_card_in_id_is_kept_as_history_and_answered_success() {
        let s = site().await;
        let r = call(&s.ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "NEVER", "outDate": "2026-03-02 10:00:00"})).await.unwrap();
        assert_eq!(r.data, json!({}));
        let rows = s.ctx.store.query_all(&Query::partition(crate::keys::passages("1001"))).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].sk, "0#NEVER#unmatched-out");
        // The site's retry is answered alike.
        assert!(call(&s.ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "NEVER", "outDate": "2026-03-02 10:00:00"})).await.is_ok());
    }

    #[tokio::test]
    async fn an_exit_from_an_unconfigured_area_still_closes_the_stay() {
        let s = site().await;
        call(&s.ctx, "cat.upload.indata", entry("A1", "粤B40004", json!({}))).await.unwrap();
        let r = call(&s.ctx, "cat.upload.outdata", json!({"areaId": "77", "cardInId": "A1", "outDate": "2026-03-02 10:00:00"})).await.unwrap();
        assert_eq!(r.data, Value::Null);
        let (stay, _) = crate::park::stays::get(&s.ctx, "1001", "A1").await.unwrap().unwrap();
        assert_eq!(stay.state, crate::park::stays::StayState::Left);
        // Entries still need a configured area.
        let e = call(&s.ctx, "cat.upload.indata", json!({"areaId": "77", "cardInId": "A2", "licensePlate": "粤B1", "inDate": "2026-03-02 09:00:00"})).await.unwrap_err();
        assert!(e.message.contains("'areaId'"), "{}", e.message);
    }

    #[tokio::test]
    async fn an_upload_the_store_cannot_write_answers_520_so_the_site_retries() {
        let s = site().await;
        s.spy.fail_writes.store(true, Ordering::SeqCst);
        let e = call(&s.ctx, "cat.upload.indata", entry("F1", "粤B50005", json!({}))).await.unwrap_err();
        assert_eq!(e.code.0, 520, "{e:?}");
        let e = call(&s.ctx, "cat.upload.outdata", json!({"areaId": "1", "cardInId": "F1", "outDate": "2026-03-02 10:00:00"})).await.unwrap_err();
        assert_eq!(e.code.0, 520, "{e:?}");
        // Bad input is still 100001, not 520.
        let e = call(&s.ctx, "cat.upload.indata", json!({"areaId": "1", "cardInId": "F2", "inDate": "2026-03-02 09:00:00"})).await.unwrap_err();
        assert_eq!(e.code.0, 100001);
        s.spy.fail_writes.store(false, Ordering::SeqCst);
        call(&s.ctx, "cat.upload.indata", entry("F1", "粤B50005", json!({}))).await.unwrap();
    }
}
