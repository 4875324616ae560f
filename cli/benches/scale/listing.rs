//! Big directories: entries made through core, then listed by a fresh core
//! client in a process of its own (so its memory is the lister's alone) and
//! by `ls -f` through a fresh mount, each watched for peak RSS and requests.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use dynamofs_core::caller::Caller;
use dynamofs_core::fs::{Fs, FsOptions};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::{self, RequestKind, Source, StoreOptions};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use crate::common::{Kind, Mount, Store};
use crate::probe::{self, Memory, Requests};

/// Creates in flight while filling a directory.
const IN_FLIGHT: usize = 16;

/// Entries per `readdir` call of the core lister: what fs/readdir.rs
/// fetches per Query (its `PAGE`). The readdirplus lister asks for 100, as
/// the FUSE adapter does.
const CORE_PAGE: usize = 1000;
const PLUS_PAGE: usize = 100;

/// How a directory was listed, and what it cost.
#[derive(Clone, Debug)]
pub struct Listed {
    pub how: String,
    /// Entries returned, `.` and `..` included.
    pub entries: u64,
    pub secs: f64,
    pub memory: Option<Memory>,
    pub requests: Requests,
}

/// Making the directory.
#[derive(Clone, Debug)]
pub struct Filled {
    pub entries: usize,
    pub secs: f64,
    pub requests: Requests,
}

pub fn entry_name(i: usize) -> String {
    format!("entry-{i:08}.dat")
}

fn dir_name(n: usize) -> String {
    format!("dir-{n}")
}

/// One file system with a directory of each size, each listed four ways.
pub fn run(rt: &Runtime, sizes: &[usize]) -> Result<(Vec<Filled>, Vec<Listed>), String> {
    let store = Store::new(Kind::Sqlite);
    let mut filled = Vec::new();
    rt.block_on(async {
        let opened = store.open().await;
        let fs = Arc::new(
            Fs::open(Arc::clone(&opened.store), FsOptions::default())
                .await
                .map_err(|e| format!("open the file system: {e}"))?,
        );
        let c = Caller::root();
        for &n in sizes {
            let dir = fs
                .mkdir(&c, ROOT_INO, dir_name(n).as_bytes(), 0o755)
                .await
                .map_err(|e| format!("mkdir {}: {e}", dir_name(n)))?;
            opened.counters.reset();
            let t = Instant::now();
            fill(&fs, dir.ino, n).await?;
            filled.push(Filled {
                entries: n,
                secs: t.elapsed().as_secs_f64(),
                requests: Requests(
                    opened
                        .counters
                        .snapshot()
                        .into_iter()
                        .filter(|(_, t)| t.requests > 0)
                        .map(|(k, t)| (k, (t.requests, t.items)))
                        .collect(),
                ),
            });
            eprintln!("  made {} with {n} entries", dir_name(n));
        }
        Ok::<_, String>(())
    })?;

    let mut listed = Vec::new();
    for &n in sizes {
        let path = format!("/{}", dir_name(n));
        for mode in ["readdir", "readdirplus"] {
            listed.push(list_in_child(&store.source, &path, mode, n)?);
        }
        listed.push(list_through_mount(rt, &store, &dir_name(n), n)?);
    }
    Ok((filled, listed))
}

async fn fill(fs: &Arc<Fs>, dir: u64, n: usize) -> Result<(), String> {
    let mut set = JoinSet::new();
    let mut next = 0;
    while next < n || !set.is_empty() {
        while next < n && set.len() < IN_FLIGHT {
            let fs = Arc::clone(fs);
            let name = entry_name(next);
            set.spawn(async move {
                fs.create(&Caller::root(), dir, name.as_bytes(), 0o644, true)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("create {name}: {e}"))
            });
            next += 1;
        }
        if let Some(r) = set.join_next().await {
            r.map_err(|e| format!("create task: {e}"))??;
        }
    }
    Ok(())
}

