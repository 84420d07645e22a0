//! The cloud's own record of each trade it sends a provider: which order it
//! pays, how much, by which channel, and where it stands. A trade number is
//! `{orderNo}-{kind}{n}`, so the order is known from any notification and an
//! order's attempts are one prefix query.

use crate::keys;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Fen};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeKind {
    /// Pay-by-code (9.6).
    Micropay,
    /// Password-free withholding (9.13, the exit rule).
    Withhold,
    /// Mobile-website pay (10.5, 6.15).
    Wap,
}

impl TradeKind {
    fn letter(self) -> char {
        match self {
            TradeKind::Micropay => 'M',
            TradeKind::Withhold => 'N',
            TradeKind::Wap => 'W',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeStatus {
    /// Sent; no answer yet (or the answer was lost).
    Sent,
    /// The payer is confirming.
    Paying,
    Failed,
    /// Paid and booked through the 6.2 commit.
    Booked,
    /// Paid but could not be booked (the order was paid another way or went
    /// stale), so the money was given back.
    Refunded,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trade {
    pub out_trade_no: String,
    pub order_no: String,
    pub zero: bool,
    pub kind: TradeKind,
    pub amount: Fen,
    pub pay_type: i64,
    pub status: TradeStatus,
    #[serde(default)]
    pub trade_no: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// When it was opened (Unix seconds, the server clock): what the
    /// reconciliation measures "left unknown for long" by. 0 for trades
    /// recorded before it was kept: old.
    #[serde(default)]
    pub opened_unix: i64,
}

/// The order a trade number pays.
pub fn order_of(out_trade_no: &str) -> Option<&str> {
    out_trade_no.rsplit_once('-').map(|(o, _)| o).filter(|o| !o.is_empty())
}

pub async fn for_order(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Vec<(Trade, u64)>> {
    let items = ctx.store().query_all(&Query::prefix(keys::provider_trades(branch), format!("{order_no}-"))).await?;
    items.into_iter().map(|i| Ok((i.parse::<Trade>()?, i.version))).collect()
}

pub async fn get(ctx: &Ctx, branch: &str, out_trade_no: &str) -> ApiResult<Option<(Trade, u64)>> {
    Ok(match ctx.store().get(&keys::provider_trades(branch), out_trade_no).await? {
        Some(i) => Some((i.parse()?, i.version)),
        None => None,
    })
}

/// A new attempt for an order: the next number of its kind, written
/// `MustNotExist` so two attempts never share a number.
pub async fn open(ctx: &Ctx, branch: &str, order_no: &str, zero: bool, kind: TradeKind, amount: Fen, pay_type: i64) -> ApiResult<Trade> {
    open_with(ctx, branch, order_no, zero, kind, amount, pay_type, false).await
}

/// The order's attempt of `kind` not sent to anyone's payment yet (`Sent`),
/// or a new one: racing asks for one pay page share one trade.
pub async fn open_or_reuse(ctx: &Ctx, branch: &str, order_no: &str, zero: bool, kind: TradeKind, amount: Fen, pay_type: i64) -> ApiResult<Trade> {
    open_with(ctx, branch, order_no, zero, kind, amount, pay_type, true).await
}

#[allow(clippy::too_many_arguments)]
async fn open_with(ctx: &Ctx, branch: &str, order_no: &str, zero: bool, kind: TradeKind, amount: Fen, pay_type: i64, reuse: bool) -> ApiResult<Trade> {
    onecard_core::retry::on_conflict("trade not recorded", || async {
        let mine: Vec<Trade> = for_order(ctx, branch, order_no).await?.into_iter().map(|(t, _)| t).filter(|t| t.kind == kind).collect();
        if reuse {
            if let Some(t) = mine.iter().rfind(|t| t.status == TradeStatus::Sent && t.amount == amount) {
                return Ok(onecard_core::retry::Step::Done(t.clone()));
            }
        }
        let n = mine.len() + 1;
        let t = Trade {
            out_trade_no: format!("{order_no}-{}{n}", kind.letter()),
            order_no: order_no.to_string(),
            zero,
            kind,
            amount,
            pay_type,
            status: TradeStatus::Sent,
            trade_no: None,
            reason: None,
            opened_unix: ctx.clock.now().timestamp(),
        };
        let body = serde_json::to_value(&t).map_err(ApiError::system)?;
        let r = ctx
            .store()
            .transact(vec![
                Write::put(Item::new(keys::provider_trades(branch), t.out_trade_no.clone(), body).with_version(1), Cond::MustNotExist),
                Write::put(open_marker(branch, &t.out_trade_no), Cond::None),
            ])
            .await;
        onecard_core::retry::Step::of(r, t)
    })
    .await
}

fn open_marker(branch: &str, out_trade_no: &str) -> Item {
    Item::new(keys::open_trades(branch), out_trade_no.to_string(), serde_json::json!({}))
}

impl TradeStatus {
    /// Not decided yet: the provider may still take (or have taken) the money.
    pub fn is_open(self) -> bool {
        matches!(self, TradeStatus::Sent | TradeStatus::Paying)
    }
}

/// Records where a trade stands (last writer wins: every writer writes what
/// the provider said, which only moves forward), and whether it is still
/// among the open trades the reconciliation asks about.
pub async fn set(ctx: &Ctx, branch: &str, t: &Trade) -> ApiResult<()> {
    ctx.store().put(item(branch, t)?, Cond::None).await?;
    if t.status.is_open() {
        ctx.store().put(open_marker(branch, &t.out_trade_no), Cond::None).await?;
    } else {
        ctx.store().delete(&keys::open_trades(branch), &t.out_trade_no, Cond::None).await?;
    }
    Ok(())
}

/// The trade as one write of a caller's transaction, last writer wins as
/// with `set`. Only for a trade decided before and after (a booked trade
/// refunded): it has no open mark to keep or drop.
pub fn decided_write(branch: &str, t: &Trade) -> ApiResult<Write> {
    Ok(Write::put(item(branch, t)?, Cond::None))
}

fn item(branch: &str, t: &Trade) -> ApiResult<Item> {
    let body = serde_json::to_value(t).map_err(ApiError::system)?;
    Ok(Item::new(keys::provider_trades(branch), t.out_trade_no.clone(), body))
}

/// The trades still open, as stored now.
pub async fn open_ones(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Trade>> {
    let marks = ctx.store().query_all(&Query::partition(keys::open_trades(branch))).await?;
    let mut out = Vec::with_capacity(marks.len());
    for m in marks {
        match get(ctx, branch, &m.sk).await? {
            Some((t, _)) if t.status.is_open() => out.push(t),
            // Decided meanwhile (or never stored): the mark is stale.
            _ => ctx.store().delete(&keys::open_trades(branch), &m.sk, Cond::None).await?,
        }
    }
    Ok(out)
}
