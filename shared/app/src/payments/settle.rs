//! A provider says a trade is paid: book it once, whichever way the news
//! came (the pay-by-code answer, a later query, the withholding answer, the
//! WAP notification, its repeats).

use super::collect;
use super::trades::{self, Trade, TradeStatus};
use crate::park::orders::{self, Order};
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::PayType;
use onecard_core::providers::PaymentProvider;
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen};

/// What booking a paid trade came to.
#[derive(Debug)]
pub enum Booked {
    /// Booked now.
    Now(Order),
    /// This trade was booked before (a repeated notification): nothing new.
    Before(Order),
}

impl Booked {
    pub fn order(&self) -> &Order {
        match self {
            Booked::Now(o) | Booked::Before(o) => o,
        }
    }
}

/// Books `t`, paid at the provider as `trade_no` for `amount`. A paid trade
/// that cannot be booked (the order was paid another way, or went stale) is
/// refunded, and the refusal is answered (511 / 510). A refund the provider
/// refuses leaves the trade open, so the reconciliation tries again.
#[allow(clippy::too_many_arguments)]
pub async fn paid(
    ctx: &Ctx,
    branch: &Branch,
    provider: &dyn PaymentProvider,
    t: &mut Trade,
    trade_no: &str,
    paid_at: &str,
    amount: Fen,
    ws_no: Option<String>,
    now: NaiveDateTime,
) -> ApiResult<Booked> {
    let b = branch.branchno.as_str();
    if amount != t.amount {
        // Decision 22: the same trade with another amount is refused and pays nothing.
        return Err(ApiError::field("total_amount", format!("{amount} is not the {} trade {} was opened for", t.amount, t.out_trade_no)));
    }
    if t.status == TradeStatus::Refunded {
        // Its money went back (a booking's fee given back, or a payment that
        // could not be booked): a repeated notification books nothing.
        return Err(ApiError::new(Code::DUPLICATE, format!("trade {} was refunded: nothing to book", t.out_trade_no)));
    }
    let (order, _) = orders::get(ctx, b, &t.order_no, t.zero)
        .await?
        .ok_or_else(|| ApiError::system(format!("trade {} pays order {} which is not stored", t.out_trade_no, t.order_no)))?;
    if t.status == TradeStatus::Booked || order.trade_no.as_deref() == Some(trade_no) {
        if t.status != TradeStatus::Booked {
            t.status = TradeStatus::Booked;
            t.trade_no = Some(trade_no.to_string());
            trades::set(ctx, b, t).await?;
        }
        return Ok(Booked::Before(order));
    }
    match collect::book(ctx, branch, &order, PayType(t.pay_type), Some((trade_no.to_string(), paid_at.to_string())), ws_no, now).await {
        Ok(paid) => {
            t.status = TradeStatus::Booked;
            t.trade_no = Some(trade_no.to_string());
            trades::set(ctx, b, t).await?;
            Ok(Booked::Now(paid))
        }
        // The commit saw this very payment already (its trade id): a repeat.
        Err(e) if e.code == Code::DUPLICATE && orders::by_trade(ctx, b, trade_no).await?.is_some() => {
            t.status = TradeStatus::Booked;
            t.trade_no = Some(trade_no.to_string());
            trades::set(ctx, b, t).await?;
            let (order, _) = orders::get(ctx, b, &t.order_no, t.zero).await?.ok_or_else(|| ApiError::system("paid order vanished"))?;
            Ok(Booked::Before(order))
        }
        Err(e) if e.code == Code::DUPLICATE || e.code == Code::ORDER_EXPIRED || e.code == Code::CAR_NOT_IN_PARK => {
            // Money taken for an order that cannot take it: give it back.
            let refund = provider.refund(&t.out_trade_no, amount).await;
            t.status = if refund.is_ok() { TradeStatus::Refunded } else { TradeStatus::Paying };
            t.trade_no = Some(trade_no.to_string());
            t.reason = Some(match &refund {
                Ok(()) => format!("refunded: {}", e.message),
                Err(r) => format!("refund failed ({r}): {}", e.message),
            });
            trades::set(ctx, b, t).await?;
            tracing::warn!(branch = b, trade = %t.out_trade_no, reason = %e.message, refunded = refund.is_ok(), "paid trade not booked");
            Err(e)
        }
        Err(e) => Err(e),
    }
}
