//! Parking orders: what `calc` (6.1) quotes and `commit` (6.2) pays. This
//! module owns their storage: the orders, the payment records and the payment
//! journal; nothing else builds their keys.
//!
//! An order is created when a fee above 0 is quoted; a zero fee creates a
//! calculation record instead, named by `calcId`, which `commit` accepts to
//! open the exit grace (6.2). Both live in `keys::orders(branch)`, the order
//! under its `orderNo`, the calculation under `Z{calcId}`.
//!
//! An order carries `base_settled`, what the stay had settled when it was
//! quoted. Paying it is only right while the stay still has settled exactly
//! that; otherwise the quote is stale and the caller must calculate again (510).
//! An unpaid order past `expires_at` reads as cancelled without being rewritten.

use super::stays::Stay;
use super::stored::{opt_pay_type, opt_ts, order_status, ts};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::kit::{DateTime, Money, OrderStatus, PayType};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiResult, Ctx, Fen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The statuses under their old names, for callers not yet on `OrderStatus`.
pub const UNPAID: OrderStatus = OrderStatus::Unpaid;
pub const PAID: OrderStatus = OrderStatus::Paid;
pub const CANCELLED: OrderStatus = OrderStatus::Cancelled;

/// The seed's default order prefix (revision 1.27: "CA", two characters).
const ORDER_PREFIX: &str = "CA";

/// Calculation records are only needed until they expire; the store drops them
/// a day later.
const CALC_TTL_SECS: i64 = 86_400;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// `orderNo`, or the `calcId` of a zero-fee calculation.
    pub order_no: String,
    pub zero: bool,
    pub card_in_id: String,
    pub charge_seq_no: i64,
    pub plate: String,
    pub card_no: Option<String>,
    pub car_type_id: i64,
    #[serde(with = "ts")]
    pub entry: NaiveDateTime,
    #[serde(with = "ts")]
    pub calc_start: NaiveDateTime,
    #[serde(with = "ts")]
    pub calc_end: NaiveDateTime,
    /// `parkcost`: what was due.
    pub parkcost: Fen,
    /// `amount`: what is (or was) to be paid.
    pub amount: Fen,
    pub base_settled: Fen,
    #[serde(with = "order_status")]
    pub status: OrderStatus,
    #[serde(with = "ts")]
    pub created_at: NaiveDateTime,
    #[serde(with = "ts")]
    pub expires_at: NaiveDateTime,
    #[serde(with = "opt_ts", default)]
    pub paid_at: Option<NaiveDateTime>,
    #[serde(with = "opt_pay_type", default)]
    pub pay_type: Option<PayType>,
    #[serde(default)]
    pub trade_no: Option<String>,
    #[serde(default)]
    pub trade_time: Option<String>,
    #[serde(default)]
    pub ws_no: Option<String>,
    #[serde(default)]
    pub oper_id: Option<String>,
    #[serde(default)]
    pub free_type: Option<String>,
    #[serde(default)]
    pub partial: bool,
    /// The discounts it carries (rule 9); `amount` is `parkcost` less them.
    #[serde(default)]
    pub discounts: crate::discounts::OrderDiscounts,
    /// The booking (6.13) whose fee this order is (6.15): paid through the
    /// same commit, which updates the booking instead of a stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_no: Option<String>,
    /// The stay as the quote read it: `commit` pays against it without
    /// reading the stay again (issue 11: the order is the commit's one read),
    /// its write conditioned on that version. The stay at that version is
    /// this stay (every write of a stay moves its version on), so a stay
    /// changed since fails the transaction, and the retry reads it. Dropped
    /// once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay_seen: Option<StaySeen>,
}

/// A stay and the version it was read at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaySeen {
    pub stay: Stay,
    pub version: u64,
}

pub fn sk(order_no: &str, zero: bool) -> String {
    if zero {
        format!("Z{order_no}")
    } else {
        order_no.to_string()
    }
}

/// A 6.26 / 6.29 row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct OrderRow {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    #[serde(rename = "cardInId")]
    pub card_in_id: String,
    #[serde(rename = "chargeSeqNo")]
    pub charge_seq_no: String,
    pub numno: String,
    pub carno: String,
    /// The printed example's spelling (decision 17: both are sent).
    #[serde(rename = "carNo")]
    pub car_no: String,
    #[serde(rename = "cardId")]
    pub card_id: String,
    pub entertime: DateTime,
    /// Whole minutes, truncated (6.26 and 13.4 say 取整, unlike 6.1); the
    /// same figure in both (`Order::parktime`).
    pub parktime: String,
    pub parkcost: Money,
    pub amount: Money,
    pub calcstarttime: DateTime,
    pub calcendtime: DateTime,
    /// The type paid with; while unpaid, the one the calc named, else the
    /// seed's default 10 (third-party payment). Never empty: 6.26 marks it
    /// required.
    #[serde(rename = "payType")]
    pub pay_type: String,
    #[serde(rename = "tradeNo")]
    pub trade_no: String,
    #[serde(rename = "tradeTime")]
    pub trade_time: String,
    pub status: OrderStatus,
}

