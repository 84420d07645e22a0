//! What other modules ask about cards: which plates may pass offline, and
//! whether a monthly tariff is still bound to a card (6.93).

use super::model::{CardState, Card};
use super::store::list_cards;
use chrono::NaiveDateTime;
use onecard_core::{ApiResult, Ctx};

/// The first card (by card number) bound to monthly tariff `tariff_id`. A
/// cancelled card no longer binds: it can never be renewed again.
pub async fn card_of_month_tariff(ctx: &Ctx, branch: &str, tariff_id: i64) -> ApiResult<Option<String>> {
    Ok(list_cards(ctx, branch)
        .await?
        .into_iter()
        .find(|c| c.state != CardState::Cancelled && c.month_tariff_id == Some(tariff_id))
        .map(|c| c.card_no))
}

pub async fn month_tariff_in_use(ctx: &Ctx, branch: &str, tariff_id: i64) -> ApiResult<bool> {
    Ok(card_of_month_tariff(ctx, branch, tariff_id).await?.is_some())
}

/// Plates of monthly cards valid now (branch-local), with their expiry: what a
/// site agent needs to admit monthly cars while the cloud is unreachable.
pub async fn monthly_plates(ctx: &Ctx, branch: &str) -> ApiResult<Vec<(String, NaiveDateTime)>> {
    let tz = onecard_core::config::get_branch(ctx.store(), branch)
        .await?
        .map(|b| b.tz)
        .unwrap_or_else(|| onecard_core::time::DEFAULT_TZ.to_string());
    let now = onecard_core::time::to_local(ctx.clock.now(), &tz);
    Ok(monthly_plates_at(list_cards(ctx, branch).await?, now))
}

pub fn monthly_plates_at(cards: Vec<Card>, now: NaiveDateTime) -> Vec<(String, NaiveDateTime)> {
    let mut out: Vec<(String, NaiveDateTime)> = cards
        .into_iter()
        .filter(|c| c.parking && c.is_monthly() && c.valid_at(now))
        .flat_map(|c| {
            let to = c.valid_to;
            c.plates.into_iter().map(move |p| (p, to))
        })
        .collect();
    out.sort();
    out
}
