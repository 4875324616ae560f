//! The background collector: deletes the data of orphans (inodes whose last
//! name is gone) and of dead generations (what a truncation to zero left
//! behind), never while a client may still read it.
//!
//! A client that has a file open keeps reading its data after another
//! client unlinked or truncated it, as on a local file system. Opening
//! costs no request for this: each session publishes the inodes its client
//! holds open with every heartbeat (`session`), and an inode is collected
//! only once every session that was alive when the collector took the job
//! has heartbeated twice since (so at least one of its heartbeats was
//! computed after the job was seen) without naming it, or is gone or dead.
//! A client registers an open before it reads the inode, and an open of an
//! inode whose last name is gone fails with ESTALE (`file`), so no open can
//! slip between those heartbeats. Nothing of this client's own is
//! collected while it holds the inode open.
//!
//! Jobs come from this client's own unlinks and truncations and, on a
//! mount, from a slow sweep of the record partitions, so that orphans of
//! clients that died are collected by live ones.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::held::Held;
use crate::session::{Peers, Session, SessionInfo, Verdict};
use crate::store::{Query, Range, Store, Table, Value};

use super::orphan::{
    collect_generation, collect_many, orphan_ino, GENERATION_BLOCKS, GENERATION_TAG, ORPHAN_SHARDS,
    ORPHAN_TAG,
};

/// How often pending jobs are checked against the sessions.
const RECHECK: Duration = Duration::from_secs(1);

/// Jobs are collected once they stop arriving for this long, so that a
/// burst (rm -rf) is collected in full batches, with one listing of the
/// sessions per batch rather than per file...
const QUIET: Duration = Duration::from_secs(1);
/// ...or once this many wait (a full batch read of inode items)...
const FULL_BATCH: usize = 100;
/// ...or once the oldest has waited this long.
const HOLD: Duration = Duration::from_secs(5);

/// When the jobs taken since the last step are due.
#[derive(Default)]
struct Burst {
    first: Option<tokio::time::Instant>,
    last: Option<tokio::time::Instant>,
}

