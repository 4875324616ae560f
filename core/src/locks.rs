//! POSIX `fcntl` byte-range locks and BSD `flock` locks, shared by every
//! mount through the store.
//!
//! All locks of one inode live in one item of the inode's partition
//! ([`lock_key`]): a postcard-encoded list of [`LockRecord`]s and a version.
//! Every change reads the item, computes the new list and writes it on
//! condition that the version is still the one read (optimistic
//! concurrency, retried with jittered backoff). The version is a random
//! 63-bit number drawn by each write, so an item deleted and created again
//! never repeats a version a slow writer read.
//!
//! Each session keeps an index of the inodes where it holds locks (one item
//! per inode in the partition `l` + session id, see [`index_key`]), changed
//! in the same transaction as the lock item, so releasing a session's locks
//! (unmount, reaping of a dead session) needs no scan. The index may name
//! inodes where the session no longer holds locks (another client dropped
//! them); it never misses one.
//!
//! Semantics (Linux's):
//! - shared (read) locks share, an exclusive (write) lock conflicts with
//!   every other owner's lock over the same bytes;
//! - POSIX locks belong to (session, kernel lock owner); one owner's locks
//!   never conflict with each other, and setting or unlocking a range
//!   splits, converts and merges that owner's ranges;
//! - `flock` locks are whole-file, belong to one open file description
//!   (the kernel's lock owner of the `flock` call), and are independent of
//!   POSIX locks. A `flock` conversion that would block keeps the old lock;
//! - a lock held by a session that has expired (or whose item is gone) does
//!   not block: the client that meets it drops the dead session's locks in
//!   the write that takes its own, on condition that the session item is
//!   still as read (so a session that heartbeated meanwhile keeps them);
//! - F_SETLKW polls with backoff (10 ms doubling to 500 ms) until granted
//!   or interrupted (EINTR).
//!
//! Not done: deadlock detection (F_SETLKW never answers EDEADLK; a cycle of
//! waiters waits until one of them is interrupted or killed, whose locks
//! then go with its close or its session).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use crate::error::{posix, Errno, FsError, FsResult};
use crate::schema::{ino_bytes, inode_p, INODE_TAG};
use crate::session::{self, session_key, Session};
use crate::store::{
    Attrs, CmpOp, Cond, Key, Query, Range, Store, StoreError, Table, Token, Value, Write,
};
use crate::superblock::now_ns;

/// End of a range that extends to the end of the file (and beyond).
pub const TO_EOF: u64 = u64::MAX;

/// Sort key of an inode's lock item (in the inode's partition).
pub const LOCKS_S: &[u8] = b"l";
/// Partition tag of the per-session lock index (`l` + session id).
pub const INDEX_TAG: u8 = b'l';

/// Attribute names of lock items and index items.
pub mod attr {
    /// Lock item: the records (binary: format byte + postcard list).
    pub const RECORDS: &str = "lk";
    /// Lock item: version, a random 63-bit number drawn by each write.
    pub const VERSION: &str = "lv";
    /// Index item: when the session first took a lock on the inode.
    pub const SINCE: &str = "t";
}

/// Format byte in front of the encoded record list.
const RECORDS_FORMAT: u8 = 1;

/// Attempts of one change before giving up (`FsError::Contended`).
const MAX_ATTEMPTS: u32 = 30;
/// Most dead sessions dropped in one write (each costs two transaction items).
const MAX_DEAD_PER_WRITE: usize = 40;
/// F_SETLKW polling: first delay and cap.
const WAIT_FIRST: Duration = Duration::from_millis(10);
const WAIT_MAX: Duration = Duration::from_millis(500);
/// How often a waiter looks at its interruption probe while sleeping.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// Key of an inode's lock item.
pub fn lock_key(ino: u64) -> Key {
    Key::new(inode_p(ino), LOCKS_S)
}

/// Partition of a session's lock index.
pub fn index_p(session: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(1 + session.len());
    p.push(INDEX_TAG);
    p.extend_from_slice(session.as_bytes());
    p
}

/// Key of the index item saying `session` may hold locks on `ino`.
pub fn index_key(session: &str, ino: u64) -> Key {
    Key::new(index_p(session), ino_bytes(ino))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockKind {
    /// `fcntl` (F_SETLK, F_SETLKW, F_GETLK, and `lockf`): byte ranges.
    Posix,
    /// BSD `flock`: the whole file.
    Flock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockType {
    /// Shared (F_RDLCK, LOCK_SH).
    Read,
    /// Exclusive (F_WRLCK, LOCK_EX).
    Write,
}

impl LockType {
    /// Whether a lock of this type and one of `other` cannot both be held
    /// (by different owners) over the same bytes.
    pub fn conflicts(self, other: LockType) -> bool {
        self == LockType::Write || other == LockType::Write
    }
}

/// One held lock, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub kind: LockKind,
    pub typ: LockType,
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive; [`TO_EOF`] for "to the end of the file".
    /// Flock locks are always `0..=TO_EOF`.
    pub end: u64,
    /// The owner: the session that took it ...
    pub session: String,
    /// ... and the kernel's lock owner (POSIX: the process's file table;
    /// flock: the open file description).
    pub owner: u64,
    /// Process that took it (what F_GETLK reports).
    pub pid: u32,
    /// Host of the session that took it.
    pub host: String,
    /// When it was taken (ns since 1970; for merged ranges the oldest part).
    pub acquired: i64,
}

impl LockRecord {
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }

    pub fn owned_by(&self, session: &str, owner: u64) -> bool {
        self.owner == owner && self.session == session
    }

    fn sort_key(&self) -> (LockKind, u64, u64, &str, u64) {
        (self.kind, self.start, self.end, &self.session, self.owner)
    }
}

