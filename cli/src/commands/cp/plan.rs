//! Planning: what DEST is, and every source walked and listed before
//! anything is copied.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use dynamofs_core::error::Errno;
use dynamofs_core::fs::Attr;
use dynamofs_core::inode::FileType;
use dynamofs_core::path::{self, Walk};

use super::dest;
use super::item::{Dest, DestTop, DirAt, Item, Kind, Meta, Place, Src};
use super::local::{LocalDir, LocalName};
use super::target::{self, fs_error, io_error, Opened, Target};
use super::Copier;

impl Copier<'_> {
    pub(super) async fn resolve_dest(
        &self,
        t: &Target,
        opened: &HashMap<String, Arc<Opened>>,
        many: bool,
    ) -> anyhow::Result<Option<DestTop>> {
        let not_dir = |shown: &str| {
            anyhow!("target {shown}: Not a directory (several sources go into a directory)")
        };
        match t {
            Target::Stdio => Ok(None),
            Target::Fs(p) => {
                let o = opened
                    .get(&p.source)
                    .ok_or_else(|| anyhow!("{} is not open", p.source))?;
                let shown = o.show(&p.path);
                match path::resolve(&o.fs, &o.caller, &p.path, true).await {
                    Ok(r) if r.attr.kind == FileType::Directory => {
                        Ok(Some(DestTop::Into(DirAt::Fs {
                            o: Arc::clone(o),
                            ino: r.attr.ino,
                            path: p.path.clone(),
                        })))
                    }
                    Ok(r) => {
                        if many {
                            return Err(not_dir(&shown));
                        }
                        let (dir, name) = r
                            .parent
                            .ok_or_else(|| anyhow!("{shown}: not a directory"))?;
                        Ok(Some(DestTop::Exact(Dest {
                            place: Place::Fs {
                                o: Arc::clone(o),
                                dir,
                                name,
                            },
                            path: p.path.clone(),
                            shown,
                        })))
                    }
                    Err(e) if e.errno() == Errno::ENOENT => {
                        if many {
                            return Err(fs_error(&format!("target {shown}"), e));
                        }
                        let (dir, name) = path::resolve_parent(&o.fs, &o.caller, &p.path)
                            .await
                            .map_err(|e| fs_error(&shown, e))?;
                        Ok(Some(DestTop::Exact(Dest {
                            place: Place::Fs {
                                o: Arc::clone(o),
                                dir: dir.ino,
                                name,
                            },
                            path: p.path.clone(),
                            shown,
                        })))
                    }
                    Err(e) => Err(fs_error(&shown, e)),
                }
            }
            // What the user named is reached by its path, links and all;
            // nothing under it is (see local.rs).
            Target::Local(p) => {
                let shown = p.display().to_string();
                let failed = |e: std::io::Error| io_error(&format!("target {shown}"), &e);
                match std::fs::metadata(p) {
                    Ok(m) if m.is_dir() => Ok(Some(DestTop::Into(DirAt::Local(
                        LocalDir::open(p).map_err(failed)?,
                    )))),
                    Ok(_) if many => Err(not_dir(&shown)),
                    Ok(_) => {
                        // The user named this file: write where it leads.
                        let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                        Ok(Some(DestTop::Exact(Dest {
                            path: target::local_bytes(&real).to_vec(),
                            place: Place::Local(LocalName::of_path(&real).map_err(failed)?),
                            shown,
                        })))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !many => {
                        Ok(Some(DestTop::Exact(Dest {
                            path: target::local_bytes(p).to_vec(),
                            place: Place::Local(LocalName::of_path(p).map_err(failed)?),
                            shown,
                        })))
                    }
                    Err(e) => Err(failed(e)),
                }
            }
        }
    }

    /// Where a source named on the command line goes.
    fn top_dest(dest: &Option<DestTop>, base: Option<Vec<u8>>) -> Dest {
        match (dest, base) {
            (None, _) => Dest {
                place: Place::Stdout,
                path: b"-".to_vec(),
                shown: "standard output".into(),
            },
            (Some(DestTop::Into(d)), Some(name)) => d.child(&name),
            (Some(DestTop::Into(d)), None) => d.dest(),
            (Some(DestTop::Exact(d)), _) => d.clone(),
        }
    }

    pub(super) async fn plan_top(
        &mut self,
        t: &Target,
        arg: &str,
        dest: &Option<DestTop>,
        opened: &HashMap<String, Arc<Opened>>,
    ) -> anyhow::Result<()> {
        match t {
            Target::Stdio => {
                if let Some(DestTop::Into(d)) = dest {
                    bail!(
                        "cannot copy standard input into directory {}: name the new file, e.g. {}",
                        d.dest().shown,
                        d.child(b"name").shown
                    );
                }
                self.items.push(Item {
                    parent: None,
                    top: Some(Self::top_dest(dest, None)),
                    name: Vec::new(),
                    src: Src::Stdin,
                    id: (0, 0),
                    shown: "standard input".into(),
                    kind: Kind::File,
                    meta: Meta {
                        perm: 0o666,
                        uid: 0,
                        gid: 0,
                        atime: 0,
                        mtime: 0,
                        size: 0,
                    },
                });
                Ok(())
            }
            Target::Fs(p) => {
                let o = opened
                    .get(&p.source)
                    .ok_or_else(|| anyhow!("{} is not open", p.source))?;
                let top = Self::top_dest(dest, base_name(&p.path));
                self.plan_fs(o, &p.path, top).await
            }
            Target::Local(p) => {
                let top = Self::top_dest(dest, base_name(target::local_bytes(p)));
                self.plan_local(p, arg, top)
            }
        }
    }

    pub(super) async fn plan_fs(
        &mut self,
        o: &Arc<Opened>,
        src: &[u8],
        top: Dest,
    ) -> anyhow::Result<()> {
        let shown = o.show(src);
        let follow = self.opts.dereference || !self.opts.recursive;
        let r = path::resolve(&o.fs, &o.caller, src, follow)
            .await
            .map_err(|e| fs_error(&shown, e))?;
        let a = r.attr;
        let kind = self.fs_kind(o, &a, &shown).await?;
        if matches!(kind, Kind::Dir) && !self.opts.recursive {
            bail!("{shown}: Is a directory (not copied; use -r)");
        }
        let idx = self.push(Item {
            parent: None,
            top: Some(top),
            name: Vec::new(),
            src: Src::Fs(Arc::clone(o), a.ino),
            id: (0, a.ino),
            shown,
            kind: kind.clone(),
            meta: Meta::of_attr(&a),
        });
        if !matches!(kind, Kind::Dir) {
            return Ok(());
        }
        let mut walk = Walk::new(src.to_vec(), a.ino, idx);
        while let Some(v) = walk.next(&o.fs, &o.caller).await {
            let entries = match v.entries {
                Ok(e) => e,
                Err(e) => {
                    let e = fs_error(&o.show(&v.path), e);
                    self.fail(&e);
                    continue;
                }
            };
            for (name, e) in entries.damaged {
                self.fail(&fs_error(&o.show(&path::join(&v.path, &name)), e));
            }
            for e in entries.entries {
                let p = path::join(&v.path, &e.name);
                let shown = o.show(&p);
                if let Err(e) = dest::safe_name(o, &v.path, &e.name) {
                    self.fail(&e);
                    continue;
                }
                let mut attr = e.attr;
                if attr.kind == FileType::Symlink && self.opts.dereference {
                    match path::resolve(&o.fs, &o.caller, &p, true).await {
                        Ok(r) => attr = r.attr,
                        Err(err) => {
                            self.fail(&fs_error(&shown, err));
                            continue;
                        }
                    }
                }
                let kind = match self.fs_kind(o, &attr, &shown).await {
                    Ok(k) => k,
                    Err(err) => {
                        self.fail(&err);
                        continue;
                    }
                };
                if matches!(kind, Kind::Dir) && self.is_ancestor(v.tag, (0, attr.ino)) {
                    self.fail(&anyhow!(
                        "{shown}: directory cycle through a symbolic link; not copied"
                    ));
                    continue;
                }
                let i = self.push(Item {
                    parent: Some(v.tag),
                    top: None,
                    name: e.name,
                    src: Src::Fs(Arc::clone(o), attr.ino),
                    id: (0, attr.ino),
                    shown,
                    kind: kind.clone(),
                    meta: Meta::of_attr(&attr),
                });
                if matches!(kind, Kind::Dir) {
                    walk.enter(p, attr.ino, i);
                }
            }
        }
        Ok(())
    }

    async fn fs_kind(&self, o: &Opened, a: &Attr, shown: &str) -> anyhow::Result<Kind> {
        Ok(match a.kind {
            FileType::Directory => Kind::Dir,
            FileType::Regular => Kind::File,
            FileType::Symlink => {
                Kind::Link(o.fs.readlink(a.ino).await.map_err(|e| fs_error(shown, e))?)
            }
            FileType::Fifo => Kind::Special("fifo"),
            FileType::Socket => Kind::Special("socket"),
            FileType::CharDevice | FileType::BlockDevice => Kind::Special("device"),
        })
    }

    fn plan_local(&mut self, src: &Path, arg: &str, top: Dest) -> anyhow::Result<()> {
        let follow = self.opts.dereference || !self.opts.recursive;
        let m = if follow {
            std::fs::metadata(src)
        } else {
            std::fs::symlink_metadata(src)
        }
        .map_err(|e| io_error(arg, &e))?;
        let kind = local_kind(src, &m).map_err(|e| io_error(arg, &e))?;
        if matches!(kind, Kind::Dir) && !self.opts.recursive {
            bail!("{arg}: Is a directory (not copied; use -r)");
        }
        let idx = self.push(Item {
            parent: None,
            top: Some(top),
            name: Vec::new(),
            src: Src::Local(src.to_path_buf()),
            id: (m.dev(), m.ino()),
            shown: arg.to_string(),
            kind: kind.clone(),
            meta: Meta::of_local(&m),
        });
        if !matches!(kind, Kind::Dir) {
            return Ok(());
        }
        let mut stack = vec![(src.to_path_buf(), idx)];
        while let Some((dir, tag)) = stack.pop() {
            let mut names: Vec<std::ffi::OsString> = match std::fs::read_dir(&dir) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
                Err(e) => {
                    self.fail(&io_error(&dir.display().to_string(), &e));
                    continue;
                }
            };
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let mut subdirs = Vec::new();
            for name in names {
                let p = dir.join(&name);
                let shown = p.display().to_string();
                let m = if self.opts.dereference {
                    std::fs::metadata(&p)
                } else {
                    std::fs::symlink_metadata(&p)
                };
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        self.fail(&io_error(&shown, &e));
                        continue;
                    }
                };
                let kind = match local_kind(&p, &m) {
                    Ok(k) => k,
                    Err(e) => {
                        self.fail(&io_error(&shown, &e));
                        continue;
                    }
                };
                if matches!(kind, Kind::Dir) && self.is_ancestor(tag, (m.dev(), m.ino())) {
                    self.fail(&anyhow!(
                        "{shown}: directory cycle through a symbolic link; not copied"
                    ));
                    continue;
                }
                let i = self.push(Item {
                    parent: Some(tag),
                    top: None,
                    name: name.as_bytes().to_vec(),
                    src: Src::Local(p.clone()),
                    id: (m.dev(), m.ino()),
                    shown,
                    kind: kind.clone(),
                    meta: Meta::of_local(&m),
                });
                if matches!(kind, Kind::Dir) {
                    subdirs.push((p, i));
                }
            }
            // Popped last first: keep name order.
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    fn push(&mut self, item: Item) -> usize {
        self.items.push(item);
        self.items.len() - 1
    }

    fn is_ancestor(&self, mut idx: usize, id: (u64, u64)) -> bool {
        loop {
            let Some(it) = self.items.get(idx) else {
                return false;
            };
            if it.id == id {
                return true;
            }
            match it.parent {
                Some(p) => idx = p,
                None => return false,
            }
        }
    }
}

