//! A branch's discount settings, set by operators (`onecard discounts
//! settings ...`): the pay URL 6.60 answers, when a merchant pays for a
//! coupon, the day's coupon quota and the shopping-ticket table (README.md).

use crate::keys;
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

/// What a shopping ticket worth at least `min_spend` gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRow {
    pub min_spend: Fen,
    /// Gift minutes, priced like a gift time (rule 9).
    #[serde(default)]
    pub minutes: i64,
    /// Gift yuan.
    #[serde(default)]
    pub fen: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// 6.60 `parkPayUrl`.
    #[serde(default)]
    pub pay_url: String,
    /// Seed revision 1.94: the merchant's balance is charged when a coupon is
    /// bound to a car (6.60), not when it is issued (6.57).
    #[serde(default)]
    pub charge_on_binding: bool,
    /// Coupons the car park may print per day (`everyDayMaxNo` ceiling); 606 beyond.
    #[serde(default)]
    pub daily_coupon_limit: Option<i64>,
    /// Coupons one 6.57 call may issue.
    #[serde(default = "default_batch_limit")]
    pub batch_limit: i64,
    /// 6.1 `shoppingBillPolicy`: 0 ticket number only, 1 counter, number and amount.
    #[serde(default)]
    pub shopping_policy: u8,
    /// Sorted by `min_spend`; a ticket takes the highest row it reaches.
    #[serde(default)]
    pub shopping_table: Vec<TicketRow>,
}

fn default_batch_limit() -> i64 {
    1000
}

impl Default for Settings {
    fn default() -> Self {
        Settings { pay_url: String::new(), charge_on_binding: false, daily_coupon_limit: None, batch_limit: default_batch_limit(), shopping_policy: 0, shopping_table: Vec::new() }
    }
}

impl Settings {
    /// What a ticket of `money` (None under policy 0) gives: the highest row
    /// it reaches; under policy 0 only a row of `min_spend` 0 applies.
    pub fn ticket_value(&self, money: Option<Fen>) -> Option<&TicketRow> {
        let spent = money.unwrap_or(Fen::ZERO);
        self.shopping_table.iter().filter(|r| r.min_spend <= spent).max_by_key(|r| r.min_spend)
    }

    pub fn check(&self) -> ApiResult<()> {
        if self.shopping_policy > 1 {
            return Err(ApiError::field("shoppingBillPolicy", "is 0 or 1"));
        }
        if self.batch_limit < 1 {
            return Err(ApiError::field("batchLimit", "must be at least 1"));
        }
        if self.shopping_table.iter().any(|r| r.min_spend.0 < 0 || r.minutes < 0 || r.fen.0 < 0) {
            return Err(ApiError::field("shoppingTable", "holds no negative figures"));
        }
        Ok(())
    }
}

pub async fn get(ctx: &Ctx, branch: &str) -> ApiResult<Settings> {
    // A query, not a get: the configuration cache keeps an empty answer too,
    // so a branch without settings costs no round trip per `calc`.
    let page = ctx.store.query(&Query::partition(keys::discount_settings(branch))).await?;
    Ok(match page.items.iter().find(|i| i.sk == "settings") {
        Some(i) => i.parse()?,
        None => Settings::default(),
    })
}

/// Replaces the settings (admin).
pub async fn put(ctx: &Ctx, branch: &str, mut s: Settings) -> ApiResult<()> {
    s.check()?;
    s.shopping_table.sort_by_key(|r| r.min_spend);
    let item = Item::new(keys::discount_settings(branch), "settings", serde_json::to_value(&s).unwrap_or_default());
    ctx.store.put(item, Cond::None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_takes_the_highest_row_it_reaches() {
        let s = Settings {
            shopping_table: vec![
                TicketRow { min_spend: Fen(0), minutes: 0, fen: Fen(100) },
                TicketRow { min_spend: Fen(10_000), minutes: 60, fen: Fen::ZERO },
                TicketRow { min_spend: Fen(50_000), minutes: 180, fen: Fen::ZERO },
            ],
            ..Settings::default()
        };
        assert_eq!(s.ticket_value(Some(Fen(12_000))).unwrap().minutes, 60);
        assert_eq!(s.ticket_value(Some(Fen(50_000))).unwrap().minutes, 180);
        assert_eq!(s.ticket_value(None).unwrap().fen, Fen(100));
        assert!(Settings::default().ticket_value(Some(Fen(1))).is_none());
    }
}
