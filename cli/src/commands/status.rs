//! `dynamofs status`: the cheap look at a file system (settings, tables,
//! mounts) that a monitoring check can run every minute.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comfy_table::Cell;
use dynamofs_core::status::{self, Status};
use dynamofs_core::store::TableState;
use dynamofs_core::superblock::{now_ns, Superblock};

use super::stats::{ago, bytes, expiry, right, session_json, short, span, table, table_name};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// Show a file system's settings, tables and mounts, without a scan.
///
/// Reads the superblock, describes both tables (state, billing, and the
/// item count and size that DynamoDB refreshes about every six hours) and
/// lists the sessions of the mounts with their host, mountpoint, version,
/// age, last heartbeat and how many inodes each may hold locks on: a
/// handful of requests whatever the size of the file system, so it suits
/// monitoring. `dynamofs stats` counts files and bytes exactly, by
/// scanning.
///
/// Exits 0 when both tables are usable, 1 when one is not (missing,
/// still being created, or of another layout).
///
/// Examples:
///   dynamofs status sqlite:/var/lib/dynamofs/home.db
///   dynamofs status aws:us-east-1/team --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct StatusArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Print a machine-readable report (JSON)
    #[arg(long)]
    pub json: bool,
}

pub async fn run(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let store = opened.store.as_ref();
    let sb = Superblock::load(store)
        .await
        .with_context(|| format!("cannot use {src}"))?;
    let st = status::gather(store, sb)
        .await
        .with_context(|| format!("cannot read the status of {src}"))?;
    let now = now_ns();
    if args.json {
        crate::printer::out(report_json(&src.to_string(), &st, now))?;
    } else {
        printer.say(&report_text(&src.to_string(), &st, now))?;
    }
    let usable = st.tables.iter().all(|t| t.state == TableState::Ready);
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn state_text(s: &TableState) -> String {
    match s {
        TableState::Ready => "active".into(),
        TableState::Missing => "missing".into(),
        TableState::Busy(why) => format!("not ready: {why}"),
        TableState::Foreign(why) => format!("not a dynamofs table: {why}"),
    }
}

fn locked_of(st: &Status, id: &str) -> usize {
    st.locked
        .iter()
        .find(|(s, _)| s == id)
        .map_or(0, |(_, n)| *n)
}

fn report_text(source: &str, st: &Status, now: i64) -> String {
    let sb = &st.superblock;
    let mut out = format!(
        "{source}\n  file system {}, format {}, created {} ago\n  block size {}, compression {}\n\n",
        sb.fs_id,
        sb.version,
        span(now - sb.created),
        bytes(sb.block_size.into()),
        sb.compression,
    );
    let mut t = table(&["table", "name", "state", "billing", "items", "size"]);
    for ts in &st.tables {
        let unknown = || "-".to_string();
        t.add_row(vec![
            Cell::new(table_name(ts.table)),
            Cell::new(&ts.name),
            Cell::new(state_text(&ts.state)),
            Cell::new(
                ts.info
                    .billing
                    .clone()
                    .unwrap_or_else(|| "none (embedded)".into()),
            ),
            right(ts.info.items.map_or_else(unknown, |n| n.to_string())),
            right(ts.info.bytes.map_or_else(unknown, bytes)),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    if st.tables.iter().any(|t| t.info.items.is_some()) {
        out.push_str("items and size as DynamoDB last counted them (about every six hours); `dynamofs stats` scans for exact figures\n");
    }
    if st.sessions.is_empty() {
        out.push_str("no sessions: nothing has it mounted\n");
        return out;
    }
    let mut t = table(&[
        "session",
        "host",
        "pid",
        "mountpoint",
        "version",
        "age",
        "heartbeat",
        "state",
        "locked inodes",
        "metrics",
    ]);
    for i in &st.sessions {
        t.add_row(vec![
            Cell::new(short(&i.id)),
            Cell::new(&i.host),
            right(i.pid.to_string()),
            Cell::new(&i.mountpoint),
            Cell::new(&i.version),
            Cell::new(span(now - i.started)),
            Cell::new(ago(now - i.heartbeat)),
            Cell::new(expiry(i.expires, now)),
            right(locked_of(st, &i.id).to_string()),
            Cell::new(i.metrics.as_deref().unwrap_or("-")),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    out
}

fn report_json(source: &str, st: &Status, now: i64) -> Json {
    let sb = &st.superblock;
    let opt = |v: Option<u64>| v.map_or(Json::Null, Json::U);
    let tables = st
        .tables
        .iter()
        .map(|ts| {
            (
                table_name(ts.table).to_string(),
                Json::obj([
                    ("name", Json::s(&ts.name)),
                    ("state", Json::s(&state_text(&ts.state))),
                    ("ready", Json::Bool(ts.state == TableState::Ready)),
                    (
                        "billing",
                        ts.info.billing.as_deref().map_or(Json::Null, Json::s),
                    ),
                    (
                        "class",
                        ts.info.class.as_deref().map_or(Json::Null, Json::s),
                    ),
                    ("items", opt(ts.info.items)),
                    ("bytes", opt(ts.info.bytes)),
                ]),
            )
        })
        .collect();
    let sessions = st
        .sessions
        .iter()
        .map(|i| {
            let mut j = session_json(i, now);
            if let Json::O(fields) = &mut j {
                fields.push(("locked_inodes".into(), Json::U(locked_of(st, &i.id) as u64)));
            }
            j
        })
        .collect();
    Json::obj([
        ("source", Json::s(source)),
        ("fs_id", Json::s(&sb.fs_id)),
        ("format", Json::I(sb.version)),
        ("created_ns", Json::I(sb.created)),
        ("block_size", Json::U(sb.block_size.into())),
        ("compression", Json::s(&sb.compression)),
        ("tables", Json::O(tables)),
        ("sessions", Json::A(sessions)),
    ])
}
