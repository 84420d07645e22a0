//! Cardholders, 10.11-10.14. A holder is found by user number, by the plate of
//! one of their cards (or the plate registered on the holder), or by one of
//! their card numbers.

use super::input::{card_plate, credential, limited, Credential};
use super::model::{identity_type_name, Card, Holder};
use super::store::{self, card_for_plate_versioned, card_update, find_cards, holder_create, holder_update, holder_versioned, list_cards, list_holders};
use crate::ids;
use crate::org::directory::{Directory, Names, Refs};
use crate::org::residence::room_ref;
use chrono::NaiveDateTime;
use onecard_core::kit::{self, normalise_plate, Int, Null, Page, Plate, RouteDef, Text};
use onecard_core::retry::{on_conflict, Step};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MAX_TEXT: usize = 100;

/// The free-text holder fields of 10.11-10.14, by their wire names: only stored
/// and echoed, so one list makes the inputs, the output row and the names.
macro_rules! holder_types {
    ($($wire:ident),+ $(,)?) => {
        /// The free-text holder fields of 10.11/10.12, by wire name.
        pub const HOLDER_TEXT_FIELDS: &[&str] = &[$(stringify!($wire)),+];

        /// 10.11 input.
        #[allow(non_snake_case)]
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        pub struct AddIn {
            /// Generated when absent.
            #[serde(rename = "UserNo")]
            pub user_no: Option<Text>,
            #[serde(rename = "FstName")]
            pub name: Text,
            /// 1 male, 2 female.
            #[serde(rename = "Gender")]
            pub gender: Int,
            #[serde(rename = "Birthday")]
            pub birthday: Option<Text>,
            /// 1-7.
            #[serde(rename = "IdentityTypeID")]
            pub identity_type: Option<Int>,
            /// Binds the holder to the card that carries this plate.
            #[serde(rename = "LicensePlate")]
            pub plate: Option<Plate>,
            $(pub $wire: Option<Text>,)+
        }

        /// 10.12 input: the holder to change and the fields to change. A
        /// field left out keeps its stored value (the kit reads an empty
        /// string as left out); the plate is kept.
        #[allow(non_snake_case)]
        #[derive(Clone, Debug, Deserialize, JsonSchema)]
        pub struct EditIn {
            #[serde(rename = "UserNo")]
            pub user_no: Text,
            #[serde(rename = "FstName")]
            pub name: Text,
            #[serde(rename = "Gender")]
            pub gender: Int,
            #[serde(rename = "Birthday")]
            pub birthday: Option<Text>,
            #[serde(rename = "IdentityTypeID")]
            pub identity_type: Option<Int>,
            $(pub $wire: Option<Text>,)+
        }

        impl AddIn {
            fn fields(&self) -> HolderFields<'_> {
                HolderFields {
                    name: &self.name,
                    gender: self.gender,
                    birthday: self.birthday.as_ref(),
                    identity_type: self.identity_type,
                    texts: vec![$((stringify!($wire), self.$wire.as_ref())),+],
                }
            }
        }

        impl EditIn {
            fn fields(&self) -> HolderFields<'_> {
                HolderFields {
                    name: &self.name,
                    gender: self.gender,
                    birthday: self.birthday.as_ref(),
                    identity_type: self.identity_type,
                    texts: vec![$((stringify!($wire), self.$wire.as_ref())),+],
                }
            }
        }

        /// The 10.13 record and 10.14 row: the stored ids with the names
        /// the directory resolves them to (`org::directory`).
        #[allow(non_snake_case)]
        #[derive(Clone, Debug, Serialize, JsonSchema)]
        pub struct HolderRow {
            #[serde(rename = "UserNo")]
            pub user_no: String,
            #[serde(rename = "FstName")]
            pub name: String,
            /// "" for a holder made implicitly by 10.15.
            #[serde(rename = "Gender")]
            pub gender: String,
            #[serde(rename = "Birthday")]
            pub birthday: String,
            #[serde(rename = "IdentityTypeID")]
            pub identity_type_id: String,
            #[serde(rename = "IdentityType")]
            pub identity_type: &'static str,
            $(pub $wire: String,)+
            #[serde(rename = "LicensePlate")]
            pub plate: String,
            #[serde(flatten)]
            pub names: Names,
        }

        /// The 10.13 record of `h`, whose cards are `cards`, with the names
        /// of its ids (`Directory::names`).
        pub fn holder_row(h: &Holder, cards: &[&Card], names: Names) -> HolderRow {
            HolderRow {
                user_no: h.user_no.clone(),
                name: h.name.clone(),
                gender: if h.gender == 0 { String::new() } else { h.gender.to_string() },
                birthday: h.birthday.map(onecard_core::time::format).unwrap_or_default(),
                identity_type_id: h.identity_type.map(|c| c.to_string()).unwrap_or_default(),
                identity_type: h.identity_type.map(identity_type_name).unwrap_or_default(),
                $($wire: h.field(stringify!($wire)).to_string(),)+
                plate: h.plate.clone().or_else(|| cards.iter().find_map(|c| c.plates.first().cloned())).unwrap_or_default(),
                names,
            }
        }
    };
}

