//! What the site reports for the operators: alarms (9.12) and cars that
//! scanned to leave but have no entry record (9.17). Both are kept, newest
//! readable first, for 180 days; a 9.17 picture goes to the blob store
//! (decision 16) and the record keeps its key.

use super::model::SiteEvent;
use crate::keys;
use crate::pictures;
use onecard_core::kit::{self, stamp, DateTime, Int, Null, Picture, Plate, RouteDef, Text};
use onecard_core::store::{now_unix, Cond, Item, ItemStore, Query, StoreResult};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

const KEEP_SECS: i64 = 180 * 24 * 3600;

async fn keep(ctx: &Ctx, branch: &str, ev: &SiteEvent) -> ApiResult<()> {
    let sk = format!("{}#{}", ev.at, uuid::Uuid::new_v4().simple());
    let item = Item::new(keys::pls(branch, &format!("event#{}", ev.kind)), sk, serde_json::to_value(ev).map_err(ApiError::system)?);
    ctx.store().put(item.with_ttl(now_unix() + KEEP_SECS), Cond::MustNotExist).await?;
    Ok(())
}

/// The kept events of a kind ("alarm", "abnormalout"), newest first.
pub async fn recent(s: &dyn ItemStore, branch: &str, kind: &str, limit: usize) -> StoreResult<Vec<SiteEvent>> {
    let items = s.query_all(&Query::partition(keys::pls(branch, &format!("event#{kind}"))).backward().limit(limit)).await?;
    items.iter().map(Item::parse).collect()
}

/// 9.12 input.
#[derive(Deserialize, JsonSchema)]
pub struct AlarmIn {
    pub time: DateTime,
    #[serde(rename = "type")]
    pub kind: Option<Int>,
    #[serde(rename = "typeDesc")]
    pub kind_desc: Option<Text>,
    pub content: Text,
}

async fn alarm(ctx: Ctx, req: Req, input: AlarmIn) -> ApiResult<Null> {
    if input.kind.is_none() && input.kind_desc.is_none() {
        return Err(ApiError::field("type", "or typeDesc is required"));
    }
    let at = stamp(input.time.get());
    let body = json!({"type": input.kind.map(|k| k.get().to_string()), "typeDesc": input.kind_desc, "content": input.content});
    tracing::warn!(branch = req.branchno(), at = %at, alarm = %body, "site alarm");
    keep(&ctx, req.branchno(), &SiteEvent { kind: "alarm".into(), at, body }).await?;
    Ok(Null)
}

/// 9.17 input.
#[derive(Deserialize, JsonSchema)]
pub struct AbnormalOutIn {
    #[serde(rename = "deviceID", alias = "deviceId")]
    pub device: Text,
    #[serde(rename = "deviceName")]
    pub device_name: Option<Text>,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    /// A base64 picture, despite its name.
    #[serde(rename = "imgUrl")]
    pub img: Option<Picture>,
    #[serde(rename = "openId")]
    pub open_id: Option<Text>,
    #[serde(rename = "outDate")]
    pub at: DateTime,
}

async fn abnormal_out(ctx: Ctx, req: Req, input: AbnormalOutIn) -> ApiResult<Null> {
    let b = req.branchno();
    let at = stamp(input.at.get());
    let record_id = format!("{}@{at}", input.device);
    let image_key = pictures::key_for_record(&ctx, b, "9.17", &record_id, None, input.img.as_ref().map(|p| p.0.as_str())).await;
    let body = json!({
        "deviceID": input.device,
        "deviceName": input.device_name,
        "licensePlate": input.plate.as_ref().map(|p| p.norm().to_string()),
        "openId": input.open_id,
        "imageKey": image_key,
    });
    keep(&ctx, b, &SiteEvent { kind: "abnormalout".into(), at, body }).await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("cat.upload.alarm", alarm), kit::write("cat.upload.abnormaloutdata", abnormal_out)]
}
