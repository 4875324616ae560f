//! Command-line definitions (clap derive), kept apart from the logic so that
//! completions and man pages are generated from the same source.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A shared POSIX file system whose every byte lives in Amazon DynamoDB.
///
/// SOURCE names where a file system lives: aws:REGION/TABLE for DynamoDB
/// (tables TABLE and TABLEBlocks), or sqlite:PATH for the embedded store.
#[derive(Debug, Parser)]
#[command(name = "dynamofs", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default
    /// from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// AWS profile from ~/.aws/config and ~/.aws/credentials
    #[arg(long, global = true, value_name = "NAME", env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// More detail: -v shows debug logs and full error chains
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only errors; no progress display
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Mkfs(MkfsArgs),
    Mount(MountArgs),
    Fsck(crate::commands::fsck::FsckArgs),
    Ls(crate::commands::ls::LsArgs),
    Cp(crate::commands::cp::CpArgs),
    Cat(crate::commands::files::CatArgs),
    Mkdir(crate::commands::files::MkdirArgs),
    Rm(crate::commands::files::RmArgs),
    Mv(crate::commands::files::MvArgs),
    Stat(crate::commands::files::StatArgs),
    Lock(crate::commands::lock::LockArgs),
    Stats(crate::commands::stats::StatsArgs),
    Status(crate::commands::status::StatusArgs),
    Config(crate::commands::config::ConfigArgs),
    Destroy(crate::commands::destroy::DestroyArgs),
    Bench(crate::commands::bench::BenchArgs),
    Dump(crate::commands::dump::DumpArgs),
    Trash(crate::commands::trash::TrashArgs),
    Load(crate::commands::dump::LoadArgs),
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

/// Write shell completions and man pages (scripts/gen-docs runs this).
#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Where completions/ and man/ are written (the repository root)
    #[arg(long, value_name = "DIR")]
    pub out: std::path::PathBuf,
}

/// Mount a file system: serve it through FUSE.
///
/// Returns once the mount is ready; a background process serves it until
/// it is unmounted (umount DIR, fusermount3 -u DIR) or sent SIGTERM or
/// SIGINT, when it stores every write that succeeded, ends its session and
/// exits 0 (writes after a signal fail). DIR must be empty (see nonempty);
/// a dead dynamofs mount left there by a crash is cleared.
///
/// Options (-o, comma-separated):
///   endpoint=URL, region=R, profile=P   where the DynamoDB tables are
///   attr_timeout=S, entry_timeout=S     kernel cache times (default 1 s)
///   ro, allow_other, allow_root         as other FUSE file systems
///   mandatory_locks                     enforce locks on read and write
///   create                              run mkfs first if SOURCE is empty
///   writeback_cache                     let the kernel cache writes: for a file
///                                       system only one client writes (off)
///   threads=N                           kernel request threads (default 4)
///   write_buffer=SIZE                   written data buffered before a flush (256M)
///   block_cache=SIZE                    file data cached for reading (64M)
///   session_ttl=S                       lease: how long a silent mount keeps its locks (30)
///   nonempty                            mount over a directory that has files
///   suid, dev                           let setuid bits and devices work (root only)
///   relatime, noatime, strictatime      when reads update atime (relatime: once
///                                       after each change, or daily)
///   subdir=/PATH                        show that directory as the mount's root
///                                       (its `..` stays inside the mount)
///   log=PATH                            the background server's log (default: in
///                                       $XDG_STATE_HOME/dynamofs, else for root
///                                       /var/log/dynamofs, else ~/.local/state/dynamofs)
///   metrics=ADDR:PORT                   serve Prometheus metrics at http://ADDR:PORT/metrics
///                                       (port 0: a free port, named when mounted)
/// Sizes take K, M, G or T (a bare number is MiB). fstab options such as
/// _netdev, defaults, noauto and nofail are accepted.
/// `mount -o remount,ro DIR` (and remount,rw) changes a mount made by root
/// in place (mount(8) hands it to mount.fuse.dynamofs).
/// The server gets --endpoint, --profile and -v; DYNAMOFS_LOG (else
/// RUST_LOG) sets its log filter, e.g. DYNAMOFS_LOG=dynamofs=debug.
///
/// Examples:
///   dynamofs mount sqlite:/var/lib/dynamofs/home.db /mnt/home
///   dynamofs mount -o create,allow_other aws:us-east-1/team /srv/team
///   mount -t fuse.dynamofs aws:us-east-1/team /srv/team -o _netdev
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MountArgs {
    /// Where the file system lives: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// An existing directory to mount on
    pub mountpoint: std::path::PathBuf,

    /// Mount options, comma-separated (may be repeated)
    #[arg(short = 'o', value_name = "OPTIONS")]
    pub options: Vec<String>,

    /// Serve in the foreground instead of returning once mounted
    #[arg(short, long)]
    pub foreground: bool,
}

