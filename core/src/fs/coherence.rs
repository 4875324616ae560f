//! What this client's open files do when other clients change them:
//! follow the store's size and data generation whenever the inode is read
//! fresh (unless this client has unflushed data of its own), show this
//! client's unflushed size in the attributes it answers, revalidate on a
//! lock, and fail the handles whose locks went with a lost lease.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::{Errno, FsResult};
use crate::inode::FileType;
use crate::store::{StoreError, Write};

use super::file::{version_of, OpenFile, RA_FIRST};
use super::txn::Outcome;
use super::write::{fence_check, taken_over_error};
use super::Fs;

impl Fs {
    /// EIO if the handle's locks were lost with this client's lease (or
    /// EBADF if there is no such handle).
    pub fn check_handle(&self, fh: u64) -> FsResult<()> {
        self.handle(fh).map(|_| ())
    }

    /// Make every handle now open on `ino` fail with EIO until closed, and
    /// drop what they buffered: this client lost its lease, so the locks
    /// they wrote under may be held by another client now, whose data must
    /// not be overwritten with this client's.
    pub async fn lose_handles(&self, ino: u64) {
        if !self.mark_lost(ino) {
            return;
        }
        let file = self.open_file_of(ino);
        if let Some(file) = file {
            let mut f = file.lock().await;
            if !f.clean() {
                tracing::error!(
                    ino,
                    "lease lost: dropping data written under a lock this client no longer holds"
                );
            }
            self.discard_locked(&mut f).await;
        }
    }

    /// Mark every handle now open on `ino` as failed (EIO until closed).
    /// Returns whether there was one.
    fn mark_lost(&self, ino: u64) -> bool {
        let fhs = self.handles_of(ino);
        if fhs.is_empty() {
            return false;
        }
        if let Ok(mut l) = self.files.lost.lock() {
            l.extend(fhs);
        }
        true
    }

    fn handles_of(&self, ino: u64) -> Vec<u64> {
        self.files
            .handles
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|(_, h)| h.ino == ino)
                    .map(|(fh, _)| *fh)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The session under which this client holds locks on `ino`, if any.
    pub(super) fn lock_session(&self, ino: u64) -> Option<String> {
        self.locks
            .get()
            .filter(|l| l.holds(ino))
            .map(|l| l.session_id())
    }

    /// After a flush's fence failed (the session no longer has locks on
    /// `ino`): whether the locks were taken away (this client still
    /// believes it holds them, or its lease was just found lost), rather
    /// than let go by this client itself.
    pub(super) fn taken_over(&self, ino: u64) -> bool {
        if self.lock_session(ino).is_some() {
            return true;
        }
        let fhs = self.handles_of(ino);
        self.files
            .lost
            .lock()
            .is_ok_and(|l| fhs.iter().any(|fh| l.contains(fh)))
    }

    /// Commit a change of an open file's size or data (truncation, a
    /// punched hole) fenced as a flush is: while this client holds locks
    /// on the file, it lands only if the session still has them, so that
    /// a change a stall held back past the lease does not cut the next
    /// holder's data. Failed indices are those of `writes`. Unfenced, one
    /// write goes alone (an UpdateItem costs half a transaction).
    pub(super) async fn commit_data_change(
        &self,
        f: &mut OpenFile,
        writes: &[Write],
    ) -> FsResult<Outcome> {
        loop {
            let Some(session) = self.lock_session(f.ino) else {
                return match writes {
                    [w] => match self.store.write(w).await {
                        Ok(()) => Ok(Outcome::Done),
                        Err(StoreError::ConditionFailed { .. }) => Ok(Outcome::Failed(0)),
                        Err(e) => Err(e.into()),
                    },
                    _ => self.commit(writes).await,
                };
            };
            let mut fenced = vec![fence_check(&session, f.ino)];
            fenced.extend_from_slice(writes);
            match self.commit(&fenced).await? {
                Outcome::Done => return Ok(Outcome::Done),
                Outcome::Failed(0) if self.taken_over(f.ino) => {
                    tracing::error!(
                        ino = f.ino,
                        "another client took over this client's lock on the file \
                         (it judged this one dead); the size change made under it is not stored"
                    );
                    self.lose_locked_data(f).await;
                    return Err(taken_over_error(f.ino));
                }
                // This client let go of its locks itself meanwhile: the
                // change is an unlocked one now.
                Outcome::Failed(0) => continue,
                Outcome::Failed(i) => return Ok(Outcome::Failed(i.saturating_sub(1))),
            }
        }
    }

