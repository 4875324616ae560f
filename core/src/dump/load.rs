//! Load: a dump's records made into inodes, names and data again, through
//! [`Fs`] as root, so every rule the file system keeps (names, counts,
//! transactions) holds for what is loaded as for anything else created.
//!
//! Inodes get new numbers; the dump's ids only tie its records together.
//! A file's owner, mode and times are set once its data is written, and a
//! directory's once everything in it is: creating a name changes the
//! directory's times.

use std::collections::HashMap;
use std::io::BufRead;

use crate::caller::Caller;
use crate::fs::{Fs, OpenMode, SetAttr, TimeSet, XattrFlags};
use crate::inode::FileType;
use crate::path;
use crate::perm::{S_ISGID, S_ISUID};
use crate::schema::ROOT_INO;

use super::format::{self, Counts, Header, Kind, Meta, Record};
use super::DumpError;

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Load into a file system whose root already holds names (a name the
    /// dump holds too fails the load there).
    pub force: bool,
    /// Load a `--metadata-only` dump: files get their sizes, as holes.
    pub metadata_only: bool,
}

/// A file being filled by the data records after its node.
struct Filling {
    id: u64,
    ino: u64,
    fh: u64,
    path: Vec<u8>,
    meta: Meta,
}

struct Loader<'a> {
    fs: &'a Fs,
    caller: Caller,
    /// Dump id → directory created for it, and its path (for messages).
    dirs_made: HashMap<u64, (u64, Vec<u8>)>,
    /// Dump id → inode created for it, for inodes that links name again.
    linked: HashMap<u64, u64>,
    /// Directories whose attributes are set at the end.
    dirs: Vec<(u64, Vec<u8>, Meta)>,
    filling: Option<Filling>,
    counts: Counts,
}

/// Read a dump from `input` into `fs`. `progress` is called after each
/// inode with the counts so far. The file system must be empty (its root
/// holding no names) unless `opts.force`.
pub async fn load(
    fs: &Fs,
    input: &mut dyn BufRead,
    opts: &LoadOptions,
    progress: &mut dyn FnMut(&Counts),
) -> Result<Counts, DumpError> {
    let mut lines = Lines { input, line: 0 };
    let header = match lines.next()? {
        Some(Record::Header(h)) => h,
        Some(_) => return Err(lines.bad("the first record is not the dump's header")),
        None => return Err(DumpError::Refused("the dump is empty".into())),
    };
    check_header(&header, opts)?;
    // A non-root caller would be refused the owners and modes to restore;
    // no umask: the dump's modes are restored exactly.
    let caller = Caller {
        umask: 0,
        ..Caller::root()
    };
    if !opts.force {
        let listing = path::list_dir(fs, &caller, ROOT_INO, false)
            .await
            .map_err(|e| DumpError::fs(b"/", e))?;
        if !listing.entries.is_empty() || !listing.damaged.is_empty() {
            return Err(DumpError::Refused(
                "the file system is not empty: load into a new one (`dynamofs mkfs`), \
                 or pass --force to add the dump's tree to what is there"
                    .into(),
            ));
        }
    }
    let mut l = Loader {
        fs,
        caller,
        dirs_made: HashMap::from([(ROOT_INO, (ROOT_INO, b"/".to_vec()))]),
        linked: HashMap::new(),
        dirs: Vec::new(),
        filling: None,
        counts: Counts::default(),
    };
    let mut root = None;
    let end = loop {
        let Some(r) = lines.next()? else {
            l.finish_file().await?;
            return Err(DumpError::Refused(format!(
                "the dump ends at line {} without its end record: it was cut short \
                 (what it held up to there is loaded)",
                lines.line
            )));
        };
        if !matches!(r, Record::Data { .. }) {
            l.finish_file().await?;
        }
        match r {
            Record::Header(_) => return Err(lines.bad("a second header")),
            Record::Root(m) => root = Some(m),
            Record::Node {
                parent,
                name,
                id,
                meta,
            } => {
                let (dir, dir_path) = l.parent(parent, &lines)?;
                let p = path::join(&dir_path, &name.0);
                l.node(dir, &name.0, id, p, meta, &lines).await?;
                progress(&l.counts);
            }
            Record::Link { parent, name, id } => {
                let (dir, dir_path) = l.parent(parent, &lines)?;
                let p = path::join(&dir_path, &name.0);
                let Some(ino) = l.linked.get(&id).copied() else {
                    return Err(lines.bad(&format!("a link to inode {id}, not created before")));
                };
                let a = fs
                    .link(&l.caller, ino, dir, &name.0)
                    .await
                    .map_err(|e| DumpError::fs(&p, e))?;
                fs.forget(a.ino, 1).await;
                l.counts.links += 1;
            }
            Record::Data { id, offset, data } => {
                let Some(f) = l.filling.as_ref().filter(|f| f.id == id) else {
                    return Err(lines.bad(&format!(
                        "data of inode {id}, which is not the file just created"
                    )));
                };
                let mut at = 0;
                while at < data.0.len() {
                    let n = fs
                        .write(f.fh, offset + at as u64, &data.0[at..])
                        .await
                        .map_err(|e| DumpError::fs(&f.path, e))?;
                    if n == 0 {
                        // Past the largest file size: nothing more fits.
                        return Err(DumpError::fs(
                            &f.path,
                            crate::error::posix(
                                crate::error::Errno::EFBIG,
                                "data past the largest file size",
                            ),
                        ));
                    }
                    at += n;
                }
                l.counts.data_bytes += data.0.len() as u64;
            }
            Record::End(c) => break c,
        }
    };
    if let Some(m) = root {
        l.dirs.push((ROOT_INO, b"/".to_vec(), m));
    }
    for (ino, p, m) in std::mem::take(&mut l.dirs) {
        l.restore(ino, &p, &m).await?;
    }
    let got = &l.counts;
    if (got.nodes, got.links, got.data_bytes) != (end.nodes, end.links, end.data_bytes) {
        return Err(DumpError::Refused(format!(
            "the dump's end record counts {} inodes, {} links and {} data bytes, \
             but its records hold {}, {} and {}: it is damaged",
            end.nodes, end.links, end.data_bytes, got.nodes, got.links, got.data_bytes
        )));
    }
    // The dump's own failures: load reports them, they are not its own.
    l.counts.errors = end.errors;
    Ok(l.counts)
}

