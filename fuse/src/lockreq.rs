//! Translating the kernel's lock requests: types, "to the end of the file",
//! and whether a blocked waiter has been interrupted.

use dynamofs_core::locks::{LockType, TO_EOF};

pub const F_RDLCK: i32 = 0;
pub const F_WRLCK: i32 = 1;
pub const F_UNLCK: i32 = 2;
/// The kernel's "to the end of the file".
pub const OFFSET_MAX: u64 = i64::MAX as u64;

pub fn lock_type(typ: i32) -> Option<LockType> {
    match typ {
        F_RDLCK => Some(LockType::Read),
        F_WRLCK => Some(LockType::Write),
        _ => None,
    }
}

pub fn lock_end(end: u64) -> u64 {
    if end >= OFFSET_MAX {
        TO_EOF
    } else {
        end
    }
}

/// Whether a process has a signal pending that it neither blocks nor
/// ignores (or is gone): a blocked F_SETLKW then ends with EINTR.
pub fn signal_pending(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let mask = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let pending = mask("SigPnd:") | mask("ShdPnd:");
    pending & !mask("SigBlk:") & !mask("SigIgn:") != 0
}