/// A lock to set, or to test with F_GETLK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRequest {
    pub kind: LockKind,
    pub typ: LockType,
    /// First byte (ignored for flock).
    pub start: u64,
    /// Last byte, inclusive; [`TO_EOF`] to the end (ignored for flock).
    pub end: u64,
    /// The kernel's lock owner.
    pub owner: u64,
    pub pid: u32,
}

impl LockRequest {
    pub fn posix(typ: LockType, start: u64, end: u64, owner: u64, pid: u32) -> LockRequest {
        LockRequest {
            kind: LockKind::Posix,
            typ,
            start,
            end,
            owner,
            pid,
        }
    }

    pub fn flock(typ: LockType, owner: u64, pid: u32) -> LockRequest {
        LockRequest {
            kind: LockKind::Flock,
            typ,
            start: 0,
            end: TO_EOF,
            owner,
            pid,
        }
    }

    /// The range this request covers (flock: the whole file).
    fn range(&self) -> FsResult<(u64, u64)> {
        match self.kind {
            LockKind::Flock => Ok((0, TO_EOF)),
            LockKind::Posix if self.start <= self.end => Ok((self.start, self.end)),
            LockKind::Posix => Err(posix(
                Errno::EINVAL,
                format!("lock range {}..={} is backwards", self.start, self.end),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// The stored item.

/// An inode's lock item as read: `version` is `None` when there is none.
#[derive(Clone, Debug, Default)]
struct Current {
    version: Option<i64>,
    records: Vec<LockRecord>,
}

impl Current {
    /// The condition that the item is still as read.
    fn unchanged(&self) -> Cond {
        match self.version {
            Some(v) => Cond::eq(attr::VERSION, Value::N(v)),
            None => Cond::NotExists,
        }
    }

    fn has_session(&self, session: &str) -> bool {
        self.records.iter().any(|r| r.session == session)
    }
}

fn damaged(ino: u64, why: impl std::fmt::Display) -> FsError {
    let why = format!("lock item of inode {ino}: {why}");
    tracing::error!("damaged lock item: {why}");
    FsError::Corrupt(why)
}

fn encode(records: &[LockRecord]) -> FsResult<Vec<u8>> {
    let mut b = vec![RECORDS_FORMAT];
    let body = postcard::to_allocvec(records)
        .map_err(|e| FsError::Corrupt(format!("cannot encode lock records: {e}")))?;
    b.extend_from_slice(&body);
    Ok(b)
}

fn decode(ino: u64, attrs: &Attrs) -> FsResult<Current> {
    let version = attrs
        .get(attr::VERSION)
        .and_then(Value::as_n)
        .ok_or_else(|| damaged(ino, format!("no version `{}`", attr::VERSION)))?;
    let blob = attrs
        .get(attr::RECORDS)
        .and_then(Value::as_b)
        .ok_or_else(|| damaged(ino, format!("no records `{}`", attr::RECORDS)))?;
    let records: Vec<LockRecord> = match blob.split_first() {
        Some((&RECORDS_FORMAT, body)) => {
            postcard::from_bytes(body).map_err(|e| damaged(ino, format!("records: {e}")))?
        }
        Some((f, _)) => return Err(damaged(ino, format!("unknown records format {f}"))),
        None => return Err(damaged(ino, "empty records attribute")),
    };
    for r in &records {
        if r.start > r.end {
            return Err(damaged(ino, format!("backwards range in {r:?}")));
        }
        if r.kind == LockKind::Flock && (r.start, r.end) != (0, TO_EOF) {
            return Err(damaged(ino, format!("flock lock with a range: {r:?}")));
        }
    }
    Ok(Current {
        version: Some(version),
        records,
    })
}

async fn read(store: &dyn Store, ino: u64) -> FsResult<Current> {
    match store.get(Table::Meta, &lock_key(ino), true).await? {
        None => Ok(Current::default()),
        Some(it) => decode(ino, &it.attrs),
    }
}

fn new_version() -> i64 {
    rand::rng().random_range(1..i64::MAX)
}

/// The write that turns the item read (`cur`) into `records`; `None` when
/// nothing changes.
fn record_write(ino: u64, cur: &Current, records: &[LockRecord]) -> FsResult<Option<Write>> {
    if records == cur.records.as_slice() {
        return Ok(None);
    }
    if records.is_empty() {
        return Ok(Some(Write::Delete {
            table: Table::Meta,
            key: lock_key(ino),
            cond: Some(cur.unchanged()),
        }));
    }
    let mut a = Attrs::new();
    a.insert(attr::RECORDS.into(), Value::B(encode(records)?));
    a.insert(attr::VERSION.into(), Value::N(new_version()));
    Ok(Some(Write::Put {
        table: Table::Meta,
        key: lock_key(ino),
        attrs: a,
        cond: Some(cur.unchanged()),
    }))
}

fn index_put(session: &str, ino: u64, now: i64) -> Write {
    let mut a = Attrs::new();
    a.insert(attr::SINCE.into(), Value::N(now));
    Write::Put {
        table: Table::Meta,
        key: index_key(session, ino),
        attrs: a,
        cond: None,
    }
}

fn index_delete(session: &str, ino: u64) -> Write {
    Write::Delete {
        table: Table::Meta,
        key: index_key(session, ino),
        cond: None,
    }
}

/// The writes of one change, in order: the lock item's write (or a check
/// that it is unchanged, when only index items change), then the rest.
struct Plan {
    writes: Vec<Write>,
    /// Position of the check that our own session is alive, if any.
    own_check: Option<usize>,
    /// Position of the check that a reaped session is still gone, if any.
    gone_check: Option<usize>,
}

enum Failed {
    /// The lock item (or a dead session) changed since it was read: re-read.
    Raced,
    /// Our own session item is gone or expired.
    OwnSession,
    /// The session being reaped registered again.
    SessionBack,
    Store(StoreError),
}

impl Plan {
    fn new(ino: u64, cur: &Current, records: &[LockRecord]) -> FsResult<Plan> {
        Ok(Plan {
            writes: record_write(ino, cur, records)?.into_iter().collect(),
            own_check: None,
            gone_check: None,
        })
    }

    fn push(&mut self, w: Write) -> usize {
        self.writes.push(w);
        self.writes.len() - 1
    }

    async fn commit(mut self, store: &dyn Store, ino: u64, cur: &Current) -> Result<(), Failed> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let item_written = self.writes[0].key() == &lock_key(ino);
        if !item_written {
            // Index or session changes only: still conditional on the lock
            // item, so that index changes follow the item's order.
            self.writes.insert(
                0,
                Write::Check {
                    table: Table::Meta,
                    key: lock_key(ino),
                    cond: cur.unchanged(),
                },
            );
            self.own_check = self.own_check.map(|i| i + 1);
            self.gone_check = self.gone_check.map(|i| i + 1);
        }
        let r = if self.writes.len() == 1 {
            store.write(&self.writes[0]).await
        } else {
            store.transact(&self.writes, &Token::fresh()).await
        };
        match r {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { index, .. }) => Err(match index {
                Some(i) if Some(i) == self.own_check => Failed::OwnSession,
                Some(i) if Some(i) == self.gone_check => Failed::SessionBack,
                _ => Failed::Raced,
            }),
            Err(e) => Err(Failed::Store(e)),
        }
    }
}

async fn backoff(attempt: u32) {
    let cap_ms = (2u64 << attempt.min(6)).min(100);
    let ms = rand::rng().random_range(1..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn sort(records: &mut [LockRecord]) {
    records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

// ---------------------------------------------------------------------------
// Lock arithmetic on one inode's records.

fn conflicts_with(
    r: &LockRecord,
    kind: LockKind,
    typ: LockType,
    start: u64,
    end: u64,
    session: &str,
    owner: u64,
) -> bool {
    r.kind == kind && !r.owned_by(session, owner) && r.overlaps(start, end) && r.typ.conflicts(typ)
}

/// Set `new` (a POSIX lock) among the records: the owner's ranges under it
/// are replaced (converted), its ranges of the same type that overlap or
/// touch it are merged into it.
fn set_posix(records: &mut Vec<LockRecord>, new: LockRecord) {
    let (s0, e0) = (new.start, new.end);
    let (mut s, mut e, mut acquired) = (s0, e0, new.acquired);
    let touches =
        |r: &LockRecord| (e0 == TO_EOF || r.start <= e0 + 1) && (s0 == 0 || r.end >= s0 - 1);
    let mut out = Vec::with_capacity(records.len() + 2);
    for r in records.drain(..) {
        if r.kind != LockKind::Posix || !r.owned_by(&new.session, new.owner) {
            out.push(r);
        } else if r.typ == new.typ && touches(&r) {
            s = s.min(r.start);
            e = e.max(r.end);
            acquired = acquired.min(r.acquired);
        } else if r.overlaps(s0, e0) {
            out.extend(outside(r, s0, e0));
        } else {
            out.push(r);
        }
    }
    out.push(LockRecord {
        start: s,
        end: e,
        acquired,
        ..new
    });
    sort(&mut out);
    *records = out;
}

/// The parts of `r` outside `s..=e` (zero, one or two records).
fn outside(r: LockRecord, s: u64, e: u64) -> Vec<LockRecord> {
    let mut v = Vec::new();
    if r.start < s {
        v.push(LockRecord {
            end: s - 1,
            ..r.clone()
        });
    }
    if r.end > e {
        v.push(LockRecord { start: e + 1, ..r });
    }
    v
}

/// Remove the owner's POSIX locks over `s..=e`, splitting ranges.
fn unlock_posix(records: &mut Vec<LockRecord>, session: &str, owner: u64, s: u64, e: u64) {
    let mut out = Vec::with_capacity(records.len() + 1);
    for r in records.drain(..) {
        if r.kind == LockKind::Posix && r.owned_by(session, owner) && r.overlaps(s, e) {
            out.extend(outside(r, s, e));
        } else {
            out.push(r);
        }
    }
    sort(&mut out);
    *records = out;
}

/// Remove the owner's locks of one kind.
fn remove_owner(records: &mut Vec<LockRecord>, kind: LockKind, session: &str, owner: u64) {
    records.retain(|r| !(r.kind == kind && r.owned_by(session, owner)));
}

// ---------------------------------------------------------------------------
// One mount's lock client.

/// Per-inode local state: a gate that orders this client's changes of the
/// inode's lock item, and whether this session may hold locks there (so a
/// close of a file it never locked costs no request).
struct Local {
    gate: Arc<tokio::sync::Mutex<()>>,
    held: bool,
}

/// The lock client of one session (one mount).
pub struct Locks {
    session: Arc<Session>,
    store: Arc<dyn Store>,
    host: String,
    /// Sessions seen alive, with the expiry read: alive until then.
    live: Mutex<HashMap<String, i64>>,
    local: Mutex<HashMap<u64, Local>>,
}

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locks")
            .field("session", &self.session.id())
            .finish()
    }
}

/// Holds an inode's gate; on drop, forgets the inode's local state when
/// nothing is held there and nobody else waits.
struct Gate<'a> {
    locks: &'a Locks,
    ino: u64,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Gate<'_> {
    fn set_held(&self, held: bool) {
        if let Ok(mut m) = self.locks.local.lock() {
            if let Some(l) = m.get_mut(&self.ino) {
                l.held = held;
            }
        }
    }

    fn held(&self) -> bool {
        self.locks
            .local
            .lock()
            .map(|m| m.get(&self.ino).is_some_and(|l| l.held))
            .unwrap_or(true)
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        if let Ok(mut m) = self.locks.local.lock() {
            if let Some(l) = m.get(&self.ino) {
                if !l.held && Arc::strong_count(&l.gate) == 1 {
                    m.remove(&self.ino);
                }
            }
        }
    }
}

/// What the lock item holds against a request.
enum Attempt {
    Done,
    Blocked(LockRecord),
}

impl Locks {
    pub fn new(session: Arc<Session>) -> Locks {
        Locks {
            store: session.store().clone(),
            host: session.info().host,
            session,
            live: Mutex::new(HashMap::new()),
            local: Mutex::new(HashMap::new()),
        }
    }

    pub fn session_id(&self) -> &str {
        self.session.id()
    }

    async fn gate(&self, ino: u64) -> Gate<'_> {
        let g = match self.local.lock() {
            Ok(mut m) => m
                .entry(ino)
                .or_insert_with(|| Local {
                    gate: Arc::new(tokio::sync::Mutex::new(())),
                    held: false,
                })
                .gate
                .clone(),
            // Poisoned: work without local ordering (held() says true).
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        };
        let guard = g.lock_owned().await;
        Gate {
            locks: self,
            ino,
            guard: Some(guard),
        }
    }

    /// Whether `session` is alive: `None` if so, else the condition under
    /// which it is still dead (its item absent, or its expiry as read).
    async fn dead(&self, session: &str, now: i64) -> FsResult<Option<Cond>> {
        if session == self.session.id() {
            return Ok(None);
        }
        if let Ok(m) = self.live.lock() {
            if m.get(session).is_some_and(|&x| x > now) {
                return Ok(None);
            }
        }
        let it = self
            .store
            .get(Table::Meta, &session_key(session), true)
            .await?;
        let expiry = it
            .as_ref()
            .and_then(|it| it.attrs.get(session::attr::EXPIRES))
            .and_then(Value::as_n);
        Ok(match (it, expiry) {
            (None, _) => Some(Cond::NotExists),
            (Some(_), Some(x)) if x > now => {
                if let Ok(mut m) = self.live.lock() {
                    m.insert(session.to_string(), x);
                }
                None
            }
            (Some(_), Some(x)) => Some(Cond::Or(vec![
                Cond::NotExists,
                Cond::eq(session::attr::EXPIRES, Value::N(x)),
            ])),
            (Some(_), None) => Some(Cond::Or(vec![
                Cond::NotExists,
                Cond::And(vec![Cond::Exists, Cond::has_not(session::attr::EXPIRES)]),
            ])),
        })
    }

    /// The first lock of a live session that conflicts with `req` (F_GETLK),
    /// or `None`. One GetItem (plus one per session not known alive).
    pub async fn getlk(&self, ino: u64, req: &LockRequest) -> FsResult<Option<LockRecord>> {
        let (s, e) = req.range()?;
        let cur = read(self.store.as_ref(), ino).await?;
        let now = now_ns();
        let me = self.session.id();
        for r in &cur.records {
            if conflicts_with(r, req.kind, req.typ, s, e, me, req.owner)
                && self.dead(&r.session, now).await?.is_none()
            {
                return Ok(Some(r.clone()));
            }
        }
        Ok(None)
    }

    /// F_SETLK / LOCK_NB: set the lock, or EAGAIN if another owner holds a
    /// conflicting one.
    pub async fn setlk(&self, ino: u64, req: &LockRequest) -> FsResult<()> {
        match self.try_set(ino, req).await? {
            Attempt::Done => Ok(()),
            Attempt::Blocked(r) => Err(posix(
                Errno::EAGAIN,
                format!(
                    "lock on inode {ino}: held by pid {} on {} (session {})",
                    r.pid, r.host, r.session
                ),
            )),
        }
    }

    /// F_SETLKW / blocking flock: wait until the lock is granted, polling
    /// with backoff (10 ms doubling to 500 ms). `interrupted` is looked at
    /// while waiting (every 20 ms); once it says true the wait ends with
    /// EINTR. Dropping the future also abandons the wait.
    pub async fn setlkw(
        &self,
        ino: u64,
        req: &LockRequest,
        interrupted: &(dyn Fn() -> bool + Send + Sync),
    ) -> FsResult<()> {
        let mut delay = WAIT_FIRST;
        loop {
            match self.try_set(ino, req).await {
                Ok(Attempt::Done) => return Ok(()),
                Ok(Attempt::Blocked(_)) => {}
                // Many clients changing the item at once: wait and try again.
                Err(FsError::Contended(n)) => {
                    tracing::debug!(ino, attempts = n, "lock item contended; still waiting")
                }
                Err(e) => return Err(e),
            }
            let nanos = delay.as_nanos().min(u64::MAX as u128) as u64;
            let sleep = Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos));
            let until = tokio::time::Instant::now() + sleep;
            loop {
                if interrupted() {
                    return Err(posix(
                        Errno::EINTR,
                        format!("waiting for a lock on inode {ino}"),
                    ));
                }
                let now = tokio::time::Instant::now();
                if now >= until {
                    break;
                }
                tokio::time::sleep((until - now).min(WAIT_SLICE)).await;
            }
            delay = (delay * 2).min(WAIT_MAX);
        }
    }

