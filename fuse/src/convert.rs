//! Conversions between core's types and the kernel's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynamofs_core::error::FsError;
use dynamofs_core::fs::Attr;
use dynamofs_core::inode::FileType;
use fuser::{Errno, FileAttr, INodeNo};

pub fn time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_nanos(ns.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

pub fn nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos().min(i64::MAX as u128) as i64,
        Err(e) => -(e.duration().as_nanos().min(i64::MAX as u128) as i64),
    }
}

pub fn kind(k: FileType) -> fuser::FileType {
    match k {
        FileType::Regular => fuser::FileType::RegularFile,
        FileType::Directory => fuser::FileType::Directory,
        FileType::Symlink => fuser::FileType::Symlink,
        FileType::Fifo => fuser::FileType::NamedPipe,
        FileType::Socket => fuser::FileType::Socket,
        FileType::CharDevice => fuser::FileType::CharDevice,
        FileType::BlockDevice => fuser::FileType::BlockDevice,
    }
}

pub fn attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(crate::root::outward(a.ino)),
        size: a.size,
        blocks: a.blocks,
        atime: time(a.atime),
        mtime: time(a.mtime),
        ctime: time(a.ctime),
        crtime: time(a.btime),
        kind: kind(a.kind),
        perm: (a.perm & 0o7777) as u16,
        nlink: a.nlink.min(u32::MAX as u64) as u32,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        blksize: a.blksize,
        flags: 0,
    }
}

/// Attributes for a listed entry that has none (it, or its inode, is
/// damaged). readdirplus must send some; with a zero TTL the kernel asks
/// again at once, and the lookup answers with the error.
pub fn unreadable(ino: u64, k: FileType) -> FileAttr {
    FileAttr {
        ino: INodeNo(crate::root::outward(ino)),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: kind(k),
        perm: 0,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

/// The errno for an error, logged by how much it matters: POSIX answers
/// are routine, anything else (EIO, store trouble) is worth a warning.
pub fn errno(op: &str, e: &FsError) -> Errno {
    match e {
        FsError::Posix { .. } => tracing::debug!("{op}: {e}"),
        _ => tracing::warn!("{op}: {e}"),
    }
    Errno::from_i32(e.errno().raw())
}
