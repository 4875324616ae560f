//! `dynamofs fsck`: check a file system's consistency and repair what is
//! safe, without mounting it.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comfy_table::Cell;
use dynamofs_core::check::Problem;
use dynamofs_core::fsck::{self, Outcome};

use super::stats::{right, short, table};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// Check a file system's consistency, and repair what is safe.
///
/// Scans both tables (every item: DynamoDB bills a Scan like any read) and
/// checks every invariant of the schema: entries name live inodes of their
/// type; link counts and directory counters agree with the entries; the
/// tree is connected and acyclic; data blocks lie within their file's size
/// and belong to its current generation or to a dead one awaiting
/// collection; every block decodes and matches its checksum (reported by
/// path and offset; the scan reads the bytes anyway, so this costs no
/// request); orphans and their records; expired sessions and the locks
/// they still hold; the superblock. An item the store cannot decode is
/// reported, and the scan goes on.
///
/// --repair fixes what is safe and lists what it did: dangling entries
/// removed, link counts, modes and directory counters corrected, orphans
/// collected, expired sessions reaped with their locks. It never deletes
/// what could be a file's data: inodes no name reaches, and blocks whose
/// inode is gone (given an inode back), are named /lost+found/#INO, as
/// e2fsck does; only provable garbage goes (blocks past their file's size,
/// of a dead generation, of a collected orphan). Each repair is a
/// conditional write on the state fsck read, so it never undoes a change a
/// live mount made meanwhile. Damaged items and blocks, the superblock and
/// the root are reported, never guessed at.
///
/// Safe to run while mounted: when live (unexpired) sessions exist, fsck
/// keeps only what two scans agree on, and repairs only dead state
/// (expired sessions, their locks, items of inodes that do not exist) and
/// garbage data of files no live mount holds open (it waits up to one
/// session TTL for the mounts to publish what they hold); --force repairs
/// the rest too.
///
/// Exit status, as fsck(8): 0 clean, 1 errors corrected, 4 errors left
/// uncorrected, 8 operational error (bad source, missing table, network).
///
/// Examples:
///   dynamofs fsck sqlite:/var/lib/dynamofs/home.db
///   dynamofs fsck --repair aws:us-east-1/team
///   dynamofs fsck --json aws:us-east-1/team > report.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct FsckArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Repair what is safe, and list what was done
    #[arg(long)]
    pub repair: bool,

    /// Print a machine-readable report (JSON)
    #[arg(long)]
    pub json: bool,

    /// With --repair: repair live state even while mounts are live
    #[arg(long, requires = "repair")]
    pub force: bool,
}

pub async fn run(
    global: &GlobalArgs,
    args: &FsckArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    match check(global, args, printer).await {
        Ok(code) => Ok(code),
        Err(e) => {
            // fsck(8): operational errors are exit status 8, not 1.
            printer.error(&e);
            Ok(ExitCode::from(8))
        }
    }
}

async fn check(
    global: &GlobalArgs,
    args: &FsckArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let opts = fsck::Options {
        repair: args.repair,
        force: args.force,
    };
    let bar = printer.spinner();
    let progress = |what: &str| bar.set_message(what.to_string());
    let out = fsck::fsck(opened.store, opts, &progress).await;
    bar.finish_and_clear();
    let out = out.with_context(|| format!("cannot check {src}"))?;
    let source = src.to_string();
    let shown = if args.json {
        crate::printer::out(report_json(&source, &out))
    } else {
        printer.say(&report_text(&source, &out))
    };
    match shown {
        // The reader left; what fsck found and did stands, and so does
        // the exit status that says it.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::from(out.exit_code())),
    }
}

/// Every problem and note found at first, then those the repairs revealed.
fn listed(out: &Outcome) -> Vec<(&Problem, bool)> {
    let mut v: Vec<(&Problem, bool)> = out.found.problems.iter().map(|p| (p, false)).collect();
    v.extend(out.found.notes.iter().map(|p| (p, true)));
    let later = out.remaining.problems.iter().map(|p| (p, false));
    let later = later.chain(out.remaining.notes.iter().map(|p| (p, true)));
    let later: Vec<_> = later
        .filter(|(p, _)| !out.found.problems.contains(p) && !out.found.notes.contains(p))
        .collect();
    v.extend(later);
    v
}

/// What became of a problem: "found" (no repair asked), "repaired" or "left".
fn status(out: &Outcome, p: &Problem) -> (&'static str, Option<String>) {
    if !out.options.repair {
        ("found", None)
    } else if out.is_gone(p) {
        ("repaired", None)
    } else {
        ("left", Some(out.why_left(p)))
    }
}

