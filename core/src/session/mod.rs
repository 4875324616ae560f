//! Sessions: one item per mount in the sessions partition, kept alive by a
//! heartbeat. Locks belong to a session, and the inodes its client holds
//! open are published with every heartbeat, so that no other client
//! collects data this one still reads.
//!
//! Liveness is judged on monotonic clocks, never by comparing wall clocks
//! of different machines (see `peers`): a peer is dead once its heartbeat
//! number has stood still for its TTL as this client measures it; the
//! client itself trusts its lease only until a little before the TTL has
//! passed since it sent its last heartbeat that got through. A client that
//! could not renew in time has lost its lease: it takes a new session id,
//! gives up its locks, and tells whoever listens ([`Session::lease_losses`])
//! so that I/O on files locked under the old lease fails with EIO.
//!
//! Item: partition [`SESSIONS_P`], sort key the session id (32 hex digits
//! of a random 128-bit number). Attributes are listed in [`attr`]; times
//! are nanoseconds since 1970 in the clock of the client that wrote them,
//! for operators and offline tools only.

mod info;
mod peers;
mod reap;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub use info::{attr, SessionInfo, MAX_LISTED_OPEN};
pub use peers::{Peers, Verdict};

use crate::error::{posix, Errno, FsResult};
use crate::held::Held;
use crate::locks;
use crate::schema::SESSIONS_P;
use crate::store::{
    Attrs, Change, Cond, Counters, Key, Query, Range, Store, StoreError, Table, Value, Write,
};
use crate::superblock::now_ns;

use info::{open_attr, ttl_ns};

/// How long a session lives without a heartbeat, unless configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The heartbeat reaps dead sessions on every this many beats (with a
/// beat every TTL/3: about once per TTL).
pub const REAP_EVERY: u64 = 3;

/// This machine's host name (for session items and lock listings).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Key of a session's item.
pub fn session_key(id: &str) -> Key {
    Key::new(SESSIONS_P, id.as_bytes())
}

/// How long after sending a heartbeat that got through the client trusts
/// its lease: a tenth short of the TTL, so that no peer (which counts the
/// TTL from when it saw that heartbeat, later) can judge it dead first.
fn lease(ttl: Duration) -> Duration {
    ttl - ttl / 10
}

/// What a heartbeat did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Beat {
    /// The lease is renewed.
    Renewed,
    /// The lease had been lost; the client now has a new session id.
    Registered { old: String },
}

struct State {
    info: SessionInfo,
    /// Whether `info.id`'s item was written (false between a lost lease and
    /// the registration of the new id).
    registered: bool,
    /// The lease holds until then.
    lease_until: Instant,
}

