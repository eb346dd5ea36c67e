//! Lucene regular expressions (the `regex` / `regex~` operators) translated to
//! regex-automata syntax: matching stays linear time, never backtracking.
//!
//! Lucene syntax: `.` any character, `? * + {n} {n,} {n,m}`, `|`, `( )`, classes
//! `[a-z]` / `[^a-z]`, `"quoted literal"`, `\` escapes the next character, `@` any
//! string, `#` the empty language, `<n-m>` a numeric range. `^` and `$` are plain
//! characters. Intersection `&` and complement `~` have no linear-time equivalent
//! here and are reported as errors.

/// Translates a Lucene regexp; the result is unanchored (callers anchor it).
pub fn lucene_to_regex(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut depth = 0i32;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '.' => out.push_str("(?s:.)"),
            '@' => out.push_str("(?s:.*)"),
            '#' => out.push_str("[^\\s\\S]"),
            '*' | '+' | '?' | '|' => out.push(c),
            '(' => {
                depth += 1;
                out.push_str("(?:");
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)` in regular expression".into());
                }
                out.push(')');
            }
            '{' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == ',')
                {
                    i += 1;
                }
                if chars.get(i) != Some(&'}') || i == start {
                    return Err("invalid repetition `{` in regular expression".into());
                }
                let body: String = chars.get(start..i).unwrap_or_default().iter().collect();
                i += 1;
                out.push('{');
                out.push_str(&body);
                out.push('}');
            }
            '[' => {
                let (class, next) = translate_class(&chars, i)?;
                out.push_str(&class);
                i = next;
            }
            '"' => {
                let start = i;
                while chars.get(i).is_some_and(|c| *c != '"') {
                    i += 1;
                }
                if chars.get(i).is_none() {
                    return Err("unterminated `\"` in regular expression".into());
                }
                for c in chars.get(start..i).unwrap_or_default() {
                    push_literal(&mut out, *c);
                }
                i += 1;
            }
            '<' => {
                let start = i;
                while chars.get(i).is_some_and(|c| *c != '>') {
                    i += 1;
                }
                let body: String = chars.get(start..i).unwrap_or_default().iter().collect();
                if chars.get(i).is_none() {
                    return Err("unterminated `<` in regular expression".into());
                }
                i += 1;
                out.push_str(&numeric_range(&body)?);
            }
            '\\' => match chars.get(i) {
                Some(&n) => {
                    i += 1;
                    match n {
                        'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                            out.push('\\');
                            out.push(n);
                        }
                        _ => push_literal(&mut out, n),
                    }
                }
                None => return Err("trailing `\\` in regular expression".into()),
            },
            '&' => return Err("intersection `&` in regular expressions is not supported".into()),
            '~' => return Err("complement `~` in regular expressions is not supported".into()),
            _ => push_literal(&mut out, c),
        }
    }
    if depth != 0 {
        return Err("unbalanced `(` in regular expression".into());
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else if c.is_ascii() {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

fn translate_class(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut out = String::from("[");
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unterminated `[` in regular expression".into());
        };
        i += 1;
        match c {
            ']' if !first => break,
            '\\' => {
                let Some(&n) = chars.get(i) else {
                    return Err("trailing `\\` in regular expression".into());
                };
                i += 1;
                match n {
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                        out.push('\\');
                        out.push(n);
                    }
                    _ => class_literal(&mut out, n),
                }
            }
            '-' if !first && chars.get(i) != Some(&']') => out.push('-'),
            _ => class_literal(&mut out, c),
        }
        first = false;
    }
    out.push(']');
    Ok((out, i))
}

fn class_literal(out: &mut String, c: char) {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        out.push('\\');
    }
    out.push(c);
}

/// `<n-m>`: decimal integers in the inclusive range (leading zeros allowed, as in Lucene).
fn numeric_range(body: &str) -> Result<String, String> {
    let (lo, hi) = body
        .split_once('-')
        .ok_or_else(|| format!("invalid numeric range `<{body}>`"))?;
    let lo: u64 = lo
        .parse()
        .map_err(|_| format!("invalid numeric range `<{body}>`"))?;
    let hi: u64 = hi
        .parse()
        .map_err(|_| format!("invalid numeric range `<{body}>`"))?;
    if lo > hi || hi - lo > 10_000 {
        return Err(format!("unsupported numeric range `<{body}>`"));
    }
    let alts: Vec<String> = (lo..=hi).map(|n| n.to_string()).collect();
    Ok(format!("0*(?:{})", alts.join("|")))
}

#[cfg(test)]
mod tests {
    use crate::expr::wildcard::{Pattern, StringMatcher};

    fn m(p: &str, ci: bool) -> StringMatcher {
        StringMatcher::new(&[Pattern::Regex(p.to_string())], ci).unwrap()
    }

    #[test]
    fn lucene_basics_are_anchored() {
        let r = m("[24][0-9]{3}", false);
        assert!(r.is_match("2001"));
        assert!(!r.is_match("12001"));
        assert!(!r.is_match("20011"));
        let r = m(".*[0-9]{1,3}\\.[0-9]{1,3}.*", false);
        assert!(r.is_match("ip 10.2 here"));
        assert!(!r.is_match("ip 10x2 here"));
    }

    #[test]
    fn lucene_specials() {
        assert!(m("a^b$", false).is_match("a^b$"));
        assert!(m("\"a.b\"c", false).is_match("a.bc"));
        assert!(!m("\"a.b\"c", false).is_match("axbc"));
        assert!(m("x@", false).is_match("xanything"));
        assert!(m("v<8-12>", false).is_match("v10"));
        assert!(!m("v<8-12>", false).is_match("v13"));
        assert!(m("[^-]*-", false).is_match("abc-"));
        assert!(m("ABC", true).is_match("abc"));
        assert!(!m("ABC", false).is_match("abc"));
        assert!(StringMatcher::new(&[Pattern::Regex("a&b".into())], false).is_err());
        assert!(StringMatcher::new(&[Pattern::Regex("(a".into())], false).is_err());
    }
}
