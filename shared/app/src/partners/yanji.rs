//! Yanji Bailicheng 延吉百利城 (11.38-11.39): the mall's CRM reduces a car's
//! parking fee for its members (member discount, coupons, account balance,
//! points). The lane system asks what the CRM grants for a 6.1 order (11.38),
//! then has it performed (11.39); the reduction then settles that part of the
//! order in the 6.2 transaction, named as a waiver (`free_type`), and the car
//! pays what remains (`decUnPayMoney`) through the usual channels.
//!
//! The CRM is a port: the mall's HTTP API (the `yanji` partner URL, which
//! gets 11.38's and 11.39's fields as JSON) or the local stand-in
//! (`standin:`), whose members live in the store. A query holds for five
//! minutes after `dtNow`, as the seed says.

use super::common::{self, first_answer, keep_answer};
use super::settings;
use crate::keys;
use crate::park::orders;
use crate::park::payments::{commit_payment, Payment, Target};
use async_trait::async_trait;
use chrono::{Duration, NaiveDateTime};
use onecard_core::kit::{self, CredentialType, DateTime, Decimal, Int, OrderStatus, PayType, Plate, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PARTNER: &str = "yanji";
const HOLD_MINUTES: i64 = 5;

/// A member of the mall, as the stand-in keeps them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub plate: String,
    pub customer_no: String,
    pub tele: String,
    pub card_no: String,
    pub name: String,
    /// Percent off the parking fee.
    pub discount_pct: i64,
    /// Coupons (code, value), used in this order.
    pub coupons: Vec<(String, Fen)>,
    pub account: Fen,
    pub score: i64,
    /// Points worth one yuan.
    pub points_per_yuan: i64,
}

/// What the CRM grants for a fee; every amount in fen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reduction {
    /// The car the reduction is for.
    #[serde(default)]
    pub plate: String,
    pub customer_no: String,
    pub tele: String,
    pub card_no: String,
    pub customer_name: String,
    pub pay: i64,
    pub discount: i64,
    pub coupons: Vec<String>,
    pub coupon_money: i64,
    pub account_money: i64,
    pub score: i64,
    pub score_money: i64,
    pub unpaid: i64,
}

impl Reduction {
    /// All the CRM takes off the fee.
    pub fn total(&self) -> i64 {
        self.discount + self.coupon_money + self.account_money + self.score_money
    }
}

/// The member's reduction of `pay`: discount, then coupons, account, points.
pub fn reduce(m: &Member, pay: Fen) -> Reduction {
    let discount = pay.0 * m.discount_pct.clamp(0, 100) / 100;
    let mut rest = pay.0 - discount;
    let (mut coupons, mut coupon_money) = (Vec::new(), 0);
    for (code, value) in &m.coupons {
        if rest == 0 {
            break;
        }
        let used = value.0.min(rest);
        coupons.push(code.clone());
        coupon_money += used;
        rest -= used;
    }
    let account_money = m.account.0.min(rest).max(0);
    rest -= account_money;
    let per_yuan = m.points_per_yuan.max(1);
    // Points go in whole yuan-worths only, never past what is left.
    let score = (rest / 100 * per_yuan).min(m.score / per_yuan * per_yuan).max(0);
    let score_money = score / per_yuan * 100;
    rest -= score_money;
    Reduction {
        plate: m.plate.clone(),
        customer_no: m.customer_no.clone(),
        tele: m.tele.clone(),
        card_no: m.card_no.clone(),
        customer_name: m.name.clone(),
        pay: pay.0,
        discount,
        coupons,
        coupon_money,
        account_money,
        score,
        score_money,
        unpaid: rest,
    }
}

/// What the CRM answers once it performed a reduction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Performed {
    pub remain_account: i64,
    pub remain_score: i64,
    pub indent_no: String,
}

#[async_trait]
pub trait Crm: Send + Sync {
    async fn query(&self, order_no: &str, plate: &str, entered: NaiveDateTime, pay: Fen, minutes: i64) -> ApiResult<Reduction>;
    async fn perform(&self, order_no: &str, r: &Reduction) -> ApiResult<Performed>;
}

