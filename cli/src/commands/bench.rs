//! `dynamofs bench DIR`: what a mount does, measured through it as a user
//! would use it, with the store requests each operation cost, counted by
//! the mount itself (its metrics endpoint), as `juicefs bench` reports.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use comfy_table::Cell;
use dynamofs_core::session::{hostname, Session};
use dynamofs_core::superblock::now_ns;

use super::scrape::{self, Scrape};
use super::stats::{bytes, right, table};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// Measure a mounted file system: a big file written and read
/// sequentially, small files written, read, stat'ed and removed; each with
/// its throughput and the store requests it cost per file or per MiB.
///
/// Works in a new directory under DIR, removed at the end. The request
/// counts come from the mount's own counters: start it with -o
/// metrics=127.0.0.1:0 (bench finds the endpoint in the mount's session),
/// or name the endpoint with --metrics; without one, only times are shown.
/// Reads are of data this client just wrote: the kernel's page cache is
/// dropped first, the mount's block cache is not.
///
/// Examples:
///   dynamofs bench /mnt/team
///   dynamofs bench /mnt/team --big-file-size 1G --small-files 1000
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// A directory in a dynamofs mount
    pub dir: PathBuf,

    /// Size of the big file (suffix K, M or G)
    #[arg(long, value_name = "SIZE", default_value = "128M", value_parser = parse_size)]
    pub big_file_size: u64,

    /// How many small files
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub small_files: u64,

    /// Size of each small file (suffix K or M)
    #[arg(long, value_name = "SIZE", default_value = "128K", value_parser = parse_size)]
    pub small_file_size: u64,

    /// The mount's metrics endpoint, when its session does not name it
    #[arg(long, value_name = "URL")]
    pub metrics: Option<String>,

    /// Print the results machine-readably (JSON)
    #[arg(long)]
    pub json: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_uppercase();
    let (n, shift) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        _ => (t.as_str(), 0),
    };
    n.parse::<u64>()
        .ok()
        .and_then(|v| v.checked_shl(shift).filter(|b| b >> shift == v))
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("`{s}` is not a size such as 128K, 64M or 1G"))
}

/// One measured step.
struct Step {
    name: &'static str,
    /// What one operation is (`file`, `MiB`).
    unit: &'static str,
    ops: f64,
    took: Duration,
    requests: Option<f64>,
}

impl Step {
    fn rate(&self) -> f64 {
        self.ops / self.took.as_secs_f64().max(1e-9)
    }
}

/// The mount's store requests so far, if it can be asked.
struct Counter(Option<String>);

impl Counter {
    fn now(&self) -> anyhow::Result<Option<f64>> {
        match &self.0 {
            Some(url) => Ok(Some(scrape::requests(&Scrape::fetch(url)?))),
            None => Ok(None),
        }
    }
}

pub async fn run(
    global: &GlobalArgs,
    args: &BenchArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let Some((point, source)) = super::mountpoint::mount_of(&args.dir)? else {
        bail!(
            "{} is not in a dynamofs mount: mount one with `dynamofs mount SOURCE DIR -o metrics=127.0.0.1:0`",
            args.dir.display()
        );
    };
    let url = match &args.metrics {
        Some(u) => Some(u.clone()),
        None => find_metrics(global, &source, &point).await,
    };
    if url.is_none() {
        printer.note(&format!(
            "note: the mount on {} serves no metrics (mount it with -o metrics=127.0.0.1:0): times only",
            point.display()
        ));
    }
    let work = args
        .dir
        .join(format!(".dynamofs-bench-{}", std::process::id()));
    fs::create_dir(&work).with_context(|| format!("cannot make {}", work.display()))?;
    let spinner = printer.spinner();
    let a = BenchArgs {
        dir: args.dir.clone(),
        metrics: None,
        ..*args
    };
    let counter = Counter(url);
    let w = work.clone();
    let s = spinner.clone();
    let steps = tokio::task::spawn_blocking(move || measure(&w, &a, &counter, &s)).await?;
    spinner.finish_and_clear();
    let _ = fs::remove_dir_all(&work);
    let steps = steps?;
    if args.json {
        let v = steps
            .iter()
            .map(|s| {
                Json::obj([
                    ("name", Json::s(s.name)),
                    ("unit", Json::s(s.unit)),
                    ("ops", Json::F(s.ops)),
                    ("seconds", Json::F(s.took.as_secs_f64())),
                    ("per_second", Json::F(s.rate())),
                    (
                        "requests_per_op",
                        s.requests
                            .map_or(Json::Null, |r| Json::F(r / s.ops.max(1e-9))),
                    ),
                ])
            })
            .collect();
        crate::printer::out(Json::A(v))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["ITEM", "VALUE", "STORE REQUESTS", "TIME"]);
    for s in &steps {
        t.add_row(vec![
            Cell::new(s.name),
            right(format!("{:.1} {}/s", s.rate(), s.unit)),
            right(match s.requests {
                Some(r) => format!("{:.2} per {}", r / s.ops.max(1e-9), s.unit),
                None => "-".into(),
            }),
            right(format!("{:.2} s", s.took.as_secs_f64())),
        ]);
    }
    crate::printer::out(t)?;
    printer.note(&format!(
        "{}: big file {}, {} small files of {}",
        point.display(),
        bytes(args.big_file_size),
        args.small_files,
        bytes(args.small_file_size)
    ));
    Ok(ExitCode::SUCCESS)
}

