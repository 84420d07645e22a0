//! The card repository: the one place that knows where cards, holders, the
//! plate index and the card payment records (orders, renewals, top-ups,
//! debits) are kept. Every write that must agree with another (a card and its
//! plates, a payment and its card) is built here as `Write`s for one
//! `transact`, so both store adapters give the same all-or-nothing behaviour.
//!
//! Lists (a branch's cards, holders) are whole-partition queries: a car park has
//! thousands of cards at most, and the filters of 6.4/10.14 combine freely, so a
//! scan is simpler than an index per filter.

use super::input::Credential;
use super::model::{Card, CardState, Debit, Holder};
use super::payments::{MonthCharge, MonthOrder, TopUp};
use crate::keys;
use onecard_core::kit::normalise_plate as normalize_plate;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// A record with the version it was read at, for a `VersionIs` write back.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

impl<T> Versioned<T> {
    fn parse(item: &Item) -> ApiResult<Versioned<T>>
    where
        T: DeserializeOwned,
    {
        Ok(Versioned { value: item.parse()?, version: item.version })
    }
}

fn record<T: Serialize>(pk: String, sk: impl Into<String>, value: &T) -> Item {
    Item::new(pk, sk, serde_json::to_value(value).unwrap_or_default())
}

fn card_item(branch: &str, c: &Card) -> Item {
    record(keys::cards(branch), c.card_no.clone(), c)
}

fn holder_item(branch: &str, h: &Holder) -> Item {
    record(keys::holders(branch), h.user_no.clone(), h)
}

/// The write that stores a new card; it fails if the card number is taken.
pub fn card_create(branch: &str, c: &Card) -> Write {
    Write::put(card_item(branch, c), Cond::MustNotExist)
}

/// The write that stores a new holder; it fails if the user number is taken.
pub fn holder_create(branch: &str, h: &Holder) -> Write {
    Write::put(holder_item(branch, h), Cond::MustNotExist)
}

/// The write that stores `next` over the version `old` was read at.
pub fn card_update(branch: &str, old: &Versioned<Card>, next: &Card) -> Write {
    Write::put(card_item(branch, next).with_version(old.version + 1), Cond::VersionIs(old.version))
}

pub fn holder_update(branch: &str, old: &Versioned<Holder>, next: &Holder) -> Write {
    Write::put(holder_item(branch, next).with_version(old.version + 1), Cond::VersionIs(old.version))
}

pub async fn card_versioned(ctx: &Ctx, branch: &str, card_no: &str) -> ApiResult<Option<Versioned<Card>>> {
    match ctx.store.get(&keys::cards(branch), card_no).await? {
        Some(item) => Ok(Some(Versioned::parse(&item)?)),
        None => Ok(None),
    }
}

pub async fn get_card(ctx: &Ctx, branch: &str, card_no: &str) -> ApiResult<Option<Card>> {
    Ok(card_versioned(ctx, branch, card_no).await?.map(|v| v.value))
}

