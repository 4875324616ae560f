//! The DynamoDB backend: a direct translation of the [`Store`] trait onto
//! aws-sdk-dynamodb requests.
//!
//! The SDK's own retries are off: the `Retrying` wrapper above us backs off
//! with jitter, and the fault-injection wrapper between must see every
//! attempt. Only partial batch results (unprocessed keys and items) are
//! retried here, because no wrapper can see them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    KeySchemaElement, KeyType, KeysAndAttributes, ProvisionedThroughput, Put, PutRequest,
    ScalarAttributeType, TableDescription, TableStatus, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use tokio::task::JoinSet;

use super::error::{StoreError, StoreResult};
use super::types::*;
use super::Store;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Batch requests of one call in flight at once.
const PARALLEL_CHUNKS: usize = 16;
const TABLE_POLL: Duration = Duration::from_millis(500);
const TABLE_WAIT: Duration = Duration::from_secs(300);

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

type AvMap = HashMap<String, AttributeValue>;
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

// ---------------------------------------------------------------- attributes

fn blob(b: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(b.to_vec()))
}

fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => blob(b),
        Value::S(s) => AttributeValue::S(s.clone()),
    }
}

fn key_av(k: &Key) -> AvMap {
    HashMap::from([("p".to_string(), blob(&k.p)), ("s".to_string(), blob(&k.s))])
}

fn check_attr_name(key: &Key, a: &str) -> StoreResult<()> {
    if a == "p" || a == "s" || a.is_empty() {
        return Err(StoreError::Invalid(format!(
            "item {key}: attribute name {a:?} is reserved for the key"
        )));
    }
    Ok(())
}

/// The full item of a put, refused locally when over the item size limit.
fn item_av(key: &Key, attrs: &Attrs) -> StoreResult<AvMap> {
    let size = item_size(key, attrs);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::ItemTooLarge {
            key: key.clone(),
            size,
        });
    }
    let mut m = key_av(key);
    for (a, v) in attrs {
        check_attr_name(key, a)?;
        m.insert(a.clone(), to_av(v));
    }
    Ok(m)
}

/// DynamoDB's name of a value's type (only for corrupt items: it formats
/// the whole value).
fn type_name(v: &AttributeValue) -> String {
    let debug = format!("{v:?}");
    debug.split('(').next().unwrap_or("?").to_ascii_uppercase()
}

