//! `dynamofs cat`, `mkdir`, `rm`, `mv` and `stat`: the small file tools,
//! working on a file system without mounting it.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Attr, OpenMode, RenameFlags, SetAttr};
use dynamofs_core::inode::FileType;
use dynamofs_core::path::{self, Walk};

use super::ls::{local_time, mode_string, type_name, Names};
use super::target::{self, fs_error, FsPath, Opened, Outcome, Sources};
use crate::args::GlobalArgs;
use crate::json::Json;
use crate::printer::Printer;

/// Bytes read per call: many blocks, fetched in parallel by core.
const CHUNK: usize = 4 << 20;

/// Parse and open one argument.
async fn open_arg(
    global: &GlobalArgs,
    sources: &mut Sources,
    arg: &str,
) -> anyhow::Result<(FsPath, Arc<Opened>)> {
    let t = target::parse_fs(arg)?;
    let o = sources.get(global, &t.source).await?;
    Ok((t, o))
}

/// Print files from a file system to standard output, without mounting it.
///
/// Examples:
///   dynamofs cat aws:us-east-1/team:/etc/motd
///   dynamofs cat sqlite:/var/lib/dynamofs/home.db:/notes/todo.txt | grep -i urgent
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CatArgs {
    /// Files to print: SOURCE:PATH
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,
}

pub async fn run_cat(
    global: &GlobalArgs,
    args: &CatArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::default();
    let mut outcome = Outcome::default();
    for arg in &args.targets {
        let (t, o) = match open_arg(global, &mut sources, arg).await {
            Ok(x) => x,
            Err(e) => {
                outcome.error(printer, &e);
                continue;
            }
        };
        if let Err(e) = cat_one(&o, &t.path).await {
            if is_stdout_error(&e) {
                return Err(e);
            }
            outcome.error(printer, &e);
        }
    }
    Ok(outcome.code())
}

/// Errors of standard output itself end the command (a reader that left
/// is not an error: main says so).
fn is_stdout_error(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>().is_some()
}

async fn cat_one(o: &Opened, p: &[u8]) -> anyhow::Result<()> {
    let shown = o.show(p);
    let r = path::resolve(&o.fs, &o.caller, p, true)
        .await
        .map_err(|e| fs_error(&shown, e))?;
    if r.attr.kind == FileType::Directory {
        return Err(fs_error(
            &shown,
            dynamofs_core::error::posix(Errno::EISDIR, "cat"),
        ));
    }
    let mode = OpenMode {
        read: true,
        ..Default::default()
    };
    let fh =
        o.fs.open_file(&o.caller, r.attr.ino, mode)
            .await
            .map_err(|e| fs_error(&shown, e))?;
    let result = async {
        let mut offset = 0u64;
        let mut out = std::io::stdout();
        loop {
            let data =
                o.fs.read(fh, offset, CHUNK)
                    .await
                    .map_err(|e| fs_error(&shown, e))?;
            if data.is_empty() {
                break;
            }
            offset += data.len() as u64;
            out.write_all(&data)?;
        }
        out.flush()?;
        Ok(())
    }
    .await;
    // Only read: closing cannot lose anything.
    let _ = o.fs.release(fh).await;
    result
}

/// Make directories in a file system, without mounting it.
///
/// New directories get mode 777 less your umask, or MODE with -m.
///
/// Examples:
///   dynamofs mkdir aws:us-east-1/team:/projects
///   dynamofs mkdir -p sqlite:/var/lib/dynamofs/home.db:/a/b/c
///   dynamofs mkdir -m 700 aws:us-east-1/team:/private
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MkdirArgs {
    /// Directories to make: SOURCE:PATH
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Make missing parents too; an existing directory is no error
    #[arg(short = 'p', long)]
    pub parents: bool,

    /// Permissions of the new directories, in octal (not masked by umask)
    #[arg(short = 'm', long, value_name = "MODE", value_parser = parse_mode)]
    pub mode: Option<u32>,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("`{s}` is not an octal mode such as 755")),
    }
}

