//! `dynamofs cp`: copy files into, out of and within file systems.
//!
//! A copy is planned first (every source listed, so the progress bar knows
//! how much is coming), then carried out in order: directories and
//! symbolic links as they come, files several at a time, and last the
//! directories' own attributes, deepest first, once nothing is written
//! into them any more.

mod dest;
mod execute;
mod item;
mod local;
mod plan;
mod preserve;
mod progress;
mod transfer;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use indicatif::ProgressBar;

use super::target::{self, Opened, Target};
use crate::args::GlobalArgs;
use crate::printer::Printer;
use item::{Dest, Item, Place};
pub use progress::progress_wanted;

/// Copy files into, out of, and within file systems, without mounting them.
///
/// Each PATH is SOURCE:PATH in a file system (aws:REGION/TABLE:/PATH or
/// sqlite:FILE:/PATH), a local path, or - : standard input as the only
/// source, standard output as DEST. As cp(1): with several sources, or when
/// DEST is an existing directory, each source is copied into it under its
/// own name (the root, or a path ending in /., is copied as its contents);
/// otherwise DEST is the new name. Symbolic links are copied as links
/// unless -L. Several files are copied at once (-j). A name read from a
/// file system that is not a safe local name (containing / or NUL, or . or
/// ..) is refused and reported; the copy goes on with the rest and exits
/// with status 1, as for any other error.
///
/// Examples:
///   dynamofs cp -r ./photos aws:us-east-1/team:/shared/
///   dynamofs cp -rp sqlite:/var/lib/dynamofs/home.db:/notes ~/backup/
///   dynamofs cp aws:us-east-1/team:/a/report.pdf aws:us-east-1/team:/b/
///   tar cz . | dynamofs cp - aws:us-east-1/team:/backups/site.tgz
///   dynamofs cp aws:us-east-1/team:/backups/site.tgz - | tar tz
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CpArgs {
    /// SOURCE... DEST
    #[arg(required = true, num_args = 2.., value_name = "PATH")]
    pub paths: Vec<String>,

    /// Copy directories and everything in them
    #[arg(short = 'r', short_alias = 'R', long)]
    pub recursive: bool,

    /// Keep mode, access and modification times, and owner and group
    /// (where permitted)
    #[arg(short = 'p', long)]
    pub preserve: bool,

    /// Never overwrite an existing file
    #[arg(short = 'n', long = "no-clobber")]
    pub no_clobber: bool,

    /// Copy what symbolic links in the sources point to, not the links
    #[arg(short = 'L', long)]
    pub dereference: bool,

    /// Files copied at once
    #[arg(short = 'j', long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
}

pub async fn run(
    global: &GlobalArgs,
    args: &CpArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let Some((dst_arg, src_args)) = args.paths.split_last() else {
        bail!("cp needs a source and a destination");
    };
    let dst_t = target::parse(dst_arg)?;
    let src_ts = src_args
        .iter()
        .map(|a| target::parse(a))
        .collect::<anyhow::Result<Vec<Target>>>()?;
    if src_ts.contains(&Target::Stdio) && src_ts.len() > 1 {
        bail!("- (standard input) can only be the one source");
    }
    let in_fs = |t: &Target| matches!(t, Target::Fs(_));
    if !in_fs(&dst_t) && !src_ts.iter().any(in_fs) {
        bail!("none of these paths is in a dynamofs file system (SOURCE:PATH); use cp(1) for local copies");
    }
    let mut opened: HashMap<String, Arc<Opened>> = HashMap::new();
    for t in src_ts.iter().chain(std::iter::once(&dst_t)) {
        if let Target::Fs(p) = t {
            if !opened.contains_key(&p.source) {
                let o = target::open(global, &p.source).await?;
                opened.insert(p.source.clone(), Arc::new(o));
            }
        }
    }
    let opts = Opts {
        recursive: args.recursive,
        preserve: args.preserve,
        no_clobber: args.no_clobber,
        dereference: args.dereference,
        jobs: args.jobs as usize,
    };
    let umask = target::invoking_caller().map(|c| c.umask).unwrap_or(0o022);
    let mut c = Copier::new(opts, printer, progress_wanted(global), umask);
    let dest = c.resolve_dest(&dst_t, &opened, src_ts.len() > 1).await?;
    for (t, arg) in src_ts.iter().zip(src_args) {
        if let Err(e) = c.plan_top(t, arg, &dest, &opened).await {
            c.fail(&e);
        }
    }
    let result = c.execute().await;
    for o in opened.values() {
        // Overwritten files leave old data to collect in the background;
        // this process is that background.
        o.fs.settle().await;
    }
    result?;
    Ok(c.exit_code())
}

/// mv's fallback when a directory cannot be renamed in one transaction
/// (EXDEV): copy it within its file system with everything preserved.
/// Returns whether all of it was copied.
pub async fn copy_within(
    o: &Arc<Opened>,
    src: &[u8],
    dir: u64,
    name: &[u8],
    dst: &[u8],
    printer: &Printer,
    progress: bool,
) -> anyhow::Result<bool> {
    let opts = Opts {
        recursive: true,
        preserve: true,
        no_clobber: false,
        dereference: false,
        jobs: 8,
    };
    let umask = o.caller.umask;
    let mut c = Copier::new(opts, printer, progress, umask);
    let dest = Dest {
        place: Place::Fs {
            o: Arc::clone(o),
            dir,
            name: name.to_vec(),
        },
        path: dst.to_vec(),
        shown: o.show(dst),
    };
    c.plan_fs(o, src, dest).await?;
    c.execute().await?;
    Ok(c.failures == 0)
}

#[derive(Clone, Copy, Debug)]
struct Opts {
    recursive: bool,
    preserve: bool,
    no_clobber: bool,
    dereference: bool,
    jobs: usize,
}

/// One copy: planned (plan.rs), then carried out (execute.rs).
struct Copier<'a> {
    opts: Opts,
    printer: &'a Printer,
    umask: u32,
    items: Vec<Item>,
    bytes: u64,
    files: u64,
    failures: usize,
    bar: ProgressBar,
    done_files: Arc<AtomicU64>,
}

impl<'a> Copier<'a> {
    fn new(opts: Opts, printer: &'a Printer, progress: bool, umask: u32) -> Copier<'a> {
        let bar = progress::bar(progress);
        Copier {
            opts,
            printer,
            umask,
            items: Vec::new(),
            bytes: 0,
            files: 0,
            failures: 0,
            bar,
            done_files: Arc::new(AtomicU64::new(0)),
        }
    }

    fn fail(&mut self, e: &anyhow::Error) {
        self.failures += 1;
        let printer = self.printer;
        self.bar.suspend(|| printer.error(e));
    }

    fn exit_code(&self) -> ExitCode {
        if self.failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}
