//! The values, keys, conditions and writes that cross the Store trait.
//!
//! The shapes follow DynamoDB's data model closely enough that the DynamoDB
//! backend is a direct translation, and narrowly enough that the embedded
//! backend can evaluate every condition itself.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One of the two tables of a file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `<name>`: superblock, inodes, directory entries, sessions, locks.
    Meta,
    /// `<name>Blocks`: file data.
    Blocks,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::Meta, Table::Blocks];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Blocks => "blocks",
        }
    }
}

/// Primary key: a binary partition key and a binary sort key, both non-empty.
///
/// Binary (not string) because file names are arbitrary bytes and DynamoDB
/// strings must be UTF-8; binary keys also sort bytewise, like SQLite BLOBs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub p: Vec<u8>,
    pub s: Vec<u8>,
}

impl Key {
    pub fn new(p: impl Into<Vec<u8>>, s: impl Into<Vec<u8>>) -> Key {
        Key {
            p: p.into(),
            s: s.into(),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", show_bytes(&self.p), show_bytes(&self.s))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Printable form of a key part: text where it is text, hex escapes elsewhere.
pub fn show_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        if c.is_ascii_graphic() && c != b'\\' {
            out.push(c as char);
        } else {
            out.push_str(&format!("\\x{c:02x}"));
        }
    }
    out
}

/// An attribute value. Numbers are signed 64-bit: inode numbers are below
/// 2^63 and times are nanoseconds since 1970.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    N(i64),
    /// As bytes, not as a sequence of numbers: the embedded store encodes
    /// items with postcard, where both are the length and the raw bytes,
    /// but serde's sequence went one element at a time, and a 256 KiB
    /// block spent more time there than in SQLite.
    B(#[serde(with = "serde_bytes")] Vec<u8>),
    S(String),
}

impl Value {
    pub fn as_n(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Value::B(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    /// Size as DynamoDB bills it: numbers count roughly one byte per two digits.
    pub fn billed_size(&self) -> usize {
        match self {
            Value::N(n) => n.unsigned_abs().to_string().len().div_ceil(2) + 1,
            Value::B(b) => b.len(),
            Value::S(s) => s.len(),
        }
    }
}

/// Non-key attributes of an item, by attribute name.
pub type Attrs = BTreeMap<String, Value>;

/// An item as read: its key and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    pub attrs: Attrs,
}

/// Maximum item size, as DynamoDB counts it (names plus values, keys included).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Most items in one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Most keys in one BatchGetItem request.
pub const MAX_BATCH_GET: usize = 100;
/// Most items in one BatchWriteItem request.
pub const MAX_BATCH_WRITE: usize = 25;

/// Size of an item as DynamoDB counts it toward the 400 KB limit.
pub fn item_size(key: &Key, attrs: &Attrs) -> usize {
    // "p" and "s" are the key attribute names on both backends.
    1 + key.p.len()
        + 1
        + key.s.len()
        + attrs
            .iter()
            .map(|(k, v)| k.len() + v.billed_size())
            .sum::<usize>()
}

/// A condition on one item, evaluated against its state before the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// The item exists.
    Exists,
    /// The item does not exist.
    NotExists,
    /// The attribute is present.
    Has(String),
    /// The attribute is absent (or the item is).
    HasNot(String),
    /// Compare an attribute with a value; false when the attribute is absent
    /// or of another type.
    Cmp(String, CmpOp, Value),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    pub fn eq(attr: &str, v: Value) -> Cond {
        Cond::Cmp(attr.to_string(), CmpOp::Eq, v)
    }
    pub fn cmp(attr: &str, op: CmpOp, v: Value) -> Cond {
        Cond::Cmp(attr.to_string(), op, v)
    }
    pub fn has(attr: &str) -> Cond {
        Cond::Has(attr.to_string())
    }
    pub fn has_not(attr: &str) -> Cond {
        Cond::HasNot(attr.to_string())
    }

