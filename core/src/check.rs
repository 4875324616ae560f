//! The invariant checker: the seed of `fsck`. It scans the metadata table
//! (fsck may scan; no normal operation does) and reports every item or
//! relation that breaks the file system's invariants, without changing
//! anything. Damaged items become [`Problem`]s, never panics.
//!
//! Run it on a quiet file system: a namespace change or an orphan
//! collection in flight while the table is scanned can look like damage.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crate::error::FsError;
use crate::inode::{FileType, Inode, S_IFMT};
use crate::schema::{
    counter, COUNTER_TAG, DIR_SHARDS, DIR_TAG, INODE_ATTRS_S, INODE_TAG, ROOT_INO, SUPERBLOCK_P,
    SUPERBLOCK_S,
};
use crate::store::{show_bytes, Attrs, Key, Store, Table, Value};
use crate::superblock::Superblock;

// Layouts owned by `fs` (entry.rs, orphan.rs), private to it: repeated here.
const ENTRY_INO: &str = "i";
const ENTRY_TYPE: &str = "t";
const ORPHAN_TAG: u8 = b'o';
const ORPHAN_SHARDS: u64 = 16;

/// One broken invariant (or, in [`Report::notes`], a harmless leftover).
/// Inodes are numbers, entries `DIR/NAME` (directory inode, name).
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
    /// A non-directory whose stored link count is not its number of names.
    WrongNlink { ino: u64, stored: u64, names: u64 },
    /// A live directory named by no entry or by several.
    DirectoryNames { ino: u64, names: Vec<(u64, String)> },
    /// A directory whose parent pointer is not the directory holding it.
    WrongParent { ino: u64, parent: u64, holder: u64 },
    MissingCounter { dir: u64, shard: u8 },
    /// A directory whose counters disagree with its entries: `entries` and
    /// `subdirs` are each (sum of the counters, number found).
    Counters { dir: u64, entries: (i64, i64), subdirs: (i64, i64) },
    /// A directory whose parent pointers do not lead to the root (a cycle,
    /// or a missing or removed ancestor `via`).
    Detached { ino: u64, via: u64 },
    /// An inode no entry names, without an orphan record: leaked.
    Unreferenced { ino: u64, nlink: u64 },
    /// An orphan record naming an inode that still has links.
    OrphanLinked { ino: u64, nlink: u64 },
    /// An item in an inode partition with no inode and no orphan record.
    Stray { key: String },
    /// Note: an orphan record whose inode is already gone.
    LeftoverOrphan { ino: u64 },
    /// Note: an item of an orphan whose collection stopped half way.
    PartlyCollected { ino: u64, key: String },
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
            WrongNlink { ino, stored, names } =>
                write!(f, "inode {ino} has link count {stored}, but entries name it {names} times"),
            DirectoryNames { ino, names } => {
                let all: Vec<String> = names.iter().map(|(d, n)| format!("{d}/{n}")).collect();
                write!(f, "directory {ino} is named by {} entries, not one: [{}]", names.len(), all.join(", "))
            }
            WrongParent { ino, parent, holder } =>
                write!(f, "directory {ino} has parent pointer {parent}, but directory {holder} holds it"),
            MissingCounter { dir, shard } => write!(f, "directory {dir}: counter {shard} is missing"),
            Counters { dir, entries: (ce, e), subdirs: (csd, sd) } => write!(f,
                "directory {dir}: counters say {ce} entries, {csd} subdirectories; it has {e} and {sd}"),
            Detached { ino, via } =>
                write!(f, "directory {ino} does not reach the root by parent pointers (stuck at {via})"),
            Unreferenced { ino, nlink } =>
                write!(f, "inode {ino} (link count {nlink}) has no name and no orphan record: leaked"),
            OrphanLinked { ino, nlink } =>
                write!(f, "orphan record for inode {ino}, which still has link count {nlink}"),
            Stray { key } => write!(f, "item {key} belongs to no inode and no orphan"),
            LeftoverOrphan { ino } => write!(f, "orphan record for inode {ino}, which is already gone"),
            PartlyCollected { ino, key } => write!(f, "orphan {ino}: item {key} is not collected yet"),
        }
    }
}

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
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Ent {
    dir: u64,
    name: String,
    ino: u64,
    kind: FileType,
}

