//! Tariff administration: monthly tariffs (6.91-6.94) and temporary-car tariffs
//! (6.96-6.100). Pricing itself is `crate::tariff`; this module stores tariffs
//! and finds the one that prices a stay.
//!
//! Storage: a temporary tariff lives at `keys::temp_tariffs(branch)` under
//! `{areaNo}#{carTypeId}`, so the key itself enforces one tariff per area and car
//! type and `bindings::car_type_binding` can see the car type in the key. Clients
//! name tariffs by a small `tariffId`; a branch has a handful of tariffs, so
//! looking one up by id is a scan of that small partition rather than a second
//! index to keep consistent. `areaNo` `FFFFFFFF` covers every area of the branch;
//! an area's own tariff wins over it.
//!
//! Adding, changing or deleting a temporary tariff pushes
//! `report/parkTempCarChargeRule` (13.8) through the outbox, in the same
//! transaction as the change.

use crate::park::cartype;
use crate::tariff::{price_rule_text, MonthAddIn, MonthTariff, MonthTariffOut, MonthUpdateIn, TariffIn, TariffOut, TempTariff};
use crate::{ids, keys};
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, Both, Flag, Int, Money, Null, Page, RouteDef, Text};
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query, StoreError, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `areaNo` meaning "every area of the branch".
pub const ALL_AREAS: &str = "FFFFFFFF";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TempTariffRecord {
    pub tariff_id: i64,
    pub area_no: String,
    pub car_type_id: i64,
    pub charge_mode: i64,
    pub generated: bool,
    pub remark: String,
    pub tariff: TempTariff,
}

impl TempTariffRecord {
    fn sk(&self) -> String {
        temp_sk(&self.area_no, self.car_type_id)
    }

    fn item(&self, branch: &str) -> Item {
        Item::new(keys::temp_tariffs(branch), self.sk(), serde_json::to_value(self).unwrap_or_default())
    }

    /// 6.100: the tariff as 6.96 takes it, plus its id.
    pub fn to_wire(&self) -> TempTariffOut {
        TempTariffOut {
            tariff_id: self.tariff_id,
            area_no: self.area_no.clone(),
            car_type_id: self.car_type_id,
            charge_mode: self.charge_mode,
            remark: self.remark.clone(),
            generated: self.generated,
            tariff: self.tariff.to_wire(),
        }
    }

    fn to_list_row(&self) -> TempListRow {
        TempListRow {
            tariff_id: self.tariff_id,
            area_no: self.area_no.clone(),
            car_type_id: self.car_type_id,
            charge_mode: self.charge_mode,
            max_charge: Money(self.tariff.max_charge()),
        }
    }
}

/// 6.100 output; ids and modes are numbers as the section's table types them.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TempTariffOut {
    #[serde(rename = "tariffId")]
    pub tariff_id: i64,
    #[serde(rename = "areaNo")]
    pub area_no: String,
    #[serde(rename = "carTypeId")]
    pub car_type_id: i64,
    #[serde(rename = "chargeMode")]
    pub charge_mode: i64,
    pub remark: String,
    pub generated: bool,
    #[serde(flatten)]
    pub tariff: TariffOut,
}

/// 6.99 row (the section names the car type `carType`).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TempListRow {
    #[serde(rename = "tariffId")]
    pub tariff_id: i64,
    #[serde(rename = "areaNo")]
    pub area_no: String,
    #[serde(rename = "carType")]
    pub car_type_id: i64,
    #[serde(rename = "chargeMode")]
    pub charge_mode: i64,
    #[serde(rename = "maxCharge")]
    pub max_charge: Money,
}

fn temp_sk(area: &str, car_type_id: i64) -> String {
    format!("{area}#{car_type_id}")
}

/// The seed prints the wildcard with eight and with nine F's; both mean it.
fn is_all_areas(s: &str) -> bool {
    s.len() >= 8 && s.chars().all(|c| c.eq_ignore_ascii_case(&'F'))
}

/// The area an `areaNo` names, by id or by name.
fn area_no(branch: &Branch, a: &str) -> ApiResult<String> {
    if is_all_areas(a) {
        return Ok(ALL_AREAS.into());
    }
    match branch.areas.iter().find(|x| x.id == a || x.name == a) {
        Some(x) => Ok(x.id.clone()),
        None => Err(ApiError::field("areaNo", format!("area '{a}' is not an area of this branch (or {ALL_AREAS} for all)"))),
    }
}

