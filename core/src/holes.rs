//! The hole map of a sparse file: which of its blocks are not stored.
//!
//! Blocks are items of their own partition (one key per block), so the
//! store cannot list what a file has without reading every block. The
//! operations that make holes know it as they make them (a write past the
//! end, a truncate that extends, a punched hole), and the ones that fill
//! them know which blocks they store: each records that in the inode item,
//! in the request that changes the size anyway. So st_blocks and
//! SEEK_DATA/SEEK_HOLE cost no request of their own, and a file without
//! holes (nearly all) has no map at all.
//!
//! The map errs one way only: a block it lists is never one that a
//! completed write stored. A hole it does not list is harmless (it is
//! reported as data, which reads as zeros), so when the map would grow past
//! [`MAX_RANGES`] the smallest holes are forgotten.

use crate::store::{Change, Cond, Value};

const ATTR: &str = crate::schema::attr::HOLES;

/// At most this many ranges are kept: a map is read with its inode by
/// every getattr, so it stays a few kilobytes.
pub const MAX_RANGES: usize = 1024;

const FORMAT: u8 = 1;

/// Ranges of block indices `[start, end)` that are not stored: sorted,
/// disjoint and never adjacent (adjacent ranges are one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holes {
    ranges: Vec<(u64, u64)>,
    /// The attribute as the store holds it (None: absent). Changes are
    /// conditioned on these bytes, whatever encoding or damage they have,
    /// so a map written by another version never blocks a writer.
    stored: Option<Value>,
}

impl Holes {
    /// The map the inode item holds. An undecodable one counts as no
    /// holes (everything is data: the safe side) until a change rewrites it.
    pub fn from_attr(v: Option<&Value>) -> Holes {
        let Some(v) = v else {
            return Holes::default();
        };
        let decoded = match v {
            Value::B(b) => decode(b),
            _ => Err("not binary".into()),
        };
        let ranges = decoded.unwrap_or_else(|why| {
            tracing::warn!("hole map undecodable ({why}): its file counts as all data");
            Vec::new()
        });
        Holes {
            ranges,
            stored: Some(v.clone()),
        }
    }

