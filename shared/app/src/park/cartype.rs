//! Car types, 6.87-6.90. A car type chooses which temporary tariff prices a stay
//! and is bound by cards; at most one is the branch's default.

use crate::{ids, keys};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Data, Registry, Reply, Req};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

fn opt_measure(d: &Data, name: &str) -> ApiResult<Option<f64>> {
    match d.opt_str(name)? {
        None => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(ApiError::field(name, format!("'{s}' is not a non-negative decimal"))),
        },
    }
}

impl CarType {
    fn from_request(id: i64, d: &Data) -> ApiResult<CarType> {
        let name = d.str("carTypeName")?;
        if name.chars().count() > 50 {
            return Err(ApiError::field("carTypeName", "is longer than 50 characters"));
        }
        let free_min = d.opt_i64("freeMin")?;
        if free_min.is_some_and(|m| m < 0) {
            return Err(ApiError::field("freeMin", "must not be negative"));
        }
        Ok(CarType {
            id,
            name,
            height: opt_measure(d, "height")?,
            weight: opt_measure(d, "weight")?,
            default_charge: d.opt_bool("defaultCharge")?.unwrap_or(false),
            etc_car_type: d.opt_i64("eTCCarType")?,
            auto_identify: d.opt_i64("autoIdentify")?,
            time_ltd: d.opt_bool("timeLtd")?.unwrap_or(false),
            free_min,
            stored_ltd: d.opt_bool("storedLtd")?.unwrap_or(false),
            plate_color: d.opt_str("plateColor")?,
            not_in_center_charge: d.opt_bool("notInCenterCharge")?.unwrap_or(false),
            description: d.opt_str("description")?,
        })
    }

    /// The 6.90 row; the section's table gives types, so they are answered typed.
    pub fn to_wire(&self, details: bool) -> Value {
        let mut v = json!({
            "carTypeId": self.id,
            "carTypeName": self.name,
            "defaultCharge": self.default_charge,
        });
        if details {
            let m = v.as_object_mut().expect("object literal");
            m.insert("height".into(), json!(self.height));
            m.insert("weight".into(), json!(self.weight));
            m.insert("eTCCarType".into(), json!(self.etc_car_type));
            m.insert("autoIdentify".into(), json!(self.auto_identify));
            m.insert("timeLtd".into(), json!(self.time_ltd));
            m.insert("freeMin".into(), json!(self.free_min));
            m.insert("storedLtd".into(), json!(self.stored_ltd));
            m.insert("plateColor".into(), json!(self.plate_color));
            m.insert("notInCenterCharge".into(), json!(self.not_in_center_charge));
            m.insert("description".into(), json!(self.description));
        }
        v
    }

    fn item(&self, branch: &str) -> Item {
        Item::new(keys::car_types(branch), keys::id_sk(self.id), serde_json::to_value(self).unwrap_or_default())
    }
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
pub async fn create(ctx: &Ctx, branch: &str, d: &Data) -> ApiResult<CarType> {
    // Validate before drawing an id, so bad input does not burn ids.
    let probe = CarType::from_request(0, d)?;
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

async fn add(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let t = create(&ctx, req.branchno(), &req.data).await?;
    Ok(Reply::data(json!({ "carTypeId": t.id })))
}

async fn update(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let id = req.data.i64("carTypeId")?;
    let pk = keys::car_types(req.branchno());
    let old = ctx.store.get(&pk, &keys::id_sk(id)).await?.ok_or_else(|| ApiError::field("carTypeId", format!("car type {id} does not exist")))?;
    let t = CarType::from_request(id, &req.data)?;
    if t.default_charge {
        ensure_no_other_default(&ctx, req.branchno(), Some(id)).await?;
    }
    let item = t.item(req.branchno()).with_version(old.version + 1);
    ctx.store.put(item, Cond::VersionIs(old.version)).await?;
    Ok(Reply::data(Value::Null))
}

async fn delete(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let id = req.data.i64("carTypeId")?;
    let branch = req.branchno();
    if get(&ctx, branch, id).await?.is_none() {
        return Err(ApiError::field("carTypeId", format!("car type {id} does not exist")));
    }
    if let Some(binding) = crate::bindings::car_type_binding(&ctx, branch, id).await? {
        return Err(ApiError::failed(format!("car type {id} is bound to {binding} and cannot be deleted")));
    }
    ctx.store.delete(&keys::car_types(branch), &keys::id_sk(id), Cond::MustExist).await?;
    Ok(Reply::data(Value::Null))
}

async fn query(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let details = req.data.opt_bool("isDetails")?.unwrap_or(false);
    let only = req.data.opt_i64("carTypeID")?.or(req.data.opt_i64("carTypeId")?);
    let rows = list(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|t| only.is_none_or(|id| t.id == id))
        .map(|t| t.to_wire(details))
        .collect();
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.cartype.add", handler(add));
    reg.handle("park.cartype.update", handler(update));
    reg.handle("park.cartype.delete", handler(delete));
    reg.handle("park.cartype.query", handler(query));
}
