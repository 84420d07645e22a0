//! Lane presence: the car now in front of each lane (plate, what was decided,
//! when), one record per lane. Written by every source that sees a car at a
//! lane (9.18, 9.19, scan-to-pass); read by whatever names a car by its lane
//! and by the unlock that re-decides for a car waiting at an exit.
//!
//! A record expires `PRESENCE_SECS` after it was written: a car that waited
//! that long has driven off or will be seen again, and a stale record must not
//! open a gate for a car that is no longer there.

use crate::keys;
use crate::park::lane::Decision;
use chrono::NaiveDateTime;
use onecard_core::config::Lane;
use onecard_core::kit::stamp;
use onecard_core::store::{now_unix, Cond, Item, Query};
use onecard_core::{ApiResult, Ctx};
use serde::{Deserialize, Serialize};

/// How long a lane remembers its car.
pub const PRESENCE_SECS: i64 = 10 * 60;

/// What a lane decided for the car in front of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub pass: bool,
    /// Refused for now but waiting (a lock): an unlock re-decides.
    pub held: bool,
    pub rule: String,
    pub hint: String,
}

impl Seen {
    pub fn of(d: &Decision) -> Seen {
        Seen { pass: d.pass, held: d.held, rule: d.rule.to_string(), hint: d.hint_text.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub device_id: String,
    /// Normalised plate.
    pub plate: String,
    pub lane: Lane,
    /// Branch-local time the car was seen (`yyyy-MM-dd HH:mm:ss`).
    pub at: String,
    /// None for a plate read that asked for no decision (9.19).
    pub decision: Option<Seen>,
    /// Which interface saw it: "9.18", "9.19", "6.24", "6.42", "6.19".
    pub source: String,
    /// Unix seconds by the domain clock after which the record names no car.
    /// The item's store TTL only sweeps it away later: the store's TTL runs
    /// on the machine clock, which a test or an offset clock does not move.
    pub expires: i64,
}

impl Presence {
    fn live(&self, ctx: &Ctx) -> bool {
        self.expires > ctx.clock.now().timestamp()
    }
}

fn expiry(ctx: &Ctx) -> i64 {
    ctx.clock.now().timestamp() + PRESENCE_SECS
}

/// Records a decision taken for the car at `device`.
pub async fn decided(ctx: &Ctx, branch: &str, device: &str, d: &Decision, at: NaiveDateTime, source: &str) -> ApiResult<()> {
    let p = Presence { device_id: device.into(), plate: d.plate.clone(), lane: d.lane, at: stamp(at), decision: Some(Seen::of(d)), source: source.into(), expires: expiry(ctx) };
    put(ctx, branch, &p).await
}

/// Records a plate read at `device`. A read of the car the lane already
/// decided for keeps that decision: the camera reporting the same car again
/// changes nothing about what was decided for it.
pub async fn seen(ctx: &Ctx, branch: &str, device: &str, plate: &str, lane: Lane, at: NaiveDateTime, source: &str) -> ApiResult<()> {
    let decision = at_lane(ctx, branch, device).await?.filter(|p| p.plate == plate).and_then(|p| p.decision);
    let p = Presence { device_id: device.into(), plate: plate.into(), lane, at: stamp(at), decision, source: source.into(), expires: expiry(ctx) };
    put(ctx, branch, &p).await
}

async fn put(ctx: &Ctx, branch: &str, p: &Presence) -> ApiResult<()> {
    let body = serde_json::to_value(p).map_err(onecard_core::ApiError::system)?;
    // The latest sighting wins: a lane has one car in front of it.
    ctx.store.put(Item::new(keys::lane_presence(branch), &p.device_id, body).with_ttl(now_unix() + PRESENCE_SECS), Cond::None).await?;
    Ok(())
}

/// The car now in front of `device`, if one was seen recently.
pub async fn at_lane(ctx: &Ctx, branch: &str, device: &str) -> ApiResult<Option<Presence>> {
    match ctx.store.get(&keys::lane_presence(branch), device).await? {
        Some(item) => Ok(Some(item.parse::<Presence>()?).filter(|p| p.live(ctx))),
        None => Ok(None),
    }
}

/// The car at `device` that the lane refused for payment (6.42
/// `checkWaitingCar`): the car a scan at that lane pays for.
pub async fn awaiting_payment(ctx: &Ctx, branch: &str, device: &str) -> ApiResult<Option<String>> {
    let p = at_lane(ctx, branch, device).await?;
    Ok(p.filter(|p| p.decision.as_ref().is_some_and(|d| !d.pass && !d.held && d.rule == super::rules::FEE_SETTLED)).map(|p| p.plate))
}

/// Every lane where `plate` stands now, held by a decision: the lanes an
/// unlock must decide again.
pub async fn held(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Vec<Presence>> {
    let items = ctx.store.query_all(&Query::partition(keys::lane_presence(branch))).await?;
    let mut out = Vec::new();
    for item in &items {
        let p: Presence = item.parse()?;
        if p.live(ctx) && p.plate == plate && p.decision.as_ref().is_some_and(|d| d.held) {
            out.push(p);
        }
    }
    Ok(out)
}
