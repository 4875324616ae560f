//! What the checker can find.

use std::fmt;

use crate::inode::FileType;
use crate::schema::ROOT_INO;

/// One broken invariant (or, in [`super::Report::notes`], a harmless
/// leftover). Inodes are numbers, entries `DIR/NAME` (directory inode,
/// name as [`crate::store::show_bytes`] prints it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[rustfmt::skip]
pub enum Problem {
    /// The superblock is missing or does not parse.
    Superblock { why: String },
    /// An item (entry, counter, orphan record, or a key under a known
    /// partition tag) that cannot be decoded.
    Damaged { key: String, why: String },
    /// An inode attribute item that does not decode.
    BadInode { ino: u64, why: String },
    /// The root directory is missing or not a directory.
    BadRoot { why: String },
    /// An entry in a directory that is missing, removed or no directory.
    EntryOutsideDirectory { dir: u64, name: String },
    /// An entry naming an inode that does not exist.
    DanglingEntry { dir: u64, name: String, ino: u64 },
    /// An entry naming an inode whose link count is 0.
    EntryToUnlinked { dir: u64, name: String, ino: u64 },
    /// An entry whose type differs from its inode's.
    EntryType { dir: u64, name: String, ino: u64, entry: FileType, inode: FileType },
    /// An inode whose mode says one type while its names and what it holds
    /// (counters and entries, data blocks, a link target) say `actual`:
    /// the mode is what is damaged. Checked further as `actual`.
    WrongMode { ino: u64, mode: u32, actual: FileType },
    /// A non-directory whose stored link count is not its number of names.
    WrongNlink { ino: u64, stored: u64, names: u64 },
    /// An inode whose extended-attribute count is not its number of
    /// attribute items.
    XattrCount { ino: u64, stored: u64, items: u64 },
    /// A live directory named by no entry or by several.
    DirectoryNames { ino: u64, names: Vec<(u64, String)> },
    /// A directory whose parent pointer is not the directory holding it.
    WrongParent { ino: u64, parent: u64, holder: u64 },
    MissingCounter { dir: u64, shard: u8 },
    /// A directory whose counters disagree with its entries: `entries` and
    /// `subdirs` are each (sum of the counters, number found).
    Counters { dir: u64, entries: (i64, i64), subdirs: (i64, i64) },
    /// A directory whose counters are right in sum but not each: these
    /// counters' entries are not the entries whose names hash to them.
    CounterShards { dir: u64, shards: Vec<u8> },
    /// A directory whose parent pointers do not lead to the root (a cycle,
    /// or a missing or removed ancestor `via`).
    Detached { ino: u64, via: u64 },
    /// An inode no entry names, without an orphan record: leaked.
    Unreferenced { ino: u64, nlink: u64 },
    /// An orphan record naming an inode that still has links.
    OrphanLinked { ino: u64, nlink: u64 },
    /// An item in an inode partition with no inode and no orphan record.
    Stray { key: String },
    /// A data block of an inode that does not exist and is no orphan.
    BlockWithoutInode { ino: u64, generation: u64, index: u64 },
    /// A data block wholly past the size of its file.
    BlockPastSize { ino: u64, generation: u64, index: u64, size: u64 },
    /// A data block of a file, within its size, whose bytes do not read
    /// back (codec or checksum): reads of that range fail with EIO.
    BadBlock { ino: u64, path: Option<String>, index: u64, offset: u64, why: String },
    /// A data block of a file, within its size, that the file's hole map
    /// lists as a hole (left by a writer killed before its flush): seeks
    /// and du pass over its bytes, which reads return.
    BlockInHole { ino: u64, index: u64 },
    /// A data block holding bytes past the size of its file: they would
    /// reappear if the file grew.
    BlockTail { ino: u64, index: u64, size: u64, len: u64 },
    /// A data block of a generation its inode does not have, with no
    /// dead-generation record to collect it.
    DeadGenerationBlock { ino: u64, generation: u64, index: u64, current: u64 },
    /// A file whose data blocks are all of an older generation than its
    /// own, while its size says it has data: the inode's generation number
    /// may be what is damaged, and the blocks its data.
    SuspectGeneration { ino: u64, generation: u64, current: u64, blocks: u64, size: u64 },
    /// A data block of an inode that is not a regular file.
    BlockOfNonFile { ino: u64, generation: u64, index: u64 },
    /// A session whose expiry has passed: a problem while it still holds
    /// `locks` lock records, a note otherwise.
    ExpiredSession { id: String, host: String, pid: u32, locks: u64 },
    /// Lock records of a session whose item is gone.
    LockOfGoneSession { ino: u64, session: String, locks: u64 },
    /// A lock item of an inode that does not exist.
    LockWithoutInode { ino: u64 },
    /// A lock item that does not decode: every lock call on the file fails.
    DamagedLocks { ino: u64, why: String },
    /// Note: an orphan record whose inode is already gone.
    LeftoverOrphan { ino: u64 },
    /// Note: an item of an orphan whose collection stopped half way.
    PartlyCollected { ino: u64, key: String },
    /// Note: a data block of an orphan whose collection stopped half way.
    OrphanBlock { ino: u64, generation: u64, index: u64 },
    /// Note: the blocks of a data generation that truncation left behind,
    /// not collected yet.
    PendingGeneration { ino: u64, generation: u64, blocks: u64 },
    /// Note: a lock index item of a gone session, naming an inode where it
    /// holds nothing.
    StaleLockIndex { session: String, ino: u64 },
}

