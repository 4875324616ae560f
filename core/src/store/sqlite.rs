//! Embedded store: one SQLite file (or memory) holding both tables.
//!
//! It gives the same conditional and transactional semantics as DynamoDB:
//! every write runs in an IMMEDIATE transaction that evaluates the
//! conditions against the current rows, so several processes on one machine
//! can share a file (WAL journal, busy timeout). Transaction tokens are
//! remembered for ten minutes, as DynamoDB does, so a retried commit whose
//! response was lost is not applied twice.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    item_size, Attrs, BatchWrite, Billing, Change, Item, Key, Page, Query, Range, ScanPage, Store,
    StoreError, StoreResult, Table, TableState, Token, Write, MAX_ITEM_BYTES,
    MAX_TRANSACTION_ITEMS,
};

/// How long a transaction token protects against a repeated commit.
const TOKEN_WINDOW: Duration = Duration::from_secs(600);
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (p BLOB NOT NULL, s BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (p, s)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (p BLOB NOT NULL, s BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (p, s)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (t TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_at ON tokens (at);
";

pub struct SqliteStore {
    /// `None` until the file exists: opening a path must not create a file
    /// (a typo would otherwise leave empty databases around), mkfs does.
    conn: Arc<Mutex<Option<Connection>>>,
    /// Connections that only read (a file's; WAL lets them run beside
    /// each other and beside the writer), opened as needed up to
    /// `READERS`.
    readers: Arc<Readers>,
    path: Option<PathBuf>,
    /// This user may only read the file.
    read_only: bool,
}

/// Most reading connections of one store. One connection behind a mutex
/// served every request: reads of a mount (its read-ahead keeps several
/// batch reads in flight) queued behind each other and behind writes, on
/// one core.
const READERS: usize = 4;

#[derive(Default)]
struct Readers {
    idle: Mutex<Vec<Connection>>,
    opened: std::sync::atomic::AtomicUsize,
}

impl SqliteStore {
    /// Open the store in a file. A missing file is not an error here: it
    /// reads as missing tables, which mkfs creates.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let (conn, read_only) = if path.exists() {
            let read_only = !writable(path);
            (Some(connect(path, read_only)?), read_only)
        } else {
            (None, false)
        };
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::default(),
            path: Some(path.to_path_buf()),
            read_only,
        })
    }

    /// A private in-memory store, for tests. Clones of the returned `Arc`
    /// share it, which is how tests run two clients on one store.
    pub fn memory() -> StoreResult<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(sql_err)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(Some(conn))),
            readers: Arc::default(),
            path: None,
            read_only: false,
        })
    }

    /// This user may only read the file.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => ":memory:".to_string(),
        }
    }

    fn missing(&self, table: Table) -> StoreError {
        StoreError::TableMissing {
            table: format!("{} in {}", table.as_str(), self.describe()),
            hint: Some(format!(
                "no file system there; create one with `dynamofs mkfs sqlite:{}`",
                self.describe()
            )),
        }
    }

    /// Refuse a write up front when the file is read-only for this user,
    /// with what can be done instead.
    fn check_writable(&self) -> StoreResult<()> {
        if self.read_only {
            return Err(StoreError::AccessDenied(format!(
                "{} is read-only for this user: only reading works on it (ls, cat, cp out of it, \
                 fsck without --repair, mount -o ro); to change it, use an account that may write the file",
                self.describe()
            )));
        }
        Ok(())
    }

    /// Run `f` on the connection in the blocking pool.
    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let missing = self.missing(Table::Meta);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Other("sqlite connection lock poisoned".into()))?;
            match guard.as_mut() {
                Some(c) => f(c),
                None => Err(missing),
            }
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?
    }
}

