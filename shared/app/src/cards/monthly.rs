//! Monthly cards: information and quote (6.5), payment orders (6.39), renewal
//! (6.6) and the renewal list (6.35).
//!
//! A renewal is one transaction: the card's new expiry (`VersionIs`), the
//! renewal record under its idempotency key (`MustNotExist`), the order marked
//! paid (`VersionIs`) when there is one, and the 13.5 push in the outbox. So a
//! renewal happens once whatever the concurrency, and a repeat answers 511.
//!
//! A renewal continues from the stored expiry even when it has passed: the
//! seed quotes `newexpirydate` as `expirydate` plus the months, and 6.37's
//! `RestrictDaysToMCardExpiration` exists because late renewals do so.

use super::catalog::{month_fee_by_id, MonthFee};
use super::input::opt_text;
use super::model::{Card, Holder};
use super::months::{add_months, fee, span, sub_months, MAX_MONTHS};
use super::payments::{duplicate, payment_key, MonthCharge, MonthOrder, OrderStatus};
use super::store::{card_update, credential, find_cards, find_one, get_holder, list_cards, Credential, Versioned};
use crate::{ids, keys};
use chrono::{NaiveDateTime, TimeDelta};
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::fields::normalize_plate;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{handler, ApiError, ApiResult, Code, Ctx, Data, Fen, Registry, Reply, Req};
use serde_json::{json, Value};

const ATTEMPTS: usize = 5;
/// 6.6's default payment type: mobile APP.
const DEFAULT_PAY_TYPE: i64 = -1;
/// 6.39's default: third-party payment.
const ORDER_PAY_TYPE: i64 = 10;

const CREDENTIALS: [(i64, Credential); 3] = [(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo)];

pub(super) async fn monthly_card(ctx: &Ctx, branch: &str, kind: Credential, value: &str) -> ApiResult<Versioned<Card>> {
    find_one(ctx, branch, kind, value, |c| c.parking && c.is_monthly()).await
}

pub(super) async fn tariff_of(ctx: &Ctx, branch: &str, card: &Card) -> ApiResult<MonthFee> {
    let id = card.month_tariff_id.ok_or_else(|| ApiError::failed(format!("card {} has no monthly tariff", card.card_no)))?;
    month_fee_by_id(ctx, branch, id).await?.ok_or_else(|| ApiError::failed(format!("monthly tariff {id} of card {} does not exist", card.card_no)))
}

fn months_field(d: &Data, name: &str, min: i64) -> ApiResult<Option<i64>> {
    let n = d.opt_i64(name)?;
    if n.is_some_and(|n| n < min || n > MAX_MONTHS) {
        return Err(ApiError::field(name, format!("must be between {min} and {MAX_MONTHS} months")));
    }
    Ok(n)
}

