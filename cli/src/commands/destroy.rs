//! `dynamofs destroy`: delete a file system for good, after a confirmation
//! that names it and the mounts that still use it.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use dynamofs_core::destroy::{self, Survey};
use dynamofs_core::superblock::now_ns;

use super::stats::{ago, ask, short, span};
use crate::args::GlobalArgs;
use crate::printer::Printer;

/// Delete a file system: both its tables (every file in it), or for
/// sqlite:PATH the database file. There is no undo.
///
/// Shows what it is about to delete (the file system's id and age, its
/// tables, the mounts whose sessions are live) and, on a terminal, asks
/// for the first 8 characters of the file system's id; elsewhere it needs
/// --yes. It refuses while a mount's session is live: unmount it first, or
/// pass --force, after which those mounts fail every request.
///
/// Examples:
///   dynamofs destroy sqlite:/tmp/trial.db
///   dynamofs destroy aws:us-east-1/team --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DestroyArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Do not ask (for scripts)
    #[arg(long)]
    pub yes: bool,

    /// Delete even while mounts are live, or when the tables hold no
    /// dynamofs superblock
    #[arg(long)]
    pub force: bool,
}

pub async fn run(
    global: &GlobalArgs,
    args: &DestroyArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let store = opened.store.as_ref();
    let survey = destroy::survey(store)
        .await
        .with_context(|| format!("cannot look at {src}"))?;
    if survey.is_empty() {
        bail!("{src} holds no tables: there is nothing to destroy");
    }
    printer.say(&describe(&src.to_string(), &survey))?;
    let Some(sb) = &survey.superblock else {
        if !args.force {
            bail!("{src} has tables but no dynamofs superblock (a half-made mkfs, or tables of something else): pass --force to delete them anyway");
        }
        confirm_typed(&src.to_string(), args.yes)?;
        return finish(&src, store, args, printer).await;
    };
    if !survey.live.is_empty() && !args.force {
        return Err(destroy::DestroyError::Live(survey.live).into());
    }
    confirm_typed(short(&sb.fs_id), args.yes)?;
    finish(&src, store, args, printer).await
}

async fn finish(
    src: &dynamofs_core::store::Source,
    store: &dyn dynamofs_core::store::Store,
    args: &DestroyArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    destroy::destroy(src, store, args.force)
        .await
        .with_context(|| format!("cannot destroy {src}"))?;
    printer.say(&format!("destroyed {src}"))?;
    Ok(ExitCode::SUCCESS)
}

fn describe(source: &str, s: &Survey) -> String {
    let now = now_ns();
    let mut out = match &s.superblock {
        Some(sb) => format!(
            "{source}: file system {}, created {} ago\n",
            sb.fs_id,
            span(now - sb.created)
        ),
        None => format!("{source}: no dynamofs superblock\n"),
    };
    out.push_str(&format!("  tables: {}\n", s.tables.join(", ")));
    if s.live.is_empty() {
        out.push_str("  no live mounts");
    } else {
        out.push_str("  live mounts:");
        for m in &s.live {
            out.push_str(&format!(
                "\n    {} on {} (pid {}, version {}, last heartbeat {})",
                m.mountpoint,
                m.host,
                m.pid,
                m.version,
                ago(now - m.heartbeat)
            ));
        }
    }
    out
}

/// Go on only when the user types `expected` (or passed --yes).
fn confirm_typed(expected: &str, yes: bool) -> anyhow::Result<()> {
    let question =
        format!("this deletes every file in it, with no undo; type {expected} to go on: ");
    match ask(&question, "destroy it", yes)? {
        Some(typed) if typed != expected => bail!("not confirmed: nothing was deleted"),
        _ => Ok(()),
    }
}
