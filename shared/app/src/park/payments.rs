//! Paying parking fees: `commit` (6.2), `park.charge.cancel` (6.20),
//! `park.order.get` (6.26), `park.order.list` (6.29), `park.charge.exist` (6.45).
//!
//! Exactly-once: a commit is ONE store transaction of
//! - the order, `VersionIs` the version read while unpaid, rewritten as paid;
//! - the payment record at `payments/{orderNo}`, `MustNotExist`;
//! - the stay, `VersionIs`, with the payment added to what it has settled;
//! - the payment journal entry and the 13.4 outbox event;
//! - with a `thirdPayId`, the payer's id at `paytrade/{thirdPayId}`,
//!   `MustNotExist`: a repeat of a payment is recognised even without `orderNo`;
//! - for payType 3, the stored-value card's debit (the cards module's writes).
//!
//! Two commits of one order can both read it unpaid, but only one transaction
//! can match the version; the loser re-reads, finds the order paid and answers
//! 511 having written nothing. An order quoted before another payment of the
//! same stay is stale (the stay's settled sum moved): 510, calculate again.
//!
//! Round trips (issue 11): the order (with the `thirdPayId` record, one batch
//! get) is the only read. The stay is the one the order's quote read
//! (`Order::stay_seen`), written `VersionIs` that version: a stay written
//! since fails the transaction, and every later attempt reads the stay; a
//! refusal is never answered on the guess alone.

use super::cardlink;
use super::fees;
use crate::tariff::engine::within_grace;
use super::orders::{self, Order, OrderRow};
use super::pay_types::PayTypes;
use super::stays::{self, PaymentRef, Stay, StayState};
use crate::push::verify::{self, VerifyRequest};
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::fields::normalize_plate;
use onecard_core::kit::{self, CredentialType, DateTime, Flag, Money, Null, OrderStatus, Page, PayType, Plate, RouteDef, Text, WithMessage};
use onecard_core::queue::OutEvent;
use onecard_core::retry::{self, Step};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Origin, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

/// The envelope's message when a route sets none; 6.20 answers it for a
/// cancellation, and its own note when there was nothing to cancel.
const SUCCESS: &str = "success";

fn duplicate(no: &str) -> ApiError {
    ApiError::new(Code::DUPLICATE, format!("order {no} is already paid"))
}

fn expired(no: &str) -> ApiError {
    ApiError::new(Code::ORDER_EXPIRED, format!("order {no} has expired or was cancelled; calculate the fee again"))
}

/// Does the order belong to the car the caller names?
fn same_car(order: &Order, by: CredentialType, credential: &str) -> bool {
    match by {
        CredentialType::Card => order.card_no.as_deref() == Some(credential.trim()),
        CredentialType::Plate => normalize_plate(&order.plate) == normalize_plate(credential),
    }
}

/// 6.2 input.
#[derive(Deserialize, JsonSchema)]
pub struct CommitIn {
    /// Required by the seed; callers have always been able to leave it out for a plate.
    #[serde(rename = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    pub credential: Text,
    pub parkcost: Money,
    /// Defaults to `parkcost`.
    pub amount: Option<Money>,
    /// The order 6.1 made; a zero fee has none and is paid by `calcId`. With
    /// neither, the stay is priced again now (see `Target::Reprice`).
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Option<Text>,
    #[serde(rename = "calcId")]
    pub calc_id: Option<Text>,
    #[serde(rename = "payType")]
    pub pay_type: Option<PayType>,
    #[serde(rename = "onlyPartialFee")]
    pub partial: Option<Flag>,
    #[serde(rename = "freeType")]
    pub free_type: Option<Text>,
    #[serde(rename = "thirdPayId")]
    pub third_pay_id: Option<Text>,
    #[serde(rename = "thirdPayTime")]
    pub third_pay_time: Option<DateTime>,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
    /// Only passed on to a caller's payment verification (6.2.3), and only
    /// read for it: a payment is not refused for a field that does not
    /// concern it.
    pub entertime: Option<Text>,
    #[serde(rename = "carno", alias = "carNo")]
    pub car_no: Option<Text>,
}

