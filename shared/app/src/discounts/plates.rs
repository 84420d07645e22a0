//! Plate discounts (6.106-6.108): a plate gets a merchant's discount set
//! inside a window of time. `calc` applies it by itself to an order of that
//! plate (once per stay); the payment charges the merchant for it.

use super::kinds::positive;
use super::car_index::{self, Change, Entry};
use super::sets;
use crate::keys;
use crate::merchants;
use chrono::NaiveDateTime;
use onecard_core::fields::normalize_plate;
use onecard_core::kit::{self, DateTime, Int, Null, Plate, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateDiscount {
    pub id: i64,
    /// As given, and normalised for matching.
    pub plate: String,
    pub plate_norm: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub business_id: i64,
    pub discount_id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub comment: String,
}

impl PlateDiscount {
    fn item(&self, branch: &str, version: u64) -> Item {
        Item::new(keys::plate_discounts(branch), keys::id_sk(self.id), serde_json::to_value(self).unwrap_or_default()).with_version(version)
    }

    /// Does it cover `plate` at `at`?
    pub fn covers(&self, plate: &str, at: NaiveDateTime) -> bool {
        self.plate_norm == normalize_plate(plate) && self.start <= at && at <= self.end
    }

    async fn check(&self, ctx: &Ctx, branch: &str) -> ApiResult<()> {
        kit::check_window(self.start, self.end, "endTime")?;
        merchants::must_get(ctx, branch, self.business_id).await?;
        sets::must_get(ctx, branch, self.business_id, self.discount_id).await?;
        Ok(())
    }
}

pub async fn get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<PlateDiscount>> {
    match ctx.store.get(&keys::plate_discounts(branch), &keys::id_sk(id)).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<PlateDiscount>> {
    let items = ctx.store.query_all(&Query::partition(keys::plate_discounts(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// The use record that makes a plate discount apply once per stay.
pub fn use_key(id: i64, card_in_id: &str) -> String {
    format!("plate#{id}#{card_in_id}")
}

/// 6.106 input.
#[derive(Deserialize, JsonSchema)]
pub struct AddIn {
    #[serde(rename = "licensePlate")]
    pub plate: Plate,
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "endTime")]
    pub end: DateTime,
    #[serde(rename = "businessId", alias = "businessID")]
    pub business_id: Int,
    #[serde(rename = "discountId", alias = "discountID")]
    pub discount_id: Int,
    pub name: Option<Text>,
    pub mobile: Option<Text>,
    pub comment: Option<Text>,
}

/// 6.106 output: the seed types the id int.
#[derive(Serialize, JsonSchema)]
pub struct AddOut {
    #[serde(rename = "plateDiscountId")]
    pub id: i64,
}

fn text(t: &Option<Text>) -> String {
    t.as_deref().unwrap_or_default().to_string()
}

async fn add(ctx: Ctx, req: Req, input: AddIn) -> ApiResult<AddOut> {
    let b = req.branchno();
    let mut d = PlateDiscount {
        id: 0,
        plate: input.plate.to_string(),
        plate_norm: normalize_plate(input.plate.norm()),
        start: input.start.get(),
        end: input.end.get(),
        business_id: positive(input.business_id, "businessId")?,
        discount_id: positive(input.discount_id, "discountId")?,
        name: text(&input.name),
        mobile: text(&input.mobile),
        comment: text(&input.comment),
    };
    d.check(&ctx, b).await?;
    d.id = crate::ids::next_id(&ctx, b, "platediscount").await?;
    // A conflict is another change of the car's discounts: read them again.
    on_conflict("plate discount not added", || async {
        let mut writes = vec![Write::put(d.item(b, 1), Cond::MustNotExist)];
        writes.extend(car_index::writes(&ctx, b, &[Change::Add(d.plate_norm.clone(), Entry::Plate(d.id))]).await?);
        Step::of(ctx.store.transact(writes).await, ())
    })
    .await?;
    Ok(AddOut { id: d.id })
}

/// 6.107 input: the record, and any field to change.
#[derive(Deserialize, JsonSchema)]
pub struct EditIn {
    #[serde(rename = "plateDiscountId")]
    pub id: Int,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "startTime")]
    pub start: Option<DateTime>,
    #[serde(rename = "endTime")]
    pub end: Option<DateTime>,
    #[serde(rename = "businessId", alias = "businessID")]
    pub business_id: Option<Int>,
    #[serde(rename = "discountId", alias = "discountID")]
    pub discount_id: Option<Int>,
    pub name: Option<Text>,
    pub mobile: Option<Text>,
    pub comment: Option<Text>,
}

fn missing(id: i64) -> ApiError {
    ApiError::field("plateDiscountId", format!("plate discount {id} does not exist"))
}

async fn edit(ctx: Ctx, req: Req, input: EditIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    on_conflict("plate discount not changed", || async {
        let item = ctx.store.get(&keys::plate_discounts(b), &keys::id_sk(id)).await?.ok_or_else(|| missing(id))?;
        let mut d: PlateDiscount = item.parse()?;
        let old_plate = d.plate_norm.clone();
        if let Some(p) = &input.plate {
            d.plate = p.to_string();
            d.plate_norm = normalize_plate(p.norm());
        }
        if let Some(s) = input.start {
            d.start = s.get();
        }
        if let Some(e) = input.end {
            d.end = e.get();
        }
        if let Some(x) = input.business_id {
            d.business_id = positive(x, "businessId")?;
        }
        if let Some(x) = input.discount_id {
            d.discount_id = positive(x, "discountId")?;
        }
        for (field, value) in [(&mut d.name, &input.name), (&mut d.mobile, &input.mobile), (&mut d.comment, &input.comment)] {
            if let Some(v) = value {
                *field = v.to_string();
            }
        }
        d.check(&ctx, b).await?;
        let mut writes = vec![Write::put(d.item(b, item.version + 1), Cond::VersionIs(item.version))];
        if old_plate != d.plate_norm {
            let moved = [Change::Remove(old_plate.clone(), Entry::Plate(id)), Change::Add(d.plate_norm.clone(), Entry::Plate(id))];
            writes.extend(car_index::writes(&ctx, b, &moved).await?);
        }
        Step::of(ctx.store.transact(writes).await, ())
    })
    .await?;
    Ok(Null)
}

/// 6.108 input.
#[derive(Deserialize, JsonSchema)]
pub struct DeleteIn {
    #[serde(rename = "plateDiscountId")]
    pub id: Int,
}

async fn delete(ctx: Ctx, req: Req, input: DeleteIn) -> ApiResult<Null> {
    let id = input.id.get();
    let b = req.branchno();
    on_conflict("plate discount not deleted", || async {
        // Over the version read: an edit moving it to another car meanwhile
        // would leave that car's index naming it.
        let item = ctx.store.get(&keys::plate_discounts(b), &keys::id_sk(id)).await?.ok_or_else(|| missing(id))?;
        let d: PlateDiscount = item.parse()?;
        let mut writes = vec![Write::delete(keys::plate_discounts(b), keys::id_sk(id), Cond::VersionIs(item.version))];
        writes.extend(car_index::writes(&ctx, b, &[Change::Remove(d.plate_norm.clone(), Entry::Plate(id))]).await?);
        Step::of(ctx.store.transact(writes).await, ())
    })
    .await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.licensePlateDiscount.add", add),
        kit::write("park.licensePlateDiscount.edit", edit),
        kit::write("park.licensePlateDiscount.delete", delete),
    ]
}
