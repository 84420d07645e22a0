//! The stand-in red-packet service: a gift sent is waiting until the driver
//! taps it, which the stand-in takes to happen by the next query.

use crate::keys;
use crate::payments::settings::Providers;
use async_trait::async_trait;
use onecard_core::providers::redpacket::{RedPacketService, RedPacketState};
use onecard_core::providers::ProviderError;
use onecard_core::store::{Cond, Item};
use onecard_core::{Ctx, Fen};

pub struct StandinRedPackets {
    ctx: Ctx,
    cfg: Providers,
}

fn pk() -> String {
    keys::standin_books("redpacket")
}

fn err(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unreachable(e.to_string())
}

impl StandinRedPackets {
    pub fn new(ctx: Ctx, cfg: Providers) -> Self {
        StandinRedPackets { ctx, cfg }
    }

    async fn load(&self, order_no: &str) -> Result<Option<RedPacketState>, ProviderError> {
        let Some(item) = self.ctx.store().get(&pk(), order_no).await.map_err(err)? else { return Ok(None) };
        Ok(Some(serde_json::from_value(item.body["state"].clone()).map_err(err)?))
    }

    async fn save(&self, order_no: &str, state: RedPacketState, amount: Fen) -> Result<(), ProviderError> {
        let body = serde_json::json!({"state": state, "amount": amount.0});
        self.ctx.store().put(Item::new(pk(), order_no, body), Cond::None).await.map_err(err)
    }
}

#[async_trait]
impl RedPacketService for StandinRedPackets {
    async fn send(&self, order_no: &str, amount: Fen, open_id: &str) -> Result<RedPacketState, ProviderError> {
        if let Some(s) = self.load(order_no).await? {
            // One gift per order, however often the link is opened.
            return Ok(s);
        }
        if open_id.trim().is_empty() {
            return Err(ProviderError::Refused("re_openid is required".into()));
        }
        let state = if self.cfg.fails("redpacket") { RedPacketState::IssueFailed } else { RedPacketState::AwaitingCollection };
        self.save(order_no, state, amount).await?;
        Ok(state)
    }

    async fn query(&self, order_no: &str) -> Result<Option<RedPacketState>, ProviderError> {
        let Some(s) = self.load(order_no).await? else { return Ok(None) };
        if s == RedPacketState::AwaitingCollection {
            let amount = Fen(0);
            self.save(order_no, RedPacketState::Collected, amount).await?;
            return Ok(Some(RedPacketState::Collected));
        }
        Ok(Some(s))
    }
}
