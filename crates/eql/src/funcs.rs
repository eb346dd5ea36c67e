//! Elasticsearch EQL's function table: names, arities, and which accept the `~`
//! (case-insensitive) suffix. Shared with the engine, which implements each one.

/// One EQL function as Elasticsearch declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Canonical spelling, e.g. `startsWith`; queries may use any case.
    pub name: &'static str,
    pub min_args: usize,
    /// `None` for variadic functions.
    pub max_args: Option<usize>,
    /// True when `name~(...)` (case-insensitive variant) is accepted.
    pub case_insensitive: bool,
}

const fn spec(name: &'static str, min: usize, max: Option<usize>, ci: bool) -> FunctionSpec {
    FunctionSpec {
        name,
        min_args: min,
        max_args: max,
        case_insensitive: ci,
    }
}

/// Every EQL function Elasticsearch supports, sorted by name.
pub static FUNCTIONS: &[FunctionSpec] = &[
    spec("add", 2, Some(2), false),
    spec("between", 3, Some(4), true),
    spec("cidrMatch", 2, None, false),
    spec("concat", 1, None, false),
    spec("divide", 2, Some(2), false),
    spec("endsWith", 2, Some(2), true),
    spec("indexOf", 2, Some(3), true),
    spec("length", 1, Some(1), false),
    spec("modulo", 2, Some(2), false),
    spec("multiply", 2, Some(2), false),
    spec("number", 1, Some(2), false),
    spec("startsWith", 2, Some(2), true),
    spec("string", 1, Some(1), false),
    spec("stringContains", 2, Some(2), true),
    spec("substring", 2, Some(3), false),
    spec("subtract", 2, Some(2), false),
];

/// Finds a function by name, ignoring ASCII case (as Elasticsearch does).
pub fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

impl FunctionSpec {
    pub fn accepts(&self, count: usize) -> bool {
        count >= self.min_args && !matches!(self.max_args, Some(max) if count > max)
    }

    /// "exactly 2 arguments", "2 or 3 arguments", "at least 2 arguments".
    pub fn arity_text(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max_args {
            Some(max) if max == self.min_args => format!("exactly {max} {}", plural(max)),
            Some(max) if max == self.min_args + 1 => {
                format!("{} or {max} {}", self.min_args, plural(max))
            }
            Some(max) => format!("{} to {max} {}", self.min_args, plural(max)),
            None => format!("at least {} {}", self.min_args, plural(self.min_args)),
        }
    }
}

/// The closest known name within a small edit distance, for "did you mean" hints.
pub fn suggest(name: &str) -> Option<&'static str> {
    closest(name, FUNCTIONS.iter().map(|f| f.name))
}

/// The candidate with the smallest case-insensitive edit distance, if close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("STARTSWITH").unwrap().name, "startsWith");
        assert_eq!(lookup("cidrmatch").unwrap().name, "cidrMatch");
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("startWith"), Some("startsWith"));
        assert_eq!(suggest("lenght"), Some("length"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }

    #[test]
    fn arity_texts() {
        assert_eq!(lookup("length").unwrap().arity_text(), "exactly 1 argument");
        assert_eq!(lookup("indexOf").unwrap().arity_text(), "2 or 3 arguments");
        assert_eq!(
            lookup("concat").unwrap().arity_text(),
            "at least 1 argument"
        );
        assert!(lookup("between").unwrap().accepts(4));
        assert!(!lookup("between").unwrap().accepts(5));
    }

    #[test]
    fn table_is_sorted_and_unique() {
        let names: Vec<_> = FUNCTIONS
            .iter()
            .map(|f| f.name.to_ascii_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
