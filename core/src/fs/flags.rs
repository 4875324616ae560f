//! chattr flags that dynamofs enforces, stored with the inode so that
//! every client enforces them (the kernel of one mount knows nothing of
//! them: FUSE does not carry inode flags):
//! - immutable: nothing may change the file, its names, its attributes
//!   or its data; it cannot be opened for writing;
//! - append-only: it may be opened for writing only with O_APPEND, and not
//!   truncated, removed, renamed, linked, nor its mode, owner or times set.
//!
//! Only root sets or clears them (CAP_LINUX_IMMUTABLE). Each check is made
//! on the inode as read to plan the change. Not enforced: flags on a
//! directory for the entries in it (it would cost a read of the parent per
//! change through a mount, which asks for none), and writes through
//! descriptors opened before the flag was set.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::Inode;
use crate::schema::attr;
use crate::store::{Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::attr::SetAttr;
use super::file::OpenMode;
use super::Fs;

/// FS_IMMUTABLE_FL.
pub const IMMUTABLE: u32 = 0x10;
/// FS_APPEND_FL.
pub const APPEND: u32 = 0x20;
const SUPPORTED: u32 = IMMUTABLE | APPEND;

fn refused(what: &str, i: &Inode) -> crate::error::FsError {
    let flag = if i.flags & IMMUTABLE != 0 {
        "immutable"
    } else {
        "append-only"
    };
    posix(
        Errno::EPERM,
        format!("{what}: inode {} is {flag} (chattr -i / -a as root)", i.ino),
    )
}

/// A change of the file's names, size or data other than an append:
/// refused for both flags.
pub(super) fn refuse_change(i: &Inode, what: &str) -> FsResult<()> {
    if i.flags & SUPPORTED != 0 {
        return Err(refused(what, i));
    }
    Ok(())
}

/// An open with `mode`.
pub(super) fn refuse_open(i: &Inode, mode: &OpenMode) -> FsResult<()> {
    let writes = mode.write || mode.truncate;
    if writes && i.flags & IMMUTABLE != 0 {
        return Err(refused("open for writing", i));
    }
    if writes && i.flags & APPEND != 0 && (!mode.append || mode.truncate) {
        return Err(refused("open for writing without O_APPEND", i));
    }
    Ok(())
}

/// A setattr: nothing on an immutable file; on an append-only one only
/// times set to now (what a write does).
pub(super) fn refuse_setattr(i: &Inode, set: &SetAttr) -> FsResult<()> {
    if i.flags & IMMUTABLE != 0 {
        return Err(refused("setattr", i));
    }
    let explicit =
        |t: &Option<super::attr::TimeSet>| matches!(t, Some(super::attr::TimeSet::At(_)));
    if i.flags & APPEND != 0
        && (set.mode.is_some()
            || set.uid.is_some()
            || set.gid.is_some()
            || set.size.is_some()
            || explicit(&set.atime)
            || explicit(&set.mtime))
    {
        return Err(refused("setattr", i));
    }
    Ok(())
}

impl Fs {
    /// The file's chattr flags (FS_IOC_GETFLAGS).
    pub async fn flags(&self, ino: u64) -> FsResult<u32> {
        Ok(self.node(ino, true).await?.inode.flags)
    }

    /// Set the file's chattr flags (FS_IOC_SETFLAGS): root only, and only
    /// the ones dynamofs enforces.
    pub async fn set_flags(&self, caller: &Caller, ino: u64, flags: u32) -> FsResult<()> {
        self.writable()?;
        if flags & !SUPPORTED != 0 {
            return Err(posix(
                Errno::EOPNOTSUPP,
                format!(
                    "chattr flags {:#x}: dynamofs keeps only immutable (i) and append-only (a)",
                    flags & !SUPPORTED
                ),
            ));
        }
        let node = self.node(ino, true).await?;
        if node.inode.flags == flags {
            return Ok(());
        }
        if !caller.is_root() {
            return Err(posix(
                Errno::EPERM,
                "only root may set or clear immutable and append-only",
            ));
        }
        let flag = match flags {
            0 => Change::remove(attr::FLAGS),
            f => Change::set(attr::FLAGS, Value::N(i64::from(f))),
        };
        let now = now_ns().max(node.inode.ctime + 1);
        let w = Write::Update {
            table: Table::Meta,
            key: node.inode.key(),
            changes: vec![flag, Change::set(attr::CTIME, Value::N(now))],
            cond: Some(Cond::Exists),
        };
        self.store.write(&w).await?;
        self.cache.forget_node(ino);
        Ok(())
    }
}
