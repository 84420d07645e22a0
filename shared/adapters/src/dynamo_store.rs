//! The DynamoDB item store. One table, string keys `pk`/`sk`; attributes
//! `v` (version), `ttl` (DynamoDB TTL attribute) and `d` (the JSON body as text,
//! so bodies round-trip exactly and the table stays readable in the console).

use crate::cursor;
use crate::throttle;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, KeySchemaElement, KeysAndAttributes,
    KeyType, Put, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use onecard_core::store::{
    now_unix, validate_transaction, Cond, Item, ItemStore, Page, Query, SkRange, StoreError,
    StoreResult, Write,
};
use std::collections::HashMap;
use std::time::Duration;

type Attrs = HashMap<String, AttributeValue>;

/// DynamoDB's BatchGetItem takes at most this many keys.
const BATCH_GET_MAX: usize = 100;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    /// A client from the default AWS configuration chain; `endpoint_url` points
    /// it at DynamoDB Local instead of AWS.
    pub async fn from_env(table: &str, endpoint_url: Option<&str>) -> Self {
        let conf = crate::sdk_config::load().await;
        let mut b = aws_sdk_dynamodb::config::Builder::from(&conf);
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        DynamoStore::new(Client::from_conf(b.build()), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Opens the connection (TLS, credentials) during a Lambda's init phase,
    /// which is not billed against the first request's latency.
    /// A GetItem of a key that is never written: it proves the table and the
    /// credentials like a DescribeTable would, and links no decoder of
    /// DescribeTable's large answer into the bootstraps.
    pub async fn warm(&self) -> StoreResult<()> {
        self.get_once("warm", "warm").await.map(|_| ())
    }

    /// Creates the table if it is missing and waits until it is usable.
    pub async fn create_table(&self) -> StoreResult<()> {
        let key = |name: &str, kt: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kt).build().map_err(invalid)
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)
        };
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .send()
            .await;
        match res {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => {}
            Err(e) => return Err(backend(e)),
        }
        self.wait_active().await?;
        let spec = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(invalid)?;
        // Reads filter expired items anyway, so TTL only saves space: an emulator
        // without it, or a table where it is already on, is fine.
        if let Err(e) = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            tracing::debug!(table = %self.table, error = %DisplayErrorContext(&e), "TTL not enabled");
        }
        Ok(())
    }

    async fn wait_active(&self) -> StoreResult<()> {
        for _ in 0..240 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(backend)?;
            if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Backend(format!("table {} did not become active", self.table)))
    }

    fn key(pk: &str, sk: &str) -> Attrs {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk.to_string())),
            ("sk".to_string(), AttributeValue::S(sk.to_string())),
        ])
    }
}

/// A conditional single-item write's outcome: its failed condition is the
/// port's `ConditionFailed`, anything else a backend error.
fn conditional<T, E, R>(res: Result<T, SdkError<E, R>>, is_condition: fn(&E) -> bool) -> StoreResult<()>
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if is_condition(e.err()) => Err(StoreError::ConditionFailed),
        Err(e) => Err(backend(e)),
    }
}

/// Throttling is its own kind (retried with backoff, never a conflict);
/// anything else a backend error.
fn backend<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let text = DisplayErrorContext(&e).to_string();
    match e.code() {
        Some(code) if throttle::is_dynamo_throttling(code) => StoreError::Throttled(text),
        _ => StoreError::Backend(text),
    }
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// A condition expression with its placeholders. DynamoDB rejects placeholders
/// an expression does not use, so each condition carries only its own.
struct Condition {
    expr: &'static str,
    names: HashMap<String, String>,
    values: Option<Attrs>,
}

/// Expired items count as absent, as they do for reads: DynamoDB deletes them
/// lazily, and a lease written with a TTL must be retakable once it lapses.
fn condition(cond: &Cond, now: i64) -> Option<Condition> {
    let names = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()
    };
    let now_v = (":now".to_string(), AttributeValue::N(now.to_string()));
    Some(match cond {
        Cond::None => return None,
        Cond::MustNotExist => Condition {
            expr: "attribute_not_exists(#pk) OR #ttl < :now",
            names: names(&[("#pk", "pk"), ("#ttl", "ttl")]),
            values: Some(HashMap::from([now_v])),
        },
        Cond::MustExist => Condition {
            expr: "attribute_exists(#pk) AND (attribute_not_exists(#ttl) OR #ttl >= :now)",
            names: names(&[("#pk", "pk"), ("#ttl", "ttl")]),
            values: Some(HashMap::from([now_v])),
        },
        Cond::VersionIs(v) => Condition {
            expr: "#v = :v AND (attribute_not_exists(#ttl) OR #ttl >= :now)",
            names: names(&[("#v", "v"), ("#ttl", "ttl")]),
            values: Some(HashMap::from([
                (":v".to_string(), AttributeValue::N(v.to_string())),
                now_v,
            ])),
        },
    })
}

/// ConditionCheck requires an expression even when the caller sets none.
fn always() -> Condition {
    Condition {
        expr: "attribute_exists(#pk) OR attribute_not_exists(#pk)",
        names: HashMap::from([("#pk".to_string(), "pk".to_string())]),
        values: None,
    }
}

