//! What every channel here shares: the order a request names (9.5, 9.6,
//! 9.13 and 10.5 take `orderNo` or `calcId`), and booking a provider's paid
//! trade through the one 6.2 commit.

use crate::park::fees;
use crate::park::orders::{self, Order};
use crate::park::payments::{commit_order, Payment, Target};
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{CredentialType, OrderStatus, PayType};
use onecard_core::{ApiError, ApiResult, Code, Ctx};

/// WeChat Pay (9.6's table).
pub const WECHAT: PayType = PayType(7);
/// Alipay.
pub const ALIPAY: PayType = PayType(5);

pub fn channel_pay_type(c: onecard_core::providers::Channel) -> PayType {
    match c {
        onecard_core::providers::Channel::WeChat => WECHAT,
        onecard_core::providers::Channel::Alipay => ALIPAY,
    }
}

/// The order to collect: `orderNo` as issued (unpaid, not lapsed), or for a
/// `calcId` a fresh order priced now from that calculation's stay (9.5: "an
/// order is generated from that calcId's billing information").
pub async fn order_to_collect(ctx: &Ctx, branch: &Branch, order_no: Option<&str>, calc_id: Option<&str>, now: NaiveDateTime) -> ApiResult<Order> {
    let b = branch.branchno.as_str();
    let order = match (order_no.filter(|s| !s.trim().is_empty()), calc_id.filter(|s| !s.trim().is_empty())) {
        (Some(no), _) => orders::get(ctx, b, no.trim(), false)
            .await?
            .map(|(o, _)| o)
            .ok_or_else(|| ApiError::new(Code::ORDER_EXPIRED, format!("order {no} was never issued; calculate the fee again")))?,
        (None, Some(calc)) => {
            let (calc_order, _) = orders::get(ctx, b, calc.trim(), true)
                .await?
                .ok_or_else(|| ApiError::new(Code::ORDER_EXPIRED, format!("calculation {calc} has expired or was never made; calculate again")))?;
            let ctype = if calc_order.card_no.is_some() && calc_order.plate.is_empty() { CredentialType::Card } else { CredentialType::Plate };
            let credential = match ctype {
                CredentialType::Card => calc_order.card_no.clone().unwrap_or_default(),
                CredentialType::Plate => calc_order.plate.clone(),
            };
            let (stay, _, q) = fees::quote_credential(ctx, branch, ctype, &credential, None, now).await?;
            let order = fees::order_for(&stay, &q, now, branch.settings.order_minutes, None);
            orders::create(ctx, b, order).await?
        }
        (None, None) => return Err(ApiError::field("orderNo", "one of orderNo and calcId is required")),
    };
    match order.status_at(now) {
        OrderStatus::Paid => Err(ApiError::new(Code::DUPLICATE, format!("order {} is already paid", order.order_no))),
        OrderStatus::Cancelled => Err(ApiError::new(Code::ORDER_EXPIRED, format!("order {} has expired or was cancelled; calculate the fee again", order.order_no))),
        OrderStatus::Unpaid => Ok(order),
    }
}

/// The credential an order was issued for.
pub fn credential_of(order: &Order) -> (CredentialType, String) {
    match (&order.card_no, order.plate.is_empty()) {
        (Some(c), true) => (CredentialType::Card, c.clone()),
        _ => (CredentialType::Plate, order.plate.clone()),
    }
}

/// Books a paid trade (or a zero fee) through the one 6.2 commit.
pub async fn book(
    ctx: &Ctx,
    branch: &Branch,
    order: &Order,
    pay_type: PayType,
    trade: Option<(String, String)>,
    ws_no: Option<String>,
    now: NaiveDateTime,
) -> ApiResult<Order> {
    let (ctype, credential) = credential_of(order);
    let mut p = Payment::of_order(ctype, &credential, &order.order_no, order.parkcost, pay_type, trade.as_ref().map(|t| t.0.clone()));
    if order.zero {
        p.target = Target::Calc(order.order_no.clone());
    }
    if let Some(booking_no) = &order.booking_no {
        p.target = Target::Booking { booking_no: booking_no.clone(), order_no: order.order_no.clone() };
    }
    p.trade_time = trade.map(|t| t.1).filter(|t| !t.is_empty());
    p.ws_no = ws_no;
    commit_order(ctx, branch, &p, now).await
}
