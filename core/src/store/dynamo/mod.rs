//! The DynamoDB backend: a direct translation of the [`Store`] trait onto
//! aws-sdk-dynamodb requests.
//!
//! The SDK's own retries are off: the `Retrying` wrapper above us backs off
//! with jitter, and the fault-injection wrapper between must see every
//! attempt. Only partial batch results (unprocessed keys and items) are
//! retried here, because no wrapper can see them.

mod admin;
mod convert;
mod errors;
mod expr;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{
    BillingMode, ConditionCheck, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest,
    TableStatus, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use tokio::task::JoinSet;

use self::admin::{class_of, is_active, schema_state};
use self::convert::{item_av, item_from, key_av, key_from};
use self::errors::{build_err, Ctx};
use self::expr::{effective_start, key_condition, Expr};
use super::error::{StoreError, StoreResult};
use super::types::*;
use super::Store;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Batch requests of one call in flight at once.
const PARALLEL_CHUNKS: usize = 16;

/// Where the tables live. `region`, `endpoint` and `profile` fall back to
/// the standard AWS configuration chain (environment, profile files).
#[derive(Clone, Debug)]
pub struct DynamoConfig {
    pub region: Option<String>,
    pub table: String,
    pub endpoint: Option<String>,
    pub profile: Option<String>,
}

#[derive(Clone)]
pub struct DynamoStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    region: String,
    /// Endpoint as shown in messages.
    endpoint: String,
    meta: String,
    blocks: String,
}

type ClientKey = (Option<String>, Option<String>, Option<String>);

/// One SDK client (connection pool, credential cache) per process and
/// settings: every mount, wrapper and background task shares it.
static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, (Client, String)>>> = OnceLock::new();

impl DynamoStore {
    pub async fn connect(cfg: &DynamoConfig) -> StoreResult<DynamoStore> {
        check_table_name(&cfg.table)?;
        let (client, region) = shared_client(cfg).await?;
        let endpoint = cfg
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        Ok(DynamoStore {
            inner: Arc::new(Inner {
                client,
                region,
                endpoint,
                meta: cfg.table.clone(),
                blocks: format!("{}Blocks", cfg.table),
            }),
        })
    }

    fn name(&self, t: Table) -> &str {
        match t {
            Table::Meta => &self.inner.meta,
            Table::Blocks => &self.inner.blocks,
        }
    }

    fn client(&self) -> &Client {
        &self.inner.client
    }
}

fn check_table_name(t: &str) -> StoreResult<()> {
    let ok_chars = t
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    // 255 minus the "Blocks" suffix of the second table.
    if (3..=249).contains(&t.len()) && ok_chars {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "table name {t:?} must be 3 to 249 characters of A-Z a-z 0-9 _ - ."
        )))
    }
}

async fn shared_client(cfg: &DynamoConfig) -> StoreResult<(Client, String)> {
    let key = (
        cfg.region.clone(),
        cfg.endpoint.clone(),
        cfg.profile.clone(),
    );
    let cache = CLIENTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts);
    if let Some(r) = &cfg.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &cfg.profile {
        loader = loader.profile_name(p);
    }
    // Without an explicit endpoint, aws-config and the client resolve
    // AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL and the profile's
    // endpoint_url themselves (checked against moto).
    if let Some(e) = &cfg.endpoint {
        loader = loader.endpoint_url(e);
    }
    let sdk = loader.load().await;
    let region = match sdk.region() {
        Some(r) => r.to_string(),
        None => {
            return Err(StoreError::Invalid(
                "no AWS region: pass one in the source (aws:REGION/TABLE) or set AWS_REGION".into(),
            ))
        }
    };
    let client = Client::new(&sdk);
    let mut map = cache
        .lock()
        .map_err(|_| StoreError::Other("DynamoDB client cache poisoned".into()))?;
    // A concurrent connect may have won the race; keep its client.
    Ok(map.entry(key).or_insert((client, region)).clone())
}

/// Backoff for unprocessed batch items: jittered, exponential, bounded.
struct Backoff {
    tries: u32,
}

impl Backoff {
    const MAX_TRIES: u32 = 10;