async fn existing_car_type(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<cartype::CarType> {
    cartype::get(ctx, branch, id).await?.ok_or_else(|| ApiError::field("carTypeId", format!("car type {id} does not exist")))
}

pub async fn list_temp(ctx: &Ctx, branch: &str) -> ApiResult<Vec<(TempTariffRecord, u64)>> {
    let items = ctx.store.query_all(&Query::partition(keys::temp_tariffs(branch))).await?;
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        out.push((i.parse::<TempTariffRecord>()?, i.version));
    }
    out.sort_by_key(|(t, _)| t.tariff_id);
    Ok(out)
}

async fn temp_by_id(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<(TempTariffRecord, u64)> {
    list_temp(ctx, branch)
        .await?
        .into_iter()
        .find(|(t, _)| t.tariff_id == id)
        .ok_or_else(|| ApiError::field("tariffId", format!("temporary tariff {id} does not exist")))
}

/// The tariff that prices a stay in `area` for `car_type_id`: the area's own,
/// else the branch-wide one.
pub async fn temp_tariff_for(ctx: &Ctx, branch: &str, area: &str, car_type_id: i64) -> ApiResult<Option<TempTariffRecord>> {
    let pk = keys::temp_tariffs(branch);
    for a in [area, ALL_AREAS] {
        if let Some(item) = ctx.store.get(&pk, &temp_sk(a, car_type_id)).await? {
            return Ok(Some(item.parse()?));
        }
    }
    Ok(None)
}

/// The 13.8 record for a tariff; a deleted tariff is pushed with its rule text
/// replaced by a deletion notice so that the partner drops it.
async fn rule_event(ctx: &Ctx, branch: &str, t: &TempTariffRecord, deleted: bool, now: NaiveDateTime) -> ApiResult<OutEvent> {
    let ct = cartype::get(ctx, branch, t.car_type_id).await?;
    let description = if deleted { "已删除".to_string() } else { price_rule_text(&t.tariff) };
    let record = json!({
        "carTariffID": t.tariff_id.to_string(),
        "carTypeID": t.car_type_id.to_string(),
        "carTypeName": ct.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        "description": description,
        "timeLtd": if ct.as_ref().is_some_and(|c| c.time_ltd) { "1" } else { "0" },
        "freeMin": ct.as_ref().and_then(|c| c.free_min).unwrap_or(0).to_string(),
        "storedLtd": if ct.as_ref().is_some_and(|c| c.stored_ltd) { "1" } else { "0" },
        "areaNo": t.area_no,
    });
    Ok(OutEvent::new(branch, "report/parkTempCarChargeRule", record, now))
}

fn taken(area: &str, car_type_id: i64) -> ApiError {
    ApiError::field("carTypeId", format!("area {area} already has a temporary tariff for car type {car_type_id}; update it instead"))
}

/// 6.96 / 6.97: the route's own fields; the tariff's are `TariffIn`, read
/// from the same `data` (`kit::Both`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct TempTariffIn<Id> {
    /// The tariff 6.97 changes; 6.96 ignores it.
    #[serde(rename = "tariffId")]
    pub id: Id,
    #[serde(rename = "areaNo")]
    pub area_no: Text,
    #[serde(rename = "carTypeId")]
    pub car_type_id: Int,
    /// Defaults to 1 on add and to the stored mode on update.
    #[serde(rename = "chargeMode")]
    pub charge_mode: Option<Int>,
    pub generated: Option<Flag>,
    pub remark: Option<Text>,
}

pub type TempAddIn = Both<TempTariffIn<Option<Int>>, TariffIn>;
pub type TempUpdateIn = Both<TempTariffIn<Int>, TariffIn>;

impl<Id> TempTariffIn<Id> {
    fn remark(&self) -> String {
        self.remark.as_ref().map(ToString::to_string).unwrap_or_default()
    }
}

/// Validates and stores a new temporary tariff (also used to seed the demo).
pub async fn create_temp(ctx: &Ctx, branch: &Branch, input: &TempAddIn, now: NaiveDateTime) -> ApiResult<TempTariffRecord> {
    let Both(d, fields) = input;
    let b = &branch.branchno;
    let area = area_no(branch, &d.area_no)?;
    let car_type = existing_car_type(ctx, b, d.car_type_id.get()).await?;
    let tariff = fields.to_tariff()?;
    if ctx.store.get(&keys::temp_tariffs(b), &temp_sk(&area, car_type.id)).await?.is_some() {
        return Err(taken(&area, car_type.id));
    }
    let id = ids::next_id(ctx, b, "ttariff").await?;
    let rec = TempTariffRecord {
        tariff_id: id,
        area_no: area,
        car_type_id: car_type.id,
        charge_mode: d.charge_mode.map_or(1, Int::get),
        generated: d.generated.is_some_and(Flag::get),
        remark: d.remark(),
        tariff,
    };
    let ev = rule_event(ctx, b, &rec, false, now).await?;
    match ctx.store.transact(vec![Write::put(rec.item(b), Cond::MustNotExist), outbox_write(&ev)]).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() => return Err(taken(&rec.area_no, rec.car_type_id)),
        Err(e) => return Err(e.into()),
    }
    publish_committed(ctx, &[ev]).await;
    Ok(rec)
}

