//! Retries with jittered exponential backoff: the one place where transient
//! failures and transaction conflicts are retried.
//!
//! One logical commit carries one request token through every attempt, until
//! its outcome is known, whatever came between. After an attempt whose answer
//! never arrived (a timeout, a broken connection) the commit may have been
//! applied; only the same token lets the store recognise the retry and answer
//! with the first outcome, instead of evaluating the conditions again against
//! the commit's own effect (a create that succeeded would report EEXIST, an
//! unlink ENOENT). A throttle or conflict that follows does not make the
//! earlier attempt's outcome known, so a fresh token after it would reopen
//! exactly that hazard. Stores remember tokens for ten minutes, far longer
//! than this layer retries. (A new *plan* of a change is a new commit with a
//! new token: that is the file system's transaction loop, not this layer.)
//!
//! `TransactionInProgress` means the store is still applying an earlier
//! attempt under the same token: it is waited out, for up to
//! [`Backoff::patience`] and without spending the attempt budget, and asked
//! again with the same token, which is what lets the store finish it.
//!
//! Single-item writes (PutItem, UpdateItem, DeleteItem) carry no token:
//! DynamoDB has none for them. A conditional one whose response was lost and
//! that is sent again may fail its condition against its own effect. This
//! layer cannot tell that from another client's change, so it reports the
//! `ConditionFailed` as it is; callers make such writes safe to plan again
//! (a condition on a version the write itself moves, and a re-plan from fresh
//! reads that finds its own effect already there), or use a one-write
//! transaction where that is impossible.
//!
//! When the retries give up on a write after an attempt whose outcome was
//! unknown, the error is a `Timeout` that says so, never the last definite
//! refusal (throttled, conflict): "nothing happened, try again" would be a
//! lie when the first attempt may have been applied.
//!
//! Condition failures are not retried here: they are answers, which the file
//! system layer re-reads and turns into errnos.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::Rng;

use super::counting::RetryReason;
use super::{
    BatchWrite, Billing, Counters, Item, Key, Page, Query, ScanPage, Store, StoreError,
    StoreResult, Table, TableChange, TableInfo, TableState, Token, Write,
};

/// Backoff policy.
#[derive(Clone, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    /// Attempts of one request before its last error is returned.
    pub attempts: u32,
    /// How long a transaction the store reports as still in progress (under
    /// our token) is waited for, counted from its first attempt. DynamoDB
    /// recovers a stuck transaction when asked again after about 5 s.
    pub patience: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(25),
            max: Duration::from_secs(2),
            attempts: 10,
            patience: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// "Full jitter": a random delay up to the exponential bound, so clients
    /// that collided do not collide again in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .first
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
        let bound = exp.min(self.max);
        let nanos = bound.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rand::rng().random_range(nanos / 4..=nanos.max(1)))
    }
}

pub struct Retrying<S> {
    inner: S,
    backoff: Backoff,
    /// Where retries are counted: the stack's request counters, so one
    /// set of counters tells a mount's whole story.
    counters: Arc<Counters>,
}

impl<S: Store> Retrying<S> {
    pub fn new(inner: S, backoff: Backoff) -> Retrying<S> {
        Retrying::counted(inner, backoff, Arc::new(Counters::default()))
    }

    /// Retries counted in `counters` (a production stack's).
    pub fn counted(inner: S, backoff: Backoff, counters: Arc<Counters>) -> Retrying<S> {
        Retrying {
            inner,
            backoff,
            counters,
        }
    }

    /// Retries made so far (a metric for stats and tests).
    pub fn retries(&self) -> u64 {
        self.counters.total_retries()
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    async fn again<T, F, Fut>(&self, what: &str, effect: Effect, mut call: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        let mut waits = 0;
        // The first error after which the request may have been applied.
        let mut unknown: Option<StoreError> = None;
        loop {
            let e = match call().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let retry = match &e {
                StoreError::TransactionInProgress => started.elapsed() < self.backoff.patience,
                e if retryable(e) => {
                    attempt += 1;
                    attempt < self.backoff.attempts
                }
                _ => false,
            };
            if !retry {
                match &e {
                    StoreError::ConditionFailed { .. } => self.counters.record_condition_failed(),
                    e if retryable(e) => self.counters.record_gave_up(),
                    _ => {}
                }
                return Err(match (effect, unknown) {
                    (Effect::Writes, Some(first)) if refused(&e) => StoreError::Timeout(format!(
                        "{what}: outcome unknown: an earlier attempt may have been applied \
                         ({first}), and the retries ended with: {e}"
                    )),
                    _ => e,
                });
            }
            let d = self.backoff.delay(waits);
            tracing::debug!(%e, attempt, ?d, "{what}: retrying");
            if let Some(why) = reason(&e) {
                self.counters.record_retry(why);
            }
            if unknown.is_none() && e.outcome_unknown() {
                unknown = Some(e);
            }
            tokio::time::sleep(d).await;
            waits += 1;
        }
    }
}

/// Whether a request changes the store (so a lost answer leaves its
/// outcome unknown).
#[derive(Clone, Copy)]
enum Effect {
    Reads,
    Writes,
}

fn retryable(e: &StoreError) -> bool {
    e.is_transient() || matches!(e, StoreError::TransactionConflict)
}

/// The reason a retryable error is counted under.
fn reason(e: &StoreError) -> Option<RetryReason> {
    Some(match e {
        StoreError::Throttled(_) => RetryReason::Throttled,
        StoreError::TransactionConflict => RetryReason::Conflict,
        StoreError::TransactionInProgress => RetryReason::InProgress,
        StoreError::Network(_) => RetryReason::Network,
        StoreError::Timeout(_) => RetryReason::Timeout,
        _ => return None,
    })
}

/// A definite "not applied" that would wrongly hide an earlier unknown
/// outcome.
fn refused(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Throttled(_) | StoreError::TransactionConflict
    )
}

#[async_trait]
impl<S: Store> Store for Retrying<S> {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        self.again("get", Effect::Reads, || {
            self.inner.get(table, key, consistent)
        })
        .await
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        self.again("batch_get", Effect::Reads, || {
            self.inner.batch_get(table, keys, consistent)
        })
        .await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.again("query", Effect::Reads, || self.inner.query(q))
            .await
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        self.again("write", Effect::Writes, || self.inner.write(w))
            .await
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        // The caller's token for every attempt (see the module docs).
        self.again("transaction", Effect::Writes, || {
            self.inner.transact(writes, token)
        })
        .await
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        // Unconditional puts and deletes are idempotent: a plain retry is safe.
        self.again("batch_write", Effect::Writes, || {
            self.inner.batch_write(table, writes)
        })
        .await
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        self.again("scan", Effect::Reads, || {
            self.inner.scan(table, start_after, limit)
        })
        .await
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        self.again("describe table", Effect::Reads, || {
            self.inner.table_state(table)
        })
        .await
    }

    async fn table_info(&self, table: Table) -> StoreResult<TableInfo> {
        self.again("describe table", Effect::Reads, || {
            self.inner.table_info(table)
        })
        .await
    }

    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        self.inner.create_tables(billing).await
    }

    async fn delete_tables(&self) -> StoreResult<()> {
        self.inner.delete_tables().await
    }

    async fn update_tables(&self, change: TableChange) -> StoreResult<()> {
        self.inner.update_tables(change).await
    }

    fn table_name(&self, table: Table) -> String {
        self.inner.table_name(table)
    }
}
