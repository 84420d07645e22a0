//! The payment provider: one trait for WeChat Pay v3 and Alipay's open API.

use super::ProviderError;
use crate::money::Fen;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Which wallet a trade goes through. A pay-by-code attempt is routed by the
/// code itself (9.6: WeChat codes are 18 digits from 10-15, Alipay codes
/// 16-24 digits from 25-30).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    WeChat,
    Alipay,
}

impl Channel {
    /// The channel a customer's payment code belongs to, or why it is none.
    pub fn of_code(code: &str) -> Result<Channel, String> {
        let code = code.trim();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{code}' is not a payment code: digits only"));
        }
        let prefix: u32 = code[..2.min(code.len())].parse().unwrap_or(0);
        match (prefix, code.len()) {
            (10..=15, 18) => Ok(Channel::WeChat),
            (25..=30, 16..=24) => Ok(Channel::Alipay),
            _ => Err(format!(
                "'{code}' is neither a WeChat code (18 digits from 10-15) nor an Alipay code (16-24 digits from 25-30)"
            )),
        }
    }
}

/// One trade the merchant asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Charge {
    /// The merchant's trade number: the same number asked twice is the same
    /// trade (the provider answers its state, never charges twice).
    pub out_trade_no: String,
    pub amount: Fen,
    /// What the payer sees (`description` / `subject`).
    pub subject: String,
    pub channel: Channel,
}

/// Where a trade stands at the provider.
#[derive(Clone, Debug, PartialEq)]
pub enum TradeState {
    /// Paid: the provider's trade id and when it was paid (as the provider
    /// writes it, `yyyy-MM-dd HH:mm:ss`).
    Paid { trade_no: String, paid_at: String, amount: Fen },
    /// The payer has not confirmed yet (WeChat `USERPAYING`, Alipay
    /// `WAIT_BUYER_PAY`): ask again.
    Paying,
    /// Refused for good (balance, code expired, contract ended, closed).
    Failed { reason: String },
    /// The provider has no such trade.
    NotFound,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// A short name for logs and the trade ids it makes.
    fn name(&self) -> &str;
    /// Pay-by-code (WeChat `micropay`, Alipay `alipay.trade.pay` scene
    /// `bar_code`).
    async fn micropay(&self, charge: &Charge, auth_code: &str) -> Result<TradeState, ProviderError>;
    /// Password-free withholding against a signed contract (WeChat
    /// "parking service" `transactions/parking`, Alipay `alipay.trade.pay`
    /// with an agreement). `contract` names the signed car.
    async fn withhold(&self, charge: &Charge, contract: &str) -> Result<TradeState, ProviderError>;
    /// Where a trade stands (WeChat order query, `alipay.trade.query`).
    async fn query(&self, out_trade_no: &str) -> Result<TradeState, ProviderError>;
    /// Gives a paid trade's money back (a charge that could not be booked).
    async fn refund(&self, out_trade_no: &str, amount: Fen) -> Result<(), ProviderError>;
    /// The mobile-website pay page (`alipay.trade.wap.pay`): an HTML form that
    /// submits itself to the provider, which returns the browser to
    /// `return_url` and notifies `notify_url`.
    async fn wap_page(&self, charge: &Charge, return_url: &str, notify_url: &str) -> Result<String, ProviderError>;
    /// The same payment as a link the payer opens (the SDKs' GET form of
    /// `alipay.trade.wap.pay`); providers without one refuse.
    async fn wap_link(&self, charge: &Charge, return_url: &str, notify_url: &str) -> Result<String, ProviderError> {
        let _ = (charge, return_url, notify_url);
        Err(ProviderError::Refused(format!("{} makes pay pages, not links", self.name())))
    }
    /// Does a notification or return carry the provider's valid signature?
    fn verify(&self, fields: &BTreeMap<String, String>) -> bool;
}
