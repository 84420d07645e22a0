//! Hanvon Smart Community (11.23): adds, modifies and deletes monthly-card
//! vehicles. They are chapter 10's cards: the request becomes 10.15
//! (`pub.card.add`), 10.42 (`pub.card.update`) or 10.16 (`pub.card.cancel`)
//! for the plate, so a card Hanvon issues is honoured at the lane like any
//! other. The owner's name, sex, ID card and company go on the card's holder
//! (10.12). Data-only wire; answers `{result, message}`, 0 success, <0
//! failure.

use super::common::call_route;
use crate::cards::{lifecycle, store};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::kit::{self, DateTime, Int, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn refusal(e: &ApiError) -> Value {
    json!({"result": -1, "message": e.message})
}

/// 11.23 input. The printed example spells `startTime ` with a trailing space
/// and adds `company`, which the table does not have.
#[derive(Deserialize, JsonSchema)]
pub struct VehicleIn {
    /// 1 add, 2 modify, 3 delete.
    pub operation: Int,
    #[serde(rename = "plateNum")]
    pub plate: Option<Plate>,
    #[serde(rename = "carType")]
    pub car_type: Option<Text>,
    #[serde(rename = "cardType")]
    pub card_type: Option<Text>,
    pub name: Option<Text>,
    pub sex: Option<Text>,
    #[serde(rename = "phoneNum")]
    pub phone: Option<Text>,
    pub department: Option<Text>,
    pub company: Option<Text>,
    #[serde(rename = "startTime", alias = "startTime ")]
    pub start: Option<DateTime>,
    #[serde(rename = "endTime", alias = "endTime ")]
    pub end: Option<DateTime>,
    #[serde(rename = "Idcard", alias = "idCard", alias = "IdCard")]
    pub id_card: Option<Text>,
    #[serde(rename = "userId")]
    pub user_id: Option<Text>,
}

#[derive(Serialize, JsonSchema)]
pub struct VehicleOut {
    pub result: i64,
    pub message: String,
}

fn park_of(input: &VehicleIn, need_both: bool) -> ApiResult<Value> {
    let mut park = serde_json::Map::new();
    match (input.start, input.end) {
        (Some(s), Some(e)) if e.get() <= s.get() => return Err(ApiError::field("endTime", "must be later than startTime")),
        (None, _) if need_both => return Err(ApiError::missing("startTime")),
        (_, None) if need_both => return Err(ApiError::missing("endTime")),
        _ => {}
    }
    if let Some(s) = input.start {
        park.insert("StartDate".into(), json!(kit::stamp(s.get())));
    }
    if let Some(e) = input.end {
        park.insert("ExpiryDate".into(), json!(kit::stamp(e.get())));
    }
    Ok(Value::Object(park))
}

async fn vehicle(ctx: Ctx, req: Req, input: VehicleIn) -> ApiResult<VehicleOut> {
    // The seed's own failure example: a missing plate is "未填写车牌号".
    let plate = input.plate.clone().ok_or_else(|| ApiError::field("plateNum", "未填写车牌号"))?;
    let plate = plate.norm().to_string();
    // Checked before the card changes, so a refusal changes nothing.
    gender(input.sex.as_ref())?;
    let mobile = input.phone.as_ref().map(|p| json!(p.as_str()));
    let (route, data, done) = match input.operation.get() {
        1 => {
            let mut d = json!({"NumNo": plate, "CardMaterial": 4, "Park": park_of(&input, true)?});
            if let Some(m) = mobile {
                d["Mobile"] = m;
            }
            ("pub.card.add", d, "添加成功")
        }
        2 => {
            let park = park_of(&input, false)?;
            if park.as_object().is_some_and(|m| m.is_empty()) && mobile.is_none() {
                return Err(ApiError::field("startTime", "nothing to modify: give startTime, endTime or phoneNum"));
            }
            let mut d = json!({"CredentialType": 1, "Credential": plate, "Park": park});
            if let Some(m) = mobile {
                d["Mobile"] = m;
            }
            ("pub.card.update", d, "修改成功")
        }
        3 => ("pub.card.cancel", json!({"CredentialType": 1, "Credential": plate}), "删除成功"),
        n => return Err(ApiError::field("operation", format!("{n} is not 1 (add), 2 (modify) or 3 (delete)"))),
    };
    call_route(&ctx, &req.branch, lifecycle::routes(), route, data).await?;
    if route != "pub.card.cancel" {
        update_holder(&ctx, &req, &plate, &input).await?;
    }
    Ok(VehicleOut { result: 0, message: done.into() })
}

/// Hanvon's sex codes are not printed (the example has "1"); the seed's
/// holders use 1 male, 2 female, and so does this reading.
fn gender(sex: Option<&Text>) -> ApiResult<Option<i64>> {
    match sex.map(|s| s.trim().to_string()).as_deref() {
        None | Some("") => Ok(None),
        Some("1") | Some("男") => Ok(Some(1)),
        Some("2") | Some("女") => Ok(Some(2)),
        Some(other) => Err(ApiError::field("sex", format!("'{other}' is not 1 (male) or 2 (female)"))),
    }
}

/// The owner's name, sex, ID card and company: 10.15 has no such fields, so
/// they go on the card's holder (the one 10.15 created or found), written as
/// 10.12 writes it. Not through 10.12 itself: it requires a sex, which
/// Hanvon may leave out. The department is a name here and an id in chapter
/// 10's directory: not carried.
async fn update_holder(ctx: &Ctx, req: &Req, plate: &str, input: &VehicleIn) -> ApiResult<()> {
    let text = |t: &Option<Text>| t.as_ref().map(|v| v.trim().to_string()).filter(|s| !s.is_empty());
    let (name, sex, id_card, company) = (text(&input.name), gender(input.sex.as_ref())?, text(&input.id_card), text(&input.company));
    if name.is_none() && sex.is_none() && id_card.is_none() && company.is_none() {
        return Ok(());
    }
    let b = req.branchno();
    on_conflict("holder not updated", || async {
        let Some(card) = store::card_for_plate_versioned(ctx, b, plate).await? else { return Err(ApiError::field("plateNum", format!("{plate} has no card"))) };
        let Some(old) = store::holder_versioned(ctx, b, &card.value.user_no).await? else { return Ok(Step::Done(())) };
        let mut next = old.value.clone();
        if let Some(n) = &name {
            next.name = n.clone();
        }
        if let Some(g) = sex {
            next.gender = g;
        }
        if let Some(id) = &id_card {
            next.identity_type = Some(1);
            next.fields.insert("IdentityNo".into(), id.clone());
        }
        if let Some(c) = &company {
            next.fields.insert("CompanyName".into(), c.clone());
        }
        if next == old.value {
            return Ok(Step::Done(()));
        }
        Step::of(ctx.store.transact(vec![store::holder_update(b, &old, &next)]).await, ())
    })
    .await
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::write("hanwang/HanWang.VehicleHandling", vehicle).refusal(refusal)]
}
