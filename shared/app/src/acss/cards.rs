//! Door cards: 7.3 (and 12.1, the channel gates' copy of it, and 10.41, the
//! public card list), 7.4 a user's doors and 7.5 changing a user's grants.
//! Cards and holders are the cards module's; this reads them and, for 7.5,
//! writes a card's door side only.

use super::access::{doors_of, flag_text, terms, Terms};
use super::{directory, site, store};
use crate::cards::input::Credential;
use crate::cards::model::{AccessParams, Card, Holder};
use crate::cards::store as cards;
use chrono::NaiveDateTime;
use onecard_core::kit::{self, DateTime, Flag, Int, Null, Page, RouteDef, Text};
use onecard_core::link::doors::{Token, TokenKind};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How long a card's code (7.3/12.1 `Qrcode`) stays valid.
pub const CARD_CODE_SECS: i64 = 300;

/// 7.3 / 12.1 input: every filter optional.
#[derive(Deserialize, JsonSchema, Default)]
pub struct CardsIn {
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Option<Text>,
    #[serde(rename = "UserNo")]
    pub user_no: Option<Text>,
    /// Matched fuzzily.
    #[serde(rename = "UserName")]
    pub user_name: Option<Text>,
    #[serde(rename = "FuncType")]
    pub func_type: Option<Int>,
    #[serde(rename = "CardMaterial")]
    pub material: Option<Int>,
    #[serde(rename = "Status")]
    pub status: Option<Int>,
    #[serde(rename = "GrantID")]
    pub grant_id: Option<Text>,
    #[serde(rename = "IssueDateStart")]
    pub issue_from: Option<DateTime>,
    #[serde(rename = "IssueDateEnd")]
    pub issue_to: Option<DateTime>,
    #[serde(rename = "StartDateStart")]
    pub start_from: Option<DateTime>,
    #[serde(rename = "StartDateEnd")]
    pub start_to: Option<DateTime>,
    #[serde(rename = "ExpiryDateStart")]
    pub expiry_from: Option<DateTime>,
    #[serde(rename = "ExpiryDateEnd")]
    pub expiry_to: Option<DateTime>,
    #[serde(rename = "Mobile")]
    pub mobile: Option<Text>,
    #[serde(rename = "IncludeQrcode")]
    pub include_qrcode: Option<Flag>,
}

/// One 7.3 / 12.1 row, the seed's names.
#[derive(Serialize, JsonSchema)]
pub struct CardRow {
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "CardID")]
    pub card_id: String,
    #[serde(rename = "NumNo")]
    pub num_no: String,
    #[serde(rename = "UserNo")]
    pub user_no: String,
    #[serde(rename = "UserName")]
    pub user_name: String,
    #[serde(rename = "RoomID")]
    pub room_id: String,
    #[serde(rename = "FuncType")]
    pub func_type: String,
    #[serde(rename = "CardMaterial")]
    pub material: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "GrantID")]
    pub grant_id: String,
    #[serde(rename = "AllGrant")]
    pub all_grant: &'static str,
    #[serde(rename = "IssueDate")]
    pub issue_date: DateTime,
    #[serde(rename = "StartDate")]
    pub start_date: DateTime,
    #[serde(rename = "ExpiryDate")]
    pub expiry_date: DateTime,
    #[serde(rename = "Mobile")]
    pub mobile: String,
    #[serde(rename = "Qrcode", skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<String>,
    #[serde(rename = "QrcodeValidTime", skip_serializing_if = "Option::is_none")]
    pub qrcode_valid_time: Option<String>,
    #[serde(rename = "QrcodeExpiryDate", skip_serializing_if = "Option::is_none")]
    pub qrcode_expiry: Option<DateTime>,
}

fn eq(filter: &Option<Text>, v: &str) -> bool {
    filter.as_ref().is_none_or(|f| f.as_str() == v)
}

