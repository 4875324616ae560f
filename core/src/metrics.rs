//! Latency histograms that any request path may feed without a lock.
//!
//! A mount times every store request and every kernel request, from many
//! tasks at once, and is scraped while it does: a histogram is a fixed row
//! of atomic counters, so recording is a few relaxed adds and a scrape
//! reads a snapshot without ever making a request wait. This module knows
//! no exposition format; the mount's `/metrics` endpoint renders
//! snapshots.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: from a cached answer (tens of
/// microseconds) through a store round trip (milliseconds) to a request
/// that waited out throttling or a blocking lock (seconds).
pub const BOUNDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

const BOUNDS_NANOS: [u64; 16] = {
    let mut n = [0u64; 16];
    let mut i = 0;
    while i < 16 {
        n[i] = (BOUNDS[i] * 1e9) as u64;
        i += 1;
    }
    n
};

/// Durations, counted per bucket, and their sum.
#[derive(Default)]
pub struct Histogram {
    /// One slot per bound, then one for what is slower than every bound.
    buckets: [AtomicU64; 17],
    sum_nanos: AtomicU64,
}

/// What a histogram held at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// (upper bound in seconds, observations in that bucket alone), the
    /// last bound being infinity.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUNDS_NANOS.partition_point(|b| *b < nanos);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The count is the buckets' total, so a scrape that races an
    /// observation still shows a count equal to its `+Inf` bucket.
    pub fn snapshot(&self) -> Snapshot {
        let buckets: Vec<(f64, u64)> = BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(b, n)| (b, n.load(Ordering::Relaxed)))
            .collect();
        Snapshot {
            count: buckets.iter().map(|(_, n)| n).sum(),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            buckets,
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }

    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.sum_nanos.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.buckets.len(), BOUNDS.len() + 1);
        assert_eq!(s.buckets[0], (0.0001, 2), "a bound is inclusive");
        assert_eq!(s.buckets[5], (0.005, 1));
        assert_eq!(s.buckets[16], (f64::INFINITY, 1));
        assert!((s.sum_seconds - 60.00315).abs() < 1e-9, "{}", s.sum_seconds);
        h.reset();
        assert_eq!(h.count(), 0);
    }
}
