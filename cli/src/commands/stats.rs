//! `dynamofs stats`: what a file system holds, which mounts use it, what
//! they ask of the store and what that costs. Also the small output
//! helpers `fsck` and `lock` share (JSON, tables, sizes and ages).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use dynamofs_core::session::SessionInfo;
use dynamofs_core::stats::{self, Stats, Totals, ON_DEMAND_US_EAST_1};
use dynamofs_core::store::{self as core_store, RequestKind};
use dynamofs_core::superblock::now_ns;

use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// Show what a file system holds, which mounts use it, and what it costs.
///
/// Counts files, directories and bytes by scanning both tables (a Scan
/// reads every item, and DynamoDB bills it like any read: on a large file
/// system, prefer running it rarely). Lists the sessions of the mounts,
/// live and expired, and the store requests each live mount publishes with
/// its heartbeat (counted since the mount started). Ends with an estimate
/// of the monthly DynamoDB storage cost and of the cost of the published
/// requests, at us-east-1 on-demand prices; the assumptions are printed.
///
/// --json prints one object holding the same figures. --watch shows
/// instead, every SECS seconds (1 by default) until interrupted, what each
/// live mount does per second: kernel operations, store requests and bytes,
/// open files and buffered bytes, read live from mounts started with -o
/// metrics=, else from the counters their heartbeats publish. It does not
/// scan: one request per refresh. With --json, one object per refresh.
///
/// Examples:
///   dynamofs stats sqlite:/var/lib/dynamofs/home.db
///   dynamofs stats aws:us-east-1/team --json
///   dynamofs stats aws:us-east-1/team --watch
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct StatsArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Print a machine-readable report (JSON)
    #[arg(long)]
    pub json: bool,

    /// Instead of the report: a live view of every mount's operations,
    /// requests and bytes per second, every SECS seconds (default 1),
    /// until interrupted; no scan, one request per refresh
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "1", value_parser = parse_secs)]
    pub watch: Option<u64>,
}

