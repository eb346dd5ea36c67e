//! Event inputs: files (plain or gzip), stdin, NDJSON or a JSON array; each record is turned into zero or more
//! ECS JSON documents by an [`InputFormat`]'s mapper. Every record keeps its position (file and line) so that
//! problems can be reported where they are.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;

/// How input records become ECS documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum InputFormat {
    /// One ECS JSON document per line (or a JSON array of documents).
    #[default]
    Ndjson,
    /// macOS `eslogger` JSON lines, mapped to the ECS Elastic Defend writes (needs --host-id off macOS).
    Eslogger,
}

/// One input record → zero or more ECS JSON documents (as text).
/// `Send`: `tripline run` reads ahead on a thread of its own (see `run::read_ahead`).
pub trait RecordMapper: Send {
    /// Calls `emit` for each document the record gives; an `Err` is a bad record with the reason.
    fn map(&mut self, record: &str, emit: &mut dyn FnMut(&str)) -> Result<(), String>;
}

/// NDJSON is already ECS: the record is the document.
pub struct Passthrough;

impl RecordMapper for Passthrough {
    fn map(&mut self, record: &str, emit: &mut dyn FnMut(&str)) -> Result<(), String> {
        emit(record);
        Ok(())
    }
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub source: Arc<str>,
    /// 1-based line (NDJSON) or element number (JSON array).
    pub line: u64,
    pub in_array: bool,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.in_array {
            write!(f, "{}: element {}", self.source, self.line)
        } else {
            write!(f, "{}:{}", self.source, self.line)
        }
    }
}

/// What the reader hands to its consumer.
pub enum Record<'a> {
    /// An ECS document's JSON text.
    Document(&'a str),
    /// A record that could not be read or mapped, with the reason.
    Bad(String),
    /// Live input (stdin with an idle interval) has been quiet for that interval.
    Idle,
    /// An NDJSON line holding only whitespace: skipped, reported so that line counts add up.
    Blank,
}

/// The input files of a run; none or `-` means stdin.
pub struct Inputs {
    paths: Vec<Option<PathBuf>>,
    /// Bytes read so far from files (compressed size for `.gz`), for a progress bar.
    pub bytes_read: Arc<AtomicU64>,
    /// Report [`Record::Idle`] when stdin is quiet this long (see `crate::streaming`).
    pub idle: Option<std::time::Duration>,
}

