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

/// The kernel flags a remount with these options sets, from the mount's
/// own `nosuid` and `nodev` (`base`): mount(8) passes the options it has
/// recorded (user_id=, default_permissions…) with the new ones, so only
/// the per-mount flags matter here, and the last of each pair wins.
fn flags(options: &[String], base: MountFlags) -> MountFlags {
    let mut ro = false;
    let mut f = base & (MountFlags::NOSUID | MountFlags::NODEV);
    for o in items(options) {
        match o {
            "ro" => ro = true,
            "rw" => ro = false,
            "suid" => f -= MountFlags::NOSUID,
            "nosuid" => f |= MountFlags::NOSUID,
            "dev" => f -= MountFlags::NODEV,
            "nodev" => f |= MountFlags::NODEV,
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
    let now = rustix::fs::statvfs(dir)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot read the mount flags of {}", dir.display()))?;
    let mut base = MountFlags::empty();
    if now.f_flag.contains(rustix::fs::StatVfsMountFlags::NOSUID) {
        base |= MountFlags::NOSUID;
    }
    if now.f_flag.contains(rustix::fs::StatVfsMountFlags::NODEV) {
        base |= MountFlags::NODEV;
    }
    let f = flags(options, base);
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
    fn last_of_each_pair_wins() {
        let o = |s: &str| vec![s.to_string()];
        let safe = MountFlags::NOSUID | MountFlags::NODEV;
        assert!(flags(&o("rw,nosuid,user_id=0,remount,ro"), safe).contains(MountFlags::RDONLY));
        assert!(!flags(&o("ro,remount,rw"), safe).contains(MountFlags::RDONLY));
        assert!(flags(&o("remount"), safe).contains(safe));
        // A mount made with suid,dev keeps them, unless told otherwise.
        assert!(!flags(&o("remount,ro"), MountFlags::empty()).intersects(safe));
        assert!(flags(&o("remount,nosuid"), MountFlags::empty()).contains(MountFlags::NOSUID));
        assert_eq!(
            flags(&o("remount,suid,dev"), safe) & safe,
            MountFlags::empty()
        );
        assert!(asked(&["rw".into(), "remount,ro".into()]));
        assert!(!asked(&o("ro,nonempty")));
    }
}