    /// Another client took over this client's locks on an open file: its
    /// handles fail, what they buffered goes, and this client stops
    /// believing it holds locks there.
    pub(super) async fn lose_locked_data(&self, f: &mut OpenFile) {
        self.mark_lost(f.ino);
        if let Some(l) = self.locks.get() {
            l.taken_away(f.ino);
        }
        self.discard_locked(f).await;
    }

    /// Take the store's view of an open file's size and data generation,
    /// unless this client has something of it not yet written (then the
    /// flush reconciles); the stored size and hole map are taken either
    /// way. Returns whether the data changed elsewhere.
    pub(super) fn adopt(&self, f: &mut OpenFile, node: &super::node::Node) -> bool {
        if node.kind() != FileType::Regular {
            return false;
        }
        let i = &node.inode;
        if !f.clean() {
            // Reads skip the holes of this map (an older one would hide
            // what another client wrote and closed) and the flush plans
            // from it, whatever this client has buffered.
            if f.generation == i.generation {
                f.saw_stored(i);
            }
            return false;
        }
        let changed = f.generation != i.generation || f.size != i.size;
        if f.generation != i.generation {
            f.ra_next = 0;
            f.ra_window = RA_FIRST;
            f.ra_issued = None;
        }
        f.generation = i.generation;
        f.size = i.size;
        f.saw_stored(i);
        f.ctime = f.ctime.max(i.ctime);
        changed
    }

    /// After a fresh read of an inode this client has open: follow what
    /// other clients did to it (size, generation, and cached blocks that
    /// are no longer current), so a getattr that shows another client's
    /// append is followed by reads that return it. Skipped while the file
    /// is busy here; its next operation sees the store anyway.
    pub(super) fn refresh_open(&self, node: &super::node::Node) {
        let ino = node.inode.ino;
        let Some(file) = self.open_file_of(ino) else {
            return;
        };
        if let Ok(mut f) = file.try_lock() {
            if f.clean() {
                self.adopt(&mut f, node);
                self.blocks.drop_if_changed(ino, version_of(&node.inode));
            }
        };
    }

    /// The attributes to show of a node: what the store says, with the size
    /// of what this client has written and not flushed yet. Without the
    /// kernel's writeback cache the kernel takes the size it is told, and
    /// its reads stop there: a stat of a file this client is writing must
    /// not hide the writes.
    pub(super) async fn attr_of(&self, node: &super::node::Node) -> super::attr::Attr {
        let mut a = node.attr(self.sb.block_size);
        if node.kind() != FileType::Regular {
            return a;
        }
        let file = self.open_file_of(node.inode.ino);
        if let Some(file) = file {
            overlay(&mut a, &*file.lock().await);
        }
        a
    }

    /// Revalidate an open file against the store (taking a lock does this,
    /// as on NFS): one fresh read. Returns whether its data changed since
    /// this client last saw it, in which case cached pages must go.
    pub async fn revalidate(&self, ino: u64) -> FsResult<bool> {
        let node = self.node(ino, true).await?;
        let file = self.open_file_of(ino);
        let same = self.blocks.revalidate(ino, version_of(&node.inode));
        if let Some(file) = file {
            let mut f = file.lock().await;
            self.adopt(&mut f, &node);
        }
        Ok(!same)
    }

    /// Use this lock client's locks as the ones the lease protects.
    pub fn attach_locks(&self, locks: Arc<crate::locks::Locks>) {
        let _ = self.locks.set(locks);
    }

    /// After this client lost its lease: the handles of files it held locks
    /// on, and of files that changed or went meanwhile, fail with EIO, and
    /// what was written under those locks is dropped. Idempotent; one at a
    /// time, so that a caller returns only once it is done.
    pub async fn settle_lost_lease(&self) {
        let _one = self.settling.lock().await;
        let losses = self.session.get().map_or(0, |s| s.losses_so_far());
        if let Some(locks) = self.locks.get() {
            // Handles fail before the locks are forgotten: a flush whose
            // fence fails meanwhile must see them taken away, not let go.
            for ino in locks.held_inodes() {
                self.mark_lost(ino);
            }
            for ino in locks.lease_lost() {
                self.lose_handles(ino).await;
            }
        }
        self.revalidate_open().await;
        self.settled_losses
            .fetch_max(losses, std::sync::atomic::Ordering::SeqCst);
    }