holder_types!(
    SndName,
    IdentityNo,
    CompanyName,
    OfficePhone,
    CompanyAddr,
    CompanyPCode,
    DeptID,
    DutyID,
    PositionID,
    HomePhone,
    Mobile,
    HomeAddr,
    HomePCode,
    RoomID,
    Email,
    SOSName,
    SOSPhone,
    SOSAddr,
    UserGroupName,
    CarDot,
);

/// What 10.11 and 10.12 share, borrowed from either input.
struct HolderFields<'a> {
    name: &'a Text,
    gender: Int,
    birthday: Option<&'a Text>,
    identity_type: Option<Int>,
    texts: Vec<(&'static str, Option<&'a Text>)>,
}

/// A birthday: any date the time format reads. Not a `kit::DateTime`, whose
/// 2000-2099 range would refuse most people's.
fn birthday(raw: Option<&Text>) -> ApiResult<Option<NaiveDateTime>> {
    match raw {
        None => Ok(None),
        Some(s) => onecard_core::time::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::field("Birthday", format!("'{s}' is not a time yyyy-MM-dd HH:mm:ss"))),
    }
}

/// The holder of 10.11/10.12 (everything but UserNo and LicensePlate).
fn holder_from(user_no: String, f: HolderFields<'_>) -> ApiResult<Holder> {
    let name = limited("FstName", Some(f.name.clone()), 50)?.unwrap_or_default();
    let gender = f.gender.get();
    if !(gender == 1 || gender == 2) {
        return Err(ApiError::field("Gender", format!("'{gender}' is not 1 (male) or 2 (female)")));
    }
    let identity_type = f.identity_type.map(Int::get);
    if identity_type.is_some_and(|c| identity_type_name(c).is_empty()) {
        return Err(ApiError::field("IdentityTypeID", "is not one of 1-7"));
    }
    let mut fields = BTreeMap::new();
    for (name, v) in f.texts {
        if let Some(v) = limited(name, v.cloned(), MAX_TEXT)? {
            fields.insert(name.to_string(), v);
        }
    }
    Ok(Holder { user_no, name, gender, birthday: birthday(f.birthday)?, identity_type, plate: None, fields })
}

/// The holder a 10.11 input describes, with its user number and plate, for
/// the importer (which writes it with its room reference itself).
pub fn holder_of(input: &AddIn) -> ApiResult<Holder> {
    let user_no = limited("UserNo", input.user_no.clone(), 32)?.ok_or_else(|| ApiError::missing("UserNo"))?;
    let mut h = holder_from(user_no, input.fields())?;
    h.plate = match &input.plate {
        Some(p) => Some(card_plate("LicensePlate", p)?),
        None => None,
    };
    Ok(h)
}

/// A new holder number: the counter, zero-padded like the seed's "0001000000".
pub async fn new_user_no(ctx: &Ctx, branch: &str) -> ApiResult<String> {
    Ok(format!("{:010}", ids::next_id(ctx, branch, "holder").await?))
}

/// 10.11 output.
#[derive(Serialize, JsonSchema)]
pub struct AddOut {
    #[serde(rename = "UserNo")]
    pub user_no: String,
}

async fn add(ctx: Ctx, req: Req, input: AddIn) -> ApiResult<AddOut> {
    let ctx = &ctx;
    let b = req.branchno();
    let given = limited("UserNo", input.user_no.clone(), 32)?;
    let mut h = holder_from(given.clone().unwrap_or_default(), input.fields())?;
    h.plate = match &input.plate {
        Some(p) => Some(card_plate("LicensePlate", p)?),
        None => None,
    };
    let (h, given) = (&h, &given);
    on_conflict("pub.user.info.add", || async move {
        let mut h = h.clone();
        h.user_no = match given {
            Some(u) => u.clone(),
            None => new_user_no(ctx, b).await?,
        };
        let mut writes = vec![holder_create(b, &h)];
        // The room is touched in the same transaction, so it cannot be
        // deleted from under a holder being added to it.
        if let Some(room) = h.fields.get("RoomID") {
            writes.push(room_ref(ctx.store(), b, room).await?);
        }
        // 10.11: the plate binds the holder to the card that carries it.
        if let Some(p) = &h.plate {
            if let Some(card) = card_for_plate_versioned(ctx, b, p).await? {
                let next = Card { user_no: h.user_no.clone(), ..card.value.clone() };
                writes.push(card_update(b, &card, &next));
            }
        }
        match ctx.store.transact(writes).await {
            Err(e) if e.is_conflict() && given.is_some() && store::get_holder(ctx, b, &h.user_no).await?.is_some() => {
                Err(ApiError::field("UserNo", format!("user {} already exists", h.user_no)))
            }
            r => Step::of(r, AddOut { user_no: h.user_no }),
        }
    })
    .await
}

