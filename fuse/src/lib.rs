//! The FUSE adapter: kernel requests in, dynamofs-core calls out.
//!
//! Filled in by the mount work; until then this crate only fixes the
//! workspace's shape (core knows nothing of FUSE; this crate does).
