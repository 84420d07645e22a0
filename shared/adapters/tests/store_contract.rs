//! One contract, two stores: every case runs against SqliteStore and against
//! DynamoStore on DynamoDB Local (ONECARD_DYNAMODB_ENDPOINT).

mod common;

use onecard_adapters::{DynamoStore, SqliteStore};
use onecard_core::store::{now_unix, Cond, Item, ItemStore, Query, StoreError, Write};
use serde_json::json;
use std::sync::{Arc, OnceLock};

type Store = Arc<dyn ItemStore>;

async fn open_sqlite() -> Option<Store> {
    let path = common::temp_dir("store").join("data").join("onecard.db");
    Some(Arc::new(SqliteStore::open(&path).expect("open sqlite store")))
}

/// One fresh table per test run; cases keep apart by using unique partition keys.
async fn open_dynamodb() -> Option<Store> {
    static TABLE: OnceLock<String> = OnceLock::new();
    let endpoint = common::endpoint(
        "ONECARD_DYNAMODB_ENDPOINT",
        "ONECARD_SKIP_DYNAMODB",
        "infra/scripts/dynamodb-local.sh",
    )?;
    let table = TABLE.get_or_init(|| common::unique("onecard-contract"));
    let store = DynamoStore::new(onecard_adapters::emulator::dynamodb_client(&endpoint), table.as_str());
    store.create_table().await.expect("create table");
    store.warm().await.expect("describe table");
    Some(Arc::new(store))
}

mod cases {
    use super::*;

    pub async fn crud(s: Store) {
        let pk = common::unique("crud");
        assert_eq!(s.get(&pk, "a").await.unwrap(), None);
        let item = Item::new(&pk, "a", json!({"name": "x", "n": 1, "nested": {"k": [1, 2]}}));
        s.put(item.clone(), Cond::None).await.unwrap();
        assert_eq!(s.get(&pk, "a").await.unwrap(), Some(item.clone()));
        let newer = Item::new(&pk, "a", json!({"name": "y"})).with_version(7).with_ttl(now_unix() + 3600);
        s.put(newer.clone(), Cond::None).await.unwrap();
        assert_eq!(s.get(&pk, "a").await.unwrap(), Some(newer));
        assert_eq!(s.get(&pk, "b").await.unwrap(), None);
        s.delete(&pk, "a", Cond::None).await.unwrap();
        assert_eq!(s.get(&pk, "a").await.unwrap(), None);
        s.delete(&pk, "a", Cond::None).await.expect("deleting a missing item is not an error");
    }

    pub async fn conditions(s: Store) {
        let pk = common::unique("cond");
        let v1 = Item::new(&pk, "k", json!({"v": 1}));
        s.put(v1.clone(), Cond::MustNotExist).await.unwrap();
        assert_eq!(s.put(v1.clone(), Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
        s.put(v1.clone(), Cond::MustExist).await.unwrap();
        let missing = Item::new(&pk, "missing", json!({}));
        assert_eq!(s.put(missing.clone(), Cond::MustExist).await, Err(StoreError::ConditionFailed));
        assert_eq!(s.put(missing, Cond::VersionIs(1)).await, Err(StoreError::ConditionFailed));
        assert_eq!(s.get(&pk, "missing").await.unwrap(), None);

        let v2 = Item::new(&pk, "k", json!({"v": 2})).with_version(2);
        s.put(v2.clone(), Cond::VersionIs(1)).await.unwrap();
        assert_eq!(s.put(v2.clone(), Cond::VersionIs(1)).await, Err(StoreError::ConditionFailed));
        assert_eq!(s.get(&pk, "k").await.unwrap(), Some(v2));

        assert_eq!(s.delete(&pk, "k", Cond::VersionIs(1)).await, Err(StoreError::ConditionFailed));
        assert!(s.get(&pk, "k").await.unwrap().is_some());
        assert_eq!(s.delete(&pk, "gone", Cond::MustExist).await, Err(StoreError::ConditionFailed));
        s.delete(&pk, "k", Cond::VersionIs(2)).await.unwrap();
        assert_eq!(s.get(&pk, "k").await.unwrap(), None);
        assert_eq!(s.delete(&pk, "k", Cond::MustExist).await, Err(StoreError::ConditionFailed));
    }

    /// Returns (successes, condition failures) of 16 racing writers.
    async fn race(s: &Store, make: impl Fn(usize) -> (Item, Cond)) -> (Vec<usize>, usize) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let (s, (item, cond)) = (s.clone(), make(i));
            tasks.spawn(async move { (i, s.put(item, cond).await) });
        }
        let (mut won, mut lost) = (Vec::new(), 0);
        while let Some(res) = tasks.join_next().await {
            match res.expect("task") {
                (i, Ok(())) => won.push(i),
                (_, Err(StoreError::ConditionFailed)) => lost += 1,
                (_, Err(e)) => panic!("unexpected error in race: {e}"),
            }
        }
        (won, lost)
    }

