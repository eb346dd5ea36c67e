//! `--input eslogger` and `tripline convert --from eslogger`: macOS eslogger JSON lines → the ECS documents
//! Elastic Defend writes (mapping in the `eslogger` crate), fed to `run` or printed as NDJSON.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use eslogger::{MapError, Mapper, MapperOptions, MapperStats};

/// Host identity for eslogger input: eslogger output names no host, so every event is stamped with it.
#[derive(Debug, Clone, Default, Args)]
pub struct EsloggerArgs {
    /// host.id for eslogger events: the Mac's Hardware UUID as Elastic writes it (upper case). Default on
    /// macOS: this Mac's (ioreg IOPlatformUUID); required elsewhere.
    #[arg(long, value_name = "ID")]
    pub host_id: Option<String>,
    /// host.name / host.hostname for eslogger events.
    #[arg(long, value_name = "NAME")]
    pub host_name: Option<String>,
    /// host.os.version for eslogger events (`sw_vers -productVersion`).
    #[arg(long, value_name = "VERSION")]
    pub host_os_version: Option<String>,
}

/// Stateful eslogger line mapper (it keeps a process table, so feed lines in capture order).
pub struct EsloggerInput {
    mapper: Mapper,
}

impl EsloggerInput {
    /// A missing host id is a usage error (status 2): the events would be unattributable.
    pub fn new(args: &EsloggerArgs) -> Result<Self> {
        let usage = |message: String| crate::Failure {
            status: crate::status::USAGE,
            message: format!("tripline: {message}"),
        };
        let host_id = match args.host_id.as_deref().map(str::trim) {
            Some("") => return Err(usage("--host-id is empty".to_string()).into()),
            Some(id) => id.to_string(),
            None => eslogger::hardware_uuid().map_err(|err| usage(err.to_string()))?,
        };
        let options = MapperOptions {
            host_id,
            host_name: args.host_name.clone(),
            host_os_version: args.host_os_version.clone(),
            ..MapperOptions::default()
        };
        Ok(EsloggerInput {
            mapper: Mapper::new(options),
        })
    }

    /// One eslogger line → zero or more ECS documents as compact JSON text (one NDJSON line each).
    pub fn map_line(&mut self, line: &str) -> Result<Vec<String>, MapError> {
        Ok(self
            .mapper
            .map_line(line)?
            .iter()
            .map(|doc| doc.to_string())
            .collect())
    }

    pub fn stats(&self) -> MapperStats {
        self.mapper.stats()
    }

    /// Lines for the run/convert summary (stderr).
    pub fn summary_lines(&self) -> Vec<String> {
        let stats = self.stats();
        let mut lines = vec![format!(
            "eslogger: {} lines → {} ECS events ({} lines with errors)",
            stats.lines, stats.documents, stats.errors
        )];
        if !stats.unknown.is_empty() {
            let per_type: Vec<String> = stats
                .unknown
                .iter()
                .map(|(name, count)| format!("{name}={count}"))
                .collect();
            lines.push(format!(
                "eslogger: skipped {} events of unmapped types: {}",
                stats.unknown_total(),
                per_type.join(", ")
            ));
        }
        if stats.close_unmodified > 0 {
            lines.push(format!(
                "eslogger: skipped {} close events without modification",
                stats.close_unmodified
            ));
        }
        if stats.event_type_mismatches > 0 {
            lines.push(format!(
                "eslogger: {} lines had an event_type number that disagrees with the event name (mapped by name)",
                stats.event_type_mismatches
            ));
        }
        if stats.processes_evicted > 0 {
            lines.push(format!(
                "eslogger: process table full, {} entries evicted (their children lack parent details)",
                stats.processes_evicted
            ));
        }
        lines
    }
}

/// The eslogger mapper when `--input eslogger`, else `None` (the verb uses the format's own mapper).
pub fn for_format(
    format: crate::input::InputFormat,
    args: &EsloggerArgs,
) -> Result<Option<EsloggerInput>> {
    match format {
        crate::input::InputFormat::Eslogger => Ok(Some(EsloggerInput::new(args)?)),
        crate::input::InputFormat::Ndjson => Ok(None),
    }
}

