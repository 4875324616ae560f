//! Keeping a source's owner, mode and times (-p).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::{SetAttr, TimeSet};

use super::item::Meta;
use super::target::Opened;

/// Owner first (changing it clears setuid and setgid), then mode and
/// times in one change. Someone else's ownership is kept only by root:
/// otherwise the group alone is tried, then nothing, as cp -p does.
pub(super) async fn preserve_fs(
    o: &Opened,
    ino: u64,
    m: &Meta,
    with_mode: bool,
) -> Result<(), FsError> {
    let own = SetAttr {
        uid: Some(m.uid),
        gid: Some(m.gid),
        ..Default::default()
    };
    if let Err(e) = o.fs.setattr(&o.caller, ino, &own).await {
        if e.errno() != Errno::EPERM {
            return Err(e);
        }
        let group = SetAttr {
            gid: Some(m.gid),
            ..Default::default()
        };
        if let Err(e) = o.fs.setattr(&o.caller, ino, &group).await {
            if e.errno() != Errno::EPERM {
                return Err(e);
            }
        }
    }
    let rest = SetAttr {
        mode: with_mode.then_some(m.perm),
        atime: Some(TimeSet::At(m.atime)),
        mtime: Some(TimeSet::At(m.mtime)),
        ..Default::default()
    };
    o.fs.setattr(&o.caller, ino, &rest).await.map(|_| ())
}

pub(super) fn chown_local(p: &Path, m: &Meta, follow: bool) {
    let chown = |uid: Option<u32>, gid: Option<u32>| {
        if follow {
            std::os::unix::fs::chown(p, uid, gid)
        } else {
            std::os::unix::fs::lchown(p, uid, gid)
        }
    };
    // Not permitted is not an error for cp -p.
    if chown(Some(m.uid), Some(m.gid)).is_err() {
        let _ = chown(None, Some(m.gid));
    }
}

/// Owner, then times (which need the file openable), then mode.
pub(super) fn preserve_local(p: &Path, m: &Meta) -> std::io::Result<()> {
    chown_local(p, m, true);
    let times = std::fs::FileTimes::new()
        .set_accessed(system_time(m.atime))
        .set_modified(system_time(m.mtime));
    std::fs::File::open(p)?.set_times(times)?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m.perm))
}

fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}
