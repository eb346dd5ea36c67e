//! Rendered diagnostics for malformed queries, pinned as snapshots: the code, the exact
//! spot (line:column and caret) and the wording are part of the user interface.

#![allow(clippy::panic)]
fn rendered(query: &str) -> String {
    match eql::parse(query) {
        Ok(tree) => panic!("expected an error for {query:?}, got {tree:?}"),
        Err(errors) => {
            assert!(!errors.is_empty());
            format!(
                "{query}\n---\n{}",
                eql::render::render_all(&errors, "rule.toml", query)
            )
        }
    }
}

macro_rules! snapshot {
    ($name:ident, $query:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(rendered($query));
        }
    };
}

snapshot!(missing_where, "process where_ true");
snapshot!(uppercase_keyword, "process WHERE true");
snapshot!(single_quotes, "process where process.name == 'cmd.exe'");
snapshot!(
    legacy_raw_string,
    "process where process.name == ?\"cmd.exe\""
);
snapshot!(
    unterminated_string,
    "process where process.name == \"cmd.exe"
);
snapshot!(bad_escape, "file where file.path == \"C:\\Windows\"");
snapshot!(assign_instead_of_eq, "process where process.pid = 4");
snapshot!(chained_comparison, "process where 1 < a < 3");
snapshot!(unclosed_paren, "process where (a == 1 or\n  b == 2");
snapshot!(
    unclosed_stage,
    "sequence\n  [process where a == 1\n  [file where true]"
);
snapshot!(
    unknown_function,
    "process where startWith(process.name, \"x\")"
);
snapshot!(wrong_arity, "process where length(process.name, 2) > 3");
snapshot!(no_tilde_variant, "process where length~(process.name) > 3");
snapshot!(unsupported_pipe, "process where true | unique process.name");
snapshot!(unknown_pipe, "process where true | haed 5");
snapshot!(negative_head, "process where true | head -5");
snapshot!(
    join_unsupported,
    "join by a [process where true] [file where true]"
);
snapshot!(
    maxspan_without_unit,
    "sequence with maxspan=30 [a where true] [b where true]"
);
snapshot!(
    by_after_with,
    "sequence with maxspan=30s by host.id [a where true] [b where true]"
);
snapshot!(
    inconsistent_keys,
    "sequence by host.id\n  [a where true] by x\n  [b where true]"
);
snapshot!(single_stage, "sequence [process where true]");
snapshot!(keyword_as_field, "process where sequence == 1");
snapshot!(array_index, "process where process.args[0] == \"x\"");
snapshot!(
    relationship,
    "process where descendant of [process where true]"
);
snapshot!(empty_in_list, "process where a in ()");
snapshot!(
    deep_nesting,
    &format!("process where {}true{}", "(".repeat(70), ")".repeat(70))
);
snapshot!(
    several_check_errors,
    "process where foo(a) and lenght(b) == 1 and concat()"
);
