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
use crate::lanes::presence;
use onecard_core::config::Lane;
use onecard_core::kit::{self, stamp, Flag, Int, Plate, RouteDef, Text, WithMessage};
use onecard_core::link::action;
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// 6.24 results.
const IN_ALLOWED: &str = "0";
const IN_PLATE_IN_PARK: &str = "2";
const IN_EXIT_LANE: &str = "3";
/// 6.42 results.
const OUT_ALLOWED: &str = "0";
const OUT_UNKNOWN_OPENID: &str = "1";
const OUT_UNKNOWN_PLATE: &str = "2";
const OUT_BOOTH_BUSY: &str = "3";
const OUT_MISMATCH: &str = "4";
const OUT_ENTRY_LANE: &str = "5";
/// "Other reason" in both (printed 0xFF).
const OTHER: &str = "255";

/// 6.24 / 6.42 input: what the driver scanned, at which lane. `credentialType`
/// says what `credential` holds (1 plate, 2 barcode, 3 IC/ID card face
/// number), so it stays text until the type is known.
#[derive(Deserialize, JsonSchema)]
pub struct ScanIn {
    #[serde(rename = "deviceID", alias = "deviceId", alias = "deviceid")]
    pub device_id: Text,
    #[serde(rename = "credentialType")]
    pub kind: Int,
    pub credential: Option<Text>,
    #[serde(rename = "openId", alias = "openid")]
    pub open_id: Option<Text>,
    /// 1 other tool, 2 WeChat, 3 Alipay: informative only.
    #[serde(rename = "scanTool")]
    pub scan_tool: Option<Text>,
    /// 6.42: the car waiting to pay at this lane (lane presence) is the one
    /// the scan is for.
    #[serde(rename = "checkWaitingCar")]
    pub check_waiting_car: Option<Flag>,
    /// Decision 20: the dynamic code's `rnd` (9.7/9.8), checked against the
    /// lane's current and previous one.
    pub rnd: Option<Text>,
}

/// What the driver scanned.
struct Credential {
    kind: i64,
    value: Option<String>,
    open_id: Option<String>,
}

impl ScanIn {
    fn credential(&self) -> ApiResult<Credential> {
        let kind = self.kind.get();
        if !(1..=3).contains(&kind) {
            return Err(ApiError::field("credentialType", format!("{kind} is not 1 (plate), 2 (barcode) or 3 (IC/ID card)")));
        }
        let value = self.credential.clone().map(String::from);
        let open_id = self.open_id.clone().map(String::from);
        if value.is_none() && open_id.is_none() {
            return Err(ApiError::field("credential", "one of credential and openId is required"));
        }
        if kind == 1 {
            if let Some(v) = &value {
                Plate::parse(v).map_err(|e| ApiError::field("credential", e))?;
            }
        }
        Ok(Credential { kind, value, open_id })
    }
}

/// The plate a credential stands for at an entrance: the plate itself, or the
/// first plate of the card whose face number was scanned.
async fn entry_plate(ctx: &Ctx, branch: &str, c: &Credential) -> ApiResult<Option<Plate>> {
    let Some(v) = &c.value else { return Ok(None) };
    match c.kind {
        1 => Ok(Plate::parse(v).ok()),
        3 => Ok(cards::get_card(ctx, branch, v).await?.and_then(|card| card.plates.into_iter().next()).and_then(|p| Plate::parse(&p).ok())),
        _ => Ok(None),
    }
}

/// 6.24 output; a refusal's reason is the envelope's message.
#[derive(Serialize, JsonSchema)]
pub struct InNoticeOut {
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indate: Option<String>,
    #[serde(rename = "cardInId", skip_serializing_if = "Option::is_none")]
    pub card_in_id: Option<String>,
}

fn refuse_in(result: &str, reason: impl Into<String>) -> WithMessage<InNoticeOut> {
    WithMessage::optional(InNoticeOut { result: result.into(), indate: None, card_in_id: None }, Some(reason.into()))
}