impl Order {
    pub fn sk(&self) -> String {
        sk(&self.order_no, self.zero)
    }

    pub fn item(&self, branch: &str, version: u64) -> Item {
        let item = Item::new(keys::orders(branch), self.sk(), serde_json::to_value(self).unwrap_or_default()).with_version(version);
        if self.zero && self.status == OrderStatus::Unpaid {
            // TTLs are judged by the store against the wall clock, so the
            // lifetime is counted from it, not from branch-local times.
            let life = (self.expires_at - self.created_at).num_seconds().max(0);
            item.with_ttl(onecard_core::store::now_unix() + life + CALC_TTL_SECS)
        } else {
            item
        }
    }

    /// The payment record of a paid order: `MustNotExist` on it makes a
    /// payment exactly-once.
    pub fn payment_record(&self, branch: &str) -> Item {
        Item::new(keys::payments(branch), self.sk(), serde_json::to_value(self).unwrap_or_default())
    }

    fn journal_item(&self, branch: &str, at: NaiveDateTime) -> Item {
        let sk = keys::log_sk(&onecard_core::time::format(at), &self.sk());
        Item::new(keys::payment_log(branch), sk, json!({ "orderNo": self.order_no, "zero": self.zero, "cardInId": self.card_in_id }))
    }

    /// The writes that record this order as paid at `at`, read at `version`
    /// while unpaid: the order, its payment record and its journal entry. Any
    /// of them failing its condition means another payment got there first.
    pub fn paid_writes(&self, branch: &str, version: u64, at: NaiveDateTime) -> Vec<Write> {
        vec![
            Write::put(self.item(branch, version + 1), Cond::VersionIs(version)),
            Write::put(self.payment_record(branch), Cond::MustNotExist),
            Write::put(self.journal_item(branch, at), Cond::MustNotExist),
        ]
    }

    /// The journal entry that reverses this order's payment when its money is
    /// given back at `at` (a booking's fee, `payments::booking_refund`). The
    /// payment's own entry stays: the journal only grows, and a window that
    /// holds both shows the money taken and returned. `MustNotExist`: one
    /// reversal per order.
    pub fn reversal_write(&self, branch: &str, at: NaiveDateTime, amount: Fen, out_trade_no: &str) -> Write {
        let sk = keys::log_sk(&onecard_core::time::format(at), &format!("{}#reversal", self.sk()));
        let body = json!({ "orderNo": self.order_no, "zero": self.zero, "cardInId": self.card_in_id, REVERSAL: { "amount": amount, "outTradeNo": out_trade_no } });
        Write::put(Item::new(keys::payment_log(branch), sk, body), Cond::MustNotExist)
    }

    /// The writes that record a payment by the payer's id `trade_no`: the
    /// first payment under it wins, a repeat finds it taken.
    pub fn trade_write(&self, branch: &str, trade_no: &str) -> Write {
        let body = json!({ "orderNo": self.order_no, "zero": self.zero, "cardInId": self.card_in_id, "amount": self.amount.yuan() });
        Write::put(Item::new(keys::parking_trades(branch), trade_no.to_string(), body), Cond::MustNotExist)
    }

    /// The writes that record as paid an order that was never stored: priced
    /// and paid in one commit (6.2 without `orderNo`).
    pub fn fresh_paid_writes(&self, branch: &str, at: NaiveDateTime) -> Vec<Write> {
        vec![
            Write::put(self.item(branch, 1), Cond::MustNotExist),
            Write::put(self.payment_record(branch), Cond::MustNotExist),
            Write::put(self.journal_item(branch, at), Cond::MustNotExist),
        ]
    }

    /// Status as of `now`: an unpaid order past its expiry is cancelled.
    pub fn status_at(&self, now: NaiveDateTime) -> OrderStatus {
        if self.status == OrderStatus::Unpaid && now > self.expires_at {
            OrderStatus::Cancelled
        } else {
            self.status
        }
    }