pub async fn run_mkdir(
    global: &GlobalArgs,
    args: &MkdirArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::default();
    let mut outcome = Outcome::default();
    for arg in &args.targets {
        let r = async {
            let (t, o) = open_arg(global, &mut sources, arg).await?;
            mkdir_one(&o, &t.path, args).await
        }
        .await;
        if let Err(e) = r {
            outcome.error(printer, &e);
        }
    }
    Ok(outcome.code())
}

async fn mkdir_one(o: &Opened, p: &[u8], args: &MkdirArgs) -> anyhow::Result<()> {
    let shown = o.show(p);
    let err = |e| fs_error(&shown, e);
    let attr = if args.parents {
        path::mkdir_all(&o.fs, &o.caller, p, 0o777, 0o777)
            .await
            .map_err(err)?
    } else {
        let (dir, name) = match path::resolve_parent(&o.fs, &o.caller, p).await {
            Ok(x) => x,
            // The root, which exists.
            Err(e) if e.errno() == Errno::EINVAL && path::split_last(p).is_none() => {
                return Err(err(dynamofs_core::error::posix(Errno::EEXIST, "mkdir /")))
            }
            Err(e) => return Err(err(e)),
        };
        let a =
            o.fs.mkdir(&o.caller, dir.ino, &name, 0o777)
                .await
                .map_err(err)?;
        o.fs.forget(a.ino, 1).await;
        a
    };
    if let Some(mode) = args.mode {
        let set = SetAttr {
            mode: Some(mode),
            ..Default::default()
        };
        o.fs.setattr(&o.caller, attr.ino, &set).await.map_err(err)?;
    }
    Ok(())
}

/// Remove files and directories from a file system, without mounting it.
///
/// A symbolic link is removed, never what it points to. The data of
/// removed files is deleted before the command returns.
///
/// Examples:
///   dynamofs rm aws:us-east-1/team:/tmp/old.log
///   dynamofs rm -r sqlite:/var/lib/dynamofs/home.db:/build
///   dynamofs rm -rf aws:us-east-1/team:/cache
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RmArgs {
    /// What to remove: SOURCE:PATH
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Remove directories and everything in them
    #[arg(short = 'r', short_alias = 'R', long)]
    pub recursive: bool,

    /// Ignore what does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub async fn run_rm(
    global: &GlobalArgs,
    args: &RmArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::default();
    let mut outcome = Outcome::default();
    for arg in &args.targets {
        let (t, o) = match open_arg(global, &mut sources, arg).await {
            Ok(x) => x,
            Err(e) => {
                outcome.error(printer, &e);
                continue;
            }
        };
        rm_one(&o, &t.path, args, printer, &mut outcome).await;
    }
    sources.settle().await;
    Ok(outcome.code())
}

async fn rm_one(o: &Opened, p: &[u8], args: &RmArgs, printer: &Printer, out: &mut Outcome) {
    let shown = o.show(p);
    if path::split_last(p).is_none() {
        let e = anyhow!("{shown}: refusing to remove the root directory, `.` or `..`");
        out.error(printer, &e);
        return;
    }
    let found = async {
        let (dir, name) = path::resolve_parent(&o.fs, &o.caller, p).await?;
        let a = o.fs.lookup(&o.caller, dir.ino, &name).await?;
        o.fs.forget(a.ino, 1).await;
        Ok::<_, dynamofs_core::error::FsError>((dir, name, a))
    }
    .await;
    let (dir, name, a) = match found {
        Ok(x) => x,
        Err(e) if args.force && e.errno() == Errno::ENOENT => return,
        Err(e) => return out.error(printer, &fs_error(&shown, e)),
    };
    if a.kind != FileType::Directory {
        if let Err(e) = o.fs.unlink(&o.caller, dir.ino, &name).await {
            if !(args.force && e.errno() == Errno::ENOENT) {
                out.error(printer, &fs_error(&shown, e));
            }
        }
        return;
    }
    if !args.recursive {
        let e = anyhow!("{shown}: Is a directory (use -r to remove it and what it holds)");
        return out.error(printer, &e);
    }
    remove_tree(o, dir.ino, &name, a.ino, p, printer, out).await;
}

