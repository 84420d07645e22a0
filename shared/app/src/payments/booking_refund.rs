//! Giving a booking's fee back (6.14, 6.101's rejection).
//!
//! Policy. A booking whose fee was paid (6.15) and whose car has not entered
//! gets the fee back in full when it is cancelled (6.14) or rejected by the
//! operator (6.101 `approvalResult` 2). A booking that runs out without its
//! car coming keeps the fee (a no-show: the space was held for it). A booking
//! whose fee was not paid refunds nothing. A booking whose car entered is
//! used: it can be neither cancelled nor rejected, so nothing is refunded.
//! Cancelling a booking already over is still a cancellation, but a no-show
//! does not become a refund by being cancelled late.
//!
//! Exactly once, crash-safe:
//! 1. The transaction that marks the booking cancelled or rejected (over the
//!    version read) also records the refund as owed (`FeePaid::refund`
//!    `Refund::Owed`) and files the booking among the owed refunds
//!    (`keys::owed_booking_refunds`). Two racing cancellations write one of
//!    them; the loser reads again and finds the booking closed.
//! 2. The provider is asked to refund the trade that paid the fee, for the
//!    trade's amount. The providers answer a repeated refund of one trade as
//!    the first (Alipay's `out_request_no` defaults to the trade number;
//!    the stand-in does the same), so a crash after the money went back and
//!    before step 3 costs a second ask, never a second payout.
//! 3. One transaction marks the refund done (over the booking's version, so
//!    two finishing at once record it once), the trade `Refunded`, the owed
//!    entry gone and a reversal in the payment journal (the payment's own
//!    entry stays).
//!
//! A provider that refuses or does not answer leaves the refund owed; the
//! cancellation itself has succeeded. The reconciliation (`reconcile`, every
//! minute) retries every owed refund until it is done, and a repeated
//! cancellation tries once more. A fee with no provider trade of ours to
//! refund (none today: a booking's fee is only paid through a provider)
//! stays owed and is logged at every tick, for the operator to settle.
//!
//! The fee's order keeps status 1 (paid): `OrderStatus` (6.26's 0 awaiting, 1
//! paid, 2 cancelled) has no refunded state, and 6.26/6.29 have no field for
//! one. The refund is visible in the journal's reversal, the trade and the
//! booking. No 13.4 event is pushed for it: 13.4 reports charges, and the
//! seed defines no refund record.

use super::providers;
use super::trades::{self, Trade, TradeStatus};
use crate::keys;
use crate::lanes::bookings::{self, Booking};
use crate::park::orders;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::stamp;
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

/// Where a paid fee's refund stands. Absent while the booking is open (or
/// ran out: a no-show keeps its fee).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Refund {
    /// Recorded with the cancellation or rejection; the money is not back yet.
    Owed { since: String },
    /// The provider gave `amount` back on trade `out_trade_no`.
    Done { at: String, out_trade_no: String, amount: Fen },
}

/// What one attempt at an owed refund came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Given back now.
    Refunded,
    /// Nothing owed (never paid, not closed, or done before).
    NotOwed,
    /// Still owed: why, for the log.
    StillOwed(String),
}

/// Closing a booking (cancel or reject): when its fee was paid, records the
/// refund as owed on it and answers the write that files it among the owed
/// ones, for the closing transaction.
pub fn owe_on_close(b: &mut Booking, branch: &str, now: NaiveDateTime) -> Option<Write> {
    if b.window_end().is_none_or(|end| end < now) {
        // Over before it was closed: a no-show, whose fee stays.
        return None;
    }
    let fee = b.fee_paid.as_mut()?;
    if fee.refund.is_some() {
        return None;
    }
    fee.refund = Some(Refund::Owed { since: stamp(now) });
    Some(Write::put(Item::new(keys::owed_booking_refunds(branch), b.order_no.clone(), serde_json::json!({})), Cond::None))
}

fn is_owed(b: &Booking) -> bool {
    matches!(b.fee_paid.as_ref().and_then(|f| f.refund.as_ref()), Some(Refund::Owed { .. }))
}

/// The trade that paid the fee: the one whose provider id the payment
/// recorded, else the order's booked trade.
fn paying_trade(fee: &bookings::FeePaid, trades: Vec<(Trade, u64)>) -> Option<Trade> {
    let usable = |t: &Trade| matches!(t.status, TradeStatus::Booked | TradeStatus::Refunded);
    let mut ts: Vec<Trade> = trades.into_iter().map(|(t, _)| t).filter(usable).collect();
    match &fee.trade_no {
        Some(no) => ts.iter().position(|t| t.trade_no.as_deref() == Some(no)).map(|i| ts.swap_remove(i)),
        None => ts.into_iter().find(|t| t.status == TradeStatus::Booked),
    }
}

