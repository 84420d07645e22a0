//! Trades no one asks about again: a pay-by-code whose site gave up polling,
//! a withholding at the exit whose answer was lost (the car left by the
//! normal exit), a WAP page whose notification never came. The money may be
//! taken; nothing is booked. The reconciliation asks the provider about every
//! trade still open after `after_secs` and settles it the one way any news
//! of a trade is settled (`settle::paid`): booked through the 6.2 commit, or
//! refunded when its order can no longer be paid (paid another way, lapsed,
//! the car gone). It also retries the booking fee refunds left owed
//! (`booking_refund`: a provider that did not answer when the booking was
//! cancelled or rejected). Run by `onecard payments reconcile` and every
//! minute by `onecard serve` and the push function's schedule.

use super::booking_refund;
use super::micropay;
use super::providers;
use super::trades::{self, TradeStatus};
use onecard_core::config::{self, Branch};
use onecard_core::providers::TradeState;
use onecard_core::{ApiResult, Code, Ctx};

/// Trades opened this recently are left to the request that opened them
/// (a micropay polls for a few seconds; a payer takes a minute on a WAP page).
pub const DEFAULT_AFTER_SECS: i64 = 120;

/// A trade the provider still calls unpaid this long after it was opened is
/// given up: the providers close unpaid trades well before (Alipay's default
/// timeout is 15 minutes, WeChat's 2 hours), and a payment arriving later
/// anyway is still settled by its notification (and refunded when late).
const ABANDON_AFTER_SECS: i64 = 86_400;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Open trades old enough to ask about.
    pub asked: usize,
    pub booked: usize,
    pub refunded: usize,
    /// Declined, unknown to the provider, or abandoned.
    pub failed: usize,
    /// Still undecided (the provider did not answer or the payer is still paying).
    pub open: usize,
    /// Booking fees given back now, and those still owed.
    pub fee_refunds: booking_refund::Retried,
}

impl Report {
    fn add(&mut self, o: Report) {
        self.asked += o.asked;
        self.booked += o.booked;
        self.refunded += o.refunded;
        self.failed += o.failed;
        self.open += o.open;
        self.fee_refunds.refunded += o.fee_refunds.refunded;
        self.fee_refunds.owed += o.fee_refunds.owed;
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "asked {}: booked {}, refunded {}, failed {}, still open {}", self.asked, self.booked, self.refunded, self.failed, self.open)?;
        let fr = self.fee_refunds;
        if fr != booking_refund::Retried::default() {
            write!(f, "; booking fees refunded {}, still owed {}", fr.refunded, fr.owed)?;
        }
        Ok(())
    }
}

/// Every branch whose deployment has a payment provider.
pub async fn all(ctx: &Ctx, after_secs: i64) -> ApiResult<Report> {
    let mut total = Report::default();
    for b in config::list_branches(ctx.store()).await? {
        total.add(branch(ctx, &b, after_secs).await?);
    }
    Ok(total)
}

pub async fn branch(ctx: &Ctx, branch: &Branch, after_secs: i64) -> ApiResult<Report> {
    let mut r = trades_of(ctx, branch, after_secs).await?;
    r.fee_refunds = booking_refund::retry_owed(ctx, branch).await?;
    Ok(r)
}

/// The open trades of a branch, asked about and settled.
async fn trades_of(ctx: &Ctx, branch: &Branch, after_secs: i64) -> ApiResult<Report> {
    let mut r = Report::default();
    let now_unix = ctx.clock.now().timestamp();
    let stale: Vec<_> = trades::open_ones(ctx, &branch.branchno).await?.into_iter().filter(|t| now_unix - t.opened_unix >= after_secs).collect();
    if stale.is_empty() {
        return Ok(r);
    }
    let provider = match providers::pay(ctx, branch).await {
        Ok(p) => p,
        // No provider configured (any more): nobody to ask; the trades wait.
        Err(e) if e.code == Code::NOT_BUILT => {
            r.open = stale.len();
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    for mut t in stale {
        r.asked += 1;
        let now = onecard_core::time::to_local(ctx.clock.now(), &branch.tz);
        match provider.query(&t.out_trade_no).await {
            Ok(TradeState::Paid { trade_no, paid_at, amount }) => {
                match super::settle::paid(ctx, branch, &*provider, &mut t, &trade_no, &paid_at, amount, None, now).await {
                    Ok(_) => r.booked += 1,
                    Err(_) if t.status == TradeStatus::Refunded => r.refunded += 1,
                    Err(e) => {
                        tracing::warn!(branch = %branch.branchno, trade = %t.out_trade_no, error = %e.message, "paid trade not settled; asked again next time");
                        r.open += 1;
                    }
                }
            }
            Ok(TradeState::Failed { .. }) | Ok(TradeState::NotFound) => {
                // One poll records the decline as the request path does.
                micropay::follow(ctx, branch, &*provider, &mut t, None, now, 1).await?;
                r.failed += 1;
            }
            Ok(TradeState::Paying) | Err(_) if now_unix - t.opened_unix >= ABANDON_AFTER_SECS => {
                t.status = TradeStatus::Failed;
                t.reason = Some("abandoned: still unpaid a day after it was opened".into());
                trades::set(ctx, &branch.branchno, &t).await?;
                r.failed += 1;
            }
            Ok(TradeState::Paying) | Err(_) => r.open += 1,
        }
    }
    if r.asked > 0 {
        tracing::info!(branch = %branch.branchno, %r, "payment reconciliation");
    }
    Ok(r)
}

/// What `onecard serve` runs in the background: every `every`, all branches.
pub async fn run(ctx: Ctx, every: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = all(&ctx, DEFAULT_AFTER_SECS).await {
            tracing::warn!(error = %e.message, "payment reconciliation failed; tried again later");
        }
    }
}
