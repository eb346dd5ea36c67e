//! `eql_parse`: arbitrary text → `eql::parse`. A query that parses must print to text that parses
//! again to the same tree (spans aside) and print identically (printing is a fixed point).

/// Panics when the parser panics or printing is not a fixed point.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = eql::parse(text) else {
        return;
    };
    let printed = eql::print(&query);
    let reparsed = match eql::parse(&printed) {
        Ok(reparsed) => reparsed,
        Err(diagnostics) => {
            let first = diagnostics
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_default();
            unreachable!("printed query does not parse again: {first}\n  input:   {text:?}\n  printed: {printed:?}")
        }
    };
    assert!(
        eql::strip_spans(&query) == eql::strip_spans(&reparsed),
        "printing changed the query's meaning\n  input:   {text:?}\n  printed: {printed:?}"
    );
    let printed_again = eql::print(&reparsed);
    assert_eq!(
        printed, printed_again,
        "printing is not stable for input {text:?}"
    );
}