fn to_attrs(item: &Item) -> StoreResult<Attrs> {
    let body = serde_json::to_string(&item.body).map_err(invalid)?;
    let mut a = DynamoStore::key(&item.pk, &item.sk);
    a.insert("v".into(), AttributeValue::N(item.version.to_string()));
    if let Some(t) = item.ttl {
        a.insert("ttl".into(), AttributeValue::N(t.to_string()));
    }
    a.insert("d".into(), AttributeValue::S(body));
    Ok(a)
}

fn from_attrs(a: &Attrs) -> StoreResult<Item> {
    let s = |k: &str| match a.get(k) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    };
    let n = |k: &str| match a.get(k) {
        Some(AttributeValue::N(n)) => Some(n.as_str()),
        _ => None,
    };
    let (pk, sk) = (s("pk").unwrap_or_default(), s("sk").unwrap_or_default());
    let corrupt = |what: &str| StoreError::Corrupt(format!("{pk}/{sk}: {what}"));
    let version = n("v").and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| corrupt("bad version"))?;
    let ttl = match a.get("ttl") {
        None => None,
        Some(_) => Some(n("ttl").and_then(|t| t.parse::<i64>().ok()).ok_or_else(|| corrupt("bad ttl"))?),
    };
    let body = serde_json::from_str(s("d").ok_or_else(|| corrupt("no body"))?)
        .map_err(|e| corrupt(&e.to_string()))?;
    Ok(Item { pk: pk.to_string(), sk: sk.to_string(), version, ttl, body })
}

fn live(item: &Item, now: i64) -> bool {
    item.ttl.is_none_or(|t| t >= now)
}

fn transact_item(w: &Write, table: &str, now: i64) -> StoreResult<TransactWriteItem> {
    let b = TransactWriteItem::builder();
    Ok(match w {
        Write::Put { item, cond } => {
            let c = condition(cond, now);
            b.put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(to_attrs(item)?))
                    .set_condition_expression(c.as_ref().map(|c| c.expr.to_string()))
                    .set_expression_attribute_names(c.as_ref().map(|c| c.names.clone()))
                    .set_expression_attribute_values(c.and_then(|c| c.values))
                    .build()
                    .map_err(invalid)?,
            )
        }
        Write::Delete { pk, sk, cond } => {
            let c = condition(cond, now);
            b.delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(DynamoStore::key(pk, sk)))
                    .set_condition_expression(c.as_ref().map(|c| c.expr.to_string()))
                    .set_expression_attribute_names(c.as_ref().map(|c| c.names.clone()))
                    .set_expression_attribute_values(c.and_then(|c| c.values))
                    .build()
                    .map_err(invalid)?,
            )
        }
        Write::Check { pk, sk, cond } => {
            let c = condition(cond, now).unwrap_or_else(always);
            b.condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(DynamoStore::key(pk, sk)))
                    .condition_expression(c.expr)
                    .set_expression_attribute_names(Some(c.names))
                    .set_expression_attribute_values(c.values)
                    .build()
                    .map_err(invalid)?,
            )
        }
    }
    .build())
}

/// One try of each call; the port's methods below retry throttling.
impl DynamoStore {
    async fn get_once(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        match out.item() {
            Some(a) => Ok(Some(from_attrs(a)?).filter(|i| live(i, now_unix()))),
            None => Ok(None),
        }
    }

    async fn put_once(&self, item: &Item, cond: &Cond) -> StoreResult<()> {
        let c = condition(cond, now_unix());
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .set_condition_expression(c.as_ref().map(|c| c.expr.to_string()))
            .set_expression_attribute_names(c.as_ref().map(|c| c.names.clone()))
            .set_expression_attribute_values(c.and_then(|c| c.values))
            .send()
            .await;
        conditional(res, |e| e.is_conditional_check_failed_exception())
    }

    async fn delete_once(&self, pk: &str, sk: &str, cond: &Cond) -> StoreResult<()> {
        let c = condition(cond, now_unix());
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .set_condition_expression(c.as_ref().map(|c| c.expr.to_string()))
            .set_expression_attribute_names(c.as_ref().map(|c| c.names.clone()))
            .set_expression_attribute_values(c.and_then(|c| c.values))
            .send()
            .await;
        conditional(res, |e| e.is_conditional_check_failed_exception())
    }