/// `run --input eslogger`: each eslogger line becomes the ECS documents the rules see.
impl crate::input::RecordMapper for EsloggerInput {
    fn map(&mut self, record: &str, emit: &mut dyn FnMut(&str)) -> Result<(), String> {
        let docs = self
            .mapper
            .map_line(record)
            .map_err(|err| err.to_string())?;
        for doc in docs {
            emit(&doc.to_string());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertFrom {
    /// macOS `eslogger` JSON lines.
    Eslogger,
}

/// `tripline convert --from eslogger [--host-id ID] [FILE...]`
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// Input format.
    #[arg(long, value_enum)]
    pub from: ConvertFrom,
    #[command(flatten)]
    pub eslogger: EsloggerArgs,
    /// Input files (`.gz` is decompressed); none or `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Opens a named input: `-` is stdin, `*.gz` is gunzipped.
pub fn open_input(path: &Path) -> Result<BufReader<Box<dyn Read>>> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        if path.extension().is_some_and(|ext| ext == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        }
    };
    Ok(BufReader::with_capacity(1 << 16, reader))
}

/// Where a bad line is: `file:line:column: message`.
pub fn describe_error(source: &str, line_number: u64, err: &MapError) -> String {
    match err.column {
        Some(column) => format!("{source}:{line_number}:{column}: {}", err.message),
        None => format!("{source}:{line_number}: {}", err.message),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Maps one input stream to `out`. Output is flushed whenever the input has nothing more buffered, so a
/// live pipe (`eslogger … | tripline convert`) sees each event at once while files stream at full speed.
fn convert_stream(
    input: &mut EsloggerInput,
    source: &str,
    mut reader: BufReader<Box<dyn Read>>,
    out: &mut impl Write,
    bad_lines: &mut u64,
) -> Result<()> {
    let mut raw = Vec::new();
    let mut line_number = 0u64;
    loop {
        raw.clear();
        let read = reader
            .read_until(b'\n', &mut raw)
            .with_context(|| format!("{source}: read error after line {line_number}"))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let result = match std::str::from_utf8(&raw) {
            Ok(text) => input.map_line(text),
            Err(err) => Err(MapError {
                column: Some(err.valid_up_to() + 1),
                message: "invalid UTF-8".to_string(),
            }),
        };
        match result {
            Ok(docs) => {
                for doc in docs {
                    out.write_all(doc.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            Err(err) => {
                *bad_lines += 1;
                eprintln!("{}", describe_error(source, line_number, &err));
            }
        }
        if reader.buffer().is_empty() {
            out.flush()?;
        }
    }
    Ok(())
}

/// Runs `tripline convert`. Exit status 1 when any line could not be mapped (each is reported on stderr
/// with its location); the other lines are still converted.
pub fn convert_command(args: &ConvertArgs) -> Result<u8> {
    let ConvertFrom::Eslogger = args.from;
    let mut input = EsloggerInput::new(&args.eslogger)?;
    let stdin_only = [PathBuf::from("-")];
    let files: &[PathBuf] = if args.files.is_empty() {
        &stdin_only
    } else {
        &args.files
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut bad_lines = 0u64;
    for path in files {
        let source = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let reader = open_input(path)?;
        let result = convert_stream(&mut input, &source, reader, &mut out, &mut bad_lines)
            .and_then(|()| out.flush().map_err(anyhow::Error::from));
        match result {
            Ok(()) => {}
            // The reader of our output went away (`| head`): stop quietly, like other Unix filters.
            Err(err) if is_broken_pipe(&err) => break,
            Err(err) => return Err(err),
        }
    }
    for line in input.summary_lines() {
        eprintln!("{line}");
    }
    Ok(if bad_lines > 0 {
        crate::status::IO
    } else {
        crate::status::OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(host_id: &str) -> EsloggerArgs {
        EsloggerArgs {
            host_id: Some(host_id.to_string()),
            ..EsloggerArgs::default()
        }
    }

    #[test]
    fn empty_host_id_is_refused() {
        assert!(EsloggerInput::new(&args("  ")).is_err());
    }

    #[test]
    fn stream_reports_bad_lines_with_location_and_keeps_going() {
        let mut input = EsloggerInput::new(&args("H")).unwrap();
        let text = "{\"event\":{\"open\":{}}}\n{oops\n\n";
        let reader: BufReader<Box<dyn Read>> =
            BufReader::new(Box::new(io::Cursor::new(text.as_bytes().to_vec())));
        let mut out = Vec::new();
        let mut bad = 0;
        convert_stream(&mut input, "t", reader, &mut out, &mut bad).unwrap();
        assert_eq!(bad, 1);
        assert!(out.is_empty());
        assert_eq!(input.stats().unknown.get("open"), Some(&1));
        let summary = input.summary_lines().join("\n");
        assert!(summary.contains("open=1"), "{summary}");
    }

    #[test]
    fn error_locations() {
        let err = MapError {
            column: Some(7),
            message: "invalid JSON: x".into(),
        };
        assert_eq!(
            describe_error("f.ndjson", 3, &err),
            "f.ndjson:3:7: invalid JSON: x"
        );
        let err = MapError {
            column: None,
            message: "time: missing".into(),
        };
        assert_eq!(
            describe_error("f.ndjson", 3, &err),
            "f.ndjson:3: time: missing"
        );
    }
}
