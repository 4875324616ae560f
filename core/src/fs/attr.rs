//! Attributes as callers see them, and requested changes.

use crate::inode::FileType;

/// What stat(2) shows. Times are nanoseconds since 1970.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub kind: FileType,
    /// Permission bits, including setuid, setgid and sticky.
    pub perm: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// 512-byte blocks, as stat(2) counts them.
    pub blocks: u64,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    pub btime: i64,
    pub rdev: u32,
    pub blksize: u32,
    /// chattr flags (`fs::flags`).
    pub flags: u32,
}

impl Attr {
    /// Full `st_mode`.
    pub fn mode(&self) -> u32 {
        self.kind.bits() | self.perm
    }
}

/// A time to set: now, or a given time in nanoseconds (UTIME_OMIT is `None`
/// in [`SetAttr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    Now,
    At(i64),
}

/// The changes of a setattr call; `None` leaves an attribute alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (the file type cannot change).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeSet>,
    pub mtime: Option<TimeSet>,
    /// Only the kernel sets ctime explicitly (e.g. after a write).
    pub ctime: Option<i64>,
}

impl SetAttr {
    pub fn is_empty(&self) -> bool {
        *self == SetAttr::default()
    }
}
