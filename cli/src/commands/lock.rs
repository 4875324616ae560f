//! `dynamofs lock`: list the locks held on a file system, and break them,
//! without mounting it.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args, Subcommand};
use comfy_table::Cell;
use dynamofs_core::check;
use dynamofs_core::locks::{LockKind, LockRecord, LockType, Locks, TO_EOF};
use dynamofs_core::session::{Session, SessionInfo};
use dynamofs_core::store::Store;
use dynamofs_core::superblock::{now_ns, Superblock};

use super::stats::{confirm, expiry, right, short, span, table};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// List the locks held on a file system, and break them.
///
/// Lists every fcntl (POSIX) and flock lock: an ID, the inode and a path
/// where it resolves, the byte range, the type, the owner session with its
/// host and pid, the lock's age, and when the session expires. A lock of an
/// expired session blocks nobody: a live mount (or fsck) removes it.
/// Listing scans the metadata table (every item) for the locks, and scans
/// it again for the directory entries that give the paths: files have no
/// pointer to their directory.
///
/// `break ID` removes one lock (an ID stays the same while the lock does);
/// `break --session SID` removes every lock of a session, e.g. of a mount
/// that is stuck (SID: a session id or a unique prefix, as listed). The
/// process holding a broken lock is not told. Breaking asks for a yes on a
/// terminal; elsewhere it needs --yes.
///
/// Examples:
///   dynamofs lock sqlite:/var/lib/dynamofs/home.db
///   dynamofs lock aws:us-east-1/team list --json
///   dynamofs lock aws:us-east-1/team break 3fa2c4d1
///   dynamofs lock aws:us-east-1/team break --session 9c1e0b7a --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LockArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    #[command(subcommand)]
    pub action: Option<LockAction>,

    /// Break without asking
    #[arg(short, long, global = true)]
    pub yes: bool,

    /// Print a machine-readable report (JSON)
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LockAction {
    /// List every held lock (the default)
    List,
    /// Break one lock by its ID, or every lock of a session
    Break(BreakArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "session"])))]
pub struct BreakArgs {
    /// The lock's ID, as `lock SOURCE list` shows it
    pub id: Option<String>,

    /// Break every lock of this session (its id, or a unique prefix)
    #[arg(long, value_name = "SID", conflicts_with = "id")]
    pub session: Option<String>,
}

/// A held lock, as listed.
struct Held {
    id: String,
    ino: u64,
    rec: LockRecord,
}

