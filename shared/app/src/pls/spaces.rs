//! Spaces and their status: the list (8.10), groups (8.20), reports from
//! partners (8.12, 8.13) and from the site's detectors (9.14), and the free
//! counts by space type (8.14) and by area (8.15).
//!
//! These counts are by detector: a space is free when its detector last said
//! so. 6.3's free spaces count cars by lane (entries minus exits against the
//! area's capacity); see this folder's README for which a partner gets.

use super::model::{Area, Group, Node, Space, SpaceKind, SpaceStatus};
use super::screens;
use super::status::{self, Report};
use super::store;
use onecard_core::kit::{self, DateTime, Int, Null, Page, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 8.10 input.
#[derive(Deserialize, JsonSchema)]
pub struct SpacesIn {
    pub no: Option<Text>,
    pub name: Option<Text>,
}

/// 8.10 row.
#[derive(Serialize, JsonSchema)]
pub struct SpaceRow {
    pub no: String,
    pub name: String,
    pub mapno: String,
    pub status: String,
}

async fn spaces(ctx: Ctx, req: Req, input: SpacesIn) -> ApiResult<Page<SpaceRow>> {
    let b = req.branchno();
    let nodes = store::all::<Node>(ctx.store(), b).await?;
    let rows = store::all::<Space>(ctx.store(), b)
        .await?
        .into_iter()
        .filter(|s| input.no.as_deref().is_none_or(|n| s.no == n) && input.name.as_deref().is_none_or(|n| s.name == n))
        .map(|s| {
            let mapno = nodes.iter().find(|n| n.id == s.node).map(|n| n.map_no.clone()).unwrap_or_default();
            SpaceRow { no: s.no, name: s.name, mapno, status: s.status.code().to_string() }
        })
        .collect();
    Ok(req.page(rows))
}

/// 8.20 input.
#[derive(Deserialize, JsonSchema)]
pub struct GroupsIn {
    #[serde(rename = "areaNo")]
    pub area: Option<Text>,
    #[serde(rename = "groupNo")]
    pub no: Option<Text>,
    #[serde(rename = "groupName")]
    pub name: Option<Text>,
}

/// 8.20 row.
#[derive(Serialize, JsonSchema)]
pub struct GroupRow {
    #[serde(rename = "areaNo")]
    pub area_no: String,
    #[serde(rename = "areaName")]
    pub area_name: String,
    #[serde(rename = "groupNo")]
    pub no: String,
    #[serde(rename = "groupName")]
    pub name: String,
    #[serde(rename = "mapNo")]
    pub map_no: String,
    #[serde(rename = "mapName")]
    pub map_name: String,
    pub x: String,
    pub y: String,
}

async fn groups(ctx: Ctx, req: Req, input: GroupsIn) -> ApiResult<Page<GroupRow>> {
    let (s, b) = (ctx.store(), req.branchno());
    let (areas, nodes, maps) = (store::all::<Area>(s, b).await?, store::all::<Node>(s, b).await?, store::all::<super::model::Map>(s, b).await?);
    let rows = store::all::<Group>(s, b)
        .await?
        .into_iter()
        .filter(|g| input.area.as_deref().is_none_or(|a| g.area_id == a))
        .filter(|g| input.no.as_deref().is_none_or(|n| g.no == n) && input.name.as_deref().is_none_or(|n| g.name == n))
        .map(|g| {
            let node = nodes.iter().find(|n| n.id == g.node);
            let map = node.and_then(|n| maps.iter().find(|m| m.no == n.map_no));
            GroupRow {
                area_name: areas.iter().find(|a| a.id == g.area_id).map(|a| a.name.clone()).unwrap_or_default(),
                area_no: g.area_id,
                no: g.no,
                name: g.name,
                map_no: map.map(|m| m.no.clone()).unwrap_or_default(),
                map_name: map.map(|m| m.name.clone()).unwrap_or_default(),
                x: node.map(|n| n.x.to_string()).unwrap_or_default(),
                y: node.map(|n| n.y.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(req.page(rows))
}

fn status_of(v: Int) -> ApiResult<SpaceStatus> {
    SpaceStatus::try_from(v.get()).map_err(|why| ApiError::field("status", why))
}

/// Applies a report and follows it on the screens.
async fn report(ctx: &Ctx, req: &Req, space_no: &str, r: &Report) -> ApiResult<()> {
    let applied = status::apply(ctx.store(), req.branchno(), space_no, r).await?;
    if !applied.stale {
        crate::partner_hooks::aibee::space_changed(ctx, req.branchno(), &applied.before, &applied.after, req.now).await;
    }
    if !applied.stale && applied.free_changed() {
        screens::refresh(ctx, req, &applied.after).await;
    }
    Ok(())
}

/// 8.12 input.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateIn {
    #[serde(rename = "parkLotNo")]
    pub no: Option<Text>,
    #[serde(rename = "parkLotName")]
    pub name: Option<Text>,
    pub status: Int,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "updateDate")]
    pub at: DateTime,
    /// 0 车安通 (default), 1 a third party.
    pub from: Option<Int>,
}

async fn update(ctx: Ctx, req: Req, input: UpdateIn) -> ApiResult<Null> {
    let status = status_of(input.status)?;
    if input.no.is_none() && input.name.is_none() {
        return Err(ApiError::field("parkLotNo", "or parkLotName is required"));
    }
    let (space, _) = store::space_by_no_or_name(ctx.store(), req.branchno(), input.no.as_deref(), input.name.as_deref()).await?.ok_or_else(|| {
        let (field, v) = match &input.no {
            Some(no) => ("parkLotNo", no.to_string()),
            None => ("parkLotName", input.name.as_deref().unwrap_or_default().to_string()),
        };
        ApiError::field(field, format!("parking space '{v}' does not exist"))
    })?;
    if input.from.is_some_and(|f| !matches!(f.get(), 0 | 1)) {
        return Err(ApiError::field("from", "is not 0 (车安通) or 1 (a third party)"));
    }
    let r = Report { status, plate: input.plate.map(|p| p.norm().to_string()), at: input.at.get(), image_key: None, img_url: None, source: "8.12" };
    report(&ctx, &req, &space.no, &r).await?;
    Ok(Null)
}

/// 8.13 input.
#[derive(Deserialize, JsonSchema)]
pub struct ResetIn {
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "updateDate")]
    pub at: DateTime,
}