/// What a commit pays.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// An order 6.1 issued (`orderNo`).
    Order(String),
    /// A zero-fee calculation 6.1 issued (`calcId`).
    Calc(String),
    /// Neither: the seed's clients may pay with the credential and the fee
    /// alone (6.2 marks `orderNo` only "strongly recommended"). The stay is
    /// priced again at the server clock and that price is paid, provided it
    /// is the `parkcost` the caller sends.
    ///
    /// A repeat of such a commit is caught twice over: its `thirdPayId`, when
    /// given, is recorded with `MustNotExist` in the payment's transaction
    /// (511 on a repeat); and the first payment lowers what is due (to 0 inside
    /// the grace), so the repeated `parkcost` no longer matches and nothing is
    /// paid twice.
    Reprice,
    /// A booking's fee (6.15): the order made for booking `booking_no`. It
    /// has no stay; the same transaction marks the booking paid instead
    /// (`VersionIs`), so a booking's fee is paid once whichever of its orders
    /// is paid first.
    Booking { booking_no: String, order_no: String },
}

impl Target {
    fn number(&self) -> &str {
        match self {
            Target::Order(n) | Target::Calc(n) | Target::Booking { order_no: n, .. } => n,
            Target::Reprice => "",
        }
    }
}

/// What a commit asks for, checked before any store access.
///
/// This is THE seam every payment channel uses (6.2, micropay 9.6,
/// withholding 9.13, Alipay notify 10.7, the booking fee 6.15, partners of
/// chapter 11): build a `Payment` and call [`commit_payment`]; there is no
/// second commit path.
#[derive(Clone, Debug)]
pub struct Payment {
    pub ctype: CredentialType,
    pub credential: String,
    pub target: Target,
    pub parkcost: Fen,
    pub amount: Fen,
    pub pay_type: PayType,
    pub partial: bool,
    pub free_type: Option<String>,
    /// The provider's trade id (`thirdPayId`): recorded `MustNotExist`, so a
    /// repeated notification of one trade is a 511, never a second payment.
    pub trade_no: Option<String>,
    pub trade_time: Option<String>,
    pub ws_no: Option<String>,
    pub oper_id: Option<String>,
}

type PayRequest = Payment;

impl Payment {
    /// A full payment of an issued order (`orderNo`) through a channel.
    pub fn of_order(ctype: CredentialType, credential: &str, order_no: &str, parkcost: Fen, pay_type: PayType, trade_no: Option<String>) -> Payment {
        Payment {
            ctype,
            credential: credential.to_string(),
            target: Target::Order(order_no.to_string()),
            parkcost,
            amount: parkcost,
            pay_type,
            partial: false,
            free_type: None,
            trade_no,
            trade_time: None,
            ws_no: None,
            oper_id: None,
        }
    }
}

/// Pays once, whichever the channel: the one 6.2 commit transaction (order,
/// payment record, stay, journal, 13.4 event, trade id, card debit, and the
/// extras of [`super::commit_extras`]). 511 when already paid, 510 when stale.
pub async fn commit_payment(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &Payment, now: NaiveDateTime) -> ApiResult<(Order, Stay)> {
    if let Target::Booking { order_no, .. } = &p.target {
        // Refused before paying: this answer has no stay to give.
        return Err(ApiError::system(format!("order {order_no} is a booking's fee: commit it with commit_order")));
    }
    match pay(ctx, branch, p, now).await? {
        (order, Some(stay)) => Ok((order, stay)),
        (order, None) => Err(ApiError::system(format!("order {} was paid without a stay", order.order_no))),
    }
}

/// The same commit for any target, a booking's fee included: answers the
/// paid order.
pub async fn commit_order(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &Payment, now: NaiveDateTime) -> ApiResult<Order> {
    Ok(pay(ctx, branch, p, now).await?.0)
}