pub async fn list_cards(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Card>> {
    list_of(ctx, keys::cards(branch)).await
}

pub async fn list_cards_versioned(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Versioned<Card>>> {
    let items = ctx.store.query_all(&Query::partition(keys::cards(branch))).await?;
    items.iter().map(Versioned::parse).collect()
}

pub async fn holder_versioned(ctx: &Ctx, branch: &str, user_no: &str) -> ApiResult<Option<Versioned<Holder>>> {
    match ctx.store.get(&keys::holders(branch), user_no).await? {
        Some(item) => Ok(Some(Versioned::parse(&item)?)),
        None => Ok(None),
    }
}

pub async fn get_holder(ctx: &Ctx, branch: &str, user_no: &str) -> ApiResult<Option<Holder>> {
    Ok(holder_versioned(ctx, branch, user_no).await?.map(|v| v.value))
}

pub async fn list_holders(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Holder>> {
    list_of(ctx, keys::holders(branch)).await
}

/// `list_holders` on a bare store, for the directory's referential checks and
/// the importer, which have no `Ctx`.
pub async fn list_holders_in(store: &dyn onecard_core::store::ItemStore, branch: &str) -> ApiResult<Vec<Holder>> {
    let items = store.query_all(&Query::partition(keys::holders(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// The card bound to a plate, whatever its state (a disabled or cancelled card
/// is returned so that a lane can refuse it); None when no card has the plate.
pub async fn card_for_plate(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Option<Card>> {
    Ok(card_for_plate_versioned(ctx, branch, plate).await?.map(|v| v.value))
}

pub async fn card_for_plate_versioned(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Option<Versioned<Card>>> {
    let plate = normalize_plate(plate);
    if plate.is_empty() {
        return Ok(None);
    }
    let Some(index) = ctx.store.get(&keys::plate_cards(branch), &plate).await? else {
        return Ok(None);
    };
    match index.body.get("cardNo").and_then(|v| v.as_str()) {
        Some(card_no) => card_versioned(ctx, branch, card_no).await,
        None => Ok(None),
    }
}

/// The plate index: every (plate, card number) entry of the branch.
pub async fn plate_index(ctx: &Ctx, branch: &str) -> ApiResult<Vec<(String, String)>> {
    let items = ctx.store.query_all(&Query::partition(keys::plate_cards(branch))).await?;
    Ok(items.into_iter().map(|i| (i.sk.clone(), i.body.get("cardNo").and_then(|v| v.as_str()).unwrap_or_default().to_string())).collect())
}

/// The writes that point `plates` at `card_no`. A plate held by another card
/// that is not cancelled is refused (100001 naming `field`); one left behind by
/// a cancelled card is taken over, conditional on the index version read, so
/// two issuers racing for a plate cannot both win.
pub async fn bind_plates(ctx: &Ctx, branch: &str, plates: &[String], card_no: &str, field: &str) -> ApiResult<Vec<Write>> {
    let pk = keys::plate_cards(branch);
    let mut writes = Vec::new();
    for plate in plates {
        let item = Item::new(pk.clone(), plate.clone(), json!({ "cardNo": card_no }));
        match ctx.store.get(&pk, plate).await? {
            None => writes.push(Write::put(item, Cond::MustNotExist)),
            Some(old) => {
                let holder = old.body.get("cardNo").and_then(|v| v.as_str()).unwrap_or_default().to_string();
                if holder == card_no {
                    continue;
                }
                let other = get_card(ctx, branch, &holder).await?;
                if let Some(other) = other.filter(|c| c.state != CardState::Cancelled) {
                    return Err(ApiError::field(field, format!("plate {plate} is already bound to card {}", other.card_no)));
                }
                writes.push(Write::put(item.with_version(old.version + 1), Cond::VersionIs(old.version)));
            }
        }
    }
    Ok(writes)
}

/// The writes that release `plates` from `card_no` (only index entries that
/// still point at it).
pub async fn unbind_plates(ctx: &Ctx, branch: &str, plates: &[String], card_no: &str) -> ApiResult<Vec<Write>> {
    let pk = keys::plate_cards(branch);
    let mut writes = Vec::new();
    for plate in plates {
        if let Some(old) = ctx.store.get(&pk, plate).await? {
            if old.body.get("cardNo").and_then(|v| v.as_str()) == Some(card_no) {
                writes.push(Write::delete(pk.clone(), plate.clone(), Cond::VersionIs(old.version)));
            }
        }
    }
    Ok(writes)
}

/// Every card a credential names. A card number matches `CardNo`, and failing
/// that the face number or physical number (clients use all three).
pub async fn find_cards(ctx: &Ctx, branch: &str, kind: Credential, value: &str) -> ApiResult<Vec<Versioned<Card>>> {
    match kind {
        Credential::Plate => Ok(card_for_plate_versioned(ctx, branch, value).await?.into_iter().collect()),
        Credential::CardNo => {
            if let Some(c) = card_versioned(ctx, branch, value).await? {
                return Ok(vec![c]);
            }
            let want = normalize_plate(value);
            Ok(list_cards_versioned(ctx, branch)
                .await?
                .into_iter()
                .filter(|c| normalize_plate(&c.value.num_no) == want || normalize_plate(&c.value.card_id) == want)
                .collect())
        }
        Credential::UserNo => Ok(list_cards_versioned(ctx, branch).await?.into_iter().filter(|c| c.value.user_no == value).collect()),
        Credential::Mobile => {
            let users: Vec<String> =
                list_holders(ctx, branch).await?.into_iter().filter(|h| h.mobile() == value).map(|h| h.user_no).collect();
            Ok(list_cards_versioned(ctx, branch).await?.into_iter().filter(|c| users.contains(&c.value.user_no)).collect())
        }
    }
}

/// The one card a payment route acts on: not cancelled, and when several match
/// (a user number), the first of the wanted kind.
pub async fn find_one(
    ctx: &Ctx,
    branch: &str,
    kind: Credential,
    value: &str,
    want: impl Fn(&Card) -> bool,
) -> ApiResult<Versioned<Card>> {
    let cards = find_cards(ctx, branch, kind, value).await?;
    if cards.is_empty() {
        return Err(ApiError::failed(format!("no card found for credential '{value}'")));
    }
    let live: Vec<_> = cards.into_iter().filter(|c| c.value.state != CardState::Cancelled).collect();
    if live.is_empty() {
        return Err(ApiError::failed(format!("the card of '{value}' is cancelled")));
    }
    let n = live.len();
    live.into_iter()
        .find(|c| want(&c.value))
        .ok_or_else(|| ApiError::failed(format!("{n} card(s) found for '{value}', none of the kind this route serves")))
}

fn parse_opt<T: DeserializeOwned>(item: Option<Item>) -> ApiResult<Option<T>> {
    match item {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

async fn list_of<T: DeserializeOwned>(ctx: &Ctx, pk: String) -> ApiResult<Vec<T>> {
    let items = ctx.store.query_all(&Query::partition(pk)).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

// ---- monthly-card orders (6.39) and renewals (6.6) ----

pub async fn month_order_versioned(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Option<Versioned<MonthOrder>>> {
    match ctx.store.get(&keys::month_orders(branch), order_no).await? {
        Some(item) => Ok(Some(Versioned::parse(&item)?)),
        None => Ok(None),
    }
}

/// Stores a new order; its number must be new.
pub async fn month_order_create(ctx: &Ctx, branch: &str, o: &MonthOrder) -> ApiResult<()> {
    ctx.store.put(record(keys::month_orders(branch), o.order_no.clone(), o), Cond::MustNotExist).await?;
    Ok(())
}

/// The write that stores `next` over the order version `old` was read at.
pub fn month_order_update(branch: &str, old: &Versioned<MonthOrder>, next: &MonthOrder) -> Write {
    let item = record(keys::month_orders(branch), next.order_no.clone(), next).with_version(old.version + 1);
    Write::put(item, Cond::VersionIs(old.version))
}

/// Whether a renewal was recorded under idempotency key `key`.
pub async fn month_charge_exists(ctx: &Ctx, branch: &str, key: &str) -> ApiResult<bool> {
    Ok(ctx.store.get(&keys::month_charges(branch), key).await?.is_some())
}

/// The write that records a renewal under its key, once.
pub fn month_charge_create(branch: &str, c: &MonthCharge) -> Write {
    Write::put(record(keys::month_charges(branch), c.key.clone(), c), Cond::MustNotExist)
}

/// Every renewal of the branch, oldest first.
pub async fn list_month_charges(ctx: &Ctx, branch: &str) -> ApiResult<Vec<MonthCharge>> {
    let mut all: Vec<MonthCharge> = list_of(ctx, keys::month_charges(branch)).await?;
    all.sort_by_key(|c| (c.paid_at, c.seq_no));
    Ok(all)
}

// ---- stored-value top-ups (6.8) and debits (payType 3) ----

pub async fn top_up_exists(ctx: &Ctx, branch: &str, key: &str) -> ApiResult<bool> {
    Ok(ctx.store.get(&keys::value_topups(branch), key).await?.is_some())
}

/// The write that records a top-up under its key, once.
pub fn top_up_create(branch: &str, t: &TopUp) -> Write {
    Write::put(record(keys::value_topups(branch), t.key.clone(), t), Cond::MustNotExist)
}

/// Every top-up of the branch, oldest first.
pub async fn list_top_ups(ctx: &Ctx, branch: &str) -> ApiResult<Vec<TopUp>> {
    let mut all: Vec<TopUp> = list_of(ctx, keys::value_topups(branch)).await?;
    all.sort_by_key(|t| (t.at, t.seq_no));
    Ok(all)
}

/// The write that records the debit of a parking order, once per order.
pub fn debit_create(branch: &str, d: &Debit) -> Write {
    Write::put(record(keys::value_debits(branch), d.order_no.clone(), d), Cond::MustNotExist)
}

/// The debit recorded for a parking order, if it was paid from a card.
pub async fn debit_of_order(ctx: &Ctx, branch: &str, order_no: &str) -> ApiResult<Option<Debit>> {
    parse_opt(ctx.store.get(&keys::value_debits(branch), order_no).await?)
}
