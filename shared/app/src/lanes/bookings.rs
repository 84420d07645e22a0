//! Bookings, 6.12-6.14, 6.101 and 6.79.
//!
//! The branch's booking configuration (mode, charge, validity, entries a
//! booking allows, and the slots with their capacity) is reference data an
//! administrator writes (`put_config`; demo data seeds one). A booking is
//! `booked` until cancelled (6.14), rejected (`approvalResult` 2) or expired
//! (`startTime + validBookingTime`, or its `endTime`, whichever is first).
//! Its entries are not counted by a counter somebody must remember to bump:
//! they are the entry records of its plate inside its window, so an entry
//! uploaded late, twice or by another path counts exactly once.
//!
//! Bookings are never deleted; what can still matter (the `booked` ones not
//! over yet) is found through `live_bookings`, which every write of a
//! booking keeps exact (`Booking::write_new`, `Booking::write_over`).
//!
//! `needLock` 1 locks the car through `locks::apply`: at once when it is in
//! the park, else a lock that awaits its entry.
//!
//! A paid booking's fee (6.15, `payments::booking_fee`) is an order of its
//! own, paid through the one 6.2 commit, which marks the booking paid
//! (`fee_paid`, written `VersionIs` in the payment's transaction). Cancelling
//! or rejecting a paid booking before its car came gives the fee back
//! (`payments::booking_refund`): the refund is recorded as owed in the
//! closing transaction and paid out after it.
//!
//! Not built yet: keeping the booking's `photo` (accepted and size-checked,
//! not stored: decision 16 wants it in the blob store).

use super::live_bookings;
use crate::keys;
use crate::park::stays::{self, Journal};
use crate::payments::booking_refund::{self, Refund};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use onecard_core::kit::{self, stamp, DateTime, Flag, Int, Null, Page, Plate, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, ItemStore, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// `HH:mm-HH:mm`.
    pub interval: String,
    pub capacity: i64,
}

