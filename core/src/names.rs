//! Validation of file names.

use crate::error::{posix, Errno, FsResult};

/// Longest name, in bytes, as on Linux.
pub const NAME_MAX: usize = 255;
/// Longest symlink target.
pub const PATH_MAX: usize = 4096;

/// A name a directory may hold: 1 to 255 bytes, no `/` or NUL, not `.` or `..`.
pub fn check(name: &[u8]) -> FsResult<()> {
    let shown = || String::from_utf8_lossy(name).into_owned();
    if name.len() > NAME_MAX {
        return Err(posix(
            Errno::ENAMETOOLONG,
            format!("name of {} bytes (at most {NAME_MAX})", name.len()),
        ));
    }
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(posix(Errno::EINVAL, format!("invalid name {:?}", shown())));
    }
    Ok(())
}

/// A name that may be created: also not `.` or `..`.
pub fn check_new(name: &[u8]) -> FsResult<()> {
    check(name)?;
    if name == b"." || name == b".." {
        return Err(posix(Errno::EEXIST, "name . or .."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(check(&[b'a'; 255]).is_ok());
        assert_eq!(
            check(&[b'a'; 256]).map_err(|e| e.errno()),
            Err(Errno::ENAMETOOLONG)
        );
        assert_eq!(check(b"a/b").map_err(|e| e.errno()), Err(Errno::EINVAL));
        assert_eq!(check(b"a\0b").map_err(|e| e.errno()), Err(Errno::EINVAL));
        assert_eq!(check(b"").map_err(|e| e.errno()), Err(Errno::EINVAL));
        assert_eq!(check_new(b"..").map_err(|e| e.errno()), Err(Errno::EEXIST));
        assert!(check("é\u{1F600}".as_bytes()).is_ok());
        assert!(check(&[0xff, 0xfe]).is_ok());
    }
}
