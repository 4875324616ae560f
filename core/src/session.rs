//! Sessions: one item per mount in the sessions partition, kept alive by a
//! heartbeat. Locks belong to a session; a session whose expiry has passed
//! is dead, and any live client (or fsck) removes it and every lock it held.
//!
//! Item: partition [`SESSIONS_P`], sort key the session id (32 hex digits
//! of a random 128-bit number). Attributes are listed in [`attr`]; times are
//! nanoseconds since 1970 in the clock of the client that wrote them, so
//! clients' clocks must agree to well within the TTL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::error::{posix, Errno, FsResult};
use crate::locks;
use crate::schema::SESSIONS_P;
use crate::store::{
    Attrs, Change, Cond, Counters, Item, Key, Query, Range, Store, StoreError, Table, Value, Write,
};
use crate::superblock::now_ns;

/// How long a session lives without a heartbeat, unless configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The heartbeat reaps expired sessions on every this many beats (with a
/// beat every TTL/3: about once per TTL).
pub const REAP_EVERY: u64 = 3;

/// Attribute names of a session item.
pub mod attr {
    pub const HOST: &str = "h";
    pub const PID: &str = "pi";
    pub const MOUNTPOINT: &str = "mp";
    pub const VERSION: &str = "v";
    pub const STARTED: &str = "st";
    pub const EXPIRES: &str = "x";
    pub const HEARTBEAT: &str = "hb";
    /// The mount's request counters, as of the last heartbeat (binary, see
    /// [`crate::stats::encode_counters`]).
    pub const COUNTERS: &str = "rc";
}

/// Key of a session's item.
pub fn session_key(id: &str) -> Key {
    Key::new(SESSIONS_P, id.as_bytes())
}

/// What a session item says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub mountpoint: String,
    /// dynamofs version of the client.
    pub version: String,
    /// Registration time (ns since 1970).
    pub started: i64,
    /// The session is dead once this time (ns since 1970) has passed.
    pub expires: i64,
    /// Time of the last heartbeat (ns since 1970).
    pub heartbeat: i64,
}

impl SessionInfo {
    pub fn is_expired(&self, now_ns: i64) -> bool {
        self.expires <= now_ns
    }

    fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.insert(attr::HOST.into(), Value::S(self.host.clone()));
        a.insert(attr::PID.into(), Value::N(self.pid as i64));
        a.insert(attr::MOUNTPOINT.into(), Value::S(self.mountpoint.clone()));
        a.insert(attr::VERSION.into(), Value::S(self.version.clone()));
        a.insert(attr::STARTED.into(), Value::N(self.started));
        a.insert(attr::EXPIRES.into(), Value::N(self.expires));
        a.insert(attr::HEARTBEAT.into(), Value::N(self.heartbeat));
        a
    }

    /// Read a session item. Lenient: a damaged item is still listed (and,
    /// lacking a valid expiry, counts as expired so that it gets reaped);
    /// the reason is logged. The second value is the expiry attribute as
    /// stored, which the reaper's condition names.
    pub(crate) fn from_item(it: &Item) -> (SessionInfo, Option<i64>) {
        let id = String::from_utf8_lossy(&it.key.s).into_owned();
        let s = |a: &str| {
            it.attrs
                .get(a)
                .and_then(Value::as_s)
                .unwrap_or_default()
                .to_string()
        };
        let n = |a: &str| it.attrs.get(a).and_then(Value::as_n);
        let raw_expiry = n(attr::EXPIRES);
        if raw_expiry.is_none() {
            tracing::warn!(
                session = id,
                "damaged session item: no expiry `{}`; treating it as expired",
                attr::EXPIRES
            );
        }
        let info = SessionInfo {
            host: s(attr::HOST),
            pid: n(attr::PID)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            mountpoint: s(attr::MOUNTPOINT),
            version: s(attr::VERSION),
            started: n(attr::STARTED).unwrap_or(0),
            expires: raw_expiry.unwrap_or(i64::MIN),
            heartbeat: n(attr::HEARTBEAT).unwrap_or(0),
            id,
        };
        (info, raw_expiry)
    }
}

