//! The file system: namespace and metadata over any [`Store`].
//!
//! Every namespace change is one conditional transaction (see `txn`).
//! Reads go through a small attribute cache with a short TTL, the way an NFS
//! client caches attributes: it lets a change be planned without re-reading
//! what the kernel has just looked up, and every plan carries conditions on
//! what it assumed, so a stale cache costs a retry, never a wrong result.

mod acl;
mod allocate;
mod atime;
mod attr;
mod behind;
mod block;
mod blockcache;
mod cache;
mod coherence;
mod collect;
mod create;
mod dir;
mod entry;
mod file;
pub mod flags;
mod lookahead;
mod node;
mod orphan;
mod patch;
mod readdir;
mod remove;
mod rename;
mod seek;
mod setattr;
mod trash;
mod truncate;
mod txn;
mod write;
mod xattr;

use std::sync::Arc;
use std::time::Duration;

pub use allocate::Allocate;
pub use attr::{Attr, SetAttr, TimeSet};
pub use blockcache::BlockCacheStats;

/// The keys and attributes `fs` writes, for code that reads the tables
/// directly (the checker, fsck): one definition, so they cannot drift.
pub mod layout {
    pub use super::block::{
        block_key, encode as encode_block, unpack, BLOCK_LENGTH, BLOCK_S, BLOCK_TAG,
        CHECKSUM as BLOCK_CHECKSUM,
    };
    pub use super::create::counter_change;
    pub use super::entry::{shard_of, ENTRY_INO, ENTRY_TYPE};
    pub use super::orphan::{
        dead_generation_key, dead_generation_put, orphan_key, orphan_put, GENERATION_BLOCKS,
        GENERATION_TAG, ORPHAN_SHARDS, ORPHAN_TAG,
    };
}
pub use file::{OpenMode, MAX_FILE_SIZE};
pub use readdir::{DirEntry, DirHandle};
pub use rename::RenameFlags;
pub use seek::Seek;
pub use trash::{hour_name, Purged, Trashed, TRASH_DIR};
pub use xattr::XattrFlags;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::perm;
use crate::store::Store;
use crate::superblock::Superblock;

use cache::Cache;
use node::Node;

/// How a file system instance is used.
#[derive(Clone, Debug)]
pub struct FsOptions {
    /// Check permissions in core. Off under a kernel mount with
    /// `default_permissions`, where the kernel has already checked (and
    /// knows the caller's supplementary groups, which FUSE does not pass).
    pub check_permissions: bool,
    /// How long cached attributes and names are trusted for planning.
    pub attr_ttl: Duration,
    /// Refuse every change with EROFS.
    pub read_only: bool,
    /// Buffered (not yet written) file data this client may hold before a
    /// writer must flush.
    pub dirty_limit: usize,
    /// Decoded data blocks this client keeps for reading.
    pub cache_bytes: usize,
    /// When a read updates the file's access time.
    pub atime: Atime,
}

/// When reads update atime (the kernel leaves it to a FUSE file system).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Atime {
    /// Never (`noatime`): what the tools use, so a copy or a dump does not
    /// change what it reads.
    #[default]
    Never,
    /// As Linux's default `relatime`: when atime is not after mtime and
    /// ctime, or is a day old; at most one write per file per day of reads.
    Relative,
    /// `strictatime`: the first read of every open (not every read call,
    /// which would be a write per 128 KiB read).
    Strict,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            check_permissions: true,
            attr_ttl: Duration::from_secs(1),
            read_only: false,
            dirty_limit: 256 << 20,
            cache_bytes: 64 << 20,
            atime: Atime::Never,
        }
    }
}

/// File system statistics for statfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatFs {
    pub block_size: u32,
    pub blocks: u64,
    pub blocks_free: u64,
    pub files: u64,
    pub files_free: u64,
    pub name_max: u32,
}

/// One client's view of a file system.
pub struct Fs {
    store: Arc<dyn Store>,
    sb: Superblock,
    opts: FsOptions,
    cache: Cache,
    /// Inodes this client holds open, with their open counts.
    held: crate::held::Held,
    /// Open inodes whose last name this client removed: collected at their
    /// last close here.
    doomed: std::sync::Mutex<std::collections::HashSet<u64>>,
    collector: tokio::sync::mpsc::UnboundedSender<collect::Job>,
    /// The kernel's lookup counts: how many times each inode was handed out
    /// by lookup, create and friends, minus what it forgot.
    lookups: std::sync::Mutex<std::collections::HashMap<u64, u64>>,
    files: file::Files,
    blocks: Arc<blockcache::BlockCache>,
    /// The session whose lease protects what this client holds open (a
    /// mount's; tools run without one).
    session: std::sync::OnceLock<Arc<crate::session::Session>>,
    /// The lock client whose locks the lease protects (a mount's).
    locks: std::sync::OnceLock<Arc<crate::locks::Locks>>,
    /// One settlement of a lost lease at a time: whoever comes second
    /// waits until the first has failed the handles involved.
    settling: tokio::sync::Mutex<()>,
    /// Lease losses whose settlement has finished.
    settled_losses: std::sync::atomic::AtomicU64,
    /// Where the trash is, as last found.
    trash: std::sync::Mutex<trash::Known>,
    /// Trashed inodes this client reached by a name in the trash.
    reached_in_trash: std::sync::Mutex<std::collections::HashSet<u64>>,
}

