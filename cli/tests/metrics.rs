//! `-o metrics=ADDR:PORT`: a real mount's Prometheus endpoint, scraped
//! over HTTP while files are made through the mount, on both stores; and
//! the mounts that must fail before anything is mounted.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{both, dynamofs, Kind, Mount, Store};

/// The address the mount chose for `metrics=127.0.0.1:0`, from its log.
fn metrics_addr(m: &Mount) -> String {
    let log = m.log();
    log.lines()
        .find_map(|l| l.split("serving metrics at http://").nth(1))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("the mount did not say where its metrics are:\n{log}"))
        .to_string()
}

/// One HTTP request: the status line and the body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut c = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(c, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut answer = String::new();
    c.read_to_string(&mut answer).expect("read the answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.lines().next().unwrap_or("").to_string();
    (status, body.to_string())
}

/// Every sample of a scrape: series (name and labels) to value.
fn scrape(addr: &str) -> HashMap<String, f64> {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {l}"));
            (series.to_string(), value)
        })
        .collect()
}

fn value(s: &HashMap<String, f64>, series: &str) -> f64 {
    *s.get(series)
        .unwrap_or_else(|| panic!("no {series} in the scrape: {s:?}"))
}

fn store_requests(s: &HashMap<String, f64>) -> f64 {
    s.iter()
        .filter(|(k, _)| k.starts_with("dynamofs_store_requests_total{"))
        .map(|(_, v)| v)
        .sum()
}

/// Bytes that do not compress (blocks are stored with lz4), so bytes
/// written can be checked against bytes stored.
fn noise(n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut r| r.read_exact(&mut buf))
        .expect("random bytes");
    buf
}

const FILE: usize = 20_000;

fn make_files(m: &Mount, from: usize, to: usize) {
    for i in from..to {
        std::fs::write(m.path(&format!("f{i}")), noise(FILE)).expect("write a file");
    }
}

