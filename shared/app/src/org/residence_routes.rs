//! 10.20-10.35: list, add, update and delete communities, buildings, units
//! and rooms. "Add" answers an object with the new id although the seed's
//! headings say "array" (its examples are objects). The printed aliases
//! (`pub.hructown.add`, `pub.hraptown.*`) are served by the registry.

use super::residence::{self, Detail, Level, Node};
use onecard_core::kit::{self, Empty, Int, Null, Page, RouteDef, Text};
use onecard_core::{ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ---- communities (小区) ----

/// 10.20 row.
#[derive(Serialize, JsonSchema)]
pub struct CommunityRow {
    #[serde(rename = "UptownID")]
    pub id: String,
    #[serde(rename = "UpTown")]
    pub name: String,
}

/// 10.21 input.
#[derive(Deserialize, JsonSchema)]
pub struct CommunityAdd {
    #[serde(rename = "UpTown", alias = "Uptown")]
    pub name: Text,
}

/// 10.21 output.
#[derive(Serialize, JsonSchema)]
pub struct CommunityId {
    #[serde(rename = "UptownID")]
    pub id: String,
}

/// 10.22 input.
#[derive(Deserialize, JsonSchema)]
pub struct CommunityUpdate {
    #[serde(rename = "UptownID", alias = "UpTownID")]
    pub id: Int,
    #[serde(rename = "UpTown", alias = "Uptown")]
    pub name: Text,
}

/// 10.23 input; 10.24 input (the community whose buildings to list).
#[derive(Deserialize, JsonSchema)]
pub struct CommunityKey {
    #[serde(rename = "UptownID", alias = "UpTownID")]
    pub id: Int,
}

async fn communities(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<CommunityRow>> {
    let all = residence::list(ctx.store(), req.branchno(), Level::Community).await?;
    Ok(req.page(all.into_iter().map(|n| CommunityRow { id: n.id.to_string(), name: n.name }).collect()))
}

async fn community_add(ctx: Ctx, req: Req, i: CommunityAdd) -> ApiResult<CommunityId> {
    let n = residence::create(ctx.store(), req.branchno(), Level::Community, 0, &i.name, Detail::Plain, ("UptownID", "UpTown")).await?;
    Ok(CommunityId { id: n.id.to_string() })
}

async fn community_update(ctx: Ctx, req: Req, i: CommunityUpdate) -> ApiResult<Null> {
    residence::update(ctx.store(), req.branchno(), Level::Community, i.id.get(), &i.name, None, "UpTown").await?;
    Ok(Null)
}

async fn community_delete(ctx: Ctx, req: Req, i: CommunityKey) -> ApiResult<Null> {
    residence::delete(ctx.store(), req.branchno(), Level::Community, i.id.get()).await?;
    Ok(Null)
}

// ---- buildings (楼栋) ----

/// 10.24 row.
#[derive(Serialize, JsonSchema)]
pub struct BuildingRow {
    #[serde(rename = "UptownID")]
    pub community: String,
    #[serde(rename = "BuildID")]
    pub id: String,
    #[serde(rename = "Building")]
    pub name: String,
}

/// 10.25 input.
#[derive(Deserialize, JsonSchema)]
pub struct BuildingAdd {
    #[serde(rename = "UptownID", alias = "UpTownID")]
    pub community: Int,
    #[serde(rename = "Building")]
    pub name: Text,
}

/// 10.25 output.
#[derive(Serialize, JsonSchema)]
pub struct BuildingId {
    #[serde(rename = "BuildID")]
    pub id: String,
}

/// 10.26 input.
#[derive(Deserialize, JsonSchema)]
pub struct BuildingUpdate {
    #[serde(rename = "BuildID")]
    pub id: Int,
    #[serde(rename = "Building")]
    pub name: Text,
}

/// 10.27 input.
#[derive(Deserialize, JsonSchema)]
pub struct BuildingKey {
    #[serde(rename = "BuildID")]
    pub id: Int,
}

async fn buildings(ctx: Ctx, req: Req, i: CommunityKey) -> ApiResult<Page<BuildingRow>> {
    let (s, b) = (ctx.store(), req.branchno());
    residence::existing(s, b, Level::Community, i.id.get(), "UptownID").await?;
    let all = residence::children_of(s, b, Level::Building, i.id.get()).await?;
    Ok(req.page(all.into_iter().map(|n| BuildingRow { community: n.parent.to_string(), id: n.id.to_string(), name: n.name }).collect()))
}

async fn building_add(ctx: Ctx, req: Req, i: BuildingAdd) -> ApiResult<BuildingId> {
    let n = residence::create(ctx.store(), req.branchno(), Level::Building, i.community.get(), &i.name, Detail::Plain, ("UptownID", "Building")).await?;
    Ok(BuildingId { id: n.id.to_string() })
}

async fn building_update(ctx: Ctx, req: Req, i: BuildingUpdate) -> ApiResult<Null> {
    residence::update(ctx.store(), req.branchno(), Level::Building, i.id.get(), &i.name, None, "Building").await?;
    Ok(Null)
}

async fn building_delete(ctx: Ctx, req: Req, i: BuildingKey) -> ApiResult<Null> {
    residence::delete(ctx.store(), req.branchno(), Level::Building, i.id.get()).await?;
    Ok(Null)
}

// ---- units (单元) ----

/// 10.28 input: every unit when no building is named.
#[derive(Deserialize, JsonSchema)]
pub struct UnitFilter {
    #[serde(rename = "BuildID")]
    pub building: Option<Int>,
}

/// 10.28 row.
#[derive(Serialize, JsonSchema)]
pub struct UnitRow {
    #[serde(rename = "BuildID")]
    pub building: String,
    #[serde(rename = "CellID")]
    pub id: String,
    #[serde(rename = "Cells")]
    pub name: String,
    #[serde(rename = "Floors")]
    pub floors: String,
}

/// 10.29 input.
#[derive(Deserialize, JsonSchema)]
pub struct UnitAdd {
    #[serde(rename = "BuildID")]
    pub building: Int,
    #[serde(rename = "Cells")]
    pub name: Text,
    #[serde(rename = "Floors")]
    pub floors: Int,
    /// Below ground; fewer than `Floors`.
    #[serde(rename = "BasementFloors")]
    pub basement_floors: Option<Int>,
}

/// 10.29 output.
#[derive(Serialize, JsonSchema)]
pub struct UnitId {
    #[serde(rename = "CellID")]
    pub id: String,
}

/// 10.30 input. `Floors` and `BasementFloors` are not printed for 10.30; a
/// client that sends them changes them (a unit may not lose a floor with rooms).
#[derive(Deserialize, JsonSchema)]
pub struct UnitUpdate {
    #[serde(rename = "CellID")]
    pub id: Int,
    #[serde(rename = "Cells")]
    pub name: Text,
    #[serde(rename = "Floors")]
    pub floors: Option<Int>,
    #[serde(rename = "BasementFloors")]
    pub basement_floors: Option<Int>,
}

/// 10.31 input; 10.32 input (the unit whose rooms to list).
#[derive(Deserialize, JsonSchema)]
pub struct UnitKey {
    #[serde(rename = "CellID")]
    pub id: Int,
}

async fn units(ctx: Ctx, req: Req, i: UnitFilter) -> ApiResult<Page<UnitRow>> {
    let (s, b) = (ctx.store(), req.branchno());
    let all = match i.building.map(Int::get) {
        Some(id) => {
            residence::existing(s, b, Level::Building, id, "BuildID").await?;
            residence::children_of(s, b, Level::Unit, id).await?
        }
        None => residence::list(s, b, Level::Unit).await?,
    };
    let row = |n: Node| UnitRow { building: n.parent.to_string(), id: n.id.to_string(), floors: n.floors().0.to_string(), name: n.name };
    Ok(req.page(all.into_iter().map(row).collect()))
}

async fn unit_add(ctx: Ctx, req: Req, i: UnitAdd) -> ApiResult<UnitId> {
    let detail = Detail::Unit { floors: i.floors.get(), basement_floors: i.basement_floors.map_or(0, Int::get) };
    let n = residence::create(ctx.store(), req.branchno(), Level::Unit, i.building.get(), &i.name, detail, ("BuildID", "Cells")).await?;
    Ok(UnitId { id: n.id.to_string() })
}

async fn unit_update(ctx: Ctx, req: Req, i: UnitUpdate) -> ApiResult<Null> {
    let (s, b) = (ctx.store(), req.branchno());
    let detail = match (i.floors, i.basement_floors) {
        (None, None) => None,
        (floors, basement) => {
            let old = residence::existing(s, b, Level::Unit, i.id.get(), "CellID").await?.node.floors();
            Some(Detail::Unit { floors: floors.map_or(old.0, Int::get), basement_floors: basement.map_or(old.1, Int::get) })
        }
    };
    residence::update(s, b, Level::Unit, i.id.get(), &i.name, detail, "Cells").await?;
    Ok(Null)
}

async fn unit_delete(ctx: Ctx, req: Req, i: UnitKey) -> ApiResult<Null> {
    residence::delete(ctx.store(), req.branchno(), Level::Unit, i.id.get()).await?;
    Ok(Null)
}

// ---- rooms (房号) ----

/// 10.32 row.
#[derive(Serialize, JsonSchema)]
pub struct RoomRow {
    #[serde(rename = "CellID")]
    pub unit: String,
    #[serde(rename = "RoomID")]
    pub id: String,
    #[serde(rename = "Room")]
    pub name: String,
    #[serde(rename = "FloorNo")]
    pub floor_no: String,
    #[serde(rename = "DoorPlate")]
    pub door_plate: String,
}

/// 10.33 input.
#[derive(Deserialize, JsonSchema)]
pub struct RoomAdd {
    #[serde(rename = "CellID")]
    pub unit: Int,
    #[serde(rename = "Room")]
    pub name: Text,
    /// 1..Floors, or -1..-BasementFloors below ground.
    #[serde(rename = "FloorNo")]
    pub floor_no: Int,
    #[serde(rename = "DoorPlate")]
    pub door_plate: Option<Text>,
}

/// 10.33 output.
#[derive(Serialize, JsonSchema)]
pub struct RoomId {
    #[serde(rename = "RoomID")]
    pub id: String,
}

/// 10.34 input: a door plate left out keeps the stored one.
#[derive(Deserialize, JsonSchema)]
pub struct RoomUpdate {
    #[serde(rename = "RoomID")]
    pub id: Int,
    #[serde(rename = "Room")]
    pub name: Text,
    #[serde(rename = "FloorNo")]
    pub floor_no: Int,
    #[serde(rename = "DoorPlate")]
    pub door_plate: Option<Text>,
}

/// 10.35 input.
#[derive(Deserialize, JsonSchema)]
pub struct RoomKey {
    #[serde(rename = "RoomID")]
    pub id: Int,
}

async fn rooms(ctx: Ctx, req: Req, i: UnitKey) -> ApiResult<Page<RoomRow>> {
    let (s, b) = (ctx.store(), req.branchno());
    residence::existing(s, b, Level::Unit, i.id.get(), "CellID").await?;
    let all = residence::children_of(s, b, Level::Room, i.id.get()).await?;
    let row = |n: Node| RoomRow {
        unit: n.parent.to_string(),
        id: n.id.to_string(),
        floor_no: n.floor_no().unwrap_or(0).to_string(),
        door_plate: n.door_plate().to_string(),
        name: n.name,
    };
    Ok(req.page(all.into_iter().map(row).collect()))
}

async fn room_add(ctx: Ctx, req: Req, i: RoomAdd) -> ApiResult<RoomId> {
    let detail = Detail::Room { floor_no: i.floor_no.get(), door_plate: i.door_plate.map(String::from).unwrap_or_default() };
    let n = residence::create(ctx.store(), req.branchno(), Level::Room, i.unit.get(), &i.name, detail, ("CellID", "Room")).await?;
    Ok(RoomId { id: n.id.to_string() })
}

async fn room_update(ctx: Ctx, req: Req, i: RoomUpdate) -> ApiResult<Null> {
    let (s, b) = (ctx.store(), req.branchno());
    let door_plate = match i.door_plate {
        Some(d) => d.into_string(),
        None => residence::existing(s, b, Level::Room, i.id.get(), "RoomID").await?.node.door_plate().to_string(),
    };
    let detail = Detail::Room { floor_no: i.floor_no.get(), door_plate };
    residence::update(s, b, Level::Room, i.id.get(), &i.name, Some(detail), "Room").await?;
    Ok(Null)
}

async fn room_delete(ctx: Ctx, req: Req, i: RoomKey) -> ApiResult<Null> {
    residence::delete(ctx.store(), req.branchno(), Level::Room, i.id.get()).await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pub.hruptown.list", communities),
        kit::write("pub.hruptown.add", community_add),
        kit::write("pub.hruptown.update", community_update),
        kit::write("pub.hruptown.delete", community_delete),
        kit::read("pub.hrbuilding.list", buildings),
        kit::write("pub.hrbuilding.add", building_add),
        kit::write("pub.hrbuilding.update", building_update),
        kit::write("pub.hrbuilding.delete", building_delete),
        kit::read("pub.hrcell.list", units),
        kit::write("pub.hrcell.add", unit_add),
        kit::write("pub.hrcell.update", unit_update),
        kit::write("pub.hrcell.delete", unit_delete),
        kit::read("pub.hrroom.list", rooms),
        kit::write("pub.hrroom.add", room_add),
        kit::write("pub.hrroom.update", room_update),
        kit::write("pub.hrroom.delete", room_delete),
    ]
}