impl Inputs {
    pub fn new(paths: &[PathBuf]) -> Inputs {
        let mut list: Vec<Option<PathBuf>> = paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    None
                } else {
                    Some(p.clone())
                }
            })
            .collect();
        if list.is_empty() {
            list.push(None);
        }
        Inputs {
            paths: list,
            bytes_read: Arc::new(AtomicU64::new(0)),
            idle: None,
        }
    }

    /// Expands directories into the files they hold (sorted), leaving files and stdin as they are.
    pub fn expand_dirs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for path in paths {
            if path.is_dir() {
                let mut children = Vec::new();
                collect_files(path, &mut children)
                    .with_context(|| format!("cannot list {}", path.display()))?;
                children.sort();
                out.extend(children);
            } else {
                out.push(path.clone());
            }
        }
        Ok(out)
    }

    /// Total size of the input files, when every input is a file.
    pub fn total_file_bytes(&self) -> Option<u64> {
        let mut total = 0;
        for path in &self.paths {
            total += std::fs::metadata(path.as_ref()?).ok()?.len();
        }
        Some(total)
    }

    pub fn reads_stdin(&self) -> bool {
        self.paths.iter().any(Option::is_none)
    }

    /// Reads every input in order, handing each document (or bad record) to `sink` with its position.
    /// `sink` returns `Err` to stop early (a fatal bad line, a closed output). The mapper is the caller's
    /// (see `crate::eslogger_input::for_format`): stateful mappers keep counters for the summary.
    pub fn for_each_with(
        &self,
        mapper: &mut dyn RecordMapper,
        sink: &mut dyn FnMut(&Position, Record<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for path in &self.paths {
            let (name, reader): (Arc<str>, Box<dyn BufRead>) = match path {
                None => (
                    Arc::from("<stdin>"),
                    crate::streaming::stdin_reader(self.idle),
                ),
                Some(path) => (
                    Arc::from(path.display().to_string().as_str()),
                    open_file(path, self.bytes_read.clone())?,
                ),
            };
            read_records(name, reader, mapper, sink)?;
        }
        Ok(())
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open_file(path: &Path, count: Arc<AtomicU64>) -> anyhow::Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::with_capacity(256 * 1024, Counting { inner: file, count });
    // gzip is recognised by its magic bytes, whatever the file is called.
    let head = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(256 * 1024, decoder)))
    } else {
        Ok(Box::new(reader))
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

fn read_records(
    name: Arc<str>,
    mut reader: Box<dyn BufRead>,
    mapper: &mut dyn RecordMapper,
    sink: &mut dyn FnMut(&Position, Record<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // A JSON array (as `_eql/search` or Kibana exports give) is read whole; NDJSON streams line by line.
    let idle_position = |line: u64| Position {
        source: name.clone(),
        line,
        in_array: false,
    };
    let first = loop {
        let buf = match reader.fill_buf() {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                sink(&idle_position(0), Record::Idle)?;
                continue;
            }
            other => other.with_context(|| format!("cannot read {name}"))?,
        };
        if buf.is_empty() {
            break None;
        }
        // gzip on stdin (files are unpacked when opened): recognised by its magic bytes.
        if buf.starts_with(&GZIP_MAGIC) {
            let decoder = flate2::bufread::MultiGzDecoder::new(reader);
            let unpacked = Box::new(BufReader::with_capacity(256 * 1024, decoder));
            return read_records(name.clone(), unpacked, mapper, sink);
        }
        // A UTF-8 byte order mark (Windows editors and exports write one) is not part of the data.
        if buf.starts_with(&UTF8_BOM) {
            reader.consume(UTF8_BOM.len());
            continue;
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break buf.get(i).copied(),
            None => {
                let len = buf.len();
                reader.consume(len);
            }
        }
    };
    if first == Some(b'[') {
        return read_array(name, reader, mapper, sink);
    }
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut number: u64 = 0;
    loop {
        // Fast path: a line that lies whole in the reader's buffer is handed on without a copy.
        let buf = match reader.fill_buf() {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                sink(&idle_position(number), Record::Idle)?;
                continue;
            }
            other => other.with_context(|| format!("cannot read {name} after line {number}"))?,
        };
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(end) = memchr::memchr(b'\n', buf) {
            number += 1;
            let whole = buf.get(..end).unwrap_or_default();
            one_line(&name, number, whole, mapper, sink)?;
            reader.consume(end + 1);
            continue;
        }
        line.clear();
        // A quiet live input times out mid-line; what was read stays in `line`.
        loop {
            match reader.read_until(b'\n', &mut line) {
                Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                    sink(&idle_position(number), Record::Idle)?;
                }
                other => {
                    other.with_context(|| format!("cannot read {name} after line {number}"))?;
                    break;
                }
            }
        }
        if line.is_empty() {
            return Ok(());
        }
        number += 1;
        one_line(&name, number, &line, mapper, sink)?;
    }
}

