//! The lock types, and the arithmetic on one inode's records: conflicts,
//! and setting or unlocking a range (split, convert, merge).

use serde::{Deserialize, Serialize};

use super::TO_EOF;
use crate::error::{posix, Errno, FsResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockKind {
    /// `fcntl` (F_SETLK, F_SETLKW, F_GETLK, and `lockf`): byte ranges.
    Posix,
    /// BSD `flock`: the whole file.
    Flock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LockType {
    /// Shared (F_RDLCK, LOCK_SH).
    Read,
    /// Exclusive (F_WRLCK, LOCK_EX).
    Write,
}

impl LockType {
    /// Whether a lock of this type and one of `other` cannot both be held
    /// (by different owners) over the same bytes.
    pub fn conflicts(self, other: LockType) -> bool {
        self == LockType::Write || other == LockType::Write
    }
}

/// One held lock, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub kind: LockKind,
    pub typ: LockType,
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive; [`TO_EOF`] for "to the end of the file".
    /// Flock locks are always `0..=TO_EOF`.
    pub end: u64,
    /// The owner: the session that took it ...
    pub session: String,
    /// ... and the kernel's lock owner (POSIX: the process's file table;
    /// flock: the open file description).
    pub owner: u64,
    /// Process that took it (what F_GETLK reports).
    pub pid: u32,
    /// Host of the session that took it.
    pub host: String,
    /// When it was taken (ns since 1970; for merged ranges the oldest part).
    pub acquired: i64,
}

impl LockRecord {
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }

    pub fn owned_by(&self, session: &str, owner: u64) -> bool {
        self.owner == owner && self.session == session
    }

    fn sort_key(&self) -> (LockKind, u64, u64, &str, u64) {
        (self.kind, self.start, self.end, &self.session, self.owner)
    }
}

/// A lock to set, or to test with F_GETLK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRequest {
    pub kind: LockKind,
    pub typ: LockType,
    /// First byte (ignored for flock).
    pub start: u64,
    /// Last byte, inclusive; [`TO_EOF`] to the end (ignored for flock).
    pub end: u64,
    /// The kernel's lock owner.
    pub owner: u64,
    pub pid: u32,
}

impl LockRequest {
    pub fn posix(typ: LockType, start: u64, end: u64, owner: u64, pid: u32) -> LockRequest {
        LockRequest {
            kind: LockKind::Posix,
            typ,
            start,
            end,
            owner,
            pid,
        }
    }

    pub fn flock(typ: LockType, owner: u64, pid: u32) -> LockRequest {
        LockRequest {
            kind: LockKind::Flock,
            typ,
            start: 0,
            end: TO_EOF,
            owner,
            pid,
        }
    }

    /// The range this request covers (flock: the whole file).
    pub(super) fn range(&self) -> FsResult<(u64, u64)> {
        match self.kind {
            LockKind::Flock => Ok((0, TO_EOF)),
            LockKind::Posix if self.start <= self.end => Ok((self.start, self.end)),
            LockKind::Posix => Err(posix(
                Errno::EINVAL,
                format!("lock range {}..={} is backwards", self.start, self.end),
            )),
        }
    }
}

