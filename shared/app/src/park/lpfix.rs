//! 6.55 `park.lp.fix`: correct the plate of a car in the park (the camera read
//! it wrong). Only the in-park records change: the stay, its in-park index and
//! its paid orders, in one transaction, so the car is never findable under
//! both plates or neither.

use super::orders::{self, PAID};
use super::stays::{self, index_sk};
use crate::keys;
use onecard_core::fields::normalize_plate;
use onecard_core::store::{Cond, Item, Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{handler, ApiError, ApiResult, Code, Ctx, Registry, Reply, Req};
use serde_json::Value;

async fn fix(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let old = req.data.str("old")?;
    let new = normalize_plate(&req.data.str("new")?);
    if new == normalize_plate(&old) {
        return Ok(Reply::data(Value::Null));
    }
    for _ in 0..16 {
        let (mut stay, v) = stays::in_park(&ctx, b, 1, &old).await?.ok_or_else(|| stays::not_in_park(&old))?;
        if stays::in_park(&ctx, b, 1, &new).await?.is_some() {
            return Err(ApiError::field("new", format!("{new} is already in the car park")));
        }
        let Some(idx) = ctx.store.get(&keys::in_park(b), &stay.index_sk()).await? else { continue };
        let mut writes = vec![Write::delete(keys::in_park(b), stay.index_sk(), Cond::VersionIs(idx.version))];
        stay.plate = new.clone();
        let mut idx_body = idx.body.clone();
        idx_body["plate"] = Value::from(new.clone());
        writes.push(Write::put(Item::new(keys::in_park(b), index_sk(&new, None), idx_body), Cond::MustNotExist));
        writes.push(Write::put(stay.item(b, v + 1), Cond::VersionIs(v)));
        for p in &stay.payments {
            let Some((mut o, ov)) = orders::get(&ctx, b, &p.order_no, p.zero).await? else { continue };
            if o.status != PAID {
                continue;
            }
            o.plate = new.clone();
            writes.push(Write::put(o.item(b, ov + 1), Cond::VersionIs(ov)));
            let record = Item::new(keys::payments(b), o.sk(), serde_json::to_value(&o).unwrap_or_default());
            writes.push(Write::put(record, Cond::MustExist));
        }
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::failed(format!("{old} has too many payments to change its plate in one step")));
        }
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(Reply::data(Value::Null)),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(Code::SYSTEM, "plate not changed: too much contention, retry"))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.lp.fix", handler(fix));
}
