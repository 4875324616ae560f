//! `dynamofs mount`: serve a file system through FUSE.
//!
//! By default the command returns once the mount is ready and a child
//! process serves it in the background (started again with `--foreground`,
//! reporting readiness on a pipe); `-f` serves in the foreground. SIGTERM,
//! SIGINT and an unmount (umount, fusermount3 -u) flush buffered data, end
//! the session and exit 0. On a signal, every write() that succeeded is
//! stored before the mount is detached; later writes fail (EIO).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use dynamofs_core::caller::Caller;
use dynamofs_core::client::Client;
use dynamofs_core::error::FsResult;
use dynamofs_core::fs::{Atime, Fs, FsOptions};
use dynamofs_core::locks::Locks;
use dynamofs_core::mkfs::{self, MkfsOptions};
use dynamofs_core::store::{self, Source, StoreOptions};
use dynamofs_core::superblock::{Superblock, SuperblockError};
use dynamofs_fuse::exposition::{Exposition, Sources};
use dynamofs_fuse::{Adapter, MountOptions};

use crate::args::{GlobalArgs, MountArgs};
use crate::printer::Printer;

use super::mount_metrics::{self, Endpoint};

/// Set in the background child: print this line on stdout when mounted.
const READY_ENV: &str = "DYNAMOFS_MOUNT_READY";
const READY: &str = "dynamofs-ready";
/// Printed before READY when the mount serves metrics: where.
const METRICS_AT: &str = "dynamofs-metrics";

/// Everything the -o options say.
#[derive(Debug, Default)]
pub struct Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub mount: MountOptions,
    pub create: bool,
    /// How long a session lives without a heartbeat (default 30 s).
    pub session_ttl: Duration,
    /// Bytes of written data buffered before writers must flush.
    pub write_buffer: Option<usize>,
    /// Bytes of file data kept for reading.
    pub block_cache: Option<usize>,
    pub log: Option<PathBuf>,
    /// Mount over a directory that has files in it (hiding them).
    pub nonempty: bool,
    /// A directory of the file system to show as the mount's root.
    pub subdir: Option<String>,
    /// When reads update atime: relatime unless told.
    pub atime: Atime,
    /// Where to serve Prometheus metrics (port 0: any free port).
    pub metrics: Option<SocketAddr>,
}

/// Options /etc/fstab and mount(8) pass that mean nothing to us (or that
/// we always apply, like nosuid and nodev).
const IGNORED: &[&str] = &[
    "_netdev",
    "defaults",
    "auto",
    "noauto",
    "user",
    "users",
    "nouser",
    "nofail",
    "rw",
    "exec",
    "noexec",
    // Directories' atime never changes; time updates go out at once.
    "nodiratime",
    "lazytime",
    "default_permissions",
    "async",
    "sync",
    "dirsync",
];

/// A size: MiB when bare (`256`), else with a unit as mkfs takes them
/// (`512K`, `256M`, `1G`, `1GiB`); from 1 MiB to 1 TiB.
fn mib(k: &str, v: &str) -> anyhow::Result<usize> {
    let t = v.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'k')) => (&t[..i], 10),
        Some((i, 'm')) => (&t[..i], 20),
        Some((i, 'g')) => (&t[..i], 30),
        Some((i, 't')) => (&t[..i], 40),
        _ => (t, 20),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_shl(shift).filter(|b| b >> shift == n))
        .filter(|b| (1 << 20..=1 << 40).contains(b))
        .ok_or_else(|| {
            anyhow!("option {k}={v}: expected a size from 1M to 1T, e.g. {k}=256M or {k}=1G (a bare number is MiB)")
        })
}

/// Every option `parse_options` knows, for suggestions and completions.
pub(crate) const KNOWN: &[&str] = &[
    "endpoint",
    "region",
    "profile",
    "attr_timeout",
    "entry_timeout",
    "ro",
    "allow_other",
    "allow_root",
    "mandatory_locks",
    "session_ttl",
    "create",
    "writeback_cache",
    "no_writeback_cache",
    "threads",
    "log",
    "nonempty",
    "write_buffer",
    "block_cache",
    "subdir",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "atime",
    "noatime",
    "relatime",
    "strictatime",
    "metrics",
];

