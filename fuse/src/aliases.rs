//! Where the kernel last saw each directory, to tell when a lookup's
//! answer would look like a loop to it.
//!
//! The kernel keeps one entry per directory. For up to `entry_timeout`
//! after other mounts moved directories it still walks the old tree: with
//! `x/y` cached here, another mount's `mv x/y y; mv x y/x` makes a lookup
//! of `x` in `y` (reached as `x/y`) answer a directory the kernel shows
//! above `y`, and it fails the call with ELOOP. ESTALE instead makes it
//! walk the path again revalidating every entry, which then finds what the
//! store holds (here: no `x` at the top, ENOENT).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest parent chain followed (the kernel's tree has no cycles; a
/// picture this far out of date gets no help).
const MAX_DEPTH: usize = 4096;

/// A second loop for the same lookup this soon is answered as is: the
/// kernel's walk with revalidation found it again.
const REFUSE_AGAIN_AFTER: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Aliases {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Directory -> (parent, name) where the kernel was last told it is.
    at: HashMap<u64, (u64, Vec<u8>)>,
    /// (parent, name) -> directory, the same pairs the other way.
    named: HashMap<(u64, Vec<u8>), u64>,
    /// The last lookup answered ESTALE: (parent, directory, when).
    refused: Option<(u64, u64, Instant)>,
}

impl Inner {
    fn put(&mut self, parent: u64, name: &[u8], dir: u64) {
        if let Some(old) = self.at.insert(dir, (parent, name.to_vec())) {
            if self.named.get(&old) == Some(&dir) {
                self.named.remove(&old);
            }
        }
        if let Some(other) = self.named.insert((parent, name.to_vec()), dir) {
            if other != dir {
                self.at.remove(&other);
            }
        }
    }

    fn remove_name(&mut self, parent: u64, name: &[u8]) -> Option<u64> {
        let dir = self.named.remove(&(parent, name.to_vec()))?;
        self.at.remove(&dir);
        Some(dir)
    }

    /// Whether `dir` is `parent` or one of its ancestors in the kernel's
    /// picture, as far as it is known here.
    fn above(&self, dir: u64, parent: u64, top: u64) -> bool {
        let mut at = parent;
        for _ in 0..MAX_DEPTH {
            if at == dir {
                return true;
            }
            if at == top {
                return false;
            }
            match self.at.get(&at) {
                Some((p, _)) => at = *p,
                None => return false,
            }
        }
        false
    }
}

impl Aliases {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The kernel is told that directory `dir` is `name` in `parent` (a
    /// listing, a mkdir).
    pub fn saw(&self, parent: u64, name: &[u8], dir: u64) {
        self.inner().put(parent, name, dir);
    }

    /// A lookup of `name` in `parent` found directory `dir`: true if the
    /// kernel would take it for a loop, and the answer should be ESTALE
    /// (once: a lookup found looping again right after is answered).
    /// Otherwise the kernel is told where `dir` is now.
    pub fn looks_like_loop(&self, parent: u64, name: &[u8], dir: u64, top: u64) -> bool {
        let mut g = self.inner();
        if g.above(dir, parent, top) {
            let again = g.refused.is_some_and(|(p, d, when)| {
                p == parent && d == dir && when.elapsed() < REFUSE_AGAIN_AFTER
            });
            if !again {
                g.refused = Some((parent, dir, Instant::now()));
                return true;
            }
        }
        g.put(parent, name, dir);
        false
    }

    /// This mount renamed `name` in `parent` to `newname` in `newparent`
    /// (the kernel moved its entry too); with `exchange` the two swapped.
    pub fn renamed(
        &self,
        parent: u64,
        name: &[u8],
        newparent: u64,
        newname: &[u8],
        exchange: bool,
    ) {
        let mut g = self.inner();
        let moved = g.remove_name(parent, name);
        let other = g.remove_name(newparent, newname);
        if let Some(d) = moved {
            g.put(newparent, newname, d);
        }
        if let (true, Some(d)) = (exchange, other) {
            g.put(parent, name, d);
        }
    }

    /// `name` in `parent` is gone (rmdir here).
    pub fn removed(&self, parent: u64, name: &[u8]) {
        self.inner().remove_name(parent, name);
    }

    /// The kernel forgot `dir`.
    pub fn forgot(&self, dir: u64) {
        let mut g = self.inner();
        if let Some(old) = g.at.remove(&dir) {
            if g.named.get(&old) == Some(&dir) {
                g.named.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u64 = 1;

    /// x (2) and x/y (3) seen; another mount moved them to y/x.
    fn moved_tree() -> Aliases {
        let a = Aliases::default();
        a.saw(TOP, b"x", 2);
        a.saw(2, b"y", 3);
        a
    }

    #[test]
    fn a_directory_found_below_its_old_self_is_refused_once() {
        let a = moved_tree();
        assert!(a.looks_like_loop(3, b"x", 2, TOP), "x found in x/y");
        assert!(
            !a.looks_like_loop(3, b"x", 2, TOP),
            "the walk with revalidation found it again: answered"
        );
    }

    #[test]
    fn a_move_elsewhere_is_no_loop() {
        let a = moved_tree();
        assert!(!a.looks_like_loop(TOP, b"y", 3, TOP), "y at the top");
        assert!(!a.looks_like_loop(3, b"x", 2, TOP), "then x in it");
    }

    #[test]
    fn own_renames_and_removals_keep_the_picture() {
        let a = moved_tree();
        a.renamed(2, b"y", TOP, b"y", false);
        a.renamed(TOP, b"x", 3, b"x", false);
        assert!(!a.looks_like_loop(3, b"x", 2, TOP), "moved here: no loop");
        a.removed(3, b"x");
        a.forgot(3);
        assert!(!a.looks_like_loop(3, b"x", 2, TOP));
    }
}