/// Create a file system: its two tables, superblock and root directory.
///
/// Examples:
///   dynamofs mkfs sqlite:/var/lib/dynamofs/home.db
///   dynamofs mkfs aws:us-east-1/home --block-size 256K
///   dynamofs mkfs aws:eu-west-1/team --billing provisioned --read-capacity 50 --write-capacity 50
///   dynamofs mkfs --endpoint http://localhost:8000 aws:us-east-1/test --force
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MkfsArgs {
    /// Where to create it: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Data block size: a power of two from 4K to 256K (suffix K allowed)
    #[arg(long, value_name = "SIZE", default_value = "256K", value_parser = parse_size)]
    pub block_size: u32,

    /// DynamoDB capacity mode of new tables
    #[arg(long, value_enum, default_value_t = BillingArg::OnDemand)]
    pub billing: BillingArg,

    /// Read capacity units per table (with --billing provisioned)
    #[arg(long, value_name = "RCU", default_value_t = 5)]
    pub read_capacity: i64,

    /// Write capacity units per table (with --billing provisioned)
    #[arg(long, value_name = "WCU", default_value_t = 5)]
    pub write_capacity: i64,

    /// Owner of the root directory as UID:GID (default: the invoking user)
    #[arg(long, value_name = "UID:GID", value_parser = parse_owner)]
    pub root_owner: Option<(u32, u32)>,

    /// Permissions of the root directory, in octal
    #[arg(long, value_name = "MODE", default_value = "755", value_parser = parse_mode)]
    pub root_mode: u32,

    /// Compress data blocks (DynamoDB bills per KB written and stored)
    #[arg(long, value_enum, default_value_t = CompressionArg::Lz4)]
    pub compression: CompressionArg,

    /// Keep removed and replaced files this many days in /.trash, from
    /// which `dynamofs trash restore` puts them back (0: removal is final;
    /// `dynamofs config --trash-days` changes it later)
    #[arg(long, value_name = "DAYS", default_value_t = 0, value_parser = parse_trash_days)]
    pub trash_days: u32,

    /// Destroy an existing file system (or foreign tables) at SOURCE
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    None,
    Lz4,
}

impl CompressionArg {
    pub fn name(self) -> &'static str {
        match self {
            CompressionArg::None => "none",
            CompressionArg::Lz4 => "lz4",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BillingArg {
    OnDemand,
    Provisioned,
}

impl BillingArg {
    /// The mode, with these capacities when it is provisioned.
    pub fn billing(self, read: i64, write: i64) -> dynamofs_core::store::Billing {
        use dynamofs_core::store::Billing;
        match self {
            BillingArg::OnDemand => Billing::OnDemand,
            BillingArg::Provisioned => Billing::Provisioned { read, write },
        }
    }
}

fn parse_size(s: &str) -> Result<u32, String> {
    let (num, mult) = match s.strip_suffix(['K', 'k']) {
        Some(n) => (n, 1024),
        None => (s, 1),
    };
    num.parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("`{s}` is not a size; write e.g. 131072 or 128K"))
}

fn parse_owner(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not UID:GID; write numbers, e.g. 1000:1000");
    let (u, g) = s.split_once(':').ok_or_else(bad)?;
    Ok((u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?))
}

fn parse_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("`{s}` is not an octal mode such as 755")),
    }
}

/// Days of trash: 0 to 3650.
pub fn parse_trash_days(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(d) if d <= dynamofs_core::superblock::MAX_TRASH_DAYS => Ok(d),
        _ => Err(format!(
            "`{s}` is not a number of days from 0 (no trash) to {}",
            dynamofs_core::superblock::MAX_TRASH_DAYS
        )),
    }
}
