//! `dynamofs stats`: what a file system holds, which mounts use it, what
//! they ask of the store, and an estimate of what that costs on DynamoDB.
//!
//! Counting files and bytes scans both tables (only fsck and stats scan).
//! Request counts come from the mounts themselves: each heartbeat writes the
//! mount's store counters into its session item ([`encode_counters`]).

use serde::{Deserialize, Serialize};

use crate::error::FsResult;
use crate::inode::{FileType, Inode};
use crate::schema::{INODE_ATTRS_S, INODE_TAG, SESSIONS_P};
use crate::session::{attr as session_attr, SessionInfo};
use crate::store::{item_size, Counters, Item, Key, RequestKind, Store, Table, Value};
use crate::superblock::Superblock;

/// Totals of one kind of request (as [`Counters`] keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub items: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

/// Format byte in front of published counters.
const COUNTERS_FORMAT: u8 = 1;

/// One kind's totals as published: kinds by name, so that a reader of
/// another version skips kinds it does not know.
#[derive(Serialize, Deserialize)]
struct Wire {
    kind: String,
    requests: u64,
    items: u64,
    bytes_read: u64,
    bytes_written: u64,
}

/// The session attribute a heartbeat publishes: a format byte, then the
/// postcard-encoded totals of every kind of request made so far.
pub fn encode_counters(c: &Counters) -> Vec<u8> {
    let wire: Vec<Wire> = c
        .snapshot()
        .into_iter()
        .filter(|(_, t)| t.requests > 0)
        .map(|(k, t)| Wire {
            kind: k.name().to_string(),
            requests: t.requests,
            items: t.items,
            bytes_read: t.bytes_read,
            bytes_written: t.bytes_written,
        })
        .collect();
    let mut out = vec![COUNTERS_FORMAT];
    // Encoding plain integers and strings into a Vec cannot fail; an empty
    // list in its place would only hide this mount's counts.
    out.extend(postcard::to_allocvec(&wire).unwrap_or_else(|_| vec![0]));
    out
}

/// Published counters, per kind of request.
pub fn decode_counters(b: &[u8]) -> Result<Vec<(RequestKind, Totals)>, String> {
    let body = match b.split_first() {
        Some((&COUNTERS_FORMAT, body)) => body,
        Some((f, _)) => return Err(format!("unknown counters format {f}")),
        None => return Err("empty counters attribute".into()),
    };
    let wire: Vec<Wire> = postcard::from_bytes(body).map_err(|e| e.to_string())?;
    Ok(wire
        .into_iter()
        .filter_map(|w| {
            let kind = RequestKind::ALL.into_iter().find(|k| k.name() == w.kind)?;
            let t = Totals {
                requests: w.requests,
                items: w.items,
                bytes_read: w.bytes_read,
                bytes_written: w.bytes_written,
            };
            Some((kind, t))
        })
        .collect())
}

/// A session and the request counts its mount published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionStats {
    pub info: SessionInfo,
    /// `None`: nothing published (a client without counters, or before
    /// its first heartbeat).
    pub requests: Option<Vec<(RequestKind, Totals)>>,
}

/// Items and their size as DynamoDB counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub items: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub superblock: Superblock,
    /// Live inodes (link count above 0) by type.
    pub files: u64,
    pub directories: u64,
    pub symlinks: u64,
    /// Devices, FIFOs and sockets.
    pub special: u64,
    /// Inodes whose last name is gone, not collected yet.
    pub orphans: u64,
    /// Inode items that do not decode.
    pub damaged: u64,
    /// Sum of the sizes of live regular files.
    pub logical_bytes: u64,
    pub meta: TableStats,
    /// The data table: its bytes are the stored bytes of file data.
    pub blocks: TableStats,
    pub sessions: Vec<SessionStats>,
}

impl Stats {
    /// Request totals of the sessions alive at `now`, per kind.
    pub fn live_requests(&self, now: i64) -> Vec<(RequestKind, Totals)> {
        let mut sum: Vec<(RequestKind, Totals)> = RequestKind::ALL
            .iter()
            .map(|k| (*k, Totals::default()))
            .collect();
        let live = self.sessions.iter().filter(|s| !s.info.is_expired(now));
        for (kind, t) in live.filter_map(|s| s.requests.as_ref()).flatten() {
            if let Some((_, acc)) = sum.iter_mut().find(|(k, _)| k == kind) {
                acc.requests += t.requests;
                acc.items += t.items;
                acc.bytes_read += t.bytes_read;
                acc.bytes_written += t.bytes_written;
            }
        }
        sum
    }
}

