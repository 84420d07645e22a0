//! Ports to the outside systems that move money or issue paperwork for a
//! car park: the payment provider (pay-by-code, collection codes, password-free
//! withholding, mobile-website pay), the e-invoice platform and the red-packet
//! service.
//!
//! The shapes follow the real services so that adapters can be written
//! against them without reshaping the domain: a trade is named by the
//! merchant's `out_trade_no` and answered with the provider's `trade_no`
//! (WeChat Pay v3 `out_trade_no`/`transaction_id`, Alipay
//! `out_trade_no`/`trade_no`); a pay-by-code attempt may end "user paying"
//! (WeChat `USERPAYING`, Alipay `WAIT_BUYER_PAY`) and is then queried; every
//! notification carries a signature the receiver verifies over the sorted
//! fields (Alipay's `sign`/`sign_type`, WeChat's `Wechatpay-Signature`).
//!
//! Decision 21: a deployment without a configured provider answers 501 on
//! the routes that need one, never pretends to take money.

pub mod invoice;
pub mod pay;
pub mod redpacket;
pub mod signing;

pub use invoice::{InvoiceLine, InvoicePlatform, InvoiceRequest};
pub use pay::{Channel, Charge, PaymentProvider, TradeState};
pub use redpacket::{RedPacketService, RedPacketState};

/// Why an outside system did not answer usefully. A declined payment is not
/// an error (it is a `TradeState`); this is "we do not know what happened".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The request did not reach the provider or its answer was lost: the
    /// outcome is unknown and must be queried.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// The provider refused the request itself (bad parameters, signature).
    #[error("provider refused the request: {0}")]
    Refused(String),
}
