//! Red envelopes (WeChat cash gifts): 6.84 makes the link for a paid order
//! (one per order, asked again it is the same link), the driver opens it
//! (the resolver's type 17) and the red-packet service sends the gift, 6.85
//! reports the seed's states.

use super::providers;
use super::qr::{code_url, QrType};
use super::settings;
use crate::keys;
use crate::park::orders;
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{self, stamp, Money, RouteDef, Text};
use onecard_core::providers::RedPacketState;
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub auto_id: i64,
    pub order_no: String,
    pub amount: Fen,
    pub card_in_out_id: Option<String>,
    pub calc_id: Option<String>,
    pub controller_no: Option<String>,
    pub plate: Option<String>,
    pub state: RedPacketState,
    /// The link's secret part: a guessed order number alone opens nothing.
    pub rnd: String,
    pub url: String,
    pub url_created: NaiveDateTime,
    pub sent: Option<NaiveDateTime>,
    pub received: Option<NaiveDateTime>,
}

async fn get(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Option<(Envelope, u64)>> {
    Ok(match ctx.store().get(&keys::red_envelopes(branch), order_no).await? {
        Some(i) => Some((i.parse()?, i.version)),
        None => None,
    })
}

async fn put(ctx: &Ctx, branch: &str, e: &Envelope, cond: Cond, version: u64) -> onecard_core::store::StoreResult<()> {
    let body = serde_json::to_value(e).map_err(|x| onecard_core::store::StoreError::Invalid(x.to_string()))?;
    ctx.store().put(Item::new(keys::red_envelopes(branch), e.order_no.clone(), body).with_version(version), cond).await
}

/// 6.84 input.
#[derive(Deserialize, JsonSchema)]
pub struct UrlIn {
    #[serde(rename = "cardInOutId", alias = "cardInId")]
    pub card_in_out_id: Option<Text>,
    #[serde(rename = "calcId")]
    pub calc_id: Option<Text>,
    #[serde(rename = "controllerNo")]
    pub controller_no: Option<Text>,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Text>,
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    pub amount: Money,
}

#[derive(Serialize, JsonSchema)]
pub struct UrlOut {
    #[serde(rename = "redEnvelopeUrl")]
    pub url: String,
}

async fn url(ctx: Ctx, req: Req, input: UrlIn) -> ApiResult<UrlOut> {
    let b = req.branchno();
    let amount = input.amount.fen();
    if amount <= Fen::ZERO {
        return Err(ApiError::field("amount", "must be above 0.00"));
    }
    // WeChat's cash gifts range from 1 to 200 yuan.
    if amount > Fen(20_000) {
        return Err(ApiError::field("amount", format!("{amount} is over the 200.00 a red envelope may hold")));
    }
    providers::red_packets(&ctx).await?;
    let no = input.order_no.trim().to_string();
    let order = orders::get(&ctx, b, &no, false).await?.map(|(o, _)| o).ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist")))?;
    if let Some((e, _)) = get(&ctx, b, &no).await? {
        if e.amount != amount {
            return Err(ApiError::field("amount", format!("order {no} already has a red envelope of {}", e.amount)));
        }
        return Ok(UrlOut { url: e.url });
    }
    let s = settings::get(&ctx, b).await?;
    let rnd = uuid::Uuid::new_v4().simple().to_string()[..20].to_uppercase();
    let text = |t: &Option<Text>| t.as_deref().map(str::to_string).filter(|s| !s.is_empty());
    let e = Envelope {
        auto_id: crate::ids::next_id(&ctx, b, "redenvelope").await?,
        order_no: no.clone(),
        amount,
        card_in_out_id: text(&input.card_in_out_id).or(Some(order.card_in_id.clone())),
        calc_id: text(&input.calc_id),
        controller_no: text(&input.controller_no),
        plate: text(&input.plate).or(Some(order.plate.clone())),
        state: RedPacketState::UrlMade,
        url: code_url(&s, b, QrType::RedEnvelope, &[("k", &no), ("rnd", &rnd)]),
        rnd,
        url_created: req.now,
        sent: None,
        received: None,
    };
    match put(&ctx, b, &e, Cond::MustNotExist, 1).await {
        Ok(()) => Ok(UrlOut { url: e.url }),
        // Made meanwhile by a concurrent request: that one is the link.
        Err(x) if x.is_conflict() => Ok(UrlOut { url: get(&ctx, b, &no).await?.map(|(e, _)| e.url).unwrap_or_default() }),
        Err(x) => Err(x.into()),
    }
}

/// The driver opened the link (resolver type 17): the gift is sent once.
/// Answers the state reached.
pub async fn open(ctx: &Ctx, branch: &Branch, order_no: &str, rnd: Option<&str>, open_id: Option<&str>) -> ApiResult<i64> {
    let b = branch.branchno.as_str();
    let (mut e, v) = get(ctx, b, order_no).await?.ok_or_else(|| ApiError::bad_input(format!("order {order_no} has no red envelope")))?;
    if rnd != Some(e.rnd.as_str()) {
        return Err(ApiError::bad_input("this red-envelope link is not valid"));
    }
    if e.state != RedPacketState::UrlMade {
        return Ok(e.state.code());
    }
    let open_id = open_id.ok_or_else(|| ApiError::bad_input("open the link from WeChat (openid)"))?;
    let service = providers::red_packets(ctx).await?;
    let state = service.send(order_no, e.amount, open_id).await.map_err(providers::unreachable)?;
    e.state = state;
    e.sent = Some(onecard_core::time::to_local(ctx.clock.now(), &branch.tz));
    put(ctx, b, &e, Cond::VersionIs(v), v + 1).await?;
    Ok(state.code())
}

/// 6.85 input.
#[derive(Deserialize, JsonSchema)]
pub struct GetIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
}

