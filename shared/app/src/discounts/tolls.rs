//! Merchant discount records (`TollID`): a merchant's discount given to a car
//! in the park, directly (6.50) or through a discount machine on an order
//! (6.43). The merchant pays when it gives (613/614 when short); the record
//! then discounts the stay's orders until a payment uses it. 6.51 lists them.
//! This module owns `keys::toll_records`: records under their zero-padded id,
//! and an index entry `S#{cardInId}#{id}` per record for the stay.

use super::car_index;
use super::kinds::{positive, Kind};
use super::sets;
use crate::keys;
use crate::merchants::{self, points};
use crate::park::stays::{self, Stay};
use chrono::NaiveDateTime;
use onecard_core::kit::{self, CredentialType, DateTime, Int, Page, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A merchant gives at most this many discounts in one call (its numbers are 1-9).
const MAX_PER_CALL: usize = 9;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TollRecord {
    pub toll_id: i64,
    pub business_id: i64,
    pub toll_dev_id: i64,
    /// 0 for a free period given by times (6.50 `freeTimeStart`).
    pub discount_id: i64,
    pub name: String,
    pub kind: Kind,
    pub card_in_id: String,
    pub plate: String,
    #[serde(default)]
    pub card_no: Option<String>,
    pub created_at: NaiveDateTime,
    #[serde(default)]
    pub recode_type: Option<String>,
    #[serde(default)]
    pub oper_id: Option<String>,
    /// The order it was given on (6.43).
    #[serde(default)]
    pub order_no: Option<String>,
    #[serde(default)]
    pub used: bool,
    #[serde(default)]
    pub used_at: Option<NaiveDateTime>,
    /// What the paying order was due and paid.
    #[serde(default)]
    pub calc_amount: Option<Fen>,
    #[serde(default)]
    pub real_amount: Option<Fen>,
    #[serde(default)]
    pub charge_seq_no: Option<i64>,
    #[serde(default)]
    pub ws_no: Option<String>,
}

impl TollRecord {
    pub fn item(&self, branch: &str, version: u64) -> Item {
        Item::new(keys::toll_records(branch), keys::id_sk(self.toll_id), serde_json::to_value(self).unwrap_or_default()).with_version(version)
    }

    pub fn write_over(&self, branch: &str, version: u64) -> Write {
        Write::put(self.item(branch, version + 1), Cond::VersionIs(version))
    }

    /// The car it discounts, as `car_index` keys it: `plate` holds the card
    /// number of a card-only stay (`Stay::display_plate`), whose car is its entry.
    pub fn car(&self) -> String {
        let plate = if self.card_no.as_deref() == Some(self.plate.as_str()) { "" } else { self.plate.as_str() };
        car_index::car_key(plate, &self.card_in_id)
    }

    pub fn index_entry(&self) -> car_index::Entry {
        car_index::Entry::Toll(self.toll_id)
    }
}

/// The new records and their cars' index entries, read now: inside the
/// giving transaction's retry loop.
pub async fn create_writes(ctx: &Ctx, branch: &str, records: &[TollRecord]) -> ApiResult<Vec<Write>> {
    let changes: Vec<car_index::Change> = records.iter().map(|r| car_index::Change::Add(r.car(), r.index_entry())).collect();
    let mut writes: Vec<Write> = records.iter().map(|r| Write::put(r.item(branch, 1), Cond::MustNotExist)).collect();
    writes.extend(car_index::writes(ctx, branch, &changes).await?);
    Ok(writes)
}

pub async fn get(ctx: &Ctx, branch: &str, toll_id: i64) -> ApiResult<Option<(TollRecord, u64)>> {
    match ctx.store.get(&keys::toll_records(branch), &keys::id_sk(toll_id)).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

async fn all(ctx: &Ctx, branch: &str) -> ApiResult<Vec<TollRecord>> {
    let items = ctx.store.query_all(&Query::partition(keys::toll_records(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// What a new record needs besides its id.
pub struct Give<'a> {
    pub business_id: i64,
    pub toll_dev_id: i64,
    pub discount_id: i64,
    pub name: String,
    pub kind: Kind,
    pub stay: &'a Stay,
    pub order_no: Option<String>,
    pub recode_type: Option<String>,
    pub oper_id: Option<String>,
}

pub async fn new_record(ctx: &Ctx, branch: &str, g: Give<'_>, now: NaiveDateTime) -> ApiResult<TollRecord> {
    Ok(TollRecord {
        toll_id: crate::ids::next_id(ctx, branch, "toll").await?,
        business_id: g.business_id,
        toll_dev_id: g.toll_dev_id,
        discount_id: g.discount_id,
        name: g.name,
        kind: g.kind,
        card_in_id: g.stay.card_in_id.clone(),
        plate: g.stay.display_plate(),
        card_no: g.stay.card_no.clone(),
        created_at: now,
        recode_type: g.recode_type,
        oper_id: g.oper_id,
        order_no: g.order_no,
        used: false,
        used_at: None,
        calc_amount: None,
        real_amount: None,
        charge_seq_no: None,
        ws_no: None,
    })
}

/// Checks that a consumption point exists and belongs to the merchant (0 = none).
pub async fn check_point(ctx: &Ctx, branch: &str, business_id: i64, toll_dev_id: i64) -> ApiResult<()> {
    if toll_dev_id == 0 {
        return Ok(());
    }
    match points::get(ctx, branch, toll_dev_id).await? {
        Some(p) if p.business_id == business_id => Ok(()),
        Some(_) => Err(ApiError::field("tollDevID", format!("consumption point {toll_dev_id} is not merchant {business_id}'s"))),
        None => Err(ApiError::field("tollDevID", format!("consumption point {toll_dev_id} does not exist"))),
    }
}

/// 6.50 input.
#[derive(Deserialize, JsonSchema)]
pub struct DiscountIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Int,
    #[serde(rename = "tollDevID", alias = "tollDevId")]
    pub toll_dev_id: Option<Int>,
    #[serde(rename = "credentialType", alias = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    pub credential: Text,
    #[serde(rename = "discountIDs", alias = "discountIds")]
    pub discount_ids: Option<Text>,
    #[serde(rename = "freeTimeStart")]
    pub free_start: Option<DateTime>,
    #[serde(rename = "freeTimeEnd")]
    pub free_end: Option<DateTime>,
    #[serde(rename = "recodeType", alias = "recordType")]
    pub recode_type: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

/// 6.50 output.
#[derive(Serialize, JsonSchema)]
pub struct BalanceOut {
    #[serde(rename = "businessID")]
    pub business_id: String,
    #[serde(rename = "discountAmountBalance")]
    pub amount_balance: String,
    #[serde(rename = "discountTimeBalance")]
    pub time_balance: String,
}

fn discount_ids(text: &str) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::new();
    for part in text.split([',', '，']).map(str::trim).filter(|s| !s.is_empty()) {
        let id: i64 = part.parse().map_err(|_| ApiError::field("discountIDs", format!("'{part}' is not a discount number")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_PER_CALL {
        return Err(ApiError::field("discountIDs", format!("names more than {MAX_PER_CALL} discounts")));
    }
    Ok(ids)
}

async fn business_discount(ctx: Ctx, req: Req, input: DiscountIn) -> ApiResult<BalanceOut> {
    let b = req.branchno();
    let bid = positive(input.business_id, "businessID")?;
    let dev = input.toll_dev_id.map(Int::get).unwrap_or(0);
    let (merchant, _) = merchants::must_get(&ctx, b, bid).await?;
    check_point(&ctx, b, bid, dev).await?;
    let ctype = input.credential_type.unwrap_or(CredentialType::Plate);
    let (stay, _) = stays::find(&ctx, b, ctype, &input.credential).await?.ok_or_else(|| stays::not_in_park(&input.credential))?;
    // The seed: discountIDs wins over a free period when both are given.
    let ids = input.discount_ids.as_deref().map(discount_ids).transpose()?.unwrap_or_default();
    let mut gifts: Vec<(i64, String, Kind)> = Vec::new();
    if !ids.is_empty() {
        for id in ids {
            let set = sets::must_get(&ctx, b, bid, id).await?;
            gifts.push((id, set.name.clone(), set.kind));
        }
    } else if let (Some(s), Some(e)) = (input.free_start, input.free_end) {
        if !merchant.allow_free_period {
            return Err(ApiError::failed(format!("merchant {bid} may not give free periods")));
        }
        kit::check_window(s.get(), e.get(), "freeTimeEnd")?;
        gifts.push((0, "指定免费时段".into(), Kind::FreeBetween { start: s.get(), end: e.get() }));
    } else {
        return Err(ApiError::field("discountIDs", "is required (or freeTimeStart and freeTimeEnd)"));
    }
    let mut records = Vec::new();
    for (id, name, kind) in gifts {
        let g = Give {
            business_id: bid,
            toll_dev_id: dev,
            discount_id: id,
            name,
            kind,
            stay: &stay,
            order_no: None,
            recode_type: input.recode_type.as_deref().map(str::to_string),
            oper_id: input.oper_id.as_deref().map(str::to_string),
        };
        records.push(new_record(&ctx, b, g, req.now).await?);
    }
    let m = on_conflict("merchant discount not given", || async {
        let (mut m, v) = merchants::must_get(&ctx, b, bid).await?;
        let cost = records.iter().fold(merchants::Cost::default(), |c, r| c.plus(r.kind.cost()));
        m.charge(cost)?;
        let mut writes = vec![m.write_over(b, v)];
        writes.extend(create_writes(&ctx, b, &records).await?);
        Step::of(ctx.store.transact(writes).await, m)
    })
    .await?;
    Ok(BalanceOut { business_id: bid.to_string(), amount_balance: m.amount_balance.yuan(), time_balance: m.time_balance.to_string() })
}

/// 6.51 input: each filter absent or empty means all.
#[derive(Deserialize, JsonSchema)]
pub struct RecordsIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Option<Text>,
    #[serde(rename = "tollDevID", alias = "tollDevId")]
    pub toll_dev_id: Option<Text>,
    #[serde(rename = "tollID", alias = "tollId")]
    pub toll_id: Option<Text>,
}

/// A 6.51 row.
#[derive(Serialize, JsonSchema)]
pub struct RecordRow {
    #[serde(rename = "tollID")]
    pub toll_id: String,
    #[serde(rename = "cardID")]
    pub card_id: String,
    #[serde(rename = "cardNo")]
    pub card_no: String,
    #[serde(rename = "numNo")]
    pub num_no: String,
    #[serde(rename = "licensePlate")]
    pub license_plate: String,
    #[serde(rename = "cardInId")]
    pub card_in_id: String,
    #[serde(rename = "businessID")]
    pub business_id: String,
    #[serde(rename = "discountID")]
    pub discount_id: String,
    #[serde(rename = "discountName")]
    pub discount_name: String,
    #[serde(rename = "presentType")]
    pub present_type: String,
    #[serde(rename = "discountRate")]
    pub discount_rate: String,
    #[serde(rename = "freeTimeStart")]
    pub free_start: String,
    #[serde(rename = "freeTimeEnd")]
    pub free_end: String,
    #[serde(rename = "recordType")]
    pub record_type: String,
    #[serde(rename = "tollDateTime")]
    pub toll_date_time: DateTime,
    #[serde(rename = "calcAmount")]
    pub calc_amount: String,
    #[serde(rename = "realAmount")]
    pub real_amount: String,
    #[serde(rename = "tollDevID")]
    pub toll_dev_id: String,
    #[serde(rename = "tollDevName")]
    pub toll_dev_name: String,
    pub barcode: String,
    #[serde(rename = "calcDateTime")]
    pub calc_date_time: String,
    #[serde(rename = "workStationNo")]
    pub work_station_no: String,
    #[serde(rename = "chargeSeqNo")]
    pub charge_seq_no: String,
    pub used: String,
}

fn filter_id(t: &Option<Text>, field: &str) -> ApiResult<Option<i64>> {
    match t.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ApiError::field(field, format!("'{s}' is not a number"))),
    }
}

async fn records(ctx: Ctx, req: Req, input: RecordsIn) -> ApiResult<Page<RecordRow>> {
    let b = req.branchno();
    let bid = filter_id(&input.business_id, "businessID")?;
    let dev = filter_id(&input.toll_dev_id, "tollDevID")?;
    let tid = filter_id(&input.toll_id, "tollID")?;
    let found = match tid {
        Some(id) => get(&ctx, b, id).await?.map(|(r, _)| r).into_iter().collect(),
        None => all(&ctx, b).await?,
    };
    let names = points::list(&ctx, b).await?;
    let fmt = |t: Option<NaiveDateTime>| t.map(onecard_core::time::format).unwrap_or_default();
    let rows = found
        .into_iter()
        .filter(|r| bid.is_none_or(|x| x == r.business_id) && dev.is_none_or(|x| x == r.toll_dev_id))
        .map(|r| {
            let (fs, fe) = match &r.kind {
                Kind::FreeBetween { start, end } => (fmt(Some(*start)), fmt(Some(*end))),
                _ => (String::new(), String::new()),
            };
            let card = r.card_no.clone().unwrap_or_else(|| r.plate.clone());
            RecordRow {
                toll_id: r.toll_id.to_string(),
                card_id: card.clone(),
                card_no: card.clone(),
                num_no: card,
                license_plate: r.plate.clone(),
                card_in_id: r.card_in_id.clone(),
                business_id: r.business_id.to_string(),
                discount_id: r.discount_id.to_string(),
                discount_name: r.name.clone(),
                present_type: r.kind.code().to_string(),
                discount_rate: r.kind.rate_text(),
                free_start: fs,
                free_end: fe,
                record_type: r.recode_type.clone().unwrap_or_default(),
                toll_date_time: DateTime(r.created_at),
                calc_amount: r.calc_amount.map(Fen::yuan).unwrap_or_default(),
                real_amount: r.real_amount.map(Fen::yuan).unwrap_or_default(),
                toll_dev_id: r.toll_dev_id.to_string(),
                toll_dev_name: names.iter().find(|p| p.toll_dev_id == r.toll_dev_id).map(|p| p.name.clone()).unwrap_or_default(),
                barcode: String::new(),
                calc_date_time: fmt(r.used_at),
                work_station_no: r.ws_no.clone().unwrap_or_default(),
                charge_seq_no: r.charge_seq_no.map(|s| s.to_string()).unwrap_or_default(),
                used: if r.used { "True" } else { "False" }.into(),
            }
        })
        .collect();
    Ok(req.page(rows))
}

/// The merchant's balances as 6.50 answers them.
pub fn balances(m: &merchants::Merchant) -> BalanceOut {
    BalanceOut { business_id: m.id.to_string(), amount_balance: m.amount_balance.yuan(), time_balance: m.time_balance.to_string() }
}


pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.business.discount", business_discount), kit::read("park.business.discounts.get", records)]
}

#[cfg(test)]
mod tests {
    use super::discount_ids;

    #[test]
    fn discount_id_lists() {
        assert_eq!(discount_ids("5,7").unwrap(), vec![5, 7]);
        assert_eq!(discount_ids(" 5，7,5 ").unwrap(), vec![5, 7]);
        assert!(discount_ids("5,x").is_err());
        assert!(discount_ids("1,2,3,4,5,6,7,8,9,10").is_err());
    }
}
