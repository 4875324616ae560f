//! Names: the paths of inodes (by a scan of every entry), and keys and
//! names as the checker prints them, parsed back for the repairs.

use std::collections::{HashMap, HashSet};

use super::{decode_entry, ino_of, scan_table, Options, Scan};
use crate::error::FsError;
use crate::inode::FileType;
use crate::schema::{DIR_TAG, ROOT_INO};
#[cfg(test)]
use crate::store::show_bytes;
use crate::store::{Key, Store, Table};

/// Paths of the given inodes: `/`-separated names from the root, found by
/// a scan of every directory entry (files have no parent pointer). An
/// inode named several times gets one of its names; one named nowhere, or
/// under a directory that does not reach the root, gets none.
pub async fn paths(
    store: &dyn Store,
    inos: &HashSet<u64>,
    progress: &(dyn Fn(Table, u64) + Send + Sync),
) -> Result<HashMap<u64, Vec<u8>>, FsError> {
    let opts = Options { now: 0, progress };
    // Where each wanted inode, and every directory, is named.
    let mut up: HashMap<u64, (u64, Vec<u8>)> = HashMap::new();
    scan_table(store, Table::Meta, &opts, |it| {
        let Ok(it) = it else {
            return; // the check reports it
        };
        if it.key.p.first() != Some(&DIR_TAG) {
            return;
        }
        let (Some(dir), Ok((ino, kind))) = (ino_of(&it.key.p), decode_entry(&it.attrs)) else {
            return;
        };
        if kind == FileType::Directory || inos.contains(&ino) {
            up.entry(ino).or_insert((dir, it.key.s));
        }
    })
    .await?;
    let mut out = HashMap::new();
    for &ino in inos {
        if let Some(names) = walk_up(&up, ino) {
            let mut path = Vec::new();
            for n in names {
                path.push(b'/');
                path.extend_from_slice(n);
            }
            if path.is_empty() {
                path.push(b'/');
            }
            out.insert(ino, path);
        }
    }
    Ok(out)
}

/// The names from the root down to `ino`, given where each inode is named
/// (`up`: inode -> (directory, name)); `None` when they do not reach the
/// root.
fn walk_up<T>(up: &HashMap<u64, (u64, T)>, ino: u64) -> Option<Vec<&T>> {
    let mut names = Vec::new();
    let mut cur = ino;
    while cur != ROOT_INO {
        if names.len() > up.len() {
            return None; // a cycle
        }
        let (dir, name) = up.get(&cur)?;
        names.push(name);
        cur = *dir;
    }
    names.reverse();
    Some(names)
}

/// Paths of inodes from the entries a check scanned, for its messages:
/// built at the first question (only damage asks).
#[derive(Default)]
pub(super) struct Paths {
    up: Option<HashMap<u64, (u64, String)>>,
}

impl Paths {
    /// One path of `ino` (names as shown), if its names reach the root.
    pub(super) fn get(&mut self, sc: &Scan, ino: u64) -> Option<String> {
        let up = self.up.get_or_insert_with(|| {
            let mut up = HashMap::new();
            for e in &sc.entries {
                up.entry(e.ino).or_insert((e.dir, e.name.clone()));
            }
            up
        });
        let names: Vec<&str> = walk_up(up, ino)?.into_iter().map(String::as_str).collect();
        Some(format!("/{}", names.join("/")))
    }
}

/// The bytes [`crate::store::show_bytes`] printed: its inverse.
pub fn parse_shown(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let hex = std::str::from_utf8(b.get(i + 2..i + 4)?).ok()?;
            if b.get(i + 1) != Some(&b'x') {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// A key as [`Key`]'s Display printed it (`P/S`), given the length of its
/// partition key (a `/` may be part of either).
pub fn parse_shown_key(s: &str, p_len: usize) -> Option<Key> {
    let b = parse_shown(s)?;
    if b.get(p_len) != Some(&b'/') {
        return None;
    }
    Some(Key::new(&b[..p_len], &b[p_len + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_bytes_parse_back() {
        for b in [&b"plain"[..], b"a/b\\c", &[0, 1, 0xff, b'x', b'\\'], b""] {
            assert_eq!(parse_shown(&show_bytes(b)).as_deref(), Some(b));
        }
        let k = Key::new(vec![b'i', 0, 0, 0, 0, 0, 0, 0x2f, 0x5c], b"c/\x01".to_vec());
        assert_eq!(parse_shown_key(&k.to_string(), 9), Some(k));
        assert_eq!(parse_shown("\\x4"), None);
    }
}