/// 6.91 / 6.96 output.
#[derive(Serialize, JsonSchema)]
pub struct TariffIdOut {
    #[serde(rename = "tariffId")]
    pub id: i64,
}

async fn temp_add(ctx: Ctx, req: Req, input: TempAddIn) -> ApiResult<TariffIdOut> {
    let rec = create_temp(&ctx, &req.branch, &input, req.now).await?;
    Ok(TariffIdOut { id: rec.tariff_id })
}

async fn temp_update(ctx: Ctx, req: Req, Both(d, fields): TempUpdateIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = d.id.get();
    let area = area_no(&req.branch, &d.area_no)?;
    let car_type = existing_car_type(&ctx, b, d.car_type_id.get()).await?;
    let tariff = fields.to_tariff()?;
    let (old, version) = temp_by_id(&ctx, b, id).await?;
    let rec = TempTariffRecord {
        tariff_id: id,
        area_no: area,
        car_type_id: car_type.id,
        charge_mode: d.charge_mode.map_or(old.charge_mode, Int::get),
        generated: d.generated.map_or(old.generated, Flag::get),
        remark: d.remark(),
        tariff,
    };
    let ev = rule_event(&ctx, b, &rec, false, req.now).await?;
    let mut writes = vec![outbox_write(&ev)];
    if rec.sk() == old.sk() {
        writes.push(Write::put(rec.item(b).with_version(version + 1), Cond::VersionIs(version)));
    } else {
        // Moving to another area or car type: the old key goes, the new must be free.
        writes.push(Write::delete(keys::temp_tariffs(b), old.sk(), Cond::VersionIs(version)));
        writes.push(Write::put(rec.item(b), Cond::MustNotExist));
    }
    match ctx.store.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() && rec.sk() != old.sk() => return Err(taken(&rec.area_no, rec.car_type_id)),
        Err(e) if e.is_conflict() => return Err(ApiError::failed(format!("temporary tariff {id} was changed meanwhile; try again"))),
        Err(e) => return Err(e.into()),
    }
    publish_committed(&ctx, &[ev]).await;
    Ok(Null)
}

/// 6.93 / 6.98 / 6.100 input.
#[derive(Deserialize, JsonSchema)]
pub struct TariffIdIn {
    #[serde(rename = "tariffId")]
    pub id: Int,
}

async fn temp_delete(ctx: Ctx, req: Req, input: TariffIdIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    let (old, version) = temp_by_id(&ctx, b, id).await?;
    let ev = rule_event(&ctx, b, &old, true, req.now).await?;
    let writes = vec![Write::delete(keys::temp_tariffs(b), old.sk(), Cond::VersionIs(version)), outbox_write(&ev)];
    match ctx.store.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.is_conflict() => return Err(ApiError::failed(format!("temporary tariff {id} was changed meanwhile; try again"))),
        Err(e) => return Err(e.into()),
    }
    publish_committed(&ctx, &[ev]).await;
    Ok(Null)
}

async fn temp_list(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Page<TempListRow>> {
    let rows = list_temp(&ctx, req.branchno()).await?.iter().map(|(t, _)| t.to_list_row()).collect();
    Ok(req.page(rows))
}

async fn temp_query(ctx: Ctx, req: Req, input: TariffIdIn) -> ApiResult<TempTariffOut> {
    let (t, _) = temp_by_id(&ctx, req.branchno(), input.id.get()).await?;
    Ok(t.to_wire())
}

// ---- monthly tariffs ----

/// Stored body: the tariff plus `tariffId` and a top-level `carTypeId`, which is
/// what `bindings::car_type_binding` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthTariffRecord {
    pub tariff_id: i64,
    pub car_type_id: Option<i64>,
    pub tariff: MonthTariff,
}

impl MonthTariffRecord {
    fn item(&self, branch: &str) -> Item {
        Item::new(keys::month_tariffs(branch), keys::id_sk(self.tariff_id), serde_json::to_value(self).unwrap_or_default())
    }

