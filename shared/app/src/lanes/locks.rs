//! Car locks, 6.16-6.19 and 6.54, and the site's 9.4 notice.
//!
//! An owner locks a parked car so that it cannot be driven out without them:
//! 6.16 lock and 6.17 confirm lock both end locked, 6.18 cancel and 6.19
//! confirm unlock both end unlocked, and each is idempotent (locking a locked
//! car changes nothing, not even its lock time). A lock belongs to the stay it
//! was set on (its cardInId), so the next visit of the car starts unlocked.
//!
//! At an exit the lane rule `locked` holds the car (passFlag 0); the site
//! reports the waiting car by 9.4, recorded on the lock and shown by 6.54.
//! When the car is unlocked while it waits at an exit lane (lane presence
//! says so), the lane decides again and, if the car may now pass, the gate is
//! opened through the same hardware path as 6.25.
//!
//! A car not in the park can be locked only while a booking of it is pending
//! (or by the booking's own `needLock`): the lock then awaits the car's entry
//! and holds the first stay that begins after it; otherwise 700.

use super::presence;
use crate::keys;
use crate::park::hardware::{deadline, send};
use crate::park::lane::{decide, LaneRef};
use crate::park::stays::{self, Stay};
use chrono::NaiveDateTime;
use onecard_core::config::Lane;
use onecard_core::kit::{self, stamp, Null, Plate, RouteDef, Text, WithMessage};
use onecard_core::link::action;
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// 6.54 `lockStatus`.
pub const NONE: i64 = 0;
pub const LOCKED: i64 = 1;
pub const UNLOCKED: i64 = 2;
pub const NOT_IN_PARK: i64 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CarLock {
    /// Normalised plate.
    pub plate: String,
    /// The stay the lock was set on; empty while the lock awaits the car's
    /// entry (requested while a booking of the car was pending).
    pub card_in_id: String,
    /// The booking whose `needLock` asked for the lock.
    #[serde(default)]
    pub booking: Option<String>,
    pub status: i64,
    pub locked_at: String,
    pub unlocked_at: Option<String>,
    /// 9.4: the site reported the car waiting at an exit of this area.
    pub waiting: Option<Waiting>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub area_id: String,
    pub at: String,
}