/// Count what the file system holds: scans both tables. `progress` is
/// called after every page with the table and its items read so far.
pub async fn gather(
    store: &dyn Store,
    progress: &(dyn Fn(Table, u64) + Send + Sync),
) -> FsResult<Stats> {
    let superblock = Superblock::load(store).await?;
    let mut st = Stats {
        superblock,
        files: 0,
        directories: 0,
        symlinks: 0,
        special: 0,
        orphans: 0,
        damaged: 0,
        logical_bytes: 0,
        meta: TableStats::default(),
        blocks: TableStats::default(),
        sessions: Vec::new(),
    };
    for table in [Table::Meta, Table::Blocks] {
        let mut start: Option<Key> = None;
        loop {
            let page = store.scan(table, start.as_ref(), 1000).await?;
            for it in &page.items {
                let t = match table {
                    Table::Meta => &mut st.meta,
                    Table::Blocks => &mut st.blocks,
                };
                t.items += 1;
                t.bytes += item_size(&it.key, &it.attrs) as u64;
                if table == Table::Meta {
                    st.add_meta(it);
                }
            }
            let t = if table == Table::Meta {
                st.meta
            } else {
                st.blocks
            };
            progress(table, t.items);
            match page.next {
                Some(n) => start = Some(n),
                None => break,
            }
        }
    }
    Ok(st)
}

impl Stats {
    fn add_meta(&mut self, it: &Item) {
        if it.key.p == SESSIONS_P {
            let info = SessionInfo::from_item(it).0;
            let requests = it
                .attrs
                .get(session_attr::COUNTERS)
                .and_then(Value::as_b)
                .and_then(|b| match decode_counters(b) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!(session = info.id, "published counters unreadable: {e}");
                        None
                    }
                });
            self.sessions.push(SessionStats { info, requests });
            return;
        }
        if it.key.p.len() != 9 || it.key.p[0] != INODE_TAG || it.key.s != INODE_ATTRS_S {
            return;
        }
        let ino = it.key.p[1..]
            .try_into()
            .map(u64::from_be_bytes)
            .unwrap_or_default();
        let Ok(i) = Inode::from_attrs(ino, &it.attrs) else {
            self.damaged += 1;
            return;
        };
        if i.nlink == 0 {
            self.orphans += 1;
            return;
        }
        match i.kind() {
            Some(FileType::Regular) => {
                self.files += 1;
                self.logical_bytes += i.size;
            }
            Some(FileType::Directory) => self.directories += 1,
            Some(FileType::Symlink) => self.symlinks += 1,
            _ => self.special += 1,
        }
    }
}

/// On-demand prices, in US dollars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    /// Per million write request units (1 KB each).
    pub write_million: f64,
    /// Per million read request units (4 KB, strongly consistent).
    pub read_million: f64,
    /// Per GiB-month stored.
    pub gib_month: f64,
}

/// DynamoDB on-demand in us-east-1 (the figures of the design notes).
pub const ON_DEMAND_US_EAST_1: Prices = Prices {
    write_million: 0.625,
    read_million: 0.125,
    gib_month: 0.25,
};

/// DynamoDB counts this much storage per item beyond its attributes.
pub const ITEM_OVERHEAD_BYTES: u64 = 100;

/// Request units a kind of request consumed, (read, write): rounded up per
/// kind from the totals, at least one unit per item or request (a
/// strongly consistent read unit is 4 KB, a write unit 1 KB; transactions
/// cost double). Only an estimate: DynamoDB rounds per item, so small items
/// cost more than their bytes say.
pub fn units(kind: RequestKind, t: &Totals) -> (u64, u64) {
    let read = |floor: u64| floor.max(t.bytes_read.div_ceil(4096));
    let write = |floor: u64| floor.max(t.bytes_written.div_ceil(1024));
    match kind {
        RequestKind::GetItem | RequestKind::BatchGetItem => (read(t.items), 0),
        RequestKind::Query | RequestKind::Scan => (read(t.requests), 0),
        RequestKind::PutItem
        | RequestKind::UpdateItem
        | RequestKind::DeleteItem
        | RequestKind::BatchWriteItem => (0, write(t.items)),
        RequestKind::TransactWriteItems => (0, 2 * write(t.items)),
        RequestKind::Admin => (0, 0),
    }
}