fn parse_secs(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

pub async fn run(
    global: &GlobalArgs,
    args: &StatsArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    if let Some(secs) = args.watch {
        let every = Duration::from_secs(secs);
        return super::watch::run(
            opened.store.as_ref(),
            &src.to_string(),
            every,
            args.json,
            printer,
        )
        .await;
    }
    let bar = printer.spinner();
    let progress = |t: core_store::Table, n: u64| {
        bar.set_message(format!("scanning {} table: {n} items", table_name(t)));
    };
    let st = stats::gather(opened.store.as_ref(), &progress).await;
    bar.finish_and_clear();
    let st = st.with_context(|| format!("cannot read {src}"))?;
    let now = now_ns();
    let requests = st.live_requests(now);
    if args.json {
        crate::printer::out(report_json(&src.to_string(), &st, &requests, now))?;
    } else {
        printer.say(&report_text(&src.to_string(), &st, &requests, now))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn table_name(t: core_store::Table) -> &'static str {
    match t {
        core_store::Table::Meta => "metadata",
        core_store::Table::Blocks => "data",
    }
}

const ASSUMPTIONS: &[&str] = &[
    "DynamoDB on-demand, us-east-1: $0.625 per million write units (1 KB), \
     $0.125 per million read units (4 KB, strongly consistent), $0.25 per GB-month",
    "storage: the items of both tables plus DynamoDB's 100 bytes per item; GB = 2^30 bytes",
    "requests: what live mounts published, counted since each mount started; units \
     rounded per kind of request, not per item (small items cost more); transactions \
     cost double; table administration is free",
];

fn report_text(source: &str, st: &Stats, requests: &[(RequestKind, Totals)], now: i64) -> String {
    let sb = &st.superblock;
    let mut out = format!(
        "file system {} on {source}: block size {} KiB, compression {}, created {}\n",
        sb.fs_id,
        sb.block_size / 1024,
        sb.compression,
        ago(now - sb.created)
    );
    let mut t = table(&["contents", "count"]);
    let rows: Vec<(&str, String)> = vec![
        ("files", st.files.to_string()),
        ("directories", st.directories.to_string()),
        ("symbolic links", st.symlinks.to_string()),
        ("devices, FIFOs, sockets", st.special.to_string()),
        ("orphans awaiting collection", st.orphans.to_string()),
        ("damaged inodes", st.damaged.to_string()),
        ("logical size of files", bytes(st.logical_bytes)),
        ("stored data (blocks)", bytes(st.blocks.bytes)),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), right(v)]);
    }
    out.push_str(&format!("{t}\n"));
    let mut t = table(&["table", "items", "bytes"]);
    for (name, ts) in [("metadata", st.meta), ("data (Blocks)", st.blocks)] {
        t.add_row(vec![
            Cell::new(name),
            right(ts.items.to_string()),
            right(bytes(ts.bytes)),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    if st.sessions.is_empty() {
        out.push_str("no sessions: nothing has it mounted\n");
    } else {
        let mut t = table(&[
            "session",
            "host",
            "pid",
            "mountpoint",
            "version",
            "heartbeat",
            "state",
            "requests",
        ]);
        for s in &st.sessions {
            let i = &s.info;
            let total: u64 = s.requests.iter().flatten().map(|(_, t)| t.requests).sum();
            t.add_row(vec![
                Cell::new(short(&i.id)),
                Cell::new(&i.host),
                right(i.pid.to_string()),
                Cell::new(&i.mountpoint),
                Cell::new(&i.version),
                Cell::new(ago(now - i.heartbeat)),
                Cell::new(expiry(i.expires, now)),
                right(match &s.requests {
                    Some(_) => total.to_string(),
                    None => "-".into(),
                }),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    let mut t = table(&[
        "requests of live mounts",
        "requests",
        "items",
        "read",
        "written",
    ]);
    for (k, tot) in requests.iter().filter(|(_, t)| t.requests > 0) {
        t.add_row(vec![
            Cell::new(k.name()),
            right(tot.requests.to_string()),
            right(tot.items.to_string()),
            right(bytes(tot.bytes_read)),
            right(bytes(tot.bytes_written)),
        ]);
    }
    if requests.iter().all(|(_, t)| t.requests == 0) {
        out.push_str("no requests published by live mounts\n");
    } else {
        out.push_str(&format!("{t}\n"));
    }
    let cost = stats::estimate(st, requests, &ON_DEMAND_US_EAST_1);
    let mut t = table(&["estimated DynamoDB cost", "quantity", "US$"]);
    t.add_row(vec![
        Cell::new("storage, per month"),
        right(bytes(cost.billed_bytes)),
        right(usd(cost.storage_per_month)),
    ]);
    t.add_row(vec![
        Cell::new("published requests"),
        right(format!(
            "{} read units, {} write units",
            cost.read_units, cost.write_units
        )),
        right(usd(cost.requests)),
    ]);
    out.push_str(&format!("{t}\nassumptions:\n"));
    for a in ASSUMPTIONS {
        out.push_str(&format!("  - {a}\n"));
    }
    out.trim_end().to_string()
}

fn report_json(source: &str, st: &Stats, requests: &[(RequestKind, Totals)], now: i64) -> Json {
    let totals = |t: &Totals| {
        Json::obj([
            ("requests", Json::U(t.requests)),
            ("items", Json::U(t.items)),
            ("bytes_read", Json::U(t.bytes_read)),
            ("bytes_written", Json::U(t.bytes_written)),
        ])
    };
    let per_kind = |r: &[(RequestKind, Totals)]| {
        Json::O(
            r.iter()
                .filter(|(_, t)| t.requests > 0)
                .map(|(k, t)| (k.name().to_string(), totals(t)))
                .collect(),
        )
    };
    let sessions = st
        .sessions
        .iter()
        .map(|s| {
            let mut j = session_json(&s.info, now);
            if let Json::O(fields) = &mut j {
                fields.push((
                    "requests".into(),
                    s.requests.as_deref().map_or(Json::Null, per_kind),
                ));
            }
            j
        })
        .collect();
    let cost = stats::estimate(st, requests, &ON_DEMAND_US_EAST_1);
    let sb = &st.superblock;
    Json::obj([
        ("source", Json::s(source)),
        ("fs_id", Json::s(&sb.fs_id)),
        ("block_size", Json::U(sb.block_size.into())),
        ("compression", Json::s(&sb.compression)),
        ("files", Json::U(st.files)),
        ("directories", Json::U(st.directories)),
        ("symlinks", Json::U(st.symlinks)),
        ("special", Json::U(st.special)),
        ("orphans", Json::U(st.orphans)),
        ("damaged_inodes", Json::U(st.damaged)),
        ("logical_bytes", Json::U(st.logical_bytes)),
        ("stored_bytes", Json::U(st.blocks.bytes)),
        (
            "tables",
            Json::obj([
                ("meta", table_json(st.meta)),
                ("blocks", table_json(st.blocks)),
            ]),
        ),
        ("sessions", Json::A(sessions)),
        ("requests", per_kind(requests)),
        (
            "cost",
            Json::obj([
                ("billed_bytes", Json::U(cost.billed_bytes)),
                ("storage_usd_per_month", Json::F(cost.storage_per_month)),
                ("read_units", Json::U(cost.read_units)),
                ("write_units", Json::U(cost.write_units)),
                ("requests_usd", Json::F(cost.requests)),
                (
                    "assumptions",
                    Json::A(ASSUMPTIONS.iter().map(|a| Json::s(a)).collect()),
                ),
            ]),
        ),
    ])
}

/// Dollars, with the digits that matter for small sums.
/// A session as `stats` and `status` print it in JSON.
pub fn session_json(i: &SessionInfo, now: i64) -> Json {
    Json::obj([
        ("id", Json::s(&i.id)),
        ("host", Json::s(&i.host)),
        ("pid", Json::U(i.pid.into())),
        ("mountpoint", Json::s(&i.mountpoint)),
        ("version", Json::s(&i.version)),
        ("started_ns", Json::I(i.started)),
        ("heartbeat_ns", Json::I(i.heartbeat)),
        ("expires_ns", Json::I(i.expires)),
        ("expired", Json::Bool(i.is_expired(now))),
        ("metrics", i.metrics.as_deref().map_or(Json::Null, Json::s)),
    ])
}

fn usd(x: f64) -> String {
    if x == 0.0 || x >= 0.01 {
        format!("{x:.2}")
    } else {
        format!("{x:.6}")
    }
}

fn table_json(t: stats::TableStats) -> Json {
    Json::obj([("items", Json::U(t.items)), ("bytes", Json::U(t.bytes))])
}

// ---------------------------------------------------------------------------
// Output helpers shared by fsck, lock and stats.

/// A table for stdout: box drawing on a terminal, plain ASCII in a pipe.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.load_preset(presets::ASCII_FULL_CONDENSED);
    }
    t.set_header(header.iter().copied());
    t
}

pub fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// A byte count for people: 1536 -> "1.5 KiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A span of nanoseconds for people: "42s", "3m 12s", "2h 5m", "4d 3h".
pub fn span(ns: i64) -> String {
    let s = ns.max(0) / 1_000_000_000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long ago a time (ns since 1970) was.
pub fn ago(ns: i64) -> String {
    if ns < 0 {
        return "in the future (clocks disagree)".into();
    }
    format!("{} ago", span(ns))
}

/// A session expiry relative to now.
pub fn expiry(expires: i64, now: i64) -> String {
    if expires <= now {
        format!("expired {} ago", span(now.saturating_sub(expires)))
    } else {
        format!("live, expires in {}", span(expires - now))
    }
}

/// The first 8 digits of a session id: what listings show, and what
/// `lock break --session` accepts (any unique prefix).
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Go on only with a yes: `what` (e.g. "break lock 3fa2c4d1") is asked
/// on a terminal; elsewhere `--yes` is needed.
pub fn confirm(what: &str, yes: bool) -> anyhow::Result<()> {
    match ask(&format!("{what}? [y/N] "), what, yes)? {
        None => Ok(()),
        Some(a) if matches!(a.to_ascii_lowercase().as_str(), "y" | "yes") => Ok(()),
        Some(_) => bail!("not confirmed: nothing was changed"),
    }
}

/// The user's answer to `question` on a terminal (trimmed); `None` when
/// --yes answered it already. Elsewhere without --yes, an error saying to
/// pass it to `what`.
pub fn ask(question: &str, what: &str, yes: bool) -> anyhow::Result<Option<String>> {
    use std::io::Write;
    if yes {
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        bail!("not confirmed (stdin is not a terminal): pass --yes to {what}");
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(Some(line.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_spans() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(span(61_000_000_000), "1m 1s");
        assert_eq!(span(90_000 * 1_000_000_000), "1d 1h");
        assert_eq!(expiry(0, 5_000_000_000), "expired 5s ago");
    }
}