/// The known option nearest to a mistyped one, if one is near enough.
fn nearest(item: &str) -> Option<&'static str> {
    let key = item.split('=').next().unwrap_or(item);
    KNOWN
        .iter()
        .chain(IGNORED)
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

pub fn parse_options(list: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        mount: MountOptions::default(),
        session_ttl: dynamofs_core::session::DEFAULT_TTL,
        atime: Atime::Relative,
        ..Options::default()
    };
    let mut unknown = Vec::new();
    let secs = |k: &str, v: &str| -> anyhow::Result<Duration> {
        let s: f64 = v
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| anyhow!("option {k}={v}: expected a number of seconds"))?;
        Ok(Duration::from_secs_f64(s))
    };
    for item in list
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        match (k, v) {
            ("endpoint", Some(v)) => o.endpoint = Some(v.to_string()),
            ("region", Some(v)) => o.region = Some(v.to_string()),
            ("profile", Some(v)) => o.profile = Some(v.to_string()),
            ("attr_timeout", Some(v)) => o.mount.attr_ttl = secs(k, v)?,
            ("entry_timeout", Some(v)) => o.mount.entry_ttl = secs(k, v)?,
            ("ro", None) => o.mount.read_only = true,
            ("allow_other", None) => o.mount.allow_other = true,
            ("allow_root", None) => o.mount.allow_root = true,
            ("mandatory_locks", None) => o.mount.mandatory_locks = true,
            ("session_ttl", Some(v)) => o.session_ttl = secs(k, v)?,
            ("create", None) => o.create = true,
            ("writeback_cache", None) => o.mount.writeback_cache = true,
            ("no_writeback_cache", None) => o.mount.writeback_cache = false,
            ("threads", Some(v)) => {
                o.mount.threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| anyhow!("option threads={v}: expected 1 to 64"))?
            }
            ("log", Some(v)) => o.log = Some(PathBuf::from(v)),
            ("nonempty", None) => o.nonempty = true,
            ("suid", None) => o.mount.suid = true,
            ("nosuid", None) => o.mount.suid = false,
            ("dev", None) => o.mount.dev = true,
            ("nodev", None) => o.mount.dev = false,
            ("noatime", None) => o.atime = Atime::Never,
            ("relatime" | "atime", None) => o.atime = Atime::Relative,
            ("strictatime", None) => o.atime = Atime::Strict,
            ("subdir", Some(v)) => o.subdir = Some(v.to_string()),
            ("write_buffer", Some(v)) => o.write_buffer = Some(mib(k, v)?),
            ("block_cache", Some(v)) => o.block_cache = Some(mib(k, v)?),
            ("metrics", v) => o.metrics = Some(mount_metrics::parse_addr(v.unwrap_or(""))?),
            (k, _) if IGNORED.contains(&k) || k.starts_with("x-") || k == "comment" => {}
            _ => unknown.push(item.to_string()),
        }
    }
    if (o.mount.suid || o.mount.dev) && !rustix::process::geteuid().is_root() {
        bail!("-o suid and -o dev need root: for other users fusermount3 mounts nosuid,nodev whatever is asked");
    }
    if !unknown.is_empty() {
        let named: Vec<String> = unknown
            .iter()
            .map(|u| match nearest(u) {
                Some(k) => format!("{u} (did you mean {k}?)"),
                None => u.clone(),
            })
            .collect();
        bail!(
            "unknown mount option{} {}; see `dynamofs mount --help` for the list",
            if unknown.len() > 1 { "s" } else { "" },
            named.join(", ")
        );
    }
    Ok(o)
}

pub async fn run(
    global: &GlobalArgs,
    args: &MountArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    if super::remount::asked(&args.options) {
        return super::remount::run(&args.mountpoint, &args.options);
    }
    let opts = parse_options(&args.options)?;
    let mut source: Source = args.source.parse()?;
    if let (Some(r), Source::Aws { region, .. }) = (&opts.region, &mut source) {
        *region = Some(r.clone());
    }
    let dir = super::mountpoint::prepare(&args.mountpoint, opts.nonempty)?;
    if !args.foreground && std::env::var_os(READY_ENV).is_none() {
        return background(global, args, &opts, &dir, printer);
    }
    serve(global, &source, &opts, &dir).await
}

