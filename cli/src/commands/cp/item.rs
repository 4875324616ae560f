//! What a copy is made of: the items planned, where each comes from and
//! where it goes.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use dynamofs_core::fs::Attr;
use dynamofs_core::path;

use super::local::{LocalDir, LocalName};
use super::target::{self, Opened};

/// What is kept of a source's attributes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    pub(super) perm: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) atime: i64,
    pub(super) mtime: i64,
    pub(super) size: u64,
}

impl Meta {
    pub(super) fn of_attr(a: &Attr) -> Meta {
        Meta {
            perm: a.perm,
            uid: a.uid,
            gid: a.gid,
            atime: a.atime,
            mtime: a.mtime,
            size: a.size,
        }
    }

    pub(super) fn of_local(m: &std::fs::Metadata) -> Meta {
        Meta {
            perm: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            atime: m.atime() * 1_000_000_000 + m.atime_nsec(),
            mtime: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            size: m.len(),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum Kind {
    Dir,
    File,
    Link(Vec<u8>),
    Special(&'static str),
}

#[derive(Clone)]
pub(super) enum Src {
    Fs(Arc<Opened>, u64),
    Local(PathBuf),
    Stdin,
}

/// Where one item goes.
#[derive(Clone)]
pub(super) enum Place {
    /// A name in a directory: created, or replaced.
    Fs {
        o: Arc<Opened>,
        dir: u64,
        name: Vec<u8>,
    },
    /// An existing directory a directory's contents are merged into.
    FsDir {
        o: Arc<Opened>,
        ino: u64,
    },
    /// A name in a local directory: created, or replaced.
    Local(LocalName),
    /// An existing local directory a directory's contents are merged into.
    LocalDir(LocalDir),
    Stdout,
}

#[derive(Clone)]
pub(super) struct Dest {
    pub(super) place: Place,
    /// The path in its file system (or the local path), for children.
    pub(super) path: Vec<u8>,
    /// For messages.
    pub(super) shown: String,
}

/// A directory made (or found) at the destination.
#[derive(Clone)]
pub(super) enum DirAt {
    Fs {
        o: Arc<Opened>,
        ino: u64,
        path: Vec<u8>,
    },
    Local(LocalDir),
}

impl DirAt {
    pub(super) fn child(&self, name: &[u8]) -> Dest {
        match self {
            DirAt::Fs { o, ino, path } => {
                let p = path::join(path, name);
                Dest {
                    shown: o.show(&p),
                    place: Place::Fs {
                        o: Arc::clone(o),
                        dir: *ino,
                        name: name.to_vec(),
                    },
                    path: p,
                }
            }
            DirAt::Local(dir) => {
                let n = dir.child(OsStr::from_bytes(name));
                Dest {
                    shown: n.path().display().to_string(),
                    path: target::local_bytes(n.path()).to_vec(),
                    place: Place::Local(n),
                }
            }
        }
    }

    pub(super) fn dest(&self) -> Dest {
        match self {
            DirAt::Fs { o, ino, path } => Dest {
                shown: o.show(path),
                place: Place::FsDir {
                    o: Arc::clone(o),
                    ino: *ino,
                },
                path: path.clone(),
            },
            DirAt::Local(d) => Dest {
                shown: d.path().display().to_string(),
                path: target::local_bytes(d.path()).to_vec(),
                place: Place::LocalDir(d.clone()),
            },
        }
    }
}

/// What DEST turned out to be.
pub(super) enum DestTop {
    /// An existing directory sources go into.
    Into(DirAt),
    /// The new (or overwritten) name of the one source.
    Exact(Dest),
}

/// One thing to copy, in walk order: a directory comes before what is in it.
pub(super) struct Item {
    /// The directory item this goes into; `None` for a source named on
    /// the command line, which goes to `top`.
    pub(super) parent: Option<usize>,
    pub(super) top: Option<Dest>,
    pub(super) name: Vec<u8>,
    pub(super) src: Src,
    /// Device and inode, to notice directory cycles under -L.
    pub(super) id: (u64, u64),
    pub(super) shown: String,
    pub(super) kind: Kind,
    pub(super) meta: Meta,
}