fn check_header(h: &Header, opts: &LoadOptions) -> Result<(), DumpError> {
    if h.format != format::FORMAT {
        return Err(DumpError::Refused(format!(
            "not a dynamofs dump (its header says format {:?})",
            h.format
        )));
    }
    if h.version != format::VERSION {
        return Err(DumpError::Refused(format!(
            "dump format version {} is unknown to this dynamofs, which reads version {}: \
             load it with the dynamofs that wrote it, or a newer one",
            h.version,
            format::VERSION
        )));
    }
    if !h.data && !opts.metadata_only {
        return Err(DumpError::Refused(
            "this dump holds no file data (it was made with --metadata-only): files would \
             read as zeros; pass --metadata-only to load it anyway"
                .into(),
        ));
    }
    Ok(())
}

impl Loader<'_> {
    fn parent(&self, id: u64, lines: &Lines) -> Result<(u64, Vec<u8>), DumpError> {
        self.dirs_made
            .get(&id)
            .cloned()
            .ok_or_else(|| lines.bad(&format!("parent {id} is not a directory created before")))
    }

    async fn node(
        &mut self,
        dir: u64,
        name: &[u8],
        id: u64,
        p: Vec<u8>,
        meta: Meta,
        lines: &Lines<'_>,
    ) -> Result<(), DumpError> {
        let fs = self.fs;
        let c = &self.caller;
        let err = |e| DumpError::fs(&p, e);
        let perm = meta.perm & 0o7777;
        let attr = match meta.kind {
            Kind::Dir => fs.mkdir(c, dir, name, perm).await.map_err(err)?,
            Kind::File => fs.create(c, dir, name, perm, true).await.map_err(err)?.0,
            Kind::Symlink => {
                let Some(t) = &meta.target else {
                    return Err(lines.bad("a symbolic link without a target"));
                };
                fs.symlink(c, dir, name, &t.0).await.map_err(err)?
            }
            k => {
                let mode = k.file_type().bits() | perm;
                fs.mknod(c, dir, name, mode, meta.rdev).await.map_err(err)?
            }
        };
        fs.forget(attr.ino, 1).await;
        for (n, v) in &meta.xattrs {
            fs.setxattr(c, attr.ino, &n.0, &v.0, XattrFlags::default())
                .await
                .map_err(err)?;
        }
        self.counts.nodes += 1;
        if meta.nlink > 1 && meta.kind != Kind::Dir {
            self.linked.insert(id, attr.ino);
        }
        match meta.kind {
            Kind::Dir => {
                self.dirs_made.insert(id, (attr.ino, p.clone()));
                self.dirs.push((attr.ino, p, meta));
            }
            Kind::File => {
                let mode = OpenMode {
                    write: true,
                    ..Default::default()
                };
                let fh = fs
                    .open_created(c, attr.ino, mode, true)
                    .await
                    .map_err(err)?;
                self.filling = Some(Filling {
                    id,
                    ino: attr.ino,
                    fh,
                    path: p,
                    meta,
                });
            }
            _ => self.restore(attr.ino, &p, &meta).await?,
        }
        Ok(())
    }

    /// Write and close the file being filled, then give it its size,
    /// owner, mode and times.
    async fn finish_file(&mut self) -> Result<(), DumpError> {
        let Some(f) = self.filling.take() else {
            return Ok(());
        };
        let err = |e| DumpError::fs(&f.path, e);
        let flushed = self.fs.flush(f.fh).await;
        let released = self.fs.release(f.fh).await;
        flushed.map_err(err)?;
        released.map_err(err)?;
        let a = self.fs.getattr(f.ino).await.map_err(err)?;
        if a.size != f.meta.size {
            let set = SetAttr {
                size: Some(f.meta.size),
                ..Default::default()
            };
            self.fs
                .setattr(&self.caller, f.ino, &set)
                .await
                .map_err(err)?;
        }
        self.restore(f.ino, &f.path, &f.meta).await
    }

    /// Owner, mode and times as the dump has them. The owner goes first on
    /// its own when the mode has setuid or setgid, which a change of owner
    /// clears.
    async fn restore(&self, ino: u64, p: &[u8], m: &Meta) -> Result<(), DumpError> {
        let err = |e| DumpError::fs(p, e);
        let owner = SetAttr {
            uid: Some(m.uid),
            gid: Some(m.gid),
            ..Default::default()
        };
        let keeps_owner = m.uid == self.caller.uid && m.gid == self.caller.gid;
        let suid = m.perm & (S_ISUID | S_ISGID) != 0;
        let mut set = SetAttr {
            atime: Some(TimeSet::At(m.atime)),
            mtime: Some(TimeSet::At(m.mtime)),
            ..Default::default()
        };
        if m.kind != Kind::Symlink {
            set.mode = Some(m.perm & 0o7777);
        }
        if !keeps_owner {
            if suid && m.kind.file_type() != FileType::Directory {
                self.fs
                    .setattr(&self.caller, ino, &owner)
                    .await
                    .map_err(err)?;
            } else {
                set.uid = owner.uid;
                set.gid = owner.gid;
            }
        }
        self.fs
            .setattr(&self.caller, ino, &set)
            .await
            .map_err(err)?;
        if m.flags != 0 {
            self.fs
                .set_flags(&self.caller, ino, m.flags)
                .await
                .map_err(err)?;
        }
        Ok(())
    }
}

/// The dump's records, one per line, counting lines for messages.
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    line: u64,
}

impl Lines<'_> {
    fn next(&mut self) -> Result<Option<Record>, DumpError> {
        let mut s = String::new();
        loop {
            s.clear();
            if self.input.read_line(&mut s)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !s.trim().is_empty() {
                break;
            }
        }
        serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| DumpError::Format {
                line: self.line,
                why: e.to_string(),
            })
    }

    fn bad(&self, why: &str) -> DumpError {
        DumpError::Format {
            line: self.line,
            why: why.to_string(),
        }
    }
}
