//! Operator functions (the `dynamofs lock` tool, fsck, session ends and
//! reaping): listing every lock, breaking locks, releasing a session's.

use super::item::{backoff, decode, index_delete, read, Failed, Plan};
use super::{index_p, lock_key, LockRecord, Locks, LOCKS_S, MAX_ATTEMPTS};
use crate::error::{FsError, FsResult};
use crate::schema::INODE_TAG;
use crate::session::session_key;
use crate::store::{Cond, Key, Query, Range, Store, Table, Write};

impl Locks {
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
    ///
    /// [`Session::end`]: crate::session::Session::end
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
