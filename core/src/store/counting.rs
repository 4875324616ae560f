//! Request counting: how round trips are measured.
//!
//! Counts are of store requests as DynamoDB would bill and serve them
//! (a batch get of 250 keys is 3 requests), so they are the same on every
//! backend and machine. Benchmarks, round-trip tests and `stats` read them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::metrics::{Histogram, Snapshot};

use super::{
    item_size, BatchWrite, Billing, Item, Key, Page, Query, ScanPage, Store, StoreResult, Table,
    TableChange, TableInfo, TableState, Token, Write, MAX_BATCH_GET, MAX_BATCH_WRITE,
};

/// Kinds of request, as DynamoDB names its operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    GetItem,
    BatchGetItem,
    Query,
    PutItem,
    UpdateItem,
    DeleteItem,
    TransactWriteItems,
    BatchWriteItem,
    Scan,
    Admin,
}

impl RequestKind {
    pub const ALL: [RequestKind; 10] = [
        RequestKind::GetItem,
        RequestKind::BatchGetItem,
        RequestKind::Query,
        RequestKind::PutItem,
        RequestKind::UpdateItem,
        RequestKind::DeleteItem,
        RequestKind::TransactWriteItems,
        RequestKind::BatchWriteItem,
        RequestKind::Scan,
        RequestKind::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RequestKind::GetItem => "GetItem",
            RequestKind::BatchGetItem => "BatchGetItem",
            RequestKind::Query => "Query",
            RequestKind::PutItem => "PutItem",
            RequestKind::UpdateItem => "UpdateItem",
            RequestKind::DeleteItem => "DeleteItem",
            RequestKind::TransactWriteItems => "TransactWriteItems",
            RequestKind::BatchWriteItem => "BatchWriteItem",
            RequestKind::Scan => "Scan",
            RequestKind::Admin => "Admin",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Default)]
struct Slot {
    requests: AtomicU64,
    items: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// Totals for one kind of request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindTotals {
    pub requests: u64,
    pub items: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

/// Why the retry layer sent a request again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryReason {
    Throttled,
    Conflict,
    InProgress,
    Network,
    Timeout,
}

impl RetryReason {
    pub const ALL: [RetryReason; 5] = [
        RetryReason::Throttled,
        RetryReason::Conflict,
        RetryReason::InProgress,
        RetryReason::Network,
        RetryReason::Timeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RetryReason::Throttled => "throttled",
            RetryReason::Conflict => "conflict",
            RetryReason::InProgress => "in_progress",
            RetryReason::Network => "network",
            RetryReason::Timeout => "timeout",
        }
    }
}

/// What the retry layer saw, above the counted requests: each retry is
/// also one more request below it.
#[derive(Default)]
struct RetrySlots {
    retries: [AtomicU64; 5],
    gave_up: AtomicU64,
    condition_failures: AtomicU64,
}

/// Shared counters; cheap to clone through an `Arc`.
#[derive(Default)]
pub struct Counters {
    slots: [Slot; 10],
    latency: [Histogram; 10],
    retry: RetrySlots,
}

impl Counters {
    fn took(&self, kind: RequestKind, since: Instant) {
        self.latency[kind.index()].observe(since.elapsed());
    }

    /// How long requests of a kind took, as the store answered them
    /// (retries are separate requests, each timed alone).
    pub fn latency(&self, kind: RequestKind) -> Snapshot {
        self.latency[kind.index()].snapshot()
    }

