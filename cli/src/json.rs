//! Enough of JSON for the commands' --json output (the binary carries no
//! JSON library). Reports (stats, fsck, lock) print it compact; ls and stat
//! print it with a space after each `,` and `:`, through [`Json::spaced`].

use std::fmt::{self, Display, Formatter};

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

    fn write(&self, f: &mut Formatter<'_>, comma: &str, colon: &str) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::U(n) => write!(f, "{n}"),
            Json::I(n) => write!(f, "{n}"),
            Json::F(x) if x.is_finite() => write!(f, "{x}"),
            Json::F(_) => f.write_str("null"),
            Json::S(s) => write_str(f, s),
            Json::A(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(comma)?;
                    }
                    x.write(f, comma, colon)?;
                }
                f.write_str("]")
            }
            Json::O(v) => {
                f.write_str("{")?;
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(comma)?;
                    }
                    write_str(f, k)?;
                    f.write_str(colon)?;
                    x.write(f, comma, colon)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Compact: no spaces between items.
impl Display for Json {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.write(f, ",", ":")
    }
}

/// A [`Json`] value written with spaces, from [`Json::spaced`].
pub struct Spaced<'a>(&'a Json);

impl Display for Spaced<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.0.write(f, ", ", ": ")
    }
}

/// A JSON string: quotes, backslashes and control characters escaped.
fn write_str(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
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