impl Burst {
    fn arrived(&mut self, now: tokio::time::Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    fn due(&self, waiting: usize) -> Option<tokio::time::Instant> {
        let (first, last) = (self.first?, self.last?);
        if waiting >= FULL_BATCH {
            return Some(first);
        }
        Some((last + QUIET).min(first + HOLD))
    }
}

pub(super) enum Job {
    /// An orphan: its items and data.
    Orphan(u64),
    /// A removed directory: it has no data anybody could still read (its
    /// entries are gone, a handle on it lists nothing), so it is collected
    /// at once, without waiting for other clients.
    Directory(u64),
    /// A dead generation (inode, generation, blocks it may have); `own`
    /// when this client ended it (and so no longer reads it).
    Generation {
        ino: u64,
        generation: u64,
        blocks: u64,
        own: bool,
    },
    /// Use this session: its id is this client's, its peers are judged on
    /// its clock, and the record partitions are swept.
    Attach(Arc<Session>),
    /// Answer once every job handed over before is done or waiting for
    /// other clients.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum What {
    Orphan(u64),
    Generation(u64, u64),
}

struct Pending {
    blocks: u64,
    own: bool,
    /// The sessions alive when the job was taken, with their heartbeat
    /// numbers then.
    waits: Vec<(String, i64)>,
}

struct Collector {
    store: Arc<dyn Store>,
    block_size: u32,
    held: Held,
    session: Option<Arc<Session>>,
    own_peers: Arc<Peers>,
    pending: HashMap<What, Pending>,
    /// Next record shard the sweep reads.
    sweep: u8,
    /// Removed directories to collect with the next batch.
    directories: Vec<u64>,
    /// Jobs taken since the last step.
    fresh: Vec<(What, u64, bool)>,
}

pub(super) fn start(
    store: Arc<dyn Store>,
    block_size: u32,
    held: Held,
) -> mpsc::UnboundedSender<Job> {
    let (tx, rx) = mpsc::unbounded_channel::<Job>();
    let c = Collector {
        store,
        block_size,
        held,
        session: None,
        own_peers: Arc::new(Peers::default()),
        pending: HashMap::new(),
        sweep: 0,
        directories: Vec::new(),
        fresh: Vec::new(),
    };
    tokio::spawn(c.run(rx));
    tx
}

impl Collector {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut next_sweep = tokio::time::Instant::now();
        let mut next_recheck = tokio::time::Instant::now();
        let mut burst = Burst::default();
        loop {
            let now = tokio::time::Instant::now();
            let mut due = burst.due(self.fresh.len() + self.directories.len());
            if !self.pending.is_empty() {
                due = Some(due.map_or(next_recheck, |d| d.min(next_recheck)));
            }
            let wait = match (due, &self.session) {
                (Some(d), _) => d.min(next_sweep),
                (None, Some(_)) => next_sweep,
                (None, None) => now + Duration::from_secs(3600),
            }
            .saturating_duration_since(now);
            let first = tokio::select! {
                j = rx.recv() => match j {
                    Some(j) => Some(j),
                    None => break,
                },
                _ = tokio::time::sleep(wait) => None,
            };
            let mut jobs: Vec<Job> = first.into_iter().collect();
            while let Ok(j) = rx.try_recv() {
                jobs.push(j);
            }
            let now = tokio::time::Instant::now();
            let mut flushes = Vec::new();
            for j in jobs {
                match j {
                    Job::Orphan(ino) => {
                        burst.arrived(now);
                        self.fresh.push((What::Orphan(ino), 0, false))
                    }
                    Job::Directory(ino) => {
                        burst.arrived(now);
                        self.directories.push(ino)
                    }
                    Job::Generation {
                        ino,
                        generation,
                        blocks,
                        own,
                    } => {
                        burst.arrived(now);
                        self.fresh
                            .push((What::Generation(ino, generation), blocks, own))
                    }
                    Job::Attach(s) => self.session = Some(s),
                    Job::Flush(done) => flushes.push(done),
                }
            }
            if let Some(s) = &self.session {
                if now >= next_sweep {
                    next_sweep = now + (s.ttl() / 3).max(RECHECK);
                    let found = self.sweep_once().await;
                    if !found.is_empty() {
                        burst.arrived(now);
                    }
                    self.fresh.extend(found);
                }
            }
            let waiting = self.fresh.len() + self.directories.len();
            let fresh_due = burst.due(waiting).is_some_and(|d| now >= d);
            let recheck_due = !self.pending.is_empty() && now >= next_recheck;
            if fresh_due || recheck_due || !flushes.is_empty() {
                let fresh = std::mem::take(&mut self.fresh);
                let dirs = std::mem::take(&mut self.directories);
                self.step(fresh, dirs).await;
                burst = Burst::default();
                next_recheck = now + RECHECK;
            }
            for done in flushes {
                let _ = done.send(());
            }
        }
    }

    fn peers(&self) -> &Arc<Peers> {
        match &self.session {
            Some(s) => s.peers(),
            None => &self.own_peers,
        }
    }

