//! Reaping: removing dead sessions and releasing what they held.

use super::{attr, list_raw, session_key, Session, SessionInfo, Verdict};
use crate::error::FsResult;
use crate::locks;
use crate::store::{Cond, Store, StoreError, Table, Value, Write};

impl Session {
    /// Remove every other session whose heartbeat stood still for its TTL
    /// as this client watched it, and every lock it held. The delete is on
    /// condition that the heartbeat number is still the one read, so a
    /// session that heartbeated meanwhile survives; its locks are released
    /// only after its item is gone, each change on condition that the item
    /// is still absent. Returns the reaped ids.
    pub async fn reap_dead(&self) -> FsResult<Vec<String>> {
        let me = self.id();
        let all = list_raw(self.store.as_ref()).await?;
        let ids: Vec<&str> = all.iter().map(|(i, _)| i.id.as_str()).collect();
        self.peers.retain(&ids);
        let mut reaped = Vec::new();
        for (info, _) in &all {
            if info.id == me {
                continue;
            }
            if let Verdict::Dead(_) = self.peers.observe(info) {
                if reap(self.store.as_ref(), info, info.unchanged()).await? {
                    self.peers.forget(&info.id);
                    reaped.push(info.id.clone());
                }
            }
        }
        Ok(reaped)
    }

    /// Remove every session whose expiry, by its own wall clock, is at or
    /// before `now_ns`, and every lock it held. For offline tools (fsck),
    /// which cannot watch heartbeats over time; live clients use
    /// [`Session::reap_dead`]. Returns the reaped ids.
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
            if reap(store, &info, cond).await? {
                reaped.push(info.id);
            }
        }
        Ok(reaped)
    }
}

/// Delete a dead session's item on `cond`, then release its locks.
/// Returns whether this call removed it.
async fn reap(store: &dyn Store, info: &SessionInfo, cond: Cond) -> FsResult<bool> {
    let w = Write::Delete {
        table: Table::Meta,
        key: session_key(&info.id),
        cond: Some(cond),
    };
    match store.write(&w).await {
        Ok(()) => {}
        // Heartbeated, or reaped by someone else, meanwhile.
        Err(StoreError::ConditionFailed { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        session = info.id,
        host = info.host,
        pid = info.pid,
        "reaped dead session"
    );
    if let Err(e) = locks::release_dead_session(store, &info.id).await {
        tracing::warn!(
            session = info.id,
            "releasing a reaped session's locks failed: {e}; \
             they no longer block anyone; `dynamofs lock` can break them"
        );
    }
    Ok(true)
}