/// rm -r: files as their directory is listed, then the directories,
/// deepest first. What cannot be removed is reported and the rest goes.
async fn remove_tree(
    o: &Opened,
    parent: u64,
    name: &[u8],
    ino: u64,
    p: &[u8],
    printer: &Printer,
    out: &mut Outcome,
) {
    let mut dirs: Vec<(u64, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut walk = Walk::new(p.to_vec(), ino, (parent, name.to_vec()));
    while let Some(v) = walk.next(&o.fs, &o.caller).await {
        dirs.push((v.tag.0, v.tag.1, v.path.clone()));
        let entries = match v.entries {
            Ok(e) => e,
            Err(e) => {
                out.error(printer, &fs_error(&o.show(&v.path), e));
                continue;
            }
        };
        for (name, e) in entries.damaged {
            out.error(printer, &fs_error(&o.show(&path::join(&v.path, &name)), e));
        }
        for e in entries.entries {
            let child = path::join(&v.path, &e.name);
            if e.attr.kind == FileType::Directory {
                walk.enter(child, e.attr.ino, (v.ino, e.name));
            } else if let Err(err) = o.fs.unlink(&o.caller, v.ino, &e.name).await {
                out.error(printer, &fs_error(&o.show(&child), err));
            }
        }
    }
    for (parent, name, p) in dirs.into_iter().rev() {
        if let Err(e) = o.fs.rmdir(&o.caller, parent, &name).await {
            out.error(printer, &fs_error(&o.show(&p), e));
        }
    }
}

/// Move or rename files and directories within a file system, without
/// mounting it.
///
/// As mv(1): with several sources, or when DEST is an existing directory,
/// each source moves into it under its own name. A move is one atomic
/// rename, whatever the size of what moves. All paths must be in the same
/// file system (SOURCE); between file systems, use cp -r and rm -r.
///
/// Examples:
///   dynamofs mv aws:us-east-1/team:/draft.txt aws:us-east-1/team:/final.txt
///   dynamofs mv sqlite:/var/lib/dynamofs/home.db:/a sqlite:/var/lib/dynamofs/home.db:/b sqlite:/var/lib/dynamofs/home.db:/archive/
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MvArgs {
    /// SOURCE... DEST, each SOURCE:PATH
    #[arg(required = true, num_args = 2.., value_name = "TARGET")]
    pub paths: Vec<String>,

    /// Never replace an existing name
    #[arg(short = 'n', long = "no-clobber")]
    pub no_clobber: bool,
}

pub async fn run_mv(
    global: &GlobalArgs,
    args: &MvArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let Some((dst_arg, src_args)) = args.paths.split_last() else {
        anyhow::bail!("mv needs a source and a destination");
    };
    let dst = target::parse_fs(dst_arg)?;
    let srcs = src_args
        .iter()
        .map(|a| target::parse_fs(a))
        .collect::<anyhow::Result<Vec<FsPath>>>()?;
    if let Some(other) = srcs.iter().find(|s| s.source != dst.source) {
        anyhow::bail!(
            "mv works within one file system, and {} is not in {}: use cp -r, then rm -r",
            target::show(&other.source, &other.path),
            dst.source
        );
    }
    let mut sources = Sources::default();
    let o = sources.get(global, &dst.source).await?;
    let dshown = o.show(&dst.path);
    let many = srcs.len() > 1;
    // DEST: a directory to move into, or the new name.
    let into = match path::resolve(&o.fs, &o.caller, &dst.path, true).await {
        Ok(r) if r.attr.kind == FileType::Directory => Some(r.attr.ino),
        Ok(_) if many => anyhow::bail!("target {dshown}: Not a directory"),
        Ok(_) => None,
        Err(e) if e.errno() == Errno::ENOENT && !many => None,
        Err(e) => return Err(fs_error(&format!("target {dshown}"), e)),
    };
    let progress = super::cp::progress_wanted(global);
    let mut outcome = Outcome::default();
    for s in &srcs {
        if let Err(e) = mv_one(&o, &s.path, &dst.path, into, args, printer, progress).await {
            outcome.error(printer, &e);
        }
    }
    sources.settle().await;
    Ok(outcome.code())
}

async fn mv_one(
    o: &Arc<Opened>,
    src: &[u8],
    dst: &[u8],
    into: Option<u64>,
    args: &MvArgs,
    printer: &Printer,
    progress: bool,
) -> anyhow::Result<()> {
    let sshown = o.show(src);
    let Some((_, sname)) = path::split_last(src) else {
        anyhow::bail!("{sshown}: cannot move the root directory, `.` or `..`");
    };
    let (sdir, _) = path::resolve_parent(&o.fs, &o.caller, src)
        .await
        .map_err(|e| fs_error(&sshown, e))?;
    let a =
        o.fs.lookup(&o.caller, sdir.ino, &sname)
            .await
            .map_err(|e| fs_error(&sshown, e))?;
    o.fs.forget(a.ino, 1).await;
    let (ddir, dname, dpath) = match into {
        Some(ino) => (ino, sname.clone(), path::join(dst, &sname)),
        None => {
            let (d, n) = path::resolve_parent(&o.fs, &o.caller, dst)
                .await
                .map_err(|e| fs_error(&o.show(dst), e))?;
            if n == b"." || n == b".." {
                anyhow::bail!("{}: cannot replace `.` or `..`", o.show(dst));
            }
            (d.ino, n, dst.to_vec())
        }
    };
    let dshown = o.show(&dpath);
    let flags = RenameFlags {
        noreplace: args.no_clobber,
        exchange: false,
    };
    match o
        .fs
        .rename(&o.caller, sdir.ino, &sname, ddir, &dname, flags)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.errno() == Errno::EEXIST && args.no_clobber => Ok(()),
        Err(e) if e.errno() == Errno::EINVAL && a.kind == FileType::Directory => Err(anyhow!(
            "cannot move {sshown} to a subdirectory of itself, {dshown}"
        )),
        Err(e) if e.errno() == Errno::EXDEV => {
            // Too deep for one transaction to guard against cycles: copy
            // and remove instead, which stays correct.
            let all =
                super::cp::copy_within(o, src, ddir, &dname, &dpath, printer, progress).await?;
            if !all {
                anyhow::bail!(
                    "{sshown}: not everything could be copied to {dshown}; the source is kept"
                );
            }
            let mut out = Outcome::default();
            if a.kind == FileType::Directory {
                remove_tree(o, sdir.ino, &sname, a.ino, src, printer, &mut out).await;
            } else if let Err(e) = o.fs.unlink(&o.caller, sdir.ino, &sname).await {
                out.error(printer, &fs_error(&sshown, e));
            }
            if out.failed {
                anyhow::bail!("{sshown}: copied to {dshown}, but not all of it could be removed");
            }
            Ok(())
        }
        Err(e) => Err(fs_error(&format!("cannot move {sshown} to {dshown}"), e)),
    }
}

