//! Maps and what is drawn on them: car-finding points (8.1), maps (8.2, 8.3),
//! navigation maps (8.7-8.9) and the site's map upload (9.3). Pictures live
//! in the blob store (decision 16) and are answered as base64 read back.

use super::model::{Map, NavMap, Point};
use super::store;
use super::survey::{plan_svg, Survey};
use crate::pictures;
use onecard_core::kit::{self, Empty, Null, Page, Picture, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A picture as base64; a map without one is answered with its plan drawn
/// from the model (`survey::plan_svg`), so it always matches the graph. A
/// store that cannot give a picture fails the answer (a map without its
/// picture is of no use).
async fn image(ctx: &Ctx, req: &Req, key: Option<&str>, map_no: &str) -> ApiResult<String> {
    use base64::Engine;
    let Some(key) = key else {
        let (s, b) = (ctx.store(), req.branchno());
        let model = Survey {
            nodes: store::all(s, b).await?,
            edges: store::all(s, b).await?,
            spaces: store::all(s, b).await?,
            points: store::all(s, b).await?,
            screens: store::all(s, b).await?,
            ..Survey::default()
        };
        return Ok(base64::engine::general_purpose::STANDARD.encode(plan_svg(&model, map_no)));
    };
    Ok(pictures::read_base64(ctx, key).await.map_err(|e| ApiError::system(format!("map picture {key}: {e}")))?.unwrap_or_default())
}

/// 8.1 row.
#[derive(Serialize, JsonSchema)]
pub struct PointRow {
    pub no: String,
    pub name: String,
    pub mapno: String,
}

async fn points(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<PointRow>> {
    let b = req.branchno();
    let nodes = store::all::<super::model::Node>(ctx.store(), b).await?;
    let rows = store::all::<Point>(ctx.store(), b)
        .await?
        .into_iter()
        .map(|p| {
            let mapno = nodes.iter().find(|n| n.id == p.node).map(|n| n.map_no.clone()).unwrap_or_default();
            PointRow { no: p.no, name: p.name, mapno }
        })
        .collect();
    Ok(req.page(rows))
}

/// 8.2 / 8.3 row.
#[derive(Serialize, JsonSchema)]
pub struct MapRow {
    pub no: String,
    pub name: String,
    pub data: String,
}

/// 8.2 / 8.9 input.
#[derive(Deserialize, JsonSchema)]
pub struct NoIn {
    pub no: Text,
}

async fn map_row(ctx: &Ctx, req: &Req, m: Map) -> ApiResult<MapRow> {
    let data = image(ctx, req, m.image_key.as_deref(), &m.no).await?;
    Ok(MapRow { no: m.no, name: m.name, data })
}

async fn map_info(ctx: Ctx, req: Req, input: NoIn) -> ApiResult<MapRow> {
    let (m, _) = store::get::<Map>(ctx.store(), req.branchno(), &input.no)
        .await?
        .ok_or_else(|| ApiError::field("no", format!("map '{}' does not exist", input.no)))?;
    map_row(&ctx, &req, m).await
}

async fn map_list(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<MapRow>> {
    let mut rows = Vec::new();
    for m in store::all::<Map>(ctx.store(), req.branchno()).await? {
        rows.push(map_row(&ctx, &req, m).await?);
    }
    Ok(req.page(rows))
}

/// 8.7 row (8.8 and 8.9 add `data`).
#[derive(Serialize, JsonSchema)]
pub struct NavMapRow {
    pub no: String,
    pub name: String,
    pub mapno: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

async fn nav_row(ctx: &Ctx, req: &Req, m: NavMap, with_image: bool) -> ApiResult<NavMapRow> {
    let data = if with_image { Some(image(ctx, req, m.image_key.as_deref(), &m.map_no).await?) } else { None };
    Ok(NavMapRow { no: m.no, name: m.name, mapno: m.map_no, data })
}

async fn nav_list(ctx: &Ctx, req: &Req, with_image: bool) -> ApiResult<Page<NavMapRow>> {
    let mut rows = Vec::new();
    for m in store::all::<NavMap>(ctx.store(), req.branchno()).await? {
        rows.push(nav_row(ctx, req, m, with_image).await?);
    }
    Ok(req.page(rows))
}

async fn nav_list_plain(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<NavMapRow>> {
    nav_list(&ctx, &req, false).await
}

async fn nav_list_images(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<NavMapRow>> {
    nav_list(&ctx, &req, true).await
}

async fn nav_info(ctx: Ctx, req: Req, input: NoIn) -> ApiResult<NavMapRow> {
    let (m, _) = store::get::<NavMap>(ctx.store(), req.branchno(), &input.no)
        .await?
        .ok_or_else(|| ApiError::field("no", format!("navigation map '{}' does not exist", input.no)))?;
    nav_row(&ctx, &req, m, true).await
}

/// 9.3 input.
#[derive(Deserialize, JsonSchema)]
pub struct MapUpdateIn {
    #[serde(rename = "areaId", alias = "areaID")]
    pub area: Text,
    #[serde(rename = "mapNo")]
    pub map_no: Text,
    #[serde(rename = "mapName")]
    pub map_name: Option<Text>,
    #[serde(rename = "imgData")]
    pub img: Picture,
}

/// 9.3: the guidance system drew or changed a map. A new map number adds the
/// map (its floor named after it until a survey says more); a known one
/// keeps its floor and graph and takes the new picture and name.
async fn map_update(ctx: Ctx, req: Req, input: MapUpdateIn) -> ApiResult<Null> {
    let b = req.branchno();
    let key = pictures::store_base64(&ctx, b, &input.img.0).await.map_err(|why| ApiError::field("imgData", why))?;
    let name = input.map_name.map(String::from).filter(|n| !n.is_empty());
    let map = match store::get::<Map>(ctx.store(), b, &input.map_no).await? {
        Some((mut m, _)) => {
            m.name = name.unwrap_or(m.name);
            m.area_id = Some(input.area.to_string());
            m.image_key = Some(key);
            m
        }
        None => {
            let name = name.unwrap_or_else(|| input.map_no.to_string());
            Map { no: input.map_no.to_string(), floor_id: input.map_no.to_string(), floor_name: name.clone(), name, area_id: Some(input.area.to_string()), image_key: Some(key) }
        }
    };
    store::put(ctx.store(), b, &map).await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pls.guide.points", points),
        kit::read("pls.map.info", map_info),
        kit::read("pls.map.list", map_list),
        kit::read("pls.navMap.list.excludeImg", nav_list_plain),
        kit::read("pls.navMap.list", nav_list_images),
        kit::read("pls.navMap.info", nav_info),
        kit::write("cat.pls.map.update", map_update),
    ]
}
