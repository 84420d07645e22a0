//! The car-park (`Park`) and door-access (`Acss`) parameters of 10.15 and
//! 10.42, and how a card's car type and monthly tariff are chosen (10.15's
//! defaults: a monthly card takes the monthly tariff of the default car type).

use super::catalog::{car_type_exists, default_car_type, month_fee_by_id, month_fees, MonthFee};
use super::input::{check_plate_count, Plates};
use super::model::{AccessParams, CardKind};
use chrono::NaiveDateTime;
use onecard_core::kit::{DateTime, Flag, Int, Text};
use onecard_core::{ApiError, ApiResult, Ctx};
use schemars::JsonSchema;
use serde::Deserialize;

/// 10.15/10.42 `Park`, as sent: every field optional here; 10.15 requires the
/// dates itself (10.42 leaves what is absent unchanged).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct ParkIn {
    /// 3, 6, 20, 26, 27, 28, 29 (`CardKind`); 26 monthly by default.
    #[serde(rename = "FuncType")]
    pub func_type: Option<Int>,
    /// 1-5; 4 (personal monthly) by default for monthly cards.
    #[serde(rename = "CardGroupType")]
    pub group_type: Option<Int>,
    #[serde(rename = "TariffID")]
    pub tariff_id: Option<Int>,
    #[serde(rename = "ChargeCarType")]
    pub car_type_id: Option<Int>,
    #[serde(rename = "DiscountSetID")]
    pub discount_set_id: Option<Text>,
    #[serde(rename = "GroupID")]
    pub group_id: Option<Text>,
    #[serde(rename = "ParkingArea")]
    pub parking_area: Option<Text>,
    #[serde(rename = "RelateNumNo")]
    pub relate_num_no: Option<Text>,
    /// One plate, or two separated; with `LicensePlate2`, at most two in all.
    #[serde(rename = "LicensePlate")]
    pub plate: Option<Plates>,
    #[serde(rename = "LicensePlate2")]
    pub plate2: Option<Plates>,
    #[serde(rename = "CarBrandID")]
    pub car_brand_id: Option<Text>,
    #[serde(rename = "IssueDate")]
    pub issued_at: Option<DateTime>,
    #[serde(rename = "StartDate")]
    pub valid_from: Option<DateTime>,
    #[serde(rename = "ExpiryDate")]
    pub valid_to: Option<DateTime>,
    #[serde(rename = "AllGrant")]
    pub all_grant: Option<Flag>,
    #[serde(rename = "GrantID")]
    pub grant_id: Option<Text>,
}

/// `Park` checked; None = not given.
#[derive(Clone, Debug, Default)]
pub struct ParkInput {
    pub kind: Option<CardKind>,
    pub group_type: Option<i64>,
    pub tariff_id: Option<i64>,
    pub car_type_id: Option<i64>,
    pub discount_set_id: Option<String>,
    pub group_id: Option<String>,
    pub parking_area: Option<String>,
    pub relate_num_no: Option<String>,
    pub car_brand_id: Option<String>,
    pub plates: Option<Vec<String>>,
    pub issued_at: Option<NaiveDateTime>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_to: Option<NaiveDateTime>,
    pub all_grant: Option<bool>,
    pub grant_id: Option<String>,
}

fn text(t: Option<Text>) -> Option<String> {
    t.map(String::from)
}

impl ParkInput {
    pub fn read(p: ParkIn) -> ApiResult<ParkInput> {
        let kind = match p.func_type.map(Int::get) {
            None => None,
            Some(c) => Some(
                CardKind::from_code(c).ok_or_else(|| ApiError::field("Park.FuncType", format!("'{c}' is not one of 3, 6, 20, 26, 27, 28, 29")))?,
            ),
        };
        let group_type = p.group_type.map(Int::get);
        if group_type.is_some_and(|g| !(1..=5).contains(&g)) {
            return Err(ApiError::field("Park.CardGroupType", "is not one of 1-5"));
        }
        let plates = match (p.plate, p.plate2) {
            (None, None) => None,
            (a, b) => {
                let mut got: Vec<String> = Vec::new();
                for plate in a.into_iter().chain(b).flat_map(|ps| ps.norms()) {
                    if !got.contains(&plate) {
                        got.push(plate);
                    }
                }
                check_plate_count("Park.LicensePlate", &got)?;
                Some(got)
            }
        };
        let out = ParkInput {
            kind,
            group_type,
            tariff_id: p.tariff_id.map(Int::get),
            car_type_id: p.car_type_id.map(Int::get),
            discount_set_id: text(p.discount_set_id),
            group_id: text(p.group_id),
            parking_area: text(p.parking_area),
            relate_num_no: text(p.relate_num_no),
            car_brand_id: text(p.car_brand_id),
            plates,
            issued_at: p.issued_at.map(DateTime::get),
            valid_from: p.valid_from.map(DateTime::get),
            valid_to: p.valid_to.map(DateTime::get),
            all_grant: p.all_grant.map(Flag::get),
            grant_id: text(p.grant_id),
        };
        if let (Some(from), Some(to)) = (out.valid_from, out.valid_to) {
            if to < from {
                return Err(ApiError::field("Park.ExpiryDate", "is before StartDate"));
            }
        }
        Ok(out)
    }
}

