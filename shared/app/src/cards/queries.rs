//! The parking card list (6.4): every filter optional, combined with AND,
//! `UserName` matched as a substring, paged by `queryFormat`.

use super::catalog::month_fees;
use super::model::{group_type_name, material_name, Card, CardKind, Holder};
use super::store::{list_cards, list_holders};
use onecard_core::kit::{self, normalise_plate, DateTime, Flag, Int, Money, Page, Plate, RouteDef, Text};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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

/// One 6.4 row: the seed's names, every value as text.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CardRow {
    pub card_no: String,
    #[serde(rename = "CardID")]
    pub card_id: String,
    pub num_no: String,
    pub user_no: String,
    pub user_name: String,
    pub license_plate1: String,
    pub license_plate2: String,
    pub user_group_name: String,
    pub mobile: String,
    pub func_type: String,
    pub func_type_name: &'static str,
    pub card_material: String,
    pub card_material_name: &'static str,
    pub card_group_type: String,
    pub card_group_name: &'static str,
    #[serde(rename = "TariffID")]
    pub tariff_id: String,
    pub tariff_name: String,
    pub issue_date: DateTime,
    pub start_date: DateTime,
    pub expiry_date: DateTime,
    pub company_p_code: String,
    pub company_name: String,
    pub company_addr: String,
    pub home_addr: String,
    pub email: String,
    pub parking_area: String,
    #[serde(rename = "GrantID")]
    pub grant_id: String,
    pub all_grant: &'static str,
    #[serde(rename = "RoomID")]
    pub room_id: String,
    #[serde(rename = "DeptID")]
    pub dept_id: String,
    pub status: String,
    pub status_name: &'static str,
    pub balance: Money,
    pub charge_car_type: String,
    #[serde(rename = "GroupID")]
    pub group_id: String,
    /// `IncludeQrcode`: the card's QR code (`CardQr`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<CardQr>,
    /// The spaces of the card's group (6.65), for a card in a group.
    #[serde(rename = "Berth", skip_serializing_if = "Option::is_none")]
    pub berth: Option<String>,
    /// `IncludeBerthState`: how many of the group's cars are in the park.
    #[serde(rename = "UsedBerthNum", skip_serializing_if = "Option::is_none")]
    pub used_berth_num: Option<String>,
}

/// The QR-code fields 6.4 answers when `IncludeQrcode` is true. The seed
/// names the fields but not the code's content; the cloud holds no separate
/// QR secret for a card, so the code is what identifies the card to any of
/// the system's scanners: its card number (`CardNo`), valid as long as the
/// card is (`QrcodeExpiryDate` = the card's expiry, `QrcodeValidTime` = the
/// seconds left until then, 0 for an expired card).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CardQr {
    #[serde(rename = "Qrcode")]
    pub qrcode: String,
    #[serde(rename = "QrcodeValidTime")]
    pub valid_time: String,
    #[serde(rename = "QrcodeExpiryDate")]
    pub expiry_date: DateTime,
}

impl CardQr {
    pub fn of(c: &Card, now: chrono::NaiveDateTime) -> CardQr {
        CardQr {
            qrcode: c.card_no.clone(),
            valid_time: (c.valid_to - now).num_seconds().max(0).to_string(),
            expiry_date: DateTime(c.valid_to),
        }
    }
}

/// One 6.4 row.
pub fn card_row(c: &Card, holder: Option<&Holder>, tariff_name: &str) -> CardRow {
    let h = |f: &str| holder.map(|h| h.field(f).to_string()).unwrap_or_default();
    CardRow {
        card_no: c.card_no.clone(),
        card_id: c.card_id.clone(),
        num_no: c.num_no.clone(),
        user_no: c.user_no.clone(),
        user_name: holder.map(|h| h.name.clone()).unwrap_or_default(),
        license_plate1: c.plate(0).to_string(),
        license_plate2: c.plate(1).to_string(),
        user_group_name: h("UserGroupName"),
        mobile: h("Mobile"),
        func_type: c.kind.code().to_string(),
        func_type_name: c.kind.name(),
        card_material: c.material.to_string(),
        card_material_name: material_name(c.material),
        card_group_type: opt_i(c.group_type),
        card_group_name: c.group_type.map(group_type_name).unwrap_or_default(),
        tariff_id: opt_i(c.month_tariff_id),
        tariff_name: tariff_name.to_string(),
        issue_date: DateTime(c.issued_at),
        start_date: DateTime(c.valid_from),
        expiry_date: DateTime(c.valid_to),
        company_p_code: h("CompanyPCode"),
        company_name: h("CompanyName"),
        company_addr: h("CompanyAddr"),
        home_addr: h("HomeAddr"),
        email: h("Email"),
        parking_area: c.parking_area.clone().unwrap_or_default(),
        grant_id: c.grant_id.clone().unwrap_or_default(),
        all_grant: bool_text(c.all_grant),
        room_id: h("RoomID"),
        dept_id: h("DeptID"),
        status: c.state.code().to_string(),
        status_name: c.state.name(),
        balance: Money(c.balance),
        charge_car_type: c.car_type_id.to_string(),
        group_id: c.group_id.clone().unwrap_or_default(),
        qrcode: None,
        berth: None,
        used_berth_num: None,
    }
}

