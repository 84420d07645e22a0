//! Hunan Litian 湖南力天 (11.37): the operating platform fetches the payment
//! records of temporary cars (6.2's payment journal) for a window of at most
//! 30 days; the end defaults to now.

use crate::park::orders;
use crate::park::stays;
use chrono::Duration;
use onecard_core::kit::{self, DateTime, Money, RouteDef};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MAX_DAYS: i64 = 30;

#[derive(Deserialize, JsonSchema)]
pub struct ListIn {
    #[serde(rename = "chargeTimeStart")]
    pub start: DateTime,
    #[serde(rename = "chargeTimeEnd")]
    pub end: Option<DateTime>,
}

#[derive(Serialize, JsonSchema)]
pub struct PaymentRow {
    pub serial_number: String,
    /// -1 central cashier, -2 kiosk, -3 priced on a phone.
    pub source_channel: i64,
    pub parkname: String,
    pub paytype: i64,
    pub numno: String,
    #[serde(rename = "createDate")]
    pub create_date: String,
    pub entertime: String,
    pub calcendtime: String,
    #[serde(rename = "Exittime")]
    pub exit_time: String,
    /// Minutes.
    pub parktime: String,
    #[serde(rename = "scoreDiscount")]
    pub score_discount: Money,
    pub parkcost: Money,
    pub amount: Money,
    /// 1 paid.
    pub flag: i64,
}

async fn list(ctx: Ctx, req: Req, input: ListIn) -> ApiResult<Vec<PaymentRow>> {
    let from = input.start.get();
    let to = input.end.map(DateTime::get).unwrap_or(req.now);
    if to < from {
        return Err(ApiError::field("chargeTimeEnd", "is before chargeTimeStart"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(ApiError::field("chargeTimeEnd", format!("the window is longer than {MAX_DAYS} days")));
    }
    let b = req.branchno();
    let mut rows = Vec::new();
    for o in orders::paid_in_window(&ctx, b, Some(from), Some(to + Duration::seconds(1))).await? {
        let exit = stays::get(&ctx, b, &o.card_in_id).await?.and_then(|(s, _)| s.exit);
        let paid_at = o.paid_at.unwrap_or(o.created_at);
        rows.push(PaymentRow {
            serial_number: o.order_no.clone(),
            // A cashier's workstation marks the central cashier; the rest
            // was priced by the payer's phone or app.
            source_channel: if o.ws_no.is_some() { -1 } else { -3 },
            parkname: req.branch.name.clone(),
            paytype: o.pay_type.map(|p| p.0).unwrap_or(10),
            numno: o.plate.clone(),
            create_date: kit::stamp(paid_at),
            entertime: kit::stamp(o.entry),
            calcendtime: kit::stamp(o.calc_end),
            exit_time: exit.map(kit::stamp).unwrap_or_default(),
            parktime: (o.calc_end - o.entry).num_minutes().max(0).to_string(),
            score_discount: Money(onecard_core::Fen((o.parkcost.0 - o.amount.0).max(0))),
            parkcost: Money(o.parkcost),
            amount: Money(o.amount),
            flag: 1,
        });
    }
    Ok(rows)
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("hunanlitian.order.list", list)]
}
