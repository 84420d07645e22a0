//! The route kit: how every route of the spec is written.
//!
//! # Adding a route
//!
//! A route is one async function with a typed input and a typed output, and one
//! line that names it. Take 6.32 `park.cartypes.get` as the model; adding a
//! route touches at most three files:
//!
//! 1. **The unit**, in the folder of its capability (`shared/app/src/<capability>/`):
//!
//!    ```ignore
//!    /// 6.87 input: the seed's field names, with aliases for its other spellings.
//!    #[derive(Deserialize, JsonSchema)]
//!    pub struct AddIn {
//!        #[serde(rename = "carTypeName")]
//!        pub name: Text,               // required: absent/""/null is 100001 naming it
//!        #[serde(rename = "freeMin")]
//!        pub free_min: Option<Int>,    // "5", 5, 5.0 all read as 5
//!    }
//!
//!    /// The seed's output names, exactly.
//!    #[derive(Serialize, JsonSchema)]
//!    pub struct AddOut {
//!        #[serde(rename = "carTypeId")]
//!        pub id: i64,
//!    }
//!
//!    async fn add(ctx: Ctx, req: Req, input: AddIn) -> ApiResult<AddOut> { ... }
//!
//!    pub fn routes() -> Vec<RouteDef> {
//!        vec![kit::write("park.cartype.add", add)]   // the name sits by its handler
//!    }
//!    ```
//! 2. **The capability's `register`** adds `routes()` to the registry (once per
//!    module, so usually already there).
//! 3. **`shared/app/src/pending.rs`** loses the route's name: a test fails when
//!    a route is neither built nor pending, or both.
//!
//! What the pipeline does for you, from the spec's metadata and the route's
//! declaration (`read` or `write`): authentication for the route's wire kind,
//! the actor rule (an on-site agent calls only `actor = site` routes), the body
//! limit, replay protection (a `write` remembers each accepted signed request
//! and answers its repeat with the first answer; a `read` writes nothing),
//! parsing into your input (100001 naming the field), paging (`Page`), the
//! envelope, and a contained panic. `onecard routes` prints route → handler,
//! `onecard openapi` the OpenAPI document made from your types.
//!
//! Two spellings of one field are `#[serde(rename = "seed", alias = "other")]`;
//! a client that sends both at once is refused ("given twice"), so where real
//! clients do that, declare two fields and pick. Do not `#[serde(flatten)]` an
//! input struct (serde then forgets which field failed): use `Both<A, B>`.
//!
//! Inputs are built from the types of this module: `Text`, `Int`, `Flag`,
//! `Money`, `DateTime` (2000..2099), `EndTime` (the `1970-01-01 00:00:00` "now"),
//! `TimeOfDay` (`1970-01-01 HH:mm:ss`), `Plate`, `List`, and the code enums
//! (`CredentialType`, `OrderStatus`, `SourceType`, `PayType`). Outputs are plain
//! `Serialize` structs with the seed's names (`#[serde(rename)]`; both
//! spellings where decision 17 says so), `Page<Row>` for lists, `Empty` for
//! `{}`, `Null` for `null`, `WithMessage` to set the envelope's message.

mod enums;
pub mod input;
mod plate;
mod scalars;

pub use enums::{CardKind, CredentialType, OrderStatus, PayType, SourceType};
pub use plate::{normalise as normalise_plate, Plate};
pub use scalars::{stamp, DateTime, Decimal, EndTime, Flag, Int, List, Money, Picture, Text, TimeOfDay};

use crate::codes::{ApiError, ApiResult};
use crate::ctx::Ctx;
use crate::request::{QueryFormat, Reply, Req};
use chrono::NaiveDateTime;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

pub type HandlerFuture = std::pin::Pin<Box<dyn Future<Output = ApiResult<Reply>> + Send>>;
/// The erased form every route takes inside the registry; `read` and `write`
/// make it from a typed function.
pub type Handler = Arc<dyn Fn(Ctx, Req) -> HandlerFuture + Send + Sync>;

/// Does a route change state? Decides replay handling (decision 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Answers from what is stored; a repeat is harmless and writes nothing.
    Read,
    /// Changes state; the same signed request is done once and answered alike.
    Write,
}

