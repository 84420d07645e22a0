//! The parking card list (6.4): every filter optional, combined with AND,
//! `UserName` matched as a substring, paged by `queryFormat`.

use super::catalog::month_fees;
use super::model::{group_type_name, material_name, Card, CardKind, Holder};
use super::store::{list_cards, list_holders};
use onecard_core::fields::normalize_plate;
use onecard_core::{handler, ApiError, ApiResult, Ctx, Data, Registry, Reply, Req};
use serde_json::{json, Value};
use std::collections::HashMap;

fn opt_i(v: Option<i64>) -> String {
    v.map(|i| i.to_string()).unwrap_or_default()
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// One 6.4 row.
pub fn card_row(c: &Card, holder: Option<&Holder>, tariff_name: &str) -> Value {
    let h = |f: &str| holder.map(|h| h.field(f).to_string()).unwrap_or_default();
    json!({
        "CardNo": c.card_no,
        "CardID": c.card_id,
        "NumNo": c.num_no,
        "UserNo": c.user_no,
        "UserName": holder.map(|h| h.name.clone()).unwrap_or_default(),
        "LicensePlate1": c.plate(0),
        "LicensePlate2": c.plate(1),
        "UserGroupName": h("UserGroupName"),
        "Mobile": h("Mobile"),
        "FuncType": c.kind.code().to_string(),
        "FuncTypeName": c.kind.name(),
        "CardMaterial": c.material.to_string(),
        "CardMaterialName": material_name(c.material),
        "CardGroupType": opt_i(c.group_type),
        "CardGroupName": c.group_type.map(group_type_name).unwrap_or_default(),
        "TariffID": opt_i(c.month_tariff_id),
        "TariffName": tariff_name,
        "IssueDate": onecard_core::time::format(c.issued_at),
        "StartDate": onecard_core::time::format(c.valid_from),
        "ExpiryDate": onecard_core::time::format(c.valid_to),
        "CompanyPCode": h("CompanyPCode"),
        "CompanyName": h("CompanyName"),
        "CompanyAddr": h("CompanyAddr"),
        "HomeAddr": h("HomeAddr"),
        "Email": h("Email"),
        "ParkingArea": c.parking_area.clone().unwrap_or_default(),
        "GrantID": c.grant_id.clone().unwrap_or_default(),
        "AllGrant": bool_text(c.all_grant),
        "RoomID": h("RoomID"),
        "DeptID": h("DeptID"),
        "Status": c.state.code().to_string(),
        "StatusName": c.state.name(),
        "Balance": c.balance.yuan(),
        "ChargeCarType": c.car_type_id.to_string(),
        "GroupID": c.group_id.clone().unwrap_or_default(),
    })
}

/// The 6.4 filters.
struct Filter {
    card_no: Option<String>,
    card_id: Option<String>,
    num_no: Option<String>,
    user_no: Option<String>,
    user_name: Option<String>,
    plate: Option<String>,
    user_group: Option<String>,
    expiry_from: Option<chrono::NaiveDateTime>,
    expiry_to: Option<chrono::NaiveDateTime>,
    mobile: Option<String>,
    parking_area: Option<String>,
    kind: Option<CardKind>,
    material: Option<i64>,
    group_type: Option<i64>,
    tariff_id: Option<i64>,
    dept_id: Option<String>,
    status: Option<i64>,
}

impl Filter {
    fn read(d: &Data) -> ApiResult<Filter> {
        let kind = match d.opt_i64("FuncType")? {
            None => None,
            Some(c) => Some(CardKind::from_code(c).ok_or_else(|| ApiError::field("FuncType", format!("'{c}' is not a card function type")))?),
        };
        Ok(Filter {
            card_no: d.opt_str("CardNo")?,
            card_id: d.opt_str("CardID")?,
            num_no: d.opt_str("NumNo")?,
            user_no: d.opt_str("UserNo")?,
            user_name: d.opt_str("UserName")?,
            plate: d.opt_str("LicensePlate")?.map(|p| normalize_plate(&p)),
            user_group: d.opt_str("UserGroupName")?,
            expiry_from: d.opt_time("ExpiryDateStart")?,
            expiry_to: d.opt_time("ExpiryDateEnd")?,
            mobile: d.opt_str("Mobile")?,
            parking_area: d.opt_str("ParkingArea")?,
            kind,
            material: d.opt_i64("CardMaterial")?,
            group_type: d.opt_i64("CardGroupType")?,
            tariff_id: d.opt_i64("TariffID")?,
            dept_id: d.opt_str("DeptID")?,
            status: d.opt_i64("Status")?,
        })
    }

    fn keeps(&self, c: &Card, h: Option<&Holder>) -> bool {
        let hf = |f: &str| h.map(|h| h.field(f)).unwrap_or("");
        let same = |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| normalize_plate(w) == normalize_plate(have));
        same(&self.card_no, &c.card_no)
            && same(&self.card_id, &c.card_id)
            && same(&self.num_no, &c.num_no)
            && self.user_no.as_ref().is_none_or(|u| u == &c.user_no)
            && self.user_name.as_ref().is_none_or(|n| h.is_some_and(|h| h.name.contains(n.as_str())))
            && self.plate.as_ref().is_none_or(|p| c.plates.contains(p))
            && self.user_group.as_ref().is_none_or(|g| hf("UserGroupName") == g)
            && self.expiry_from.is_none_or(|t| c.valid_to >= t)
            && self.expiry_to.is_none_or(|t| c.valid_to <= t)
            && self.mobile.as_ref().is_none_or(|m| hf("Mobile") == m)
            && self.parking_area.as_ref().is_none_or(|a| c.parking_area.as_ref() == Some(a))
            && self.kind.is_none_or(|k| c.kind == k)
            && self.material.is_none_or(|m| c.material == m)
            && self.group_type.is_none_or(|g| c.group_type == Some(g))
            && self.tariff_id.is_none_or(|t| c.month_tariff_id == Some(t))
            && self.dept_id.as_ref().is_none_or(|dp| hf("DeptID") == dp)
            && self.status.is_none_or(|s| c.state.code() == s)
    }
}

async fn cards(ctx: Ctx, req: Req) -> ApiResult<Reply> {
    let b = req.branchno();
    let f = Filter::read(&req.data)?;
    let holders: HashMap<String, Holder> = list_holders(&ctx, b).await?.into_iter().map(|h| (h.user_no.clone(), h)).collect();
    let tariffs: HashMap<i64, String> = month_fees(&ctx, b).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let rows = list_cards(&ctx, b)
        .await?
        .iter()
        .filter(|c| c.parking)
        .filter(|c| f.keeps(c, holders.get(&c.user_no)))
        .map(|c| {
            let tariff = c.month_tariff_id.and_then(|t| tariffs.get(&t)).map(String::as_str).unwrap_or("");
            card_row(c, holders.get(&c.user_no), tariff)
        })
        .collect();
    Ok(req.list(rows))
}

pub fn register(reg: &mut Registry) {
    reg.handle("park.cards.get", handler(cards));
}
