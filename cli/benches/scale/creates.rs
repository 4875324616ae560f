//! Many mounts creating files in one directory at the same time, each
//! mount a process of its own with its own session, as on many machines.
//! Afterwards the directory is listed by a fresh client and must hold
//! exactly the files whose creation succeeded, each once; fsck must pass.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use dynamofs_core::caller::Caller;
use dynamofs_core::fs::{Fs, FsOptions};
use dynamofs_core::schema::ROOT_INO;
use tokio::runtime::Runtime;

use crate::common::{Kind, Mount, Store};
use crate::probe::{self, Requests};

/// Logs every retry of the store's retry layer (one debug line each).
const LOG_RETRIES: &str = "warn,dynamofs_core::store::retry=debug";

const DIR: &str = "shared";

/// Creates `N` empty files named `$P0`…, through the shell's own open
/// (O_CREAT|O_TRUNC, then close): no process per file. `true` rather than
/// `:`, because a failed redirection of a special built-in ends the shell.
const WORKER: &str = r#"
i=0
while [ "$i" -lt "$N" ]; do
    if ! true >"$D/$P$i"; then echo "FAIL $P$i"; fi
    i=$((i+1))
done
"#;

#[derive(Clone, Debug)]
pub struct Scenario {
    pub label: String,
    pub mounts: usize,
    pub files: usize,
    /// `DYNAMOFS_FAULTS` of every mount, without the seed (each mount gets
    /// its own).
    pub faults: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Created {
    pub label: String,
    pub mounts: usize,
    pub files: usize,
    pub faults: Option<String>,
    pub secs: f64,
    /// Creates the applications saw fail, and why (the shell's message
    /// without the path, counted).
    pub failed: u64,
    pub errors: BTreeMap<String, u64>,
    /// Requests of all mounts over the run (published counters).
    pub requests: Requests,
    /// Retries of the retry layer, by "request: error".
    pub retries: BTreeMap<String, u64>,
    /// Faults injected, summed over the mounts, by kind.
    pub injected: BTreeMap<String, u64>,
    /// Entries a fresh client lists afterwards.
    pub listed: usize,
    pub fsck: String,
}

pub fn run(rt: &Runtime, s: &Scenario) -> Result<Created, String> {
    let store = Store::new(Kind::Sqlite);
    let mounts: Vec<Mount> = (0..s.mounts)
        .map(|k| {
            let faults = s.faults.as_ref().map(|f| format!("{f},seed={}", k + 1));
            let mut env = vec![("DYNAMOFS_LOG", LOG_RETRIES)];
            if let Some(f) = &faults {
                env.push(("DYNAMOFS_FAULTS", f));
            }
            Mount::with_env(&store, &["session_ttl=6"], &env)
        })
        .collect();
    let pids = mounts
        .iter()
        .map(probe::server_pid)
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir(mounts[0].path(DIR)).map_err(|e| format!("mkdir {DIR}: {e}"))?;
    let opened = rt.block_on(store.open());
    let before = rt.block_on(probe::settled(opened.store.as_ref(), &pids))?;

    let t = Instant::now();
    let workers = mounts
        .iter()
        .enumerate()
        .map(|(k, m)| spawn_worker(m, k, s.files))
        .collect::<Result<Vec<_>, _>>()?;
    let mut failed_names = HashSet::new();
    let mut errors = BTreeMap::new();
    for w in workers {
        let out = w.wait_with_output().map_err(|e| format!("worker: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "a worker shell failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(name) = l.strip_prefix("FAIL ") {
                failed_names.insert(name.to_string());
            }
        }
        for l in String::from_utf8_lossy(&out.stderr).lines() {
            // "sh: 3: cannot create /x/y: Resource temporarily unavailable"
            let why = l.rsplit(": ").next().unwrap_or(l).to_string();
            *errors.entry(why).or_insert(0) += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let after = rt.block_on(probe::settled(opened.store.as_ref(), &pids))?;
    let requests = after
        .iter()
        .zip(&before)
        .fold(Requests::default(), |acc, (a, b)| acc.plus(&a.minus(b)));

    for m in &mounts {
        probe::unmount(m)?;
    }
    let mut retries = BTreeMap::new();
    let mut injected = BTreeMap::new();
    for m in &mounts {
        let log = m.log();
        count_retries(&log, &mut retries);
        count_injected(&log, &mut injected);
    }

    let expected: HashSet<String> = (0..s.mounts)
        .flat_map(|k| (0..s.files).map(move |i| format!("m{k}-{i}")))
        .filter(|n| !failed_names.contains(n))
        .collect();
    let listed = rt.block_on(check_listing(&store, &expected))?;
    let fsck = crate::fsck(&store)?;
    Ok(Created {
        label: s.label.clone(),
        mounts: s.mounts,
        files: s.files,
        faults: s.faults.clone(),
        secs,
        failed: failed_names.len() as u64,
        errors,
        requests,
        retries,
        injected,
        listed,
        fsck,
    })
}

fn spawn_worker(m: &Mount, k: usize, files: usize) -> Result<Child, String> {
    Command::new("sh")
        .arg("-c")
        .arg(WORKER)
        .env("D", m.path(DIR))
        .env("P", format!("m{k}-"))
        .env("N", files.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("start a worker shell: {e}"))
}

/// A fresh client lists the directory: every expected name exactly once,
/// nothing else.
async fn check_listing(store: &Store, expected: &HashSet<String>) -> Result<usize, String> {
    let opened = store.open().await;
    let fs = Fs::open(Arc::clone(&opened.store), FsOptions::default())
        .await
        .map_err(|e| format!("open the file system: {e}"))?;
    let c = Caller::root();
    let dir = fs
        .lookup(&c, ROOT_INO, DIR.as_bytes())
        .await
        .map_err(|e| format!("lookup {DIR}: {e}"))?;
    let mut h = fs.opendir(&c, dir.ino).await.map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    let mut offset = 0;
    loop {
        let page = fs
            .readdir(&mut h, offset, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let Some((last, _)) = page.last() else { break };
        offset = *last;
        for (_, e) in page {
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let name = String::from_utf8_lossy(&e.name).into_owned();
            if !expected.contains(&name) {
                return Err(format!("{DIR}/{name} is listed but was not created"));
            }
            if !seen.insert(name.clone()) {
                return Err(format!("{DIR}/{name} is listed twice"));
            }
        }
    }
    if let Some(missing) = expected.iter().find(|n| !seen.contains(*n)) {
        return Err(format!(
            "{} created files are not listed, e.g. {DIR}/{missing}",
            expected.len() - seen.len()
        ));
    }
    let attr = fs.getattr(dir.ino).await.map_err(|e| e.to_string())?;
    if attr.nlink != 2 {
        return Err(format!("{DIR} has link count {}, not 2", attr.nlink));
    }
    Ok(seen.len())
}

/// Retry lines of the retry layer: "…retry: transaction: retrying
/// e=transaction conflict: … attempt=1 d=…".
fn count_retries(log: &str, into: &mut BTreeMap<String, u64>) {
    for l in log.lines() {
        let Some((head, tail)) = l.split_once(": retrying e=") else {
            continue;
        };
        let what = head.rsplit(": ").next().unwrap_or(head);
        let why = if tail.starts_with("transaction conflict") {
            "conflict"
        } else if tail.starts_with("throttled") && tail.contains("sqlite busy") {
            "sqlite busy"
        } else if tail.starts_with("throttled") {
            "throttled"
        } else if tail.starts_with("request timed out") {
            "timeout"
        } else {
            "other"
        };
        *into.entry(format!("{what}: {why}")).or_insert(0) += 1;
    }
}

/// The injector's summary line: "faults injected: throttle=18 timeout=12 …".
fn count_injected(log: &str, into: &mut BTreeMap<String, u64>) {
    for l in log.lines() {
        let Some((_, counts)) = l.split_once("faults injected: ") else {
            continue;
        };
        for kv in counts.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                if let Ok(n) = v.parse::<u64>() {
                    *into.entry(k.to_string()).or_insert(0) += n;
                }
            }
        }
    }
}
