//! `dynamofs ls`: list a file system's directories without mounting it.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use dynamofs_core::fs::Attr;
use dynamofs_core::inode::FileType;
use dynamofs_core::path::{self, Listed, Walk};

use super::target::{self, fs_error, Opened};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// List directory contents in a file system, without mounting it.
///
/// TARGET is SOURCE:PATH, e.g. aws:us-east-1/team:/projects or
/// sqlite:/var/lib/dynamofs/home.db:/notes; SOURCE alone lists the root.
/// Names are sorted by their bytes and printed one per line; times are
/// local. Owners are shown by name when the user database (NSS) knows
/// them. Errors are reported and the rest is listed; the exit status is then 1.
///
/// --json prints one array of objects with name, path, type (file,
/// directory, symlink, fifo, socket, char, block), mode (octal string),
/// nlink, uid, gid, size, mtime (RFC 3339, UTC), mtime_ns, ino and target
/// (of a symbolic link, else null). Names that are not UTF-8 are shown
/// with U+FFFD in JSON.
///
/// Examples:
///   dynamofs ls aws:us-east-1/team:/projects
///   dynamofs ls -la sqlite:/var/lib/dynamofs/home.db
///   dynamofs ls -lRh aws:us-east-1/team:/src
///   dynamofs ls -R --json aws:us-east-1/team:/src | jq -r '.[] | select(.type == "file") | .path'
#[derive(Debug, Args)]
#[command(verbatim_doc_comment, disable_help_flag = true)]
pub struct LsArgs {
    /// What to list: SOURCE:PATH, or SOURCE for the root
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Long listing: mode, links, owner, group, size, time, name
    #[arg(short = 'l')]
    pub long: bool,

    /// Also names starting with `.`, and `.` and `..`
    #[arg(short = 'a', long)]
    pub all: bool,

    /// List subdirectories recursively
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// With -l: sizes such as 1.5K, 23M, 2.0G
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,

    /// With -l: numeric user and group ids, not names
    #[arg(short = 'n', long = "numeric-uid-gid")]
    pub numeric: bool,

    /// List directories themselves, not their contents
    #[arg(short = 'd', long)]
    pub directory: bool,