impl SqliteStore {
    /// Run a read on a reading connection of its own when the store is a
    /// file that exists, else (memory, all readers busy) on the writer's.
    async fn read_with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let Some(path) = self.path.clone().filter(|p| p.exists()) else {
            return self.with(f).await;
        };
        let readers = Arc::clone(&self.readers);
        let taken = readers.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match taken {
            Some(c) => c,
            None if readers.opened.fetch_add(1, Ordering::SeqCst) < READERS => {
                let read_only = self.read_only;
                let opened = tokio::task::spawn_blocking(move || connect(&path, read_only))
                    .await
                    .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?;
                match opened {
                    Ok(c) => c,
                    Err(e) => {
                        readers.opened.fetch_sub(1, Ordering::SeqCst);
                        return Err(e);
                    }
                }
            }
            None => {
                readers.opened.fetch_sub(1, Ordering::SeqCst);
                return self.with(f).await;
            }
        };
        tokio::task::spawn_blocking(move || {
            let mut conn = conn;
            let r = f(&mut conn);
            if let Ok(mut idle) = readers.idle.lock() {
                idle.push(conn);
            }
            r
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?
    }
}

/// Whether this user may write the file (SQLite would silently open a
/// write-protected file read-only, and fail on the first write).
fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// Create the database file for mkfs, private to its owner. SQLite makes
/// its -wal and -shm files with the database's mode, so they are private
/// too, whatever the umask.
fn create_private(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(StoreError::Invalid(format!(
                "cannot create {}: directory {} does not exist; create it first or choose another path",
                path.display(),
                dir.display()
            )));
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot create SQLite file {}: {e}",
            path.display()
        ))),
    }
}

/// Refuse a database (or its -wal or -shm) that group or others may
/// write: anyone in them could change any file in the file system.
fn check_mode(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut names = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        names.push(PathBuf::from(p));
    }
    for p in names {
        let mode = match std::fs::metadata(&p) {
            Ok(m) => m.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(StoreError::Invalid(format!(
                    "cannot inspect SQLite file {}: {e}",
                    p.display()
                )))
            }
        };
        if mode & 0o022 != 0 {
            return Err(StoreError::Invalid(format!(
                "refusing {} (mode {:o}): group or others may write it, so they could change \
                 any file in the file system; make it private with `chmod go-w {}`",
                p.display(),
                mode & 0o7777,
                p.display()
            )));
        }
    }
    Ok(())
}

/// Open the database in `path`, which exists. Read-only when this user
/// may not write it.
fn connect(path: &Path, read_only: bool) -> StoreResult<Connection> {
    check_mode(path)?;
    let conn = if read_only {
        open_read_only(path)?
    } else {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(path, flags).map_err(|e| {
            StoreError::Invalid(format!("cannot open SQLite file {}: {e}", path.display()))
        })?
    };
    // Fail here, with the path, rather than on first use with a bare code.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Invalid(format!(
                "{} is not a SQLite database (is the path right?)",
                path.display()
            )),
            _ => sql_err(e),
        })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err)?;
        set_sync(&conn, Table::Meta)?;
    }
    Ok(conn)
}

/// A read-only connection. A WAL database needs its -shm file, which a
/// user who may not write the directory cannot create: then, when no
/// -wal file holds commits the database file lacks, the file is read as
/// it stands (immutable).
fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let failed = |e: rusqlite::Error| {
        StoreError::Invalid(format!(
            "cannot open SQLite file {} read-only: {e}",
            path.display()
        ))
    };
    let opened = Connection::open_with_flags(path, flags).and_then(|c| {
        c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(c)
    });
    match opened {
        Ok(c) => Ok(c),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
            ) && !has_wal(path) =>
        {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(failed)
        }
        Err(e) => Err(failed(e)),
    }
}

