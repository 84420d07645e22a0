//! Payment records of cards: monthly-card orders (6.39), renewals (6.6) and
//! stored-value top-ups (6.8), with the rows their lists (6.35, 6.28) and the
//! renewal push (13.5) answer.

use super::model::group_type_name;
use super::timefmt::{opt_ts, ts};
use chrono::NaiveDateTime;
use onecard_core::kit::{DateTime, Money};
use onecard_core::{ApiError, Code, Fen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// 511: this payment (order number or third-party id) was already made.
pub fn duplicate(key: &str) -> ApiError {
    ApiError::new(Code::DUPLICATE, format!("payment {key} has already been made"))
}

/// The idempotency key of a payment: the order number when there is one, else
/// the third-party payment id (a retried WeChat callback must not pay twice),
/// else a fresh key (nothing identifies a repeat).
pub fn payment_key(order_no: Option<&str>, third_pay_id: Option<&str>, fresh: impl FnOnce() -> String) -> String {
    match (order_no, third_pay_id) {
        (Some(o), _) => o.to_string(),
        (None, Some(t)) => format!("T:{t}"),
        (None, None) => fresh(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unpaid,
    Paid,
}

/// A monthly-card payment order (6.39), payable by 6.6 until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthOrder {
    pub order_no: String,
    pub card_no: String,
    pub receivable: Fen,
    pub amount: Fen,
    #[serde(with = "ts")]
    pub pre_expiry: NaiveDateTime,
    #[serde(with = "ts")]
    pub cur_expiry: NaiveDateTime,
    pub pay_type: i64,
    pub ws_no: Option<String>,
    pub remark: Option<String>,
    pub pay_month: i64,
    #[serde(with = "ts")]
    pub created_at: NaiveDateTime,
    #[serde(with = "ts")]
    pub expires_at: NaiveDateTime,
    pub status: OrderStatus,
}

/// A monthly-card renewal (6.6), with what the card and holder were when paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCharge {
    pub seq_no: i64,
    /// Idempotency key; equals `order_no` when there is an order.
    pub key: String,
    pub order_no: Option<String>,
    pub card_no: String,
    pub card_id: String,
    pub num_no: String,
    pub plates: Vec<String>,
    pub user_no: String,
    pub user_name: String,
    pub mobile: String,
    pub company_name: String,
    pub dept_id: String,
    pub tariff_id: Option<i64>,
    pub tariff_name: String,
    pub group_type: Option<i64>,
    pub pay_month: i64,
    pub pay_day: i64,
    #[serde(with = "ts")]
    pub paid_at: NaiveDateTime,
    #[serde(with = "ts")]
    pub pre_expiry: NaiveDateTime,
    #[serde(with = "ts")]
    pub cur_expiry: NaiveDateTime,
    pub receivable: Fen,
    pub amount: Fen,
    pub pay_type: i64,
    pub third_pay_id: Option<String>,
    #[serde(with = "opt_ts", default)]
    pub third_pay_time: Option<NaiveDateTime>,
    pub ws_no: Option<String>,
}

fn opt_i(v: Option<i64>) -> String {
    v.map(|i| i.to_string()).unwrap_or_default()
}

impl MonthCharge {
    fn plate(&self, i: usize) -> &str {
        self.plates.get(i).map(String::as_str).unwrap_or("")
    }

    /// 6.35 row.
    pub fn to_row(&self) -> MonthChargeRow {
        MonthChargeRow {
            dept_id: self.dept_id.clone(),
            name: self.user_name.clone(),
            company_name: self.company_name.clone(),
            mobile: self.mobile.clone(),
            card_id: self.card_id.clone(),
            num_no: self.num_no.clone(),
            plate: self.plate(0).to_string(),
            plate2: self.plate(1).to_string(),
            charge_type: opt_i(self.tariff_id),
            charge_type_name: self.tariff_name.clone(),
            group_type: opt_i(self.group_type),
            group_name: self.group_type.map(group_type_name).unwrap_or_default(),
            pay_month: self.pay_month.to_string(),
            pay_day: self.pay_day.to_string(),
            paid_at: DateTime(self.paid_at),
            pre_expiry: DateTime(self.pre_expiry),
            cur_expiry: DateTime(self.cur_expiry),
            receivable: Money(self.receivable),
            amount: Money(self.amount),
            gift_month: "0",
            preferential: Money((self.receivable - self.amount).max0()),
            ws_no: self.ws_no.clone().unwrap_or_default(),
            order_no: self.order_no.clone().unwrap_or_default(),
        }
    }

    /// 13.5 record (`report/parkMonthlyCarCharge`).
    pub fn to_push(&self) -> Value {
        json!({
            "seqNo": self.seq_no.to_string(),
            "cardNo": self.card_no,
            "plateNo": self.plate(0),
            "chargeType": opt_i(self.tariff_id),
            "chargeTypeName": self.tariff_name,
            "cardGroupType": opt_i(self.group_type),
            "cardGroupName": self.group_type.map(group_type_name).unwrap_or_default(),
            "payMonth": self.pay_month.to_string(),
            "payDay": self.pay_day.to_string(),
            "payDateTime": onecard_core::time::format(self.paid_at),
            "preExpiry": onecard_core::time::format(self.pre_expiry),
            "curExpiry": onecard_core::time::format(self.cur_expiry),
            "amount": self.receivable.yuan(),
            "realAmount": self.amount.yuan(),
            "giftMonth": "0",
            "discountAmount": (self.receivable - self.amount).max0().yuan(),
            "chargeWorkStationNo": self.ws_no.clone().unwrap_or_default(),
            "payType": self.pay_type.to_string(),
        })
    }
}

/// A stored-value top-up (6.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUp {
    pub seq_no: i64,
    pub key: String,
    pub card_no: String,
    pub num_no: String,
    pub plate: String,
    pub amount: Fen,
    pub before: Fen,
    pub after: Fen,
    #[serde(with = "ts")]
    pub at: NaiveDateTime,
    pub pay_type: i64,
    pub third_pay_id: Option<String>,
}

