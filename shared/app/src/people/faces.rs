//! Face users (10.43-10.47) and their distribution to the face terminals
//! (10.50-10.52): a job per request, one step per terminal, each step pushed
//! as 10.53 (`doneCount` of `total`) and kept as the job's progress. A face's
//! picture is in the blob store (decision 16); terminals are sent its URL,
//! never the picture. A terminal that stays silent fails its step with 620;
//! the others still get the face.

use super::{device, pictures};
use crate::acss::model::{check_module, FaceTerminal, MODULE_DOOR, MODULE_GATE};
use crate::acss::store as acss_store;
use crate::keys;
use chrono::NaiveDateTime;
use onecard_core::events::{outbox_write, publish_committed};
use onecard_core::kit::{self, DateTime, Flag, Int, Null, Picture, RouteDef, Text};
use onecard_core::link::action;
use onecard_core::queue::OutEvent;
use onecard_core::store::{Cond, Item, Query};
use onecard_core::{ApiError, ApiResult, Code, Ctx, Req};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// 10.53's route (a push to the configured callback address).
pub const RESULT_ROUTE: &str = "notify/faceDistributeResult";

/// Validity on one module (door access 171, channel gate 150).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleGrant {
    pub module: i64,
    pub start: String,
    /// Empty: permanent.
    #[serde(default)]
    pub expiry: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Face {
    pub uuid: String,
    pub user_no: String,
    pub name: String,
    pub gender: i64,
    pub register_time: String,
    pub mobile: String,
    #[serde(default)]
    pub card_type: Option<i64>,
    #[serde(default)]
    pub card_id: String,
    #[serde(default)]
    pub id_card: String,
    pub certification_type: i64,
    pub picture_key: String,
    #[serde(default)]
    pub feature: String,
    /// 1 normal, 0 cancelled.
    pub status: i64,
    #[serde(default)]
    pub remark: String,
    pub grants: Vec<ModuleGrant>,
    #[serde(default)]
    pub blacklisted: bool,
    /// The visitor order this face came with (10.3), if any.
    #[serde(default)]
    pub visitor_order: String,
    /// Terminals known to hold the face.
    #[serde(default)]
    pub on_terminals: Vec<String>,
}

impl Face {
    /// Terminals the face belongs on: those of its modules, unless cancelled or blacklisted.
    pub fn permitted<'a>(&self, terms: &'a [FaceTerminal]) -> Vec<&'a FaceTerminal> {
        if self.status != 1 || self.blacklisted {
            return Vec::new();
        }
        terms.iter().filter(|t| self.grants.iter().any(|g| g.module == t.module)).collect()
    }
}

pub async fn get(ctx: &Ctx, branch: &str, uuid: &str) -> ApiResult<Option<(Face, u64)>> {
    match ctx.store.get(&keys::faces(branch), uuid).await? {
        Some(i) => Ok(Some((i.parse()?, i.version))),
        None => Ok(None),
    }
}

async fn must_get(ctx: &Ctx, branch: &str, uuid: &str, field: &str) -> ApiResult<(Face, u64)> {
    get(ctx, branch, uuid).await?.ok_or_else(|| ApiError::field(field, format!("no face user '{uuid}'")))
}

/// Stores `f`: new when `version` is None, else over that version.
pub async fn save(ctx: &Ctx, branch: &str, f: &Face, version: Option<u64>) -> ApiResult<u64> {
    let body = serde_json::to_value(f).map_err(ApiError::system)?;
    let (item, cond, v) = match version {
        None => (Item::new(keys::faces(branch), f.uuid.clone(), body), Cond::MustNotExist, 1),
        Some(v) => (Item::new(keys::faces(branch), f.uuid.clone(), body).with_version(v + 1), Cond::VersionIs(v), v + 1),
    };
    ctx.store.put(item, cond).await.map_err(|e| if e.is_conflict() { ApiError::failed(format!("face user {} changed meanwhile; send again", f.uuid)) } else { e.into() })?;
    Ok(v)
}

pub async fn list(ctx: &Ctx, branch: &str) -> ApiResult<Vec<Face>> {
    let items = ctx.store.query_all(&Query::partition(keys::faces(branch))).await?;
    Ok(items.iter().map(Item::parse).collect::<Result<_, _>>()?)
}

/// What a job does on each terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Distribute,
    Delete,
}

