//! A value read on one backend, as the column it goes into on the other holds it: SQLite keeps
//! booleans as 0/1 and UUIDs as text, PostgreSQL has types for both. Only exact conversions: a
//! value that would change is refused, never rounded or guessed.

use super::{Kind, Value};

/// Why a value cannot go into a column of `kind`; the caller names the table, column and row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{value} cannot be stored exactly in a {kind} column")]
pub struct ConvertError {
    pub value: String,
    pub kind: Kind,
}

/// -2^63 and 2^63, both exact as f64: the range of i64.
const I64_LOW: f64 = -9_223_372_036_854_775_808.0;
const I64_END: f64 = 9_223_372_036_854_775_808.0;

pub fn convert(value: Value, kind: Kind) -> Result<Value, ConvertError> {
    let refuse = |value: &Value| ConvertError {
        value: describe(value),
        kind,
    };
    Ok(match (value, kind) {
        (Value::Null, _) => Value::Null,
        (Value::Integer(n), Kind::Integer) => Value::Integer(n),
        // Integral and within i64 (`as` would saturate, not refuse).
        (Value::Real(r), Kind::Integer) if r.fract() == 0.0 && (I64_LOW..I64_END).contains(&r) => {
            Value::Integer(r as i64)
        }
        (Value::Bool(b), Kind::Integer) => Value::Integer(i64::from(b)),
        (Value::Integer(n @ (0 | 1)), Kind::Bool) => Value::Bool(n == 1),
        (Value::Bool(b), Kind::Bool) => Value::Bool(b),
        (Value::Text(s), Kind::Text) => Value::Text(s),
        (Value::Uuid(u), Kind::Text) => Value::Text(u.hyphenated().to_string()),
        (Value::Uuid(u), Kind::Uuid) => Value::Uuid(u),
        // Only the form SQLite is given by this release (hyphenated, lower case), so that the
        // text read back is the text that was read.
        (Value::Text(s), Kind::Uuid) => match uuid::Uuid::try_parse(&s) {
            Ok(u) if u.hyphenated().to_string() == s => Value::Uuid(u),
            _ => return Err(refuse(&Value::Text(s))),
        },
        (Value::Bytes(b), Kind::Bytes) => Value::Bytes(b),
        (value, _) => return Err(refuse(&value)),
    })
}

/// A short description of a value for an error message (never a whole secret or blob).
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(n) => format!("the integer {n}"),
        Value::Real(r) => format!("the real number {r}"),
        Value::Text(s) => format!("a text of {} bytes", s.len()),
        Value::Bytes(b) => format!("a blob of {} bytes", b.len()),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Uuid(_) => "a UUID".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_conversions_both_ways() {
        let u = uuid::Uuid::new_v4();
        let text = u.hyphenated().to_string();
        let cases = [
            (Value::Integer(1), Kind::Bool, Value::Bool(true)),
            (Value::Integer(0), Kind::Bool, Value::Bool(false)),
            (Value::Bool(true), Kind::Integer, Value::Integer(1)),
            (Value::Text(text.clone()), Kind::Uuid, Value::Uuid(u)),
            (Value::Uuid(u), Kind::Text, Value::Text(text)),
            (Value::Real(10.0), Kind::Integer, Value::Integer(10)),
            (Value::Real(-3.0), Kind::Integer, Value::Integer(-3)),
            (Value::Null, Kind::Uuid, Value::Null),
            (
                Value::Bytes(vec![1, 2]),
                Kind::Bytes,
                Value::Bytes(vec![1, 2]),
            ),
        ];
        for (from, kind, to) in cases {
            assert_eq!(
                convert(from.clone(), kind),
                Ok(to),
                "{from:?} into {kind:?}"
            );
        }
    }

    #[test]
    fn inexact_values_are_refused() {
        let refused = [
            (Value::Real(10.5), Kind::Integer),
            (Value::Real(1e300), Kind::Integer),
            (Value::Real(I64_END), Kind::Integer),
            (Value::Real(f64::NAN), Kind::Integer),
            (Value::Integer(2), Kind::Bool),
            (Value::Text("not-a-uuid".into()), Kind::Uuid),
            (
                Value::Text("6F9619FF-8B86-D011-B42D-00C04FC964FF".into()),
                Kind::Uuid,
            ),
            (Value::Integer(5), Kind::Text),
            (Value::Text("5".into()), Kind::Integer),
            (Value::Bytes(vec![0x61]), Kind::Text),
        ];
        for (from, kind) in refused {
            let err = convert(from.clone(), kind).expect_err("refused");
            assert_eq!(err.kind, kind, "{from:?}");
        }
        assert_eq!(
            convert(Value::Real(10.5), Kind::Integer)
                .expect_err("refused")
                .to_string(),
            "the real number 10.5 cannot be stored exactly in a INTEGER column"
        );
    }
}