#[derive(Serialize, JsonSchema)]
pub struct EnvelopeRow {
    #[serde(rename = "autoId")]
    pub auto_id: String,
    #[serde(rename = "cardInOutId")]
    pub card_in_out_id: String,
    #[serde(rename = "calcId")]
    pub calc_id: String,
    #[serde(rename = "controllerNo")]
    pub controller_no: String,
    #[serde(rename = "licensePlate")]
    pub plate: String,
    #[serde(rename = "orderNo")]
    pub order_no: String,
    pub amount: Money,
    /// 0 URL made, 1 issuing, 2 awaiting collection, 3 failed, 4 collected,
    /// 5 refunding, 6 refunded.
    pub status: String,
    #[serde(rename = "urlCreateDate")]
    pub url_created: String,
    #[serde(rename = "createDate")]
    pub created: String,
    #[serde(rename = "receiveDate")]
    pub received: String,
}

async fn status(ctx: Ctx, req: Req, input: GetIn) -> ApiResult<EnvelopeRow> {
    let b = req.branchno();
    let no = input.order_no.trim();
    let (mut e, v) = get(&ctx, b, no).await?.ok_or_else(|| ApiError::field("orderNo", format!("order {no} has no red envelope")))?;
    if matches!(e.state, RedPacketState::Issuing | RedPacketState::AwaitingCollection | RedPacketState::Refunding) {
        if let Ok(Some(now)) = providers::red_packets(&ctx).await?.query(no).await {
            if now != e.state {
                e.state = now;
                if now == RedPacketState::Collected {
                    e.received = Some(req.now);
                }
                put(&ctx, b, &e, Cond::VersionIs(v), v + 1).await?;
            }
        }
    }
    let t = |x: Option<NaiveDateTime>| x.map(stamp).unwrap_or_default();
    Ok(EnvelopeRow {
        auto_id: e.auto_id.to_string(),
        card_in_out_id: e.card_in_out_id.unwrap_or_default(),
        calc_id: e.calc_id.unwrap_or_default(),
        controller_no: e.controller_no.unwrap_or_default(),
        plate: e.plate.unwrap_or_default(),
        order_no: e.order_no,
        amount: Money(e.amount),
        status: e.state.code().to_string(),
        url_created: stamp(e.url_created),
        created: t(e.sent),
        received: t(e.received),
    })
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.redenvelope.url", url), kit::read("park.redenvelope.get", status)]
}
