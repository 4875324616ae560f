//! The directory a file system is mounted on, and what may be there
//! already: a dead FUSE mount left by a server that crashed ("transport
//! endpoint is not connected"), a live dynamofs, or files that a mount
//! would hide.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use dynamofs_core::store::Source;

/// Check `path` and return it absolute and canonical, ready to mount on.
/// A dead dynamofs mount there is cleared (lazily unmounted, as JuiceFS
/// does); a dead mount of anything else, a live dynamofs, and (without
/// `nonempty`) a directory with files in it are refused.
pub fn prepare(path: &Path, nonempty: bool) -> anyhow::Result<PathBuf> {
    let abs = absolute(path)?;
    // A dead mount may still answer stat from the kernel's attribute
    // cache; only a request to its server tells.
    let dir = std::fs::canonicalize(&abs).unwrap_or(abs);
    if let Some(m) = mounts()?.into_iter().rev().find(|m| m.point == dir) {
        let dead = rustix::fs::statfs(&dir).err() == Some(rustix::io::Errno::NOTCONN);
        match (dead, m.is_dynamofs()) {
            (true, true) => clear_dead(&dir, &m)?,
            (true, false) => bail!(
                "{} is a FUSE mount whose server has exited (\"transport endpoint is not \
                 connected\"); clear it with `fusermount3 -u {}` (or `umount -l {}`), then \
                 mount again",
                dir.display(),
                dir.display(),
                dir.display()
            ),
            (false, true) => bail!(
                "{} is already mounted on {}; unmount it first (umount {}) or choose another directory",
                m.source,
                dir.display(),
                dir.display()
            ),
            (false, false) => {}
        }
    }
    let meta = std::fs::metadata(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "mount point {} does not exist; create it first",
            path.display()
        ),
        _ => anyhow::Error::new(e).context(format!("cannot use mount point {}", path.display())),
    })?;
    if !meta.is_dir() {
        bail!("mount point {} is not a directory", dir.display());
    }
    if !nonempty {
        let mut entries = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list mount point {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "mount point {} is not empty: what is in it would be hidden while mounted; \
                 choose an empty directory, or pass -o nonempty",
                dir.display()
            );
        }
    }
    Ok(dir)
}

/// `path` made absolute without looking at its last component, which may
/// be a dead mount that cannot even be looked at.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let cwd = || std::env::current_dir().context("cannot find the current directory");
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd()?.join(path)
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => Ok(std::fs::canonicalize(parent)
            .with_context(|| {
                format!(
                    "mount point {} does not exist; create it first",
                    path.display()
                )
            })?
            .join(name)),
        _ => Ok(abs),
    }
}

/// Clear a dynamofs mount at `dir` whose server is gone.
fn clear_dead(dir: &Path, m: &Mount) -> anyhow::Result<()> {
    tracing::warn!(
        "{}: clearing a dead mount of {} (its server exited)",
        dir.display(),
        m.source
    );
    let status = std::process::Command::new("fusermount3")
        .arg("-u")
        .arg("-z")
        .arg("--")
        .arg(dir)
        .status()
        .context("running fusermount3 to clear a dead mount")?;
    if !status.success() {
        bail!(
            "{} is a dead mount of {} that could not be cleared; run `umount -l {}` as its owner or root",
            dir.display(),
            m.source,
            dir.display()
        );
    }
    Ok(())
}

/// One line of /proc/self/mountinfo, the parts we need.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    point: PathBuf,
    fstype: String,
    source: String,
}

impl Mount {
    /// dynamofs mounts have type fuse.dynamofs, or plain fuse (older
    /// versions mounting as root) with a dynamofs source as their name.
    fn is_dynamofs(&self) -> bool {
        self.fstype == "fuse.dynamofs"
            || (self.fstype == "fuse" && self.source.parse::<Source>().is_ok())
    }
}

/// The dynamofs mount that holds `path` (its mount point and source), if
/// any: the deepest mount point above it.
pub fn mount_of(path: &Path) -> anyhow::Result<Option<(PathBuf, String)>> {
    let path = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(mounts()?
        .into_iter()
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.components().count())
        .filter(Mount::is_dynamofs)
        .map(|m| (m.point, m.source)))
}

fn mounts() -> anyhow::Result<Vec<Mount>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .context("cannot read /proc/self/mountinfo to check the mount point")?;
    Ok(text.lines().filter_map(parse_line).collect())
}

/// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER`
fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let point = left.split(' ').nth(4)?;
    let mut r = right.split(' ');
    let fstype = r.next()?;
    let source = r.next()?;
    Some(Mount {
        point: PathBuf::from(unescape(point)),
        fstype: unescape(fstype),
        source: unescape(source),
    })
}

/// The kernel writes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let m = parse_line(
            "97 29 0:52 / /tmp/a\\040b rw,nosuid,nodev,relatime shared:1 - fuse.dynamofs sqlite:/x.db rw,user_id=0",
        )
        .expect("parsed");
        assert_eq!(
            m,
            Mount {
                point: PathBuf::from("/tmp/a b"),
                fstype: "fuse.dynamofs".into(),
                source: "sqlite:/x.db".into(),
            }
        );
        assert!(m.is_dynamofs());
        let other = parse_line("30 1 0:26 / /dev/shm rw - tmpfs tmpfs rw").expect("parsed");
        assert!(!other.is_dynamofs());
        let sshfs = parse_line("31 1 0:27 / /mnt rw - fuse.sshfs host:/ rw").expect("parsed");
        assert!(!sshfs.is_dynamofs());
        let old = parse_line("32 1 0:28 / /m rw - fuse aws:us-east-1/team rw").expect("parsed");
        assert!(old.is_dynamofs());
    }
}
