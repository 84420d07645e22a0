//! Phones and codes: 10.1/10.2 shake ids, 10.38 a scan noticed at a kiosk,
//! 10.40 a door's open-door code, 10.41 the public card list and 12.1 the
//! channel gates' card list.

use super::device;
use crate::acss::cards::{door_cards, listed, matches, CardRow, CardsIn, Listed};
use crate::acss::{access, store};
use crate::keys;
use onecard_core::kit::{self, DateTime, Int, Null, Page, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::link::doors::{Token, TokenKind};
use onecard_core::store::{Cond, Item};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a 10.40 door code opens its door.
pub const DOOR_CODE_SECS: i64 = 120;

fn shake_sk(mobile: &str) -> String {
    format!("shake#{mobile}")
}

/// 10.1 input.
#[derive(Deserialize, JsonSchema)]
pub struct ShakeAddIn {
    pub mobile: Text,
    #[serde(rename = "shakeId")]
    pub shake_id: Text,
}

/// 10.1: a mobile gets one shake id; changing it is 10.2's.
async fn shake_add(ctx: Ctx, req: Req, input: ShakeAddIn) -> ApiResult<Null> {
    let item = Item::new(keys::people(req.branchno()), shake_sk(&input.mobile), json!({ "mobile": input.mobile.as_str(), "shakeId": input.shake_id.as_str() }));
    match ctx.store.put(item, Cond::MustNotExist).await {
        Ok(()) => Ok(Null),
        Err(e) if e.is_conflict() => {
            let cur = ctx.store.get(&keys::people(req.branchno()), &shake_sk(&input.mobile)).await?;
            if cur.is_some_and(|i| i.body["shakeId"] == json!(input.shake_id.as_str())) {
                return Ok(Null);
            }
            Err(ApiError::failed(format!("mobile {} already has a shake id; 10.2 replaces it", input.mobile.as_str())))
        }
        Err(e) => Err(e.into()),
    }
}

/// 10.2 input.
#[derive(Deserialize, JsonSchema)]
pub struct ShakeResetIn {
    pub mobile: Text,
    #[serde(rename = "newShakeId")]
    pub new_shake_id: Text,
}

/// 10.2 (deprecated in the seed, still served).
async fn shake_reset(ctx: Ctx, req: Req, input: ShakeResetIn) -> ApiResult<Null> {
    let pk = keys::people(req.branchno());
    let Some(cur) = ctx.store.get(&pk, &shake_sk(&input.mobile)).await? else {
        return Err(ApiError::failed(format!("mobile {} has no shake id (10.1 adds one)", input.mobile.as_str())));
    };
    let item = Item::new(pk, shake_sk(&input.mobile), json!({ "mobile": input.mobile.as_str(), "shakeId": input.new_shake_id.as_str() }))
        .with_version(cur.version + 1);
    ctx.store.put(item, Cond::VersionIs(cur.version)).await?;
    Ok(Null)
}

/// 10.38 input. The seed's example spells the type `qrctype`.
#[derive(Deserialize, JsonSchema)]
pub struct ScanNoticeIn {
    /// 12.2's QR code types.
    #[serde(rename = "qrcodeType", alias = "qrctype")]
    pub qrcode_type: Int,
    #[serde(rename = "noticeDeviceId")]
    pub device: Text,
}

/// 10.38: tells the kiosk that showed the code that it was scanned; a kiosk
/// that stays silent answers 620.
async fn scan_notice(ctx: Ctx, req: Req, input: ScanNoticeIn) -> ApiResult<Null> {
    let t = input.qrcode_type.get();
    if !(1..=99).contains(&t) {
        return Err(ApiError::field("qrcodeType", format!("'{t}' is not a QR code type of 12.2")));
    }
    device::send(&ctx, &req, &input.device, action::KIOSK_NOTICE, json!({ "qrcodeType": t })).await?;
    Ok(Null)
}

/// 10.40 input (the seed's example sends `DoorNo` as a number).
#[derive(Deserialize, JsonSchema)]
pub struct DoorCodeIn {
    #[serde(rename = "ControllerNo")]
    pub controller_no: Text,
    #[serde(rename = "DoorNo")]
    pub door_no: Text,
}

#[derive(Serialize, JsonSchema)]
pub struct DoorCodeOut {
    pub qrcode: String,
    pub desc: String,
}

/// 10.40: a code that opens this door for `DOOR_CODE_SECS`, signed with the
/// key the site holds, so the door checks it with the cloud away.
async fn door_code(ctx: Ctx, req: Req, input: DoorCodeIn) -> ApiResult<DoorCodeOut> {
    let b = req.branchno();
    let Some(d) = store::door(ctx.store(), b, &input.controller_no, &input.door_no).await? else {
        return Err(ApiError::field("DoorNo", format!("no door {}-{} in branch {b}", input.controller_no.as_str(), input.door_no.as_str())));
    };
    let until = req.now + chrono::Duration::seconds(DOOR_CODE_SECS);
    let tok = Token { kind: TokenKind::Door, subject: d.device(), from: kit::stamp(req.now), to: kit::stamp(until) };
    let qrcode = tok.sign(&store::qr_key(&ctx, b).await?);
    Ok(DoorCodeOut { qrcode, desc: format!("{} 开门码，有效期至 {}", d.name, kit::stamp(until)) })
}

/// 10.41 input.
#[derive(Deserialize, JsonSchema)]
pub struct PubCardsIn {
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Option<Text>,
    #[serde(rename = "UserNo")]
    pub user_no: Option<Text>,
    #[serde(rename = "UserName")]
    pub user_name: Option<Text>,
    #[serde(rename = "CardMaterial")]
    pub material: Option<Int>,
    #[serde(rename = "Status")]
    pub status: Option<Int>,
    #[serde(rename = "IssueDateStart")]
    pub issue_from: Option<DateTime>,
    #[serde(rename = "IssueDateEnd")]
    pub issue_to: Option<DateTime>,
    #[serde(rename = "Mobile")]
    pub mobile: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct PubCardRow {
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
    #[serde(rename = "CardMaterial")]
    pub material: String,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "IssueDate")]
    pub issue_date: DateTime,
    #[serde(rename = "Mobile")]
    pub mobile: String,
}

