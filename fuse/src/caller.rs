//! Who asks: the identity the adapter gives core for each request.

use dynamofs_core::caller::Caller;
use fuser::Request;

/// The caller of a request. The kernel checked permissions
/// (default_permissions, with the ACLs), so core does not.
pub(crate) fn caller(req: &Request) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
        groups: Vec::new(),
        pid: req.pid(),
        umask: 0,
    }
}

/// The caller of a create: with ACLs the kernel leaves the umask to the
/// file system (FUSE_DONT_MASK), which applies it only where the directory
/// has no default ACL.
pub(crate) fn creator(req: &Request, umask: u32) -> Caller {
    Caller {
        umask,
        ..caller(req)
    }
}

/// The caller with its supplementary groups, read from /proc: only an ACL
/// change asks (a non-member's drops setgid), and FUSE does not carry them.
pub(crate) fn caller_with_groups(req: &Request) -> Caller {
    let status = std::fs::read_to_string(format!("/proc/{}/status", req.pid())).unwrap_or_default();
    let groups = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Caller {
        groups,
        ..caller(req)
    }
}
