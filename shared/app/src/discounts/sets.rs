//! Discount sets (6.34): what each merchant's discount number gives. Set up by
//! operators (`onecard discountset ...`); the API only reads them.

use super::codes;
use super::kinds::Kind;
use crate::keys;
use onecard_core::kit::{self, Int, Page, RouteDef};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiscountSet {
    /// `AutoID`: unique in the branch.
    pub auto_id: i64,
    pub business_id: i64,
    /// `DiscountID`: 1-9 within the merchant.
    pub discount_id: i64,
    pub name: String,
    pub kind: Kind,
}

fn sk(business_id: i64, discount_id: i64) -> String {
    format!("{}#{}", keys::id_sk(business_id), keys::id_sk(discount_id))
}

impl DiscountSet {
    pub fn label(&self) -> String {
        format!("{}/{}", self.business_id, self.discount_id)
    }
}

pub async fn get(ctx: &Ctx, branch: &str, business_id: i64, discount_id: i64) -> ApiResult<Option<DiscountSet>> {
    match ctx.store.get(&keys::discount_sets(branch), &sk(business_id, discount_id)).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// The set, or 603 naming the merchant and the number.
pub async fn must_get(ctx: &Ctx, branch: &str, business_id: i64, discount_id: i64) -> ApiResult<DiscountSet> {
    get(ctx, branch, business_id, discount_id).await?.ok_or_else(|| codes::discount_missing(format!("{business_id}/{discount_id}")))
}

pub async fn list(ctx: &Ctx, branch: &str, business_id: Option<i64>) -> ApiResult<Vec<DiscountSet>> {
    let q = match business_id {
        Some(b) => Query::prefix(keys::discount_sets(branch), format!("{}#", keys::id_sk(b))),
        None => Query::partition(keys::discount_sets(branch)),
    };
    let items = ctx.store.query_all(&q).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// Creates or replaces the set `business_id`/`discount_id` (admin); keeps its
/// `AutoID` when it exists.
pub async fn put(ctx: &Ctx, branch: &str, business_id: i64, discount_id: i64, name: &str, kind: Kind) -> ApiResult<DiscountSet> {
    if !(1..=9).contains(&discount_id) {
        return Err(ApiError::field("DiscountID", "is a number from 1 to 9"));
    }
    let pk = keys::discount_sets(branch);
    let old = ctx.store.get(&pk, &sk(business_id, discount_id)).await?;
    let auto_id = match &old {
        Some(i) => i.parse::<DiscountSet>()?.auto_id,
        None => crate::ids::next_id(ctx, branch, "discountset").await?,
    };
    let set = DiscountSet { auto_id, business_id, discount_id, name: name.to_string(), kind };
    let body = serde_json::to_value(&set).unwrap_or_default();
    let (item, cond) = match &old {
        Some(i) => (Item::new(pk, sk(business_id, discount_id), body).with_version(i.version + 1), Cond::VersionIs(i.version)),
        None => (Item::new(pk, sk(business_id, discount_id), body), Cond::MustNotExist),
    };
    ctx.store.put(item, cond).await?;
    Ok(set)
}

/// 6.34 input.
#[derive(Deserialize, JsonSchema)]
pub struct SetsIn {
    #[serde(rename = "BusinessID", alias = "businessID", alias = "businessId")]
    pub business_id: Option<Int>,
}

/// A 6.34 row, the seed's names.
#[derive(Serialize, JsonSchema)]
pub struct SetRow {
    #[serde(rename = "AutoID")]
    pub auto_id: String,
    #[serde(rename = "BusinessID")]
    pub business_id: String,
    #[serde(rename = "DiscountID")]
    pub discount_id: String,
    #[serde(rename = "DiscountName")]
    pub name: String,
    #[serde(rename = "PresentType")]
    pub present_type: String,
    #[serde(rename = "DiscountRate")]
    pub rate: String,
    #[serde(rename = "MaxValue")]
    pub max_value: String,
}

impl From<&DiscountSet> for SetRow {
    fn from(s: &DiscountSet) -> SetRow {
        SetRow {
            auto_id: s.auto_id.to_string(),
            business_id: s.business_id.to_string(),
            discount_id: s.discount_id.to_string(),
            name: s.name.clone(),
            present_type: s.kind.code().to_string(),
            rate: s.kind.rate_text(),
            max_value: s.kind.max_text(),
        }
    }
}

async fn sets_get(ctx: Ctx, req: Req, input: SetsIn) -> ApiResult<Page<SetRow>> {
    let rows = list(&ctx, req.branchno(), input.business_id.map(Int::get)).await?.iter().map(SetRow::from).collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("park.discountset.get", sets_get)]
}
