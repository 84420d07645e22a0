//! 6.55 `park.lp.fix`: correct the plate of a car in the park (the camera read
//! it wrong). Only the in-park records change: the stay, its in-park index and
//! its paid orders, in one transaction, so the car is never findable under
//! both plates or neither.

use super::orders::{self, PAID};
use super::stays::{self, index_sk};
use crate::keys;
use onecard_core::kit::{self, Null, Plate, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// 6.55 input.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FixIn {
    pub old: Plate,
    pub new: Plate,
    /// Who corrected it; accepted, not recorded.
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
    /// Where it was corrected; accepted, not recorded.
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
}

async fn fix(ctx: Ctx, req: Req, input: FixIn) -> ApiResult<Null> {
    if input.new == input.old {
        return Ok(Null);
    }
    let (ctx, b, old, new) = (&ctx, req.branchno(), input.old.original(), input.new.norm());
    retry::on_conflict("plate fix", move || async move {
        let (mut stay, v) = stays::in_park(ctx, b, 1, old).await?.ok_or_else(|| stays::not_in_park(old))?;
        if stays::in_park(ctx, b, 1, new).await?.is_some() {
            return Err(ApiError::field("new", format!("{new} is already in the car park")));
        }
        // The index went between the two reads: the car moved meanwhile.
        let Some(idx) = ctx.store.get(&keys::in_park(b), &stay.index_sk()).await? else { return Ok(Step::Conflict) };
        let mut writes = vec![Write::delete(keys::in_park(b), stay.index_sk(), Cond::VersionIs(idx.version))];
        stay.plate = new.to_string();
        let mut idx_body = idx.body.clone();
        idx_body["plate"] = Value::from(new);
        writes.push(Write::put(Item::new(keys::in_park(b), index_sk(new, None), idx_body), Cond::MustNotExist));
        writes.push(Write::put(stay.item(b, v + 1), Cond::VersionIs(v)));
        for p in &stay.payments {
            let Some((mut o, ov)) = orders::get(ctx, b, &p.order_no, p.zero).await? else { continue };
            if o.status != PAID {
                continue;
            }
            o.plate = new.to_string();
            writes.push(Write::put(o.item(b, ov + 1), Cond::VersionIs(ov)));
            let record = Item::new(keys::payments(b), o.sk(), serde_json::to_value(&o).unwrap_or_default());
            writes.push(Write::put(record, Cond::MustExist));
        }
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::failed(format!("{old} has too many payments to change its plate in one step")));
        }
        Step::of(ctx.store.transact(writes).await, Null)
    })
    .await
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.lp.fix", fix)]
}

#[cfg(test)]
mod tests {
    use super::FixIn;
    use onecard_core::kit::input::parse;
    use serde_json::json;

    #[test]
    fn plates_are_parsed_at_the_edge() {
        let i = parse::<FixIn>(json!({"old": " 粤 b12345 ", "new": "粤B12345", "operId": 1, "wsNo": "出口一"})).unwrap();
        assert!(i.old == i.new, "the same plate written two ways is no change");
        assert_eq!(i.old.original(), "粤 b12345");
        let e = parse::<FixIn>(json!({"old": "粤B12345", "new": "粤B1234567890123456789"})).unwrap_err();
        assert_eq!(e.code.0, 100001);
        assert!(e.message.contains("'new'") && e.message.contains("longer"), "{}", e.message);
        assert!(parse::<FixIn>(json!({"new": "粤B12345"})).unwrap_err().message.contains("'old'"));
    }
}
