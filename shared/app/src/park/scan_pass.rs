//! Scan-to-enter (6.24 `park.in.notice`) and scan-to-exit (6.42
//! `park.out.notice`): a driver scans a code at a lane, the client tells the
//! cloud, and the cloud decides as the lane camera would (`lane::decide`),
//! opens the gate through the site link and records the passage.
//!
//! The passage is recorded by the cloud, after the gate acknowledged: a
//! scanning driver is often one the camera could not read, so no upload from
//! the site will describe this entry or exit. A refusal is an answer
//! (`result` non-zero, status true), not an error: the seed gives each reason
//! a result code.

use super::cardlink::{card_terms, TEMPORARY};
use super::hardware::{controller, deadline, send};
use super::lane::{decide, LaneRef};
use super::stays::{self, Arrival, ExitFacts, Stay};
use crate::cards;
use onecard_core::config::Lane;
use onecard_core::fields::normalize_plate;
use onecard_core::link::action;
use onecard_core::{handler, time, ApiError, ApiResult, Ctx, Fen, Registry, Reply, Req};
use serde_json::{json, Value};

/// 6.24 results.
const IN_ALLOWED: &str = "0";
const IN_PLATE_IN_PARK: &str = "2";
const IN_EXIT_LANE: &str = "3";
/// 6.42 results.
const OUT_ALLOWED: &str = "0";
const OUT_UNKNOWN_OPENID: &str = "1";
const OUT_UNKNOWN_PLATE: &str = "2";
const OUT_MISMATCH: &str = "4";
const OUT_ENTRY_LANE: &str = "5";
/// "Other reason" in both (printed 0xFF).
const OTHER: &str = "255";

/// What the driver scanned.
struct Credential {
    kind: i64,
    value: Option<String>,
    open_id: Option<String>,
}

fn credential(req: &Req) -> ApiResult<Credential> {
    let kind = req.data.i64("credentialType")?;
    if !(1..=3).contains(&kind) {
        return Err(ApiError::field("credentialType", format!("{kind} is not 1 (plate), 2 (barcode) or 3 (IC/ID card)")));
    }
    let value = req.data.opt_str("credential")?;
    let open_id = req.data.opt_str_any(&["openId", "openid"])?;
    if value.is_none() && open_id.is_none() {
        return Err(ApiError::field("credential", "one of credential and openId is required"));
    }
    Ok(Credential { kind, value, open_id })
}

/// The plate a credential stands for at an entrance: the plate itself, or the
/// first plate of the card whose face number was scanned.
async fn entry_plate(ctx: &Ctx, branch: &str, c: &Credential) -> ApiResult<Option<String>> {
    let Some(v) = &c.value else { return Ok(None) };
    match c.kind {
        1 => Ok(Some(normalize_plate(v))),
        3 => Ok(cards::get_card(ctx, branch, v).await?.and_then(|card| card.plates.into_iter().next()).map(|p| normalize_plate(&p))),
        _ => Ok(None),
    }
}

fn answer(result: &str, reason: &str, extra: Value) -> Reply {
    let mut data = json!({ "result": result });
    if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
        d.extend(e);
    }
    let r = Reply::data(data);
    if reason.is_empty() {
        r
    } else {
        r.with_message(reason)
    }
}