    pub async fn concurrent_create(s: Store) {
        let pk = common::unique("race-create");
        let (won, lost) = race(&s, |i| (Item::new(&pk, "k", json!({"writer": i})), Cond::MustNotExist)).await;
        assert_eq!((won.len(), lost), (1, 15));
        let stored = s.get(&pk, "k").await.unwrap().unwrap();
        assert_eq!(stored.body, json!({"writer": won[0]}));
    }

    pub async fn concurrent_version(s: Store) {
        let pk = common::unique("race-version");
        s.put(Item::new(&pk, "k", json!({"writer": null})), Cond::None).await.unwrap();
        let (won, lost) = race(&s, |i| {
            (Item::new(&pk, "k", json!({"writer": i})).with_version(2), Cond::VersionIs(1))
        })
        .await;
        assert_eq!((won.len(), lost), (1, 15));
        let stored = s.get(&pk, "k").await.unwrap().unwrap();
        assert_eq!((stored.version, stored.body), (2, json!({"writer": won[0]})));
    }

    pub async fn transact_all_or_nothing(s: Store) {
        let pk = common::unique("tx");
        s.put(Item::new(&pk, "existing", json!({"n": 0})), Cond::None).await.unwrap();
        let failing = vec![
            Write::put(Item::new(&pk, "a", json!({})), Cond::MustNotExist),
            Write::delete(&pk, "existing", Cond::VersionIs(1)),
            Write::check(&pk, "absent", Cond::MustExist),
            Write::put(Item::new(&pk, "b", json!({})), Cond::None),
        ];
        assert_eq!(
            s.transact(failing).await,
            Err(StoreError::TransactionCancelled { index: Some(2) })
        );
        assert_eq!(s.get(&pk, "a").await.unwrap(), None);
        assert_eq!(s.get(&pk, "b").await.unwrap(), None);
        assert!(s.get(&pk, "existing").await.unwrap().is_some());

        let first_fails = vec![
            Write::put(Item::new(&pk, "existing", json!({})), Cond::MustNotExist),
            Write::put(Item::new(&pk, "a", json!({})), Cond::None),
        ];
        let err = s.transact(first_fails).await.unwrap_err();
        assert_eq!(err, StoreError::TransactionCancelled { index: Some(0) });
        assert!(err.is_conflict());
        assert_eq!(s.get(&pk, "a").await.unwrap(), None);

        let ok = vec![
            Write::put(Item::new(&pk, "a", json!({"n": 1})), Cond::MustNotExist),
            Write::put(Item::new(&pk, "existing", json!({"n": 2})).with_version(2), Cond::VersionIs(1)),
            Write::check(&pk, "absent", Cond::MustNotExist),
            Write::check(&pk, "a-check", Cond::None),
        ];
        s.transact(ok).await.unwrap();
        assert_eq!(s.get(&pk, "a").await.unwrap().unwrap().body, json!({"n": 1}));
        assert_eq!(s.get(&pk, "existing").await.unwrap().unwrap().version, 2);
        assert_eq!(s.get(&pk, "absent").await.unwrap(), None);

        s.transact(vec![
            Write::delete(&pk, "a", Cond::MustExist),
            Write::delete(&pk, "existing", Cond::VersionIs(2)),
        ])
        .await
        .unwrap();
        assert!(s.query_all(&Query::partition(&pk)).await.unwrap().is_empty());
    }

