//! The card and cardholder records and the seed's code tables for them
//! (FuncType, CardMaterial, Status, CardGroupType; seed 6.4 and 10.15).

use chrono::NaiveDateTime;
use onecard_core::Fen;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use super::timefmt::{opt_ts, ts};

/// Card function type (`FuncType`). The parking side only distinguishes
/// monthly, stored-value and the rest, but every code is kept so that 6.4
/// answers what was issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Operator,
    Hourly,
    StoredValue,
    Monthly,
    TimeLimited,
    Visitor,
    Vip,
}

impl CardKind {
    pub const ALL: [CardKind; 7] = [
        CardKind::Operator,
        CardKind::Hourly,
        CardKind::StoredValue,
        CardKind::Monthly,
        CardKind::TimeLimited,
        CardKind::Visitor,
        CardKind::Vip,
    ];

    pub fn code(self) -> i64 {
        match self {
            CardKind::Operator => 3,
            CardKind::Hourly => 6,
            CardKind::StoredValue => 20,
            CardKind::Monthly => 26,
            CardKind::TimeLimited => 27,
            CardKind::Visitor => 28,
            CardKind::Vip => 29,
        }
    }

    pub fn from_code(code: i64) -> Option<CardKind> {
        CardKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Names shown to operators and drivers.
    pub fn name(self) -> &'static str {
        match self {
            CardKind::Operator => "操作员卡",
            CardKind::Hourly => "时租卡",
            CardKind::StoredValue => "储值卡",
            CardKind::Monthly => "月卡",
            CardKind::TimeLimited => "时限卡",
            CardKind::Visitor => "访客卡",
            CardKind::Vip => "VIP卡",
        }
    }
}

/// What the lifecycle routes (10.16-10.18) can make of a card. The seed's
/// status table has more codes (lost, blacklisted...), none of which any route
/// here sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Active,
    Disabled,
    Cancelled,
}

impl CardState {
    /// The seed's `Status` code: 3 normal, 1 disabled (frozen), 6 cancelled.
    pub fn code(self) -> i64 {
        match self {
            CardState::Active => 3,
            CardState::Disabled => 1,
            CardState::Cancelled => 6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CardState::Active => "正常",
            CardState::Disabled => "停用",
            CardState::Cancelled => "注销",
        }
    }
}

pub fn material_name(code: i64) -> &'static str {
    match code {
        1 => "IC卡",
        3 => "条码卡",
        4 => "车牌识别卡",
        6 => "密码卡",
        49 => "ID卡",
        57 => "RFID卡",
        _ => "",
    }
}

pub const MATERIALS: [i64; 6] = [1, 3, 4, 6, 49, 57];
/// CardMaterial 4: the card is the plate; its face number is the plate.
pub const PLATE_CARD: i64 = 4;
/// CardGroupType 4, the default for monthly cards.
pub const PERSONAL_MONTHLY: i64 = 4;

pub fn group_type_name(code: i64) -> &'static str {
    match code {
        1 => "团体",
        2 => "集体",
        3 => "复合",
        4 => "个人月卡",
        5 => "时限卡",
        _ => "",
    }
}

/// The door-access side of a card (10.15 `Acss`). Stored and answered, not
/// enforced: door decisions belong to the access-control group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessParams {
    pub func_type: i64,
    #[serde(with = "ts")]
    pub issued_at: NaiveDateTime,
    #[serde(with = "ts")]
    pub valid_from: NaiveDateTime,
    #[serde(with = "ts")]
    pub valid_to: NaiveDateTime,
    pub all_grant: bool,
    pub grant_id: Option<String>,
}

/// A card. Plates are normalised (decision 7); `balance` matters for
/// stored-value cards only and never goes below zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub card_no: String,
    /// Physical card number (`CardID`).
    pub card_id: String,
    /// Face number (`NumNo`); the plate for plate-recognition cards.
    pub num_no: String,
    pub material: i64,
    pub user_no: String,
    pub kind: CardKind,
    pub group_type: Option<i64>,
    pub state: CardState,
    pub car_type_id: i64,
    pub month_tariff_id: Option<i64>,
    /// At most two.
    pub plates: Vec<String>,
    #[serde(with = "ts")]
    pub valid_from: NaiveDateTime,
    #[serde(with = "ts")]
    pub valid_to: NaiveDateTime,
    #[serde(with = "ts")]
    pub issued_at: NaiveDateTime,
    pub balance: Fen,
    /// False for a card issued with door-access parameters only: it has no
    /// parking side, is not indexed by plate and is not a parking card (6.4).
    pub parking: bool,
    pub group_id: Option<String>,
    pub parking_area: Option<String>,
    pub discount_set_id: Option<String>,
    pub relate_num_no: Option<String>,
    pub car_brand_id: Option<String>,
    pub all_grant: bool,
    pub grant_id: Option<String>,
    pub acss: Option<AccessParams>,
}

impl Card {
    pub fn is_monthly(&self) -> bool {
        self.kind == CardKind::Monthly
    }

    pub fn is_stored_value(&self) -> bool {
        self.kind == CardKind::StoredValue
    }

    /// Usable at `t`: active and inside its validity (both ends inclusive, as
    /// expiry dates are printed `23:59:59`).
    pub fn valid_at(&self, t: NaiveDateTime) -> bool {
        self.state == CardState::Active && self.valid_from <= t && t <= self.valid_to
    }

    pub fn first_plate(&self) -> &str {
        self.plates.first().map(String::as_str).unwrap_or("")
    }

    pub fn plate(&self, i: usize) -> &str {
        self.plates.get(i).map(String::as_str).unwrap_or("")
    }
}

/// A cardholder (10.11-10.13). The name, gender and plate are typed because
/// the domain uses them; the other printed fields (phones, addresses, company,
/// department ids...) are only stored and echoed, so they are kept by their
/// wire names (`holders::HOLDER_TEXT_FIELDS`) rather than as two dozen struct
/// fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user_no: String,
    pub name: String,
    /// 1 male, 2 female; 0 when created implicitly by 10.15.
    pub gender: i64,
    #[serde(with = "opt_ts", default)]
    pub birthday: Option<NaiveDateTime>,
    pub identity_type: Option<i64>,
    pub plate: Option<String>,
    pub fields: BTreeMap<String, String>,
}

pub fn identity_type_name(code: i64) -> &'static str {
    match code {
        1 => "身份证",
        2 => "暂住证",
        3 => "驾照",
        4 => "军官证",
        5 => "护照",
        6 => "香港永久性居民身份证",
        7 => "澳门身份证",
        _ => "",
    }
}

impl Holder {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
    pub fn mobile(&self) -> &str {
        self.field("Mobile")
    }
}

/// A stored-value debit by a parking payment (payType 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debit {
    pub order_no: String,
    pub card_no: String,
    pub amount: Fen,
    pub before: Fen,
    pub after: Fen,
    #[serde(with = "ts")]
    pub at: NaiveDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in CardKind::ALL {
            assert_eq!(CardKind::from_code(k.code()), Some(k));
        }
        assert_eq!(CardKind::from_code(26), Some(CardKind::Monthly));
        assert_eq!(CardKind::from_code(1), None);
        assert_eq!(CardState::Disabled.code(), 1);
        assert_eq!(material_name(PLATE_CARD), "车牌识别卡");
    }
}
