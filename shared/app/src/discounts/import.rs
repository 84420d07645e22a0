//! The import format of what the API reads but never writes: merchants,
//! consumption points, discount sets, the branch's discount settings and
//! membership accounts, as one JSON document (`onecard discounts import`,
//! and the demo data of a new data dir). Everything is checked before
//! anything is written; writing is idempotent (records are replaced by key).
//!
//! ```json
//! {"merchants": [{"id": 1, "name": "天宏", "password": "111111", "amount": "100.00",
//!                 "minutes": 600, "allowFreePeriod": true, "dailyIssueLimit": 500}],
//!  "points": [{"id": 1, "businessId": 1, "deviceId": "1", "name": "一楼"}],
//!  "sets": [{"businessId": 1, "discountId": 1, "name": "赠送 5 元", "presentType": 1, "rate": 5},
//!           {"businessId": 1, "discountId": 5, "name": "10-12 点免费", "presentType": 5, "free": "10:00-12:00"}],
//!  "settings": {"pay_url": "https://pay.example/park", "charge_on_binding": false,
//!               "shopping_policy": 1, "shopping_table": [{"min_spend": 10000, "minutes": 60}]},
//!  "members": [{"card_no": "VIP0001", "day_balance": 1000, "night_balance": 500}]}
//! ```
//! Money in `settings` and `members` is in fen (the stored form); elsewhere yuan.