impl CommitIn {
    fn validate(&self) -> ApiResult<PayRequest> {
        let parkcost = self.parkcost.fen();
        if parkcost.0 < 0 {
            return Err(ApiError::field("parkcost", "must not be negative"));
        }
        let amount = self.amount.map(Money::fen).unwrap_or(parkcost);
        if amount.0 < 0 {
            return Err(ApiError::field("amount", "must not be negative"));
        }
        if amount > parkcost {
            return Err(ApiError::field("amount", format!("{amount} is more than the fee due {parkcost}")));
        }
        let text = |t: &Option<Text>| t.as_ref().map(Text::to_string).filter(|s| !s.trim().is_empty());
        let pay_type = self.pay_type.unwrap_or(PayType::THIRD_PARTY);
        let partial = self.partial.is_some_and(Flag::get);
        let free_type = text(&self.free_type);
        let target = match (text(&self.order_no), text(&self.calc_id)) {
            (Some(o), _) => Target::Order(o),
            (None, Some(c)) => Target::Calc(c),
            (None, None) => Target::Reprice,
        };
        if matches!(target, Target::Calc(_)) && parkcost.0 != 0 {
            return Err(ApiError::field("parkcost", "must be 0.00 when paying a zero-fee calculation (calcId)"));
        }
        Ok(PayRequest {
            ctype: self.credential_type.unwrap_or(CredentialType::Plate),
            credential: self.credential.to_string(),
            target,
            parkcost,
            amount,
            pay_type,
            partial,
            free_type,
            trade_no: text(&self.third_pay_id),
            trade_time: self.third_pay_time.map(|t| kit::stamp(t.get())),
            ws_no: text(&self.ws_no),
            oper_id: text(&self.oper_id),
        })
    }

    /// What 6.2.3 sends the caller about this payment. The entry time and the
    /// plate default to the paid stay's (`known`) when the commit omits them.
    fn verify_request(&self, p: &PayRequest, known: Option<(NaiveDateTime, String)>) -> ApiResult<VerifyRequest> {
        let entertime = match &self.entertime {
            None => known.as_ref().map(|k| k.0),
            Some(s) => Some(
                onecard_core::time::parse(s)
                    .ok_or_else(|| ApiError::field("entertime", format!("'{s}' is not a time yyyy-MM-dd HH:mm:ss")))?,
            ),
        };
        Ok(VerifyRequest {
            order_id: matches!(p.target, Target::Order(_)).then(|| p.target.number().to_string()),
            third_pay_id: p.trade_no.clone(),
            parkcost: p.parkcost,
            entertime,
            car_no: self.car_no.as_ref().map(Text::to_string).or(known.map(|k| k.1)),
            credential: p.credential.clone(),
        })
    }
}

fn never_issued(no: &str) -> ApiError {
    ApiError::new(Code::ORDER_EXPIRED, format!("order {no} was never issued; calculate the fee again"))
}

