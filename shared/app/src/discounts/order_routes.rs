//! Discounts put on and taken off an open order, each answering the full 6.1
//! output recalculated: 6.30/6.31 coupons, 6.40/6.41 shopping tickets, 6.43
//! a discount machine's discount, 6.44 a membership card.
//!
//! Each is one transaction of the order (over the version read) and what the
//! line holds (the coupon's hold, the new merchant discount record and the
//! merchant's charge), so a line is on the order exactly when its holds are.

use super::consume::ticket_key;
use super::coupons::{self, Hold};
use super::kinds::positive;
use super::lines::{describe, BillLine, MemberLine, Source, TicketLine};
use super::members::ledger;
use super::{codes, sets, settings, tolls};
use crate::keys;
use crate::merchants::{self, points};
use crate::park::cardlink::{self, CardTerms};
use crate::park::fees::{self, CalcOut, StayQuote};
use crate::park::orders::{self, Order};
use crate::park::stays::{self, Stay, StayState};
use chrono::NaiveDateTime;
use onecard_core::config::Branch;
use onecard_core::kit::{self, CredentialType, Int, Money, OrderStatus, RouteDef, Text};
use onecard_core::store::Write;
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::Deserialize;

/// An unpaid order, its stay and its price as it was calculated.
struct Open {
    order: Order,
    version: u64,
    stay: Stay,
    card: Option<CardTerms>,
    q: StayQuote,
}

impl Open {
    /// Reads the order `no`: it must be unpaid and still the stay's price.
    async fn read(ctx: &Ctx, branch: &Branch, no: &str, now: NaiveDateTime) -> ApiResult<Open> {
        let b = branch.branchno.as_str();
        let (order, version) = orders::get(ctx, b, no, false).await?.ok_or_else(|| ApiError::field("orderNo", format!("order {no} does not exist")))?;
        match order.status_at(now) {
            OrderStatus::Paid => return Err(ApiError::new(Code::DUPLICATE, format!("order {no} is already paid"))),
            OrderStatus::Cancelled => return Err(ApiError::new(Code::ORDER_EXPIRED, format!("order {no} has expired or was cancelled; calculate the fee again"))),
            OrderStatus::Unpaid => {}
        }
        let (stay, _) = stays::get(ctx, b, &order.card_in_id).await?.ok_or_else(|| stays::not_in_park(&order.plate))?;
        if stay.state != StayState::InPark {
            return Err(stays::not_in_park(&order.plate));
        }
        if stay.settled != order.base_settled {
            return Err(ApiError::new(Code::ORDER_EXPIRED, format!("the stay was paid after order {no} was calculated; calculate the fee again")));
        }
        let card = cardlink::card_terms_of_stay(ctx, b, &stay).await?;
        let q = fees::quote_stay(ctx, branch, &stay, order.car_type_id, card.as_ref(), order.calc_end).await?;
        Ok(Open { order, version, stay, card, q })
    }

    /// Rule 9 over the order's lines after a change.
    fn recompute(&mut self) {
        let o = &mut self.order;
        o.amount = o.discounts.recompute(o.parkcost, self.q.pricing.as_ref(), (o.calc_start, o.calc_end));
    }

    fn order_write(&self, branch: &str) -> Write {
        Write::put(self.order.item(branch, self.version + 1), onecard_core::store::Cond::VersionIs(self.version))
    }

    async fn answer(self, ctx: &Ctx, branch: &Branch) -> ApiResult<CalcOut> {
        let policy = settings::get(ctx, &branch.branchno).await?.shopping_policy;
        let ctype = if self.order.plate.is_empty() { CredentialType::Card } else { CredentialType::Plate };
        let no = Some(self.order.order_no.clone());
        Ok(fees::calc_out(branch, &self.stay, self.card.as_ref(), &self.q, &self.order, ctype, policy, no, None))
    }
}

