//! The card lifecycle: issue (10.15), cancel / disable / enable (10.16-10.18),
//! update (10.42) and plate change (6.38). A card and the plate index entries
//! that point at it change in one transaction.
//!
//! A cancelled card keeps its plate index entries, so that a lane still sees the
//! plate's card was cancelled; issuing a new card for the plate takes them over.

use super::holders::new_user_no;
use super::input::{card_plate, card_plate_text, credential, limited, Credential, Nested};
use super::model::{Card, CardKind, CardState, Holder, MATERIALS, PERSONAL_MONTHLY, PLATE_CARD};
use super::params::{neither, read_access, terms, AcssIn, ParkIn, ParkInput};
use super::store::{
    bind_plates, card_create, card_for_plate_versioned, card_update, find_cards, get_card, holder_create, holder_update, holder_versioned,
    list_holders, unbind_plates, Versioned,
};
use crate::ids;
use onecard_core::kit::{self, normalise_plate, Int, Null, Plate, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::store::{Write, MAX_TRANSACTION_ITEMS};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 10.15 input.
#[derive(Deserialize, JsonSchema)]
pub struct IssueIn {
    /// Generated when absent.
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    /// The face number when absent.
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Text,
    /// 1, 3, 4, 6, 49, 57; 4 (plate recognition) by default.
    #[serde(rename = "CardMaterial")]
    pub material: Option<Int>,
    /// An existing holder; a new one is made when absent.
    #[serde(rename = "UserNo")]
    pub user_no: Option<Text>,
    #[serde(rename = "Mobile")]
    pub mobile: Option<Text>,
    #[serde(rename = "HomeAddr")]
    pub home_addr: Option<Text>,
    #[serde(rename = "Park")]
    pub park: Option<Nested<ParkIn>>,
    #[serde(rename = "Acss")]
    pub acss: Option<Nested<AcssIn>>,
}

/// 10.15 and 10.42 output.
#[derive(Serialize, JsonSchema)]
pub struct CardOut {
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "UserNo")]
    pub user_no: String,
}

/// The holder's contact fields 10.15 and 10.42 may set.
struct Contact {
    mobile: Option<String>,
    home_addr: Option<String>,
}

impl Contact {
    fn read(mobile: Option<Text>, home_addr: Option<Text>) -> ApiResult<Contact> {
        Ok(Contact { mobile: limited("Mobile", mobile, 32)?, home_addr: limited("HomeAddr", home_addr, 100)? })
    }

    fn given(&self) -> bool {
        self.mobile.is_some() || self.home_addr.is_some()
    }

    fn apply(&self, h: &mut Holder) {
        if let Some(m) = &self.mobile {
            h.fields.insert("Mobile".into(), m.clone());
        }
        if let Some(a) = &self.home_addr {
            h.fields.insert("HomeAddr".into(), a.clone());
        }
    }
}