    pub async fn transact_shape(s: Store) {
        let pk = common::unique("tx-shape");
        let puts = |n: usize| -> Vec<Write> {
            (0..n).map(|i| Write::put(Item::new(&pk, format!("{i:02}"), json!(i)), Cond::None)).collect()
        };
        assert!(matches!(s.transact(puts(26)).await, Err(StoreError::Invalid(_))));
        assert!(s.query_all(&Query::partition(&pk)).await.unwrap().is_empty());
        assert!(matches!(s.transact(vec![]).await, Err(StoreError::Invalid(_))));
        let dup = vec![
            Write::put(Item::new(&pk, "same", json!(1)), Cond::None),
            Write::check(&pk, "same", Cond::None),
        ];
        assert!(matches!(s.transact(dup).await, Err(StoreError::Invalid(_))));
        assert_eq!(s.get(&pk, "same").await.unwrap(), None);
        s.transact(puts(25)).await.unwrap();
        assert_eq!(s.query_all(&Query::partition(&pk)).await.unwrap().len(), 25);
    }

    async fn seed(s: &Store, pk: &str) {
        for i in 0..30 {
            s.put(Item::new(pk, format!("item#{i:02}"), json!({"i": i})), Cond::None).await.unwrap();
        }
        for sk in ["a-before", "itemz", "zz-after"] {
            s.put(Item::new(pk, sk, json!({"other": true})), Cond::None).await.unwrap();
        }
    }

    fn sks(items: &[Item]) -> Vec<String> {
        items.iter().map(|i| i.sk.clone()).collect()
    }

    fn expected(range: impl Iterator<Item = usize>) -> Vec<String> {
        range.map(|i| format!("item#{i:02}")).collect()
    }

    pub async fn query_ranges(s: Store) {
        let pk = common::unique("query");
        seed(&s, &pk).await;
        let all = s.query_all(&Query::prefix(&pk, "item#")).await.unwrap();
        assert_eq!(sks(&all), expected(0..30));
        assert_eq!(all[3].body, json!({"i": 3}));
        let back = s.query_all(&Query::prefix(&pk, "item#").backward()).await.unwrap();
        assert_eq!(sks(&back), expected((0..30).rev()));
        let between = s.query_all(&Query::between(&pk, "item#05", "item#09")).await.unwrap();
        assert_eq!(sks(&between), expected(5..10));
        let between_back =
            s.query_all(&Query::between(&pk, "item#05", "item#09").backward()).await.unwrap();
        assert_eq!(sks(&between_back), expected((5..10).rev()));
        let whole = s.query_all(&Query::partition(&pk)).await.unwrap();
        assert_eq!(whole.len(), 33);
        assert_eq!((whole[0].sk.as_str(), whole[32].sk.as_str()), ("a-before", "zz-after"));
        let none = s.query_all(&Query::prefix(&pk, "nothing")).await.unwrap();
        assert!(none.is_empty());
        let other = s.query_all(&Query::prefix(common::unique("empty"), "")).await.unwrap();
        assert!(other.is_empty());

        let first = s.query(&Query::prefix(&pk, "item#").limit(7)).await.unwrap();
        assert_eq!(sks(&first.items), expected(0..7));
        assert!(first.cursor.is_some());
        let last = s.query(&Query::prefix(&pk, "item#").backward().limit(3)).await.unwrap();
        assert_eq!(sks(&last.items), expected((27..30).rev()));
        let capped = s.query_all(&Query::prefix(&pk, "item#").limit(12)).await.unwrap();
        assert_eq!(sks(&capped), expected(0..12));
    }