/// Show what stat(2) says of files in a file system, without mounting it.
///
/// As stat(1), a symbolic link is shown itself unless -L. --json prints an
/// object (an array of them for several targets) with path, name, type,
/// mode (octal string), size, blocks, blksize, ino, nlink, uid, gid, user,
/// group, atime, mtime, ctime, btime (RFC 3339, UTC, and *_ns in
/// nanoseconds) and target (of a symbolic link, else null).
///
/// Examples:
///   dynamofs stat aws:us-east-1/team:/projects/plan.md
///   dynamofs stat --json sqlite:/var/lib/dynamofs/home.db:/ | jq .nlink
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct StatArgs {
    /// What to show: SOURCE:PATH
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Follow a symbolic link and show what it points to
    #[arg(short = 'L', long)]
    pub dereference: bool,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub async fn run_stat(
    global: &GlobalArgs,
    args: &StatArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::default();
    let mut outcome = Outcome::default();
    let names = Names::new(false);
    let mut objects = Vec::new();
    let mut out = std::io::stdout();
    for arg in &args.targets {
        let r = async {
            let (t, o) = open_arg(global, &mut sources, arg).await?;
            let shown = o.show(&t.path);
            let r = path::resolve(&o.fs, &o.caller, &t.path, args.dereference)
                .await
                .map_err(|e| fs_error(&shown, e))?;
            let link = if r.attr.kind == FileType::Symlink {
                Some(
                    o.fs.readlink(r.attr.ino)
                        .await
                        .map_err(|e| fs_error(&shown, e))?,
                )
            } else {
                None
            };
            Ok::<_, anyhow::Error>((t, r.attr, link))
        }
        .await;
        let (t, attr, link) = match r {
            Ok(x) => x,
            Err(e) => {
                outcome.error(printer, &e);
                continue;
            }
        };
        if args.json {
            objects.push(stat_json(&t.path, &attr, link.as_deref(), &names));
        } else {
            out.write_all(&stat_text(&t.path, &attr, link.as_deref(), &names))?;
        }
    }
    if args.json {
        if args.targets.len() > 1 {
            writeln!(out, "{}", Json::A(objects).spaced())?;
        } else if let Some(obj) = objects.first() {
            writeln!(out, "{}", obj.spaced())?;
        }
    }
    out.flush()?;
    Ok(outcome.code())
}

fn type_words(a: &Attr) -> &'static str {
    match a.kind {
        FileType::Regular if a.size == 0 => "regular empty file",
        FileType::Regular => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "character special file",
        FileType::BlockDevice => "block special file",
    }
}

