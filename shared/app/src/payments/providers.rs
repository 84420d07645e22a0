//! The outside systems a request may use, chosen per request from the
//! deployment's record (`settings::Providers`): the stand-ins where they are
//! turned on, otherwise none, and the route answers 501 (decision 21).

use super::settings;
use super::standins::{StandinInvoices, StandinPay, StandinRedPackets};
use onecard_core::config::Branch;
use onecard_core::providers::{InvoicePlatform, PaymentProvider, RedPacketService};
use onecard_core::{ApiError, ApiResult, Code, Ctx};
use std::sync::Arc;

fn none(what: &str) -> ApiError {
    ApiError::new(Code::NOT_BUILT, format!("no {what} is configured for this deployment"))
}

pub async fn pay(ctx: &Ctx, branch: &Branch) -> ApiResult<Arc<dyn PaymentProvider>> {
    let p = settings::providers(ctx.store()).await?;
    if !p.standins {
        return Err(none("payment provider"));
    }
    Ok(Arc::new(StandinPay::new(ctx.store.clone(), ctx.clock.clone(), p, &branch.tz)))
}

pub async fn invoices(ctx: &Ctx) -> ApiResult<Arc<dyn InvoicePlatform>> {
    let p = settings::providers(ctx.store()).await?;
    if !p.standins {
        return Err(none("e-invoice platform"));
    }
    Ok(Arc::new(StandinInvoices::new(ctx.clone(), p)))
}

pub async fn red_packets(ctx: &Ctx) -> ApiResult<Arc<dyn RedPacketService>> {
    let p = settings::providers(ctx.store()).await?;
    if !p.standins {
        return Err(none("red-packet service"));
    }
    Ok(Arc::new(StandinRedPackets::new(ctx.clone(), p)))
}

/// The provider's "we do not know" as an answer: the caller may ask again.
pub fn unreachable(e: onecard_core::providers::ProviderError) -> ApiError {
    ApiError::failed(e.to_string())
}
