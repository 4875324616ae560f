//! Data-path benchmark: sequential and random I/O through the file system
//! layer, and the same bytes moved by a raw store client, in one run.
//!
//! Run it with `scripts/bench` (starts moto behind a latency proxy), or
//! directly:
//!
//! ```sh
//! cargo bench -p dynamofs-core --bench data -- --quick --store sqlite
//! ```
//!
//! See docs/BENCHMARKS.md for what each case measures and the results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use comfy_table::{presets::ASCII_MARKDOWN, Cell, CellAlignment, Table as Grid};
use dynamofs_core::caller::Caller;
use dynamofs_core::fs::{Fs, FsOptions, OpenMode};
use dynamofs_core::mkfs::{mkfs, MkfsOptions, DEFAULT_BLOCK_SIZE};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::{
    self, BatchWrite, Billing, Counters, DynamoConfig, DynamoStore, Item, Key, Page, Query,
    RequestKind, ScanPage, SqliteStore, Store, StoreResult, Table, TableState, Token, Value, Write,
};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const MIB: usize = 1 << 20;
const KIB: usize = 1 << 10;
/// Requests in flight, as the file system's flush (fs/file.rs PARALLEL_WRITES).
const PARALLEL: usize = 16;
const ENDPOINT_VAR: &str = "DYNAMOFS_BENCH_ENDPOINT";

/// Pause before each case (see `Probe::start`).
const SETTLE: Duration = Duration::from_millis(500);

const SEQ_WRITE: &str = "seq write FS 1M";
const RAW_WRITE: &str = "seq write raw";
const SEQ_READ_128K: &str = "seq read FS 128K";
const SEQ_READ_1M: &str = "seq read FS 1M";
const RAW_READ: &str = "seq read raw";
const RAW_READ_BATCH: &str = "seq read raw batch 1M";

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};
const RO: OpenMode = OpenMode {
    read: true,
    write: false,
    append: false,
    truncate: false,
};

// ------------------------------------------------------------------ options

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Moto,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Moto => "moto+proxy",
        }
    }
}

#[derive(Clone, Debug)]
struct Opts {
    block_sizes: Vec<usize>,
    stores: Vec<Backend>,
    /// Size of the sequential file, bytes.
    size: usize,
    /// Random reads and random writes, each.
    random_ops: usize,
    small_files: usize,
    /// Only the 1 GiB SQLite write (bounded memory check).
    big: bool,
    /// Only the sequential writes, FS and raw (scripts/bench-write).
    writes_only: bool,
    big_size: usize,
    compression: String,
    /// Runs of each sequential case; the median is reported.
    repeat: usize,
    /// File system options of every client (dirty_limit, cache_bytes).
    fs: FsOptions,
}

const USAGE: &str = "\
usage: cargo bench -p dynamofs-core --bench data -- [OPTIONS]

  --quick              16 MiB sequential file instead of 64 MiB
  --size MIB           sequential file size in MiB (default 64)
  --block-size SIZE    one block size (e.g. 64K, 128K, 256K, 131072);
                       repeatable; default: 64K, 128K and 256K
  --store WHICH        sqlite, moto or all (default all); moto needs
                       DYNAMOFS_BENCH_ENDPOINT (scripts/bench sets it)
  --random N           random 4 KiB reads and writes, N of each (default 500)
  --files N            small files created and written (default 200)
  --compression C      none or lz4 (default lz4, the mkfs default)
  --repeat N           run each sequential case N times, report the median
                       (default 3)
  --dirty-limit MIB    FsOptions::dirty_limit of every client (default 256)
  --cache MIB          FsOptions::cache_bytes of every client (default 64)
  --writes-only        only the sequential writes, FS and raw
  --big                write 1 GiB sequentially to SQLite and report the
                       peak RSS (bounded by dirty_limit + cache_bytes)
  --big-size MIB       size of the --big write (default 1024)
";