impl Op {
    fn words(self) -> &'static str {
        match self {
            Op::Distribute => "人脸下发",
            Op::Delete => "人脸删除",
        }
    }
}

/// A distribution job's progress, kept at `job#{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub uuid: String,
    pub op: String,
    pub total: usize,
    pub done: usize,
    /// `(terminal, why)` of the steps that failed.
    pub failed: Vec<(String, String)>,
}

/// Runs `op` for face `f` on each terminal, pushing 10.53 after each step.
/// Answers the job; `f.on_terminals` is updated with what succeeded.
pub async fn run_job(ctx: &Ctx, req: &Req, f: &mut Face, terminals: &[&FaceTerminal], op: Op) -> ApiResult<Job> {
    let b = req.branchno();
    let mut job = Job { id: format!("{}", uuid::Uuid::new_v4().simple()), uuid: f.uuid.clone(), op: op.words().into(), total: terminals.len(), done: 0, failed: Vec::new() };
    let url = if op == Op::Distribute { pictures::url_of(ctx, &f.picture_key).await } else { String::new() };
    for (i, t) in terminals.iter().enumerate() {
        let r = match op {
            Op::Distribute => {
                let p = json!({ "uuid": f.uuid, "userNo": f.user_no, "name": f.name, "pictureKey": f.picture_key, "pictureUrl": url });
                device::send(ctx, req, &t.device, action::FACE_DISTRIBUTE, p).await
            }
            Op::Delete => device::send(ctx, req, &t.device, action::FACE_DELETE, json!({ "uuid": f.uuid })).await,
        };
        let message = match &r {
            Ok(()) => {
                job.done += 1;
                match op {
                    Op::Distribute if !f.on_terminals.contains(&t.device) => f.on_terminals.push(t.device.clone()),
                    Op::Delete => f.on_terminals.retain(|d| *d != t.device),
                    _ => {}
                }
                format!("设备 {} {}{}成功", t.device, op.words(), f.name)
            }
            Err(e) => {
                job.failed.push((t.device.clone(), e.message.clone()));
                format!("设备 {} {}{}失败！{}", t.device, op.words(), f.name, e.message)
            }
        };
        let rec = json!({
            "controllerNo": t.device,
            "isCompleted": i + 1 == terminals.len(),
            "total": job.total,
            "doneCount": job.done,
            "message": message,
            "displayMessage": format!("{}/{}", job.done, job.total),
            "doLoadStr": op.words(),
        });
        let ev = OutEvent::new(b, RESULT_ROUTE, rec, req.now);
        let body = serde_json::to_value(&job).map_err(ApiError::system)?;
        let progress = Item::new(keys::people(b), format!("job#{}", job.id), body);
        ctx.store.transact(vec![Write::put(progress, Cond::None), outbox_write(&ev)]).await?;
        publish_committed(ctx, &[ev]).await;
    }
    Ok(job)
}

use onecard_core::store::Write;

/// The job's outcome as the route's: all steps done, or the first failure
/// (620 when a terminal stayed silent), naming how far it got.
pub fn job_result(job: &Job) -> ApiResult<()> {
    match job.failed.first() {
        None => Ok(()),
        Some((dev, why)) => {
            let timeout = why.contains("did not answer");
            let msg = format!("{} of {} terminal(s) done; {dev}: {why}", job.done, job.total);
            Err(if timeout { ApiError::new(Code::DEVICE_TIMEOUT, msg) } else { ApiError::failed(msg) })
        }
    }
}

/// Module grant as 10.43 sends it.
#[derive(Deserialize, JsonSchema)]
pub struct GrantIn {
    #[serde(rename = "allGrant")]
    pub all_grant: Option<Flag>,
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "expiryTime")]
    pub expiry: Option<DateTime>,
    #[serde(rename = "moduleType")]
    pub module: Int,
    #[serde(rename = "grantID")]
    pub grant_id: Option<Text>,
    #[serde(rename = "isDeliverToFace")]
    pub deliver: Option<Flag>,
}

/// `access` as 10.43 prints it: `gate` may sit inside it (10.43's example)
/// or beside it (10.45's).
#[derive(Deserialize, JsonSchema)]
pub struct AccessIn {
    #[serde(rename = "allGrant")]
    pub all_grant: Option<Flag>,
    #[serde(rename = "startTime")]
    pub start: DateTime,
    #[serde(rename = "expiryTime")]
    pub expiry: Option<DateTime>,
    #[serde(rename = "moduleType")]
    pub module: Int,
    #[serde(rename = "grantID")]
    pub grant_id: Option<Text>,
    #[serde(rename = "isDeliverToFace")]
    pub deliver: Option<Flag>,
    pub gate: Option<GrantIn>,
}

