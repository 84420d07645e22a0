//! The parking side's view of a car's card: what pricing (tariff.md rule 8),
//! the lane decision and stored-value payment (payType 3) need from
//! `crate::cards`, in one place so that the rest of parking does not depend on
//! the card record's shape.

use super::stays::{self, Stay, StayState};
use crate::cards::{self, Card, CardState};
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::fields::normalize_plate;
use onecard_core::kit::CredentialType;
use onecard_core::store::{Item, StoreError};
use onecard_core::{ApiResult, Ctx, Fen};

/// Function type of a temporary car (the seed's FuncType 0).
pub const TEMPORARY: i64 = 0;

/// What pricing needs to know about the car's card (rule 8).
#[derive(Clone, Debug, PartialEq)]
pub struct CardTerms {
    pub card_no: String,
    /// The raw (physical) card number, 6.1 `cardId`.
    pub card_id: String,
    /// The face number, 6.1 `numno`.
    pub num_no: String,
    pub car_type_id: Option<i64>,
    /// Validity of a usable monthly card; None for other kinds or a card that
    /// is disabled or cancelled.
    pub monthly: Option<(NaiveDateTime, NaiveDateTime)>,
    /// The seed's FuncType of the card (26 monthly, 20 stored-value...).
    pub func_type: i64,
    pub state: CardState,
    pub stored_value: bool,
    pub balance: Fen,
    pub valid_from: NaiveDateTime,
    pub valid_to: NaiveDateTime,
}

impl CardTerms {
    fn from_card(c: &Card) -> CardTerms {
        let active = c.state == CardState::Active;
        CardTerms {
            card_no: c.card_no.clone(),
            card_id: c.card_id.clone(),
            num_no: c.num_no.clone(),
            car_type_id: Some(c.car_type_id),
            monthly: (active && c.is_monthly()).then_some((c.valid_from, c.valid_to)),
            func_type: c.kind.code(),
            state: c.state,
            stored_value: c.is_stored_value(),
            balance: c.balance,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
        }
    }

    /// Usable at `t`: active and inside its validity.
    pub fn valid_at(&self, t: NaiveDateTime) -> bool {
        self.state == CardState::Active && self.valid_from <= t && t <= self.valid_to
    }

    /// The FuncType a stay records at entry: the card's kind while the card is
    /// usable, else a temporary car.
    pub fn func_type_at(&self, t: NaiveDateTime) -> i64 {
        if self.valid_at(t) {
            self.func_type
        } else {
            TEMPORARY
        }
    }
}

/// The parking card bound to `plate` (whatever its state), if any. Cards issued
/// for door access only have no parking side and do not count.
pub async fn card_terms(ctx: &Ctx, branch: &str, plate: &str) -> ApiResult<Option<CardTerms>> {
    Ok(cards::card_for_plate(ctx, branch, plate).await?.filter(|c| c.parking).as_ref().map(CardTerms::from_card))
}

/// The card of a stay: by plate, else by the parking card number a card-only
/// entry carries.
pub async fn card_terms_of_stay(ctx: &Ctx, branch: &str, stay: &Stay) -> ApiResult<Option<CardTerms>> {
    card_terms_by(ctx, branch, &stay.plate, stay.card_no.as_deref()).await
}

/// The card bound to `plate`, else the parking card numbered `card_no`.
pub async fn card_terms_by(ctx: &Ctx, branch: &str, plate: &str, card_no: Option<&str>) -> ApiResult<Option<CardTerms>> {
    if !plate.is_empty() {
        if let Some(t) = card_terms(ctx, branch, plate).await? {
            return Ok(Some(t));
        }
    }
    match card_no {
        Some(no) => Ok(cards::get_card(ctx, branch, no).await?.filter(|c| c.parking).as_ref().map(CardTerms::from_card)),
        None => Ok(None),
    }
}