    async fn try_set(&self, ino: u64, req: &LockRequest) -> FsResult<Attempt> {
        let (s, e) = req.range()?;
        let me = self.session.id().to_string();
        let mut attempt = 0;
        let mut own_fails = 0;
        loop {
            let gate = self.gate(ino).await;
            // Before the write: a write whose answer is lost may have landed.
            gate.set_held(true);
            let cur = read(self.store.as_ref(), ino).await?;
            let now = now_ns();
            let mut dead: Vec<(String, Cond)> = Vec::new();
            let mut blocked = None;
            for r in &cur.records {
                if !conflicts_with(r, req.kind, req.typ, s, e, &me, req.owner)
                    || dead.iter().any(|(d, _)| *d == r.session)
                {
                    continue;
                }
                match self.dead(&r.session, now).await? {
                    None => {
                        blocked = Some(r.clone());
                        break;
                    }
                    Some(c) if dead.len() < MAX_DEAD_PER_WRITE => {
                        tracing::info!(
                            ino,
                            session = r.session,
                            "dropping the locks of a dead session"
                        );
                        dead.push((r.session.clone(), c));
                    }
                    // More next round.
                    Some(_) => {}
                }
            }
            if let Some(b) = blocked {
                gate.set_held(cur.has_session(&me));
                return Ok(Attempt::Blocked(b));
            }
            let mut records: Vec<LockRecord> = cur
                .records
                .iter()
                .filter(|r| !dead.iter().any(|(d, _)| *d == r.session))
                .cloned()
                .collect();
            let new = LockRecord {
                kind: req.kind,
                typ: req.typ,
                start: s,
                end: e,
                session: me.clone(),
                owner: req.owner,
                pid: req.pid,
                host: self.host.clone(),
                acquired: now,
            };
            match req.kind {
                LockKind::Posix => set_posix(&mut records, new),
                LockKind::Flock => {
                    remove_owner(&mut records, LockKind::Flock, &me, req.owner);
                    records.push(new);
                    sort(&mut records);
                }
            }
            let mut plan = Plan::new(ino, &cur, &records)?;
            if plan.writes.is_empty() {
                // Already held exactly so.
                return Ok(Attempt::Done);
            }
            plan.own_check = Some(plan.push(Write::Check {
                table: Table::Meta,
                key: session_key(&me),
                cond: Cond::And(vec![
                    Cond::Exists,
                    Cond::cmp(session::attr::EXPIRES, CmpOp::Gt, Value::N(now)),
                ]),
            }));
            if !cur.has_session(&me) {
                plan.push(index_put(&me, ino, now));
            }
            for (d, c) in &dead {
                plan.push(Write::Check {
                    table: Table::Meta,
                    key: session_key(d),
                    cond: c.clone(),
                });
                plan.push(index_delete(d, ino));
            }
            match plan.commit(self.store.as_ref(), ino, &cur).await {
                Ok(()) => return Ok(Attempt::Done),
                Err(Failed::Store(e)) => return Err(e.into()),
                Err(Failed::OwnSession) if own_fails < 2 => {
                    own_fails += 1;
                    drop(gate);
                    tracing::warn!(session = me, "own session gone or expired; refreshing it");
                    self.session.heartbeat().await?;
                }
                Err(Failed::OwnSession) => {
                    return Err(posix(
                        Errno::EIO,
                        format!("session {me} is no longer registered: cannot take locks"),
                    ))
                }
                Err(Failed::Raced | Failed::SessionBack) => {
                    drop(gate);
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(FsError::Contended(attempt));
                    }
                    backoff(attempt).await;
                }
            }
        }
    }

    /// Change only this session's own records on `ino` (unlock, release).
    /// Costs nothing when this client holds no lock there.
    async fn change_own(
        &self,
        ino: u64,
        f: &(dyn Fn(&mut Vec<LockRecord>) + Send + Sync),
    ) -> FsResult<()> {
        let me = self.session.id().to_string();
        let mut attempt = 0;
        loop {
            let gate = self.gate(ino).await;
            if !gate.held() {
                return Ok(());
            }
            let cur = read(self.store.as_ref(), ino).await?;
            let mut records = cur.records.clone();
            f(&mut records);
            let mut plan = Plan::new(ino, &cur, &records)?;
            let (before, after) = (
                cur.has_session(&me),
                records.iter().any(|r| r.session == me),
            );
            if plan.writes.is_empty() {
                gate.set_held(before);
                return Ok(());
            }
            if before && !after {
                plan.push(index_delete(&me, ino));
            }
            match plan.commit(self.store.as_ref(), ino, &cur).await {
                Ok(()) => {
                    gate.set_held(after);
                    return Ok(());
                }
                Err(Failed::Store(e)) => return Err(e.into()),
                Err(_) => {
                    drop(gate);
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(FsError::Contended(attempt));
                    }
                    backoff(attempt).await;
                }
            }
        }
    }

    /// F_UNLCK / LOCK_UN: remove the owner's locks of `kind` over
    /// `start..=end` (flock: the owner's flock lock, whatever the range).
    pub async fn unlock(
        &self,
        ino: u64,
        kind: LockKind,
        owner: u64,
        start: u64,
        end: u64,
    ) -> FsResult<()> {
        if start > end && kind == LockKind::Posix {
            return Err(posix(
                Errno::EINVAL,
                format!("unlock range {start}..={end} is backwards"),
            ));
        }
        let me = self.session.id().to_string();
        match kind {
            LockKind::Posix => {
                self.change_own(ino, &move |r: &mut Vec<LockRecord>| {
                    unlock_posix(r, &me, owner, start, end)
                })
                .await
            }
            LockKind::Flock => {
                self.change_own(ino, &move |r: &mut Vec<LockRecord>| {
                    remove_owner(r, LockKind::Flock, &me, owner)
                })
                .await
            }
        }
    }

    /// Close of a file by a process (FUSE flush/release): release the POSIX
    /// locks of this lock owner on the inode. No request when this client
    /// holds no lock on the inode.
    pub async fn release_owner(&self, ino: u64, owner: u64) -> FsResult<()> {
        self.unlock(ino, LockKind::Posix, owner, 0, TO_EOF).await
    }

    /// Last close of an open file description (FUSE release with the flock
    /// release flag): release its flock lock on the inode.
    pub async fn release_flock(&self, ino: u64, owner: u64) -> FsResult<()> {
        self.unlock(ino, LockKind::Flock, owner, 0, TO_EOF).await
    }

    /// Mandatory locking (mount option `mandatory_locks`): EAGAIN if another
    /// owner holds a POSIX lock over `start..=end` that conflicts with a
    /// read (a write lock) or a write (any lock). Flock locks are advisory
    /// only, as on Linux. One GetItem per call.
    pub async fn check_io(
        &self,
        ino: u64,
        owner: u64,
        start: u64,
        end: u64,
        write: bool,
    ) -> FsResult<()> {
        if start > end {
            return Ok(());
        }
        let typ = if write {
            LockType::Write
        } else {
            LockType::Read
        };
        let cur = read(self.store.as_ref(), ino).await?;
        let now = now_ns();
        let me = self.session.id();
        for r in &cur.records {
            if conflicts_with(r, LockKind::Posix, typ, start, end, me, owner)
                && self.dead(&r.session, now).await?.is_none()
            {
                return Err(posix(
                    Errno::EAGAIN,
                    format!(
                        "{} of inode {ino} bytes {start}..={end}: locked by pid {} on {}",
                        if write { "write" } else { "read" },
                        r.pid,
                        r.host
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The locks on one inode (one GetItem), dead sessions' included.
    pub async fn list_inode(store: &dyn Store, ino: u64) -> FsResult<Vec<LockRecord>> {
        Ok(read(store, ino).await?.records)
    }

    /// Every lock of every inode, dead sessions' included.
    ///
    /// Scans the whole metadata table: for the `dynamofs lock` operator
    /// tool only, never on a file operation.
    pub async fn list_all(store: &dyn Store) -> FsResult<Vec<(u64, LockRecord)>> {
        let mut out = Vec::new();
        let mut start: Option<Key> = None;
        loop {
            let page = store.scan(Table::Meta, start.as_ref(), 1000).await?;
            for it in &page.items {
                if it.key.s != LOCKS_S || it.key.p.len() != 9 || it.key.p[0] != INODE_TAG {
                    continue;
                }
                let Ok(b) = <[u8; 8]>::try_from(&it.key.p[1..]) else {
                    continue;
                };
                let ino = u64::from_be_bytes(b);
                out.extend(
                    decode(ino, &it.attrs)?
                        .records
                        .into_iter()
                        .map(|r| (ino, r)),
                );
            }
            match page.next {
                Some(n) => start = Some(n),
                None => break,
            }
        }
        Ok(out)
    }

    /// The inodes a session's index names (it may hold locks there). One
    /// Query of the session's index partition.
    pub async fn session_inodes(store: &dyn Store, session_id: &str) -> FsResult<Vec<u64>> {
        let mut q = Query::new(Table::Meta, index_p(session_id), Range::All);
        q.limit = Some(1000);
        let mut out = Vec::new();
        loop {
            let page = store.query(&q).await?;
            for it in &page.items {
                match <[u8; 8]>::try_from(it.key.s.as_slice()) {
                    Ok(b) => out.push(u64::from_be_bytes(b)),
                    Err(_) => {
                        tracing::warn!(key = %it.key, "damaged lock index item: sort key is not an inode number")
                    }
                }
            }
            match page.next {
                Some(n) => q.start_after = Some(n),
                None => break,
            }
        }
        Ok(out)
    }

    /// Release every lock of a session, found through its index (no scan).
    /// Used by [`Session::end`]; also the operator's "break all of a dead
    /// session's locks". Returns how many lock records went.
    pub async fn release_session(store: &dyn Store, session_id: &str) -> FsResult<usize> {
        release_session_where(store, session_id, false).await
    }

    /// `dynamofs lock --break-session`: same as [`Locks::release_session`].
    pub async fn break_session(store: &dyn Store, session_id: &str) -> FsResult<usize> {
        Self::release_session(store, session_id).await
    }

    /// `dynamofs lock --break`: remove the lock records equal to `lock` on
    /// `ino` (as listed by [`Locks::list_all`] or [`Locks::list_inode`]).
    /// Returns whether there was one.
    pub async fn break_lock(store: &dyn Store, ino: u64, lock: &LockRecord) -> FsResult<bool> {
        let mut attempt = 0;
        loop {
            let cur = read(store, ino).await?;
            if !cur.records.contains(lock) {
                return Ok(false);
            }
            let records: Vec<LockRecord> =
                cur.records.iter().filter(|r| *r != lock).cloned().collect();
            let mut plan = Plan::new(ino, &cur, &records)?;
            if !records.iter().any(|r| r.session == lock.session) {
                plan.push(index_delete(&lock.session, ino));
            }
            match plan.commit(store, ino, &cur).await {
                Ok(()) => {
                    tracing::info!(ino, ?lock, "lock broken");
                    return Ok(true);
                }
                Err(Failed::Store(e)) => return Err(e.into()),
                Err(_) => {
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(FsError::Contended(attempt));
                    }
                    backoff(attempt).await;
                }
            }
        }
    }

    /// Delete an inode's lock item whatever it holds (repairs a damaged
    /// one; operator tool and fsck only). Index items naming the inode stay
    /// and are dropped when their sessions end.
    pub async fn break_inode(store: &dyn Store, ino: u64) -> FsResult<()> {
        store
            .write(&Write::Delete {
                table: Table::Meta,
                key: lock_key(ino),
                cond: None,
            })
            .await?;
        Ok(())
    }
}

/// Release a reaped session's locks, each change on condition that its item
/// is still absent: a session that registered again keeps what it holds.
pub(crate) async fn release_dead_session(store: &dyn Store, session_id: &str) -> FsResult<usize> {
    release_session_where(store, session_id, true).await
}

async fn release_session_where(
    store: &dyn Store,
    session_id: &str,
    while_gone: bool,
) -> FsResult<usize> {
    let mut released = 0;
    for ino in Locks::session_inodes(store, session_id).await? {
        let mut attempt = 0;
        loop {
            let cur = read(store, ino).await?;
            let records: Vec<LockRecord> = cur
                .records
                .iter()
                .filter(|r| r.session != session_id)
                .cloned()
                .collect();
            let n = cur.records.len() - records.len();
            let mut plan = Plan::new(ino, &cur, &records)?;
            plan.push(index_delete(session_id, ino));
            if while_gone {
                plan.gone_check = Some(plan.push(Write::Check {
                    table: Table::Meta,
                    key: session_key(session_id),
                    cond: Cond::NotExists,
                }));
            }
            match plan.commit(store, ino, &cur).await {
                Ok(()) => {
                    released += n;
                    break;
                }
                Err(Failed::SessionBack) => {
                    tracing::warn!(
                        session = session_id,
                        "session registered again while its locks were being released; it keeps the rest"
                    );
                    return Ok(released);
                }
                Err(Failed::Store(e)) => return Err(e.into()),
                Err(Failed::Raced | Failed::OwnSession) => {
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(FsError::Contended(attempt));
                    }
                    backoff(attempt).await;
                }
            }
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(typ: LockType, start: u64, end: u64, owner: u64) -> LockRecord {
        LockRecord {
            kind: LockKind::Posix,
            typ,
            start,
            end,
            session: "s".into(),
            owner,
            pid: 1,
            host: "h".into(),
            acquired: 0,
        }
    }

    fn ranges(v: &[LockRecord]) -> Vec<(LockType, u64, u64, u64)> {
        v.iter().map(|r| (r.typ, r.start, r.end, r.owner)).collect()
    }

    use LockType::{Read as R, Write as W};

    #[test]
    fn merge_split_convert() {
        let mut v = Vec::new();
        set_posix(&mut v, rec(W, 0, 9, 1));
        set_posix(&mut v, rec(W, 10, 19, 1));
        assert_eq!(ranges(&v), [(W, 0, 19, 1)], "adjacent ranges merge");
        set_posix(&mut v, rec(R, 5, 9, 1));
        assert_eq!(ranges(&v), [(W, 0, 4, 1), (R, 5, 9, 1), (W, 10, 19, 1)]);
        set_posix(&mut v, rec(W, 5, 9, 1));
        assert_eq!(ranges(&v), [(W, 0, 19, 1)], "converted back and merged");
        unlock_posix(&mut v, "s", 1, 5, 9);
        assert_eq!(ranges(&v), [(W, 0, 4, 1), (W, 10, 19, 1)]);
        set_posix(&mut v, rec(R, 3, TO_EOF, 2));
        set_posix(&mut v, rec(R, 0, TO_EOF, 1));
        assert_eq!(ranges(&v), [(R, 0, TO_EOF, 1), (R, 3, TO_EOF, 2)]);
        unlock_posix(&mut v, "s", 1, 0, TO_EOF);
        assert_eq!(ranges(&v), [(R, 3, TO_EOF, 2)]);
        set_posix(&mut v, rec(W, TO_EOF, TO_EOF, 2));
        assert_eq!(ranges(&v), [(R, 3, TO_EOF - 1, 2), (W, TO_EOF, TO_EOF, 2)]);
        set_posix(&mut v, rec(R, 0, 2, 2));
        assert_eq!(ranges(&v), [(R, 0, TO_EOF - 1, 2), (W, TO_EOF, TO_EOF, 2)]);
    }

    #[test]
    fn records_round_trip_and_damage_is_eio() {
        let v = vec![rec(W, 0, 9, 1)];
        let mut a = Attrs::new();
        a.insert(
            attr::RECORDS.into(),
            Value::B(encode(&v).unwrap_or_default()),
        );
        a.insert(attr::VERSION.into(), Value::N(7));
        let cur = decode(1, &a).map_err(|e| e.to_string());
        assert_eq!(cur.map(|c| c.records), Ok(v));
        a.insert(
            attr::RECORDS.into(),
            Value::B(vec![RECORDS_FORMAT, 0xff, 0xff]),
        );
        assert!(matches!(decode(1, &a), Err(e) if e.errno() == Errno::EIO));
        a.insert(attr::RECORDS.into(), Value::B(vec![9]));
        assert!(matches!(decode(1, &a), Err(e) if e.errno() == Errno::EIO));
        a.remove(attr::VERSION);
        assert!(matches!(decode(1, &a), Err(e) if e.errno() == Errno::EIO));
    }
}
