use super::*;
use onecard_adapters::embedded_queue::EmbeddedQueue;
use onecard_adapters::sqlite_store::SqliteStore;
use onecard_core::sitelink::NoSites;
use onecard_core::time::{parse, to_utc, FixedClock, DEFAULT_TZ};
use onecard_core::Ports;
use std::sync::Arc;

const B: &str = config::DEMO_BRANCH;

async fn importer() -> Importer {
    let dir = std::env::temp_dir().join(format!("onecard-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("s.db")).unwrap());
    config::seed_demo(&*store).await.unwrap();
    let queue = Arc::new(EmbeddedQueue::open(&dir.join("q.db")).unwrap());
    let clock = FixedClock::new(to_utc(parse("2026-11-29 10:00:00").unwrap(), DEFAULT_TZ));
    let ctx = Ctx::new(Ports { store, queue, sites: Arc::new(NoSites), clock });
    Importer::new(ctx, B).await.unwrap()
}

fn row(v: Value) -> Row {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn residences_import_whole_rows_and_twice_changes_nothing() {
    let mut im = importer().await;
    let rows: Vec<Row> = (1..=30)
        .map(|i| row(json!({"UpTown": "新景天", "Building": format!("{}栋", i % 3), "Cells": "1 单元", "Floors": "20", "Room": format!("{i:02}01"), "FloorNo": (i % 20) + 1, "DoorPlate": ""})))
        .collect();
    for r in &rows {
        assert_eq!(im.row(Kind::Residences, r).await.unwrap(), Outcome::Created);
    }
    for r in &rows {
        assert_eq!(im.row(Kind::Residences, r).await.unwrap(), Outcome::Unchanged);
    }
    let s = im.ctx.store();
    assert_eq!(residence::list(s, B, Level::Room).await.unwrap().len(), 30);
    assert_eq!(residence::list(s, B, Level::Building).await.unwrap().len(), 3);
    assert_eq!(residence::list(s, B, Level::Community).await.unwrap().len(), 1);
    // A new importer (a second run) reads what the first wrote.
    let mut again = Importer::new(im.ctx.clone(), B).await.unwrap();
    assert_eq!(again.row(Kind::Residences, &rows[0]).await.unwrap(), Outcome::Unchanged);
    let mut moved = rows[0].clone();
    moved.insert("FloorNo".into(), json!("7"));
    assert_eq!(again.row(Kind::Residences, &moved).await.unwrap(), Outcome::Updated);
    // Refused rows name the field and write nothing.
    let e = again.row(Kind::Residences, &row(json!({"UpTown": "新小区", "Building": "A", "Cells": "1", "Room": "101", "FloorNo": "1"}))).await.unwrap_err();
    assert!(e.contains("'Floors'"), "{e}");
    assert!(residence::find_named(s, B, Level::Community, 0, "新小区").await.unwrap().is_none(), "a refused row writes nothing");
    let e = again.row(Kind::Residences, &row(json!({"Building": "A"}))).await.unwrap_err();
    assert!(e.contains("'Building'"), "{e}");
    let e = again.row(Kind::Residences, &row(json!({"UpTown": "新景天", "Building": "1栋", "Cells": "1 单元", "Floors": "2"}))).await.unwrap_err();
    assert!(e.contains("is on floor"), "{e}");
}

#[tokio::test]
async fn holders_name_their_room_and_department_by_name_and_cards_and_plates_follow() {
    let mut im = importer().await;
    im.row(Kind::List(ListKind::Dept), &row(json!({"DeptID": "5", "DeptName": "软件部"}))).await.unwrap();
    assert_eq!(im.row(Kind::List(ListKind::Dept), &row(json!({"DeptID": 5, "DeptName": "软件部"}))).await.unwrap(), Outcome::Unchanged);
    im.row(Kind::Residences, &row(json!({"UpTown": "新景天", "Building": "A", "Cells": "1", "Floors": 10, "Room": "1001", "FloorNo": 10}))).await.unwrap();
    let holder = row(json!({"UserNo": "0001000000", "FstName": "张三", "Gender": "1", "DeptName": "软件部", "UpTown": "新景天", "Building": "A", "Cells": "1", "Room": "1001", "Mobile": "13488887777"}));
    assert_eq!(im.row(Kind::Holders, &holder).await.unwrap(), Outcome::Created);
    assert_eq!(im.row(Kind::Holders, &holder).await.unwrap(), Outcome::Unchanged);
    let h = crate::cards::store::get_holder(&im.ctx, B, "0001000000").await.unwrap().unwrap();
    assert_eq!(h.field("DeptID"), "5");
    let names = crate::org::names_for(im.ctx.store(), B, &crate::org::Refs::of_holder(&h)).await.unwrap();
    assert_eq!((names.UpTown.as_str(), names.Room.as_str(), names.DeptName.as_str()), ("新景天", "1001", "软件部"));
    let mut changed = holder.clone();
    changed.insert("Mobile".into(), json!("13900000000"));
    assert_eq!(im.row(Kind::Holders, &changed).await.unwrap(), Outcome::Updated);
    let e = im.row(Kind::Holders, &row(json!({"UserNo": "2", "FstName": "李四", "Gender": "1", "UpTown": "新景天", "Building": "B", "Cells": "1", "Room": "1"}))).await.unwrap_err();
    assert!(e.contains("building 'B' does not exist"), "{e}");
    let e = im.row(Kind::Holders, &row(json!({"FstName": "李四", "Gender": "1"}))).await.unwrap_err();
    assert!(e.contains("'UserNo'"), "{e}");

    // Cards need the branch's car type and monthly tariff, like 10.15 itself.
    im.call("park.cartype.add", json!({"carTypeName": "小型车", "defaultCharge": true})).await.unwrap();
    let card = row(json!({"CardNo": "C001", "NumNo": "粤B12345", "UserNo": "0001000000", "FuncType": "20", "ChargeCarType": "1",
                          "StartDate": "2026-01-01 00:00:00", "ExpiryDate": "2027-01-01 00:00:00"}));
    assert_eq!(im.row(Kind::Cards, &card).await.unwrap(), Outcome::Created);
    assert_eq!(im.row(Kind::Cards, &card).await.unwrap(), Outcome::Unchanged);
    let e = im.row(Kind::Cards, &row(json!({"CardNo": "C002", "NumNo": "x"}))).await.unwrap_err();
    assert!(e.contains("Park"), "{e}");
    let plate = row(json!({"CardNo": "C001", "LicensePlate": "粤B54321"}));
    assert_eq!(im.row(Kind::Plates, &plate).await.unwrap(), Outcome::Updated);
    assert_eq!(im.row(Kind::Plates, &plate).await.unwrap(), Outcome::Unchanged);
    assert!(im.row(Kind::Plates, &row(json!({"CardNo": "C404", "LicensePlate": "粤B1"}))).await.unwrap_err().contains("does not exist"));
}
