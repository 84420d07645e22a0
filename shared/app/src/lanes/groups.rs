//! Groups, 6.65-6.68: a team (团体) of cards sharing `berthNumber` spaces.
//! Cards name their group by id (`groupId` of the card routes); a group a
//! card still names cannot be deleted (decision 23: 500 naming the cards).
//! Only team groups (type 1) exist yet, as the seed says.

use crate::cards::store::list_cards;
use crate::{ids, keys};
use onecard_core::kit::{self, Both, Int, Money, Null, Page, RouteDef, Text};
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Fen, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only group type served: 团体 (team).
pub const TEAM: i64 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub group_type: i64,
    pub berths: i64,
    pub max_month_charge: Option<Fen>,
    pub remark: Option<String>,
}

impl Group {
    fn item(&self, branch: &str) -> ApiResult<Item> {
        Ok(Item::new(keys::groups(branch), keys::id_sk(self.id), serde_json::to_value(self).map_err(ApiError::system)?))
    }
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Group>> {
    let items = ctx.store.query_all(&Query::partition(keys::groups(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn get(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Option<Group>> {
    match ctx.store.get(&keys::groups(branch), &keys::id_sk(id)).await? {
        Some(item) => Ok(Some(item.parse()?)),
        None => Ok(None),
    }
}

/// The cards that name group `id`.
pub async fn cards_of(ctx: &Ctx, branch: &str, id: i64) -> ApiResult<Vec<String>> {
    let id = id.to_string();
    Ok(list_cards(ctx, branch).await?.into_iter().filter(|c| c.group_id.as_deref().map(str::trim) == Some(id.as_str())).map(|c| c.card_no).collect())
}

/// 6.65 input; 6.66 names the group by `id` and cannot change its type.
#[derive(Deserialize, JsonSchema)]
pub struct GroupIn {
    pub name: Text,
    #[serde(rename = "berthNumber")]
    pub berths: Int,
    #[serde(rename = "maxMonthCharge")]
    pub max_month_charge: Option<Money>,
    pub remark: Option<Text>,
}

#[derive(Deserialize, JsonSchema)]
pub struct AddIn {
    #[serde(rename = "groupType")]
    pub group_type: Option<Int>,
}

fn build(id: i64, group_type: i64, d: &GroupIn) -> ApiResult<Group> {
    if d.name.chars().count() > 50 {
        return Err(ApiError::field("name", "is longer than 50 characters"));
    }
    let berths = d.berths.get();
    if berths < 0 {
        return Err(ApiError::field("berthNumber", "must not be negative"));
    }
    Ok(Group {
        id,
        name: d.name.to_string(),
        group_type,
        berths,
        max_month_charge: d.max_month_charge.map(Money::fen),
        remark: d.remark.clone().map(String::from),
    })
}

/// 6.65 / 6.66 output.
#[derive(Serialize, JsonSchema)]
pub struct IdOut {
    pub id: String,
}

async fn add(ctx: Ctx, req: Req, Both(kind, fields): Both<AddIn, GroupIn>) -> ApiResult<IdOut> {
    let group_type = kind.group_type.map_or(TEAM, Int::get);
    if group_type != TEAM {
        return Err(ApiError::field("groupType", format!("{group_type}: only team groups (1) are supported")));
    }
    // Validate before drawing an id, so bad input does not burn ids.
    let probe = build(0, group_type, &fields)?;
    let id = ids::next_id(&ctx, req.branchno(), "group").await?;
    let g = Group { id, ..probe };
    ctx.store.put(g.item(req.branchno())?, Cond::MustNotExist).await?;
    Ok(IdOut { id: id.to_string() })
}

#[derive(Deserialize, JsonSchema)]
pub struct GroupKey {
    pub id: Int,
}

async fn update(ctx: Ctx, req: Req, Both(key, fields): Both<GroupKey, GroupIn>) -> ApiResult<IdOut> {
    let id = key.id.get();
    let b = req.branchno();
    let old = ctx.store.get(&keys::groups(b), &keys::id_sk(id)).await?.ok_or_else(|| ApiError::field("id", format!("group {id} does not exist")))?;
    let kept: Group = old.parse()?;
    let g = build(id, kept.group_type, &fields)?;
    ctx.store.put(g.item(b)?.with_version(old.version + 1), Cond::VersionIs(old.version)).await?;
    Ok(IdOut { id: id.to_string() })
}

async fn delete(ctx: Ctx, req: Req, key: GroupKey) -> ApiResult<Null> {
    let id = key.id.get();
    let b = req.branchno();
    if get(&ctx, b, id).await?.is_none() {
        return Err(ApiError::field("id", format!("group {id} does not exist")));
    }
    let users = cards_of(&ctx, b, id).await?;
    if !users.is_empty() {
        let shown: Vec<&str> = users.iter().take(5).map(String::as_str).collect();
        let more = if users.len() > shown.len() { format!(" and {} more", users.len() - shown.len()) } else { String::new() };
        return Err(ApiError::failed(format!("group {id} is used by card {}{more} and cannot be deleted", shown.join(", "))));
    }
    ctx.store.delete(&keys::groups(b), &keys::id_sk(id), Cond::MustExist).await?;
    Ok(Null)
}

/// 6.68 input: both filters optional.
#[derive(Deserialize, JsonSchema)]
pub struct QueryIn {
    pub id: Option<Int>,
    pub name: Option<Text>,
}

/// A 6.68 row, strings as printed.
#[derive(Serialize, JsonSchema)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    #[serde(rename = "berthNumber")]
    pub berths: String,
    #[serde(rename = "maxMonthCharge", skip_serializing_if = "Option::is_none")]
    pub max_month_charge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

async fn query(ctx: Ctx, req: Req, input: QueryIn) -> ApiResult<Page<GroupRow>> {
    let id = input.id.map(Int::get);
    let name = input.name.map(String::from);
    let rows = list(&ctx, req.branchno())
        .await?
        .into_iter()
        .filter(|g| id.is_none_or(|i| g.id == i) && name.as_ref().is_none_or(|n| &g.name == n))
        .map(|g| GroupRow { id: g.id.to_string(), name: g.name, berths: g.berths.to_string(), max_month_charge: g.max_month_charge.map(Fen::yuan), remark: g.remark })
        .collect();
    Ok(req.page(rows))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.group.add", add),
        kit::write("park.group.update", update),
        kit::write("park.group.delete", delete),
        kit::read("park.group.get", query),
    ]
}
