//! The card lifecycle: issue (10.15), cancel / disable / enable (10.16-10.18),
//! update (10.42) and plate change (6.38). A card and the plate index entries
//! that point at it change in one transaction.
//!
//! A cancelled card keeps its plate index entries, so that a lane still sees the
//! plate's card was cancelled; issuing a new card for the plate takes them over.

use super::holders::new_user_no;
use super::input::{check_plate_count, opt_text, plate, Section};
use super::model::{Card, CardKind, CardState, Holder, PERSONAL_MONTHLY, PLATE_CARD, MATERIALS};
use super::params::{neither, read_access, terms, ParkInput};
use super::store::{
    bind_plates, card_for_plate_versioned, card_item, card_update, credential, find_cards, get_card, holder_item, holder_update,
    holder_versioned, list_holders, unbind_plates, Credential, Versioned,
};
use crate::ids;
use onecard_core::fields::normalize_plate;
use onecard_core::store::{Cond, Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Fen, Registry, Reply, Req};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const ATTEMPTS: usize = 5;

fn contention() -> ApiError {
    ApiError::failed("the card was changed meanwhile by another request; try again")
}

async fn issue(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let d = &req.data;
    let given_card_no = opt_text(d, "CardNo", 32)?;
    let num_no = opt_text(d, "NumNo", 32)?.ok_or_else(|| ApiError::missing("NumNo"))?;
    let card_id = opt_text(d, "CardID", 32)?.unwrap_or_else(|| num_no.clone());
    let material = d.i64_or("CardMaterial", PLATE_CARD)?;
    if !MATERIALS.contains(&material) {
        return Err(ApiError::field("CardMaterial", format!("'{material}' is not one of 1, 3, 4, 6, 49, 57")));
    }
    let given_user = opt_text(d, "UserNo", 32)?;
    let mobile = opt_text(d, "Mobile", 32)?;
    let home_addr = opt_text(d, "HomeAddr", 100)?;
    let park = Section::of(d, "Park")?;
    let acss_sec = Section::of(d, "Acss")?;
    if park.is_none() && acss_sec.is_none() {
        return Err(neither());
    }
    let acss = match &acss_sec {
        Some(s) => Some(read_access(s, None, req.now)?),
        None => None,
    };

    let mut card = Card {
        card_no: String::new(),
        card_id,
        num_no: num_no.clone(),
        material,
        user_no: String::new(),
        // A door-only card is, for the car park, a temporary car's card.
        kind: CardKind::Hourly,
        group_type: None,
        state: CardState::Active,
        car_type_id: 0,
        month_tariff_id: None,
        plates: Vec::new(),
        valid_from: acss.as_ref().map(|a| a.valid_from).unwrap_or(req.now),
        valid_to: acss.as_ref().map(|a| a.valid_to).unwrap_or(req.now),
        issued_at: req.now,
        balance: Fen::ZERO,
        parking: park.is_some(),
        group_id: None,
        parking_area: None,
        discount_set_id: None,
        relate_num_no: None,
        car_brand_id: None,
        all_grant: true,
        grant_id: None,
        acss,
    };
    if let Some(s) = &park {
        let p = ParkInput::read(s)?;
        let kind = p.kind.unwrap_or(CardKind::Monthly);
        card.kind = kind;
        card.valid_from = p.valid_from.ok_or_else(|| s.field("StartDate", "is required"))?;
        card.valid_to = p.valid_to.ok_or_else(|| s.field("ExpiryDate", "is required"))?;
        card.issued_at = p.issued_at.unwrap_or(req.now);
        card.group_type = p.group_type.or((kind == CardKind::Monthly).then_some(PERSONAL_MONTHLY));
        let (car_type, tariff) = terms(&ctx, b, s, kind, p.car_type_id, p.tariff_id, None).await?;
        card.car_type_id = car_type;
        card.month_tariff_id = tariff;
        card.plates = match p.plates {
            Some(ps) if !ps.is_empty() => ps,
            // 10.15: a plate-recognition card's face number is its plate.
            _ if material == PLATE_CARD => vec![plate("NumNo", &num_no)?],
            _ => Vec::new(),
        };
        card.group_id = p.group_id;
        card.parking_area = p.parking_area;
        card.discount_set_id = p.discount_set_id;
        card.relate_num_no = p.relate_num_no;
        card.car_brand_id = p.car_brand_id;
        card.all_grant = p.all_grant.unwrap_or(true);
        card.grant_id = p.grant_id;
    }

    let existing_holder = match &given_user {
        Some(u) => Some(holder_versioned(&ctx, b, u).await?.ok_or_else(|| ApiError::field("UserNo", format!("user {u} does not exist")))?),
        None => None,
    };
    for _ in 0..ATTEMPTS {
        let mut writes = Vec::new();
        match &existing_holder {
            Some(h) => {
                card.user_no = h.value.user_no.clone();
                if mobile.is_some() || home_addr.is_some() {
                    let fresh = holder_versioned(&ctx, b, &h.value.user_no).await?.unwrap_or_else(|| h.clone());
                    let mut next = fresh.value.clone();
                    set_contact(&mut next, &mobile, &home_addr);
                    writes.push(holder_update(b, &fresh, &next));
                }
            }
            None => {
                let mut h = Holder {
                    user_no: new_user_no(&ctx, b).await?,
                    name: String::new(),
                    gender: 0,
                    birthday: None,
                    identity_type: None,
                    plate: card.plates.first().cloned(),
                    fields: BTreeMap::new(),
                };
                set_contact(&mut h, &mobile, &home_addr);
                card.user_no = h.user_no.clone();
                writes.push(Write::put(holder_item(b, &h), Cond::MustNotExist));
            }
        }
        card.card_no = match &given_card_no {
            Some(n) => n.clone(),
            None => format!("{:010}", ids::next_id(&ctx, b, "card").await?),
        };
        writes.push(Write::put(card_item(b, &card), Cond::MustNotExist));
        writes.extend(bind_plates(&ctx, b, &card.plates, &card.card_no, "Park.LicensePlate").await?);
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(Reply::data(json!({ "CardNo": card.card_no, "UserNo": card.user_no }))),
            Err(e) if e.is_conflict() => {
                if given_card_no.is_some() && get_card(&ctx, b, &card.card_no).await?.is_some() {
                    return Err(ApiError::field("CardNo", format!("card {} already exists", card.card_no)));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(contention())
}

fn set_contact(h: &mut Holder, mobile: &Option<String>, home_addr: &Option<String>) {
    if let Some(m) = mobile {
        h.fields.insert("Mobile".into(), m.clone());
    }
    if let Some(a) = home_addr {
        h.fields.insert("HomeAddr".into(), a.clone());
    }
}

const LIFECYCLE_CREDENTIALS: [(i64, Credential); 4] =
    [(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo), (4, Credential::Mobile)];

/// Moves every card a credential names to `to`. Cards already there are left
/// alone (repeating a request is harmless); a cancelled card never comes back.
pub async fn set_state(ctx: &Ctx, branch: &str, kind: Credential, value: &str, to: CardState) -> ApiResult<usize> {
    for _ in 0..ATTEMPTS {
        let cards = find_cards(ctx, branch, kind, value).await?;
        if cards.is_empty() {
            return Err(ApiError::failed(format!("no card found for '{value}'")));
        }
        if to != CardState::Cancelled && cards.iter().all(|c| c.value.state == CardState::Cancelled) {
            return Err(ApiError::failed(format!("the card of '{value}' is cancelled")));
        }
        let writes: Vec<Write> = cards
            .iter()
            .filter(|c| c.value.state != to && c.value.state != CardState::Cancelled)
            .map(|c| card_update(branch, c, &Card { state: to, ..c.value.clone() }))
            .collect();
        let n = writes.len();
        let mut conflict = false;
        for chunk in writes.chunks(MAX_TRANSACTION_ITEMS) {
            match ctx.store.transact(chunk.to_vec()).await {
                Ok(()) => {}
                Err(e) if e.is_conflict() => {
                    conflict = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !conflict {
            return Ok(n);
        }
    }
    Err(contention())
}

async fn state_route(ctx: Ctx, req: Req, to: CardState) -> ApiResult<Reply> {
    let (kind, value) = credential(&req.data, ("CredentialType", "Credential"), &LIFECYCLE_CREDENTIALS)?;
    set_state(&ctx, req.branchno(), kind, &value, to).await?;
    Ok(Reply::data(Value::Null))
}

async fn cancel(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    state_route(ctx, req, CardState::Cancelled).await
}

async fn disable(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    state_route(ctx, req, CardState::Disabled).await
}

async fn enable(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    state_route(ctx, req, CardState::Active).await
}

/// 10.42: changes what the request gives, leaves the rest.
async fn update(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let d = &req.data;
    let (kind, value) = credential(d, ("CredentialType", "Credential"), &[(1, Credential::Plate), (2, Credential::CardNo)])?;
    let mobile = opt_text(d, "Mobile", 32)?;
    let home_addr = opt_text(d, "HomeAddr", 100)?;
    let park = Section::of(d, "Park")?;
    let acss_sec = Section::of(d, "Acss")?;
    let park_in = match &park {
        Some(s) => Some(ParkInput::read(s)?),
        None => None,
    };
    for _ in 0..ATTEMPTS {
        let card = find_cards(&ctx, b, kind, &value)
            .await?
            .into_iter()
            .find(|c| c.value.state != CardState::Cancelled)
            .ok_or_else(|| ApiError::failed(format!("no card in use found for '{value}'")))?;
        let old = &card.value;
        let mut next = old.clone();
        if let (Some(s), Some(p)) = (&park, &park_in) {
            let p = p.clone();
            next.parking = true;
            next.kind = p.kind.unwrap_or(old.kind);
            let old_terms = old.parking.then_some((old.car_type_id, old.month_tariff_id));
            let keep_tariff = if next.kind == old.kind { old_terms } else { old_terms.map(|(c, _)| (c, None)) };
            let (car_type, tariff) = terms(&ctx, b, s, next.kind, p.car_type_id, p.tariff_id, keep_tariff).await?;
            next.car_type_id = car_type;
            next.month_tariff_id = tariff;
            next.group_type = p.group_type.or(old.group_type);
            next.valid_from = p.valid_from.unwrap_or(old.valid_from);
            next.valid_to = p.valid_to.unwrap_or(old.valid_to);
            if next.valid_to < next.valid_from {
                return Err(s.field("ExpiryDate", "is before StartDate"));
            }
            next.issued_at = p.issued_at.unwrap_or(old.issued_at);
            if let Some(ps) = p.plates {
                check_plate_count(&format!("{}.LicensePlate", s.name), &ps)?;
                next.plates = ps;
            }
            next.group_id = p.group_id.or(next.group_id);
            next.parking_area = p.parking_area.or(next.parking_area);
            next.discount_set_id = p.discount_set_id.or(next.discount_set_id);
            next.relate_num_no = p.relate_num_no.or(next.relate_num_no);
            next.car_brand_id = p.car_brand_id.or(next.car_brand_id);
            next.all_grant = p.all_grant.unwrap_or(next.all_grant);
            next.grant_id = p.grant_id.or(next.grant_id);
        }
        if let Some(s) = &acss_sec {
            next.acss = Some(read_access(s, old.acss.as_ref(), req.now)?);
        }
        let mut writes = vec![card_update(b, &card, &next)];
        let removed: Vec<String> = old.plates.iter().filter(|p| !next.plates.contains(p)).cloned().collect();
        writes.extend(unbind_plates(&ctx, b, &removed, &old.card_no).await?);
        writes.extend(bind_plates(&ctx, b, &next.plates, &old.card_no, "Park.LicensePlate").await?);
        if mobile.is_some() || home_addr.is_some() {
            if let Some(h) = holder_versioned(&ctx, b, &old.user_no).await? {
                let mut nh = h.value.clone();
                set_contact(&mut nh, &mobile, &home_addr);
                writes.push(holder_update(b, &h, &nh));
            }
        }
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(Reply::data(json!({ "CardNo": next.card_no, "UserNo": next.user_no }))),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(contention())
}

/// 6.38: replaces a plate on its card (and the face number of a
/// plate-recognition card, which is the plate) and on the holders that
/// registered it.
async fn change_plate(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let old_plate = plate("old", &req.data.str("old")?)?;
    let new_plate = plate("new", &req.data.str("new")?)?;
    if old_plate == new_plate {
        return Err(ApiError::field("new", "is the same plate as 'old'"));
    }
    for _ in 0..ATTEMPTS {
        let mut writes = Vec::new();
        let card: Option<Versioned<Card>> = card_for_plate_versioned(&ctx, b, &old_plate).await?;
        if let Some(card) = &card {
            let mut next = card.value.clone();
            for p in next.plates.iter_mut().filter(|p| **p == old_plate) {
                *p = new_plate.clone();
            }
            if normalize_plate(&next.num_no) == old_plate {
                next.num_no = new_plate.clone();
            }
            if normalize_plate(&next.card_id) == old_plate {
                next.card_id = new_plate.clone();
            }
            writes.push(card_update(b, card, &next));
            writes.extend(unbind_plates(&ctx, b, std::slice::from_ref(&old_plate), &next.card_no).await?);
            writes.extend(bind_plates(&ctx, b, std::slice::from_ref(&new_plate), &next.card_no, "new").await?);
        }
        for h in list_holders(&ctx, b).await?.into_iter().filter(|h| h.plate.as_deref() == Some(old_plate.as_str())) {
            if let Some(hv) = holder_versioned(&ctx, b, &h.user_no).await? {
                let next = Holder { plate: Some(new_plate.clone()), ..hv.value.clone() };
                writes.push(holder_update(b, &hv, &next));
            }
        }
        if writes.is_empty() {
            return Err(ApiError::failed(format!("no card or cardholder has plate {old_plate}")));
        }
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::failed(format!("plate {old_plate} is registered on too many cardholders to change at once")));
        }
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(Reply::data(Value::Null)),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(contention())
}

pub fn register(reg: &mut Registry) {
    reg.handle("pub.card.add", handler(issue));
    reg.handle("pub.card.cancel", handler(cancel));
    reg.handle("pub.card.disable", handler(disable));
    reg.handle("pub.card.enable", handler(enable));
    reg.handle("pub.card.update", handler(update));
    reg.handle("park.lp.change", handler(change_plate));
}
