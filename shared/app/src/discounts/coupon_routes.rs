//! 6.57 issue a batch, 6.59 look coupons up, 6.60/6.63 bind to / unbind from a car.

use super::{car_index, codes};
use super::coupons::{self, Coupon};
use super::kinds::positive;
use super::{sets, settings};
use crate::keys;
use crate::merchants::{self, Cost};
use chrono::NaiveDateTime;
use onecard_core::kit::{self, CredentialType, DateTime, Int, Null, Page, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Cond, Item, Write};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 6.57's default expiry.
const NEVER: &str = "2049-12-31 23:59:59";

/// 6.57 input.
#[derive(Deserialize, JsonSchema)]
pub struct IssueIn {
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Int,
    #[serde(rename = "discountID", alias = "discountId", alias = "DiscountID")]
    pub discount_id: Int,
    pub header: Option<Text>,
    pub remark: Option<Text>,
    #[serde(rename = "discountName")]
    pub discount_name: Option<Text>,
    #[serde(rename = "expireDate")]
    pub expire_date: Option<DateTime>,
    #[serde(rename = "issueNum")]
    pub issue_num: Int,
    #[serde(rename = "usageCount")]
    pub usage_count: Option<Int>,
    #[serde(rename = "recodeType", alias = "recordType")]
    pub recode_type: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

/// 6.57 output (the printed example's single object).
#[derive(Serialize, JsonSchema)]
pub struct IssueOut {
    #[serde(rename = "mainID")]
    pub main_id: String,
    #[serde(rename = "businessID")]
    pub business_id: String,
    #[serde(rename = "discountID")]
    pub discount_id: String,
    pub header: String,
    pub remark: String,
    #[serde(rename = "discountName")]
    pub discount_name: String,
    #[serde(rename = "expireDate")]
    pub expire_date: DateTime,
    #[serde(rename = "issueNum")]
    pub issue_num: String,
    #[serde(rename = "usageCount")]
    pub usage_count: String,
    #[serde(rename = "everyDayMaxNo")]
    pub every_day_max_no: String,
    #[serde(rename = "maxNo")]
    pub max_no: String,
    #[serde(rename = "couponNumbers")]
    pub coupon_numbers: String,
    #[serde(rename = "discountAmountBalance")]
    pub amount_balance: String,
    #[serde(rename = "discountTimeBalance")]
    pub time_balance: String,
}

/// A batch: its record, with the merchant's charge, is one transaction; the
/// coupons follow in transactions of 25.
#[derive(Serialize)]
struct Batch<'a> {
    main_id: i64,
    business_id: i64,
    discount_id: i64,
    issue_num: i64,
    first_serial: i64,
    charged: bool,
    recode_type: Option<&'a str>,
    oper_id: Option<&'a str>,
    issued_at: NaiveDateTime,
}

