//! The ioctls of chattr and lsattr: the immutable and append-only flags
//! (`dynamofs_core::fs::flags`), as flags (FS_IOC_GETFLAGS/SETFLAGS) and
//! as the extended attributes the kernel asks for first, to learn the old
//! state before a change (FS_IOC_FSGETXATTR), or that xfs_io sets.

use dynamofs_core::caller::Caller;
use dynamofs_core::fs::Fs;
use fuser::Errno;

use crate::convert::errno;

pub(crate) enum Ioctl {
    GetFlags,
    SetFlags(u32),
    GetXattr,
    SetXattr(u32),
}

/// FS_XFLAG_IMMUTABLE and FS_XFLAG_APPEND, and their FS_*_FL.
const XFLAGS: [(u32, u32); 2] = [(0x08, 0x10), (0x10, 0x20)];
/// struct fsxattr: xflags, extsize, nextents, projid, cowextsize, pad[8].
const FSXATTR_SIZE: usize = 28;

impl Ioctl {
    /// The ioctl `cmd` with its input, if dynamofs answers it. The flags'
    /// numbers are those of 64- and 32-bit callers (an int either way).
    pub fn decode(cmd: u32, input: &[u8]) -> Option<Ioctl> {
        let word = || Some(u32::from_ne_bytes(input.get(..4)?.try_into().ok()?));
        match cmd {
            0x8008_6601 | 0x8004_6601 => Some(Ioctl::GetFlags),
            0x4008_6602 | 0x4004_6602 => word().map(Ioctl::SetFlags),
            0x801C_581F => Some(Ioctl::GetXattr),
            0x401C_5820 => word().map(Ioctl::SetXattr),
            _ => None,
        }
    }
}

/// Answer `asked` for `ino`: the bytes to return, or the errno.
pub(crate) async fn answer(fs: &Fs, c: &Caller, ino: u64, asked: Ioctl) -> Result<Vec<u8>, Errno> {
    let failed = |e| errno("ioctl", &e);
    match asked {
        Ioctl::GetFlags => Ok(fs.flags(ino).await.map_err(failed)?.to_ne_bytes().to_vec()),
        Ioctl::GetXattr => Ok(fsxattr(fs.flags(ino).await.map_err(failed)?).to_vec()),
        Ioctl::SetFlags(f) => fs
            .set_flags(c, ino, f)
            .await
            .map(|()| Vec::new())
            .map_err(failed),
        Ioctl::SetXattr(x) => match flags_of_xflags(x) {
            Some(f) => fs
                .set_flags(c, ino, f)
                .await
                .map(|()| Vec::new())
                .map_err(failed),
            // Extended flags dynamofs does not keep.
            None => Err(Errno::EOPNOTSUPP),
        },
    }
}

/// A struct fsxattr for chattr `flags`.
fn fsxattr(flags: u32) -> [u8; FSXATTR_SIZE] {
    let x = XFLAGS
        .iter()
        .filter(|(_, f)| flags & f != 0)
        .fold(0u32, |x, (xf, _)| x | xf);
    let mut out = [0u8; FSXATTR_SIZE];
    out[..4].copy_from_slice(&x.to_ne_bytes());
    out
}

/// chattr flags for extended flags `xflags`; None if any has none.
fn flags_of_xflags(xflags: u32) -> Option<u32> {
    let known = XFLAGS.iter().fold(0, |k, (xf, _)| k | xf);
    if xflags & !known != 0 {
        return None;
    }
    Some(
        XFLAGS
            .iter()
            .filter(|(xf, _)| xflags & xf != 0)
            .fold(0, |f, (_, fl)| f | fl),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xflags_map_both_ways() {
        for f in [0, 0x10, 0x20, 0x30] {
            let x = u32::from_ne_bytes(fsxattr(f)[..4].try_into().expect("4 bytes"));
            assert_eq!(flags_of_xflags(x), Some(f));
        }
        assert_eq!(flags_of_xflags(0x800), None, "FS_XFLAG_DAX is not kept");
    }
}