async fn issue(ctx: Ctx, req: Req, input: IssueIn) -> ApiResult<CardOut> {
    let ctx = &ctx;
    let b = req.branchno();
    let given_card_no = limited("CardNo", input.card_no, 32)?;
    let num_no = limited("NumNo", Some(input.num_no), 32)?.unwrap_or_default();
    let card_id = limited("CardID", input.card_id, 32)?.unwrap_or_else(|| num_no.clone());
    let material = input.material.map(Int::get).unwrap_or(PLATE_CARD);
    if !MATERIALS.contains(&material) {
        return Err(ApiError::field("CardMaterial", format!("'{material}' is not one of 1, 3, 4, 6, 49, 57")));
    }
    let given_user = limited("UserNo", input.user_no, 32)?;
    let contact = Contact::read(input.mobile, input.home_addr)?;
    let park = input.park.map(Nested::into_inner);
    let acss_in = input.acss.map(Nested::into_inner);
    if park.is_none() && acss_in.is_none() {
        return Err(neither());
    }
    let acss = match &acss_in {
        Some(a) => Some(read_access(a, None, req.now)?),
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
    if let Some(p) = park {
        let p = ParkInput::read(p)?;
        let kind = p.kind.unwrap_or(CardKind::Monthly);
        card.kind = kind;
        card.valid_from = p.valid_from.ok_or_else(|| ApiError::missing("Park.StartDate"))?;
        card.valid_to = p.valid_to.ok_or_else(|| ApiError::missing("Park.ExpiryDate"))?;
        card.issued_at = p.issued_at.unwrap_or(req.now);
        card.group_type = p.group_type.or((kind == CardKind::Monthly).then_some(PERSONAL_MONTHLY));
        let (car_type, tariff) = terms(ctx, b, kind, p.car_type_id, p.tariff_id, None).await?;
        card.car_type_id = car_type;
        card.month_tariff_id = tariff;
        card.plates = match p.plates {
            Some(ps) if !ps.is_empty() => ps,
            // 10.15: a plate-recognition card's face number is its plate.
            _ if material == PLATE_CARD => vec![card_plate_text("NumNo", &num_no)?],
            _ => Vec::new(),
        };
        card.group_id = p.group_id;
        card.parking_area = p.parking_area;
        card.discount_set_id = p.discount_set_id;
        card.relate_num_no = p.relate_num_no;
        card.car_brand_id = crate::brands::card_brand(ctx.store(), p.car_brand_id).await?;
        card.all_grant = p.all_grant.unwrap_or(true);
        card.grant_id = p.grant_id;
    }

    let existing_holder = match &given_user {
        Some(u) => Some(holder_versioned(ctx, b, u).await?.ok_or_else(|| ApiError::field("UserNo", format!("user {u} does not exist")))?),
        None => None,
    };
    let (card, given_card_no, contact, existing_holder) = (&card, &given_card_no, &contact, &existing_holder);
    // A lost race draws new numbers (or re-reads the holder) and tries again;
    // a card number the caller chose that now exists is the caller's error.
    let done = on_conflict("pub.card.add", || async move {
        let mut card = card.clone();
        let mut writes = Vec::new();
        match existing_holder {
            Some(h) => {
                card.user_no = h.value.user_no.clone();
                if contact.given() {
                    let fresh = holder_versioned(ctx, b, &h.value.user_no).await?.unwrap_or_else(|| h.clone());
                    let mut next = fresh.value.clone();
                    contact.apply(&mut next);
                    writes.push(holder_update(b, &fresh, &next));
                }
            }
            None => {
                let mut h = Holder {
                    user_no: new_user_no(ctx, b).await?,
                    name: String::new(),
                    gender: 0,
                    birthday: None,
                    identity_type: None,
                    plate: card.plates.first().cloned(),
                    fields: BTreeMap::new(),
                };
                contact.apply(&mut h);
                card.user_no = h.user_no.clone();
                writes.push(holder_create(b, &h));
            }
        }
        card.card_no = match given_card_no {
            Some(n) => n.clone(),
            None => format!("{:010}", ids::next_id(ctx, b, "card").await?),
        };
        writes.push(card_create(b, &card));
        writes.extend(bind_plates(ctx, b, &card.plates, &card.card_no, "Park.LicensePlate").await?);
        match ctx.store.transact(writes).await {
            Err(e) if e.is_conflict() && given_card_no.is_some() && get_card(ctx, b, &card.card_no).await?.is_some() => {
                Err(ApiError::field("CardNo", format!("card {} already exists", card.card_no)))
            }
            r => Step::of(r, CardOut { card_no: card.card_no, user_no: card.user_no }),
        }
    })
    .await;
    super::site_notify::after_card_change(ctx, b, done).await
}

/// 10.16-10.18 input: the card(s) a credential names.
#[derive(Deserialize, JsonSchema)]
pub struct StateIn {
    /// 1 plate, 2 card number, 3 user number, 4 mobile.
    #[serde(rename = "CredentialType", alias = "credentialtype", alias = "credentialType")]
    pub kind: Int,
    #[serde(rename = "Credential", alias = "credential")]
    pub value: Text,
}

const LIFECYCLE_CREDENTIALS: [(i64, Credential); 4] =
    [(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo), (4, Credential::Mobile)];

/// Moves every card a credential names to `to`. Cards already there are left
/// alone (repeating a request is harmless); a cancelled card never comes back.
pub async fn set_state(ctx: &Ctx, branch: &str, kind: Credential, value: &str, to: CardState) -> ApiResult<usize> {
    let done = on_conflict("card state", || async move {
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
        // The chunks that committed before a conflict are seen as done on the
        // next read, so only the rest is written again.
        for chunk in writes.chunks(MAX_TRANSACTION_ITEMS) {
            if let Step::Conflict = Step::of(ctx.store.transact(chunk.to_vec()).await, ())? {
                return Ok(Step::Conflict);
            }
        }
        Ok(Step::Done(n))
    })
    .await;
    super::site_notify::after_card_change(ctx, branch, done).await
}

async fn state_route(ctx: Ctx, req: Req, input: StateIn, to: CardState) -> ApiResult<Null> {
    let (kind, value) = credential("CredentialType", input.kind, input.value, &LIFECYCLE_CREDENTIALS)?;
    set_state(&ctx, req.branchno(), kind, &value, to).await?;
    Ok(Null)
}

async fn cancel(ctx: Ctx, req: Req, input: StateIn) -> ApiResult<Null> {
    state_route(ctx, req, input, CardState::Cancelled).await
}

async fn disable(ctx: Ctx, req: Req, input: StateIn) -> ApiResult<Null> {
    state_route(ctx, req, input, CardState::Disabled).await
}

async fn enable(ctx: Ctx, req: Req, input: StateIn) -> ApiResult<Null> {
    state_route(ctx, req, input, CardState::Active).await
}

/// 10.42 input: the card, and what to change.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateIn {
    /// 1 plate, 2 card number.
    #[serde(rename = "CredentialType", alias = "credentialtype", alias = "credentialType")]
    pub kind: Int,
    #[serde(rename = "Credential", alias = "credential")]
    pub value: Text,
    #[serde(rename = "Mobile")]
    pub mobile: Option<Text>,
    #[serde(rename = "HomeAddr")]
    pub home_addr: Option<Text>,
    /// Unchanged when absent; absent fields inside keep their values.
    #[serde(rename = "Park")]
    pub park: Option<Nested<ParkIn>>,
    #[serde(rename = "Acss")]
    pub acss: Option<Nested<AcssIn>>,
}

