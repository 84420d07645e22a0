//! Routes to a car (8.4), a space (8.11) and a space group (8.21): the
//! shortest path on the navigation graph from a car-finding point. A route on
//! one map answers the seed's `M x, yL x, y` string with `mapno`; a route
//! over several maps answers the seed's object of up to three legs.
//!
//! More than three legs (a car four floors away) do not fit the seed's
//! object: the first leg, the one before the last and the last are answered,
//! and the first leg's text names the floor the second one starts on, so a
//! driver still knows where to go next.

use super::graph::{point_list, svg_path, Leg, NavGraph};
use super::model::{Edge, Group, Map, Node, Point, Position, Space};
use super::positions;
use super::store;
use crate::pictures;
use onecard_core::kit::{self, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The seed's cross-floor route object.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct Legs {
    #[serde(rename = "pageDesc1")]
    pub page_desc1: String,
    #[serde(rename = "pageDesc2")]
    pub page_desc2: String,
    #[serde(rename = "pageDesc3")]
    pub page_desc3: String,
    pub path1: String,
    pub path2: String,
    pub path3: String,
    #[serde(rename = "pathDesc1")]
    pub path_desc1: String,
    #[serde(rename = "pathDesc2")]
    pub path_desc2: String,
    #[serde(rename = "pathDesc3")]
    pub path_desc3: String,
    #[serde(rename = "mapNo1")]
    pub map_no1: String,
    #[serde(rename = "mapNo2")]
    pub map_no2: String,
    #[serde(rename = "mapNo3")]
    pub map_no3: String,
    /// How many legs.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One map's coordinate string, or the legs of a cross-floor route.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PathValue {
    One(String),
    Legs(Box<Legs>),
}

/// 8.4 / 8.11 / 8.21 output.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PathOut {
    pub path: PathValue,
    /// The car's picture (base64), "" when the route's end holds no known car.
    pub carimage: String,
    pub indate: String,
    /// Single-map routes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapno: Option<String>,
}

/// Where a route ends and what the driver is told there.
struct Target {
    node: String,
    /// "车位号: A151, 车牌号: 苏Z10234" or "车位分组: N2".
    what: String,
    car: Option<Position>,
}

/// 8.4 / 8.11 / 8.21 input: the car-finding point and the target.
#[derive(Deserialize, JsonSchema)]
pub struct PathIn {
    pub source: Text,
    pub target: Text,
}

fn floor(maps: &[Map], no: &str) -> String {
    maps.iter().find(|m| m.no == no).map_or_else(|| no.to_string(), |m| m.floor_name.clone())
}

/// The legs answered: all of up to three, else first, second-to-last, last.
fn shown(legs: Vec<Leg>) -> Vec<Leg> {
    let n = legs.len();
    if n <= 3 {
        return legs;
    }
    legs.into_iter().enumerate().filter(|(i, _)| *i == 0 || *i + 2 >= n).map(|(_, l)| l).collect()
}

fn leg_text(maps: &[Map], legs: &[Leg], i: usize, target: &Target) -> String {
    match legs.get(i + 1) {
        Some(next) => {
            let via = legs[i].via.as_deref().filter(|v| !v.is_empty()).map(|v| format!(" (经{v})")).unwrap_or_default();
            format!("请前往: {}{via}", floor(maps, &next.map_no))
        }
        None => format!("请前往: {}, {}", floor(maps, &legs[i].map_no), target.what),
    }
}

