//! 6.15 `park.booking.onlinepay`: the fee of a paid booking (booking mode 3,
//! 6.12's `chargeMoney`), paid with Alipay's mobile-website pay.
//!
//! The fee is an order of its own (`Order::booking_no`), made on the first
//! ask and reused while it can still be paid, so asking twice is one order
//! and one trade. The provider's notification (10.7) books it through the one
//! 6.2 commit with `Target::Booking`: the order, its payment record, the trade
//! id, the journal and the 13.4 event, and the booking marked paid in place of
//! a stay, in one transaction. A booking already paid answers 511; one
//! cancelled, rejected or over answers 510 (and a payment arriving for it
//! then is refunded by `settle::paid`). A paid booking cancelled or rejected
//! before its car came gets the fee back (`booking_refund`).

use super::collect::ALIPAY;
use super::wap::{self, Form};
use crate::lanes::bookings;
use crate::park::orders::{self, Order};
use chrono::{Duration, NaiveDateTime};
use onecard_core::config::Branch;
use onecard_core::kit::{self, OrderStatus, PayType, RouteDef, Text};
use onecard_core::retry::{self, Step};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 6.15 input.
#[derive(Deserialize, JsonSchema)]
pub struct OnlinePayIn {
    /// The booking's number (6.13's `orderno`).
    #[serde(rename = "orderNo", alias = "orderno")]
    pub booking_no: Text,
    #[serde(rename = "payType")]
    pub pay_type: PayType,
}

/// 6.15 output.
#[derive(Serialize, JsonSchema)]
pub struct OnlinePayOut {
    /// The order the fee is paid with (what 10.7 books, 6.26 reads).
    pub order: String,
    #[serde(rename = "alipayLink")]
    pub alipay_link: String,
}

/// The order a new fee order is made from: no stay, the booking's window as
/// its times, the fee due in full.
fn new_order(b: &bookings::Booking, now: NaiveDateTime, order_minutes: i64) -> Order {
    let start = onecard_core::time::parse(&b.start).unwrap_or(now);
    Order {
        order_no: String::new(),
        zero: false,
        card_in_id: String::new(),
        charge_seq_no: 1,
        plate: b.plate_text.clone(),
        card_no: None,
        car_type_id: 0,
        entry: start,
        calc_start: start,
        calc_end: b.window_end().unwrap_or(start),
        parkcost: b.charge,
        amount: b.charge,
        base_settled: Fen::ZERO,
        status: OrderStatus::Unpaid,
        created_at: now,
        expires_at: now + Duration::minutes(order_minutes.max(1)),
        paid_at: None,
        pay_type: Some(ALIPAY),
        trade_no: None,
        trade_time: None,
        ws_no: None,
        oper_id: None,
        free_type: None,
        partial: false,
        discounts: Default::default(),
        booking_no: Some(b.order_no.clone()),
        stay_seen: None,
    }
}

/// The booking's fee order that can be paid now: its current one while
/// unpaid and not lapsed, else a new one recorded on the booking (`VersionIs`,
/// so two first asks agree on one order).
pub async fn fee_order(ctx: &Ctx, branch: &Branch, booking_no: &str, now: NaiveDateTime) -> ApiResult<Order> {
    let b = branch.branchno.as_str();
    retry::on_conflict("booking fee order not recorded", || async {
        let (mut booking, bv) =
            bookings::get(ctx, b, booking_no).await?.ok_or_else(|| ApiError::field("orderNo", format!("booking {booking_no} does not exist")))?;
        if let Some(paid) = &booking.fee_paid {
            return Err(ApiError::new(Code::DUPLICATE, format!("booking {booking_no} is already paid (order {})", paid.order_no)));
        }
        if !booking.pending_at(now) {
            return Err(ApiError::new(Code::ORDER_EXPIRED, format!("booking {booking_no} is cancelled, rejected or over: nothing to pay")));
        }
        if booking.charge <= Fen::ZERO {
            return Err(ApiError::field("orderNo", format!("booking {booking_no} is free: there is no fee to pay")));
        }
        if let Some(no) = &booking.fee_order {
            if let Some((o, _)) = orders::get(ctx, b, no, false).await? {
                if o.status_at(now) == OrderStatus::Unpaid && o.parkcost == booking.charge {
                    return Ok(Step::Done(o));
                }
            }
        }
        let order = orders::create(ctx, b, new_order(&booking, now, branch.settings.order_minutes)).await?;
        let read = booking.clone();
        booking.fee_order = Some(order.order_no.clone());
        Step::of(ctx.store.transact(booking.write_over(b, &read, bv)?).await, order)
    })
    .await
}

