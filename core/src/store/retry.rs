//! Retries with jittered exponential backoff: the one place where transient
//! failures and transaction conflicts are retried.
//!
//! A transaction is retried with the same token after a failure that may
//! have hidden a commit (timeout, network), so it is not applied twice; after
//! a definite refusal (throttling, conflict) nothing was applied and a fresh
//! token is used. Condition failures are not retried here: they are answers,
//! which the file system layer re-reads and turns into errnos.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;

use super::{
    BatchWrite, Billing, Item, Key, Page, Query, ScanPage, Store, StoreError, StoreResult, Table,
    TableState, Token, Write,
};

/// Backoff policy.
#[derive(Clone, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(25),
            max: Duration::from_secs(2),
            attempts: 10,
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
    retries: AtomicU64,
}

impl<S: Store> Retrying<S> {
    pub fn new(inner: S, backoff: Backoff) -> Retrying<S> {
        Retrying {
            inner,
            backoff,
            retries: AtomicU64::new(0),
        }
    }

    /// Retries made so far (a metric for stats and tests).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    async fn again<T, F, Fut>(&self, what: &str, mut call: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if retryable(&e) && attempt + 1 < self.backoff.attempts => {
                    let d = self.backoff.delay(attempt);
                    tracing::debug!(%e, attempt, ?d, "{what}: retrying");
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }
}

fn retryable(e: &StoreError) -> bool {
    e.is_transient() || matches!(e, StoreError::TransactionConflict)
}

#[async_trait]
impl<S: Store> Store for Retrying<S> {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        self.again("get", || self.inner.get(table, key, consistent))
            .await
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        self.again("batch_get", || {
            self.inner.batch_get(table, keys, consistent)
        })
        .await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.again("query", || self.inner.query(q)).await
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        self.again("write", || self.inner.write(w)).await
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        let mut token = token.clone();
        let mut attempt = 0;
        loop {
            match self.inner.transact(writes, &token).await {
                Err(e) if retryable(&e) && attempt + 1 < self.backoff.attempts => {
                    if matches!(
                        e,
                        StoreError::Throttled(_) | StoreError::TransactionConflict
                    ) {
                        token = Token::fresh();
                    }
                    let d = self.backoff.delay(attempt);
                    tracing::debug!(%e, attempt, ?d, "transaction: retrying");
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        // Unconditional puts and deletes are idempotent: a plain retry is safe.
        self.again("batch_write", || self.inner.batch_write(table, writes))
            .await
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        self.again("scan", || self.inner.scan(table, start_after, limit))
            .await
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        self.again("describe table", || self.inner.table_state(table))
            .await
    }

    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        self.inner.create_tables(billing).await
    }

    async fn delete_tables(&self) -> StoreResult<()> {
        self.inner.delete_tables().await
    }

    fn table_name(&self, table: Table) -> String {
        self.inner.table_name(table)
    }
}