/// List in a fresh process of this binary (see [`child`]).
fn list_in_child(source: &str, path: &str, mode: &str, n: usize) -> Result<Listed, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let out = Command::new(exe)
        .args(["--child-list", source, path, mode])
        .output()
        .map_err(|e| format!("run the lister: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "lister ({mode} {path}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("LISTED "))
        .ok_or_else(|| format!("lister printed no result: {text}"))?;
    let listed = parse_listed(line).ok_or_else(|| format!("lister result unreadable: {line}"))?;
    check_count(&listed, n)?;
    Ok(listed)
}

fn check_count(l: &Listed, n: usize) -> Result<(), String> {
    if l.entries != n as u64 + 2 {
        return Err(format!(
            "{} returned {} entries for a directory of {n} (+ . and ..)",
            l.how, l.entries
        ));
    }
    Ok(())
}

/// `ls -f` (no sorting, no stat of each entry: getdents until the end)
/// through a mount that has seen nothing yet.
fn list_through_mount(rt: &Runtime, store: &Store, dir: &str, n: usize) -> Result<Listed, String> {
    let m = Mount::new(store, &["session_ttl=6"]);
    let pid = probe::server_pid(&m)?;
    let opened = rt.block_on(store.open());
    let before = rt.block_on(probe::settled(opened.store.as_ref(), &[pid]))?;
    let start = Memory::start(pid);
    let t = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ls -f \"$D\" | wc -l")
        .env("D", m.path(dir))
        .output()
        .map_err(|e| format!("ls: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    let memory = Memory::finish(pid, start);
    if !out.status.success() {
        return Err(format!(
            "ls -f failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let entries = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("wc -l printed no number: {e}"))?;
    let after = rt.block_on(probe::settled(opened.store.as_ref(), &[pid]))?;
    probe::unmount(&m)?;
    let listed = Listed {
        how: "mount: ls -f".into(),
        entries,
        secs,
        memory,
        requests: after[0].minus(&before[0]),
    };
    check_count(&listed, n)?;
    Ok(listed)
}

/// The lister process: `--child-list SOURCE PATH readdir|readdirplus`.
/// Lists PATH with a fresh core client, keeping nothing of what it lists
/// (as `ls -f` does), and prints one `LISTED key=value ...` line.
pub fn child(rt: &Runtime, args: &[String]) -> Result<(), String> {
    let [source, path, mode] = args else {
        return Err("usage: --child-list SOURCE PATH readdir|readdirplus".into());
    };
    let plus = match mode.as_str() {
        "readdir" => false,
        "readdirplus" => true,
        m => return Err(format!("unknown listing mode {m}")),
    };
    let src: Source = source
        .parse()
        .map_err(|e| format!("source {source}: {e}"))?;
    rt.block_on(async {
        let opened = store::open(&src, &StoreOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let fs = Fs::open(Arc::clone(&opened.store), FsOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let c = Caller::root();
        let name = path.trim_start_matches('/');
        let dir = fs
            .lookup(&c, ROOT_INO, name.as_bytes())
            .await
            .map_err(|e| format!("lookup {path}: {e}"))?;
        let pid = std::process::id();
        opened.counters.reset();
        let start = Memory::start(pid);
        let t = Instant::now();
        let mut h = fs.opendir(&c, dir.ino).await.map_err(|e| e.to_string())?;
        let mut offset = 0;
        let mut entries = 0u64;
        loop {
            let offsets: Vec<u64> = if plus {
                let page = fs
                    .readdirplus(&mut h, offset, PLUS_PAGE)
                    .await
                    .map_err(|e| e.to_string())?;
                // The kernel would forget these when it drops them; a
                // lister that keeps nothing forgets them at once.
                for (_, e, _, _) in &page {
                    if e.name != b"." && e.name != b".." {
                        fs.forget(e.ino, 1).await;
                    }
                }
                page.iter().map(|(o, _, _, _)| *o).collect()
            } else {
                let page = fs
                    .readdir(&mut h, offset, CORE_PAGE)
                    .await
                    .map_err(|e| e.to_string())?;
                page.iter().map(|(o, _)| *o).collect()
            };
            let Some(last) = offsets.last() else { break };
            offset = *last;
            entries += offsets.len() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        let mem = Memory::finish(pid, start).unwrap_or_default();
        let req: Vec<String> = opened
            .counters
            .snapshot()
            .into_iter()
            .filter(|(k, t)| t.requests > 0 && *k != RequestKind::Admin)
            .map(|(k, t)| format!("{}:{}:{}", k.name(), t.requests, t.items))
            .collect();
        println!(
            "LISTED how=core:{mode} entries={entries} secs={secs} start_kib={} peak_kib={} req={}",
            mem.start_kib,
            mem.peak_kib,
            req.join(",")
        );
        Ok(())
    })
}

fn parse_listed(line: &str) -> Option<Listed> {
    let mut l = Listed {
        how: String::new(),
        entries: 0,
        secs: 0.0,
        memory: None,
        requests: Requests::default(),
    };
    let mut mem = Memory::default();
    for kv in line.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        match k {
            "how" => l.how = v.replace(':', ": "),
            "entries" => l.entries = v.parse().ok()?,
            "secs" => l.secs = v.parse().ok()?,
            "start_kib" => mem.start_kib = v.parse().ok()?,
            "peak_kib" => mem.peak_kib = v.parse().ok()?,
            "req" => {
                for r in v.split(',').filter(|r| !r.is_empty()) {
                    let mut f = r.split(':');
                    let name = f.next()?;
                    let kind = RequestKind::ALL.into_iter().find(|k| k.name() == name)?;
                    let n = f.next()?.parse().ok()?;
                    let items = f.next()?.parse().ok()?;
                    l.requests.0.insert(kind, (n, items));
                }
            }
            _ => {}
        }
    }
    l.memory = (mem.peak_kib > 0).then_some(mem);
    Some(l)
}
