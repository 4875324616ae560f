//! Making directories and symbolic links at the destination, and the
//! checks that keep a copy inside it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use anyhow::bail;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::SetAttr;
use dynamofs_core::inode::FileType;
use dynamofs_core::path;
use dynamofs_core::schema::ROOT_INO;

use super::item::{Dest, DirAt, Item, Place, Src};
use super::local::{Found, LocalName};
use super::preserve::preserve_fs;
use super::target::{fs_error, io_error, Opened};
use super::Copier;

/// A name read from a file system, in directory `dir`, is used as a name
/// at the destination: refused unless it is one name there, inside it.
pub(super) fn safe_name(o: &Opened, dir: &[u8], name: &[u8]) -> anyhow::Result<()> {
    if !path::is_safe_name(name) {
        bail!(
            "{}: refusing the name {:?} read from the file system (contains '/' or NUL, or is . or ..); not copied",
            o.show(dir),
            String::from_utf8_lossy(name)
        );
    }
    Ok(())
}

impl Copier<'_> {
    /// Make (or find, to merge into) a directory at `dest`.
    pub(super) async fn make_dir(&self, it: &Item, dest: &Dest) -> anyhow::Result<(DirAt, bool)> {
        let mode = it.meta.perm | 0o700;
        match &dest.place {
            Place::Fs { o, dir, name } => {
                if it.parent.is_none() {
                    self.not_into_itself(it, o, *dir, dest).await?;
                }
                match o.fs.mkdir(&o.caller, *dir, name, mode).await {
                    Ok(a) => Ok((
                        DirAt::Fs {
                            o: Arc::clone(o),
                            ino: a.ino,
                            path: dest.path.clone(),
                        },
                        true,
                    )),
                    Err(e) if e.errno() == Errno::EEXIST => {
                        let a =
                            o.fs.lookup(&o.caller, *dir, name)
                                .await
                                .map_err(|e| fs_error(&dest.shown, e))?;
                        if a.kind != FileType::Directory {
                            bail!(
                                "{}: cannot overwrite non-directory with directory {}",
                                dest.shown,
                                it.shown
                            );
                        }
                        Ok((
                            DirAt::Fs {
                                o: Arc::clone(o),
                                ino: a.ino,
                                path: dest.path.clone(),
                            },
                            false,
                        ))
                    }
                    Err(e) => Err(fs_error(&dest.shown, e)),
                }
            }
            Place::FsDir { o, ino } => {
                self.not_into_itself(it, o, *ino, dest).await?;
                Ok((
                    DirAt::Fs {
                        o: Arc::clone(o),
                        ino: *ino,
                        path: dest.path.clone(),
                    },
                    false,
                ))
            }
            Place::Local(n) => {
                let created = n.mkdir(mode).map_err(|e| io_error(&dest.shown, &e))?;
                match n.open_dir() {
                    Ok(d) => Ok((DirAt::Local(d), created)),
                    Err(e) => match n.found() {
                        // Never followed, whoever made it (this copy, a
                        // moment ago, from another source): it could lead
                        // anywhere outside the destination.
                        Ok(Found::Link) => bail!(
                            "{}: will not copy {} through a symbolic link (a copy never writes through one)",
                            dest.shown,
                            it.shown
                        ),
                        Ok(Found::Dir) | Err(_) => Err(io_error(&dest.shown, &e)),
                        Ok(_) => bail!(
                            "{}: cannot overwrite non-directory with directory {}",
                            dest.shown,
                            it.shown
                        ),
                    },
                }
            }
            Place::LocalDir(d) => Ok((DirAt::Local(d.clone()), false)),
            Place::Stdout => bail!("{}: cannot copy a directory to standard output", it.shown),
        }
    }

    /// A directory copied within its file system must not land in itself.
    async fn not_into_itself(
        &self,
        it: &Item,
        o: &Arc<Opened>,
        start: u64,
        dest: &Dest,
    ) -> anyhow::Result<()> {
        let Src::Fs(so, src_ino) = &it.src else {
            return Ok(());
        };
        if !Arc::ptr_eq(so, o) {
            return Ok(());
        }
        let mut cur = start;
        for _ in 0..4096 {
            if cur == *src_ino {
                bail!(
                    "cannot copy a directory, {}, into itself, {}",
                    it.shown,
                    dest.shown
                );
            }
            if cur == ROOT_INO {
                return Ok(());
            }
            let up =
                o.fs.lookup(&o.caller, cur, b"..")
                    .await
                    .map_err(|e| fs_error(&dest.shown, e))?;
            o.fs.forget(up.ino, 1).await;
            cur = up.ino;
        }
        Ok(())
    }

    pub(super) async fn make_link(
        &self,
        it: &Item,
        dest: &Dest,
        target: &[u8],
    ) -> anyhow::Result<()> {
        match &dest.place {
            Place::Fs { o, dir, name } => {
                for _ in 0..3 {
                    match o.fs.symlink(&o.caller, *dir, name, target).await {
                        Ok(a) => {
                            o.fs.forget(a.ino, 1).await;
                            if self.opts.preserve {
                                preserve_fs(o, a.ino, &it.meta, false)
                                    .await
                                    .map_err(|e| fs_error(&dest.shown, e))?;
                            }
                            return Ok(());
                        }
                        Err(e) if e.errno() == Errno::EEXIST => {
                            if self.opts.no_clobber {
                                return Ok(());
                            }
                            replace_fs_entry(o, *dir, name, &dest.shown, it).await?;
                        }
                        Err(e) => return Err(fs_error(&dest.shown, e)),
                    }
                }
                bail!("{}: kept changing while being replaced", dest.shown)
            }
            Place::Local(n) => {
                for _ in 0..3 {
                    match n.symlink(OsStr::from_bytes(target)) {
                        Ok(()) => {
                            if self.opts.preserve {
                                n.chown_link(&it.meta);
                            }
                            return Ok(());
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            if self.opts.no_clobber {
                                return Ok(());
                            }
                            replace_local_entry(n, &dest.shown, it)?;
                        }
                        Err(e) => return Err(io_error(&dest.shown, &e)),
                    }
                }
                bail!("{}: kept changing while being replaced", dest.shown)
            }
            Place::FsDir { .. } | Place::LocalDir(_) => bail!(
                "{}: cannot overwrite directory with non-directory {}",
                dest.shown,
                it.shown
            ),
            Place::Stdout => bail!(
                "{}: cannot copy a symbolic link to standard output",
                it.shown
            ),
        }
    }

    /// A directory's own attributes, once nothing more is written into it.
    pub(super) async fn finish_dir(
        &self,
        it: &Item,
        at: &DirAt,
        created: bool,
    ) -> anyhow::Result<()> {
        let want_mode = if self.opts.preserve {
            it.meta.perm
        } else {
            it.meta.perm & !self.umask & 0o7777
        };
        let made_as = (it.meta.perm | 0o700) & !self.umask & 0o7777;
        match at {
            DirAt::Fs { o, ino, path } => {
                let shown = o.show(path);
                if self.opts.preserve {
                    preserve_fs(o, *ino, &it.meta, true)
                        .await
                        .map_err(|e| fs_error(&shown, e))?;
                } else if created && want_mode != made_as {
                    let set = SetAttr {
                        mode: Some(want_mode),
                        ..Default::default()
                    };
                    o.fs.setattr(&o.caller, *ino, &set)
                        .await
                        .map_err(|e| fs_error(&shown, e))?;
                }
            }
            DirAt::Local(d) => {
                let shown = d.path().display().to_string();
                if self.opts.preserve {
                    d.set_attrs(&it.meta, true)
                        .map_err(|e| io_error(&shown, &e))?;
                } else if created && want_mode != made_as {
                    d.set_mode(want_mode).map_err(|e| io_error(&shown, &e))?;
                }
            }
        }
        Ok(())
    }
}

