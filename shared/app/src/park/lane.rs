//! The lane decision: may this car pass this lane now? Served as 9.18
//! `cat.pass.validate`, and reused by the site link for scan-to-enter/exit.
//!
//! Entry: a disabled or cancelled card is refused; a valid monthly card passes
//! ("月卡 剩余N天"); anyone else is a temporary car and passes with a welcome
//! unless the lane's area is full.
//! Exit: a valid monthly card passes; otherwise the stay is priced as `calc`
//! would price it (nothing is written) and the car passes when nothing is due
//! (zero fee, fully paid, or inside the grace after paying); else it is told
//! what to pay (in `hintText`; `offMoney` is the seed's free amount, never
//! the amount due).
//!
//! Decision 14: the lane decides at the server clock when the site's own clock
//! is more than `SITE_CLOCK_TOLERANCE_SECS` off (`live_time`).

use super::cardlink::card_terms;
use super::fees::{car_type_for, quote_stay, CardTerms};
use super::stays;
use crate::cards::CardState;
use chrono::NaiveDateTime;
use onecard_core::config::{Branch, Lane};
use onecard_core::kit::Plate;
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use schemars::JsonSchema;
use serde::Serialize;

/// Which lane a car stands at: a controller (its lane and area come from the
/// branch configuration) or a bare direction (area unknown: the whole branch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneRef<'a> {
    Device(&'a str),
    Direction(Lane),
    /// A direction the caller states, at a device that may be configured (its
    /// area is then used).
    DeviceAs(&'a str, Lane),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub plate: String,
    pub lane: Lane,
    pub pass: bool,
    pub hint_text: String,
    /// The seed's hintType: 0 not free, 1 fully free, 3 free by amount.
    pub hint_type: i64,
    /// What is due at an exit that is refused for payment.
    pub due: Fen,
    /// `offMoney`: what was waived for this stay (hintType 3).
    pub off: Fen,
}

/// How far a site's `passTime` may be from the server clock before the lane
/// decides at the server clock instead (decision 14).
pub const SITE_CLOCK_TOLERANCE_SECS: i64 = 120;

/// The time a live lane decision uses: the site's, unless its clock is off by
/// more than the tolerance, in which case the server's (and the gap is logged:
/// a drifting site clock would otherwise price exits wrongly).
pub fn live_time(branch: &str, site: NaiveDateTime, now: NaiveDateTime) -> NaiveDateTime {
    if (site - now).num_seconds().abs() > SITE_CLOCK_TOLERANCE_SECS {
        tracing::warn!(branch, site = %site, server = %now, "site passTime off the server clock; deciding at the server clock");
        now
    } else {
        site
    }
}

/// The 9.18 answer, every field a string as printed.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct PassOut {
    #[serde(rename = "carNo")]
    pub car_no: String,
    /// 1 open the gate, 0 may not pass.
    #[serde(rename = "passFlag")]
    pub pass_flag: String,
    #[serde(rename = "hintVoice")]
    pub hint_voice: String,
    #[serde(rename = "hintText")]
    pub hint_text: String,
    #[serde(rename = "hintType")]
    pub hint_type: String,
    #[serde(rename = "hintTime")]
    pub hint_time: String,
    #[serde(rename = "offMoney")]
    pub off_money: String,
}

impl Decision {
    pub fn to_wire(&self) -> PassOut {
        PassOut {
            car_no: self.plate.clone(),
            pass_flag: if self.pass { "1" } else { "0" }.into(),
            hint_voice: self.hint_text.clone(),
            hint_text: self.hint_text.clone(),
            hint_type: self.hint_type.to_string(),
            hint_time: "0".into(),
            off_money: self.off.yuan(),
        }
    }
}