/// The order a commit pays, as read now (`None` version: priced now, not yet
/// stored).
async fn order_to_pay(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &PayRequest, now: NaiveDateTime) -> ApiResult<(Order, Option<u64>)> {
    let b = branch.branchno.as_str();
    let (no, zero) = match &p.target {
        Target::Order(n) => (n, false),
        Target::Calc(n) => (n, true),
        Target::Booking { order_no, .. } => (order_no, false),
        Target::Reprice => {
            refuse_repeated_trade(p, orders::by_trade_and_order(ctx, b, p.trade_no.as_deref(), None).await?.0)?;
            let (found, mut order) = fees::priced_order(ctx, branch, p.ctype, &p.credential, None, now, now, Some(p.pay_type)).await?;
            if found.q.due != p.parkcost {
                return Err(ApiError::field(
                    "parkcost",
                    format!("is {} but {} is due now; calculate the fee again", p.parkcost, found.q.due),
                ));
            }
            check_amount(p, &order)?;
            orders::number(&mut order);
            return Ok((order, None));
        }
    };
    // The payer's trade id and the order in one batch get.
    let (traded, order) = orders::by_trade_and_order(ctx, b, p.trade_no.as_deref(), Some((no, zero))).await?;
    refuse_repeated_trade(p, traded)?;
    let Some((order, v)) = order else {
        // Calculation records disappear after expiring; an order number that
        // was never issued is as unpayable as a lapsed one (6.2: 510).
        return Err(if zero { expired(no) } else { never_issued(no) });
    };
    if !same_car(&order, p.ctype, &p.credential) {
        return Err(ApiError::field("credential", format!("order {no} is not for {}", p.credential)));
    }
    match order.status_at(now) {
        OrderStatus::Paid => return Err(duplicate(no)),
        OrderStatus::Cancelled => return Err(expired(no)),
        OrderStatus::Unpaid => {}
    }
    if order.parkcost != p.parkcost {
        return Err(ApiError::field("parkcost", format!("is {} but order {no} is for {}", p.parkcost, order.parkcost)));
    }
    check_amount(p, &order)?;
    Ok((order, Some(v)))
}

/// 511 when the payer's trade id `traded` already paid an order (a field
/// error when it paid another order than the one named).
fn refuse_repeated_trade(p: &PayRequest, traded: Option<(String, bool)>) -> ApiResult<()> {
    let (Some(trade), Some((no, _))) = (&p.trade_no, traded) else { return Ok(()) };
    match &p.target {
        Target::Order(n) | Target::Calc(n) | Target::Booking { order_no: n, .. } if *n != no => {
            Err(ApiError::field("thirdPayId", format!("{trade} already paid order {no}, not {n}")))
        }
        _ => Err(ApiError::new(Code::DUPLICATE, format!("payment {trade} is already recorded (order {no})"))),
    }
}

/// Decision 15: the caller does not set the price. Collecting less than the
/// order's `amount` (what is due after its discounts, rule 9) settles the stay
/// only as a waiver with its reason or as a partial payment; a stored-value
/// card is debited the order's amount.
fn check_amount(p: &PayRequest, order: &Order) -> ApiResult<()> {
    if p.amount < order.amount && p.free_type.is_none() && !p.partial && p.pay_type != PayType::STORED_VALUE {
        return Err(ApiError::field(
            "amount",
            format!("{} is less than the fee due {}: name the waiver in freeType or set onlyPartialFee", p.amount, order.amount),
        ));
    }
    Ok(())
}

/// What the commit records on the order itself, whatever it settles.
fn mark_paid(order: &mut Order, p: &PayRequest, amount: Fen, now: NaiveDateTime) {
    order.status = OrderStatus::Paid;
    order.paid_at = Some(now);
    order.amount = amount;
    order.pay_type = Some(p.pay_type);
    order.partial = p.partial;
    order.free_type = p.free_type.clone();
    order.trade_no = p.trade_no.clone();
    order.trade_time = p.trade_time.clone();
    order.ws_no = p.ws_no.clone().or(order.ws_no.take());
    order.oper_id = p.oper_id.clone().or(order.oper_id.take());
    order.stay_seen = None;
}

/// The writes every commit makes, whatever it settles: the order as paid
/// (`VersionIs`, or `MustNotExist` when priced now), its payment record and
/// journal entry (`MustNotExist`), the trade id (`MustNotExist`), the 13.4 event.
fn paid_order_writes(b: &str, order: &Order, ov: Option<u64>, p: &PayRequest, ev: &OutEvent, now: NaiveDateTime) -> Vec<onecard_core::store::Write> {
    let mut writes = match ov {
        Some(v) => order.paid_writes(b, v, now),
        None => order.fresh_paid_writes(b, now),
    };
    if let Some(trade) = &p.trade_no {
        writes.push(order.trade_write(b, trade));
    }
    writes.push(outbox_write(ev));
    writes
}