fn key_part(m: &AvMap, name: &str) -> Result<Vec<u8>, String> {
    match m.get(name) {
        Some(AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
        Some(other) => Err(format!(
            "key attribute {name} has type {}, expected B",
            type_name(other)
        )),
        None => Err(format!("key attribute {name} is missing")),
    }
}

fn key_from(m: &AvMap) -> StoreResult<Key> {
    match (key_part(m, "p"), key_part(m, "s")) {
        (Ok(p), Ok(s)) => Ok(Key { p, s }),
        (p, s) => {
            let why = [&p, &s]
                .iter()
                .filter_map(|r| r.as_ref().err().cloned())
                .collect::<Vec<_>>()
                .join("; ");
            let key = Key::new(p.unwrap_or_default(), s.unwrap_or_default());
            Err(StoreError::Corrupt { key, why })
        }
    }
}

fn item_from(m: AvMap) -> StoreResult<Item> {
    let key = key_from(&m)?;
    let mut attrs = Attrs::new();
    for (name, av) in m {
        if name == "p" || name == "s" {
            continue;
        }
        let v = match av {
            AttributeValue::N(n) => match n.parse::<i64>() {
                Ok(n) => Value::N(n),
                Err(_) => {
                    return Err(StoreError::Corrupt {
                        key,
                        why: format!("attribute {name}: number {n:?} is not a 64-bit integer"),
                    })
                }
            },
            AttributeValue::B(b) => Value::B(b.into_inner()),
            AttributeValue::S(s) => Value::S(s),
            other => {
                return Err(StoreError::Corrupt {
                    key,
                    why: format!(
                        "attribute {name} has unsupported type {}",
                        type_name(&other)
                    ),
                })
            }
        };
        attrs.insert(name, v);
    }
    Ok(Item { key, attrs })
}

// --------------------------------------------------------------- expressions

/// Placeholders of one request's expressions. Every attribute name goes
/// through `#..` (many short names are DynamoDB reserved words) and every
/// value through `:..`; DynamoDB rejects unused placeholders, so only what
/// an expression mentions is registered.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    by_attr: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some(n) = self.by_attr.get(attr) {
            return n.clone();
        }
        let n = match attr {
            "p" => "#p".to_string(),
            "s" => "#s".to_string(),
            _ => format!("#n{}", self.by_attr.len()),
        };
        self.by_attr.insert(attr.to_string(), n.clone());
        self.names.insert(n.clone(), attr.to_string());
        n
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::Exists => format!("attribute_exists({})", self.name("p")),
            Cond::NotExists => format!("attribute_not_exists({})", self.name("p")),
            Cond::Has(a) => format!("attribute_exists({})", self.name(a)),
            Cond::HasNot(a) => format!("attribute_not_exists({})", self.name(a)),
            Cond::Cmp(a, op, v) => {
                let n = self.name(a);
                let v = self.value(to_av(v));
                match op {
                    // Cond::eval makes `<>` false on an absent attribute;
                    // say so explicitly rather than rely on the server.
                    CmpOp::Ne => format!("(attribute_exists({n}) AND {n} <> {v})"),
                    _ => format!("{n} {} {v}", op.symbol()),
                }
            }
            // DynamoDB has no literals: an empty And is true, an empty Or
            // false, written as a tautology / contradiction on the key.
            Cond::And(cs) if cs.is_empty() => {
                let p = self.name("p");
                format!("(attribute_exists({p}) OR attribute_not_exists({p}))")
            }
            Cond::Or(cs) if cs.is_empty() => {
                let p = self.name("p");
                format!("(attribute_exists({p}) AND attribute_not_exists({p}))")
            }
            Cond::And(cs) => self.join(cs, " AND "),
            Cond::Or(cs) => self.join(cs, " OR "),
        }
    }

    fn join(&mut self, cs: &[Cond], op: &str) -> String {
        let parts: Vec<String> = cs.iter().map(|c| self.cond(c)).collect();
        format!("({})", parts.join(op))
    }

    fn update(&mut self, key: &Key, changes: &[Change]) -> StoreResult<String> {
        if changes.is_empty() {
            return Err(StoreError::Invalid(format!(
                "update of {key} changes nothing"
            )));
        }
        let (mut set, mut add, mut remove) = (vec![], vec![], vec![]);
        let mut seen = HashSet::new();
        for ch in changes {
            check_attr_name(key, ch.attr())?;
            if !seen.insert(ch.attr()) {
                return Err(StoreError::Invalid(format!(
                    "update of {key} changes attribute {} twice",
                    ch.attr()
                )));
            }
            let n = self.name(ch.attr());
            match ch {
                Change::Set(_, v) => set.push(format!("{n} = {}", self.value(to_av(v)))),
                Change::Add(_, d) => add.push(format!("{n} {}", self.value(to_av(&Value::N(*d))))),
                Change::Remove(_) => remove.push(n),
            }
        }
        let mut parts = vec![];
        for (verb, list) in [("SET", set), ("ADD", add), ("REMOVE", remove)] {
            if !list.is_empty() {
                parts.push(format!("{verb} {}", list.join(", ")));
            }
        }
        Ok(parts.join(" "))
    }

    /// Hands the names over to the request (DynamoDB refuses an empty map).
    fn names(&mut self) -> Option<HashMap<String, String>> {
        Some(std::mem::take(&mut self.names)).filter(|m| !m.is_empty())
    }

    /// Hands the values over to the request: they may hold a whole block.
    fn values(&mut self) -> Option<AvMap> {
        Some(std::mem::take(&mut self.values)).filter(|m| !m.is_empty())
    }
}