/// The fields 10.43 and 10.45 share.
#[derive(Deserialize, JsonSchema)]
pub struct FaceIn {
    #[serde(rename = "userName")]
    pub name: Text,
    pub gender: Int,
    #[serde(rename = "registerTime")]
    pub register_time: DateTime,
    #[serde(rename = "mobileNo")]
    pub mobile: Text,
    #[serde(rename = "cardType")]
    pub card_type: Option<Int>,
    #[serde(rename = "cardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "idCard")]
    pub id_card: Option<Text>,
    #[serde(rename = "certificationType")]
    pub certification_type: Int,
    #[serde(rename = "faceImgData")]
    pub picture: Picture,
    #[serde(rename = "faceFeature")]
    pub feature: Option<Text>,
    pub status: Int,
    pub remark: Option<Text>,
    #[serde(rename = "isDeliverToFace")]
    pub deliver: Option<Flag>,
    pub access: AccessIn,
    pub gate: Option<GrantIn>,
}

fn code_in(v: Int, field: &str, range: std::ops::RangeInclusive<i64>) -> ApiResult<i64> {
    let x = v.get();
    if range.contains(&x) {
        Ok(x)
    } else {
        Err(ApiError::field(field, format!("'{x}' is not {}-{}", range.start(), range.end())))
    }
}

fn grant(module: Int, field: &str, want: i64, start: DateTime, expiry: Option<DateTime>) -> ApiResult<ModuleGrant> {
    let m = check_module(field, module.get())?;
    if m != want {
        return Err(ApiError::field(field, format!("is {m}; this object takes {want}")));
    }
    if expiry.is_some_and(|e| e.get() < start.get()) {
        return Err(ApiError::field("expiryTime", "is before startTime"));
    }
    Ok(ModuleGrant { module: m, start: kit::stamp(start.get()), expiry: expiry.map(|e| kit::stamp(e.get())).unwrap_or_default() })
}

/// The face a 10.43/10.45 input describes (picture stored), and whether to
/// deliver it to the terminals now.
async fn read_face(ctx: &Ctx, branch: &str, uuid: String, user_no: String, i: FaceIn) -> ApiResult<(Face, bool)> {
    let gender = code_in(i.gender, "gender", 0..=2)?;
    let cert = code_in(i.certification_type, "certificationType", 0..=2)?;
    let status = code_in(i.status, "status", 0..=1)?;
    let card_type = i.card_type.map(|c| code_in(c, "cardType", 0..=1)).transpose()?;
    let mut grants = vec![grant(i.access.module, "access.moduleType", MODULE_DOOR, i.access.start, i.access.expiry)?];
    let mut deliver = i.deliver.is_some_and(Flag::get) || i.access.deliver.is_some_and(Flag::get);
    for g in [i.gate, i.access.gate].into_iter().flatten() {
        deliver |= g.deliver.is_some_and(Flag::get);
        grants.push(grant(g.module, "gate.moduleType", MODULE_GATE, g.start, g.expiry)?);
    }
    grants.dedup_by_key(|g| g.module);
    let key = pictures::store(ctx, branch, "faceImgData", &i.picture).await?;
    let face = Face {
        uuid,
        user_no,
        name: i.name.into_string(),
        gender,
        register_time: kit::stamp(i.register_time.get()),
        mobile: i.mobile.into_string(),
        card_type,
        card_id: i.card_id.map(Text::into_string).unwrap_or_default(),
        id_card: i.id_card.map(Text::into_string).unwrap_or_default(),
        certification_type: cert,
        picture_key: key,
        feature: i.feature.map(Text::into_string).unwrap_or_default(),
        status,
        remark: i.remark.map(Text::into_string).unwrap_or_default(),
        grants,
        blacklisted: false,
        visitor_order: String::new(),
        on_terminals: Vec::new(),
    };
    Ok((face, deliver))
}