fn metrics_follow_the_work(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["metrics=127.0.0.1:0"]);
    let addr = metrics_addr(&m);

    make_files(&m, 0, 5);
    let a = scrape(&addr);
    let create = "dynamofs_fuse_requests_total{op=\"create\"}";
    let write = "dynamofs_fuse_requests_total{op=\"write\"}";
    let txn = "dynamofs_store_requests_total{kind=\"TransactWriteItems\"}";
    assert!(value(&a, create) >= 5.0, "{a:?}");
    assert!(value(&a, write) >= 5.0, "{a:?}");
    assert!(value(&a, txn) > 0.0, "{a:?}");
    // Transactions are billed double: at least two write units each.
    let units = "dynamofs_store_write_units_total{kind=\"TransactWriteItems\"}";
    assert!(value(&a, units) >= 2.0 * value(&a, txn), "{a:?}");
    let block_writes = |s: &HashMap<String, f64>| {
        value(s, "dynamofs_store_requests_total{kind=\"PutItem\"}")
            + value(s, "dynamofs_store_requests_total{kind=\"BatchWriteItem\"}")
    };
    assert!(block_writes(&a) > 0.0, "the data went somewhere: {a:?}");
    let written = |s: &HashMap<String, f64>| -> f64 {
        s.iter()
            .filter(|(k, _)| k.starts_with("dynamofs_store_written_bytes_total{"))
            .map(|(_, v)| v)
            .sum()
    };
    assert!(written(&a) >= (5 * FILE) as f64, "{a:?}");

    // The histograms: buckets, +Inf equal to the count, a sum.
    let hist = "dynamofs_fuse_request_duration_seconds";
    let count = value(&a, &format!("{hist}_count{{op=\"create\"}}"));
    assert_eq!(count, value(&a, create), "one timing per answered create");
    assert_eq!(
        value(&a, &format!("{hist}_bucket{{op=\"create\",le=\"+Inf\"}}")),
        count
    );
    assert!(value(&a, &format!("{hist}_sum{{op=\"create\"}}")) > 0.0);
    let buckets = a
        .keys()
        .filter(|k| k.starts_with(&format!("{hist}_bucket{{op=\"create\",")))
        .count();
    assert!(buckets > 10, "{buckets} buckets");
    let store_hist = "dynamofs_store_request_duration_seconds";
    assert!(
        value(
            &a,
            &format!("{store_hist}_count{{kind=\"TransactWriteItems\"}}")
        ) > 0.0
    );
    assert_eq!(
        value(&a, "dynamofs_store_retries_total{reason=\"throttled\"}"),
        0.0
    );

    // Gauges: a file held open with written data not yet stored. Held by
    // a process of its own: a descriptor of this one would be copied into
    // every child the tests running beside this one fork, and each copy
    // closed at exec is a FLUSH that stores the data (the gauge read 0).
    let (held, _) = common::python_ready(
        "import os, sys\n\
         fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)\n\
         os.write(fd, os.urandom(4096))\n\
         print('written', flush=True)\n\
         sys.stdin.read()",
        &[m.path("held").as_os_str()],
        "written",
    );
    let open = scrape(&addr);
    assert!(value(&open, "dynamofs_open_files") >= 1.0, "{open:?}");
    assert!(value(&open, "dynamofs_dirty_bytes") >= 4096.0, "{open:?}");
    assert!(value(&open, "dynamofs_fuse_requests_in_flight") >= 0.0);
    assert_eq!(value(&open, "dynamofs_locked_files"), 0.0);
    common::release(held);
    assert!(value(&scrape(&addr), "dynamofs_block_cache_bytes") >= 0.0);

    // A scrape costs no store request: two in a row show the same counts
    // (the session's heartbeat may fall between one pair, not between
    // every pair).
    let same = (0..5).any(|_| store_requests(&scrape(&addr)) == store_requests(&scrape(&addr)));
    assert!(same, "store requests grew with every scrape");

    // More work, larger numbers.
    make_files(&m, 5, 10);
    let b = scrape(&addr);
    assert!(value(&b, create) >= value(&a, create) + 5.0, "{b:?}");
    assert!(value(&b, write) > value(&a, write));
    assert!(value(&b, txn) > value(&a, txn));
    assert!(block_writes(&b) > block_writes(&a));
    assert!(written(&b) >= written(&a) + (5 * FILE) as f64);
    assert!(value(&b, &format!("{hist}_count{{op=\"create\"}}")) > count);

    // Anything but GET /metrics is not found.
    let (status, _) = get(&addr, "/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

both!(metrics_follow_the_work);

/// `dynamofs mount` that must fail: its stderr, once nothing is mounted.
fn mount_fails(store: &Store, option: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("mnt");
    std::fs::create_dir(&dir).expect("mount point");
    let options = format!("{option},log={}", tmp.path().join("log").display());
    let dir_arg = dir.to_string_lossy();
    let out = dynamofs(store, &["mount", &store.source, &dir_arg, "-o", &options]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "mounted with {option}: {err}");
    assert!(!Mount::is_mounted_at(&dir), "{option} left a mount behind");
    assert!(
        std::fs::read_dir(&dir).expect("ls").next().is_none(),
        "{option} left files in the mount point"
    );
    err
}

#[test]
fn a_bad_address_fails_the_mount() {
    let store = Store::new(Kind::Sqlite);
    for (v, shown) in [("foo", "foo"), ("127.0.0.1", "127.0.0.1"), ("", "")] {
        let err = mount_fails(&store, &format!("metrics={v}"));
        assert!(
            err.contains(&format!(
                "metrics={shown}: expected ADDR:PORT such as 127.0.0.1:9567"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_taken_port_fails_the_mount_before_mounting() {
    let store = Store::new(Kind::Sqlite);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let err = mount_fails(&store, &format!("metrics={addr}"));
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("in use"),
        "{err}"
    );
}
