//! Paying a parking fee from a stored-value card (payType 3). The parking
//! module owns the payment transaction; this module gives it the card's share
//! of the writes, so the order, the payment and the debit commit together or
//! not at all.

use super::model::{CardState, Debit};
use super::store::{card_update, card_versioned, debit_create};
use chrono::NaiveDateTime;
use onecard_core::store::Write;
use onecard_core::{ApiError, ApiResult, Ctx, Fen};

pub use super::store::debit_of_order;

/// The writes that take `amount` from stored-value card `card_no` for parking
/// order `order_no`: the card at the version read with its new balance, and a
/// debit record that must not exist yet (one debit per order, whatever the
/// caller does). Refuses (500 "余额不足") when the balance would go below zero.
/// A zero amount needs no writes. If the transaction loses a race on the card,
/// call this again: it re-reads the balance.
pub async fn debit_writes(ctx: &Ctx, branch: &str, card_no: &str, amount: Fen, order_no: &str, at: NaiveDateTime) -> ApiResult<Vec<Write>> {
    if amount.0 < 0 {
        return Err(ApiError::field("amount", "a debit must not be negative"));
    }
    if order_no.trim().is_empty() {
        return Err(ApiError::missing("orderNo"));
    }
    let card = card_versioned(ctx, branch, card_no).await?.ok_or_else(|| ApiError::failed(format!("card {card_no} does not exist")))?;
    let c = &card.value;
    if !c.is_stored_value() {
        return Err(ApiError::failed(format!("card {card_no} is not a stored-value card")));
    }
    if c.state != CardState::Active {
        return Err(ApiError::failed(format!("card {card_no} is {}", c.state.name())));
    }
    if amount.0 == 0 {
        return Ok(Vec::new());
    }
    if c.balance < amount {
        return Err(ApiError::failed(format!("余额不足: balance {} is less than {}", c.balance, amount)));
    }
    let mut next = c.clone();
    next.balance = c.balance - amount;
    let debit = Debit { order_no: order_no.to_string(), card_no: card_no.to_string(), amount, before: c.balance, after: next.balance, at };
    Ok(vec![card_update(branch, &card, &next), debit_create(branch, &debit)])
}
