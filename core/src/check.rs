//! The invariant checker: the first half of `fsck`. It scans both tables
//! (fsck and stats may scan; no normal operation does) and reports every
//! item or relation that breaks the file system's invariants, without
//! changing anything. Damaged items become [`Problem`]s, never panics.
//!
//! A scan is not a snapshot: a namespace change, a write or an orphan
//! collection in flight while the tables are scanned can look like damage.
//! Run it on a quiet file system, or keep only what a second scan confirms
//! (as `fsck` does while mounts are live).

mod data;
mod modes;
mod names;
mod problem;
mod undecodable;

use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) use data::{block_key, dead_generation_key};
pub use names::{parse_shown, parse_shown_key, paths};
pub use problem::Problem;

use crate::error::FsError;
use crate::inode::{FileType, Inode, S_IFMT};
use crate::locks::{LockRecord, LOCKS_S};
use crate::schema::{
    counter, COUNTER_TAG, DIR_SHARDS, DIR_TAG, INODE_ATTRS_S, INODE_TAG, ROOT_INO, SESSIONS_P,
    SUPERBLOCK_P, SUPERBLOCK_S, XATTR_TAG,
};
use crate::session::SessionInfo;
use crate::store::damaged::{self, Undecodable};
use crate::store::{show_bytes, Attrs, Item, Key, Store, Table, Value};
use crate::superblock::{now_ns, Superblock};

use crate::fs::layout::ORPHAN_SHARDS;
pub(crate) use crate::fs::layout::{orphan_key, shard_of, ENTRY_INO, ENTRY_TYPE, ORPHAN_TAG};

/// What [`check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Broken invariants.
    pub problems: Vec<Problem>,
    /// Harmless leftovers (a collection pass removes them).
    pub notes: Vec<Problem>,
    /// Inode items (decodable or not).
    pub inodes: u64,
    /// Directory inodes.
    pub dirs: u64,
    /// Directory entries.
    pub entries: u64,
    /// Orphan records.
    pub orphans: u64,
    /// Items of the metadata table.
    pub meta_items: u64,
    /// Data blocks, and their size as DynamoDB counts it.
    pub blocks: u64,
    pub block_bytes: u64,
    /// Every session item, expired ones included.
    pub sessions: Vec<SessionInfo>,
    /// Lock records held, in all lock items.
    pub locks: u64,
    /// The superblock, when it parses.
    pub superblock: Option<Superblock>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Sessions whose expiry has not passed at `now` (ns since 1970).
    pub fn live_sessions(&self, now: i64) -> Vec<&SessionInfo> {
        self.sessions
            .iter()
            .filter(|s| !s.is_expired(now))
            .collect()
    }

    /// Keep only the problems and notes that `other` (a later scan) found
    /// too: what was a change in flight during one scan is gone from the next.
    pub fn confirm(&mut self, other: &Report) {
        self.problems.retain(|p| other.problems.contains(p));
        self.notes.retain(|p| other.notes.contains(p));
    }
}

/// How a check runs.
pub struct Options<'a> {
    /// Sessions whose expiry is at or before this time (ns since 1970)
    /// count as expired.
    pub now: i64,
    /// Called after every page read, with the table and how many of its
    /// items were read so far.
    pub progress: &'a (dyn Fn(Table, u64) + Send + Sync),
}

struct Ent {
    dir: u64,
    name: String,
    shard: u8,
    ino: u64,
    kind: FileType,
}

/// A data block as scanned.
struct Block {
    ino: u64,
    generation: u64,
    index: u64,
    /// Decoded length, as recorded (`None`: not recorded or malformed).
    len: Option<u64>,
    /// Why its bytes do not read back (codec or checksum), if they do not.
    bad: Option<String>,
}