/// A directory source named `dir/.` or the root is copied as its contents.
fn base_name(p: &[u8]) -> Option<Vec<u8>> {
    let mut end = p.len();
    while end > 0 && p[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &p[..end];
    let name = match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    };
    (!name.is_empty() && name != b"." && name != b"..").then(|| name.to_vec())
}

fn local_kind(p: &Path, m: &std::fs::Metadata) -> std::io::Result<Kind> {
    let t = m.file_type();
    Ok(if t.is_dir() {
        Kind::Dir
    } else if t.is_file() {
        Kind::File
    } else if t.is_symlink() {
        Kind::Link(std::fs::read_link(p)?.as_os_str().as_bytes().to_vec())
    } else if t.is_fifo() {
        Kind::Special("fifo")
    } else if t.is_socket() {
        Kind::Special("socket")
    } else {
        Kind::Special("device")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names() {
        assert_eq!(base_name(b"/a/b"), Some(b"b".to_vec()));
        assert_eq!(base_name(b"/a/b/"), Some(b"b".to_vec()));
        assert_eq!(base_name(b"b"), Some(b"b".to_vec()));
        assert_eq!(base_name(b"/"), None);
        assert_eq!(base_name(b"/a/."), None);
        assert_eq!(base_name(b".."), None);
    }
}
