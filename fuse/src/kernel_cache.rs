//! What the kernel caches of a file (attributes, pages) and how this
//! client makes it let go: an inode invalidation, sent through the
//! session's notifier and done before the caller goes on.

use std::sync::OnceLock;

use dynamofs_core::fs::Fs;
use fuser::INodeNo;

/// Taking a lock revalidates the file, as on NFS: what the previous holder
/// wrote before releasing it is read now, not what this client (or the
/// kernel's page cache) had before. Attributes are always dropped (so
/// lseek(SEEK_END) sees the size the store holds); pages only when the
/// data changed. The notification is sent before the lock call returns.
pub(crate) async fn revalidate(
    fs: &Fs,
    notifier: &OnceLock<fuser::Notifier>,
    ino: u64,
) -> dynamofs_core::error::FsResult<()> {
    let changed = fs.revalidate(ino).await?;
    invalidate(notifier, ino, changed).await;
    Ok(())
}

/// Drop the kernel's cached attributes of `ino`, and its cached pages too
/// when `pages`. Sent (and done) before the caller replies.
pub(crate) async fn invalidate(notifier: &OnceLock<fuser::Notifier>, ino: u64, pages: bool) {
    if let Some(n) = notifier.get().cloned() {
        let offset = if pages { 0 } else { -1 };
        let sent = tokio::task::spawn_blocking(move || {
            n.inval_inode(INodeNo(crate::root::outward(ino)), offset, 0)
        })
        .await;
        if let Ok(Err(e)) = sent {
            tracing::debug!(ino, "invalidating the kernel's cache: {e}");
        }
    }
}

/// Have the kernel hand over the pages it caches of `inos` (written
/// with -o writeback_cache and not yet sent) and wait until they are
/// here. syncfs(2) only starts that writeback on FUSE (Linux marks FUSE
/// file systems as giving no data integrity, so sync waits for nothing);
/// an invalidation of the pages does wait: for pages in writeback, and it
/// writes dirty ones itself before dropping them.
pub async fn take_cached_writes(notifier: &OnceLock<fuser::Notifier>, inos: Vec<u64>) {
    for ino in inos {
        invalidate(notifier, ino, true).await;
    }
}
