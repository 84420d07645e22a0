//! A paid booking cancelled or rejected gets its fee back, once: against the
//! SQLite store, the stand-in provider and the routes as dispatched.

use super::booking_refund::Refund;
use super::reconcile;
use super::settings;
use super::standins::pay::{StandinPay, Trade as Books};
use super::trades::{self, Trade, TradeStatus};
use crate::lanes::bookings::{self, Booking, State};
use crate::park::hardware::tests::{call, ctx_with};
use crate::park::orders;
use onecard_core::config::{self, Branch};
use onecard_core::sitelink::NoSites;
use onecard_core::{Ctx, Fen};
use serde_json::{json, Value};
use std::sync::Arc;

const B: &str = "1001";
const FEE: Fen = Fen(1250);

struct Kit {
    ctx: Ctx,
    branch: Branch,
    _queue: Arc<onecard_adapters::embedded_queue::EmbeddedQueue>,
}

impl Kit {
    /// The demo car park taking paid bookings (mode 3, 12.50), stand-ins on.
    async fn new() -> Kit {
        let (ctx, queue) = ctx_with(Arc::new(NoSites)).await;
        let branch = config::get_branch(ctx.store(), B).await.unwrap().unwrap();
        let cfg = bookings::Config { booking_type: 3, charge: FEE, valid_minutes: 0, allow_enter_times: 1, slots: Vec::new() };
        bookings::put_config(ctx.store(), B, &cfg).await.unwrap();
        Kit { ctx, branch, _queue: queue }
    }

    fn now(&self) -> chrono::NaiveDateTime {
        onecard_core::time::to_local(self.ctx.clock.now(), &self.branch.tz)
    }

    async fn ok(&self, route: &str, data: Value) -> Value {
        match call(&self.ctx, route, data.clone()).await {
            Ok(r) => r.data,
            Err(e) => panic!("{route} {data} failed: {e}"),
        }
    }

    /// A booking of `plate` for all of today.
    async fn book(&self, plate: &str) -> String {
        let day = self.now().format("%Y-%m-%d");
        let b = self.ok("park.booking.create", json!({"licensePlate": plate, "startTime": format!("{day} 00:00:00"), "endTime": format!("{day} 23:59:59")})).await;
        b["orderno"].as_str().unwrap().to_string()
    }

    fn standin(&self, p: settings::Providers) -> StandinPay {
        StandinPay::new(self.ctx.store.clone(), self.ctx.clock.clone(), p, &self.branch.tz)
    }

    async fn providers(&self) -> settings::Providers {
        settings::providers(self.ctx.store()).await.unwrap()
    }

    /// Tells the stand-in which operations fail (none: it answers again).
    async fn failing(&self, ops: &[&str]) {
        let p = settings::Providers { fail: ops.iter().map(|s| s.to_string()).collect(), ..self.providers().await };
        settings::put_providers(self.ctx.store(), &p).await.unwrap();
    }

    /// Pays the booking's fee as a payer does: 6.15's page, the stand-in's
    /// cashier, then the trade settled through the 6.2 commit (by the
    /// reconciliation asking the provider, as when the notification is lost).
    /// Answers the trade number.
    async fn pay(&self, booking_no: &str) -> String {
        let order = self.ok("park.booking.onlinepay", json!({"orderNo": booking_no, "payType": "5"})).await["order"].as_str().unwrap().to_string();
        let out = format!("{order}-W1");
        self.standin(self.providers().await).pay_wap(&out).await.unwrap();
        let r = reconcile::branch(&self.ctx, &self.branch, 0).await.unwrap();
        assert_eq!(r.booked, 1, "{r}");
        assert!(self.booking(booking_no).await.fee_paid.is_some());
        out
    }

    async fn booking(&self, no: &str) -> Booking {
        bookings::get(&self.ctx, B, no).await.unwrap().unwrap().0
    }

    async fn trade(&self, out: &str) -> Trade {
        trades::get(&self.ctx, B, out).await.unwrap().unwrap().0
    }

    /// The provider's side of the trade.
    async fn books(&self, out: &str) -> Books {
        self.standin(self.providers().await).trade(out).await.unwrap().unwrap()
    }

    async fn reversals(&self) -> Vec<orders::Reversal> {
        orders::reversals_in_window(&self.ctx, B, None, None).await.unwrap()
    }

    async fn cancel(&self, no: &str) -> Result<Value, onecard_core::ApiError> {
        call(&self.ctx, "park.booking.cancel", json!({"orderNo": no})).await.map(|r| r.data)
    }
}

