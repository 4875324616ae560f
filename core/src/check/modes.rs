//! Which is damaged when an inode's type and its names disagree: the mode,
//! or the entries? What the inode holds decides. A live directory always
//! has counters (and its entries live under it); only a regular file has
//! data blocks; a symbolic link has a target. When that agrees with the
//! names and not with the mode, the mode is what is wrong, and repairing
//! the entries to match it would turn a file into an empty directory (and
//! its blocks into garbage).

use std::collections::{HashMap, HashSet};

use super::{Problem, Scan};
use crate::inode::{FileType, S_IFMT};

/// Report inodes whose mode is contradicted by their names and contents,
/// and check them further as the type those say.
pub(super) fn check_modes(sc: &mut Scan, p: &mut Vec<Problem>) {
    let with_children: HashSet<u64> = sc.entries.iter().map(|e| e.dir).collect();
    let with_data: HashSet<(u64, u64)> = sc.blocks.iter().map(|b| (b.ino, b.generation)).collect();
    let mut said_of: HashMap<u64, Option<FileType>> = HashMap::new();
    for e in &sc.entries {
        // One type all names agree on, or none.
        let said = said_of.entry(e.ino).or_insert(Some(e.kind));
        if *said != Some(e.kind) {
            *said = None;
        }
    }
    let mut fixed = Vec::new();
    for (&ino, i) in &sc.inodes {
        let (Some(kind), Some(&Some(said))) = (i.kind(), said_of.get(&ino)) else {
            continue;
        };
        // A removed directory has lost its counters already.
        if said == kind || i.nlink == 0 {
            continue;
        }
        let dir_like = sc.counters.contains_key(&ino) || with_children.contains(&ino);
        let has_data = with_data.contains(&(ino, i.generation));
        let has_target = i.target.is_some();
        let actual = match (kind, said) {
            (_, FileType::Directory) => dir_like,
            (FileType::Directory, FileType::Symlink) => !dir_like && has_target,
            (FileType::Directory, _) => !dir_like,
            (FileType::Symlink, FileType::Regular) => !has_target,
            (FileType::Regular, FileType::Symlink) => has_target && !has_data,
            _ => false,
        };
        if actual {
            fixed.push((ino, i.mode, said));
        }
    }
    fixed.sort_unstable_by_key(|f| f.0);
    for (ino, mode, actual) in fixed {
        p.push(Problem::WrongMode { ino, mode, actual });
        if let Some(i) = sc.inodes.get_mut(&ino) {
            i.mode = actual.bits() | (mode & !S_IFMT);
        }
    }
}
