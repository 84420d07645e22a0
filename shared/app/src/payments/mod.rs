//! Payments beyond cash: QR codes and their resolver (9.5, 9.7-9.11, 15.2),
//! pay-by-code (9.6), password-free cars and withholding (6.69-6.71, 9.13,
//! and the exit rule in `lanes::rules`), Alipay mobile-website pay
//! (10.5-10.7) and a booking's fee by it (6.15), e-invoices (9.15, 9.16,
//! 6.62, 6.86) and red envelopes (6.84, 6.85); the reconciliation of trades
//! left undecided, and 9.9's notice when a pay code is scanned.
//!
//! Every payment here ends in `park::payments::commit_payment` (the one 6.2
//! transaction) through `settle::paid`; the outside systems are the ports of
//! `onecard_core::providers`, answered by the `standins` where the
//! deployment turns them on (decision 21) and by 501 otherwise.

pub mod booking_fee;
pub mod booking_refund;
#[cfg(test)]
mod booking_refund_tests;
pub mod collect;
pub mod invoices;
pub mod micropay;
pub mod nopsw;
pub mod providers;
pub mod qr;
pub mod reconcile;
pub mod scan_notice;
pub mod redenvelope;
pub mod settings;
pub mod settle;
pub mod standins;
pub mod trades;
pub mod wap;

use onecard_core::kit::RouteDef;
use onecard_core::{ApiResult, Ctx};

/// Every route of this module; the registry keeps those of enabled groups.
pub fn routes() -> Vec<RouteDef> {
    [booking_fee::routes(), qr::routes(), micropay::routes(), nopsw::routes(), wap::routes(), invoices::routes(), redenvelope::routes()].into_iter().flatten().collect()
}

/// The demo data dir answers with the stand-ins (decision 21), and its
/// invoicing QR codes point at the stand-in platform's page.
pub async fn seed_demo(ctx: &Ctx, branch: &str) -> ApiResult<()> {
    settings::seed_demo(ctx.store()).await?;
    if ctx.store().get(&crate::keys::pay_settings(branch), "settings").await?.is_none() {
        let s = settings::PaySettings { invoice_url: Some("https://einvoice.example/h5/parkinvoice/index.php".into()), ..Default::default() };
        settings::put(ctx.store(), branch, &s).await?;
    }
    Ok(())
}