/// The booking side of a booking fee's commit, in place of the stay: the
/// booking read now, refused when paid (511) or no longer payable (510), and
/// written back paid over the version read. Answers the paid order, the
/// 13.4 event and the transaction's writes.
async fn booking_commit(
    ctx: &Ctx,
    b: &str,
    p: &PayRequest,
    mut order: Order,
    ov: Option<u64>,
    booking_no: &str,
    now: NaiveDateTime,
) -> ApiResult<(Order, OutEvent, Vec<onecard_core::store::Write>)> {
    if order.booking_no.as_deref() != Some(booking_no) {
        return Err(ApiError::field("orderNo", format!("order {} is not the fee of booking {booking_no}", order.order_no)));
    }
    let Some((read, bv)) = crate::lanes::bookings::get(ctx, b, booking_no).await? else {
        return Err(ApiError::new(Code::ORDER_EXPIRED, format!("booking {booking_no} no longer exists")));
    };
    if let Some(paid) = &read.fee_paid {
        return Err(ApiError::new(Code::DUPLICATE, format!("booking {booking_no} is already paid (order {})", paid.order_no)));
    }
    if !read.pending_at(now) {
        return Err(ApiError::new(Code::ORDER_EXPIRED, format!("booking {booking_no} is cancelled or over: its fee cannot be paid")));
    }
    mark_paid(&mut order, p, p.amount, now);
    order.charge_seq_no = 1;
    let mut booking = read.clone();
    booking.fee_paid = Some(crate::lanes::bookings::FeePaid { order_no: order.order_no.clone(), paid_at: kit::stamp(now), trade_no: p.trade_no.clone(), refund: None });
    let ev = OutEvent::new(b, "report/parkTempCarCharge", order.charge_record_of(&booking.plate_text, booking.open_id.as_deref().unwrap_or_default()), now);
    let mut writes = paid_order_writes(b, &order, ov, p, &ev, now);
    writes.extend(booking.write_over(b, &read, bv)?);
    Ok((order, ev, writes))
}

/// Pays an order once. Answers the paid order and the stay as committed
/// (none for a booking's fee).
async fn pay(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &PayRequest, now: NaiveDateTime) -> ApiResult<(Order, Option<Stay>)> {
    let b = branch.branchno.as_str();
    // A conflict means someone else changed the order, the stay or the card:
    // the next attempt reads again and judges again (paid now -> 511, stay
    // moved on -> 510).
    // Only the first attempt may pay against the stay the order saw: any
    // other reads the stay.
    let first = AtomicBool::new(true);
    let (order, stay, ev) = retry::on_conflict("payment not recorded", || async {
        let (mut order, ov) = order_to_pay(ctx, branch, p, now).await?;
        if let Target::Booking { booking_no, .. } = &p.target {
            let (order, ev, writes) = booking_commit(ctx, b, p, order, ov, booking_no, now).await?;
            return Step::of(ctx.store.transact(writes).await, (order, None, ev));
        }
        let seen = order.stay_seen.take().filter(|s| first.swap(false, Ordering::SeqCst) && s.stay.card_in_id == order.card_in_id);
        let Some(seen) = seen else {
            let Some((stay, sv)) = stays::get(ctx, b, &order.card_in_id).await? else {
                return Err(stays::not_in_park(&p.credential));
            };
            let (order, stay, ev, writes) = settle_stay(ctx, branch, p, order, ov, stay, sv, now).await?;
            return Step::of(ctx.store.transact(writes).await, (order, Some(stay), ev));
        };
        // The stay as the quote read it: right while its version is, which
        // the transaction checks. A refusal is never answered on its word
        // (the stay may have moved on since): the next attempt reads it.
        match settle_stay(ctx, branch, p, order, ov, seen.stay, seen.version, now).await {
            Ok((order, stay, ev, writes)) => Step::of(ctx.store.transact(writes).await, (order, Some(stay), ev)),
            Err(e) => {
                tracing::debug!(error = %e, "payment refused against the stay the quote saw; reading the stay");
                Ok(Step::Conflict)
            }
        }
    })
    .await?;
    publish_committed(ctx, &[ev]).await;
    Ok((order, stay))
}

