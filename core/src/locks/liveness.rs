//! Whether the session holding a lock is alive, judged on this client's
//! monotonic clock (see `session::peers`).

use std::time::Instant;

use super::Locks;
use crate::error::FsResult;
use crate::session::{session_key, SessionInfo, Verdict};
use crate::store::{Cond, Table};

impl Locks {
    /// Whether `session` is alive: `None` if so, else the condition under
    /// which it is still dead (its item absent, or standing still as read).
    /// A session seen alive is trusted until its TTL has passed since then.
    pub(super) async fn dead(&self, session: &str) -> FsResult<Option<Cond>> {
        if session == self.session.id() {
            return Ok(None);
        }
        let peers = self.session.peers();
        if peers
            .alive_until(session)
            .is_some_and(|t| t > Instant::now())
        {
            return Ok(None);
        }
        let it = self
            .store
            .get(Table::Meta, &session_key(session), true)
            .await?;
        Ok(match it {
            None => {
                peers.forget(session);
                Some(Cond::NotExists)
            }
            Some(it) => match peers.observe(&SessionInfo::from_item(&it).0) {
                Verdict::Alive(_) => None,
                Verdict::Dead(c) => Some(c),
            },
        })
    }
}