/// The car park's user number for a mobile: its holder's, else a new one.
pub async fn user_no_for(ctx: &Ctx, branch: &str, mobile: &str) -> ApiResult<String> {
    if let Some(h) = crate::cards::store::list_holders(ctx, branch).await?.into_iter().find(|h| !mobile.is_empty() && h.mobile() == mobile) {
        return Ok(h.user_no);
    }
    crate::cards::holders::new_user_no(ctx, branch).await
}

#[derive(Serialize, JsonSchema)]
pub struct FaceKey {
    pub uuid: String,
    #[serde(rename = "userNo")]
    pub user_no: String,
}

/// Delivers `f` to the terminals it belongs on and saves what they hold.
pub async fn deliver(ctx: &Ctx, req: &Req, f: &mut Face, version: u64) -> ApiResult<(Job, u64)> {
    let terms = acss_store::terminals(ctx.store(), req.branchno()).await?;
    let targets = f.permitted(&terms);
    let job = run_job(ctx, req, f, &targets, Op::Distribute).await?;
    let v = save(ctx, req.branchno(), f, Some(version)).await?;
    Ok((job, v))
}

/// Removes `f` from every terminal that holds it (or may: all of them when
/// `everywhere`), and saves what is left.
pub async fn remove(ctx: &Ctx, req: &Req, f: &mut Face, version: u64, everywhere: bool) -> ApiResult<(Job, u64)> {
    let terms = acss_store::terminals(ctx.store(), req.branchno()).await?;
    let targets: Vec<&FaceTerminal> = terms.iter().filter(|t| everywhere || f.on_terminals.contains(&t.device)).collect();
    let job = run_job(ctx, req, f, &targets, Op::Delete).await?;
    let v = save(ctx, req.branchno(), f, Some(version)).await?;
    Ok((job, v))
}

/// 10.43.
async fn add(ctx: Ctx, req: Req, input: FaceIn) -> ApiResult<FaceKey> {
    let b = req.branchno();
    let user_no = user_no_for(&ctx, b, &input.mobile).await?;
    let (mut f, now) = read_face(&ctx, b, uuid::Uuid::new_v4().to_string(), user_no, input).await?;
    let v = save(&ctx, b, &f, None).await?;
    if now {
        let (job, _) = deliver(&ctx, &req, &mut f, v).await?;
        job_result(&job)?;
    }
    Ok(FaceKey { uuid: f.uuid, user_no: f.user_no })
}

/// 10.44 input.
#[derive(Deserialize, JsonSchema)]
pub struct DeleteIn {
    #[serde(alias = "uuId")]
    pub uuid: Text,
    #[serde(rename = "isDeliverToFace")]
    pub deliver: Option<Flag>,
}

/// 10.44: with `isDeliverToFace` 1 the terminals drop the face first, and a
/// terminal that fails keeps the user (and answers the failure).
async fn delete(ctx: Ctx, req: Req, input: DeleteIn) -> ApiResult<FaceKey> {
    let b = req.branchno();
    let (mut f, v) = must_get(&ctx, b, &input.uuid, "uuid").await?;
    if input.deliver.is_some_and(Flag::get) {
        let (job, _) = remove(&ctx, &req, &mut f, v, false).await?;
        job_result(&job)?;
    }
    ctx.store.delete(&keys::faces(b), &f.uuid, Cond::None).await?;
    Ok(FaceKey { uuid: f.uuid, user_no: f.user_no })
}

/// 10.45 input: the user and the fields of 10.43.
#[derive(Deserialize, JsonSchema)]
pub struct UpdateKey {
    #[serde(alias = "uuId")]
    pub uuid: Text,
    #[serde(rename = "userNo")]
    pub user_no: Text,
}

/// 10.45.
async fn update(ctx: Ctx, req: Req, input: kit::Both<UpdateKey, FaceIn>) -> ApiResult<FaceKey> {
    let kit::Both(k, i) = input;
    let b = req.branchno();
    let (old, v) = must_get(&ctx, b, &k.uuid, "uuid").await?;
    if old.user_no != k.user_no.as_str() {
        return Err(ApiError::field("userNo", format!("face user {} is user {}, not {}", old.uuid, old.user_no, k.user_no.as_str())));
    }
    let (mut f, now) = read_face(&ctx, b, old.uuid.clone(), old.user_no.clone(), i).await?;
    f.blacklisted = old.blacklisted;
    f.visitor_order = old.visitor_order.clone();
    f.on_terminals = old.on_terminals.clone();
    let v = save(&ctx, b, &f, Some(v)).await?;
    if now {
        let (job, _) = deliver(&ctx, &req, &mut f, v).await?;
        job_result(&job)?;
    }
    Ok(FaceKey { uuid: f.uuid, user_no: f.user_no })
}