// -------------------------------------------------------------------- errors

/// What an error is about, for messages and typed fields.
struct Ctx<'a> {
    op: &'static str,
    table: &'a str,
    key: Option<&'a Key>,
    size: usize,
}

impl<'a> Ctx<'a> {
    fn new(op: &'static str, table: &'a str) -> Ctx<'a> {
        Ctx {
            op,
            table,
            key: None,
            size: 0,
        }
    }
    fn key(mut self, key: &'a Key, size: usize) -> Ctx<'a> {
        self.key = Some(key);
        self.size = size;
        self
    }
}

fn no_key() -> Key {
    Key::new(Vec::new(), Vec::new())
}

fn mentions_item_size(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("item size") || m.contains("maximum allowed size")
}

/// The messages of an error and all its sources. Like the SDK's
/// `DisplayErrorContext` without its trailing Debug dump, which is too long
/// for a terminal.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        // Several layers repeat their source's message; keep one copy.
        if !parts.last().is_some_and(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = e.source();
    }
    // Some layers (the credentials chain) report over several lines; errors
    // are shown on one.
    parts
        .join(": ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn is_credentials_problem(chain: &str) -> bool {
    chain.to_ascii_lowercase().contains("credential")
}

/// The SDK lists every provider it tried; the user needs the gist and the
/// fix. The full chain goes to the debug log (`-v`).
fn credentials_error(chain: &str) -> StoreError {
    tracing::debug!("credentials: {chain}");
    StoreError::Credentials(format!(
        "none found in the environment, AWS profiles, web identity, container or instance metadata; {CREDENTIALS_HINT}"
    ))
}

const CREDENTIALS_HINT: &str = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / \
                                --profile, or run on an instance role";

impl DynamoStore {
    fn table_missing(&self, table: &str) -> StoreError {
        StoreError::TableMissing {
            table: table.to_string(),
            hint: Some(format!(
                "run `dynamofs mkfs aws:{}/{}` to create it",
                self.inner.region, self.inner.meta
            )),
        }
    }

