//! Metadata items the store cannot decode at all (a SQLite value that is
//! not postcard, a DynamoDB attribute of a type dynamofs never writes):
//! each is a finding of its own, and its key still says what it stood for.

use super::{ino_of, Problem, Scan};
use crate::locks::LOCKS_S;
use crate::schema::{INODE_ATTRS_S, INODE_TAG, SUPERBLOCK_P, SUPERBLOCK_S};
use crate::store::damaged::Undecodable;

impl Scan {
    pub(super) fn add_undecodable(&mut self, u: Undecodable, out: &mut Vec<Problem>) {
        self.meta_items += 1;
        let why = format!("the store cannot decode it: {}", u.why);
        let key = u.key;
        if key.p == SUPERBLOCK_P && key.s == SUPERBLOCK_S {
            self.superblock_damaged = Some(why);
            return;
        }
        let ino = ino_of(&key.p).filter(|_| key.p.first() == Some(&INODE_TAG));
        match ino {
            // The inode exists, damaged: its names and blocks are not
            // dangling, and nothing of it is garbage.
            Some(ino) if key.s == INODE_ATTRS_S => {
                self.damaged.insert(ino);
                out.push(Problem::BadInode { ino, why });
            }
            Some(ino) if key.s == LOCKS_S => out.push(Problem::DamagedLocks { ino, why }),
            Some(ino) => {
                out.push(Problem::Damaged {
                    key: key.to_string(),
                    why,
                });
                self.extra.push((ino, key));
            }
            None => out.push(Problem::Damaged {
                key: key.to_string(),
                why,
            }),
        }
    }
}
