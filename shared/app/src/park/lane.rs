//! The lane decision: may this car pass this lane now? Served as 9.18
//! `cat.pass.validate`, and reused by scan-to-enter/exit and the re-decision
//! after an unlock. The policy itself is the ordered rule list of
//! `crate::lanes::rules`; this module resolves the lane and shapes the answer.
//!
//! Decision 14: the lane decides at the server clock when the site's own clock
//! is more than `SITE_CLOCK_TOLERANCE_SECS` off (`live_time`).

use crate::lanes::rules::{self, Facts, Step};
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
    /// Refused for now, but the car waits for the reason to go away (a lock).
    pub held: bool,
    /// The rule of `lanes::rules` that decided.
    pub rule: &'static str,
    pub hint_text: String,
    /// What the lane says aloud, when it differs from the text (6.78 hints).
    pub hint_voice: Option<String>,
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
            hint_voice: self.hint_voice.clone().unwrap_or_else(|| self.hint_text.clone()),
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

/// Decides whether `plate` may pass `lane` at `at`.
pub async fn decide(ctx: &Ctx, branch: &Branch, lane: LaneRef<'_>, plate: &Plate, at: NaiveDateTime) -> ApiResult<Decision> {
    let (dir, area) = resolve(branch, lane)?;
    let device = match lane {
        LaneRef::Device(d) | LaneRef::DeviceAs(d, _) => Some(d),
        LaneRef::Direction(_) => None,
    };
    let facts = Facts::gather(ctx, branch, dir, device, area, plate.norm(), at).await?;
    let (rule, step) = rules::run(&facts).await?;
    let mut d = Decision { plate: facts.plate.clone(), lane: dir, pass: false, held: false, rule, hint_text: String::new(), hint_voice: None, hint_type: 0, due: Fen::ZERO, off: Fen::ZERO };
    match step {
        Step::Pass { hint, hint_type, off } => {
            d.pass = true;
            d.hint_text = hint;
            d.hint_type = hint_type;
            d.off = off;
        }
        Step::Refuse { hint, voice, due } => {
            d.hint_text = hint;
            d.hint_voice = voice;
            d.due = due;
        }
        Step::Hold { hint } => {
            d.held = true;
            d.hint_text = hint;
        }
        // `run` never answers Continue.
        Step::Continue => d.hint_text = format!("{} 请联系管理员", d.plate),
    }
    Ok(d)
}
