//! 6.46 login, 6.47 password change, 6.48 merchants, 6.49 consumption points,
//! 6.52 unlock.

use super::model::{self, Merchant, LOCK_AFTER};
use super::{password, points};
use crate::discounts::kinds::positive;
use chrono::NaiveDateTime;
use onecard_core::kit::{self, Int, Null, Page, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A 6.48 row (6.46 answers one).
#[derive(Serialize, JsonSchema)]
pub struct MerchantRow {
    #[serde(rename = "businessID")]
    pub business_id: String,
    #[serde(rename = "businessName")]
    pub business_name: String,
    #[serde(rename = "discountAmountBalance")]
    pub amount_balance: String,
    #[serde(rename = "discountTimeBalance")]
    pub time_balance: String,
    #[serde(rename = "allowSetFreePeriodOnDiscount")]
    pub allow_free_period: String,
    pub remark: String,
    #[serde(rename = "createOperID")]
    pub create_oper: String,
    #[serde(rename = "createDate")]
    pub create_date: String,
    #[serde(rename = "updateOperID")]
    pub update_oper: String,
    #[serde(rename = "updateDate")]
    pub update_date: String,
}

fn stamp(t: Option<NaiveDateTime>) -> String {
    t.map(onecard_core::time::format).unwrap_or_default()
}

impl From<&Merchant> for MerchantRow {
    fn from(m: &Merchant) -> MerchantRow {
        MerchantRow {
            business_id: m.id.to_string(),
            business_name: m.name.clone(),
            amount_balance: m.amount_balance.yuan(),
            time_balance: m.time_balance.to_string(),
            allow_free_period: if m.allow_free_period { "True" } else { "False" }.into(),
            remark: m.remark.clone(),
            create_oper: m.create_oper.clone(),
            create_date: stamp(m.create_date),
            update_oper: m.update_oper.clone(),
            update_date: stamp(m.update_date),
        }
    }
}

/// 6.46 input.
#[derive(Deserialize, JsonSchema)]
pub struct LoginIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Int,
    pub password: Text,
}

fn locked(id: i64) -> ApiError {
    ApiError::failed(format!("merchant {id} is locked after {LOCK_AFTER} failed logins; unlock it (6.52) first"))
}

/// Checks a password against the merchant's hash, counting failures: the
/// third in a row locks the account. The hash is checked before the write,
/// so a race of wrong passwords counts every one of them.
async fn check_password(ctx: &Ctx, branch: &str, id: i64, given: &str, field: &str) -> ApiResult<Merchant> {
    let (m, _) = model::must_get(ctx, branch, id).await?;
    if m.locked {
        return Err(locked(id));
    }
    let ok = !m.password_hash.is_empty() && password::verify(given, &m.password_hash);
    on_conflict("login not recorded", || async {
        let (mut m, v) = model::must_get(ctx, branch, id).await?;
        if m.locked {
            return Err(locked(id));
        }
        if ok {
            if m.failures == 0 {
                return Ok(Step::Done(Ok(m)));
            }
            m.failures = 0;
            let done = m.clone();
            return Step::of(ctx.store.put(m.item(branch, v + 1), onecard_core::store::Cond::VersionIs(v)).await, Ok(done));
        }
        m.failures += 1;
        m.locked = m.failures >= LOCK_AFTER;
        let err = if m.locked {
            locked(id)
        } else {
            ApiError::field(field, format!("is wrong ({} of {LOCK_AFTER} attempts before the account locks)", m.failures))
        };
        Step::of(ctx.store.put(m.item(branch, v + 1), onecard_core::store::Cond::VersionIs(v)).await, Err(err))
    })
    .await?
}

async fn login(ctx: Ctx, req: Req, input: LoginIn) -> ApiResult<MerchantRow> {
    let id = positive(input.business_id, "businessID")?;
    let m = check_password(&ctx, req.branchno(), id, &input.password, "password").await?;
    Ok(MerchantRow::from(&m))
}

/// 6.47 input.
#[derive(Deserialize, JsonSchema)]
pub struct PasswordIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Int,
    #[serde(rename = "oldPassword")]
    pub old_password: Text,
    #[serde(rename = "newPassword")]
    pub new_password: Text,
}

async fn change_password(ctx: Ctx, req: Req, input: PasswordIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = positive(input.business_id, "businessID")?;
    password::check_new(&input.new_password, "newPassword")?;
    check_password(&ctx, b, id, &input.old_password, "oldPassword").await?;
    let hash = password::hash(&input.new_password)?;
    model::modify(&ctx, b, id, "password not changed", |m| {
        m.password_hash = hash.clone();
        m.update_date = Some(req.now);
        m.update_oper = id.to_string();
        true
    })
    .await?;
    Ok(Null)
}

/// 6.48 / 6.52 input.
#[derive(Deserialize, JsonSchema)]
pub struct MerchantIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Option<Int>,
}

async fn list(ctx: Ctx, req: Req, input: MerchantIn) -> ApiResult<Page<MerchantRow>> {
    let only = input.business_id.map(Int::get);
    let rows = model::list(&ctx, req.branchno()).await?.iter().filter(|m| only.is_none_or(|id| m.id == id)).map(MerchantRow::from).collect();
    Ok(req.page(rows))
}

/// 6.52 input: the merchant is required.
#[derive(Deserialize, JsonSchema)]
pub struct UnlockIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Int,
}

async fn unlock(ctx: Ctx, req: Req, input: UnlockIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = positive(input.business_id, "businessID")?;
    model::modify(&ctx, b, id, "merchant not unlocked", |m| {
        if !m.locked && m.failures == 0 {
            return false;
        }
        m.locked = false;
        m.failures = 0;
        m.update_date = Some(req.now);
        true
    })
    .await?;
    Ok(Null)
}

/// 6.49 input.
#[derive(Deserialize, JsonSchema)]
pub struct PointsIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Option<Int>,
    #[serde(rename = "tollDevID", alias = "tollDevId")]
    pub toll_dev_id: Option<Int>,
}

/// A 6.49 row.
#[derive(Serialize, JsonSchema)]
pub struct PointRow {
    #[serde(rename = "businessID")]
    pub business_id: String,
    #[serde(rename = "tollDevID")]
    pub toll_dev_id: String,
    #[serde(rename = "deviceID")]
    pub device_id: String,
    #[serde(rename = "deviceName")]
    pub device_name: String,
    pub remark: String,
    #[serde(rename = "createOperID")]
    pub create_oper: String,
    #[serde(rename = "createDate")]
    pub create_date: String,
    #[serde(rename = "updateOperID")]
    pub update_oper: String,
    #[serde(rename = "updateDate")]
    pub update_date: String,
}

async fn points_get(ctx: Ctx, req: Req, input: PointsIn) -> ApiResult<Page<PointRow>> {
    let (bid, dev) = (input.business_id.map(Int::get), input.toll_dev_id.map(Int::get));
    let rows = points::list(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|p| bid.is_none_or(|x| x == p.business_id) && dev.is_none_or(|x| x == p.toll_dev_id))
        .map(|p| PointRow {
            business_id: p.business_id.to_string(),
            toll_dev_id: p.toll_dev_id.to_string(),
            device_id: p.device_id,
            device_name: p.name,
            remark: p.remark,
            create_oper: p.create_oper,
            create_date: stamp(p.create_date),
            update_oper: p.update_oper,
            update_date: stamp(p.update_date),
        })
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.business.login", login),
        kit::write("park.business.password.change", change_password),
        kit::read("park.business.list.get", list),
        kit::read("park.tollDevices.get", points_get),
        kit::write("park.business.unlock", unlock),
    ]
}
