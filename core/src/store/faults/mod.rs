//! Fault injection, for tests of the retry and recovery logic.
//!
//! No local DynamoDB-compatible server throttles, raises transaction
//! conflicts or loses responses, so faults are injected here, below the
//! retry layer (which must ride them out) and above the request counter
//! (which counts only what reached the store). Two sources of faults:
//! a script that tests fill ([`Faults::plan`]: the next matching requests
//! fail), and random draws at given rates ([`FaultSpec`], from the
//! `DYNAMOFS_FAULTS` environment variable, see `docs/TESTING.md`), which
//! puts any dynamofs process, mounts included, under fire.
//!
//! A fault fails a request before it reaches the inner store, except a lost
//! response (applied, then reported as a timeout) and a slow response
//! (applied, answered late).

mod spec;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    BatchWrite, Billing, Item, Key, Page, Query, ScanPage, Store, StoreError, StoreResult, Table,
    TableChange, TableInfo, TableState, Token, Write,
};

pub use spec::{FaultSpec, FAULTS_ENV};

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
    /// A transaction is refused because an earlier attempt under the same
    /// token is still being applied (DynamoDB's TransactionInProgress);
    /// nothing is applied by this attempt.
    InProgress,
    /// The request is applied and answered this much later.
    Slow(Duration),
}

impl Fault {
    /// Whether the fault can happen to a request of this kind: only
    /// transactions conflict or are in progress.
    fn fits(self, op: Op) -> bool {
        match self {
            Fault::Conflict | Fault::InProgress => op == Op::Transact,
            _ => true,
        }
    }
}

/// Which requests a planned fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Any,
    Reads,
    Writes,
    Transactions,
}

/// What an injector has done so far, by kind of fault: shared with whoever
/// reports it (a mount logs it at unmount).
#[derive(Debug, Default)]
pub struct Injected {
    requests: AtomicU64,
    throttle: AtomicU64,
    timeout: AtomicU64,
    conflict: AtomicU64,
    lost: AtomicU64,
    in_progress: AtomicU64,
    slow: AtomicU64,
    /// Log a summary when dropped unless [`Injected::report`] ran: a tool
    /// run under `DYNAMOFS_FAULTS` says what it went through at exit.
    report_on_drop: bool,
    reported: AtomicBool,
}

/// A copy of the counts, for tests and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InjectedCounts {
    /// Requests that passed through the injector, faulted or not.
    pub requests: u64,
    pub throttle: u64,
    pub timeout: u64,
    pub conflict: u64,
    pub lost: u64,
    pub in_progress: u64,
    pub slow: u64,
}

impl InjectedCounts {
    /// Faults of every kind.
    pub fn total(&self) -> u64 {
        self.throttle + self.timeout + self.conflict + self.lost + self.in_progress + self.slow
    }
}

/// The stable one-line form a log reader (a test, a chaos script) parses.
impl fmt::Display for InjectedCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle={} timeout={} conflict={} lost={} in_progress={} slow={} requests={}",
            self.throttle,
            self.timeout,
            self.conflict,
            self.lost,
            self.in_progress,
            self.slow,
            self.requests
        )
    }
}

impl Injected {
    fn slot(&self, f: Fault) -> &AtomicU64 {
        match f {
            Fault::Throttle => &self.throttle,
            Fault::Timeout => &self.timeout,
            Fault::Conflict => &self.conflict,
            Fault::LostResponse => &self.lost,
            Fault::InProgress => &self.in_progress,
            Fault::Slow(_) => &self.slow,
        }
    }

    pub fn counts(&self) -> InjectedCounts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        InjectedCounts {
            requests: get(&self.requests),
            throttle: get(&self.throttle),
            timeout: get(&self.timeout),
            conflict: get(&self.conflict),
            lost: get(&self.lost),
            in_progress: get(&self.in_progress),
            slow: get(&self.slow),
        }
    }

    /// Log the summary line (once): `faults injected: throttle=N ...`.
    pub fn report(&self) {
        if !self.reported.swap(true, Ordering::Relaxed) {
            tracing::warn!("faults injected: {}", self.counts());
        }
    }
}

impl Drop for Injected {
    fn drop(&mut self) {
        if self.report_on_drop {
            self.report();
        }
    }
}

/// A store wrapper that injects faults.
pub struct Faults<S> {
    inner: S,
    plan: Mutex<VecDeque<(Target, Fault)>>,
    random: Option<spec::Draws>,
    injected: Arc<Injected>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Transact,
}

impl<S: Store> Faults<S> {
    /// An injector that injects only what is planned.
    pub fn new(inner: S) -> Faults<S> {
        Faults {
            inner,
            plan: Mutex::new(VecDeque::new()),
            random: None,
            injected: Arc::default(),
        }
    }

    /// An injector that also draws faults at random at the spec's rates,
    /// and reports what it injected when its counts are dropped.
    pub fn random(inner: S, spec: &FaultSpec) -> Faults<S> {
        tracing::warn!(
            "{FAULTS_ENV} is set: injecting faults into store requests ({spec}); for tests only"
        );
        let mut injected = Injected::default();
        injected.report_on_drop = true;
        Faults {
            inner,
            plan: Mutex::new(VecDeque::new()),
            random: Some(spec::Draws::new(spec)),
            injected: Arc::new(injected),
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
        self.injected.counts().total()
    }

    /// The counts by kind, shared.
    pub fn counts(&self) -> &Arc<Injected> {
        &self.injected
    }

    /// Planned faults not yet injected.
    pub fn pending(&self) -> usize {
        self.plan.lock().map(|p| p.len()).unwrap_or(0)
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn planned(&self, op: Op) -> Option<Fault> {
        let mut plan = self.plan.lock().ok()?;
        let pos = plan.iter().position(|(t, f)| {
            let target_ok = match t {
                Target::Any => true,
                Target::Reads => op == Op::Read,
                Target::Writes => op != Op::Read,
                Target::Transactions => op == Op::Transact,
            };
            target_ok && f.fits(op)
        })?;
        plan.remove(pos).map(|(_, f)| f)
    }

    /// The fault for this request, if any: planned ones first.
    fn take(&self, op: Op) -> Option<Fault> {
        self.injected.requests.fetch_add(1, Ordering::Relaxed);
        let f = self
            .planned(op)
            .or_else(|| self.random.as_ref()?.draw().filter(|f| f.fits(op)))?;
        self.injected.slot(f).fetch_add(1, Ordering::Relaxed);
        tracing::debug!(?f, ?op, "injecting a fault");
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
            Some(Fault::InProgress) => Err(StoreError::TransactionInProgress),
            Some(Fault::LostResponse) => {
                call.await?;
                Err(StoreError::Timeout(
                    "injected: applied, then the response was lost".into(),
                ))
            }
            Some(Fault::Slow(d)) => {
                let r = call.await;
                tokio::time::sleep(d).await;
                r
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

    async fn table_info(&self, table: Table) -> StoreResult<TableInfo> {
        self.inner.table_info(table).await
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