/// 10.42: changes what the request gives, leaves the rest.
async fn update(ctx: Ctx, req: Req, input: UpdateIn) -> ApiResult<CardOut> {
    let ctx = &ctx;
    let b = req.branchno();
    let now = req.now;
    let (kind, value) = credential("CredentialType", input.kind, input.value, &[(1, Credential::Plate), (2, Credential::CardNo)])?;
    let contact = Contact::read(input.mobile, input.home_addr)?;
    let park = match input.park {
        Some(p) => Some(ParkInput::read(p.into_inner())?),
        None => None,
    };
    let acss = input.acss.map(Nested::into_inner);
    let (value, contact, park, acss) = (&value, &contact, &park, &acss);
    let done = on_conflict("pub.card.update", || async move {
        let card = find_cards(ctx, b, kind, value)
            .await?
            .into_iter()
            .find(|c| c.value.state != CardState::Cancelled)
            .ok_or_else(|| ApiError::failed(format!("no card in use found for '{value}'")))?;
        let old = &card.value;
        let mut next = old.clone();
        if let Some(p) = park {
            let p = p.clone();
            next.parking = true;
            next.kind = p.kind.unwrap_or(old.kind);
            let old_terms = old.parking.then_some((old.car_type_id, old.month_tariff_id));
            let keep_tariff = if next.kind == old.kind { old_terms } else { old_terms.map(|(c, _)| (c, None)) };
            let (car_type, tariff) = terms(ctx, b, next.kind, p.car_type_id, p.tariff_id, keep_tariff).await?;
            next.car_type_id = car_type;
            next.month_tariff_id = tariff;
            next.group_type = p.group_type.or(old.group_type);
            next.valid_from = p.valid_from.unwrap_or(old.valid_from);
            next.valid_to = p.valid_to.unwrap_or(old.valid_to);
            if next.valid_to < next.valid_from {
                return Err(ApiError::field("Park.ExpiryDate", "is before StartDate"));
            }
            next.issued_at = p.issued_at.unwrap_or(old.issued_at);
            if let Some(ps) = p.plates {
                next.plates = ps;
            }
            next.group_id = p.group_id.or(next.group_id);
            next.parking_area = p.parking_area.or(next.parking_area);
            next.discount_set_id = p.discount_set_id.or(next.discount_set_id);
            next.relate_num_no = p.relate_num_no.or(next.relate_num_no);
            next.car_brand_id = crate::brands::card_brand(ctx.store(), p.car_brand_id).await?.or(next.car_brand_id);
            next.all_grant = p.all_grant.unwrap_or(next.all_grant);
            next.grant_id = p.grant_id.or(next.grant_id);
        }
        if let Some(a) = acss {
            next.acss = Some(read_access(a, old.acss.as_ref(), now)?);
        }
        let mut writes = vec![card_update(b, &card, &next)];
        let removed: Vec<String> = old.plates.iter().filter(|p| !next.plates.contains(p)).cloned().collect();
        writes.extend(unbind_plates(ctx, b, &removed, &old.card_no).await?);
        writes.extend(bind_plates(ctx, b, &next.plates, &old.card_no, "Park.LicensePlate").await?);
        if contact.given() {
            if let Some(h) = holder_versioned(ctx, b, &old.user_no).await? {
                let mut nh = h.value.clone();
                contact.apply(&mut nh);
                writes.push(holder_update(b, &h, &nh));
            }
        }
        Step::of(ctx.store.transact(writes).await, CardOut { card_no: next.card_no, user_no: next.user_no })
    })
    .await;
    super::site_notify::after_card_change(ctx, b, done).await
}