impl Slot {
    fn bounds(&self) -> Option<(NaiveTime, NaiveTime)> {
        let (a, b) = self.interval.split_once('-')?;
        Some((NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?, NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// 1 free, no space held; 2 free, space held; 3 paid, space held.
    pub booking_type: i64,
    pub charge: Fen,
    /// Minutes from `startTime`; 0 unlimited (the booking's `endTime` bounds it).
    pub valid_minutes: i64,
    pub allow_enter_times: i64,
    pub slots: Vec<Slot>,
}

impl Config {
    pub fn holds_space(&self) -> bool {
        self.booking_type == 2 || self.booking_type == 3
    }
}

pub async fn config(store: &dyn ItemStore, branch: &str) -> ApiResult<Option<Config>> {
    match store.get(&keys::booking_config(branch), "config").await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// Writes the configuration (admin and demo data).
pub async fn put_config(store: &dyn ItemStore, branch: &str, c: &Config) -> ApiResult<()> {
    if !(1..=3).contains(&c.booking_type) || c.valid_minutes < 0 || c.allow_enter_times < 1 || c.charge < Fen::ZERO {
        return Err(ApiError::bad_input("booking config: type 1-3, validity >= 0 minutes, at least one entry, a charge >= 0"));
    }
    if let Some(s) = c.slots.iter().find(|s| s.bounds().is_none_or(|(a, b)| a >= b) || s.capacity < 0) {
        return Err(ApiError::bad_input(format!("booking slot '{}' is not HH:mm-HH:mm with a capacity >= 0", s.interval)));
    }
    let body = serde_json::to_value(c).map_err(ApiError::system)?;
    store.put(Item::new(keys::booking_config(branch), "config", body), Cond::None).await?;
    Ok(())
}

/// The demo car park takes free bookings that hold a space, one entry each.
pub async fn seed_demo(store: &dyn ItemStore, branch: &str) -> ApiResult<()> {
    if config(store, branch).await?.is_some() {
        return Ok(());
    }
    let slots = ["08:00-12:00", "12:00-18:00", "18:00-23:59"].iter().map(|i| Slot { interval: (*i).into(), capacity: 20 }).collect();
    put_config(store, branch, &Config { booking_type: 2, charge: Fen::ZERO, valid_minutes: 0, allow_enter_times: 1, slots }).await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Booked,
    Cancelled,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    pub order_no: String,
    pub plate: String,
    pub plate_text: String,
    pub start: String,
    pub end: String,
    pub interval: Option<String>,
    pub controllers: Vec<String>,
    pub person_name: Option<String>,
    pub person_tel: Option<String>,
    pub identity_type: Option<String>,
    pub identity_no: Option<String>,
    pub photo_type: Option<String>,
    pub open_id: Option<String>,
    pub need_lock: bool,
    pub state: State,
    pub charge: Fen,
    pub allow_enter_times: i64,
    /// Minutes from start; 0 = until `end`.
    pub valid_minutes: i64,
    pub created_at: String,
    /// The order its fee is being paid with (6.15), once one was made.
    #[serde(default)]
    pub fee_order: Option<String>,
    /// Set by the payment's commit, never otherwise.
    #[serde(default)]
    pub fee_paid: Option<FeePaid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeePaid {
    pub order_no: String,
    pub paid_at: String,
    pub trade_no: Option<String>,
    /// Set when the booking is cancelled or rejected before its car came
    /// (`payments::booking_refund`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

impl Booking {
    pub(super) fn start_at(&self) -> Option<NaiveDateTime> {
        onecard_core::time::parse(&self.start)
    }
    /// The end of the window the booking admits in.
    pub fn window_end(&self) -> Option<NaiveDateTime> {
        let end = onecard_core::time::parse(&self.end)?;
        Some(match self.valid_minutes {
            0 => end,
            m => end.min(self.start_at()? + Duration::minutes(m)),
        })
    }
    pub fn open_at(&self, at: NaiveDateTime) -> bool {
        self.state == State::Booked && self.start_at().is_some_and(|s| s <= at) && self.window_end().is_some_and(|e| at <= e)
    }
    /// Booked and not yet over: what holds a space.
    pub fn pending_at(&self, at: NaiveDateTime) -> bool {
        self.state == State::Booked && self.window_end().is_some_and(|e| at <= e)
    }
    fn admits_lane(&self, controller_no: Option<&str>) -> bool {
        self.controllers.is_empty() || controller_no.is_some_and(|c| self.controllers.iter().any(|x| x == c))
    }
    fn item(&self, branch: &str) -> ApiResult<Item> {
        Ok(Item::new(keys::bookings(branch), &self.order_no, serde_json::to_value(self).map_err(ApiError::system)?))
    }
    /// The writes that store this new booking: it and its live index entry
    /// (`live_bookings`), for one transaction.
    pub fn write_new(&self, branch: &str) -> ApiResult<Vec<Write>> {
        let mut writes = vec![Write::put(self.item(branch)?, Cond::MustNotExist)];
        writes.extend(live_bookings::writes(branch, None, self));
        Ok(writes)
    }
    /// The writes that store this booking over `read`, the booking as read at
    /// `version`: it and the move of its live index entry, for one
    /// transaction (a fee payment's, a cancellation's, a refund's). The
    /// index is why the booking as read is asked for: nobody can write a
    /// booking and forget it.
    pub fn write_over(&self, branch: &str, read: &Booking, version: u64) -> ApiResult<Vec<Write>> {
        let mut writes = vec![Write::put(self.item(branch)?.with_version(version + 1), Cond::VersionIs(version))];
        writes.extend(live_bookings::writes(branch, Some(read), self));
        Ok(writes)
    }
}

pub async fn get(ctx: &Ctx, branch: &str, booking_no: &str) -> ApiResult<Option<(Booking, u64)>> {
    match ctx.store.get(&keys::bookings(branch), booking_no).await? {
        Some(item) => Ok(Some((item.parse()?, item.version))),
        None => Ok(None),
    }
}

/// Every booking ever made, closed and past ones too. The hot paths read
/// `live_bookings::from` instead.
pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Booking>> {
    let items = ctx.store.query_all(&Query::partition(keys::bookings(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// Entries of the booking's plate inside its window.
pub async fn entries_of(ctx: &Ctx, branch: &str, b: &Booking) -> ApiResult<usize> {
    let (Some(from), Some(to)) = (b.start_at(), b.window_end()) else { return Ok(0) };
    Ok(stays::in_window(ctx, branch, Journal::Entries, from, to + Duration::seconds(1)).await?.iter().filter(|s| s.plate == b.plate).count())
}

/// What the entry rule `booking` concludes for a plate at a lane.
pub enum Admission {
    /// No booking of this plate is open now.
    None,
    Admit,
    /// A booking is open but its entries are used up.
    UsedUp,
}

pub async fn admission(ctx: &Ctx, branch: &str, plate: &str, controller_no: Option<&str>, at: NaiveDateTime) -> ApiResult<Admission> {
    let mut used_up = false;
    for b in live_bookings::from(ctx, branch, at, Some(plate)).await?.into_iter().filter(|b| b.open_at(at) && b.admits_lane(controller_no)) {
        if (entries_of(ctx, branch, &b).await? as i64) < b.allow_enter_times {
            return Ok(Admission::Admit);
        }
        used_up = true;
    }
    Ok(if used_up { Admission::UsedUp } else { Admission::None })
}

/// Spaces held by bookings now: pending bookings of a space-holding mode
/// whose car has not entered yet. Every entry decision asks, so the entries
/// of all pending bookings are read with one journal query, from the earliest
/// start among them to now, not one query per booking.
pub async fn held_spaces(ctx: &Ctx, branch: &str, at: NaiveDateTime) -> ApiResult<i64> {
    let Some(cfg) = config(ctx.store(), branch).await? else { return Ok(0) };
    if !cfg.holds_space() {
        return Ok(0);
    }
    let windows: Vec<(Booking, NaiveDateTime, NaiveDateTime)> = live_bookings::from(ctx, branch, at, None)
        .await?
        .into_iter()
        .filter(|b| b.pending_at(at))
        .filter_map(|b| Some((b.start_at()?, b.window_end()?)).map(|(s, e)| (b, s, e)))
        .collect();
    // A booking not started yet has no entries; none is later than now.
    let Some(from) = windows.iter().map(|w| w.1).filter(|s| *s <= at).min() else { return Ok(windows.len() as i64) };
    let entered = stays::in_window(ctx, branch, Journal::Entries, from, at + Duration::seconds(1)).await?;
    let held = windows.iter().filter(|(b, s, e)| !entered.iter().any(|st| st.plate == b.plate && *s <= st.entry && st.entry <= *e)).count();
    Ok(held as i64)
}

/// 6.12: the configuration as one row.
#[derive(Serialize, JsonSchema)]
pub struct ConfigRow {
    #[serde(rename = "bookingType")]
    pub booking_type: String,
    #[serde(rename = "chargeMoney")]
    pub charge: String,
    #[serde(rename = "validBookingTime")]
    pub valid: String,
}

async fn config_get(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Vec<ConfigRow>> {
    let c = config(ctx.store(), req.branchno()).await?.ok_or_else(|| ApiError::failed("this car park takes no bookings (no booking configuration)"))?;
    Ok(vec![ConfigRow { booking_type: c.booking_type.to_string(), charge: c.charge.yuan(), valid: c.valid_minutes.to_string() }])
}

/// 6.13 input; 6.101 adds `orderno`.
#[derive(Deserialize, JsonSchema)]
pub struct BookingIn {
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "endTime")]
    pub end: DateTime,
    #[serde(rename = "timeInterval")]
    pub interval: Option<Text>,
    pub validity: Option<Flag>,
    #[serde(rename = "controllerNo")]
    pub controllers: Option<Text>,
    #[serde(rename = "personName")]
    pub person_name: Option<Text>,
    #[serde(rename = "personTel")]
    pub person_tel: Option<Text>,
    #[serde(rename = "identityType")]
    pub identity_type: Option<Text>,
    #[serde(rename = "identityNo")]
    pub identity_no: Option<Text>,
    /// Not `Text`: a picture is longer than its 2,000 characters.
    pub photo: Option<String>,
    #[serde(rename = "photoType")]
    pub photo_type: Option<Text>,
    #[serde(rename = "openId")]
    pub open_id: Option<Text>,
    #[serde(rename = "needLock")]
    pub need_lock: Option<Flag>,
    /// 1 (or absent) approved, 2 rejected.
    #[serde(rename = "approvalResult")]
    pub approval: Option<Int>,
}

fn date_of(t: NaiveDateTime) -> NaiveDate {
    t.date()
}

/// Checks a booking against the configuration and the slots' capacity, and
/// builds it. `except` is the booking being replaced (6.101).
async fn build(ctx: &Ctx, req: &Req, order_no: String, d: &BookingIn, except: Option<&str>, keep_lock: Option<bool>) -> ApiResult<Booking> {
    let b = req.branchno();
    let cfg = config(ctx.store(), b).await?.ok_or_else(|| ApiError::failed("this car park takes no bookings (no booking configuration)"))?;
    let (start, end) = (d.start.get(), d.end.get());
    if end <= start {
        return Err(ApiError::field("endTime", "must be later than startTime"));
    }
    if date_of(start) != date_of(end) {
        return Err(ApiError::field("endTime", "must be on the same day as startTime"));
    }
    let approval = d.approval.map_or(1, Int::get);
    if approval != 1 && approval != 2 {
        return Err(ApiError::field("approvalResult", format!("{approval} is not 1 (approved) or 2 (rejected)")));
    }
    let controllers: Vec<String> = d.controllers.as_ref().map(|c| c.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    if let Some(bad) = controllers.iter().find(|c| req.branch.controller(c).is_none()) {
        return Err(ApiError::field("controllerNo", format!("'{bad}' is not a lane controller of this car park")));
    }
    let interval = d.interval.as_ref().map(|i| i.trim().to_string());
    let slot = match &interval {
        Some(i) => Some(cfg.slots.iter().find(|s| &s.interval == i).ok_or_else(|| ApiError::field("timeInterval", format!("'{i}' is not a booking slot of this car park")))?),
        None => None,
    };
    let photo = d.photo.as_deref().filter(|p| !p.is_empty());
    if photo.is_some_and(|p| p.len() > 3 * 1024 * 1024) {
        return Err(ApiError::field("photo", "is larger than 3 MiB"));
    }
    let state = if approval == 2 { State::Rejected } else { State::Booked };
    if let (Some(slot), State::Booked) = (slot, state) {
        let day = date_of(start);
        // A booking starting on `day` ends no earlier than the day's start.
        let taken = live_bookings::from(ctx, b, day.and_time(NaiveTime::MIN), None).await?.into_iter().filter(|x| x.state == State::Booked && Some(x.order_no.as_str()) != except && x.interval.as_ref() == Some(&slot.interval) && x.start_at().map(date_of) == Some(day)).count() as i64;
        if taken >= slot.capacity {
            return Err(ApiError::failed(format!("slot {} of {day} is fully booked ({} of {})", slot.interval, taken, slot.capacity)));
        }
    }
    let text = |t: &Option<Text>| t.clone().map(String::from);
    Ok(Booking {
        order_no,
        plate: d.plate.norm().into(),
        plate_text: d.plate.original().into(),
        start: stamp(start),
        end: stamp(end),
        interval,
        controllers,
        person_name: text(&d.person_name),
        person_tel: text(&d.person_tel),
        identity_type: text(&d.identity_type),
        identity_no: text(&d.identity_no),
        photo_type: text(&d.photo_type),
        open_id: text(&d.open_id),
        need_lock: d.need_lock.map(Flag::get).or(keep_lock).unwrap_or(false),
        state,
        charge: if cfg.booking_type == 3 { cfg.charge } else { Fen::ZERO },
        allow_enter_times: cfg.allow_enter_times,
        valid_minutes: cfg.valid_minutes,
        created_at: stamp(req.now),
        fee_order: None,
        fee_paid: None,
    })
}

/// `needLock` 1 locks the car: now if it is in the park, else at its entry.
/// 0 or absent leaves locks alone (6.101: "when not specified, existing lock
/// records are left untouched"); a rejected booking locks nothing.
async fn lock_if_asked(ctx: &Ctx, branch: &str, b: &Booking, need_lock: Option<Flag>, now: NaiveDateTime) -> ApiResult<()> {
    if b.state == State::Booked && need_lock.is_some_and(Flag::get) {
        super::locks::apply(ctx, branch, &b.plate, now, true, Some(&b.order_no)).await?;
    }
    Ok(())
}

/// 6.13 / 6.101 output.
#[derive(Serialize, JsonSchema)]
pub struct BookingOut {
    pub orderno: String,
    pub starttime: String,
    pub endtime: String,
    pub charge: String,
    #[serde(rename = "allowEnterTimes")]
    pub allow_enter_times: String,
}

impl From<&Booking> for BookingOut {
    fn from(b: &Booking) -> BookingOut {
        BookingOut { orderno: b.order_no.clone(), starttime: b.start.clone(), endtime: b.end.clone(), charge: b.charge.yuan(), allow_enter_times: b.allow_enter_times.to_string() }
    }
}

async fn create(ctx: Ctx, req: Req, input: BookingIn) -> ApiResult<BookingOut> {
    let order_no = format!("BK{}{}", req.now.format("%Y%m%d%H%M%S"), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let b = build(&ctx, &req, order_no, &input, None, None).await?;
    ctx.store.transact(b.write_new(req.branchno())?).await?;
    lock_if_asked(&ctx, req.branchno(), &b, input.need_lock, req.now).await?;
    Ok(BookingOut::from(&b))
}

#[derive(Deserialize, JsonSchema)]
pub struct UpdateKey {
    #[serde(rename = "orderno", alias = "orderNo")]
    pub order_no: Text,
}

/// 6.101 replaces the booking: fields not sent are cleared, except `needLock`
/// (absent leaves it as it was). `approvalResult` 2 rejects it, which gives
/// a paid fee back (`booking_refund`); a booking whose car entered is used
/// and cannot be rejected.
async fn update(ctx: Ctx, req: Req, kit::Both(key, input): kit::Both<UpdateKey, BookingIn>) -> ApiResult<BookingOut> {
    let b = req.branchno();
    let no = key.order_no.as_str();
    let new = retry::on_conflict("booking not updated", || async {
        let (old, version) = get(&ctx, b, no).await?.ok_or_else(|| ApiError::field("orderno", format!("booking {no} does not exist")))?;
        if old.state != State::Booked {
            return Err(ApiError::failed(format!("booking {} is {:?} and cannot be changed", old.order_no, old.state).to_lowercase()));
        }
        // A change keeps what was paid: the fee belongs to the booking, not to its times.
        let mut new = Booking { created_at: old.created_at.clone(), fee_order: old.fee_order.clone(), fee_paid: old.fee_paid.clone(), ..build(&ctx, &req, old.order_no.clone(), &input, Some(&old.order_no), Some(old.need_lock)).await? };
        let mut owed = None;
        if new.state == State::Rejected {
            if entries_of(&ctx, b, &old).await? > 0 {
                return Err(ApiError::failed(format!("the car of booking {} has entered; it cannot be rejected", old.order_no)));
            }
            owed = booking_refund::owe_on_close(&mut new, b, req.now);
        }
        let mut writes = new.write_over(b, &old, version)?;
        writes.extend(owed);
        Step::of(ctx.store.transact(writes).await, new)
    })
    .await?;
    if new.state == State::Rejected {
        super::locks::drop_awaiting(&ctx, b, &new.plate, &new.order_no).await?;
        booking_refund::try_now(&ctx, &req.branch, &new.order_no).await;
    }
    lock_if_asked(&ctx, b, &new, input.need_lock, req.now).await?;
    Ok(BookingOut::from(&new))
}

#[derive(Deserialize, JsonSchema)]
pub struct CancelIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
}

/// 6.14: cancelling twice is one cancellation; a booking whose car entered
/// is used and cannot be cancelled. A paid fee is given back
/// (`booking_refund`): owed in the cancelling transaction, paid out after;
/// a refund the provider has not made yet leaves the cancellation standing
/// (and a repeated cancellation tries it again).
async fn cancel(ctx: Ctx, req: Req, input: CancelIn) -> ApiResult<Null> {
    let b = req.branchno();
    let no = input.order_no.as_str();
    let cancelled = retry::on_conflict("booking not cancelled", || async {
        let (old, version) = get(&ctx, b, no).await?.ok_or_else(|| ApiError::field("orderNo", format!("booking {no} does not exist")))?;
        match old.state {
            State::Cancelled => return Ok(Step::Done(old)),
            State::Rejected => return Err(ApiError::failed(format!("booking {} was rejected", old.order_no))),
            State::Booked => {}
        }
        if entries_of(&ctx, b, &old).await? > 0 {
            return Err(ApiError::failed(format!("the car of booking {} has entered; it cannot be cancelled", old.order_no)));
        }
        let mut new = Booking { state: State::Cancelled, ..old.clone() };
        let owed = booking_refund::owe_on_close(&mut new, b, req.now);
        let mut writes = new.write_over(b, &old, version)?;
        writes.extend(owed);
        Step::of(ctx.store.transact(writes).await, new)
    })
    .await?;
    super::locks::drop_awaiting(&ctx, b, &cancelled.plate, &cancelled.order_no).await?;
    if cancelled.fee_paid.as_ref().is_some_and(|f| matches!(f.refund, Some(Refund::Owed { .. }))) {
        booking_refund::try_now(&ctx, &req.branch, &cancelled.order_no).await;
    }
    Ok(Null)
}

/// 6.79 input.
#[derive(Deserialize, JsonSchema)]
pub struct DaysIn {
    #[serde(rename = "startTime")]
    pub start: DateTime,
    pub days: Int,
}

/// A 6.79 row; the seed's example spells `AvailibleCount`, its table
/// `AvailableCount`: both are sent.
#[derive(Serialize, JsonSchema)]
pub struct DayRow {
    #[serde(rename = "TimeInterval")]
    pub interval: String,
    #[serde(rename = "OrderDate")]
    pub date: String,
    #[serde(rename = "AvailableCount")]
    pub available: String,
    #[serde(rename = "AvailibleCount")]
    pub available_typo: String,
    #[serde(rename = "LeftCount")]
    pub left: String,
    #[serde(rename = "BookCount")]
    pub booked: String,
}

async fn days(ctx: Ctx, req: Req, input: DaysIn) -> ApiResult<Page<DayRow>> {
    let n = input.days.get();
    if !(1..=366).contains(&n) {
        return Err(ApiError::field("days", format!("{n} is not 1..366")));
    }
    let b = req.branchno();
    let cfg = config(ctx.store(), b).await?.ok_or_else(|| ApiError::failed("this car park takes no bookings (no booking configuration)"))?;
    let first = input.start.get().date();
    // A booking starting on `first` or later ends no earlier than its start.
    let bookings: Vec<Booking> = live_bookings::from(&ctx, b, first.and_time(NaiveTime::MIN), None).await?.into_iter().filter(|x| x.state == State::Booked).collect();
    let mut rows = Vec::new();
    for d in 0..n {
        let day = first + Duration::days(d);
        for s in &cfg.slots {
            let booked = bookings.iter().filter(|x| x.interval.as_ref() == Some(&s.interval) && x.start_at().map(date_of) == Some(day)).count() as i64;
            rows.push(DayRow {
                interval: s.interval.clone(),
                date: stamp(day.and_time(NaiveTime::MIN)),
                available: s.capacity.to_string(),
                available_typo: s.capacity.to_string(),
                left: (s.capacity - booked).max(0).to_string(),
                booked: booked.to_string(),
            });
        }
    }
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.bookingconfig.get", config_get),
        kit::write("park.booking.create", create),
        kit::write("park.booking.cancel", cancel),
        kit::write("park.booking.update", update),
        kit::read("park.berthofdays.get", days),
    ]
}