    /// Print one JSON array of objects (see above) instead of text
    #[arg(long)]
    pub json: bool,

    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

pub async fn run(
    global: &GlobalArgs,
    args: &LsArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut ls = Lister {
        args,
        printer,
        names: Names::new(args.numeric),
        json: Vec::new(),
        failed: false,
        printed_any: false,
        out: std::io::stdout(),
    };
    let mut opened: HashMap<String, Opened> = HashMap::new();
    let mut files: Vec<(usize, Vec<u8>, Attr)> = Vec::new();
    let mut dirs: Vec<(usize, Vec<u8>, Attr)> = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for arg in &args.targets {
        let t = match target::parse_fs(arg) {
            Ok(t) => t,
            Err(e) => {
                ls.error(&e);
                continue;
            }
        };
        if !opened.contains_key(&t.source) {
            match target::open(global, &t.source).await {
                Ok(o) => {
                    opened.insert(t.source.clone(), o);
                }
                Err(e) => {
                    ls.error(&e);
                    continue;
                }
            }
        }
        let Some(o) = opened.get(&t.source) else {
            continue;
        };
        // As ls(1): a link named on the command line is followed unless
        // the link itself is asked about.
        let follow = !(args.long || args.directory || args.json);
        let r = match path::resolve(&o.fs, &o.caller, &t.path, follow).await {
            Ok(r) => r,
            Err(e) => {
                ls.error(&fs_error(&o.show(&t.path), e));
                continue;
            }
        };
        let idx = match order.iter().position(|s| *s == t.source) {
            Some(i) => i,
            None => {
                order.push(t.source.clone());
                order.len() - 1
            }
        };
        if r.attr.kind == FileType::Directory && !args.directory {
            dirs.push((idx, t.path, r.attr));
        } else {
            files.push((idx, t.path, r.attr));
        }
    }
    let many = args.targets.len() > 1 || args.recursive;
    if !files.is_empty() {
        files.sort_by(|a, b| a.1.cmp(&b.1));
        let mut listed = Vec::new();
        for (idx, p, attr) in files {
            let Some(o) = order.get(idx).and_then(|s| opened.get(s)) else {
                continue;
            };
            listed.push((o, p, attr));
        }
        ls.print_operands(&listed).await?;
    }
    for (idx, p, attr) in dirs {
        let Some(o) = order.get(idx).and_then(|s| opened.get(s)) else {
            continue;
        };
        ls.list_tree(o, p, attr.ino, many).await?;
    }
    if args.json {
        let mut text = b"[".to_vec();
        for (i, obj) in ls.json.iter().enumerate() {
            text.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
            text.extend_from_slice(obj.spaced().to_string().as_bytes());
        }
        text.extend_from_slice(if ls.json.is_empty() { b"]\n" } else { b"\n]\n" });
        ls.out.write_all(&text)?;
    }
    ls.out.flush()?;
    Ok(if ls.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

struct Lister<'a> {
    args: &'a LsArgs,
    printer: &'a Printer,
    names: Names,
    json: Vec<Json>,
    failed: bool,
    printed_any: bool,
    out: std::io::Stdout,
}

/// One row to show: what to call it, where it is, and its attributes.
struct Row {
    shown: Vec<u8>,
    name: Vec<u8>,
    path: Vec<u8>,
    attr: Attr,
    target: Option<Vec<u8>>,
}

impl Lister<'_> {
    fn error(&mut self, e: &anyhow::Error) {
        self.failed = true;
        self.printer.error(e);
    }

    /// Files (and with -d, directories) named on the command line: one
    /// group, shown as they were written.
    async fn print_operands(&mut self, items: &[(&Opened, Vec<u8>, Attr)]) -> anyhow::Result<()> {
        let mut rows = Vec::new();
        for (o, p, attr) in items {
            let target = self.target_of(o, attr).await;
            let name = path::split_last(p)
                .map(|(_, n)| n)
                .unwrap_or_else(|| p.clone());
            rows.push(Row {
                shown: p.clone(),
                name,
                path: p.clone(),
                attr: attr.clone(),
                target,
            });
        }
        self.emit(&rows, false)?;
        self.printed_any = true;
        Ok(())
    }

    /// One directory, and with -R everything under it, in ls -R order.
    async fn list_tree(
        &mut self,
        o: &Opened,
        top: Vec<u8>,
        ino: u64,
        header: bool,
    ) -> anyhow::Result<()> {
        let mut walk = Walk::new(top, ino, ()).with_dots(self.args.all);
        while let Some(v) = walk.next(&o.fs, &o.caller).await {
            if self.printed_any && !self.args.json {
                self.out.write_all(b"\n")?;
            }
            self.printed_any = true;
            if header && !self.args.json {
                let mut h = v.path.clone();
                h.extend_from_slice(b":\n");
                self.out.write_all(&h)?;
            }
            let entries = match v.entries {
                Ok(e) => e,
                Err(e) => {
                    self.error(&fs_error(&o.show(&v.path), e));
                    continue;
                }
            };
            for (name, e) in entries.damaged {
                let p = path::join(&v.path, &name);
                self.error(&fs_error(&o.show(&p), e));
            }
            let entries: Vec<Listed> = entries
                .entries
                .into_iter()
                .filter(|e| self.args.all || !e.name.starts_with(b"."))
                .collect();
            let mut rows = Vec::with_capacity(entries.len());
            for e in entries {
                let p = path::join(&v.path, &e.name);
                let target = self.target_of(o, &e.attr).await;
                if self.args.recursive
                    && e.attr.kind == FileType::Directory
                    && path::is_safe_name(&e.name)
                {
                    walk.enter(p.clone(), e.attr.ino, ());
                }
                rows.push(Row {
                    shown: e.name.clone(),
                    name: e.name,
                    path: p,
                    attr: e.attr,
                    target,
                });
            }
            self.emit(&rows, true)?;
        }
        Ok(())
    }

    async fn target_of(&mut self, o: &Opened, attr: &Attr) -> Option<Vec<u8>> {
        if attr.kind != FileType::Symlink || !(self.args.long || self.args.json) {
            return None;
        }
        match o.fs.readlink(attr.ino).await {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(&fs_error(&format!("{}: symbolic link", o.source), e));
                None
            }
        }
    }