async fn read(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Option<(CarLock, u64)>> {
    match ctx.store.get(&keys::car_locks(branch), plate).await? {
        Some(item) => Ok(Some((item.parse()?, item.version))),
        None => Ok(None),
    }
}

/// Does the lock hold this stay? Its own stay, or a lock that awaited an
/// entry made after it was requested.
fn belongs(l: &CarLock, stay: &Stay) -> bool {
    l.card_in_id == stay.card_in_id || (l.card_in_id.is_empty() && onecard_core::time::parse(&l.locked_at).is_some_and(|t| t <= stay.entry))
}

/// The lock of this stay, if one was ever set on it.
pub async fn of_stay(ctx: &Ctx, branch: &str, stay: &Stay) -> ApiResult<Option<(CarLock, u64)>> {
    Ok(read(ctx, branch, &stay.plate).await?.filter(|(l, _)| belongs(l, stay)))
}

/// Is the car of this stay locked now? (the exit rule `locked`)
pub async fn is_locked(ctx: &Ctx, branch: &str, stay: &Stay) -> ApiResult<bool> {
    Ok(of_stay(ctx, branch, stay).await?.is_some_and(|(l, _)| l.status == LOCKED))
}

/// Locks `plate` (normalised): its current stay, or, when the car is not in
/// the park and `await_entry` allows, the car's next entry. Idempotent: a
/// lock in force keeps its time. Answers 700 for a car not in the park that
/// may not wait.
pub async fn apply(ctx: &Ctx, branch: &str, plate: &str, now: NaiveDateTime, await_entry: bool, booking: Option<&str>) -> ApiResult<()> {
    let done = on_conflict("car lock", || async {
        let stay = stays::in_park(ctx, branch, 1, plate).await?.map(|(s, _)| s);
        let current = read(ctx, branch, plate).await?;
        let fresh = |card_in_id: &str| CarLock {
            plate: plate.into(),
            card_in_id: card_in_id.into(),
            booking: booking.map(str::to_string),
            status: LOCKED,
            locked_at: stamp(now),
            unlocked_at: None,
            waiting: None,
        };
        let (l, version) = match (&stay, current) {
            (Some(st), Some((l, _))) if belongs(&l, st) && l.status == LOCKED => return Ok(Step::Done(())),
            (Some(st), Some((_, v))) => (fresh(&st.card_in_id), Some(v)),
            (Some(st), None) => (fresh(&st.card_in_id), None),
            (None, _) if !await_entry => return Err(stays::not_in_park(plate)),
            (None, Some((l, _))) if l.card_in_id.is_empty() && l.status == LOCKED => return Ok(Step::Done(())),
            (None, Some((_, v))) => (fresh(""), Some(v)),
            (None, None) => (fresh(""), None),
        };
        let (item, cond) = put(branch, &l, version)?;
        Step::of(ctx.store.put(item, cond).await, ())
    })
    .await;
    // The agents hold the car at their exits offline from their copy.
    crate::cards::site_notify::after_card_change(ctx, branch, done).await
}

/// Drops a lock still awaiting its car when the booking that asked for it
/// is cancelled.
pub async fn drop_awaiting(ctx: &Ctx, branch: &str, plate: &str, booking: &str) -> ApiResult<()> {
    if let Some((l, v)) = read(ctx, branch, plate).await? {
        if l.card_in_id.is_empty() && l.booking.as_deref() == Some(booking) {
            ctx.store.delete(&keys::car_locks(branch), plate, Cond::VersionIs(v)).await?;
            crate::cards::site_notify::card_changed(ctx, branch).await;
        }
    }
    Ok(())
}

/// Every lock route names the car by `licensePlate`.
#[derive(Deserialize, JsonSchema)]
pub struct PlateIn {
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
}

fn put(branch: &str, l: &CarLock, version: Option<u64>) -> ApiResult<(Item, Cond)> {
    let item = Item::new(keys::car_locks(branch), &l.plate, serde_json::to_value(l).map_err(ApiError::system)?);
    Ok(match version {
        Some(v) => (item.with_version(v + 1), Cond::VersionIs(v)),
        None => (item, Cond::MustNotExist),
    })
}

/// 6.16 / 6.17: a car not in the park may be locked only while a booking
/// of it is pending; the lock then waits for its entry.
async fn lock(ctx: Ctx, req: Req, input: PlateIn) -> ApiResult<Null> {
    let b = req.branchno();
    let plate = input.plate.norm();
    let booked = super::live_bookings::from(&ctx, b, req.now, Some(plate)).await?.iter().any(|x| x.pending_at(req.now));
    apply(&ctx, b, plate, req.now, booked, None).await?;
    Ok(Null)
}

/// 6.18 / 6.19: unlocks (a lock awaiting its car too), then lets the car out
/// if it waits at an exit.
async fn unlock(ctx: Ctx, req: Req, input: PlateIn) -> ApiResult<WithMessage<Null>> {
    let b = req.branchno();
    let plate = input.plate.norm();
    on_conflict("car unlock", || async {
        let stay = stays::in_park(&ctx, b, 1, plate).await?.map(|(s, _)| s);
        let current = match &stay {
            Some(st) => of_stay(&ctx, b, st).await?,
            None => match read(&ctx, b, plate).await? {
                Some((l, v)) if l.card_in_id.is_empty() => Some((l, v)),
                _ => return Err(stays::not_in_park(input.plate.original())),
            },
        };
        let Some((l, v)) = current.filter(|(l, _)| l.status == LOCKED) else { return Ok(Step::Done(())) };
        let card_in_id = stay.as_ref().map_or(l.card_in_id.clone(), |st| st.card_in_id.clone());
        let l = CarLock { status: UNLOCKED, unlocked_at: Some(stamp(req.now)), card_in_id, ..l };
        let (item, cond) = put(b, &l, Some(v))?;
        Step::of(ctx.store.put(item, cond).await, ())
    })
    .await?;
    crate::cards::site_notify::card_changed(&ctx, b).await;
    let message = release_waiting(&ctx, &req, plate).await?;
    Ok(WithMessage::optional(Null, message))
}

/// Decides again for the car at every exit lane where it was held, and opens
/// the gate where it may now pass. The unlock stands whatever the gate does;
/// a gate that could not be opened is said in the answer's message (and the
/// site's next 9.18 for the car passes it).
async fn release_waiting(ctx: &Ctx, req: &Req, plate: &str) -> ApiResult<Option<String>> {
    let b = req.branchno();
    let mut problems = Vec::new();
    for p in presence::held(ctx, b, plate).await?.into_iter().filter(|p| p.lane == Lane::Out) {
        let known = Plate::parse(plate).map_err(ApiError::system)?;
        let d = decide(ctx, &req.branch, LaneRef::DeviceAs(&p.device_id, Lane::Out), &known, req.now).await?;
        presence::decided(ctx, b, &p.device_id, &d, req.now, "6.19").await?;
        if !d.pass {
            problems.push(format!("{}: {}", p.device_id, d.hint_text));
            continue;
        }
        if let Err(e) = send(ctx, req, &p.device_id, action::GATE_OPEN, json!({}), deadline(req)).await {
            tracing::warn!(branch = b, device = %p.device_id, plate, error = %e, "gate not opened after unlock");
            problems.push(format!("gate {} not opened: {}", p.device_id, e.message));
        }
    }
    Ok((!problems.is_empty()).then(|| problems.join("; ")))
}

/// 6.54 output.
#[derive(Serialize, JsonSchema)]
pub struct StatusOut {
    #[serde(rename = "licensePlate")]
    pub plate: String,
    #[serde(rename = "lockStatus")]
    pub status: String,
    #[serde(rename = "lockDate", skip_serializing_if = "Option::is_none")]
    pub locked_at: Option<String>,
    #[serde(rename = "unlockDate", skip_serializing_if = "Option::is_none")]
    pub unlocked_at: Option<String>,
    /// Not in the seed: the site reported the locked car waiting at an exit
    /// (9.4), in this area, at this time.
    #[serde(rename = "waitAreaId", skip_serializing_if = "Option::is_none")]
    pub wait_area: Option<String>,
    #[serde(rename = "waitDate", skip_serializing_if = "Option::is_none")]
    pub wait_at: Option<String>,
}

/// 6.54: a car not in the park is a status (3), not an error.
async fn status(ctx: Ctx, req: Req, input: PlateIn) -> ApiResult<StatusOut> {
    let b = req.branchno();
    let mut out = StatusOut { plate: input.plate.original().into(), status: NOT_IN_PARK.to_string(), locked_at: None, unlocked_at: None, wait_area: None, wait_at: None };
    let Some((stay, _)) = stays::in_park(&ctx, b, 1, input.plate.norm()).await? else { return Ok(out) };
    out.status = NONE.to_string();
    if let Some((l, _)) = of_stay(&ctx, b, &stay).await? {
        out.status = l.status.to_string();
        out.locked_at = Some(l.locked_at);
        out.unlocked_at = l.unlocked_at;
        out.wait_area = l.waiting.as_ref().map(|w| w.area_id.clone());
        out.wait_at = l.waiting.map(|w| w.at);
    }
    Ok(out)
}

/// 9.4 input.
#[derive(Deserialize, JsonSchema)]
pub struct WaitingIn {
    #[serde(rename = "areaId")]
    pub area_id: Text,
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
}

/// 9.4: the site holds a locked car at an exit. Recorded on the lock; the seed
/// names no outbound route to the owner, so none is invented. A car the cloud
/// does not hold locked is answered with a message and nothing recorded (the
/// site's copy of the locks may be older than the cloud's).
async fn waiting(ctx: Ctx, req: Req, input: WaitingIn) -> ApiResult<WithMessage<Null>> {
    let b = req.branchno();
    let recorded = on_conflict("car lock waiting", || async {
        let Some((stay, _)) = stays::in_park(&ctx, b, 1, input.plate.norm()).await? else { return Ok(Step::Done(false)) };
        let Some((l, v)) = of_stay(&ctx, b, &stay).await? else { return Ok(Step::Done(false)) };
        if l.status != LOCKED {
            return Ok(Step::Done(false));
        }
        let l = CarLock { waiting: Some(Waiting { area_id: input.area_id.to_string(), at: stamp(req.now) }), card_in_id: stay.card_in_id.clone(), ..l };
        let (item, cond) = put(b, &l, Some(v))?;
        Step::of(ctx.store.put(item, cond).await, true)
    })
    .await?;
    let message = (!recorded).then(|| format!("{} is not locked: nothing recorded", input.plate.norm()));
    Ok(WithMessage::optional(Null, message))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.lockcar", lock),
        kit::write("park.lockcar.confirm", lock),
        kit::write("park.lockcar.cancel", unlock),
        kit::write("park.unlockcar.confirm", unlock),
        kit::read("park.lockcar.status.get", status),
        kit::write("cat.notice.unlockcar", waiting),
    ]
}