    /// Pages by hand: every item once, in order, whatever page the store ends on.
    async fn pages(s: &Store, q: Query) -> (Vec<String>, usize) {
        let (mut seen, mut n, mut q) = (Vec::new(), 0, q);
        loop {
            let page = s.query(&q).await.unwrap();
            assert!(page.items.len() <= q.limit.unwrap_or(usize::MAX));
            n += 1;
            assert!(n <= 10, "paging does not end");
            seen.extend(sks(&page.items));
            match page.cursor {
                Some(c) => q = q.after(Some(c)),
                None => return (seen, n),
            }
        }
    }

    pub async fn query_paging(s: Store) {
        let pk = common::unique("paging");
        seed(&s, &pk).await;
        let (fwd, n) = pages(&s, Query::prefix(&pk, "item#").limit(10)).await;
        assert_eq!(fwd, expected(0..30));
        assert!((3..=4).contains(&n), "{n} pages");
        let (back, _) = pages(&s, Query::prefix(&pk, "item#").backward().limit(8)).await;
        assert_eq!(back, expected((0..30).rev()));
        let (mid, _) = pages(&s, Query::between(&pk, "item#10", "item#19").limit(4)).await;
        assert_eq!(mid, expected(10..20));
        let bad = s.query(&Query::prefix(&pk, "item#").after(Some("%%%".into()))).await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    }

    pub async fn get_many(s: Store) {
        let pk = common::unique("many");
        let now = now_unix();
        s.put(Item::new(&pk, "a", json!(1)), Cond::None).await.unwrap();
        s.put(Item::new(&pk, "b", json!(2)).with_version(4), Cond::None).await.unwrap();
        s.put(Item::new(&pk, "old", json!(3)).with_ttl(now - 10), Cond::None).await.unwrap();
        let key = |sk: &str| (pk.clone(), sk.to_string());
        let got = s.get_many(&[key("b"), key("missing"), key("old"), key("a"), key("b")]).await.unwrap();
        let seen: Vec<Option<(String, u64)>> = got.iter().map(|i| i.as_ref().map(|i| (i.sk.clone(), i.version))).collect();
        assert_eq!(
            seen,
            vec![Some(("b".into(), 4)), None, None, Some(("a".into(), 1)), Some(("b".into(), 4))],
            "in the order asked; absent and expired are None; a repeated key answers twice"
        );
        assert_eq!(s.get_many(&[]).await.unwrap(), Vec::<Option<Item>>::new());
        // More keys than DynamoDB takes in one BatchGetItem.
        let keys: Vec<(String, String)> = (0..130).map(|i| key(&format!("k{i:03}"))).collect();
        for k in keys.iter().step_by(3) {
            s.put(Item::new(&k.0, &k.1, json!(k.1)), Cond::None).await.unwrap();
        }
        let got = s.get_many(&keys).await.unwrap();
        assert_eq!(got.len(), 130);
        for (i, (k, g)) in keys.iter().zip(&got).enumerate() {
            assert_eq!(g.as_ref().map(|g| g.body.clone()), (i % 3 == 0).then(|| json!(k.1)), "{}", k.1);
        }
    }

