//! The lane decision as one ordered list of rules per direction.
//!
//! Every lane decision (9.18 `cat.pass.validate`, scan-to-pass 6.24/6.42, the
//! re-decision after an unlock) runs the same list: the first rule that does
//! not answer `Continue` decides. The order is the policy:
//!
//! Entry (`ENTRY`):
//! 1. `blacklisted`: an active blacklist entry refuses (hint from 6.78).
//! 2. `card_unusable`: a disabled or cancelled card refuses.
//! 3. `monthly_card`: a valid monthly card passes ("月卡 剩余N天").
//! 4. `booking`: a booking open now for this lane admits its car while it has
//!    entries left (its space is held, so a full lot does not refuse it); a
//!    booking whose entries are used up refuses.
//! 5. `lot_full`: a temporary car is refused when its area is full, counting
//!    the spaces pending bookings hold.
//! 6. `temporary_welcome`: anyone else passes.
//!
//! Exit (`EXIT`; a blacklist never blocks an exit):
//! 1. `locked`: a car locked by its owner (6.16/6.17) is held, passFlag 0.
//! 2. `monthly_card`: a valid monthly card passes.
//! 3. `no_entry_record`: a car with no stay cannot be priced: refused.
//! 4. `password_free`: a car signed for password-free payment (6.69) that
//!    owes money is charged through the one 6.2 commit and let out; a failed
//!    charge continues to the next rule (`payments::nopsw`).
//! 5. `jinying_pay_later`: a car Jinying lets pay later (11.12) that owes
//!    money is handed to Jinying (11.13), paid through the 6.2 commit and let
//!    out; no answer within the lane's timeout continues to the next rule
//!    (`partner_hooks::paylater`).
//! 6. `fee_settled`: nothing due (zero fee, paid, inside the grace) passes;
//!    otherwise the car is told what to pay.
//!
//! Adding a rule (password-free exit, dynamic QR) is writing one
//! `fn(&Facts) -> RuleFuture` and adding one line to a list.

use super::bookings::Admission;
use crate::cards::CardState;
use crate::park::cardlink::{card_terms, CardTerms};
use crate::park::fees::{car_type_for, quote_stay};
use crate::park::stays::{self, Stay};
use chrono::NaiveDateTime;
use onecard_core::config::{Branch, Lane};
use onecard_core::{ApiResult, Ctx, Fen};
use std::future::Future;
use std::pin::Pin;

/// What the rules know about the car at the lane, read once before the list
/// runs so that rules do not read the same records again.
pub struct Facts {
    pub ctx: Ctx,
    pub branch: Branch,
    pub lane: Lane,
    /// The lane's area, when the lane is a configured controller.
    pub area: Option<String>,
    /// The lane's controller number, when configured (bookings name lanes by it).
    pub controller_no: Option<String>,
    /// Normalised plate.
    pub plate: String,
    pub at: NaiveDateTime,
    pub card: Option<CardTerms>,
    /// The car's stay, read by the first exit rule that needs it.
    stay: tokio::sync::OnceCell<Option<Stay>>,
}

impl Facts {
    pub async fn gather(ctx: &Ctx, branch: &Branch, lane: Lane, device: Option<&str>, area: Option<&str>, plate: &str, at: NaiveDateTime) -> ApiResult<Facts> {
        let card = card_terms(ctx, &branch.branchno, plate).await?;
        let controller_no = device.and_then(|d| branch.controller(d)).map(|c| c.controller_no.clone());
        Ok(Facts { ctx: ctx.clone(), branch: branch.clone(), lane, area: area.map(str::to_string), controller_no, plate: plate.to_string(), at, card, stay: Default::default() })
    }

    fn b(&self) -> &str {
        &self.branch.branchno
    }

    fn valid_monthly(&self) -> Option<&CardTerms> {
        self.card.as_ref().filter(|c| c.monthly.is_some() && c.valid_at(self.at))
    }

    async fn stay(&self) -> ApiResult<Option<&Stay>> {
        let stay = self
            .stay
            .get_or_try_init(|| async { ApiResult::Ok(stays::in_park(&self.ctx, self.b(), 1, &self.plate).await?.map(|(s, _)| s)) })
            .await?;
        Ok(stay.as_ref())
    }
}

/// What one rule concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Not this rule's business: the next rule decides.
    Continue,
    Pass { hint: String, hint_type: i64, off: Fen },
    Refuse { hint: String, voice: Option<String>, due: Fen },
    /// passFlag 0, but the car is expected to wait at the lane until the
    /// reason goes away (a lock): whoever removes it re-decides.
    Hold { hint: String },
}

pub type RuleFuture<'a> = Pin<Box<dyn Future<Output = ApiResult<Step>> + Send + 'a>>;
pub type Rule = for<'a> fn(&'a Facts) -> RuleFuture<'a>;

/// The entrance rules, in order.
pub const ENTRY: &[(&str, Rule)] = &[
    ("blacklisted", blacklisted),
    ("card_unusable", card_unusable),
    ("monthly_card", monthly_card),
    ("booking", booking),
    ("lot_full", lot_full),
    ("temporary_welcome", temporary_welcome),
];

/// The name of the exit rule that refuses a car for what it owes: a car it
/// refused waits at the lane to pay (6.42 `checkWaitingCar`).
pub const FEE_SETTLED: &str = "fee_settled";

/// The exit rules, in order.
pub const EXIT: &[(&str, Rule)] = &[
    ("locked", locked),
    ("monthly_card", monthly_card),
    ("no_entry_record", no_entry_record),
    ("password_free", crate::payments::nopsw::exit_rule),
    ("jinying_pay_later", crate::partner_hooks::paylater::exit_rule),
    (FEE_SETTLED, fee_settled),
];

