//! Mount options as the kernel sees them: cache times, permissions, and the
//! fuser session configuration they make.

use std::time::Duration;

use fuser::{MountOption, SessionACL};

/// How the kernel should treat this mount.
#[derive(Clone, Debug)]
pub struct MountOptions {
    pub attr_ttl: Duration,
    pub entry_ttl: Duration,
    pub read_only: bool,
    pub allow_other: bool,
    pub allow_root: bool,
    /// Let the kernel cache writes and send them in large pieces. Off by
    /// default: with it the kernel trusts its own size of a regular file and
    /// ignores the sizes the file system reports, so other clients' appends
    /// and truncations stay invisible. For a file system one client writes.
    pub writeback_cache: bool,
    /// Name shown as the source in /proc/mounts.
    pub fsname: String,
    /// fuser threads reading requests from the kernel.
    pub threads: usize,
    /// Enforce locks on read and write (EAGAIN), as the original DynamoFS.
    pub mandatory_locks: bool,
    /// The directory the mount shows as its root (`-o subdir`); the file
    /// system's root by default.
    pub top: u64,
    /// Let setuid and setgid bits take effect (`-o suid`, root only); off
    /// by default, as for every FUSE mount.
    pub suid: bool,
    /// Let device nodes be opened as devices (`-o dev`, root only).
    pub dev: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            attr_ttl: Duration::from_secs(1),
            entry_ttl: Duration::from_secs(1),
            read_only: false,
            allow_other: false,
            allow_root: false,
            writeback_cache: false,
            fsname: "dynamofs".into(),
            threads: 4,
            mandatory_locks: false,
            top: dynamofs_core::schema::ROOT_INO,
            suid: false,
            dev: false,
        }
    }
}

impl MountOptions {
    /// The fuser session configuration for these options.
    pub fn config(&self) -> fuser::Config {
        let mut c = fuser::Config::default();
        c.mount_options = vec![
            MountOption::FSName(self.fsname.clone()),
            // As a kernel option, not MountOption::Subtype: fuser passes
            // that to fusermount3 only, so a mount made directly (as root)
            // would show as plain "fuse" instead of fuse.dynamofs, and
            // mount points could not be told apart from other FUSE mounts.
            MountOption::CUSTOM("subtype=dynamofs".into()),
            MountOption::DefaultPermissions,
            if self.dev {
                MountOption::Dev
            } else {
                MountOption::NoDev
            },
            if self.suid {
                MountOption::Suid
            } else {
                MountOption::NoSuid
            },
            if self.read_only {
                MountOption::RO
            } else {
                MountOption::RW
            },
        ];
        c.acl = if self.allow_other {
            SessionACL::All
        } else if self.allow_root {
            SessionACL::RootAndOwner
        } else {
            SessionACL::Owner
        };
        c.n_threads = Some(self.threads.max(1));
        c
    }
}