/// One built route: its name, what it does, its handler and the schemas of
/// its input and output. Made by `read` or `write`.
pub struct RouteDef {
    pub name: &'static str,
    pub effect: Effect,
    pub handler: Handler,
    /// The handler function's path (`onecard_app::park::cartype::add`): one hop
    /// from a route name to its code.
    pub source: &'static str,
    /// For the OpenAPI document only: a Lambda leaves them out, as a pointer
    /// kept here would link every route's schema code into the bootstrap.
    #[cfg(feature = "schemas")]
    pub input_schema: fn(&mut SchemaGenerator) -> Schema,
    #[cfg(feature = "schemas")]
    pub output_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Codes this route answers beyond the common ones (e.g. 9.14's 521).
    pub codes: &'static [(i64, &'static str)],
    /// For data-only routes: the partner's own JSON for a refusal.
    pub refusal: Option<fn(&ApiError) -> Value>,
}

impl RouteDef {
    pub fn codes(mut self, codes: &'static [(i64, &'static str)]) -> Self {
        self.codes = codes;
        self
    }
    pub fn refusal(mut self, f: fn(&ApiError) -> Value) -> Self {
        self.refusal = Some(f);
        self
    }
}

/// A route's function: `async fn(Ctx, Req, Input) -> ApiResult<Output>`.
pub trait RouteFn<I, O>: Fn(Ctx, Req, I) -> Self::Fut + Send + Sync + 'static {
    type Fut: Future<Output = ApiResult<O>> + Send + 'static;
}

impl<I, O, F, Fut> RouteFn<I, O> for F
where
    F: Fn(Ctx, Req, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<O>> + Send + 'static,
{
    type Fut = Fut;
}

/// A route that only reads.
pub fn read<I: Input, O: Output>(name: &'static str, f: impl RouteFn<I, O>) -> RouteDef {
    def(name, Effect::Read, f)
}

/// A route that changes state.
pub fn write<I: Input, O: Output>(name: &'static str, f: impl RouteFn<I, O>) -> RouteDef {
    def(name, Effect::Write, f)
}

/// What a route's input must be: parsed from `data`, described in OpenAPI.
pub trait Input: DeserializeOwned + JsonSchema + Send + 'static {}
impl<T: DeserializeOwned + JsonSchema + Send + 'static> Input for T {}

/// What a route's output must be: answered, described in OpenAPI.
pub trait Output: Respond + JsonSchema {}
impl<T: Respond + JsonSchema> Output for T {}

fn def<I: Input, O: Output, F: RouteFn<I, O>>(name: &'static str, effect: Effect, f: F) -> RouteDef {
    let f = Arc::new(f);
    let handler: Handler = Arc::new(move |ctx: Ctx, mut req: Req| -> HandlerFuture {
        let f = f.clone();
        Box::pin(async move {
            let input: I = input::parse(req.take_data())?;
            f(ctx, req, input).await?.into_reply()
        })
    });
    RouteDef {
        name,
        effect,
        handler,
        source: std::any::type_name::<F>(),
        #[cfg(feature = "schemas")]
        input_schema: |g| g.subschema_for::<I>(),
        #[cfg(feature = "schemas")]
        output_schema: |g| g.subschema_for::<O>(),
        codes: &[],
        refusal: None,
    }
}

/// What a handler's output becomes: the envelope's `data` (and paging and
/// message). Every `Serialize` type is answered as itself.
pub trait Respond: Send + 'static {
    fn into_reply(self) -> ApiResult<Reply>;
}

impl<T: Serialize + Send + 'static> Respond for T {
    fn into_reply(self) -> ApiResult<Reply> {
        Ok(Reply::data(to_value(&self)?))
    }
}

fn to_value<T: Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::system)
}

/// `data: {}`, the seed's answer when there is nothing to say; as an input,
/// a route that reads no field.
#[derive(Clone, Copy, Debug, Default, Serialize, serde::Deserialize, JsonSchema)]
pub struct Empty {}

/// `data: null`, for writes whose section prints no output.
#[derive(Clone, Copy, Debug, Default, Serialize, JsonSchema)]
pub struct Null;

/// An output with the envelope's `message` set (e.g. "entry already recorded").
pub struct WithMessage<T> {
    pub data: T,
    pub message: String,
}

impl<T> WithMessage<T> {
    /// A message on some outcomes only; `None` leaves the envelope's default.
    pub fn optional(data: T, message: Option<String>) -> Self {
        WithMessage { data, message: message.unwrap_or_default() }
    }
}

impl<T: Serialize + Send + 'static> Respond for WithMessage<T> {
    fn into_reply(self) -> ApiResult<Reply> {
        let r = Reply::data(to_value(&self.data)?);
        Ok(if self.message.is_empty() { r } else { r.with_message(self.message) })
    }
}

/// Two inputs read from the same `data`: e.g. a key (`carTypeId`) and the
/// fields shared with the add route. Use this rather than `#[serde(flatten)]`,
/// which makes serde forget which field failed (the 100001 would not name it).
#[derive(Debug)]
pub struct Both<A, B>(pub A, pub B);