/// A short ID for a lock: FNV-1a of everything in its record, so it stays
/// the same while the lock is unchanged and differs between locks.
fn lock_id(ino: u64, r: &LockRecord) -> String {
    let text = format!(
        "{ino}\0{:?}\0{:?}\0{}\0{}\0{}\0{}\0{}\0{}\0{}",
        r.kind, r.typ, r.start, r.end, r.session, r.owner, r.pid, r.host, r.acquired
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", (h >> 32) ^ (h & 0xffff_ffff))
}

async fn held(store: &dyn Store) -> anyhow::Result<Vec<Held>> {
    let all = Locks::list_all(store)
        .await
        .context("cannot list the locks (a damaged lock item? `dynamofs fsck` reports it)")?;
    Ok(all
        .into_iter()
        .map(|(ino, rec)| Held {
            id: lock_id(ino, &rec),
            ino,
            rec,
        })
        .collect())
}

pub async fn run(
    global: &GlobalArgs,
    args: &LockArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let store = opened.store.as_ref();
    Superblock::load(store)
        .await
        .with_context(|| format!("cannot use {src}"))?;
    let bar = printer.spinner();
    bar.set_message("scanning the metadata table for locks");
    let locks = held(store).await;
    let sessions = Session::list(store).await;
    bar.finish_and_clear();
    let (locks, sessions) = (
        locks?,
        sessions.with_context(|| format!("cannot list the sessions of {src}"))?,
    );
    let sessions: HashMap<String, SessionInfo> =
        sessions.into_iter().map(|s| (s.id.clone(), s)).collect();
    match &args.action {
        None | Some(LockAction::List) => list(store, &locks, &sessions, args.json, printer).await,
        Some(LockAction::Break(b)) => match (&b.id, &b.session) {
            (Some(id), _) => break_one(store, &locks, &sessions, id, args, printer).await,
            (None, Some(sid)) => break_session(store, &locks, &sessions, sid, args, printer).await,
            (None, None) => bail!("say which lock to break: an ID, or --session SID"),
        },
    }
}

fn range(r: &LockRecord) -> String {
    match (r.kind, r.end) {
        (LockKind::Flock, _) => "whole file".into(),
        (_, TO_EOF) => format!("{}-EOF", r.start),
        _ => format!("{}-{}", r.start, r.end),
    }
}

fn kind(r: &LockRecord) -> (&'static str, &'static str) {
    let k = match r.kind {
        LockKind::Posix => "fcntl",
        LockKind::Flock => "flock",
    };
    let t = match r.typ {
        LockType::Read => "read",
        LockType::Write => "write",
    };
    (k, t)
}

fn session_state(sessions: &HashMap<String, SessionInfo>, id: &str, now: i64) -> String {
    match sessions.get(id) {
        Some(s) => expiry(s.expires, now),
        None => "gone (session ended)".into(),
    }
}

async fn list(
    store: &dyn Store,
    locks: &[Held],
    sessions: &HashMap<String, SessionInfo>,
    json: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let inos: HashSet<u64> = locks.iter().map(|l| l.ino).collect();
    let paths = if inos.is_empty() {
        HashMap::new()
    } else {
        let bar = printer.spinner();
        let progress = |_: dynamofs_core::store::Table, n: u64| {
            bar.set_message(format!("resolving paths: {n} metadata items scanned"))
        };
        let p = check::paths(store, &inos, &progress).await;
        bar.finish_and_clear();
        p.context("cannot scan the directory entries for the locks' paths")?
    };
    let now = now_ns();
    let path_of = |ino: u64| {
        paths
            .get(&ino)
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    if json {
        let v = locks
            .iter()
            .map(|l| {
                let r = &l.rec;
                let (k, t) = kind(r);
                let s = sessions.get(&r.session);
                Json::obj([
                    ("id", Json::s(&l.id)),
                    ("ino", Json::U(l.ino)),
                    ("path", path_of(l.ino).map_or(Json::Null, Json::S)),
                    ("kind", Json::s(k)),
                    ("type", Json::s(t)),
                    ("start", Json::U(r.start)),
                    (
                        "end",
                        if r.end == TO_EOF {
                            Json::Null
                        } else {
                            Json::U(r.end)
                        },
                    ),
                    ("session", Json::s(&r.session)),
                    ("owner", Json::U(r.owner)),
                    ("host", Json::s(&r.host)),
                    ("pid", Json::U(r.pid.into())),
                    ("acquired_ns", Json::I(r.acquired)),
                    (
                        "session_expires_ns",
                        s.map_or(Json::Null, |s| Json::I(s.expires)),
                    ),
                    ("expired", Json::Bool(s.is_none_or(|s| s.is_expired(now)))),
                ])
            })
            .collect();
        crate::printer::out(Json::A(v))?;
        return Ok(ExitCode::SUCCESS);
    }
    if locks.is_empty() {
        printer.say("no locks held")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&[
        "id",
        "inode",
        "path",
        "range",
        "type",
        "session",
        "host",
        "pid",
        "age",
        "session state",
    ]);
    for l in locks {
        let r = &l.rec;
        let (k, ty) = kind(r);
        t.add_row(vec![
            Cell::new(&l.id),
            right(l.ino.to_string()),
            Cell::new(path_of(l.ino).unwrap_or_else(|| "?".into())),
            Cell::new(range(r)),
            Cell::new(format!("{k} {ty}")),
            Cell::new(short(&r.session)),
            Cell::new(&r.host),
            right(r.pid.to_string()),
            right(span(now - r.acquired)),
            Cell::new(session_state(sessions, &r.session, now)),
        ]);
    }
    printer.say(&t.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn describe(l: &Held, sessions: &HashMap<String, SessionInfo>) -> String {
    let r = &l.rec;
    let (k, t) = kind(r);
    format!(
        "{k} {t} lock {} on inode {} ({}) held by pid {} on {} (session {}, {})",
        l.id,
        l.ino,
        range(r),
        r.pid,
        r.host,
        short(&r.session),
        session_state(sessions, &r.session, now_ns())
    )
}

async fn break_one(
    store: &dyn Store,
    locks: &[Held],
    sessions: &HashMap<String, SessionInfo>,
    id: &str,
    args: &LockArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let id = id.to_ascii_lowercase();
    let found: Vec<&Held> = locks.iter().filter(|l| l.id.starts_with(&id)).collect();
    let l = match found.as_slice() {
        [l] if !id.is_empty() => *l,
        [] | [_] => bail!(
            "no lock has ID `{id}`; `dynamofs lock {} list` shows the IDs",
            args.source
        ),
        _ => bail!("ID `{id}` is the start of several locks' IDs; give more digits"),
    };
    confirm(&format!("break the {}", describe(l, sessions)), args.yes)?;
    let broken = Locks::break_lock(store, l.ino, &l.rec)
        .await
        .with_context(|| format!("cannot break lock {}", l.id))?;
    if args.json {
        crate::printer::out(Json::obj([
            ("id", Json::s(&l.id)),
            ("broken", Json::Bool(broken)),
        ]))?;
    } else if broken {
        printer.say(&format!("broke the {}", describe(l, sessions)))?;
    } else {
        printer.say(&format!(
            "lock {} was released meanwhile: nothing to break",
            l.id
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn break_session(
    store: &dyn Store,
    locks: &[Held],
    sessions: &HashMap<String, SessionInfo>,
    sid: &str,
    args: &LockArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let sid = sid.to_ascii_lowercase();
    let mut ids: Vec<&str> = sessions.keys().map(String::as_str).collect();
    ids.extend(locks.iter().map(|l| l.rec.session.as_str()));
    ids.sort_unstable();
    ids.dedup();
    let matching: Vec<&str> = ids.into_iter().filter(|i| i.starts_with(&sid)).collect();
    let session = match matching.as_slice() {
        [s] if !sid.is_empty() => s.to_string(),
        [] | [_] => bail!(
            "no session `{sid}` holds locks or is registered; `dynamofs lock {} list` shows the sessions",
            args.source
        ),
        _ => bail!("`{sid}` is the start of several session ids; give more digits"),
    };
    let mine: Vec<&Held> = locks.iter().filter(|l| l.rec.session == session).collect();
    let who = match sessions.get(&session) {
        Some(s) => format!(
            "{} (host {}, pid {}, {})",
            s.id,
            s.host,
            s.pid,
            expiry(s.expires, now_ns())
        ),
        None => format!("{session} (gone)"),
    };
    let warn = match sessions.get(&session) {
        Some(s) if !s.is_expired(now_ns()) => {
            " (it is live: its processes keep running, without these locks)"
        }
        _ => "",
    };
    confirm(
        &format!("break the {} lock(s) of session {who}{warn}", mine.len()),
        args.yes,
    )?;
    let mut n = Locks::break_session(store, &session)
        .await
        .with_context(|| format!("cannot break the locks of session {session}"))?;
    // Records the session's index does not name (damage) go one by one.
    for l in mine {
        let left = Locks::list_inode(store, l.ino).await?;
        if left.contains(&l.rec) && Locks::break_lock(store, l.ino, &l.rec).await? {
            n += 1;
        }
    }
    if args.json {
        crate::printer::out(Json::obj([
            ("session", Json::s(&session)),
            ("broken", Json::U(n as u64)),
        ]))?;
    } else {
        printer.say(&format!("broke {n} lock(s) of session {session}"))?;
    }
    Ok(ExitCode::SUCCESS)
}
