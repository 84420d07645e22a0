//! Reading and writing cards, holders and the plate index. Every write that
//! must agree with another (a card and its plates, a payment and its card) is
//! built here as `Write`s for one `transact`, so both store adapters give the
//! same all-or-nothing behaviour.
//!
//! Lists (a branch's cards, holders) are whole-partition queries: a car park has
//! thousands of cards at most, and the filters of 6.4/10.14 combine freely, so a
//! scan is simpler than an index per filter.

use super::model::{Card, CardState, Holder};
use crate::keys;
use onecard_core::fields::normalize_plate;
use onecard_core::store::{Cond, Item, Query, Write};
use onecard_core::{ApiError, ApiResult, Ctx};
use serde::de::DeserializeOwned;
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

pub fn card_item(branch: &str, c: &Card) -> Item {
    Item::new(keys::cards(branch), c.card_no.clone(), serde_json::to_value(c).unwrap_or_default())
}

pub fn holder_item(branch: &str, h: &Holder) -> Item {
    Item::new(keys::holders(branch), h.user_no.clone(), serde_json::to_value(h).unwrap_or_default())
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
    let items = ctx.store.query_all(&Query::partition(keys::cards(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
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
    let items = ctx.store.query_all(&Query::partition(keys::holders(branch))).await?;
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

/// How a request names a card (`credentialtype`): the union of the codes the
/// sections use; each handler says which it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Plate,
    CardNo,
    UserNo,
    Mobile,
}

/// Reads `{type_field, value_field}` and checks the type against the codes the
/// section allows (`allowed` pairs code → meaning).
pub fn credential(d: &onecard_core::Data, names: (&str, &str), allowed: &[(i64, Credential)]) -> ApiResult<(Credential, String)> {
    // The seed spells these fields three ways (credentialtype, credentialType,
    // CredentialType); the section's spelling first, then the all-lower one.
    let (tf, vf) = names;
    let (tl, vl) = (tf.to_ascii_lowercase(), vf.to_ascii_lowercase());
    let code = d.opt_i64(tf)?.or(d.opt_i64(&tl)?).ok_or_else(|| ApiError::missing(tf))?;
    let kind = allowed.iter().find(|(c, _)| *c == code).map(|(_, k)| *k).ok_or_else(|| {
        let codes: Vec<String> = allowed.iter().map(|(c, _)| c.to_string()).collect();
        ApiError::field(tf, format!("'{code}' is not one of {}", codes.join(", ")))
    })?;
    let value = d.opt_str(vf)?.or(d.opt_str(&vl)?).ok_or_else(|| ApiError::missing(vf))?;
    Ok((kind, value))
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
