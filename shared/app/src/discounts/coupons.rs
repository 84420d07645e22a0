//! Coupons: issued in batches by a merchant (6.57), looked up (6.59), bound to
//! a car (6.60/6.63) or put on an order (6.30/6.31), and used by the payment
//! that consumes them (`consume`). This module owns `keys::coupons` and
//! `keys::car_coupons`.
//!
//! A coupon is held by the order that carries it while that order is open;
//! another car's order cannot take it meanwhile. The hold is not released by
//! writing: it lapses with the order (paid, cancelled by 6.20 or expired),
//! which is read when the hold is judged. Exactly-once use does not rest on
//! the hold but on the payment's transaction: it writes the coupon over the
//! version it read, with `used` counted up.

use super::codes;
use super::kinds::Kind;
use crate::keys;
use crate::park::orders;
use chrono::NaiveDateTime;
use onecard_core::fields::normalize_plate;
use onecard_core::kit::OrderStatus;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Code, Ctx};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub order_no: String,
    pub card_in_id: String,
    /// 6.30 `recodeType` (-2 merchant, -3 scan) and `operId`, seed rev. 1.94.
    #[serde(default)]
    pub recode_type: Option<String>,
    #[serde(default)]
    pub oper_id: Option<String>,
}

/// Who bound a coupon to its car (6.60 `wsNo`, `recodeType`, `operId`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub ws_no: Option<String>,
    pub recode_type: Option<String>,
    pub oper_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coupon {
    pub barcode: String,
    /// The issue (6.57 `mainID`) it came from.
    pub main_id: i64,
    pub business_id: i64,
    pub discount_id: i64,
    pub name: String,
    pub kind: Kind,
    #[serde(default)]
    pub header: String,
    #[serde(default)]
    pub remark: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// How many payments it may discount (6.57 `usageCount`, default 1).
    pub usage_count: i64,
    #[serde(default)]
    pub used: i64,
    /// Has the merchant paid for it yet (at issue, or at binding, rev. 1.94)?
    pub charged: bool,
    #[serde(default)]
    pub hold: Option<Hold>,
    /// The car it was bound to (6.60), normalised.
    #[serde(default)]
    pub bound_plate: Option<String>,
    #[serde(default)]
    pub bound_by: Option<Binding>,
}

impl Coupon {
    pub fn item(&self, branch: &str, version: u64) -> Item {
        Item::new(keys::coupons(branch), self.barcode.clone(), serde_json::to_value(self).unwrap_or_default()).with_version(version)
    }

    pub fn write_over(&self, branch: &str, version: u64) -> Write {
        Write::put(self.item(branch, version + 1), Cond::VersionIs(version))
    }

    pub fn label(&self) -> String {
        format!("coupon {}", self.barcode)
    }

    pub fn used_up(&self) -> bool {
        self.used >= self.usage_count
    }

    /// Can it discount a payment at `now`? 605 when expired; 603 when used up.
    pub fn check_usable(&self, now: NaiveDateTime) -> ApiResult<()> {
        if now > self.expires_at {
            return Err(codes::expired(self.label(), &onecard_core::time::format(self.expires_at)));
        }
        if now < self.issued_at {
            return Err(codes::not_yet(self.label(), &onecard_core::time::format(self.issued_at)));
        }
        if self.used_up() {
            return Err(ApiError::new(codes::DISCOUNT_MISSING, format!("{} has been used", self.label())));
        }
        Ok(())
    }

    /// Can the order `order_no` of stay `card_in_id`, for `plate`, take it?
    /// Held by another car's open order, or bound to another car: no.
    pub async fn check_free_for(&self, ctx: &Ctx, branch: &str, card_in_id: &str, plate: &str, now: NaiveDateTime) -> ApiResult<()> {
        if let Some(bound) = &self.bound_plate {
            if *bound != normalize_plate(plate) {
                return Err(ApiError::failed(format!("{} is bound to another car", self.label())));
            }
        }
        if let Some(h) = &self.hold {
            if h.card_in_id != card_in_id && hold_is_live(ctx, branch, h, now).await? {
                return Err(ApiError::failed(format!("{} is held by the open order {}", self.label(), h.order_no)));
            }
        }
        Ok(())
    }
}