/// The stand-in CRM: members by plate in the store.
pub struct StandIn<'a> {
    pub ctx: &'a Ctx,
    pub branch: &'a str,
}

impl StandIn<'_> {
    fn pk(&self) -> String {
        keys::partner_records(self.branch, PARTNER)
    }
    pub async fn put(&self, m: &Member) -> ApiResult<()> {
        super::common::put_record(self.ctx, self.branch, PARTNER, format!("member#{}", m.plate), m, None).await
    }
}

#[async_trait]
impl Crm for StandIn<'_> {
    async fn query(&self, _order_no: &str, plate: &str, _entered: NaiveDateTime, pay: Fen, _minutes: i64) -> ApiResult<Reduction> {
        Ok(match self.ctx.store.get(&self.pk(), &format!("member#{plate}")).await? {
            Some(i) => reduce(&i.parse()?, pay),
            // Not a member: nothing off, member fields empty.
            None => Reduction { plate: plate.to_string(), pay: pay.0, unpaid: pay.0, ..Reduction::default() },
        })
    }

    async fn perform(&self, order_no: &str, r: &Reduction) -> ApiResult<Performed> {
        if r.customer_no.is_empty() {
            return Ok(Performed { remain_account: 0, remain_score: 0, indent_no: format!("NM{order_no}") });
        }
        retry::on_conflict("CRM reduction", || async move {
            let Some(item) = self.ctx.store.get(&self.pk(), &format!("member#{}", r.plate)).await? else {
                return Err(ApiError::failed("会员不存在"));
            };
            let mut m: Member = item.parse()?;
            if m.account.0 < r.account_money || m.score < r.score || r.coupons.iter().any(|c| !m.coupons.iter().any(|(code, _)| code == c)) {
                return Err(ApiError::failed("会员余额、积分或优惠券已变化，请重新查询"));
            }
            m.account = Fen(m.account.0 - r.account_money);
            m.score -= r.score;
            m.coupons.retain(|(code, _)| !r.coupons.contains(code));
            let body = serde_json::to_value(&m).map_err(ApiError::system)?;
            let put = self.ctx.store.put(Item::new(self.pk(), item.sk.clone(), body).with_version(item.version + 1), Cond::VersionIs(item.version)).await;
            Step::of(put, Performed { remain_account: m.account.0, remain_score: m.score, indent_no: format!("YJ{order_no}") })
        })
        .await
    }
}

/// The mall's HTTP CRM: `{url}/parkchargequery` and `{url}/parkchargeperform`
/// with the seed's field names, answered in the seed's output shape.
pub struct Http<'a> {
    pub ctx: &'a Ctx,
    pub url: String,
}

fn fen_of(v: &serde_json::Value, k: &str) -> i64 {
    let y = v[k].as_f64().or_else(|| v[k].as_str().and_then(|s| s.parse().ok())).unwrap_or(0.0);
    (y * 100.0).round() as i64
}

impl Http<'_> {
    async fn post(&self, path: &str, body: serde_json::Value) -> ApiResult<serde_json::Value> {
        let url = format!("{}/{path}", self.url.trim_end_matches('/'));
        let a = self.ctx.http().post_json(&url, body.to_string()).await.map_err(|e| ApiError::failed(format!("CRM: {e}")))?;
        if a.status != 200 {
            return Err(ApiError::failed(format!("CRM answered HTTP {}", a.status)));
        }
        serde_json::from_slice(&a.body).map_err(|e| ApiError::failed(format!("CRM answer is not JSON: {e}")))
    }
}

