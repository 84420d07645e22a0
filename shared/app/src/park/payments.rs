//! Paying parking fees: `commit` (6.2), `park.charge.cancel` (6.20),
//! `park.order.get` (6.26), `park.order.list` (6.29), `park.charge.exist` (6.45).
//!
//! Exactly-once: a commit is ONE store transaction of
//! - the order, `VersionIs` the version read while unpaid, rewritten as paid;
//! - the payment record at `payments/{orderNo}`, `MustNotExist`;
//! - the stay, `VersionIs`, with the payment added to what it has settled;
//! - the payment journal entry and the 13.4 outbox event;
//! - for payType 3, the stored-value card's debit (the cards module's writes).
//!
//! Two commits of one order can both read it unpaid, but only one transaction
//! can match the version; the loser re-reads, finds the order paid and answers
//! 511 having written nothing. An order quoted before another payment of the
//! same stay is stale (the stay's settled sum moved): 510, calculate again.

use super::fees::{credential_type, started_minutes};
use super::orders::{self, Order, CANCELLED, PAID};
use super::stays::{self, PaymentRef, Stay, StayState};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::fields::normalize_plate;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{handler, ApiError, ApiResult, Code, Ctx, Fen, Registry, Reply, Req};
use serde_json::{json, Value};

/// payType 3: paid from a stored-value card.
pub const STORED_VALUE: i64 = 3;
/// The seed's default payType: third-party payment.
pub const DEFAULT_PAY_TYPE: i64 = 10;

fn duplicate(no: &str) -> ApiError {
    ApiError::new(Code::DUPLICATE, format!("order {no} is already paid"))
}

fn expired(no: &str) -> ApiError {
    ApiError::new(Code::ORDER_EXPIRED, format!("order {no} has expired or was cancelled; calculate the fee again"))
}

/// Does the order belong to the car the caller names?
fn same_car(order: &Order, ctype: i64, credential: &str) -> bool {
    match ctype {
        2 => order.card_no.as_deref() == Some(credential.trim()),
        _ => normalize_plate(&order.plate) == normalize_plate(credential),
    }
}

/// What a commit asks for, read and checked before any store access.
struct PayRequest {
    ctype: i64,
    credential: String,
    number: String,
    zero: bool,
    parkcost: Fen,
    amount: Fen,
    pay_type: i64,
    partial: bool,
    free_type: Option<String>,
    trade_no: Option<String>,
    trade_time: Option<String>,
    ws_no: Option<String>,
    oper_id: Option<String>,
}

impl PayRequest {
    fn read(req: &Req) -> ApiResult<PayRequest> {
        let d = &req.data;
        let ctype = credential_type(req, "credentialtype")?;
        let credential = d.str("credential")?;
        let parkcost = d.money("parkcost")?;
        if parkcost.0 < 0 {
            return Err(ApiError::field("parkcost", "must not be negative"));
        }
        let amount = d.opt_money("amount")?.unwrap_or(parkcost);
        if amount.0 < 0 {
            return Err(ApiError::field("amount", "must not be negative"));
        }
        if amount > parkcost {
            return Err(ApiError::field("amount", format!("{amount} is more than the fee due {parkcost}")));
        }
        let (number, zero) = match (d.opt_str_any(&["orderNo", "orderno"])?, d.opt_str("calcId")?) {
            (Some(o), _) => (o, false),
            (None, Some(c)) => (c, true),
            (None, None) => return Err(ApiError::field("orderNo", "is required (or calcId for a zero fee)")),
        };
        if zero && parkcost.0 != 0 {
            return Err(ApiError::field("parkcost", "must be 0.00 when paying a zero-fee calculation (calcId)"));
        }
        let trade_time = match d.opt_time("thirdPayTime")? {
            Some(t) => Some(onecard_core::time::format(t)),
            None => None,
        };
        Ok(PayRequest {
            ctype,
            credential,
            number,
            zero,
            parkcost,
            amount,
            pay_type: d.i64_or("payType", DEFAULT_PAY_TYPE)?,
            partial: d.opt_bool("onlyPartialFee")?.unwrap_or(false),
            free_type: d.opt_str("freeType")?,
            trade_no: d.opt_str("thirdPayId")?,
            trade_time,
            ws_no: d.opt_str("wsNo")?,
            oper_id: d.opt_str("operId")?,
        })
    }
}