/// Whether a -wal file beside the database holds anything.
fn has_wal(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

/// A path as a `file:` URI path: percent-encoded where URI syntax needs it.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How a commit to `table` reaches the disk. A metadata change waits
/// until the WAL is on disk (FULL): fsync, close and every namespace change
/// promise durability, which NORMAL would lose to a power loss or an OS
/// crash. Data blocks need not wait for a sync of their own (NORMAL): they
/// become part of a file only through the metadata change written after
/// them (a flush sets the size last), and syncing the WAL for that change
/// syncs every commit before it in the file.
///
/// `DYNAMOFS_SQLITE_SYNC_BENCH=normal|full` sets one level for both, only
/// to measure what this costs (docs/BENCHMARKS.md).
fn set_sync(conn: &Connection, table: Table) -> StoreResult<()> {
    static BENCH: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    let forced =
        BENCH.get_or_init(
            || match std::env::var("DYNAMOFS_SQLITE_SYNC_BENCH").as_deref() {
                Ok("normal") => Some("NORMAL"),
                Ok("full") => Some("FULL"),
                _ => None,
            },
        );
    let level = forced.unwrap_or(match table {
        Table::Meta => "FULL",
        Table::Blocks => "NORMAL",
    });
    conn.pragma_update(None, "synchronous", level)
        .map_err(sql_err)
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        // Another process holds the write lock past the busy timeout:
        // transient, like throttling.
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StoreError::Throttled(format!("sqlite busy: {e}"))
        }
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied) => {
            StoreError::AccessDenied(e.to_string())
        }
        _ => {
            let text = e.to_string();
            if text.contains("no such table") {
                StoreError::TableMissing {
                    table: text,
                    hint: Some("run `dynamofs mkfs` to create the file system".into()),
                }
            } else {
                StoreError::Other(format!("sqlite: {text}"))
            }
        }
    }
}

fn tname(t: Table) -> &'static str {
    match t {
        Table::Meta => "meta",
        Table::Blocks => "blocks",
    }
}

fn encode(attrs: &Attrs) -> StoreResult<Vec<u8>> {
    postcard::to_allocvec(attrs).map_err(|e| StoreError::Other(format!("encode item: {e}")))
}

fn decode(key: &Key, v: &[u8]) -> StoreResult<Attrs> {
    postcard::from_bytes(v).map_err(|e| StoreError::Corrupt {
        key: key.clone(),
        why: format!("undecodable attributes: {e}"),
    })
}

fn read(conn: &Connection, t: Table, key: &Key) -> StoreResult<Option<Attrs>> {
    let sql = format!("SELECT v FROM {} WHERE p = ?1 AND s = ?2", tname(t));
    let v: Option<Vec<u8>> = conn
        .query_row(&sql, params![key.p, key.s], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    v.map(|v| decode(key, &v)).transpose()
}

fn check_key(key: &Key) -> StoreResult<()> {
    if key.p.is_empty() || key.s.is_empty() {
        return Err(StoreError::Invalid(format!(
            "key {key} has an empty part; key attributes must be non-empty"
        )));
    }
    Ok(())
}

fn check_size(key: &Key, attrs: &Attrs) -> StoreResult<()> {
    // As on DynamoDB, where these are the key attributes.
    if let Some(name) = ["p", "s"].into_iter().find(|n| attrs.contains_key(*n)) {
        return Err(StoreError::Invalid(format!(
            "item {key}: attribute name \"{name}\" is reserved for the key"
        )));
    }
    let size = item_size(key, attrs);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::ItemTooLarge {
            key: key.clone(),
            size,
        });
    }
    Ok(())
}

fn apply_changes(key: &Key, cur: Option<Attrs>, changes: &[Change]) -> StoreResult<Attrs> {
    let mut attrs = cur.unwrap_or_default();
    for c in changes {
        match c {
            Change::Set(a, v) => {
                attrs.insert(a.clone(), v.clone());
            }
            Change::Add(a, n) => {
                let base = match attrs.get(a) {
                    None => 0,
                    Some(super::Value::N(x)) => *x,
                    Some(_) => {
                        return Err(StoreError::Invalid(format!(
                            "ADD to attribute {a} of {key}, which is not a number"
                        )))
                    }
                };
                attrs.insert(a.clone(), super::Value::N(base.wrapping_add(*n)));
            }
            Change::Remove(a) => {
                attrs.remove(a);
            }
        }
    }
    Ok(attrs)
}

