//! The local side of a copy out of a file system: every name is made or
//! opened relative to a directory this copy holds open (openat and its
//! kin), never through a symbolic link. A copy can therefore not write
//! outside its destination, even through a link it made itself a moment
//! before (`cp -r FS:/a/x FS:/b/x DST/`, a/x a link, b/x a directory),
//! nor through one that appears under it while it runs. Only the
//! destination the user named is reached by its path, links and all.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps, CWD};

use super::item::Meta;

/// A directory held open.
#[derive(Clone, Debug)]
pub(super) struct LocalDir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
}

/// A name in a directory held open: what a copy creates or replaces.
#[derive(Clone, Debug)]
pub(super) struct LocalName {
    dir: Arc<OwnedFd>,
    name: OsString,
    path: PathBuf,
}

/// What is at a name, not following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    Nothing,
    Dir,
    File,
    Link,
    Other,
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

impl LocalDir {
    /// A directory the user named, found by its path.
    pub(super) fn open(path: &Path) -> io::Result<LocalDir> {
        let fd = rustix::fs::openat(CWD, path, dir_flags(), Mode::empty())?;
        Ok(LocalDir {
            fd: Arc::new(fd),
            path: path.to_path_buf(),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn child(&self, name: &OsStr) -> LocalName {
        LocalName {
            dir: Arc::clone(&self.fd),
            name: name.to_os_string(),
            path: self.path.join(name),
        }
    }

    /// Mode, then times (and owner first, with `preserve`).
    pub(super) fn set_attrs(&self, m: &Meta, preserve: bool) -> io::Result<()> {
        set_attrs(self.fd.as_fd(), m, preserve)
    }

    pub(super) fn set_mode(&self, mode: u32) -> io::Result<()> {
        Ok(rustix::fs::fchmod(&*self.fd, Mode::from_raw_mode(mode))?)
    }
}

impl LocalName {
    /// The name the user gave as a destination: its directory is found by
    /// its path, links and all.
    pub(super) fn of_path(path: &Path) -> io::Result<LocalName> {
        let no_name = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "names no file (it ends in / . or ..)",
            )
        };
        let name = path.file_name().ok_or_else(no_name)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = LocalDir::open(parent)?;
        Ok(LocalName {
            dir: dir.fd,
            name: name.to_os_string(),
            path: path.to_path_buf(),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn found(&self) -> io::Result<Found> {
        match rustix::fs::statat(&*self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => Found::Dir,
                FileType::RegularFile => Found::File,
                FileType::Symlink => Found::Link,
                _ => Found::Other,
            }),
            Err(rustix::io::Errno::NOENT) => Ok(Found::Nothing),
            Err(e) => Err(e.into()),
        }
    }

    /// Make a directory here; `false` when something is here already.
    pub(super) fn mkdir(&self, mode: u32) -> io::Result<bool> {
        match rustix::fs::mkdirat(&*self.dir, &self.name, Mode::from_raw_mode(mode)) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Open the directory here, which must be one, not a link to one.
    pub(super) fn open_dir(&self) -> io::Result<LocalDir> {
        let fd = rustix::fs::openat(
            &*self.dir,
            &self.name,
            dir_flags() | OFlags::NOFOLLOW,
            Mode::empty(),
        )?;
        Ok(LocalDir {
            fd: Arc::new(fd),
            path: self.path.clone(),
        })
    }

    /// A new file here (nothing may be here).
    pub(super) fn create_file(&self, perm: u32) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(
            &*self.dir,
            &self.name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(perm),
        )?;
        Ok(File::from(fd))
    }

    /// The regular file here, emptied. Never a link, and never a FIFO or
    /// device put here meanwhile (O_NONBLOCK keeps a FIFO from blocking
    /// the open; it is refused right after).
    pub(super) fn truncate_file(&self) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&*self.dir, &self.name, flags, Mode::empty())?;
        if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "changed into something other than a file while being copied to",
            ));
        }
        rustix::fs::ftruncate(&fd, 0)?;
        rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
        Ok(File::from(fd))
    }

    pub(super) fn symlink(&self, target: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::symlinkat(target, &*self.dir, &self.name)?)
    }

    /// Remove what is here (not a directory).
    pub(super) fn remove(&self) -> io::Result<()> {
        match rustix::fs::unlinkat(&*self.dir, &self.name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Give the link here the source's owner where permitted.
    pub(super) fn chown_link(&self, m: &Meta) {
        let chown = |uid: Option<u32>, gid: Option<u32>| {
            rustix::fs::chownat(
                &*self.dir,
                &self.name,
                uid.and_then(id).map(rustix::fs::Uid::from_raw),
                gid.and_then(id).map(rustix::fs::Gid::from_raw),
                AtFlags::SYMLINK_NOFOLLOW,
            )
        };
        // Not permitted is not an error for cp -p.
        if chown(Some(m.uid), Some(m.gid)).is_err() {
            let _ = chown(None, Some(m.gid));
        }
    }
}

/// An id that can be set: -1 means "leave unchanged" to chown(2).
fn id(raw: u32) -> Option<u32> {
    (raw != u32::MAX).then_some(raw)
}

/// Owner first (where permitted, as cp -p: else the group alone, else
/// nothing), then times, then mode: with `preserve`; else the mode only.
pub(super) fn set_attrs(
    fd: std::os::fd::BorrowedFd<'_>,
    m: &Meta,
    preserve: bool,
) -> io::Result<()> {
    if preserve {
        let chown = |uid: Option<u32>, gid: Option<u32>| {
            rustix::fs::fchown(
                fd,
                uid.and_then(id).map(rustix::fs::Uid::from_raw),
                gid.and_then(id).map(rustix::fs::Gid::from_raw),
            )
        };
        if chown(Some(m.uid), Some(m.gid)).is_err() {
            let _ = chown(None, Some(m.gid));
        }
        let times = Timestamps {
            last_access: timespec(m.atime),
            last_modification: timespec(m.mtime),
        };
        rustix::fs::futimens(fd, &times)?;
    }
    Ok(rustix::fs::fchmod(fd, Mode::from_raw_mode(m.perm))?)
}

fn timespec(ns: i64) -> Timespec {
    Timespec {
        tv_sec: ns.div_euclid(1_000_000_000),
        tv_nsec: ns.rem_euclid(1_000_000_000) as _,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_through_a_link() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        let dst = tmp.path().join("dst");
        std::fs::create_dir(&dst).expect("mkdir");
        std::os::unix::fs::symlink(&outside, dst.join("x")).expect("symlink");
        let d = LocalDir::open(&dst).expect("open");
        let x = d.child(OsStr::new("x"));
        assert_eq!(x.found().expect("stat"), Found::Link);
        assert!(!x.mkdir(0o755).expect("mkdir"));
        assert!(x.open_dir().is_err(), "opened a directory through a link");
        std::os::unix::fs::symlink(outside.join("f"), dst.join("f")).expect("symlink");
        let f = d.child(OsStr::new("f"));
        assert!(f.create_file(0o644).is_err());
        assert!(f.truncate_file().is_err());
        assert!(!outside.join("f").exists(), "wrote through a link");
    }

    #[test]
    fn times_before_1970() {
        let t = timespec(-1);
        assert_eq!((t.tv_sec, t.tv_nsec), (-1, 999_999_999));
    }
}
