//! Parking orders: what `calc` (6.1) quotes and `commit` (6.2) pays.
//!
//! An order is created when a fee above 0 is quoted; a zero fee creates a
//! calculation record instead, named by `calcId`, which `commit` accepts to
//! open the exit grace (6.2). Both live in `keys::orders(branch)`, the order
//! under its `orderNo`, the calculation under `Z{calcId}`.
//!
//! An order carries `base_settled`, what the stay had settled when it was
//! quoted. Paying it is only right while the stay still has settled exactly
//! that; otherwise the quote is stale and the caller must calculate again (510).
//! Status 0 unpaid, 1 paid, 2 cancelled; an unpaid order past `expires_at` reads
//! as 2 without being rewritten.

use super::stays::{opt_ts, ts, Stay};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::store::{Cond, Item, StoreError};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const UNPAID: i64 = 0;
pub const PAID: i64 = 1;
pub const CANCELLED: i64 = 2;

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
    pub status: i64,
    #[serde(with = "ts")]
    pub created_at: NaiveDateTime,
    #[serde(with = "ts")]
    pub expires_at: NaiveDateTime,
    #[serde(with = "opt_ts", default)]
    pub paid_at: Option<NaiveDateTime>,
    #[serde(default)]
    pub pay_type: Option<i64>,
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
}

pub fn sk(order_no: &str, zero: bool) -> String {
    if zero {
        format!("Z{order_no}")
    } else {
        order_no.to_string()
    }
}

impl Order {
    pub fn sk(&self) -> String {
        sk(&self.order_no, self.zero)
    }

    pub fn item(&self, branch: &str, version: u64) -> Item {
        let item = Item::new(keys::orders(branch), self.sk(), serde_json::to_value(self).unwrap_or_default()).with_version(version);
        if self.zero && self.status == UNPAID {
            // TTLs are judged by the store against the wall clock, so the
            // lifetime is counted from it, not from branch-local times.
            let life = (self.expires_at - self.created_at).num_seconds().max(0);
            item.with_ttl(onecard_core::store::now_unix() + life + CALC_TTL_SECS)
        } else {
            item
        }
    }

    /// Status as of `now`: an unpaid order past its expiry is cancelled.
    pub fn status_at(&self, now: NaiveDateTime) -> i64 {
        if self.status == UNPAID && now > self.expires_at {
            CANCELLED
        } else {
            self.status
        }
    }

    /// 6.26 / 6.29 row. `parktime` is truncated to whole minutes there (the
    /// section says 取整, unlike 6.1).
    pub fn to_wire(&self, now: NaiveDateTime) -> Value {
        let parktime = (self.calc_end - self.entry).num_minutes().max(0);
        json!({
            "orderNo": self.order_no,
            "cardInId": self.card_in_id,
            "chargeSeqNo": self.charge_seq_no.to_string(),
            "numno": self.card_no.clone().unwrap_or_else(|| self.plate.clone()),
            "carno": self.plate,
            "cardId": self.card_no.clone().unwrap_or_default(),
            "entertime": onecard_core::time::format(self.entry),
            "parktime": parktime.to_string(),
            "parkcost": self.parkcost.yuan(),
            "amount": self.amount.yuan(),
            "calcstarttime": onecard_core::time::format(self.calc_start),
            "calcendtime": onecard_core::time::format(self.calc_end),
            "payType": self.pay_type.map(|p| p.to_string()).unwrap_or_default(),
            "tradeNo": self.trade_no.clone().unwrap_or_default(),
            "tradeTime": self.trade_time.clone().unwrap_or_default(),
            "status": self.status_at(now).to_string(),
        })
    }

    /// 13.4 record, pushed when a temporary car pays.
    pub fn charge_record(&self, stay: &Stay) -> Value {
        json!({
            "orderNo": if self.zero { String::new() } else { self.order_no.clone() },
            "cardInId": self.card_in_id,
            "chargeSeqNo": self.charge_seq_no.to_string(),
            "plateNo": stay.display_plate(),
            "openId": stay.user_id.clone().unwrap_or_default(),
            "entertime": onecard_core::time::format(self.entry),
            "parktime": super::fees::started_minutes(self.entry, self.calc_end).to_string(),
            "parkcost": self.parkcost.yuan(),
            "discountAmount": (self.parkcost - self.amount).max0().yuan(),
            "amount": self.amount.yuan(),
            "calcstarttime": onecard_core::time::format(self.calc_start),
            "calcendtime": onecard_core::time::format(self.calc_end),
            "payType": self.pay_type.unwrap_or(10).to_string(),
            "tradeNo": self.trade_no.clone().unwrap_or_default(),
            "tradeTime": self.trade_time.clone().unwrap_or_default(),
            "status": self.status.to_string(),
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

/// Stores a new order (or calculation), drawing numbers until one is free.
pub async fn create(ctx: &Ctx, branch: &str, mut order: Order) -> ApiResult<Order> {
    for _ in 0..8 {
        order.order_no = new_number(order.created_at, order.zero);
        match ctx.store.put(order.item(branch, 1), Cond::MustNotExist).await {
            Ok(()) => return Ok(order),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(Code::SYSTEM, "could not draw a free order number"))
}

pub async fn get(ctx: &Ctx, branch: &str, order_no: &str, zero: bool) -> ApiResult<Option<(Order, u64)>> {
    match ctx.store.get(&keys::orders(branch), &sk(order_no, zero)).await? {
        Some(item) => Ok(Some((item.parse()?, item.version))),
        None => Ok(None),
    }
}
