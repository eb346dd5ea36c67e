//! Kibana's schedule fields: `from` (date math relative to `now`, e.g. `now-9m`) and `interval` (`5m`).
//!
//! A rule execution in Kibana searches `[from, now]` every `interval`; the width of that window is the
//! look-back that bounds a sequence without `maxspan`. Rounding (`now-1d/d`) changes where the window starts
//! but tripline has no wall clock to round against, so a rounding suffix is accepted and ignored.

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Nanoseconds in one unit of Elasticsearch date math. Months and years use 30 and 365 days: date math has
/// no fixed length for them, and tripline needs a width, not a calendar date.
fn unit_nanos(unit: char) -> Option<i64> {
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' | 'H' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    Some(seconds * NANOS_PER_SECOND)
}

/// Parses `now`, `now-9m`, `now-1h+30m`, `now-1d/d` into the offset from `now` in nanoseconds
/// (negative = in the past).
pub fn parse_relative(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let Some(mut rest) = trimmed.strip_prefix("now") else {
        return Err(format!(
            "expected date math relative to `now` (like `now-9m`), found `{trimmed}`"
        ));
    };
    let mut offset: i64 = 0;
    while let Some(sign) = rest.chars().next() {
        let negative = match sign {
            '-' => true,
            '+' => false,
            '/' => {
                let unit = rest.get(1..).unwrap_or("");
                let mut chars = unit.chars();
                match (chars.next(), chars.next()) {
                    (Some(u), None) if unit_nanos(u).is_some() => return Ok(offset),
                    _ => {
                        return Err(format!(
                            "expected a rounding unit after `/`, found `{unit}`"
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                    "expected `+`, `-` or `/` after `now`, found `{other}`"
                ))
            }
        };
        rest = rest.get(1..).unwrap_or("");
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let digits = rest.get(..digits_end).unwrap_or("");
        let amount: i64 = if digits.is_empty() {
            return Err(format!("expected a number after `{sign}` in `{trimmed}`"));
        } else {
            digits
                .parse()
                .map_err(|_| format!("number `{digits}` is too large"))?
        };
        rest = rest.get(digits_end..).unwrap_or("");
        let unit = rest.chars().next().ok_or_else(|| {
            format!("expected a unit (s, m, h, d, w, M, y) after `{amount}` in `{trimmed}`")
        })?;
        let per_unit =
            unit_nanos(unit).ok_or_else(|| format!("unknown date math unit `{unit}`"))?;
        let delta = amount
            .checked_mul(per_unit)
            .ok_or_else(|| format!("`{trimmed}` is too far from now"))?;
        offset = if negative {
            offset.checked_sub(delta)
        } else {
            offset.checked_add(delta)
        }
        .ok_or_else(|| format!("`{trimmed}` is too far from now"))?;
        rest = rest.get(unit.len_utf8()..).unwrap_or("");
    }
    Ok(offset)
}

/// Parses a Kibana schedule interval: a positive whole number followed by `s`, `m`, `h` or `d`.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let unit = trimmed
        .chars()
        .last()
        .ok_or_else(|| "expected an interval like `5m`, found an empty string".to_string())?;
    let digits = trimmed.get(..trimmed.len() - unit.len_utf8()).unwrap_or("");
    let per_unit = match unit {
        's' | 'm' | 'h' | 'd' => unit_nanos(unit),
        _ => None,
    }
    .ok_or_else(|| {
        format!("expected an interval like `5m` (units s, m, h, d), found `{trimmed}`")
    })?;
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("expected an interval like `5m`, found `{trimmed}`"))?;
    if amount <= 0 {
        return Err(format!("interval `{trimmed}` must be positive"));
    }
    amount
        .checked_mul(per_unit)
        .ok_or_else(|| format!("interval `{trimmed}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60 * NANOS_PER_SECOND;

    #[test]
    fn relative_forms() {
        assert_eq!(parse_relative("now"), Ok(0));
        assert_eq!(parse_relative("now-9m"), Ok(-9 * MINUTE));
        assert_eq!(parse_relative("now-1h+30m"), Ok(-30 * MINUTE));
        assert_eq!(parse_relative("now-1d/d"), Ok(-1440 * MINUTE));
        assert_eq!(parse_relative(" now-119m "), Ok(-119 * MINUTE));
    }

    #[test]
    fn relative_errors() {
        assert!(parse_relative("9m").is_err());
        assert!(parse_relative("now-").is_err());
        assert!(parse_relative("now-9").is_err());
        assert!(parse_relative("now-9q").is_err());
        assert!(parse_relative("now*9m").is_err());
        assert!(parse_relative("now-99999999999999999999m").is_err());
        assert!(parse_relative("now/x").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5m"), Ok(5 * MINUTE));
        assert_eq!(parse_interval("1h"), Ok(60 * MINUTE));
        assert_eq!(parse_interval("30s"), Ok(MINUTE / 2));
        assert!(parse_interval("0m").is_err());
        assert!(parse_interval("5").is_err());
        assert!(parse_interval("m").is_err());
        assert!(parse_interval("").is_err());
        assert!(parse_interval("5w").is_err());
        assert!(parse_interval("5é").is_err());
    }
}
