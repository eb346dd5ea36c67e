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
/// `nanos` rounded down to a whole millisecond, as a `date` field holds it; `None` within a
/// millisecond of the earliest instant epoch nanoseconds can hold (that millisecond starts before it).
pub fn floor_millis(nanos: i64) -> Option<i64> {
    nanos.div_euclid(1_000_000).checked_mul(1_000_000)
}

pub fn format_millis_iso(nanos: i64) -> String {
    String::from_utf8_lossy(&millis_iso_bytes(nanos)).into_owned()
}

/// [`format_millis_iso`] without allocating: every instant epoch nanoseconds can hold (1677 to
/// 2262) has a four-digit year, so the text is always 24 ASCII bytes.
pub fn millis_iso_bytes(nanos: i64) -> [u8; 24] {
    let [y, m, d, hour, minute, second, ms] = utc_parts(nanos);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut digits = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            if let Some(b) = text.get_mut(i) {
                // (`value` is within 0..10^width here; the digit is 0..=9.)
                *b = b'0' + u8::try_from(value.rem_euclid(10)).unwrap_or(0);
            }
            value /= 10;
        }
    };
    digits(0, 4, y);
    digits(5, 2, m);
    digits(8, 2, d);
    digits(11, 2, hour);
    digits(14, 2, minute);
    digits(17, 2, second);
    digits(20, 3, ms);
    text
}

