//! `mount -o remount,ro DIR` and back to `rw`: mount(8) hands the remount
//! of a fuse.dynamofs mount to the helper (`mount.fuse.dynamofs`), which
//! changes the mount's flags in the kernel while the server keeps serving.
//! On a read-only mount the kernel itself refuses every change with EROFS,
//! so nothing reaches the server; writes that were buffered are flushed by
//! the kernel's sync before the flags change. A mount that dynamofs opened
//! read-only (`-o ro`: the store itself may be read-only) keeps answering
//! EROFS after a remount to rw.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use rustix::mount::MountFlags;

/// Whether the mount options ask for a remount.
pub fn asked(options: &[String]) -> bool {
    items(options).any(|o| o == "remount")
}

fn items(options: &[String]) -> impl Iterator<Item = &str> {
    options
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
}

/// The kernel flags a remount with these options sets. mount(8) passes
/// the options it has recorded (user_id=, default_permissions…) with the
/// new ones: only the per-mount flags matter here, the last of ro/rw
/// wins, and the defaults stay nosuid,nodev.
fn flags(options: &[String]) -> MountFlags {
    let mut ro = false;
    let mut f = MountFlags::NOSUID | MountFlags::NODEV;
    for o in items(options) {
        match o {
            "ro" => ro = true,
            "rw" => ro = false,
            "noexec" => f |= MountFlags::NOEXEC,
            "exec" => f -= MountFlags::NOEXEC,
            "noatime" => f |= MountFlags::NOATIME,
            "nodiratime" => f |= MountFlags::NODIRATIME,
            "relatime" => f |= MountFlags::RELATIME,
            "strictatime" => f |= MountFlags::STRICTATIME,
            "lazytime" => f |= MountFlags::LAZYTIME,
            "sync" => f |= MountFlags::SYNCHRONOUS,
            _ => {}
        }
    }
    if ro {
        f |= MountFlags::RDONLY;
    }
    f
}

pub fn run(dir: &Path, options: &[String]) -> anyhow::Result<ExitCode> {
    let f = flags(options);
    match rustix::mount::mount_remount(dir, f, "") {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(rustix::io::Errno::PERM) => bail!(
            "remounting {} needs root (fusermount3 cannot remount): unmount it and mount it again with the options wanted",
            dir.display()
        ),
        Err(rustix::io::Errno::INVAL) => bail!(
            "{} is not a mount point, or the kernel refused these options for a remount",
            dir.display()
        ),
        Err(e) => Err(std::io::Error::from(e))
            .with_context(|| format!("remounting {}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_of_ro_and_rw_wins() {
        let o = |s: &str| vec![s.to_string()];
        assert!(flags(&o("rw,nosuid,user_id=0,remount,ro")).contains(MountFlags::RDONLY));
        assert!(!flags(&o("ro,remount,rw")).contains(MountFlags::RDONLY));
        assert!(flags(&o("remount")).contains(MountFlags::NOSUID | MountFlags::NODEV));
        assert!(asked(&["rw".into(), "remount,ro".into()]));
        assert!(!asked(&o("ro,nonempty")));
    }
}