impl Problem {
    /// A stable name for each kind of problem, for machine-readable reports.
    #[rustfmt::skip]
    pub fn kind(&self) -> &'static str {
        use Problem::*;
        match self {
            Superblock { .. } => "superblock",
            Damaged { .. } => "damaged_item",
            BadInode { .. } => "bad_inode",
            BadRoot { .. } => "bad_root",
            EntryOutsideDirectory { .. } => "entry_outside_directory",
            DanglingEntry { .. } => "dangling_entry",
            EntryToUnlinked { .. } => "entry_to_unlinked",
            EntryType { .. } => "entry_type",
            WrongMode { .. } => "wrong_mode",
            WrongNlink { .. } => "wrong_link_count",
            XattrCount { .. } => "xattr_count",
            DirectoryNames { .. } => "directory_names",
            WrongParent { .. } => "wrong_parent",
            MissingCounter { .. } => "missing_counter",
            Counters { .. } => "counters",
            CounterShards { .. } => "counter_shards",
            Detached { .. } => "detached",
            Unreferenced { .. } => "unreferenced",
            OrphanLinked { .. } => "orphan_linked",
            Stray { .. } => "stray_item",
            BlockWithoutInode { .. } => "block_without_inode",
            BlockPastSize { .. } => "block_past_size",
            BadBlock { .. } => "bad_block",
            BlockTail { .. } => "block_tail",
            BlockInHole { .. } => "block_in_hole",
            DeadGenerationBlock { .. } => "dead_generation_block",
            SuspectGeneration { .. } => "suspect_generation",
            BlockOfNonFile { .. } => "block_of_non_file",
            ExpiredSession { .. } => "expired_session",
            LockOfGoneSession { .. } => "lock_of_gone_session",
            LockWithoutInode { .. } => "lock_without_inode",
            DamagedLocks { .. } => "damaged_locks",
            LeftoverOrphan { .. } => "leftover_orphan",
            PartlyCollected { .. } => "partly_collected",
            OrphanBlock { .. } => "orphan_block",
            PendingGeneration { .. } => "pending_generation",
            StaleLockIndex { .. } => "stale_lock_index",
        }
    }
}

