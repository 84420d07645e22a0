//! What discounts a new order carries by itself (at `calc`): the car's
//! coupons (6.60), the merchant discounts given to its stay (6.43, 6.50) and
//! the plate discounts whose window holds the calculation (6.106), all found
//! through the car's index item (`car_index`), which `calc` reads in the
//! batch get of the car's stay.

use super::car_index::{self, CarDiscounts, Entry};
use super::lines::{BillLine, Source};
use super::{coupons, plates, sets, tolls};
use crate::keys;
use crate::merchants;
use crate::park::fees::StayQuote;
use crate::park::orders::Order;
use crate::park::stays::Stay;
use chrono::NaiveDateTime;
use onecard_core::{ApiResult, Ctx};

/// Fills the order's discounts and `amount` (rule 9). A discount that cannot
/// apply now is left out, never an error: `calc` must answer. `known`: the
/// car's index as already read with the stay (read now when absent or when
/// it is another car's).
pub async fn at_calc(
    ctx: &Ctx,
    branch: &str,
    stay: &Stay,
    q: &StayQuote,
    order: &mut Order,
    now: NaiveDateTime,
    known: Option<CarDiscounts>,
) -> ApiResult<()> {
    if order.parkcost.0 == 0 {
        return Ok(());
    }
    let car = car_index::car_key(&stay.plate, &stay.card_in_id);
    let index = match known.filter(|k| k.car == car) {
        Some(k) => k,
        None => car_index::of_car(ctx, branch, &car).await?,
    };
    for entry in index.entries() {
        let Some(line) = line_for(ctx, branch, stay, order, &entry, now).await? else { continue };
        if order.discounts.add_bill(line).is_err() {
            tracing::info!(branch, car = %car, "more discounts than an order carries; the rest wait for the next payment");
            break;
        }
    }
    order.amount = order.discounts.recompute(order.parkcost, q.pricing.as_ref(), (order.calc_start, order.calc_end));
    Ok(())
}

async fn line_for(ctx: &Ctx, branch: &str, stay: &Stay, order: &Order, entry: &Entry, now: NaiveDateTime) -> ApiResult<Option<BillLine>> {
    Ok(match entry {
        Entry::Toll(id) => match tolls::get(ctx, branch, *id).await? {
            Some((r, _)) if !r.used && r.card_in_id == stay.card_in_id => {
                Some(BillLine { source: Source::Toll { toll_id: r.toll_id }, business_id: r.business_id, discount_id: r.discount_id, name: r.name, kind: r.kind, took: Default::default() })
            }
            _ => None,
        },
        Entry::Coupon(barcode) => match coupons::get(ctx, branch, barcode).await? {
            Some((c, _)) if c.check_usable(now).is_ok() => {
                Some(BillLine { source: Source::Coupon { barcode: c.barcode }, business_id: c.business_id, discount_id: c.discount_id, name: c.name, kind: c.kind, took: Default::default() })
            }
            _ => None,
        },
        Entry::Plate(id) => {
            let Some(p) = plates::get(ctx, branch, *id).await?.filter(|p| p.covers(&stay.plate, order.calc_end)) else { return Ok(None) };
            if ctx.store.get(&keys::discount_uses(branch), &plates::use_key(p.id, &stay.card_in_id)).await?.is_some() {
                return Ok(None);
            }
            let Some(set) = sets::get(ctx, branch, p.business_id, p.discount_id).await? else { return Ok(None) };
            // The merchant pays when the order is paid; one that cannot pay gives nothing.
            let Some((m, _)) = merchants::get(ctx, branch, p.business_id).await? else { return Ok(None) };
            if m.clone().charge(set.kind.cost()).is_err() {
                tracing::info!(branch, plate = %stay.plate, merchant = m.id, "plate discount skipped: the merchant's balance is short");
                return Ok(None);
            }
            Some(BillLine { source: Source::Plate { id: p.id }, business_id: p.business_id, discount_id: p.discount_id, name: set.name, kind: set.kind, took: Default::default() })
        }
    })
}
