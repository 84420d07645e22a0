//! The brand repository on the in-memory store.

use super::*;
use onecard_core::codes::Code;
use onecard_core::memstore::MemStore;
use onecard_core::store::ItemStore;
use std::sync::Arc;

fn bad_input_naming(e: &onecard_core::ApiError, field: &str) -> bool {
    e.code == Code::BAD_INPUT && e.message.contains(field)
}

#[tokio::test]
async fn seeding_writes_the_seed_list_under_ids_1_to_n_in_order() {
    let s = MemStore::new();
    assert_eq!(ensure_seeded(&s).await.unwrap(), SEED.len());
    let brands = list(&s).await.unwrap();
    assert_eq!(brands.len(), SEED.len());
    for (i, b) in brands.iter().enumerate() {
        assert_eq!((b.id, b.name.as_str()), (i as i64 + 1, SEED[i]));
    }
    assert_eq!(brands[0].name, "大众");
    assert!(SEED.len() >= 30, "a few dozen common brands");
    for must in ["丰田", "本田", "比亚迪", "特斯拉"] {
        assert!(SEED.contains(&must), "{must} is seeded");
    }
}

#[tokio::test]
async fn seeding_twice_is_one_read_and_no_write() {
    let s = MemStore::new();
    ensure_seeded(&s).await.unwrap();
    let before = s.counts();
    assert_eq!(ensure_seeded(&s).await.unwrap(), 0);
    let after = s.counts();
    assert_eq!((after.reads - before.reads, after.writes - before.writes), (1, 0));
}

#[tokio::test]
async fn an_interrupted_seeding_resumes_without_overwriting_a_renamed_brand() {
    let s = MemStore::new();
    // As if a first seeding wrote brand 1 and stopped before the marker, and
    // an operator renamed it meanwhile.
    add_with_id(&s, 1, "一汽-大众").await.unwrap();
    assert_eq!(ensure_seeded(&s).await.unwrap(), SEED.len() - 1);
    let brands = list(&s).await.unwrap();
    assert_eq!(brands.len(), SEED.len());
    assert_eq!(brands[0].name, "一汽-大众");
}

#[tokio::test]
async fn a_renamed_brand_stays_renamed_after_seeding_again() {
    let s = MemStore::new();
    ensure_seeded(&s).await.unwrap();
    rename(&s, 2, "丰田汽车").await.unwrap();
    ensure_seeded(&s).await.unwrap();
    assert_eq!(get(&s, 2).await.unwrap().unwrap().name, "丰田汽车");
}

#[tokio::test]
async fn add_takes_the_next_id_and_refuses_a_duplicate_name() {
    let s = MemStore::new();
    ensure_seeded(&s).await.unwrap();
    let b = add(&s, "  仰望 ").await.unwrap();
    assert_eq!(b, Brand { id: SEED.len() as i64 + 1, name: "仰望".into() });
    let e = add(&s, "特斯拉").await.unwrap_err();
    assert!(bad_input_naming(&e, "BrandName") && e.message.contains("already"), "{e}");
    let e = add(&s, "jeep").await.unwrap_err();
    assert!(e.message.contains("Jeep"), "Latin names compare without case: {e}");
}

#[tokio::test]
async fn bad_names_are_refused_naming_the_field() {
    let s = MemStore::new();
    for bad in ["", "   ", "a\tb", "x\ny", &"长".repeat(51)] {
        let e = add(&s, bad).await.unwrap_err();
        assert!(bad_input_naming(&e, "BrandName"), "{bad:?}: {e}");
    }
    assert!(list(&s).await.unwrap().is_empty());
}

#[tokio::test]
async fn rename_refuses_an_unknown_id_and_another_brands_name() {
    let s = MemStore::new();
    ensure_seeded(&s).await.unwrap();
    assert!(bad_input_naming(&rename(&s, 999, "X").await.unwrap_err(), "BrandID"));
    assert!(bad_input_naming(&rename(&s, 1, "丰田").await.unwrap_err(), "BrandName"));
    // Its own name (a no-op rename) is fine.
    assert_eq!(rename(&s, 1, "大众").await.unwrap().name, "大众");
}

#[tokio::test]
async fn add_with_id_refuses_a_taken_id() {
    let s = MemStore::new();
    add_with_id(&s, 7, "甲").await.unwrap();
    assert!(bad_input_naming(&add_with_id(&s, 7, "乙").await.unwrap_err(), "BrandID"));
    assert!(bad_input_naming(&add_with_id(&s, 0, "乙").await.unwrap_err(), "BrandID"));
    assert_eq!(add(&s, "丙").await.unwrap().id, 8);
}

#[tokio::test]
async fn concurrent_adds_get_distinct_ids() {
    let s: Arc<dyn ItemStore> = Arc::new(MemStore::new());
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { add(&*s, &format!("品牌{i}")).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    assert_eq!(ids, (1..=16).collect::<Vec<i64>>());
}

#[tokio::test]
async fn a_card_brand_must_be_a_listed_brand_id() {
    let s = MemStore::new();
    ensure_seeded(&s).await.unwrap();
    assert_eq!(card_brand(&s, None).await.unwrap(), None);
    assert_eq!(card_brand(&s, Some(" ".into())).await.unwrap(), None);
    assert_eq!(card_brand(&s, Some(" 3 ".into())).await.unwrap(), Some("3".into()));
    for bad in ["999", "大众", "1.5", "-1"] {
        let e = card_brand(&s, Some(bad.into())).await.unwrap_err();
        assert!(bad_input_naming(&e, "Park.CarBrandID"), "{bad}: {e}");
    }
}
