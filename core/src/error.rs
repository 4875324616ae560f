//! File system errors and their errno values.
//!
//! Every variant maps to exactly one errno in one exhaustive match, so a new
//! variant forces a decision about what the kernel (or a CLI user) sees.

use crate::store::StoreError;
use crate::superblock::SuperblockError;

/// Linux errno values core answers with. Core does not depend on libc or
/// FUSE; the adapters pass these numbers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    EACCES = 13,
    EEXIST = 17,
    EXDEV = 18,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    EFBIG = 27,
    ENOSPC = 28,
    EROFS = 30,
    EMLINK = 31,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENODATA = 61,
    EOPNOTSUPP = 95,
    ESTALE = 116,
}

impl Errno {
    pub fn raw(self) -> i32 {
        self as i32
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A POSIX answer to a request: not a failure of the file system.
    #[error("{what}: {errno:?}")]
    Posix { errno: Errno, what: String },

    /// An item in the store is damaged; logged with its reason.
    #[error("damaged item: {0}")]
    Corrupt(String),

    /// The store failed (after retries).
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Superblock(#[from] SuperblockError),

    /// A change kept failing its conditions because other clients kept
    /// changing the same items.
    #[error("gave up after {0} attempts: other clients kept changing the same items")]
    Contended(u32),
}

impl FsError {
    pub fn posix(errno: Errno, what: impl Into<String>) -> FsError {
        FsError::Posix {
            errno,
            what: what.into(),
        }
    }

    pub fn errno(&self) -> Errno {
        match self {
            FsError::Posix { errno, .. } => *errno,
            FsError::Corrupt(_) => Errno::EIO,
            FsError::Store(e) => match e {
                StoreError::ItemTooLarge { .. } => Errno::ENOSPC,
                StoreError::AccessDenied(_) => Errno::EACCES,
                StoreError::Throttled(_) | StoreError::TransactionConflict => Errno::EAGAIN,
                StoreError::ConditionFailed { .. }
                | StoreError::TableMissing { .. }
                | StoreError::Credentials(_)
                | StoreError::Network(_)
                | StoreError::Timeout(_)
                | StoreError::TransactionInProgress
                | StoreError::Invalid(_)
                | StoreError::Corrupt { .. }
                | StoreError::Other(_) => Errno::EIO,
            },
            FsError::Superblock(_) => Errno::EIO,
            FsError::Contended(_) => Errno::EAGAIN,
        }
    }
}

pub type FsResult<T> = Result<T, FsError>;

/// Shorthand for POSIX answers: `Err(posix(ENOENT, "lookup foo"))`.
pub fn posix(errno: Errno, what: impl Into<String>) -> FsError {
    FsError::posix(errno, what)
}
