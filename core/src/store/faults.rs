//! Fault injection, for tests of the retry and recovery logic.
//!
//! No local DynamoDB-compatible server throttles, raises transaction
//! conflicts or loses responses, so tests script those faults here: each
//! planned fault fails the next matching request, before it reaches the
//! inner store, or (for a lost response) after the inner store applied it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    BatchWrite, Billing, Item, Key, Page, Query, ScanPage, Store, StoreError, StoreResult, Table,
    TableState, Token, Write,
};

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request is refused as throttled; nothing is applied.
    Throttle,
    /// The request times out before reaching the store; nothing is applied.
    Timeout,
    /// A transaction is cancelled by a concurrent one; nothing is applied.
    Conflict,
    /// The request is applied, then its response is lost (a timeout).
    LostResponse,
}

/// Which requests a planned fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Any,
    Reads,
    Writes,
    Transactions,
}

pub struct Faults<S> {
    inner: S,
    plan: Mutex<VecDeque<(Target, Fault)>>,
    injected: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Transact,
}

impl<S: Store> Faults<S> {
    pub fn new(inner: S) -> Faults<S> {
        Faults {
            inner,
            plan: Mutex::new(VecDeque::new()),
            injected: AtomicU64::new(0),
        }
    }

    /// Fail the next `times` requests matching `target` with `fault`.
    pub fn plan(&self, target: Target, fault: Fault, times: usize) {
        if let Ok(mut p) = self.plan.lock() {
            for _ in 0..times {
                p.push_back((target, fault));
            }
        }
    }

    /// How many faults have been injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Planned faults not yet injected.
    pub fn pending(&self) -> usize {
        self.plan.lock().map(|p| p.len()).unwrap_or(0)
    }

    fn take(&self, op: Op) -> Option<Fault> {
        let mut plan = self.plan.lock().ok()?;
        let pos = plan.iter().position(|(t, f)| {
            let target_ok = match t {
                Target::Any => true,
                Target::Reads => op == Op::Read,
                Target::Writes => op != Op::Read,
                Target::Transactions => op == Op::Transact,
            };
            // Conflicts only exist for transactions.
            target_ok && (*f != Fault::Conflict || op == Op::Transact)
        })?;
        let (_, f) = plan.remove(pos)?;
        self.injected.fetch_add(1, Ordering::Relaxed);
        Some(f)
    }

    async fn run<T, Fut>(&self, op: Op, call: Fut) -> StoreResult<T>
    where
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        match self.take(op) {
            None => call.await,
            Some(Fault::Throttle) => Err(StoreError::Throttled("injected throttling".into())),
            Some(Fault::Timeout) => Err(StoreError::Timeout("injected timeout".into())),
            Some(Fault::Conflict) => Err(StoreError::TransactionConflict),
            Some(Fault::LostResponse) => {
                call.await?;
                Err(StoreError::Timeout(
                    "injected: applied, then the response was lost".into(),
                ))
            }
        }
    }
}

#[async_trait]
impl<S: Store> Store for Faults<S> {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        self.run(Op::Read, self.inner.get(table, key, consistent))
            .await
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        self.run(Op::Read, self.inner.batch_get(table, keys, consistent))
            .await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.run(Op::Read, self.inner.query(q)).await
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        self.run(Op::Write, self.inner.write(w)).await
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        self.run(Op::Transact, self.inner.transact(writes, token))
            .await
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        self.run(Op::Write, self.inner.batch_write(table, writes))
            .await
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        self.run(Op::Read, self.inner.scan(table, start_after, limit))
            .await
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        self.inner.table_state(table).await
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