/// This machine's host name (for session items and lock listings).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn ttl_ns(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX)
}

/// One mount's session.
pub struct Session {
    id: String,
    store: Arc<dyn Store>,
    ttl: Duration,
    info: Mutex<SessionInfo>,
    beat: Mutex<Option<tokio::task::JoinHandle<()>>>,
    ended: AtomicBool,
    /// Request counters each heartbeat publishes, if any.
    published: Mutex<Option<Arc<Counters>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", &self.info())
            .field("ttl", &self.ttl)
            .finish()
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
            let now = now_ns();
            let info = SessionInfo {
                id: format!("{:032x}", rand::random::<u128>()),
                host: hostname(),
                pid: std::process::id(),
                mountpoint: mountpoint.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                started: now,
                expires: now.saturating_add(ttl_ns(ttl)),
                heartbeat: now,
            };
            match put_new(store.as_ref(), &info).await {
                Ok(()) => {
                    tracing::info!(session = info.id, host = info.host, "session registered");
                    return Ok(Arc::new(Session {
                        id: info.id.clone(),
                        store,
                        ttl,
                        info: Mutex::new(info),
                        beat: Mutex::new(None),
                        ended: AtomicBool::new(false),
                        published: Mutex::new(None),
                    }));
                }
                // A 128-bit collision: draw again.
                Err(StoreError::ConditionFailed { .. }) if tries < 3 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// What this client last wrote to its session item.
    pub fn info(&self) -> SessionInfo {
        match self.info.lock() {
            Ok(i) => i.clone(),
            Err(p) => p.into_inner().clone(),
        }
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

    /// Whether [`Session::end`] has been called.
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Start the heartbeat task: every TTL/3 it refreshes the expiry
    /// ([`Session::heartbeat`]), and every [`REAP_EVERY`] beats (the first
    /// one included) it reaps expired sessions of other clients. The task
    /// holds only a weak reference: it stops at [`Session::end`] or when the
    /// last `Arc<Session>` is dropped. Needs a tokio runtime.
    pub fn start_heartbeat(self: &Arc<Self>) {
        if self.has_ended() {
            return;
        }
        let weak: Weak<Session> = Arc::downgrade(self);
        let period = (self.ttl / 3).max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            let mut beats: u64 = 0;
            loop {
                tokio::time::sleep(period).await;
                let Some(s) = weak.upgrade() else { break };
                if s.has_ended() {
                    break;
                }
                if let Err(e) = s.heartbeat().await {
                    tracing::warn!(session = s.id, "session heartbeat failed: {e}");
                }
                if beats % REAP_EVERY == 0 {
                    match Session::reap_expired(s.store.as_ref(), now_ns()).await {
                        Ok(r) if !r.is_empty() => {
                            tracing::info!(reaped = ?r, "removed expired sessions and their locks")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("reaping expired sessions failed: {e}"),
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

    /// Refresh the expiry once: an UpdateItem on condition that the item
    /// still exists. If it is gone (another client reaped this session as
    /// expired, releasing its locks), log an error and register the same id
    /// again.
    pub async fn heartbeat(&self) -> FsResult<()> {
        if self.has_ended() {
            return Err(posix(Errno::EIO, format!("session {} has ended", self.id)));
        }
        let now = now_ns();
        let expires = now.saturating_add(ttl_ns(self.ttl));
        let was = self.info();
        if was.expires <= now {
            tracing::warn!(
                session = self.id,
                late_ms = (now - was.expires) / 1_000_000,
                "session expired before its heartbeat: other clients may have taken its locks"
            );
        }
        let mut changes = vec![
            Change::set(attr::EXPIRES, Value::N(expires)),
            Change::set(attr::HEARTBEAT, Value::N(now)),
        ];
        let counters = self.published().map(|c| crate::stats::encode_counters(&c));
        if let Some(c) = &counters {
            changes.push(Change::set(attr::COUNTERS, Value::B(c.clone())));
        }
        let w = Write::Update {
            table: Table::Meta,
            key: session_key(&self.id),
            changes,
            cond: Some(Cond::Exists),
        };
        let mut info = SessionInfo {
            expires,
            heartbeat: now,
            ..was
        };
        match self.store.write(&w).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => {
                tracing::error!(
                    session = self.id,
                    "session item is gone (reaped as expired by another client?): \
                     its locks were released; registering the session again"
                );
                info.started = now;
                let mut attrs = info.to_attrs();
                if let Some(c) = counters {
                    attrs.insert(attr::COUNTERS.into(), Value::B(c));
                }
                match put_attrs(self.store.as_ref(), &info.id, attrs).await {
                    // Back already (a concurrent heartbeat of ours).
                    Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
        match self.info.lock() {
            Ok(mut i) => *i = info,
            Err(p) => *p.into_inner() = info,
        }
        Ok(())
    }

    /// End the session (unmount): stop the heartbeat, release every lock
    /// it holds, delete its item. Idempotent; failures are logged (what is
    /// left expires and is reaped by another client).
    pub async fn end(&self) {
        if self.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_heartbeat();
        if let Err(e) = locks::Locks::release_session(self.store.as_ref(), &self.id).await {
            tracing::warn!(
                session = self.id,
                "releasing the session's locks failed: {e}; they go when the session is reaped"
            );
            // Keep the item: the reaper finds the locks through it after expiry.
            return;
        }
        let w = Write::Delete {
            table: Table::Meta,
            key: session_key(&self.id),
            cond: None,
        };
        match self.store.write(&w).await {
            Ok(()) => tracing::info!(session = self.id, "session ended"),
            Err(e) => tracing::warn!(
                session = self.id,
                "deleting the session item failed: {e}; it expires and is reaped"
            ),
        }
    }

    /// Every session item: one Query of the sessions partition (paged).
    /// Expired sessions that are not reaped yet are included.
    pub async fn list(store: &dyn Store) -> FsResult<Vec<SessionInfo>> {
        Ok(list_raw(store).await?.into_iter().map(|(i, _)| i).collect())
    }

    /// One session's item, if it exists (one consistent GetItem).
    pub async fn get(store: &dyn Store, id: &str) -> FsResult<Option<SessionInfo>> {
        let it = store.get(Table::Meta, &session_key(id), true).await?;
        Ok(it.map(|it| SessionInfo::from_item(&it).0))
    }

    /// Remove every session whose expiry is at or before `now_ns`, and every
    /// lock it held. The delete is conditional on the expiry still being the
    /// one read, so a session that heartbeated meanwhile survives with its
    /// locks; its locks are released only after its item is gone, each
    /// change on condition that the item is still absent (a session that
    /// re-registers keeps what it holds). Returns the reaped ids.
    pub async fn reap_expired(store: &dyn Store, now_ns: i64) -> FsResult<Vec<String>> {
        let mut reaped = Vec::new();
        for (info, raw_expiry) in list_raw(store).await? {
            if !info.is_expired(now_ns) {
                continue;
            }
            let cond = match raw_expiry {
                Some(x) => Cond::eq(attr::EXPIRES, Value::N(x)),
                None => Cond::And(vec![Cond::Exists, Cond::has_not(attr::EXPIRES)]),
            };
            let w = Write::Delete {
                table: Table::Meta,
                key: session_key(&info.id),
                cond: Some(cond),
            };
            match store.write(&w).await {
                Ok(()) => {}
                // Heartbeated, or reaped by someone else, meanwhile.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::info!(
                session = info.id,
                host = info.host,
                pid = info.pid,
                "reaped expired session"
            );
            if let Err(e) = locks::release_dead_session(store, &info.id).await {
                tracing::warn!(
                    session = info.id,
                    "releasing a reaped session's locks failed: {e}; \
                     they no longer block anyone; `dynamofs lock` can break them"
                );
            }
            reaped.push(info.id);
        }
        Ok(reaped)
    }
}

async fn list_raw(store: &dyn Store) -> FsResult<Vec<(SessionInfo, Option<i64>)>> {
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

async fn put_new(store: &dyn Store, info: &SessionInfo) -> Result<(), StoreError> {
    put_attrs(store, &info.id, info.to_attrs()).await
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
