//! The transaction loop: the one place where a namespace change that lost a
//! race is planned again.
//!
//! A change is planned from what the client knows (cache, then fresh reads),
//! committed as one conditional transaction, and on a failed condition the
//! failing write tells the caller which assumption broke: either that is a
//! POSIX answer (EEXIST, ENOTEMPTY…) or the plan is made again from fresh
//! reads, after a jittered pause so racing clients spread out. Transient
//! store errors and transaction conflicts are retried below, in the store's
//! retry layer.

use std::time::Duration;

use rand::Rng;

use crate::error::{FsError, FsResult};
use crate::store::{StoreError, Token, Write};

use super::Fs;

/// Most plans for one change before giving up with EAGAIN: with the
/// pauses between them, about six seconds of other clients changing the
/// same items. A client slower than the others (one that resumed after a
/// stall, say) loses most races, so twelve plans in under two seconds were
/// not enough: a chaos run's directory rename got EAGAIN, which rename(2)
/// never answers on a local file system.
const MAX_PLANS: u32 = 32;
/// The longest pause between two plans.
const MAX_PAUSE_MS: u64 = 500;

pub(super) enum Outcome {
    Done,
    /// The condition of write number `.0` failed.
    Failed(usize),
}

/// Counts the plans of one change.
pub(super) struct Attempts {
    n: u32,
}

impl Attempts {
    pub fn new() -> Attempts {
        Attempts { n: 0 }
    }

    /// After a failed plan, everything is read fresh.
    pub fn fresh(&self) -> bool {
        self.n > 0
    }

    /// Pause before the next plan, or give up.
    pub async fn again(&mut self) -> FsResult<()> {
        self.n += 1;
        if self.n >= MAX_PLANS {
            return Err(FsError::Contended(self.n));
        }
        let bound = 2u64.saturating_pow(self.n.min(9)).min(MAX_PAUSE_MS);
        let ms = rand::rng().random_range(0..=bound);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}

impl Fs {
    /// The node an entry just read names; `None` when that was a stale
    /// cached entry whose inode is gone: the caller plans again, fresh.
    pub(super) async fn named_node(
        &self,
        ino: u64,
        tries: &mut Attempts,
    ) -> FsResult<Option<super::node::Node>> {
        match self.node(ino, tries.fresh()).await {
            Ok(n) => Ok(Some(n)),
            Err(e) if !tries.fresh() && e.errno() == crate::error::Errno::ESTALE => {
                tries.again().await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Commit a planned change as one transaction.
    pub(super) async fn commit(&self, writes: &[Write]) -> FsResult<Outcome> {
        match self.store.transact(writes, &Token::fresh()).await {
            Ok(()) => Ok(Outcome::Done),
            Err(StoreError::ConditionFailed { index, .. }) => {
                Ok(Outcome::Failed(index.unwrap_or(usize::MAX)))
            }
            Err(e) => Err(e.into()),
        }
    }
}
