//! 6.36 `park.carbrand.list`.

use super::repo;
use onecard_core::kit::{self, Empty, Page, RouteDef};
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Serialize;

/// A 6.36 row; the section says every field is a string.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct BrandRow {
    #[serde(rename = "BrandID")]
    pub id: String,
    #[serde(rename = "BrandName")]
    pub name: String,
}

/// The seed sends `data: null`; the pipeline reads that as `{}`.
async fn brand_list(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<BrandRow>> {
    let rows = repo::list(ctx.store()).await?.into_iter().map(|b| BrandRow { id: b.id.to_string(), name: b.name }).collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("park.carbrand.list", brand_list)]
}