fn within(v: NaiveDateTime, from: Option<DateTime>, to: Option<DateTime>) -> bool {
    from.is_none_or(|f| v >= f.get()) && to.is_none_or(|t| v <= t.get())
}

/// A card with its holder and door terms, as the lists filter it.
pub struct Listed<'a> {
    pub card: &'a Card,
    pub holder: Option<&'a Holder>,
    pub terms: Terms,
}

pub fn matches(f: &CardsIn, l: &Listed) -> bool {
    let (c, t) = (l.card, &l.terms);
    let name = l.holder.map(|h| h.name.as_str()).unwrap_or("");
    let mobile = l.holder.map(Holder::mobile).unwrap_or("");
    eq(&f.card_no, &c.card_no)
        && eq(&f.card_id, &c.card_id)
        && eq(&f.num_no, &c.num_no)
        && eq(&f.user_no, &c.user_no)
        && f.user_name.as_ref().is_none_or(|n| name.contains(n.as_str()))
        && f.func_type.is_none_or(|v| v.get() == t.func_type)
        && f.material.is_none_or(|v| v.get() == c.material)
        && f.status.is_none_or(|v| v.get() == c.state.code())
        && eq(&f.grant_id, t.grant.as_deref().unwrap_or(""))
        && within(t.issued, f.issue_from, f.issue_to)
        && within(t.from, f.start_from, f.start_to)
        && within(t.to, f.expiry_from, f.expiry_to)
        && eq(&f.mobile, mobile)
}

/// Every card of the branch with its holder, sorted by face number (7.3, 10.41).
pub async fn listed(ctx: &Ctx, branch: &str) -> ApiResult<(Vec<Card>, HashMap<String, Holder>)> {
    let mut all = cards::list_cards(ctx, branch).await?;
    all.sort_by(|a, b| a.num_no.cmp(&b.num_no).then_with(|| a.card_no.cmp(&b.card_no)));
    let holders = cards::list_holders(ctx, branch).await?.into_iter().map(|h| (h.user_no.clone(), h)).collect();
    Ok((all, holders))
}

fn row(l: &Listed, code: Option<(String, NaiveDateTime, i64)>) -> CardRow {
    let (c, t) = (l.card, &l.terms);
    let h = |f: &str| l.holder.map(|h| h.field(f).to_string()).unwrap_or_default();
    CardRow {
        card_no: c.card_no.clone(),
        card_id: c.card_id.clone(),
        num_no: c.num_no.clone(),
        user_no: c.user_no.clone(),
        user_name: l.holder.map(|h| h.name.clone()).unwrap_or_default(),
        room_id: h("RoomID"),
        func_type: t.func_type.to_string(),
        material: c.material.to_string(),
        status: c.state.code().to_string(),
        grant_id: t.grant.clone().unwrap_or_default(),
        all_grant: flag_text(t.all),
        issue_date: DateTime(t.issued),
        start_date: DateTime(t.from),
        expiry_date: DateTime(t.to),
        mobile: h("Mobile"),
        qrcode_valid_time: code.as_ref().map(|(_, _, s)| s.to_string()),
        qrcode_expiry: code.as_ref().map(|(_, e, _)| DateTime(*e)),
        qrcode: code.map(|(q, _, _)| q),
    }
}

/// 7.3 and 12.1: door cards (issued with door parameters or holding a grant).
/// A card's code is signed with the branch's door-code key and opens what the
/// card opens, at the site too, for `CARD_CODE_SECS`.
pub async fn door_cards(ctx: &Ctx, req: &Req, input: CardsIn) -> ApiResult<Page<CardRow>> {
    kit::check_open_window(input.issue_from.map(DateTime::get), input.issue_to.map(DateTime::get), "IssueDateEnd")?;
    let b = req.branchno();
    let (all, holders) = listed(ctx, b).await?;
    let with_code = input.include_qrcode.is_some_and(Flag::get);
    let key = if with_code { Some(store::qr_key(ctx, b).await?) } else { None };
    let mut rows = Vec::new();
    for c in all.iter().filter(|c| super::access::is_door_card(c)) {
        let l = Listed { card: c, holder: holders.get(&c.user_no), terms: terms(c) };
        if !matches(&input, &l) {
            continue;
        }
        let code = key.as_ref().map(|k| {
            let until = (req.now + chrono::Duration::seconds(CARD_CODE_SECS)).min(l.terms.to.max(req.now));
            let tok = Token { kind: TokenKind::Card, subject: c.card_no.clone(), from: kit::stamp(req.now), to: kit::stamp(until) };
            (tok.sign(k), until, (until - req.now).num_seconds())
        });
        rows.push(row(&l, code));
    }
    Ok(req.page(rows))
}

