//! `dynamofs dump` and `dynamofs load`: the whole tree as a stream of JSON
//! lines (docs/DUMP.md), for backups and for moving a file system from one
//! store to another.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dynamofs_core::dump::format::Counts;
use dynamofs_core::dump::{self, DumpOptions, LoadOptions};
use dynamofs_core::fs::{Fs, FsOptions};

use crate::args::GlobalArgs;
use crate::printer::Printer;

/// Write the whole file system, data included, to FILE (or standard
/// output): every inode with its attributes and extended attributes,
/// hard links once, symbolic links, devices, and the data, with holes
/// left out.
///
/// Needs no mount and may run beside live mounts: it is no snapshot, but
/// each file is read through one open, so a file that nobody changes
/// meanwhile is dumped exactly. The file is created 0600: it holds every
/// byte of the file system. An entry that cannot be read (a damaged item)
/// is reported, left out, and makes the exit status 1.
///
/// Examples:
///   dynamofs dump sqlite:/tmp/trial.db trial.dump
///   dynamofs dump aws:us-east-1/team - | gzip > team.dump.gz
///   dynamofs dump sqlite:/tmp/trial.db | dynamofs load aws:us-east-1/team
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DumpArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Where to write the dump; `-` or nothing is standard output
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Attributes and names only, no file data (files keep their sizes)
    #[arg(long)]
    pub metadata_only: bool,
}

/// Create a dump's tree in a file system, most often a new one made with
/// `dynamofs mkfs`: inodes, names, hard links, owners, modes, times,
/// extended attributes and data. Reads FILE or standard input.
///
/// Refuses a file system whose root already holds names unless --force,
/// a dump of another format version, and a dump cut short (what was read
/// up to there stays loaded). ctimes are the time of the load: no call
/// sets them.
///
/// Examples:
///   dynamofs mkfs aws:us-east-1/team && dynamofs load aws:us-east-1/team trial.dump
///   gunzip -c team.dump.gz | dynamofs load sqlite:/tmp/restore.db
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LoadArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// The dump to read; `-` or nothing is standard input
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Load into a file system that is not empty (a name the dump holds
    /// too makes the load fail there)
    #[arg(long)]
    pub force: bool,

    /// Load a dump made with --metadata-only: files get their sizes and
    /// read as zeros
    #[arg(long)]
    pub metadata_only: bool,
}

fn stdio(file: &Option<PathBuf>) -> bool {
    file.as_ref().is_none_or(|f| f.as_os_str() == "-")
}

async fn open_fs(global: &GlobalArgs, source: &str, read_only: bool) -> anyhow::Result<Fs> {
    let (src, opened) = super::open_source(global, source).await?;
    let opts = FsOptions {
        read_only: read_only || opened.read_only,
        ..FsOptions::default()
    };
    Fs::open(opened.store, opts)
        .await
        .with_context(|| format!("cannot open {src}"))
}

fn show(c: &Counts) -> String {
    format!(
        "{} inodes, {} extra links, {:.1} MiB of data",
        c.nodes,
        c.links,
        c.data_bytes as f64 / (1 << 20) as f64
    )
}

pub async fn run_dump(
    global: &GlobalArgs,
    args: &DumpArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let fs = open_fs(global, &args.source, true).await?;
    let mut out: Box<dyn Write> = match &args.file {
        Some(path) if !stdio(&args.file) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Box::new(BufWriter::new(f))
        }
        _ => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let spinner = printer.spinner();
    let opts = DumpOptions {
        metadata_only: args.metadata_only,
    };
    let mut skipped = 0u64;
    let counts = dump::dump(
        &fs,
        &mut out,
        &opts,
        &mut |c| spinner.set_message(format!("dumping: {}", show(c))),
        &mut |s| {
            skipped += 1;
            spinner.suspend(|| {
                eprintln!(
                    "dynamofs: error: {}: left out of the dump: {}",
                    s.path, s.why
                )
            });
        },
    )
    .await
    .with_context(|| format!("cannot dump {}", args.source))?;
    spinner.finish_and_clear();
    printer.note(&format!("dumped {}", show(&counts)));
    Ok(if skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run_load(
    global: &GlobalArgs,
    args: &LoadArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut input: Box<dyn BufRead> = match &args.file {
        Some(f) if !stdio(&args.file) => Box::new(BufReader::new(
            File::open(f).with_context(|| format!("cannot open {}", f.display()))?,
        )),
        _ => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let fs = open_fs(global, &args.source, false).await?;
    let spinner = printer.spinner();
    let opts = LoadOptions {
        force: args.force,
        metadata_only: args.metadata_only,
    };
    let r = dump::load(&fs, &mut input, &opts, &mut |c| {
        spinner.set_message(format!("loading: {}", show(c)))
    })
    .await;
    spinner.finish_and_clear();
    fs.settle().await;
    let counts = r.with_context(|| format!("cannot load into {}", args.source))?;
    printer.note(&format!("loaded {}", show(&counts)));
    if counts.errors > 0 {
        printer.note(&format!(
            "note: the dump left out {} entries it could not read (see the dump's own report)",
            counts.errors
        ));
    }
    Ok(ExitCode::SUCCESS)
}