/// 10.46 input: any combination.
#[derive(Deserialize, JsonSchema)]
pub struct QueryIn {
    pub uuid: Option<Text>,
    #[serde(rename = "userNo")]
    pub user_no: Option<Text>,
    #[serde(rename = "userName")]
    pub name: Option<Text>,
    #[serde(rename = "mobileNo")]
    pub mobile: Option<Text>,
    #[serde(rename = "registerBeginTime")]
    pub from: Option<DateTime>,
    #[serde(rename = "registerEndTime")]
    pub to: Option<DateTime>,
    #[serde(rename = "cardType")]
    pub card_type: Option<Int>,
    #[serde(rename = "cardID")]
    pub card_id: Option<Text>,
    #[serde(rename = "idCard")]
    pub id_card: Option<Text>,
    #[serde(rename = "certificationType")]
    pub certification_type: Option<Int>,
    pub gender: Option<Int>,
    pub status: Option<Int>,
}

#[derive(Serialize, JsonSchema)]
pub struct GrantOut {
    #[serde(rename = "allGrant")]
    pub all_grant: String,
    #[serde(rename = "startTime")]
    pub start: String,
    #[serde(rename = "expiryTime")]
    pub expiry: String,
    #[serde(rename = "moduleType")]
    pub module: String,
    #[serde(rename = "grantID")]
    pub grant_id: String,
}

#[derive(Serialize, JsonSchema)]
pub struct FaceRow {
    pub uuid: String,
    #[serde(rename = "userNo")]
    pub user_no: String,
    #[serde(rename = "userName")]
    pub name: String,
    #[serde(rename = "mobileNo")]
    pub mobile: String,
    #[serde(rename = "registerTime")]
    pub register_time: String,
    #[serde(rename = "cardType")]
    pub card_type: Option<String>,
    #[serde(rename = "cardID")]
    pub card_id: String,
    #[serde(rename = "idCard")]
    pub id_card: String,
    #[serde(rename = "certificationType")]
    pub certification_type: String,
    pub gender: String,
    #[serde(rename = "faceImgData")]
    pub picture: String,
    #[serde(rename = "faceFeature")]
    pub feature: String,
    pub status: String,
    pub remark: String,
    pub access: Option<GrantOut>,
    pub gate: Option<GrantOut>,
}

fn grant_out(f: &Face, module: i64) -> Option<GrantOut> {
    f.grants.iter().find(|g| g.module == module).map(|g| GrantOut {
        all_grant: "true".into(),
        start: g.start.clone(),
        expiry: g.expiry.clone(),
        module: g.module.to_string(),
        grant_id: "0".into(),
    })
}

fn parse(s: &str) -> Option<NaiveDateTime> {
    onecard_core::time::parse(s)
}

/// 10.46.
async fn query(ctx: Ctx, req: Req, q: QueryIn) -> ApiResult<Vec<FaceRow>> {
    kit::check_open_window(q.from.map(DateTime::get), q.to.map(DateTime::get), "registerEndTime")?;
    let same = |f: &Option<Text>, v: &str| f.as_ref().is_none_or(|f| f.as_str() == v);
    let num = |f: Option<Int>, v: i64| f.is_none_or(|f| f.get() == v);
    let mut rows = Vec::new();
    for f in list(&ctx, req.branchno()).await? {
        let reg = parse(&f.register_time);
        let keep = same(&q.uuid, &f.uuid)
            && same(&q.user_no, &f.user_no)
            && q.name.as_ref().is_none_or(|n| f.name.contains(n.as_str()))
            && same(&q.mobile, &f.mobile)
            && q.from.is_none_or(|t| reg.is_some_and(|r| r >= t.get()))
            && q.to.is_none_or(|t| reg.is_some_and(|r| r <= t.get()))
            && q.card_type.is_none_or(|c| f.card_type == Some(c.get()))
            && same(&q.card_id, &f.card_id)
            && same(&q.id_card, &f.id_card)
            && num(q.certification_type, f.certification_type)
            && num(q.gender, f.gender)
            && num(q.status, f.status);
        if !keep {
            continue;
        }
        rows.push(FaceRow {
            picture: pictures::base64_of(&ctx, &f.picture_key).await,
            access: grant_out(&f, MODULE_DOOR),
            gate: grant_out(&f, MODULE_GATE),
            card_type: f.card_type.map(|c| c.to_string()),
            certification_type: f.certification_type.to_string(),
            gender: f.gender.to_string(),
            status: f.status.to_string(),
            uuid: f.uuid,
            user_no: f.user_no,
            name: f.name,
            mobile: f.mobile,
            register_time: f.register_time,
            card_id: f.card_id,
            id_card: f.id_card,
            feature: f.feature,
            remark: f.remark,
        });
    }
    Ok(rows)
}