fn parse_size(s: &str) -> Option<usize> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.trim_end_matches("ib").trim_end_matches('b');
    let (num, mul) = if let Some(n) = t.strip_suffix('k') {
        (n, KIB)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, MIB)
    } else {
        (t, 1)
    };
    num.parse::<usize>().ok().map(|n| n * mul)
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        block_sizes: Vec::new(),
        stores: vec![Backend::Sqlite, Backend::Moto],
        size: 64 * MIB,
        random_ops: 500,
        small_files: 200,
        big: false,
        writes_only: false,
        big_size: 1024 * MIB,
        compression: "lz4".into(),
        repeat: 3,
        fs: FsOptions::default(),
    };
    let mut it = args.iter();
    let value = |it: &mut std::slice::Iter<'_, String>, flag: &str| {
        it.next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))
    };
    let count = |v: String, flag: &str| {
        v.parse::<usize>()
            .map_err(|_| format!("{flag}: `{v}` is not a number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--quick" => o.size = 16 * MIB,
            "--big" => o.big = true,
            "--writes-only" => {
                o.writes_only = true;
                o.random_ops = 0;
                o.small_files = 0;
            }
            "--size" => o.size = count(value(&mut it, a)?, a)? * MIB,
            "--big-size" => o.big_size = count(value(&mut it, a)?, a)? * MIB,
            "--random" => o.random_ops = count(value(&mut it, a)?, a)?,
            "--files" => o.small_files = count(value(&mut it, a)?, a)?,
            "--repeat" => o.repeat = count(value(&mut it, a)?, a)?.max(1),
            "--dirty-limit" => o.fs.dirty_limit = count(value(&mut it, a)?, a)? * MIB,
            "--cache" => o.fs.cache_bytes = count(value(&mut it, a)?, a)? * MIB,
            "--compression" => {
                let v = value(&mut it, a)?;
                if v != "none" && v != "lz4" {
                    return Err(format!("--compression: `{v}` is not none or lz4"));
                }
                o.compression = v;
            }
            "--block-size" => {
                let v = value(&mut it, a)?;
                let bs = parse_size(&v)
                    .filter(|b| b.is_power_of_two() && (4 * KIB..=256 * KIB).contains(b))
                    .ok_or_else(|| {
                        format!("--block-size: `{v}` is not a power of two from 4K to 256K")
                    })?;
                o.block_sizes.push(bs);
            }
            "--store" => {
                let v = value(&mut it, a)?;
                o.stores = match v.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "moto" | "dynamo" => vec![Backend::Moto],
                    "all" => vec![Backend::Sqlite, Backend::Moto],
                    _ => return Err(format!("--store: `{v}` is not sqlite, moto or all")),
                };
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if o.size < MIB {
        return Err("--size must be at least 1 MiB".into());
    }
    if o.block_sizes.is_empty() {
        o.block_sizes = if o.big {
            vec![DEFAULT_BLOCK_SIZE as usize]
        } else {
            vec![64 * KIB, 128 * KIB, 256 * KIB]
        };
    }
    Ok(o)
}

// ------------------------------------------------------------------ memory

/// The process's peak resident set (VmHWM), bytes.
fn peak_rss() -> Option<usize> {
    proc_status_kib("VmHWM:").map(|k| k * KIB)
}

/// /proc/loadavg's first three fields: other work on the machine skews
/// the numbers.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn proc_status_kib(field: &str) -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset VmHWM to the current RSS (Linux ≥ 4.0: "5" > clear_refs), so each
/// case reports its own peak. Returns false when the kernel refuses.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ------------------------------------------------------------------ results

#[derive(Clone, Debug, Default)]
struct Row {
    block: usize,
    case: String,
    bytes: u64,
    ops: u64,
    secs: f64,
    requests: u64,
    /// Bytes read plus written by the store requests.
    moved: u64,
    kinds: String,
    /// Case whose MiB/s this one is compared with (FS/raw).
    /// Throughput relative to the raw client (median of the per-run
    /// ratios, each FS run paired with the raw run right after it).
    ratio: Option<f64>,
    /// The same against the batched raw read.
    batch_ratio: Option<f64>,
    /// Longest single write() call (a flush at dirty_limit stalls one).
    longest_call: Option<Duration>,
    peak: Option<usize>,
}

impl Row {
    fn mib_s(&self) -> f64 {
        self.bytes as f64 / MIB as f64 / self.secs
    }
    fn ops_s(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    fn req_per_mib(&self) -> Option<f64> {
        (self.bytes > 0).then(|| self.requests as f64 / (self.bytes as f64 / MIB as f64))
    }
}

/// The run with the median throughput; peak RSS is the highest of all.
fn median(mut runs: Vec<Row>) -> Row {
    let peak = runs.iter().filter_map(|r| r.peak).max();
    runs.sort_by(|a, b| a.mib_s().total_cmp(&b.mib_s()));
    let mut r = runs.swap_remove(runs.len() / 2);
    r.peak = peak;
    r
}

/// Median of the ratios of runs made one after the other, so that drift
/// of a shared machine or of the server cancels out.
fn paired_ratio(fs: &[Row], raw: &[Row]) -> f64 {
    let mut r: Vec<f64> = fs
        .iter()
        .zip(raw)
        .map(|(a, b)| a.mib_s() / b.mib_s())
        .collect();
    r.sort_by(f64::total_cmp);
    r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Counts of each request kind since the last reset, with the mean time
/// of one call of that kind, compactly.
fn kinds(c: &Counters, timings: &Timings) -> String {
    let mut s = String::new();
    for (k, t) in c.snapshot() {
        if t.requests == 0 || k == RequestKind::Admin {
            continue;
        }
        let name = match k {
            RequestKind::GetItem => "Get",
            RequestKind::BatchGetItem => "BatchGet",
            RequestKind::Query => "Query",
            RequestKind::PutItem => "Put",
            RequestKind::UpdateItem => "Update",
            RequestKind::DeleteItem => "Delete",
            RequestKind::TransactWriteItems => "Transact",
            RequestKind::BatchWriteItem => "BatchWrite",
            RequestKind::Scan => "Scan",
            RequestKind::Admin => "Admin",
        };
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{name} {}", t.requests);
        if k == RequestKind::BatchGetItem {
            let _ = write!(s, " ({} keys)", t.items);
        }
        if let Some(d) = timings.mean(name) {
            let _ = write!(s, " @{:.1}ms", d.as_secs_f64() * 1e3);
        }
    }
    s
}

/// Measures one case: requests, time and peak RSS.
struct Probe<'a> {
    counters: &'a Counters,
    timings: &'a Timings,
    start: Instant,
}

impl<'a> Probe<'a> {
    /// Starts a case once the requests of the one before (read-ahead still
    /// in flight) have had time to end, so they are not counted here.
    async fn start(t: &'a Target) -> Probe<'a> {
        tokio::time::sleep(SETTLE).await;
        reset_peak_rss();
        t.counters.reset();
        t.timings.reset();
        Probe {
            counters: &t.counters,
            timings: &t.timings,
            start: Instant::now(),
        }
    }

    fn finish(self, block: usize, case: &str, bytes: u64, ops: u64) -> Row {
        let secs = self.start.elapsed().as_secs_f64();
        Row {
            block,
            case: case.to_string(),
            bytes,
            ops,
            secs,
            requests: self.counters.total_requests(),
            moved: self
                .counters
                .snapshot()
                .iter()
                .map(|(_, t)| t.bytes_read + t.bytes_written)
                .sum(),
            kinds: kinds(self.counters, self.timings),
            ratio: None,
            batch_ratio: None,
            longest_call: None,
            peak: peak_rss(),
        }
    }
}

fn mib(b: usize) -> String {
    format!("{:.0}", b as f64 / MIB as f64)
}

fn print_table(title: &str, rows: &[Row]) {
    let mut t = Grid::new();
    t.load_preset(ASCII_MARKDOWN).set_header(vec![
        "block",
        "case",
        "MiB/s",
        "ops/s",
        "requests",
        "req/MiB",
        "store MiB",
        "FS/raw",
        "FS/batch",
        "peak RSS MiB",
        "requests by kind",
    ]);
    for r in rows {
        let ratio = |r: Option<f64>| r.map(|v| format!("{v:.2}")).unwrap_or_default();
        let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
        t.add_row(vec![
            right(format!("{}K", r.block / KIB)),
            Cell::new(&r.case),
            right(if r.bytes > 0 {
                format!("{:.1}", r.mib_s())
            } else {
                String::new()
            }),
            right(if r.ops > 0 {
                format!("{:.0}", r.ops_s())
            } else {
                String::new()
            }),
            right(r.requests.to_string()),
            right(
                r.req_per_mib()
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_default(),
            ),
            right(format!("{:.1}", r.moved as f64 / MIB as f64)),
            right(ratio(r.ratio)),
            right(ratio(r.batch_ratio)),
            right(r.peak.map(mib).unwrap_or_else(|| "?".into())),
            Cell::new(&r.kinds),
        ]);
    }
    println!("\n### {title}\n\n{t}");
}

/// The targets of DESIGN.md, checked against the rows.
fn print_targets(rows: &[Row]) {
    println!();
    for r in rows {
        if let Some(ratio) = r.ratio {
            println!(
                "target FS/raw >= 0.90   {:>4}K {:<22} {:.2}  {}",
                r.block / KIB,
                r.case,
                ratio,
                if ratio >= 0.9 { "met" } else { "MISSED" }
            );
        }
        if r.case.starts_with("seq ") && !r.case.contains("raw") {
            let bound = MIB as f64 / r.block as f64 + 1.0;
            let have = r.req_per_mib().unwrap_or(0.0);
            println!(
                "target req/MiB <= {:>5.2} {:>4}K {:<22} {:.2}  {}",
                bound,
                r.block / KIB,
                r.case,
                have,
                if have <= bound { "met" } else { "MISSED" }
            );
        }
    }
}

// ------------------------------------------------------------------ stores

/// Time spent in each kind of store call, as the file system (or the raw
/// client) waits for it: where the time goes. Outermost in the stack, so a
/// call's time includes its retries.
#[derive(Default)]
struct Timings {
    by_kind: Mutex<BTreeMap<&'static str, (u64, Duration)>>,
}

impl Timings {
    fn record(&self, kind: &'static str, took: Duration) {
        if let Ok(mut m) = self.by_kind.lock() {
            let e = m.entry(kind).or_default();
            e.0 += 1;
            e.1 += took;
        }
    }

    fn reset(&self) {
        if let Ok(mut m) = self.by_kind.lock() {
            m.clear();
        }
    }

    /// Mean time of one call of `kind`, if any was made.
    fn mean(&self, kind: &str) -> Option<Duration> {
        let m = self.by_kind.lock().ok()?;
        let (n, total) = m.get(kind)?;
        (*n > 0).then(|| *total / (*n as u32).max(1))
    }
}

struct Timed {
    inner: Arc<dyn Store>,
    timings: Arc<Timings>,
}

impl Timed {
    async fn time<T>(&self, kind: &'static str, f: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let r = f.await;
        self.timings.record(kind, start.elapsed());
        r
    }
}

#[async_trait]
impl Store for Timed {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        self.time("Get", self.inner.get(table, key, consistent))
            .await
    }
    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        self.time("BatchGet", self.inner.batch_get(table, keys, consistent))
            .await
    }
    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.time("Query", self.inner.query(q)).await
    }
    async fn write(&self, w: &Write) -> StoreResult<()> {
        let kind = match w {
            Write::Put { .. } => "Put",
            Write::Update { .. } => "Update",
            Write::Delete { .. } => "Delete",
            Write::Check { .. } => "Check",
        };
        self.time(kind, self.inner.write(w)).await
    }
    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        self.time("Transact", self.inner.transact(writes, token))
            .await
    }
    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        self.time("BatchWrite", self.inner.batch_write(table, writes))
            .await
    }
    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        self.time("Scan", self.inner.scan(table, start_after, limit))
            .await
    }
    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        self.inner.table_state(table).await
    }
    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        self.inner.create_tables(billing).await
    }
    async fn delete_tables(&self) -> StoreResult<()> {
        self.inner.delete_tables().await
    }
    fn table_name(&self, table: Table) -> String {
        self.inner.table_name(table)
    }
}

