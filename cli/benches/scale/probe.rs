//! What the scale run observes from outside: a process's memory, the
//! request counters a mount publishes in its session item, and clean
//! unmounts.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use dynamofs_core::schema::SESSIONS_P;
use dynamofs_core::session::attr;
use dynamofs_core::stats::decode_counters;
use dynamofs_core::store::{Query, Range, RequestKind, Store, Table, Value};

use crate::common::Mount;

pub const MIB: u64 = 1 << 20;

/// A field of /proc/PID/status in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset a process's peak RSS (VmHWM) to its current RSS, so that the
/// next reading is the peak of what follows ("5" > clear_refs, Linux ≥ 4.0).
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Memory of one process over one step: RSS when it began, peak during it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub start_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    /// Start watching `pid`: resets its peak. `None` when the kernel
    /// refuses (then no memory figure is reported rather than a wrong one).
    pub fn start(pid: u32) -> Option<u64> {
        if !reset_peak(pid) {
            return None;
        }
        status_kib(pid, "VmRSS:")
    }

    pub fn finish(pid: u32, start_kib: Option<u64>) -> Option<Memory> {
        Some(Memory {
            start_kib: start_kib?,
            peak_kib: status_kib(pid, "VmHWM:")?,
        })
    }

    pub fn growth_mib(&self) -> f64 {
        self.peak_kib.saturating_sub(self.start_kib) as f64 / 1024.0
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Requests by kind (count, items), as a mount published them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requests(pub BTreeMap<RequestKind, (u64, u64)>);

impl Requests {
    pub fn total(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| **k != RequestKind::Admin)
            .map(|(_, (n, _))| n)
            .sum()
    }

    pub fn count(&self, k: RequestKind) -> u64 {
        self.0.get(&k).map(|c| c.0).unwrap_or(0)
    }

    pub fn minus(&self, before: &Requests) -> Requests {
        let mut out = self.clone();
        for (k, (n, items)) in &before.0 {
            let e = out.0.entry(*k).or_default();
            e.0 = e.0.saturating_sub(*n);
            e.1 = e.1.saturating_sub(*items);
        }
        out.0.retain(|_, (n, _)| *n > 0);
        out
    }

    pub fn plus(&self, other: &Requests) -> Requests {
        let mut out = self.clone();
        for (k, (n, items)) in &other.0 {
            let e = out.0.entry(*k).or_default();
            e.0 += n;
            e.1 += items;
        }
        out
    }

    /// "Query 12, BatchGetItem 1001 (100000 items)".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter(|(k, (n, _))| **k != RequestKind::Admin && *n > 0)
            .map(|(k, (n, items))| match k {
                RequestKind::BatchGetItem | RequestKind::BatchWriteItem => {
                    format!("{} {n} ({items} items)", k.name())
                }
                _ => format!("{} {n}", k.name()),
            })
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One session item's published state.
struct Published {
    beat: i64,
    requests: Requests,
}

/// The session item of the mount served by process `pid`, if registered.
async fn published(store: &dyn Store, pid: u32) -> Result<Option<Published>, String> {
    let mut q = Query::new(Table::Meta, SESSIONS_P.to_vec(), Range::All);
    loop {
        let page = store.query(&q).await.map_err(|e| e.to_string())?;
        for it in &page.items {
            if it.attrs.get(attr::PID).and_then(Value::as_n) != Some(pid as i64) {
                continue;
            }
            let beat = it.attrs.get(attr::BEAT).and_then(Value::as_n).unwrap_or(0);
            let requests = match it.attrs.get(attr::COUNTERS).and_then(Value::as_b) {
                Some(b) => decode_counters(b)?
                    .into_iter()
                    .map(|(k, t)| (k, (t.requests, t.items)))
                    .collect(),
                None => BTreeMap::new(),
            };
            return Ok(Some(Published {
                beat,
                requests: Requests(requests),
            }));
        }
        match page.next {
            Some(n) => q.start_after = Some(n),
            None => return Ok(None),
        }
    }
}

/// The request counts of each mount (by server pid) as of a heartbeat that
/// began after this call: everything they did before the call is in them.
/// Waits for two heartbeats past the one seen first, because the heartbeat
/// in flight when this is called may have read its counters earlier.
pub async fn settled(store: &dyn Store, pids: &[u32]) -> Result<Vec<Requests>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut first: Vec<Option<i64>> = vec![None; pids.len()];
    loop {
        let mut out = Vec::with_capacity(pids.len());
        for (i, pid) in pids.iter().enumerate() {
            if let Some(p) = published(store, *pid).await? {
                let b0 = *first[i].get_or_insert(p.beat);
                if p.beat >= b0 + 2 {
                    out.push(p.requests);
                }
            }
        }
        if out.len() == pids.len() {
            return Ok(out);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "mounts {pids:?} published no counters for 60 s: is session_ttl short and the \
                 heartbeat running?"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Unmount and wait until the server has flushed, ended its session and
/// exited (unlike `Mount`'s drop, which detaches lazily).
pub fn unmount(m: &Mount) -> Result<(), String> {
    let pid = m.server_pid();
    let st = Command::new("fusermount3")
        .arg("-u")
        .arg(&m.dir)
        .status()
        .map_err(|e| format!("fusermount3: {e}"))?;
    if !st.success() {
        return Err(format!("fusermount3 -u {} failed: {st}", m.dir.display()));
    }
    if let Some(pid) = pid {
        m.wait_gone(pid);
    }
    Ok(())
}

/// The pid serving a mount, or an error naming the mount.
pub fn server_pid(m: &Mount) -> Result<u32, String> {
    m.server_pid()
        .ok_or_else(|| format!("no server process found for {}", m.dir.display()))
}