/// 10.12: the fields the request sends replace the stored ones, the others
/// are kept (an edit of the mobile number must not erase the address); a
/// concurrent change is re-read and the edit applied to it again.
async fn edit(ctx: Ctx, req: Req, input: EditIn) -> ApiResult<Null> {
    let ctx = &ctx;
    let b = req.branchno();
    let user_no = input.user_no.as_str();
    let fields = input.fields();
    let sent: Vec<&'static str> = fields.texts.iter().filter(|(_, v)| v.is_some()).map(|(n, _)| *n).collect();
    let h = &holder_from(user_no.to_string(), fields)?;
    let (sent, input) = (&sent, &input);
    on_conflict("pub.user.info.edit", || async move {
        let old = holder_versioned(ctx, b, user_no).await?.ok_or_else(|| ApiError::field("UserNo", format!("user {user_no} does not exist")))?;
        let mut next = old.value.clone();
        next.name = h.name.clone();
        next.gender = h.gender;
        if input.birthday.is_some() {
            next.birthday = h.birthday;
        }
        if input.identity_type.is_some() {
            next.identity_type = h.identity_type;
        }
        for name in sent {
            if let Some(v) = h.fields.get(*name) {
                next.fields.insert(name.to_string(), v.clone());
            }
        }
        let mut writes = vec![holder_update(b, &old, &next)];
        if let Some(room) = next.fields.get("RoomID").filter(|r| old.value.fields.get("RoomID") != Some(*r)) {
            writes.push(room_ref(ctx.store(), b, room).await?);
        }
        Step::of(ctx.store.transact(writes).await, Null)
    })
    .await
}

fn holder_has_plate(h: &Holder, cards: &[Card], plate: &str) -> bool {
    h.plate.as_deref() == Some(plate) || cards.iter().any(|c| c.user_no == h.user_no && c.plates.iter().any(|p| p == plate))
}

/// 10.13 input.
#[derive(Deserialize, JsonSchema)]
pub struct GetIn {
    /// 1 plate, 2 card number, 3 or 4 user number.
    #[serde(rename = "CredentialType", alias = "credentialtype", alias = "credentialType")]
    pub kind: Int,
    #[serde(rename = "Credential", alias = "credential")]
    pub value: Text,
}

async fn get(ctx: Ctx, req: Req, input: GetIn) -> ApiResult<HolderRow> {
    let b = req.branchno();
    let (kind, value) = credential(
        "CredentialType",
        input.kind,
        input.value,
        &[(1, Credential::Plate), (2, Credential::CardNo), (3, Credential::UserNo), (4, Credential::UserNo)],
    )?;
    let user_no = match kind {
        Credential::UserNo => Some(value.clone()),
        Credential::Plate => {
            let p = normalise_plate(&value);
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
    let names = crate::org::names_for(ctx.store(), b, &Refs::of_holder(&h)).await?;
    Ok(holder_row(&h, &mine, names))
}

/// 10.14 input: filters, combined.
#[derive(Deserialize, JsonSchema)]
pub struct ListIn {
    #[serde(rename = "LicensePlate")]
    pub plate: Option<Plate>,
    /// A card number, face number or physical number.
    #[serde(rename = "CardNo")]
    pub card_no: Option<Text>,
    #[serde(rename = "UserNo")]
    pub user_no: Option<Text>,
}

async fn list(ctx: Ctx, req: Req, input: ListIn) -> ApiResult<Page<HolderRow>> {
    let b = req.branchno();
    let plate = input.plate.as_ref().map(|p| p.norm().to_string());
    let user_no = input.user_no.map(String::from);
    let cards = list_cards(&ctx, b).await?;
    let card_user: Option<Vec<&str>> = input.card_no.as_ref().map(|n| {
        let n = normalise_plate(n);
        cards
            .iter()
            .filter(|c| c.card_no == n || normalise_plate(&c.num_no) == n || normalise_plate(&c.card_id) == n)
            .map(|c| c.user_no.as_str())
            .collect()
    });
    let mut holders = list_holders(&ctx, b).await?;
    let dir = Directory::load(ctx.store(), b).await?;
    holders.sort_by(|a, b| a.user_no.cmp(&b.user_no));
    let rows = holders
        .iter()
        .filter(|h| user_no.as_ref().is_none_or(|u| &h.user_no == u))
        .filter(|h| plate.as_ref().is_none_or(|p| holder_has_plate(h, &cards, p)))
        .filter(|h| card_user.as_ref().is_none_or(|us| us.contains(&h.user_no.as_str())))
        .map(|h| {
            let mine: Vec<&Card> = cards.iter().filter(|c| c.user_no == h.user_no).collect();
            holder_row(h, &mine, dir.names(&Refs::of_holder(h)))
        })
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("pub.user.info.add", add),
        kit::write("pub.user.info.edit", edit),
        kit::read("pub.user.info.get", get),
        kit::read("pub.users.get", list),
    ]
}
