//! Visitors: 10.3 registration, 10.56 quick registration (the configured
//! default visitee), 10.49 cancel before entry, 10.55 deregister, and 10.48's
//! retention. A visitor's QR code is a signed token (`link::doors::Token`)
//! that the site checks offline: in mode 1 it opens what the visitee's cards
//! open, now and as they change; in mode 2 with a guest card, the visitee's
//! rights are copied onto that card and the code names the card. A cancelled
//! order's code is revoked at the sites until it would have expired anyway.

use super::faces::{self, Face, ModuleGrant};
use super::pictures;
use crate::acss::access::terms;
use crate::acss::model::MODULE_DOOR;
use crate::acss::{site, store as acss_store};
use crate::cards::model::{AccessParams, Holder};
use crate::cards::store as cards;
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::kit::{self, DateTime, Empty, Int, Null, Picture, RouteDef, Text};
use onecard_core::link::doors::{Token, TokenKind};
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Registered,
    Cancelled,
    LoggedOut,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub order_no: String,
    pub state: OrderState,
    pub visitee: String,
    /// Mode 2 with a guest card: the card the visitee's rights were copied to.
    #[serde(default)]
    pub guest_card: String,
    pub guest_name: String,
    pub identity_no: String,
    #[serde(default)]
    pub guest_mobile: String,
    #[serde(default)]
    pub plate: String,
    #[serde(default)]
    pub reason: String,
    pub from: String,
    pub to: String,
    pub qrcode: String,
    /// The face user made from the visitor's photo.
    #[serde(default)]
    pub face: String,
}

