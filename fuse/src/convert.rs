//! Conversions between core's types and the kernel's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynamofs_core::error::FsError;
use dynamofs_core::fs::{Allocate, Attr, OpenMode, Seek};
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

/// open(2) flag bits (Linux, all architectures we build for).
mod open_flags {
    pub const ACCMODE: i32 = 0o3;
    pub const RDONLY: i32 = 0o0;
    pub const WRONLY: i32 = 0o1;
    pub const RDWR: i32 = 0o2;
    pub const EXCL: i32 = 0o200;
    pub const TRUNC: i32 = 0o1000;
    pub const APPEND: i32 = 0o2000;
}

/// How an open(2) with `flags` uses the file.
pub fn open_mode(flags: i32, writeback_cache: bool) -> OpenMode {
    use open_flags::*;
    let acc = flags & ACCMODE;
    let mut m = OpenMode {
        read: acc == RDONLY || acc == RDWR,
        write: acc == WRONLY || acc == RDWR,
        append: flags & APPEND != 0,
        truncate: flags & TRUNC != 0,
    };
    if writeback_cache {
        // The kernel reads pages to fill partial writes even on
        // write-only files, and handles O_APPEND offsets itself.
        m.read = true;
        m.append = false;
    }
    m
}

/// O_EXCL is among `flags`.
pub fn exclusive(flags: i32) -> bool {
    flags & open_flags::EXCL != 0
}

/// What fallocate(2) with `mode` asks for; None for the modes that move
/// blocks (COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE).
pub fn allocate(mode: i32) -> Option<Allocate> {
    const KEEP_SIZE: i32 = 0x01;
    const PUNCH_HOLE: i32 = 0x02;
    const ZERO_RANGE: i32 = 0x10;
    if mode & !(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE) != 0 {
        return None;
    }
    Some(Allocate {
        keep_size: mode & KEEP_SIZE != 0,
        punch_hole: mode & PUNCH_HOLE != 0,
        zero_range: mode & ZERO_RANGE != 0,
    })
}

/// What lseek(2) with `whence` looks for; None for the whences the kernel
/// answers itself (it sends only SEEK_DATA and SEEK_HOLE).
pub fn seek(whence: i32) -> Option<Seek> {
    const SEEK_DATA: i32 = 3;
    const SEEK_HOLE: i32 = 4;
    match whence {
        SEEK_DATA => Some(Seek::Data),
        SEEK_HOLE => Some(Seek::Hole),
        _ => None,
    }
}