    pub async fn ttl_expiry(s: Store) {
        let pk = common::unique("ttl");
        let now = now_unix();
        s.put(Item::new(&pk, "expired", json!(1)).with_ttl(now - 10), Cond::None).await.unwrap();
        s.put(Item::new(&pk, "live", json!(2)).with_ttl(now + 3600), Cond::None).await.unwrap();
        s.put(Item::new(&pk, "forever", json!(3)), Cond::None).await.unwrap();
        assert_eq!(s.get(&pk, "expired").await.unwrap(), None);
        assert_eq!(s.get(&pk, "live").await.unwrap().unwrap().ttl, Some(now + 3600));
        let seen = sks(&s.query_all(&Query::partition(&pk)).await.unwrap());
        assert_eq!(seen, vec!["forever", "live"]);
        let paged = sks(&s.query_all(&Query::partition(&pk).limit(1)).await.unwrap());
        assert_eq!(paged, vec!["forever"]);

        // An expired item behaves as absent for conditions too (a lapsed lease is retakable).
        assert_eq!(s.put(Item::new(&pk, "expired", json!(0)), Cond::MustExist).await, Err(StoreError::ConditionFailed));
        assert_eq!(s.put(Item::new(&pk, "expired", json!(0)), Cond::VersionIs(1)).await, Err(StoreError::ConditionFailed));
        s.put(Item::new(&pk, "expired", json!(4)), Cond::MustNotExist).await.unwrap();
        assert_eq!(s.get(&pk, "expired").await.unwrap().unwrap().body, json!(4));
        assert_eq!(s.put(Item::new(&pk, "live", json!(0)), Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
    }

    /// The replay memory's two lighter writes: a claim decided (a taken key
    /// refused, racing claimers one winner) and an answer put behind, seen by
    /// the next write and the next read of whoever wrote it.
    pub async fn decided_and_behind(s: Store) {
        let pk = common::unique("claim");
        s.put_decided(Item::new(&pk, "r", json!({})), Cond::MustNotExist).await.unwrap();
        assert_eq!(s.put_decided(Item::new(&pk, "r", json!({})), Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
        s.put_behind(Item::new(&pk, "r", json!({"answer": 1}))).await.unwrap();
        assert_eq!(s.put(Item::new(&pk, "r", json!({})), Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
        // Read on another connection: written by the time it is polled for.
        let mut seen = None;
        for _ in 0..100 {
            seen = s.get(&pk, "r").await.unwrap().map(|i| i.body);
            if seen == Some(json!({"answer": 1})) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(seen, Some(json!({"answer": 1})));

        let racing: Vec<_> = (0..16)
            .map(|_| {
                let (s, pk) = (s.clone(), pk.clone());
                tokio::spawn(async move { s.put_decided(Item::new(&pk, "race", json!({})), Cond::MustNotExist).await.is_ok() })
            })
            .collect();
        let mut won = 0;
        for r in racing {
            won += r.await.unwrap() as usize;
        }
        assert_eq!(won, 1, "one claimer wins");
    }
}

macro_rules! contract {
    ($backend:ident, $open:ident) => {
        mod $backend {
            use super::*;
            contract!(@case $open, crud, conditions, concurrent_create, concurrent_version,
                transact_all_or_nothing, transact_shape, query_ranges, query_paging, ttl_expiry, get_many, decided_and_behind);
        }
    };
    (@case $open:ident, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(store) = $open().await {
                    cases::$case(store).await;
                }
            }
        )*
    };
}

contract!(sqlite, open_sqlite);
contract!(dynamodb, open_dynamodb);

/// SQLite specifics: durability across reopening and sharing the file with
/// another process (an admin command opens its own connection).
mod sqlite_file {
    use super::*;

    #[tokio::test]
    async fn survives_reopening() {
        let path = common::temp_dir("reopen").join("onecard.db");
        let item = Item::new("p", "s", json!({"kept": true})).with_version(3);
        {
            let s = SqliteStore::open(&path).unwrap();
            s.put(item.clone(), Cond::MustNotExist).await.unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.get("p", "s").await.unwrap(), Some(item.clone()));
        assert_eq!(s.put(item, Cond::MustNotExist).await, Err(StoreError::ConditionFailed));
    }

    /// Concurrent writers share fsyncs (fewer group transactions than
    /// writes), and every condition is still judged against the writes before
    /// it: of 16 racing creations of one key exactly one wins, per key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn group_commit_shares_transactions_and_keeps_conditions() {
        let path = common::temp_dir("group").join("onecard.db");
        let s = Arc::new(SqliteStore::open(&path).unwrap());
        let before = s.group_commits();
        let tasks: Vec<_> = (0..128)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let key = format!("k{}", i % 8);
                    s.put(Item::new("race", key, json!(i)), Cond::MustNotExist).await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => won += 1,
                Err(e) => assert_eq!(e, StoreError::ConditionFailed),
            }
        }
        assert_eq!(won, 8, "one winner per key");
        let commits = s.group_commits() - before;
        assert!(commits < 128, "128 writes took {commits} transactions: no grouping");
        // What was answered is what a fresh handle reads from the file.
        let other = SqliteStore::open(&path).unwrap();
        assert_eq!(other.query_all(&Query::partition("race")).await.unwrap().len(), 8);
    }

    /// A refused request inside a group is rolled back alone: the other
    /// requests of the same group keep their writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_refused_request_does_not_undo_its_group() {
        let path = common::temp_dir("group-refused").join("onecard.db");
        let s = Arc::new(SqliteStore::open(&path).unwrap());
        s.put(Item::new("g", "taken", json!(0)), Cond::None).await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut writes = vec![Write::put(Item::new("g", format!("w{i}"), json!(i)), Cond::MustNotExist)];
                    if i % 2 == 1 {
                        // Odd requests also claim a taken key: all of them is refused.
                        writes.push(Write::put(Item::new("g", "taken", json!(i)), Cond::MustNotExist));
                    }
                    (i, s.transact(writes).await)
                })
            })
            .collect();
        for t in tasks {
            let (i, r) = t.await.unwrap();
            assert_eq!(r.is_ok(), i % 2 == 0, "request {i}: {r:?}");
        }
        let items = s.query_all(&Query::partition("g")).await.unwrap();
        assert_eq!(items.len(), 1 + 32);
        assert_eq!(s.get("g", "taken").await.unwrap().unwrap().body, json!(0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn second_handle_sees_writes() {
        let path = common::temp_dir("shared").join("onecard.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        a.put(Item::new("p", "1", json!("from a")), Cond::None).await.unwrap();
        assert_eq!(b.get("p", "1").await.unwrap().unwrap().body, json!("from a"));
        b.transact(vec![Write::put(Item::new("p", "2", json!("from b")), Cond::MustNotExist)])
            .await
            .unwrap();
        assert_eq!(a.query_all(&Query::partition("p")).await.unwrap().len(), 2);
        assert_eq!(
            a.put(Item::new("p", "2", json!("again")), Cond::MustNotExist).await,
            Err(StoreError::ConditionFailed)
        );

        // Racing across the two connections: SQLite's file lock decides.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move { s.put(Item::new("p", "race", json!(i)), Cond::MustNotExist).await });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 1);
    }

    #[tokio::test]
    async fn bad_body_is_corrupt_not_a_panic() {
        let path = common::temp_dir("corrupt").join("onecard.db");
        let s = SqliteStore::open(&path).unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute("INSERT INTO items (pk, sk, version, ttl, body) VALUES ('p', 'bad', 1, NULL, '{not json')", [])
            .unwrap();
        assert!(matches!(s.get("p", "bad").await, Err(StoreError::Corrupt(_))));
        assert!(matches!(s.query(&Query::partition("p")).await, Err(StoreError::Corrupt(_))));
    }

    #[tokio::test]
    async fn purge_removes_only_expired() {
        let path = common::temp_dir("purge").join("onecard.db");
        let s = SqliteStore::open(&path).unwrap();
        s.put(Item::new("p", "old", json!(1)).with_ttl(now_unix() - 5), Cond::None).await.unwrap();
        s.put(Item::new("p", "new", json!(2)).with_ttl(now_unix() + 500), Cond::None).await.unwrap();
        assert_eq!(s.purge_expired().await.unwrap(), 1);
        assert_eq!(s.query_all(&Query::partition("p")).await.unwrap().len(), 1);
    }
}