impl<'de, A: DeserializeOwned, B: DeserializeOwned> serde::Deserialize<'de> for Both<A, B> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let a = input::parse(v.clone()).map_err(|e| serde::de::Error::custom(e.message))?;
        let b = input::parse(v).map_err(|e| serde::de::Error::custom(e.message))?;
        Ok(Both(a, b))
    }
}

impl<A: JsonSchema, B: JsonSchema> JsonSchema for Both<A, B> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}_and_{}", A::schema_name(), B::schema_name()))
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let (a, b) = (g.subschema_for::<A>(), g.subschema_for::<B>());
        json_schema!({"allOf": [a, b]})
    }
}

impl<T: JsonSchema> JsonSchema for WithMessage<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
}

/// Lists answer at most this many rows a page (decision 12), with the true total.
pub const PAGE_CAP: usize = 1000;

/// One page of a list (decision 8): answered as the array of rows, with the
/// envelope's `rowindex` and `total`. Made by `Page::of` or `Req::page`.
pub struct Page<R> {
    pub rows: Vec<R>,
    pub rowindex: usize,
    pub total: usize,
}

impl<R> Page<R> {
    /// The page `query` asks for (the first `PAGE_CAP` rows without one).
    pub fn of(query: Option<QueryFormat>, all: Vec<R>) -> Page<R> {
        let q = query.unwrap_or(QueryFormat { rowindex: 0, pagesize: None });
        let total = all.len();
        let size = q.pagesize.unwrap_or(PAGE_CAP).min(PAGE_CAP);
        let rows = all.into_iter().skip(q.rowindex).take(size).collect();
        Page { rows, rowindex: q.rowindex, total }
    }
}

impl<R: Serialize + Send + 'static> Respond for Page<R> {
    fn into_reply(self) -> ApiResult<Reply> {
        Ok(Reply { data: to_value(&self.rows)?, page: Some((self.rowindex, self.total)), message: None })
    }
}

impl<R: JsonSchema> JsonSchema for Page<R> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("Page_of_{}", R::schema_name()))
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let item = g.subschema_for::<R>();
        json_schema!({"type": "array", "items": item, "description": "one page; the envelope carries rowindex and total"})
    }
}

/// A list query's time window may span at most this many days (decision 12).
pub const MAX_WINDOW_DAYS: i64 = 366;

/// Refuses a window whose end is before its start or that is longer than
/// `MAX_WINDOW_DAYS`, naming the end field, before any work is done.
pub fn check_window(start: NaiveDateTime, end: NaiveDateTime, end_field: &str) -> ApiResult<()> {
    if end < start {
        return Err(ApiError::field(end_field, "is before the start of the window"));
    }
    if (end - start).num_days() > MAX_WINDOW_DAYS {
        return Err(ApiError::field(end_field, format!("the window is longer than {MAX_WINDOW_DAYS} days")));
    }
    Ok(())
}

/// `check_window` when both ends are given; an open end has always meant
/// "no bound" in the seed's list queries.
pub fn check_open_window(start: Option<NaiveDateTime>, end: Option<NaiveDateTime>, end_field: &str) -> ApiResult<()> {
    match (start, end) {
        (Some(s), Some(e)) => check_window(s, e, end_field),
        _ => Ok(()),
    }
}

/// The schema of "any JSON", for routes not built yet.
pub fn any_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"description": "not built yet: the route answers 501"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_capped_and_keep_the_true_total() {
        let all: Vec<u32> = (0..1500).collect();
        let p = Page::of(Some(QueryFormat { rowindex: 0, pagesize: Some(1_000_000) }), all.clone());
        assert_eq!((p.rows.len(), p.total), (PAGE_CAP, 1500));
        let p = Page::of(None, all.clone());
        assert_eq!((p.rows.len(), p.total, p.rowindex), (PAGE_CAP, 1500, 0));
        let p = Page::of(Some(QueryFormat { rowindex: 1490, pagesize: Some(20) }), all);
        assert_eq!(p.rows, (1490..1500).collect::<Vec<_>>());
    }

    #[test]
    fn windows_longer_than_a_year_are_refused() {
        let t = |s: &str| crate::time::parse(s).unwrap();
        assert!(check_window(t("2026-01-01"), t("2026-12-31"), "endtime").is_ok());
        let e = check_window(t("2025-01-01"), t("2026-12-31"), "endtime").unwrap_err();
        assert!(e.message.contains("'endtime'"), "{}", e.message);
        assert!(check_window(t("2026-02-01"), t("2026-01-01"), "endtime").is_err());
    }
}