fn stat_time(ns: i64) -> String {
    local_time(ns)
        .format("%Y-%m-%d %H:%M:%S%.9f %z")
        .to_string()
}

fn stat_text(p: &[u8], a: &Attr, link: Option<&[u8]>, names: &Names) -> Vec<u8> {
    let mut b = b"  File: ".to_vec();
    b.extend_from_slice(p);
    if let Some(t) = link {
        b.extend_from_slice(b" -> ");
        b.extend_from_slice(t);
    }
    b.push(b'\n');
    let dev = if matches!(a.kind, FileType::CharDevice | FileType::BlockDevice) {
        format!(
            "  Device type: {},{}",
            (a.rdev >> 8) & 0xfff,
            (a.rdev & 0xff) | ((a.rdev >> 12) & 0xfff00)
        )
    } else {
        String::new()
    };
    let text = format!(
        "  Size: {:<10}\tBlocks: {:<10} IO Block: {:<6} {}\n\
         Inode: {:<11} Links: {}{dev}\n\
         Access: ({:04o}/{})  Uid: ({:>5}/{:>8})   Gid: ({:>5}/{:>8})\n\
         Access: {}\n\
         Modify: {}\n\
         Change: {}\n \
         Birth: {}\n",
        a.size,
        a.blocks,
        a.blksize,
        type_words(a),
        a.ino,
        a.nlink,
        a.perm,
        mode_string(a),
        a.uid,
        names.user(a.uid),
        a.gid,
        names.group(a.gid),
        stat_time(a.atime),
        stat_time(a.mtime),
        stat_time(a.ctime),
        stat_time(a.btime),
    );
    b.extend_from_slice(text.as_bytes());
    b
}

fn utc(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

fn stat_json(p: &[u8], a: &Attr, link: Option<&[u8]>, names: &Names) -> Json {
    let name = path::split_last(p)
        .map(|(_, n)| n)
        .unwrap_or_else(|| p.to_vec());
    Json::obj([
        ("path", Json::bytes(p)),
        ("name", Json::bytes(&name)),
        ("type", Json::s(type_name(a.kind))),
        ("mode", Json::S(format!("{:04o}", a.perm))),
        ("size", Json::U(a.size)),
        ("blocks", Json::U(a.blocks)),
        ("blksize", Json::U(a.blksize.into())),
        ("ino", Json::U(a.ino)),
        ("nlink", Json::U(a.nlink)),
        ("uid", Json::U(a.uid.into())),
        ("gid", Json::U(a.gid.into())),
        ("user", Json::S(names.user(a.uid))),
        ("group", Json::S(names.group(a.gid))),
        ("atime", Json::S(utc(a.atime))),
        ("mtime", Json::S(utc(a.mtime))),
        ("ctime", Json::S(utc(a.ctime))),
        ("btime", Json::S(utc(a.btime))),
        ("atime_ns", Json::I(a.atime)),
        ("mtime_ns", Json::I(a.mtime)),
        ("ctime_ns", Json::I(a.ctime)),
        ("btime_ns", Json::I(a.btime)),
        ("target", link.map_or(Json::Null, Json::bytes)),
    ])
}