impl fmt::Display for Problem {
    #[rustfmt::skip]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem::*;
        match self {
            Superblock { why } => write!(f, "superblock: {why}"),
            Damaged { key, why } => write!(f, "item {key} is damaged: {why}"),
            BadInode { ino, why } => write!(f, "inode {ino} is damaged: {why}"),
            BadRoot { why } => write!(f, "root directory (inode {ROOT_INO}) {why}"),
            EntryOutsideDirectory { dir, name } =>
                write!(f, "entry {dir}/{name}: inode {dir} is missing, removed or not a directory"),
            DanglingEntry { dir, name, ino } =>
                write!(f, "entry {dir}/{name} names missing inode {ino}"),
            EntryToUnlinked { dir, name, ino } =>
                write!(f, "entry {dir}/{name} names inode {ino}, whose link count is 0"),
            EntryType { dir, name, ino, entry, inode } =>
                write!(f, "entry {dir}/{name} says {entry:?}, but inode {ino} is {inode:?}"),
            WrongMode { ino, mode, actual } => write!(f,
                "inode {ino} has mode {mode:o}, but its names and contents say it is a {actual:?}"),
            WrongNlink { ino, stored, names } =>
                write!(f, "inode {ino} has link count {stored}, but entries name it {names} times"),
            XattrCount { ino, stored, items } =>
                write!(f, "inode {ino} counts {stored} extended attributes, but has {items}"),
            DirectoryNames { ino, names } => {
                let all: Vec<String> = names.iter().map(|(d, n)| format!("{d}/{n}")).collect();
                write!(f, "directory {ino} is named by {} entries, not one: [{}]", names.len(), all.join(", "))
            }
            WrongParent { ino, parent, holder } =>
                write!(f, "directory {ino} has parent pointer {parent}, but directory {holder} holds it"),
            MissingCounter { dir, shard } => write!(f, "directory {dir}: counter {shard} is missing"),
            Counters { dir, entries: (ce, e), subdirs: (csd, sd) } => write!(f,
                "directory {dir}: counters say {ce} entries, {csd} subdirectories; it has {e} and {sd}"),
            CounterShards { dir, shards } =>
                write!(f, "directory {dir}: counters {shards:?} do not count the entries hashed to them"),
            Detached { ino, via } =>
                write!(f, "directory {ino} does not reach the root by parent pointers (stuck at {via})"),
            Unreferenced { ino, nlink } =>
                write!(f, "inode {ino} (link count {nlink}) has no name and no orphan record: leaked"),
            OrphanLinked { ino, nlink } =>
                write!(f, "orphan record for inode {ino}, which still has link count {nlink}"),
            Stray { key } => write!(f, "item {key} belongs to no inode and no orphan"),
            BlockWithoutInode { ino, generation, index } =>
                write!(f, "data block {index} (generation {generation}) of inode {ino}, which does not exist"),
            BlockPastSize { ino, generation, index, size } =>
                write!(f, "data block {index} (generation {generation}) of inode {ino} lies past its size {size}"),
            BadBlock { ino, path, index, offset, why } => {
                let path = path.as_deref().unwrap_or("(no path)");
                write!(f, "{path} (inode {ino}): data block {index} at offset {offset} does not read back: {why}")
            }
            BlockInHole { ino, index } =>
                write!(f, "data block {index} of inode {ino} is stored where its hole map says there is a hole"),
            BlockTail { ino, index, size, len } =>
                write!(f, "data block {index} of inode {ino} holds {len} bytes, past its size {size}"),
            DeadGenerationBlock { ino, generation, index, current } => write!(f,
                "data block {index} of inode {ino} is of generation {generation}, not its current {current}, and nothing collects it"),
            SuspectGeneration { ino, generation, current, blocks, size } => write!(f,
                "inode {ino} is at generation {current} with size {size}, but its {blocks} data block(s) are all of generation {generation}"),
            BlockOfNonFile { ino, generation, index } =>
                write!(f, "data block {index} (generation {generation}) of inode {ino}, which is not a regular file"),
            ExpiredSession { id, host, pid, locks } =>
                write!(f, "session {id} (host {host}, pid {pid}) has expired, holding {locks} lock records"),
            LockOfGoneSession { ino, session, locks } =>
                write!(f, "inode {ino} holds {locks} lock records of session {session}, which is gone"),
            LockWithoutInode { ino } => write!(f, "lock item of inode {ino}, which does not exist"),
            DamagedLocks { ino, why } => write!(f, "lock item of inode {ino} is damaged: {why}"),
            LeftoverOrphan { ino } => write!(f, "orphan record for inode {ino}, which is already gone"),
            PartlyCollected { ino, key } => write!(f, "orphan {ino}: item {key} is not collected yet"),
            OrphanBlock { ino, generation, index } =>
                write!(f, "orphan {ino}: data block {index} (generation {generation}) is not collected yet"),
            PendingGeneration { ino, generation, blocks } =>
                write!(f, "inode {ino}: old data generation {generation} (up to {blocks} blocks) is not collected yet"),
            StaleLockIndex { session, ino } =>
                write!(f, "lock index of gone session {session} still names inode {ino}"),
        }
    }
}