fn refund_of(b: &Booking) -> Option<Refund> {
    b.fee_paid.as_ref().and_then(|f| f.refund.clone())
}

/// Money back once: the provider's books, our trade, the booking and one
/// journal reversal agree.
async fn assert_refunded_once(k: &Kit, no: &str, out: &str) {
    let books = k.books(out).await;
    assert_eq!((books.state.as_str(), books.refunded), ("refunded", Some(FEE)), "{books:?}");
    assert_eq!(k.trade(out).await.status, TradeStatus::Refunded);
    match refund_of(&k.booking(no).await) {
        Some(Refund::Done { out_trade_no, amount, .. }) => assert_eq!((out_trade_no.as_str(), amount), (out, FEE)),
        other => panic!("refund of {no} is {other:?}"),
    }
    let reversals: Vec<_> = k.reversals().await.into_iter().filter(|r| r.out_trade_no == out).collect();
    assert_eq!(reversals.len(), 1, "{reversals:?}");
    assert_eq!(reversals[0].amount, FEE);
}

#[tokio::test]
async fn cancelling_a_paid_booking_refunds_its_fee_once_and_cancelling_again_asks_nothing() {
    let k = Kit::new().await;
    let no = k.book("粤B71001").await;
    let out = k.pay(&no).await;
    let order = k.booking(&no).await.fee_paid.unwrap().order_no;

    k.cancel(&no).await.unwrap();
    assert_eq!(k.booking(&no).await.state, State::Cancelled);
    assert_refunded_once(&k, &no, &out).await;
    assert_eq!(k.books(&out).await.refund_asks, 1);
    // The payment stays in the journal (a reversal is added, nothing deleted);
    // the order stays paid: 6.26 has no refunded status.
    let paid = orders::paid_in_window(&k.ctx, B, None, None).await.unwrap();
    assert_eq!(paid.iter().filter(|o| o.order_no == order).count(), 1);
    assert_eq!(k.ok("park.order.get", json!({"orderNo": order})).await["status"], "1");

    // Cancelling twice is one cancellation and one refund: the provider is not asked again.
    k.cancel(&no).await.unwrap();
    assert_eq!(k.books(&out).await.refund_asks, 1);
    assert_refunded_once(&k, &no, &out).await;
    // Nothing is left for the reconciliation, and a repeated notification of
    // the refunded trade books nothing.
    let r = reconcile::branch(&k.ctx, &k.branch, 0).await.unwrap();
    assert_eq!(r, reconcile::Report::default(), "{r}");
    let mut t = k.trade(&out).await;
    let (trade_no, amount) = (t.trade_no.clone().unwrap(), t.amount);
    let provider = super::providers::pay(&k.ctx, &k.branch).await.unwrap();
    let again = super::settle::paid(&k.ctx, &k.branch, &*provider, &mut t, &trade_no, "", amount, None, k.now()).await;
    assert_eq!(again.unwrap_err().code, onecard_core::Code::DUPLICATE);
    assert_eq!(k.trade(&out).await.status, TradeStatus::Refunded);
}

#[tokio::test]
async fn racing_cancellations_refund_once() {
    let k = Kit::new().await;
    let no = k.book("粤B71002").await;
    let out = k.pay(&no).await;
    let answers = futures::future::join_all((0..8).map(|_| k.cancel(&no))).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_refunded_once(&k, &no, &out).await;
    assert!(k.books(&out).await.refund_asks >= 1);
}

#[tokio::test]
async fn a_provider_that_does_not_refund_leaves_the_refund_owed_until_the_reconciliation_makes_it() {
    let k = Kit::new().await;
    let no = k.book("粤B71003").await;
    let out = k.pay(&no).await;
    k.failing(&["refund"]).await;

    // The cancellation stands; the money is still owed.
    k.cancel(&no).await.unwrap();
    let b = k.booking(&no).await;
    assert_eq!(b.state, State::Cancelled);
    assert!(matches!(refund_of(&b), Some(Refund::Owed { .. })), "{b:?}");
    assert_eq!((k.books(&out).await.state.as_str(), k.trade(&out).await.status), ("paid", TradeStatus::Booked));
    assert!(k.reversals().await.is_empty());

    // Still failing: every tick tries, the refund stays owed.
    let r = reconcile::branch(&k.ctx, &k.branch, 0).await.unwrap();
    assert_eq!((r.fee_refunds.refunded, r.fee_refunds.owed), (0, 1), "{r}");
    assert!(r.to_string().ends_with("booking fees refunded 0, still owed 1"), "{r}");

    // The provider answers again: the next tick refunds, once; then nothing is owed.
    k.failing(&[]).await;
    let r = reconcile::branch(&k.ctx, &k.branch, 0).await.unwrap();
    assert_eq!((r.fee_refunds.refunded, r.fee_refunds.owed), (1, 0), "{r}");
    assert_refunded_once(&k, &no, &out).await;
    assert_eq!(k.books(&out).await.refund_asks, 1);
    let r = reconcile::branch(&k.ctx, &k.branch, 0).await.unwrap();
    assert_eq!(r, reconcile::Report::default(), "{r}");
    assert_eq!(k.books(&out).await.refund_asks, 1);
}