/// Apply one write inside an open SQLite transaction; `index` names it in a
/// condition failure.
fn apply(conn: &Connection, w: &Write, index: Option<usize>) -> StoreResult<()> {
    let key = w.key();
    check_key(key)?;
    let t = tname(w.table());
    // An unconditional put or delete needs nothing of the old item (an
    // overwritten block would be read and decoded only to be dropped).
    let cur = match (w, w.cond()) {
        (Write::Put { .. } | Write::Delete { .. }, None) => None,
        _ => read(conn, w.table(), key)?,
    };
    if let Some(cond) = w.cond() {
        if !cond.eval(cur.as_ref()) {
            return Err(StoreError::ConditionFailed {
                index,
                key: key.clone(),
            });
        }
    }
    let put = |attrs: &Attrs| -> StoreResult<()> {
        check_size(key, attrs)?;
        let sql = format!("INSERT OR REPLACE INTO {t} (p, s, v) VALUES (?1, ?2, ?3)");
        conn.execute(&sql, params![key.p, key.s, encode(attrs)?])
            .map_err(sql_err)?;
        Ok(())
    };
    match w {
        Write::Put { attrs, .. } => put(attrs),
        Write::Update { changes, .. } => put(&apply_changes(key, cur, changes)?),
        Write::Delete { .. } => {
            let sql = format!("DELETE FROM {t} WHERE p = ?1 AND s = ?2");
            conn.execute(&sql, params![key.p, key.s]).map_err(sql_err)?;
            Ok(())
        }
        Write::Check { .. } => Ok(()),
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// SQL bounds on `s` for a range: (clause, parameters).
fn range_sql(range: &Range, start_after: Option<&Vec<u8>>) -> (String, Vec<Vec<u8>>) {
    let mut clause = String::new();
    let mut args: Vec<Vec<u8>> = Vec::new();
    let mut bound = |op: &str, v: Vec<u8>| {
        args.push(v);
        clause.push_str(&format!(" AND s {op} ?{}", args.len() + 1));
    };
    match range {
        Range::All => {}
        Range::Prefix(pre) => {
            bound(">=", pre.clone());
            if let Some(end) = prefix_end(pre) {
                bound("<", end);
            }
        }
        Range::Between(a, b) => {
            bound(">=", a.clone());
            bound("<=", b.clone());
        }
        Range::After(a) => bound(">", a.clone()),
    }
    if let Some(sa) = start_after {
        bound(">", sa.clone());
    }
    (clause, args)
}

/// The smallest byte string greater than every string with this prefix.
fn prefix_end(pre: &[u8]) -> Option<Vec<u8>> {
    let mut end = pre.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, table: Table, key: &Key, _consistent: bool) -> StoreResult<Option<Item>> {
        let key = key.clone();
        self.read_with(move |c| Ok(read(c, table, &key)?.map(|attrs| Item { key, attrs })))
            .await
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        _consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        let keys = keys.to_vec();
        self.read_with(move |c| {
            keys.into_iter()
                .map(|key| Ok(read(c, table, &key)?.map(|attrs| Item { key, attrs })))
                .collect()
        })
        .await
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        let q = q.clone();
        self.read_with(move |c| {
            let (clause, args) = range_sql(&q.range, q.start_after.as_ref());
            // One extra row tells whether another page follows.
            let limit = q.limit.map(|l| l as i64 + 1).unwrap_or(-1);
            let sql = format!(
                "SELECT s, v FROM {} WHERE p = ?1{clause} ORDER BY s LIMIT {limit}",
                tname(q.table)
            );
            let mut stmt = c.prepare_cached(&sql).map_err(sql_err)?;
            let mut bind: Vec<&dyn rusqlite::ToSql> = vec![&q.p];
            for a in &args {
                bind.push(a);
            }
            let rows = stmt
                .query_map(bind.as_slice(), |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(sql_err)?;
            let mut raw = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_err)?;
            let mut next = None;
            if let Some(l) = q.limit {
                if raw.len() > l {
                    raw.truncate(l);
                    next = raw.last().map(|(s, _)| s.clone());
                }
            }
            // Only the rows returned are decoded: a damaged item just past
            // the page must not fail it (readers step over damage item by
            // item, see `damaged`).
            let mut items = Vec::with_capacity(raw.len());
            for (s, v) in raw {
                let key = Key { p: q.p.clone(), s };
                let attrs = decode(&key, &v)?;
                items.push(Item { key, attrs });
            }
            Ok(Page { items, next })
        })
        .await
    }

    async fn write(&self, w: &Write) -> StoreResult<()> {
        if matches!(w, Write::Check { .. }) {
            return Err(StoreError::Invalid(
                "a condition check is only valid inside a transaction".into(),
            ));
        }
        self.check_writable()?;
        let w = w.clone();
        self.with(move |c| {
            set_sync(c, w.table())?;
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            apply(&tx, &w, None)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Invalid(format!(
                "transaction of {} writes; at most {MAX_TRANSACTION_ITEMS}",
                writes.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for w in writes {
            if !seen.insert((w.table(), w.key().clone())) {
                return Err(StoreError::Invalid(format!(
                    "transaction writes item {} twice",
                    w.key()
                )));
            }
        }
        self.check_writable()?;
        let writes = writes.to_vec();
        let token = token.0.clone();
        self.with(move |c| {
            set_sync(c, Table::Meta)?;
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let now = now_secs();
            let seen: Option<i64> = tx
                .query_row("SELECT at FROM tokens WHERE t = ?1", params![token], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql_err)?;
            if seen.is_some_and(|at| now - at < TOKEN_WINDOW.as_secs() as i64) {
                // Already applied under this token: succeed without applying again.
                return Ok(());
            }
            for (i, w) in writes.iter().enumerate() {
                // Dropping `tx` on error rolls everything back.
                apply(&tx, w, Some(i))?;
            }
            tx.execute(
                "DELETE FROM tokens WHERE at < ?1",
                params![now - TOKEN_WINDOW.as_secs() as i64],
            )
            .map_err(sql_err)?;
            tx.execute(
                "INSERT OR REPLACE INTO tokens (t, at) VALUES (?1, ?2)",
                params![token, now],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        self.check_writable()?;
        let writes = writes.to_vec();
        self.with(move |c| {
            set_sync(c, table)?;
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            for w in &writes {
                let write = match w {
                    BatchWrite::Put { key, attrs } => Write::Put {
                        table,
                        key: key.clone(),
                        attrs: attrs.clone(),
                        cond: None,
                    },
                    BatchWrite::Delete { key } => Write::Delete {
                        table,
                        key: key.clone(),
                        cond: None,
                    },
                };
                apply(&tx, &write, None)?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        let start = start_after.cloned();
        self.with(move |c| {
            let t = tname(table);
            let lim = limit as i64 + 1;
            let mut rows_out = Vec::new();
            {
                let mut push = |r: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
                    rows_out.push((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?));
                    Ok(())
                };
                match &start {
                    Some(k) => {
                        let sql = format!("SELECT p, s, v FROM {t} WHERE (p, s) > (?1, ?2) ORDER BY p, s LIMIT {lim}");
                        let mut stmt = c.prepare_cached(&sql).map_err(sql_err)?;
                        let mut rows = stmt.query(params![k.p, k.s]).map_err(sql_err)?;
                        while let Some(r) = rows.next().map_err(sql_err)? {
                            push(r).map_err(sql_err)?;
                        }
                    }
                    None => {
                        let sql = format!("SELECT p, s, v FROM {t} ORDER BY p, s LIMIT {lim}");
                        let mut stmt = c.prepare_cached(&sql).map_err(sql_err)?;
                        let mut rows = stmt.query([]).map_err(sql_err)?;
                        while let Some(r) = rows.next().map_err(sql_err)? {
                            push(r).map_err(sql_err)?;
                        }
                    }
                }
            }
            let mut next = None;
            if rows_out.len() > limit {
                rows_out.truncate(limit);
                next = rows_out.last().map(|(p, s, _)| Key::new(p.clone(), s.clone()));
            }
            // As in query: only the rows returned are decoded.
            let mut items = Vec::with_capacity(rows_out.len());
            for (p, s, v) in rows_out {
                let key = Key { p, s };
                let attrs = decode(&key, &v)?;
                items.push(Item { key, attrs });
            }
            Ok(ScanPage { items, next })
        })
        .await
    }

    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        let name = tname(table);
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| StoreError::Other("sqlite connection lock poisoned".into()))?;
            let Some(c) = guard.as_ref() else {
                return Ok(TableState::Missing);
            };
            let mut stmt = c
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .map_err(sql_err)?;
            let cols: Vec<String> = stmt
                .query_map(params![name], |r| r.get(0))
                .map_err(sql_err)?
                .collect::<Result<_, _>>()
                .map_err(sql_err)?;
            Ok(if cols.is_empty() {
                TableState::Missing
            } else if cols == ["p", "s", "v"] {
                TableState::Ready
            } else {
                TableState::Foreign(format!("table {name} with columns ({})", cols.join(", ")))
            })
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?
    }

    async fn create_tables(&self, _billing: Billing) -> StoreResult<()> {
        self.check_writable()?;
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Other("sqlite connection lock poisoned".into()))?;
            if guard.is_none() {
                let Some(path) = path else {
                    return Err(StoreError::Other(
                        "in-memory store lost its connection".into(),
                    ));
                };
                create_private(&path)?;
                *guard = Some(connect(&path, false)?);
            }
            match guard.as_ref() {
                Some(c) => c.execute_batch(SCHEMA).map_err(sql_err),
                None => Err(StoreError::Other("sqlite connection missing".into())),
            }
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?
    }

    async fn delete_tables(&self) -> StoreResult<()> {
        self.check_writable()?;
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| StoreError::Other("sqlite connection lock poisoned".into()))?;
            match guard.as_ref() {
                Some(c) => c
                    .execute_batch("DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS blocks; DROP TABLE IF EXISTS tokens;")
                    .map_err(sql_err),
                None => Ok(()),
            }
        })
        .await
        .map_err(|e| StoreError::Other(format!("sqlite worker failed: {e}")))?
    }

    fn table_name(&self, table: Table) -> String {
        format!("{} in {}", tname(table), self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items stored before `Value::B` was encoded as bytes decode the
    /// same, and are written the same: postcard writes a byte sequence
    /// and a sequence of u8 alike (length, then the raw bytes).
    #[test]
    fn bytes_encode_as_before() {
        #[derive(serde::Serialize)]
        enum Before {
            #[allow(dead_code)]
            N(i64),
            B(Vec<u8>),
        }
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let before: std::collections::BTreeMap<String, Before> =
            [("d".to_string(), Before::B(data.clone()))].into();
        let old = postcard::to_allocvec(&before).expect("old encoding");
        let mut attrs = Attrs::new();
        attrs.insert("d".into(), super::super::Value::B(data));
        let key = Key::new(b"p".to_vec(), b"s".to_vec());
        assert_eq!(encode(&attrs).expect("encode"), old);
        assert_eq!(decode(&key, &old).expect("decode"), attrs);
    }

    #[test]
    fn prefix_end_carries_over_ff() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[0x61, 0xff]), Some(vec![0x62]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }

    /// The level the last commit to each table ran with: 2 is FULL (the
    /// WAL synced before the commit returns), 1 NORMAL (not synced).
    #[tokio::test]
    async fn metadata_commits_are_synced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(&dir.path().join("fs.db")).expect("open");
        s.create_tables(Billing::OnDemand).await.expect("create");
        async fn level(s: &SqliteStore) -> StoreResult<i64> {
            s.with(|c| {
                c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))
                    .map_err(sql_err)
            })
            .await
        }
        let put = |table| Write::Put {
            table,
            key: Key::new("p", "s"),
            attrs: Attrs::new(),
            cond: None,
        };
        s.write(&put(Table::Blocks)).await.expect("block");
        assert_eq!(level(&s).await.expect("pragma"), 1);
        s.write(&put(Table::Meta)).await.expect("meta");
        assert_eq!(level(&s).await.expect("pragma"), 2);
        s.transact(&[put(Table::Meta)], &Token::fresh())
            .await
            .expect("transact");
        assert_eq!(level(&s).await.expect("pragma"), 2);
    }
}
