//! What a mount's `/metrics` endpoint says, in the Prometheus text format.
//!
//! Every value is read, when a scrape asks, from counters that the request
//! paths keep anyway (atomics, and the two small maps of open and locked
//! files): nothing is recorded for the endpoint's sake, a scrape holds up
//! no request, and it makes no store request. prometheus-client writes the
//! format (names, `_total`, escaping, histogram lines).

use std::fmt;
use std::sync::Arc;

use dynamofs_core::fs::Fs;
use dynamofs_core::locks::Locks;
use dynamofs_core::metrics::Snapshot;
use dynamofs_core::stats::{units, Totals};
use dynamofs_core::store::{Counters, KindTotals, RequestKind, RetryReason};
use prometheus_client::encoding::{prometheus_text, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::metrics::{Op, Ops};

/// The `Content-Type` of [`Exposition::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// What a mount's metrics are read from.
pub struct Sources {
    /// The store stack's request counters (the ones `dynamofs stats` shows).
    pub counters: Arc<Counters>,
    pub fs: Arc<Fs>,
    /// None on a read-only store, where the kernel keeps the locks.
    pub locks: Option<Arc<Locks>>,
    pub ops: Arc<Ops>,
}

/// The metrics of one mount, rendered on request.
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    pub fn new(s: Sources) -> Exposition {
        let mut r = Registry::with_prefix("dynamofs");
        let Sources {
            counters,
            fs,
            locks,
            ops,
        } = s;

        let o = Arc::clone(&ops);
        r.register(
            "fuse_requests",
            "Kernel requests answered, by kind",
            by_label("op", move || each(Op::ALL, Op::name, |op| o.count(op))),
        );
        let o = Arc::clone(&ops);
        r.register(
            "fuse_request_duration_seconds",
            "Time from a kernel request's arrival until its answer was sent, by kind",
            histograms("op", move || each(Op::ALL, Op::name, |op| o.latency(op))),
        );
        r.register(
            "fuse_requests_in_flight",
            "Kernel requests being answered now (blocked lock waits among them)",
            gauge(move || ops.in_flight()),
        );

        let per_kind: [PerKind; 4] = [
            (
                "store_requests",
                "Store requests, counted as DynamoDB bills them (a batch of 250 gets is 3), by kind",
                |t| t.requests,
            ),
            (
                "store_items",
                "Items read or written by store requests, by kind",
                |t| t.items,
            ),
            (
                "store_read_bytes",
                "Bytes of the items store requests returned, by kind",
                |t| t.bytes_read,
            ),
            (
                "store_written_bytes",
                "Bytes of the items store requests sent, by kind",
                |t| t.bytes_written,
            ),
        ];
        for (name, help, field) in per_kind {
            let c = Arc::clone(&counters);
            let read = move || each(&RequestKind::ALL, RequestKind::name, |k| field(c.get(k)));
            r.register(name, help, by_label("kind", read));
        }
        // DynamoDB's own consumed capacity is not asked for (it would grow
        // every response); the estimate `stats` makes from the same totals.
        let capacity: [PerUnit; 2] = [
            (
                "store_read_units",
                "Read capacity units consumed, estimated from item sizes (4 KB each, strongly consistent), by kind",
                |u| u.0,
            ),
            (
                "store_write_units",
                "Write capacity units consumed, estimated from item sizes (1 KB each, doubled in transactions), by kind",
                |u| u.1,
            ),
        ];
        for (name, help, pick) in capacity {
            let c = Arc::clone(&counters);
            let read = move || {
                each(&RequestKind::ALL, RequestKind::name, |k| {
                    let t = c.get(k);
                    let totals = Totals {
                        requests: t.requests,
                        items: t.items,
                        bytes_read: t.bytes_read,
                        bytes_written: t.bytes_written,
                    };
                    pick(units(k, &totals))
                })
            };
            r.register(name, help, by_label("kind", read));
        }
        let c = Arc::clone(&counters);
        r.register(
            "store_request_duration_seconds",
            "Time the store took to answer, by kind (a batch the backend splits is timed as one; each retry is timed alone)",
            histograms("kind", move || each(&RequestKind::ALL, RequestKind::name, |k| c.latency(k))),
        );
        let c = Arc::clone(&counters);
        r.register(
            "store_retries",
            "Requests sent again after a transient error, by that error",
            by_label("reason", move || {
                each(&RetryReason::ALL, RetryReason::name, |w| c.retries(w))
            }),
        );
        let of_counters = |read: fn(&Counters) -> u64| {
            let c = Arc::clone(&counters);
            counter(move || read(&c))
        };
        r.register(
            "store_retries_exhausted",
            "Requests that failed with a transient error after their last retry",
            of_counters(Counters::gave_up),
        );
        r.register(
            "store_condition_failures",
            "Conditional writes refused because another change came first (the file system plans again or answers with an errno)",
            of_counters(Counters::condition_failures),
        );

        let of_fs = |kind: MetricType, read: fn(&Fs) -> u64| {
            let f = Arc::clone(&fs);
            match kind {
                MetricType::Counter => counter(move || read(&f)),
                _ => gauge(move || i64::try_from(read(&f)).unwrap_or(i64::MAX)),
            }
        };
        r.register(
            "open_files",
            "Files this mount holds open",
            of_fs(MetricType::Gauge, |f| f.open_inodes().len() as u64),
        );
        if let Some(l) = locks {
            r.register(
                "locked_files",
                "Files on which this mount holds fcntl or flock locks",
                gauge(move || l.held_inodes().len() as i64),
            );
        }
        r.register(
            "dirty_bytes",
            "Written data buffered in open files, not yet stored",
            of_fs(MetricType::Gauge, Fs::dirty_bytes),
        );
        r.register(
            "block_cache_bytes",
            "File data held in the block cache for reading",
            of_fs(MetricType::Gauge, |f| f.block_cache_stats().bytes),
        );
        r.register(
            "block_cache_hits",
            "Block reads answered from the block cache",
            of_fs(MetricType::Counter, |f| f.block_cache_stats().hits),
        );
        r.register(
            "block_cache_misses",
            "Block reads the block cache could not answer (fetched, or waited for read-ahead)",
            of_fs(MetricType::Counter, |f| f.block_cache_stats().misses),
        );
        Exposition { registry: r }
    }

    /// The text a scrape gets.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Capacity units by kind: name, help, which of (read, write).
type PerUnit = (&'static str, &'static str, fn((u64, u64)) -> u64);

/// A counter by kind of store request: name, help, which total.
type PerKind = (&'static str, &'static str, fn(KindTotals) -> u64);

/// Each of a fixed set of label values, with what `read` says of it.
fn each<T: Copy, V>(
    all: &[T],
    name: fn(T) -> &'static str,
    read: impl Fn(T) -> V,
) -> Vec<(&'static str, V)> {
    all.iter().map(|t| (name(*t), read(*t))).collect()
}

type Encode = Box<dyn Fn(&mut MetricEncoder<'_>) -> fmt::Result + Send + Sync>;

/// A metric whose samples are read when it is rendered.
struct Read {
    kind: MetricType,
    encode: Encode,
}

impl fmt::Debug for Read {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read").field("kind", &self.kind).finish()
    }
}

impl EncodeMetric for Read {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        (self.encode)(&mut encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

fn counter(read: impl Fn() -> u64 + Send + Sync + 'static) -> Read {
    Read {
        kind: MetricType::Counter,
        encode: Box::new(move |e| e.encode_counter::<NoLabelSet, _, u64>(&read(), None)),
    }
}

fn gauge(read: impl Fn() -> i64 + Send + Sync + 'static) -> Read {
    Read {
        kind: MetricType::Gauge,
        encode: Box::new(move |e| e.encode_gauge(&read())),
    }
}

/// A counter per value of one label. Every value is shown from the start,
/// zeros too: the sets are small and fixed, and a series that appears only
/// with its first increment loses that increment to `rate()`.
fn by_label(
    label: &'static str,
    read: impl Fn() -> Vec<(&'static str, u64)> + Send + Sync + 'static,
) -> Read {
    let sample =
        |e: &mut MetricEncoder<'_>, n: &u64| e.encode_counter::<NoLabelSet, _, u64>(n, None);
    labelled(MetricType::Counter, label, read, |_| true, sample)
}

/// A histogram per value of one label, shown once it has an observation:
/// seventeen lines for each kind nobody used would drown the rest.
fn histograms(
    label: &'static str,
    read: impl Fn() -> Vec<(&'static str, Snapshot)> + Send + Sync + 'static,
) -> Read {
    let sample = |e: &mut MetricEncoder<'_>, h: &Snapshot| {
        e.encode_histogram::<NoLabelSet>(h.sum_seconds, h.count, &h.buckets, None)
    };
    labelled(MetricType::Histogram, label, read, |h| h.count > 0, sample)
}

/// A sample per value of one label that `shown` keeps.
fn labelled<V: 'static>(
    kind: MetricType,
    label: &'static str,
    read: impl Fn() -> Vec<(&'static str, V)> + Send + Sync + 'static,
    shown: fn(&V) -> bool,
    sample: fn(&mut MetricEncoder<'_>, &V) -> fmt::Result,
) -> Read {
    Read {
        kind,
        encode: Box::new(move |e| {
            for (value, v) in read().iter().filter(|(_, v)| shown(v)) {
                let labels = [(label, *value)];
                sample(&mut e.encode_family(&labels)?, v)?;
            }
            Ok(())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynamofs_core::fs::FsOptions;
    use dynamofs_core::mkfs::{mkfs, MkfsOptions};
    use dynamofs_core::store::{self, Billing, SqliteStore, Store};

    #[tokio::test]
    async fn a_scrape_reads_counters_and_asks_the_store_nothing() {
        let counters = Arc::new(Counters::default());
        let backend = SqliteStore::memory().expect("in-memory sqlite");
        backend
            .create_tables(Billing::OnDemand)
            .await
            .expect("tables");
        let s = store::stack(backend, &counters);
        mkfs(s.as_ref(), &MkfsOptions::default(), &|_: &str| {})
            .await
            .expect("mkfs");
        let fs = Arc::new(Fs::open(s, FsOptions::default()).await.expect("open"));
        let ops = Arc::new(Ops::default());
        drop(ops.start(Op::Create));
        let e = Exposition::new(Sources {
            counters: Arc::clone(&counters),
            fs,
            locks: None,
            ops,
        });
        let before = counters.snapshot();
        let text = e.render();
        assert_eq!(counters.snapshot(), before, "a scrape made store requests");
        for line in [
            "# TYPE dynamofs_fuse_requests_total counter",
            "dynamofs_fuse_requests_total{op=\"create\"} 1",
            "dynamofs_fuse_requests_total{op=\"read\"} 0",
            "# TYPE dynamofs_fuse_request_duration_seconds histogram",
            "dynamofs_fuse_request_duration_seconds_bucket{op=\"create\",le=\"+Inf\"} 1",
            "dynamofs_fuse_request_duration_seconds_count{op=\"create\"} 1",
            "dynamofs_store_retries_total{reason=\"throttled\"} 0",
            "dynamofs_open_files 0",
            "dynamofs_dirty_bytes 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        assert!(
            !text.contains("dynamofs_fuse_request_duration_seconds_count{op=\"read\"}"),
            "an op never asked for has no histogram"
        );
        let txns = format!(
            "dynamofs_store_requests_total{{kind=\"TransactWriteItems\"}} {}",
            counters.get(RequestKind::TransactWriteItems).requests
        );
        assert!(text.lines().any(|l| l == txns), "no `{txns}` in:\n{text}");
        assert!(
            text.contains(
                "dynamofs_store_request_duration_seconds_sum{kind=\"TransactWriteItems\"}"
            ),
            "{text}"
        );
        assert!(!text.contains("locked_files"), "no locks, no lock gauge");
    }
}