/// Start a child serving in the foreground and return when it is mounted.
/// The child gets every global option (its log level from -v, or from
/// DYNAMOFS_LOG / RUST_LOG, which it inherits).
fn background(
    global: &GlobalArgs,
    args: &MountArgs,
    opts: &Options,
    dir: &Path,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (log_file, log) = super::mount_log::open(opts.log.as_deref(), dir)?;
    let exe = std::env::current_exe().context("cannot find the dynamofs executable")?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(e) = &global.endpoint {
        cmd.arg("--endpoint").arg(e);
    }
    if let Some(p) = &global.profile {
        cmd.arg("--profile").arg(p);
    }
    for _ in 0..global.verbose {
        cmd.arg("-v");
    }
    cmd.arg("mount").arg(&args.source).arg(dir);
    for o in &args.options {
        cmd.arg("-o").arg(o);
    }
    cmd.env(READY_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file));
    // Its own process group: the terminal's ^C must not reach the server.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().context("cannot start the background server")?;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let mut buf = [0u8; 64];
        // Reads until the child says it is ready or exits.
        while !out.contains(READY) {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    }
    if out.contains(READY) {
        let metrics = out
            .lines()
            .find_map(|l| l.strip_prefix(METRICS_AT))
            .map(|url| format!("; metrics: {}", url.trim()))
            .unwrap_or_default();
        printer.say(&format!(
            "mounted {} on {} (log: {}{metrics})",
            args.source,
            dir.display(),
            log.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let status = child.wait().ok();
    let tail = std::fs::read_to_string(&log).unwrap_or_default();
    let last: Vec<&str> = tail
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let why = last
        .iter()
        .rev()
        .find(|l| l.contains("error"))
        .map(|l| l.trim_start_matches("dynamofs: error: ").to_string())
        .unwrap_or_else(|| format!("the server exited ({status:?}); see {}", log.display()));
    Err(anyhow!(why))
}

/// Mount and serve until unmounted or signalled.
async fn serve(
    global: &GlobalArgs,
    source: &Source,
    opts: &Options,
    dir: &Path,
) -> anyhow::Result<ExitCode> {
    // First of all: a port that is taken fails the mount before the store
    // is even opened.
    let endpoint = match opts.metrics {
        Some(addr) => Some(Endpoint::bind(addr).await?),
        None => None,
    };
    let store_opts = StoreOptions {
        endpoint: opts.endpoint.clone().or_else(|| global.endpoint.clone()),
        profile: opts.profile.clone().or_else(|| global.profile.clone()),
    };
    let opened = store::open(source, &store_opts)
        .await
        .with_context(|| format!("cannot open {source}"))?;
    if opened.read_only && !opts.mount.read_only {
        bail!("{source} is read-only for this user: mount it with -o ro, or as a user who may write it");
    }
    match Superblock::load(opened.store.as_ref()).await {
        Err(SuperblockError::Missing { .. }) if opts.create => {
            let me = super::target::invoking_caller()?;
            let (root_uid, root_gid) = (me.uid, me.gid);
            let mk = MkfsOptions {
                root_uid,
                root_gid,
                ..MkfsOptions::default()
            };
            mkfs::mkfs(opened.store.as_ref(), &mk, &|_: &str| {})
                .await
                .with_context(|| format!("creating a file system on {source}"))?;
            tracing::info!("created a new file system on {source}");
        }
        Err(SuperblockError::Missing { .. }) => {
            bail!("{source} holds no dynamofs file system; create one with `dynamofs mkfs {source}` (or mount with -o create)")
        }
        Err(e) => return Err(e).with_context(|| format!("cannot mount {source}")),
        Ok(_) => {}
    }
    let defaults = FsOptions::default();
    let fs_opts = FsOptions {
        check_permissions: false,
        attr_ttl: opts.mount.attr_ttl,
        read_only: opts.mount.read_only,
        dirty_limit: opts.write_buffer.unwrap_or(defaults.dirty_limit),
        cache_bytes: opts.block_cache.unwrap_or(defaults.cache_bytes),
        atime: opts.atime,
    };
    let server = if opened.read_only {
        let fs = Fs::open(Arc::clone(&opened.store), fs_opts)
            .await
            .context("opening the file system")?;
        Server::ReadOnly(Arc::new(fs))
    } else {
        let client = Client::start(
            Arc::clone(&opened.store),
            fs_opts,
            &dir.to_string_lossy(),
            opts.session_ttl,
        )
        .await
        .context("opening the file system and registering this mount's session")?;
        client
            .session
            .publish_counters(Arc::clone(&opened.counters));
        Server::Client(client)
    };
    let mut mount_opts = opts.mount.clone();
    mount_opts.fsname = source.to_string();
    if let Some(sub) = &opts.subdir {
        mount_opts.top = match top_of(&server.fs(), sub).await {
            Ok(ino) => ino,
            Err(e) => {
                let _ = server.stop().await;
                return Err(e);
            }
        };
    }
    let adapter = Adapter::new(
        server.fs(),
        server.locks(),
        tokio::runtime::Handle::current(),
        mount_opts.clone(),
    );
    let notifier = adapter.notifier_slot();
    let metrics = endpoint.map(|e| {
        let url = e.url();
        let exposition = Exposition::new(Sources {
            counters: Arc::clone(&opened.counters),
            fs: server.fs(),
            locks: server.locks(),
            ops: adapter.ops(),
        });
        (url, e.serve(Arc::new(exposition)))
    });
    if let (Some((url, _)), Server::Client(c)) = (&metrics, &server) {
        // So that `stats --watch` and `bench` find it from the store.
        if let Err(e) = c.session.advertise_metrics(url).await {
            tracing::warn!("cannot name the metrics endpoint in this mount's session: {e}");
        }
    }
    let config = mount_opts.config();
    let mountpoint = dir.to_path_buf();
    let mounted =
        tokio::task::spawn_blocking(move || fuser::Session::new(adapter, &mountpoint, &config))
            .await?;
    let mut session = match mounted {
        Ok(s) => s,
        Err(e) => {
            let _ = server.stop().await;
            return Err(anyhow::Error::from(e).context(format!(
                "cannot mount on {} (is fuse3 installed and /dev/fuse usable?)",
                dir.display()
            )));
        }
    };
    let _ = notifier.set(session.notifier());
    let mut unmounter = session.unmount_callable();
    if let Some((url, _)) = &metrics {
        // In the log (or on the terminal with -f), and to the parent.
        eprintln!("dynamofs: serving metrics at {url}");
        if std::env::var_os(READY_ENV).is_some() {
            println!("{METRICS_AT} {url}");
        }
    }
    if std::env::var_os(READY_ENV).is_some() {
        println!("{READY}");
    } else {
        // -f: the terminal is the log; say once that the mount is usable.
        eprintln!(
            "dynamofs: mounted {source} on {}; serving in the foreground (umount {} or Ctrl-C to stop)",
            dir.display(),
            dir.display()
        );
    }
    tracing::info!("serving {source} on {}", dir.display());
    let served = tokio::task::spawn_blocking(move || session.run());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let dir_shown = dir.display().to_string();
    let ended = tokio::select! {
        r = served => Some(r.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from))),
        _ = tokio::signal::ctrl_c() => None,
        _ = term.recv() => None,
    };
    let (result, flushed) = match ended {
        // Unmounted: whatever the kernel had buffered arrived before the
        // session ended; what core buffers is written now.
        Some(r) => (r, server.stop().await),
        // Signalled, with files possibly still open and written: the
        // kernel's cached writes come in first, then core writes what it
        // buffered and takes no more writes, and only then is the mount
        // detached, so every write() that succeeded is stored.
        None => {
            tracing::info!("signalled: storing buffered data, then unmounting {dir_shown}");
            sync_kernel(dir).await;
            dynamofs_fuse::take_cached_writes(&notifier, server.fs().open_inodes()).await;
            let flushed = server.stop().await;
            (unmount(&mut unmounter, &dir_shown), flushed)
        }
    };
    // For operators and round-trip tests: what this mount asked of the
    // store in its life.
    tracing::info!("store requests: {}", opened.counters);
    if let Some((_, serving)) = metrics {
        serving.abort();
    }
    if let Some(injected) = &opened.faults {
        injected.report();
    }
    result.context("serving the mount")?;
    flushed.context("flushing buffered data at unmount")?;
    tracing::info!("unmounted {dir_shown}");
    Ok(ExitCode::SUCCESS)
}

