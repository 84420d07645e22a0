//! The guidance hardware: faulty detectors (8.24), video detectors (8.25),
//! converters (8.26), controllers (8.27) and ultrasonic detectors (8.28).
//!
//! A detector is faulty (8.24, `devStatus` 2) when it was reported broken
//! (9.12 or the survey) or when a space it watches reads unknown or abnormal:
//! the seed counts "the probes and cameras whose parking-space status is
//! unknown or abnormal".

use super::model::{Area, Controller, Group, Map, Space, Switch, Ultrasonic, VideoDetector};
use super::store;
use onecard_core::kit::{self, Empty, Int, Page, RouteDef};
use onecard_core::store::ItemStore;
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Everything 8.24-8.28 read, loaded once.
struct Hardware {
    areas: Vec<Area>,
    groups: Vec<Group>,
    spaces: Vec<Space>,
    ultrasonic: Vec<Ultrasonic>,
    video: Vec<VideoDetector>,
}

impl Hardware {
    async fn load(s: &dyn ItemStore, b: &str) -> ApiResult<Hardware> {
        Ok(Hardware {
            areas: store::all(s, b).await?,
            groups: store::all(s, b).await?,
            spaces: store::all(s, b).await?,
            ultrasonic: store::all(s, b).await?,
            video: store::all(s, b).await?,
        })
    }
    fn space(&self, no: &str) -> Option<&Space> {
        self.spaces.iter().find(|s| s.no == no)
    }
    fn area_name(&self, id: Option<&str>) -> Option<String> {
        id.and_then(|id| self.areas.iter().find(|a| a.id == id)).map(|a| a.name.clone())
    }
    fn group_name(&self, no: Option<&str>) -> Option<String> {
        no.and_then(|no| self.groups.iter().find(|g| g.no == no)).map(|g| g.name.clone())
    }
    fn ultrasonic_fault(&self, u: &Ultrasonic) -> bool {
        u.fault || self.space(&u.space_no).is_some_and(|s| s.status.is_fault())
    }
    fn video_fault(&self, v: &VideoDetector) -> bool {
        v.fault || v.spaces.iter().any(|no| self.space(no).is_some_and(|s| s.status.is_fault()))
    }
    fn video_area(&self, v: &VideoDetector) -> Option<String> {
        v.area_id.clone().or_else(|| v.spaces.first().and_then(|no| self.space(no)).and_then(|s| s.area_id.clone()))
    }
    /// (area, faulty) of every detector.
    fn detectors(&self) -> Vec<(Option<String>, bool)> {
        let u = self.ultrasonic.iter().map(|u| (self.space(&u.space_no).and_then(|s| s.area_id.clone()), self.ultrasonic_fault(u)));
        let v = self.video.iter().map(|v| (self.video_area(v), self.video_fault(v)));
        u.chain(v).collect()
    }
}

fn status_code(fault: bool) -> String {
    if fault { "2" } else { "1" }.to_string()
}

/// 8.24 input.
#[derive(Deserialize, JsonSchema)]
pub struct FaultIn {
    /// 1 per area; anything else one row for the whole car park.
    #[serde(rename = "returnArea")]
    pub per_area: Option<Int>,
}

/// 8.24 row.
#[derive(Serialize, JsonSchema)]
pub struct FaultRow {
    #[serde(rename = "areaID", skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
    #[serde(rename = "areaName", skip_serializing_if = "Option::is_none")]
    pub area_name: Option<String>,
    pub total: String,
    pub fault: String,
}

async fn faults(ctx: Ctx, req: Req, input: FaultIn) -> ApiResult<Page<FaultRow>> {
    let hw = Hardware::load(ctx.store(), req.branchno()).await?;
    let all = hw.detectors();
    let row = |of: Vec<&(Option<String>, bool)>| (of.len().to_string(), of.iter().filter(|d| d.1).count().to_string());
    let rows = if input.per_area.is_some_and(|v| v.get() == 1) {
        hw.areas
            .iter()
            .map(|a| {
                let (total, fault) = row(all.iter().filter(|d| d.0.as_deref() == Some(a.id.as_str())).collect());
                FaultRow { area_id: Some(a.id.clone()), area_name: Some(a.name.clone()), total, fault }
            })
            .collect()
    } else {
        let (total, fault) = row(all.iter().collect());
        vec![FaultRow { area_id: None, area_name: None, total, fault }]
    };
    Ok(req.page(rows))
}

