//! The site's entry and exit records: 9.1 `cat.upload.indata` and 9.2
//! `cat.upload.outdata`.
//!
//! Both are idempotent by `cardInId`: the site retries until it hears success,
//! so the same record uploaded again changes nothing and answers success.
//! Car-park records (`sourceType` 0, the default) open and close stays
//! (`park::stays`); door (1) and channel-gate (2) records have no stay and are
//! kept as history only. An exit the cloud cannot match to an entry, or whose
//! area is not configured, is kept too and answered with success: refusing it
//! would only make the site resend it forever.
//!
//! Pictures (decision 16): the agent uploads a picture first and sends its
//! `imageKey`; a legacy site sends base64 (`image`, or `picture`/`plateImage`),
//! which is stored in the blob store here. The record keeps the key only, and
//! 13.7 `report/parkInOutImage` carries the key until the push is built. A
//! picture that cannot be kept is logged and dropped; the record is kept.
//!
//! A record the store could not write answers the seed's 520 ("upload to
//! Carsafe failed", 5.2), so the site keeps it and sends it again.

use crate::keys;
use crate::pictures;
use crate::park::cardlink::{card_terms_by, TEMPORARY};
use crate::park::stays::{self, Arrival, Entered, ExitFacts, Stay};
use crate::push::records;
use onecard_core::config::Lane;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{self, DateTime, Empty, Plate, RouteDef, SourceType, Text, WithMessage};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, StoreError};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// 9.1 input. Door and channel-gate records keep the whole record, so the
/// input is written back as it was read, with whatever else the site sent.
#[derive(Deserialize, Serialize, JsonSchema)]
pub struct IndataIn {
    #[serde(rename = "areaId")]
    pub area: Text,
    #[serde(rename = "cardInId")]
    pub card_in_id: Text,
    /// One of `licensePlate` and `cardNo` is required.
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "cardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "inDate")]
    pub at: DateTime,
    /// 0 car park (when absent), 1 door, 2 channel gate.
    #[serde(rename = "sourceType")]
    pub source: Option<SourceType>,
    #[serde(rename = "bookingNo")]
    pub booking_no: Option<Text>,
    #[serde(rename = "userId")]
    pub user_id: Option<Text>,
    pub gateno: Option<Text>,
    pub gatename: Option<Text>,
    /// The blob key of the picture the agent uploaded (`PUT /site/pictures/{sha}`).
    #[serde(rename = "imageKey")]
    pub image_key: Option<Text>,
    /// A legacy sender's base64 picture. Not `Text` (a picture is longer than
    /// its 2,000 characters; the route's body limit bounds it) and not
    /// `Picture` (a bad picture must not cost the record). Never written back:
    /// only its key is kept.
    #[serde(alias = "picture", alias = "plateImage", skip_serializing)]
    pub image: Option<String>,
    /// The seed's other fields (`userno`, `username`, `idCard`, `mobile`,
    /// `openmode`, ...) and the agent's (`offline`, `decision`, ...): kept
    /// with a door or channel passage, not read.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// 9.2 input. The exit record names its entry by `cardInId`; a site that let
/// the car out offline may send only the plate (as `licensePlate`, `carNo` or
/// `plateNo`).
#[derive(Deserialize, Serialize, JsonSchema)]
pub struct OutdataIn {
    #[serde(rename = "areaId")]
    pub area: Text,
    #[serde(rename = "cardInId")]
    pub card_in_id: Option<Text>,
    #[serde(rename = "licensePlate", alias = "carNo", alias = "plateNo")]
    pub plate: Option<Plate>,
    #[serde(rename = "outDate")]
    pub at: DateTime,
    #[serde(rename = "sourceType")]
    pub source: Option<SourceType>,
    pub gateno: Option<Text>,
    pub gatename: Option<Text>,
    #[serde(rename = "imageKey")]
    pub image_key: Option<Text>,
    #[serde(alias = "picture", alias = "plateImage", skip_serializing)]
    pub image: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn area_of(branch: &Branch, a: &str) -> ApiResult<String> {
    match branch.areas.iter().find(|x| x.id == a || x.name == a) {
        Some(x) => Ok(x.id.clone()),
        None => Err(ApiError::field("areaId", format!("'{a}' is not an area of this car park"))),
    }
}

/// The lane: `gateno`/`gatename` as sent, the name completed from the
/// branch's controllers when the site sent only the number.
fn lane(branch: &Branch, gateno: Option<&Text>, gatename: Option<&Text>) -> (String, String) {
    let no = gateno.map(Text::to_string).unwrap_or_default();
    let name = match gatename {
        Some(n) => n.to_string(),
        None => branch.controller(&no).map(|c| c.name.clone()).unwrap_or_default(),
    };
    (no, name)
}

/// 13.7 event; eventType 1 entry, 2 exit. It carries the picture's key;
/// the push reads the picture back when it is built.
fn image_event(branch: &str, stay: &Stay, at: NaiveDateTime, lane: Lane, key: &str) -> OutEvent {
    let record = records::in_out_image(&stay.card_in_id, &kit::stamp(at), &stay.display_plate(), lane, key);
    OutEvent::new(branch, "report/parkInOutImage", record, at)
}

/// The seed's 520 for an upload the store could not keep (the site retries);
/// other refusals pass unchanged.
fn upload_failed(e: ApiError) -> ApiError {
    if e.code == Code::SYSTEM {
        ApiError::new(UPLOAD_FAILED, format!("upload not stored, send it again: {}", e.message))
    } else {
        e
    }
}

/// 5.2 "520 上传车安通失败".
const UPLOAD_FAILED: Code = Code(520);
const UPLOAD_CODES: &[(i64, &str)] = &[(520, "the record could not be stored; send it again")];

/// Door and channel-gate records, and exits matching no entry: history,
/// written once. The record keeps the checked picture key, never a picture.
async fn passage<R: Serialize>(ctx: &Ctx, branch: &str, source: SourceType, card_in_id: &str, dir: &str, record: &R, photo: Option<&str>) -> ApiResult<()> {
    let sk = format!("{}#{card_in_id}#{dir}", source.code());
    let mut record = serde_json::to_value(record).map_err(ApiError::system)?;
    if let Some(r) = record.as_object_mut() {
        match photo {
            Some(k) => r.insert("imageKey".into(), json!(k)),
            None => r.remove("imageKey"),
        };
    }
    let body = json!({ "sourceType": source.code(), "direction": dir, "record": record });
    match ctx.store.put(Item::new(keys::passages(branch), sk, body), Cond::MustNotExist).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// 9.1's answer: `afterPay` only where Jinying pay-later is configured and
/// answered in time (11.12), else `{}`.
#[derive(Serialize, JsonSchema)]
pub struct IndataOut {
    #[serde(rename = "afterPay", skip_serializing_if = "Option::is_none")]
    pub after_pay: Option<i64>,
}

/// 9.1: `{}` (or `afterPay`), with "entry already recorded" for a repeat.
async fn indata(ctx: Ctx, req: Req, input: IndataIn) -> ApiResult<WithMessage<IndataOut>> {
    record_entry(ctx, req, input).await.map_err(upload_failed)
}

async fn record_entry(ctx: Ctx, req: Req, input: IndataIn) -> ApiResult<WithMessage<IndataOut>> {
    let b = req.branchno();
    let source = input.source.unwrap_or(SourceType::Park);
    if input.plate.is_none() && input.card_no.is_none() {
        return Err(ApiError::field("licensePlate", "one of licensePlate and cardNo is required"));
    }
    let photo = pictures::key_for_record(&ctx, b, "cat.upload.indata", &input.card_in_id, input.image_key.as_deref(), input.image.as_deref()).await;
    // A door or a channel gate is in no car-park area.
    if source != SourceType::Park {
        passage(&ctx, b, source, &input.card_in_id, "in", &input, photo.as_deref()).await?;
        return Ok(WithMessage::optional(IndataOut { after_pay: None }, None));
    }
    let area = area_of(&req.branch, &input.area)?;
    let entry = input.at.get();
    let plate = input.plate.as_ref().map(|p| p.norm().to_string()).unwrap_or_default();
    let card_no = input.card_no.clone().map(String::from);
    let (lane_no, lane_name) = lane(&req.branch, input.gateno.as_ref(), input.gatename.as_ref());
    let card = card_terms_by(&ctx, b, &plate, card_no.as_deref()).await?;
    let mut stay = Stay::arrived(Arrival {
        card_in_id: input.card_in_id.to_string(),
        plate,
        card_no,
        area,
        entry,
        controller_no: lane_no,
        controller_name: lane_name,
        booking_no: input.booking_no.map(String::from),
        user_id: input.user_id.map(String::from),
        func_type: card.as_ref().map(|c| c.func_type_at(entry)).unwrap_or(TEMPORARY),
    });
    stay.photo_in = photo;
    let mut extra: Vec<OutEvent> = stay.photo_in.as_deref().map(|k| image_event(b, &stay, entry, Lane::In, k)).into_iter().collect();
    extra.extend(crate::partner_hooks::entry_events(&ctx, &req.branch, &stay).await?);
    match stays::enter(&ctx, b, &stay, &extra).await? {
        Entered::New => Ok(WithMessage::optional(IndataOut { after_pay: crate::partner_hooks::paylater::at_entry(&ctx, &req.branch, &stay).await }, None)),
        Entered::Repeat => Ok(WithMessage::optional(IndataOut { after_pay: None }, Some("entry already recorded".into()))),
    }
}

/// The stay an exit record closes. A site that let a car out while it could
/// not reach the cloud may not know the entry's `cardInId`; the plate then
/// finds the stay. An exit that matches no stay (the entry was never recorded)
/// is kept as an unmatched exit rather than lost.
enum ExitOf {
    Stay(String),
    Unmatched(String),
}

async fn exit_of(ctx: &Ctx, b: &str, input: &OutdataIn) -> ApiResult<ExitOf> {
    if let Some(id) = &input.card_in_id {
        return Ok(match stays::get(ctx, b, id).await? {
            Some(_) => ExitOf::Stay(id.to_string()),
            None => ExitOf::Unmatched(id.to_string()),
        });
    }
    let Some(plate) = &input.plate else {
        return Err(ApiError::field("cardInId", "is required when no licensePlate is given"));
    };
    match stays::in_park(ctx, b, 1, plate.norm()).await? {
        Some((stay, _)) => Ok(ExitOf::Stay(stay.card_in_id)),
        None => Ok(ExitOf::Unmatched(format!("{}@{}", plate.norm(), kit::stamp(input.at.get())))),
    }
}

/// 9.2: `null` once a stay is closed; `{}` for a passage kept as history.
async fn outdata(ctx: Ctx, req: Req, input: OutdataIn) -> ApiResult<Option<Empty>> {
    record_exit(ctx, req, input).await.map_err(upload_failed)
}

async fn record_exit(ctx: Ctx, req: Req, input: OutdataIn) -> ApiResult<Option<Empty>> {
    let b = req.branchno();
    let source = input.source.unwrap_or(SourceType::Park);
    let at = input.at.get();
    // The car is out whatever the configuration says; the stay has its area.
    if area_of(&req.branch, &input.area).is_err() {
        tracing::warn!(branch = b, area = %input.area, "exit from an area this car park does not configure; recorded");
    }
    let id_for_log = input.card_in_id.as_deref().unwrap_or_default();
    let photo = pictures::key_for_record(&ctx, b, "cat.upload.outdata", id_for_log, input.image_key.as_deref(), input.image.as_deref()).await;
    if source != SourceType::Park {
        let id = match (&input.card_in_id, &input.plate) {
            (Some(id), _) => id.to_string(),
            (None, Some(p)) => format!("{}@{}", p.norm(), kit::stamp(at)),
            (None, None) => return Err(ApiError::field("cardInId", "is required when no licensePlate is given")),
        };
        passage(&ctx, b, source, &id, "out", &input, photo.as_deref()).await?;
        return Ok(Some(Empty {}));
    }
    let card_in_id = match exit_of(&ctx, b, &input).await? {
        ExitOf::Stay(id) => id,
        ExitOf::Unmatched(key) => {
            tracing::warn!(branch = b, record = %key, "exit matches no entry; kept as history");
            passage(&ctx, b, source, &key, "unmatched-out", &input, photo.as_deref()).await?;
            return Ok(Some(Empty {}));
        }
    };
    let (controller_no, controller_name) = lane(&req.branch, input.gateno.as_ref(), input.gatename.as_ref());
    let facts = ExitFacts { at, controller_no, controller_name, photo: photo.clone() };
    let branch = b.to_string();
    let extra = move |s: &Stay| -> Vec<OutEvent> { photo.as_deref().map(|k| image_event(&branch, s, at, Lane::Out, k)).into_iter().collect() };
    stays::exit(&ctx, b, &card_in_id, &facts, &extra).await?;
    Ok(None)
}

/// Both record a passage (idempotent by `cardInId`).
pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("cat.upload.indata", indata).codes(UPLOAD_CODES),
        kit::write("cat.upload.outdata", outdata).codes(UPLOAD_CODES),
    ]
}

#[cfg(test)]
#[path = "uploads_tests.rs"]
mod tests;