/// The inode of `-o subdir=PATH`, which must be a directory.
async fn top_of(fs: &Fs, sub: &str) -> anyhow::Result<u64> {
    if !sub.starts_with('/') {
        bail!("subdir={sub}: give the directory as an absolute path in the file system, e.g. subdir=/team");
    }
    let found = dynamofs_core::path::resolve(fs, &Caller::root(), sub.as_bytes(), true)
        .await
        .with_context(|| format!("subdir={sub}: no such directory in the file system"))?;
    if found.attr.kind != dynamofs_core::inode::FileType::Directory {
        bail!("subdir={sub} is not a directory");
    }
    Ok(found.attr.ino)
}

/// What serves a mount: a client, with its session and the locks it
/// shares with every other mount; or, on a store this user may only read
/// (where no session can be registered), the file system alone, its locks
/// kept by the kernel for this mount only.
enum Server {
    Client(Client),
    ReadOnly(Arc<Fs>),
}

impl Server {
    fn fs(&self) -> Arc<Fs> {
        match self {
            Server::Client(c) => Arc::clone(&c.fs),
            Server::ReadOnly(fs) => Arc::clone(fs),
        }
    }

    fn locks(&self) -> Option<Arc<Locks>> {
        match self {
            Server::Client(c) => Some(Arc::clone(&c.locks)),
            Server::ReadOnly(_) => None,
        }
    }