/// 6.38 input.
#[derive(Deserialize, JsonSchema)]
pub struct ChangePlateIn {
    pub old: Plate,
    pub new: Plate,
}

/// 6.38: replaces a plate on its card (and the face number of a
/// plate-recognition card, which is the plate) and on the holders that
/// registered it.
async fn change_plate(ctx: Ctx, req: Req, input: ChangePlateIn) -> ApiResult<Null> {
    let ctx = &ctx;
    let b = req.branchno();
    let old_plate = card_plate("old", &input.old)?;
    let new_plate = card_plate("new", &input.new)?;
    if old_plate == new_plate {
        return Err(ApiError::field("new", "is the same plate as 'old'"));
    }
    let (old_plate, new_plate) = (&old_plate, &new_plate);
    let done = on_conflict("park.lp.change", || async move {
        let mut writes = Vec::new();
        let card: Option<Versioned<Card>> = card_for_plate_versioned(ctx, b, old_plate).await?;
        if let Some(card) = &card {
            let mut next = card.value.clone();
            for p in next.plates.iter_mut().filter(|p| *p == old_plate) {
                *p = new_plate.clone();
            }
            if normalise_plate(&next.num_no) == *old_plate {
                next.num_no = new_plate.clone();
            }
            if normalise_plate(&next.card_id) == *old_plate {
                next.card_id = new_plate.clone();
            }
            writes.push(card_update(b, card, &next));
            writes.extend(unbind_plates(ctx, b, std::slice::from_ref(old_plate), &next.card_no).await?);
            writes.extend(bind_plates(ctx, b, std::slice::from_ref(new_plate), &next.card_no, "new").await?);
        }
        for h in list_holders(ctx, b).await?.into_iter().filter(|h| h.plate.as_ref() == Some(old_plate)) {
            if let Some(hv) = holder_versioned(ctx, b, &h.user_no).await? {
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
        Step::of(ctx.store.transact(writes).await, Null)
    })
    .await;
    super::site_notify::after_card_change(ctx, b, done).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("pub.card.add", issue),
        kit::write("pub.card.cancel", cancel),
        kit::write("pub.card.disable", disable),
        kit::write("pub.card.enable", enable),
        kit::write("pub.card.update", update),
        kit::write("park.lp.change", change_plate),
    ]
}