fn resolve<'b>(branch: &'b Branch, lane: LaneRef<'_>) -> ApiResult<(Lane, Option<&'b str>)> {
    match lane {
        LaneRef::Direction(l) => Ok((l, None)),
        LaneRef::DeviceAs(id, l) => Ok((l, branch.controller(id).map(|c| c.area.as_str()))),
        LaneRef::Device(id) => branch
            .controller(id)
            .map(|c| (c.lane, Some(c.area.as_str())))
            .ok_or_else(|| ApiError::field("deviceID", format!("'{id}' is not a lane controller of this car park"))),
    }
}

fn days_left(card: &CardTerms, at: NaiveDateTime) -> i64 {
    (card.valid_to.date() - at.date()).num_days().max(0)
}

/// Decides whether `plate` may pass `lane` at `at`. `area` narrows a bare
/// direction to an area for the capacity check.
pub async fn decide(ctx: &Ctx, branch: &Branch, lane: LaneRef<'_>, plate: &Plate, at: NaiveDateTime) -> ApiResult<Decision> {
    let (dir, area) = resolve(branch, lane)?;
    let plate = plate.norm().to_string();
    let b = branch.branchno.as_str();
    let card = card_terms(ctx, b, &plate).await?;
    let mut d = Decision { plate: plate.clone(), lane: dir, pass: false, hint_text: String::new(), hint_type: 0, due: Fen::ZERO, off: Fen::ZERO };
    match dir {
        Lane::In => {
            if let Some(c) = card.as_ref().filter(|c| c.state != CardState::Active) {
                d.hint_text = format!("{plate} 卡已{}，禁止通行", if c.state == CardState::Disabled { "停用" } else { "注销" });
                return Ok(d);
            }
            if let Some(c) = card.as_ref().filter(|c| c.monthly.is_some() && c.valid_at(at)) {
                d.pass = true;
                d.hint_type = 1;
                d.hint_text = format!("{plate} 月卡 剩余{}天", days_left(c, at));
                return Ok(d);
            }
            if lot_full(ctx, branch, area).await? {
                d.hint_text = format!("{plate} 车位已满");
                return Ok(d);
            }
            d.pass = true;
            d.hint_text = format!("{plate} 欢迎光临");
        }
        Lane::Out => {
            if let Some(c) = card.as_ref().filter(|c| c.monthly.is_some() && c.valid_at(at)) {
                d.pass = true;
                d.hint_type = 1;
                d.hint_text = format!("{plate} 月卡 剩余{}天 一路顺风", days_left(c, at));
                return Ok(d);
            }
            let Some((stay, _)) = stays::in_park(ctx, b, 1, &plate).await? else {
                d.hint_text = format!("{plate} 无入场记录，请联系管理员");
                return Ok(d);
            };
            let car_type = car_type_for(ctx, b, None, card.as_ref()).await?;
            let q = quote_stay(ctx, branch, &stay, car_type, card.as_ref(), at.max(stay.entry)).await?;
            if q.due == Fen::ZERO {
                d.pass = true;
                // A stay that paid less than was due by a waiver (6.2
                // freeType) was free by that amount; otherwise nothing is
                // owed at all.
                let waived = stay.payments.iter().filter(|p| p.full).map(|p| (p.due - p.amount).max0()).fold(Fen::ZERO, |a, b| a + b);
                d.off = waived;
                d.hint_type = if waived > Fen::ZERO { 3 } else { 1 };
                d.hint_text = format!("{plate} 一路顺风");
            } else {
                d.due = q.due;
                d.hint_text = format!("{plate} 请缴费{}元", q.due);
            }
        }
    }
    Ok(d)
}

/// Full when the cars in the area (or the whole park for an unknown area) fill
/// its configured spaces.
async fn lot_full(ctx: &Ctx, branch: &Branch, area: Option<&str>) -> ApiResult<bool> {
    let cars = stays::occupancy(ctx, &branch.branchno).await?;
    let (used, capacity) = match area.and_then(|a| branch.areas.iter().find(|x| x.id == a)) {
        Some(a) => (cars.iter().filter(|(x, _)| *x == a.id).count() as i64, a.capacity),
        None => (cars.len() as i64, branch.capacity()),
    };
    Ok(used >= capacity)
}
