//! Every EQL query of the public detection-rules corpus and of Elasticsearch's conformance
//! suite parses (Elasticsearch accepts all of them), and prints back to an equal tree.

mod common;

fn check_all(label: &str, queries: &[(String, String)]) {
    let mut failures = Vec::new();
    for (origin, query) in queries {
        match eql::parse(query) {
            Ok(tree) => {
                let printed = eql::print(&tree);
                match eql::parse(&printed) {
                    Ok(again) if eql::strip_spans(&again) == eql::strip_spans(&tree) => {}
                    Ok(_) => failures.push(format!(
                        "{origin}: printed form parses differently:\n{printed}"
                    )),
                    Err(errors) => failures.push(format!(
                        "{origin}: printed form does not parse:\n{}",
                        eql::render::render_all(&errors, "<printed>", &printed)
                    )),
                }
            }
            Err(errors) => failures.push(eql::render::render_all(&errors, origin, query)),
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} of {} queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    eprintln!("{label}: {} queries parsed", queries.len());
}

#[test]
fn detection_rules_parse() {
    let queries: Vec<_> = common::rule_queries()
        .into_iter()
        .map(|(path, q)| (path.display().to_string(), q))
        .collect();
    assert!(
        queries.len() >= 1000,
        "only {} EQL rules found",
        queries.len()
    );
    check_all("detection rules", &queries);
}

#[test]
fn conformance_suite_queries_parse() {
    let queries = common::spec_queries();
    assert!(queries.len() >= 231, "only {} cases found", queries.len());
    check_all("conformance suite", &queries);
}