/// One NDJSON line (with or without its `\n`): a document, a blank line, or a bad record.
fn one_line(
    name: &Arc<str>,
    number: u64,
    bytes: &[u8],
    mapper: &mut dyn RecordMapper,
    sink: &mut dyn FnMut(&Position, Record<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let position = Position {
        source: name.clone(),
        line: number,
        in_array: false,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim_end_matches(['\n', '\r']),
        Err(error) => {
            return sink(
                &position,
                Record::Bad(format!(
                    "not valid UTF-8 at byte {}",
                    error.valid_up_to() + 1
                )),
            );
        }
    };
    if text.trim().is_empty() {
        return sink(&position, Record::Blank);
    }
    emit_mapped(&position, text, mapper, sink)
}

fn emit_mapped(
    position: &Position,
    text: &str,
    mapper: &mut dyn RecordMapper,
    sink: &mut dyn FnMut(&Position, Record<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut stop: anyhow::Result<()> = Ok(());
    let mapped = mapper.map(text, &mut |doc| {
        if stop.is_ok() {
            stop = sink(position, Record::Document(doc));
        }
    });
    stop?;
    if let Err(reason) = mapped {
        sink(position, Record::Bad(reason))?;
    }
    Ok(())
}

/// Reads a JSON array element by element, so memory holds one element, not the file. Each element is
/// handed on compacted (whitespace outside strings dropped) with its original text otherwise kept:
/// numbers, escapes and key order as written. Like Elasticsearch's data loader, `//` comments are
/// allowed outside strings (the EQL spec's `missing-events.data` has them), and arrays written one
/// after another (`cat a.json b.json`) are read in turn. A structural error ends the file after the
/// elements before it.
fn read_array(
    name: Arc<str>,
    mut reader: Box<dyn BufRead>,
    mapper: &mut dyn RecordMapper,
    sink: &mut dyn FnMut(&Position, Record<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut scanner = ArrayScanner::default();
    let mut failure: Option<String> = None;
    'read: loop {
        let buf = match reader.fill_buf() {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                let position = Position {
                    source: name.clone(),
                    line: scanner.line,
                    in_array: false,
                };
                sink(&position, Record::Idle)?;
                continue;
            }
            other => {
                other.with_context(|| format!("cannot read {name} at line {}", scanner.line))?
            }
        };
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        for &byte in buf {
            match scanner.push(byte) {
                Ok(false) => {}
                Ok(true) => {
                    scanner.count += 1;
                    let position = Position {
                        source: name.clone(),
                        line: scanner.count,
                        in_array: true,
                    };
                    match std::str::from_utf8(&scanner.element) {
                        Ok(text) => emit_mapped(&position, text, mapper, sink)?,
                        Err(error) => sink(
                            &position,
                            Record::Bad(format!(
                                "not valid UTF-8 at byte {} of the element",
                                error.valid_up_to() + 1
                            )),
                        )?,
                    }
                }
                Err(why) => {
                    failure = Some(why);
                    break 'read;
                }
            }
        }
        reader.consume(len);
    }
    if failure.is_none() && scanner.state != ArrayState::Closed {
        failure = Some("unexpected end of input: the array is not closed with `]`".to_string());
    }
    match failure {
        Some(why) => {
            let position = Position {
                source: name.clone(),
                line: scanner.line,
                in_array: false,
            };
            sink(
                &position,
                Record::Bad(format!("malformed JSON array: {why}")),
            )
        }
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ArrayState {
    /// Before an array's `[` (also after a closed array: another may follow).
    #[default]
    Open,
    /// After `[` (`first`) or after `,`.
    BeforeElement {
        first: bool,
    },
    InElement,
    AfterElement,
    Closed,
}

/// Splits a JSON array into its top-level elements, byte by byte.
#[derive(Default)]
struct ArrayScanner {
    state: ArrayState,
    /// The current element, compacted.
    element: Vec<u8>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// One `/` seen outside a string: a comment starts if another follows.
    slash: bool,
    in_comment: bool,
    /// 0-based until the first byte; the line being read.
    line: u64,
    /// Elements completed so far.
    count: u64,
}

impl ArrayScanner {
    /// Takes one byte; `Ok(true)` when it completes an element (then in `self.element`).
    fn push(&mut self, byte: u8) -> Result<bool, String> {
        if self.line == 0 {
            self.line = 1;
        }
        if byte == b'\n' {
            self.line += 1;
        }
        if self.in_comment {
            self.in_comment = byte != b'\n';
            return Ok(false);
        }
        if self.in_string {
            self.element.push(byte);
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            return Ok(false);
        }
        if self.slash {
            self.slash = false;
            if byte != b'/' {
                return Err("unexpected `/` (only `//` line comments are allowed)".to_string());
            }
            self.in_comment = true;
            return Ok(false);
        }
        if byte == b'/' {
            self.slash = true;
            return Ok(false);
        }
        let space = byte.is_ascii_whitespace();
        match self.state {
            ArrayState::Open | ArrayState::Closed => match byte {
                _ if space => Ok(false),
                b'[' => {
                    self.state = ArrayState::BeforeElement { first: true };
                    Ok(false)
                }
                _ if self.state == ArrayState::Open => Err("expected `[`".to_string()),
                _ => Err("unexpected data after the closing `]`".to_string()),
            },
            ArrayState::BeforeElement { first } => match byte {
                _ if space => Ok(false),
                b']' if first => {
                    self.state = ArrayState::Closed;
                    Ok(false)
                }
                b']' | b',' => Err(format!(
                    "expected element {} after `,`, found `{}`",
                    self.count + 1,
                    char::from(byte)
                )),
                _ => {
                    self.element.clear();
                    self.depth = 0;
                    self.state = ArrayState::InElement;
                    self.element_byte(byte)
                }
            },
            ArrayState::InElement => self.element_byte(byte),
            ArrayState::AfterElement => match byte {
                _ if space => Ok(false),
                b',' => {
                    self.state = ArrayState::BeforeElement { first: false };
                    Ok(false)
                }
                b']' => {
                    self.state = ArrayState::Closed;
                    Ok(false)
                }
                _ => Err(format!(
                    "expected `,` or `]` after element {}, found `{}`",
                    self.count,
                    char::from(byte)
                )),
            },
        }
    }

    fn element_byte(&mut self, byte: u8) -> Result<bool, String> {
        match byte {
            // A scalar element ends where a separator starts; inside objects whitespace is dropped.
            _ if byte.is_ascii_whitespace() => {
                if self.depth == 0 {
                    self.state = ArrayState::AfterElement;
                    return Ok(true);
                }
                Ok(false)
            }
            b',' if self.depth == 0 => {
                self.state = ArrayState::BeforeElement { first: false };
                Ok(true)
            }
            b']' if self.depth == 0 => {
                self.state = ArrayState::Closed;
                Ok(true)
            }
            b'}' if self.depth == 0 => Err("unexpected `}`".to_string()),
            b'"' => {
                self.in_string = true;
                self.element.push(byte);
                Ok(false)
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.element.push(byte);
                Ok(false)
            }
            b'}' | b']' => {
                self.depth -= 1;
                self.element.push(byte);
                if self.depth == 0 {
                    self.state = ArrayState::AfterElement;
                    return Ok(true);
                }
                Ok(false)
            }
            _ => {
                self.element.push(byte);
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(path: &Path) -> Vec<String> {
        let inputs = Inputs::new(&[path.to_path_buf()]);
        let mut seen = Vec::new();
        inputs
            .for_each_with(&mut Passthrough, &mut |pos, record| {
                match record {
                    Record::Document(doc) => seen.push(format!("{}={doc}", pos.line)),
                    Record::Bad(why) => seen.push(format!("{}!{why}", pos.line)),
                    Record::Blank => seen.push(format!("{}.", pos.line)),
                    Record::Idle => {}
                }
                Ok(())
            })
            .unwrap();
        seen
    }

    fn scan(input: &[u8]) -> Vec<String> {
        let dir = tempfile::Builder::new()
            .prefix("tripline-array-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("a.json");
        std::fs::write(&path, input).unwrap();
        let seen = collect(&path);
        dir.close().unwrap();
        seen
    }

    #[test]
    fn arrays_are_split_element_by_element() {
        // Pretty-printed elements come out compacted, strings and numbers exactly as written.
        assert_eq!(
            scan(b"[\n  {\n    \"a\": \"x ] } , [ \\\" y\",\n    \"n\": 12345678901234567890123,\n    \"f\": 1.50\n  },\n  [1, [2]], \"s,]\" , null ,7]"),
            vec![
                "1={\"a\":\"x ] } , [ \\\" y\",\"n\":12345678901234567890123,\"f\":1.50}",
                "2=[1,[2]]",
                "3=\"s,]\"",
                "4=null",
                "5=7"
            ]
        );
        // Arrays one after another, empty ones, comments at the end of a line.
        assert_eq!(
            scan(b"[{\"a\":1}] // one\n[]\n[{\"b\":2} // two\n]\n"),
            vec!["1={\"a\":1}", "2={\"b\":2}"]
        );
        // Errors keep the elements before them and say where and what.
        assert_eq!(
            scan(b"[{\"a\":1}\n {\"b\":2}]"),
            vec![
                "1={\"a\":1}",
                "2!malformed JSON array: expected `,` or `]` after element 1, found `{`"
            ]
        );
        assert_eq!(
            scan(b"[{\"a\":1},]"),
            vec![
                "1={\"a\":1}",
                "1!malformed JSON array: expected element 2 after `,`, found `]`"
            ]
        );
        assert_eq!(
            scan(b"[1] x"),
            vec![
                "1=1",
                "1!malformed JSON array: unexpected data after the closing `]`"
            ]
        );
        assert_eq!(
            scan(b"[{\"a\":\"\xff\"}, 2]"),
            vec!["1!not valid UTF-8 at byte 7 of the element", "2=2"]
        );
        // A malformed element is passed on: the event parser reports it with its number.
        assert_eq!(scan(b"[{\"a\":}]"), vec!["1={\"a\":}"]);
    }

    #[test]
    fn ndjson_gzip_and_arrays() {
        let tmp = tempfile::Builder::new()
            .prefix("tripline-input-")
            .tempdir()
            .unwrap();
        let dir = tmp.path();
        let plain = dir.join("a.ndjson");
        std::fs::write(&plain, b"{\"a\":1}\r\n\n{\"b\":2}\n\xff\n").unwrap();
        assert_eq!(
            collect(&plain),
            vec![
                "1={\"a\":1}",
                "2.",
                "3={\"b\":2}",
                "4!not valid UTF-8 at byte 1"
            ]
        );
        let gz = dir.join("b.log");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"{\"c\":3}\n").unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        assert_eq!(collect(&gz), vec!["1={\"c\":3}"]);
        let array = dir.join("c.json");
        std::fs::write(&array, b"  [{\"d\":4}, 5]").unwrap();
        assert_eq!(collect(&array), vec!["1={\"d\":4}", "2=5"]);
        let commented = dir.join("e.json");
        std::fs::write(
            &commented,
            b"[\n // first\n {\"d\": \"//x\"},\n\t////test2\r\n {\"e\":5}\n]",
        )
        .unwrap();
        assert_eq!(
            collect(&commented),
            vec!["1={\"d\":\"//x\"}", "2={\"e\":5}"]
        );
        let bom = dir.join("f.ndjson");
        std::fs::write(&bom, b"\xef\xbb\xbf{\"a\":1}\r\n{\"b\":2}").unwrap();
        assert_eq!(collect(&bom), vec!["1={\"a\":1}", "2={\"b\":2}"]);
        let bom_array = dir.join("g.json");
        std::fs::write(&bom_array, b"\xef\xbb\xbf [{\"a\":1}]").unwrap();
        assert_eq!(collect(&bom_array), vec!["1={\"a\":1}"]);
        let broken = dir.join("d.json");
        std::fs::write(&broken, b"[{\"d\":4},").unwrap();
        assert_eq!(
            collect(&broken),
            vec![
                "1={\"d\":4}",
                "1!malformed JSON array: unexpected end of input: the array is not closed with `]`"
            ]
        );
        tmp.close().unwrap();
    }
}