#[async_trait]
impl Crm for Http<'_> {
    async fn query(&self, order_no: &str, plate: &str, entered: NaiveDateTime, pay: Fen, minutes: i64) -> ApiResult<Reduction> {
        let v = self
            .post("parkchargequery", json!({"strOrderNo": order_no, "strCarNo": plate, "strEnterTime": kit::stamp(entered), "decPay": common::yuan_number(pay), "intElapsedTime": minutes}))
            .await?;
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(Reduction {
            plate: plate.to_string(),
            customer_no: text("strCustomerNo"),
            tele: text("strTele"),
            card_no: text("strCardNo"),
            customer_name: text("strCustomerName"),
            pay: pay.0,
            discount: fen_of(&v, "decDisMoney"),
            coupons: text("strCoupon").split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            coupon_money: fen_of(&v, "decCouponMoney"),
            account_money: fen_of(&v, "decAccountMoney"),
            score: fen_of(&v, "decScore") / 100,
            score_money: fen_of(&v, "decScoreMoney"),
            unpaid: fen_of(&v, "decUnPayMoney"),
        })
    }

    async fn perform(&self, order_no: &str, _r: &Reduction) -> ApiResult<Performed> {
        let v = self.post("parkchargeperform", json!({"strOrderNo": order_no})).await?;
        Ok(Performed {
            remain_account: fen_of(&v, "decRemainAccount"),
            remain_score: fen_of(&v, "decRemainScore") / 100,
            indent_no: v["strIndentNo"].as_str().unwrap_or_default().to_string(),
        })
    }
}