struct Target {
    store: Arc<dyn Store>,
    counters: Arc<Counters>,
    timings: Arc<Timings>,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

async fn open_target(backend: Backend, bs: usize, compression: &str) -> Target {
    let counters = Arc::new(Counters::default());
    let (store, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            let path = dir.path().join("bench.db");
            let s = SqliteStore::open(&path).expect("open the SQLite store");
            (store::stack(s, &counters), Some(dir))
        }
        Backend::Moto => {
            let endpoint = endpoint().expect("endpoint checked at start");
            let cfg = DynamoConfig {
                region: Some("us-east-1".into()),
                table: format!(
                    "bench-{}-{}k-{:08x}",
                    std::process::id(),
                    bs / KIB,
                    rand::random::<u32>()
                ),
                endpoint: Some(endpoint.clone()),
                profile: None,
            };
            let s = DynamoStore::connect(&cfg)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to {endpoint}: {e}"));
            (store::stack(s, &counters), None)
        }
    };
    let opts = MkfsOptions {
        block_size: bs as u32,
        compression: compression.into(),
        ..Default::default()
    };
    let timings = Arc::new(Timings::default());
    let store: Arc<dyn Store> = Arc::new(Timed {
        inner: store,
        timings: Arc::clone(&timings),
    });
    mkfs(store.as_ref(), &opts, &|_: &str| {})
        .await
        .expect("mkfs for the benchmark");
    Target {
        store,
        counters,
        timings,
        _dir: dir,
    }
}