/// 10.15/10.42 `Acss`, as sent.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct AcssIn {
    /// 6, 8, 9, 10, 11, 12; 9 by default.
    #[serde(rename = "FuncType")]
    pub func_type: Option<Int>,
    #[serde(rename = "IssueDate")]
    pub issued_at: Option<DateTime>,
    #[serde(rename = "StartDate")]
    pub valid_from: Option<DateTime>,
    #[serde(rename = "ExpiryDate")]
    pub valid_to: Option<DateTime>,
    #[serde(rename = "AllGrant")]
    pub all_grant: Option<Flag>,
    #[serde(rename = "GrantID")]
    pub grant_id: Option<Text>,
}

const ACCESS_FUNC_TYPES: [i64; 6] = [6, 8, 9, 10, 11, 12];

/// `Acss` over the card's current access parameters (None when issuing):
/// the dates are required unless there is something to keep.
pub fn read_access(a: &AcssIn, old: Option<&AccessParams>, now: NaiveDateTime) -> ApiResult<AccessParams> {
    let func_type = a.func_type.map(Int::get).or(old.map(|a| a.func_type)).unwrap_or(9);
    if !ACCESS_FUNC_TYPES.contains(&func_type) {
        return Err(ApiError::field("Acss.FuncType", format!("'{func_type}' is not one of 6, 8, 9, 10, 11, 12")));
    }
    let valid_from = match (a.valid_from, old) {
        (Some(t), _) => t.get(),
        (None, Some(o)) => o.valid_from,
        (None, None) => return Err(ApiError::missing("Acss.StartDate")),
    };
    let valid_to = match (a.valid_to, old) {
        (Some(t), _) => t.get(),
        (None, Some(o)) => o.valid_to,
        (None, None) => return Err(ApiError::missing("Acss.ExpiryDate")),
    };
    if valid_to < valid_from {
        return Err(ApiError::field("Acss.ExpiryDate", "is before StartDate"));
    }
    Ok(AccessParams {
        func_type,
        issued_at: a.issued_at.map(DateTime::get).or(old.map(|o| o.issued_at)).unwrap_or(now),
        valid_from,
        valid_to,
        all_grant: a.all_grant.map(Flag::get).or(old.map(|o| o.all_grant)).unwrap_or(true),
        grant_id: a.grant_id.clone().map(String::from).or(old.and_then(|o| o.grant_id.clone())),
    })
}

async fn check_tariff(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<MonthFee> {
    month_fee_by_id(ctx, branch, id).await?.ok_or_else(|| ApiError::field("Park.TariffID", format!("monthly tariff {id} does not exist")))
}

/// The car type and monthly tariff of a card of `kind`, from what the request
/// gave (`car_type`, `tariff`) and, for 10.42, what the card had (`old`).
///
/// Monthly cards need a tariff: the given one, the card's own, or the monthly
/// tariff of the default car type. Stored-value and time-limited cards need an
/// explicit car type (10.15). Every other card takes the default car type when
/// none is given.
pub async fn terms(
    ctx: &Ctx,
    branch: &str,
    kind: CardKind,
    car_type: Option<i64>,
    tariff: Option<i64>,
    old: Option<(i64, Option<i64>)>,
) -> ApiResult<(i64, Option<i64>)> {
    let default_type = default_car_type(ctx, branch).await?.map(|t| t.id);
    let tariff = match tariff {
        Some(id) => Some(check_tariff(ctx, branch, id).await?),
        None => match old.and_then(|(_, t)| t) {
            Some(id) => month_fee_by_id(ctx, branch, id).await?,
            None => None,
        },
    };
    let tariff = match (kind, tariff) {
        (CardKind::Monthly, None) => {
            let mut fees = month_fees(ctx, branch).await?;
            fees.sort_by_key(|f| f.id);
            let found = fees.into_iter().find(|f| default_type.is_some() && f.car_type_id == default_type);
            Some(found.ok_or_else(|| ApiError::field("Park.TariffID", "is required: the default car type has no monthly tariff"))?)
        }
        (_, t) => t,
    };
    let car_type = match car_type {
        Some(id) if car_type_exists(ctx, branch, id).await? => id,
        Some(id) => return Err(ApiError::field("Park.ChargeCarType", format!("car type {id} does not exist"))),
        None => {
            let needs_explicit = matches!(kind, CardKind::StoredValue | CardKind::TimeLimited);
            let from_old = old.map(|(c, _)| c).filter(|c| *c > 0);
            match (needs_explicit, from_old, tariff.as_ref().and_then(|t| t.car_type_id), default_type) {
                (_, Some(c), _, _) => c,
                (true, None, _, _) => return Err(ApiError::field("Park.ChargeCarType", "is required for stored-value and time-limited cards")),
                (false, None, Some(c), _) => c,
                (false, None, None, Some(c)) => c,
                (false, None, None, None) => return Err(ApiError::field("Park.ChargeCarType", "is required: the branch has no default car type")),
            }
        }
    };
    Ok((car_type, tariff.map(|t| t.id)))
}

/// The error for a 10.15 request that names neither object.
pub fn neither() -> ApiError {
    ApiError::field("Park", "at least one of Park and Acss is required")
}