/// Is the order holding a coupon still open (unpaid, not expired)?
async fn hold_is_live(ctx: &Ctx, branch: &str, h: &Hold, now: NaiveDateTime) -> ApiResult<bool> {
    Ok(orders::get(ctx, branch, &h.order_no, false).await?.is_some_and(|(o, _)| o.status_at(now) == OrderStatus::Unpaid))
}

pub async fn get(ctx: &Ctx, branch: &str, barcode: &str) -> ApiResult<Option<(Coupon, u64)>> {
    match ctx.store.get(&keys::coupons(branch), barcode.trim()).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

/// The coupon, or 603 naming the barcode.
pub async fn must_get(ctx: &Ctx, branch: &str, barcode: &str) -> ApiResult<(Coupon, u64)> {
    get(ctx, branch, barcode).await?.ok_or_else(|| codes::discount_missing(format!("coupon {barcode}")))
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Coupon>> {
    let items = ctx.store.query_all(&Query::partition(keys::coupons(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// A fresh barcode: merchant, discount number, serial and random digits, so
/// that a coupon number cannot be guessed from another. `MustNotExist` on the
/// write proves it unused.
pub fn barcode(business_id: i64, discount_id: i64, serial: i64) -> String {
    let r: u32 = rand::random::<u32>() % 10_000;
    format!("{:03}{discount_id}{serial:06}{r:04}", business_id % 1000)
}

/// Reserves `n` consecutive numbers of the counter `what` (the last one is
/// answered), refusing with `limit_code` when they would pass `limit`.
pub async fn reserve_serials(ctx: &Ctx, branch: &str, what: &str, n: i64, limit: Option<(i64, Code, &str)>) -> ApiResult<i64> {
    let pk = keys::counters(branch);
    onecard_core::retry::on_conflict(&format!("reserving {what} numbers"), || async {
        let current = ctx.store.get(&pk, what).await?;
        let (next, cond, version) = match &current {
            Some(item) => (item.body["next"].as_i64().unwrap_or(1), Cond::VersionIs(item.version), item.version + 1),
            None => (1, Cond::MustNotExist, 1),
        };
        let last = next + n - 1;
        if let Some((max, code, why)) = limit {
            if last > max {
                return Err(ApiError::new(code, format!("{why}: {} of {max} used, {n} asked; print again tomorrow", next - 1)));
            }
        }
        let item = Item::new(pk.clone(), what, serde_json::json!({ "next": last + 1 })).with_version(version);
        onecard_core::retry::Step::of(ctx.store.put(item, cond).await, last)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon() -> Coupon {
        let at = |s| onecard_core::time::parse(s).unwrap();
        Coupon {
            barcode: "1".into(),
            main_id: 1,
            business_id: 1,
            discount_id: 1,
            name: String::new(),
            kind: Kind::FullyFree,
            header: String::new(),
            remark: String::new(),
            issued_at: at("2026-03-01 00:00:00"),
            expires_at: at("2026-03-31 00:00:00"),
            usage_count: 1,
            used: 0,
            charged: true,
            hold: None,
            bound_plate: None,
            bound_by: None,
        }
    }

    #[test]
    fn usable_only_inside_its_life_and_uses() {
        let at = |s| onecard_core::time::parse(s).unwrap();
        let c = coupon();
        assert!(c.check_usable(at("2026-03-02 00:00:00")).is_ok());
        assert_eq!(c.check_usable(at("2026-04-01 00:00:00")).unwrap_err().code.0, 605);
        assert_eq!(c.check_usable(at("2026-02-01 00:00:00")).unwrap_err().code.0, 604);
        let used = Coupon { used: 1, ..c };
        assert_eq!(used.check_usable(at("2026-03-02 00:00:00")).unwrap_err().code.0, 603);
    }

    #[test]
    fn barcodes_differ() {
        assert_eq!(barcode(1, 2, 3).len(), 14);
        assert!((0..20).map(|_| barcode(1, 2, 3)).collect::<std::collections::HashSet<_>>().len() > 1);
    }
}
