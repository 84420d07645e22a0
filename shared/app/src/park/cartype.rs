//! Car types, 6.87-6.90. A car type chooses which temporary tariff prices a stay
//! and is bound by cards; at most one is the branch's default.

use crate::{ids, keys};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::kit::{self, Both, Decimal, Flag, Int, Null, Page, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CarType {
    pub id: i64,
    pub name: String,
    pub height: Option<f64>,
    pub weight: Option<f64>,
    pub default_charge: bool,
    pub etc_car_type: Option<i64>,
    pub auto_identify: Option<i64>,
    pub time_ltd: bool,
    pub free_min: Option<i64>,
    pub stored_ltd: bool,
    pub plate_color: Option<String>,
    pub not_in_center_charge: bool,
    pub description: Option<String>,
}

/// 6.87 / 6.88 input: the seed's names; 6.88 adds `carTypeId`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct CarTypeIn {
    #[serde(rename = "carTypeName")]
    pub name: Text,
    pub height: Option<Decimal>,
    pub weight: Option<Decimal>,
    #[serde(rename = "defaultCharge")]
    pub default_charge: Option<Flag>,
    #[serde(rename = "eTCCarType", alias = "etcCarType")]
    pub etc_car_type: Option<Int>,
    #[serde(rename = "autoIdentify")]
    pub auto_identify: Option<Int>,
    #[serde(rename = "timeLtd")]
    pub time_ltd: Option<Flag>,
    #[serde(rename = "freeMin")]
    pub free_min: Option<Int>,
    #[serde(rename = "storedLtd")]
    pub stored_ltd: Option<Flag>,
    #[serde(rename = "plateColor")]
    pub plate_color: Option<Text>,
    #[serde(rename = "notInCenterCharge")]
    pub not_in_center_charge: Option<Flag>,
    pub description: Option<Text>,
}

fn measure(v: Option<Decimal>, name: &str) -> ApiResult<Option<f64>> {
    match v {
        Some(Decimal(x)) if x < 0.0 => Err(ApiError::field(name, "must not be negative")),
        v => Ok(v.map(|d| d.0)),
    }
}

impl CarType {
    fn from_input(id: i64, d: &CarTypeIn) -> ApiResult<CarType> {
        if d.name.chars().count() > 50 {
            return Err(ApiError::field("carTypeName", "is longer than 50 characters"));
        }
        let free_min = d.free_min.map(Int::get);
        if free_min.is_some_and(|m| m < 0) {
            return Err(ApiError::field("freeMin", "must not be negative"));
        }
        let flag = |f: Option<Flag>| f.is_some_and(Flag::get);
        Ok(CarType {
            id,
            name: d.name.to_string(),
            height: measure(d.height, "height")?,
            weight: measure(d.weight, "weight")?,
            default_charge: flag(d.default_charge),
            etc_car_type: d.etc_car_type.map(Int::get),
            auto_identify: d.auto_identify.map(Int::get),
            time_ltd: flag(d.time_ltd),
            free_min,
            stored_ltd: flag(d.stored_ltd),
            plate_color: d.plate_color.clone().map(String::from),
            not_in_center_charge: flag(d.not_in_center_charge),
            description: d.description.clone().map(String::from),
        })
    }

    /// The 6.90 row; the section's table gives types, so they are answered typed.
    pub fn to_row(&self, details: bool) -> CarTypeRow {
        let d = details.then(|| CarTypeDetails {
            height: self.height,
            weight: self.weight,
            etc_car_type: self.etc_car_type,
            auto_identify: self.auto_identify,
            time_ltd: self.time_ltd,
            free_min: self.free_min,
            stored_ltd: self.stored_ltd,
            plate_color: self.plate_color.clone(),
            not_in_center_charge: self.not_in_center_charge,
            description: self.description.clone(),
        });
        CarTypeRow { id: self.id, name: self.name.clone(), default_charge: self.default_charge, details: d }
    }

    fn item(&self, branch: &str) -> Item {
        Item::new(keys::car_types(branch), keys::id_sk(self.id), serde_json::to_value(self).unwrap_or_default())
    }
}