impl TopUp {
    /// 6.28 row.
    pub fn to_row(&self) -> TopUpRow {
        TopUpRow {
            seq_no: self.seq_no.to_string(),
            num_no: self.num_no.clone(),
            plate: self.plate.clone(),
            card_no: self.card_no.clone(),
            amount: Money(self.amount),
            present: Money(Fen::ZERO),
            before: Money(self.before),
            after: Money(self.after),
            at: DateTime(self.at),
        }
    }
}

/// A 6.35 row: the seed's names; numbers as text, amounts in yuan.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct MonthChargeRow {
    #[serde(rename = "DeptID")]
    pub dept_id: String,
    #[serde(rename = "FstName")]
    pub name: String,
    #[serde(rename = "CompanyName")]
    pub company_name: String,
    #[serde(rename = "Mobile")]
    pub mobile: String,
    #[serde(rename = "CardID")]
    pub card_id: String,
    #[serde(rename = "NumNo")]
    pub num_no: String,
    #[serde(rename = "LicensePlateNo")]
    pub plate: String,
    #[serde(rename = "LicensePlateNo2")]
    pub plate2: String,
    #[serde(rename = "ChargeType")]
    pub charge_type: String,
    #[serde(rename = "ChargeTypeName")]
    pub charge_type_name: String,
    #[serde(rename = "CardGroupType")]
    pub group_type: String,
    #[serde(rename = "CardGroupName")]
    pub group_name: &'static str,
    #[serde(rename = "PayMonth")]
    pub pay_month: String,
    #[serde(rename = "PayDay")]
    pub pay_day: String,
    #[serde(rename = "PayDateTime")]
    pub paid_at: DateTime,
    #[serde(rename = "PreExpiry")]
    pub pre_expiry: DateTime,
    #[serde(rename = "CurExpiry")]
    pub cur_expiry: DateTime,
    #[serde(rename = "Receivable")]
    pub receivable: Money,
    #[serde(rename = "Amount")]
    pub amount: Money,
    #[serde(rename = "GiftMonth")]
    pub gift_month: &'static str,
    #[serde(rename = "Preferential")]
    pub preferential: Money,
    #[serde(rename = "ChargeWorkStationNo")]
    pub ws_no: String,
    #[serde(rename = "OrderNo")]
    pub order_no: String,
}

/// A 6.28 row. Top-ups carry no bonus, so `PresentAmount` is 0.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TopUpRow {
    #[serde(rename = "SeqNo")]
    pub seq_no: String,
    #[serde(rename = "NumNo")]
    pub num_no: String,
    #[serde(rename = "CarNo")]
    pub plate: String,
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "RealAmount")]
    pub amount: Money,
    #[serde(rename = "PresentAmount")]
    pub present: Money,
    #[serde(rename = "BeforeAmount")]
    pub before: Money,
    #[serde(rename = "AfterAmount")]
    pub after: Money,
    #[serde(rename = "RechargeDate")]
    pub at: DateTime,
}
