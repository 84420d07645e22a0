//! What discounts a new order carries by itself (at `calc`): the car's
//! coupons (6.60), the merchant discounts given to the stay (6.43, 6.50) and
//! the plate discounts whose window holds the calculation (6.106).

use super::coupons;
use super::lines::{BillLine, Source};
use super::{plates, sets, tolls};
use crate::keys;
use crate::merchants;
use crate::park::fees::StayQuote;
use crate::park::orders::Order;
use crate::park::stays::Stay;
use chrono::NaiveDateTime;
use onecard_core::{ApiResult, Ctx};

/// Fills the order's discounts and `amount` (rule 9). A discount that cannot
/// apply now is left out, never an error: `calc` must answer.
pub async fn at_calc(ctx: &Ctx, branch: &str, stay: &Stay, q: &StayQuote, order: &mut Order, now: NaiveDateTime) -> ApiResult<()> {
    if order.parkcost.0 == 0 {
        return Ok(());
    }
    let d = &mut order.discounts;
    for r in tolls::of_stay(ctx, branch, &stay.card_in_id).await?.into_iter().filter(|r| !r.used) {
        let line = BillLine { source: Source::Toll { toll_id: r.toll_id }, business_id: r.business_id, discount_id: r.discount_id, name: r.name, kind: r.kind, took: Default::default() };
        if d.add_bill(line).is_err() {
            break;
        }
    }
    if !stay.plate.is_empty() {
        for (c, _) in coupons::bound_to(ctx, branch, &stay.plate).await? {
            if c.check_usable(now).is_err() {
                continue;
            }
            let line = BillLine { source: Source::Coupon { barcode: c.barcode }, business_id: c.business_id, discount_id: c.discount_id, name: c.name, kind: c.kind, took: Default::default() };
            if d.add_bill(line).is_err() {
                break;
            }
        }
        for p in plates::list(ctx, branch).await?.into_iter().filter(|p| p.covers(&stay.plate, order.calc_end)) {
            if ctx.store.get(&keys::discount_uses(branch), &plates::use_key(p.id, &stay.card_in_id)).await?.is_some() {
                continue;
            }
            let Some(set) = sets::get(ctx, branch, p.business_id, p.discount_id).await? else { continue };
            // The merchant pays when the order is paid; one that cannot pay gives nothing.
            let Some((m, _)) = merchants::get(ctx, branch, p.business_id).await? else { continue };
            if m.clone().charge(set.kind.cost()).is_err() {
                tracing::info!(branch, plate = %stay.plate, merchant = m.id, "plate discount skipped: the merchant's balance is short");
                continue;
            }
            let line = BillLine { source: Source::Plate { id: p.id }, business_id: p.business_id, discount_id: p.discount_id, name: set.name, kind: set.kind, took: Default::default() };
            if d.add_bill(line).is_err() {
                break;
            }
        }
    }
    order.amount = order.discounts.recompute(order.parkcost, q.pricing.as_ref(), (order.calc_start, order.calc_end));
    Ok(())
}
