//! Which inodes live mounts may hold open, before fsck deletes garbage
//! data beside them: the rule the mounts' collectors follow
//! (`fs/collect.rs`). Each session publishes the inodes its client holds
//! open with every heartbeat; an open made since its last heartbeat is not
//! listed yet, so fsck waits until every session live at the start has
//! heartbeated twice (one of those heartbeats was computed after the wait
//! began) and then believes what they list. A session that does not beat
//! twice within its TTL, or does not list what it holds, may hold anything.
//! fsck judges expiry by the sessions' own clocks (`x`), as it does for
//! reaping: it has no time to watch heartbeats stand still.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::error::FsResult;
use crate::session::{Session, SessionInfo};
use crate::store::Store;
use crate::superblock::now_ns;

/// How often the session items are read while waiting.
const POLL: Duration = Duration::from_millis(250);

/// Of `wanted`, the inodes a live session may hold open. Without live
/// sessions, none (at once).
pub(super) async fn held_open(
    store: &dyn Store,
    wanted: &HashSet<u64>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> FsResult<HashSet<u64>> {
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let live = |all: Vec<SessionInfo>| -> HashMap<String, SessionInfo> {
        let now = now_ns();
        all.into_iter()
            .filter(|s| !s.is_expired(now))
            .map(|s| (s.id.clone(), s))
            .collect()
    };
    let start = live(Session::list(store).await?);
    if start.is_empty() {
        return Ok(HashSet::new());
    }
    let longest = start.values().map(|s| s.ttl).max().unwrap_or_default();
    let deadline = Instant::now() + longest;
    progress(&format!(
        "waiting for {} live session(s) to publish their open files (at most {} s)",
        start.len(),
        longest.as_secs()
    ));
    let mut now_live = start.clone();
    loop {
        let pending = start.values().any(|s| match now_live.get(&s.id) {
            None => false, // gone or expired: holds nothing
            Some(n) => n.marker() < s.marker() + 2,
        });
        if !pending || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
        now_live = live(Session::list(store).await?);
    }
    let mut held = HashSet::new();
    for s in start.values() {
        let Some(n) = now_live.get(&s.id) else {
            continue;
        };
        let beat_twice = n.marker() >= s.marker() + 2;
        held.extend(wanted.iter().filter(|ino| !beat_twice || n.may_hold(**ino)));
    }
    Ok(held)
}
