//! Scale run: dynamofs at sizes the test suite never reaches, on the
//! embedded SQLite store, through the real code paths and real mounts:
//!
//! - a directory of 100,000 entries listed by a core client and by `ls -f`
//!   through a mount (peak RSS of the lister, requests per entry);
//! - a 4 GiB file written sparse (its end first), then filled, then read
//!   back by a fresh mount and compared (throughput, requests per MiB, peak
//!   RSS of the mount);
//! - 8 mounts creating files in one directory at once, plain and under
//!   injected conflicts and throttling, and one mount whose retries run out
//!   (requests, retries and application errors per create; the directory
//!   checked and fsck'd afterwards).
//!
//! A bench rather than a test: it needs a release build to say anything
//! about throughput, takes minutes and gigabytes, and reports numbers
//! rather than passing or failing (it fails only when something is
//! wrong: a byte, an entry, a count, fsck). Run it with `scripts/scale`;
//! see docs/SCALING.md.

// The mount and store helpers of the CLI tests (`both!` is theirs alone).
#[path = "../../tests/common/mod.rs"]
#[allow(unused_macros, unused_imports)]
mod common;

mod bigfile;
mod creates;
mod listing;
mod probe;

use std::process::ExitCode;

use tokio::runtime::Runtime;

use bigfile::Data;
use creates::Scenario;
use dynamofs_core::store::RequestKind;
use probe::MIB;

const USAGE: &str = "\
usage: cargo bench -p dynamofs --bench scale -- [OPTIONS]

  --only WHAT        listing, bigfile or creates; repeatable (default: all)
  --entries N        a directory of N entries to list; repeatable
                     (default: 10000 and 100000)
  --file-size MIB    size of the big file (default 4096)
  --data KIND        half (half-compressible, the default: half the bytes
                     on disk) or random (incompressible)
  --mounts N         mounts creating at once (default 8)
  --files N          files each of them creates (default 500)
  --quick            small sizes, for a smoke run (1,000 and 5,000
                     entries, 256 MiB, 4 mounts x 100 files)

The SQLite files go to $TMPDIR (default /tmp): the big file needs about
half its size there with --data half, all of it with --data random.
";

#[derive(Clone, Debug)]
struct Opts {
    only: Vec<String>,
    entries: Vec<usize>,
    file_size: u64,
    data: Data,
    mounts: usize,
    files: usize,
    /// Creates of the mount whose retries run out.
    exhaust_files: usize,
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        only: Vec::new(),
        entries: Vec::new(),
        file_size: 4096 * MIB,
        data: Data::Half,
        mounts: 8,
        files: 500,
        exhaust_files: 200,
    };
    // --quick first, so that explicit sizes given with it override it.
    if args.iter().any(|a| a == "--quick") {
        o.entries = vec![1000, 5000];
        o.file_size = 256 * MIB;
        o.mounts = 4;
        o.files = 100;
        o.exhaust_files = 50;
    }
    let count = |v: String, flag: &str| {
        v.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag}: `{v}` is not a positive number"))
    };
    let mut entries = Vec::new();
    let mut args_iter = args.iter();
    while let Some(a) = args_iter.next() {
        let mut next = || {
            args_iter
                .next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" | "--quick" => {}
            "--only" => {
                let v = next()?;
                if !["listing", "bigfile", "creates"].contains(&v.as_str()) {
                    return Err(format!("--only: `{v}` is not listing, bigfile or creates"));
                }
                o.only.push(v);
            }
            "--entries" => entries.push(count(next()?, a)?),
            "--file-size" => o.file_size = count(next()?, a)? as u64 * MIB,
            "--data" => {
                o.data = match next()?.as_str() {
                    "half" => Data::Half,
                    "random" => Data::Random,
                    v => return Err(format!("--data: `{v}` is not half or random")),
                }
            }
            "--mounts" => o.mounts = count(next()?, a)?,
            "--files" => o.files = count(next()?, a)?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !entries.is_empty() {
        o.entries = entries;
    }
    if o.entries.is_empty() {
        o.entries = vec![10_000, 100_000];
    }
    Ok(o)
}

/// `dynamofs fsck SOURCE` must find the store clean (exit 0); returns its
/// summary line.
pub fn fsck(store: &common::Store) -> Result<String, String> {
    let out = common::dynamofs(store, &["fsck", &store.source]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "fsck is not clean ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("clean")
        .trim();
    // "sqlite:/tmp/…/fs.db: clean": the temporary path says nothing.
    Ok(last
        .strip_prefix(&format!("{}: ", store.source))
        .unwrap_or(last)
        .to_string())
}

fn per(n: u64, d: f64) -> String {
    if d > 0.0 {
        format!("{:.4}", n as f64 / d)
    } else {
        "-".into()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0}", kib as f64 / 1024.0)
}

fn report_listing(filled: &[listing::Filled], listed: &[listing::Listed]) {
    println!(
        "\n### Making the directories (core, {} creates in flight)\n",
        16
    );
    println!("| entries | s | creates/s | requests/create | requests |");
    println!("|---|---|---|---|---|");
    for f in filled {
        println!(
            "| {} | {:.1} | {:.0} | {} | {} |",
            f.entries,
            f.secs,
            f.entries as f64 / f.secs,
            per(f.requests.total(), f.entries as f64),
            f.requests.describe()
        );
    }
    println!("\n### Listing\n");
    println!(
        "| entries | lister | s | entries/s | requests | requests/entry | requests by kind | \
         RSS before MiB | peak MiB | growth MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for l in listed {
        let n = l.entries.saturating_sub(2);
        let m = l.memory.unwrap_or_default();
        println!(
            "| {n} | {} | {:.2} | {:.0} | {} | {} | {} | {} | {} | {:.1} |",
            l.how,
            l.secs,
            n as f64 / l.secs,
            l.requests.total(),
            per(l.requests.total(), n as f64),
            l.requests.describe(),
            mib(m.start_kib),
            mib(m.peak_kib),
            m.growth_mib()
        );
    }
}

fn report_bigfile(b: &bigfile::BigFile) {
    println!(
        "\n### A {} MiB file ({} data), sparse then filled\n",
        b.size / MIB,
        b.data.name()
    );
    println!("| phase | MiB/s | requests | requests/MiB | requests by kind | mount RSS before MiB | peak MiB |");
    println!("|---|---|---|---|---|---|---|");
    for p in &b.phases {
        let m = p.memory.unwrap_or_default();
        let mibs = p.bytes as f64 / MIB as f64;
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} |",
            p.what,
            mibs / p.secs,
            p.requests.total(),
            per(p.requests.total(), mibs),
            p.requests.describe(),
            mib(m.start_kib),
            mib(m.peak_kib)
        );
    }
    println!(
        "\nStore file afterwards: {:.0} MiB. fsck: {}",
        b.stored as f64 / MIB as f64,
        b.fsck
    );
}