/// Runs the lane's list; the first rule that is not `Continue` decides, and
/// its name is answered with it (logged, and what tests assert on).
pub async fn run(f: &Facts) -> ApiResult<(&'static str, Step)> {
    let list = match f.lane {
        Lane::In => ENTRY,
        Lane::Out => EXIT,
    };
    for (name, rule) in list {
        let step = rule(f).await?;
        if step != Step::Continue {
            tracing::debug!(plate = %f.plate, rule = name, ?step, "lane decision");
            return Ok((name, step));
        }
    }
    // Each list ends in a rule that always answers; an empty answer would
    // open or shut a gate for no reason, so refuse and say why.
    Ok(("none", Step::Refuse { hint: format!("{} 请联系管理员", f.plate), voice: None, due: Fen::ZERO }))
}

fn days_left(card: &CardTerms, at: NaiveDateTime) -> i64 {
    (card.valid_to.date() - at.date()).num_days().max(0)
}

fn refuse(hint: String) -> Step {
    Step::Refuse { hint, voice: None, due: Fen::ZERO }
}

fn blacklisted(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        Ok(match super::blacklist::active_for(&f.ctx, f.b(), &f.plate, f.at).await? {
            Some(hit) => Step::Refuse { hint: format!("{} {}", f.plate, hit.hint), voice: Some(hit.hint), due: Fen::ZERO },
            None => Step::Continue,
        })
    })
}

fn card_unusable(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        Ok(match f.card.as_ref().filter(|c| c.state != CardState::Active) {
            Some(c) => refuse(format!("{} 卡已{}，禁止通行", f.plate, if c.state == CardState::Disabled { "停用" } else { "注销" })),
            None => Step::Continue,
        })
    })
}

fn monthly_card(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        Ok(match f.valid_monthly() {
            Some(c) => {
                let bye = if f.lane == Lane::Out { " 一路顺风" } else { "" };
                Step::Pass { hint: format!("{} 月卡 剩余{}天{bye}", f.plate, days_left(c, f.at)), hint_type: 1, off: Fen::ZERO }
            }
            None => Step::Continue,
        })
    })
}

fn booking(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        Ok(match super::bookings::admission(&f.ctx, f.b(), &f.plate, f.controller_no.as_deref(), f.at).await? {
            Admission::Admit => Step::Pass { hint: format!("{} 预约车辆 欢迎光临", f.plate), hint_type: 0, off: Fen::ZERO },
            Admission::UsedUp => refuse(format!("{} 预约入场次数已用完", f.plate)),
            Admission::None => Step::Continue,
        })
    })
}

/// Full when the cars in the area (or the whole park for an unknown area)
/// and the spaces held by pending bookings fill its configured spaces.
/// Bookings name no area, so a held space counts against every area: in a
/// park of several areas that refuses early rather than overfilling one.
fn lot_full(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        // The sharded occupancy counter (one batch get), not the in-park
        // index: an entry decision must not read every car in the park.
        let cars = crate::park::occupancy::per_area(&f.ctx, f.b()).await?;
        let held = super::bookings::held_spaces(&f.ctx, f.b(), f.at).await?;
        let (used, capacity) = match f.area.as_deref().and_then(|a| f.branch.areas.iter().find(|x| x.id == a)) {
            Some(a) => (cars.get(&a.id).copied().unwrap_or(0), a.capacity),
            None => (cars.values().sum::<i64>(), f.branch.capacity()),
        };
        Ok(if used + held >= capacity { refuse(format!("{} 车位已满", f.plate)) } else { Step::Continue })
    })
}

fn temporary_welcome(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move { Ok(Step::Pass { hint: format!("{} 欢迎光临", f.plate), hint_type: 0, off: Fen::ZERO }) })
}

fn locked(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        let Some(stay) = f.stay().await? else { return Ok(Step::Continue) };
        Ok(if super::locks::is_locked(&f.ctx, f.b(), stay).await? {
            Step::Hold { hint: format!("{} 车辆已锁定，请先解锁", f.plate) }
        } else {
            Step::Continue
        })
    })
}

fn no_entry_record(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        Ok(match f.stay().await? {
            None => refuse(format!("{} 无入场记录，请联系管理员", f.plate)),
            Some(_) => Step::Continue,
        })
    })
}

/// Prices the stay as `calc` would (nothing is written); `offMoney` is the
/// seed's free amount, never the amount due.
fn fee_settled(f: &Facts) -> RuleFuture<'_> {
    Box::pin(async move {
        let Some(stay) = f.stay().await? else { return Ok(refuse(format!("{} 无入场记录，请联系管理员", f.plate))) };
        let car_type = car_type_for(&f.ctx, f.b(), None, f.card.as_ref()).await?;
        let q = quote_stay(&f.ctx, &f.branch, stay, car_type, f.card.as_ref(), f.at.max(stay.entry)).await?;
        if q.due != Fen::ZERO {
            return Ok(Step::Refuse { hint: format!("{} 请缴费{}元", f.plate, q.due), voice: None, due: q.due });
        }
        // A stay that paid less than was due by a waiver (6.2 freeType) was
        // free by that amount; otherwise nothing is owed at all.
        let off = stay.payments.iter().filter(|p| p.full).map(|p| (p.due - p.amount).max0()).fold(Fen::ZERO, |a, b| a + b);
        Ok(Step::Pass { hint: format!("{} 一路顺风", f.plate), hint_type: if off > Fen::ZERO { 3 } else { 1 }, off })
    })
}