/// Runs `change` on the order until its transaction lands, then answers 6.1.
async fn change_order<F, Fut>(ctx: &Ctx, req: &Req, no: &str, what: &str, mut change: F) -> ApiResult<CalcOut>
where
    F: FnMut(Open) -> Fut,
    Fut: std::future::Future<Output = ApiResult<(Open, Vec<Write>)>>,
{
    let b = req.branchno();
    // `on_conflict` cannot lend `change` to each attempt's future, so the
    // same bounded loop is written out here.
    for n in 0..onecard_core::retry::ATTEMPTS {
        let open = Open::read(ctx, &req.branch, no, req.now).await?;
        let (mut open, mut writes) = change(open).await?;
        open.recompute();
        writes.push(open.order_write(b));
        match ctx.store.transact(writes).await {
            Ok(()) => return open.answer(ctx, &req.branch).await,
            Err(e) if e.is_conflict() => {
                let ms = rand::random::<u64>() % (1 + (n as u64).min(10));
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::system(format!("{what}: still conflicting after {} attempts; retry", onecard_core::retry::ATTEMPTS)))
}

/// 6.30 input.
#[derive(Deserialize, JsonSchema)]
pub struct CouponIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    pub barcode: Text,
    #[serde(rename = "recodeType", alias = "recordType")]
    pub recode_type: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

async fn coupon_add(ctx: Ctx, req: Req, input: CouponIn) -> ApiResult<CalcOut> {
    let b = req.branchno().to_string();
    let barcode = input.barcode.trim().to_string();
    let (recode, oper) = (input.recode_type.as_deref().map(str::to_string), input.oper_id.as_deref().map(str::to_string));
    change_order(&ctx, &req, &input.order_no, "coupon not added", |mut open| {
        let (ctx, b, barcode, now, recode, oper) = (&ctx, b.clone(), barcode.clone(), req.now, recode.clone(), oper.clone());
        async move {
            let (mut c, v) = coupons::must_get(ctx, &b, &barcode).await?;
            c.check_usable(now)?;
            c.check_free_for(ctx, &b, &open.stay.card_in_id, &open.stay.plate, now).await?;
            let line = BillLine { source: Source::Coupon { barcode: c.barcode.clone() }, business_id: c.business_id, discount_id: c.discount_id, name: c.name.clone(), kind: c.kind.clone(), took: Default::default() };
            open.order.discounts.add_bill(line)?;
            c.hold = Some(Hold { order_no: open.order.order_no.clone(), card_in_id: open.stay.card_in_id.clone(), recode_type: recode, oper_id: oper });
            Ok((open, vec![c.write_over(&b, v)]))
        }
    })
    .await
}

/// 6.31 input.
#[derive(Deserialize, JsonSchema)]
pub struct CouponDelIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    pub barcode: Text,
}

async fn coupon_del(ctx: Ctx, req: Req, input: CouponDelIn) -> ApiResult<CalcOut> {
    let b = req.branchno().to_string();
    let barcode = input.barcode.trim().to_string();
    change_order(&ctx, &req, &input.order_no, "coupon not removed", |mut open| {
        let (ctx, b, barcode) = (&ctx, b.clone(), barcode.clone());
        async move {
            let source = Source::Coupon { barcode: barcode.clone() };
            let before = open.order.discounts.bills.len();
            open.order.discounts.bills.retain(|l| l.source != source);
            if open.order.discounts.bills.len() == before {
                return Err(ApiError::field("barcode", format!("{} is not on order {}", describe(&source), open.order.order_no)));
            }
            let mut writes = Vec::new();
            if let Some((mut c, v)) = coupons::get(ctx, &b, &barcode).await? {
                if c.hold.as_ref().is_some_and(|h| h.order_no == open.order.order_no) {
                    c.hold = None;
                    writes.push(c.write_over(&b, v));
                }
            }
            Ok((open, writes))
        }
    })
    .await
}

/// 6.40 input.
#[derive(Deserialize, JsonSchema)]
pub struct TicketIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    pub barcode: Text,
    pub counter: Option<Text>,
    pub money: Option<Money>,
}

async fn ticket_add(ctx: Ctx, req: Req, input: TicketIn) -> ApiResult<CalcOut> {
    let b = req.branchno().to_string();
    let config = settings::get(&ctx, &b).await?;
    if config.shopping_policy == 1 {
        if input.counter.is_none() {
            return Err(ApiError::field("counter", "is required: the car park takes the counter, number and amount of a ticket"));
        }
        if input.money.is_none() {
            return Err(ApiError::field("money", "is required: the car park takes the counter, number and amount of a ticket"));
        }
    }
    let money = input.money.map(Money::fen);
    let row = config.ticket_value(money).cloned().ok_or_else(|| {
        ApiError::field("money", "reaches no row of the car park's shopping-ticket table; the ticket gives nothing")
    })?;
    let barcode = input.barcode.trim().to_string();
    if ctx.store.get(&keys::discount_uses(&b), &ticket_key(&barcode)).await?.is_some() {
        return Err(ApiError::new(codes::DISCOUNT_MISSING, format!("shopping ticket {barcode} has been used")));
    }
    let counter = input.counter.as_deref().map(str::to_string);
    change_order(&ctx, &req, &input.order_no, "ticket not added", |mut open| {
        let t = TicketLine { barcode: barcode.clone(), counter: counter.clone(), money, minutes: row.minutes, fen: row.fen };
        async move {
            open.order.discounts.add_ticket(t)?;
            Ok((open, Vec::new()))
        }
    })
    .await
}

/// 6.41 input.
#[derive(Deserialize, JsonSchema)]
pub struct TicketDelIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    pub barcode: Text,
    pub counter: Option<Text>,
}

