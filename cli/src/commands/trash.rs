//! `dynamofs trash`: what removed files the trash keeps, putting them back,
//! and emptying it, without a mount.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use dynamofs_core::caller::Caller;
use dynamofs_core::fs::{Fs, FsOptions, Trashed};
use dynamofs_core::inode::FileType;
use dynamofs_core::path;
use dynamofs_core::superblock::now_ns;

use super::stats::{ago, bytes, confirm, right, table};
use super::target::{fs_error, Outcome};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// The trash: files that an unlink or a rename over them removed, kept in
/// /.trash for the days `mkfs --trash-days` or `config --trash-days` set
/// (live mounts purge older ones hourly).
///
/// `list` (the default) shows each kept file: its entry (HOUR/NAME under
/// /.trash), size, owner, when it was removed and from where. `restore`
/// puts files back under their old names, in the directory they left or
/// in --to DIR, never over an existing name. `purge` removes for good what
/// has expired, or everything with --all.
///
/// Examples:
///   dynamofs trash sqlite:/var/lib/dynamofs/home.db
///   dynamofs trash aws:us-east-1/team restore 2026-12-07-11/1-8431-report.txt
///   dynamofs trash aws:us-east-1/team restore 2026-12-07-11/1-8431-report.txt --to /recovered
///   dynamofs trash aws:us-east-1/team purge --all --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TrashArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    #[command(subcommand)]
    pub action: Option<TrashAction>,

    /// Print a machine-readable list (JSON)
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TrashAction {
    /// List what the trash keeps (the default)
    List,
    /// Put files back
    Restore(RestoreArgs),
    /// Remove for good what has expired, or everything with --all
    Purge(PurgeArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Entries as `trash list` shows them (HOUR/NAME)
    #[arg(required = true, value_name = "ENTRY")]
    pub entries: Vec<String>,

    /// Put them in this directory of the file system instead
    #[arg(long, value_name = "DIR")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Everything in the trash, expired or not
    #[arg(long)]
    pub all: bool,

    /// Do not ask (with --all)
    #[arg(short, long)]
    pub yes: bool,
}

pub async fn run(
    global: &GlobalArgs,
    args: &TrashArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let read_only = opened.read_only || matches!(args.action, None | Some(TrashAction::List));
    let opts = FsOptions {
        read_only,
        ..FsOptions::default()
    };
    let fs = Fs::open(opened.store, opts)
        .await
        .with_context(|| format!("cannot open {src}"))?;
    let code = match &args.action {
        None | Some(TrashAction::List) => list(&fs, args.json).await?,
        Some(TrashAction::Restore(r)) => restore(&fs, &src.to_string(), r, printer).await?,
        Some(TrashAction::Purge(p)) => purge(&fs, p, printer).await?,
    };
    fs.settle().await;
    Ok(code)
}

async fn list(fs: &Fs, json: bool) -> anyhow::Result<ExitCode> {
    let files = fs.trash_list().await.context("cannot list the trash")?;
    let mut dirs: HashMap<u64, Option<Vec<u8>>> = HashMap::new();
    for f in &files {
        if let std::collections::hash_map::Entry::Vacant(v) = dirs.entry(f.from_dir) {
            v.insert(fs.dir_path(f.from_dir).await.ok().flatten());
        }
    }
    let from = |f: &Trashed| {
        dirs.get(&f.from_dir)
            .cloned()
            .flatten()
            .map(|d| path::join(&d, &f.from_name))
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if json {
        let v = files
            .iter()
            .map(|f| {
                Json::obj([
                    ("entry", Json::s(&text(&f.entry))),
                    ("ino", Json::U(f.ino)),
                    ("size", Json::U(f.size)),
                    ("uid", Json::U(f.uid.into())),
                    ("removed_ns", Json::I(f.at)),
                    ("from_dir", Json::U(f.from_dir)),
                    ("name", Json::s(&text(&f.from_name))),
                    ("path", from(f).map_or(Json::Null, |p| Json::s(&text(&p)))),
                ])
            })
            .collect();
        crate::printer::out(Json::A(v))?;
        return Ok(ExitCode::SUCCESS);
    }
    if files.is_empty() {
        crate::printer::out("the trash is empty")?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ns();
    let mut t = table(&["ENTRY", "SIZE", "UID", "REMOVED", "FROM"]);
    for f in &files {
        let place = match from(f) {
            Some(p) => text(&p),
            None => format!("{} (its directory is gone)", text(&f.from_name)),
        };
        t.add_row(vec![
            comfy_table::Cell::new(text(&f.entry)),
            right(bytes(f.size)),
            right(f.uid.to_string()),
            comfy_table::Cell::new(ago(now - f.at)),
            comfy_table::Cell::new(place),
        ]);
    }
    crate::printer::out(t)?;
    Ok(ExitCode::SUCCESS)
}

async fn restore(
    fs: &Fs,
    source: &str,
    args: &RestoreArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let root = Caller::root();
    let to = match &args.to {
        None => None,
        Some(p) => {
            let shown = format!("{source}:{p}");
            let r = path::resolve(fs, &root, std::ffi::OsStr::new(p).as_bytes(), true)
                .await
                .map_err(|e| fs_error(&shown, e))?;
            if r.attr.kind != FileType::Directory {
                bail!("{shown} is not a directory");
            }
            Some(r.attr.ino)
        }
    };
    let mut outcome = Outcome::default();
    for entry in &args.entries {
        let r = fs.trash_restore(entry.as_bytes(), to).await;
        match r {
            Ok((dir, name)) => {
                let place = match fs.dir_path(dir).await.ok().flatten() {
                    Some(d) => String::from_utf8_lossy(&path::join(&d, &name)).into_owned(),
                    None => String::from_utf8_lossy(&name).into_owned(),
                };
                printer.say(&format!("restored {entry} as {place}"))?;
            }
            Err(e) => outcome.error(printer, &fs_error(&format!("trash entry {entry}"), e)),
        }
    }
    Ok(outcome.code())
}

async fn purge(fs: &Fs, args: &PurgeArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let purged = if args.all {
        confirm("remove everything in the trash for good", args.yes)?;
        // Past the current hour: everything there is.
        fs.purge_trash(now_ns() + 3_600_000_000_000).await
    } else {
        fs.purge_expired_trash().await
    }
    .context("cannot purge the trash")?;
    printer.say(&format!(
        "removed {} files ({}) from the trash for good",
        purged.files,
        bytes(purged.bytes)
    ))?;
    Ok(ExitCode::SUCCESS)
}
