//! `dynamofs config`: show, and change, what can change after mkfs.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use dynamofs_core::config::{self, Settings};
use dynamofs_core::store::{TableChange, TableClass};

use super::stats::{bytes, table_name};
use crate::args::{BillingArg, CompressionArg, GlobalArgs};
use crate::json::Json;
use crate::printer::Printer;

/// Show a file system's settings, or change those that can change.
///
/// Without options it prints the settings (block size, compression,
/// format, and each table's capacity mode and class). --compression applies to
/// blocks that mounts started afterwards write: each block records its own
/// encoding, so what is stored reads as before. --billing changes both
/// DynamoDB tables' capacity mode (DynamoDB limits how often a table may
/// switch modes in a day) and waits until they are active again;
/// --table-class likewise moves them to Standard or Standard-IA (cheaper
/// storage, dearer requests). --trash-days sets how long removed files
/// stay in /.trash, for mounts started afterwards (0: removal is final;
/// what is in the trash stays until purged). The block size cannot change.
///
/// Examples:
///   dynamofs config sqlite:/var/lib/dynamofs/home.db
///   dynamofs config aws:us-east-1/team --compression none
///   dynamofs config aws:us-east-1/team --trash-days 7
///   dynamofs config aws:us-east-1/team --billing provisioned --read-capacity 100 --write-capacity 50
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ConfigArgs {
    /// The file system: aws:REGION/TABLE or sqlite:PATH
    pub source: String,

    /// Compress blocks written from now on with lz4, or not
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,

    /// Keep removed and replaced files this many days in /.trash (0: off)
    #[arg(long, value_name = "DAYS", value_parser = crate::args::parse_trash_days)]
    pub trash_days: Option<u32>,

    /// Switch both tables to this DynamoDB capacity mode
    #[arg(long, value_enum)]
    pub billing: Option<BillingArg>,

    /// Switch both tables to this DynamoDB table class
    #[arg(long, value_enum)]
    pub table_class: Option<ClassArg>,

    /// Read capacity units per table (with --billing provisioned)
    #[arg(long, value_name = "RCU", default_value_t = 5, requires = "billing")]
    pub read_capacity: i64,

    /// Write capacity units per table (with --billing provisioned)
    #[arg(long, value_name = "WCU", default_value_t = 5, requires = "billing")]
    pub write_capacity: i64,

    /// Print the settings machine-readably (JSON)
    #[arg(long)]
    pub json: bool,
}

pub async fn run(
    global: &GlobalArgs,
    args: &ConfigArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let (src, opened) = super::open_source(global, &args.source).await?;
    let store = opened.store.as_ref();
    if let Some(c) = args.compression {
        config::set_compression(store, c.name())
            .await
            .with_context(|| format!("cannot change the compression of {src}"))?;
        printer.say(&format!(
            "compression is {}: mounts started from now on write blocks so",
            c.name()
        ))?;
    }
    if let Some(d) = args.trash_days {
        config::set_trash_days(store, d)
            .await
            .with_context(|| format!("cannot change the trash of {src}"))?;
        printer.say(&match d {
            0 => "trash is off: mounts started from now on remove files for good (`dynamofs trash purge --all` empties it)".to_string(),
            d => format!("trash keeps removed files {d} days, in mounts started from now on"),
        })?;
    }
    if let Some(b) = args.billing {
        if b == BillingArg::Provisioned && (args.read_capacity < 1 || args.write_capacity < 1) {
            bail!("--read-capacity and --write-capacity must be at least 1");
        }
        let billing = b.billing(args.read_capacity, args.write_capacity);
        change(store, TableChange::Billing(billing), printer)
            .await
            .with_context(|| format!("cannot change the billing of {src}"))?;
    }
    if let Some(c) = args.table_class {
        let class = match c {
            ClassArg::Standard => TableClass::Standard,
            ClassArg::StandardIa => TableClass::InfrequentAccess,
        };
        change(store, TableChange::Class(class), printer)
            .await
            .with_context(|| format!("cannot change the table class of {src}"))?;
    }
    let settings = config::show(store)
        .await
        .with_context(|| format!("cannot read the settings of {src}"))?;
    if args.json {
        crate::printer::out(json(&settings))?;
    } else {
        printer.say(&text(&src.to_string(), &settings))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// DynamoDB's table classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassArg {
    Standard,
    StandardIa,
}

async fn change(
    store: &dyn dynamofs_core::store::Store,
    change: TableChange,
    printer: &Printer,
) -> Result<(), dynamofs_core::config::ConfigError> {
    let spinner = printer.spinner();
    spinner.set_message("changing both tables and waiting until they are active");
    let changed = config::update_tables(store, change).await;
    spinner.finish_and_clear();
    changed
}

fn billing_of(info: &dynamofs_core::store::TableInfo) -> &str {
    info.billing.as_deref().unwrap_or("none (embedded store)")
}

fn text(source: &str, s: &Settings) -> String {
    let sb = &s.superblock;
    let mut out = format!(
        "{source}\n  file system {}, format {}\n  block size {} (fixed at mkfs)\n  compression {}\n  trash {}\n",
        sb.fs_id,
        sb.version,
        bytes(sb.block_size.into()),
        sb.compression,
        match sb.trash_days {
            0 => "off".to_string(),
            d => format!("{d} days"),
        }
    );
    for (t, name, info) in &s.tables {
        out.push_str(&format!(
            "  {} table {name}: billing {}, class {}\n",
            table_name(*t),
            billing_of(info),
            info.class.as_deref().unwrap_or("none (embedded store)")
        ));
    }
    out.trim_end().to_string()
}

fn json(s: &Settings) -> Json {
    let sb = &s.superblock;
    let tables = s
        .tables
        .iter()
        .map(|(t, name, info)| {
            (
                table_name(*t).to_string(),
                Json::obj([
                    ("name", Json::s(name)),
                    (
                        "billing",
                        info.billing.as_deref().map_or(Json::Null, Json::s),
                    ),
                    ("class", info.class.as_deref().map_or(Json::Null, Json::s)),
                ]),
            )
        })
        .collect();
    Json::obj([
        ("fs_id", Json::s(&sb.fs_id)),
        ("format", Json::I(sb.version)),
        ("block_size", Json::U(sb.block_size.into())),
        ("compression", Json::s(&sb.compression)),
        ("trash_days", Json::U(sb.trash_days.into())),
        ("tables", Json::O(tables)),
    ])
}
