//! Condition, update and key-condition expressions of DynamoDB requests.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;

use super::convert::{blob, check_attr_name, to_av, AvMap};
use crate::store::error::{StoreError, StoreResult};
use crate::store::types::*;

/// Placeholders of one request's expressions. Every attribute name goes
/// through `#..` (many short names are DynamoDB reserved words) and every
/// value through `:..`; DynamoDB rejects unused placeholders, so only what
/// an expression mentions is registered.
#[derive(Default)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    by_attr: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some(n) = self.by_attr.get(attr) {
            return n.clone();
        }
        let n = match attr {
            "p" => "#p".to_string(),
            "s" => "#s".to_string(),
            _ => format!("#n{}", self.by_attr.len()),
        };
        self.by_attr.insert(attr.to_string(), n.clone());
        self.names.insert(n.clone(), attr.to_string());
        n
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    pub(super) fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::Exists => format!("attribute_exists({})", self.name("p")),
            Cond::NotExists => format!("attribute_not_exists({})", self.name("p")),
            Cond::Has(a) => format!("attribute_exists({})", self.name(a)),
            Cond::HasNot(a) => format!("attribute_not_exists({})", self.name(a)),
            Cond::Cmp(a, op, v) => {
                let n = self.name(a);
                let v = self.value(to_av(v));
                match op {
                    // Cond::eval makes `<>` false on an absent attribute;
                    // say so explicitly rather than rely on the server.
                    CmpOp::Ne => format!("(attribute_exists({n}) AND {n} <> {v})"),
                    _ => format!("{n} {} {v}", op.symbol()),
                }
            }
            // DynamoDB has no literals: an empty And is true, an empty Or
            // false, written as a tautology / contradiction on the key.
            Cond::And(cs) if cs.is_empty() => {
                let p = self.name("p");
                format!("(attribute_exists({p}) OR attribute_not_exists({p}))")
            }
            Cond::Or(cs) if cs.is_empty() => {
                let p = self.name("p");
                format!("(attribute_exists({p}) AND attribute_not_exists({p}))")
            }
            Cond::And(cs) => self.join(cs, " AND "),
            Cond::Or(cs) => self.join(cs, " OR "),
        }
    }

    fn join(&mut self, cs: &[Cond], op: &str) -> String {
        let parts: Vec<String> = cs.iter().map(|c| self.cond(c)).collect();
        format!("({})", parts.join(op))
    }

    pub(super) fn update(&mut self, key: &Key, changes: &[Change]) -> StoreResult<String> {
        if changes.is_empty() {
            return Err(StoreError::Invalid(format!(
                "update of {key} changes nothing"
            )));
        }
        let (mut set, mut add, mut remove) = (vec![], vec![], vec![]);
        let mut seen = HashSet::new();
        for ch in changes {
            check_attr_name(key, ch.attr())?;
            if !seen.insert(ch.attr()) {
                return Err(StoreError::Invalid(format!(
                    "update of {key} changes attribute {} twice",
                    ch.attr()
                )));
            }
            let n = self.name(ch.attr());
            match ch {
                Change::Set(_, v) => set.push(format!("{n} = {}", self.value(to_av(v)))),
                Change::Add(_, d) => add.push(format!("{n} {}", self.value(to_av(&Value::N(*d))))),
                Change::Remove(_) => remove.push(n),
            }
        }
        let mut parts = vec![];
        for (verb, list) in [("SET", set), ("ADD", add), ("REMOVE", remove)] {
            if !list.is_empty() {
                parts.push(format!("{verb} {}", list.join(", ")));
            }
        }
        Ok(parts.join(" "))
    }

    /// Hands the names over to the request (DynamoDB refuses an empty map).
    pub(super) fn names(&mut self) -> Option<HashMap<String, String>> {
        Some(std::mem::take(&mut self.names)).filter(|m| !m.is_empty())
    }

    /// Hands the values over to the request: they may hold a whole block.
    pub(super) fn values(&mut self) -> Option<AvMap> {
        Some(std::mem::take(&mut self.values)).filter(|m| !m.is_empty())
    }
}

/// Where a query really starts: DynamoDB rejects an ExclusiveStartKey
/// outside the key condition, so a cursor below the range is dropped and
/// one above it means nothing is left (`Err(())`).
pub(super) fn effective_start(range: &Range, start: Option<&[u8]>) -> Result<Option<Vec<u8>>, ()> {
    let Some(sa) = start else { return Ok(None) };
    if range.contains(sa) {
        return Ok(Some(sa.to_vec()));
    }
    let lower: &[u8] = match range {
        Range::All => return Ok(Some(sa.to_vec())),
        Range::Prefix(x) | Range::Between(x, _) | Range::After(x) => x,
    };
    if sa <= lower {
        Ok(None)
    } else {
        Err(())
    }
}