async fn with_crm<T>(ctx: &Ctx, branch: &str, f: impl for<'a> FnOnce(&'a dyn Crm) -> futures::future::BoxFuture<'a, ApiResult<T>>) -> ApiResult<T> {
    let s = settings::get_or_default(ctx.store(), branch, PARTNER).await?;
    match s.endpoint() {
        Some("standin:") => f(&StandIn { ctx, branch }).await,
        Some(url) => f(&Http { ctx, url: url.to_string() }).await,
        None => Err(ApiError::new(Code::NOT_BUILT, "no mall CRM is configured for this car park (onecard partners set --partner yanji --url ...)")),
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct QueryIn {
    #[serde(rename = "strOrderNo")]
    pub order_no: Text,
    #[serde(rename = "strCarNo")]
    pub car: Plate,
    #[serde(rename = "strEnterTime")]
    pub entered: DateTime,
    #[serde(rename = "decPay")]
    pub pay: Decimal,
    #[serde(rename = "intElapsedTime")]
    pub minutes: Int,
}

/// 11.38 output (Decimal fields typed, as the section's table gives types).
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct QueryOut {
    #[serde(rename = "strCustomerNo")]
    pub customer_no: String,
    #[serde(rename = "strTele")]
    pub tele: String,
    #[serde(rename = "strCardNo")]
    pub card_no: String,
    #[serde(rename = "strCustomerName")]
    pub customer_name: String,
    #[serde(rename = "decPayMoney")]
    pub pay: f64,
    #[serde(rename = "decDisMoney")]
    pub discount: f64,
    #[serde(rename = "strCoupon")]
    pub coupon: String,
    #[serde(rename = "decCouponMoney")]
    pub coupon_money: f64,
    #[serde(rename = "decAccountMoney")]
    pub account_money: f64,
    #[serde(rename = "decScore")]
    pub score: f64,
    #[serde(rename = "decScoreMoney")]
    pub score_money: f64,
    #[serde(rename = "decUnPayMoney")]
    pub unpaid: f64,
    #[serde(rename = "dtNow")]
    pub now: String,
}

#[derive(Serialize, Deserialize)]
struct Held {
    plate: String,
    reduction: Reduction,
    at: String,
}

/// The 6.1 order the lane names, unpaid and for this fee.
async fn order_of(ctx: &Ctx, req: &Req, order_no: &str) -> ApiResult<orders::Order> {
    let (o, _) = orders::get(ctx, req.branchno(), order_no, false).await?.ok_or_else(|| ApiError::field("strOrderNo", format!("{order_no} is not an order of 6.1")))?;
    match o.status_at(req.now) {
        OrderStatus::Unpaid => Ok(o),
        OrderStatus::Paid => Err(ApiError::new(Code::DUPLICATE, format!("order {order_no} is already paid"))),
        OrderStatus::Cancelled => Err(ApiError::new(Code::ORDER_EXPIRED, format!("order {order_no} has expired; calculate the fee again"))),
    }
}

async fn query(ctx: Ctx, req: Req, input: QueryIn) -> ApiResult<QueryOut> {
    let b = req.branchno();
    let no = input.order_no.to_string();
    let pay = common::fen_of_yuan("decPay", input.pay.0)?;
    let o = order_of(&ctx, &req, &no).await?;
    if o.parkcost != pay {
        return Err(ApiError::field("decPay", format!("is {} but order {no} is for {}", pay.yuan(), o.parkcost.yuan())));
    }
    let plate = input.car.norm().to_string();
    let (p2, entered, minutes) = (plate.clone(), input.entered.get(), input.minutes.get());
    let r = with_crm(&ctx, b, |crm| Box::pin(async move { crm.query(&no, &p2, entered, pay, minutes).await })).await?;
    let out = answer(&r, req.now);
    let held = Held { plate, reduction: r, at: kit::stamp(req.now) };
    super::common::put_record(&ctx, b, PARTNER, format!("query#{}", input.order_no.as_str()), &held, None).await?;
    Ok(out)
}

fn answer(r: &Reduction, now: NaiveDateTime) -> QueryOut {
    let y = |f: i64| common::yuan_number(Fen(f));
    QueryOut {
        customer_no: r.customer_no.clone(),
        tele: r.tele.clone(),
        card_no: r.card_no.clone(),
        customer_name: r.customer_name.clone(),
        pay: y(r.pay),
        discount: y(r.discount),
        coupon: r.coupons.join(","),
        coupon_money: y(r.coupon_money),
        account_money: y(r.account_money),
        score: r.score as f64,
        score_money: y(r.score_money),
        unpaid: y(r.unpaid),
        now: kit::stamp(now),
    }
}

#[derive(Deserialize, JsonSchema)]
pub struct PerformIn {
    #[serde(rename = "strOrderNo")]
    pub order_no: Text,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct PerformOut {
    #[serde(rename = "strCustomerNo")]
    pub customer_no: String,
    #[serde(rename = "strTele")]
    pub tele: String,
    #[serde(rename = "strCardNo")]
    pub card_no: String,
    #[serde(rename = "strCustomerName")]
    pub customer_name: String,
    #[serde(rename = "decPayMoney")]
    pub pay: f64,
    #[serde(rename = "decDisMoney")]
    pub discount: f64,
    #[serde(rename = "strCoupon")]
    pub coupon: String,
    #[serde(rename = "decCouponMoney")]
    pub coupon_money: f64,
    #[serde(rename = "decAccountMoney")]
    pub account_money: f64,
    #[serde(rename = "decRemainAccount")]
    pub remain_account: f64,
    #[serde(rename = "decScore")]
    pub score: f64,
    #[serde(rename = "decScoreMoney")]
    pub score_money: f64,
    #[serde(rename = "decRemainScore")]
    pub remain_score: f64,
    #[serde(rename = "strIndentNo")]
    pub indent_no: String,
}

async fn perform(ctx: Ctx, req: Req, input: PerformIn) -> ApiResult<PerformOut> {
    let b = req.branchno();
    let no = input.order_no.to_string();
    let held: Held = ctx
        .store
        .get(&keys::partner_records(b, PARTNER), &format!("query#{no}"))
        .await?
        .ok_or_else(|| ApiError::field("strOrderNo", format!("no reduction was queried for {no} (11.38 first)")))?
        .parse()?;
    let r = held.reduction.clone();
    if let Some(first) = first_answer(&ctx, b, PARTNER, &no, Fen(r.total()), "strOrderNo").await? {
        return Ok(first);
    }
    if onecard_core::time::parse(&held.at).is_some_and(|at| req.now > at + Duration::minutes(HOLD_MINUTES)) {
        return Err(ApiError::new(Code::ORDER_EXPIRED, format!("the reduction of {no} was queried more than {HOLD_MINUTES} minutes ago; query again")));
    }
    let o = order_of(&ctx, &req, &no).await?;
    let (no2, r2) = (no.clone(), r.clone());
    let done = with_crm(&ctx, b, |crm| Box::pin(async move { crm.perform(&no2, &r2).await })).await?;
    let total = Fen(r.total());
    if total > Fen::ZERO {
        // What the CRM took off settles that part of the order; the car owes
        // the rest (a partial settlement) unless nothing is left.
        let p = Payment {
            ctype: CredentialType::Plate,
            credential: o.plate.clone(),
            target: Target::Order(o.order_no.clone()),
            parkcost: o.parkcost,
            amount: total.min(o.parkcost),
            pay_type: PayType::THIRD_PARTY,
            partial: r.unpaid > 0,
            free_type: Some("延吉百利城会员减免".into()),
            trade_no: Some(format!("{PARTNER}:{no}")),
            trade_time: Some(kit::stamp(req.now)),
            ws_no: None,
            oper_id: Some(done.indent_no.clone()),
        };
        if let Err(e) = commit_payment(&ctx, &req.branch, &p, req.now).await {
            if !common::is_duplicate(&e) {
                tracing::error!(branch = b, order = %no, error = %e.message, "the CRM performed a reduction the 6.2 commit refused");
                return Err(e);
            }
        }
    }
    let y = |f: i64| common::yuan_number(Fen(f));
    let out = PerformOut {
        customer_no: r.customer_no.clone(),
        tele: r.tele.clone(),
        card_no: r.card_no.clone(),
        customer_name: r.customer_name.clone(),
        pay: y(r.pay),
        discount: y(r.discount),
        coupon: r.coupons.join(","),
        coupon_money: y(r.coupon_money),
        account_money: y(r.account_money),
        remain_account: y(done.remain_account),
        score: r.score as f64,
        score_money: y(r.score_money),
        remain_score: done.remain_score as f64,
        indent_no: done.indent_no,
    };
    keep_answer(&ctx, b, PARTNER, &no, total, &out).await?;
    Ok(out)
}

/// Demo: the stand-in CRM with one member, 粤B00001.
pub async fn seed_demo(ctx: &Ctx, branch: &str) -> ApiResult<()> {
    if settings::get(ctx.store(), branch, PARTNER).await?.is_some() {
        return Ok(());
    }
    let mut s = settings::PartnerSettings::new(PARTNER, branch);
    s.url = Some("standin:".into());
    settings::put(ctx.store(), &s).await?;
    let m = Member {
        plate: "粤B00001".into(),
        customer_no: "M0001".into(),
        tele: "13800000001".into(),
        card_no: "VIP0001".into(),
        name: "李四".into(),
        discount_pct: 10,
        coupons: vec![("Q100".into(), Fen(200))],
        account: Fen(500),
        score: 300,
        points_per_yuan: 100,
    };
    StandIn { ctx, branch }.put(&m).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("yanjibailicheng.parkchargequery", query), kit::write("yanjibailicheng.parkchargeperform", perform)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Member {
        Member {
            plate: "粤B1".into(),
            customer_no: "M1".into(),
            tele: String::new(),
            card_no: "C1".into(),
            name: "x".into(),
            discount_pct: 10,
            coupons: vec![("A".into(), Fen(200)), ("B".into(), Fen(300))],
            account: Fen(150),
            score: 250,
            points_per_yuan: 100,
        }
    }

    #[test]
    fn reductions_apply_discount_coupons_account_then_points() {
        let r = reduce(&member(), Fen(1000));
        assert_eq!(r.discount, 100);
        assert_eq!((r.coupons.clone(), r.coupon_money), (vec!["A".to_string(), "B".to_string()], 500));
        assert_eq!(r.account_money, 150);
        // 250 fen left: two whole yuan of points (200 points), 50 fen unpaid.
        assert_eq!((r.score, r.score_money, r.unpaid), (200, 200, 50));
        assert_eq!(r.total() + r.unpaid, 1000);
    }

    #[test]
    fn a_small_fee_uses_only_what_it_needs() {
        let r = reduce(&member(), Fen(100));
        assert_eq!((r.discount, r.coupon_money, r.account_money, r.score, r.unpaid), (10, 90, 0, 0, 0));
        assert_eq!(r.coupons, vec!["A".to_string()]);
    }
}
