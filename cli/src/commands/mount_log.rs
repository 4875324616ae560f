//! Where the background mount server writes its log.
//!
//! A predictable name in a directory everyone may write (the old
//! `/tmp/dynamofs<mountpoint>.log`) lets another local user plant a
//! symbolic link there and have a root mount append to any file. So the
//! default log lives in a directory only its user may write:
//! `$XDG_STATE_HOME/dynamofs` (else `~/.local/state/dynamofs`, else
//! `$XDG_RUNTIME_DIR/dynamofs`), or `/var/log/dynamofs` for root; it is
//! created 0600 and never opened through a symbolic link.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Open the log: `explicit` (-o log=PATH) as given, else the default for
/// this mount point, making its directory when needed.
pub fn open(explicit: Option<&Path>, mountpoint: &Path) -> anyhow::Result<(File, PathBuf)> {
    if let Some(p) = explicit {
        let f =
            open_file(p).with_context(|| format!("cannot open the log file {}", p.display()))?;
        return Ok((f, p.to_path_buf()));
    }
    let dir = default_dir()?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| {
            format!(
                "cannot create the log directory {}; pass -o log=PATH",
                dir.display()
            )
        })?;
    let path = dir.join(file_name(mountpoint));
    let f = open_file(&path).with_context(|| {
        format!(
            "cannot open the log file {}; pass -o log=PATH",
            path.display()
        )
    })?;
    // A file left by an older version may be readable by others.
    let m = f.metadata()?;
    if m.uid() != euid() {
        bail!(
            "the log file {} belongs to user {}, not to you: remove it, or pass -o log=PATH",
            path.display(),
            m.uid()
        );
    }
    if m.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((f, path))
}

/// Append, create 0600, never through a symbolic link, and nothing but a
/// regular file (a FIFO would block the server).
fn open_file(path: &Path) -> anyhow::Result<File> {
    let nofollow = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(nofollow.bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                anyhow::anyhow!("it is a symbolic link, which a log is never written through; name the file itself")
            } else {
                anyhow::Error::new(e)
            }
        })?;
    if !f.metadata()?.is_file() {
        bail!("it is not a regular file");
    }
    Ok(f)
}

/// The directory logs go to by default.
fn default_dir() -> anyhow::Result<PathBuf> {
    let env_dir = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(d) = env_dir("XDG_STATE_HOME") {
        return Ok(d.join("dynamofs"));
    }
    if euid() == 0 {
        return Ok(PathBuf::from("/var/log/dynamofs"));
    }
    if let Some(home) = env_dir("HOME") {
        return Ok(home.join(".local/state/dynamofs"));
    }
    if let Some(d) = env_dir("XDG_RUNTIME_DIR") {
        return Ok(d.join("dynamofs"));
    }
    bail!("no directory for the mount's log (neither XDG_STATE_HOME, HOME nor XDG_RUNTIME_DIR is set); pass -o log=PATH")
}

/// One file per mount point: its path with every other character `_`.
fn file_name(mountpoint: &Path) -> String {
    let name: String = mountpoint
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("mount{name}.log")
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_per_mount_point() {
        assert_eq!(file_name(Path::new("/srv/a b")), "mount_srv_a_b.log");
    }

    #[test]
    fn refuses_links_and_creates_private_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").expect("victim");
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let e = open_file(&link).expect_err("a link is refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        let new = dir.path().join("new.log");
        open_file(&new).expect("created");
        let mode = std::fs::metadata(&new).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