    /// Before data is read, written or flushed through an open handle. A
    /// client whose lease lapsed (it was stopped, or cut off, longer than
    /// the lease) can no longer vouch for its locks, nor that its open
    /// files were protected from other clients' collectors meanwhile; and
    /// the kernel may have queued requests that reach it before its
    /// heartbeat notices. Settle the lease first (a lapsed lease is lost,
    /// and the handles involved fail with EIO), so nobody is served zeros
    /// for a collected file and no write made under a lost lock is stored.
    pub(super) async fn vouch(&self) {
        let Some(s) = self.session.get() else {
            return;
        };
        if self.vouched() {
            return;
        }
        if s.lease_valid() {
            self.settle_lost_lease().await;
            return;
        }
        // The heartbeat task may be losing it at this moment: whoever
        // comes here revalidates, not only whoever saw the loss.
        if let Err(e) = s.heartbeat().await {
            tracing::warn!("renewing a lapsed lease: {e}");
        }
        self.settle_lost_lease().await;
    }

    /// After a read got its blocks, before they are served: the lease
    /// must have held until the answer arrived. A client stopped in the
    /// middle of a read, after `vouch`, finds it lapsed now, and what it
    /// got may be the missing blocks of a file collected meanwhile. Then
    /// the lease is settled and the handle asked again (EIO if the file
    /// went). No request while the lease holds.
    pub(super) async fn vouch_after(&self, fh: u64) -> FsResult<()> {
        if self.vouched() {
            return Ok(());
        }
        self.vouch().await;
        self.handle(fh).map(|_| ())
    }

    /// The lease holds and every loss of it so far is settled.
    fn vouched(&self) -> bool {
        let Some(s) = self.session.get() else {
            return true;
        };
        // Valid again is not enough: the heartbeat may have registered a
        // new session after a loss whose handles are not failed yet.
        let settled = self
            .settled_losses
            .load(std::sync::atomic::Ordering::SeqCst);
        s.has_ended() || (s.lease_valid() && s.losses_so_far() <= settled)
    }

    /// After this client lost its lease (and so, for a while, did not
    /// protect what it holds open from other clients' collectors): fail the
    /// handles of every open file whose data may have been collected
    /// meanwhile — gone, unlinked, or truncated to zero elsewhere — so that
    /// nobody reads zeros for it.
    pub async fn revalidate_open(&self) {
        let open: Vec<(u64, Arc<Mutex<OpenFile>>)> = self
            .files
            .by_ino
            .lock()
            .map(|m| m.iter().map(|(i, f)| (*i, Arc::clone(f))).collect())
            .unwrap_or_default();
        for (ino, file) in open {
            let generation = file.lock().await.generation;
            let lost = match self.node(ino, true).await {
                Ok(n) => n.inode.nlink == 0 || n.inode.generation != generation,
                Err(e) if e.errno() == Errno::ESTALE => true,
                // Unverified is not safe: the file may be gone, and its
                // readers would get zeros.
                Err(e) => {
                    tracing::warn!(
                        ino,
                        "revalidating an open file after a lost lease failed, so its handles \
                         fail: {e}"
                    );
                    true
                }
            };
            if lost {
                tracing::error!(
                    ino,
                    "open file may have lost its data while the lease was lost; \
                     its handles fail with EIO until it is opened again"
                );
                self.lose_handles(ino).await;
            }
        }
    }
}

/// What this client shows of a file it has open: its unflushed size and
/// attribute changes over what the store holds.
pub(super) fn overlay(a: &mut super::attr::Attr, f: &OpenFile) {
    if !f.clean() {
        a.size = f.size;
        // Holes this client's unflushed writes make or fill count once
        // the flush has stored them.
        a.blocks = f
            .holes
            .stored_bytes(f.size, u64::from(a.blksize))
            .div_ceil(512);
    }
    if let Some(p) = &f.pending {
        p.show(a);
    }
}