async fn onlinepay(ctx: Ctx, req: Req, input: OnlinePayIn) -> ApiResult<OnlinePayOut> {
    if input.pay_type != ALIPAY {
        return Err(ApiError::field("payType", format!("{} is not offered: a booking's fee is paid with 5 (Alipay)", input.pay_type.0)));
    }
    let order = fee_order(&ctx, &req.branch, input.booking_no.trim(), req.now).await?;
    let (alipay_link, _) = wap::page_for(&ctx, &req, &order.order_no, None, None, Form::Link).await?;
    Ok(OnlinePayOut { order: order.order_no, alipay_link })
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("park.booking.onlinepay", onlinepay)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::park::hardware::tests::{call, ctx_with};
    use crate::park::payments::{commit_order, commit_payment, Payment, Target};
    use onecard_core::kit::CredentialType;
    use onecard_core::sitelink::NoSites;

    #[tokio::test]
    async fn two_orders_of_one_booking_paid_by_16_racing_commits_pay_it_once() {
        let (ctx, _q) = ctx_with(std::sync::Arc::new(NoSites)).await;
        let branch = onecard_core::config::get_branch(ctx.store(), "1001").await.unwrap().unwrap();
        let cfg = bookings::Config { booking_type: 3, charge: Fen(1000), valid_minutes: 0, allow_enter_times: 1, slots: Vec::new() };
        bookings::put_config(ctx.store(), "1001", &cfg).await.unwrap();
        let now = onecard_core::time::to_local(ctx.clock.now(), &branch.tz);
        let day = now.format("%Y-%m-%d");
        call(&ctx, "park.booking.create", serde_json::json!({"licensePlate": "粤B70001", "startTime": format!("{day} 00:00:00"), "endTime": format!("{day} 23:59:59")}))
            .await
            .unwrap();
        let booking = bookings::list(&ctx, "1001").await.unwrap().pop().unwrap();
        // Asked twice: one order.
        let a = fee_order(&ctx, &branch, &booking.order_no, now).await.unwrap();
        assert_eq!(fee_order(&ctx, &branch, &booking.order_no, now).await.unwrap().order_no, a.order_no);
        assert_eq!((a.parkcost, a.booking_no.as_deref()), (Fen(1000), Some(booking.order_no.as_str())));
        // A second order of the same booking (as after the first lapsed).
        let b = orders::create(&ctx, "1001", new_order(&booking, now, 5)).await.unwrap();

        let pay = |order: &Order, trade: String| {
            let mut p = Payment::of_order(CredentialType::Plate, &order.plate, &order.order_no, order.parkcost, ALIPAY, Some(trade));
            p.target = Target::Booking { booking_no: booking.order_no.clone(), order_no: order.order_no.clone() };
            p
        };
        // The commit that answers a stay refuses a booking before paying anything.
        assert!(commit_payment(&ctx, &branch, &pay(&a, "T-X".into()), now).await.is_err());
        let payments: Vec<Payment> = (0..16).map(|i| if i % 2 == 0 { pay(&a, format!("TA{i}")) } else { pay(&b, format!("TB{i}")) }).collect();
        let results = futures::future::join_all(payments.iter().map(|p| commit_order(&ctx, &branch, p, now))).await;
        let ok: Vec<&Order> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 1, "{results:?}");
        assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code == Code::DUPLICATE), "{results:?}");

        let (after, _) = bookings::get(&ctx, "1001", &booking.order_no).await.unwrap().unwrap();
        let paid = after.fee_paid.expect("the booking is paid");
        assert_eq!(paid.order_no, ok[0].order_no);
        let statuses: Vec<OrderStatus> =
            futures::future::join_all([&a, &b].map(|o| orders::get(&ctx, "1001", &o.order_no, false))).await.into_iter().map(|r| r.unwrap().unwrap().0.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == OrderStatus::Paid).count(), 1, "{statuses:?}");
        let journal = orders::paid_in_window(&ctx, "1001", None, None).await.unwrap();
        assert_eq!(journal.iter().filter(|o| o.booking_no.is_some()).count(), 1);
        // Paid: no new order is made for it.
        assert_eq!(fee_order(&ctx, &branch, &booking.order_no, now).await.unwrap_err().code, Code::DUPLICATE);
    }
}
