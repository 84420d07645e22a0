//! Cardholders, 10.11-10.14. A holder is found by user number, by the plate of
//! one of their cards (or the plate registered on the holder), or by one of
//! their card numbers.

use super::input::{opt_text, plate};
use super::model::{identity_type_name, Card, Holder, HOLDER_TEXT_FIELDS};
use super::store::{
    self, card_for_plate_versioned, card_update, credential, find_cards, holder_item, holder_update, holder_versioned, list_cards,
    list_holders, Credential,
};
use crate::ids;
use onecard_core::fields::normalize_plate;
use onecard_core::store::{Cond, Write};
use onecard_core::{handler, ApiError, ApiResult, Ctx, Data, Registry, Reply, Req};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const MAX_TEXT: usize = 100;

/// The holder fields of 10.11/10.12 (everything but UserNo and LicensePlate).
fn holder_from_request(user_no: String, d: &Data) -> ApiResult<Holder> {
    let name = opt_text(d, "FstName", 50)?.ok_or_else(|| ApiError::missing("FstName"))?;
    let gender = d.i64("Gender")?;
    if !(gender == 1 || gender == 2) {
        return Err(ApiError::field("Gender", format!("'{gender}' is not 1 (male) or 2 (female)")));
    }
    let identity_type = d.opt_i64("IdentityTypeID")?;
    if identity_type.is_some_and(|c| identity_type_name(c).is_empty()) {
        return Err(ApiError::field("IdentityTypeID", "is not one of 1-7"));
    }
    let mut fields = BTreeMap::new();
    for f in HOLDER_TEXT_FIELDS {
        if let Some(v) = opt_text(d, f, MAX_TEXT)? {
            fields.insert(f.to_string(), v);
        }
    }
    Ok(Holder { user_no, name, gender, birthday: d.opt_time("Birthday")?, identity_type, plate: None, fields })
}

/// A new holder number: the counter, zero-padded like the seed's "0001000000".
pub async fn new_user_no(ctx: &Ctx, branch: &str) -> ApiResult<String> {
    Ok(format!("{:010}", ids::next_id(ctx, branch, "holder").await?))
}

