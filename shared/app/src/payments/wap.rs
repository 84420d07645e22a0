//! Alipay mobile-website pay: 10.5 makes the pay page, 10.6 is where the
//! browser comes back (answered by a redirect to the configured page), 10.7
//! is the provider's server notification (form POST, signature checked,
//! booked once through the 6.2 commit, answered `success`).
//!
//! Decision 22: a repeated notification of one trade answers `success` again
//! and books nothing; the same trade with another amount answers `fail`.
//! Anything but `success` makes the provider notify again later, so only a
//! notification that was understood and booked (or was a repeat) gets it.

use super::collect::{self, ALIPAY};
use super::providers;
use super::qr::with_params;
use super::settings;
use super::settle::{self, Booked};
use super::trades::{self, TradeKind, TradeStatus};
use crate::park::orders;
use onecard_core::kit::{self, Int, OrderStatus, RouteDef, Text};
use onecard_core::providers::{Channel, Charge, TradeState};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 10.5 input.
#[derive(Deserialize, JsonSchema)]
pub struct WapIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    /// 0 this system, 1 a third-party system.
    #[serde(rename = "payRequestSource")]
    pub source: Int,
    #[serde(rename = "callbackUrl")]
    pub callback_url: Option<Text>,
    #[serde(rename = "notifyUrl")]
    pub notify_url: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct WapOut {
    #[serde(rename = "payPage")]
    pub pay_page: String,
}

fn http_url(field: &str, v: Option<&Text>) -> ApiResult<Option<String>> {
    match v.map(|t| t.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(u)),
        Some(u) => Err(ApiError::field(field, format!("'{u}' is not an http(s) URL"))),
        None => Ok(None),
    }
}

/// How the payer is sent to the provider.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// 10.5: an HTML form that submits itself.
    Page,
    /// 6.15: a link.
    Link,
}

/// The page (or link) the payer's browser loads for `order_no`; the order's
/// open WAP trade is reused, so paying from two tabs is one trade.
pub async fn page_for(ctx: &Ctx, req: &Req, order_no: &str, return_url: Option<String>, notify_url: Option<String>, form: Form) -> ApiResult<(String, String)> {
    let b = req.branchno();
    let order = collect::order_to_collect(ctx, &req.branch, Some(order_no), None, req.now).await?;
    if order.zero {
        return Err(ApiError::field("orderNo", format!("order {order_no} is for 0.00: nothing to pay online")));
    }
    let provider = providers::pay(ctx, &req.branch).await?;
    let s = settings::get(ctx, b).await?;
    let t = trades::open_or_reuse(ctx, b, &order.order_no, false, TradeKind::Wap, order.parkcost, ALIPAY.0).await?;
    let base = s.public_base.trim_end_matches('/');
    let return_url = return_url.unwrap_or_else(|| with_params(&format!("{base}/alipay.wappay.aspx/callback"), &[("branchno", b)]));
    let notify_url = notify_url.unwrap_or_else(|| with_params(&format!("{base}/alipay.wappay.aspx/notify"), &[("branchno", b)]));
    let what = if order.booking_no.is_some() { "预约费" } else { "停车费" };
    let charge = Charge { out_trade_no: t.out_trade_no.clone(), amount: order.parkcost, subject: format!("{what} {}", order.plate), channel: Channel::Alipay };
    let page = match form {
        Form::Page => provider.wap_page(&charge, &return_url, &notify_url).await,
        Form::Link => provider.wap_link(&charge, &return_url, &notify_url).await,
    }
    .map_err(providers::unreachable)?;
    Ok((page, t.out_trade_no))
}

async fn wappay(ctx: Ctx, req: Req, input: WapIn) -> ApiResult<WapOut> {
    if !(0..=1).contains(&input.source.get()) {
        return Err(ApiError::field("payRequestSource", format!("{} is not 0 (own system) or 1 (third party)", input.source.get())));
    }
    let (ret, notify) = (http_url("callbackUrl", input.callback_url.as_ref())?, http_url("notifyUrl", input.notify_url.as_ref())?);
    let (pay_page, _) = page_for(&ctx, &req, input.order_no.trim(), ret, notify, Form::Page).await?;
    Ok(WapOut { pay_page })
}

/// What the provider sends 10.6 and 10.7: the signed form, kept whole because
/// the signature covers every field.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ProviderForm(pub BTreeMap<String, String>);