/// One mount's session.
pub struct Session {
    store: Arc<dyn Store>,
    ttl: Duration,
    state: Mutex<State>,
    beat: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// One heartbeat at a time (the task, and lock clients that find their
    /// session gone).
    beating: tokio::sync::Mutex<()>,
    ended: AtomicBool,
    /// Request counters each heartbeat publishes, if any.
    published: Mutex<Option<Arc<Counters>>>,
    /// The inodes this client holds open, published with each heartbeat.
    held: Mutex<Option<Held>>,
    peers: Arc<Peers>,
    /// How many times the lease was lost.
    losses: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", &self.info())
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn new_info(mountpoint: &str, ttl: Duration, open: Option<Vec<u64>>) -> SessionInfo {
    let now = now_ns();
    SessionInfo {
        id: format!("{:032x}", rand::random::<u128>()),
        host: hostname(),
        pid: std::process::id(),
        mountpoint: mountpoint.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: now,
        expires: now.saturating_add(ttl_ns(ttl)),
        heartbeat: now,
        beat: Some(0),
        ttl,
        open,
        metrics: None,
        counters: None,
    }
}

impl Session {
    /// Register a new session: one conditional put (the id must be new).
    /// The caller starts the heartbeat ([`Session::start_heartbeat`]).
    pub async fn register(
        store: Arc<dyn Store>,
        mountpoint: &str,
        ttl: Duration,
    ) -> FsResult<Arc<Session>> {
        if ttl.is_zero() {
            return Err(posix(Errno::EINVAL, "session TTL must be positive"));
        }
        let mut tries = 0;
        loop {
            let info = new_info(mountpoint, ttl, Some(Vec::new()));
            let sent = Instant::now();
            match put_new(store.as_ref(), &info, None).await {
                Ok(()) => {
                    tracing::info!(session = info.id, host = info.host, "session registered");
                    let (losses, _) = tokio::sync::watch::channel(0);
                    return Ok(Arc::new(Session {
                        store,
                        ttl,
                        state: Mutex::new(State {
                            info,
                            registered: true,
                            lease_until: sent + lease(ttl),
                        }),
                        beat: Mutex::new(None),
                        beating: tokio::sync::Mutex::new(()),
                        ended: AtomicBool::new(false),
                        published: Mutex::new(None),
                        held: Mutex::new(None),
                        peers: Arc::new(Peers::default()),
                        losses,
                    }));
                }
                // A 128-bit collision: draw again.
                Err(StoreError::ConditionFailed { .. }) if tries < 3 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// The current session id (a new one after a lost lease).
    pub fn id(&self) -> String {
        self.state(|s| s.info.id.clone())
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Other sessions as this client judges them.
    pub fn peers(&self) -> &Arc<Peers> {
        &self.peers
    }

    /// What this client last wrote to its session item.
    pub fn info(&self) -> SessionInfo {
        self.state(|s| s.info.clone())
    }

    /// Say where this mount serves its metrics: in its item from now on
    /// (one UpdateItem now; a session registered again keeps it).
    pub async fn advertise_metrics(&self, url: &str) -> FsResult<()> {
        let id = self.state(|s| {
            s.info.metrics = Some(url.to_string());
            s.info.id.clone()
        });
        let w = Write::Update {
            table: Table::Meta,
            key: session_key(&id),
            changes: vec![crate::store::Change::set(
                attr::METRICS,
                Value::S(url.to_string()),
            )],
            cond: Some(Cond::Exists),
        };
        self.store.write(&w).await?;
        Ok(())
    }

    /// Whether this client may still act on its locks: its lease holds.
    pub fn lease_valid(&self) -> bool {
        self.state(|s| s.registered && Instant::now() < s.lease_until)
    }

    /// How many times the lease has been lost so far.
    pub fn losses_so_far(&self) -> u64 {
        *self.losses.borrow()
    }

    /// Changes each time the lease is lost (the value counts the losses).
    pub fn lease_losses(&self) -> tokio::sync::watch::Receiver<u64> {
        self.losses.subscribe()
    }

    /// Publish these request counters (the mount's store counters) in the
    /// session item from the next heartbeat on, for `dynamofs stats`.
    pub fn publish_counters(&self, counters: Arc<Counters>) {
        match self.published.lock() {
            Ok(mut p) => *p = Some(counters),
            Err(p) => *p.into_inner() = Some(counters),
        }
    }

    fn published(&self) -> Option<Arc<Counters>> {
        match self.published.lock() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Publish the inodes this client holds open, from the next heartbeat
    /// on: other clients' collectors wait for them.
    pub fn publish_open(&self, held: Held) {
        match self.held.lock() {
            Ok(mut h) => *h = Some(held),
            Err(p) => *p.into_inner() = Some(held),
        }
    }

    fn open_now(&self) -> Option<Vec<u64>> {
        let held = match self.held.lock() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        };
        Some(held.map(|h| h.inodes()).unwrap_or_default())
    }

    /// Whether [`Session::end`] has been called.
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Start the heartbeat task: every TTL/3 (sooner after a failure, and
    /// always before the lease runs out) it renews the lease
    /// ([`Session::heartbeat`]), and every [`REAP_EVERY`] beats (the first
    /// one included) it reaps dead sessions of other clients. The task holds
    /// only a weak reference: it stops at [`Session::end`] or when the last
    /// `Arc<Session>` is dropped. Needs a tokio runtime.
    pub fn start_heartbeat(self: &Arc<Self>) {
        if self.has_ended() {
            return;
        }
        let weak: Weak<Session> = Arc::downgrade(self);
        let period = (self.ttl / 3).max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            let mut beats: u64 = 0;
            let mut wait = period;
            loop {
                tokio::time::sleep(wait).await;
                let Some(s) = weak.upgrade() else { break };
                if s.has_ended() {
                    break;
                }
                wait = match s.heartbeat().await {
                    Ok(_) => period,
                    Err(e) => {
                        tracing::warn!(session = s.id(), "session heartbeat failed: {e}");
                        (period / 4).max(Duration::from_millis(1))
                    }
                };
                // Never sleep past the end of the lease: its loss is noticed
                // (and acted on) when it happens.
                let left = s.state(|st| st.lease_until.saturating_duration_since(Instant::now()));
                wait = wait.min(left).max(Duration::from_millis(1));
                if beats % REAP_EVERY == 0 {
                    match s.reap_dead().await {
                        Ok(r) if !r.is_empty() => {
                            tracing::info!(reaped = ?r, "removed dead sessions and their locks")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("reaping dead sessions failed: {e}"),
                    }
                }
                beats = beats.wrapping_add(1);
            }
        });
        let old = match self.beat.lock() {
            Ok(mut b) => b.replace(task),
            Err(p) => p.into_inner().replace(task),
        };
        if let Some(old) = old {
            old.abort();
        }
    }

    fn stop_heartbeat(&self) {
        let h = match self.beat.lock() {
            Ok(mut b) => b.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(h) = h {
            h.abort();
        }
    }

    /// Renew the lease once: an UpdateItem of the session item that moves
    /// the heartbeat number on, on condition that the number is still the
    /// one this client wrote (or already the next: a retry after a lost
    /// response). Bounded by the lease: a heartbeat that cannot get through
    /// before the lease ends, or finds the item gone or changed (another
    /// client judged the session dead), loses the lease.
    pub async fn heartbeat(&self) -> FsResult<Beat> {
        if self.has_ended() {
            return Err(posix(
                Errno::EIO,
                format!("session {} has ended", self.id()),
            ));
        }
        let _one = self.beating.lock().await;
        let (info, registered, until) =
            self.state(|s| (s.info.clone(), s.registered, s.lease_until));
        if !registered {
            return self.register_again(&info).await;
        }
        let sent = Instant::now();
        if sent >= until {
            return self
                .lose_lease(&info, "no heartbeat got through before the lease ran out")
                .await;
        }
        let now = now_ns();
        let beat = info.beat.unwrap_or(0);
        let expires = now.saturating_add(ttl_ns(self.ttl));
        let open = self.open_now();
        let (open_name, open_value) = open_attr(open.as_deref());
        let mut changes = vec![
            Change::set(attr::EXPIRES, Value::N(expires)),
            Change::set(attr::HEARTBEAT, Value::N(now)),
            Change::set(attr::BEAT, Value::N(beat + 1)),
            Change::set(attr::TTL, Value::N(ttl_ns(self.ttl))),
            Change::set(open_name, open_value),
            Change::remove(if open_name == attr::OPEN {
                attr::OPEN_ALL
            } else {
                attr::OPEN
            }),
        ];
        if let Some(c) = self.published() {
            changes.push(Change::set(
                attr::COUNTERS,
                Value::B(crate::stats::encode_counters(&c)),
            ));
        }
        let w = Write::Update {
            table: Table::Meta,
            key: session_key(&info.id),
            changes,
            cond: Some(Cond::Or(vec![
                Cond::eq(attr::BEAT, Value::N(beat)),
                Cond::eq(attr::BEAT, Value::N(beat + 1)),
            ])),
        };
        match tokio::time::timeout(until - sent, self.store.write(&w)).await {
            Ok(Ok(())) => {
                self.state(|s| {
                    if s.info.id == info.id {
                        s.info.expires = expires;
                        s.info.heartbeat = now;
                        s.info.beat = Some(beat + 1);
                        s.info.open = open;
                        s.lease_until = sent + lease(self.ttl);
                    }
                });
                Ok(Beat::Renewed)
            }
            Ok(Err(StoreError::ConditionFailed { .. })) => {
                self.lose_lease(
                    &info,
                    "its session item is gone or changed: another client judged it dead",
                )
                .await
            }
            Ok(Err(e)) if Instant::now() < until => Err(e.into()),
            Ok(Err(e)) => {
                self.lose_lease(
                    &info,
                    &format!("the heartbeat failed until the lease ran out: {e}"),
                )
                .await
            }
            Err(_) => {
                self.lose_lease(&info, "no heartbeat got through before the lease ran out")
                    .await
            }
        }
    }

    /// The lease is lost: give up the old session (its locks, its item),
    /// tell the listeners, and register a new id.
    async fn lose_lease(&self, old: &SessionInfo, why: &str) -> FsResult<Beat> {
        tracing::error!(
            session = old.id,
            "lease lost ({why}): its locks are given up, and I/O on files locked under it \
             fails with EIO until they are opened again; registering a new session"
        );
        let mut fresh = new_info(&old.mountpoint, self.ttl, self.open_now());
        fresh.metrics = old.metrics.clone();
        self.state(|s| {
            s.info = fresh.clone();
            s.registered = false;
        });
        self.losses.send_modify(|n| *n += 1);
        let store = Arc::clone(&self.store);
        let old_id = old.id.clone();
        // In the background: the store may be what failed. What is left
        // of the old session is reaped by others once it stands still.
        tokio::spawn(async move {
            if locks::Locks::release_session(store.as_ref(), &old_id)
                .await
                .is_ok()
            {
                let w = Write::Delete {
                    table: Table::Meta,
                    key: session_key(&old_id),
                    cond: None,
                };
                let _ = store.write(&w).await;
            }
        });
        self.register_again(&fresh).await?;
        Ok(Beat::Registered {
            old: old.id.clone(),
        })
    }

    /// Write the item of a session id that has none yet (after a lost
    /// lease); until it is written, no lock can be taken.
    async fn register_again(&self, info: &SessionInfo) -> FsResult<Beat> {
        let sent = Instant::now();
        let mut info = info.clone();
        info.open = self.open_now();
        put_new(self.store.as_ref(), &info, self.published()).await?;
        tracing::info!(session = info.id, "session registered");
        self.state(|s| {
            if s.info.id == info.id {
                s.info = info.clone();
                s.registered = true;
                s.lease_until = sent + lease(self.ttl);
            }
        });
        Ok(Beat::Renewed)
    }

    /// End the session (unmount): stop the heartbeat, release every lock
    /// it holds, delete its item. Idempotent; failures are logged (what is
    /// left is reaped by another client).
    pub async fn end(&self) {
        if self.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_heartbeat();
        let id = self.id();
        if let Err(e) = locks::Locks::release_session(self.store.as_ref(), &id).await {
            tracing::warn!(
                session = id,
                "releasing the session's locks failed: {e}; they go when the session is reaped"
            );
            // Keep the item: the reaper finds the locks through it.
            return;
        }
        let w = Write::Delete {
            table: Table::Meta,
            key: session_key(&id),
            cond: None,
        };
        match self.store.write(&w).await {
            Ok(()) => tracing::info!(session = id, "session ended"),
            Err(e) => tracing::warn!(
                session = id,
                "deleting the session item failed: {e}; it is reaped when it stands still"
            ),
        }
    }

    /// Every session item: one Query of the sessions partition (paged).
    /// Dead sessions that are not reaped yet are included.
    pub async fn list(store: &dyn Store) -> FsResult<Vec<SessionInfo>> {
        Ok(list_raw(store).await?.into_iter().map(|(i, _)| i).collect())
    }

    /// One session's item, if it exists (one consistent GetItem).
    pub async fn get(store: &dyn Store, id: &str) -> FsResult<Option<SessionInfo>> {
        let it = store.get(Table::Meta, &session_key(id), true).await?;
        Ok(it.map(|it| SessionInfo::from_item(&it).0))
    }
}

pub(super) async fn list_raw(store: &dyn Store) -> FsResult<Vec<(SessionInfo, Option<i64>)>> {
    let mut q = Query::new(Table::Meta, SESSIONS_P, Range::All);
    q.limit = Some(1000);
    let mut out = Vec::new();
    loop {
        let page = store.query(&q).await?;
        out.extend(page.items.iter().map(SessionInfo::from_item));
        match page.next {
            Some(n) => q.start_after = Some(n),
            None => break,
        }
    }
    Ok(out)
}

/// Put a new session's item, on condition that its id is new. A failed
/// condition on an item that is ours (same start time, host and pid) is a
/// retry after a lost response that had put it: success, not a collision
/// (which would leave a ghost session behind).
async fn put_new(
    store: &dyn Store,
    info: &SessionInfo,
    counters: Option<Arc<Counters>>,
) -> Result<(), StoreError> {
    let mut attrs: Attrs = info.to_attrs();
    if let Some(c) = counters {
        attrs.insert(
            attr::COUNTERS.into(),
            Value::B(crate::stats::encode_counters(&c)),
        );
    }
    match put_attrs(store, &info.id, attrs).await {
        Err(StoreError::ConditionFailed { index, key }) => {
            let there = store.get(Table::Meta, &session_key(&info.id), true).await?;
            let ours = there.is_some_and(|it| {
                let (t, _) = SessionInfo::from_item(&it);
                t.started == info.started && t.host == info.host && t.pid == info.pid
            });
            if ours {
                Ok(())
            } else {
                Err(StoreError::ConditionFailed { index, key })
            }
        }
        r => r,
    }
}

async fn put_attrs(store: &dyn Store, id: &str, attrs: Attrs) -> Result<(), StoreError> {
    store
        .write(&Write::Put {
            table: Table::Meta,
            key: session_key(id),
            attrs,
            cond: Some(Cond::NotExists),
        })
        .await
}
