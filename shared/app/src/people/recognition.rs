//! Face recognition records: a terminal's comparison, uploaded by the agent
//! (agent-protocol uplink `cat.face.record`, no section of the spec has one),
//! kept with its captured picture in the blob store, pushed as 10.54
//! `report/faceContrastRecord`, and listed by 10.39.

use super::{faces, pictures};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, DateTime, Decimal, Int, Page, Picture, RouteDef, Text};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The agent-protocol uplink the records arrive by.
pub const UPLINK: &str = "cat.face.record";
/// 10.54's route.
pub const PUSH_ROUTE: &str = "report/faceContrastRecord";

/// What a terminal reports (the agent's uplink).
#[derive(Deserialize, JsonSchema)]
pub struct RecordIn {
    /// The agent's id for the record (de-duplicates a resend).
    pub id: Text,
    #[serde(rename = "controllerNo", alias = "deviceID")]
    pub terminal: Text,
    /// The face user recognised, if any.
    pub uuid: Option<Text>,
    pub similarity: Decimal,
    pub threshold: Decimal,
    /// 1 face, 2 card, 3 face and card.
    #[serde(rename = "compareType")]
    pub compare_type: Option<Int>,
    #[serde(rename = "ioFlag")]
    pub io_flag: Option<Int>,
    pub time: DateTime,
    #[serde(rename = "capturedImg")]
    pub captured: Option<Picture>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recognition {
    pub record_id: String,
    pub terminal: String,
    pub module: i64,
    pub uuid: String,
    pub user_name: String,
    pub mobile: String,
    pub compare_type: i64,
    pub similarity: f64,
    pub threshold: f64,
    pub matched: bool,
    pub at: String,
    pub io_flag: String,
    pub captured_key: String,
    pub compare_key: String,
}

/// Stores a record once (a resend of the same id is answered alike) and
/// pushes 10.54 in the same transaction.
pub async fn record(ctx: &Ctx, branch: &str, agent: &str, i: RecordIn) -> ApiResult<()> {
    let captured_key = match &i.captured {
        Some(p) => pictures::store(ctx, branch, "capturedImg", p).await?,
        None => String::new(),
    };
    let face = match &i.uuid {
        Some(u) => faces::get(ctx, branch, u).await?.map(|(f, _)| f),
        None => None,
    };
    let module = crate::acss::store::terminals(ctx.store(), branch).await?.into_iter().find(|t| t.device == i.terminal.as_str()).map(|t| t.module).unwrap_or(0);
    let (sim, thr) = (i.similarity.0, i.threshold.0);
    let r = Recognition {
        record_id: format!("{agent}-{}", i.id.as_str()),
        terminal: i.terminal.to_string(),
        module,
        uuid: face.as_ref().map(|f| f.uuid.clone()).unwrap_or_default(),
        user_name: face.as_ref().map(|f| f.name.clone()).unwrap_or_default(),
        mobile: face.as_ref().map(|f| f.mobile.clone()).unwrap_or_default(),
        compare_type: i.compare_type.map(Int::get).unwrap_or(1),
        similarity: sim,
        threshold: thr,
        matched: face.is_some() && sim >= thr,
        at: kit::stamp(i.time.get()),
        io_flag: i.io_flag.map(|f| f.get().to_string()).unwrap_or_default(),
        captured_key,
        compare_key: face.as_ref().map(|f| f.picture_key.clone()).unwrap_or_default(),
    };
    let push = json!({
        "AutoID": 0, "ControllerNo": r.terminal, "RecordID": r.record_id, "UUID": r.uuid, "UserName": r.user_name,
        "CardType": null, "CardID": "", "Location": r.terminal, "CapturedImg": pictures::base64_of(ctx, &r.captured_key).await,
        "CompareImg": pictures::base64_of(ctx, &r.compare_key).await, "Similarity": r.similarity,
        "SimilarityFormat": format!("{:.2}", r.similarity), "Threshold": r.threshold, "FaceContrast": r.matched,
        "CompareDateTime": r.at.replace(' ', "T"),
    });
    let at = i.time.get();
    let ev = OutEvent::new(branch, PUSH_ROUTE, push, at);
    let body = serde_json::to_value(&r).map_err(ApiError::system)?;
    let item = Item::new(keys::people(branch), format!("rec#{}#{}", r.at, r.record_id), body);
    match ctx.store.transact(vec![Write::put(item, Cond::MustNotExist), outbox_write(&ev)]).await {
        Ok(()) => {
            publish_committed(ctx, &[ev]).await;
            Ok(())
        }
        // Already recorded (a resend): done, nothing pushed twice.
        Err(e) if e.is_conflict() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// 10.39 input. The comparison mode is printed `dateType`.
#[derive(Deserialize, JsonSchema)]
pub struct ListIn {
    #[serde(rename = "dateStart")]
    pub from: Option<DateTime>,
    #[serde(rename = "dateEnd")]
    pub to: Option<DateTime>,
    #[serde(rename = "dateType", alias = "compareType")]
    pub compare_type: Option<Int>,
    /// 0 no pictures; empty or 1 with pictures.
    #[serde(rename = "returnImg")]
    pub return_img: Option<Int>,
}

#[derive(Serialize, JsonSchema)]
pub struct Row {
    pub recordid: String,
    pub comparetype: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capturedimg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compareimg: Option<String>,
    pub similarity: String,
    pub threshold: String,
    pub facecontrast: String,
    pub comparedatetime: String,
    pub moduletype: String,
    pub mobile: String,
    pub deptid: String,
    pub deptname: String,
    #[serde(rename = "controllerNo")]
    pub controller_no: String,
    #[serde(rename = "ioFlag")]
    pub io_flag: String,
}

fn parse(s: &str) -> Option<NaiveDateTime> {
    onecard_core::time::parse(s)
}

/// 10.39: newest first.
async fn list(ctx: Ctx, req: Req, input: ListIn) -> ApiResult<Page<Row>> {
    kit::check_open_window(input.from.map(DateTime::get), input.to.map(DateTime::get), "dateEnd")?;
    let imgs = input.return_img.is_none_or(|r| r.get() != 0);
    let items = ctx.store.query_all(&Query::prefix(keys::people(req.branchno()), "rec#").backward()).await?;
    let mut rows = Vec::new();
    for i in items {
        let r: Recognition = i.parse()?;
        let at = parse(&r.at);
        let keep = input.from.is_none_or(|f| at.is_some_and(|a| a >= f.get()))
            && input.to.is_none_or(|t| at.is_some_and(|a| a <= t.get()))
            && input.compare_type.is_none_or(|c| c.get() == r.compare_type);
        if !keep {
            continue;
        }
        rows.push(Row {
            capturedimg: if imgs { Some(pictures::base64_of(&ctx, &r.captured_key).await) } else { None },
            compareimg: if imgs { Some(pictures::base64_of(&ctx, &r.compare_key).await) } else { None },
            recordid: r.record_id,
            comparetype: r.compare_type.to_string(),
            username: r.user_name,
            similarity: format!("{:.2}", r.similarity),
            threshold: format!("{:.2}", r.threshold),
            facecontrast: if r.matched { "True" } else { "False" }.into(),
            comparedatetime: r.at,
            moduletype: r.module.to_string(),
            mobile: r.mobile,
            deptid: String::new(),
            deptname: String::new(),
            controller_no: r.terminal,
            io_flag: r.io_flag,
        });
    }
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("pub.viorecord.list", list)]
}
