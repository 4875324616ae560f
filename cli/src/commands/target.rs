//! Where the file tools point: `SOURCE:PATH` arguments, scp style, and the
//! file system they open as the invoking user.
//!
//! `aws:us-east-1/MyFs:/dir/file` and `sqlite:/var/lib/fs.db:/dir/file`
//! name a path in a file system; a plain SOURCE names its root. Anything
//! else is a local path (for cp), and `-` is standard input or output.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use dynamofs_core::caller::Caller;
use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::{Fs, FsOptions};

use crate::args::GlobalArgs;
use crate::printer::Printer;

/// A path in a file system, as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsPath {
    /// The SOURCE part, e.g. `aws:us-east-1/MyFs`.
    pub source: String,
    /// Absolute, as written (`/` for a plain SOURCE).
    pub path: Vec<u8>,
}

/// What one argument names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Fs(FsPath),
    Local(PathBuf),
    /// `-`: standard input or output.
    Stdio,
}

/// Parse an argument that may name a local path too (cp).
pub fn parse(arg: &str) -> anyhow::Result<Target> {
    if arg == "-" {
        return Ok(Target::Stdio);
    }
    if arg.starts_with("aws:") || arg.starts_with("sqlite:") {
        return Ok(Target::Fs(parse_fs(arg)?));
    }
    Ok(Target::Local(PathBuf::from(arg)))
}

/// Parse an argument that must name a path in a file system.
pub fn parse_fs(arg: &str) -> anyhow::Result<FsPath> {
    if let Some(rest) = arg.strip_prefix("aws:") {
        // REGION/TABLE has no colon, so the first one ends the source.
        return match rest.split_once(':') {
            None => Ok(FsPath {
                source: arg.to_string(),
                path: b"/".to_vec(),
            }),
            Some((src, path)) => {
                let source = format!("aws:{src}");
                absolute(arg, &source, path)?;
                Ok(FsPath {
                    source,
                    path: path.as_bytes().to_vec(),
                })
            }
        };
    }
    if let Some(rest) = arg.strip_prefix("sqlite:") {
        // A file name may hold colons; the path starts at the one ":/".
        let seps: Vec<usize> = rest.match_indices(":/").map(|(i, _)| i).collect();
        return match seps.as_slice() {
            [] => {
                if let Some((file, path)) = rest.split_once(':') {
                    // `sqlite:fs.db:dir/x` or `sqlite:fs.db:` most likely
                    // meant a path in fs.db, not a file named so.
                    if !file.is_empty() && Path::new(file).is_file() && !Path::new(rest).exists() {
                        absolute(arg, &format!("sqlite:{file}"), path)?;
                    }
                }
                Ok(FsPath {
                    source: arg.to_string(),
                    path: b"/".to_vec(),
                })
            }
            [i] => Ok(FsPath {
                source: format!("sqlite:{}", &rest[..*i]),
                path: rest.as_bytes()[i + 1..].to_vec(),
            }),
            _ => anyhow::bail!(
                "`{arg}` is ambiguous: \":/\" appears more than once, so it is unclear where \
                 the SQLite file name ends and the path begins. Write sqlite:FILE:/PATH with \
                 \":/\" only between the two (reach a file whose name holds \":/\" through a \
                 symbolic link)"
            ),
        };
    }
    anyhow::bail!(
        "`{arg}` is not in a file system: write aws:REGION/TABLE:/PATH or sqlite:FILE:/PATH \
         (a plain SOURCE means its root)"
    )
}

fn absolute(arg: &str, source: &str, path: &str) -> anyhow::Result<()> {
    if path.starts_with('/') {
        return Ok(());
    }
    if path.is_empty() {
        anyhow::bail!("`{arg}` has an empty path: write {source}:/ or just {source} for the root");
    }
    anyhow::bail!("`{arg}`: the path must be absolute: write {source}:/{path}")
}

/// An open file system and who acts on it.
pub struct Opened {
    /// The SOURCE as the user wrote it, for messages.
    pub source: String,
    pub fs: Fs,
    pub caller: Caller,
}

