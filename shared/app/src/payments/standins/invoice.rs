//! The stand-in invoice platform: it accepts a request, and a moment later
//! calls the car park back with the invoice code, number and download link,
//! through the same function the 6.86 route runs.

use crate::keys;
use crate::payments::settings::Providers;
use async_trait::async_trait;
use onecard_core::providers::invoice::{InvoicePlatform, InvoiceRequest};
use onecard_core::providers::ProviderError;
use onecard_core::store::{Cond, Item};
use onecard_core::Ctx;
use std::time::Duration;

/// How long the stand-in "takes" to issue.
pub const ISSUE_DELAY: Duration = Duration::from_millis(300);

pub struct StandinInvoices {
    ctx: Ctx,
    cfg: Providers,
}

impl StandinInvoices {
    pub fn new(ctx: Ctx, cfg: Providers) -> Self {
        StandinInvoices { ctx, cfg }
    }
}

#[async_trait]
impl InvoicePlatform for StandinInvoices {
    async fn issue(&self, req: &InvoiceRequest) -> Result<(), ProviderError> {
        if self.cfg.fails("invoice") {
            return Err(ProviderError::Refused("the tax disk is offline (税盘离线)".into()));
        }
        let pk = keys::standin_books("invoice");
        let body = serde_json::json!({"branch": req.branch, "lines": req.lines.len()});
        match self.ctx.store().put(Item::new(pk, format!("{}#{}", req.branch, req.einvoice_id), body), Cond::MustNotExist).await {
            Ok(()) => {}
            // Asked again for one invoice: already being issued.
            Err(e) if e.is_conflict() => return Ok(()),
            Err(e) => return Err(ProviderError::Unreachable(e.to_string())),
        }
        let (ctx, req) = (self.ctx.clone(), req.clone());
        // Invoice numbers are 8 digits, codes 12 (the format of a VAT e-invoice).
        let n: u64 = req.einvoice_id.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        tokio::spawn(async move {
            tokio::time::sleep(ISSUE_DELAY).await;
            let result = crate::payments::invoices::PlatformResult {
                einvoice_id: Some(req.einvoice_id.clone()),
                order_nos: req.lines.iter().map(|l| l.order_no.clone()).collect(),
                code: format!("0440{:08}", n % 100_000_000),
                number: format!("{:08}", (n / 7) % 100_000_000),
                url: Some(format!("https://einvoice.example/standin/{}/{}.pdf", req.branch, req.einvoice_id)),
            };
            if let Err(e) = crate::payments::invoices::record_result(&ctx, &req.branch, &result).await {
                tracing::warn!(branch = %req.branch, einvoice = %req.einvoice_id, error = %e.message, "stand-in invoice callback failed");
            }
        });
        Ok(())
    }
}