fn new_card_in_id(req: &Req) -> String {
    format!("scan-{}-{}", req.now.format("%Y%m%d%H%M%S"), &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// 6.24.
async fn in_notice(ctx: Ctx, req: Req, input: ScanIn) -> ApiResult<WithMessage<InNoticeOut>> {
    let lane = controller(&req.branch, &input.device_id)?.clone();
    let cred = input.credential()?;
    let b = req.branchno();
    if lane.lane != Lane::In {
        return Ok(refuse_in(IN_EXIT_LANE, "an exit lane does not admit cars"));
    }
    if let Some(stale) = crate::payments::qr::check_rnd(&ctx, b, &lane.device_id, input.rnd.as_deref()).await? {
        return Ok(refuse_in(OTHER, stale));
    }
    let Some(plate) = entry_plate(&ctx, b, &cred).await? else {
        return Ok(refuse_in(OTHER, "the credential names no plate this car park knows"));
    };
    if stays::in_park(&ctx, b, 1, plate.norm()).await?.is_some() {
        return Ok(refuse_in(IN_PLATE_IN_PARK, format!("{} is already in the car park", plate.norm())));
    }
    let d = decide(&ctx, &req.branch, LaneRef::Device(&lane.device_id), &plate, req.now).await?;
    presence::decided(&ctx, b, &lane.device_id, &d, req.now, "6.24").await?;
    if !d.pass {
        return Ok(refuse_in(OTHER, d.hint_text));
    }
    send(&ctx, &req, &lane.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    let card = card_terms(&ctx, b, plate.norm()).await?;
    let stay = Stay::arrived(Arrival {
        card_in_id: new_card_in_id(&req),
        plate: plate.norm().to_string(),
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
    let out = InNoticeOut { result: IN_ALLOWED.into(), indate: Some(stamp(req.now)), card_in_id: Some(stay.card_in_id) };
    Ok(WithMessage::optional(out, None))
}

/// 6.42 output: `result`, and when the car leaves the 6.1 fields of its stay
/// (a car refused for payment gets what is due).
#[derive(Default, Serialize, JsonSchema)]
pub struct OutNoticeOut {
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carno: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numno: Option<String>,
    #[serde(rename = "cardNo", skip_serializing_if = "Option::is_none")]
    pub card_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entertime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parktime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parkcost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(rename = "cardInId", skip_serializing_if = "Option::is_none")]
    pub card_in_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calcstarttime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calcendtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentialtype: Option<String>,
}

fn refuse_out(result: &str, reason: impl Into<String>) -> WithMessage<OutNoticeOut> {
    WithMessage::optional(OutNoticeOut { result: result.into(), ..OutNoticeOut::default() }, Some(reason.into()))
}

/// 6.42.
async fn out_notice(ctx: Ctx, req: Req, input: ScanIn) -> ApiResult<WithMessage<OutNoticeOut>> {
    let lane = controller(&req.branch, &input.device_id)?.clone();
    let cred = input.credential()?;
    let b = req.branchno();
    if lane.lane != Lane::Out {
        return Ok(refuse_out(OUT_ENTRY_LANE, "an entrance does not let cars out"));
    }
    if let Some(stale) = crate::payments::qr::check_rnd(&ctx, b, &lane.device_id, input.rnd.as_deref()).await? {
        return Ok(refuse_out(OTHER, stale));
    }
    let waiting = match input.check_waiting_car.is_some_and(Flag::get) {
        true => presence::awaiting_payment(&ctx, b, &lane.device_id).await?,
        false => None,
    };
    let cred = match &waiting {
        // A scanned plate other than the waiting car's: the lane is busy.
        Some(w) if cred.kind == 1 && cred.value.as_deref().is_some_and(|v| Plate::parse(v).map_or(true, |p| p.norm() != w.as_str())) => {
            return Ok(refuse_out(OUT_BOOTH_BUSY, format!("the lane is busy with {w}")));
        }
        Some(w) => Credential { kind: 1, value: Some(w.clone()), open_id: cred.open_id },
        None => cred,
    };
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
            Some(v) => refuse_out(OUT_UNKNOWN_PLATE, format!("{v} is not in the car park")),
            None => refuse_out(OUT_UNKNOWN_OPENID, "no car in the car park is known by this openId"),
        });
    };
    if let (Some(want), Some(have)) = (&cred.open_id, &stay.user_id) {
        // The waiting car is paid for by whoever scans at its lane.
        if cred.value.is_some() && waiting.is_none() && want != have {
            return Ok(refuse_out(OUT_MISMATCH, "openId and plate do not match"));
        }
    }
    let plate = stay.display_plate();
    let known = Plate::parse(&plate).map_err(|e| ApiError::system(format!("stay {} holds no plate: {e}", stay.card_in_id)))?;
    let d = decide(&ctx, &req.branch, LaneRef::Device(&lane.device_id), &known, req.now).await?;
    presence::decided(&ctx, b, &lane.device_id, &d, req.now, "6.42").await?;
    if !d.pass {
        let due = OutNoticeOut {
            result: OTHER.into(),
            carno: Some(plate),
            parkcost: Some(d.due.yuan()),
            amount: Some(d.due.yuan()),
            ..OutNoticeOut::default()
        };
        return Ok(WithMessage::optional(due, Some(d.hint_text)));
    }
    send(&ctx, &req, &lane.device_id, action::GATE_OPEN, json!({}), deadline(&req)).await?;
    let facts = ExitFacts { at: req.now, controller_no: lane.controller_no.clone(), controller_name: lane.name.clone(), photo: None };
    let left = stays::exit(&ctx, b, &stay.card_in_id, &facts, &|_| Vec::new()).await?;
    let minutes = ((req.now - left.entry).num_seconds().max(0) + 59) / 60;
    let out = OutNoticeOut {
        result: OUT_ALLOWED.into(),
        carno: Some(plate),
        numno: Some(left.numno()),
        card_no: Some(left.card_no.clone().unwrap_or_default()),
        entertime: Some(stamp(left.entry)),
        parktime: Some(minutes.to_string()),
        parkcost: Some(Fen::ZERO.yuan()),
        amount: Some(Fen::ZERO.yuan()),
        card_in_id: Some(left.card_in_id.clone()),
        calcstarttime: Some(stamp(left.last_paid_at().unwrap_or(left.entry))),
        calcendtime: Some(stamp(req.now)),
        credentialtype: Some(if cred.kind == 2 { "2" } else { "1" }.into()),
    };
    Ok(WithMessage::optional(out, None))
}

/// Both open a gate and record a passage.
pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.in.notice", in_notice), kit::write("park.out.notice", out_notice)]
}

#[cfg(test)]
#[path = "scan_pass_tests.rs"]
mod tests;
