//! An inode's stored lock item: its encoding, and the conditional writes
//! that change it together with the session lock index.

use std::time::Duration;

use rand::Rng;

use super::record::{LockKind, LockRecord};
use super::{attr, index_key, lock_key, TO_EOF};
use crate::error::{FsError, FsResult};
use crate::store::{Attrs, Cond, Store, StoreError, Table, Token, Value, Write};

/// Format byte in front of the encoded record list.
const RECORDS_FORMAT: u8 = 1;

/// An inode's lock item as read: `version` is `None` when there is none.
#[derive(Clone, Debug, Default)]
pub(super) struct Current {
    pub(super) version: Option<i64>,
    pub(super) records: Vec<LockRecord>,
}

impl Current {
    /// The condition that the item is still as read.
    pub(super) fn unchanged(&self) -> Cond {
        match self.version {
            Some(v) => Cond::eq(attr::VERSION, Value::N(v)),
            None => Cond::NotExists,
        }
    }

    pub(super) fn has_session(&self, session: &str) -> bool {
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

pub(super) fn decode(ino: u64, attrs: &Attrs) -> FsResult<Current> {
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

pub(super) async fn read(store: &dyn Store, ino: u64) -> FsResult<Current> {
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

pub(super) fn index_put(session: &str, ino: u64, now: i64) -> Write {
    let mut a = Attrs::new();
    a.insert(attr::SINCE.into(), Value::N(now));
    Write::Put {
        table: Table::Meta,
        key: index_key(session, ino),
        attrs: a,
        cond: None,
    }
}

pub(super) fn index_delete(session: &str, ino: u64) -> Write {
    Write::Delete {
        table: Table::Meta,
        key: index_key(session, ino),
        cond: None,
    }
}

/// The writes of one change, in order: the lock item's write (or a check
/// that it is unchanged, when only index items change), then the rest.
pub(super) struct Plan {
    pub(super) writes: Vec<Write>,
    /// Position of the check that our own session is alive, if any.
    pub(super) own_check: Option<usize>,
    /// Position of the check that a reaped session is still gone, if any.
    pub(super) gone_check: Option<usize>,
}

pub(super) enum Failed {
    /// The lock item (or a dead session) changed since it was read: re-read.
    Raced,
    /// Our own session item is gone or expired.
    OwnSession,
    /// The session being reaped registered again.
    SessionBack,
    Store(StoreError),
}

impl Plan {
    pub(super) fn new(ino: u64, cur: &Current, records: &[LockRecord]) -> FsResult<Plan> {
        Ok(Plan {
            writes: record_write(ino, cur, records)?.into_iter().collect(),
            own_check: None,
            gone_check: None,
        })
    }

    pub(super) fn push(&mut self, w: Write) -> usize {
        self.writes.push(w);
        self.writes.len() - 1
    }

    pub(super) async fn commit(
        mut self,
        store: &dyn Store,
        ino: u64,
        cur: &Current,
    ) -> Result<(), Failed> {
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

pub(super) async fn backoff(attempt: u32) {
    let cap_ms = (2u64 << attempt.min(6)).min(100);
    let ms = rand::rng().random_range(1..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;
    use crate::locks::LockType::{self, Write as W};

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
