//! EQL functions with Elasticsearch's null and edge-case behaviour.
//!
//! Where Elasticsearch fails the whole query at run time, the function (or operator)
//! yields null here and the event simply does not match; a streaming engine cannot
//! abort on one event. The cases, each checked against the ES source named:
//! - `+`, `-`, `*` and `add`/`subtract`/`multiply` overflowing a long: ql
//!   `Arithmetics` uses `Math.addExact`/`subtractExact`/`multiplyExact`, which throw.
//! - `/`, `%`, `divide`, `modulo` of longs by zero (Java `ArithmeticException`).
//!   (`MIN / -1` does not throw in Java and wraps, as here.)
//! - `number(s)` that `DecimalFormat` / `Integer.parseInt` cannot read entirely, a
//!   base outside 2..=36 or not an integer (`ToNumberFunctionProcessor` throws).
//! - `between` whose right bound is found before the end of the left one with
//!   `greedy` (`String.substring` with end < start throws), or whose bounds are not
//!   strings at run time (`Check.isString`).
//! - a string function (`startsWith`, `endsWith`, `stringContains`, `indexOf`,
//!   `length`, `substring`, `between`, `number`) given a non-string value, or
//!   `substring`/`indexOf` given a non-number position, when the field's type was not
//!   known at compile time (a known wrong type is a compile error, as in ES's verifier).
//! - `cidrMatch` on a value that is not an IP address (the field must be `ip`; a
//!   mapped non-ip field is a compile error).
//! - `between~` when lowercasing changes the string's length, so Java's indices
//!   would point elsewhere.
//!
//! Comparisons of values of different kinds (untyped JSON: a string with a number)
//! are null rather than a query error for the same reason; with a mapping the
//! constant is checked against the field's type at compile time.

use smol_str::SmolStr;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

use super::{ArithOp, Func};
use crate::value::{format_double, Value};

/// Java `String.length()`: UTF-16 code units.
fn java_len(s: &str) -> i64 {
    s.encode_utf16().count() as i64
}

/// Byte offset of a UTF-16 index (clamped to the string).
fn byte_at_utf16(s: &str, index: i64) -> usize {
    if index <= 0 {
        return 0;
    }
    let mut units = 0i64;
    for (b, c) in s.char_indices() {
        if units >= index {
            return b;
        }
        units += c.len_utf16() as i64;
    }
    s.len()
}

fn utf16_of_byte(s: &str, byte: usize) -> i64 {
    s.get(..byte).map_or(0, java_len)
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.is_finite() => Some(*f as i64),
        _ => None,
    }
}

/// Java's `Number.intValue()` of a long: wraps to 32 bits.
fn java_int(i: i64) -> i64 {
    i64::from(i as i32)
}

/// String form of a value, as Elasticsearch's `string()` and `concat` print it.
pub fn to_java_string(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Float(f) => Some(Cow::Owned(format_double(*f))),
        other => Some(Cow::Owned(other.to_string())),
    }
}

pub fn call(func: Func, ci: bool, args: &[&Value]) -> Value {
    let arg = |i: usize| -> &Value { args.get(i).copied().unwrap_or(&Value::Null) };
    match func {
        Func::Add => arith(ArithOp::Add, arg(0), arg(1)),
        Func::Subtract => arith(ArithOp::Sub, arg(0), arg(1)),
        Func::Multiply => arith(ArithOp::Mul, arg(0), arg(1)),
        Func::Divide => arith(ArithOp::Div, arg(0), arg(1)),
        Func::Modulo => arith(ArithOp::Mod, arg(0), arg(1)),
        Func::Between => between(arg(0), arg(1), arg(2), arg(3), ci),
        Func::CidrMatch => cidr_match(arg(0), args.get(1..).unwrap_or_default()),
        Func::Concat => {
            let mut out = String::new();
            for a in args {
                match to_java_string(a) {
                    Some(s) => out.push_str(&s),
                    None => return Value::Null,
                }
            }
            Value::Str(SmolStr::new(out))
        }
        Func::EndsWith => match (arg(0), arg(1)) {
            (Value::Str(s), Value::Str(p)) => Value::Bool(if ci {
                lower(s).ends_with(lower(p).as_ref())
            } else {
                s.ends_with(p.as_str())
            }),
            _ => Value::Null,
        },
        Func::StartsWith => match (arg(0), arg(1)) {
            (Value::Str(s), Value::Str(p)) => Value::Bool(if ci {
                lower(s).starts_with(lower(p).as_ref())
            } else {
                s.starts_with(p.as_str())
            }),
            _ => Value::Null,
        },
        Func::StringContains => match (arg(0), arg(1)) {
            (Value::Str(s), Value::Str(p)) => Value::Bool(if s.is_empty() || p.is_empty() {
                false
            } else if ci {
                lower(s).contains(lower(p).as_ref())
            } else {
                s.contains(p.as_str())
            }),
            _ => Value::Null,
        },
        Func::IndexOf => index_of(arg(0), arg(1), arg(2), ci),
        Func::Length => match arg(0) {
            Value::Str(s) => Value::Int(java_len(s)),
            _ => Value::Null,
        },
        Func::Number => to_number(arg(0), arg(1)),
        Func::String => match to_java_string(arg(0)) {
            Some(s) => Value::Str(SmolStr::new(s.as_ref())),
            None => Value::Null,
        },
        Func::Substring => substring(arg(0), arg(1), arg(2)),
    }
}

