//! The organisation lists: departments (10.8), duties (10.9), positions
//! (10.10) and companies (10.19). The API only reads them; `onecard org`
//! and `onecard import` write them. Cardholders refer to them by id
//! (`DeptID`, `DutyID`, `PositionID`), so an entry still named by a holder
//! cannot be removed (decision 23).

use crate::cards::store::list_holders_in;
use crate::{ids, keys};
use onecard_core::kit::{self, Empty, Page, RouteDef};
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    Dept,
    Duty,
    Position,
    Company,
}

impl ListKind {
    pub const ALL: [ListKind; 4] = [ListKind::Dept, ListKind::Duty, ListKind::Position, ListKind::Company];

    fn key(self) -> &'static str {
        match self {
            ListKind::Dept => "dept",
            ListKind::Duty => "duty",
            ListKind::Position => "post",
            ListKind::Company => "company",
        }
    }

    /// The word operators use (`onecard org dept add ...`).
    pub fn noun(self) -> &'static str {
        match self {
            ListKind::Dept => "department",
            ListKind::Duty => "duty",
            ListKind::Position => "position",
            ListKind::Company => "company",
        }
    }

    /// The cardholder field that refers to an entry, if any: companies are
    /// referred to by name (`CompanyName`), so nothing blocks their removal.
    pub fn holder_field(self) -> Option<&'static str> {
        match self {
            ListKind::Dept => Some("DeptID"),
            ListKind::Duty => Some("DutyID"),
            ListKind::Position => Some("PositionID"),
            ListKind::Company => None,
        }
    }
}

/// One entry of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub name: String,
    /// Companies only: the query code (`AbbrCode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abbr: Option<String>,
}

/// What a `put` did, for the admin commands' and the importer's summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

fn item(branch: &str, kind: ListKind, e: &Entry) -> Item {
    Item::new(keys::org_list(branch, kind.key()), keys::id_sk(e.id), serde_json::to_value(e).unwrap_or_default())
}

fn check(e: &Entry) -> ApiResult<()> {
    if e.id < 1 {
        return Err(ApiError::field("id", "must be 1 or more"));
    }
    if e.name.trim().is_empty() {
        return Err(ApiError::field("name", "is empty"));
    }
    if e.name.chars().count() > 100 {
        return Err(ApiError::field("name", "is longer than 100 characters"));
    }
    Ok(())
}

