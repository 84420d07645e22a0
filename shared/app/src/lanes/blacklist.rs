//! Blacklists, 6.72-6.78. An entry refuses its car at every entrance while
//! active (`startDateTime <= now <= endDateTime`, not lifted); exits are never
//! blocked, so a car blacklisted while inside can still leave. Lifting (6.75)
//! is a soft delete that 6.76 still lists; deleting (6.74) removes the entry.
//! Types (6.77) and hint texts (6.78) are reference data an administrator
//! seeds (`onecard lanes`); entries may only name ones that exist.

use crate::{ids, keys};
use chrono::NaiveDateTime;
use onecard_core::kit::{self, stamp, DateTime, Int, Null, Page, Plate, RouteDef, Text};
use onecard_core::request::Origin;
use onecard_core::store::{Cond, Item, ItemStore, Query};
use onecard_core::{ApiError, ApiResult, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What an entrance says when an entry names no hint (or a hint since removed).
pub const DEFAULT_HINT: &str = "黑名单车辆，禁止入场";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    /// Normalised: what the lane compares.
    pub plate: String,
    /// As the caller wrote it: what 6.76 answers.
    pub plate_text: String,
    pub black_type: Option<i64>,
    /// Times as `yyyy-MM-dd HH:mm:ss`, which order as text as they do as times.
    pub start: String,
    pub end: String,
    pub hint_id: Option<i64>,
    pub remark: Option<String>,
    pub lifted: bool,
    pub created_by: String,
    pub created_at: String,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<String>,
}

impl Entry {
    pub fn active_at(&self, at: NaiveDateTime) -> bool {
        let t = stamp(at);
        !self.lifted && self.start <= t && t <= self.end
    }

    fn item(&self, branch: &str) -> ApiResult<Item> {
        Ok(Item::new(keys::blacklist(branch), keys::id_sk(self.id), serde_json::to_value(self).map_err(ApiError::system)?))
    }
}

/// A reference row of 6.77 or 6.78.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefText {
    pub id: i64,
    pub text: String,
    pub created_by: String,
    pub created_at: String,
}

/// Who acts: the caller's `from`, the agent, or the system.
fn operator(req: &Req) -> String {
    match &req.origin {
        Origin::Caller(c) => c.from.clone(),
        Origin::Site { agent_id } => agent_id.clone(),
        Origin::Provider | Origin::Internal => "system".into(),
    }
}