pub(super) fn sort(records: &mut [LockRecord]) {
    records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

// ---------------------------------------------------------------------------
// Lock arithmetic on one inode's records.

pub(super) fn conflicts_with(
    r: &LockRecord,
    kind: LockKind,
    typ: LockType,
    start: u64,
    end: u64,
    session: &str,
    owner: u64,
) -> bool {
    r.kind == kind && !r.owned_by(session, owner) && r.overlaps(start, end) && r.typ.conflicts(typ)
}

/// Set `new` (a POSIX lock) among the records: the owner's ranges under it
/// are replaced (converted), its ranges of the same type that overlap or
/// touch it are merged into it.
pub(super) fn set_posix(records: &mut Vec<LockRecord>, new: LockRecord) {
    let (s0, e0) = (new.start, new.end);
    let (mut s, mut e, mut acquired) = (s0, e0, new.acquired);
    let touches =
        |r: &LockRecord| (e0 == TO_EOF || r.start <= e0 + 1) && (s0 == 0 || r.end >= s0 - 1);
    let mut out = Vec::with_capacity(records.len() + 2);
    for r in records.drain(..) {
        if r.kind != LockKind::Posix || !r.owned_by(&new.session, new.owner) {
            out.push(r);
        } else if r.typ == new.typ && touches(&r) {
            s = s.min(r.start);
            e = e.max(r.end);
            acquired = acquired.min(r.acquired);
        } else if r.overlaps(s0, e0) {
            out.extend(outside(r, s0, e0));
        } else {
            out.push(r);
        }
    }
    out.push(LockRecord {
        start: s,
        end: e,
        acquired,
        ..new
    });
    sort(&mut out);
    *records = out;
}

/// The parts of `r` outside `s..=e` (zero, one or two records).
fn outside(r: LockRecord, s: u64, e: u64) -> Vec<LockRecord> {
    let mut v = Vec::new();
    if r.start < s {
        v.push(LockRecord {
            end: s - 1,
            ..r.clone()
        });
    }
    if r.end > e {
        v.push(LockRecord { start: e + 1, ..r });
    }
    v
}

/// Remove the owner's POSIX locks over `s..=e`, splitting ranges.
pub(super) fn unlock_posix(
    records: &mut Vec<LockRecord>,
    session: &str,
    owner: u64,
    s: u64,
    e: u64,
) {
    let mut out = Vec::with_capacity(records.len() + 1);
    for r in records.drain(..) {
        if r.kind == LockKind::Posix && r.owned_by(session, owner) && r.overlaps(s, e) {
            out.extend(outside(r, s, e));
        } else {
            out.push(r);
        }
    }
    sort(&mut out);
    *records = out;
}

/// Remove the owner's locks of one kind.
pub(super) fn remove_owner(
    records: &mut Vec<LockRecord>,
    kind: LockKind,
    session: &str,
    owner: u64,
) {
    records.retain(|r| !(r.kind == kind && r.owned_by(session, owner)));
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn ranges(v: &[LockRecord]) -> Vec<(LockType, u64, u64, u64)> {
        v.iter().map(|r| (r.typ, r.start, r.end, r.owner)).collect()
    }

    use LockType::{Read as R, Write as W};

    #[test]
    fn merge_split_convert() {
        let mut v = Vec::new();
        set_posix(&mut v, rec(W, 0, 9, 1));
        set_posix(&mut v, rec(W, 10, 19, 1));
        assert_eq!(ranges(&v), [(W, 0, 19, 1)], "adjacent ranges merge");
        set_posix(&mut v, rec(R, 5, 9, 1));
        assert_eq!(ranges(&v), [(W, 0, 4, 1), (R, 5, 9, 1), (W, 10, 19, 1)]);
        set_posix(&mut v, rec(W, 5, 9, 1));
        assert_eq!(ranges(&v), [(W, 0, 19, 1)], "converted back and merged");
        unlock_posix(&mut v, "s", 1, 5, 9);
        assert_eq!(ranges(&v), [(W, 0, 4, 1), (W, 10, 19, 1)]);
        set_posix(&mut v, rec(R, 3, TO_EOF, 2));
        set_posix(&mut v, rec(R, 0, TO_EOF, 1));
        assert_eq!(ranges(&v), [(R, 0, TO_EOF, 1), (R, 3, TO_EOF, 2)]);
        unlock_posix(&mut v, "s", 1, 0, TO_EOF);
        assert_eq!(ranges(&v), [(R, 3, TO_EOF, 2)]);
        set_posix(&mut v, rec(W, TO_EOF, TO_EOF, 2));
        assert_eq!(ranges(&v), [(R, 3, TO_EOF - 1, 2), (W, TO_EOF, TO_EOF, 2)]);
        set_posix(&mut v, rec(R, 0, 2, 2));
        assert_eq!(ranges(&v), [(R, 0, TO_EOF - 1, 2), (W, TO_EOF, TO_EOF, 2)]);
    }
}