/// Arithmetic as Elasticsearch's ql does it: integer operations when both sides are
/// integers (truncating division, Java remainder), float otherwise. Integer overflow
/// and integer division by zero fail the query in Elasticsearch; here they give null.
pub fn arith(op: ArithOp, l: &Value, r: &Value) -> Value {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => {
            let (a, b) = (*a, *b);
            let out = match op {
                ArithOp::Add => a.checked_add(b),
                ArithOp::Sub => a.checked_sub(b),
                ArithOp::Mul => a.checked_mul(b),
                // Java's `/` and `%` on longs: only a zero divisor throws;
                // `MIN / -1` wraps to MIN and `MIN % -1` is 0 (ql `Arithmetics.div/mod`).
                ArithOp::Div => (b != 0).then(|| a.wrapping_div(b)),
                ArithOp::Mod => (b != 0).then(|| a.wrapping_rem(b)),
            };
            out.map_or(Value::Null, Value::Int)
        }
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => Value::Float(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Mod => x % y,
            }),
            _ => Value::Null,
        },
    }
}

fn between(s: &Value, left: &Value, right: &Value, greedy: &Value, ci: bool) -> Value {
    let (Value::Str(s), Value::Str(left), Value::Str(right)) = (s, left, right) else {
        return Value::Null;
    };
    let greedy = greedy.as_bool().unwrap_or(false);
    if s.is_empty() || left.is_empty() || right.is_empty() {
        return Value::Str(s.clone());
    }
    // Lowercasing may change byte lengths; search on the lowercased text only when
    // that keeps offsets aligned (always true for ASCII).
    let (hay, l, r): (Cow<str>, Cow<str>, Cow<str>) = if ci {
        (lower(s), lower(left), lower(right))
    } else {
        (
            Cow::Borrowed(s.as_ref()),
            Cow::Borrowed(left.as_ref()),
            Cow::Borrowed(right.as_ref()),
        )
    };
    if hay.len() != s.len() {
        return Value::Null;
    }
    let Some(idx) = hay.find(l.as_ref()) else {
        return Value::str("");
    };
    let start = idx + l.len();
    let end = if greedy {
        hay.rfind(r.as_ref())
    } else {
        hay.get(start..)
            .and_then(|rest| rest.find(r.as_ref()))
            .map(|i| i + start)
    };
    match end {
        Some(end) if end >= start => Value::str(s.get(start..end).unwrap_or("")),
        // Java's substring with end < start throws: the query would fail.
        Some(_) => Value::Null,
        None => Value::str(""),
    }
}

fn index_of(s: &Value, sub: &Value, start: &Value, ci: bool) -> Value {
    let (Value::Str(s), Value::Str(sub)) = (s, sub) else {
        return Value::Null;
    };
    let start = match start {
        Value::Null => 0,
        v => match as_int(v) {
            Some(i) => java_int(i).max(0),
            None => return Value::Null,
        },
    };
    let (hay, needle) = if ci {
        (lower(s), lower(sub))
    } else {
        (Cow::Borrowed(s.as_ref()), Cow::Borrowed(sub.as_ref()))
    };
    if start > java_len(&hay) {
        return Value::Null;
    }
    let from = byte_at_utf16(&hay, start);
    match hay.get(from..).and_then(|rest| rest.find(needle.as_ref())) {
        Some(i) => Value::Int(utf16_of_byte(&hay, from + i)),
        None => Value::Null,
    }
}