fn report_creates(rows: &[creates::Created]) {
    println!("\n### Creates in one directory\n");
    println!(
        "| scenario | mounts x files | faults per mount | s | creates/s | failed creates | \
         requests/create | Transact/create | retries/create | injected | listed | fsck |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for c in rows {
        let ok = (c.mounts * c.files) as u64 - c.failed;
        let retries: u64 = c.retries.values().sum();
        let injected: Vec<String> = c
            .injected
            .iter()
            .filter(|(k, v)| **v > 0 && k.as_str() != "requests")
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "| {} | {} x {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            c.label,
            c.mounts,
            c.files,
            c.faults.as_deref().unwrap_or("none"),
            c.secs,
            ok as f64 / c.secs,
            c.failed,
            per(c.requests.total(), ok as f64),
            per(c.requests.count(RequestKind::TransactWriteItems), ok as f64),
            per(retries, (c.mounts * c.files) as f64),
            if injected.is_empty() {
                "-".into()
            } else {
                injected.join(", ")
            },
            c.listed,
            c.fsck
        );
    }
    for c in rows {
        println!("\n{}:", c.label);
        println!("- requests: {}", c.requests.describe());
        println!("- retries by request and error: {:?}", c.retries);
        if !c.errors.is_empty() {
            println!("- errors the applications saw: {:?}", c.errors);
        }
    }
}

fn run(rt: &Runtime, o: &Opts) -> Result<(), String> {
    let wants = |w: &str| o.only.is_empty() || o.only.iter().any(|x| x == w);
    println!(
        "dynamofs scale run: {} (load average {})",
        std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect::<Vec<_>>()
            .join(" "),
        probe::load_average()
    );
    if wants("listing") {
        eprintln!("listing: directories of {:?} entries", o.entries);
        let (filled, listed) = listing::run(rt, &o.entries)?;
        report_listing(&filled, &listed);
    }
    if wants("bigfile") {
        eprintln!("bigfile: {} MiB", o.file_size / MIB);
        let b = bigfile::run(rt, o.file_size, o.data)?;
        report_bigfile(&b);
    }
    if wants("creates") {
        let scenarios = [
            Scenario {
                label: format!("{} mounts at once", o.mounts),
                mounts: o.mounts,
                files: o.files,
                faults: None,
            },
            Scenario {
                label: format!("{} mounts, injected faults", o.mounts),
                mounts: o.mounts,
                files: o.files,
                faults: Some("conflict=0.1,throttle=0.05".into()),
            },
            // Only transactions fail, so the mount itself starts; 0.7^10:
            // about 3% of creates exhaust their ten attempts.
            Scenario {
                label: "retries run out".into(),
                mounts: 1,
                files: o.exhaust_files,
                faults: Some("conflict=0.7".into()),
            },
        ];
        let mut rows = Vec::new();
        for s in &scenarios {
            eprintln!("creates: {}", s.label);
            rows.push(creates::run(rt, s)?);
        }
        report_creates(&rows);
    }
    println!("\n(load average at the end {})", probe::load_average());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.first().map(String::as_str) == Some("--child-list") {
        return match listing::child(&rt, &args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lister: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("scale: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&rt, &o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