    fn emit(&mut self, rows: &[Row], total: bool) -> anyhow::Result<()> {
        if self.args.json {
            for r in rows {
                self.json.push(json_object(r));
            }
            return Ok(());
        }
        let mut buf = Vec::new();
        if !self.args.long {
            for r in rows {
                buf.extend_from_slice(&r.shown);
                buf.push(b'\n');
            }
            self.out.write_all(&buf)?;
            return Ok(());
        }
        if total {
            let kib: u64 = rows.iter().map(|r| r.attr.blocks).sum::<u64>().div_ceil(2);
            let t = if self.args.human {
                human(kib * 1024)
            } else {
                kib.to_string()
            };
            buf.extend_from_slice(format!("total {t}\n").as_bytes());
        }
        let now = chrono::Local::now();
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|r| {
                [
                    mode_string(&r.attr),
                    r.attr.nlink.to_string(),
                    self.names.user(r.attr.uid),
                    self.names.group(r.attr.gid),
                    if self.args.human {
                        human(r.attr.size)
                    } else {
                        r.attr.size.to_string()
                    },
                    ls_time(r.attr.mtime, now),
                ]
            })
            .collect();
        let mut w = [0usize; 6];
        for c in &cells {
            for (i, s) in c.iter().enumerate() {
                w[i] = w[i].max(s.chars().count());
            }
        }
        for (r, c) in rows.iter().zip(&cells) {
            let line = format!(
                "{} {:>w1$} {:<w2$} {:<w3$} {:>w4$} {} ",
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4],
            );
            buf.extend_from_slice(line.as_bytes());
            buf.extend_from_slice(&r.shown);
            if let Some(t) = &r.target {
                buf.extend_from_slice(b" -> ");
                buf.extend_from_slice(t);
            }
            buf.push(b'\n');
        }
        self.out.write_all(&buf)?;
        Ok(())
    }
}

fn json_object(r: &Row) -> Json {
    let a = &r.attr;
    let secs = a.mtime.div_euclid(1_000_000_000);
    let nanos = a.mtime.rem_euclid(1_000_000_000) as u32;
    let mtime = chrono::DateTime::from_timestamp(secs, nanos)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string())
        .unwrap_or_default();
    Json::obj([
        ("name", Json::bytes(&r.name)),
        ("path", Json::bytes(&r.path)),
        ("type", Json::s(type_name(a.kind))),
        ("mode", Json::S(format!("{:04o}", a.perm))),
        ("nlink", Json::U(a.nlink)),
        ("uid", Json::U(a.uid.into())),
        ("gid", Json::U(a.gid.into())),
        ("size", Json::U(a.size)),
        ("mtime", Json::S(mtime)),
        ("mtime_ns", Json::I(a.mtime)),
        ("ino", Json::U(a.ino)),
        (
            "target",
            r.target.as_deref().map_or(Json::Null, Json::bytes),
        ),
    ])
}

pub fn type_name(k: FileType) -> &'static str {
    match k {
        FileType::Regular => "file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "char",
        FileType::BlockDevice => "block",
    }
}

