//! `dynamofs stats` on a populated file system, on SQLite and moto: the
//! file and directory counts, a live mount's session, and the request
//! counts a session publishes with its heartbeat.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ok, py, Kind, Mount, Store};
use dynamofs_core::session::{Session, DEFAULT_TTL};
use dynamofs_core::store::Table;
use dynamofs_core::superblock::key as superblock_key;

/// `dynamofs stats SOURCE ARGS...`, asserting success; returns stdout.
fn stats(store: &Store, args: &[&str]) -> String {
    let mut all = vec!["stats", store.source.as_str()];
    all.extend_from_slice(args);
    ok(&common::dynamofs(store, &all))
}

fn counts_and_sessions(kind: Kind) {
    let store = Store::new(kind);
    // A short session TTL: the heartbeat, which publishes the mount's
    // request counts, comes every second.
    let m = Mount::new(&store, &["session_ttl=3"]);
    std::fs::create_dir_all(m.path("a/b")).expect("mkdir");
    std::fs::create_dir(m.path("c")).expect("mkdir");
    std::fs::write(m.path("x"), b"hello").expect("write");
    std::fs::write(m.path("a/y"), vec![9u8; 200_000]).expect("write");
    std::fs::write(m.path("a/b/z"), b"").expect("write");
    std::os::unix::fs::symlink("x", m.path("s")).expect("symlink");
    std::fs::write(m.path("gone"), b"bye").expect("write");
    std::fs::remove_file(m.path("gone")).expect("unlink");
    std::thread::sleep(Duration::from_millis(1500));

    let json = stats(&store, &["--json"]);
    assert_eq!(
        py(
            &json,
            "d['files'], d['directories'], d['symlinks'], d['logical_bytes']"
        ),
        "3 4 1 200005"
    );
    assert_eq!(
        py(
            &json,
            "d['stored_bytes'] > 0, d['tables']['blocks']['items'] >= 2"
        ),
        "True True"
    );
    let mine = format!(
        "[s for s in d['sessions'] if s['mountpoint'] == {:?}]",
        m.dir.display().to_string()
    );
    assert_eq!(
        py(&json, &format!("len({mine}), {mine}[0]['expired']")),
        "1 False"
    );
    assert_eq!(py(&json, "d['cost']['storage_usd_per_month'] > 0"), "True");
    // The mount published what it asked of the store.
    assert_eq!(
        py(
            &json,
            &format!("{mine}[0]['requests'] is not None and len({mine}[0]['requests']) > 0")
        ),
        "True",
        "{json}"
    );

    let text = stats(&store, &[]);
    for want in [
        "files",
        "directories",
        "logical size of files",
        &m.dir.display().to_string(),
        "live, expires in",
        "estimated DynamoDB cost",
        "assumptions",
    ] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
}

/// A session that publishes its counters (as a mount does with each
/// heartbeat) shows up with its requests, and in the totals and the cost.
fn published_requests(kind: Kind) {
    let store = Store::new(kind);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let session = rt.block_on(async {
        let opened = store.open().await;
        for _ in 0..5 {
            let s = &opened.store;
            s.get(Table::Meta, &superblock_key(), true)
                .await
                .expect("get");
        }
        let session = Session::register(Arc::clone(&opened.store), "/mnt/published", DEFAULT_TTL)
            .await
            .expect("register");
        session.publish_counters(Arc::clone(&opened.counters));
        session.heartbeat().await.expect("heartbeat");
        session
    });
    let json = stats(&store, &["--json"]);
    let mine = "[s for s in d['sessions'] if s['mountpoint'] == '/mnt/published'][0]";
    assert_eq!(
        py(
            &json,
            &format!("{mine}['requests']['GetItem']['requests'] >= 5")
        ),
        "True"
    );
    assert_eq!(
        py(&json, "d['requests']['GetItem']['requests'] >= 5"),
        "True"
    );
    assert_eq!(
        py(&json, "d['requests']['PutItem']['requests'] >= 1"),
        "True"
    );
    assert_eq!(
        py(
            &json,
            "d['cost']['read_units'] >= 5, d['cost']['requests_usd'] > 0"
        ),
        "True True"
    );
    let text = stats(&store, &[]);
    assert!(
        text.contains("GetItem") && text.contains("/mnt/published"),
        "{text}"
    );
    rt.block_on(session.end());
}