/// 8.13: the spaces of the car (when named) or every space not free become
/// free; their records close.
async fn reset(ctx: Ctx, req: Req, input: ResetIn) -> ApiResult<Null> {
    let plate = input.plate.as_ref().map(|p| p.norm().to_string());
    let spaces = store::all::<Space>(ctx.store(), req.branchno()).await?;
    let targets: Vec<Space> = spaces
        .into_iter()
        .filter(|s| match &plate {
            Some(p) => s.plate.as_ref() == Some(p),
            None => s.status != SpaceStatus::Free,
        })
        .collect();
    let r = Report { status: SpaceStatus::Free, plate: None, at: input.at.get(), image_key: None, img_url: None, source: "8.13" };
    for s in &targets {
        report(&ctx, &req, &s.no, &r).await?;
    }
    Ok(Null)
}

/// 8.14 / 8.15 input.
#[derive(Deserialize, JsonSchema)]
pub struct TotalIn {
    /// "" none of the per-type fields, 0 all of them, 1-7 one type's.
    #[serde(rename = "parkLotType")]
    pub kind: Option<Int>,
}

/// Which per-type counts an answer carries.
fn kinds(input: &TotalIn) -> ApiResult<Vec<SpaceKind>> {
    match input.kind.map(Int::get) {
        None => Ok(vec![]),
        Some(0) => Ok(SpaceKind::ALL.to_vec()),
        Some(v) => SpaceKind::try_from(v).map(|k| vec![k]).map_err(|why| ApiError::field("parkLotType", why)),
    }
}

/// Total and free spaces, overall and per type; per-type fields appear only
/// when asked for.
#[derive(Serialize, JsonSchema, Default)]
pub struct Counts {
    pub total: String,
    pub remain: String,
    #[serde(rename = "standardTotal", skip_serializing_if = "Option::is_none")]
    pub standard_total: Option<String>,
    #[serde(rename = "standardRemain", skip_serializing_if = "Option::is_none")]
    pub standard_remain: Option<String>,
    #[serde(rename = "miniTotal", skip_serializing_if = "Option::is_none")]
    pub mini_total: Option<String>,
    #[serde(rename = "miniRemain", skip_serializing_if = "Option::is_none")]
    pub mini_remain: Option<String>,
    #[serde(rename = "sideTotal", skip_serializing_if = "Option::is_none")]
    pub side_total: Option<String>,
    #[serde(rename = "sideRemain", skip_serializing_if = "Option::is_none")]
    pub side_remain: Option<String>,
    #[serde(rename = "barrierFreeTotal", skip_serializing_if = "Option::is_none")]
    pub barrier_free_total: Option<String>,
    #[serde(rename = "barrierFreeRemain", skip_serializing_if = "Option::is_none")]
    pub barrier_free_remain: Option<String>,
    #[serde(rename = "truckTotal", skip_serializing_if = "Option::is_none")]
    pub truck_total: Option<String>,
    #[serde(rename = "truckRemain", skip_serializing_if = "Option::is_none")]
    pub truck_remain: Option<String>,
    #[serde(rename = "chargingTotal", skip_serializing_if = "Option::is_none")]
    pub charging_total: Option<String>,
    #[serde(rename = "chargingRemain", skip_serializing_if = "Option::is_none")]
    pub charging_remain: Option<String>,
    #[serde(rename = "womanTotal", skip_serializing_if = "Option::is_none")]
    pub woman_total: Option<String>,
    #[serde(rename = "womanRemain", skip_serializing_if = "Option::is_none")]
    pub woman_remain: Option<String>,
}

