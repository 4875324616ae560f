//! One client of a file system as a mount runs it: the file system, its
//! session and its lock client, wired together so that the session
//! publishes what the file system holds open, the collector waits for
//! other clients' open files, and a lost lease fails the handles that
//! relied on it (EIO until reopened, as NFSv4 does).

use std::sync::Arc;
use std::time::Duration;

use crate::error::FsResult;
use crate::fs::{Fs, FsOptions};
use crate::locks::Locks;
use crate::session::Session;
use crate::store::Store;

pub struct Client {
    pub fs: Arc<Fs>,
    pub session: Arc<Session>,
    pub locks: Arc<Locks>,
    watcher: tokio::task::JoinHandle<()>,
    purger: Option<tokio::task::JoinHandle<()>>,
}

impl Client {
    /// Open the file system in `store`, register a session named after
    /// `mountpoint` with a heartbeat every TTL/3, and wire them together.
    pub async fn start(
        store: Arc<dyn Store>,
        opts: FsOptions,
        mountpoint: &str,
        ttl: Duration,
    ) -> FsResult<Client> {
        let fs = Arc::new(Fs::open(Arc::clone(&store), opts).await?);
        let session = Session::register(store, mountpoint, ttl).await?;
        session.publish_open(fs.held());
        fs.attach_session(Arc::clone(&session));
        session.start_heartbeat();
        let locks = Arc::new(Locks::new(Arc::clone(&session)));
        fs.attach_locks(Arc::clone(&locks));
        let watcher = tokio::spawn(watch_lease(session.lease_losses(), Arc::clone(&fs)));
        let purger =
            (fs.superblock().trash_days > 0).then(|| tokio::spawn(purge_trash(Arc::clone(&fs))));
        Ok(Client {
            fs,
            session,
            locks,
            watcher,
            purger,
        })
    }

    /// Stop: write what is buffered, finish the collector's work, end the
    /// session (releasing its locks). Returns the first flush error.
    pub async fn stop(&self) -> FsResult<()> {
        let flushed = self.fs.flush_all().await;
        self.fs.settle().await;
        self.watcher.abort();
        if let Some(p) = &self.purger {
            p.abort();
        }
        self.session.end().await;
        flushed
    }
}

async fn watch_lease(mut losses: tokio::sync::watch::Receiver<u64>, fs: Arc<Fs>) {
    while losses.changed().await.is_ok() {
        fs.settle_lost_lease().await;
    }
}

/// Every mount purges the trash of expired hours: a few seconds after it
/// starts (one listing of /.trash when nothing expired), then hourly (at a random minute, so many mounts spread their
/// listings). Two at once are harmless: each skips what the other removed.
async fn purge_trash(fs: Arc<Fs>) {
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::time::sleep(wait).await;
        match fs.purge_expired_trash().await {
            Ok(p) if p.files > 0 => tracing::info!(
                files = p.files,
                bytes = p.bytes,
                "purged expired files from the trash"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("purging the trash failed (tried again in an hour): {e}"),
        }
        wait = Duration::from_secs(3000 + rand::random::<u64>() % 1200);
    }
}