/// 8.25 row; unset values are null, as the seed prints them.
#[derive(Serialize, JsonSchema)]
pub struct VideoRow {
    #[serde(rename = "devNo")]
    pub no: String,
    #[serde(rename = "devName")]
    pub name: String,
    pub ip: String,
    #[serde(rename = "areaID")]
    pub area_id: Option<String>,
    #[serde(rename = "areaName")]
    pub area_name: Option<String>,
    #[serde(rename = "groupNo")]
    pub group_no: Option<String>,
    #[serde(rename = "groupName")]
    pub group_name: Option<String>,
    #[serde(rename = "isGroupDev")]
    pub is_group_dev: String,
    #[serde(rename = "fromGroup")]
    pub from_group: Option<String>,
    #[serde(rename = "toGroup")]
    pub to_group: Option<String>,
    #[serde(rename = "enablePlaneParkingGuidance")]
    pub plane: String,
    #[serde(rename = "devStatus")]
    pub status: String,
    pub parklot1: Option<String>,
    pub parklot2: Option<String>,
    pub parklot3: Option<String>,
    pub parklot4: Option<String>,
    pub parklot5: Option<String>,
    pub parklot6: Option<String>,
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

async fn video(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<VideoRow>> {
    let hw = Hardware::load(ctx.store(), req.branchno()).await?;
    let rows = hw
        .video
        .iter()
        .map(|v| {
            let lot = |i: usize| v.spaces.get(i).map(|no| hw.space(no).map_or_else(|| no.clone(), |s| s.name.clone()));
            let area = hw.video_area(v);
            VideoRow {
                no: v.no.clone(),
                name: v.name.clone(),
                ip: v.ip.clone(),
                area_name: hw.area_name(area.as_deref()),
                area_id: area,
                group_no: v.group_no.clone(),
                group_name: hw.group_name(v.group_no.as_deref()),
                is_group_dev: flag(v.is_group_dev),
                from_group: v.from_group.clone(),
                to_group: v.to_group.clone(),
                plane: flag(v.plane_guidance),
                status: status_code(hw.video_fault(v)),
                parklot1: lot(0),
                parklot2: lot(1),
                parklot3: lot(2),
                parklot4: lot(3),
                parklot5: lot(4),
                parklot6: lot(5),
            }
        })
        .collect();
    Ok(req.page(rows))
}

/// 8.26 row.
#[derive(Serialize, JsonSchema)]
pub struct SwitchRow {
    #[serde(rename = "switchNo")]
    pub no: String,
    pub address: String,
}

async fn switches(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<SwitchRow>> {
    let rows = store::all::<Switch>(ctx.store(), req.branchno()).await?.into_iter().map(|s| SwitchRow { no: s.no, address: s.address }).collect();
    Ok(req.page(rows))
}

/// 8.27 row.
#[derive(Serialize, JsonSchema)]
pub struct ControllerRow {
    #[serde(rename = "controllerNo")]
    pub no: String,
    pub address: String,
    #[serde(rename = "switchNo")]
    pub switch_no: String,
    #[serde(rename = "floorID")]
    pub floor_id: String,
    #[serde(rename = "floorName")]
    pub floor_name: String,
    #[serde(rename = "mapNo")]
    pub map_no: String,
    #[serde(rename = "mapName")]
    pub map_name: String,
}

async fn controllers(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<ControllerRow>> {
    let b = req.branchno();
    let maps = store::all::<Map>(ctx.store(), b).await?;
    let rows = store::all::<Controller>(ctx.store(), b)
        .await?
        .into_iter()
        .map(|c| {
            let m = maps.iter().find(|m| m.no == c.map_no);
            ControllerRow {
                no: c.no,
                address: c.address,
                switch_no: c.switch_no,
                floor_id: m.map(|m| m.floor_id.clone()).unwrap_or_default(),
                floor_name: m.map(|m| m.floor_name.clone()).unwrap_or_default(),
                map_name: m.map(|m| m.name.clone()).unwrap_or_default(),
                map_no: c.map_no,
            }
        })
        .collect();
    Ok(req.page(rows))
}

/// 8.28 row.
#[derive(Serialize, JsonSchema)]
pub struct UltrasonicRow {
    #[serde(rename = "ultrasonicAddress")]
    pub address: String,
    #[serde(rename = "controllerAddress")]
    pub controller_address: String,
    #[serde(rename = "switchAddress")]
    pub switch_address: String,
    #[serde(rename = "areaID")]
    pub area_id: Option<String>,
    #[serde(rename = "areaName")]
    pub area_name: Option<String>,
    #[serde(rename = "groupNo")]
    pub group_no: Option<String>,
    #[serde(rename = "groupName")]
    pub group_name: Option<String>,
    #[serde(rename = "devStatus")]
    pub status: String,
    #[serde(rename = "parkLotName")]
    pub space: String,
}

async fn ultrasonic(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<UltrasonicRow>> {
    let b = req.branchno();
    let hw = Hardware::load(ctx.store(), b).await?;
    let (controllers, switches) = (store::all::<Controller>(ctx.store(), b).await?, store::all::<Switch>(ctx.store(), b).await?);
    let rows = hw
        .ultrasonic
        .iter()
        .map(|u| {
            let c = controllers.iter().find(|c| c.no == u.controller_no);
            let sw = c.and_then(|c| switches.iter().find(|s| s.no == c.switch_no));
            let space = hw.space(&u.space_no);
            let area = space.and_then(|s| s.area_id.clone());
            let group = space.and_then(|s| s.group_no.clone());
            UltrasonicRow {
                address: u.address.clone(),
                controller_address: c.map(|c| c.address.clone()).unwrap_or_default(),
                switch_address: sw.map(|s| s.address.clone()).unwrap_or_default(),
                area_name: hw.area_name(area.as_deref()),
                area_id: area,
                group_name: hw.group_name(group.as_deref()),
                group_no: group,
                status: status_code(hw.ultrasonic_fault(u)),
                space: space.map_or_else(|| u.space_no.clone(), |s| s.name.clone()),
            }
        })
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pls.device.fault.total", faults),
        kit::read("pls.videoDevice.list", video),
        kit::read("pls.switchDevice.list", switches),
        kit::read("pls.controller.list", controllers),
        kit::read("pls.ultrasonicDevice.list", ultrasonic),
    ]
}