/// 6.4 input: the filters, each optional.
#[derive(Deserialize, JsonSchema)]
pub struct CardsIn {
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "CardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "NumNo")]
    pub num_no: Option<Text>,
    #[serde(rename = "UserNo")]
    pub user_no: Option<Text>,
    /// Part of the holder's name.
    #[serde(rename = "UserName")]
    pub user_name: Option<Text>,
    #[serde(rename = "LicensePlate")]
    pub plate: Option<Plate>,
    #[serde(rename = "UserGroupName")]
    pub user_group: Option<Text>,
    #[serde(rename = "ExpiryDateStart")]
    pub expiry_from: Option<DateTime>,
    #[serde(rename = "ExpiryDateEnd")]
    pub expiry_to: Option<DateTime>,
    #[serde(rename = "Mobile")]
    pub mobile: Option<Text>,
    #[serde(rename = "ParkingArea")]
    pub parking_area: Option<Text>,
    /// 3, 6, 20, 26, 27, 28, 29.
    #[serde(rename = "FuncType")]
    pub func_type: Option<Int>,
    #[serde(rename = "CardMaterial")]
    pub material: Option<Int>,
    #[serde(rename = "CardGroupType")]
    pub group_type: Option<Int>,
    #[serde(rename = "TariffID")]
    pub tariff_id: Option<Int>,
    #[serde(rename = "DeptID")]
    pub dept_id: Option<Text>,
    /// 1 disabled, 3 normal, 6 cancelled.
    #[serde(rename = "Status")]
    pub status: Option<Int>,
    /// true: each row carries `Qrcode`, `QrcodeValidTime`, `QrcodeExpiryDate`.
    #[serde(rename = "IncludeQrcode")]
    pub include_qrcode: Option<Flag>,
    #[serde(rename = "IncludeBerthState")]
    pub include_berth_state: Option<Flag>,
}

/// The 6.4 filters, checked.
struct Filter {
    input: CardsIn,
    plate: Option<String>,
    kind: Option<CardKind>,
}

impl Filter {
    fn read(input: CardsIn) -> ApiResult<Filter> {
        let kind = match input.func_type.map(Int::get) {
            None => None,
            Some(c) => Some(CardKind::from_code(c).ok_or_else(|| ApiError::field("FuncType", format!("'{c}' is not a card function type")))?),
        };
        let plate = input.plate.as_ref().map(|p| p.norm().to_string());
        Ok(Filter { input, plate, kind })
    }

    fn keeps(&self, c: &Card, h: Option<&Holder>) -> bool {
        let f = &self.input;
        let hf = |name: &str| h.map(|h| h.field(name)).unwrap_or("");
        let same = |want: &Option<Text>, have: &str| want.as_ref().is_none_or(|w| normalise_plate(w) == normalise_plate(have));
        let text = |want: &Option<Text>, have: &str| want.as_ref().is_none_or(|w| w.as_str() == have);
        same(&f.card_no, &c.card_no)
            && same(&f.card_id, &c.card_id)
            && same(&f.num_no, &c.num_no)
            && text(&f.user_no, &c.user_no)
            && f.user_name.as_ref().is_none_or(|n| h.is_some_and(|h| h.name.contains(n.as_str())))
            && self.plate.as_ref().is_none_or(|p| c.plates.contains(p))
            && text(&f.user_group, hf("UserGroupName"))
            && f.expiry_from.is_none_or(|t| c.valid_to >= t.get())
            && f.expiry_to.is_none_or(|t| c.valid_to <= t.get())
            && text(&f.mobile, hf("Mobile"))
            && f.parking_area.as_ref().is_none_or(|a| c.parking_area.as_deref() == Some(a.as_str()))
            && self.kind.is_none_or(|k| c.kind == k)
            && f.material.is_none_or(|m| c.material == m.get())
            && f.group_type.is_none_or(|g| c.group_type == Some(g.get()))
            && f.tariff_id.is_none_or(|t| c.month_tariff_id == Some(t.get()))
            && text(&f.dept_id, hf("DeptID"))
            && f.status.is_none_or(|s| c.state.code() == s.get())
    }
}

async fn cards(ctx: Ctx, req: Req, input: CardsIn) -> ApiResult<Page<CardRow>> {
    let b = req.branchno();
    let with_qr = input.include_qrcode.is_some_and(Flag::get);
    let with_berth_state = input.include_berth_state.is_some_and(Flag::get);
    let f = Filter::read(input)?;
    let holders: HashMap<String, Holder> = list_holders(&ctx, b).await?.into_iter().map(|h| (h.user_no.clone(), h)).collect();
    let tariffs: HashMap<i64, String> = month_fees(&ctx, b).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let berths = super::berths::of_groups(&ctx, b).await?;
    let all = list_cards(&ctx, b).await?;
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for c in all.iter().filter(|c| c.parking).filter(|c| f.keeps(c, holders.get(&c.user_no))) {
        let tariff = c.month_tariff_id.and_then(|t| tariffs.get(&t)).map(String::as_str).unwrap_or("");
        let mut row = card_row(c, holders.get(&c.user_no), tariff);
        row.qrcode = with_qr.then(|| CardQr::of(c, req.now));
        if let Some(g) = c.group_id.as_deref().filter(|g| berths.contains_key(*g)) {
            row.berth = berths.get(g).map(i64::to_string);
            if with_berth_state {
                if !used.contains_key(g) {
                    used.insert(g.to_string(), super::berths::used(&ctx, b, &all, g).await?);
                }
                row.used_berth_num = used.get(g).map(usize::to_string);
            }
        }
        rows.push(row);
    }
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![kit::read("park.cards.get", cards)]
}