impl Opened {
    /// `SOURCE:PATH`, for messages.
    pub fn show(&self, path: &[u8]) -> String {
        show(&self.source, path)
    }
}

/// `SOURCE:PATH`, for messages.
pub fn show(source: &str, path: &[u8]) -> String {
    format!("{source}:{}", String::from_utf8_lossy(path))
}

/// Errors so far, reported as they happen; the exit status at the end.
#[derive(Default)]
pub struct Outcome {
    pub failed: bool,
}

impl Outcome {
    pub fn error(&mut self, printer: &Printer, e: &anyhow::Error) {
        self.failed = true;
        printer.error(e);
    }

    pub fn code(&self) -> ExitCode {
        if self.failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// The file systems a command has opened, each once however many
/// arguments name it.
#[derive(Default)]
pub struct Sources {
    open: std::collections::HashMap<String, std::sync::Arc<Opened>>,
}

impl Sources {
    pub async fn get(
        &mut self,
        global: &GlobalArgs,
        source: &str,
    ) -> anyhow::Result<std::sync::Arc<Opened>> {
        if let Some(o) = self.open.get(source) {
            return Ok(std::sync::Arc::clone(o));
        }
        let o = std::sync::Arc::new(open(global, source).await?);
        self.open
            .insert(source.to_string(), std::sync::Arc::clone(&o));
        Ok(o)
    }

    /// Let each file system finish its background work (collecting the
    /// data of removed and truncated files): there is no later for a
    /// command that exits.
    pub async fn settle(&self) {
        for o in self.open.values() {
            o.fs.settle().await;
        }
    }
}

/// Open the file system a SOURCE names, as the invoking user.
pub async fn open(global: &GlobalArgs, source: &str) -> anyhow::Result<Opened> {
    let (src, opened) = super::open_source(global, source).await?;
    let fs_opts = FsOptions {
        read_only: opened.read_only,
        ..FsOptions::default()
    };
    let fs = Fs::open(opened.store, fs_opts)
        .await
        .with_context(|| format!("cannot open {src}"))?;
    Ok(Opened {
        source: source.to_string(),
        fs,
        caller: invoking_caller()?,
    })
}

/// The invoking user as a caller, read from /proc (no libc): uid and gid
/// own /proc/self (they are the effective ids), /proc/self/status lists
/// the supplementary groups and, since Linux 4.7, the umask.
pub fn invoking_caller() -> anyhow::Result<Caller> {
    let m = std::fs::metadata("/proc/self")
        .context("cannot read /proc/self to find out who is running dynamofs")?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let (groups, umask) = parse_status(&status);
    Ok(Caller {
        uid: m.uid(),
        gid: m.gid(),
        groups,
        pid: std::process::id(),
        umask: umask.unwrap_or(0o022),
    })
}

/// Supplementary groups and umask from the text of /proc/self/status.
fn parse_status(status: &str) -> (Vec<u32>, Option<u32>) {
    let mut groups = Vec::new();
    let mut umask = None;
    for line in status.lines() {
        if let Some(g) = line.strip_prefix("Groups:") {
            groups = g
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
        } else if let Some(u) = line.strip_prefix("Umask:") {
            umask = u32::from_str_radix(u.trim(), 8).ok().map(|u| u & 0o777);
        }
    }
    (groups, umask)
}

/// The usual words for an errno, as strerror(3) says them.
pub fn strerror(e: Errno) -> &'static str {
    match e {
        Errno::EPERM => "Operation not permitted",
        Errno::ENOENT => "No such file or directory",
        Errno::EINTR => "Interrupted system call",
        Errno::ENXIO => "No such device or address",
        Errno::EIO => "Input/output error",
        Errno::E2BIG => "Argument list too long",
        Errno::EBADF => "Bad file descriptor",
        Errno::EAGAIN => "Resource temporarily unavailable",
        Errno::EACCES => "Permission denied",
        Errno::EEXIST => "File exists",
        Errno::EXDEV => "Invalid cross-device link",
        Errno::ENOTDIR => "Not a directory",
        Errno::EISDIR => "Is a directory",
        Errno::EINVAL => "Invalid argument",
        Errno::EFBIG => "File too large",
        Errno::ENOSPC => "No space left on device",
        Errno::EROFS => "Read-only file system",
        Errno::EMLINK => "Too many links",
        Errno::ERANGE => "Numerical result out of range",
        Errno::EDEADLK => "Resource deadlock avoided",
        Errno::ENAMETOOLONG => "File name too long",
        Errno::ENOSYS => "Function not implemented",
        Errno::ENOTEMPTY => "Directory not empty",
        Errno::ELOOP => "Too many levels of symbolic links",
        Errno::ENODATA => "No data available",
        Errno::EOPNOTSUPP => "Operation not supported",
        Errno::ESTALE => "Stale file handle",
    }
}

/// A core error about `what` (usually `SOURCE:PATH`) as one line: POSIX
/// answers in strerror's words, failures of the store with their reason.
pub fn fs_error(what: &str, e: FsError) -> anyhow::Error {
    match e {
        FsError::Posix { errno, .. } => anyhow::anyhow!("{what}: {}", strerror(errno)),
        other => anyhow::Error::new(other).context(what.to_string()),
    }
}

/// A local I/O error about `what` as one line, in strerror's words
/// (without Rust's "(os error N)").
pub fn io_error(what: &str, e: &std::io::Error) -> anyhow::Error {
    let text = e.to_string();
    let words = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    anyhow::anyhow!("{what}: {words}")
}

/// The bytes of a local path, for joining with names from a file system.
pub fn local_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(arg: &str) -> (String, String) {
        let p = parse_fs(arg).expect("parses");
        (p.source, String::from_utf8(p.path).expect("utf-8"))
    }

