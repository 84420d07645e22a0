//! What door access is configured with, as the API reads it: 7.1 doors, 7.2
//! permission groups with their time periods, 7.11 the Bluetooth map, and 7.13,
//! the one setting the API writes (a door's IBMS mode).

use super::model::Door;
use super::{site, store};
use onecard_core::kit::{self, Empty, Flag, Int, Null, Page, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 7.1 input: every filter optional.
#[derive(Deserialize, JsonSchema)]
pub struct DoorsIn {
    pub controllerno: Option<Text>,
    pub doorno: Option<Text>,
    /// Matched fuzzily.
    pub doorname: Option<Text>,
    pub roomid: Option<Text>,
    #[serde(rename = "enableIBMS")]
    pub ibms: Option<Flag>,
}

#[derive(Serialize, JsonSchema)]
pub struct DoorRow {
    pub controllerno: String,
    pub doorno: String,
    pub doorname: String,
    pub roomid: String,
    pub bdid: String,
    #[serde(rename = "enableIBMS")]
    pub ibms: String,
}

fn door_row(d: &Door) -> DoorRow {
    DoorRow {
        controllerno: d.controller_no.clone(),
        doorno: d.door_no.clone(),
        doorname: d.name.clone(),
        roomid: d.room_id.clone(),
        bdid: d.bdid.clone(),
        ibms: if d.ibms { "1" } else { "0" }.into(),
    }
}

/// 7.1.
async fn door_list(ctx: Ctx, req: Req, input: DoorsIn) -> ApiResult<Page<DoorRow>> {
    let same = |f: &Option<Text>, v: &str| f.as_ref().is_none_or(|f| f.as_str() == v);
    let rows = store::doors(ctx.store(), req.branchno())
        .await?
        .iter()
        .filter(|d| same(&input.controllerno, &d.controller_no) && same(&input.doorno, &d.door_no) && same(&input.roomid, &d.room_id))
        .filter(|d| input.doorname.as_ref().is_none_or(|n| d.name.contains(n.as_str())))
        .filter(|d| input.ibms.is_none_or(|f| f.get() == d.ibms))
        .map(door_row)
        .collect();
    Ok(req.page(rows))
}

/// One 7.2 row: a permission group on one weekday, periods 1-7 (a period
/// `00:00:00`-`00:00:00` is unused, as the seed prints it).
#[derive(Serialize, JsonSchema)]
pub struct GrantRow {
    #[serde(rename = "GrantID")]
    pub grant_id: String,
    #[serde(rename = "GrantName")]
    pub grant_name: String,
    #[serde(rename = "TimeGroupID")]
    pub time_group_id: String,
    #[serde(rename = "TimeGroupName")]
    pub time_group_name: String,
    #[serde(rename = "WeekNo")]
    pub week_no: String,
    #[serde(rename = "Start1")]
    pub start1: String,
    #[serde(rename = "End1")]
    pub end1: String,
    #[serde(rename = "Start2")]
    pub start2: String,
    #[serde(rename = "End2")]
    pub end2: String,
    #[serde(rename = "Start3")]
    pub start3: String,
    #[serde(rename = "End3")]
    pub end3: String,
    #[serde(rename = "Start4")]
    pub start4: String,
    #[serde(rename = "End4")]
    pub end4: String,
    #[serde(rename = "Start5")]
    pub start5: String,
    #[serde(rename = "End5")]
    pub end5: String,
    #[serde(rename = "Start6")]
    pub start6: String,
    #[serde(rename = "End6")]
    pub end6: String,
    #[serde(rename = "Start7")]
    pub start7: String,
    #[serde(rename = "End7")]
    pub end7: String,
}

const UNUSED: &str = "00:00:00";

/// 7.2: one row per group and weekday; a group without a time group is one
/// row with no periods.
async fn grants(ctx: Ctx, req: Req, _input: Empty) -> ApiResult<Vec<GrantRow>> {
    let b = req.branchno();
    let tgs = store::time_groups(ctx.store(), b).await?;
    let mut rows = Vec::new();
    for g in store::grants(ctx.store(), b).await? {
        let tg = tgs.iter().find(|t| t.id == g.time_group);
        let days: Vec<(String, Vec<(String, String)>)> = match tg {
            Some(t) => t.days.iter().enumerate().map(|(i, ps)| (i.to_string(), ps.iter().map(|p| (p.start.clone(), p.end.clone())).collect())).collect(),
            None => vec![(String::new(), Vec::new())],
        };
        for (week, ps) in days {
            let p = |i: usize| ps.get(i).cloned().unwrap_or_else(|| (UNUSED.into(), UNUSED.into()));
            let [p1, p2, p3, p4, p5, p6, p7] = [p(0), p(1), p(2), p(3), p(4), p(5), p(6)];
            rows.push(GrantRow {
                grant_id: g.id.clone(),
                grant_name: g.name.clone(),
                time_group_id: tg.map(|t| t.id.clone()).unwrap_or_default(),
                time_group_name: tg.map(|t| t.name.clone()).unwrap_or_default(),
                week_no: week,
                start1: p1.0,
                end1: p1.1,
                start2: p2.0,
                end2: p2.1,
                start3: p3.0,
                end3: p3.1,
                start4: p4.0,
                end4: p4.1,
                start5: p5.0,
                end5: p5.1,
                start6: p6.0,
                end6: p6.1,
                start7: p7.0,
                end7: p7.1,
            });
        }
    }
    Ok(rows)
}

#[derive(Serialize, JsonSchema)]
pub struct BluetoothRow {
    #[serde(rename = "DoorName")]
    pub door_name: String,
    #[serde(rename = "BDID")]
    pub bdid: String,
}

/// 7.11.
async fn bluetooth(ctx: Ctx, req: Req, _input: Empty) -> ApiResult<Vec<BluetoothRow>> {
    Ok(store::bluetooth(ctx.store(), req.branchno()).await?.into_iter().map(|b| BluetoothRow { door_name: b.door_name, bdid: b.bdid }).collect())
}

/// 7.13 input.
#[derive(Deserialize, JsonSchema)]
pub struct IbmsEnableIn {
    pub controllerno: Text,
    pub doorno: Text,
    /// 1 enable, 0 not.
    pub enable: Int,
}

/// 7.13: the door's IBMS mode, which 7.14 checks.
async fn ibms_enable(ctx: Ctx, req: Req, input: IbmsEnableIn) -> ApiResult<Null> {
    let on = match input.enable.get() {
        0 => false,
        1 => true,
        v => return Err(ApiError::field("enable", format!("'{v}' is not 0 or 1"))),
    };
    let b = req.branchno();
    let Some(mut d) = store::door(ctx.store(), b, &input.controllerno, &input.doorno).await? else {
        return Err(ApiError::field("doorno", format!("no door {}-{} in branch {b}", input.controllerno.as_str(), input.doorno.as_str())));
    };
    d.ibms = on;
    store::put_door(ctx.store(), b, &d).await?;
    site::changed(&ctx, b).await;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("acss.doorSet.list", door_list),
        kit::read("acss.grants.get", grants),
        kit::read("acss.doorBluetooth.list", bluetooth),
        kit::write("acss.door.ibms.enable", ibms_enable),
    ]
}