pub fn count<'a>(spaces: impl Iterator<Item = &'a Space> + Clone, kinds: &[SpaceKind]) -> Counts {
    let tally = |k: Option<SpaceKind>| {
        let of = spaces.clone().filter(|s| k.is_none_or(|k| s.kind == k));
        let total = of.clone().count();
        let free = of.filter(|s| s.status == SpaceStatus::Free).count();
        (total.to_string(), free.to_string())
    };
    let (total, remain) = tally(None);
    let mut c = Counts { total, remain, ..Counts::default() };
    for k in kinds {
        let (t, r) = tally(Some(*k));
        let (tf, rf) = match k {
            SpaceKind::Standard => (&mut c.standard_total, &mut c.standard_remain),
            SpaceKind::Mini => (&mut c.mini_total, &mut c.mini_remain),
            SpaceKind::Side => (&mut c.side_total, &mut c.side_remain),
            SpaceKind::BarrierFree => (&mut c.barrier_free_total, &mut c.barrier_free_remain),
            SpaceKind::Truck => (&mut c.truck_total, &mut c.truck_remain),
            SpaceKind::Charging => (&mut c.charging_total, &mut c.charging_remain),
            SpaceKind::Woman => (&mut c.woman_total, &mut c.woman_remain),
        };
        *tf = Some(t);
        *rf = Some(r);
    }
    c
}

async fn total(ctx: Ctx, req: Req, input: TotalIn) -> ApiResult<Counts> {
    let kinds = kinds(&input)?;
    let spaces = store::all::<Space>(ctx.store(), req.branchno()).await?;
    Ok(count(spaces.iter(), &kinds))
}

/// 8.15 row.
#[derive(Serialize, JsonSchema)]
pub struct AreaCounts {
    #[serde(rename = "areaID")]
    pub area_id: String,
    #[serde(rename = "areaName")]
    pub area_name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

async fn total_of_area(ctx: Ctx, req: Req, input: TotalIn) -> ApiResult<Page<AreaCounts>> {
    let kinds = kinds(&input)?;
    let b = req.branchno();
    let spaces = store::all::<Space>(ctx.store(), b).await?;
    let rows = store::all::<Area>(ctx.store(), b)
        .await?
        .into_iter()
        .map(|a| {
            let counts = count(spaces.iter().filter(|s| s.area_id.as_deref() == Some(a.id.as_str())), &kinds);
            AreaCounts { area_id: a.id, area_name: a.name, counts }
        })
        .collect();
    Ok(req.page(rows))
}

/// 9.14 input.
#[derive(Deserialize, JsonSchema)]
pub struct SiteStatusIn {
    /// `sensor` or `camera`.
    pub from: Option<Text>,
    #[serde(rename = "parkLotNo")]
    pub no: Text,
    pub status: Int,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    /// The detector's own picture URL.
    #[serde(rename = "imgUrl")]
    pub img_url: Option<Text>,
    /// The agent's uploaded picture (decision 16).
    #[serde(rename = "imageKey")]
    pub image_key: Option<Text>,
    #[serde(rename = "updateDate")]
    pub at: DateTime,
}

/// 9.14: a detector's report. The status is kept first; then, when the
/// branch relays statuses to a third party (`relay.rs`), the relay is told,
/// and a relay that could not be told answers 521 (the status stays kept, so
/// the site's resend changes nothing here and tries the relay again).
async fn site_status(ctx: Ctx, req: Req, input: SiteStatusIn) -> ApiResult<Null> {
    let status = status_of(input.status)?;
    if let Some(f) = input.from.as_deref().filter(|f| !matches!(*f, "sensor" | "camera")) {
        return Err(ApiError::field("from", format!("'{f}' is not sensor or camera")));
    }
    let b = req.branchno();
    let image_key = match input.image_key.as_deref() {
        Some(k) => Some(crate::pictures::own_key(b, k).map_err(|why| ApiError::field("imageKey", why))?),
        None => None,
    };
    let plate = input.plate.map(|p| p.norm().to_string());
    let r = Report { status, plate: plate.clone(), at: input.at.get(), image_key, img_url: input.img_url.map(String::from), source: "9.14" };
    report(&ctx, &req, &input.no, &r).await?;
    if let Err(why) = super::relay::tell(&ctx, b, &input.no, status, plate.as_deref(), &r.at).await {
        return Err(ApiError::new(Code(521), format!("status kept; the third-party system was not told: {why}")));
    }
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pls.parkLots.get", spaces),
        kit::read("pls.parklotgroup.get", groups),
        kit::write("pls.parklot.status.update", update),
        kit::write("pls.parklot.status.reset", reset),
        kit::read("pls.lot.status.total", total),
        kit::read("pls.lot.status.total.of.area", total_of_area),
        kit::write("cat.upload.parklotstatus", site_status).codes(&[(521, "pushing the status to the third-party system failed")]),
    ]
}

