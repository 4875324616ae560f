//! Other clients' sessions as this client sees them: alive or dead, judged
//! on this client's monotonic clock.
//!
//! Wall clocks of different machines disagree, so a session is never judged
//! by comparing its expiry with our time. Instead each client notes when it
//! first saw a session's heartbeat number at its current value; a session
//! whose number stands still for its TTL, measured from that moment on our
//! own clock, is dead. Its own client, which stops trusting its lease a
//! little before the TTL has passed since it sent the last heartbeat that
//! got through, has given up its locks by then.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::info::SessionInfo;
use crate::store::Cond;

#[derive(Clone, Copy, Debug)]
struct Seen {
    marker: i64,
    since: Instant,
    ttl: std::time::Duration,
}

/// What a look at a session's item says about it.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Alive at least until then (unless its item shows otherwise).
    Alive(Instant),
    /// Dead; the condition holds while its item is still as read (so a
    /// write acting on its death fails if it came back meanwhile).
    Dead(Cond),
}

#[derive(Default)]
pub struct Peers {
    seen: Mutex<HashMap<String, Seen>>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

impl Peers {
    /// Note what a session's item says now, and judge it.
    pub fn observe(&self, info: &SessionInfo) -> Verdict {
        let now = Instant::now();
        let marker = info.marker();
        let Ok(mut m) = self.seen.lock() else {
            return Verdict::Alive(now);
        };
        let seen = m
            .entry(info.id.clone())
            .and_modify(|s| {
                if s.marker != marker {
                    *s = Seen {
                        marker,
                        since: now,
                        ttl: info.ttl,
                    };
                }
            })
            .or_insert(Seen {
                marker,
                since: now,
                ttl: info.ttl,
            });
        let until = seen.since + seen.ttl;
        if now >= until {
            Verdict::Dead(Cond::Or(vec![Cond::NotExists, info.unchanged()]))
        } else {
            Verdict::Alive(until)
        }
    }

    /// Until when a session is known alive without reading its item.
    pub fn alive_until(&self, id: &str) -> Option<Instant> {
        let m = self.seen.lock().ok()?;
        m.get(id).map(|s| s.since + s.ttl)
    }

    /// A session whose item is gone.
    pub fn forget(&self, id: &str) {
        if let Ok(mut m) = self.seen.lock() {
            m.remove(id);
        }
    }

    /// Keep only the sessions in `ids` (the others' items are gone).
    pub fn retain(&self, ids: &[&str]) {
        if let Ok(mut m) = self.seen.lock() {
            m.retain(|k, _| ids.contains(&k.as_str()));
        }
    }
}