/// `drwxr-sr-t` and friends, as ls -l shows a mode.
pub fn mode_string(a: &Attr) -> String {
    let t = match a.kind {
        FileType::Regular => '-',
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        FileType::CharDevice => 'c',
        FileType::BlockDevice => 'b',
    };
    let m = a.perm;
    let bit = |mask: u32, c: char| if m & mask != 0 { c } else { '-' };
    let special = |x: u32, s: u32, on: char, off: char| match (m & x != 0, m & s != 0) {
        (true, true) => on,
        (false, true) => off,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        t,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

/// Sizes as ls -h shows them: powers of 1024, rounded up, one decimal
/// below 10.
pub fn human(n: u64) -> String {
    const UNITS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 {
        let r = (v * 10.0).ceil() / 10.0;
        if r < 10.0 {
            return format!("{r:.1}{}", UNITS[u]);
        }
        return format!("10{}", UNITS[u]);
    }
    let r = v.ceil();
    if r >= 1024.0 && u + 1 < UNITS.len() {
        return format!("1.0{}", UNITS[u + 1]);
    }
    format!("{}{}", r as u64, UNITS[u])
}

/// A time in nanoseconds, local.
pub fn local_time(ns: i64) -> chrono::DateTime<chrono::Local> {
    chrono::DateTime::from_timestamp_nanos(ns).with_timezone(&chrono::Local)
}

/// ls -l's time: `Mar  4 12:34` within the last six months, else
/// `Mar  4  2021`.
fn ls_time(ns: i64, now: chrono::DateTime<chrono::Local>) -> String {
    let t = local_time(ns);
    let age = now.signed_duration_since(t);
    let half_year = chrono::TimeDelta::seconds(31_556_952 / 2);
    if age >= chrono::TimeDelta::zero() && age < half_year {
        t.format("%b %e %H:%M").to_string()
    } else {
        t.format("%b %e  %Y").to_string()
    }
}

/// Owner and group names as the system's user database has them (NSS:
/// files, LDAP, SSSD…, as `ls` would show them on this host), or numbers.
/// Each id is looked up once.
pub struct Names {
    numeric: bool,
    users: Mutex<HashMap<u32, String>>,
    groups: Mutex<HashMap<u32, String>>,
}

impl Names {
    pub fn new(numeric: bool) -> Names {
        Names {
            numeric,
            users: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
        }
    }

    pub fn user(&self, uid: u32) -> String {
        self.named(&self.users, uid, |id| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(id))
                .ok()
                .flatten()
                .map(|u| u.name)
        })
    }

    pub fn group(&self, gid: u32) -> String {
        self.named(&self.groups, gid, |id| {
            nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(id))
                .ok()
                .flatten()
                .map(|g| g.name)
        })
    }

    fn named(
        &self,
        cache: &Mutex<HashMap<u32, String>>,
        id: u32,
        look_up: impl Fn(u32) -> Option<String>,
    ) -> String {
        if self.numeric {
            return id.to_string();
        }
        let Ok(mut m) = cache.lock() else {
            return id.to_string();
        };
        m.entry(id)
            .or_insert_with(|| look_up(id).unwrap_or_else(|| id.to_string()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: FileType, perm: u32) -> Attr {
        Attr {
            ino: 2,
            kind,
            perm,
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 0,
            blocks: 0,
            atime: 0,
            mtime: 0,
            ctime: 0,
            btime: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    #[test]
    fn modes() {
        assert_eq!(mode_string(&attr(FileType::Regular, 0o644)), "-rw-r--r--");
        assert_eq!(
            mode_string(&attr(FileType::Directory, 0o1777)),
            "drwxrwxrwt"
        );
        assert_eq!(
            mode_string(&attr(FileType::Directory, 0o1770)),
            "drwxrwx--T"
        );
        assert_eq!(mode_string(&attr(FileType::Regular, 0o4755)), "-rwsr-xr-x");
        assert_eq!(mode_string(&attr(FileType::Regular, 0o2644)), "-rw-r-Sr--");
        assert_eq!(mode_string(&attr(FileType::Symlink, 0o777)), "lrwxrwxrwx");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0");
        assert_eq!(human(1023), "1023");
        assert_eq!(human(1024), "1.0K");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(1025), "1.1K");
        assert_eq!(human(10 * 1024), "10K");
        assert_eq!(human(10 * 1024 + 1), "11K");
        assert_eq!(human(3 << 20), "3.0M");
        assert_eq!(human((1 << 20) - 1), "1.0M");
    }

    #[test]
    fn names_from_the_user_database() {
        let n = Names::new(false);
        assert_eq!(n.user(0), "root");
        assert_eq!(n.group(0), "root");
        // An id no database knows is shown as its number.
        assert_eq!(n.user(4_000_000_123), "4000000123");
        assert_eq!(Names::new(true).user(0), "0");
    }
}
