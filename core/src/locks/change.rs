//! The client's read-modify-write loops on an inode's lock item: setting
//! a lock, and changing only this session's own records.

use super::item::{backoff, index_delete, index_put, read, Failed, Plan};
use super::record::{conflicts_with, remove_owner, set_posix, sort};
use super::{Attempt, LockKind, LockRecord, LockRequest, Locks, MAX_ATTEMPTS, MAX_DEAD_PER_WRITE};
use crate::error::{posix, Errno, FsError, FsResult};
use crate::session::session_key;
use crate::store::{Cond, Table, Write};
use crate::superblock::now_ns;

impl Locks {
    pub(super) async fn try_set(&self, ino: u64, req: &LockRequest) -> FsResult<Attempt> {
        let (s, e) = req.range()?;
        let mut attempt = 0;
        let mut own_fails = 0;
        loop {
            // A lost lease changes the id between attempts.
            let me = self.session.id();
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
                match self.dead(&r.session).await? {
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
            if !self.session.lease_valid() {
                // Renew first (or learn that the lease is lost and take the
                // lock under a new session id).
                drop(gate);
                self.session.heartbeat().await?;
                continue;
            }
            // Nobody reaped the session meanwhile; its lease (checked just
            // above, on this client's clock) ends before any peer may judge
            // it dead.
            plan.own_check = Some(plan.push(Write::Check {
                table: Table::Meta,
                key: session_key(&me),
                cond: Cond::Exists,
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
    pub(super) async fn change_own(
        &self,
        ino: u64,
        f: &(dyn Fn(&mut Vec<LockRecord>) + Send + Sync),
    ) -> FsResult<()> {
        let mut attempt = 0;
        loop {
            let me = self.session.id();
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
}
