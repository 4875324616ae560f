//! Whether the session holding a lock is alive.

use super::Locks;
use crate::error::FsResult;
use crate::session::{self, session_key};
use crate::store::{Cond, Table, Value};

impl Locks {
    /// Whether `session` is alive: `None` if so, else the condition under
    /// which it is still dead (its item absent, or its expiry as read).
    pub(super) async fn dead(&self, session: &str, now: i64) -> FsResult<Option<Cond>> {
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
}
