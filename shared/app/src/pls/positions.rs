//! Where cars are parked: the position records that status reports open and
//! close (`status.rs`), read by plate (8.5, 8.17, 8.18), by space (8.6, 8.19)
//! and for their picture (8.16).
//!
//! 8.18 without `startTime` starts from the car's entry into the park when it
//! is in the park now (the seed's "entry time"), else from its first record.
//! 8.19 answers the latest picture taken of the space: the seed leaves open
//! whether the call triggers a capture, and the site's cameras send a
//! picture with every status change (9.14), so the latest one is the capture.

use super::model::{Position, Space};
use super::store;
use crate::keys;
use crate::park::stays;
use crate::pictures;
use onecard_core::kit::{self, stamp, DateTime, Flag, Plate, RouteDef, Text};
use onecard_core::kit::CredentialType;
use onecard_core::store::{ItemStore, Query, StoreResult};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn parse_all(items: Vec<onecard_core::store::Item>) -> StoreResult<Vec<Position>> {
    items.iter().map(|i| i.parse()).collect()
}

/// A car's records, oldest first.
pub async fn of_car(s: &dyn ItemStore, branch: &str, plate: &str) -> StoreResult<Vec<Position>> {
    parse_all(s.query_all(&Query::partition(keys::pls_car_positions(branch, plate))).await?)
}

/// A space's records, oldest first.
pub async fn of_space(s: &dyn ItemStore, branch: &str, space_no: &str) -> StoreResult<Vec<Position>> {
    parse_all(s.query_all(&Query::partition(keys::pls_space_positions(branch, space_no))).await?)
}

/// The space a car is in now, if a detector or partner put it in one.
pub async fn current_of_car(s: &dyn ItemStore, branch: &str, plate: &str) -> StoreResult<Option<Position>> {
    let latest = s.query_all(&Query::partition(keys::pls_car_positions(branch, plate)).backward().limit(1)).await?;
    Ok(parse_all(latest)?.into_iter().find(|p| p.out_at.is_none()))
}

/// The car in a space now, if known.
pub async fn open_of_space(s: &dyn ItemStore, branch: &str, space: &Space) -> StoreResult<Option<Position>> {
    let Some(sk) = &space.open_record else { return Ok(None) };
    match s.get(&keys::pls_space_positions(branch, &space.no), sk).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// A record's picture as a URL: the blob store's, else the detector's own.
async fn img_url(ctx: &Ctx, p: &Position) -> String {
    if let Some(key) = &p.image_key {
        match ctx.blobs().url(key).await {
            Ok(Some(u)) => return u,
            Ok(None) => {}
            Err(e) => tracing::warn!(key, error = %e, "picture URL not made"),
        }
    }
    p.img_url.clone().unwrap_or_default()
}

/// 8.5 / 8.6 output.
#[derive(Serialize, JsonSchema)]
pub struct PosOut {
    #[serde(rename = "LicensePlate")]
    pub plate: String,
    #[serde(rename = "ParkLotName")]
    pub space: String,
    #[serde(rename = "FloorName")]
    pub floor: String,
    #[serde(rename = "ImgUrl")]
    pub img_url: String,
    #[serde(rename = "InDate", skip_serializing_if = "Option::is_none")]
    pub in_date: Option<String>,
    /// Minutes in the space so far.
    #[serde(rename = "ParkingTime", skip_serializing_if = "Option::is_none")]
    pub parking_time: Option<String>,
}

/// 8.5 input.
#[derive(Deserialize, JsonSchema)]
pub struct ByPlateIn {
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
    #[serde(rename = "allowReturnInDate", alias = "AllowReturnInDate")]
    pub with_in_date: Option<Flag>,
}

/// 8.5 / 8.6 answer without the in-date (8.5 adds it on request).
async fn pos_out(ctx: &Ctx, p: &Position) -> PosOut {
    PosOut { plate: p.plate.clone(), space: p.space_name.clone(), floor: p.floor_name.clone(), img_url: img_url(ctx, p).await, in_date: None, parking_time: None }
}

fn not_parked(plate: &str) -> ApiError {
    ApiError::new(Code::CAR_NOT_IN_PARK, format!("car {plate} is not in any parking space"))
}

async fn by_plate(ctx: Ctx, req: Req, input: ByPlateIn) -> ApiResult<PosOut> {
    let p = current_of_car(ctx.store(), req.branchno(), input.plate.norm()).await?.ok_or_else(|| not_parked(input.plate.norm()))?;
    let mut out = pos_out(&ctx, &p).await;
    if input.with_in_date.is_some_and(Flag::get) {
        let minutes = onecard_core::time::parse(&p.in_at).map(|t| (req.now - t).num_minutes().max(0)).unwrap_or(0);
        out.in_date = Some(p.in_at);
        out.parking_time = Some(minutes.to_string());
    }
    Ok(out)
}

/// 8.6 input.
#[derive(Deserialize, JsonSchema)]
pub struct BySpaceIn {
    #[serde(rename = "parkLotName")]
    pub name: Text,
}

async fn space_named(ctx: &Ctx, req: &Req, name: &str, field: &str) -> ApiResult<Space> {
    let b = req.branchno();
    let found = match store::space_by_no_or_name(ctx.store(), b, None, Some(name)).await? {
        Some(s) => Some(s),
        None => store::space_by_no_or_name(ctx.store(), b, Some(name), None).await?,
    };
    Ok(found.ok_or_else(|| ApiError::field(field, format!("parking space '{name}' does not exist")))?.0)
}

async fn by_space(ctx: Ctx, req: Req, input: BySpaceIn) -> ApiResult<PosOut> {
    let space = space_named(&ctx, &req, &input.name, "parkLotName").await?;
    let p = open_of_space(ctx.store(), req.branchno(), &space).await?.ok_or_else(|| ApiError::failed(format!("no known car is in parking space {}", space.name)))?;
    Ok(pos_out(&ctx, &p).await)
}

/// 8.16-8.18 input: a plate or a space.
#[derive(Deserialize, JsonSchema)]
pub struct CarOrSpaceIn {
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "parkLotName")]
    pub space: Option<Text>,
    /// 8.17.
    #[serde(rename = "lastTime")]
    pub last_time: Option<DateTime>,
    /// 8.18.
    #[serde(rename = "startTime")]
    pub start_time: Option<DateTime>,
}