/// The entries of a list, by id.
pub async fn list(store: &dyn ItemStore, branch: &str, kind: ListKind) -> ApiResult<Vec<Entry>> {
    let items = store.query_all(&Query::partition(keys::org_list(branch, kind.key()))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn get(store: &dyn ItemStore, branch: &str, kind: ListKind, id: i64) -> ApiResult<Option<Entry>> {
    match store.get(&keys::org_list(branch, kind.key()), &keys::id_sk(id)).await? {
        Some(i) => Ok(Some(i.parse()?)),
        None => Ok(None),
    }
}

/// Adds an entry under the next free id.
pub async fn add(store: &dyn ItemStore, branch: &str, kind: ListKind, name: &str, abbr: Option<String>) -> ApiResult<Entry> {
    check(&Entry { id: 1, name: name.to_string(), abbr: None })?;
    // Ids given by `put` (imports keep a site's own numbers) are skipped.
    loop {
        let id = ids::next_id_in(store, branch, &format!("org-{}", kind.key())).await?;
        let e = Entry { id, name: name.trim().to_string(), abbr: abbr.clone() };
        match store.put(item(branch, kind, &e), Cond::MustNotExist).await {
            Ok(()) => return Ok(e),
            Err(err) if err.is_conflict() => continue,
            Err(err) => return Err(err.into()),
        }
    }
}

/// Writes an entry under its own id: created, renamed, or left as it is.
pub async fn put(store: &dyn ItemStore, branch: &str, kind: ListKind, e: &Entry) -> ApiResult<Outcome> {
    check(e)?;
    let e = Entry { name: e.name.trim().to_string(), ..e.clone() };
    let outcome = match get(store, branch, kind, e.id).await? {
        Some(old) if old == e => return Ok(Outcome::Unchanged),
        Some(_) => Outcome::Updated,
        None => Outcome::Created,
    };
    store.put(item(branch, kind, &e), Cond::None).await?;
    Ok(outcome)
}

/// Removes an entry no cardholder refers to (decision 23).
pub async fn remove(store: &dyn ItemStore, branch: &str, kind: ListKind, id: i64) -> ApiResult<()> {
    if get(store, branch, kind, id).await?.is_none() {
        return Err(ApiError::not_found(format!("{} {id}", kind.noun())));
    }
    if let Some(field) = kind.holder_field() {
        let holders = list_holders_in(store, branch).await?;
        let users: Vec<&str> = holders.iter().filter(|h| h.field(field) == id.to_string()).map(|h| h.user_no.as_str()).take(5).collect();
        if !users.is_empty() {
            return Err(ApiError::failed(format!("{} {id} is still the {field} of cardholders {}", kind.noun(), users.join(", "))));
        }
    }
    store.delete(&keys::org_list(branch, kind.key()), &keys::id_sk(id), Cond::MustExist).await?;
    Ok(())
}

/// 10.8 row.
#[derive(Serialize, JsonSchema)]
pub struct DeptRow {
    #[serde(rename = "DeptID")]
    pub id: String,
    #[serde(rename = "DeptName")]
    pub name: String,
}

/// 10.9 row.
#[derive(Serialize, JsonSchema)]
pub struct DutyRow {
    #[serde(rename = "DutyID")]
    pub id: String,
    #[serde(rename = "DutyName")]
    pub name: String,
}

/// 10.10 row: `PostID`/`PostName`, although 10.11 calls the id `PositionID`.
#[derive(Serialize, JsonSchema)]
pub struct PostRow {
    #[serde(rename = "PostID")]
    pub id: String,
    #[serde(rename = "PostName")]
    pub name: String,
}

/// 10.19 row.
#[derive(Serialize, JsonSchema)]
pub struct CompanyRow {
    #[serde(rename = "CompanyID")]
    pub id: String,
    #[serde(rename = "CompanyName")]
    pub name: String,
    #[serde(rename = "AbbrCode")]
    pub abbr: String,
}

async fn rows<R>(ctx: &Ctx, req: &Req, kind: ListKind, row: fn(Entry) -> R) -> ApiResult<Page<R>> {
    let all = list(ctx.store(), req.branchno(), kind).await?;
    Ok(req.page(all.into_iter().map(row).collect()))
}

async fn depts(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<DeptRow>> {
    rows(&ctx, &req, ListKind::Dept, |e| DeptRow { id: e.id.to_string(), name: e.name }).await
}

async fn duties(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<DutyRow>> {
    rows(&ctx, &req, ListKind::Duty, |e| DutyRow { id: e.id.to_string(), name: e.name }).await
}

async fn positions(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<PostRow>> {
    rows(&ctx, &req, ListKind::Position, |e| PostRow { id: e.id.to_string(), name: e.name }).await
}

async fn companies(ctx: Ctx, req: Req, _: Empty) -> ApiResult<Page<CompanyRow>> {
    rows(&ctx, &req, ListKind::Company, |e| CompanyRow { id: e.id.to_string(), name: e.name, abbr: e.abbr.unwrap_or_default() }).await
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::read("pub.dept.list", depts),
        kit::read("pub.duty.list", duties),
        kit::read("pub.position.list", positions),
        kit::read("pub.company.list", companies),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecard_core::memstore::MemStore;

    #[tokio::test]
    async fn put_reports_what_it_did_and_add_skips_imported_ids() {
        let s = MemStore::new();
        let e = Entry { id: 1, name: "软件部".into(), abbr: None };
        assert_eq!(put(&s, "b", ListKind::Dept, &e).await.unwrap(), Outcome::Created);
        assert_eq!(put(&s, "b", ListKind::Dept, &e).await.unwrap(), Outcome::Unchanged);
        let renamed = Entry { name: "研发部".into(), ..e };
        assert_eq!(put(&s, "b", ListKind::Dept, &renamed).await.unwrap(), Outcome::Updated);
        let added = add(&s, "b", ListKind::Dept, "财务部", None).await.unwrap();
        assert_eq!(added.id, 2, "id 1 was taken by the import");
        assert_eq!(list(&s, "b", ListKind::Dept).await.unwrap().len(), 2);
        assert!(list(&s, "b", ListKind::Duty).await.unwrap().is_empty());
        let e = put(&s, "b", ListKind::Dept, &Entry { id: 3, name: " ".into(), abbr: None }).await.unwrap_err();
        assert!(e.message.contains("'name'"), "{}", e.message);
        remove(&s, "b", ListKind::Dept, 2).await.unwrap();
        assert!(remove(&s, "b", ListKind::Dept, 2).await.is_err());
    }
}
