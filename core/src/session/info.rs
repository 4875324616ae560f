//! What a session item says, and how it is encoded.

use std::time::Duration;

use crate::store::{Attrs, Cond, Item, Value};

use super::DEFAULT_TTL;

/// Attribute names of a session item.
pub mod attr {
    pub const HOST: &str = "h";
    pub const PID: &str = "pi";
    pub const MOUNTPOINT: &str = "mp";
    pub const VERSION: &str = "v";
    pub const STARTED: &str = "st";
    /// Expiry by the writer's wall clock: shown to operators and used by
    /// offline tools (fsck), which cannot watch a heartbeat over time.
    pub const EXPIRES: &str = "x";
    pub const HEARTBEAT: &str = "hb";
    /// Heartbeat number: one more with every heartbeat. Live clients judge
    /// a session dead when it stands still for the session's TTL on their
    /// own monotonic clock.
    pub const BEAT: &str = "hn";
    /// The session's TTL in nanoseconds.
    pub const TTL: &str = "tt";
    /// The inodes the client holds open (binary: 8 bytes big-endian each).
    pub const OPEN: &str = "of";
    /// Present when the client holds too many inodes open to list: it
    /// protects every inode from collection.
    pub const OPEN_ALL: &str = "oa";
    /// The mount's request counters, as of the last heartbeat (binary, see
    /// [`crate::stats::encode_counters`]).
    pub const COUNTERS: &str = "rc";
    /// Where the mount serves Prometheus metrics (`-o metrics`), if it does.
    pub const METRICS: &str = "mx";
}

/// Most open inodes a session item lists (8 bytes each, well under the
/// 400 KB item limit); a client holding more publishes [`attr::OPEN_ALL`].
pub const MAX_LISTED_OPEN: usize = 32_768;

/// What a session item says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub mountpoint: String,
    /// dynamofs version of the client.
    pub version: String,
    /// Registration time (ns since 1970).
    pub started: i64,
    /// The session is dead by its own clock once this time (ns since 1970)
    /// has passed.
    pub expires: i64,
    /// Time of the last heartbeat (ns since 1970).
    pub heartbeat: i64,
    /// Heartbeat number; `None` for items written by older versions.
    pub beat: Option<i64>,
    /// How long the session lives without a heartbeat.
    pub ttl: Duration,
    /// The inodes its client holds open; `None` when it holds too many to
    /// list, or does not say (older versions): then it may hold any.
    pub open: Option<Vec<u64>>,
    /// The mount's metrics URL (`http://ADDR:PORT/metrics`), if it serves
    /// them: what `stats --watch` and `bench` read live counters from.
    pub metrics: Option<String>,
    /// The request counters its last heartbeat published, encoded (see
    /// [`crate::stats::decode_counters`]); heartbeats write them, not
    /// [`SessionInfo::to_attrs`].
    pub counters: Option<Vec<u8>>,
}

impl SessionInfo {
    /// Dead by the session's own wall clock (offline tools' judgement).
    pub fn is_expired(&self, now_ns: i64) -> bool {
        self.expires <= now_ns
    }

    /// Whether the client may hold `ino` open.
    pub fn may_hold(&self, ino: u64) -> bool {
        match &self.open {
            Some(list) => list.binary_search(&ino).is_ok(),
            None => true,
        }
    }

    /// What stands still in a dead session's item: the condition under
    /// which it is still as read (for writes that act on its death).
    pub fn unchanged(&self) -> Cond {
        match self.beat {
            Some(n) => Cond::eq(attr::BEAT, Value::N(n)),
            None => Cond::eq(attr::HEARTBEAT, Value::N(self.heartbeat)),
        }
    }

    /// The value that moves with every heartbeat.
    pub fn marker(&self) -> i64 {
        self.beat.unwrap_or(self.heartbeat)
    }

    pub(super) fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.insert(attr::HOST.into(), Value::S(self.host.clone()));
        a.insert(attr::PID.into(), Value::N(self.pid as i64));
        a.insert(attr::MOUNTPOINT.into(), Value::S(self.mountpoint.clone()));
        a.insert(attr::VERSION.into(), Value::S(self.version.clone()));
        a.insert(attr::STARTED.into(), Value::N(self.started));
        a.insert(attr::EXPIRES.into(), Value::N(self.expires));
        a.insert(attr::HEARTBEAT.into(), Value::N(self.heartbeat));
        a.insert(attr::BEAT.into(), Value::N(self.beat.unwrap_or(0)));
        a.insert(attr::TTL.into(), Value::N(ttl_ns(self.ttl)));
        let (k, v) = open_attr(self.open.as_deref());
        a.insert(k.into(), v);
        if let Some(m) = &self.metrics {
            a.insert(attr::METRICS.into(), Value::S(m.clone()));
        }
        a
    }

    /// Read a session item. Lenient: a damaged item is still listed (and,
    /// lacking a valid expiry, counts as expired so that it gets reaped);
    /// the reason is logged. The second value is the expiry attribute as
    /// stored, which the offline reaper's condition names.
    pub(crate) fn from_item(it: &Item) -> (SessionInfo, Option<i64>) {
        let id = String::from_utf8_lossy(&it.key.s).into_owned();
        let s = |a: &str| {
            it.attrs
                .get(a)
                .and_then(Value::as_s)
                .unwrap_or_default()
                .to_string()
        };
        let n = |a: &str| it.attrs.get(a).and_then(Value::as_n);
        let raw_expiry = n(attr::EXPIRES);
        if raw_expiry.is_none() {
            tracing::warn!(
                session = id,
                "damaged session item: no expiry `{}`; treating it as expired",
                attr::EXPIRES
            );
        }
        let open = match (it.attrs.get(attr::OPEN), it.attrs.get(attr::OPEN_ALL)) {
            (Some(Value::B(b)), None) if b.len() % 8 == 0 => {
                let mut v: Vec<u64> = b
                    .chunks_exact(8)
                    .filter_map(|c| c.try_into().ok().map(u64::from_be_bytes))
                    .collect();
                v.sort_unstable();
                Some(v)
            }
            _ => None,
        };
        let info = SessionInfo {
            host: s(attr::HOST),
            pid: n(attr::PID)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            mountpoint: s(attr::MOUNTPOINT),
            version: s(attr::VERSION),
            started: n(attr::STARTED).unwrap_or(0),
            expires: raw_expiry.unwrap_or(i64::MIN),
            heartbeat: n(attr::HEARTBEAT).unwrap_or(0),
            beat: n(attr::BEAT),
            ttl: n(attr::TTL)
                .filter(|t| *t > 0)
                .map(|t| Duration::from_nanos(t as u64))
                .unwrap_or(DEFAULT_TTL),
            open,
            metrics: it
                .attrs
                .get(attr::METRICS)
                .and_then(Value::as_s)
                .map(str::to_string),
            counters: it
                .attrs
                .get(attr::COUNTERS)
                .and_then(Value::as_b)
                .map(<[u8]>::to_vec),
            id,
        };
        (info, raw_expiry)
    }
}

pub(super) fn ttl_ns(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX)
}

/// The attribute that publishes an open set (sorted), or says that it is
/// too large to list.
pub(super) fn open_attr(open: Option<&[u64]>) -> (&'static str, Value) {
    match open {
        Some(list) if list.len() <= MAX_LISTED_OPEN => (
            attr::OPEN,
            Value::B(list.iter().flat_map(|i| i.to_be_bytes()).collect()),
        ),
        _ => (attr::OPEN_ALL, Value::N(1)),
    }
}
