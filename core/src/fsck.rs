//! `fsck`: check every invariant ([`crate::check`]) and, when asked, repair
//! what is safe to repair.
//!
//! Every repair re-reads what it changes and writes on condition that it is
//! still as read, so a concurrent change by a live mount makes the repair
//! fail (it is left for the next run) instead of being undone. But a scan
//! is no snapshot, and what the checker infers from many items (a link
//! count from every entry naming an inode) cannot be one condition. So
//! while live sessions exist, fsck repairs only dead state (expired
//! sessions and their locks, garbage no client can reach) unless forced,
//! and even forced it leaves data blocks a live writer may have in flight.
//! What it reports then is what two consecutive scans agree on.

mod repair;

use std::sync::Arc;

use crate::check::{self, Problem, Report};
use crate::error::FsError;
use crate::fs::{Fs, FsOptions};
use crate::session::SessionInfo;
use crate::store::{Store, StoreError, Table};
use crate::superblock::{now_ns, Superblock, SuperblockError};

/// Repair passes at most: a repair can reveal the next problem (a leaked
/// directory, once collected, leaves its entries without a directory, and
/// so its children without a name), one level per pass.
pub const MAX_PASSES: u32 = 8;

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Repair what is safe; otherwise only report.
    pub repair: bool,
    /// Repair live state even while live sessions exist.
    pub force: bool,
}

/// When fsck repairs a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Safety {
    /// State no client can be using (expired sessions and their locks,
    /// items of inodes that do not exist): always.
    Dead,
    /// State a live mount may be using: when no session is live, or forced.
    Live,
    /// Data blocks a live writer may have in flight: only when no session
    /// is live.
    Data,
    /// Goes away with the repairs of other problems, when they apply.
    Follows,
    /// Never: fsck cannot know what is right.
    Manual,
}

pub fn safety(p: &Problem) -> Safety {
    use Problem::*;
    match p {
        Superblock { .. }
        | Damaged { .. }
        | BadInode { .. }
        | BadRoot { .. }
        | BadBlock { .. }
        | BlockTail { .. } => Safety::Manual,
        EntryToUnlinked { .. } | Detached { .. } => Safety::Follows,
        EntryOutsideDirectory { .. }
        | DanglingEntry { .. }
        | EntryType { .. }
        | WrongNlink { .. }
        | DirectoryNames { .. }
        | WrongParent { .. }
        | MissingCounter { .. }
        | Counters { .. }
        | CounterShards { .. }
        | Unreferenced { .. }
        | OrphanLinked { .. }
        | DamagedLocks { .. } => Safety::Live,
        BlockPastSize { .. } => Safety::Data,
        DeadGenerationBlock {
            generation,
            current,
            ..
        } if generation > current => Safety::Data,
        DeadGenerationBlock { .. }
        | Stray { .. }
        | BlockWithoutInode { .. }
        | BlockOfNonFile { .. }
        | ExpiredSession { .. }
        | LockOfGoneSession { .. }
        | LockWithoutInode { .. }
        | LeftoverOrphan { .. }
        | PartlyCollected { .. }
        | OrphanBlock { .. }
        | PendingGeneration { .. }
        | StaleLockIndex { .. } => Safety::Dead,
    }
}

/// Why a problem is still there after a repair run (`live`: whether live
/// sessions existed).
pub fn why_left(p: &Problem, live: bool, force: bool) -> String {
    use Problem::*;
    let s = match (safety(p), p) {
        (Safety::Manual, Superblock { .. }) => {
            "fsck cannot rebuild a superblock: restore the table from a backup"
        }
        (Safety::Manual, BadRoot { .. }) => {
            "fsck cannot rebuild the root directory: restore the table from a backup"
        }
        (Safety::Manual, BlockTail { .. }) => {
            "the block must be rewritten: copy the file and move the copy over it"
        }
        (Safety::Manual, BadBlock { .. }) => {
            "those bytes are lost: restore the file from a backup (the rest of it reads)"
        }
        (Safety::Manual, _) => {
            "fsck does not guess what a damaged item held: restore it from a backup, or delete it"
        }
        (Safety::Follows, Detached { .. }) => {
            "a directory cycle or a lost ancestor: move its contents elsewhere by hand"
        }
        (Safety::Follows, _) => "a removed directory still named: fsck cannot tell which is right",
        (Safety::Live, DirectoryNames { .. }) if !live || force => {
            "no entry matches the directory's parent pointer: fsck cannot tell which name is right"
        }
        (Safety::Live, _) if live && !force => {
            "mounts are live: unmount them, or run with --force to repair it anyway"
        }
        (Safety::Data, _) if live => "mounts are live and one may be writing this data: unmount them first",
        _ => "the repair did not apply (the item changed while fsck ran, or the repair failed): run fsck again",
    };
    s.to_string()
}