#[tokio::test]
async fn rejecting_a_paid_booking_refunds_its_fee() {
    let k = Kit::new().await;
    let no = k.book("粤B71004").await;
    let out = k.pay(&no).await;
    let day = k.now().format("%Y-%m-%d");
    let reject = json!({"orderno": no, "licensePlate": "粤B71004", "startTime": format!("{day} 00:00:00"), "endTime": format!("{day} 23:59:59"), "approvalResult": "2"});
    k.ok("park.booking.update", reject.clone()).await;
    assert_eq!(k.booking(&no).await.state, State::Rejected);
    assert_refunded_once(&k, &no, &out).await;
    // Rejected once: a second rejection is refused and refunds nothing more.
    assert!(call(&k.ctx, "park.booking.update", reject).await.is_err());
    assert_eq!(k.books(&out).await.refund_asks, 1);
}

#[tokio::test]
async fn an_unpaid_booking_refunds_nothing_and_a_no_show_keeps_its_fee() {
    let k = Kit::new().await;
    // Its fee order made, never paid: nothing owed, no trade refunded.
    let no = k.book("粤B71005").await;
    let order = k.ok("park.booking.onlinepay", json!({"orderNo": no, "payType": "5"})).await["order"].as_str().unwrap().to_string();
    k.cancel(&no).await.unwrap();
    let b = k.booking(&no).await;
    assert_eq!((b.state, b.fee_paid), (State::Cancelled, None));
    let books = k.books(&format!("{order}-W1")).await;
    assert_eq!((books.state.as_str(), books.refund_asks), ("open", 0));
    assert!(k.reversals().await.is_empty());

    // A paid booking that runs out keeps its fee, cancelled late or not.
    let no = k.book("粤B71006").await;
    let out = k.pay(&no).await;
    let (read, v) = bookings::get(&k.ctx, B, &no).await.unwrap().unwrap();
    let b = bookings::Booking { end: format!("{} 00:00:01", k.now().format("%Y-%m-%d")), ..read.clone() };
    k.ctx.store.transact(b.write_over(B, &read, v).unwrap()).await.unwrap();
    let r = reconcile::branch(&k.ctx, &k.branch, 0).await.unwrap();
    assert_eq!(r.fee_refunds, Default::default());
    k.cancel(&no).await.unwrap();
    let b = k.booking(&no).await;
    assert_eq!((b.state, refund_of(&b)), (State::Cancelled, None));
    let books = k.books(&out).await;
    assert_eq!((books.state.as_str(), books.refund_asks), ("paid", 0));
}

#[tokio::test]
async fn a_booking_whose_car_entered_is_neither_cancelled_nor_rejected_nor_refunded() {
    let k = Kit::new().await;
    let no = k.book("粤B71007").await;
    let out = k.pay(&no).await;
    let at = onecard_core::time::format(k.now() - chrono::Duration::minutes(1));
    k.ok("cat.upload.indata", json!({"areaId": "1", "cardInId": "rf-1", "licensePlate": "粤B71007", "inDate": at, "gateno": "C0000001"})).await;

    let e = k.cancel(&no).await.unwrap_err();
    assert!(e.message.contains("has entered"), "{e}");
    let day = k.now().format("%Y-%m-%d");
    let reject = json!({"orderno": no, "licensePlate": "粤B71007", "startTime": format!("{day} 00:00:00"), "endTime": format!("{day} 23:59:59"), "approvalResult": "2"});
    let e = call(&k.ctx, "park.booking.update", reject).await.unwrap_err();
    assert!(e.message.contains("has entered"), "{e}");
    let b = k.booking(&no).await;
    assert_eq!((b.state, refund_of(&b)), (State::Booked, None));
    let books = k.books(&out).await;
    assert_eq!((books.state.as_str(), books.refund_asks), ("paid", 0));
    assert_eq!(k.trade(&out).await.status, TradeStatus::Booked);
}
