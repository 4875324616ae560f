//! Write-behind: the full blocks of a sequential writer are sent while it
//! goes on writing, so that a flush (close, fsync, the write buffer's
//! bound) finds most of the data stored already and a large write moves
//! as fast as the store takes blocks, not at the speed of the writes
//! followed by one long flush.
//!
//! A block sent early stays in the open file's dirty map until the flush
//! has written the size that covers it: if another client truncated the
//! file meanwhile (a new generation), the flush writes it again under the
//! new generation, as it does every dirty block. Sending is only ever an
//! early copy; the flush decides what the file holds. A file this client
//! holds a lock on sends nothing ahead (see `Fs::send_ahead`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::store::{Store, StoreError, Write};

use super::file::PARALLEL_WRITES;

type Sent = (u64, u64, Result<(), StoreError>);

/// The blocks of one open file sent ahead of its flush.
#[derive(Debug, Default)]
pub(super) struct WriteBehind {
    tasks: JoinSet<Sent>,
    in_flight: HashSet<u64>,
    /// Blocks stored, by index, with the generation they were stored
    /// under, and unchanged since.
    stored: HashMap<u64, u64>,
    /// Blocks written again while their earlier bytes were in flight: the
    /// copy that lands is old, so they do not count as stored.
    rewritten: HashSet<u64>,
}

impl WriteBehind {
    /// Block `i` changed in the dirty map: what was stored of it is old.
    pub(super) fn touched(&mut self, i: u64) {
        self.stored.remove(&i);
        if self.in_flight.contains(&i) {
            self.rewritten.insert(i);
        }
    }

    /// Whether sending block `i` now would be of use. A block in flight is
    /// never sent again before that request ends: two writes of one key
    /// in flight may land in either order.
    pub(super) fn wants(&self, i: u64) -> bool {
        !self.in_flight.contains(&i) && !self.stored.contains_key(&i)
    }

    /// Whether block `i` is stored, as it is now, under `generation`.
    pub(super) fn stored_under(&self, i: u64, generation: u64) -> bool {
        self.stored.get(&i) == Some(&generation)
    }

    /// Send block `i` (the write `w`, of `generation`); waits while as
    /// many blocks as a flush would send are in flight, so a writer faster
    /// than the store is held back instead of queueing without bound.
    pub(super) async fn send(&mut self, store: Arc<dyn Store>, w: Write, i: u64, generation: u64) {
        self.reap();
        while self.tasks.len() >= PARALLEL_WRITES {
            match self.tasks.join_next().await {
                Some(r) => self.record(r),
                None => break,
            }
        }
        self.in_flight.insert(i);
        self.tasks
            .spawn(async move { (i, generation, store.write(&w).await) });
    }

    /// Wait for every block in flight. A failed one is simply not stored:
    /// the flush writes it with the rest and reports its own errors.
    pub(super) async fn drain(&mut self) {
        while let Some(r) = self.tasks.join_next().await {
            self.record(r);
        }
        // Nothing runs now, whatever a lost task did not report.
        self.in_flight.clear();
        self.rewritten.clear();
    }

    /// The flush stored the size: the dirty blocks are gone.
    pub(super) fn clear(&mut self) {
        self.stored.clear();
        self.rewritten.clear();
    }

    fn reap(&mut self) {
        while let Some(r) = self.tasks.try_join_next() {
            self.record(r);
        }
    }

    fn record(&mut self, r: Result<Sent, tokio::task::JoinError>) {
        let Ok((i, generation, result)) = r else {
            // A panicked or cancelled task: the block is still dirty.
            return;
        };
        self.in_flight.remove(&i);
        let old = self.rewritten.remove(&i);
        match result {
            Ok(()) if !old => {
                self.stored.insert(i, generation);
            }
            Ok(()) => {}
            Err(e) => tracing::debug!(
                block = i,
                "a block sent ahead failed: {e}; the flush writes it"
            ),
        }
    }
}
