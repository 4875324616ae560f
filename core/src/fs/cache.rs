//! Short-lived cache of nodes and names, trusted only for planning: every
//! change it informs carries conditions on what it assumed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::entry::Entry;
use super::node::Node;

type NameMap = HashMap<(u64, Vec<u8>), (Option<Entry>, Instant)>;

pub(super) struct Cache {
    ttl: Duration,
    nodes: Mutex<HashMap<u64, (Node, Instant)>>,
    /// `None`: known absent (a negative lookup), as the kernel caches too.
    names: Mutex<NameMap>,
}

impl Cache {
    pub fn new(ttl: Duration) -> Cache {
        Cache {
            ttl,
            nodes: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    pub fn node(&self, ino: u64) -> Option<Node> {
        let map = self.nodes.lock().ok()?;
        map.get(&ino)
            .filter(|(_, at)| self.fresh(*at))
            .map(|(n, _)| n.clone())
    }

    /// A node and how much longer it may be trusted (its TTL less the time
    /// since it was read from the store).
    pub fn node_for(&self, ino: u64) -> Option<(Node, Duration)> {
        let map = self.nodes.lock().ok()?;
        let (n, at) = map.get(&ino)?;
        let left = self.ttl.checked_sub(at.elapsed())?;
        (!left.is_zero()).then(|| (n.clone(), left))
    }

    /// Apply this client's own committed change to a cached node, keeping
    /// the time it was read: the rest of it is no fresher than that.
    pub fn update_node(&self, ino: u64, f: impl FnOnce(&mut Node)) {
        if let Ok(mut map) = self.nodes.lock() {
            if let Some((n, _)) = map.get_mut(&ino) {
                f(n);
            }
        }
    }

    pub fn put_node(&self, node: &Node) {
        if let Ok(mut map) = self.nodes.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, at)| at.elapsed() < self.ttl);
            }
            map.insert(node.inode.ino, (node.clone(), Instant::now()));
        }
    }

    pub fn forget_node(&self, ino: u64) {
        if let Ok(mut map) = self.nodes.lock() {
            map.remove(&ino);
        }
    }

    pub fn entry(&self, parent: u64, name: &[u8]) -> Option<Option<Entry>> {
        let map = self.names.lock().ok()?;
        map.get(&(parent, name.to_vec()))
            .filter(|(_, at)| self.fresh(*at))
            .map(|(e, _)| *e)
    }

    /// A cached name and how much longer it may be trusted.
    pub fn entry_for(&self, parent: u64, name: &[u8]) -> Option<(Option<Entry>, Duration)> {
        let map = self.names.lock().ok()?;
        let (e, at) = map.get(&(parent, name.to_vec()))?;
        let left = self.ttl.checked_sub(at.elapsed())?;
        (!left.is_zero()).then_some((*e, left))
    }

    /// Whether `name` in `parent` was known to exist when last read, and
    /// that is older than the TTL now.
    pub fn expired(&self, parent: u64, name: &[u8]) -> bool {
        self.names.lock().is_ok_and(|map| {
            map.get(&(parent, name.to_vec()))
                .is_some_and(|(e, at)| e.is_some() && !self.fresh(*at))
        })
    }

    pub fn put_entry(&self, parent: u64, name: &[u8], e: Option<Entry>) {
        if let Ok(mut map) = self.names.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, at)| at.elapsed() < self.ttl);
            }
            map.insert((parent, name.to_vec()), (e, Instant::now()));
        }
    }

    pub fn forget_entry(&self, parent: u64, name: &[u8]) {
        if let Ok(mut map) = self.names.lock() {
            map.remove(&(parent, name.to_vec()));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut m) = self.nodes.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.names.lock() {
            m.clear();
        }
    }
}