async fn ticket_del(ctx: Ctx, req: Req, input: TicketDelIn) -> ApiResult<CalcOut> {
    let barcode = input.barcode.trim().to_string();
    let counter = input.counter.as_deref().map(str::to_string);
    change_order(&ctx, &req, &input.order_no, "ticket not removed", |mut open| {
        let (barcode, counter) = (barcode.clone(), counter.clone());
        async move {
            let tickets = &mut open.order.discounts.tickets;
            let before = tickets.len();
            tickets.retain(|t| !(t.barcode == barcode && counter.as_ref().is_none_or(|c| t.counter.as_ref() == Some(c))));
            if tickets.len() == before {
                return Err(ApiError::field("barcode", format!("ticket {barcode} is not on order {}", open.order.order_no)));
            }
            Ok((open, Vec::new()))
        }
    })
    .await
}

/// 6.43 input.
#[derive(Deserialize, JsonSchema)]
pub struct MachineIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    #[serde(rename = "tollDevID", alias = "tollDevId")]
    pub toll_dev_id: Int,
    #[serde(rename = "discountId", alias = "discountID")]
    pub discount_id: Int,
    #[serde(rename = "recodeType", alias = "recordType")]
    pub recode_type: Option<Text>,
    #[serde(rename = "operId")]
    pub oper_id: Option<Text>,
}

async fn machine_add(ctx: Ctx, req: Req, input: MachineIn) -> ApiResult<CalcOut> {
    let b = req.branchno().to_string();
    let dev_id = positive(input.toll_dev_id, "tollDevID")?;
    let point = points::get(&ctx, &b, dev_id).await?.ok_or_else(|| ApiError::field("tollDevID", format!("consumption point {dev_id} does not exist")))?;
    let set = sets::must_get(&ctx, &b, point.business_id, positive(input.discount_id, "discountId")?).await?;
    let (recode, oper) = (input.recode_type.as_deref().map(str::to_string), input.oper_id.as_deref().map(str::to_string));
    change_order(&ctx, &req, &input.order_no, "discount not added", |mut open| {
        let (ctx, b, set, recode, oper, now) = (&ctx, b.clone(), set.clone(), recode.clone(), oper.clone(), req.now);
        async move {
            let give = tolls::Give {
                business_id: set.business_id,
                toll_dev_id: dev_id,
                discount_id: set.discount_id,
                name: set.name.clone(),
                kind: set.kind.clone(),
                stay: &open.stay,
                order_no: Some(open.order.order_no.clone()),
                recode_type: recode,
                oper_id: oper,
            };
            let record = tolls::new_record(ctx, &b, give, now).await?;
            let line = BillLine { source: Source::Toll { toll_id: record.toll_id }, business_id: set.business_id, discount_id: set.discount_id, name: set.name.clone(), kind: set.kind.clone(), took: Default::default() };
            // The same discount twice on one order is one discount (rule 9).
            if open.order.discounts.bills.iter().any(|l| matches!(l.source, Source::Toll { .. }) && l.business_id == set.business_id && l.discount_id == set.discount_id) {
                return Err(ApiError::failed(format!("discount {} is already on order {}", set.label(), open.order.order_no)));
            }
            open.order.discounts.add_bill(line)?;
            let (mut m, mv) = merchants::must_get(ctx, &b, set.business_id).await?;
            m.charge(set.kind.cost())?;
            let mut writes = vec![m.write_over(&b, mv)];
            writes.extend(tolls::create_writes(ctx, &b, std::slice::from_ref(&record)).await?);
            Ok((open, writes))
        }
    })
    .await
}

/// 6.44 input.
#[derive(Deserialize, JsonSchema)]
pub struct MemberIn {
    #[serde(rename = "orderNo", alias = "orderno")]
    pub order_no: Text,
    #[serde(rename = "cardNo")]
    pub card_no: Text,
    /// 1 QR code, 2 typed, 0 or empty a swipe: recorded, not interpreted.
    #[serde(rename = "cardType")]
    pub card_type: Option<Text>,
}

async fn member_add(ctx: Ctx, req: Req, input: MemberIn) -> ApiResult<CalcOut> {
    let b = req.branchno().to_string();
    let card_no = input.card_no.trim().to_string();
    if let Some(t) = input.card_type.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if !["0", "1", "2"].contains(&t) {
            return Err(ApiError::field("cardType", format!("'{t}' is not 0, 1 or 2")));
        }
    }
    let account = ledger().balances(&ctx, &b, &card_no).await?.ok_or_else(|| ApiError::field("cardNo", format!("membership card {card_no} is not known")))?;
    let card_type = input.card_type.as_deref().map(str::to_string);
    change_order(&ctx, &req, &input.order_no, "membership card not added", |mut open| {
        let m = MemberLine { card_no: card_no.clone(), card_type: card_type.clone(), day_balance: account.day_balance, night_balance: account.night_balance, took_day: Default::default(), took_night: Default::default() };
        async move {
            open.order.discounts.set_member(m)?;
            Ok((open, Vec::new()))
        }
    })
    .await
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.coupon.add4order", coupon_add),
        kit::write("park.coupon.del4order", coupon_del),
        kit::write("park.shoppingBill.add4order", ticket_add),
        kit::write("park.shoppingBill.del4order", ticket_del),
        kit::write("park.discount.add4order", machine_add),
        kit::write("park.scorecard.add4order", member_add),
    ]
}
