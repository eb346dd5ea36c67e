//! Timestamps: ISO 8601 (up to nanoseconds, with offsets) and epoch milliseconds,
//! as Elasticsearch's default `strict_date_optional_time||epoch_millis` reads them.
//! Results are epoch nanoseconds.

/// Parses a timestamp string: ISO 8601 or (fractional) epoch milliseconds.
pub fn parse_timestamp_str(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let first = t.as_bytes()[0];
    if t.len() >= 8 && first.is_ascii_digit() && t.as_bytes().get(4) == Some(&b'-') {
        return parse_iso8601(t);
    }
    parse_epoch_millis_str(t)
}

/// Epoch milliseconds with an optional fraction: `"1"`, `"-5"`, `"1234.567891"`.
pub fn parse_epoch_millis_str(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: i64 = int_part.parse().ok()?;
    let mut sub_nanos: i64 = 0;
    // Fraction of a millisecond, down to nanoseconds; further digits are dropped.
    for (i, b) in frac_part.bytes().take(6).enumerate() {
        sub_nanos += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
    }
    let nanos = millis.checked_mul(1_000_000)?.checked_add(sub_nanos)?;
    Some(if neg { -nanos } else { nanos })
}

/// Epoch milliseconds from a JSON number.
pub fn from_epoch_millis_f64(ms: f64) -> Option<i64> {
    if !ms.is_finite() {
        return None;
    }
    let nanos = ms * 1_000_000.0;
    if nanos.abs() >= 9.2e18 {
        return None;
    }
    Some(nanos.round() as i64)
}

pub fn from_epoch_millis_i64(ms: i64) -> Option<i64> {
    ms.checked_mul(1_000_000)
}

/// Whether a string looks like a date Elasticsearch's dynamic mapping would detect.
pub fn looks_like_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && parse_iso8601(s).is_some()
}

/// `YYYY-MM-DD[Thh:mm[:ss[.f{1,9}]]][Z|±hh[:mm]|±hhmm]`; no offset means UTC.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut p = Cursor { b, i: 0 };
    let year = p.digits(4)?;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0i64);
    if p.peek() == Some(b'T') || p.peek() == Some(b't') || p.peek() == Some(b' ') {
        p.i += 1;
        hour = p.digits(2)?;
        if p.peek() == Some(b':') {
            p.i += 1;
            minute = p.digits(2)?;
            if p.peek() == Some(b':') {
                p.i += 1;
                second = p.digits(2)?;
                if p.peek() == Some(b'.') || p.peek() == Some(b',') {
                    p.i += 1;
                    let start = p.i;
                    while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                        p.i += 1;
                    }
                    let frac = b.get(start..p.i)?;
                    if frac.is_empty() {
                        return None;
                    }
                    for (k, d) in frac.iter().take(9).enumerate() {
                        nanos += i64::from(d - b'0') * 10_i64.pow(8 - k as u32);
                    }
                }
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
    }
    let offset_secs: i64 = match p.peek() {
        None => 0,
        Some(b'Z') | Some(b'z') => {
            p.i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            p.i += 1;
            let oh = p.digits(2)?;
            let om = if p.peek() == Some(b':') {
                p.i += 1;
                p.digits(2)?
            } else if p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.digits(2)?
            } else {
                0
            };
            let secs = oh * 3600 + om * 60;
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        Some(_) => return None,
    };
    if p.i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn digits(&mut self, n: usize) -> Option<i64> {
        let slice = self.b.get(self.i..self.i + n)?;
        let mut v = 0i64;
        for d in slice {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        self.i += n;
        Some(v)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch nanoseconds as Elasticsearch prints a `date`: `1970-01-01T00:00:00.000Z`.
pub fn format_millis_iso(nanos: i64) -> String {
    let millis = nanos.div_euclid(1_000_000);
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T00:00:00.000000001Z"), Some(1));
        assert_eq!(parse_iso8601("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_iso8601("1970-01-01T00:00:00-0130"),
            Some(5_400_000_000_000)
        );
        assert_eq!(
            parse_iso8601("2020-02-29T12:00:00.5Z"),
            Some(1_582_977_600_500_000_000)
        );
        assert_eq!(parse_iso8601("2021-02-29T12:00:00Z"), None);
        assert_eq!(parse_iso8601("2021-01-01T12:00:00Zjunk"), None);
        assert_eq!(parse_iso8601("1969-12-31T23:59:59.999Z"), Some(-1_000_000));
    }

    #[test]
    fn epoch_millis() {
        assert_eq!(parse_timestamp_str("1"), Some(1_000_000));
        assert_eq!(
            parse_timestamp_str("131509374020.000001"),
            Some(131_509_374_020_000_001)
        );
        assert_eq!(parse_timestamp_str("12.5"), Some(12_500_000));
        assert_eq!(parse_timestamp_str("-3"), Some(-3_000_000));
        assert_eq!(parse_timestamp_str("abc"), None);
        assert_eq!(parse_timestamp_str("1.2.3"), None);
        assert_eq!(from_epoch_millis_f64(1.5), Some(1_500_000));
    }

    #[test]
    fn format_round_trip() {
        assert_eq!(format_millis_iso(0), "1970-01-01T00:00:00.000Z");
        let t = parse_iso8601("2023-07-14T08:09:10.123Z").unwrap();
        assert_eq!(format_millis_iso(t), "2023-07-14T08:09:10.123Z");
        assert_eq!(format_millis_iso(-1_000_000), "1969-12-31T23:59:59.999Z");
    }
}
