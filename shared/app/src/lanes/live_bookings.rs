//! The bookings that can still matter, found without reading every booking
//! ever made. Bookings are never deleted (the refund and the history read
//! them), so the hot paths (the lane decision, 6.3's held spaces, locks, a
//! slot's capacity) would otherwise read a partition that only grows.
//!
//! `keys::live_bookings` holds one entry per `booked` booking, keyed by the
//! end of its window then its number. A range read from a time on yields
//! the bookings not over before it; past ones fall out of the range without
//! anybody pruning them. A booking whose window end cannot be read is keyed
//! by its start (what the slot count reads it by); one whose start cannot be
//! read either is left out: no path counts or admits it (`pending_at`,
//! `open_at` and the slot count all need one of them).
//!
//! An entry holds the booking's number and plate, not the booking: the
//! bookings are then read in one batch get. Holding the whole booking would
//! save that read, but every write of a booking (a fee ordered or paid, a
//! refund recorded) would have to rewrite its copy too; with the number
//! only, the entry changes only when the state, the window or the plate do,
//! and the plate lets a read for one car fetch that car's bookings alone.
//!
//! Exactness: every write of a booking goes through `Booking::write_new` or
//! `Booking::write_over`, which add `writes` (the move from the old entry
//! to the new) to the booking's own write, in one transaction. The booking's
//! write is conditioned (`MustNotExist`, `VersionIs`), so two writers of one
//! booking cannot both move its entry.
//!
//! Stores written before the index: the first read that finds no `built`
//! marker builds it (`build`) from the bookings, then writes the marker. The
//! marker lives in the index partition after every entry, so the read that
//! yields the entries sees it at the end: no extra round trip. Each of the
//! builder's puts is `MustNotExist` and checks that the booking is still at
//! the version it was read at: a builder that lost a race to another builder,
//! or to a writer that moved the entry meanwhile, conflicts and starts again
//! from a fresh read, skipping the entries already there.

use super::bookings::{Booking, State};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::retry::{self, Step};
use onecard_core::store::{Cond, Item, Query, StoreError, Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{ApiError, ApiResult, Ctx};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The marker's sort key: after every entry (entries start with a digit).
const BUILT: &str = "built";
const SK_TIME: &str = "%Y%m%d%H%M%S";

/// A booking's place in the index.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    sk: String,
    order_no: String,
    plate: String,
}

impl Entry {
    /// None: the booking is not `booked`, or has no time to be ordered by.
    fn of(b: &Booking) -> Option<Entry> {
        if b.state != State::Booked {
            return None;
        }
        let at = b.window_end().or_else(|| b.start_at())?;
        Some(Entry { sk: format!("{}#{}", at.format(SK_TIME), b.order_no), order_no: b.order_no.clone(), plate: b.plate.clone() })
    }

    fn item(&self, branch: &str) -> Item {
        Item::new(keys::live_bookings(branch), &self.sk, json!({ "order_no": self.order_no, "plate": self.plate }))
    }
}

/// The index writes that take `old`'s entry (None: a new booking) to `new`'s,
/// to join the transaction that writes `new`. Unconditioned: the booking's
/// own write decides who writes it.
pub(super) fn writes(branch: &str, old: Option<&Booking>, new: &Booking) -> Vec<Write> {
    match (old.and_then(Entry::of), Entry::of(new)) {
        (was, now) if was == now => Vec::new(),
        // Same key, new plate: a transaction names a key once.
        (Some(was), Some(now)) if was.sk == now.sk => vec![Write::put(now.item(branch), Cond::None)],
        (was, now) => {
            let drop = was.map(|e| Write::delete(keys::live_bookings(branch), e.sk, Cond::None));
            drop.into_iter().chain(now.map(|e| Write::put(e.item(branch), Cond::None))).collect()
        }
    }
}

/// The `booked` bookings whose window does not end before `from` (to the
/// second: callers still judge each one at their own instant), of `plate`
/// alone when given, in booking-number order as `bookings::list` answers.
/// Builds the index first when the store has none yet.
pub async fn from(ctx: &Ctx, branch: &str, from: NaiveDateTime, plate: Option<&str>) -> ApiResult<Vec<Booking>> {
    let q = Query::between(keys::live_bookings(branch), from.format(SK_TIME).to_string(), BUILT);
    for _ in 0..2 {
        let mut items = ctx.store.query_all(&q).await?;
        if items.last().is_none_or(|i| i.sk != BUILT) {
            build(ctx, branch).await?;
            continue;
        }
        items.pop();
        let mut wanted = Vec::with_capacity(items.len());
        for i in &items {
            let field = |name: &str| i.body.get(name).and_then(Value::as_str).ok_or_else(|| StoreError::Corrupt(format!("{}/{}: no {name}", i.pk, i.sk)));
            if plate.is_none_or(|p| field("plate").is_ok_and(|x| x == p)) {
                wanted.push((keys::bookings(branch), field("order_no")?.to_string()));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::with_capacity(wanted.len());
        for (item, (_, no)) in ctx.store.get_many(&wanted).await?.into_iter().zip(&wanted) {
            match item {
                Some(item) => found.push(item.parse::<Booking>()?),
                // Bookings are never deleted; an entry without one is left
                // out rather than failing every entry decision.
                None => tracing::warn!(branch, booking = %no, "live booking index names a booking that is not stored"),
            }
        }
        found.sort_by(|a, b| a.order_no.cmp(&b.order_no));
        return Ok(found);
    }
    Err(ApiError::system("the live bookings index is still not built after building it"))
}

/// Builds the index of a store written before it (see the module doc), then
/// writes the `built` marker. Conflicts (another builder, a writer moving an
/// entry meanwhile) start it again from a fresh read.
pub async fn build(ctx: &Ctx, branch: &str) -> ApiResult<()> {
    let pk = keys::live_bookings(branch);
    let bookings_pk = keys::bookings(branch);
    retry::on_conflict("live bookings index not built", || async {
        if ctx.store.get(&pk, BUILT).await?.is_some() {
            return Ok(Step::Done(()));
        }
        let have: BTreeSet<String> = ctx.store.query_all(&Query::partition(pk.clone())).await?.into_iter().map(|i| i.sk).collect();
        let mut missing = Vec::new();
        for item in ctx.store.query_all(&Query::partition(bookings_pk.clone())).await? {
            let b: Booking = item.parse()?;
            if let Some(e) = Entry::of(&b).filter(|e| !have.contains(&e.sk)) {
                missing.push((e, item.version));
            }
        }
        // Two writes per entry (its put, its booking's check) and the marker's check.
        for chunk in missing.chunks((MAX_TRANSACTION_ITEMS - 1) / 2) {
            let mut tx = Vec::with_capacity(2 * chunk.len() + 1);
            for (e, version) in chunk {
                tx.push(Write::put(e.item(branch), Cond::MustNotExist));
                tx.push(Write::check(bookings_pk.clone(), e.order_no.clone(), Cond::VersionIs(*version)));
            }
            tx.push(Write::check(pk.clone(), BUILT, Cond::MustNotExist));
            match ctx.store.transact(tx).await {
                Ok(()) => {}
                Err(e) if e.is_conflict() => return Ok(Step::Conflict),
                Err(e) => return Err(e.into()),
            }
        }
        let marker = Item::new(pk.clone(), BUILT, json!({ "added": missing.len() }));
        Step::of(ctx.store.put(marker, Cond::MustNotExist).await, ())
    })
    .await
}
