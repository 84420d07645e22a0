//! 9.6 `cat.micropay`: the site scans the payer's WeChat or Alipay code and
//! the cloud collects the order's fee with it.
//!
//! `payStatus` 0 paid (booked through the 6.2 commit), 1 declined, 2 unknown:
//! the payer is still confirming or the provider's answer was lost. The
//! cloud asks the provider a few times before answering 2; the site then
//! calls again with the same order, and an attempt still open is settled
//! first (queried, never paid twice) before any new code is charged. An
//! order already paid answers 511 (the seed: place and charge again).

use super::collect::{self, channel_pay_type};
use super::providers;
use super::settle::{self, Booked};
use super::trades::{self, Trade, TradeKind, TradeStatus};
use onecard_core::config::Branch;
use onecard_core::kit::{RouteDef, Text};
use onecard_core::providers::{Channel, Charge, PaymentProvider, TradeState};
use onecard_core::{kit, ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Queries of a "paying" trade before answering unknown, and the pause
/// between them (WeChat suggests polling every few seconds for 30 s; a lane
/// cannot wait that long, so the site polls on by calling again).
const POLLS: usize = 3;
const POLL_PAUSE: Duration = Duration::from_millis(400);

/// 9.6 input.
#[derive(Deserialize, JsonSchema)]
pub struct MicropayIn {
    #[serde(rename = "paymentCode", alias = "paymentcode", alias = "authCode")]
    pub code: Text,
    #[serde(rename = "calcId")]
    pub calc_id: Option<Text>,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Option<Text>,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
}

/// 9.6 / 9.13 output.
#[derive(Serialize, JsonSchema)]
pub struct PayOut {
    #[serde(rename = "orderNo")]
    pub order_no: String,
    pub amount: String,
    #[serde(rename = "payType")]
    pub pay_type: String,
    #[serde(rename = "payStatus")]
    pub pay_status: String,
}

pub const PAID: &str = "0";
pub const DECLINED: &str = "1";
pub const UNKNOWN: &str = "2";

impl PayOut {
    pub fn new(order_no: &str, amount: Fen, pay_type: i64, status: &str) -> Self {
        PayOut { order_no: order_no.to_string(), amount: amount.yuan(), pay_type: pay_type.to_string(), pay_status: status.to_string() }
    }
}

/// Asks the provider where an open trade stands until it is decided or the
/// polls run out; books it when paid.
pub async fn follow(
    ctx: &Ctx,
    branch: &Branch,
    provider: &dyn PaymentProvider,
    t: &mut Trade,
    ws_no: Option<String>,
    now: chrono::NaiveDateTime,
    polls: usize,
) -> ApiResult<&'static str> {
    for i in 0..polls {
        if i > 0 {
            tokio::time::sleep(POLL_PAUSE).await;
        }
        match provider.query(&t.out_trade_no).await {
            Ok(TradeState::Paid { trade_no, paid_at, amount }) => {
                settle::paid(ctx, branch, provider, t, &trade_no, &paid_at, amount, ws_no.clone(), now).await?;
                return Ok(PAID);
            }
            Ok(TradeState::Paying) | Err(_) => continue,
            Ok(TradeState::Failed { reason }) => {
                t.status = TradeStatus::Failed;
                t.reason = Some(reason);
                trades::set(ctx, &branch.branchno, t).await?;
                return Ok(DECLINED);
            }
            Ok(TradeState::NotFound) => {
                // The charge never reached the provider: nothing was taken.
                t.status = TradeStatus::Failed;
                t.reason = Some("the provider has no such trade".into());
                trades::set(ctx, &branch.branchno, t).await?;
                return Ok(DECLINED);
            }
        }
    }
    t.status = TradeStatus::Paying;
    trades::set(ctx, &branch.branchno, t).await?;
    Ok(UNKNOWN)
}

