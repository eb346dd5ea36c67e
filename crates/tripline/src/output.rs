//! Alert and result output: NDJSON, or a coloured table for people; a closed pipe is reported as
//! [`OutputClosed`] so that `| head` ends the program quietly.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value};

use crate::cli::OutputFormat;
use crate::OutputClosed;

/// An alert document made ready for an output of `format` on the thread that found it: NDJSON is
/// serialized there (exactly as [`Output::alerts`] would), so the writing thread only copies bytes.
pub enum ReadyAlert {
    Line(Vec<u8>),
    Document(Map<String, Value>),
}

impl ReadyAlert {
    pub fn new(format: OutputFormat, document: Map<String, Value>) -> ReadyAlert {
        match format {
            OutputFormat::Ndjson => match serde_json::to_vec(&document) {
                Ok(line) => ReadyAlert::Line(line),
                // Left to `Output::alerts`, which reports the error.
                Err(_) => ReadyAlert::Document(document),
            },
            OutputFormat::Table => ReadyAlert::Document(document),
        }
    }
}

pub struct Output {
    writer: BufWriter<Box<dyn Write>>,
    format: OutputFormat,
    colour: bool,
    rows: u64,
    /// Flush after every match, so that alerts from a live stream (stdin) show up at once.
    pub flush_each: bool,
}

fn closed_or(error: io::Error) -> anyhow::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(OutputClosed)
    } else {
        anyhow::Error::new(error).context("cannot write output")
    }
}

impl Output {
    pub fn open(path: Option<&Path>, format: OutputFormat) -> anyhow::Result<Output> {
        let (sink, terminal): (Box<dyn Write>, bool) = match path {
            Some(path) => (
                Box::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                ),
                false,
            ),
            None => (Box::new(io::stdout()), io::stdout().is_terminal()),
        };
        let colour = terminal && std::env::var_os("NO_COLOR").is_none();
        Ok(Output {
            writer: BufWriter::with_capacity(64 * 1024, sink),
            format,
            colour,
            rows: 0,
            flush_each: false,
        })
    }

    /// Writes one JSON value as a line.
    pub fn json_line(&mut self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.writer, value).map_err(|e| match e.io_error_kind() {
            Some(kind) => closed_or(io::Error::from(kind)),
            None => anyhow::Error::new(e),
        })?;
        self.writer.write_all(b"\n").map_err(closed_or)
    }

    /// Writes one raw JSON text as a line.
    pub fn raw_line(&mut self, text: &str) -> anyhow::Result<()> {
        self.writer
            .write_all(text.trim().as_bytes())
            .map_err(closed_or)?;
        self.writer.write_all(b"\n").map_err(closed_or)
    }

    /// Writes alerts: every document as NDJSON, or one table row per match (the shell alert of a sequence,
    /// or the single alert).
    pub fn alerts(&mut self, alerts: &[Map<String, Value>]) -> anyhow::Result<()> {
        self.write_alerts(alerts)?;
        if self.flush_each {
            self.flush()?;
        }
        Ok(())
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// [`Output::alerts`] for alerts made ready (serialized) on other threads.
    pub fn ready_alerts(&mut self, alerts: &[ReadyAlert]) -> anyhow::Result<()> {
        for alert in alerts {
            match alert {
                ReadyAlert::Line(line) => {
                    self.writer.write_all(line).map_err(closed_or)?;
                    self.writer.write_all(b"\n").map_err(closed_or)?;
                }
                ReadyAlert::Document(document) => self.write_alert(document)?,
            }
        }
        self.writer.flush().map_err(closed_or)?;
        if self.flush_each {
            self.flush()?;
        }
        Ok(())
    }

    fn write_alerts(&mut self, alerts: &[Map<String, Value>]) -> anyhow::Result<()> {
        for alert in alerts {
            self.write_alert(alert)?;
        }
        // Alerts are rare next to events: flushing each batch costs nothing measurable and lets a
        // live pipe (`eslogger | tripline run`) show them at once.
        self.writer.flush().map_err(closed_or)
    }

    fn write_alert(&mut self, alert: &Map<String, Value>) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Ndjson => self.json_line(alert),
            // One row per match: single-event alerts and sequence shells, not building blocks.
            OutputFormat::Table if alert.contains_key("kibana.alert.group.index") => Ok(()),
            OutputFormat::Table => self.table_row(alert),
        }
    }

    fn table_row(&mut self, alert: &Map<String, Value>) -> anyhow::Result<()> {
        let text = |key: &str| {
            alert
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        if self.rows == 0 {
            let header = format!(
                "{:<24}  {:<40}  {:<8}  {:<24}  {}",
                "TIME", "RULE", "SEVERITY", "HOST", "REASON"
            );
            let header = if self.colour {
                format!("\x1b[1m{header}\x1b[0m")
            } else {
                header
            };
            writeln!(self.writer, "{header}").map_err(closed_or)?;
        }
        self.rows += 1;
        let severity = text("kibana.alert.severity");
        let padded = format!("{severity:<8}");
        let severity_cell = if self.colour {
            let code = match severity.as_str() {
                "critical" => "1;31",
                "high" => "31",
                "medium" => "33",
                "low" => "32",
                _ => "0",
            };
            format!("\x1b[{code}m{padded}\x1b[0m")
        } else {
            padded
        };
        let host = host_name(alert);
        writeln!(
            self.writer,
            "{:<24}  {:<40}  {}  {:<24}  {}",
            text("@timestamp"),
            truncate(&text("kibana.alert.rule.name"), 40),
            severity_cell,
            truncate(&host, 24),
            text("kibana.alert.reason"),
        )
        .map_err(closed_or)
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.writer.flush().map_err(closed_or)
    }
}

fn host_name(alert: &Map<String, Value>) -> String {
    let nested = alert
        .get("host")
        .and_then(|h| h.get("name").or_else(|| h.get("hostname")))
        .and_then(Value::as_str);
    let dotted = alert.get("host.name").and_then(Value::as_str);
    nested.or(dotted).unwrap_or("-").to_string()
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééééé", 3), "éé…");
    }
}