async fn cards_get(ctx: Ctx, req: Req, input: CardsIn) -> ApiResult<Page<CardRow>> {
    door_cards(&ctx, &req, input).await
}

/// 7.4 input.
#[derive(Deserialize, JsonSchema)]
pub struct UserGrantsIn {
    /// 2 card, 3 user number, 4 mobile, 5 community, 6 building, 7 room or unit.
    #[serde(rename = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "Credential")]
    pub credential: Text,
}

/// One 7.4 row: a card and one door it opens.
#[derive(Serialize, JsonSchema)]
pub struct UserGrantRow {
    #[serde(rename = "CardNo")]
    pub card_no: String,
    #[serde(rename = "CardID")]
    pub card_id: String,
    #[serde(rename = "NumNo")]
    pub num_no: String,
    #[serde(rename = "UserName")]
    pub user_name: String,
    #[serde(rename = "StartDate")]
    pub start_date: DateTime,
    #[serde(rename = "ExpiryDate")]
    pub expiry_date: DateTime,
    #[serde(rename = "RoomID")]
    pub room_id: String,
    #[serde(rename = "RoomName")]
    pub room_name: String,
    #[serde(rename = "ControllerNo")]
    pub controller_no: String,
    #[serde(rename = "DoorNo")]
    pub door_no: String,
    #[serde(rename = "Addr")]
    pub addr: String,
    #[serde(rename = "Channel")]
    pub channel: String,
    #[serde(rename = "GrantID")]
    pub grant_id: String,
    #[serde(rename = "AllGrant")]
    pub all_grant: &'static str,
}

/// The cards a 7.4/7.5 credential names (types 2-4 as the cards module reads
/// them; 5-7 through the holders' rooms).
async fn cards_named(ctx: &Ctx, branch: &str, kind: i64, credential: &str, field: &str) -> ApiResult<Vec<Card>> {
    let simple = match kind {
        2 => Some(Credential::CardNo),
        3 => Some(Credential::UserNo),
        4 => Some(Credential::Mobile),
        _ => None,
    };
    if let Some(k) = simple {
        return Ok(cards::find_cards(ctx, branch, k, credential).await?.into_iter().map(|v| v.value).collect());
    }
    let dir = crate::org::directory::Directory::load(ctx.store(), branch).await?;
    let users: Vec<String> = cards::list_holders(ctx, branch)
        .await?
        .into_iter()
        .filter(|h| directory::room_in(kind, credential, &directory::room_code(&dir, &crate::org::directory::Refs::of_holder(h))))
        .map(|h| h.user_no)
        .collect();
    let _ = field;
    Ok(cards::list_cards(ctx, branch).await?.into_iter().filter(|c| users.contains(&c.user_no)).collect())
}