/// Everything the scan collected.
#[derive(Default)]
struct Scan {
    superblock: Option<Attrs>,
    inodes: HashMap<u64, Inode>,
    /// Inodes whose attribute item is damaged (reported already).
    damaged: HashSet<u64>,
    /// Per directory: (entries, subdirs) of each counter present.
    counters: HashMap<u64, BTreeMap<u8, (i64, i64)>>,
    entries: Vec<Ent>,
    orphans: HashSet<u64>,
    /// Other items in inode partitions (counters, locks, xattrs...).
    extra: Vec<(u64, Key)>,
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

fn decode_entry(a: &Attrs) -> Result<(u64, FileType), String> {
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
    /// Sort one item into its place; damaged ones are reported.
    fn add(&mut self, key: Key, attrs: Attrs, out: &mut Vec<Problem>) {
        let damaged = |why: &str| Problem::Damaged {
            key: key.to_string(),
            why: why.to_string(),
        };
        if key.p == SUPERBLOCK_P && key.s == SUPERBLOCK_S {
            self.superblock = Some(attrs);
            return;
        }
        let tag = key.p.first().copied();
        if tag != Some(INODE_TAG) && tag != Some(DIR_TAG) && tag != Some(ORPHAN_TAG) {
            return; // sessions, and whatever else other layers keep
        }
        if tag == Some(ORPHAN_TAG) {
            let ino = <[u8; 8]>::try_from(key.s.as_slice()).map(u64::from_be_bytes);
            match ino {
                Ok(i) if key.p == [ORPHAN_TAG, (i % ORPHAN_SHARDS) as u8] => {
                    self.orphans.insert(i);
                }
                _ => out.push(damaged("not an orphan record key")),
            }
            return;
        }
        let Some(ino) = ino_of(&key.p) else {
            return out.push(damaged("partition key is not a tag and an inode number"));
        };
        if tag == Some(DIR_TAG) {
            match decode_entry(&attrs) {
                Ok((i, kind)) => self.entries.push(Ent {
                    dir: ino,
                    name: show_bytes(&key.s),
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

/// Check every invariant of the metadata table. Errors only when the store
/// cannot be read; everything found is in the [`Report`].
pub async fn check(store: &dyn Store) -> Result<Report, FsError> {
    let mut p = Vec::new();
    let mut sc = Scan::default();
    let mut start: Option<Key> = None;
    loop {
        let page = store.scan(Table::Meta, start.as_ref(), 1000).await?;
        for it in page.items {
            sc.add(it.key, it.attrs, &mut p);
        }
        match page.next {
            Some(n) => start = Some(n),
            None => break,
        }
    }
    match &sc.superblock {
        None => p.push(Problem::Superblock {
            why: "missing: not a dynamofs table".into(),
        }),
        Some(a) => {
            if let Err(e) = Superblock::from_attrs(&store.table_name(Table::Meta), a) {
                p.push(Problem::Superblock { why: e.to_string() });
            }
        }
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

    // Entries: where they are and what they name.
    let mut names: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    let mut per_dir: HashMap<u64, (i64, i64)> = HashMap::new();
    for e in &sc.entries {
        let c = per_dir.entry(e.dir).or_default();
        c.0 += 1;
        c.1 += (e.kind == FileType::Directory) as i64;
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

    // Inodes: link counts, names, parents, counters, paths to the root.
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
        for shard in 0..DIR_SHARDS {
            match sc.counters.get(&ino).and_then(|c| c.get(&shard)) {
                Some((e, sd)) => (ce, csd) = (ce + e, csd + sd),
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

    // Orphan records, and items no inode owns.
    let mut notes = Vec::new();
    for &ino in sc.orphans.iter().filter(|i| !sc.known(**i)) {
        notes.push(Problem::LeftoverOrphan { ino });
    }
    for (ino, key) in sc.extra.iter().filter(|(i, _)| !sc.known(*i)) {
        let key = key.to_string();
        if sc.orphans.contains(ino) {
            notes.push(Problem::PartlyCollected { ino: *ino, key });
        } else {
            p.push(Problem::Stray { key });
        }
    }
    notes.sort_by_key(|n| n.to_string());
    Ok(Report {
        problems: p,
        notes,
        inodes: (sc.inodes.len() + sc.damaged.len()) as u64,
        dirs,
        entries: sc.entries.len() as u64,
        orphans: sc.orphans.len() as u64,
    })
}
