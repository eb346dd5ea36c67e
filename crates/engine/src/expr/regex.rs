//! Lucene regular expressions (the `regex` / `regex~` operators) translated to
//! regex-automata syntax: matching stays linear time, never backtracking.
//!
//! Lucene syntax: `.` any character, `? * + {n} {n,} {n,m}`, `|`, `( )`, classes
//! `[a-z]` / `[^a-z]`, `"quoted literal"`, `\` escapes the next character, `@` any
//! string, `#` the empty language, `<n-m>` a numeric range. `^` and `$` are plain
//! characters. Intersection `&` and complement `~` have no linear-time equivalent
//! here and are reported as errors.
//!
//! `regex~` is a Lucene `RegexpQuery` with `RegExp.ASCII_CASE_INSENSITIVE` (ql's
//! `RLikePattern.createAutomaton`): only ASCII letters match either case, so `"É"`
//! does not match `regex~ "é"`. The translation spells that out as classes (`[eE]`).

/// Translates a Lucene regexp; the result is unanchored (callers anchor it).
/// `ascii_case_insensitive`: ASCII letters match in either case.
pub fn lucene_to_regex(pattern: &str, ascii_case_insensitive: bool) -> Result<String, String> {
    let ci = ascii_case_insensitive;
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
                let (class, next) = translate_class(&chars, i, ci)?;
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
                    push_literal(&mut out, *c, ci);
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
                    match perl_class(n) {
                        Some(class) => out.push_str(class),
                        None => push_literal(&mut out, n, ci),
                    }
                }
                None => return Err("trailing `\\` in regular expression".into()),
            },
            '&' => return Err("intersection `&` in regular expressions is not supported".into()),
            '~' => return Err("complement `~` in regular expressions is not supported".into()),
            _ => push_literal(&mut out, c, ci),
        }
    }
    if depth != 0 {
        return Err("unbalanced `(` in regular expression".into());
    }
    Ok(out)
}

/// Lucene's `\d \s \w` are ASCII classes (`RegExp`: `[0-9]`, `[ \t\n\r]`,
/// `[a-zA-Z0-9_]`), not the Unicode classes regex syntax gives them.
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        's' => "[ \\t\\n\\r]",
        'S' => "[^ \\t\\n\\r]",
        'w' => "[a-zA-Z0-9_]",
        'W' => "[^a-zA-Z0-9_]",
        _ => return None,
    })
}

fn push_literal(out: &mut String, c: char, ascii_case_insensitive: bool) {
    if ascii_case_insensitive && c.is_ascii_alphabetic() {
        out.push('[');
        out.push(c.to_ascii_lowercase());
        out.push(c.to_ascii_uppercase());
        out.push(']');
    } else if c.is_alphanumeric() || c == '_' {
        out.push(c);
    } else if c.is_ascii() {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

fn translate_class(
    chars: &[char],
    mut i: usize,
    ascii_case_insensitive: bool,
) -> Result<(String, usize), String> {
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
                match perl_class(n) {
                    // A nested class inside a class is a union in regex syntax.
                    Some(class) => out.push_str(class),
                    None => class_literal(&mut out, n),
                }
            }
            '-' if !first && chars.get(i) != Some(&']') => out.push('-'),
            _ => class_literal(&mut out, c),
        }
        first = false;
    }
    if ascii_case_insensitive {
        // The other case of every ASCII letter the class names, alone or in a range.
        out.push_str(&other_case_letters(&out));
    }
    out.push(']');
    Ok((out, i))
}

/// Ranges of the other-case twins of the ASCII letters a translated class body covers.
fn other_case_letters(class: &str) -> String {
    let body = class.strip_prefix('[').unwrap_or(class);
    let body = body.strip_prefix('^').unwrap_or(body);
    let items: Vec<char> = body.chars().collect();
    let mut covered = [false; 128];
    let mut k = 0;
    while let Some(&c) = items.get(k) {
        // A nested Perl class (`[0-9]`, `[^a-zA-Z0-9_]`): already closed under case.
        if c == '[' {
            while items.get(k).is_some_and(|c| *c != ']') {
                k += 1;
            }
            k += 1;
            continue;
        }
        let (lo, step) = if c == '\\' {
            (items.get(k + 1).copied().unwrap_or('\\'), 2)
        } else {
            (c, 1)
        };
        k += step;
        let hi = if items.get(k) == Some(&'-') && items.get(k + 1).is_some() {
            let h = items.get(k + 1).copied().unwrap_or(lo);
            k += 2;
            if h == '\\' {
                let escaped = items.get(k).copied().unwrap_or(h);
                k += 1;
                escaped
            } else {
                h
            }
        } else {
            lo
        };
        for code in (lo as u32)..=(hi as u32).min(127) {
            if let Some(slot) = covered.get_mut(code as usize) {
                *slot = true;
            }
        }
    }
    let mut extra = String::new();
    for (code, &is_covered) in covered.iter().enumerate() {
        let c = char::from(code as u8);
        if is_covered && c.is_ascii_alphabetic() {
            let twin = if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            extra.push(twin);
        }
    }
    extra
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

    #[test]
    fn regex_case_insensitivity_is_ascii_only() {
        // ql's RLikePattern builds `regex~` with RegExp.ASCII_CASE_INSENSITIVE.
        assert!(m("[a-c]x", true).is_match("BX"));
        assert!(m("[^a-c]x", true).is_match("dX"));
        assert!(!m("[^a-c]x", true).is_match("BX"));
        assert!(m("stra\\.e", true).is_match("STRA.E"));
        assert!(m("é", true).is_match("é"));
        assert!(!m("é", true).is_match("É"));
        assert!(!m("[é]", true).is_match("É"));
        assert!(m("\"Ab\"c", true).is_match("aBC"));
        assert!(m("[\\d]x", true).is_match("1X"));
        assert!(!m("[\\d]x", true).is_match("DX"));
        assert!(m("[\\Wa]", true).is_match("A"));
    }

    #[test]
    fn perl_classes_are_ascii_as_in_lucene() {
        // Lucene RegExp: \d = [0-9], \s = [ \t\n\r], \w = [a-zA-Z0-9_].
        assert!(m("\\w+", false).is_match("ab_9"));
        assert!(!m("\\w+", false).is_match("é"));
        assert!(m("\\W", false).is_match("é"));
        assert!(!m("\\d", false).is_match("٣"));
        assert!(m("[\\d-]+", false).is_match("12-3"));
        assert!(m("a\\sb", false).is_match("a\tb"));
    }

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