fn payment_log_item(branch: &str, order: &Order, at: NaiveDateTime) -> Item {
    let sk = keys::log_sk(&onecard_core::time::format(at), &order.sk());
    Item::new(keys::payment_log(branch), sk, json!({ "orderNo": order.order_no, "zero": order.zero, "cardInId": order.card_in_id }))
}

/// The stored-value card that pays for this stay (payType 3).
async fn stored_value_card(ctx: &Ctx, branch: &str, stay: &Stay) -> ApiResult<String> {
    if let Some(t) = super::cardlink::card_terms(ctx, branch, &stay.plate).await? {
        if t.stored_value {
            return Ok(t.card_no);
        }
    }
    if let Some(no) = &stay.card_no {
        if let Some(c) = crate::cards::get_card(ctx, branch, no).await? {
            if c.is_stored_value() {
                return Ok(c.card_no);
            }
        }
    }
    Err(ApiError::field("payType", format!("3 (stored-value card) but {} has no stored-value card", stay.display_plate())))
}

/// Pays an order once. Answers the paid order and the stay as committed.
async fn pay(ctx: &Ctx, branch: &onecard_core::config::Branch, p: &PayRequest, now: NaiveDateTime) -> ApiResult<(Order, Stay)> {
    let b = branch.branchno.as_str();
    for _ in 0..32 {
        let Some((mut order, ov)) = orders::get(ctx, b, &p.number, p.zero).await? else {
            // Calculation records disappear after expiring; an unknown order
            // number was never issued.
            return Err(if p.zero { expired(&p.number) } else { ApiError::field("orderNo", format!("order {} does not exist", p.number)) });
        };
        if !same_car(&order, p.ctype, &p.credential) {
            return Err(ApiError::field("credential", format!("order {} is not for {}", p.number, p.credential)));
        }
        match order.status_at(now) {
            PAID => return Err(duplicate(&p.number)),
            CANCELLED => return Err(expired(&p.number)),
            _ => {}
        }
        if order.parkcost != p.parkcost {
            return Err(ApiError::field("parkcost", format!("is {} but order {} is for {}", p.parkcost, p.number, order.parkcost)));
        }
        let Some((mut stay, sv)) = stays::get(ctx, b, &order.card_in_id).await? else {
            return Err(stays::not_in_park(&p.credential));
        };
        if stay.state != StayState::InPark {
            return Err(stays::not_in_park(&p.credential));
        }
        if stay.settled != order.base_settled {
            // The order was read before the stay; if the payment that moved the
            // stay on was this very order, it reads as paid now: a duplicate.
            if orders::get(ctx, b, &p.number, p.zero).await?.is_some_and(|(o, _)| o.status == PAID) {
                return Err(duplicate(&p.number));
            }
            return Err(ApiError::new(
                Code::ORDER_EXPIRED,
                format!("the stay was paid after order {} was calculated; calculate the fee again", p.number),
            ));
        }

        order.status = PAID;
        order.paid_at = Some(now);
        order.amount = p.amount;
        order.pay_type = Some(p.pay_type);
        order.partial = p.partial;
        order.free_type = p.free_type.clone();
        order.trade_no = p.trade_no.clone();
        order.trade_time = p.trade_time.clone();
        order.ws_no = p.ws_no.clone().or(order.ws_no);
        order.oper_id = p.oper_id.clone().or(order.oper_id);
        order.charge_seq_no = stay.payments.len() as i64 + 1;
        // A partial payment settles what was collected; a full one settles the
        // whole fee due, whatever discount or waiver made `amount` smaller.
        let settled = if p.partial { p.amount } else { p.parkcost };
        stay.settled += settled;
        stay.payments.push(PaymentRef {
            order_no: order.order_no.clone(),
            zero: order.zero,
            seq: order.charge_seq_no,
            paid_at: now,
            due: p.parkcost,
            settled,
            amount: p.amount,
            pay_type: p.pay_type,
            full: !p.partial,
        });

        let ev = OutEvent::new(b, "report/parkTempCarCharge", order.charge_record(&stay), now);
        let mut writes = vec![
            Write::put(order.item(b, ov + 1), Cond::VersionIs(ov)),
            Write::put(Item::new(keys::payments(b), order.sk(), serde_json::to_value(&order).unwrap_or_default()), Cond::MustNotExist),
            Write::put(payment_log_item(b, &order, now), Cond::MustNotExist),
            Write::put(stay.item(b, sv + 1), Cond::VersionIs(sv)),
            outbox_write(&ev),
        ];
        if p.pay_type == STORED_VALUE {
            let card_no = stored_value_card(ctx, b, &stay).await?;
            writes.extend(crate::cards::debit_writes(ctx, b, &card_no, p.amount, &order.sk(), now).await?);
        }
        match ctx.store.transact(writes).await {
            Ok(()) => {
                publish_committed(ctx, &[ev]).await;
                return Ok((order, stay));
            }
            // Someone else changed the order, the stay or the card: re-read and
            // judge again (paid now -> 511, stay moved on -> 510).
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(Code::SYSTEM, "payment not recorded: too much contention, retry"))
}

/// The refusals that do not depend on the payer (511 paid, 510 lapsed); `pay`
/// checks them again inside its transaction loop, this only answers early.
async fn refuse_settled(ctx: &Ctx, b: &str, p: &PayRequest, now: NaiveDateTime) -> ApiResult<()> {
    if let Some((order, _)) = orders::get(ctx, b, &p.number, p.zero).await? {
        match order.status_at(now) {
            PAID => return Err(duplicate(&p.number)),
            CANCELLED => return Err(expired(&p.number)),
            _ => {}
        }
    }
    Ok(())
}

async fn commit(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let p = PayRequest::read(&req)?;
    // 6.2.3: a caller that verifies its payments confirms this one first; an
    // order that is already paid or lapsed is refused before anyone is asked.
    if matches!(&req.origin, onecard_core::Origin::Caller(c) if c.verify_url.is_some()) {
        refuse_settled(&ctx, req.branchno(), &p, req.now).await?;
    }
    crate::push::verify::verify_commit(&ctx, &req, (!p.zero).then_some(p.number.as_str()), p.trade_no.as_deref(), p.parkcost, &p.credential).await?;
    let (order, _) = pay(&ctx, &req.branch, &p, req.now).await?;
    let mut out = json!({
        "flag": "1",
        "memo": "",
        "credential": p.credential,
        "orderNo": if order.zero { String::new() } else { order.order_no.clone() },
    });
    if !p.partial {
        if let Some(m) = out.as_object_mut() {
            m.insert("FreeLeaveMinutes".into(), json!(req.branch.settings.grace_minutes.to_string()));
        }
    }
    Ok(Reply::data(out))
}

async fn cancel(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let ctype = credential_type(&req, "credentialtype")?;
    let credential = req.data.str("credential")?;
    let Some(no) = req.data.opt_str_any(&["orderno", "orderNo"])? else {
        // Without an order number there is nothing to release now: unpaid
        // orders lapse on their own after the branch's order minutes (6.20).
        stays::in_park(&ctx, b, ctype, &credential).await?.ok_or_else(|| stays::not_in_park(&credential))?;
        return Ok(Reply::data(Value::Null).with_message("no orderno given: unpaid orders expire by themselves"));
    };
    for _ in 0..16 {
        let (mut order, v) = orders::get(&ctx, b, &no, false)
            .await?
            .ok_or_else(|| ApiError::field("orderno", format!("order {no} does not exist")))?;
        if !same_car(&order, ctype, &credential) {
            return Err(ApiError::field("credential", format!("order {no} is not for {credential}")));
        }
        match order.status {
            PAID => return Err(ApiError::failed(format!("order {no} is paid and cannot be cancelled"))),
            CANCELLED => return Ok(Reply::data(Value::Null)),
            _ => {}
        }
        order.status = CANCELLED;
        match ctx.store.put(order.item(b, v + 1), Cond::VersionIs(v)).await {
            Ok(()) => return Ok(Reply::data(Value::Null)),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(Code::SYSTEM, "order not cancelled: too much contention, retry"))
}

async fn order_get(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let no = req.data.str_any(&["orderNo", "orderno"])?;
    let (order, _) = orders::get(&ctx, req.branchno(), &no, false)
        .await?
        .ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist")))?;
    Ok(Reply::data(order.to_wire(req.now)))
}

/// Paid orders whose payment time lies in [from, to), oldest first.
pub async fn paid_in_window(ctx: &Ctx, branch: &str, from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> ApiResult<Vec<Order>> {
    let lo = from.map(onecard_core::time::format).unwrap_or_else(|| "0".into());
    // '#' sorts before the digits of a time, so "{to}#" excludes `to` itself.
    let hi = to.map(|t| format!("{}#", onecard_core::time::format(t))).unwrap_or_else(|| "~".into());
    let items = ctx.store.query_all(&Query::between(keys::payment_log(branch), lo, hi)).await?;
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let (Some(no), zero) = (i.body["orderNo"].as_str(), i.body["zero"].as_bool().unwrap_or(false)) else { continue };
        if let Some((o, _)) = orders::get(ctx, branch, no, zero).await? {
            out.push(o);
        }
    }
    Ok(out)
}

fn pay_types(s: Option<String>, field: &str) -> ApiResult<Option<Vec<i64>>> {
    match s {
        None => Ok(None),
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<i64>().map_err(|_| ApiError::field(field, format!("'{t}' is not a payment type"))))
            .collect::<ApiResult<Vec<_>>>()
            .map(|v| if v.is_empty() { None } else { Some(v) }),
    }
}

async fn order_list(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let b = req.branchno();
    let types = pay_types(d.opt_str("payType")?, "payType")?;
    let ctype = d.i64_or("CredentialType", 1)?;
    let credential = d.opt_str("Credential")?;
    let orders = match d.opt_str("OrderNo")? {
        Some(no) => orders::get(&ctx, b, &no, false).await?.map(|(o, _)| o).into_iter().collect(),
        None => paid_in_window(&ctx, b, d.opt_time("ChargeTimeStart")?, d.opt_time("ChargeTimeEnd")?).await?,
    };
    let rows = orders
        .into_iter()
        .filter(|o| o.status == PAID && !o.zero)
        .filter(|o| credential.as_deref().is_none_or(|c| same_car(o, ctype, c)))
        .filter(|o| types.as_ref().is_none_or(|t| o.pay_type.is_some_and(|p| t.contains(&p))))
        .map(|o| o.to_wire(req.now))
        .collect();
    Ok(req.list(rows))
}

async fn charge_exist(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let plate = d.str("licensePlate")?;
    let after = d.time("afterTime")?;
    let types = pay_types(d.opt_str("payType")?, "payType")?;
    let stay = stays::in_park(&ctx, req.branchno(), 1, &plate).await?.map(|(s, _)| s);
    let last = stay.as_ref().and_then(|s| {
        s.payments
            .iter()
            .filter(|p| p.paid_at > after)
            .filter(|p| types.as_ref().is_none_or(|t| t.contains(&p.pay_type)))
            .max_by_key(|p| p.paid_at)
            .cloned()
    });
    let Some(p) = last else {
        return Ok(Reply::data(json!({ "exist": "False" })));
    };
    let grace = if p.full { req.branch.settings.grace_minutes } else { 0 };
    Ok(Reply::data(json!({
        "exist": "True",
        "receivable": p.due.yuan(),
        "amount": p.amount.yuan(),
        "payTime": onecard_core::time::format(p.paid_at),
        "payType": p.pay_type.to_string(),
        "freeLeaveMinutes": grace.to_string(),
        "orderNo": p.order_no,
    })))
}

/// Minutes of a stay at a payment, for journal rows.
pub fn minutes_at(stay: &Stay, at: NaiveDateTime) -> i64 {
    started_minutes(stay.entry, at)
}

pub fn register(reg: &mut Registry) {
    reg.handle("commit", handler(commit));
    reg.handle("park.charge.cancel", handler(cancel));
    reg.handle("park.order.get", handler(order_get));
    reg.handle("park.order.list", handler(order_list));
    reg.handle("park.charge.exist", handler(charge_exist));
}