/// The stay of a car in the park (with its version) and its card's terms,
/// in two store round trips for a plate: the in-park index and the plate's
/// card index are read in one batch, then the stay and the card in another.
/// The same answer as `stays::find` followed by `card_terms_of_stay`.
pub async fn find_stay_with_card(
    ctx: &Ctx,
    branch: &str,
    by: CredentialType,
    credential: &str,
) -> ApiResult<Option<((Stay, u64), Option<CardTerms>)>> {
    Ok(find_stay_with_card_and(ctx, branch, by, credential, |_| Vec::new()).await?.map(|(found, card, _)| (found, card)))
}

/// `find_stay_with_card`, reading as well, in its first batch, the items
/// `also(plate)` names for a plate credential (the caller's own look-ups of
/// the same car, at no extra round trip). Answers them in the order named;
/// None when they were not read (a card credential).
pub async fn find_stay_with_card_and(
    ctx: &Ctx,
    branch: &str,
    by: CredentialType,
    credential: &str,
    also: impl FnOnce(&str) -> Vec<(String, String)>,
) -> ApiResult<Option<((Stay, u64), Option<CardTerms>, Option<Vec<Option<Item>>>)>> {
    let plate = normalize_plate(credential);
    if by == CredentialType::Card || plate.is_empty() {
        let Some(found) = stays::find(ctx, branch, by, credential).await? else { return Ok(None) };
        let card = card_terms_of_stay(ctx, branch, &found.0).await?;
        return Ok(Some((found, card, None)));
    }
    let mut wanted = vec![(keys::in_park(branch), stays::index_sk(&plate, None)), (keys::plate_cards(branch), plate.clone())];
    wanted.extend(also(&plate));
    let mut first = ctx.store.get_many(&wanted).await?;
    if first.len() != wanted.len() {
        return Err(StoreError::Backend("get_many answered the wrong number of items".into()).into());
    }
    let extra = first.split_off(2);
    let [idx, plate_card] = <[_; 2]>::try_from(first).map_err(|_| StoreError::Backend("get_many answered the wrong number of items".into()))?;
    let Some(idx) = idx else { return Ok(None) };
    let Some(id) = idx.body["cardInId"].as_str() else {
        return Err(StoreError::Corrupt(format!("{}/{}: no cardInId", idx.pk, idx.sk)).into());
    };
    let card_no = plate_card.as_ref().and_then(|i| i.body.get("cardNo")).and_then(|v| v.as_str());
    let mut wanted = vec![(keys::stays(branch), id.to_string())];
    if let Some(no) = card_no {
        wanted.push((keys::cards(branch), no.to_string()));
    }
    let mut second = ctx.store.get_many(&wanted).await?.into_iter();
    let Some(stay_item) = second.next().flatten() else { return Ok(None) };
    let stay: Stay = stay_item.parse()?;
    if stay.state != StayState::InPark {
        return Ok(None);
    }
    let by_plate = second.next().flatten().map(|i| i.parse::<Card>()).transpose()?.filter(|c| c.parking);
    let card = match by_plate {
        Some(c) => Some(CardTerms::from_card(&c)),
        // No parking card by plate: the card number a card entry carries.
        None => match &stay.card_no {
            Some(no) => cards::get_card(ctx, branch, no).await?.filter(|c| c.parking).as_ref().map(CardTerms::from_card),
            None => None,
        },
    };
    Ok(Some(((stay, stay_item.version), card, Some(extra))))
}

/// The stored-value card that pays for a stay (payType 3): the card bound to
/// its plate, else the parking card a card-only entry carries.
pub async fn stored_value_card(ctx: &Ctx, branch: &str, stay: &Stay) -> ApiResult<Option<String>> {
    if let Some(t) = card_terms(ctx, branch, &stay.plate).await? {
        if t.stored_value {
            return Ok(Some(t.card_no));
        }
    }
    if let Some(no) = &stay.card_no {
        if let Some(c) = cards::get_card(ctx, branch, no).await? {
            if c.is_stored_value() {
                return Ok(Some(c.card_no));
            }
        }
    }
    Ok(None)
}