async fn route(ctx: &Ctx, req: &Req, source: &str, target: Target) -> ApiResult<PathOut> {
    let (s, b) = (ctx.store(), req.branchno());
    let (point, _) = store::get::<Point>(s, b, source).await?.ok_or_else(|| ApiError::field("source", format!("car-finding point '{source}' does not exist")))?;
    let graph = NavGraph::build(store::all::<Node>(s, b).await?, &store::all::<Edge>(s, b).await?).map_err(|e| ApiError::system(format!("navigation graph: {e}")))?;
    let r = graph
        .shortest(&point.node, &target.node)
        .ok_or_else(|| ApiError::failed(format!("no way from point '{source}' to the target on the navigation graph")))?;
    let maps = store::all::<Map>(s, b).await?;
    let legs = shown(r.legs());
    let (carimage, indate) = match &target.car {
        Some(p) => (pictures::photo_base64(ctx, p.image_key.as_deref()).await, p.in_at.clone()),
        None => (String::new(), String::new()),
    };
    if legs.len() == 1 {
        return Ok(PathOut { path: PathValue::One(svg_path(&legs[0].points)), carimage, indate, mapno: Some(legs[0].map_no.clone()) });
    }
    let n = legs.len();
    let page = |i: usize| if i < n { format!("第 {} 页 / 共 {n} 页", i + 1) } else { String::new() };
    let path = |i: usize| legs.get(i).map(|l| point_list(&l.points)).unwrap_or_default();
    let desc = |i: usize| if i < n { leg_text(&maps, &legs, i, &target) } else { String::new() };
    let map = |i: usize| legs.get(i).map(|l| l.map_no.clone()).unwrap_or_default();
    let out = Legs {
        page_desc1: page(0),
        page_desc2: page(1),
        page_desc3: page(2),
        path1: path(0),
        path2: path(1),
        path3: path(2),
        path_desc1: desc(0),
        path_desc2: desc(1),
        path_desc3: desc(2),
        map_no1: map(0),
        map_no2: map(1),
        map_no3: map(2),
        kind: n.to_string(),
    };
    Ok(PathOut { path: PathValue::Legs(Box::new(out)), carimage, indate, mapno: None })
}

fn space_target(space: &Space, car: Option<Position>) -> Target {
    let plate = car.as_ref().map(|p| format!(", 车牌号: {}", p.plate)).unwrap_or_default();
    Target { node: space.node.clone(), what: format!("车位号: {}{plate}", space.name), car }
}

/// 8.4: to the space of the car with plate `target`.
async fn by_plate(ctx: Ctx, req: Req, input: PathIn) -> ApiResult<PathOut> {
    let plate = Plate::parse(&input.target).map_err(|why| ApiError::field("target", why))?;
    let b = req.branchno();
    let car = positions::current_of_car(ctx.store(), b, plate.norm())
        .await?
        .ok_or_else(|| ApiError::new(Code::CAR_NOT_IN_PARK, format!("car {} is not in any parking space", plate.norm())))?;
    let (space, _) = store::get::<Space>(ctx.store(), b, &car.space_no)
        .await?
        .ok_or_else(|| ApiError::system(format!("space '{}' of the car's record no longer exists", car.space_no)))?;
    let t = space_target(&space, Some(car));
    route(&ctx, &req, &input.source, t).await
}

/// 8.11: to a space by its number (its name is accepted too).
async fn by_space(ctx: Ctx, req: Req, input: PathIn) -> ApiResult<PathOut> {
    let b = req.branchno();
    let (space, _) = store::space_by_no_or_name(ctx.store(), b, Some(&input.target), None)
        .await?
        .or(store::space_by_no_or_name(ctx.store(), b, None, Some(&input.target)).await?)
        .ok_or_else(|| ApiError::field("target", format!("parking space '{}' does not exist", input.target)))?;
    let car = positions::open_of_space(ctx.store(), b, &space).await?;
    let t = space_target(&space, car);
    route(&ctx, &req, &input.source, t).await
}

/// 8.21: to a space group by its name (its number is accepted too).
async fn by_group(ctx: Ctx, req: Req, input: PathIn) -> ApiResult<PathOut> {
    let groups = store::all::<Group>(ctx.store(), req.branchno()).await?;
    let g = groups
        .iter()
        .find(|g| g.name == *input.target)
        .or_else(|| groups.iter().find(|g| g.no == *input.target))
        .ok_or_else(|| ApiError::field("target", format!("parking space group '{}' does not exist", input.target)))?;
    let t = Target { node: g.node.clone(), what: format!("车位分组: {}", g.name), car: None };
    route(&ctx, &req, &input.source, t).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pls_guide.path", by_plate),
        kit::read("pls.guide.path.getByParkLot", by_space),
        kit::read("pls_guide_group_path", by_group),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(m: &str) -> Leg {
        Leg { map_no: m.into(), points: vec![(0.0, 0.0)], via: Some("lift".into()) }
    }

    #[test]
    fn more_than_three_legs_keep_the_first_and_the_last_two() {
        let got: Vec<String> = shown(vec![leg("1"), leg("2"), leg("3"), leg("4"), leg("5")]).into_iter().map(|l| l.map_no).collect();
        assert_eq!(got, ["1", "4", "5"]);
        assert_eq!(shown(vec![leg("1"), leg("2")]).len(), 2);
    }
}