    fn refused(arg: &str) -> String {
        format!("{:#}", parse_fs(arg).expect_err("refused"))
    }

    #[test]
    fn sources_and_paths() {
        assert_eq!(
            fs("aws:us-east-1/MyFs:/dir/file"),
            ("aws:us-east-1/MyFs".into(), "/dir/file".into())
        );
        assert_eq!(
            fs("aws:us-east-1/MyFs"),
            ("aws:us-east-1/MyFs".into(), "/".into())
        );
        assert_eq!(fs("aws:/MyFs:/x"), ("aws:/MyFs".into(), "/x".into()));
        assert_eq!(
            fs("sqlite:/var/lib/fs.db:/dir/file"),
            ("sqlite:/var/lib/fs.db".into(), "/dir/file".into())
        );
        assert_eq!(
            fs("sqlite:/var/lib/fs.db"),
            ("sqlite:/var/lib/fs.db".into(), "/".into())
        );
        assert_eq!(fs("sqlite:fs.db:/"), ("sqlite:fs.db".into(), "/".into()));
        // A colon without a slash after it is part of the file name.
        assert_eq!(fs("sqlite:/a:b.db"), ("sqlite:/a:b.db".into(), "/".into()));
        assert_eq!(parse("-").expect("stdio"), Target::Stdio);
        assert_eq!(
            parse("./local:/x").expect("local"),
            Target::Local(PathBuf::from("./local:/x"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_read_one_way() {
        assert!(refused("aws:us-east-1/MyFs:dir/x").contains("aws:us-east-1/MyFs:/dir/x"));
        assert!(refused("aws:us-east-1/MyFs:").contains("aws:us-east-1/MyFs:/"));
        let m = refused("sqlite:/data:/fs.db:/x");
        assert!(
            m.contains("ambiguous") && m.contains("sqlite:FILE:/PATH"),
            "{m}"
        );
        assert!(refused("/tmp/x").contains("aws:REGION/TABLE:/PATH"));
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("fs.db");
        std::fs::write(&db, b"").expect("file");
        let m = refused(&format!("sqlite:{}:dir/x", db.display()));
        assert!(m.contains("must be absolute"), "{m}");
    }

    #[test]
    fn status_lines() {
        let (g, u) = parse_status("Name:\tx\nUmask:\t0027\nGroups:\t4 24 27 \n");
        assert_eq!((g, u), (vec![4, 24, 27], Some(0o027)));
        assert_eq!(parse_status("Groups:\n"), (vec![], None));
    }
}
