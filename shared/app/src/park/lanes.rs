//! The branch's layout as clients see it: areas (6.95) and lane controllers
//! (6.21-6.23), read from the branch configuration.

use onecard_core::config::Controller;
use onecard_core::kit::{self, Empty, Page, RouteDef};
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::Serialize;

/// A 6.21-6.23 row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ControllerRow {
    #[serde(rename = "controllerNo")]
    pub controller_no: String,
    #[serde(rename = "fullName")]
    pub name: String,
    #[serde(rename = "deviceID")]
    pub device_id: String,
}

impl From<&Controller> for ControllerRow {
    fn from(c: &Controller) -> Self {
        ControllerRow { controller_no: c.controller_no.clone(), name: c.name.clone(), device_id: c.device_id.clone() }
    }
}

/// 6.21-6.23 all answer every controller: the seed says the entry and exit lists
/// include both kinds (its examples list an exit among the entries), so that a
/// lane used both ways is never missing.
async fn controllers(_ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<ControllerRow>> {
    let rows = req.branch.controllers.iter().map(ControllerRow::from).collect();
    Ok(req.page(rows))
}

/// 6.95 types `areaId` Int; an area configured with a non-numeric id is
/// answered as its text rather than dropped.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AreaId {
    Number(i64),
    Text(String),
}

impl AreaId {
    fn of(id: &str) -> AreaId {
        id.parse::<i64>().map_or_else(|_| AreaId::Text(id.to_string()), AreaId::Number)
    }
}

/// A 6.95 row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct AreaRow {
    #[serde(rename = "areaId")]
    pub id: AreaId,
    #[serde(rename = "areaNo")]
    pub name: String,
    #[serde(rename = "chargeSeparate")]
    pub charge_separate: bool,
    pub capacity: i64,
}

async fn areas(_ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<AreaRow>> {
    let rows = req
        .branch
        .areas
        .iter()
        .map(|a| AreaRow { id: AreaId::of(&a.id), name: a.name.clone(), charge_separate: false, capacity: a.capacity })
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("park.controllers", controllers),
        kit::read("park.in.controllers", controllers),
        kit::read("park.out.controllers", controllers),
        kit::read("park.area.list", areas),
    ]
}