fn substring(s: &Value, start: &Value, end: &Value) -> Value {
    let Value::Str(s) = s else { return Value::Null };
    let Some(start) = (match start {
        Value::Null => return Value::Str(s.clone()),
        v => as_int(v).map(java_int),
    }) else {
        return Value::Null;
    };
    let len = java_len(s);
    let end = match end {
        Value::Null => len,
        v => match as_int(v) {
            Some(e) => java_int(e),
            None => return Value::Null,
        },
    };
    if s.is_empty() {
        return Value::Str(s.clone());
    }
    let mut start = if start < 0 { start + len } else { start };
    start = start.max(0);
    let mut end = if end < 0 { end + len } else { end };
    end = end.clamp(0, len);
    if start >= end {
        return Value::str("");
    }
    let (a, b) = (byte_at_utf16(s, start), byte_at_utf16(s, end));
    Value::str(s.get(a..b).unwrap_or(""))
}

fn to_number(s: &Value, base: &Value) -> Value {
    let Value::Str(s) = s else { return Value::Null };
    let hex_prefix = s.starts_with("0x");
    let radix = match base {
        Value::Null => {
            if hex_prefix {
                16
            } else {
                10
            }
        }
        Value::Int(b) if (2..=36).contains(b) => *b as u32,
        _ => return Value::Null,
    };
    let digits = if hex_prefix && radix == 16 {
        s.get(2..).unwrap_or("")
    } else {
        s.as_ref()
    };
    if radix == 10 {
        parse_decimal(digits)
    } else {
        // Java's Integer.parseInt: 32-bit, optional sign.
        match i32::from_str_radix(digits, radix) {
            Ok(i) => Value::Int(i64::from(i)),
            Err(_) => Value::Null,
        }
    }
}

/// Java `DecimalFormat.parse` of the whole string, as `ToNumberFunctionProcessor`
/// does for base 10: `-`? digits, optional `.` fraction, optional exponent `E` with an
/// optional `-` (no `+`, no lowercase `e`, no grouping). An integral value that fits
/// a long comes back as a long (`"2.0"` → 2), others as a double (`"-0"` → -0.0).
fn parse_decimal(s: &str) -> Value {
    let bytes = s.as_bytes();
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let negative = bytes.first() == Some(&b'-');
    let int_start = usize::from(negative);
    let mut i = digits_from(int_start);
    let mut mantissa_digits = i - int_start;
    if bytes.get(i) == Some(&b'.') {
        let frac_start = i + 1;
        i = digits_from(frac_start);
        mantissa_digits += i - frac_start;
    }
    if mantissa_digits == 0 {
        return Value::Null;
    }
    if bytes.get(i) == Some(&b'E') {
        let sign = usize::from(bytes.get(i + 1) == Some(&b'-'));
        let exp_start = i + 1 + sign;
        i = digits_from(exp_start);
        if i == exp_start {
            return Value::Null;
        }
    }
    if i != bytes.len() {
        return Value::Null;
    }
    if let Ok(v) = s.parse::<i64>() {
        return if v == 0 && negative {
            Value::Float(-0.0)
        } else {
            Value::Int(v)
        };
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            let integral = f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0;
            if integral && f != 0.0 {
                Value::Int(f as i64)
            } else if integral && !negative {
                Value::Int(0)
            } else {
                Value::Float(f)
            }
        }
        _ => Value::Null,
    }
}

fn cidr_match(ip: &Value, cidrs: &[&Value]) -> Value {
    let Some(addr) = ip.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok()) else {
        return Value::Null;
    };
    for c in cidrs {
        if let Some(net) = c.as_str().and_then(parse_cidr) {
            if net_contains(&net, addr) {
                return Value::Bool(true);
            }
        }
    }
    Value::Bool(false)
}

/// `cidrMatch` with its blocks parsed already (those that parse: the others never
/// match, as in [`cidr_match`]).
pub(crate) fn cidr_match_parsed(ip: &Value, nets: &[ipnet::IpNet]) -> Value {
    let Some(addr) = ip.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok()) else {
        return Value::Null;
    };
    Value::Bool(nets.iter().any(|net| net_contains(net, addr)))
}

