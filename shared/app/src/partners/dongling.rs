//! Dongling 东岭 (11.30): the car park uploads the entry of a booked car.
//! The entry is 9.1's (`cat.upload.indata`) under the booking that admits the
//! plate now; a car with no open booking is answered `Code` 500 in
//! Dongling's shape and nothing is recorded. The entry's `cardInId` is made
//! from the plate and the time, so an upload sent twice records one entry.

use super::common::call_route;
use crate::lanes::bookings::{self, Admission};
use onecard_core::kit::{self, DateTime, Plate, RouteDef};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
pub struct EntryIn {
    #[serde(rename = "carNo")]
    pub car: Plate,
    #[serde(rename = "inTime")]
    pub at: DateTime,
}

#[derive(Serialize, JsonSchema)]
pub struct EntryOut {
    #[serde(rename = "Code")]
    pub code: i64,
    #[serde(rename = "Status")]
    pub status: bool,
    #[serde(rename = "Message")]
    pub message: String,
}

async fn entry(ctx: Ctx, req: Req, input: EntryIn) -> ApiResult<EntryOut> {
    let b = req.branchno();
    let plate = input.car.norm().to_string();
    let at = input.at.get();
    let card_in_id = format!("DL{}{}", at.format("%Y%m%d%H%M%S"), plate);
    // The same upload again: its entry is recorded, and the booking it used
    // up must not turn the repeat into a refusal.
    if crate::park::stays::get(&ctx, b, &card_in_id).await?.is_some() {
        return Ok(EntryOut { code: 200, status: true, message: "进场成功".into() });
    }
    let booking = crate::lanes::live_bookings::from(&ctx, b, at, Some(&plate)).await?.into_iter().find(|bk| bk.open_at(at));
    let admitted = bookings::admission(&ctx, b, &plate, None, at).await?;
    let Some(booking) = booking.filter(|_| matches!(admitted, Admission::Admit)) else {
        let why = if matches!(admitted, Admission::UsedUp) { "预约已使用" } else { "未找到有效预约" };
        return Ok(EntryOut { code: 500, status: false, message: why.into() });
    };
    let area = req.branch.areas.first().map(|a| a.id.clone()).ok_or_else(|| ApiError::failed("the car park has no area"))?;
    let data = json!({
        "areaId": area,
        "cardInId": card_in_id,
        "licensePlate": input.car.original(),
        "inDate": kit::stamp(at),
        "bookingNo": booking.order_no,
    });
    call_route(&ctx, &req.branch, crate::cat::uploads::routes(), "cat.upload.indata", data).await?;
    Ok(EntryOut { code: 200, status: true, message: "进场成功".into() })
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("dltcc.upload.reservation", entry)]
}
