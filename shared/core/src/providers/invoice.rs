//! The e-invoice platform (Zhongshui, Baiwang, Nuonuo, ...): asked to issue,
//! it answers later through the car park's 6.86 callback.

use super::ProviderError;
use crate::money::Fen;
use async_trait::async_trait;

/// One paid order on an invoice.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLine {
    pub order_no: String,
    pub plate: String,
    pub amount: Fen,
}

/// What the platform is asked to issue: the buyer (`gf*`) and the lines.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceRequest {
    pub branch: String,
    /// The cloud's invoice record id; the callback names it back.
    pub einvoice_id: String,
    pub buyer_name: String,
    pub buyer_tax_id: Option<String>,
    pub buyer_address: Option<String>,
    pub buyer_bank: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub lines: Vec<InvoiceLine>,
}

#[async_trait]
pub trait InvoicePlatform: Send + Sync {
    /// Accepts the request for issuing (asynchronous: the result comes by
    /// the callback). Asking again for the same `einvoice_id` is not a second
    /// invoice.
    async fn issue(&self, req: &InvoiceRequest) -> Result<(), ProviderError>;
}
