//! What refuses a delete because something else still points at it (6.89: a car
//! type bound to a tariff; 6.93: a monthly tariff bound to a card). Each binding
//! kind registers a check here, so the deleting module need not know them all.
//!
//! Dependencies go one way: `park` asks here, and this asks `cards`; `cards`
//! depends on neither (it reads car types and tariffs from the store).

use onecard_core::store::Query;
use onecard_core::{ApiResult, Ctx};

/// Names what binds car type `id`, if anything.
pub async fn car_type_binding(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<String>> {
    // Temporary tariffs are keyed `{area}#{carTypeId}`; a scan of the branch's
    // (few) tariffs is cheaper than an index for this rare admin action.
    let tariffs = ctx.store.query_all(&Query::partition(crate::keys::temp_tariffs(branch))).await?;
    for t in tariffs {
        if t.sk.rsplit('#').next().and_then(|s| s.parse::<i64>().ok()) == Some(id) {
            return Ok(Some(format!("temporary tariff {}", t.sk)));
        }
    }
    let months = ctx.store.query_all(&Query::partition(crate::keys::month_tariffs(branch))).await?;
    for m in months {
        if m.body.get("carTypeId").and_then(|v| v.as_i64()) == Some(id) {
            return Ok(Some(format!("monthly tariff {}", m.sk)));
        }
    }
    Ok(None)
}

/// Names the card bound to monthly tariff `id`, if any (6.93).
pub async fn month_tariff_binding(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<String>> {
    Ok(crate::cards::card_of_month_tariff(ctx, branch, id).await?.map(|card| format!("card {card}")))
}