    async fn query_once(&self, q: &Query) -> StoreResult<Page> {
        if q.limit == Some(0) {
            return Err(StoreError::Invalid("query limit must be positive".into()));
        }
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(q.pk.clone()))]);
        let mut names = HashMap::from([("#pk".to_string(), "pk".to_string())]);
        let expr = match &q.range {
            // DynamoDB refuses an empty begins_with operand; every key matches it anyway.
            SkRange::All => "#pk = :pk",
            SkRange::Prefix(p) if p.is_empty() => "#pk = :pk",
            SkRange::Prefix(p) => {
                values.insert(":p".into(), AttributeValue::S(p.clone()));
                "#pk = :pk AND begins_with(#sk, :p)"
            }
            // DynamoDB refuses an inverted BETWEEN; it matches nothing.
            SkRange::Between(lo, hi) if lo > hi => return Ok(Page::default()),
            SkRange::Between(lo, hi) => {
                values.insert(":lo".into(), AttributeValue::S(lo.clone()));
                values.insert(":hi".into(), AttributeValue::S(hi.clone()));
                "#pk = :pk AND #sk BETWEEN :lo AND :hi"
            }
        };
        if expr.contains("#sk") {
            names.insert("#sk".into(), "sk".into());
        }
        let start = match &q.cursor {
            Some(c) => Some(Self::key(&q.pk, &cursor::decode(c)?)),
            None => None,
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression(expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(q.forward)
            .set_limit(q.limit.map(|n| n.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(backend)?;
        let now = now_unix();
        let mut items = Vec::new();
        for a in out.items() {
            let item = from_attrs(a)?;
            if live(&item, now) {
                items.push(item);
            }
        }
        let cursor = match out.last_evaluated_key().and_then(|k| k.get("sk")) {
            Some(AttributeValue::S(sk)) => Some(cursor::encode(sk)),
            _ => None,
        };
        Ok(Page { items, cursor })
    }

    async fn transact_once(&self, writes: &[Write]) -> StoreResult<()> {
        validate_transaction(writes)?;
        let now = now_unix();
        let items = writes
            .iter()
            .map(|w| transact_item(w, &self.table, now))
            .collect::<StoreResult<Vec<_>>>()?;
        let res = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match res {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(t)
                    if throttle::is_throttled_cancellation(t.cancellation_reasons().iter().map(|r| r.code())) =>
                {
                    Err(StoreError::Throttled(format!("transaction cancelled: {:?}", t.cancellation_reasons().iter().map(|r| r.code()).collect::<Vec<_>>())))
                }
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    // Other reasons (a concurrent transaction on the same item)
                    // are conflicts too, but name no failed condition.
                    let index = t
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"));
                    Err(StoreError::TransactionCancelled { index })
                }
                _ => Err(backend(SdkError::ServiceError(e))),
            },
            Err(e) => Err(backend(e)),
        }
    }
}

/// Throttled calls are tried again with jittered backoff (`throttle`) before
/// `StoreError::Throttled` reaches the caller, who answers it as 100002.
#[async_trait]
impl ItemStore for DynamoStore {
    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        throttle::with_backoff(|| self.get_once(pk, sk), StoreError::is_throttled).await
    }

    async fn put(&self, item: Item, cond: Cond) -> StoreResult<()> {
        throttle::with_backoff(|| self.put_once(&item, &cond), StoreError::is_throttled).await
    }

    async fn delete(&self, pk: &str, sk: &str, cond: Cond) -> StoreResult<()> {
        throttle::with_backoff(|| self.delete_once(pk, sk, &cond), StoreError::is_throttled).await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        throttle::with_backoff(|| self.query_once(q), StoreError::is_throttled).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        throttle::with_backoff(|| self.transact_once(&writes), StoreError::is_throttled).await
    }

    /// BatchGetItem, 100 keys a call (DynamoDB's limit), strongly consistent
    /// like `get`; keys DynamoDB leaves unprocessed (throttling) are asked
    /// again after a short back-off.
    async fn get_many(&self, keys: &[(String, String)]) -> StoreResult<Vec<Option<Item>>> {
        let mut found: HashMap<(String, String), Item> = HashMap::with_capacity(keys.len());
        let mut unique: Vec<&(String, String)> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let now = now_unix();
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let mut pending: Vec<Attrs> = chunk.iter().map(|(pk, sk)| Self::key(pk, sk)).collect();
            let mut backoff = Duration::from_millis(20);
            for attempt in 0.. {
                let ka = KeysAndAttributes::builder().set_keys(Some(pending)).consistent_read(true).build().map_err(invalid)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .send()
                    .await
                    .map_err(backend)?;
                for a in out.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    let item = from_attrs(a)?;
                    if live(&item, now) {
                        found.insert((item.pk.clone(), item.sk.clone()), item);
                    }
                }
                pending = out.unprocessed_keys().and_then(|u| u.get(&self.table)).map(|k| k.keys().to_vec()).unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt >= 8 {
                    return Err(StoreError::Backend(format!("{} keys still unprocessed after {attempt} batch gets", pending.len())));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;

    fn service_error(code: &str) -> SdkError<PutItemError, ()> {
        SdkError::service_error(PutItemError::generic(ErrorMetadata::builder().code(code).message("m").build()), ())
    }

    #[test]
    fn throttling_maps_to_its_own_kind_not_a_conflict() {
        for code in ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"] {
            let e = backend(service_error(code));
            assert!(e.is_throttled() && !e.is_conflict(), "{code}: {e:?}");
            let c = conditional(Err::<(), _>(service_error(code)), |e| e.is_conditional_check_failed_exception());
            assert!(c.unwrap_err().is_throttled(), "{code}");
        }
        assert!(matches!(backend(service_error("ValidationException")), StoreError::Backend(_)));
    }
}
