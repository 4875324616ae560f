//! Directory listings for the kernel: pages of entries from core until
//! the kernel's buffer is full.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

use dynamofs_core::fs::{DirHandle, Fs};
use fuser::{INodeNo, ReplyDirectory, ReplyDirectoryPlus};

use crate::aliases::Aliases;
use crate::convert::{attr, errno, kind, unreadable};
use crate::{root, GEN};

type Dir = Arc<tokio::sync::Mutex<DirHandle>>;

pub(crate) async fn readdir(
    fs: Arc<Fs>,
    dir: Dir,
    dir_ino: INodeNo,
    offset: u64,
    mut reply: ReplyDirectory,
) {
    let mut h = dir.lock().await;
    let mut off = offset;
    loop {
        let page = match fs.readdir(&mut h, off, 256).await {
            Ok(p) => p,
            Err(e) => return reply.error(errno("readdir", &e)),
        };
        if page.is_empty() {
            break;
        }
        for (next, e) in page {
            if reply.add(
                root::listed(dir_ino, &e.name, e.ino),
                next,
                kind(e.kind),
                OsStr::from_bytes(&e.name),
            ) {
                return reply.ok();
            }
            off = next;
        }
    }
    reply.ok()
}

/// With each entry's attributes, which the kernel caches for `ttl` at
/// most; where it is told each directory is goes to `aliases`.
pub(crate) async fn readdirplus(
    fs: Arc<Fs>,
    aliases: Arc<Aliases>,
    dir: Dir,
    dir_ino: INodeNo,
    offset: u64,
    ttl: Duration,
    mut reply: ReplyDirectoryPlus,
) {
    let listed_in = root::inward(dir_ino).0;
    let mut h = dir.lock().await;
    let mut off = offset;
    loop {
        let page = match fs.readdirplus(&mut h, off, 100).await {
            Ok(p) => p,
            Err(e) => return reply.error(errno("readdirplus", &e)),
        };
        if page.is_empty() {
            break;
        }
        for (next, e, a, left) in page {
            let (a, ttl) = match a {
                Some(a) => (attr(&a), left.min(ttl)),
                None => (unreadable(e.ino, e.kind), Duration::ZERO),
            };
            let dots = e.name == b"." || e.name == b"..";
            if a.kind == fuser::FileType::Directory && !dots {
                aliases.saw(listed_in, &e.name, e.ino);
            }
            if reply.add(
                root::listed(dir_ino, &e.name, e.ino),
                next,
                OsStr::from_bytes(&e.name),
                &ttl,
                &a,
                GEN,
            ) {
                // The kernel took no reference to entries that did not fit.
                if !dots {
                    fs.forget(e.ino, 1).await;
                }
                return reply.ok();
            }
            off = next;
        }
    }
    reply.ok()
}