    async fn wait(&mut self, what: &str) -> StoreResult<()> {
        if self.tries >= Self::MAX_TRIES {
            return Err(StoreError::Throttled(format!(
                "{what} still unprocessed after {} retries",
                Self::MAX_TRIES
            )));
        }
        let cap = (20u64 << self.tries.min(10)).min(2000);
        self.tries += 1;
        let ms = cap / 2 + rand::random::<u64>() % (cap / 2 + 1);
        tracing::debug!(what, ms, "retrying unprocessed batch items");
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}

fn join_err(e: tokio::task::JoinError) -> StoreError {
    StoreError::Other(format!("batch request task failed: {e}"))
}

fn page_limit(limit: usize, what: &str) -> StoreResult<i32> {
    if limit == 0 {
        return Err(StoreError::Invalid(format!(
            "{what} with a limit of 0 items"
        )));
    }
    Ok(i32::try_from(limit).unwrap_or(i32::MAX))
}

// ----------------------------------------------------------------- the store

/// Sets a request's condition and the placeholders of its expressions.
macro_rules! exprs {
    ($req:expr, $x:expr, $cond:expr) => {
        $req.set_condition_expression($cond)
            .set_expression_attribute_names($x.names())
            .set_expression_attribute_values($x.values())
    };
}

/// Runs one task per chunk, at most [`PARALLEL_CHUNKS`] at once; the first
/// error wins and drops (aborts) the rest.
async fn run_chunks<T, R, Fut>(chunks: Vec<T>, f: impl Fn(T) -> Fut) -> StoreResult<Vec<R>>
where
    Fut: std::future::Future<Output = StoreResult<R>> + Send + 'static,
    R: Send + 'static,
{
    let mut chunks = chunks.into_iter();
    let mut tasks = JoinSet::new();
    let mut out = Vec::new();
    loop {
        while tasks.len() < PARALLEL_CHUNKS {
            let Some(chunk) = chunks.next() else { break };
            tasks.spawn(f(chunk));
        }
        match tasks.join_next().await {
            None => return Ok(out),
            Some(done) => out.push(done.map_err(join_err)??),
        }
    }
}

impl DynamoStore {
    fn write_parts(&self, w: &Write) -> StoreResult<(Expr, Option<String>, Option<String>)> {
        let mut x = Expr::default();
        let update = match w {
            Write::Update { key, changes, .. } => Some(x.update(key, changes)?),
            _ => None,
        };
        let cond = w.cond().map(|c| x.cond(c));
        Ok((x, update, cond))
    }

    fn tx_item(&self, w: &Write) -> StoreResult<TransactWriteItem> {
        let table = self.name(w.table());
        let (mut x, update, cond) = self.write_parts(w)?;
        let item = TransactWriteItem::builder();
        Ok(match w {
            Write::Put { key, attrs, .. } => {
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(item_av(key, attrs)?));
                item.put(exprs!(put, x, cond).build().map_err(build_err)?)
            }
            Write::Update { key, .. } => {
                let up = Update::builder()
                    .table_name(table)
                    .set_key(Some(key_av(key)));
                let up = exprs!(up.set_update_expression(update), x, cond);
                item.update(up.build().map_err(build_err)?)
            }
            Write::Delete { key, .. } => {
                let del = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key_av(key)));
                item.delete(exprs!(del, x, cond).build().map_err(build_err)?)
            }
            Write::Check { key, .. } => {
                let ck = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key_av(key)));
                item.condition_check(exprs!(ck, x, cond).build().map_err(build_err)?)
            }
        }
        .build())
    }

    async fn get_chunk(
        &self,
        table: Table,
        keys: Vec<Key>,
        consistent: bool,
    ) -> StoreResult<Vec<Item>> {
        let name = self.name(table);
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(key_av).collect()))
            .consistent_read(consistent)
            .build()
            .map_err(build_err)?;
        let mut found = Vec::with_capacity(keys.len());
        let mut backoff = Backoff { tries: 0 };
        loop {
            let out = self
                .client()
                .batch_get_item()
                .request_items(name, pending)
                .send()
                .await
                .map_err(|e| self.map_err(e, Ctx::new("BatchGetItem", name)))?;
            for m in out
                .responses
                .and_then(|mut r| r.remove(name))
                .unwrap_or_default()
            {
                found.push(item_from(m)?);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(name)) {
                Some(rest) if !rest.keys().is_empty() => {
                    backoff.wait("BatchGetItem keys").await?;
                    pending = rest;
                }
                _ => return Ok(found),
            }
        }
    }

    async fn write_chunk(&self, table: Table, reqs: Vec<WriteRequest>) -> StoreResult<()> {
        let name = self.name(table);
        let mut pending = reqs;
        let mut backoff = Backoff { tries: 0 };
        loop {
            let out = self
                .client()
                .batch_write_item()
                .request_items(name, pending)
                .send()
                .await
                .map_err(|e| self.map_err(e, Ctx::new("BatchWriteItem", name)))?;
            match out.unprocessed_items.and_then(|mut u| u.remove(name)) {
                Some(rest) if !rest.is_empty() => {
                    backoff.wait("BatchWriteItem items").await?;
                    pending = rest;
                }
                _ => return Ok(()),
            }
        }
    }
}