    /// Store what is buffered (refusing further writes), then end.
    async fn stop(&self) -> FsResult<()> {
        match self {
            Server::Client(c) => c.stop().await,
            Server::ReadOnly(fs) => {
                fs.settle().await;
                Ok(())
            }
        }
    }
}

/// Have the kernel start sending the writes it caches for this mount
/// (dirty pages, with -o writeback_cache), all files at once: syncfs(2)
/// on it. It does not wait for them on FUSE (`take_cached_writes` does,
/// file by file). It is served by this process's other threads, hence the
/// blocking pool.
async fn sync_kernel(dir: &Path) {
    let dir = dir.to_path_buf();
    let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let root = std::fs::File::open(&dir)?;
        rustix::fs::syncfs(&root)?;
        Ok(())
    })
    .await;
    if let Ok(Err(e)) = synced {
        tracing::warn!("asking the kernel for its cached writes: {e}");
    }
}

fn unmount(u: &mut fuser::SessionUnmounter, dir: &str) -> anyhow::Result<()> {
    if let Err(e) = u.unmount() {
        // Busy: detach now, the kernel finishes when the last user leaves.
        tracing::warn!("unmounting {dir}: {e}; detaching lazily");
        let status = std::process::Command::new("fusermount3")
            .args(["-u", "-z", dir])
            .status()
            .context("running fusermount3")?;
        if !status.success() {
            bail!("could not unmount {dir}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(o: &str) -> anyhow::Result<Options> {
        parse_options(&[o.to_string()])
    }

    #[test]
    fn sizes_take_units() {
        let wb = |v: &str| parsed(&format!("write_buffer={v}")).map(|o| o.write_buffer);
        assert_eq!(wb("256").ok(), Some(Some(256 << 20)));
        assert_eq!(wb("256M").ok(), Some(Some(256 << 20)));
        assert_eq!(wb("1G").ok(), Some(Some(1 << 30)));
        assert_eq!(wb("2GiB").ok(), Some(Some(2 << 30)));
        assert_eq!(wb("4096k").ok(), Some(Some(4 << 20)));
        for bad in ["0", "512K", "2T", "lots", "1.5G", ""] {
            let e = wb(bad).expect_err(bad).to_string();
            assert!(e.contains("expected a size"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_mistyped_option_gets_a_suggestion() {
        let e = parsed("write_bufer=1G").expect_err("unknown").to_string();
        assert!(
            e.contains("write_bufer=1G (did you mean write_buffer?)"),
            "{e}"
        );
        let e = parsed("allow_others").expect_err("unknown").to_string();
        assert!(e.contains("did you mean allow_other?"), "{e}");
        let e = parsed("zzzzzz").expect_err("unknown").to_string();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn every_suggestion_is_an_option() {
        for k in KNOWN {
            let with_value = ["1", "x", "/tmp/dynamofs-test.log", "127.0.0.1:0"]
                .iter()
                .any(|v| parsed(&format!("{k}={v}")).is_ok());
            assert!(parsed(k).is_ok() || with_value, "{k} is not parsed");
        }
    }
}
