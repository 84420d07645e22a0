//! Zhejiang University 浙大 smart canteen (11.28-11.29): a cashier deducts an
//! amount from an employee's canteen account, found by card or face
//! (`userId`) or by the employee's QR code. The accounts are the canteen's:
//! the cloud reaches them through the `Canteen` port, either the canteen's
//! HTTP API (the `zjdx` partner URL) or the local stand-in (`standin:`),
//! which keeps accounts in the store and refuses what the real one refuses
//! (unknown user, insufficient balance). Without either the routes answer
//! 501 (decision 21: no pretending to take money).

use super::settings;
use crate::keys;
use async_trait::async_trait;
use onecard_core::kit::{self, Decimal, Int, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PARTNER: &str = "zjdx";

/// Who pays: a card or face user, or a QR code.
#[derive(Clone, Debug, PartialEq)]
pub enum Payer {
    User { user_id: Option<String>, card_no: Option<String> },
    Qr(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub user_id: String,
    #[serde(default)]
    pub card_no: Option<String>,
    #[serde(default)]
    pub qr_code: Option<String>,
    pub user_name: String,
    #[serde(default)]
    pub employee_no: Option<String>,
    pub department_name: String,
    pub balance: Fen,
}

/// The canteen's accounts.
#[async_trait]
pub trait Canteen: Send + Sync {
    /// Deducts `amount`; answers the account after the deduction.
    async fn deduct(&self, payer: &Payer, amount: Fen, hall: &str) -> ApiResult<Account>;
}

/// The local stand-in: accounts in the store, one per user, found by user
/// id, card number or QR code.
pub struct StandIn<'a> {
    pub ctx: &'a Ctx,
    pub branch: &'a str,
}

impl StandIn<'_> {
    fn pk(&self) -> String {
        keys::partner_records(self.branch, PARTNER)
    }

    pub async fn put(&self, a: &Account) -> ApiResult<()> {
        super::common::put_record(self.ctx, self.branch, PARTNER, format!("account#{}", a.user_id), a, None).await
    }

    async fn find(&self, payer: &Payer) -> ApiResult<Option<(Account, u64)>> {
        let items = self.ctx.store.query_all(&onecard_core::store::Query::prefix(self.pk(), "account#")).await?;
        for i in items {
            let a: Account = i.parse()?;
            let hit = match payer {
                Payer::User { user_id: Some(u), .. } => &a.user_id == u,
                Payer::User { user_id: None, card_no: Some(c) } => a.card_no.as_deref() == Some(c.as_str()),
                Payer::User { user_id: None, card_no: None } => false,
                Payer::Qr(q) => a.qr_code.as_deref() == Some(q.as_str()),
            };
            if hit {
                return Ok(Some((a, i.version)));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Canteen for StandIn<'_> {
    async fn deduct(&self, payer: &Payer, amount: Fen, _hall: &str) -> ApiResult<Account> {
        retry::on_conflict("canteen deduction", || async move {
            let (mut a, v) = self.find(payer).await?.ok_or_else(|| ApiError::failed("用户不存在"))?;
            if a.balance < amount {
                return Err(ApiError::failed(format!("余额不足: {} 元", a.balance.yuan())));
            }
            a.balance = Fen(a.balance.0 - amount.0);
            let body = serde_json::to_value(&a).map_err(ApiError::system)?;
            let put = self.ctx.store.put(Item::new(self.pk(), format!("account#{}", a.user_id), body).with_version(v + 1), Cond::VersionIs(v)).await;
            Step::of(put, a)
        })
        .await
    }
}

/// The canteen's HTTP API: the request's fields as JSON to the configured
/// URL; an answer in 11.28's output shape (it mirrors that API).
pub struct Http<'a> {
    pub ctx: &'a Ctx,
    pub url: String,
}

#[async_trait]
impl Canteen for Http<'_> {
    async fn deduct(&self, payer: &Payer, amount: Fen, hall: &str) -> ApiResult<Account> {
        let mut body = json!({"diningHallId": hall, "price": amount.yuan()});
        match payer {
            Payer::User { user_id, card_no } => {
                body["userId"] = json!(user_id);
                body["cardNo"] = json!(card_no);
            }
            Payer::Qr(q) => body["QRcode"] = json!(q),
        }
        let a = self.ctx.http().post_json(&self.url, body.to_string()).await.map_err(|e| ApiError::failed(format!("canteen: {e}")))?;
        if a.status != 200 {
            return Err(ApiError::failed(format!("canteen answered HTTP {}", a.status)));
        }
        let v: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| ApiError::failed(format!("canteen answer is not JSON: {e}")))?;
        let money = |k: &str| v[k].as_f64().or_else(|| v[k].as_str().and_then(|s| s.parse().ok())).map(|y| Fen((y * 100.0).round() as i64));
        Ok(Account {
            user_id: v["userId"].as_str().unwrap_or_default().into(),
            card_no: v["cardNo"].as_str().map(Into::into),
            qr_code: v["QRcode"].as_str().map(Into::into),
            user_name: v["userName"].as_str().unwrap_or_default().into(),
            employee_no: v["employeeNo"].as_str().map(Into::into),
            department_name: v["departmentName"].as_str().unwrap_or_default().into(),
            balance: money("freeBalance").ok_or_else(|| ApiError::failed("canteen answer has no freeBalance"))?,
        })
    }
}