fn one_of() -> ApiError {
    ApiError::field("licensePlate", "or parkLotName is required")
}

/// 8.16 output.
#[derive(Serialize, JsonSchema)]
pub struct ImgOut {
    #[serde(rename = "licensePlate")]
    pub plate: String,
    #[serde(rename = "parkLotName")]
    pub space: String,
    pub img: String,
}

async fn parking_img(ctx: Ctx, req: Req, input: CarOrSpaceIn) -> ApiResult<ImgOut> {
    let b = req.branchno();
    let p = match (&input.plate, &input.space) {
        (Some(plate), _) => current_of_car(ctx.store(), b, plate.norm()).await?.ok_or_else(|| not_parked(plate.norm()))?,
        (None, Some(name)) => {
            let space = space_named(&ctx, &req, name, "parkLotName").await?;
            open_of_space(ctx.store(), b, &space).await?.ok_or_else(|| ApiError::failed(format!("no known car is in parking space {}", space.name)))?
        }
        (None, None) => return Err(one_of()),
    };
    let key = p.image_key.as_deref().ok_or_else(|| ApiError::failed(format!("no picture was taken of {} in {}", p.plate, p.space_name)))?;
    let img = pictures::read_base64(&ctx, key)
        .await
        .map_err(|e| ApiError::system(format!("picture {key}: {e}")))?
        .ok_or_else(|| ApiError::failed(format!("the picture of {} in {} has not reached the cloud yet", p.plate, p.space_name)))?;
    Ok(ImgOut { plate: p.plate, space: p.space_name, img })
}

/// 8.17 / 8.18 output.
#[derive(Serialize, JsonSchema)]
pub struct RecordOut {
    #[serde(rename = "LicensePlate")]
    pub plate: String,
    #[serde(rename = "ParkLotName")]
    pub space: String,
    #[serde(rename = "FloorName")]
    pub floor: String,
    #[serde(rename = "ImgUrl")]
    pub img_url: String,
    /// The picture's key in the blob store (the seed's file path).
    #[serde(rename = "ImgPath")]
    pub img_path: String,
    #[serde(rename = "InDate")]
    pub in_date: String,
    #[serde(rename = "OutDate")]
    pub out_date: String,
}

async fn record_out(ctx: &Ctx, p: Position) -> RecordOut {
    RecordOut {
        img_url: img_url(ctx, &p).await,
        img_path: p.image_key.clone().unwrap_or_default(),
        plate: p.plate,
        space: p.space_name,
        floor: p.floor_name,
        in_date: p.in_at,
        out_date: p.out_at.unwrap_or_default(),
    }
}