/// A CIDR block, or a single address as a full-length block.
pub fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Some(net.trunc());
    }
    s.parse::<IpAddr>().ok().map(ipnet::IpNet::from)
}

fn net_contains(net: &ipnet::IpNet, ip: IpAddr) -> bool {
    match (net, normalize_ip(ip)) {
        (ipnet::IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
        (ipnet::IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
        (ipnet::IpNet::V6(n), IpAddr::V4(a)) => n.contains(&a.to_ipv6_mapped()),
        (ipnet::IpNet::V4(_), IpAddr::V6(_)) => false,
    }
}

/// IPv4-mapped IPv6 addresses are IPv4, as Elasticsearch stores them.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Orders two IP addresses as Elasticsearch's `ip` field does (16-byte form).
pub fn compare_ips(a: &str, b: &str) -> Option<Ordering> {
    let a: IpAddr = a.trim().parse().ok()?;
    let b: IpAddr = b.trim().parse().ok()?;
    let bytes = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    Some(bytes(a).cmp(&bytes(b)))
}

/// Orders two strings as Elasticsearch's `version` field type does: valid
/// versions by semver precedence (numeric parts, a pre-release before its
/// release), invalid versions after every valid one, by bytes.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Version<'a> {
    numbers: Vec<u64>,
    pre: Option<Vec<&'a str>>,
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.numbers.cmp(&other.numbers);
        if n != Ordering::Equal {
            return n;
        }
        match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(p), Ok(q)) => p.cmp(&q),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
        }
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn parse_version(s: &str) -> Option<Version<'_>> {
    let core_and_pre = s.split_once('+').map_or(s, |(c, _)| c);
    let (core, pre) = match core_and_pre.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core_and_pre, None),
    };
    let mut numbers = Vec::new();
    for part in core.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers.push(part.parse().ok()?);
    }
    let pre = match pre {
        Some(p) => {
            let ids: Vec<&str> = p.split('.').collect();
            if ids.iter().any(|id| {
                id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }) {
                return None;
            }
            Some(ids)
        }
        None => None,
    };
    Some(Version { numbers, pre })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn arithmetic() {
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(83), &Value::Int(2)),
            Value::Int(41)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(-7), &Value::Int(2)),
            Value::Int(-3)
        );
        assert_eq!(
            arith(ArithOp::Mod, &Value::Int(-7), &Value::Int(2)),
            Value::Int(-1)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(1), &Value::Float(2.0)),
            Value::Float(0.5)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(1), &Value::Int(0)),
            Value::Null
        );
        assert_eq!(
            arith(ArithOp::Add, &Value::Int(i64::MAX), &Value::Int(1)),
            Value::Null
        );
        assert_eq!(
            arith(ArithOp::Mod, &Value::Int(i64::MIN), &Value::Int(-1)),
            Value::Int(0)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(i64::MIN), &Value::Int(-1)),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            arith(ArithOp::Add, &Value::Null, &Value::Int(1)),
            Value::Null
        );
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            call(Func::Substring, false, &[&s("hello"), &Value::Int(-3)]),
            s("llo")
        );
        assert_eq!(
            call(
                Func::Substring,
                false,
                &[&s("hello"), &Value::Int(1), &Value::Int(-1)]
            ),
            s("ell")
        );
        assert_eq!(
            call(
                Func::Substring,
                false,
                &[&s("hello"), &Value::Int(4), &Value::Int(2)]
            ),
            s("")
        );
        assert_eq!(
            call(Func::Substring, false, &[&s("hello"), &Value::Null]),
            s("hello")
        );
        assert_eq!(
            call(Func::IndexOf, false, &[&s("explorer.exe"), &s("plore")]),
            Value::Int(2)
        );
        assert_eq!(
            call(
                Func::IndexOf,
                false,
                &[&s("explorer.exe"), &s("plore"), &Value::Int(100)]
            ),
            Value::Null
        );
        assert_eq!(
            call(Func::IndexOf, false, &[&s("explorer.exe"), &s("PLORE")]),
            Value::Null
        );
        assert_eq!(
            call(Func::IndexOf, true, &[&s("explorer.exe"), &s("PLORE")]),
            Value::Int(2)
        );
        assert_eq!(
            call(Func::IndexOf, false, &[&s("abc"), &s(""), &Value::Int(3)]),
            Value::Int(3)
        );
        assert_eq!(call(Func::Length, false, &[&s("héllo😀")]), Value::Int(7));
        assert_eq!(
            call(
                Func::Concat,
                false,
                &[&s("a"), &Value::Int(1), &Value::Float(2.0)]
            ),
            s("a12.0")
        );
        assert_eq!(
            call(Func::Concat, false, &[&s("a"), &Value::Null]),
            Value::Null
        );
        assert_eq!(
            call(Func::StringContains, false, &[&s("abc"), &s("")]),
            Value::Bool(false)
        );
        assert_eq!(
            call(Func::StartsWith, true, &[&s("ABC"), &s("ab")]),
            Value::Bool(true)
        );
        assert_eq!(
            call(Func::EndsWith, false, &[&s("ABC"), &s("bc")]),
            Value::Bool(false)
        );
    }

    #[test]
    fn between_cases() {
        let b = |x: &str, l: &str, r: &str, g: bool, ci: bool| {
            call(Func::Between, ci, &[&s(x), &s(l), &s(r), &Value::Bool(g)])
        };
        assert_eq!(b("a-b-c-d", "-", "-", false, false), s("b"));
        assert_eq!(b("a-b-c-d", "-", "-", true, false), s("b-c"));
        assert_eq!(b("abc", "x", "c", false, false), s(""));
        assert_eq!(b("aXbYc", "x", "y", false, true), s("b"));
        assert_eq!(b("aXbYc", "x", "y", false, false), s(""));
        assert_eq!(b("", "x", "y", false, false), s(""));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            call(Func::Number, false, &[&s("0x32"), &Value::Int(16)]),
            Value::Int(50)
        );
        assert_eq!(call(Func::Number, false, &[&s("0x32")]), Value::Int(50));
        assert_eq!(call(Func::Number, false, &[&s("32")]), Value::Int(32));
        assert_eq!(call(Func::Number, false, &[&s("3.5")]), Value::Float(3.5));
        assert_eq!(call(Func::Number, false, &[&s("-12")]), Value::Int(-12));
        assert_eq!(call(Func::Number, false, &[&s("abc")]), Value::Null);
        assert_eq!(
            call(Func::Number, false, &[&s("z"), &Value::Int(36)]),
            Value::Int(35)
        );
        assert_eq!(call(Func::String, false, &[&Value::Int(5)]), s("5"));
    }

    #[test]
    fn cidr() {
        let ip = s("10.6.48.157");
        assert_eq!(
            call(Func::CidrMatch, false, &[&ip, &s("10.6.48.157/8")]),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                Func::CidrMatch,
                false,
                &[&ip, &s("192.168.0.0/16"), &s("10.6.48.157")]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(Func::CidrMatch, false, &[&ip, &s("192.168.0.0/16")]),
            Value::Bool(false)
        );
        assert_eq!(
            call(Func::CidrMatch, false, &[&Value::Null, &s("0.0.0.0/0")]),
            Value::Null
        );
        assert_eq!(
            call(
                Func::CidrMatch,
                false,
                &[&s("::ffff:10.0.0.1"), &s("10.0.0.0/8")]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(Func::CidrMatch, false, &[&s("fe80::1"), &s("fe80::/10")]),
            Value::Bool(true)
        );
    }

    #[test]
    fn versions() {
        assert_eq!(compare_versions("1.11.3", "1.5.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.2.4-SNAPSHOT", "1.5.0"), Ordering::Less);
        assert_eq!(compare_versions("1.5.0-alpha", "1.5.0"), Ordering::Less);
        assert_eq!(compare_versions("bad", "1.5.0"), Ordering::Greater);
        assert_eq!(
            compare_versions("1.0.0-alpha.1", "1.0.0-alpha.beta"),
            Ordering::Less
        );
        assert_eq!(compare_versions("1.0.0+build", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn ips() {
        assert_eq!(compare_ips("10.0.0.2", "10.0.0.10"), Some(Ordering::Less));
        assert_eq!(
            compare_ips("::ffff:10.0.0.1", "10.0.0.1"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_ips("x", "10.0.0.1"), None);
    }
}
