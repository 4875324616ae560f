//! The commands' --json output: a small tree the commands build in the
//! order their fields should print, serialized by serde_json. Reports
//! (stats, fsck, lock) print it compact; ls and stat print it with a space
//! after each `,` and `:`, through [`Json::spaced`].

use std::fmt::{self, Display, Formatter};
use std::io;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    /// A number; not finite, it is written as null.
    F(f64),
    S(String),
    A(Vec<Json>),
    /// Fields in the order given (serde_json's own map would sort them).
    O(Vec<(String, Json)>),
}

impl Json {
    pub fn s(s: &str) -> Json {
        Json::S(s.to_string())
    }

    /// A string of bytes taken as UTF-8 (invalid sequences as U+FFFD), as
    /// file names are.
    pub fn bytes(b: &[u8]) -> Json {
        Json::S(String::from_utf8_lossy(b).into_owned())
    }

    pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::O(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// The value written with `, ` and `: ` between items, not `,` and `:`.
    pub fn spaced(&self) -> Spaced<'_> {
        Spaced(self)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::U(n) => s.serialize_u64(*n),
            Json::I(n) => s.serialize_i64(*n),
            // serde_json writes a non-finite float as null.
            Json::F(x) => s.serialize_f64(*x),
            Json::S(t) => s.serialize_str(t),
            Json::A(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Json::O(v) => {
                let mut map = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

/// Render through serde_json with `formatter`, for Display.
fn render<F: serde_json::ser::Formatter>(
    j: &Json,
    formatter: F,
    f: &mut Formatter<'_>,
) -> fmt::Result {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    j.serialize(&mut ser).map_err(|_| fmt::Error)?;
    f.write_str(&String::from_utf8_lossy(&out))
}

/// Compact: no spaces between items.
impl Display for Json {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        render(self, serde_json::ser::CompactFormatter, f)
    }
}

/// A [`Json`] value written with spaces, from [`Json::spaced`].
pub struct Spaced<'a>(&'a Json);

impl Display for Spaced<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        render(self.0, SpacedFormatter, f)
    }
}

/// serde_json's compact output with a space after each `,` and `:`.
struct SpacedFormatter;

impl serde_json::ser::Formatter for SpacedFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let j = Json::obj([
            ("a", Json::s("q\"b\\s\n\u{1}é")),
            (
                "n",
                Json::A(vec![Json::U(1), Json::I(-2), Json::F(0.5), Json::Null]),
            ),
            ("f", Json::F(f64::NAN)),
        ]);
        assert_eq!(
            j.to_string(),
            r#"{"a":"q\"b\\s\n\u0001é","n":[1,-2,0.5,null],"f":null}"#
        );
    }

    #[test]
    fn bytes_escape() {
        assert_eq!(
            Json::bytes(b"a\"b\\c\n\r\t\x01\x1f").to_string(),
            r#""a\"b\\c\n\r\t\u0001\u001f""#
        );
        assert_eq!(Json::bytes(&[0xff]).to_string(), "\"\u{fffd}\"");
    }

    #[test]
    fn spaced() {
        let j = Json::A(vec![
            Json::obj([("a", Json::U(1)), ("b", Json::Bool(true))]),
            Json::obj([("k\"", Json::A(vec![Json::Null, Json::s("x")]))]),
        ]);
        assert_eq!(
            j.spaced().to_string(),
            r#"[{"a": 1, "b": true}, {"k\"": [null, "x"]}]"#
        );
        assert_eq!(Json::A(vec![]).spaced().to_string(), "[]");
        assert_eq!(Json::O(vec![]).spaced().to_string(), "{}");
    }
}