async fn add(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let given = opt_text(&req.data, "UserNo", 32)?;
    let mut h = holder_from_request(given.clone().unwrap_or_default(), &req.data)?;
    h.plate = match req.data.opt_str("LicensePlate")? {
        Some(p) => Some(plate("LicensePlate", &p)?),
        None => None,
    };
    for _ in 0..5 {
        h.user_no = match &given {
            Some(u) => u.clone(),
            None => new_user_no(&ctx, b).await?,
        };
        let mut writes = vec![Write::put(holder_item(b, &h), Cond::MustNotExist)];
        // 10.11: the plate binds the holder to the card that carries it.
        if let Some(p) = &h.plate {
            if let Some(card) = card_for_plate_versioned(&ctx, b, p).await? {
                let next = Card { user_no: h.user_no.clone(), ..card.value.clone() };
                writes.push(card_update(b, &card, &next));
            }
        }
        match ctx.store.transact(writes).await {
            Ok(()) => return Ok(Reply::data(json!({ "UserNo": h.user_no }))),
            Err(e) if e.is_conflict() => {
                if given.is_some() && store::get_holder(&ctx, b, &h.user_no).await?.is_some() {
                    return Err(ApiError::field("UserNo", format!("user {} already exists", h.user_no)));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::failed("the cardholder could not be saved: too many concurrent changes; try again"))
}

async fn edit(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let user_no = req.data.str("UserNo")?;
    let old = holder_versioned(&ctx, b, &user_no).await?.ok_or_else(|| ApiError::field("UserNo", format!("user {user_no} does not exist")))?;
    let mut h = holder_from_request(user_no, &req.data)?;
    h.plate = old.value.plate.clone();
    match ctx.store.transact(vec![holder_update(b, &old, &h)]).await {
        Ok(()) => Ok(Reply::data(Value::Null)),
        Err(e) if e.is_conflict() => Err(ApiError::failed("the cardholder was changed meanwhile; try again")),
        Err(e) => Err(e.into()),
    }
}

/// The 10.13 record. Department, duty and position names and the residential
/// hierarchy belong to other modules; the ids stored here are answered.
pub fn holder_row(h: &Holder, cards: &[&Card]) -> Value {
    let mut m = Map::new();
    m.insert("UserNo".into(), json!(h.user_no));
    m.insert("FstName".into(), json!(h.name));
    m.insert("Gender".into(), json!(if h.gender == 0 { String::new() } else { h.gender.to_string() }));
    m.insert("Birthday".into(), json!(h.birthday.map(onecard_core::time::format).unwrap_or_default()));
    m.insert("IdentityTypeID".into(), json!(h.identity_type.map(|c| c.to_string()).unwrap_or_default()));
    m.insert("IdentityType".into(), json!(h.identity_type.map(identity_type_name).unwrap_or_default()));
    for f in HOLDER_TEXT_FIELDS {
        m.insert(f.into(), json!(h.field(f)));
    }
    let plate = h.plate.clone().or_else(|| cards.iter().find_map(|c| c.plates.first().cloned())).unwrap_or_default();
    m.insert("LicensePlate".into(), json!(plate));
    Value::Object(m)
}

fn holder_has_plate(h: &Holder, cards: &[Card], plate: &str) -> bool {
    h.plate.as_deref() == Some(plate) || cards.iter().any(|c| c.user_no == h.user_no && c.plates.iter().any(|p| p == plate))
}

async fn get(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let (kind, value) = credential(
        &req.data,
        ("CredentialType", "Credential"),
        &[(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo), (4, Credential::UserNo)],
    )?;
    let user_no = match kind {
        Credential::UserNo => Some(value.clone()),
        Credential::Plate => {
            let p = normalize_plate(&value);
            match card_for_plate_versioned(&ctx, b, &p).await? {
                Some(c) => Some(c.value.user_no),
                None => list_holders(&ctx, b).await?.into_iter().find(|h| h.plate.as_deref() == Some(p.as_str())).map(|h| h.user_no),
            }
        }
        _ => find_cards(&ctx, b, kind, &value).await?.into_iter().next().map(|c| c.value.user_no),
    };
    let holder = match user_no {
        Some(u) => store::get_holder(&ctx, b, &u).await?,
        None => None,
    };
    let h = holder.ok_or_else(|| ApiError::failed(format!("no cardholder found for '{value}'")))?;
    let cards = list_cards(&ctx, b).await?;
    let mine: Vec<&Card> = cards.iter().filter(|c| c.user_no == h.user_no).collect();
    Ok(Reply::data(holder_row(&h, &mine)))
}

async fn list(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let plate = req.data.opt_str("LicensePlate")?.map(|p| normalize_plate(&p));
    let card_no = req.data.opt_str("CardNo")?;
    let user_no = req.data.opt_str("UserNo")?;
    let cards = list_cards(&ctx, b).await?;
    let card_user: Option<Vec<&str>> = card_no.as_ref().map(|n| {
        let n = normalize_plate(n);
        cards
            .iter()
            .filter(|c| c.card_no == n || normalize_plate(&c.num_no) == n || normalize_plate(&c.card_id) == n)
            .map(|c| c.user_no.as_str())
            .collect()
    });
    let mut holders = list_holders(&ctx, b).await?;
    holders.sort_by(|a, b| a.user_no.cmp(&b.user_no));
    let rows = holders
        .iter()
        .filter(|h| user_no.as_ref().is_none_or(|u| &h.user_no == u))
        .filter(|h| plate.as_ref().is_none_or(|p| holder_has_plate(h, &cards, p)))
        .filter(|h| card_user.as_ref().is_none_or(|us| us.contains(&h.user_no.as_str())))
        .map(|h| {
            let mine: Vec<&Card> = cards.iter().filter(|c| c.user_no == h.user_no).collect();
            holder_row(h, &mine)
        })
        .collect();
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("pub.user.info.add", handler(add));
    reg.handle("pub.user.info.edit", handler(edit));
    reg.handle("pub.user.info.get", handler(get));
    reg.handle("pub.users.get", handler(list));
}
