//! Dump: the whole tree of a file system, data included, as a stream of
//! records that [`load`] turns back into the same tree in any store.
//!
//! The dump walks the tree through [`Fs`] as root, like a `cp -a` that
//! keeps hard links: it is no snapshot. Beside live mounts, each file is
//! read through one open, so a file nobody changes is dumped exactly and
//! a file written meanwhile may mix old and new data, as any copy of a
//! live tree does (docs/DUMP.md).

pub mod format;
pub mod load;

use std::collections::HashSet;
use std::io::Write;

use crate::caller::Caller;
use crate::error::FsError;
use crate::fs::{Attr, Fs, OpenMode, TRASH_DIR};
use crate::inode::FileType;
use crate::path::{self, Walk};
use crate::schema::ROOT_INO;
use crate::superblock::now_ns;

use format::{Base64, Bytes, Counts, Header, Meta, Record};

pub use load::{load, LoadOptions};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: {source}")]
    Fs { path: String, source: FsError },
    #[error("line {line} of the dump: {why}")]
    Format { line: u64, why: String },
    #[error("{0}")]
    Refused(String),
}

impl DumpError {
    fn fs(path: &[u8], source: FsError) -> DumpError {
        DumpError::Fs {
            path: String::from_utf8_lossy(path).into_owned(),
            source,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DumpOptions {
    /// Leave file data out (`--metadata-only`).
    pub metadata_only: bool,
}

/// A problem that did not stop the dump: the entry is left out of it.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub path: String,
    pub why: String,
}

/// Write the whole tree to `out`. `progress` is called after each inode
/// with the counts so far; `skipped` for each entry left out (damaged
/// items, unsafe names), whose number the end record holds too.
pub async fn dump(
    fs: &Fs,
    out: &mut dyn Write,
    opts: &DumpOptions,
    progress: &mut dyn FnMut(&Counts),
    skipped: &mut dyn FnMut(&Skipped),
) -> Result<Counts, DumpError> {
    let caller = Caller::root();
    let sb = fs.superblock();
    let header = Header {
        format: format::FORMAT.into(),
        version: format::VERSION,
        fs_id: sb.fs_id.clone(),
        block_size: sb.block_size,
        compression: sb.compression.clone(),
        dumped_ns: now_ns(),
        data: !opts.metadata_only,
    };
    put(out, &Record::Header(header))?;
    let root = fs
        .getattr(ROOT_INO)
        .await
        .map_err(|e| DumpError::fs(b"/", e))?;
    put(out, &Record::Root(meta(fs, &caller, &root, b"/").await?))?;
    let mut counts = Counts::default();
    let mut skip = |counts: &mut Counts, path: &[u8], why: String| {
        counts.errors += 1;
        skipped(&Skipped {
            path: String::from_utf8_lossy(path).into_owned(),
            why,
        });
    };
    // Inodes with several names dumped so far: their later names are links.
    let mut linked: HashSet<u64> = HashSet::new();
    let mut walk = Walk::new(b"/".to_vec(), ROOT_INO, ());
    while let Some(v) = walk.next(fs, &caller).await {
        let listing = match v.entries {
            Ok(l) => l,
            Err(e) => {
                skip(&mut counts, &v.path, format!("cannot list: {e}"));
                continue;
            }
        };
        for (name, e) in listing.damaged {
            skip(&mut counts, &path::join(&v.path, &name), e.to_string());
        }
        for l in listing.entries {
            // Removed files, kept for a restore here: not part of the tree.
            if v.ino == ROOT_INO && fs.superblock().trash_days > 0 && l.name == TRASH_DIR {
                continue;
            }
            let p = path::join(&v.path, &l.name);
            if !path::is_safe_name(&l.name) {
                skip(&mut counts, &p, "not a name a file system may hold".into());
                continue;
            }
            let a = &l.attr;
            if a.kind != FileType::Directory && a.nlink > 1 && !linked.insert(a.ino) {
                put(
                    out,
                    &Record::Link {
                        parent: v.ino,
                        name: Bytes(l.name.clone()),
                        id: a.ino,
                    },
                )?;
                counts.links += 1;
                continue;
            }
            let m = match meta(fs, &caller, a, &p).await {
                Ok(m) => m,
                Err(e) => {
                    skip(&mut counts, &p, e.to_string());
                    continue;
                }
            };
            put(
                out,
                &Record::Node {
                    parent: v.ino,
                    name: Bytes(l.name.clone()),
                    id: a.ino,
                    meta: m,
                },
            )?;
            counts.nodes += 1;
            match a.kind {
                FileType::Directory => walk.enter(p, a.ino, ()),
                FileType::Regular if !opts.metadata_only && a.size > 0 => {
                    counts.data_bytes += data(fs, &caller, out, a, &p).await?;
                }
                _ => {}
            }
            progress(&counts);
        }
    }
    put(out, &Record::End(counts.clone()))?;
    out.flush()?;
    Ok(counts)
}

fn put(out: &mut dyn Write, r: &Record) -> Result<(), DumpError> {
    serde_json::to_writer(&mut *out, r).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// An inode's record: its attributes, a symbolic link's target and the
/// extended attributes.
async fn meta(fs: &Fs, caller: &Caller, a: &Attr, p: &[u8]) -> Result<Meta, DumpError> {
    let err = |e| DumpError::fs(p, e);
    let mut m = Meta::of(a);
    if a.kind == FileType::Symlink {
        m.target = Some(Bytes(fs.readlink(a.ino).await.map_err(err)?));
    }
    for name in fs.listxattr(a.ino).await.map_err(err)? {
        let value = fs.getxattr(caller, a.ino, &name).await.map_err(err)?;
        m.xattrs.push((Bytes(name), Bytes(value)));
    }
    Ok(m)
}

/// A file's data up to the size its record states, one block per record;
/// blocks that read as zeros are holes to the load. Returns the bytes
/// written.
async fn data(
    fs: &Fs,
    caller: &Caller,
    out: &mut dyn Write,
    a: &Attr,
    p: &[u8],
) -> Result<u64, DumpError> {
    let err = |e| DumpError::fs(p, e);
    let mode = OpenMode {
        read: true,
        ..Default::default()
    };
    let fh = fs.open_file(caller, a.ino, mode).await.map_err(err)?;
    let chunk = fs.superblock().block_size.max(4096) as usize;
    let result = async {
        let mut offset = 0u64;
        let mut bytes = 0u64;
        while offset < a.size {
            let want = chunk.min((a.size - offset) as usize);
            let got = fs.read(fh, offset, want).await.map_err(err)?;
            if got.is_empty() {
                break;
            }
            let n = got.len() as u64;
            if got.iter().any(|b| *b != 0) {
                bytes += n;
                let r = Record::Data {
                    id: a.ino,
                    offset,
                    data: Base64(got),
                };
                put(out, &r)?;
            }
            offset += n;
        }
        Ok(bytes)
    }
    .await;
    // Only read: closing cannot lose anything.
    let _ = fs.release(fh).await;
    result
}