/// The metrics URL the mount at `point` on this host names in its
/// session, if it serves metrics.
async fn find_metrics(global: &GlobalArgs, source: &str, point: &Path) -> Option<String> {
    let (_, opened) = super::open_source(global, source).await.ok()?;
    let sessions = Session::list(opened.store.as_ref()).await.ok()?;
    let (host, now) = (hostname(), now_ns());
    let point = point.to_string_lossy();
    sessions
        .into_iter()
        .filter(|s| s.host == host && s.mountpoint == point && !s.is_expired(now))
        .find_map(|s| s.metrics)
}

fn measure(
    dir: &Path,
    args: &BenchArgs,
    counter: &Counter,
    spinner: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<Step>> {
    // Incompressible (lz4 would shrink a repeated pattern to nothing).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let chunk: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mib = args.big_file_size as f64 / (1 << 20) as f64;
    let big = dir.join("big");
    let small: Vec<PathBuf> = (0..args.small_files)
        .map(|i| dir.join(format!("small-{i}")))
        .collect();
    let n = args.small_files as f64;
    let mut steps = Vec::new();
    let mut step = |name: &'static str,
                    unit: &'static str,
                    ops: f64,
                    f: &mut dyn FnMut() -> std::io::Result<()>|
     -> anyhow::Result<()> {
        spinner.set_message(format!("{name}…"));
        let before = counter.now()?;
        let start = Instant::now();
        f().with_context(|| format!("{name} in {}", dir.display()))?;
        let took = start.elapsed();
        let requests = match (before, counter.now()?) {
            (Some(b), Some(a)) => Some(a - b),
            _ => None,
        };
        steps.push(Step {
            name,
            unit,
            ops,
            took,
            requests,
        });
        Ok(())
    };
    step("write big file", "MiB", mib, &mut || {
        let mut f = File::create(&big)?;
        write_size(&mut f, &chunk, args.big_file_size)?;
        f.sync_all()
    })?;
    step("read big file", "MiB", mib, &mut || read_cold(&big))?;
    step("write small files", "file", n, &mut || {
        for p in &small {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(p)?;
            write_size(&mut f, &chunk, args.small_file_size)?;
        }
        Ok(())
    })?;
    step("read small files", "file", n, &mut || {
        for p in &small {
            read_cold(p)?;
        }
        Ok(())
    })?;
    step("stat small files", "file", n, &mut || {
        for p in &small {
            fs::metadata(p)?;
        }
        Ok(())
    })?;
    step("remove small files", "file", n, &mut || {
        for p in &small {
            fs::remove_file(p)?;
        }
        Ok(())
    })?;
    Ok(steps)
}

fn write_size(f: &mut File, chunk: &[u8], size: u64) -> std::io::Result<()> {
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Read a file whole, after dropping the kernel's cached pages of it.
fn read_cold(p: &Path) -> std::io::Result<()> {
    let mut f = File::open(p)?;
    let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}