/// Make room for a non-directory at `name`: what is there goes, unless it
/// is a directory.
async fn replace_fs_entry(
    o: &Opened,
    dir: u64,
    name: &[u8],
    shown: &str,
    it: &Item,
) -> anyhow::Result<()> {
    let a = match o.fs.lookup(&o.caller, dir, name).await {
        Ok(a) => a,
        Err(e) if e.errno() == Errno::ENOENT => return Ok(()),
        Err(e) => return Err(fs_error(shown, e)),
    };
    o.fs.forget(a.ino, 1).await;
    if a.kind == FileType::Directory {
        bail!(
            "{shown}: cannot overwrite directory with non-directory {}",
            it.shown
        );
    }
    match o.fs.unlink(&o.caller, dir, name).await {
        Ok(()) => Ok(()),
        Err(e) if e.errno() == Errno::ENOENT => Ok(()),
        Err(e) => Err(fs_error(shown, e)),
    }
}

fn replace_local_entry(n: &LocalName, shown: &str, it: &Item) -> anyhow::Result<()> {
    match n.found().map_err(|e| io_error(shown, &e))? {
        Found::Dir => bail!(
            "{shown}: cannot overwrite directory with non-directory {}",
            it.shown
        ),
        Found::Nothing => Ok(()),
        _ => n.remove().map_err(|e| io_error(shown, &e)),
    }
}