    /// Turns an error of any operation into a typed store error.
    ///
    /// How failures surfaced in practice (aws-sdk-dynamodb 1.136, moto):
    /// - no credentials anywhere: `DispatchFailure` (kind Other; the identity
    ///   resolver runs inside the orchestrator, so never ConstructionFailure)
    ///   reading "an error occurred while loading credentials: failed to load
    ///   IMDS session token ..." or, with IMDS disabled, "the credential
    ///   provider was not enabled: no credentials found in chain";
    /// - closed port: `DispatchFailure`, is_io, "Connection refused";
    /// - a server that accepts and never answers: `TimeoutError` after the
    ///   15 s attempt timeout (an unroutable address should be a timeout
    ///   `DispatchFailure` after 3 s; not reproducible in the test sandbox,
    ///   whose proxy answers HTTP 404 with no body instead);
    /// - moto accepts any access key, so AccessDenied is untested.
    fn map_err<E>(&self, err: SdkError<E, HttpResponse>, ctx: Ctx<'_>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = &self.inner.endpoint;
        let where_ = format!("{} on {} at {endpoint}", ctx.op, ctx.table);
        match &err {
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or("");
                let msg = se.err().message().unwrap_or("").to_string();
                let status = se.raw().status();
                if code.is_empty() && msg.is_empty() {
                    // No DynamoDB error document: a proxy or some other
                    // server answered.
                    let body = se.raw().body().bytes().unwrap_or_default();
                    let body = String::from_utf8_lossy(&body[..body.len().min(200)]);
                    let what = format!(
                        "{where_}: HTTP {} without a DynamoDB error: {body}",
                        status.as_u16()
                    );
                    return match status.is_server_error() {
                        true => StoreError::Network(what),
                        false => StoreError::Other(what),
                    };
                }
                self.map_code(code, msg, status.is_server_error(), &ctx)
            }
            SdkError::TimeoutError(_) => StoreError::Timeout(format!(
                "{where_}: no response within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            )),
            SdkError::DispatchFailure(df) => {
                let chain = error_chain(&err);
                if is_credentials_problem(&chain) {
                    credentials_error(&chain)
                } else if df.is_timeout() {
                    StoreError::Timeout(format!("{where_}: {chain}"))
                } else {
                    StoreError::Network(format!("{where_}: {chain}"))
                }
            }
            SdkError::ConstructionFailure(_) => {
                let chain = error_chain(&err);
                if is_credentials_problem(&chain) {
                    credentials_error(&chain)
                } else {
                    StoreError::Other(format!("{where_}: {chain}"))
                }
            }
            // An unparseable response: a proxy or something that is not
            // DynamoDB answered, or the connection broke mid-body.
            SdkError::ResponseError(_) => {
                StoreError::Network(format!("{where_}: bad response: {}", error_chain(&err)))
            }
            _ => StoreError::Other(format!("{where_}: {}", error_chain(&err))),
        }
    }

    fn map_code(&self, code: &str, msg: String, server_error: bool, ctx: &Ctx<'_>) -> StoreError {
        let key = || ctx.key.cloned().unwrap_or_else(no_key);
        match code {
            "ConditionalCheckFailedException" => StoreError::ConditionFailed {
                index: None,
                key: key(),
            },
            "ResourceNotFoundException" => self.table_missing(ctx.table),
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException" => StoreError::AccessDenied(format!(
                "{code}: {msg} (needs dynamodb:{} on table {})",
                ctx.op, ctx.table
            )),
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded" => StoreError::Throttled(format!("{code}: {msg}")),
            "TransactionConflictException" | "TransactionInProgressException" => {
                StoreError::TransactionConflict
            }
            "ValidationException" if mentions_item_size(&msg) => StoreError::ItemTooLarge {
                key: key(),
                // Unknown for updates: the server adds to what is stored.
                size: if ctx.size > 0 {
                    ctx.size
                } else {
                    MAX_ITEM_BYTES + 1
                },
            },
            "ValidationException" | "IdempotentParameterMismatchException" => {
                StoreError::Invalid(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table))
            }
            "InternalServerError" | "ServiceUnavailable" | "InternalFailure" => {
                StoreError::Network(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table))
            }
            _ if server_error => StoreError::Network(format!(
                "{} on {}: server error {code}: {msg}",
                ctx.op, ctx.table
            )),
            _ => StoreError::Other(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table)),
        }
    }

    fn map_transact_err(
        &self,
        err: SdkError<TransactWriteItemsError, HttpResponse>,
        writes: &[Write],
    ) -> StoreError {
        let Some(TransactWriteItemsError::TransactionCanceledException(tc)) =
            err.as_service_error()
        else {
            let e = self.map_err(err, Ctx::new("TransactWriteItems", &self.inner.meta));
            // moto reports an oversized update as a plain ValidationException
            // (DynamoDB as a cancellation reason); puts were checked before
            // sending, so an update is to blame.
            return match (e, writes.iter().find(|w| matches!(w, Write::Update { .. }))) {
                (StoreError::ItemTooLarge { size, .. }, Some(w)) => StoreError::ItemTooLarge {
                    key: w.key().clone(),
                    size,
                },
                (e, _) => e,
            };
        };
        let reasons = tc.cancellation_reasons();
        let code_at = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
        let find = |codes: &[&str]| (0..reasons.len()).find(|&i| codes.contains(&code_at(i)));
        if let Some(i) = find(&["ConditionalCheckFailed"]) {
            let key = writes
                .get(i)
                .map(|w| w.key().clone())
                .unwrap_or_else(no_key);
            return StoreError::ConditionFailed {
                index: Some(i),
                key,
            };
        }
        if find(&["TransactionConflict"]).is_some() {
            return StoreError::TransactionConflict;
        }
        if find(&["ThrottlingError", "ProvisionedThroughputExceeded"]).is_some() {
            return StoreError::Throttled(format!("transaction cancelled: {}", describe(reasons)));
        }
        if let Some(i) = find(&["ValidationError"]) {
            let msg = reasons.get(i).and_then(|r| r.message()).unwrap_or("");
            if let (true, Some(w)) = (mentions_item_size(msg), writes.get(i)) {
                let size = match w {
                    Write::Put { key, attrs, .. } => item_size(key, attrs),
                    _ => MAX_ITEM_BYTES + 1,
                };
                return StoreError::ItemTooLarge {
                    key: w.key().clone(),
                    size,
                };
            }
            return StoreError::Invalid(format!("transaction cancelled: {}", describe(reasons)));
        }
        StoreError::Other(format!(
            "transaction cancelled: {} ({})",
            describe(reasons),
            tc.message().unwrap_or("")
        ))
    }
}