/// Judges the payment of `order` against the stay read at version `sv`, and
/// answers the paid order, the stay as paid, the 13.4 event and the commit
/// transaction's writes.
#[allow(clippy::too_many_arguments)]
async fn settle_stay(
    ctx: &Ctx,
    branch: &onecard_core::config::Branch,
    p: &PayRequest,
    mut order: Order,
    ov: Option<u64>,
    mut stay: Stay,
    sv: u64,
    now: NaiveDateTime,
) -> ApiResult<(Order, Stay, OutEvent, Vec<onecard_core::store::Write>)> {
    let b = branch.branchno.as_str();
    {
        if stay.state != StayState::InPark {
            return Err(stays::not_in_park(&p.credential));
        }
        if stay.settled != order.base_settled {
            // The order was read before the stay; if the payment that moved the
            // stay on was this very order, it reads as paid now: a duplicate.
            if ov.is_some() && orders::get(ctx, b, &order.order_no, order.zero).await?.is_some_and(|(o, _)| o.status == OrderStatus::Paid) {
                return Err(duplicate(&order.order_no));
            }
            return Err(ApiError::new(
                Code::ORDER_EXPIRED,
                format!("the stay was paid after order {} was calculated; calculate the fee again", order.order_no),
            ));
        }
        // A stored-value card pays the whole fee due, whatever `amount` says;
        // only a partial payment debits the part the caller names.
        let amount = if p.pay_type == PayType::STORED_VALUE && !p.partial { order.amount } else { p.amount };

        mark_paid(&mut order, p, amount, now);
        order.charge_seq_no = stay.payments.len() as i64 + 1;
        // A partial payment settles what was collected; a full one settles the
        // whole fee due, whatever waiver made `amount` smaller.
        let settled = if p.partial { amount } else { p.parkcost };
        // The free leave minutes count from the payment that settled the fee
        // (decision 14). A zero payment made inside that grace settles
        // nothing new, so it must not restart it: else a car could stay free
        // for ever by paying 0.00 every few minutes.
        let grace = branch.settings.grace_minutes;
        let renews_grace = !(order.zero && stay.last_full_payment().is_some_and(|t| within_grace(t, now, grace)));
        stay.settled += settled;
        stay.payments.push(PaymentRef {
            order_no: order.order_no.clone(),
            zero: order.zero,
            seq: order.charge_seq_no,
            paid_at: now,
            due: p.parkcost,
            settled,
            amount,
            pay_type: p.pay_type,
            full: !p.partial && renews_grace,
        });

        let ev = OutEvent::new(b, "report/parkTempCarCharge", order.charge_record(&stay), now);
        let mut writes = paid_order_writes(b, &order, ov, p, &ev, now);
        writes.push(stay.write_over(b, sv));
        if p.pay_type == PayType::STORED_VALUE {
            let card_no = cardlink::stored_value_card(ctx, b, &stay).await?.ok_or_else(|| {
                ApiError::field("payType", format!("3 (stored-value card) but {} has no stored-value card", stay.display_plate()))
            })?;
            writes.extend(crate::cards::debit_writes(ctx, b, &card_no, amount, &order.sk(), now).await?);
        }
        writes.extend(super::commit_extras::writes(ctx, b, &order, &stay, now).await?);
        Ok((order, stay, ev, writes))
    }
}

/// The refusals that do not depend on the payer (511 paid, 510 lapsed or never
/// issued), answered before a caller is asked to verify; `pay` checks them
/// again inside its transaction loop. Answers the stay's entry time and plate
/// for the verification.
async fn refuse_settled(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &PayRequest, now: NaiveDateTime) -> ApiResult<(NaiveDateTime, String)> {
    let (order, _) = order_to_pay(ctx, branch, p, now).await?;
    Ok((order.entry, order.plate))
}

