//! The writes that use an order's discounts inside its one payment
//! transaction (6.2, through `park::commit_extras`). Each is conditioned on
//! what was read, so two payments sharing a discount cannot both use it: the
//! second transaction fails as a whole, its retry reads the discount used and
//! is refused here with a clear 510 ("calculate the fee again"), never a 511
//! for an order that was not paid.

use super::car_index;
use super::coupons;
use super::lines::Source;
use super::members;
use super::{plates, sets, tolls};
use crate::keys;
use crate::merchants::{self, Cost};
use crate::park::orders::Order;
use crate::park::stays::Stay;
use chrono::NaiveDateTime;
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{ApiError, ApiResult, Code, Ctx};
use std::collections::BTreeMap;

fn gone(what: &str, order_no: &str) -> ApiError {
    ApiError::new(Code::ORDER_EXPIRED, format!("{what} on order {order_no} was used by another payment; calculate the fee again"))
}

/// The writes that use the discounts of the paid `order`.
///
/// A racing commit of this same order may have won between the moment this
/// attempt read the order (unpaid) and the moment it read the discount (now
/// used, by that winner): the discount is then "used" by this very order,
/// and the answer is the duplicate's 511, not the stale order's 510.
pub async fn writes(ctx: &Ctx, branch: &str, order: &Order, stay: &Stay, now: NaiveDateTime) -> ApiResult<Vec<Write>> {
    match uses(ctx, branch, order, stay, now).await {
        Err(e) if e.code == Code::ORDER_EXPIRED => {
            let paid = crate::park::orders::get(ctx, branch, &order.order_no, order.zero).await?;
            if paid.is_some_and(|(o, _)| o.status == onecard_core::kit::OrderStatus::Paid) {
                return Err(ApiError::new(Code::DUPLICATE, format!("order {} is already paid", order.order_no)));
            }
            Err(e)
        }
        other => other,
    }
}

async fn uses(ctx: &Ctx, branch: &str, order: &Order, stay: &Stay, now: NaiveDateTime) -> ApiResult<Vec<Write>> {
    let d = &order.discounts;
    let mut out = Vec::new();
    // Merchants pay for plate discounts now, and for coupons not paid yet;
    // one write per merchant, however many lines.
    let mut charges: BTreeMap<i64, Cost> = BTreeMap::new();
    // What leaves the cars' indexes: one read and one write per car at the end.
    let mut unindexed = Vec::new();
    for line in &d.bills {
        match &line.source {
            Source::Coupon { barcode } => {
                let (mut c, v) = coupons::get(ctx, branch, barcode).await?.ok_or_else(|| gone(&format!("coupon {barcode}"), &order.order_no))?;
                if c.used_up() {
                    return Err(gone(&c.label(), &order.order_no));
                }
                if !c.charged {
                    *charges.entry(c.business_id).or_default() = charges.get(&c.business_id).copied().unwrap_or_default().plus(c.kind.cost().times(c.usage_count));
                    c.charged = true;
                }
                c.used += 1;
                c.hold = None;
                if let (true, Some(plate)) = (c.used_up(), &c.bound_plate) {
                    unindexed.push(car_index::Change::Remove(plate.clone(), car_index::Entry::Coupon(c.barcode.clone())));
                }
                out.push(c.write_over(branch, v));
            }
            Source::Toll { toll_id } => {
                let (mut r, v) = tolls::get(ctx, branch, *toll_id).await?.ok_or_else(|| gone(&format!("merchant discount {toll_id}"), &order.order_no))?;
                if r.used {
                    return Err(gone(&format!("merchant discount {toll_id}"), &order.order_no));
                }
                r.used = true;
                r.used_at = Some(now);
                r.calc_amount = Some(order.parkcost);
                r.real_amount = Some(order.amount);
                r.charge_seq_no = Some(order.charge_seq_no);
                r.ws_no = order.ws_no.clone();
                unindexed.push(car_index::Change::Remove(r.car(), r.index_entry()));
                out.push(r.write_over(branch, v));
            }
            Source::Plate { id } => {
                let key = plates::use_key(*id, &stay.card_in_id);
                if ctx.store.get(&keys::discount_uses(branch), &key).await?.is_some() {
                    return Err(gone(&format!("plate discount {id}"), &order.order_no));
                }
                let set = sets::must_get(ctx, branch, line.business_id, line.discount_id).await?;
                *charges.entry(line.business_id).or_default() = charges.get(&line.business_id).copied().unwrap_or_default().plus(set.kind.cost());
                out.push(use_write(branch, key, &order.order_no, now));
            }
        }
    }
    for t in &d.tickets {
        let key = ticket_key(&t.barcode);
        if ctx.store.get(&keys::discount_uses(branch), &key).await?.is_some() {
            return Err(gone(&format!("shopping ticket {}", t.barcode), &order.order_no));
        }
        out.push(use_write(branch, key, &order.order_no, now));
    }
    if let Some(m) = &d.member {
        out.extend(members::ledger().spend_writes(ctx, branch, &m.card_no, m.took_day, m.took_night).await?);
    }
    out.extend(car_index::writes(ctx, branch, &unindexed).await?);
    for (id, cost) in charges.into_iter().filter(|(_, c)| !c.is_zero()) {
        let (mut m, v) = merchants::must_get(ctx, branch, id).await?;
        m.charge(cost)?;
        out.push(m.write_over(branch, v));
    }
    Ok(out)
}

/// The use record of a shopping ticket: a ticket discounts one payment ever.
pub fn ticket_key(barcode: &str) -> String {
    format!("ticket#{}", barcode.trim())
}

fn use_write(branch: &str, key: String, order_no: &str, at: NaiveDateTime) -> Write {
    let body = serde_json::json!({ "orderNo": order_no, "at": onecard_core::time::format(at) });
    Write::put(Item::new(keys::discount_uses(branch), key, body), Cond::MustNotExist)
}