    /// `parktime` of 6.26 and 13.4: whole minutes from entry to the end of
    /// the calculation, truncated (取整 in both sections).
    pub fn parktime(&self) -> i64 {
        (self.calc_end - self.entry).num_minutes().max(0)
    }

    /// The payment type 6.26 and 13.4 report (both mark it required).
    fn pay_type_or_default(&self) -> PayType {
        self.pay_type.unwrap_or(PayType::THIRD_PARTY)
    }

    pub fn to_row(&self, now: NaiveDateTime) -> OrderRow {
        OrderRow {
            order_no: self.order_no.clone(),
            card_in_id: self.card_in_id.clone(),
            charge_seq_no: self.charge_seq_no.to_string(),
            numno: self.card_no.clone().unwrap_or_else(|| self.plate.clone()),
            carno: self.plate.clone(),
            car_no: self.plate.clone(),
            card_id: self.card_no.clone().unwrap_or_default(),
            entertime: DateTime(self.entry),
            parktime: self.parktime().to_string(),
            parkcost: Money(self.parkcost),
            amount: Money(self.amount),
            calcstarttime: DateTime(self.calc_start),
            calcendtime: DateTime(self.calc_end),
            pay_type: self.pay_type_or_default().0.to_string(),
            trade_no: self.trade_no.clone().unwrap_or_default(),
            trade_time: self.trade_time.clone().unwrap_or_default(),
            status: self.status_at(now),
        }
    }

    /// 13.4 record, pushed when a temporary car pays. The table's lower-case
    /// names and the printed example's camelCase ones are both sent
    /// (decision 17), with the same values.
    pub fn charge_record(&self, stay: &Stay) -> Value {
        self.charge_record_of(&stay.display_plate(), stay.user_id.as_deref().unwrap_or_default())
    }

    /// The 13.4 record for a payer known by plate and open id alone (a
    /// booking's fee has no stay).
    pub fn charge_record_of(&self, plate: &str, open_id: &str) -> Value {
        let entertime = onecard_core::time::format(self.entry);
        let parktime = self.parktime().to_string();
        let calcstarttime = onecard_core::time::format(self.calc_start);
        let calcendtime = onecard_core::time::format(self.calc_end);
        json!({
            "orderNo": if self.zero { String::new() } else { self.order_no.clone() },
            "cardInId": self.card_in_id,
            "chargeSeqNo": self.charge_seq_no.to_string(),
            "plateNo": plate,
            "openId": open_id,
            "entertime": entertime,
            "enterTime": entertime,
            "parktime": parktime,
            "parkTime": parktime,
            "parkcost": self.parkcost.yuan(),
            "parkCost": self.parkcost.yuan(),
            "discountAmount": (self.parkcost - self.amount).max0().yuan(),
            "amount": self.amount.yuan(),
            "calcstarttime": calcstarttime,
            "calcStartTime": calcstarttime,
            "calcendtime": calcendtime,
            "calcEndTime": calcendtime,
            "payType": self.pay_type_or_default().0.to_string(),
            "tradeNo": self.trade_no.clone().unwrap_or_default(),
            "tradeTime": self.trade_time.clone().unwrap_or_default(),
            "status": self.status.code().to_string(),
        })
    }
}

/// A fresh order number: prefix, local time, then random digits. Uniqueness is
/// enforced by the `MustNotExist` write, not assumed.
fn new_number(now: NaiveDateTime, zero: bool) -> String {
    let r: u64 = rand::random::<u64>() % 100_000_000;
    if zero {
        format!("{}{r:08}", now.format("%Y%m%d%H%M%S"))
    } else {
        format!("{ORDER_PREFIX}{}{r:08}", now.format("%Y%m%d%H%M%S"))
    }
}

/// Gives `order` a fresh number; the caller's `MustNotExist` write proves it free.
pub fn number(order: &mut Order) {
    order.order_no = new_number(order.created_at, order.zero);
}

/// The order (or zero-fee calculation) paid under the payer's id `trade_no`.
pub async fn by_trade(ctx: &Ctx, branch: &str, trade_no: &str) -> ApiResult<Option<(String, bool)>> {
    Ok(ctx.store.get(&keys::parking_trades(branch), trade_no).await?.as_ref().and_then(traded_order))
}

