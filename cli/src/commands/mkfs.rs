//! `dynamofs mkfs`: create a file system.

use std::process::ExitCode;

use anyhow::Context;
use dynamofs_core::mkfs::{self, MkfsOptions};

use crate::args::{GlobalArgs, MkfsArgs};
use crate::printer::Printer;

pub async fn run(
    global: &GlobalArgs,
    args: &MkfsArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let (root_uid, root_gid) = match args.root_owner {
        Some(o) => o,
        None => {
            let c = super::target::invoking_caller()?;
            (c.uid, c.gid)
        }
    };
    let opts = MkfsOptions {
        block_size: args.block_size,
        billing: args
            .billing
            .billing(args.read_capacity, args.write_capacity),
        force: args.force,
        root_uid,
        root_gid,
        root_mode: args.root_mode,
        compression: args.compression.name().to_string(),
        trash_days: args.trash_days,
    };
    let spinner = printer.spinner();
    let step = |what: &str| spinner.set_message(what.to_string());
    let result = mkfs::mkfs(opened.store.as_ref(), &opts, &step).await;
    spinner.finish_and_clear();
    let sb = result.with_context(|| format!("mkfs {src} failed"))?;
    let trash = match sb.trash_days {
        0 => "no trash".to_string(),
        d => format!("removed files kept {d} days in /.trash"),
    };
    printer.say(&format!(
        "created file system {} on {src}: block size {} KiB, compression {}, {trash}, root owned by {root_uid}:{root_gid}",
        sb.fs_id,
        sb.block_size / 1024,
        sb.compression
    ))?;
    Ok(ExitCode::SUCCESS)
}
