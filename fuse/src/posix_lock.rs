//! Taking and releasing a POSIX (fcntl) lock for the kernel: the data the
//! lock protected goes to the store before the lock does, and a file is
//! revalidated when its lock is taken, as on NFS.

use std::sync::OnceLock;

use dynamofs_core::error::{Errno, FsError, FsResult};
use dynamofs_core::fs::Fs;
use dynamofs_core::locks::{LockKind, LockRequest, Locks};

use crate::kernel_cache::revalidate;
use crate::lockreq::{lock_type, signal_pending, F_UNLCK};

/// One lock change, as the kernel asked it (`ino` as core knows it).
pub(crate) struct Change {
    pub ino: u64,
    pub fh: u64,
    pub owner: u64,
    pub start: u64,
    pub end: u64,
    pub typ: i32,
    pub pid: u32,
    pub sleep: bool,
}

pub(crate) async fn apply(
    fs: &Fs,
    locks: &Locks,
    notifier: &OnceLock<fuser::Notifier>,
    c: Change,
) -> FsResult<()> {
    // A handle whose locks went with a lost lease answers EIO.
    fs.check_handle(c.fh)?;
    if c.typ == F_UNLCK {
        // Releasing a lock writes the data it protected first, so the next
        // holder reads it (as on NFS), through the lock's handle: a lease
        // that lapsed while this request waited (a stall) is settled first,
        // and the data dropped with it fails the flush instead of being
        // vouched for by an unlock that succeeds.
        fs.flush(c.fh).await?;
        return locks
            .unlock(c.ino, LockKind::Posix, c.owner, c.start, c.end)
            .await;
    }
    let t = lock_type(c.typ)
        .ok_or_else(|| FsError::posix(Errno::EINVAL, format!("lock type {}", c.typ)))?;
    let req = LockRequest::posix(t, c.start, c.end, c.owner, c.pid);
    if c.sleep {
        // fuser does not pass the kernel's interrupts on, so the wait
        // watches the waiting process for a pending signal.
        let pid = c.pid;
        let probe = move || signal_pending(pid);
        locks.setlkw(c.ino, &req, &probe).await?;
    } else {
        locks.setlk(c.ino, &req).await?;
    }
    revalidate(fs, notifier, c.ino).await
}
