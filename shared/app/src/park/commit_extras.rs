//! What else the one 6.2 commit transaction writes, beyond the order, the
//! payment, the stay, the journal and the card debit.
//!
//! This is the seam where discounts (coupons, merchant discounts, shopping
//! tickets, plate discounts) are consumed: their writes join the payment's
//! transaction, so a discount is used exactly once or not at all, and two
//! racing commits sharing one discount cannot both succeed. Owned by the
//! discounts capability; payment channels never touch it.

use super::orders::Order;
use super::stays::Stay;
use chrono::NaiveDateTime;
use onecard_core::store::Write;
use onecard_core::{ApiResult, Ctx};

/// The writes the paid `order` adds to its commit transaction, conditions
/// included: the use of each of its discounts (`discounts::consume`). A
/// discount another payment used meanwhile is refused with 510, so the loser
/// of a race is told to calculate again rather than that its order was paid.
pub async fn writes(ctx: &Ctx, branch: &str, order: &Order, stay: &Stay, now: NaiveDateTime) -> ApiResult<Vec<Write>> {
    if order.discounts.is_empty() {
        return Ok(Vec::new());
    }
    crate::discounts::consume::writes(ctx, branch, order, stay, now).await
}