fn report_text(source: &str, out: &Outcome) -> String {
    let (f, r) = (&out.found, &out.remaining);
    let mut s = String::new();
    if !out.live.is_empty() {
        let who: Vec<String> = out
            .live
            .iter()
            .map(|l| {
                format!(
                    "{} ({} pid {}, {})",
                    short(&l.id),
                    l.host,
                    l.pid,
                    l.mountpoint
                )
            })
            .collect();
        s.push_str(&format!(
            "{} live session(s): {}; findings are what two scans agree on\n",
            out.live.len(),
            who.join(", ")
        ));
    }
    let expired = f.sessions.len() - out.live.len();
    let mut t = table(&["checked", "count"]);
    let rows = [
        ("metadata items", f.meta_items),
        ("inodes", f.inodes),
        ("directories", f.dirs),
        ("directory entries", f.entries),
        ("orphans awaiting collection", f.orphans),
        ("data blocks", f.blocks),
        ("live sessions", out.live.len() as u64),
        ("expired sessions", expired as u64),
        ("lock records", f.locks),
        ("scans", out.scans.into()),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), right(v.to_string())]);
    }
    s.push_str(&format!("{t}\n"));
    let items = listed(out);
    if !items.is_empty() {
        let mut t = table(&["level", "problem", "status"]);
        for (p, note) in &items {
            let (st, why) = status(out, p);
            let st = match why {
                Some(w) => format!("{st}: {w}"),
                None => st.to_string(),
            };
            t.add_row(vec![
                Cell::new(if *note { "note" } else { "error" }),
                Cell::new(p),
                Cell::new(st),
            ]);
        }
        s.push_str(&format!("{t}\n"));
    }
    if !out.actions.is_empty() {
        s.push_str("repairs made:\n");
        for a in &out.actions {
            s.push_str(&format!("  - {a}\n"));
        }
    }
    for e in &out.failures {
        s.push_str(&format!("repair failed: {e}\n"));
    }
    let errors = f.problems.len();
    s.push_str(&match (out.options.repair, out.exit_code()) {
        (_, 0) => format!("{source}: clean"),
        (false, _) => format!(
            "{source}: {errors} error(s) found; `dynamofs fsck --repair {source}` repairs what is safe"
        ),
        (true, 1) => format!("{source}: {errors} error(s) corrected; it is clean now"),
        (true, _) => format!(
            "{source}: {} error(s) left uncorrected (see their status above)",
            r.problems.len()
        ),
    });
    s
}

fn report_json(source: &str, out: &Outcome) -> Json {
    let (f, r) = (&out.found, &out.remaining);
    let problem = |(p, note): &(&Problem, bool)| {
        let (st, why) = status(out, p);
        Json::obj([
            ("kind", Json::s(p.kind())),
            ("note", Json::Bool(*note)),
            ("message", Json::S(p.to_string())),
            ("status", Json::s(st)),
            ("why_left", why.map_or(Json::Null, Json::S)),
        ])
    };
    let strings = |v: &[String]| Json::A(v.iter().map(|s| Json::s(s)).collect());
    let live = out
        .live
        .iter()
        .map(|l| {
            Json::obj([
                ("id", Json::s(&l.id)),
                ("host", Json::s(&l.host)),
                ("pid", Json::U(l.pid.into())),
                ("mountpoint", Json::s(&l.mountpoint)),
            ])
        })
        .collect();
    Json::obj([
        ("source", Json::s(source)),
        ("exit_code", Json::U(out.exit_code().into())),
        ("clean", Json::Bool(r.problems.is_empty())),
        ("repair", Json::Bool(out.options.repair)),
        ("force", Json::Bool(out.options.force)),
        ("scans", Json::U(out.scans.into())),
        (
            "counts",
            Json::obj([
                ("meta_items", Json::U(f.meta_items)),
                ("inodes", Json::U(f.inodes)),
                ("directories", Json::U(f.dirs)),
                ("entries", Json::U(f.entries)),
                ("orphans", Json::U(f.orphans)),
                ("blocks", Json::U(f.blocks)),
                ("sessions", Json::U(f.sessions.len() as u64)),
                ("locks", Json::U(f.locks)),
            ]),
        ),
        ("live_sessions", Json::A(live)),
        ("errors_found", Json::U(f.problems.len() as u64)),
        ("errors_left", Json::U(r.problems.len() as u64)),
        (
            "problems",
            Json::A(listed(out).iter().map(problem).collect()),
        ),
        ("repairs", strings(&out.actions)),
        ("failures", strings(&out.failures)),
    ])
}
