//! dynamofs core: the file system's logic and its store layer.
//!
//! Knows nothing of FUSE or of the command line: the `fuse` crate and the
//! `dynamofs` binary are thin layers over this crate.

pub mod acl;
pub mod caller;
pub mod check;
pub mod client;
pub mod config;
pub mod destroy;
pub mod dump;
pub mod error;
pub mod fs;
pub mod fsck;
pub mod held;
pub mod holes;
pub mod inode;
pub mod locks;
pub mod metrics;
pub mod mkfs;
pub mod names;
pub mod path;
pub mod perm;
pub mod schema;
pub mod session;
pub mod stats;
pub mod status;
pub mod store;
pub mod superblock;