fn describe(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> String {
    reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code().is_some_and(|c| c != "None"))
        .map(|(i, r)| {
            format!(
                "#{i}: {} {}",
                r.code().unwrap_or(""),
                r.message().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(format!("building DynamoDB request: {e}"))
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

// ------------------------------------------------------------------- queries

/// Where a query really starts: DynamoDB rejects an ExclusiveStartKey
/// outside the key condition, so a cursor below the range is dropped and
/// one above it means nothing is left (`Err(())`).
fn effective_start(range: &Range, start: Option<&[u8]>) -> Result<Option<Vec<u8>>, ()> {
    let Some(sa) = start else { return Ok(None) };
    if range.contains(sa) {
        return Ok(Some(sa.to_vec()));
    }
    let lower: &[u8] = match range {
        Range::All => return Ok(Some(sa.to_vec())),
        Range::Prefix(x) | Range::Between(x, _) | Range::After(x) => x,
    };
    if sa <= lower {
        Ok(None)
    } else {
        Err(())
    }
}

/// The key condition; `None` when the range selects nothing.
fn key_condition(x: &mut Expr, p: &[u8], range: &Range) -> Option<String> {
    let pn = x.name("p");
    let pv = x.value(blob(p));
    let mut kc = format!("{pn} = {pv}");
    match range {
        Range::All => {}
        Range::Prefix(pre) if pre.is_empty() => {}
        Range::Prefix(pre) => {
            let sn = x.name("s");
            kc += &format!(" AND begins_with({sn}, {})", x.value(blob(pre)));
        }
        Range::Between(a, b) if a > b || b.is_empty() => return None,
        // Key parts are non-empty and DynamoDB refuses empty key values.
        Range::Between(a, b) if a.is_empty() => {
            let sn = x.name("s");
            kc += &format!(" AND {sn} <= {}", x.value(blob(b)));
        }
        Range::Between(a, b) => {
            let sn = x.name("s");
            let (av, bv) = (x.value(blob(a)), x.value(blob(b)));
            kc += &format!(" AND {sn} BETWEEN {av} AND {bv}");
        }
        Range::After(a) if a.is_empty() => {}
        Range::After(a) => {
            let sn = x.name("s");
            kc += &format!(" AND {sn} > {}", x.value(blob(a)));
        }
    }
    Some(kc)
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

    /// `None`: the table does not exist.
    async fn describe(&self, name: &str) -> StoreResult<Option<TableDescription>> {
        match self.client().describe_table().table_name(name).send().await {
            Ok(out) => Ok(out.table),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(self.map_err(e, Ctx::new("DescribeTable", name))),
        }
    }

    async fn create_table(&self, name: &str, billing: Billing) -> StoreResult<()> {
        let mut req = self.client().create_table().table_name(name);
        for (attr, kt) in [("p", KeyType::Hash), ("s", KeyType::Range)] {
            req = req
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attr)
                        .attribute_type(ScalarAttributeType::B)
                        .build()
                        .map_err(build_err)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attr)
                        .key_type(kt)
                        .build()
                        .map_err(build_err)?,
                );
        }
        req = match billing {
            Billing::OnDemand => req.billing_mode(BillingMode::PayPerRequest),
            Billing::Provisioned { read, write } => req
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(read)
                        .write_capacity_units(write)
                        .build()
                        .map_err(build_err)?,
                ),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceInUseException") => {
                match self.describe(name).await?.map(|d| schema_state(&d)) {
                    Some(TableState::Foreign(found)) => Err(StoreError::Invalid(format!(
                        "table {name} already exists with another layout: {found}"
                    ))),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(self.map_err(e, Ctx::new("CreateTable", name))),
        }
    }

    /// Polls until `done` holds for the table's description (None: absent).
    async fn wait_table(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(Option<&TableDescription>) -> bool,
    ) -> StoreResult<()> {
        let deadline = Instant::now() + TABLE_WAIT;
        loop {
            if done(self.describe(name).await?.as_ref()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Timeout(format!(
                    "table {name} not {what} after {} s",
                    TABLE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(TABLE_POLL).await;
        }
    }
}

/// Ready or Foreign by key schema alone; status is the caller's business.
fn schema_state(d: &TableDescription) -> TableState {
    let type_of = |attr: &str| {
        d.attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == attr)
            .map(|a| a.attribute_type().as_str().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let found: Vec<(String, String, String)> = d
        .key_schema()
        .iter()
        .map(|k| {
            let name = k.attribute_name().to_string();
            let ty = type_of(&name);
            (name, ty, k.key_type().as_str().to_string())
        })
        .collect();
    let ours = |n: &str, t: &str, k: &str| (n.to_string(), t.to_string(), k.to_string());
    if found == [ours("p", "B", "HASH"), ours("s", "B", "RANGE")] {
        return TableState::Ready;
    }
    let shown: Vec<String> = found
        .iter()
        .map(|(n, t, k)| format!("{n} ({t}, {k})"))
        .collect();
    TableState::Foreign(format!(
        "key schema {} (expected p (B, HASH), s (B, RANGE))",
        shown.join(", ")
    ))
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

fn is_active(d: Option<&TableDescription>) -> bool {
    d.is_some_and(|d| d.table_status() == Some(&TableStatus::Active))
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
            let name = self.name(t);
            let deadline = Instant::now() + TABLE_WAIT;
            loop {
                match self.client().delete_table().table_name(name).send().await {
                    Ok(_) => break,
                    Err(e) if e.code() == Some("ResourceNotFoundException") => break,
                    // Still being created or updated: it can be deleted once ACTIVE.
                    Err(e)
                        if e.code() == Some("ResourceInUseException")
                            && Instant::now() < deadline =>
                    {
                        tokio::time::sleep(TABLE_POLL).await;
                    }
                    Err(e) => return Err(self.map_err(e, Ctx::new("DeleteTable", name))),
                }
            }
        }
        for t in Table::ALL {
            self.wait_table(self.name(t), "deleted", |d| d.is_none())
                .await?;
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

    fn key() -> Key {
        Key::new("dir", "name")
    }

    #[test]
    fn conditions_use_placeholders() {
        let mut x = Expr::default();
        let c = Cond::And(vec![
            Cond::Exists,
            Cond::has("size"),
            Cond::Or(vec![Cond::has_not("name"), Cond::eq("size", Value::N(3))]),
            Cond::cmp("name", CmpOp::Ge, Value::S("x".into())),
        ]);
        assert_eq!(
            x.cond(&c),
            "(attribute_exists(#p) AND attribute_exists(#n1) AND \
             (attribute_not_exists(#n2) OR #n1 = :v0) AND #n2 >= :v1)"
        );
        assert_eq!(x.names.get("#p").map(String::as_str), Some("p"));
        assert_eq!(x.names.get("#n1").map(String::as_str), Some("size"));
        assert_eq!(x.names.get("#n2").map(String::as_str), Some("name"));
        assert_eq!(x.values.get(":v0"), Some(&AttributeValue::N("3".into())));
        assert_eq!(x.values.get(":v1"), Some(&AttributeValue::S("x".into())));
    }

    #[test]
    fn not_equal_is_false_on_absent_attribute() {
        let mut x = Expr::default();
        let c = Cond::cmp("v", CmpOp::Ne, Value::B(vec![1]));
        assert_eq!(x.cond(&c), "(attribute_exists(#n0) AND #n0 <> :v0)");
        assert_eq!(x.values.get(":v0"), Some(&blob(&[1])));
    }

    #[test]
    fn empty_and_or_are_constants() {
        let mut x = Expr::default();
        assert_eq!(x.cond(&Cond::NotExists), "attribute_not_exists(#p)");
        assert_eq!(
            x.cond(&Cond::And(vec![])),
            "(attribute_exists(#p) OR attribute_not_exists(#p))"
        );
        assert_eq!(
            x.cond(&Cond::Or(vec![])),
            "(attribute_exists(#p) AND attribute_not_exists(#p))"
        );
        assert_eq!(x.names.len(), 1);
        assert!(x.values().is_none());
    }

    #[test]
    fn update_expression() {
        let mut x = Expr::default();
        let changes = [
            Change::remove("old"),
            Change::set("mode", Value::N(0o644)),
            Change::add("nlink", -1),
            Change::set("data", Value::B(vec![])),
        ];
        let e = x.update(&key(), &changes);
        assert_eq!(
            e.ok().as_deref(),
            Some("SET #n1 = :v0, #n3 = :v2 ADD #n2 :v1 REMOVE #n0")
        );
        assert_eq!(x.values.get(":v1"), Some(&AttributeValue::N("-1".into())));
        // The condition shares the placeholders of the update.
        assert_eq!(x.cond(&Cond::has("mode")), "attribute_exists(#n1)");
    }

    #[test]
    fn bad_updates_are_refused() {
        let bad = |changes: &[Change]| {
            matches!(
                Expr::default().update(&key(), changes),
                Err(StoreError::Invalid(_))
            )
        };
        assert!(bad(&[]));
        assert!(bad(&[Change::add("a", 1), Change::remove("a")]));
        assert!(bad(&[Change::set("p", Value::N(1))]));
        assert!(bad(&[Change::remove("s")]));
    }

    #[test]
    fn items_round_trip() {
        let attrs: Attrs = [
            ("n".to_string(), Value::N(i64::MIN)),
            ("b".to_string(), Value::B(vec![0, 255])),
            ("name".to_string(), Value::S("é".into())),
        ]
        .into();
        let k = Key::new(vec![0u8, 1], vec![255u8]);
        let m = item_av(&k, &attrs).ok();
        let item = m.map(item_from).and_then(Result::ok);
        assert_eq!(item, Some(Item { key: k, attrs }));
    }

    #[test]
    fn puts_are_checked_before_sending() {
        let big: Attrs = [("d".to_string(), Value::B(vec![0; MAX_ITEM_BYTES]))].into();
        assert!(matches!(
            item_av(&key(), &big),
            Err(StoreError::ItemTooLarge { size, .. }) if size > MAX_ITEM_BYTES
        ));
        let reserved: Attrs = [("p".to_string(), Value::N(1))].into();
        assert!(matches!(
            item_av(&key(), &reserved),
            Err(StoreError::Invalid(_))
        ));
    }

    fn corrupt_why(m: AvMap) -> String {
        match item_from(m) {
            Err(StoreError::Corrupt { why, .. }) => why,
            other => format!("not corrupt: {other:?}"),
        }
    }

    #[test]
    fn corrupt_items_name_the_attribute() {
        let with = |name: &str, v: AttributeValue| {
            let mut m = key_av(&key());
            m.insert(name.to_string(), v);
            m
        };
        let why = corrupt_why(with("mode", AttributeValue::Bool(true)));
        assert!(why.contains("mode") && why.contains("BOOL"), "{why}");
        let why = corrupt_why(with("size", AttributeValue::N("1.5".into())));
        assert!(why.contains("size") && why.contains("1.5"), "{why}");
        let why = corrupt_why(with(
            "size",
            AttributeValue::N("9223372036854775808".into()),
        ));
        assert!(why.contains("size"), "{why}");
        let why = corrupt_why(with("p", AttributeValue::S("dir".into())));
        assert!(
            why.contains("key attribute p") && why.contains('S'),
            "{why}"
        );
        let mut m = key_av(&key());
        m.remove("s");
        assert!(corrupt_why(m).contains("key attribute s is missing"));
    }

    #[test]
    fn key_conditions() {
        let kc = |r: Range| {
            let mut x = Expr::default();
            key_condition(&mut x, b"d", &r)
        };
        assert_eq!(kc(Range::All).as_deref(), Some("#p = :v0"));
        assert_eq!(kc(Range::Prefix(vec![])).as_deref(), Some("#p = :v0"));
        assert_eq!(
            kc(Range::Prefix(b"a".to_vec())).as_deref(),
            Some("#p = :v0 AND begins_with(#s, :v1)")
        );
        assert_eq!(
            kc(Range::Between(b"a".to_vec(), b"b".to_vec())).as_deref(),
            Some("#p = :v0 AND #s BETWEEN :v1 AND :v2")
        );
        assert_eq!(
            kc(Range::Between(vec![], b"b".to_vec())).as_deref(),
            Some("#p = :v0 AND #s <= :v1")
        );
        assert_eq!(kc(Range::Between(b"b".to_vec(), b"a".to_vec())), None);
        assert_eq!(
            kc(Range::After(b"a".to_vec())).as_deref(),
            Some("#p = :v0 AND #s > :v1")
        );
    }

    #[test]
    fn cursors_outside_the_range() {
        let pre = Range::Prefix(b"m".to_vec());
        assert_eq!(effective_start(&pre, None), Ok(None));
        assert_eq!(effective_start(&pre, Some(b"a")), Ok(None));
        assert_eq!(effective_start(&pre, Some(b"mx")), Ok(Some(b"mx".to_vec())));
        assert_eq!(effective_start(&pre, Some(b"n")), Err(()));
        let after = Range::After(b"m".to_vec());
        assert_eq!(effective_start(&after, Some(b"m")), Ok(None));
        let between = Range::Between(b"c".to_vec(), b"f".to_vec());
        assert_eq!(
            effective_start(&between, Some(b"f")),
            Ok(Some(b"f".to_vec()))
        );
        assert_eq!(effective_start(&between, Some(b"g")), Err(()));
        assert_eq!(
            effective_start(&Range::All, Some(b"z")),
            Ok(Some(b"z".to_vec()))
        );
    }

    fn table(schema: &[(&str, ScalarAttributeType, KeyType)]) -> TableDescription {
        let mut d = TableDescription::builder();
        for (name, ty, kt) in schema {
            let def = AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ty.clone())
                .build();
            let ks = KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(kt.clone())
                .build();
            if let (Ok(def), Ok(ks)) = (def, ks) {
                d = d.attribute_definitions(def).key_schema(ks);
            }
        }
        d.build()
    }

    #[test]
    fn foreign_key_schemas() {
        use ScalarAttributeType::{B, S};
        let ours = table(&[("p", B, KeyType::Hash), ("s", B, KeyType::Range)]);
        assert_eq!(schema_state(&ours), TableState::Ready);
        match schema_state(&table(&[("id", S, KeyType::Hash)])) {
            TableState::Foreign(why) => {
                assert!(why.starts_with("key schema id (S, HASH)"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let swapped = table(&[("p", S, KeyType::Hash), ("s", B, KeyType::Range)]);
        assert!(matches!(schema_state(&swapped), TableState::Foreign(_)));
    }

    #[test]
    fn table_names() {
        assert!(check_table_name("fs1").is_ok());
        assert!(check_table_name("my_fs.test-2").is_ok());
        assert!(check_table_name("ab").is_err());
        assert!(check_table_name("a/b").is_err());
        assert!(check_table_name(&"x".repeat(250)).is_err());
    }
}
