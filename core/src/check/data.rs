//! The checks beyond the namespace: data blocks and their generations,
//! sessions and locks.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Block, Problem, Scan};
use crate::inode::FileType;
use crate::locks::{attr as lock_attr, LockRecord};
use crate::store::damaged::Undecodable;
use crate::store::{item_size, Attrs, Item, Key, Value};

pub(crate) use crate::fs::layout::{block_key, dead_generation_key, GENERATION_TAG};
use crate::fs::layout::{
    unpack, BLOCK_LENGTH, BLOCK_S, BLOCK_TAG, GENERATION_BLOCKS, ORPHAN_SHARDS,
};
/// Format byte in front of a lock item's postcard-encoded records.
const LOCK_RECORDS_FORMAT: u8 = 1;

/// Larger than any block size mkfs allows: the bound for decoding blocks
/// when the superblock is unreadable.
const MAX_BLOCK_SIZE: u32 = 1 << 20;

fn be(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// (inode, generation, index) of a data block key.
fn block_parts(key: &Key) -> Option<(u64, u64, u64)> {
    let p = &key.p;
    if p.len() != 25 || p[0] != BLOCK_TAG || key.s != BLOCK_S {
        return None;
    }
    Some((be(&p[1..9])?, be(&p[9..17])?, be(&p[17..25])?))
}

fn not_a_block(key: &Key) -> Problem {
    Problem::Damaged {
        key: format!("{key} (data table)"),
        why: "not a data block key".into(),
    }
}

/// A lock item's records.
pub(super) fn decode_locks(a: &Attrs) -> Result<Vec<LockRecord>, String> {
    if a.get(lock_attr::VERSION).and_then(Value::as_n).is_none() {
        return Err(format!("no version `{}`", lock_attr::VERSION));
    }
    let blob = a.get(lock_attr::RECORDS).and_then(Value::as_b);
    match blob.and_then(|b| b.split_first()) {
        Some((&LOCK_RECORDS_FORMAT, body)) => {
            postcard::from_bytes(body).map_err(|e| format!("records do not decode: {e}"))
        }
        Some((f, _)) => Err(format!("unknown records format {f}")),
        None => Err(format!("no records `{}`", lock_attr::RECORDS)),
    }
}

impl Scan {
    /// A data block; its bytes are decoded and checked against their
    /// checksum (`block_size`: the file system's, when known).
    pub(super) fn add_block(&mut self, it: Item, block_size: Option<u32>, out: &mut Vec<Problem>) {
        self.block_bytes += item_size(&it.key, &it.attrs) as u64;
        let Some((ino, generation, index)) = block_parts(&it.key) else {
            return out.push(not_a_block(&it.key));
        };
        let len = it.attrs.get(BLOCK_LENGTH).and_then(Value::as_n);
        // The scan has the bytes already: checking them costs no request.
        let bad = unpack(&it, block_size.unwrap_or(MAX_BLOCK_SIZE)).err();
        self.blocks.push(Block {
            ino,
            generation,
            index,
            len: len.and_then(|n| u64::try_from(n).ok()),
            bad,
        });
    }

    /// A data block the store cannot decode: its bytes are lost.
    pub(super) fn add_undecodable_block(&mut self, u: Undecodable, out: &mut Vec<Problem>) {
        let Some((ino, generation, index)) = block_parts(&u.key) else {
            return out.push(not_a_block(&u.key));
        };
        self.blocks.push(Block {
            ino,
            generation,
            index,
            len: None,
            bad: Some(format!("the store cannot decode it: {}", u.why)),
        });
    }

    pub(super) fn add_generation(&mut self, key: &Key, attrs: &Attrs, out: &mut Vec<Problem>) {
        let ino = key.s.get(..8).and_then(be);
        let generation = key.s.get(8..).and_then(be);
        match (ino, generation) {
            (Some(ino), Some(g))
                if key.p == [GENERATION_TAG, (ino % ORPHAN_SHARDS as u64) as u8] =>
            {
                let n = attrs.get(GENERATION_BLOCKS).and_then(Value::as_n);
                let blocks = n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
                self.dead_generations.insert((ino, g), blocks);
            }
            _ => out.push(Problem::Damaged {
                key: key.to_string(),
                why: "not a dead-generation record key".into(),
            }),
        }
    }
}

/// Every block belongs to a live generation of a regular file, within its
/// size; dead generations are collected.
pub(super) fn check_blocks(
    sc: &Scan,
    block_size: Option<u32>,
    p: &mut Vec<Problem>,
    notes: &mut Vec<Problem>,
) {
    for (&(ino, generation), &blocks) in &sc.dead_generations {
        notes.push(Problem::PendingGeneration {
            ino,
            generation,
            blocks,
        });
    }
    let mut paths = super::names::Paths::default();
    // Files with data at their own generation: for the others, blocks of
    // an older one may be their data under a damaged generation number.
    let current: HashSet<u64> = sc
        .blocks
        .iter()
        .filter(|b| {
            sc.inodes
                .get(&b.ino)
                .is_some_and(|i| i.generation == b.generation)
        })
        .map(|b| b.ino)
        .collect();
    let mut suspect: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for b in &sc.blocks {
        let (ino, generation, index) = (b.ino, b.generation, b.index);
        if sc.dead_generations.contains_key(&(ino, generation)) {
            continue; // collected with its generation
        }
        let Some(i) = sc.inodes.get(&ino) else {
            if sc.orphans.contains(&ino) {
                notes.push(Problem::OrphanBlock {
                    ino,
                    generation,
                    index,
                });
            } else if !sc.damaged.contains(&ino) {
                p.push(Problem::BlockWithoutInode {
                    ino,
                    generation,
                    index,
                });
            }
            continue;
        };
        if generation < i.generation && i.size > 0 && !current.contains(&ino) {
            *suspect.entry((ino, generation)).or_default() += 1;
        } else if generation != i.generation {
            let current = i.generation;
            p.push(Problem::DeadGenerationBlock {
                ino,
                generation,
                index,
                current,
            });
        } else if i.kind() != Some(FileType::Regular) {
            p.push(Problem::BlockOfNonFile {
                ino,
                generation,
                index,
            });
        } else if let Some(bs) = block_size.map(u64::from) {
            let size = i.size;
            if let Some(why) = b.bad.as_ref().filter(|_| index < size.div_ceil(bs)) {
                p.push(Problem::BadBlock {
                    ino,
                    path: paths.get(sc, ino),
                    index,
                    offset: index * bs,
                    why: why.clone(),
                });
            }
            if index >= size.div_ceil(bs) {
                p.push(Problem::BlockPastSize {
                    ino,
                    generation,
                    index,
                    size,
                });
            } else if i.holes.contains(index) {
                p.push(Problem::BlockInHole { ino, index });
            } else if let Some(len) = b.len.filter(|l| index * bs + l > size) {
                p.push(Problem::BlockTail {
                    ino,
                    index,
                    size,
                    len,
                });
            }
        }
    }
    for ((ino, generation), blocks) in suspect {
        let (current, size) = sc
            .inodes
            .get(&ino)
            .map_or((0, 0), |i| (i.generation, i.size));
        p.push(Problem::SuspectGeneration {
            ino,
            generation,
            current,
            blocks,
            size,
        });
    }
}

/// Expired sessions and what they still hold; locks of gone sessions.
/// Returns the number of lock records held.
pub(super) fn check_sessions(
    sc: &Scan,
    now: i64,
    p: &mut Vec<Problem>,
    notes: &mut Vec<Problem>,
) -> u64 {
    let mut held: HashMap<&str, u64> = HashMap::new();
    let mut per_inode: BTreeMap<(u64, &str), u64> = BTreeMap::new();
    let mut total = 0;
    for (ino, records) in &sc.locks {
        for r in records {
            *held.entry(&r.session).or_default() += 1;
            *per_inode.entry((*ino, &r.session)).or_default() += 1;
            total += 1;
        }
    }
    let known: HashSet<&str> = sc.sessions.iter().map(|s| s.id.as_str()).collect();
    for s in sc.sessions.iter().filter(|s| s.is_expired(now)) {
        let locks = held.get(s.id.as_str()).copied().unwrap_or(0);
        let e = Problem::ExpiredSession {
            id: s.id.clone(),
            host: s.host.clone(),
            pid: s.pid,
            locks,
        };
        if locks > 0 {
            p.push(e);
        } else {
            notes.push(e);
        }
    }
    for (&(ino, session), &locks) in &per_inode {
        if !known.contains(session) {
            let session = session.to_string();
            p.push(Problem::LockOfGoneSession {
                ino,
                session,
                locks,
            });
        }
    }
    for (session, ino) in &sc.index {
        if !known.contains(session.as_str()) && !per_inode.contains_key(&(*ino, session.as_str())) {
            let (session, ino) = (session.clone(), *ino);
            notes.push(Problem::StaleLockIndex { session, ino });
        }
    }
    total
}
