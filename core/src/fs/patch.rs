//! The bytes this client wrote into blocks that held other bytes too.
//!
//! A write into part of a block fills the rest from the copy this client
//! had, which may be older than another client's flush: stored whole, the
//! block would put back the old bytes over the other client's (and zeros
//! where the other client had extended the block). So each such block
//! keeps the ranges written here, and the flush lays them over the block
//! as the store holds it then (one batch read). Blocks written whole, and
//! blocks that held nothing, need none of this.

use std::collections::HashMap;

/// Ranges kept per block before they are joined into one: past this, the
/// bytes between them are taken as written here too.
const MAX_RANGES: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Patches {
    by_block: HashMap<u64, Vec<(usize, usize)>>,
}

impl Patches {
    pub fn is_empty(&self) -> bool {
        self.by_block.is_empty()
    }

    pub fn clear(&mut self) {
        self.by_block.clear();
    }

    pub fn blocks(&self) -> Vec<u64> {
        self.by_block.keys().copied().collect()
    }

    pub fn contains(&self, block: u64) -> bool {
        self.by_block.contains_key(&block)
    }

    pub fn forget(&mut self, block: u64) {
        self.by_block.remove(&block);
    }

    /// Bytes `from..to` of `block` were written here. `base` is how many
    /// bytes of other writers the block's copy held when it was read for
    /// this write (0 for a block already buffered here: counted then). A
    /// write over all of them leaves nothing to merge.
    pub fn wrote(&mut self, block: u64, from: usize, to: usize, base: usize) {
        let tracked = self.by_block.contains_key(&block);
        if !tracked && (base == 0 || (from == 0 && to >= base)) {
            return;
        }
        let ranges = self.by_block.entry(block).or_default();
        ranges.push((from, to));
        ranges.sort_unstable();
        let mut joined: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges.iter() {
            match joined.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => joined.push((a, b)),
            }
        }
        if joined.len() > MAX_RANGES {
            let (lo, hi) = (joined[0].0, joined[joined.len() - 1].1);
            joined = vec![(lo, hi)];
        }
        if joined.first().is_some_and(|&(a, b)| a == 0 && b >= base) && joined.len() == 1 {
            self.by_block.remove(&block);
        } else {
            *ranges = joined;
        }
    }

    /// `block` as it must be stored: what the store holds now (`fresh`),
    /// with the bytes written here (from `ours`) laid over it.
    pub fn merge(&self, block: u64, fresh: &[u8], ours: &[u8]) -> Vec<u8> {
        let Some(ranges) = self.by_block.get(&block) else {
            return ours.to_vec();
        };
        let mut out = fresh.to_vec();
        for &(a, b) in ranges {
            let b = b.min(ours.len());
            if a >= b {
                continue;
            }
            if out.len() < b {
                out.resize(b, 0);
            }
            out[a..b].copy_from_slice(&ours[a..b]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_blocks_with_other_bytes_are_kept() {
        let mut p = Patches::default();
        p.wrote(0, 0, 100, 0);
        assert!(p.is_empty(), "nothing else was there");
        p.wrote(1, 0, 4096, 4000);
        assert!(p.is_empty(), "all of it written here");
        p.wrote(2, 10, 20, 4000);
        assert_eq!(p.blocks(), vec![2]);
        p.wrote(2, 0, 4000, 4000);
        assert!(p.is_empty(), "a later write covered the rest");
    }

    #[test]
    fn merge_lays_our_bytes_over_the_stored_block() {
        let mut p = Patches::default();
        p.wrote(0, 2, 4, 8);
        p.wrote(0, 3, 6, 8);
        let ours = b"..abcd..".to_vec();
        // Another client rewrote the block and extended it.
        let fresh = b"XXXXXXXXYY".to_vec();
        assert_eq!(p.merge(0, &fresh, &ours), b"XXabcdXXYY".to_vec());
        // Or cut it short: the bytes written here still land.
        assert_eq!(p.merge(0, b"X", &ours), b"X\0abcd".to_vec());
    }

    #[test]
    fn many_ranges_join() {
        let mut p = Patches::default();
        for i in 0..100 {
            p.wrote(0, i * 10, i * 10 + 1, 5000);
        }
        let ranges = &p.by_block[&0];
        assert!(ranges.len() <= MAX_RANGES, "{} ranges", ranges.len());
        for i in 0..100 {
            assert!(
                ranges.iter().any(|&(a, b)| a <= i * 10 && i * 10 < b),
                "write {i} still merged"
            );
        }
    }
}
