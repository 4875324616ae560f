//! The inodes one client holds open, with their open counts.
//!
//! Shared by the file system (which counts opens and closes), the
//! collector (which never deletes what this client holds) and the session
//! (which publishes the set with every heartbeat, so that other clients'
//! collectors wait for it too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Held(Arc<Mutex<HashMap<u64, u32>>>);

impl Held {
    /// Count one more open of `ino`; returns whether it was held already.
    pub fn hold(&self, ino: u64) -> bool {
        match self.0.lock() {
            Ok(mut m) => {
                let n = m.entry(ino).or_insert(0);
                *n += 1;
                *n > 1
            }
            Err(_) => false,
        }
    }

    /// Count one close; returns whether it was the last.
    pub fn release(&self, ino: u64) -> bool {
        match self.0.lock() {
            Ok(mut m) => match m.get_mut(&ino) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    m.remove(&ino);
                    true
                }
                None => false,
            },
            Err(_) => false,
        }
    }

    pub fn contains(&self, ino: u64) -> bool {
        self.0
            .lock()
            .map(|m| m.get(&ino).copied().unwrap_or(0) > 0)
            // Poisoned: assume held, so nothing is collected under a reader.
            .unwrap_or(true)
    }

    /// Every held inode, sorted.
    pub fn inodes(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .0
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }
}