/// 6.2 output.
#[derive(Serialize, JsonSchema)]
pub struct CommitOut {
    /// Always "1": a failure is an error answer.
    pub flag: String,
    pub memo: String,
    pub credential: String,
    /// Empty for a zero fee paid by `calcId`.
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// The grace after a full payment; none after a partial one.
    #[serde(rename = "FreeLeaveMinutes", skip_serializing_if = "Option::is_none")]
    pub free_leave_minutes: Option<String>,
}

async fn commit(ctx: Ctx, req: Req, input: CommitIn) -> ApiResult<CommitOut> {
    let p = input.validate()?;
    // 6.2.3: a caller that verifies its payments confirms this one first; an
    // order that is already paid or lapsed is refused before anyone is asked.
    if matches!(&req.origin, Origin::Caller(c) if c.verify_url.is_some()) {
        let known = refuse_settled(&ctx, &req.branch, &p, req.now).await?;
        verify::verify_commit(&**ctx.http(), &req.origin, &input.verify_request(&p, Some(known))?).await?;
    }
    let (order, stay) = commit_payment(&ctx, &req.branch, &p, req.now).await?;
    Ok(CommitOut {
        flag: "1".into(),
        memo: String::new(),
        credential: p.credential,
        order_no: if order.zero { String::new() } else { order.order_no },
        free_leave_minutes: (!p.partial).then(|| free_leave_minutes(&stay, req.branch.settings.grace_minutes, req.now).to_string()),
    })
}

/// Whole minutes left of the grace that the stay's last full payment opened
/// (all of it right after a payment that opened one).
fn free_leave_minutes(stay: &Stay, grace: i64, now: NaiveDateTime) -> i64 {
    match stay.last_full_payment() {
        Some(t) => (grace * 60 - (now - t).num_seconds()).div_euclid(60).clamp(0, grace.max(0)),
        None => 0,
    }
}

/// 6.20 input.
#[derive(Deserialize, JsonSchema)]
pub struct CancelIn {
    #[serde(rename = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    pub credential: Text,
    #[serde(rename = "orderno", alias = "orderNo")]
    pub order_no: Option<Text>,
}

async fn cancel(ctx: Ctx, req: Req, input: CancelIn) -> ApiResult<WithMessage<Null>> {
    let b = req.branchno();
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let credential = input.credential.as_str();
    let Some(no) = input.order_no.as_deref() else {
        // Without an order number there is nothing to release now: unpaid
        // orders lapse on their own after the branch's order minutes (6.20).
        stays::find(&ctx, b, ctype, credential).await?.ok_or_else(|| stays::not_in_park(credential))?;
        return Ok(WithMessage { data: Null, message: "no orderno given: unpaid orders expire by themselves".into() });
    };
    retry::on_conflict("order not cancelled", || async {
        let (mut order, v) =
            orders::get(&ctx, b, no, false).await?.ok_or_else(|| ApiError::field("orderno", format!("order {no} does not exist")))?;
        if !same_car(&order, ctype, credential) {
            return Err(ApiError::field("credential", format!("order {no} is not for {credential}")));
        }
        match order.status {
            OrderStatus::Paid => return Err(ApiError::failed(format!("order {no} is paid and cannot be cancelled"))),
            OrderStatus::Cancelled => return Ok(Step::Done(())),
            OrderStatus::Unpaid => {}
        }
        order.status = OrderStatus::Cancelled;
        Step::of(orders::put_over(&ctx, b, &order, v).await, ())
    })
    .await?;
    Ok(WithMessage { data: Null, message: SUCCESS.into() })
}

/// 6.26 input.
#[derive(Deserialize, JsonSchema)]
pub struct OrderGetIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
}

async fn order_get(ctx: Ctx, req: Req, input: OrderGetIn) -> ApiResult<OrderRow> {
    let no = input.order_no.as_str();
    let (order, _) =
        orders::get(&ctx, req.branchno(), no, false).await?.ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist")))?;
    Ok(order.to_row(req.now))
}

