//! Keeping a source's owner, mode and times (-p).

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