fn endpoint() -> Option<String> {
    std::env::var(ENDPOINT_VAR).ok().filter(|e| !e.is_empty())
}

async fn new_fs(t: &Target, opts: &FsOptions) -> Fs {
    Fs::open(Arc::clone(&t.store), opts.clone())
        .await
        .expect("open the file system")
}

// ------------------------------------------------------------------ cases

/// Incompressible test data: byte `x` of the sequential file is
/// `pattern[x % MIB]`.
fn pattern() -> Vec<u8> {
    let mut v = vec![0u8; MIB];
    StdRng::seed_from_u64(0x5eed).fill_bytes(&mut v);
    v
}

fn expect_at(pattern: &[u8], offset: u64, got: &[u8]) {
    let mut pos = 0;
    while pos < got.len() {
        let at = (offset as usize + pos) % MIB;
        let n = (MIB - at).min(got.len() - pos);
        assert!(
            got[pos..pos + n] == pattern[at..at + n],
            "read returned wrong bytes in [{}, {})",
            offset as usize + pos,
            offset as usize + pos + n
        );
        pos += n;
    }
}

/// Sequential write of `size` bytes in 1 MiB calls, then close (which
/// flushes): the time includes the flush.
/// Returns the longest write() call.
async fn seq_write(fs: &Fs, ino: u64, pattern: &[u8], size: usize) -> Duration {
    let c = Caller::root();
    let fh = fs.open_file(&c, ino, RW).await.expect("open for writing");
    let mut off = 0;
    let mut longest = Duration::ZERO;
    while off < size {
        let n = MIB.min(size - off);
        let t = Instant::now();
        let w = fs
            .write(fh, off as u64, &pattern[..n])
            .await
            .expect("write");
        longest = longest.max(t.elapsed());
        assert_eq!(w, n, "short write");
        off += n;
    }
    fs.release(fh).await.expect("close (flush) after writing");
    longest
}

