//! Runtime values of EQL expressions and extracted event fields.
//!
//! A value carries no type beyond its JSON shape: typed interpretations (ip,
//! version, date) are decided at compile time from the field's schema type.

use smol_str::SmolStr;
use std::cmp::Ordering;
use std::fmt;

/// One value: a JSON scalar, or the values of a multi-valued field.
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Most event strings are short (names, actions, ids): up to 23 bytes are kept inline, with
    /// no allocation to make or free per value; longer ones are shared (`Arc<str>`).
    Str(SmolStr),
    /// A multi-valued field (a JSON array, flattened as Elasticsearch indexes it).
    List(Vec<Value>),
}

// Events hold tens of values each, and sequences keep events: inline strings must not make a
// value larger than a list's.
const _: () = assert!(std::mem::size_of::<Value>() <= 32);

/// The shared null, handed out for absent fields.
pub static NULL: Value = Value::Null;

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(SmolStr::new(s))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Numeric view; booleans are not numbers in EQL.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    /// The scalar elements of this value: itself, or the elements of a list.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(items) => items,
            other => std::slice::from_ref(other),
        }
    }

    /// Elasticsearch's view of a field in a script: the first value of a
    /// multi-valued field, null for an empty one.
    pub fn first(&self) -> &Value {
        match self {
            Value::List(items) => items.first().unwrap_or(&NULL),
            other => other,
        }
    }

    /// JSON form, as printed in results (join keys).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
        }
    }

    /// Converts a JSON value (arrays flattened one level per nesting, as ES does).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => number_value(n),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match Value::from_json(item) {
                        Value::List(inner) => out.extend(inner),
                        v => out.push(v),
                    }
                }
                Value::List(out)
            }
            // Objects are not values; their leaves are separate fields.
            serde_json::Value::Object(_) => Value::Null,
        }
    }

    /// Equality of two scalars as EQL `==` sees them: numbers across int/float,
    /// strings exactly (case-sensitive); different kinds are unequal.
    pub fn scalar_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (a, b) if a.is_number() && b.is_number() => {
                compare_numbers(a, b) == Some(Ordering::Equal)
            }
            _ => false,
        }
    }

    /// Ordering of two scalars of comparable kinds (numbers with numbers, strings
    /// by code point, booleans false < true); `None` when not comparable.
    pub fn scalar_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Some(a.as_str().cmp(b.as_str())),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (a, b) if a.is_number() && b.is_number() => compare_numbers(a, b),
            _ => None,
        }
    }

    /// A total order for sorting keys: null first, then booleans, numbers,
    /// strings (byte order), lists.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Int(_) | Value::Float(_) => 2,
                Value::Str(_) => 3,
                Value::List(_) => 4,
            }
        }
        match (self, other) {
            (Value::List(a), Value::List(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = x.total_cmp(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            _ => match self.scalar_cmp(other) {
                Some(o) => o,
                None => rank(self).cmp(&rank(other)),
            },
        }
    }
}

/// Compares two numbers exactly (an i64 against an f64 without losing precision).
pub fn compare_numbers(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => int_float_cmp(*x, *y),
        (Value::Float(x), Value::Int(y)) => int_float_cmp(*y, *x).map(Ordering::reverse),
        _ => None,
    }
}

fn int_float_cmp(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // Beyond ±2^63 the float dominates; inside, compare the integer part exactly.
    if f >= 9_223_372_036_854_775_808.0 {
        return Some(Ordering::Less);
    }
    if f < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    let truncated = f.trunc();
    let fi = truncated as i64;
    match i.cmp(&fi) {
        Ordering::Equal => {
            let frac = f - truncated;
            if frac > 0.0 {
                Some(Ordering::Less)
            } else if frac < 0.0 {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        o => Some(o),
    }
}

/// A JSON number as a value: integers that fit i64 stay integers.
pub fn number_value(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::Float(u as f64)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl PartialEq for Value {
    /// Structural equality (used for keys and tests): Int(1) != Float(1.0).
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::List(items) => items.hash(state),
        }
    }
}

impl fmt::Display for Value {
    /// Text form as Elasticsearch's `string()` / toString would print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_double(*x)),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Java's `Double.toString` shape for common values: `1.0`, `0.5`, `1.0E10`.
pub fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Scientific: mantissa with at least one fractional digit, `E` exponent.
        let s = format!("{x:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let mantissa = if mantissa.contains('.') {
                    mantissa.to_string()
                } else {
                    format!("{mantissa}.0")
                };
                format!("{mantissa}E{exp}")
            }
            None => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_kinds() {
        assert!(Value::Int(1).scalar_eq(&Value::Float(1.0)));
        assert!(!Value::Int(1).scalar_eq(&Value::Float(1.5)));
        assert_eq!(
            Value::Int(2).scalar_cmp(&Value::Float(1.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Int(i64::MAX).scalar_cmp(&Value::Float(9.3e18)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Int(-1).scalar_cmp(&Value::Float(-0.5)),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn strings_compare_by_code_point() {
        assert_eq!(
            Value::str("System").scalar_cmp(&Value::str("system")),
            Some(Ordering::Less)
        );
        assert!(!Value::str("a").scalar_eq(&Value::str("A")));
        assert_eq!(Value::str("1").scalar_cmp(&Value::Int(1)), None);
    }

    #[test]
    fn java_double_format() {
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(0.5), "0.5");
        assert_eq!(format_double(1e10), "1.0E10");
        assert_eq!(format_double(-2.5e-5), "-2.5E-5");
    }

    #[test]
    fn nested_arrays_flatten() {
        let v = Value::from_json(&serde_json::json!([[1, 2], 3, null]));
        assert_eq!(
            v,
            Value::List(vec![
                Value::Int(1),
                Value::Int(2),
                Value::Int(3),
                Value::Null
            ])
        );
    }
}