async fn get(ctx: &Ctx, branch: &str, order: &str) -> ApiResult<Option<(Visit, u64)>> {
    match ctx.store.get(&keys::visitors(branch), order).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

async fn save(ctx: &Ctx, branch: &str, v: &Visit, version: Option<u64>, expires: NaiveDateTime) -> ApiResult<()> {
    let body = serde_json::to_value(v).map_err(ApiError::system)?;
    let item = Item::new(keys::visitors(branch), v.order_no.clone(), body).with_ttl(expires.and_utc().timestamp());
    let (item, cond) = match version {
        None => (item, Cond::MustNotExist),
        Some(n) => (item.with_version(n + 1), Cond::VersionIs(n)),
    };
    ctx.store.put(item, cond).await.map_err(|e| if e.is_conflict() { ApiError::failed(format!("visitor order {} changed meanwhile; send again", v.order_no)) } else { e.into() })
}

/// 10.48's retention in hours: the system parameter `org::system` keeps.
pub async fn retention_hours(ctx: &Ctx, branch: &str) -> ApiResult<i64> {
    Ok(crate::org::system::params(ctx.store(), branch).await?.visitor_retention_hours)
}

/// Orders cancelled before their end: their codes must not open doors.
pub async fn revoked(ctx: &Ctx, branch: &str, now: NaiveDateTime) -> ApiResult<Vec<String>> {
    let items = ctx.store.query_all(&Query::partition(keys::visitors(branch))).await?;
    let t = kit::stamp(now);
    Ok(items
        .iter()
        .filter_map(|i| i.parse::<Visit>().ok())
        .filter(|v| v.state != OrderState::Registered && v.to >= t)
        .map(|v| v.order_no)
        .collect())
}

/// The default visitee of 10.56 (`onecard doors visitee`).
pub async fn default_visitee(ctx: &Ctx, branch: &str) -> ApiResult<Option<String>> {
    Ok(ctx.store.get(&keys::people(branch), "conf#visitee").await?.and_then(|i| i.body["userNo"].as_str().map(str::to_string)))
}

pub async fn set_default_visitee(store: &dyn ItemStore, branch: &str, user_no: &str) -> ApiResult<()> {
    store.put(Item::new(keys::people(branch), "conf#visitee", serde_json::json!({ "userNo": user_no })), Cond::None).await?;
    Ok(())
}

/// Sets 10.48's retention (admin).
pub async fn set_retention_hours(store: &dyn ItemStore, branch: &str, hours: i64) -> ApiResult<()> {
    crate::org::system::put_params(store, branch, &crate::org::system::SystemParams { visitor_retention_hours: hours }).await
}

/// 10.3 input.
#[derive(Deserialize, JsonSchema)]
pub struct GuestIn {
    /// 1 the visitee's mobile; 2 a combination (mobile, name, department).
    #[serde(rename = "credentialType")]
    pub kind: Int,
    pub credential: Option<Text>,
    #[serde(rename = "guestedName")]
    pub visitee_name: Option<Text>,
    #[serde(rename = "guestedDept")]
    pub visitee_dept: Option<Text>,
    #[serde(rename = "guestedCompany")]
    pub visitee_company: Option<Text>,
    #[serde(rename = "guestedCell")]
    pub visitee_cell: Option<Text>,
    #[serde(rename = "guestName")]
    pub guest_name: Text,
    #[serde(rename = "guestGender")]
    pub guest_gender: Option<Int>,
    #[serde(rename = "identityType")]
    pub identity_type: Int,
    #[serde(rename = "identityNo")]
    pub identity_no: Text,
    #[serde(rename = "identityPhoto")]
    pub identity_photo: Option<Picture>,
    #[serde(rename = "facePhoto")]
    pub face_photo: Option<Picture>,
    #[serde(rename = "fingerCode")]
    pub finger_code: Option<Text>,
    #[serde(rename = "companyName")]
    pub company_name: Option<Text>,
    #[serde(rename = "licensePlate")]
    pub plate: Option<Text>,
    #[serde(rename = "applyCausation")]
    pub reason: Option<Text>,
    #[serde(rename = "guestMobile")]
    pub guest_mobile: Option<Text>,
    #[serde(rename = "usefulDate")]
    pub from: DateTime,
    #[serde(rename = "invalidDate")]
    pub to: DateTime,
    pub temperature: Option<Text>,
    #[serde(rename = "guestCardNo")]
    pub guest_card: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct OrderOut {
    pub qrcode: String,
    #[serde(rename = "orderNo")]
    pub order_no: String,
}

/// The visitee: mode 1 by mobile; mode 2 by mobile and/or name, narrowed by
/// department (`DeptID`), company and unit (`CompanyName`, `RoomID` prefix).
async fn visitee(ctx: &Ctx, branch: &str, i: &GuestIn) -> ApiResult<Holder> {
    let mobile = i.credential.as_ref().map(Text::as_str).filter(|s| !s.is_empty());
    let name = i.visitee_name.as_ref().map(Text::as_str);
    match i.kind.get() {
        1 if mobile.is_none() => return Err(ApiError::missing("credential")),
        1 => {}
        2 if mobile.is_none() && name.is_none() => return Err(ApiError::field("credential", "mode 2 needs the visitee's mobile (credential) or guestedName")),
        2 => {}
        k => return Err(ApiError::field("credentialType", format!("'{k}' is not 1 or 2"))),
    }
    let opt = |t: &Option<Text>| t.as_ref().map(Text::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let (dept, company, cell) = (opt(&i.visitee_dept), opt(&i.visitee_company), opt(&i.visitee_cell));
    let found: Vec<Holder> = cards::list_holders(ctx, branch)
        .await?
        .into_iter()
        .filter(|h| mobile.is_none_or(|m| h.mobile() == m))
        .filter(|h| i.kind.get() == 1 || name.is_none_or(|n| h.name == n))
        .filter(|h| i.kind.get() == 1 || dept.as_deref().is_none_or(|d| h.field("DeptID") == d))
        .filter(|h| i.kind.get() == 1 || company.as_deref().is_none_or(|c| h.field("CompanyName") == c))
        .filter(|h| i.kind.get() == 1 || cell.as_deref().is_none_or(|c| h.field("RoomID").starts_with(c)))
        .collect();
    match found.len() {
        0 => Err(ApiError::failed("no visitee matches the credential")),
        1 => Ok(found.into_iter().next().expect("one")),
        n => Err(ApiError::failed(format!("{n} people match the visitee; give guestedName and guestedDept"))),
    }
}

/// Mode 2 with a guest card: the visitee's door rights (from their first live
/// card) copied onto the guest card for the visit.
async fn clone_rights(ctx: &Ctx, branch: &str, visitee: &str, guest_card: &str, from: NaiveDateTime, to: NaiveDateTime) -> ApiResult<String> {
    let src = cards::list_cards(ctx, branch)
        .await?
        .into_iter()
        .find(|c| c.user_no == visitee && c.state == crate::cards::CardState::Active && crate::acss::access::is_door_card(c))
        .ok_or_else(|| ApiError::failed(format!("visitee {visitee} has no door card whose rights could be given")))?;
    let found = cards::find_cards(ctx, branch, crate::cards::input::Credential::CardNo, guest_card).await?;
    let Some(cur) = found.into_iter().next() else {
        return Err(ApiError::field("guestCardNo", format!("'{guest_card}' is not a card of this car park (issuing one here is not supported)")));
    };
    let t = terms(&src);
    let mut next = cur.value.clone();
    next.acss = Some(AccessParams { func_type: 11, issued_at: from, valid_from: from, valid_to: to, all_grant: t.all, grant_id: t.grant });
    ctx.store.transact(vec![cards::card_update(branch, &cur, &next)]).await?;
    Ok(next.card_no)
}

async fn new_order_no(ctx: &Ctx, branch: &str, now: NaiveDateTime) -> ApiResult<String> {
    let n = crate::ids::next_id(ctx, branch, "visitor").await?;
    Ok(format!("{}{:04}", now.format("%Y%m%d"), n % 10_000))
}

/// Registers a visit once the visitee is known.
async fn register(ctx: &Ctx, req: &Req, visitee: &Holder, i: GuestIn) -> ApiResult<OrderOut> {
    let b = req.branchno();
    let (from, to) = (i.from.get(), i.to.get());
    if to <= from {
        return Err(ApiError::field("invalidDate", "is not after usefulDate"));
    }
    if to < req.now {
        return Err(ApiError::field("invalidDate", "is already past"));
    }
    if i.identity_type.get() < 1 {
        return Err(ApiError::field("identityType", "is not an identity document type"));
    }
    let order_no = new_order_no(ctx, b, req.now).await?;
    let guest_card = match i.guest_card.as_ref().map(Text::as_str).filter(|s| !s.is_empty()) {
        Some(card) if i.kind.get() == 2 => clone_rights(ctx, b, &visitee.user_no, card, from, to).await?,
        _ => String::new(),
    };
    let subject = if guest_card.is_empty() { format!("{order_no}/u{}", visitee.user_no) } else { format!("{order_no}/c{guest_card}") };
    let qrcode = Token { kind: TokenKind::Visitor, subject, from: kit::stamp(from), to: kit::stamp(to) }.sign(&acss_store::qr_key(ctx, b).await?);
    // The identity photo is the face credential when given, else the face photo.
    let photo = i.identity_photo.as_ref().map(|p| ("identityPhoto", p)).or(i.face_photo.as_ref().map(|p| ("facePhoto", p)));
    let mut face_uuid = String::new();
    let mut face: Option<(Face, u64)> = None;
    if let Some((field, p)) = photo {
        let key = pictures::store(ctx, b, field, p).await?;
        let f = Face {
            uuid: uuid::Uuid::new_v4().to_string(),
            user_no: String::new(),
            name: i.guest_name.to_string(),
            gender: i.guest_gender.map(Int::get).filter(|g| (0..=2).contains(g)).unwrap_or(0),
            register_time: kit::stamp(req.now),
            mobile: i.guest_mobile.as_ref().map(Text::to_string).unwrap_or_default(),
            card_type: None,
            card_id: guest_card.clone(),
            id_card: i.identity_no.to_string(),
            certification_type: 1,
            picture_key: key,
            feature: String::new(),
            status: 1,
            remark: format!("访客 {order_no}"),
            grants: vec![ModuleGrant { module: MODULE_DOOR, start: kit::stamp(from), expiry: kit::stamp(to) }],
            blacklisted: false,
            visitor_order: order_no.clone(),
            on_terminals: Vec::new(),
        };
        let v = faces::save(ctx, b, &f, None).await?;
        face_uuid = f.uuid.clone();
        face = Some((f, v));
    }
    let visit = Visit {
        order_no: order_no.clone(),
        state: OrderState::Registered,
        visitee: visitee.user_no.clone(),
        guest_card,
        guest_name: i.guest_name.to_string(),
        identity_no: i.identity_no.to_string(),
        guest_mobile: i.guest_mobile.map(Text::into_string).unwrap_or_default(),
        plate: i.plate.map(Text::into_string).unwrap_or_default(),
        reason: i.reason.map(Text::into_string).unwrap_or_default(),
        from: kit::stamp(from),
        to: kit::stamp(to),
        qrcode: qrcode.clone(),
        face: face_uuid,
    };
    let keep = to + chrono::Duration::hours(retention_hours(ctx, b).await?);
    save(ctx, b, &visit, None, keep).await?;
    // The face goes to the door terminals; a terminal that fails does not
    // undo the visit (the code still opens doors), it is in the 10.53 pushes.
    if let Some((mut f, v)) = face {
        if let Err(e) = faces::deliver(ctx, req, &mut f, v).await {
            tracing::warn!(order = %order_no, error = %e.message, "visitor face not delivered");
        }
    }
    site::changed(ctx, b).await;
    Ok(OrderOut { qrcode, order_no })
}

/// 10.3.
async fn add(ctx: Ctx, req: Req, input: GuestIn) -> ApiResult<OrderOut> {
    let v = visitee(&ctx, req.branchno(), &input).await?;
    register(&ctx, &req, &v, input).await
}

/// 10.56: a visit to the configured default visitee, from now for 10.48's
/// retention time.
async fn add_quickly(ctx: Ctx, req: Req, _input: Empty) -> ApiResult<OrderOut> {
    let b = req.branchno();
    let Some(user) = default_visitee(&ctx, b).await? else {
        return Err(ApiError::failed("no default visitee is configured (onecard doors visitee --user-no ...)"));
    };
    let Some(h) = cards::get_holder(&ctx, b, &user).await? else {
        return Err(ApiError::failed(format!("the default visitee {user} is no longer a cardholder")));
    };
    let hours = retention_hours(&ctx, b).await?;
    let input = GuestIn {
        kind: Int(1),
        credential: None,
        visitee_name: None,
        visitee_dept: None,
        visitee_company: None,
        visitee_cell: None,
        guest_name: Text("访客".into()),
        guest_gender: None,
        identity_type: Int(1),
        identity_no: Text("-".into()),
        identity_photo: None,
        face_photo: None,
        finger_code: None,
        company_name: None,
        plate: None,
        reason: None,
        guest_mobile: None,
        from: DateTime(req.now),
        to: DateTime(req.now + chrono::Duration::hours(hours)),
        temperature: None,
        guest_card: None,
    };
    register(&ctx, &req, &h, input).await
}

/// Has the visitor gone through a door or gate with the order's code or card?
async fn entered(ctx: &Ctx, branch: &str, v: &Visit) -> ApiResult<bool> {
    for prefix in ["1#", "2#"] {
        let items = ctx.store.query_all(&Query::prefix(keys::passages(branch), prefix)).await?;
        let hit = items.iter().any(|i| {
            let r = &i.body["record"];
            r["visitorOrderNo"].as_str() == Some(v.order_no.as_str()) || (!v.guest_card.is_empty() && r["cardNo"].as_str() == Some(v.guest_card.as_str()) && r["inDate"].as_str().is_some_and(|t| t >= v.from.as_str()))
        });
        if hit {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Ends a visit: the faces leave the terminals first (a failure there leaves
/// the order as it was, as 10.49 requires), then the order, and the guest
/// card's copied rights end.
async fn end(ctx: &Ctx, req: &Req, order: &str, field: &str, to: OrderState, refuse_entered: bool) -> ApiResult<()> {
    let b = req.branchno();
    let Some((mut v, ver)) = get(ctx, b, order).await? else {
        return Err(ApiError::field(field, format!("no visitor order '{order}'")));
    };
    if v.state != OrderState::Registered {
        return Err(ApiError::failed(format!("visitor order {order} is already {}", if v.state == OrderState::Cancelled { "cancelled" } else { "deregistered" })));
    }
    if refuse_entered && entered(ctx, b, &v).await? {
        return Err(ApiError::failed(format!("the visitor of order {order} has already entered; it cannot be cancelled")));
    }
    if !v.face.is_empty() {
        if let Some((mut f, fv)) = faces::get(ctx, b, &v.face).await? {
            let (job, fv) = faces::remove(ctx, req, &mut f, fv, false).await?;
            faces::job_result(&job)?;
            f.status = 0;
            faces::save(ctx, b, &f, Some(fv)).await?;
        }
    }
    if !v.guest_card.is_empty() {
        if let Some(cur) = cards::card_versioned(ctx, b, &v.guest_card).await? {
            let mut next = cur.value.clone();
            if let Some(a) = next.acss.as_mut() {
                a.valid_to = req.now.min(a.valid_to);
            }
            ctx.store.transact(vec![cards::card_update(b, &cur, &next)]).await?;
        }
    }
    v.state = to;
    let end = onecard_core::time::parse(&v.to).unwrap_or(req.now);
    save(ctx, b, &v, Some(ver), end + chrono::Duration::hours(retention_hours(ctx, b).await?)).await?;
    site::changed(ctx, b).await;
    Ok(())
}

/// 10.49 input.
#[derive(Deserialize, JsonSchema)]
pub struct CancelIn {
    #[serde(rename = "visitorOrderNo")]
    pub order_no: Text,
}

/// 10.49: only before the visitor entered.
async fn cancel(ctx: Ctx, req: Req, input: CancelIn) -> ApiResult<Null> {
    end(&ctx, &req, &input.order_no, "visitorOrderNo", OrderState::Cancelled, true).await?;
    Ok(Null)
}

/// 10.55 input.
#[derive(Deserialize, JsonSchema)]
pub struct LogoutIn {
    #[serde(rename = "orderNo")]
    pub order_no: Text,
}

/// 10.55: the visit is over, entered or not.
async fn logout(ctx: Ctx, req: Req, input: LogoutIn) -> ApiResult<Null> {
    end(&ctx, &req, &input.order_no, "orderNo", OrderState::LoggedOut, false).await?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("pub.guest.order.add", add),
        kit::write("pub.guest.order.add.quickly", add_quickly),
        kit::write("park.face.visitors.cancel", cancel),
        kit::write("pub.guest.order.logout", logout),
    ]
}
