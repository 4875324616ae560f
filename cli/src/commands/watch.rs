//! `dynamofs stats SOURCE --watch`: a live view of what every mount does,
//! per second, like `juicefs stats`, at one store request per refresh (the
//! sessions' listing) and never a scan. A mount with `-o metrics=` is read
//! live from its endpoint; one without, from the counters its heartbeat
//! publishes (every third of its lease), its rates over its own beats.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use comfy_table::Cell;
use dynamofs_core::session::{Session, SessionInfo};
use dynamofs_core::stats::decode_counters;
use dynamofs_core::store::{RequestKind, Store};
use dynamofs_core::superblock::now_ns;

use super::scrape::{self, Scrape};
use super::stats::{bytes, right, short, table};
use crate::json::Json;
use crate::printer::Printer;

/// One mount's totals at one moment.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// When (monotonic for a scrape; the heartbeat's own time otherwise).
    at: f64,
    fuse: Option<f64>,
    requests: f64,
    read: f64,
    written: f64,
    open: Option<f64>,
    dirty: Option<f64>,
    live: bool,
}

fn sample(s: &SessionInfo, start: Instant) -> Option<Sample> {
    if let Some(url) = &s.metrics {
        if let Ok(m) = Scrape::fetch(url) {
            return Some(Sample {
                at: start.elapsed().as_secs_f64(),
                fuse: Some(m.sum("dynamofs_fuse_requests_total")),
                requests: scrape::requests(&m),
                read: m.sum("dynamofs_store_read_bytes_total"),
                written: m.sum("dynamofs_store_written_bytes_total"),
                open: Some(m.sum("dynamofs_open_files")),
                dirty: Some(m.sum("dynamofs_dirty_bytes")),
                live: true,
            });
        }
    }
    let counters = decode_counters(s.counters.as_deref()?).ok()?;
    let mut out = Sample {
        at: s.heartbeat as f64 / 1e9,
        fuse: None,
        requests: 0.0,
        read: 0.0,
        written: 0.0,
        open: None,
        dirty: None,
        live: false,
    };
    for (k, t) in counters {
        if k != RequestKind::Admin {
            out.requests += t.requests as f64;
        }
        out.read += t.bytes_read as f64;
        out.written += t.bytes_written as f64;
    }
    Some(out)
}

/// Per-second rates between two samples of one mount.
struct Rates {
    fuse: Option<f64>,
    requests: f64,
    read: f64,
    written: f64,
}

fn rates(a: &Sample, b: &Sample) -> Option<Rates> {
    let dt = b.at - a.at;
    if dt <= 0.0 || a.live != b.live {
        return None;
    }
    let per = |x: f64, y: f64| ((y - x) / dt).max(0.0);
    Some(Rates {
        fuse: a.fuse.zip(b.fuse).map(|(x, y)| per(x, y)),
        requests: per(a.requests, b.requests),
        read: per(a.read, b.read),
        written: per(a.written, b.written),
    })
}

pub async fn run(
    store: &dyn Store,
    source: &str,
    every: Duration,
    json: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut last: HashMap<String, Sample> = HashMap::new();
    let mut shown: HashMap<String, Rates> = HashMap::new();
    loop {
        let sessions = Session::list(store)
            .await
            .with_context(|| format!("cannot list the sessions of {source}"))?;
        let now = now_ns();
        let live: Vec<SessionInfo> = sessions
            .into_iter()
            .filter(|s| !s.is_expired(now))
            .collect();
        let mut samples = Vec::new();
        for s in &live {
            let smp = sample(s, start);
            if let Some(smp) = smp {
                // A heartbeat's counters change only at the next beat: keep
                // the rates from the last change until then.
                if let Some(r) = last.get(&s.id).and_then(|p| rates(p, &smp)) {
                    shown.insert(s.id.clone(), r);
                }
                if last.get(&s.id).is_none_or(|p| p.at != smp.at) {
                    last.insert(s.id.clone(), smp);
                }
            }
            samples.push(smp);
        }
        let rows: Vec<Row> = live
            .iter()
            .zip(samples)
            .map(|(s, smp)| (s, smp, shown.get(&s.id)))
            .collect();
        if json {
            crate::printer::out(json_view(&rows, now))?;
        } else {
            if std::io::stdout().is_terminal() {
                print!("\x1b[2J\x1b[H");
            }
            printer.say(&text_view(source, &rows, every))?;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

type Row<'a> = (&'a SessionInfo, Option<Sample>, Option<&'a Rates>);

fn text_view(source: &str, rows: &[Row], every: Duration) -> String {
    if rows.is_empty() {
        return format!("{source}: no live mounts");
    }
    let mut t = table(&[
        "session",
        "host",
        "mountpoint",
        "from",
        "fuse ops/s",
        "requests/s",
        "read/s",
        "written/s",
        "open",
        "dirty",
    ]);
    let num = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    let per = |v: Option<f64>| v.map_or("-".to_string(), |x| bytes(x as u64));
    for (s, smp, r) in rows {
        t.add_row(vec![
            Cell::new(short(&s.id)),
            Cell::new(&s.host),
            Cell::new(&s.mountpoint),
            Cell::new(match smp {
                Some(x) if x.live => "metrics",
                Some(_) => "heartbeat",
                None => "-",
            }),
            right(num(r.and_then(|r| r.fuse))),
            right(num(r.map(|r| r.requests))),
            right(per(r.map(|r| r.read))),
            right(per(r.map(|r| r.written))),
            right(
                smp.and_then(|x| x.open)
                    .map_or("-".into(), |x| format!("{x:.0}")),
            ),
            right(per(smp.and_then(|x| x.dirty))),
        ]);
    }
    format!(
        "{source}: live mounts, every {} s (Ctrl-C to stop; `-` until a second sample, or for a mount without -o metrics)\n{t}",
        every.as_secs()
    )
}

fn json_view(rows: &[Row], now: i64) -> Json {
    let opt = |v: Option<f64>| v.map_or(Json::Null, Json::F);
    let mounts = rows
        .iter()
        .map(|(s, smp, r)| {
            Json::obj([
                ("session", Json::s(&s.id)),
                ("host", Json::s(&s.host)),
                ("mountpoint", Json::s(&s.mountpoint)),
                (
                    "from",
                    match smp {
                        Some(x) if x.live => Json::s("metrics"),
                        Some(_) => Json::s("heartbeat"),
                        None => Json::Null,
                    },
                ),
                ("fuse_ops_per_s", opt(r.and_then(|r| r.fuse))),
                ("requests_per_s", opt(r.map(|r| r.requests))),
                ("read_bytes_per_s", opt(r.map(|r| r.read))),
                ("written_bytes_per_s", opt(r.map(|r| r.written))),
                ("requests", opt(smp.map(|x| x.requests))),
                ("open_files", opt(smp.and_then(|x| x.open))),
                ("dirty_bytes", opt(smp.and_then(|x| x.dirty))),
            ])
        })
        .collect();
    Json::obj([("at_ns", Json::I(now)), ("mounts", Json::A(mounts))])
}
