//! The FUSE adapter: kernel requests in, dynamofs-core calls out.
//!
//! Each callback hands its request to the tokio runtime and answers from
//! the task, so slow store round trips overlap instead of queueing behind
//! each other on fuser's threads. Errors become errnos in one place
//! (`convert::errno`).

mod aliases;
mod caller;
mod chattr;
mod convert;
pub mod exposition;
mod kernel_cache;
mod listing;
mod lock_owners;
mod lockreq;
pub mod metrics;
mod options;
mod posix_lock;
mod root;

pub use kernel_cache::take_cached_writes;
pub use options::MountOptions;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use aliases::Aliases;
use caller::{caller, caller_with_groups, creator};
use dynamofs_core::fs::{DirHandle, Fs, OpenMode, RenameFlags, SetAttr, TimeSet, XattrFlags};
use dynamofs_core::locks::{LockRequest, LockType, Locks, TO_EOF};
use fuser::{
    AccessFlags, Errno, FileHandle, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig,
    LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyLock, ReplyLseek, ReplyOpen, ReplyStatfs,
    ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use lock_owners::LockOwners;

use convert::{attr, errno, nanos};
use kernel_cache::invalidate;
use lockreq::{lock_end, lock_type, F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX};
use metrics::{Op, Ops};

/// Largest write the kernel sends in one request.
pub const MAX_WRITE: u32 = 1 << 20;

/// The file system as the kernel sees it.
pub struct Adapter {
    fs: Arc<Fs>,
    /// How the adapter tells the kernel to drop cached pages and
    /// attributes (set once the session is mounted).
    notifier: Arc<OnceLock<fuser::Notifier>>,
    /// Locks shared with every other mount, through the store.
    locks: Option<Arc<Locks>>,
    rt: tokio::runtime::Handle,
    opts: MountOptions,
    dirs: Arc<Mutex<DirMap>>,
    next_dir: AtomicU64,
    /// Lock owners that locked through each open file.
    lock_owners: Arc<LockOwners>,
    ops: Arc<Ops>,
    /// Where the kernel last saw each directory.
    aliases: Arc<Aliases>,
}

type DirMap = HashMap<u64, Arc<tokio::sync::Mutex<DirHandle>>>;

pub(crate) const GEN: Generation = Generation(0);

fn time_set(t: TimeOrNow) -> TimeSet {
    match t {
        TimeOrNow::Now => TimeSet::Now,
        TimeOrNow::SpecificTime(t) => TimeSet::At(nanos(t)),
    }
}

impl Adapter {
    pub fn new(
        fs: Arc<Fs>,
        locks: Option<Arc<Locks>>,
        rt: tokio::runtime::Handle,
        opts: MountOptions,
    ) -> Adapter {
        root::set_top(opts.top);
        Adapter {
            fs,
            notifier: Arc::new(OnceLock::new()),
            locks,
            rt,
            opts,
            dirs: Arc::new(Mutex::new(HashMap::new())),
            next_dir: AtomicU64::new(1),
            lock_owners: Arc::default(),
            ops: Arc::default(),
            aliases: Arc::default(),
        }
    }

    /// This adapter's request counts and times, for the mount's metrics.
    pub fn ops(&self) -> Arc<Ops> {
        Arc::clone(&self.ops)
    }

    /// Where the mount puts the session's notifier once it exists.
    pub fn notifier_slot(&self) -> Arc<OnceLock<fuser::Notifier>> {
        Arc::clone(&self.notifier)
    }

    /// Answer a request from a task, timed until the task is done.
    fn spawn<F>(&self, op: Op, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let timer = self.ops.start(op);
        self.rt.spawn(async move {
            f.await;
            drop(timer);
        });
    }

    fn dir(&self, fh: FileHandle) -> Option<Arc<tokio::sync::Mutex<DirHandle>>> {
        self.dirs.lock().ok()?.get(&fh.0).cloned()
    }

    fn open_mode(&self, flags: i32) -> OpenMode {
        convert::open_mode(flags, self.opts.writeback_cache)
    }
}

impl Adapter {
    /// The lock checker when locks are mandatory.
    fn enforced(&self) -> Option<Arc<Locks>> {
        if self.opts.mandatory_locks {
            self.locks.clone()
        } else {
            None
        }
    }
}

/// Answer an entry reply from an async call.
macro_rules! entry_reply {
    ($self:ident, $reply:ident, $op:ident, $call:expr) => {{
        let ttl = $self.opts.entry_ttl;
        $self.spawn(Op::$op, async move {
            match $call.await {
                Ok(a) => $reply.entry(&ttl, &attr(&a), GEN),
                Err(e) => $reply.error(errno(Op::$op.name(), &e)),
            }
        });
    }};
}

/// Answer an empty reply from an async call.
macro_rules! empty_reply {
    ($self:ident, $reply:ident, $op:ident, $call:expr) => {{
        $self.spawn(Op::$op, async move {
            match $call.await {
                Ok(_) => $reply.ok(),
                Err(e) => $reply.error(errno(Op::$op.name(), &e)),
            }
        });
    }};
}

impl fuser::Filesystem for Adapter {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Cached pages go when another client's change shows up in the
        // attributes (mtime), not only when the size changes.
        let mut want = InitFlags::FUSE_AUTO_INVAL_DATA
            | InitFlags::FUSE_DO_READDIRPLUS
            | InitFlags::FUSE_READDIRPLUS_AUTO
            | InitFlags::FUSE_PARALLEL_DIROPS
            | InitFlags::FUSE_ASYNC_READ
            | InitFlags::FUSE_BIG_WRITES
            // File handles: the kernel may turn one back into a file it
            // has forgotten (NFS export, open_by_handle_at) by looking up
            // "." in it by number.
            | InitFlags::FUSE_EXPORT_SUPPORT
            // POSIX ACLs: the kernel checks them (it asks for them through
            // getxattr, answered from the attribute cache) and leaves the
            // umask to us, since a default ACL replaces it.
            | InitFlags::FUSE_POSIX_ACL
            | InitFlags::FUSE_DONT_MASK;
        if self.opts.writeback_cache && !self.opts.mandatory_locks {
            want |= InitFlags::FUSE_WRITEBACK_CACHE;
        }
        if self.locks.is_some() {
            // flock(2) arrives as a whole-file lock of its open file;
            // without these the kernel would keep locks local to this mount.
            want |= InitFlags::FUSE_POSIX_LOCKS | InitFlags::FUSE_FLOCK_LOCKS;
        }
        let want = want & config.capabilities();
        if let Err(missing) = config.add_capabilities(want) {
            tracing::warn!("kernel lacks FUSE capabilities {missing:?}");
        }
        let _ = config.set_max_write(MAX_WRITE);
        let _ = config.set_max_readahead(MAX_WRITE);
        let _ = config.set_max_background(64);
        Ok(())
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let parent = root::inward(parent);
        let (fs, c, name) = (Arc::clone(&self.fs), caller(req), name.as_bytes().to_vec());
        let ttl = self.opts.entry_ttl;
        let top = root::inward(INodeNo(1)).0;
        if name == b"." || (name == b".." && parent.0 == top) {
            // Only a file handle's decoding asks for "." (the kernel walks
            // "." itself), in any kind of file; ".." of the mount's top is
            // the top, as at any root.
            self.spawn(Op::Lookup, async move {
                match fs.lookup_by_number(parent.0).await {
                    Ok(a) => reply.entry(&ttl, &attr(&a), GEN),
                    Err(e) => reply.error(errno("lookup", &e)),
                }
            });
            return;
        }
        let aliases = Arc::clone(&self.aliases);
        self.spawn(Op::Lookup, async move {
            match fs.lookup_cached(&c, parent.0, &name).await {
                Ok((a, _))
                    if a.kind == dynamofs_core::inode::FileType::Directory
                        && aliases.looks_like_loop(parent.0, &name, a.ino, top) =>
                {
                    // The kernel takes no reference to an error.
                    fs.forget(a.ino, 1).await;
                    reply.error(Errno::ESTALE)
                }
                // Never longer than the mount's entry timeout in all.
                Ok((a, left)) => reply.entry(&left.min(ttl), &attr(&a), GEN),
                Err(e) => reply.error(errno("lookup", &e)),
            }
        });
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        let ino = root::inward(ino);
        let (fs, aliases) = (Arc::clone(&self.fs), Arc::clone(&self.aliases));
        self.spawn(Op::Forget, async move {
            fs.forget(ino.0, nlookup).await;
            if fs.lookup_count(ino.0) == 0 {
                aliases.forgot(ino.0);
            }
        });
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        let ttl = self.opts.attr_ttl;
        self.spawn(Op::Getattr, async move {
            match fs.getattr_cached(ino.0).await {
                // Never longer than the mount's attr_timeout in all.
                Ok((a, left)) => reply.attr(&left.min(ttl), &attr(&a)),
                Err(e) => reply.error(errno("getattr", &e)),
            }
        });
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let ino = root::inward(ino);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let ttl = self.opts.attr_ttl;
        let set = SetAttr {
            mode: mode.map(|m| m & 0o7777),
            uid,
            gid,
            size,
            atime: atime.map(time_set),
            mtime: mtime.map(time_set),
            ctime: ctime.map(nanos),
        };
        self.spawn(Op::Setattr, async move {
            // With the writeback cache, a size change may race buffered
            // writes of the same handle: flush them first.
            if let (Some(_), Some(fh)) = (set.size, fh) {
                let _ = fs.flush(fh.0).await;
            }
            match fs.setattr(&c, ino.0, &set).await {
                Ok(a) => reply.attr(&ttl, &attr(&a)),
                Err(e) => reply.error(errno("setattr", &e)),
            }
        });
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        self.spawn(Op::Readlink, async move {
            match fs.readlink(ino.0).await {
                Ok(t) => reply.data(&t),
                Err(e) => reply.error(errno("readlink", &e)),
            }
        });
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let parent = root::inward(parent);
        let (fs, c, name) = (
            Arc::clone(&self.fs),
            creator(req, umask),
            name.as_bytes().to_vec(),
        );
        entry_reply!(
            self,
            reply,
            Mknod,
            fs.mknod(&c, parent.0, &name, mode, rdev)
        );
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let parent = root::inward(parent);
        let (fs, c, name) = (
            Arc::clone(&self.fs),
            creator(req, umask),
            name.as_bytes().to_vec(),
        );
        let aliases = Arc::clone(&self.aliases);
        entry_reply!(self, reply, Mkdir, async {
            let a = fs.mkdir(&c, parent.0, &name, mode).await?;
            aliases.saw(parent.0, &name, a.ino);
            Ok::<_, dynamofs_core::error::FsError>(a)
        });
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let parent = root::inward(parent);
        let (fs, c, name) = (Arc::clone(&self.fs), caller(req), name.as_bytes().to_vec());
        empty_reply!(self, reply, Unlink, fs.unlink(&c, parent.0, &name));
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let parent = root::inward(parent);
        let (fs, c, name) = (Arc::clone(&self.fs), caller(req), name.as_bytes().to_vec());
        let aliases = Arc::clone(&self.aliases);
        empty_reply!(self, reply, Rmdir, async {
            fs.rmdir(&c, parent.0, &name).await?;
            aliases.removed(parent.0, &name);
            Ok::<_, dynamofs_core::error::FsError>(())
        });
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let parent = root::inward(parent);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let (name, target) = (
            link_name.as_bytes().to_vec(),
            target.as_os_str().as_bytes().to_vec(),
        );
        entry_reply!(
            self,
            reply,
            Symlink,
            fs.symlink(&c, parent.0, &name, &target)
        );
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        let parent = root::inward(parent);
        let newparent = root::inward(newparent);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let (name, newname) = (name.as_bytes().to_vec(), newname.as_bytes().to_vec());
        if flags.contains(fuser::RenameFlags::RENAME_WHITEOUT) {
            reply.error(Errno::EINVAL);
            return;
        }
        let flags = RenameFlags {
            noreplace: flags.contains(fuser::RenameFlags::RENAME_NOREPLACE),
            exchange: flags.contains(fuser::RenameFlags::RENAME_EXCHANGE),
        };
        let aliases = Arc::clone(&self.aliases);
        empty_reply!(self, reply, Rename, async {
            fs.rename(&c, parent.0, &name, newparent.0, &newname, flags)
                .await?;
            aliases.renamed(parent.0, &name, newparent.0, &newname, flags.exchange);
            Ok::<_, dynamofs_core::error::FsError>(())
        });
    }

    fn link(
        &self,
        req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let ino = root::inward(ino);
        let newparent = root::inward(newparent);
        let (fs, c, name) = (
            Arc::clone(&self.fs),
            caller(req),
            newname.as_bytes().to_vec(),
        );
        entry_reply!(self, reply, Link, fs.link(&c, ino.0, newparent.0, &name));
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let ino = root::inward(ino);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let mut mode = self.open_mode(flags.0);
        if flags.acc_mode() == OpenAccMode::O_RDONLY {
            mode.write = false;
        }
        let notifier = Arc::clone(&self.notifier);
        self.spawn(Op::Open, async move {
            match fs.open_file(&c, ino.0, mode).await {
                Ok(fh) => {
                    let f = if fs.keep_cache(fh) {
                        FopenFlags::FOPEN_KEEP_CACHE
                    } else {
                        // Close-to-open: the file changed since this client
                        // last saw it, so the size the kernel cached must
                        // go too, or its reads stop at the old end of file
                        // (pages go anyway without KEEP_CACHE).
                        invalidate(&notifier, ino.0, false).await;
                        FopenFlags::empty()
                    };
                    reply.opened(FileHandle(fh), f)
                }
                Err(e) => reply.error(errno("open", &e)),
            }
        });
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        let enforce = self.enforced();
        self.spawn(Op::Read, async move {
            if let Some(l) = enforce {
                let end = offset.saturating_add(size as u64).saturating_sub(1);
                let owner = lock_owner.map_or(0, |o| o.0);
                if let Err(e) = l.check_io(ino.0, owner, offset, end, false).await {
                    return reply.error(errno("read", &e));
                }
            }
            match fs.read(fh.0, offset, size as usize).await {
                Ok(d) => reply.data(&d),
                Err(e) => reply.error(errno("read", &e)),
            }
        });
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        let data = data.to_vec();
        let enforce = self.enforced();
        self.spawn(Op::Write, async move {
            if let Some(l) = enforce {
                let end = offset.saturating_add(data.len() as u64).saturating_sub(1);
                let owner = lock_owner.map_or(0, |o| o.0);
                if let Err(e) = l.check_io(ino.0, owner, offset, end, true).await {
                    return reply.error(errno("write", &e));
                }
            }
            match fs.write(fh.0, offset, &data).await {
                Ok(n) => reply.written(n as u32),
                Err(e) => reply.error(errno("write", &e)),
            }
        });
    }

    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        let ino = root::inward(ino);
        self.lock_owners.flushed(fh.0, lock_owner.0);
        let fs = Arc::clone(&self.fs);
        let locks = self.locks.clone();
        tracing::debug!(ino = ino.0, owner = lock_owner.0, "flush");
        self.spawn(Op::Flush, async move {
            let flushed = fs.flush(fh.0).await;
            // close(2) drops the process's POSIX locks on the file.
            let released = match locks {
                Some(l) => l.release_owner(ino.0, lock_owner.0).await,
                None => Ok(()),
            };
            match flushed.and(released) {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(errno("flush", &e)),
            }
        });
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        let locks = self.locks.clone();
        // The last close of an open file drops its flock lock too.
        let owners = self
            .lock_owners
            .released(fh.0, ino.0, lock_owner.map(|o| o.0));
        self.spawn(Op::Release, async move {
            if let Some(l) = locks {
                for owner in owners {
                    if let Err(e) = l.release_owner(ino.0, owner).await {
                        tracing::warn!("releasing the locks of a closed file: {e}");
                    }
                }
            }
            match fs.release(fh.0).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(errno("release", &e)),
            }
        });
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let fs = Arc::clone(&self.fs);
        empty_reply!(self, reply, Fsync, fs.fsync(fh.0));
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let ino = root::inward(ino);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let id = self.next_dir.fetch_add(1, Ordering::Relaxed);
        let dirs = Arc::clone(&self.dirs);
        self.spawn(Op::Opendir, async move {
            match fs.opendir(&c, ino.0).await {
                Ok(h) => {
                    if let Ok(mut m) = dirs.lock() {
                        m.insert(id, Arc::new(tokio::sync::Mutex::new(h)));
                    }
                    reply.opened(FileHandle(id), FopenFlags::empty())
                }
                Err(e) => reply.error(errno("opendir", &e)),
            }
        });
    }

    fn readdir(
        &self,
        _req: &Request,
        dir_ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        let fs = Arc::clone(&self.fs);
        let Some(dir) = self.dir(fh) else {
            reply.error(Errno::EBADF);
            return;
        };
        self.spawn(
            Op::Readdir,
            listing::readdir(fs, dir, dir_ino, offset, reply),
        );
    }

    fn readdirplus(
        &self,
        _req: &Request,
        dir_ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        let fs = Arc::clone(&self.fs);
        let ttl = self.opts.entry_ttl;
        let Some(dir) = self.dir(fh) else {
            reply.error(Errno::EBADF);
            return;
        };
        let aliases = Arc::clone(&self.aliases);
        self.spawn(
            Op::Readdirplus,
            listing::readdirplus(fs, aliases, dir, dir_ino, offset, ttl, reply),
        );
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let _timer = self.ops.start(Op::Releasedir);
        if let Ok(mut m) = self.dirs.lock() {
            m.remove(&fh.0);
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let _timer = self.ops.start(Op::Statfs);
        let s = self.fs.statfs();
        reply.statfs(
            s.blocks,
            s.blocks_free,
            s.blocks_free,
            s.files,
            s.files_free,
            s.block_size,
            s.name_max,
            s.block_size,
        );
    }

    fn setxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let ino = root::inward(ino);
        let acl = name.as_bytes().starts_with(b"system.posix_acl_");
        let c = if acl {
            caller_with_groups(req)
        } else {
            caller(req)
        };
        let fs = Arc::clone(&self.fs);
        let (name, value) = (name.as_bytes().to_vec(), value.to_vec());
        // XATTR_CREATE = 1, XATTR_REPLACE = 2.
        let flags = XattrFlags {
            create: flags & 1 != 0,
            replace: flags & 2 != 0,
        };
        empty_reply!(
            self,
            reply,
            Setxattr,
            fs.setxattr(&c, ino.0, &name, &value, flags)
        );
    }

    fn getxattr(&self, req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let ino = root::inward(ino);
        let (fs, c, name) = (Arc::clone(&self.fs), caller(req), name.as_bytes().to_vec());
        self.spawn(Op::Getxattr, async move {
            match fs.getxattr(&c, ino.0, &name).await {
                Ok(v) if size == 0 => reply.size(v.len() as u32),
                Ok(v) if v.len() > size as usize => reply.error(Errno::ERANGE),
                Ok(v) => reply.data(&v),
                Err(e) => reply.error(errno("getxattr", &e)),
            }
        });
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let ino = root::inward(ino);
        let fs = Arc::clone(&self.fs);
        self.spawn(Op::Listxattr, async move {
            match fs.listxattr(ino.0).await {
                Ok(names) => {
                    let mut buf = Vec::new();
                    for n in names {
                        buf.extend_from_slice(&n);
                        buf.push(0);
                    }
                    if size == 0 {
                        reply.size(buf.len() as u32)
                    } else if buf.len() > size as usize {
                        reply.error(Errno::ERANGE)
                    } else {
                        reply.data(&buf)
                    }
                }
                Err(e) => reply.error(errno("listxattr", &e)),
            }
        });
    }

    fn removexattr(&self, req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let ino = root::inward(ino);
        let (fs, c, name) = (Arc::clone(&self.fs), caller(req), name.as_bytes().to_vec());
        empty_reply!(self, reply, Removexattr, fs.removexattr(&c, ino.0, &name));
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let ino = root::inward(ino);
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        let mask = (mask.bits() & 7) as u32;
        empty_reply!(self, reply, Access, fs.access(&c, ino.0, mask));
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let parent = root::inward(parent);
        let (fs, c, name) = (
            Arc::clone(&self.fs),
            creator(req, umask),
            name.as_bytes().to_vec(),
        );
        let ttl = self.opts.entry_ttl;
        let mut open = self.open_mode(flags);
        open.truncate = false;
        let exclusive = convert::exclusive(flags);
        self.spawn(Op::Create, async move {
            let made = fs.create(&c, parent.0, &name, mode, exclusive).await;
            let (a, new) = match made {
                Ok(made) => made,
                Err(e) => return reply.error(errno("create", &e)),
            };
            match fs.open_created(&c, a.ino, open, new).await {
                Ok(fh) => reply.created(&ttl, &attr(&a), GEN, FileHandle(fh), FopenFlags::empty()),
                Err(e) => reply.error(errno("create", &e)),
            }
        });
    }

    fn getlk(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        lock_owner: LockOwner,
        start: u64,
        end: u64,
        typ: i32,
        pid: u32,
        reply: ReplyLock,
    ) {
        let ino = root::inward(ino);
        let Some(locks) = self.locks.clone() else {
            reply.error(Errno::ENOSYS);
            return;
        };
        let Some(t) = lock_type(typ) else {
            reply.error(Errno::EINVAL);
            return;
        };
        let req = LockRequest::posix(t, start, lock_end(end), lock_owner.0, pid);
        self.spawn(Op::Getlk, async move {
            match locks.getlk(ino.0, &req).await {
                Ok(Some(l)) => {
                    let typ = match l.typ {
                        LockType::Read => F_RDLCK,
                        LockType::Write => F_WRLCK,
                    };
                    let end = if l.end == TO_EOF { OFFSET_MAX } else { l.end };
                    reply.locked(l.start, end, typ, l.pid)
                }
                Ok(None) => reply.locked(start, end, F_UNLCK, 0),
                Err(e) => reply.error(errno("getlk", &e)),
            }
        });
    }

    fn setlk(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        lock_owner: LockOwner,
        start: u64,
        end: u64,
        typ: i32,
        pid: u32,
        sleep: bool,
        reply: ReplyEmpty,
    ) {
        let ino = root::inward(ino);
        let Some(locks) = self.locks.clone() else {
            reply.error(Errno::ENOSYS);
            return;
        };
        let end = lock_end(end);
        tracing::debug!(
            ino = ino.0,
            owner = lock_owner.0,
            start,
            end,
            typ,
            pid,
            sleep,
            "setlk"
        );
        if typ != F_UNLCK {
            self.lock_owners.locked(fh.0, ino.0, lock_owner.0);
        }
        let fs = Arc::clone(&self.fs);
        let notifier = Arc::clone(&self.notifier);
        let change = posix_lock::Change {
            ino: ino.0,
            fh: fh.0,
            owner: lock_owner.0,
            start,
            end,
            typ,
            pid,
            sleep,
        };
        self.spawn(Op::Setlk, async move {
            match posix_lock::apply(&fs, &locks, &notifier, change).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(errno("setlk", &e)),
            }
        });
    }

    fn ioctl(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: fuser::IoctlFlags,
        cmd: u32,
        in_data: &[u8],
        _out_size: u32,
        reply: fuser::ReplyIoctl,
    ) {
        let ino = root::inward(ino);
        tracing::debug!(ino = ino.0, cmd, len = in_data.len(), "ioctl");
        let Some(asked) = chattr::Ioctl::decode(cmd, in_data) else {
            reply.error(Errno::ENOTTY);
            return;
        };
        let (fs, c) = (Arc::clone(&self.fs), caller(req));
        self.spawn(Op::Ioctl, async move {
            match chattr::answer(&fs, &c, ino.0, asked).await {
                Ok(out) => reply.ioctl(0, &out),
                Err(e) => reply.error(e),
            }
        });
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let Some(how) = convert::allocate(mode) else {
            // COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE (core/src/fs/allocate.rs).
            reply.error(Errno::EOPNOTSUPP);
            return;
        };
        let fs = Arc::clone(&self.fs);
        self.spawn(Op::Fallocate, async move {
            match fs.fallocate(fh.0, offset, length, how).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(errno("fallocate", &e)),
            }
        });
    }

    /// SEEK_DATA and SEEK_HOLE (the kernel answers the other whences).
    fn lseek(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        let Some(what) = convert::seek(whence) else {
            reply.error(Errno::EINVAL);
            return;
        };
        let Ok(offset) = u64::try_from(offset) else {
            reply.error(Errno::ENXIO);
            return;
        };
        let fs = Arc::clone(&self.fs);
        self.spawn(Op::Lseek, async move {
            match fs.seek(fh.0, offset, what).await {
                Ok(at) => reply.offset(at as i64),
                Err(e) => reply.error(errno("lseek", &e)),
            }
        });
    }
}
