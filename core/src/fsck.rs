//! `fsck`: check every invariant ([`crate::check`]) and, when asked, repair
//! what is safe to repair.
//!
//! Every repair re-reads what it changes and writes on condition that it is
//! still as read, so a concurrent change by a live mount makes the repair
//! fail (it is left for the next run) instead of being undone. But a scan
//! is no snapshot, and what the checker infers from many items (a link
//! count from every entry naming an inode) cannot be one condition. So
//! while live sessions exist, fsck repairs only dead state (expired
//! sessions and their locks, garbage no client can reach) unless forced.
//! Data blocks that are provably garbage (past their file's size, of a
//! dead generation or a collected orphan) it deletes live too, except
//! those of files a live session may hold open ([`holders`]), by the rule
//! the mounts' collectors follow. What it reports then is what two
//! consecutive scans agree on.
//!
//! Repair never deletes what could be a file's data: an inode no name
//! reaches, and blocks whose inode item is gone, are named under
//! /lost+found; a mode or generation number that the inode's names and
//! contents contradict is not trusted to delete anything.

mod holders;
mod repair;

use std::collections::HashSet;
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
    /// None of these repairs deletes data: names and counters are set
    /// right, and inodes and blocks no name reaches are reconnected under
    /// /lost+found.
    Live,
    /// Data blocks that are provably garbage (of a dead generation, of a
    /// collected orphan, past the size of their file): deleted unless a
    /// live session may hold the file open (its published open set, after
    /// two heartbeats), as the mounts' collectors do.
    Data,
    /// Goes away with the repairs of other problems, when they apply.
    Follows,
    /// Never: fsck cannot know what is right, or the repair would delete
    /// data that may be a file's.
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
        | BlockTail { .. }
        | BlockOfNonFile { .. }
        | SuspectGeneration { .. } => Safety::Manual,
        // A generation newer than the inode's: its `gn` is what is damaged.
        DeadGenerationBlock {
            generation,
            current,
            ..
        } if generation > current => Safety::Manual,
        EntryToUnlinked { .. } | Detached { .. } => Safety::Follows,
        EntryOutsideDirectory { .. }
        | DanglingEntry { .. }
        | EntryType { .. }
        | WrongMode { .. }
        | WrongNlink { .. }
        | XattrCount { .. }
        | DirectoryNames { .. }
        | WrongParent { .. }
        | MissingCounter { .. }
        | Counters { .. }
        | CounterShards { .. }
        | Unreferenced { .. }
        | BlockWithoutInode { .. }
        | BlockInHole { .. }
        | OrphanLinked { .. }
        | DamagedLocks { .. } => Safety::Live,
        BlockPastSize { .. }
        | DeadGenerationBlock { .. }
        | OrphanBlock { .. }
        | PendingGeneration { .. } => Safety::Data,
        Stray { .. }
        | ExpiredSession { .. }
        | LockOfGoneSession { .. }
        | LockWithoutInode { .. }
        | LeftoverOrphan { .. }
        | PartlyCollected { .. }
        | StaleLockIndex { .. } => Safety::Dead,
    }
}

/// The inode whose data a problem's repair deletes.
pub fn data_of(p: &Problem) -> Option<u64> {
    use Problem::*;
    match p {
        BlockPastSize { ino, .. }
        | DeadGenerationBlock { ino, .. }
        | OrphanBlock { ino, .. }
        | PendingGeneration { ino, .. } => Some(*ino),
        _ => None,
    }
}

/// Why a problem is still there after a repair run (`live`: whether live
/// sessions existed; `held`: inodes live sessions may hold open).
pub fn why_left(p: &Problem, live: bool, force: bool, held: &HashSet<u64>) -> String {
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
        (
            Safety::Manual,
            BlockOfNonFile { .. } | DeadGenerationBlock { .. } | SuspectGeneration { .. },
        ) => {
            "fsck does not delete data that may be a file's: the inode's mode or generation may be what is damaged"
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
        (Safety::Data, _) if data_of(p).is_some_and(|i| held.contains(&i)) => {
            "a live mount may hold the file open: its collector, or the next fsck, deletes it after the last close"
        }
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
    /// Inodes whose garbage data was left because a live session may hold
    /// them open.
    pub held: HashSet<u64>,
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
        why_left(p, !self.live.is_empty(), self.options.force, &self.held)
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
        held: HashSet::new(),
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
            let done =
                repair::pass(&ctx, &out.remaining, live, opts.force, &out.held, progress).await;
            out.failures.extend(done.failures);
            out.held.extend(done.held);
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