/// 7.4: one row per card and door it opens (doors of its permission group,
/// every door for all-grant), whatever the hour.
async fn user_grants(ctx: Ctx, req: Req, input: UserGrantsIn) -> ApiResult<Vec<UserGrantRow>> {
    let kind = input.kind.get();
    if !(2..=7).contains(&kind) {
        return Err(ApiError::field("CredentialType", format!("'{kind}' is not 2-7")));
    }
    let b = req.branchno();
    let found = cards_named(&ctx, b, kind, &input.credential, "Credential").await?;
    let (doors, grants) = (store::doors(ctx.store(), b).await?, store::grants(ctx.store(), b).await?);
    let holders: HashMap<String, Holder> = cards::list_holders(&ctx, b).await?.into_iter().map(|h| (h.user_no.clone(), h)).collect();
    let mut rows = Vec::new();
    for c in found.iter().filter(|c| c.state == crate::cards::CardState::Active) {
        let t = terms(c);
        for d in doors_of(c, &grants, &doors) {
            rows.push(UserGrantRow {
                card_no: c.card_no.clone(),
                card_id: c.card_id.clone(),
                num_no: c.num_no.clone(),
                user_name: holders.get(&c.user_no).map(|h| h.name.clone()).unwrap_or_default(),
                start_date: DateTime(t.from),
                expiry_date: DateTime(t.to),
                room_id: d.room_id.clone(),
                room_name: d.name.clone(),
                controller_no: d.controller_no.clone(),
                door_no: d.door_no.clone(),
                addr: d.addr.clone(),
                channel: d.channel.clone(),
                grant_id: t.grant.clone().unwrap_or_default(),
                all_grant: flag_text(t.all),
            });
        }
    }
    Ok(rows)
}

/// 7.5 input: one of `GrantID` and `AllGrant`.
#[derive(Deserialize, JsonSchema)]
pub struct GrantUpdateIn {
    /// 2 card, 3 user number, 4 mobile.
    #[serde(rename = "CredentialType")]
    pub kind: Int,
    #[serde(rename = "Credential")]
    pub credential: Text,
    #[serde(rename = "GrantID")]
    pub grant_id: Option<Text>,
    #[serde(rename = "AllGrant")]
    pub all_grant: Option<Flag>,
}

/// 7.5: sets the door side of every card the credential names, each card
/// written over the version it was read at; the sites get it at once.
async fn grant_update(ctx: Ctx, req: Req, input: GrantUpdateIn) -> ApiResult<Null> {
    let kind = input.kind.get();
    if !(2..=4).contains(&kind) {
        return Err(ApiError::field("CredentialType", format!("'{kind}' is not 2 (card), 3 (user number) or 4 (mobile)")));
    }
    if input.grant_id.is_none() && input.all_grant.is_none() {
        return Err(ApiError::field("GrantID", "one of GrantID and AllGrant is required"));
    }
    let b = req.branchno();
    if let Some(g) = &input.grant_id {
        if !store::grants(ctx.store(), b).await?.iter().any(|x| x.id == g.as_str()) {
            return Err(ApiError::field("GrantID", format!("no permission group '{g}'")));
        }
    }
    let found = cards_named(&ctx, b, kind, &input.credential, "Credential").await?;
    if found.is_empty() {
        return Err(ApiError::failed(format!("no card found for credential '{}'", input.credential.as_str())));
    }
    for c in &found {
        let no = c.card_no.clone();
        on_conflict("updating a card's door grants", || async {
            let Some(cur) = cards::card_versioned(&ctx, b, &no).await? else { return Ok(Step::Done(())) };
            let mut next = cur.value.clone();
            let t = terms(&next);
            let mut a = next.acss.clone().unwrap_or(AccessParams {
                func_type: t.func_type,
                issued_at: t.issued,
                valid_from: t.from,
                valid_to: t.to,
                all_grant: t.all,
                grant_id: t.grant.clone(),
            });
            if let Some(g) = &input.grant_id {
                a.grant_id = Some(g.to_string());
            }
            if let Some(all) = input.all_grant {
                a.all_grant = all.get();
            }
            next.acss = Some(a);
            Step::of(ctx.store.transact(vec![cards::card_update(b, &cur, &next)]).await, ())
        })
        .await?;
    }
    site::changed(&ctx, b).await;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("acss.cards.get", cards_get),
        kit::read("acss.user.grants", user_grants),
        kit::write("acss.user.grant.update", grant_update),
    ]
}