    /// Evaluate against the current attributes (`None`: the item is absent).
    /// The embedded backend uses this; DynamoDB evaluates server-side.
    pub fn eval(&self, cur: Option<&Attrs>) -> bool {
        match self {
            Cond::Exists => cur.is_some(),
            Cond::NotExists => cur.is_none(),
            Cond::Has(a) => cur.is_some_and(|c| c.contains_key(a)),
            Cond::HasNot(a) => !cur.is_some_and(|c| c.contains_key(a)),
            Cond::Cmp(a, op, v) => match cur.and_then(|c| c.get(a)) {
                Some(have) => op.holds(have, v),
                None => false,
            },
            Cond::And(cs) => cs.iter().all(|c| c.eval(cur)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(cur)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn holds(self, have: &Value, want: &Value) -> bool {
        use std::cmp::Ordering;
        let ord: Option<Ordering> = match (have, want) {
            (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
            (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
            (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            _ => None,
        };
        match (self, ord) {
            // DynamoDB: `<>` is true for values of different types.
            (CmpOp::Ne, None) => true,
            (_, None) => false,
            (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
            (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
            (CmpOp::Lt, Some(o)) => o == Ordering::Less,
            (CmpOp::Le, Some(o)) => o != Ordering::Greater,
            (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
            (CmpOp::Ge, Some(o)) => o != Ordering::Less,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// One change to one attribute in an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Set(String, Value),
    /// Add to a number; an absent attribute counts as 0.
    Add(String, i64),
    Remove(String),
}

impl Change {
    pub fn set(attr: &str, v: Value) -> Change {
        Change::Set(attr.to_string(), v)
    }
    pub fn add(attr: &str, n: i64) -> Change {
        Change::Add(attr.to_string(), n)
    }
    pub fn remove(attr: &str) -> Change {
        Change::Remove(attr.to_string())
    }

    pub fn attr(&self) -> &str {
        match self {
            Change::Set(a, _) | Change::Add(a, _) | Change::Remove(a) => a,
        }
    }
}

/// A conditional write of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replace the whole item.
    Put {
        table: Table,
        key: Key,
        attrs: Attrs,
        cond: Option<Cond>,
    },
    /// Change some attributes; creates the item when absent (as DynamoDB
    /// does) unless the condition forbids it.
    Update {
        table: Table,
        key: Key,
        changes: Vec<Change>,
        cond: Option<Cond>,
    },
    Delete {
        table: Table,
        key: Key,
        cond: Option<Cond>,
    },
    /// Only in transactions: a condition on an item that is not written.
    Check { table: Table, key: Key, cond: Cond },
}

impl Write {
    pub fn table(&self) -> Table {
        match self {
            Write::Put { table, .. }
            | Write::Update { table, .. }
            | Write::Delete { table, .. }
            | Write::Check { table, .. } => *table,
        }
    }
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { key, .. }
            | Write::Update { key, .. }
            | Write::Delete { key, .. }
            | Write::Check { key, .. } => key,
        }
    }
    pub fn cond(&self) -> Option<&Cond> {
        match self {
            Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => {
                cond.as_ref()
            }
            Write::Check { cond, .. } => Some(cond),
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Write::Put { .. } => "put",
            Write::Update { .. } => "update",
            Write::Delete { .. } => "delete",
            Write::Check { .. } => "check",
        }
    }
}

/// The range of sort keys a query selects within one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    All,
    Prefix(Vec<u8>),
    /// Inclusive bounds.
    Between(Vec<u8>, Vec<u8>),
    /// Sort keys strictly greater.
    After(Vec<u8>),
}

impl Range {
    pub fn contains(&self, s: &[u8]) -> bool {
        match self {
            Range::All => true,
            Range::Prefix(p) => s.starts_with(p),
            Range::Between(a, b) => s >= a.as_slice() && s <= b.as_slice(),
            Range::After(a) => s > a.as_slice(),
        }
    }
}

/// A query of one partition, in ascending sort-key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub table: Table,
    pub p: Vec<u8>,
    pub range: Range,
    /// Most items to return in this page (the backend may return fewer).
    pub limit: Option<usize>,
    /// Continue after this sort key (from a previous page's `next`).
    pub start_after: Option<Vec<u8>>,
    pub consistent: bool,
}

impl Query {
    pub fn new(table: Table, p: impl Into<Vec<u8>>, range: Range) -> Query {
        Query {
            table,
            p: p.into(),
            range,
            limit: None,
            start_after: None,
            consistent: true,
        }
    }
}

/// One page of a query or scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Where the next page starts; `None` when this was the last page.
    pub next: Option<Vec<u8>>,
}

/// One page of a full-table scan (fsck and stats only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanPage {
    pub items: Vec<Item>,
    pub next: Option<Key>,
}

/// A write in a batch: no conditions, as BatchWriteItem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchWrite {
    Put { key: Key, attrs: Attrs },
    Delete { key: Key },
}

impl BatchWrite {
    pub fn key(&self) -> &Key {
        match self {
            BatchWrite::Put { key, .. } | BatchWrite::Delete { key } => key,
        }
    }
}

/// Idempotency token of one transaction: a retry carrying the same token
/// after a lost response is not applied twice.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token(pub String);

impl Token {
    pub fn fresh() -> Token {
        Token(format!("{:032x}", rand::random::<u128>()))
    }
}

/// Capacity mode for newly created tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    OnDemand,
    Provisioned { read: i64, write: i64 },
}

/// DynamoDB's storage classes: Standard-IA stores for less and bills
/// requests for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableClass {
    Standard,
    InfrequentAccess,
}

impl TableClass {
    pub fn name(self) -> &'static str {
        match self {
            TableClass::Standard => "standard",
            TableClass::InfrequentAccess => "standard-ia",
        }
    }
}

/// A change of both tables' settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableChange {
    Billing(Billing),
    Class(TableClass),
}

/// What the store says of a table beyond its state, for `dynamofs status`:
/// `None` where it has nothing to say (the embedded store bills nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// "on-demand", or "provisioned: R read / W write units".
    pub billing: Option<String>,
    /// "standard" or "standard-ia" (DynamoDB's table class).
    pub class: Option<String>,
    /// Items and bytes as the store last counted them (DynamoDB: about
    /// every six hours), read without a scan.
    pub items: Option<u64>,
    pub bytes: Option<u64>,
}

/// What `mkfs` finds where it would create the tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableState {
    Missing,
    /// Exists with the expected key schema.
    Ready,
    /// Exists but is not yet usable (e.g. CREATING).
    Busy(String),
    /// Exists with another key schema.
    Foreign(String),
}