/// What fsck found and did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What the first check found.
    pub found: Report,
    /// What the last check found: after the repairs (without repairing,
    /// the same as `found`).
    pub remaining: Report,
    /// The repairs made, in order.
    pub actions: Vec<String>,
    /// Repairs that failed, and why.
    pub failures: Vec<String>,
    /// The sessions that were live when fsck started.
    pub live: Vec<SessionInfo>,
    pub options: Options,
    /// Scans made (a confirming second scan counts).
    pub scans: u32,
}

impl Outcome {
    /// The exit status fsck(8) gives: 0 clean, 1 errors corrected, 4 errors
    /// left uncorrected.
    pub fn exit_code(&self) -> u8 {
        if !self.remaining.problems.is_empty() {
            4
        } else if !self.actions.is_empty() {
            1
        } else {
            0
        }
    }

    /// Whether a problem (or note) found at first is gone.
    pub fn is_gone(&self, p: &Problem) -> bool {
        !self.remaining.problems.contains(p) && !self.remaining.notes.contains(p)
    }

    /// Why a problem found at first is still there (repair runs only).
    pub fn why_left(&self, p: &Problem) -> String {
        why_left(p, !self.live.is_empty(), self.options.force)
    }
}

/// Why fsck could not do its work at all (fsck(8)'s "operational error").
#[derive(Debug, thiserror::Error)]
pub enum FsckError {
    #[error("{0} holds no dynamofs file system (no superblock and no root directory); create one with `dynamofs mkfs`")]
    NotAFileSystem(String),
    #[error(transparent)]
    Superblock(SuperblockError),
    #[error(transparent)]
    Fs(#[from] FsError),
}

struct Scanner<'a> {
    store: &'a dyn Store,
    progress: &'a (dyn Fn(&str) + Send + Sync),
    scans: u32,
}

impl Scanner<'_> {
    /// One check; while sessions are live, confirmed by a second scan.
    async fn check(&mut self) -> Result<Report, FsError> {
        let now = now_ns();
        let mut r = self.once(now).await?;
        let anything = !r.problems.is_empty() || !r.notes.is_empty();
        if anything && !r.live_sessions(now).is_empty() {
            let again = self.once(now).await?;
            r.confirm(&again);
        }
        Ok(r)
    }

    async fn once(&mut self, now: i64) -> Result<Report, FsError> {
        self.scans += 1;
        let scan = self.scans;
        let progress = self.progress;
        let each = move |t: Table, n: u64| {
            let what = match t {
                Table::Meta => "metadata",
                Table::Blocks => "data blocks",
            };
            progress(&format!("scan {scan}: {what}: {n} items"));
        };
        let opts = check::Options {
            now,
            progress: &each,
        };
        check::check_with(self.store, &opts).await
    }
}

/// Check the file system in `store` and, with `opts.repair`, repair it.
/// `progress` is told what is being done, for a display.
pub async fn fsck(
    store: Arc<dyn Store>,
    opts: Options,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Outcome, FsckError> {
    let sb = match Superblock::load(store.as_ref()).await {
        Ok(sb) => Some(sb),
        // Reported by the check, which goes on without it.
        Err(
            SuperblockError::Missing { .. }
            | SuperblockError::Damaged { .. }
            | SuperblockError::Store(StoreError::Corrupt { .. }),
        ) => None,
        Err(SuperblockError::Store(e)) => return Err(FsError::from(e).into()),
        Err(e) => return Err(FsckError::Superblock(e)),
    };
    let mut scanner = Scanner {
        store: store.as_ref(),
        progress,
        scans: 0,
    };
    let found = scanner.check().await?;
    if sb.is_none() && found.superblock.is_none() && found.inodes == 0 {
        return Err(FsckError::NotAFileSystem(store.table_name(Table::Meta)));
    }
    let live: Vec<SessionInfo> = found.live_sessions(now_ns()).into_iter().cloned().collect();
    let mut out = Outcome {
        remaining: found.clone(),
        found,
        actions: Vec::new(),
        failures: Vec::new(),
        live,
        options: opts,
        scans: 0,
    };
    if opts.repair {
        let fs = match sb {
            Some(_) => {
                let fs_opts = FsOptions {
                    check_permissions: false,
                    ..FsOptions::default()
                };
                match Fs::open(Arc::clone(&store), fs_opts).await {
                    Ok(fs) => Some(fs),
                    Err(e) => {
                        out.failures.push(format!(
                            "cannot open the file system to collect orphans: {e}"
                        ));
                        None
                    }
                }
            }
            None => None,
        };
        let ctx = repair::Ctx {
            store: Arc::clone(&store),
            fs,
        };
        for pass in 1..=MAX_PASSES {
            progress(&format!("repair pass {pass}"));
            let live = !out.remaining.live_sessions(now_ns()).is_empty();
            let done = repair::pass(&ctx, &out.remaining, live, opts.force).await;
            out.failures.extend(done.failures);
            if done.actions.is_empty() {
                break;
            }
            out.actions.extend(done.actions);
            out.remaining = scanner.check().await?;
        }
        if let Some(fs) = &ctx.fs {
            fs.settle().await;
        }
    }
    out.scans = scanner.scans;
    Ok(out)
}