/// An estimate of what a file system costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    /// Stored bytes of both tables, with the per-item overhead.
    pub billed_bytes: u64,
    pub storage_per_month: f64,
    pub read_units: u64,
    pub write_units: u64,
    /// What the counted requests cost.
    pub requests: f64,
}

pub fn estimate(st: &Stats, requests: &[(RequestKind, Totals)], prices: &Prices) -> Cost {
    let items = st.meta.items + st.blocks.items;
    let billed_bytes = st.meta.bytes + st.blocks.bytes + items * ITEM_OVERHEAD_BYTES;
    let (read_units, write_units) = requests
        .iter()
        .map(|(k, t)| units(*k, t))
        .fold((0, 0), |(r, w), (r2, w2)| (r + r2, w + w2));
    let gib = billed_bytes as f64 / (1u64 << 30) as f64;
    Cost {
        billed_bytes,
        storage_per_month: gib * prices.gib_month,
        read_units,
        write_units,
        requests: read_units as f64 / 1e6 * prices.read_million
            + write_units as f64 / 1e6 * prices.write_million,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::session::{Session, DEFAULT_TTL};
    use crate::store::{self, SqliteStore};

    #[test]
    fn units_round_up_and_transactions_cost_double() {
        let t = Totals {
            requests: 2,
            items: 3,
            bytes_read: 9000,
            bytes_written: 5000,
        };
        assert_eq!(units(RequestKind::GetItem, &t), (3, 0));
        assert_eq!(units(RequestKind::Query, &t), (3, 0));
        assert_eq!(units(RequestKind::PutItem, &t), (0, 5));
        assert_eq!(units(RequestKind::TransactWriteItems, &t), (0, 10));
        assert_eq!(units(RequestKind::Admin, &t), (0, 0));
    }

    #[test]
    fn damaged_counters_are_an_error() {
        assert!(decode_counters(&[]).is_err());
        assert!(decode_counters(&[9, 1]).is_err());
        assert!(decode_counters(&[COUNTERS_FORMAT, 0xff, 0xff]).is_err());
    }

    #[tokio::test]
    async fn heartbeats_publish_the_mounts_counters() {
        let counters = Arc::new(Counters::default());
        let backend = SqliteStore::memory().expect("sqlite");
        let s = store::stack(backend, &counters);
        let opts = crate::mkfs::MkfsOptions::default();
        crate::mkfs::mkfs(s.as_ref(), &opts, &|_: &str| {})
            .await
            .expect("mkfs");
        let session = Session::register(Arc::clone(&s), "/mnt/x", DEFAULT_TTL)
            .await
            .expect("register");
        let none = |_: Table, _: u64| {};
        let st = gather(s.as_ref(), &none).await.expect("stats");
        assert_eq!(st.sessions.len(), 1);
        assert_eq!(st.sessions[0].requests, None, "nothing published yet");
        session.publish_counters(Arc::clone(&counters));
        session.heartbeat().await.expect("heartbeat");
        let st = gather(s.as_ref(), &none).await.expect("stats");
        assert_eq!((st.directories, st.files), (1, 0));
        let got = st.sessions[0].requests.clone().unwrap_or_default();
        let puts = got.iter().find(|(k, _)| *k == RequestKind::PutItem);
        assert!(puts.is_some_and(|(_, t)| t.requests >= 1), "{got:?}");
        let live = st.live_requests(crate::superblock::now_ns());
        let scans = live.iter().find(|(k, _)| *k == RequestKind::Scan);
        assert!(scans.is_some_and(|(_, t)| t.requests >= 2), "{live:?}");
        let cost = estimate(&st, &live, &ON_DEMAND_US_EAST_1);
        assert!(cost.read_units > 0 && cost.write_units > 0 && cost.requests > 0.0);
        session.end().await;
    }
}
