//! `tripline check`: validates rule files and prints one summary line (`N rules: X valid, Y invalid,
//! Z unsupported`, always last). TOML files that are not rule files are skipped and counted on a line of
//! their own, so the summary line keeps its format.

use std::collections::BTreeMap;
use std::io::Write;

use engine::schema::Schema;
use rules::Loaded;

use crate::cli::CheckArgs;
use crate::status;

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let schema = Schema::ecs();
    let loaded = rules::load_paths(&args.paths);
    let (mut valid, mut invalid, mut unsupported, mut skipped) = (0usize, 0usize, 0usize, 0usize);
    let mut unsupported_by_type: BTreeMap<String, usize> = BTreeMap::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for outcome in &loaded {
        match outcome {
            Loaded::Ready(rule) => {
                let mut fields = rule.field_table(&schema);
                match rule.compile(&schema, &mut fields) {
                    Ok(_) => valid += 1,
                    Err(errors) => {
                        invalid += 1;
                        for error in errors {
                            writeln!(out, "{error}\n")?;
                        }
                    }
                }
            }
            Loaded::Invalid(errors) => {
                invalid += 1;
                for error in errors {
                    writeln!(out, "{error}\n")?;
                }
            }
            Loaded::Unsupported(rule) => {
                unsupported += 1;
                *unsupported_by_type
                    .entry(rule.rule_type.clone())
                    .or_default() += 1;
                if args.verbose {
                    writeln!(out, "{}: unsupported: {}", rule.path.display(), rule.reason)?;
                }
            }
            Loaded::Skipped(file) => {
                skipped += 1;
                if args.verbose {
                    writeln!(out, "{}: skipped: {}", file.path.display(), file.reason)?;
                }
            }
        }
    }
    if !unsupported_by_type.is_empty() {
        let parts: Vec<String> = unsupported_by_type
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        writeln!(out, "unsupported rule types: {}", parts.join(", "))?;
    }
    if skipped > 0 {
        writeln!(
            out,
            "{skipped} files skipped (not a rule file: no `[rule]` or `[metadata]` table)"
        )?;
    }
    writeln!(
        out,
        "{} rules: {valid} valid, {invalid} invalid, {unsupported} unsupported",
        valid + invalid + unsupported
    )?;
    out.flush()?;
    Ok(if invalid > 0 {
        status::USAGE
    } else {
        status::OK
    })
}