async fn records_of(ctx: &Ctx, req: &Req, input: &CarOrSpaceIn) -> ApiResult<(Vec<Position>, String)> {
    let b = req.branchno();
    match (&input.plate, &input.space) {
        (Some(plate), _) => Ok((of_car(ctx.store(), b, plate.norm()).await?, plate.norm().to_string())),
        (None, Some(name)) => {
            let space = space_named(ctx, req, name, "parkLotName").await?;
            Ok((of_space(ctx.store(), b, &space.no).await?, space.name))
        }
        (None, None) => Err(one_of()),
    }
}

/// 8.17: the latest record entered or left at or after `lastTime`.
async fn last_pos(ctx: Ctx, req: Req, input: CarOrSpaceIn) -> ApiResult<RecordOut> {
    let (records, what) = records_of(&ctx, &req, &input).await?;
    let since = input.last_time.map(|t| stamp(t.get()));
    let p = records
        .into_iter()
        .filter(|p| since.as_ref().is_none_or(|s| p.in_at >= *s || p.out_at.as_ref().is_some_and(|o| o >= s)))
        .max_by(|a, b| a.in_at.cmp(&b.in_at))
        .ok_or_else(|| ApiError::failed(format!("no parking record of {what}")))?;
    Ok(record_out(&ctx, p).await)
}

/// 8.18: the first record after `startTime` (see the module doc when absent).
async fn first_pos(ctx: Ctx, req: Req, input: CarOrSpaceIn) -> ApiResult<RecordOut> {
    let (records, what) = records_of(&ctx, &req, &input).await?;
    let start = match (input.start_time, &input.plate) {
        (Some(t), _) => Some(stamp(t.get())),
        (None, Some(plate)) => stays::find(&ctx, req.branchno(), CredentialType::Plate, plate.norm()).await?.map(|(s, _)| stamp(s.entry)),
        (None, None) => None,
    };
    let p = records
        .into_iter()
        .filter(|p| start.as_ref().is_none_or(|s| p.in_at > *s))
        .min_by(|a, b| a.in_at.cmp(&b.in_at))
        .ok_or_else(|| ApiError::failed(format!("no parking record of {what}")))?;
    Ok(record_out(&ctx, p).await)
}

/// 8.19 input.
#[derive(Deserialize, JsonSchema)]
pub struct ManualIn {
    #[serde(rename = "parkLotNo")]
    pub no: Text,
}

/// 8.19 output.
#[derive(Serialize, JsonSchema)]
pub struct ManualOut {
    #[serde(rename = "LicensePlate")]
    pub plate: String,
    #[serde(rename = "ParkLotNo")]
    pub no: String,
    #[serde(rename = "ParkLotName")]
    pub space: String,
    #[serde(rename = "FloorName")]
    pub floor: String,
    #[serde(rename = "ImgPath")]
    pub img_path: String,
    #[serde(rename = "InDate")]
    pub in_date: String,
    #[serde(rename = "OutDate")]
    pub out_date: String,
}

async fn manual_img(ctx: Ctx, req: Req, input: ManualIn) -> ApiResult<ManualOut> {
    let b = req.branchno();
    let (space, _) = store::get::<Space>(ctx.store(), b, &input.no)
        .await?
        .ok_or_else(|| ApiError::field("parkLotNo", format!("parking space '{}' does not exist", input.no)))?;
    let p = of_space(ctx.store(), b, &space.no)
        .await?
        .into_iter()
        .filter(|p| p.image_key.is_some() || p.img_url.is_some())
        .max_by(|a, b| a.in_at.cmp(&b.in_at))
        .ok_or_else(|| ApiError::failed(format!("no picture was taken of parking space {}", space.name)))?;
    Ok(ManualOut {
        plate: p.plate,
        no: space.no,
        space: space.name,
        floor: p.floor_name,
        img_path: p.image_key.or(p.img_url).unwrap_or_default(),
        in_date: p.in_at,
        out_date: p.out_at.unwrap_or_default(),
    })
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pls.car.pos.getByLP", by_plate),
        kit::read("pls.car.pos.getByNo", by_space),
        kit::read("pls.parking.img.get", parking_img),
        kit::read("pls.car.last.pos.get", last_pos),
        kit::read("pls.car.first.pos.get", first_pos),
        kit::read("pls.manual.img.get", manual_img),
    ]
}
