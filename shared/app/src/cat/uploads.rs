//! The site's entry and exit records: 9.1 `cat.upload.indata` and 9.2
//! `cat.upload.outdata`.
//!
//! Both are idempotent by `cardInId`: the site retries until it hears success,
//! so the same record uploaded again changes nothing and answers success.
//! Car-park records (`sourceType` 0, the default) open and close stays
//! (`park::stays`); door (1) and channel-gate (2) records have no stay and are
//! kept as history only.
//!
//! When a record carries a picture (`image`, or `picture`/`plateImage` as some
//! sites name it), 13.7 `report/parkInOutImage` is pushed with it, from the same
//! transaction as the record.

use crate::keys;
use crate::park::cardlink::{card_terms_by, TEMPORARY};
use crate::park::stays::{self, Arrival, Entered, ExitFacts, Stay};
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::fields::normalize_plate;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, StoreError};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Data, Registry, Reply, Req};
use serde_json::{json, Value};

pub const SOURCE_PARK: i64 = 0;

fn source_type(d: &Data) -> ApiResult<i64> {
    match d.i64_or("sourceType", SOURCE_PARK)? {
        t @ 0..=2 => Ok(t),
        t => Err(ApiError::field("sourceType", format!("{t} is not a source type (0 car park, 1 door, 2 channel gate)"))),
    }
}

fn area_of(branch: &Branch, d: &Data) -> ApiResult<String> {
    let a = d.str("areaId")?;
    match branch.areas.iter().find(|x| x.id == a || x.name == a) {
        Some(x) => Ok(x.id.clone()),
        None => Err(ApiError::field("areaId", format!("'{a}' is not an area of this car park"))),
    }
}

/// The lane: `gateno`/`gatename` as sent, the name completed from the
/// branch's controllers when the site sent only the number.
fn lane(branch: &Branch, d: &Data) -> ApiResult<(String, String)> {
    let no = d.opt_str("gateno")?.unwrap_or_default();
    let name = match d.opt_str("gatename")? {
        Some(n) => n,
        None => branch.controller(&no).map(|c| c.name.clone()).unwrap_or_default(),
    };
    Ok((no, name))
}

fn picture(d: &Data) -> ApiResult<Option<String>> {
    d.opt_str_any(&["image", "picture", "plateImage"])
}

/// 13.7 record; eventType 1 entry, 2 exit.
fn image_event(branch: &str, stay: &Stay, at: NaiveDateTime, event_type: &str, image: String) -> OutEvent {
    let record = json!({
        "cardInId": stay.card_in_id,
        "occurDate": onecard_core::time::format(at),
        "plateNo": stay.display_plate(),
        "eventType": event_type,
        "plateImage": image,
    });
    OutEvent::new(branch, "report/parkInOutImage", record, at)
}

/// Door and channel-gate records: history, written once.
async fn passage(ctx: &Ctx, branch: &str, source: i64, card_in_id: &str, dir: &str, d: &Data) -> ApiResult<Reply> {
    let sk = format!("{source}#{card_in_id}#{dir}");
    let body = json!({ "sourceType": source, "direction": dir, "record": d.raw() });
    match ctx.store.put(Item::new(keys::passages(branch), sk, body), Cond::MustNotExist).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(Reply::empty()),
        Err(e) => Err(e.into()),
    }
}

async fn indata(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let card_in_id = d.str("cardInId")?;
    let source = source_type(d)?;
    let entry = d.time("inDate")?;
    let plate = d.opt_str("licensePlate")?.map(|p| normalize_plate(&p)).unwrap_or_default();
    let card_no = d.opt_str("cardNo")?;
    if plate.is_empty() && card_no.is_none() {
        return Err(ApiError::field("licensePlate", "one of licensePlate and cardNo is required"));
    }
    let area = area_of(&req.branch, d)?;
    if source != SOURCE_PARK {
        return passage(&ctx, b, source, &card_in_id, "in", d).await;
    }
    let (lane_no, lane_name) = lane(&req.branch, d)?;
    let card = card_terms_by(&ctx, b, &plate, card_no.as_deref()).await?;
    let stay = Stay::arrived(Arrival {
        card_in_id,
        plate,
        card_no,
        area,
        entry,
        controller_no: lane_no,
        controller_name: lane_name,
        booking_no: d.opt_str("bookingNo")?,
        user_id: d.opt_str("userId")?,
        func_type: card.as_ref().map(|c| c.func_type_at(entry)).unwrap_or(TEMPORARY),
    });
    let extra: Vec<OutEvent> = picture(d)?.map(|img| image_event(b, &stay, entry, "1", img)).into_iter().collect();
    match stays::enter(&ctx, b, &stay, &extra).await? {
        Entered::New => Ok(Reply::empty()),
        Entered::Repeat => Ok(Reply::empty().with_message("entry already recorded")),
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

async fn exit_of(ctx: &Ctx, b: &str, d: &Data, at: NaiveDateTime) -> ApiResult<ExitOf> {
    if let Some(id) = d.opt_str("cardInId")? {
        return Ok(ExitOf::Stay(id));
    }
    let Some(plate) = d.opt_str_any(&["licensePlate", "carNo", "plateNo"])? else {
        return Err(ApiError::field("cardInId", "is required when no licensePlate is given"));
    };
    match stays::in_park(ctx, b, 1, &plate).await? {
        Some((stay, _)) => Ok(ExitOf::Stay(stay.card_in_id)),
        None => Ok(ExitOf::Unmatched(format!("{}@{}", normalize_plate(&plate), onecard_core::time::format(at)))),
    }
}

async fn outdata(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let source = source_type(d)?;
    let at = d.time("outDate")?;
    area_of(&req.branch, d)?;
    let card_in_id = match exit_of(&ctx, b, d, at).await? {
        ExitOf::Stay(id) => id,
        ExitOf::Unmatched(key) => return passage(&ctx, b, source, &key, "unmatched-out", d).await,
    };
    if source != SOURCE_PARK {
        return passage(&ctx, b, source, &card_in_id, "out", d).await;
    }
    let (controller_no, controller_name) = lane(&req.branch, d)?;
    let facts = ExitFacts { at, controller_no, controller_name };
    let image = picture(d)?;
    let branch = b.to_string();
    let extra = move |s: &Stay| -> Vec<OutEvent> { image.clone().map(|img| image_event(&branch, s, at, "2", img)).into_iter().collect() };
    stays::exit(&ctx, b, &card_in_id, &facts, &extra).await?;
    Ok(Reply::data(Value::Null))
}

pub fn register(reg: &mut Registry) {
    reg.handle("cat.upload.indata", handler(indata));
    reg.handle("cat.upload.outdata", handler(outdata));
}