/// 10.47 input.
#[derive(Deserialize, JsonSchema)]
pub struct ValidateIn {
    #[serde(rename = "facePhoto")]
    pub photo: Picture,
}

/// 10.47: a JPEG, PNG or BMP between `MIN_BYTES` and 2 MiB; the answer is
/// the envelope's status (100001 naming `facePhoto` when not).
async fn validate(_ctx: Ctx, _req: Req, input: ValidateIn) -> ApiResult<Null> {
    pictures::check("facePhoto", &input.photo)?;
    Ok(Null)
}

/// 10.50 input.
#[derive(Deserialize, JsonSchema)]
pub struct DistributeIn {
    #[serde(rename = "uuId", alias = "uuid")]
    pub uuid: Text,
    #[serde(rename = "userNo")]
    pub user_no: Text,
    #[serde(rename = "moduleType")]
    pub module: Int,
}

/// 10.50: to the terminals of `moduleType` the user has rights for.
async fn distributed(ctx: Ctx, req: Req, input: DistributeIn) -> ApiResult<Null> {
    let b = req.branchno();
    let module = check_module("moduleType", input.module.get())?;
    let (mut f, v) = must_get(&ctx, b, &input.uuid, "uuId").await?;
    if f.user_no != input.user_no.as_str() {
        return Err(ApiError::field("userNo", format!("face user {} is user {}", f.uuid, f.user_no)));
    }
    if f.blacklisted {
        return Err(ApiError::failed(format!("face user {} is blacklisted (10.52 lifts it)", f.uuid)));
    }
    if !f.grants.iter().any(|g| g.module == module) {
        return Err(ApiError::failed(format!("face user {} has no rights on module {module}", f.uuid)));
    }
    let terms = acss_store::terminals(ctx.store(), b).await?;
    let targets: Vec<&FaceTerminal> = f.permitted(&terms).into_iter().filter(|t| t.module == module).collect();
    let job = run_job(&ctx, &req, &mut f, &targets, Op::Distribute).await?;
    save(&ctx, b, &f, Some(v)).await?;
    job_result(&job)?;
    Ok(Null)
}

/// 10.51 / 10.52 input.
#[derive(Deserialize, JsonSchema)]
pub struct BlacklistIn {
    #[serde(rename = "uuId", alias = "uuid")]
    pub uuid: Text,
}

/// 10.51: blacklisted, and removed from every terminal.
async fn add_blacklist(ctx: Ctx, req: Req, input: BlacklistIn) -> ApiResult<Null> {
    let b = req.branchno();
    let (mut f, v) = must_get(&ctx, b, &input.uuid, "uuId").await?;
    f.blacklisted = true;
    let (job, _) = remove(&ctx, &req, &mut f, v, true).await?;
    job_result(&job)?;
    Ok(Null)
}

/// 10.52: lifted, and sent back to the terminals it belongs on.
async fn remove_blacklist(ctx: Ctx, req: Req, input: BlacklistIn) -> ApiResult<Null> {
    let b = req.branchno();
    let (mut f, v) = must_get(&ctx, b, &input.uuid, "uuId").await?;
    f.blacklisted = false;
    let v = save(&ctx, b, &f, Some(v)).await?;
    let (job, _) = deliver(&ctx, &req, &mut f, v).await?;
    job_result(&job)?;
    Ok(Null)
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        kit::write("pub.face.add", add),
        kit::write("pub.face.delete", delete),
        kit::write("pub.face.update", update),
        kit::read("pub.face.get", query),
        kit::read("pub.face.validate", validate),
        kit::write("park.face.distributed", distributed),
        kit::write("park.face.add.blacklist", add_blacklist),
        kit::write("park.face.remove.blacklist", remove_blacklist),
    ]
}
