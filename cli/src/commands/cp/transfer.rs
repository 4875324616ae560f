//! Moving one file's data: read from the source a chunk at a time,
//! written to the destination.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::OpenMode;
use dynamofs_core::inode::FileType;
use indicatif::ProgressBar;

use super::item::{Dest, Meta, Place, Src};
use super::local::{self, Found};
use super::preserve::preserve_fs;
use super::progress;
use super::target::{fs_error, io_error, Opened};
use super::Opts;

/// Bytes moved per read and write: many blocks at once, so core fetches
/// and stores them in parallel.
const CHUNK: usize = 4 << 20;

/// One file's copy, run as its own task.
pub(super) struct FileJob {
    pub(super) src: Src,
    pub(super) src_shown: String,
    pub(super) dest: Dest,
    pub(super) meta: Meta,
    pub(super) opts: Opts,
    pub(super) bar: ProgressBar,
    pub(super) done: Arc<AtomicU64>,
    pub(super) files: u64,
}

impl FileJob {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let mut reader = Reader::open(&self.src)
            .await
            .map_err(|e| e.at(&self.src_shown))?;
        let same = match (&self.src, &self.dest.place) {
            (Src::Fs(so, ino), Place::Fs { o, .. }) if Arc::ptr_eq(so, o) => Some(*ino),
            _ => None,
        };
        let writer = match Writer::open(&self.dest, &self.meta, &self.opts, same).await {
            Ok(Some(w)) => w,
            Ok(None) => {
                reader.close().await;
                self.count();
                return Ok(());
            }
            Err(e) => {
                reader.close().await;
                return Err(e);
            }
        };
        let (writer, copied) = self.pump(&mut reader, writer).await;
        reader.close().await;
        let finished = writer.finish().await;
        copied?;
        let finished = finished.map_err(|e| e.at(&self.dest.shown))?;
        if self.opts.preserve {
            match (&self.dest.place, finished) {
                (Place::Fs { o, .. }, Finished::Fs(ino)) => preserve_fs(o, ino, &self.meta, true)
                    .await
                    .map_err(|e| fs_error(&self.dest.shown, e))?,
                (_, Finished::Local(f)) => local::set_attrs(f.as_fd(), &self.meta, true)
                    .map_err(|e| io_error(&self.dest.shown, &e))?,
                _ => {}
            }
        }
        self.count();
        Ok(())
    }

    async fn pump(&self, reader: &mut Reader, mut writer: Writer) -> (Writer, anyhow::Result<()>) {
        loop {
            let chunk = match reader.next().await {
                Ok(c) => c,
                Err(e) => return (writer, Err(e.at(&self.src_shown))),
            };
            if chunk.is_empty() {
                return (writer, Ok(()));
            }
            if let Err(e) = writer.write(&chunk).await {
                let e = match e {
                    // Standard output's own error, so that a reader that
                    // left is recognised.
                    Failure::Io(io) if matches!(self.dest.place, Place::Stdout) => {
                        anyhow::Error::new(io)
                    }
                    e => e.at(&self.dest.shown),
                };
                return (writer, Err(e));
            }
            self.bar.inc(chunk.len() as u64);
        }
    }

    fn count(&self) {
        progress::file_done(&self.bar, &self.done, self.files);
    }
}

/// A failure of a file system call or of local I/O, told with the path
/// where it happened once that is known.
enum Failure {
    Fs(FsError),
    Io(std::io::Error),
    Other(anyhow::Error),
}

impl Failure {
    fn at(self, shown: &str) -> anyhow::Error {
        match self {
            Failure::Fs(e) => fs_error(shown, e),
            Failure::Io(e) => io_error(shown, &e),
            Failure::Other(e) => e,
        }
    }
}

impl From<FsError> for Failure {
    fn from(e: FsError) -> Failure {
        Failure::Fs(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Io(e)
    }
}

enum Reader {
    Fs {
        o: Arc<Opened>,
        fh: u64,
        offset: u64,
    },
    Local(std::fs::File),
    Stdin,
}

impl Reader {
    async fn open(src: &Src) -> Result<Reader, Failure> {
        Ok(match src {
            Src::Fs(o, ino) => {
                let mode = OpenMode {
                    read: true,
                    ..Default::default()
                };
                let fh = o.fs.open_file(&o.caller, *ino, mode).await?;
                Reader::Fs {
                    o: Arc::clone(o),
                    fh,
                    offset: 0,
                }
            }
            Src::Local(p) => Reader::Local(std::fs::File::open(p)?),
            Src::Stdin => Reader::Stdin,
        })
    }

    /// The next chunk; empty at the end.
    async fn next(&mut self) -> Result<Vec<u8>, Failure> {
        match self {
            Reader::Fs { o, fh, offset } => {
                let data = o.fs.read(*fh, *offset, CHUNK).await?;
                *offset += data.len() as u64;
                Ok(data)
            }
            Reader::Local(f) => Ok(tokio::task::block_in_place(|| fill(f))?),
            Reader::Stdin => Ok(tokio::task::block_in_place(|| {
                fill(&mut std::io::stdin().lock())
            })?),
        }
    }

