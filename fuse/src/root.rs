//! The mount's root. The kernel calls it inode 1; it is the file system's
//! root, or with `-o subdir=PATH` a directory in it, so that one file
//! system can be shared by teams or containers that each see only theirs.
//! Inode numbers are translated at the adapter's edges only: inward for
//! every inode a request names, outward for every inode a reply names.
//! Nothing inside the directory can name an inode above it except its
//! own `..`, which the kernel resolves itself at a mount's root (and
//! which listings show as the root).

use std::sync::atomic::{AtomicU64, Ordering};

use dynamofs_core::schema::ROOT_INO;
use fuser::INodeNo;

/// What the kernel calls the mount's root.
const KERNEL_ROOT: u64 = 1;

/// The inode the kernel's root stands for. One mount per process, so one
/// value per process: replies are built in tasks that hold no adapter.
static TOP: AtomicU64 = AtomicU64::new(ROOT_INO);

pub(crate) fn set_top(ino: u64) {
    TOP.store(ino, Ordering::Relaxed);
}

fn top() -> u64 {
    TOP.load(Ordering::Relaxed)
}

/// A request's inode, as core knows it.
pub(crate) fn inward(ino: INodeNo) -> INodeNo {
    if ino.0 == KERNEL_ROOT {
        INodeNo(top())
    } else {
        ino
    }
}

/// A core inode, as the kernel knows it.
pub(crate) fn outward(ino: u64) -> u64 {
    if ino == top() {
        KERNEL_ROOT
    } else {
        ino
    }
}

/// The inode a listing of `dir` (the kernel's number) shows for `name`:
/// the top's `..` is the top itself, as at any root.
pub(crate) fn listed(dir: INodeNo, name: &[u8], ino: u64) -> INodeNo {
    if dir.0 == KERNEL_ROOT && name == b".." {
        INodeNo(KERNEL_ROOT)
    } else {
        INodeNo(outward(ino))
    }
}