/// Year, month, day, hour, minute, second and millisecond (UTC) of an instant, floored to milliseconds.
fn utc_parts(nanos: i64) -> [i64; 7] {
    let millis = nanos.div_euclid(1_000_000);
    let secs = millis.div_euclid(1000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    [
        y,
        m,
        d,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        millis.rem_euclid(1000),
    ]
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

/// Formats epoch nanoseconds as Elasticsearch prints a `date_nanos`: like
/// [`format_millis_iso`], with 3 to 9 fraction digits (trailing zeros dropped).
pub fn format_nanos_iso(nanos: i64) -> String {
    let millis_text = format_millis_iso(nanos);
    let sub_millis = nanos.rem_euclid(1_000_000);
    if sub_millis == 0 {
        return millis_text;
    }
    let extra = format!("{sub_millis:06}");
    let extra = extra.trim_end_matches('0');
    match millis_text.strip_suffix('Z') {
        Some(head) => format!("{head}{extra}Z"),
        None => millis_text,
    }
}

/// A date mapping's `format`: alternatives separated by `||`, each a built-in
/// name (`strict_date_optional_time`, `epoch_millis`, `basic_date`, …) or a Java
/// `DateTimeFormatter` pattern (`dd-MM-yyyy`, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, …).
/// Values are read in UTC unless they carry an offset, as Elasticsearch does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    spec: String,
    parsers: Vec<DateParser>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DateParser {
    /// ISO 8601 with optional time ([`parse_iso8601`]).
    Iso,
    EpochMillis,
    EpochSecond,
    Pattern(Vec<Token>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    TwoDigitYear,
    Month,
    DayOfMonth,
    DayOfYear,
    Hour24,
    Hour12,
    Minute,
    Second,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// A number: `min..=max` digits.
    Number {
        unit: Unit,
        min: usize,
        max: usize,
    },
    /// `S…`: exactly this many fraction-of-second digits.
    Fraction(usize),
    /// `MMM` / `MMMM`: English month name.
    MonthName {
        full: bool,
    },
    /// `E…`: English day name, read and ignored.
    DayName {
        full: bool,
    },
    AmPm,
    /// `Z`, `X`, `x`: a UTC offset; `z_ok` accepts a literal `Z`; `colon` the `+HH:MM` form.
    Offset {
        z_ok: bool,
        colon: bool,
    },
    /// `[...]`: an optional section.
    Optional(Vec<Token>),
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl DateFormat {
    /// Parses a mapping `format` value; an unsupported name or pattern letter is an
    /// error (the values could not be read as Elasticsearch reads them).
    pub fn new(spec: &str) -> Result<DateFormat, String> {
        let mut parsers = Vec::new();
        for alt in spec.split("||") {
            let alt = alt.trim();
            if alt.is_empty() {
                return Err(format!("empty alternative in date format `{spec}`"));
            }
            parsers.push(
                named_format(alt)
                    .map_or_else(|| parse_pattern(alt).map(DateParser::Pattern), Ok)?,
            );
        }
        Ok(DateFormat {
            spec: spec.to_string(),
            parsers,
        })
    }

    /// The format as written in the mapping.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Reads a value: epoch nanoseconds of the first alternative that accepts it.
    pub fn parse(&self, text: &str) -> Option<i64> {
        self.parse_bounds(text).map(|(down, _)| down)
    }

    /// Reads a value as a range query bound would: the instant with unspecified time
    /// fields at their minimum, and with them at their maximum (Elasticsearch's
    /// round-up parser: `"2022-12-17"` as an upper bound is `2022-12-17T23:59:59.999999999`).
    pub fn parse_bounds(&self, text: &str) -> Option<(i64, i64)> {
        self.parsers.iter().find_map(|p| p.parse_bounds(text))
    }

    /// Several formats as one (`a||b`): how a field is read when indices queried
    /// together map it with different formats.
    pub fn union(&self, other: &DateFormat) -> DateFormat {
        if self == other {
            return self.clone();
        }
        let mut parsers = self.parsers.clone();
        for p in &other.parsers {
            if !parsers.contains(p) {
                parsers.push(p.clone());
            }
        }
        DateFormat {
            spec: format!("{}||{}", self.spec, other.spec),
            parsers,
        }
    }
}

/// The default `strict_date_optional_time||epoch_millis`, with round-up bounds.
pub fn parse_default_bounds(text: &str) -> Option<(i64, i64)> {
    DateParser::Iso
        .parse_bounds(text)
        .or_else(|| DateParser::EpochMillis.parse_bounds(text))
}

impl DateParser {
    fn parse_bounds(&self, text: &str) -> Option<(i64, i64)> {
        match self {
            DateParser::Iso => {
                let t = text.trim();
                let down = parse_iso8601(t)?;
                Some((down, down + iso_round_up_span(t)))
            }
            DateParser::EpochMillis => {
                let ns = parse_epoch_millis_str(text.trim())?;
                Some((ns, ns))
            }
            DateParser::EpochSecond => {
                let ns = parse_epoch_millis_str(text.trim())?;
                let ns = ns.checked_mul(1000)?;
                Some((ns, ns))
            }
            DateParser::Pattern(tokens) => {
                let mut fields = Parsed::default();
                let end = parse_tokens(tokens, text.as_bytes(), 0, &mut fields)?;
                (end == text.len()).then_some(())?;
                fields.resolve()
            }
        }
    }
}

/// How far the round-up parse of an ISO value lies past its round-down parse:
/// everything below the last written time unit.
fn iso_round_up_span(t: &str) -> i64 {
    const SECOND: i64 = 1_000_000_000;
    let Some(time_at) = t.find(['T', 't', ' ']) else {
        return 86_400 * SECOND - 1;
    };
    let time = t.get(time_at + 1..).unwrap_or("");
    let time = time
        .find(['Z', 'z', '+', '-'])
        .map_or(time, |i| time.get(..i).unwrap_or(time));
    match time.split_once(['.', ',']) {
        Some((_, frac)) => {
            let digits = frac.len().min(9) as u32;
            10_i64.pow(9 - digits) - 1
        }
        None => match time.matches(':').count() {
            0 => 3600 * SECOND - 1,
            1 => 60 * SECOND - 1,
            _ => SECOND - 1,
        },
    }
}

fn named_format(name: &str) -> Option<DateParser> {
    let pattern = |p: &str| parse_pattern(p).ok().map(DateParser::Pattern);
    let name = name.strip_prefix("strict_").unwrap_or(name);
    match name {
        "date_optional_time"
        | "date_optional_time_nanos"
        | "date_time"
        | "date_time_no_millis"
        | "date_hour_minute_second_fraction"
        | "iso8601" => Some(DateParser::Iso),
        "epoch_millis" => Some(DateParser::EpochMillis),
        "epoch_second" => Some(DateParser::EpochSecond),
        "date" | "year_month_day" => pattern("yyyy-MM-dd"),
        "year_month" => pattern("yyyy-MM"),
        "year" => pattern("yyyy"),
        "date_hour" => pattern("yyyy-MM-dd'T'HH"),
        "date_hour_minute" => pattern("yyyy-MM-dd'T'HH:mm"),
        "date_hour_minute_second" => pattern("yyyy-MM-dd'T'HH:mm:ss"),
        "date_hour_minute_second_millis" => pattern("yyyy-MM-dd'T'HH:mm:ss.SSS"),
        "hour_minute_second" => pattern("HH:mm:ss"),
        "hour_minute" => pattern("HH:mm"),
        "basic_date" => pattern("yyyyMMdd"),
        "basic_date_time" => pattern("yyyyMMdd'T'HHmmss.SSSX"),
        "basic_date_time_no_millis" => pattern("yyyyMMdd'T'HHmmssX"),
        "basic_ordinal_date" => pattern("yyyyDDD"),
        "ordinal_date" => pattern("yyyy-DDD"),
        _ => None,
    }
}

/// Compiles a Java `DateTimeFormatter` pattern.
fn parse_pattern(pattern: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let tokens = pattern_section(&chars, &mut i, pattern, 0)?;
    if i < chars.len() {
        return Err(format!("unbalanced `]` in date format `{pattern}`"));
    }
    if tokens.is_empty() {
        return Err(format!("empty date format `{pattern}`"));
    }
    Ok(tokens)
}

fn pattern_section(
    chars: &[char],
    i: &mut usize,
    pattern: &str,
    depth: usize,
) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    while let Some(&c) = chars.get(*i) {
        match c {
            '[' => {
                *i += 1;
                if depth > 8 {
                    return Err(format!("too deeply nested `[` in date format `{pattern}`"));
                }
                let inner = pattern_section(chars, i, pattern, depth + 1)?;
                if chars.get(*i) != Some(&']') {
                    return Err(format!("unterminated `[` in date format `{pattern}`"));
                }
                *i += 1;
                out.push(Token::Optional(inner));
            }
            ']' => return Ok(out),
            '\'' => {
                *i += 1;
                let mut lit = String::new();
                loop {
                    match chars.get(*i) {
                        None => {
                            return Err(format!("unterminated quote in date format `{pattern}`"))
                        }
                        Some('\'') if chars.get(*i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            *i += 2;
                        }
                        Some('\'') => {
                            *i += 1;
                            break;
                        }
                        Some(&ch) => {
                            lit.push(ch);
                            *i += 1;
                        }
                    }
                }
                if lit.is_empty() {
                    lit.push('\'');
                }
                out.push(Token::Literal(lit));
            }
            c if c.is_ascii_alphabetic() => {
                let start = *i;
                while chars.get(*i) == Some(&c) {
                    *i += 1;
                }
                out.push(letter_token(c, *i - start, pattern)?);
            }
            other => {
                *i += 1;
                out.push(Token::Literal(other.to_string()));
            }
        }
    }
    Ok(out)
}

fn letter_token(c: char, count: usize, pattern: &str) -> Result<Token, String> {
    let number = |unit, count: usize| {
        let (min, max) = match count {
            1 => (1, 2),
            n => (n, n),
        };
        Token::Number { unit, min, max }
    };
    Ok(match (c, count) {
        ('y' | 'u', 2) => Token::Number {
            unit: Unit::TwoDigitYear,
            min: 2,
            max: 2,
        },
        ('y' | 'u', n) => Token::Number {
            unit: Unit::Year,
            min: n,
            max: 9.max(n),
        },
        ('M' | 'L', 1 | 2) => number(Unit::Month, count),
        ('M' | 'L', 3) => Token::MonthName { full: false },
        ('M' | 'L', 4) => Token::MonthName { full: true },
        ('d', 1 | 2) => number(Unit::DayOfMonth, count),
        ('D', 1..=3) => Token::Number {
            unit: Unit::DayOfYear,
            min: count,
            max: 3,
        },
        ('H', 1 | 2) => number(Unit::Hour24, count),
        ('h', 1 | 2) => number(Unit::Hour12, count),
        ('m', 1 | 2) => number(Unit::Minute, count),
        ('s', 1 | 2) => number(Unit::Second, count),
        ('S', 1..=9) => Token::Fraction(count),
        ('a', 1) => Token::AmPm,
        ('E', 1..=3) => Token::DayName { full: false },
        ('E', 4) => Token::DayName { full: true },
        ('Z', 1..=3) => Token::Offset {
            z_ok: false,
            colon: false,
        },
        ('Z', 5) => Token::Offset {
            z_ok: true,
            colon: true,
        },
        ('X', 1 | 2) | ('x', 1 | 2) => Token::Offset {
            z_ok: c == 'X',
            colon: false,
        },
        ('X', 3) | ('x', 3) => Token::Offset {
            z_ok: c == 'X',
            colon: true,
        },
        _ => {
            return Err(format!(
                "unsupported pattern letters `{}` in date format `{pattern}`",
                c.to_string().repeat(count)
            ))
        }
    })
}

/// Fields read by a pattern.
#[derive(Debug, Default, Clone, Copy)]
struct Parsed {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    /// Nanoseconds and the number of digits written.
    fraction: Option<(i64, usize)>,
    offset_secs: Option<i64>,
}

impl Parsed {
    /// Round-down and round-up instants (unwritten time fields at min / max).
    fn resolve(&self) -> Option<(i64, i64)> {
        const SECOND: i64 = 1_000_000_000;
        let year = self.year.unwrap_or(1970);
        let (month, day) = match self.day_of_year {
            Some(doy) => {
                let days_in_year = if is_leap(year) { 366 } else { 365 };
                if !(1..=days_in_year).contains(&doy) {
                    return None;
                }
                let mut rest = doy;
                let mut month = 1;
                while rest > days_in_month(year, month) {
                    rest -= days_in_month(year, month);
                    month += 1;
                }
                (month, rest)
            }
            None => (self.month.unwrap_or(1), self.day.unwrap_or(1)),
        };
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let hour = match (self.hour, self.hour12, self.pm) {
            (Some(h), _, _) => Some(h),
            (None, Some(h), pm) => {
                if !(1..=12).contains(&h) {
                    return None;
                }
                Some(h % 12 + if pm == Some(true) { 12 } else { 0 })
            }
            (None, None, _) => None,
        };
        let (minute, second) = (self.minute, self.second);
        if hour.is_some_and(|h| !(0..=23).contains(&h))
            || minute.is_some_and(|m| !(0..=59).contains(&m))
            || second.is_some_and(|s| !(0..=59).contains(&s))
        {
            return None;
        }
        let nanos = self.fraction.map_or(0, |(n, _)| n);
        let down_secs = days_from_civil(year, month, day) * 86_400
            + hour.unwrap_or(0) * 3600
            + minute.unwrap_or(0) * 60
            + second.unwrap_or(0)
            - self.offset_secs.unwrap_or(0);
        let down = down_secs.checked_mul(SECOND)?.checked_add(nanos)?;
        // Round-up: the unwritten fields below the smallest written one at their maximum.
        let span = match (self.fraction, second, minute, hour) {
            (Some((_, digits)), ..) => 10_i64.pow(9 - digits.min(9) as u32) - 1,
            (None, Some(_), ..) => SECOND - 1,
            (None, None, Some(_), _) => 60 * SECOND - 1,
            (None, None, None, Some(_)) => 3600 * SECOND - 1,
            (None, None, None, None) => 86_400 * SECOND - 1,
        };
        Some((down, down.checked_add(span)?))
    }
}

fn parse_tokens(tokens: &[Token], b: &[u8], mut i: usize, out: &mut Parsed) -> Option<usize> {
    for (k, token) in tokens.iter().enumerate() {
        // A number directly followed by another number takes its minimum width
        // (Java's adjacent value parsing: `yyyyMMdd`).
        let adjacent = matches!(
            tokens.get(k + 1),
            Some(Token::Number { .. } | Token::Fraction(_))
        );
        i = match token {
            Token::Literal(lit) => {
                let end = i + lit.len();
                (b.get(i..end)? == lit.as_bytes()).then_some(end)?
            }
            Token::Number { unit, min, max } => {
                let max = if adjacent { *min } else { *max };
                let mut end = i;
                while end < b.len() && end - i < max && b.get(end)?.is_ascii_digit() {
                    end += 1;
                }
                if end - i < *min {
                    return None;
                }
                let v: i64 = std::str::from_utf8(b.get(i..end)?).ok()?.parse().ok()?;
                match unit {
                    Unit::Year => out.year = Some(v),
                    Unit::TwoDigitYear => out.year = Some(2000 + v),
                    Unit::Month => out.month = Some(v),
                    Unit::DayOfMonth => out.day = Some(v),
                    Unit::DayOfYear => out.day_of_year = Some(v),
                    Unit::Hour24 => out.hour = Some(v),
                    Unit::Hour12 => out.hour12 = Some(v),
                    Unit::Minute => out.minute = Some(v),
                    Unit::Second => out.second = Some(v),
                }
                end
            }
            Token::Fraction(n) => {
                let digits = b.get(i..i + n)?;
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let mut nanos = 0i64;
                for (p, d) in digits.iter().take(9).enumerate() {
                    nanos += i64::from(d - b'0') * 10_i64.pow(8 - p as u32);
                }
                out.fraction = Some((nanos, *n));
                i + n
            }
            Token::MonthName { full } => {
                let (index, end) = match_name(b, i, &MONTHS, *full)?;
                out.month = Some(index as i64 + 1);
                end
            }
            Token::DayName { full } => match_name(b, i, &DAYS, *full)?.1,
            Token::AmPm => {
                let text = b.get(i..i + 2)?;
                out.pm = Some(match text {
                    b"AM" => false,
                    b"PM" => true,
                    _ => return None,
                });
                i + 2
            }
            Token::Offset { z_ok, colon } => {
                let (secs, end) = parse_offset(b, i, *z_ok, *colon)?;
                out.offset_secs = Some(secs);
                end
            }
            Token::Optional(inner) => {
                let mut trial = *out;
                match parse_tokens(inner, b, i, &mut trial) {
                    Some(end) => {
                        *out = trial;
                        end
                    }
                    None => i,
                }
            }
        };
    }
    Some(i)
}

fn match_name(b: &[u8], i: usize, names: &[&str], full: bool) -> Option<(usize, usize)> {
    names.iter().enumerate().find_map(|(index, name)| {
        let text = if full { name } else { name.get(..3)? };
        let end = i + text.len();
        (b.get(i..end)? == text.as_bytes()).then_some((index, end))
    })
}

fn parse_offset(b: &[u8], i: usize, z_ok: bool, colon: bool) -> Option<(i64, usize)> {
    let first = *b.get(i)?;
    if first == b'Z' {
        return z_ok.then_some((0, i + 1));
    }
    let sign = match first {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut p = Cursor { b, i: i + 1 };
    let hours = p.digits(2)?;
    let minutes = if colon {
        if p.peek() == Some(b':') {
            p.i += 1;
            p.digits(2)?
        } else {
            0
        }
    } else if p.peek().is_some_and(|c| c.is_ascii_digit()) {
        p.digits(2)?
    } else {
        0
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    Some((sign * (hours * 3600 + minutes * 60), p.i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`format_millis_iso`] as first written, with `format!`.
    fn format_millis_iso_reference(nanos: i64) -> String {
        let [y, m, d, hour, minute, second, ms] = utc_parts(nanos);
        format!("{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
    }

    #[test]
    fn millis_text_is_the_formatted_one_at_the_ends_of_the_range() {
        for nanos in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            999_999,
            1_000_000,
            i64::MAX - 1,
            i64::MAX,
        ] {
            assert_eq!(
                format_millis_iso(nanos),
                format_millis_iso_reference(nanos),
                "{nanos}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn millis_text_is_the_formatted_one(nanos in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(format_millis_iso(nanos), format_millis_iso_reference(nanos));
        }
    }

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

    #[test]
    fn custom_formats() {
        let ddmmyyyy = DateFormat::new("dd-MM-yyyy").unwrap();
        let yyyymmdd = DateFormat::new("yyyy-MM-dd").unwrap();
        let day = 1_671_235_200_000_000_000; // 2022-12-17T00:00:00Z
        assert_eq!(ddmmyyyy.parse("17-12-2022"), Some(day));
        assert_eq!(yyyymmdd.parse("2022-12-17"), Some(day));
        assert_eq!(ddmmyyyy.parse("2022-12-17"), None);
        assert_eq!(yyyymmdd.parse("17-12-2022"), None);
        assert_eq!(ddmmyyyy.parse("32-12-2022"), None);
        let both = ddmmyyyy.union(&yyyymmdd);
        assert_eq!(both.parse("17-12-2022"), both.parse("2022-12-17"));
        assert_eq!(both.spec(), "dd-MM-yyyy||yyyy-MM-dd");
        let f = DateFormat::new("yyyy/MM/dd HH:mm:ss.SSSXXX||epoch_millis").unwrap();
        assert_eq!(
            f.parse("2022/12/17 01:00:00.250+01:00"),
            Some(day + 250_000_000)
        );
        assert_eq!(f.parse("1671235200000"), Some(day));
        let basic = DateFormat::new("basic_date").unwrap();
        assert_eq!(basic.parse("20221217"), Some(day));
        let named = DateFormat::new("strict_date_optional_time").unwrap();
        assert_eq!(named.parse("2022-12-17"), Some(day));
        let text = DateFormat::new("dd MMM yyyy hh:mm a").unwrap();
        assert_eq!(
            text.parse("17 Dec 2022 12:30 AM"),
            Some(day + 1_800_000_000_000)
        );
        let optional = DateFormat::new("yyyy-MM-dd['T'HH:mm]").unwrap();
        assert_eq!(optional.parse("2022-12-17"), Some(day));
        assert_eq!(
            optional.parse("2022-12-17T00:01"),
            Some(day + 60_000_000_000)
        );
        assert!(DateFormat::new("yyyy-ww").is_err());
        assert!(DateFormat::new("yyyy-MM-dd'T").is_err());
        assert!(DateFormat::new("").is_err());
    }

    #[test]
    fn round_up_bounds() {
        let day = 1_671_235_200_000_000_000;
        let f = DateFormat::new("yyyy-MM-dd").unwrap();
        assert_eq!(
            f.parse_bounds("2022-12-17"),
            Some((day, day + 86_400_000_000_000 - 1))
        );
        assert_eq!(
            parse_default_bounds("2022-12-17T10:00"),
            Some((day + 36_000_000_000_000, day + 36_060_000_000_000 - 1))
        );
        assert_eq!(
            parse_default_bounds("2022-12-17T00:00:00.5Z"),
            Some((day + 500_000_000, day + 599_999_999))
        );
        assert_eq!(
            parse_default_bounds("1000"),
            Some((1_000_000_000, 1_000_000_000))
        );
    }

    #[test]
    fn nanos_format() {
        assert_eq!(format_nanos_iso(1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(format_nanos_iso(1_500_000), "1970-01-01T00:00:00.0015Z");
        assert_eq!(format_nanos_iso(2_000_000), "1970-01-01T00:00:00.002Z");
    }
}