pub async fn entries(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Entry>> {
    let items = ctx.store.query_all(&Query::partition(keys::blacklist(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

async fn ref_texts(store: &dyn ItemStore, pk: String) -> ApiResult<Vec<RefText>> {
    let items = store.query_all(&Query::partition(pk)).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

pub async fn types(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<RefText>> {
    ref_texts(store, keys::black_types(branch)).await
}

pub async fn hints(store: &dyn ItemStore, branch: &str) -> ApiResult<Vec<RefText>> {
    ref_texts(store, keys::black_hints(branch)).await
}

/// Which reference list an administrator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Type,
    Hint,
}

/// Adds or replaces a type (6.77) or hint (6.78): the admin seeding path
/// (`onecard lanes`), on the store alone so it works beside a running server.
pub async fn put_ref(store: &dyn ItemStore, branch: &str, kind: RefKind, id: i64, text: &str, by: &str, at: NaiveDateTime) -> ApiResult<()> {
    if id <= 0 || text.trim().is_empty() {
        return Err(ApiError::bad_input("a blacklist type or hint needs a positive id and a text"));
    }
    let pk = match kind {
        RefKind::Type => keys::black_types(branch),
        RefKind::Hint => keys::black_hints(branch),
    };
    let row = RefText { id, text: text.trim().to_string(), created_by: by.into(), created_at: stamp(at) };
    store.put(Item::new(pk, keys::id_sk(id), serde_json::to_value(&row).map_err(ApiError::system)?), Cond::None).await?;
    Ok(())
}

/// What refuses a car at an entrance: the active entry's hint text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub hint: String,
}

/// The active entry for `plate` (normalised) at `at`, with its hint text.
pub async fn active_for(ctx: &Ctx, branch: &str, plate: &str, at: NaiveDateTime) -> ApiResult<Option<Hit>> {
    let Some(e) = entries(ctx, branch).await?.into_iter().find(|e| e.plate == plate && e.active_at(at)) else {
        return Ok(None);
    };
    let hint = match e.hint_id {
        Some(h) => hints(ctx.store(), branch).await?.into_iter().find(|x| x.id == h).map(|x| x.text),
        None => None,
    };
    Ok(Some(Hit { id: e.id, hint: hint.unwrap_or_else(|| DEFAULT_HINT.into()) }))
}

/// 6.72 input; 6.73 adds `autoID`.
#[derive(Deserialize, JsonSchema)]
pub struct EntryIn {
    #[serde(rename = "plateNo")]
    pub plate: Plate,
    #[serde(rename = "blackType")]
    pub black_type: Option<Int>,
    #[serde(rename = "startDateTime")]
    pub start: DateTime,
    /// Permanent: `2099-01-01 00:00:00`.
    #[serde(rename = "endDateTime")]
    pub end: DateTime,
    #[serde(rename = "blackHintId")]
    pub hint_id: Option<Int>,
    pub remark: Option<Text>,
}

struct Checked {
    black_type: Option<i64>,
    start: String,
    end: String,
    hint_id: Option<i64>,
    remark: Option<String>,
}

async fn check(ctx: &Ctx, branch: &str, d: &EntryIn) -> ApiResult<Checked> {
    let (start, end) = (d.start.get(), d.end.get());
    if end <= start {
        return Err(ApiError::field("endDateTime", "must be later than startDateTime"));
    }
    let black_type = d.black_type.map(Int::get);
    if let Some(t) = black_type {
        if !types(ctx.store(), branch).await?.iter().any(|x| x.id == t) {
            return Err(ApiError::field("blackType", format!("{t} is not a blacklist type (6.77)")));
        }
    }
    let hint_id = d.hint_id.map(Int::get);
    if let Some(h) = hint_id {
        if !hints(ctx.store(), branch).await?.iter().any(|x| x.id == h) {
            return Err(ApiError::field("blackHintId", format!("{h} is not a blacklist hint (6.78)")));
        }
    }
    let remark = d.remark.clone().map(String::from);
    if remark.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::field("remark", "is longer than 200 characters"));
    }
    Ok(Checked { black_type, start: stamp(start), end: stamp(end), hint_id, remark })
}

async fn add(ctx: Ctx, req: Req, input: EntryIn) -> ApiResult<Null> {
    let b = req.branchno();
    let c = check(&ctx, b, &input).await?;
    let id = ids::next_id(&ctx, b, "blacklist").await?;
    let e = Entry {
        id,
        plate: input.plate.norm().to_string(),
        plate_text: input.plate.original().to_string(),
        black_type: c.black_type,
        start: c.start,
        end: c.end,
        hint_id: c.hint_id,
        remark: c.remark,
        lifted: false,
        created_by: operator(&req),
        created_at: stamp(req.now),
        changed_by: None,
        changed_at: None,
        lifted_by: None,
        lifted_at: None,
    };
    ctx.store.put(e.item(b)?, Cond::MustNotExist).await?;
    // The agents refuse the car offline from their copy of the list.
    crate::cards::site_notify::card_changed(&ctx, b).await;
    Ok(Null)
}

/// 6.73 input: the entry (by `autoID` and its plate) and its new fields.
#[derive(Deserialize, JsonSchema)]
pub struct EditKey {
    #[serde(rename = "autoID", alias = "autoId")]
    pub id: Int,
}

async fn get_entry(ctx: &Ctx, branch: &str, id: i64, field: &str) -> ApiResult<(Entry, u64)> {
    match ctx.store.get(&keys::blacklist(branch), &keys::id_sk(id)).await? {
        Some(item) => Ok((item.parse()?, item.version)),
        None => Err(ApiError::field(field, format!("blacklist entry {id} does not exist"))),
    }
}

async fn edit(ctx: Ctx, req: Req, kit::Both(key, input): kit::Both<EditKey, EntryIn>) -> ApiResult<Null> {
    let b = req.branchno();
    let id = key.id.get();
    let c = check(&ctx, b, &input).await?;
    let by = operator(&req);
    let done = onecard_core::retry::on_conflict("blacklist edit", || async {
        let (old, version) = get_entry(&ctx, b, id, "autoID").await?;
        if old.plate != input.plate.norm() {
            return Err(ApiError::field("plateNo", format!("entry {id} is for {}, not {}", old.plate_text, input.plate.original())));
        }
        if old.lifted {
            return Err(ApiError::failed(format!("blacklist entry {id} was lifted and cannot be edited")));
        }
        let e = Entry {
            black_type: c.black_type,
            start: c.start.clone(),
            end: c.end.clone(),
            hint_id: c.hint_id,
            remark: c.remark.clone(),
            changed_by: Some(by.clone()),
            changed_at: Some(stamp(req.now)),
            ..old
        };
        let write = ctx.store.put(e.item(b)?.with_version(version + 1), Cond::VersionIs(version)).await;
        onecard_core::retry::Step::of(write, Null)
    })
    .await;
    crate::cards::site_notify::after_card_change(&ctx, b, done).await
}

/// 6.74 / 6.75 input. The seed spells it `autoId` here, `autoID` in 6.73.
#[derive(Deserialize, JsonSchema)]
pub struct EntryKey {
    #[serde(rename = "autoId", alias = "autoID")]
    pub id: Int,
}

async fn delete(ctx: Ctx, req: Req, input: EntryKey) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    get_entry(&ctx, b, id, "autoId").await?;
    ctx.store.delete(&keys::blacklist(b), &keys::id_sk(id), Cond::MustExist).await?;
    crate::cards::site_notify::card_changed(&ctx, b).await;
    Ok(Null)
}

/// Lifting twice is one lift: the first lift's operator and time stay.
async fn lift(ctx: Ctx, req: Req, input: EntryKey) -> ApiResult<Null> {
    let b = req.branchno();
    let id = input.id.get();
    let by = operator(&req);
    let done = onecard_core::retry::on_conflict("blacklist lift", || async {
        let (old, version) = get_entry(&ctx, b, id, "autoId").await?;
        if old.lifted {
            return Ok(onecard_core::retry::Step::Done(Null));
        }
        let e = Entry { lifted: true, lifted_by: Some(by.clone()), lifted_at: Some(stamp(req.now)), ..old };
        let write = ctx.store.put(e.item(b)?.with_version(version + 1), Cond::VersionIs(version)).await;
        onecard_core::retry::Step::of(write, Null)
    })
    .await;
    crate::cards::site_notify::after_card_change(&ctx, b, done).await
}

/// A 6.76 row, every field a string as printed.
#[derive(Serialize, JsonSchema)]
pub struct EntryRow {
    #[serde(rename = "autoID")]
    pub id: String,
    #[serde(rename = "plateNo")]
    pub plate: String,
    #[serde(rename = "blackType", skip_serializing_if = "Option::is_none")]
    pub black_type: Option<String>,
    #[serde(rename = "startDateTime")]
    pub start: String,
    #[serde(rename = "endDateTime")]
    pub end: String,
    #[serde(rename = "blackHintId", skip_serializing_if = "Option::is_none")]
    pub hint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// "1" lifted, "0" in force.
    #[serde(rename = "isDelete")]
    pub is_delete: String,
    #[serde(rename = "cOperID")]
    pub c_oper: String,
    #[serde(rename = "cDateTime")]
    pub c_date: String,
    #[serde(rename = "lMOperID", skip_serializing_if = "Option::is_none")]
    pub lm_oper: Option<String>,
    #[serde(rename = "lMDateTime", skip_serializing_if = "Option::is_none")]
    pub lm_date: Option<String>,
    #[serde(rename = "delOperID", skip_serializing_if = "Option::is_none")]
    pub del_oper: Option<String>,
    #[serde(rename = "delDateTime", skip_serializing_if = "Option::is_none")]
    pub del_date: Option<String>,
}

impl From<Entry> for EntryRow {
    fn from(e: Entry) -> EntryRow {
        EntryRow {
            id: e.id.to_string(),
            plate: e.plate_text,
            black_type: e.black_type.map(|t| t.to_string()),
            start: e.start,
            end: e.end,
            hint_id: e.hint_id.map(|h| h.to_string()),
            remark: e.remark,
            is_delete: if e.lifted { "1" } else { "0" }.into(),
            c_oper: e.created_by,
            c_date: e.created_at,
            lm_oper: e.changed_by,
            lm_date: e.changed_at,
            del_oper: e.lifted_by,
            del_date: e.lifted_at,
        }
    }
}

/// 6.76: every entry, lifted ones included.
async fn get(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Page<EntryRow>> {
    Ok(req.page(entries(&ctx, req.branchno()).await?.into_iter().map(EntryRow::from).collect()))
}

/// A 6.77 row.
#[derive(Serialize, JsonSchema)]
pub struct TypeRow {
    #[serde(rename = "blackRemID")]
    pub id: String,
    #[serde(rename = "blackRemark")]
    pub text: String,
    #[serde(rename = "cOperID")]
    pub c_oper: String,
    #[serde(rename = "cDateTime")]
    pub c_date: String,
}

async fn type_list(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Page<TypeRow>> {
    let rows = types(ctx.store(), req.branchno()).await?.into_iter().map(|t| TypeRow { id: t.id.to_string(), text: t.text, c_oper: t.created_by, c_date: t.created_at });
    Ok(req.page(rows.collect()))
}

/// A 6.78 row (the seed's example spells the text `blackRemark`, a copy error
/// of 6.77; its table's `blackHint` is answered).
#[derive(Serialize, JsonSchema)]
pub struct HintRow {
    #[serde(rename = "blackHintId")]
    pub id: String,
    #[serde(rename = "blackHint")]
    pub text: String,
    #[serde(rename = "cOperID")]
    pub c_oper: String,
    #[serde(rename = "cDateTime")]
    pub c_date: String,
}

async fn hint_list(ctx: Ctx, req: Req, _: kit::Empty) -> ApiResult<Page<HintRow>> {
    let rows = hints(ctx.store(), req.branchno()).await?.into_iter().map(|t| HintRow { id: t.id.to_string(), text: t.text, c_oper: t.created_by, c_date: t.created_at });
    Ok(req.page(rows.collect()))
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("park.blacklist.add", add),
        kit::write("park.blacklist.edit", edit),
        kit::write("park.blacklist.delete", delete),
        kit::write("park.blacklist.lift", lift),
        kit::read("park.blacklist.get", get),
        kit::read("park.blackremark.get", type_list),
        kit::read("park.blackhint.get", hint_list),
    ]
}

/// The demo car park's reference data: two types and two hints, written
/// once (an administrator's own rows are never overwritten).
pub async fn seed_demo(store: &dyn ItemStore, branch: &str, at: NaiveDateTime) -> ApiResult<()> {
    if types(store, branch).await?.is_empty() {
        put_ref(store, branch, RefKind::Type, 1, "欠费车辆", "system", at).await?;
        put_ref(store, branch, RefKind::Type, 2, "违规车辆", "system", at).await?;
    }
    if hints(store, branch).await?.is_empty() {
        put_ref(store, branch, RefKind::Hint, 1, "黑名单车辆，禁止入场", "system", at).await?;
        put_ref(store, branch, RefKind::Hint, 2, "欠费车辆，请到管理处缴费", "system", at).await?;
    }
    Ok(())
}