async fn issue(ctx: Ctx, req: Req, input: IssueIn) -> ApiResult<IssueOut> {
    let b = req.branchno();
    let now = req.now;
    let config = settings::get(&ctx, b).await?;
    let n = positive(input.issue_num, "issueNum")?;
    if n > config.batch_limit {
        return Err(ApiError::field("issueNum", format!("{n} is more than the {} coupons one issue may print", config.batch_limit)));
    }
    let usage_count = match input.usage_count {
        Some(u) => positive(u, "usageCount")?,
        None => 1,
    };
    let bid = positive(input.business_id, "businessID")?;
    let did = positive(input.discount_id, "discountID")?;
    let (merchant, _) = merchants::must_get(&ctx, b, bid).await?;
    let set = sets::must_get(&ctx, b, bid, did).await?;
    let expires_at = match input.expire_date {
        Some(d) => d.get(),
        None => onecard_core::time::parse(NEVER).unwrap_or(now),
    };
    if expires_at <= now {
        return Err(ApiError::field("expireDate", "lies in the past"));
    }
    let charge_now = !config.charge_on_binding;
    let cost = if charge_now { set.kind.cost().times(n.saturating_mul(usage_count)) } else { Cost::default() };
    // Refuse a short balance before any serial is spent.
    merchant.clone().charge(cost)?;

    let day = now.format("%Y%m%d").to_string();
    if let Some(limit) = merchant.daily_issue_limit {
        coupons::reserve_serials(&ctx, b, &format!("coupon-day-{day}-m{bid}"), n, Some((limit, codes::MERCHANT_DAY_QUOTA, "the merchant's coupons of the day are used up"))).await?;
    }
    let day_max = coupons::reserve_serials(
        &ctx,
        b,
        &format!("coupon-day-{day}"),
        n,
        config.daily_coupon_limit.map(|l| (l, codes::DAY_SERIALS_USED, "the car park's coupon numbers of the day are used up")),
    )
    .await?;
    let max_no = coupons::reserve_serials(&ctx, b, "coupon-serial", n, None).await?;
    let main_id = crate::ids::next_id(&ctx, b, "coupon-issue").await?;
    let first = max_no - n + 1;

    // The charge and the batch record, at once.
    let batch = Batch {
        main_id,
        business_id: bid,
        discount_id: did,
        issue_num: n,
        first_serial: first,
        charged: charge_now,
        recode_type: input.recode_type.as_deref(),
        oper_id: input.oper_id.as_deref(),
        issued_at: now,
    };
    let batch_item = Item::new(keys::coupon_batches(b), keys::id_sk(main_id), serde_json::to_value(&batch).unwrap_or_default());
    let merchant = on_conflict("merchant not charged", || async {
        let (mut m, v) = merchants::must_get(&ctx, b, bid).await?;
        m.charge(cost)?;
        let writes = vec![m.write_over(b, v), Write::put(batch_item.clone(), Cond::MustNotExist)];
        Step::of(ctx.store.transact(writes).await, m)
    })
    .await?;

    let name = input.discount_name.as_deref().map(str::to_string).unwrap_or_else(|| set.name.clone());
    let made: Vec<Coupon> = (first..=max_no)
        .map(|serial| Coupon {
            barcode: coupons::barcode(bid, did, serial),
            main_id,
            business_id: bid,
            discount_id: did,
            name: name.clone(),
            kind: set.kind.clone(),
            header: input.header.as_deref().unwrap_or_default().to_string(),
            remark: input.remark.as_deref().unwrap_or_default().to_string(),
            issued_at: now,
            expires_at,
            usage_count,
            used: 0,
            charged: charge_now,
            hold: None,
            bound_plate: None,
            bound_by: None,
        })
        .collect();
    for chunk in made.chunks(onecard_core::store::MAX_TRANSACTION_ITEMS) {
        let writes = chunk.iter().map(|c| Write::put(c.item(b, 1), Cond::MustNotExist)).collect();
        ctx.store.transact(writes).await.map_err(|e| ApiError::new(codes::ISSUE_FAILED, format!("issue {main_id} stopped: {e}")))?;
    }
    Ok(IssueOut {
        main_id: main_id.to_string(),
        business_id: bid.to_string(),
        discount_id: did.to_string(),
        header: input.header.as_deref().unwrap_or_default().to_string(),
        remark: input.remark.as_deref().unwrap_or_default().to_string(),
        discount_name: name,
        expire_date: DateTime(expires_at),
        issue_num: n.to_string(),
        usage_count: usage_count.to_string(),
        every_day_max_no: day_max.to_string(),
        max_no: max_no.to_string(),
        coupon_numbers: made.iter().map(|c| c.barcode.as_str()).collect::<Vec<_>>().join(","),
        amount_balance: merchant.amount_balance.yuan(),
        time_balance: merchant.time_balance.to_string(),
    })
}

/// 6.59 input: every field an optional filter.
#[derive(Deserialize, JsonSchema)]
pub struct GetIn {
    pub barcode: Option<Text>,
    #[serde(rename = "businessID", alias = "businessId", alias = "BusinessID")]
    pub business_id: Option<Int>,
    #[serde(rename = "discountID", alias = "discountId", alias = "DiscountID")]
    pub discount_id: Option<Int>,
}

/// A 6.59 row.
#[derive(Serialize, JsonSchema)]
pub struct CouponRow {
    pub barcode: String,
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
    #[serde(rename = "maxValue")]
    pub max_value: String,
    #[serde(rename = "expiryDate")]
    pub expiry_date: DateTime,
}

async fn coupon_get(ctx: Ctx, req: Req, input: GetIn) -> ApiResult<Page<CouponRow>> {
    let b = req.branchno();
    let found = match input.barcode.as_deref() {
        Some(code) => coupons::get(&ctx, b, code).await?.map(|(c, _)| c).into_iter().collect(),
        None => coupons::list(&ctx, b).await?,
    };
    let (bid, did) = (input.business_id.map(Int::get), input.discount_id.map(Int::get));
    let rows = found
        .into_iter()
        .filter(|c| bid.is_none_or(|x| x == c.business_id) && did.is_none_or(|x| x == c.discount_id))
        .map(|c| CouponRow {
            barcode: c.barcode.clone(),
            business_id: c.business_id.to_string(),
            discount_id: c.discount_id.to_string(),
            discount_name: c.name.clone(),
            present_type: c.kind.code().to_string(),
            discount_rate: c.kind.rate_text(),
            max_value: c.kind.max_text(),
            expiry_date: DateTime(c.expires_at),
        })
        .collect();
    Ok(req.page(rows))
}