use super::kinds::Kind;
use super::members::{Account, LocalLedger};
use super::settings::{self, Settings};
use super::sets;
use crate::merchants::{self, points::TollDevice, Merchant};
use chrono::NaiveTime;
use onecard_core::kit::{Decimal, Money};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    #[serde(default)]
    pub merchants: Vec<MerchantIn>,
    #[serde(default)]
    pub points: Vec<PointIn>,
    #[serde(default)]
    pub sets: Vec<SetIn>,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub members: Vec<Account>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MerchantIn {
    pub id: i64,
    pub name: String,
    /// Clear text here only; stored as an argon2 hash.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub amount: Option<Money>,
    #[serde(default)]
    pub minutes: Option<i64>,
    #[serde(default)]
    pub allow_free_period: bool,
    #[serde(default)]
    pub daily_issue_limit: Option<i64>,
    #[serde(default)]
    pub remark: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PointIn {
    pub id: i64,
    pub business_id: i64,
    pub device_id: String,
    pub name: String,
    #[serde(default)]
    pub remark: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetIn {
    pub business_id: i64,
    pub discount_id: i64,
    pub name: String,
    pub present_type: i64,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub max: Option<Money>,
    /// `HH:mm-HH:mm` for a free period (type 5).
    #[serde(default)]
    pub free: Option<String>,
}

/// `HH:mm-HH:mm`.
pub fn parse_free(s: &str) -> ApiResult<(NaiveTime, NaiveTime)> {
    let bad = || ApiError::field("free", format!("'{s}' is not HH:mm-HH:mm"));
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
    Ok((t(a)?, t(b)?))
}

impl SetIn {
    pub fn kind(&self) -> ApiResult<Kind> {
        let free = self.free.as_deref().map(parse_free).transpose()?;
        Kind::from_wire(self.present_type, self.rate.map(Decimal), self.max, free)
    }
}

/// Checks the whole document, then writes it.
pub async fn apply(ctx: &Ctx, branch: &str, doc: &Doc, now: chrono::NaiveDateTime) -> ApiResult<()> {
    let kinds = doc.sets.iter().map(SetIn::kind).collect::<ApiResult<Vec<_>>>()?;
    for m in &doc.merchants {
        if m.id < 1 || m.minutes.is_some_and(|x| x < 0) || m.amount.is_some_and(|a| a.0 .0 < 0) {
            return Err(ApiError::field("merchants", format!("merchant {}: a positive id and no negative balance", m.id)));
        }
        if let Some(p) = &m.password {
            merchants::check_password_rule(p, "password")?;
        }
    }
    if let Some(s) = &doc.settings {
        s.check()?;
    }
    for m in &doc.merchants {
        let old = merchants::get(ctx, branch, m.id).await?;
        let hash = match (&m.password, &old) {
            (Some(p), _) => merchants::hash_password(p)?,
            (None, Some((o, _))) => o.password_hash.clone(),
            (None, None) => String::new(),
        };
        let base = old.as_ref().map(|(o, _)| o.clone());
        let merchant = Merchant {
            id: m.id,
            name: m.name.clone(),
            password_hash: hash,
            failures: base.as_ref().map_or(0, |o| o.failures),
            locked: base.as_ref().is_some_and(|o| o.locked),
            amount_balance: m.amount.map(Money::fen).or(base.as_ref().map(|o| o.amount_balance)).unwrap_or(Fen::ZERO),
            time_balance: m.minutes.or(base.as_ref().map(|o| o.time_balance)).unwrap_or(0),
            allow_free_period: m.allow_free_period,
            remark: m.remark.clone(),
            create_oper: base.as_ref().map_or_else(|| "admin".into(), |o| o.create_oper.clone()),
            create_date: base.as_ref().map_or(Some(now), |o| o.create_date),
            update_oper: "admin".into(),
            update_date: Some(now),
            daily_issue_limit: m.daily_issue_limit,
        };
        merchants::put(ctx, branch, &merchant, old.map(|(_, v)| v)).await?;
    }
    for p in &doc.points {
        if merchants::get(ctx, branch, p.business_id).await?.is_none() {
            return Err(super::codes::merchant_missing(p.business_id));
        }
        let d = TollDevice {
            toll_dev_id: p.id,
            business_id: p.business_id,
            device_id: p.device_id.clone(),
            name: p.name.clone(),
            remark: p.remark.clone(),
            create_oper: "admin".into(),
            create_date: Some(now),
            update_oper: "admin".into(),
            update_date: Some(now),
        };
        merchants::points::put(ctx, branch, &d).await?;
    }
    for (s, kind) in doc.sets.iter().zip(kinds) {
        sets::put(ctx, branch, s.business_id, s.discount_id, &s.name, kind).await?;
    }
    if let Some(s) = &doc.settings {
        settings::put(ctx, branch, s.clone()).await?;
    }
    for a in &doc.members {
        LocalLedger::put(ctx, branch, a).await?;
    }
    Ok(())
}

/// The demo car park's merchant, its discounts and a member card, written
/// once into a new store.
pub async fn seed_demo(ctx: &Ctx, branch: &str, now: chrono::NaiveDateTime) -> ApiResult<()> {
    if !merchants::list(ctx, branch).await?.is_empty() {
        return Ok(());
    }
    let doc: Doc = serde_json::from_str(DEMO).map_err(|e| ApiError::system(format!("demo discounts: {e}")))?;
    apply(ctx, branch, &doc, now).await
}

const DEMO: &str = r#"{
  "merchants": [{"id": 1, "name": "天宏", "password": "111111", "amount": "500.00", "minutes": 6000, "allowFreePeriod": true}],
  "points": [{"id": 1, "businessId": 1, "deviceId": "1", "name": "一楼"}],
  "sets": [
    {"businessId": 1, "discountId": 1, "name": "赠送 5 元", "presentType": 1, "rate": 5},
    {"businessId": 1, "discountId": 2, "name": "赠送 60 分钟", "presentType": 2, "rate": 60},
    {"businessId": 1, "discountId": 3, "name": "8 折（最多 3 元）", "presentType": 3, "rate": 8, "max": "3"},
    {"businessId": 1, "discountId": 4, "name": "全免", "presentType": 4},
    {"businessId": 1, "discountId": 5, "name": "10-12 点免费", "presentType": 5, "free": "10:00-12:00"}
  ],
  "settings": {"pay_url": "http://127.0.0.1:8080/park/parkpay", "shopping_policy": 0,
               "shopping_table": [{"min_spend": 0, "fen": 100}, {"min_spend": 10000, "minutes": 60}, {"min_spend": 50000, "minutes": 180}]},
  "members": [{"card_no": "VIP0001", "name": "金鹰会员", "day_balance": 1000, "night_balance": 500}]
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_document_reads_and_its_sets_are_valid() {
        let doc: Doc = serde_json::from_str(DEMO).unwrap();
        assert_eq!(doc.sets.len(), 5);
        for s in &doc.sets {
            s.kind().unwrap();
        }
        assert!(parse_free("22:00-06:00").is_ok());
        assert!(parse_free("22-06").is_err());
    }
}