async fn seq_read(fs: &Fs, ino: u64, pattern: &[u8], size: usize, chunk: usize) {
    let c = Caller::root();
    let fh = fs.open_file(&c, ino, RO).await.expect("open for reading");
    let mut off = 0;
    while off < size {
        let data = fs.read(fh, off as u64, chunk).await.expect("read");
        assert_eq!(data.len(), chunk.min(size - off), "short read at {off}");
        expect_at(pattern, off as u64, &data);
        off += data.len();
    }
    fs.release(fh).await.expect("close after reading");
}

fn raw_key(run: usize, i: usize) -> Key {
    let mut p = b"bench-raw-".to_vec();
    p.extend_from_slice(&(run as u32).to_be_bytes());
    p.extend_from_slice(&(i as u64).to_be_bytes());
    Key::new(p, b"d".to_vec())
}

/// Raw client: `size / bs` PutItems of `bs` bytes, `PARALLEL` in flight.
async fn raw_write(store: &Arc<dyn Store>, run: usize, pattern: &[u8], size: usize, bs: usize) {
    let limit = Arc::new(Semaphore::new(PARALLEL));
    let mut set = JoinSet::new();
    for i in 0..size.div_ceil(bs) {
        let at = (i * bs) % MIB;
        let mut attrs = BTreeMap::new();
        attrs.insert("d".to_string(), Value::B(pattern[at..at + bs].to_vec()));
        let w = Write::Put {
            table: Table::Blocks,
            key: raw_key(run, i),
            attrs,
            cond: None,
        };
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("semaphore open");
        let store = Arc::clone(store);
        set.spawn(async move {
            let _permit = permit;
            store.write(&w).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("raw writer task").expect("raw PutItem");
    }
}

/// Raw client: `size / bs` consistent reads of the first run's items,
/// `PARALLEL` requests in flight: GetItems when `per` is 1, else
/// BatchGetItems of `per` keys.
async fn raw_read(store: &Arc<dyn Store>, size: usize, bs: usize, per: usize) {
    let limit = Arc::new(Semaphore::new(PARALLEL));
    let mut set = JoinSet::new();
    let n = size.div_ceil(bs);
    for first in (0..n).step_by(per) {
        let keys: Vec<Key> = (first..(first + per).min(n))
            .map(|i| raw_key(0, i))
            .collect();
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("semaphore open");
        let store = Arc::clone(store);
        set.spawn(async move {
            let _permit = permit;
            if let [key] = keys.as_slice() {
                store.get(Table::Blocks, key, true).await.map(|i| vec![i])
            } else {
                store.batch_get(Table::Blocks, &keys, true).await
            }
        });
    }
    while let Some(r) = set.join_next().await {
        let items = r.expect("raw reader task").expect("raw read");
        for item in items {
            let item = item.expect("raw item present");
            let len = item.attrs.get("d").and_then(Value::as_b).map(<[u8]>::len);
            assert_eq!(len, Some(bs), "raw item of the wrong size");
        }
    }
}

/// Mean latency of one request moving one block, one at a time: the L of
/// P·B/L.
async fn serial_latency(store: &Arc<dyn Store>, pattern: &[u8], bs: usize) -> (Duration, Duration) {
    const N: u32 = 10;
    let key = Key::new(b"bench-probe".to_vec(), b"d".to_vec());
    let mut attrs = BTreeMap::new();
    attrs.insert("d".to_string(), Value::B(pattern[..bs].to_vec()));
    let w = Write::Put {
        table: Table::Blocks,
        key: key.clone(),
        attrs,
        cond: None,
    };
    store.write(&w).await.expect("probe PutItem");
    let t = Instant::now();
    for _ in 0..N {
        store.write(&w).await.expect("probe PutItem");
    }
    let put = t.elapsed() / N;
    let t = Instant::now();
    for _ in 0..N {
        store
            .get(Table::Blocks, &key, true)
            .await
            .expect("probe GetItem");
    }
    (put, t.elapsed() / N)
}

/// Everything for one store and block size.
async fn run_one(
    o: &Opts,
    backend: Backend,
    bs: usize,
    pattern: &[u8],
    notes: &mut Vec<String>,
) -> Vec<Row> {
    let size = o.size;
    let t = open_target(backend, bs, &o.compression).await;
    let c = Caller::root();
    let mut rows = Vec::new();
    let label = |what: &str| format!("[{} {}K] {what}", backend.name(), bs / KIB);
    eprintln!("{}", label("starting"));

    let (put_l, get_l) = serial_latency(&t.store, pattern, bs).await;
    let ideal = |l: Duration| PARALLEL as f64 * bs as f64 / MIB as f64 / l.as_secs_f64();
    notes.push(format!(
        "{} {:>3}K: one request at a time, PutItem {:.1} ms, GetItem {:.1} ms of one block \
         -> P·B/L = {:.0} MiB/s write, {:.0} MiB/s read (P = {PARALLEL})",
        backend.name(),
        bs / KIB,
        put_l.as_secs_f64() * 1e3,
        get_l.as_secs_f64() * 1e3,
        ideal(put_l),
        ideal(get_l)
    ));

    // Sequential cases, FS and raw alternating, each `repeat` times; the
    // run with the median throughput is reported. Reads are by a new client
    // each time (cold caches).
    let fs = new_fs(&t, &o.fs).await;
    let mut files = Vec::new();
    for r in 0..o.repeat {
        let (f, _) = fs
            .create(&c, ROOT_INO, format!("seq-{r}").as_bytes(), 0o644, true)
            .await
            .expect("create the sequential file");
        files.push(f.ino);
    }
    let ino = files[0];
    let mut runs: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for (r, file) in files.iter().enumerate() {
        let p = Probe::start(&t).await;
        seq_write(&fs, *file, pattern, size).await;
        let row = p.finish(bs, SEQ_WRITE, size as u64, (size / MIB) as u64);
        runs.entry(SEQ_WRITE).or_default().push(row);
        eprintln!("{}", label(&format!("{SEQ_WRITE} done")));

        let p = Probe::start(&t).await;
        raw_write(&t.store, r, pattern, size, bs).await;
        let row = p.finish(bs, RAW_WRITE, size as u64, (size / bs) as u64);
        runs.entry(RAW_WRITE).or_default().push(row);
        eprintln!("{}", label(&format!("{RAW_WRITE} done")));
        if o.writes_only {
            continue;
        }

        for (chunk, name) in [(128 * KIB, SEQ_READ_128K), (MIB, SEQ_READ_1M)] {
            let reader = new_fs(&t, &o.fs).await;
            let p = Probe::start(&t).await;
            seq_read(&reader, ino, pattern, size, chunk).await;
            let row = p.finish(bs, name, size as u64, (size / chunk) as u64);
            runs.entry(name).or_default().push(row);
            eprintln!("{}", label(&format!("{name} done")));
        }

        let p = Probe::start(&t).await;
        raw_read(&t.store, size, bs, 1).await;
        let row = p.finish(bs, RAW_READ, size as u64, (size / bs) as u64);
        runs.entry(RAW_READ).or_default().push(row);

        let per = (MIB / bs).max(1);
        let p = Probe::start(&t).await;
        raw_read(&t.store, size, bs, per).await;
        let row = p.finish(bs, RAW_READ_BATCH, size as u64, (size / bs) as u64);
        runs.entry(RAW_READ_BATCH).or_default().push(row);
        eprintln!("{}", label("raw reads done"));
    }
    let runs_of = |name: &str| runs.get(name).cloned().unwrap_or_default();
    for name in [
        SEQ_WRITE,
        RAW_WRITE,
        SEQ_READ_128K,
        SEQ_READ_1M,
        RAW_READ,
        RAW_READ_BATCH,
    ] {
        let mine = runs_of(name);
        if mine.is_empty() {
            continue;
        }
        let mut row = median(mine.clone());
        let (raw, batch) = match name {
            SEQ_WRITE => (Some(RAW_WRITE), None),
            SEQ_READ_128K | SEQ_READ_1M => (Some(RAW_READ), Some(RAW_READ_BATCH)),
            _ => (None, None),
        };
        row.ratio = raw.map(|raw| paired_ratio(&mine, &runs_of(raw)));
        row.batch_ratio = batch.map(|b| paired_ratio(&mine, &runs_of(b)));
        rows.push(row);
    }
    if o.random_ops > 0 {
        // Random 4 KiB reads, then writes (flushed), over the sequential file,
        // each by a new client (cold caches).
        let pages = (size / (4 * KIB)) as u64;
        let mut rng = StdRng::seed_from_u64(bs as u64);
        let fs = new_fs(&t, &o.fs).await;
        let fh = fs
            .open_file(&c, ino, RW)
            .await
            .expect("open for random reads");
        let p = Probe::start(&t).await;
        for _ in 0..o.random_ops {
            let off = rng.random_range(0..pages) * 4 * KIB as u64;
            let data = fs.read(fh, off, 4 * KIB).await.expect("random read");
            expect_at(pattern, off, &data);
        }
        rows.push(p.finish(
            bs,
            "random read 4K",
            (o.random_ops * 4 * KIB) as u64,
            o.random_ops as u64,
        ));
        fs.release(fh).await.expect("close after random reads");
        drop(fs);
        eprintln!("{}", label("random reads done"));
        // Writes by a new client too: each partial block is read first.
        let fs = new_fs(&t, &o.fs).await;
        let fh = fs
            .open_file(&c, ino, RW)
            .await
            .expect("open for random writes");
        let page = vec![0xa5u8; 4 * KIB];
        let p = Probe::start(&t).await;
        for _ in 0..o.random_ops {
            let off = rng.random_range(0..pages) * 4 * KIB as u64;
            fs.write(fh, off, &page).await.expect("random write");
        }
        fs.flush(fh).await.expect("flush after random writes");
        rows.push(p.finish(
            bs,
            "random write 4K+flush",
            (o.random_ops * 4 * KIB) as u64,
            o.random_ops as u64,
        ));
        fs.release(fh).await.expect("close after random writes");
        eprintln!("{}", label("random writes done"));
    }

    if o.small_files > 0 {
        // Many small files: create, open, write, close.
        let mut rng = StdRng::seed_from_u64(7);
        let sizes: Vec<usize> = (0..o.small_files)
            .map(|_| rng.random_range(4 * KIB..=128 * KIB))
            .collect();
        let total: usize = sizes.iter().sum();
        let p = Probe::start(&t).await;
        for (i, n) in sizes.iter().enumerate() {
            let name = format!("small-{i}");
            let (a, _) = fs
                .create(&c, ROOT_INO, name.as_bytes(), 0o644, true)
                .await
                .expect("create a small file");
            let fh = fs
                .open_file(&c, a.ino, RW)
                .await
                .expect("open a small file");
            fs.write(fh, 0, &pattern[..*n])
                .await
                .expect("write a small file");
            fs.release(fh).await.expect("close a small file");
        }
        let case = format!(
            "{} small files, avg {}K",
            o.small_files,
            total / o.small_files / KIB
        );
        rows.push(p.finish(bs, &case, total as u64, o.small_files as u64));
        eprintln!("{}", label("small files done"));
    }

    if backend == Backend::Moto {
        // moto keeps everything in memory: give it back.
        if let Err(e) = t.store.delete_tables().await {
            eprintln!("warning: could not delete the benchmark tables: {e}");
        }
    }
    rows
}

/// The bounded-memory check: a long sequential write to SQLite.
async fn run_big(o: &Opts, bs: usize, pattern: &[u8]) -> Row {
    let t = open_target(Backend::Sqlite, bs, &o.compression).await;
    let c = Caller::root();
    let fs = new_fs(&t, &o.fs).await;
    let (f, _) = fs
        .create(&c, ROOT_INO, b"big", 0o644, true)
        .await
        .expect("create the big file");
    eprintln!(
        "[sqlite {}K] writing {} MiB (dirty_limit {} MiB)",
        bs / KIB,
        o.big_size / MIB,
        fs.options().dirty_limit / MIB
    );
    let p = Probe::start(&t).await;
    let longest = seq_write(&fs, f.ino, pattern, o.big_size).await;
    let mut row = p.finish(
        bs,
        &format!("seq write FS 1M, {} MiB", o.big_size / MIB),
        o.big_size as u64,
        (o.big_size / MIB) as u64,
    );
    row.longest_call = Some(longest);
    row
}

async fn run(o: Opts) {
    let pattern = pattern();
    println!(
        "dynamofs data benchmark: {} CPUs, compression {}, {} in flight, RSS before: {} MiB",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.compression,
        PARALLEL,
        proc_status_kib("VmRSS:").map_or(0, |k| k / 1024)
    );
    println!("load average at start: {}", load_average());
    if !reset_peak_rss() {
        println!("note: /proc/self/clear_refs refused; peak RSS is cumulative over the run");
    }
    if o.big {
        let mut rows = Vec::new();
        for &bs in &o.block_sizes {
            rows.push(run_big(&o, bs, &pattern).await);
        }
        print_table("sqlite: long sequential write (peak RSS bound)", &rows);
        for r in &rows {
            if let Some(d) = r.longest_call {
                println!(
                    "{:>4}K: longest write() call {:.2} s (a flush of dirty_limit's worth)",
                    r.block / KIB,
                    d.as_secs_f64()
                );
            }
        }
        println!(
            "\ndirty_limit {} MiB, cache_bytes {} MiB; load average at end: {}",
            o.fs.dirty_limit / MIB,
            o.fs.cache_bytes / MIB,
            load_average()
        );
        return;
    }
    for &backend in &o.stores {
        let mut rows = Vec::new();
        let mut notes = Vec::new();
        for &bs in &o.block_sizes {
            rows.extend(run_one(&o, backend, bs, &pattern, &mut notes).await);
        }
        print_table(
            &format!(
                "{}: {} MiB sequential, {} random 4 KiB ops each, {} small files",
                backend.name(),
                o.size / MIB,
                o.random_ops,
                o.small_files
            ),
            &rows,
        );
        println!();
        for n in notes {
            println!("{n}");
        }
        print_targets(&rows);
        println!("load average at end: {}", load_average());
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n");
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if o.stores.contains(&Backend::Moto) && !o.big {
        if endpoint().is_none() {
            eprintln!(
                "error: {ENDPOINT_VAR} is not set: the moto case needs a DynamoDB-compatible \
                 endpoint (the latency proxy's address, e.g. http://127.0.0.1:8100).\n\
                 Run scripts/bench, which starts moto and the proxy, or pass --store sqlite."
            );
            return ExitCode::from(2);
        }
        // Test credentials for the local server; never real ones. Set
        // before any thread starts.
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    rt.block_on(run(o));
    ExitCode::SUCCESS
}