fn batch_request(w: &BatchWrite) -> StoreResult<WriteRequest> {
    let req = WriteRequest::builder();
    Ok(match w {
        BatchWrite::Put { key, attrs } => {
            let put = PutRequest::builder().set_item(Some(item_av(key, attrs)?));
            req.put_request(put.build().map_err(build_err)?).build()
        }
        BatchWrite::Delete { key } => {
            let del = DeleteRequest::builder().set_key(Some(key_av(key)));
            req.delete_request(del.build().map_err(build_err)?).build()
        }
    })
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        let name = self.name(table);
        let out = self
            .client()
            .get_item()
            .table_name(name)
            .set_key(Some(key_av(key)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| self.map_err(e, Ctx::new("GetItem", name).key(key, 0)))?;
        out.item.map(item_from).transpose()
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        // DynamoDB refuses duplicate keys in one request.
        let mut seen = HashSet::new();
        let uniq: Vec<&Key> = keys.iter().filter(|k| seen.insert(*k)).collect();
        let chunks = uniq
            .chunks(MAX_BATCH_GET)
            .map(|c| c.iter().map(|&k| k.clone()).collect());
        let done = run_chunks(chunks.collect(), |chunk: Vec<Key>| {
            let me = self.clone();
            async move { me.get_chunk(table, chunk, consistent).await }
        })
        .await?;
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(uniq.len());
        for item in done.into_iter().flatten() {
            found.insert(item.key.clone(), item);
        }
        let dups = uniq.len() < keys.len();
        Ok(keys
            .iter()
            .map(|k| {
                if dups {
                    found.get(k).cloned()
                } else {
                    found.remove(k)
                }
            })
            .collect())
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let name = self.name(q.table);
        let limit = q.limit.map(|n| page_limit(n, "query")).transpose()?;
        let mut x = Expr::default();
        let (Some(kc), Ok(mut start)) = (
            key_condition(&mut x, &q.p, &q.range),
            effective_start(&q.range, q.start_after.as_deref()),
        ) else {
            return Ok(Page::default());
        };
        let (names, values) = (x.names(), x.values());
        let mut items = Vec::new();
        loop {
            let out = self
                .client()
                .query()
                .table_name(name)
                .key_condition_expression(&kc)
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .consistent_read(q.consistent)
                .set_limit(limit)
                .set_exclusive_start_key(start.map(|s| key_av(&Key::new(q.p.clone(), s))))
                .send()
                .await
                .map_err(|e| self.map_err(e, Ctx::new("Query", name)))?;
            for m in out.items.unwrap_or_default() {
                items.push(item_from(m)?);
            }
            let next = out
                .last_evaluated_key
                .map(|k| key_from(&k))
                .transpose()?
                .map(|k| k.s);
            if limit.is_some() || next.is_none() {
                return Ok(Page { items, next });
            }
            start = next;
        }
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        let name = self.name(w.table());
        let (mut x, update, cond) = self.write_parts(w)?;
        let c = self.client();
        match w {
            Write::Put { key, attrs, .. } => {
                let req = c
                    .put_item()
                    .table_name(name)
                    .set_item(Some(item_av(key, attrs)?));
                let ctx = Ctx::new("PutItem", name).key(key, item_size(key, attrs));
                exprs!(req, x, cond)
                    .send()
                    .await
                    .map_err(|e| self.map_err(e, ctx))?;
            }
            Write::Update { key, .. } => {
                let req = c.update_item().table_name(name).set_key(Some(key_av(key)));
                let req = exprs!(req.set_update_expression(update), x, cond);
                let ctx = Ctx::new("UpdateItem", name).key(key, 0);
                req.send().await.map_err(|e| self.map_err(e, ctx))?;
            }
            Write::Delete { key, .. } => {
                let req = c.delete_item().table_name(name).set_key(Some(key_av(key)));
                let ctx = Ctx::new("DeleteItem", name).key(key, 0);
                exprs!(req, x, cond)
                    .send()
                    .await
                    .map_err(|e| self.map_err(e, ctx))?;
            }
            Write::Check { key, .. } => {
                return Err(StoreError::Invalid(format!(
                    "a condition check on {key} is only allowed inside a transaction"
                )))
            }
        }
        Ok(())
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Invalid(format!(
                "transaction of {} writes, over the limit of {MAX_TRANSACTION_ITEMS}",
                writes.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(w) = writes.iter().find(|w| !seen.insert((w.table(), w.key()))) {
            return Err(StoreError::Invalid(format!(
                "transaction writes item {} twice",
                w.key()
            )));
        }
        let items = writes
            .iter()
            .map(|w| self.tx_item(w))
            .collect::<StoreResult<Vec<_>>>()?;
        self.client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(&token.0)
            .send()
            .await
            .map_err(|e| self.map_transact_err(e, writes))?;
        Ok(())
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        // Chunks run concurrently and DynamoDB refuses duplicate keys in one
        // request, so only the last write of each key is sent: the result
        // is what applying them in order would leave.
        let mut last: HashMap<&Key, usize> = HashMap::new();
        for (i, w) in writes.iter().enumerate() {
            last.insert(w.key(), i);
        }
        let mut reqs = Vec::with_capacity(last.len());
        for (i, w) in writes.iter().enumerate() {
            if last.get(w.key()) == Some(&i) {
                reqs.push(batch_request(w)?);
            }
        }
        let chunks = reqs.chunks(MAX_BATCH_WRITE).map(<[_]>::to_vec).collect();
        run_chunks(chunks, |chunk| {
            let me = self.clone();
            async move { me.write_chunk(table, chunk).await }
        })
        .await?;
        Ok(())
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        let name = self.name(table);
        let out = self
            .client()
            .scan()
            .table_name(name)
            .limit(page_limit(limit, "scan")?)
            .consistent_read(true)
            .set_exclusive_start_key(start_after.map(key_av))
            .send()
            .await
            .map_err(|e| self.map_err(e, Ctx::new("Scan", name)))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(item_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = out.last_evaluated_key.map(|k| key_from(&k)).transpose()?;
        Ok(ScanPage { items, next })
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        let Some(d) = self.describe(self.name(table)).await? else {
            return Ok(TableState::Missing);
        };
        match (schema_state(&d), d.table_status()) {
            (TableState::Ready, Some(s)) if *s != TableStatus::Active => {
                Ok(TableState::Busy(s.as_str().to_string()))
            }
            (state, _) => Ok(state),
        }
    }

    async fn table_info(&self, table: Table) -> StoreResult<TableInfo> {
        let Some(d) = self.describe(self.name(table)).await? else {
            return Ok(TableInfo::default());
        };
        let provisioned = d.provisioned_throughput().map(|p| {
            (
                p.read_capacity_units().unwrap_or(0),
                p.write_capacity_units().unwrap_or(0),
            )
        });
        let mode = d.billing_mode_summary().and_then(|b| b.billing_mode());
        let billing = match (mode, provisioned) {
            (Some(BillingMode::PayPerRequest), _) => "on-demand".to_string(),
            (_, Some((r, w))) if r > 0 || w > 0 => {
                format!("provisioned: {r} read / {w} write units")
            }
            // No summary and no units: DynamoDB's default for tables
            // created before billing modes existed is provisioned.
            (Some(m), _) => m.as_str().to_lowercase(),
            (None, _) => "on-demand".to_string(),
        };
        let class = class_of(&d);
        Ok(TableInfo {
            billing: Some(billing),
            class: Some(class.name().to_string()),
            items: d.item_count().and_then(|n| u64::try_from(n).ok()),
            bytes: d.table_size_bytes().and_then(|n| u64::try_from(n).ok()),
        })
    }

    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        for t in Table::ALL {
            self.create_table(self.name(t), billing).await?;
        }
        for t in Table::ALL {
            self.wait_table(self.name(t), "ACTIVE", is_active).await?;
        }
        Ok(())
    }

    async fn delete_tables(&self) -> StoreResult<()> {
        for t in Table::ALL {
            self.delete_table(self.name(t)).await?;
        }
        for t in Table::ALL {
            self.wait_table(self.name(t), "deleted", |d| d.is_none())
                .await?;
        }
        Ok(())
    }

    async fn update_tables(&self, change: TableChange) -> StoreResult<()> {
        for t in Table::ALL {
            self.update_table(self.name(t), change).await?;
        }
        Ok(())
    }

    fn table_name(&self, table: Table) -> String {
        self.name(table).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert!(check_table_name("fs1").is_ok());
        assert!(check_table_name("my_fs.test-2").is_ok());
        assert!(check_table_name("ab").is_err());
        assert!(check_table_name("a/b").is_err());
        assert!(check_table_name(&"x".repeat(250)).is_err());
    }
}