    pub fn to_wire(&self) -> MonthTariffRow {
        MonthTariffRow { tariff_id: self.tariff_id, tariff: self.tariff.to_wire() }
    }
}

/// 6.94 row.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct MonthTariffRow {
    #[serde(rename = "tariffId")]
    pub tariff_id: i64,
    #[serde(flatten)]
    pub tariff: MonthTariffOut,
}

/// A monthly tariff by id (the cards module prices renewals with it).
pub async fn month_tariff(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<MonthTariffRecord>> {
    match ctx.store.get(&keys::month_tariffs(branch), &keys::id_sk(id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

pub async fn list_month(ctx: &Ctx, branch: &str) -> ApiResult<Vec<MonthTariffRecord>> {
    let items = ctx.store.query_all(&Query::partition(keys::month_tariffs(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

async fn check_month_car_type(ctx: &Ctx, branch: &str, t: &MonthTariff) -> ApiResult<()> {
    if let Some(id) = t.car_type_id {
        if cartype::get(ctx, branch, id).await?.is_none() {
            return Err(ApiError::field("carTypeId", format!("car type {id} does not exist")));
        }
    }
    Ok(())
}

async fn month_add(ctx: Ctx, req: Req, input: MonthAddIn) -> ApiResult<TariffIdOut> {
    let b = req.branchno();
    let t = MonthTariff::from_add(&input)?;
    check_month_car_type(&ctx, b, &t).await?;
    let id = ids::next_id(&ctx, b, "mtariff").await?;
    let rec = MonthTariffRecord { tariff_id: id, car_type_id: t.car_type_id, tariff: t };
    ctx.store.put(rec.item(b), Cond::MustNotExist).await?;
    Ok(TariffIdOut { id })
}

async fn month_update(ctx: Ctx, req: Req, input: MonthUpdateIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    let t = MonthTariff::from_update(&input)?;
    let old = ctx
        .store
        .get(&keys::month_tariffs(b), &keys::id_sk(id))
        .await?
        .ok_or_else(|| ApiError::field("tariffId", format!("monthly tariff {id} does not exist")))?;
    check_month_car_type(&ctx, b, &t).await?;
    let rec = MonthTariffRecord { tariff_id: id, car_type_id: t.car_type_id, tariff: t };
    match ctx.store.put(rec.item(b).with_version(old.version + 1), Cond::VersionIs(old.version)).await {
        Ok(()) => Ok(Null),
        Err(StoreError::ConditionFailed) => Err(ApiError::failed(format!("monthly tariff {id} was changed meanwhile; try again"))),
        Err(e) => Err(e.into()),
    }
}

async fn month_delete(ctx: Ctx, req: Req, input: TariffIdIn) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    if month_tariff(&ctx, b, id).await?.is_none() {
        return Err(ApiError::field("tariffId", format!("monthly tariff {id} does not exist")));
    }
    if let Some(binding) = crate::bindings::month_tariff_binding(&ctx, b, id).await? {
        return Err(ApiError::failed(format!("monthly tariff {id} is bound to {binding} and cannot be deleted")));
    }
    ctx.store.delete(&keys::month_tariffs(b), &keys::id_sk(id), Cond::MustExist).await?;
    Ok(Null)
}

/// 6.94 input: without a tariff, all of them.
#[derive(Deserialize, JsonSchema)]
pub struct MonthQueryIn {
    #[serde(rename = "tariffId")]
    pub id: Option<Int>,
}

async fn month_query(ctx: Ctx, req: Req, input: MonthQueryIn) -> ApiResult<Page<MonthTariffRow>> {
    let only = input.id.map(Int::get);
    let rows = list_month(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|t| only.is_none_or(|id| t.tariff_id == id))
        .map(|t| t.to_wire())
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.monthtariff.add", month_add),
        kit::write("park.monthtariff.update", month_update),
        kit::write("park.monthtariff.delete", month_delete),
        kit::read("park.monthtariff.query", month_query),
        kit::write("park.temporarytariff.add", temp_add),
        kit::write("park.temporarytariff.update", temp_update),
        kit::write("park.temporarytariff.delete", temp_delete),
        kit::read("park.temporarytarifflist.query", temp_list),
        kit::read("park.temporarytariff.query", temp_query),
    ]
}

/// The demo car park's tariff, as a client sends it to 6.96: 15 free minutes,
/// 5.00 for the first hour, then 2.00 per started half hour, at most 40.00 a day.
pub fn demo_tariff(car_type_id: i64) -> Value {
    json!({
        "areaNo": ALL_AREAS,
        "carTypeId": car_type_id,
        "chargeMode": 1,
        "midnight": "1970-01-01 00:00:00",
        "maxCharge": "40",
        "stayOver": "0",
        "timeNumber": 1,
        "chargePeriod": [{
            "periodName": "全天",
            "stTime": "1970-01-01 00:00:00",
            "endTime": "1970-01-01 00:00:00",
            "freeMinutes": 15,
            "fstSectTime": 60,
            "fstSectCharge": "5",
            "sectTime": 30,
            "sectCharge": "2",
            "maxCharge": "0",
            "fixCharge": "0",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::kit::input::parse;
    use onecard_core::Fen;

    fn body() -> Value {
        json!({"areaNo": "FFFFFFFF", "carTypeId": "3", "chargeMode": 1, "midnight": "1970-01-01 00:00:00", "timeNumber": 2,
               "chargePeriod": [
                   {"stTime": "1970-01-01 08:00:00", "endTime": "1970-01-01 20:00:00", "fixCharge": 5},
                   {"stTime": "1970-01-01 20:00:00", "endTime": "1970-01-01 08:00:00", "fixCharge": "2.50"}]})
    }

    #[test]
    fn a_route_input_names_a_field_inside_a_period() {
        let Both(i, t) = parse::<TempAddIn>(body()).unwrap();
        assert_eq!((i.car_type_id.get(), t.to_tariff().unwrap().periods()[1].fix_charge), (3, Fen(250)));
        let mut v = body();
        v["chargePeriod"][1]["endTime"] = json!("8 o'clock");
        let e = parse::<TempAddIn>(v.clone()).unwrap_err();
        assert!(e.message.contains("'chargePeriod[1].endTime'"), "{}", e.message);
        // Sent as a string, the array is still read, and a bad period still named.
        v["chargePeriod"] = json!(v["chargePeriod"].to_string());
        let e = parse::<TempAddIn>(v).unwrap_err();
        assert!(e.message.contains("'chargePeriod[1].endTime'"), "{}", e.message);
        let mut v = body();
        v["chargePeriod"][0]["freeMinutes"] = json!(-5);
        let e = parse::<TempAddIn>(v).unwrap().1.to_tariff().unwrap_err();
        assert!(e.message.contains("'chargePeriod[0].freeMinutes'"), "{}", e.message);
        // 6.97 needs the tariff it changes; 6.96 reads one as nothing.
        assert!(parse::<TempUpdateIn>(body()).unwrap_err().message.contains("'tariffId'"));
        assert!(parse::<TempAddIn>(json!({"chargePeriod": []})).unwrap_err().message.contains("'areaNo'"));
    }

    fn demo() -> TempTariff {
        parse::<TempAddIn>(demo_tariff(7)).unwrap().1.to_tariff().unwrap()
    }

    #[test]
    fn the_demo_tariff_is_a_valid_6_96_request() {
        assert_eq!(price_rule_text(&demo()), "全天 全天(00:00起) 免费15分钟，首60分钟5.00元，之后每30分钟2.00元；每日最高40.00元");
    }

    #[test]
    fn answers_keep_their_wire_types() {
        let rec = TempTariffRecord {
            tariff_id: 4,
            area_no: "1".into(),
            car_type_id: 7,
            charge_mode: 1,
            generated: true,
            remark: String::new(),
            tariff: demo(),
        };
        let w = serde_json::to_value(rec.to_wire()).unwrap();
        assert_eq!((w["tariffId"].clone(), w["carTypeId"].clone(), w["chargeMode"].clone(), w["generated"].clone()), (json!(4), json!(7), json!(1), json!(true)));
        assert_eq!((w["maxCharge"].clone(), w["midnight"].clone(), w["timeNumber"].clone()), (json!("40.00"), json!("1970-01-01 00:00:00"), json!(1)));
        assert_eq!(w["chargePeriod"][0]["fstSectCharge"], json!("5.00"));
        assert_eq!(serde_json::to_value(rec.to_list_row()).unwrap(), json!({"tariffId": 4, "areaNo": "1", "carType": 7, "chargeMode": 1, "maxCharge": "40.00"}));
        let m = MonthTariffRecord { tariff_id: 2, car_type_id: None, tariff: MonthTariff { name: "m".into(), car_type_id: None, charge: Fen(12050), remark: String::new() } };
        assert_eq!(serde_json::to_value(m.to_wire()).unwrap(), json!({"tariffId": 2, "tariffName": "m", "carTypeId": null, "charge": "120.50", "remark": ""}));
    }
}
