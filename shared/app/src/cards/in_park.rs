//! Whether a card's car is in the car park now, for 6.5 `isGetInParkInfo`.
//!
//! Cards do not depend on `crate::park` (see the module doc), so this reads the
//! parking side's in-park index and stay records from the store, as
//! `catalog` reads car types and tariffs: only the few fields it needs.

use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::{ApiResult, Ctx};

/// A car of the card that is in the park.
#[derive(Clone, Debug, PartialEq)]
pub struct InPark {
    pub card_in_id: String,
    pub entry: NaiveDateTime,
    pub area: String,
}

/// The in-park stay of the first of `plates` (normalised) found in the park,
/// else of the card-only entry of `card_no`.
pub async fn in_park(ctx: &Ctx, branch: &str, plates: &[String], card_no: &str) -> ApiResult<Option<InPark>> {
    // The index's sort keys: `P{plate}`, or `C{cardNo}` for a card-only entry.
    let sks = plates.iter().map(|p| format!("P{p}")).chain(std::iter::once(format!("C{card_no}")));
    for sk in sks {
        let Some(idx) = ctx.store.get(&keys::in_park(branch), &sk).await? else { continue };
        let Some(id) = idx.body["cardInId"].as_str() else { continue };
        let Some(stay) = ctx.store.get(&keys::stays(branch), id).await? else { continue };
        let b = &stay.body;
        if b["state"].as_str() != Some("inpark") {
            continue;
        }
        let Some(entry) = b["entry"].as_str().and_then(onecard_core::time::parse) else { continue };
        return Ok(Some(InPark { card_in_id: id.to_string(), entry, area: b["area"].as_str().unwrap_or_default().to_string() }));
    }
    Ok(None)
}
