//! The checks beyond the namespace: data blocks and their generations,
//! sessions and locks.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Block, Problem, Scan};
use crate::inode::FileType;
use crate::locks::{attr as lock_attr, LockRecord};
use crate::store::{item_size, Attrs, Item, Key, Value};

pub(crate) use crate::fs::layout::{block_key, dead_generation_key, GENERATION_TAG};
use crate::fs::layout::{BLOCK_LENGTH, BLOCK_S, BLOCK_TAG, GENERATION_BLOCKS, ORPHAN_SHARDS};
/// Format byte in front of a lock item's postcard-encoded records.
const LOCK_RECORDS_FORMAT: u8 = 1;

fn be(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
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
    pub(super) fn add_block(&mut self, it: Item, out: &mut Vec<Problem>) {
        self.block_bytes += item_size(&it.key, &it.attrs) as u64;
        let p = &it.key.p;
        let parts = (p.len() == 25 && p[0] == BLOCK_TAG && it.key.s == BLOCK_S)
            .then(|| Some((be(&p[1..9])?, be(&p[9..17])?, be(&p[17..25])?)))
            .flatten();
        let Some((ino, generation, index)) = parts else {
            return out.push(Problem::Damaged {
                key: format!("{} (data table)", it.key),
                why: "not a data block key".into(),
            });
        };
        let len = it.attrs.get(BLOCK_LENGTH).and_then(Value::as_n);
        self.blocks.push(Block {
            ino,
            generation,
            index,
            len: len.and_then(|n| u64::try_from(n).ok()),
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
        if generation != i.generation {
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
            if index >= size.div_ceil(bs) {
                p.push(Problem::BlockPastSize {
                    ino,
                    generation,
                    index,
                    size,
                });
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