/// `dynamofs status` beside a live mount that holds a lock: the settings,
/// both tables usable, the mount's session with the inode it locked; and
/// no scan (the store counts what it was asked).
fn status_without_a_scan(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["session_ttl=3"]);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(m.path("locked"))
        .expect("create");
    let _held = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).expect("flock");
    let json = ok(&common::dynamofs(
        &store,
        &["status", store.source.as_str(), "--json"],
    ));
    assert_eq!(
        py(
            &json,
            "d['block_size'] > 0, d['format'], d['tables']['metadata']['ready'], d['tables']['data']['ready']"
        ),
        "True 1 True True",
        "{json}"
    );
    let mine = format!(
        "[s for s in d['sessions'] if s['mountpoint'] == {:?}]",
        m.dir.display().to_string()
    );
    assert_eq!(
        py(
            &json,
            &format!("len({mine}), {mine}[0]['expired'], {mine}[0]['locked_inodes']")
        ),
        "1 False 1",
        "{json}"
    );
    let billing = py(&json, "d['tables']['metadata']['billing']");
    match kind {
        Kind::Sqlite => assert_eq!(billing, "None"),
        Kind::Moto => assert_eq!(billing, "on-demand"),
    }
    let text = ok(&common::dynamofs(
        &store,
        &["status", store.source.as_str()],
    ));
    for want in ["block size", "active", &m.dir.display().to_string()] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }

    // What it asks of the store: no Scan, a handful of requests.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let counts = rt.block_on(async {
        let opened = store.open().await;
        let sb = dynamofs_core::superblock::Superblock::load(opened.store.as_ref())
            .await
            .expect("superblock");
        opened.counters.reset();
        dynamofs_core::status::gather(opened.store.as_ref(), sb)
            .await
            .expect("status");
        opened.counters.snapshot()
    });
    let total: u64 = counts.iter().map(|(_, t)| t.requests).sum();
    let scans: u64 = counts
        .iter()
        .filter(|(k, _)| *k == dynamofs_core::store::RequestKind::Scan)
        .map(|(_, t)| t.requests)
        .sum();
    assert_eq!(scans, 0, "{counts:?}");
    // Four describes, the sessions' Query, one Query per session.
    assert!(total <= 8, "{counts:?}");
}

/// `stats --watch`: per-second rates of every live mount, live from the
/// one serving metrics, from heartbeats for the other.
fn watch_shows_live_mounts(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &["metrics=127.0.0.1:0"]);
    let b = Mount::new(&store, &["session_ttl=3"]);
    let mut args = store.global();
    args.extend([
        "stats".into(),
        store.source.clone(),
        "--watch".into(),
        "--json".into(),
    ]);
    let mut watch = std::process::Command::new(common::bin())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("stats --watch");
    let out = watch.stdout.take().expect("stdout");
    let writer = std::thread::spawn({
        let (pa, pb) = (a.dir.clone(), b.dir.clone());
        move || {
            for i in 0..60 {
                std::fs::write(pa.join(format!("a{i}")), b"from a").expect("write a");
                std::fs::write(pb.join(format!("b{i}")), b"from b").expect("write b");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    let lines: Vec<String> = std::io::BufRead::lines(std::io::BufReader::new(out))
        .take(4)
        .map(|l| l.expect("a line"))
        .collect();
    let _ = watch.kill();
    let _ = watch.wait();
    writer.join().expect("writer");
    let last = lines.last().expect("refreshes");
    let of = |dir: &std::path::Path, what: &str| {
        py(
            last,
            &format!(
                "[m['{what}'] for m in d['mounts'] if m['mountpoint'] == {:?}][0]",
                dir.display().to_string()
            ),
        )
    };
    assert_eq!(of(&a.dir, "from"), "metrics", "{last}");
    assert_eq!(of(&b.dir, "from"), "heartbeat", "{last}");
    assert!(
        of(&a.dir, "fuse_ops_per_s").parse::<f64>().expect("a rate") > 0.0,
        "{last}"
    );
    assert!(
        of(&a.dir, "requests_per_s").parse::<f64>().expect("a rate") > 0.0,
        "{last}"
    );
    assert!(
        of(&b.dir, "requests_per_s").parse::<f64>().expect("b rate") > 0.0,
        "{last}"
    );
    assert_eq!(of(&b.dir, "fuse_ops_per_s"), "None", "{last}");
}

common::both!(
    counts_and_sessions,
    published_requests,
    status_without_a_scan,
    watch_shows_live_mounts
);