    /// The attribute to store, None when there are no holes (or only a
    /// damaged map was read, kept as it was).
    pub fn stored(&self) -> Option<&Value> {
        self.stored.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// The condition that the store still holds the map this was read as.
    pub fn unchanged(&self) -> Cond {
        match &self.stored {
            None => Cond::HasNot(ATTR.into()),
            Some(v) => Cond::eq(ATTR, v.clone()),
        }
    }

    /// The change that stores `self` as the new map, when it differs from
    /// what was read.
    pub fn change_from(&self, read: &Holes) -> Option<Change> {
        if self.stored == read.stored {
            return None;
        }
        Some(match &self.stored {
            None => Change::remove(ATTR),
            Some(v) => Change::set(ATTR, v.clone()),
        })
    }

    /// Whether block `index` is listed as a hole.
    pub fn contains(&self, index: u64) -> bool {
        self.find(index).is_some()
    }

    /// Blocks `start..end` are holes now.
    pub fn add(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        let (mut s, mut e) = (start, end);
        let mut placed = false;
        for &(a, b) in &self.ranges {
            if b < s {
                out.push((a, b));
            } else if a > e {
                if !placed {
                    out.push((s, e));
                    placed = true;
                }
                out.push((a, b));
            } else {
                // Overlapping or adjacent: one range.
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            out.push((s, e));
        }
        self.ranges = out;
        self.cap();
        self.restamp();
    }

    /// Blocks `start..end` are stored now.
    pub fn fill(&mut self, start: u64, end: u64) {
        if start >= end || self.ranges.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        for &(a, b) in &self.ranges {
            if b <= start || a >= end {
                out.push((a, b));
                continue;
            }
            if a < start {
                out.push((a, start));
            }
            if b > end {
                out.push((end, b));
            }
        }
        if out != self.ranges {
            self.ranges = out;
            self.restamp();
        }
    }

    /// The blocks in `indices` (ascending) are stored now.
    pub fn fill_each(&mut self, indices: impl IntoIterator<Item = u64>) {
        // Nearly every flush is of a file without holes.
        if self.ranges.is_empty() {
            return;
        }
        for (s, e) in runs(indices) {
            self.fill(s, e);
        }
    }

    /// The map after a flush that stores the blocks `written` (ascending)
    /// and takes the size from `stored_size` to `size`: what it stores is
    /// data, and the blocks between the two sizes that it does not store
    /// are holes. Also says whether it made holes: those are holes only if
    /// the store still has `stored_size`.
    pub fn after_flush(
        &self,
        stored_size: u64,
        size: u64,
        block_size: u64,
        written: &[u64],
    ) -> (Holes, bool) {
        let mut next = self.clone();
        next.fill_each(written.iter().copied());
        let (lo, hi) = (stored_size.div_ceil(block_size), size.div_ceil(block_size));
        let mut made = false;
        if hi > lo {
            let mut at = lo;
            for &i in written.iter().filter(|&&i| i >= lo && i < hi) {
                if i > at {
                    next.add(at, i);
                    made = true;
                }
                at = i + 1;
            }
            if hi > at {
                next.add(at, hi);
                made = true;
            }
        }
        (next, made)
    }

    /// Bytes of a file of `size` that are stored (or written), holes left
    /// out: what st_blocks counts.
    pub fn stored_bytes(&self, size: u64, block_size: u64) -> u64 {
        let hole: u64 = self
            .ranges
            .iter()
            .map(|&(a, b)| {
                let from = a.saturating_mul(block_size).min(size);
                let to = b.saturating_mul(block_size).min(size);
                to - from
            })
            .sum();
        size - hole.min(size)
    }

    /// SEEK_DATA: the first offset at or after `offset` that is data, or
    /// None (ENXIO) when there is none before `size`.
    pub fn seek_data(&self, offset: u64, size: u64, block_size: u64) -> Option<u64> {
        if offset >= size {
            return None;
        }
        match self.find(offset / block_size) {
            None => Some(offset),
            Some(&(_, end)) => {
                let at = end.saturating_mul(block_size);
                (at < size).then_some(at)
            }
        }
    }

    /// SEEK_HOLE: the first offset at or after `offset` in a hole, the end
    /// of file counting as one; None (ENXIO) past the end.
    pub fn seek_hole(&self, offset: u64, size: u64, block_size: u64) -> Option<u64> {
        if offset >= size {
            return None;
        }
        let index = offset / block_size;
        if self.find(index).is_some() {
            return Some(offset);
        }
        let next = self
            .ranges
            .iter()
            .find(|&&(a, _)| a > index)
            .map_or(size, |&(a, _)| a.saturating_mul(block_size).min(size));
        Some(next)
    }

    fn find(&self, index: u64) -> Option<&(u64, u64)> {
        let i = self.ranges.partition_point(|&(_, b)| b <= index);
        self.ranges.get(i).filter(|&&(a, _)| a <= index)
    }

    /// Forget the smallest holes beyond the limit: they count as data.
    fn cap(&mut self) {
        if self.ranges.len() <= MAX_RANGES {
            return;
        }
        let mut by_len: Vec<usize> = (0..self.ranges.len()).collect();
        by_len.sort_by_key(|&i| std::cmp::Reverse(self.ranges[i].1 - self.ranges[i].0));
        by_len.truncate(MAX_RANGES);
        by_len.sort_unstable();
        self.ranges = by_len.into_iter().map(|i| self.ranges[i]).collect();
    }

    fn restamp(&mut self) {
        self.stored = (!self.ranges.is_empty()).then(|| Value::B(encode(&self.ranges)));
    }
}

/// Ascending indices as runs `[start, end)`.
pub fn runs(indices: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for i in indices {
        match out.last_mut() {
            Some((_, e)) if *e == i => *e = i + 1,
            _ => out.push((i, i + 1)),
        }
    }
    out
}

fn encode(ranges: &[(u64, u64)]) -> Vec<u8> {
    let mut out = vec![FORMAT];
    // Starts and lengths as gaps from the previous range: small numbers,
    // one or two bytes each as postcard's varints.
    let mut prev = 0;
    let deltas: Vec<(u64, u64)> = ranges
        .iter()
        .map(|&(a, b)| {
            let d = (a - prev, b - a);
            prev = b;
            d
        })
        .collect();
    if let Ok(body) = postcard::to_allocvec(&deltas) {
        out.extend(body);
    }
    out
}

fn decode(b: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let (&format, body) = b.split_first().ok_or("empty")?;
    if format != FORMAT {
        return Err(format!("unknown format {format}"));
    }
    let deltas: Vec<(u64, u64)> = postcard::from_bytes(body).map_err(|e| e.to_string())?;
    let mut prev = 0u64;
    let mut out = Vec::with_capacity(deltas.len());
    for (k, (gap, len)) in deltas.into_iter().enumerate() {
        // Ranges after the first are never adjacent to the one before.
        if len == 0 || (k > 0 && gap == 0) {
            return Err("empty or adjacent range".into());
        }
        let a = prev.checked_add(gap).ok_or("range past 2^64")?;
        let e = a.checked_add(len).ok_or("range past 2^64")?;
        out.push((a, e));
        prev = e;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(r: &[(u64, u64)]) -> Holes {
        let mut h = Holes::default();
        for &(a, b) in r {
            h.add(a, b);
        }
        h
    }

    #[test]
    fn add_merges_and_fill_splits() {
        let mut h = map(&[(10, 20), (30, 40)]);
        h.add(20, 25);
        assert_eq!(h.ranges(), &[(10, 25), (30, 40)]);
        h.add(24, 31);
        assert_eq!(h.ranges(), &[(10, 40)]);
        h.fill(15, 16);
        assert_eq!(h.ranges(), &[(10, 15), (16, 40)]);
        h.fill_each([10, 11, 39, 100]);
        assert_eq!(h.ranges(), &[(12, 15), (16, 39)]);
        h.fill(0, 1000);
        assert!(h.is_empty());
        assert_eq!(h.stored, None);
    }

    #[test]
    fn seeks_and_stored_bytes() {
        let bs = 10;
        // Blocks 2..4 and 6.. are holes in a file of 75 bytes.
        let h = map(&[(2, 4), (6, 100)]);
        assert_eq!(h.seek_data(0, 75, bs), Some(0));
        assert_eq!(h.seek_data(25, 75, bs), Some(40));
        assert_eq!(h.seek_data(60, 75, bs), None);
        assert_eq!(h.seek_data(75, 75, bs), None);
        assert_eq!(h.seek_hole(0, 75, bs), Some(20));
        assert_eq!(h.seek_hole(21, 75, bs), Some(21));
        assert_eq!(h.seek_hole(45, 75, bs), Some(60));
        assert_eq!(h.seek_hole(80, 75, bs), None);
        assert_eq!(h.stored_bytes(75, bs), 40);
        let dense = Holes::default();
        assert_eq!(dense.seek_hole(5, 75, bs), Some(75));
        assert_eq!(dense.seek_data(5, 75, bs), Some(5));
        assert_eq!(dense.stored_bytes(75, bs), 75);
    }

    #[test]
    fn encoding_round_trips_and_damage_is_data() {
        let h = map(&[(0, 3), (7, 9), (1 << 40, 1 << 41)]);
        let v = h.stored.clone().expect("stored");
        assert_eq!(Holes::from_attr(Some(&v)), h);
        for bad in [
            vec![],
            vec![9, 0],
            vec![FORMAT, 1, 3, 0],
            vec![FORMAT, 2, 1, 1, 0, 1],
        ] {
            let v = Value::B(bad.clone());
            let d = Holes::from_attr(Some(&v));
            assert!(d.is_empty(), "{bad:?}");
            // Conditioned on the bytes as stored, so a writer replaces them.
            assert_eq!(d.unchanged(), Cond::eq(ATTR, Value::B(bad)));
        }
    }

    #[test]
    fn the_smallest_holes_go_first() {
        let mut h = Holes::default();
        for i in 0..(MAX_RANGES as u64 + 10) {
            h.add(i * 10, i * 10 + 1 + (i % 3));
        }
        assert_eq!(h.ranges().len(), MAX_RANGES);
        let sum: u64 = h.ranges().iter().map(|(a, b)| b - a).sum();
        assert!(sum >= MAX_RANGES as u64 * 2, "kept the larger ones: {sum}");
    }

    #[test]
    fn a_flush_fills_what_it_writes_and_leaves_the_gap() {
        let bs = 10;
        // A file of 25 bytes (blocks 0..3) written at blocks 1 and 6..8,
        // to 80 bytes: 3..6 become holes, 1 was one and is filled.
        let read = map(&[(1, 2)]);
        let (next, made) = read.after_flush(25, 80, bs, &[1, 6, 7]);
        assert_eq!(next.ranges(), &[(3, 6)]);
        assert!(made);
        // Appends that continue the file make none.
        let (next, made) = Holes::default().after_flush(25, 80, bs, &[2, 3, 4, 5, 6, 7]);
        assert!(next.is_empty() && !made);
        // A write past a block-aligned end leaves the blocks before it.
        let (next, made) = Holes::default().after_flush(0, 95, bs, &[9]);
        assert_eq!(next.ranges(), &[(0, 9)]);
        assert!(made);
    }

    #[test]
    fn change_only_when_different() {
        let read = map(&[(1, 2)]);
        let mut next = read.clone();
        next.fill(5, 6);
        assert_eq!(next.change_from(&read), None);
        next.fill(1, 2);
        assert_eq!(next.change_from(&read), Some(Change::remove(ATTR)));
        assert_eq!(
            read.unchanged(),
            Cond::eq(ATTR, Value::B(encode(&[(1, 2)])))
        );
        assert_eq!(Holes::default().unchanged(), Cond::HasNot(ATTR.into()));
    }
}