impl Fs {
    /// Open the file system in a store: reads and checks the superblock.
    pub async fn open(store: Arc<dyn Store>, opts: FsOptions) -> FsResult<Fs> {
        let sb = Superblock::load(store.as_ref()).await?;
        let cache = Cache::new(opts.attr_ttl);
        let blocks = Arc::new(blockcache::BlockCache::new(opts.cache_bytes));
        let held = crate::held::Held::default();
        let collector = collect::start(Arc::clone(&store), sb.block_size, held.clone());
        Ok(Fs {
            store,
            sb,
            opts,
            cache,
            held,
            doomed: Default::default(),
            collector,
            lookups: Default::default(),
            files: Default::default(),
            blocks,
            session: Default::default(),
            locks: Default::default(),
            settling: Default::default(),
            settled_losses: Default::default(),
            trash: Default::default(),
            reached_in_trash: Default::default(),
        })
    }

    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn options(&self) -> &FsOptions {
        &self.opts
    }

    /// The inodes this client holds open (a mount's session publishes them).
    pub fn held(&self) -> crate::held::Held {
        self.held.clone()
    }

    /// Forget every cached attribute and name (tests measure cold costs).
    pub fn drop_caches(&self) {
        self.cache.clear();
    }

    fn writable(&self) -> FsResult<()> {
        if self.opts.read_only {
            return Err(posix(Errno::EROFS, "read-only mount"));
        }
        Ok(())
    }

    fn check(&self, caller: &Caller, node: &Node, mask: u32, what: &str) -> FsResult<()> {
        if self.opts.check_permissions {
            perm::check(caller, &node.inode, mask, what)?;
        }
        Ok(())
    }

    /// Attributes of an inode (fresh from the store). A file whose last
    /// name another client removed is ESTALE here unless this client holds
    /// it open: whoever asks reached it through a name that is gone.
    pub async fn getattr(&self, ino: u64) -> FsResult<Attr> {
        let node = match self.node(ino, true).await {
            // An inode this client holds open is protected from collection
            // while its lease holds: gone, it went while the lease was
            // lost, and the open file answers EIO (the kernel asks for
            // attributes before a read, and would pass ESTALE on).
            Err(e) if e.errno() == Errno::ESTALE && self.is_open(ino) => {
                self.vouch().await;
                return Err(posix(
                    Errno::EIO,
                    format!(
                        "inode {ino}, open here, was collected while this client's lease was lost"
                    ),
                ));
            }
            r => r?,
        };
        if (node.inode.nlink == 0 || self.stale_in_trash(&node))
            && !node.is_dir()
            && !self.is_open(ino)
        {
            return Err(posix(Errno::ESTALE, format!("inode {ino} was removed")));
        }
        Ok(self.attr_of(&node).await)
    }

    /// Attributes of an inode for a cache with a time to live (the
    /// kernel's): from this client's cache while what it read is younger
    /// than `attr_ttl`, with the time it may still be trusted, so nothing
    /// is shown older than `attr_ttl` in all; otherwise read fresh. A
    /// create's parent, or a file just listed, costs no request.
    pub async fn getattr_cached(&self, ino: u64) -> FsResult<(Attr, Duration)> {
        if let Some((node, left)) = self.cache.node_for(ino) {
            if node.inode.nlink > 0 || node.is_dir() || self.is_open(ino) {
                return Ok((self.attr_of(&node).await, left));
            }
        }
        Ok((self.getattr(ino).await?, self.opts.attr_ttl))
    }

    /// Whether the caller may access an inode with `mask` (R=4, W=2, X=1;
    /// 0 checks existence).
    pub async fn access(&self, caller: &Caller, ino: u64, mask: u32) -> FsResult<()> {
        let node = self.node(ino, false).await?;
        if mask & perm::W != 0 {
            self.writable()?;
        }
        if !perm::allows(caller, &node.inode, mask & 7) {
            return Err(posix(Errno::EACCES, format!("access {ino}")));
        }
        Ok(())
    }

    /// Count one more reference the kernel holds to `ino`.
    pub(crate) fn remember(&self, ino: u64) {
        if let Ok(mut m) = self.lookups.lock() {
            *m.entry(ino).or_insert(0) += 1;
        }
    }

    /// The kernel forgot `n` references to `ino`. At zero the client drops
    /// what it cached; an orphan nobody holds any more is collected.
    pub async fn forget(&self, ino: u64, n: u64) {
        let gone = match self.lookups.lock() {
            Ok(mut m) => match m.get_mut(&ino) {
                Some(c) if *c > n => {
                    *c -= n;
                    false
                }
                Some(_) => {
                    m.remove(&ino);
                    true
                }
                None => true,
            },
            Err(_) => false,
        };
        if gone {
            self.cache.forget_node(ino);
        }
    }

    /// How many references the kernel holds to `ino`.
    pub fn lookup_count(&self, ino: u64) -> u64 {
        self.lookups
            .lock()
            .map(|m| m.get(&ino).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// There is no capacity limit: report a very large, mostly free volume.
    pub fn statfs(&self) -> StatFs {
        let bs = self.sb.block_size as u64;
        let bytes: u64 = 1 << 60;
        StatFs {
            block_size: self.sb.block_size,
            blocks: bytes / bs,
            blocks_free: bytes / bs,
            files: 1 << 48,
            files_free: 1 << 48,
            name_max: crate::names::NAME_MAX as u32,
        }
    }
}
