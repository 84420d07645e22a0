//! The car-park (`Park`) and door-access (`Acss`) parameters of 10.15 and
//! 10.42, and how a card's car type and monthly tariff are chosen (10.15's
//! defaults: a monthly card takes the monthly tariff of the default car type).

use super::catalog::{month_fee_by_id, month_fees, MonthFee};
use super::input::{check_plate_count, plates, Section};
use super::model::{AccessParams, CardKind};
use crate::park::cartype;
use chrono::NaiveDateTime;
use onecard_core::{ApiError, ApiResult, Ctx};

/// `Park` as sent; None = not given (10.42 leaves it unchanged).
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

impl ParkInput {
    pub fn read(s: &Section) -> ApiResult<ParkInput> {
        let d = &s.data;
        let kind = match s.read(d.opt_i64("FuncType"))? {
            None => None,
            Some(c) => Some(CardKind::from_code(c).ok_or_else(|| s.field("FuncType", format!("'{c}' is not one of 3, 6, 20, 26, 27, 28, 29")))?),
        };
        let group_type = s.read(d.opt_i64("CardGroupType"))?;
        if group_type.is_some_and(|g| !(1..=5).contains(&g)) {
            return Err(s.field("CardGroupType", "is not one of 1-5"));
        }
        let mut all_plates: Option<Vec<String>> = None;
        for f in ["LicensePlate", "LicensePlate2"] {
            if let Some(raw) = s.read(d.opt_str(f))? {
                let mut got = all_plates.take().unwrap_or_default();
                for p in plates(&format!("{}.{f}", s.name), &raw)? {
                    if !got.contains(&p) {
                        got.push(p);
                    }
                }
                all_plates = Some(got);
            }
        }
        if let Some(p) = &all_plates {
            check_plate_count(&format!("{}.LicensePlate", s.name), p)?;
        }
        let p = ParkInput {
            kind,
            group_type,
            tariff_id: s.read(d.opt_i64("TariffID"))?,
            car_type_id: s.read(d.opt_i64("ChargeCarType"))?,
            discount_set_id: s.read(d.opt_str("DiscountSetID"))?,
            group_id: s.read(d.opt_str("GroupID"))?,
            parking_area: s.read(d.opt_str("ParkingArea"))?,
            relate_num_no: s.read(d.opt_str("RelateNumNo"))?,
            car_brand_id: s.read(d.opt_str("CarBrandID"))?,
            plates: all_plates,
            issued_at: s.read(d.opt_time("IssueDate"))?,
            valid_from: s.read(d.opt_time("StartDate"))?,
            valid_to: s.read(d.opt_time("ExpiryDate"))?,
            all_grant: s.read(d.opt_bool("AllGrant"))?,
            grant_id: s.read(d.opt_str("GrantID"))?,
        };
        if let (Some(from), Some(to)) = (p.valid_from, p.valid_to) {
            if to < from {
                return Err(s.field("ExpiryDate", "is before StartDate"));
            }
        }
        Ok(p)
    }
}

const ACCESS_FUNC_TYPES: [i64; 6] = [6, 8, 9, 10, 11, 12];

/// `Acss` over the card's current access parameters (None when issuing):
/// the dates are required unless there is something to keep.
pub fn read_access(s: &Section, old: Option<&AccessParams>, now: NaiveDateTime) -> ApiResult<AccessParams> {
    let d = &s.data;
    let func_type = s.read(d.opt_i64("FuncType"))?.or(old.map(|a| a.func_type)).unwrap_or(9);
    if !ACCESS_FUNC_TYPES.contains(&func_type) {
        return Err(s.field("FuncType", format!("'{func_type}' is not one of 6, 8, 9, 10, 11, 12")));
    }
    let valid_from = match (s.read(d.opt_time("StartDate"))?, old) {
        (Some(t), _) => t,
        (None, Some(a)) => a.valid_from,
        (None, None) => return Err(s.field("StartDate", "is required")),
    };
    let valid_to = match (s.read(d.opt_time("ExpiryDate"))?, old) {
        (Some(t), _) => t,
        (None, Some(a)) => a.valid_to,
        (None, None) => return Err(s.field("ExpiryDate", "is required")),
    };
    if valid_to < valid_from {
        return Err(s.field("ExpiryDate", "is before StartDate"));
    }
    Ok(AccessParams {
        func_type,
        issued_at: s.read(d.opt_time("IssueDate"))?.or(old.map(|a| a.issued_at)).unwrap_or(now),
        valid_from,
        valid_to,
        all_grant: s.read(d.opt_bool("AllGrant"))?.or(old.map(|a| a.all_grant)).unwrap_or(true),
        grant_id: s.read(d.opt_str("GrantID"))?.or(old.and_then(|a| a.grant_id.clone())),
    })
}

async fn check_car_type(ctx: &Ctx, branch: &str, s: &Section, id: i64) -> ApiResult<i64> {
    match cartype::get(ctx, branch, id).await? {
        Some(_) => Ok(id),
        None => Err(s.field("ChargeCarType", format!("car type {id} does not exist"))),
    }
}

async fn check_tariff(ctx: &Ctx, branch: &str, s: &Section, id: i64) -> ApiResult<MonthFee> {
    month_fee_by_id(ctx, branch, id).await?.ok_or_else(|| s.field("TariffID", format!("monthly tariff {id} does not exist")))
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
    s: &Section,
    kind: CardKind,
    car_type: Option<i64>,
    tariff: Option<i64>,
    old: Option<(i64, Option<i64>)>,
) -> ApiResult<(i64, Option<i64>)> {
    let default_type = cartype::default_type(ctx, branch).await?.map(|t| t.id);
    let tariff = match tariff {
        Some(id) => Some(check_tariff(ctx, branch, s, id).await?),
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
            Some(found.ok_or_else(|| s.field("TariffID", "is required: the default car type has no monthly tariff"))?)
        }
        (_, t) => t,
    };
    let car_type = match car_type {
        Some(id) => check_car_type(ctx, branch, s, id).await?,
        None => {
            let needs_explicit = matches!(kind, CardKind::StoredValue | CardKind::TimeLimited);
            let from_old = old.map(|(c, _)| c).filter(|c| *c > 0);
            match (needs_explicit, from_old, tariff.as_ref().and_then(|t| t.car_type_id), default_type) {
                (_, Some(c), _, _) => c,
                (true, None, _, _) => return Err(s.field("ChargeCarType", "is required for stored-value and time-limited cards")),
                (false, None, Some(c), _) => c,
                (false, None, None, Some(c)) => c,
                (false, None, None, None) => return Err(s.field("ChargeCarType", "is required: the branch has no default car type")),
            }
        }
    };
    Ok((car_type, tariff.map(|t| t.id)))
}

/// The error for a 10.15 request that names neither object.
pub fn neither() -> ApiError {
    ApiError::field("Park", "at least one of Park and Acss is required")
}