    /// Take new jobs, and collect every pending one that is safe now, with
    /// the removed directories `dirs` in the same batch.
    async fn step(&mut self, fresh: Vec<(What, u64, bool)>, dirs: Vec<u64>) {
        if fresh.is_empty() && self.pending.is_empty() {
            self.collect_orphans(&dirs).await;
            return;
        }
        let sessions = match Session::list(self.store.as_ref()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("collector: listing sessions failed: {e}; trying again later");
                self.collect_orphans(&dirs).await;
                for (what, blocks, own) in fresh {
                    self.pending.entry(what).or_insert(Pending {
                        blocks,
                        own,
                        waits: Vec::new(),
                    });
                }
                return;
            }
        };
        let me = self.session.as_ref().map(|s| s.id());
        let live: HashMap<String, SessionInfo> = sessions
            .into_iter()
            .filter(|s| Some(&s.id) != me.as_ref())
            .filter(|s| matches!(self.peers().observe(s), Verdict::Alive(_)))
            .map(|s| (s.id.clone(), s))
            .collect();
        for (what, blocks, own) in fresh {
            let waits: Vec<(String, i64)> =
                live.values().map(|s| (s.id.clone(), s.marker())).collect();
            self.pending
                .entry(what)
                .and_modify(|p| p.blocks = p.blocks.max(blocks))
                .or_insert(Pending { blocks, own, waits });
        }
        let ready: Vec<What> = self
            .pending
            .iter()
            .filter(|(what, p)| self.safe(**what, p, &live))
            .map(|(what, _)| *what)
            .collect();
        let mut orphans = dirs;
        for what in ready {
            let Some(p) = self.pending.remove(&what) else {
                continue;
            };
            match what {
                What::Orphan(ino) => orphans.push(ino),
                What::Generation(ino, generation) => {
                    let r =
                        collect_generation(self.store.as_ref(), ino, generation, p.blocks).await;
                    if let Err(e) = r {
                        // The record stays: the sweep or fsck finds it again.
                        tracing::warn!(?what, "collecting failed: {e}");
                    }
                }
            }
        }
        self.collect_orphans(&orphans).await;
    }

    /// Collect orphans no client can read any more, a hundred at a time.
    async fn collect_orphans(&self, inos: &[u64]) {
        for chunk in inos.chunks(100) {
            if let Err(e) = collect_many(self.store.as_ref(), chunk, self.block_size).await {
                // The records stay: the sweep or fsck finds them again.
                tracing::warn!(count = chunk.len(), "collecting orphans failed: {e}");
            }
        }
    }

    /// Whether no client can still read what `what` deletes.
    fn safe(&self, what: What, p: &Pending, live: &HashMap<String, SessionInfo>) -> bool {
        let ino = match what {
            What::Orphan(ino) | What::Generation(ino, _) => ino,
        };
        // An orphan this client holds is read through; a generation it
        // ended itself is not.
        let mine_needed = matches!(what, What::Orphan(_)) || !p.own;
        if mine_needed && self.held.contains(ino) {
            return false;
        }
        p.waits.iter().all(|(id, then)| match live.get(id) {
            // Gone, or dead: its client reads nothing any more.
            None => true,
            Some(s) => s.beat.is_some() && s.marker() >= then + 2 && !s.may_hold(ino),
        })
    }

    /// Read one shard of orphan records and one of dead generations.
    async fn sweep_once(&mut self) -> Vec<(What, u64, bool)> {
        let shard = self.sweep;
        self.sweep = (self.sweep + 1) % ORPHAN_SHARDS;
        let mut out = Vec::new();
        for tag in [ORPHAN_TAG, GENERATION_TAG] {
            let mut q = Query::new(Table::Meta, vec![tag, shard], Range::All);
            q.limit = Some(1000);
            loop {
                let page = match self.store.query(&q).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::debug!("collector sweep: {e}");
                        break;
                    }
                };
                for it in &page.items {
                    let what = if tag == ORPHAN_TAG {
                        orphan_ino(&it.key).map(What::Orphan)
                    } else {
                        generation_of(&it.key.s)
                    };
                    let Some(what) = what else { continue };
                    if self.pending.contains_key(&what) {
                        continue;
                    }
                    let blocks = it
                        .attrs
                        .get(GENERATION_BLOCKS)
                        .and_then(Value::as_n)
                        .unwrap_or(0)
                        .max(0) as u64;
                    out.push((what, blocks, false));
                }
                match page.next {
                    Some(n) => q.start_after = Some(n),
                    None => break,
                }
            }
        }
        out
    }
}

/// (inode, generation) from a dead-generation record's sort key.
fn generation_of(s: &[u8]) -> Option<What> {
    let ino: [u8; 8] = s.get(..8)?.try_into().ok()?;
    let generation: [u8; 8] = s.get(8..16)?.try_into().ok()?;
    Some(What::Generation(
        u64::from_be_bytes(ino),
        u64::from_be_bytes(generation),
    ))
}
