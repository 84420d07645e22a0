//! The red-packet (cash gift) service: a link per order that the driver
//! opens to receive the gift.

use super::ProviderError;
use crate::money::Fen;
use async_trait::async_trait;

/// The seed's red-envelope states (6.85 `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RedPacketState {
    UrlMade = 0,
    Issuing = 1,
    AwaitingCollection = 2,
    IssueFailed = 3,
    Collected = 4,
    Refunding = 5,
    Refunded = 6,
}

impl RedPacketState {
    pub fn code(self) -> i64 {
        self as i64
    }
}

#[async_trait]
pub trait RedPacketService: Send + Sync {
    /// Sends the gift of `amount` for `order_no` to whoever opened its link
    /// (`open_id`); answers the state it reached.
    async fn send(&self, order_no: &str, amount: Fen, open_id: &str) -> Result<RedPacketState, ProviderError>;
    /// Where the gift of `order_no` stands now (WeChat `gethbinfo`).
    async fn query(&self, order_no: &str) -> Result<Option<RedPacketState>, ProviderError>;
}