/// 10.41: every card, door side or not, by face number.
async fn pub_cards(ctx: Ctx, req: Req, input: PubCardsIn) -> ApiResult<Page<PubCardRow>> {
    kit::check_open_window(input.issue_from.map(DateTime::get), input.issue_to.map(DateTime::get), "IssueDateEnd")?;
    let (all, holders) = listed(&ctx, req.branchno()).await?;
    let f = CardsIn {
        card_no: input.card_no,
        card_id: input.card_id,
        num_no: input.num_no,
        user_no: input.user_no,
        user_name: input.user_name,
        material: input.material,
        status: input.status,
        mobile: input.mobile,
        ..Default::default()
    };
    let rows = all
        .iter()
        .filter(|c| {
            // 10.41 filters on the card's own issue date, not its door side's.
            input.issue_from.is_none_or(|t| c.issued_at >= t.get()) && input.issue_to.is_none_or(|t| c.issued_at <= t.get())
        })
        .filter_map(|c| {
            let h = holders.get(&c.user_no);
            let l = Listed { card: c, holder: h, terms: access::terms(c) };
            matches(&f, &l).then(|| PubCardRow {
                card_no: c.card_no.clone(),
                card_id: c.card_id.clone(),
                num_no: c.num_no.clone(),
                user_no: c.user_no.clone(),
                user_name: h.map(|h| h.name.clone()).unwrap_or_default(),
                room_id: h.map(|h| h.field("RoomID").to_string()).unwrap_or_default(),
                material: c.material.to_string(),
                status: c.state.code().to_string(),
                issue_date: DateTime(c.issued_at),
                mobile: h.map(|h| h.mobile().to_string()).unwrap_or_default(),
            })
        })
        .collect();
    Ok(req.page(rows))
}

/// 12.1: the channel gates take the same cards and grants as the doors.
async fn gate_cards(ctx: Ctx, req: Req, input: CardsIn) -> ApiResult<Page<CardRow>> {
    door_cards(&ctx, &req, input).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("pub.shake.add", shake_add),
        kit::write("pub.shake.reset", shake_reset),
        kit::write("pub.qrcode.scan.notice", scan_notice),
        kit::read("pub.door.qrcode.dec", door_code),
        kit::read("pub.cards.get", pub_cards),
        kit::read("gate.cards.get", gate_cards),
    ]
}