/// What a payer's id `trade_no` paid (see `by_trade`) and the order `no`
/// (`zero`: a calculation) with its version, in one batch get; each None
/// when not asked or absent.
#[allow(clippy::type_complexity)]
pub async fn by_trade_and_order(
    ctx: &Ctx,
    branch: &str,
    trade_no: Option<&str>,
    order: Option<(&str, bool)>,
) -> ApiResult<(Option<(String, bool)>, Option<(Order, u64)>)> {
    let mut wanted = Vec::with_capacity(2);
    if let Some(t) = trade_no {
        wanted.push((keys::parking_trades(branch), t.to_string()));
    }
    if let Some((no, zero)) = order {
        wanted.push((keys::orders(branch), sk(no, zero)));
    }
    if wanted.is_empty() {
        return Ok((None, None));
    }
    let mut items = ctx.store.get_many(&wanted).await?.into_iter();
    let traded = match trade_no {
        Some(_) => items.next().flatten().and_then(|i| traded_order(&i)),
        None => None,
    };
    let order = match order {
        Some(_) => match items.next().flatten() {
            Some(i) => Some((i.parse()?, i.version)),
            None => None,
        },
        None => None,
    };
    Ok((traded, order))
}

fn traded_order(i: &Item) -> Option<(String, bool)> {
    let no = i.body["orderNo"].as_str()?.to_string();
    Some((no, i.body["zero"].as_bool().unwrap_or(false)))
}

/// Stores a new order (or calculation), drawing numbers until one is free.
pub async fn create(ctx: &Ctx, branch: &str, order: Order) -> ApiResult<Order> {
    retry::on_conflict("drawing a free order number", || {
        let mut order = order.clone();
        async move {
            order.order_no = new_number(order.created_at, order.zero);
            let put = ctx.store.put(order.item(branch, 1), Cond::MustNotExist).await;
            Step::of(put, order)
        }
    })
    .await
}

pub async fn get(ctx: &Ctx, branch: &str, order_no: &str, zero: bool) -> ApiResult<Option<(Order, u64)>> {
    match ctx.store.get(&keys::orders(branch), &sk(order_no, zero)).await? {
        Some(item) => Ok(Some((item.parse()?, item.version))),
        None => Ok(None),
    }
}

/// Writes an order back over the version it was read at.
pub async fn put_over(ctx: &Ctx, branch: &str, order: &Order, version: u64) -> onecard_core::store::StoreResult<()> {
    ctx.store.put(order.item(branch, version + 1), Cond::VersionIs(version)).await
}

/// The body field that marks a journal entry as a reversal.
const REVERSAL: &str = "reversal";

/// A payment given back, as the journal records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reversal {
    pub order_no: String,
    /// When it was given back (the journal's time, branch-local).
    pub at: String,
    pub amount: Fen,
    pub out_trade_no: String,
}

async fn journal_in_window(ctx: &Ctx, branch: &str, from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> ApiResult<Vec<Item>> {
    let lo = from.map(onecard_core::time::format).unwrap_or_else(|| "0".into());
    // '#' sorts before the digits of a time, so "{to}#" excludes `to` itself.
    let hi = to.map(|t| format!("{}#", onecard_core::time::format(t))).unwrap_or_else(|| "~".into());
    Ok(ctx.store.query_all(&Query::between(keys::payment_log(branch), lo, hi)).await?)
}

/// Payments given back in [from, to) (open ends when None), oldest first.
pub async fn reversals_in_window(ctx: &Ctx, branch: &str, from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> ApiResult<Vec<Reversal>> {
    let items = journal_in_window(ctx, branch, from, to).await?;
    Ok(items
        .iter()
        .filter_map(|i| {
            let r = i.body.get(REVERSAL)?;
            Some(Reversal {
                order_no: i.body["orderNo"].as_str()?.to_string(),
                at: i.sk.split_once('#').map(|(at, _)| at.to_string()).unwrap_or_default(),
                amount: serde_json::from_value(r["amount"].clone()).ok()?,
                out_trade_no: r["outTradeNo"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect())
}

/// Orders paid in [from, to) (open ends when None), oldest payment first.
/// A payment given back later is still a payment made then: the reversal is
/// an entry of its own (`reversals_in_window`), not listed here.
pub async fn paid_in_window(ctx: &Ctx, branch: &str, from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> ApiResult<Vec<Order>> {
    let items = journal_in_window(ctx, branch, from, to).await?;
    let mut out = Vec::with_capacity(items.len());
    for i in items.into_iter().filter(|i| i.body.get(REVERSAL).is_none()) {
        let (Some(no), zero) = (i.body["orderNo"].as_str(), i.body["zero"].as_bool().unwrap_or(false)) else { continue };
        if let Some((o, _)) = get(ctx, branch, no, zero).await? {
            out.push(o);
        }
    }
    Ok(out)
}