/// Tries to give back the fee owed on booking `booking_no`.
pub async fn settle(ctx: &Ctx, branch: &Branch, booking_no: &str) -> ApiResult<Outcome> {
    let b = branch.branchno.as_str();
    let Some((booking, _)) = bookings::get(ctx, b, booking_no).await? else {
        forget(ctx, b, booking_no).await?;
        return Ok(Outcome::NotOwed);
    };
    let Some(fee) = booking.fee_paid.as_ref().filter(|_| is_owed(&booking)) else {
        forget(ctx, b, booking_no).await?;
        return Ok(Outcome::NotOwed);
    };
    let Some(trade) = paying_trade(fee, trades::for_order(ctx, b, &fee.order_no).await?) else {
        return Ok(Outcome::StillOwed(format!("no provider trade of order {} paid it", fee.order_no)));
    };
    let provider = match providers::pay(ctx, branch).await {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::StillOwed(e.message)),
    };
    if let Err(e) = provider.refund(&trade.out_trade_no, trade.amount).await {
        return Ok(Outcome::StillOwed(format!("the provider did not refund trade {}: {e}", trade.out_trade_no)));
    }
    let now = onecard_core::time::to_local(ctx.clock.now(), &branch.tz);
    finish(ctx, b, booking_no, &trade, now).await
}

/// Step 3: the money is back; record it once.
async fn finish(ctx: &Ctx, b: &str, booking_no: &str, trade: &Trade, now: NaiveDateTime) -> ApiResult<Outcome> {
    retry::on_conflict("booking refund not recorded", || async {
        let Some((read, bv)) = bookings::get(ctx, b, booking_no).await? else { return Ok(Step::Done(Outcome::NotOwed)) };
        let mut booking = read.clone();
        if !is_owed(&booking) {
            // Another attempt recorded it first.
            return Ok(Step::Done(Outcome::NotOwed));
        }
        let Some(fee) = booking.fee_paid.as_mut() else { return Ok(Step::Done(Outcome::NotOwed)) };
        let (order, _) = orders::get(ctx, b, &fee.order_no, false)
            .await?
            .ok_or_else(|| ApiError::system(format!("order {} of booking {booking_no}'s fee is not stored", fee.order_no)))?;
        fee.refund = Some(Refund::Done { at: stamp(now), out_trade_no: trade.out_trade_no.clone(), amount: trade.amount });
        let mut refunded = trade.clone();
        refunded.status = TradeStatus::Refunded;
        refunded.reason = Some(format!("refunded: booking {booking_no} closed before its car came"));
        let mut writes = booking.write_over(b, &read, bv)?;
        writes.extend([
            // Trades are written last-writer-wins; the booking's version
            // above is what makes this transaction once.
            trades::decided_write(b, &refunded)?,
            Write::delete(keys::owed_booking_refunds(b), booking_no.to_string(), Cond::None),
            order.reversal_write(b, now, trade.amount, &trade.out_trade_no),
        ]);
        Step::of(ctx.store.transact(writes).await, Outcome::Refunded)
    })
    .await
}

/// Drops a stale owed entry (the booking is gone or its refund is not owed).
async fn forget(ctx: &Ctx, b: &str, booking_no: &str) -> ApiResult<()> {
    ctx.store.delete(&keys::owed_booking_refunds(b), booking_no, Cond::None).await?;
    Ok(())
}

/// Tries `settle` and logs a refund left owed: what the closing routes call
/// once their own transaction is in, whose answer does not depend on it.
pub async fn try_now(ctx: &Ctx, branch: &Branch, booking_no: &str) {
    if let Outcome::StillOwed(why) = settle(ctx, branch, booking_no).await.unwrap_or_else(|e| Outcome::StillOwed(e.message)) {
        tracing::warn!(branch = %branch.branchno, booking = booking_no, reason = %why, "booking fee refund left owed; the reconciliation retries it");
    }
}

/// What the reconciliation did with the owed refunds of a branch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Retried {
    pub refunded: usize,
    pub owed: usize,
}

/// Every refund owed in the branch, tried once more.
pub async fn retry_owed(ctx: &Ctx, branch: &Branch) -> ApiResult<Retried> {
    let b = branch.branchno.as_str();
    let mut r = Retried::default();
    for item in ctx.store.query_all(&Query::partition(keys::owed_booking_refunds(b))).await? {
        // An error (the store, the provider's port) leaves it owed like a refusal.
        match settle(ctx, branch, &item.sk).await.unwrap_or_else(|e| Outcome::StillOwed(e.message)) {
            Outcome::Refunded => r.refunded += 1,
            Outcome::NotOwed => {}
            Outcome::StillOwed(why) => {
                tracing::warn!(branch = b, booking = %item.sk, reason = %why, "booking fee refund still owed");
                r.owed += 1;
            }
        }
    }
    Ok(r)
}