async fn info(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let (kind, value) = credential(&req.data, ("credentialtype", "credential"), &CREDENTIALS)?;
    let number = months_field(&req.data, "number", 0)?;
    let card = monthly_card(&ctx, b, kind, &value).await?.value;
    let tariff = tariff_of(&ctx, b, &card).await?;
    let holder = get_holder(&ctx, b, &card.user_no).await?;
    let mut out = json!({
        "UserNo": card.user_no,
        "name": holder.map(|h| h.name).unwrap_or_default(),
        "monthlyrent": fee(tariff.charge, number.unwrap_or(1).max(1), 0).yuan(),
        "tariffid": tariff.id.to_string(),
        "carno": card.first_plate(),
        "expirydate": onecard_core::time::format(card.valid_to),
        // Cards are paid one by one here (the CS system's basis).
        "chargeBy": "0",
    });
    if let Some(n) = number.filter(|n| *n >= 1) {
        let new = add_months(card.valid_to, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?;
        out["newexpirydate"] = json!(onecard_core::time::format(new));
    }
    if let Some(g) = &card.group_id {
        let members = list_cards(&ctx, b).await?.into_iter().filter(|c| c.group_id.as_ref() == Some(g)).count();
        out["groupID"] = json!(g);
        out["groupCardNum"] = json!(members.to_string());
    }
    Ok(Reply::data(out))
}

/// What a renewal asks for (6.6 input).
#[derive(Clone, Debug, Default)]
pub struct Renewal {
    pub months: Option<i64>,
    /// A new expiry date; its time of day is the card's current one.
    pub expiry: Option<NaiveDateTime>,
    pub pay_type: Option<i64>,
    pub order_no: Option<String>,
    pub third_pay_id: Option<String>,
    pub third_pay_time: Option<NaiveDateTime>,
    /// Renew every card of a group (`isGroupCharge`); `group_id` names it,
    /// else the group of the credential's card.
    pub group: bool,
    pub group_id: Option<String>,
}

impl Renewal {
    fn from_request(d: &Data) -> ApiResult<Renewal> {
        let r = Renewal {
            group: d.opt_bool("isGroupCharge")?.unwrap_or(false),
            group_id: opt_text(d, "groupID", 32)?,
            months: months_field(d, "number", 1)?,
            expiry: d.opt_time("expirydate")?,
            pay_type: d.opt_i64("paytype")?.or(d.opt_i64("payType")?),
            order_no: opt_text(d, "orderNo", 64)?,
            third_pay_id: opt_text(d, "thirdPayId", 64)?,
            third_pay_time: d.opt_time("thirdPayTime")?,
        };
        // With an order the months are the order's.
        if r.months.is_none() && r.expiry.is_none() && r.order_no.is_none() {
            return Err(ApiError::field("number", "either number or expirydate is required"));
        }
        Ok(r)
    }
}

/// What one card's renewal comes to.
pub(super) struct Planned {
    pub pre: NaiveDateTime,
    pub to: NaiveDateTime,
    pub months: i64,
    pub days: i64,
    pub receivable: Fen,
}

/// The new expiry, the span paid and the fee, per 6.6: months from the current
/// expiry; or up to a date, charged by months and days; or both, in which case
/// the date wins and the expiry before is taken as that date minus the months.
pub(super) fn plan(card: &Card, tariff: &MonthFee, r: &Renewal) -> ApiResult<Planned> {
    let cur = card.valid_to;
    let target = r.expiry.map(|e| e.date().and_time(cur.time()));
    match (r.months, target) {
        (Some(n), None) => {
            let to = add_months(cur, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?;
            Ok(Planned { pre: cur, to, months: n, days: 0, receivable: fee(tariff.charge, n, 0) })
        }
        (None, Some(to)) => {
            if to <= cur {
                return Err(ApiError::field("expirydate", format!("must be after the current expiry {}", onecard_core::time::format(cur))));
            }
            let (m, d) = span(cur, to);
            if m > MAX_MONTHS {
                return Err(ApiError::field("expirydate", format!("extends by more than {MAX_MONTHS} months")));
            }
            Ok(Planned { pre: cur, to, months: m, days: d, receivable: fee(tariff.charge, m, d) })
        }
        (Some(n), Some(to)) => {
            if to <= cur {
                return Err(ApiError::field("expirydate", format!("must be after the current expiry {}", onecard_core::time::format(cur))));
            }
            let pre = sub_months(to, n).ok_or_else(|| ApiError::field("number", "gives an expiry out of range"))?;
            Ok(Planned { pre, to, months: n, days: 0, receivable: fee(tariff.charge, n, 0) })
        }
        (None, None) => Err(ApiError::field("number", "either number or expirydate is required")),
    }
}

async fn load_order(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Option<Versioned<MonthOrder>>> {
    match ctx.store.get(&keys::month_orders(branch), order_no).await? {
        Some(item) => Ok(Some(Versioned { value: item.parse()?, version: item.version })),
        None => Ok(None),
    }
}

pub(super) async fn charge_exists(ctx: &Ctx, branch: &str, key: &str) -> ApiResult<bool> {
    Ok(ctx.store.get(&keys::month_charges(branch), key).await?.is_some())
}

/// The renewal record of card `c`; with an order, its amounts and payment
/// type are the order's.
#[allow(clippy::too_many_arguments)]
pub(super) fn charge_record(
    c: &Card,
    holder: Option<&Holder>,
    tariff: &MonthFee,
    key: &str,
    seq: i64,
    p: &Planned,
    r: &Renewal,
    order: Option<&MonthOrder>,
    now: NaiveDateTime,
) -> MonthCharge {
    let h = |f: &dyn Fn(&Holder) -> String| holder.map(f).unwrap_or_default();
    MonthCharge {
        seq_no: seq,
        key: key.to_string(),
        order_no: r.order_no.clone(),
        card_no: c.card_no.clone(),
        card_id: c.card_id.clone(),
        num_no: c.num_no.clone(),
        plates: c.plates.clone(),
        user_no: c.user_no.clone(),
        user_name: h(&|h| h.name.clone()),
        mobile: h(&|h| h.mobile().to_string()),
        company_name: h(&|h| h.field("CompanyName").to_string()),
        dept_id: h(&|h| h.field("DeptID").to_string()),
        tariff_id: Some(tariff.id),
        tariff_name: tariff.name.clone(),
        group_type: c.group_type,
        pay_month: p.months,
        pay_day: p.days,
        paid_at: now,
        pre_expiry: p.pre,
        cur_expiry: p.to,
        receivable: order.map(|o| o.receivable).unwrap_or(p.receivable),
        amount: order.map(|o| o.amount).unwrap_or(p.receivable),
        pay_type: r.pay_type.or(order.map(|o| o.pay_type)).unwrap_or(DEFAULT_PAY_TYPE),
        third_pay_id: r.third_pay_id.clone(),
        third_pay_time: r.third_pay_time,
        ws_no: order.and_then(|o| o.ws_no.clone()),
    }
}

/// Renews the monthly card a credential names, exactly once per idempotency
/// key (see `payment_key`). 511 for a repeat, 510 for an expired order.
pub async fn renew(ctx: &Ctx, branch: &str, kind: Credential, value: &str, r: &Renewal, now: NaiveDateTime) -> ApiResult<MonthCharge> {
    let fresh_key = format!("G:{}", uuid::Uuid::new_v4().simple());
    let key = payment_key(r.order_no.as_deref(), r.third_pay_id.as_deref(), || fresh_key.clone());
    let mut seq_no = None;
    for _ in 0..ATTEMPTS {
        if charge_exists(ctx, branch, &key).await? {
            return Err(duplicate(&key));
        }
        let card = monthly_card(ctx, branch, kind, value).await?;
        let order = match &r.order_no {
            None => None,
            Some(no) => {
                let o = load_order(ctx, branch, no)
                    .await?
                    .ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist; create it with park.mcard.order.create")))?;
                if o.value.card_no != card.value.card_no {
                    return Err(ApiError::field("orderNo", format!("order {no} is for card {}", o.value.card_no)));
                }
                if o.value.status == OrderStatus::Paid {
                    return Err(duplicate(no));
                }
                if now > o.value.expires_at {
                    return Err(ApiError::new(Code::ORDER_EXPIRED, format!("order {no} expired at {}", onecard_core::time::format(o.value.expires_at))));
                }
                if r.months.is_some_and(|m| m != o.value.pay_month) {
                    return Err(ApiError::field("number", format!("order {no} is for {} month(s)", o.value.pay_month)));
                }
                Some(o)
            }
        };
        let tariff = tariff_of(ctx, branch, &card.value).await?;
        let wanted = Renewal { months: r.months.or(order.as_ref().map(|o| o.value.pay_month)), ..r.clone() };
        let p = plan(&card.value, &tariff, &wanted)?;
        let holder = get_holder(ctx, branch, &card.value.user_no).await?;
        let c = &card.value;
        // Drawn once: a retry after a lost race keeps the number.
        let seq = match seq_no {
            Some(s) => s,
            None => *seq_no.insert(ids::next_id(ctx, branch, "mcardpay").await?),
        };
        let record = charge_record(c, holder.as_ref(), &tariff, &key, seq, &p, r, order.as_ref().map(|o| &o.value), now);
        let to = p.to;
        let next = Card { valid_to: to, ..c.clone() };
        let event = OutEvent::new(branch, "report/parkMonthlyCarCharge", record.to_push(), now);
        let mut writes = vec![
            card_update(branch, &card, &next),
            Write::put(
                Item::new(keys::month_charges(branch), key.clone(), serde_json::to_value(&record).unwrap_or_default()),
                Cond::MustNotExist,
            ),
            outbox_write(&event),
        ];
        if let Some(o) = &order {
            let paid = MonthOrder { status: OrderStatus::Paid, ..o.value.clone() };
            let item = Item::new(keys::month_orders(branch), paid.order_no.clone(), serde_json::to_value(&paid).unwrap_or_default());
            writes.push(Write::put(item.with_version(o.version + 1), Cond::VersionIs(o.version)));
        }
        match ctx.store.transact(writes).await {
            Ok(()) => {
                publish_committed(ctx, &[event]).await;
                return Ok(record);
            }
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    if charge_exists(ctx, branch, &key).await? {
        return Err(duplicate(&key));
    }
    Err(ApiError::failed("the card was changed meanwhile by another request; try again"))
}

async fn charge(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let (kind, value) = credential(&req.data, ("credentialtype", "credential"), &CREDENTIALS)?;
    let r = Renewal::from_request(&req.data)?;
    if r.group {
        let recs = super::group::renew_group(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
        let total: Fen = recs.iter().map(|c| c.receivable).sum();
        return Ok(Reply::data(json!({
            "flag": "1",
            "months": recs[0].pay_month.to_string(),
            "days": recs[0].pay_day.to_string(),
            "receivable": total.yuan(),
            "memo": format!("{} 张卡已续费", recs.len()),
        })));
    }
    let rec = renew(&ctx, req.branchno(), kind, &value, &r, req.now).await?;
    Ok(Reply::data(json!({
        "flag": "1",
        "months": rec.pay_month.to_string(),
        "days": rec.pay_day.to_string(),
        "receivable": rec.receivable.yuan(),
        "memo": format!("有效期至 {}", onecard_core::time::format(rec.cur_expiry)),
    })))
}

/// Remark limit of 6.39: 25 Chinese or 50 Latin characters.
fn remark_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

async fn order_create(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let d = &req.data;
    let (kind, value) = credential(d, ("credentialType", "credential"), &[(1, Credential::Plate), (2, Credential::CardNo)])?;
    let receivable = match d.opt_money("aeceivable")? {
        Some(m) => m,
        None => d.opt_money("receivable")?.ok_or_else(|| ApiError::missing("aeceivable"))?,
    };
    let amount = d.money("amount")?;
    for (name, m) in [("aeceivable", receivable), ("amount", amount)] {
        if m.0 < 0 {
            return Err(ApiError::field(name, "must not be negative"));
        }
    }
    let pre = d.time("preExpireDate")?;
    let cur = d.time("currExpireDate")?;
    let pay_month = months_field(d, "payMonth", 1)?.ok_or_else(|| ApiError::missing("payMonth"))?;
    let remark = d.opt_str("remark")?;
    if remark.as_deref().is_some_and(|r| remark_width(r) > 50) {
        return Err(ApiError::field("remark", "is longer than 25 Chinese or 50 Latin characters"));
    }
    let card = monthly_card(&ctx, b, kind, &value).await?.value;
    let tariff = tariff_of(&ctx, b, &card).await?;
    // The order must describe this card as it is: a stale or miscomputed order
    // would record one expiry and fee while the renewal applies another.
    if pre.date() != card.valid_to.date() {
        return Err(ApiError::field("preExpireDate", format!("the card expires {}", onecard_core::time::format(card.valid_to))));
    }
    let to = add_months(card.valid_to, pay_month).ok_or_else(|| ApiError::field("payMonth", "gives an expiry out of range"))?;
    if cur.date() != to.date() {
        return Err(ApiError::field("currExpireDate", format!("{pay_month} month(s) from the current expiry is {}", onecard_core::time::format(to))));
    }
    let due = fee(tariff.charge, pay_month, 0);
    if receivable != due {
        return Err(ApiError::field("aeceivable", format!("{pay_month} month(s) at {} cost {}", tariff.charge, due)));
    }
    let seq = ids::next_id(&ctx, b, "mcardorder").await?;
    let order = MonthOrder {
        order_no: format!("MC{}{:08}", req.now.format("%Y%m%d%H%M%S"), seq),
        card_no: card.card_no.clone(),
        receivable,
        amount,
        pre_expiry: card.valid_to,
        cur_expiry: to,
        pay_type: d.opt_i64("payType")?.unwrap_or(ORDER_PAY_TYPE),
        ws_no: opt_text(d, "wsNo", 64)?,
        remark,
        pay_month,
        created_at: req.now,
        expires_at: req.now + TimeDelta::minutes(req.branch.settings.order_minutes.max(1)),
        status: OrderStatus::Unpaid,
    };
    let item = Item::new(keys::month_orders(b), order.order_no.clone(), serde_json::to_value(&order).unwrap_or_default());
    ctx.store.put(item, Cond::MustNotExist).await?;
    Ok(Reply::data(json!({ "orderNo": order.order_no, "cardNo": card.card_no, "cardId": card.card_id })))
}

pub async fn list_charges(ctx: &Ctx, branch: &str) -> ApiResult<Vec<MonthCharge>> {
    let items = ctx.store.query_all(&Query::partition(keys::month_charges(branch))).await?;
    let mut all: Vec<MonthCharge> = items.iter().map(Item::parse).collect::<Result<_, _>>()?;
    all.sort_by_key(|c| (c.paid_at, c.seq_no));
    Ok(all)
}

async fn charge_list(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let d = &req.data;
    let plate = d.opt_str("LicensePlateNo")?.map(|p| normalize_plate(&p));
    let name = d.opt_str("FstName")?;
    let card_id = d.opt_str("CardID")?;
    let num_no = d.opt_str("NumNo")?;
    let from = d.opt_time("PayDateTimeStart")?;
    let to = d.opt_time("PayDateTimeEnd")?;
    let charge_type = d.opt_i64("ChargeType")?;
    let group_type = d.opt_i64("CardGroupType")?;
    let ws = d.opt_str("ChargeWorkStationNo")?;
    let dept = d.opt_str("DeptID")?;
    let rows: Vec<Value> = list_charges(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|c| plate.as_ref().is_none_or(|p| c.plates.contains(p)))
        .filter(|c| name.as_ref().is_none_or(|n| c.user_name.contains(n.as_str())))
        .filter(|c| card_id.as_ref().is_none_or(|v| &c.card_id == v))
        .filter(|c| num_no.as_ref().is_none_or(|v| normalize_plate(&c.num_no) == normalize_plate(v)))
        .filter(|c| from.is_none_or(|t| c.paid_at >= t) && to.is_none_or(|t| c.paid_at <= t))
        .filter(|c| charge_type.is_none_or(|t| c.tariff_id == Some(t)))
        .filter(|c| group_type.is_none_or(|g| c.group_type == Some(g)))
        .filter(|c| ws.as_ref().is_none_or(|w| c.ws_no.as_ref() == Some(w)))
        .filter(|c| dept.as_ref().is_none_or(|v| &c.dept_id == v))
        .map(|c| c.to_row())
        .collect();
    Ok(req.list(rows))
}

/// The cards a credential names, for list filters that accept one.
pub async fn cards_named(ctx: &Ctx, branch: &str, kind: Credential, value: &str) -> ApiResult<Vec<String>> {
    Ok(find_cards(ctx, branch, kind, value).await?.into_iter().map(|c| c.value.card_no).collect())
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.mcard.info", handler(info));
    reg.handle("park.mcard.charge", handler(charge));
    reg.handle("park.mcard.order.create", handler(order_create));
    reg.handle("park.mcard.charge.list", handler(charge_list));
}