/// A 6.90 row: the summary, and the details when `isDetails` asks.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CarTypeRow {
    #[serde(rename = "carTypeId")]
    pub id: i64,
    #[serde(rename = "carTypeName")]
    pub name: String,
    #[serde(rename = "defaultCharge")]
    pub default_charge: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<CarTypeDetails>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CarTypeDetails {
    pub height: Option<f64>,
    pub weight: Option<f64>,
    #[serde(rename = "eTCCarType")]
    pub etc_car_type: Option<i64>,
    #[serde(rename = "autoIdentify")]
    pub auto_identify: Option<i64>,
    #[serde(rename = "timeLtd")]
    pub time_ltd: bool,
    #[serde(rename = "freeMin")]
    pub free_min: Option<i64>,
    #[serde(rename = "storedLtd")]
    pub stored_ltd: bool,
    #[serde(rename = "plateColor")]
    pub plate_color: Option<String>,
    #[serde(rename = "notInCenterCharge")]
    pub not_in_center_charge: bool,
    pub description: Option<String>,
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<CarType>> {
    let items = ctx.store.query_all(&Query::partition(keys::car_types(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<CarType>> {
    match ctx.store.get(&keys::car_types(branch), &keys::id_sk(id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// The car type `calc` uses when the caller names none (`carType` absent or -1).
pub async fn default_type(ctx: &Ctx, branch: &str) -> ApiResult<Option<CarType>> {
    Ok(list(ctx, branch).await?.into_iter().find(|t| t.default_charge))
}

/// Creates a car type (admin seeding uses it too).
pub async fn create(ctx: &Ctx, branch: &str, d: &CarTypeIn) -> ApiResult<CarType> {
    // Validate before drawing an id, so bad input does not burn ids.
    let probe = CarType::from_input(0, d)?;
    if probe.default_charge {
        ensure_no_other_default(ctx, branch, None).await?;
    }
    let id = ids::next_id(ctx, branch, "cartype").await?;
    let t = CarType { id, ..probe };
    ctx.store.put(t.item(branch), Cond::MustNotExist).await?;
    Ok(t)
}

async fn ensure_no_other_default(ctx: &Ctx, branch: &str, except: Option<i64>) -> ApiResult<()> {
    if let Some(other) = list(ctx, branch).await?.into_iter().find(|t| t.default_charge && Some(t.id) != except) {
        return Err(ApiError::field(
            "defaultCharge",
            format!("car type {} ({}) is already the default; only one may be", other.id, other.name),
        ));
    }
    Ok(())
}

/// 6.87 output.
#[derive(Serialize, JsonSchema)]
pub struct AddOut {
    #[serde(rename = "carTypeId")]
    pub id: i64,
}

async fn add(ctx: Ctx, req: Req, input: CarTypeIn) -> ApiResult<AddOut> {
    let t = create(&ctx, req.branchno(), &input).await?;
    Ok(AddOut { id: t.id })
}

/// 6.88 input: the car type to change (its fields are 6.87's).
#[derive(Deserialize, JsonSchema)]
pub struct CarTypeKey {
    #[serde(rename = "carTypeId", alias = "carTypeID")]
    pub id: Int,
}

async fn update(ctx: Ctx, req: Req, Both(key, fields): Both<CarTypeKey, CarTypeIn>) -> ApiResult<Null> {
    let id = key.id.get();
    let pk = keys::car_types(req.branchno());
    let old = ctx.store.get(&pk, &keys::id_sk(id)).await?.ok_or_else(|| ApiError::field("carTypeId", format!("car type {id} does not exist")))?;
    let t = CarType::from_input(id, &fields)?;
    if t.default_charge {
        ensure_no_other_default(&ctx, req.branchno(), Some(id)).await?;
    }
    let item = t.item(req.branchno()).with_version(old.version + 1);
    ctx.store.put(item, Cond::VersionIs(old.version)).await?;
    Ok(Null)
}

async fn delete(ctx: Ctx, req: Req, input: CarTypeKey) -> ApiResult<Null> {
    let id = input.id.get();
    let branch = req.branchno();
    if get(&ctx, branch, id).await?.is_none() {
        return Err(ApiError::field("carTypeId", format!("car type {id} does not exist")));
    }
    if let Some(binding) = crate::bindings::car_type_binding(&ctx, branch, id).await? {
        return Err(ApiError::failed(format!("car type {id} is bound to {binding} and cannot be deleted")));
    }
    ctx.store.delete(&keys::car_types(branch), &keys::id_sk(id), Cond::MustExist).await?;
    Ok(Null)
}

/// 6.90 input.
#[derive(Deserialize, JsonSchema)]
pub struct QueryIn {
    #[serde(rename = "carTypeID", alias = "carTypeId")]
    pub id: Option<Int>,
    #[serde(rename = "isDetails")]
    pub details: Option<Flag>,
}

async fn query(ctx: Ctx, req: Req, input: QueryIn) -> ApiResult<Page<CarTypeRow>> {
    let details = input.details.is_some_and(Flag::get);
    let only = input.id.map(Int::get);
    let rows = list(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|t| only.is_none_or(|id| t.id == id))
        .map(|t| t.to_row(details))
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.cartype.add", add),
        kit::write("park.cartype.update", update),
        kit::write("park.cartype.delete", delete),
        kit::read("park.cartype.query", query),
    ]
}