/// Deducts through whichever canteen the branch is configured with.
async fn deduct(ctx: &Ctx, branch: &str, payer: &Payer, amount: Fen, hall: &str) -> ApiResult<Account> {
    let s = settings::get_or_default(ctx.store(), branch, PARTNER).await?;
    match s.endpoint() {
        Some("standin:") => StandIn { ctx, branch }.deduct(payer, amount, hall).await,
        Some(url) => Http { ctx, url: url.to_string() }.deduct(payer, amount, hall).await,
        None => Err(ApiError::new(Code::NOT_BUILT, "no canteen is configured for this car park (onecard partners set --partner zjdx --url ...)")),
    }
}

fn price(d: Decimal) -> ApiResult<Fen> {
    let f = super::common::fen_of_yuan("price", d.0)?;
    if f.0 == 0 {
        return Err(ApiError::field("price", "must be more than 0"));
    }
    Ok(f)
}

#[derive(Deserialize, JsonSchema)]
pub struct UserPayIn {
    #[serde(rename = "userId")]
    pub user_id: Option<Text>,
    #[serde(rename = "cardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "diningHallId")]
    pub hall: Text,
    #[serde(rename = "cashierId")]
    pub cashier: Option<Text>,
    #[serde(rename = "deviceNo")]
    pub device: Option<Text>,
    pub price: Decimal,
    /// Milliseconds; the system time when absent.
    #[serde(rename = "payTime")]
    pub pay_time: Option<Int>,
    /// 1 card, 2 face.
    #[serde(rename = "payType")]
    pub pay_type: Int,
}

#[derive(Serialize, JsonSchema)]
pub struct UserPayOut {
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "cardNo")]
    pub card_no: Option<String>,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "employeeNo")]
    pub employee_no: Option<String>,
    #[serde(rename = "departmentName")]
    pub department_name: String,
    #[serde(rename = "realityPayAmount")]
    pub paid: f64,
    #[serde(rename = "freeBalance")]
    pub balance: f64,
}

async fn user_pay(ctx: Ctx, req: Req, input: UserPayIn) -> ApiResult<UserPayOut> {
    let amount = price(input.price)?;
    let user_id = input.user_id.map(String::from);
    let card_no = input.card_no.map(String::from);
    match input.pay_type.get() {
        1 if user_id.is_none() && card_no.is_none() => return Err(ApiError::field("cardNo", "a card payment needs cardNo or userId")),
        2 if user_id.is_none() => return Err(ApiError::field("userId", "is required for a face payment (payType 2)")),
        1 | 2 => {}
        n => return Err(ApiError::field("payType", format!("{n} is not 1 (card) or 2 (face)"))),
    }
    let a = deduct(&ctx, req.branchno(), &Payer::User { user_id, card_no }, amount, input.hall.as_str()).await?;
    Ok(UserPayOut {
        user_id: a.user_id,
        card_no: a.card_no,
        user_name: a.user_name,
        employee_no: a.employee_no,
        department_name: a.department_name,
        paid: super::common::yuan_number(amount),
        balance: super::common::yuan_number(a.balance),
    })
}

#[derive(Deserialize, JsonSchema)]
pub struct QrPayIn {
    #[serde(rename = "QRcode", alias = "qrcode", alias = "qrCode")]
    pub qr: Text,
    #[serde(rename = "diningHallId")]
    pub hall: Text,
    #[serde(rename = "cashierId")]
    pub cashier: Option<Text>,
    pub price: Decimal,
    #[serde(rename = "payTime")]
    pub pay_time: Option<Int>,
}

/// 11.29 output: the table's `QRcode` (the printed example copies 11.28's
/// `userId`; both are answered).
#[derive(Serialize, JsonSchema)]
pub struct QrPayOut {
    #[serde(rename = "QRcode")]
    pub qr: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "employeeNo")]
    pub employee_no: Option<String>,
    #[serde(rename = "departmentName")]
    pub department_name: String,
    #[serde(rename = "realityPayAmount")]
    pub paid: f64,
    #[serde(rename = "freeBalance")]
    pub balance: f64,
}

async fn qr_pay(ctx: Ctx, req: Req, input: QrPayIn) -> ApiResult<QrPayOut> {
    let amount = price(input.price)?;
    let qr = input.qr.to_string();
    let a = deduct(&ctx, req.branchno(), &Payer::Qr(qr.clone()), amount, input.hall.as_str()).await?;
    Ok(QrPayOut {
        qr,
        user_id: a.user_id,
        user_name: a.user_name,
        employee_no: a.employee_no,
        department_name: a.department_name,
        paid: super::common::yuan_number(amount),
        balance: super::common::yuan_number(a.balance),
    })
}

/// Demo: the stand-in canteen with the seed's example employee (userId
/// 131475, QR code 131475) and 10,000 yuan.
pub async fn seed_demo(ctx: &Ctx, branch: &str) -> ApiResult<()> {
    if settings::get(ctx.store(), branch, PARTNER).await?.is_some() {
        return Ok(());
    }
    let mut s = settings::PartnerSettings::new(PARTNER, branch);
    s.url = Some("standin:".into());
    settings::put(ctx.store(), &s).await?;
    let a = Account {
        user_id: "131475".into(),
        card_no: Some("0001314750".into()),
        qr_code: Some("131475".into()),
        user_name: "张三".into(),
        employee_no: None,
        department_name: "软件部".into(),
        balance: Fen(999_900),
    };
    StandIn { ctx, branch }.put(&a).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("zjdx.userPricePay", user_pay), kit::write("zjdx.userQRCodePay", qr_pay)]
}