    async fn close(self) {
        if let Reader::Fs { o, fh, .. } = self {
            // Nothing was written through it: nothing to lose.
            let _ = o.fs.release(fh).await;
        }
    }
}

/// Read until the chunk is full or the input ends.
fn fill(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

enum Writer {
    Fs {
        o: Arc<Opened>,
        fh: u64,
        ino: u64,
        offset: u64,
    },
    Local(std::fs::File),
    Stdout,
}

impl Writer {
    /// Open the destination for writing, creating or truncating it;
    /// `None` when it exists and -n keeps it.
    async fn open(
        dest: &Dest,
        meta: &Meta,
        opts: &Opts,
        same: Option<u64>,
    ) -> anyhow::Result<Option<Writer>> {
        // Without -p, no setuid or setgid bits, as cp(1).
        let perm = if opts.preserve {
            meta.perm
        } else {
            meta.perm & 0o777
        };
        match &dest.place {
            Place::Fs { o, dir, name } => {
                for _ in 0..3 {
                    let existing = match o.fs.lookup(&o.caller, *dir, name).await {
                        Ok(a) => {
                            o.fs.forget(a.ino, 1).await;
                            Some(a)
                        }
                        Err(e) if e.errno() == Errno::ENOENT => None,
                        Err(e) => return Err(fs_error(&dest.shown, e)),
                    };
                    let (ino, truncate) = match existing {
                        None => match o.fs.create(&o.caller, *dir, name, perm, true).await {
                            Ok((a, _)) => {
                                o.fs.forget(a.ino, 1).await;
                                (a.ino, false)
                            }
                            Err(e) if e.errno() == Errno::EEXIST => continue,
                            Err(e) => return Err(fs_error(&dest.shown, e)),
                        },
                        Some(_) if opts.no_clobber => return Ok(None),
                        Some(a) if Some(a.ino) == same => {
                            bail!("{}: is the same file as the source", dest.shown)
                        }
                        Some(a) if a.kind == FileType::Directory => {
                            bail!(
                                "{}: cannot overwrite directory with non-directory",
                                dest.shown
                            )
                        }
                        Some(a) if a.kind == FileType::Regular => (a.ino, true),
                        // A link or special file is replaced, never written
                        // through: that could write outside the destination.
                        Some(_) => {
                            match o.fs.unlink(&o.caller, *dir, name).await {
                                Ok(()) => {}
                                Err(e) if e.errno() == Errno::ENOENT => {}
                                Err(e) => return Err(fs_error(&dest.shown, e)),
                            }
                            continue;
                        }
                    };
                    let mode = OpenMode {
                        write: true,
                        truncate,
                        ..Default::default()
                    };
                    let fh =
                        o.fs.open_file(&o.caller, ino, mode)
                            .await
                            .map_err(|e| fs_error(&dest.shown, e))?;
                    return Ok(Some(Writer::Fs {
                        o: Arc::clone(o),
                        fh,
                        ino,
                        offset: 0,
                    }));
                }
                bail!("{}: kept changing while being replaced", dest.shown)
            }
            Place::Local(n) => {
                let f = match n.found() {
                    Ok(Found::Nothing) => n.create_file(perm),
                    Err(e) => Err(e),
                    Ok(_) if opts.no_clobber => return Ok(None),
                    Ok(Found::Dir) => {
                        bail!(
                            "{}: cannot overwrite directory with non-directory",
                            dest.shown
                        )
                    }
                    Ok(Found::File) => n.truncate_file(),
                    // A link or special file is replaced, never written
                    // through.
                    Ok(_) => n.remove().and_then(|()| n.create_file(perm)),
                };
                Ok(Some(Writer::Local(
                    f.map_err(|e| io_error(&dest.shown, &e))?,
                )))
            }
            Place::Stdout => Ok(Some(Writer::Stdout)),
            Place::FsDir { .. } | Place::LocalDir(_) => {
                bail!(
                    "{}: cannot overwrite directory with non-directory",
                    dest.shown
                )
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self {
            Writer::Fs { o, fh, offset, .. } => {
                let mut done = 0;
                while done < data.len() {
                    let n = o.fs.write(*fh, *offset, &data[done..]).await?;
                    if n == 0 {
                        return Err(Failure::Other(anyhow!("the file system accepted no data")));
                    }
                    done += n;
                    *offset += n as u64;
                }
                Ok(())
            }
            Writer::Local(f) => Ok(tokio::task::block_in_place(|| f.write_all(data))?),
            Writer::Stdout => Ok(tokio::task::block_in_place(|| {
                let mut out = std::io::stdout().lock();
                out.write_all(data)?;
                out.flush()
            })?),
        }
    }

    /// Close: in a file system this writes what is buffered (so errors
    /// show here). Returns what was written to.
    async fn finish(self) -> Result<Finished, Failure> {
        match self {
            Writer::Fs { o, fh, ino, .. } => {
                o.fs.release(fh).await?;
                Ok(Finished::Fs(ino))
            }
            Writer::Local(f) => Ok(Finished::Local(f)),
            Writer::Stdout => Ok(Finished::Stdout),
        }
    }
}

/// What a finished copy wrote to: its attributes are set last (-p).
enum Finished {
    Fs(u64),
    /// Still open, so that its attributes are set on it, not on whatever
    /// its name leads to by then.
    Local(std::fs::File),
    Stdout,
}