/// Everything the scan collected.
#[derive(Default)]
struct Scan {
    superblock: Option<Attrs>,
    /// Why the superblock item does not decode, when it does not.
    superblock_damaged: Option<String>,
    inodes: HashMap<u64, Inode>,
    /// Inodes whose attribute item is damaged (reported already).
    damaged: HashSet<u64>,
    /// Per directory: (entries, subdirs) of each counter present.
    counters: HashMap<u64, BTreeMap<u8, (i64, i64)>>,
    entries: Vec<Ent>,
    orphans: HashSet<u64>,
    /// Other items in inode partitions (counters, locks, xattrs...).
    extra: Vec<(u64, Key)>,
    /// Dead-generation records: (inode, generation) -> blocks it may have.
    dead_generations: BTreeMap<(u64, u64), u64>,
    sessions: Vec<SessionInfo>,
    /// Decoded lock items.
    locks: Vec<(u64, Vec<LockRecord>)>,
    /// Lock index items: (session, inode).
    index: Vec<(String, u64)>,
    blocks: Vec<Block>,
    meta_items: u64,
    block_bytes: u64,
}

fn ino_of(p: &[u8]) -> Option<u64> {
    let b: [u8; 8] = p.get(1..)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn num(a: &Attrs, n: &str) -> Result<i64, String> {
    match a.get(n) {
        Some(Value::N(v)) => Ok(*v),
        None => Ok(0),
        Some(_) => Err(format!("attribute `{n}` is not a number")),
    }
}

/// An entry's inode number and type.
pub(crate) fn decode_entry(a: &Attrs) -> Result<(u64, FileType), String> {
    let ino = a.get(ENTRY_INO).and_then(Value::as_n).filter(|n| *n > 0);
    let ino = ino.ok_or("attribute `i` missing or not a positive number")?;
    let kind = a
        .get(ENTRY_TYPE)
        .and_then(Value::as_n)
        .and_then(|t| u32::try_from(t).ok())
        .and_then(|t| FileType::from_mode(t & S_IFMT))
        .ok_or("attribute `t` missing or not a file type")?;
    Ok((ino as u64, kind))
}

impl Scan {
    /// Sort one metadata item into its place; damaged ones are reported.
    fn add(&mut self, key: Key, attrs: Attrs, out: &mut Vec<Problem>) {
        self.meta_items += 1;
        let damaged = |why: &str| Problem::Damaged {
            key: key.to_string(),
            why: why.to_string(),
        };
        if key.p == SUPERBLOCK_P && key.s == SUPERBLOCK_S {
            self.superblock = Some(attrs);
            return;
        }
        if key.p == SESSIONS_P {
            let it = Item { key, attrs };
            self.sessions.push(SessionInfo::from_item(&it).0);
            return;
        }
        let tag = key.p.first().copied();
        match tag {
            Some(ORPHAN_TAG) => {
                let ino = <[u8; 8]>::try_from(key.s.as_slice()).map(u64::from_be_bytes);
                match ino {
                    Ok(i) if key.p == [ORPHAN_TAG, (i % ORPHAN_SHARDS as u64) as u8] => {
                        self.orphans.insert(i);
                    }
                    _ => out.push(damaged("not an orphan record key")),
                }
                return;
            }
            Some(data::GENERATION_TAG) => return self.add_generation(&key, &attrs, out),
            Some(crate::locks::INDEX_TAG) => {
                let session = String::from_utf8_lossy(&key.p[1..]).into_owned();
                match <[u8; 8]>::try_from(key.s.as_slice()) {
                    Ok(b) => self.index.push((session, u64::from_be_bytes(b))),
                    Err(_) => out.push(damaged("lock index sort key is not an inode number")),
                }
                return;
            }
            Some(INODE_TAG) | Some(DIR_TAG) => {}
            _ => return, // whatever other layers keep
        }
        let Some(ino) = ino_of(&key.p) else {
            return out.push(damaged("partition key is not a tag and an inode number"));
        };
        if tag == Some(DIR_TAG) {
            match decode_entry(&attrs) {
                Ok((i, kind)) => self.entries.push(Ent {
                    dir: ino,
                    name: show_bytes(&key.s),
                    shard: shard_of(&key.s),
                    ino: i,
                    kind,
                }),
                Err(why) => out.push(damaged(&why)),
            }
        } else if key.s == INODE_ATTRS_S {
            match Inode::from_attrs(ino, &attrs) {
                Ok(i) => drop(self.inodes.insert(ino, i)),
                Err(e) => {
                    self.damaged.insert(ino);
                    out.push(Problem::BadInode { ino, why: e.why });
                }
            }
        } else {
            if let [COUNTER_TAG, shard] = key.s[..] {
                let e = num(&attrs, counter::ENTRIES);
                match e.and_then(|e| Ok((e, num(&attrs, counter::SUBDIRS)?))) {
                    Ok(c) if shard < DIR_SHARDS => {
                        self.counters.entry(ino).or_default().insert(shard, c);
                    }
                    Ok(_) => out.push(damaged("counter number out of range")),
                    Err(why) => out.push(damaged(&why)),
                }
            }
            if key.s == LOCKS_S {
                match data::decode_locks(&attrs) {
                    Ok(r) => self.locks.push((ino, r)),
                    Err(why) => out.push(Problem::DamagedLocks { ino, why }),
                }
            }
            self.extra.push((ino, key));
        }
    }

    fn live_dir(&self, ino: u64) -> bool {
        let i = self.inodes.get(&ino);
        i.is_some_and(|i| i.is_dir() && i.nlink > 0)
    }

    fn known(&self, ino: u64) -> bool {
        self.inodes.contains_key(&ino) || self.damaged.contains(&ino)
    }
}

/// Items read per scan page. Blocks are up to 256 KiB each: a page of
/// 1,000 would hold 256 MiB in memory on SQLite (a DynamoDB page stops at
/// 1 MB anyway, so fewer only costs requests where blocks are under 4 KiB).
fn page_items(table: Table) -> usize {
    match table {
        Table::Meta => 1000,
        Table::Blocks => 256,
    }
}

/// Every item of a table, in pages; an item the store cannot decode is
/// handed over as such, and the scan goes on past it.
async fn scan_table(
    store: &dyn Store,
    table: Table,
    opts: &Options<'_>,
    mut each: impl FnMut(Result<Item, Undecodable>),
) -> Result<(), FsError> {
    let mut start: Option<Key> = None;
    let mut seen = 0u64;
    loop {
        let (page, bad) =
            damaged::scan_page(store, table, start.as_ref(), page_items(table)).await?;
        seen += (page.items.len() + bad.len()) as u64;
        page.items.into_iter().map(Ok).for_each(&mut each);
        bad.into_iter().map(Err).for_each(&mut each);
        (opts.progress)(table, seen);
        match page.next {
            Some(n) => start = Some(n),
            None => return Ok(()),
        }
    }
}

/// Check every invariant of both tables, at the current time and without
/// progress reports. Errors only when the store cannot be read; everything
/// found is in the [`Report`].
pub async fn check(store: &dyn Store) -> Result<Report, FsError> {
    let progress = |_: Table, _: u64| {};
    let opts = Options {
        now: now_ns(),
        progress: &progress,
    };
    check_with(store, &opts).await
}

/// [`check`] with options.
pub async fn check_with(store: &dyn Store, opts: &Options<'_>) -> Result<Report, FsError> {
    let mut p = Vec::new();
    let mut sc = Scan::default();
    // Blocks first: a file created while the metadata is scanned then has
    // no blocks in the scan, rather than blocks without an inode.
    let block_size = match Superblock::load(store).await {
        Ok(sb) => Some(sb.block_size),
        Err(_) => None, // reported from the scan
    };
    scan_table(store, Table::Blocks, opts, |it| match it {
        Ok(it) => sc.add_block(it, block_size, &mut p),
        Err(u) => sc.add_undecodable_block(u, &mut p),
    })
    .await?;
    scan_table(store, Table::Meta, opts, |it| match it {
        Ok(it) => sc.add(it.key, it.attrs, &mut p),
        Err(u) => sc.add_undecodable(u, &mut p),
    })
    .await?;
    let mut superblock = None;
    match (&sc.superblock, &sc.superblock_damaged) {
        (None, Some(why)) => p.push(Problem::Superblock { why: why.clone() }),
        (None, None) => p.push(Problem::Superblock {
            why: "missing: not a dynamofs table".into(),
        }),
        (Some(a), _) => match Superblock::from_attrs(&store.table_name(Table::Meta), a) {
            Ok(sb) => superblock = Some(sb),
            Err(e) => p.push(Problem::Superblock { why: e.to_string() }),
        },
    }
    match sc.inodes.get(&ROOT_INO) {
        None if !sc.known(ROOT_INO) => p.push(Problem::BadRoot {
            why: "is missing".into(),
        }),
        Some(r) if !r.is_dir() || r.nlink == 0 || r.parent != ROOT_INO => {
            p.push(Problem::BadRoot {
                why: "is not a live directory that is its own parent".into(),
            })
        }
        _ => {}
    }
    modes::check_modes(&mut sc, &mut p);
    check_xattr_counts(&sc, &mut p);
    let dirs = check_namespace(&sc, &mut p);
    let mut notes = Vec::new();
    check_leftovers(&sc, &mut p, &mut notes);
    let block_size = superblock.as_ref().map(|s| s.block_size);
    data::check_blocks(&sc, block_size, &mut p, &mut notes);
    let locks = data::check_sessions(&sc, opts.now, &mut p, &mut notes);
    notes.sort_by_key(|n| n.to_string());
    Ok(Report {
        problems: p,
        notes,
        inodes: (sc.inodes.len() + sc.damaged.len()) as u64,
        dirs,
        entries: sc.entries.len() as u64,
        orphans: sc.orphans.len() as u64,
        meta_items: sc.meta_items,
        blocks: sc.blocks.len() as u64,
        block_bytes: sc.block_bytes,
        sessions: sc.sessions,
        locks,
        superblock,
    })
}

/// Entries, link counts, names, parents, counters, paths to the root.
/// Returns the number of directory inodes.
fn check_namespace(sc: &Scan, p: &mut Vec<Problem>) -> u64 {
    let mut names: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    let mut per_dir: HashMap<u64, (i64, i64)> = HashMap::new();
    let mut per_shard: HashMap<(u64, u8), (i64, i64)> = HashMap::new();
    for e in &sc.entries {
        let sub = (e.kind == FileType::Directory) as i64;
        for c in [
            per_dir.entry(e.dir).or_default(),
            per_shard.entry((e.dir, e.shard)).or_default(),
        ] {
            c.0 += 1;
            c.1 += sub;
        }
        names
            .entry(e.ino)
            .or_default()
            .push((e.dir, e.name.clone()));
        let (dir, name, ino) = (e.dir, e.name.clone(), e.ino);
        if !sc.live_dir(dir) && !sc.damaged.contains(&dir) {
            p.push(Problem::EntryOutsideDirectory {
                dir,
                name: name.clone(),
            });
        }
        match sc.inodes.get(&ino) {
            None if !sc.known(ino) => p.push(Problem::DanglingEntry { dir, name, ino }),
            None => {}
            Some(i) if i.nlink == 0 => p.push(Problem::EntryToUnlinked { dir, name, ino }),
            Some(i) => match i.kind() {
                Some(k) if k != e.kind => p.push(Problem::EntryType {
                    dir,
                    name,
                    ino,
                    entry: e.kind,
                    inode: k,
                }),
                _ => {}
            },
        }
    }

    let mut inos: Vec<u64> = sc.inodes.keys().copied().collect();
    inos.sort_unstable();
    let mut dirs = 0;
    for (ino, i) in inos.iter().filter_map(|n| Some((*n, sc.inodes.get(n)?))) {
        let named = names.get(&ino).map(Vec::as_slice).unwrap_or(&[]);
        let orphan = sc.orphans.contains(&ino);
        let nlink = i.nlink;
        if named.is_empty() && ino != ROOT_INO && !orphan {
            p.push(Problem::Unreferenced { ino, nlink });
        }
        if orphan && nlink > 0 {
            p.push(Problem::OrphanLinked { ino, nlink });
        }
        if !i.is_dir() {
            if nlink != named.len() as u64 {
                let names = named.len() as u64;
                p.push(Problem::WrongNlink {
                    ino,
                    stored: nlink,
                    names,
                });
            }
            continue;
        }
        dirs += 1;
        if nlink == 0 {
            continue; // removed, awaiting collection; entries reported above
        }
        if named.len() != (ino != ROOT_INO) as usize {
            let names = named.to_vec();
            p.push(Problem::DirectoryNames { ino, names });
        }
        if let [(holder, _)] = named {
            if *holder != i.parent {
                let (parent, holder) = (i.parent, *holder);
                p.push(Problem::WrongParent {
                    ino,
                    parent,
                    holder,
                });
            }
        }
        let (mut ce, mut csd) = (0, 0);
        let mut off = Vec::new();
        for shard in 0..DIR_SHARDS {
            let found = per_shard.get(&(ino, shard)).copied().unwrap_or_default();
            match sc.counters.get(&ino).and_then(|c| c.get(&shard)) {
                Some(&(e, sd)) => {
                    (ce, csd) = (ce + e, csd + sd);
                    // Subdirectories count only in sum (the link count);
                    // an exchange of a file and a directory in one
                    // directory leaves them off per counter.
                    if e != found.0 {
                        off.push(shard);
                    }
                }
                None => p.push(Problem::MissingCounter { dir: ino, shard }),
            }
        }
        let (e, sd) = per_dir.get(&ino).copied().unwrap_or_default();
        if (ce, csd) != (e, sd) {
            let (entries, subdirs) = ((ce, e), (csd, sd));
            p.push(Problem::Counters {
                dir: ino,
                entries,
                subdirs,
            });
        } else if !off.is_empty() {
            // Right in sum, wrong per counter: rmdir's emptiness check
            // (every counter's entries zero) would refuse an empty directory.
            p.push(Problem::CounterShards {
                dir: ino,
                shards: off,
            });
        }
        // Connected and acyclic: parent pointers lead to the root.
        let mut seen = HashSet::new();
        let mut cur = ino;
        while cur != ROOT_INO {
            if !seen.insert(cur) || !sc.live_dir(cur) {
                p.push(Problem::Detached { ino, via: cur });
                break;
            }
            cur = sc.inodes.get(&cur).map_or(0, |i| i.parent);
        }
    }
    dirs
}

/// Each inode's extended-attribute count against its attribute items.
fn check_xattr_counts(sc: &Scan, p: &mut Vec<Problem>) {
    let mut items: HashMap<u64, u64> = HashMap::new();
    for (ino, key) in &sc.extra {
        if key.s.first() == Some(&XATTR_TAG) {
            *items.entry(*ino).or_default() += 1;
        }
    }
    let mut found: Vec<Problem> = sc
        .inodes
        .values()
        .filter_map(|i| {
            let have = items.get(&i.ino).copied().unwrap_or(0);
            (have != i.xattr_count).then_some(Problem::XattrCount {
                ino: i.ino,
                stored: i.xattr_count,
                items: have,
            })
        })
        .collect();
    found.sort_by_key(|p| p.to_string());
    p.extend(found);
}

/// Orphan records, and items no inode owns.
fn check_leftovers(sc: &Scan, p: &mut Vec<Problem>, notes: &mut Vec<Problem>) {
    for &ino in sc.orphans.iter().filter(|i| !sc.known(**i)) {
        notes.push(Problem::LeftoverOrphan { ino });
    }
    for (ino, key) in sc.extra.iter().filter(|(i, _)| !sc.known(*i)) {
        let ino = *ino;
        if sc.orphans.contains(&ino) {
            let key = key.to_string();
            notes.push(Problem::PartlyCollected { ino, key });
        } else if key.s == LOCKS_S {
            p.push(Problem::LockWithoutInode { ino });
        } else {
            let key = key.to_string();
            p.push(Problem::Stray { key });
        }
    }
}
