//! What discounts a new order carries by itself (at `calc`): the car's
//! coupons (6.60), the merchant discounts given to its stay (6.43, 6.50) and
//! the plate discounts whose window holds the calculation (6.106), all found
//! through the car's index item (`car_index`), which `calc` reads in the
//! batch get of the car's stay; their records in one batch get more, the
//! merchants paying for plate discounts in another.

use super::car_index::{self, CarDiscounts, Entry};
use super::lines::{BillLine, Source};
use super::coupons::Coupon;
use super::plates::{self, PlateDiscount};
use super::sets::{self, DiscountSet};
use super::tolls::TollRecord;
use crate::keys;
use crate::merchants::Merchant;
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
    for line in lines_for(ctx, branch, stay, order, &index.entries(), now).await? {
        if order.discounts.add_bill(line).is_err() {
            tracing::info!(branch, car = %car, "more discounts than an order carries; the rest wait for the next payment");
            break;
        }
    }
    order.amount = order.discounts.recompute(order.parkcost, q.pricing.as_ref(), (order.calc_start, order.calc_end));
    Ok(())
}

/// The lines the car's entries give now, in the entries' order: their
/// records (and a plate discount's use by this stay) in one batch get, the
/// merchants that pay for plate discounts in another, whatever their number.
async fn lines_for(ctx: &Ctx, branch: &str, stay: &Stay, order: &Order, entries: &[Entry], now: NaiveDateTime) -> ApiResult<Vec<BillLine>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut wanted = Vec::with_capacity(entries.len() + 1);
    for e in entries {
        match e {
            Entry::Toll(id) => wanted.push((keys::toll_records(branch), keys::id_sk(*id))),
            Entry::Coupon(barcode) => wanted.push((keys::coupons(branch), barcode.trim().to_string())),
            Entry::Plate(id) => {
                wanted.push((keys::plate_discounts(branch), keys::id_sk(*id)));
                wanted.push((keys::discount_uses(branch), plates::use_key(*id, &stay.card_in_id)));
            }
        }
    }
    let mut read = ctx.store.get_many(&wanted).await?.into_iter();
    let mut found: Vec<Found> = Vec::with_capacity(entries.len());
    for e in entries {
        let item = read.next().flatten();
        found.push(match e {
            Entry::Toll(_) => match item.map(|i| i.parse::<TollRecord>()).transpose()? {
                Some(r) if !r.used && r.card_in_id == stay.card_in_id => Found::Line(BillLine {
                    source: Source::Toll { toll_id: r.toll_id },
                    business_id: r.business_id,
                    discount_id: r.discount_id,
                    name: r.name,
                    kind: r.kind,
                    took: Default::default(),
                }),
                _ => Found::Nothing,
            },
            Entry::Coupon(_) => match item.map(|i| i.parse::<Coupon>()).transpose()? {
                Some(c) if c.check_usable(now).is_ok() => Found::Line(BillLine {
                    source: Source::Coupon { barcode: c.barcode },
                    business_id: c.business_id,
                    discount_id: c.discount_id,
                    name: c.name,
                    kind: c.kind,
                    took: Default::default(),
                }),
                _ => Found::Nothing,
            },
            Entry::Plate(_) => {
                let used = read.next().flatten().is_some();
                match item.map(|i| i.parse::<PlateDiscount>()).transpose()? {
                    Some(p) if !used && p.covers(&stay.plate, order.calc_end) => match sets::get(ctx, branch, p.business_id, p.discount_id).await? {
                        Some(set) => Found::Plate(p, set),
                        None => Found::Nothing,
                    },
                    _ => Found::Nothing,
                }
            }
        });
    }
    // The merchant pays when the order is paid; one that cannot pay gives nothing.
    let mut payers: Vec<i64> = found.iter().filter_map(|f| if let Found::Plate(p, _) = f { Some(p.business_id) } else { None }).collect();
    payers.sort_unstable();
    payers.dedup();
    let merchants: Vec<Option<Merchant>> = if payers.is_empty() {
        Vec::new()
    } else {
        let keys: Vec<(String, String)> = payers.iter().map(|id| (keys::merchants(branch), keys::id_sk(*id))).collect();
        ctx.store.get_many(&keys).await?.into_iter().map(|i| i.map(|i| i.parse::<Merchant>()).transpose()).collect::<Result<_, _>>()?
    };
    let mut lines = Vec::with_capacity(found.len());
    for f in found {
        match f {
            Found::Nothing => {}
            Found::Line(line) => lines.push(line),
            Found::Plate(p, set) => {
                let Some(Some(m)) = payers.iter().position(|id| *id == p.business_id).map(|at| merchants[at].as_ref()) else { continue };
                if m.clone().charge(set.kind.cost()).is_err() {
                    tracing::info!(branch, plate = %stay.plate, merchant = m.id, "plate discount skipped: the merchant's balance is short");
                    continue;
                }
                lines.push(BillLine { source: Source::Plate { id: p.id }, business_id: p.business_id, discount_id: p.discount_id, name: set.name, kind: set.kind, took: Default::default() });
            }
        }
    }
    Ok(lines)
}

/// What one entry gave after the first batch.
enum Found {
    Nothing,
    Line(BillLine),
    /// A plate discount that applies if its merchant can pay.
    Plate(PlateDiscount, DiscountSet),
}
