//! Items between the store's types and DynamoDB attribute values.
//!
//! Reading is strict: an item another tool wrote with types the store does
//! not use is reported as corrupt, naming the attribute, rather than
//! silently skipped or misread.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::error::{StoreError, StoreResult};
use crate::store::types::*;

pub(super) type AvMap = HashMap<String, AttributeValue>;

pub(super) fn blob(b: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(b.to_vec()))
}

pub(super) fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => blob(b),
        Value::S(s) => AttributeValue::S(s.clone()),
    }
}

pub(super) fn key_av(k: &Key) -> AvMap {
    HashMap::from([("p".to_string(), blob(&k.p)), ("s".to_string(), blob(&k.s))])
}

pub(super) fn check_attr_name(key: &Key, a: &str) -> StoreResult<()> {
    if a == "p" || a == "s" || a.is_empty() {
        return Err(StoreError::Invalid(format!(
            "item {key}: attribute name {a:?} is reserved for the key"
        )));
    }
    Ok(())
}

/// The full item of a put, refused locally when over the item size limit.
pub(super) fn item_av(key: &Key, attrs: &Attrs) -> StoreResult<AvMap> {
    let size = item_size(key, attrs);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::ItemTooLarge {
            key: key.clone(),
            size,
        });
    }
    let mut m = key_av(key);
    for (a, v) in attrs {
        check_attr_name(key, a)?;
        m.insert(a.clone(), to_av(v));
    }
    Ok(m)
}

/// DynamoDB's name of a value's type (only for corrupt items: it formats
/// the whole value).
fn type_name(v: &AttributeValue) -> String {
    let debug = format!("{v:?}");
    debug.split('(').next().unwrap_or("?").to_ascii_uppercase()
}

fn key_part(m: &AvMap, name: &str) -> Result<Vec<u8>, String> {
    match m.get(name) {
        Some(AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
        Some(other) => Err(format!(
            "key attribute {name} has type {}, expected B",
            type_name(other)
        )),
        None => Err(format!("key attribute {name} is missing")),
    }
}

pub(super) fn key_from(m: &AvMap) -> StoreResult<Key> {
    match (key_part(m, "p"), key_part(m, "s")) {
        (Ok(p), Ok(s)) => Ok(Key { p, s }),
        (p, s) => {
            let why = [&p, &s]
                .iter()
                .filter_map(|r| r.as_ref().err().cloned())
                .collect::<Vec<_>>()
                .join("; ");
            let key = Key::new(p.unwrap_or_default(), s.unwrap_or_default());
            Err(StoreError::Corrupt { key, why })
        }
    }
}

pub(super) fn item_from(m: AvMap) -> StoreResult<Item> {
    let key = key_from(&m)?;
    let mut attrs = Attrs::new();
    for (name, av) in m {
        if name == "p" || name == "s" {
            continue;
        }
        let v = match av {
            AttributeValue::N(n) => match n.parse::<i64>() {
                Ok(n) => Value::N(n),
                Err(_) => {
                    return Err(StoreError::Corrupt {
                        key,
                        why: format!("attribute {name}: number {n:?} is not a 64-bit integer"),
                    })
                }
            },
            AttributeValue::B(b) => Value::B(b.into_inner()),
            AttributeValue::S(s) => Value::S(s),
            other => {
                return Err(StoreError::Corrupt {
                    key,
                    why: format!(
                        "attribute {name} has unsupported type {}",
                        type_name(&other)
                    ),
                })
            }
        };
        attrs.insert(name, v);
    }
    Ok(Item { key, attrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new("dir", "name")
    }

    #[test]
    fn items_round_trip() {
        let attrs: Attrs = [
            ("n".to_string(), Value::N(i64::MIN)),
            ("b".to_string(), Value::B(vec![0, 255])),
            ("name".to_string(), Value::S("é".into())),
        ]
        .into();
        let k = Key::new(vec![0u8, 1], vec![255u8]);
        let m = item_av(&k, &attrs).ok();
        let item = m.map(item_from).and_then(Result::ok);
        assert_eq!(item, Some(Item { key: k, attrs }));
    }

    #[test]
    fn puts_are_checked_before_sending() {
        let big: Attrs = [("d".to_string(), Value::B(vec![0; MAX_ITEM_BYTES]))].into();
        assert!(matches!(
            item_av(&key(), &big),
            Err(StoreError::ItemTooLarge { size, .. }) if size > MAX_ITEM_BYTES
        ));
        let reserved: Attrs = [("p".to_string(), Value::N(1))].into();
        assert!(matches!(
            item_av(&key(), &reserved),
            Err(StoreError::Invalid(_))
        ));
    }

    fn corrupt_why(m: AvMap) -> String {
        match item_from(m) {
            Err(StoreError::Corrupt { why, .. }) => why,
            other => format!("not corrupt: {other:?}"),
        }
    }

    #[test]
    fn corrupt_items_name_the_attribute() {
        let with = |name: &str, v: AttributeValue| {
            let mut m = key_av(&key());
            m.insert(name.to_string(), v);
            m
        };
        let why = corrupt_why(with("mode", AttributeValue::Bool(true)));
        assert!(why.contains("mode") && why.contains("BOOL"), "{why}");
        let why = corrupt_why(with("size", AttributeValue::N("1.5".into())));
        assert!(why.contains("size") && why.contains("1.5"), "{why}");
        let why = corrupt_why(with(
            "size",
            AttributeValue::N("9223372036854775808".into()),
        ));
        assert!(why.contains("size"), "{why}");
        let why = corrupt_why(with("p", AttributeValue::S("dir".into())));
        assert!(
            why.contains("key attribute p") && why.contains('S'),
            "{why}"
        );
        let mut m = key_av(&key());
        m.remove("s");
        assert!(corrupt_why(m).contains("key attribute s is missing"));
    }
}
