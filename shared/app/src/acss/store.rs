//! Where door access configuration is kept: one partition per branch
//! (`keys::acss`), a few hundred rows, read whole.

use super::model::{Bluetooth, Door, FaceTerminal, Grant, TimeGroup};
use crate::keys;
use onecard_core::store::{Cond, Item, Query};
use onecard_core::store::ItemStore;
use onecard_core::{ApiError, ApiResult, Ctx};
use serde::de::DeserializeOwned;
use serde::Serialize;

const DOOR: &str = "door#";
const TG: &str = "tg#";
const GRANT: &str = "grant#";
const BT: &str = "bt#";
const TERM: &str = "term#";
const QR_KEY: &str = "qrkey";

async fn list<T: DeserializeOwned>(store: &dyn ItemStore, branch: &str, prefix: &str) -> ApiResult<Vec<T>> {
    let items = store.query_all(&Query::prefix(keys::acss(branch), prefix)).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

async fn put<T: Serialize>(store: &dyn ItemStore, branch: &str, sk: String, v: &T) -> ApiResult<()> {
    let body = serde_json::to_value(v).map_err(ApiError::system)?;
    store.put(Item::new(keys::acss(branch), sk, body), Cond::None).await?;
    Ok(())
}

pub async fn doors(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<Door>> {
    list(store, branch, DOOR).await
}

pub async fn door(store: &dyn ItemStore, branch: &str, controller: &str, door: &str) -> ApiResult<Option<Door>> {
    match store.get(&keys::acss(branch), &format!("{DOOR}{controller}#{door}")).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

pub async fn put_door(store: &dyn ItemStore, branch: &str, d: &Door) -> ApiResult<()> {
    put(store, branch, format!("{DOOR}{}", d.key()), d).await
}

/// Refused while a permission group still names the door (decision 23).
pub async fn delete_door(store: &dyn ItemStore, branch: &str, controller: &str, door: &str) -> ApiResult<bool> {
    let key = format!("{controller}#{door}");
    if let Some(g) = grants(store, branch).await?.into_iter().find(|g| g.doors.contains(&key)) {
        return Err(ApiError::failed(format!("door {key} is still in permission group {} ({})", g.id, g.name)));
    }
    let existed = store.get(&keys::acss(branch), &format!("{DOOR}{key}")).await?.is_some();
    store.delete(&keys::acss(branch), &format!("{DOOR}{key}"), Cond::None).await?;
    Ok(existed)
}

pub async fn time_groups(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<TimeGroup>> {
    list(store, branch, TG).await
}

pub async fn put_time_group(store: &dyn ItemStore, branch: &str, g: &TimeGroup) -> ApiResult<()> {
    put(store, branch, format!("{TG}{}", g.id), g).await
}

pub async fn delete_time_group(store: &dyn ItemStore, branch: &str, id: &str) -> ApiResult<bool> {
    if let Some(g) = grants(store, branch).await?.into_iter().find(|g| g.time_group == id) {
        return Err(ApiError::failed(format!("time group {id} is still used by permission group {} ({})", g.id, g.name)));
    }
    let existed = store.get(&keys::acss(branch), &format!("{TG}{id}")).await?.is_some();
    store.delete(&keys::acss(branch), &format!("{TG}{id}"), Cond::None).await?;
    Ok(existed)
}

pub async fn grants(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<Grant>> {
    list(store, branch, GRANT).await
}

pub async fn put_grant(store: &dyn ItemStore, branch: &str, g: &Grant) -> ApiResult<()> {
    put(store, branch, format!("{GRANT}{}", g.id), g).await
}

pub async fn delete_grant(store: &dyn ItemStore, branch: &str, id: &str) -> ApiResult<bool> {
    let existed = store.get(&keys::acss(branch), &format!("{GRANT}{id}")).await?.is_some();
    store.delete(&keys::acss(branch), &format!("{GRANT}{id}"), Cond::None).await?;
    Ok(existed)
}

pub async fn bluetooth(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<Bluetooth>> {
    list(store, branch, BT).await
}

pub async fn put_bluetooth(store: &dyn ItemStore, branch: &str, b: &Bluetooth) -> ApiResult<()> {
    put(store, branch, format!("{BT}{}", b.bdid), b).await
}

pub async fn terminals(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<FaceTerminal>> {
    list(store, branch, TERM).await
}

pub async fn put_terminal(store: &dyn ItemStore, branch: &str, t: &FaceTerminal) -> ApiResult<()> {
    put(store, branch, format!("{TERM}{}", t.device), t).await
}

pub async fn delete_terminal(store: &dyn ItemStore, branch: &str, device: &str) -> ApiResult<bool> {
    let existed = store.get(&keys::acss(branch), &format!("{TERM}{device}")).await?.is_some();
    store.delete(&keys::acss(branch), &format!("{TERM}{device}"), Cond::None).await?;
    Ok(existed)
}

/// The branch's door-code key, made on first use. Two racing creators agree:
/// the loser reads the winner's key.
pub async fn qr_key(ctx: &Ctx, branch: &str) -> ApiResult<String> {
    let pk = keys::acss(branch);
    if let Some(i) = ctx.store.get(&pk, QR_KEY).await? {
        return Ok(i.body["key"].as_str().unwrap_or_default().to_string());
    }
    let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    match ctx.store.put(Item::new(pk.clone(), QR_KEY, serde_json::json!({ "key": key })), Cond::MustNotExist).await {
        Ok(()) => Ok(key),
        Err(e) if e.is_conflict() => {
            let i = ctx.store.get(&pk, QR_KEY).await?.ok_or_else(|| ApiError::failed("door-code key vanished"))?;
            Ok(i.body["key"].as_str().unwrap_or_default().to_string())
        }
        Err(e) => Err(e.into()),
    }
}

/// The demo branch's doors, time groups, permission groups, Bluetooth map and
/// face terminals; written once (nothing is written when doors exist).
pub async fn seed_demo(store: &dyn ItemStore, branch: &str) -> ApiResult<()> {
    use super::model::MODULE_GATE;
    if !doors(store, branch).await?.is_empty() {
        return Ok(());
    }
    let door = |door_no: &str, name: &str, bdid: &str| Door {
        controller_no: "C0000001".into(),
        door_no: door_no.into(),
        name: name.into(),
        controller_name: "1F 门禁控制器".into(),
        room_id: String::new(),
        bdid: bdid.into(),
        addr: format!("6..{door_no}"),
        channel: (door_no.parse::<i64>().unwrap_or(1) - 1).to_string(),
        ibms: false,
    };
    for d in [door("1", "1F-大堂前门", "08:7C:BE:DD:66:4B"), door("2", "1F-大堂后门", "08:7C:BE:DD:66:4C")] {
        put_bluetooth(store, branch, &Bluetooth { bdid: d.bdid.clone(), door_name: d.name.clone() }).await?;
        put_door(store, branch, &d).await?;
    }
    put_time_group(store, branch, &TimeGroup::parse("1", "全时段", &["*=00:00:00-23:59:59".into()])?).await?;
    let weekdays: Vec<String> = (1..=5).map(|d| format!("{d}=08:00:00-18:00:00")).collect();
    put_time_group(store, branch, &TimeGroup::parse("2", "工作时间", &weekdays)?).await?;
    let both = vec!["C0000001#1".to_string(), "C0000001#2".to_string()];
    put_grant(store, branch, &Grant { id: "1".into(), name: "员工".into(), time_group: "2".into(), doors: both.clone() }).await?;
    put_grant(store, branch, &Grant { id: "2".into(), name: "物业".into(), time_group: "1".into(), doors: both }).await?;
    put_terminal(store, branch, &FaceTerminal { device: "VM0000001".into(), name: "大堂人脸机".into(), module: super::model::MODULE_DOOR }).await?;
    put_terminal(store, branch, &FaceTerminal { device: "VM0000002".into(), name: "通道闸人脸机".into(), module: MODULE_GATE }).await?;
    Ok(())
}