    pub(super) fn record_retry(&self, why: RetryReason) {
        self.retry.retries[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn record_gave_up(&self) {
        self.retry.gave_up.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn record_condition_failed(&self) {
        self.retry
            .condition_failures
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn retries(&self, why: RetryReason) -> u64 {
        self.retry.retries[why as usize].load(Ordering::Relaxed)
    }

    pub fn total_retries(&self) -> u64 {
        RetryReason::ALL.iter().map(|r| self.retries(*r)).sum()
    }

    /// Requests whose retries ended in a transient error, returned as is.
    pub fn gave_up(&self) -> u64 {
        self.retry.gave_up.load(Ordering::Relaxed)
    }

    /// Writes refused because their condition did not hold: the file
    /// system re-reads and plans again, or answers with an errno. Many of
    /// them mean clients contend for the same items.
    pub fn condition_failures(&self) -> u64 {
        self.retry.condition_failures.load(Ordering::Relaxed)
    }

    fn record(&self, kind: RequestKind, requests: u64, items: u64, read: u64, written: u64) {
        let s = &self.slots[kind.index()];
        s.requests.fetch_add(requests, Ordering::Relaxed);
        s.items.fetch_add(items, Ordering::Relaxed);
        s.bytes_read.fetch_add(read, Ordering::Relaxed);
        s.bytes_written.fetch_add(written, Ordering::Relaxed);
    }

    pub fn get(&self, kind: RequestKind) -> KindTotals {
        let s = &self.slots[kind.index()];
        KindTotals {
            requests: s.requests.load(Ordering::Relaxed),
            items: s.items.load(Ordering::Relaxed),
            bytes_read: s.bytes_read.load(Ordering::Relaxed),
            bytes_written: s.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// All requests of every kind except table administration.
    pub fn total_requests(&self) -> u64 {
        RequestKind::ALL
            .iter()
            .filter(|k| **k != RequestKind::Admin)
            .map(|k| self.get(*k).requests)
            .sum()
    }

    /// Per-kind totals, for reports.
    pub fn snapshot(&self) -> Vec<(RequestKind, KindTotals)> {
        RequestKind::ALL
            .iter()
            .map(|k| (*k, self.get(*k)))
            .collect()
    }

    pub fn reset(&self) {
        for s in &self.slots {
            s.requests.store(0, Ordering::Relaxed);
            s.items.store(0, Ordering::Relaxed);
            s.bytes_read.store(0, Ordering::Relaxed);
            s.bytes_written.store(0, Ordering::Relaxed);
        }
        for h in &self.latency {
            h.reset();
        }
        for r in &self.retry.retries {
            r.store(0, Ordering::Relaxed);
        }
        self.retry.gave_up.store(0, Ordering::Relaxed);
        self.retry.condition_failures.store(0, Ordering::Relaxed);
    }
}

/// One line, in a stable format that tests and scripts parse:
/// `total=N GetItem=N Query=N ...` (kinds with no request left out).
impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "total={}", self.total_requests())?;
        for (k, t) in self.snapshot() {
            if t.requests > 0 && k != RequestKind::Admin {
                write!(f, " {}={}", k.name(), t.requests)?;
            }
        }
        Ok(())
    }
}

/// Tracing target of one line per request (`DYNAMOFS_LOG=dynamofs::requests=trace`):
/// where a workload's requests go.
pub const REQUESTS: &str = "dynamofs::requests";

/// A store that counts every request it passes on.
pub struct Counting<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: Store> Counting<S> {
    pub fn new(inner: S, counters: Arc<Counters>) -> Counting<S> {
        Counting { inner, counters }
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

fn items_bytes(items: &[Item]) -> u64 {
    items
        .iter()
        .map(|i| item_size(&i.key, &i.attrs) as u64)
        .sum()
}

fn write_bytes(w: &Write) -> u64 {
    match w {
        Write::Put { key, attrs, .. } => item_size(key, attrs) as u64,
        Write::Update { key, changes, .. } => {
            (key.p.len() + key.s.len()) as u64
                + changes
                    .iter()
                    .map(|c| match c {
                        super::Change::Set(a, v) => a.len() + v.billed_size(),
                        super::Change::Add(a, _) => a.len() + 8,
                        super::Change::Remove(a) => a.len(),
                    } as u64)
                    .sum::<u64>()
        }
        Write::Delete { key, .. } | Write::Check { key, .. } => (key.p.len() + key.s.len()) as u64,
    }
}

#[async_trait]
impl<S: Store> Store for Counting<S> {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        let t = Instant::now();
        let r = self.inner.get(table, key, consistent).await;
        self.counters.took(RequestKind::GetItem, t);
        let read = match &r {
            Ok(Some(i)) => items_bytes(std::slice::from_ref(i)),
            _ => 0,
        };
        self.counters.record(RequestKind::GetItem, 1, 1, read, 0);
        tracing::trace!(target: REQUESTS, "GetItem {table:?} {key:?}");
        r
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        let t = Instant::now();
        let r = self.inner.batch_get(table, keys, consistent).await;
        self.counters.took(RequestKind::BatchGetItem, t);
        let read = match &r {
            Ok(items) => items
                .iter()
                .flatten()
                .map(|i| item_size(&i.key, &i.attrs) as u64)
                .sum(),
            Err(_) => 0,
        };
        let requests = keys.len().div_ceil(MAX_BATCH_GET) as u64;
        self.counters.record(
            RequestKind::BatchGetItem,
            requests,
            keys.len() as u64,
            read,
            0,
        );
        tracing::trace!(target: REQUESTS, "BatchGetItem {table:?} {} keys from {:?}", keys.len(), keys.first());
        r
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let t = Instant::now();
        let r = self.inner.query(q).await;
        self.counters.took(RequestKind::Query, t);
        let (items, read) = match &r {
            Ok(p) => (p.items.len() as u64, items_bytes(&p.items)),
            Err(_) => (0, 0),
        };
        self.counters.record(RequestKind::Query, 1, items, read, 0);
        tracing::trace!(target: REQUESTS, "Query {:?} {} {:?}: {items} items", q.table, super::show_bytes(&q.p), q.range);
        r
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        let kind = match w {
            Write::Put { .. } => RequestKind::PutItem,
            Write::Update { .. } => RequestKind::UpdateItem,
            Write::Delete { .. } | Write::Check { .. } => RequestKind::DeleteItem,
        };
        self.counters.record(kind, 1, 1, 0, write_bytes(w));
        tracing::trace!(target: REQUESTS, "{} {:?}", kind.name(), w.key());
        let t = Instant::now();
        let r = self.inner.write(w).await;
        self.counters.took(kind, t);
        r
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        let bytes = writes.iter().map(write_bytes).sum();
        self.counters.record(
            RequestKind::TransactWriteItems,
            1,
            writes.len() as u64,
            0,
            bytes,
        );
        tracing::trace!(target: REQUESTS, "TransactWriteItems {:?}", writes.iter().map(Write::key).collect::<Vec<_>>());
        let t = Instant::now();
        let r = self.inner.transact(writes, token).await;
        self.counters.took(RequestKind::TransactWriteItems, t);
        r
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        let bytes = writes
            .iter()
            .map(|w| match w {
                BatchWrite::Put { key, attrs } => item_size(key, attrs) as u64,
                BatchWrite::Delete { key } => (key.p.len() + key.s.len()) as u64,
            })
            .sum();
        let requests = writes.len().div_ceil(MAX_BATCH_WRITE) as u64;
        self.counters.record(
            RequestKind::BatchWriteItem,
            requests,
            writes.len() as u64,
            0,
            bytes,
        );
        let t = Instant::now();
        let r = self.inner.batch_write(table, writes).await;
        self.counters.took(RequestKind::BatchWriteItem, t);
        r
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        let t = Instant::now();
        let r = self.inner.scan(table, start_after, limit).await;
        self.counters.took(RequestKind::Scan, t);
        let (items, read) = match &r {
            Ok(p) => (p.items.len() as u64, items_bytes(&p.items)),
            Err(_) => (0, 0),
        };
        self.counters.record(RequestKind::Scan, 1, items, read, 0);
        r
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        self.counters.record(RequestKind::Admin, 1, 0, 0, 0);
        self.inner.table_state(table).await
    }

    async fn table_info(&self, table: Table) -> StoreResult<TableInfo> {
        self.counters.record(RequestKind::Admin, 1, 0, 0, 0);
        self.inner.table_info(table).await
    }

    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        self.counters.record(RequestKind::Admin, 1, 0, 0, 0);
        self.inner.create_tables(billing).await
    }

    async fn delete_tables(&self) -> StoreResult<()> {
        self.counters.record(RequestKind::Admin, 1, 0, 0, 0);
        self.inner.delete_tables().await
    }

    async fn update_tables(&self, change: TableChange) -> StoreResult<()> {
        self.counters.record(RequestKind::Admin, 1, 0, 0, 0);
        self.inner.update_tables(change).await
    }

    fn table_name(&self, table: Table) -> String {
        self.inner.table_name(table)
    }
}