async fn micropay(ctx: Ctx, req: Req, input: MicropayIn) -> ApiResult<kit::WithMessage<PayOut>> {
    let channel = Channel::of_code(&input.code).map_err(|e| ApiError::field("paymentCode", e))?;
    let pay_type = channel_pay_type(channel).0;
    let provider = providers::pay(&ctx, &req.branch).await?;
    let b = req.branchno();
    let ws = input.ws_no.as_deref().map(str::to_string).filter(|w| !w.is_empty());
    let order = collect::order_to_collect(&ctx, &req.branch, input.order_no.as_deref(), input.calc_id.as_deref(), req.now).await?;
    if order.zero {
        // Nothing to collect: the zero fee is booked as 6.2 books it, so the
        // exit grace opens.
        let paid = collect::book(&ctx, &req.branch, &order, channel_pay_type(channel), None, ws, req.now).await?;
        return Ok(kit::WithMessage::optional(PayOut::new(&paid.order_no, Fen::ZERO, pay_type, PAID), None));
    }
    // An attempt whose outcome is still open is settled before a new one:
    // the payer may have confirmed on the phone meanwhile.
    for (mut open, _) in trades::for_order(&ctx, b, &order.order_no).await? {
        if !matches!(open.status, TradeStatus::Sent | TradeStatus::Paying) {
            continue;
        }
        let status = follow(&ctx, &req.branch, &*provider, &mut open, ws.clone(), req.now, 1).await?;
        if status != DECLINED {
            return Ok(kit::WithMessage::optional(PayOut::new(&order.order_no, open.amount, open.pay_type, status), None));
        }
    }
    let mut t = trades::open(&ctx, b, &order.order_no, false, TradeKind::Micropay, order.parkcost, pay_type).await?;
    let charge = Charge { out_trade_no: t.out_trade_no.clone(), amount: order.parkcost, subject: format!("停车费 {}", order.plate), channel };
    let status = match provider.micropay(&charge, input.code.trim()).await {
        Ok(TradeState::Paid { trade_no, paid_at, amount }) => {
            settle::paid(&ctx, &req.branch, &*provider, &mut t, &trade_no, &paid_at, amount, ws, req.now).await.map(|b| match b {
                Booked::Now(_) | Booked::Before(_) => PAID,
            })?
        }
        Ok(TradeState::Failed { reason }) => {
            t.status = TradeStatus::Failed;
            t.reason = Some(reason.clone());
            trades::set(&ctx, b, &t).await?;
            return Ok(kit::WithMessage::optional(PayOut::new(&order.order_no, Fen::ZERO, pay_type, DECLINED), Some(reason)));
        }
        Ok(TradeState::NotFound) => DECLINED,
        Ok(TradeState::Paying) | Err(onecard_core::providers::ProviderError::Unreachable(_)) => {
            follow(&ctx, &req.branch, &*provider, &mut t, ws, req.now, POLLS).await?
        }
        Err(e @ onecard_core::providers::ProviderError::Refused(_)) => {
            t.status = TradeStatus::Failed;
            t.reason = Some(e.to_string());
            trades::set(&ctx, b, &t).await?;
            return Err(ApiError::failed(e.to_string()));
        }
    };
    let amount = if status == PAID { order.parkcost } else { Fen::ZERO };
    let note = (status == UNKNOWN).then(|| "the payer has not confirmed yet: call again with the same order to learn the outcome".to_string());
    Ok(kit::WithMessage::optional(PayOut::new(&order.order_no, amount, pay_type, status), note))
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("cat.micropay", micropay)]
}

#[cfg(test)]
mod tests {
    use onecard_core::providers::Channel;

    #[test]
    fn codes_are_told_apart_by_prefix_and_length() {
        assert_eq!(Channel::of_code("120061098828009406"), Ok(Channel::WeChat));
        assert_eq!(Channel::of_code("28763443825664394"), Ok(Channel::Alipay));
        assert_eq!(Channel::of_code("2876344382566439412345"), Ok(Channel::Alipay));
        assert!(Channel::of_code("1200610988280094").is_err(), "WeChat codes are 18 digits");
        assert!(Channel::of_code("16006109882800940").is_err(), "16 is neither");
        assert!(Channel::of_code("31763443825664394").is_err());
        assert!(Channel::of_code("12006109882800940x").is_err());
    }
}
