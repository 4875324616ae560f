//! Data blocks: keys, encoding and checksums.
//!
//! Each block is its own partition key (inode, generation, index), so one
//! large file spreads over many partitions instead of queueing on one key's
//! ~1,000 write units a second. The generation is bumped by truncation to
//! zero: the old blocks become unreachable at once and are collected later.

use crate::error::{FsError, FsResult};
use crate::store::{Attrs, Item, Key, Value};

/// Partition tag of data blocks.
pub const BLOCK_TAG: u8 = b'b';
pub const BLOCK_S: &[u8] = b"d";

// Block attributes: payload, encoding, checksum and length of the decoded
// bytes.
const DATA: &str = "d";
const ENCODING: &str = "e";
pub const CHECKSUM: &str = "k";
pub const BLOCK_LENGTH: &str = "n";

const RAW: i64 = 0;
const LZ4: i64 = 1;

pub fn block_key(ino: u64, generation: u64, index: u64) -> Key {
    let mut p = Vec::with_capacity(25);
    p.push(BLOCK_TAG);
    p.extend_from_slice(&ino.to_be_bytes());
    p.extend_from_slice(&generation.to_be_bytes());
    p.extend_from_slice(&index.to_be_bytes());
    Key::new(p, BLOCK_S)
}

/// Encode a block's bytes, compressed when `compress` and it helps.
pub fn encode(data: &[u8], compress: bool) -> Attrs {
    let mut a = Attrs::new();
    let packed = compress.then(|| lz4_flex::block::compress(data));
    match packed {
        Some(p) if p.len() < data.len() => {
            a.insert(DATA.into(), Value::B(p));
            a.insert(ENCODING.into(), Value::N(LZ4));
        }
        _ => {
            a.insert(DATA.into(), Value::B(data.to_vec()));
            a.insert(ENCODING.into(), Value::N(RAW));
        }
    }
    a.insert(CHECKSUM.into(), Value::N(crc32fast::hash(data) as i64));
    a.insert(BLOCK_LENGTH.into(), Value::N(data.len() as i64));
    a
}

/// Decode a block, verifying its checksum: damaged bytes are an error,
/// never returned.
pub fn decode(item: &Item, block_size: u32) -> FsResult<Vec<u8>> {
    unpack(item, block_size).map_err(|why| {
        let msg = format!("data block {}: {why}", item.key);
        tracing::error!("{msg}");
        FsError::Corrupt(msg)
    })
}

/// [`decode`], quietly: why the block does not decode (fsck reports it).
pub fn unpack(item: &Item, block_size: u32) -> Result<Vec<u8>, String> {
    let a = &item.attrs;
    let payload = a
        .get(DATA)
        .and_then(Value::as_b)
        .ok_or("no data attribute")?;
    let len = a
        .get(BLOCK_LENGTH)
        .and_then(Value::as_n)
        .filter(|n| (0..=block_size as i64).contains(n))
        .ok_or("length missing or out of range")? as usize;
    let data = match a.get(ENCODING).and_then(Value::as_n) {
        Some(RAW) => payload.to_vec(),
        Some(LZ4) => lz4_flex::block::decompress(payload, len)
            .map_err(|e| format!("lz4 payload undecodable: {e}"))?,
        other => return Err(format!("unknown encoding {other:?}")),
    };
    if data.len() != len {
        return Err(format!("{} bytes where {len} were recorded", data.len()));
    }
    let want = a.get(CHECKSUM).and_then(Value::as_n);
    if want != Some(crc32fast::hash(&data) as i64) {
        return Err("checksum mismatch".into());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(a: Attrs) -> Item {
        Item {
            key: block_key(1, 0, 0),
            attrs: a,
        }
    }

    #[test]
    fn round_trips_raw_and_compressed() {
        let text = b"hello hello hello hello hello hello".repeat(100);
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for data in [&text[..], &noise[..], b""] {
            for compress in [false, true] {
                let a = encode(data, compress);
                assert_eq!(decode(&item(a), 1 << 20).expect("decode"), data);
            }
        }
        let a = encode(&text, true);
        assert_eq!(a.get(ENCODING), Some(&Value::N(LZ4)));
    }

    #[test]
    fn damage_is_detected() {
        let mut a = encode(b"some bytes", false);
        a.insert(DATA.into(), Value::B(b"some bytez".to_vec()));
        assert!(decode(&item(a), 4096).is_err());
        let mut a = encode(&[7u8; 1000], true);
        a.insert(DATA.into(), Value::B(vec![0xff; 10]));
        assert!(decode(&item(a), 4096).is_err());
        let mut a = encode(b"x", false);
        a.remove(CHECKSUM);
        assert!(decode(&item(a), 4096).is_err());
    }
}