/// 6.60 / 6.63 input.
#[derive(Deserialize, JsonSchema)]
pub struct CarIn {
    #[serde(rename = "credentialType", alias = "credentialtype")]
    pub credential_type: Option<CredentialType>,
    pub credential: Text,
    pub barcode: Text,
    #[serde(rename = "wsNo")]
    pub ws_no: Option<Text>,
    #[serde(rename = "recodeType", alias = "recordType")]
    pub recode_type: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

fn plate_of(input: &CarIn) -> ApiResult<String> {
    if input.credential_type.is_some_and(|t| t != CredentialType::Plate) {
        return Err(ApiError::field("credentialType", "coupons are bound to a plate (1)"));
    }
    let plate = onecard_core::fields::normalize_plate(&input.credential);
    if plate.is_empty() {
        return Err(ApiError::field("credential", "is not a plate"));
    }
    Ok(plate)
}

/// 6.60 output.
#[derive(Serialize, JsonSchema)]
pub struct AddCarOut {
    #[serde(rename = "parkPayUrl")]
    pub park_pay_url: String,
}

async fn add4car(ctx: Ctx, req: Req, input: CarIn) -> ApiResult<AddCarOut> {
    let b = req.branchno();
    let plate = plate_of(&input)?;
    let config = settings::get(&ctx, b).await?;
    on_conflict("coupon not bound", || async {
        let (mut c, v) = coupons::must_get(&ctx, b, &input.barcode).await?;
        c.check_usable(req.now)?;
        match &c.bound_plate {
            Some(p) if *p == plate => return Ok(Step::Done(())),
            Some(_) => return Err(ApiError::failed(format!("{} is bound to another car", c.label()))),
            None => {}
        }
        if let Some(h) = &c.hold {
            if orders::get(&ctx, b, &h.order_no, false).await?.is_some_and(|(o, _)| o.status_at(req.now) == onecard_core::kit::OrderStatus::Unpaid && onecard_core::fields::normalize_plate(&o.plate) != plate) {
                return Err(ApiError::failed(format!("{} is held by the open order {}", c.label(), h.order_no)));
            }
        }
        let mut writes = Vec::new();
        if !c.charged {
            // Revision 1.94: the merchant pays when the coupon meets its customer.
            let (mut m, mv) = merchants::must_get(&ctx, b, c.business_id).await?;
            m.charge(c.kind.cost().times(c.usage_count - c.used))?;
            writes.push(m.write_over(b, mv));
            c.charged = true;
        }
        c.bound_plate = Some(plate.clone());
        let text = |t: &Option<Text>| t.as_deref().map(str::to_string);
        c.bound_by = Some(coupons::Binding { ws_no: text(&input.ws_no), recode_type: text(&input.recode_type), oper_id: text(&input.oper_id) });
        writes.push(c.write_over(b, v));
        writes.extend(car_index::writes(&ctx, b, &[car_index::Change::Add(plate.clone(), car_index::Entry::Coupon(c.barcode.clone()))]).await?);
        Step::of(ctx.store.transact(writes).await, ())
    })
    .await?;
    Ok(AddCarOut { park_pay_url: config.pay_url })
}

use crate::park::orders;

async fn del4car(ctx: Ctx, req: Req, input: CarIn) -> ApiResult<Null> {
    let b = req.branchno();
    let plate = plate_of(&input)?;
    let config = settings::get(&ctx, b).await?;
    on_conflict("coupon not unbound", || async {
        let (mut c, v) = coupons::must_get(&ctx, b, &input.barcode).await?;
        if c.bound_plate.as_deref() != Some(plate.as_str()) {
            return Err(ApiError::field("barcode", format!("{} is not bound to {plate}", c.label())));
        }
        let mut writes = Vec::new();
        if config.charge_on_binding && c.charged && c.used == 0 {
            // Charged at binding, never used: the merchant gets it back.
            let (mut m, mv) = merchants::must_get(&ctx, b, c.business_id).await?;
            let back = c.kind.cost().times(c.usage_count);
            m.amount_balance += back.fen;
            m.time_balance += back.minutes;
            writes.push(m.write_over(b, mv));
            c.charged = false;
        }
        c.bound_plate = None;
        c.bound_by = None;
        writes.push(c.write_over(b, v));
        writes.extend(car_index::writes(&ctx, b, &[car_index::Change::Remove(plate.clone(), car_index::Entry::Coupon(c.barcode.clone()))]).await?);
        Step::of(ctx.store.transact(writes).await, ())
    })
    .await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.coupon.issue", issue),
        kit::read("park.coupon.get", coupon_get),
        kit::write("park.coupon.add4car", add4car),
        kit::write("park.coupon.del4car", del4car),
    ]
}
