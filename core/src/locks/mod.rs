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
//!
//! Layout: `record` holds the lock types and the range arithmetic on one
//! inode's records; `item` the stored item, its encoding and the
//! conditional writes; `liveness` the check that a lock's session is
//! alive; `change` the client's read-modify-write loops; `admin` the
//! operator functions (listing, breaking, releasing a session's locks).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::OwnedMutexGuard;

use crate::error::{posix, Errno, FsError, FsResult};
use crate::schema::{ino_bytes, inode_p};
use crate::session::Session;
use crate::store::{Key, Store};

mod admin;
mod change;
mod item;
mod liveness;
mod record;

pub(crate) use admin::release_dead_session;
pub use record::{LockKind, LockRecord, LockRequest, LockType};

use item::read;
use record::{conflicts_with, remove_owner, unlock_posix};

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
            local: Mutex::new(HashMap::new()),
        }
    }

    pub fn session_id(&self) -> String {
        self.session.id()
    }

    /// The session's lease was lost: forget every inode this client held
    /// locks on (they belong to the old session id, given up) and return
    /// them, so that the files' open handles can be failed.
    pub fn lease_lost(&self) -> Vec<u64> {
        let Ok(mut m) = self.local.lock() else {
            return Vec::new();
        };
        let mut held: Vec<u64> = m.iter().filter(|(_, l)| l.held).map(|(i, _)| *i).collect();
        held.sort_unstable();
        for ino in &held {
            if let Some(l) = m.get_mut(ino) {
                l.held = false;
            }
        }
        m.retain(|_, l| l.held || Arc::strong_count(&l.gate) > 1);
        held
    }

    /// The inodes where this client may hold locks.
    pub fn held_inodes(&self) -> Vec<u64> {
        self.local
            .lock()
            .map(|m| m.iter().filter(|(_, l)| l.held).map(|(i, _)| *i).collect())
            .unwrap_or_default()
    }

    /// Another client dropped this session's locks on `ino` (it judged the
    /// session dead): stop believing they are held.
    pub fn taken_away(&self, ino: u64) {
        if let Ok(mut m) = self.local.lock() {
            if let Some(l) = m.get_mut(&ino) {
                l.held = false;
            }
            m.retain(|_, l| l.held || Arc::strong_count(&l.gate) > 1);
        }
    }

    /// Whether this client may hold locks on `ino`.
    pub fn holds(&self, ino: u64) -> bool {
        self.local
            .lock()
            .map(|m| m.get(&ino).is_some_and(|l| l.held))
            .unwrap_or(false)
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

    /// The first lock of a live session that conflicts with `req` (F_GETLK),
    /// or `None`. One GetItem (plus one per session not known alive).
    pub async fn getlk(&self, ino: u64, req: &LockRequest) -> FsResult<Option<LockRecord>> {
        let (s, e) = req.range()?;
        let cur = read(self.store.as_ref(), ino).await?;
        let me = self.session.id();
        for r in &cur.records {
            if conflicts_with(r, req.kind, req.typ, s, e, &me, req.owner)
                && self.dead(&r.session).await?.is_none()
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
        let me = self.session.id();
        for r in &cur.records {
            if conflicts_with(r, LockKind::Posix, typ, start, end, &me, owner)
                && self.dead(&r.session).await?.is_none()
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
}
