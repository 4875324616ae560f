//! One module per subcommand; each returns the exit status.

pub mod bench;
pub mod config;
pub mod cp;
pub mod destroy;
pub mod docs;
pub mod dump;
pub mod files;
pub mod fsck;
pub mod lock;
pub mod ls;
pub mod mkfs;
pub mod mount;
mod mount_log;
mod mount_metrics;
mod mountpoint;
mod remount;
pub mod scrape;
pub mod stats;
pub mod status;
pub mod target;
pub mod trash;
mod watch;

use anyhow::Context;
use dynamofs_core::store::{self, Opened, Source, StoreOptions};

use crate::args::GlobalArgs;

/// Parse a source string and open its store with the global options.
pub async fn open_source(global: &GlobalArgs, source: &str) -> anyhow::Result<(Source, Opened)> {
    let src: Source = source.parse()?;
    let opts = StoreOptions {
        endpoint: global.endpoint.clone(),
        profile: global.profile.clone(),
    };
    let opened = store::open(&src, &opts)
        .await
        .with_context(|| format!("cannot open {src}"))?;
    Ok((src, opened))
}