/// The key condition; `None` when the range selects nothing.
pub(super) fn key_condition(x: &mut Expr, p: &[u8], range: &Range) -> Option<String> {
    let pn = x.name("p");
    let pv = x.value(blob(p));
    let mut kc = format!("{pn} = {pv}");
    match range {
        Range::All => {}
        Range::Prefix(pre) if pre.is_empty() => {}
        Range::Prefix(pre) => {
            let sn = x.name("s");
            kc += &format!(" AND begins_with({sn}, {})", x.value(blob(pre)));
        }
        Range::Between(a, b) if a > b || b.is_empty() => return None,
        // Key parts are non-empty and DynamoDB refuses empty key values.
        Range::Between(a, b) if a.is_empty() => {
            let sn = x.name("s");
            kc += &format!(" AND {sn} <= {}", x.value(blob(b)));
        }
        Range::Between(a, b) => {
            let sn = x.name("s");
            let (av, bv) = (x.value(blob(a)), x.value(blob(b)));
            kc += &format!(" AND {sn} BETWEEN {av} AND {bv}");
        }
        Range::After(a) if a.is_empty() => {}
        Range::After(a) => {
            let sn = x.name("s");
            kc += &format!(" AND {sn} > {}", x.value(blob(a)));
        }
    }
    Some(kc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new("dir", "name")
    }

    #[test]
    fn conditions_use_placeholders() {
        let mut x = Expr::default();
        let c = Cond::And(vec![
            Cond::Exists,
            Cond::has("size"),
            Cond::Or(vec![Cond::has_not("name"), Cond::eq("size", Value::N(3))]),
            Cond::cmp("name", CmpOp::Ge, Value::S("x".into())),
        ]);
        assert_eq!(
            x.cond(&c),
            "(attribute_exists(#p) AND attribute_exists(#n1) AND \
             (attribute_not_exists(#n2) OR #n1 = :v0) AND #n2 >= :v1)"
        );
        assert_eq!(x.names.get("#p").map(String::as_str), Some("p"));
        assert_eq!(x.names.get("#n1").map(String::as_str), Some("size"));
        assert_eq!(x.names.get("#n2").map(String::as_str), Some("name"));
        assert_eq!(x.values.get(":v0"), Some(&AttributeValue::N("3".into())));
        assert_eq!(x.values.get(":v1"), Some(&AttributeValue::S("x".into())));
    }

    #[test]
    fn not_equal_is_false_on_absent_attribute() {
        let mut x = Expr::default();
        let c = Cond::cmp("v", CmpOp::Ne, Value::B(vec![1]));
        assert_eq!(x.cond(&c), "(attribute_exists(#n0) AND #n0 <> :v0)");
        assert_eq!(x.values.get(":v0"), Some(&blob(&[1])));
    }

    #[test]
    fn empty_and_or_are_constants() {
        let mut x = Expr::default();
        assert_eq!(x.cond(&Cond::NotExists), "attribute_not_exists(#p)");
        assert_eq!(
            x.cond(&Cond::And(vec![])),
            "(attribute_exists(#p) OR attribute_not_exists(#p))"
        );
        assert_eq!(
            x.cond(&Cond::Or(vec![])),
            "(attribute_exists(#p) AND attribute_not_exists(#p))"
        );
        assert_eq!(x.names.len(), 1);
        assert!(x.values().is_none());
    }

    #[test]
    fn update_expression() {
        let mut x = Expr::default();
        let changes = [
            Change::remove("old"),
            Change::set("mode", Value::N(0o644)),
            Change::add("nlink", -1),
            Change::set("data", Value::B(vec![])),
        ];
        let e = x.update(&key(), &changes);
        assert_eq!(
            e.ok().as_deref(),
            Some("SET #n1 = :v0, #n3 = :v2 ADD #n2 :v1 REMOVE #n0")
        );
        assert_eq!(x.values.get(":v1"), Some(&AttributeValue::N("-1".into())));
        // The condition shares the placeholders of the update.
        assert_eq!(x.cond(&Cond::has("mode")), "attribute_exists(#n1)");
    }

    #[test]
    fn bad_updates_are_refused() {
        let bad = |changes: &[Change]| {
            matches!(
                Expr::default().update(&key(), changes),
                Err(StoreError::Invalid(_))
            )
        };
        assert!(bad(&[]));
        assert!(bad(&[Change::add("a", 1), Change::remove("a")]));
        assert!(bad(&[Change::set("p", Value::N(1))]));
        assert!(bad(&[Change::remove("s")]));
    }

    #[test]
    fn key_conditions() {
        let kc = |r: Range| {
            let mut x = Expr::default();
            key_condition(&mut x, b"d", &r)
        };
        assert_eq!(kc(Range::All).as_deref(), Some("#p = :v0"));
        assert_eq!(kc(Range::Prefix(vec![])).as_deref(), Some("#p = :v0"));
        assert_eq!(
            kc(Range::Prefix(b"a".to_vec())).as_deref(),
            Some("#p = :v0 AND begins_with(#s, :v1)")
        );
        assert_eq!(
            kc(Range::Between(b"a".to_vec(), b"b".to_vec())).as_deref(),
            Some("#p = :v0 AND #s BETWEEN :v1 AND :v2")
        );
        assert_eq!(
            kc(Range::Between(vec![], b"b".to_vec())).as_deref(),
            Some("#p = :v0 AND #s <= :v1")
        );
        assert_eq!(kc(Range::Between(b"b".to_vec(), b"a".to_vec())), None);
        assert_eq!(
            kc(Range::After(b"a".to_vec())).as_deref(),
            Some("#p = :v0 AND #s > :v1")
        );
    }

    #[test]
    fn cursors_outside_the_range() {
        let pre = Range::Prefix(b"m".to_vec());
        assert_eq!(effective_start(&pre, None), Ok(None));
        assert_eq!(effective_start(&pre, Some(b"a")), Ok(None));
        assert_eq!(effective_start(&pre, Some(b"mx")), Ok(Some(b"mx".to_vec())));
        assert_eq!(effective_start(&pre, Some(b"n")), Err(()));
        let after = Range::After(b"m".to_vec());
        assert_eq!(effective_start(&after, Some(b"m")), Ok(None));
        let between = Range::Between(b"c".to_vec(), b"f".to_vec());
        assert_eq!(
            effective_start(&between, Some(b"f")),
            Ok(Some(b"f".to_vec()))
        );
        assert_eq!(effective_start(&between, Some(b"g")), Err(()));
        assert_eq!(
            effective_start(&Range::All, Some(b"z")),
            Ok(Some(b"z".to_vec()))
        );
    }
}