/// 6.29 input.
#[derive(Deserialize, JsonSchema)]
pub struct OrderListIn {
    #[serde(rename = "OrderNo")]
    pub order_no: Option<Text>,
    #[serde(rename = "CredentialType")]
    pub credential_type: Option<CredentialType>,
    #[serde(rename = "Credential")]
    pub credential: Option<Text>,
    #[serde(rename = "ChargeTimeStart")]
    pub from: Option<DateTime>,
    #[serde(rename = "ChargeTimeEnd")]
    pub to: Option<DateTime>,
    #[serde(rename = "payType")]
    pub pay_types: Option<PayTypes>,
}

async fn order_list(ctx: Ctx, req: Req, input: OrderListIn) -> ApiResult<Page<OrderRow>> {
    let b = req.branchno();
    let (from, to) = (input.from.map(DateTime::get), input.to.map(DateTime::get));
    if let (Some(f), Some(t)) = (from, to) {
        kit::check_window(f, t, "ChargeTimeEnd")?;
    }
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let types = input.pay_types.unwrap_or_default();
    let orders = match &input.order_no {
        Some(no) => orders::get(&ctx, b, no, false).await?.map(|(o, _)| o).into_iter().collect(),
        None => orders::paid_in_window(&ctx, b, from, to).await?,
    };
    let rows = orders
        .into_iter()
        .filter(|o| o.status == OrderStatus::Paid && !o.zero)
        .filter(|o| input.credential.as_deref().is_none_or(|c| same_car(o, ctype, c)))
        .filter(|o| types.0.is_empty() || o.pay_type.is_some_and(|p| types.admits(p)))
        .map(|o| o.to_row(req.now))
        .collect();
    Ok(req.page(rows))
}

/// 6.45 input.
#[derive(Deserialize, JsonSchema)]
pub struct ChargeExistIn {
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
    #[serde(rename = "afterTime")]
    pub after: DateTime,
    #[serde(rename = "payType")]
    pub pay_types: Option<PayTypes>,
}

/// 6.45 output: `exist` "True" with the latest payment, or "False" alone.
#[derive(Serialize, JsonSchema)]
pub struct ChargeExistOut {
    pub exist: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastCharge>,
}

#[derive(Serialize, JsonSchema)]
pub struct LastCharge {
    pub receivable: Money,
    pub amount: Money,
    #[serde(rename = "payTime")]
    pub pay_time: DateTime,
    #[serde(rename = "payType")]
    pub pay_type: PayType,
    #[serde(rename = "freeLeaveMinutes")]
    pub free_leave_minutes: String,
    #[serde(rename = "orderNo")]
    pub order_no: String,
}

async fn charge_exist(ctx: Ctx, req: Req, input: ChargeExistIn) -> ApiResult<ChargeExistOut> {
    let after = input.after.get();
    let types = input.pay_types.unwrap_or_default();
    let stay = stays::find(&ctx, req.branchno(), CredentialType::Plate, input.plate.norm()).await?.map(|(s, _)| s);
    let last = stay.as_ref().and_then(|s| {
        s.payments.iter().filter(|p| p.paid_at > after).filter(|p| types.admits(p.pay_type)).max_by_key(|p| p.paid_at).cloned()
    });
    let Some(p) = last else {
        return Ok(ChargeExistOut { exist: "False".into(), last: None });
    };
    let grace = if p.full { req.branch.settings.grace_minutes } else { 0 };
    Ok(ChargeExistOut {
        exist: "True".into(),
        last: Some(LastCharge {
            receivable: Money(p.due),
            amount: Money(p.amount),
            pay_time: DateTime(p.paid_at),
            pay_type: p.pay_type,
            free_leave_minutes: grace.to_string(),
            order_no: p.order_no,
        }),
    })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("commit", commit),
        kit::write("park.charge.cancel", cancel),
        kit::read("park.order.get", order_get),
        kit::read("park.order.list", order_list),
        kit::read("park.charge.exist", charge_exist),
    ]
}