fn new_card_in_id(req: &Req) -> String {
    format!("scan-{}-{}", req.now.format("%Y%m%d%H%M%S"), &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// 6.24.
async fn in_notice(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let lane = controller(&req)?.clone();
    let cred = credential(&req)?;
    let b = req.branchno();
    if lane.lane != Lane::In {
        return Ok(answer(IN_EXIT_LANE, "an exit lane does not admit cars", json!({})));
    }
    let Some(plate) = entry_plate(&ctx, b, &cred).await? else {
        return Ok(answer(OTHER, "the credential names no plate this car park knows", json!({})));
    };
    if stays::in_park(&ctx, b, 1, &plate).await?.is_some() {
        return Ok(answer(IN_PLATE_IN_PARK, &format!("{plate} is already in the car park"), json!({})));
    }
    let d = decide(&ctx, &req.branch, LaneRef::Device(&lane.device_id), &plate, req.now).await?;
    if !d.pass {
        return Ok(answer(OTHER, &d.hint_text, json!({})));
    }
    send(&ctx, &req, &lane.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    let card = card_terms(&ctx, b, &plate).await?;
    let stay = Stay::arrived(Arrival {
        card_in_id: new_card_in_id(&req),
        plate,
        card_no: if cred.kind == 3 { cred.value.clone() } else { None },
        area: lane.area.clone(),
        entry: req.now,
        controller_no: lane.controller_no.clone(),
        controller_name: lane.name.clone(),
        booking_no: None,
        user_id: cred.open_id.clone(),
        func_type: card.as_ref().map(|c| c.func_type_at(req.now)).unwrap_or(TEMPORARY),
    });
    stays::enter(&ctx, b, &stay, &[]).await?;
    Ok(answer(IN_ALLOWED, "", json!({ "indate": time::format(req.now), "cardInId": stay.card_in_id })))
}

/// 6.42.
async fn out_notice(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let lane = controller(&req)?.clone();
    let cred = credential(&req)?;
    let b = req.branchno();
    if lane.lane != Lane::Out {
        return Ok(answer(OUT_ENTRY_LANE, "an entrance does not let cars out", json!({})));
    }
    let stay = match (&cred.value, cred.kind) {
        (Some(v), 1) => stays::in_park(&ctx, b, 1, v).await?,
        (Some(v), 2) => stays::in_park(&ctx, b, 2, v).await?,
        (Some(v), _) => match cards::get_card(&ctx, b, v).await? {
            Some(card) => {
                let mut found = None;
                for p in &card.plates {
                    if let Some(s) = stays::in_park(&ctx, b, 1, p).await? {
                        found = Some(s);
                        break;
                    }
                }
                found
            }
            None => None,
        },
        (None, _) => None,
    };
    let Some((stay, _)) = stay else {
        return Ok(match cred.value {
            Some(v) => answer(OUT_UNKNOWN_PLATE, &format!("{v} is not in the car park"), json!({})),
            None => answer(OUT_UNKNOWN_OPENID, "no car in the car park is known by this openId", json!({})),
        });
    };
    if let (Some(want), Some(have)) = (&cred.open_id, &stay.user_id) {
        if cred.value.is_some() && want != have {
            return Ok(answer(OUT_MISMATCH, "openId and plate do not match", json!({})));
        }
    }
    let plate = stay.display_plate();
    let d = decide(&ctx, &req.branch, LaneRef::Device(&lane.device_id), &plate, req.now).await?;
    if !d.pass {
        return Ok(answer(OTHER, &d.hint_text, json!({ "carno": plate, "parkcost": d.due.yuan(), "amount": d.due.yuan() })));
    }
    send(&ctx, &req, &lane.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    let facts = ExitFacts { at: req.now, controller_no: lane.controller_no.clone(), controller_name: lane.name.clone() };
    let left = stays::exit(&ctx, b, &stay.card_in_id, &facts, &|_| Vec::new()).await?;
    let minutes = ((req.now - left.entry).num_seconds().max(0) + 59) / 60;
    Ok(answer(
        OUT_ALLOWED,
        "",
        json!({
            "carno": plate,
            "numno": left.numno(),
            "cardNo": left.card_no.clone().unwrap_or_default(),
            "entertime": time::format(left.entry),
            "parktime": minutes.to_string(),
            "parkcost": Fen::ZERO.yuan(),
            "amount": Fen::ZERO.yuan(),
            "cardInId": left.card_in_id,
            "calcstarttime": time::format(left.last_paid_at().unwrap_or(left.entry)),
            "calcendtime": time::format(req.now),
            "credentialtype": if cred.kind == 2 { "2" } else { "1" },
        }),
    ))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.in.notice", handler(in_notice));
    reg.handle("park.out.notice", handler(out_notice));
}

#[cfg(test)]
#[path = "scan_pass_tests.rs"]
mod tests;