impl ProviderForm {
    /// The signed fields: all but the `branchno` the cloud put in its own URL.
    fn signed(&self) -> BTreeMap<String, String> {
        self.0.iter().filter(|(k, _)| k.as_str() != "branchno").map(|(k, v)| (k.clone(), v.clone())).collect()
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// 10.6: the browser's return. Answers the final page's URL (the pipeline
/// redirects there): `orderno`, `tradenno`, `status` 1/0, `areaID`, `msg`.
async fn callback(ctx: Ctx, req: Req, form: ProviderForm) -> ApiResult<String> {
    let s = settings::get(&ctx, req.branchno()).await?;
    let out = form.get("out_trade_no").unwrap_or_default().to_string();
    let order_no = trades::order_of(&out).unwrap_or(&out).to_string();
    let trade_no = form.get("trade_no").unwrap_or_default().to_string();
    let page = |ok: bool, msg: Option<&str>, area: &str| {
        let status = if ok { "1" } else { "0" };
        let mut p = vec![("orderno", order_no.as_str()), ("tradenno", trade_no.as_str()), ("status", status), ("areaID", area)];
        if let Some(m) = msg {
            p.push(("msg", m));
        }
        with_params(&s.pay_back_url, &p)
    };
    let provider = providers::pay(&ctx, &req.branch).await?;
    if !provider.verify(&form.signed()) {
        return Ok(page(false, Some("签名错误"), ""));
    }
    // The return may come before the notification: ask the provider, and
    // book a paid trade here rather than show the payer a failure.
    if let Some((mut t, _)) = trades::get(&ctx, req.branchno(), &out).await? {
        if t.status == TradeStatus::Sent {
            if let Ok(TradeState::Paid { trade_no, paid_at, amount }) = provider.query(&out).await {
                let _ = settle::paid(&ctx, &req.branch, &*provider, &mut t, &trade_no, &paid_at, amount, None, req.now).await;
            }
        }
    }
    let order = orders::get(&ctx, req.branchno(), &order_no, false).await?.map(|(o, _)| o);
    let area = match &order {
        Some(o) => crate::park::stays::get(&ctx, req.branchno(), &o.card_in_id).await?.map(|(st, _)| st.area).unwrap_or_default(),
        None => String::new(),
    };
    Ok(match order {
        Some(o) if o.status == OrderStatus::Paid => page(true, None, &area),
        _ => page(false, Some("订单不存在或未支付成功"), &area),
    })
}

const SUCCESS: &str = "success";
const FAIL: &str = "fail";

/// 10.7: the provider's notification.
async fn notify(ctx: Ctx, req: Req, form: ProviderForm) -> ApiResult<String> {
    let provider = providers::pay(&ctx, &req.branch).await?;
    if !provider.verify(&form.signed()) {
        return Err(ApiError::auth("the notification's signature does not verify"));
    }
    let out = form.get("out_trade_no").ok_or_else(|| ApiError::field("out_trade_no", "is required"))?;
    let Some((mut t, _)) = trades::get(&ctx, req.branchno(), out).await? else {
        return Err(ApiError::field("out_trade_no", format!("{out} is not a trade of car park {}", req.branchno())));
    };
    let amount = form.get("total_amount").and_then(Fen::parse_yuan).ok_or_else(|| ApiError::field("total_amount", "is not an amount in yuan"))?;
    match form.get("trade_status") {
        Some("TRADE_SUCCESS") | Some("TRADE_FINISHED") => {}
        Some("TRADE_CLOSED") => {
            if t.status == TradeStatus::Sent {
                t.status = TradeStatus::Failed;
                t.reason = Some("closed by the provider".into());
                trades::set(&ctx, req.branchno(), &t).await?;
            }
            return Ok(SUCCESS.into());
        }
        // WAIT_BUYER_PAY and the like: nothing to book yet.
        _ => return Ok(SUCCESS.into()),
    }
    if amount != t.amount {
        tracing::warn!(trade = out, %amount, expected = %t.amount, "notification with another amount refused");
        return Ok(FAIL.into());
    }
    let trade_no = form.get("trade_no").ok_or_else(|| ApiError::field("trade_no", "is required"))?.to_string();
    let paid_at = form.get("gmt_payment").unwrap_or_default().to_string();
    match settle::paid(&ctx, &req.branch, &*provider, &mut t, &trade_no, &paid_at, amount, None, req.now).await {
        Ok(Booked::Now(_)) | Ok(Booked::Before(_)) => Ok(SUCCESS.into()),
        // Refunded: the provider need not tell us again.
        Err(e) if e.code == Code::DUPLICATE || e.code == Code::ORDER_EXPIRED => Ok(SUCCESS.into()),
        Err(e) => Err(e),
    }
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("alipay.wappay", wappay), kit::write("alipay.wappay.aspx/callback", callback), kit::write("alipay.wappay.aspx/notify", notify)]
}
