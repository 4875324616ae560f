//! Kernel requests counted and timed, by kind, for the mount's metrics.
//!
//! Timed from the callback until the task that answers it has finished,
//! so a request's time includes its store round trips and any wait for a
//! lock, as the calling process experiences it. Recording is a few atomic
//! adds (see `dynamofs_core::metrics`): a scrape never holds up a request.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use dynamofs_core::metrics::{Histogram, Snapshot};

macro_rules! ops {
    ($($op:ident => $name:literal),* $(,)?) => {
        /// The kernel requests the adapter answers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op { $($op),* }

        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$op),*];

            /// As the kernel's FUSE protocol names it, lower case.
            pub fn name(self) -> &'static str {
                match self { $(Op::$op => $name),* }
            }
        }
    };
}

ops! {
    Lookup => "lookup",
    Forget => "forget",
    Getattr => "getattr",
    Setattr => "setattr",
    Readlink => "readlink",
    Mknod => "mknod",
    Mkdir => "mkdir",
    Unlink => "unlink",
    Rmdir => "rmdir",
    Symlink => "symlink",
    Rename => "rename",
    Link => "link",
    Open => "open",
    Read => "read",
    Write => "write",
    Flush => "flush",
    Release => "release",
    Fsync => "fsync",
    Opendir => "opendir",
    Readdir => "readdir",
    Readdirplus => "readdirplus",
    Releasedir => "releasedir",
    Statfs => "statfs",
    Setxattr => "setxattr",
    Getxattr => "getxattr",
    Listxattr => "listxattr",
    Removexattr => "removexattr",
    Access => "access",
    Create => "create",
    Getlk => "getlk",
    Setlk => "setlk",
    Fallocate => "fallocate",
    Lseek => "lseek",
    Ioctl => "ioctl",
}

/// Per kind of request: how many finished and how long each took (a
/// histogram's count is the number finished).
pub struct Ops {
    latency: Vec<Histogram>,
    in_flight: AtomicI64,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            latency: Op::ALL.iter().map(|_| Histogram::default()).collect(),
            in_flight: AtomicI64::new(0),
        }
    }
}

impl Ops {
    /// Start timing a request; it is recorded when the timer drops.
    pub fn start(self: &Arc<Self>, op: Op) -> Timer {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Timer {
            ops: Arc::clone(self),
            op,
            since: Instant::now(),
        }
    }

    /// Requests of a kind answered so far.
    pub fn count(&self, op: Op) -> u64 {
        self.latency.get(op as usize).map_or(0, Histogram::count)
    }

    /// How long requests of a kind took so far.
    pub fn latency(&self, op: Op) -> Snapshot {
        self.latency
            .get(op as usize)
            .map(Histogram::snapshot)
            .unwrap_or_else(|| Histogram::default().snapshot())
    }

    /// Requests taken and not answered yet (blocking lock waits among them).
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// One request being answered.
pub struct Timer {
    ops: Arc<Ops>,
    op: Op,
    since: Instant,
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(h) = self.ops.latency.get(self.op as usize) {
            h.observe(self.since.elapsed());
        }
        self.ops.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_when_its_answer_is_done() {
        let ops = Arc::new(Ops::default());
        let t = ops.start(Op::Create);
        assert_eq!(ops.in_flight(), 1);
        drop(t);
        drop(ops.start(Op::Create));
        drop(ops.start(Op::Write));
        assert_eq!(ops.in_flight(), 0);
        assert_eq!(ops.count(Op::Create), 2);
        assert_eq!(ops.latency(Op::Create).count, 2);
        assert_eq!(ops.count(Op::Write), 1);
        assert_eq!(ops.count(Op::Read), 0);
        // Each kind has its own slot.
        assert!(Op::ALL.iter().enumerate().all(|(i, op)| *op as usize == i));
    }
}
